//! The jobs of the volume commands. Attaching is two steps: reserve the VM's slot (a row
//! change, undone by releasing it), then plug the disk in on the VM's host when it runs
//! (undone by unplugging it). Detaching unplugs first, then releases the slot. Resizing moves
//! the volume to Resizing, resizes the file where one exists, then writes the size and moves
//! it back to Ready; a failure moves it back to Ready with its old size.
//!
//! Every step is idempotent (a re-run after a crash finds its own work done) and makes its
//! agent call with no database connection held.

use async_trait::async_trait;
use ferrostack_db::db_err;
use ferrostack_db::vm as vm_db;
use ferrostack_db::volume::{self as vol_db, Volume};
use ferrostack_jobs::JobOutcome;
use ferrostack_types::cloudstack_enum;
use ferrostack_types::state::{VmState, VolumeEvent, VolumeState};
use ferrostack_types::time::now_ms;
use ferrostack_types::Error;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::saga::{SagaKind, TypedSaga};
use crate::vmops::agent_err;
use crate::volume::{data_disk, disk_file, vm_takes_disk_changes, volume_move, walk, MAX_DATA_VOLUMES};
use crate::{saga_steps, App};

/// `createVolume`'s job: the volume row was written at submission; with a VM it is attached.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreateParams {
    pub volume_id: i64,
    pub vm_id: Option<i64>,
}

