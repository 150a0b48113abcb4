//! VM lifecycle extras: a new offering for a stopped VM (`changeServiceForVirtualMachine`),
//! scaling a stopped or running VM (`scaleVirtualMachine`), a fresh root disk
//! (`restoreVirtualMachine`) and moving a running VM to another host (`migrateVirtualMachine`).
//! NIC changes are in [`crate::vm_nics`]; the jobs' steps in [`crate::vm_extras_sagas`].
//!
//! Checks that can be made at submission are (a 431 answers the call itself); the jobs check
//! again against the row they change, with compare-and-set writes.

use ferrostack_db::host::Host;
use ferrostack_db::offering::ServiceOffering;
use ferrostack_db::sql::Arg;
use ferrostack_db::vm::{self as vm_db, Vm};
use ferrostack_db::vm_extras::{self as x_db, Size};
use ferrostack_db::{db_err, Conn};
use ferrostack_types::ids::new_uuid;
use ferrostack_types::state::{
    HostStatus, OfferingState, PowerState, ResourceState, VmEvent, VmState, VolumeEvent, VolumeState,
};
use ferrostack_types::time::now_ms;
use ferrostack_types::{Error, EventType};
use serde::{Deserialize, Serialize};

use crate::job::{JobMeta, JobRequest, Submitted};
use crate::vm::vm_resource;
use crate::vmops::agent_err;
use crate::vmstate::vm_event;
use crate::{App, Caller};

const MIB: i64 = 1024 * 1024;

/// `scaleVirtualMachine`'s job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScaleParams {
    pub vm_id: i64,
    pub offering_id: i64,
    /// The user who asked (the dynamic-scale event is theirs).
    pub user_id: i64,
}

/// `restoreVirtualMachine`'s job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RestoreParams {
    pub vm_id: i64,
    pub template_id: i64,
    /// The new root volume's uuid, fixed at submission (a repeated step finds it made).
    pub volume_uuid: String,
    /// The VM was running: it is stopped, restored and started again.
    pub restart: bool,
}

/// `migrateVirtualMachine`'s job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MigrateParams {
    pub vm_id: i64,
    pub from_host: i64,
    pub to_host: i64,
}

/// Whether a host boots VMs from disks it builds (KVM): what such hosts can't do live
/// (hot-plug, live scaling, live migration) is refused rather than pretended.
pub(crate) fn is_disk_host(app: &App, h: &Host) -> bool {
    app.agents.needs_root_disk(h.id) || h.hypervisor.eq_ignore_ascii_case("KVM")
}

impl App {
    /// Submit a job about one user VM with typed parameters (serialized into the job row).
    pub(crate) async fn vm_extras_submit<P: Serialize>(
        &self,
        c: &mut Conn,
        caller: &Caller,
        vm: &Vm,
        meta: JobMeta,
        params: &P,
        description: String,
    ) -> Result<Submitted, Error> {
        self.job_submit(
            c,
            caller,
            JobRequest {
                instance: Some(("VirtualMachine", vm.uuid.clone())),
                sync_key: format!("vm:{}", vm.uuid),
                params: crate::saga::to_params(params)?,
                meta,
                description,
                resource: Some(vm_resource(vm)),
            },
        )
        .await
    }

