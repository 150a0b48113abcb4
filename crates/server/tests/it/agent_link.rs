//! KVM-style hosts through `ferrostack agent` (its simulated backend, so no libvirt is
//! needed): addHost with credentials, VMs with root disks on the host's pool, the agent
//! killed and restarted under the management server.

use crate::common::TestServer;
use crate::infra::host_becomes;
use crate::kvmhost::{add_host, configdrive_only_offering, kvm_edge, kvm_template, vm, AgentProcess};
use crate::setup::{cloud, deploy, shared_network};

#[tokio::test]
async fn add_host_authenticates_the_agent_and_keeps_no_password() {
    let t = TestServer::start().await;
    let c = &t.admin;
    let dir = tempfile::tempdir().unwrap();
    let agent = AgentProcess::start(dir.path(), "agent-pw", &["--backend", "simulator"]);
    let edge = cloud(c, "edge", true, 0).await;
    let cl = c
        .get(
            "addCluster",
            &[
                ("clustername", "kvm1"),
                ("clustertype", "CloudManaged"),
                ("hypervisor", "KVM"),
                ("podid", &edge.zone.pod),
                ("zoneid", &edge.zone.zone),
            ],
        )
        .await;
    let cluster = cl.ok()["cluster"][0]["id"].as_str().unwrap().to_string();

    let e = add_host(c, &edge, &cluster, &agent.url, "", "").await.err(431);
    assert!(e.contains("username and password"), "{e}");
    let e = add_host(c, &edge, &cluster, &agent.url, "root", "wrong").await.err(534);
    assert!(e.contains("credentials"), "{e}");
    let e = add_host(c, &edge, &cluster, "ftp://127.0.0.1", "root", "agent-pw")
        .await
        .err(431);
    assert!(e.contains("http://HOST[:PORT]"), "{e}");
    assert!(c
        .get("listHosts", &[("zoneid", &edge.zone.zone)])
        .await
        .items("host")
        .is_empty());

    let h = add_host(c, &edge, &cluster, &agent.url, "root", "agent-pw").await;
    let host = h.ok()["host"][0].clone();
    assert_eq!(
        (host["state"].as_str(), host["hypervisor"].as_str()),
        (Some("Up"), Some("KVM")),
        "{host}"
    );
    assert!(host["memorytotal"].as_i64().unwrap() > 0, "{host}");

    // The password is nowhere in the database, the listing or the events.
    let rows: Vec<(String,)> = sqlx::query_as("SELECT COALESCE(agent_key, '') FROM host")
        .fetch_all(t.app().db.read())
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].0.len(), 64, "a derived key is kept");
    let listed = c.get("listHosts", &[("id", host["id"].as_str().unwrap())]).await.text;
    let events = c.get("listEvents", &[]).await.text;
    for text in [&listed, &events, &rows[0].0] {
        assert!(!text.contains("agent-pw"), "the password leaked: {text}");
    }

    // Maintenance, reconnect (the link is reopened from the stored key alone) and delete work
    // as with simulated hosts.
    let h = host["id"].as_str().unwrap();
    let j = c.run_async("prepareHostForMaintenance", &[("id", h)]).await;
    assert_eq!(j["jobresult"]["host"]["resourcestate"], "Maintenance", "{j}");
    let j = c.run_async("cancelHostMaintenance", &[("id", h)]).await;
    assert_eq!(j["jobresult"]["host"]["resourcestate"], "Enabled", "{j}");
    let j = c.run_async("reconnectHost", &[("id", h)]).await;
    assert_eq!(j["jobresult"]["host"]["state"], "Up", "{j}");
    c.run_async("prepareHostForMaintenance", &[("id", h)]).await;
    assert_eq!(c.get("deleteHost", &[("id", h)]).await.ok()["success"], true);
    assert!(c
        .get("listHosts", &[("zoneid", &edge.zone.zone)])
        .await
        .items("host")
        .is_empty());
    drop(agent);
    t.stop().await;
}

#[tokio::test]
async fn vms_on_agent_hosts_get_root_disks_and_survive_agent_restarts() {
    let t = TestServer::start().await;
    let c = &t.admin;
    crate::setup::fast_host_pings(c).await;
    let dir = tempfile::tempdir().unwrap();
    let mut agent = AgentProcess::start(dir.path(), "pw", &["--backend", "simulator"]);
    let edge = kvm_edge(c, "edge", &agent.url, "pw", &dir.path().join("pool")).await;
    let host = edge.zone.hosts[0].clone();
    let guest = kvm_template(c, &edge, "guest", "http://images.example.org/g.qcow2", None, false).await;
    let cd = configdrive_only_offering(c, "cd").await;
    let net = shared_network(c, &edge, "cd-net", &cd, "130", 30).await;

    // A Simulator template can't run on the KVM host: placement says which hosts it needs.
    let sim_template = crate::setup::template(c, &edge, "simonly", true, false, true).await;
    let (_, job) = deploy(c, &edge, &sim_template, &net, "nowhere", &[]).await;
    let j = c.wait_job(&job).await;
    assert_eq!(j["jobstatus"], 2, "{j}");
    assert!(
        j["jobresult"]["errortext"].as_str().unwrap().contains("Simulator host"),
        "{j}"
    );

    let (id, job) = deploy(c, &edge, &guest, &net, "web1", &[]).await;
    let j = c.wait_job(&job).await;
    assert_eq!(j["jobstatus"], 1, "{j}");
    let v = vm(c, &id).await;
    assert_eq!(
        (v["state"].as_str(), v["hostid"].as_str()),
        (Some("Running"), Some(host.as_str()))
    );
    let vols = c.get("listVolumes", &[("virtualmachineid", &id)]).await.items("volume");
    assert_eq!((vols.len(), vols[0]["state"].as_str()), (1, Some("Ready")), "{vols:?}");

    // The agent crashes: the host goes Down; it comes back with its VM still running.
    agent.kill();
    host_becomes(c, &host, "Down").await;
    agent.restart();
    host_becomes(c, &host, "Up").await;
    assert_eq!(vm(c, &id).await["state"], "Running");
    assert_eq!(c.run_async("stopVirtualMachine", &[("id", &id)]).await["jobstatus"], 1);
    assert_eq!(vm(c, &id).await["state"], "Stopped");
    t.stop().await;
}
