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

use crate::common::{Client, TestServer};
use crate::kvmhost::{configdrive_only_offering, kvm_edge, kvm_template, vm, AgentProcess};
use crate::setup::{deploy, offering_id, routers_of, shared_network, Cloud};

fn scripts() -> PathBuf {
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
struct Libvirt {
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

    fn virsh(&self, args: &[&str]) -> String {
        let out = Command::new("virsh")
            .arg("-c")
            .arg(&self.uri)
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    fn domains(&self) -> Vec<String> {
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

/// Serve the image on loopback for the host's direct download.
async fn serve_image(image: PathBuf) -> (String, tokio::task::JoinHandle<()>) {
    let bytes = std::fs::read(&image).unwrap();
    let app = axum::Router::new().route(
        "/guest.qcow2",
        axum::routing::get(move || {
            let b = bytes.clone();
            async move { b }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/guest.qcow2", l.local_addr().unwrap());
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
async fn guest_report(console: &Path, within: Duration) -> String {
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

fn field<'a>(line: &'a str, key: &str) -> &'a str {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(&format!("{key}=")))
        .unwrap_or("")
}

async fn deploy_ok(c: &Client, cloud: &Cloud, template: &str, net: &str, name: &str, user_data: &str) -> Value {
    let ud = base64::engine::general_purpose::STANDARD.encode(user_data);
    let (id, job) = deploy(c, cloud, template, net, name, &[("userdata", &ud)]).await;
    let j = c.wait_job(&job).await;
    assert_eq!(j["jobstatus"], 1, "deploy {name}: {j}");
    vm(c, &id).await
}

fn sha256_hex(s: &str) -> String {
    sha2::Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn real_vms_boot_with_their_config_drive_and_leave_nothing_behind() {
    if let Some(why) = missing_prerequisite() {
        assert!(
            std::env::var("FERROSTACK_KVM_TESTS").as_deref() != Ok("require"),
            "KVM test required but {why}"
        );
        eprintln!("skipped: {why}");
        return;
    }
    let build = Command::new(scripts().join("build-test-image.sh")).output().unwrap();
    assert!(build.status.success(), "{}", String::from_utf8_lossy(&build.stderr));
    let image = PathBuf::from(
        String::from_utf8_lossy(&build.stdout)
            .lines()
            .last()
            .unwrap()
            .split(" (")
            .next()
            .unwrap(),
    );
    let image_sha = std::fs::read_to_string(image.with_extension("qcow2.sha256")).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let lv = Libvirt::up(&dir.path().join("host"));
    let (image_url, image_server) = serve_image(image).await;
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
    let c = &t.admin;
    let pool = dir.path().join("pool");
    let edge = kvm_edge(c, "edge", &agent.url, "kvm-pw", &pool).await;
    let checksum = format!("{{SHA-256}}{}", image_sha.trim());
    let guest = kvm_template(c, &edge, "guest", &image_url, Some(&checksum), false).await;
    kvm_template(c, &edge, "sys", &image_url, Some(&checksum), true).await;
    c.get(
        "updateConfiguration",
        &[
            ("name", "router.template.kvm"),
            ("value", "sys"),
            ("zoneid", &edge.zone.zone),
        ],
    )
    .await
    .ok();
    let console = |instance: &str| agent.data_dir.join("console").join(format!("{instance}.log"));

    // A wrong checksum is a clear failure of the deploy, not a hang.
    let bad = kvm_template(
        c,
        &edge,
        "bad",
        &image_url,
        Some(&format!("{{SHA-256}}{}", "0".repeat(64))),
        false,
    )
    .await;
    let cd_offering = configdrive_only_offering(c, "cd-only").await;
    let cd_net = shared_network(c, &edge, "cd-net", &cd_offering, "201", 41).await;
    let (_, job) = deploy(c, &edge, &bad, &cd_net, "bad", &[]).await;
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
    let v1 = deploy_ok(c, &edge, &guest, &cd_net, "web1", ud1).await;
    let name1 = v1["instancename"].as_str().unwrap().to_string();
    let report = guest_report(&console(&name1), Duration::from_secs(90)).await;
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
    let seen = reports(&console(&name1)).len();
    assert_eq!(
        c.run_async("rebootVirtualMachine", &[("id", &id1)]).await["jobstatus"],
        1
    );
    let rebooted = guest_report_after(&console(&name1), seen, Duration::from_secs(90)).await;
    assert_eq!(field(&rebooted, "userdata-sha256"), sha256_hex(ud1b), "{rebooted}");

    // 2. Router network: the router is a real domain on the host.
    let vr_net = shared_network(
        c,
        &edge,
        "vr-net",
        &offering_id(c, "DefaultSharedNetworkOffering").await,
        "202",
        42,
    )
    .await;
    let v2 = deploy_ok(c, &edge, &guest, &vr_net, "web2", "#!/bin/sh\necho web2\n").await;
    let name2 = v2["instancename"].as_str().unwrap().to_string();
    let routers = routers_of(c, &vr_net).await;
    assert_eq!(routers.len(), 1);
    assert_eq!(routers[0]["state"], "Running", "{:?}", routers[0]);
    let router_name = routers[0]["name"].as_str().unwrap().to_string();
    assert!(lv.domains().contains(&router_name), "{:?}", lv.domains());
    guest_report(&console(&name2), Duration::from_secs(90)).await;

    // 3. Stop leaves no domain but keeps the disk; start boots the same disk again.
    assert_eq!(c.run_async("stopVirtualMachine", &[("id", &id1)]).await["jobstatus"], 1);
    assert!(!lv.domains().contains(&name1));
    assert_eq!(
        c.run_async("startVirtualMachine", &[("id", &id1)]).await["jobstatus"],
        1
    );
    let again = guest_report(&console(&name1), Duration::from_secs(90)).await;
    assert_eq!(field(&again, "userdata-sha256"), sha256_hex(ud1b));

    // 4. destroyRouter: the router's domain and disk are gone from the host.
    let j = c
        .run_async("destroyRouter", &[("id", routers[0]["id"].as_str().unwrap())])
        .await;
    assert_eq!(j["jobstatus"], 1, "{j}");
    assert!(!lv.domains().contains(&router_name));

    // 5. Destroy with expunge: nothing of the VMs stays on the host.
    for v in [&v1, &v2] {
        let j = c
            .run_async(
                "destroyVirtualMachine",
                &[("id", v["id"].as_str().unwrap()), ("expunge", "true")],
            )
            .await;
        assert_eq!(j["jobstatus"], 1, "{j}");
    }
    t.quiesce().await;
    assert!(lv.domains().is_empty(), "domains left: {:?}", lv.domains());
    assert!(lv.taps().is_empty(), "taps left: {:?}", lv.taps());
    let left: Vec<_> = std::fs::read_dir(&pool)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n != "templates")
        .collect();
    assert!(left.is_empty(), "volumes left on the pool: {left:?}");
    let drives: Vec<_> = std::fs::read_dir(agent.data_dir.join("configdrive"))
        .unwrap()
        .filter_map(|e| e.ok())
        .collect();
    assert!(drives.is_empty(), "config drives left: {drives:?}");
    image_server.abort();
    t.stop().await;
}
