//! `copyTemplate` / `copyIso`: make a template usable in more zones. A template that is not
//! direct download is copied to the destination zone's image store by the same durable,
//! simulated downloader as a registration (its `template_zone` row starts `Downloading` and
//! [`App::template_downloads_tick`] makes it `Ready`, across restarts); a direct-download
//! template bypasses secondary storage and is ready there at once, edge zones included.
//!
//! As in CloudStack the source must be ready (in `sourcezoneid`, or somewhere), the source
//! can't be a destination, the destination needs an image store, and a zone that already has
//! the template is left as it is.

use async_trait::async_trait;
use ferrostack_db::template::{self as template_db, Template, TemplateInZone};
use ferrostack_db::zone::Zone;
use ferrostack_db::{db_err, storage as storage_db, zone as zone_db, Conn};
use ferrostack_jobs::JobOutcome;
use ferrostack_types::cloudstack_enum;
use ferrostack_types::state::TemplateZoneState;
use ferrostack_types::time::now_ms;
use ferrostack_types::Error;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{check_kind, check_owner, resource, status_text, DOWNLOAD_MS};
use crate::job::{JobMeta, JobRequest, Submitted};
use crate::saga::{to_params, SagaKind, TypedSaga};
use crate::{saga_steps, App, Caller};

/// `copyTemplate` / `copyIso` parameters.
pub struct TemplateCopy {
    pub uuid: String,
    pub source_zone: Option<String>,
    pub dest_zone: Option<String>,
    pub dest_zones: Vec<String>,
    pub iso: bool,
}

/// What copying to one zone does.
enum Plan {
    /// The zone has the template (ready or on its way): nothing to do.
    Present,
    /// Add the zone row: (state, image store, ready at).
    Add(TemplateZoneState, Option<i64>, Option<i64>),
}

/// What copying `t` to zone `z` does, or why it can't be copied there.
async fn plan(c: &mut Conn, t: &Template, z: &Zone, row: Option<&TemplateInZone>, now: i64) -> Result<Plan, Error> {
    let edge_refusal = || {
        Error::invalid(format!(
            "Template {} can't be copied to edge zone {}: edge zones have no image store (secondary storage) and \
             the template is not direct download; register it with directdownload=true to use it there",
            t.name, z.name
        ))
    };
    let no_store = || {
        Error::ResourceUnavailable(format!(
            "Destination zone {} is not ready, no image store associated; add one with addImageStore, then copy \
             the template again",
            z.name
        ))
    };
    match row.map(|r| r.zone.tz_state) {
        Some(TemplateZoneState::Ready | TemplateZoneState::Bypassed | TemplateZoneState::Downloading) => {
            return Ok(Plan::Present)
        }
        Some(TemplateZoneState::NoSecondaryStorage) => return Err(edge_refusal()),
        Some(TemplateZoneState::WaitingForImageStore) => return Err(no_store()),
        None => {}
    }
    if t.is_direct_download() {
        return Ok(Plan::Add(TemplateZoneState::Bypassed, None, None));
    }
    if z.is_edge() {
        return Err(edge_refusal());
    }
    match storage_db::store_for_zone(&mut *c, z.id).await? {
        Some(s) => Ok(Plan::Add(
            TemplateZoneState::Downloading,
            Some(s.id),
            Some(now + DOWNLOAD_MS),
        )),
        None => Err(no_store()),
    }
}

