//! Templates, their per-zone state (`template_zone`: downloading, ready, bypassed…), and the
//! guest OS catalogue. A template owned by no account (`account_id` NULL) is the system's:
//! reads show it as owned by the default `system` account in the ROOT domain.

use ferrostack_types::{Error, Page};
use sqlx::{Any, Executor};

use ferrostack_types::state::TemplateZoneState;

use crate::account::OwnerScope;
use crate::{db_err, is_unique_violation, Conn, Sql};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct GuestOsCategory {
    pub id: i64,
    pub uuid: String,
    pub name: String,
    pub is_featured: i64,
    pub created: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct GuestOs {
    pub id: i64,
    pub uuid: String,
    pub category_id: i64,
    pub name: String,
    pub display_name: String,
    pub is_user_defined: i64,
    pub for_display: i64,
    pub created: i64,
    pub category_uuid: String,
    pub category_name: String,
}

const OS_SELECT: &str = "SELECT o.id, o.uuid, o.category_id, o.name, o.display_name, o.is_user_defined, \
     o.for_display, o.created, g.uuid AS category_uuid, g.name AS category_name FROM guest_os o \
     JOIN guest_os_category g ON g.id = o.category_id";

pub async fn insert_category(c: &mut Conn, uuid: &str, name: &str, featured: bool, now: i64) -> Result<i64, Error> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO guest_os_category (uuid, name, is_featured, created) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(uuid)
    .bind(name)
    .bind(i64::from(featured))
    .bind(now)
    .fetch_one(&mut *c)
    .await
    .map_err(db_err)?;
    Ok(id)
}

pub async fn insert_os(c: &mut Conn, uuid: &str, category_id: i64, display_name: &str, now: i64) -> Result<i64, Error> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO guest_os (uuid, category_id, name, display_name, is_user_defined, for_display, created) \
         VALUES ($1, $2, $3, $3, 0, 1, $4) RETURNING id",
    )
    .bind(uuid)
    .bind(category_id)
    .bind(display_name)
    .bind(now)
    .fetch_one(&mut *c)
    .await
    .map_err(db_err)?;
    Ok(id)
}

pub async fn os_by_uuid<'e, E: Executor<'e, Database = Any>>(e: E, uuid: &str) -> Result<Option<GuestOs>, Error> {
    let q = format!("{OS_SELECT} WHERE o.uuid = $1");
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(uuid)
        .fetch_optional(e)
        .await
        .map_err(db_err)
}

pub async fn os_by_display_name<'e, E: Executor<'e, Database = Any>>(
    e: E,
    name: &str,
) -> Result<Option<GuestOs>, Error> {
    let q = format!("{OS_SELECT} WHERE lower(o.display_name) = $1");
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(name.to_lowercase())
        .fetch_optional(e)
        .await
        .map_err(db_err)
}

pub async fn category_by_uuid<'e, E: Executor<'e, Database = Any>>(
    e: E,
    uuid: &str,
) -> Result<Option<GuestOsCategory>, Error> {
    sqlx::query_as("SELECT id, uuid, name, is_featured, created FROM guest_os_category WHERE uuid = $1")
        .bind(uuid)
        .fetch_optional(e)
        .await
        .map_err(db_err)
}

pub async fn count_categories(c: &mut Conn) -> Result<i64, Error> {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM guest_os_category")
        .fetch_one(&mut *c)
        .await
        .map_err(db_err)?;
    Ok(n)
}

#[derive(Debug, Default, Clone)]
pub struct OsFilter {
    pub id: Option<i64>,
    pub category_id: Option<i64>,
    pub description: Option<String>,
    pub keyword: Option<String>,
}

pub async fn list_os(c: &mut Conn, f: &OsFilter, page: Page) -> Result<(i64, Vec<GuestOs>), Error> {
    let mut s = Sql::new("SELECT o.id, COUNT(*) OVER () FROM guest_os o");
    if let Some(id) = f.id {
        s.and("o.id = ").bind_i64(id);
    }
    if let Some(cat) = f.category_id {
        s.and("o.category_id = ").bind_i64(cat);
    }
    if let Some(d) = &f.description {
        s.and_keyword(&["o.display_name"], d);
    }
    if let Some(k) = &f.keyword {
        s.and_keyword(&["o.display_name"], k);
    }
    s.push(" ORDER BY o.id").page(page);
    let (total, ids) = crate::sql::page_ids(&mut *c, &s).await?;
    let mut q = Sql::new(OS_SELECT);
    q.and_in_i64("o.id", &ids).push(" ORDER BY o.id");
    Ok((total, q.fetch_all(c).await?))
}

