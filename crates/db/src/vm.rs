//! Virtual machines (user VMs and virtual routers), NICs, root volumes.

use ferrostack_types::state::{PowerState, VmState, VmType};
use ferrostack_types::{Error, Page};
use sqlx::{Any, Executor};

use crate::account::OwnerScope;
use crate::{db_err, Conn, Sql};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Vm {
    pub id: i64,
    pub uuid: String,
    pub name: String,
    pub display_name: String,
    pub instance_name: String,
    #[sqlx(try_from = "String")]
    pub vm_type: VmType,
    #[sqlx(try_from = "String")]
    pub state: VmState,
    #[sqlx(try_from = "String")]
    pub power_state: PowerState,
    pub power_generation: i64,
    pub zone_id: i64,
    pub host_id: Option<i64>,
    pub last_host_id: Option<i64>,
    pub template_id: Option<i64>,
    pub service_offering_id: i64,
    pub account_id: i64,
    pub domain_id: i64,
    pub network_id: Option<i64>,
    pub cpu: i64,
    pub cpu_speed: i64,
    pub memory: i64,
    pub password_pending: i64,
    pub user_data: Option<String>,
    pub user_data_id: Option<i64>,
    pub user_data_details: Option<String>,
    pub keypairs: Option<String>,
    pub ha_enabled: i64,
    pub capacity_host_id: Option<i64>,
    pub destroyed_at: Option<i64>,
    pub created: i64,
    pub removed: Option<i64>,
    pub zone_uuid: String,
    pub zone_name: String,
    pub zone_type: String,
    pub host_uuid: Option<String>,
    pub host_name: Option<String>,
    pub template_uuid: Option<String>,
    pub template_name: Option<String>,
    pub template_display_text: Option<String>,
    /// The VM's hypervisor (its own when deployed from an ISO, else its template's): the VM runs
    /// only on hosts of that type.
    pub template_hypervisor: Option<String>,
    pub password_enabled: Option<i64>,
    pub offering_uuid: Option<String>,
    pub offering_name: Option<String>,
    pub account_name: Option<String>,
    pub domain_uuid: Option<String>,
    pub domain_name: Option<String>,
    pub domain_path: Option<String>,
    pub network_uuid: Option<String>,
    pub network_name: Option<String>,
    pub user_data_uuid: Option<String>,
    /// The OS type of its template (`ostypeid`).
    pub os_type_uuid: Option<String>,
    /// A router's guest network's owner (account name, domain uuid, name): what `listRouters`
    /// answers as the router's account, as CloudStack does.
    pub network_account_name: Option<String>,
    pub network_domain_uuid: Option<String>,
    pub network_domain_name: Option<String>,
    pub network_domain_path: Option<String>,
    /// Its instance group (`group`, `groupid`).
    pub group_uuid: Option<String>,
    pub group_name: Option<String>,
    /// The attached ISO (`isoid`, `isoname`, `isodisplaytext`).
    pub iso_id: Option<i64>,
    pub iso_uuid: Option<String>,
    pub iso_name: Option<String>,
    pub iso_display_text: Option<String>,
    /// `isdynamicallyscalable`: may be scaled while running.
    pub dynamically_scalable: i64,
}

const SELECT: &str =
    "SELECT v.id, v.uuid, v.name, v.display_name, v.instance_name, v.vm_type, v.state, v.power_state, \
     v.power_generation, v.zone_id, v.host_id, v.last_host_id, v.template_id, v.service_offering_id, v.account_id, \
     v.domain_id, v.network_id, v.cpu, v.cpu_speed, v.memory, v.password_pending, v.user_data, v.user_data_id, \
     v.user_data_details, v.keypairs, v.ha_enabled, v.capacity_host_id, v.destroyed_at, v.created, v.removed, \
     z.uuid AS zone_uuid, z.name AS zone_name, z.zone_type AS zone_type, h.uuid AS host_uuid, h.name AS host_name, \
     t.uuid AS template_uuid, t.name AS template_name, t.display_text AS template_display_text, COALESCE(v.hypervisor, t.hypervisor) AS template_hypervisor, \
     t.password_enabled AS password_enabled, o.uuid AS offering_uuid, o.name AS offering_name, \
     a.name AS account_name, d.uuid AS domain_uuid, d.name AS domain_name, d.path AS domain_path, \
     n.uuid AS network_uuid, n.name AS network_name, ud.uuid AS user_data_uuid, g.uuid AS os_type_uuid, \
     na.name AS network_account_name, nd.uuid AS network_domain_uuid, nd.name AS network_domain_name, \
     nd.path AS network_domain_path, ig.uuid AS group_uuid, ig.name AS group_name, \
     v.iso_id, iso.uuid AS iso_uuid, iso.name AS iso_name, iso.display_text AS iso_display_text, \
     v.dynamically_scalable \
     FROM vm_instance v JOIN zone z ON z.id = v.zone_id LEFT JOIN host h ON h.id = v.host_id \
     LEFT JOIN vm_template t ON t.id = v.template_id LEFT JOIN service_offering o ON o.id = v.service_offering_id \
     LEFT JOIN account a ON a.id = v.account_id LEFT JOIN domain d ON d.id = v.domain_id \
     LEFT JOIN network n ON n.id = v.network_id LEFT JOIN user_data ud ON ud.id = v.user_data_id \
     LEFT JOIN guest_os g ON g.id = t.guest_os_id \
     LEFT JOIN account na ON na.id = n.account_id LEFT JOIN domain nd ON nd.id = n.domain_id \
     LEFT JOIN instance_group ig ON ig.id = v.group_id LEFT JOIN vm_template iso ON iso.id = v.iso_id";

