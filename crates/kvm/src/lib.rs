//! The libvirt backend of `ferrostack agent`: the [`Agent`] contract on a KVM host.
//!
//! * VMs are **transient** libvirt domains named by their instance name (`i-2-7-VM`,
//!   `r-4-VM`): a stopped, crashed or destroyed VM leaves no domain (and libvirt removes its
//!   taps). The domain type is `kvm` on real hosts, `qemu` (TCG) where there is no hardware
//!   virtualization.
//! * The **root disk** is a qcow2 overlay `<pool>/<volume>` on the template cached at
//!   `<pool>/templates/<template uuid>.<qcow2|raw>`. The host downloads a template itself at
//!   first use (direct download, or any template whose URL it can reach), verifying the
//!   checksum when one is registered, once per pool even when several VMs start at once. The
//!   overlay lives from the VM's first start until `destroy_vm`; a stopped VM keeps its disk.
//! * **NICs** join a Linux bridge per guest VLAN (`brvlan<N>`, with `<guest-nic>.<N>` enslaved
//!   when a guest NIC is configured; untagged: `cloudbr0`); system VMs' control NICs join the
//!   host-only bridge `cloud0`. Bridges are made when first needed, in the configured network
//!   namespace (the one libvirtd runs in).
//! * A VM **deployed from an ISO** has a blank qcow2 root disk of its size instead of an
//!   overlay. The **ISO** in a VM's CD-ROM drive (`hdd`) is fetched like a template and cached
//!   at `<pool>/isos/<iso uuid>.iso`; a bootable one is the first boot device, the root disk
//!   the second.
//! * The **config drive** is `DATA_DIR/configdrive/<file>` attached as an IDE cdrom; a new one
//!   put while the VM runs is swapped in live.
//! * The **serial console** of each VM is logged to `DATA_DIR/console/<instance>.log`
//!   (truncated at each start, kept after destroy so an operator can read what the guest saw).
//! * **Snapshots** of a volume are standalone qcow2 copies (backing chain flattened) at
//!   `<pool>/snapshots/<snapshot uuid>.qcow2`; a running guest is paused for the copy. A revert
//!   copies the snapshot back over the volume's file (its VM stopped). A template made from a
//!   snapshot or a stopped VM's volume is written into the pool's template cache
//!   (`<pool>/templates/<template uuid>.qcow2`), where a start finds it without a download.
//! * **Routers**: `program_router` keeps the network's configuration at
//!   `DATA_DIR/routers/<router>.json`. Serving it (DHCP, DNS, metadata) from the router is the
//!   virtual-router data-plane work; until then the router is the system VM booted from its
//!   template, listed and destroyable like any VM.
//! * **Power reports** are a scan of the running domains; the generation starts at the agent's
//!   start time in milliseconds and grows by one whenever the set changes, so it only ever
//!   increases across agent restarts. The management server pings every `ping.interval` and
//!   also keeps a `watch_power` long poll open: libvirt's lifecycle events (a guest that
//!   powers itself off, crashes or is destroyed behind our back) wake it, it rescans and
//!   answers at once, so the change is applied within a second rather than a ping interval.
//!   A rescan every [`WATCH_RESCAN`] covers events lost while libvirtd restarts.
//!
//! Nothing here is state the management server cannot rebuild: `DATA_DIR/vms/<name>.json`
//! records which files a VM's start created, so `destroy_vm` removes exactly those.

mod disk;
mod events;
mod net;
mod snapshots;
mod xml;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use ferrostack_agent_api::{
    Agent, AgentError, ConfigDriveImage, DataDisk, DiskFile, HostInfo, ImageInfo, PowerReport, PowerState,
    RouterConfig, SnapshotFile, TemplateSource, VmSpec,
};
use serde::{Deserialize, Serialize};
use virt::connect::Connect;
use virt::domain::Domain;

/// The libvirt domain type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DomainType {
    Kvm,
    Qemu,
}

impl DomainType {
    fn as_str(self) -> &'static str {
        match self {
            DomainType::Kvm => "kvm",
            DomainType::Qemu => "qemu",
        }
    }
}

