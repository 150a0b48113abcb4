"""Terraform's CloudStack provider, replayed with the `cs` client (issue 12).

Each test sends, in order and with the parameters the provider's Go code sends, the calls one
`terraform apply` / `plan` / `destroy` makes for a resource, and checks what the provider's Read
function would copy into the state: every field it reads must be there with the value the
configuration asked for, so a second `terraform plan` shows no diff. After a destroy, the Read
must answer what the provider's cloudstack-go client maps to "gone": `GetXByID` returns count 0
on an empty list or on a 431 whose text has "Invalid parameter id value=<id> due to incorrect
long value format, or entity does not exist" (and the resource is then dropped from the state).

Sources (read with the code search tools):
- instance, network, user data: apache/cloudstack-terraform-provider as copied in
  bddvlpr/terraform-provider-cloudstack (resource_cloudstack_instance.go @148e817,
  resource_cloudstack_network.go @18f2720, resource_cloudstack_user_data.go @0ef5bb8);
- disk, SSH key pair, tags: xanzy/terraform-provider-cloudstack @3a82cd8
  (resource_cloudstack_disk.go, resource_cloudstack_ssh_keypair.go, tags.go).
cloudstack-go joins list parameters with "," and sends maps as `tags[i].key`/`tags[i].value`
sorted by key; `cs` sends the same for Python lists and lists of dicts.
"""

from __future__ import annotations

import base64
import hashlib

import cs as cslib
import pytest

import clientenv
import cloud
from cloud import Api, b64, unique, wait_for
from test_ansible import public_key

GONE_TEXT = "Invalid parameter id value={} due to incorrect long value format, or entity does not exist"
GIB = 1 << 30


@pytest.fixture(scope="module")
def tf(module_admin) -> clientenv.ClientCloud:
    return clientenv.build(Api(module_admin), "tfzone")


@pytest.fixture(scope="module")
def custom_disk(tf) -> dict:
    """A disk offering of custom size (`size` of cloudstack_disk needs one)."""
    got = [d for d in tf.api.items("listDiskOfferings", "diskoffering") if d.get("iscustomized")]
    if got:
        return got[0]
    return tf.api.call("createDiskOffering", name=unique("tf-custom"), displaytext="custom size",
                       customized=True)["diskoffering"]


@pytest.fixture(scope="module")
def tf_net(tf) -> dict:
    """A network for the instances (created the way cloudstack_network does, see below)."""
    return tf.api.call("createNetwork", name="tf-vm-net", displaytext="tf-vm-net", zoneid=tf.zone.id,
                       networkofferingid=tf.isolated_offering, gateway="10.77.1.1",
                       netmask="255.255.255.0")["network"]


# --------------------------------------------------------------------------- helpers


def by_id(api: Api, command: str, key: str, rid: str, **extra) -> dict | None:
    """cloudstack-go GetXByID: the object, or None where the provider would drop the resource
    from the state (count 0, or the 431 text it recognises). Anything else fails the test, as
    the provider would fail the plan."""
    try:
        r = api.raw(command, id=rid, **extra)
    except cslib.CloudStackApiException as e:
        text = (e.error or {}).get("errortext", "") if isinstance(e.error, dict) else str(e.error)
        assert GONE_TEXT.format(rid) in text, f"{command} id={rid}: the provider cannot tell 'gone' from {text!r}"
        return None
    items = r.get(key, [])
    if r.get("count", len(items)) == 0:
        assert items == [], r
        return None
    assert len(items) == 1 and r["count"] == 1, f"{command} id={rid}: 'more then one result' for the provider: {r}"
    return items[0]


def tag_map(obj: dict) -> dict[str, str]:
    """tagsToMap: what the provider stores as `tags`."""
    return {t["key"]: t["value"] for t in obj.get("tags", [])}


def tag_list(tags: dict[str, str]) -> list[dict]:
    """cloudstack-go's tags map on the wire: tags[i].key / tags[i].value, sorted by key."""
    return [{"key": k, "value": tags[k]} for k in sorted(tags)]


def set_tags(api: Api, rid: str, resourcetype: str, tags: dict[str, str]) -> None:
    """setTags (on create): one createTags with every configured tag, resource type as the
    resource file spells it (e.g. "userVm", "network": CloudStack matches it case-insensitively)."""
    if tags:
        api.call("createTags", resourceids=rid, resourcetype=resourcetype, tags=tag_list(tags))


