//! Lifecycle states and their transition tables: VMs (and virtual routers, which share the
//! VM machine), guest networks, and hosts (connection `Status` and administrative
//! `ResourceState`).
//!
//! Every machine is a pair of closed enums spelled exactly as CloudStack spells them, and one
//! table `(state, event) -> Option<state>` ([`StateMachine::next`]). [`StateMachine::transition`]
//! turns a missing entry into a 4xx [`Error`] whose message names the state, the event and the
//! states in which the event *is* accepted, so an operator knows what to do. The tables are
//! transcribed from CloudStack (`VirtualMachine.State`, `Network.State`, `com.cloud.host.Status`,
//! `com.cloud.resource.ResourceState`); deviations are documented on each machine. Each table has
//! a unit test that enumerates every `(state, event)` pair against an independent expected table.

use std::fmt;

use crate::Error;

#[doc(hidden)]
pub mod __private {
    pub use serde;
}

/// Define a closed enum whose wire spelling is CloudStack's: `ALL`, `as_str()`,
/// case-insensitive `parse()`, `parse_param()` (a 431 naming the valid values), `Display`, and
/// serde as the string.
///
/// ```
/// ferrostack_types::cloudstack_enum! {
///     /// Example.
///     pub enum Color { Red => "red", DarkBlue => "DarkBlue" }
/// }
/// assert_eq!(Color::parse("RED"), Some(Color::Red));
/// assert_eq!(Color::DarkBlue.as_str(), "DarkBlue");
/// ```
#[macro_export]
macro_rules! cloudstack_enum {
    ($(#[$m:meta])* $vis:vis enum $name:ident { $($(#[$vm:meta])* $var:ident => $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $name { $($(#[$vm])* $var),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$var),+];

            /// CloudStack's spelling.
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$var => $s),+ }
            }

            /// Parse CloudStack's spelling, ignoring ASCII case.
            pub fn parse(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str().eq_ignore_ascii_case(s.trim()))
            }

            /// Parse an API parameter; the error names the parameter and lists the valid values.
            pub fn parse_param(param: &str, value: &str) -> Result<Self, $crate::Error> {
                Self::parse(value).ok_or_else(|| {
                    let valid: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                    $crate::Error::invalid(format!(
                        "Invalid value '{value}' for parameter {param}; valid values are: {}",
                        valid.join(", ")
                    ))
                })
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl $crate::state::__private::serde::Serialize for $name {
            fn serialize<S: $crate::state::__private::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> $crate::state::__private::serde::Deserialize<'de> for $name {
            fn deserialize<D: $crate::state::__private::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <String as $crate::state::__private::serde::Deserialize>::deserialize(d)?;
                Self::parse(&s).ok_or_else(|| {
                    <D::Error as $crate::state::__private::serde::de::Error>::custom(format!(
                        "unknown {} '{s}'",
                        stringify!($name)
                    ))
                })
            }
        }
    };
}

/// A closed state machine: one table, one transition function.
pub trait StateMachine: Copy + Eq + fmt::Debug + fmt::Display + 'static {
    type Event: Copy + Eq + fmt::Debug + fmt::Display + 'static;
    /// Every state.
    const STATES: &'static [Self];
    /// Every event.
    const EVENTS: &'static [Self::Event];
    /// What the operator calls the entity ("VM", "network", "host").
    const NOUN: &'static str;

    /// The table: the state `event` leads to from `self`, or `None` if it is not allowed.
    fn next(self, event: Self::Event) -> Option<Self>;

    /// What the event asks for, as a verb phrase ("stop", "enable"), when it is an operator
    /// request; `None` for internal events (agent reports, operation outcomes).
    fn request_verb(event: Self::Event) -> Option<&'static str>;

    /// The states in which `event` is accepted.
    fn accepting_states(event: Self::Event) -> Vec<Self> {
        Self::STATES
            .iter()
            .copied()
            .filter(|s| s.next(event).is_some())
            .collect()
    }

    /// Apply `event`: the new state, or a 4xx error that names the state, the event and where
    /// the event would have been accepted.
    fn transition(self, event: Self::Event) -> Result<Self, Error> {
        self.next(event).ok_or_else(|| rejection(Self::NOUN, self, event))
    }
}

