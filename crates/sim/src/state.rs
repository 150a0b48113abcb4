//! The simulator's in-memory state: simulated hosts, their VM tables (the source of truth
//! for power state), router configurations, config drives and mock rules. Everything here
//! is synchronous and runs under one mutex; nothing awaits while holding it.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use ferrostack_agent_api::{AgentError, HostLocation, PowerReport, PowerState, RouterConfig, VmSpec};

use crate::mock::MockTable;
use crate::url;

/// One VM known to a simulated host.
#[derive(Debug, Clone)]
pub(crate) struct VmRecord {
    /// The spec it was last started with.
    pub spec: VmSpec,
    pub power: PowerState,
}

/// One simulated host, identified by its canonical URL key.
#[derive(Debug, Clone)]
pub(crate) struct HostState {
    /// Where the host sits, from the most recent `open`.
    pub location: Option<HostLocation>,
    pub up: bool,
    /// Bumped on every change to `vms`; starts at 1 so the first report is newer than
    /// "nothing seen yet" (0).
    pub generation: u64,
    pub vms: BTreeMap<String, VmRecord>,
}

impl HostState {
    fn new() -> Self {
        HostState {
            location: None,
            up: true,
            generation: 1,
            vms: BTreeMap::new(),
        }
    }
}

/// A config drive stored on a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DriveRecord {
    pub host: String,
    pub path: PathBuf,
}

#[derive(Debug, Default)]
pub(crate) struct State {
    /// Host key (`http://sim/...`) → host.
    pub hosts: BTreeMap<String, HostState>,
    /// VM name → key of the host it lives on (VM names are unique cloud-wide).
    pub vm_hosts: HashMap<String, String>,
    /// (router name, network) → the last configuration programmed.
    pub router_configs: BTreeMap<(String, String), RouterConfig>,
    /// Router name → number of successful `program_router` calls.
    pub router_programs: HashMap<String, u64>,
    /// VM name → its config drive.
    pub drives: HashMap<String, DriveRecord>,
    pub mocks: MockTable,
}

impl State {
    /// The host with this key, created (up, empty) on first use.
    pub fn host_mut(&mut self, key: &str) -> &mut HostState {
        self.hosts.entry(key.to_owned()).or_insert_with(HostState::new)
    }

    /// Resolve a host by URL (created if new) or by the host uuid given when it was opened.
    pub fn resolve_host(&mut self, url_or_uuid: &str) -> Option<String> {
        if let Ok(key) = url::host_key(url_or_uuid) {
            self.host_mut(&key);
            return Some(key);
        }
        self.hosts
            .iter()
            .find(|(_, h)| h.location.as_ref().is_some_and(|l| l.host == url_or_uuid))
            .map(|(k, _)| k.clone())
    }

    /// `Unreachable` while the host is down.
    pub fn ensure_up(&mut self, key: &str) -> Result<(), AgentError> {
        if self.host_mut(key).up {
            Ok(())
        } else {
            Err(AgentError::Unreachable(format!(
                "simulated host {} is down",
                label(self, key)
            )))
        }
    }

    pub fn report(&mut self, key: &str) -> PowerReport {
        let host = self.host_mut(key);
        let vms = host.vms.iter().map(|(name, vm)| (name.clone(), vm.power)).collect();
        PowerReport {
            generation: host.generation,
            vms,
        }
    }

    /// Upsert the VM as running on `key`, moving it off any other host.
    pub fn start_vm(&mut self, key: &str, spec: &VmSpec) {
        if let Some(old) = self.vm_hosts.get(&spec.name).filter(|old| *old != key).cloned() {
            let old_host = self.host_mut(&old);
            if old_host.vms.remove(&spec.name).is_some() {
                old_host.generation += 1;
            }
        }
        self.vm_hosts.insert(spec.name.clone(), key.to_owned());
        let host = self.host_mut(key);
        let previous = host.vms.insert(
            spec.name.clone(),
            VmRecord {
                spec: spec.clone(),
                power: PowerState::PowerOn,
            },
        );
        if previous.is_none_or(|vm| vm.power != PowerState::PowerOn) {
            host.generation += 1;
        }
    }

    /// Power the VM off if it is on this host; unknown VMs are fine.
    pub fn stop_vm(&mut self, key: &str, name: &str) {
        let host = self.host_mut(key);
        if let Some(vm) = host.vms.get_mut(name) {
            if vm.power != PowerState::PowerOff {
                vm.power = PowerState::PowerOff;
                host.generation += 1;
            }
        }
    }

    /// Succeeds only for a VM running on this host.
    pub fn reboot_vm(&mut self, key: &str, name: &str) -> Result<(), AgentError> {
        match self.host_mut(key).vms.get(name).map(|vm| vm.power) {
            Some(PowerState::PowerOn) => Ok(()),
            Some(PowerState::PowerOff) | None => Err(AgentError::Failed(format!(
                "VM {name} is not running on host {}",
                label(self, key)
            ))),
        }
    }

    /// Remove the VM from this host (and forget its router configs); unknown VMs are fine.
    pub fn destroy_vm(&mut self, key: &str, name: &str) {
        let host = self.host_mut(key);
        if host.vms.remove(name).is_some() {
            host.generation += 1;
            self.vm_hosts.remove(name);
            self.router_configs.retain(|(router, _), _| router != name);
        }
    }

    /// Store a router's configuration for one network; the router must run on this host.
    pub fn program_router(&mut self, key: &str, router: &str, config: &RouterConfig) -> Result<(), AgentError> {
        match self.host_mut(key).vms.get(router).map(|vm| vm.power) {
            Some(PowerState::PowerOn) => {
                self.router_configs
                    .insert((router.to_owned(), config.network.clone()), config.clone());
                *self.router_programs.entry(router.to_owned()).or_default() += 1;
                Ok(())
            }
            Some(PowerState::PowerOff) | None => Err(AgentError::Failed(format!(
                "router {router} is not running on host {}",
                label(self, key)
            ))),
        }
    }

    /// Out-of-band power change of a VM wherever it lives; `false` if no host knows it.
    pub fn set_vm_power(&mut self, name: &str, power: PowerState) -> bool {
        let Some(key) = self.vm_hosts.get(name).cloned() else {
            return false;
        };
        let host = self.host_mut(&key);
        match host.vms.get_mut(name) {
            Some(vm) => {
                if vm.power != power {
                    vm.power = power;
                    host.generation += 1;
                }
                true
            }
            None => false,
        }
    }

    /// Power off every VM on the host (a crash); returns how many were running.
    pub fn power_off_all(&mut self, key: &str) -> usize {
        let host = self.host_mut(key);
        let mut changed = 0;
        for vm in host.vms.values_mut() {
            if vm.power == PowerState::PowerOn {
                vm.power = PowerState::PowerOff;
                changed += 1;
            }
        }
        if changed > 0 {
            host.generation += 1;
        }
        changed
    }
}

/// How messages name a host: its uuid and URL when known, else the URL.
fn label(state: &State, key: &str) -> String {
    match state.hosts.get(key).and_then(|h| h.location.as_ref()) {
        Some(loc) => format!("{} ({key})", loc.host),
        None => key.to_owned(),
    }
}
