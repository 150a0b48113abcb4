//! Primary storage pools (cluster-, zone- or host-scoped) and image (secondary) stores.
//! Reads join the zone, pod, cluster and host names in the same query.

use ferrostack_types::state::StoragePoolState;
use ferrostack_types::{Error, Page};
use sqlx::{Any, Executor};

use crate::{db_err, is_unique_violation, Conn, Sql};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoragePool {
    pub id: i64,
    pub uuid: String,
    pub name: String,
    pub zone_id: i64,
    pub pod_id: Option<i64>,
    pub cluster_id: Option<i64>,
    pub host_id: Option<i64>,
    pub scope: String,
    pub pool_type: String,
    pub url: String,
    pub host_address: String,
    pub path: String,
    pub hypervisor: Option<String>,
    pub provider: String,
    pub tags: Option<String>,
    pub capacity_bytes: i64,
    pub allocated_bytes: i64,
    pub used_bytes: i64,
    pub capacity_iops: Option<i64>,
    #[sqlx(try_from = "String")]
    pub state: StoragePoolState,
    pub details: String,
    pub created: i64,
    pub zone_uuid: String,
    pub zone_name: String,
    pub zone_type: String,
    pub pod_uuid: Option<String>,
    pub pod_name: Option<String>,
    pub cluster_uuid: Option<String>,
    pub cluster_name: Option<String>,
    pub host_uuid: Option<String>,
    pub host_name: Option<String>,
    pub host_ip: Option<String>,
}

const POOL_SELECT: &str = "SELECT s.id, s.uuid, s.name, s.zone_id, s.pod_id, s.cluster_id, s.host_id, s.scope, \
     s.pool_type, s.url, s.host_address, s.path, s.hypervisor, s.provider, s.tags, s.capacity_bytes, \
     s.allocated_bytes, s.used_bytes, s.capacity_iops, s.state, s.details, s.created, z.uuid AS zone_uuid, \
     z.name AS zone_name, z.zone_type AS zone_type, p.uuid AS pod_uuid, p.name AS pod_name, c.uuid AS cluster_uuid, \
     c.name AS cluster_name, h.uuid AS host_uuid, h.name AS host_name, h.private_ip AS host_ip FROM storage_pool s \
     JOIN zone z ON z.id = s.zone_id LEFT JOIN pod p ON p.id = s.pod_id LEFT JOIN cluster c ON c.id = s.cluster_id \
     LEFT JOIN host h ON h.id = s.host_id";

pub struct NewPool<'a> {
    pub uuid: &'a str,
    pub name: &'a str,
    pub zone_id: i64,
    pub pod_id: Option<i64>,
    pub cluster_id: Option<i64>,
    pub host_id: Option<i64>,
    pub scope: &'a str,
    pub pool_type: &'a str,
    pub url: &'a str,
    pub host_address: &'a str,
    pub path: &'a str,
    pub hypervisor: Option<&'a str>,
    pub provider: &'a str,
    pub tags: Option<&'a str>,
    pub capacity_bytes: i64,
    pub capacity_iops: Option<i64>,
    pub details: &'a str,
    pub now: i64,
}

pub async fn insert_pool(c: &mut Conn, p: NewPool<'_>) -> Result<i64, Error> {
    let r: Result<(i64,), _> = sqlx::query_as(
        "INSERT INTO storage_pool (uuid, name, zone_id, pod_id, cluster_id, host_id, scope, pool_type, url, \
         host_address, path, hypervisor, provider, tags, capacity_bytes, allocated_bytes, used_bytes, capacity_iops, \
         state, details, created) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 0, 0, $16, 'Up', $17, $18) RETURNING id",
    )
    .bind(p.uuid)
    .bind(p.name)
    .bind(p.zone_id)
    .bind(p.pod_id)
    .bind(p.cluster_id)
    .bind(p.host_id)
    .bind(p.scope)
    .bind(p.pool_type)
    .bind(p.url)
    .bind(p.host_address)
    .bind(p.path)
    .bind(p.hypervisor)
    .bind(p.provider)
    .bind(p.tags)
    .bind(p.capacity_bytes)
    .bind(p.capacity_iops)
    .bind(p.details)
    .bind(p.now)
    .fetch_one(&mut *c)
    .await;
    match r {
        Ok((id,)) => Ok(id),
        Err(e) if is_unique_violation(&e) => Err(duplicate_pool(p.name)),
        Err(e) => Err(db_err(e)),
    }
}

fn duplicate_pool(name: &str) -> Error {
    Error::invalid(format!(
        "A storage pool named {name} already exists in this zone; choose another name"
    ))
}

