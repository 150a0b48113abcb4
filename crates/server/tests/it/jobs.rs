//! Durable async jobs: submission, polling, listing, events, serialization, crash recovery.

use std::time::Duration;

use serde_json::Value;

use crate::common::TestServer;

async fn new_account(t: &TestServer, name: &str) -> String {
    let a = t
        .admin
        .post(
            "createAccount",
            &[
                ("username", name),
                ("password", "pw"),
                ("firstname", "F"),
                ("lastname", "L"),
                ("email", "e"),
                ("accounttype", "0"),
            ],
        )
        .await;
    a.ok()["account"]["id"].as_str().unwrap().to_string()
}

/// Wait (bounded, 5 s) until the deleteAccount job of account `name` has completed its first
/// step (the account shows as disabled), so the test can stop the server in the middle of it.
///
/// A wait on wall-clock time on purpose: these tests need a job that is still running, so the
/// server runs with a step delay, and `quiesce` (which waits for the job to finish) would
/// defeat them. The job engine has no "step done" signal for a test to wait on.
async fn until_first_step_ran(t: &TestServer, name: &str) {
    for _ in 0..100 {
        let accounts = t
            .admin
            .get("listAccounts", &[("listall", "true"), ("name", name)])
            .await
            .items("account");
        if accounts.first().is_some_and(|a| a["state"] == "disabled") {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the first step of the deleteAccount job of {name} did not run");
}

#[tokio::test]
async fn delete_account_runs_as_a_job_with_events() {
    let t = TestServer::start().await;
    let id = new_account(&t, "doomed").await;
    let a = t.admin.get("deleteAccount", &[("id", &id)]).await;
    let jobid = a.ok()["jobid"].as_str().unwrap().to_string();
    assert_eq!(a.ok().as_object().unwrap().len(), 1, "only jobid: {}", a.text);
    t.quiesce().await; // after this the job is done: no polling
    let j = t
        .admin
        .get("queryAsyncJobResult", &[("jobid", &jobid)])
        .await
        .ok()
        .clone();
    assert_eq!(j["jobstatus"], 1);
    assert_eq!(j["jobresultcode"], 0);
    assert_eq!(j["jobresulttype"], "object");
    assert_eq!(j["jobresult"], serde_json::json!({"success": true}));
    assert_eq!(
        j["cmd"],
        "org.apache.cloudstack.api.command.admin.account.DeleteAccountCmd"
    );
    assert_eq!(j["jobinstancetype"], "Account");
    assert_eq!(j["jobinstanceid"], id.as_str());
    assert_eq!(j["jobid"], jobid.as_str());
    assert!(j["completed"].is_string());
    let gone = t
        .admin
        .get("listAccounts", &[("listall", "true"), ("name", "doomed")])
        .await;
    assert!(gone.items("account").is_empty());
    // listAsyncJobs shows it with the plural key.
    let jobs = t.admin.get("listAsyncJobs", &[]).await;
    assert!(jobs.items("asyncjobs").iter().any(|x| x["jobid"] == jobid.as_str()));
    // Events: Scheduled, Started, Completed for the delete.
    let ev = t
        .admin
        .get("listEvents", &[("type", "ACCOUNT.DELETE")])
        .await
        .items("event");
    let states: Vec<&str> = ev.iter().map(|e| e["state"].as_str().unwrap()).collect();
    for s in ["Scheduled", "Started", "Completed"] {
        assert!(states.contains(&s), "{states:?}");
    }
    assert!(ev.iter().all(|e| e["resourceid"] == id.as_str()));
    let created = t
        .admin
        .get("listEvents", &[("type", "ACCOUNT.CREATE")])
        .await
        .items("event");
    assert_eq!(created.len(), 1);
    assert_eq!(created[0]["level"], "INFO");
    let types = t.admin.get("listEventTypes", &[]).await.items("eventtype");
    assert!(types.iter().any(|t| t["name"] == "ACCOUNT.DELETE"));
    // Unknown job id: 431.
    let e = t
        .admin
        .get(
            "queryAsyncJobResult",
            &[("jobid", "1d8d87d4-1425-459c-8d81-c6f57dca2bd2")],
        )
        .await;
    e.err(431);
    t.stop().await;
}

#[tokio::test]
async fn a_pending_job_has_no_result_fields() {
    let t = TestServer::start_with_delay(400).await;
    let id = new_account(&t, "slow").await;
    let a = t.admin.get("deleteAccount", &[("id", &id)]).await;
    let jobid = a.ok()["jobid"].as_str().unwrap().to_string();
    let q = t.admin.get("queryAsyncJobResult", &[("jobid", &jobid)]).await;
    let j = q.ok();
    assert_eq!(j["jobstatus"], 0);
    assert_eq!(j["jobresultcode"], 0);
    assert!(j.get("jobresult").is_none() && j.get("jobresulttype").is_none() && j.get("completed").is_none());
    assert_eq!(t.admin.wait_job(&jobid).await["jobstatus"], 1);
    t.stop().await;
}

#[tokio::test]
async fn jobs_on_one_entity_run_in_order() {
    let t = TestServer::start_with_delay(50).await;
    let id = new_account(&t, "serial").await;
    // disable (lock) then delete: both queued on the same account; they must not interleave.
    let j1 = t
        .admin
        .get("disableAccount", &[("id", &id), ("lock", "true")])
        .await
        .ok()["jobid"]
        .as_str()
        .unwrap()
        .to_string();
    let j2 = t.admin.get("deleteAccount", &[("id", &id)]).await.ok()["jobid"]
        .as_str()
        .unwrap()
        .to_string();
    let r1 = t.admin.wait_job(&j1).await;
    let r2 = t.admin.wait_job(&j2).await;
    assert_eq!(r1["jobstatus"], 1, "{r1}");
    assert_eq!(r1["jobresult"]["account"]["state"], "locked");
    assert_eq!(r2["jobstatus"], 1, "{r2}");
    assert!(r1["completed"].as_str().unwrap() <= r2["completed"].as_str().unwrap());
    t.stop().await;
}

#[tokio::test]
async fn a_job_interrupted_by_a_crash_resumes_and_completes() {
    let mut t = TestServer::start_with_delay(300).await;
    let id = new_account(&t, "crashy").await;
    let jobid = t.admin.get("deleteAccount", &[("id", &id)]).await.ok()["jobid"]
        .as_str()
        .unwrap()
        .to_string();
    // Let it complete a step, then kill the server mid-job.
    until_first_step_ran(&t, "crashy").await;
    t.restart(true, 0).await;
    let j = t.admin.wait_job(&jobid).await;
    assert_eq!(j["jobstatus"], 1, "{j}");
    let gone = t
        .admin
        .get("listAccounts", &[("listall", "true"), ("name", "crashy")])
        .await;
    assert!(gone.items("account").is_empty());
    // Exactly one Started event: a resumed job is not started twice.
    let ev = t
        .admin
        .get("listEvents", &[("type", "ACCOUNT.DELETE"), ("state", "Started")])
        .await
        .items("event");
    assert_eq!(ev.len(), 1, "{ev:?}");
    t.stop().await;
}

#[tokio::test]
async fn graceful_stop_pauses_jobs_and_the_next_start_finishes_them() {
    let mut t = TestServer::start_with_delay(300).await;
    let id = new_account(&t, "paused").await;
    let jobid = t.admin.get("deleteAccount", &[("id", &id)]).await.ok()["jobid"]
        .as_str()
        .unwrap()
        .to_string();
    // Stop it in the middle of the job (after its first step, before its last).
    until_first_step_ran(&t, "paused").await;
    t.restart(false, 0).await;
    let j: Value = t.admin.wait_job(&jobid).await;
    assert_eq!(j["jobstatus"], 1, "{j}");
    t.stop().await;
}