def update_tags(api: Api, rid: str, resourcetype: str, old: dict[str, str], new: dict[str, str]) -> None:
    """updateTags: deleteTags of the removed or changed pairs (key and old value), then
    createTags of the added or changed ones."""
    remove = {k: v for k, v in old.items() if new.get(k) != v}
    create = {k: v for k, v in new.items() if old.get(k) != v}
    if remove:
        api.call("deleteTags", resourceids=rid, resourcetype=resourcetype, tags=tag_list(remove))
    if create:
        api.call("createTags", resourceids=rid, resourcetype=resourcetype, tags=tag_list(create))


def md5_fingerprint(pub: str) -> str:
    digest = hashlib.md5(base64.b64decode(pub.split()[1])).hexdigest()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


# --------------------------------------------------------------------------- cloudstack_ssh_keypair


def keypair_read(api: Api, name: str) -> dict | None:
    """resourceCloudStackSSHKeyPairRead: listSSHKeyPairs name=<id>; count 0 means gone."""
    r = api.raw("listSSHKeyPairs", name=name)
    if r.get("count", 0) == 0:
        assert r.get("sshkeypair", []) == [], r
        return None
    return r["sshkeypair"][0]


def test_ssh_keypair_register_create_read_delete(tf):
    api = tf.api
    # public_key set: registerSSHKeyPair name, publickey; the resource id is the name
    pub = public_key()
    name = unique("tf-key")
    api.call("registerSSHKeyPair", name=name, publickey=pub)
    got = keypair_read(api, name)
    assert got is not None and got["name"] == name, got
    assert got["fingerprint"] == md5_fingerprint(pub), got
    # no public_key: createSSHKeyPair name; private_key kept in the state from the create answer
    gen = unique("tf-gen")
    made = api.call("createSSHKeyPair", name=gen)["keypair"]
    assert "PRIVATE KEY" in made["privatekey"] and made["name"] == gen, made
    read = keypair_read(api, gen)
    assert read is not None and (read["name"], read["fingerprint"]) == (gen, made["fingerprint"]), read
    assert "privatekey" not in read, "the private key is only in the create answer"

    for n in (name, gen):
        assert api.call("deleteSSHKeyPair", name=n)["success"] in (True, "true")
        assert keypair_read(api, n) is None, f"{n} is gone for the provider"
        # a destroy of a key deleted behind Terraform's back is a success only with this text
        e = api.error("deleteSSHKeyPair", name=n)
        assert f"A key pair with name '{n}' does not exist for account" in e.text, e


# --------------------------------------------------------------------------- cloudstack_user_data


def test_user_data_register_read_delete(tf):
    api = tf.api
    content = b64("#cloud-config\nruncmd:\n  - echo {{ ds.meta_data.role }} {{ ds.meta_data.site }}\n")
    name = unique("tf-ud")
    # params is a set in the schema, sent joined with ","
    ud = api.call("registerUserData", name=name, userdata=content, params="role,site")["userdata"]
    got = by_id(api, "listUserData", "userdata", ud["id"])
    assert got is not None, ud
    # Read stores name, userdata (as listed) and the params split on ","
    assert (got["name"], got["userdata"]) == (name, content), got
    assert set(got["params"].split(",")) == {"role", "site"}, got
    assert not got.get("projectid"), got
    api.call("deleteUserData", id=ud["id"])
    assert by_id(api, "listUserData", "userdata", ud["id"]) is None


# --------------------------------------------------------------------------- cloudstack_network


def network_read(api: Api, nid: str) -> dict | None:
    # GetNetworkByID(id, WithProject(""), WithListall(true))
    return by_id(api, "listNetworks", "network", nid, listall=True)


