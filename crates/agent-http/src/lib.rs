//! The agent contract ([`ferrostack_agent_api::Agent`]) over HTTP, both ends.
//!
//! A KVM host runs `ferrostack agent`, which serves its libvirt [`Agent`] with [`serve`]; the
//! management server opens it with [`HttpConnector`] and calls it like any other agent.
//!
//! # Protocol
//!
//! `POST /v1/<op>` with the operation's arguments as JSON (`connect`, `ping`, `start_vm`,
//! `stop_vm`, `reboot_vm`, `destroy_vm`, `program_router`, `put_config_drive`,
//! `delete_config_drive`, and `hello`), answered `200 {"ok": …}` or `200 {"err": AgentError}`.
//! The default port is 8250, the port CloudStack's own KVM agent link uses.
//!
//! # Authentication, both ways
//!
//! Both ends hold the same [`AgentKey`] (derived from the `username`/`password` an operator
//! gives `addHost` and starts the agent with). Every request carries its time, a random nonce
//! and an HMAC-SHA256 over method, path, time, nonce and the body's SHA-256; the agent refuses
//! (401) a bad signature, a time more than [`MAX_SKEW_MS`] away, or a nonce it has seen. Every
//! answer carries an HMAC over the request's nonce, the status, the body's SHA-256 and the
//! agent's TLS certificate fingerprint, so the management server knows the host answered and
//! not something in between.
//!
//! # Encryption
//!
//! Off loopback the agent serves TLS with a self-signed certificate it keeps in its data
//! directory ([`TlsIdentity`]). No CA can vouch for it, so the management server binds the
//! channel instead: its first request on a link is `hello`, which carries nothing secret, and
//! the signed answer names the certificate the agent holds; it must be the one the TLS
//! handshake showed. From then on the link accepts only that certificate (pinned) and every
//! answer's signature covers it again. A man in the middle has a different certificate and
//! cannot sign for the real one.
//!
//! Bodies (user data, passwords, config drives) and keys are never logged.

mod client;
mod server;
mod tls;
mod wire;

pub use client::{HttpAgent, HttpConnector, DEFAULT_PORT};
pub use server::{router, serve, AgentServer};
pub use tls::{tls_wanted, TlsIdentity, TlsMode};
pub use wire::MAX_SKEW_MS;

pub use ferrostack_agent_api::{Agent, AgentKey};

/// A plain reqwest client for tests and tools that speak to an agent by hand (reqwest has no
/// default TLS provider in this build, so `reqwest::Client::new()` would panic).
pub fn plain_http_client() -> reqwest::Client {
    let cfg = tls::client_config(tls::Pin::new()).expect("TLS defaults");
    reqwest::Client::builder()
        .use_preconfigured_tls(cfg)
        .build()
        .expect("HTTP client")
}
