//! The host side: an [`Agent`] behind `POST /v1/<op>`, requests checked, answers signed.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use ferrostack_agent_api::{Agent, AgentError, AgentKey, ConfigDriveImage, DiskFile, SnapshotFile, VmSpec};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::json;

use crate::tls::TlsIdentity;
use crate::wire::{self, Op, H_NONCE, H_SIGNATURE, H_TIME, MAX_SKEW_MS};

/// Nonces remembered against replay; older ones fall out of the skew window anyway.
const REPLAY_CAPACITY: usize = 100_000;

pub struct AgentServer {
    agent: Arc<dyn Agent>,
    key: AgentKey,
    fingerprint: String,
    seen: Mutex<Replay>,
}

#[derive(Default)]
struct Replay {
    order: VecDeque<(i64, String)>,
    set: HashMap<String, i64>,
}

impl Replay {
    /// Record a nonce; false if it was seen within the window.
    fn fresh(&mut self, nonce: &str, now: i64) -> bool {
        while let Some((t, _)) = self.order.front() {
            if now - *t > 2 * MAX_SKEW_MS || self.order.len() >= REPLAY_CAPACITY {
                if let Some((_, n)) = self.order.pop_front() {
                    self.set.remove(&n);
                }
            } else {
                break;
            }
        }
        if self.set.contains_key(nonce) {
            return false;
        }
        self.set.insert(nonce.to_string(), now);
        self.order.push_back((now, nonce.to_string()));
        true
    }
}

impl AgentServer {
    /// `fingerprint` is that of the TLS certificate served ([`TlsIdentity::fingerprint`]),
    /// empty over plain http.
    pub fn new(agent: Arc<dyn Agent>, key: AgentKey, fingerprint: String) -> Arc<AgentServer> {
        Arc::new(AgentServer {
            agent,
            key,
            fingerprint,
            seen: Mutex::new(Replay::default()),
        })
    }

    fn check(&self, op: &str, headers: &HeaderMap, body: &[u8]) -> Result<String, &'static str> {
        let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).map(str::to_string);
        let (Some(time), Some(nonce), Some(sig)) = (h(H_TIME), h(H_NONCE), h(H_SIGNATURE)) else {
            return Err("unsigned request");
        };
        let path = format!("/v1/{op}");
        if !wire::verify_request(&self.key, "POST", &path, &time, &nonce, body, &sig) {
            return Err("bad signature (wrong credentials?)");
        }
        let now = wire::now_ms();
        match time.parse::<i64>() {
            Ok(t) if (now - t).abs() <= MAX_SKEW_MS => {}
            Ok(_) | Err(_) => return Err("request time outside the allowed window (check both clocks)"),
        }
        if nonce.len() < 16 || !self.seen.lock().unwrap_or_else(|p| p.into_inner()).fresh(&nonce, now) {
            return Err("replayed request");
        }
        Ok(nonce)
    }

    fn answer(&self, nonce: &str, status: StatusCode, body: Vec<u8>) -> Response {
        let sig = wire::sign_answer(&self.key, nonce, status.as_u16(), &body, &self.fingerprint);
        let mut r = (status, body).into_response();
        r.headers_mut()
            .insert("content-type", HeaderValue::from_static("application/json"));
        if let Ok(v) = HeaderValue::from_str(&sig) {
            r.headers_mut().insert(H_SIGNATURE, v);
        }
        r
    }

    async fn dispatch(&self, op: Op, body: &[u8]) -> Result<serde_json::Value, AgentError> {
        let a = &self.agent;
        match op {
            Op::Hello => to_value(wire::Hello {
                fingerprint: self.fingerprint.clone(),
                version: env!("CARGO_PKG_VERSION").to_string(),
            }),
            Op::Connect => to_value(a.connect().await?),
            Op::Ping => to_value(a.ping().await?),
            Op::StartVm => {
                let spec: VmSpec = args(body)?;
                to_value(a.start_vm(&spec).await?)
            }
            Op::StopVm => {
                let s: wire::StopArgs = args(body)?;
                to_value(a.stop_vm(&s.name, s.force).await?)
            }
            Op::RebootVm => {
                let s: wire::VmName = args(body)?;
                to_value(a.reboot_vm(&s.name).await?)
            }
            Op::DestroyVm => {
                let s: wire::VmName = args(body)?;
                to_value(a.destroy_vm(&s.name).await?)
            }
            Op::ProgramRouter => {
                let s: wire::ProgramArgs = args(body)?;
                to_value(a.program_router(&s.router, &s.config).await?)
            }
            Op::PutConfigDrive => {
                let s: wire::DriveArgs = args(body)?;
                let iso = base64::engine::general_purpose::STANDARD
                    .decode(s.iso_base64.as_bytes())
                    .map_err(|e| AgentError::Failed(format!("config drive is not base64: {e}")))?;
                let image = ConfigDriveImage {
                    vm_name: s.vm_name,
                    file_name: s.file_name,
                    iso,
                };
                to_value(a.put_config_drive(&image).await?)
            }
            Op::DeleteConfigDrive => {
                let s: wire::DeleteDriveArgs = args(body)?;
                to_value(a.delete_config_drive(&s.vm_name).await?)
            }
            Op::AttachDisk => {
                let s: wire::AttachDiskArgs = args(body)?;
                to_value(a.attach_disk(&s.vm_name, &s.disk).await?)
            }
            Op::DetachDisk => {
                let s: wire::DetachDiskArgs = args(body)?;
                to_value(a.detach_disk(&s.vm_name, &s.file).await?)
            }
            Op::ResizeDisk => {
                let s: wire::ResizeDiskArgs = args(body)?;
                to_value(a.resize_disk(s.vm_name.as_deref(), &s.file, s.size_bytes).await?)
            }
            Op::DeleteDisk => {
                let f: DiskFile = args(body)?;
                to_value(a.delete_disk(&f).await?)
            }
            Op::SnapshotDisk => {
                let s: wire::SnapshotDiskArgs = args(body)?;
                to_value(a.snapshot_disk(s.vm_name.as_deref(), &s.file, &s.snapshot).await?)
            }
            Op::RevertDisk => {
                let s: wire::RevertDiskArgs = args(body)?;
                to_value(a.revert_disk(&s.file, &s.snapshot).await?)
            }
            Op::DeleteSnapshot => {
                let s: SnapshotFile = args(body)?;
                to_value(a.delete_snapshot(&s).await?)
            }
            Op::TemplateFrom => {
                let s: wire::TemplateFromArgs = args(body)?;
                to_value(a.template_from(&s.source, &s.template).await?)
            }
            Op::WatchPower => {
                let s: wire::WatchArgs = args(body)?;
                to_value(a.watch_power(s.seen, s.wait_ms.min(wire::MAX_WATCH_MS)).await?)
            }
        }
    }
}