pub struct NewVm<'a> {
    pub uuid: &'a str,
    pub name: &'a str,
    pub display_name: &'a str,
    pub vm_type: VmType,
    pub state: VmState,
    pub zone_id: i64,
    pub template_id: Option<i64>,
    pub service_offering_id: i64,
    pub account_id: i64,
    pub domain_id: i64,
    pub network_id: Option<i64>,
    pub cpu: i64,
    pub cpu_speed: i64,
    pub memory: i64,
    pub password: Option<&'a str>,
    pub user_data: Option<&'a str>,
    pub user_data_id: Option<i64>,
    pub user_data_details: Option<&'a str>,
    pub keypairs: Option<&'a str>,
    pub ssh_keys: Option<&'a str>,
    pub dynamically_scalable: bool,
    pub now: i64,
}

/// Insert a VM; its instance name (`i-<account>-<id>-VM` / `r-<id>-VM`) comes from its id.
pub async fn insert(c: &mut Conn, v: NewVm<'_>) -> Result<i64, Error> {
    let placeholder = format!("pending-{}", v.uuid);
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO vm_instance (uuid, name, display_name, instance_name, vm_type, state, power_state, power_generation, \
         zone_id, template_id, service_offering_id, account_id, domain_id, network_id, cpu, cpu_speed, memory, password, \
         password_pending, user_data, user_data_id, user_data_details, keypairs, ssh_keys, ha_enabled, dynamically_scalable, created) \
         VALUES ($1, $2, $3, $4, $5, $6, 'PowerOff', 0, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, \
         $20, $21, $22, 0, $23, $24) RETURNING id",
    )
    .bind(v.uuid)
    .bind(v.name)
    .bind(v.display_name)
    .bind(&placeholder)
    .bind(v.vm_type.as_str())
    .bind(v.state.as_str())
    .bind(v.zone_id)
    .bind(v.template_id)
    .bind(v.service_offering_id)
    .bind(v.account_id)
    .bind(v.domain_id)
    .bind(v.network_id)
    .bind(v.cpu)
    .bind(v.cpu_speed)
    .bind(v.memory)
    .bind(v.password)
    .bind(i64::from(v.password.is_some()))
    .bind(v.user_data)
    .bind(v.user_data_id)
    .bind(v.user_data_details)
    .bind(v.keypairs)
    .bind(v.ssh_keys)
    .bind(i64::from(v.dynamically_scalable))
    .bind(v.now)
    .fetch_one(&mut *c)
    .await
    .map_err(db_err)?;
    let instance = match v.vm_type {
        VmType::DomainRouter => format!("r-{id}-VM"),
        VmType::User => format!("i-{}-{id}-VM", v.account_id),
    };
    sqlx::query("UPDATE vm_instance SET instance_name = $1 WHERE id = $2")
        .bind(instance)
        .bind(id)
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
    Ok(id)
}

pub async fn get<'e, E: Executor<'e, Database = Any>>(e: E, id: i64) -> Result<Option<Vm>, Error> {
    let q = format!("{SELECT} WHERE v.id = $1 AND v.removed IS NULL");
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(id)
        .fetch_optional(e)
        .await
        .map_err(db_err)
}

pub async fn get_including_removed<'e, E: Executor<'e, Database = Any>>(e: E, id: i64) -> Result<Option<Vm>, Error> {
    let q = format!("{SELECT} WHERE v.id = $1");
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(id)
        .fetch_optional(e)
        .await
        .map_err(db_err)
}

