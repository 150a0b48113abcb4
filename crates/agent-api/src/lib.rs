//! The contract between the management server and a hypervisor host agent. It is
//! transport-independent: the built-in simulator implements it in-process, a real driver
//! implements it over its own transport. The management server only ever talks to hosts
//! through [`Agent`].
//!
//! Every operation is idempotent where a retry is possible (stopping a stopped VM, destroying
//! an unknown VM, deleting a missing config drive all succeed), so a resumed job can repeat
//! the last call safely. Power-state reports carry a generation so that late or repeated
//! reports can be recognised and ignored.

pub mod control;

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// How an agent call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum AgentError {
    /// The host did not answer (down, disconnected, timed out).
    #[error("host unreachable: {0}")]
    Unreachable(String),
    /// The host answered that the operation failed.
    #[error("operation failed on host: {0}")]
    Failed(String),
    /// The host does not support this operation.
    #[error("unsupported by host: {0}")]
    Unsupported(String),
}

/// Where a host sits, so scoped failure injection and reports can name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostLocation {
    pub zone: String,
    pub pod: String,
    pub cluster: String,
    pub host: String,
}

/// What a host reports when it connects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostInfo {
    pub hypervisor: String,
    pub hypervisor_version: String,
    pub cpu_sockets: u32,
    pub cpu_cores: u32,
    /// MHz per core.
    pub cpu_speed_mhz: u64,
    pub memory_bytes: u64,
    /// Host-local storage capacity (edge zones keep config drives and root disks here).
    pub local_storage_bytes: u64,
    pub private_ip: String,
    pub version: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PowerState {
    PowerOn,
    PowerOff,
}

/// The VMs a host knows and their power state, with a monotonically increasing generation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PowerReport {
    pub generation: u64,
    /// VM instance name (`i-2-10-VM`, `r-11-VM`) → power state.
    pub vms: BTreeMap<String, PowerState>,
}

/// What a NIC carries, which decides the host bridge it joins.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum NicTraffic {
    /// A guest network (bridge by the broadcast URI's VLAN).
    #[default]
    Guest,
    /// A system VM's link-local control NIC (the host-only control bridge).
    Control,
    /// A router's public NIC.
    Public,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NicSpec {
    #[serde(default)]
    pub traffic: NicTraffic,
    pub mac: String,
    pub ip: Option<String>,
    pub netmask: Option<String>,
    pub gateway: Option<String>,
    /// Broadcast URI such as `vlan://100` or `untagged`.
    pub broadcast_uri: Option<String>,
    pub is_default: bool,
    pub device_id: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum VmKind {
    User,
    DomainRouter,
    ConsoleProxy,
    SecondaryStorageVm,
}

/// The image format of a template or volume.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DiskFormat {
    Qcow2,
    Raw,
}

/// The template a root disk is made from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateSpec {
    pub uuid: String,
    /// Where the image can be fetched (`http://` or `https://`).
    pub url: String,
    pub format: DiskFormat,
    /// CloudStack's checksum form: `{SHA-256}hex`, `{SHA-512}hex`, `{MD5}hex`, or bare hex
    /// (MD5 by length 32, SHA-256 by 64). `None` skips the check.
    pub checksum: Option<String>,
    /// Registered with `directdownload=true`: the host fetches it itself at first use (edge
    /// zones have no image store), caching it per pool.
    pub direct_download: bool,
}

/// A primary storage pool as the host sees it: a directory (host-local storage, or the
/// mount point of a shared pool).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolSpec {
    pub uuid: String,
    pub path: String,
}

/// The root disk of a VM: a copy-on-write overlay on its template — or, for a VM deployed
/// from an ISO, a blank disk of `size_bytes` the guest installs itself on — kept on the pool
/// from the VM's first start until it is destroyed on the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootDisk {
    /// The volume's file name on the pool (unique per pool).
    pub volume: String,
    /// Grow the disk to this many bytes when that is more than the template's size; a blank
    /// disk is made this size.
    pub size_bytes: Option<u64>,
    pub pool: PoolSpec,
    /// The template the disk is an overlay on; `None`: a blank disk (a VM installed from an ISO).
    pub template: Option<TemplateSpec>,
}