/// The operator-facing error for a refused transition.
fn rejection<S: StateMachine>(noun: &str, state: S, event: S::Event) -> Error {
    let allowed = S::accepting_states(event);
    let allowed_list = join_or(&allowed);
    match (S::request_verb(event), allowed.is_empty()) {
        (Some(verb), true) => Error::unsupported(format!(
            "Unable to {verb} {noun} in state {state}: this operation ({event}) is not supported by this server"
        )),
        (None, true) => Error::unsupported(format!(
            "{noun} in state {state} cannot process event {event}: no {noun} state accepts it"
        )),
        (Some(verb), false) => Error::invalid(format!(
            "Unable to {verb} {noun} in state {state} (event {event}): the {noun} must be {allowed_list}"
        )),
        (None, false) => Error::invalid(format!(
            "{noun} in state {state} cannot process event {event}; it is accepted only in state {allowed_list}"
        )),
    }
}

/// "A", "A or B", "A, B or C".
fn join_or<T: fmt::Display>(items: &[T]) -> String {
    let names: Vec<String> = items.iter().map(ToString::to_string).collect();
    match names.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

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
        /// Listed by CloudStack but never entered by its table (and it has no exits).
        Unknown => "Unknown",
        /// Listed by CloudStack but never entered by its table (and it has no exits).
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

// ---------------------------------------------------------------------------------------------
// Network machine: CloudStack `Network.State` / `Network.Event`.
// ---------------------------------------------------------------------------------------------

cloudstack_enum! {
    /// A guest network's state. Shared networks and the seeded system networks are created
    /// in `Setup`/`Implemented` and never pass through `Implementing`.
    pub enum NetworkState {
        Allocated => "Allocated",
        Setup => "Setup",
        Implementing => "Implementing",
        Implemented => "Implemented",
        Shutdown => "Shutdown",
        Destroy => "Destroy",
    }
}

cloudstack_enum! {
    /// CloudStack's `Network.Event`, complete.
    pub enum NetworkEvent {
        ImplementNetwork => "ImplementNetwork",
        DestroyNetwork => "DestroyNetwork",
        OperationSucceeded => "OperationSucceeded",
        OperationFailed => "OperationFailed",
    }
}

impl StateMachine for NetworkState {
    type Event = NetworkEvent;
    const STATES: &'static [Self] = NetworkState::ALL;
    const EVENTS: &'static [NetworkEvent] = NetworkEvent::ALL;
    const NOUN: &'static str = "network";

    fn next(self, event: NetworkEvent) -> Option<Self> {
        use NetworkEvent as E;
        use NetworkState as S;
        let to = match (self, event) {
            (S::Allocated, E::ImplementNetwork) => S::Implementing,
            (S::Implementing, E::OperationSucceeded) => S::Implemented,
            (S::Implementing, E::OperationFailed) => S::Shutdown,
            (S::Implemented, E::DestroyNetwork) => S::Shutdown,
            (S::Shutdown, E::OperationSucceeded) => S::Allocated,
            (S::Shutdown, E::OperationFailed) => S::Shutdown,
            (S::Setup, E::DestroyNetwork) => S::Destroy,
            (S::Allocated, E::DestroyNetwork) => S::Destroy,
            _ => return None,
        };
        Some(to)
    }

    fn request_verb(event: NetworkEvent) -> Option<&'static str> {
        match event {
            NetworkEvent::ImplementNetwork => Some("implement"),
            NetworkEvent::DestroyNetwork => Some("shut down or destroy"),
            NetworkEvent::OperationSucceeded | NetworkEvent::OperationFailed => None,
        }
    }
}

/// Apply `event` to a network in `state`.
pub fn network_transition(state: NetworkState, event: NetworkEvent) -> Result<NetworkState, Error> {
    state.transition(event)
}

// ---------------------------------------------------------------------------------------------
// Host connection machine: CloudStack `com.cloud.host.Status` / `Status.Event`.
// ---------------------------------------------------------------------------------------------

cloudstack_enum! {
    /// A host's connection status (`listHosts` `state`). Maintenance is not a status: it is a
    /// [`ResourceState`] (`resourcestate`), as in CloudStack since 3.0. A host with no status
    /// yet (CloudStack's `null`) becomes `Connecting` on `AgentConnected`.
    pub enum HostStatus {
        Creating => "Creating",
        Connecting => "Connecting",
        Up => "Up",
        Down => "Down",
        Disconnected => "Disconnected",
        Alert => "Alert",
        Removed => "Removed",
        Error => "Error",
        Rebalancing => "Rebalancing",
        Unknown => "Unknown",
    }
}

