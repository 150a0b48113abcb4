//! The VM (and virtual router) machine: CloudStack `VirtualMachine.State` / `VirtualMachine.Event`.

use super::{rejection, StateMachine};
use crate::Error;

// ---------------------------------------------------------------------------------------------
// VM (and router) machine: CloudStack `VirtualMachine.State` / `VirtualMachine.Event`.
// ---------------------------------------------------------------------------------------------

cloudstack_enum! {
    /// A VM's (or virtual router's) state, CloudStack's `VirtualMachine.State` minus the
    /// `Restoring` state of backup restore, which this server does not implement.
    pub enum VmState {
        Starting => "Starting",
        Running => "Running",
        Stopping => "Stopping",
        Stopped => "Stopped",
        Destroyed => "Destroyed",
        Expunging => "Expunging",
        Migrating => "Migrating",
        Error => "Error",
        /// Listed by CloudStack but never entered by its table; here it can be left by a power
        /// report, a stop or an expunge.
        Unknown => "Unknown",
        /// Listed by CloudStack but never entered by its table; here it can be left by a power
        /// report, a stop or an expunge.
        Shutdown => "Shutdown",
    }
}

cloudstack_enum! {
    /// CloudStack's `VirtualMachine.Event`, complete. `CreateRequested`, `RevertRequested` and
    /// `SnapshotRequested` have no transition in CloudStack either (they name work items);
    /// the three `Restoring*` events belong to the `Restoring` state, which is not modelled,
    /// so they are refused as unsupported.
    pub enum VmEvent {
        CreateRequested => "CreateRequested",
        StartRequested => "StartRequested",
        StopRequested => "StopRequested",
        DestroyRequested => "DestroyRequested",
        RecoveryRequested => "RecoveryRequested",
        AgentReportStopped => "AgentReportStopped",
        AgentReportRunning => "AgentReportRunning",
        MigrationRequested => "MigrationRequested",
        StorageMigrationRequested => "StorageMigrationRequested",
        ExpungeOperation => "ExpungeOperation",
        OperationSucceeded => "OperationSucceeded",
        OperationFailed => "OperationFailed",
        OperationFailedToError => "OperationFailedToError",
        OperationRetry => "OperationRetry",
        AgentReportShutdowned => "AgentReportShutdowned",
        AgentReportMigrated => "AgentReportMigrated",
        RevertRequested => "RevertRequested",
        SnapshotRequested => "SnapshotRequested",
        RestoringRequested => "RestoringRequested",
        RestoringFailed => "RestoringFailed",
        RestoringSuccess => "RestoringSuccess",
        FollowAgentPowerOnReport => "FollowAgentPowerOnReport",
        FollowAgentPowerOffReport => "FollowAgentPowerOffReport",
    }
}

impl VmState {
    /// CloudStack's "transitional" flag: an operation is under way (Starting, Stopping,
    /// Migrating, Expunging).
    pub const fn is_transitional(self) -> bool {
        match self {
            VmState::Starting | VmState::Stopping | VmState::Migrating | VmState::Expunging => true,
            VmState::Running
            | VmState::Stopped
            | VmState::Destroyed
            | VmState::Error
            | VmState::Unknown
            | VmState::Shutdown => false,
        }
    }

    /// The VM will never run again unless recovered: it is Destroyed (recoverable with
    /// `RecoveryRequested`), being expunged (no exit: the row is removed), or in Error (failed
    /// at creation; can only be expunged). Destroy/expunge of such a VM is a no-op or the last
    /// step, never a reason to fail.
    pub const fn is_final(self) -> bool {
        match self {
            VmState::Destroyed | VmState::Expunging | VmState::Error => true,
            VmState::Starting
            | VmState::Running
            | VmState::Stopping
            | VmState::Stopped
            | VmState::Migrating
            | VmState::Unknown
            | VmState::Shutdown => false,
        }
    }
}

impl StateMachine for VmState {
    type Event = VmEvent;
    const STATES: &'static [Self] = VmState::ALL;
    const EVENTS: &'static [VmEvent] = VmEvent::ALL;
    const NOUN: &'static str = "VM";