pub async fn by_uuid<'e, E: Executor<'e, Database = Any>>(e: E, uuid: &str) -> Result<Option<Vm>, Error> {
    let q = format!("{SELECT} WHERE v.uuid = $1 AND v.removed IS NULL");
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(uuid)
        .fetch_optional(e)
        .await
        .map_err(db_err)
}

pub async fn by_uuid_including_removed<'e, E: Executor<'e, Database = Any>>(
    e: E,
    uuid: &str,
) -> Result<Option<Vm>, Error> {
    let q = format!("{SELECT} WHERE v.uuid = $1");
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(uuid)
        .fetch_optional(e)
        .await
        .map_err(db_err)
}

pub async fn by_instance_name<'e, E: Executor<'e, Database = Any>>(e: E, name: &str) -> Result<Option<Vm>, Error> {
    let q = format!("{SELECT} WHERE v.instance_name = $1 AND v.removed IS NULL");
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(name)
        .fetch_optional(e)
        .await
        .map_err(db_err)
}

/// The stored password of a VM (config drive / router hand-off only; never listed).
pub async fn password<'e, E: Executor<'e, Database = Any>>(e: E, id: i64) -> Result<Option<String>, Error> {
    let r: Option<(Option<String>,)> = sqlx::query_as("SELECT password FROM vm_instance WHERE id = $1")
        .bind(id)
        .fetch_optional(e)
        .await
        .map_err(db_err)?;
    Ok(r.and_then(|r| r.0))
}

pub async fn ssh_keys<'e, E: Executor<'e, Database = Any>>(e: E, id: i64) -> Result<Vec<String>, Error> {
    let r: Option<(Option<String>,)> = sqlx::query_as("SELECT ssh_keys FROM vm_instance WHERE id = $1")
        .bind(id)
        .fetch_optional(e)
        .await
        .map_err(db_err)?;
    Ok(r.and_then(|r| r.0)
        .map(|s| s.lines().filter(|l| !l.trim().is_empty()).map(str::to_string).collect())
        .unwrap_or_default())
}

#[derive(Debug, Default, Clone)]
pub struct VmFilter {
    pub id: Option<i64>,
    /// `ids`: any of these uuids (with their Destroyed VMs, as for `id`).
    pub uuids: Vec<String>,
    pub vm_type: Option<VmType>,
    pub state: Option<VmState>,
    pub zone_id: Option<i64>,
    pub host_id: Option<i64>,
    pub network_id: Option<i64>,
    pub router_network_id: Option<i64>,
    pub name: Option<String>,
    pub keyword: Option<String>,
    pub template_id: Option<i64>,
    pub include_destroyed: bool,
    /// `tags[N].key/value`: VMs having any of these tags.
    pub tags: Vec<crate::tag::TagMatch>,
}

pub async fn list(c: &mut Conn, scope: &OwnerScope, f: &VmFilter, page: Page) -> Result<(i64, Vec<Vm>), Error> {
    let mut s = Sql::new("SELECT v.id, COUNT(*) OVER () FROM vm_instance v");
    s.and("v.removed IS NULL");
    scope.apply(&mut s, "v.account_id", "v.domain_id");
    if let Some(x) = f.id {
        s.and("v.id = ").bind_i64(x);
    }
    if !f.uuids.is_empty() {
        s.and_in_str("v.uuid", &f.uuids);
    }
    if let Some(x) = f.vm_type {
        s.and("v.vm_type = ").bind_str(x.as_str().to_string());
    }
    match f.state {
        Some(x) => {
            s.and("v.state = ").bind_str(x.as_str().to_string());
        }
        None if !f.include_destroyed => {
            s.and("v.state <> 'Destroyed' AND v.state <> 'Expunging'");
        }
        None => {}
    }
    if let Some(x) = f.zone_id {
        s.and("v.zone_id = ").bind_i64(x);
    }
    if let Some(x) = f.host_id {
        s.and("v.host_id = ").bind_i64(x);
    }
    if let Some(x) = f.network_id {
        s.and("v.id IN (SELECT vm_id FROM nic WHERE removed IS NULL AND network_id = ")
            .bind_i64(x)
            .push(")");
    }
    if let Some(x) = f.router_network_id {
        s.and("v.network_id = ").bind_i64(x);
    }
    if let Some(x) = &f.name {
        s.and("v.name = ").bind_str(x.clone());
    }
    if let Some(x) = f.template_id {
        s.and("v.template_id = ").bind_i64(x);
    }
    if let Some(k) = &f.keyword {
        s.and_keyword(&["v.name", "v.display_name", "v.instance_name"], k);
    }
    crate::tag::and_tags(&mut s, crate::tag::ResourceType::UserVm, "v.id", &f.tags);
    s.push(" ORDER BY v.id").page(page);
    let (total, ids) = crate::sql::page_ids(&mut *c, &s).await?;
    let mut q = Sql::new(SELECT);
    q.and_in_i64("v.id", &ids).push(" ORDER BY v.id");
    Ok((total, q.fetch_all(c).await?))
}

