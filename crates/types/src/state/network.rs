//! The guest network machine: CloudStack `Network.State` / `Network.Event`.

use super::StateMachine;
use crate::Error;

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