cloudstack_enum! {
    /// CloudStack's `Status.Event`, complete.
    pub enum HostEvent {
        AgentConnected => "AgentConnected",
        PingTimeout => "PingTimeout",
        ShutdownRequested => "ShutdownRequested",
        AgentDisconnected => "AgentDisconnected",
        HostDown => "HostDown",
        Ping => "Ping",
        ManagementServerDown => "ManagementServerDown",
        WaitedTooLong => "WaitedTooLong",
        Remove => "Remove",
        Ready => "Ready",
        RequestAgentRebalance => "RequestAgentRebalance",
        StartAgentRebalance => "StartAgentRebalance",
        RebalanceCompleted => "RebalanceCompleted",
        RebalanceFailed => "RebalanceFailed",
        Error => "Error",
    }
}

impl HostStatus {
    /// CloudStack's `lostConnection()`: the management server has no live agent connection.
    pub const fn lost_connection(self) -> bool {
        match self {
            HostStatus::Down
            | HostStatus::Disconnected
            | HostStatus::Alert
            | HostStatus::Removed
            | HostStatus::Error
            | HostStatus::Rebalancing => true,
            HostStatus::Creating | HostStatus::Connecting | HostStatus::Up | HostStatus::Unknown => false,
        }
    }
}

impl StateMachine for HostStatus {
    type Event = HostEvent;
    const STATES: &'static [Self] = HostStatus::ALL;
    const EVENTS: &'static [HostEvent] = HostEvent::ALL;
    const NOUN: &'static str = "host";

    fn next(self, event: HostEvent) -> Option<Self> {
        use HostEvent as E;
        use HostStatus as S;
        let to = match (self, event) {
            (S::Creating, E::AgentConnected) => S::Connecting,
            (S::Creating, E::Error) => S::Error,
            (S::Connecting, E::AgentConnected | E::Ping) => S::Connecting,
            (S::Connecting, E::Ready) => S::Up,
            (S::Connecting, E::PingTimeout | E::AgentDisconnected) => S::Alert,
            (S::Connecting, E::ShutdownRequested | E::ManagementServerDown) => S::Disconnected,
            (S::Connecting, E::HostDown) => S::Down,
            (S::Up, E::PingTimeout | E::AgentDisconnected) => S::Alert,
            (S::Up, E::ShutdownRequested | E::ManagementServerDown) => S::Disconnected,
            (S::Up, E::HostDown) => S::Down,
            (S::Up, E::Ping) => S::Up,
            (S::Up, E::AgentConnected) => S::Connecting,
            (S::Up, E::StartAgentRebalance) => S::Rebalancing,
            (S::Up, E::Remove) => S::Removed,
            (S::Disconnected, E::ShutdownRequested | E::ManagementServerDown | E::AgentDisconnected) => S::Disconnected,
            (S::Disconnected, E::PingTimeout | E::WaitedTooLong) => S::Alert,
            (S::Disconnected, E::AgentConnected) => S::Connecting,
            (S::Disconnected, E::Ping) => S::Up,
            (S::Disconnected, E::HostDown) => S::Down,
            (S::Disconnected, E::Remove) => S::Removed,
            (S::Down, E::AgentConnected) => S::Connecting,
            (S::Down, E::Remove) => S::Removed,
            (S::Down, E::ManagementServerDown | E::AgentDisconnected | E::PingTimeout | E::HostDown) => S::Down,
            (S::Alert, E::AgentConnected) => S::Connecting,
            (S::Alert, E::Ping) => S::Up,
            (S::Alert, E::Remove) => S::Removed,
            (S::Alert, E::ManagementServerDown | E::AgentDisconnected) => S::Alert,
            (S::Alert, E::ShutdownRequested) => S::Disconnected,
            (S::Alert, E::HostDown) => S::Down,
            (S::Rebalancing, E::RebalanceFailed | E::ManagementServerDown) => S::Disconnected,
            (S::Rebalancing, E::RebalanceCompleted | E::AgentConnected) => S::Connecting,
            (S::Rebalancing, E::AgentDisconnected) => S::Rebalancing,
            (S::Error, E::AgentConnected) => S::Connecting,
            _ => return None,
        };
        Some(to)
    }

