//! Follow-ups through the API: host-side cleanup of a VM destroyed while its host is down
//! waits for the host and runs when it is back; a follow-up that keeps failing becomes Stuck
//! with an alert and an ERROR event, and retryFollowUp runs it again; duplicates are one row.

use ferrostack_app::followup::{FollowUp, BACKOFF_CAP_MS};
use ferrostack_server::Quiescer;
use ferrostack_types::time::now_ms;
use serde_json::Value;

use crate::common::{Client, TestServer};
use crate::infra::host_becomes;
use crate::setup::{configdrive_offering, deploy, edge_with_templates, shared_network, Cloud};

/// Run jobs and due follow-ups to quiescence as if the follow-ups' clock read `now` (the test
/// moves it past their back-off instead of sleeping through it).
async fn drain(q: &Quiescer, now: i64) {
    q.quiesce_at(Some(now)).await.unwrap();
}

async fn followups(c: &Client, params: &[(&str, &str)]) -> Vec<Value> {
    c.get("listFollowUps", params).await.items("followup")
}

async fn one_of(c: &Client, kind: &str, target: &str) -> Value {
    let all = followups(c, &[("kind", kind)]).await;
    let mine: Vec<_> = all.into_iter().filter(|f| f["target"] == target).collect();
    assert_eq!(mine.len(), 1, "{mine:?}");
    mine[0].clone()
}

/// A running VM on the cloud's only host; (id, instance name).
async fn running_vm(c: &Client, edge: &Cloud, tpl: &str, net: &str, name: &str) -> (String, String) {
    let (id, job) = deploy(c, edge, tpl, net, name, &[]).await;
    assert_eq!(c.wait_job(&job).await["jobstatus"], 1);
    let v = c
        .get("listVirtualMachines", &[("id", &id)])
        .await
        .items("virtualmachine")[0]
        .clone();
    (id, v["instancename"].as_str().unwrap().to_string())
}

#[tokio::test]
async fn host_side_cleanup_waits_for_the_host_and_stuck_follow_ups_are_raised_and_retried() {
    let t = TestServer::start().await;
    let c = &t.admin;
    for (name, value) in [
        ("ping.interval", "1"),
        ("ping.timeout", "1"),
        ("followup.max.attempts", "3"),
    ] {
        c.get("updateConfiguration", &[("name", name), ("value", value)])
            .await
            .ok();
    }
    let (edge, guest) = edge_with_templates(c, "edge", 1).await;
    let cd = configdrive_offering(c, "cd").await;
    let net = shared_network(c, &edge, "cd-net", &cd, "120", 20).await;
    assert_eq!(c.run_async("restartNetwork", &[("id", &net)]).await["jobstatus"], 1);
    let q = t.server.as_ref().unwrap().quiescer();
    let host = &edge.zone.hosts[0];

    // 1. Destroyed while the host is down: gone from the API at once, still on the host.
    let (id, name) = running_vm(c, &edge, &guest, &net, "web1").await;
    c.get("updateSimulatorHost", &[("id", host), ("state", "Down")])
        .await
        .ok();
    host_becomes(c, host, "Down").await;
    let j = c
        .run_async("destroyVirtualMachine", &[("id", &id), ("expunge", "true")])
        .await;
    assert_eq!(j["jobstatus"], 1, "{j}");
    let gone = c.get("listVirtualMachines", &[("id", &id)]).await;
    assert!(
        gone.status == 431 || gone.items("virtualmachine").is_empty(),
        "{}",
        gone.text
    );
    drain(&q, now_ms()).await;
    assert!(
        t.server.as_ref().unwrap().sim.vm_host(&name).is_some(),
        "the VM is still on the host"
    );
    let f = one_of(c, "host.destroy", &name).await;
    assert_eq!(f["state"], "WaitingHost", "{f}");
    assert_eq!(f["attempts"], 0, "waiting for the host is not a failed attempt: {f}");
    assert!(f.get("payload").is_none(), "payloads are never rendered: {f}");

    // 2. The host comes back: the follow-up is due at once and removes the VM.
    c.get("updateSimulatorHost", &[("id", host), ("state", "Up")])
        .await
        .ok();
    host_becomes(c, host, "Up").await;
    drain(&q, now_ms()).await;
    assert!(
        t.server.as_ref().unwrap().sim.vm_host(&name).is_none(),
        "the VM is removed from its host"
    );
    assert_eq!(one_of(c, "host.destroy", &name).await["state"], "Done");

    // 3. A host that keeps refusing: Stuck after followup.max.attempts, alert and ERROR event.
    let (id, name) = running_vm(c, &edge, &guest, &net, "web2").await;
    let m = c
        .get(
            "configureSimulator",
            &[("name", "DestroyCommand"), ("value", "result=fail"), ("hostid", host)],
        )
        .await;
    let mock = m.ok()["simulatormock"]["id"].as_i64().unwrap().to_string();
    let j = c
        .run_async("destroyVirtualMachine", &[("id", &id), ("expunge", "true")])
        .await;
    assert_eq!(
        j["jobstatus"], 1,
        "a failing host-side cleanup never fails the destroy: {j}"
    );
    let start = now_ms();
    for k in 0..6 {
        drain(&q, start + k * 2 * BACKOFF_CAP_MS).await;
    }
    let f = one_of(c, "host.destroy", &name).await;
    assert_eq!(f["state"], "Stuck", "{f}");
    assert_eq!(f["attempts"], 3, "{f}");
    assert!(f["lasterror"].as_str().unwrap().contains(&name), "{f}");
    let stuck = followups(c, &[("state", "Stuck")]).await;
    assert_eq!(stuck.len(), 1, "{stuck:?}");
    let alerts = c.get("listAlerts", &[("name", "ALERT.FOLLOWUP")]).await.items("alert");
    assert_eq!(alerts.len(), 1, "one alert: {alerts:?}");
    assert!(alerts[0]["description"].as_str().unwrap().contains(&name));
    let ev = c
        .get("listEvents", &[("type", "FOLLOWUP.STUCK"), ("listall", "true")])
        .await
        .items("event");
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert_eq!(ev[0]["level"], "ERROR");
    assert!(t.server.as_ref().unwrap().sim.vm_host(&name).is_some());

    // …the operator fixes the cause and retries it.
    c.get("cleanupSimulatorMock", &[("id", &mock)]).await.ok();
    let fid = f["id"].as_i64().unwrap().to_string();
    let r = c.get("retryFollowUp", &[("id", &fid)]).await;
    assert_eq!(r.ok()["followup"]["state"], "Pending", "{}", r.text);
    assert_eq!(r.ok()["followup"]["attempts"], 0);
    drain(&q, now_ms()).await;
    assert!(t.server.as_ref().unwrap().sim.vm_host(&name).is_none());
    assert_eq!(followups(c, &[("id", &fid)]).await[0]["state"], "Done");
    assert!(
        c.get("retryFollowUp", &[("id", &fid)]).await.status == 431,
        "a done follow-up is not retried"
    );
    c.get("listFollowUps", &[("state", "Sideways")]).await.err(431);
    t.stop().await;
}

