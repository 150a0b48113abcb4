"""Durable async jobs: a job interrupted by a crash (kill -9) finishes after restart (DESIGN.md, Async jobs)."""

import time

import cs

from conftest import admin_creds, new_account, unique, wait_job


def test_pending_job_shape_and_listing(server_factory):
    srv = server_factory.create().start(["--job-step-delay-ms", "1500"])
    creds = admin_creds(srv)
    admin = creds.client()
    a = new_account(admin)
    sub = admin.deleteAccount(id=a["id"])
    assert set(sub) == {"jobid"}, sub

    pending = admin.queryAsyncJobResult(jobid=sub["jobid"])
    assert pending["jobstatus"] == 0, pending
    assert pending["jobresultcode"] == 0 and isinstance(pending["jobprocstatus"], int)
    for absent in ("jobresult", "jobresulttype", "completed"):
        assert absent not in pending, f"pending job must not carry {absent}: {pending}"
    assert pending["jobid"] == sub["jobid"]

    jobs = admin.listAsyncJobs(listall=True)["asyncjobs"]
    [j] = [j for j in jobs if j["jobid"] == sub["jobid"]]
    assert j["jobstatus"] == 0

    done = wait_job(admin, sub["jobid"], timeout=60)
    assert done["jobstatus"] == 1 and done["jobresultcode"] == 0 and done["jobresult"] == {"success": True}, done
    assert admin.listAccounts(name=a["name"], listall=True) == {}


def test_job_survives_kill_9(server_factory):
    srv = server_factory.create().start(["--job-step-delay-ms", "1500"])
    creds = admin_creds(srv)
    admin = creds.client()
    name = unique("crash")
    a = new_account(admin, username=name)
    sub = admin.deleteAccount(id=a["id"])
    jobid = sub["jobid"]
    time.sleep(1.0)
    assert admin.queryAsyncJobResult(jobid=jobid)["jobstatus"] == 0, "job should still be running before the crash"
    srv.kill()  # SIGKILL: no graceful shutdown

    srv.start()  # same data dir / database, no delay
    # the keys registered before the crash still work against the restarted server
    admin2 = cs.CloudStack(endpoint=srv.endpoint, key=creds.key, secret=creds.secret)
    assert admin2.listCapabilities()["capability"]
    job = wait_job(admin2, jobid, timeout=60)
    assert job["jobstatus"] == 1, f"interrupted job did not finish after restart: {job}"
    assert job["jobresultcode"] == 0 and job["jobresult"] == {"success": True}, job
    assert admin2.listAccounts(name=name, listall=True) == {}
    assert admin2.listUsers(username=name, listall=True) == {}

    # the server that resumed the job is healthy and the job shows up once
    jobs = [j for j in admin2.listAsyncJobs(listall=True)["asyncjobs"] if j["jobid"] == jobid]
    assert len(jobs) == 1 and jobs[0]["jobstatus"] == 1


def test_graceful_restart_keeps_data(server_factory):
    srv = server_factory.create().start()
    admin = admin_creds(srv).client()
    d = admin.createDomain(name=unique("keep"))["domain"]
    a = new_account(admin, domainid=d["id"])
    srv.stop()
    assert srv.proc.returncode == 0, f"SIGTERM should exit cleanly, got {srv.proc.returncode}"
    srv.start()
    admin = admin_creds(srv).client()
    assert admin.listDomains(id=d["id"])["domain"][0]["name"] == d["name"]
    assert admin.listAccounts(id=a["id"])["account"][0]["name"] == a["name"]