def assert_network_state(n: dict, tf, name: str, displaytext: str, domain: str, tags: dict) -> None:
    """Every field resourceCloudStackNetworkRead copies, as the configuration has it."""
    assert (n["name"], n["displaytext"]) == (name, displaytext), n
    assert (n["cidr"], n["gateway"]) == ("10.88.0.0/24", "10.88.0.1"), n
    assert n.get("networkdomain") == domain, n
    assert n.get("vpcid", "") == "" and n.get("aclid", "") == "", n  # read as "" and "none"
    assert n["account"] == "admin", n
    assert tag_map(n) == tags, n
    assert n["domain"] == "ROOT" and n["domainid"], n
    assert (n["networkofferingname"], n["networkofferingid"]) == (clientenv.ISOLATED, tf.isolated_offering), n
    assert (n["zonename"], n["zoneid"]) == (tf.zone.name, tf.zone.id), n
    assert not n.get("projectid"), n


def test_network_create_read_update_destroy(tf):
    api = tf.api
    offering = api.one("listNetworkOfferings", "networkoffering", id=tf.isolated_offering)
    assert offering["specifyipranges"] is False, "parseCIDR sends startip/endip only when it is true"
    name, tags = unique("tf-net"), {"env": "dev", "tier": "web"}
    # cidr 10.88.0.0/24 -> parseCIDR: gateway .1, netmask, no start/end ip
    net = api.call("createNetwork", name=name, displaytext="front end", networkofferingid=tf.isolated_offering,
                   zoneid=tf.zone.id, gateway="10.88.0.1", netmask="255.255.255.0",
                   networkdomain="front.tf.internal")["network"]
    set_tags(api, net["id"], "network", tags)
    n = network_read(api, net["id"])
    assert n is not None
    assert_network_state(n, tf, name, "front end", "front.tf.internal", tags)

    # name/display_text change: updateNetwork sends both; network_domain: networkdomain
    new_name, new_tags = unique("tf-net2"), {"env": "prod", "owner": "ops"}
    r = api.call("updateNetwork", id=net["id"], name=new_name, displaytext="front end v2",
                 networkdomain="v2.tf.internal")
    assert r["network"]["id"] == net["id"], r
    update_tags(api, net["id"], "Network", tags, new_tags)
    n = network_read(api, net["id"])
    assert n is not None
    assert_network_state(n, tf, new_name, "front end v2", "v2.tf.internal", new_tags)

    api.call("deleteNetwork", id=net["id"])
    assert wait_for(lambda: network_read(api, net["id"]) is None, timeout=10), "the network is gone"
    assert api.items("listTags", "tag", resourceid=net["id"]) == [], "its tags went with it"


# --------------------------------------------------------------------------- cloudstack_instance


