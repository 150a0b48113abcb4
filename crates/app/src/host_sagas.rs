//! The host jobs: `prepareHostForMaintenance`, `cancelHostMaintenance`, `reconnectHost`.
//! Typed parameters (`{ host_id }`, the same JSON as before), named steps, and an undo that
//! returns the host to the resource state it had, through the resource machine.

use async_trait::async_trait;
use ferrostack_db::host::{self as host_db, Host};
use ferrostack_jobs::JobOutcome;
use ferrostack_types::cloudstack_enum;
use ferrostack_types::state::{ResourceEvent, ResourceState};
use ferrostack_types::Error;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::saga::{SagaKind, TypedSaga};
use crate::{saga_steps, App};

/// What every host job needs.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct HostParams {
    pub host_id: i64,
}

async fn job_host(app: &App, p: &HostParams) -> Result<Host, Error> {
    host_db::get(app.db.read(), p.host_id)
        .await?
        .ok_or_else(|| Error::invalid("The host was deleted while the job waited; nothing to do"))
}

async fn host_outcome(app: &App, p: &HostParams) -> Result<JobOutcome, Error> {
    Ok(JobOutcome::Entity {
        object: "host",
        uuid: job_host(app, p).await?.uuid,
    })
}

/// The resource state recorded in the saga's data before its first change.
fn previous_state(data: &Value) -> Option<ResourceState> {
    data.get("previous_state")
        .and_then(Value::as_str)
        .and_then(ResourceState::parse)
}

/// Remember the state the host had before the saga's first change (once: a re-run after a
/// crash keeps the first value).
fn remember(data: &mut Value, h: &Host) {
    if previous_state(data).is_none() {
        *data = json!({"previous_state": h.resource_state.as_str()});
    }
}

cloudstack_enum! {
    /// `prepareHostForMaintenance`.
    pub enum MaintenanceStep {
        /// Enabled (or ErrorInMaintenance) -> PrepareForMaintenance.
        Prepare => "prepare",
        /// Move the guests off (nothing to move until VM migration lands).
        Evacuate => "evacuate",
        /// PrepareForMaintenance -> Maintenance.
        EnterMaintenance => "enter_maintenance",
    }
}
saga_steps!(MaintenanceStep);

/// `prepareHostForMaintenance`: PrepareForMaintenance, move guests off, then Maintenance.
pub struct HostMaintenance;

#[async_trait]
impl TypedSaga for HostMaintenance {
    type Params = HostParams;
    type Step = MaintenanceStep;
    const KIND: SagaKind = SagaKind::HostMaintenance;

    async fn action(&self, app: &App, p: &HostParams, step: MaintenanceStep, data: &mut Value) -> Result<(), Error> {
        let h = job_host(app, p).await?;
        match step {
            MaintenanceStep::Prepare => {
                if h.resource_state == ResourceState::PrepareForMaintenance && previous_state(data).is_some() {
                    return Ok(()); // ran before a crash
                }
                remember(data, &h);
                app.host_resource_event(h.id, ResourceEvent::AdminAskMaintenance)
                    .await?;
                Ok(())
            }
            MaintenanceStep::Evacuate => app.host_evacuate(&h).await,
            MaintenanceStep::EnterMaintenance => {
                if h.resource_state == ResourceState::Maintenance {
                    return Ok(());
                }
                app.host_resource_event(h.id, ResourceEvent::InternalEnterMaintenance)
                    .await?;
                Ok(())
            }
        }
    }

    async fn undo(&self, app: &App, p: &HostParams, step: MaintenanceStep, data: &Value) -> Result<(), Error> {
        match step {
            MaintenanceStep::Prepare | MaintenanceStep::EnterMaintenance => match previous_state(data) {
                Some(prev) => app.host_resource_restore(p.host_id, prev).await,
                None => Ok(()),
            },
            // Guests that moved stay where they are: any host of the cluster serves them.
            MaintenanceStep::Evacuate => Ok(()),
        }
    }

    async fn finish(&self, app: &App, p: &HostParams, _: &Value) -> Result<JobOutcome, Error> {
        host_outcome(app, p).await
    }
}

cloudstack_enum! {
    /// `cancelHostMaintenance`.
    pub enum CancelMaintenanceStep {
        /// (Error)(PrepareFor)Maintenance -> Enabled.
        Enable => "enable",
    }
}
saga_steps!(CancelMaintenanceStep);

/// `cancelHostMaintenance`: back to Enabled.
pub struct HostCancelMaintenance;

#[async_trait]
impl TypedSaga for HostCancelMaintenance {
    type Params = HostParams;
    type Step = CancelMaintenanceStep;
    const KIND: SagaKind = SagaKind::HostCancelMaintenance;

    async fn action(
        &self,
        app: &App,
        p: &HostParams,
        step: CancelMaintenanceStep,
        data: &mut Value,
    ) -> Result<(), Error> {
        let h = job_host(app, p).await?;
        match step {
            CancelMaintenanceStep::Enable => {
                if h.resource_state == ResourceState::Enabled {
                    return Ok(());
                }
                remember(data, &h);
                app.host_resource_event(h.id, ResourceEvent::AdminCancelMaintenance)
                    .await?;
                Ok(())
            }
        }
    }

    async fn undo(&self, app: &App, p: &HostParams, step: CancelMaintenanceStep, data: &Value) -> Result<(), Error> {
        match step {
            CancelMaintenanceStep::Enable => match previous_state(data) {
                Some(prev) => app.host_resource_restore(p.host_id, prev).await,
                None => Ok(()),
            },
        }
    }

    async fn finish(&self, app: &App, p: &HostParams, _: &Value) -> Result<JobOutcome, Error> {
        host_outcome(app, p).await
    }
}

cloudstack_enum! {
    /// `reconnectHost`.
    pub enum ReconnectStep {
        /// Re-open the agent and connect; the host is Up if it answers.
        Connect => "connect",
    }
}
saga_steps!(ReconnectStep);

/// `reconnectHost`: re-open the agent and connect.
pub struct HostReconnect;

#[async_trait]
impl TypedSaga for HostReconnect {
    type Params = HostParams;
    type Step = ReconnectStep;
    const KIND: SagaKind = SagaKind::HostReconnect;

    async fn action(&self, app: &App, p: &HostParams, step: ReconnectStep, _: &mut Value) -> Result<(), Error> {
        let h = job_host(app, p).await?;
        match step {
            ReconnectStep::Connect => app.host_connect(&h, false).await,
        }
    }

    async fn undo(&self, _: &App, _: &HostParams, step: ReconnectStep, _: &Value) -> Result<(), Error> {
        match step {
            // A connection attempt changes only what the agent reported; nothing to take back.
            ReconnectStep::Connect => Ok(()),
        }
    }

    async fn finish(&self, app: &App, p: &HostParams, _: &Value) -> Result<JobOutcome, Error> {
        host_outcome(app, p).await
    }
}
