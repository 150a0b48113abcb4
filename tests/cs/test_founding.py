"""The founding scenario, with the `cs` client: an edge zone with one simulator host whose system
VM template is the seeded one (registered without direct download); a shared network whose
UserData provider is the VirtualRouter and one whose UserData provider is ConfigDrive.

The first deploy fails with a job error naming the fix and leaves no VM behind; after the fix
(a direct-download routing template named by the zone's router.template.simulator) deploys
succeed on both networks. Then destroyRouter in every state the founding bug hit: each ends
with jobstatus 1 and the router gone, and nothing answers >= 500 except the documented 533/534
job failures (the clients refuse anything else, see cloud.py).
"""

import itertools
import time

import cs as cslib
import pytest

import cloud
from cloud import Api, routers_of, wait_for
from conftest import run_cs_cli

USER_DATA = "#cloud-config\nruncmd:\n  - echo founding\n"
_vlans = itertools.count(210)


class Founding:
    def __init__(self, api: Api, data_dir):
        self.api = api
        self.data_dir = data_dir
        self.edge = cloud.bring_up(api, "edge", edge=True, hosts=1)
        self.host = self.edge.hosts[0]
        self.shared_off = cloud.network_offering(api, "DefaultSharedNetworkOffering")
        self.cd_off = cloud.configdrive_offering(api, "SharedUserDataOnConfigDrive")
        self.guest = cloud.register_template(api, self.edge, "guest-dd", direct=True)
        self.vr_net = cloud.shared_network(api, self.edge, "vr-net", self.shared_off, 201, 1)
        self.cd_net = cloud.shared_network(api, self.edge, "cd-net", self.cd_off, 202, 2)
        self.msg_net = cloud.shared_network(api, self.edge, "msg-net", self.shared_off, 203, 3)
        seeded = [t for t in api.items("listTemplates", "template", templatefilter="all", zoneid=self.edge.id)
                  if t["templatetype"] == "SYSTEM"]
        assert seeded and seeded[0]["directdownload"] is False, f"premise: seeded system template {seeded}"
        self.seeded_template = seeded[0]
        # 1. The first deploy, before any fix.
        self.first_deploy = cloud.deploy(api, self.edge, self.guest, self.vr_net["id"], name="web1")
        self.first_vm = self.first_deploy["jobinstanceid"]
        self.never_started_listing = routers_of(api, self.vr_net["id"])
        self.never_started = [r["id"] for r in self.never_started_listing]
        self.msg_deploy = cloud.deploy(api, self.edge, self.guest, self.msg_net["id"], name="web0")
        self._never_started_destroyed = False
        # 2. The fix the error names.
        self.router_template = cloud.register_template(api, self.edge, "edge-systemvm", direct=True, routing=True)
        api.config("router.template.simulator", "edge-systemvm", zoneid=self.edge.id)

    def network(self, offering: str | None = None) -> dict:
        v = next(_vlans)
        return cloud.shared_network(self.api, self.edge, f"net-{v}", offering or self.shared_off, v, v - 150)

    def running_router(self, network: dict) -> dict:
        """restartNetwork brings the network's router up; answer it (Running)."""
        j = self.api.job("restartNetwork", id=network["id"])
        assert j["jobstatus"] == 1, f"restartNetwork: {j}"
        r = routers_of(self.api, network["id"])
        assert len(r) == 1 and r[0]["state"] == "Running", r
        return r[0]

    def destroy_never_started(self):
        if not self._never_started_destroyed:
            self._never_started_destroyed = True
            for rid in self.never_started:
                destroy_ok(self.api, rid)


def router_gone(api: Api, rid: str) -> bool:
    try:
        return api.raw("listRouters", id=rid, listall=True).get("router", []) == []
    except cslib.CloudStackApiException as e:
        assert e.response.status_code == 431, e
        return True


def destroy_ok(api: Api, rid: str) -> dict:
    j = api.job("destroyRouter", id=rid)
    assert j["jobstatus"] == 1 and j["jobresultcode"] == 0, f"destroyRouter must converge: {j}"
    assert j["jobresult"]["router"]["id"] == rid, j
    assert router_gone(api, rid), f"router {rid} still listed after destroyRouter"
    assert rid not in {r["id"] for r in api.items("listRouters", "router", listall=True)}
    return j


