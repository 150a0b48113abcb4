//! Resource tags and resource details: key/value pairs on a resource named by its CloudStack
//! resource type and row id, owned by the resource's owner. Lists page on ids and hydrate a
//! page of resources with one query ([`of_resources`], [`details_of`]); list commands filter by
//! tags in SQL ([`and_tags`]); deleting a resource deletes its rows ([`forget`]).

use ferrostack_types::{Error, Page};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::account::OwnerScope;
use crate::{db_err, is_unique_violation, Backend, Conn, Sql};

ferrostack_types::cloudstack_enum! {
    /// The resources that can carry tags or details, spelled as CloudStack's
    /// `ResourceTag.ResourceObjectType` (`SSHKeyPair` and `UserData` are ferrostack's own:
    /// CloudStack has no such types).
    pub enum ResourceType {
        UserVm => "UserVm",
        Template => "Template",
        Iso => "ISO",
        Volume => "Volume",
        Network => "Network",
        Nic => "Nic",
        PublicIpAddress => "PublicIpAddress",
        Account => "Account",
        User => "User",
        Zone => "Zone",
        ServiceOffering => "ServiceOffering",
        DiskOffering => "DiskOffering",
        NetworkOffering => "NetworkOffering",
        SshKeyPair => "SSHKeyPair",
        UserData => "UserData",
        Snapshot => "Snapshot",
    }
}

impl ResourceType {
    /// Can it be tagged (`createTags`)? CloudStack's `resourceTagsSupport`, plus ferrostack's
    /// SSH key pairs and user data.
    pub const fn taggable(self) -> bool {
        match self {
            ResourceType::UserVm
            | ResourceType::Template
            | ResourceType::Iso
            | ResourceType::Volume
            | ResourceType::Network
            | ResourceType::PublicIpAddress
            | ResourceType::Account
            | ResourceType::User
            | ResourceType::SshKeyPair
            | ResourceType::UserData
            | ResourceType::Snapshot => true,
            ResourceType::Nic
            | ResourceType::Zone
            | ResourceType::ServiceOffering
            | ResourceType::DiskOffering
            | ResourceType::NetworkOffering => false,
        }
    }

    /// Can it carry details (`addResourceDetail`)? CloudStack's `resourceMetadataSupport`,
    /// except templates, whose details live in the template (`registerTemplate`/`updateTemplate`).
    pub const fn has_details(self) -> bool {
        match self {
            ResourceType::UserVm
            | ResourceType::Volume
            | ResourceType::Network
            | ResourceType::Nic
            | ResourceType::PublicIpAddress
            | ResourceType::User
            | ResourceType::Zone
            | ResourceType::ServiceOffering
            | ResourceType::DiskOffering
            | ResourceType::NetworkOffering => true,
            ResourceType::Template
            | ResourceType::Iso
            | ResourceType::Account
            | ResourceType::SshKeyPair
            | ResourceType::UserData
            | ResourceType::Snapshot => false,
        }
    }

