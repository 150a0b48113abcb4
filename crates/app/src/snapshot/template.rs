//! `createTemplate`: a USER template of the caller's account from a BackedUp snapshot or from the
//! ROOT volume of a stopped VM, for the source's hypervisor, sized as the source. The submission
//! records the template (in no zone yet, so not listed); the job (`template_create`) puts it in
//! the source's zone, Ready — a template made from a volume has no URL to download, and the
//! template row remembers its source snapshot or volume. On the simulator it is recorded in the
//! zone's image store. On KVM the host copies the source (flattened) into the template cache of
//! the source's primary pool, `<pool>/templates/<uuid>.qcow2`, where a VM's start finds it: the
//! template is Ready in the zone with no image store, and VMs from it start on hosts that reach
//! that pool (a host-local pool: that host; a cluster- or zone-wide pool: its hosts). A host
//! that does not reach it fails the start with a message naming the pool, and placement tries
//! the next host.

use async_trait::async_trait;
use ferrostack_db::snapshot as snap_db;
use ferrostack_db::template::{self as template_db, NewTemplate, TemplateInZone};
use ferrostack_db::{db_err, storage as storage_db};
use ferrostack_jobs::JobOutcome;
use ferrostack_types::cloudstack_enum;
use ferrostack_types::ids::new_uuid;
use ferrostack_types::state::{SnapshotState, TemplateZoneState, VmState, VolumeState};
use ferrostack_types::time::now_ms;
use ferrostack_types::Error;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::job::{JobMeta, JobRequest, Submitted};
use crate::saga::{to_params, SagaKind, TypedSaga};
use crate::{saga_steps, App, Caller};

/// Hypervisors whose volumes and snapshots can become templates here (see the snapshot module).
const TEMPLATE_SOURCE_HYPERVISORS: &[&str] = &["Simulator", "KVM"];

/// `createTemplate`.
#[derive(Debug, Clone, Default)]
pub struct TemplateCreate {
    pub name: String,
    pub display_text: Option<String>,
    pub os_type_uuid: String,
    pub snapshot_uuid: Option<String>,
    pub volume_uuid: Option<String>,
    pub zone_uuid: Option<String>,
    pub is_public: bool,
    pub is_featured: bool,
    pub password_enabled: bool,
    pub sshkey_enabled: bool,
    pub requires_hvm: Option<bool>,
    pub dynamically_scalable: bool,
    pub bits: Option<i64>,
    pub template_tag: Option<String>,
}

/// What the template is made from, resolved at submission.
struct Source {
    zone_id: i64,
    hypervisor: String,
    size: i64,
    snapshot_id: Option<i64>,
    volume_id: Option<i64>,
    what: String,
    /// The job's sync key: the VM's for a volume (it must stay stopped), else the template's.
    sync_key: Option<String>,
}