    fn request_verb(event: HostEvent) -> Option<&'static str> {
        match event {
            HostEvent::Remove => Some("remove"),
            HostEvent::RequestAgentRebalance | HostEvent::StartAgentRebalance => Some("rebalance"),
            HostEvent::AgentConnected
            | HostEvent::PingTimeout
            | HostEvent::ShutdownRequested
            | HostEvent::AgentDisconnected
            | HostEvent::HostDown
            | HostEvent::Ping
            | HostEvent::ManagementServerDown
            | HostEvent::WaitedTooLong
            | HostEvent::Ready
            | HostEvent::RebalanceCompleted
            | HostEvent::RebalanceFailed
            | HostEvent::Error => None,
        }
    }
}

/// Apply `event` to a host's connection status.
pub fn host_status_transition(state: HostStatus, event: HostEvent) -> Result<HostStatus, Error> {
    state.transition(event)
}

// ---------------------------------------------------------------------------------------------
// Host administrative machine: CloudStack `com.cloud.resource.ResourceState` / its `Event`.
// ---------------------------------------------------------------------------------------------

cloudstack_enum! {
    /// A host's administrative state (`listHosts` `resourcestate`). A new host (CloudStack's
    /// `null`) becomes `Enabled` on `InternalCreated`.
    pub enum ResourceState {
        Creating => "Creating",
        Enabled => "Enabled",
        Disabled => "Disabled",
        ErrorInPrepareForMaintenance => "ErrorInPrepareForMaintenance",
        PrepareForMaintenance => "PrepareForMaintenance",
        ErrorInMaintenance => "ErrorInMaintenance",
        Maintenance => "Maintenance",
        Error => "Error",
        Degraded => "Degraded",
    }
}

cloudstack_enum! {
    /// CloudStack's `ResourceState.Event`, complete (`UpdatePassword` and `Unmanaged` change
    /// nothing and have no transition, as in CloudStack).
    pub enum ResourceEvent {
        InternalCreated => "InternalCreated",
        Enable => "Enable",
        Disable => "Disable",
        AdminAskMaintenance => "AdminAskMaintenance",
        AdminCancelMaintenance => "AdminCancelMaintenance",
        InternalEnterMaintenance => "InternalEnterMaintenance",
        UpdatePassword => "UpdatePassword",
        UnableToMigrate => "UnableToMigrate",
        UnableToMaintain => "UnableToMaintain",
        ErrorsCorrected => "ErrorsCorrected",
        Error => "Error",
        DeleteHost => "DeleteHost",
        DeclareHostDegraded => "DeclareHostDegraded",
        EnableDegradedHost => "EnableDegradedHost",
        Unmanaged => "Unmanaged",
    }
}

impl ResourceState {
    /// CloudStack's `isMaintenanceState`.
    pub const fn is_maintenance(self) -> bool {
        match self {
            ResourceState::Maintenance
            | ResourceState::ErrorInMaintenance
            | ResourceState::PrepareForMaintenance
            | ResourceState::ErrorInPrepareForMaintenance => true,
            ResourceState::Creating
            | ResourceState::Enabled
            | ResourceState::Disabled
            | ResourceState::Error
            | ResourceState::Degraded => false,
        }
    }

    /// CloudStack's `canAttemptMaintenance`.
    pub const fn can_attempt_maintenance(self) -> bool {
        match self {
            ResourceState::Maintenance
            | ResourceState::PrepareForMaintenance
            | ResourceState::ErrorInPrepareForMaintenance => false,
            ResourceState::Creating
            | ResourceState::Enabled
            | ResourceState::Disabled
            | ResourceState::ErrorInMaintenance
            | ResourceState::Error
            | ResourceState::Degraded => true,
        }
    }
}

impl StateMachine for ResourceState {
    type Event = ResourceEvent;
    const STATES: &'static [Self] = ResourceState::ALL;
    const EVENTS: &'static [ResourceEvent] = ResourceEvent::ALL;
    const NOUN: &'static str = "host";

