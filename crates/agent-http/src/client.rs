//! The management-server side: [`HttpConnector`] opens [`HttpAgent`]s for `addHost` URLs.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use ferrostack_agent_api::{
    Agent, AgentError, AgentKey, ConfigDriveImage, Connector, DataDisk, DiskFile, HostInfo, HostLocation, ImageInfo,
    PowerReport, RouterConfig, SnapshotFile, TemplateSource, VmSpec,
};
use rand::RngCore;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::tls::{client_config, Pin};
use crate::wire::{self, Op, H_NONCE, H_SIGNATURE, H_TIME};

/// CloudStack's agent port.
pub const DEFAULT_PORT: u16 = 8250;

const SHORT: Duration = Duration::from_secs(10);
const NORMAL: Duration = Duration::from_secs(120);
/// A start may download a template first.
const START: Duration = Duration::from_secs(15 * 60);
/// A snapshot, revert or template copies a whole volume.
const COPY: Duration = Duration::from_secs(30 * 60);

/// Opens agents reached over HTTP(S), for one hypervisor type (`KVM`).
pub struct HttpConnector {
    hypervisor: &'static str,
}

impl HttpConnector {
    pub fn new(hypervisor: &'static str) -> HttpConnector {
        HttpConnector { hypervisor }
    }
}

#[async_trait]
impl Connector for HttpConnector {
    fn hypervisor(&self) -> &'static str {
        self.hypervisor
    }
    fn needs_credentials(&self) -> bool {
        true
    }
    fn needs_root_disk(&self) -> bool {
        true
    }
    fn reports_power_changes(&self) -> bool {
        true
    }
    async fn open(
        &self,
        url: &str,
        _location: &HostLocation,
        key: Option<&AgentKey>,
    ) -> Result<Arc<dyn Agent>, AgentError> {
        let key = key.ok_or_else(|| {
            AgentError::Failed("this host's agent authenticates: give addHost username and password".into())
        })?;
        Ok(Arc::new(HttpAgent::new(url, key.clone())?))
    }
}

/// Parse `http://HOST[:PORT]` / `https://HOST[:PORT]` into a base URL with its port.
fn base_url(url: &str) -> Result<(String, bool), AgentError> {
    let bad = || {
        AgentError::Failed(format!(
            "host URL {url} is not http://HOST[:PORT] or https://HOST[:PORT] (the address `ferrostack agent --listen` serves; port {DEFAULT_PORT} by default)"
        ))
    };
    let (tls, rest) = if let Some(r) = strip_prefix_ci(url, "https://") {
        (true, r)
    } else if let Some(r) = strip_prefix_ci(url, "http://") {
        (false, r)
    } else {
        return Err(bad());
    };
    let authority = rest.trim_end_matches('/');
    if authority.is_empty() || authority.contains(['/', '?', '#', '@', ' ']) {
        return Err(bad());
    }
    let port_ok = |p: &str| p.parse::<u16>().map(|_| true).map_err(|_| bad());
    let has_port = if let Some(v6) = authority.strip_prefix('[') {
        match v6.split_once(']') {
            Some((_, "")) => false,
            Some((_, rest)) => port_ok(rest.strip_prefix(':').ok_or_else(bad)?)?,
            None => return Err(bad()),
        }
    } else {
        match authority.split_once(':') {
            None => false,
            Some((_, p)) => port_ok(p)?,
        }
    };
    let scheme = if tls { "https" } else { "http" };
    let base = if has_port {
        format!("{scheme}://{authority}")
    } else {
        format!("{scheme}://{authority}:{DEFAULT_PORT}")
    };
    Ok((base, tls))
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &s[prefix.len()..])
}

/// One host agent over HTTP(S).
pub struct HttpAgent {
    base: String,
    key: AgentKey,
    http: reqwest::Client,
    /// `Some` for https: the certificate pin of this link.
    pin: Option<Arc<Pin>>,
    /// Serializes channel binding, so nothing is sent before the pin is set.
    binding: tokio::sync::Mutex<()>,
}