pub async fn pool_get<'e, E: Executor<'e, Database = Any>>(e: E, id: i64) -> Result<Option<StoragePool>, Error> {
    let q = format!("{POOL_SELECT} WHERE s.id = $1 AND s.removed IS NULL");
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(id)
        .fetch_optional(e)
        .await
        .map_err(db_err)
}

pub async fn pool_by_uuid<'e, E: Executor<'e, Database = Any>>(e: E, uuid: &str) -> Result<Option<StoragePool>, Error> {
    let q = format!("{POOL_SELECT} WHERE s.uuid = $1 AND s.removed IS NULL");
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(uuid)
        .fetch_optional(e)
        .await
        .map_err(db_err)
}

#[derive(Debug, Default, Clone)]
pub struct PoolFilter {
    pub id: Option<i64>,
    pub zone_id: Option<i64>,
    pub pod_id: Option<i64>,
    pub cluster_id: Option<i64>,
    pub host_id: Option<i64>,
    pub name: Option<String>,
    pub scope: Option<String>,
    pub state: Option<StoragePoolState>,
    pub ip_address: Option<String>,
    pub path: Option<String>,
    pub keyword: Option<String>,
}

pub async fn list_pools(c: &mut Conn, f: &PoolFilter, page: Page) -> Result<(i64, Vec<StoragePool>), Error> {
    let mut s = Sql::new("SELECT s.id, COUNT(*) OVER () FROM storage_pool s");
    s.and("s.removed IS NULL");
    if let Some(id) = f.id {
        s.and("s.id = ").bind_i64(id);
    }
    if let Some(z) = f.zone_id {
        s.and("s.zone_id = ").bind_i64(z);
    }
    if let Some(p) = f.pod_id {
        s.and("s.pod_id = ").bind_i64(p);
    }
    if let Some(cl) = f.cluster_id {
        s.and("s.cluster_id = ").bind_i64(cl);
    }
    if let Some(h) = f.host_id {
        s.and("s.host_id = ").bind_i64(h);
    }
    if let Some(n) = &f.name {
        s.and("lower(s.name) = ").bind_str(n.to_lowercase());
    }
    if let Some(sc) = &f.scope {
        s.and("s.scope = ").bind_str(sc.to_uppercase());
    }
    if let Some(st) = &f.state {
        s.and("s.state = ").bind_str(st.as_str().to_string());
    }
    if let Some(ip) = &f.ip_address {
        s.and("s.host_address = ").bind_str(ip.clone());
    }
    if let Some(p) = &f.path {
        s.and("s.path = ").bind_str(p.clone());
    }
    if let Some(k) = &f.keyword {
        s.and_keyword(&["s.name"], k);
    }
    s.push(" ORDER BY s.id").page(page);
    let (total, ids) = crate::sql::page_ids(&mut *c, &s).await?;
    let mut q = Sql::new(POOL_SELECT);
    q.and_in_i64("s.id", &ids).push(" ORDER BY s.id");
    Ok((total, q.fetch_all(c).await?))
}

/// What `updateStoragePool` may change; `None` leaves a column as it is.
#[derive(Debug, Default, Clone)]
pub struct PoolUpdate {
    pub name: Option<String>,
    pub tags: Option<String>,
    pub capacity_bytes: Option<i64>,
    pub capacity_iops: Option<i64>,
    pub state: Option<StoragePoolState>,
}

