"""Infrastructure (issue: infrastructure): a core zone and an edge zone brought up with the `cs`
client — zones, physical networks, pods, clusters, simulator hosts, primary storage, image
stores, templates — CloudStack's field names in every list, clear 4xx answers for bad input,
and a simulated host that stops answering going Down with an alert and coming back Up.

Every client here refuses 5xx answers (see cloud.py): a 530 anywhere fails the test.
"""

import time

import pytest

import cloud
from cloud import Api, Zone, wait_for
from conftest import UUID_RE, run_cs_cli

ZONE_FIELDS = {"id", "name", "networktype", "type", "allocationstate", "dns1", "internaldns1",
               "securitygroupsenabled", "localstorageenabled"}
POD_FIELDS = {"id", "name", "zoneid", "zonename", "allocationstate", "startip", "endip"}
CLUSTER_FIELDS = {"id", "name", "podid", "podname", "zoneid", "zonename", "hypervisortype", "clustertype",
                  "allocationstate", "managedstate"}
HOST_FIELDS = {"id", "name", "state", "type", "resourcestate", "hypervisor", "zoneid", "zonename", "podid",
               "podname", "clusterid", "clustername", "ipaddress", "cpunumber", "cpuspeed", "memorytotal",
               "created", "lastpinged"}
POOL_FIELDS = {"id", "name", "zoneid", "zonename", "state", "scope", "type", "path", "ipaddress",
               "disksizetotal", "hypervisor", "created"}
STORE_FIELDS = {"id", "name", "zoneid", "zonename", "url", "protocol", "providername", "scope"}
TEMPLATE_FIELDS = {"id", "name", "displaytext", "isready", "status", "zoneid", "zonename", "format",
                   "hypervisor", "templatetype", "directdownload", "ostypeid", "account", "created"}


def has_fields(obj: dict, fields: set, what: str):
    missing = fields - set(obj)
    assert not missing, f"{what} lacks CloudStack fields {sorted(missing)}: {obj}"


class Infra:
    def __init__(self, api: Api):
        self.api = api
        self.core: Zone | None = None
        self.edge: Zone | None = None
        self.core_template = ""
        self.edge_template = ""
        self.edge_template_answer: dict = {}


@pytest.fixture(scope="module")
def infra(module_admin) -> Infra:
    """A core zone (2 hosts, cluster pool, image store, downloaded template) and an edge zone
    (1 host, host-local pool, direct-download template)."""
    api = Api(module_admin)
    inf = Infra(api)
    inf.core = cloud.bring_up(api, "core1", edge=False, hosts=2)
    inf.edge = cloud.bring_up(api, "edge1", edge=True, hosts=1)
    inf.core_template = cloud.register_template(api, inf.core, "core-guest", wait=True)
    r = api.call("registerTemplate", name="edge-guest", displaytext="edge-guest",
                 url="http://images.example.org/edge.qcow2", format="QCOW2", hypervisor="Simulator",
                 ostypeid=cloud.ostype(api), zoneid=inf.edge.id, directdownload="true", ispublic="true")
    inf.edge_template_answer = r["template"][0]
    inf.edge_template = r["template"][0]["id"]
    return inf


# --------------------------------------------------------------------------- bring-up


