//! Volumes (today the root volume of every VM and router): their rows, states and pools.

use ferrostack_types::state::{VmState, VolumeState};
use ferrostack_types::{Error, Page};

use crate::account::OwnerScope;
use crate::{db_err, Conn, Sql};

/// Device slot of the CD-ROM on every VM: never given to a volume.
pub const CDROM_DEVICE_ID: i64 = 3;

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
    pub disk_offering_id: Option<i64>,
    pub device_id: Option<i64>,
    pub attached: Option<i64>,
    pub vm_uuid: Option<String>,
    pub vm_name: Option<String>,
    pub vm_display_name: Option<String>,
    pub vm_instance_name: Option<String>,
    pub vm_state: Option<VmState>,
    pub vm_host_id: Option<i64>,
    pub zone_uuid: String,
    pub zone_name: String,
    pub account_name: Option<String>,
    pub domain_uuid: Option<String>,
    pub domain_name: Option<String>,
    pub disk_offering_uuid: Option<String>,
    pub disk_offering_name: Option<String>,
    pub disk_offering_display_text: Option<String>,
    pub pool_uuid: Option<String>,
    pub pool_name: Option<String>,
    pub pool_type: Option<String>,
    pub pool_path: Option<String>,
    pub pool_host_id: Option<i64>,
    pub pool_cluster_id: Option<i64>,
    pub template_uuid: Option<String>,
    pub template_name: Option<String>,
    pub hypervisor: Option<String>,
    pub snapshot_uuid: Option<String>,
    /// The pool holding the file of the snapshot the volume is made from (hosts with files).
    pub snapshot_pool_id: Option<i64>,
    pub snapshot_pool_uuid: Option<String>,
    pub snapshot_pool_path: Option<String>,
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
            disk_offering_id: r.try_get("disk_offering_id")?,
            device_id: r.try_get("device_id")?,
            attached: r.try_get("attached")?,
            vm_uuid: r.try_get("vm_uuid")?,
            vm_name: r.try_get("vm_name")?,
            vm_display_name: r.try_get("vm_display_name")?,
            vm_instance_name: r.try_get("vm_instance_name")?,
            vm_state: crate::opt_enum_col(r, "vm_state")?,
            vm_host_id: r.try_get("vm_host_id")?,
            zone_uuid: r.try_get("zone_uuid")?,
            zone_name: r.try_get("zone_name")?,
            account_name: r.try_get("account_name")?,
            domain_uuid: r.try_get("domain_uuid")?,
            domain_name: r.try_get("domain_name")?,
            disk_offering_uuid: r.try_get("disk_offering_uuid")?,
            disk_offering_name: r.try_get("disk_offering_name")?,
            disk_offering_display_text: r.try_get("disk_offering_display_text")?,
            pool_uuid: r.try_get("pool_uuid")?,
            pool_name: r.try_get("pool_name")?,
            pool_type: r.try_get("pool_type")?,
            pool_path: r.try_get("pool_path")?,
            pool_host_id: r.try_get("pool_host_id")?,
            pool_cluster_id: r.try_get("pool_cluster_id")?,
            template_uuid: r.try_get("template_uuid")?,
            template_name: r.try_get("template_name")?,
            hypervisor: r.try_get("hypervisor")?,
            snapshot_uuid: r.try_get("snapshot_uuid")?,
            snapshot_pool_id: r.try_get("snapshot_pool_id")?,
            snapshot_pool_uuid: r.try_get("snapshot_pool_uuid")?,
            snapshot_pool_path: r.try_get("snapshot_pool_path")?,
        })
    }
}

