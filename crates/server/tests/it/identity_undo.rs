//! Fault injection in the identity jobs: the job engine's test hook fails the next job of a
//! kind before a given step (or after its last one), every completed step is undone, and the
//! test checks through the API that the account, user or domain is back in its state.

use serde_json::Value;

use crate::common::{Client, TestServer};

fn app(t: &TestServer) -> &ferrostack_app::App {
    &t.server.as_ref().unwrap().app
}

async fn failed_with_injection(t: &TestServer, r: crate::common::Answer) -> Value {
    let job = r.ok()["jobid"].as_str().unwrap().to_string();
    t.quiesce().await;
    let j = t.admin.wait_job(&job).await;
    assert_eq!(j["jobstatus"], 2, "the injected failure fails the job: {j}");
    assert_eq!(j["jobresult"]["errorcode"], 530, "{j}");
    j
}

async fn account_state(c: &Client, id: &str) -> Value {
    let l = c.get("listAccounts", &[("id", id), ("listall", "true")]).await;
    l.items("account")[0]["state"].clone()
}

async fn root(t: &TestServer) -> String {
    t.admin.get("listDomains", &[]).await.items("domain")[0]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn identity_jobs_undo_account_disable_and_delete() {
    let t = TestServer::start().await;
    let c = &t.admin;
    let root = root(&t).await;
    let (acc, _) = t.account_client("carol", "0", &root).await;
    let id = acc["id"].as_str().unwrap().to_string();
    let steps = app(&t).jobs.steps_of("account_disable").unwrap();
    assert_eq!(steps, ["set_state", "end_sessions"]);
    for before_step in 1..=steps.len() {
        for lock in ["false", "true"] {
            app(&t).jobs.inject_failure("account_disable", before_step);
            let r = c.post("disableAccount", &[("id", &id), ("lock", lock)]).await;
            failed_with_injection(&t, r).await;
            assert_eq!(
                account_state(c, &id).await,
                "enabled",
                "lock={lock}, failure before step {before_step}"
            );
        }
    }
    // A locked account that fails to be disabled goes back to locked.
    assert_eq!(
        c.run_async("disableAccount", &[("id", &id), ("lock", "true")]).await["jobstatus"],
        1
    );
    app(&t).jobs.inject_failure("account_disable", 2);
    let r = c.post("disableAccount", &[("id", &id), ("lock", "false")]).await;
    failed_with_injection(&t, r).await;
    assert_eq!(account_state(c, &id).await, "locked");
    c.get("enableAccount", &[("id", &id)]).await.ok();

    // deleteAccount failing before its last step: the account is re-enabled and still there.
    let steps = app(&t).jobs.steps_of("account_delete").unwrap();
    assert_eq!(steps, ["disable_account", "release_resources", "remove_account"]);
    for before_step in 1..steps.len() {
        app(&t).jobs.inject_failure("account_delete", before_step);
        let r = c.post("deleteAccount", &[("id", &id)]).await;
        failed_with_injection(&t, r).await;
        assert_eq!(
            account_state(c, &id).await,
            "enabled",
            "failure before step {before_step}"
        );
    }
    // And repeating it converges.
    assert_eq!(c.run_async("deleteAccount", &[("id", &id)]).await["jobstatus"], 1);
    let l = c.get("listAccounts", &[("id", &id), ("listall", "true")]).await;
    assert_eq!(l.status, 431, "a removed account is not found: {}", l.text);
    t.stop().await;
}

#[tokio::test]
async fn identity_jobs_undo_user_disable() {
    let t = TestServer::start().await;
    let c = &t.admin;
    let root = root(&t).await;
    let (acc, _) = t.account_client("dave", "0", &root).await;
    let uid = acc["user"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(app(&t).jobs.steps_of("user_disable").unwrap(), ["disable_user"]);
    app(&t).jobs.inject_failure("user_disable", 1);
    let r = c.post("disableUser", &[("id", &uid)]).await;
    failed_with_injection(&t, r).await;
    let u = c.get("listUsers", &[("id", &uid), ("listall", "true")]).await;
    assert_eq!(u.items("user")[0]["state"], "enabled", "the disable is undone");
    // A locked user goes back to locked.
    assert_eq!(c.get("lockUser", &[("id", &uid)]).await.ok()["user"]["state"], "locked");
    app(&t).jobs.inject_failure("user_disable", 1);
    let r = c.post("disableUser", &[("id", &uid)]).await;
    failed_with_injection(&t, r).await;
    let u = c.get("listUsers", &[("id", &uid), ("listall", "true")]).await;
    assert_eq!(u.items("user")[0]["state"], "locked");
    t.stop().await;
}

#[tokio::test]
async fn identity_jobs_undo_domain_delete() {
    let t = TestServer::start().await;
    let c = &t.admin;
    let root = root(&t).await;
    let d = t.create_domain("undo", Some(&root)).await;
    let did = d["id"].as_str().unwrap().to_string();
    let steps = app(&t).jobs.steps_of("domain_delete").unwrap();
    assert_eq!(steps, ["deactivate", "remove_accounts", "remove_domains"]);
    for before_step in 1..steps.len() {
        app(&t).jobs.inject_failure("domain_delete", before_step);
        let r = c.post("deleteDomain", &[("id", &did)]).await;
        failed_with_injection(&t, r).await;
        let l = c.get("listDomains", &[("id", &did)]).await;
        assert_eq!(
            l.items("domain")[0]["state"],
            "Active",
            "failure before step {before_step}"
        );
    }
    assert_eq!(c.run_async("deleteDomain", &[("id", &did)]).await["jobstatus"], 1);
    let l = c.get("listDomains", &[("id", &did)]).await;
    assert_eq!(l.status, 431, "a removed domain is not found: {}", l.text);
    t.stop().await;
}