/// The ISO in a VM's CD-ROM drive (`attachIso`, or the ISO the VM was deployed from). The host
/// fetches it like a template (`image.url`, checked against `image.checksum`) and caches it
/// once per pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IsoSpec {
    /// The ISO image (format `Raw`).
    pub image: TemplateSpec,
    /// A bootable ISO: the VM boots from the CD-ROM first, then from its root disk.
    pub boot: bool,
}

/// A volume's file on a pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskFile {
    /// The volume's file name on the pool (unique per pool).
    pub volume: String,
    pub pool: PoolSpec,
}

/// A volume snapshot's file on a pool: a standalone qcow2 (no backing file) at
/// `<pool>/snapshots/<snapshot>.qcow2`, where CloudStack on KVM would back it up to secondary
/// storage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotFile {
    /// The snapshot's uuid (its file name on the pool, without the extension).
    pub snapshot: String,
    pub pool: PoolSpec,
}

/// What a host found of an image it wrote (a snapshot or a template).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageInfo {
    /// The disk size a guest sees; 0 when the host cannot tell (the simulator's unknown disks).
    pub virtual_bytes: u64,
    /// The bytes the file takes on the pool; 0 when the host cannot tell.
    pub physical_bytes: u64,
}

/// What a template is made from (`createTemplate`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TemplateSource {
    /// A snapshot's file.
    Snapshot(SnapshotFile),
    /// The volume of a stopped VM (its whole chain, flattened).
    Volume(DiskFile),
}

impl TemplateSource {
    /// The pool the source is on (the template is made in that pool's template cache).
    pub fn pool(&self) -> &PoolSpec {
        match self {
            TemplateSource::Snapshot(s) => &s.pool,
            TemplateSource::Volume(f) => &f.pool,
        }
    }
}

/// A data disk of a VM at a device slot. When its file is missing the host makes it: a
/// standalone copy of `from_snapshot` (`createVolume snapshotid=`), grown to `size_bytes`
/// if smaller, or else an empty volume of `size_bytes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataDisk {
    pub file: DiskFile,
    pub size_bytes: u64,
    /// The volume's slot (1, 2, 4, …; 0 is the root disk, 3 the CD-ROM).
    pub device_id: u32,
    #[serde(default)]
    pub from_snapshot: Option<SnapshotFile>,
}

/// Everything a host needs to start a VM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VmSpec {
    /// Instance name, unique per cloud (`i-2-10-VM`).
    pub name: String,
    /// The VM's uuid (a real hypervisor gives it to the guest as its machine id).
    #[serde(default)]
    pub uuid: String,
    pub kind: VmKind,
    pub cpus: u32,
    pub cpu_speed_mhz: u64,
    pub memory_bytes: u64,
    /// The disk to boot from; `None` for hosts that need none (the simulator accepts either).
    #[serde(default)]
    pub root_disk: Option<RootDisk>,
    pub nics: Vec<NicSpec>,
    /// Boot arguments for system VMs (routers get their role and networks here).
    pub boot_args: BTreeMap<String, String>,
    /// A config drive to attach at boot, by the path the host knows it under.
    pub config_drive: Option<String>,
    /// Data disks attached to the VM, created on their pool when missing.
    #[serde(default)]
    pub data_disks: Vec<DataDisk>,
    /// The ISO in the VM's CD-ROM drive, if any.
    #[serde(default)]
    pub iso: Option<IsoSpec>,
}

/// The secret a management server and a host agent share: derived from the `username` and
/// `password` an operator gives `addHost` (and starts the agent with), so the management
/// server keeps only this, never the password. Its `Debug` never shows the bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct AgentKey([u8; 32]);