impl App {
    /// `createTemplate`: check the source and the options, record the template, submit the job
    /// that makes it ready. Answers the job and the template's id.
    pub async fn template_create(&self, caller: &Caller, p: TemplateCreate, meta: JobMeta) -> Result<Submitted, Error> {
        let name = p.name.trim().to_string();
        if name.is_empty() {
            return Err(Error::invalid("The template name can't be empty"));
        }
        let bits = p.bits.unwrap_or(64);
        if bits != 32 && bits != 64 {
            return Err(Error::invalid(format!("Invalid bits {bits}; use 32 or 64")));
        }
        if p.is_featured && !caller.is_root_admin() {
            return Err(Error::denied("Only root admins can create featured templates"));
        }
        if p.template_tag.is_some() && !caller.is_root_admin() {
            return Err(Error::denied(
                "Parameter templatetag can only be specified by a root admin",
            ));
        }
        let mut tx = self.db.begin().await?;
        let source =
            match (&p.snapshot_uuid, &p.volume_uuid) {
                (Some(_), Some(_)) => {
                    return Err(Error::invalid(
                        "Give either snapshotid or volumeid to create a template from, not both",
                    ))
                }
                (None, None) => return Err(Error::invalid(
                    "Give snapshotid (a BackedUp snapshot) or volumeid (the ROOT volume of a stopped VM) to create a \
                     template from",
                )),
                (Some(u), None) => {
                    let s = self.snapshot_get_for(&mut tx, caller, "snapshotid", u).await?;
                    if s.state != SnapshotState::BackedUp {
                        return Err(Error::invalid(format!(
                            "Snapshot {} is {}, not BackedUp: a template can be made only from a backed-up snapshot",
                            s.name, s.state
                        )));
                    }
                    if let Some(z) = &p.zone_uuid {
                        let zone = self.zone_get_for(&mut tx, "zoneid", z).await?;
                        if zone.id != s.zone_id {
                            return Err(Error::invalid(format!(
                                "Snapshot {} is in zone {}, not {}: a template is made in its snapshot's zone (leave \
                             zoneid out)",
                                s.name, s.zone_name, zone.name
                            )));
                        }
                    }
                    Source {
                        zone_id: s.zone_id,
                        hypervisor: s.hypervisor.clone(),
                        size: s.size,
                        snapshot_id: Some(s.id),
                        volume_id: None,
                        what: format!("snapshot {}", s.name),
                        sync_key: None,
                    }
                }
                (None, Some(u)) => {
                    if p.zone_uuid.is_some() {
                        return Err(Error::invalid(
                        "zoneid can be given only with snapshotid; a template from a volume is made in the volume's \
                         zone",
                    ));
                    }
                    let v = self.volume_source_for(&mut tx, caller, "volumeid", u).await?;
                    if v.volume_type != "ROOT" {
                        return Err(Error::invalid(format!(
                        "Volume {} is a {} volume; createTemplate volumeid=… takes the ROOT volume of a stopped VM \
                         (or snapshot the data volume and use snapshotid)",
                        v.name, v.volume_type
                    )));
                    }
                    if v.vm_type.as_deref().is_some_and(|t| t != "User") {
                        return Err(Error::invalid(format!(
                            "Volume {} belongs to a system VM or router; templates are made from user VMs' volumes",
                            v.name
                        )));
                    }
                    match v.vm_state {
                        Some(VmState::Stopped) => {}
                        Some(st) => {
                            return Err(Error::invalid(format!(
                            "VM {} is {}: stop it (stopVirtualMachine) before creating a template from its root volume \
                             {}",
                            v.vm_name.as_deref().unwrap_or("?"),
                            st,
                            v.name
                        )))
                        }
                        None => {
                            return Err(Error::invalid(format!(
                                "Volume {} is attached to no VM; attach it to a stopped VM, or snapshot it and use \
                             snapshotid",
                                v.name
                            )))
                        }
                    }
                    if v.state != VolumeState::Ready {
                        return Err(Error::invalid(format!(
                        "Volume {} is {}, not Ready: a template can be made only from a Ready volume (a VM's volumes \
                         become Ready when it first starts)",
                        v.name, v.state
                    )));
                    }
                    Source {
                        zone_id: v.zone_id,
                        hypervisor: v.hypervisor.clone().unwrap_or_default(),
                        size: v.size,
                        snapshot_id: None,
                        volume_id: Some(v.id),
                        what: format!("volume {}", v.name),
                        sync_key: Some(v.vm_sync_key()),
                    }
                }
            };
        let hypervisor = TEMPLATE_SOURCE_HYPERVISORS
            .iter()
            .copied()
            .find(|h| h.eq_ignore_ascii_case(&source.hypervisor))
            .ok_or_else(|| {
                Error::unsupported(format!(
                    "Templates from {} volumes are not supported by this management server yet ({}); they work on \
                     simulator hosts",
                    if source.hypervisor.is_empty() {
                        "unknown"
                    } else {
                        &source.hypervisor
                    },
                    source.what
                ))
            })?;
        let os = template_db::os_by_uuid(&mut *tx, &p.os_type_uuid)
            .await?
            .ok_or_else(|| Error::unknown_entity("ostypeid", &p.os_type_uuid))?;
        let zone = ferrostack_db::zone::get(&mut *tx, source.zone_id)
            .await?
            .ok_or_else(|| Error::internal("the source's zone vanished"))?;
        // On KVM the template is made on the source's primary pool (its template cache), not
        // on secondary storage: it needs no image store, and edge zones can have it.
        let on_pool = hypervisor == "KVM";
        let store = storage_db::store_for_zone(&mut *tx, zone.id).await?;
        if store.is_none() && !on_pool {
            return Err(Error::invalid(if zone.is_edge() {
                format!(
                    "Zone {} is an edge zone: it has no secondary storage to hold a template; create templates in a \
                     core zone",
                    zone.name
                )
            } else {
                format!(
                    "Zone {} has no image store (secondary storage) to hold the template; add one with addImageStore \
                     first",
                    zone.name
                )
            }));
        }
        let image_store_id = if on_pool { None } else { store.map(|s| s.id) };
        let now = now_ms();
        let uuid = new_uuid();
        let display_text = p
            .display_text
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .unwrap_or(&name)
            .to_string();
        let id = template_db::insert(
            &mut tx,
            NewTemplate {
                uuid: &uuid,
                name: &name,
                display_text: &display_text,
                template_type: "USER",
                format: "QCOW2",
                hypervisor,
                url: "",
                checksum: None,
                guest_os_id: os.id,
                account_id: Some(caller.account_id.0),
                domain_id: Some(caller.domain_id.0),
                is_public: p.is_public,
                is_featured: p.is_featured,
                is_extractable: false,
                password_enabled: p.password_enabled,
                sshkey_enabled: p.sshkey_enabled,
                requires_hvm: p.requires_hvm.unwrap_or(true),
                dynamically_scalable: p.dynamically_scalable,
                direct_download: false,
                cross_zones: false,
                bootable: true,
                bits,
                template_tag: p.template_tag.as_deref(),
                details: "{}",
                size: source.size,
                now,
            },
        )
        .await?;
        snap_db::set_template_source(&mut tx, id, source.snapshot_id, source.volume_id).await?;
        let t = template_db::get(&mut *tx, id)
            .await?
            .ok_or_else(|| Error::internal("new template vanished"))?;
        let mut sub = self
            .job_submit(
                &mut tx,
                caller,
                JobRequest {
                    meta,
                    instance: Some(("Template", uuid.clone())),
                    sync_key: source.sync_key.clone().unwrap_or_else(|| format!("template:{uuid}")),
                    params: to_params(&TemplateCreateParams {
                        template_id: id,
                        zone_id: zone.id,
                        image_store_id,
                    })?,
                    description: format!("creating template {name} from {}", source.what),
                    resource: Some(crate::template::resource(&t)),
                },
            )
            .await?;
        tx.commit().await.map_err(db_err)?;
        self.jobs.wake();
        sub.entity_uuid = Some(uuid);
        Ok(sub)
    }

