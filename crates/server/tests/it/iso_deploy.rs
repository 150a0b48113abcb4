//! Deploying VMs from ISOs (`deployVirtualMachine templateid=<an ISO>`) on the simulator: the
//! disk offering is the root disk's (blank, of the offering's size or `size`), the hypervisor
//! is named, the ISO stays attached and reaches the host as the VM's boot CD-ROM; CloudStack's
//! refusals when something is missing.

use ferrostack_agent_api::DiskFormat;
use serde_json::Value;

use crate::common::{Client, TestServer};
use crate::setup::{configdrive_offering, deploy, edge_with_templates, shared_network, Cloud};

const GIB: i64 = 1 << 30;

/// A refused deploy: the ISO, the call's other parameters, what the answer says.
type Refusal<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str);

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap_or_else(|| panic!("no id in {v}")).to_string()
}

async fn register_iso(c: &Client, cloud: &Cloud, name: &str, extra: &[(&str, &str)]) -> String {
    let mut p = vec![
        ("name", name),
        ("displaytext", name),
        ("url", "http://images.example.org/installer.iso"),
        ("zoneid", cloud.zone.zone.as_str()),
        ("ostypeid", cloud.ostype.as_str()),
        ("ispublic", "true"),
    ];
    p.extend_from_slice(extra);
    id_of(&c.get("registerIso", &p).await.items("iso")[0])
}

async fn disk_offering(c: &Client, name: &str, params: &[(&str, &str)]) -> String {
    let mut p = vec![("name", name), ("displaytext", name)];
    p.extend_from_slice(params);
    id_of(&c.get("createDiskOffering", &p).await.ok()["diskoffering"])
}

async fn vm(c: &Client, id: &str) -> Value {
    c.get("listVirtualMachines", &[("id", id)])
        .await
        .items("virtualmachine")[0]
        .clone()
}

async fn volumes(c: &Client, vm: &str) -> Vec<Value> {
    c.get("listVolumes", &[("virtualmachineid", vm)]).await.items("volume")
}

