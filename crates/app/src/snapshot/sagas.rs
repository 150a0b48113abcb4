//! The snapshot jobs: `createSnapshot` (`snapshot_create`), `deleteSnapshot`
//! (`snapshot_delete`) and `revertSnapshot` (`snapshot_revert`). Every step is one short
//! transaction of compare-and-swaps through the Snapshot and Volume machines, idempotent (a
//! step that committed finds its work done and does nothing), and every undo tolerates rows
//! that moved on or are gone.

use async_trait::async_trait;
use ferrostack_db::snapshot as snap_db;
use ferrostack_db::volume::volume_cas;
use ferrostack_db::{db_err, Conn};
use ferrostack_jobs::JobOutcome;
use ferrostack_types::cloudstack_enum;
use ferrostack_types::state::{SnapshotEvent, SnapshotState, StateMachine, VolumeEvent, VolumeState};
use ferrostack_types::time::now_ms;
use ferrostack_types::Error;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::saga::{SagaKind, TypedSaga};
use crate::{saga_steps, App};

/// The parameters of every snapshot job: the snapshot's row id.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct SnapshotParams {
    pub snapshot_id: i64,
}

/// Apply `events` to `from` through the machine.
fn walk<S: StateMachine>(from: S, events: &[S::Event]) -> Result<S, Error> {
    events.iter().try_fold(from, |s, e| s.transition(*e))
}

/// The events that take a snapshot in `s` to a failed end (Error, or Destroyed for one that
/// was already backed up), as the machine allows.
fn failure_path(s: SnapshotState) -> &'static [SnapshotEvent] {
    use SnapshotEvent as E;
    use SnapshotState as S;
    match s {
        S::Allocated => &[E::CreateRequested, E::OperationFailed],
        S::Creating | S::BackingUp => &[E::OperationFailed],
        S::CreatedOnPrimary => &[E::BackupToSecondary, E::OperationFailed],
        S::BackedUp => &[E::DestroyRequested, E::OperationSucceeded],
        S::Copying => &[E::OperationFailed, E::DestroyRequested, E::OperationSucceeded],
        S::Destroying => &[E::OperationSucceeded],
        S::Error | S::Destroyed => &[],
    }
}

/// Move a snapshot through `events` with a compare-and-swap on the state read; `remove` marks
/// it removed in the same write. A lost swap is a conflict (the job retries or fails).
async fn snapshot_move(
    c: &mut Conn,
    id: i64,
    from: SnapshotState,
    events: &[SnapshotEvent],
    remove: bool,
) -> Result<(), Error> {
    let to = walk(from, events)?;
    let removed = remove.then(now_ms);
    if !snap_db::cas(c, id, from, to, removed).await? {
        return Err(Error::Conflict(format!(
            "snapshot {id} changed state (was {from}) while it was being processed; retry"
        )));
    }
    Ok(())
}

/// Move a volume through `events` with a compare-and-swap on the state read.
async fn volume_move(c: &mut Conn, id: i64, from: VolumeState, events: &[VolumeEvent]) -> Result<(), Error> {
    let to = walk(from, events)?;
    if !volume_cas(c, id, from, to, None).await? {
        return Err(Error::Conflict(format!(
            "volume {id} changed state (was {from}) while a snapshot operation ran; retry"
        )));
    }
    Ok(())
}

/// A failed snapshot: to Error (or Destroyed) and removed, its tags with it. Nothing to do for
/// a snapshot that is gone.
async fn fail_snapshot(app: &App, id: i64) -> Result<(), Error> {
    let mut tx = app.db.begin().await?;
    if let Some((state, false)) = snap_db::state_of(&mut tx, id).await? {
        snapshot_move(&mut tx, id, state, failure_path(state), true).await?;
        ferrostack_db::tag::forget(&mut tx, ferrostack_db::tag::ResourceType::Snapshot, &[id]).await?;
    }
    tx.commit().await.map_err(db_err)
}

/// The volume of a snapshot back to Ready after a failed operation (`OperationFailed` from
/// `busy`); any other state is left as it is.
async fn release_volume(app: &App, snapshot_id: i64, busy: VolumeState) -> Result<(), Error> {
    let mut tx = app.db.begin().await?;
    if let Some(volume_id) = snap_db::volume_id_of(&mut tx, snapshot_id).await? {
        if let Some(v) = snap_db::volume_source(&mut tx, None, Some(volume_id)).await? {
            if v.state == busy {
                volume_move(&mut tx, v.id, v.state, &[VolumeEvent::OperationFailed]).await?;
            }
        }
    }
    tx.commit().await.map_err(db_err)
}

