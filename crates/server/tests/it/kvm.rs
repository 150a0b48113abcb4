//! Real VMs on a real libvirt: `ferrostack agent --backend libvirt` drives a private libvirtd
//! (QEMU TCG) in a network namespace this test creates, booting the test guest image
//! (`scripts/kvm/build-test-image.sh`). The guest reports on its serial console what it saw:
//! its address, uuid and the SHA-256 of its user data.
//!
//! Needs root, libvirt, QEMU and the image tools (`scripts/kvm/install-packages.sh`). Without
//! them the test says why and passes as skipped, unless `FERROSTACK_KVM_TESTS=require`
//! (what `.ci/run` sets), which makes a missing prerequisite a failure.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::Value;
use sha2::Digest;

use ferrostack_app::followup::BACKOFF_CAP_MS;
use ferrostack_types::time::now_ms;

use crate::common::{Client, TestServer};
use crate::kvmhost::{configdrive_only_offering, kvm_edge, kvm_template, vm, AgentProcess};
use crate::setup::{configdrive_offering, deploy, offering_id, routers_of, shared_network, Cloud};

pub(crate) fn scripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/kvm")
}

/// Why this machine can't run the test, if it can't.
fn missing_prerequisite() -> Option<String> {
    let uid = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return Some("not root".into());
    }
    for bin in [
        "libvirtd",
        "virsh",
        "qemu-system-x86_64",
        "qemu-img",
        "ip",
        "mkfs.vfat",
        "syslinux",
        "mcopy",
    ] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {bin}")])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if !found {
            return Some(format!("{bin} is not installed (scripts/kvm/install-packages.sh)"));
        }
    }
    None
}

/// The private libvirtd and its namespace; `down` runs even when the test fails.
pub(crate) struct Libvirt {
    dir: PathBuf,
    ns: String,
    uri: String,
}