    /// The live resource by uuid: `id, uuid, account_id, domain_id, shared` (`shared` = 1 when
    /// others than its owner may see it: public templates, domain-wide networks, and the
    /// infrastructure nobody owns).
    const fn lookup(self) -> &'static str {
        match self {
            ResourceType::UserVm => {
                "SELECT x.id, x.uuid, x.account_id, x.domain_id, CAST(0 AS BIGINT) AS shared FROM vm_instance x \
                 WHERE x.uuid = $1 AND x.removed IS NULL AND x.vm_type = 'User'"
            }
            ResourceType::Template => {
                "SELECT x.id, x.uuid, x.account_id, x.domain_id, CAST(x.is_public AS BIGINT) AS shared FROM vm_template x \
                 WHERE x.uuid = $1 AND x.removed IS NULL AND x.format <> 'ISO'"
            }
            ResourceType::Iso => {
                "SELECT x.id, x.uuid, x.account_id, x.domain_id, CAST(x.is_public AS BIGINT) AS shared FROM vm_template x \
                 WHERE x.uuid = $1 AND x.removed IS NULL AND x.format = 'ISO'"
            }
            ResourceType::Volume => {
                "SELECT x.id, x.uuid, x.account_id, x.domain_id, CAST(0 AS BIGINT) AS shared FROM volume x \
                 WHERE x.uuid = $1 AND x.removed IS NULL"
            }
            ResourceType::Network => {
                "SELECT x.id, x.uuid, x.account_id, x.domain_id, \
                 CAST(CASE WHEN x.acl_type = 'Domain' THEN 1 ELSE 0 END AS BIGINT) AS shared FROM network x \
                 WHERE x.uuid = $1 AND x.removed IS NULL"
            }
            ResourceType::Nic => {
                "SELECT x.id, x.uuid, v.account_id, v.domain_id, CAST(0 AS BIGINT) AS shared FROM nic x \
                 JOIN vm_instance v ON v.id = x.vm_id WHERE x.uuid = $1 AND x.removed IS NULL"
            }
            ResourceType::PublicIpAddress => {
                "SELECT x.id, x.uuid, x.account_id, x.domain_id, CAST(0 AS BIGINT) AS shared FROM public_ip x \
                 WHERE x.uuid = $1 AND x.removed IS NULL"
            }
            ResourceType::Account => {
                "SELECT x.id, x.uuid, x.id AS account_id, x.domain_id, CAST(0 AS BIGINT) AS shared FROM account x \
                 WHERE x.uuid = $1 AND x.removed IS NULL"
            }
            ResourceType::User => {
                "SELECT x.id, x.uuid, x.account_id, x.domain_id, CAST(0 AS BIGINT) AS shared FROM app_user x \
                 WHERE x.uuid = $1 AND x.removed IS NULL"
            }
            ResourceType::Zone => {
                "SELECT x.id, x.uuid, CAST(NULL AS BIGINT) AS account_id, CAST(NULL AS BIGINT) AS domain_id, \
                 CAST(1 AS BIGINT) AS shared FROM zone x WHERE x.uuid = $1 AND x.removed IS NULL"
            }
            ResourceType::ServiceOffering => {
                "SELECT x.id, x.uuid, CAST(NULL AS BIGINT) AS account_id, CAST(NULL AS BIGINT) AS domain_id, \
                 CAST(1 AS BIGINT) AS shared FROM service_offering x WHERE x.uuid = $1 AND x.removed IS NULL"
            }
            ResourceType::DiskOffering => {
                "SELECT x.id, x.uuid, CAST(NULL AS BIGINT) AS account_id, CAST(NULL AS BIGINT) AS domain_id, \
                 CAST(1 AS BIGINT) AS shared FROM disk_offering x WHERE x.uuid = $1 AND x.removed IS NULL"
            }
            ResourceType::NetworkOffering => {
                "SELECT x.id, x.uuid, CAST(NULL AS BIGINT) AS account_id, CAST(NULL AS BIGINT) AS domain_id, \
                 CAST(1 AS BIGINT) AS shared FROM network_offering x WHERE x.uuid = $1 AND x.removed IS NULL"
            }
            ResourceType::SshKeyPair => {
                "SELECT x.id, x.uuid, x.account_id, x.domain_id, CAST(0 AS BIGINT) AS shared FROM ssh_keypair x \
                 WHERE x.uuid = $1"
            }
            ResourceType::UserData => {
                "SELECT x.id, x.uuid, x.account_id, x.domain_id, CAST(0 AS BIGINT) AS shared FROM user_data x \
                 WHERE x.uuid = $1 AND x.removed IS NULL"
            }
            ResourceType::Snapshot => {
                "SELECT x.id, x.uuid, x.account_id, x.domain_id, CAST(0 AS BIGINT) AS shared FROM snapshot x \
                 WHERE x.uuid = $1 AND x.removed IS NULL"
            }
        }
    }
}

/// A live resource found by uuid, with its owner (`None` for infrastructure nobody owns).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Target {
    pub id: i64,
    pub uuid: String,
    pub account_id: Option<i64>,
    pub domain_id: Option<i64>,
    /// Visible beyond its owner (public template, domain-wide network, infrastructure).
    pub shared: i64,
}

