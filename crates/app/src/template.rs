//! Templates: register, list (CloudStack's `templatefilter` semantics), update, delete, the
//! guest OS catalogue, and each template's state per zone. In a core zone a template is
//! copied to the zone's image store by a simulated downloader ([`App::template_downloads_tick`],
//! durable: the state lives in `template_zone`). Direct-download templates bypass secondary
//! storage and are ready at once anywhere. In an edge zone — no secondary storage — a
//! template that is not direct download is registered but can never be used there.

use ferrostack_types::EventType;
use std::collections::BTreeMap;

use ferrostack_db::account::{self as account_db, OwnerScope};
use ferrostack_db::template::{
    self as template_db, Template, TemplateFilter, TemplateInZone, TemplateUpdate, Visibility,
};
use ferrostack_db::zone::{self as zone_db, Zone, ZoneFilter};
use ferrostack_db::{db_err, storage as storage_db, Conn};
use ferrostack_types::ids::new_uuid;
use ferrostack_types::state::TemplateZoneState;
use ferrostack_types::time::now_ms;
use ferrostack_types::{Error, Page, RoleType};

use crate::access::{check_account, in_subtree, ListScope};
use crate::event::Resource;
use crate::{App, Caller};

/// Hypervisors templates may be registered for. The simulator stands in for KVM, so both
/// allow direct download.
pub const SUPPORTED_HYPERVISORS: &[&str] = &["Simulator", "KVM"];
pub const FORMATS: &[&str] = &["QCOW2", "RAW", "VHD", "VHDX", "OVA", "VMDK", "TAR", "ISO"];
/// How long the simulated copy to an image store takes.
pub const DOWNLOAD_MS: i64 = 2_000;
/// Virtual size the simulator reports for a downloaded template: 2 GiB.
pub const SIMULATED_SIZE: i64 = 2 * 1024 * 1024 * 1024;

mod catalogue;
mod copy;
mod delete;
mod extract;
mod iso;

pub use catalogue::seed;
pub use copy::{TemplateCopy, TemplateCopySaga};
pub use delete::{template_dependents, TemplateDeleteParams, TemplateDeleteSaga, TemplateDeleted};
pub use extract::{ExtractSource, ExtractView, LinkRefused, TemplateExtractReq, TemplateExtractSaga, EXTRACT_PATH};
pub use iso::{IsoSetParams, VmIsoSaga};

pub fn resource(t: &Template) -> Resource {
    Resource {
        kind: if is_iso(t) { "Iso" } else { "Template" },
        uuid: t.uuid.clone(),
        name: t.name.clone(),
    }
}

/// ISOs are templates with format ISO (as in CloudStack).
pub fn is_iso(t: &Template) -> bool {
    t.format == "ISO"
}

/// Refuse a template where an ISO is expected, and the other way round.
fn check_kind(t: &Template, iso: bool) -> Result<(), Error> {
    match (is_iso(t), iso) {
        (true, false) => Err(Error::invalid(format!(
            "{} is an ISO, not a template; use the ISO commands (listIsos, updateIso, deleteIso)",
            t.uuid
        ))),
        (false, true) => Err(Error::invalid(format!(
            "{} is a template, not an ISO; use the template commands (listTemplates, updateTemplate, deleteTemplate)",
            t.uuid
        ))),
        _ => Ok(()),
    }
}

/// The `status` text of a template in a zone.
pub fn status_text(state: TemplateZoneState, pct: i64) -> String {
    match state {
        TemplateZoneState::Ready => "Download Complete".into(),
        TemplateZoneState::Bypassed => "Bypassed Secondary Storage".into(),
        TemplateZoneState::Downloading => format!("{pct}% Downloaded"),
        TemplateZoneState::WaitingForImageStore => {
            "Waiting for an image store in this zone; add one with addImageStore to start the download".into()
        }
        TemplateZoneState::NoSecondaryStorage => {
            "Not usable: edge zones have no secondary storage; register the template with directdownload=true".into()
        }
    }
}

/// May the caller see (and deploy from) the template?
pub fn template_visible_to(caller: &Caller, t: &Template) -> bool {
    if t.is_public == 1 {
        return true;
    }
    match caller.role {
        RoleType::Admin => true,
        RoleType::DomainAdmin | RoleType::ResourceAdmin => t
            .domain_path
            .as_deref()
            .is_some_and(|p| t.account_id.is_some() && in_subtree(p, &caller.domain_path)),
        RoleType::User => t.account_id == Some(caller.account_id.0),
    }
}

