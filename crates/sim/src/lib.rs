//! `ferrostack-sim`: the built-in simulator hypervisor (`Simulator`), the default backend.
//!
//! It implements the agent contract of `ferrostack-agent-api` in-process, the way
//! CloudStack's simulator plugin does, with no real agents:
//!
//! * **Hosts** are identified by URLs of the form `http://sim/<path>` (e.g.
//!   `http://sim/c1/h1`). Opening the same URL again gives an agent for the same simulated
//!   host. Every host reports the same deterministic capacity (see the constants in this
//!   crate) and a private IP derived from its URL.
//! * **A per-host VM table** is the source of truth for power state. Starting a VM upserts
//!   it as `PowerOn` (moving it off any other host: VM names are unique cloud-wide),
//!   stopping powers it off, destroying removes it. `ping` reports the table with a
//!   generation that increases on every change on that host.
//! * **Routers and config drives**: programmed router configurations are kept per
//!   (router, network) and counted; config-drive ISOs are written to
//!   `<dir>/configdrive/<file name>`. Tests read both back through [`Simulator`].
//! * **Hosts survive restarts** of the management server the simulator runs in, like real
//!   hosts do: each host's VM table (spec, power state), report generation, router
//!   configurations and config-drive records are kept in `<dir>/hosts/`, one small file per
//!   host written atomically with every change, and loaded by [`Simulator::new`]. Host
//!   outages, mock rules and `program_router` counts are in-memory test controls and start
//!   afresh. See the `persist` module for the details.
//! * **Failure and delay injection** like CloudStack's `configureSimulator`: see
//!   [`MockRule`] and [`Simulator::configure`].
//! * **Host outages**: [`Simulator::set_host_up`] makes every call on a host answer
//!   `Unreachable` until it is back; its VMs keep their state (use
//!   [`Simulator::power_off_all`] to simulate a crash, [`Simulator::forget_vm`] for a host
//!   that lost a VM). Outages are not saved: a new simulator starts with every host up.
//!
//! All state sits behind one mutex that is never held across an await (or a file write);
//! there are no background tasks, and nothing depends on timing except injected waits.
//!
//! ```no_run
//! # async fn demo() -> Result<(), ferrostack_agent_api::AgentError> {
//! use std::sync::Arc;
//! use ferrostack_agent_api::{Connector, HostLocation};
//!
//! let sim = ferrostack_sim::Simulator::new("/var/lib/ferrostack/simulator");
//! let connector: Arc<dyn Connector> = sim.clone();
//! let location = HostLocation { zone: "z".into(), pod: "p".into(), cluster: "c".into(), host: "h-uuid".into() };
//! let agent = connector.open("http://sim/c1/h1", &location, None).await?;
//! let info = agent.connect().await?;
//! assert_eq!(info.hypervisor, "Simulator");
//! # Ok(()) }
//! ```

mod agent;
mod mock;
mod persist;
mod state;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_persist;
mod url;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use ferrostack_agent_api::{Agent, AgentError, AgentKey, Connector, HostLocation, PowerState, RouterConfig, VmSpec};

pub use agent::{CORES_PER_SOCKET, CPU_SOCKETS, CPU_SPEED_MHZ, LOCAL_STORAGE_BYTES, MEMORY_BYTES, SIM_VERSION};
pub use mock::{MockId, MockInfo, MockResult, MockRule, COMMANDS};

/// The hypervisor type name the simulator serves.
pub const HYPERVISOR: &str = "Simulator";

/// State shared by the simulator and every agent it opened.
pub(crate) struct Inner {
    /// Where config-drive ISOs (`<dir>/configdrive/`) and host state (`<dir>/hosts/`) are kept.
    pub dir: PathBuf,
    state: Mutex<state::State>,
    store: persist::Store,
}

impl Inner {
    /// Lock the state for reading. A panic elsewhere cannot leave it half-updated in a way
    /// that matters (every update is a few map operations), so a poisoned lock is simply
    /// taken over.
    pub fn lock(&self) -> MutexGuard<'_, state::State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Change the state and save the hosts that changed before returning: the snapshots are
    /// taken under the lock and written after it is released.
    pub fn update<T>(&self, f: impl FnOnce(&mut state::State) -> T) -> Result<T, AgentError> {
        let (out, snapshots) = {
            let mut state = self.lock();
            let out = f(&mut state);
            (out, state.take_snapshots())
        };
        self.store.write(snapshots).map_err(AgentError::Failed)?;
        Ok(out)
    }

