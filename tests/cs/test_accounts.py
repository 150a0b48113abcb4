"""Domains, accounts and users: answer shapes and field names (reference §6.44–6.47)."""

import json

import cs
import pytest

from conftest import DATE_RE, UUID_RE, error_of, new_account, unique, wait_job


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def check_user(u, *, account=None):
    for key in ("id", "username", "firstname", "lastname", "state", "account", "accountid",
                "accounttype", "domain", "domainid", "roleid", "rolename", "roletype", "created"):
        assert key in u, f"user lacks {key}: {u}"
    assert UUID_RE.match(u["id"]) and UUID_RE.match(u["accountid"]) and UUID_RE.match(u["domainid"]), u
    assert UUID_RE.match(u["roleid"]), u
    assert is_int(u["accounttype"]), u
    assert u["state"] in ("enabled", "disabled", "locked"), u
    assert DATE_RE.match(u["created"]), u["created"]
    if "email" in u:  # seeded users (system, admin) may have none; Gson omits nulls
        assert isinstance(u["email"], str)
    if "isdefault" in u:
        assert isinstance(u["isdefault"], bool)
    if "usersource" in u:
        assert u["usersource"] == "native"
    assert "secretkey" not in u, "secret keys are never listed"
    assert "password" not in u
    if account is not None:
        assert u["account"] == account


def check_account(a):
    for key in ("id", "name", "accounttype", "roleid", "rolename", "roletype", "domain", "domainid",
                "domainpath", "state", "created", "user"):
        assert key in a, f"account lacks {key}: {a}"
    assert UUID_RE.match(a["id"]) and UUID_RE.match(a["domainid"]) and UUID_RE.match(a["roleid"]), a
    assert is_int(a["accounttype"]), a
    assert a["roletype"] in ("Admin", "DomainAdmin", "User", "ResourceAdmin"), a
    assert a["state"] in ("enabled", "disabled", "locked"), a
    assert DATE_RE.match(a["created"]), a["created"]
    assert isinstance(a["user"], list)
    if "isdefault" in a:
        assert isinstance(a["isdefault"], bool)
    for u in a["user"]:
        check_user(u, account=a["name"])
    assert "secretkey" not in json.dumps(a)


def check_domain(d):
    for key in ("id", "name", "path", "level", "haschild", "state"):
        assert key in d, f"domain lacks {key}: {d}"
    assert UUID_RE.match(d["id"]), d
    assert is_int(d["level"]), d
    assert isinstance(d["haschild"], bool), d
    assert d["state"] == "Active", d
    if d["level"] == 0:
        assert d["name"] == "ROOT" and d["path"] == "ROOT", d
        assert "parentdomainid" not in d
    else:
        assert UUID_RE.match(d["parentdomainid"]), d
        assert isinstance(d["parentdomainname"], str), d
        assert d["path"].startswith("ROOT/"), d


# --------------------------------------------------------------------------- domains


def test_listdomains_root(client):
    res = client.listDomains(listall=True)
    assert is_int(res["count"]) and res["count"] >= 1
    for d in res["domain"]:
        check_domain(d)
    roots = [d for d in res["domain"] if d["level"] == 0]
    assert len(roots) == 1 and roots[0]["name"] == "ROOT"


def test_createdomain_shape_and_children(client):
    root = [d for d in client.listDomains(listall=True)["domain"] if d["level"] == 0][0]
    name = unique("dom")
    d = client.createDomain(name=name)["domain"]
    check_domain(d)
    assert d["name"] == name and d["path"] == f"ROOT/{name}" and d["level"] == 1
    assert d["parentdomainid"] == root["id"] and d["parentdomainname"] == "ROOT"
    assert d["haschild"] is False

    child = client.createDomain(name="sub", parentdomainid=d["id"])["domain"]
    check_domain(child)
    assert child["path"] == f"ROOT/{name}/sub" and child["level"] == 2
    assert child["parentdomainid"] == d["id"]

    [again] = client.listDomains(id=d["id"])["domain"]
    assert again["haschild"] is True

    listed = client.listDomains(name=name, listall=True)
    assert listed["count"] == 1 and listed["domain"][0]["id"] == d["id"]