#[derive(Debug, Clone)]
pub struct KvmConfig {
    pub libvirt_uri: String,
    pub data_dir: PathBuf,
    pub domain_type: DomainType,
    /// Network namespace for bridges and VLAN devices (where libvirtd runs); `None`: ours.
    pub netns: Option<String>,
    /// Device guest VLANs are trunked on.
    pub guest_nic: Option<String>,
    pub private_ip: Option<String>,
    /// How long a graceful stop waits for the guest to power off before it is forced.
    pub stop_timeout: Duration,
}

/// What a VM's start created on this host, so destroy removes exactly that.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct VmRecord {
    volumes: Vec<PathBuf>,
    config_drive: Option<PathBuf>,
}

/// How often a waiting `watch_power` rescans without an event.
pub const WATCH_RESCAN: Duration = Duration::from_secs(10);

pub struct LibvirtAgent {
    cfg: KvmConfig,
    power: Mutex<(u64, BTreeMap<String, PowerState>)>,
    /// Woken by libvirt lifecycle events.
    changes: Arc<tokio::sync::Notify>,
    templates: disk::TemplateCache,
    /// One operation per VM at a time.
    vm_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

fn failed(what: &str, e: impl std::fmt::Display) -> AgentError {
    AgentError::Failed(format!("{what}: {e}"))
}

fn io(what: &str, path: &Path, e: std::io::Error) -> AgentError {
    AgentError::Failed(format!("{what} {}: {e}", path.display()))
}

/// Instance names the management server gives VMs: `i-<account>-<id>-<suffix>`,
/// `r-<id>-<suffix>`, `s-…`, `v-…`. Other domains on the host are not ours to report.
pub fn is_instance_name(name: &str) -> bool {
    let mut parts = name.split('-');
    let kind = parts.next().unwrap_or_default();
    let rest: Vec<&str> = parts.collect();
    matches!(kind, "i" | "r" | "s" | "v")
        && (2..=3).contains(&rest.len())
        && rest[..rest.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        && rest
            .last()
            .is_some_and(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric()))
}

impl LibvirtAgent {
    /// Check the libvirt connection and prepare the data directory.
    pub async fn open(cfg: KvmConfig) -> Result<LibvirtAgent, AgentError> {
        // libvirt prints every error to stderr by default; ours come back as values (and a
        // missing domain is an ordinary answer).
        virt::error::clear_error_callback();
        // Before any connection: libvirt's event loop serves the connections opened after it.
        events::register_event_loop();
        for d in ["configdrive", "console", "vms", "routers"] {
            let p = cfg.data_dir.join(d);
            std::fs::create_dir_all(&p).map_err(|e| io("cannot create", &p, e))?;
        }
        let uri = cfg.libvirt_uri.clone();
        blocking(move || {
            Connect::open(Some(&uri))
                .map(drop)
                .map_err(|e| unreachable_libvirt(&uri, e))
        })
        .await?;
        let start = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(1);
        let changes = events::watch(&cfg.libvirt_uri);
        Ok(LibvirtAgent {
            cfg,
            power: Mutex::new((start, BTreeMap::new())),
            changes,
            templates: disk::TemplateCache::default(),
            vm_locks: Mutex::new(HashMap::new()),
        })
    }

    fn lock_vm(&self, name: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut m = self.vm_locks.lock().unwrap_or_else(|p| p.into_inner());
        m.entry(name.to_string()).or_default().clone()
    }

    fn record_path(&self, name: &str) -> PathBuf {
        self.cfg.data_dir.join("vms").join(format!("{name}.json"))
    }

    fn read_record(&self, name: &str) -> VmRecord {
        std::fs::read(self.record_path(name))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    fn write_record(&self, name: &str, r: &VmRecord) -> Result<(), AgentError> {
        let p = self.record_path(name);
        let data = serde_json::to_vec_pretty(r).map_err(|e| failed("encode VM record", e))?;
        write_atomic(&p, &data)
    }

    fn drive_path(&self, file_name: &str) -> PathBuf {
        let file = Path::new(file_name)
            .file_name()
            .map(|f| f.to_string_lossy().to_string())
            .unwrap_or_else(|| file_name.to_string());
        self.cfg.data_dir.join("configdrive").join(file)
    }

    fn console_path(&self, name: &str) -> PathBuf {
        self.cfg.data_dir.join("console").join(format!("{name}.log"))
    }

    /// Run `f` with a fresh libvirt connection on a blocking thread.
    async fn with_conn<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connect) -> Result<T, AgentError> + Send + 'static,
    ) -> Result<T, AgentError> {
        let uri = self.cfg.libvirt_uri.clone();
        blocking(move || {
            let conn = Connect::open(Some(&uri)).map_err(|e| unreachable_libvirt(&uri, e))?;
            f(&conn)
        })
        .await
    }

