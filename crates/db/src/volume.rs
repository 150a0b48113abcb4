//! Volumes (today the root volume of every VM and router): their rows, states and pools.

use ferrostack_types::state::{VmState, VolumeState};
use ferrostack_types::{Error, Page};

use crate::account::OwnerScope;
use crate::{db_err, Conn, Sql};

#[derive(Debug, Clone)]
pub struct Volume {
    pub id: i64,
    pub uuid: String,
    pub name: String,
    pub vm_id: Option<i64>,
    pub zone_id: i64,
    pub pool_id: Option<i64>,
    pub volume_type: String,
    pub size: i64,
    pub state: VolumeState,
    pub account_id: i64,
    pub domain_id: i64,
    pub template_id: Option<i64>,
    pub created: i64,
    pub vm_uuid: Option<String>,
    pub vm_name: Option<String>,
    pub vm_state: Option<VmState>,
    pub zone_uuid: String,
    pub zone_name: String,
    pub account_name: Option<String>,
    pub domain_uuid: Option<String>,
    pub domain_name: Option<String>,
}

impl<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> for Volume {
    fn from_row(r: &'r sqlx::any::AnyRow) -> Result<Self, sqlx::Error> {
        use sqlx::Row;
        Ok(Volume {
            id: r.try_get("id")?,
            uuid: r.try_get("uuid")?,
            name: r.try_get("name")?,
            vm_id: r.try_get("vm_id")?,
            zone_id: r.try_get("zone_id")?,
            pool_id: r.try_get("pool_id")?,
            volume_type: r.try_get("volume_type")?,
            size: r.try_get("size")?,
            state: crate::enum_col(r, "state")?,
            account_id: r.try_get("account_id")?,
            domain_id: r.try_get("domain_id")?,
            template_id: r.try_get("template_id")?,
            created: r.try_get("created")?,
            vm_uuid: r.try_get("vm_uuid")?,
            vm_name: r.try_get("vm_name")?,
            vm_state: crate::opt_enum_col(r, "vm_state")?,
            zone_uuid: r.try_get("zone_uuid")?,
            zone_name: r.try_get("zone_name")?,
            account_name: r.try_get("account_name")?,
            domain_uuid: r.try_get("domain_uuid")?,
            domain_name: r.try_get("domain_name")?,
        })
    }
}

const VOLUME_SELECT: &str =
    "SELECT x.id, x.uuid, x.name, x.vm_id, x.zone_id, x.pool_id, x.volume_type, x.size, x.state, \
     x.account_id, x.domain_id, x.template_id, x.created, v.uuid AS vm_uuid, v.name AS vm_name, v.state AS vm_state, \
     z.uuid AS zone_uuid, z.name AS zone_name, a.name AS account_name, d.uuid AS domain_uuid, d.name AS domain_name \
     FROM volume x JOIN zone z ON z.id = x.zone_id LEFT JOIN vm_instance v ON v.id = x.vm_id \
     LEFT JOIN account a ON a.id = x.account_id LEFT JOIN domain d ON d.id = x.domain_id";

#[allow(clippy::too_many_arguments)]
pub async fn insert_volume(
    c: &mut Conn,
    uuid: &str,
    name: &str,
    vm_id: i64,
    zone_id: i64,
    size: i64,
    account_id: i64,
    domain_id: i64,
    template_id: Option<i64>,
    now: i64,
) -> Result<i64, Error> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO volume (uuid, name, vm_id, zone_id, volume_type, size, state, account_id, domain_id, template_id, \
         created) VALUES ($1, $2, $3, $4, 'ROOT', $5, 'Allocated', $6, $7, $8, $9) RETURNING id",
    )
    .bind(uuid)
    .bind(name)
    .bind(vm_id)
    .bind(zone_id)
    .bind(size)
    .bind(account_id)
    .bind(domain_id)
    .bind(template_id)
    .bind(now)
    .fetch_one(&mut *c)
    .await
    .map_err(db_err)?;
    Ok(id)
}

/// The live volumes of a VM and their states.
pub async fn volumes_of_vm(c: &mut Conn, vm_id: i64) -> Result<Vec<(i64, VolumeState)>, Error> {
    let rows: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, state FROM volume WHERE vm_id = $1 AND removed IS NULL ORDER BY id")
            .bind(vm_id)
            .fetch_all(&mut *c)
            .await
            .map_err(db_err)?;
    rows.into_iter()
        .map(|(id, s)| {
            Ok((
                id,
                s.parse::<VolumeState>()
                    .map_err(|e| Error::internal(format!("volume {id}: {e}")))?,
            ))
        })
        .collect()
}

/// Compare-and-set a volume's state; `removed` marks it removed in the same write (expunged).
/// False if the volume moved on.
pub async fn volume_cas(
    c: &mut Conn,
    id: i64,
    from: VolumeState,
    to: VolumeState,
    removed: Option<i64>,
) -> Result<bool, Error> {
    let r = sqlx::query(
        "UPDATE volume SET state = $1, removed = COALESCE($2, removed) WHERE id = $3 AND state = $4 AND removed IS NULL",
    )
    .bind(to.as_str())
    .bind(removed)
    .bind(id)
    .bind(from.as_str())
    .execute(&mut *c)
    .await
    .map_err(db_err)?;
    Ok(r.rows_affected() == 1)
}

#[derive(Debug, Default, Clone)]
pub struct VolumeFilter {
    pub id: Option<i64>,
    /// `ids`: any of these uuids.
    pub uuids: Vec<String>,
    pub vm_id: Option<i64>,
    pub zone_id: Option<i64>,
    pub volume_type: Option<String>,
    pub name: Option<String>,
    pub keyword: Option<String>,
    /// `tags[N].key/value`: volumes having any of these tags.
    pub tags: Vec<crate::tag::TagMatch>,
}

