//! Network offerings and their service→provider maps (`network_offering_service`, one row per
//! (offering, service, provider)), with optional zone and domain restrictions.

use ferrostack_types::state::NetworkOfferingState;
use ferrostack_types::{Error, Page};
use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

use crate::{db_err, is_unique_violation, Conn, Sql};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NetworkOffering {
    pub id: i64,
    pub uuid: String,
    pub name: String,
    pub unique_name: Option<String>,
    pub display_text: String,
    /// `Guest`, or `Public`/`Management`/`Control`/`Storage` for the system traffic offerings.
    pub traffic_type: String,
    /// `Shared`, `Isolated` or `L2`; empty for the system traffic offerings.
    pub guest_type: String,
    /// `Enabled` or `Disabled`.
    #[sqlx(try_from = "String")]
    pub state: NetworkOfferingState,
    pub is_default: i64,
    pub system_only: i64,
    pub specify_vlan: i64,
    pub specify_ip_ranges: i64,
    pub conserve_mode: i64,
    /// `Optional` or `Required`.
    pub availability: String,
    pub is_persistent: i64,
    pub for_vpc: i64,
    pub egress_default_policy: i64,
    pub network_rate: Option<i64>,
    pub tags: Option<String>,
    pub sort_key: i64,
    /// `peraccount` / `perzone` when the offering has SourceNat.
    pub source_nat_type: Option<String>,
    pub redundant_router: i64,
    pub elastic_ip: i64,
    pub associate_public_ip: i64,
    pub elastic_lb: i64,
    /// `dedicated` or `shared`.
    pub lb_isolation: String,
    pub internal_lb: i64,
    pub public_lb: i64,
    pub supports_vm_autoscaling: i64,
    pub created: i64,
}

const COLS: &str = "o.id, o.uuid, o.name, o.unique_name, o.display_text, o.traffic_type, \
     COALESCE(o.guest_type, '') AS guest_type, o.state, o.is_default, o.system_only, o.specify_vlan, \
     o.specify_ip_ranges, o.conserve_mode, o.availability, o.is_persistent, o.for_vpc, o.egress_default_policy, \
     o.network_rate, o.tags, o.sort_key, o.source_nat_type, o.redundant_router, o.elastic_ip, o.associate_public_ip, \
     o.elastic_lb, o.lb_isolation, o.internal_lb, o.public_lb, o.supports_vm_autoscaling, o.created";

fn select() -> String {
    format!("SELECT {COLS} FROM network_offering o")
}

pub struct NewNetworkOffering<'a> {
    pub uuid: &'a str,
    pub name: &'a str,
    pub unique_name: Option<&'a str>,
    pub display_text: &'a str,
    pub traffic_type: &'a str,
    pub guest_type: Option<&'a str>,
    pub state: NetworkOfferingState,
    pub is_default: bool,
    pub system_only: bool,
    pub specify_vlan: bool,
    pub specify_ip_ranges: bool,
    pub conserve_mode: bool,
    pub availability: &'a str,
    pub is_persistent: bool,
    pub for_vpc: bool,
    pub egress_default_policy: bool,
    pub network_rate: Option<i64>,
    pub tags: Option<&'a str>,
    pub source_nat_type: Option<&'a str>,
    pub redundant_router: bool,
    pub elastic_ip: bool,
    pub associate_public_ip: bool,
    pub elastic_lb: bool,
    pub lb_isolation: &'a str,
    pub internal_lb: bool,
    pub public_lb: bool,
    pub supports_vm_autoscaling: bool,
    pub now: i64,
}

