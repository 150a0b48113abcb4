//! `attachIso` / `detachIso`: a VM has at most one ISO in its CD-ROM drive. On the simulator
//! that is the VM row's `iso_id` only (the agent contract has no CD-ROM call); on hosts that
//! build the VM's disks themselves (KVM) a running VM's drive can't be changed yet, so the VM
//! must be stopped first.

use async_trait::async_trait;
use ferrostack_db::template as template_db;
use ferrostack_db::vm::{self as vm_db, Vm};
use ferrostack_db::{db_err, host as host_db};
use ferrostack_jobs::JobOutcome;
use ferrostack_types::cloudstack_enum;
use ferrostack_types::state::VmState;
use ferrostack_types::Error;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{is_iso, template_visible_to};
use crate::job::{JobMeta, Submitted};
use crate::saga::{SagaKind, TypedSaga};
use crate::{saga_steps, App, Caller};

impl App {
    /// Refuse changing the CD-ROM of a VM that is neither Running nor Stopped, or that runs on
    /// a host building its own disks (KVM).
    async fn iso_check_vm(&self, vm: &Vm, verb: &str) -> Result<(), Error> {
        if !matches!(vm.state, VmState::Running | VmState::Stopped) {
            return Err(Error::invalid(format!(
                "VM {} is {}; {verb} an ISO when it is Running or Stopped",
                vm.name, vm.state
            )));
        }
        if vm.state == VmState::Running {
            if let Some(host_id) = vm.host_id {
                let h = host_db::get(self.db.read(), host_id).await?;
                if h.is_some_and(|h| crate::vm_extras::is_disk_host(self, &h)) {
                    return Err(Error::invalid(format!(
                        "VM {} runs on a {} host, whose CD-ROM can't be changed while it runs; stop the VM first",
                        vm.name,
                        vm.host_name.as_deref().unwrap_or("KVM")
                    )));
                }
            }
        }
        Ok(())
    }

    /// `attachIso` (async): the ISO must be visible to the caller and ready in the VM's zone.
    pub async fn iso_attach(
        &self,
        caller: &Caller,
        iso_uuid: &str,
        vm_uuid: &str,
        meta: JobMeta,
    ) -> Result<Submitted, Error> {
        let mut c = self.db.conn().await?;
        let vm = self.vm_get_for(&mut c, caller, "virtualmachineid", vm_uuid).await?;
        let iso = template_db::by_uuid(&mut *c, iso_uuid)
            .await?
            .filter(is_iso)
            .ok_or_else(|| Error::unknown_entity("id", iso_uuid))?;
        drop(c);
        if !template_visible_to(caller, &iso) {
            return Err(Error::denied(format!(
                "Account {} does not have permission to use ISO {iso_uuid}",
                caller.account_name
            )));
        }
        if let Some(name) = &vm.iso_name {
            return Err(Error::invalid(format!(
                "VM {} already has ISO {name} attached; detach it (detachIso) first",
                vm.name
            )));
        }
        self.iso_check_vm(&vm, "attach").await?;
        // Not ready, or not in the VM's zone: 431 with what to do.
        self.template_usable_in_zone(iso_uuid, vm.zone_id).await?;
        self.vm_job(caller, &vm.uuid, meta, json!({ "iso_id": iso.id })).await
    }

    /// `detachIso` (async).
    pub async fn iso_detach(&self, caller: &Caller, vm_uuid: &str, meta: JobMeta) -> Result<Submitted, Error> {
        let mut c = self.db.conn().await?;
        let vm = self.vm_get_for(&mut c, caller, "virtualmachineid", vm_uuid).await?;
        drop(c);
        if vm.iso_id.is_none() {
            return Err(Error::invalid(format!("VM {} has no ISO attached", vm.name)));
        }
        self.iso_check_vm(&vm, "detach").await?;
        self.vm_job(caller, &vm.uuid, meta, json!({ "iso_id": null })).await
    }
}

/// `attachIso` (`iso_id`) and `detachIso` (`None`).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct IsoSetParams {
    pub vm_id: i64,
    pub iso_id: Option<i64>,
}

cloudstack_enum! {
    /// `attachIso` / `detachIso`.
    pub enum IsoSetStep {
        /// Record the VM's ISO.
        SetIso => "set_iso",
    }
}
saga_steps!(IsoSetStep);

/// The `attachIso` / `detachIso` job.
pub struct VmIsoSaga;

#[async_trait]
impl TypedSaga for VmIsoSaga {
    type Params = IsoSetParams;
    type Step = IsoSetStep;
    const KIND: SagaKind = SagaKind::VmIso;

    async fn action(&self, app: &App, p: &IsoSetParams, step: IsoSetStep, _: &mut Value) -> Result<(), Error> {
        match step {
            IsoSetStep::SetIso => {
                let mut tx = app.db.begin().await?;
                let vm = vm_db::get(&mut *tx, p.vm_id)
                    .await?
                    .ok_or_else(|| Error::invalid("The VM no longer exists"))?;
                if !matches!(vm.state, VmState::Running | VmState::Stopped) {
                    return Err(Error::invalid(format!(
                        "VM {} became {}; retry when it is Running or Stopped",
                        vm.name, vm.state
                    )));
                }
                match (vm.iso_id, p.iso_id) {
                    (Some(have), Some(want)) if have != want => {
                        return Err(Error::invalid(format!(
                            "VM {} already has ISO {} attached; detach it (detachIso) first",
                            vm.name,
                            vm.iso_name.as_deref().unwrap_or_default()
                        )));
                    }
                    _ => {}
                }
                vm_db::set_iso(&mut tx, vm.id, p.iso_id).await?;
                tx.commit().await.map_err(db_err)
            }
        }
    }

    async fn undo(&self, _: &App, _: &IsoSetParams, step: IsoSetStep, _: &Value) -> Result<(), Error> {
        match step {
            // The only (and last) step.
            IsoSetStep::SetIso => Ok(()),
        }
    }

    async fn finish(&self, app: &App, p: &IsoSetParams, _: &Value) -> Result<JobOutcome, Error> {
        let vm = vm_db::get_including_removed(app.db.read(), p.vm_id)
            .await?
            .ok_or_else(|| Error::invalid("The VM no longer exists"))?;
        Ok(JobOutcome::Entity {
            object: "virtualmachine",
            uuid: vm.uuid,
        })
    }
}