    /// The fixed compute offering `uuid` as the VM's next size. Customized and system
    /// offerings are refused as deploy refuses them; so is the offering the VM has.
    async fn offering_for(&self, c: &mut Conn, vm: &Vm, uuid: &str) -> Result<(ServiceOffering, Size), Error> {
        let o = ferrostack_db::offering::service_by_uuid(&mut *c, uuid)
            .await?
            .filter(|o| o.is_system == 0)
            .ok_or_else(|| Error::unknown_entity("serviceofferingid", uuid))?;
        if o.state != OfferingState::Active {
            return Err(Error::invalid(format!(
                "Service offering {} is {}; choose an active offering (listServiceOfferings)",
                o.name, o.state
            )));
        }
        let (Some(cpu), Some(cpu_speed), Some(memory_mb)) = (o.cpu_number, o.cpu_speed, o.memory_mb) else {
            return Err(Error::invalid(format!(
                "Service offering {} is customized; ferrostack needs a fixed offering (cpunumber, cpuspeed, memory)",
                o.name
            )));
        };
        if o.id == vm.service_offering_id {
            return Err(Error::invalid(format!(
                "Not upgrading VM {} since it already has the requested service offering ({})",
                vm.name, o.name
            )));
        }
        let current = ferrostack_db::offering::service_get(&mut *c, vm.service_offering_id).await?;
        if let Some(cur) = &current {
            if cur.uses_local_storage() != o.uses_local_storage() {
                return Err(Error::invalid(format!(
                    "Unable to upgrade VM {}: offering {} uses {} storage and the current offering {} {} storage; \
                     choose an offering with the same storage type",
                    vm.name, o.name, o.storage_type, cur.name, cur.storage_type
                )));
            }
        }
        let size = Size {
            offering_id: o.id,
            cpu,
            cpu_speed,
            memory_mb,
        };
        Ok((o, size))
    }

