//! Power sync: reconcile VM states with a host's power report. Reports carry a generation
//! and are applied only when newer than what each VM has seen, so late or repeated reports
//! are harmless. The report moves the VM machine with its `FollowAgentPower*Report` events.

use std::collections::{HashMap, HashSet};

use ferrostack_agent_api::{PowerReport, PowerState as AgentPower};
use ferrostack_db::db_err;
use ferrostack_db::vm as vm_db;
use ferrostack_net::Service;
use ferrostack_types::state::{PowerState, VmEvent, VmState};
use ferrostack_types::time::now_ms;
use ferrostack_types::Error;

use crate::vmflow::released_on_stop;
use crate::vmstate::vm_event;
use crate::App;

/// Hosts whose reports are applied together: one read for all their VMs, one write
/// transaction for the VMs whose power or state must change.
const HOSTS_PER_BATCH: usize = 500;

/// What a host said about one of the VMs placed on (or last run on) it.
fn reported(report: &PowerReport, on: &vm_db::OnHost) -> PowerState {
    match report.vms.get(&on.instance_name) {
        Some(AgentPower::PowerOn) => PowerState::PowerOn,
        Some(AgentPower::PowerOff) | None => PowerState::PowerOff,
    }
}

/// What a host's report means for a VM's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reconcile {
    /// A Running VM of this host reported off (or unknown to it): it stopped.
    Stopped,
    /// A Stopped VM reported on: it runs on the reporting host.
    Started,
    /// Only the power state is recorded; the VM's state is left to what moves it: a Running
    /// VM reported on is consistent, one on another host (migrated, or restarted elsewhere)
    /// is that host's to report, transitional states belong to their jobs, and final states
    /// have nothing to reconcile.
    PowerOnly,
}

fn reconcile(state: VmState, vm_host: Option<i64>, host_id: i64, power: PowerState) -> Reconcile {
    match (state, power) {
        (VmState::Running, PowerState::PowerOff) if vm_host == Some(host_id) => Reconcile::Stopped,
        (VmState::Stopped, PowerState::PowerOn) => Reconcile::Started,
        (VmState::Running, PowerState::PowerOff)
        | (VmState::Running, PowerState::PowerOn | PowerState::PowerUnknown | PowerState::PowerReportMissing)
        | (VmState::Stopped, PowerState::PowerOff | PowerState::PowerUnknown | PowerState::PowerReportMissing)
        | (
            VmState::Starting
            | VmState::Stopping
            | VmState::Migrating
            | VmState::Destroyed
            | VmState::Expunging
            | VmState::Error
            | VmState::Unknown
            | VmState::Shutdown,
            PowerState::PowerOn | PowerState::PowerOff | PowerState::PowerUnknown | PowerState::PowerReportMissing,
        ) => Reconcile::PowerOnly,
    }
}

/// Whether a report changes anything for a VM: its recorded power, or its state. Everything
/// else — by far the common case, a running VM reported running — costs no write at all.
fn needs_write(host_id: i64, on: &vm_db::OnHost, power: PowerState) -> bool {
    on.power_state != power || reconcile(on.state, on.host_id, host_id, power) != Reconcile::PowerOnly
}

impl App {
    /// Apply one host's power report (see [`App::power_sync_batch`]).
    pub async fn power_sync(&self, host_id: i64, report: &PowerReport, asked_at: i64) -> Result<(), Error> {
        self.power_sync_batch(&[(host_id, report)], asked_at).await
    }

    /// Apply the power reports of many hosts: per batch of hosts one read of their VMs and one
    /// write transaction for the VMs whose power or state changes. A Running VM the host
    /// reports off (or doesn't know) is Stopped; a Stopped VM the host reports on is Running
    /// there. VMs in a transitional state belong to their jobs, and a VM whose state changed
    /// after the report was asked for (`asked_at`) is left alone. A VM reported unchanged is
    /// not written: the report's generation guards changes, and reports of one host arrive in
    /// order (the monitor drops older generations before they get here).
    pub async fn power_sync_batch(&self, reports: &[(i64, &PowerReport)], asked_at: i64) -> Result<(), Error> {
        for batch in reports.chunks(HOSTS_PER_BATCH) {
            let ids: Vec<i64> = batch.iter().map(|(h, _)| *h).collect();
            let mut c = self.db.conn().await?;
            let vms = vm_db::on_hosts(&mut c, &ids).await?;
            drop(c);
            // Each VM under the host it is placed on and, if another, the one it last ran on.
            let mut by_host: HashMap<i64, Vec<&vm_db::OnHost>> = HashMap::new();
            for v in &vms {
                let hosts = [v.host_id, v.last_host_id.filter(|l| Some(*l) != v.host_id)];
                for h in hosts.into_iter().flatten() {
                    by_host.entry(h).or_default().push(v);
                }
            }
            let mut work: Vec<(i64, i64, &vm_db::OnHost, PowerState)> = Vec::new();
            for (host_id, report) in batch {
                let generation = report.generation as i64;
                for on in by_host.get(host_id).into_iter().flatten().copied() {
                    let power = reported(report, on);
                    if needs_write(*host_id, on, power) {
                        work.push((*host_id, generation, on, power));
                    }
                }
            }
            // A VM reported by two hosts of the batch (the one it is placed on and the one it
            // last ran on) is judged by the host it is placed on.
            work.sort_by_key(|(host_id, _, on, _)| (on.id, on.host_id != Some(*host_id)));
            work.dedup_by_key(|(_, _, on, _)| on.id);
            if work.is_empty() {
                continue;
            }
            let mut tx = self.db.begin().await?;
            let rows: Vec<(i64, PowerState, i64)> = work.iter().map(|(_, g, on, p)| (on.id, *p, *g)).collect();
            let written: HashSet<i64> = vm_db::apply_power_many(&mut tx, &rows, asked_at)
                .await?
                .into_iter()
                .collect();
            // What the reports mean for the VMs written, judged on the state read above: a VM
            // whose state changed since was not written (the report was asked for before).
            let mut stopped: Vec<&vm_db::OnHost> = Vec::new();
            for (host_id, _, on, power) in work.iter().filter(|w| written.contains(&w.2.id)) {
                match reconcile(on.state, on.host_id, *host_id, *power) {
                    Reconcile::Stopped => stopped.push(on),
                    Reconcile::Started => self.power_started(&mut tx, *host_id, on.id).await?,
                    Reconcile::PowerOnly => {}
                }
            }
            self.power_stopped(&mut tx, &stopped).await?;
            tx.commit().await.map_err(db_err)?;
        }
        Ok(())
    }

