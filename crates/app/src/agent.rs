//! Connected host agents and their liveness. Hosts are opened through the connector of their
//! hypervisor type, pinged on `ping.interval`, and marked Down (with an alert) when they have
//! not answered for `ping.interval × ping.timeout` seconds; a Down host that answers again is
//! Up. Liveness is kept in memory; the database sees only status changes and a coarse
//! `last_pinged`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use ferrostack_agent_api::{
    Agent, AgentError, AgentKey, ConfigDriveImage, Connector, DataDisk, DiskFile, HostInfo, HostLocation, ImageInfo,
    PowerReport, RouterConfig, SnapshotFile, TemplateSource, VmSpec,
};
use ferrostack_types::Error;

/// What the monitor knows about one host.
#[derive(Debug, Clone, Copy)]
pub struct Health {
    pub last_ok: i64,
    pub last_attempt: i64,
    pub up: bool,
    /// The generation of the last power report applied (0 = none yet).
    pub last_generation: u64,
    /// When `last_pinged` was last written to the database for this host.
    pub last_written: i64,
}

struct Live {
    agent: Arc<dyn Agent>,
    needs_root_disk: bool,
    /// Its connector's agents answer `watch_power` (see [`crate::power_watch`]).
    reports_power_changes: bool,
}

pub struct Agents {
    connectors: Vec<Arc<dyn Connector>>,
    live: RwLock<HashMap<i64, Live>>,
    health: Mutex<HashMap<i64, Health>>,
}

impl Agents {
    pub fn new(connectors: Vec<Arc<dyn Connector>>) -> Agents {
        Agents {
            connectors,
            live: RwLock::new(HashMap::new()),
            health: Mutex::new(HashMap::new()),
        }
    }

    /// The canonical name of a supported hypervisor (`simulator` → `Simulator`).
    pub fn hypervisor(&self, name: &str) -> Result<&'static str, Error> {
        self.connectors
            .iter()
            .map(|c| c.hypervisor())
            .find(|h| h.eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                Error::invalid(format!(
                    "Hypervisor {name} is not supported by this management server; supported: {}",
                    self.supported().join(", ")
                ))
            })
    }

    pub fn supported(&self) -> Vec<&'static str> {
        self.connectors.iter().map(|c| c.hypervisor()).collect()
    }

    fn connector(&self, hypervisor: &str) -> Result<&Arc<dyn Connector>, Error> {
        let h = self.hypervisor(hypervisor)?;
        self.connectors
            .iter()
            .find(|c| c.hypervisor() == h)
            .ok_or_else(|| Error::internal("connector vanished"))
    }

    /// Whether hosts of this hypervisor authenticate with `username`/`password`.
    pub fn needs_credentials(&self, hypervisor: &str) -> Result<bool, Error> {
        Ok(self.connector(hypervisor)?.needs_credentials())
    }

    /// Open an agent for a host URL (validates the URL).
    pub async fn open(
        &self,
        hypervisor: &str,
        url: &str,
        location: &HostLocation,
        key: Option<&AgentKey>,
    ) -> Result<Arc<dyn Agent>, Error> {
        let c = self.connector(hypervisor)?;
        let agent = c
            .open(url, location, key)
            .await
            .map_err(|e| Error::invalid(format!("Cannot use host URL {url}: {e}")))?;
        Ok(Arc::new(Disciplined(agent)))
    }

    /// Remember a connected host's agent. `hypervisor` names its connector (unknown names
    /// count as needing nothing extra).
    pub fn insert(&self, host_id: i64, hypervisor: &str, agent: Arc<dyn Agent>, now: i64, up: bool) {
        let (needs_root_disk, reports_power_changes) = self
            .connector(hypervisor)
            .map(|c| (c.needs_root_disk(), c.reports_power_changes()))
            .unwrap_or((false, false));
        write(&self.live).insert(
            host_id,
            Live {
                agent,
                needs_root_disk,
                reports_power_changes,
            },
        );
        lock(&self.health).insert(
            host_id,
            Health {
                last_ok: now,
                last_attempt: now,
                up,
                last_generation: 0,
                last_written: 0,
            },
        );
    }

    pub fn remove(&self, host_id: i64) {
        write(&self.live).remove(&host_id);
        lock(&self.health).remove(&host_id);
    }

    pub fn get(&self, host_id: i64) -> Option<Arc<dyn Agent>> {
        read(&self.live).get(&host_id).map(|l| l.agent.clone())
    }

    /// The connected hosts whose agents can announce power changes, with their agents.
    pub fn watchable(&self) -> Vec<(i64, Arc<dyn Agent>)> {
        read(&self.live)
            .iter()
            .filter(|(_, l)| l.reports_power_changes)
            .map(|(id, l)| (*id, l.agent.clone()))
            .collect()
    }

    /// Whether VMs started on this host need a root disk in their spec.
    pub fn needs_root_disk(&self, host_id: i64) -> bool {
        read(&self.live).get(&host_id).is_some_and(|l| l.needs_root_disk)
    }

    /// Hosts due for a ping at `now`.
    pub fn due(&self, now: i64, interval_ms: i64) -> Vec<(i64, Arc<dyn Agent>)> {
        let live = read(&self.live);
        let mut health = lock(&self.health);
        let mut out = Vec::new();
        for (id, l) in live.iter() {
            let h = health.entry(*id).or_insert(Health {
                last_ok: now,
                last_attempt: 0,
                up: true,
                last_generation: 0,
                last_written: 0,
            });
            if now - h.last_attempt >= interval_ms {
                h.last_attempt = now;
                out.push((*id, l.agent.clone()));
            }
        }
        out
    }

    /// Record a ping answer; returns the host's new up/down state if it changed.
    pub fn record(&self, host_id: i64, ok: bool, now: i64, down_after_ms: i64) -> Option<bool> {
        let mut health = lock(&self.health);
        let h = health.get_mut(&host_id)?;
        if ok {
            h.last_ok = now;
            if !h.up {
                h.up = true;
                return Some(true);
            }
        } else if h.up && now - h.last_ok > down_after_ms {
            h.up = false;
            return Some(false);
        }
        None
    }

    /// Of the hosts that just answered, those whose `last_pinged` in the database is more than
    /// a minute old (and remember that it is being written now): at 25k hosts the database
    /// gets one batched write per host per minute, not one per ping.
    pub fn due_for_write(&self, answered: &[i64], now: i64) -> Vec<i64> {
        let mut health = lock(&self.health);
        answered
            .iter()
            .copied()
            .filter(|id| match health.get_mut(id) {
                Some(h) if now - h.last_written >= 60_000 => {
                    h.last_written = now;
                    true
                }
                Some(_) | None => false,
            })
            .collect()
    }

    /// True (and remembered) when a power report's generation differs from the last one
    /// applied for the host: only changes are worth reconciling.
    pub fn report_is_new(&self, host_id: i64, generation: u64) -> bool {
        let mut health = lock(&self.health);
        match health.get_mut(&host_id) {
            Some(h) if h.last_generation != generation => {
                h.last_generation = generation;
                true
            }
            Some(_) | None => false,
        }
    }
}