/// The live resource of type `t` with this uuid. In a PostgreSQL write transaction the row is
/// locked until commit (`for_update`), so a concurrent delete of the resource waits for the
/// tags written here and removes them, or wins and this finds nothing.
pub async fn resolve(
    c: &mut Conn,
    backend: Backend,
    t: ResourceType,
    uuid: &str,
    for_update: bool,
) -> Result<Option<Target>, Error> {
    let mut q = t.lookup().to_string();
    if for_update && backend == Backend::Postgres {
        q.push_str(" FOR UPDATE OF x");
    }
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(uuid)
        .fetch_optional(&mut *c)
        .await
        .map_err(db_err)
}

/// The owner of what nobody owns: the `system` account of the ROOT domain (CloudStack's
/// `ACCOUNT_ID_SYSTEM`).
pub async fn system_owner(c: &mut Conn) -> Result<(i64, i64), Error> {
    sqlx::query_as(
        "SELECT a.id, a.domain_id FROM account a JOIN domain d ON d.id = a.domain_id \
         WHERE a.name = 'system' AND d.parent_id IS NULL ORDER BY a.id LIMIT 1",
    )
    .fetch_optional(&mut *c)
    .await
    .map_err(db_err)?
    .ok_or_else(|| Error::internal("the system account is missing"))
}

/// One tag with its owner's names, as the API renders it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Tag {
    pub id: i64,
    pub uuid: String,
    #[sqlx(try_from = "String")]
    pub resource_type: ResourceType,
    pub resource_id: i64,
    pub resource_uuid: String,
    pub tag_key: String,
    pub tag_value: String,
    pub customer: Option<String>,
    pub account_id: i64,
    pub domain_id: i64,
    pub account_name: Option<String>,
    pub domain_uuid: Option<String>,
    pub domain_name: Option<String>,
    pub domain_path: Option<String>,
}

const TAG_SELECT: &str = "SELECT t.id, t.uuid, t.resource_type, t.resource_id, t.resource_uuid, t.tag_key, \
     t.tag_value, t.customer, t.account_id, t.domain_id, a.name AS account_name, d.uuid AS domain_uuid, \
     d.name AS domain_name, d.path AS domain_path \
     FROM resource_tag t LEFT JOIN account a ON a.id = t.account_id LEFT JOIN domain d ON d.id = t.domain_id";

/// A tag to write; its uuid is fixed when the job is submitted, so a repeated step finds it.
pub struct NewTag<'a> {
    pub uuid: &'a str,
    pub resource_type: ResourceType,
    pub target: &'a Target,
    pub key: &'a str,
    pub value: &'a str,
    pub customer: Option<&'a str>,
    pub account_id: i64,
    pub domain_id: i64,
    pub now: i64,
}

/// What [`insert`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inserted {
    Created,
    /// The row with this uuid exists already (a step that runs again).
    AlreadyThere,
    /// The resource has this key already (with this value).
    Duplicate(String),
}

/// The value of a key on a resource, if it has the key (compared without case).
pub async fn value_of(c: &mut Conn, t: ResourceType, resource_id: i64, key: &str) -> Result<Option<String>, Error> {
    let r: Option<(String,)> = sqlx::query_as(
        "SELECT tag_value FROM resource_tag WHERE resource_type = $1 AND resource_id = $2 AND lower(tag_key) = $3",
    )
    .bind(t.as_str())
    .bind(resource_id)
    .bind(key.to_lowercase())
    .fetch_optional(&mut *c)
    .await
    .map_err(db_err)?;
    Ok(r.map(|r| r.0))
}

