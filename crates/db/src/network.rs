//! Guest networks, their service→provider maps, IP ranges, and address allocation.

use ferrostack_types::state::{NetworkState, PublicIpState};
use ferrostack_types::{Error, Page};
use sqlx::{Any, Executor};

use crate::account::OwnerScope;
use crate::{db_err, is_unique_violation, Conn, Sql};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Network {
    pub id: i64,
    pub uuid: String,
    pub name: String,
    pub display_text: String,
    pub zone_id: i64,
    pub physical_network_id: Option<i64>,
    pub network_offering_id: i64,
    pub guest_type: String,
    pub traffic_type: String,
    #[sqlx(try_from = "String")]
    pub state: NetworkState,
    pub acl_type: String,
    pub broadcast_uri: Option<String>,
    pub cidr: Option<String>,
    pub gateway: Option<String>,
    pub netmask: Option<String>,
    pub network_domain: Option<String>,
    pub dns1: Option<String>,
    pub dns2: Option<String>,
    pub account_id: i64,
    pub domain_id: i64,
    pub restart_required: i64,
    pub created: i64,
    pub removed: Option<i64>,
    pub zone_uuid: String,
    pub zone_name: String,
    pub zone_type: String,
    pub offering_uuid: Option<String>,
    pub offering_name: Option<String>,
    pub offering_display_text: Option<String>,
    pub physnet_uuid: Option<String>,
    pub account_name: Option<String>,
    pub domain_uuid: Option<String>,
    pub domain_name: Option<String>,
    pub domain_path: Option<String>,
}

const SELECT: &str = "SELECT n.id, n.uuid, n.name, n.display_text, n.zone_id, n.physical_network_id, \
     n.network_offering_id, n.guest_type, n.traffic_type, n.state, n.acl_type, n.broadcast_uri, n.cidr, n.gateway, \
     n.netmask, n.network_domain, n.dns1, n.dns2, n.account_id, n.domain_id, n.restart_required, n.created, n.removed, \
     z.uuid AS zone_uuid, z.name AS zone_name, z.zone_type AS zone_type, o.uuid AS offering_uuid, \
     o.name AS offering_name, o.display_text AS offering_display_text, p.uuid AS physnet_uuid, \
     a.name AS account_name, d.uuid AS domain_uuid, d.name AS domain_name, d.path AS domain_path \
     FROM network n JOIN zone z ON z.id = n.zone_id LEFT JOIN network_offering o ON o.id = n.network_offering_id \
     LEFT JOIN physical_network p ON p.id = n.physical_network_id LEFT JOIN account a ON a.id = n.account_id \
     LEFT JOIN domain d ON d.id = n.domain_id";

pub struct NewNetwork<'a> {
    pub uuid: &'a str,
    pub name: &'a str,
    pub display_text: &'a str,
    pub zone_id: i64,
    pub physical_network_id: Option<i64>,
    pub network_offering_id: i64,
    pub guest_type: &'a str,
    pub state: NetworkState,
    pub acl_type: &'a str,
    pub broadcast_uri: Option<&'a str>,
    pub cidr: Option<&'a str>,
    pub gateway: Option<&'a str>,
    pub netmask: Option<&'a str>,
    pub network_domain: Option<&'a str>,
    pub dns1: Option<&'a str>,
    pub dns2: Option<&'a str>,
    pub account_id: i64,
    pub domain_id: i64,
    pub now: i64,
}

pub async fn insert(c: &mut Conn, n: NewNetwork<'_>) -> Result<i64, Error> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO network (uuid, name, display_text, zone_id, physical_network_id, network_offering_id, guest_type, \
         traffic_type, state, acl_type, broadcast_uri, cidr, gateway, netmask, network_domain, dns1, dns2, account_id, \
         domain_id, restart_required, created) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'Guest', $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, 0, $19) \
         RETURNING id",
    )
    .bind(n.uuid)
    .bind(n.name)
    .bind(n.display_text)
    .bind(n.zone_id)
    .bind(n.physical_network_id)
    .bind(n.network_offering_id)
    .bind(n.guest_type)
    .bind(n.state.as_str())
    .bind(n.acl_type)
    .bind(n.broadcast_uri)
    .bind(n.cidr)
    .bind(n.gateway)
    .bind(n.netmask)
    .bind(n.network_domain)
    .bind(n.dns1)
    .bind(n.dns2)
    .bind(n.account_id)
    .bind(n.domain_id)
    .bind(n.now)
    .fetch_one(&mut *c)
    .await
    .map_err(db_err)?;
    Ok(id)
}