impl AgentKey {
    /// HMAC-SHA256 keyed by the password over a fixed label and the user name.
    pub fn derive(username: &str, password: &str) -> AgentKey {
        use hmac::{Hmac, Mac};
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(password.as_bytes()).expect("HMAC takes any key length");
        mac.update(b"ferrostack-agent-key-v1\0");
        mac.update(username.as_bytes());
        AgentKey(mac.finalize().into_bytes().into())
    }
    pub fn from_bytes(bytes: [u8; 32]) -> AgentKey {
        AgentKey(bytes)
    }
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
    /// Lowercase hex, for storage.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
    pub fn from_hex(s: &str) -> Option<AgentKey> {
        if s.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, o) in out.iter_mut().enumerate() {
            *o = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(AgentKey(out))
    }
}

impl std::fmt::Debug for AgentKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AgentKey(<redacted>)")
    }
}

/// One DHCP/DNS/metadata entry a virtual router serves for a VM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouterVmEntry {
    pub vm_name: String,
    pub hostname: String,
    pub mac: String,
    pub ip: String,
    pub default_nic: bool,
    /// Base64 user data, if the network's UserData provider is this router.
    pub user_data: Option<String>,
    /// Metadata files served at /latest/meta-data (instance-id, local-hostname, …).
    pub metadata: BTreeMap<String, String>,
    /// A password to hand out once, if set.
    pub password: Option<String>,
    pub ssh_public_keys: Vec<String>,
}

/// The whole configuration a router serves for one guest network, applied as one batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouterConfig {
    pub network: String,
    pub dhcp: bool,
    pub dns: bool,
    pub user_data: bool,
    pub domain: Option<String>,
    pub dns_servers: Vec<String>,
    pub entries: Vec<RouterVmEntry>,
}

/// A config drive image handed to a host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigDriveImage {
    /// The VM it belongs to.
    pub vm_name: String,
    /// File name the host stores it under (e.g. `i-2-10-VM.iso`).
    pub file_name: String,
    /// The ISO 9660 bytes.
    pub iso: Vec<u8>,
}

