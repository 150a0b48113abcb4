"""List semantics shared by every list command, as CloudStack has them:

- `id=<uuid of an entity that existed and was removed>` answers the empty list (CloudStack
  resolves uuid parameters among removed rows too; scripts poll "until gone");
- `id=<uuid that never named such an entity>` is refused with 431 and CloudStack's wording;
- an optional filter naming a removed entity (zoneid, networkid, virtualmachineid, ...)
  answers the empty list, except where live rows still point at it (a deleted template's VMs);
- `ids=a,b` (where CloudStack 4.20 has `ids`) lists exactly those, scoped to the caller;
- `listHosts` ignores a hypervisor it does not know and matches nothing for unknown states
  (`listPods`/`listClusters` likewise for allocation and managed states);
- another account's removed entity is unknown (431) to a caller who could not see it.

Everything is created and removed through the API on a server of this module's own.
"""

import uuid

import pytest

import cloud
from cloud import Api, unique, wait_for
from conftest import Creds, new_account


def random_uuid() -> str:
    return str(uuid.uuid4())


def is_empty_list(answer: dict, key: str) -> bool:
    """CloudStack's empty list: neither `count` nor the list key (`{}`)."""
    return key not in answer and "count" not in answer


class World:
    """A core zone with a shared network, and one removed entity of each kind beside a live one."""

    def __init__(self, api: Api):
        self.api = api
        self.removed: dict[str, str] = {}
        self.live: dict[str, list[str]] = {}
        z = self.core = cloud.bring_up(api, "lists-core", edge=False, hosts=1)
        shared = cloud.network_offering(api, "DefaultSharedNetworkOffering")
        self.net = cloud.shared_network(api, z, "lists-net", shared, 400, 40)
        seeded = [t for t in api.items("listTemplates", "template", templatefilter="all", zoneid=z.id)
                  if t["templatetype"] != "SYSTEM"]
        self.template = wait_for(lambda: cloud.template_ready(api, seeded[0]["id"], z.id), timeout=20)["id"]

        # zones: one removed, two live
        gone = cloud.create_zone(api, unique("lz-gone"), edge=False)["id"]
        api.call("deleteZone", id=gone)
        other = cloud.create_zone(api, unique("lz-other"), edge=False)["id"]
        self.record("zone", gone, [z.id, other])

        # pods, clusters, primary storage: a second of each in the core zone, removed
        pod2 = api.call("createPod", name="pod2", zoneid=z.id, gateway="192.168.57.1", netmask="255.255.255.0",
                        startip="192.168.57.100", endip="192.168.57.200")["pod"]["id"]
        c2 = api.call("addCluster", clustername="c2", clustertype="CloudManaged", hypervisor="Simulator",
                      podid=pod2, zoneid=z.id)["cluster"][0]["id"]
        pool2 = api.call("createStoragePool", name=unique("pool2"), zoneid=z.id, podid=pod2, clusterid=c2,
                         scope="cluster", url="nfs://10.0.0.5/export/lists/p2")["storagepool"]["id"]
        api.call("deleteStoragePool", id=pool2)
        api.call("deleteCluster", id=c2)
        api.call("deletePod", id=pod2)
        self.record("pod", pod2, [z.pod])
        self.record("cluster", c2, [z.cluster])
        self.record("storagepool", pool2, [z.pool])

        # offerings
        so = api.call("createServiceOffering", name=unique("so"), displaytext="so", cpunumber=1, cpuspeed=500,
                      memory=256)["serviceoffering"]["id"]
        api.call("deleteServiceOffering", id=so)
        self.record("serviceoffering", so, [cloud.service_offering(api)])
        do_live = api.call("createDiskOffering", name=unique("do"), displaytext="do", disksize=1)["diskoffering"]["id"]
        do = api.call("createDiskOffering", name=unique("do"), displaytext="do", disksize=1)["diskoffering"]["id"]
        api.call("deleteDiskOffering", id=do)
        self.disk_offering = do_live
        self.record("diskoffering", do, [do_live])
        no = cloud.configdrive_offering(api, unique("lno"))
        api.call("deleteNetworkOffering", id=no)
        self.record("networkoffering", no, [shared])

        # networks
        n2 = cloud.shared_network(api, z, "lists-gone", shared, 401, 41)["id"]
        api.call("deleteNetwork", id=n2)
        self.record("network", n2, [self.net["id"]])

        # VMs: three live, one expunged
        vms = [self.deploy() for _ in range(4)]
        api.call("destroyVirtualMachine", id=vms[3], expunge="true")
        self.record("virtualmachine", vms[3], vms[:3])

        # volumes: three live data volumes, one deleted
        vols = [api.call("createVolume", name=unique("lv"), zoneid=z.id, diskofferingid=do_live)["volume"]["id"]
                for _ in range(4)]
        api.call("deleteVolume", id=vols[3])
        self.record("volume", vols[3], vols[:3])

        # snapshots of the first VM's root volume: three live, one deleted
        root = api.one("listVolumes", "volume", virtualmachineid=vms[0], type="ROOT")["id"]
        self.root = root
        snaps = [api.call("createSnapshot", volumeid=root)["snapshot"]["id"] for _ in range(4)]
        api.call("deleteSnapshot", id=snaps[3])
        self.record("snapshot", snaps[3], snaps[:3])

        # templates: three live, one deleted
        tpls = [cloud.register_template(api, z, unique("lt")) for _ in range(4)]
        api.call("deleteTemplate", id=tpls[3])
        self.record("template", tpls[3], tpls[:3])

        # accounts, users, domains
        acct = new_account(api.cs)
        gone_acct = new_account(api.cs)
        api.call("deleteAccount", id=gone_acct["id"])
        self.record("account", gone_acct["id"], [acct["id"]])
        user = api.call("createUser", account=acct["name"], domainid=acct["domainid"], username=unique("u"),
                        password="Secret-pw-1", email="u@example.org", firstname="F", lastname="L")["user"]["id"]
        gone_user = api.call("createUser", account=acct["name"], domainid=acct["domainid"], username=unique("u"),
                             password="Secret-pw-1", email="u@example.org", firstname="F", lastname="L")["user"]["id"]
        api.call("deleteUser", id=gone_user)
        self.record("user", gone_user, [user])
        dom = api.call("createDomain", name=unique("ld"))["domain"]["id"]
        gone_dom = api.call("createDomain", name=unique("ld"))["domain"]["id"]
        api.call("deleteDomain", id=gone_dom)
        self.record("domain", gone_dom, [dom])

        # instance groups, user data
        grp = api.call("createInstanceGroup", name=unique("g"))["instancegroup"]["id"]
        gone_grp = api.call("createInstanceGroup", name=unique("g"))["instancegroup"]["id"]
        api.call("deleteInstanceGroup", id=gone_grp)
        self.record("instancegroup", gone_grp, [grp])
        ud = api.call("registerUserData", name=unique("ud"), userdata=cloud.b64("#!/bin/sh\necho a\n"))["userdata"]["id"]
        gone_ud = api.call("registerUserData", name=unique("ud"), userdata=cloud.b64("#!/bin/sh\necho b\n"))["userdata"]["id"]
        api.call("deleteUserData", id=gone_ud)
        self.record("userdata", gone_ud, [ud])

        # a host added and deleted (maintenance first), an image store, a physical network
        h = cloud.add_host(api, z, 7)["id"]
        assert wait_for(lambda: cloud.host_state(api, h) == "Up"), "host never came Up"
        api.call("prepareHostForMaintenance", id=h)
        api.call("deleteHost", id=h)
        self.record("host", h, [z.hosts[0]])
        store2 = api.call("addImageStore", name=unique("is2"), provider="NFS", zoneid=z.id,
                          url="nfs://10.0.0.5/export/lists/s2")["imagestore"]["id"]
        api.call("deleteImageStore", id=store2)
        self.record("imagestore", store2, [z.store])
        pn = api.call("createPhysicalNetwork", zoneid=other, name=unique("pn"))["physicalnetwork"]["id"]
        api.call("deletePhysicalNetwork", id=pn)
        self.record("physicalnetwork", pn, [z.physnet])

        # a VM of a template deleted since: still listed by that templateid
        t_gone = cloud.register_template(api, z, unique("lt-gone"))
        vm_of_gone = cloud.deploy(api, z, t_gone, self.net["id"])["jobresult"]["virtualmachine"]["id"]
        api.call("deleteTemplate", id=t_gone, forced="true")
        self.template_gone, self.vm_of_template_gone = t_gone, vm_of_gone

        # routers: the shared network's router, destroyed; a new VM brings a new one
        old = cloud.routers_of(api, self.net["id"])
        assert len(old) == 1, old
        api.call("destroyRouter", id=old[0]["id"])
        self.deploy()
        new = cloud.routers_of(api, self.net["id"])
        assert len(new) == 1 and new[0]["id"] != old[0]["id"], (old, new)
        self.record("router", old[0]["id"], [new[0]["id"]])

    def record(self, key: str, removed: str, live: list[str]) -> None:
        self.removed[key] = removed
        self.live[key] = live

    def deploy(self) -> str:
        j = cloud.deploy(self.api, self.core, self.template, self.net["id"])
        assert j["jobstatus"] == 1, j
        return j["jobresult"]["virtualmachine"]["id"]


