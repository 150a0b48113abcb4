//! The host side of snapshots and of templates made from them: which host does the work, and
//! the agent calls (`snapshot_disk`, `revert_disk`, `delete_snapshot`, `template_from`). Every
//! call is made with no database connection held.
//!
//! A snapshot has a file when its volume was on a pool when it was taken (KVM hosts keep it
//! there, `<pool>/snapshots/<uuid>.qcow2`); the pool is recorded on the snapshot, since a
//! snapshot outlives its volume. A simulated volume on no pool gives a snapshot that is only a
//! recorded artefact (the simulator still sees `CreateObjectCommand` when its VM runs there).

use std::sync::Arc;

use ferrostack_agent_api::{Agent, ImageInfo, PoolSpec, SnapshotFile, TemplateSource};
use ferrostack_db::snapshot::{self as snap_db, Snapshot};
use ferrostack_db::volume::{self as vol_db, Volume};
use ferrostack_db::Conn;
use ferrostack_types::Error;

use crate::followup::FollowUp;
use crate::vmops::agent_err;
use crate::volume::{data_disk, disk_file};
use crate::App;

/// A snapshot's file as a host knows it, if it has one.
pub(crate) fn snapshot_file(s: &Snapshot) -> Option<SnapshotFile> {
    Some(SnapshotFile {
        snapshot: s.uuid.clone(),
        pool: PoolSpec {
            uuid: s.pool_uuid.clone()?,
            path: s.pool_path.clone()?,
        },
    })
}

/// A connected, Up host that reaches `pool_id`, to work on the pool's files.
async fn pool_agent(app: &App, pool_id: i64, what: &str) -> Result<Arc<dyn Agent>, Error> {
    let hosts = {
        let mut c = app.db.conn().await?;
        vol_db::up_hosts_for_pool(&mut c, pool_id).await?
    };
    hosts.into_iter().find_map(|h| app.agents.get(h)).ok_or_else(|| {
        Error::ResourceUnavailable(format!(
            "No connected host reaches the pool of {what}: bring one of the pool's hosts up, then retry"
        ))
    })
}

async fn volume(app: &App, id: i64, what: &str) -> Result<Volume, Error> {
    let mut c = app.db.conn().await?;
    vol_db::get(&mut c, id)
        .await?
        .ok_or_else(|| Error::invalid(format!("The volume of {what} was deleted meanwhile")))
}

/// Take snapshot `s` of its volume on the host that has the volume: the VM's host while it runs
/// there (the guest is paused for the copy), else a host that reaches the volume's pool. `None`:
/// the volume has no file anywhere (a recorded artefact on the simulator).
pub(crate) async fn take(app: &App, s: &Snapshot) -> Result<Option<ImageInfo>, Error> {
    let what = format!("snapshot {}", s.name);
    let v = volume(app, s.volume_id, &what).await?;
    let Some((host, vm_name)) = app.volume_worker(&v).await? else {
        return Ok(None);
    };
    let file = match (&vm_name, disk_file(&v)) {
        (_, Some(f)) => f,
        (Some(_), None) => data_disk(&v, v.device_id.unwrap_or(0)).file,
        (None, None) => return Ok(None),
    };
    let target = SnapshotFile {
        snapshot: s.uuid.clone(),
        pool: file.pool.clone(),
    };
    let agent = app
        .agents
        .get(host)
        .ok_or_else(|| Error::ResourceUnavailable(format!("host {host} is not connected; retry")))?;
    agent
        .snapshot_disk(vm_name.as_deref(), &file, &target)
        .await
        .map(Some)
        .map_err(|e| agent_err(&format!("Taking snapshot {} of volume {}", s.name, v.name), e))
}

/// Put volume `v` back to snapshot `s` on a host that reaches both (the VM is stopped). A
/// snapshot without a file has nothing to copy.
pub(crate) async fn revert(app: &App, s: &Snapshot, v: &Volume) -> Result<(), Error> {
    let (Some(snap), Some(pool_id)) = (snapshot_file(s), s.pool_id) else {
        return Ok(());
    };
    let Some(file) = disk_file(v).filter(|_| v.pool_id == Some(pool_id)) else {
        return Err(Error::invalid(format!(
            "Volume {} is no longer on the pool snapshot {} was taken on ({}): it can't be reverted to it; make a \
             template from the snapshot instead (createTemplate snapshotid=…)",
            v.name,
            s.name,
            s.pool_uuid.as_deref().unwrap_or("?")
        )));
    };
    let what = format!("snapshot {}", s.name);
    let agent = pool_agent(app, pool_id, &what).await?;
    agent
        .revert_disk(&file, &snap)
        .await
        .map_err(|e| agent_err(&format!("Reverting volume {} to snapshot {}", v.name, s.name), e))
}

/// In the caller's transaction: have the file of snapshot `id` (if it has one) removed by a
/// follow-up through a host that reaches its pool (it waits for the host when it is down).
pub(crate) async fn forget_file(app: &App, c: &mut Conn, id: i64, uuid: &str) -> Result<(), Error> {
    let Some((pool_id, pool_uuid, pool_path)) = snap_db::file_of(c, id).await? else {
        return Ok(());
    };
    let Some(host_id) = vol_db::host_for_pool(c, pool_id).await? else {
        return Ok(());
    };
    let file = SnapshotFile {
        snapshot: uuid.to_string(),
        pool: PoolSpec {
            uuid: pool_uuid,
            path: pool_path,
        },
    };
    app.followup_enqueue(c, &FollowUp::SnapshotDelete { host_id, file })
        .await
}

/// Make template `template_uuid` (row `template_id`) from its source on a host that reaches
/// the source's pool, into that pool's template cache. `None`: the source has no file (the
/// simulator's recorded artefacts).
pub(crate) async fn make_template(
    app: &App,
    template_id: i64,
    template_uuid: &str,
) -> Result<Option<ImageInfo>, Error> {
    let (snapshot_id, volume_id) = {
        let mut c = app.db.conn().await?;
        snap_db::template_source(&mut c, template_id).await?
    };
    let (agent, source, what) = match (snapshot_id, volume_id) {
        (Some(sid), _) => {
            let s = {
                let mut c = app.db.conn().await?;
                snap_db::get(&mut c, sid).await?
            }
            .ok_or_else(|| Error::invalid("The snapshot the template is made from was deleted meanwhile"))?;
            let (Some(file), Some(pool_id)) = (snapshot_file(&s), s.pool_id) else {
                return Ok(None);
            };
            let what = format!("snapshot {}", s.name);
            (
                pool_agent(app, pool_id, &what).await?,
                TemplateSource::Snapshot(file),
                what,
            )
        }
        (None, Some(vid)) => {
            let v = volume(app, vid, "the template").await?;
            let (Some(file), Some(pool_id)) = (disk_file(&v), v.pool_id) else {
                return Ok(None);
            };
            let what = format!("volume {}", v.name);
            (
                pool_agent(app, pool_id, &what).await?,
                TemplateSource::Volume(file),
                what,
            )
        }
        (None, None) => return Ok(None),
    };
    agent
        .template_from(&source, template_uuid)
        .await
        .map(Some)
        .map_err(|e| agent_err(&format!("Making template {template_uuid} from {what}"), e))
}
