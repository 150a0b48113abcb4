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
use ferrostack_types::state::HostStatus;
use ferrostack_types::time::now_ms;
use ferrostack_types::Error;

use crate::host::{connect_bounded, ping_one};
use crate::host_state::Observed;
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
        let t0 = std::time::Instant::now();
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
        let mut answered = Vec::new();
        while let Some(answers) = set.join_next().await {
            let Ok(a) = answers else { continue };
            match a.connect {
                Ok(info) => {
                    if let Some((report, asked_at)) = a.report {
                        reports.push((a.host.id, report, asked_at));
                    }
                    answered.push((a.host, a.agent, info));
                }
                Err(e) => {
                    if let Err(e) = self.host_connected(&a.host, a.agent, Err(e), true).await {
                        tracing::warn!(host = %a.host.name, error = %e, "host did not answer at start-up");
                    }
                }
            }
        }
        // What the answering hosts change, in batches rather than a few writes per host.
        done.connected = answered.len();
        let t_answers = t0.elapsed();
        self.hosts_connected(answered).await?;
        let t_written = t0.elapsed();
        reports.retain(|(id, report, _)| self.agents.report_is_new(*id, report.generation));
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
        tracing::info!(
            hosts = done.hosts,
            connected = done.connected,
            synced = done.synced,
            answers_ms = t_answers.as_millis() as u64,
            hosts_written_ms = (t_written - t_answers).as_millis() as u64,
            power_sync_ms = (t0.elapsed() - t_written).as_millis() as u64,
            "start-up reconcile done"
        );
        Ok(done)
    }

    /// Record the connect answers of many hosts (the start-up reconcile's): capacities that
    /// changed, their agents live, the follow-ups that waited for them due, and a Down or
    /// Disconnected host Up. A host whose row already says all that — the usual case after a
    /// restart — costs no write.
    async fn hosts_connected(&self, answered: Vec<(Host, Arc<dyn Agent>, HostInfo)>) -> Result<(), Error> {
        let now = now_ms();
        for chunk in answered.chunks(HOSTS_PER_BATCH) {
            let changed: Vec<(i64, i64, i64, i64, i64, i64)> = chunk
                .iter()
                .filter(|(h, _, info)| capacity_differs(h, info))
                .map(|(h, _, info)| {
                    let (sockets, cores, speed, memory, local) = capacity(info);
                    (h.id, sockets, cores, speed, memory, local)
                })
                .collect();
            let ids: Vec<i64> = chunk.iter().map(|(h, _, _)| h.id).collect();
            // A failed write leaves capacities and follow-ups to the next connect (the
            // follow-ups' own back-off retries them); the hosts are connected all the same.
            if let Err(e) = self.hosts_connected_write(&changed, &ids, now).await {
                tracing::warn!(hosts = ids.len(), error = %e, "recording the hosts' connect answers failed");
            }
        }
        for (h, agent, _) in answered {
            // A host whose Up could not be written is handed to the monitor as not up: its
            // next answered ping writes it.
            let mut up = true;
            if h.status != HostStatus::Up {
                if let Err(e) = self.host_set_status(h.id, Observed::Answered, now).await {
                    tracing::warn!(host = %h.name, error = %e, "marking a host Up at start-up failed; its next ping will");
                    up = false;
                }
            }
            self.agents.insert(h.id, &h.hypervisor, agent, now, up);
        }
        Ok(())
    }

    /// One batch of [`App::hosts_connected`]: changed capacities, and the follow-ups that waited
    /// for these hosts due now.
    async fn hosts_connected_write(
        &self,
        capacities: &[(i64, i64, i64, i64, i64, i64)],
        host_ids: &[i64],
        now: i64,
    ) -> Result<(), Error> {
        let mut tx = self.db.begin().await?;
        host_db::update_capacity_many(&mut tx, capacities).await?;
        ferrostack_db::followup::hosts_due(&mut tx, host_ids, now).await?;
        tx.commit().await.map_err(ferrostack_db::db_err)
    }
}

/// Hosts whose connect answers are written together.
const HOSTS_PER_BATCH: usize = 500;

/// What a host's answer says of its capacity, as the host row keeps it: sockets, cores, MHz
/// per core, memory bytes, local storage bytes.
fn capacity(info: &HostInfo) -> (i64, i64, i64, i64, i64) {
    (
        i64::from(info.cpu_sockets),
        i64::from(info.cpu_cores),
        info.cpu_speed_mhz as i64,
        info.memory_bytes as i64,
        info.local_storage_bytes as i64,
    )
}

/// Whether a host's answer changes the capacity its row records.
fn capacity_differs(h: &Host, info: &HostInfo) -> bool {
    (
        h.cpu_sockets,
        h.cpu_cores,
        h.cpu_speed,
        h.memory_total,
        h.local_storage_total,
    ) != capacity(info)
}