    /// [`Inner::update`] for the test controls, which have no error to return: a failed save
    /// is logged (by the store) and the change stays in memory.
    pub fn update_logged<T>(&self, f: impl FnOnce(&mut state::State) -> T) -> T {
        let (out, snapshots) = {
            let mut state = self.lock();
            let out = f(&mut state);
            (out, state.take_snapshots())
        };
        let _ = self.store.write(snapshots);
        out
    }
}

/// The simulator hypervisor: a [`Connector`] for `Simulator` hosts plus the controls tests
/// and the `configureSimulator` API family use.
pub struct Simulator {
    inner: Arc<Inner>,
}

impl Simulator {
    /// The simulator keeping its files under `dir` (created on first use), with the hosts
    /// saved there by an earlier simulator on the same directory. Missing or unreadable host
    /// files are logged and those hosts start empty. Reads every host file: call it from a
    /// blocking context (`spawn_blocking`) when there are many.
    pub fn new(dir: impl Into<PathBuf>) -> Arc<Simulator> {
        let dir = dir.into();
        let store = persist::Store::new(&dir);
        let started = std::time::Instant::now();
        let loaded = store.load();
        let (hosts, corrupt) = (loaded.hosts.len(), loaded.corrupt);
        let state = state::State::from_files(loaded.hosts, &dir);
        if hosts > 0 || corrupt > 0 {
            tracing::info!(hosts, corrupt, vms = state.vm_hosts.len(), ms = started.elapsed().as_millis() as u64,
                dir = %dir.display(), "simulated hosts loaded");
        }
        let inner = Inner {
            dir,
            state: Mutex::new(state),
            store,
        };
        Arc::new(Simulator { inner: Arc::new(inner) })
    }

    /// The directory given to [`Simulator::new`].
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    // ----- failure and delay injection (configureSimulator & co.) -----

    /// Add a mock rule (`configureSimulator`); returns its id.
    pub fn configure(&self, rule: MockRule) -> MockId {
        let id = self.inner.lock().mocks.configure(rule);
        tracing::debug!(mock = id, "simulator mock configured");
        id
    }

    /// A rule by id, including removed ones (`querySimulatorMock`).
    pub fn query(&self, id: MockId) -> Option<MockInfo> {
        self.inner.lock().mocks.query(id)
    }

    /// Remove a rule (`cleanupSimulatorMock`): it stays queryable with `removed` set and
    /// never matches again. `false` if no rule has this id; removing twice is fine.
    pub fn cleanup(&self, id: MockId) -> bool {
        self.inner.lock().mocks.cleanup(id)
    }

    /// Every rule ever configured, removed ones included, oldest first.
    pub fn list(&self) -> Vec<MockInfo> {
        self.inner.lock().mocks.list()
    }

    // ----- hosts and VMs -----

    /// Take a host down (`false`) or bring it back (`true`), by URL or by the host uuid it
    /// was opened with. While down, every agent call on it answers `Unreachable`. A valid
    /// URL always succeeds (the host need not have been opened yet); `false` means no host
    /// matched.
    pub fn set_host_up(&self, url_or_host_uuid: &str, up: bool) -> bool {
        let mut state = self.inner.lock();
        match state.resolve_host(url_or_host_uuid) {
            Some(key) => {
                state.host_mut(&key).up = up;
                tracing::debug!(host = %key, up, "simulated host availability changed");
                true
            }
            None => false,
        }
    }

    /// Whether a host is up, by URL or host uuid; `None` if no host matched.
    pub fn is_host_up(&self, url_or_host_uuid: &str) -> Option<bool> {
        let mut state = self.inner.lock();
        let key = state.resolve_host(url_or_host_uuid)?;
        Some(state.host_mut(&key).up)
    }

    /// Power off every VM on a host (simulates a crash); returns how many were running.
    /// Unknown hosts power off nothing.
    pub fn power_off_all(&self, url_or_host_uuid: &str) -> usize {
        self.inner
            .update_logged(|state| match state.resolve_host(url_or_host_uuid) {
                Some(key) => state.power_off_all(&key),
                None => 0,
            })
    }