def test_core_zone_comes_up(infra):
    api, z = infra.api, infra.core
    zone = api.one("listZones", "zone", id=z.id)
    has_fields(zone, ZONE_FIELDS, "zone")
    assert (zone["name"], zone["type"], zone["networktype"]) == ("core1", "Core", "Advanced"), zone
    assert zone["allocationstate"] == "Enabled"
    assert [x["id"] for x in api.items("listZones", "zone", type="Core")] == [z.id]

    pod = api.one("listPods", "pod", zoneid=z.id)
    has_fields(pod, POD_FIELDS | {"gateway", "netmask"}, "pod")
    assert (pod["gateway"], pod["netmask"]) == ("192.168.56.1", "255.255.255.0"), pod
    assert pod["startip"] in (["192.168.56.100"], "192.168.56.100"), pod
    assert pod["endip"] in (["192.168.56.200"], "192.168.56.200"), pod

    cl = api.one("listClusters", "cluster", zoneid=z.id)
    has_fields(cl, CLUSTER_FIELDS, "cluster")
    assert (cl["id"], cl["hypervisortype"], cl["clustertype"]) == (z.cluster, "Simulator", "CloudManaged")

    hosts = api.items("listHosts", "host", zoneid=z.id, type="Routing")
    assert sorted(h["id"] for h in hosts) == sorted(z.hosts), hosts
    for h in hosts:
        has_fields(h, HOST_FIELDS, "host")
        assert (h["state"], h["resourcestate"], h["type"], h["hypervisor"]) == ("Up", "Enabled", "Routing", "Simulator")
        assert h["clusterid"] == z.cluster and h["podid"] == z.pod and h["zonename"] == "core1"
        assert h["cpunumber"] > 0 and h["memorytotal"] > 0

    pool = api.one("listStoragePools", "storagepool", zoneid=z.id)
    has_fields(pool, POOL_FIELDS, "storage pool")
    assert (pool["id"], pool["state"], pool["scope"]) == (z.pool, "Up", "CLUSTER"), pool
    assert pool["type"] == "NetworkFilesystem" and pool["path"] == "/export/core1/primary", pool
    assert pool["clusterid"] == z.cluster

    store = api.one("listImageStores", "imagestore", zoneid=z.id)
    has_fields(store, STORE_FIELDS, "image store")
    assert (store["id"], store["protocol"], store["providername"]) == (z.store, "nfs", "NFS"), store
    assert store["url"] == "nfs://10.0.0.5/export/core1/secondary"


def test_core_template_downloads_and_becomes_ready(infra):
    api = infra.api
    t = cloud.template_ready(api, infra.core_template, infra.core.id)
    assert t, "the core template is ready (fixture polled listTemplates)"
    has_fields(t, TEMPLATE_FIELDS, "template")
    assert t["status"] == "Download Complete" and t["directdownload"] is False, t
    assert (t["name"], t["zoneid"], t["templatetype"], t["format"]) == ("core-guest", infra.core.id, "USER", "QCOW2")
    # listTemplates with the other filters CloudStack clients use
    for f in ("featured", "self", "executable"):
        ids = [x["id"] for x in api.items("listTemplates", "template", templatefilter=f, zoneid=infra.core.id)]
        assert infra.core_template in ids, (f, ids)


def test_edge_zone_comes_up(infra):
    api, z = infra.api, infra.edge
    zone = api.one("listZones", "zone", id=z.id)
    has_fields(zone, ZONE_FIELDS, "zone")
    assert (zone["type"], zone["networktype"], zone["allocationstate"]) == ("Edge", "Advanced", "Enabled"), zone
    assert [x["id"] for x in api.items("listZones", "zone", type="Edge")] == [z.id]

    pod = api.one("listPods", "pod", zoneid=z.id)
    has_fields(pod, POD_FIELDS, "pod")
    assert not pod.get("gateway") and not pod["startip"] and not pod["endip"], f"edge pod has no IP range: {pod}"

    host = api.one("listHosts", "host", zoneid=z.id)
    has_fields(host, HOST_FIELDS, "host")
    assert host["state"] == "Up" and host["name"].startswith("SimulatedAgent."), host

    pool = api.one("listStoragePools", "storagepool", zoneid=z.id)
    has_fields(pool, POOL_FIELDS, "storage pool")
    assert (pool["scope"], pool["state"]) == ("HOST", "Up"), pool
    assert api.items("listImageStores", "imagestore", zoneid=z.id) == [], "an edge zone has no image store"


def test_edge_direct_download_template_is_ready_at_once(infra):
    api = infra.api
    first = infra.edge_template_answer
    assert first["isready"] is True and first["directdownload"] is True, f"ready in the register answer: {first}"
    t = api.one("listTemplates", "template", templatefilter="all", id=infra.edge_template, zoneid=infra.edge.id)
    has_fields(t, TEMPLATE_FIELDS, "template")
    assert t["isready"] is True and t["directdownload"] is True, t


def test_seeded_system_template_is_not_usable_in_the_edge_zone(infra):
    """The seeded system VM template is registered without direct download: not ready in an
    edge zone, and its status says what to do."""
    api = infra.api
    sys_t = [t for t in api.items("listTemplates", "template", templatefilter="all", zoneid=infra.edge.id)
             if t["templatetype"] == "SYSTEM"]
    assert sys_t, "the seeded system VM template is listed for the edge zone"
    assert sys_t[0]["isready"] is False and "directdownload=true" in sys_t[0]["status"], sys_t[0]


