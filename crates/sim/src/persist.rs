//! What a simulated host keeps across management-server restarts, and where.
//!
//! A real hypervisor host does not lose its running VMs, its routers' programmed
//! configuration or its config-drive files when the management server restarts (gracefully
//! or by `kill -9`). The simulator runs inside the management server, so it keeps that state
//! on disk: one small JSON file per host under `<dir>/hosts/`, written synchronously with the
//! change (serialised under the state lock, written after it is released), atomically (a
//! temporary file renamed over the old one), and only for the host that changed.
//!
//! Persisted per host: its location (from the latest `open`, saved with the host's next
//! change), the generation of its power
//! reports, its VM table (spec, power state) and the router configurations and config drives
//! of the VMs on it. Not persisted, by design: host outages ([`crate::Simulator::set_host_up`]),
//! mock rules and `program_router` counts — they are test controls and start afresh with the
//! process. Files are not fsync'ed: the state survives the process being killed, not the
//! machine losing power.
//!
//! Loading tolerates a missing directory (no hosts yet) and unreadable or corrupt files: such
//! a file is logged, renamed aside to `<name>.corrupt` for inspection, and its host starts
//! empty.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use ferrostack_agent_api::{HostLocation, PowerState, RouterConfig, VmSpec};
use serde::{Deserialize, Serialize};

use crate::url;

/// The version of the host file format.
pub(crate) const FORMAT: u32 = 1;

/// One host's file, as written.
#[derive(Debug, Serialize)]
pub(crate) struct HostFileRef<'a> {
    pub version: u32,
    pub key: &'a str,
    pub location: Option<&'a HostLocation>,
    pub generation: u64,
    pub vms: BTreeMap<&'a str, VmFileRef<'a>>,
    pub routers: Vec<RouterFileRef<'a>>,
    /// VM name → config drive file name (under `<dir>/configdrive/`).
    pub drives: BTreeMap<&'a str, &'a str>,
}

#[derive(Debug, Serialize)]
pub(crate) struct VmFileRef<'a> {
    pub spec: &'a VmSpec,
    pub power: PowerState,
    pub placed: u64,
}

#[derive(Debug, Serialize)]
pub(crate) struct RouterFileRef<'a> {
    pub router: &'a str,
    pub config: &'a RouterConfig,
}

/// One host's file, as read.
#[derive(Debug, Deserialize)]
pub(crate) struct HostFile {
    pub version: u32,
    pub key: String,
    pub location: Option<HostLocation>,
    pub generation: u64,
    pub vms: BTreeMap<String, VmFile>,
    pub routers: Vec<RouterFile>,
    pub drives: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct VmFile {
    pub spec: VmSpec,
    pub power: PowerState,
    /// When the VM was placed on this host, in the simulator's placement order: if a
    /// crash between two writes left a VM on two hosts, the later placement wins.
    pub placed: u64,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RouterFile {
    pub router: String,
    pub config: RouterConfig,
}

/// A host's state serialised under the lock, to be written after it is released. `seq`
/// orders the snapshots of one host, so a write never replaces a newer one.
pub(crate) struct Snapshot {
    pub key: String,
    pub seq: u64,
    pub bytes: Vec<u8>,
}

impl HostFileRef<'_> {
    pub fn snapshot(&self, seq: u64) -> Snapshot {
        Snapshot {
            key: self.key.to_owned(),
            seq,
            // Serialising plain data into a Vec cannot fail.
            bytes: serde_json::to_vec(self).unwrap_or_default(),
        }
    }
}

/// The host files' directory and the per-host write order.
pub(crate) struct Store {
    dir: PathBuf,
    created: AtomicBool,
    /// Host key → the `seq` of the snapshot last written. Writes of one host hold its
    /// mutex; different hosts write in parallel.
    written: Mutex<HashMap<String, Arc<Mutex<u64>>>>,
}

/// What loading found.
#[derive(Debug, Default)]
pub(crate) struct Loaded {
    pub hosts: Vec<HostFile>,
    /// Files that could not be read or parsed (renamed aside).
    pub corrupt: usize,
}

impl Store {
    /// The store for a simulator whose data directory is `sim_dir`.
    pub fn new(sim_dir: &Path) -> Store {
        Store {
            dir: sim_dir.join("hosts"),
            created: AtomicBool::new(false),
            written: Mutex::new(HashMap::new()),
        }
    }

