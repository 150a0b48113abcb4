//! Physical networks of a zone, the traffic types they carry, their network service providers
//! (NSPs) and the virtual router elements of the VirtualRouter / VpcVirtualRouter providers.

use ferrostack_types::state::{AllocationState, PhysicalNetworkState, ProviderState};
use ferrostack_types::{Error, Page};
use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

use crate::{db_err, is_unique_violation, Conn, Sql};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PhysicalNetwork {
    pub id: i64,
    pub uuid: String,
    pub zone_id: i64,
    pub name: String,
    /// `Enabled` or `Disabled`.
    #[sqlx(try_from = "String")]
    pub state: PhysicalNetworkState,
    /// The guest VLAN/VNI ranges, e.g. `100-200,300-310`.
    pub vlan: Option<String>,
    /// Comma-separated (one today), e.g. `VLAN`.
    pub isolation_methods: String,
    pub tags: Option<String>,
    pub network_speed: Option<String>,
    pub broadcast_domain_range: String,
    pub domain_id: Option<i64>,
    pub created: i64,
    pub zone_uuid: String,
    pub zone_name: String,
    pub zone_type: String,
    pub zone_network_type: String,
    #[sqlx(try_from = "String")]
    pub zone_allocation_state: AllocationState,
    pub domain_uuid: Option<String>,
}

const SELECT: &str = "SELECT p.id, p.uuid, p.zone_id, p.name, p.state, p.vlan, p.isolation_methods, p.tags, \
     p.network_speed, p.broadcast_domain_range, p.domain_id, p.created, z.uuid AS zone_uuid, z.name AS zone_name, \
     z.zone_type AS zone_type, z.network_type AS zone_network_type, z.allocation_state AS zone_allocation_state, \
     d.uuid AS domain_uuid FROM physical_network p JOIN zone z ON z.id = p.zone_id \
     LEFT JOIN domain d ON d.id = p.domain_id";

pub struct NewPhysicalNetwork<'a> {
    pub uuid: &'a str,
    pub zone_id: i64,
    pub name: &'a str,
    pub vlan: Option<&'a str>,
    pub isolation_methods: &'a str,
    pub tags: Option<&'a str>,
    pub network_speed: Option<&'a str>,
    pub broadcast_domain_range: &'a str,
    pub domain_id: Option<i64>,
    pub now: i64,
}

/// Insert a physical network in state `Disabled`.
pub async fn insert(c: &mut Conn, p: NewPhysicalNetwork<'_>) -> Result<i64, Error> {
    let r: Result<(i64,), _> = sqlx::query_as(
        "INSERT INTO physical_network (uuid, zone_id, name, state, vlan, isolation_methods, tags, network_speed, \
         broadcast_domain_range, domain_id, created) VALUES ($1, $2, $3, 'Disabled', $4, $5, $6, $7, $8, $9, $10) \
         RETURNING id",
    )
    .bind(p.uuid)
    .bind(p.zone_id)
    .bind(p.name)
    .bind(p.vlan)
    .bind(p.isolation_methods)
    .bind(p.tags)
    .bind(p.network_speed)
    .bind(p.broadcast_domain_range)
    .bind(p.domain_id)
    .bind(p.now)
    .fetch_one(&mut *c)
    .await;
    match r {
        Ok((id,)) => Ok(id),
        Err(e) if is_unique_violation(&e) => Err(Error::invalid(format!(
            "A physical network named {} already exists in this zone; choose another name",
            p.name
        ))),
        Err(e) => Err(db_err(e)),
    }
}

pub async fn get<'e, E: Executor<'e, Database = Any>>(e: E, id: i64) -> Result<Option<PhysicalNetwork>, Error> {
    let q = format!("{SELECT} WHERE p.id = $1 AND p.removed IS NULL");
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(id)
        .fetch_optional(e)
        .await
        .map_err(db_err)
}

pub async fn by_uuid<'e, E: Executor<'e, Database = Any>>(e: E, uuid: &str) -> Result<Option<PhysicalNetwork>, Error> {
    let q = format!("{SELECT} WHERE p.uuid = $1 AND p.removed IS NULL");
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(uuid)
        .fetch_optional(e)
        .await
        .map_err(db_err)
}