    /// The running domain of an instance, if any.
    async fn active(&self, name: &str) -> Result<bool, AgentError> {
        let name = name.to_string();
        self.with_conn(move |c| Ok(lookup(c, &name)?.is_some_and(|d| d.is_active().unwrap_or(false))))
            .await
    }

    /// The running instances, with a generation that grows whenever the set changes.
    async fn scan(&self) -> Result<PowerReport, AgentError> {
        let running = self
            .with_conn(|c| {
                let doms = c
                    .list_all_domains(virt::sys::VIR_CONNECT_LIST_DOMAINS_ACTIVE)
                    .map_err(|e| failed("list domains", e))?;
                Ok(doms.iter().filter_map(|d| d.name().ok()).collect::<Vec<_>>())
            })
            .await?;
        let vms: BTreeMap<String, PowerState> = running
            .into_iter()
            .filter(|n| is_instance_name(n))
            .map(|n| (n, PowerState::PowerOn))
            .collect();
        let mut p = self.power.lock().unwrap_or_else(|e| e.into_inner());
        if p.1 != vms {
            p.0 += 1;
            p.1 = vms.clone();
        }
        Ok(PowerReport { generation: p.0, vms })
    }

    async fn force_off(&self, name: &str) -> Result<(), AgentError> {
        let name = name.to_string();
        self.with_conn(move |c| {
            if let Some(d) = lookup(c, &name)? {
                if d.is_active().unwrap_or(false) {
                    d.destroy().map_err(|e| failed(&format!("destroy domain {name}"), e))?;
                }
                if d.is_persistent().unwrap_or(false) {
                    let _ = d.undefine();
                }
            }
            Ok(())
        })
        .await
    }
}

fn unreachable_libvirt(uri: &str, e: virt::error::Error) -> AgentError {
    AgentError::Unreachable(format!("libvirt at {uri}: {e}"))
}

fn lookup(c: &Connect, name: &str) -> Result<Option<Domain>, AgentError> {
    match c.lookup_domain_by_name(name) {
        Ok(d) => Ok(Some(d)),
        Err(e) if e.code() == virt::error::ErrorNumberEnum::Known(virt::error::ErrorNumber::NoDomain) => Ok(None),
        Err(e) => Err(failed(&format!("look up domain {name}"), e)),
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, AgentError> + Send + 'static,
) -> Result<T, AgentError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| AgentError::Failed(format!("agent task failed: {e}")))?
}

pub(crate) fn write_atomic(path: &Path, data: &[u8]) -> Result<(), AgentError> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, data).map_err(|e| io("cannot write", &tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| io("cannot rename into", path, e))
}

/// The `<disk>` element of a running domain whose source is `path`, if it has one.
fn disk_xml_of(dom: &Domain, path: &Path) -> Option<String> {
    let desc = dom.xml_desc(0).ok()?;
    let source = format!("file='{}'", path.display());
    let at = desc.find(&source)?;
    let start = desc[..at].rfind("<disk ")?;
    let end = at + desc[at..].find("</disk>")? + "</disk>".len();
    Some(desc[start..end].to_string())
}

fn has_disk(dom: &Domain, path: &Path) -> bool {
    disk_xml_of(dom, path).is_some()
}

fn remove_file(path: &Path) -> Result<(), AgentError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io("cannot remove", path, e)),
    }
}

/// Total bytes of the filesystem holding `dir` (`df`, to keep this crate free of unsafe).
fn filesystem_bytes(dir: &Path) -> u64 {
    std::process::Command::new("df")
        .args(["-B1", "--output=size"])
        .arg(dir)
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.lines().nth(1).and_then(|l| l.trim().parse().ok()))
        .unwrap_or(0)
}