#[derive(Debug, Default, Clone)]
pub struct CategoryFilter {
    pub id: Option<i64>,
    pub name: Option<String>,
    pub featured: Option<bool>,
    pub keyword: Option<String>,
}

pub async fn list_categories(
    c: &mut Conn,
    f: &CategoryFilter,
    page: Page,
) -> Result<(i64, Vec<GuestOsCategory>), Error> {
    let mut s = Sql::new("SELECT g.id, COUNT(*) OVER () FROM guest_os_category g");
    if let Some(id) = f.id {
        s.and("g.id = ").bind_i64(id);
    }
    if let Some(n) = &f.name {
        s.and("lower(g.name) = ").bind_str(n.to_lowercase());
    }
    if let Some(feat) = f.featured {
        s.and("g.is_featured = ").bind_i64(i64::from(feat));
    }
    if let Some(k) = &f.keyword {
        s.and_keyword(&["g.name"], k);
    }
    s.push(" ORDER BY g.id").page(page);
    let (total, ids) = crate::sql::page_ids(&mut *c, &s).await?;
    let mut q = Sql::new("SELECT g.id, g.uuid, g.name, g.is_featured, g.created FROM guest_os_category g");
    q.and_in_i64("g.id", &ids).push(" ORDER BY g.id");
    Ok((total, q.fetch_all(c).await?))
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Template {
    pub id: i64,
    pub uuid: String,
    pub name: String,
    pub display_text: String,
    pub template_type: String,
    pub format: String,
    pub hypervisor: String,
    pub url: String,
    pub checksum: Option<String>,
    pub guest_os_id: i64,
    pub account_id: Option<i64>,
    pub domain_id: Option<i64>,
    pub is_public: i64,
    pub is_featured: i64,
    pub is_extractable: i64,
    pub password_enabled: i64,
    pub sshkey_enabled: i64,
    pub requires_hvm: i64,
    pub dynamically_scalable: i64,
    pub direct_download: i64,
    pub cross_zones: i64,
    pub bootable: i64,
    pub bits: i64,
    pub template_tag: Option<String>,
    pub details: String,
    pub size: i64,
    pub sort_key: i64,
    pub created: i64,
    pub os_uuid: String,
    pub os_name: String,
    pub os_category_uuid: String,
    pub owner_account_id: Option<i64>,
    pub account_uuid: Option<String>,
    pub account_name: Option<String>,
    pub owner_domain_id: Option<i64>,
    pub domain_uuid: Option<String>,
    pub domain_name: Option<String>,
    pub domain_path: Option<String>,
}

impl Template {
    pub fn is_direct_download(&self) -> bool {
        self.direct_download == 1
    }
}

/// A template's state in one zone.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TemplateZone {
    pub tz_id: i64,
    pub tz_zone_id: i64,
    #[sqlx(try_from = "String")]
    pub tz_state: TemplateZoneState,
    pub tz_download_pct: i64,
    pub tz_image_store_id: Option<i64>,
    pub tz_ready_at: Option<i64>,
    pub tz_created: i64,
    pub zone_uuid: String,
    pub zone_name: String,
    pub zone_type: String,
}

impl TemplateZone {
    /// Usable to deploy from in this zone.
    pub fn is_ready(&self) -> bool {
        self.tz_state.usable()
    }
}

/// One template in one zone: the unit `listTemplates` answers with.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TemplateInZone {
    #[sqlx(flatten)]
    pub template: Template,
    #[sqlx(flatten)]
    pub zone: TemplateZone,
}