@pytest.fixture(scope="module")
def w(module_admin) -> World:
    return World(Api(module_admin))


# (command, response key, the World key, extra parameters every call needs)
LISTS = [
    ("listZones", "zone", "zone", {}),
    ("listPods", "pod", "pod", {}),
    ("listClusters", "cluster", "cluster", {}),
    ("listStoragePools", "storagepool", "storagepool", {}),
    ("listServiceOfferings", "serviceoffering", "serviceoffering", {}),
    ("listDiskOfferings", "diskoffering", "diskoffering", {}),
    ("listNetworkOfferings", "networkoffering", "networkoffering", {}),
    ("listNetworks", "network", "network", {"listall": "true"}),
    ("listVirtualMachines", "virtualmachine", "virtualmachine", {"listall": "true"}),
    ("listVolumes", "volume", "volume", {"listall": "true"}),
    ("listSnapshots", "snapshot", "snapshot", {"listall": "true"}),
    ("listTemplates", "template", "template", {"templatefilter": "all"}),
    ("listAccounts", "account", "account", {"listall": "true"}),
    ("listUsers", "user", "user", {"listall": "true"}),
    ("listDomains", "domain", "domain", {"listall": "true"}),
    ("listInstanceGroups", "instancegroup", "instancegroup", {"listall": "true"}),
    ("listUserData", "userdata", "userdata", {"listall": "true"}),
    ("listRouters", "router", "router", {"listall": "true"}),
    ("listHosts", "host", "host", {}),
    ("listImageStores", "imagestore", "imagestore", {}),
    ("listPhysicalNetworks", "physicalnetwork", "physicalnetwork", {}),
]