#[tokio::test]
async fn duplicate_enqueue_is_one_row_and_a_removed_host_resolves_it() {
    let t = TestServer::start().await;
    let app = t.server.as_ref().unwrap().app.clone();
    let q = t.server.as_ref().unwrap().quiescer();
    let f = FollowUp::HostDestroy {
        host_id: 999_999,
        instance_name: "i-2-99-VM".into(),
    };
    for _ in 0..3 {
        let mut c = app.db.write_conn().await.unwrap();
        app.followup_enqueue(&mut c, &f).await.unwrap();
    }
    let rows = one_of(&t.admin, "host.destroy", "i-2-99-VM").await;
    assert_eq!(rows["state"], "Pending");
    drain(&q, now_ms()).await;
    let done = one_of(&t.admin, "host.destroy", "i-2-99-VM").await;
    assert_eq!(done["state"], "Done", "{done}");
    assert!(done["lasterror"].as_str().unwrap().contains("removed"), "{done}");
    // Once done, the same effect may be queued again.
    let mut c = app.db.write_conn().await.unwrap();
    app.followup_enqueue(&mut c, &f).await.unwrap();
    drop(c);
    let all = followups(&t.admin, &[("kind", "host.destroy")]).await;
    assert_eq!(all.len(), 2, "{all:?}");
    t.stop().await;
}

#[tokio::test]
async fn deleting_a_host_resolves_its_host_side_follow_ups() {
    let t = TestServer::start().await;
    let c = &t.admin;
    crate::setup::fast_host_pings(c).await;
    let (edge, guest) = edge_with_templates(c, "edge", 1).await;
    let cd = configdrive_offering(c, "cd").await;
    let net = shared_network(c, &edge, "cd-net", &cd, "121", 21).await;
    assert_eq!(c.run_async("restartNetwork", &[("id", &net)]).await["jobstatus"], 1);
    let q = t.server.as_ref().unwrap().quiescer();
    let host = &edge.zone.hosts[0];
    let (id, name) = running_vm(c, &edge, &guest, &net, "web1").await;
    c.get("updateSimulatorHost", &[("id", host), ("state", "Down")])
        .await
        .ok();
    host_becomes(c, host, "Down").await;
    let j = c
        .run_async("destroyVirtualMachine", &[("id", &id), ("expunge", "true")])
        .await;
    assert_eq!(j["jobstatus"], 1, "{j}");
    drain(&q, now_ms()).await;
    assert_eq!(one_of(c, "host.destroy", &name).await["state"], "WaitingHost");
    assert_eq!(c.get("deleteHost", &[("id", host)]).await.ok()["success"], true);
    let f = one_of(c, "host.destroy", &name).await;
    assert_eq!(f["state"], "Done", "nothing is left to clean on a deleted host: {f}");
    assert!(f["lasterror"].as_str().unwrap().contains("deleted"), "{f}");
    t.stop().await;
}
