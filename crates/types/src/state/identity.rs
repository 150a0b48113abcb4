//! Identity states: accounts and users (`enabled`, `disabled`, `locked`, as CloudStack spells
//! them on the wire), domains (`Active`, `Inactive`), and the event record's level and state.

use super::StateMachine;

cloudstack_enum! {
    /// An account's or a user's state (`listAccounts`/`listUsers` `state`).
    pub enum AccountState {
        Enabled => "enabled",
        Disabled => "disabled",
        Locked => "locked",
    }
}

cloudstack_enum! {
    /// What is asked of an account or user: `enable*`, `disable*`, `lock*`.
    pub enum AccountEvent {
        Enable => "Enable",
        Disable => "Disable",
        Lock => "Lock",
    }
}

impl AccountState {
    /// Whether logins and API calls are accepted.
    pub const fn can_log_in(self) -> bool {
        match self {
            AccountState::Enabled => true,
            AccountState::Disabled | AccountState::Locked => false,
        }
    }
}

impl StateMachine for AccountState {
    type Event = AccountEvent;
    const STATES: &'static [Self] = Self::ALL;
    const EVENTS: &'static [AccountEvent] = AccountEvent::ALL;
    const NOUN: &'static str = "account";

    /// CloudStack accepts every request in every state (repeating one is a no-op), so every
    /// entry is present; the table exists so that each write is one checked move.
    fn next(self, event: AccountEvent) -> Option<Self> {
        use AccountState as S;
        match (self, event) {
            (S::Enabled | S::Disabled | S::Locked, AccountEvent::Enable) => Some(S::Enabled),
            (S::Enabled | S::Disabled | S::Locked, AccountEvent::Disable) => Some(S::Disabled),
            (S::Enabled | S::Disabled | S::Locked, AccountEvent::Lock) => Some(S::Locked),
        }
    }

    fn request_verb(event: AccountEvent) -> Option<&'static str> {
        match event {
            AccountEvent::Enable => Some("enable"),
            AccountEvent::Disable => Some("disable"),
            AccountEvent::Lock => Some("lock"),
        }
    }
}

cloudstack_enum! {
    /// A domain's state (`listDomains` `state`). A domain being deleted is `Inactive`.
    pub enum DomainState {
        Active => "Active",
        Inactive => "Inactive",
    }
}

cloudstack_enum! {
    /// What happens to a domain: deletion starts (`Deactivate`) or is undone (`Activate`).
    pub enum DomainEvent {
        Deactivate => "Deactivate",
        Activate => "Activate",
    }
}

impl StateMachine for DomainState {
    type Event = DomainEvent;
    const STATES: &'static [Self] = Self::ALL;
    const EVENTS: &'static [DomainEvent] = DomainEvent::ALL;
    const NOUN: &'static str = "domain";

    /// Both moves are idempotent: a deletion resumed after a crash deactivates again.
    fn next(self, event: DomainEvent) -> Option<Self> {
        match (self, event) {
            (DomainState::Active | DomainState::Inactive, DomainEvent::Deactivate) => Some(DomainState::Inactive),
            (DomainState::Active | DomainState::Inactive, DomainEvent::Activate) => Some(DomainState::Active),
        }
    }

    fn request_verb(event: DomainEvent) -> Option<&'static str> {
        match event {
            DomainEvent::Deactivate => Some("delete"),
            DomainEvent::Activate => None,
        }
    }
}

cloudstack_enum! {
    /// An event record's level (`listEvents` `level`).
    pub enum EventLevel {
        Info => "INFO",
        Warn => "WARN",
        Error => "ERROR",
    }
}

cloudstack_enum! {
    /// An event record's state (`listEvents` `state`).
    pub enum EventState {
        Created => "Created",
        Scheduled => "Scheduled",
        Started => "Started",
        Completed => "Completed",
    }
}