    /// A template made by `createTemplate`, in its (first) zone, for the job's result.
    pub async fn template_created_view(&self, uuid: &str) -> Result<Option<TemplateInZone>, Error> {
        let mut c = self.db.conn().await?;
        let Some(t) = template_db::by_uuid(&mut *c, uuid).await? else {
            return Ok(None);
        };
        Ok(template_db::zone_rows(&mut c, t.id).await?.into_iter().next())
    }
}

/// `createTemplate`'s job parameters.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct TemplateCreateParams {
    pub template_id: i64,
    pub zone_id: i64,
    /// The zone's image store holding it; `None` for a template made on a KVM host's pool.
    pub image_store_id: Option<i64>,
}

cloudstack_enum! {
    /// `createTemplate`.
    pub enum TemplateCreateStep {
        /// The template row, in no zone (done by the submission).
        Record => "record",
        /// Made on the host (KVM: in the source pool's template cache), then Ready in the zone.
        MakeReady => "make_ready",
    }
}
saga_steps!(TemplateCreateStep);

/// The `createTemplate` job.
pub struct TemplateCreateSaga;

#[async_trait]
impl TypedSaga for TemplateCreateSaga {
    type Params = TemplateCreateParams;
    type Step = TemplateCreateStep;
    const KIND: SagaKind = SagaKind::TemplateCreate;
    const DONE_AT_SUBMISSION: usize = 1;

    async fn action(
        &self,
        app: &App,
        p: &TemplateCreateParams,
        step: TemplateCreateStep,
        _: &mut Value,
    ) -> Result<(), Error> {
        match step {
            TemplateCreateStep::Record => Ok(()),
            TemplateCreateStep::MakeReady => {
                let t = {
                    let mut c = app.db.conn().await?;
                    template_db::get(&mut *c, p.template_id).await?
                }
                .ok_or_else(|| Error::invalid("The template was deleted before it was ready"))?;
                // The host writes the file into its source pool's template cache (no connection
                // held; a repeated call finds it there).
                super::host::make_template(app, t.id, &t.uuid).await?;
                let mut tx = app.db.begin().await?;
                if template_db::get(&mut *tx, p.template_id).await?.is_none() {
                    return Err(Error::invalid("The template was deleted before it was ready"));
                }
                let now = now_ms();
                // Adds the row unless there is one: a step that runs again does nothing.
                template_db::add_zone_row(
                    &mut tx,
                    p.template_id,
                    p.zone_id,
                    TemplateZoneState::Ready,
                    p.image_store_id,
                    Some(now),
                    now,
                )
                .await?;
                tx.commit().await.map_err(db_err)
            }
        }
    }

    async fn undo(
        &self,
        app: &App,
        p: &TemplateCreateParams,
        step: TemplateCreateStep,
        _: &Value,
    ) -> Result<(), Error> {
        match step {
            // The template that could not be made goes.
            TemplateCreateStep::Record => {
                let mut tx = app.db.begin().await?;
                let now = now_ms();
                template_db::remove_zone_rows(&mut tx, p.template_id, None, now).await?;
                ferrostack_db::tag::forget(&mut tx, ferrostack_db::tag::ResourceType::Template, &[p.template_id])
                    .await?;
                template_db::mark_removed(&mut tx, p.template_id, now).await?;
                tx.commit().await.map_err(db_err)
            }
            // The last step: once it committed, the template is ready.
            TemplateCreateStep::MakeReady => Ok(()),
        }
    }

    async fn finish(&self, app: &App, p: &TemplateCreateParams, _: &Value) -> Result<JobOutcome, Error> {
        let mut c = app.db.conn().await?;
        let t = template_db::get(&mut *c, p.template_id)
            .await?
            .ok_or_else(|| Error::invalid("The template was deleted while it was being created"))?;
        Ok(JobOutcome::Entity {
            object: "template",
            uuid: t.uuid,
        })
    }
}
