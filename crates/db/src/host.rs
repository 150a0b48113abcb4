//! Hosts: hypervisor hosts with their agent-reported capacity, connection status and
//! resource (administrative) state.

use ferrostack_types::state::{HostStatus, ResourceState};
use ferrostack_types::{Error, Page};
use sqlx::{Any, Executor};

use crate::{db_err, is_unique_violation, Conn, Sql};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Host {
    pub id: i64,
    pub uuid: String,
    pub name: String,
    pub zone_id: i64,
    pub pod_id: i64,
    pub cluster_id: i64,
    pub host_type: String,
    pub hypervisor: String,
    pub hypervisor_version: Option<String>,
    pub url: String,
    #[sqlx(try_from = "String")]
    pub status: HostStatus,
    #[sqlx(try_from = "String")]
    pub resource_state: ResourceState,
    pub private_ip: Option<String>,
    pub cpu_sockets: i64,
    pub cpu_cores: i64,
    pub cpu_speed: i64,
    pub memory_total: i64,
    pub local_storage_total: i64,
    pub cpu_allocated: i64,
    pub memory_allocated: i64,
    pub version: Option<String>,
    pub host_tags: Option<String>,
    pub last_pinged: Option<i64>,
    pub ms_id: Option<String>,
    pub created: i64,
    pub zone_uuid: String,
    pub zone_name: String,
    pub zone_type: String,
    pub pod_uuid: String,
    pub pod_name: String,
    pub cluster_uuid: String,
    pub cluster_name: String,
    pub cluster_type: String,
}

const SELECT: &str = "SELECT h.id, h.uuid, h.name, h.zone_id, h.pod_id, h.cluster_id, h.host_type, h.hypervisor, \
     h.hypervisor_version, h.url, h.status, h.resource_state, h.private_ip, h.cpu_sockets, h.cpu_cores, h.cpu_speed, \
     h.memory_total, h.local_storage_total, h.cpu_allocated, h.memory_allocated, h.version, h.host_tags, \
     h.last_pinged, h.ms_id, h.created, z.uuid AS zone_uuid, z.name AS zone_name, z.zone_type AS zone_type, \
     p.uuid AS pod_uuid, p.name AS pod_name, c.uuid AS cluster_uuid, c.name AS cluster_name, \
     c.cluster_type AS cluster_type FROM host h JOIN zone z ON z.id = h.zone_id JOIN pod p ON p.id = h.pod_id \
     JOIN cluster c ON c.id = h.cluster_id";

pub struct NewHost<'a> {
    pub uuid: &'a str,
    pub name: &'a str,
    pub zone_id: i64,
    pub pod_id: i64,
    pub cluster_id: i64,
    pub hypervisor: &'a str,
    pub hypervisor_version: &'a str,
    pub url: &'a str,
    pub resource_state: ResourceState,
    pub private_ip: &'a str,
    pub cpu_sockets: i64,
    pub cpu_cores: i64,
    pub cpu_speed: i64,
    pub memory_total: i64,
    pub local_storage_total: i64,
    pub version: &'a str,
    pub host_tags: Option<&'a str>,
    pub ms_id: &'a str,
    /// Hex of the host's `AgentKey`, for hypervisors whose agents authenticate.
    pub agent_key: Option<&'a str>,
    pub now: i64,
}

pub async fn insert(c: &mut Conn, h: NewHost<'_>) -> Result<i64, Error> {
    let r: Result<(i64,), _> = sqlx::query_as(
        "INSERT INTO host (uuid, name, zone_id, pod_id, cluster_id, host_type, hypervisor, hypervisor_version, url, \
         status, resource_state, private_ip, cpu_sockets, cpu_cores, cpu_speed, memory_total, local_storage_total, \
         cpu_allocated, memory_allocated, version, host_tags, last_pinged, ms_id, created, agent_key) \
         VALUES ($1, $2, $3, $4, $5, 'Routing', $6, $7, $8, 'Up', $9, $10, $11, $12, $13, $14, $15, 0, 0, $16, $17, \
         $18, $19, $18, $20) RETURNING id",
    )
    .bind(h.uuid)
    .bind(h.name)
    .bind(h.zone_id)
    .bind(h.pod_id)
    .bind(h.cluster_id)
    .bind(h.hypervisor)
    .bind(h.hypervisor_version)
    .bind(h.url)
    .bind(h.resource_state.as_str())
    .bind(h.private_ip)
    .bind(h.cpu_sockets)
    .bind(h.cpu_cores)
    .bind(h.cpu_speed)
    .bind(h.memory_total)
    .bind(h.local_storage_total)
    .bind(h.version)
    .bind(h.host_tags)
    .bind(h.now)
    .bind(h.ms_id)
    .bind(h.agent_key)
    .fetch_one(&mut *c)
    .await;
    match r {
        Ok((id,)) => Ok(id),
        Err(e) if is_unique_violation(&e) => Err(Error::invalid(format!(
            "A host with URL {} already exists; each host can be added once",
            h.url
        ))),
        Err(e) => Err(db_err(e)),
    }
}