    /// `changeServiceForVirtualMachine`: a stopped VM takes a new fixed offering.
    pub async fn vm_change_service(&self, caller: &Caller, uuid: &str, offering_uuid: &str) -> Result<Vm, Error> {
        let mut c = self.db.conn().await?;
        let vm = self.vm_get_for(&mut c, caller, "id", uuid).await?;
        let (o, size) = self.offering_for(&mut c, &vm, offering_uuid).await?;
        drop(c);
        if vm.state != VmState::Stopped {
            return Err(Error::invalid(format!(
                "Unable to upgrade virtual machine {} in state {}; make sure the virtual machine is stopped \
                 (stopVirtualMachine), or scale it while running with scaleVirtualMachine where its offering allows",
                vm.name, vm.state
            )));
        }
        let mut tx = self.db.begin().await?;
        self.vm_resize_stopped(&mut tx, &vm, size).await?;
        self.event_done(
            &mut tx,
            caller,
            EventType::VmUpgrade,
            format!("Upgraded VM {} to service offering {}", vm.name, o.name),
            Some(&vm_resource(&vm)),
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        vm_db::get(self.db.read(), vm.id)
            .await?
            .ok_or_else(|| Error::internal("VM vanished"))
    }

    /// Write a stopped VM's new size (compare-and-set on Stopped and its current offering).
    async fn vm_resize_stopped(&self, c: &mut Conn, vm: &Vm, size: Size) -> Result<(), Error> {
        if !x_db::set_size(c, vm.id, VmState::Stopped, vm.service_offering_id, size).await? {
            return Err(Error::Conflict(format!(
                "VM {} changed while its offering was being changed (it must stay Stopped); retry",
                vm.name
            )));
        }
        Ok(())
    }

    /// `scaleVirtualMachine`: a stopped VM as `changeServiceForVirtualMachine`; a running one
    /// in place, where its template and offering allow dynamic scaling, the zone enables it
    /// (`enable.dynamic.scale.vm`) and its host has room.
    pub async fn vm_scale(
        &self,
        caller: &Caller,
        uuid: &str,
        offering_uuid: &str,
        meta: JobMeta,
    ) -> Result<Submitted, Error> {
        let mut c = self.db.conn().await?;
        let vm = self.vm_get_for(&mut c, caller, "id", uuid).await?;
        let (o, size) = self.offering_for(&mut c, &vm, offering_uuid).await?;
        match vm.state {
            VmState::Stopped => {}
            VmState::Running => self.vm_check_dynamic_scale(&mut c, &vm, &o, size).await?,
            VmState::Starting
            | VmState::Stopping
            | VmState::Destroyed
            | VmState::Expunging
            | VmState::Migrating
            | VmState::Error
            | VmState::Unknown
            | VmState::Shutdown => {
                return Err(Error::invalid(format!(
                    "VM {} is {}; scale it when it is Running or Stopped",
                    vm.name, vm.state
                )))
            }
        }
        drop(c);
        let mut tx = self.db.begin().await?;
        let params = ScaleParams {
            vm_id: vm.id,
            offering_id: o.id,
            user_id: caller.user_id.0,
        };
        let description = format!("Upgrading VM {} to service offering {}", vm.name, o.name);
        let sub = self
            .vm_extras_submit(&mut tx, caller, &vm, meta, &params, description)
            .await?;
        tx.commit().await.map_err(db_err)?;
        self.jobs.wake();
        Ok(sub)
    }

    /// CloudStack's conditions for scaling a running VM.
    async fn vm_check_dynamic_scale(
        &self,
        c: &mut Conn,
        vm: &Vm,
        new: &ServiceOffering,
        size: Size,
    ) -> Result<(), Error> {
        let host_id = vm
            .host_id
            .ok_or_else(|| Error::internal(format!("running VM {} has no host", vm.instance_name)))?;
        let host = ferrostack_db::host::get(&mut *c, host_id)
            .await?
            .ok_or_else(|| Error::internal(format!("the host of VM {} is gone", vm.instance_name)))?;
        let current = ferrostack_db::offering::service_get(&mut *c, vm.service_offering_id)
            .await?
            .ok_or_else(|| Error::internal(format!("the offering of VM {} is gone", vm.instance_name)))?;
        if new.dynamic_scaling != current.dynamic_scaling {
            return Err(Error::invalid(
                "Unable to Scale VM: since dynamic scaling enabled flag is not same for new service offering and old service offering",
            ));
        }
        let (cpu, speed, mem) = (vm.cpu, vm.cpu_speed, vm.memory);
        if size.cpu_speed < speed
            || size.memory_mb < mem
            || size.cpu < cpu
            || (size.cpu_speed == speed && size.memory_mb == mem && size.cpu == cpu)
        {
            return Err(Error::invalid(format!(
                "While the VM is running, only scalling up it is supported. New service offering {{\"memory\": {}, \"speed\": {}, \"cpu\": {}}} \
                 should have at least one value (ram, speed or cpu) greater than the current values {{\"memory\": {mem}, \"speed\": {speed}, \"cpu\": {cpu}}}.",
                size.memory_mb, size.cpu_speed, size.cpu
            )));
        }
        if is_disk_host(self, &host) {
            return Err(Error::invalid(format!(
                "Unable to live scale VM {} on {} host {}: its current service offering is a fixed offering; \
                 stop the VM and change its offering (changeServiceForVirtualMachine), then start it",
                vm.name, host.hypervisor, host.name
            )));
        }
        if self
            .config_value_in(c, "enable.dynamic.scale.vm", Some(vm.zone_id))
            .await?
            != "true"
        {
            return Err(Error::denied(
                "Dynamically scaling virtual machines is disabled for this zone, please contact your admin.",
            ));
        }
        let template_scalable = match vm.template_id {
            Some(t) => ferrostack_db::template::get(&mut *c, t)
                .await?
                .is_some_and(|t| t.dynamically_scalable == 1),
            None => false,
        };
        if !template_scalable || current.dynamic_scaling != 1 {
            return Err(Error::invalid(format!(
                "Unable to scale VM {} as it does not have tools to support dynamic scaling \
                 (its template must be dynamically scalable and its offering have dynamic scaling enabled); \
                 stop it and use changeServiceForVirtualMachine",
                vm.name
            )));
        }
        Ok(())
    }

    /// The scale job: a stopped VM takes the offering; a running one grows in place, its host's
    /// capacity counting the growth in the same transaction (nothing changes when the host
    /// lacks room). Idempotent: a VM that has the offering is done.
    pub(crate) async fn vm_scale_flow(&self, p: &ScaleParams) -> Result<(), Error> {
        let vm = self.vm_load(p.vm_id).await?;
        if vm.service_offering_id == p.offering_id {
            return Ok(());
        }
        let mut c = self.db.conn().await?;
        let o = ferrostack_db::offering::service_get(&mut *c, p.offering_id)
            .await?
            .ok_or_else(|| Error::invalid("The service offering was removed meanwhile"))?;
        let (_, size) = self.offering_for(&mut c, &vm, &o.uuid).await?;
        if vm.state == VmState::Running {
            self.vm_check_dynamic_scale(&mut c, &vm, &o, size).await?;
        }
        drop(c);
        let caller = Caller::load(&self.db, ferrostack_types::ids::UserId(p.user_id)).await?;
        let mut tx = self.db.begin().await?;
        match vm.state {
            VmState::Stopped => self.vm_resize_stopped(&mut tx, &vm, size).await?,
            VmState::Running => {
                let cpu = size.cpu * size.cpu_speed - vm.cpu * vm.cpu_speed;
                let mem = (size.memory_mb - vm.memory) * MIB;
                // The growth is counted where the VM's capacity is (a VM counted nowhere has
                // nothing to grow).
                if let Some(host) = vm.capacity_host_id {
                    if !vm_db::reserve_capacity(&mut tx, host, cpu.max(0), mem.max(0)).await? {
                        let name = vm.host_name.clone().unwrap_or_else(|| host.to_string());
                        return Err(Error::InsufficientCapacity(format!(
                            "Unable to scale VM {}: its host {name} lacks {cpu} MHz CPU / {} MB RAM more; \
                             migrate the VM to a host with room (migrateVirtualMachine) or stop it and change its offering",
                            vm.name,
                            mem / MIB
                        )));
                    }
                }
                if !x_db::set_size(&mut tx, vm.id, VmState::Running, vm.service_offering_id, size).await? {
                    return Err(Error::Conflict(format!(
                        "VM {} changed while it was being scaled; retry",
                        vm.name
                    )));
                }
                self.event_done(
                    &mut tx,
                    &caller,
                    EventType::VmDynamicScale,
                    format!(
                        "Scaled running VM {} to {} x {} MHz, {} MB ({})",
                        vm.name, size.cpu, size.cpu_speed, size.memory_mb, o.name
                    ),
                    Some(&vm_resource(&vm)),
                )
                .await?;
            }
            VmState::Starting
            | VmState::Stopping
            | VmState::Destroyed
            | VmState::Expunging
            | VmState::Migrating
            | VmState::Error
            | VmState::Unknown
            | VmState::Shutdown => {
                return Err(Error::invalid(format!(
                    "VM {} is {}; scale it when it is Running or Stopped",
                    vm.name, vm.state
                )))
            }
        }
        tx.commit().await.map_err(db_err)
    }

    /// `restoreVirtualMachine`: a new root volume from the VM's template (or `template_uuid`);
    /// a running VM is stopped first and started again.
    pub async fn vm_restore(
        &self,
        caller: &Caller,
        uuid: &str,
        template_uuid: Option<&str>,
        meta: JobMeta,
    ) -> Result<Submitted, Error> {
        let mut c = self.db.conn().await?;
        let vm = self.vm_get_for(&mut c, caller, "virtualmachineid", uuid).await?;
        let restart = match vm.state {
            VmState::Running => true,
            VmState::Stopped => false,
            VmState::Starting
            | VmState::Stopping
            | VmState::Destroyed
            | VmState::Expunging
            | VmState::Migrating
            | VmState::Error
            | VmState::Unknown
            | VmState::Shutdown => {
                return Err(Error::invalid(format!(
                    "VM {} is {}; restore it when it is Running or Stopped",
                    vm.name, vm.state
                )))
            }
        };
        let template = match template_uuid {
            Some(t) => ferrostack_db::template::by_uuid(&mut *c, t)
                .await?
                .filter(|x| crate::template::template_visible_to(caller, x))
                .ok_or_else(|| Error::unknown_entity("templateid", t))?,
            None => match vm.template_id {
                Some(id) => ferrostack_db::template::get(&mut *c, id).await?.ok_or_else(|| {
                    Error::invalid(format!(
                        "The template of VM {} was deleted; give templateid to restore it from another template",
                        vm.name
                    ))
                })?,
                None => {
                    return Err(Error::invalid(format!(
                        "VM {} has no template to restore from; give templateid",
                        vm.name
                    )))
                }
            },
        };
        if let Some(h) = vm
            .template_hypervisor
            .as_deref()
            .filter(|h| !h.eq_ignore_ascii_case(&template.hypervisor))
        {
            return Err(Error::invalid(format!(
                "Template {} is for {}, but VM {} runs on {h}; choose a {h} template",
                template.name, template.hypervisor, vm.name
            )));
        }
        if let Some((_, _, st)) = x_db::root_volume(&mut c, vm.id).await? {
            refuse_busy_root(&vm, st)?;
        }
        drop(c);
        self.template_usable_in_zone(&template.uuid, vm.zone_id).await?;
        let mut tx = self.db.begin().await?;
        let params = RestoreParams {
            vm_id: vm.id,
            template_id: template.id,
            volume_uuid: new_uuid(),
            restart,
        };
        let description = format!("Restoring VM {} from template {}", vm.name, template.name);
        let sub = self
            .vm_extras_submit(&mut tx, caller, &vm, meta, &params, description)
            .await?;
        tx.commit().await.map_err(db_err)?;
        self.jobs.wake();
        Ok(sub)
    }

    /// Replace a stopped VM's root volume: the old one expunged (with its tags), a new one
    /// (new uuid) allocated from the template, made on a host at the VM's next start.
    /// Idempotent: a volume with the job's uuid means it was done.
    pub(crate) async fn vm_restore_replace(&self, p: &RestoreParams) -> Result<(), Error> {
        let mut tx = self.db.begin().await?;
        if x_db::volume_exists(&mut tx, &p.volume_uuid).await? {
            return Ok(());
        }
        let vm = vm_db::get(&mut *tx, p.vm_id)
            .await?
            .ok_or_else(|| Error::invalid("The VM was removed while being restored"))?;
        if vm.state != VmState::Stopped {
            return Err(Error::invalid(format!(
                "VM {} is {}; its root volume can be replaced only while it is Stopped; retry",
                vm.name, vm.state
            )));
        }
        let template = ferrostack_db::template::get(&mut *tx, p.template_id)
            .await?
            .ok_or_else(|| Error::invalid("The template was deleted while the VM was being restored"))?;
        let now = now_ms();
        if let Some((old, _, st)) = x_db::root_volume(&mut tx, vm.id).await? {
            refuse_busy_root(&vm, st)?;
            let mut to = st;
            for e in [
                VolumeEvent::DestroyRequested,
                VolumeEvent::ExpungingRequested,
                VolumeEvent::OperationSucceeded,
            ] {
                // A root volume already destroyed skips what it went through.
                if to == VolumeState::Destroy && e == VolumeEvent::DestroyRequested {
                    continue;
                }
                to = ferrostack_types::state::volume_transition(to, e)?;
            }
            if !vm_db::volume_cas(&mut tx, old, st, to, Some(now)).await? {
                return Err(Error::Conflict(format!(
                    "The root volume of VM {} changed while it was being restored; retry",
                    vm.name
                )));
            }
            ferrostack_db::tag::forget(&mut tx, ferrostack_db::tag::ResourceType::Volume, &[old]).await?;
        }
        let size = if template.size > 0 {
            template.size
        } else {
            2 * 1024 * 1024 * 1024
        };
        vm_db::insert_volume(
            &mut tx,
            &p.volume_uuid,
            &format!("ROOT-{}", vm.id),
            vm.id,
            vm.zone_id,
            size,
            vm.account_id,
            vm.domain_id,
            Some(template.id),
            now,
        )
        .await?;
        if vm.template_id != Some(template.id) {
            x_db::set_template(&mut tx, vm.id, template.id).await?;
        }
        tx.commit().await.map_err(db_err)
    }

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

/// A root volume in the middle of another operation is not replaced.
fn refuse_busy_root(vm: &Vm, st: VolumeState) -> Result<(), Error> {
    match st {
        VolumeState::Allocated | VolumeState::Creating | VolumeState::Ready | VolumeState::Destroy => Ok(()),
        VolumeState::Resizing
        | VolumeState::Migrating
        | VolumeState::Snapshotting
        | VolumeState::Expunging
        | VolumeState::Expunged => Err(Error::invalid(format!(
            "The root volume of VM {} is {}; restore the VM when that operation has finished",
            vm.name, st
        ))),
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