/// Compare-and-set the state; false if the VM moved on (or is removed). Callers compute `to`
/// with the VM machine's transition function.
pub async fn cas_state<'e, E: Executor<'e, Database = Any>>(
    e: E,
    id: i64,
    from: VmState,
    to: VmState,
) -> Result<bool, Error> {
    let r = sqlx::query(
        "UPDATE vm_instance SET state = $1, state_changed = $4 WHERE id = $2 AND state = $3 AND removed IS NULL",
    )
    .bind(to.as_str())
    .bind(id)
    .bind(from.as_str())
    .bind(ferrostack_types::time::now_ms())
    .execute(e)
    .await
    .map_err(db_err)?;
    Ok(r.rows_affected() == 1)
}

pub async fn set_cols(c: &mut Conn, id: i64, cols: &[(&str, crate::sql::Arg)]) -> Result<(), Error> {
    let mut s = Sql::new("UPDATE vm_instance SET id = id");
    for (col, v) in cols {
        s.push(", ").push(col).push(" = ").bind(v.clone());
    }
    s.push(" WHERE id = ").bind_i64(id);
    s.query().execute(&mut *c).await.map_err(db_err)?;
    Ok(())
}

/// Finish an expunge: the row, already in `Expunging`, is marked removed.
pub async fn mark_removed(c: &mut Conn, id: i64, now: i64) -> Result<(), Error> {
    sqlx::query(
        "UPDATE vm_instance SET removed = $1, host_id = NULL WHERE id = $2 AND state = 'Expunging' AND removed IS NULL",
    )
    .bind(now)
    .bind(id)
    .execute(&mut *c)
    .await
    .map_err(db_err)?;
    Ok(())
}

/// Apply a host power report only when newer than what is stored, and only to a VM whose
/// state did not change since the report was asked for (`asked_at`): a report taken before a
/// stop or start committed describes the VM as it was.
pub async fn apply_power<'e, E: Executor<'e, Database = Any>>(
    e: E,
    id: i64,
    power: PowerState,
    generation: i64,
    asked_at: i64,
) -> Result<bool, Error> {
    let r = sqlx::query(
        "UPDATE vm_instance SET power_state = $1, power_generation = $2 WHERE id = $3 AND power_generation < $2 \
         AND state_changed < $4",
    )
    .bind(power.as_str())
    .bind(generation)
    .bind(id)
    .bind(asked_at)
    .execute(e)
    .await
    .map_err(db_err)?;
    Ok(r.rows_affected() == 1)
}

/// Rows per statement of the batched power writes (three parameters each).
const POWER_ROWS_PER_STATEMENT: usize = 300;

/// [`apply_power`] for many VMs, a few hundred per statement: each `(id, power, generation)`
/// is written where the generation is newer than the VM's and its state did not change after
/// `asked_at`. Returns the ids written.
pub async fn apply_power_many(c: &mut Conn, rows: &[(i64, PowerState, i64)], asked_at: i64) -> Result<Vec<i64>, Error> {
    let mut written = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(POWER_ROWS_PER_STATEMENT) {
        let mut s = Sql::new("WITH r (id, power, generation) AS (VALUES ");
        for (i, (id, power, generation)) in chunk.iter().enumerate() {
            s.push(if i == 0 { "(" } else { ", (" });
            s.bind_i64(*id)
                .push(", ")
                .bind_str(power.as_str())
                .push(", ")
                .bind_i64(*generation);
            s.push(")");
        }
        s.push(
            ") UPDATE vm_instance SET power_state = r.power, power_generation = r.generation FROM r \
             WHERE vm_instance.id = r.id AND vm_instance.power_generation < r.generation AND vm_instance.state_changed < ",
        );
        s.bind_i64(asked_at).push(" RETURNING vm_instance.id");
        let ids: Vec<(i64,)> = s.fetch_all(c).await?;
        written.extend(ids.into_iter().map(|(id,)| id));
    }
    Ok(written)
}