#[async_trait]
impl Agent for LibvirtAgent {
    async fn connect(&self) -> Result<HostInfo, AgentError> {
        let private_ip = self.cfg.private_ip.clone().unwrap_or_else(|| "127.0.0.1".into());
        let local = filesystem_bytes(&self.cfg.data_dir);
        self.with_conn(move |c| {
            let n = c.node_info().map_err(|e| failed("libvirt node info", e))?;
            let hv = c.hyp_version().unwrap_or(0);
            let sockets = n.sockets.max(1) * n.nodes.max(1);
            Ok(HostInfo {
                hypervisor: "KVM".into(),
                hypervisor_version: format!("{}.{}.{}", hv / 1_000_000, (hv / 1000) % 1000, hv % 1000),
                cpu_sockets: sockets,
                cpu_cores: n.cpus.max(1),
                cpu_speed_mhz: u64::from(if n.mhz > 0 { n.mhz } else { 2000 }),
                memory_bytes: n.memory * 1024,
                local_storage_bytes: local,
                private_ip,
                version: env!("CARGO_PKG_VERSION").into(),
            })
        })
        .await
    }

    async fn ping(&self) -> Result<PowerReport, AgentError> {
        self.scan().await
    }

    async fn watch_power(&self, seen: u64, wait_ms: u64) -> Result<u64, AgentError> {
        let deadline = tokio::time::Instant::now() + Duration::from_millis(wait_ms);
        loop {
            // Armed before the scan: an event during the scan still wakes the wait below.
            let changed = self.changes.notified();
            let generation = self.scan().await?.generation;
            let now = tokio::time::Instant::now();
            if generation != seen || now >= deadline {
                return Ok(generation);
            }
            let _ = tokio::time::timeout((deadline - now).min(WATCH_RESCAN), changed).await;
        }
    }

    async fn start_vm(&self, spec: &VmSpec) -> Result<(), AgentError> {
        let lock = self.lock_vm(&spec.name);
        let _g = lock.lock().await;
        if self.active(&spec.name).await? {
            return Ok(());
        }
        let mut record = self.read_record(&spec.name);
        let disk = match &spec.root_disk {
            Some(rd) => {
                let path = self.templates.overlay_for(rd).await?;
                if !record.volumes.contains(&path) {
                    record.volumes.push(path.clone());
                }
                Some(path)
            }
            None => None,
        };
        // Data disks are not the VM's own: destroying the VM leaves them (they are not in
        // the record's volumes).
        let mut data = Vec::new();
        for d in &spec.data_disks {
            let path = disk::data_path(&d.file)?;
            disk::ensure_data_disk(&path, d).await?;
            data.push((path, d.device_id));
        }
        // The ISO in the CD-ROM drive: cached on the root disk's pool (shared, like templates:
        // not in the VM's record, so destroying the VM leaves it).
        let iso = match &spec.iso {
            Some(i) => {
                let pool = spec
                    .root_disk
                    .as_ref()
                    .map(|r| PathBuf::from(&r.pool.path))
                    .unwrap_or_else(|| self.cfg.data_dir.clone());
                Some(self.templates.iso(&pool, &i.image).await?)
            }
            None => None,
        };
        let drive = spec.config_drive.as_deref().map(|f| self.drive_path(f));
        if let Some(d) = &drive {
            record.config_drive = Some(d.clone());
        }
        self.write_record(&spec.name, &record)?;
        let mut bridges = Vec::new();
        for nic in &spec.nics {
            bridges.push(net::ensure_bridge(&self.cfg, nic).await?);
        }
        let console = self.console_path(&spec.name);
        std::fs::write(&console, b"").map_err(|e| io("cannot create", &console, e))?;
        let domain_xml = xml::domain(
            spec,
            self.cfg.domain_type.as_str(),
            disk.as_deref(),
            &data,
            drive.as_deref().filter(|d| d.exists()),
            &bridges,
            &console,
            iso.as_deref(),
        );
        let name = spec.name.clone();
        self.with_conn(move |c| {
            c.create_domain_xml(&domain_xml, virt::sys::VIR_DOMAIN_NONE)
                .map(drop)
                .map_err(|e| failed(&format!("start {name}"), e))
        })
        .await
    }