impl HttpAgent {
    pub fn new(url: &str, key: AgentKey) -> Result<HttpAgent, AgentError> {
        let (base, tls) = base_url(url)?;
        let builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .pool_idle_timeout(Duration::from_secs(90))
            .tcp_keepalive(Duration::from_secs(30));
        // The TLS configuration is set for http links too (unused there): reqwest has no
        // default crypto provider in this build.
        let pin = Pin::new();
        let cfg = client_config(pin.clone()).map_err(|e| AgentError::Failed(format!("TLS setup: {e}")))?;
        let http = builder
            .use_preconfigured_tls(cfg)
            .build()
            .map_err(|e| AgentError::Failed(format!("HTTP client setup: {e}")))?;
        let pin = tls.then_some(pin);
        Ok(HttpAgent {
            base,
            key,
            http,
            pin,
            binding: tokio::sync::Mutex::new(()),
        })
    }

    /// The fingerprint answers must be signed for: the pinned certificate (https) or none.
    fn expected_fingerprint(&self) -> Option<String> {
        match &self.pin {
            Some(p) => p.pinned(),
            None => Some(String::new()),
        }
    }

    /// https: make sure this link is bound to the agent's certificate before anything else.
    async fn ensure_bound(&self) -> Result<(), AgentError> {
        let Some(pin) = &self.pin else { return Ok(()) };
        if pin.pinned().is_some() {
            return Ok(());
        }
        let _g = self.binding.lock().await;
        if pin.pinned().is_some() {
            return Ok(());
        }
        let (status, body, sig, nonce) = self.exchange(Op::Hello, b"{}".to_vec(), SHORT).await?;
        let seen = pin.last_seen().ok_or_else(|| {
            AgentError::Unreachable(format!("{}: no certificate seen in the TLS handshake", self.base))
        })?;
        if !wire::verify_answer(&self.key, &nonce, status, &body, &seen, &sig) {
            return Err(self.not_signed());
        }
        pin.pin(seen);
        Ok(())
    }

    fn not_signed(&self) -> AgentError {
        AgentError::Unreachable(format!(
            "the answer from {} is not signed with this host's credentials: check that addHost's username and password \
             are those the agent was started with, and that nothing sits between the management server and the host",
            self.base
        ))
    }