#[tokio::test]
async fn vms_deploy_from_bootable_isos_onto_a_blank_root_disk() {
    let t = TestServer::start().await;
    let c = &t.admin;
    let sim = t.server.as_ref().unwrap().sim.clone();
    let (edge, guest) = edge_with_templates(c, "isod", 1).await;
    let cd = configdrive_offering(c, "isod-cd").await;
    let net = shared_network(c, &edge, "isod-net", &cd, "130", 30).await;
    let sha = format!("{{SHA-256}}{}", "ab".repeat(32));
    let installer = register_iso(c, &edge, "installer", &[("directdownload", "true"), ("checksum", &sha)]).await;
    // Not direct download in an edge zone: registered, never ready.
    let stuck = register_iso(c, &edge, "stuck", &[]).await;
    let drivers = register_iso(
        c,
        &edge,
        "drivers",
        &[("directdownload", "true"), ("bootable", "false")],
    )
    .await;
    let fixed = disk_offering(c, "five", &[("disksize", "5")]).await;
    let custom = disk_offering(c, "custom", &[("customized", "true")]).await;

    // Refusals, each before anything is made.
    let base = |iso: &str| -> Vec<(String, String)> {
        vec![
            ("zoneid".into(), edge.zone.zone.clone()),
            ("serviceofferingid".into(), edge.offering.clone()),
            ("templateid".into(), iso.to_string()),
            ("networkids".into(), net.clone()),
        ]
    };
    let cases: Vec<Refusal> = vec![
        (
            installer.as_str(),
            vec![("diskofferingid", &fixed)],
            "hypervisor parameter is needed to deploy VM",
        ),
        (
            installer.as_str(),
            vec![("diskofferingid", &fixed), ("hypervisor", "XenServer")],
            "XenServer is not one of",
        ),
        (
            installer.as_str(),
            vec![("hypervisor", "Simulator")],
            "Installing from ISO requires a disk offering to be specified for the root disk",
        ),
        (
            installer.as_str(),
            vec![("hypervisor", "Simulator"), ("diskofferingid", &custom)],
            "is customized: give size",
        ),
        (
            installer.as_str(),
            vec![("hypervisor", "Simulator"), ("diskofferingid", &fixed), ("size", "7")],
            "fixed size of 5 GB",
        ),
        (
            stuck.as_str(),
            vec![("hypervisor", "Simulator"), ("diskofferingid", &fixed)],
            "can't be used in edge zone",
        ),
        (
            drivers.as_str(),
            vec![("hypervisor", "Simulator"), ("diskofferingid", &fixed)],
            "Installing from ISO requires an ISO that is bootable",
        ),
    ];
    for (iso, extra, want) in cases {
        let mut p = base(iso);
        p.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let p: Vec<(&str, &str)> = p.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let r = c.post("deployVirtualMachine", &p).await;
        assert_eq!(r.status, 431, "{extra:?}: {}", r.text);
        let e = r.err(431);
        assert!(e.contains(want), "{extra:?}: expected '{want}' in: {e}");
    }
    assert!(
        c.get("listVirtualMachines", &[])
            .await
            .items("virtualmachine")
            .is_empty(),
        "a refused deploy leaves no VM"
    );

    // From the ISO, on a disk offering of 5 GB.
    let (id, job) = deploy(
        c,
        &edge,
        &installer,
        &net,
        "fromiso",
        &[("hypervisor", "simulator"), ("diskofferingid", &fixed)],
    )
    .await;
    let j = c.wait_job(&job).await;
    assert_eq!(j["jobstatus"], 1, "{j}");
    let v = vm(c, &id).await;
    assert_eq!(v["state"], "Running", "{v}");
    assert_eq!(v["templateid"], installer.as_str(), "the VM's template is the ISO: {v}");
    assert_eq!(v["isoid"], installer.as_str(), "the ISO stays attached: {v}");
    assert_eq!(v["isoname"], "installer");
    assert_eq!(v["isodisplaytext"], "installer");
    assert_eq!(v["hypervisor"], "Simulator", "{v}");
    let vols = volumes(c, &id).await;
    assert_eq!(
        vols.len(),
        1,
        "the disk offering is the root disk's, not a data disk: {vols:?}"
    );
    assert_eq!(vols[0]["type"], "ROOT");
    assert_eq!(vols[0]["size"], 5 * GIB, "{}", vols[0]);
    assert_eq!(vols[0]["diskofferingid"], fixed.as_str(), "{}", vols[0]);
    assert!(vols[0].get("templateid").is_none(), "a blank root disk: {}", vols[0]);
    assert_eq!(vols[0]["hypervisor"], "Simulator", "{}", vols[0]);

    // The host was told which ISO to boot from, as it fetches templates.
    let instance = v["instancename"].as_str().unwrap().to_string();
    let spec = sim.vm_spec(&instance).expect("the simulator recorded the start");
    let iso = spec.iso.expect("the VM starts with its ISO");
    assert!(iso.boot, "a bootable ISO boots first");
    assert_eq!(iso.image.uuid, installer);
    assert_eq!(iso.image.url, "http://images.example.org/installer.iso");
    assert_eq!(iso.image.checksum.as_deref(), Some(sha.as_str()));
    assert_eq!(iso.image.format, DiskFormat::Raw);
    assert!(iso.image.direct_download);

    // A customized offering takes size (or rootdisksize) in GB.
    for (name, extra, gb) in [("sized", ("size", "3"), 3), ("rootsized", ("rootdisksize", "4"), 4)] {
        let (id, job) = deploy(
            c,
            &edge,
            &installer,
            &net,
            name,
            &[("hypervisor", "Simulator"), ("diskofferingid", &custom), extra],
        )
        .await;
        assert_eq!(c.wait_job(&job).await["jobstatus"], 1, "{name}");
        let vols = volumes(c, &id).await;
        assert_eq!(vols.len(), 1, "{vols:?}");
        assert_eq!(vols[0]["size"], gb * GIB, "{name}: {}", vols[0]);
        assert_eq!(vols[0]["diskofferingid"], custom.as_str());
    }

    // Detached, the VM boots from its root disk: the next start has no ISO.
    assert_eq!(c.run_async("stopVirtualMachine", &[("id", &id)]).await["jobstatus"], 1);
    assert_eq!(
        c.run_async("detachIso", &[("virtualmachineid", &id)]).await["jobstatus"],
        1
    );
    assert_eq!(c.run_async("startVirtualMachine", &[("id", &id)]).await["jobstatus"], 1);
    let v = vm(c, &id).await;
    assert!(v.get("isoid").is_none(), "{v}");
    assert_eq!(v["templateid"], installer.as_str());
    assert_eq!(v["state"], "Running");
    assert!(sim.vm_spec(&instance).unwrap().iso.is_none());
    // Attached again (a non-bootable one this time): in the drive, not booted from.
    assert_eq!(c.run_async("stopVirtualMachine", &[("id", &id)]).await["jobstatus"], 1);
    assert_eq!(
        c.run_async("attachIso", &[("id", &drivers), ("virtualmachineid", &id)])
            .await["jobstatus"],
        1
    );
    assert_eq!(c.run_async("startVirtualMachine", &[("id", &id)]).await["jobstatus"], 1);
    let iso = sim.vm_spec(&instance).unwrap().iso.expect("the attached ISO");
    assert_eq!(iso.image.uuid, drivers);
    assert!(!iso.boot);

    // Restored, as CloudStack does: a new blank root disk of the same offering and size, and
    // the ISO it was deployed from back in the drive.
    let old_root = id_of(&volumes(c, &id).await[0]);
    let j = c.run_async("restoreVirtualMachine", &[("virtualmachineid", &id)]).await;
    assert_eq!(j["jobstatus"], 1, "{j}");
    let vols = volumes(c, &id).await;
    assert_eq!(vols.len(), 1, "{vols:?}");
    assert_ne!(id_of(&vols[0]), old_root, "a new root volume");
    assert_eq!(vols[0]["size"], 5 * GIB, "{}", vols[0]);
    assert_eq!(vols[0]["diskofferingid"], fixed.as_str(), "{}", vols[0]);
    assert!(vols[0].get("templateid").is_none(), "{}", vols[0]);
    let v = vm(c, &id).await;
    assert_eq!(v["state"], "Running", "{v}");
    assert_eq!(v["isoid"], installer.as_str(), "{v}");
    let iso = sim.vm_spec(&instance).unwrap().iso.expect("the installer again");
    assert_eq!(iso.image.uuid, installer);
    assert!(iso.boot);

    // A template deploy is unchanged: the disk offering is a data disk, the hypervisor the
    // template's.
    let (tid, job) = deploy(c, &edge, &guest, &net, "fromtpl", &[("diskofferingid", &fixed)]).await;
    assert_eq!(c.wait_job(&job).await["jobstatus"], 1);
    let mut types: Vec<String> = volumes(c, &tid)
        .await
        .iter()
        .map(|v| v["type"].as_str().unwrap().to_string())
        .collect();
    types.sort();
    assert_eq!(types, ["DATADISK", "ROOT"]);
    let tv = vm(c, &tid).await;
    assert!(tv.get("isoid").is_none(), "{tv}");
    let tinstance = tv["instancename"].as_str().unwrap().to_string();
    assert!(sim.vm_spec(&tinstance).unwrap().iso.is_none());
    t.stop().await;
}

/// `listApis` declares what an ISO deploy takes.
#[tokio::test]
async fn list_apis_declares_the_iso_deploy_parameters() {
    let t = TestServer::start().await;
    let a = t.admin.get("listApis", &[("name", "deployVirtualMachine")]).await;
    let api = &a.items("api")[0];
    let params: Vec<&str> = api["params"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for p in ["templateid", "diskofferingid", "size", "hypervisor", "rootdisksize"] {
        assert!(params.contains(&p), "{p} not in {params:?}");
    }
    t.stop().await;
}