const TEMPLATE_COLS: &str = "t.id, t.uuid, t.name, t.display_text, t.template_type, t.format, t.hypervisor, t.url, \
     t.checksum, t.guest_os_id, t.account_id, t.domain_id, t.is_public, t.is_featured, t.is_extractable, \
     t.password_enabled, t.sshkey_enabled, t.requires_hvm, t.dynamically_scalable, t.direct_download, t.cross_zones, \
     t.bootable, t.bits, t.template_tag, t.details, t.size, t.sort_key, t.created, o.uuid AS os_uuid, \
     o.display_name AS os_name, g.uuid AS os_category_uuid, a.id AS owner_account_id, a.uuid AS account_uuid, \
     a.name AS account_name, d.id AS owner_domain_id, d.uuid AS domain_uuid, d.name AS domain_name, \
     d.path AS domain_path";

const TEMPLATE_FROM: &str = " FROM vm_template t JOIN guest_os o ON o.id = t.guest_os_id \
     JOIN guest_os_category g ON g.id = o.category_id \
     LEFT JOIN account a ON a.id = COALESCE(t.account_id, \
        (SELECT MIN(sa.id) FROM account sa WHERE sa.is_default = 1 AND sa.name = 'system')) \
     LEFT JOIN domain d ON d.id = COALESCE(t.domain_id, (SELECT MIN(rd.id) FROM domain rd WHERE rd.parent_id IS NULL))";

const TZ_COLS: &str = ", tz.id AS tz_id, tz.zone_id AS tz_zone_id, tz.state AS tz_state, \
     tz.download_pct AS tz_download_pct, tz.image_store_id AS tz_image_store_id, tz.ready_at AS tz_ready_at, \
     tz.created AS tz_created, z.uuid AS zone_uuid, z.name AS zone_name, z.zone_type AS zone_type";

const TZ_JOIN: &str = " JOIN template_zone tz ON tz.template_id = t.id JOIN zone z ON z.id = tz.zone_id";

fn template_select() -> String {
    format!("SELECT {TEMPLATE_COLS}{TEMPLATE_FROM}")
}

fn in_zone_select() -> String {
    format!("SELECT {TEMPLATE_COLS}{TZ_COLS}{TEMPLATE_FROM}{TZ_JOIN}")
}

pub struct NewTemplate<'a> {
    pub uuid: &'a str,
    pub name: &'a str,
    pub display_text: &'a str,
    pub template_type: &'a str,
    pub format: &'a str,
    pub hypervisor: &'a str,
    pub url: &'a str,
    pub checksum: Option<&'a str>,
    pub guest_os_id: i64,
    pub account_id: Option<i64>,
    pub domain_id: Option<i64>,
    pub is_public: bool,
    pub is_featured: bool,
    pub is_extractable: bool,
    pub password_enabled: bool,
    pub sshkey_enabled: bool,
    pub requires_hvm: bool,
    pub dynamically_scalable: bool,
    pub direct_download: bool,
    pub cross_zones: bool,
    pub bootable: bool,
    pub bits: i64,
    pub template_tag: Option<&'a str>,
    pub details: &'a str,
    pub size: i64,
    pub now: i64,
}

pub async fn insert(c: &mut Conn, t: NewTemplate<'_>) -> Result<i64, Error> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO vm_template (uuid, name, display_text, template_type, format, hypervisor, url, checksum, \
         guest_os_id, account_id, domain_id, is_public, is_featured, is_extractable, password_enabled, sshkey_enabled, \
         requires_hvm, dynamically_scalable, direct_download, cross_zones, bootable, bits, template_tag, details, size, \
         sort_key, created) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, \
         $19, $20, $21, $22, $23, $24, $25, 0, $26) RETURNING id",
    )
    .bind(t.uuid)
    .bind(t.name)
    .bind(t.display_text)
    .bind(t.template_type)
    .bind(t.format)
    .bind(t.hypervisor)
    .bind(t.url)
    .bind(t.checksum)
    .bind(t.guest_os_id)
    .bind(t.account_id)
    .bind(t.domain_id)
    .bind(i64::from(t.is_public))
    .bind(i64::from(t.is_featured))
    .bind(i64::from(t.is_extractable))
    .bind(i64::from(t.password_enabled))
    .bind(i64::from(t.sshkey_enabled))
    .bind(i64::from(t.requires_hvm))
    .bind(i64::from(t.dynamically_scalable))
    .bind(i64::from(t.direct_download))
    .bind(i64::from(t.cross_zones))
    .bind(i64::from(t.bootable))
    .bind(t.bits)
    .bind(t.template_tag)
    .bind(t.details)
    .bind(t.size)
    .bind(t.now)
    .fetch_one(&mut *c)
    .await
    .map_err(db_err)?;
    Ok(id)
}

