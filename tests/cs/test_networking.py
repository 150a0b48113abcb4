"""Guest networking with the `cs` client: shared, isolated (source NAT) and L2 networks in a core
zone; in an edge zone a shared network whose user data comes from the VirtualRouter and one on
a custom offering whose user data comes from ConfigDrive (built from a `serviceproviderlist`
given as a list of dicts, which cs turns into `serviceproviderlist[i].field=value`). Each
network's `service` list names its providers; bad input gets a clear 4xx, never a 5xx.
"""

import pytest

import cloud
from cloud import Api, providers
from conftest import UUID_RE, run_cs_cli

SHARED = "DefaultSharedNetworkOffering"
ISOLATED = "DefaultIsolatedNetworkOfferingWithSourceNatService"
L2 = "DefaultL2NetworkOffering"
NETWORK_FIELDS = {"id", "name", "displaytext", "zoneid", "zonename", "networkofferingid", "networkofferingname",
                  "type", "traffictype", "state", "acltype", "physicalnetworkid", "service", "canusefordeploy",
                  "specifyipranges", "issystem", "restartrequired"}


class Net:
    def __init__(self, api: Api):
        self.api = api
        self.off = {n: cloud.network_offering(api, n) for n in (SHARED, ISOLATED, L2)}
        self.core = cloud.bring_up(api, "ncore", edge=False, hosts=1, storage=False)
        self.edge = cloud.bring_up(api, "nedge", edge=True, hosts=1, storage=False)
        self.cd_offering = ""
        self.nets: dict[str, dict] = {}


@pytest.fixture(scope="module")
def net(module_admin) -> Net:
    return Net(Api(module_admin))


def network(n: Net, key: str, make):
    """Create once per module (tests may run alone or in any order)."""
    if key not in n.nets:
        n.nets[key] = make()
    return n.nets[key]


def core_shared(n: Net) -> dict:
    return network(n, "core-shared", lambda: cloud.shared_network(n.api, n.core, "core-shared", n.off[SHARED], 100, 10))


def cd_offering(n: Net) -> str:
    if not n.cd_offering:
        o = n.api.call(
            "createNetworkOffering", name="SharedConfigDrive", displaytext="Shared, user data on a config drive",
            guestiptype="Shared", traffictype="GUEST", supportedservices=["Dhcp", "Dns", "UserData"],
            specifyvlan=True, specifyipranges=True,
            serviceproviderlist=[
                {"service": "Dhcp", "provider": "VirtualRouter"},
                {"service": "Dns", "provider": "VirtualRouter"},
                {"service": "UserData", "provider": "ConfigDrive"},
            ],
        )["networkoffering"]
        assert o["state"] == "Disabled", f"a new offering starts Disabled: {o}"
        assert providers(o) == {"Dhcp": ["VirtualRouter"], "Dns": ["VirtualRouter"], "UserData": ["ConfigDrive"]}, o
        assert n.api.call("updateNetworkOffering", id=o["id"], state="Enabled")["networkoffering"]["state"] == "Enabled"
        n.cd_offering = o["id"]
    return n.cd_offering


def edge_cd(n: Net) -> dict:
    return network(n, "edge-cd", lambda: cloud.shared_network(n.api, n.edge, "edge-cd", cd_offering(n), 201, 21))


# --------------------------------------------------------------------------- core zone


def test_core_shared_network(net):
    s = core_shared(net)
    assert NETWORK_FIELDS <= set(s), sorted(NETWORK_FIELDS - set(s))
    assert (s["type"], s["traffictype"], s["acltype"]) == ("Shared", "Guest", "Domain"), s
    assert (s["zoneid"], s["physicalnetworkid"], s["networkofferingname"]) == (net.core.id, net.core.physnet, SHARED)
    assert (s["vlan"], s["broadcasturi"], s["cidr"], s["gateway"], s["netmask"]) == \
        ("100", "vlan://100", "10.10.0.0/24", "10.10.0.1", "255.255.255.0"), s
    assert providers(s) == {"Dhcp": ["VirtualRouter"], "Dns": ["VirtualRouter"], "UserData": ["VirtualRouter"]}, s
    r = net.api.one("listVlanIpRanges", "vlaniprange", networkid=s["id"])
    assert (r["startip"], r["endip"], r["forvirtualnetwork"], r["vlan"]) == \
        ("10.10.0.10", "10.10.0.200", False, "vlan://100"), r


