//! The network jobs: `restartNetwork` and `deleteNetwork`, typed (`{ network_id, cleanup }`,
//! `{ network_id, forced }`, the same JSON as before) with named steps.

use async_trait::async_trait;
use ferrostack_jobs::JobOutcome;
use ferrostack_types::cloudstack_enum;
use ferrostack_types::Error;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::saga::{SagaKind, TypedSaga};
use crate::{saga_steps, App};

/// `restartNetwork`'s parameters.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct RestartParams {
    pub network_id: i64,
    /// Shut the network down (and destroy its router) before implementing it again.
    #[serde(default)]
    pub cleanup: bool,
}

cloudstack_enum! {
    /// `restartNetwork`.
    pub enum RestartStep {
        /// With cleanup: destroy the router and shut the network down.
        Cleanup => "cleanup",
        /// Implement the network: its router is (re)deployed and started.
        Implement => "implement",
    }
}
saga_steps!(RestartStep);

/// `restartNetwork`: with cleanup, shut the network down first; then implement it.
pub struct NetworkRestart;

#[async_trait]
impl TypedSaga for NetworkRestart {
    type Params = RestartParams;
    type Step = RestartStep;
    const KIND: SagaKind = SagaKind::NetworkRestart;

    async fn action(&self, app: &App, p: &RestartParams, step: RestartStep, _: &mut Value) -> Result<(), Error> {
        match step {
            RestartStep::Cleanup if p.cleanup => {
                if let Some(r) = ferrostack_db::vm::router_of_network(app.db.read(), p.network_id).await? {
                    app.router_destroy(r.id).await?;
                }
                app.network_shutdown(p.network_id, false).await
            }
            RestartStep::Cleanup => Ok(()),
            RestartStep::Implement => app.network_implement(p.network_id).await,
        }
    }

    async fn undo(&self, _: &App, _: &RestartParams, step: RestartStep, _: &Value) -> Result<(), Error> {
        match step {
            // A shut-down network is a consistent state (Allocated): the next restart or VM
            // deployment implements it again. The router destroyed by the cleanup is not
            // recreated here, for the same reason.
            RestartStep::Cleanup => Ok(()),
            // Last step: never undone (a failed implement is unwound by network_implement).
            RestartStep::Implement => Ok(()),
        }
    }

    async fn finish(&self, _: &App, _: &RestartParams, _: &Value) -> Result<JobOutcome, Error> {
        Ok(JobOutcome::Success)
    }
}

/// `deleteNetwork`'s parameters.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct DeleteParams {
    pub network_id: i64,
    /// Delete even while VMs use it (root admins only; checked at submission).
    #[serde(default)]
    pub forced: bool,
}

cloudstack_enum! {
    /// `deleteNetwork`.
    pub enum DeleteStep {
        /// Shut down (router destroyed) and remove the network.
        Destroy => "destroy",
    }
}
saga_steps!(DeleteStep);

/// `deleteNetwork`: refused while VMs use the network, unless forced.
pub struct NetworkDelete;

#[async_trait]
impl TypedSaga for NetworkDelete {
    type Params = DeleteParams;
    type Step = DeleteStep;
    const KIND: SagaKind = SagaKind::NetworkDelete;

    async fn action(&self, app: &App, p: &DeleteParams, step: DeleteStep, _: &mut Value) -> Result<(), Error> {
        match step {
            DeleteStep::Destroy => {
                if !p.forced {
                    let mut c = app.db.conn().await?;
                    let users = app.network_user_vms(&mut c, p.network_id).await?;
                    drop(c);
                    if users > 0 {
                        return Err(Error::in_use(format!(
                            "The network is in use by {users} virtual machine(s); destroy them first, or pass forced=true"
                        )));
                    }
                }
                app.network_destroy(p.network_id, p.forced).await
            }
        }
    }

    async fn undo(&self, _: &App, _: &DeleteParams, step: DeleteStep, _: &Value) -> Result<(), Error> {
        match step {
            // The only (and last) step: a destroyed network is not brought back.
            DeleteStep::Destroy => Ok(()),
        }
    }

    async fn finish(&self, _: &App, _: &DeleteParams, _: &Value) -> Result<JobOutcome, Error> {
        Ok(JobOutcome::Success)
    }
}
