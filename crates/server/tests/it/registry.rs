//! The command registry owns each async command's job identity: every job row a run of
//! commands leaves has the saga kind and Java class its command declares, and its events
//! carry the declared event type.

use crate::common::TestServer;
use crate::setup::{configdrive_offering, deploy, edge_with_templates, shared_network};

#[tokio::test]
async fn job_rows_and_events_match_the_command_declarations() {
    let t = TestServer::start().await;
    let c = &t.admin;
    let (edge, guest) = edge_with_templates(c, "reg", 1).await;
    let cd = configdrive_offering(c, "cd").await;
    let net = shared_network(c, &edge, "reg-net", &cd, "120", 12).await;
    let (vm, job) = deploy(c, &edge, &guest, &net, "reg-vm", &[]).await;
    assert_eq!(c.wait_job(&job).await["jobstatus"], 1);
    for command in ["stopVirtualMachine", "startVirtualMachine", "rebootVirtualMachine"] {
        assert_eq!(c.run_async(command, &[("id", &vm)]).await["jobstatus"], 1, "{command}");
    }
    assert_eq!(c.run_async("restartNetwork", &[("id", &net)]).await["jobstatus"], 1);
    assert_eq!(
        c.run_async("destroyVirtualMachine", &[("id", &vm)]).await["jobstatus"],
        1
    );

    let app = &t.server.as_ref().unwrap().app;
    let registry = ferrostack_api::registry();
    let rows: Vec<(String, String, String, String)> =
        sqlx::query_as("SELECT uuid, kind, command, cmd_class FROM async_job")
            .fetch_all(app.db.read())
            .await
            .unwrap();
    assert!(rows.len() >= 7, "{rows:?}");
    let mut seen = std::collections::BTreeSet::new();
    for (uuid, kind, command, class) in rows {
        let cmd = registry
            .get(&command)
            .unwrap_or_else(|| panic!("job {uuid} names undeclared command {command}"));
        let decl = cmd
            .job
            .unwrap_or_else(|| panic!("{command} runs a job but declares none"));
        assert_eq!(decl.kind.as_str(), kind, "{command}: saga kind");
        assert_eq!(decl.class, class, "{command}: command class");
        let events: Vec<(String,)> = sqlx::query_as("SELECT event_type FROM event WHERE job_uuid = $1")
            .bind(&uuid)
            .fetch_all(app.db.read())
            .await
            .unwrap();
        assert!(!events.is_empty(), "{command}: no events for job {uuid}");
        for (e,) in events {
            assert_eq!(e, decl.event.as_str(), "{command}: event type");
        }
        seen.insert(command);
    }
    for command in [
        "deployVirtualMachine",
        "stopVirtualMachine",
        "restartNetwork",
        "createPhysicalNetwork",
    ] {
        assert!(seen.contains(command), "{command} not exercised: {seen:?}");
    }
}