/// The hex `AgentKey` of a host (kept out of [`Host`], so no listing or log ever carries it).
pub async fn agent_key<'e, E: Executor<'e, Database = Any>>(e: E, id: i64) -> Result<Option<String>, Error> {
    let r: Option<(Option<String>,)> = sqlx::query_as("SELECT agent_key FROM host WHERE id = $1")
        .bind(id)
        .fetch_optional(e)
        .await
        .map_err(db_err)?;
    Ok(r.and_then(|(k,)| k))
}

pub async fn get<'e, E: Executor<'e, Database = Any>>(e: E, id: i64) -> Result<Option<Host>, Error> {
    let q = format!("{SELECT} WHERE h.id = $1 AND h.removed IS NULL");
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(id)
        .fetch_optional(e)
        .await
        .map_err(db_err)
}

pub async fn by_uuid<'e, E: Executor<'e, Database = Any>>(e: E, uuid: &str) -> Result<Option<Host>, Error> {
    let q = format!("{SELECT} WHERE h.uuid = $1 AND h.removed IS NULL");
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(uuid)
        .fetch_optional(e)
        .await
        .map_err(db_err)
}

#[derive(Debug, Default, Clone)]
pub struct HostFilter {
    pub id: Option<i64>,
    pub zone_id: Option<i64>,
    pub pod_id: Option<i64>,
    pub cluster_id: Option<i64>,
    pub name: Option<String>,
    pub host_type: Option<String>,
    pub status: Option<HostStatus>,
    pub resource_state: Option<ResourceState>,
    pub hypervisor: Option<String>,
    pub keyword: Option<String>,
}

pub async fn list(c: &mut Conn, f: &HostFilter, page: Page) -> Result<(i64, Vec<Host>), Error> {
    let mut s = Sql::new("SELECT h.id, COUNT(*) OVER () FROM host h");
    s.and("h.removed IS NULL");
    if let Some(id) = f.id {
        s.and("h.id = ").bind_i64(id);
    }
    if let Some(v) = f.zone_id {
        s.and("h.zone_id = ").bind_i64(v);
    }
    if let Some(v) = f.pod_id {
        s.and("h.pod_id = ").bind_i64(v);
    }
    if let Some(v) = f.cluster_id {
        s.and("h.cluster_id = ").bind_i64(v);
    }
    if let Some(v) = &f.name {
        s.and("h.name = ").bind_str(v.clone());
    }
    if let Some(v) = &f.host_type {
        s.and("lower(h.host_type) = ").bind_str(v.to_lowercase());
    }
    if let Some(v) = &f.status {
        s.and("h.status = ").bind_str(v.as_str().to_string());
    }
    if let Some(v) = &f.resource_state {
        s.and("h.resource_state = ").bind_str(v.as_str().to_string());
    }
    if let Some(v) = &f.hypervisor {
        s.and("lower(h.hypervisor) = ").bind_str(v.to_lowercase());
    }
    if let Some(k) = &f.keyword {
        s.and_keyword(&["h.name"], k);
    }
    s.push(" ORDER BY h.id").page(page);
    let (total, ids) = crate::sql::page_ids(&mut *c, &s).await?;
    let mut q = Sql::new(SELECT);
    q.and_in_i64("h.id", &ids).push(" ORDER BY h.id");
    Ok((total, q.fetch_all(c).await?))
}

/// Live hosts, id and URL only (agent reconnection at start-up, the ping loop).
pub async fn all_live<'e, E: Executor<'e, Database = Any>>(e: E) -> Result<Vec<Host>, Error> {
    let q = format!("{SELECT} WHERE h.removed IS NULL ORDER BY h.id");
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .fetch_all(e)
        .await
        .map_err(db_err)
}

/// Compare-and-swap the connection status: set `new` (and `last_pinged`) only if the stored
/// status is still `old`. `false` means another operation changed it first.
pub async fn cas_status<'e, E: Executor<'e, Database = Any>>(
    e: E,
    id: i64,
    old: HostStatus,
    new: HostStatus,
    now: i64,
) -> Result<bool, Error> {
    let r = sqlx::query("UPDATE host SET status = $1, last_pinged = $2 WHERE id = $3 AND status = $4")
        .bind(new.as_str())
        .bind(now)
        .bind(id)
        .bind(old.as_str())
        .execute(e)
        .await
        .map_err(db_err)?;
    Ok(r.rows_affected() == 1)
}

/// Compare-and-swap the resource state: set `new` only if the stored state is still `old`.
/// `false` means another operation changed it first.
pub async fn cas_resource_state<'e, E: Executor<'e, Database = Any>>(
    e: E,
    id: i64,
    old: ResourceState,
    new: ResourceState,
) -> Result<bool, Error> {
    let r = sqlx::query("UPDATE host SET resource_state = $1 WHERE id = $2 AND resource_state = $3")
        .bind(new.as_str())
        .bind(id)
        .bind(old.as_str())
        .execute(e)
        .await
        .map_err(db_err)?;
    Ok(r.rows_affected() == 1)
}

