//! ISOs through the API: registerIso (one zone, all zones), listIsos with isofilter and
//! account scoping, updateIso, deleteIso, and attachIso / detachIso on VMs. ISOs are
//! templates with format ISO: they download like templates and stay out of listTemplates.

use serde_json::Value;

use crate::common::{finish_downloads, Client, TestServer};
use crate::setup::{cloud, configdrive_offering, deploy, edge_with_templates, shared_network};

fn ids(items: &[Value]) -> Vec<String> {
    items.iter().map(|i| i["id"].as_str().unwrap().to_string()).collect()
}

async fn zone(c: &Client, name: &str, edge: bool) -> String {
    let mut p = vec![
        ("name", name),
        ("dns1", "8.8.8.8"),
        ("internaldns1", "10.0.0.2"),
        ("networktype", "Advanced"),
    ];
    if edge {
        p.push(("isedge", "true"));
    }
    let z = c.get("createZone", &p).await;
    z.ok()["zone"]["id"].as_str().unwrap().to_string()
}

async fn register_iso(c: &Client, params: &[(&str, &str)]) -> Vec<Value> {
    let mut p = vec![("url", "http://images.example.org/tools.iso")];
    p.extend_from_slice(params);
    c.get("registerIso", &p).await.items("iso")
}

async fn list_isos(c: &Client, params: &[(&str, &str)]) -> Vec<Value> {
    c.get("listIsos", params).await.items("iso")
}

