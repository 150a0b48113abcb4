//! The jobs of the VM lifecycle extras ([`crate::vm_extras`], [`crate::vm_nics`]). Every one
//! answers the VM (`virtualmachine`).
//!
//! Undo, step by step: a scale is one transaction (nothing to undo). A restore that fails after
//! stopping a running VM starts it again; a replaced root volume stands (the old disk is gone).
//! A migration that fails before its commit puts the VM back Running on its source, the copy on
//! the destination removed and the destination's reservation given back. A NIC added at
//! submission is removed again when preparing it fails; removals and default changes are single
//! transactions.

use std::sync::Arc;

use async_trait::async_trait;
use ferrostack_db::vm as vm_db;
use ferrostack_jobs::{JobOutcome, Saga};
use ferrostack_types::Error;
use serde_json::Value;

use crate::saga::{adapt, SagaKind, TypedSaga};
use crate::vm_extras::{RestoreParams, ScaleParams};
use crate::vm_migrate::MigrateParams;
use crate::vm_nics::NicParams;
use crate::App;

async fn vm_outcome(app: &App, vm_id: i64) -> Result<JobOutcome, Error> {
    let vm = vm_db::get_including_removed(app.db.read(), vm_id)
        .await?
        .ok_or_else(|| Error::invalid("The VM no longer exists"))?;
    Ok(JobOutcome::Entity {
        object: "virtualmachine",
        uuid: vm.uuid,
    })
}

ferrostack_types::cloudstack_enum! {
    pub enum ScaleStep { Scale => "scale" }
}
crate::saga_steps!(ScaleStep);

ferrostack_types::cloudstack_enum! {
    pub enum RestoreStep {
        /// A running VM is stopped first.
        Stop => "stop",
        /// The old root volume expunged, a new one allocated.
        Replace => "replace",
        /// A VM that was running is started again.
        Start => "start",
    }
}
crate::saga_steps!(RestoreStep);

ferrostack_types::cloudstack_enum! {
    pub enum MigrateStep {
        /// Running → Migrating, the destination's capacity reserved.
        Begin => "begin",
        /// The VM starts on the destination.
        StartOnDestination => "start_on_destination",
        /// It runs there; the source's copy and capacity are released.
        Commit => "commit",
    }
}
crate::saga_steps!(MigrateStep);

ferrostack_types::cloudstack_enum! {
    pub enum NicAddStep {
        /// The NIC and its address were allocated at submission.
        Allocated => "allocated",
        Prepare => "prepare",
    }
}
crate::saga_steps!(NicAddStep);

ferrostack_types::cloudstack_enum! {
    pub enum NicRemoveStep { Remove => "remove" }
}
crate::saga_steps!(NicRemoveStep);

ferrostack_types::cloudstack_enum! {
    pub enum NicDefaultStep { MakeDefault => "make_default" }
}
crate::saga_steps!(NicDefaultStep);

/// `scaleVirtualMachine`.
pub struct VmScale;

#[async_trait]
impl TypedSaga for VmScale {
    type Params = ScaleParams;
    type Step = ScaleStep;
    const KIND: SagaKind = SagaKind::VmScale;

    async fn action(&self, app: &App, p: &ScaleParams, step: ScaleStep, _: &mut Value) -> Result<(), Error> {
        match step {
            ScaleStep::Scale => app.vm_scale_flow(p).await,
        }
    }
    async fn undo(&self, _: &App, _: &ScaleParams, step: ScaleStep, _: &Value) -> Result<(), Error> {
        match step {
            // One transaction, and the last step.
            ScaleStep::Scale => Ok(()),
        }
    }
    async fn finish(&self, app: &App, p: &ScaleParams, _: &Value) -> Result<JobOutcome, Error> {
        vm_outcome(app, p.vm_id).await
    }
}

/// `restoreVirtualMachine`.
pub struct VmRestore;

#[async_trait]
impl TypedSaga for VmRestore {
    type Params = RestoreParams;
    type Step = RestoreStep;
    const KIND: SagaKind = SagaKind::VmRestore;

    async fn action(&self, app: &App, p: &RestoreParams, step: RestoreStep, _: &mut Value) -> Result<(), Error> {
        match step {
            RestoreStep::Stop if p.restart => app.vm_stop_flow(p.vm_id, false).await,
            RestoreStep::Stop => Ok(()),
            RestoreStep::Replace => app.vm_restore_replace(p).await,
            RestoreStep::Start if p.restart => app.vm_start_flow(p.vm_id, None).await,
            RestoreStep::Start => Ok(()),
        }
    }
    async fn undo(&self, app: &App, p: &RestoreParams, step: RestoreStep, _: &Value) -> Result<(), Error> {
        match step {
            // The VM keeps its state: what was running runs again.
            RestoreStep::Stop if p.restart => app.vm_start_flow(p.vm_id, None).await,
            RestoreStep::Stop => Ok(()),
            // The old disk is expunged; the new one stands.
            RestoreStep::Replace => Ok(()),
            // The last step: nothing after it can fail.
            RestoreStep::Start => Ok(()),
        }
    }
    async fn finish(&self, app: &App, p: &RestoreParams, _: &Value) -> Result<JobOutcome, Error> {
        vm_outcome(app, p.vm_id).await
    }
}