pub async fn insert(c: &mut Conn, o: NewNetworkOffering<'_>) -> Result<i64, Error> {
    let b = i64::from;
    let r: Result<(i64,), _> = sqlx::query_as(
        "INSERT INTO network_offering (uuid, name, unique_name, display_text, traffic_type, guest_type, state, \
         is_default, system_only, specify_vlan, specify_ip_ranges, conserve_mode, availability, is_persistent, \
         for_vpc, egress_default_policy, network_rate, tags, sort_key, source_nat_type, redundant_router, elastic_ip, \
         associate_public_ip, elastic_lb, lb_isolation, internal_lb, public_lb, supports_vm_autoscaling, created) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, 0, $19, $20, $21, \
         $22, $23, $24, $25, $26, $27, $28) RETURNING id",
    )
    .bind(o.uuid)
    .bind(o.name)
    .bind(o.unique_name)
    .bind(o.display_text)
    .bind(o.traffic_type)
    .bind(o.guest_type)
    .bind(o.state.as_str())
    .bind(b(o.is_default))
    .bind(b(o.system_only))
    .bind(b(o.specify_vlan))
    .bind(b(o.specify_ip_ranges))
    .bind(b(o.conserve_mode))
    .bind(o.availability)
    .bind(b(o.is_persistent))
    .bind(b(o.for_vpc))
    .bind(b(o.egress_default_policy))
    .bind(o.network_rate)
    .bind(o.tags)
    .bind(o.source_nat_type)
    .bind(b(o.redundant_router))
    .bind(b(o.elastic_ip))
    .bind(b(o.associate_public_ip))
    .bind(b(o.elastic_lb))
    .bind(o.lb_isolation)
    .bind(b(o.internal_lb))
    .bind(b(o.public_lb))
    .bind(b(o.supports_vm_autoscaling))
    .bind(o.now)
    .fetch_one(&mut *c)
    .await;
    match r {
        Ok((id,)) => Ok(id),
        Err(e) if is_unique_violation(&e) => Err(Error::invalid(format!(
            "A network offering named {} already exists; choose another name",
            o.name
        ))),
        Err(e) => Err(db_err(e)),
    }
}

/// Add one (service, provider) row to an offering's map; a repeated pair is ignored.
pub async fn insert_service(c: &mut Conn, offering_id: i64, service: &str, provider: &str) -> Result<(), Error> {
    let r = sqlx::query("INSERT INTO network_offering_service (offering_id, service, provider) VALUES ($1, $2, $3)")
        .bind(offering_id)
        .bind(service)
        .bind(provider)
        .execute(&mut *c)
        .await;
    match r {
        Ok(_) => Ok(()),
        Err(e) if is_unique_violation(&e) => Ok(()),
        Err(e) => Err(db_err(e)),
    }
}

pub async fn insert_zone(c: &mut Conn, offering_id: i64, zone_id: i64) -> Result<(), Error> {
    sqlx::query("INSERT INTO network_offering_zone (offering_id, zone_id) VALUES ($1, $2)")
        .bind(offering_id)
        .bind(zone_id)
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
    Ok(())
}

pub async fn insert_domain(c: &mut Conn, offering_id: i64, domain_id: i64) -> Result<(), Error> {
    sqlx::query("INSERT INTO network_offering_domain (offering_id, domain_id) VALUES ($1, $2)")
        .bind(offering_id)
        .bind(domain_id)
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
    Ok(())
}

pub async fn get<'e, E: Executor<'e, Database = Any>>(e: E, id: i64) -> Result<Option<NetworkOffering>, Error> {
    let q = format!("{} WHERE o.id = $1 AND o.removed IS NULL", select());
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(id)
        .fetch_optional(e)
        .await
        .map_err(db_err)
}

pub async fn by_uuid<'e, E: Executor<'e, Database = Any>>(e: E, uuid: &str) -> Result<Option<NetworkOffering>, Error> {
    let q = format!("{} WHERE o.uuid = $1 AND o.removed IS NULL", select());
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(uuid)
        .fetch_optional(e)
        .await
        .map_err(db_err)
}

pub async fn by_name<'e, E: Executor<'e, Database = Any>>(e: E, name: &str) -> Result<Option<NetworkOffering>, Error> {
    let q = format!("{} WHERE lower(o.name) = $1 AND o.removed IS NULL", select());
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(name.to_lowercase())
        .fetch_optional(e)
        .await
        .map_err(db_err)
}

/// Whether any default offering exists (seeding has run).
pub async fn any_default(c: &mut Conn) -> Result<bool, Error> {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM network_offering WHERE is_default = 1")
        .fetch_one(&mut *c)
        .await
        .map_err(db_err)?;
    Ok(n > 0)
}

