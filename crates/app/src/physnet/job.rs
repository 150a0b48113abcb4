//! The one job kind of physical networks, traffic types, providers and router elements: the
//! typed parameters name the operation ([`PhysnetOp`]) and the entity; the one step applies
//! the change, the result is the entity's answer. The step has no effect to undo: it is a
//! single transaction that either commits or leaves nothing.

use async_trait::async_trait;
use ferrostack_db::db_err;
use ferrostack_db::physnet as pn_db;
use ferrostack_jobs::JobOutcome;
use ferrostack_types::time::now_ms;
use ferrostack_types::Error;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::PhysnetUpdate;
use crate::saga::{to_params, SagaKind, TypedSaga};
use crate::App;

/// What a physical-network job does, with what it needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhysnetOp {
    /// `createPhysicalNetwork` (the row exists; the job confirms it).
    PhysnetCreate,
    /// `updatePhysicalNetwork`.
    PhysnetUpdate {
        state: Option<String>,
        vlan: Option<String>,
        tags: Option<String>,
        speed: Option<String>,
    },
    /// `deletePhysicalNetwork`.
    PhysnetDelete,
    /// `addTrafficType`.
    TrafficAdd,
    /// `updateTrafficType`: the hypervisor labels to set.
    TrafficUpdate {
        kvm: Option<String>,
        xen: Option<String>,
        vmware: Option<String>,
        hyperv: Option<String>,
        ovm3: Option<String>,
        simulator: Option<String>,
    },
    /// `deleteTrafficType`.
    TrafficDelete,
    /// `addNetworkServiceProvider`.
    NspAdd,
    /// `updateNetworkServiceProvider`.
    NspUpdate {
        state: Option<String>,
        services: Option<String>,
    },
    /// `deleteNetworkServiceProvider`.
    NspDelete,
    /// `configureVirtualRouterElement`.
    VrConfigure { enabled: bool },
}

/// The parameters of a physical-network job: the entity's internal id and the operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhysnetParams {
    pub id: i64,
    pub op: PhysnetOp,
}

impl PhysnetParams {
    /// The job parameters to submit.
    pub fn job(id: i64, op: PhysnetOp) -> Result<Value, Error> {
        to_params(&PhysnetParams { id, op })
    }
}

ferrostack_types::cloudstack_enum! {
    /// The steps of a physical-network job.
    pub enum PhysnetStep {
        Apply => "apply",
    }
}
crate::saga_steps!(PhysnetStep);

impl App {
    /// The step of every physical-network job: apply the change in one transaction, re-checking
    /// what may have changed since submission. Idempotent.
    async fn physnet_apply(&self, p: &PhysnetParams) -> Result<(), Error> {
        let id = p.id;
        let gone = |what: &str| Error::invalid(format!("The {what} was deleted before the job ran; nothing to do"));
        let mut tx = self.db.begin().await?;
        match &p.op {
            PhysnetOp::PhysnetCreate => {
                pn_db::get(&mut *tx, id)
                    .await?
                    .ok_or_else(|| gone("physical network"))?;
            }
            PhysnetOp::TrafficAdd => {
                pn_db::traffic_get(&mut *tx, id)
                    .await?
                    .ok_or_else(|| gone("traffic type"))?;
            }
            PhysnetOp::NspAdd => {
                pn_db::nsp_get(&mut *tx, id)
                    .await?
                    .ok_or_else(|| gone("network service provider"))?;
            }
            PhysnetOp::PhysnetUpdate {
                state,
                vlan,
                tags,
                speed,
            } => {
                let pn = pn_db::get(&mut *tx, id)
                    .await?
                    .ok_or_else(|| gone("physical network"))?;
                let u = PhysnetUpdate {
                    state: state.clone(),
                    vlan: vlan.clone(),
                    tags: tags.clone(),
                    network_speed: speed.clone(),
                };
                let cols = self.physnet_update_cols(&mut tx, &pn, &u).await?;
                pn_db::update(&mut tx, id, &cols).await?;
            }
            PhysnetOp::PhysnetDelete => {
                if let Some(pn) = pn_db::get(&mut *tx, id).await? {
                    self.physnet_check_unused(&mut tx, &pn).await?;
                    pn_db::remove_with_children(&mut tx, id, now_ms()).await?;
                }
            }
            PhysnetOp::TrafficUpdate {
                kvm,
                xen,
                vmware,
                hyperv,
                ovm3,
                simulator,
            } => {
                pn_db::traffic_get(&mut *tx, id)
                    .await?
                    .ok_or_else(|| gone("traffic type"))?;
                let cols: Vec<(&str, Option<String>)> = vec![
                    ("kvm_label", kvm.clone()),
                    ("xen_label", xen.clone()),
                    ("vmware_label", vmware.clone()),
                    ("hyperv_label", hyperv.clone()),
                    ("ovm3_label", ovm3.clone()),
                    ("simulator_label", simulator.clone()),
                ];
                pn_db::update_traffic(&mut tx, id, &cols).await?;
            }
            PhysnetOp::TrafficDelete => {
                if let Some(t) = pn_db::traffic_get(&mut *tx, id).await? {
                    self.traffic_check_unused(&mut tx, &t).await?;
                    ferrostack_db::zone::mark_removed(&mut tx, "physical_network_traffic_type", id, now_ms()).await?;
                }
            }
            PhysnetOp::NspUpdate { state, services } => {
                let n = pn_db::nsp_get(&mut *tx, id)
                    .await?
                    .ok_or_else(|| gone("network service provider"))?;
                let cols = self
                    .nsp_update_cols(&mut tx, &n, state.as_deref(), services.as_deref())
                    .await?;
                pn_db::update_nsp(&mut tx, id, &cols).await?;
            }
            PhysnetOp::NspDelete => pn_db::remove_nsp(&mut tx, id, now_ms()).await?,
            PhysnetOp::VrConfigure { enabled } => {
                pn_db::vr_get(&mut *tx, id)
                    .await?
                    .ok_or_else(|| gone("virtual router element"))?;
                pn_db::set_vr_enabled(&mut tx, id, *enabled).await?;
            }
        }
        tx.commit().await.map_err(db_err)
    }

