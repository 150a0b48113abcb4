//! The simulator's in-memory state: simulated hosts, their VM tables (the source of truth
//! for power state), router configurations, config drives and mock rules. Everything here
//! is synchronous and runs under one mutex; nothing awaits while holding it.
//!
//! Every change to what a host persists (see [`crate::persist`]) marks the host dirty;
//! [`State::take_snapshots`] serialises the dirty hosts for the caller to write once the lock
//! is released.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use ferrostack_agent_api::{
    AgentError, DataDisk, DiskFile, HostLocation, PowerReport, PowerState, RouterConfig, VmSpec,
};

use crate::mock::MockTable;
use crate::persist::{self, HostFile, HostFileRef, RouterFileRef, Snapshot, VmFileRef};
use crate::url;

/// One VM known to a simulated host.
#[derive(Debug, Clone)]
pub(crate) struct VmRecord {
    /// The spec it was last started with.
    pub spec: VmSpec,
    pub power: PowerState,
    /// Placement order (see [`persist::VmFile::placed`]).
    pub placed: u64,
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
    /// VM name → the config drive stored through this host.
    pub drives: BTreeMap<String, PathBuf>,
    /// Bumped on every snapshot, so an older snapshot never overwrites a newer one.
    pub seq: u64,
}

impl HostState {
    fn new() -> Self {
        HostState {
            location: None,
            up: true,
            generation: 1,
            vms: BTreeMap::new(),
            drives: BTreeMap::new(),
            seq: 0,
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
    /// Router name → number of successful `program_router` calls (not persisted).
    pub router_programs: HashMap<String, u64>,
    /// VM name → key of the host its config drive was stored through.
    pub drive_hosts: HashMap<String, String>,
    pub mocks: MockTable,
    /// The next placement number (see [`VmRecord::placed`]).
    next_placed: u64,
    /// Hosts changed since the last [`State::take_snapshots`].
    dirty: BTreeSet<String>,
}

impl State {
    /// The host with this key, created (up, empty) on first use.
    pub fn host_mut(&mut self, key: &str) -> &mut HostState {
        self.hosts.entry(key.to_owned()).or_insert_with(HostState::new)
    }

    /// Mark a host's persisted state as changed.
    fn touch(&mut self, key: &str) {
        if !self.dirty.contains(key) {
            self.dirty.insert(key.to_owned());
        }
    }

    /// Serialise every host changed since the last call, for writing outside the lock.
    pub fn take_snapshots(&mut self) -> Vec<Snapshot> {
        let dirty = std::mem::take(&mut self.dirty);
        let mut out = Vec::with_capacity(dirty.len());
        for key in dirty {
            let Some(host) = self.hosts.get_mut(&key) else {
                continue;
            };
            host.seq += 1;
            let host = &self.hosts[&key];
            let mut routers = Vec::new();
            for name in host.vms.keys() {
                let from = (name.clone(), String::new());
                for ((router, _), config) in self.router_configs.range(from..) {
                    if router != name {
                        break;
                    }
                    routers.push(RouterFileRef { router, config });
                }
            }
            let file = HostFileRef {
                version: persist::FORMAT,
                key: &key,
                location: host.location.as_ref(),
                generation: host.generation,
                vms: host
                    .vms
                    .iter()
                    .map(|(name, vm)| {
                        let v = VmFileRef {
                            spec: &vm.spec,
                            power: vm.power,
                            placed: vm.placed,
                        };
                        (name.as_str(), v)
                    })
                    .collect(),
                routers,
                drives: host
                    .drives
                    .iter()
                    .filter_map(|(vm, path)| Some((vm.as_str(), path.file_name()?.to_str()?)))
                    .collect(),
            };
            out.push(file.snapshot(host.seq));
        }
        out
    }

    /// The state the host files describe. `dir` is the simulator's directory (config drives
    /// live in `<dir>/configdrive/`). A VM found on more than one host (a crash between the
    /// two writes of a move) stays where it was placed last; router configs of VMs a host does
    /// not have are dropped.
    pub fn from_files(files: Vec<HostFile>, dir: &Path) -> State {
        let mut state = State::default();
        for file in files {
            let key = file.key;
            let mut host = HostState::new();
            host.location = file.location;
            host.generation = file.generation.max(1);
            for (name, vm) in file.vms {
                state.next_placed = state.next_placed.max(vm.placed + 1);
                if let Some(other) = state.vm_hosts.get(&name).cloned() {
                    let there = state.hosts.get(&other).and_then(|h| h.vms.get(&name)).map(|v| v.placed);
                    tracing::warn!(vm = %name, hosts = ?[&other, &key],
                        "simulated VM found on two hosts; keeping the later placement");
                    if there.is_some_and(|p| p >= vm.placed) {
                        state.dirty.insert(key.clone());
                        continue;
                    }
                    if let Some(h) = state.hosts.get_mut(&other) {
                        h.vms.remove(&name);
                    }
                    state.dirty.insert(other);
                }
                state.vm_hosts.insert(name.clone(), key.clone());
                let record = VmRecord {
                    spec: vm.spec,
                    power: vm.power,
                    placed: vm.placed,
                };
                host.vms.insert(name, record);
            }
            for r in file.routers {
                state
                    .router_configs
                    .insert((r.router, r.config.network.clone()), r.config);
            }
            for (vm, file_name) in file.drives {
                if state.drive_hosts.contains_key(&vm) {
                    tracing::warn!(vm = %vm, host = %key, "config drive recorded on two simulated hosts; keeping the first");
                    state.dirty.insert(key.clone());
                    continue;
                }
                state.drive_hosts.insert(vm.clone(), key.clone());
                host.drives.insert(vm, dir.join("configdrive").join(file_name));
            }
            state.hosts.insert(key, host);
        }
        let vm_hosts = &state.vm_hosts;
        state
            .router_configs
            .retain(|(router, _), _| vm_hosts.contains_key(router));
        state
    }

    /// Record where a host sits (from an `open`). Saved with the host's next change, not on
    /// its own: every host is opened again at start-up, and opening 25k new hosts should not
    /// cost 25k file writes.
    pub fn set_location(&mut self, key: &str, location: &HostLocation) {
        let host = self.host_mut(key);
        if host.location.as_ref() != Some(location) {
            host.location = Some(location.clone());
        }
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
                self.touch(&old);
            }
        }
        self.vm_hosts.insert(spec.name.clone(), key.to_owned());
        let placed = self.next_placed;
        let host = self.host_mut(key);
        let placed = match host.vms.get(&spec.name) {
            Some(vm) => vm.placed,
            None => placed,
        };
        let previous = host.vms.insert(
            spec.name.clone(),
            VmRecord {
                spec: spec.clone(),
                power: PowerState::PowerOn,
                placed,
            },
        );
        if previous.is_none_or(|vm| vm.power != PowerState::PowerOn) {
            host.generation += 1;
        }
        self.next_placed = self.next_placed.max(placed + 1);
        self.touch(key);
    }