/// One (offering, service, provider) row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRow {
    pub offering_id: i64,
    pub service: String,
    pub provider: String,
}

/// The service rows of several offerings in one query, in insertion order.
pub async fn services_of(c: &mut Conn, offering_ids: &[i64]) -> Result<Vec<ServiceRow>, Error> {
    let mut q = Sql::new("SELECT offering_id, service, provider FROM network_offering_service");
    q.and_in_i64("offering_id", offering_ids).push(" ORDER BY id");
    q.query()
        .try_map(|r: AnyRow| {
            Ok(ServiceRow {
                offering_id: r.try_get(0)?,
                service: r.try_get(1)?,
                provider: r.try_get(2)?,
            })
        })
        .fetch_all(&mut *c)
        .await
        .map_err(db_err)
}

/// A zone or domain an offering is restricted to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub offering_id: i64,
    pub uuid: String,
    pub name: String,
}

/// The zones (`network_offering_zone`) or domains (`network_offering_domain`) of several offerings.
async fn scopes_of(c: &mut Conn, zones: bool, offering_ids: &[i64]) -> Result<Vec<Scope>, Error> {
    let (table, target, col) = if zones {
        ("network_offering_zone", "zone", "zone_id")
    } else {
        ("network_offering_domain", "domain", "domain_id")
    };
    let mut q = Sql::new(format!(
        "SELECT x.offering_id, t.uuid, t.name FROM {table} x JOIN {target} t ON t.id = x.{col}"
    ));
    q.and_in_i64("x.offering_id", offering_ids).push(" ORDER BY t.id");
    q.query()
        .try_map(|r: AnyRow| {
            Ok(Scope {
                offering_id: r.try_get(0)?,
                uuid: r.try_get(1)?,
                name: r.try_get(2)?,
            })
        })
        .fetch_all(&mut *c)
        .await
        .map_err(db_err)
}

pub async fn zones_of(c: &mut Conn, offering_ids: &[i64]) -> Result<Vec<Scope>, Error> {
    scopes_of(c, true, offering_ids).await
}

pub async fn domains_of(c: &mut Conn, offering_ids: &[i64]) -> Result<Vec<Scope>, Error> {
    scopes_of(c, false, offering_ids).await
}

#[derive(Debug, Default, Clone)]
pub struct OfferingFilter {
    pub id: Option<i64>,
    pub name: Option<String>,
    pub display_text: Option<String>,
    pub zone_id: Option<i64>,
    pub guest_type: Option<String>,
    pub traffic_type: Option<String>,
    pub state: Option<NetworkOfferingState>,
    pub availability: Option<String>,
    /// Offerings having every one of these services (CloudStack's spelling).
    pub services: Vec<String>,
    pub source_nat: Option<bool>,
    pub specify_vlan: Option<bool>,
    pub specify_ip_ranges: Option<bool>,
    pub for_vpc: Option<bool>,
    pub is_default: Option<bool>,
    pub is_tagged: Option<bool>,
    pub tags: Option<String>,
    pub keyword: Option<String>,
    /// Include the system-only offerings (never shown by `listNetworkOfferings`).
    pub include_system: bool,
    /// Only offerings usable from this domain path (unrestricted, or restricted to an
    /// ancestor-or-self domain); `None` for root admins.
    pub visible_from: Option<String>,
}

fn has_service(s: &mut Sql, service: &str) {
    s.and("EXISTS (SELECT 1 FROM network_offering_service x WHERE x.offering_id = o.id AND lower(x.service) = ")
        .bind_str(service.to_lowercase())
        .push(")");
}

fn flag(s: &mut Sql, column: &str, v: Option<bool>) {
    if let Some(v) = v {
        s.and(column).push(" = ").bind_i64(i64::from(v));
    }
}

