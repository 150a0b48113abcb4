//! Moving a running VM to another host (`migrateVirtualMachine`, root admins) and the hosts it
//! could move to (`findHostsForMigration`).
//!
//! The simulator's hosts hold VMs as records and hand a VM over when another host starts it,
//! so a migration there is: Running → Migrating with the destination's capacity reserved, the
//! start on the destination, then one transaction that makes the VM Running there and releases
//! the source's capacity. Hosts that build their VMs' disks (KVM) have no live migration in the
//! hypervisor contract: their VMs are refused with what to do instead.

use ferrostack_db::db_err;
use ferrostack_db::host::{self as host_db, Host, HostFilter};
use ferrostack_db::sql::Arg;
use ferrostack_db::vm::{self as vm_db, Vm};
use ferrostack_db::vm_extras as x_db;
use ferrostack_types::state::{HostStatus, PowerState, ResourceState, VmEvent, VmState};
use ferrostack_types::{Error, Page};
use serde::{Deserialize, Serialize};

use crate::job::{JobMeta, Submitted};
use crate::vm_extras::is_disk_host;
use crate::vmops::agent_err;
use crate::vmstate::vm_event;
use crate::{App, Caller};

const MIB: i64 = 1024 * 1024;

/// `migrateVirtualMachine`'s job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MigrateParams {
    pub vm_id: i64,
    pub from_host: i64,
    pub to_host: i64,
}

impl App {
    /// `migrateVirtualMachine` (root admins): a running VM moves to `host_uuid`, or to another
    /// suitable host of its zone (its own cluster first).
    pub async fn vm_migrate(
        &self,
        caller: &Caller,
        uuid: &str,
        host_uuid: Option<&str>,
        auto_select: bool,
        meta: JobMeta,
    ) -> Result<Submitted, Error> {
        if !caller.is_root_admin() {
            return Err(Error::denied("Only root administrators can migrate VMs"));
        }
        let mut c = self.db.conn().await?;
        let vm = self.vm_get_for(&mut c, caller, "virtualmachineid", uuid).await?;
        let dest = match host_uuid {
            Some(h) => Some(self.host_get_for(&mut c, "hostid", h).await?),
            None if !auto_select => {
                return Err(Error::invalid(
                    "Please specify a host or storage as destination, or pass 'autoselect=true' to automatically select a destination host which do not require storage migration",
                ))
            }
            None => None,
        };
        if vm.state != VmState::Running {
            return Err(Error::invalid(format!(
                "VM is not Running, unable to migrate the vm with specified id ({} is {}); \
                 a stopped VM moves by starting it with startVirtualMachine hostid=<host>",
                vm.name, vm.state
            )));
        }
        let from = match vm.host_id {
            Some(h) => ferrostack_db::host::get(&mut *c, h).await?,
            None => None,
        }
        .ok_or_else(|| Error::internal(format!("running VM {} has no host", vm.instance_name)))?;
        if is_disk_host(self, &from) {
            return Err(Error::invalid(format!(
                "VM {} runs on {} host {}: live migration between such hosts is not supported yet; \
                 stop the VM and start it on the other host (startVirtualMachine hostid=<host>)",
                vm.name, from.hypervisor, from.name
            )));
        }
        let (cpu, mem) = (vm.cpu * vm.cpu_speed, vm.memory * MIB);
        let to = match dest {
            Some(h) => {
                check_destination(&vm, &from, &h, cpu, mem)?;
                h
            }
            None => {
                let candidates =
                    x_db::migration_candidates(&mut c, vm.zone_id, from.id, cpu, mem, Some(&from.hypervisor)).await?;
                let Some((id, _)) = candidates.first().copied() else {
                    return Err(Error::InsufficientCapacity(format!(
                        "No other Up and Enabled {} host in zone {} has {cpu} MHz CPU and {} MB RAM free for VM {}; \
                         add hosts or free capacity",
                        from.hypervisor, vm.zone_name, vm.memory, vm.name
                    )));
                };
                ferrostack_db::host::get(&mut *c, id)
                    .await?
                    .ok_or_else(|| Error::internal("a migration candidate vanished"))?
            }
        };
        drop(c);
        let mut tx = self.db.begin().await?;
        let params = MigrateParams {
            vm_id: vm.id,
            from_host: from.id,
            to_host: to.id,
        };
        let description = format!("Migrating VM {} from host {} to host {}", vm.name, from.name, to.name);
        let sub = self
            .vm_extras_submit(&mut tx, caller, &vm, meta, &params, description)
            .await?;
        tx.commit().await.map_err(db_err)?;
        self.jobs.wake();
        Ok(sub)
    }