const VOLUME_SELECT: &str =
    "SELECT x.id, x.uuid, x.name, x.vm_id, x.zone_id, x.pool_id, x.volume_type, x.size, x.state, \
     x.account_id, x.domain_id, x.template_id, x.created, x.disk_offering_id, x.device_id, x.attached, \
     v.uuid AS vm_uuid, v.name AS vm_name, v.display_name AS vm_display_name, v.instance_name AS vm_instance_name, \
     v.state AS vm_state, v.host_id AS vm_host_id, \
     z.uuid AS zone_uuid, z.name AS zone_name, a.name AS account_name, d.uuid AS domain_uuid, d.name AS domain_name, \
     o.uuid AS disk_offering_uuid, o.name AS disk_offering_name, o.display_text AS disk_offering_display_text, \
     p.uuid AS pool_uuid, p.name AS pool_name, p.pool_type, p.path AS pool_path, p.host_id AS pool_host_id, \
     p.cluster_id AS pool_cluster_id, t.uuid AS template_uuid, t.name AS template_name, \
     COALESCE(v.hypervisor, vt.hypervisor, t.hypervisor, p.hypervisor) AS hypervisor, sn.uuid AS snapshot_uuid, \
     sn.pool_id AS snapshot_pool_id, sp.uuid AS snapshot_pool_uuid, sp.path AS snapshot_pool_path \
     FROM volume x JOIN zone z ON z.id = x.zone_id LEFT JOIN vm_instance v ON v.id = x.vm_id \
     LEFT JOIN account a ON a.id = x.account_id LEFT JOIN domain d ON d.id = x.domain_id \
     LEFT JOIN disk_offering o ON o.id = x.disk_offering_id LEFT JOIN storage_pool p ON p.id = x.pool_id \
     LEFT JOIN vm_template t ON t.id = x.template_id LEFT JOIN vm_template vt ON vt.id = v.template_id \
     LEFT JOIN snapshot sn ON sn.id = x.snapshot_id LEFT JOIN storage_pool sp ON sp.id = sn.pool_id";

/// A volume to insert.
#[derive(Debug, Clone)]
pub struct NewVolume<'a> {
    pub uuid: &'a str,
    pub name: &'a str,
    /// ROOT or DATADISK.
    pub volume_type: &'a str,
    /// The VM it is attached to, and its device slot there.
    pub vm: Option<(i64, i64)>,
    pub zone_id: i64,
    pub size: i64,
    pub account_id: i64,
    pub domain_id: i64,
    pub template_id: Option<i64>,
    pub disk_offering_id: Option<i64>,
    pub snapshot_id: Option<i64>,
    pub now: i64,
}

pub async fn insert(c: &mut Conn, v: &NewVolume<'_>) -> Result<i64, Error> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO volume (uuid, name, vm_id, zone_id, volume_type, size, state, account_id, domain_id, template_id, \
         created, disk_offering_id, device_id, attached, snapshot_id) \
         VALUES ($1, $2, $3, $4, $5, $6, 'Allocated', $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
    )
    .bind(v.uuid)
    .bind(v.name)
    .bind(v.vm.map(|x| x.0))
    .bind(v.zone_id)
    .bind(v.volume_type)
    .bind(v.size)
    .bind(v.account_id)
    .bind(v.domain_id)
    .bind(v.template_id)
    .bind(v.now)
    .bind(v.disk_offering_id)
    .bind(v.vm.map(|x| x.1))
    .bind(v.vm.map(|_| v.now))
    .bind(v.snapshot_id)
    .fetch_one(&mut *c)
    .await
    .map_err(db_err)?;
    Ok(id)
}

/// The root volume of a new VM or router (device 0).
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
    insert(
        c,
        &NewVolume {
            uuid,
            name,
            volume_type: "ROOT",
            vm: Some((vm_id, 0)),
            zone_id,
            size,
            account_id,
            domain_id,
            template_id,
            disk_offering_id: None,
            snapshot_id: None,
            now,
        },
    )
    .await
}

/// A live volume by uuid.
pub async fn by_uuid(c: &mut Conn, uuid: &str) -> Result<Option<Volume>, Error> {
    let mut q = Sql::new(VOLUME_SELECT);
    q.and("x.uuid = ").bind_str(uuid).and("x.removed IS NULL");
    Ok(q.fetch_all(c).await?.into_iter().next())
}