impl Libvirt {
    fn up(dir: &Path) -> Libvirt {
        let ns = format!("fsk-{}", std::process::id());
        let out = Command::new(scripts().join("libvirtd-netns.sh"))
            .args(["up", &dir.display().to_string(), &ns])
            .output()
            .expect("libvirtd-netns.sh");
        let lv = Libvirt {
            dir: dir.to_path_buf(),
            ns,
            uri: String::from_utf8_lossy(&out.stdout).trim().to_string(),
        };
        assert!(
            out.status.success(),
            "libvirtd did not start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        lv
    }

    pub(crate) fn virsh(&self, args: &[&str]) -> String {
        let out = Command::new("virsh")
            .arg("-c")
            .arg(&self.uri)
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    pub(crate) fn domains(&self) -> Vec<String> {
        self.virsh(&["list", "--all", "--name"])
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// Tap devices in the namespace (libvirt names them vnetN).
    fn taps(&self) -> Vec<String> {
        let out = Command::new("ip")
            .args(["-n", &self.ns, "-o", "link"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split(": ").nth(1))
            .map(|n| n.split('@').next().unwrap_or(n).to_string())
            .filter(|n| n.starts_with("vnet"))
            .collect()
    }
}

impl Drop for Libvirt {
    fn drop(&mut self) {
        let _ = Command::new(scripts().join("libvirtd-netns.sh"))
            .args(["down", &self.dir.display().to_string(), &self.ns])
            .status();
    }
}

/// Run one of the scripts that build (or reuse) a test image; its last line names the file
/// (`<path> (<details>)`).
pub(crate) fn build_test_file(script: &str) -> PathBuf {
    let build = Command::new(scripts().join(script)).output().unwrap();
    assert!(build.status.success(), "{}", String::from_utf8_lossy(&build.stderr));
    PathBuf::from(
        String::from_utf8_lossy(&build.stdout)
            .lines()
            .last()
            .unwrap()
            .split(" (")
            .next()
            .unwrap(),
    )
}

/// Serve a file on loopback as `/<name>` for the host to download (a template, an ISO).
pub(crate) async fn serve_file(file: PathBuf, name: &str) -> (String, tokio::task::JoinHandle<()>) {
    let bytes = std::fs::read(&file).unwrap();
    let app = axum::Router::new().route(
        &format!("/{name}"),
        axum::routing::get(move || {
            let b = bytes.clone();
            async move { b }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/{name}", l.local_addr().unwrap());
    let h = tokio::spawn(async move {
        let _ = axum::serve(l, app).await;
    });
    (url, h)
}

/// The guest's report lines so far.
fn reports(console: &Path) -> Vec<String> {
    std::fs::read_to_string(console)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with("ferrostack-guest: ip="))
        .map(str::to_string)
        .collect()
}

/// The guest's first report line, once it has printed it.
pub(crate) async fn guest_report(console: &Path, within: Duration) -> String {
    guest_report_after(console, 0, within).await
}

/// The guest's report after the first `seen` ones (a reboot prints another).
async fn guest_report_after(console: &Path, seen: usize, within: Duration) -> String {
    let end = Instant::now() + within;
    loop {
        let text = std::fs::read_to_string(console).unwrap_or_default();
        if let Some(l) = reports(console).get(seen) {
            return l.clone();
        }
        assert!(
            Instant::now() < end,
            "no report from the guest within {within:?}; console {}:\n{text}",
            console.display()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

pub(crate) fn field<'a>(line: &'a str, key: &str) -> &'a str {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(&format!("{key}=")))
        .unwrap_or("")
}

pub(crate) async fn deploy_ok(
    c: &Client,
    cloud: &Cloud,
    template: &str,
    net: &str,
    name: &str,
    user_data: &str,
) -> Value {
    let ud = base64::engine::general_purpose::STANDARD.encode(user_data);
    let (id, job) = deploy(c, cloud, template, net, name, &[("userdata", &ud)]).await;
    let j = c.wait_job(&job).await;
    assert_eq!(j["jobstatus"], 1, "deploy {name}: {j}");
    vm(c, &id).await
}

pub(crate) fn sha256_hex(s: &str) -> String {
    sha2::Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// KVM tests run one at a time: each boots guests under TCG on a machine of two cores.
pub(crate) static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Everything a KVM test stands on: a private libvirtd, an agent on it, a server with an edge
/// zone whose KVM host is that agent, and the test guest served for direct download and
/// registered (checksum included) as template `guest`. Dropped in reverse order of creation:
/// the agent is killed and libvirtd (with its namespace) removed even when the test fails.
pub(crate) struct Rig {
    pub(crate) t: TestServer,
    pub(crate) edge: Cloud,
    pub(crate) guest: String,
    image_url: String,
    checksum: String,
    pub(crate) pool: PathBuf,
    pub(crate) agent: AgentProcess,
    image_server: tokio::task::JoinHandle<()>,
    pub(crate) lv: Libvirt,
    _dir: tempfile::TempDir,
}

impl Rig {
    /// `None` (after saying why) when this machine can't run KVM tests and they are not required.
    pub(crate) async fn up() -> Option<Rig> {
        if let Some(why) = missing_prerequisite() {
            assert!(
                std::env::var("FERROSTACK_KVM_TESTS").as_deref() != Ok("require"),
                "KVM test required but {why}"
            );
            eprintln!("skipped: {why}");
            return None;
        }
        let image = build_test_file("build-test-image.sh");
        let image_sha = std::fs::read_to_string(image.with_extension("qcow2.sha256")).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let lv = Libvirt::up(&dir.path().join("host"));
        let (image_url, image_server) = serve_file(image, "guest.qcow2").await;
        let agent = AgentProcess::start(
            dir.path(),
            "kvm-pw",
            &[
                "--backend",
                "libvirt",
                "--libvirt-uri",
                &lv.uri,
                "--domain-type",
                "qemu",
                "--netns",
                &lv.ns,
                "--stop-timeout-secs",
                "10",
            ],
        );
        let t = TestServer::start().await;
        let pool = dir.path().join("pool");
        let edge = kvm_edge(&t.admin, "edge", &agent.url, "kvm-pw", &pool).await;
        let checksum = format!("{{SHA-256}}{}", image_sha.trim());
        let guest = kvm_template(&t.admin, &edge, "guest", &image_url, Some(&checksum), false).await;
        Some(Rig {
            t,
            edge,
            guest,
            image_url,
            checksum,
            pool,
            agent,
            image_server,
            lv,
            _dir: dir,
        })
    }

    /// Register a direct-download system VM template and make it the zone's router template.
    async fn system_template(&self, name: &str) -> String {
        let c = &self.t.admin;
        let id = kvm_template(c, &self.edge, name, &self.image_url, Some(&self.checksum), true).await;
        let r = c
            .get(
                "updateConfiguration",
                &[
                    ("name", "router.template.kvm"),
                    ("value", name),
                    ("zoneid", &self.edge.zone.zone),
                ],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        id
    }

    pub(crate) fn console(&self, instance: &str) -> PathBuf {
        self.agent.data_dir.join("console").join(format!("{instance}.log"))
    }

    /// Nothing of any VM or router is left on the host: no domain, no tap, no volume (the
    /// template and ISO caches aside), no config drive, no router configuration.
    pub(crate) fn assert_host_clean(&self) {
        assert!(self.lv.domains().is_empty(), "domains left: {:?}", self.lv.domains());
        assert!(self.lv.taps().is_empty(), "taps left: {:?}", self.lv.taps());
        let names = |d: &Path| -> Vec<String> {
            std::fs::read_dir(d)
                .map(|rd| {
                    rd.filter_map(|e| e.ok())
                        .map(|e| e.file_name().to_string_lossy().to_string())
                        .collect()
                })
                .unwrap_or_default()
        };
        // Templates and ISOs are cached per pool, shared by VMs: they stay; the snapshot
        // directory stays when it is empty.
        let snapshots = names(&self.pool.join("snapshots"));
        assert!(snapshots.is_empty(), "snapshots left on the pool: {snapshots:?}");
        let volumes: Vec<_> = names(&self.pool)
            .into_iter()
            .filter(|n| n != "templates" && n != "isos" && n != "snapshots")
            .collect();
        assert!(volumes.is_empty(), "volumes left on the pool: {volumes:?}");
        let drives = names(&self.agent.data_dir.join("configdrive"));
        assert!(drives.is_empty(), "config drives left: {drives:?}");
        let routers = names(&self.agent.data_dir.join("routers"));
        assert!(routers.is_empty(), "router configurations left: {routers:?}");
    }

    pub(crate) async fn stop(self) {
        self.image_server.abort();
        self.t.stop().await;
    }
}

#[tokio::test]
async fn real_vms_boot_with_their_config_drive_and_leave_nothing_behind() {
    let _one = ONE_AT_A_TIME.lock().await;
    let Some(rig) = Rig::up().await else { return };
    let (t, c, edge, guest, lv, agent) = (&rig.t, &rig.t.admin, &rig.edge, &rig.guest, &rig.lv, &rig.agent);
    let image_url = &rig.image_url;
    rig.system_template("sys").await;

    // A wrong checksum is a clear failure of the deploy, not a hang.
    let bad = kvm_template(
        c,
        edge,
        "bad",
        image_url,
        Some(&format!("{{SHA-256}}{}", "0".repeat(64))),
        false,
    )
    .await;
    let cd_offering = configdrive_only_offering(c, "cd-only").await;
    let cd_net = shared_network(c, edge, "cd-net", &cd_offering, "201", 41).await;
    let (_, job) = deploy(c, edge, &bad, &cd_net, "bad", &[]).await;
    let j = c.wait_job(&job).await;
    assert_eq!(j["jobstatus"], 2, "{j}");
    assert!(
        j["jobresult"]["errortext"]
            .as_str()
            .unwrap()
            .contains("checksum mismatch"),
        "{j}"
    );

    // 1. ConfigDrive network: the guest takes its address, uuid and user data from the drive.
    let ud1 = "#cloud-config\nferrostack: web1\n";
    let deployed_at = Instant::now();
    let v1 = deploy_ok(c, edge, guest, &cd_net, "web1", ud1).await;
    let name1 = v1["instancename"].as_str().unwrap().to_string();
    let report = guest_report(&rig.console(&name1), Duration::from_secs(90)).await;
    // Measurements for the README (printed, never asserted: the machine may be busy).
    let rss = std::fs::read_to_string(format!("/proc/{}/status", agent.child.id()))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .unwrap_or_default()
        .to_string();
    eprintln!(
        "measured: deploy (template download included) to the guest's report {:.1} s; agent {rss}",
        deployed_at.elapsed().as_secs_f64()
    );
    assert_eq!(
        field(&report, "ip"),
        v1["nic"][0]["ipaddress"].as_str().unwrap(),
        "{report}"
    );
    assert_eq!(field(&report, "uuid"), v1["id"].as_str().unwrap(), "{report}");
    assert_eq!(field(&report, "userdata-sha256"), sha256_hex(ud1), "{report}");
    assert_eq!(field(&report, "source"), "configdrive", "{report}");
    assert!(lv.domains().contains(&name1));
    let xml = lv.virsh(&["dumpxml", &name1]);
    let mem_kib = v1["memory"].as_i64().unwrap() * 1024;
    assert!(xml.contains(&format!("<memory unit='KiB'>{mem_kib}</memory>")), "{xml}");
    assert!(
        xml.contains(&format!(">{}</vcpu>", v1["cpunumber"].as_i64().unwrap())),
        "{xml}"
    );
    assert!(xml.contains(v1["nic"][0]["macaddress"].as_str().unwrap()), "{xml}");

    // New user data reaches the running VM: its drive is swapped live, and after a reboot the
    // guest reads the new one.
    let ud1b = "#cloud-config\nferrostack: web1 again\n";
    let iso = agent.data_dir.join("configdrive").join(format!("{name1}.iso"));
    let iso_before = std::fs::read(&iso).unwrap_or_default();
    let j = c
        .get(
            "updateVirtualMachine",
            &[
                ("id", v1["id"].as_str().unwrap()),
                ("userdata", &base64::engine::general_purpose::STANDARD.encode(ud1b)),
            ],
        )
        .await;
    assert_eq!(j.status, 200, "{}", j.text);
    t.quiesce().await;
    assert_ne!(
        std::fs::read(&iso).unwrap_or_default(),
        iso_before,
        "the host's drive was not replaced"
    );
    let blk = lv.virsh(&["domblklist", &name1]);
    assert!(blk.contains(&format!("{name1}.iso")), "{blk}");
    let id1 = v1["id"].as_str().unwrap().to_string();
    let seen = reports(&rig.console(&name1)).len();
    assert_eq!(
        c.run_async("rebootVirtualMachine", &[("id", &id1)]).await["jobstatus"],
        1
    );
    let rebooted = guest_report_after(&rig.console(&name1), seen, Duration::from_secs(90)).await;
    assert_eq!(field(&rebooted, "userdata-sha256"), sha256_hex(ud1b), "{rebooted}");

    // 2. Router network: the router is a real domain on the host.
    let vr_net = shared_network(
        c,
        edge,
        "vr-net",
        &offering_id(c, "DefaultSharedNetworkOffering").await,
        "202",
        42,
    )
    .await;
    let v2 = deploy_ok(c, edge, guest, &vr_net, "web2", "#!/bin/sh\necho web2\n").await;
    let name2 = v2["instancename"].as_str().unwrap().to_string();
    let routers = routers_of(c, &vr_net).await;
    assert_eq!(routers.len(), 1);
    assert_eq!(routers[0]["state"], "Running", "{:?}", routers[0]);
    let router_name = routers[0]["name"].as_str().unwrap().to_string();
    assert!(lv.domains().contains(&router_name), "{:?}", lv.domains());
    guest_report(&rig.console(&name2), Duration::from_secs(90)).await;

    // 3. Stop leaves no domain but keeps the disk; start boots the same disk again.
    assert_eq!(c.run_async("stopVirtualMachine", &[("id", &id1)]).await["jobstatus"], 1);
    assert!(!lv.domains().contains(&name1));
    assert_eq!(
        c.run_async("startVirtualMachine", &[("id", &id1)]).await["jobstatus"],
        1
    );
    let again = guest_report(&rig.console(&name1), Duration::from_secs(90)).await;
    assert_eq!(field(&again, "userdata-sha256"), sha256_hex(ud1b));

    // 3b. A data disk: made on the VM's pool as an empty qcow2 and plugged into the running
    //     guest as vdb, grown live, unplugged, deleted (its file goes with a follow-up).
    let dof = c
        .get("createDiskOffering", &[("name", "kvm-custom"), ("customized", "true")])
        .await;
    let dof = dof.ok()["diskoffering"]["id"].as_str().unwrap().to_string();
    let j = c
        .run_async(
            "createVolume",
            &[
                ("name", "kvm-data"),
                ("diskofferingid", &dof),
                ("size", "1"),
                ("virtualmachineid", &id1),
            ],
        )
        .await;
    assert_eq!(j["jobstatus"], 1, "{j}");
    assert_eq!(j["jobresult"]["volume"]["state"], "Ready", "{j}");
    let vol = j["jobresult"]["volume"]["id"].as_str().unwrap().to_string();
    let blk = lv.virsh(&["domblklist", &name1]);
    let data_file = blk
        .lines()
        .find(|l| l.trim_start().starts_with("vdb"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or_else(|| panic!("no vdb in {blk}"))
        .to_string();
    assert!(data_file.ends_with(&format!("{vol}.qcow2")), "{blk}");
    let virtual_size = |path: &str| -> u64 {
        let out = Command::new("qemu-img")
            .args(["info", "-U", "--output=json", path])
            .output()
            .unwrap();
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        v["virtual-size"].as_u64().unwrap_or(0)
    };
    assert_eq!(virtual_size(&data_file), 1 << 30);
    let j = c.run_async("resizeVolume", &[("id", &vol), ("size", "2")]).await;
    assert_eq!(j["jobstatus"], 1, "{j}");
    assert_eq!(virtual_size(&data_file), 2 << 30, "grown live");
    let j = c.run_async("detachVolume", &[("id", &vol)]).await;
    assert_eq!(j["jobstatus"], 1, "{j}");
    // The guest lets go of the device asynchronously.
    let deadline = Instant::now() + Duration::from_secs(60);
    while lv.virsh(&["domblklist", &name1]).contains(&data_file) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(!lv.virsh(&["domblklist", &name1]).contains(&data_file), "unplugged");
    assert!(Path::new(&data_file).exists(), "a detached volume keeps its file");
    assert_eq!(c.get("deleteVolume", &[("id", &vol)]).await.ok()["success"], true);
    t.quiesce().await;
    assert!(!Path::new(&data_file).exists(), "a deleted volume's file is removed");

    // 4. destroyRouter: the router's domain and disk are gone from the host.
    let j = c
        .run_async("destroyRouter", &[("id", routers[0]["id"].as_str().unwrap())])
        .await;
    assert_eq!(j["jobstatus"], 1, "{j}");
    assert!(!lv.domains().contains(&router_name));

    // 5. Destroy with expunge: nothing of the VMs stays on the host.
    for v in [&v1, &v2] {
        expunge_vm(c, v["id"].as_str().unwrap()).await;
    }
    t.quiesce().await;
    rig.assert_host_clean();
    rig.stop().await;
}

/// Until `done` holds for the VM (a bounded wait for background work, not a timing check).
async fn wait_vm(c: &Client, id: &str, within: Duration, done: impl Fn(&Value) -> bool) -> Value {
    let end = Instant::now() + within;
    loop {
        let v = vm(c, id).await;
        if done(&v) {
            return v;
        }
        assert!(Instant::now() < end, "not reached within {within:?}: {v}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub(crate) async fn expunge_vm(c: &Client, id: &str) {
    let j = c
        .run_async("destroyVirtualMachine", &[("id", id), ("expunge", "true")])
        .await;
    assert_eq!(j["jobstatus"], 1, "{j}");
}

async fn destroy_router_ok(c: &Client, id: &str) {
    let j = c.run_async("destroyRouter", &[("id", id)]).await;
    assert_eq!(j["jobstatus"], 1, "destroyRouter must succeed: {j}");
    let left = c.get("listRouters", &[("id", id)]).await;
    // A destroyed router's id lists as an empty answer, as CloudStack's does.
    assert_eq!(left.status, 200, "{}", left.text);
    assert!(left.items("router").is_empty(), "router still listed: {}", left.text);
}

/// The running router of a network, after (re)starting the network's services.
async fn running_router(c: &Client, net: &str) -> (String, String) {
    let j = c.run_async("restartNetwork", &[("id", net)]).await;
    assert_eq!(j["jobstatus"], 1, "{j}");
    let r = routers_of(c, net).await;
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0]["state"], "Running", "{r:?}");
    (
        r[0]["id"].as_str().unwrap().to_string(),
        r[0]["name"].as_str().unwrap().to_string(),
    )
}

/// The founding scenario on a real KVM host, in every variant the simulator suite runs: the
/// router that never started, a running, a stopped one, one whose host is down, one whose
/// template was deleted, one destroyed while a deploy is in flight, one whose network was
/// deleted first — each destroy succeeds, and the host is left with nothing. On the way: a
/// guest destroyed behind the management server's back is Stopped by libvirt's lifecycle
/// event, long before any ping could tell.
#[tokio::test]
async fn founding_scenario_on_kvm_leaves_the_host_clean() {
    let _one = ONE_AT_A_TIME.lock().await;
    let Some(mut rig) = Rig::up().await else { return };
    let c = &rig.t.admin.clone();
    let (edge, guest) = (&rig.edge, rig.guest.clone());
    // Pings every five minutes: what is seen sooner comes from the power watch.
    let r = c
        .get("updateConfiguration", &[("name", "ping.interval"), ("value", "300")])
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let vr_net = shared_network(
        c,
        edge,
        "vr-net",
        &offering_id(c, "DefaultSharedNetworkOffering").await,
        "301",
        51,
    )
    .await;
    let cd_net = shared_network(c, edge, "cd-net", &configdrive_offering(c, "vr-cd").await, "302", 52).await;

    // 1. No direct-download system VM template for KVM: the router can't start in the edge
    //    zone, the deploy fails saying how to fix it, and the router that never started is
    //    destroyed cleanly (twice: the second is a clear 4xx).
    let (_, job) = deploy(c, edge, &guest, &vr_net, "web0", &[]).await;
    let j = c.wait_job(&job).await;
    assert_eq!(j["jobstatus"], 2, "{j}");
    let text = j["jobresult"]["errortext"].as_str().unwrap_or_default();
    assert!(text.contains("router.template.kvm"), "{j}");
    assert_ne!(j["jobresult"]["errorcode"], 530, "{j}");
    let r = routers_of(c, &vr_net).await;
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0]["state"], "Stopped");
    let never_started = r[0]["id"].as_str().unwrap().to_string();
    destroy_router_ok(c, &never_started).await;
    assert_eq!(c.get("destroyRouter", &[("id", &never_started)]).await.status, 431);
    rig.t.quiesce().await;
    rig.assert_host_clean();

    // 2. With the system template named as the message says, deploys start a real router.
    let sys = rig.system_template("sys").await;
    let ud = base64::engine::general_purpose::STANDARD.encode("#cloud-config\nferrostack: web1\n");
    let (web1, job) = deploy(c, edge, &guest, &vr_net, "web1", &[("userdata", &ud)]).await;
    assert_eq!(c.wait_job(&job).await["jobstatus"], 1);
    let r = routers_of(c, &vr_net).await;
    assert_eq!(r[0]["state"], "Running", "{r:?}");
    let router_name = r[0]["name"].as_str().unwrap().to_string();
    assert!(rig.lv.domains().contains(&router_name), "{:?}", rig.lv.domains());
    let routers_dir = rig.agent.data_dir.join("routers");
    assert!(
        routers_dir.join(format!("{router_name}.json")).exists(),
        "router configuration not on the host"
    );

    // A guest killed behind the management server's back is Stopped through libvirt's
    // lifecycle event, not the five-minute ping.
    let v1 = vm(c, &web1).await;
    assert_eq!(v1["hypervisor"], "KVM", "{v1}");
    let name1 = v1["instancename"].as_str().unwrap().to_string();
    assert!(rig.lv.virsh(&["destroy", &name1]).contains("destroyed"));
    let stopped = wait_vm(c, &web1, Duration::from_secs(30), |v| v["state"] == "Stopped").await;
    assert_eq!(stopped["state"], "Stopped");
    // …and starts again.
    assert_eq!(
        c.run_async("startVirtualMachine", &[("id", &web1)]).await["jobstatus"],
        1
    );
    assert!(rig.lv.domains().contains(&name1));

    // 3. A running router.
    destroy_router_ok(c, r[0]["id"].as_str().unwrap()).await;
    assert!(!rig.lv.domains().contains(&router_name), "{:?}", rig.lv.domains());

    // 4. A stopped router.
    let (id, name) = running_router(c, &vr_net).await;
    let j = c.run_async("stopRouter", &[("id", &id)]).await;
    assert_eq!(j["jobresult"]["router"]["state"], "Stopped", "{j}");
    assert!(!rig.lv.domains().contains(&name));
    destroy_router_ok(c, &id).await;

    // 5. A router whose host is down (its agent killed): the destroy completes at once, and
    //    the host-side removal waits for the host and runs when its agent is back.
    let (id, name) = running_router(c, &vr_net).await;
    rig.agent.kill();
    destroy_router_ok(c, &id).await;
    assert!(
        rig.lv.domains().contains(&name),
        "the host was unreachable, its domain stays until it is back"
    );
    rig.agent.restart();
    let q = rig.t.server.as_ref().unwrap().quiescer();
    q.quiesce_at(Some(now_ms() + BACKOFF_CAP_MS)).await.unwrap();
    assert!(!rig.lv.domains().contains(&name), "{:?}", rig.lv.domains());

    // 6. A router whose template was deleted.
    let (id, name) = running_router(c, &vr_net).await;
    let del = c.get("deleteTemplate", &[("id", &sys)]).await;
    assert_eq!(del.status, 200, "{}", del.text);
    if let Some(job) = del.ok().get("jobid").and_then(|j| j.as_str()) {
        assert_eq!(c.wait_job(job).await["jobstatus"], 1);
    }
    destroy_router_ok(c, &id).await;
    assert!(!rig.lv.domains().contains(&name));

    // 7. Destroyed while a deploy into its network is in flight.
    rig.system_template("sys2").await;
    let (id, _) = running_router(c, &vr_net).await;
    let (_, deploy_job) = deploy(c, edge, &guest, &vr_net, "web2", &[]).await;
    let destroy_job = c.get("destroyRouter", &[("id", &id)]).await.ok()["jobid"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(c.wait_job(&destroy_job).await["jobstatus"], 1);
    let vj = c.wait_job(&deploy_job).await;
    assert!(
        vj["jobstatus"] == 1 || (vj["jobstatus"] == 2 && vj["jobresult"]["errorcode"] != 530),
        "deploy ends cleanly: {vj}"
    );

    // 8. A router whose network is deleted first (forced), on the network whose user data is
    //    served by ConfigDrive…
    let (_, cd_router) = running_router(c, &cd_net).await;
    let j = c
        .run_async("deleteNetwork", &[("id", &cd_net), ("forced", "true")])
        .await;
    assert_eq!(j["jobstatus"], 1, "forced delete completes: {j}");
    assert!(!rig.lv.domains().contains(&cd_router), "{:?}", rig.lv.domains());
    //    …and one left behind under a network row removed by anything else.
    let (id, name) = running_router(c, &vr_net).await;
    sqlx::query("UPDATE network SET removed = 1, state = 'Destroy' WHERE uuid = $1")
        .bind(&vr_net)
        .execute(rig.t.app().db.write())
        .await
        .unwrap();
    destroy_router_ok(c, &id).await;
    assert!(!rig.lv.domains().contains(&name));

    // Every VM expunged: nothing of anything is left on the host.
    let vms = c.get("listVirtualMachines", &[("listall", "true")]).await;
    for v in vms.items("virtualmachine") {
        expunge_vm(c, v["id"].as_str().unwrap()).await;
    }
    q.quiesce_at(Some(now_ms() + BACKOFF_CAP_MS)).await.unwrap();
    rig.assert_host_clean();
    let pending = ferrostack_db::followup::pending_count(rig.t.app().db.read())
        .await
        .unwrap();
    assert_eq!(
        pending,
        0,
        "follow-ups left: {}",
        c.get("listFollowUps", &[]).await.text
    );
    rig.stop().await;
}
