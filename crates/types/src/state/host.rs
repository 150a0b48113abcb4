//! The host machines: connection `Status` and administrative `ResourceState`.

use super::StateMachine;
use crate::Error;

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
