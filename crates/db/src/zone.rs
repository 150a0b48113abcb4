//! Zones (core and edge), pods and clusters.

use ferrostack_types::state::{AllocationState, ManagedState};
use ferrostack_types::{Error, Page};
use sqlx::{Any, Executor};

use crate::{db_err, is_unique_violation, Conn, Sql};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Zone {
    pub id: i64,
    pub uuid: String,
    pub name: String,
    pub description: Option<String>,
    pub zone_type: String,
    pub network_type: String,
    #[sqlx(try_from = "String")]
    pub allocation_state: AllocationState,
    pub dns1: String,
    pub dns2: Option<String>,
    pub internal_dns1: String,
    pub internal_dns2: Option<String>,
    pub ip6_dns1: Option<String>,
    pub ip6_dns2: Option<String>,
    pub guest_cidr: Option<String>,
    pub network_domain: Option<String>,
    pub domain_id: Option<i64>,
    pub local_storage_enabled: i64,
    pub security_group_enabled: i64,
    pub created: i64,
}

impl Zone {
    pub fn is_edge(&self) -> bool {
        self.zone_type == "Edge"
    }
}

pub struct NewZone<'a> {
    pub uuid: &'a str,
    pub name: &'a str,
    pub description: Option<&'a str>,
    pub zone_type: &'a str,
    pub network_type: &'a str,
    pub allocation_state: AllocationState,
    pub dns1: &'a str,
    pub dns2: Option<&'a str>,
    pub internal_dns1: &'a str,
    pub internal_dns2: Option<&'a str>,
    pub ip6_dns1: Option<&'a str>,
    pub ip6_dns2: Option<&'a str>,
    pub guest_cidr: Option<&'a str>,
    pub network_domain: Option<&'a str>,
    pub domain_id: Option<i64>,
    pub local_storage_enabled: bool,
    pub security_group_enabled: bool,
    pub now: i64,
}

const ZONE_COLS: &str = "id, uuid, name, description, zone_type, network_type, allocation_state, dns1, dns2, \
     internal_dns1, internal_dns2, ip6_dns1, ip6_dns2, guest_cidr, network_domain, domain_id, local_storage_enabled, \
     security_group_enabled, created";

pub async fn insert(c: &mut Conn, z: NewZone<'_>) -> Result<i64, Error> {
    let r: Result<(i64,), _> = sqlx::query_as(
        "INSERT INTO zone (uuid, name, description, zone_type, network_type, allocation_state, dns1, dns2, \
         internal_dns1, internal_dns2, ip6_dns1, ip6_dns2, guest_cidr, network_domain, domain_id, \
         local_storage_enabled, security_group_enabled, created) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) RETURNING id",
    )
    .bind(z.uuid)
    .bind(z.name)
    .bind(z.description)
    .bind(z.zone_type)
    .bind(z.network_type)
    .bind(z.allocation_state.as_str())
    .bind(z.dns1)
    .bind(z.dns2)
    .bind(z.internal_dns1)
    .bind(z.internal_dns2)
    .bind(z.ip6_dns1)
    .bind(z.ip6_dns2)
    .bind(z.guest_cidr)
    .bind(z.network_domain)
    .bind(z.domain_id)
    .bind(i64::from(z.local_storage_enabled))
    .bind(i64::from(z.security_group_enabled))
    .bind(z.now)
    .fetch_one(&mut *c)
    .await;
    match r {
        Ok((id,)) => Ok(id),
        Err(e) if is_unique_violation(&e) => Err(Error::invalid(format!(
            "A zone with name {} already exists; choose another name",
            z.name
        ))),
        Err(e) => Err(db_err(e)),
    }
}

pub async fn get<'e, E: Executor<'e, Database = Any>>(e: E, id: i64) -> Result<Option<Zone>, Error> {
    let q = format!("SELECT {ZONE_COLS} FROM zone WHERE id = $1 AND removed IS NULL");
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(id)
        .fetch_optional(e)
        .await
        .map_err(db_err)
}

pub async fn by_uuid<'e, E: Executor<'e, Database = Any>>(e: E, uuid: &str) -> Result<Option<Zone>, Error> {
    let q = format!("SELECT {ZONE_COLS} FROM zone WHERE uuid = $1 AND removed IS NULL");
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(uuid)
        .fetch_optional(e)
        .await
        .map_err(db_err)
}

#[derive(Debug, Default, Clone)]
pub struct ZoneFilter {
    pub id: Option<i64>,
    /// `ids`: any of these uuids.
    pub uuids: Vec<String>,
    pub name: Option<String>,
    pub network_type: Option<String>,
    pub zone_type: Option<String>,
    pub keyword: Option<String>,
    pub enabled_only: bool,
    /// `tags[N].key/value`: zones having any of these tags (zones take no tags, as in
    /// CloudStack, so a tag filter matches none).
    pub tags: Vec<crate::tag::TagMatch>,
}