# Kinds whose removed rows CloudStack's service layer refuses by id (431) instead of listing
# nothing: `Domain id=… doesn't exist`, `Unable to find account by id …`.
REFUSED_WHEN_REMOVED = {"domain", "account"}

# The list commands CloudStack 4.20 gives `ids` to (among those ferrostack has).
WITH_IDS = ["listZones", "listVirtualMachines", "listVolumes", "listSnapshots", "listTemplates"]


@pytest.mark.parametrize("command,key,kind,extra", LISTS, ids=[c[0] for c in LISTS])
def test_id_of_removed_entity_lists_nothing_and_unknown_id_is_431(w, command, key, kind, extra):
    api = w.api
    live = w.live[kind][0]
    got = api.items(command, key, id=live, **extra)
    assert [x["id"] for x in got] == [live], f"{command} id={live} (live): {got}"

    if kind in REFUSED_WHEN_REMOVED:
        # CloudStack's service layer refuses a removed domain or account by id
        api.error(command, 431, id=w.removed[kind], **extra)
    else:
        answer = api.raw(command, id=w.removed[kind], **extra)
        assert is_empty_list(answer, key), f"{command} id=<removed {kind}> answered {answer}"

    bogus = random_uuid()
    e = api.error(command, 431, id=bogus, **extra)
    assert f"Invalid parameter id value={bogus}" in e.text and "entity does not exist" in e.text, e
    assert e.text.startswith(f"Unable to execute API command {command.lower()}"), e


