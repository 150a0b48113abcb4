//! Start-up reconcile: after a restart, connect every host and apply its first power report
//! before the server reports VM and router state, so nothing is reported Running that its
//! host does not run (and nothing the host runs is reported Stopped).
//!
//! Bounded: at most 64 hosts are asked at once, each connect is bounded by
//! `ping.interval × ping.timeout` and each ping by `ping.interval`. A host that does not
//! answer is left to the liveness monitor, and its VMs stay as they are until the normal ping
//! rules act. The caller bounds the whole (see `ferrostack_server::start`).

use std::sync::Arc;

use ferrostack_agent_api::{Agent, AgentError, HostInfo, PowerReport};
use ferrostack_db::host::{self as host_db, Host};
use ferrostack_types::time::now_ms;
use ferrostack_types::Error;

use crate::host::{connect_bounded, ping_one};
use crate::App;

/// What the start-up reconcile did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StartupReconcile {
    /// Live hosts in the database.
    pub hosts: usize,
    /// Hosts that answered the connect.
    pub connected: usize,
    /// Power reports applied.
    pub synced: usize,
}

/// One host's answers: the connect's, then (if it answered) the ping's with when it was asked.
struct Answers {
    host: Host,
    agent: Arc<dyn Agent>,
    connect: Result<HostInfo, AgentError>,
    report: Option<(PowerReport, i64)>,
}

impl App {
    /// Connect every live host and apply its power report (see the module docs). Errors of
    /// one host are logged and leave that host to the monitor.
    pub async fn host_startup_reconcile(&self) -> Result<StartupReconcile, Error> {
        // Every agent counts its power reports afresh after a restart: forget them all at once.
        let mut c = self.db.write_conn().await?;
        host_db::reset_power_generations(&mut c, None).await?;
        drop(c);
        let connect_within = self.host_answer_within_ms().await?;
        let ping_within = self.config_i64("ping.interval", None).await? * 1000;
        let hosts = host_db::all_live(self.db.read()).await?;
        let mut done = StartupReconcile {
            hosts: hosts.len(),
            ..StartupReconcile::default()
        };
        let permits = Arc::new(tokio::sync::Semaphore::new(64));
        let mut set = tokio::task::JoinSet::new();
        for host in hosts {
            let agent = match self.host_open(&host).await {
                Ok(agent) => agent,
                Err(e) => {
                    tracing::warn!(host = %host.name, error = %e, "host cannot be opened at start-up");
                    continue;
                }
            };
            let permits = permits.clone();
            set.spawn(async move {
                let _permit = permits.acquire_owned().await;
                let connect = connect_bounded(&agent, connect_within).await;
                let report = match connect {
                    Ok(_) => {
                        let asked_at = now_ms();
                        ping_one(host.id, agent.clone(), ping_within)
                            .await
                            .1
                            .map(|r| (r, asked_at))
                    }
                    Err(_) => None,
                };
                Answers {
                    host,
                    agent,
                    connect,
                    report,
                }
            });
        }
        let mut reports = Vec::new();
        while let Some(answers) = set.join_next().await {
            let Ok(a) = answers else { continue };
            if let Err(e) = self.host_connected(&a.host, a.agent, a.connect, true).await {
                tracing::warn!(host = %a.host.name, error = %e, "host did not answer at start-up");
                continue;
            }
            done.connected += 1;
            let Some((report, asked_at)) = a.report else {
                continue;
            };
            if self.agents.report_is_new(a.host.id, report.generation) {
                reports.push((a.host.id, report, asked_at));
            }
        }
        // All reports at once, in batches of hosts (a report asked for earlier is judged by
        // the earliest moment of the batch: never newer than it really is).
        let asked_at = reports.iter().map(|r| r.2).min().unwrap_or(0);
        let batch: Vec<(i64, &ferrostack_agent_api::PowerReport)> = reports.iter().map(|r| (r.0, &r.1)).collect();
        match self.power_sync_batch(&batch, asked_at).await {
            Ok(()) => done.synced += batch.len(),
            Err(e) => {
                tracing::warn!(hosts = batch.len(), error = %e, "applying the hosts' power reports at start-up failed")
            }
        }
        Ok(done)
    }
}
