//! The one job kind of physical networks, traffic types, providers and router elements: the
//! step applies the change the command asked for, the result is the entity's answer.

use async_trait::async_trait;
use ferrostack_db::db_err;
use ferrostack_db::job::Job;
use ferrostack_db::physnet as pn_db;
use ferrostack_jobs::{JobOutcome, Saga};
use ferrostack_types::time::now_ms;
use ferrostack_types::Error;
use serde_json::Value;

use super::{PhysnetUpdate, PHYSNET_JOB};
use crate::App;

fn job_params(job: &Job) -> Value {
    serde_json::from_str(&job.params).unwrap_or(Value::Null)
}

fn p_i64(p: &Value, key: &str) -> Result<i64, Error> {
    p.get(key)
        .and_then(Value::as_i64)
        .ok_or_else(|| Error::internal(format!("job param {key} missing")))
}

fn p_str(p: &Value, key: &str) -> Option<String> {
    p.get(key).and_then(Value::as_str).map(str::to_string)
}

impl App {
    /// The step of every physical-network job: apply the change in one transaction, re-checking
    /// what may have changed since submission. Idempotent.
    async fn physnet_apply(&self, job: &Job) -> Result<(), Error> {
        let p = job_params(job);
        let id = p_i64(&p, "id")?;
        let gone = |what: &str| Error::invalid(format!("The {what} was deleted before the job ran; nothing to do"));
        let mut tx = self.db.begin().await?;
        match job.command.as_str() {
            "createPhysicalNetwork" => {
                pn_db::get(&mut *tx, id)
                    .await?
                    .ok_or_else(|| gone("physical network"))?;
            }
            "addTrafficType" => {
                pn_db::traffic_get(&mut *tx, id)
                    .await?
                    .ok_or_else(|| gone("traffic type"))?;
            }
            "addNetworkServiceProvider" => {
                pn_db::nsp_get(&mut *tx, id)
                    .await?
                    .ok_or_else(|| gone("network service provider"))?;
            }
            "updatePhysicalNetwork" => {
                let pn = pn_db::get(&mut *tx, id)
                    .await?
                    .ok_or_else(|| gone("physical network"))?;
                let u = PhysnetUpdate {
                    state: p_str(&p, "state"),
                    vlan: p_str(&p, "vlan"),
                    tags: p_str(&p, "tags"),
                    network_speed: p_str(&p, "speed"),
                };
                let cols = self.physnet_update_cols(&mut tx, &pn, &u).await?;
                pn_db::update(&mut tx, id, &cols).await?;
            }
            "deletePhysicalNetwork" => {
                if let Some(pn) = pn_db::get(&mut *tx, id).await? {
                    self.physnet_check_unused(&mut tx, &pn).await?;
                    pn_db::remove_with_children(&mut tx, id, now_ms()).await?;
                }
            }
            "updateTrafficType" => {
                pn_db::traffic_get(&mut *tx, id)
                    .await?
                    .ok_or_else(|| gone("traffic type"))?;
                let cols: Vec<(&str, Option<String>)> = [
                    ("kvm_label", "kvm"),
                    ("xen_label", "xen"),
                    ("vmware_label", "vmware"),
                    ("hyperv_label", "hyperv"),
                    ("ovm3_label", "ovm3"),
                    ("simulator_label", "simulator"),
                ]
                .into_iter()
                .map(|(col, key)| (col, p_str(&p, key)))
                .collect();
                pn_db::update_traffic(&mut tx, id, &cols).await?;
            }
            "deleteTrafficType" => {
                if let Some(t) = pn_db::traffic_get(&mut *tx, id).await? {
                    self.traffic_check_unused(&mut tx, &t).await?;
                    ferrostack_db::zone::mark_removed(&mut tx, "physical_network_traffic_type", id, now_ms()).await?;
                }
            }
            "updateNetworkServiceProvider" => {
                let n = pn_db::nsp_get(&mut *tx, id)
                    .await?
                    .ok_or_else(|| gone("network service provider"))?;
                let cols = self
                    .nsp_update_cols(
                        &mut tx,
                        &n,
                        p_str(&p, "state").as_deref(),
                        p_str(&p, "services").as_deref(),
                    )
                    .await?;
                pn_db::update_nsp(&mut tx, id, &cols).await?;
            }
            "deleteNetworkServiceProvider" => pn_db::remove_nsp(&mut tx, id, now_ms()).await?,
            "configureVirtualRouterElement" => {
                pn_db::vr_get(&mut *tx, id)
                    .await?
                    .ok_or_else(|| gone("virtual router element"))?;
                let enabled = p.get("enabled").and_then(Value::as_bool).unwrap_or(false);
                pn_db::set_vr_enabled(&mut tx, id, enabled).await?;
            }
            other => return Err(Error::internal(format!("physnet job for unknown command {other}"))),
        }
        tx.commit().await.map_err(db_err)
    }

    /// The result of a finished physical-network job.
    async fn physnet_outcome(&self, job: &Job) -> Result<JobOutcome, Error> {
        let id = p_i64(&job_params(job), "id")?;
        let gone = |what: &str| Error::ResourceUnavailable(format!("The {what} was deleted while the job ran"));
        let pool = self.db.pool();
        Ok(match job.command.as_str() {
            "createPhysicalNetwork" | "updatePhysicalNetwork" => JobOutcome::Entity {
                object: "physicalnetwork",
                uuid: pn_db::get(pool, id)
                    .await?
                    .ok_or_else(|| gone("physical network"))?
                    .uuid,
            },
            "addTrafficType" | "updateTrafficType" => JobOutcome::Entity {
                object: "traffictype",
                uuid: pn_db::traffic_get(pool, id)
                    .await?
                    .ok_or_else(|| gone("traffic type"))?
                    .uuid,
            },
            "addNetworkServiceProvider" | "updateNetworkServiceProvider" => JobOutcome::Entity {
                object: "networkserviceprovider",
                uuid: pn_db::nsp_get(pool, id).await?.ok_or_else(|| gone("provider"))?.uuid,
            },
            "configureVirtualRouterElement" => JobOutcome::Entity {
                object: "virtualrouterelement",
                uuid: pn_db::vr_get(pool, id)
                    .await?
                    .ok_or_else(|| gone("virtual router element"))?
                    .uuid,
            },
            _ => JobOutcome::Success,
        })
    }
}

/// Every physical network, traffic type, provider and router element job.
pub struct PhysnetSaga;

#[async_trait]
impl Saga<App> for PhysnetSaga {
    fn kind(&self) -> &'static str {
        PHYSNET_JOB
    }
    fn steps(&self) -> &'static [&'static str] {
        &["apply"]
    }
    async fn action(&self, app: &App, job: &Job, _step: usize, _state: &mut Value) -> Result<(), Error> {
        app.physnet_apply(job).await
    }
    async fn undo(&self, _: &App, _: &Job, _: usize, _: &Value) -> Result<(), Error> {
        Ok(())
    }
    async fn finish(&self, app: &App, job: &Job, _: &Value) -> Result<JobOutcome, Error> {
        app.physnet_outcome(job).await
    }
}