def test_core_isolated_network_with_source_nat(net):
    i = network(net, "core-iso", lambda: net.api.call(
        "createNetwork", name="core-iso", zoneid=net.core.id, networkofferingid=net.off[ISOLATED])["network"])
    assert NETWORK_FIELDS <= set(i), sorted(NETWORK_FIELDS - set(i))
    assert (i["type"], i["state"], i["acltype"], i["account"]) == ("Isolated", "Allocated", "Account", "admin"), i
    assert i["cidr"] and i["gateway"], i
    p = providers(i)
    for service in ("SourceNat", "Dhcp", "Dns", "UserData", "Firewall", "StaticNat", "PortForwarding"):
        assert p.get(service) == ["VirtualRouter"], (service, p)


def test_core_l2_network(net):
    l2 = network(net, "core-l2", lambda: net.api.call(
        "createNetwork", name="core-l2", zoneid=net.core.id, networkofferingid=net.off[L2])["network"])
    assert l2["type"] == "L2" and not l2.get("cidr") and not l2.get("gateway"), l2
    assert providers(l2) == {}, l2
    assert net.api.items("listNetworks", "network", id=l2["id"])[0]["service"] == []


# --------------------------------------------------------------------------- edge zone


def test_edge_shared_network_with_virtualrouter_user_data(net):
    e = network(net, "edge-vr", lambda: cloud.shared_network(net.api, net.edge, "edge-vr", net.off[SHARED], 200, 20))
    assert (e["type"], e["zoneid"], e["physicalnetworkid"]) == ("Shared", net.edge.id, net.edge.physnet), e
    assert providers(e)["UserData"] == ["VirtualRouter"], e


def test_edge_shared_network_on_custom_configdrive_offering(net):
    e = edge_cd(net)
    assert (e["type"], e["zoneid"], e["networkofferingid"]) == ("Shared", net.edge.id, net.cd_offering), e
    assert providers(e) == {"Dhcp": ["VirtualRouter"], "Dns": ["VirtualRouter"], "UserData": ["ConfigDrive"]}, e
    off = net.api.one("listNetworkOfferings", "networkoffering", id=net.cd_offering)
    assert providers(off)["UserData"] == ["ConfigDrive"] and off["guestiptype"] == "Shared", off


def test_isolated_network_in_edge_zone_is_refused(net):
    e = net.api.error("createNetwork", name="edge-iso", zoneid=net.edge.id, networkofferingid=net.off[ISOLATED])
    assert "edge zone" in e.text and "Shared" in e.text and "L2" in e.text, e
    assert not [x for x in net.api.items("listNetworks", "network", listall=True) if x["name"] == "edge-iso"]


def test_every_listed_network_shows_its_providers(net):
    core_shared(net)
    edge_cd(net)
    listed = net.api.items("listNetworks", "network", listall=True)
    assert listed, "listNetworks answers the networks"
    for n in listed:
        assert isinstance(n["service"], list), n
        for s in n["service"]:
            assert s["name"] and s["provider"] and all(p["name"] for p in s["provider"]), n
        assert providers(n) == providers(net.api.one("listNetworks", "network", id=n["id"])), n
    by_name = {n["name"]: n for n in listed}
    assert providers(by_name["edge-cd"])["UserData"] == ["ConfigDrive"]
    assert providers(by_name["core-shared"])["UserData"] == ["VirtualRouter"]
    in_edge = {n["name"] for n in net.api.items("listNetworks", "network", listall=True, zoneid=net.edge.id)}
    assert "edge-cd" in in_edge and "core-shared" not in in_edge, in_edge


def test_offering_with_provider_map_via_cli_post(net, module_admin):
    """`cs --post createNetworkOffering serviceproviderlist[0].service=…` from the command line."""
    name = cloud.unique("cli-cd")
    proc, out = run_cs_cli(
        module_admin, "createNetworkOffering", f"name={name}", f"displaytext={name}", "guestiptype=Shared",
        "traffictype=GUEST", "supportedservices=Dhcp,UserData", "specifyvlan=true", "specifyipranges=true",
        "serviceproviderlist[0].service=Dhcp", "serviceproviderlist[0].provider=VirtualRouter",
        "serviceproviderlist[1].service=UserData", "serviceproviderlist[1].provider=ConfigDrive", post=True)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    o = out["networkoffering"]
    assert UUID_RE.match(o["id"]) and providers(o) == {"Dhcp": ["VirtualRouter"], "UserData": ["ConfigDrive"]}, o
    assert net.api.call("deleteNetworkOffering", id=o["id"])["success"] is True