/// Write a tag unless it is there already.
pub async fn insert(c: &mut Conn, n: &NewTag<'_>) -> Result<Inserted, Error> {
    let mine: Option<(i64,)> = sqlx::query_as("SELECT id FROM resource_tag WHERE uuid = $1")
        .bind(n.uuid)
        .fetch_optional(&mut *c)
        .await
        .map_err(db_err)?;
    if mine.is_some() {
        return Ok(Inserted::AlreadyThere);
    }
    if let Some(v) = value_of(c, n.resource_type, n.target.id, n.key).await? {
        return Ok(Inserted::Duplicate(v));
    }
    let r = sqlx::query(
        "INSERT INTO resource_tag (uuid, resource_type, resource_id, resource_uuid, tag_key, tag_value, customer, \
         account_id, domain_id, created) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(n.uuid)
    .bind(n.resource_type.as_str())
    .bind(n.target.id)
    .bind(&n.target.uuid)
    .bind(n.key)
    .bind(n.value)
    .bind(n.customer)
    .bind(n.account_id)
    .bind(n.domain_id)
    .bind(n.now)
    .execute(&mut *c)
    .await;
    match r {
        Ok(_) => Ok(Inserted::Created),
        // A concurrent writer got there first (PostgreSQL); the transaction is aborted.
        Err(e) if is_unique_violation(&e) => Ok(Inserted::Duplicate(n.value.to_string())),
        Err(e) => Err(db_err(e)),
    }
}

/// Delete tags by uuid (the undo of a create).
pub async fn delete_by_uuids(c: &mut Conn, uuids: &[String]) -> Result<u64, Error> {
    let mut n = 0;
    for u in uuids {
        let r = sqlx::query("DELETE FROM resource_tag WHERE uuid = $1")
            .bind(u)
            .execute(&mut *c)
            .await
            .map_err(db_err)?;
        n += r.rows_affected();
    }
    Ok(n)
}

/// A `deleteTags` selector: a key, and the value it must have (`None`: any value). Both are
/// compared without case, as CloudStack does.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KeySelector {
    pub key: String,
    pub value: Option<String>,
}

/// Delete the tags of these resources that match any selector (every tag when there is
/// none). Returns how many went.
pub async fn delete_matching(
    c: &mut Conn,
    t: ResourceType,
    resource_ids: &[i64],
    selectors: &[KeySelector],
) -> Result<u64, Error> {
    let mut s = Sql::new("DELETE FROM resource_tag");
    s.and("resource_type = ").bind_str(t.as_str());
    s.and_in_i64("resource_id", resource_ids);
    if !selectors.is_empty() {
        s.and("(");
        for (i, k) in selectors.iter().enumerate() {
            if i > 0 {
                s.push(" OR ");
            }
            s.push("(lower(tag_key) = ").bind_str(k.key.to_lowercase());
            if let Some(v) = &k.value {
                s.push(" AND lower(tag_value) = ").bind_str(v.to_lowercase());
            }
            s.push(")");
        }
        s.push(")");
    }
    let r = s.query().execute(&mut *c).await.map_err(db_err)?;
    Ok(r.rows_affected())
}

/// The tags of a page of resources, in one query (by resource, then creation order).
pub async fn of_resources(c: &mut Conn, t: ResourceType, ids: &[i64]) -> Result<Vec<Tag>, Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = Sql::new(TAG_SELECT);
    q.and("t.resource_type = ").bind_str(t.as_str());
    q.and_in_i64("t.resource_id", ids);
    q.push(" ORDER BY t.resource_id, t.id");
    q.fetch_all(c).await
}

/// A `tags[N].key` / `tags[N].value` filter of a list command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagMatch {
    pub key: String,
    pub value: String,
}

/// Keep the rows (id column `id_col`) that have any tag in `tags`, as CloudStack's list
/// commands match `tags[N]` (one indexed sub-select, `resource_tag_match`; no filter when empty).
pub fn and_tags(s: &mut Sql, t: ResourceType, id_col: &str, tags: &[TagMatch]) {
    if tags.is_empty() {
        return;
    }
    s.and(id_col)
        .push(" IN (SELECT rt.resource_id FROM resource_tag rt WHERE rt.resource_type = ")
        .bind_str(t.as_str())
        .push(" AND (");
    for (i, m) in tags.iter().enumerate() {
        s.push(if i == 0 { "(" } else { " OR (" });
        s.push("lower(rt.tag_key) = ")
            .bind_str(m.key.to_lowercase())
            .push(" AND lower(rt.tag_value) = ")
            .bind_str(m.value.to_lowercase())
            .push(")");
    }
    s.push("))");
}