/// May the caller change or delete the template? System templates belong to root admins.
fn check_owner(caller: &Caller, t: &Template) -> Result<(), Error> {
    let ok = match caller.role {
        RoleType::Admin => true,
        RoleType::DomainAdmin | RoleType::ResourceAdmin => {
            t.account_id.is_some()
                && t.domain_path
                    .as_deref()
                    .is_some_and(|p| in_subtree(p, &caller.domain_path))
        }
        RoleType::User => t.account_id == Some(caller.account_id.0),
    };
    if ok {
        Ok(())
    } else {
        Err(Error::denied(format!(
            "Account {} does not have permission to operate on template {}",
            caller.account_name, t.uuid
        )))
    }
}

fn canonical(list: &[&'static str], v: &str) -> Option<&'static str> {
    list.iter().copied().find(|k| k.eq_ignore_ascii_case(v.trim()))
}

fn check_template_url(url: &str) -> Result<(), Error> {
    let lower = url.trim().to_ascii_lowercase();
    let rest = ["http://", "https://", "nfs://"]
        .iter()
        .find_map(|s| lower.strip_prefix(s));
    let host_ok = rest.is_some_and(|r| {
        let host = r.split('/').next().unwrap_or_default();
        !host.is_empty() && !r.chars().any(char::is_whitespace)
    });
    if host_ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "The url {url} is not a valid template URL; give an http://, https:// or nfs:// URL the image can be \
             downloaded from"
        )))
    }
}

/// The initial per-zone state of a template: (state, image store, ready at). `None` when a
/// core zone has no image store and the template was registered for that zone explicitly.
async fn initial_state(
    c: &mut Conn,
    zone: &Zone,
    direct_download: bool,
    now: i64,
) -> Result<Option<(TemplateZoneState, Option<i64>, Option<i64>)>, Error> {
    if direct_download {
        return Ok(Some((TemplateZoneState::Bypassed, None, None)));
    }
    if zone.is_edge() {
        return Ok(Some((TemplateZoneState::NoSecondaryStorage, None, None)));
    }
    Ok(storage_db::store_for_zone(&mut *c, zone.id)
        .await?
        .map(|s| (TemplateZoneState::Downloading, Some(s.id), Some(now + DOWNLOAD_MS))))
}

/// A zone was created, or a core zone gained an image store: give every cross-zone template a
/// row there, and start downloads that were waiting for the store. Idempotent; runs inside
/// the caller's transaction.
pub async fn template_zone_added(c: &mut Conn, zone_id: i64, is_edge: bool) -> Result<(), Error> {
    let now = now_ms();
    let store = if is_edge {
        None
    } else {
        storage_db::store_for_zone(&mut *c, zone_id).await?
    };
    for (template_id, dd) in template_db::cross_zone_ids(c).await? {
        let (state, store_id, ready_at) = match (dd, is_edge, &store) {
            (true, _, _) => (TemplateZoneState::Bypassed, None, None),
            (false, true, _) => (TemplateZoneState::NoSecondaryStorage, None, None),
            (false, false, Some(s)) => (TemplateZoneState::Downloading, Some(s.id), Some(now + DOWNLOAD_MS)),
            (false, false, None) => (TemplateZoneState::WaitingForImageStore, None, None),
        };
        template_db::add_zone_row(c, template_id, zone_id, state, store_id, ready_at, now).await?;
    }
    if let Some(s) = store {
        template_db::start_waiting_downloads(c, zone_id, s.id, now, now + DOWNLOAD_MS).await?;
    }
    Ok(())
}

/// A zone is being deleted: its template rows go too (inside the caller's transaction).
pub async fn template_zone_removed(c: &mut Conn, zone_id: i64) -> Result<(), Error> {
    template_db::remove_rows_in_zone(c, zone_id, now_ms()).await?;
    Ok(())
}

