"""Tenant isolation: every list and action is scoped to the caller's domain/account by role."""


import cs
import pytest
import requests

from conftest import ADMIN_PASSWORD, ADMIN_USER, Creds, error_of, login, new_account, unique, wait_job


class Tenants:
    pass


@pytest.fixture(scope="module")
def tenants(admin, admin_keys):
    """Domain D (with subdomain D/sub), a DomainAdmin and a User account in D, a User in D/sub,
    and an outsider account in another domain; keys for the tenant users."""
    t = Tenants()
    t.d = admin.createDomain(name=unique("tenant"))["domain"]
    t.sub = admin.createDomain(name="sub", parentdomainid=t.d["id"])["domain"]
    t.other = admin.createDomain(name=unique("other"))["domain"]
    t.dadmin = new_account(admin, accounttype=2, domainid=t.d["id"], password="Dadmin-pw-1")
    t.user = new_account(admin, accounttype=0, domainid=t.d["id"], password="User-pw-1")
    t.subuser = new_account(admin, accounttype=0, domainid=t.sub["id"])
    t.outsider = new_account(admin, accounttype=0, domainid=t.other["id"])
    t.root_user = new_account(admin, accounttype=0)

    def creds(acct):
        u = acct["user"][0]
        keys = admin.registerUserKeys(id=u["id"])["userkeys"]
        return Creds(endpoint=admin_keys.endpoint, key=keys["apikey"], secret=keys["secretkey"], userid=u["id"],
                     username=u["username"], accountid=acct["id"], account=acct["name"], domainid=acct["domainid"])

    t.dadmin_creds = creds(t.dadmin)
    t.user_creds = creds(t.user)
    t.outsider_creds = creds(t.outsider)
    # give the outsider and the user something of their own in the event log (USER.LOGIN)
    login(admin_keys.endpoint, t.user["user"][0]["username"], "User-pw-1", domain=f"/{t.d['name']}/")
    login(admin_keys.endpoint, t.outsider["user"][0]["username"], "Secret-pw-1", domain=f"/{t.other['name']}/")
    admin.updateUser(id=t.outsider["user"][0]["id"], firstname="Outsider")
    return t


def ids(items):
    return {x["id"] for x in items}


@pytest.mark.parametrize("method", ["get", "post"])
def test_user_sees_only_own_account(tenants, method):
    c = tenants.user_creds.client(method)
    for kw in ({}, {"listall": True}, {"listall": True, "domainid": tenants.d["id"], "isrecursive": True}):
        try:
            res = c.listAccounts(**kw)
        except cs.CloudStackApiException as e:  # asking for a domain may also be refused
            assert kw.get("domainid") and error_of(e)[0] in (431, 531), e
            continue
        assert [a["id"] for a in res["account"]] == [tenants.user["id"]], (kw, res)
        assert res["count"] == 1
    users = c.listUsers(listall=True)
    assert {u["accountid"] for u in users["user"]} == {tenants.user["id"]}, users
    try:
        res = c.listAccounts(id=tenants.outsider["id"])
    except cs.CloudStackApiException as e:
        assert error_of(e)[0] in (431, 531), e
    else:
        assert tenants.outsider["id"] not in ids(res.get("account", [])), res


def test_user_sees_only_own_events(tenants, admin):
    c = tenants.user_creds.client()
    res = c.listEvents(listall=True)
    evs = res.get("event", [])
    assert evs, "the user's own actions (key registration, create) produce events it can see"
    accounts = {e["account"] for e in evs}
    assert accounts == {tenants.user["name"]}, f"user sees events of {accounts}"
    assert all(e["domainid"] == tenants.d["id"] for e in evs)
    # root admin sees them all
    all_accounts = {e["account"] for e in admin.listEvents(listall=True, page=1, pagesize=500)["event"]}
    assert {tenants.user["name"], "admin"} <= all_accounts


def test_user_cannot_list_other_domains(tenants):
    c = tenants.user_creds.client()
    doms = c.listDomains(listall=True).get("domain", [])
    assert ids(doms) <= {tenants.d["id"]}, doms


def test_domain_admin_sees_only_its_subtree(tenants):
    c = tenants.dadmin_creds.client()
    res = c.listAccounts(listall=True)
    seen = ids(res["account"])
    assert {tenants.dadmin["id"], tenants.user["id"], tenants.subuser["id"]} <= seen, seen
    assert tenants.outsider["id"] not in seen and tenants.root_user["id"] not in seen
    names = {a["name"] for a in res["account"]}
    assert "admin" not in names and "system" not in names
    assert all(a["domainpath"].startswith(tenants.d["path"]) for a in res["account"]), res

    users = c.listUsers(listall=True)["user"]
    assert {u["domainid"] for u in users} <= {tenants.d["id"], tenants.sub["id"]}
    assert "admin" not in {u["username"] for u in users}

    doms = c.listDomains(listall=True)["domain"]
    assert ids(doms) == {tenants.d["id"], tenants.sub["id"]}, doms

    evs = c.listEvents(listall=True).get("event", [])
    assert {e["domainid"] for e in evs} <= {tenants.d["id"], tenants.sub["id"]}, {e["domain"] for e in evs}

    for cmd, key in ((c.listAccounts, "account"), (c.listUsers, "user")):
        try:
            res = cmd(domainid=tenants.other["id"], listall=True)
        except cs.CloudStackApiException as e:
            assert error_of(e)[0] in (431, 531), e
        else:
            assert not res.get(key), f"domain admin of D sees another domain: {res}"