    /// `findHostsForMigration` (root admins): the other hosts of the running VM's zone and
    /// hypervisor, each with whether the VM could migrate there now (one page of hosts, its
    /// source left out).
    pub async fn vm_migration_hosts(
        &self,
        caller: &Caller,
        uuid: &str,
        keyword: Option<String>,
        page: Page,
    ) -> Result<(i64, Vec<(Host, bool)>), Error> {
        if !caller.is_root_admin() {
            return Err(Error::denied(
                "Only root administrators can look for hosts to migrate VMs to",
            ));
        }
        let mut c = self.db.conn().await?;
        let vm = self.vm_get_for(&mut c, caller, "virtualmachineid", uuid).await?;
        if vm.state != VmState::Running {
            return Err(Error::invalid(format!(
                "VM is not Running, cannot migrate the vm with specified id ({} is {})",
                vm.name, vm.state
            )));
        }
        let from = match vm.host_id {
            Some(h) => host_db::get(&mut *c, h).await?,
            None => None,
        }
        .ok_or_else(|| Error::internal(format!("running VM {} has no host", vm.instance_name)))?;
        let f = HostFilter {
            zone_id: Some(vm.zone_id),
            hypervisor: Some(from.hypervisor.clone()),
            host_type: Some("Routing".into()),
            keyword,
            ..HostFilter::default()
        };
        let (total, hosts) = host_db::list(&mut c, &f, page).await?;
        drop(c);
        let live = !is_disk_host(self, &from);
        let (cpu, mem) = (vm.cpu * vm.cpu_speed, vm.memory * MIB);
        let out: Vec<(Host, bool)> = hosts
            .into_iter()
            .filter(|h| h.id != from.id)
            .map(|h| {
                let ok = live && check_destination(&vm, &from, &h, cpu, mem).is_ok();
                (h, ok)
            })
            .collect();
        // The source host is one of the hosts counted.
        Ok(((total - 1).max(0), out))
    }

    /// Migration, first step: Running → Migrating with the destination's capacity reserved, in
    /// one transaction (so exactly once: a repeated step finds the VM Migrating).
    pub(crate) async fn vm_migrate_begin(&self, p: &MigrateParams) -> Result<(), Error> {
        let mut tx = self.db.begin().await?;
        let vm = vm_db::get(&mut *tx, p.vm_id)
            .await?
            .ok_or_else(|| Error::invalid("The VM was removed before it could migrate"))?;
        match vm.state {
            VmState::Migrating => return Ok(()),
            VmState::Running if vm.host_id == Some(p.from_host) => {}
            VmState::Running
            | VmState::Starting
            | VmState::Stopping
            | VmState::Stopped
            | VmState::Destroyed
            | VmState::Expunging
            | VmState::Error
            | VmState::Unknown
            | VmState::Shutdown => {
                return Err(Error::invalid(format!(
                    "VM {} is {} on {}; it must be Running on the host it was asked to leave; retry",
                    vm.name,
                    vm.state,
                    vm.host_name.as_deref().unwrap_or("no host")
                )))
            }
        }
        vm_event(&mut tx, &vm, VmEvent::MigrationRequested).await?;
        if !vm_db::reserve_capacity(&mut tx, p.to_host, vm.cpu * vm.cpu_speed, vm.memory * MIB).await? {
            return Err(Error::InsufficientCapacity(format!(
                "The destination host lacks {} MHz CPU / {} MB RAM for VM {} now; choose another host",
                vm.cpu * vm.cpu_speed,
                vm.memory,
                vm.name
            )));
        }
        tx.commit().await.map_err(db_err)
    }

    /// Undo of the first step: back to Running on the source, the destination's reservation
    /// given back (once: only while the VM is Migrating).
    pub(crate) async fn vm_migrate_unbegin(&self, p: &MigrateParams) -> Result<(), Error> {
        let mut tx = self.db.begin().await?;
        let Some(vm) = vm_db::get(&mut *tx, p.vm_id).await? else {
            return Ok(());
        };
        if vm.state != VmState::Migrating {
            return Ok(());
        }
        vm_event(&mut tx, &vm, VmEvent::OperationFailed).await?;
        vm_db::release_capacity(&mut tx, p.to_host, vm.cpu * vm.cpu_speed, vm.memory * MIB).await?;
        tx.commit().await.map_err(db_err)
    }

    /// Start the VM on the destination (its config drive put there first). The simulator's
    /// hosts hold VMs as records: a start there is the arrival of the migrated VM.
    pub(crate) async fn vm_migrate_start(&self, p: &MigrateParams) -> Result<(), Error> {
        let vm = self.vm_load(p.vm_id).await?;
        if vm.state != VmState::Migrating {
            return Err(Error::invalid(format!(
                "VM {} is {} instead of Migrating; its migration was interrupted",
                vm.name, vm.state
            )));
        }
        let agent = self.agents.get(p.to_host).ok_or_else(|| {
            Error::ResourceUnavailable(format!(
                "The destination host of {} is not connected; retry when it is",
                vm.instance_name
            ))
        })?;
        let mut placed = vm.clone();
        placed.host_id = Some(p.to_host);
        let drive = self.configdrive_put(&placed, p.to_host).await?;
        let mut c = self.db.conn().await?;
        let spec = self.vm_spec(&mut c, &placed, drive).await?;
        drop(c);
        agent
            .start_vm(&spec)
            .await
            .map_err(|e| agent_err(&format!("Migrating {} to host {}", vm.instance_name, p.to_host), e))
    }

