//! The volume snapshot machine: CloudStack `Snapshot.State` / `Snapshot.Event`, as
//! `SnapshotStateMachineManagerImpl` wires it (without the `…ForVM` states of VM-group
//! snapshots, which this server does not take). One deviation, so that deleting converges: a
//! snapshot in `Error` accepts `DestroyRequested` (CloudStack leaves such rows to a cleanup
//! thread; here `deleteSnapshot` removes them like any other).

use super::StateMachine;
use crate::Error;

crate::cloudstack_enum! {
    /// A volume snapshot's state (`listSnapshots` `state`).
    pub enum SnapshotState {
        Allocated => "Allocated",
        Creating => "Creating",
        CreatedOnPrimary => "CreatedOnPrimary",
        BackingUp => "BackingUp",
        BackedUp => "BackedUp",
        Copying => "Copying",
        Destroying => "Destroying",
        Destroyed => "Destroyed",
        Error => "Error",
    }
}

crate::cloudstack_enum! {
    /// CloudStack's `Snapshot.Event`.
    pub enum SnapshotEvent {
        CreateRequested => "CreateRequested",
        OperationNotPerformed => "OperationNotPerformed",
        BackupToSecondary => "BackupToSecondary",
        BackedupToSecondary => "BackedupToSecondary",
        DestroyRequested => "DestroyRequested",
        CopyingRequested => "CopyingRequested",
        OperationSucceeded => "OperationSucceeded",
        OperationFailed => "OperationFailed",
    }
}

impl SnapshotState {
    /// Usable: listed as ready, revertable, a source of templates.
    pub const fn usable(self) -> bool {
        match self {
            SnapshotState::BackedUp => true,
            SnapshotState::Allocated
            | SnapshotState::Creating
            | SnapshotState::CreatedOnPrimary
            | SnapshotState::BackingUp
            | SnapshotState::Copying
            | SnapshotState::Destroying
            | SnapshotState::Destroyed
            | SnapshotState::Error => false,
        }
    }
}

impl StateMachine for SnapshotState {
    type Event = SnapshotEvent;
    const STATES: &'static [Self] = SnapshotState::ALL;
    const EVENTS: &'static [SnapshotEvent] = SnapshotEvent::ALL;
    const NOUN: &'static str = "snapshot";

    fn next(self, event: SnapshotEvent) -> Option<Self> {
        use SnapshotEvent as E;
        use SnapshotState as S;
        let to = match (self, event) {
            (S::Allocated, E::CreateRequested) => S::Creating,
            (S::Creating, E::OperationSucceeded) => S::CreatedOnPrimary,
            (S::Creating, E::OperationNotPerformed) => S::BackedUp,
            (S::Creating, E::OperationFailed) => S::Error,
            (S::CreatedOnPrimary, E::BackupToSecondary) => S::BackingUp,
            (S::CreatedOnPrimary, E::OperationNotPerformed) => S::BackedUp,
            (S::BackingUp, E::OperationSucceeded | E::OperationNotPerformed) => S::BackedUp,
            (S::BackingUp, E::OperationFailed) => S::Error,
            (S::BackingUp, E::BackupToSecondary) => S::BackingUp,
            (S::BackedUp, E::DestroyRequested) => S::Destroying,
            (S::BackedUp, E::CopyingRequested) => S::Copying,
            (S::BackedUp, E::BackupToSecondary) => S::BackingUp,
            (S::Copying, E::OperationSucceeded | E::OperationFailed) => S::BackedUp,
            (S::Destroying, E::OperationSucceeded) => S::Destroyed,
            (S::Destroying, E::OperationFailed) => S::BackedUp,
            (S::Destroying | S::Error, E::DestroyRequested) => S::Destroying,
            _ => return None,
        };
        Some(to)
    }

    fn request_verb(event: SnapshotEvent) -> Option<&'static str> {
        use SnapshotEvent as E;
        match event {
            E::CreateRequested => Some("create"),
            E::DestroyRequested => Some("delete"),
            E::CopyingRequested => Some("copy"),
            E::BackupToSecondary => Some("back up"),
            E::OperationNotPerformed | E::BackedupToSecondary | E::OperationSucceeded | E::OperationFailed => None,
        }
    }
}

/// Apply `event` to a snapshot in `state`.
pub fn snapshot_transition(state: SnapshotState, event: SnapshotEvent) -> Result<SnapshotState, Error> {
    state.transition(event)
}