// Poisoned locks only follow a panic elsewhere; the data (plain maps) stays consistent.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
fn read<T>(m: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    m.read().unwrap_or_else(|p| p.into_inner())
}
fn write<T>(m: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    m.write().unwrap_or_else(|p| p.into_inner())
}

/// An agent whose every call first checks that the calling task holds no database connection
/// (an agent call can take seconds; a held connection would stall everyone behind it).
struct Disciplined(Arc<dyn Agent>);

macro_rules! disciplined {
    ($($name:ident($($arg:ident: $ty:ty),*) -> $out:ty;)*) => {
        #[async_trait::async_trait]
        impl Agent for Disciplined {
            $(async fn $name(&self, $($arg: $ty),*) -> Result<$out, AgentError> {
                ferrostack_db::held::assert_none_held(concat!("agent call ", stringify!($name)));
                self.0.$name($($arg),*).await
            })*
        }
    };
}

disciplined! {
    connect() -> HostInfo;
    ping() -> PowerReport;
    start_vm(spec: &VmSpec) -> ();
    stop_vm(name: &str, force: bool) -> ();
    reboot_vm(name: &str) -> ();
    destroy_vm(name: &str) -> ();
    program_router(router: &str, config: &RouterConfig) -> ();
    put_config_drive(image: &ConfigDriveImage) -> ();
    delete_config_drive(vm_name: &str) -> ();
    watch_power(seen: u64, wait_ms: u64) -> u64;
    attach_disk(vm_name: &str, disk: &DataDisk) -> ();
    detach_disk(vm_name: &str, file: &DiskFile) -> ();
    resize_disk(vm_name: Option<&str>, file: &DiskFile, size_bytes: u64) -> ();
    delete_disk(file: &DiskFile) -> ();
    snapshot_disk(vm_name: Option<&str>, file: &DiskFile, snapshot: &SnapshotFile) -> ImageInfo;
    revert_disk(file: &DiskFile, snapshot: &SnapshotFile) -> ();
    delete_snapshot(snapshot: &SnapshotFile) -> ();
    template_from(source: &TemplateSource, template: &str) -> ImageInfo;
}
