//! Power changes as they happen. For hosts whose agents can announce them (KVM hosts, whose
//! agent listens to libvirt's lifecycle events), one task per host keeps a `watch_power` long
//! poll open; when the host says its generation moved, the task pings it and applies the
//! report through the same generation-guarded power sync as the liveness monitor. A guest
//! that powers itself off or crashes is thus Stopped within a second, not a ping interval.
//!
//! The monitor's pings stay the source of liveness and the fallback for missed changes; a
//! watcher only ever adds reports. [`PowerWatchers::supervise`] runs in each monitor round and
//! keeps exactly one watcher per connected host (a reconnected host gets a new one for its new
//! agent); dropping the [`PowerWatchers`] stops them all.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use ferrostack_agent_api::{Agent, AgentError};
use ferrostack_types::time::now_ms;
use tokio::task::{AbortHandle, JoinSet};

use crate::host::ping_one;
use crate::App;

/// How long one long poll may be held by the host.
const WATCH_WAIT_MS: u64 = 30_000;
/// Pause after a failed long poll (the host is down or restarting: liveness is the monitor's).
const RETRY_AFTER: Duration = Duration::from_secs(5);

/// The running watchers, one per host, each tied to the agent it was started for.
#[derive(Default)]
pub struct PowerWatchers {
    tasks: JoinSet<()>,
    /// Host → (identity of the agent its watcher serves, the watcher).
    by_host: HashMap<i64, (usize, AbortHandle)>,
}

/// An agent's identity: its address (only compared, never dereferenced).
fn identity(agent: &Arc<dyn Agent>) -> usize {
    Arc::as_ptr(agent) as *const () as usize
}

impl PowerWatchers {
    /// Start a watcher for each watchable host that has none (or whose agent was replaced by
    /// a reconnect), and stop those of hosts no longer connected. A watcher whose host answers
    /// that it cannot announce changes ends and is not restarted for the same agent.
    pub fn supervise(&mut self, app: &Arc<App>) {
        while self.tasks.try_join_next().is_some() {}
        let live: HashMap<i64, Arc<dyn Agent>> = app.agents.watchable().into_iter().collect();
        self.by_host.retain(|id, (ptr, handle)| {
            let current = live.get(id).map(identity);
            let keep = current == Some(*ptr);
            if !keep {
                handle.abort();
            }
            keep
        });
        for (id, agent) in live {
            if self.by_host.contains_key(&id) {
                continue;
            }
            let ptr = identity(&agent);
            let handle = self
                .tasks
                .spawn(ferrostack_db::held::scope(watch_host(app.clone(), id, agent)));
            self.by_host.insert(id, (ptr, handle));
        }
    }

    /// Hosts with a running (not ended) watcher.
    pub fn running(&self) -> usize {
        self.by_host.values().filter(|(_, h)| !h.is_finished()).count()
    }
}

/// Keep a long poll open on one host; on each change, ping and apply the report.
async fn watch_host(app: Arc<App>, host_id: i64, agent: Arc<dyn Agent>) {
    let mut seen = 0u64;
    loop {
        match agent.watch_power(seen, WATCH_WAIT_MS).await {
            Ok(generation) if generation == seen => {}
            Ok(generation) => {
                seen = generation;
                if let Err(e) = apply_now(&app, host_id, &agent, &mut seen).await {
                    tracing::warn!(host_id, error = %e, "applying a host's power change failed");
                }
            }
            Err(AgentError::Unsupported(_)) => {
                tracing::debug!(
                    host_id,
                    "host does not announce power changes; the monitor's pings cover it"
                );
                return;
            }
            Err(e @ (AgentError::Unreachable(_) | AgentError::Failed(_))) => {
                tracing::debug!(host_id, error = %e, "power watch failed; retrying");
                tokio::time::sleep(RETRY_AFTER).await;
            }
        }
    }
}

/// Ping the host and apply its report if it is one the monitor has not applied yet.
async fn apply_now(
    app: &App,
    host_id: i64,
    agent: &Arc<dyn Agent>,
    seen: &mut u64,
) -> Result<(), ferrostack_types::Error> {
    let interval_ms = app.config_i64("ping.interval", None).await? * 1000;
    let asked_at = now_ms();
    let (_, report) = ping_one(host_id, agent.clone(), interval_ms).await;
    let Some(report) = report else { return Ok(()) };
    *seen = report.generation;
    if app.agents.report_is_new(host_id, report.generation) {
        app.power_sync(host_id, &report, asked_at).await?;
    }
    Ok(())
}