fn args<T: DeserializeOwned>(body: &[u8]) -> Result<T, AgentError> {
    serde_json::from_slice(body).map_err(|e| AgentError::Failed(format!("malformed request: {e}")))
}

fn to_value<T: Serialize>(v: T) -> Result<serde_json::Value, AgentError> {
    serde_json::to_value(v).map_err(|e| AgentError::Failed(format!("cannot encode the answer: {e}")))
}

async fn handle(
    State(s): State<Arc<AgentServer>>,
    Path(op): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(known) = Op::from_name(&op) else {
        return (StatusCode::NOT_FOUND, "unknown operation").into_response();
    };
    let nonce = match s.check(&op, &headers, &body) {
        Ok(n) => n,
        Err(why) => {
            tracing::warn!(op = %op, reason = why, "refused an agent request");
            let body = serde_json::to_vec(&json!({ "error": why })).unwrap_or_default();
            // Signed with an empty nonce: a client that holds the key can tell a real refusal.
            return s.answer("", StatusCode::UNAUTHORIZED, body);
        }
    };
    let result = s.dispatch(known, &body).await;
    if let Err(e) = &result {
        tracing::info!(op = %op, error = %e, "agent operation failed");
    }
    let envelope = match result {
        Ok(v) => json!({ "ok": v }),
        Err(e) => json!({ "err": e }),
    };
    let body = serde_json::to_vec(&envelope).unwrap_or_default();
    s.answer(&nonce, StatusCode::OK, body)
}

/// The agent's routes, for embedding.
pub fn router(server: Arc<AgentServer>) -> axum::Router {
    axum::Router::new()
        .route("/v1/{op}", axum::routing::post(handle))
        .with_state(server)
}

/// Serve `agent` on `listener` until `shutdown` completes: over TLS with `tls` when given,
/// plain http otherwise (loopback).
pub async fn serve(
    listener: tokio::net::TcpListener,
    agent: Arc<dyn Agent>,
    key: AgentKey,
    tls: Option<TlsIdentity>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let fingerprint = tls.as_ref().map(TlsIdentity::fingerprint).unwrap_or_default();
    let app = router(AgentServer::new(agent, key, fingerprint));
    let Some(identity) = tls else {
        return axum::serve(listener, app).with_graceful_shutdown(shutdown).await;
    };
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(identity.server_config()?));
    tokio::pin!(shutdown);
    // Connections end with the server: a stopped agent must not keep answering on old links.
    let mut conns = tokio::task::JoinSet::new();
    loop {
        while conns.try_join_next().is_some() {}
        let (tcp, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => {
                conns.abort_all();
                return Ok(());
            }
        };
        let acceptor = acceptor.clone();
        let app = app.clone();
        conns.spawn(async move {
            let stream = match tokio::time::timeout(std::time::Duration::from_secs(10), acceptor.accept(tcp)).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => return,
            };
            let service = hyper_util::service::TowerToHyperService::new(app);
            let r = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
            if let Err(e) = r {
                tracing::debug!(%peer, error = %e, "agent connection ended with an error");
            }
        });
    }
}