    /// Power the VM off if it is on this host; unknown VMs are fine.
    pub fn stop_vm(&mut self, key: &str, name: &str) {
        let host = self.host_mut(key);
        let Some(vm) = host.vms.get_mut(name) else {
            return;
        };
        if vm.power != PowerState::PowerOff {
            vm.power = PowerState::PowerOff;
            host.generation += 1;
            self.touch(key);
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

    /// Plug a data disk into the VM if it is on this host (its spec keeps it, as a hypervisor's
    /// domain definition would); a VM elsewhere is fine: the disk is on the pool.
    pub fn attach_disk(&mut self, key: &str, vm: &str, disk: &DataDisk) {
        let Some(rec) = self.host_mut(key).vms.get_mut(vm) else {
            return;
        };
        rec.spec.data_disks.retain(|d| d.file.volume != disk.file.volume);
        rec.spec.data_disks.push(disk.clone());
        rec.spec.data_disks.sort_by_key(|d| d.device_id);
        self.touch(key);
    }

    /// Unplug a data disk from the VM if it is on this host with it.
    pub fn detach_disk(&mut self, key: &str, vm: &str, file: &DiskFile) {
        let Some(rec) = self.host_mut(key).vms.get_mut(vm) else {
            return;
        };
        let before = rec.spec.data_disks.len();
        rec.spec.data_disks.retain(|d| d.file.volume != file.volume);
        if rec.spec.data_disks.len() != before {
            self.touch(key);
        }
    }

    /// The new size of a data disk the VM on this host has.
    pub fn resize_disk(&mut self, key: &str, vm: &str, file: &DiskFile, size_bytes: u64) {
        let Some(rec) = self.host_mut(key).vms.get_mut(vm) else {
            return;
        };
        if let Some(d) = rec.spec.data_disks.iter_mut().find(|d| d.file.volume == file.volume) {
            d.size_bytes = size_bytes;
            self.touch(key);
        }
    }

    /// The size of a data disk (or the sized root disk) the VM on this host has, if known.
    pub fn disk_size(&mut self, key: &str, vm: &str, file: &DiskFile) -> Option<u64> {
        let rec = self.host_mut(key).vms.get(vm)?;
        rec.spec
            .data_disks
            .iter()
            .find(|d| d.file.volume == file.volume)
            .map(|d| d.size_bytes)
            .or_else(|| {
                rec.spec
                    .root_disk
                    .as_ref()
                    .filter(|r| r.volume == file.volume)
                    .and_then(|r| r.size_bytes)
            })
    }

    /// Remove the VM from this host (and forget its router configs); unknown VMs are fine.
    /// `true` if the host had it.
    pub fn destroy_vm(&mut self, key: &str, name: &str) -> bool {
        let host = self.host_mut(key);
        if host.vms.remove(name).is_none() {
            return false;
        }
        host.generation += 1;
        self.vm_hosts.remove(name);
        let from = (name.to_owned(), String::new());
        let networks: Vec<(String, String)> = self
            .router_configs
            .range(from..)
            .take_while(|((router, _), _)| router == name)
            .map(|(k, _)| k.clone())
            .collect();
        for k in networks {
            self.router_configs.remove(&k);
        }
        self.touch(key);
        true
    }

    /// Remove a VM from whichever host has it, as if that host lost it; `false` if no host
    /// knows it.
    pub fn forget_vm(&mut self, name: &str) -> bool {
        match self.vm_hosts.get(name).cloned() {
            Some(key) => self.destroy_vm(&key, name),
            None => false,
        }
    }

    /// Store a router's configuration for one network; the router must run on this host.
    pub fn program_router(&mut self, key: &str, router: &str, config: &RouterConfig) -> Result<(), AgentError> {
        match self.host_mut(key).vms.get(router).map(|vm| vm.power) {
            Some(PowerState::PowerOn) => {
                let k = (router.to_owned(), config.network.clone());
                if self.router_configs.get(&k) != Some(config) {
                    self.router_configs.insert(k, config.clone());
                    self.touch(key);
                }
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
        let Some(vm) = host.vms.get_mut(name) else {
            return false;
        };
        if vm.power != power {
            vm.power = power;
            host.generation += 1;
            self.touch(&key);
        }
        true
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
            self.touch(key);
        }
        changed
    }

    /// The config drive stored for a VM.
    pub fn drive(&self, vm: &str) -> Option<DriveRecord> {
        let host = self.drive_hosts.get(vm)?;
        let path = self.hosts.get(host)?.drives.get(vm)?;
        Some(DriveRecord {
            host: host.clone(),
            path: path.clone(),
        })
    }

    /// Record a VM's config drive as stored through host `key`; returns the record replaced.
    pub fn put_drive(&mut self, key: &str, vm: &str, path: PathBuf) -> Option<DriveRecord> {
        let old = self.drive(vm);
        if let Some(old) = old.as_ref().filter(|old| old.host != key) {
            self.host_mut(&old.host).drives.remove(vm);
            self.touch(&old.host);
        }
        self.drive_hosts.insert(vm.to_owned(), key.to_owned());
        self.host_mut(key).drives.insert(vm.to_owned(), path);
        self.touch(key);
        old
    }

    /// Forget a VM's config drive record if it is still `record`.
    pub fn remove_drive_if(&mut self, vm: &str, record: &DriveRecord) {
        if self.drive(vm).as_ref() == Some(record) {
            self.drive_hosts.remove(vm);
            self.host_mut(&record.host).drives.remove(vm);
            self.touch(&record.host);
        }
    }
}

/// How messages name a host: its uuid and URL when known, else the URL.
fn label(state: &State, key: &str) -> String {
    match state.hosts.get(key).and_then(|h| h.location.as_ref()) {
        Some(loc) => format!("{} ({key})", loc.host),
        None => key.to_owned(),
    }
}