/// Record pings for many hosts in one statement.
pub async fn touch_pinged(c: &mut Conn, ids: &[i64], now: i64) -> Result<(), Error> {
    if ids.is_empty() {
        return Ok(());
    }
    for chunk in ids.chunks(500) {
        let mut s = Sql::new("UPDATE host SET last_pinged = ");
        s.bind_i64(now);
        s.and_in_i64("id", chunk);
        s.query().execute(&mut *c).await.map_err(db_err)?;
    }
    Ok(())
}

pub async fn update_tags<'e, E: Executor<'e, Database = Any>>(e: E, id: i64, tags: &str) -> Result<(), Error> {
    sqlx::query("UPDATE host SET host_tags = $1 WHERE id = $2")
        .bind(tags)
        .bind(id)
        .execute(e)
        .await
        .map_err(db_err)?;
    Ok(())
}

pub async fn update_capacity<'e, E: Executor<'e, Database = Any>>(
    e: E,
    id: i64,
    sockets: i64,
    cores: i64,
    speed: i64,
    memory: i64,
    local: i64,
) -> Result<(), Error> {
    sqlx::query(
        "UPDATE host SET cpu_sockets = $1, cpu_cores = $2, cpu_speed = $3, memory_total = $4, local_storage_total = $5 \
         WHERE id = $6",
    )
    .bind(sockets)
    .bind(cores)
    .bind(speed)
    .bind(memory)
    .bind(local)
    .bind(id)
    .execute(e)
    .await
    .map_err(db_err)?;
    Ok(())
}

/// [`update_capacity`] for many hosts, a few hundred per statement: (id, sockets, cores, speed,
/// memory, local storage).
pub async fn update_capacity_many(c: &mut crate::Conn, rows: &[(i64, i64, i64, i64, i64, i64)]) -> Result<(), Error> {
    for chunk in rows.chunks(200) {
        let mut s = crate::Sql::new("WITH r (id, sockets, cores, speed, memory, local) AS (VALUES ");
        for (i, (id, sockets, cores, speed, memory, local)) in chunk.iter().enumerate() {
            s.push(if i == 0 { "(" } else { ", (" });
            for (j, v) in [id, sockets, cores, speed, memory, local].into_iter().enumerate() {
                if j > 0 {
                    s.push(", ");
                }
                s.bind_i64(*v);
            }
            s.push(")");
        }
        s.push(
            ") UPDATE host SET cpu_sockets = r.sockets, cpu_cores = r.cores, cpu_speed = r.speed, \
             memory_total = r.memory, local_storage_total = r.local FROM r WHERE host.id = r.id",
        );
        s.query().execute(&mut *c).await.map_err(db_err)?;
    }
    Ok(())
}

/// Capacity totals per zone/pod/cluster for `listCapacity`: (zone, pod, cluster, cpu total MHz,
/// cpu allocated MHz, memory total, memory allocated, local storage total).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CapacityRow {
    pub zone_id: i64,
    pub pod_id: i64,
    pub cluster_id: i64,
    pub cpu_total: i64,
    pub cpu_allocated: i64,
    pub memory_total: i64,
    pub memory_allocated: i64,
    pub local_total: i64,
}

pub async fn capacity_by_cluster(c: &mut Conn) -> Result<Vec<CapacityRow>, Error> {
    sqlx::query_as(
        "SELECT zone_id, pod_id, cluster_id, CAST(SUM(cpu_sockets * cpu_cores * cpu_speed) AS BIGINT) AS cpu_total, \
         CAST(SUM(cpu_allocated) AS BIGINT) AS cpu_allocated, CAST(SUM(memory_total) AS BIGINT) AS memory_total, \
         CAST(SUM(memory_allocated) AS BIGINT) AS memory_allocated, \
         CAST(SUM(local_storage_total) AS BIGINT) AS local_total FROM host \
         WHERE removed IS NULL AND status = 'Up' AND resource_state = 'Enabled' \
         GROUP BY zone_id, pod_id, cluster_id ORDER BY zone_id, pod_id, cluster_id",
    )
    .fetch_all(&mut *c)
    .await
    .map_err(db_err)
}

/// Add to a host's allocation without a capacity check (a VM found running there).
pub async fn add_allocated(c: &mut Conn, id: i64, cpu: i64, memory: i64) -> Result<(), Error> {
    sqlx::query(
        "UPDATE host SET cpu_allocated = cpu_allocated + $1, memory_allocated = memory_allocated + $2 WHERE id = $3",
    )
    .bind(cpu)
    .bind(memory)
    .bind(id)
    .execute(&mut *c)
    .await
    .map_err(db_err)?;
    Ok(())
}

/// Forget the power generations of a host's VMs, or of every VM (`None`): the agent restarted
/// and counts afresh.
pub async fn reset_power_generations(c: &mut Conn, host: Option<i64>) -> Result<(), Error> {
    let q = match host {
        Some(id) => sqlx::query("UPDATE vm_instance SET power_generation = 0 WHERE host_id = $1").bind(id),
        None => sqlx::query("UPDATE vm_instance SET power_generation = 0 WHERE power_generation <> 0"),
    };
    q.execute(&mut *c).await.map_err(db_err)?;
    Ok(())
}
