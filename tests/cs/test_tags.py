"""Resource tags and resource details with the `cs` client, the way Ansible's `ensure_tags` and
Terraform's `tags.go` drive them: createTags / deleteTags (async, polled), listTags, `tags` in
listVirtualMachines / listNetworks answers, `tags[N]` filters, tenant scoping, cleanup when a VM
is expunged, addResourceDetail / listResourceDetails / removeResourceDetail. Every client here
refuses a 5xx answer (see cloud.py).
"""

import pytest

import cloud
from cloud import Api
from conftest import Creds, new_account, run_cs_cli, unique


class Env:
    def __init__(self, api: Api):
        self.api = api
        self.zone = cloud.bring_up(api, "tagzone", edge=True, hosts=1)
        cloud.register_template(api, self.zone, "tag-systemvm", direct=True, routing=True)
        api.config("router.template.simulator", "tag-systemvm", zoneid=self.zone.id)
        self.template = cloud.register_template(api, self.zone, "tag-guest", direct=True)
        offering = cloud.configdrive_offering(api, "TagCD")
        self.net = cloud.shared_network(api, self.zone, "tag-net", offering, 410, 41)

    def vm(self, api: Api | None = None, **extra) -> dict:
        j = cloud.deploy(api or self.api, self.zone, self.template, self.net["id"], **extra)
        assert j["jobstatus"] == 1, j
        return j["jobresult"]["virtualmachine"]


@pytest.fixture(scope="module")
def env(module_admin) -> Env:
    return Env(Api(module_admin))


def user_api(env: Env) -> Api:
    """A new plain user in ROOT with API keys."""
    acct = new_account(env.api.cs, username=unique("tagger"))
    u = acct["user"][0]
    keys = env.api.cs.registerUserKeys(id=u["id"])["userkeys"]
    creds = Creds(endpoint=env.api.creds.endpoint, key=keys["apikey"], secret=keys["secretkey"],
                  userid=u["id"], username=u["username"], accountid=acct["id"], account=acct["name"])
    return Api(creds)


def kv(tags: list[dict]) -> set[tuple[str, str]]:
    return {(t["key"], t["value"]) for t in tags}


def vm_tags(api: Api, vmid: str) -> list[dict]:
    return api.one("listVirtualMachines", "virtualmachine", id=vmid)["tags"]


@pytest.mark.parametrize("post", [False, True])
def test_create_list_and_delete_tags_on_a_vm(env, post):
    api = env.api
    vm = env.vm()
    r = api.raw("createTags", post=post, resourcetype="UserVm", resourceids=vm["id"],
                tags=[{"key": "env", "value": "prod"}, {"key": "tier", "value": "web"}])
    assert set(r) == {"jobid"}, f"createTags is async: {r}"
    j = api.wait(r["jobid"])
    assert j["jobstatus"] == 1 and j["jobresult"] == {"success": True}, j

    tags = vm_tags(api, vm["id"])
    assert kv(tags) == {("env", "prod"), ("tier", "web")}
    for t in tags:
        assert t["resourcetype"] == "UserVm" and t["resourceid"] == vm["id"], t
        assert t["account"] == "admin" and t["domain"] == "ROOT" and t["domainid"], t
    listed = api.items("listTags", "tag", resourceid=vm["id"], resourcetype="UserVm")
    assert kv(listed) == kv(tags)

    # filter: a VM with any of the given tags matches, as in CloudStack
    found = api.items("listVirtualMachines", "virtualmachine", tags=[{"key": "env", "value": "prod"},
                                                                     {"key": "tier", "value": "nope"}])
    assert vm["id"] in {v["id"] for v in found}
    none = api.items("listVirtualMachines", "virtualmachine", tags=[{"key": "env", "value": "nope"},
                                                                    {"key": "tier", "value": "nope"}])
    assert vm["id"] not in {v["id"] for v in none}

    api.call("deleteTags", post=post, resourcetype="UserVm", resourceids=vm["id"], tags=[{"key": "tier"}])
    assert kv(vm_tags(api, vm["id"])) == {("env", "prod")}
    api.call("deleteTags", post=post, resourcetype="UserVm", resourceids=vm["id"])
    assert vm_tags(api, vm["id"]) == []


