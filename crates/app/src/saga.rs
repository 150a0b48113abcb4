//! Typed sagas. Every async command's job is one [`TypedSaga`]: a kind from the closed
//! [`SagaKind`] enum, a `Params` struct serialized into the job row at submission, a closed
//! enum of named steps, and an undo for every step that has an effect. [`adapt`] turns one
//! into the job engine's untyped [`Saga`], so the engine stays generic and the application
//! never reads a job parameter by key.
//!
//! Parameters that do not parse are an error of the job (a bug, 530), never a default.

use std::marker::PhantomData;
use std::sync::Arc;

use async_trait::async_trait;
use ferrostack_db::job::Job;
use ferrostack_jobs::{JobOutcome, Saga};
use ferrostack_types::Error;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::App;

ferrostack_types::cloudstack_enum! {
    /// Every kind of job this server runs, spelled as stored in the job row.
    pub enum SagaKind {
        AccountDelete => "account_delete",
        AccountDisable => "account_disable",
        UserDisable => "user_disable",
        DomainDelete => "domain_delete",
        HostMaintenance => "host_maintenance",
        HostCancelMaintenance => "host_cancel_maintenance",
        HostReconnect => "host_reconnect",
        Physnet => "physnet_job",
        TemplateDelete => "template_delete",
        VmDeploy => "vm_deploy",
        VmStart => "vm_start",
        VmStop => "vm_stop",
        VmReboot => "vm_reboot",
        VmDestroy => "vm_destroy",
        VmExpunge => "vm_expunge",
        VmResetPassword => "vm_reset_password",
        VmIso => "vm_iso",
        VmPushKeys => "vm_push_keys",
        VmScale => "vm_scale",
        VmRestore => "vm_restore",
        VmMigrate => "vm_migrate",
        VmNicAdd => "vm_nic_add",
        VmNicRemove => "vm_nic_remove",
        VmNicDefault => "vm_nic_default",
        RouterStart => "router_start",
        RouterStop => "router_stop",
        RouterReboot => "router_reboot",
        RouterDestroy => "router_destroy",
        NetworkRestart => "network_restart",
        NetworkDelete => "network_delete",
        TagsCreate => "tags_create",
        TagsDelete => "tags_delete",
        DetailsAdd => "resource_details_add",
        DetailsRemove => "resource_details_remove",
        VolumeCreate => "volume_create",
        VolumeAttach => "volume_attach",
        VolumeDetach => "volume_detach",
        VolumeResize => "volume_resize",
        SnapshotCreate => "snapshot_create",
        SnapshotDelete => "snapshot_delete",
        SnapshotRevert => "snapshot_revert",
        TemplateCreate => "template_create",
        TemplateCopy => "template_copy",
        TemplateExtract => "template_extract",
    }
}

/// The named steps of a saga: a closed enum (declare it with
/// [`ferrostack_types::cloudstack_enum!`], whose `ALL` and `NAMES` this trait forwards).
pub trait Steps: Copy + Send + Sync + std::fmt::Debug + 'static {
    const ALL: &'static [Self];
    const NAMES: &'static [&'static str];
}

/// Implement [`Steps`] for an enum declared with `cloudstack_enum!`.
#[macro_export]
macro_rules! saga_steps {
    ($t:ty) => {
        impl $crate::saga::Steps for $t {
            const ALL: &'static [Self] = <$t>::ALL;
            const NAMES: &'static [&'static str] = <$t>::NAMES;
        }
    };
}

/// One kind of job, typed.
#[async_trait]
pub trait TypedSaga: Send + Sync + 'static {
    /// What the job needs, fixed at submission and stored in the job row.
    type Params: Serialize + DeserializeOwned + Send + Sync;
    /// The steps, run in `ALL` order.
    type Step: Steps;
    const KIND: SagaKind;
    /// Leading steps the submission completed (see `ferrostack_jobs::Saga::done_at_submission`).
    const DONE_AT_SUBMISSION: usize = 0;

    /// Run one step. Must be idempotent: after a crash it runs again. `data` is the saga's
    /// own scratch state (persisted after every step), for what an undo needs to know.
    async fn action(&self, app: &App, p: &Self::Params, step: Self::Step, data: &mut Value) -> Result<(), Error>;
    /// Undo a completed step after a later one failed. Idempotent; tolerates entities that
    /// are already gone.
    async fn undo(&self, app: &App, p: &Self::Params, step: Self::Step, data: &Value) -> Result<(), Error>;
    /// The job's result once every step ran.
    async fn finish(&self, app: &App, p: &Self::Params, data: &Value) -> Result<JobOutcome, Error>;
}

/// Parse a job's parameters for saga `S`.
pub fn params_of<S: TypedSaga>(job: &Job) -> Result<S::Params, Error> {
    serde_json::from_str(&job.params).map_err(|e| {
        Error::internal(format!(
            "job {} ({}) has parameters that do not parse: {e}",
            job.uuid,
            S::KIND
        ))
    })
}

/// Serialize parameters for submission.
pub fn to_params<P: Serialize>(p: &P) -> Result<Value, Error> {
    serde_json::to_value(p).map_err(|e| Error::internal(format!("job parameters do not serialize: {e}")))
}

fn step_of<S: TypedSaga>(job: &Job, i: usize) -> Result<S::Step, Error> {
    S::Step::ALL.get(i).copied().ok_or_else(|| {
        Error::internal(format!(
            "job {} ({}) is at step {i}, but the saga has {} steps",
            job.uuid,
            S::KIND,
            S::Step::ALL.len()
        ))
    })
}

struct Adapter<S>(S, PhantomData<fn() -> S>);

#[async_trait]
impl<S: TypedSaga> Saga<App> for Adapter<S> {
    fn kind(&self) -> &'static str {
        S::KIND.as_str()
    }
    fn steps(&self) -> &'static [&'static str] {
        S::Step::NAMES
    }
    fn done_at_submission(&self) -> usize {
        S::DONE_AT_SUBMISSION
    }
    async fn action(&self, app: &App, job: &Job, step: usize, state: &mut Value) -> Result<(), Error> {
        let p = params_of::<S>(job)?;
        self.0.action(app, &p, step_of::<S>(job, step)?, state).await
    }
    async fn undo(&self, app: &App, job: &Job, step: usize, state: &Value) -> Result<(), Error> {
        let p = params_of::<S>(job)?;
        self.0.undo(app, &p, step_of::<S>(job, step)?, state).await
    }
    async fn finish(&self, app: &App, job: &Job, state: &Value) -> Result<JobOutcome, Error> {
        let p = params_of::<S>(job)?;
        self.0.finish(app, &p, state).await
    }
}

/// The engine's view of a typed saga.
pub fn adapt<S: TypedSaga>(s: S) -> Arc<dyn Saga<App>> {
    Arc::new(Adapter(s, PhantomData))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_unique_and_stable() {
        let mut names: Vec<&str> = SagaKind::ALL.iter().map(|k| k.as_str()).collect();
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), n);
        assert_eq!(SagaKind::parse("router_destroy"), Some(SagaKind::RouterDestroy));
    }
}