    fn next(self, event: ResourceEvent) -> Option<Self> {
        use ResourceEvent as E;
        use ResourceState as S;
        let to = match (self, event) {
            (S::Creating, E::InternalCreated) => S::Enabled,
            (S::Creating, E::Error) => S::Error,
            (S::Enabled, E::Enable | E::InternalCreated) => S::Enabled,
            (S::Enabled, E::Disable) => S::Disabled,
            (S::Enabled, E::AdminAskMaintenance) => S::PrepareForMaintenance,
            (S::Enabled, E::DeclareHostDegraded) => S::Degraded,
            (S::Enabled, E::InternalEnterMaintenance) => S::Maintenance,
            (S::Disabled, E::Enable) => S::Enabled,
            (S::Disabled, E::Disable | E::InternalCreated | E::DeleteHost) => S::Disabled,
            (S::Disabled, E::DeclareHostDegraded) => S::Degraded,
            (S::PrepareForMaintenance, E::InternalEnterMaintenance) => S::Maintenance,
            (S::PrepareForMaintenance, E::AdminCancelMaintenance) => S::Enabled,
            (S::PrepareForMaintenance, E::UnableToMigrate) => S::ErrorInPrepareForMaintenance,
            (S::PrepareForMaintenance, E::UnableToMaintain) => S::ErrorInMaintenance,
            (S::PrepareForMaintenance, E::InternalCreated) => S::PrepareForMaintenance,
            (S::Maintenance, E::AdminCancelMaintenance) => S::Enabled,
            (S::Maintenance, E::InternalCreated) => S::Maintenance,
            (S::Maintenance, E::DeleteHost) => S::Disabled,
            (S::Maintenance, E::DeclareHostDegraded) => S::Degraded,
            (S::ErrorInPrepareForMaintenance, E::InternalCreated | E::UnableToMigrate) => {
                S::ErrorInPrepareForMaintenance
            }
            (S::ErrorInPrepareForMaintenance, E::Disable | E::DeleteHost) => S::Disabled,
            (S::ErrorInPrepareForMaintenance, E::InternalEnterMaintenance) => S::Maintenance,
            (S::ErrorInPrepareForMaintenance, E::AdminCancelMaintenance) => S::Enabled,
            (S::ErrorInPrepareForMaintenance, E::UnableToMaintain) => S::ErrorInMaintenance,
            (S::ErrorInPrepareForMaintenance, E::ErrorsCorrected) => S::PrepareForMaintenance,
            (S::ErrorInMaintenance, E::InternalCreated) => S::ErrorInMaintenance,
            (S::ErrorInMaintenance, E::AdminAskMaintenance) => S::PrepareForMaintenance,
            (S::ErrorInMaintenance, E::Disable | E::DeleteHost) => S::Disabled,
            (S::ErrorInMaintenance, E::AdminCancelMaintenance) => S::Enabled,
            (S::Error, E::InternalCreated) => S::Error,
            (S::Degraded, E::DeleteHost) => S::Disabled,
            (S::Degraded, E::EnableDegradedHost) => S::Enabled,
            (S::Degraded, E::AdminAskMaintenance) => S::Maintenance,
            _ => return None,
        };
        Some(to)
    }

    fn request_verb(event: ResourceEvent) -> Option<&'static str> {
        use ResourceEvent as E;
        match event {
            E::Enable => Some("enable"),
            E::Disable => Some("disable"),
            E::AdminAskMaintenance => Some("prepare for maintenance"),
            E::AdminCancelMaintenance => Some("cancel maintenance of"),
            E::DeleteHost => Some("delete"),
            E::DeclareHostDegraded => Some("declare degraded"),
            E::EnableDegradedHost => Some("re-enable degraded"),
            E::UpdatePassword => Some("update the password of"),
            E::InternalCreated
            | E::InternalEnterMaintenance
            | E::UnableToMigrate
            | E::UnableToMaintain
            | E::ErrorsCorrected
            | E::Error
            | E::Unmanaged => None,
        }
    }
}