/// `listTags` filters.
#[derive(Debug, Clone, Default)]
pub struct TagFilter {
    pub resource_type: Option<ResourceType>,
    pub resource_uuid: Option<String>,
    pub key: Option<String>,
    pub value: Option<String>,
    pub customer: Option<String>,
    pub keyword: Option<String>,
}

/// `listTags`: tags whose owners are in `scope`, paged on ids.
pub async fn list(c: &mut Conn, scope: &OwnerScope, f: &TagFilter, page: Page) -> Result<(i64, Vec<Tag>), Error> {
    let mut s = Sql::new("SELECT t.id, COUNT(*) OVER () FROM resource_tag t");
    scope.apply(&mut s, "t.account_id", "t.domain_id");
    if let Some(x) = f.resource_type {
        s.and("t.resource_type = ").bind_str(x.as_str());
    }
    if let Some(x) = &f.resource_uuid {
        s.and("t.resource_uuid = ").bind_str(x.as_str());
    }
    if let Some(x) = &f.key {
        s.and("lower(t.tag_key) = ").bind_str(x.to_lowercase());
    }
    if let Some(x) = &f.value {
        s.and("lower(t.tag_value) = ").bind_str(x.to_lowercase());
    }
    if let Some(x) = &f.customer {
        s.and("t.customer = ").bind_str(x.as_str());
    }
    if let Some(k) = &f.keyword {
        s.and_keyword(&["t.tag_key", "t.tag_value"], k);
    }
    s.push(" ORDER BY t.id").page(page);
    let (total, ids) = crate::sql::page_ids(&mut *c, &s).await?;
    let mut q = Sql::new(TAG_SELECT);
    q.and_in_i64("t.id", &ids).push(" ORDER BY t.id");
    Ok((total, q.fetch_all(c).await?))
}

/// One resource detail.
#[derive(Debug, Clone)]
pub struct Detail {
    pub id: i64,
    pub resource_type: ResourceType,
    pub resource_id: i64,
    pub resource_uuid: String,
    pub key: String,
    pub value: String,
    pub display: bool,
}

impl<'r> sqlx::FromRow<'r, AnyRow> for Detail {
    fn from_row(r: &'r AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Detail {
            id: r.try_get("id")?,
            resource_type: crate::enum_col(r, "resource_type")?,
            resource_id: r.try_get("resource_id")?,
            resource_uuid: r.try_get("resource_uuid")?,
            key: r.try_get("detail_key")?,
            value: r.try_get("detail_value")?,
            display: r.try_get::<i64, _>("display")? == 1,
        })
    }
}

const DETAIL_SELECT: &str = "SELECT d.id, d.resource_type, d.resource_id, d.resource_uuid, d.detail_key, \
     d.detail_value, d.display FROM resource_detail d";

