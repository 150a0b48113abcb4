//! The HTTP link end to end: a simulated host served by [`serve`], opened by [`HttpConnector`].

use std::sync::Arc;

use ferrostack_agent_api::{
    Agent, AgentError, AgentKey, ConfigDriveImage, Connector, HostLocation, PowerState, VmKind, VmSpec,
};
use ferrostack_agent_http::{serve, HttpConnector, TlsIdentity};
use tokio::sync::oneshot;

fn loc() -> HostLocation {
    HostLocation {
        zone: "z".into(),
        pod: "p".into(),
        cluster: "c".into(),
        host: "h".into(),
    }
}

fn spec(name: &str) -> VmSpec {
    VmSpec {
        name: name.into(),
        uuid: "00000000-0000-4000-8000-000000000001".into(),
        kind: VmKind::User,
        cpus: 1,
        cpu_speed_mhz: 500,
        memory_bytes: 256 << 20,
        root_disk: None,
        nics: vec![],
        boot_args: Default::default(),
        config_drive: None,
        data_disks: Vec::new(),
        iso: None,
    }
}

/// A running agent server and what stops it.
struct Served {
    port: u16,
    stop: Option<oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

async fn start(key: AgentKey, tls_dir: Option<&std::path::Path>, port: u16) -> Served {
    let dir = tempfile::tempdir().unwrap();
    let sim = ferrostack_sim::Simulator::new(dir.path().join("sim"));
    let agent = sim.open("http://sim/c/h1", &loc(), None).await.unwrap();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let tls = tls_dir.map(|d| TlsIdentity::load_or_create(d).unwrap());
    let (tx, rx) = oneshot::channel();
    tokio::spawn(serve(listener, agent, key, tls, async move {
        let _ = rx.await;
    }));
    Served {
        port,
        stop: Some(tx),
        _dir: dir,
    }
}

async fn open(url: &str, key: &AgentKey) -> Arc<dyn Agent> {
    HttpConnector::new("KVM").open(url, &loc(), Some(key)).await.unwrap()
}

async fn lifecycle(agent: &dyn Agent) {
    let info = agent.connect().await.unwrap();
    assert!(info.memory_bytes > 0);
    agent.start_vm(&spec("i-2-7-VM")).await.unwrap();
    let report = agent.ping().await.unwrap();
    assert_eq!(report.vms.get("i-2-7-VM"), Some(&PowerState::PowerOn));
    agent
        .put_config_drive(&ConfigDriveImage {
            vm_name: "i-2-7-VM".into(),
            file_name: "i-2-7-VM.iso".into(),
            iso: vec![1, 2, 3, 255],
        })
        .await
        .unwrap();
    agent.delete_config_drive("i-2-7-VM").await.unwrap();
    agent.stop_vm("i-2-7-VM", false).await.unwrap();
    assert_eq!(
        agent.ping().await.unwrap().vms.get("i-2-7-VM"),
        Some(&PowerState::PowerOff)
    );
    agent.destroy_vm("i-2-7-VM").await.unwrap();
    assert!(!agent.ping().await.unwrap().vms.contains_key("i-2-7-VM"));
}

#[tokio::test]
async fn http_link_carries_the_whole_contract() {
    let key = AgentKey::derive("root", "s3cret");
    let s = start(key.clone(), None, 0).await;
    let agent = open(&format!("http://127.0.0.1:{}", s.port), &key).await;
    lifecycle(agent.as_ref()).await;
}

/// A VM deployed from an ISO: a blank root disk of a size and a bootable ISO reach the host
/// as they were sent.
#[tokio::test]
async fn http_link_carries_a_blank_root_disk_and_a_boot_iso() {
    use ferrostack_agent_api::{DiskFormat, IsoSpec, PoolSpec, RootDisk, TemplateSpec};
    let key = AgentKey::derive("root", "s3cret");
    let dir = tempfile::tempdir().unwrap();
    let sim = ferrostack_sim::Simulator::new(dir.path().join("sim"));
    let host = sim.open("http://sim/c/h1", &loc(), None).await.unwrap();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(serve(listener, host, key.clone(), None, async move {
        let _ = rx.await;
    }));
    let agent = open(&format!("http://127.0.0.1:{port}"), &key).await;
    agent.connect().await.unwrap();
    let mut s = spec("i-2-9-VM");
    s.root_disk = Some(RootDisk {
        volume: "root.qcow2".into(),
        size_bytes: Some(3 << 30),
        pool: PoolSpec {
            uuid: "p1".into(),
            path: "/var/lib/pool".into(),
        },
        template: None,
    });
    s.iso = Some(IsoSpec {
        image: TemplateSpec {
            uuid: "iso-1".into(),
            url: "http://images.example/boot.iso".into(),
            format: DiskFormat::Raw,
            checksum: Some("{SHA-256}00ff".into()),
            direct_download: false,
        },
        boot: true,
    });
    agent.start_vm(&s).await.unwrap();
    assert_eq!(sim.vm_spec("i-2-9-VM"), Some(s));
    let _ = tx.send(());
}

#[tokio::test]
async fn wrong_credentials_are_refused_both_ways() {
    let key = AgentKey::derive("root", "s3cret");
    let s = start(key, None, 0).await;
    let wrong = open(
        &format!("http://127.0.0.1:{}", s.port),
        &AgentKey::derive("root", "guess"),
    )
    .await;
    match wrong.connect().await {
        Err(AgentError::Unreachable(m)) => assert!(m.contains("credentials"), "{m}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    // A server holding another key can't pass as the host either: its answers don't verify.
    let other = start(AgentKey::derive("root", "impostor"), None, 0).await;
    let client = open(
        &format!("http://127.0.0.1:{}", other.port),
        &AgentKey::derive("root", "s3cret"),
    )
    .await;
    assert!(matches!(client.ping().await, Err(AgentError::Unreachable(_))));
}

#[tokio::test]
async fn replayed_and_unsigned_requests_are_refused() {
    let key = AgentKey::derive("root", "s3cret");
    let s = start(key.clone(), None, 0).await;
    let url = format!("http://127.0.0.1:{}/v1/ping", s.port);
    let http = ferrostack_agent_http::plain_http_client();
    let unsigned = http.post(&url).body("{}").send().await.unwrap();
    assert_eq!(unsigned.status().as_u16(), 401);

    let time = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        .to_string();
    let nonce = "00112233445566778899aabbccddeeff";
    let sig = sign(&key, "/v1/ping", &time, nonce, b"{}");
    let send = || {
        http.post(&url)
            .header("x-ferrostack-time", &time)
            .header("x-ferrostack-nonce", nonce)
            .header("x-ferrostack-signature", &sig)
            .body("{}")
            .send()
    };
    assert_eq!(send().await.unwrap().status().as_u16(), 200);
    assert_eq!(send().await.unwrap().status().as_u16(), 401, "a replay must be refused");

    let old = "1000";
    let sig = sign(&key, "/v1/ping", old, "ffeeddccbbaa99887766554433221100", b"{}");
    let stale = http
        .post(&url)
        .header("x-ferrostack-time", old)
        .header("x-ferrostack-nonce", "ffeeddccbbaa99887766554433221100")
        .header("x-ferrostack-signature", &sig)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status().as_u16(), 401, "a request from long ago must be refused");
}

fn sign(key: &AgentKey, path: &str, time: &str, nonce: &str, body: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    use sha2::{Digest, Sha256};
    let body_hash: String = Sha256::digest(body).iter().map(|b| format!("{b:02x}")).collect();
    let mut m = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    m.update(format!("req\nPOST\n{path}\n{time}\n{nonce}\n{body_hash}").as_bytes());
    m.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn tls_link_is_bound_to_the_agents_certificate() {
    let key = AgentKey::derive("root", "s3cret");
    let a_dir = tempfile::tempdir().unwrap();
    let s = start(key.clone(), Some(a_dir.path()), 0).await;
    let port = s.port;
    let agent = open(&format!("https://127.0.0.1:{port}"), &key).await;
    lifecycle(agent.as_ref()).await;
    // The identity is kept: a restarted agent presents the same certificate.
    let again = TlsIdentity::load_or_create(a_dir.path()).unwrap();
    assert_eq!(
        again.fingerprint(),
        TlsIdentity::load_or_create(a_dir.path()).unwrap().fingerprint()
    );

    // Something else takes the host's place with its own certificate (and, not holding the
    // key, can't sign for it): the pinned link refuses it.
    drop(s);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let b_dir = tempfile::tempdir().unwrap();
    let _impostor = start(AgentKey::derive("root", "impostor"), Some(b_dir.path()), port).await;
    match agent.ping().await {
        Err(AgentError::Unreachable(_)) => {}
        other => panic!("an impostor must not be accepted: {other:?}"),
    }
}