/// Undo of taking a snapshot: its volume Ready again, and a file the host may have made goes
/// (by a follow-up).
async fn undo_take(app: &App, snapshot_id: i64) -> Result<(), Error> {
    release_volume(app, snapshot_id, VolumeState::Snapshotting).await?;
    let mut tx = app.db.begin().await?;
    if let Some(uuid) = snap_db::uuid_of(&mut tx, snapshot_id).await? {
        super::host::forget_file(app, &mut tx, snapshot_id, &uuid).await?;
    }
    tx.commit().await.map_err(db_err)
}

async fn snapshot_outcome(app: &App, id: i64) -> Result<JobOutcome, Error> {
    let mut c = app.db.conn().await?;
    let s = snap_db::get(&mut c, id)
        .await?
        .ok_or_else(|| Error::invalid("The snapshot was deleted while the job ran"))?;
    Ok(JobOutcome::Entity {
        object: "snapshot",
        uuid: s.uuid,
    })
}

cloudstack_enum! {
    /// `createSnapshot`.
    pub enum SnapshotCreateStep {
        /// The snapshot row, Allocated (done by the submission).
        Allocate => "allocate",
        /// Volume Ready → Snapshotting; snapshot → Creating, the host copies the volume to the
        /// snapshot's file (a volume with no file anywhere gives a recorded artefact, the row
        /// itself), → CreatedOnPrimary with the sizes the host reported.
        Take => "take",
        /// Snapshot → BackingUp → BackedUp; volume → Ready.
        BackUp => "back_up",
    }
}
saga_steps!(SnapshotCreateStep);

/// The `createSnapshot` job.
pub struct SnapshotCreateSaga;

#[async_trait]
impl TypedSaga for SnapshotCreateSaga {
    type Params = SnapshotParams;
    type Step = SnapshotCreateStep;
    const KIND: SagaKind = SagaKind::SnapshotCreate;
    const DONE_AT_SUBMISSION: usize = 1;

    async fn action(
        &self,
        app: &App,
        p: &SnapshotParams,
        step: SnapshotCreateStep,
        _: &mut Value,
    ) -> Result<(), Error> {
        use SnapshotEvent as E;
        let mut tx = app.db.begin().await?;
        let s = snap_db::get(&mut tx, p.snapshot_id)
            .await?
            .ok_or_else(|| Error::invalid("The snapshot was deleted before it was taken"))?;
        match step {
            SnapshotCreateStep::Allocate => {}
            SnapshotCreateStep::Take => {
                if s.state == SnapshotState::Allocated {
                    let v = snap_db::volume_source(&mut tx, None, Some(s.volume_id))
                        .await?
                        .ok_or_else(|| {
                            Error::invalid(format!(
                                "Volume {} was deleted before the snapshot was taken",
                                s.volume_name
                            ))
                        })?;
                    // A 431 naming the state when the volume is no longer Ready.
                    let busy = v.state.transition(VolumeEvent::SnapshotRequested)?;
                    if !volume_cas(&mut tx, v.id, v.state, busy, None).await? {
                        return Err(Error::Conflict(format!("volume {} changed state; retry", v.name)));
                    }
                    snapshot_move(&mut tx, s.id, s.state, &[E::CreateRequested], false).await?;
                    // Where the file will be, recorded before it is made (an undo removes it).
                    let pool = ferrostack_db::volume::get(&mut tx, v.id).await?.and_then(|x| x.pool_id);
                    snap_db::set_file(&mut tx, s.id, pool, None, None).await?;
                }
                tx.commit().await.map_err(db_err)?;
                let s = {
                    let mut c = app.db.conn().await?;
                    snap_db::get(&mut c, p.snapshot_id).await?
                }
                .ok_or_else(|| Error::invalid("The snapshot was deleted before it was taken"))?;
                if s.state != SnapshotState::Creating {
                    return Ok(());
                }
                // The host copies the volume (no connection held); a repeated call finds its file.
                // A failing step is not undone by the job: its committed half is, here.
                let taken = match super::host::take(app, &s).await {
                    Ok(t) => t,
                    Err(e) => {
                        undo_take(app, p.snapshot_id).await?;
                        return Err(e);
                    }
                };
                let size = |b: u64| i64::try_from(b).ok().filter(|n| *n > 0);
                let mut tx = app.db.begin().await?;
                if let Some(info) = taken {
                    let pool = s.pool_id;
                    snap_db::set_file(&mut tx, s.id, pool, size(info.virtual_bytes), size(info.physical_bytes)).await?;
                }
                snapshot_move(&mut tx, s.id, s.state, &[E::OperationSucceeded], false).await?;
                return tx.commit().await.map_err(db_err);
            }
            SnapshotCreateStep::BackUp => {
                if s.state == SnapshotState::CreatedOnPrimary {
                    snapshot_move(
                        &mut tx,
                        s.id,
                        s.state,
                        &[E::BackupToSecondary, E::OperationSucceeded],
                        false,
                    )
                    .await?;
                    if let Some(v) = snap_db::volume_source(&mut tx, None, Some(s.volume_id)).await? {
                        if v.state == VolumeState::Snapshotting {
                            volume_move(&mut tx, v.id, v.state, &[VolumeEvent::OperationSucceeded]).await?;
                        }
                    }
                }
            }
        }
        tx.commit().await.map_err(db_err)
    }