/// The agent contract. One value per connected host.
#[async_trait]
pub trait Agent: Send + Sync {
    /// Establish the connection and report what the host is.
    async fn connect(&self) -> Result<HostInfo, AgentError>;
    /// Liveness and VM power states.
    async fn ping(&self) -> Result<PowerReport, AgentError>;
    async fn start_vm(&self, spec: &VmSpec) -> Result<(), AgentError>;
    /// Stop; `force` powers off without a guest shutdown. Stopping a stopped or unknown VM
    /// succeeds.
    async fn stop_vm(&self, name: &str, force: bool) -> Result<(), AgentError>;
    async fn reboot_vm(&self, name: &str) -> Result<(), AgentError>;
    /// Remove the VM from the host. Unknown VMs succeed.
    async fn destroy_vm(&self, name: &str) -> Result<(), AgentError>;
    /// Apply a router's full configuration for one network (one batch per change).
    async fn program_router(&self, router: &str, config: &RouterConfig) -> Result<(), AgentError>;
    /// Store (replace) a config drive image on the host.
    async fn put_config_drive(&self, image: &ConfigDriveImage) -> Result<(), AgentError>;
    /// Delete a config drive image; a missing one succeeds.
    async fn delete_config_drive(&self, vm_name: &str) -> Result<(), AgentError>;
    /// Make sure a data disk exists (created empty at its size when missing) and, if `vm_name`
    /// runs on this host, plug it in at its slot. Attaching a disk the VM has succeeds.
    async fn attach_disk(&self, vm_name: &str, disk: &DataDisk) -> Result<(), AgentError> {
        let _ = (vm_name, disk);
        Err(AgentError::Unsupported("data disks".into()))
    }
    /// Unplug a data disk from `vm_name` if it runs here with it; the file stays. A VM that
    /// is not here or does not have the disk succeeds.
    async fn detach_disk(&self, vm_name: &str, file: &DiskFile) -> Result<(), AgentError> {
        let _ = (vm_name, file);
        Err(AgentError::Unsupported("data disks".into()))
    }
    /// Set a volume's size: live when `vm_name` runs here with the disk, else on the file.
    /// Shrinking is asked only when the operator allowed it.
    async fn resize_disk(&self, vm_name: Option<&str>, file: &DiskFile, size_bytes: u64) -> Result<(), AgentError> {
        let _ = (vm_name, file, size_bytes);
        Err(AgentError::Unsupported("volume resize".into()))
    }
    /// Delete a volume's file; a missing file succeeds.
    async fn delete_disk(&self, file: &DiskFile) -> Result<(), AgentError> {
        let _ = file;
        Err(AgentError::Unsupported("data disks".into()))
    }
    /// Take a snapshot of a volume: a standalone copy of its content (its backing chain
    /// flattened) as `snapshot`'s file. When `vm_name` runs here with the disk, the copy is
    /// consistent: the guest is paused (its writes flushed) for the copy and resumed after.
    /// Taking a snapshot whose file exists answers that file (a retried call is harmless).
    async fn snapshot_disk(
        &self,
        vm_name: Option<&str>,
        file: &DiskFile,
        snapshot: &SnapshotFile,
    ) -> Result<ImageInfo, AgentError> {
        let _ = (vm_name, file, snapshot);
        Err(AgentError::Unsupported("volume snapshots".into()))
    }
    /// Put a volume back to a snapshot's content. The volume's VM is stopped (as CloudStack
    /// requires on KVM); the volume keeps its file name.
    async fn revert_disk(&self, file: &DiskFile, snapshot: &SnapshotFile) -> Result<(), AgentError> {
        let _ = (file, snapshot);
        Err(AgentError::Unsupported("volume snapshots".into()))
    }
    /// Delete a snapshot's file; a missing one succeeds.
    async fn delete_snapshot(&self, snapshot: &SnapshotFile) -> Result<(), AgentError> {
        let _ = snapshot;
        Err(AgentError::Unsupported("volume snapshots".into()))
    }
    /// Make template `template` (a uuid) from a snapshot or a stopped VM's volume, in the
    /// template cache of the source's pool, where a VM's start finds it without a download.
    /// A template already there answers its file.
    async fn template_from(&self, source: &TemplateSource, template: &str) -> Result<ImageInfo, AgentError> {
        let _ = (source, template);
        Err(AgentError::Unsupported("templates from volumes".into()))
    }
    /// Wait until the host's power-report generation is other than `seen` (a VM started,
    /// stopped, crashed or powered itself off) or `wait_ms` pass, and return the current
    /// generation: a long poll, so a change reaches the management server at once instead of
    /// at the next ping. What changed is read with [`Agent::ping`]. Hosts that cannot tell
    /// answer [`AgentError::Unsupported`] (the default) and are seen at the next ping.
    async fn watch_power(&self, seen: u64, wait_ms: u64) -> Result<u64, AgentError> {
        let _ = (seen, wait_ms);
        Err(AgentError::Unsupported("power-change notifications".into()))
    }
}

/// Opens agents for hosts of one hypervisor type.
#[async_trait]
pub trait Connector: Send + Sync {
    /// The hypervisor type this connector serves, as the API names it (`Simulator`, `KVM`).
    fn hypervisor(&self) -> &'static str;
    /// Whether `addHost` must give `username` and `password` for this hypervisor's hosts.
    fn needs_credentials(&self) -> bool {
        false
    }
    /// Whether this connector's hosts boot VMs from a real root disk, so every start must carry
    /// [`VmSpec::root_disk`] (a template and a pool). The in-process simulator does not.
    fn needs_root_disk(&self) -> bool {
        false
    }
    /// Whether this connector's agents may answer [`Agent::watch_power`] (the management server
    /// keeps one long poll open per such host). In-process hosts need none.
    fn reports_power_changes(&self) -> bool {
        false
    }
    /// Validate a host URL and open an agent for it; `key` is the shared secret of hosts that
    /// authenticate (see [`Connector::needs_credentials`]).
    async fn open(
        &self,
        url: &str,
        location: &HostLocation,
        key: Option<&AgentKey>,
    ) -> Result<Arc<dyn Agent>, AgentError>;
}