impl App {
    /// `copyTemplate` / `copyIso`: checks, then the job that adds the destination rows.
    pub async fn template_copy(&self, caller: &Caller, p: TemplateCopy, meta: JobMeta) -> Result<Submitted, Error> {
        let (param, dests) = match (p.dest_zone, p.dest_zones.is_empty()) {
            (None, true) => {
                return Err(Error::invalid(
                    "Either destzoneid or destzoneids parameters have to be specified.",
                ))
            }
            (Some(_), false) => {
                return Err(Error::invalid(
                    "Both destzoneid and destzoneids cannot be specified at the same time.",
                ))
            }
            (Some(z), true) => ("destzoneid", vec![z]),
            (None, false) => ("destzoneids", p.dest_zones),
        };
        let mut tx = self.db.begin().await?;
        let t = template_db::by_uuid(&mut *tx, &p.uuid)
            .await?
            .ok_or_else(|| Error::unknown_entity("id", &p.uuid))?;
        check_kind(&t, p.iso)?;
        check_owner(caller, &t)?;
        let mut zones: Vec<Zone> = Vec::new();
        for u in &dests {
            let z = crate::storage::zone_for(&mut tx, param, u.trim()).await?;
            if !zones.iter().any(|x| x.id == z.id) {
                zones.push(z);
            }
        }
        let rows = template_db::zone_rows(&mut tx, t.id).await?;
        let what = if p.iso { "ISO" } else { "template" };
        match &p.source_zone {
            Some(u) => {
                let src = crate::storage::zone_for(&mut tx, "sourcezoneid", u.trim()).await?;
                if zones.iter().any(|z| z.id == src.id) {
                    return Err(Error::invalid(format!(
                        "Please specify different source and destination zones: zone {} is both",
                        src.name
                    )));
                }
                match rows.iter().find(|r| r.zone.tz_zone_id == src.id) {
                    None => {
                        return Err(Error::invalid(format!(
                            "There is no {what} {} in zone {}; give a sourcezoneid where listTemplates shows it ready",
                            t.name, src.name
                        )))
                    }
                    Some(r) if !r.zone.is_ready() => {
                        return Err(Error::invalid(format!(
                            "The {what} {} is not ready in zone {} ({}); copy it once listTemplates shows \
                             isready=true there",
                            t.name,
                            src.name,
                            status_text(r.zone.tz_state, r.zone.tz_download_pct)
                        )))
                    }
                    Some(_) => {}
                }
            }
            None => {
                if !rows.iter().any(|r| r.zone.is_ready()) {
                    return Err(Error::invalid(format!(
                        "There is no {what} {} ready on image store in any zone; copy it once listTemplates shows \
                         isready=true in a zone",
                        t.name
                    )));
                }
            }
        }
        let now = now_ms();
        for z in &zones {
            let row = rows.iter().find(|r| r.zone.tz_zone_id == z.id);
            plan(&mut tx, &t, z, row, now).await?;
        }
        let names: Vec<&str> = zones.iter().map(|z| z.name.as_str()).collect();
        let sub = self
            .job_submit(
                &mut tx,
                caller,
                JobRequest {
                    instance: Some((if p.iso { "Iso" } else { "Template" }, t.uuid.clone())),
                    sync_key: format!("template:{}", t.uuid),
                    params: to_params(&TemplateCopyParams {
                        template_id: t.id,
                        template_uuid: t.uuid.clone(),
                        zone_ids: zones.iter().map(|z| z.id).collect(),
                        answer_zone_uuid: zones[0].uuid.clone(),
                        iso: p.iso,
                    })?,
                    meta,
                    description: format!("Copying {what} {} to zones: {}", t.name, names.join(", ")),
                    resource: Some(resource(&t)),
                },
            )
            .await?;
        tx.commit().await.map_err(db_err)?;
        self.jobs.wake();
        Ok(sub)
    }

    /// A template in one zone (the answer of `copyTemplate`: the first destination).
    pub async fn template_in_zone_view(
        &self,
        template_uuid: &str,
        zone_uuid: &str,
    ) -> Result<Option<TemplateInZone>, Error> {
        let mut c = self.db.conn().await?;
        let (Some(t), Some(z)) = (
            template_db::by_uuid(&mut *c, template_uuid).await?,
            zone_db::by_uuid(&mut *c, zone_uuid).await?,
        ) else {
            return Ok(None);
        };
        template_db::in_zone(&mut c, t.id, z.id).await
    }
}

/// `copyTemplate`'s job parameters.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TemplateCopyParams {
    pub template_id: i64,
    pub template_uuid: String,
    pub zone_ids: Vec<i64>,
    /// The zone whose row answers the command (the first destination, as CloudStack).
    pub answer_zone_uuid: String,
    pub iso: bool,
}

cloudstack_enum! {
    /// `copyTemplate`.
    pub enum TemplateCopyStep {
        /// Add the destination rows (downloading, or bypassed for direct download).
        AddToZones => "add_to_zones",
    }
}
saga_steps!(TemplateCopyStep);

/// The `copyTemplate` / `copyIso` job.
pub struct TemplateCopySaga;

#[async_trait]
impl TypedSaga for TemplateCopySaga {
    type Params = TemplateCopyParams;
    type Step = TemplateCopyStep;
    const KIND: SagaKind = SagaKind::TemplateCopy;

    async fn action(
        &self,
        app: &App,
        p: &TemplateCopyParams,
        step: TemplateCopyStep,
        _: &mut Value,
    ) -> Result<(), Error> {
        match step {
            TemplateCopyStep::AddToZones => {
                let mut tx = app.db.begin().await?;
                let t = template_db::get(&mut *tx, p.template_id).await?.ok_or_else(|| {
                    Error::invalid(format!(
                        "Template {} was deleted while it was being copied",
                        p.template_uuid
                    ))
                })?;
                let now = now_ms();
                for zone_id in &p.zone_ids {
                    let z = zone_db::get(&mut *tx, *zone_id).await?.ok_or_else(|| {
                        Error::invalid("A destination zone was deleted while the template was being copied")
                    })?;
                    let row = template_db::in_zone(&mut tx, t.id, z.id).await?;
                    // Idempotent: a row added by an earlier run of this step is `Present`.
                    if let Plan::Add(state, store, ready_at) = plan(&mut tx, &t, &z, row.as_ref(), now).await? {
                        template_db::add_zone_row(&mut tx, t.id, z.id, state, store, ready_at, now).await?;
                    }
                }
                tx.commit().await.map_err(db_err)
            }
        }
    }

    async fn undo(&self, _: &App, _: &TemplateCopyParams, step: TemplateCopyStep, _: &Value) -> Result<(), Error> {
        match step {
            // The only (and last) step: nothing runs after it that could fail.
            TemplateCopyStep::AddToZones => Ok(()),
        }
    }

    async fn finish(&self, _: &App, p: &TemplateCopyParams, _: &Value) -> Result<JobOutcome, Error> {
        Ok(JobOutcome::View {
            object: if p.iso { "iso" } else { "template" },
            view: "template_in_zone",
            key: format!("{}/{}", p.template_uuid, p.answer_zone_uuid),
        })
    }
}