    async fn undo(&self, app: &App, p: &SnapshotParams, step: SnapshotCreateStep, _: &Value) -> Result<(), Error> {
        match step {
            // The snapshot that could not be taken fails and goes (CloudStack leaves it in
            // Error, hidden from users).
            SnapshotCreateStep::Allocate => fail_snapshot(app, p.snapshot_id).await,
            // The volume is free again, and a file the host may have made goes.
            SnapshotCreateStep::Take => undo_take(app, p.snapshot_id).await,
            // The last step: once it committed, the snapshot is BackedUp and the job is done.
            SnapshotCreateStep::BackUp => Ok(()),
        }
    }

    async fn finish(&self, app: &App, p: &SnapshotParams, _: &Value) -> Result<JobOutcome, Error> {
        snapshot_outcome(app, p.snapshot_id).await
    }
}

cloudstack_enum! {
    /// `deleteSnapshot`.
    pub enum SnapshotDeleteStep {
        /// Snapshot → Destroying → Destroyed, removed with its tags.
        Destroy => "destroy",
    }
}
saga_steps!(SnapshotDeleteStep);

/// The `deleteSnapshot` job.
pub struct SnapshotDeleteSaga;

#[async_trait]
impl TypedSaga for SnapshotDeleteSaga {
    type Params = SnapshotParams;
    type Step = SnapshotDeleteStep;
    const KIND: SagaKind = SagaKind::SnapshotDelete;

    async fn action(
        &self,
        app: &App,
        p: &SnapshotParams,
        step: SnapshotDeleteStep,
        _: &mut Value,
    ) -> Result<(), Error> {
        match step {
            SnapshotDeleteStep::Destroy => snapshot_destroy(app, p.snapshot_id, false).await,
        }
    }

    async fn undo(&self, _: &App, _: &SnapshotParams, step: SnapshotDeleteStep, _: &Value) -> Result<(), Error> {
        match step {
            // The only step, one transaction: a deleted snapshot is not brought back.
            SnapshotDeleteStep::Destroy => Ok(()),
        }
    }

    async fn finish(&self, _: &App, _: &SnapshotParams, _: &Value) -> Result<JobOutcome, Error> {
        Ok(JobOutcome::Success)
    }
}

/// Destroy a snapshot: idempotent, a no-op for one already gone. `force` (its account is
/// deleted) also ends a snapshot that is still being taken, through its failure path.
pub(crate) async fn snapshot_destroy(app: &App, id: i64, force: bool) -> Result<(), Error> {
    use SnapshotEvent as E;
    let mut tx = app.db.begin().await?;
    match snap_db::state_of(&mut tx, id).await? {
        None | Some((_, true)) => {}
        Some((state, false)) => {
            let path: &[SnapshotEvent] = if state == SnapshotState::Destroying {
                &[E::OperationSucceeded]
            } else if force && state.next(E::DestroyRequested).is_none() {
                failure_path(state)
            } else {
                &[E::DestroyRequested, E::OperationSucceeded]
            };
            snapshot_move(&mut tx, id, state, path, true).await?;
            ferrostack_db::tag::forget(&mut tx, ferrostack_db::tag::ResourceType::Snapshot, &[id]).await?;
            // The file (if the host made one) goes by a follow-up: the delete is a committed
            // fact even while the pool's host is down.
            if let Some(uuid) = snap_db::uuid_of(&mut tx, id).await? {
                super::host::forget_file(app, &mut tx, id, &uuid).await?;
            }
        }
    }
    tx.commit().await.map_err(db_err)
}

