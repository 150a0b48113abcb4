//! Management-server restarts: simulated hosts keep their VMs, routers and router
//! configuration across a restart (graceful or killed), and start-up reconciles with them
//! before the API answers, so right after a restart VM and router states are what the hosts
//! run and deploys into router-backed networks work.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{Client, TestServer};
use crate::setup::{configdrive_offering, deploy, edge_with_templates, routers_of, shared_network, Cloud};

struct World {
    cloud: Cloud,
    guest: String,
    net: String,
}

/// An edge zone with one host and a shared network whose DHCP/DNS come from its router and
/// user data from config drives.
async fn world(c: &Client) -> World {
    let (cloud, guest) = edge_with_templates(c, "rs", 1).await;
    let cd = configdrive_offering(c, "cd").await;
    let net = shared_network(c, &cloud, "rs-net", &cd, "130", 30).await;
    World { cloud, guest, net }
}

async fn vm(c: &Client, id: &str) -> Value {
    c.get("listVirtualMachines", &[("id", id)])
        .await
        .items("virtualmachine")[0]
        .clone()
}

/// Deploy and wait; (id, instance name) of the Running VM.
async fn running(c: &Client, w: &World, name: &str) -> (String, String) {
    let (id, job) = deploy(c, &w.cloud, &w.guest, &w.net, name, &[("userdata", "aGVsbG8K")]).await;
    let j = c.wait_job(&job).await;
    assert_eq!(j["jobstatus"], 1, "deploy {name}: {j}");
    let v = vm(c, &id).await;
    assert_eq!(v["state"], "Running", "{v}");
    (id, v["instancename"].as_str().unwrap().to_string())
}

fn sim(t: &TestServer) -> &ferrostack_sim::Simulator {
    &t.server.as_ref().unwrap().sim
}

/// The VM names the router serves DHCP for on the network.
fn served(t: &TestServer, router: &str, net_uuid: &str) -> Vec<String> {
    let cfg = sim(t)
        .router_config(router, net_uuid)
        .unwrap_or_else(|| panic!("router {router} has no configuration for {net_uuid}"));
    cfg.entries.into_iter().map(|e| e.vm_name).collect()
}

/// The network's only router: (state, instance name).
async fn router(c: &Client, net: &str) -> (String, String) {
    let r = routers_of(c, net).await;
    assert_eq!(r.len(), 1, "{r:?}");
    (
        r[0]["state"].as_str().unwrap().to_string(),
        r[0]["name"].as_str().unwrap().to_string(),
    )
}

#[tokio::test]
async fn vms_and_routers_stay_running_across_restarts_and_deploys_keep_working() {
    let mut t = TestServer::start().await;
    let w = world(&t.admin).await;
    let (id1, name1) = running(&t.admin, &w, "before").await;
    let (state, r_name) = router(&t.admin, &w.net).await;
    assert_eq!(state, "Running");
    let net_uuid = w.net.clone();
    assert!(served(&t, &r_name, &net_uuid).contains(&name1));

    // Killed: nothing finishes, the next start reconciles with the hosts before answering.
    t.restart(true, 0).await;
    let c = t.admin.clone();
    assert_eq!(vm(&c, &id1).await["state"], "Running", "the host still runs it");
    assert_eq!(router(&c, &w.net).await.0, "Running", "the host still runs the router");
    assert!(sim(&t).vm_host(&name1).is_some());
    assert!(
        served(&t, &r_name, &net_uuid).contains(&name1),
        "the router keeps its configuration"
    );
    // Right away, not after a power-sync round: the router is programmable (no 534).
    let (id2, name2) = running(&c, &w, "after-kill").await;
    let entries = served(&t, &r_name, &net_uuid);
    assert!(entries.contains(&name1) && entries.contains(&name2), "{entries:?}");

    // Graceful: the same.
    t.restart(false, 0).await;
    let c = t.admin.clone();
    for id in [&id1, &id2] {
        assert_eq!(vm(&c, id).await["state"], "Running");
    }
    assert_eq!(router(&c, &w.net).await.0, "Running");
    let (_, name3) = running(&c, &w, "after-stop").await;
    assert!(served(&t, &r_name, &net_uuid).contains(&name3));

    // The host still knows the config drive it stored before the restarts: stopping the VM
    // deletes it from the host.
    let iso = sim(&t)
        .config_drive_path(&name1)
        .expect("config drive known after restarts");
    assert!(iso.exists());
    let j = c.run_async("stopVirtualMachine", &[("id", &id1)]).await;
    assert_eq!(j["jobresult"]["virtualmachine"]["state"], "Stopped", "{j}");
    c.quiesce().await;
    assert_eq!(sim(&t).config_drive_path(&name1), None);
    assert!(!iso.exists(), "the config drive file is deleted");
    t.stop().await;
}

#[tokio::test]
async fn a_vm_the_host_lost_while_the_server_was_down_is_not_reported_running() {
    let mut t = TestServer::start().await;
    let w = world(&t.admin).await;
    let (lost, lost_name) = running(&t.admin, &w, "lost").await;
    let (kept, _) = running(&t.admin, &w, "kept").await;

    t.shut_down(true).await;
    {
        // The host reboots while the management server is down and does not bring `lost` back.
        let host = ferrostack_sim::Simulator::new(t.dir.path().join("simulator"));
        assert!(host.forget_vm(&lost_name), "the simulator saved {lost_name}");
    }
    t.start_again(0).await;
    let c = t.admin.clone();
    // Right after start-up, before any monitor round.
    let v = vm(&c, &lost).await;
    assert_eq!(v["state"], "Stopped", "{v}");
    assert!(v.get("hostid").is_none(), "a stopped VM has no host: {v}");
    assert_eq!(vm(&c, &kept).await["state"], "Running");
    assert_eq!(router(&c, &w.net).await.0, "Running");
    // And it can be started again.
    let j = c.run_async("startVirtualMachine", &[("id", &lost)]).await;
    assert_eq!(j["jobstatus"], 1, "{j}");
    assert_eq!(vm(&c, &lost).await["state"], "Running");
    assert!(sim(&t).vm_host(&lost_name).is_some());
    t.stop().await;
}

#[tokio::test]
async fn a_host_that_does_not_answer_does_not_hold_up_the_start_up_reconcile() {
    let t = TestServer::start().await;
    let c = &t.admin;
    crate::setup::fast_host_pings(c).await;
    let w = world(c).await;
    let (id, _) = running(c, &w, "web").await;
    let host = &w.cloud.zone.hosts[0];
    c.get(
        "configureSimulator",
        &[("name", "ReadyCommand"), ("value", "wait=30000"), ("hostid", host)],
    )
    .await
    .ok();
    let started = Instant::now();
    let r = t.app().host_startup_reconcile().await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "bounded by ping.interval × ping.timeout, took {:?}",
        started.elapsed()
    );
    assert_eq!((r.hosts, r.connected, r.synced), (1, 0, 0));
    assert_eq!(vm(c, &id).await["state"], "Running", "its VMs stay as they are");
    t.stop().await;
}
