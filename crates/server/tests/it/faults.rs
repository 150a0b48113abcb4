//! Fault injection after every saga step: deploy, start, stop, destroy, and router start and
//! destroy. The job engine's test hook fails the next job of a kind just before a given step
//! (or after its last one); every completed step is then undone, and the test checks through
//! the API (and the simulator's view of its hosts) that nothing stays allocated: no VM row, no
//! capacity, no address, no volume, no VM on a host.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::common::{Client, TestServer};
use crate::setup::{configdrive_offering, deploy, edge_with_templates, routers_of, shared_network, Cloud};

struct World {
    cloud: Cloud,
    guest: String,
    net: String,
    host: String,
}

/// An edge zone with one host, a config-drive network whose router is running.
async fn world(t: &TestServer) -> World {
    let c = &t.admin;
    let (cloud, guest) = edge_with_templates(c, "faults", 1).await;
    let cd = configdrive_offering(c, "cd").await;
    let net = shared_network(c, &cloud, "faults-net", &cd, "120", 20).await;
    assert_eq!(c.run_async("restartNetwork", &[("id", &net)]).await["jobstatus"], 1);
    let host = cloud.zone.hosts[0].clone();
    World {
        cloud,
        guest,
        net,
        host,
    }
}

fn app(t: &TestServer) -> &ferrostack_app::App {
    &t.server.as_ref().unwrap().app
}

/// Run the follow-ups (host-side removals, element releases) that are due.
async fn settle(t: &TestServer) {
    t.quiesce().await;
    let pending = ferrostack_db::followup::pending_count(app(t).db.read()).await.unwrap();
    assert_eq!(pending, 0, "follow-ups did not finish");
}

/// Everything a failed operation could leak, as the API and the hosts show it.
#[derive(Debug, PartialEq, Eq)]
struct Footprint {
    vms: usize,
    volumes: usize,
    cpu_allocated: String,
    memory_allocated: i64,
    on_hosts: BTreeSet<String>,
}

async fn footprint(t: &TestServer, w: &World) -> Footprint {
    let c = &t.admin;
    settle(t).await;
    let h = c.get("listHosts", &[("id", &w.host)]).await.items("host")[0].clone();
    Footprint {
        vms: c
            .get("listVirtualMachines", &[("listall", "true")])
            .await
            .items("virtualmachine")
            .len(),
        volumes: c.get("listVolumes", &[("listall", "true")]).await.items("volume").len(),
        cpu_allocated: h["cpuallocated"].as_str().unwrap().to_string(),
        memory_allocated: h["memoryallocated"].as_i64().unwrap(),
        on_hosts: sim(t).vm_names().into_iter().collect(),
    }
}

fn sim(t: &TestServer) -> &ferrostack_sim::Simulator {
    &t.server.as_ref().unwrap().sim
}

fn steps(t: &TestServer, kind: &str) -> usize {
    app(t)
        .jobs
        .steps_of(kind)
        .unwrap_or_else(|| panic!("no saga {kind}"))
        .len()
}

async fn failed_with_injection(c: &Client, job: &str) -> Value {
    let j = c.wait_job(job).await;
    assert_eq!(j["jobstatus"], 2, "the injected failure fails the job: {j}");
    assert_eq!(j["jobresult"]["errorcode"], 530, "{j}");
    j
}

async fn vm(c: &Client, id: &str) -> Value {
    c.get("listVirtualMachines", &[("id", id)])
        .await
        .items("virtualmachine")[0]
        .clone()
}