class Instance:
    """The instance a cloudstack_instance configuration describes, and what its Read checks."""

    def __init__(self, tf, net: dict, **cfg):
        self.tf, self.net = tf, net
        self.cfg = dict(display_name=None, group="", root_disk_size=None, tags={}, keypairs=None,
                        service_offering=tf.small_offering) | cfg
        self.id = ""

    def create(self, **extra) -> dict:
        c = self.cfg
        # NewDeployVirtualMachineParams(serviceofferingid, templateid, zoneid), always startvm;
        # displayname falls back to the name; networkids for an Advanced zone.
        p = dict(serviceofferingid=c["service_offering"]["id"], templateid=self.tf.template["id"],
                 zoneid=self.tf.zone.id, startvm=True, name=c["name"],
                 displayname=c["display_name"] or c["name"], networkids=[self.net["id"]])
        if c["root_disk_size"]:
            p["rootdisksize"] = c["root_disk_size"]
        if c["group"]:
            p["group"] = c["group"]
        if c.get("keypair"):
            p["keypair"] = c["keypair"]
        if c["keypairs"]:
            p["keypairs"] = c["keypairs"]
        if c.get("user_data"):
            p["userdata"] = b64(c["user_data"])  # getUserData: base64 unless it already is
        p.update(extra)
        vm = self.tf.api.call("deployVirtualMachine", post=True, **p)["virtualmachine"]
        self.id = vm["id"]
        set_tags(self.tf.api, self.id, "userVm", c["tags"])
        assert vm["nic"][0]["ipaddress"], "the provider reads Nic[0].Ipaddress for the connection info"
        return vm

    def read(self) -> dict | None:
        return by_id(self.tf.api, "listVirtualMachines", "virtualmachine", self.id)

    def assert_no_drift(self) -> dict:
        """Every field resourceCloudStackInstanceRead copies into the state, as configured."""
        c, api = self.cfg, self.tf.api
        vm = self.read()
        assert vm is not None, f"instance {self.id} is listed"
        assert (vm["name"], vm["displayname"]) == (c["name"], c["display_name"] or c["name"]), vm
        assert vm.get("group", "") == c["group"], vm
        assert (vm["nic"][0]["networkid"], bool(vm["nic"][0]["ipaddress"])) == (self.net["id"], True), vm
        assert tag_map(vm) == c["tags"], vm
        so = c["service_offering"]
        assert (vm["serviceofferingname"], vm["serviceofferingid"]) == (so["name"], so["id"]), vm
        assert (vm["templatename"], vm["templateid"]) == (self.tf.template["name"], self.tf.template["id"]), vm
        assert (vm["zonename"], vm["zoneid"]) == (self.tf.zone.name, self.tf.zone.id), vm
        assert vm.get("boottype", "BIOS").upper() != "UEFI", vm  # uefi = false
        assert not vm.get("projectid"), vm
        # listVolumes type=ROOT virtualmachineid=<id>: exactly one, size >> 30 is root_disk_size
        roots = api.items("listVolumes", "volume", type="ROOT", virtualmachineid=self.id)
        assert len(roots) == 1, roots
        if c["root_disk_size"]:
            assert roots[0]["size"] >> 30 == c["root_disk_size"], roots[0]
        keys = c["keypairs"] or ([c["keypair"]] if c.get("keypair") else [])
        if keys:
            assert sorted(vm["keypairs"].split(",")) == sorted(keys), vm
        if c.get("user_data"):
            ud = api.raw("getVirtualMachineUserData", virtualmachineid=self.id)["virtualmachineuserdata"]
            assert base64.b64decode(ud["userdata"]).decode() == c["user_data"], ud
        return vm

    def destroy(self, expunge: bool = True) -> None:
        # destroyVirtualMachine id (+ expunge=true when the configuration says expunge = true)
        p = {"id": self.id}
        if expunge:
            p["expunge"] = True
        self.tf.api.call("destroyVirtualMachine", **p)


def new_key(api: Api) -> str:
    name = unique("tf-vmkey")
    api.call("createSSHKeyPair", name=name)
    return name


def test_instance_create_read_update_destroy(tf, tf_net):
    api = tf.api
    key1, key2 = new_key(api), new_key(api)
    inst = Instance(tf, tf_net, name=unique("tf-vm"), display_name="Terraform VM", group=unique("tf-grp"),
                    root_disk_size=12, keypair=key1, user_data="#cloud-config\nruncmd: [echo one]\n",
                    tags={"env": "dev", "role": "app"})
    vm = inst.create()
    assert vm["state"] == "Running", vm
    inst.assert_no_drift()

    # display_name, then group: one updateVirtualMachine each, on the running VM
    inst.cfg["display_name"] = "Terraform VM v2"
    api.call("updateVirtualMachine", id=inst.id, displayname=inst.cfg["display_name"])
    inst.cfg["group"] = unique("tf-grp2")
    api.call("updateVirtualMachine", id=inst.id, group=inst.cfg["group"])
    inst.assert_no_drift()

    # name, service_offering, keypair, user_data: stop, one call per attribute, start
    api.call("stopVirtualMachine", id=inst.id)
    inst.cfg["name"] = unique("tf-vm2")
    api.call("updateVirtualMachine", id=inst.id, name=inst.cfg["name"])
    inst.cfg["service_offering"] = tf.medium_offering
    api.call("changeServiceForVirtualMachine", id=inst.id, serviceofferingid=tf.medium_offering["id"])
    inst.cfg["keypair"] = key2
    api.call("resetSSHKeyForVirtualMachine", id=inst.id, keypair=key2)
    inst.cfg["user_data"] = "#cloud-config\nruncmd: [echo two]\n"
    api.call("updateVirtualMachine", id=inst.id, userdata=b64(inst.cfg["user_data"]))
    assert api.call("startVirtualMachine", id=inst.id)["virtualmachine"]["state"] == "Running"

    # tags: updateTags with resource type "UserVm"
    new_tags = {"env": "prod", "owner": "ops"}
    update_tags(api, inst.id, "UserVm", inst.cfg["tags"], new_tags)
    inst.cfg["tags"] = new_tags
    vm = inst.assert_no_drift()
    assert (vm["cpunumber"], vm["memory"]) == (tf.medium_offering["cpunumber"], tf.medium_offering["memory"]), vm

    inst.destroy(expunge=True)
    assert wait_for(lambda: inst.read() is None, timeout=15), "the expunged instance is gone for the provider"
    assert api.items("listTags", "tag", resourceid=inst.id) == [], "its tags went with it"


