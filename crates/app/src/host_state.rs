//! Host state writes: every change of a host's connection status or resource state goes through
//! its machine (`HostStatus` + `HostEvent`, `ResourceState` + `ResourceEvent`) and a
//! compare-and-swap on the state read. A lost swap re-reads the host and tries again; after a
//! few lost rounds the caller gets a clear 534 ("changed by another operation; retry").

use ferrostack_db::host::{self as host_db, Host};
use ferrostack_types::state::{HostEvent, HostStatus, ResourceEvent, ResourceState, StateMachine};
use ferrostack_types::Error;

use crate::App;

/// How many times a lost compare-and-swap is retried on a fresh read.
const CAS_ROUNDS: usize = 3;

/// The events that bring a host whose agent answered from `from` to `Up`: a ping where the table
/// accepts one, else a fresh connection (`AgentConnected`, then `Ready`).
pub fn events_to_up(from: HostStatus) -> &'static [HostEvent] {
    if from.next(HostEvent::Ping) == Some(HostStatus::Up) {
        &[HostEvent::Ping]
    } else {
        &[HostEvent::AgentConnected, HostEvent::Ready]
    }
}

/// What the monitor or a (re)connection observed about a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Observed {
    /// The agent answered: the host is `Up`.
    Answered,
    /// Pings timed out past the limit: the host is `Down`.
    Unreachable,
    /// A (re)connection from this management server failed: `Disconnected` (CloudStack's
    /// `ManagementServerDown` edge: the host has no live connection to us).
    ConnectFailed,
}

impl Observed {
    /// The events that record the observation on a host in `from`.
    pub fn events(self, from: HostStatus) -> &'static [HostEvent] {
        match self {
            Observed::Answered => events_to_up(from),
            Observed::Unreachable => &[HostEvent::HostDown],
            Observed::ConnectFailed => &[HostEvent::ManagementServerDown],
        }
    }
}

/// Apply `events` in order to `from`; the first refusal is the error.
pub fn status_after(from: HostStatus, events: &[HostEvent]) -> Result<HostStatus, Error> {
    events.iter().try_fold(from, |s, e| s.transition(*e))
}

/// The shortest sequence of resource events from `from` to `target` in the machine's table.
pub fn restore_path(from: ResourceState, target: ResourceState) -> Option<Vec<ResourceEvent>> {
    let mut frontier = vec![(from, Vec::new())];
    let mut seen = vec![from];
    while !frontier.is_empty() {
        let mut next = Vec::new();
        for (s, path) in frontier {
            if s == target {
                return Some(path);
            }
            for e in ResourceEvent::ALL {
                if let Some(t) = s.next(*e) {
                    if !seen.contains(&t) {
                        seen.push(t);
                        let mut p = path.clone();
                        p.push(*e);
                        next.push((t, p));
                    }
                }
            }
        }
        frontier = next;
    }
    None
}

fn lost(h: &Host) -> Error {
    Error::ResourceUnavailable(format!(
        "Host {} was changed by another operation while being updated; retry the operation",
        h.name
    ))
}

impl App {
    /// Move the host's resource state by `event` (machine + compare-and-swap), retrying on a
    /// fresh read when another operation won the swap. Returns the state before and after.
    pub async fn host_resource_event(
        &self,
        host_id: i64,
        event: ResourceEvent,
    ) -> Result<(ResourceState, ResourceState), Error> {
        let mut last = None;
        for _ in 0..CAS_ROUNDS {
            let h = host_db::get(self.db.read(), host_id)
                .await?
                .ok_or_else(|| Error::invalid("The host was deleted; nothing to do"))?;
            let from = h.resource_state;
            let to = from.transition(event)?;
            if from == to || host_db::cas_resource_state(self.db.write(), h.id, from, to).await? {
                return Ok((from, to));
            }
            last = Some(h);
        }
        Err(last
            .as_ref()
            .map(lost)
            .unwrap_or_else(|| Error::internal("no CAS round ran")))
    }

    /// Set the host's resource state back to `target` (an undo): step by step along the
    /// machine's shortest path from the current state, compare-and-swap on every step.
    pub async fn host_resource_restore(&self, host_id: i64, target: ResourceState) -> Result<(), Error> {
        for _ in 0..CAS_ROUNDS * 2 {
            let Some(h) = host_db::get(self.db.read(), host_id).await? else {
                return Ok(());
            };
            let from = h.resource_state;
            if from == target {
                return Ok(());
            }
            let event = restore_path(from, target)
                .and_then(|p| p.first().copied())
                .ok_or_else(|| {
                    Error::invalid(format!("Host {} is {from}; it cannot be returned to {target}", h.name))
                })?;
            let to = from.transition(event)?;
            host_db::cas_resource_state(self.db.write(), h.id, from, to).await?;
        }
        Err(Error::ResourceUnavailable(format!(
            "Host {host_id} kept changing while its resource state was restored; retry"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restore_paths_follow_the_table() {
        use ResourceState as S;
        let table = [
            (S::PrepareForMaintenance, S::Enabled, Some(1)),
            (S::PrepareForMaintenance, S::Disabled, Some(2)),
            (S::PrepareForMaintenance, S::ErrorInMaintenance, Some(1)),
            (S::Maintenance, S::Enabled, Some(1)),
            (S::Enabled, S::Enabled, Some(0)),
            (S::Enabled, S::Creating, None),
        ];
        for (from, to, len) in table {
            let path = restore_path(from, to);
            assert_eq!(path.as_ref().map(Vec::len), len, "{from} -> {to}");
            if let Some(path) = path {
                assert_eq!(path.iter().try_fold(from, |s, e| s.next(*e)), Some(to));
            }
        }
    }

    #[test]
    fn observations_lead_where_they_say() {
        for from in [
            HostStatus::Up,
            HostStatus::Down,
            HostStatus::Alert,
            HostStatus::Disconnected,
        ] {
            assert_eq!(
                status_after(from, Observed::Answered.events(from)).unwrap(),
                HostStatus::Up
            );
        }
        assert_eq!(
            status_after(HostStatus::Up, Observed::Unreachable.events(HostStatus::Up)).unwrap(),
            HostStatus::Down
        );
        assert_eq!(
            status_after(HostStatus::Up, Observed::ConnectFailed.events(HostStatus::Up)).unwrap(),
            HostStatus::Disconnected
        );
    }
}
