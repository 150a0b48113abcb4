//! Volume snapshots on a real KVM host (the rig of [`crate::kvm`]): a snapshot is a standalone
//! qcow2 of the volume on its pool, taken from a running guest (paused for the copy, then
//! resumed) or a stopped one; a revert (VM stopped) puts the disk back to exactly the
//! snapshot's content; a template made from a snapshot or a stopped VM's root volume is written
//! into the pool's template cache and boots a new VM; deleting a snapshot removes its file.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::common::Client;
use crate::kvm::{deploy_ok, expunge_vm, field, guest_report, Rig, ONE_AT_A_TIME};
use crate::kvmhost::configdrive_only_offering;
use crate::setup::shared_network;

/// `qemu-img compare`: true when the two images have the same content (exit 0), false when it
/// differs (exit 1); anything else fails the test.
fn same_content(a: &Path, b: &Path) -> bool {
    let out = Command::new("qemu-img")
        .args(["compare", "-U", "-q"])
        .arg(a)
        .arg(b)
        .output()
        .unwrap();
    match out.status.code() {
        Some(0) => true,
        Some(1) => false,
        other => panic!(
            "qemu-img compare {} {}: {other:?} {}",
            a.display(),
            b.display(),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// Write `pattern` over the first MiB of a (stopped VM's) volume file.
fn write_pattern(file: &Path, pattern: u8) {
    let out = Command::new("qemu-io")
        .args(["-f", "qcow2", "-c", &format!("write -P {pattern:#x} 0 1M")])
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "qemu-io: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Whether the first MiB of a volume file holds `pattern`.
fn has_pattern(file: &Path, pattern: u8) -> bool {
    let out = Command::new("qemu-io")
        .args(["-f", "qcow2", "-r", "-U", "-c", &format!("read -P {pattern:#x} 0 1M")])
        .arg(file)
        .output()
        .unwrap();
    // qemu-io exits 0 either way; a mismatch is reported on stdout.
    out.status.success() && !String::from_utf8_lossy(&out.stdout).contains("Pattern verification failed")
}

async fn job(c: &Client, command: &str, params: &[(&str, &str)]) -> Value {
    let j = c.run_async(command, params).await;
    assert_eq!(j["jobstatus"], 1, "{command}: {j}");
    j
}

fn snapshot_path(pool: &Path, id: &str) -> PathBuf {
    pool.join("snapshots").join(format!("{id}.qcow2"))
}

#[tokio::test]
async fn snapshots_revert_and_templates_on_a_real_kvm_host() {
    let _one = ONE_AT_A_TIME.lock().await;
    let Some(rig) = Rig::up().await else { return };
    let (t, c, edge, lv, pool) = (&rig.t, &rig.t.admin, &rig.edge, &rig.lv, rig.pool.clone());
    let offering = configdrive_only_offering(c, "cd-only").await;
    let net = shared_network(c, edge, "cd-net", &offering, "211", 51).await;

    // A running guest with a 1 GB data disk.
    let v1 = deploy_ok(c, edge, &rig.guest, &net, "snap1", "#!/bin/sh\necho snap1\n").await;
    let id1 = v1["id"].as_str().unwrap().to_string();
    let name1 = v1["instancename"].as_str().unwrap().to_string();
    guest_report(&rig.console(&name1), Duration::from_secs(90)).await;
    let dof = c
        .get("createDiskOffering", &[("name", "snap-data"), ("customized", "true")])
        .await;
    let dof = dof.ok()["diskoffering"]["id"].as_str().unwrap().to_string();
    let j = job(
        c,
        "createVolume",
        &[
            ("name", "snap-data"),
            ("diskofferingid", &dof),
            ("size", "1"),
            ("virtualmachineid", &id1),
        ],
    )
    .await;
    let data = j["jobresult"]["volume"]["id"].as_str().unwrap().to_string();
    let root = c
        .get("listVolumes", &[("virtualmachineid", &id1), ("type", "ROOT")])
        .await
        .items("volume")[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (root_file, data_file) = (pool.join(format!("{root}.qcow2")), pool.join(format!("{data}.qcow2")));
    assert!(root_file.exists() && data_file.exists());

    // 1. The root volume of the running guest: the guest is paused for the copy and runs on.
    let j = job(c, "createSnapshot", &[("volumeid", &root)]).await;
    let s_root = &j["jobresult"]["snapshot"];
    assert_eq!(s_root["state"], "BackedUp", "{s_root}");
    let s_root_id = s_root["id"].as_str().unwrap().to_string();
    let s_root_file = snapshot_path(&pool, &s_root_id);
    assert!(s_root_file.exists(), "no file {}", s_root_file.display());
    assert!(s_root["physicalsize"].as_i64().unwrap() > 0, "{s_root}");
    assert_eq!(
        lv.virsh(&["domstate", &name1]).trim(),
        "running",
        "the guest was resumed"
    );
    // A standalone image: the template it was made from is not needed to read it.
    let info = Command::new("qemu-img")
        .args(["info", "--output=json"])
        .arg(&s_root_file)
        .output()
        .unwrap();
    let info: Value = serde_json::from_slice(&info.stdout).unwrap();
    assert!(info.get("backing-filename").is_none(), "{info}");
    assert_eq!(info["format"], "qcow2");

    // A revert needs the VM stopped.
    let r = c.get("revertSnapshot", &[("id", &s_root_id)]).await;
    assert_eq!(r.status, 431, "{}", r.text);

    // 2. The data volume of the stopped VM, holding a pattern.
    job(c, "stopVirtualMachine", &[("id", &id1)]).await;
    write_pattern(&data_file, 0xaa);
    let j = job(c, "createSnapshot", &[("volumeid", &data)]).await;
    let s_data_id = j["jobresult"]["snapshot"]["id"].as_str().unwrap().to_string();
    let s_data_file = snapshot_path(&pool, &s_data_id);
    assert!(same_content(&data_file, &s_data_file));
    assert!(
        same_content(&root_file, &s_root_file),
        "the stopped root disk is as snapshotted"
    );

    // 3. Both disks change after their snapshots (the root loses its boot sector)...
    write_pattern(&data_file, 0xbb);
    write_pattern(&root_file, 0x00);
    assert!(!same_content(&data_file, &s_data_file));
    assert!(!same_content(&root_file, &s_root_file));

    // ...and a revert puts each back to its snapshot's content.
    let j = job(c, "revertSnapshot", &[("id", &s_data_id)]).await;
    assert_eq!(j["jobresult"]["snapshot"]["id"], s_data_id.as_str(), "{j}");
    job(c, "revertSnapshot", &[("id", &s_root_id)]).await;
    assert!(same_content(&data_file, &s_data_file));
    assert!(has_pattern(&data_file, 0xaa));
    assert!(same_content(&root_file, &s_root_file));
    for v in [&root, &data] {
        let vol = &c.get("listVolumes", &[("id", v)]).await.items("volume")[0];
        assert_eq!(vol["state"], "Ready", "{vol}");
    }
    // The reverted root disk boots (the console log starts afresh with each start).
    job(c, "startVirtualMachine", &[("id", &id1)]).await;
    guest_report(&rig.console(&name1), Duration::from_secs(90)).await;

    // 4. A template from the root snapshot lands in the pool's template cache and boots a VM.
    let j = job(
        c,
        "createTemplate",
        &[
            ("name", "from-snap"),
            ("displaytext", "from-snap"),
            ("ostypeid", &edge.ostype),
            ("snapshotid", &s_root_id),
        ],
    )
    .await;
    let tpl = j["jobresult"]["template"]["id"].as_str().unwrap().to_string();
    let tpl_file = pool.join("templates").join(format!("{tpl}.qcow2"));
    assert!(same_content(&tpl_file, &s_root_file));
    let v2 = deploy_ok(c, edge, &tpl, &net, "from-snap", "#!/bin/sh\necho from-snap\n").await;
    let name2 = v2["instancename"].as_str().unwrap().to_string();
    let report = guest_report(&rig.console(&name2), Duration::from_secs(90)).await;
    assert_eq!(field(&report, "uuid"), v2["id"].as_str().unwrap(), "{report}");

    // 5. A template from the stopped VM's root volume.
    job(c, "stopVirtualMachine", &[("id", &id1)]).await;
    let j = job(
        c,
        "createTemplate",
        &[
            ("name", "from-root"),
            ("displaytext", "from-root"),
            ("ostypeid", &edge.ostype),
            ("volumeid", &root),
        ],
    )
    .await;
    let tpl2 = j["jobresult"]["template"]["id"].as_str().unwrap().to_string();
    let tpl2_file = pool.join("templates").join(format!("{tpl2}.qcow2"));
    assert!(same_content(&tpl2_file, &root_file));

    // 6. A volume from a snapshot is a standalone copy of it, made on the snapshot's pool when
    //    a host first needs it: attached to the stopped VM (made at its start) and to the
    //    running one (made and hot-plugged at once).
    let mut from_snap = Vec::new();
    for (name, vm) in [
        ("snap-copy-stopped", id1.as_str()),
        ("snap-copy-live", v2["id"].as_str().unwrap()),
    ] {
        let j = job(
            c,
            "createVolume",
            &[("name", name), ("snapshotid", &s_data_id), ("virtualmachineid", vm)],
        )
        .await;
        let vol = &j["jobresult"]["volume"];
        assert_eq!(vol["snapshotid"], s_data_id.as_str(), "{vol}");
        from_snap.push(vol["id"].as_str().unwrap().to_string());
    }
    let live_file = pool.join(format!("{}.qcow2", from_snap[1]));
    assert!(
        same_content(&live_file, &s_data_file),
        "the live volume is the snapshot's copy"
    );
    assert!(has_pattern(&live_file, 0xaa));
    let stopped_file = pool.join(format!("{}.qcow2", from_snap[0]));
    assert!(!stopped_file.exists(), "made when its VM starts");
    job(c, "startVirtualMachine", &[("id", &id1)]).await;
    assert!(same_content(&stopped_file, &s_data_file));
    for v in &from_snap {
        let vol = &c.get("listVolumes", &[("id", v)]).await.items("volume")[0];
        assert_eq!(vol["state"], "Ready", "{vol}");
    }
    // Independent of the snapshot: writing the copy leaves the snapshot as it was.
    job(c, "stopVirtualMachine", &[("id", &id1)]).await;
    write_pattern(&stopped_file, 0xcc);
    assert!(has_pattern(&s_data_file, 0xaa));
    for v in &from_snap {
        job(c, "detachVolume", &[("id", v)]).await;
        assert_eq!(c.get("deleteVolume", &[("id", v)]).await.ok()["success"], true);
    }

    // 7. Deleting the snapshots removes their files.
    for s in [&s_root_id, &s_data_id] {
        job(c, "deleteSnapshot", &[("id", s)]).await;
    }
    t.quiesce().await;
    assert!(!s_root_file.exists() && !s_data_file.exists(), "snapshot files left");

    // Clean up: the data volume, the VMs, the templates.
    job(c, "detachVolume", &[("id", &data)]).await;
    assert_eq!(c.get("deleteVolume", &[("id", &data)]).await.ok()["success"], true);
    for v in [&id1, v2["id"].as_str().unwrap()] {
        expunge_vm(c, v).await;
    }
    for tp in [&tpl, &tpl2] {
        let r = c.get("deleteTemplate", &[("id", tp)]).await;
        assert_eq!(r.status, 200, "{}", r.text);
        if let Some(jobid) = r.ok()["jobid"].as_str() {
            assert_eq!(c.wait_job(jobid).await["jobstatus"], 1);
        }
    }
    t.quiesce().await;
    rig.assert_host_clean();
    rig.stop().await;
}
