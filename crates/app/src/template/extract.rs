//! `extractTemplate` / `extractIso` (mode `HTTP_DOWNLOAD`). ferrostack's image stores are
//! simulated, so the management server serves the download itself: the job makes a link
//! `<base>/client/extract/<uuid>/<token>` with a random 256-bit token, of which only the
//! SHA-256 is stored (`template_extract`); the link is scoped to one template and expires after
//! `extract.url.expiration.interval` seconds. Following it streams the image from the URL the
//! template was registered from (the API layer does the streaming); a template whose bytes the
//! management server can't reach (made from a simulator volume or snapshot, or registered from
//! an `nfs://` URL) is refused at the command, never answered with a link that can't work.
//!
//! As in CloudStack: `disable.extraction` stops everyone but root admins, only root admins
//! extract templates that are not `isextractable`, the caller must be allowed to operate on
//! the template, and the template must be downloaded to an image store (a direct-download
//! template never is).

use async_trait::async_trait;
use base64::Engine as _;
use ferrostack_db::template::{self as template_db};
use ferrostack_db::template_extract::{self as extract_db, NewExtract};
use ferrostack_db::{config as config_db, db_err, zone as zone_db, Conn};
use ferrostack_jobs::JobOutcome;
use ferrostack_types::cloudstack_enum;
use ferrostack_types::ids::new_uuid;
use ferrostack_types::state::TemplateZoneState;
use ferrostack_types::time::now_ms;
use ferrostack_types::Error;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{check_kind, check_owner, resource, status_text};
use crate::job::{JobMeta, JobRequest, Submitted};
use crate::saga::{to_params, SagaKind, TypedSaga};
use crate::{saga_steps, App, Caller};

/// The one extraction mode ferrostack serves.
const HTTP_DOWNLOAD: &str = "HTTP_DOWNLOAD";
/// Where the links are served, below the server's base URL.
pub const EXTRACT_PATH: &str = "/client/extract";

/// `extractTemplate` / `extractIso` parameters.
pub struct TemplateExtractReq {
    pub uuid: String,
    pub zone: Option<String>,
    pub mode: String,
    pub iso: bool,
}

/// The answer of an extraction (CloudStack's ExtractResponse).
#[derive(Debug, Clone)]
pub struct ExtractView {
    pub extract_uuid: String,
    pub template_uuid: String,
    pub template_name: String,
    /// The template owner's account uuid (CloudStack: the command's entity owner).
    pub account_uuid: Option<String>,
    pub zone_uuid: String,
    pub zone_name: String,
    pub mode: String,
    pub url: String,
    pub created: i64,
    pub expires: i64,
}

/// What a followed link streams.
#[derive(Debug, Clone)]
pub struct ExtractSource {
    /// The URL the template was registered from. Never shown to the downloader.
    pub url: String,
    /// A file name for `Content-Disposition`: the template's name and format.
    pub file_name: String,
    /// `secstorage.allowed.internal.download.sites`: the internal addresses (CIDRs, as the
    /// operator wrote them) the server may fetch from; every other internal address is refused.
    pub allowed_internal: Vec<String>,
}

/// Why a link is refused. Unknown and tampered links look the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkRefused {
    /// No such link, or the token does not match.
    Unknown,
    /// The link was good but has expired.
    Expired,
    /// The template was deleted since.
    Gone,
}

fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Can the management server fetch the template's bytes? Only from an http(s) URL.
fn reachable_source(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// A safe file name: the template's name (letters, digits, `-_.`) and its format.
fn file_name(name: &str, format: &str) -> String {
    let stem: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{stem}.{}", format.to_ascii_lowercase())
}

impl App {
    /// The base URL links are made under: `endpointe.url` when an operator set it (its
    /// `/client/api` cut off), else the address this server listens on.
    async fn extract_base(&self, c: &mut Conn) -> Result<String, Error> {
        if let Some(v) = config_db::get(&mut *c, "endpointe.url", "global", 0).await? {
            let v = v.trim().trim_end_matches('/');
            let v = v.strip_suffix("/client/api").unwrap_or(v);
            return Ok(v.trim_end_matches('/').to_string());
        }
        Ok(self
            .public_url
            .get()
            .cloned()
            .unwrap_or_else(|| "http://localhost:8080".to_string()))
    }

    /// `extractTemplate` / `extractIso`: checks, then the job that makes the link.
    pub async fn template_extract(
        &self,
        caller: &Caller,
        p: TemplateExtractReq,
        meta: JobMeta,
    ) -> Result<Submitted, Error> {
        let mode = p.mode.trim().to_ascii_uppercase();
        match mode.as_str() {
            HTTP_DOWNLOAD => {}
            "FTP_UPLOAD" => {
                return Err(Error::invalid(
                    "mode FTP_UPLOAD is not supported: ferrostack does not upload images to FTP servers; use \
                     mode=HTTP_DOWNLOAD and fetch the url of the answer",
                ))
            }
            _ => return Err(Error::invalid(format!("Invalid mode {}; use HTTP_DOWNLOAD", p.mode))),
        }
        let what = if p.iso { "ISO" } else { "template" };
        if !caller.is_root_admin() && self.config_bool("disable.extraction", None).await? {
            return Err(Error::denied(
                "Extraction has been disabled by admin (disable.extraction=true)",
            ));
        }
        let mut tx = self.db.begin().await?;
        let t = template_db::by_uuid(&mut *tx, &p.uuid)
            .await?
            .ok_or_else(|| Error::unknown_entity("id", &p.uuid))?;
        check_kind(&t, p.iso)?;
        check_owner(caller, &t)?;
        if !caller.is_root_admin() && t.is_extractable == 0 {
            return Err(Error::invalid(format!(
                "Unable to extract {what} {} as it's not extractable; its owner or an administrator can allow it \
                 with isextractable=true (update{})",
                t.name,
                if p.iso { "Iso" } else { "Template" }
            )));
        }
        let rows = template_db::zone_rows(&mut tx, t.id).await?;
        let row = match &p.zone {
            Some(u) => {
                let z = crate::storage::zone_for(&mut tx, "zoneid", u.trim()).await?;
                rows.into_iter().find(|r| r.zone.tz_zone_id == z.id).ok_or_else(|| {
                    Error::invalid(format!(
                        "The {what} {} is not in zone {}; omit zoneid or give a zone where listTemplates shows it",
                        t.name, z.name
                    ))
                })?
            }
            None => {
                let ready = rows.iter().position(|r| r.zone.tz_state == TemplateZoneState::Ready);
                match ready {
                    Some(i) => rows.into_iter().nth(i).ok_or_else(|| Error::internal("row vanished"))?,
                    None => rows
                        .into_iter()
                        .next()
                        .ok_or_else(|| Error::invalid(format!("The {what} {} is in no zone", t.name)))?,
                }
            }
        };
        match row.zone.tz_state {
            TemplateZoneState::Ready => {}
            TemplateZoneState::Bypassed => {
                return Err(Error::invalid(format!(
                    "The {what} {} is direct download: it bypasses secondary storage, so there is no copy on an \
                     image store to extract; fetch it from the URL it was registered with",
                    t.name
                )))
            }
            TemplateZoneState::Downloading
            | TemplateZoneState::WaitingForImageStore
            | TemplateZoneState::NoSecondaryStorage => {
                return Err(Error::invalid(format!(
                    "The {what} {} has not been downloaded to zone {} ({}); extract it once listTemplates shows \
                     isready=true there",
                    t.name,
                    row.zone.zone_name,
                    status_text(row.zone.tz_state, row.zone.tz_download_pct)
                )))
            }
        }
        if !reachable_source(&t.url) {
            return Err(Error::unsupported(format!(
                "The {what} {} can't be extracted: the management server serves extracted images from the http(s) \
                 URL they were registered from, and this one has none it can read (it was made from a volume or \
                 snapshot, or registered from an nfs:// URL)",
                t.name
            )));
        }
        let sub = self
            .job_submit(
                &mut tx,
                caller,
                JobRequest {
                    instance: Some((if p.iso { "Iso" } else { "Template" }, t.uuid.clone())),
                    sync_key: format!("template_extract:{}", t.uuid),
                    params: to_params(&TemplateExtractParams {
                        extract_uuid: new_uuid(),
                        template_id: t.id,
                        zone_id: row.zone.tz_zone_id,
                        account_id: caller.account_id.0,
                        mode,
                        iso: p.iso,
                    })?,
                    meta,
                    description: format!("Extracting {what} {} from zone {}", t.name, row.zone.zone_name),
                    resource: Some(resource(&t)),
                },
            )
            .await?;
        tx.commit().await.map_err(db_err)?;
        self.jobs.wake();
        Ok(sub)
    }

    /// The answer of a finished extraction, with its link (`token` is the job's own).
    pub async fn template_extract_view(&self, extract_uuid: &str, token: &str) -> Result<Option<ExtractView>, Error> {
        let mut c = self.db.conn().await?;
        let Some(x) = extract_db::by_uuid(&mut *c, extract_uuid).await? else {
            return Ok(None);
        };
        let (Some(t), Some(z)) = (
            template_db::get(&mut *c, x.template_id).await?,
            zone_db::get(&mut *c, x.zone_id).await?,
        ) else {
            return Ok(None);
        };
        let base = self.extract_base(&mut c).await?;
        Ok(Some(ExtractView {
            url: format!("{base}{EXTRACT_PATH}/{}/{token}", x.uuid),
            extract_uuid: x.uuid,
            template_uuid: t.uuid,
            template_name: t.name,
            account_uuid: t.account_uuid,
            zone_uuid: z.uuid,
            zone_name: z.name,
            mode: x.mode,
            created: x.created,
            expires: x.expires,
        }))
    }

    /// Follow a link: what to stream, or why not.
    pub async fn template_extract_source(&self, extract_uuid: &str, token: &str) -> Result<ExtractSource, LinkRefused> {
        let found = async {
            let mut c = self.db.conn().await?;
            let Some(x) = extract_db::by_uuid(&mut *c, extract_uuid).await? else {
                return Ok::<_, Error>(None);
            };
            let t = template_db::get(&mut *c, x.template_id).await?;
            Ok(Some((x, t)))
        }
        .await;
        let (x, t) = match found {
            Ok(Some(v)) => v,
            Ok(None) => return Err(LinkRefused::Unknown),
            Err(e) => {
                tracing::warn!(error = %e, "looking up an extract link failed");
                return Err(LinkRefused::Unknown);
            }
        };
        if token.is_empty() || token_hash(token) != x.token_hash {
            return Err(LinkRefused::Unknown);
        }
        if x.expires <= now_ms() {
            return Err(LinkRefused::Expired);
        }
        let allowed_internal = match self
            .config_value("secstorage.allowed.internal.download.sites", None)
            .await
        {
            Ok(v) => v
                .split(',')
                .map(str::trim)
                .filter(|x| !x.is_empty())
                .map(str::to_string)
                .collect(),
            Err(e) => {
                tracing::warn!(error = %e, "reading secstorage.allowed.internal.download.sites failed; allowing none");
                Vec::new()
            }
        };
        match t {
            Some(t) if reachable_source(&t.url) => Ok(ExtractSource {
                url: t.url.trim().to_string(),
                file_name: file_name(&t.name, &t.format),
                allowed_internal,
            }),
            Some(_) | None => Err(LinkRefused::Gone),
        }
    }
}

/// `extractTemplate`'s job parameters (no token: the step makes it).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TemplateExtractParams {
    pub extract_uuid: String,
    pub template_id: i64,
    pub zone_id: i64,
    pub account_id: i64,
    pub mode: String,
    pub iso: bool,
}