pub async fn insert_service(c: &mut Conn, network_id: i64, service: &str, provider: &str) -> Result<(), Error> {
    sqlx::query("INSERT INTO network_service_map (network_id, service, provider) VALUES ($1, $2, $3)")
        .bind(network_id)
        .bind(service)
        .bind(provider)
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// The network's own service→provider map as stored: (service, provider) names.
pub async fn services<'e, E: Executor<'e, Database = Any>>(
    e: E,
    network_id: i64,
) -> Result<Vec<(String, String)>, Error> {
    sqlx::query_as("SELECT service, provider FROM network_service_map WHERE network_id = $1 ORDER BY service")
        .bind(network_id)
        .fetch_all(e)
        .await
        .map_err(db_err)
}

/// Service maps of many networks in one query: (network id, service, provider).
pub async fn services_of(c: &mut Conn, ids: &[i64]) -> Result<Vec<(i64, String, String)>, Error> {
    let mut q = Sql::new("SELECT network_id, service, provider FROM network_service_map");
    q.and_in_i64("network_id", ids).push(" ORDER BY network_id, service");
    q.fetch_all(c).await
}

pub async fn get<'e, E: Executor<'e, Database = Any>>(e: E, id: i64) -> Result<Option<Network>, Error> {
    let q = format!("{SELECT} WHERE n.id = $1 AND n.removed IS NULL");
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(id)
        .fetch_optional(e)
        .await
        .map_err(db_err)
}

/// A network row even when removed: cleanup of things whose network is gone still needs
/// its identity, and absence must be an answer, not a crash.
pub async fn get_including_removed<'e, E: Executor<'e, Database = Any>>(
    e: E,
    id: i64,
) -> Result<Option<Network>, Error> {
    let q = format!("{SELECT} WHERE n.id = $1");
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(id)
        .fetch_optional(e)
        .await
        .map_err(db_err)
}

pub async fn by_uuid<'e, E: Executor<'e, Database = Any>>(e: E, uuid: &str) -> Result<Option<Network>, Error> {
    let q = format!("{SELECT} WHERE n.uuid = $1 AND n.removed IS NULL");
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(uuid)
        .fetch_optional(e)
        .await
        .map_err(db_err)
}

/// A network by uuid, removed ones included (list commands resolve ids of removed networks to an
/// empty answer, as CloudStack does).
pub async fn by_uuid_including_removed<'e, E: Executor<'e, Database = Any>>(
    e: E,
    uuid: &str,
) -> Result<Option<Network>, Error> {
    let q = format!("{SELECT} WHERE n.uuid = $1");
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(uuid)
        .fetch_optional(e)
        .await
        .map_err(db_err)
}

#[derive(Debug, Default, Clone)]
pub struct NetworkFilter {
    pub id: Option<i64>,
    pub zone_id: Option<i64>,
    pub guest_type: Option<String>,
    pub state: Option<NetworkState>,
    pub physical_network_id: Option<i64>,
    pub offering_id: Option<i64>,
    pub name: Option<String>,
    pub keyword: Option<String>,
    /// Also include domain/zone-wide shared networks visible to the scoped owners.
    pub include_shared_domains: Option<Vec<i64>>,
    /// `tags[N].key/value`: networks having any of these tags.
    pub tags: Vec<crate::tag::TagMatch>,
}

pub async fn list(
    c: &mut Conn,
    scope: &OwnerScope,
    f: &NetworkFilter,
    page: Page,
) -> Result<(i64, Vec<Network>), Error> {
    let mut s = Sql::new("SELECT n.id, COUNT(*) OVER () FROM network n");
    s.and("n.removed IS NULL").and("n.traffic_type = 'Guest'");
    match (&f.include_shared_domains, scope) {
        (Some(domains), OwnerScope::Account(a)) => {
            // The account's own networks, plus Domain-ACL networks of its domain line.
            s.and("(n.account_id = ")
                .bind_i64(a.0)
                .push(" OR (n.acl_type = 'Domain' AND n.domain_id IN (");
            for (i, d) in domains.iter().enumerate() {
                if i > 0 {
                    s.push(", ");
                }
                s.bind_i64(*d);
            }
            if domains.is_empty() {
                s.push("NULL");
            }
            s.push(")))");
        }
        (Some(_), OwnerScope::All | OwnerScope::Domains(_)) | (None, _) => {
            scope.apply(&mut s, "n.account_id", "n.domain_id")
        }
    }
    if let Some(v) = f.id {
        s.and("n.id = ").bind_i64(v);
    }
    if let Some(v) = f.zone_id {
        s.and("n.zone_id = ").bind_i64(v);
    }
    if let Some(v) = &f.guest_type {
        s.and("lower(n.guest_type) = ").bind_str(v.to_lowercase());
    }
    if let Some(v) = &f.state {
        s.and("n.state = ").bind_str(v.as_str().to_string());
    }
    if let Some(v) = f.physical_network_id {
        s.and("n.physical_network_id = ").bind_i64(v);
    }
    if let Some(v) = f.offering_id {
        s.and("n.network_offering_id = ").bind_i64(v);
    }
    if let Some(v) = &f.name {
        s.and("lower(n.name) = ").bind_str(v.to_lowercase());
    }
    if let Some(k) = &f.keyword {
        s.and_keyword(&["n.name", "n.display_text"], k);
    }
    crate::tag::and_tags(&mut s, crate::tag::ResourceType::Network, "n.id", &f.tags);
    s.push(" ORDER BY n.id").page(page);
    let (total, ids) = crate::sql::page_ids(&mut *c, &s).await?;
    let mut q = Sql::new(SELECT);
    q.and_in_i64("n.id", &ids).push(" ORDER BY n.id");
    Ok((total, q.fetch_all(c).await?))
}

/// Move a network from `from` to `to` only if it is still in `from` (compare-and-set).
pub async fn cas_state<'e, E: Executor<'e, Database = Any>>(
    e: E,
    id: i64,
    from: NetworkState,
    to: NetworkState,
) -> Result<bool, Error> {
    let r = sqlx::query("UPDATE network SET state = $1 WHERE id = $2 AND state = $3 AND removed IS NULL")
        .bind(to.as_str())
        .bind(id)
        .bind(from.as_str())
        .execute(e)
        .await
        .map_err(db_err)?;
    Ok(r.rows_affected() == 1)
}

pub async fn update(c: &mut Conn, id: i64, cols: &[(&str, Option<String>)]) -> Result<(), Error> {
    crate::sql::update_columns(c, "network", id, cols, "A network with that name already exists").await
}

pub async fn mark_removed(c: &mut Conn, id: i64, now: i64) -> Result<(), Error> {
    sqlx::query("UPDATE network SET removed = $1, state = 'Destroy' WHERE id = $2 AND removed IS NULL")
        .bind(now)
        .bind(id)
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Whether a VLAN (broadcast URI) is already used by a live network of the zone.
pub async fn vlan_in_use(c: &mut Conn, zone_id: i64, broadcast_uri: &str) -> Result<bool, Error> {
    let (n,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM network WHERE zone_id = $1 AND broadcast_uri = $2 AND removed IS NULL")
            .bind(zone_id)
            .bind(broadcast_uri)
            .fetch_one(&mut *c)
            .await
            .map_err(db_err)?;
    Ok(n > 0)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct IpRange {
    pub id: i64,
    pub uuid: String,
    pub zone_id: i64,
    pub pod_id: Option<i64>,
    pub physical_network_id: Option<i64>,
    pub network_id: Option<i64>,
    pub vlan: Option<String>,
    pub gateway: String,
    pub netmask: String,
    pub start_ip: String,
    pub end_ip: String,
    pub start_num: i64,
    pub end_num: i64,
    pub for_virtual_network: i64,
    pub account_id: Option<i64>,
    pub domain_id: Option<i64>,
    pub created: i64,
    pub zone_uuid: String,
    pub network_uuid: Option<String>,
    pub physnet_uuid: Option<String>,
}

const RANGE_SELECT: &str = "SELECT r.id, r.uuid, r.zone_id, r.pod_id, r.physical_network_id, r.network_id, r.vlan, \
     r.gateway, r.netmask, r.start_ip, r.end_ip, r.start_num, r.end_num, r.for_virtual_network, r.account_id, \
     r.domain_id, r.created, z.uuid AS zone_uuid, n.uuid AS network_uuid, p.uuid AS physnet_uuid FROM ip_range r \
     JOIN zone z ON z.id = r.zone_id LEFT JOIN network n ON n.id = r.network_id \
     LEFT JOIN physical_network p ON p.id = r.physical_network_id";

pub struct NewRange<'a> {
    pub uuid: &'a str,
    pub zone_id: i64,
    pub physical_network_id: Option<i64>,
    pub network_id: Option<i64>,
    pub vlan: Option<&'a str>,
    pub gateway: &'a str,
    pub netmask: &'a str,
    pub start_ip: &'a str,
    pub end_ip: &'a str,
    pub start_num: i64,
    pub end_num: i64,
    pub for_virtual_network: bool,
    pub account_id: Option<i64>,
    pub domain_id: Option<i64>,
    pub now: i64,
}

pub async fn insert_range(c: &mut Conn, r: NewRange<'_>) -> Result<i64, Error> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO ip_range (uuid, zone_id, physical_network_id, network_id, vlan, gateway, netmask, start_ip, end_ip, \
         start_num, end_num, for_virtual_network, account_id, domain_id, created) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id",
    )
    .bind(r.uuid)
    .bind(r.zone_id)
    .bind(r.physical_network_id)
    .bind(r.network_id)
    .bind(r.vlan)
    .bind(r.gateway)
    .bind(r.netmask)
    .bind(r.start_ip)
    .bind(r.end_ip)
    .bind(r.start_num)
    .bind(r.end_num)
    .bind(i64::from(r.for_virtual_network))
    .bind(r.account_id)
    .bind(r.domain_id)
    .bind(r.now)
    .fetch_one(&mut *c)
    .await
    .map_err(db_err)?;
    Ok(id)
}

/// Live ranges of a zone (overlap checks) or of one network.
pub async fn ranges(c: &mut Conn, zone_id: i64, network_id: Option<i64>) -> Result<Vec<IpRange>, Error> {
    let mut q = Sql::new(RANGE_SELECT);
    q.and("r.removed IS NULL").and("r.zone_id = ").bind_i64(zone_id);
    if let Some(n) = network_id {
        q.and("r.network_id = ").bind_i64(n);
    }
    q.push(" ORDER BY r.id");
    q.fetch_all(c).await
}

#[derive(Debug, Default, Clone)]
pub struct RangeFilter {
    pub id: Option<i64>,
    pub zone_id: Option<i64>,
    pub network_id: Option<i64>,
    pub physical_network_id: Option<i64>,
    pub for_virtual_network: Option<bool>,
    pub vlan: Option<String>,
}

pub async fn list_ranges(c: &mut Conn, f: &RangeFilter, page: Page) -> Result<(i64, Vec<IpRange>), Error> {
    let mut s = Sql::new("SELECT r.id, COUNT(*) OVER () FROM ip_range r");
    s.and("r.removed IS NULL");
    if let Some(v) = f.id {
        s.and("r.id = ").bind_i64(v);
    }
    if let Some(v) = f.zone_id {
        s.and("r.zone_id = ").bind_i64(v);
    }
    if let Some(v) = f.network_id {
        s.and("r.network_id = ").bind_i64(v);
    }
    if let Some(v) = f.physical_network_id {
        s.and("r.physical_network_id = ").bind_i64(v);
    }
    if let Some(v) = f.for_virtual_network {
        s.and("r.for_virtual_network = ").bind_i64(i64::from(v));
    }
    if let Some(v) = &f.vlan {
        s.and("r.vlan = ").bind_str(v.clone());
    }
    s.push(" ORDER BY r.id").page(page);
    let (total, ids) = crate::sql::page_ids(&mut *c, &s).await?;
    let mut q = Sql::new(RANGE_SELECT);
    q.and_in_i64("r.id", &ids).push(" ORDER BY r.id");
    Ok((total, q.fetch_all(c).await?))
}

pub async fn range_by_uuid(c: &mut Conn, uuid: &str) -> Result<Option<IpRange>, Error> {
    let mut q = Sql::new(RANGE_SELECT);
    q.and("r.removed IS NULL").and("r.uuid = ").bind_str(uuid);
    Ok(q.fetch_all(c).await?.pop())
}

pub async fn remove_range(c: &mut Conn, id: i64, now: i64) -> Result<(), Error> {
    sqlx::query("UPDATE ip_range SET removed = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
    sqlx::query("UPDATE public_ip SET removed = $1 WHERE range_id = $2 AND removed IS NULL")
        .bind(now)
        .bind(id)
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Next MAC sequence number (globally unique; the MAC itself is derived from it).
pub async fn next_mac_seq(c: &mut Conn) -> Result<i64, Error> {
    let (v,): (i64,) =
        sqlx::query_as("UPDATE mac_sequence SET next_value = next_value + 1 WHERE id = 1 RETURNING next_value - 1")
            .fetch_one(&mut *c)
            .await
            .map_err(db_err)?;
    Ok(v)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct GuestIp {
    pub id: i64,
    pub network_id: i64,
    pub ip: Option<String>,
    pub ip_num: Option<i64>,
    pub mac: String,
    pub owner_kind: String,
    pub owner_uuid: String,
    pub created: i64,
}

/// Record an allocation. A unique violation means the address (or MAC) was taken meanwhile:
/// `Ok(None)` so the caller picks again.
#[allow(clippy::too_many_arguments)]
pub async fn insert_guest_ip(
    c: &mut Conn,
    network_id: i64,
    ip: Option<&str>,
    ip_num: Option<i64>,
    mac: &str,
    owner_kind: &str,
    owner_uuid: &str,
    now: i64,
) -> Result<Option<i64>, Error> {
    // ON CONFLICT DO NOTHING: a taken address must not abort the surrounding transaction
    // (PostgreSQL would refuse every later statement in it).
    let r: Result<Option<(i64,)>, _> = sqlx::query_as(
        "INSERT INTO guest_ip (network_id, ip, ip_num, mac, owner_kind, owner_uuid, created) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(network_id)
    .bind(ip)
    .bind(ip_num)
    .bind(mac)
    .bind(owner_kind)
    .bind(owner_uuid)
    .bind(now)
    .fetch_optional(&mut *c)
    .await;
    match r {
        Ok(row) => Ok(row.map(|r| r.0)),
        Err(e) if is_unique_violation(&e) => Ok(None),
        Err(e) => Err(db_err(e)),
    }
}

pub async fn guest_ips_of_owner<'e, E: Executor<'e, Database = Any>>(
    e: E,
    owner_uuid: &str,
) -> Result<Vec<GuestIp>, Error> {
    sqlx::query_as("SELECT * FROM guest_ip WHERE owner_uuid = $1 ORDER BY id")
        .bind(owner_uuid)
        .fetch_all(e)
        .await
        .map_err(db_err)
}

pub async fn guest_ips_of_network<'e, E: Executor<'e, Database = Any>>(
    e: E,
    network_id: i64,
) -> Result<Vec<GuestIp>, Error> {
    sqlx::query_as("SELECT * FROM guest_ip WHERE network_id = $1 ORDER BY id")
        .bind(network_id)
        .fetch_all(e)
        .await
        .map_err(db_err)
}

/// Release every address an owner holds (idempotent).
pub async fn release_owner<'e, E: Executor<'e, Database = Any>>(e: E, owner_uuid: &str) -> Result<u64, Error> {
    let r = sqlx::query("DELETE FROM guest_ip WHERE owner_uuid = $1")
        .bind(owner_uuid)
        .execute(e)
        .await
        .map_err(db_err)?;
    Ok(r.rows_affected())
}

/// Release an owner's address on one network (idempotent).
pub async fn release_owner_on<'e, E: Executor<'e, Database = Any>>(
    e: E,
    owner_uuid: &str,
    network_id: i64,
) -> Result<u64, Error> {
    let r = sqlx::query("DELETE FROM guest_ip WHERE owner_uuid = $1 AND network_id = $2")
        .bind(owner_uuid)
        .bind(network_id)
        .execute(e)
        .await
        .map_err(db_err)?;
    Ok(r.rows_affected())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PublicIp {
    pub id: i64,
    pub uuid: String,
    pub zone_id: i64,
    pub range_id: i64,
    pub address: String,
    pub address_num: i64,
    #[sqlx(try_from = "String")]
    pub state: PublicIpState,
    pub source_nat: i64,
    pub network_id: Option<i64>,
    pub account_id: Option<i64>,
    pub domain_id: Option<i64>,
    pub allocated: Option<i64>,
    pub zone_uuid: String,
    pub zone_name: String,
    pub network_uuid: Option<String>,
    pub vlan: Option<String>,
    pub range_uuid: String,
    pub account_name: Option<String>,
    pub domain_uuid: Option<String>,
    pub domain_name: Option<String>,
}

const PUBLIC_SELECT: &str = "SELECT i.id, i.uuid, i.zone_id, i.range_id, i.address, i.address_num, i.state, \
     i.source_nat, i.network_id, i.account_id, i.domain_id, i.allocated, z.uuid AS zone_uuid, z.name AS zone_name, \
     n.uuid AS network_uuid, r.vlan AS vlan, r.uuid AS range_uuid, a.name AS account_name, d.uuid AS domain_uuid, \
     d.name AS domain_name FROM public_ip i JOIN zone z ON z.id = i.zone_id JOIN ip_range r ON r.id = i.range_id \
     LEFT JOIN network n ON n.id = i.network_id LEFT JOIN account a ON a.id = i.account_id \
     LEFT JOIN domain d ON d.id = i.domain_id";

pub async fn insert_public_ips(
    c: &mut Conn,
    zone_id: i64,
    range_id: i64,
    addrs: &[(String, i64)],
) -> Result<(), Error> {
    for chunk in addrs.chunks(200) {
        let mut s = Sql::new(
            "INSERT INTO public_ip (uuid, zone_id, range_id, address, address_num, state, source_nat) VALUES ",
        );
        for (i, (a, n)) in chunk.iter().enumerate() {
            if i > 0 {
                s.push(", ");
            }
            s.push("(");
            s.bind_str(ferrostack_types::ids::new_uuid()).push(", ");
            s.bind_i64(zone_id).push(", ");
            s.bind_i64(range_id).push(", ");
            s.bind_str(a.clone()).push(", ");
            s.bind_i64(*n).push(", 'Free', 0)");
        }
        match s.query().execute(&mut *c).await {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {
                return Err(Error::invalid(
                    "The range overlaps public addresses already in this zone; choose another range",
                ))
            }
            Err(e) => return Err(db_err(e)),
        }
    }
    Ok(())
}

/// Take the lowest free public address of the zone for a network (source NAT).
pub async fn allocate_public_ip(
    c: &mut Conn,
    zone_id: i64,
    network_id: i64,
    account_id: i64,
    domain_id: i64,
    source_nat: bool,
    now: i64,
) -> Result<Option<i64>, Error> {
    let r: Option<(i64,)> = sqlx::query_as(
        "UPDATE public_ip SET state = 'Allocated', network_id = $1, account_id = $2, domain_id = $3, source_nat = $4, \
         allocated = $5 WHERE id = (SELECT id FROM public_ip WHERE zone_id = $6 AND state = 'Free' AND removed IS NULL \
         ORDER BY address_num LIMIT 1) AND state = 'Free' RETURNING id",
    )
    .bind(network_id)
    .bind(account_id)
    .bind(domain_id)
    .bind(i64::from(source_nat))
    .bind(now)
    .bind(zone_id)
    .fetch_optional(&mut *c)
    .await
    .map_err(db_err)?;
    Ok(r.map(|r| r.0))
}

/// Release every public address a network holds (idempotent).
pub async fn release_public_ips(c: &mut Conn, network_id: i64) -> Result<(), Error> {
    sqlx::query(
        "UPDATE public_ip SET state = 'Free', network_id = NULL, account_id = NULL, domain_id = NULL, source_nat = 0, \
         allocated = NULL WHERE network_id = $1",
    )
    .bind(network_id)
    .execute(&mut *c)
    .await
    .map_err(db_err)?;
    Ok(())
}

pub async fn source_nat_ip(c: &mut Conn, network_id: i64) -> Result<Option<PublicIp>, Error> {
    let mut q = Sql::new(PUBLIC_SELECT);
    q.and("i.network_id = ")
        .bind_i64(network_id)
        .and("i.source_nat = 1")
        .and("i.removed IS NULL");
    Ok(q.fetch_all(c).await?.pop())
}

#[derive(Debug, Default, Clone)]
pub struct PublicIpFilter {
    pub id: Option<i64>,
    pub zone_id: Option<i64>,
    pub network_id: Option<i64>,
    pub address: Option<String>,
    pub allocated_only: bool,
    pub free_only: bool,
    pub source_nat: Option<bool>,
    /// `tags[N].key/value`: addresses having any of these tags.
    pub tags: Vec<crate::tag::TagMatch>,
}

pub async fn list_public_ips(
    c: &mut Conn,
    scope: &OwnerScope,
    f: &PublicIpFilter,
    page: Page,
) -> Result<(i64, Vec<PublicIp>), Error> {
    let mut s = Sql::new("SELECT i.id, COUNT(*) OVER () FROM public_ip i");
    s.and("i.removed IS NULL");
    scope.apply(&mut s, "i.account_id", "i.domain_id");
    if let Some(v) = f.id {
        s.and("i.id = ").bind_i64(v);
    }
    if let Some(v) = f.zone_id {
        s.and("i.zone_id = ").bind_i64(v);
    }
    if let Some(v) = f.network_id {
        s.and("i.network_id = ").bind_i64(v);
    }
    if let Some(v) = &f.address {
        s.and("i.address = ").bind_str(v.clone());
    }
    if f.allocated_only {
        s.and("i.state = 'Allocated'");
    }
    if f.free_only {
        s.and("i.state = 'Free'");
    }
    if let Some(v) = f.source_nat {
        s.and("i.source_nat = ").bind_i64(i64::from(v));
    }
    crate::tag::and_tags(&mut s, crate::tag::ResourceType::PublicIpAddress, "i.id", &f.tags);
    s.push(" ORDER BY i.address_num").page(page);
    let (total, ids) = crate::sql::page_ids(&mut *c, &s).await?;
    let mut q = Sql::new(PUBLIC_SELECT);
    q.and_in_i64("i.id", &ids).push(" ORDER BY i.address_num");
    Ok((total, q.fetch_all(c).await?))
}

/// Allocated public addresses of a range (a range in use can't be deleted).
pub async fn public_ips_in_use(c: &mut Conn, range_id: i64) -> Result<i64, Error> {
    let (n,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM public_ip WHERE range_id = $1 AND state <> 'Free' AND removed IS NULL")
            .bind(range_id)
            .fetch_one(&mut *c)
            .await
            .map_err(db_err)?;
    Ok(n)
}

/// The zone's system network of a traffic type (Control, Public), if created.
pub async fn system_network_id(c: &mut Conn, zone_id: i64, traffic: &str) -> Result<Option<i64>, Error> {
    let r: Option<(i64,)> = sqlx::query_as(
        "SELECT id FROM network WHERE zone_id = $1 AND traffic_type = $2 AND removed IS NULL ORDER BY id LIMIT 1",
    )
    .bind(zone_id)
    .bind(traffic)
    .fetch_optional(&mut *c)
    .await
    .map_err(db_err)?;
    Ok(r.map(|r| r.0))
}

pub async fn set_traffic_type(c: &mut Conn, id: i64, traffic: &str) -> Result<(), Error> {
    sqlx::query("UPDATE network SET traffic_type = $1 WHERE id = $2")
        .bind(traffic)
        .bind(id)
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
    Ok(())
}

pub async fn live_guest_networks_in_zone(c: &mut Conn, zone_id: i64) -> Result<i64, Error> {
    let (n,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM network WHERE zone_id = $1 AND traffic_type = 'Guest' AND removed IS NULL",
    )
    .bind(zone_id)
    .fetch_one(&mut *c)
    .await
    .map_err(db_err)?;
    Ok(n)
}

/// Remove a zone's system networks (Control, Public) with the zone.
pub async fn remove_system_networks(c: &mut Conn, zone_id: i64, now: i64) -> Result<(), Error> {
    sqlx::query("UPDATE network SET removed = $1 WHERE zone_id = $2 AND traffic_type <> 'Guest' AND removed IS NULL")
        .bind(now)
        .bind(zone_id)
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Live guest networks owned by an account.
pub async fn ids_of_account(c: &mut Conn, account_id: i64) -> Result<Vec<i64>, Error> {
    let rows: Vec<(i64,)> = sqlx::query_as(
        "SELECT id FROM network WHERE account_id = $1 AND traffic_type = 'Guest' AND removed IS NULL ORDER BY id",
    )
    .bind(account_id)
    .fetch_all(&mut *c)
    .await
    .map_err(db_err)?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// The lowest address number in `lo..=hi` that no guest IP of the network holds, found inside
/// the database (one statement, no rows carried out): `lo` itself, or one past a used address
/// whose successor is free.
pub async fn lowest_free_ip(c: &mut Conn, network_id: i64, lo: i64, hi: i64) -> Result<Option<i64>, Error> {
    if lo > hi {
        return Ok(None);
    }
    let v: (Option<i64>,) = sqlx::query_as(
        "SELECT MIN(c) FROM ( \
           SELECT $2 AS c WHERE NOT EXISTS (SELECT 1 FROM guest_ip WHERE network_id = $1 AND ip_num = $2) \
           UNION ALL \
           SELECT g.ip_num + 1 AS c FROM guest_ip g WHERE g.network_id = $1 AND g.ip_num >= $2 AND g.ip_num < $3 \
             AND NOT EXISTS (SELECT 1 FROM guest_ip h WHERE h.network_id = $1 AND h.ip_num = g.ip_num + 1) \
         ) free",
    )
    .bind(network_id)
    .bind(lo)
    .bind(hi)
    .fetch_one(&mut *c)
    .await
    .map_err(db_err)?;
    Ok(v.0)
}

/// Whether the network already holds the address number.
pub async fn ip_in_use(c: &mut Conn, network_id: i64, num: i64) -> Result<bool, Error> {
    let v: Option<(i64,)> = sqlx::query_as("SELECT 1 FROM guest_ip WHERE network_id = $1 AND ip_num = $2")
        .bind(network_id)
        .bind(num)
        .fetch_optional(&mut *c)
        .await
        .map_err(db_err)?;
    Ok(v.is_some())
}

/// Serialize writers that decide something per network (its first router) for the rest of
/// the transaction: a transaction-scoped advisory lock on PostgreSQL (not a row lock, which
/// would meet the foreign-key share locks of concurrent NIC and address inserts and deadlock);
/// SQLite's single writer already serializes. Take it before the transaction writes anything.
pub async fn lock_network(c: &mut Conn, backend: crate::Backend, network_id: i64) -> Result<(), Error> {
    /// Keeps these keys apart from any other advisory lock.
    const NETWORK_LOCKS: i64 = 0x4e45_0000_0000_0000;
    match backend {
        crate::Backend::Postgres => {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(NETWORK_LOCKS | network_id)
                .execute(&mut *c)
                .await
                .map_err(db_err)?;
        }
        crate::Backend::Sqlite => {}
    }
    Ok(())
}
