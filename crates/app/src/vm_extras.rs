//! VM lifecycle extras: a new offering for a stopped VM (`changeServiceForVirtualMachine`),
//! scaling a stopped or running VM (`scaleVirtualMachine`) and a fresh root disk
//! (`restoreVirtualMachine`). Migration is in [`crate::vm_migrate`], NIC changes in
//! [`crate::vm_nics`]; the jobs' steps in [`crate::vm_extras_sagas`].
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
use ferrostack_types::state::{OfferingState, VmState, VolumeEvent, VolumeState};
use ferrostack_types::time::now_ms;
use ferrostack_types::{Error, EventType};
use serde::{Deserialize, Serialize};

use crate::job::{JobMeta, JobRequest, Submitted};
use crate::vm::vm_resource;
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
        // The VM's own flag, fixed at deploy: dynamicscalingenabled, and template, offering and
        // zone all allowing it then.
        if vm.dynamically_scalable != 1 || current.dynamic_scaling != 1 {
            return Err(Error::invalid(format!(
                "Unable to scale VM {} as it does not have tools to support dynamic scaling \
                 (it is dynamically scalable when deployed with dynamicscalingenabled=true from a dynamically \
                 scalable template and an offering with dynamic scaling enabled); stop it and use \
                 changeServiceForVirtualMachine",
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
                .filter(|x| !crate::template::is_iso(x))
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
        // A VM deployed from an ISO is restored onto a new blank disk: the ISO is for no hypervisor.
        if let Some(h) = vm
            .template_hypervisor
            .as_deref()
            .filter(|h| !crate::template::is_iso(&template) && !h.eq_ignore_ascii_case(&template.hypervisor))
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
        let old_root = match x_db::root_volume(&mut tx, vm.id).await? {
            Some((old, _, _)) => ferrostack_db::volume::get_including_removed(&mut tx, old).await?,
            None => None,
        };
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
            // The old disk's file (if a host made one) is removed by a follow-up.
            let old_row = ferrostack_db::volume::get_including_removed(&mut tx, old).await?;
            if let Some((v, pool_id)) = old_row.and_then(|v| v.pool_id.map(|p| (v, p))) {
                if let (Some(file), Some(host_id)) = (
                    crate::volume::disk_file(&v),
                    ferrostack_db::volume::host_for_pool(&mut tx, pool_id).await?,
                ) {
                    self.followup_enqueue(&mut tx, &crate::followup::FollowUp::DiskDelete { host_id, file })
                        .await?;
                }
            }
        }
        let size = if template.size > 0 {
            template.size
        } else {
            2 * 1024 * 1024 * 1024
        };
        if crate::template::is_iso(&template) {
            self.vm_iso_restore_root(&mut tx, &vm, &template, &p.volume_uuid, old_root.as_ref())
                .await?;
        } else {
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
        }
        if vm.template_id != Some(template.id) {
            x_db::set_template(&mut tx, vm.id, template.id).await?;
        }
        // A password-enabled template's VM gets a new password with its new disk, as CloudStack
        // does; it is handed to the VM's user-data provider like a reset one.
        let password = template.password_enabled == 1;
        if password {
            vm_db::set_cols(
                &mut tx,
                vm.id,
                &[
                    ("password", Arg::Str(crate::password::random_token(9))),
                    ("password_pending", Arg::I64(1)),
                ],
            )
            .await?;
        }
        tx.commit().await.map_err(db_err)?;
        if password {
            self.vm_push_user_data(vm.id).await;
        }
        Ok(())
    }
}

/// A root volume in the middle of another operation is not replaced.
fn refuse_busy_root(vm: &Vm, st: VolumeState) -> Result<(), Error> {
    match st {
        VolumeState::Allocated | VolumeState::Creating | VolumeState::Ready | VolumeState::Destroy => Ok(()),
        VolumeState::Resizing
        | VolumeState::Migrating
        | VolumeState::Snapshotting
        | VolumeState::RevertSnapshotting
        | VolumeState::Expunging
        | VolumeState::Expunged => Err(Error::invalid(format!(
            "The root volume of VM {} is {}; restore the VM when that operation has finished",
            vm.name, st
        ))),
    }
}
