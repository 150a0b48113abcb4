//! The async jobs of VMs, routers and guest networks.

use std::sync::Arc;

use async_trait::async_trait;
use ferrostack_db::job::Job;
use ferrostack_jobs::{JobOutcome, Saga};
use ferrostack_types::Error;
use serde_json::Value;

use crate::App;

pub const VM_DEPLOY: &str = "vm_deploy";
pub const VM_START: &str = "vm_start";
pub const VM_STOP: &str = "vm_stop";
pub const VM_REBOOT: &str = "vm_reboot";
pub const VM_DESTROY: &str = "vm_destroy";
pub const VM_EXPUNGE: &str = "vm_expunge";
pub const VM_RESET_PASSWORD: &str = "vm_reset_password";
pub const VM_PUSH_KEYS: &str = "vm_push_keys";
pub const ROUTER_START: &str = "router_start";
pub const ROUTER_STOP: &str = "router_stop";
pub const ROUTER_REBOOT: &str = "router_reboot";
pub const ROUTER_DESTROY: &str = "router_destroy";

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

async fn vm_outcome(app: &App, job: &Job) -> Result<JobOutcome, Error> {
    let vm = ferrostack_db::vm::get_including_removed(app.db.pool(), id(job, "vm_id")?)
        .await?
        .ok_or_else(|| Error::invalid("The VM no longer exists"))?;
    let object = if vm.vm_type == "DomainRouter" {
        "router"
    } else {
        "virtualmachine"
    };
    Ok(JobOutcome::Entity { object, uuid: vm.uuid })
}

/// A one-or-few-step job over a VM or router defined by a closure-free enum.
#[derive(Clone, Copy)]
enum Op {
    Start,
    Stop,
    Reboot,
    Destroy,
    Expunge,
    ResetPassword,
    PushKeys,
    RouterStart,
    RouterStop,
    RouterReboot,
    RouterDestroy,
}

struct VmSaga {
    kind: &'static str,
    op: Op,
}

#[async_trait]
impl Saga<App> for VmSaga {
    fn kind(&self) -> &'static str {
        self.kind
    }
    fn steps(&self) -> &'static [&'static str] {
        match self.op {
            Op::Destroy => &["destroy", "expunge_if_asked"],
            Op::Start | Op::Stop | Op::Reboot | Op::Expunge | Op::ResetPassword | Op::PushKeys => &["run"],
            Op::RouterStart | Op::RouterStop | Op::RouterReboot | Op::RouterDestroy => &["run"],
        }
    }
    async fn action(&self, app: &App, job: &Job, step: usize, _state: &mut Value) -> Result<(), Error> {
        let vm_id = id(job, "vm_id")?;
        match (self.op, step) {
            (Op::Start, _) => {
                app.vm_start_flow(vm_id, params(job).get("host_id").and_then(Value::as_i64))
                    .await
            }
            (Op::Stop, _) => app.vm_stop_flow(vm_id, flag(job, "forced")).await,
            (Op::Reboot, _) => app.vm_reboot_flow(vm_id).await,
            (Op::Destroy, 0) => app.vm_destroy_flow(vm_id).await,
            (Op::Destroy, _) => {
                if flag(job, "expunge") {
                    app.vm_expunge_flow(vm_id).await
                } else {
                    Ok(())
                }
            }
            (Op::Expunge, _) => app.vm_expunge_flow(vm_id).await,
            (Op::ResetPassword, _) => app.vm_reset_password_flow(vm_id).await,
            (Op::PushKeys, _) => {
                app.vm_push_user_data(vm_id).await;
                Ok(())
            }
            (Op::RouterStart, _) => {
                let r = app.vm_load(vm_id).await?;
                if r.state == "Running" {
                    return Ok(());
                }
                app.router_start(&r).await
            }
            (Op::RouterStop, _) => {
                let r = app.vm_load(vm_id).await?;
                app.router_stop(&r, flag(job, "forced")).await
            }
            (Op::RouterReboot, _) => {
                app.vm_reboot_flow(vm_id).await?;
                let r = app.vm_load(vm_id).await?;
                match r.network_id {
                    Some(n) => app.router_program(n).await,
                    None => Ok(()),
                }
            }
            (Op::RouterDestroy, _) => app.router_destroy(vm_id).await.map(|_| ()),
        }
    }
    async fn undo(&self, _: &App, _: &Job, _: usize, _: &Value) -> Result<(), Error> {
        // Each flow rolls back its own partial work; completed steps of these jobs stand.
        Ok(())
    }
    async fn finish(&self, app: &App, job: &Job, _: &Value) -> Result<JobOutcome, Error> {
        vm_outcome(app, job).await
    }
}

/// `deployVirtualMachine`: the VM was allocated at submission; the job starts it (unless
/// startvm=false). If the start fails, the undo of the first step releases everything the
/// deployment allocated, and the job fails with the start's reason.
struct VmDeploy;

#[async_trait]
impl Saga<App> for VmDeploy {
    fn kind(&self) -> &'static str {
        VM_DEPLOY
    }
    fn steps(&self) -> &'static [&'static str] {
        &["allocated", "start"]
    }
    async fn action(&self, app: &App, job: &Job, step: usize, _: &mut Value) -> Result<(), Error> {
        let vm_id = id(job, "vm_id")?;
        match step {
            0 => Ok(()),
            _ => {
                if flag(job, "start") {
                    app.vm_start_flow(vm_id, params(job).get("host_id").and_then(Value::as_i64))
                        .await
                } else {
                    Ok(())
                }
            }
        }
    }
    async fn undo(&self, app: &App, job: &Job, step: usize, _: &Value) -> Result<(), Error> {
        if step == 0 {
            app.vm_expunge_flow(id(job, "vm_id")?).await?;
        }
        Ok(())
    }
    async fn finish(&self, app: &App, job: &Job, _: &Value) -> Result<JobOutcome, Error> {
        vm_outcome(app, job).await
    }
}

pub fn all() -> Vec<Arc<dyn Saga<App>>> {
    let vm = |kind, op| -> Arc<dyn Saga<App>> { Arc::new(VmSaga { kind, op }) };
    vec![
        Arc::new(VmDeploy),
        vm(VM_START, Op::Start),
        vm(VM_STOP, Op::Stop),
        vm(VM_REBOOT, Op::Reboot),
        vm(VM_DESTROY, Op::Destroy),
        vm(VM_EXPUNGE, Op::Expunge),
        vm(VM_RESET_PASSWORD, Op::ResetPassword),
        vm(VM_PUSH_KEYS, Op::PushKeys),
        vm(ROUTER_START, Op::RouterStart),
        vm(ROUTER_STOP, Op::RouterStop),
        vm(ROUTER_REBOOT, Op::RouterReboot),
        vm(ROUTER_DESTROY, Op::RouterDestroy),
        crate::saga::adapt(crate::network_sagas::NetworkRestart),
        crate::saga::adapt(crate::network_sagas::NetworkDelete),
    ]
}
