//! VM lifecycle through the API: placement and capacity, retries on another host, NICs and
//! addresses, config drives built at start and removed at stop/expunge, user data rebuilds,
//! account deletion taking the account's VMs and networks with it.

use serde_json::Value;

use crate::common::TestServer;
use crate::setup::{cloud, configdrive_offering, deploy, edge_with_templates, shared_network};

async fn vm(t: &TestServer, id: &str) -> Value {
    t.admin
        .get("listVirtualMachines", &[("id", id)])
        .await
        .items("virtualmachine")[0]
        .clone()
}

/// Run jobs and follow-ups to quiescence; every follow-up has then finished.
async fn settle(t: &TestServer) {
    t.quiesce().await;
    let pending = ferrostack_db::followup::pending_count(t.app().db.read()).await.unwrap();
    assert_eq!(pending, 0, "follow-ups did not finish");
}

async fn host_alloc(t: &TestServer, host: &str) -> (i64, i64) {
    let h = t.admin.get("listHosts", &[("id", host)]).await.items("host")[0].clone();
    let cpu = h["cpuallocated"]
        .as_str()
        .unwrap()
        .trim_end_matches('%')
        .parse::<f64>()
        .unwrap();
    (cpu as i64, h["memoryallocated"].as_i64().unwrap())
}