#[tokio::test]
async fn deploy_unwinds_from_every_step() {
    let t = TestServer::start().await;
    let c = &t.admin;
    let w = world(&t).await;
    let before = footprint(&t, &w).await;
    let n = steps(&t, "vm_deploy");
    assert_eq!(n, 5);
    // Step 0 (allocation) is completed by the submission itself, so the first point a job
    // can fail at is before step 1; the allocation is then undone like any other step.
    for before_step in 1..=n {
        app(&t).jobs.inject_failure("vm_deploy", before_step);
        // The same address every time: a leaked address would refuse the next submission.
        let (id, job) = deploy(
            c,
            &w.cloud,
            &w.guest,
            &w.net,
            &format!("f{before_step}"),
            &[("ipaddress", "10.20.0.50"), ("userdata", "aGVsbG8K")],
        )
        .await;
        failed_with_injection(c, &job).await;
        let gone = c.get("listVirtualMachines", &[("id", &id)]).await;
        assert!(
            gone.status == 200 && gone.items("virtualmachine").is_empty(),
            "a failed deploy leaves no VM (failure before step {before_step}): {}",
            gone.text
        );
        assert_eq!(footprint(&t, &w).await, before, "failure before step {before_step}");
    }
    // Nothing leaked: the same deploy now succeeds with the same address.
    let (id, job) = deploy(c, &w.cloud, &w.guest, &w.net, "ok", &[("ipaddress", "10.20.0.50")]).await;
    assert_eq!(c.wait_job(&job).await["jobstatus"], 1);
    let v = vm(c, &id).await;
    assert_eq!(v["state"], "Running");
    assert_eq!(v["nic"][0]["ipaddress"], "10.20.0.50");
    t.stop().await;
}

#[tokio::test]
async fn start_and_stop_unwind_from_every_step() {
    let t = TestServer::start().await;
    let c = &t.admin;
    let w = world(&t).await;
    let (id, job) = deploy(c, &w.cloud, &w.guest, &w.net, "s", &[("startvm", "false")]).await;
    assert_eq!(c.wait_job(&job).await["jobstatus"], 1);
    let name = vm(c, &id).await["instancename"].as_str().unwrap().to_string();
    let stopped = footprint(&t, &w).await;
    let n = steps(&t, "vm_start");
    for before_step in 0..=n {
        app(&t).jobs.inject_failure("vm_start", before_step);
        let r = c.post("startVirtualMachine", &[("id", &id)]).await;
        failed_with_injection(c, r.ok()["jobid"].as_str().unwrap()).await;
        let v = vm(c, &id).await;
        assert_eq!(v["state"], "Stopped", "failure before step {before_step}: {v}");
        assert!(v.get("hostid").is_none(), "no host held: {v}");
        let now = footprint(&t, &w).await;
        assert_eq!(
            (now.vms, now.volumes, &now.cpu_allocated, now.memory_allocated),
            (
                stopped.vms,
                stopped.volumes,
                &stopped.cpu_allocated,
                stopped.memory_allocated
            ),
            "failure before step {before_step}"
        );
        assert_ne!(
            sim(&t).vm_power(&name),
            Some(ferrostack_agent_api::PowerState::PowerOn),
            "nothing runs on the host after a failed start (before step {before_step})"
        );
    }
    assert_eq!(c.run_async("startVirtualMachine", &[("id", &id)]).await["jobstatus"], 1);
    let running = footprint(&t, &w).await;
    assert_ne!(running.memory_allocated, stopped.memory_allocated);

    // Stop: a failure before its only step leaves it running; one after it leaves the stop
    // standing, with the capacity released.
    app(&t).jobs.inject_failure("vm_stop", 0);
    let r = c.post("stopVirtualMachine", &[("id", &id)]).await;
    failed_with_injection(c, r.ok()["jobid"].as_str().unwrap()).await;
    assert_eq!(vm(c, &id).await["state"], "Running");
    assert_eq!(footprint(&t, &w).await, running);
    app(&t).jobs.inject_failure("vm_stop", 1);
    let r = c.post("stopVirtualMachine", &[("id", &id)]).await;
    failed_with_injection(c, r.ok()["jobid"].as_str().unwrap()).await;
    assert_eq!(vm(c, &id).await["state"], "Stopped");
    let now = footprint(&t, &w).await;
    assert_eq!(
        (now.cpu_allocated, now.memory_allocated),
        (stopped.cpu_allocated, stopped.memory_allocated)
    );
    t.stop().await;
}