def test_instance_with_keypairs_list_and_no_display_name(tf, tf_net):
    """keypairs (4.17+) is sent as one comma-joined value; resetSSHKeyForVirtualMachine the same."""
    api = tf.api
    k1, k2, k3 = new_key(api), new_key(api), new_key(api)
    inst = Instance(tf, tf_net, name=unique("tf-vmk"), keypairs=[k1, k2])
    inst.create()
    inst.assert_no_drift()
    api.call("stopVirtualMachine", id=inst.id)
    inst.cfg["keypairs"] = [k2, k3]
    api.call("resetSSHKeyForVirtualMachine", id=inst.id, keypairs=inst.cfg["keypairs"])
    api.call("startVirtualMachine", id=inst.id)
    inst.assert_no_drift()
    inst.destroy(expunge=True)
    assert wait_for(lambda: inst.read() is None, timeout=15)


def registered(api: Api, text: str, params: str | None = None) -> str:
    p = dict(name=unique("tf-vmud"), userdata=b64(text))
    if params:
        p["params"] = params
    return api.call("registerUserData", **p)["userdata"]["id"]


def test_instance_with_registered_user_data(tf, tf_net):
    """userdata_id on deploy; a change of it: stop, updateVirtualMachine userdataid, start."""
    api = tf.api
    ud1, ud2 = registered(api, "#cloud-config\nruncmd: [echo ud1]\n"), registered(api, "#cloud-config\n# ud2\n")
    inst = Instance(tf, tf_net, name=unique("tf-vmud"))
    inst.create(userdataid=ud1)
    assert inst.assert_no_drift().get("userdataid") == ud1, "Read stores userdata_id from the list"
    api.call("stopVirtualMachine", id=inst.id)
    api.call("updateVirtualMachine", id=inst.id, userdataid=ud2)
    api.call("startVirtualMachine", id=inst.id)
    assert inst.assert_no_drift().get("userdataid") == ud2
    ud = api.raw("getVirtualMachineUserData", virtualmachineid=inst.id)["virtualmachineuserdata"]
    assert base64.b64decode(ud["userdata"]).decode() == "#cloud-config\n# ud2\n", ud
    inst.destroy(expunge=True)
    assert wait_for(lambda: inst.read() is None, timeout=15)


def vm_user_data(api, vm_id):
    r = api.call("getVirtualMachineUserData", virtualmachineid=vm_id)
    return base64.b64decode(r["virtualmachineuserdata"]["userdata"]).decode()


def test_instance_registered_user_data_with_details_changed(tf, tf_net):
    """userdata_id + userdata_details (userdatadetails[0].<key>=<value>) on deploy; both changed:
    stop, updateVirtualMachine userdataid, updateVirtualMachine userdatadetails, start."""
    api = tf.api
    text = "## template: jinja\n#cloud-config\nruncmd:\n  - echo {{ ds.meta_data.role }} %s\n"
    ud1, ud2 = (registered(api, text % n, params="role") for n in (1, 2))
    inst = Instance(tf, tf_net, name=unique("tf-vmudd"))
    inst.create(userdataid=ud1, userdatadetails=[{"role": "web"}])
    try:
        assert inst.assert_no_drift().get("userdataid") == ud1
        api.call("stopVirtualMachine", id=inst.id)
        api.call("updateVirtualMachine", id=inst.id, userdataid=ud2)
        # CloudStack keeps the VM's details when only userdataid changes ...
        assert "echo web 2" in vm_user_data(api, inst.id)
        api.call("updateVirtualMachine", id=inst.id, userdatadetails=[{"role": "db"}])
        # ... and details alone re-render the VM's registered user data.
        assert "echo db 2" in vm_user_data(api, inst.id)
        api.call("startVirtualMachine", id=inst.id)
        assert inst.assert_no_drift().get("userdataid") == ud2
    finally:
        inst.destroy(expunge=True)