pub async fn get<'e, E: Executor<'e, Database = Any>>(e: E, id: i64) -> Result<Option<Template>, Error> {
    let q = format!("{} WHERE t.id = $1 AND t.removed IS NULL", template_select());
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(id)
        .fetch_optional(e)
        .await
        .map_err(db_err)
}

pub async fn by_uuid<'e, E: Executor<'e, Database = Any>>(e: E, uuid: &str) -> Result<Option<Template>, Error> {
    let q = format!("{} WHERE t.uuid = $1 AND t.removed IS NULL", template_select());
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(uuid)
        .fetch_optional(e)
        .await
        .map_err(db_err)
}

/// The live system template of a hypervisor, by type (`SYSTEM` or `ROUTING`), newest first.
pub async fn newest_of_type<'e, E: Executor<'e, Database = Any>>(
    e: E,
    template_type: &str,
    hypervisor: &str,
) -> Result<Option<Template>, Error> {
    let q = format!(
        "{} WHERE t.template_type = $1 AND lower(t.hypervisor) = $2 AND t.removed IS NULL ORDER BY t.id DESC LIMIT 1",
        template_select()
    );
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(template_type)
        .bind(hypervisor.to_lowercase())
        .fetch_optional(e)
        .await
        .map_err(db_err)
}

/// Add the template's row for a zone unless it has one.
pub async fn add_zone_row(
    c: &mut Conn,
    template_id: i64,
    zone_id: i64,
    state: TemplateZoneState,
    image_store_id: Option<i64>,
    ready_at: Option<i64>,
    now: i64,
) -> Result<(), Error> {
    let r = sqlx::query(
        "INSERT INTO template_zone (template_id, zone_id, image_store_id, state, download_pct, download_started, \
         ready_at, created) SELECT $1, $2, $3, $4, 0, $5, $6, $7 WHERE NOT EXISTS \
         (SELECT 1 FROM template_zone x WHERE x.template_id = $1 AND x.zone_id = $2 AND x.removed IS NULL)",
    )
    .bind(template_id)
    .bind(zone_id)
    .bind(image_store_id)
    .bind(state.as_str())
    .bind(image_store_id.map(|_| now))
    .bind(ready_at)
    .bind(now)
    .execute(&mut *c)
    .await;
    match r {
        Ok(_) => Ok(()),
        // A concurrent insert of the same row: it exists, which is what we wanted.
        Err(e) if is_unique_violation(&e) => Ok(()),
        Err(e) => Err(db_err(e)),
    }
}

/// Every live zone row of a template.
pub async fn zone_rows(c: &mut Conn, template_id: i64) -> Result<Vec<TemplateInZone>, Error> {
    let mut q = Sql::new(in_zone_select());
    q.and("t.id = ").bind_i64(template_id);
    q.and("tz.removed IS NULL AND z.removed IS NULL")
        .push(" ORDER BY tz.zone_id");
    q.fetch_all(c).await
}

/// The template's row in one zone.
pub async fn in_zone(c: &mut Conn, template_id: i64, zone_id: i64) -> Result<Option<TemplateInZone>, Error> {
    let mut q = Sql::new(in_zone_select());
    q.and("t.id = ").bind_i64(template_id);
    q.and("tz.zone_id = ").bind_i64(zone_id);
    q.and("tz.removed IS NULL AND t.removed IS NULL AND z.removed IS NULL");
    Ok(q.fetch_all::<TemplateInZone>(c).await?.into_iter().next())
}

/// Which templates a list may show (from `templatefilter` and the caller).
#[derive(Debug, Clone)]
pub enum Visibility {
    Everything,
    Nothing,
    /// Public and featured.
    Featured,
    /// Public and not featured.
    Community,
    /// Owned by accounts in the scope.
    Owned(OwnerScope),
    /// Public, or owned by accounts in the scope.
    PublicOrOwned(OwnerScope),
}

