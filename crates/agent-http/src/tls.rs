//! TLS: the agent's self-signed identity, and the management server's pinning verifier.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use sha2::{Digest, Sha256};

use crate::wire::hex;

/// When the agent serves TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// TLS unless the listen address is loopback.
    Auto,
    On,
    Off,
}

pub fn tls_wanted(addr: &SocketAddr, mode: TlsMode) -> bool {
    match mode {
        TlsMode::Auto => !addr.ip().is_loopback(),
        TlsMode::On => true,
        TlsMode::Off => false,
    }
}

pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The agent's certificate and key: `DIR/cert.pem` and `DIR/key.pem` (mode 0600), made on
/// first use and kept, so the fingerprint survives agent restarts.
pub struct TlsIdentity {
    cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
}

impl TlsIdentity {
    pub fn load_or_create(dir: &Path) -> std::io::Result<TlsIdentity> {
        let cert_path = dir.join("cert.pem");
        let key_path = dir.join("key.pem");
        if !cert_path.exists() || !key_path.exists() {
            std::fs::create_dir_all(dir)?;
            let host = hostname();
            let ck = rcgen::generate_simple_self_signed(vec![host, "ferrostack-agent".to_string()])
                .map_err(|e| std::io::Error::other(format!("cannot make the agent's certificate: {e}")))?;
            write_private(&key_path, ck.key_pair.serialize_pem().as_bytes())?;
            std::fs::write(&cert_path, ck.cert.pem())?;
        }
        let cert = rustls_pemfile::certs(&mut std::io::BufReader::new(std::fs::File::open(&cert_path)?))
            .next()
            .ok_or_else(|| std::io::Error::other(format!("{} holds no certificate", cert_path.display())))??;
        let key = rustls_pemfile::private_key(&mut std::io::BufReader::new(std::fs::File::open(&key_path)?))?
            .ok_or_else(|| std::io::Error::other(format!("{} holds no private key", key_path.display())))?;
        Ok(TlsIdentity { cert, key })
    }

    /// SHA-256 of the certificate (DER), lowercase hex.
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.cert)
    }

    pub(crate) fn server_config(&self) -> std::io::Result<rustls::ServerConfig> {
        let mut cfg = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(std::io::Error::other)?
            .with_no_client_auth()
            .with_single_cert(vec![self.cert.clone()], self.key.clone_key())
            .map_err(std::io::Error::other)?;
        cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(cfg)
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(path)?.write_all(data)
}

pub(crate) fn fingerprint(cert: &CertificateDer<'_>) -> String {
    hex(&Sha256::digest(cert.as_ref()))
}

/// The management server's verifier for one agent link. Before a pin it accepts any
/// certificate (whose key signs the handshake) and remembers it; `hello` then checks the agent
/// signed for exactly that certificate and pins it. After the pin only that certificate passes.
#[derive(Debug)]
pub(crate) struct Pin {
    state: Mutex<PinState>,
    provider: Arc<CryptoProvider>,
}

#[derive(Debug, Default)]
struct PinState {
    pinned: Option<String>,
    last_seen: Option<String>,
}

impl Pin {
    pub fn new() -> Arc<Pin> {
        Arc::new(Pin {
            state: Mutex::new(PinState::default()),
            provider: provider(),
        })
    }
    pub fn pinned(&self) -> Option<String> {
        self.lock().pinned.clone()
    }
    pub fn last_seen(&self) -> Option<String> {
        self.lock().last_seen.clone()
    }
    pub fn pin(&self, fingerprint: String) {
        self.lock().pinned = Some(fingerprint);
    }
    pub fn unpin(&self) {
        self.lock().pinned = None;
    }
    fn lock(&self) -> std::sync::MutexGuard<'_, PinState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl ServerCertVerifier for Pin {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let fp = fingerprint(end_entity);
        let mut s = self.lock();
        if let Some(p) = &s.pinned {
            if *p != fp {
                return Err(rustls::Error::General(format!(
                    "the agent's certificate changed (pinned {p}, offered {fp})"
                )));
            }
        }
        s.last_seen = Some(fp);
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

pub(crate) fn client_config(pin: Arc<Pin>) -> Result<rustls::ClientConfig, rustls::Error> {
    Ok(rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(pin)
        .with_no_client_auth())
}