/// Why a template can't be deployed from in a zone, if it can't.
fn unusable_reason(t: &TemplateInZone) -> Option<String> {
    let (name, zone) = (&t.template.name, &t.zone.zone_name);
    match t.zone.tz_state {
        TemplateZoneState::Ready | TemplateZoneState::Bypassed => None,
        TemplateZoneState::NoSecondaryStorage => Some(format!(
            "Template {name} can't be used in edge zone {zone}: edge zones have no secondary storage; register the \
             template with directdownload=true"
        )),
        TemplateZoneState::WaitingForImageStore => Some(format!(
            "Template {name} is not downloaded to zone {zone} because the zone has no image store; add one with \
             addImageStore and wait until listTemplates shows isready=true"
        )),
        TemplateZoneState::Downloading => Some(format!(
            "Template {name} is still downloading to zone {zone} ({}%); retry when listTemplates shows isready=true",
            t.zone.tz_download_pct
        )),
    }
}

pub struct TemplateRegister {
    pub name: String,
    pub display_text: Option<String>,
    pub url: String,
    pub format: String,
    pub hypervisor: String,
    pub os_type_uuid: Option<String>,
    /// A zone uuid or `-1` (all zones).
    pub zone: Option<String>,
    pub zones: Vec<String>,
    pub direct_download: bool,
    pub is_routing: bool,
    pub template_type: Option<String>,
    pub template_tag: Option<String>,
    pub checksum: Option<String>,
    pub password_enabled: bool,
    pub sshkey_enabled: bool,
    pub is_public: bool,
    pub is_featured: bool,
    pub is_extractable: bool,
    pub bits: Option<i64>,
    pub requires_hvm: Option<bool>,
    pub dynamically_scalable: bool,
    pub details: BTreeMap<String, String>,
    pub account: Option<String>,
    pub domain_uuid: Option<String>,
    /// `registerIso`: format ISO, no hypervisor.
    pub iso: bool,
    pub bootable: bool,
}

pub struct TemplateList {
    pub filter: String,
    pub scope: ListScope,
    pub id: Option<String>,
    pub ids: Vec<String>,
    pub name: Option<String>,
    pub keyword: Option<String>,
    pub zone_uuid: Option<String>,
    pub hypervisor: Option<String>,
    pub is_ready: Option<bool>,
    pub template_type: Option<String>,
    pub os_category_uuid: Option<String>,
    pub show_unique: bool,
    /// `tags[N].key/value`: templates having any of these tags.
    pub tags: Vec<ferrostack_db::tag::TagMatch>,
    /// `listIsos` (with its `bootable` and `ispublic` filters) instead of `listTemplates`.
    pub isos: bool,
    pub bootable: Option<bool>,
    pub is_public: Option<bool>,
    pub page: Page,
}

impl App {
    /// Resolve the template's targets: `(zones, cross-zone)`.
    async fn template_targets(&self, c: &mut Conn, p: &TemplateRegister) -> Result<(Vec<Zone>, bool), Error> {
        let all_zones = match (&p.zone, p.zones.is_empty()) {
            (Some(_), false) => {
                return Err(Error::invalid("Give either zoneid or zoneids, not both"));
            }
            (None, true) => {
                return Err(Error::invalid(
                    "Give zoneid (a zone id, or -1 to register the template in all zones) or zoneids",
                ));
            }
            (Some(z), true) => z.trim() == "-1",
            (None, false) => {
                if p.zones.iter().any(|z| z.trim() == "-1") && p.zones.len() > 1 {
                    return Err(Error::invalid(
                        "zoneids=-1 means all zones; don't combine it with other zone ids",
                    ));
                }
                p.zones[0].trim() == "-1"
            }
        };
        if all_zones {
            let (_, zones) = zone_db::list(c, &ZoneFilter::default(), Page::ALL).await?;
            if zones.is_empty() {
                return Err(Error::invalid(
                    "No zone exists yet; create a zone (createZone) before registering templates",
                ));
            }
            return Ok((zones, true));
        }
        let (param, uuids) = match &p.zone {
            Some(z) => ("zoneid", vec![z.clone()]),
            None => ("zoneids", p.zones.clone()),
        };
        let mut zones: Vec<Zone> = Vec::new();
        for u in uuids {
            let z = crate::storage::zone_for(c, param, u.trim()).await?;
            if !zones.iter().any(|x| x.id == z.id) {
                zones.push(z);
            }
        }
        Ok((zones, false))
    }