def test_update_and_delete_domain(admin):
    d = admin.createDomain(name=unique("upd"))["domain"]
    newname = unique("renamed")
    u = admin.updateDomain(id=d["id"], name=newname)["domain"]
    assert u["name"] == newname and u["path"] == f"ROOT/{newname}"
    acct = new_account(admin, domainid=d["id"])
    # deleteDomain is async; with cleanup=true it removes the accounts in it
    sub = admin.deleteDomain(id=d["id"], cleanup=True)
    assert set(sub) == {"jobid"}, sub
    job = wait_job(admin, sub["jobid"])
    assert job["jobstatus"] == 1 and job["jobresultcode"] == 0, job
    assert job["jobresult"] == {"success": True}
    assert admin.listDomains(name=newname, listall=True) == {}
    assert admin.listAccounts(name=acct["name"], listall=True) == {}


# --------------------------------------------------------------------------- accounts


def test_createaccount_shape(client):
    name = unique("shape")
    a = new_account(client, username=name, firstname="Ada", lastname="Lovelace", email=f"{name}@example.org")
    check_account(a)
    assert a["name"] == name, "account name defaults to username"
    assert a["accounttype"] == 0 and a["roletype"] == "User"
    assert a["domain"] == "ROOT" and a["domainpath"] == "ROOT"
    assert a["state"] == "enabled"
    [u] = a["user"]
    assert u["username"] == name and u["firstname"] == "Ada" and u["lastname"] == "Lovelace"
    assert u["email"] == f"{name}@example.org"
    assert u["accountid"] == a["id"] and u["accounttype"] == 0


def test_createaccount_domain_admin_in_domain(admin):
    d = admin.createDomain(name=unique("da"))["domain"]
    a = new_account(admin, accounttype=2, domainid=d["id"], account=unique("named"))
    check_account(a)
    assert a["accounttype"] == 2 and a["roletype"] == "DomainAdmin"
    assert a["domainid"] == d["id"] and a["domain"] == d["name"]
    assert a["name"] != a["user"][0]["username"], "account= names the account"


def test_listaccounts_shape_and_filters(client, admin):
    a = new_account(admin)
    res = client.listAccounts(listall=True)
    assert is_int(res["count"]) and res["count"] >= 2
    names = {x["name"] for x in res["account"]}
    assert {"admin", a["name"]} <= names
    for x in res["account"]:
        check_account(x)
    by_id = client.listAccounts(id=a["id"])
    assert by_id["count"] == 1 and by_id["account"][0]["id"] == a["id"]
    by_name = client.listAccounts(name=a["name"], listall=True)
    assert [x["id"] for x in by_name["account"]] == [a["id"]]
    kw = client.listAccounts(keyword=a["name"][5:], listall=True)
    assert a["id"] in [x["id"] for x in kw["account"]]


def test_listaccounts_empty_shape(admin_keys, admin):
    r = admin_keys.raw("listAccounts", name=unique("nobody"), listall="true")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.json() == {"listaccountsresponse": {}}
    assert admin.listAccounts(name=unique("nobody"), listall=True) == {}
    assert admin.listAccounts(name=unique("nobody"), listall=True, fetch_list=True) == []


def test_paging_and_count(admin, admin_post):
    d = admin.createDomain(name=unique("pg"))["domain"]
    created = {new_account(admin, domainid=d["id"])["id"] for _ in range(5)}
    for client in (admin, admin_post):
        p1 = client.listAccounts(domainid=d["id"], page=1, pagesize=2)
        p2 = client.listAccounts(domainid=d["id"], page=2, pagesize=2)
        p3 = client.listAccounts(domainid=d["id"], page=3, pagesize=2)
        assert p1["count"] == 5 and p2["count"] == 5 and p3["count"] == 5, "count is the total, not the page length"
        assert len(p1["account"]) == 2 and len(p2["account"]) == 2 and len(p3["account"]) == 1
        seen = [x["id"] for x in p1["account"] + p2["account"] + p3["account"]]
        assert len(set(seen)) == 5 and set(seen) == created
        p4 = client.listAccounts(domainid=d["id"], page=4, pagesize=2)
        assert not p4.get("account"), p4
    # cs fetch_list walks the pages itself
    allof = admin.listAccounts(domainid=d["id"], fetch_list=True)
    assert {x["id"] for x in allof} == created