@pytest.mark.parametrize("command", WITH_IDS)
def test_ids_lists_exactly_those(w, command):
    key, kind, extra = next((k, kd, x) for c, k, kd, x in LISTS if c == command)
    api = w.api
    declared = {p["name"] for p in api.one("listApis", "api", name=command)["params"]}
    assert "ids" in declared, f"{command} declares ids in listApis"
    a, b, c = w.live[kind][:3] if len(w.live[kind]) >= 3 else (*w.live[kind][:2], None)
    got = api.items(command, key, ids=f"{a},{b}", **extra)
    assert sorted(x["id"] for x in got) == sorted([a, b]), f"{command} ids={a},{b}: {got}"
    # a removed one among them is simply not listed; only removed ones: the empty list
    got = api.items(command, key, ids=f"{a},{w.removed[kind]}", **extra)
    assert [x["id"] for x in got] == [a], got
    assert is_empty_list(api.raw(command, ids=w.removed[kind], **extra), key)
    # an id that never existed, or not a uuid, is a 431 naming it
    bogus = random_uuid()
    e = api.error(command, 431, ids=f"{a},{bogus}", **extra)
    assert f"Invalid parameter ids value={bogus}" in e.text, e
    api.error(command, 431, ids=f"{a},not-a-uuid", **extra)
    # id and ids together are refused, as CloudStack's getIdsListFromCmd does
    e = api.error(command, 431, id=a, ids=f"{a},{b}", **extra)
    assert "Specify either id or ids but not both parameters" in e.text, e


def test_ids_are_scoped_to_the_caller(w, module_admin):
    """A user asking by ids for another account's VMs and volumes sees none of them."""
    api = w.api
    acct = new_account(api.cs)
    user = api.one("listUsers", "user", account=acct["name"], domainid=acct["domainid"])
    keys = api.call("registerUserKeys", id=user["id"])["userkeys"]
    other = Api(Creds(endpoint=module_admin.endpoint, key=keys["apikey"], secret=keys["secretkey"]))
    for command, key, kind in (("listVirtualMachines", "virtualmachine", "virtualmachine"),
                               ("listVolumes", "volume", "volume")):
        a, b = w.live[kind][:2]
        answer = other.raw(command, ids=f"{a},{b}")
        assert is_empty_list(answer, key), f"{command} ids of another account's: {answer}"
        # another account's removed entity is unknown to it (its id tells nothing), not empty
        gone = w.removed[kind]
        e = other.error(command, 431, id=gone)
        assert f"Invalid parameter id value={gone}" in e.text, e


def test_filters_naming_removed_entities(w):
    api = w.api
    empty = [
        ("listVirtualMachines", "virtualmachine", {"zoneid": w.removed["zone"]}),
        ("listVirtualMachines", "virtualmachine", {"networkid": w.removed["network"]}),
        ("listVolumes", "volume", {"virtualmachineid": w.removed["virtualmachine"]}),
        ("listRouters", "router", {"networkid": w.removed["network"]}),
        ("listHosts", "host", {"clusterid": w.removed["cluster"]}),
        ("listHosts", "host", {"podid": w.removed["pod"]}),
        ("listClusters", "cluster", {"podid": w.removed["pod"]}),
        ("listNetworks", "network", {"zoneid": w.removed["zone"]}),
        ("listPods", "pod", {"zoneid": w.removed["zone"]}),
    ]
    for command, key, params in empty:
        answer = api.raw(command, listall="true", **params)
        assert is_empty_list(answer, key), f"{command} {params}: {answer}"
    # a removed domain as the owner scope is refused, as CloudStack's ACL checks refuse it
    api.error("listVirtualMachines", 431, domainid=w.removed["domain"])
    # a filter that never named anything is a 431 naming the parameter
    for command, param in (("listVirtualMachines", "zoneid"), ("listVolumes", "virtualmachineid"),
                           ("listRouters", "networkid"), ("listHosts", "clusterid")):
        bogus = random_uuid()
        e = api.error(command, 431, **{param: bogus})
        assert f"Invalid parameter {param} value={bogus}" in e.text, e
    # VMs outlive their template: a deleted template's id still lists them
    assert is_empty_list(api.raw("listTemplates", templatefilter="all", id=w.template_gone), "template")
    got = api.items("listVirtualMachines", "virtualmachine", templateid=w.template_gone, listall="true")
    assert [v["id"] for v in got] == [w.vm_of_template_gone], got
    got = api.items("listVirtualMachines", "virtualmachine", templateid=w.template, listall="true")
    assert w.vm_of_template_gone not in {v["id"] for v in got} and len(got) >= 3, got
    # snapshots outlive their volume: a deleted volume's id still lists its snapshots
    vol = api.call("createVolume", name=unique("lv"), zoneid=w.core.id,
                   diskofferingid=w.disk_offering)["volume"]["id"]
    api.call("attachVolume", id=vol, virtualmachineid=w.live["virtualmachine"][1])
    snap = api.call("createSnapshot", volumeid=vol)["snapshot"]["id"]
    api.call("detachVolume", id=vol)
    api.call("deleteVolume", id=vol)
    assert is_empty_list(api.raw("listVolumes", id=vol), "volume")
    got = api.items("listSnapshots", "snapshot", volumeid=vol)
    assert [s["id"] for s in got] == [snap], got