#[derive(Debug, Default, Clone)]
pub struct TemplateFilter {
    pub id: Option<i64>,
    pub ids: Vec<i64>,
    pub name: Option<String>,
    pub keyword: Option<String>,
    pub zone_id: Option<i64>,
    pub hypervisor: Option<String>,
    pub template_type: Option<String>,
    pub os_category_id: Option<i64>,
    pub only_ready: bool,
    pub exclude_system: bool,
    /// One item per template instead of one per template and zone.
    pub unique: bool,
    /// `tags[N].key/value`: templates having any of these tags.
    pub tags: Vec<crate::tag::TagMatch>,
    /// ISOs (format ISO, `listIsos`) instead of templates (`listTemplates`).
    pub isos: bool,
    pub bootable: Option<bool>,
    pub is_public: Option<bool>,
}

fn owner_condition(s: &mut Sql, scope: &OwnerScope, public_too: bool) {
    let public = if public_too { "t.is_public = 1 OR " } else { "" };
    match scope {
        OwnerScope::All => {}
        OwnerScope::Account(a) => {
            s.and("(").push(public).push("t.account_id = ").bind_i64(a.0).push(")");
        }
        OwnerScope::Domains(ids) if ids.is_empty() => {
            s.and("(").push(public).push("1 = 0)");
        }
        OwnerScope::Domains(ids) => {
            s.and("(").push(public).push("t.domain_id IN (");
            for (i, id) in ids.iter().enumerate() {
                if i > 0 {
                    s.push(", ");
                }
                s.bind_i64(*id);
            }
            s.push("))");
        }
    }
}

pub async fn list(
    c: &mut Conn,
    vis: &Visibility,
    f: &TemplateFilter,
    page: Page,
) -> Result<(i64, Vec<TemplateInZone>), Error> {
    let mut s = Sql::new(if f.unique {
        "SELECT MIN(tz.id), COUNT(*) OVER ()"
    } else {
        "SELECT tz.id, COUNT(*) OVER ()"
    });
    s.push(" FROM template_zone tz JOIN vm_template t ON t.id = tz.template_id JOIN zone z ON z.id = tz.zone_id");
    s.and("tz.removed IS NULL AND t.removed IS NULL AND z.removed IS NULL");
    match vis {
        Visibility::Everything => {}
        Visibility::Nothing => {
            s.and("1 = 0");
        }
        Visibility::Featured => {
            s.and("t.is_public = 1 AND t.is_featured = 1");
        }
        Visibility::Community => {
            s.and("t.is_public = 1 AND t.is_featured = 0");
        }
        Visibility::Owned(scope) => owner_condition(&mut s, scope, false),
        Visibility::PublicOrOwned(scope) => owner_condition(&mut s, scope, true),
    }
    if let Some(id) = f.id {
        s.and("t.id = ").bind_i64(id);
    }
    if !f.ids.is_empty() {
        s.and_in_i64("t.id", &f.ids);
    }
    if let Some(n) = &f.name {
        s.and("lower(t.name) = ").bind_str(n.to_lowercase());
    }
    if let Some(k) = &f.keyword {
        s.and_keyword(&["t.name", "t.display_text"], k);
    }
    if let Some(z) = f.zone_id {
        s.and("tz.zone_id = ").bind_i64(z);
    }
    if let Some(h) = &f.hypervisor {
        s.and("lower(t.hypervisor) = ").bind_str(h.to_lowercase());
    }
    if let Some(tt) = &f.template_type {
        s.and("t.template_type = ").bind_str(tt.to_uppercase());
    }
    if let Some(cat) = f.os_category_id {
        s.and("t.guest_os_id IN (SELECT go.id FROM guest_os go WHERE go.category_id = ")
            .bind_i64(cat)
            .push(")");
    }
    if f.only_ready {
        s.and("tz.state IN ('Ready', 'Bypassed')");
    }
    if f.exclude_system {
        s.and("t.template_type <> 'SYSTEM'");
    }
    s.and(if f.isos {
        "t.format = 'ISO'"
    } else {
        "t.format <> 'ISO'"
    });
    if let Some(b) = f.bootable {
        s.and("t.bootable = ").bind_i64(i64::from(b));
    }
    if let Some(p) = f.is_public {
        s.and("t.is_public = ").bind_i64(i64::from(p));
    }
    let tagged = if f.isos {
        crate::tag::ResourceType::Iso
    } else {
        crate::tag::ResourceType::Template
    };
    crate::tag::and_tags(&mut s, tagged, "t.id", &f.tags);
    if f.unique {
        s.push(" GROUP BY tz.template_id ORDER BY tz.template_id");
    } else {
        s.push(" ORDER BY t.sort_key, t.id, tz.zone_id");
    }
    s.page(page);
    let (total, ids) = crate::sql::page_ids(&mut *c, &s).await?;
    let mut q = Sql::new(in_zone_select());
    q.and_in_i64("tz.id", &ids)
        .push(" ORDER BY t.sort_key, t.id, tz.zone_id");
    Ok((total, q.fetch_all(c).await?))
}