pub async fn list(c: &mut Conn, f: &ZoneFilter, page: Page) -> Result<(i64, Vec<Zone>), Error> {
    let mut s = Sql::new("SELECT id, COUNT(*) OVER () FROM zone");
    s.and("removed IS NULL");
    if let Some(id) = f.id {
        s.and("id = ").bind_i64(id);
    }
    if !f.uuids.is_empty() {
        s.and_in_str("uuid", &f.uuids);
    }
    if let Some(n) = &f.name {
        s.and("lower(name) = ").bind_str(n.to_lowercase());
    }
    if let Some(n) = &f.network_type {
        s.and("lower(network_type) = ").bind_str(n.to_lowercase());
    }
    if let Some(t) = &f.zone_type {
        s.and("lower(zone_type) = ").bind_str(t.to_lowercase());
    }
    if f.enabled_only {
        s.and("allocation_state = 'Enabled'");
    }
    if let Some(k) = &f.keyword {
        s.and_keyword(&["name", "description"], k);
    }
    crate::tag::and_tags(&mut s, crate::tag::ResourceType::Zone, "id", &f.tags);
    s.push(" ORDER BY id").page(page);
    let (total, ids) = crate::sql::page_ids(&mut *c, &s).await?;
    let mut q = Sql::new(format!("SELECT {ZONE_COLS} FROM zone"));
    q.and_in_i64("id", &ids).push(" ORDER BY id");
    Ok((total, q.fetch_all(c).await?))
}

/// Set columns of a zone from (column, value) pairs; `None` values are skipped.
pub async fn update(c: &mut Conn, id: i64, cols: &[(&str, Option<String>)]) -> Result<(), Error> {
    crate::sql::update_columns(
        c,
        "zone",
        id,
        cols,
        "A zone with that name already exists; choose another name",
    )
    .await
}

