//! The jobs of VMs and virtual routers. A router is a VM: its start, stop, reboot and destroy
//! run the same flows ([`crate::vmflow`]) as a user VM's, through the same machine; only the
//! job kind (and so the answer's object) differs.
//!
//! Undo, step by step: a deploy that fails after any step releases what the steps took (the
//! start's undos stop the VM on its host and release its capacity; the allocation's undo
//! expunges it, which releases addresses, NICs and volumes and removes it from its host). A
//! failed start leaves the VM Stopped with nothing held. Completed stops, reboots and expunges
//! stand: there is nothing allocated to give back, and starting a VM an operator asked to stop
//! would be wrong. A destroy whose later step fails is undone by recovering the VM.

use std::sync::Arc;

use async_trait::async_trait;
use ferrostack_db::vm as vm_db;
use ferrostack_db::{db_err, sql::Arg};
use ferrostack_jobs::{JobOutcome, Saga};
use ferrostack_types::state::{VmEvent, VmState, VmType};
use ferrostack_types::time::now_ms;
use ferrostack_types::Error;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::saga::{adapt, SagaKind, TypedSaga};
use crate::vmflow::{ExpungeMode, StartStep};
use crate::vmstate::{vm_event, volumes_to, VolumeGoal};
use crate::App;

/// A job about one VM row.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VmRef {
    pub vm_id: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeployParams {
    pub vm_id: i64,
    /// `startvm`: false allocates only.
    pub start: bool,
    /// An admin's `hostid`.
    #[serde(default)]
    pub host_id: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StartParams {
    pub vm_id: i64,
    #[serde(default)]
    pub host_id: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StopParams {
    pub vm_id: i64,
    pub forced: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DestroyParams {
    pub vm_id: i64,
    pub expunge: bool,
}

ferrostack_types::cloudstack_enum! {
    pub enum DeployStep {
        /// The VM, its NICs, addresses and volumes were allocated at submission.
        Allocated => "allocated",
        Begin => "begin",
        PrepareNics => "prepare_nics",
        StartOnHost => "start_on_host",
        Commit => "commit",
    }
}
crate::saga_steps!(DeployStep);

ferrostack_types::cloudstack_enum! {
    pub enum StopStep { Stop => "stop" }
}
crate::saga_steps!(StopStep);

ferrostack_types::cloudstack_enum! {
    pub enum RebootStep { Reboot => "reboot" }
}
crate::saga_steps!(RebootStep);

ferrostack_types::cloudstack_enum! {
    pub enum DestroyStep { Destroy => "destroy", ExpungeIfAsked => "expunge_if_asked" }
}
crate::saga_steps!(DestroyStep);

ferrostack_types::cloudstack_enum! {
    pub enum ExpungeStep { Expunge => "expunge" }
}
crate::saga_steps!(ExpungeStep);

ferrostack_types::cloudstack_enum! {
    pub enum ResetPasswordStep { Reset => "reset" }
}
crate::saga_steps!(ResetPasswordStep);

ferrostack_types::cloudstack_enum! {
    pub enum PushKeysStep { Push => "push" }
}
crate::saga_steps!(PushKeysStep);

impl DeployStep {
    fn start_step(self) -> Option<StartStep> {
        match self {
            DeployStep::Allocated => None,
            DeployStep::Begin => Some(StartStep::Begin),
            DeployStep::PrepareNics => Some(StartStep::PrepareNics),
            DeployStep::StartOnHost => Some(StartStep::StartOnHost),
            DeployStep::Commit => Some(StartStep::Commit),
        }
    }
}

/// The job's answer: the VM or router as it is now (removed ones included).
async fn vm_outcome(app: &App, vm_id: i64) -> Result<JobOutcome, Error> {
    let vm = vm_db::get_including_removed(app.db.read(), vm_id)
        .await?
        .ok_or_else(|| Error::invalid("The VM no longer exists"))?;
    let object = match vm.vm_type {
        VmType::DomainRouter => "router",
        VmType::User => "virtualmachine",
    };
    Ok(JobOutcome::Entity { object, uuid: vm.uuid })
}

/// Undo a destroy: Destroyed → Stopped, with its volumes.
async fn vm_undestroy(app: &App, vm_id: i64) -> Result<(), Error> {
    let mut tx = app.db.begin().await?;
    let Some(vm) = vm_db::get(&mut *tx, vm_id).await? else {
        return Ok(());
    };
    if vm.state == VmState::Destroyed {
        vm_event(&mut tx, &vm, VmEvent::RecoveryRequested).await?;
        vm_db::set_cols(&mut tx, vm_id, &[("destroyed_at", Arg::OptI64(None))]).await?;
        volumes_to(&mut tx, vm_id, VolumeGoal::Recovered, now_ms()).await?;
    }
    tx.commit().await.map_err(db_err)
}

/// `deployVirtualMachine`.
pub struct VmDeploy;

#[async_trait]
impl TypedSaga for VmDeploy {
    type Params = DeployParams;
    type Step = DeployStep;
    const KIND: SagaKind = SagaKind::VmDeploy;
    /// The VM, its NICs, addresses and volume are allocated in the API call.
    const DONE_AT_SUBMISSION: usize = 1;

    async fn action(&self, app: &App, p: &DeployParams, step: DeployStep, data: &mut Value) -> Result<(), Error> {
        match step.start_step() {
            // Completed at submission; never run.
            None => Ok(()),
            Some(_) if !p.start => Ok(()),
            Some(s) => app.vm_start_step(p.vm_id, p.host_id, s, data).await,
        }
    }
    async fn undo(&self, app: &App, p: &DeployParams, step: DeployStep, data: &Value) -> Result<(), Error> {
        match step.start_step() {
            None => app.vm_expunge_flow(p.vm_id).await,
            Some(_) if !p.start => Ok(()),
            Some(s) => app.vm_start_undo(p.vm_id, s, data).await,
        }
    }
    async fn finish(&self, app: &App, p: &DeployParams, _: &Value) -> Result<JobOutcome, Error> {
        vm_outcome(app, p.vm_id).await
    }
}

/// `startVirtualMachine` and `startRouter`: the start steps.
pub struct Start<const ROUTER: bool>;

#[async_trait]
impl<const ROUTER: bool> TypedSaga for Start<ROUTER> {
    type Params = StartParams;
    type Step = StartStep;
    const KIND: SagaKind = if ROUTER {
        SagaKind::RouterStart
    } else {
        SagaKind::VmStart
    };

    async fn action(&self, app: &App, p: &StartParams, step: StartStep, data: &mut Value) -> Result<(), Error> {
        app.vm_start_step(p.vm_id, p.host_id, step, data).await
    }
    async fn undo(&self, app: &App, p: &StartParams, step: StartStep, data: &Value) -> Result<(), Error> {
        app.vm_start_undo(p.vm_id, step, data).await
    }
    async fn finish(&self, app: &App, p: &StartParams, _: &Value) -> Result<JobOutcome, Error> {
        vm_outcome(app, p.vm_id).await
    }
}

/// `stopVirtualMachine` and `stopRouter`.
pub struct Stop<const ROUTER: bool>;

#[async_trait]
impl<const ROUTER: bool> TypedSaga for Stop<ROUTER> {
    type Params = StopParams;
    type Step = StopStep;
    const KIND: SagaKind = if ROUTER { SagaKind::RouterStop } else { SagaKind::VmStop };

    async fn action(&self, app: &App, p: &StopParams, step: StopStep, _: &mut Value) -> Result<(), Error> {
        match step {
            StopStep::Stop => app.vm_stop_flow(p.vm_id, p.forced).await,
        }
    }
    async fn undo(&self, _: &App, _: &StopParams, step: StopStep, _: &Value) -> Result<(), Error> {
        match step {
            // A completed stop stands (see the module comment).
            StopStep::Stop => Ok(()),
        }
    }
    async fn finish(&self, app: &App, p: &StopParams, _: &Value) -> Result<JobOutcome, Error> {
        vm_outcome(app, p.vm_id).await
    }
}

/// `rebootVirtualMachine` and `rebootRouter` (a router is programmed again).
pub struct Reboot<const ROUTER: bool>;

#[async_trait]
impl<const ROUTER: bool> TypedSaga for Reboot<ROUTER> {
    type Params = VmRef;
    type Step = RebootStep;
    const KIND: SagaKind = if ROUTER {
        SagaKind::RouterReboot
    } else {
        SagaKind::VmReboot
    };

    async fn action(&self, app: &App, p: &VmRef, step: RebootStep, _: &mut Value) -> Result<(), Error> {
        match step {
            RebootStep::Reboot => app.vm_reboot_flow(p.vm_id).await,
        }
    }
    async fn undo(&self, _: &App, _: &VmRef, step: RebootStep, _: &Value) -> Result<(), Error> {
        match step {
            RebootStep::Reboot => Ok(()),
        }
    }
    async fn finish(&self, app: &App, p: &VmRef, _: &Value) -> Result<JobOutcome, Error> {
        vm_outcome(app, p.vm_id).await
    }
}

/// `destroyVirtualMachine` (with `expunge=true`, expunged at once).
pub struct VmDestroy;

#[async_trait]
impl TypedSaga for VmDestroy {
    type Params = DestroyParams;
    type Step = DestroyStep;
    const KIND: SagaKind = SagaKind::VmDestroy;

    async fn action(&self, app: &App, p: &DestroyParams, step: DestroyStep, _: &mut Value) -> Result<(), Error> {
        match step {
            DestroyStep::Destroy => app.vm_destroy_flow(p.vm_id).await,
            DestroyStep::ExpungeIfAsked if p.expunge => app.vm_expunge_flow(p.vm_id).await,
            DestroyStep::ExpungeIfAsked => Ok(()),
        }
    }
    async fn undo(&self, app: &App, p: &DestroyParams, step: DestroyStep, _: &Value) -> Result<(), Error> {
        match step {
            DestroyStep::Destroy => vm_undestroy(app, p.vm_id).await,
            // The last step: nothing after it can fail, and an expunged VM has no way back.
            DestroyStep::ExpungeIfAsked => Ok(()),
        }
    }
    async fn finish(&self, app: &App, p: &DestroyParams, _: &Value) -> Result<JobOutcome, Error> {
        vm_outcome(app, p.vm_id).await
    }
}

/// `expungeVirtualMachine` and `destroyRouter`: the one expunge flow, strict for user VMs
/// (destroyed first), converging for routers (from any state, whatever is gone around it).
pub struct Expunge<const ROUTER: bool>;

#[async_trait]
impl<const ROUTER: bool> TypedSaga for Expunge<ROUTER> {
    type Params = VmRef;
    type Step = ExpungeStep;
    const KIND: SagaKind = if ROUTER {
        SagaKind::RouterDestroy
    } else {
        SagaKind::VmExpunge
    };

    async fn action(&self, app: &App, p: &VmRef, step: ExpungeStep, _: &mut Value) -> Result<(), Error> {
        let mode = if ROUTER {
            ExpungeMode::Converge
        } else {
            ExpungeMode::AfterDestroy
        };
        match step {
            ExpungeStep::Expunge => app.vm_expunge(p.vm_id, mode).await,
        }
    }
    async fn undo(&self, _: &App, _: &VmRef, step: ExpungeStep, _: &Value) -> Result<(), Error> {
        match step {
            ExpungeStep::Expunge => Ok(()),
        }
    }
    async fn finish(&self, app: &App, p: &VmRef, _: &Value) -> Result<JobOutcome, Error> {
        vm_outcome(app, p.vm_id).await
    }
}

/// `resetPasswordForVirtualMachine`.
pub struct VmResetPassword;

#[async_trait]
impl TypedSaga for VmResetPassword {
    type Params = VmRef;
    type Step = ResetPasswordStep;
    const KIND: SagaKind = SagaKind::VmResetPassword;

    async fn action(&self, app: &App, p: &VmRef, step: ResetPasswordStep, _: &mut Value) -> Result<(), Error> {
        match step {
            ResetPasswordStep::Reset => app.vm_reset_password_flow(p.vm_id).await,
        }
    }
    async fn undo(&self, _: &App, _: &VmRef, step: ResetPasswordStep, _: &Value) -> Result<(), Error> {
        match step {
            // The new password is already handed out; the old one is gone.
            ResetPasswordStep::Reset => Ok(()),
        }
    }
    async fn finish(&self, app: &App, p: &VmRef, _: &Value) -> Result<JobOutcome, Error> {
        vm_outcome(app, p.vm_id).await
    }
}

/// `resetSSHKeyForVirtualMachine`'s delivery to the user-data provider.
pub struct VmPushKeys;

#[async_trait]
impl TypedSaga for VmPushKeys {
    type Params = VmRef;
    type Step = PushKeysStep;
    const KIND: SagaKind = SagaKind::VmPushKeys;

    async fn action(&self, app: &App, p: &VmRef, step: PushKeysStep, _: &mut Value) -> Result<(), Error> {
        match step {
            PushKeysStep::Push => {
                app.vm_push_user_data(p.vm_id).await;
                Ok(())
            }
        }
    }
    async fn undo(&self, _: &App, _: &VmRef, step: PushKeysStep, _: &Value) -> Result<(), Error> {
        match step {
            PushKeysStep::Push => Ok(()),
        }
    }
    async fn finish(&self, app: &App, p: &VmRef, _: &Value) -> Result<JobOutcome, Error> {
        vm_outcome(app, p.vm_id).await
    }
}

/// Every VM and router saga.
pub fn all() -> Vec<Arc<dyn Saga<App>>> {
    vec![
        adapt(VmDeploy),
        adapt(Start::<false>),
        adapt(Start::<true>),
        adapt(Stop::<false>),
        adapt(Stop::<true>),
        adapt(Reboot::<false>),
        adapt(Reboot::<true>),
        adapt(VmDestroy),
        adapt(Expunge::<false>),
        adapt(Expunge::<true>),
        adapt(VmResetPassword),
        adapt(VmPushKeys),
    ]
}
