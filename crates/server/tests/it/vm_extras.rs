//! VM lifecycle extras through the API: changing a VM's offering (stopped) and scaling it
//! (running, with its host's capacity), restoring its root disk, migrating it between hosts,
//! and adding, removing and switching its NICs.

use serde_json::Value;

use crate::common::{Client, TestServer};
use crate::setup::{configdrive_offering, deploy, edge_with_templates, routers_of, shared_network, Cloud};

const MIB: i64 = 1024 * 1024;

async fn vm(c: &Client, id: &str) -> Value {
    let l = c
        .get("listVirtualMachines", &[("id", id)])
        .await
        .items("virtualmachine");
    assert_eq!(l.len(), 1, "{l:?}");
    l[0].clone()
}

async fn memory_allocated(c: &Client, host: &str) -> i64 {
    let h = c.get("listHosts", &[("id", host)]).await.items("host")[0].clone();
    h["memoryallocated"].as_i64().unwrap()
}

async fn offering(c: &Client, name: &str, cpus: &str, mhz: &str, mb: &str, dynamic: bool) -> String {
    let r = c
        .get(
            "createServiceOffering",
            &[
                ("name", name),
                ("displaytext", name),
                ("cpunumber", cpus),
                ("cpuspeed", mhz),
                ("memory", mb),
                ("dynamicscalingenabled", if dynamic { "true" } else { "false" }),
            ],
        )
        .await;
    r.ok()["serviceoffering"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("createServiceOffering: {}", r.text))
        .to_string()
}

