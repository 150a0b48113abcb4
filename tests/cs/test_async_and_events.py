"""Async jobs (reference §4, §6.41, §6.42) and events (§6.43), driven partly by the `cs` CLI."""

import time

from conftest import DATE_RE, UUID_RE, new_account, unique, wait_job


def events_of(client, **filters):
    res = client.listEvents(listall=True, pagesize=500, page=1, **filters)
    return res.get("event", [])


def wait_for(predicate, timeout=10.0, interval=0.2):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def test_deleteaccount_with_cs_cli(admin, cs_cli):
    a = new_account(admin)
    before = {e["id"] for e in events_of(admin, type="ACCOUNT.DELETE")}

    # `cs deleteAccount` submits the job and polls queryAsyncJobResult itself
    proc, out = cs_cli("deleteAccount", f"id={a['id']}")
    assert proc.returncode == 0, f"cs CLI failed: {proc.stderr}\n{proc.stdout}"
    assert out == {"success": True}, proc.stdout

    assert admin.listAccounts(name=a["name"], listall=True) == {}
    proc, out = cs_cli("listAccounts", f"name={a['name']}", "listall=true", post=True)
    assert proc.returncode == 0, proc.stderr
    assert not out, f"deleted account still listed: {out}"

    # the job is visible in listAsyncJobs (item key: asyncjobs)
    jobs = admin.listAsyncJobs(listall=True)
    assert isinstance(jobs["count"], int) and jobs["count"] >= 1
    mine = [j for j in jobs["asyncjobs"] if j.get("jobinstanceid") == a["id"] or "deleteaccount" in j.get("cmd", "").lower()]
    assert mine, f"deleteAccount job not in listAsyncJobs: {jobs}"
    j = mine[-1]
    assert UUID_RE.match(j["jobid"]) and UUID_RE.match(j["userid"]) and UUID_RE.match(j["accountid"])
    assert j["jobstatus"] == 1 and j["jobresultcode"] == 0 and isinstance(j["jobprocstatus"], int)
    assert isinstance(j["cmd"], str) and DATE_RE.match(j["created"])

    full = admin.queryAsyncJobResult(jobid=j["jobid"])
    assert full["jobid"] == j["jobid"]
    assert full["jobstatus"] == 1 and full["jobresultcode"] == 0 and full["jobresulttype"] == "object"
    assert full["jobresult"] == {"success": True}
    assert DATE_RE.match(full["created"]) and DATE_RE.match(full["completed"])

    # ACCOUNT.DELETE events: Scheduled -> Started -> Completed
    def new_events():
        evs = [e for e in events_of(admin, type="ACCOUNT.DELETE") if e["id"] not in before]
        return evs if {"Scheduled", "Started", "Completed"} <= {e["state"] for e in evs} else None

    evs = wait_for(new_events)
    got = [(e["state"], e["description"]) for e in events_of(admin, type="ACCOUNT.DELETE") if e["id"] not in before]
    assert evs, f"expected Scheduled/Started/Completed ACCOUNT.DELETE events, got {got}"
    for e in evs:
        assert e["username"] == "admin" and e["account"] in ("admin", a["name"]) and e["level"] == "INFO", e
    by_state = {e["state"]: e for e in evs}
    for st in ("Started", "Completed"):
        if "parentid" in by_state[st]:
            assert by_state[st]["parentid"] == by_state["Scheduled"]["id"], by_state
    for e in evs:
        if "resourceid" in e:
            assert e["resourceid"] == a["id"] and e.get("resourcetype", "Account") == "Account", e
    assert by_state["Scheduled"]["created"] <= by_state["Started"]["created"] <= by_state["Completed"]["created"]


def test_deleteaccount_cli_post_async_flag(admin, cs_cli):
    a = new_account(admin)
    proc, out = cs_cli("--async", "deleteAccount", f"id={a['id']}", post=True)
    assert proc.returncode == 0, proc.stderr
    assert set(out) == {"jobid"} and UUID_RE.match(out["jobid"]), out
    job = wait_job(admin, out["jobid"])
    assert job["jobstatus"] == 1 and job["jobresult"] == {"success": True}, job
    assert admin.listAccounts(name=a["name"], listall=True) == {}


def test_events_for_sync_actions(admin, admin_keys):
    d = admin.createDomain(name=unique("evd"))["domain"]
    a = new_account(admin, domainid=d["id"])
    admin.createUser(account=a["name"], domainid=d["id"], username=unique("evu"), password="Pw-12345",
                     email="u@example.org", firstname="E", lastname="V")
    admin.registerUserKeys(id=a["user"][0]["id"])

    res = admin.listEvents(listall=True)
    assert isinstance(res["count"], int) and res["count"] >= len(res["event"]) > 0
    types = {e["type"] for e in res["event"]}
    for t in ("DOMAIN.CREATE", "ACCOUNT.CREATE", "USER.CREATE", "USER.LOGIN", "REGISTER.USER.KEY"):
        assert t in types, f"no {t} event in {sorted(types)}"
    for e in res["event"]:
        for key in ("id", "type", "level", "description", "state", "username", "account", "domain", "domainid", "created"):
            assert key in e, f"event lacks {key}: {e}"
        assert UUID_RE.match(e["id"]) and UUID_RE.match(e["domainid"]), e
        assert e["level"] in ("INFO", "WARN", "ERROR"), e
        assert e["state"] in ("Created", "Scheduled", "Started", "Completed"), e
        assert DATE_RE.match(e["created"]), e
        assert "secretkey" not in str(e) and "Pw-12345" not in str(e), "secrets never reach events"

    created = events_of(admin, type="ACCOUNT.CREATE")
    assert any(e["state"] == "Completed" for e in created)
    # filters
    assert all(e["type"] == "USER.CREATE" for e in events_of(admin, type="USER.CREATE"))
    paged = admin.listEvents(listall=True, page=1, pagesize=1)
    assert len(paged["event"]) == 1 and paged["count"] >= 5


def test_queryasyncjobresult_unknown_job(admin_keys):
    jobid = "00000000-0000-4000-8000-000000000001"
    r = admin_keys.raw("queryAsyncJobResult", jobid=jobid)
    assert r.status_code == 431, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.json()["queryasyncjobresultresponse"]["errorcode"] == 431
