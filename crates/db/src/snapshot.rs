//! Volume snapshots: their rows, states (the typed Snapshot machine, written with a
//! compare-and-swap), the indexed, paged list, and what a snapshot or a template needs to know
//! about its source volume. A snapshot outlives its volume: reads join the volume row whether or
//! not it was removed.

use ferrostack_types::state::{SnapshotState, VmState, VolumeState};
use ferrostack_types::{Error, Page};

use crate::account::OwnerScope;
use crate::{db_err, Conn, Sql};

/// A snapshot as the API renders it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Snapshot {
    pub id: i64,
    pub uuid: String,
    pub name: String,
    pub volume_id: i64,
    pub zone_id: i64,
    pub account_id: i64,
    pub domain_id: i64,
    pub snapshot_type: String,
    pub volume_type: String,
    #[sqlx(try_from = "String")]
    pub state: SnapshotState,
    pub size: i64,
    pub physical_size: i64,
    pub hypervisor: String,
    pub guest_os_id: Option<i64>,
    pub created: i64,
    pub volume_uuid: String,
    pub volume_name: String,
    pub volume_state: String,
    pub volume_removed: Option<i64>,
    pub zone_uuid: String,
    pub zone_name: String,
    pub account_name: Option<String>,
    pub domain_uuid: Option<String>,
    pub domain_name: Option<String>,
    pub domain_path: Option<String>,
    pub os_uuid: Option<String>,
    pub os_name: Option<String>,
    /// The pool the snapshot's file is on (`None`: a recorded artefact with no file).
    pub pool_id: Option<i64>,
    pub pool_uuid: Option<String>,
    pub pool_path: Option<String>,
}

const SNAPSHOT_SELECT: &str = "SELECT s.id, s.uuid, s.name, s.volume_id, s.zone_id, s.account_id, s.domain_id, \
     s.snapshot_type, s.volume_type, s.state, s.size, s.physical_size, s.hypervisor, s.guest_os_id, s.created, \
     x.uuid AS volume_uuid, x.name AS volume_name, x.state AS volume_state, x.removed AS volume_removed, \
     z.uuid AS zone_uuid, z.name AS zone_name, a.name AS account_name, d.uuid AS domain_uuid, \
     d.name AS domain_name, d.path AS domain_path, o.uuid AS os_uuid, o.display_name AS os_name, \
     s.pool_id, p.uuid AS pool_uuid, p.path AS pool_path \
     FROM snapshot s JOIN volume x ON x.id = s.volume_id JOIN zone z ON z.id = s.zone_id \
     LEFT JOIN account a ON a.id = s.account_id LEFT JOIN domain d ON d.id = s.domain_id \
     LEFT JOIN guest_os o ON o.id = s.guest_os_id LEFT JOIN storage_pool p ON p.id = s.pool_id";

/// What a snapshot (or a template) is taken from: a live volume, its VM and where its
/// hypervisor and guest OS come from (the volume's template, else its VM's; for a detached
/// volume made from no template, the hypervisor of its zone's hosts when they all have one).
#[derive(Debug, Clone)]
pub struct VolumeSource {
    pub id: i64,
    pub uuid: String,
    pub name: String,
    pub volume_type: String,
    pub state: VolumeState,
    pub size: i64,
    pub zone_id: i64,
    pub account_id: i64,
    pub domain_id: i64,
    pub vm_id: Option<i64>,
    pub vm_uuid: Option<String>,
    pub vm_name: Option<String>,
    pub vm_display_name: Option<String>,
    pub vm_type: Option<String>,
    pub vm_state: Option<VmState>,
    pub hypervisor: Option<String>,
    pub guest_os_id: Option<i64>,
}