    /// The owner of a new template: the caller, or (admins) `account` in `domainid`.
    async fn template_owner(&self, c: &mut Conn, caller: &Caller, p: &TemplateRegister) -> Result<(i64, i64), Error> {
        let Some(name) = &p.account else {
            return Ok((caller.account_id.0, caller.domain_id.0));
        };
        let domain = match &p.domain_uuid {
            Some(u) => self.domain_for(c, caller, "domainid", u).await?.id(),
            None => caller.domain_id,
        };
        let a = account_db::by_name(&mut *c, domain, name)
            .await?
            .ok_or_else(|| Error::invalid(format!("Unable to find account {name} in the given domain")))?;
        check_account(caller, &a)?;
        Ok((a.id, a.domain_id))
    }

    /// `registerTemplate`: one answer item per target zone.
    pub async fn template_register(&self, caller: &Caller, p: TemplateRegister) -> Result<Vec<TemplateInZone>, Error> {
        let name = p.name.trim().to_string();
        if name.is_empty() {
            return Err(Error::invalid("The template name can't be empty"));
        }
        check_template_url(&p.url)?;
        let hypervisor = if p.iso {
            "None"
        } else {
            canonical(SUPPORTED_HYPERVISORS, &p.hypervisor).ok_or_else(|| {
                Error::invalid(format!(
                    "Hypervisor {} is not supported for templates; use one of: {}",
                    p.hypervisor,
                    SUPPORTED_HYPERVISORS.join(", ")
                ))
            })?
        };
        let format = if p.iso {
            "ISO"
        } else {
            canonical(FORMATS, &p.format).ok_or_else(|| {
                Error::invalid(format!(
                    "Invalid format {}; use one of {}",
                    p.format,
                    FORMATS.join(", ")
                ))
            })?
        };
        if format == "ISO" && !p.iso {
            return Err(Error::invalid(
                "Register ISO images with registerIso, not registerTemplate",
            ));
        }
        if p.direct_download && !matches!(hypervisor, "KVM" | "Simulator" | "None") {
            return Err(Error::invalid(
                "Parameter directdownload is only allowed for KVM (and Simulator) templates",
            ));
        }
        let template_type = match (&p.template_type, p.is_routing) {
            (Some(t), _) => match t.trim().to_ascii_uppercase().as_str() {
                "USER" if p.is_routing => "ROUTING",
                "USER" => "USER",
                "SYSTEM" => "SYSTEM",
                "ROUTING" => "ROUTING",
                _ => {
                    return Err(Error::invalid(format!(
                        "Invalid templatetype {t}; use USER, ROUTING or SYSTEM"
                    )))
                }
            },
            (None, true) => "ROUTING",
            (None, false) => "USER",
        };
        if template_type != "USER" && !caller.is_root_admin() {
            return Err(Error::denied(format!(
                "Only root admins can register {template_type} templates"
            )));
        }
        if p.is_featured && !caller.is_root_admin() {
            return Err(Error::denied("Only root admins can register featured templates"));
        }
        let bits = p.bits.unwrap_or(64);
        if bits != 32 && bits != 64 {
            return Err(Error::invalid(format!("Invalid bits {bits}; use 32 or 64")));
        }
        // A non-bootable ISO needs no guest OS (CloudStack gives it "None"; ours is "Other").
        let what = if p.iso { "ISO" } else { "template" };
        if p.os_type_uuid.is_none() && (!p.iso || p.bootable) {
            return Err(Error::invalid(format!(
                "Give ostypeid, the guest OS of the {what} (see listOsTypes, e.g. 'Other Linux (64-bit)')"
            )));
        }
        if p.account.is_some() && caller.role == RoleType::User {
            return Err(Error::denied("Only admins can register templates for another account"));
        }
        let details = serde_json::to_string(&p.details).map_err(Error::internal)?;
        let mut tx = self.db.begin().await?;
        let os = match &p.os_type_uuid {
            Some(os_uuid) => template_db::os_by_uuid(&mut *tx, os_uuid)
                .await?
                .ok_or_else(|| Error::unknown_entity("ostypeid", os_uuid))?,
            None => template_db::os_by_display_name(&mut *tx, "other (64-bit)")
                .await?
                .ok_or_else(|| Error::internal("guest OS 'Other (64-bit)' missing from the catalogue"))?,
        };
        let (account_id, domain_id) = self.template_owner(&mut tx, caller, &p).await?;
        let (zones, cross_zones) = self.template_targets(&mut tx, &p).await?;
        let now = now_ms();
        let mut states = Vec::with_capacity(zones.len());
        for z in &zones {
            let st = initial_state(&mut tx, z, p.direct_download, now).await?;
            let st = match (st, cross_zones) {
                (Some(st), _) => st,
                (None, true) => (TemplateZoneState::WaitingForImageStore, None, None),
                (None, false) => {
                    return Err(Error::invalid(format!(
                        "Zone {} has no image store (secondary storage) to download the template to; add one with \
                         addImageStore first, or register the template with directdownload=true",
                        z.name
                    )))
                }
            };
            states.push((z, st));
        }
        let uuid = new_uuid();
        let id = template_db::insert(
            &mut tx,
            template_db::NewTemplate {
                uuid: &uuid,
                name: &name,
                display_text: p
                    .display_text
                    .as_deref()
                    .map(str::trim)
                    .filter(|d| !d.is_empty())
                    .unwrap_or(&name),
                template_type,
                format,
                hypervisor,
                url: p.url.trim(),
                checksum: p.checksum.as_deref(),
                guest_os_id: os.id,
                account_id: Some(account_id),
                domain_id: Some(domain_id),
                is_public: p.is_public,
                is_featured: p.is_featured,
                is_extractable: p.is_extractable,
                password_enabled: p.password_enabled,
                sshkey_enabled: p.sshkey_enabled,
                requires_hvm: p.requires_hvm.unwrap_or(true),
                dynamically_scalable: p.dynamically_scalable,
                direct_download: p.direct_download,
                cross_zones,
                bootable: p.bootable,
                bits,
                template_tag: p.template_tag.as_deref(),
                details: &details,
                size: SIMULATED_SIZE,
                now,
            },
        )
        .await?;
        for (z, (state, store, ready_at)) in states {
            template_db::add_zone_row(&mut tx, id, z.id, state, store, ready_at, now).await?;
        }
        let rows = template_db::zone_rows(&mut tx, id).await?;
        let t = &rows
            .first()
            .ok_or_else(|| Error::internal("template has no zone rows"))?
            .template;
        let targets = if cross_zones {
            "all zones".to_string()
        } else {
            format!("{} zone(s)", rows.len())
        };
        let (event, what) = if p.iso {
            (EventType::IsoCreate, "ISO")
        } else {
            (EventType::TemplateCreate, "template")
        };
        self.event_done(
            &mut tx,
            caller,
            event,
            format!("Registered {what} {} ({hypervisor}, {format}) in {targets}", t.name),
            Some(&resource(t)),
        )
        .await?;
        for r in rows
            .iter()
            .filter(|r| r.zone.tz_state == TemplateZoneState::Downloading)
        {
            self.event_done(
                &mut tx,
                caller,
                EventType::TemplateDownloadStart,
                format!(
                    "Downloading template {} to the image store of zone {}",
                    t.name, r.zone.zone_name
                ),
                Some(&resource(t)),
            )
            .await?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(rows)
    }

    /// `listTemplates`.
    pub async fn template_list(&self, caller: &Caller, p: TemplateList) -> Result<(i64, Vec<TemplateInZone>), Error> {
        #[derive(PartialEq)]
        enum F {
            Featured,
            Own,
            OwnExecutable,
            SharedExecutable,
            Executable,
            Community,
            All,
        }
        let param = if p.isos { "isofilter" } else { "templatefilter" };
        let filter = match p.filter.trim().to_ascii_lowercase().as_str() {
            "featured" => F::Featured,
            "self" => F::Own,
            "selfexecutable" => F::OwnExecutable,
            "sharedexecutable" => F::SharedExecutable,
            "executable" => F::Executable,
            "community" => F::Community,
            "all" => F::All,
            _ => {
                return Err(Error::invalid(format!(
                    "Invalid {param} {}; use one of featured, self, selfexecutable, sharedexecutable, executable, \
                     community, all",
                    p.filter
                )))
            }
        };
        if filter == F::All && caller.role == RoleType::User {
            return Err(Error::invalid(format!(
                "{param}=all is only for administrators; use executable, self or featured"
            )));
        }
        let mut c = self.db.conn().await?;
        let mut f = TemplateFilter {
            name: p.name.clone(),
            keyword: p.keyword.clone(),
            hypervisor: p.hypervisor.clone(),
            template_type: p.template_type.clone(),
            only_ready: matches!(
                filter,
                F::Featured | F::OwnExecutable | F::SharedExecutable | F::Community
            ) || p.is_ready == Some(true),
            exclude_system: matches!(filter, F::Featured | F::OwnExecutable),
            unique: p.show_unique,
            tags: p.tags.clone(),
            isos: p.isos,
            bootable: p.bootable,
            is_public: p.is_public,
            ..TemplateFilter::default()
        };
        if let Some(uuid) = &p.zone_uuid {
            f.zone_id = Some(crate::storage::zone_for(&mut c, "zoneid", uuid).await?.id);
        }
        if let Some(uuid) = &p.os_category_uuid {
            let cat = template_db::category_by_uuid(&mut *c, uuid)
                .await?
                .ok_or_else(|| Error::unknown_entity("oscategoryid", uuid))?;
            f.os_category_id = Some(cat.id);
        }
        // The api layer refused ids that never existed; removed ones are simply not listed.
        for u in &p.ids {
            if let Some(t) = template_db::by_uuid(&mut *c, u).await? {
                f.ids.push(t.id);
            }
        }
        if !p.ids.is_empty() && f.ids.is_empty() {
            return Ok((0, Vec::new()));
        }
        let vis = if let Some(uuid) = &p.id {
            let t = template_db::by_uuid(&mut *c, uuid)
                .await?
                .ok_or_else(|| Error::unknown_entity("id", uuid))?;
            check_kind(&t, p.isos)?;
            if !template_visible_to(caller, &t) {
                return Err(Error::denied(format!(
                    "Account {} does not have permission to see template {uuid}",
                    caller.account_name
                )));
            }
            f.id = Some(t.id);
            Visibility::Everything
        } else {
            match filter {
                F::Featured => Visibility::Featured,
                F::Community => Visibility::Community,
                F::SharedExecutable => Visibility::Nothing,
                F::Own | F::OwnExecutable => Visibility::Owned(self.owner_scope(&mut c, caller, &p.scope).await?),
                F::Executable => Visibility::PublicOrOwned(self.owner_scope(&mut c, caller, &p.scope).await?),
                F::All if caller.is_root_admin() => Visibility::Everything,
                F::All => Visibility::PublicOrOwned(OwnerScope::Domains(
                    ferrostack_db::domain::subtree_ids(&mut c, &caller.domain_path).await?,
                )),
            }
        };
        template_db::list(&mut c, &vis, &f, p.page).await
    }

    /// `updateTemplate`: answers with the template in its first zone.
    pub async fn template_update(
        &self,
        caller: &Caller,
        uuid: &str,
        mut u: TemplateUpdate,
        os_type_uuid: Option<String>,
        details: Option<BTreeMap<String, String>>,
        iso: bool,
    ) -> Result<(Template, Option<TemplateInZone>), Error> {
        if let Some(n) = &u.name {
            if n.trim().is_empty() {
                return Err(Error::invalid("The template name can't be empty"));
            }
        }
        if let Some(fmt) = &u.format {
            let f = canonical(FORMATS, fmt)
                .ok_or_else(|| Error::invalid(format!("Invalid format {fmt}; use one of {}", FORMATS.join(", "))))?;
            u.format = Some(f.to_string());
        }
        if let Some(t) = &u.template_type {
            let up = t.trim().to_ascii_uppercase();
            if !["USER", "ROUTING", "SYSTEM"].contains(&up.as_str()) {
                return Err(Error::invalid(format!(
                    "Invalid templatetype {t}; use USER, ROUTING or SYSTEM"
                )));
            }
            if !caller.is_root_admin() {
                return Err(Error::denied("Only root admins can change the type of a template"));
            }
            u.template_type = Some(up);
        }
        if u.is_featured.is_some() && !caller.is_root_admin() {
            return Err(Error::denied("Only root admins can feature templates"));
        }
        if let Some(d) = details {
            u.details = Some(serde_json::to_string(&d).map_err(Error::internal)?);
        }
        let mut tx = self.db.begin().await?;
        let t = template_db::by_uuid(&mut *tx, uuid)
            .await?
            .ok_or_else(|| Error::unknown_entity("id", uuid))?;
        check_kind(&t, iso)?;
        check_owner(caller, &t)?;
        if let Some(os) = &os_type_uuid {
            let os = template_db::os_by_uuid(&mut *tx, os)
                .await?
                .ok_or_else(|| Error::unknown_entity("ostypeid", os))?;
            u.guest_os_id = Some(os.id);
        }
        u.name = u.name.map(|n| n.trim().to_string());
        template_db::update(&mut tx, t.id, &u).await?;
        let t = template_db::get(&mut *tx, t.id)
            .await?
            .ok_or_else(|| Error::internal("template vanished"))?;
        let first = template_db::zone_rows(&mut tx, t.id).await?.into_iter().next();
        let (event, what) = if iso {
            (EventType::IsoUpdate, "ISO")
        } else {
            (EventType::TemplateUpdate, "template")
        };
        self.event_done(
            &mut tx,
            caller,
            event,
            format!("Updated {what} {}", t.name),
            Some(&resource(&t)),
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok((t, first))
    }

    /// The template and its state in a zone, or an operator-readable reason it can't be used
    /// there (edge zone without direct download, still downloading, not registered there).
    /// Access is the caller's business: see [`template_visible_to`].
    pub async fn template_usable_in_zone(&self, template_uuid: &str, zone_id: i64) -> Result<TemplateInZone, Error> {
        let mut c = self.db.conn().await?;
        let t = template_db::by_uuid(&mut *c, template_uuid)
            .await?
            .ok_or_else(|| Error::unknown_entity("templateid", template_uuid))?;
        let Some(row) = template_db::in_zone(&mut c, t.id, zone_id).await? else {
            let zone = zone_db::get(&mut *c, zone_id)
                .await?
                .map(|z| z.name)
                .unwrap_or_else(|| zone_id.to_string());
            return Err(Error::invalid(format!(
                "Template {} is not available in zone {zone}; register it there (zoneid) or in all zones (zoneid=-1)",
                t.name
            )));
        };
        match unusable_reason(&row) {
            None => Ok(row),
            Some(reason) => Err(Error::invalid(reason)),
        }
    }

    /// Advance simulated template downloads (called every second by the server). Durable:
    /// progress and completion are written to `template_zone`, so a restart resumes them.
    pub async fn template_downloads_tick(&self) -> Result<(), Error> {
        let mut c = self.db.conn().await?;
        let rows = template_db::downloads_in_progress(&mut c, 500).await?;
        drop(c);
        if rows.is_empty() {
            return Ok(());
        }
        let now = now_ms();
        let system = system_caller(self).await?;
        let mut tx = self.db.begin().await?;
        for r in rows {
            let (start, end) = (r.download_started.unwrap_or(now), r.ready_at.unwrap_or(now));
            let done = end <= now;
            let pct = if done {
                100
            } else {
                ((now - start).max(0) * 100 / (end - start).max(1)).min(99)
            };
            let changed = template_db::set_download_progress(&mut tx, r.id, pct, done).await?;
            if changed && done {
                if let (Some(caller), Some(t)) = (&system, template_db::get(&mut *tx, r.template_id).await?) {
                    let zone = zone_db::get(&mut *tx, r.zone_id)
                        .await?
                        .map(|z| z.name)
                        .unwrap_or_default();
                    self.event_done(
                        &mut tx,
                        caller,
                        EventType::TemplateDownloadSuccess,
                        format!("Template {} downloaded to the image store of zone {zone}", t.name),
                        Some(&resource(&t)),
                    )
                    .await?;
                }
            }
        }
        tx.commit().await.map_err(db_err)
    }
}

/// The `system` user, who performs background work (downloads).
async fn system_caller(app: &App) -> Result<Option<Caller>, Error> {
    let Some(root) = ferrostack_db::domain::root(app.db.read()).await? else {
        return Ok(None);
    };
    Ok(ferrostack_db::user::by_username(app.db.read(), root.id(), "system")
        .await?
        .map(|u| Caller::from_user(&u)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_urls() {
        for ok in [
            "http://x/a.qcow2",
            "https://download.example.org/t.vhd",
            "nfs://10.0.0.1/export/t.qcow2",
        ] {
            assert!(check_template_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "not a url",
            "ftp://x/y",
            "http://",
            "http:///x",
            "http://a b/c",
            "/tmp/x.qcow2",
        ] {
            assert!(check_template_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn status_texts() {
        assert_eq!(status_text(TemplateZoneState::Ready, 100), "Download Complete");
        assert_eq!(status_text(TemplateZoneState::Downloading, 40), "40% Downloaded");
        assert!(status_text(TemplateZoneState::NoSecondaryStorage, 0).contains("directdownload=true"));
    }
}