/// `attachVolume`'s job: the slot was chosen at submission.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AttachParams {
    pub volume_id: i64,
    pub vm_id: i64,
    pub device_id: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DetachParams {
    pub volume_id: i64,
    pub vm_id: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResizeParams {
    pub volume_id: i64,
    /// Bytes.
    pub size: i64,
    /// The new disk offering, if one was given.
    pub disk_offering_id: Option<i64>,
}

cloudstack_enum! {
    pub enum CreateStep {
        /// The row (done at submission; undone by expunging it).
        Allocate => "allocate",
        Reserve => "reserve",
        Plug => "plug",
    }
}
saga_steps!(CreateStep);

cloudstack_enum! {
    pub enum AttachStep {
        Reserve => "reserve",
        Plug => "plug",
    }
}
saga_steps!(AttachStep);

cloudstack_enum! {
    pub enum DetachStep {
        Unplug => "unplug",
        Release => "release",
    }
}
saga_steps!(DetachStep);

cloudstack_enum! {
    pub enum ResizeStep {
        Begin => "begin",
        Resize => "resize",
        Commit => "commit",
    }
}
saga_steps!(ResizeStep);

async fn volume(app: &App, id: i64) -> Result<Volume, Error> {
    let mut c = app.db.conn().await?;
    vol_db::get(&mut c, id)
        .await?
        .ok_or_else(|| Error::invalid("The volume was deleted meanwhile"))
}

/// Give the volume a slot on the VM (and the pool of the VM's root disk, when it has one and
/// the volume none). A re-run finds the volume there already.
async fn reserve(app: &App, volume_id: i64, vm_id: i64, device_id: Option<i64>) -> Result<(), Error> {
    let mut tx = app.db.begin().await?;
    vol_db::lock(&mut tx, volume_id).await?;
    let v = vol_db::get(&mut tx, volume_id)
        .await?
        .ok_or_else(|| Error::invalid("The volume was deleted meanwhile"))?;
    let vm = vm_db::get(&mut *tx, vm_id)
        .await?
        .ok_or_else(|| Error::invalid("The VM was expunged meanwhile"))?;
    match v.vm_id {
        Some(x) if x == vm_id => return tx.commit().await.map_err(db_err),
        Some(_) => {
            return Err(Error::invalid(format!(
                "Volume {} was attached to VM {} meanwhile",
                v.name,
                v.vm_name.as_deref().unwrap_or("?")
            )))
        }
        None => {}
    }
    vm_takes_disk_changes(&vm.name, vm.state, "attached")?;
    let slot = match device_id {
        Some(d) => d,
        None => vol_db::free_device_id(&mut tx, vm_id, MAX_DATA_VOLUMES + 1)
            .await?
            .ok_or_else(|| {
                Error::invalid(format!(
                    "VM {} has the most data volumes it may have ({MAX_DATA_VOLUMES}): detach one first",
                    vm.name
                ))
            })?,
    };
    if vol_db::of_vms(&mut tx, &[vm_id])
        .await?
        .iter()
        .any(|x| x.device_id == Some(slot))
    {
        return Err(Error::invalid(format!(
            "VM {} got a volume at deviceid {slot} meanwhile: attach again to take another slot",
            vm.name
        )));
    }
    if !vol_db::set_attached(&mut tx, volume_id, vm_id, slot, now_ms()).await? {
        return Err(Error::Conflict(format!("Volume {} changed meanwhile; retry", v.name)));
    }
    if v.pool_id.is_none() {
        if let Some((pool, _, _)) = vol_db::root_pool_of(&mut tx, vm_id).await? {
            // A volume from a snapshot is copied from the snapshot's file, on the same pool.
            if v.snapshot_pool_id.is_some_and(|sp| sp != pool) {
                return Err(Error::invalid(format!(
                    "Volume {} is made from snapshot {}, whose file is on pool {}: attach it to a VM whose root \
                     disk is on that pool",
                    v.name,
                    v.snapshot_uuid.as_deref().unwrap_or("?"),
                    v.snapshot_pool_uuid.as_deref().unwrap_or("?")
                )));
            }
            vol_db::set_pool(&mut tx, volume_id, pool).await?;
        }
    }
    tx.commit().await.map_err(db_err)
}

/// Release the slot (undo of a reservation; idempotent).
async fn release(app: &App, volume_id: i64, vm_id: i64) -> Result<(), Error> {
    let mut tx = app.db.begin().await?;
    vol_db::set_detached(&mut tx, volume_id, vm_id).await?;
    tx.commit().await.map_err(db_err)
}

/// Plug the volume into its VM when the VM runs, then make it Ready (a file exists now).
async fn plug(app: &App, volume_id: i64, vm_id: i64) -> Result<(), Error> {
    let v = volume(app, volume_id).await?;
    if v.vm_id != Some(vm_id) {
        return Err(Error::invalid(format!(
            "Volume {} is no longer attached to the VM",
            v.name
        )));
    }
    let (Some(VmState::Running), Some(host)) = (v.vm_state, v.vm_host_id) else {
        // A stopped VM's disks are plugged when it starts.
        return Ok(());
    };
    let agent = app.agents.get(host).ok_or_else(|| {
        Error::ResourceUnavailable(format!(
            "The host of VM {} is not connected: attach the volume when it is back, or stop the VM first",
            v.vm_name.as_deref().unwrap_or("?")
        ))
    })?;
    let vm_name = v.vm_instance_name.clone().unwrap_or_default();
    let disk = data_disk(&v, v.device_id.unwrap_or(1));
    agent
        .attach_disk(&vm_name, &disk)
        .await
        .map_err(|e| agent_err(&format!("Attaching volume {} to {vm_name}", v.name), e))?;
    let mut tx = app.db.begin().await?;
    if let Some(fresh) = vol_db::get(&mut tx, volume_id).await? {
        let events: &[VolumeEvent] = match fresh.state {
            VolumeState::Allocated => &[VolumeEvent::CreateRequested, VolumeEvent::OperationSucceeded],
            VolumeState::Creating => &[VolumeEvent::OperationSucceeded],
            VolumeState::Ready
            | VolumeState::Resizing
            | VolumeState::Migrating
            | VolumeState::Snapshotting
            | VolumeState::RevertSnapshotting
            | VolumeState::Destroy
            | VolumeState::Expunging
            | VolumeState::Expunged => &[],
        };
        volume_move(&mut tx, &fresh, fresh.state, events).await?;
    }
    tx.commit().await.map_err(db_err)
}

/// Unplug the volume from its VM if the VM runs (undo of a plug, and detach's first step).
async fn unplug(app: &App, volume_id: i64, best_effort: bool) -> Result<(), Error> {
    let Some(v) = ({
        let mut c = app.db.conn().await?;
        vol_db::get(&mut c, volume_id).await?
    }) else {
        return Ok(());
    };
    let (Some(VmState::Running), Some(host)) = (v.vm_state, v.vm_host_id) else {
        return Ok(());
    };
    let vm_name = v.vm_instance_name.clone().unwrap_or_default();
    let file = data_disk(&v, v.device_id.unwrap_or(1)).file;
    let r = match app.agents.get(host) {
        Some(agent) => agent
            .detach_disk(&vm_name, &file)
            .await
            .map_err(|e| agent_err(&format!("Detaching volume {} from {vm_name}", v.name), e)),
        None => Err(Error::ResourceUnavailable(format!(
            "The host of VM {} is not connected: stop the VM (forced=true if its host is gone), then detach",
            v.vm_name.as_deref().unwrap_or("?")
        ))),
    };
    match (r, best_effort) {
        (Ok(()), _) => Ok(()),
        (Err(e), true) => {
            tracing::warn!(volume = %v.uuid, error = %e, "could not unplug a volume while undoing its attach");
            Ok(())
        }
        (Err(e), false) => Err(e),
    }
}

async fn volume_outcome(app: &App, volume_id: i64) -> Result<JobOutcome, Error> {
    let mut c = app.db.conn().await?;
    let uuid = vol_db::uuid_of(&mut c, volume_id)
        .await?
        .ok_or_else(|| Error::invalid("The volume no longer exists"))?;
    Ok(JobOutcome::Entity { object: "volume", uuid })
}

/// Expunge a volume row that never got a file (undo of `createVolume`'s allocation).
async fn unallocate(app: &App, volume_id: i64) -> Result<(), Error> {
    let mut tx = app.db.begin().await?;
    if let Some(v) = vol_db::get(&mut tx, volume_id).await? {
        if v.vm_id.is_none() && v.state == VolumeState::Allocated {
            let to = walk(
                v.state,
                &[
                    VolumeEvent::DestroyRequested,
                    VolumeEvent::ExpungingRequested,
                    VolumeEvent::OperationSucceeded,
                ],
            )?;
            vol_db::volume_cas(&mut tx, v.id, v.state, to, Some(now_ms())).await?;
        }
    }
    tx.commit().await.map_err(db_err)
}

pub struct VolumeCreate;

#[async_trait]
impl TypedSaga for VolumeCreate {
    type Params = CreateParams;
    type Step = CreateStep;
    const KIND: SagaKind = SagaKind::VolumeCreate;
    const DONE_AT_SUBMISSION: usize = 1;

    async fn action(&self, app: &App, p: &CreateParams, step: CreateStep, _: &mut Value) -> Result<(), Error> {
        match (step, p.vm_id) {
            (CreateStep::Allocate, _) | (CreateStep::Reserve | CreateStep::Plug, None) => Ok(()),
            (CreateStep::Reserve, Some(vm)) => reserve(app, p.volume_id, vm, None).await,
            (CreateStep::Plug, Some(vm)) => plug(app, p.volume_id, vm).await,
        }
    }

    async fn undo(&self, app: &App, p: &CreateParams, step: CreateStep, _: &Value) -> Result<(), Error> {
        match (step, p.vm_id) {
            (CreateStep::Allocate, _) => unallocate(app, p.volume_id).await,
            (CreateStep::Reserve | CreateStep::Plug, None) => Ok(()),
            (CreateStep::Reserve, Some(vm)) => release(app, p.volume_id, vm).await,
            (CreateStep::Plug, Some(_)) => unplug(app, p.volume_id, true).await,
        }
    }

    async fn finish(&self, app: &App, p: &CreateParams, _: &Value) -> Result<JobOutcome, Error> {
        volume_outcome(app, p.volume_id).await
    }
}

pub struct VolumeAttach;

#[async_trait]
impl TypedSaga for VolumeAttach {
    type Params = AttachParams;
    type Step = AttachStep;
    const KIND: SagaKind = SagaKind::VolumeAttach;

    async fn action(&self, app: &App, p: &AttachParams, step: AttachStep, _: &mut Value) -> Result<(), Error> {
        match step {
            AttachStep::Reserve => reserve(app, p.volume_id, p.vm_id, Some(p.device_id)).await,
            AttachStep::Plug => plug(app, p.volume_id, p.vm_id).await,
        }
    }

    async fn undo(&self, app: &App, p: &AttachParams, step: AttachStep, _: &Value) -> Result<(), Error> {
        match step {
            AttachStep::Reserve => release(app, p.volume_id, p.vm_id).await,
            AttachStep::Plug => unplug(app, p.volume_id, true).await,
        }
    }

    async fn finish(&self, app: &App, p: &AttachParams, _: &Value) -> Result<JobOutcome, Error> {
        volume_outcome(app, p.volume_id).await
    }
}

pub struct VolumeDetach;

#[async_trait]
impl TypedSaga for VolumeDetach {
    type Params = DetachParams;
    type Step = DetachStep;
    const KIND: SagaKind = SagaKind::VolumeDetach;

    async fn action(&self, app: &App, p: &DetachParams, step: DetachStep, _: &mut Value) -> Result<(), Error> {
        match step {
            DetachStep::Unplug => unplug(app, p.volume_id, false).await,
            DetachStep::Release => release(app, p.volume_id, p.vm_id).await,
        }
    }

    async fn undo(&self, app: &App, p: &DetachParams, step: DetachStep, _: &Value) -> Result<(), Error> {
        match step {
            // Plug it back in where it was (the slot was never released).
            DetachStep::Unplug => plug(app, p.volume_id, p.vm_id).await,
            DetachStep::Release => Ok(()),
        }
    }

    async fn finish(&self, app: &App, p: &DetachParams, _: &Value) -> Result<JobOutcome, Error> {
        volume_outcome(app, p.volume_id).await
    }
}

/// What the resize's first step found: whether it moved the volume to Resizing (a file
/// exists), so later steps and the undo know.
#[derive(Debug, Default, Serialize, Deserialize)]
struct ResizeData {
    resizing: bool,
}

pub struct VolumeResize;

#[async_trait]
impl TypedSaga for VolumeResize {
    type Params = ResizeParams;
    type Step = ResizeStep;
    const KIND: SagaKind = SagaKind::VolumeResize;

    async fn action(&self, app: &App, p: &ResizeParams, step: ResizeStep, data: &mut Value) -> Result<(), Error> {
        let mut d: ResizeData = serde_json::from_value(data.clone()).unwrap_or_default();
        match step {
            ResizeStep::Begin => {
                let mut tx = app.db.begin().await?;
                vol_db::lock(&mut tx, p.volume_id).await?;
                let v = vol_db::get(&mut tx, p.volume_id)
                    .await?
                    .ok_or_else(|| Error::invalid("The volume was deleted meanwhile"))?;
                match v.state {
                    VolumeState::Ready => {
                        volume_move(&mut tx, &v, v.state, &[VolumeEvent::ResizeRequested]).await?;
                        d.resizing = true;
                    }
                    VolumeState::Resizing => d.resizing = true,
                    VolumeState::Allocated => d.resizing = false,
                    VolumeState::Creating
                    | VolumeState::Migrating
                    | VolumeState::Snapshotting
                    | VolumeState::RevertSnapshotting
                    | VolumeState::Destroy
                    | VolumeState::Expunging
                    | VolumeState::Expunged => {
                        return Err(Error::invalid(format!(
                            "Volume {} is {} now: resize it when it is Ready",
                            v.name, v.state
                        )))
                    }
                }
                tx.commit().await.map_err(db_err)?;
                *data = serde_json::to_value(&d).map_err(|e| Error::internal(format!("saga data: {e}")))?;
                Ok(())
            }
            ResizeStep::Resize => {
                if !d.resizing {
                    return Ok(());
                }
                let v = volume(app, p.volume_id).await?;
                let Some((host, vm_name)) = app.volume_worker(&v).await? else {
                    return Ok(());
                };
                let file = match (&vm_name, disk_file(&v)) {
                    (_, Some(f)) => f,
                    (Some(_), None) => data_disk(&v, v.device_id.unwrap_or(1)).file,
                    (None, None) => return Ok(()),
                };
                let agent = app
                    .agents
                    .get(host)
                    .ok_or_else(|| Error::ResourceUnavailable(format!("host {host} is not connected; retry")))?;
                agent
                    .resize_disk(vm_name.as_deref(), &file, u64::try_from(p.size).unwrap_or(0))
                    .await
                    .map_err(|e| agent_err(&format!("Resizing volume {}", v.name), e))
            }
            ResizeStep::Commit => {
                let mut tx = app.db.begin().await?;
                let v = vol_db::get(&mut tx, p.volume_id)
                    .await?
                    .ok_or_else(|| Error::invalid("The volume was deleted meanwhile"))?;
                vol_db::set_size(&mut tx, v.id, p.size, p.disk_offering_id).await?;
                if v.state == VolumeState::Resizing {
                    volume_move(&mut tx, &v, v.state, &[VolumeEvent::OperationSucceeded]).await?;
                }
                tx.commit().await.map_err(db_err)
            }
        }
    }

    async fn undo(&self, app: &App, p: &ResizeParams, step: ResizeStep, _: &Value) -> Result<(), Error> {
        match step {
            ResizeStep::Begin => {
                let mut tx = app.db.begin().await?;
                if let Some(v) = vol_db::get(&mut tx, p.volume_id).await? {
                    if v.state == VolumeState::Resizing {
                        volume_move(&mut tx, &v, v.state, &[VolumeEvent::OperationFailed]).await?;
                    }
                }
                tx.commit().await.map_err(db_err)
            }
            // The file keeps the size it got: growing is harmless, and the row keeps the old
            // size (what the operator was told stands) until a resize succeeds.
            ResizeStep::Resize | ResizeStep::Commit => Ok(()),
        }
    }

    async fn finish(&self, app: &App, p: &ResizeParams, _: &Value) -> Result<JobOutcome, Error> {
        volume_outcome(app, p.volume_id).await
    }
}