impl<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> for VolumeSource {
    fn from_row(r: &'r sqlx::any::AnyRow) -> Result<Self, sqlx::Error> {
        use sqlx::Row;
        Ok(VolumeSource {
            id: r.try_get("id")?,
            uuid: r.try_get("uuid")?,
            name: r.try_get("name")?,
            volume_type: r.try_get("volume_type")?,
            state: crate::enum_col(r, "state")?,
            size: r.try_get("size")?,
            zone_id: r.try_get("zone_id")?,
            account_id: r.try_get("account_id")?,
            domain_id: r.try_get("domain_id")?,
            vm_id: r.try_get("vm_id")?,
            vm_uuid: r.try_get("vm_uuid")?,
            vm_name: r.try_get("vm_name")?,
            vm_display_name: r.try_get("vm_display_name")?,
            vm_type: r.try_get("vm_type")?,
            vm_state: crate::opt_enum_col(r, "vm_state")?,
            hypervisor: r.try_get("hypervisor")?,
            guest_os_id: r.try_get("guest_os_id")?,
        })
    }
}

/// A live volume by uuid (or by id), as the source of a snapshot or template.
pub async fn volume_source(c: &mut Conn, uuid: Option<&str>, id: Option<i64>) -> Result<Option<VolumeSource>, Error> {
    let mut s = Sql::new(
        "SELECT x.id, x.uuid, x.name, x.volume_type, x.state, x.size, x.zone_id, x.account_id, x.domain_id, \
         x.vm_id, v.uuid AS vm_uuid, v.name AS vm_name, v.display_name AS vm_display_name, v.vm_type, v.state AS vm_state, \
         COALESCE(t.hypervisor, vt.hypervisor, (SELECT CASE WHEN COUNT(DISTINCT lower(h.hypervisor)) = 1 \
            THEN MIN(h.hypervisor) END FROM host h WHERE h.zone_id = x.zone_id AND h.host_type = 'Routing' \
            AND h.removed IS NULL)) AS hypervisor, \
         COALESCE(t.guest_os_id, vt.guest_os_id) AS guest_os_id \
         FROM volume x LEFT JOIN vm_instance v ON v.id = x.vm_id AND v.removed IS NULL \
         LEFT JOIN vm_template t ON t.id = x.template_id LEFT JOIN vm_template vt ON vt.id = v.template_id",
    );
    s.and("x.removed IS NULL");
    match (uuid, id) {
        (Some(u), _) => s.and("x.uuid = ").bind_str(u),
        (None, Some(i)) => s.and("x.id = ").bind_i64(i),
        (None, None) => return Ok(None),
    };
    Ok(s.fetch_all::<VolumeSource>(c).await?.into_iter().next())
}

pub struct NewSnapshot<'a> {
    pub uuid: &'a str,
    pub name: &'a str,
    pub volume: &'a VolumeSource,
    pub hypervisor: &'a str,
    pub now: i64,
}

impl VolumeSource {
    /// The job sync key of operations that need the volume's VM to stay as it is (stopped):
    /// the VM's own key (its start, stop and destroy jobs queue behind them), else the volume's.
    pub fn vm_sync_key(&self) -> String {
        match &self.vm_uuid {
            Some(u) => format!("vm:{u}"),
            None => format!("volume:{}", self.uuid),
        }
    }
}

/// A new `MANUAL` snapshot of a volume, `Allocated`, sized as the volume is now.
pub async fn insert(c: &mut Conn, n: &NewSnapshot<'_>) -> Result<i64, Error> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO snapshot (uuid, name, volume_id, zone_id, account_id, domain_id, snapshot_type, volume_type, \
         state, size, physical_size, hypervisor, guest_os_id, created) \
         VALUES ($1, $2, $3, $4, $5, $6, 'MANUAL', $7, $8, $9, $9, $10, $11, $12) RETURNING id",
    )
    .bind(n.uuid)
    .bind(n.name)
    .bind(n.volume.id)
    .bind(n.volume.zone_id)
    .bind(n.volume.account_id)
    .bind(n.volume.domain_id)
    .bind(&n.volume.volume_type)
    .bind(SnapshotState::Allocated.as_str())
    .bind(n.volume.size)
    .bind(n.hypervisor)
    .bind(n.volume.guest_os_id)
    .bind(n.now)
    .fetch_one(&mut *c)
    .await
    .map_err(db_err)?;
    Ok(id)
}

/// A live snapshot by id.
pub async fn get(c: &mut Conn, id: i64) -> Result<Option<Snapshot>, Error> {
    let mut s = Sql::new(SNAPSHOT_SELECT);
    s.and("s.id = ").bind_i64(id);
    s.and("s.removed IS NULL");
    Ok(s.fetch_all(c).await?.into_iter().next())
}