    async fn stop_vm(&self, name: &str, force: bool) -> Result<(), AgentError> {
        let lock = self.lock_vm(name);
        let _g = lock.lock().await;
        if !force {
            let n = name.to_string();
            let asked = self
                .with_conn(move |c| {
                    Ok(match lookup(c, &n)? {
                        Some(d) if d.is_active().unwrap_or(false) => d.shutdown().is_ok(),
                        Some(_) | None => false,
                    })
                })
                .await?;
            if asked {
                let deadline = tokio::time::Instant::now() + self.cfg.stop_timeout;
                while tokio::time::Instant::now() < deadline && self.active(name).await? {
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
            }
        }
        self.force_off(name).await
    }

    /// A hard reset: the guest restarts at once, keeping its domain, disk and drive.
    async fn reboot_vm(&self, name: &str) -> Result<(), AgentError> {
        let lock = self.lock_vm(name);
        let _g = lock.lock().await;
        let n = name.to_string();
        self.with_conn(move |c| match lookup(c, &n)? {
            Some(d) if d.is_active().unwrap_or(false) => d.reset().map_err(|e| failed(&format!("reset {n}"), e)),
            Some(_) | None => Err(AgentError::Failed(format!("{n} is not running on this host"))),
        })
        .await
    }

    async fn destroy_vm(&self, name: &str) -> Result<(), AgentError> {
        let lock = self.lock_vm(name);
        let _g = lock.lock().await;
        self.force_off(name).await?;
        let record = self.read_record(name);
        for v in &record.volumes {
            remove_file(v)?;
        }
        if let Some(d) = &record.config_drive {
            remove_file(d)?;
        }
        remove_file(&self.cfg.data_dir.join("routers").join(format!("{name}.json")))?;
        remove_file(&self.record_path(name))
    }

    async fn attach_disk(&self, vm_name: &str, d: &DataDisk) -> Result<(), AgentError> {
        let lock = self.lock_vm(vm_name);
        let _g = lock.lock().await;
        let path = disk::data_path(&d.file)?;
        disk::ensure_data_disk(&path, d).await?;
        let (name, device) = (vm_name.to_string(), xml::data_disk(&path, d.device_id));
        self.with_conn(move |c| {
            let Some(dom) = lookup(c, &name)?.filter(|x| x.is_active().unwrap_or(false)) else {
                return Ok(());
            };
            if has_disk(&dom, &path) {
                return Ok(());
            }
            dom.attach_device_flags(&device, virt::sys::VIR_DOMAIN_AFFECT_LIVE)
                .map_err(|e| failed(&format!("attach {} to {name}", path.display()), e))
        })
        .await
    }

    async fn detach_disk(&self, vm_name: &str, file: &DiskFile) -> Result<(), AgentError> {
        let lock = self.lock_vm(vm_name);
        let _g = lock.lock().await;
        let path = disk::data_path(file)?;
        let name = vm_name.to_string();
        self.with_conn(move |c| {
            let Some(dom) = lookup(c, &name)?.filter(|x| x.is_active().unwrap_or(false)) else {
                return Ok(());
            };
            let Some(device) = disk_xml_of(&dom, &path) else {
                return Ok(());
            };
            dom.detach_device_flags(&device, virt::sys::VIR_DOMAIN_AFFECT_LIVE)
                .map_err(|e| failed(&format!("detach {} from {name}", path.display()), e))
        })
        .await
    }

    async fn resize_disk(&self, vm_name: Option<&str>, file: &DiskFile, size_bytes: u64) -> Result<(), AgentError> {
        let path = disk::data_path(file)?;
        if let Some(vm) = vm_name {
            let lock = self.lock_vm(vm);
            let _g = lock.lock().await;
            let (name, p) = (vm.to_string(), path.clone());
            let live = self
                .with_conn(move |c| {
                    let Some(dom) = lookup(c, &name)?.filter(|x| x.is_active().unwrap_or(false)) else {
                        return Ok(false);
                    };
                    if !has_disk(&dom, &p) {
                        return Ok(false);
                    }
                    dom.block_resize(
                        &p.display().to_string(),
                        size_bytes,
                        virt::sys::VIR_DOMAIN_BLOCK_RESIZE_BYTES,
                    )
                    .map_err(|e| failed(&format!("resize {} of {name}", p.display()), e))?;
                    Ok(true)
                })
                .await?;
            if live {
                return Ok(());
            }
        }
        if !path.exists() {
            // Never made (its VM has not started since it was attached): it is made at its
            // new size when it is.
            return Ok(());
        }
        disk::resize_file(&path, size_bytes).await
    }

    async fn delete_disk(&self, file: &DiskFile) -> Result<(), AgentError> {
        remove_file(&disk::data_path(file)?)
    }

    async fn snapshot_disk(
        &self,
        vm_name: Option<&str>,
        file: &DiskFile,
        snapshot: &SnapshotFile,
    ) -> Result<ImageInfo, AgentError> {
        self.take_snapshot(vm_name, file, snapshot).await
    }

    async fn revert_disk(&self, file: &DiskFile, snapshot: &SnapshotFile) -> Result<(), AgentError> {
        self.revert_to_snapshot(file, snapshot).await
    }

    async fn delete_snapshot(&self, snapshot: &SnapshotFile) -> Result<(), AgentError> {
        remove_file(&disk::snapshot_path(snapshot)?)
    }

    async fn template_from(&self, source: &TemplateSource, template: &str) -> Result<ImageInfo, AgentError> {
        self.make_template(source, template).await
    }

    async fn program_router(&self, router: &str, config: &RouterConfig) -> Result<(), AgentError> {
        let p = self.cfg.data_dir.join("routers").join(format!("{router}.json"));
        let data = serde_json::to_vec_pretty(config).map_err(|e| failed("encode router config", e))?;
        write_atomic(&p, &data)
    }

    async fn put_config_drive(&self, image: &ConfigDriveImage) -> Result<(), AgentError> {
        let path = self.drive_path(&image.file_name);
        write_atomic(&path, &image.iso)?;
        let mut record = self.read_record(&image.vm_name);
        record.config_drive = Some(path.clone());
        self.write_record(&image.vm_name, &record)?;
        let name = image.vm_name.clone();
        self.with_conn(move |c| {
            if let Some(d) = lookup(c, &name)? {
                if d.is_active().unwrap_or(false) {
                    // Eject first: the new ISO has the old one's path, and libvirt treats
                    // "insert the same path" as no change (QEMU would keep the old file open).
                    // Forced: the guest has the drive mounted, which locks the tray.
                    let live_forced = virt::sys::VIR_DOMAIN_AFFECT_LIVE | virt::sys::VIR_DOMAIN_DEVICE_MODIFY_FORCE;
                    let _ = d.update_device_flags(&xml::cdrom(None), live_forced);
                    d.update_device_flags(&xml::cdrom(Some(&path)), live_forced)
                        .map_err(|e| failed(&format!("swap the config drive of {name}"), e))?;
                }
            }
            Ok(())
        })
        .await
    }

    async fn delete_config_drive(&self, vm_name: &str) -> Result<(), AgentError> {
        let record = self.read_record(vm_name);
        let name = vm_name.to_string();
        self.with_conn(move |c| {
            if let Some(d) = lookup(c, &name)? {
                if d.is_active().unwrap_or(false) {
                    // Eject; a domain started without a drive has no cdrom to empty.
                    let _ = d.update_device_flags(
                        &xml::cdrom(None),
                        virt::sys::VIR_DOMAIN_AFFECT_LIVE | virt::sys::VIR_DOMAIN_DEVICE_MODIFY_FORCE,
                    );
                }
            }
            Ok(())
        })
        .await?;
        if let Some(p) = &record.config_drive {
            remove_file(p)?;
        }
        remove_file(&self.drive_path(&format!("{vm_name}.iso")))?;
        if record.config_drive.is_some() {
            let r = VmRecord {
                config_drive: None,
                ..record
            };
            self.write_record(vm_name, &r)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::is_instance_name;

    #[test]
    fn instance_names() {
        for ok in ["i-2-7-VM", "r-11-VM", "s-1-VM", "v-3-VM", "i-2-10-abc1"] {
            assert!(is_instance_name(ok), "{ok}");
        }
        for bad in ["vm1", "i-2-7-", "i--7-VM", "x-2-7-VM", "i-a-7-VM", "i-2-7-V M", "r-VM"] {
            assert!(!is_instance_name(bad), "{bad}");
        }
    }
}