@pytest.fixture(scope="module")
def f(module_admin, module_server) -> Founding:
    return Founding(Api(module_admin), module_server.data_dir)


# --------------------------------------------------------------------------- the scenario


def test_founding_first_deploy_fails_naming_the_fix_and_leaves_no_vm(f):
    j = f.first_deploy
    assert j["jobstatus"] == 2, f"deploy with the seeded non-direct-download system template: {j}"
    err = j["jobresult"]
    assert err["errorcode"] in (431, 533, 534) and j["jobresultcode"] == err["errorcode"], j
    assert "directdownload=true" in err["errortext"] and "router.template.simulator" in err["errortext"], err
    try:
        left = f.api.raw("listVirtualMachines", id=f.first_vm, listall=True).get("virtualmachine", [])
    except cslib.CloudStackApiException as e:
        assert e.response.status_code == 431, e
        left = []
    assert left == [], f"the failed VM is undone: {left}"
    assert not [v for v in f.api.items("listVirtualMachines", "virtualmachine", listall=True) if v["name"] == "web1"
                and v["id"] == f.first_vm]
    assert len(f.never_started) == 1, f"the network's router exists (never started): {f.never_started}"


def test_founding_destroy_router_that_never_started(f):
    [r] = f.never_started_listing
    assert r["state"] == "Stopped" and not r.get("hostid"), f"never started: {r}"
    assert r["templateid"] == f.seeded_template["id"], r
    f.destroy_never_started()


def test_founding_deploy_succeeds_on_both_networks_after_the_fix(f):
    f.destroy_never_started()
    vms = {}
    for net in (f.vr_net, f.cd_net):
        j = cloud.deploy(f.api, f.edge, f.guest, net["id"], userdata=cloud.b64(USER_DATA))
        assert j["jobstatus"] == 1, f"deploy on {net['name']} after the fix: {j}"
        vm = j["jobresult"]["virtualmachine"]
        assert vm["state"] == "Running" and vm["nic"][0]["networkid"] == net["id"], vm
        vms[net["name"]] = vm
        r = routers_of(f.api, net["id"])
        assert len(r) == 1 and r[0]["state"] == "Running", r
        assert r[0]["templateid"] == f.router_template, f"router uses the direct-download template: {r[0]}"
    iso = cloud.configdrive_iso(f.data_dir, vms["cd-net"]["instancename"])
    assert iso.exists(), f"the ConfigDrive VM got its ISO: {iso}"
    assert not cloud.configdrive_iso(f.data_dir, vms["vr-net"]["instancename"]).exists(), "VR user data: no ISO"


def test_founding_restart_network_as_the_error_says(f):
    """The job error ends '…, then restart the network'. Doing exactly that (restartNetwork) must
    bring the network's router up with the new template, and deploys must work again."""
    j = f.msg_deploy
    assert j["jobstatus"] == 2 and "then restart the network" in j["jobresult"]["errortext"], j
    r = f.api.job("restartNetwork", id=f.msg_net["id"])
    assert r["jobstatus"] == 1, f"restartNetwork after the fix, as the error text says: {r}"
    routers = routers_of(f.api, f.msg_net["id"])
    assert [x["state"] for x in routers] == ["Running"], routers
    d = cloud.deploy(f.api, f.edge, f.guest, f.msg_net["id"])
    assert d["jobstatus"] == 1, d


# --------------------------------------------------------------------------- destroyRouter in every state


def test_founding_destroy_running_router_with_cli(f, module_admin):
    r = f.running_router(f.network())
    proc, out = run_cs_cli(module_admin, "destroyRouter", f"id={r['id']}", post=True)
    assert proc.returncode == 0, f"cs --post destroyRouter (polls the job): {proc.stderr}{proc.stdout}"
    assert out["router"]["id"] == r["id"], out
    assert router_gone(f.api, r["id"])