#[tokio::test]
async fn isos_register_list_scope_update_delete() {
    let t = TestServer::start().await;
    let a = &t.admin;
    let core = zone(a, "core", false).await;
    let edge = zone(a, "edge", true).await;
    a.get(
        "addImageStore",
        &[
            ("name", "sec1"),
            ("url", "nfs://10.1.1.2/export/secondary"),
            ("provider", "NFS"),
            ("zoneid", &core),
        ],
    )
    .await
    .ok();
    let os = a.get("listOsTypes", &[]).await.items("ostype")[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let root = a.get("listDomains", &[("listall", "true")]).await.items("domain")[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, alice) = t.account_client("alice", "0", &root).await;
    let (_, bob) = t.account_client("bob", "0", &root).await;

    let e = alice
        .get(
            "registerIso",
            &[("name", "x"), ("url", "http://x/y.iso"), ("zoneid", &core)],
        )
        .await
        .err(431);
    assert!(e.contains("ostypeid"), "a bootable ISO needs its guest OS: {e}");

    // One zone: it downloads like a template, through the same downloader.
    let r = register_iso(
        &alice,
        &[
            ("name", "tools"),
            ("zoneid", &core),
            ("ostypeid", &os),
            ("checksum", "abc"),
        ],
    )
    .await;
    assert_eq!(r.len(), 1);
    let tools = r[0]["id"].as_str().unwrap().to_string();
    assert_eq!(r[0]["format"], "ISO");
    assert_eq!(r[0]["isready"], false);
    assert_eq!(r[0]["bootable"], true, "bootable defaults to true: {}", r[0]);
    assert_eq!(r[0]["ispublic"], false, "ispublic defaults to false: {}", r[0]);
    assert_eq!(r[0]["displaytext"], "tools");
    assert_eq!(r[0]["checksum"], "abc");
    assert_eq!(r[0]["account"], "alice");
    assert!(r[0]["status"].as_str().unwrap().ends_with("% Downloaded"), "{}", r[0]);
    // Only ready ISOs are selfexecutable (the default filter); self shows it at once.
    assert!(list_isos(&alice, &[]).await.is_empty());
    assert_eq!(
        ids(&list_isos(&alice, &[("isofilter", "self")]).await),
        vec![tools.clone()]
    );
    finish_downloads(t.app(), &tools).await;
    let l = list_isos(&alice, &[("isofilter", "selfexecutable")]).await;
    assert_eq!(ids(&l), vec![tools.clone()]);
    assert_eq!(l[0]["isready"], true);
    assert_eq!(l[0]["zoneid"], core.as_str());

    // All zones (admin, public, not bootable): one item per zone, crossZones.
    let r = register_iso(
        a,
        &[
            ("name", "drivers"),
            ("displaytext", "Driver disk"),
            ("zoneid", "-1"),
            ("ispublic", "true"),
            ("isfeatured", "true"),
            ("bootable", "false"),
            ("directdownload", "true"),
        ],
    )
    .await;
    assert_eq!(r.len(), 2, "{r:?}");
    assert_eq!(
        r[0]["ostypename"], "Other (64-bit)",
        "a non-bootable ISO needs no ostypeid"
    );
    let drivers = r[0]["id"].as_str().unwrap().to_string();
    assert!(r.iter().all(|i| i["crossZones"] == true && i["isready"] == true));
    let mut zones: Vec<&str> = r.iter().map(|i| i["zoneid"].as_str().unwrap()).collect();
    zones.sort();
    let mut want = vec![core.as_str(), edge.as_str()];
    want.sort();
    assert_eq!(zones, want);

    // ISOs stay out of listTemplates, and templates out of listIsos.
    let tpl = a
        .get("listTemplates", &[("templatefilter", "all")])
        .await
        .items("template");
    assert!(!tpl.is_empty());
    assert!(tpl.iter().all(|t| t["format"] != "ISO"), "{tpl:?}");
    let all = list_isos(a, &[("isofilter", "all")]).await;
    assert!(all.iter().all(|i| i["format"] == "ISO"), "{all:?}");
    assert_eq!(all.len(), 3, "tools in core, drivers in both zones: {all:?}");
    let e = a
        .get(
            "registerTemplate",
            &[
                ("name", "x"),
                ("url", "http://x/y.iso"),
                ("format", "ISO"),
                ("hypervisor", "Simulator"),
                ("zoneid", &core),
                ("ostypeid", &os),
            ],
        )
        .await
        .err(431);
    assert!(e.contains("registerIso"), "{e}");
    let e = a
        .get("listTemplates", &[("templatefilter", "all"), ("id", &tools)])
        .await
        .err(431);
    assert!(e.contains("listIsos"), "{e}");

    // isofilter and filters.
    assert_eq!(
        ids(&list_isos(&bob, &[("isofilter", "featured")]).await),
        vec![drivers.clone(); 2]
    );
    let ex = list_isos(&bob, &[("isofilter", "executable"), ("zoneid", &core)]).await;
    assert_eq!(ids(&ex), vec![drivers.clone()], "bob can't see alice's private ISO");
    assert!(list_isos(&bob, &[("isofilter", "community")]).await.is_empty());
    assert!(list_isos(&bob, &[("isofilter", "self")]).await.is_empty());
    let e = bob.get("listIsos", &[("isofilter", "all")]).await.err(431);
    assert!(e.contains("isofilter"), "{e}");
    bob.get("listIsos", &[("id", &tools)]).await.err(531);
    assert_eq!(
        ids(&list_isos(a, &[("isofilter", "all"), ("bootable", "false")]).await),
        vec![drivers.clone(); 2]
    );
    assert_eq!(
        ids(&list_isos(a, &[("isofilter", "all"), ("ispublic", "false")]).await),
        vec![tools.clone()]
    );
    assert_eq!(
        ids(&list_isos(a, &[("isofilter", "all"), ("keyword", "driv"), ("zoneid", &edge)]).await),
        vec![drivers.clone()]
    );
    assert_eq!(
        ids(&list_isos(a, &[("isofilter", "all"), ("name", "tools")]).await),
        vec![tools.clone()]
    );
    let page = a
        .get("listIsos", &[("isofilter", "all"), ("page", "1"), ("pagesize", "1")])
        .await;
    assert_eq!(page.ok()["count"], 3);
    assert_eq!(page.items("iso").len(), 1);
    a.get("listIsos", &[("isofilter", "bogus")]).await.err(431);

    // Tags: an ISO is tagged as resource type ISO (Ansible's cs_iso), not Template.
    async fn tag(c: &Client, id: &str) -> Value {
        c.run_async(
            "createTags",
            &[
                ("resourcetype", "ISO"),
                ("resourceids", id),
                ("tags[0].key", "role"),
                ("tags[0].value", "tools"),
            ],
        )
        .await
    }
    let e = alice
        .get(
            "createTags",
            &[
                ("resourcetype", "Template"),
                ("resourceids", &tools),
                ("tags[0].key", "role"),
                ("tags[0].value", "tools"),
            ],
        )
        .await
        .err(431);
    assert!(e.contains("type Template"), "an ISO is not a Template: {e}");
    let j = tag(&alice, &tools).await;
    assert_eq!(j["jobstatus"], 1, "{j}");
    let l = list_isos(
        &alice,
        &[
            ("isofilter", "self"),
            ("tags[0].key", "role"),
            ("tags[0].value", "tools"),
        ],
    )
    .await;
    assert_eq!(ids(&l), vec![tools.clone()]);
    assert_eq!(l[0]["tags"][0]["resourcetype"], "ISO", "{}", l[0]);
    assert!(list_isos(
        &alice,
        &[
            ("isofilter", "self"),
            ("tags[0].key", "role"),
            ("tags[0].value", "other")
        ]
    )
    .await
    .is_empty());
    let listed = alice.get("listTags", &[("resourcetype", "ISO")]).await.items("tag");
    assert_eq!(listed.len(), 1, "{listed:?}");

    // updateIso: the owner may; another user may not; a template is not an ISO.
    let u = alice
        .get(
            "updateIso",
            &[("id", &tools), ("displaytext", "Guest tools"), ("bootable", "false")],
        )
        .await;
    assert_eq!(u.ok()["iso"]["displaytext"], "Guest tools");
    assert_eq!(u.ok()["iso"]["bootable"], false);
    bob.get("updateIso", &[("id", &tools), ("name", "mine")]).await.err(531);
    let e = a
        .get("updateIso", &[("id", tpl[0]["id"].as_str().unwrap())])
        .await
        .err(431);
    assert!(e.contains("not an ISO"), "{e}");
    let ev = a
        .get("listEvents", &[("type", "ISO.UPDATE"), ("listall", "true")])
        .await
        .items("event");
    assert_eq!(ev.len(), 1, "{ev:?}");
    let ev = a
        .get("listEvents", &[("type", "ISO.CREATE"), ("listall", "true")])
        .await
        .items("event");
    assert_eq!(ev.len(), 2, "{ev:?}");

    // deleteIso (async) from one zone, then everywhere.
    let j = a.run_async("deleteIso", &[("id", &drivers), ("zoneid", &edge)]).await;
    assert_eq!(j["jobstatus"], 1, "{j}");
    let left = list_isos(a, &[("isofilter", "all"), ("id", &drivers)]).await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["zoneid"], core.as_str());
    let j = alice.run_async("deleteIso", &[("id", &tools)]).await;
    assert_eq!(j["jobstatus"], 1, "{j}");
    assert!(list_isos(&alice, &[("isofilter", "self")]).await.is_empty());
    let left = alice.get("listTags", &[("resourcetype", "ISO")]).await.items("tag");
    assert!(left.is_empty(), "a deleted ISO takes its tags: {left:?}");
    let ev = a
        .get("listEvents", &[("type", "ISO.DELETE"), ("listall", "true")])
        .await
        .items("event");
    assert!(!ev.is_empty());
    t.stop().await;
}

