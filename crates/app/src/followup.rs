//! Follow-up effects of committed state changes (delete a config drive, drop a VM's DHCP
//! entry, remove an expunged VM from its host): recorded in the `followup` table in the same
//! transaction as the change, carried out afterwards by [`App::followup_tick`], idempotently.
//!
//! - A follow-up is a closed enum with typed payloads; a payload that does not parse is a
//!   failed attempt, never a success.
//! - An effect that needs a host whose agent is not connected waits for it (`WaitingHost`,
//!   not a failed attempt); it becomes due when the host connects and is resolved when the
//!   host is deleted.
//! - Failures back off exponentially to [`BACKOFF_CAP_MS`]; after `followup.max.attempts` the
//!   follow-up is `Stuck`, an alert and an ERROR event are raised once, and an operator lists
//!   it (`listFollowUps`) and retries it (`retryFollowUp`).

use ferrostack_agent_api::{DiskFile, SnapshotFile};
use ferrostack_db::alert as alert_db;
use ferrostack_db::followup as fu_db;
use ferrostack_db::network as net_db;
use ferrostack_db::{db_err, Conn};
use ferrostack_net::{NicCtx, Provider};
use ferrostack_types::ids::new_uuid;
use ferrostack_types::time::now_ms;
use ferrostack_types::{Error, Page};
use serde::{Deserialize, Serialize};

pub use ferrostack_db::followup::{Followup, FollowupFilter};
pub use ferrostack_types::followup::FollowUpState;

use crate::event::{Level, Resource, State};
use crate::vmops::agent_err;
use crate::{App, Caller};
use ferrostack_types::EventType;

/// Event types of the follow-up worker.
/// CloudStack's `ALERT_TYPE_MANAGMENT_NODE`: a management server task needs an operator.
pub const ALERT_TYPE_FOLLOWUP: i64 = 14;
/// The longest wait between two attempts, and the re-check period of a follow-up waiting for
/// its host (in case another management server saw the host connect).
pub const BACKOFF_CAP_MS: i64 = 5 * 60 * 1000;

/// One follow-up effect. Stored as its kind (`kind` column, spelled as before) and its payload
/// (JSON, the variant's fields), so rows written by earlier releases still parse.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "payload")]
pub enum FollowUp {
    /// Call a network element's `release` for a NIC that left (VM stopped or expunged).
    #[serde(rename = "element.release")]
    ElementRelease {
        provider: Provider,
        network_id: i64,
        nic: NicCtx,
    },
    /// Remove a VM or router from its (last) host after expunge.
    #[serde(rename = "host.destroy")]
    HostDestroy {
        host_id: i64,
        #[serde(rename = "name")]
        instance_name: String,
    },
    /// Delete a deleted volume's file through a host that reaches its pool.
    #[serde(rename = "disk.delete")]
    DiskDelete { host_id: i64, file: DiskFile },
    /// Delete a deleted snapshot's file through a host that reaches its pool.
    #[serde(rename = "snapshot.delete")]
    SnapshotDelete { host_id: i64, file: SnapshotFile },
    /// Push a network's router configuration again (a VM's NIC joined or left the network, or
    /// became or stopped being its default NIC).
    #[serde(rename = "router.program")]
    RouterProgram { network_id: i64 },
}

