//! Power sync: reconcile VM states with a host's power report. Reports carry a generation
//! and are applied only when newer than what each VM has seen, so late or repeated reports
//! are harmless. The report moves the VM machine with its `FollowAgentPower*Report` events.

use std::collections::HashMap;

use ferrostack_agent_api::{PowerReport, PowerState as AgentPower};
use ferrostack_db::db_err;
use ferrostack_db::vm as vm_db;
use ferrostack_types::state::{PowerState, VmEvent, VmState};
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
            if work.is_empty() {
                continue;
            }
            let mut tx = self.db.begin().await?;
            for (host_id, generation, on, power) in work {
                self.power_apply_one(&mut tx, host_id, generation, on, power, asked_at)
                    .await?;
            }
            tx.commit().await.map_err(db_err)?;
        }
        Ok(())
    }

    async fn power_apply_one(
        &self,
        tx: &mut ferrostack_db::Conn,
        host_id: i64,
        generation: i64,
        on: &vm_db::OnHost,
        power: PowerState,
        asked_at: i64,
    ) -> Result<(), Error> {
        if !vm_db::apply_power(&mut *tx, on.id, power, generation, asked_at).await? {
            return Ok(());
        }
        let Some(vm) = vm_db::get(&mut *tx, on.id).await? else {
            return Ok(());
        };
        match reconcile(vm.state, vm.host_id, host_id, power) {
            Reconcile::Stopped => {
                vm_event(tx, &vm, VmEvent::FollowAgentPowerOffReport).await?;
                self.vm_release_capacity(tx, &vm).await?;
                vm_db::set_cols(tx, vm.id, &[("host_id", ferrostack_db::sql::Arg::OptI64(None))]).await?;
                let nics = vm_db::nics_of(tx, &[vm.id]).await?;
                self.enqueue_releases_for(tx, &vm, &nics, released_on_stop(vm.vm_type))
                    .await?;
            }
            Reconcile::Started => {
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
                .await?;
            }
            Reconcile::PowerOnly => {}
        }
        Ok(())
    }
}