    /// Undo of the start on the destination: the VM goes back to its source (started there
    /// again: a host hands a VM over on start, as the migration did). When the source can't
    /// take it, the destination's copy is removed and power sync finds the VM stopped.
    pub(crate) async fn vm_migrate_unstart(&self, p: &MigrateParams) -> Result<(), Error> {
        let vm = self.vm_load(p.vm_id).await?;
        let back = match self.agents.get(p.from_host) {
            Some(agent) => {
                let mut placed = vm.clone();
                placed.host_id = Some(p.from_host);
                let drive = self.configdrive_put(&placed, p.from_host).await.ok().flatten();
                let mut c = self.db.conn().await?;
                let spec = self.vm_spec(&mut c, &placed, drive).await?;
                drop(c);
                agent.start_vm(&spec).await.is_ok()
            }
            None => false,
        };
        if !back {
            tracing::warn!(vm = %vm.instance_name, "a failed migration could not put the VM back on its source");
            let mut c = self.db.write_conn().await?;
            self.followup_host_destroy_enqueue(&mut c, p.to_host, &vm.instance_name)
                .await?;
        }
        Ok(())
    }

    /// Migration's last step, one transaction: the VM runs on the destination, its capacity is
    /// counted there only, and whatever the source still holds of it is removed by a follow-up.
    pub(crate) async fn vm_migrate_commit(&self, p: &MigrateParams) -> Result<(), Error> {
        let mut tx = self.db.begin().await?;
        let vm = vm_db::get(&mut *tx, p.vm_id)
            .await?
            .ok_or_else(|| Error::invalid("The VM was removed while migrating"))?;
        if vm.state == VmState::Running && vm.host_id == Some(p.to_host) {
            return Ok(());
        }
        if vm.state != VmState::Migrating {
            return Err(Error::invalid(format!(
                "VM {} is {} instead of Migrating; its migration was interrupted",
                vm.name, vm.state
            )));
        }
        if vm_db::clear_capacity_host(&mut tx, vm.id, p.from_host).await? {
            vm_db::release_capacity(&mut tx, p.from_host, vm.cpu * vm.cpu_speed, vm.memory * MIB).await?;
        }
        vm_db::set_cols(
            &mut tx,
            vm.id,
            &[
                ("host_id", Arg::I64(p.to_host)),
                ("last_host_id", Arg::I64(p.to_host)),
                ("capacity_host_id", Arg::I64(p.to_host)),
                ("power_state", Arg::Str(PowerState::PowerOn.as_str().into())),
                ("power_generation", Arg::I64(0)),
            ],
        )
        .await?;
        vm_event(&mut tx, &vm, VmEvent::OperationSucceeded).await?;
        vm_db::place_volumes(&mut tx, vm.id, p.to_host).await?;
        // The config drive went with the VM (put on the destination by the start there).
        self.followup_host_destroy_enqueue(&mut tx, p.from_host, &vm.instance_name)
            .await?;
        tx.commit().await.map_err(db_err)
    }
}

/// Can `to` take the running VM that is on `from`?
fn check_destination(vm: &Vm, from: &Host, to: &Host, cpu_mhz: i64, mem: i64) -> Result<(), Error> {
    if to.id == from.id {
        return Err(Error::invalid(format!(
            "VM {} already runs on host {}; choose another destination host",
            vm.name, to.name
        )));
    }
    if to.zone_id != vm.zone_id {
        return Err(Error::invalid(format!(
            "Host {} is in zone {}, VM {} in zone {}; a VM migrates within its zone",
            to.name, to.zone_name, vm.name, vm.zone_name
        )));
    }
    if !to.hypervisor.eq_ignore_ascii_case(&from.hypervisor) {
        return Err(Error::invalid(format!(
            "Host {} is a {} host; VM {} runs on {} and can only migrate to a host of that hypervisor",
            to.name, to.hypervisor, vm.name, from.hypervisor
        )));
    }
    if to.host_type != "Routing" {
        return Err(Error::invalid(format!(
            "The specified host({}) is not suitable to migrate the VM, please specify another one",
            to.name
        )));
    }
    if to.status != HostStatus::Up || to.resource_state != ResourceState::Enabled {
        return Err(Error::invalid(format!(
            "Host {} is {} and {}; a VM migrates to an Up and Enabled host",
            to.name, to.status, to.resource_state
        )));
    }
    if to.cpu_allocated + cpu_mhz > to.cpu_cores * to.cpu_speed || to.memory_allocated + mem > to.memory_total {
        return Err(Error::InsufficientCapacity(format!(
            "Host {} lacks the capacity for VM {} ({cpu_mhz} MHz CPU, {} MB RAM); choose another host",
            to.name,
            vm.name,
            mem / MIB
        )));
    }
    Ok(())
}