def test_domain_admin_cannot_read_root_admin_keys(tenants, admin_keys):
    c = tenants.dadmin_creds.client()
    r = tenants.dadmin_creds.raw("getUserKeys", id=admin_keys.userid)
    assert r.status_code in (401, 431, 531), r.text
    assert admin_keys.secret not in r.text and "secretkey" not in r.text
    with pytest.raises(cs.CloudStackApiException) as e:
        c.registerUserKeys(id=admin_keys.userid)
    assert error_of(e.value)[0] in (401, 431, 531)
    assert "secretkey" not in e.value.response.text
    # the root admin's keys still work (were not replaced)
    assert admin_keys.client().listCapabilities()["capability"]


def test_domain_admin_cannot_change_root_admin_password(tenants, server, admin_keys):
    c = tenants.dadmin_creds.client()
    with pytest.raises(cs.CloudStackApiException) as e:
        c.updateUser(id=admin_keys.userid, password="hijacked-123")
    assert error_of(e.value)[0] in (401, 431, 531)
    login(server.endpoint, ADMIN_USER, ADMIN_PASSWORD)  # still the old password
    r = requests.post(server.endpoint, data={"command": "login", "username": ADMIN_USER, "password": "hijacked-123",
                                             "domain": "/", "response": "json"}, timeout=30)
    assert r.status_code == 531


def test_domain_admin_can_manage_own_domain(tenants):
    c = tenants.dadmin_creds.client()
    a = new_account(c, domainid=tenants.sub["id"])
    assert a["domainid"] == tenants.sub["id"]
    keys = c.getUserKeys(id=tenants.user["user"][0]["id"])["userkeys"]
    assert keys["apikey"] == tenants.user_creds.key
    with pytest.raises(cs.CloudStackApiException) as e:
        new_account(c, domainid=tenants.other["id"])
    assert error_of(e.value)[0] in (431, 531)
    with pytest.raises(cs.CloudStackApiException) as e:
        new_account(c, accounttype=1, domainid=tenants.d["id"])
    assert error_of(e.value)[0] in (431, 531)


def test_user_cannot_act_on_others(tenants, admin, admin_keys):
    c = tenants.user_creds.client()
    for call in (
        lambda: c.getUserKeys(id=tenants.outsider["user"][0]["id"]),
        lambda: c.registerUserKeys(id=tenants.dadmin["user"][0]["id"]),
        lambda: c.updateUser(id=tenants.outsider["user"][0]["id"], firstname="pwned"),
        lambda: c.createDomain(name=unique("nope")),
        lambda: new_account(c, domainid=tenants.d["id"]),
    ):
        with pytest.raises(cs.CloudStackApiException) as e:
            call()
        assert error_of(e.value)[0] in (401, 431, 531), e.value
        assert "secretkey" not in e.value.response.text
    # an async action on someone else's account is refused at submission or fails as a job
    try:
        sub = c.deleteAccount(id=tenants.outsider["id"])
    except cs.CloudStackApiException as e:
        assert error_of(e)[0] in (401, 431, 531), e
    else:
        job = wait_job(admin, sub["jobid"])
        assert job["jobstatus"] == 2, f"user deleted another tenant's account: {job}"
    assert admin.listAccounts(id=tenants.outsider["id"])["count"] == 1
    assert admin.listUsers(id=tenants.outsider["user"][0]["id"])["user"][0]["firstname"] != "pwned"
    # the other users' keys are unchanged
    assert tenants.dadmin_creds.client().listDomains(listall=True)["count"] >= 1
    # its own keys are fine
    own = c.getUserKeys(id=tenants.user_creds.userid)["userkeys"]
    assert own["apikey"] == tenants.user_creds.key


def test_lists_never_contain_secretkey(tenants, admin_keys):
    for creds in (admin_keys, tenants.dadmin_creds, tenants.user_creds):
        for cmd in ("listAccounts", "listUsers", "listEvents", "listAsyncJobs", "listDomains"):
            r = creds.raw(cmd, listall="true")
            assert r.status_code == 200, (cmd, r.text)
            assert "secretkey" not in r.text.lower(), (cmd, creds.username)
            assert creds.secret not in r.text and admin_keys.secret not in r.text
            assert not _keys_named(r.json(), {"password", "secretkey"}), cmd


def _keys_named(obj, names):
    if isinstance(obj, dict):
        return [k for k in obj if k.lower() in names] + [x for v in obj.values() for x in _keys_named(v, names)]
    if isinstance(obj, list):
        return [x for v in obj for x in _keys_named(v, names)]
    return []


def test_listapis_is_filtered_by_role(tenants, admin):
    everything = {a["name"] for a in admin.listApis()["api"]}
    user_apis = {a["name"] for a in tenants.user_creds.client().listApis()["api"]}
    dadmin_apis = {a["name"] for a in tenants.dadmin_creds.client().listApis()["api"]}
    assert user_apis < everything and dadmin_apis <= everything
    assert {"listAccounts", "listUsers", "queryAsyncJobResult", "listEvents"} <= user_apis
    assert "createDomain" not in user_apis and "createAccount" not in user_apis
    assert "createAccount" in dadmin_apis
