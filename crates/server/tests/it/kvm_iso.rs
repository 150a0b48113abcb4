//! A real VM deployed from a real bootable ISO on libvirt (the rig of `kvm.rs`): the test guest
//! as an ISOLINUX CD (`scripts/kvm/build-test-iso.sh`) registered with its checksum, deployed
//! with a disk offering for its root disk. The host fetches the ISO like a template, makes a
//! blank qcow2 root disk of the requested size, puts the ISO in a CD-ROM drive that boots first
//! (then the disk), and the guest boots from it and reports what its config drive told it.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use base64::Engine as _;
use serde_json::Value;

use crate::kvm::{build_test_file, expunge_vm, field, guest_report, serve_file, sha256_hex, Rig, ONE_AT_A_TIME};
use crate::kvmhost::{configdrive_only_offering, vm};
use crate::setup::{deploy, shared_network};

/// The `<disk>…</disk>` elements of a domain's XML.
fn disks(xml: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(at) = rest.find("<disk ") {
        let end = rest[at..].find("</disk>").map(|e| at + e + "</disk>".len()).unwrap();
        out.push(rest[at..end].to_string());
        rest = &rest[end..];
    }
    out
}

fn source_of(disk: &str) -> String {
    let at = disk.find("<source file='").unwrap() + "<source file='".len();
    disk[at..at + disk[at..].find('\'').unwrap()].to_string()
}

#[tokio::test]
async fn a_vm_deployed_from_a_bootable_iso_boots_from_it_onto_a_blank_disk() {
    let _one = ONE_AT_A_TIME.lock().await;
    let Some(rig) = Rig::up().await else { return };
    let (c, edge, lv) = (&rig.t.admin, &rig.edge, &rig.lv);

    let iso_file = build_test_file("build-test-iso.sh");
    let iso_sha = std::fs::read_to_string(iso_file.with_extension("iso.sha256")).unwrap();
    let (url, iso_server) = serve_file(iso_file, "guest.iso").await;
    let r = c
        .get(
            "registerIso",
            &[
                ("name", "installer"),
                ("displaytext", "Installer CD"),
                ("url", &url),
                ("zoneid", &edge.zone.zone),
                ("ostypeid", &edge.ostype),
                ("ispublic", "true"),
                ("directdownload", "true"),
                ("checksum", &format!("{{SHA-256}}{}", iso_sha.trim())),
            ],
        )
        .await;
    let iso = r.items("iso")[0]["id"].as_str().unwrap().to_string();
    let dof = c
        .get("createDiskOffering", &[("name", "iso-root"), ("customized", "true")])
        .await;
    let dof = dof.ok()["diskoffering"]["id"].as_str().unwrap().to_string();
    let cd = configdrive_only_offering(c, "iso-cd").await;
    let net = shared_network(c, edge, "iso-net", &cd, "211", 51).await;

    let ud = "#cloud-config\nferrostack: from-iso\n";
    let ud64 = base64::engine::general_purpose::STANDARD.encode(ud);
    let (id, job) = deploy(
        c,
        edge,
        &iso,
        &net,
        "fromiso",
        &[
            ("hypervisor", "KVM"),
            ("diskofferingid", &dof),
            ("size", "2"),
            ("userdata", &ud64),
        ],
    )
    .await;
    let j = c.wait_job(&job).await;
    assert_eq!(j["jobstatus"], 1, "{j}");
    let v = vm(c, &id).await;
    assert_eq!(v["isoid"], iso.as_str(), "{v}");
    assert_eq!(v["templateid"], iso.as_str(), "{v}");
    assert_eq!(v["hypervisor"], "KVM", "{v}");
    let name = v["instancename"].as_str().unwrap().to_string();

    // The guest booted from the ISO (ISOLINUX's banner; the blank disk has nothing to boot)
    // and took its address, uuid and user data from its config drive.
    let console = rig.console(&name);
    let report = guest_report(&console, Duration::from_secs(120)).await;
    let text = std::fs::read_to_string(&console).unwrap_or_default();
    assert!(text.contains("ISOLINUX"), "not booted from the ISO:\n{text}");
    assert_eq!(
        field(&report, "ip"),
        v["nic"][0]["ipaddress"].as_str().unwrap(),
        "{report}"
    );
    assert_eq!(field(&report, "uuid"), id, "{report}");
    assert_eq!(field(&report, "userdata-sha256"), sha256_hex(ud), "{report}");

    // The domain: the ISO (fetched once, cached on the pool) in a CD-ROM that boots first, a
    // blank qcow2 root disk of the requested size that boots second.
    let xml = lv.virsh(&["dumpxml", &name]);
    assert!(!xml.contains("<boot dev="), "per-device boot order only: {xml}");
    let cached = rig.pool.join("isos").join(format!("{iso}.iso"));
    assert!(cached.exists(), "the ISO is cached at {}", cached.display());
    let all = disks(&xml);
    let cdrom = all
        .iter()
        .find(|d| d.contains("device='cdrom'") && d.contains("<source") && source_of(d) == cached.display().to_string())
        .unwrap_or_else(|| panic!("no CD-ROM with the ISO in {xml}"));
    assert!(cdrom.contains("<boot order='1'/>"), "{cdrom}");
    let root = all
        .iter()
        .find(|d| d.contains("device='disk'") && d.contains("dev='vda'"))
        .unwrap_or_else(|| panic!("no root disk in {xml}"));
    assert!(root.contains("<boot order='2'/>"), "{root}");
    let root_file = source_of(root);
    assert!(Path::new(&root_file).starts_with(&rig.pool), "{root_file}");
    let out = Command::new("qemu-img")
        .args(["info", "-U", "--output=json", &root_file])
        .output()
        .unwrap();
    let info: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["format"], "qcow2", "{info}");
    assert_eq!(info["virtual-size"], 2u64 << 30, "{info}");
    assert!(
        info.get("backing-filename").is_none(),
        "a blank disk, on no template: {info}"
    );
    let vols = c.get("listVolumes", &[("virtualmachineid", &id)]).await.items("volume");
    assert_eq!(vols.len(), 1, "{vols:?}");
    assert_eq!(vols[0]["size"], 2i64 << 30);

    // Expunged: nothing of the VM stays on the host (the ISO cache aside).
    expunge_vm(c, &id).await;
    rig.t.quiesce().await;
    assert!(!Path::new(&root_file).exists(), "the root disk is removed");
    rig.assert_host_clean();
    iso_server.abort();
    rig.stop().await;
}