/// A live snapshot by uuid.
pub async fn by_uuid(c: &mut Conn, uuid: &str) -> Result<Option<Snapshot>, Error> {
    let mut s = Sql::new(SNAPSHOT_SELECT);
    s.and("s.uuid = ").bind_str(uuid);
    s.and("s.removed IS NULL");
    Ok(s.fetch_all(c).await?.into_iter().next())
}

/// A snapshot's id and whether it was removed, by uuid (removed ones included).
pub async fn by_uuid_including_removed(c: &mut Conn, uuid: &str) -> Result<Option<(i64, i64, bool)>, Error> {
    let r: Option<(i64, i64, Option<i64>)> =
        sqlx::query_as("SELECT id, account_id, removed FROM snapshot WHERE uuid = $1")
            .bind(uuid)
            .fetch_optional(&mut *c)
            .await
            .map_err(db_err)?;
    Ok(r.map(|(id, account, removed)| (id, account, removed.is_some())))
}

/// The state of a snapshot, live or not (`None`: no such row).
pub async fn state_of(c: &mut Conn, id: i64) -> Result<Option<(SnapshotState, bool)>, Error> {
    let r: Option<(String, Option<i64>)> = sqlx::query_as("SELECT state, removed FROM snapshot WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *c)
        .await
        .map_err(db_err)?;
    r.map(|(s, removed)| {
        s.parse::<SnapshotState>()
            .map(|s| (s, removed.is_some()))
            .map_err(|e| Error::internal(format!("snapshot {id}: {e}")))
    })
    .transpose()
}

/// The volume id of a snapshot, removed or not.
pub async fn volume_id_of(c: &mut Conn, id: i64) -> Result<Option<i64>, Error> {
    let r: Option<(i64,)> = sqlx::query_as("SELECT volume_id FROM snapshot WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *c)
        .await
        .map_err(db_err)?;
    Ok(r.map(|r| r.0))
}

/// Compare-and-set a snapshot's state; `removed` marks it removed in the same write. False if
/// the snapshot moved on (or is removed).
pub async fn cas(
    c: &mut Conn,
    id: i64,
    from: SnapshotState,
    to: SnapshotState,
    removed: Option<i64>,
) -> Result<bool, Error> {
    let r =
        sqlx::query("UPDATE snapshot SET state = $1, removed = $2 WHERE id = $3 AND state = $4 AND removed IS NULL")
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
pub struct SnapshotFilter {
    pub id: Option<i64>,
    /// `ids`: any of these uuids.
    pub uuids: Vec<String>,
    pub volume_id: Option<i64>,
    pub zone_id: Option<i64>,
    pub name: Option<String>,
    pub keyword: Option<String>,
    /// `snapshottype` / `intervaltype`: any of these stored types (MANUAL, HOURLY…); `None`
    /// for any type.
    pub snapshot_types: Option<Vec<String>>,
    /// `tags[N].key/value`: snapshots having any of these tags.
    pub tags: Vec<crate::tag::TagMatch>,
}

/// `listSnapshots`: live snapshots in the scope, paged on the id, newest first as CloudStack
/// sorts them.
pub async fn list(
    c: &mut Conn,
    scope: &OwnerScope,
    f: &SnapshotFilter,
    page: Page,
) -> Result<(i64, Vec<Snapshot>), Error> {
    let mut s = Sql::new("SELECT s.id, COUNT(*) OVER () FROM snapshot s");
    s.and("s.removed IS NULL");
    scope.apply(&mut s, "s.account_id", "s.domain_id");
    if let Some(v) = f.id {
        s.and("s.id = ").bind_i64(v);
    }
    if !f.uuids.is_empty() {
        s.and_in_str("s.uuid", &f.uuids);
    }
    if let Some(v) = f.volume_id {
        s.and("s.volume_id = ").bind_i64(v);
    }
    if let Some(v) = f.zone_id {
        s.and("s.zone_id = ").bind_i64(v);
    }
    if let Some(v) = &f.name {
        s.and("lower(s.name) = ").bind_str(v.to_lowercase());
    }
    if let Some(v) = &f.snapshot_types {
        s.and_in_str("s.snapshot_type", v);
    }
    if let Some(k) = &f.keyword {
        s.and_keyword(&["s.name"], k);
    }
    crate::tag::and_tags(&mut s, crate::tag::ResourceType::Snapshot, "s.id", &f.tags);
    s.push(" ORDER BY s.id DESC").page(page);
    let (total, ids) = crate::sql::page_ids(&mut *c, &s).await?;
    let mut q = Sql::new(SNAPSHOT_SELECT);
    q.and_in_i64("s.id", &ids).push(" ORDER BY s.id DESC");
    Ok((total, q.fetch_all(c).await?))
}

/// The live snapshots an account owns (its deletion removes them).
pub async fn ids_of_account(c: &mut Conn, account_id: i64) -> Result<Vec<i64>, Error> {
    let rows: Vec<(i64,)> =
        sqlx::query_as("SELECT id FROM snapshot WHERE account_id = $1 AND removed IS NULL ORDER BY id")
            .bind(account_id)
            .fetch_all(&mut *c)
            .await
            .map_err(db_err)?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// A reverted volume takes the snapshot's size (the simulator's whole "disk"). Only while the
/// volume is `RevertSnapshotting`: false if it is not.
pub async fn restore_volume_size(c: &mut Conn, volume_id: i64, size: i64) -> Result<bool, Error> {
    let r = sqlx::query("UPDATE volume SET size = $1 WHERE id = $2 AND state = $3 AND removed IS NULL")
        .bind(size)
        .bind(volume_id)
        .bind(VolumeState::RevertSnapshotting.as_str())
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
    Ok(r.rows_affected() == 1)
}

/// Record what a host made of a snapshot: the pool its file is on and the sizes it reported
/// (`None` keeps the recorded one).
pub async fn set_file(
    c: &mut Conn,
    id: i64,
    pool_id: Option<i64>,
    size: Option<i64>,
    physical_size: Option<i64>,
) -> Result<(), Error> {
    sqlx::query(
        "UPDATE snapshot SET pool_id = $1, size = COALESCE($2, size), physical_size = COALESCE($3, physical_size) \
         WHERE id = $4",
    )
    .bind(pool_id)
    .bind(size)
    .bind(physical_size)
    .bind(id)
    .execute(&mut *c)
    .await
    .map_err(db_err)?;
    Ok(())
}

/// The pool a snapshot's file is on and that pool's uuid and path, removed snapshots
/// included (`None`: no file).
pub async fn file_of(c: &mut Conn, id: i64) -> Result<Option<(i64, String, String)>, Error> {
    let r: Option<(i64, String, String)> = sqlx::query_as(
        "SELECT p.id, p.uuid, p.path FROM snapshot s JOIN storage_pool p ON p.id = s.pool_id WHERE s.id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *c)
    .await
    .map_err(db_err)?;
    Ok(r)
}

/// Record where a template made by `createTemplate` comes from.
pub async fn set_template_source(
    c: &mut Conn,
    template_id: i64,
    snapshot_id: Option<i64>,
    volume_id: Option<i64>,
) -> Result<(), Error> {
    sqlx::query("UPDATE vm_template SET source_snapshot_id = $1, source_volume_id = $2 WHERE id = $3")
        .bind(snapshot_id)
        .bind(volume_id)
        .bind(template_id)
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// The snapshot and the volume a template made by `createTemplate` comes from.
pub async fn template_source(c: &mut Conn, template_id: i64) -> Result<(Option<i64>, Option<i64>), Error> {
    let r: Option<(Option<i64>, Option<i64>)> =
        sqlx::query_as("SELECT source_snapshot_id, source_volume_id FROM vm_template WHERE id = $1")
            .bind(template_id)
            .fetch_optional(&mut *c)
            .await
            .map_err(db_err)?;
    Ok(r.unwrap_or((None, None)))
}

/// A snapshot's uuid, removed or not.
pub async fn uuid_of(c: &mut Conn, id: i64) -> Result<Option<String>, Error> {
    let r: Option<(String,)> = sqlx::query_as("SELECT uuid FROM snapshot WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *c)
        .await
        .map_err(db_err)?;
    Ok(r.map(|x| x.0))
}