/// The live physical networks of a zone, oldest first.
pub async fn in_zone(c: &mut Conn, zone_id: i64) -> Result<Vec<PhysicalNetwork>, Error> {
    let q = format!("{SELECT} WHERE p.zone_id = $1 AND p.removed IS NULL ORDER BY p.id");
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(zone_id)
        .fetch_all(&mut *c)
        .await
        .map_err(db_err)
}

/// The first live physical network of a zone carrying Guest traffic, else the first one.
pub async fn for_zone(c: &mut Conn, zone_id: i64) -> Result<Option<PhysicalNetwork>, Error> {
    let q = format!(
        "{SELECT} WHERE p.zone_id = $1 AND p.removed IS NULL ORDER BY CASE WHEN EXISTS (SELECT 1 FROM \
         physical_network_traffic_type t WHERE t.physical_network_id = p.id AND t.traffic_type = 'Guest' \
         AND t.removed IS NULL) THEN 0 ELSE 1 END, p.id LIMIT 1"
    );
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(zone_id)
        .fetch_optional(&mut *c)
        .await
        .map_err(db_err)
}

#[derive(Debug, Default, Clone)]
pub struct PhysnetFilter {
    pub id: Option<i64>,
    pub zone_id: Option<i64>,
    pub name: Option<String>,
    pub keyword: Option<String>,
}

pub async fn list(c: &mut Conn, f: &PhysnetFilter, page: Page) -> Result<(i64, Vec<PhysicalNetwork>), Error> {
    let mut s = Sql::new("SELECT p.id, COUNT(*) OVER () FROM physical_network p");
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
    if let Some(k) = &f.keyword {
        s.and_keyword(&["p.name"], k);
    }
    s.push(" ORDER BY p.id").page(page);
    let (total, ids) = crate::sql::page_ids(&mut *c, &s).await?;
    let mut q = Sql::new(SELECT);
    q.and_in_i64("p.id", &ids).push(" ORDER BY p.id");
    Ok((total, q.fetch_all(c).await?))
}

/// Set columns of `table`'s row `id` from (column, value) pairs; `None` values are skipped.
async fn set_columns(c: &mut Conn, table: &str, id: i64, cols: &[(&str, Option<String>)]) -> Result<(), Error> {
    let mut s = Sql::new(format!("UPDATE {table} SET id = id"));
    for (col, v) in cols {
        if let Some(v) = v {
            s.push(", ").push(col).push(" = ").bind_str(v.clone());
        }
    }
    s.push(" WHERE id = ").bind_i64(id);
    s.query().execute(&mut *c).await.map_err(db_err)?;
    Ok(())
}

/// Update a physical network's `state`, `vlan`, `tags`, `network_speed`.
pub async fn update(c: &mut Conn, id: i64, cols: &[(&str, Option<String>)]) -> Result<(), Error> {
    set_columns(c, "physical_network", id, cols).await
}

