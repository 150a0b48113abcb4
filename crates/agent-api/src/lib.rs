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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NicSpec {
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

/// Everything a host needs to start a VM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VmSpec {
    /// Instance name, unique per cloud (`i-2-10-VM`).
    pub name: String,
    pub kind: VmKind,
    pub cpus: u32,
    pub cpu_speed_mhz: u64,
    pub memory_bytes: u64,
    pub template_url: Option<String>,
    pub nics: Vec<NicSpec>,
    /// Boot arguments for system VMs (routers get their role and networks here).
    pub boot_args: BTreeMap<String, String>,
    /// A config drive to attach at boot, by the path the host knows it under.
    pub config_drive: Option<String>,
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
}

/// Opens agents for hosts of one hypervisor type.
#[async_trait]
pub trait Connector: Send + Sync {
    /// The hypervisor type this connector serves, as the API names it (`Simulator`, `KVM`).
    fn hypervisor(&self) -> &'static str;
    /// Validate a host URL and open an agent for it.
    async fn open(&self, url: &str, location: &HostLocation) -> Result<Arc<dyn Agent>, AgentError>;
}