    /// The result of a finished physical-network job.
    async fn physnet_outcome(&self, p: &PhysnetParams) -> Result<JobOutcome, Error> {
        let id = p.id;
        let gone = |what: &str| Error::ResourceUnavailable(format!("The {what} was deleted while the job ran"));
        let pool = self.db.read();
        Ok(match &p.op {
            PhysnetOp::PhysnetCreate | PhysnetOp::PhysnetUpdate { .. } => JobOutcome::Entity {
                object: "physicalnetwork",
                uuid: pn_db::get(pool, id)
                    .await?
                    .ok_or_else(|| gone("physical network"))?
                    .uuid,
            },
            PhysnetOp::TrafficAdd | PhysnetOp::TrafficUpdate { .. } => JobOutcome::Entity {
                object: "traffictype",
                uuid: pn_db::traffic_get(pool, id)
                    .await?
                    .ok_or_else(|| gone("traffic type"))?
                    .uuid,
            },
            PhysnetOp::NspAdd | PhysnetOp::NspUpdate { .. } => JobOutcome::Entity {
                object: "networkserviceprovider",
                uuid: pn_db::nsp_get(pool, id).await?.ok_or_else(|| gone("provider"))?.uuid,
            },
            PhysnetOp::VrConfigure { .. } => JobOutcome::Entity {
                object: "virtualrouterelement",
                uuid: pn_db::vr_get(pool, id)
                    .await?
                    .ok_or_else(|| gone("virtual router element"))?
                    .uuid,
            },
            PhysnetOp::PhysnetDelete | PhysnetOp::TrafficDelete | PhysnetOp::NspDelete => JobOutcome::Success,
        })
    }
}

/// Every physical network, traffic type, provider and router element job.
pub struct PhysnetSaga;

#[async_trait]
impl TypedSaga for PhysnetSaga {
    type Params = PhysnetParams;
    type Step = PhysnetStep;
    const KIND: SagaKind = SagaKind::Physnet;

    async fn action(&self, app: &App, p: &PhysnetParams, step: PhysnetStep, _: &mut Value) -> Result<(), Error> {
        match step {
            PhysnetStep::Apply => app.physnet_apply(p).await,
        }
    }
    async fn undo(&self, _: &App, _: &PhysnetParams, step: PhysnetStep, _: &Value) -> Result<(), Error> {
        match step {
            // One transaction: nothing is left to undo when a later step fails (there is none).
            PhysnetStep::Apply => Ok(()),
        }
    }
    async fn finish(&self, app: &App, p: &PhysnetParams, _: &Value) -> Result<JobOutcome, Error> {
        app.physnet_outcome(p).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_round_trip_and_ignore_the_event_keys() {
        let v = PhysnetParams::job(
            7,
            PhysnetOp::NspUpdate {
                state: Some("Enabled".into()),
                services: None,
            },
        )
        .unwrap();
        let mut stored = v.clone();
        stored["event_type"] = "SERVICE.PROVIDER.UPDATE".into();
        let back: PhysnetParams = serde_json::from_value(stored).unwrap();
        assert_eq!(back.id, 7);
        assert!(matches!(back.op, PhysnetOp::NspUpdate { .. }));
    }
}