/// Move many VMs from `from` to `to` (the machine's answer to the event the caller applies),
/// off their host, compare-and-swap on `from`. Returns the ids moved.
pub async fn cas_state_off_host_many(
    c: &mut Conn,
    ids: &[i64],
    from: VmState,
    to: VmState,
    now: i64,
) -> Result<Vec<i64>, Error> {
    let mut moved = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(POWER_ROWS_PER_STATEMENT * 3) {
        let mut s = Sql::new("UPDATE vm_instance SET state = ");
        s.bind_str(to.as_str())
            .push(", state_changed = ")
            .bind_i64(now)
            .push(", host_id = NULL");
        s.and("removed IS NULL").and("state = ").bind_str(from.as_str());
        s.and_in_i64("id", chunk).push(" RETURNING id");
        let rows: Vec<(i64,)> = s.fetch_all(c).await?;
        moved.extend(rows.into_iter().map(|(id,)| id));
    }
    Ok(moved)
}

/// Take many VMs' capacity off the hosts it was counted on: (host, CPU MHz, memory bytes)
/// released per host, each VM once (its `capacity_host_id` cleared). Call inside the
/// transaction that moved the VMs, so the rows are the caller's until it commits.
pub async fn release_capacity_many(c: &mut Conn, ids: &[i64]) -> Result<(), Error> {
    let mut per_host: std::collections::BTreeMap<i64, (i64, i64)> = std::collections::BTreeMap::new();
    for chunk in ids.chunks(POWER_ROWS_PER_STATEMENT * 3) {
        let mut s = Sql::new("SELECT id, capacity_host_id, cpu * cpu_speed, memory * 1048576 FROM vm_instance");
        s.and("capacity_host_id IS NOT NULL").and_in_i64("id", chunk);
        let rows: Vec<(i64, i64, i64, i64)> = s.fetch_all(c).await?;
        if rows.is_empty() {
            continue;
        }
        let cleared: Vec<i64> = rows.iter().map(|r| r.0).collect();
        let mut u = Sql::new("UPDATE vm_instance SET capacity_host_id = NULL");
        u.and_in_i64("id", &cleared);
        u.query().execute(&mut *c).await.map_err(db_err)?;
        for (_, host, cpu, mem) in rows {
            let e = per_host.entry(host).or_default();
            e.0 += cpu;
            e.1 += mem;
        }
    }
    let per_host: Vec<(i64, (i64, i64))> = per_host.into_iter().collect();
    for chunk in per_host.chunks(POWER_ROWS_PER_STATEMENT) {
        let mut s = Sql::new("WITH r (id, cpu, mem) AS (VALUES ");
        for (i, (host, (cpu, mem))) in chunk.iter().enumerate() {
            s.push(if i == 0 { "(" } else { ", (" });
            s.bind_i64(*host)
                .push(", ")
                .bind_i64(*cpu)
                .push(", ")
                .bind_i64(*mem)
                .push(")");
        }
        s.push(
            ") UPDATE host SET \
             cpu_allocated = CASE WHEN host.cpu_allocated >= r.cpu THEN host.cpu_allocated - r.cpu ELSE 0 END, \
             memory_allocated = CASE WHEN host.memory_allocated >= r.mem THEN host.memory_allocated - r.mem ELSE 0 END \
             FROM r WHERE host.id = r.id",
        );
        s.query().execute(&mut *c).await.map_err(db_err)?;
    }
    Ok(())
}

/// VMs destroyed before `cutoff` (expunge candidates).
pub async fn destroyed_before(c: &mut Conn, cutoff: i64, limit: i64) -> Result<Vec<(i64, String)>, Error> {
    sqlx::query_as(
        "SELECT id, uuid FROM vm_instance WHERE state = 'Destroyed' AND removed IS NULL AND destroyed_at <= $1 \
         ORDER BY id LIMIT $2",
    )
    .bind(cutoff)
    .bind(limit)
    .fetch_all(&mut *c)
    .await
    .map_err(db_err)
}

/// A live VM placed on (or last run on) a host, for power sync.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OnHost {
    pub id: i64,
    pub instance_name: String,
    #[sqlx(try_from = "String")]
    pub vm_type: VmType,
    pub host_id: Option<i64>,
    pub last_host_id: Option<i64>,
    #[sqlx(try_from = "String")]
    pub state: VmState,
    #[sqlx(try_from = "String")]
    pub power_state: PowerState,
    pub power_generation: i64,
}

/// Live VMs placed on (or last run on) a host, for power sync.
pub async fn on_host(c: &mut Conn, host_id: i64) -> Result<Vec<OnHost>, Error> {
    on_hosts(c, &[host_id]).await
}