async fn offering_named(c: &Client, name: &str) -> String {
    c.get("listServiceOfferings", &[("name", name)])
        .await
        .items("serviceoffering")[0]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// An L2 network (no router: quick to deploy on) owned by the caller.
async fn l2_network(c: &Client, cloud: &Cloud, name: &str) -> String {
    let l2 = crate::setup::offering_id(c, "DefaultL2NetworkOffering").await;
    let n = c
        .get(
            "createNetwork",
            &[
                ("name", name),
                ("displaytext", name),
                ("zoneid", &cloud.zone.zone),
                ("networkofferingid", &l2),
            ],
        )
        .await;
    n.ok()["network"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("createNetwork: {}", n.text))
        .to_string()
}

async fn running_vm(
    c: &Client,
    cloud: &Cloud,
    template: &str,
    net: &str,
    name: &str,
    extra: &[(&str, &str)],
) -> String {
    let (id, job) = deploy(c, cloud, template, net, name, extra).await;
    let j = c.wait_job(&job).await;
    assert_eq!(j["jobstatus"], 1, "deploy {name}: {j}");
    id
}

async fn events(c: &Client, event_type: &str) -> Vec<Value> {
    c.get("listEvents", &[("type", event_type), ("listall", "true")])
        .await
        .items("event")
}

async fn failed(c: &Client, command: &str, params: &[(&str, &str)]) -> Value {
    let j = c.run_async(command, params).await;
    assert_eq!(j["jobstatus"], 2, "{command} should fail: {j}");
    j
}

#[tokio::test]
async fn offering_changes_stopped_and_scaling_running_with_host_capacity() {
    let t = TestServer::start().await;
    let c = &t.admin;
    let (edge, guest) = edge_with_templates(c, "sc", 1).await;
    let host = edge.zone.hosts[0].clone();
    let net = l2_network(c, &edge, "sc-net").await;
    let id = running_vm(c, &edge, &guest, &net, "sc1", &[]).await;
    let small = edge.offering.clone();
    let medium = offering_named(c, "Medium Instance").await;
    let before = memory_allocated(c, &host).await;
    assert_eq!(before, 512 * MIB);

    // changeServiceForVirtualMachine wants a stopped VM.
    let e = c
        .get(
            "changeServiceForVirtualMachine",
            &[("id", &id), ("serviceofferingid", &medium)],
        )
        .await
        .err(431);
    assert!(e.contains("stopped"), "{e}");
    // Bad ids, someone else's VM, the offering it has, custom parameters.
    let bogus = "5f1d1c59-0000-4000-8000-000000000000";
    c.get(
        "changeServiceForVirtualMachine",
        &[("id", &id), ("serviceofferingid", bogus)],
    )
    .await
    .err(431);
    c.get("scaleVirtualMachine", &[("id", bogus), ("serviceofferingid", &medium)])
        .await
        .err(431);
    let root = c.get("listDomains", &[]).await.items("domain")[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, user) = t.account_client("other", "0", &root).await;
    let e = user
        .get("scaleVirtualMachine", &[("id", &id), ("serviceofferingid", &medium)])
        .await
        .err(431);
    assert!(e.contains(&id), "another account's VM is not found: {e}");
    let e = c
        .get("scaleVirtualMachine", &[("id", &id), ("serviceofferingid", &small)])
        .await
        .err(431);
    assert!(e.contains("already has"), "{e}");
    let e = c
        .get(
            "scaleVirtualMachine",
            &[
                ("id", &id),
                ("serviceofferingid", &medium),
                ("details[0].memory", "2048"),
            ],
        )
        .await
        .err(431);
    assert!(e.contains("details"), "{e}");

    // Running: the zone must enable dynamic scaling, the template support it, the offerings
    // agree on the flag, and the VM only grows.
    let e = c
        .get("scaleVirtualMachine", &[("id", &id), ("serviceofferingid", &medium)])
        .await
        .err(531);
    assert!(e.contains("disabled for this zone"), "{e}");
    c.get(
        "updateConfiguration",
        &[
            ("name", "enable.dynamic.scale.vm"),
            ("value", "true"),
            ("zoneid", &edge.zone.zone),
        ],
    )
    .await
    .ok();
    let e = c
        .get("scaleVirtualMachine", &[("id", &id), ("serviceofferingid", &medium)])
        .await
        .err(431);
    assert!(e.contains("dynamic scaling"), "{e}");
    assert_eq!(vm(c, &id).await["isdynamicallyscalable"], false);
    // The VM's flag is fixed at deploy; updateVirtualMachine sets it where template, offering
    // and zone allow it.
    let e = c
        .get(
            "updateVirtualMachine",
            &[("id", &id), ("isdynamicallyscalable", "true")],
        )
        .await
        .err(431);
    assert!(e.contains("its Template does not have dynamic scaling"), "{e}");
    c.get("updateTemplate", &[("id", &guest), ("isdynamicallyscalable", "true")])
        .await
        .ok();
    let e = c
        .get("scaleVirtualMachine", &[("id", &id), ("serviceofferingid", &medium)])
        .await
        .err(431);
    assert!(e.contains("dynamic scaling"), "{e}");
    let r = c
        .get(
            "updateVirtualMachine",
            &[("id", &id), ("isdynamicallyscalable", "true")],
        )
        .await;
    assert_eq!(r.ok()["virtualmachine"]["isdynamicallyscalable"], true, "{}", r.text);
    // A new VM is scalable when all allow it, unless deployed with dynamicscalingenabled=false.
    let scalable = running_vm(c, &edge, &guest, &net, "sc-dyn", &[]).await;
    assert_eq!(vm(c, &scalable).await["isdynamicallyscalable"], true);
    let fixed_vm = running_vm(c, &edge, &guest, &net, "sc-fix", &[("dynamicscalingenabled", "false")]).await;
    assert_eq!(vm(c, &fixed_vm).await["isdynamicallyscalable"], false);
    for v in [&scalable, &fixed_vm] {
        let j = c
            .run_async("destroyVirtualMachine", &[("id", v), ("expunge", "true")])
            .await;
        assert_eq!(j["jobstatus"], 1, "{j}");
    }
    let fixed = offering(c, "fixed", "1", "1000", "1024", false).await;
    let e = c
        .get("scaleVirtualMachine", &[("id", &id), ("serviceofferingid", &fixed)])
        .await
        .err(431);
    assert!(e.contains("dynamic scaling enabled flag"), "{e}");
    let tiny = offering(c, "tiny", "1", "500", "256", true).await;
    let e = c
        .get("scaleVirtualMachine", &[("id", &id), ("serviceofferingid", &tiny)])
        .await
        .err(431);
    assert!(e.contains("only scalling up"), "{e}");

    // A host without room: the job fails and nothing changes.
    let huge = offering(c, "huge", "1", "500", "100000", true).await;
    let j = failed(c, "scaleVirtualMachine", &[("id", &id), ("serviceofferingid", &huge)]).await;
    assert_eq!(j["jobresult"]["errorcode"], 533, "{j}");
    let v = vm(c, &id).await;
    assert_eq!(
        (v["serviceofferingid"].as_str(), v["memory"].as_i64()),
        (Some(small.as_str()), Some(512))
    );
    assert_eq!(memory_allocated(c, &host).await, before);

    // Scaled in place: the host counts the growth.
    let j = c
        .run_async("scaleVirtualMachine", &[("id", &id), ("serviceofferingid", &medium)])
        .await;
    assert_eq!(j["jobstatus"], 1, "{j}");
    let r = &j["jobresult"]["virtualmachine"];
    assert_eq!(r["serviceofferingid"], medium.as_str(), "{r}");
    assert_eq!((r["memory"].as_i64(), r["cpuspeed"].as_i64()), (Some(1024), Some(1000)));
    assert_eq!(r["state"], "Running");
    assert_eq!(memory_allocated(c, &host).await, 1024 * MIB);
    assert_eq!(events(c, "VM.DYNAMIC.SCALE").await.len(), 1);
    assert!(!events(c, "VM.UPGRADE").await.is_empty());

    // Stopped: a new offering takes effect at the next start.
    assert_eq!(c.run_async("stopVirtualMachine", &[("id", &id)]).await["jobstatus"], 1);
    assert_eq!(memory_allocated(c, &host).await, 0);
    let r = c
        .get(
            "changeServiceForVirtualMachine",
            &[("id", &id), ("serviceofferingid", &tiny)],
        )
        .await;
    let v = &r.ok()["virtualmachine"];
    assert_eq!(
        (v["serviceofferingname"].as_str(), v["memory"].as_i64()),
        (Some("tiny"), Some(256)),
        "{v}"
    );
    assert_eq!(v["state"], "Stopped");
    // A stopped VM scales to any size, even one no host has room for.
    let j = c
        .run_async("scaleVirtualMachine", &[("id", &id), ("serviceofferingid", &fixed)])
        .await;
    assert_eq!(j["jobresult"]["virtualmachine"]["serviceofferingname"], "fixed", "{j}");
    assert_eq!(c.run_async("startVirtualMachine", &[("id", &id)]).await["jobstatus"], 1);
    assert_eq!(memory_allocated(c, &host).await, 1024 * MIB);
    t.stop().await;
}

#[tokio::test]
async fn restore_replaces_the_root_volume_and_keeps_the_vm_state() {
    let t = TestServer::start().await;
    let c = &t.admin;
    let (edge, guest) = edge_with_templates(c, "rs", 1).await;
    let other = crate::setup::template(c, &edge, "guest2", true, false, true).await;
    let net = l2_network(c, &edge, "rs-net").await;
    let id = running_vm(c, &edge, &guest, &net, "rs1", &[]).await;
    let root = |vols: Vec<Value>| {
        let roots: Vec<Value> = vols.into_iter().filter(|v| v["type"] == "ROOT").collect();
        assert_eq!(roots.len(), 1, "{roots:?}");
        roots[0].clone()
    };
    let first = root(c.get("listVolumes", &[("virtualmachineid", &id)]).await.items("volume"));

    // Refusals, under CloudStack's response name for this command.
    let bogus = "5f1d1c59-0000-4000-8000-000000000000";
    let r = c.get("restoreVirtualMachine", &[("virtualmachineid", bogus)]).await;
    r.err(431);
    assert!(r.body.get("restorevmresponse").is_some(), "{}", r.text);
    c.get(
        "restoreVirtualMachine",
        &[("virtualmachineid", &id), ("templateid", bogus)],
    )
    .await
    .err(431);
    let e = c
        .get(
            "restoreVirtualMachine",
            &[("virtualmachineid", &id), ("rootdisksize", "20")],
        )
        .await
        .err(431);
    assert!(e.contains("rootdisksize"), "{e}");
    let e = c
        .get(
            "restoreVirtualMachine",
            &[("virtualmachineid", &id), ("expunge", "false")],
        )
        .await
        .err(431);
    assert!(e.contains("expunge"), "{e}");
    let domain = c.get("listDomains", &[]).await.items("domain")[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, user) = t.account_client("other", "0", &domain).await;
    user.get("restoreVirtualMachine", &[("virtualmachineid", &id)])
        .await
        .err(431);

    // A running VM is restored from its template and runs again, on a new root volume.
    let r = c.get("restoreVirtualMachine", &[("virtualmachineid", &id)]).await;
    let job = r.body["restorevmresponse"]["jobid"]
        .as_str()
        .unwrap_or_else(|| panic!("{}", r.text))
        .to_string();
    let j = c.wait_job(&job).await;
    assert_eq!(j["jobstatus"], 1, "{j}");
    assert_eq!(j["jobresult"]["virtualmachine"]["state"], "Running", "{j}");
    let second = root(c.get("listVolumes", &[("virtualmachineid", &id)]).await.items("volume"));
    assert_ne!(first["id"], second["id"]);
    let old = c
        .get("listVolumes", &[("id", first["id"].as_str().unwrap())])
        .await
        .items("volume");
    assert!(old.is_empty(), "the old root volume is gone: {old:?}");
    assert!(events(c, "VM.RESTORE").await.len() >= 2);

    // A stopped VM stays stopped, with the new template.
    assert_eq!(c.run_async("stopVirtualMachine", &[("id", &id)]).await["jobstatus"], 1);
    let j = c
        .run_async(
            "restoreVirtualMachine",
            &[("virtualmachineid", &id), ("templateid", &other)],
        )
        .await;
    let v = &j["jobresult"]["virtualmachine"];
    assert_eq!(
        (v["state"].as_str(), v["templateid"].as_str()),
        (Some("Stopped"), Some(other.as_str())),
        "{j}"
    );
    let third = root(c.get("listVolumes", &[("virtualmachineid", &id)]).await.items("volume"));
    assert_ne!(third["id"], second["id"]);

    // A password-enabled template gives the restored VM a new password, answered once.
    let r = c
        .get(
            "registerTemplate",
            &[
                ("name", "pw"),
                ("displaytext", "pw"),
                ("url", "http://images.example.org/pw.qcow2"),
                ("format", "QCOW2"),
                ("hypervisor", "Simulator"),
                ("ostypeid", &edge.ostype),
                ("zoneid", &edge.zone.zone),
                ("directdownload", "true"),
                ("passwordenabled", "true"),
            ],
        )
        .await;
    let pw_template = r.ok()["template"][0]["id"].as_str().unwrap().to_string();
    crate::common::finish_downloads(t.app(), &pw_template).await;
    let j = c
        .run_async(
            "restoreVirtualMachine",
            &[("virtualmachineid", &id), ("templateid", &pw_template)],
        )
        .await;
    let v = &j["jobresult"]["virtualmachine"];
    assert!(v["password"].as_str().is_some_and(|p| p.len() >= 8), "{j}");
    assert_eq!(v["passwordenabled"], true, "{j}");
    assert_eq!(c.run_async("startVirtualMachine", &[("id", &id)]).await["jobstatus"], 1);
    t.stop().await;
}

#[tokio::test]
async fn migration_moves_a_running_vm_and_its_capacity() {
    let t = TestServer::start().await;
    let c = &t.admin;
    let (edge, guest) = edge_with_templates(c, "mg", 2).await;
    let (h0, h1) = (edge.zone.hosts[0].clone(), edge.zone.hosts[1].clone());
    let net = l2_network(c, &edge, "mg-net").await;
    let id = running_vm(c, &edge, &guest, &net, "mg1", &[("hostid", &h0)]).await;
    let sim = t.server.as_ref().unwrap().sim.clone();
    let instance = vm(c, &id).await["instancename"].as_str().unwrap().to_string();

    // Root admins only; not to where it is; not a stopped VM's storage.
    let domain = c.get("listDomains", &[]).await.items("domain")[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, user) = t.account_client("other", "0", &domain).await;
    for command in ["migrateVirtualMachine", "findHostsForMigration"] {
        let r = user.get(command, &[("virtualmachineid", &id), ("hostid", &h1)]).await;
        assert_eq!(r.status, 401, "{command}: {}", r.text);
    }
    let e = c
        .get("migrateVirtualMachine", &[("virtualmachineid", &id), ("hostid", &h0)])
        .await
        .err(431);
    assert!(e.contains("already runs"), "{e}");
    let e = c
        .get(
            "migrateVirtualMachine",
            &[("virtualmachineid", &id), ("storageid", &h1)],
        )
        .await
        .err(431);
    assert!(e.contains("storageid"), "{e}");
    let e = c
        .get(
            "migrateVirtualMachine",
            &[("virtualmachineid", &id), ("autoselect", "false")],
        )
        .await
        .err(431);
    assert!(e.contains("autoselect"), "{e}");

    // The other host is a suitable destination; a disabled one is listed as unsuitable.
    let found = c.get("findHostsForMigration", &[("virtualmachineid", &id)]).await;
    assert_eq!(found.ok()["count"], 1, "{}", found.text);
    let h = &found.items("host")[0];
    assert_eq!(
        (h["id"].as_str(), h["suitableformigration"].as_bool()),
        (Some(h1.as_str()), Some(true)),
        "{h}"
    );
    c.get("updateHost", &[("id", &h1), ("allocationstate", "Disable")])
        .await
        .ok();
    let h = &c
        .get("findHostsForMigration", &[("virtualmachineid", &id)])
        .await
        .items("host")[0];
    assert_eq!(h["suitableformigration"], false, "{h}");
    let e = c
        .get("migrateVirtualMachine", &[("virtualmachineid", &id), ("hostid", &h1)])
        .await
        .err(431);
    assert!(e.contains("Enabled"), "{e}");
    c.get("updateHost", &[("id", &h1), ("allocationstate", "Enable")])
        .await
        .ok();

    // A start failure on the destination: back on the source, nothing held there.
    c.get(
        "configureSimulator",
        &[
            ("name", "StartCommand"),
            ("value", "result=fail"),
            ("hostid", &h1),
            ("count", "1"),
        ],
    )
    .await
    .ok();
    failed(
        c,
        "migrateVirtualMachine",
        &[("virtualmachineid", &id), ("hostid", &h1)],
    )
    .await;
    let v = vm(c, &id).await;
    assert_eq!(
        (v["state"].as_str(), v["hostid"].as_str()),
        (Some("Running"), Some(h0.as_str())),
        "{v}"
    );
    assert_eq!(memory_allocated(c, &h1).await, 0);
    assert_eq!(memory_allocated(c, &h0).await, 512 * MIB);

    // To the named host, then back by choice of the server.
    let j = c
        .run_async("migrateVirtualMachine", &[("virtualmachineid", &id), ("hostid", &h1)])
        .await;
    assert_eq!(j["jobstatus"], 1, "{j}");
    assert_eq!(j["jobresult"]["virtualmachine"]["hostid"], h1.as_str(), "{j}");
    assert_eq!(j["jobresult"]["virtualmachine"]["state"], "Running");
    assert_eq!(
        (memory_allocated(c, &h0).await, memory_allocated(c, &h1).await),
        (0, 512 * MIB)
    );
    assert!(
        sim.vm_host(&instance).is_some_and(|h| h.ends_with("/h1")),
        "{:?}",
        sim.vm_host(&instance)
    );
    let j = c.run_async("migrateVirtualMachine", &[("virtualmachineid", &id)]).await;
    assert_eq!(j["jobresult"]["virtualmachine"]["hostid"], h0.as_str(), "{j}");
    assert_eq!(
        (memory_allocated(c, &h0).await, memory_allocated(c, &h1).await),
        (512 * MIB, 0)
    );
    // Follow-ups finish and power sync keeps it running where it is.
    t.quiesce().await;
    let v = vm(c, &id).await;
    assert_eq!(
        (v["state"].as_str(), v["hostid"].as_str()),
        (Some("Running"), Some(h0.as_str())),
        "{v}"
    );
    assert!(events(c, "VM.MIGRATE").await.len() >= 2);

    assert_eq!(c.run_async("stopVirtualMachine", &[("id", &id)]).await["jobstatus"], 1);
    let e = c
        .get("migrateVirtualMachine", &[("virtualmachineid", &id), ("hostid", &h1)])
        .await
        .err(431);
    assert!(e.contains("not Running"), "{e}");
    c.get("findHostsForMigration", &[("virtualmachineid", &id)])
        .await
        .err(431);
    t.stop().await;
}

#[tokio::test]
async fn nics_are_added_removed_and_made_default_with_the_routers_following() {
    let t = TestServer::start().await;
    let c = &t.admin;
    let (edge, guest) = edge_with_templates(c, "nic", 1).await;
    let cd = configdrive_offering(c, "cd").await;
    let net_a = shared_network(c, &edge, "nic-a", &cd, "130", 30).await;
    let net_b = shared_network(c, &edge, "nic-b", &cd, "131", 31).await;
    let id = running_vm(c, &edge, &guest, &net_a, "nic1", &[]).await;
    let sim = t.server.as_ref().unwrap().sim.clone();
    let instance = vm(c, &id).await["instancename"].as_str().unwrap().to_string();
    let nics = |v: &Value| v["nic"].as_array().cloned().unwrap_or_default();

    // Refusals: bad ids, the network it has, an address out of range, another account's VM.
    let bogus = "5f1d1c59-0000-4000-8000-000000000000";
    c.get(
        "addNicToVirtualMachine",
        &[("virtualmachineid", &id), ("networkid", bogus)],
    )
    .await
    .err(431);
    let e = c
        .get(
            "addNicToVirtualMachine",
            &[("virtualmachineid", &id), ("networkid", &net_a)],
        )
        .await
        .err(431);
    assert!(e.contains("already exists"), "{e}");
    c.get(
        "addNicToVirtualMachine",
        &[
            ("virtualmachineid", &id),
            ("networkid", &net_b),
            ("ipaddress", "10.99.0.5"),
        ],
    )
    .await
    .err(431);
    let domain = c.get("listDomains", &[]).await.items("domain")[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, user) = t.account_client("other", "0", &domain).await;
    user.get(
        "addNicToVirtualMachine",
        &[("virtualmachineid", &id), ("networkid", &net_b)],
    )
    .await
    .err(431);

    // Added to the running VM with the address asked for; network B's router serves it.
    let j = c
        .run_async(
            "addNicToVirtualMachine",
            &[
                ("virtualmachineid", &id),
                ("networkid", &net_b),
                ("ipaddress", "10.31.0.77"),
            ],
        )
        .await;
    assert_eq!(j["jobstatus"], 1, "{j}");
    let v = &j["jobresult"]["virtualmachine"];
    assert_eq!(nics(v).len(), 2, "{v}");
    let added = nics(v)
        .into_iter()
        .find(|n| n["networkid"] == net_b.as_str())
        .expect("the new NIC");
    assert_eq!(
        (added["ipaddress"].as_str(), added["isdefault"].as_bool()),
        (Some("10.31.0.77"), Some(false))
    );
    let listed = c.get("listNics", &[("virtualmachineid", &id)]).await.items("nic");
    assert_eq!(listed.len(), 2, "{listed:?}");
    t.quiesce().await;
    let router_b = routers_of(c, &net_b).await[0].clone();
    let served = |router: &Value, net: &str| {
        sim.router_config(router["name"].as_str().unwrap(), net)
            .map(|cfg| {
                cfg.entries
                    .into_iter()
                    .filter(|e| e.vm_name == instance)
                    .map(|e| (e.ip, e.default_nic))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    assert_eq!(served(&router_b, &net_b), vec![("10.31.0.77".to_string(), false)]);
    // The running VM's config drive gives its default NIC's address (local-ipv4).
    let in_drive = |text: &str| {
        let iso = sim.config_drive_path(&instance).expect("config drive");
        std::fs::read(iso)
            .unwrap()
            .windows(text.len())
            .any(|w| w == text.as_bytes())
    };
    assert!(!in_drive("10.31.0.77"));
    let e = c
        .get(
            "addNicToVirtualMachine",
            &[("virtualmachineid", &id), ("networkid", &net_b)],
        )
        .await
        .err(431);
    assert!(e.contains("already exists"), "{e}");

    // The default NIC can't go; the other becomes the default, and the routers follow.
    let default = nics(&vm(c, &id).await)
        .into_iter()
        .find(|n| n["isdefault"] == true)
        .unwrap();
    let default_id = default["id"].as_str().unwrap().to_string();
    let added_id = added["id"].as_str().unwrap().to_string();
    let e = c
        .get(
            "removeNicFromVirtualMachine",
            &[("virtualmachineid", &id), ("nicid", &default_id)],
        )
        .await
        .err(431);
    assert!(e.contains("default NIC"), "{e}");
    c.get(
        "removeNicFromVirtualMachine",
        &[("virtualmachineid", &id), ("nicid", bogus)],
    )
    .await
    .err(431);
    let e = c
        .get(
            "updateDefaultNicForVirtualMachine",
            &[("virtualmachineid", &id), ("nicid", &default_id)],
        )
        .await
        .err(431);
    assert!(e.contains("already the default"), "{e}");
    let j = c
        .run_async(
            "updateDefaultNicForVirtualMachine",
            &[("virtualmachineid", &id), ("nicid", &added_id)],
        )
        .await;
    assert_eq!(j["jobstatus"], 1, "{j}");
    let now: Vec<(String, bool)> = nics(&j["jobresult"]["virtualmachine"])
        .iter()
        .map(|n| (n["id"].as_str().unwrap().to_string(), n["isdefault"].as_bool().unwrap()))
        .collect();
    assert!(
        now.contains(&(added_id.clone(), true)) && now.contains(&(default_id.clone(), false)),
        "{now:?}"
    );
    t.quiesce().await;
    let router_a = routers_of(c, &net_a).await[0].clone();
    assert_eq!(served(&router_b, &net_b), vec![("10.31.0.77".to_string(), true)]);
    assert!(in_drive("10.31.0.77"), "the config drive follows the default NIC");
    assert!(
        served(&router_a, &net_a).iter().all(|(_, d)| !d),
        "{:?}",
        served(&router_a, &net_a)
    );

    // The former default is removed; its address is free again and its router drops it.
    let j = c
        .run_async(
            "removeNicFromVirtualMachine",
            &[("virtualmachineid", &id), ("nicid", &default_id)],
        )
        .await;
    assert_eq!(j["jobstatus"], 1, "{j}");
    assert_eq!(nics(&j["jobresult"]["virtualmachine"]).len(), 1);
    t.quiesce().await;
    assert!(served(&router_a, &net_a).is_empty(), "{:?}", served(&router_a, &net_a));
    let listed = c.get("listNics", &[("virtualmachineid", &id)]).await.items("nic");
    assert_eq!(listed.len(), 1, "{listed:?}");
    let old_ip = default["ipaddress"].as_str().unwrap();
    let j = c
        .run_async(
            "addNicToVirtualMachine",
            &[("virtualmachineid", &id), ("networkid", &net_a), ("ipaddress", old_ip)],
        )
        .await;
    assert_eq!(j["jobstatus"], 1, "the released address is free again: {j}");
    for (event, n) in [("NIC.CREATE", 2), ("NIC.DELETE", 1), ("NIC.UPDATE", 1)] {
        let got = events(c, event).await;
        // Scheduled, started and completed events for each job.
        assert_eq!(got.len(), 3 * n, "{event}: {got:?}");
    }
    t.stop().await;
}

/// On hosts that build their VMs' disks and devices (KVM, here `ferrostack agent` with its
/// simulated backend), what the hypervisor contract can't do live is refused with what to do;
/// a restore makes the new root volume Ready with the restart on the host.
#[tokio::test]
async fn kvm_hosts_refuse_live_changes_and_restore_through_a_restart() {
    use crate::kvmhost::{configdrive_only_offering, kvm_edge, kvm_template, AgentProcess};
    let t = TestServer::start().await;
    let c = &t.admin;
    let dir = tempfile::tempdir().unwrap();
    let agent = AgentProcess::start(dir.path(), "pw", &["--backend", "simulator"]);
    let edge = kvm_edge(c, "kx", &agent.url, "pw", &dir.path().join("pool")).await;
    let guest = kvm_template(c, &edge, "guest", "http://images.example.org/g.qcow2", None, false).await;
    let cd = configdrive_only_offering(c, "cd").await;
    let net_a = shared_network(c, &edge, "kx-a", &cd, "140", 40).await;
    let net_b = shared_network(c, &edge, "kx-b", &cd, "141", 41).await;
    let id = running_vm(c, &edge, &guest, &net_a, "kx1", &[]).await;
    c.get(
        "updateConfiguration",
        &[
            ("name", "enable.dynamic.scale.vm"),
            ("value", "true"),
            ("zoneid", &edge.zone.zone),
        ],
    )
    .await
    .ok();
    let medium = offering_named(c, "Medium Instance").await;
    let e = c
        .get("scaleVirtualMachine", &[("id", &id), ("serviceofferingid", &medium)])
        .await
        .err(431);
    assert!(e.contains("live scale"), "{e}");
    let e = c
        .get(
            "addNicToVirtualMachine",
            &[("virtualmachineid", &id), ("networkid", &net_b)],
        )
        .await
        .err(431);
    assert!(e.contains("stop the VM first"), "{e}");
    let e = c
        .get("migrateVirtualMachine", &[("virtualmachineid", &id)])
        .await
        .err(431);
    assert!(e.contains("live migration"), "{e}");

    // Restore: stopped, a new root volume made at the start, running again.
    let before = c.get("listVolumes", &[("virtualmachineid", &id)]).await.items("volume");
    let j = c.run_async("restoreVirtualMachine", &[("virtualmachineid", &id)]).await;
    assert_eq!(j["jobresult"]["virtualmachine"]["state"], "Running", "{j}");
    let after = c.get("listVolumes", &[("virtualmachineid", &id)]).await.items("volume");
    assert_eq!(after.len(), 1, "{after:?}");
    assert_ne!(after[0]["id"], before[0]["id"]);
    assert_eq!(after[0]["state"], "Ready", "{after:?}");

    // Stopped, the same changes are fine.
    assert_eq!(c.run_async("stopVirtualMachine", &[("id", &id)]).await["jobstatus"], 1);
    let j = c
        .run_async(
            "addNicToVirtualMachine",
            &[("virtualmachineid", &id), ("networkid", &net_b)],
        )
        .await;
    assert_eq!(j["jobstatus"], 1, "{j}");
    let j = c
        .run_async("scaleVirtualMachine", &[("id", &id), ("serviceofferingid", &medium)])
        .await;
    assert_eq!(j["jobresult"]["virtualmachine"]["memory"], 1024, "{j}");
    assert_eq!(c.run_async("startVirtualMachine", &[("id", &id)]).await["jobstatus"], 1);
    drop(agent);
    t.stop().await;
}