# --------------------------------------------------------------------------- bad input → 4xx


def test_overlapping_ranges_are_refused(net):
    s = core_shared(net)
    e = net.api.error("createVlanIpRange", networkid=s["id"], gateway="10.10.0.1", netmask="255.255.255.0",
                      startip="10.10.0.150", endip="10.10.0.220")
    assert "overlaps" in e.text and "10.10.0.10-10.10.0.200" in e.text, e
    # the same VLAN again in the zone
    e = net.api.error("createNetwork", name="dup-vlan", zoneid=net.core.id, networkofferingid=net.off[SHARED],
                      vlan="100", gateway="10.11.0.1", netmask="255.255.255.0", startip="10.11.0.10",
                      endip="10.11.0.20")
    assert "100" in e.text, e
    # overlapping public ranges
    net.api.call("createVlanIpRange", zoneid=net.core.id, forvirtualnetwork=True, gateway="172.16.0.1",
                 netmask="255.255.255.0", startip="172.16.0.10", endip="172.16.0.19")
    e = net.api.error("createVlanIpRange", zoneid=net.core.id, forvirtualnetwork=True, gateway="172.16.0.1",
                      netmask="255.255.255.0", startip="172.16.0.15", endip="172.16.0.25")
    assert "overlap" in e.text, e
    assert len(net.api.items("listVlanIpRanges", "vlaniprange", networkid=s["id"])) == 1


@pytest.mark.parametrize("gateway,start,end", [
    ("10.60.1.1", "10.60.0.10", "10.60.0.20"),   # range outside the gateway's subnet
    ("10.61.0.1", "10.61.0.10", "10.61.1.20"),   # end outside
    ("10.62.0.255", "10.62.0.10", "10.62.0.20"),  # gateway = broadcast address
    ("10.63.0.0", "10.63.0.10", "10.63.0.20"),    # gateway = network address
])
def test_gateway_outside_netmask_is_refused(net, gateway, start, end):
    name = cloud.unique("badgw")
    e = net.api.error("createNetwork", name=name, zoneid=net.core.id, networkofferingid=net.off[SHARED],
                      vlan="160", gateway=gateway, netmask="255.255.255.0", startip=start, endip=end)
    assert "gateway" in e.text.lower() or "netmask" in e.text.lower(), e
    assert not [x for x in net.api.items("listNetworks", "network", listall=True) if x["name"] == name]


def test_provider_that_does_not_support_the_service_is_refused(net):
    e = net.api.error("createNetworkOffering", name="cd-snat", displaytext="x", guestiptype="Isolated",
                      traffictype="GUEST", supportedservices="SourceNat,Dhcp",
                      serviceproviderlist=[{"service": "SourceNat", "provider": "ConfigDrive"},
                                           {"service": "Dhcp", "provider": "VirtualRouter"}])
    assert "ConfigDrive" in e.text and "SourceNat" in e.text, e
    assert net.api.items("listNetworkOfferings", "networkoffering", name="cd-snat") == []


def test_unknown_provider_is_refused(net):
    e = net.api.error("createNetworkOffering", name="nosuch", displaytext="x", guestiptype="Shared",
                      traffictype="GUEST", supportedservices="Dhcp",
                      serviceproviderlist=[{"service": "Dhcp", "provider": "NoSuchProvider"}])
    assert "NoSuchProvider" in e.text and "VirtualRouter" in e.text, e


def test_deleting_an_offering_in_use_is_refused(net):
    edge_cd(net)
    e = net.api.error("deleteNetworkOffering", id=net.cd_offering)
    assert "deleteNetwork" in e.text or "in use" in e.text or "use it" in e.text, e
    assert net.api.one("listNetworkOfferings", "networkoffering", id=net.cd_offering)["state"] == "Enabled"
    e = net.api.error("deleteNetworkOffering", id=net.off[SHARED])
    assert "Disabled" in e.text or "default" in e.text.lower(), e


def test_nothing_answered_5xx(net, module_server):
    assert cloud.log_5xx(module_server) == []