def test_founding_destroy_stopped_router(f):
    r = f.running_router(f.network())
    s = f.api.call("stopRouter", id=r["id"])["router"]
    assert s["state"] == "Stopped", s
    destroy_ok(f.api, r["id"])


def test_founding_destroy_router_whose_network_was_deleted(f):
    """Deleting the guest network (forced) takes its router with it; a later destroyRouter of
    that id is a clear 431, never a 5xx."""
    net = f.network(f.cd_off)
    r = f.running_router(net)
    j = f.api.job("deleteNetwork", id=net["id"], forced="true")
    assert j["jobstatus"] == 1 and j["jobresult"] == {"success": True}, j
    assert router_gone(f.api, r["id"]), "the router went away with its network"
    e = f.api.error("destroyRouter", id=r["id"])
    assert e.status == 431, e


def test_founding_destroy_router_whose_host_is_down(f):
    r = f.running_router(f.network())
    old = f.api.one("listConfigurations", "configuration", name="ping.interval")["value"]
    f.api.config("ping.interval", "1")
    try:
        f.api.call("updateSimulatorHost", id=f.host, state="Down")
        assert wait_for(lambda: cloud.host_state(f.api, f.host) == "Down", timeout=15), "host went Down"
        destroy_ok(f.api, r["id"])
    finally:
        f.api.call("updateSimulatorHost", id=f.host, state="Up")
        assert wait_for(lambda: cloud.host_state(f.api, f.host) == "Up", timeout=15), "host came back"
        f.api.config("ping.interval", old)


def test_founding_destroy_router_whose_template_was_deleted(f):
    name = cloud.unique("doomed-systemvm")
    tid = cloud.register_template(f.api, f.edge, name, direct=True, routing=True)
    f.api.config("router.template.simulator", name, zoneid=f.edge.id)
    try:
        r = f.running_router(f.network())
        assert r["templateid"] == tid, r
    finally:
        f.api.config("router.template.simulator", "edge-systemvm", zoneid=f.edge.id)
    d = f.api.raw("deleteTemplate", id=tid, zoneid=f.edge.id)
    if "jobid" in d:
        assert f.api.wait(d["jobid"])["jobstatus"] == 1
    try:
        left = f.api.items("listTemplates", "template", templatefilter="all", id=tid)
    except cslib.CloudStackApiException as e:
        assert e.response.status_code == 431, e
        left = []
    assert left == [], f"template deleted: {left}"
    destroy_ok(f.api, r["id"])


def test_founding_destroy_twice_second_is_431(f):
    r = f.running_router(f.network())
    destroy_ok(f.api, r["id"])
    e = f.api.error("destroyRouter", id=r["id"])
    assert e.status == 431 and r["id"] in e.text, e


def test_founding_destroy_while_a_deploy_is_in_flight(f):
    net = f.network()
    r = f.running_router(net)
    submitted = f.api.cs_post.deployVirtualMachine(
        zoneid=f.edge.id, serviceofferingid=cloud.service_offering(f.api), templateid=f.guest,
        networkids=net["id"], userdata=cloud.b64(USER_DATA), fetch_result=False)
    assert set(submitted) >= {"id", "jobid"}, submitted
    d = f.api.raw("destroyRouter", id=r["id"])
    dj = f.api.wait(d["jobid"])
    vj = f.api.wait(submitted["jobid"])
    assert dj["jobstatus"] == 1, f"destroyRouter during a deploy: {dj}"
    assert router_gone(f.api, r["id"])
    if vj["jobstatus"] == 2:
        assert vj["jobresult"]["errorcode"] != 530 and vj["jobresult"]["errortext"], vj
    else:
        assert vj["jobstatus"] == 1 and vj["jobresult"]["virtualmachine"]["state"] == "Running", vj
    # Either way the network is usable afterwards.
    again = cloud.deploy(f.api, f.edge, f.guest, net["id"])
    assert again["jobstatus"] == 1, again


def test_founding_nothing_answered_5xx(f, module_server):
    time.sleep(0.2)
    assert cloud.log_5xx(module_server) == []