pub async fn list_volumes(
    c: &mut Conn,
    scope: &OwnerScope,
    f: &VolumeFilter,
    page: Page,
) -> Result<(i64, Vec<Volume>), Error> {
    let mut s = Sql::new("SELECT x.id, COUNT(*) OVER () FROM volume x");
    s.and("x.removed IS NULL");
    scope.apply(&mut s, "x.account_id", "x.domain_id");
    if let Some(v) = f.id {
        s.and("x.id = ").bind_i64(v);
    }
    if !f.uuids.is_empty() {
        s.and_in_str("x.uuid", &f.uuids);
    }
    if let Some(v) = f.vm_id {
        s.and("x.vm_id = ").bind_i64(v);
    }
    if let Some(v) = f.zone_id {
        s.and("x.zone_id = ").bind_i64(v);
    }
    if let Some(v) = &f.volume_type {
        s.and("upper(x.volume_type) = ").bind_str(v.to_uppercase());
    }
    if let Some(v) = &f.name {
        s.and("x.name = ").bind_str(v.clone());
    }
    if let Some(k) = &f.keyword {
        s.and_keyword(&["x.name"], k);
    }
    crate::tag::and_tags(&mut s, crate::tag::ResourceType::Volume, "x.id", &f.tags);
    s.push(" ORDER BY x.id").page(page);
    let (total, ids) = crate::sql::page_ids(&mut *c, &s).await?;
    let mut q = Sql::new(VOLUME_SELECT);
    q.and_in_i64("x.id", &ids).push(" ORDER BY x.id");
    Ok((total, q.fetch_all(c).await?))
}

/// A volume's id and whether it was removed, by uuid (removed ones included).
pub async fn volume_by_uuid_including_removed(c: &mut Conn, uuid: &str) -> Result<Option<(i64, bool)>, Error> {
    let r: Option<(i64, Option<i64>)> = sqlx::query_as("SELECT id, removed FROM volume WHERE uuid = $1")
        .bind(uuid)
        .fetch_optional(&mut *c)
        .await
        .map_err(db_err)?;
    Ok(r.map(|(id, removed)| (id, removed.is_some())))
}

/// Live volumes on a storage pool.
pub async fn volumes_on_pool(c: &mut Conn, pool_id: i64) -> Result<i64, Error> {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM volume WHERE pool_id = $1 AND removed IS NULL")
        .bind(pool_id)
        .fetch_one(&mut *c)
        .await
        .map_err(db_err)?;
    Ok(n)
}

/// Put a VM's volumes without a pool on the best pool in reach of `host_id`: the host's own
/// local pool, then its cluster's, then a zone-wide one. No pool in reach: left unplaced (the
/// simulator needs none).
/// Where a VM's root disk lives when it starts on a host: the root volume and its pool (the
/// pool it was placed on, or the one [`place_volumes`] would pick for the host).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RootPlacement {
    pub volume_uuid: String,
    pub size: i64,
    pub pool_uuid: String,
    pub pool_name: String,
    pub pool_type: String,
    pub pool_path: String,
}

pub async fn root_placement(c: &mut Conn, vm_id: i64, host_id: i64) -> Result<Option<RootPlacement>, Error> {
    sqlx::query_as(
        "SELECT x.uuid AS volume_uuid, x.size, p.uuid AS pool_uuid, p.name AS pool_name, p.pool_type, p.path AS pool_path \
         FROM volume x JOIN host h ON h.id = $2 JOIN storage_pool p ON p.removed IS NULL AND p.zone_id = h.zone_id \
         AND ((x.pool_id IS NOT NULL AND p.id = x.pool_id) OR (x.pool_id IS NULL AND (p.host_id = h.id \
              OR (p.host_id IS NULL AND p.cluster_id = h.cluster_id) OR (p.host_id IS NULL AND p.cluster_id IS NULL)))) \
         WHERE x.vm_id = $1 AND x.volume_type = 'ROOT' AND x.removed IS NULL \
         ORDER BY CASE WHEN p.id = x.pool_id THEN 0 WHEN p.host_id = h.id THEN 1 WHEN p.cluster_id = h.cluster_id THEN 2 ELSE 3 END, p.id \
         LIMIT 1",
    )
    .bind(vm_id)
    .bind(host_id)
    .fetch_optional(&mut *c)
    .await
    .map_err(db_err)
}

pub async fn place_volumes(c: &mut Conn, vm_id: i64, host_id: i64) -> Result<(), Error> {
    let pool: Option<(i64,)> = sqlx::query_as(
        "SELECT p.id FROM storage_pool p JOIN host h ON h.id = $1 WHERE p.removed IS NULL AND p.zone_id = h.zone_id \
         AND (p.host_id = h.id OR (p.host_id IS NULL AND p.cluster_id = h.cluster_id) \
              OR (p.host_id IS NULL AND p.cluster_id IS NULL)) \
         ORDER BY CASE WHEN p.host_id = h.id THEN 0 WHEN p.cluster_id = h.cluster_id THEN 1 ELSE 2 END, p.id LIMIT 1",
    )
    .bind(host_id)
    .fetch_optional(&mut *c)
    .await
    .map_err(db_err)?;
    if let Some((p,)) = pool {
        sqlx::query("UPDATE volume SET pool_id = $1 WHERE vm_id = $2 AND pool_id IS NULL AND removed IS NULL")
            .bind(p)
            .bind(vm_id)
            .execute(&mut *c)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}