/// Set a detail (a key the resource has already takes the new value and display flag).
#[allow(clippy::too_many_arguments)]
pub async fn detail_set(
    c: &mut Conn,
    t: ResourceType,
    target: &Target,
    key: &str,
    value: &str,
    display: bool,
    owner: (i64, i64),
    now: i64,
) -> Result<(), Error> {
    let r = sqlx::query(
        "UPDATE resource_detail SET detail_value = $1, display = $2 \
         WHERE resource_type = $3 AND resource_id = $4 AND lower(detail_key) = $5",
    )
    .bind(value)
    .bind(i64::from(display))
    .bind(t.as_str())
    .bind(target.id)
    .bind(key.to_lowercase())
    .execute(&mut *c)
    .await
    .map_err(db_err)?;
    if r.rows_affected() > 0 {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO resource_detail (resource_type, resource_id, resource_uuid, detail_key, detail_value, display, \
         account_id, domain_id, created) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(t.as_str())
    .bind(target.id)
    .bind(&target.uuid)
    .bind(key)
    .bind(value)
    .bind(i64::from(display))
    .bind(owner.0)
    .bind(owner.1)
    .bind(now)
    .execute(&mut *c)
    .await
    .map_err(db_err)?;
    Ok(())
}

/// Remove one detail of a resource (`Some(key)`) or all of them.
pub async fn detail_remove(c: &mut Conn, t: ResourceType, resource_id: i64, key: Option<&str>) -> Result<u64, Error> {
    let mut s = Sql::new("DELETE FROM resource_detail");
    s.and("resource_type = ").bind_str(t.as_str());
    s.and("resource_id = ").bind_i64(resource_id);
    if let Some(k) = key {
        s.and("lower(detail_key) = ").bind_str(k.to_lowercase());
    }
    let r = s.query().execute(&mut *c).await.map_err(db_err)?;
    Ok(r.rows_affected())
}

/// `listResourceDetails` filters (`resource_type` is required by the command).
#[derive(Debug, Clone)]
pub struct DetailFilter {
    pub resource_type: ResourceType,
    pub resource_id: Option<i64>,
    pub key: Option<String>,
    pub value: Option<String>,
    /// `Some(d)`: only details whose display flag is `d`.
    pub display: Option<bool>,
}

/// `listResourceDetails`: details of one resource, or of every resource of the type whose
/// owner is in `scope` (`None`: every owner).
pub async fn details_list(
    c: &mut Conn,
    scope: Option<&OwnerScope>,
    f: &DetailFilter,
    page: Page,
) -> Result<(i64, Vec<Detail>), Error> {
    let mut s = Sql::new("SELECT d.id, COUNT(*) OVER () FROM resource_detail d");
    s.and("d.resource_type = ").bind_str(f.resource_type.as_str());
    if let Some(scope) = scope {
        scope.apply(&mut s, "d.account_id", "d.domain_id");
    }
    if let Some(x) = f.resource_id {
        s.and("d.resource_id = ").bind_i64(x);
    }
    if let Some(x) = &f.key {
        s.and("lower(d.detail_key) = ").bind_str(x.to_lowercase());
    }
    if let Some(x) = &f.value {
        s.and("lower(d.detail_value) = ").bind_str(x.to_lowercase());
    }
    if let Some(x) = f.display {
        s.and("d.display = ").bind_i64(i64::from(x));
    }
    s.push(" ORDER BY d.id").page(page);
    let (total, ids) = crate::sql::page_ids(&mut *c, &s).await?;
    let mut q = Sql::new(DETAIL_SELECT);
    q.and_in_i64("d.id", &ids).push(" ORDER BY d.id");
    Ok((total, q.fetch_all(c).await?))
}

/// The details of a page of resources, in one query (`display_only`: the ones shown to
/// regular users).
pub async fn details_of(c: &mut Conn, t: ResourceType, ids: &[i64], display_only: bool) -> Result<Vec<Detail>, Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = Sql::new(DETAIL_SELECT);
    q.and("d.resource_type = ").bind_str(t.as_str());
    q.and_in_i64("d.resource_id", ids);
    if display_only {
        q.and("d.display = 1");
    }
    q.push(" ORDER BY d.resource_id, d.id");
    q.fetch_all(c).await
}

/// Delete the tags and details of resources that are gone (same transaction as the delete).
pub async fn forget(c: &mut Conn, t: ResourceType, ids: &[i64]) -> Result<(), Error> {
    if ids.is_empty() {
        return Ok(());
    }
    for table in ["resource_tag", "resource_detail"] {
        let mut s = Sql::new(format!("DELETE FROM {table}"));
        s.and("resource_type = ").bind_str(t.as_str());
        s.and_in_i64("resource_id", ids);
        s.query().execute(&mut *c).await.map_err(db_err)?;
    }
    Ok(())
}

