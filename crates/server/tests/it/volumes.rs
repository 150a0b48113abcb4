//! Data volumes and disk sizes through the real API on simulator hosts: createVolume (alone and
//! with virtualmachineid), attachVolume / detachVolume to running and stopped VMs, resizeVolume
//! (data and root, custom offerings, shrinkok), deleteVolume, `rootdisksize` and
//! `diskofferingid`/`size` on deploy, pool allocation, the refusals (431, never 5xx), tenant
//! scoping, an agent failure undone, and data disks outliving their VM's expunge.

use serde_json::Value;

use crate::common::{Client, TestServer};
use crate::setup::{configdrive_offering, deploy, edge_with_templates, shared_network, Cloud};

const GIB: i64 = 1024 * 1024 * 1024;

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap_or_else(|| panic!("no id in {v}")).to_string()
}

async fn volume(c: &Client, id: &str) -> Value {
    let l = c.get("listVolumes", &[("id", id)]).await.items("volume");
    assert_eq!(l.len(), 1, "volume {id}: {l:?}");
    l[0].clone()
}

/// Run an async command that must succeed; its job result.
async fn ok_job(c: &Client, command: &str, params: &[(&str, &str)]) -> Value {
    let j = c.run_async(command, params).await;
    assert_eq!(j["jobstatus"], 1, "{command} {params:?} failed: {j}");
    j["jobresult"].clone()
}

/// A command refused at submission with 431; its text.
async fn refused(c: &Client, command: &str, params: &[(&str, &str)]) -> String {
    let a = c.get(command, params).await;
    assert!(a.status < 500 || a.status > 530, "server error: {}", a.text);
    a.err(431)
}

async fn disk_offering(c: &Client, name: &str, params: &[(&str, &str)]) -> String {
    let mut p = vec![("name", name)];
    p.extend_from_slice(params);
    let a = c.get("createDiskOffering", &p).await;
    id(&a.ok()["diskoffering"])
}

async fn setup(t: &TestServer, name: &str) -> (Cloud, String, String) {
    let c = &t.admin;
    let (edge, guest) = edge_with_templates(c, name, 2).await;
    let cd = configdrive_offering(c, &format!("{name}-cd")).await;
    let net = shared_network(c, &edge, &format!("{name}-net"), &cd, "120", 20).await;
    (edge, guest, net)
}

async fn deployed(c: &Client, cloud: &Cloud, template: &str, net: &str, name: &str, extra: &[(&str, &str)]) -> String {
    let (vm, job) = deploy(c, cloud, template, net, name, extra).await;
    assert_eq!(c.wait_job(&job).await["jobstatus"], 1, "deploy {name}");
    vm
}