def test_instance_start_vm_false_then_destroy_without_expunge(tf, tf_net):
    """start_vm = false deploys a Stopped VM; a destroy without expunge leaves it Destroyed and
    still listed (CloudStack keeps it until expunged), so the provider's Read still finds it."""
    api = tf.api
    inst = Instance(tf, tf_net, name=unique("tf-vms"))
    vm = inst.create(startvm=False)
    assert vm["state"] == "Stopped", vm
    inst.assert_no_drift()
    inst.destroy(expunge=False)
    vm = inst.read()
    assert vm is not None and vm["state"] == "Destroyed", vm
    api.call("expungeVirtualMachine", id=inst.id)
    assert wait_for(lambda: inst.read() is None, timeout=15)


def test_unknown_ids_read_as_gone(tf):
    """A state whose resource was removed behind Terraform's back: an id the server does not
    know answers the 431 text cloudstack-go maps to count 0 (or an empty list)."""
    ghost = "5f1d1c59-0000-4000-8000-00000000beef"
    for command, key, extra in (("listVirtualMachines", "virtualmachine", {}), ("listVolumes", "volume", {}),
                                ("listNetworks", "network", {"listall": True}), ("listUserData", "userdata", {}),
                                ("listTemplates", "template", {"templatefilter": "executable"})):
        assert by_id(tf.api, command, key, ghost, **extra) is None, command


# --------------------------------------------------------------------------- cloudstack_disk


def disk_read(api: Api, vid: str) -> dict | None:
    return by_id(api, "listVolumes", "volume", vid)


def assert_disk_state(api: Api, tf, vid: str, name: str, offering: dict, size: int, vm: str | None,
                      tags: dict) -> dict:
    """Every field resourceCloudStackDiskRead copies: name, attach (virtualmachineid set), size in
    GiB, tags, disk_offering, zone, and device_id / virtual_machine_id when attached."""
    v = disk_read(api, vid)
    assert v is not None, vid
    assert v["name"] == name and v["size"] // GIB == size, v
    assert (v["diskofferingname"], v["diskofferingid"]) == (offering["name"], offering["id"]), v
    assert (v["zonename"], v["zoneid"]) == (tf.zone.name, tf.zone.id), v
    assert tag_map(v) == tags, v
    assert v.get("virtualmachineid") == vm, v
    if vm:
        assert isinstance(v["deviceid"], int) and v["deviceid"] >= 1, v
    return v


def is_attached(api: Api, vid: str) -> bool:
    v = disk_read(api, vid)
    assert v is not None
    return bool(v.get("virtualmachineid"))


def test_disk_create_attach_resize_detach_destroy(tf, tf_net, custom_disk):
    api = tf.api
    inst = Instance(tf, tf_net, name=unique("tf-dvm"))
    inst.create()
    name, tags = unique("tf-disk"), {"backup": "daily"}
    # createVolume name, diskofferingid, size (custom offering), zoneid; setTags "Volume"
    vol = api.call("createVolume", name=name, diskofferingid=custom_disk["id"], size=5,
                   zoneid=tf.zone.id)["volume"]
    set_tags(api, vol["id"], "Volume", tags)
    # attach = true: isAttached (listVolumes id) then attachVolume id, virtualmachineid
    assert not is_attached(api, vol["id"])
    api.call("attachVolume", id=vol["id"], virtualmachineid=inst.id)
    assert_disk_state(api, tf, vol["id"], name, custom_disk, 5, inst.id, tags)

    # size 5 -> 8: detach, resizeVolume id, diskofferingid, size, shrinkok=false, attach again
    assert is_attached(api, vol["id"])
    api.call("detachVolume", id=vol["id"])
    r = api.call("resizeVolume", id=vol["id"], diskofferingid=custom_disk["id"], size=8, shrinkok=False)
    assert r["volume"]["id"] == vol["id"], r
    assert not is_attached(api, vol["id"])
    api.call("attachVolume", id=vol["id"], virtualmachineid=inst.id)
    new_tags = {"backup": "weekly"}
    update_tags(api, vol["id"], "Volume", tags, new_tags)
    assert_disk_state(api, tf, vol["id"], name, custom_disk, 8, inst.id, new_tags)

    # attach = false: detachVolume id
    api.call("detachVolume", id=vol["id"])
    assert_disk_state(api, tf, vol["id"], name, custom_disk, 8, None, new_tags)

    # destroy: detach if attached (it is not), deleteVolume id; the Read then finds nothing
    assert not is_attached(api, vol["id"])
    api.call("deleteVolume", id=vol["id"])
    assert wait_for(lambda: disk_read(api, vol["id"]) is None, timeout=10), "the deleted disk is gone"
    inst.destroy(expunge=True)