    fn next(self, event: VmEvent) -> Option<Self> {
        use VmEvent as E;
        use VmState as S;
        let to = match (self, event) {
            (S::Stopped, E::StartRequested) => S::Starting,
            (S::Stopped, E::DestroyRequested) => S::Destroyed,
            (
                S::Stopped,
                E::StopRequested
                | E::AgentReportStopped
                | E::OperationFailed
                | E::AgentReportShutdowned
                | E::FollowAgentPowerOffReport,
            ) => S::Stopped,
            (S::Stopped, E::OperationFailedToError) => S::Error,
            (S::Stopped, E::ExpungeOperation) => S::Expunging,
            (S::Stopped, E::StorageMigrationRequested) => S::Migrating,
            (S::Stopped, E::FollowAgentPowerOnReport) => S::Running,
            (S::Starting, E::OperationRetry) => S::Starting,
            (S::Starting, E::OperationSucceeded | E::AgentReportRunning | E::FollowAgentPowerOnReport) => S::Running,
            (
                S::Starting,
                E::OperationFailed | E::AgentReportStopped | E::AgentReportShutdowned | E::FollowAgentPowerOffReport,
            ) => S::Stopped,
            (S::Running, E::StopRequested) => S::Stopping,
            (S::Running, E::MigrationRequested) => S::Migrating,
            (
                S::Running,
                E::AgentReportRunning | E::AgentReportMigrated | E::OperationSucceeded | E::FollowAgentPowerOnReport,
            ) => S::Running,
            (S::Running, E::AgentReportStopped | E::AgentReportShutdowned | E::FollowAgentPowerOffReport) => S::Stopped,
            (
                S::Stopping,
                E::OperationSucceeded | E::AgentReportStopped | E::AgentReportShutdowned | E::FollowAgentPowerOffReport,
            ) => S::Stopped,
            (S::Stopping, E::OperationFailed | E::AgentReportRunning | E::FollowAgentPowerOnReport) => S::Running,
            (S::Stopping, E::StopRequested) => S::Stopping,
            (S::Migrating, E::MigrationRequested) => S::Migrating,
            (
                S::Migrating,
                E::OperationSucceeded | E::OperationFailed | E::AgentReportRunning | E::FollowAgentPowerOnReport,
            ) => S::Running,
            (S::Migrating, E::AgentReportStopped | E::AgentReportShutdowned | E::FollowAgentPowerOffReport) => {
                S::Stopped
            }
            (S::Destroyed, E::RecoveryRequested) => S::Stopped,
            (S::Destroyed, E::ExpungeOperation) => S::Expunging,
            // No exit from Expunging: the row is finished by marking it removed.
            (S::Expunging, E::OperationFailed | E::ExpungeOperation) => S::Expunging,
            (S::Error, E::DestroyRequested | E::ExpungeOperation) => S::Expunging,
            // ferrostack: destroy converges from every state. An expunge that cannot wait for
            // the VM to stop (a router whose host does not answer, a VM stuck in Starting after a
            // crash) moves it straight to Expunging; the host-side removal is a durable
            // follow-up that runs when the host is reachable.
            (S::Starting | S::Running | S::Stopping | S::Migrating | S::Unknown | S::Shutdown, E::ExpungeOperation) => {
                S::Expunging
            }
            // ferrostack: CloudStack lists Unknown and Shutdown but never leaves them; here the
            // agent's power report and an operator's stop bring such a VM back into the table.
            (S::Unknown | S::Shutdown, E::StopRequested) => S::Stopping,
            (S::Unknown | S::Shutdown, E::AgentReportRunning | E::FollowAgentPowerOnReport) => S::Running,
            (
                S::Unknown | S::Shutdown,
                E::AgentReportStopped | E::AgentReportShutdowned | E::FollowAgentPowerOffReport,
            ) => S::Stopped,
            // Every other pair is refused (the table test pins the full matrix).
            _ => return None,
        };
        Some(to)
    }

    fn request_verb(event: VmEvent) -> Option<&'static str> {
        use VmEvent as E;
        match event {
            E::CreateRequested => Some("create"),
            E::StartRequested => Some("start"),
            E::StopRequested => Some("stop"),
            E::DestroyRequested => Some("destroy"),
            E::RecoveryRequested => Some("recover"),
            E::MigrationRequested => Some("migrate"),
            E::StorageMigrationRequested => Some("migrate the volumes of"),
            E::ExpungeOperation => Some("expunge"),
            E::RevertRequested => Some("revert to a snapshot"),
            E::SnapshotRequested => Some("take a VM snapshot of"),
            E::RestoringRequested => Some("restore from backup"),
            E::AgentReportStopped
            | E::AgentReportRunning
            | E::OperationSucceeded
            | E::OperationFailed
            | E::OperationFailedToError
            | E::OperationRetry
            | E::AgentReportShutdowned
            | E::AgentReportMigrated
            | E::RestoringFailed
            | E::RestoringSuccess
            | E::FollowAgentPowerOnReport
            | E::FollowAgentPowerOffReport => None,
        }
    }
}

/// Apply `event` to a VM in `state` (the VM machine's transition function).
pub fn transition(state: VmState, event: VmEvent) -> Result<VmState, Error> {
    state.transition(event)
}

/// Like [`transition`], but the error names the entity as the caller knows it ("router").
pub fn transition_as(noun: &str, state: VmState, event: VmEvent) -> Result<VmState, Error> {
    state.next(event).ok_or_else(|| rejection(noun, state, event))
}

crate::cloudstack_enum! {
    /// What a VM row is: CloudStack's `VirtualMachine.Type`, limited to the kinds this server
    /// runs (no console proxy or secondary-storage VM).
    pub enum VmType {
        User => "User",
        DomainRouter => "DomainRouter",
    }
}

crate::cloudstack_enum! {
    /// What the host last reported about a VM: CloudStack's `VirtualMachine.PowerState`.
    pub enum PowerState {
        PowerOn => "PowerOn",
        PowerOff => "PowerOff",
        PowerUnknown => "PowerUnknown",
        PowerReportMissing => "PowerReportMissing",
    }
}