pub async fn update_pool(c: &mut Conn, id: i64, u: &PoolUpdate) -> Result<(), Error> {
    let mut s = Sql::new("UPDATE storage_pool SET id = id");
    let state = u.state.map(|s| s.as_str().to_string());
    for (col, v) in [("name", &u.name), ("tags", &u.tags), ("state", &state)] {
        if let Some(v) = v {
            s.push(", ").push(col).push(" = ").bind_str(v.clone());
        }
    }
    for (col, v) in [("capacity_bytes", u.capacity_bytes), ("capacity_iops", u.capacity_iops)] {
        if let Some(v) = v {
            s.push(", ").push(col).push(" = ").bind_i64(v);
        }
    }
    s.push(" WHERE id = ").bind_i64(id);
    match s.query().execute(&mut *c).await {
        Ok(_) => Ok(()),
        Err(e) if is_unique_violation(&e) => Err(duplicate_pool(u.name.as_deref().unwrap_or_default())),
        Err(e) => Err(db_err(e)),
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ImageStore {
    pub id: i64,
    pub uuid: String,
    pub name: String,
    pub zone_id: i64,
    pub url: String,
    pub protocol: String,
    pub provider: String,
    pub scope: String,
    pub read_only: i64,
    pub capacity_bytes: i64,
    pub used_bytes: i64,
    pub details: String,
    pub created: i64,
    pub zone_uuid: String,
    pub zone_name: String,
}

const STORE_SELECT: &str = "SELECT i.id, i.uuid, i.name, i.zone_id, i.url, i.protocol, i.provider, i.scope, \
     i.read_only, i.capacity_bytes, i.used_bytes, i.details, i.created, z.uuid AS zone_uuid, z.name AS zone_name \
     FROM image_store i JOIN zone z ON z.id = i.zone_id";

pub struct NewStore<'a> {
    pub uuid: &'a str,
    pub name: &'a str,
    pub zone_id: i64,
    pub url: &'a str,
    pub protocol: &'a str,
    pub provider: &'a str,
    pub capacity_bytes: i64,
    pub details: &'a str,
    pub now: i64,
}

pub async fn insert_store(c: &mut Conn, n: NewStore<'_>) -> Result<i64, Error> {
    let r: Result<(i64,), _> = sqlx::query_as(
        "INSERT INTO image_store (uuid, name, zone_id, url, protocol, provider, scope, read_only, capacity_bytes, \
         used_bytes, details, created) VALUES ($1, $2, $3, $4, $5, $6, 'ZONE', 0, $7, 0, $8, $9) RETURNING id",
    )
    .bind(n.uuid)
    .bind(n.name)
    .bind(n.zone_id)
    .bind(n.url)
    .bind(n.protocol)
    .bind(n.provider)
    .bind(n.capacity_bytes)
    .bind(n.details)
    .bind(n.now)
    .fetch_one(&mut *c)
    .await;
    match r {
        Ok((id,)) => Ok(id),
        Err(e) if is_unique_violation(&e) => Err(Error::invalid(format!(
            "An image store named {} or with the URL {} already exists in this zone; choose another name or URL",
            n.name, n.url
        ))),
        Err(e) => Err(db_err(e)),
    }
}

pub async fn store_by_uuid<'e, E: Executor<'e, Database = Any>>(e: E, uuid: &str) -> Result<Option<ImageStore>, Error> {
    let q = format!("{STORE_SELECT} WHERE i.uuid = $1 AND i.removed IS NULL");
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(uuid)
        .fetch_optional(e)
        .await
        .map_err(db_err)
}

pub async fn store_get<'e, E: Executor<'e, Database = Any>>(e: E, id: i64) -> Result<Option<ImageStore>, Error> {
    let q = format!("{STORE_SELECT} WHERE i.id = $1 AND i.removed IS NULL");
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(id)
        .fetch_optional(e)
        .await
        .map_err(db_err)
}

/// A writable image store of the zone (the oldest), if it has any.
pub async fn store_for_zone<'e, E: Executor<'e, Database = Any>>(
    e: E,
    zone_id: i64,
) -> Result<Option<ImageStore>, Error> {
    let q =
        format!("{STORE_SELECT} WHERE i.zone_id = $1 AND i.removed IS NULL AND i.read_only = 0 ORDER BY i.id LIMIT 1");
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(zone_id)
        .fetch_optional(e)
        .await
        .map_err(db_err)
}

#[derive(Debug, Default, Clone)]
pub struct StoreFilter {
    pub id: Option<i64>,
    pub zone_id: Option<i64>,
    pub name: Option<String>,
    pub protocol: Option<String>,
    pub provider: Option<String>,
    pub read_only: Option<bool>,
    pub keyword: Option<String>,
}

pub async fn list_stores(c: &mut Conn, f: &StoreFilter, page: Page) -> Result<(i64, Vec<ImageStore>), Error> {
    let mut s = Sql::new("SELECT i.id, COUNT(*) OVER () FROM image_store i");
    s.and("i.removed IS NULL");
    if let Some(id) = f.id {
        s.and("i.id = ").bind_i64(id);
    }
    if let Some(z) = f.zone_id {
        s.and("i.zone_id = ").bind_i64(z);
    }
    if let Some(n) = &f.name {
        s.and("lower(i.name) = ").bind_str(n.to_lowercase());
    }
    if let Some(p) = &f.protocol {
        s.and("lower(i.protocol) = ").bind_str(p.to_lowercase());
    }
    if let Some(p) = &f.provider {
        s.and("lower(i.provider) = ").bind_str(p.to_lowercase());
    }
    if let Some(r) = f.read_only {
        s.and("i.read_only = ").bind_i64(i64::from(r));
    }
    if let Some(k) = &f.keyword {
        s.and_keyword(&["i.name", "i.url"], k);
    }
    s.push(" ORDER BY i.id").page(page);
    let (total, ids) = crate::sql::page_ids(&mut *c, &s).await?;
    let mut q = Sql::new(STORE_SELECT);
    q.and_in_i64("i.id", &ids).push(" ORDER BY i.id");
    Ok((total, q.fetch_all(c).await?))
}