/// Live VMs placed on (or last run on) any of `host_ids`, in one statement (callers pass
/// batches of a few hundred hosts).
pub async fn on_hosts(c: &mut Conn, host_ids: &[i64]) -> Result<Vec<OnHost>, Error> {
    if host_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = Sql::new(
        // `+removed`: SQLite then ORs the host_id and last_host_id indexes (a few rows per
        // host) instead of walking every live VM through vm_live.
        "SELECT id, instance_name, vm_type, host_id, last_host_id, state, power_state, power_generation \
         FROM vm_instance WHERE +removed IS NULL AND (host_id IN (",
    );
    q.list_i64(host_ids);
    q.push(") OR last_host_id IN (");
    q.list_i64(host_ids);
    q.push("))");
    q.fetch_all(c).await
}

/// The live router of a network, if any.
pub async fn router_of_network<'e, E: Executor<'e, Database = Any>>(
    e: E,
    network_id: i64,
) -> Result<Option<Vm>, Error> {
    let q = format!(
        "{SELECT} WHERE v.vm_type = 'DomainRouter' AND v.network_id = $1 AND v.removed IS NULL ORDER BY v.id DESC LIMIT 1"
    );
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(network_id)
        .fetch_optional(e)
        .await
        .map_err(db_err)
}

/// The newest live template with this name (router templates are chosen by name).
pub async fn template_uuid_by_name<'e, E: Executor<'e, Database = Any>>(
    e: E,
    name: &str,
) -> Result<Option<String>, Error> {
    let r: Option<(String,)> =
        sqlx::query_as("SELECT uuid FROM vm_template WHERE name = $1 AND removed IS NULL ORDER BY id DESC LIMIT 1")
            .bind(name)
            .fetch_optional(e)
            .await
            .map_err(db_err)?;
    Ok(r.map(|r| r.0))
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Nic {
    pub id: i64,
    pub uuid: String,
    pub vm_id: i64,
    pub network_id: i64,
    pub traffic_type: String,
    pub ip: Option<String>,
    pub netmask: Option<String>,
    pub gateway: Option<String>,
    pub mac: String,
    pub broadcast_uri: Option<String>,
    pub device_id: i64,
    pub is_default: i64,
    pub created: i64,
    pub network_uuid: Option<String>,
    pub network_name: Option<String>,
    pub guest_type: Option<String>,
}

const NIC_SELECT: &str = "SELECT x.id, x.uuid, x.vm_id, x.network_id, x.traffic_type, x.ip, x.netmask, x.gateway, \
     x.mac, x.broadcast_uri, x.device_id, x.is_default, x.created, n.uuid AS network_uuid, n.name AS network_name, \
     n.guest_type AS guest_type FROM nic x LEFT JOIN network n ON n.id = x.network_id";

pub struct NewNic<'a> {
    pub uuid: &'a str,
    pub vm_id: i64,
    pub network_id: i64,
    pub traffic_type: &'a str,
    pub ip: Option<&'a str>,
    pub netmask: Option<&'a str>,
    pub gateway: Option<&'a str>,
    pub mac: &'a str,
    pub broadcast_uri: Option<&'a str>,
    pub device_id: i64,
    pub is_default: bool,
    pub now: i64,
}

pub async fn insert_nic(c: &mut Conn, n: NewNic<'_>) -> Result<i64, Error> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO nic (uuid, vm_id, network_id, traffic_type, ip, netmask, gateway, mac, broadcast_uri, device_id, \
         is_default, created) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
    )
    .bind(n.uuid)
    .bind(n.vm_id)
    .bind(n.network_id)
    .bind(n.traffic_type)
    .bind(n.ip)
    .bind(n.netmask)
    .bind(n.gateway)
    .bind(n.mac)
    .bind(n.broadcast_uri)
    .bind(n.device_id)
    .bind(i64::from(n.is_default))
    .bind(n.now)
    .fetch_one(&mut *c)
    .await
    .map_err(db_err)?;
    Ok(id)
}

/// Live NICs of the given VMs, one query.
pub async fn nics_of(c: &mut Conn, vm_ids: &[i64]) -> Result<Vec<Nic>, Error> {
    let mut q = Sql::new(NIC_SELECT);
    q.and("x.removed IS NULL")
        .and_in_i64("x.vm_id", vm_ids)
        .push(" ORDER BY x.vm_id, x.device_id");
    q.fetch_all(c).await
}

