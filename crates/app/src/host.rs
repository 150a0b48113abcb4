//! Hosts: add (connect through the hypervisor's agent), list, update, maintenance,
//! reconnect, delete; the liveness monitor; alerts and capacity.

use ferrostack_types::EventType;
use std::sync::Arc;

use ferrostack_agent_api::{Agent, AgentError, AgentKey, HostInfo, HostLocation, PowerReport};
use ferrostack_db::alert::{self as alert_db, Alert, AlertFilter};
use ferrostack_db::host::{self as host_db, CapacityRow, Host, HostFilter};
use ferrostack_db::{db_err, zone as zone_db, Conn};
use ferrostack_types::ids::new_uuid;
use ferrostack_types::state::{AllocationState, HostStatus, ResourceEvent, ResourceState, StateMachine};
use ferrostack_types::time::now_ms;
use ferrostack_types::{Error, Page};

use crate::event::{Level, Resource, State};
use crate::host_state::{status_after, Observed};
use crate::job::{JobRequest, Submitted};
use crate::{App, Caller};

/// CloudStack's alert type for host state changes (`ALERT_TYPE_HOST`).
pub const ALERT_TYPE_HOST: i64 = 7;

pub struct HostAdd {
    pub zone_uuid: String,
    pub pod_uuid: String,
    pub cluster_uuid: Option<String>,
    pub cluster_name: Option<String>,
    pub hypervisor: String,
    pub url: String,
    /// The agent's credentials (hypervisors whose agents authenticate, such as KVM); only a
    /// key derived from them is kept.
    pub username: Option<String>,
    pub password: Option<String>,
    pub host_tags: Option<String>,
    pub allocation: Option<String>,
}

pub fn host_resource(h: &Host) -> Resource {
    Resource {
        kind: "Host",
        uuid: h.uuid.clone(),
        name: h.name.clone(),
    }
}

impl App {
    pub async fn host_get_for(&self, c: &mut Conn, param: &str, uuid: &str) -> Result<Host, Error> {
        host_db::by_uuid(&mut *c, uuid)
            .await?
            .ok_or_else(|| Error::unknown_entity(param, uuid))
    }

    pub async fn host_get(&self, uuid: &str) -> Result<Option<Host>, Error> {
        host_db::by_uuid(self.db.read(), uuid).await
    }

