//! The founding scenario: destroying a virtual router of a shared network in an edge zone
//! whose system VM template was registered without direct download — and every variant of it
//! — ends with the router gone, a clear result, and no 5xx anywhere.

use ferrostack_app::followup::BACKOFF_CAP_MS;
use ferrostack_types::time::now_ms;

use crate::common::TestServer;
use crate::setup::{cloud, configdrive_offering, deploy, offering_id, routers_of, shared_network, template};

async fn destroy_ok(t: &TestServer, router: &str) {
    let j = t.admin.run_async("destroyRouter", &[("id", router)]).await;
    assert_eq!(j["jobstatus"], 1, "destroyRouter must succeed: {j}");
    assert_eq!(j["jobresultcode"], 0);
    assert!(j["jobresult"]["router"].is_object(), "{j}");
    let left = t.admin.get("listRouters", &[("id", router)]).await;
    // A destroyed router's id lists as an empty answer, as CloudStack's does.
    assert_eq!(left.status, 200, "{}", left.text);
    assert!(left.items("router").is_empty(), "router still listed: {}", left.text);
}

#[tokio::test]
async fn founding_edge_router_destroy_converges_in_every_state() {
    let t = TestServer::start().await;
    let c = &t.admin;
    let edge = cloud(c, "edge", true, 1).await;
    // A guest template usable in the edge zone (direct download).
    let guest = template(c, &edge, "guest-dd", true, false, true).await;
    let vr_offering = offering_id(c, "DefaultSharedNetworkOffering").await;
    let cd_offering = configdrive_offering(c, "SharedWithConfigDrive").await;
    let vr_net = shared_network(c, &edge, "vr-net", &vr_offering, "101", 1).await;
    let cd_net = shared_network(c, &edge, "cd-net", &cd_offering, "102", 2).await;

    // 1. The system VM template is the seeded one, registered WITHOUT direct download: the
    //    router can't start in the edge zone. The deploy fails with a message naming the fix
    //    and leaves nothing of the VM behind.
    let (vm, job) = deploy(c, &edge, &guest, &vr_net, "web1", &[]).await;
    let j = c.wait_job(&job).await;
    assert_eq!(j["jobstatus"], 2, "{j}");
    let text = j["jobresult"]["errortext"].as_str().unwrap();
    assert!(
        text.contains("directdownload=true") && text.contains("router.template.simulator"),
        "{text}"
    );
    assert!(
        j["jobresult"]["errorcode"].as_u64().unwrap() < 600 && j["jobresult"]["errorcode"] != 530,
        "{j}"
    );
    let gone = c.get("listVirtualMachines", &[("id", &vm)]).await;
    assert!(
        gone.status == 431 || gone.items("virtualmachine").is_empty(),
        "the failed VM is undone: {}",
        gone.text
    );
    // The router that never started is there, Stopped.
    let routers = routers_of(c, &vr_net).await;
    assert_eq!(routers.len(), 1, "{routers:?}");
    assert_eq!(routers[0]["state"], "Stopped");
    let never_started = routers[0]["id"].as_str().unwrap().to_string();
    // 2. Destroy the router that never started.
    destroy_ok(&t, &never_started).await;
    // Destroy twice: the second is a clear 4xx (it is gone), never a 5xx.
    let again = c.get("destroyRouter", &[("id", &never_started)]).await;
    assert_eq!(again.status, 431, "{}", again.text);

    // 3. Fix it the way the message says: a direct-download system template, named by the
    //    zone setting. Now routers start and VMs deploy, on both networks.
    template(c, &edge, "edge-systemvm", true, true, true).await;
    c.get(
        "updateConfiguration",
        &[
            ("name", "router.template.simulator"),
            ("value", "edge-systemvm"),
            ("zoneid", &edge.zone.zone),
        ],
    )
    .await
    .ok();
    let (vm1, job) = deploy(
        c,
        &edge,
        &guest,
        &vr_net,
        "web1",
        &[("userdata", "I2Nsb3VkLWNvbmZpZwo=")],
    )
    .await;
    let j = c.wait_job(&job).await;
    assert_eq!(j["jobstatus"], 1, "{j}");
    assert_eq!(j["jobresult"]["virtualmachine"]["state"], "Running");
    let (vm2, job) = deploy(
        c,
        &edge,
        &guest,
        &cd_net,
        "web2",
        &[("userdata", "I2Nsb3VkLWNvbmZpZwo=")],
    )
    .await;
    assert_eq!(c.wait_job(&job).await["jobstatus"], 1);
    let r = routers_of(c, &vr_net).await;
    assert_eq!(r[0]["state"], "Running", "{r:?}");
    // The router got the VM's DHCP entry and user data in one batch.
    let router_name = r[0]["name"].as_str().unwrap().to_string();
    let cfg = t
        .server
        .as_ref()
        .unwrap()
        .sim
        .router_config(&router_name, &vr_net)
        .expect("router config");
    assert!(
        cfg.entries
            .iter()
            .any(|e| e.hostname == "web1" && e.user_data.is_some()),
        "{cfg:?}"
    );
    // The config-drive VM got an ISO on its host.
    let vm2_name = c
        .get("listVirtualMachines", &[("id", &vm2)])
        .await
        .items("virtualmachine")[0]["instancename"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(t.server.as_ref().unwrap().sim.config_drive_path(&vm2_name).is_some());

    // 4. Destroy a running router.
    destroy_ok(&t, r[0]["id"].as_str().unwrap()).await;
    // restartNetwork brings a new one.
    let j = c.run_async("restartNetwork", &[("id", &vr_net)]).await;
    assert_eq!(j["jobstatus"], 1, "{j}");
    let r = routers_of(c, &vr_net).await;
    assert_eq!(r[0]["state"], "Running");
    // 5. A stopped router.
    let j = c.run_async("stopRouter", &[("id", r[0]["id"].as_str().unwrap())]).await;
    assert_eq!(j["jobresult"]["router"]["state"], "Stopped", "{j}");
    destroy_ok(&t, r[0]["id"].as_str().unwrap()).await;

    // 6. A router whose host is down.
    c.run_async("restartNetwork", &[("id", &vr_net)]).await;
    let r = routers_of(c, &vr_net).await;
    c.get("updateSimulatorHost", &[("id", &edge.zone.hosts[0]), ("state", "Down")])
        .await
        .ok();
    destroy_ok(&t, r[0]["id"].as_str().unwrap()).await;
    c.get("updateSimulatorHost", &[("id", &edge.zone.hosts[0]), ("state", "Up")])
        .await
        .ok();

    // 7. A router whose template was deleted.
    c.run_async("restartNetwork", &[("id", &vr_net)]).await;
    let r = routers_of(c, &vr_net).await;
    assert_eq!(r[0]["state"], "Running", "{r:?}");
    let tid = r[0]["templateid"].as_str().unwrap().to_string();
    let del = c.get("deleteTemplate", &[("id", &tid)]).await;
    assert_eq!(del.status, 200, "{}", del.text);
    if let Some(job) = del.ok().get("jobid").and_then(|j| j.as_str()) {
        assert_eq!(c.wait_job(job).await["jobstatus"], 1);
    }
    destroy_ok(&t, r[0]["id"].as_str().unwrap()).await;

    // 8. Destroy while a VM deploy on the same network is in flight.
    template(c, &edge, "edge-systemvm-2", true, true, true).await;
    c.get(
        "updateConfiguration",
        &[
            ("name", "router.template.simulator"),
            ("value", "edge-systemvm-2"),
            ("zoneid", &edge.zone.zone),
        ],
    )
    .await
    .ok();
    c.run_async("restartNetwork", &[("id", &vr_net)]).await;
    let r = routers_of(c, &vr_net).await;
    let (_, deploy_job) = deploy(c, &edge, &guest, &vr_net, "web3", &[]).await;
    let destroy_job = c
        .get("destroyRouter", &[("id", r[0]["id"].as_str().unwrap())])
        .await
        .ok()["jobid"]
        .as_str()
        .unwrap()
        .to_string();
    let dj = c.wait_job(&destroy_job).await;
    assert_eq!(dj["jobstatus"], 1, "{dj}");
    let vj = c.wait_job(&deploy_job).await;
    assert!(
        vj["jobstatus"] == 1 || (vj["jobstatus"] == 2 && vj["jobresult"]["errorcode"] != 530),
        "deploy ends cleanly: {vj}"
    );

    // 9. A router whose guest network was deleted first (forced). ferrostack removes the
    //    router with the network, even when the router's host refuses to stop it…
    c.run_async("restartNetwork", &[("id", &cd_net)]).await;
    let r = routers_of(c, &cd_net).await;
    assert_eq!(r.len(), 1);
    c.get(
        "configureSimulator",
        &[("name", "StopCommand"), ("value", "result=fail"), ("count", "1")],
    )
    .await
    .ok();
    let j = c
        .run_async("deleteNetwork", &[("id", &cd_net), ("forced", "true")])
        .await;
    assert_eq!(j["jobstatus"], 1, "forced delete completes: {j}");
    let gone = c.get("listRouters", &[("id", r[0]["id"].as_str().unwrap())]).await;
    assert!(gone.status == 431 || gone.items("router").is_empty(), "{}", gone.text);
    //    …and a router left behind by anything else (an older release, a crash between the
    //    network's removal and the router's) still destroys cleanly: remove a network row
    //    under a running router, then destroy the router.
    let orphan_net = shared_network(c, &edge, "orphan-net", &vr_offering, "103", 3).await;
    c.run_async("restartNetwork", &[("id", &orphan_net)]).await;
    let r = routers_of(c, &orphan_net).await;
    assert_eq!(r[0]["state"], "Running");
    let app = &t.server.as_ref().unwrap().app;
    sqlx::query("UPDATE network SET removed = 1, state = 'Destroy' WHERE uuid = $1")
        .bind(&orphan_net)
        .execute(app.db.write())
        .await
        .unwrap();
    destroy_ok(&t, r[0]["id"].as_str().unwrap()).await;
    let _ = vm1;
    // Follow-ups all finish (config drives removed, router entries dropped). The removal of the
    // router destroyed while its host was down failed once and backs off: run the follow-ups
    // with their clock past the back-off instead of waiting for it.
    let q = t.server.as_ref().unwrap().quiescer();
    q.quiesce_at(Some(now_ms() + BACKOFF_CAP_MS)).await.unwrap();
    let pending = ferrostack_db::followup::pending_count(t.app().db.read()).await.unwrap();
    let fu = c.get("listFollowUps", &[]).await.text;
    assert_eq!(pending, 0, "follow-ups did not finish: {fu}");
    t.stop().await;
}