/// `migrateVirtualMachine`.
pub struct VmMigrate;

#[async_trait]
impl TypedSaga for VmMigrate {
    type Params = MigrateParams;
    type Step = MigrateStep;
    const KIND: SagaKind = SagaKind::VmMigrate;

    async fn action(&self, app: &App, p: &MigrateParams, step: MigrateStep, _: &mut Value) -> Result<(), Error> {
        match step {
            MigrateStep::Begin => app.vm_migrate_begin(p).await,
            MigrateStep::StartOnDestination => app.vm_migrate_start(p).await,
            MigrateStep::Commit => app.vm_migrate_commit(p).await,
        }
    }
    async fn undo(&self, app: &App, p: &MigrateParams, step: MigrateStep, _: &Value) -> Result<(), Error> {
        match step {
            MigrateStep::Begin => app.vm_migrate_unbegin(p).await,
            MigrateStep::StartOnDestination => app.vm_migrate_unstart(p).await,
            // The last step, one transaction.
            MigrateStep::Commit => Ok(()),
        }
    }
    async fn finish(&self, app: &App, p: &MigrateParams, _: &Value) -> Result<JobOutcome, Error> {
        vm_outcome(app, p.vm_id).await
    }
}

/// `addNicToVirtualMachine`.
pub struct VmNicAdd;

#[async_trait]
impl TypedSaga for VmNicAdd {
    type Params = NicParams;
    type Step = NicAddStep;
    const KIND: SagaKind = SagaKind::VmNicAdd;
    /// The NIC and its address are allocated in the API call.
    const DONE_AT_SUBMISSION: usize = 1;

    async fn action(&self, app: &App, p: &NicParams, step: NicAddStep, _: &mut Value) -> Result<(), Error> {
        match step {
            // Completed at submission; never run.
            NicAddStep::Allocated => Ok(()),
            NicAddStep::Prepare => app.vm_nic_prepare(p).await,
        }
    }
    async fn undo(&self, app: &App, p: &NicParams, step: NicAddStep, _: &Value) -> Result<(), Error> {
        match step {
            NicAddStep::Allocated => app.vm_nic_drop(p).await,
            // The elements' entries go with the NIC (the undo above records their release).
            NicAddStep::Prepare => Ok(()),
        }
    }
    async fn finish(&self, app: &App, p: &NicParams, _: &Value) -> Result<JobOutcome, Error> {
        vm_outcome(app, p.vm_id).await
    }
}

/// `removeNicFromVirtualMachine`.
pub struct VmNicRemove;

#[async_trait]
impl TypedSaga for VmNicRemove {
    type Params = NicParams;
    type Step = NicRemoveStep;
    const KIND: SagaKind = SagaKind::VmNicRemove;

    async fn action(&self, app: &App, p: &NicParams, step: NicRemoveStep, _: &mut Value) -> Result<(), Error> {
        match step {
            NicRemoveStep::Remove => app.vm_nic_drop(p).await,
        }
    }
    async fn undo(&self, _: &App, _: &NicParams, step: NicRemoveStep, _: &Value) -> Result<(), Error> {
        match step {
            NicRemoveStep::Remove => Ok(()),
        }
    }
    async fn finish(&self, app: &App, p: &NicParams, _: &Value) -> Result<JobOutcome, Error> {
        vm_outcome(app, p.vm_id).await
    }
}

/// `updateDefaultNicForVirtualMachine`.
pub struct VmNicDefault;

#[async_trait]
impl TypedSaga for VmNicDefault {
    type Params = NicParams;
    type Step = NicDefaultStep;
    const KIND: SagaKind = SagaKind::VmNicDefault;

    async fn action(&self, app: &App, p: &NicParams, step: NicDefaultStep, _: &mut Value) -> Result<(), Error> {
        match step {
            NicDefaultStep::MakeDefault => app.vm_nic_make_default(p).await,
        }
    }
    async fn undo(&self, _: &App, _: &NicParams, step: NicDefaultStep, _: &Value) -> Result<(), Error> {
        match step {
            NicDefaultStep::MakeDefault => Ok(()),
        }
    }
    async fn finish(&self, app: &App, p: &NicParams, _: &Value) -> Result<JobOutcome, Error> {
        vm_outcome(app, p.vm_id).await
    }
}

/// Every saga of the VM lifecycle extras.
pub fn all() -> Vec<Arc<dyn Saga<App>>> {
    vec![
        adapt(VmScale),
        adapt(VmRestore),
        adapt(VmMigrate),
        adapt(VmNicAdd),
        adapt(VmNicRemove),
        adapt(VmNicDefault),
    ]
}