#[tokio::test]
async fn isos_attach_and_detach_on_vms() {
    let t = TestServer::start().await;
    let c = &t.admin;
    let (edge, guest) = edge_with_templates(c, "edge", 1).await;
    let cd = configdrive_offering(c, "cd").await;
    let net = shared_network(c, &edge, "cd-net", &cd, "110", 10).await;
    let other = cloud(c, "other", true, 1).await;
    let os = edge.ostype.clone();

    let ready = register_iso(
        c,
        &[
            ("name", "rescue"),
            ("displaytext", "Rescue disk"),
            ("zoneid", &edge.zone.zone),
            ("ostypeid", &os),
            ("ispublic", "true"),
            ("directdownload", "true"),
        ],
    )
    .await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Not direct download in an edge zone: registered, never ready.
    let unready = register_iso(c, &[("name", "stuck"), ("zoneid", &edge.zone.zone), ("ostypeid", &os)]).await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let elsewhere = register_iso(
        c,
        &[
            ("name", "far"),
            ("zoneid", &other.zone.zone),
            ("ostypeid", &os),
            ("directdownload", "true"),
        ],
    )
    .await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();

    let (vm, job) = deploy(c, &edge, &guest, &net, "app1", &[]).await;
    assert_eq!(c.wait_job(&job).await["jobstatus"], 1);
    let get_vm = |id: String| async move {
        c.get("listVirtualMachines", &[("id", &id)])
            .await
            .items("virtualmachine")[0]
            .clone()
    };
    assert!(get_vm(vm.clone()).await.get("isoid").is_none());

    // Deploying from an ISO needs the hypervisor and a root disk offering (iso_deploy.rs).
    let e = c
        .post(
            "deployVirtualMachine",
            &[
                ("zoneid", &edge.zone.zone),
                ("serviceofferingid", &edge.offering),
                ("templateid", &ready),
                ("networkids", &net),
            ],
        )
        .await
        .err(431);
    assert!(e.contains("hypervisor parameter is needed"), "{e}");

    // Refusals: not ready, another zone, nothing to detach.
    let e = c
        .get("attachIso", &[("id", &unready), ("virtualmachineid", &vm)])
        .await
        .err(431);
    assert!(e.contains("edge"), "{e}");
    let e = c
        .get("attachIso", &[("id", &elsewhere), ("virtualmachineid", &vm)])
        .await
        .err(431);
    assert!(e.contains("not available in zone"), "{e}");
    c.get("detachIso", &[("virtualmachineid", &vm)]).await.err(431);

    // Attach to the running VM (simulator: DB state).
    let j = c
        .run_async("attachIso", &[("id", &ready), ("virtualmachineid", &vm)])
        .await;
    assert_eq!(j["jobstatus"], 1, "{j}");
    assert_eq!(j["jobresult"]["virtualmachine"]["isoid"], ready.as_str(), "{j}");
    let v = get_vm(vm.clone()).await;
    assert_eq!(v["isoid"], ready.as_str());
    assert_eq!(v["isoname"], "rescue");
    assert_eq!(v["isodisplaytext"], "Rescue disk");
    // One ISO per VM.
    let e = c
        .get("attachIso", &[("id", &ready), ("virtualmachineid", &vm)])
        .await
        .err(431);
    assert!(e.contains("detachIso"), "{e}");
    // An attached ISO can't be deleted.
    let e = c.get("deleteIso", &[("id", &ready)]).await.err(431);
    assert!(e.contains("app1"), "{e}");

    // Detach on a stopped VM.
    assert_eq!(c.run_async("stopVirtualMachine", &[("id", &vm)]).await["jobstatus"], 1);
    let j = c.run_async("detachIso", &[("virtualmachineid", &vm)]).await;
    assert_eq!(j["jobstatus"], 1, "{j}");
    let v = get_vm(vm.clone()).await;
    assert!(v.get("isoid").is_none(), "{v}");
    assert_eq!(v["state"], "Stopped");
    let j = c
        .run_async("attachIso", &[("id", &ready), ("virtualmachineid", &vm)])
        .await;
    assert_eq!(j["jobstatus"], 1, "{j}");
    assert_eq!(get_vm(vm.clone()).await["isoid"], ready.as_str());
    for ty in ["ISO.ATTACH", "ISO.DETACH"] {
        let ev = c
            .get("listEvents", &[("type", ty), ("listall", "true")])
            .await
            .items("event");
        assert!(!ev.is_empty(), "{ty}");
    }

    // Another account's VM is out of reach.
    let root = c.get("listDomains", &[("listall", "true")]).await.items("domain")[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, eve) = t.account_client("eve", "0", &root).await;
    eve.get("detachIso", &[("virtualmachineid", &vm)]).await.err(431);

    // Detached, the ISO can be deleted.
    assert_eq!(
        c.run_async("detachIso", &[("virtualmachineid", &vm)]).await["jobstatus"],
        1
    );
    assert_eq!(c.run_async("deleteIso", &[("id", &ready)]).await["jobstatus"], 1);
    t.stop().await;
}