def test_cli_lists_and_creates_with_post(infra, module_admin):
    """The `cs` command line tool (POST) against the same cloud."""
    proc, out = run_cs_cli(module_admin, "listHosts", f"zoneid={infra.core.id}", "type=Routing", post=True)
    assert proc.returncode == 0, proc.stderr
    assert sorted(h["id"] for h in out["host"]) == sorted(infra.core.hosts)
    assert {h["state"] for h in out["host"]} == {"Up"}
    name = cloud.unique("cli-zone")
    proc, out = run_cs_cli(module_admin, "createZone", f"name={name}", "dns1=8.8.8.8", "internaldns1=10.0.0.2",
                           "networktype=Advanced", "isedge=true", post=True)
    assert proc.returncode == 0, proc.stderr
    assert out["zone"]["name"] == name and out["zone"]["type"] == "Edge" and UUID_RE.match(out["zone"]["id"])
    proc, out = run_cs_cli(module_admin, "createZone", f"name={name}", "dns1=8.8.8.8", "internaldns1=10.0.0.2",
                           "networktype=Advanced", post=True)
    assert proc.returncode != 0, proc.stdout
    err = out["createzoneresponse"]
    assert err["errorcode"] == 431 and "already exists" in err["errortext"], out
    assert infra.api.call("deleteZone", id=infra.api.one("listZones", "zone", name=name)["id"])["success"] is True


def test_storage_providers_name_what_pools_and_image_stores_accept(infra):
    # Ansible's cs_image_store and cs_storage_pool look the provider up here first.
    api = infra.api
    assert api.items("listStorageProviders", "dataStoreProvider", type="image") == [{"name": "NFS", "type": "IMAGE"}]
    primary = api.items("listStorageProviders", "dataStoreProvider", type="PRIMARY")
    assert primary == [{"name": "DefaultPrimary", "type": "PRIMARY"}]
    # What is listed is what is accepted, and what is not listed is refused, naming the list.
    e = api.error("addImageStore", name="s3", provider="S3", zoneid=infra.core.id, url="nfs://10.0.0.5/x")
    assert "listStorageProviders" in e.text, e
    e = api.error("listStorageProviders", type="tape")
    assert "primary" in e.text and "image" in e.text, e
    e = api.error("listStorageProviders")
    assert "type" in e.text, e


# --------------------------------------------------------------------------- bad input → 4xx


def test_image_store_in_edge_zone_is_refused(infra):
    e = infra.api.error("addImageStore", name="edge-images", provider="NFS", zoneid=infra.edge.id,
                        url="nfs://10.0.0.5/export/edge/secondary")
    assert "edge zone" in e.text and "directdownload=true" in e.text, e
    assert infra.api.items("listImageStores", "imagestore", zoneid=infra.edge.id) == []


def test_pod_ip_range_in_edge_zone_is_refused(infra):
    e = infra.api.error("createPod", name="pod2", zoneid=infra.edge.id, gateway="10.1.1.1",
                        netmask="255.255.255.0", startip="10.1.1.10", endip="10.1.1.20")
    assert "edge zone" in e.text and "leave out" in e.text, e
    assert len(infra.api.items("listPods", "pod", zoneid=infra.edge.id)) == 1


def test_duplicate_zone_name_is_refused(infra):
    for name in ("core1", "CORE1"):
        e = infra.api.error("createZone", name=name, dns1="8.8.8.8", internaldns1="10.0.0.2", networktype="Advanced")
        assert "already exists" in e.text and "another name" in e.text, e
    assert len(infra.api.items("listZones", "zone", name="core1")) == 1


def test_deleting_zone_or_cluster_in_use_is_refused(infra):
    api, z = infra.api, infra.core
    e = api.error("deleteZone", id=z.id)
    assert "host" in e.text and "deleteHost" in e.text, e
    e = api.error("deleteCluster", id=z.cluster)
    assert "host" in e.text and "deleteHost" in e.text, e
    e = api.error("deleteHost", id=z.hosts[0])
    assert "maintenance" in e.text.lower(), e
    assert api.one("listZones", "zone", id=z.id)["allocationstate"] == "Enabled"
    assert api.one("listClusters", "cluster", id=z.cluster)["id"] == z.cluster