/// Remove a physical network and everything hanging off it (traffic types, providers, router
/// elements). Idempotent.
pub async fn remove_with_children(c: &mut Conn, id: i64, now: i64) -> Result<(), Error> {
    for q in [
        "UPDATE virtual_router_element SET removed = $1 WHERE removed IS NULL AND nsp_id IN \
         (SELECT n.id FROM physical_network_service_provider n WHERE n.physical_network_id = $2)",
        "UPDATE physical_network_service_provider SET removed = $1 WHERE physical_network_id = $2 AND removed IS NULL",
        "UPDATE physical_network_traffic_type SET removed = $1 WHERE physical_network_id = $2 AND removed IS NULL",
        "UPDATE physical_network SET removed = $1 WHERE id = $2 AND removed IS NULL",
    ] {
        sqlx::query(q)
            .bind(now)
            .bind(id)
            .execute(&mut *c)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

/// Count live rows of `table` whose `column` equals `id`, tolerating a table or column that
/// does not exist (yet): then nothing refers to `id` and the answer is 0. Rows with a
/// `removed` column count only while it is NULL.
pub async fn count_refs(c: &mut Conn, table: &str, column: &str, id: i64) -> Result<i64, Error> {
    let columns: Vec<String> = if c.backend_name().eq_ignore_ascii_case("sqlite") {
        sqlx::query("SELECT name FROM pragma_table_info($1)")
            .bind(table)
            .try_map(|r: AnyRow| r.try_get::<String, _>(0))
            .fetch_all(&mut *c)
            .await
    } else {
        sqlx::query(
            "SELECT CAST(column_name AS TEXT) FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1",
        )
        .bind(table)
        .try_map(|r: AnyRow| r.try_get::<String, _>(0))
        .fetch_all(&mut *c)
        .await
    }
    .map_err(db_err)?;
    let has = |name: &str| columns.iter().any(|c| c.eq_ignore_ascii_case(name));
    if !has(column) {
        return Ok(0);
    }
    let live = if has("removed") { " AND removed IS NULL" } else { "" };
    let q = format!("SELECT COUNT(*) FROM {table} WHERE {column} = $1{live}");
    let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(id)
        .fetch_one(&mut *c)
        .await
        .map_err(db_err)?;
    Ok(n)
}

/// How many live guest networks (table `network`) sit on the physical network.
pub async fn physnet_in_use(c: &mut Conn, physnet_id: i64) -> Result<i64, Error> {
    count_refs(c, "network", "physical_network_id", physnet_id).await
}

// ---------------------------------------------------------------------------------------------
// Traffic types

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TrafficType {
    pub id: i64,
    pub uuid: String,
    pub physical_network_id: i64,
    pub traffic_type: String,
    pub kvm_label: Option<String>,
    pub xen_label: Option<String>,
    pub vmware_label: Option<String>,
    pub hyperv_label: Option<String>,
    pub ovm3_label: Option<String>,
    pub simulator_label: Option<String>,
    pub isolation_method: Option<String>,
    pub vlan: Option<String>,
    pub created: i64,
    pub physical_network_uuid: String,
    pub physical_network_name: String,
    pub zone_id: i64,
}

const TRAFFIC_SELECT: &str = "SELECT t.id, t.uuid, t.physical_network_id, t.traffic_type, t.kvm_label, t.xen_label, \
     t.vmware_label, t.hyperv_label, t.ovm3_label, t.simulator_label, t.isolation_method, t.vlan, t.created, \
     p.uuid AS physical_network_uuid, p.name AS physical_network_name, p.zone_id AS zone_id \
     FROM physical_network_traffic_type t JOIN physical_network p ON p.id = t.physical_network_id";

/// The hypervisor network labels of a traffic type.
#[derive(Debug, Default, Clone)]
pub struct Labels {
    pub kvm: Option<String>,
    pub xen: Option<String>,
    pub vmware: Option<String>,
    pub hyperv: Option<String>,
    pub ovm3: Option<String>,
    pub simulator: Option<String>,
}

pub struct NewTrafficType<'a> {
    pub uuid: &'a str,
    pub physical_network_id: i64,
    pub traffic_type: &'a str,
    pub labels: &'a Labels,
    pub isolation_method: Option<&'a str>,
    pub vlan: Option<&'a str>,
    pub now: i64,
}

pub async fn insert_traffic(c: &mut Conn, t: NewTrafficType<'_>) -> Result<i64, Error> {
    let r: Result<(i64,), _> = sqlx::query_as(
        "INSERT INTO physical_network_traffic_type (uuid, physical_network_id, traffic_type, kvm_label, xen_label, \
         vmware_label, hyperv_label, ovm3_label, simulator_label, isolation_method, vlan, created) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
    )
    .bind(t.uuid)
    .bind(t.physical_network_id)
    .bind(t.traffic_type)
    .bind(t.labels.kvm.as_deref())
    .bind(t.labels.xen.as_deref())
    .bind(t.labels.vmware.as_deref())
    .bind(t.labels.hyperv.as_deref())
    .bind(t.labels.ovm3.as_deref())
    .bind(t.labels.simulator.as_deref())
    .bind(t.isolation_method)
    .bind(t.vlan)
    .bind(t.now)
    .fetch_one(&mut *c)
    .await;
    match r {
        Ok((id,)) => Ok(id),
        Err(e) if is_unique_violation(&e) => Err(Error::invalid(format!(
            "This physical network already carries {} traffic; update it with updateTrafficType instead",
            t.traffic_type
        ))),
        Err(e) => Err(db_err(e)),
    }
}

pub async fn traffic_get<'e, E: Executor<'e, Database = Any>>(e: E, id: i64) -> Result<Option<TrafficType>, Error> {
    let q = format!("{TRAFFIC_SELECT} WHERE t.id = $1 AND t.removed IS NULL");
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(id)
        .fetch_optional(e)
        .await
        .map_err(db_err)
}

pub async fn traffic_by_uuid<'e, E: Executor<'e, Database = Any>>(
    e: E,
    uuid: &str,
) -> Result<Option<TrafficType>, Error> {
    let q = format!("{TRAFFIC_SELECT} WHERE t.uuid = $1 AND t.removed IS NULL");
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(uuid)
        .fetch_optional(e)
        .await
        .map_err(db_err)
}

/// The physical network of the zone that already carries `traffic_type`, if any.
pub async fn zone_traffic_carrier(c: &mut Conn, zone_id: i64, traffic_type: &str) -> Result<Option<String>, Error> {
    let r: Option<(String,)> = sqlx::query_as(
        "SELECT p.name FROM physical_network_traffic_type t JOIN physical_network p ON p.id = t.physical_network_id \
         WHERE p.zone_id = $1 AND t.traffic_type = $2 AND t.removed IS NULL AND p.removed IS NULL ORDER BY t.id LIMIT 1",
    )
    .bind(zone_id)
    .bind(traffic_type)
    .fetch_optional(&mut *c)
    .await
    .map_err(db_err)?;
    Ok(r.map(|r| r.0))
}

pub async fn list_traffic(c: &mut Conn, physnet_id: i64, page: Page) -> Result<(i64, Vec<TrafficType>), Error> {
    let mut s = Sql::new("SELECT t.id, COUNT(*) OVER () FROM physical_network_traffic_type t");
    s.and("t.removed IS NULL");
    s.and("t.physical_network_id = ").bind_i64(physnet_id);
    s.push(" ORDER BY t.id").page(page);
    let (total, ids) = crate::sql::page_ids(&mut *c, &s).await?;
    let mut q = Sql::new(TRAFFIC_SELECT);
    q.and_in_i64("t.id", &ids).push(" ORDER BY t.id");
    Ok((total, q.fetch_all(c).await?))
}

/// Update a traffic type's labels (`kvm_label`, …) and `vlan`.
pub async fn update_traffic(c: &mut Conn, id: i64, cols: &[(&str, Option<String>)]) -> Result<(), Error> {
    set_columns(c, "physical_network_traffic_type", id, cols).await
}

// ---------------------------------------------------------------------------------------------
// Network service providers

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ServiceProvider {
    pub id: i64,
    pub uuid: String,
    pub physical_network_id: i64,
    pub provider: String,
    #[sqlx(try_from = "String")]
    pub state: ProviderState,
    pub dest_physical_network_id: Option<i64>,
    /// Comma-separated services the provider offers on this physical network.
    pub services: String,
    pub created: i64,
    pub physical_network_uuid: String,
    pub physical_network_name: String,
    pub dest_physical_network_uuid: Option<String>,
    pub zone_id: i64,
}

const NSP_SELECT: &str = "SELECT n.id, n.uuid, n.physical_network_id, n.provider, n.state, \
     n.dest_physical_network_id, n.services, n.created, p.uuid AS physical_network_uuid, \
     p.name AS physical_network_name, dp.uuid AS dest_physical_network_uuid, p.zone_id AS zone_id \
     FROM physical_network_service_provider n JOIN physical_network p ON p.id = n.physical_network_id \
     LEFT JOIN physical_network dp ON dp.id = n.dest_physical_network_id";

pub struct NewServiceProvider<'a> {
    pub uuid: &'a str,
    pub physical_network_id: i64,
    pub provider: &'a str,
    pub state: ProviderState,
    pub dest_physical_network_id: Option<i64>,
    pub services: &'a str,
    pub now: i64,
}