/// Live NICs on a network (user VMs and routers).
pub async fn nics_on_network(c: &mut Conn, network_id: i64) -> Result<Vec<Nic>, Error> {
    let mut q = Sql::new(NIC_SELECT);
    q.and("x.removed IS NULL")
        .and("x.network_id = ")
        .bind_i64(network_id)
        .push(" ORDER BY x.id");
    q.fetch_all(c).await
}

pub async fn remove_nics(c: &mut Conn, vm_id: i64, now: i64) -> Result<(), Error> {
    sqlx::query("UPDATE nic SET removed = $1 WHERE vm_id = $2 AND removed IS NULL")
        .bind(now)
        .bind(vm_id)
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Reserve capacity on a host if it has room (atomic); false when it doesn't.
pub async fn reserve_capacity(c: &mut Conn, host_id: i64, cpu_mhz: i64, memory_bytes: i64) -> Result<bool, Error> {
    let r = sqlx::query(
        "UPDATE host SET cpu_allocated = cpu_allocated + $1, memory_allocated = memory_allocated + $2 \
         WHERE id = $3 AND removed IS NULL AND cpu_allocated + $1 <= cpu_cores * cpu_speed \
         AND memory_allocated + $2 <= memory_total",
    )
    .bind(cpu_mhz)
    .bind(memory_bytes)
    .bind(host_id)
    .execute(&mut *c)
    .await
    .map_err(db_err)?;
    Ok(r.rows_affected() == 1)
}

pub async fn release_capacity(c: &mut Conn, host_id: i64, cpu_mhz: i64, memory_bytes: i64) -> Result<(), Error> {
    sqlx::query(
        "UPDATE host SET cpu_allocated = CASE WHEN cpu_allocated >= $1 THEN cpu_allocated - $1 ELSE 0 END, \
         memory_allocated = CASE WHEN memory_allocated >= $2 THEN memory_allocated - $2 ELSE 0 END WHERE id = $3",
    )
    .bind(cpu_mhz)
    .bind(memory_bytes)
    .bind(host_id)
    .execute(&mut *c)
    .await
    .map_err(db_err)?;
    Ok(())
}

/// Candidate hosts for placement in a zone: Up, Enabled, with room, least loaded first.
pub async fn placement_candidates(
    c: &mut Conn,
    zone_id: i64,
    cpu_mhz: i64,
    memory_bytes: i64,
    hypervisor: Option<&str>,
) -> Result<Vec<(i64, String)>, Error> {
    sqlx::query_as(
        "SELECT h.id, h.uuid FROM host h JOIN cluster cl ON cl.id = h.cluster_id JOIN pod p ON p.id = h.pod_id \
         WHERE h.zone_id = $1 AND h.removed IS NULL AND ($4 = '' OR h.hypervisor = $4) AND h.status = 'Up' AND h.resource_state = 'Enabled' \
         AND cl.allocation_state = 'Enabled' AND p.allocation_state = 'Enabled' \
         AND h.cpu_allocated + $2 <= h.cpu_cores * h.cpu_speed AND h.memory_allocated + $3 <= h.memory_total \
         ORDER BY h.memory_allocated, h.id LIMIT 50",
    )
    .bind(zone_id)
    .bind(cpu_mhz)
    .bind(memory_bytes)
    .bind(hypervisor.unwrap_or(""))
    .fetch_all(&mut *c)
    .await
    .map_err(db_err)
}

/// Clear a VM's capacity reservation if it is still on `host` (compare-and-set).
pub async fn clear_capacity_host(c: &mut Conn, vm_id: i64, host: i64) -> Result<bool, Error> {
    let r = sqlx::query("UPDATE vm_instance SET capacity_host_id = NULL WHERE id = $1 AND capacity_host_id = $2")
        .bind(vm_id)
        .bind(host)
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
    Ok(r.rows_affected() == 1)
}

pub async fn remove_nic(c: &mut Conn, nic_id: i64, now: i64) -> Result<(), Error> {
    sqlx::query("UPDATE nic SET removed = $1 WHERE id = $2 AND removed IS NULL")
        .bind(now)
        .bind(nic_id)
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Live VMs (user VMs only) owned by an account.
pub async fn ids_of_account(c: &mut Conn, account_id: i64) -> Result<Vec<i64>, Error> {
    let rows: Vec<(i64,)> = sqlx::query_as(
        "SELECT id FROM vm_instance WHERE account_id = $1 AND vm_type = 'User' AND removed IS NULL ORDER BY id",
    )
    .bind(account_id)
    .fetch_all(&mut *c)
    .await
    .map_err(db_err)?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

// Volumes live in `crate::volume`; re-exported here for the VM flows that use them.
pub use crate::volume::{
    insert_volume, list_volumes, place_volumes, volume_cas, volumes_of_vm, volumes_on_pool, Volume, VolumeFilter,
};

/// The job recorded as carrying out a VM's start (see migration 0011), if any.
pub async fn start_job<'e, E: Executor<'e, Database = Any>>(e: E, id: i64) -> Result<Option<String>, Error> {
    let v: Option<(Option<String>,)> = sqlx::query_as("SELECT start_job FROM vm_instance WHERE id = $1")
        .bind(id)
        .fetch_optional(e)
        .await
        .map_err(db_err)?;
    Ok(v.and_then(|(j,)| j))
}

/// Record `job` as the VM's starter if the recorded one is still `expected` (a compare-and-set:
/// two flows taking over one stale start cannot both win). False when it changed meanwhile.
pub async fn swap_start_job<'e, E: Executor<'e, Database = Any>>(
    e: E,
    id: i64,
    expected: Option<&str>,
    job: Option<&str>,
) -> Result<bool, Error> {
    let q = match expected {
        Some(_) => "UPDATE vm_instance SET start_job = $1 WHERE id = $2 AND start_job = $3",
        None => "UPDATE vm_instance SET start_job = $1 WHERE id = $2 AND start_job IS NULL",
    };
    let mut q = sqlx::query(q).bind(job.map(str::to_string)).bind(id);
    if let Some(x) = expected {
        q = q.bind(x.to_string());
    }
    Ok(q.execute(e).await.map_err(db_err)?.rows_affected() == 1)
}

/// Record the job that carries out the start just begun (in the Starting transition's
/// transaction); `None` outside a job.
pub async fn set_start_job<'e, E: Executor<'e, Database = Any>>(e: E, id: i64, job: Option<&str>) -> Result<(), Error> {
    sqlx::query("UPDATE vm_instance SET start_job = $1 WHERE id = $2")
        .bind(job.map(str::to_string))
        .bind(id)
        .execute(e)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// What a network's router configuration needs of one user VM NIC on it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RouterEntryRow {
    pub vm_id: i64,
    pub vm_uuid: String,
    pub name: String,
    pub instance_name: String,
    pub zone_name: String,
    pub user_data: Option<String>,
    pub mac: String,
    pub ip: Option<String>,
    pub is_default: i64,
    /// Only while the VM has a password to hand out.
    pub password: Option<String>,
    pub ssh_keys: Option<String>,
}

/// Every live user VM NIC on a network with the columns its router entry needs, in one
/// statement over the `nic_network` index (the router configuration is rebuilt in full on
/// every change, so this is the hot read of a deploy burst: no joins it does not use).
pub async fn router_entries(c: &mut Conn, network_id: i64) -> Result<Vec<RouterEntryRow>, Error> {
    sqlx::query_as(
        "SELECT v.id AS vm_id, v.uuid AS vm_uuid, v.name, v.instance_name, z.name AS zone_name, v.user_data, \
                x.mac, x.ip, x.is_default, \
                CASE WHEN v.password_pending = 1 THEN v.password ELSE NULL END AS password, v.ssh_keys \
         FROM nic x JOIN vm_instance v ON v.id = x.vm_id JOIN zone z ON z.id = v.zone_id \
         WHERE x.network_id = $1 AND x.removed IS NULL AND v.removed IS NULL AND v.vm_type = 'User' \
           AND v.state NOT IN ('Destroyed', 'Expunging') \
         ORDER BY x.id",
    )
    .bind(network_id)
    .fetch_all(&mut *c)
    .await
    .map_err(db_err)
}

/// Names of the live VMs that have the ISO attached (what blocks its deletion).
pub async fn names_with_iso(c: &mut Conn, iso_id: i64) -> Result<Vec<String>, Error> {
    let rows: Vec<(String,)> =
        sqlx::query_as("SELECT name FROM vm_instance WHERE iso_id = $1 AND removed IS NULL ORDER BY id LIMIT 20")
            .bind(iso_id)
            .fetch_all(&mut *c)
            .await
            .map_err(db_err)?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// Attach (`Some`) or detach (`None`) the VM's ISO.
pub async fn set_iso(c: &mut Conn, vm_id: i64, iso_id: Option<i64>) -> Result<(), Error> {
    sqlx::query("UPDATE vm_instance SET iso_id = $1 WHERE id = $2")
        .bind(iso_id)
        .bind(vm_id)
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
    Ok(())
}