/// Forget the resources of type `t` that `members` (`SELECT id FROM … WHERE … = $2`) lists for
/// `parent`.
async fn forget_in(c: &mut Conn, t: ResourceType, members: &str, parent: i64) -> Result<(), Error> {
    for rows in ["resource_tag", "resource_detail"] {
        let q = format!("DELETE FROM {rows} WHERE resource_type = $1 AND resource_id IN ({members})");
        sqlx::query(sqlx::AssertSqlSafe(q))
            .bind(t.as_str())
            .bind(parent)
            .execute(&mut *c)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

/// Forget a VM with its volumes and NICs (an expunge).
pub async fn forget_vm(c: &mut Conn, vm_id: i64) -> Result<(), Error> {
    forget(c, ResourceType::UserVm, &[vm_id]).await?;
    // Its root volume goes with it; its data disks stay (detached), with their tags.
    let root = "SELECT id FROM volume WHERE vm_id = $2 AND volume_type = 'ROOT'";
    forget_in(c, ResourceType::Volume, root, vm_id).await?;
    forget_in(c, ResourceType::Nic, "SELECT id FROM nic WHERE vm_id = $2", vm_id).await
}

/// Forget the public addresses a network holds (before they are released).
pub async fn forget_public_ips_of_network(c: &mut Conn, network_id: i64) -> Result<(), Error> {
    let members = "SELECT id FROM public_ip WHERE network_id = $2";
    forget_in(c, ResourceType::PublicIpAddress, members, network_id).await
}

/// Forget the public addresses of an IP range (before the range is removed).
pub async fn forget_public_ips_of_range(c: &mut Conn, range_id: i64) -> Result<(), Error> {
    let members = "SELECT id FROM public_ip WHERE range_id = $2";
    forget_in(c, ResourceType::PublicIpAddress, members, range_id).await
}

/// Forget every tag and detail an account owns (the account is removed: what it owned
/// went before it, and nothing of its stays visible).
pub async fn forget_account(c: &mut Conn, account_id: i64) -> Result<(), Error> {
    for rows in ["resource_tag", "resource_detail"] {
        let q = format!("DELETE FROM {rows} WHERE account_id = $1");
        sqlx::query(sqlx::AssertSqlSafe(q))
            .bind(account_id)
            .execute(&mut *c)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

/// Forget every resource of type `t` that account `account_id` owned (an account's key pairs
/// when the account goes).
pub async fn forget_owned(c: &mut Conn, t: ResourceType, account_id: i64) -> Result<(), Error> {
    for table in ["resource_tag", "resource_detail"] {
        let q = format!("DELETE FROM {table} WHERE resource_type = $1 AND account_id = $2");
        sqlx::query(sqlx::AssertSqlSafe(q))
            .bind(t.as_str())
            .bind(account_id)
            .execute(&mut *c)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_parse_as_cloudstack_spells_them() {
        assert_eq!(ResourceType::parse("uservm"), Some(ResourceType::UserVm));
        assert_eq!(ResourceType::parse("SSHKEYPAIR"), Some(ResourceType::SshKeyPair));
        assert_eq!(ResourceType::parse("VMSnapshot"), None);
        assert!(ResourceType::UserVm.taggable() && ResourceType::UserVm.has_details());
        assert!(!ResourceType::Zone.taggable() && ResourceType::Zone.has_details());
        assert!(ResourceType::Account.taggable() && !ResourceType::Account.has_details());
        for t in ResourceType::ALL {
            assert!(t.taggable() || t.has_details(), "{t} carries nothing");
            assert!(t.lookup().contains("x.uuid = $1"), "{t}");
        }
    }

    #[test]
    fn tag_filters_match_any_tag_in_one_sub_select() {
        let mut s = Sql::new("SELECT v.id FROM vm_instance v");
        and_tags(
            &mut s,
            ResourceType::UserVm,
            "v.id",
            &[
                TagMatch {
                    key: "Env".into(),
                    value: "Prod".into(),
                },
                TagMatch {
                    key: "tier".into(),
                    value: "web".into(),
                },
            ],
        );
        assert_eq!(
            s.text(),
            "SELECT v.id FROM vm_instance v WHERE v.id IN (SELECT rt.resource_id FROM resource_tag rt WHERE \
             rt.resource_type = $1 AND ((lower(rt.tag_key) = $2 AND lower(rt.tag_value) = $3) OR \
             (lower(rt.tag_key) = $4 AND lower(rt.tag_value) = $5)))"
        );
    }
}