impl FollowUp {
    /// The `kind` column.
    pub fn kind(&self) -> &'static str {
        match self {
            FollowUp::ElementRelease { .. } => "element.release",
            FollowUp::HostDestroy { .. } => "host.destroy",
            FollowUp::DiskDelete { .. } => "disk.delete",
            FollowUp::SnapshotDelete { .. } => "snapshot.delete",
            FollowUp::RouterProgram { .. } => "router.program",
        }
    }

    /// What "one pending per (kind, target)" is about.
    pub fn target(&self) -> String {
        match self {
            FollowUp::ElementRelease {
                provider,
                network_id,
                nic,
            } => format!("{}:{network_id}:{}", provider.as_str(), nic.nic_uuid),
            FollowUp::HostDestroy { instance_name, .. } => instance_name.clone(),
            FollowUp::DiskDelete { file, .. } => format!("{}:{}", file.pool.uuid, file.volume),
            FollowUp::SnapshotDelete { file, .. } => format!("{}:{}", file.pool.uuid, file.snapshot),
            FollowUp::RouterProgram { network_id } => network_id.to_string(),
        }
    }

    /// The host whose agent the effect needs, if any.
    pub fn host_id(&self) -> Option<i64> {
        match self {
            FollowUp::ElementRelease { .. } | FollowUp::RouterProgram { .. } => None,
            FollowUp::HostDestroy { host_id, .. }
            | FollowUp::DiskDelete { host_id, .. }
            | FollowUp::SnapshotDelete { host_id, .. } => Some(*host_id),
        }
    }

    /// (kind, payload) for the row.
    pub fn to_row(&self) -> Result<(&'static str, String), Error> {
        let v = serde_json::to_value(self).map_err(|e| Error::internal(format!("follow-up: {e}")))?;
        Ok((self.kind(), v["payload"].to_string()))
    }

    /// Read a stored row; an unknown kind or a payload that does not parse is an error.
    pub fn from_row(kind: &str, payload: &str) -> Result<FollowUp, Error> {
        let payload: serde_json::Value = serde_json::from_str(payload)
            .map_err(|e| Error::invalid(format!("Unreadable payload of follow-up {kind}: {e}")))?;
        serde_json::from_value(serde_json::json!({"kind": kind, "payload": payload}))
            .map_err(|e| Error::invalid(format!("Unreadable follow-up {kind}: {e}")))
    }
}

/// What one attempt came to.
enum Outcome {
    /// Done; the note says why there was nothing to do, if so.
    Done(Option<String>),
    /// The host is not connected: wait for it.
    WaitHost(String),
}

/// The wait before attempt `attempts + 1`: 1 s, 2 s, 4 s, … up to the cap.
pub fn backoff_ms(attempts: i64) -> i64 {
    (1000i64 << attempts.clamp(0, 20)).min(BACKOFF_CAP_MS)
}

impl App {
    /// Record a follow-up in the caller's transaction (one pending per (kind, target)).
    pub async fn followup_enqueue(&self, c: &mut Conn, f: &FollowUp) -> Result<(), Error> {
        let (kind, payload) = f.to_row()?;
        fu_db::enqueue(c, kind, &f.target(), f.host_id(), &payload, now_ms()).await?;
        Ok(())
    }

    /// Carry out due follow-ups; the number claimed (0: nothing was due).
    pub async fn followup_tick(&self) -> Result<usize, Error> {
        self.followup_tick_at(now_ms()).await
    }

    /// [`App::followup_tick`] as if the clock read `now` (tests drive back-off without sleeping).
    pub async fn followup_tick_at(&self, now: i64) -> Result<usize, Error> {
        let items = fu_db::claim(self.db.write(), &self.config.msid, now, now + 60_000, 50).await?;
        let n = items.len();
        for f in items {
            let r = match FollowUp::from_row(&f.kind, &f.payload) {
                Ok(fu) => self.followup_run(&fu).await,
                Err(e) => Err(e),
            };
            match r {
                Ok(Outcome::Done(note)) => fu_db::complete(self.db.write(), f.id, now, note.as_deref()).await?,
                Ok(Outcome::WaitHost(note)) => {
                    fu_db::wait_host(self.db.write(), f.id, now + BACKOFF_CAP_MS, &note).await?
                }
                Err(e) => self.followup_failed(&f, &e, now).await?,
            }
        }
        Ok(n)
    }

    async fn followup_failed(&self, f: &Followup, e: &Error, now: i64) -> Result<(), Error> {
        let message = e.client_message("");
        let attempt = f.attempts + 1;
        let bound = self.config_i64("followup.max.attempts", None).await?;
        let stuck = attempt >= bound;
        fu_db::failed(self.db.write(), f.id, now + backoff_ms(f.attempts), &message, stuck).await?;
        if !stuck && f.attempts != 0 {
            return Ok(());
        }
        let system = self.system_caller().await?;
        let mut tx = self.db.begin().await?;
        let (event_type, level, text) = if stuck {
            let text = format!(
                "Follow-up {} {} for {} failed {attempt} times and is stuck; fix the cause, then retryFollowUp id={}: {message}",
                f.id, f.kind, f.target, f.id
            );
            alert_db::insert(
                &mut tx,
                alert_db::NewAlert {
                    uuid: &new_uuid(),
                    alert_type: ALERT_TYPE_FOLLOWUP,
                    name: "ALERT.FOLLOWUP",
                    subject: &text,
                    zone_id: None,
                    pod_id: None,
                    cluster_id: None,
                    host_id: f.host_id,
                    now,
                },
            )
            .await?;
            (EventType::FollowupStuck, Level::Error, text)
        } else {
            let text = format!(
                "Follow-up {} for {} failed (attempt {attempt} of {bound}), will retry: {message}",
                f.kind, f.target
            );
            (EventType::FollowupRetry, Level::Warn, text)
        };
        let resource = Resource {
            kind: "Followup",
            uuid: f.id.to_string(),
            name: f.target.clone(),
        };
        self.event_record(
            &mut tx,
            &system,
            event_type,
            level,
            State::Completed,
            text,
            Some(&resource),
            None,
        )
        .await?;
        tx.commit().await.map_err(db_err)
    }

