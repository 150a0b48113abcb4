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

            /// Every spelling, in declaration order.
            pub const NAMES: &'static [&'static str] = &[$($s),+];

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

        impl ::std::str::FromStr for $name {
            type Err = $crate::state::UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s).ok_or_else(|| $crate::state::UnknownValue {
                    kind: stringify!($name),
                    value: s.to_string(),
                })
            }
        }

        /// The checked conversion used at the database boundary: a stored value that is not
        /// one of the enum's spellings is an error, never a default.
        impl ::std::convert::TryFrom<String> for $name {
            type Error = $crate::state::UnknownValue;
            fn try_from(s: String) -> Result<Self, $crate::state::UnknownValue> {
                s.parse()
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

/// A stored or received string that is none of a closed enum's values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} '{value}'")]
pub struct UnknownValue {
    pub kind: &'static str,
    pub value: String,
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

mod host;
mod identity;
mod infra;
mod network;
mod snapshot;
mod vm;
mod volume;

pub use host::*;
pub use identity::*;
pub use infra::*;
pub use network::*;
pub use snapshot::*;
pub use vm::*;
pub use volume::*;

#[cfg(test)]
mod tests;
