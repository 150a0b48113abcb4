//! `deleteTemplate`: from one zone or everywhere, as a job (`template_delete`) once the saga
//! is registered, else at once in the caller's transaction.

use async_trait::async_trait;
use ferrostack_db::template::{self as template_db, Template};
use ferrostack_db::{db_err, Conn};
use ferrostack_jobs::JobOutcome;
use ferrostack_types::cloudstack_enum;
use ferrostack_types::time::now_ms;
use ferrostack_types::Error;
use ferrostack_types::EventType;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{check_owner, resource};
use crate::job::{JobRequest, Submitted};
use crate::saga::{to_params, SagaKind, TypedSaga};
use crate::{saga_steps, App, Caller};

/// `deleteTemplate`: run as a job when the saga is registered, else at once.
pub enum TemplateDeleted {
    Job(Submitted),
    Done,
}

impl App {
    /// `deleteTemplate`, from one zone (`zoneid`) or everywhere.
    pub async fn template_delete(
        &self,
        caller: &Caller,
        uuid: &str,
        zone_uuid: Option<&str>,
        meta: crate::job::JobMeta,
        iso: bool,
    ) -> Result<TemplateDeleted, Error> {
        let mut tx = self.db.begin().await?;
        let t = template_db::by_uuid(&mut *tx, uuid)
            .await?
            .ok_or_else(|| Error::unknown_entity("id", uuid))?;
        super::check_kind(&t, iso)?;
        check_owner(caller, &t)?;
        if iso {
            // As CloudStack: an ISO attached to a VM can't be deleted.
            let vms = ferrostack_db::vm::names_with_iso(&mut tx, t.id).await?;
            if !vms.is_empty() {
                return Err(Error::invalid(format!(
                    "ISO {} is attached to VM(s) {}; detach it (detachIso) before deleting it",
                    t.name,
                    vms.join(", ")
                )));
            }
        }
        let what = if iso { "ISO" } else { "template" };
        if t.template_type == "SYSTEM" {
            return Err(Error::invalid(format!(
                "Template {} is the system VM template and can't be deleted; register a new system VM template \
                 before retiring this one",
                t.name
            )));
        }
        let zone = match zone_uuid {
            Some(u) => {
                let z = crate::storage::zone_for(&mut tx, "zoneid", u).await?;
                if template_db::in_zone(&mut tx, t.id, z.id).await?.is_none() {
                    return Err(Error::invalid(format!(
                        "Template {} is not in zone {}; omit zoneid to delete it everywhere",
                        t.name, z.name
                    )));
                }
                Some(z)
            }
            None => None,
        };
        let users = template_dependents(&mut tx, &t).await?;
        if !users.is_empty() {
            return Err(Error::in_use(format!(
                "Template {} is still used by {}; remove them first",
                t.name,
                users.join(", ")
            )));
        }
        let from_zone = zone
            .as_ref()
            .map(|z| format!(" from zone {}", z.name))
            .unwrap_or_default();
        if !self.jobs.has_kind(SagaKind::TemplateDelete.as_str()) {
            remove_template(&mut tx, t.id, zone.as_ref().map(|z| z.id)).await?;
            self.event_done(
                &mut tx,
                caller,
                if iso {
                    EventType::IsoDelete
                } else {
                    EventType::TemplateDelete
                },
                format!("Deleted {what} {}{from_zone}", t.name),
                Some(&resource(&t)),
            )
            .await?;
            tx.commit().await.map_err(db_err)?;
            return Ok(TemplateDeleted::Done);
        }
        let sub = self
            .job_submit(
                &mut tx,
                caller,
                JobRequest {
                    instance: Some(("Template", t.uuid.clone())),
                    sync_key: format!("template:{}", t.uuid),
                    params: to_params(&TemplateDeleteParams {
                        template_id: t.id,
                        zone_id: zone.as_ref().map(|z| z.id),
                    })?,
                    meta,
                    description: format!("Deleting {what} {}{from_zone}", t.name),
                    resource: Some(resource(&t)),
                },
            )
            .await?;
        tx.commit().await.map_err(db_err)?;
        self.jobs.wake();
        Ok(TemplateDeleted::Job(sub))
    }
}

/// What uses a template and so prevents its deletion ("2 virtual machines"). Empty while
/// nothing does; virtual machines and routers add their counts here.
pub async fn template_dependents(_c: &mut Conn, _t: &Template) -> Result<Vec<String>, Error> {
    Ok(Vec::new())
}

/// Remove a template from one zone, or everywhere; a template left in no zone is removed.
/// Idempotent: removing what is already gone does nothing.
async fn remove_template(c: &mut Conn, template_id: i64, zone_id: Option<i64>) -> Result<(), Error> {
    let now = now_ms();
    template_db::remove_zone_rows(c, template_id, zone_id, now).await?;
    if zone_id.is_none() || template_db::count_zone_rows(c, template_id).await? == 0 {
        // Its tags are under Template or ISO, whichever it is.
        for t in [
            ferrostack_db::tag::ResourceType::Template,
            ferrostack_db::tag::ResourceType::Iso,
        ] {
            ferrostack_db::tag::forget(c, t, &[template_id]).await?;
        }
        template_db::mark_removed(c, template_id, now).await?;
    }
    Ok(())
}

/// `deleteTemplate`'s parameters.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct TemplateDeleteParams {
    pub template_id: i64,
    /// One zone, or `None` for every zone.
    pub zone_id: Option<i64>,
}

cloudstack_enum! {
    /// `deleteTemplate`.
    pub enum TemplateDeleteStep {
        /// Remove the zone rows (and the template once it is in no zone).
        RemoveTemplate => "remove_template",
    }
}
saga_steps!(TemplateDeleteStep);

/// The `deleteTemplate` job.
pub struct TemplateDeleteSaga;

#[async_trait]
impl TypedSaga for TemplateDeleteSaga {
    type Params = TemplateDeleteParams;
    type Step = TemplateDeleteStep;
    const KIND: SagaKind = SagaKind::TemplateDelete;

    async fn action(
        &self,
        app: &App,
        p: &TemplateDeleteParams,
        step: TemplateDeleteStep,
        _: &mut Value,
    ) -> Result<(), Error> {
        match step {
            TemplateDeleteStep::RemoveTemplate => {
                let mut tx = app.db.begin().await?;
                remove_template(&mut tx, p.template_id, p.zone_id).await?;
                tx.commit().await.map_err(db_err)
            }
        }
    }

    async fn undo(&self, _: &App, _: &TemplateDeleteParams, step: TemplateDeleteStep, _: &Value) -> Result<(), Error> {
        match step {
            // The only (and last) step: a removed template is not brought back.
            TemplateDeleteStep::RemoveTemplate => Ok(()),
        }
    }

    async fn finish(&self, _: &App, _: &TemplateDeleteParams, _: &Value) -> Result<JobOutcome, Error> {
        Ok(JobOutcome::Success)
    }
}