def test_page_requires_pagesize(admin_keys):
    r = admin_keys.raw("listAccounts", page="1")
    assert r.status_code == 431, r.text
    assert r.json()["listaccountsresponse"]["errorcode"] == 431


def test_account_lifecycle(admin):
    a = new_account(admin)
    newname = unique("ren")
    u = admin.updateAccount(id=a["id"], newname=newname)["account"]
    assert u["name"] == newname and u["id"] == a["id"]

    sub = admin.disableAccount(id=a["id"], lock=False)
    assert set(sub) == {"jobid"}, sub
    job = wait_job(admin, sub["jobid"])
    assert job["jobstatus"] == 1 and job["jobresultcode"] == 0 and job["jobresulttype"] == "object", job
    assert job["jobresult"]["account"]["state"] == "disabled"
    assert admin.listAccounts(id=a["id"])["account"][0]["state"] == "disabled"

    en = admin.enableAccount(id=a["id"])["account"]
    assert en["state"] == "enabled"

    lk = admin.lockAccount(account=newname, domainid=a["domainid"])["account"]
    assert lk["state"] == "locked"
    admin.enableAccount(id=a["id"])


# --------------------------------------------------------------------------- users


def test_listusers_shape(client, admin):
    a = new_account(admin)
    res = client.listUsers(listall=True)
    assert is_int(res["count"]) and res["count"] == len(res["user"])
    for u in res["user"]:
        check_user(u)
    mine = client.listUsers(account=a["name"], domainid=a["domainid"])
    assert [u["username"] for u in mine["user"]] == [a["user"][0]["username"]]
    by_id = client.listUsers(id=a["user"][0]["id"])
    assert by_id["count"] == 1
    assert "secretkey" not in json.dumps(res)


def test_user_lifecycle(admin, admin_keys):
    a = new_account(admin)
    uname = unique("usr")
    u = admin.createUser(account=a["name"], domainid=a["domainid"], username=uname, password="Pw-12345",
                         email=f"{uname}@example.org", firstname="U", lastname="Ser")["user"]
    check_user(u, account=a["name"])
    assert u["username"] == uname and u["accountid"] == a["id"]

    upd = admin.updateUser(id=u["id"], firstname="Renamed", email=f"new-{uname}@example.org")["user"]
    assert upd["firstname"] == "Renamed" and upd["email"] == f"new-{uname}@example.org"

    keys = admin.registerUserKeys(id=u["id"])["userkeys"]
    assert keys["apikey"] and keys["secretkey"]
    got = admin.getUserKeys(id=u["id"])["userkeys"]
    assert got["apikey"] == keys["apikey"] and got["secretkey"] == keys["secretkey"]

    by_key = admin.getUser(userapikey=keys["apikey"])["user"]
    assert by_key["id"] == u["id"] and by_key["account"] == a["name"]
    assert "secretkey" not in by_key

    # the new user's keys work
    me = cs.CloudStack(endpoint=admin_keys.endpoint, key=keys["apikey"], secret=keys["secretkey"])
    assert [x["id"] for x in me.listAccounts()["account"]] == [a["id"]]

    sub = admin.disableUser(id=u["id"])
    job = wait_job(admin, sub["jobid"])
    assert job["jobstatus"] == 1 and job["jobresult"]["user"]["state"] == "disabled", job
    with pytest.raises(cs.CloudStackApiException) as e:
        me.listAccounts()
    assert error_of(e.value)[0] == 401, "a disabled user's keys stop working"

    assert admin.enableUser(id=u["id"])["user"]["state"] == "enabled"
    assert admin.deleteUser(id=u["id"]) == {"success": True}
    assert admin.listUsers(username=uname, listall=True) == {}