#[tokio::test]
async fn vm_lifecycle_capacity_addresses_and_config_drive() {
    let t = TestServer::start().await;
    let c = &t.admin;
    let (edge, guest) = edge_with_templates(c, "edge", 2).await;
    let cd = configdrive_offering(c, "cd").await;
    let net = shared_network(c, &edge, "cd-net", &cd, "110", 10).await;
    let sim = t.server.as_ref().unwrap().sim.clone();

    // The network's router first, so the failure injected below hits the VM.
    assert_eq!(c.run_async("restartNetwork", &[("id", &net)]).await["jobstatus"], 1);
    // A start failure on one host is retried on the other.
    let first = &edge.zone.hosts[0];
    c.get(
        "configureSimulator",
        &[
            ("name", "StartCommand"),
            ("value", "result=fail"),
            ("hostid", first),
            ("count", "1"),
        ],
    )
    .await
    .ok();
    let (id, job) = deploy(
        c,
        &edge,
        &guest,
        &net,
        "app1",
        &[("userdata", "aGVsbG8K"), ("hostid", first)],
    )
    .await;
    let j = c.wait_job(&job).await;
    assert_eq!(j["jobstatus"], 2, "hostid pins the VM to the failing host: {j}");
    let gone = c.get("listVirtualMachines", &[("id", &id)]).await;
    assert!(
        gone.status == 200 && gone.items("virtualmachine").is_empty(),
        "a failed deploy leaves no VM: {}",
        gone.text
    );
    c.get(
        "configureSimulator",
        &[
            ("name", "StartCommand"),
            ("value", "result=fail"),
            ("hostid", first),
            ("count", "1"),
        ],
    )
    .await
    .ok();
    let (id, job) = deploy(c, &edge, &guest, &net, "app1", &[("userdata", "aGVsbG8K")]).await;
    let j = c.wait_job(&job).await;
    assert_eq!(j["jobstatus"], 1, "{j}");
    let v = vm(&t, &id).await;
    assert_eq!(v["state"], "Running");
    let nic = &v["nic"][0];
    assert!(nic["ipaddress"].as_str().unwrap().starts_with("10.10.0."), "{nic}");
    assert_eq!(nic["isdefault"], true);
    let host = v["hostid"].as_str().unwrap().to_string();
    let (cpu, mem) = host_alloc(&t, &host).await;
    assert!(cpu > 0 && mem == 512 * 1024 * 1024, "capacity accounted: {cpu} {mem}");

    // The config drive is on the host with the user data.
    let name = v["instancename"].as_str().unwrap().to_string();
    let iso = sim.config_drive_path(&name).expect("config drive written");
    let bytes = std::fs::read(&iso).unwrap();
    assert_eq!(&bytes[0x8001..0x8006], b"CD001", "an ISO 9660 image");
    assert!(
        bytes.windows(6).any(|w| w == b"hello\n"),
        "the user data is in the image"
    );

    // Stop: capacity released, config drive removed (a follow-up).
    let j = c.run_async("stopVirtualMachine", &[("id", &id)]).await;
    assert_eq!(j["jobresult"]["virtualmachine"]["state"], "Stopped");
    assert_eq!(host_alloc(&t, &host).await, (0, 0));
    settle(&t).await;
    assert!(sim.config_drive_path(&name).is_none(), "config drive removed at stop");
    // New user data, start again: the rebuilt drive carries it.
    let r = c
        .post(
            "resetUserDataForVirtualMachine",
            &[("id", &id), ("userdata", "d29ybGQK")],
        )
        .await;
    r.ok();
    let j = c.run_async("startVirtualMachine", &[("id", &id)]).await;
    assert_eq!(j["jobstatus"], 1, "{j}");
    let iso = sim.config_drive_path(&name).expect("config drive rebuilt");
    assert!(std::fs::read(&iso).unwrap().windows(6).any(|w| w == b"world\n"));
    let ud = c.get("getVirtualMachineUserData", &[("virtualmachineid", &id)]).await;
    assert_eq!(ud.ok()["virtualmachineuserdata"]["userdata"], "d29ybGQK");
    // Reboot, NICs, volumes.
    assert_eq!(
        c.run_async("rebootVirtualMachine", &[("id", &id)]).await["jobstatus"],
        1
    );
    assert_eq!(
        c.get("listNics", &[("virtualmachineid", &id)]).await.items("nic").len(),
        1
    );
    let vols = c.get("listVolumes", &[("virtualmachineid", &id)]).await.items("volume");
    assert_eq!(vols[0]["type"], "ROOT");
    // Destroy, recover, destroy with expunge: addresses and capacity return.
    assert_eq!(
        c.run_async("destroyVirtualMachine", &[("id", &id)]).await["jobresult"]["virtualmachine"]["state"],
        "Destroyed"
    );
    let r = c.get("recoverVirtualMachine", &[("id", &id)]).await;
    assert_eq!(r.ok()["virtualmachine"]["state"], "Stopped");
    let j = c
        .run_async("destroyVirtualMachine", &[("id", &id), ("expunge", "true")])
        .await;
    assert_eq!(j["jobstatus"], 1, "{j}");
    settle(&t).await;
    assert!(sim.config_drive_path(&name).is_none());
    let app = &t.server.as_ref().unwrap().app;
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM guest_ip WHERE owner_kind = 'UserVm'")
        .fetch_one(app.db.read())
        .await
        .unwrap();
    assert_eq!(n, 0, "addresses released at expunge");
    for h in &edge.zone.hosts {
        let (cpu, mem) = host_alloc(&t, h).await;
        let r = c.get("listRouters", &[("hostid", h)]).await.items("router");
        if r.is_empty() {
            assert_eq!((cpu, mem), (0, 0));
        }
    }
    // Bad user data.
    let e = c
        .post(
            "deployVirtualMachine",
            &[
                ("zoneid", &edge.zone.zone),
                ("serviceofferingid", &edge.offering),
                ("templateid", &guest),
                ("networkids", &net),
                ("userdata", "!!not base64!!"),
            ],
        )
        .await;
    assert_eq!(e.status, 431, "{}", e.text);
    c.get(
        "updateConfiguration",
        &[("name", "vm.userdata.max.length"), ("value", "8")],
    )
    .await
    .ok();
    let e = c
        .post(
            "deployVirtualMachine",
            &[
                ("zoneid", &edge.zone.zone),
                ("serviceofferingid", &edge.offering),
                ("templateid", &guest),
                ("networkids", &net),
                ("userdata", "aGVsbG8gd29ybGQK"),
            ],
        )
        .await;
    assert!(e.err(431).contains("max length"), "{}", e.text);
    t.stop().await;
}