    /// Running VMs their host reports off: Stopped through the machine, in a few statements for
    /// the whole batch — state (compare-and-swap on Running), capacity per host, and what the
    /// network elements release when a VM stops.
    async fn power_stopped(&self, tx: &mut ferrostack_db::Conn, vms: &[&vm_db::OnHost]) -> Result<(), Error> {
        if vms.is_empty() {
            return Ok(());
        }
        let to = ferrostack_types::state::transition_as("VM", VmState::Running, VmEvent::FollowAgentPowerOffReport)?;
        let ids: Vec<i64> = vms.iter().map(|v| v.id).collect();
        let moved: HashSet<i64> = vm_db::cas_state_off_host_many(tx, &ids, VmState::Running, to, now_ms())
            .await?
            .into_iter()
            .collect();
        let moved_ids: Vec<i64> = ids.into_iter().filter(|id| moved.contains(id)).collect();
        vm_db::release_capacity_many(tx, &moved_ids).await?;
        // Element releases on stop (a user VM's config drive): only for VMs with a NIC on a
        // network whose Dhcp, Dns or UserData provider releases something.
        let releasing: Vec<i64> = vms
            .iter()
            .filter(|v| moved.contains(&v.id) && !released_on_stop(v.vm_type).is_empty())
            .map(|v| v.id)
            .collect();
        if releasing.is_empty() {
            return Ok(());
        }
        let nics = vm_db::nics_of(tx, &releasing).await?;
        let mut networks: Vec<i64> = nics.iter().map(|n| n.network_id).collect();
        networks.sort_unstable();
        networks.dedup();
        let mut services: HashMap<i64, Vec<(String, String)>> = HashMap::new();
        for (network, service, provider) in ferrostack_db::network::services_of(tx, &networks).await? {
            services.entry(network).or_default().push((service, provider));
        }
        let mut concerned: Vec<i64> = Vec::new();
        for n in &nics {
            let map = crate::network::service_map(services.get(&n.network_id).map_or(&[][..], Vec::as_slice));
            let vm_type = vms.iter().find(|v| v.id == n.vm_id).map(|v| v.vm_type);
            let releases = [Service::Dhcp, Service::Dns, Service::UserData].into_iter().any(|s| {
                ferrostack_net::provider_for(&map, s)
                    .is_some_and(|p| vm_type.is_some_and(|t| released_on_stop(t).contains(&p)))
            });
            if releases && !concerned.contains(&n.vm_id) {
                concerned.push(n.vm_id);
            }
        }
        for id in concerned {
            let Some(vm) = vm_db::get(&mut *tx, id).await? else {
                continue;
            };
            let vm_nics: Vec<vm_db::Nic> = nics.iter().filter(|n| n.vm_id == id).cloned().collect();
            self.enqueue_releases_for(tx, &vm, &vm_nics, released_on_stop(vm.vm_type))
                .await?;
        }
        Ok(())
    }

    /// A Stopped VM its host reports on: Running there.
    async fn power_started(&self, tx: &mut ferrostack_db::Conn, host_id: i64, vm_id: i64) -> Result<(), Error> {
        let Some(vm) = vm_db::get(&mut *tx, vm_id).await? else {
            return Ok(());
        };
        if vm.state != VmState::Stopped {
            return Ok(());
        }
        vm_event(tx, &vm, VmEvent::FollowAgentPowerOnReport).await?;
        let (cpu, mem) = (vm.cpu * vm.cpu_speed, vm.memory * 1024 * 1024);
        ferrostack_db::host::add_allocated(tx, host_id, cpu, mem).await?;
        use ferrostack_db::sql::Arg;
        vm_db::set_cols(
            tx,
            vm.id,
            &[
                ("host_id", Arg::I64(host_id)),
                ("last_host_id", Arg::I64(host_id)),
                ("capacity_host_id", Arg::I64(host_id)),
            ],
        )
        .await
    }
}