    /// `addHost`: validate placement, connect to the agent, record what it reports.
    pub async fn host_add(&self, caller: &Caller, p: HostAdd) -> Result<Host, Error> {
        let hypervisor = self.agents.hypervisor(&p.hypervisor)?;
        let mut c = self.db.conn().await?;
        let z = self.zone_get_for(&mut c, "zoneid", &p.zone_uuid).await?;
        let pod = self.pod_get_for(&mut c, "podid", &p.pod_uuid).await?;
        if pod.zone_id != z.id {
            return Err(Error::invalid(format!(
                "Pod {} is not in zone {}; give a pod of that zone",
                pod.name, z.name
            )));
        }
        let cluster = match (&p.cluster_uuid, &p.cluster_name) {
            (Some(u), _) => self.cluster_get_for(&mut c, "clusterid", u).await?,
            (None, Some(n)) => zone_db::cluster_by_name(&mut *c, pod.id, n).await?.ok_or_else(|| {
                Error::invalid(format!(
                    "No cluster named {n} in pod {}; create it with addCluster first",
                    pod.name
                ))
            })?,
            (None, None) => return Err(Error::invalid("Give the host's cluster with clusterid or clustername")),
        };
        drop(c);
        if cluster.pod_id != pod.id {
            return Err(Error::invalid(format!(
                "Cluster {} is not in pod {}",
                cluster.name, pod.name
            )));
        }
        if !cluster.hypervisor.eq_ignore_ascii_case(hypervisor) {
            return Err(Error::invalid(format!(
                "Cluster {} holds {} hosts; a {hypervisor} host can't join it",
                cluster.name, cluster.hypervisor
            )));
        }
        let alloc = match &p.allocation {
            Some(a) => crate::zone::allocation_state(a)?,
            None => AllocationState::Enabled,
        };
        let uuid = new_uuid();
        let location = HostLocation {
            zone: z.uuid.clone(),
            pod: pod.uuid.clone(),
            cluster: cluster.uuid.clone(),
            host: uuid.clone(),
        };
        let key = if self.agents.needs_credentials(hypervisor)? {
            match (p.username.as_deref(), p.password.as_deref()) {
                (Some(u), Some(pw)) if !u.is_empty() && !pw.is_empty() => Some(AgentKey::derive(u, pw)),
                (Some(_) | None, Some(_) | None) => {
                    return Err(Error::invalid(format!(
                        "{hypervisor} hosts authenticate: give username and password, the credentials \
                         the host's agent was started with (ferrostack agent --credentials)"
                    )))
                }
            }
        } else {
            None
        };
        let agent = self.agents.open(hypervisor, &p.url, &location, key.as_ref()).await?;
        let info = agent.connect().await.map_err(|e| {
            Error::ResourceUnavailable(format!(
                "Could not connect to the host at {}: {e}; check that it is up and retry",
                p.url
            ))
        })?;
        let name = if hypervisor == "Simulator" {
            format!("SimulatedAgent.{uuid}")
        } else {
            info.private_ip.clone()
        };
        let now = now_ms();
        let mut tx = self.db.begin().await?;
        let id = host_db::insert(
            &mut tx,
            host_db::NewHost {
                uuid: &uuid,
                name: &name,
                zone_id: z.id,
                pod_id: pod.id,
                cluster_id: cluster.id,
                hypervisor,
                hypervisor_version: &info.hypervisor_version,
                url: &p.url,
                resource_state: match alloc {
                    AllocationState::Enabled => ResourceState::Enabled,
                    AllocationState::Disabled => ResourceState::Disabled,
                },
                private_ip: &info.private_ip,
                cpu_sockets: i64::from(info.cpu_sockets),
                cpu_cores: i64::from(info.cpu_cores),
                cpu_speed: info.cpu_speed_mhz as i64,
                memory_total: info.memory_bytes as i64,
                local_storage_total: info.local_storage_bytes as i64,
                version: &info.version,
                host_tags: p.host_tags.as_deref(),
                ms_id: &self.config.msid,
                agent_key: key.as_ref().map(AgentKey::to_hex).as_deref(),
                now,
            },
        )
        .await?;
        let h = host_db::get(&mut *tx, id)
            .await?
            .ok_or_else(|| Error::internal("host vanished"))?;
        self.event_done(
            &mut tx,
            caller,
            EventType::HostAdd,
            format!("Added host {} ({})", h.name, p.url),
            Some(&host_resource(&h)),
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        self.agents.insert(id, hypervisor, agent, now, true);
        Ok(h)
    }

    pub async fn host_list(
        &self,
        mut f: HostFilter,
        zone: Option<&str>,
        pod: Option<&str>,
        cluster: Option<&str>,
        page: Page,
    ) -> Result<(i64, Vec<Host>), Error> {
        let mut c = self.db.conn().await?;
        if let Some(u) = zone {
            f.zone_id = Some(self.zone_get_for(&mut c, "zoneid", u).await?.id);
        }
        if let Some(u) = pod {
            f.pod_id = Some(self.pod_get_for(&mut c, "podid", u).await?.id);
        }
        if let Some(u) = cluster {
            f.cluster_id = Some(self.cluster_get_for(&mut c, "clusterid", u).await?.id);
        }
        host_db::list(&mut c, &f, page).await
    }

    pub async fn host_update(
        &self,
        caller: &Caller,
        uuid: &str,
        allocation: Option<String>,
        host_tags: Option<String>,
    ) -> Result<Host, Error> {
        let mut tx = self.db.begin().await?;
        let h = self.host_get_for(&mut tx, "id", uuid).await?;
        if let Some(a) = &allocation {
            let event = if a.eq_ignore_ascii_case("enable") || a.eq_ignore_ascii_case("enabled") {
                ResourceEvent::Enable
            } else if a.eq_ignore_ascii_case("disable") || a.eq_ignore_ascii_case("disabled") {
                ResourceEvent::Disable
            } else {
                return Err(Error::invalid(format!(
                    "Invalid allocationstate {a}; use Enable or Disable"
                )));
            };
            if !matches!(h.resource_state, ResourceState::Enabled | ResourceState::Disabled) {
                return Err(Error::invalid(format!(
                    "Host {} is in {}; cancel maintenance before enabling or disabling it",
                    h.name, h.resource_state
                )));
            }
            let to = h.resource_state.transition(event)?;
            if to != h.resource_state && !host_db::cas_resource_state(&mut *tx, h.id, h.resource_state, to).await? {
                return Err(Error::ResourceUnavailable(format!(
                    "Host {} was changed by another operation while being updated; retry the operation",
                    h.name
                )));
            }
        }
        if let Some(t) = &host_tags {
            host_db::update_tags(&mut *tx, h.id, t).await?;
        }
        let h = host_db::get(&mut *tx, h.id)
            .await?
            .ok_or_else(|| Error::internal("host vanished"))?;
        self.event_done(
            &mut tx,
            caller,
            EventType::HostUpdate,
            format!("Updated host {}", h.name),
            Some(&host_resource(&h)),
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok(h)
    }

    /// `prepareHostForMaintenance` (async): PrepareForMaintenance, move work off, Maintenance.
    pub async fn host_maintenance(
        &self,
        caller: &Caller,
        uuid: &str,
        meta: crate::job::JobMeta,
    ) -> Result<Submitted, Error> {
        let mut tx = self.db.begin().await?;
        let h = self.host_get_for(&mut tx, "id", uuid).await?;
        if matches!(
            h.resource_state,
            ResourceState::Maintenance | ResourceState::PrepareForMaintenance
        ) {
            return Err(Error::invalid(format!(
                "Host {} is already in {}",
                h.name, h.resource_state
            )));
        }
        // Refused here, naming the states that accept it, rather than as a failed job.
        h.resource_state.transition(ResourceEvent::AdminAskMaintenance)?;
        let sub = self
            .host_job(
                &mut tx,
                caller,
                &h,
                meta,
                format!("Preparing host {} for maintenance", h.name),
            )
            .await?;
        tx.commit().await.map_err(db_err)?;
        self.jobs.wake();
        Ok(sub)
    }

    /// `cancelHostMaintenance` (async).
    pub async fn host_cancel_maintenance(
        &self,
        caller: &Caller,
        uuid: &str,
        meta: crate::job::JobMeta,
    ) -> Result<Submitted, Error> {
        let mut tx = self.db.begin().await?;
        let h = self.host_get_for(&mut tx, "id", uuid).await?;
        if !matches!(
            h.resource_state,
            ResourceState::Maintenance | ResourceState::PrepareForMaintenance | ResourceState::ErrorInMaintenance
        ) {
            return Err(Error::invalid(format!(
                "Host {} is not in maintenance (it is {})",
                h.name, h.resource_state
            )));
        }
        let sub = self
            .host_job(
                &mut tx,
                caller,
                &h,
                meta,
                format!("Cancelling maintenance of host {}", h.name),
            )
            .await?;
        tx.commit().await.map_err(db_err)?;
        self.jobs.wake();
        Ok(sub)
    }

    /// `reconnectHost` (async).
    pub async fn host_reconnect(
        &self,
        caller: &Caller,
        uuid: &str,
        meta: crate::job::JobMeta,
    ) -> Result<Submitted, Error> {
        let mut tx = self.db.begin().await?;
        let h = self.host_get_for(&mut tx, "id", uuid).await?;
        let sub = self
            .host_job(&mut tx, caller, &h, meta, format!("Reconnecting host {}", h.name))
            .await?;
        tx.commit().await.map_err(db_err)?;
        self.jobs.wake();
        Ok(sub)
    }

    #[allow(clippy::too_many_arguments)]
    async fn host_job(
        &self,
        c: &mut Conn,
        caller: &Caller,
        h: &Host,
        meta: crate::job::JobMeta,
        description: String,
    ) -> Result<Submitted, Error> {
        self.job_submit(
            c,
            caller,
            JobRequest {
                instance: Some(("Host", h.uuid.clone())),
                sync_key: format!("host:{}", h.uuid),
                params: crate::saga::to_params(&crate::host_sagas::HostParams { host_id: h.id })?,
                meta,
                description,
                resource: Some(host_resource(h)),
            },
        )
        .await
    }

    /// Re-open and connect a host's agent; the host is Up if it answers within
    /// `ping.interval × ping.timeout` seconds.
    pub async fn host_connect(&self, h: &Host, startup: bool) -> Result<(), Error> {
        let agent = self.host_open(h).await?;
        let within = self.host_answer_within_ms().await?;
        let answer = connect_bounded(&agent, within).await;
        self.host_connected(h, agent, answer, startup).await
    }

    /// Open (not yet connect) the agent of a known host.
    pub(crate) async fn host_open(&self, h: &Host) -> Result<Arc<dyn Agent>, Error> {
        let location = HostLocation {
            zone: h.zone_uuid.clone(),
            pod: h.pod_uuid.clone(),
            cluster: h.cluster_uuid.clone(),
            host: h.uuid.clone(),
        };
        // Only hosts that authenticate have a key (no query per simulated host at start-up).
        let stored = if self.agents.needs_credentials(&h.hypervisor)? {
            host_db::agent_key(self.db.read(), h.id).await?
        } else {
            None
        };
        let key = match stored {
            Some(hex) => Some(AgentKey::from_hex(&hex).ok_or_else(|| {
                Error::internal(format!("host {} has a malformed agent key; re-add the host", h.name))
            })?),
            None => None,
        };
        self.agents.open(&h.hypervisor, &h.url, &location, key.as_ref()).await
    }

    /// How long a host gets to answer a connect before it counts as not answering: the time
    /// after which the monitor would mark it Down (`ping.interval × ping.timeout`).
    pub(crate) async fn host_answer_within_ms(&self) -> Result<i64, Error> {
        let interval_s = self.config_i64("ping.interval", None).await?;
        let mult = self.config_f64("ping.timeout", None).await?;
        Ok((interval_s as f64 * 1000.0 * mult) as i64)
    }

    /// Record a connect attempt's answer: capacity, the live agent, the host's status and the
    /// follow-ups that waited for it.
    pub(crate) async fn host_connected(
        &self,
        h: &Host,
        agent: Arc<dyn Agent>,
        answer: Result<HostInfo, AgentError>,
        startup: bool,
    ) -> Result<(), Error> {
        let now = now_ms();
        match answer {
            Ok(info) => {
                host_db::update_capacity(
                    self.db.write(),
                    h.id,
                    i64::from(info.cpu_sockets),
                    i64::from(info.cpu_cores),
                    info.cpu_speed_mhz as i64,
                    info.memory_bytes as i64,
                    info.local_storage_bytes as i64,
                )
                .await?;
                self.agents.insert(h.id, &h.hypervisor, agent, now, true);
                self.followup_host_connected(h.id).await?;
                if !startup {
                    // A reconnected agent counts its power reports afresh.
                    let mut c = self.db.write_conn().await?;
                    host_db::reset_power_generations(&mut c, Some(h.id)).await?;
                }
                if h.status != HostStatus::Up {
                    self.host_set_status(h.id, Observed::Answered, now).await?;
                }
                Ok(())
            }
            Err(e) => {
                self.agents.insert(h.id, &h.hypervisor, agent, now, false);
                if h.status == HostStatus::Up {
                    self.host_set_status(h.id, Observed::ConnectFailed, now).await?;
                }
                Err(Error::ResourceUnavailable(format!(
                    "Host {} did not answer: {e}",
                    h.name
                )))
            }
        }
    }

    /// Record what was observed about a host: its status moves through the host machine with
    /// a compare-and-swap (re-read and retried when another writer won), with an alert and an
    /// event, in one transaction. A host that is gone is left alone.
    pub(crate) async fn host_set_status(&self, host_id: i64, seen: Observed, now: i64) -> Result<(), Error> {
        for _ in 0..3 {
            let Some(h) = host_db::get(self.db.read(), host_id).await? else {
                return Ok(());
            };
            let to = status_after(h.status, seen.events(h.status))?;
            let mut tx = self.db.begin().await?;
            if !host_db::cas_status(&mut *tx, h.id, h.status, to, now).await? {
                drop(tx);
                continue;
            }
            return self.host_status_recorded(tx, &h, to, now).await;
        }
        Err(Error::ResourceUnavailable(format!(
            "Host {host_id} kept changing while its status was recorded; retry"
        )))
    }

    async fn host_status_recorded(
        &self,
        mut tx: ferrostack_db::Tx,
        h: &Host,
        status: HostStatus,
        now: i64,
    ) -> Result<(), Error> {
        let subject = match status {
            HostStatus::Up => format!("Host {} (zone {}, pod {}) is Up again", h.name, h.zone_name, h.pod_name),
            HostStatus::Creating
            | HostStatus::Connecting
            | HostStatus::Down
            | HostStatus::Disconnected
            | HostStatus::Alert
            | HostStatus::Removed
            | HostStatus::Error
            | HostStatus::Rebalancing
            | HostStatus::Unknown => format!(
                "Host {} (zone {}, pod {}) is {status}: it has not answered its agent pings",
                h.name, h.zone_name, h.pod_name
            ),
        };
        alert_db::insert(
            &mut tx,
            alert_db::NewAlert {
                uuid: &new_uuid(),
                alert_type: ALERT_TYPE_HOST,
                name: "ALERT.HOST",
                subject: &subject,
                zone_id: Some(h.zone_id),
                pod_id: Some(h.pod_id),
                cluster_id: Some(h.cluster_id),
                host_id: Some(h.id),
                now,
            },
        )
        .await?;
        let system = self.system_caller_in(&mut tx).await?;
        let level = if status == HostStatus::Up {
            Level::Info
        } else {
            Level::Warn
        };
        self.event_record(
            &mut tx,
            &system,
            EventType::HostStatus,
            level,
            State::Completed,
            subject,
            Some(&host_resource(h)),
            None,
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        if status == ferrostack_types::state::HostStatus::Up {
            self.followup_host_connected(h.id).await?;
        }
        Ok(())
    }

    /// The `system` account's user, which background work acts as.
    pub async fn system_caller(&self) -> Result<Caller, Error> {
        let mut c = self.db.conn().await?;
        self.system_caller_in(&mut c).await
    }

    /// [`App::system_caller`] on a connection the caller already holds.
    pub async fn system_caller_in(&self, c: &mut ferrostack_db::Conn) -> Result<Caller, Error> {
        let root = ferrostack_db::domain::root(&mut *c)
            .await?
            .ok_or_else(|| Error::internal("no ROOT domain"))?;
        let u = ferrostack_db::user::by_username(&mut *c, root.id(), "system")
            .await?
            .ok_or_else(|| Error::internal("no system user"))?;
        Ok(Caller::from_user(&u))
    }

    /// One round of the liveness monitor: ping the hosts that are due, mark changes.
    pub async fn host_monitor_tick(&self) -> Result<(), Error> {
        let interval_s = self.config_i64("ping.interval", None).await?;
        let mult = self.config_f64("ping.timeout", None).await?;
        let interval_ms = interval_s * 1000;
        let down_after = (interval_ms as f64 * mult) as i64;
        let now = now_ms();
        let asked_at = now;
        let due = self.agents.due(now, interval_ms);
        // Ping concurrently, at most 64 at a time, each bounded by the interval.
        let permits = Arc::new(tokio::sync::Semaphore::new(64));
        let mut set = tokio::task::JoinSet::new();
        for (id, agent) in due {
            let permits = permits.clone();
            set.spawn(async move {
                let _permit = permits.acquire_owned().await;
                ping_one(id, agent, interval_ms).await
            });
        }
        let mut results: Vec<(i64, Option<PowerReport>)> = Vec::new();
        while let Some(r) = set.join_next().await {
            if let Ok(r) = r {
                results.push(r);
            }
        }
        let now = now_ms();
        let mut pinged = Vec::new();
        let fresh: Vec<(i64, &PowerReport)> = results
            .iter()
            .filter_map(|(id, r)| r.as_ref().map(|r| (*id, r)))
            .filter(|(id, r)| self.agents.report_is_new(*id, r.generation))
            .collect();
        // Every new report of this round in a few batched statements.
        if let Err(e) = self.power_sync_batch(&fresh, asked_at).await {
            tracing::warn!(hosts = fresh.len(), error = %e, "applying the hosts' power reports failed");
        }
        for (id, report) in &results {
            let (id, ok) = (*id, report.is_some());
            if ok {
                pinged.push(id);
            }
            if let Some(up) = self.agents.record(id, ok, now, down_after) {
                let seen = if up { Observed::Answered } else { Observed::Unreachable };
                self.host_set_status(id, seen, now).await?;
            }
        }
        let due = self.agents.due_for_write(&pinged, now);
        let mut c = self.db.write_conn().await?;
        host_db::touch_pinged(&mut c, &due, now).await
    }

    /// `deleteHost`: only in maintenance or when not Up, unless forced.
    pub async fn host_delete(&self, caller: &Caller, uuid: &str, forced: bool) -> Result<(), Error> {
        let mut tx = self.db.begin().await?;
        let h = self.host_get_for(&mut tx, "id", uuid).await?;
        let idle = h.resource_state == ResourceState::Maintenance || h.status != HostStatus::Up;
        if !idle && !forced {
            return Err(Error::invalid(format!(
                "Host {} is Up and not in maintenance; put it in maintenance first (prepareHostForMaintenance) or pass forced=true",
                h.name
            )));
        }
        for (table, what) in crate::host::HOST_DEPENDENTS {
            let n = zone_db::count_live(&mut tx, table, "host_id", h.id).await?;
            if n > 0 {
                return Err(Error::in_use(format!(
                    "Host {} still has {n} {what}; stop or migrate them before deleting the host",
                    h.name
                )));
            }
        }
        zone_db::mark_removed(&mut tx, "host", h.id, now_ms()).await?;
        self.followup_host_removed(&mut tx, h.id).await?;
        self.event_done(
            &mut tx,
            caller,
            EventType::HostDelete,
            format!("Deleted host {}", h.name),
            Some(&host_resource(&h)),
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        self.agents.remove(h.id);
        Ok(())
    }

    /// Move guests off a host entering maintenance. No guest VMs exist before the VM work
    /// lands, so there is nothing to move yet.
    pub async fn host_evacuate(&self, _h: &Host) -> Result<(), Error> {
        Ok(())
    }

    pub async fn alert_list(&self, f: &AlertFilter, page: Page) -> Result<(i64, Vec<Alert>), Error> {
        let mut c = self.db.conn().await?;
        alert_db::list(&mut c, f, page).await
    }

    pub async fn capacity_rows(&self) -> Result<Vec<CapacityRow>, Error> {
        let mut c = self.db.conn().await?;
        host_db::capacity_by_cluster(&mut c).await
    }
}

/// A connect bounded by `within_ms`; not answering in time is `Unreachable`.
pub(crate) async fn connect_bounded(agent: &Arc<dyn Agent>, within_ms: i64) -> Result<HostInfo, AgentError> {
    let within = std::time::Duration::from_millis(within_ms.max(1) as u64);
    match tokio::time::timeout(within, agent.connect()).await {
        Ok(answer) => answer,
        Err(_) => Err(AgentError::Unreachable(format!(
            "no answer to the connect within {} ms",
            within_ms.max(1)
        ))),
    }
}

/// One ping, bounded by the ping interval; the host's power report when it answered.
pub(crate) async fn ping_one(id: i64, agent: Arc<dyn Agent>, timeout_ms: i64) -> (i64, Option<PowerReport>) {
    let r = tokio::time::timeout(std::time::Duration::from_millis(timeout_ms.max(1) as u64), agent.ping()).await;
    (id, r.ok().and_then(|r| r.ok()))
}

/// Tables whose live rows pin a host (VMs arrive with the VM work).
pub const HOST_DEPENDENTS: &[(&str, &str)] = &[];