/// What `updateTemplate` may change; `None` leaves a column as it is.
#[derive(Debug, Default, Clone)]
pub struct TemplateUpdate {
    pub name: Option<String>,
    pub display_text: Option<String>,
    pub format: Option<String>,
    pub guest_os_id: Option<i64>,
    pub password_enabled: Option<bool>,
    pub sshkey_enabled: Option<bool>,
    pub requires_hvm: Option<bool>,
    pub dynamically_scalable: Option<bool>,
    pub bootable: Option<bool>,
    pub is_public: Option<bool>,
    pub is_featured: Option<bool>,
    pub is_extractable: Option<bool>,
    pub sort_key: Option<i64>,
    pub template_type: Option<String>,
    pub template_tag: Option<String>,
    pub details: Option<String>,
}

pub async fn update(c: &mut Conn, id: i64, u: &TemplateUpdate) -> Result<(), Error> {
    let mut s = Sql::new("UPDATE vm_template SET id = id");
    for (col, v) in [
        ("name", &u.name),
        ("display_text", &u.display_text),
        ("format", &u.format),
        ("template_type", &u.template_type),
        ("template_tag", &u.template_tag),
        ("details", &u.details),
    ] {
        if let Some(v) = v {
            s.push(", ").push(col).push(" = ").bind_str(v.clone());
        }
    }
    for (col, v) in [
        ("password_enabled", u.password_enabled),
        ("sshkey_enabled", u.sshkey_enabled),
        ("requires_hvm", u.requires_hvm),
        ("dynamically_scalable", u.dynamically_scalable),
        ("bootable", u.bootable),
        ("is_public", u.is_public),
        ("is_featured", u.is_featured),
        ("is_extractable", u.is_extractable),
    ] {
        if let Some(v) = v {
            s.push(", ").push(col).push(" = ").bind_i64(i64::from(v));
        }
    }
    for (col, v) in [("guest_os_id", u.guest_os_id), ("sort_key", u.sort_key)] {
        if let Some(v) = v {
            s.push(", ").push(col).push(" = ").bind_i64(v);
        }
    }
    s.push(" WHERE id = ").bind_i64(id);
    s.query().execute(&mut *c).await.map_err(db_err)?;
    Ok(())
}

/// Remove the template's row in one zone (or in every zone with `None`).
pub async fn remove_zone_rows(c: &mut Conn, template_id: i64, zone_id: Option<i64>, now: i64) -> Result<u64, Error> {
    let mut s = Sql::new("UPDATE template_zone SET removed = ");
    s.bind_i64(now);
    s.and("template_id = ").bind_i64(template_id);
    s.and("removed IS NULL");
    if let Some(z) = zone_id {
        s.and("zone_id = ").bind_i64(z);
    }
    let r = s.query().execute(&mut *c).await.map_err(db_err)?;
    Ok(r.rows_affected())
}

pub async fn count_zone_rows(c: &mut Conn, template_id: i64) -> Result<i64, Error> {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM template_zone WHERE template_id = $1 AND removed IS NULL")
        .bind(template_id)
        .fetch_one(&mut *c)
        .await
        .map_err(db_err)?;
    Ok(n)
}

