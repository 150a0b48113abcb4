"""listApis / listCapabilities (reference §6.1, §6.2)."""

import json

import pytest

MILESTONE_COMMANDS = {
    # name: isasync
    "listApis": False,
    "listCapabilities": False,
    "createDomain": False,
    "listDomains": False,
    "updateDomain": False,
    "deleteDomain": True,
    "createAccount": False,
    "listAccounts": False,
    "updateAccount": False,
    "enableAccount": False,
    "disableAccount": True,
    "lockAccount": False,
    "deleteAccount": True,
    "createUser": False,
    "listUsers": False,
    "getUser": False,
    "updateUser": False,
    "enableUser": False,
    "disableUser": True,
    "deleteUser": False,
    "registerUserKeys": False,
    "getUserKeys": False,
    "listRoles": False,
    "queryAsyncJobResult": False,
    "listAsyncJobs": False,
    "listEvents": False,
    "listEventTypes": False,
}

REQUIRED_PARAMS = {
    "createAccount": {"email", "firstname", "lastname", "password", "username"},
    "createDomain": {"name"},
    "deleteAccount": {"id"},
    "registerUserKeys": {"id"},
    "getUserKeys": {"id"},
    "createUser": {"account", "email", "firstname", "lastname", "password", "username"},
}

PARAM_TYPES = {"boolean", "date", "float", "double", "integer", "short", "list", "long", "object", "map", "string", "uuid", "tzdate"}


def test_listapis_shape(client):
    res = client.listApis()
    assert isinstance(res["count"], int)
    apis = res["api"]
    assert res["count"] == len(apis)
    names = [a["name"] for a in apis]
    assert len(names) == len(set(names)), "duplicate API names"
    for api in apis:
        where = api.get("name")
        assert isinstance(api["name"], str) and api["name"], api
        assert isinstance(api["description"], str), where
        assert isinstance(api["isasync"], bool), where
        assert isinstance(api["params"], list), where
        assert isinstance(api["response"], list), where
        for key in ("related", "since", "type"):
            if key in api:
                assert isinstance(api[key], str), (where, key, api[key])
        for p in api["params"]:
            assert isinstance(p["name"], str) and p["name"], (where, p)
            assert isinstance(p["description"], str), (where, p)
            assert p["type"] in PARAM_TYPES, (where, p)
            assert isinstance(p["length"], int) and not isinstance(p["length"], bool), (where, p)
            assert isinstance(p["required"], bool), (where, p)
            for key in ("related", "since"):
                if key in p:
                    assert isinstance(p[key], str), (where, p)
        for r in api["response"]:
            assert isinstance(r, dict), (where, r)
            if r:
                assert isinstance(r["name"], str), (where, r)
                assert isinstance(r.get("description", ""), str), (where, r)


def test_listapis_lists_every_milestone_command(admin):
    apis = {a["name"]: a for a in admin.listApis()["api"]}
    missing = sorted(set(MILESTONE_COMMANDS) - set(apis))
    assert not missing, f"listApis does not advertise: {missing}"
    wrong_async = {n: apis[n]["isasync"] for n, a in MILESTONE_COMMANDS.items() if apis[n]["isasync"] != a}
    assert not wrong_async, f"wrong isasync: {wrong_async}"
    for cmd, required in REQUIRED_PARAMS.items():
        got = {p["name"] for p in apis[cmd]["params"] if p["required"]}
        assert got == required, f"{cmd}: required params {sorted(got)}, expected {sorted(required)}"
    # common list params
    for cmd in ("listAccounts", "listUsers", "listDomains", "listEvents", "listAsyncJobs"):
        params = {p["name"]: p for p in apis[cmd]["params"]}
        for name, typ in (("page", "integer"), ("pagesize", "integer"), ("keyword", "string")):
            assert name in params, f"{cmd} lacks {name}"
            assert params[name]["type"] == typ and params[name]["required"] is False, (cmd, params[name])


def test_listapis_advertises_login_and_logout(admin):
    """CloudStack's discovery lists the authenticator commands too (cmk/cloudmonkey caches contain them)."""
    names = {a["name"] for a in admin.listApis()["api"]}
    assert {"login", "logout"} <= names


def test_listapis_by_name(admin):
    res = admin.listApis(name="createAccount")
    assert res["count"] == 1
    [api] = res["api"]
    assert api["name"] == "createAccount"
    assert api["isasync"] is False
    resp_names = {r.get("name") for r in api["response"]}
    assert {"id", "name", "accounttype"} <= resp_names


@pytest.mark.parametrize("method", ["get", "post"])
def test_listapis_raw_body_is_single_line_json(admin_keys, method):
    r = admin_keys.raw("listApis", method=method)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.text.strip()
    assert "\n" not in body and "\r" not in body, "listApis must not be pretty-printed (Marvin reads line 1)"
    data = json.loads(body)
    assert list(data) == ["listapisresponse"]
    inner = data["listapisresponse"]
    assert list(inner)[0] == "count", "count comes first in a list answer"


def test_listcapabilities_shape(client):
    res = client.listCapabilities()
    assert list(res) == ["capability"]
    cap = res["capability"]
    assert isinstance(cap, dict), "capability is an object, not a list"
    assert isinstance(cap["cloudstackversion"], str)
    assert cap["cloudstackversion"].split(".")[0].isdigit()
    for key in ("securitygroupsenabled", "userpublictemplateenabled", "dynamicrolesenabled",
                "allowusercreateprojects", "projectinviterequired", "kvmsnapshotenabled"):
        assert isinstance(cap[key], bool), (key, cap.get(key))
    for key in ("customdiskofferingmaxsize", "customdiskofferingminsize", "defaultuipagesize"):
        if key in cap:
            assert isinstance(cap[key], int) and not isinstance(cap[key], bool), (key, cap[key])
    if "supportELB" in cap:
        assert isinstance(cap["supportELB"], str)


def test_listroles(admin):
    res = admin.listRoles()
    roles = res["role"]
    assert res["count"] == len(roles)
    types = {r["type"] for r in roles}
    assert {"Admin", "DomainAdmin", "User"} <= types
    for r in roles:
        assert r["id"] and r["name"]


def test_listeventtypes(admin):
    res = admin.listEventTypes()
    names = {e["name"] for e in res["eventtype"]}
    assert {"ACCOUNT.CREATE", "ACCOUNT.DELETE", "USER.CREATE", "DOMAIN.CREATE", "USER.LOGIN"} <= names