def test_list_hosts_enum_filters(w):
    api = w.api
    every = sorted(h["id"] for h in api.items("listHosts", "host"))
    assert every, "hosts are listed"
    # a hypervisor CloudStack does not know is no filter (HypervisorType.None), nor are none/any
    for h in ("unknown", "none", "Any"):
        got = sorted(x["id"] for x in api.items("listHosts", "host", hypervisor=h))
        assert got == every, f"hypervisor={h}: {got}"
    assert sorted(x["id"] for x in api.items("listHosts", "host", hypervisor="simulator")) == every
    assert is_empty_list(api.raw("listHosts", hypervisor="XenServer"), "host")
    # a state or resource state no host can have matches nothing
    assert is_empty_list(api.raw("listHosts", state="Sideways"), "host")
    assert is_empty_list(api.raw("listHosts", resourcestate="Sideways"), "host")
    assert [x["id"] for x in api.items("listHosts", "host", state="Up")] == every
    # pods and clusters compare their allocation / managed states the same way
    assert is_empty_list(api.raw("listPods", allocationstate="Sideways"), "pod")
    assert is_empty_list(api.raw("listClusters", allocationstate="Sideways"), "cluster")
    assert is_empty_list(api.raw("listClusters", managedstate="Sideways"), "cluster")
    assert is_empty_list(api.raw("listNetworkOfferings", state="Sideways"), "networkoffering")
    assert api.items("listNetworkOfferings", "networkoffering", state="Enabled"), "enabled offerings are listed"
    assert w.core.pod in {p["id"] for p in api.items("listPods", "pod", allocationstate="enabled")}
    assert w.core.cluster in {c["id"] for c in api.items("listClusters", "cluster", managedstate="Managed")}


def test_every_list_command_refuses_an_id_that_never_existed(w):
    """Walk listApis: every list command with a uuid `id` answers 431 in CloudStack's words for
    a uuid that never named anything, and for the uuid of another kind of entity."""
    api = w.api
    fill = {"templatefilter": "all"}
    walked = []
    for a in api.items("listApis", "api"):
        params = {p["name"]: p for p in a["params"]}
        if not a["name"].startswith("list") or params.get("id", {}).get("type") != "uuid":
            continue
        required = {p["name"] for p in a["params"] if p["required"]}
        assert required <= set(fill), f"{a['name']} needs {required - set(fill)}: extend fill"
        extra = {k: fill[k] for k in required}
        for bogus in (random_uuid(), w.core.id if a["name"] != "listZones" else w.net["id"]):
            e = api.error(a["name"], 431, id=bogus, **extra)
            assert f"Invalid parameter id value={bogus}" in e.text, (a["name"], e)
        walked.append(a["name"])
    assert {"listVirtualMachines", "listRouters", "listNetworks", "listVolumes", "listZones"} <= set(walked), walked