pub async fn insert_nsp(c: &mut Conn, n: NewServiceProvider<'_>) -> Result<i64, Error> {
    let r: Result<(i64,), _> = sqlx::query_as(
        "INSERT INTO physical_network_service_provider (uuid, physical_network_id, provider, state, \
         dest_physical_network_id, services, created) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(n.uuid)
    .bind(n.physical_network_id)
    .bind(n.provider)
    .bind(n.state.as_str())
    .bind(n.dest_physical_network_id)
    .bind(n.services)
    .bind(n.now)
    .fetch_one(&mut *c)
    .await;
    match r {
        Ok((id,)) => Ok(id),
        Err(e) if is_unique_violation(&e) => Err(Error::invalid(format!(
            "The provider {} is already added to this physical network; update it with updateNetworkServiceProvider",
            n.provider
        ))),
        Err(e) => Err(db_err(e)),
    }
}

pub async fn nsp_get<'e, E: Executor<'e, Database = Any>>(e: E, id: i64) -> Result<Option<ServiceProvider>, Error> {
    let q = format!("{NSP_SELECT} WHERE n.id = $1 AND n.removed IS NULL");
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(id)
        .fetch_optional(e)
        .await
        .map_err(db_err)
}

pub async fn nsp_by_uuid<'e, E: Executor<'e, Database = Any>>(
    e: E,
    uuid: &str,
) -> Result<Option<ServiceProvider>, Error> {
    let q = format!("{NSP_SELECT} WHERE n.uuid = $1 AND n.removed IS NULL");
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(uuid)
        .fetch_optional(e)
        .await
        .map_err(db_err)
}

/// The live provider `provider` (CloudStack's spelling) of a physical network.
pub async fn nsp_by_provider(c: &mut Conn, physnet_id: i64, provider: &str) -> Result<Option<ServiceProvider>, Error> {
    let q = format!("{NSP_SELECT} WHERE n.physical_network_id = $1 AND n.provider = $2 AND n.removed IS NULL");
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(physnet_id)
        .bind(provider)
        .fetch_optional(&mut *c)
        .await
        .map_err(db_err)
}

#[derive(Debug, Default, Clone)]
pub struct NspFilter {
    pub physical_network_id: Option<i64>,
    pub name: Option<String>,
    pub state: Option<ProviderState>,
    pub keyword: Option<String>,
}

pub async fn list_nsp(c: &mut Conn, f: &NspFilter, page: Page) -> Result<(i64, Vec<ServiceProvider>), Error> {
    let mut s = Sql::new("SELECT n.id, COUNT(*) OVER () FROM physical_network_service_provider n");
    s.and("n.removed IS NULL");
    if let Some(p) = f.physical_network_id {
        s.and("n.physical_network_id = ").bind_i64(p);
    }
    if let Some(n) = &f.name {
        s.and("lower(n.provider) = ").bind_str(n.to_lowercase());
    }
    if let Some(st) = &f.state {
        s.and("n.state = ").bind_str(st.as_str().to_string());
    }
    if let Some(k) = &f.keyword {
        s.and_keyword(&["n.provider"], k);
    }
    s.push(" ORDER BY n.id").page(page);
    let (total, ids) = crate::sql::page_ids(&mut *c, &s).await?;
    let mut q = Sql::new(NSP_SELECT);
    q.and_in_i64("n.id", &ids).push(" ORDER BY n.id");
    Ok((total, q.fetch_all(c).await?))
}

/// Update a provider's `state` and `services`.
pub async fn update_nsp(c: &mut Conn, id: i64, cols: &[(&str, Option<String>)]) -> Result<(), Error> {
    set_columns(c, "physical_network_service_provider", id, cols).await
}

/// Remove a provider and its router element. Idempotent.
pub async fn remove_nsp(c: &mut Conn, id: i64, now: i64) -> Result<(), Error> {
    for q in [
        "UPDATE virtual_router_element SET removed = $1 WHERE nsp_id = $2 AND removed IS NULL",
        "UPDATE physical_network_service_provider SET removed = $1 WHERE id = $2 AND removed IS NULL",
    ] {
        sqlx::query(q)
            .bind(now)
            .bind(id)
            .execute(&mut *c)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Virtual router elements

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VrElement {
    pub id: i64,
    pub uuid: String,
    pub nsp_id: i64,
    /// `VirtualRouter` or `VPCVirtualRouter` (CloudStack's `VirtualRouterProvider.Type`).
    pub provider_type: String,
    pub enabled: i64,
    pub created: i64,
    pub nsp_uuid: String,
    pub nsp_provider: String,
    pub physical_network_id: i64,
    /// The ROOT domain (router elements belong to the system account).
    pub domain_uuid: Option<String>,
}

const VR_SELECT: &str = "SELECT v.id, v.uuid, v.nsp_id, v.provider_type, v.enabled, v.created, n.uuid AS nsp_uuid, \
     n.provider AS nsp_provider, n.physical_network_id AS physical_network_id, \
     (SELECT d.uuid FROM domain d WHERE d.parent_id IS NULL ORDER BY d.id LIMIT 1) AS domain_uuid \
     FROM virtual_router_element v JOIN physical_network_service_provider n ON n.id = v.nsp_id";

pub async fn insert_vr(c: &mut Conn, uuid: &str, nsp_id: i64, provider_type: &str, now: i64) -> Result<i64, Error> {
    let r: Result<(i64,), _> = sqlx::query_as(
        "INSERT INTO virtual_router_element (uuid, nsp_id, provider_type, enabled, created) \
         VALUES ($1, $2, $3, 0, $4) RETURNING id",
    )
    .bind(uuid)
    .bind(nsp_id)
    .bind(provider_type)
    .bind(now)
    .fetch_one(&mut *c)
    .await;
    match r {
        Ok((id,)) => Ok(id),
        Err(e) if is_unique_violation(&e) => Err(Error::invalid(
            "This provider already has a virtual router element; configure it with configureVirtualRouterElement",
        )),
        Err(e) => Err(db_err(e)),
    }
}

pub async fn vr_get<'e, E: Executor<'e, Database = Any>>(e: E, id: i64) -> Result<Option<VrElement>, Error> {
    let q = format!("{VR_SELECT} WHERE v.id = $1 AND v.removed IS NULL");
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(id)
        .fetch_optional(e)
        .await
        .map_err(db_err)
}

pub async fn vr_by_uuid<'e, E: Executor<'e, Database = Any>>(e: E, uuid: &str) -> Result<Option<VrElement>, Error> {
    let q = format!("{VR_SELECT} WHERE v.uuid = $1 AND v.removed IS NULL");
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(uuid)
        .fetch_optional(e)
        .await
        .map_err(db_err)
}

pub async fn vr_by_nsp(c: &mut Conn, nsp_id: i64) -> Result<Option<VrElement>, Error> {
    let q = format!("{VR_SELECT} WHERE v.nsp_id = $1 AND v.removed IS NULL");
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(nsp_id)
        .fetch_optional(&mut *c)
        .await
        .map_err(db_err)
}

#[derive(Debug, Default, Clone)]
pub struct VrFilter {
    pub id: Option<i64>,
    pub nsp_id: Option<i64>,
    pub enabled: Option<bool>,
}

pub async fn list_vr(c: &mut Conn, f: &VrFilter, page: Page) -> Result<(i64, Vec<VrElement>), Error> {
    let mut s = Sql::new("SELECT v.id, COUNT(*) OVER () FROM virtual_router_element v");
    s.and("v.removed IS NULL");
    if let Some(id) = f.id {
        s.and("v.id = ").bind_i64(id);
    }
    if let Some(n) = f.nsp_id {
        s.and("v.nsp_id = ").bind_i64(n);
    }
    if let Some(e) = f.enabled {
        s.and("v.enabled = ").bind_i64(i64::from(e));
    }
    s.push(" ORDER BY v.id").page(page);
    let (total, ids) = crate::sql::page_ids(&mut *c, &s).await?;
    let mut q = Sql::new(VR_SELECT);
    q.and_in_i64("v.id", &ids).push(" ORDER BY v.id");
    Ok((total, q.fetch_all(c).await?))
}

pub async fn set_vr_enabled(c: &mut Conn, id: i64, enabled: bool) -> Result<(), Error> {
    sqlx::query("UPDATE virtual_router_element SET enabled = $1 WHERE id = $2")
        .bind(i64::from(enabled))
        .bind(id)
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
    Ok(())
}