pub async fn mark_removed(c: &mut Conn, id: i64, now: i64) -> Result<(), Error> {
    remove_zone_rows(c, id, None, now).await?;
    sqlx::query("UPDATE vm_template SET removed = $1 WHERE id = $2 AND removed IS NULL")
        .bind(now)
        .bind(id)
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Live cross-zone templates: (id, direct download).
pub async fn cross_zone_ids(c: &mut Conn) -> Result<Vec<(i64, bool)>, Error> {
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT id, direct_download FROM vm_template WHERE cross_zones = 1 AND removed IS NULL ORDER BY id",
    )
    .fetch_all(&mut *c)
    .await
    .map_err(db_err)?;
    Ok(rows.into_iter().map(|(id, dd)| (id, dd == 1)).collect())
}

/// Start downloads waiting for an image store in the zone; returns how many started.
pub async fn start_waiting_downloads(
    c: &mut Conn,
    zone_id: i64,
    image_store_id: i64,
    now: i64,
    ready_at: i64,
) -> Result<u64, Error> {
    let r = sqlx::query(
        "UPDATE template_zone SET state = $1, image_store_id = $2, download_started = $3, ready_at = $4, \
         download_pct = 0 WHERE zone_id = $5 AND state = $6 AND removed IS NULL",
    )
    .bind(TemplateZoneState::Downloading.as_str())
    .bind(image_store_id)
    .bind(now)
    .bind(ready_at)
    .bind(zone_id)
    .bind(TemplateZoneState::WaitingForImageStore.as_str())
    .execute(&mut *c)
    .await
    .map_err(db_err)?;
    Ok(r.rows_affected())
}

/// A download in progress: (row id, template id, zone id, started, ready at).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Download {
    pub id: i64,
    pub template_id: i64,
    pub zone_id: i64,
    pub download_started: Option<i64>,
    pub ready_at: Option<i64>,
}

pub async fn downloads_in_progress(c: &mut Conn, limit: i64) -> Result<Vec<Download>, Error> {
    sqlx::query_as(
        "SELECT id, template_id, zone_id, download_started, ready_at FROM template_zone \
         WHERE state = $1 AND removed IS NULL ORDER BY id LIMIT $2",
    )
    .bind(TemplateZoneState::Downloading.as_str())
    .bind(limit)
    .fetch_all(&mut *c)
    .await
    .map_err(db_err)
}

/// Record progress; moving to `Ready` only from `Downloading` (a concurrent delete wins).
pub async fn set_download_progress(c: &mut Conn, row_id: i64, pct: i64, done: bool) -> Result<bool, Error> {
    let state = if done {
        TemplateZoneState::Ready
    } else {
        TemplateZoneState::Downloading
    };
    let r = sqlx::query(
        "UPDATE template_zone SET download_pct = $1, state = $2 WHERE id = $3 AND state = $4 AND removed IS NULL",
    )
    .bind(pct)
    .bind(state.as_str())
    .bind(row_id)
    .bind(TemplateZoneState::Downloading.as_str())
    .execute(&mut *c)
    .await
    .map_err(db_err)?;
    Ok(r.rows_affected() == 1)
}

/// A zone was removed: its template rows go with it.
pub async fn remove_rows_in_zone(c: &mut Conn, zone_id: i64, now: i64) -> Result<u64, Error> {
    let r = sqlx::query("UPDATE template_zone SET removed = $1 WHERE zone_id = $2 AND removed IS NULL")
        .bind(now)
        .bind(zone_id)
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
    Ok(r.rows_affected())
}

/// Live templates stored in an image store (dependency check before removing the store).
pub async fn count_in_store(c: &mut Conn, image_store_id: i64) -> Result<i64, Error> {
    let (n,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM template_zone tz JOIN vm_template t ON t.id = tz.template_id \
         WHERE tz.image_store_id = $1 AND tz.removed IS NULL AND t.removed IS NULL",
    )
    .bind(image_store_id)
    .fetch_one(&mut *c)
    .await
    .map_err(db_err)?;
    Ok(n)
}