pub async fn mark_removed(c: &mut Conn, table: &str, id: i64, now: i64) -> Result<(), Error> {
    let q = format!("UPDATE {table} SET removed = $1 WHERE id = $2 AND removed IS NULL");
    sqlx::query(sqlx::AssertSqlSafe(q))
        .bind(now)
        .bind(id)
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Count live rows of `table` whose `column` equals `id` (dependency checks before delete).
pub async fn count_live(c: &mut Conn, table: &str, column: &str, id: i64) -> Result<i64, Error> {
    let q = format!("SELECT COUNT(*) FROM {table} WHERE {column} = $1 AND removed IS NULL");
    let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(id)
        .fetch_one(&mut *c)
        .await
        .map_err(db_err)?;
    Ok(n)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Pod {
    pub id: i64,
    pub uuid: String,
    pub zone_id: i64,
    pub name: String,
    pub gateway: Option<String>,
    pub netmask: Option<String>,
    pub start_ip: Option<String>,
    pub end_ip: Option<String>,
    #[sqlx(try_from = "String")]
    pub allocation_state: AllocationState,
    pub created: i64,
    pub zone_uuid: String,
    pub zone_name: String,
}

const POD_SELECT: &str = "SELECT p.id, p.uuid, p.zone_id, p.name, p.gateway, p.netmask, p.start_ip, p.end_ip, \
     p.allocation_state, p.created, z.uuid AS zone_uuid, z.name AS zone_name FROM pod p JOIN zone z ON z.id = p.zone_id";

pub struct NewPod<'a> {
    pub uuid: &'a str,
    pub zone_id: i64,
    pub name: &'a str,
    pub gateway: Option<&'a str>,
    pub netmask: Option<&'a str>,
    pub start_ip: Option<&'a str>,
    pub end_ip: Option<&'a str>,
    pub allocation_state: AllocationState,
    pub now: i64,
}

pub async fn insert_pod(c: &mut Conn, p: NewPod<'_>) -> Result<i64, Error> {
    let r: Result<(i64,), _> = sqlx::query_as(
        "INSERT INTO pod (uuid, zone_id, name, gateway, netmask, start_ip, end_ip, allocation_state, created) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(p.uuid)
    .bind(p.zone_id)
    .bind(p.name)
    .bind(p.gateway)
    .bind(p.netmask)
    .bind(p.start_ip)
    .bind(p.end_ip)
    .bind(p.allocation_state.as_str())
    .bind(p.now)
    .fetch_one(&mut *c)
    .await;
    match r {
        Ok((id,)) => Ok(id),
        Err(e) if is_unique_violation(&e) => Err(Error::invalid(format!(
            "A pod with name {} already exists in this zone; choose another name",
            p.name
        ))),
        Err(e) => Err(db_err(e)),
    }
}

pub async fn pod_by_uuid<'e, E: Executor<'e, Database = Any>>(e: E, uuid: &str) -> Result<Option<Pod>, Error> {
    let q = format!("{POD_SELECT} WHERE p.uuid = $1 AND p.removed IS NULL");
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(uuid)
        .fetch_optional(e)
        .await
        .map_err(db_err)
}

pub async fn pod_get<'e, E: Executor<'e, Database = Any>>(e: E, id: i64) -> Result<Option<Pod>, Error> {
    let q = format!("{POD_SELECT} WHERE p.id = $1 AND p.removed IS NULL");
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(id)
        .fetch_optional(e)
        .await
        .map_err(db_err)
}

#[derive(Debug, Default, Clone)]
pub struct PodFilter {
    pub id: Option<i64>,
    pub zone_id: Option<i64>,
    pub name: Option<String>,
    pub allocation_state: Option<AllocationState>,
    pub keyword: Option<String>,
}

pub async fn list_pods(c: &mut Conn, f: &PodFilter, page: Page) -> Result<(i64, Vec<Pod>), Error> {
    let mut s = Sql::new("SELECT p.id, COUNT(*) OVER () FROM pod p");
    s.and("p.removed IS NULL");
    if let Some(id) = f.id {
        s.and("p.id = ").bind_i64(id);
    }
    if let Some(z) = f.zone_id {
        s.and("p.zone_id = ").bind_i64(z);
    }
    if let Some(n) = &f.name {
        s.and("lower(p.name) = ").bind_str(n.to_lowercase());
    }
    if let Some(a) = &f.allocation_state {
        s.and("p.allocation_state = ").bind_str(a.as_str().to_string());
    }
    if let Some(k) = &f.keyword {
        s.and_keyword(&["p.name"], k);
    }
    s.push(" ORDER BY p.id").page(page);
    let (total, ids) = crate::sql::page_ids(&mut *c, &s).await?;
    let mut q = Sql::new(POD_SELECT);
    q.and_in_i64("p.id", &ids).push(" ORDER BY p.id");
    Ok((total, q.fetch_all(c).await?))
}

pub async fn update_pod(c: &mut Conn, id: i64, cols: &[(&str, Option<String>)]) -> Result<(), Error> {
    crate::sql::update_columns(c, "pod", id, cols, "A pod with that name already exists in this zone").await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Cluster {
    pub id: i64,
    pub uuid: String,
    pub zone_id: i64,
    pub pod_id: i64,
    pub name: String,
    pub hypervisor: String,
    pub cluster_type: String,
    #[sqlx(try_from = "String")]
    pub allocation_state: AllocationState,
    #[sqlx(try_from = "String")]
    pub managed_state: ManagedState,
    pub arch: String,
    pub created: i64,
    pub zone_uuid: String,
    pub zone_name: String,
    pub pod_uuid: String,
    pub pod_name: String,
}

const CLUSTER_SELECT: &str = "SELECT c.id, c.uuid, c.zone_id, c.pod_id, c.name, c.hypervisor, c.cluster_type, \
     c.allocation_state, c.managed_state, c.arch, c.created, z.uuid AS zone_uuid, z.name AS zone_name, \
     p.uuid AS pod_uuid, p.name AS pod_name FROM cluster c JOIN zone z ON z.id = c.zone_id JOIN pod p ON p.id = c.pod_id";

pub struct NewCluster<'a> {
    pub uuid: &'a str,
    pub zone_id: i64,
    pub pod_id: i64,
    pub name: &'a str,
    pub hypervisor: &'a str,
    pub cluster_type: &'a str,
    pub allocation_state: AllocationState,
    pub arch: &'a str,
    pub now: i64,
}

pub async fn insert_cluster(c: &mut Conn, n: NewCluster<'_>) -> Result<i64, Error> {
    let r: Result<(i64,), _> = sqlx::query_as(
        "INSERT INTO cluster (uuid, zone_id, pod_id, name, hypervisor, cluster_type, allocation_state, managed_state, \
         arch, created) VALUES ($1, $2, $3, $4, $5, $6, $7, 'Managed', $8, $9) RETURNING id",
    )
    .bind(n.uuid)
    .bind(n.zone_id)
    .bind(n.pod_id)
    .bind(n.name)
    .bind(n.hypervisor)
    .bind(n.cluster_type)
    .bind(n.allocation_state.as_str())
    .bind(n.arch)
    .bind(n.now)
    .fetch_one(&mut *c)
    .await;
    match r {
        Ok((id,)) => Ok(id),
        Err(e) if is_unique_violation(&e) => Err(Error::invalid(format!(
            "A cluster with name {} already exists in this pod; choose another name",
            n.name
        ))),
        Err(e) => Err(db_err(e)),
    }
}

pub async fn cluster_by_uuid<'e, E: Executor<'e, Database = Any>>(e: E, uuid: &str) -> Result<Option<Cluster>, Error> {
    let q = format!("{CLUSTER_SELECT} WHERE c.uuid = $1 AND c.removed IS NULL");
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(uuid)
        .fetch_optional(e)
        .await
        .map_err(db_err)
}

pub async fn cluster_get<'e, E: Executor<'e, Database = Any>>(e: E, id: i64) -> Result<Option<Cluster>, Error> {
    let q = format!("{CLUSTER_SELECT} WHERE c.id = $1 AND c.removed IS NULL");
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(id)
        .fetch_optional(e)
        .await
        .map_err(db_err)
}

pub async fn cluster_by_name<'e, E: Executor<'e, Database = Any>>(
    e: E,
    pod_id: i64,
    name: &str,
) -> Result<Option<Cluster>, Error> {
    let q = format!("{CLUSTER_SELECT} WHERE c.pod_id = $1 AND lower(c.name) = $2 AND c.removed IS NULL");
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(pod_id)
        .bind(name.to_lowercase())
        .fetch_optional(e)
        .await
        .map_err(db_err)
}

#[derive(Debug, Default, Clone)]
pub struct ClusterFilter {
    pub id: Option<i64>,
    pub zone_id: Option<i64>,
    pub pod_id: Option<i64>,
    pub name: Option<String>,
    pub hypervisor: Option<String>,
    pub cluster_type: Option<String>,
    pub allocation_state: Option<AllocationState>,
    pub managed_state: Option<ManagedState>,
    pub keyword: Option<String>,
}

pub async fn list_clusters(c: &mut Conn, f: &ClusterFilter, page: Page) -> Result<(i64, Vec<Cluster>), Error> {
    let mut s = Sql::new("SELECT c.id, COUNT(*) OVER () FROM cluster c");
    s.and("c.removed IS NULL");
    if let Some(id) = f.id {
        s.and("c.id = ").bind_i64(id);
    }
    if let Some(z) = f.zone_id {
        s.and("c.zone_id = ").bind_i64(z);
    }
    if let Some(p) = f.pod_id {
        s.and("c.pod_id = ").bind_i64(p);
    }
    if let Some(n) = &f.name {
        s.and("lower(c.name) = ").bind_str(n.to_lowercase());
    }
    if let Some(h) = &f.hypervisor {
        s.and("lower(c.hypervisor) = ").bind_str(h.to_lowercase());
    }
    if let Some(t) = &f.cluster_type {
        s.and("lower(c.cluster_type) = ").bind_str(t.to_lowercase());
    }
    if let Some(a) = &f.allocation_state {
        s.and("c.allocation_state = ").bind_str(a.as_str().to_string());
    }
    if let Some(m) = &f.managed_state {
        s.and("c.managed_state = ").bind_str(m.as_str().to_string());
    }
    if let Some(k) = &f.keyword {
        s.and_keyword(&["c.name"], k);
    }
    s.push(" ORDER BY c.id").page(page);
    let (total, ids) = crate::sql::page_ids(&mut *c, &s).await?;
    let mut q = Sql::new(CLUSTER_SELECT);
    q.and_in_i64("c.id", &ids).push(" ORDER BY c.id");
    Ok((total, q.fetch_all(c).await?))
}

pub async fn update_cluster(c: &mut Conn, id: i64, cols: &[(&str, Option<String>)]) -> Result<(), Error> {
    crate::sql::update_columns(
        c,
        "cluster",
        id,
        cols,
        "A cluster with that name already exists in this pod",
    )
    .await
}

pub async fn set_local_storage(c: &mut Conn, zone_id: i64, on: bool) -> Result<(), Error> {
    sqlx::query("UPDATE zone SET local_storage_enabled = $1 WHERE id = $2")
        .bind(i64::from(on))
        .bind(zone_id)
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// The hypervisor system VMs of a zone run on: that of the first cluster (by id) with an Up
/// host, else of the first cluster; `None` for a zone without clusters.
pub async fn system_vm_hypervisor<'e, E: Executor<'e, Database = Any>>(
    e: E,
    zone_id: i64,
) -> Result<Option<String>, Error> {
    let r: Option<(String,)> = sqlx::query_as(
        "SELECT cl.hypervisor FROM cluster cl WHERE cl.zone_id = $1 AND cl.removed IS NULL \
         ORDER BY CASE WHEN EXISTS (SELECT 1 FROM host h WHERE h.cluster_id = cl.id AND h.removed IS NULL \
         AND h.status = 'Up') THEN 0 ELSE 1 END, cl.id LIMIT 1",
    )
    .bind(zone_id)
    .fetch_optional(e)
    .await
    .map_err(db_err)?;
    Ok(r.map(|(h,)| h))
}