    async fn followup_run(&self, f: &FollowUp) -> Result<Outcome, Error> {
        match f {
            FollowUp::ElementRelease {
                provider,
                network_id,
                nic,
            } => self.followup_release(*provider, *network_id, nic).await,
            FollowUp::HostDestroy { host_id, instance_name } => {
                self.followup_host_destroy(*host_id, instance_name).await
            }
            FollowUp::DiskDelete { host_id, file } => self.followup_disk_delete(*host_id, file).await,
            FollowUp::SnapshotDelete { host_id, file } => self.followup_snapshot_delete(*host_id, file).await,
            // Nothing to do when the network is gone or has no running router.
            FollowUp::RouterProgram { network_id } => {
                self.router_program(*network_id).await.map(|()| Outcome::Done(None))
            }
        }
    }

    async fn followup_release(&self, provider: Provider, network_id: i64, nic: &NicCtx) -> Result<Outcome, Error> {
        let mut c = self.db.conn().await?;
        // The network may be gone: elements must clean up regardless (absence is normal).
        let Some(n) = net_db::get_including_removed(&mut *c, network_id).await? else {
            return Ok(Outcome::Done(Some(format!("network {network_id} no longer exists"))));
        };
        let ctx = self.network_ctx(&mut c, &n).await?;
        drop(c);
        match self.elements().get(provider) {
            Some(el) => el.release(&ctx, nic).await.map(|()| Outcome::Done(None)),
            None => Ok(Outcome::Done(Some(format!("no {} element", provider.as_str())))),
        }
    }

    async fn followup_host_destroy(&self, host_id: i64, name: &str) -> Result<Outcome, Error> {
        let Some(h) = ferrostack_db::host::get(self.db.read(), host_id).await? else {
            return Ok(Outcome::Done(Some(format!(
                "host {host_id} was removed; nothing left to clean"
            ))));
        };
        let agent = match self.agents.get(host_id) {
            Some(a) if h.status.as_str() == "Up" => a,
            Some(_) | None => {
                return Ok(Outcome::WaitHost(format!(
                    "Waiting for host {} ({}) to connect to remove {name}",
                    h.name,
                    h.status.as_str()
                )))
            }
        };
        agent
            .destroy_vm(name)
            .await
            .map(|()| Outcome::Done(None))
            .map_err(|e| agent_err(&format!("Removing {name} from host {}", h.name), e))
    }

    /// The agent of the host whose pool holds a file to delete, or the outcome instead: done
    /// when the host was removed (its pool's files went with it), waiting while it is not Up.
    async fn pool_file_agent(
        &self,
        host_id: i64,
        what: &str,
    ) -> Result<Result<(String, std::sync::Arc<dyn ferrostack_agent_api::Agent>), Outcome>, Error> {
        let Some(h) = ferrostack_db::host::get(self.db.read(), host_id).await? else {
            return Ok(Err(Outcome::Done(Some(format!(
                "host {host_id} was removed; its pool's files went with it"
            )))));
        };
        match self.agents.get(host_id) {
            Some(a) if h.status.as_str() == "Up" => Ok(Ok((h.name, a))),
            Some(_) | None => Ok(Err(Outcome::WaitHost(format!(
                "Waiting for host {} ({}) to connect to delete {what}",
                h.name,
                h.status.as_str()
            )))),
        }
    }

    async fn followup_disk_delete(&self, host_id: i64, file: &DiskFile) -> Result<Outcome, Error> {
        let what = format!("volume file {}", file.volume);
        let (host, agent) = match self.pool_file_agent(host_id, &what).await? {
            Ok(a) => a,
            Err(outcome) => return Ok(outcome),
        };
        agent
            .delete_disk(file)
            .await
            .map(|()| Outcome::Done(None))
            .map_err(|e| agent_err(&format!("Deleting {what} on host {host}"), e))
    }

