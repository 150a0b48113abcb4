//! Power sync: reconcile VM states with a host's power report. Reports carry a generation
//! and are applied only when newer than what each VM has seen, so late or repeated reports
//! are harmless. The report moves the VM machine with its `FollowAgentPower*Report` events.

use ferrostack_agent_api::{PowerReport, PowerState as AgentPower};
use ferrostack_db::db_err;
use ferrostack_db::vm as vm_db;
use ferrostack_types::state::{PowerState, VmEvent, VmState};
use ferrostack_types::Error;

use crate::vmflow::released_on_stop;
use crate::vmstate::vm_event;
use crate::App;

impl App {
    /// A Running VM the host reports off (or doesn't know) is Stopped; a Stopped VM the host
    /// reports on is Running there. VMs in a transitional state belong to their jobs, and a
    /// VM whose state changed after the report was asked for (`asked_at`) is left alone.
    pub async fn power_sync(&self, host_id: i64, report: &PowerReport, asked_at: i64) -> Result<(), Error> {
        let mut c = self.db.conn().await?;
        let vms = vm_db::on_host(&mut c, host_id).await?;
        drop(c);
        for on in vms {
            let power = match report.vms.get(&on.instance_name) {
                Some(AgentPower::PowerOn) => PowerState::PowerOn,
                Some(AgentPower::PowerOff) | None => PowerState::PowerOff,
            };
            let mut tx = self.db.begin().await?;
            if !vm_db::apply_power(&mut *tx, on.id, power, report.generation as i64, asked_at).await? {
                continue;
            }
            let Some(vm) = vm_db::get(&mut *tx, on.id).await? else {
                continue;
            };
            match (vm.state, power) {
                (VmState::Running, PowerState::PowerOff) if vm.host_id == Some(host_id) => {
                    vm_event(&mut tx, &vm, VmEvent::FollowAgentPowerOffReport).await?;
                    self.vm_release_capacity(&mut tx, &vm).await?;
                    vm_db::set_cols(&mut tx, vm.id, &[("host_id", ferrostack_db::sql::Arg::OptI64(None))]).await?;
                    let nics = vm_db::nics_of(&mut tx, &[vm.id]).await?;
                    self.enqueue_releases_for(&mut tx, &vm, &nics, released_on_stop(vm.vm_type))
                        .await?;
                }
                (VmState::Stopped, PowerState::PowerOn) => {
                    vm_event(&mut tx, &vm, VmEvent::FollowAgentPowerOnReport).await?;
                    let (cpu, mem) = (vm.cpu * vm.cpu_speed, vm.memory * 1024 * 1024);
                    ferrostack_db::host::add_allocated(&mut tx, host_id, cpu, mem).await?;
                    use ferrostack_db::sql::Arg;
                    vm_db::set_cols(
                        &mut tx,
                        vm.id,
                        &[
                            ("host_id", Arg::I64(host_id)),
                            ("last_host_id", Arg::I64(host_id)),
                            ("capacity_host_id", Arg::I64(host_id)),
                        ],
                    )
                    .await?;
                }
                // The power state is recorded; the VM's state is left to what moves it: a
                // Running VM reported on is consistent, one on another host (migrated, or
                // restarted elsewhere) is that host's to report, transitional states belong
                // to their jobs, and final states have nothing to reconcile.
                (VmState::Running, PowerState::PowerOff)
                | (VmState::Running, PowerState::PowerOn | PowerState::PowerUnknown | PowerState::PowerReportMissing)
                | (
                    VmState::Stopped,
                    PowerState::PowerOff | PowerState::PowerUnknown | PowerState::PowerReportMissing,
                )
                | (
                    VmState::Starting
                    | VmState::Stopping
                    | VmState::Migrating
                    | VmState::Destroyed
                    | VmState::Expunging
                    | VmState::Error
                    | VmState::Unknown
                    | VmState::Shutdown,
                    PowerState::PowerOn
                    | PowerState::PowerOff
                    | PowerState::PowerUnknown
                    | PowerState::PowerReportMissing,
                ) => {}
            }
            tx.commit().await.map_err(db_err)?;
        }
        Ok(())
    }
}