def test_disk_of_a_fixed_offering_sends_no_size(tf, tf_net):
    """size = 0 (unset): createVolume without size; the Read stores the offering's size."""
    api = tf.api
    assert tf.disk_offering, "a fixed-size disk offering is listed"
    name = unique("tf-fixed")
    vol = api.call("createVolume", name=name, diskofferingid=tf.disk_offering["id"], zoneid=tf.zone.id)["volume"]
    assert_disk_state(api, tf, vol["id"], name, tf.disk_offering, tf.disk_offering["disksize"], None, {})
    api.call("deleteVolume", id=vol["id"])
    assert wait_for(lambda: disk_read(api, vol["id"]) is None, timeout=10)


# --------------------------------------------------------------------------- cloudstack_template


def template_read(api: Api, tid: str) -> dict | None:
    # GetTemplateByID(id, "executable"): listTemplates templatefilter=executable id=<id>
    return by_id(api, "listTemplates", "template", tid, templatefilter="executable")


def assert_template_state(api: Api, tf, tid: str, want: dict, tags: dict) -> dict:
    """Every field resourceCloudStackTemplateRead copies, as configured."""
    t = template_read(api, tid)
    assert t is not None, tid
    got = {k: t.get(k) for k in want}
    assert got == want, t
    assert t["hypervisor"] == "Simulator" and t["isready"] is True, t
    assert tag_map(t) == tags, t
    assert (t["zonename"], t["zoneid"]) == (tf.zone.name, tf.zone.id), t
    assert t["ostypename"] and not t.get("projectid"), t
    return t


def test_template_register_wait_update_delete(tf):
    api = tf.api
    os1, os2 = [o["id"] for o in api.items("listOsTypes", "ostype")[:2]]
    name, tags = unique("tf-tmpl"), {"os": "linux"}
    # NewRegisterTemplateParams(displaytext, format, hypervisor, name, ostypeid, url); the
    # booleans only when true; zoneid when set
    r = api.call("registerTemplate", displaytext="tf template", format="QCOW2", hypervisor="Simulator",
                 name=name, ostypeid=os1, url="http://images.example.org/tf.qcow2", isdynamicallyscalable=True,
                 isextractable=True, isfeatured=True, ispublic=True, passwordenabled=True, zoneid=tf.zone.id)
    tid = r["template"][0]["id"]
    set_tags(api, tid, "Template", tags)
    # the create polls the Read until is_ready
    assert wait_for(lambda: (template_read(api, tid) or {}).get("isready"), timeout=30), "template never ready"
    want = dict(name=name, displaytext="tf template", format="QCOW2", isdynamicallyscalable=True,
                isextractable=True, isfeatured=True, ispublic=True, passwordenabled=True, ostypeid=os1)
    assert_template_state(api, tf, tid, want, tags)

    # one updateTemplate with the changed attributes
    new_name = unique("tf-tmpl2")
    api.call("updateTemplate", id=tid, name=new_name, displaytext="tf template v2", format="RAW",
             isdynamicallyscalable=False, ostypeid=os2, passwordenabled=False)
    new_tags = {"os": "linux", "team": "infra"}
    update_tags(api, tid, "Template", tags, new_tags)
    want |= dict(name=new_name, displaytext="tf template v2", format="RAW", isdynamicallyscalable=False, ostypeid=os2,
                 passwordenabled=False)
    assert_template_state(api, tf, tid, want, new_tags)

    api.call("deleteTemplate", id=tid)
    assert wait_for(lambda: template_read(api, tid) is None, timeout=15), "the deleted template is gone"


def test_nothing_answered_5xx(tf, module_server):
    assert cloud.log_5xx(module_server) == []
