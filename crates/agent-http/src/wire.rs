//! What travels: the operations' argument shapes, and the request and answer signatures.

use ferrostack_agent_api::{AgentKey, DataDisk, DiskFile, RouterConfig, SnapshotFile, TemplateSource};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// How far a request's time may be from the agent's clock.
pub const MAX_SKEW_MS: i64 = 300_000;

pub const H_TIME: &str = "x-ferrostack-time";
pub const H_NONCE: &str = "x-ferrostack-nonce";
pub const H_SIGNATURE: &str = "x-ferrostack-signature";

/// The operations, by the last path segment of `/v1/<op>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Hello,
    Connect,
    Ping,
    StartVm,
    StopVm,
    RebootVm,
    DestroyVm,
    ProgramRouter,
    PutConfigDrive,
    DeleteConfigDrive,
    WatchPower,
    AttachDisk,
    DetachDisk,
    ResizeDisk,
    DeleteDisk,
    SnapshotDisk,
    RevertDisk,
    DeleteSnapshot,
    TemplateFrom,
}

impl Op {
    pub fn path(self) -> &'static str {
        match self {
            Op::Hello => "/v1/hello",
            Op::Connect => "/v1/connect",
            Op::Ping => "/v1/ping",
            Op::StartVm => "/v1/start_vm",
            Op::StopVm => "/v1/stop_vm",
            Op::RebootVm => "/v1/reboot_vm",
            Op::DestroyVm => "/v1/destroy_vm",
            Op::ProgramRouter => "/v1/program_router",
            Op::PutConfigDrive => "/v1/put_config_drive",
            Op::DeleteConfigDrive => "/v1/delete_config_drive",
            Op::WatchPower => "/v1/watch_power",
            Op::AttachDisk => "/v1/attach_disk",
            Op::DetachDisk => "/v1/detach_disk",
            Op::ResizeDisk => "/v1/resize_disk",
            Op::DeleteDisk => "/v1/delete_disk",
            Op::SnapshotDisk => "/v1/snapshot_disk",
            Op::RevertDisk => "/v1/revert_disk",
            Op::DeleteSnapshot => "/v1/delete_snapshot",
            Op::TemplateFrom => "/v1/template_from",
        }
    }

    pub fn from_name(name: &str) -> Option<Op> {
        [
            Op::Hello,
            Op::Connect,
            Op::Ping,
            Op::StartVm,
            Op::StopVm,
            Op::RebootVm,
            Op::DestroyVm,
            Op::ProgramRouter,
            Op::PutConfigDrive,
            Op::DeleteConfigDrive,
            Op::WatchPower,
            Op::AttachDisk,
            Op::DetachDisk,
            Op::ResizeDisk,
            Op::DeleteDisk,
            Op::SnapshotDisk,
            Op::RevertDisk,
            Op::DeleteSnapshot,
            Op::TemplateFrom,
        ]
        .into_iter()
        .find(|op| op.path().strip_prefix("/v1/") == Some(name))
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Empty {}

#[derive(Debug, Serialize, Deserialize)]
pub struct VmName {
    pub name: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct StopArgs {
    pub name: String,
    pub force: bool,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ProgramArgs {
    pub router: String,
    pub config: RouterConfig,
}

/// A config drive with its ISO bytes in base64.
#[derive(Debug, Serialize, Deserialize)]
pub struct DriveArgs {
    pub vm_name: String,
    pub file_name: String,
    pub iso_base64: String,
}

/// `watch_power`: the generation the caller has seen, and how long the agent may hold the
/// request (capped by [`MAX_WATCH_MS`]).
#[derive(Debug, Serialize, Deserialize)]
pub struct WatchArgs {
    pub seen: u64,
    pub wait_ms: u64,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct AttachDiskArgs {
    pub vm_name: String,
    pub disk: DataDisk,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct DetachDiskArgs {
    pub vm_name: String,
    pub file: DiskFile,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ResizeDiskArgs {
    pub vm_name: Option<String>,
    pub file: DiskFile,
    pub size_bytes: u64,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct SnapshotDiskArgs {
    pub vm_name: Option<String>,
    pub file: DiskFile,
    pub snapshot: SnapshotFile,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct RevertDiskArgs {
    pub file: DiskFile,
    pub snapshot: SnapshotFile,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct TemplateFromArgs {
    pub source: TemplateSource,
    pub template: String,
}

/// The longest an agent holds a `watch_power` request.
pub const MAX_WATCH_MS: u64 = 60_000;

#[derive(Debug, Serialize, Deserialize)]
pub struct DeleteDriveArgs {
    pub vm_name: String,
}

/// `hello`'s answer: the fingerprint of the certificate the agent serves (empty over http).
#[derive(Debug, Serialize, Deserialize)]
pub struct Hello {
    pub fingerprint: String,
    pub version: String,
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn mac(key: &AgentKey) -> Hmac<Sha256> {
    Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes any key length")
}

fn request_material(method: &str, path: &str, time: &str, nonce: &str, body: &[u8]) -> String {
    format!("req\n{method}\n{path}\n{time}\n{nonce}\n{}", sha256_hex(body))
}

fn answer_material(nonce: &str, status: u16, body: &[u8], fingerprint: &str) -> String {
    format!("resp\n{nonce}\n{status}\n{}\n{fingerprint}", sha256_hex(body))
}

pub fn sign_request(key: &AgentKey, method: &str, path: &str, time: &str, nonce: &str, body: &[u8]) -> String {
    let mut m = mac(key);
    m.update(request_material(method, path, time, nonce, body).as_bytes());
    hex(&m.finalize().into_bytes())
}

pub fn sign_answer(key: &AgentKey, nonce: &str, status: u16, body: &[u8], fingerprint: &str) -> String {
    let mut m = mac(key);
    m.update(answer_material(nonce, status, body, fingerprint).as_bytes());
    hex(&m.finalize().into_bytes())
}

/// Constant-time check of a hex signature.
fn verify(m: Hmac<Sha256>, signature_hex: &str) -> bool {
    let Some(sig) = unhex(signature_hex) else { return false };
    m.verify_slice(&sig).is_ok()
}

pub fn verify_request(
    key: &AgentKey,
    method: &str,
    path: &str,
    time: &str,
    nonce: &str,
    body: &[u8],
    signature_hex: &str,
) -> bool {
    let mut m = mac(key);
    m.update(request_material(method, path, time, nonce, body).as_bytes());
    verify(m, signature_hex)
}

pub fn verify_answer(
    key: &AgentKey,
    nonce: &str,
    status: u16,
    body: &[u8],
    fingerprint: &str,
    signature_hex: &str,
) -> bool {
    let mut m = mac(key);
    m.update(answer_material(nonce, status, body, fingerprint).as_bytes());
    verify(m, signature_hex)
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_bind_every_field() {
        let k = AgentKey::derive("root", "pw");
        let s = sign_request(&k, "POST", "/v1/ping", "1", "n", b"{}");
        assert!(verify_request(&k, "POST", "/v1/ping", "1", "n", b"{}", &s));
        assert!(!verify_request(&k, "POST", "/v1/connect", "1", "n", b"{}", &s));
        assert!(!verify_request(&k, "POST", "/v1/ping", "2", "n", b"{}", &s));
        assert!(!verify_request(&k, "POST", "/v1/ping", "1", "m", b"{}", &s));
        assert!(!verify_request(&k, "POST", "/v1/ping", "1", "n", b"{ }", &s));
        assert!(!verify_request(
            &AgentKey::derive("root", "other"),
            "POST",
            "/v1/ping",
            "1",
            "n",
            b"{}",
            &s
        ));
        let a = sign_answer(&k, "n", 200, b"x", "fp");
        assert!(verify_answer(&k, "n", 200, b"x", "fp", &a));
        assert!(!verify_answer(&k, "n", 200, b"x", "other-fp", &a));
        assert!(!verify_answer(&k, "n", 401, b"x", "fp", &a));
        assert!(!verify_answer(&k, "n", 200, b"x", "fp", "zz"));
    }

    #[test]
    fn op_names_round_trip() {
        for name in [
            "hello",
            "connect",
            "ping",
            "start_vm",
            "put_config_drive",
            "watch_power",
            "snapshot_disk",
            "revert_disk",
            "delete_snapshot",
            "template_from",
        ] {
            assert_eq!(Op::from_name(name).map(Op::path), Some(format!("/v1/{name}").as_str()));
        }
        assert_eq!(Op::from_name("format_disk"), None);
    }
}
