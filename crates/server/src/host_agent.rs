//! `ferrostack agent`: the host agent. It serves one host's [`Agent`] over the
//! authenticated HTTP(S) link of `ferrostack-agent-http`, for a management server that added
//! the host with `addHost hypervisor=KVM url=http://HOST:PORT username=… password=…`.
//!
//! Backends: `libvirt` (a KVM host; built with the `kvm` cargo feature) and `simulator` (a
//! simulated host in a process of its own, for trying the link and for agent benchmarks).
//! The agent keeps nothing the management server cannot rebuild: libvirt keeps the domains
//! (they keep running while either side restarts) and the data directory holds disks, config
//! drives, console logs and the TLS identity.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Args, ValueEnum};
use ferrostack_agent_api::{Agent, AgentKey, Connector, HostLocation};
use ferrostack_agent_http::{tls_wanted, TlsIdentity, TlsMode};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    /// libvirt on this host (needs a build with the `kvm` feature)
    Libvirt,
    /// a simulated host
    Simulator,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Tls {
    /// TLS unless listening on loopback
    Auto,
    On,
    Off,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DomainKind {
    /// hardware virtualization (/dev/kvm)
    Kvm,
    /// QEMU's software CPU (TCG): slow, works without hardware support
    Qemu,
}

#[derive(Debug, Clone, Args)]
pub struct AgentOpts {
    /// Address to serve the management server on (port 8250 is CloudStack's agent port)
    #[arg(
        long,
        env = "FERROSTACK_AGENT_LISTEN",
        value_name = "ADDR",
        default_value = "127.0.0.1:8250"
    )]
    pub listen: SocketAddr,

    /// Directory for root disks' template cache, config drives, console logs
    /// (DATA_DIR/console/<instance>.log) and the TLS identity
    #[arg(
        long,
        env = "FERROSTACK_AGENT_DATA_DIR",
        value_name = "DIR",
        default_value = "/var/lib/ferrostack-agent"
    )]
    pub data_dir: PathBuf,

    /// File holding `username:password` on its first line: the credentials addHost must give.
    /// Keep it readable by root only.
    #[arg(long, env = "FERROSTACK_AGENT_CREDENTIALS", value_name = "FILE")]
    pub credentials: PathBuf,

    /// libvirt connection URI
    #[arg(
        long,
        env = "FERROSTACK_AGENT_LIBVIRT_URI",
        value_name = "URI",
        default_value = "qemu:///system"
    )]
    pub libvirt_uri: String,

    /// libvirt domain type: kvm on real hosts, qemu where there is no hardware virtualization
    #[arg(long, value_enum, default_value = "kvm")]
    pub domain_type: DomainKind,

    /// Run the host's `ip` commands (bridges, VLAN devices) in this network namespace (the one
    /// libvirtd runs in); default: the agent's own
    #[arg(long, value_name = "NAME")]
    pub netns: Option<String>,

    /// Physical device guest VLANs are trunked on (VLAN N becomes DEV.N on bridge brvlanN);
    /// none: bridges without uplink
    #[arg(long, value_name = "DEV")]
    pub guest_nic: Option<String>,

    /// The address the host reports as its private IP [default: the listen address]
    #[arg(long, value_name = "IP")]
    pub private_ip: Option<String>,

    /// How long a graceful stop waits for the guest to power off (ACPI) before forcing it
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub stop_timeout_secs: u64,

    #[arg(long, value_enum, default_value = "auto")]
    pub tls: Tls,

    #[arg(long, value_enum, default_value = "libvirt")]
    pub backend: Backend,
}

/// Read `username:password` from the credentials file.
pub fn read_credentials(path: &Path) -> Result<AgentKey, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the credentials file {}: {e}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(m) = std::fs::metadata(path) {
            if m.permissions().mode() & 0o077 != 0 {
                tracing::warn!(file = %path.display(), "the credentials file is readable by others; chmod 600 it");
            }
        }
    }
    let line = text.lines().next().unwrap_or_default().trim();
    let (user, password) = line
        .split_once(':')
        .filter(|(u, p)| !u.is_empty() && !p.is_empty())
        .ok_or_else(|| format!("{} must hold `username:password` on its first line", path.display()))?;
    Ok(AgentKey::derive(user, password))
}

async fn backend(opts: &AgentOpts) -> Result<Arc<dyn Agent>, String> {
    match opts.backend {
        Backend::Simulator => {
            let dir = opts.data_dir.join("simulator");
            let sim = tokio::task::spawn_blocking(move || ferrostack_sim::Simulator::new(dir))
                .await
                .map_err(|e| e.to_string())?;
            let location = HostLocation {
                zone: String::new(),
                pod: String::new(),
                cluster: String::new(),
                host: "agent".to_string(),
            };
            // One simulated host per data directory, whatever port the agent listens on.
            sim.open("http://sim/agent", &location, None)
                .await
                .map_err(|e| e.to_string())
        }
        Backend::Libvirt => libvirt(opts).await,
    }
}

#[cfg(feature = "kvm")]
async fn libvirt(opts: &AgentOpts) -> Result<Arc<dyn Agent>, String> {
    let cfg = ferrostack_kvm::KvmConfig {
        libvirt_uri: opts.libvirt_uri.clone(),
        data_dir: opts.data_dir.clone(),
        domain_type: match opts.domain_type {
            DomainKind::Kvm => ferrostack_kvm::DomainType::Kvm,
            DomainKind::Qemu => ferrostack_kvm::DomainType::Qemu,
        },
        netns: opts.netns.clone(),
        guest_nic: opts.guest_nic.clone(),
        private_ip: opts.private_ip.clone().or_else(|| Some(opts.listen.ip().to_string())),
        stop_timeout: std::time::Duration::from_secs(opts.stop_timeout_secs),
    };
    let agent = ferrostack_kvm::LibvirtAgent::open(cfg)
        .await
        .map_err(|e| e.to_string())?;
    Ok(Arc::new(agent))
}

#[cfg(not(feature = "kvm"))]
async fn libvirt(_opts: &AgentOpts) -> Result<Arc<dyn Agent>, String> {
    Err(
        "this ferrostack was built without libvirt support; build it with `cargo build --release --features kvm` \
         (needs libvirt-dev and pkg-config: scripts/kvm/install-packages.sh), or run --backend simulator"
            .to_string(),
    )
}

/// Run the agent until `shutdown` completes. Prints `ferrostack agent listening on ADDR` on
/// standard output once it serves (the address has the real port when `--listen` gave 0).
pub async fn run(
    opts: AgentOpts,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), String> {
    let key = read_credentials(&opts.credentials)?;
    std::fs::create_dir_all(&opts.data_dir)
        .map_err(|e| format!("cannot create the data directory {}: {e}", opts.data_dir.display()))?;
    let agent = backend(&opts).await?;
    let mode = match opts.tls {
        Tls::Auto => TlsMode::Auto,
        Tls::On => TlsMode::On,
        Tls::Off => TlsMode::Off,
    };
    let tls = if tls_wanted(&opts.listen, mode) {
        let id = TlsIdentity::load_or_create(&opts.data_dir.join("tls")).map_err(|e| e.to_string())?;
        tracing::info!(fingerprint = %id.fingerprint(), "serving TLS");
        Some(id)
    } else {
        None
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", opts.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    println!("ferrostack agent listening on {scheme}://{addr}");
    tracing::info!(url = %format!("{scheme}://{addr}"), backend = ?opts.backend, "serving the host agent");
    ferrostack_agent_http::serve(listener, agent, key, tls, shutdown)
        .await
        .map_err(|e| e.to_string())
}