cloudstack_enum! {
    /// `revertSnapshot`.
    pub enum SnapshotRevertStep {
        /// Check again (BackedUp, volume Ready, VM stopped); volume → RevertSnapshotting.
        StartRevert => "start_revert",
        /// The host copies the snapshot's file over the volume's (a recorded artefact: nothing
        /// to copy); the volume takes the snapshot's size; → Ready.
        Restore => "restore",
    }
}
saga_steps!(SnapshotRevertStep);

/// The `revertSnapshot` job.
pub struct SnapshotRevertSaga;

#[async_trait]
impl TypedSaga for SnapshotRevertSaga {
    type Params = SnapshotParams;
    type Step = SnapshotRevertStep;
    const KIND: SagaKind = SagaKind::SnapshotRevert;

    async fn action(
        &self,
        app: &App,
        p: &SnapshotParams,
        step: SnapshotRevertStep,
        _: &mut Value,
    ) -> Result<(), Error> {
        let mut tx = app.db.begin().await?;
        let s = snap_db::get(&mut tx, p.snapshot_id)
            .await?
            .ok_or_else(|| Error::invalid("The snapshot was deleted before the volume was reverted to it"))?;
        match step {
            SnapshotRevertStep::StartRevert => {
                let current = snap_db::volume_source(&mut tx, None, Some(s.volume_id)).await?;
                if current.as_ref().map(|v| v.state) != Some(VolumeState::RevertSnapshotting) {
                    let v = super::revert_check(&mut tx, &s).await?;
                    volume_move(&mut tx, v.id, v.state, &[VolumeEvent::RevertSnapshotRequested]).await?;
                }
            }
            SnapshotRevertStep::Restore => {
                let v = ferrostack_db::volume::get(&mut tx, s.volume_id).await?;
                if let Some(v) = v.filter(|v| v.state == VolumeState::RevertSnapshotting) {
                    // The host copies the snapshot over the volume (no connection held); a
                    // repeated copy gives the same file.
                    drop(tx);
                    super::host::revert(app, &s, &v).await?;
                    tx = app.db.begin().await?;
                }
                if snap_db::restore_volume_size(&mut tx, s.volume_id, s.size).await? {
                    volume_move(
                        &mut tx,
                        s.volume_id,
                        VolumeState::RevertSnapshotting,
                        &[VolumeEvent::OperationSucceeded],
                    )
                    .await?;
                }
            }
        }
        tx.commit().await.map_err(db_err)
    }

    async fn undo(&self, app: &App, p: &SnapshotParams, step: SnapshotRevertStep, _: &Value) -> Result<(), Error> {
        match step {
            SnapshotRevertStep::StartRevert => {
                release_volume(app, p.snapshot_id, VolumeState::RevertSnapshotting).await
            }
            // The last step, one transaction: once it committed the volume is reverted.
            SnapshotRevertStep::Restore => Ok(()),
        }
    }

    async fn finish(&self, app: &App, p: &SnapshotParams, _: &Value) -> Result<JobOutcome, Error> {
        snapshot_outcome(app, p.snapshot_id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_failure_path_follows_the_table() {
        for &s in SnapshotState::ALL {
            let end = walk(s, failure_path(s)).unwrap_or_else(|e| panic!("{s}: {e}"));
            assert!(
                matches!(end, SnapshotState::Error | SnapshotState::Destroyed),
                "{s} → {end}"
            );
        }
    }

    #[test]
    fn stored_params_parse() {
        let p: SnapshotParams = serde_json::from_value(serde_json::json!({"snapshot_id": 4})).unwrap();
        assert_eq!(p.snapshot_id, 4);
    }
}
