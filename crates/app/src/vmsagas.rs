//! The async jobs of guest networks (the VM and router jobs are in `vm_sagas`).

use std::sync::Arc;

use async_trait::async_trait;
use ferrostack_db::job::Job;
use ferrostack_jobs::{JobOutcome, Saga};
use ferrostack_types::Error;
use serde_json::Value;

use crate::saga::SagaKind;
use crate::App;

// Job kinds as strings, for callers that still pass them (the registry moves to SagaKind).
pub const VM_DEPLOY: &str = SagaKind::VmDeploy.as_str();
pub const VM_START: &str = SagaKind::VmStart.as_str();
pub const VM_STOP: &str = SagaKind::VmStop.as_str();
pub const VM_REBOOT: &str = SagaKind::VmReboot.as_str();
pub const VM_DESTROY: &str = SagaKind::VmDestroy.as_str();
pub const VM_EXPUNGE: &str = SagaKind::VmExpunge.as_str();
pub const VM_RESET_PASSWORD: &str = SagaKind::VmResetPassword.as_str();
pub const VM_PUSH_KEYS: &str = SagaKind::VmPushKeys.as_str();
pub const ROUTER_START: &str = SagaKind::RouterStart.as_str();
pub const ROUTER_STOP: &str = SagaKind::RouterStop.as_str();
pub const ROUTER_REBOOT: &str = SagaKind::RouterReboot.as_str();
pub const ROUTER_DESTROY: &str = SagaKind::RouterDestroy.as_str();
pub const NETWORK_RESTART: &str = SagaKind::NetworkRestart.as_str();
pub const NETWORK_DELETE: &str = SagaKind::NetworkDelete.as_str();

fn params(job: &Job) -> Value {
    serde_json::from_str(&job.params).unwrap_or(Value::Null)
}

fn id(job: &Job, key: &str) -> Result<i64, Error> {
    params(job)
        .get(key)
        .and_then(Value::as_i64)
        .ok_or_else(|| Error::internal(format!("job param {key} missing")))
}

fn flag(job: &Job, key: &str) -> bool {
    params(job).get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// `restartNetwork`: with cleanup, shut the network down first; then implement it (the
/// router is (re)deployed and started).
struct NetworkRestart;

#[async_trait]
impl Saga<App> for NetworkRestart {
    fn kind(&self) -> &'static str {
        NETWORK_RESTART
    }
    fn steps(&self) -> &'static [&'static str] {
        &["cleanup", "implement"]
    }
    async fn action(&self, app: &App, job: &Job, step: usize, _: &mut Value) -> Result<(), Error> {
        let n = id(job, "network_id")?;
        match step {
            0 => {
                if flag(job, "cleanup") {
                    if let Some(r) = ferrostack_db::vm::router_of_network(app.db.pool(), n).await? {
                        app.router_destroy(r.id).await?;
                    }
                    app.network_shutdown(n, false).await
                } else {
                    Ok(())
                }
            }
            _ => app.network_implement(n).await,
        }
    }
    async fn undo(&self, _: &App, _: &Job, _: usize, _: &Value) -> Result<(), Error> {
        Ok(())
    }
    async fn finish(&self, _: &App, _: &Job, _: &Value) -> Result<JobOutcome, Error> {
        Ok(JobOutcome::Success)
    }
}

/// `deleteNetwork`.
struct NetworkDelete;

#[async_trait]
impl Saga<App> for NetworkDelete {
    fn kind(&self) -> &'static str {
        NETWORK_DELETE
    }
    fn steps(&self) -> &'static [&'static str] {
        &["destroy"]
    }
    async fn action(&self, app: &App, job: &Job, _: usize, _: &mut Value) -> Result<(), Error> {
        let n = id(job, "network_id")?;
        let forced = flag(job, "forced");
        if !forced {
            let mut c = app.db.conn().await?;
            let users = app.network_user_vms(&mut c, n).await?;
            if users > 0 {
                return Err(Error::in_use(format!(
                    "The network is in use by {users} virtual machine(s); destroy them first, or pass forced=true"
                )));
            }
        }
        app.network_destroy(n, forced).await
    }
    async fn undo(&self, _: &App, _: &Job, _: usize, _: &Value) -> Result<(), Error> {
        Ok(())
    }
    async fn finish(&self, _: &App, _: &Job, _: &Value) -> Result<JobOutcome, Error> {
        Ok(JobOutcome::Success)
    }
}

pub fn all() -> Vec<Arc<dyn Saga<App>>> {
    let mut v: Vec<Arc<dyn Saga<App>>> = vec![Arc::new(NetworkRestart), Arc::new(NetworkDelete)];
    v.extend(crate::vm_sagas::all());
    v
}