/// The step's scratch state: the link's token, for the answer.
#[derive(Debug, Default, Serialize, Deserialize)]
struct LinkData {
    token: Option<String>,
}

cloudstack_enum! {
    /// `extractTemplate`.
    pub enum TemplateExtractStep {
        /// Make the link: a fresh token, its hash stored with the expiry.
        CreateLink => "create_link",
    }
}
saga_steps!(TemplateExtractStep);

/// The `extractTemplate` / `extractIso` job.
pub struct TemplateExtractSaga;

#[async_trait]
impl TypedSaga for TemplateExtractSaga {
    type Params = TemplateExtractParams;
    type Step = TemplateExtractStep;
    const KIND: SagaKind = SagaKind::TemplateExtract;

    async fn action(
        &self,
        app: &App,
        p: &TemplateExtractParams,
        step: TemplateExtractStep,
        data: &mut Value,
    ) -> Result<(), Error> {
        match step {
            TemplateExtractStep::CreateLink => {
                let secs = app.config_i64("extract.url.expiration.interval", None).await?;
                let mut raw = [0u8; 32];
                rand::thread_rng().fill_bytes(&mut raw);
                let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
                let now = now_ms();
                let mut tx = app.db.begin().await?;
                if template_db::get(&mut *tx, p.template_id).await?.is_none() {
                    return Err(Error::invalid("The template was deleted before its link was made"));
                }
                // Run again after a crash, the step replaces the link with one for its new token.
                extract_db::insert(
                    &mut tx,
                    NewExtract {
                        uuid: &p.extract_uuid,
                        template_id: p.template_id,
                        zone_id: p.zone_id,
                        account_id: p.account_id,
                        token_hash: &token_hash(&token),
                        mode: &p.mode,
                        expires: now + secs * 1000,
                        now,
                    },
                )
                .await?;
                tx.commit().await.map_err(db_err)?;
                *data = serde_json::to_value(LinkData { token: Some(token) }).map_err(Error::internal)?;
                Ok(())
            }
        }
    }

    async fn undo(
        &self,
        _: &App,
        _: &TemplateExtractParams,
        step: TemplateExtractStep,
        _: &Value,
    ) -> Result<(), Error> {
        match step {
            // The only (and last) step; an unused link expires by itself.
            TemplateExtractStep::CreateLink => Ok(()),
        }
    }

    async fn finish(&self, _: &App, p: &TemplateExtractParams, data: &Value) -> Result<JobOutcome, Error> {
        let d: LinkData = serde_json::from_value(data.clone()).unwrap_or_default();
        let token = d
            .token
            .ok_or_else(|| Error::internal("the extract job finished without a link token"))?;
        Ok(JobOutcome::View {
            object: if p.iso { "iso" } else { "template" },
            view: "template_extract",
            key: format!("{}/{token}", p.extract_uuid),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_sources_are_served() {
        assert!(reachable_source("http://x/a.qcow2"));
        assert!(reachable_source(" HTTPS://x/a.qcow2"));
        assert!(!reachable_source(""));
        assert!(!reachable_source("nfs://10.0.0.1/t.qcow2"));
    }

    #[test]
    fn file_names_are_safe() {
        assert_eq!(file_name("my tpl/../x", "QCOW2"), "my_tpl_.._x.qcow2");
        assert_eq!(token_hash("a").len(), 64);
    }
}