#[tokio::test]
async fn deleting_an_account_takes_its_vms_and_networks() {
    let t = TestServer::start().await;
    let c = &t.admin;
    let (edge, guest) = edge_with_templates(c, "edge", 1).await;
    let l2 = crate::setup::offering_id(c, "DefaultL2NetworkOfferingConfigDrive").await;
    let root = c.get("listDomains", &[]).await.items("domain")[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (acc, user) = t.account_client("tenant", "0", &root).await;
    let n = user
        .get(
            "createNetwork",
            &[
                ("name", "mine"),
                ("displaytext", "mine"),
                ("zoneid", &edge.zone.zone),
                ("networkofferingid", &l2),
            ],
        )
        .await;
    let net = n.ok()["network"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{}", n.text))
        .to_string();
    let (vm_id, job) = deploy(&user, &edge, &guest, &net, "t1", &[]).await;
    assert_eq!(user.wait_job(&job).await["jobstatus"], 1);
    let j = c
        .run_async("deleteAccount", &[("id", acc["id"].as_str().unwrap())])
        .await;
    assert_eq!(j["jobstatus"], 1, "{j}");
    // Removed with the account: their ids list as empty answers, as CloudStack's do.
    for (cmd, key, id) in [
        ("listVirtualMachines", "virtualmachine", &vm_id),
        ("listNetworks", "network", &net),
    ] {
        let gone = c.get(cmd, &[("listall", "true"), ("id", id)]).await;
        assert_eq!(gone.status, 200, "{cmd}: {}", gone.text);
        assert!(gone.items(key).is_empty(), "{cmd}: {}", gone.text);
    }
    // An id that never existed is still refused.
    let unknown = c
        .get("listVirtualMachines", &[("id", "5f1d1c59-0000-4000-8000-000000000000")])
        .await;
    assert_eq!(unknown.status, 431, "{}", unknown.text);
    let h = c.get("listHosts", &[("id", &edge.zone.hosts[0])]).await.items("host")[0].clone();
    assert_eq!(h["memoryallocated"], 0, "{h}");
    t.stop().await;
}

#[tokio::test]
async fn password_enabled_templates_give_a_password_that_never_lands_in_job_rows() {
    let t = TestServer::start().await;
    let c = &t.admin;
    let edge = cloud(c, "edge", true, 1).await;
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
    let tpl = r.ok()["template"][0]["id"].as_str().unwrap().to_string();
    let l2 = crate::setup::offering_id(c, "DefaultL2NetworkOffering").await;
    let n = c
        .get(
            "createNetwork",
            &[
                ("name", "l2"),
                ("displaytext", "l2"),
                ("zoneid", &edge.zone.zone),
                ("networkofferingid", &l2),
            ],
        )
        .await;
    let net = n.ok()["network"]["id"].as_str().unwrap().to_string();
    let (id, job) = deploy(c, &edge, &tpl, &net, "pw1", &[]).await;
    let j = c.wait_job(&job).await;
    assert_eq!(j["jobstatus"], 1, "{j}");
    let pw = j["jobresult"]["virtualmachine"]["password"]
        .as_str()
        .expect("password in the deploy result")
        .to_string();
    assert!(pw.len() >= 8);
    assert_eq!(j["jobresult"]["virtualmachine"]["passwordenabled"], true);
    let app = &t.server.as_ref().unwrap().app;
    let rows: Vec<(Option<String>, String)> = sqlx::query_as("SELECT result, params FROM async_job")
        .fetch_all(app.db.read())
        .await
        .unwrap();
    assert!(
        rows.iter()
            .all(|(r, p)| !r.clone().unwrap_or_default().contains(&pw) && !p.contains(&pw)),
        "no job row holds the password"
    );
    let listed = c.get("listVirtualMachines", &[("id", &id)]).await;
    assert!(!listed.text.contains(&pw), "lists never show it");
    // Reset (the VM must be stopped first in CloudStack; ferrostack accepts Running too).
    c.run_async("stopVirtualMachine", &[("id", &id)]).await;
    let j = c.run_async("resetPasswordForVirtualMachine", &[("id", &id)]).await;
    let pw2 = j["jobresult"]["virtualmachine"]["password"]
        .as_str()
        .expect("new password")
        .to_string();
    assert_ne!(pw, pw2);
    t.stop().await;
}

/// A host that lost its VMs (crashed and came back) reports them off: each (the network's
/// router too) is Stopped through the power sync, its capacity leaves the host exactly once,
/// and a user VM's config drive is removed there. Started again, they are counted again.
#[tokio::test]
async fn vms_their_host_reports_off_are_stopped_with_capacity_and_drive_released() {
    let t = TestServer::start().await;
    let c = &t.admin;
    let (edge, guest) = edge_with_templates(c, "edge", 1).await;
    let cd = configdrive_offering(c, "cd").await;
    let net = shared_network(c, &edge, "cd-net", &cd, "120", 12).await;
    let sim = t.server.as_ref().unwrap().sim.clone();
    let host = edge.zone.hosts[0].clone();
    assert_eq!(c.run_async("restartNetwork", &[("id", &net)]).await["jobstatus"], 1);
    let router_mem = host_alloc(&t, &host).await.1;
    let mut names = Vec::new();
    let mut ids = Vec::new();
    for i in 0..3 {
        let (id, job) = deploy(c, &edge, &guest, &net, &format!("lost{i}"), &[("userdata", "aGVsbG8K")]).await;
        assert_eq!(c.wait_job(&job).await["jobstatus"], 1);
        let v = vm(&t, &id).await;
        let name = v["instancename"].as_str().unwrap().to_string();
        assert!(sim.config_drive_path(&name).is_some(), "{name} has a drive");
        names.push(name);
        ids.push(id);
    }
    assert!(host_alloc(&t, &host).await.1 > router_mem);
    // The host crashes with its VMs and comes back; pings every second.
    for (name, value) in [("ping.interval", "1"), ("ping.timeout", "100")] {
        c.get("updateConfiguration", &[("name", name), ("value", value)])
            .await
            .ok();
    }
    c.get(
        "updateSimulatorHost",
        &[("id", &host), ("state", "Down"), ("poweroffvms", "true")],
    )
    .await
    .ok();
    c.get("updateSimulatorHost", &[("id", &host), ("state", "Up")])
        .await
        .ok();
    let end = std::time::Instant::now() + std::time::Duration::from_secs(30);
    for id in &ids {
        while vm(&t, id).await["state"] != "Stopped" {
            assert!(
                std::time::Instant::now() < end,
                "{id} not Stopped: {}",
                vm(&t, id).await
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
    settle(&t).await;
    for name in &names {
        assert!(
            sim.config_drive_path(name).is_none(),
            "{name}'s drive is left on the host"
        );
    }
    let router = &crate::setup::routers_of(c, &net).await[0];
    assert_eq!(router["state"], "Stopped", "{router}");
    let (cpu, mem) = host_alloc(&t, &host).await;
    assert_eq!((cpu, mem), (0, 0), "capacity left allocated on the host");
    // Started again, each runs and is counted again.
    for id in &ids {
        assert_eq!(c.run_async("startVirtualMachine", &[("id", id)]).await["jobstatus"], 1);
    }
    assert!(host_alloc(&t, &host).await.1 > mem);
    t.stop().await;
}

/// A router answers as its network owner's (account, domain), as in CloudStack; the system
/// account owns the row.
#[tokio::test]
async fn routers_are_listed_under_their_network_owner() {
    let t = TestServer::start().await;
    let c = &t.admin;
    let (edge, guest) = edge_with_templates(c, "edge", 1).await;
    let d = t.create_domain("d1", None).await;
    let d = d["id"].as_str().unwrap().to_string();
    let (_, tenant) = t.account_client("tenant", "0", &d).await;
    let shared = crate::setup::offering_id(c, "DefaultSharedNetworkOffering").await;
    let r = c
        .get(
            "createNetwork",
            &[
                ("name", "tenant-net"),
                ("displaytext", "tenant-net"),
                ("zoneid", &edge.zone.zone),
                ("networkofferingid", &shared),
                ("vlan", "130"),
                ("gateway", "10.13.0.1"),
                ("netmask", "255.255.255.0"),
                ("startip", "10.13.0.10"),
                ("endip", "10.13.0.200"),
                ("account", "tenant"),
                ("domainid", &d),
            ],
        )
        .await;
    let net = r.ok()["network"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{}", r.text))
        .to_string();
    let (_, job) = deploy(&tenant, &edge, &guest, &net, "t1", &[]).await;
    assert_eq!(tenant.wait_job(&job).await["jobstatus"], 1);
    let router = &crate::setup::routers_of(c, &net).await[0];
    assert_eq!(
        (
            router["account"].as_str(),
            router["domainid"].as_str(),
            router["domain"].as_str()
        ),
        (Some("tenant"), Some(d.as_str()), Some("d1")),
        "{router}"
    );
    t.stop().await;
}