#[tokio::test]
async fn data_volumes_attach_detach_resize_and_delete() {
    let t = TestServer::start().await;
    let c = &t.admin;
    let (cloud, guest, net) = setup(&t, "vol").await;
    let five = disk_offering(c, "five", &[("disksize", "5")]).await;
    let custom = disk_offering(c, "custom", &[("customized", "true")]).await;
    let vm = deployed(c, &cloud, &guest, &net, "vol-a", &[]).await;

    // Created alone: Allocated, no VM, the offering's size and names.
    let r = ok_job(
        c,
        "createVolume",
        &[("name", "d1"), ("zoneid", &cloud.zone.zone), ("diskofferingid", &five)],
    )
    .await;
    let d1 = id(&r["volume"]);
    let v = volume(c, &d1).await;
    assert_eq!(
        (v["state"].as_str(), v["type"].as_str(), v["size"].as_i64()),
        (Some("Allocated"), Some("DATADISK"), Some(5 * GIB)),
        "{v}"
    );
    assert_eq!(v["diskofferingid"], five.as_str());
    assert_eq!(v["diskofferingname"], "five");
    assert!(
        v.get("virtualmachineid").is_none() && v.get("deviceid").is_none() && v.get("attached").is_none(),
        "{v}"
    );

    // Attached to a running VM: plugged in on its host, Ready, at slot 1.
    let r = ok_job(c, "attachVolume", &[("id", &d1), ("virtualmachineid", &vm)]).await;
    assert_eq!(r["volume"]["virtualmachineid"], vm.as_str(), "{r}");
    let v = volume(c, &d1).await;
    assert_eq!(
        (v["state"].as_str(), v["deviceid"].as_i64()),
        (Some("Ready"), Some(1)),
        "{v}"
    );
    assert!(v["attached"].is_string(), "an attached volume answers attached: {v}");
    assert_eq!(v["vmname"], "vol-a");
    let of_vm = c.get("listVolumes", &[("virtualmachineid", &vm)]).await.items("volume");
    let mut types: Vec<&str> = of_vm.iter().map(|x| x["type"].as_str().unwrap()).collect();
    types.sort();
    assert_eq!(types, ["DATADISK", "ROOT"]);

    // Refusals while attached: attach again, delete, detach the root volume.
    let e = refused(c, "attachVolume", &[("id", &d1), ("virtualmachineid", &vm)]).await;
    assert!(e.contains("attached"), "{e}");
    let e = refused(c, "deleteVolume", &[("id", &d1)]).await;
    assert!(e.contains("not attached to any VM"), "{e}");
    let root = of_vm.iter().find(|x| x["type"] == "ROOT").map(id).unwrap();
    let e = refused(c, "detachVolume", &[("id", &root)]).await;
    assert!(e.contains("root volume"), "{e}");
    assert_eq!(volume(c, &root).await["deviceid"], 0);

    // A custom-size volume created beside the VM takes the next slot (2).
    let r = ok_job(
        c,
        "createVolume",
        &[
            ("name", "d2"),
            ("diskofferingid", &custom),
            ("size", "3"),
            ("virtualmachineid", &vm),
        ],
    )
    .await;
    let d2 = id(&r["volume"]);
    let v = volume(c, &d2).await;
    assert_eq!(
        (v["state"].as_str(), v["size"].as_i64(), v["deviceid"].as_i64()),
        (Some("Ready"), Some(3 * GIB), Some(2)),
        "{v}"
    );
    let e = refused(
        c,
        "createVolume",
        &[("zoneid", &cloud.zone.zone), ("diskofferingid", &custom)],
    )
    .await;
    assert!(e.contains("customized") && e.contains("size"), "{e}");
    let e = refused(
        c,
        "createVolume",
        &[("zoneid", &cloud.zone.zone), ("diskofferingid", &five), ("size", "7")],
    )
    .await;
    assert!(e.contains("fixed size"), "{e}");
    let e = refused(c, "createVolume", &[("zoneid", &cloud.zone.zone)]).await;
    assert!(e.contains("diskofferingid"), "{e}");
    let e = refused(
        c,
        "createVolume",
        &[
            ("zoneid", &cloud.zone.zone),
            ("diskofferingid", &five),
            ("snapshotid", &d1),
        ],
    )
    .await;
    assert!(
        e.contains(&d1) && e.contains("snapshotid"),
        "a volume id is no snapshot: {e}"
    );

    // A snapshot of an attached data volume, and a volume made from it: its size and offering.
    let s = ok_job(c, "createSnapshot", &[("volumeid", &d1)]).await;
    let snap = id(&s["snapshot"]);
    let r = ok_job(c, "createVolume", &[("name", "from-snap"), ("snapshotid", &snap)]).await;
    let fs = volume(c, &id(&r["volume"])).await;
    assert_eq!(
        (
            fs["size"].as_i64(),
            fs["diskofferingname"].as_str(),
            fs["state"].as_str(),
            fs["zoneid"].as_str()
        ),
        (
            Some(5 * GIB),
            Some("five"),
            Some("Allocated"),
            Some(cloud.zone.zone.as_str())
        ),
        "{fs}"
    );
    assert_eq!(fs["snapshotid"], snap.as_str());
    let e = refused(c, "createVolume", &[("snapshotid", &snap), ("size", "9")]).await;
    assert!(e.contains("size"), "{e}");

    // Resize: a custom volume grows; shrinking needs shrinkok; a fixed one needs an offering.
    let r = ok_job(c, "resizeVolume", &[("id", &d2), ("size", "4")]).await;
    assert_eq!(r["volume"]["size"].as_i64(), Some(4 * GIB), "{r}");
    let e = refused(c, "resizeVolume", &[("id", &d2), ("size", "2")]).await;
    assert!(e.contains("shrinkok"), "{e}");
    ok_job(c, "resizeVolume", &[("id", &d2), ("size", "2"), ("shrinkok", "true")]).await;
    assert_eq!(volume(c, &d2).await["size"].as_i64(), Some(2 * GIB));
    let e = refused(c, "resizeVolume", &[("id", &d1), ("size", "9")]).await;
    assert!(e.contains("fixed size"), "{e}");
    let r = ok_job(
        c,
        "resizeVolume",
        &[("id", &d1), ("diskofferingid", &custom), ("size", "8")],
    )
    .await;
    assert_eq!(
        (r["volume"]["size"].as_i64(), r["volume"]["diskofferingname"].as_str()),
        (Some(8 * GIB), Some("custom")),
        "{r}"
    );
    assert_eq!(volume(c, &d1).await["state"], "Ready");
    // The root volume grows with size and never shrinks.
    ok_job(c, "resizeVolume", &[("id", &root), ("size", "20")]).await;
    assert_eq!(volume(c, &root).await["size"].as_i64(), Some(20 * GIB));
    let e = refused(
        c,
        "resizeVolume",
        &[("id", &root), ("size", "10"), ("shrinkok", "true")],
    )
    .await;
    assert!(e.contains("can't shrink"), "{e}");

    // Detach from the running VM (by VM and slot), then delete: gone from lists.
    ok_job(c, "detachVolume", &[("virtualmachineid", &vm), ("deviceid", "2")]).await;
    let v = volume(c, &d2).await;
    assert!(
        v.get("virtualmachineid").is_none() && v.get("deviceid").is_none(),
        "{v}"
    );
    assert_eq!(v["state"], "Ready");
    assert_eq!(c.get("deleteVolume", &[("id", &d2)]).await.ok()["success"], true);
    assert!(c.get("listVolumes", &[("id", &d2)]).await.items("volume").is_empty());
    let e = refused(c, "deleteVolume", &[("id", &d2)]).await;
    assert!(e.contains(&d2), "{e}");

    // A stopped VM: attach keeps an Allocated volume Allocated until the VM starts.
    ok_job(c, "stopVirtualMachine", &[("id", &vm)]).await;
    let r = ok_job(
        c,
        "createVolume",
        &[("name", "d3"), ("zoneid", &cloud.zone.zone), ("diskofferingid", &five)],
    )
    .await;
    let d3 = id(&r["volume"]);
    ok_job(
        c,
        "attachVolume",
        &[("id", &d3), ("virtualmachineid", &vm), ("deviceid", "4")],
    )
    .await;
    let e = refused(
        c,
        "attachVolume",
        &[("id", &d2), ("virtualmachineid", &vm), ("deviceid", "3")],
    )
    .await;
    assert!(e.contains(&d2), "a deleted volume is unknown: {e}");
    assert_eq!(volume(c, &d3).await["state"], "Allocated");
    assert_eq!(volume(c, &d3).await["deviceid"], 4);
    ok_job(c, "startVirtualMachine", &[("id", &vm)]).await;
    assert_eq!(volume(c, &d3).await["state"], "Ready");

    // Destroyed and expunged, the VM takes its root volume; its data disks stay, detached.
    ok_job(c, "destroyVirtualMachine", &[("id", &vm), ("expunge", "true")]).await;
    for d in [&d1, &d3] {
        let v = volume(c, d).await;
        assert!(v.get("virtualmachineid").is_none(), "{v}");
        assert_eq!(v["state"], "Ready");
    }
    assert!(c.get("listVolumes", &[("id", &root)]).await.items("volume").is_empty());
    // …and can be attached to another VM.
    let vm2 = deployed(c, &cloud, &guest, &net, "vol-b", &[]).await;
    ok_job(c, "attachVolume", &[("id", &d1), ("virtualmachineid", &vm2)]).await;
    assert_eq!(volume(c, &d1).await["vmname"], "vol-b");
    t.stop().await;
}