/// Apply `event` to a host's resource state.
pub fn resource_state_transition(state: ResourceState, event: ResourceEvent) -> Result<ResourceState, Error> {
    state.transition(event)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// Parse an expected table written as `From: Event>To Event>To …` (a state may span several
    /// lines) and compare it with `next` over every `(state, event)` pair.
    fn check_table<S>(table: &str, parse_s: fn(&str) -> Option<S>, parse_e: fn(&str) -> Option<S::Event>)
    where
        S: StateMachine + Ord,
        S::Event: Ord,
    {
        let mut expected = BTreeMap::new();
        for line in table.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let (from, rest) = line.split_once(':').expect("line has From:");
            let from = parse_s(from).unwrap_or_else(|| panic!("bad state {from}"));
            for tok in rest.split_whitespace() {
                let (ev, to) = tok.split_once('>').expect("token is Event>To");
                let ev = parse_e(ev).unwrap_or_else(|| panic!("bad event {ev}"));
                let to = parse_s(to).unwrap_or_else(|| panic!("bad state {to}"));
                assert!(expected.insert((from, ev), to).is_none(), "duplicate {from}/{ev}");
            }
        }
        let mut checked = 0;
        for &s in S::STATES {
            for &e in S::EVENTS {
                let want = expected.get(&(s, e)).copied();
                assert_eq!(s.next(e), want, "{} {s} + {e}", S::NOUN);
                match want {
                    Some(to) => assert_eq!(s.transition(e), Ok(to)),
                    None => {
                        let err = s.transition(e).expect_err("refused");
                        assert!(matches!(err.http_status(), 431 | 432), "{err:?}");
                        let msg = err.to_string();
                        assert!(msg.contains(&s.to_string()) && msg.contains(&e.to_string()), "{msg}");
                    }
                }
                checked += 1;
            }
        }
        assert_eq!(checked, S::STATES.len() * S::EVENTS.len());
    }

    const VM_TABLE: &str = "
        Stopped: StartRequested>Starting DestroyRequested>Destroyed StopRequested>Stopped AgentReportStopped>Stopped
        Stopped: OperationFailedToError>Error OperationFailed>Stopped ExpungeOperation>Expunging
        Stopped: AgentReportShutdowned>Stopped StorageMigrationRequested>Migrating FollowAgentPowerOnReport>Running
        Stopped: FollowAgentPowerOffReport>Stopped
        Starting: OperationRetry>Starting OperationSucceeded>Running OperationFailed>Stopped AgentReportRunning>Running
        Starting: AgentReportStopped>Stopped AgentReportShutdowned>Stopped FollowAgentPowerOnReport>Running
        Starting: FollowAgentPowerOffReport>Stopped
        Destroyed: RecoveryRequested>Stopped ExpungeOperation>Expunging
        Running: MigrationRequested>Migrating AgentReportRunning>Running AgentReportStopped>Stopped
        Running: StopRequested>Stopping AgentReportShutdowned>Stopped AgentReportMigrated>Running
        Running: OperationSucceeded>Running FollowAgentPowerOnReport>Running FollowAgentPowerOffReport>Stopped
        Migrating: MigrationRequested>Migrating OperationSucceeded>Running OperationFailed>Running
        Migrating: AgentReportRunning>Running AgentReportStopped>Stopped AgentReportShutdowned>Stopped
        Migrating: FollowAgentPowerOnReport>Running FollowAgentPowerOffReport>Stopped
        Stopping: OperationSucceeded>Stopped OperationFailed>Running AgentReportRunning>Running
        Stopping: AgentReportStopped>Stopped StopRequested>Stopping AgentReportShutdowned>Stopped
        Stopping: FollowAgentPowerOnReport>Running FollowAgentPowerOffReport>Stopped
        Expunging: OperationFailed>Expunging ExpungeOperation>Expunging
        Error: DestroyRequested>Expunging ExpungeOperation>Expunging
    ";

    const NETWORK_TABLE: &str = "
        Allocated: ImplementNetwork>Implementing DestroyNetwork>Destroy
        Implementing: OperationSucceeded>Implemented OperationFailed>Shutdown
        Implemented: DestroyNetwork>Shutdown
        Shutdown: OperationSucceeded>Allocated OperationFailed>Shutdown
        Setup: DestroyNetwork>Destroy
    ";

    const HOST_TABLE: &str = "
        Creating: AgentConnected>Connecting Error>Error
        Connecting: AgentConnected>Connecting Ready>Up PingTimeout>Alert ShutdownRequested>Disconnected HostDown>Down
        Connecting: Ping>Connecting ManagementServerDown>Disconnected AgentDisconnected>Alert
        Up: PingTimeout>Alert AgentDisconnected>Alert ShutdownRequested>Disconnected HostDown>Down Ping>Up
        Up: AgentConnected>Connecting ManagementServerDown>Disconnected StartAgentRebalance>Rebalancing Remove>Removed
        Disconnected: ShutdownRequested>Disconnected PingTimeout>Alert AgentConnected>Connecting Ping>Up HostDown>Down
        Disconnected: ManagementServerDown>Disconnected WaitedTooLong>Alert Remove>Removed
        Disconnected: AgentDisconnected>Disconnected
        Down: AgentConnected>Connecting Remove>Removed ManagementServerDown>Down AgentDisconnected>Down
        Down: PingTimeout>Down HostDown>Down
        Alert: AgentConnected>Connecting Ping>Up Remove>Removed ManagementServerDown>Alert AgentDisconnected>Alert
        Alert: ShutdownRequested>Disconnected HostDown>Down
        Rebalancing: RebalanceFailed>Disconnected RebalanceCompleted>Connecting ManagementServerDown>Disconnected
        Rebalancing: AgentConnected>Connecting AgentDisconnected>Rebalancing
        Error: AgentConnected>Connecting
    ";

    const RESOURCE_TABLE: &str = "
        Creating: InternalCreated>Enabled Error>Error
        Enabled: Enable>Enabled InternalCreated>Enabled Disable>Disabled AdminAskMaintenance>PrepareForMaintenance
        Enabled: DeclareHostDegraded>Degraded InternalEnterMaintenance>Maintenance
        Disabled: Enable>Enabled Disable>Disabled InternalCreated>Disabled DeclareHostDegraded>Degraded
        Disabled: DeleteHost>Disabled
        PrepareForMaintenance: InternalEnterMaintenance>Maintenance AdminCancelMaintenance>Enabled
        PrepareForMaintenance: UnableToMigrate>ErrorInPrepareForMaintenance UnableToMaintain>ErrorInMaintenance
        PrepareForMaintenance: InternalCreated>PrepareForMaintenance
        Maintenance: AdminCancelMaintenance>Enabled InternalCreated>Maintenance DeleteHost>Disabled
        Maintenance: DeclareHostDegraded>Degraded
        ErrorInPrepareForMaintenance: InternalCreated>ErrorInPrepareForMaintenance Disable>Disabled DeleteHost>Disabled
        ErrorInPrepareForMaintenance: InternalEnterMaintenance>Maintenance AdminCancelMaintenance>Enabled
        ErrorInPrepareForMaintenance: UnableToMigrate>ErrorInPrepareForMaintenance UnableToMaintain>ErrorInMaintenance
        ErrorInPrepareForMaintenance: ErrorsCorrected>PrepareForMaintenance
        ErrorInMaintenance: InternalCreated>ErrorInMaintenance AdminAskMaintenance>PrepareForMaintenance
        ErrorInMaintenance: Disable>Disabled DeleteHost>Disabled AdminCancelMaintenance>Enabled
        Error: InternalCreated>Error
        Degraded: DeleteHost>Disabled EnableDegradedHost>Enabled AdminAskMaintenance>Maintenance
    ";

    #[test]
    fn vm_table_covers_every_pair() {
        check_table::<VmState>(VM_TABLE, VmState::parse, VmEvent::parse);
    }

    #[test]
    fn network_table_covers_every_pair() {
        check_table::<NetworkState>(NETWORK_TABLE, NetworkState::parse, NetworkEvent::parse);
    }

    #[test]
    fn host_status_table_covers_every_pair() {
        check_table::<HostStatus>(HOST_TABLE, HostStatus::parse, HostEvent::parse);
    }

    #[test]
    fn resource_state_table_covers_every_pair() {
        check_table::<ResourceState>(RESOURCE_TABLE, ResourceState::parse, ResourceEvent::parse);
    }

    #[test]
    fn enums_round_trip_cloudstack_spelling() {
        assert_eq!(VmState::ALL.len(), 10);
        assert_eq!(VmEvent::ALL.len(), 23);
        assert_eq!(HostEvent::ALL.len(), 15);
        assert_eq!(ResourceEvent::ALL.len(), 15);
        for s in VmState::ALL {
            assert_eq!(VmState::parse(s.as_str()), Some(*s));
            assert_eq!(serde_json::to_string(s).unwrap(), format!("\"{s}\""));
        }
        assert_eq!(VmState::parse("running"), Some(VmState::Running));
        assert_eq!(
            serde_json::from_str::<VmState>("\"Expunging\"").unwrap(),
            VmState::Expunging
        );
        assert!(serde_json::from_str::<VmState>("\"Restoring\"").is_err());
        assert_eq!(
            ResourceState::parse("PrepareForMaintenance"),
            Some(ResourceState::PrepareForMaintenance)
        );
        let err = VmState::parse_param("state", "Bogus").unwrap_err();
        assert_eq!(err.http_status(), 431);
        assert!(err.to_string().contains("Starting, Running"), "{err}");
    }

    #[test]
    fn refusals_are_operator_readable() {
        let e = transition(VmState::Destroyed, VmEvent::StopRequested).unwrap_err();
        assert_eq!(e.http_status(), 431);
        assert_eq!(
            e.to_string(),
            "Unable to stop VM in state Destroyed (event StopRequested): the VM must be Running, Stopping or Stopped"
        );
        let e = transition_as("router", VmState::Running, VmEvent::StartRequested).unwrap_err();
        assert!(
            e.to_string().starts_with("Unable to start router in state Running"),
            "{e}"
        );
        // Events no state accepts are unsupported (432), not a parameter error.
        let e = transition(VmState::Stopped, VmEvent::RestoringRequested).unwrap_err();
        assert_eq!(e.http_status(), 432);
        assert!(e.to_string().contains("restore from backup"), "{e}");
        let e = transition(VmState::Unknown, VmEvent::AgentReportRunning).unwrap_err();
        assert!(e.to_string().contains("accepted only in state"), "{e}");
        let e = resource_state_transition(ResourceState::Enabled, ResourceEvent::DeleteHost).unwrap_err();
        assert!(e.to_string().contains("Unable to delete host in state Enabled"), "{e}");
        assert!(e.to_string().contains("Maintenance"), "{e}");
        let e = network_transition(NetworkState::Destroy, NetworkEvent::ImplementNetwork).unwrap_err();
        assert!(e.to_string().contains("the network must be Allocated"), "{e}");
    }

    #[test]
    fn vm_helpers() {
        let transitional: Vec<_> = VmState::ALL.iter().filter(|s| s.is_transitional()).collect();
        assert_eq!(
            transitional,
            [
                &VmState::Starting,
                &VmState::Stopping,
                &VmState::Expunging,
                &VmState::Migrating
            ]
        );
        let final_states: Vec<_> = VmState::ALL.iter().filter(|s| s.is_final()).collect();
        assert_eq!(
            final_states,
            [&VmState::Destroyed, &VmState::Expunging, &VmState::Error]
        );
        // From a final state the only way back to service is recovering a Destroyed VM.
        for &s in VmState::ALL.iter().filter(|s| s.is_final()) {
            for &e in VmEvent::ALL {
                if let Some(to) = s.next(e) {
                    assert!(to.is_final() || (s, e) == (VmState::Destroyed, VmEvent::RecoveryRequested));
                }
            }
        }
        // Unknown and Shutdown are never entered.
        for &s in VmState::ALL {
            for &e in VmEvent::ALL {
                assert!(!matches!(s.next(e), Some(VmState::Unknown | VmState::Shutdown)));
            }
        }
    }

    #[test]
    fn host_helpers() {
        assert!(HostStatus::Alert.lost_connection() && !HostStatus::Up.lost_connection());
        assert!(ResourceState::ErrorInPrepareForMaintenance.is_maintenance());
        assert!(!ResourceState::Enabled.is_maintenance());
        assert!(ResourceState::ErrorInMaintenance.can_attempt_maintenance());
        assert!(!ResourceState::PrepareForMaintenance.can_attempt_maintenance());
    }

    #[test]
    fn join_or_reads_naturally() {
        assert_eq!(join_or::<&str>(&[]), "");
        assert_eq!(join_or(&["A"]), "A");
        assert_eq!(join_or(&["A", "B", "C"]), "A, B or C");
    }
}