    /// Send one signed request; returns status, body, the answer's signature and our nonce.
    async fn exchange(
        &self,
        op: Op,
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<(u16, Vec<u8>, String, String), AgentError> {
        let time = wire::now_ms().to_string();
        let mut n = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut n);
        let nonce = wire::hex(&n);
        let sig = wire::sign_request(&self.key, "POST", op.path(), &time, &nonce, &body);
        let url = format!("{}{}", self.base, op.path());
        let resp = self
            .http
            .post(&url)
            .timeout(timeout)
            .header("content-type", "application/json")
            .header(H_TIME, &time)
            .header(H_NONCE, &nonce)
            .header(H_SIGNATURE, sig)
            .body(body)
            .send()
            .await
            .map_err(|e| AgentError::Unreachable(format!("{}: {}", self.base, error_chain(&e))))?;
        let status = resp.status().as_u16();
        let answer_sig = resp
            .headers()
            .get(H_SIGNATURE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let body = resp
            .bytes()
            .await
            .map_err(|e| AgentError::Unreachable(format!("{}: reading the answer: {}", self.base, error_chain(&e))))?
            .to_vec();
        Ok((status, body, answer_sig, nonce))
    }

    async fn call<A: Serialize, T: DeserializeOwned>(
        &self,
        op: Op,
        args: &A,
        timeout: Duration,
    ) -> Result<T, AgentError> {
        let body = serde_json::to_vec(args).map_err(|e| AgentError::Failed(format!("cannot encode request: {e}")))?;
        let mut retried = false;
        loop {
            self.ensure_bound().await?;
            let r = self.exchange(op, body.clone(), timeout).await;
            let (status, answer, sig, nonce) = match r {
                Ok(x) => x,
                // The agent may have a new certificate (its data directory was reset): bind again once.
                Err(AgentError::Unreachable(m))
                    if self.pin.is_some() && !retried && m.contains("certificate changed") =>
                {
                    if let Some(p) = &self.pin {
                        p.unpin();
                    }
                    retried = true;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let expected = self.expected_fingerprint().unwrap_or_default();
            if status == 401 {
                return Err(
                    if wire::verify_answer(&self.key, "", status, &answer, &expected, &sig) {
                        let why = serde_json::from_slice::<serde_json::Value>(&answer)
                            .ok()
                            .and_then(|v| v["error"].as_str().map(str::to_string))
                            .unwrap_or_default();
                        AgentError::Unreachable(format!("the agent at {} refused the request: {why}", self.base))
                    } else {
                        AgentError::Unreachable(format!(
                        "the agent at {} refused our credentials: give addHost the username and password the agent \
                         was started with (ferrostack agent --credentials)",
                        self.base
                    ))
                    },
                );
            }
            if !wire::verify_answer(&self.key, &nonce, status, &answer, &expected, &sig) {
                return Err(self.not_signed());
            }
            if status != 200 {
                return Err(AgentError::Failed(format!("{} answered HTTP {status}", self.base)));
            }
            let v: serde_json::Value = serde_json::from_slice(&answer)
                .map_err(|e| AgentError::Failed(format!("{}: malformed answer: {e}", self.base)))?;
            if let Some(err) = v.get("err") {
                let e: AgentError = serde_json::from_value(err.clone())
                    .map_err(|e| AgentError::Failed(format!("{}: malformed error: {e}", self.base)))?;
                return Err(e);
            }
            let ok = v.get("ok").cloned().unwrap_or(serde_json::Value::Null);
            return serde_json::from_value(ok)
                .map_err(|e| AgentError::Failed(format!("{}: malformed answer: {e}", self.base)));
        }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let m = c.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        cur = c.source();
    }
    s
}

#[async_trait]
impl Agent for HttpAgent {
    async fn connect(&self) -> Result<HostInfo, AgentError> {
        self.call(Op::Connect, &wire::Empty {}, SHORT).await
    }
    async fn ping(&self) -> Result<PowerReport, AgentError> {
        self.call(Op::Ping, &wire::Empty {}, SHORT).await
    }
    async fn start_vm(&self, spec: &VmSpec) -> Result<(), AgentError> {
        self.call(Op::StartVm, spec, START).await
    }
    async fn stop_vm(&self, name: &str, force: bool) -> Result<(), AgentError> {
        let a = wire::StopArgs {
            name: name.to_string(),
            force,
        };
        self.call(Op::StopVm, &a, NORMAL).await
    }
    async fn reboot_vm(&self, name: &str) -> Result<(), AgentError> {
        self.call(Op::RebootVm, &wire::VmName { name: name.to_string() }, NORMAL)
            .await
    }
    async fn destroy_vm(&self, name: &str) -> Result<(), AgentError> {
        self.call(Op::DestroyVm, &wire::VmName { name: name.to_string() }, NORMAL)
            .await
    }
    async fn program_router(&self, router: &str, config: &RouterConfig) -> Result<(), AgentError> {
        let a = wire::ProgramArgs {
            router: router.to_string(),
            config: config.clone(),
        };
        self.call(Op::ProgramRouter, &a, NORMAL).await
    }
    async fn put_config_drive(&self, image: &ConfigDriveImage) -> Result<(), AgentError> {
        let a = wire::DriveArgs {
            vm_name: image.vm_name.clone(),
            file_name: image.file_name.clone(),
            iso_base64: base64::engine::general_purpose::STANDARD.encode(&image.iso),
        };
        self.call(Op::PutConfigDrive, &a, NORMAL).await
    }
    async fn delete_config_drive(&self, vm_name: &str) -> Result<(), AgentError> {
        let a = wire::DeleteDriveArgs {
            vm_name: vm_name.to_string(),
        };
        self.call(Op::DeleteConfigDrive, &a, NORMAL).await
    }
    async fn attach_disk(&self, vm_name: &str, disk: &DataDisk) -> Result<(), AgentError> {
        let a = wire::AttachDiskArgs {
            vm_name: vm_name.to_string(),
            disk: disk.clone(),
        };
        self.call(Op::AttachDisk, &a, NORMAL).await
    }
    async fn detach_disk(&self, vm_name: &str, file: &DiskFile) -> Result<(), AgentError> {
        let a = wire::DetachDiskArgs {
            vm_name: vm_name.to_string(),
            file: file.clone(),
        };
        self.call(Op::DetachDisk, &a, NORMAL).await
    }
    async fn resize_disk(&self, vm_name: Option<&str>, file: &DiskFile, size_bytes: u64) -> Result<(), AgentError> {
        let a = wire::ResizeDiskArgs {
            vm_name: vm_name.map(str::to_string),
            file: file.clone(),
            size_bytes,
        };
        self.call(Op::ResizeDisk, &a, NORMAL).await
    }
    async fn delete_disk(&self, file: &DiskFile) -> Result<(), AgentError> {
        self.call(Op::DeleteDisk, file, NORMAL).await
    }
    async fn snapshot_disk(
        &self,
        vm_name: Option<&str>,
        file: &DiskFile,
        snapshot: &SnapshotFile,
    ) -> Result<ImageInfo, AgentError> {
        let a = wire::SnapshotDiskArgs {
            vm_name: vm_name.map(str::to_string),
            file: file.clone(),
            snapshot: snapshot.clone(),
        };
        self.call(Op::SnapshotDisk, &a, COPY).await
    }
    async fn revert_disk(&self, file: &DiskFile, snapshot: &SnapshotFile) -> Result<(), AgentError> {
        let a = wire::RevertDiskArgs {
            file: file.clone(),
            snapshot: snapshot.clone(),
        };
        self.call(Op::RevertDisk, &a, COPY).await
    }
    async fn delete_snapshot(&self, snapshot: &SnapshotFile) -> Result<(), AgentError> {
        self.call(Op::DeleteSnapshot, snapshot, NORMAL).await
    }
    async fn template_from(&self, source: &TemplateSource, template: &str) -> Result<ImageInfo, AgentError> {
        let a = wire::TemplateFromArgs {
            source: source.clone(),
            template: template.to_string(),
        };
        self.call(Op::TemplateFrom, &a, COPY).await
    }
    async fn watch_power(&self, seen: u64, wait_ms: u64) -> Result<u64, AgentError> {
        let wait_ms = wait_ms.min(wire::MAX_WATCH_MS);
        let a = wire::WatchArgs { seen, wait_ms };
        self.call(Op::WatchPower, &a, Duration::from_millis(wait_ms) + SHORT)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::base_url;

    #[test]
    fn host_urls() {
        assert_eq!(
            base_url("http://10.0.0.5").unwrap(),
            ("http://10.0.0.5:8250".into(), false)
        );
        assert_eq!(
            base_url("HTTPS://h.example:9000/").unwrap(),
            ("https://h.example:9000".into(), true)
        );
        assert_eq!(
            base_url("http://127.0.0.1:8251").unwrap(),
            ("http://127.0.0.1:8251".into(), false)
        );
        assert_eq!(
            base_url("http://[::1]:8251").unwrap(),
            ("http://[::1]:8251".into(), false)
        );
        for bad in [
            "10.0.0.5",
            "ftp://h",
            "http://",
            "http://h/path",
            "http://u@h",
            "http://h:port",
        ] {
            assert!(base_url(bad).is_err(), "{bad}");
        }
    }
}