/// On hosts that build their VMs' devices (KVM, here `ferrostack agent` with its simulated
/// backend) the CD-ROM of a running VM can't be changed yet: stop the VM first.
#[tokio::test]
async fn kvm_hosts_change_the_iso_only_on_stopped_vms() {
    use crate::kvmhost::{configdrive_only_offering, kvm_edge, kvm_template, AgentProcess};
    let t = TestServer::start().await;
    let c = &t.admin;
    let dir = tempfile::tempdir().unwrap();
    let agent = AgentProcess::start(dir.path(), "pw", &["--backend", "simulator"]);
    let edge = kvm_edge(c, "ki", &agent.url, "pw", &dir.path().join("pool")).await;
    let guest = kvm_template(c, &edge, "guest", "http://images.example.org/g.qcow2", None, false).await;
    let cd = configdrive_only_offering(c, "cd").await;
    let net = shared_network(c, &edge, "ki-a", &cd, "150", 50).await;
    let iso = register_iso(
        c,
        &[
            ("name", "rescue"),
            ("zoneid", &edge.zone.zone),
            ("ostypeid", &edge.ostype),
            ("ispublic", "true"),
            ("directdownload", "true"),
        ],
    )
    .await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (vm, job) = deploy(c, &edge, &guest, &net, "ki1", &[]).await;
    assert_eq!(c.wait_job(&job).await["jobstatus"], 1);

    let e = c
        .get("attachIso", &[("id", &iso), ("virtualmachineid", &vm)])
        .await
        .err(431);
    assert!(e.contains("stop the VM first"), "{e}");
    assert_eq!(c.run_async("stopVirtualMachine", &[("id", &vm)]).await["jobstatus"], 1);
    let j = c
        .run_async("attachIso", &[("id", &iso), ("virtualmachineid", &vm)])
        .await;
    assert_eq!(j["jobresult"]["virtualmachine"]["isoid"], iso.as_str(), "{j}");
    assert_eq!(c.run_async("startVirtualMachine", &[("id", &vm)]).await["jobstatus"], 1);
    let e = c.get("detachIso", &[("virtualmachineid", &vm)]).await.err(431);
    assert!(e.contains("stop the VM first"), "{e}");
    drop(agent);
    t.stop().await;
}
