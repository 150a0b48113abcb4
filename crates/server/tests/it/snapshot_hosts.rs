//! Snapshots reach the host: on the simulator, taking a snapshot of a running VM's volume is
//! the host's `CreateObjectCommand` (as CloudStack's simulator names it), so a mock rule on it
//! fails the snapshot, which then leaves nothing behind; without the rule it is taken.

use crate::common::TestServer;
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