    async fn followup_snapshot_delete(&self, host_id: i64, file: &SnapshotFile) -> Result<Outcome, Error> {
        let what = format!("the file of snapshot {}", file.snapshot);
        let (host, agent) = match self.pool_file_agent(host_id, &what).await? {
            Ok(a) => a,
            Err(outcome) => return Ok(outcome),
        };
        agent
            .delete_snapshot(file)
            .await
            .map(|()| Outcome::Done(None))
            .map_err(|e| agent_err(&format!("Deleting {what} on host {host}"), e))
    }

    /// A host connected: the follow-ups waiting for it are due at once.
    pub async fn followup_host_connected(&self, host_id: i64) -> Result<(), Error> {
        fu_db::host_due(self.db.write(), host_id, now_ms()).await?;
        Ok(())
    }

    /// A host is being deleted (in the caller's transaction): its host-side follow-ups have
    /// nothing left to clean.
    pub async fn followup_host_removed(&self, c: &mut Conn, host_id: i64) -> Result<(), Error> {
        fu_db::host_resolve(c, host_id, now_ms(), "the host was deleted; nothing left to clean").await?;
        Ok(())
    }

    /// `listFollowUps` (root admins).
    pub async fn followup_list(
        &self,
        caller: &Caller,
        f: &FollowupFilter,
        page: Page,
    ) -> Result<(i64, Vec<Followup>), Error> {
        require_root(caller)?;
        let mut c = self.db.conn().await?;
        fu_db::list(&mut c, f, page).await
    }

    /// `retryFollowUp` (root admins): due now, with its attempt bound reset.
    pub async fn followup_retry(&self, caller: &Caller, id: i64) -> Result<Followup, Error> {
        require_root(caller)?;
        let Some(f) = fu_db::get(self.db.read(), id).await? else {
            return Err(Error::unknown_entity("id", id));
        };
        if !fu_db::retry_now(self.db.write(), id, now_ms()).await? {
            return Err(Error::invalid(format!(
                "Follow-up {id} ({} for {}) is already done",
                f.kind, f.target
            )));
        }
        fu_db::get(self.db.read(), id)
            .await?
            .ok_or_else(|| Error::unknown_entity("id", id))
    }
}

fn require_root(caller: &Caller) -> Result<(), Error> {
    if caller.is_root_admin() {
        Ok(())
    } else {
        Err(Error::invalid("Follow-ups are visible to root administrators only"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_of_earlier_releases_parse_and_round_trip() {
        let f = FollowUp::from_row("host.destroy", r#"{"host_id": 3, "name": "i-2-10-VM"}"#).unwrap();
        assert_eq!(
            f,
            FollowUp::HostDestroy {
                host_id: 3,
                instance_name: "i-2-10-VM".into()
            }
        );
        let (kind, payload) = f.to_row().unwrap();
        assert_eq!(FollowUp::from_row(kind, &payload).unwrap(), f);
        assert!(FollowUp::from_row("host.destroy", r#"{"name": "x"}"#).is_err());
        assert!(FollowUp::from_row("host.destroy", "not json").is_err());
        assert!(FollowUp::from_row("router.sync", "{}").is_err());
        let p = FollowUp::from_row("router.program", r#"{"network_id": 4}"#).unwrap();
        assert_eq!(p, FollowUp::RouterProgram { network_id: 4 });
        assert_eq!((p.target(), p.host_id()), ("4".to_string(), None));
        let d = FollowUp::from_row(
            "snapshot.delete",
            r#"{"host_id": 2, "file": {"snapshot": "s1", "pool": {"uuid": "p1", "path": "/pool"}}}"#,
        )
        .unwrap();
        assert_eq!(
            (d.kind(), d.target(), d.host_id()),
            ("snapshot.delete", "p1:s1".to_string(), Some(2))
        );
        let (kind, payload) = d.to_row().unwrap();
        assert_eq!(FollowUp::from_row(kind, &payload).unwrap(), d);
    }

    #[test]
    fn backoff_doubles_to_the_cap() {
        assert_eq!(backoff_ms(0), 1000);
        assert_eq!(backoff_ms(3), 8000);
        assert_eq!(backoff_ms(40), BACKOFF_CAP_MS);
    }
}