def test_unknown_hypervisor_is_refused(infra):
    api, z = infra.api, infra.core
    e = api.error("addCluster", clustername="hz", clustertype="CloudManaged", hypervisor="Hyper-Z",
                  podid=z.pod, zoneid=z.id)
    assert "Hyper-Z" in e.text and "Simulator" in e.text, e
    e = api.error("addHost", hypervisor="Hyper-Z", podid=z.pod, zoneid=z.id, clusterid=z.cluster,
                  url="http://sim/core1/c1/h9", username="root", password="password")
    assert "Simulator" in e.text, e
    e = api.error("registerTemplate", name="hz", displaytext="hz", url="http://images.example.org/t.qcow2",
                  format="QCOW2", hypervisor="Hyper-Z", ostypeid=cloud.ostype(api), zoneid=z.id)
    assert "Hyper-Z" in e.text and "Simulator" in e.text, e
    assert len(api.items("listClusters", "cluster", zoneid=z.id)) == 1


@pytest.mark.parametrize("url", ["not a url", "images.example.org/t.qcow2", "ftp//x", ""])
def test_template_url_that_is_not_a_url_is_refused(infra, url):
    api = infra.api
    e = api.error("registerTemplate", name="badurl", displaytext="badurl", url=url, format="QCOW2",
                  hypervisor="Simulator", ostypeid=cloud.ostype(api), zoneid=infra.core.id)
    assert "url" in e.text.lower(), e
    if url:
        assert "http://" in e.text, f"says which URLs work: {e}"
    assert not api.items("listTemplates", "template", templatefilter="self", name="badurl")


def test_host_url_that_is_not_a_simulator_url_is_refused(infra):
    z = infra.core
    e = infra.api.error("addHost", hypervisor="Simulator", podid=z.pod, zoneid=z.id, clusterid=z.cluster,
                        url="ftp://nope", username="root", password="password")
    assert "http://sim/" in e.text, e
    e = infra.api.error("addHost", hypervisor="Simulator", podid=z.pod, zoneid=z.id, clusterid=z.cluster,
                        url="http://sim/core1/c1/h0", username="root", password="password")
    assert "already exists" in e.text, e


# --------------------------------------------------------------------------- liveness


def test_host_that_stops_answering_goes_down_with_an_alert_and_comes_back(infra):
    api = infra.api
    z = cloud.bring_up(api, "ping1", edge=True, hosts=1, storage=False, physnet=False)
    h = z.hosts[0]
    hostname = api.one("listHosts", "host", id=h)["name"]
    old = api.one("listConfigurations", "configuration", name="ping.interval")["value"]
    api.config("ping.interval", "1")
    try:
        assert api.call("updateSimulatorHost", id=h, state="Down")["success"] is True
        t0 = time.monotonic()
        assert wait_for(lambda: cloud.host_state(api, h) == "Down", timeout=15), \
            f"host still {cloud.host_state(api, h)} 15 s after it stopped answering"
        took = time.monotonic() - t0

        def alert(word):
            return [a for a in api.items("listAlerts", "alert")
                    if hostname in a.get("description", "") and word in a["description"]]

        down = wait_for(lambda: alert("Down"), timeout=5)
        assert down, f"no host-down alert: {api.raw('listAlerts')}"
        a = down[0]
        assert a["type"] == 7 and a["name"] == "ALERT.HOST" and "zone ping1" in a["description"], a
        assert UUID_RE.match(a["id"]) and a["sent"], a
        assert took < 10, f"went Down after {took:.1f}s with ping.interval=1"
        # Other hosts are unaffected.
        assert {cloud.host_state(api, x) for x in infra.core.hosts} == {"Up"}

        assert api.call("updateSimulatorHost", id=h, state="Up")["success"] is True
        assert wait_for(lambda: cloud.host_state(api, h) == "Up", timeout=15), "the host came back Up"
        assert wait_for(lambda: alert("Up"), timeout=5), "an alert says it is Up again"
    finally:
        api.call("updateSimulatorHost", id=h, state="Up")
        api.config("ping.interval", old)


def test_nothing_answered_5xx(infra, module_server):
    """Every request of this module — library and CLI — answered below 500 (533/534 aside)."""
    assert cloud.log_5xx(module_server) == []