#[tokio::test]
async fn destroy_unwinds_or_stands() {
    let t = TestServer::start().await;
    let c = &t.admin;
    let w = world(&t).await;
    let before = footprint(&t, &w).await;
    let (id, job) = deploy(c, &w.cloud, &w.guest, &w.net, "d", &[]).await;
    assert_eq!(c.wait_job(&job).await["jobstatus"], 1);
    let running = footprint(&t, &w).await;

    // Before the destroy: nothing happened.
    app(&t).jobs.inject_failure("vm_destroy", 0);
    let r = c
        .post("destroyVirtualMachine", &[("id", &id), ("expunge", "true")])
        .await;
    failed_with_injection(c, r.ok()["jobid"].as_str().unwrap()).await;
    assert_eq!(vm(c, &id).await["state"], "Running");
    assert_eq!(footprint(&t, &w).await, running);
    // Between destroy and expunge: the destroy is undone by recovering the VM (stopped).
    app(&t).jobs.inject_failure("vm_destroy", 1);
    let r = c
        .post("destroyVirtualMachine", &[("id", &id), ("expunge", "true")])
        .await;
    failed_with_injection(c, r.ok()["jobid"].as_str().unwrap()).await;
    let v = vm(c, &id).await;
    assert_eq!(v["state"], "Stopped", "{v}");
    let now = footprint(&t, &w).await;
    assert_eq!((now.vms, now.volumes), (running.vms, running.volumes));
    assert_eq!(
        (now.cpu_allocated, now.memory_allocated),
        (before.cpu_allocated.clone(), before.memory_allocated)
    );
    let vol = c.get("listVolumes", &[("virtualmachineid", &id)]).await.items("volume");
    assert_eq!(vol[0]["state"], "Ready", "recovered with its volume: {vol:?}");
    // After the expunge: it stands; nothing is left anywhere.
    app(&t).jobs.inject_failure("vm_destroy", 2);
    let r = c
        .post("destroyVirtualMachine", &[("id", &id), ("expunge", "true")])
        .await;
    failed_with_injection(c, r.ok()["jobid"].as_str().unwrap()).await;
    // Expunged: its id lists as an empty answer (CloudStack's), not an unknown id.
    let gone = c.get("listVirtualMachines", &[("id", &id)]).await;
    assert_eq!(gone.status, 200, "{}", gone.text);
    assert!(gone.items("virtualmachine").is_empty(), "{}", gone.text);
    assert_eq!(footprint(&t, &w).await, before);
    t.stop().await;
}

#[tokio::test]
async fn router_start_and_destroy_unwind_or_stand() {
    let t = TestServer::start().await;
    let c = &t.admin;
    let w = world(&t).await;
    let r = routers_of(c, &w.net).await[0].clone();
    let rid = r["id"].as_str().unwrap().to_string();
    let name = r["name"].as_str().unwrap().to_string();
    assert_eq!(c.run_async("stopRouter", &[("id", &rid)]).await["jobstatus"], 1);
    let stopped = footprint(&t, &w).await;
    let n = steps(&t, "router_start");
    for before_step in 0..=n {
        app(&t).jobs.inject_failure("router_start", before_step);
        let a = c.post("startRouter", &[("id", &rid)]).await;
        failed_with_injection(c, a.ok()["jobid"].as_str().unwrap()).await;
        let r = routers_of(c, &w.net).await[0].clone();
        assert_eq!(r["state"], "Stopped", "failure before step {before_step}: {r}");
        assert_eq!(footprint(&t, &w).await, stopped, "failure before step {before_step}");
        assert_ne!(
            sim(&t).vm_power(&name),
            Some(ferrostack_agent_api::PowerState::PowerOn),
            "a failed router start leaves nothing running (before step {before_step})"
        );
    }
    assert_eq!(c.run_async("startRouter", &[("id", &rid)]).await["jobstatus"], 1);
    assert_eq!(sim(&t).vm_power(&name), Some(ferrostack_agent_api::PowerState::PowerOn));

    // Destroy: before its step nothing happens; after it, the router is gone everywhere.
    app(&t).jobs.inject_failure("router_destroy", 0);
    let a = c.post("destroyRouter", &[("id", &rid)]).await;
    failed_with_injection(c, a.ok()["jobid"].as_str().unwrap()).await;
    assert_eq!(routers_of(c, &w.net).await[0]["state"], "Running");
    app(&t).jobs.inject_failure("router_destroy", 1);
    let a = c.post("destroyRouter", &[("id", &rid)]).await;
    failed_with_injection(c, a.ok()["jobid"].as_str().unwrap()).await;
    assert!(routers_of(c, &w.net).await.is_empty());
    let gone = footprint(&t, &w).await;
    assert!(
        !gone.on_hosts.contains(&name),
        "the router is removed from its host: {gone:?}"
    );
    assert_eq!(gone.memory_allocated, 0, "{gone:?}");
    t.stop().await;
}
