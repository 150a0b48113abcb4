//! Snapshots reach the host: on the simulator, taking a snapshot of a running VM's volume is
//! the host's `CreateObjectCommand` (as CloudStack's simulator names it), so a mock rule on it
//! fails the snapshot, which then leaves nothing behind; without the rule it is taken. A
//! revert is the host's `RevertSnapshotCommand`. A snapshot deleted while its pool's host is
//! down has its file removed when the host is back.

use ferrostack_types::time::now_ms;
use serde_json::Value;

use crate::common::TestServer;
use crate::infra::host_becomes;
use crate::setup::{configdrive_offering, edge_with_templates, shared_network};
use crate::snapshots::{core_cloud, deployed};

#[tokio::test]
async fn a_failing_create_object_command_fails_the_snapshot_and_leaves_nothing() {
    let t = TestServer::start().await;
    let (cl, guest, net) = core_cloud(&t, "sh").await;
    let c = &t.admin;
    let vm = deployed(c, &cl, &guest, &net, "sh1").await;
    let root_volume = || async {
        c.get("listVolumes", &[("virtualmachineid", &vm), ("type", "ROOT")])
            .await
            .items("volume")[0]
            .clone()
    };
    let root = root_volume().await["id"].as_str().unwrap().to_string();
    let m = c
        .get(
            "configureSimulator",
            &[
                ("name", "CreateObjectCommand"),
                ("value", "result=fail"),
                ("zoneid", &cl.zone.zone),
                ("count", "1"),
            ],
        )
        .await;
    assert_eq!(m.status, 200, "{}", m.text);
    let j = c.run_async("createSnapshot", &[("volumeid", &root)]).await;
    assert_eq!(j["jobstatus"], 2, "{j}");
    assert!(
        j["jobresult"]["errortext"]
            .as_str()
            .unwrap()
            .contains("Simulated failure"),
        "{j}"
    );
    assert_eq!(root_volume().await["state"], "Ready");
    let listed = c.get("listSnapshots", &[("listall", "true")]).await.items("snapshot");
    assert!(listed.is_empty(), "{listed:?}");
    // The rule was used up: the next snapshot is taken.
    let j = c.run_async("createSnapshot", &[("volumeid", &root)]).await;
    assert_eq!(j["jobstatus"], 1, "{j}");
    assert_eq!(j["jobresult"]["snapshot"]["state"], "BackedUp", "{j}");
    t.stop().await;
}

/// A snapshot deleted while its pool's host is down: gone from the API at once, its file removed
/// by a `snapshot.delete` follow-up that waits for the host and runs when it is back.
#[tokio::test]
async fn a_snapshot_deleted_while_its_host_is_down_is_removed_when_the_host_is_back() {
    let t = TestServer::start().await;
    let c = &t.admin;
    crate::setup::fast_host_pings(c).await;
    let (edge, guest) = edge_with_templates(c, "edge", 1).await;
    let cd = configdrive_offering(c, "cd").await;
    let net = shared_network(c, &edge, "cd-net", &cd, "120", 20).await;
    let q = t.server.as_ref().unwrap().quiescer();
    let host = &edge.zone.hosts[0];
    let pool = c
        .get(
            "createStoragePool",
            &[
                ("name", "edge-local"),
                ("zoneid", &edge.zone.zone),
                ("podid", &edge.zone.pod),
                ("clusterid", &edge.zone.cluster),
                ("hostid", host),
                ("scope", "host"),
                ("url", "local:///var/lib/ferrostack/pool"),
            ],
        )
        .await;
    assert_eq!(pool.status, 200, "createStoragePool: {}", pool.text);
    let vm = deployed(c, &edge, &guest, &net, "web1").await;
    let root = c
        .get("listVolumes", &[("virtualmachineid", &vm), ("type", "ROOT")])
        .await
        .items("volume")[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        c.get("listVolumes", &[("id", &root)]).await.items("volume")[0]["storageid"].is_string(),
        "the root volume is on the edge host's pool"
    );
    let j = c.run_async("createSnapshot", &[("volumeid", &root)]).await;
    assert_eq!(j["jobstatus"], 1, "{j}");
    let snap = j["jobresult"]["snapshot"]["id"].as_str().unwrap().to_string();

    // The revert is the host's RevertSnapshotCommand: failed there, the volume is left Ready.
    assert_eq!(c.run_async("stopVirtualMachine", &[("id", &vm)]).await["jobstatus"], 1);
    let m = c
        .get(
            "configureSimulator",
            &[
                ("name", "RevertSnapshotCommand"),
                ("value", "result=fail"),
                ("hostid", host),
                ("count", "1"),
            ],
        )
        .await;
    assert_eq!(m.status, 200, "{}", m.text);
    let j = c.run_async("revertSnapshot", &[("id", &snap)]).await;
    assert_eq!(j["jobstatus"], 2, "{j}");
    let state = |v: Value| v["state"].clone();
    assert_eq!(
        state(c.get("listVolumes", &[("id", &root)]).await.items("volume")[0].clone()),
        "Ready"
    );
    assert_eq!(c.run_async("revertSnapshot", &[("id", &snap)]).await["jobstatus"], 1);

    c.get("updateSimulatorHost", &[("id", host), ("state", "Down")])
        .await
        .ok();
    host_becomes(c, host, "Down").await;
    let j = c.run_async("deleteSnapshot", &[("id", &snap)]).await;
    assert_eq!(j["jobstatus"], 1, "a host that is down never fails the delete: {j}");
    assert!(c
        .get("listSnapshots", &[("id", &snap)])
        .await
        .items("snapshot")
        .is_empty());
    q.quiesce_at(Some(now_ms())).await.unwrap();
    let pending = |fs: Vec<Value>| -> Vec<Value> {
        fs.into_iter()
            .filter(|f| f["target"].as_str().is_some_and(|t| t.ends_with(&format!(":{snap}"))))
            .collect()
    };
    let f = pending(
        c.get("listFollowUps", &[("kind", "snapshot.delete")])
            .await
            .items("followup"),
    );
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0]["state"], "WaitingHost", "{f:?}");

    c.get("updateSimulatorHost", &[("id", host), ("state", "Up")])
        .await
        .ok();
    host_becomes(c, host, "Up").await;
    q.quiesce_at(Some(now_ms())).await.unwrap();
    let f = pending(
        c.get("listFollowUps", &[("kind", "snapshot.delete")])
            .await
            .items("followup"),
    );
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0]["state"], "Done", "{f:?}");
    t.stop().await;
}