def test_ansible_ensure_tags_round_trip(env):
    """Ansible deletes the tags it does not want by passing the listed tag objects back
    (every field as tags[N].field), creates the missing ones, then reads listTags."""
    api = env.api
    net = env.net
    api.call("createTags", resourcetype="Network", resourceids=net["id"], tags=[{"key": "owner", "value": "ops"}])
    resource = api.one("listNetworks", "network", id=net["id"])
    assert "tags" in resource and kv(resource["tags"]) == {("owner", "ops")}
    wanted = [{"key": "owner", "value": "platform"}]
    stale = [t for t in resource["tags"] if {"key": t["key"], "value": t["value"]} not in wanted]
    api.call("deleteTags", resourcetype="Network", resourceids=net["id"], tags=stale)
    api.call("createTags", resourcetype="Network", resourceids=net["id"], tags=wanted)
    listed = api.items("listTags", "tag", resourceid=net["id"], resourcetype="Network")
    assert kv(listed) == {("owner", "platform")}
    found = api.items("listNetworks", "network", tags=[{"key": "owner", "value": "platform"}])
    assert [n["id"] for n in found] == [net["id"]]
    api.call("deleteTags", resourcetype="Network", resourceids=net["id"])


def test_cs_cli_polls_tag_jobs(env, module_admin):
    vm = env.vm()
    proc, out = run_cs_cli(module_admin, "createTags", "resourcetype=UserVm", f"resourceids={vm['id']}",
                           "tags[0].key=cli", "tags[0].value=yes")
    assert proc.returncode == 0, proc.stderr
    assert out == {"success": True}, out
    proc, out = run_cs_cli(module_admin, "listTags", f"resourceid={vm['id']}")
    assert proc.returncode == 0, proc.stderr
    assert kv(out["tag"]) == {("cli", "yes")}


def test_refusals_are_431_with_a_reason(env):
    api = env.api
    vm = env.vm()
    api.call("createTags", resourcetype="UserVm", resourceids=vm["id"], tags=[{"key": "env", "value": "a"}])
    e = api.error("createTags", resourcetype="UserVm", resourceids=vm["id"], tags=[{"key": "ENV", "value": "b"}])
    assert f"already on UserVm with id {vm['id']}" in e.text, e
    e = api.error("createTags", resourcetype="Bogus", resourceids=vm["id"], tags=[{"key": "k", "value": "v"}])
    assert "Invalid resource type Bogus" in e.text and "UserVm" in e.text, e
    e = api.error("createTags", resourcetype="VMSnapshot", resourceids=vm["id"], tags=[{"key": "k", "value": "v"}])
    assert "not supported by ferrostack" in e.text, e
    ghost = "11111111-2222-4333-8444-555555555555"
    e = api.error("createTags", resourcetype="UserVm", resourceids=ghost, tags=[{"key": "k", "value": "v"}])
    assert f"Unable to find resource by id {ghost} and type UserVm" in e.text, e
    e = api.error("createTags", resourcetype="UserVm", resourceids=vm["id"], tags=[{"key": "k", "value": ""}])
    assert "either null or empty" in e.text, e
    e = api.error("listVirtualMachines", tags=[{"key": "env"}])
    assert "No value is passed in for key env" in e.text, e