    /// Change a VM's power state out of band (as if the guest shut itself down or an
    /// operator started it on the host). `false` if no host knows the VM.
    pub fn set_vm_power(&self, vm_name: &str, power: PowerState) -> bool {
        self.inner.update_logged(|state| state.set_vm_power(vm_name, power))
    }

    /// Remove a VM from whichever host has it, as if the host lost it (rebooted without
    /// restarting it, or the VM was undefined out of band); its router configurations go
    /// with it. `false` if no host knows the VM.
    pub fn forget_vm(&self, vm_name: &str) -> bool {
        self.inner.update_logged(|state| state.forget_vm(vm_name))
    }

    /// A VM's power state on whichever host has it.
    pub fn vm_power(&self, vm_name: &str) -> Option<PowerState> {
        let state = self.inner.lock();
        let key = state.vm_hosts.get(vm_name)?;
        Some(state.hosts.get(key)?.vms.get(vm_name)?.power)
    }

    /// Every VM some simulated host knows (running or not), sorted.
    pub fn vm_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.inner.lock().vm_hosts.keys().cloned().collect();
        v.sort();
        v
    }

    /// The canonical URL (`http://sim/...`) of the host a VM lives on.
    pub fn vm_host(&self, vm_name: &str) -> Option<String> {
        self.inner.lock().vm_hosts.get(vm_name).cloned()
    }

    /// The spec a VM was last started with.
    pub fn vm_spec(&self, vm_name: &str) -> Option<VmSpec> {
        let state = self.inner.lock();
        let key = state.vm_hosts.get(vm_name)?;
        Some(state.hosts.get(key)?.vms.get(vm_name)?.spec.clone())
    }

    // ----- routers and config drives -----

    /// The configuration last programmed into a router for a network (forgotten when the
    /// router is destroyed).
    pub fn router_config(&self, router_name: &str, network: &str) -> Option<RouterConfig> {
        let key = (router_name.to_owned(), network.to_owned());
        self.inner.lock().router_configs.get(&key).cloned()
    }

    /// How many `program_router` calls for this router succeeded (never reset).
    pub fn router_program_count(&self, router_name: &str) -> u64 {
        self.inner.lock().router_programs.get(router_name).copied().unwrap_or(0)
    }

    /// Where a VM's config drive ISO is stored, if one is.
    pub fn config_drive_path(&self, vm_name: &str) -> Option<PathBuf> {
        self.inner.lock().drive(vm_name).map(|d| d.path)
    }

    /// The canonical URL of the host a VM's config drive was stored through.
    pub fn config_drive_host(&self, vm_name: &str) -> Option<String> {
        self.inner.lock().drive(vm_name).map(|d| d.host)
    }
}

#[async_trait]
impl Connector for Simulator {
    fn hypervisor(&self) -> &'static str {
        HYPERVISOR
    }

    /// Validate a `http://sim/...` URL and open an agent for that simulated host; the
    /// location (kept from the latest open) scopes mock rules and lets tests name the host
    /// by uuid.
    async fn open(
        &self,
        url: &str,
        location: &HostLocation,
        _key: Option<&AgentKey>,
    ) -> Result<Arc<dyn Agent>, AgentError> {
        let key = url::host_key(url)?;
        self.inner.lock().set_location(&key, location);
        Ok(Arc::new(agent::SimAgent {
            inner: Arc::clone(&self.inner),
            key,
            location: location.clone(),
        }))
    }
}

impl ferrostack_agent_api::control::SimulatorControl for Simulator {
    fn hypervisor(&self) -> &'static str {
        HYPERVISOR
    }
    fn commands(&self) -> &'static [&'static str] {
        COMMANDS
    }
    fn configure(&self, rule: MockRule) -> MockId {
        Simulator::configure(self, rule)
    }
    fn query(&self, id: MockId) -> Option<MockInfo> {
        Simulator::query(self, id)
    }
    fn cleanup(&self, id: MockId) -> bool {
        Simulator::cleanup(self, id)
    }
    fn set_host_up(&self, url_or_host_uuid: &str, up: bool) -> bool {
        Simulator::set_host_up(self, url_or_host_uuid, up)
    }
    fn power_off_all(&self, url_or_host_uuid: &str) -> usize {
        Simulator::power_off_all(self, url_or_host_uuid)
    }
}