pub async fn list(c: &mut Conn, f: &OfferingFilter, page: Page) -> Result<(i64, Vec<NetworkOffering>), Error> {
    let mut s = Sql::new("SELECT o.id, COUNT(*) OVER () FROM network_offering o");
    s.and("o.removed IS NULL");
    if !f.include_system {
        s.and("o.system_only = 0");
    }
    if let Some(id) = f.id {
        s.and("o.id = ").bind_i64(id);
    }
    if let Some(n) = &f.name {
        s.and("lower(o.name) = ").bind_str(n.to_lowercase());
    }
    if let Some(n) = &f.display_text {
        s.and("lower(o.display_text) = ").bind_str(n.to_lowercase());
    }
    if let Some(z) = f.zone_id {
        s.and("(NOT EXISTS (SELECT 1 FROM network_offering_zone x WHERE x.offering_id = o.id) OR EXISTS (SELECT 1 FROM network_offering_zone x WHERE x.offering_id = o.id AND x.zone_id = ")
            .bind_i64(z)
            .push("))");
    }
    for (col, v) in [
        ("o.guest_type", &f.guest_type),
        ("o.traffic_type", &f.traffic_type),
        ("o.availability", &f.availability),
        ("o.tags", &f.tags),
    ] {
        if let Some(v) = v {
            s.and("lower(").push(col).push(") = ").bind_str(v.to_lowercase());
        }
    }
    if let Some(st) = f.state {
        s.and("o.state = ").bind_str(st.as_str().to_string());
    }
    for svc in &f.services {
        has_service(&mut s, svc);
    }
    match f.source_nat {
        Some(true) => has_service(&mut s, "SourceNat"),
        Some(false) => {
            s.and("NOT EXISTS (SELECT 1 FROM network_offering_service x WHERE x.offering_id = o.id AND x.service = 'SourceNat')");
        }
        None => {}
    }
    flag(&mut s, "o.specify_vlan", f.specify_vlan);
    flag(&mut s, "o.specify_ip_ranges", f.specify_ip_ranges);
    flag(&mut s, "o.for_vpc", f.for_vpc);
    flag(&mut s, "o.is_default", f.is_default);
    match f.is_tagged {
        Some(true) => {
            s.and("o.tags IS NOT NULL");
        }
        Some(false) => {
            s.and("o.tags IS NULL");
        }
        None => {}
    }
    if let Some(path) = &f.visible_from {
        s.and("(NOT EXISTS (SELECT 1 FROM network_offering_domain x WHERE x.offering_id = o.id) OR EXISTS (SELECT 1 FROM network_offering_domain x JOIN domain d ON d.id = x.domain_id WHERE x.offering_id = o.id AND d.path = substr(")
            .bind_str(path.clone())
            .push(", 1, length(d.path))))");
    }
    if let Some(k) = &f.keyword {
        s.and_keyword(&["o.name", "o.display_text"], k);
    }
    s.push(" ORDER BY o.sort_key, o.id").page(page);
    let (total, ids) = crate::sql::page_ids(&mut *c, &s).await?;
    let mut q = Sql::new(select());
    q.and_in_i64("o.id", &ids).push(" ORDER BY o.sort_key, o.id");
    Ok((total, q.fetch_all(c).await?))
}

/// Update `name`, `display_text`, `state`, `availability`, `tags` (strings) of an offering.
pub async fn update(
    c: &mut Conn,
    id: i64,
    cols: &[(&str, Option<String>)],
    sort_key: Option<i64>,
) -> Result<(), Error> {
    let mut s = Sql::new("UPDATE network_offering SET id = id");
    for (col, v) in cols {
        if let Some(v) = v {
            s.push(", ").push(col).push(" = ").bind_str(v.clone());
        }
    }
    if let Some(k) = sort_key {
        s.push(", sort_key = ").bind_i64(k);
    }
    s.push(" WHERE id = ").bind_i64(id);
    match s.query().execute(&mut *c).await {
        Ok(_) => Ok(()),
        Err(e) if is_unique_violation(&e) => Err(Error::invalid(
            "A network offering with that name already exists; choose another name",
        )),
        Err(e) => Err(db_err(e)),
    }
}

/// How many live guest networks (table `network`) use the offering.
pub async fn netoffering_in_use(c: &mut Conn, offering_id: i64) -> Result<i64, Error> {
    crate::physnet::count_refs(c, "network", "network_offering_id", offering_id).await
}
