//! The volume machine: CloudStack `Volume.State` / `Volume.Event`, limited to the states this
//! server enters. Upload (`UploadOp`, `Uploaded`, `Copying`, `NotUploaded`, `UploadInProgress`,
//! `UploadError`, `UploadAbandoned`) and the `Attaching`/`Restoring`/`RestoreError` states are
//! not modelled yet; the events that lead there are refused as unsupported.

use super::StateMachine;
use crate::Error;

crate::cloudstack_enum! {
    /// A volume's state (`listVolumes` `state`).
    pub enum VolumeState {
        Allocated => "Allocated",
        Creating => "Creating",
        Ready => "Ready",
        Resizing => "Resizing",
        Migrating => "Migrating",
        Snapshotting => "Snapshotting",
        RevertSnapshotting => "RevertSnapshotting",
        Destroy => "Destroy",
        Expunging => "Expunging",
        Expunged => "Expunged",
    }
}

crate::cloudstack_enum! {
    /// CloudStack's `Volume.Event` (those with a transition here, and the upload events, which
    /// are refused).
    pub enum VolumeEvent {
        CreateRequested => "CreateRequested",
        CopyRequested => "CopyRequested",
        OperationFailed => "OperationFailed",
        OperationSucceeded => "OperationSucceeded",
        OperationRetry => "OperationRetry",
        UploadRequested => "UploadRequested",
        MigrationRequested => "MigrationRequested",
        SnapshotRequested => "SnapshotRequested",
        RevertSnapshotRequested => "RevertSnapshotRequested",
        ResizeRequested => "ResizeRequested",
        DestroyRequested => "DestroyRequested",
        ExpungingRequested => "ExpungingRequested",
        RecoverRequested => "RecoverRequested",
    }
}

impl StateMachine for VolumeState {
    type Event = VolumeEvent;
    const STATES: &'static [Self] = VolumeState::ALL;
    const EVENTS: &'static [VolumeEvent] = VolumeEvent::ALL;
    const NOUN: &'static str = "volume";

    fn next(self, event: VolumeEvent) -> Option<Self> {
        use VolumeEvent as E;
        use VolumeState as S;
        let to = match (self, event) {
            (S::Allocated, E::CreateRequested) => S::Creating,
            (S::Allocated, E::DestroyRequested) => S::Destroy,
            (S::Creating, E::OperationRetry | E::CreateRequested) => S::Creating,
            (S::Creating, E::OperationFailed) => S::Allocated,
            (S::Creating, E::OperationSucceeded) => S::Ready,
            (S::Creating, E::DestroyRequested) => S::Destroy,
            (S::Ready, E::ResizeRequested) => S::Resizing,
            (S::Ready, E::SnapshotRequested) => S::Snapshotting,
            (S::Ready, E::RevertSnapshotRequested) => S::RevertSnapshotting,
            (S::Ready, E::MigrationRequested) => S::Migrating,
            (S::Ready, E::DestroyRequested) => S::Destroy,
            (
                S::Resizing | S::Snapshotting | S::RevertSnapshotting | S::Migrating,
                E::OperationSucceeded | E::OperationFailed,
            ) => S::Ready,
            (S::Destroy, E::OperationSucceeded | E::OperationFailed | E::OperationRetry) => S::Destroy,
            (S::Destroy, E::RecoverRequested) => S::Ready,
            (S::Destroy | S::Expunging, E::ExpungingRequested) => S::Expunging,
            (S::Expunging, E::OperationSucceeded) => S::Expunged,
            (S::Expunging, E::OperationFailed) => S::Destroy,
            _ => return None,
        };
        Some(to)
    }

    fn request_verb(event: VolumeEvent) -> Option<&'static str> {
        use VolumeEvent as E;
        match event {
            E::CreateRequested => Some("create"),
            E::CopyRequested => Some("copy"),
            E::UploadRequested => Some("upload"),
            E::MigrationRequested => Some("migrate"),
            E::SnapshotRequested => Some("snapshot"),
            E::RevertSnapshotRequested => Some("revert to a snapshot"),
            E::ResizeRequested => Some("resize"),
            E::DestroyRequested => Some("destroy"),
            E::ExpungingRequested => Some("expunge"),
            E::RecoverRequested => Some("recover"),
            E::OperationFailed | E::OperationSucceeded | E::OperationRetry => None,
        }
    }
}

/// Apply `event` to a volume in `state`.
pub fn volume_transition(state: VolumeState, event: VolumeEvent) -> Result<VolumeState, Error> {
    state.transition(event)
}