/// A live volume by id.
pub async fn get(c: &mut Conn, id: i64) -> Result<Option<Volume>, Error> {
    let mut q = Sql::new(VOLUME_SELECT);
    q.and("x.id = ").bind_i64(id).and("x.removed IS NULL");
    Ok(q.fetch_all(c).await?.into_iter().next())
}

/// A volume by id, removed ones included.
pub async fn get_including_removed(c: &mut Conn, id: i64) -> Result<Option<Volume>, Error> {
    let mut q = Sql::new(VOLUME_SELECT);
    q.and("x.id = ").bind_i64(id);
    Ok(q.fetch_all(c).await?.into_iter().next())
}

/// Lock a volume's row for the rest of the transaction (PostgreSQL; SQLite's single writer
/// serializes already): a no-op update every writer of the row must wait behind.
pub async fn lock(c: &mut Conn, id: i64) -> Result<(), Error> {
    sqlx::query("UPDATE volume SET id = id WHERE id = $1")
        .bind(id)
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Every live volume of these VMs (attached data disks included), ordered by VM and slot.
pub async fn of_vms(c: &mut Conn, vm_ids: &[i64]) -> Result<Vec<Volume>, Error> {
    if vm_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = Sql::new(VOLUME_SELECT);
    q.and_in_i64("x.vm_id", vm_ids)
        .and("x.removed IS NULL")
        .push(" ORDER BY x.vm_id, x.device_id, x.id");
    q.fetch_all(c).await
}

/// The lowest free data slot of a VM (from 1, skipping the CD-ROM's), or `None` when every
/// slot up to `max_slot` is taken.
pub async fn free_device_id(c: &mut Conn, vm_id: i64, max_slot: i64) -> Result<Option<i64>, Error> {
    let taken: Vec<(Option<i64>,)> =
        sqlx::query_as("SELECT device_id FROM volume WHERE vm_id = $1 AND removed IS NULL")
            .bind(vm_id)
            .fetch_all(&mut *c)
            .await
            .map_err(db_err)?;
    Ok((1..=max_slot).find(|d| *d != CDROM_DEVICE_ID && !taken.iter().any(|(t,)| *t == Some(*d))))
}

/// Attach a detached volume to `vm_id` at `device_id`; false if it is attached already (a
/// concurrent attach won).
pub async fn set_attached(c: &mut Conn, id: i64, vm_id: i64, device_id: i64, now: i64) -> Result<bool, Error> {
    let r = sqlx::query(
        "UPDATE volume SET vm_id = $1, device_id = $2, attached = $3 WHERE id = $4 AND vm_id IS NULL AND removed IS NULL",
    )
    .bind(vm_id)
    .bind(device_id)
    .bind(now)
    .bind(id)
    .execute(&mut *c)
    .await
    .map_err(db_err)?;
    Ok(r.rows_affected() == 1)
}

/// Detach a volume from `vm_id`; false if it is not attached there.
pub async fn set_detached(c: &mut Conn, id: i64, vm_id: i64) -> Result<bool, Error> {
    let r = sqlx::query(
        "UPDATE volume SET vm_id = NULL, device_id = NULL, attached = NULL WHERE id = $1 AND vm_id = $2 AND removed IS NULL",
    )
    .bind(id)
    .bind(vm_id)
    .execute(&mut *c)
    .await
    .map_err(db_err)?;
    Ok(r.rows_affected() == 1)
}

/// Detach every data disk of a VM (it is being expunged: its data disks stay, detached).
pub async fn detach_data_disks(c: &mut Conn, vm_id: i64) -> Result<(), Error> {
    sqlx::query(
        "UPDATE volume SET vm_id = NULL, device_id = NULL, attached = NULL \
         WHERE vm_id = $1 AND volume_type = 'DATADISK' AND removed IS NULL",
    )
    .bind(vm_id)
    .execute(&mut *c)
    .await
    .map_err(db_err)?;
    Ok(())
}

/// A volume's new size (and disk offering); the pool's allocation follows.
pub async fn set_size(c: &mut Conn, id: i64, size: i64, disk_offering_id: Option<i64>) -> Result<(), Error> {
    sqlx::query(
        "UPDATE storage_pool SET allocated_bytes = allocated_bytes + $1 - (SELECT size FROM volume WHERE id = $2) \
         WHERE id = (SELECT pool_id FROM volume WHERE id = $2)",
    )
    .bind(size)
    .bind(id)
    .execute(&mut *c)
    .await
    .map_err(db_err)?;
    sqlx::query("UPDATE volume SET size = $1, disk_offering_id = COALESCE($2, disk_offering_id) WHERE id = $3")
        .bind(size)
        .bind(disk_offering_id)
        .bind(id)
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Put one volume on a pool (it was created there); the pool's allocation grows by its size.
pub async fn set_pool(c: &mut Conn, id: i64, pool_id: i64) -> Result<(), Error> {
    let r = sqlx::query("UPDATE volume SET pool_id = $1 WHERE id = $2 AND pool_id IS NULL")
        .bind(pool_id)
        .bind(id)
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
    if r.rows_affected() == 1 {
        sqlx::query(
            "UPDATE storage_pool SET allocated_bytes = allocated_bytes + (SELECT size FROM volume WHERE id = $1) WHERE id = $2",
        )
        .bind(id)
        .bind(pool_id)
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
    }
    Ok(())
}

/// The live volumes of a VM and their states.
/// `root_only`: the root volume alone (a destroyed or expunged VM takes its root volume with
/// it; its data disks stay).
pub async fn volumes_of_vm(c: &mut Conn, vm_id: i64, root_only: bool) -> Result<Vec<(i64, VolumeState)>, Error> {
    let sql = if root_only {
        "SELECT id, state FROM volume WHERE vm_id = $1 AND removed IS NULL AND volume_type = 'ROOT' ORDER BY id"
    } else {
        "SELECT id, state FROM volume WHERE vm_id = $1 AND removed IS NULL ORDER BY id"
    };
    let rows: Vec<(i64, String)> = sqlx::query_as(sql)
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
    if r.rows_affected() == 1 && removed.is_some() {
        release_pool_allocation(c, &[id]).await?;
    }
    Ok(r.rows_affected() == 1)
}

/// Give back the pool space of volumes that were just removed.
pub async fn release_pool_allocation(c: &mut Conn, ids: &[i64]) -> Result<(), Error> {
    if ids.is_empty() {
        return Ok(());
    }
    let mut q = Sql::new(
        "UPDATE storage_pool SET allocated_bytes = allocated_bytes - \
         (SELECT COALESCE(SUM(x.size), 0) FROM volume x WHERE x.pool_id = storage_pool.id AND x.id IN (",
    );
    q.list_i64(ids)
        .push(")) WHERE id IN (SELECT pool_id FROM volume WHERE pool_id IS NOT NULL AND id IN (");
    q.list_i64(ids).push("))");
    q.query().execute(&mut *c).await.map_err(db_err)?;
    Ok(())
}

#[derive(Debug, Default, Clone)]
pub struct VolumeFilter {
    pub id: Option<i64>,
    /// `ids`: any of these uuids.
    pub uuids: Vec<String>,
    pub vm_id: Option<i64>,
    pub zone_id: Option<i64>,
    pub pool_id: Option<i64>,
    pub disk_offering_id: Option<i64>,
    pub state: Option<VolumeState>,
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
    if let Some(v) = f.pool_id {
        s.and("x.pool_id = ").bind_i64(v);
    }
    if let Some(v) = f.disk_offering_id {
        s.and("x.disk_offering_id = ").bind_i64(v);
    }
    if let Some(v) = f.state {
        s.and("x.state = ").bind_str(v.as_str());
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
        sqlx::query(
            "UPDATE storage_pool SET allocated_bytes = allocated_bytes + (SELECT COALESCE(SUM(size), 0) FROM volume \
             WHERE vm_id = $2 AND pool_id IS NULL AND removed IS NULL) WHERE id = $1",
        )
        .bind(p)
        .bind(vm_id)
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
        sqlx::query("UPDATE volume SET pool_id = $1 WHERE vm_id = $2 AND pool_id IS NULL AND removed IS NULL")
            .bind(p)
            .bind(vm_id)
            .execute(&mut *c)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

/// The pool of a VM's root volume (id, uuid, path), once it is placed.
pub async fn root_pool_of(c: &mut Conn, vm_id: i64) -> Result<Option<(i64, String, String)>, Error> {
    sqlx::query_as(
        "SELECT p.id, p.uuid, p.path FROM volume x JOIN storage_pool p ON p.id = x.pool_id \
         WHERE x.vm_id = $1 AND x.volume_type = 'ROOT' AND x.removed IS NULL LIMIT 1",
    )
    .bind(vm_id)
    .fetch_optional(&mut *c)
    .await
    .map_err(db_err)
}

const HOSTS_OF_POOL: &str = "SELECT h.id FROM host h JOIN storage_pool p ON p.id = $1 \
     WHERE h.removed IS NULL AND h.zone_id = p.zone_id AND h.host_type = 'Routing' \
     AND (p.host_id = h.id OR (p.host_id IS NULL AND (p.cluster_id IS NULL OR p.cluster_id = h.cluster_id)))";

/// The Up hosts that reach a pool: the pool's own host (host-local), its cluster's hosts, or
/// (zone-wide) the zone's.
pub async fn up_hosts_for_pool(c: &mut Conn, pool_id: i64) -> Result<Vec<i64>, Error> {
    let q = format!("{HOSTS_OF_POOL} AND h.status = 'Up' ORDER BY h.id LIMIT 16");
    let rows: Vec<(i64,)> = sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(pool_id)
        .fetch_all(&mut *c)
        .await
        .map_err(db_err)?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// A host to carry out work on a pool's files: an Up one if any, else any (its work waits
/// for it to connect).
pub async fn host_for_pool(c: &mut Conn, pool_id: i64) -> Result<Option<i64>, Error> {
    let q = format!("{HOSTS_OF_POOL} ORDER BY CASE WHEN h.status = 'Up' THEN 0 ELSE 1 END, h.id LIMIT 1");
    let row: Option<(i64,)> = sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(pool_id)
        .fetch_optional(&mut *c)
        .await
        .map_err(db_err)?;
    Ok(row.map(|r| r.0))
}

/// A volume's uuid by id, removed ones included.
pub async fn uuid_of(c: &mut Conn, id: i64) -> Result<Option<String>, Error> {
    let r: Option<(String,)> = sqlx::query_as("SELECT uuid FROM volume WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *c)
        .await
        .map_err(db_err)?;
    Ok(r.map(|x| x.0))
}

/// The disk offering of a volume (removed ones included).
pub async fn disk_offering_of(c: &mut Conn, id: i64) -> Result<Option<i64>, Error> {
    let r: Option<(Option<i64>,)> = sqlx::query_as("SELECT disk_offering_id FROM volume WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *c)
        .await
        .map_err(db_err)?;
    Ok(r.and_then(|x| x.0))
}

/// The live volumes of an account attached to no VM.
pub async fn detached_ids_of_account(c: &mut Conn, account_id: i64) -> Result<Vec<i64>, Error> {
    let rows: Vec<(i64,)> =
        sqlx::query_as("SELECT id FROM volume WHERE account_id = $1 AND vm_id IS NULL AND removed IS NULL ORDER BY id")
            .bind(account_id)
            .fetch_all(&mut *c)
            .await
            .map_err(db_err)?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}