def test_users_tag_only_their_own_resources(env):
    admin_vm = env.vm()
    env.api.call("createTags", resourcetype="UserVm", resourceids=admin_vm["id"],
                 tags=[{"key": "secret", "value": "admin"}])
    user = user_api(env)
    mine = env.vm(api=user)
    user.call("createTags", resourcetype="UserVm", resourceids=mine["id"], tags=[{"key": "team", "value": "blue"}])
    listed = user.items("listTags", "tag", listall=True)
    assert kv(listed) == {("team", "blue")}, listed
    assert listed[0]["account"] == user.creds.account
    e = user.error("createTags", resourcetype="UserVm", resourceids=admin_vm["id"],
                   tags=[{"key": "x", "value": "y"}])
    assert "Unable to find resource" in e.text, e
    user.error("deleteTags", resourcetype="UserVm", resourceids=admin_vm["id"])
    assert user.items("listTags", "tag", resourceid=admin_vm["id"]) == []
    assert kv(vm_tags(env.api, admin_vm["id"])) == {("secret", "admin")}


def test_expunged_vm_leaves_no_tags_or_details(env):
    api = env.api
    vm = env.vm()
    api.call("createTags", resourcetype="UserVm", resourceids=vm["id"], tags=[{"key": "gone", "value": "soon"}])
    api.call("addResourceDetail", resourcetype="UserVm", resourceid=vm["id"], details=[{"key": "d", "value": "1"}])
    api.call("destroyVirtualMachine", id=vm["id"], expunge=True)
    assert api.items("listTags", "tag", resourceid=vm["id"], listall=True) == []
    left = api.raw("listResourceDetails", resourcetype="UserVm", key="d", value="1",
                   listall=True).get("resourcedetail", [])
    assert [d for d in left if d["resourceid"] == vm["id"]] == []


def test_resource_details(env):
    api = env.api
    vm = env.vm()
    api.call("addResourceDetail", resourcetype="UserVm", resourceid=vm["id"],
             details=[{"key": "role", "value": "db"}, {"key": "rack", "value": "r7"}])
    api.call("addResourceDetail", resourcetype="UserVm", resourceid=vm["id"],
             details=[{"key": "hidden", "value": "h"}], fordisplay=False)
    got = api.items("listResourceDetails", "resourcedetail", resourcetype="UserVm", resourceid=vm["id"])
    assert {(d["key"], d["value"], d["fordisplay"]) for d in got} == {
        ("role", "db", True), ("rack", "r7", True), ("hidden", "h", False)}
    assert all(d["resourceid"] == vm["id"] and d["resourcetype"] == "UserVm" for d in got)
    assert api.one("listVirtualMachines", "virtualmachine", id=vm["id"])["details"]["role"] == "db"
    api.call("removeResourceDetail", resourcetype="UserVm", resourceid=vm["id"], key="rack")
    got = api.items("listResourceDetails", "resourcedetail", resourcetype="UserVm", resourceid=vm["id"])
    assert {d["key"] for d in got} == {"role", "hidden"}
    e = api.error("listResourceDetails", resourcetype="UserVm")
    assert "Insufficient parameters" in e.text, e
    e = api.error("addResourceDetail", resourcetype="Account", resourceid=vm["id"],
                  details=[{"key": "k", "value": "v"}])
    assert "doesn't support resource details" in e.text, e
    api.call("removeResourceDetail", resourcetype="UserVm", resourceid=vm["id"])
    assert api.items("listResourceDetails", "resourcedetail", resourcetype="UserVm", resourceid=vm["id"]) == []


def test_list_apis_declares_the_commands(env):
    apis = {a["name"]: a for a in env.api.raw("listApis")["api"]}
    for name, is_async in [("createTags", True), ("deleteTags", True), ("listTags", False),
                           ("addResourceDetail", True), ("removeResourceDetail", True),
                           ("listResourceDetails", False)]:
        assert apis[name]["isasync"] is is_async, apis[name]
    params = {p["name"]: p for p in apis["createTags"]["params"]}
    assert params["tags"]["type"] == "map" and params["tags"]["required"] is True
    assert params["resourceids"]["type"] == "list"
    assert "tags" in {p["name"] for p in apis["listVirtualMachines"]["params"]}