    /// Where a host's file lives: its key, minus the `http://sim` prefix, with every byte
    /// outside `[A-Za-z0-9.-]` written as `_XX`, so distinct keys get distinct names; very
    /// long keys are shortened and get a hash of the full key.
    pub fn path_of(&self, key: &str) -> PathBuf {
        let path = key.strip_prefix("http://sim").unwrap_or(key);
        let mut name = String::from("h");
        for b in path.bytes() {
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'.' {
                name.push(char::from(b));
            } else {
                name.push_str(&format!("_{b:02X}"));
            }
        }
        if name.len() > 160 {
            name.truncate(120);
            name.push_str(&format!("-{:016x}", url::fnv1a(key.as_bytes())));
        }
        self.dir.join(format!("{name}.json"))
    }

    /// Write each snapshot unless a newer one of the same host is already on disk. Every
    /// snapshot is attempted; the first error is returned.
    pub fn write(&self, snapshots: Vec<Snapshot>) -> Result<(), String> {
        let mut first_err = None;
        for s in snapshots {
            if let Err(e) = self.write_one(&s) {
                tracing::error!(host = %s.key, error = %e, "simulated host state not saved");
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    fn write_one(&self, s: &Snapshot) -> Result<(), String> {
        let slot = {
            let mut written = self.written.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(written.entry(s.key.clone()).or_default())
        };
        let mut last = slot.lock().unwrap_or_else(PoisonError::into_inner);
        if *last >= s.seq {
            return Ok(()); // a newer snapshot (which includes this change) is on disk
        }
        if !self.created.load(Ordering::Relaxed) {
            std::fs::create_dir_all(&self.dir).map_err(|e| {
                format!(
                    "could not create the simulator's host state directory {}: {e}",
                    self.dir.display()
                )
            })?;
            self.created.store(true, Ordering::Relaxed);
        }
        let path = self.path_of(&s.key);
        let mut tmp = path.clone().into_os_string();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        std::fs::write(&tmp, &s.bytes)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| {
                format!(
                    "could not save the state of simulated host {} to {}: {e}; check the data directory is writable",
                    s.key,
                    path.display()
                )
            })?;
        *last = s.seq;
        Ok(())
    }

    /// Read every host file. A missing directory is no hosts; a file that cannot be read or
    /// parsed is logged and renamed aside.
    pub fn load(&self) -> Loaded {
        let mut loaded = Loaded::default();
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return loaded,
            Err(e) => {
                tracing::error!(dir = %self.dir.display(), error = %e,
                    "cannot read the simulator's host state; every simulated host starts empty");
                return loaded;
            }
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().and_then(|x| x.to_str()) != Some("json") {
                continue; // temporary files of an interrupted write, files set aside
            }
            match read_host_file(&path) {
                Ok(file) => loaded.hosts.push(file),
                Err(e) => {
                    loaded.corrupt += 1;
                    let mut aside = path.clone().into_os_string();
                    aside.push(".corrupt");
                    let moved = std::fs::rename(&path, &aside).is_ok();
                    tracing::warn!(file = %path.display(), error = %e, set_aside = moved,
                        "unreadable simulated host state; that host starts empty");
                }
            }
        }
        loaded
    }
}

fn read_host_file(path: &Path) -> Result<HostFile, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let file: HostFile = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
    if file.version != FORMAT {
        return Err(format!(
            "format version {} (this simulator reads {FORMAT})",
            file.version
        ));
    }
    match url::host_key(&file.key) {
        Ok(k) if k == file.key => Ok(file),
        Ok(_) | Err(_) => Err(format!("'{}' is not a canonical simulator host key", file.key)),
    }
}