#[tokio::test]
async fn deploy_sizes_disks_and_scopes_volumes() {
    let t = TestServer::start().await;
    let c = &t.admin;
    let (cloud, guest, net) = setup(&t, "dsz").await;
    let custom = disk_offering(c, "custom", &[("customized", "true")]).await;
    let ten = disk_offering(c, "ten", &[("disksize", "10")]).await;

    // rootdisksize sizes the root disk; diskofferingid+size adds a data disk at slot 1.
    let vm = deployed(
        c,
        &cloud,
        &guest,
        &net,
        "dsz-a",
        &[("rootdisksize", "30"), ("diskofferingid", &custom), ("size", "6")],
    )
    .await;
    let vols = c.get("listVolumes", &[("virtualmachineid", &vm)]).await.items("volume");
    let root = vols.iter().find(|v| v["type"] == "ROOT").unwrap();
    let data = vols.iter().find(|v| v["type"] == "DATADISK").unwrap();
    assert_eq!(root["size"].as_i64(), Some(30 * GIB), "{root}");
    assert_eq!(
        (data["size"].as_i64(), data["deviceid"].as_i64(), data["state"].as_str()),
        (Some(6 * GIB), Some(1), Some("Ready")),
        "{data}"
    );
    assert_eq!(data["diskofferingid"], custom.as_str());
    // listVolumes filters by disk offering and state.
    let by = c
        .get("listVolumes", &[("diskofferingid", &custom)])
        .await
        .items("volume");
    assert_eq!(by.len(), 1);
    assert!(c
        .get("listVolumes", &[("state", "Allocated"), ("virtualmachineid", &vm)])
        .await
        .items("volume")
        .is_empty());
    assert!(c
        .get("listVolumes", &[("state", "Nonsense")])
        .await
        .items("volume")
        .is_empty());

    // Refusals: a root disk below the template's size, size without an offering, a fixed
    // offering with a size.
    for (extra, says) in [
        (vec![("rootdisksize", "0")], "rootdisksize"),
        (vec![("size", "5")], "diskofferingid"),
        (vec![("diskofferingid", ten.as_str()), ("size", "5")], "fixed size"),
    ] {
        let mut p = vec![
            ("zoneid", cloud.zone.zone.as_str()),
            ("serviceofferingid", cloud.offering.as_str()),
            ("templateid", guest.as_str()),
            ("networkids", net.as_str()),
        ];
        p.extend(extra);
        let e = refused(c, "deployVirtualMachine", &p).await;
        assert!(e.contains(says), "{p:?}: {e}");
    }

    // Another account neither sees nor touches the admin's volumes; its own attach to the
    // admin's VM is refused as not found.
    let root_domain = c.get("listDomains", &[("level", "0")]).await.items("domain")[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, user) = t.account_client("voluser", "0", &root_domain).await;
    let data_id = id(data);
    assert!(user.get("listVolumes", &[]).await.items("volume").is_empty());
    let e = refused(&user, "resizeVolume", &[("id", &data_id), ("size", "9")]).await;
    assert!(e.contains(&data_id), "{e}");
    let e = refused(&user, "deleteVolume", &[("id", &data_id)]).await;
    assert!(e.contains(&data_id), "{e}");
    let r = ok_job(
        &user,
        "createVolume",
        &[("name", "mine"), ("zoneid", &cloud.zone.zone), ("diskofferingid", &ten)],
    )
    .await;
    let mine = id(&r["volume"]);
    assert_eq!(r["volume"]["account"], "voluser");
    let e = refused(&user, "attachVolume", &[("id", &mine), ("virtualmachineid", &vm)]).await;
    assert!(e.contains(&vm), "{e}");
    assert_eq!(user.get("listVolumes", &[]).await.items("volume").len(), 1);
    assert_eq!(user.get("deleteVolume", &[("id", &mine)]).await.ok()["success"], true);

    // Deleting the account takes the volumes it still has.
    let r = ok_job(
        &user,
        "createVolume",
        &[("name", "kept"), ("zoneid", &cloud.zone.zone), ("diskofferingid", &ten)],
    )
    .await;
    let kept = id(&r["volume"]);
    let acct = user.get("listAccounts", &[]).await.items("account")[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    ok_job(c, "deleteAccount", &[("id", &acct)]).await;
    assert!(
        c.get("listVolumes", &[("id", &kept)]).await.items("volume").is_empty(),
        "the account's volume went with it"
    );
    t.stop().await;
}

#[tokio::test]
async fn a_failed_plug_is_undone_and_the_pool_accounts_volumes() {
    let t = TestServer::start().await;
    let c = &t.admin;
    let (cloud, guest, net) = setup(&t, "vfail").await;
    let five = disk_offering(c, "five", &[("disksize", "5")]).await;
    // A zone-wide pool: the VM's disks are placed on it when it starts.
    let p = c
        .get(
            "createStoragePool",
            &[
                ("name", "vfail-pool"),
                ("url", "nfs://10.9.9.9/export/vfail"),
                ("zoneid", &cloud.zone.zone),
                ("scope", "zone"),
                ("hypervisor", "Simulator"),
            ],
        )
        .await;
    let pool = id(&p.ok()["storagepool"]);
    let vm = deployed(c, &cloud, &guest, &net, "vfail-a", &[]).await;
    let pool_alloc = |c: Client, pool: String| async move {
        c.get("listStoragePools", &[("id", &pool)]).await.items("storagepool")[0]["disksizeallocated"]
            .as_i64()
            .unwrap()
    };
    let before = pool_alloc(c.clone(), pool.clone()).await;
    assert!(before > 0, "the VM's root disk is allocated on the pool");

    let r = ok_job(
        c,
        "createVolume",
        &[("name", "f1"), ("zoneid", &cloud.zone.zone), ("diskofferingid", &five)],
    )
    .await;
    let f1 = id(&r["volume"]);
    c.get(
        "configureSimulator",
        &[("name", "AttachCommand"), ("value", "result=fail"), ("count", "1")],
    )
    .await
    .ok();
    let j = c
        .run_async("attachVolume", &[("id", &f1), ("virtualmachineid", &vm)])
        .await;
    assert_eq!(j["jobstatus"], 2, "the host refused the attach: {j}");
    let v = volume(c, &f1).await;
    assert!(v.get("virtualmachineid").is_none(), "the slot was given back: {v}");
    assert_eq!(v["state"], "Allocated");
    // The next attempt works, and places the volume on the VM's pool.
    ok_job(c, "attachVolume", &[("id", &f1), ("virtualmachineid", &vm)]).await;
    let v = volume(c, &f1).await;
    assert_eq!(v["storageid"], pool.as_str(), "{v}");
    assert_eq!(v["storage"], "vfail-pool");
    assert_eq!(pool_alloc(c.clone(), pool.clone()).await, before + 5 * GIB);
    ok_job(c, "detachVolume", &[("id", &f1)]).await;
    assert_eq!(c.get("deleteVolume", &[("id", &f1)]).await.ok()["success"], true);
    assert_eq!(
        pool_alloc(c.clone(), pool.clone()).await,
        before,
        "a deleted volume gives its space back"
    );
    // Its file is removed on a host that reaches the pool, by a follow-up.
    t.quiesce().await;
    let f = c.get("listFollowUps", &[]).await.items("followup");
    assert!(
        f.iter().all(|x| x["kind"] != "disk.delete" || x["state"] == "Done"),
        "the file delete ran: {f:?}"
    );
    t.stop().await;
}
