"""Virtual machines with the `cs` client: lifecycle and the fields libcloud reads, NICs and ROOT
volumes, user data (inline base64, limits, large via POST, registered user data with
variables, reset on a stopped VM), SSH key pairs, and the config drive the simulator keeps
under `<data dir>/simulator/configdrive/<instancename>.iso` (extracted with xorriso).
"""

import base64
import json
import shutil
import subprocess

import cs as cslib
import pytest

import cloud
from cloud import Api, b64, wait_for
from conftest import Creds, new_account, run_cs_cli, unique

USER_DATA = "#cloud-config\nruncmd:\n  - echo hello from ferrostack\n"
LIBCLOUD_FIELDS = {"id", "name", "displayname", "state", "nic", "templateid", "templatename", "serviceofferingid",
                   "serviceofferingname", "zoneid", "zonename", "created", "hypervisor", "cpunumber", "memory"}


class Cloud:
    def __init__(self, api: Api, data_dir):
        self.api = api
        self.data_dir = data_dir
        # Core zone: shared network, the seeded guest template, the seeded system VM template.
        self.core = cloud.bring_up(api, "vmcore", edge=False, hosts=1)
        shared = cloud.network_offering(api, "DefaultSharedNetworkOffering")
        self.core_net = cloud.shared_network(api, self.core, "core-net", shared, 300, 30)
        seeded = [t for t in api.items("listTemplates", "template", templatefilter="all", zoneid=self.core.id)
                  if t["templatetype"] != "SYSTEM"]
        assert seeded, "a seeded guest template is listed in the core zone"
        # it is copied to the new image store first (polled like any download)
        self.core_template = wait_for(lambda: cloud.template_ready(api, seeded[0]["id"], self.core.id), timeout=20)
        assert self.core_template, f"seeded template never ready in the core zone: {seeded[0]}"
        # Edge zone: a direct-download router template, a ConfigDrive network and a VR network.
        self.edge = cloud.bring_up(api, "vmedge", edge=True, hosts=1)
        cloud.register_template(api, self.edge, "vm-edge-systemvm", direct=True, routing=True)
        api.config("router.template.simulator", "vm-edge-systemvm", zoneid=self.edge.id)
        self.edge_template = cloud.register_template(api, self.edge, "vm-edge-guest", direct=True)
        self.cd_net = cloud.shared_network(api, self.edge, "cd-net", cloud.configdrive_offering(api, "VmCD"), 301, 31)
        self.vr_net = cloud.shared_network(api, self.edge, "vr-net", shared, 302, 32)

    def deploy_core(self, **extra) -> dict:
        j = cloud.deploy(self.api, self.core, self.core_template["id"], self.core_net["id"], **extra)
        assert j["jobstatus"] == 1, j
        return j["jobresult"]["virtualmachine"]

    def deploy_cd(self, **extra) -> dict:
        j = cloud.deploy(self.api, self.edge, self.edge_template, self.cd_net["id"], **extra)
        assert j["jobstatus"] == 1, j
        return j["jobresult"]["virtualmachine"]

    def iso(self, vm: dict):
        return cloud.configdrive_iso(self.data_dir, vm["instancename"])


@pytest.fixture(scope="module")
def c(module_admin, module_server) -> Cloud:
    return Cloud(Api(module_admin), module_server.data_dir)


def vm_of(api: Api, vmid: str) -> dict:
    return api.one("listVirtualMachines", "virtualmachine", id=vmid, listall=True)


def gone(api: Api, vmid: str) -> bool:
    # As in CloudStack, an expunged VM's id answers an empty list (scripts poll "until gone"),
    # never an error.
    return api.raw("listVirtualMachines", id=vmid, listall=True).get("virtualmachine", []) == []


def user_data_of(api: Api, vmid: str) -> str:
    r = api.raw("getVirtualMachineUserData", virtualmachineid=vmid)["virtualmachineuserdata"]
    assert r["virtualmachineid"] == vmid, r
    return base64.b64decode(r.get("userdata") or "").decode()


def extracted(c: Cloud, vm: dict, tmp_path):
    iso = c.iso(vm)
    assert iso.exists(), f"no config drive at {iso}"
    return cloud.extract_iso(iso, tmp_path / vm["instancename"])


# --------------------------------------------------------------------------- lifecycle


def test_deploy_answers_the_fields_libcloud_reads(c):
    name = cloud.unique("web")
    vm = c.deploy_core(name=name, displayname="Web server", userdata=b64(USER_DATA))
    listed = vm_of(c.api, vm["id"])
    for v in (vm, listed):
        assert LIBCLOUD_FIELDS <= set(v), sorted(LIBCLOUD_FIELDS - set(v))
        assert (v["name"], v["displayname"], v["state"]) == (name, "Web server", "Running"), v
        assert (v["templateid"], v["templatename"]) == (c.core_template["id"], c.core_template["name"]), v
        assert v["serviceofferingid"] == cloud.service_offering(c.api) and v["serviceofferingname"] == "Small Instance"
        assert (v["zoneid"], v["zonename"]) == (c.core.id, "vmcore"), v
        assert v["ostypeid"] == c.core_template["ostypeid"] and v["hypervisor"] == "Simulator", v
        nic = v["nic"][0]
        assert nic["networkid"] == c.core_net["id"] and nic["isdefault"] is True, nic
        assert nic["ipaddress"].startswith("10.30.0.") and nic["macaddress"] and nic["gateway"] == "10.30.0.1", nic
    assert user_data_of(c.api, vm["id"]) == USER_DATA
    assert vm["id"] in {x["id"] for x in c.api.items("listVirtualMachines", "virtualmachine", networkid=c.core_net["id"])}


def test_stop_start_reboot(c, module_admin):
    vm = c.deploy_core()
    assert c.api.call("stopVirtualMachine", id=vm["id"])["virtualmachine"]["state"] == "Stopped"
    assert vm_of(c.api, vm["id"])["state"] == "Stopped"
    assert c.api.call("startVirtualMachine", id=vm["id"])["virtualmachine"]["state"] == "Running"
    proc, out = run_cs_cli(module_admin, "rebootVirtualMachine", f"id={vm['id']}", post=True)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert out["virtualmachine"]["state"] == "Running", out
    # starting a Running VM is harmless (CloudStack answers the running VM)
    assert c.api.call("startVirtualMachine", id=vm["id"])["virtualmachine"]["state"] == "Running"


def test_destroy_and_recover(c):
    vm = c.deploy_core()
    d = c.api.call("destroyVirtualMachine", id=vm["id"])["virtualmachine"]
    assert d["state"] == "Destroyed", d
    assert vm_of(c.api, vm["id"])["state"] == "Destroyed"
    r = c.api.raw("recoverVirtualMachine", id=vm["id"])["virtualmachine"]
    assert r["state"] == "Stopped", r
    assert c.api.call("startVirtualMachine", id=vm["id"])["virtualmachine"]["state"] == "Running"


def test_destroy_expunge(c):
    vm = c.deploy_core()
    root = c.api.one("listVolumes", "volume", virtualmachineid=vm["id"])
    c.api.call("destroyVirtualMachine", id=vm["id"], expunge=True)
    assert wait_for(lambda: gone(c.api, vm["id"]), timeout=10), "expunged VM is no longer listed"
    # Its root volume went with it: listed by id, an empty answer, as in CloudStack.
    assert c.api.items("listVolumes", "volume", id=root["id"]) == []
    e = c.api.error("listVolumes", id="5f1d1c59-0000-4000-8000-000000000009")
    assert e.status == 431, e
    e = c.api.error("recoverVirtualMachine", id=vm["id"])
    assert e.status == 431, e
    # An id that never existed is still an error.
    e = c.api.error("listVirtualMachines", id="5f1d1c59-0000-4000-8000-000000000000")
    assert e.status == 431, e


def test_nics_and_root_volume(c):
    vm = c.deploy_core()
    nics = c.api.items("listNics", "nic", virtualmachineid=vm["id"])
    assert len(nics) == 1, nics
    n = nics[0]
    assert (n["networkid"], n["virtualmachineid"], n["isdefault"]) == (c.core_net["id"], vm["id"], True), n
    assert n["ipaddress"] == vm["nic"][0]["ipaddress"] and n["netmask"] == "255.255.255.0", n
    vols = c.api.items("listVolumes", "volume", virtualmachineid=vm["id"])
    root = [v for v in vols if v["type"] == "ROOT"]
    assert len(root) == 1, vols
    assert root[0]["virtualmachineid"] == vm["id"] and root[0]["size"] > 0 and root[0]["zoneid"] == c.core.id, root


# --------------------------------------------------------------------------- user data


@pytest.mark.parametrize("param", [
    {"rootdisksize": "0"},
    {"diskofferingid": "5f1d1c59-0000-4000-8000-000000000001"},
    {"affinitygroupnames": "spread"},
    {"securitygroupids": "5f1d1c59-0000-4000-8000-000000000002"},
    {"projectid": "5f1d1c59-0000-4000-8000-000000000003"},
    {"details[0].cpuNumber": "4"},
    {"boottype": "UEFI"},
    {"displayvm": "false"},
    {"hypervisor": "VMware"},
])
def test_deploy_refuses_what_it_would_not_do(c, param):
    # A VM without what was asked is worse than an error: each of these is refused, naming it,
    # and nothing is created.
    name = unique("refused")
    e = c.api.error("deployVirtualMachine", zoneid=c.core.id, serviceofferingid=cloud.service_offering(c.api),
                    templateid=c.core_template["id"], networkids=c.core_net["id"], name=name, **param)
    assert e.status == 431, e
    assert list(param)[0].split("[")[0] in e.text, e
    assert c.api.items("listVirtualMachines", "virtualmachine", name=name) == []


def test_deploy_accepts_the_defaults_clients_send(c):
    vm = c.deploy_core(boottype="BIOS", displayvm="true", copyimagetags="false", hypervisor="simulator",
                       keyboard="us")
    assert vm["state"] == "Running", vm
    # listApis advertises only what deploy honours.
    api = c.api.one("listApis", "api", name="deployVirtualMachine")
    names = {p["name"] for p in api["params"]}
    assert "diskofferingid" in names and "rootdisksize" in names and "details" not in names, names


def test_instance_groups(c):
    name = unique("grp")
    g = c.api.call("createInstanceGroup", name=name)["instancegroup"]
    assert (g["name"], g["account"], g["domain"]) == (name, "admin", "ROOT") and g["id"] and g["created"], g
    e = c.api.error("createInstanceGroup", name=name.upper())
    assert "already exists" in e.text, e
    # Deploy into it by name; a name that is no group yet makes one.
    vm = c.deploy_core(group=name)
    assert (vm["group"], vm["groupid"]) == (name, g["id"]), vm
    other = unique("grp2")
    vm2 = c.deploy_core(group=other)
    made = c.api.one("listInstanceGroups", "instancegroup", name=other)
    assert vm2["groupid"] == made["id"], vm2
    # Renaming the group renames it on its VMs; moving and leaving go through updateVirtualMachine.
    renamed = unique("grp3")
    assert c.api.call("updateInstanceGroup", id=g["id"], name=renamed)["instancegroup"]["name"] == renamed
    assert vm_of(c.api, vm["id"])["group"] == renamed
    moved = c.api.call("updateVirtualMachine", id=vm["id"], group=other)["virtualmachine"]
    assert moved["groupid"] == made["id"], moved
    left = c.api.call("updateVirtualMachine", id=vm["id"], group="")["virtualmachine"]
    assert "group" not in left and "groupid" not in left, left
    # Deleting a group leaves its VMs, in no group.
    c.api.call("deleteInstanceGroup", id=made["id"])
    assert "groupid" not in vm_of(c.api, vm2["id"])
    assert c.api.items("listInstanceGroups", "instancegroup", id=made["id"]) == []
    e = c.api.error("deleteInstanceGroup", id=made["id"])
    assert e.status == 431, e


def test_instance_groups_are_their_accounts(c, module_admin):
    g = c.api.call("createInstanceGroup", name=unique("mine"))["instancegroup"]
    acct = new_account(c.api.cs)
    u = acct["user"][0]
    keys = c.api.cs.registerUserKeys(id=u["id"])["userkeys"]
    user = Api(Creds(endpoint=module_admin.endpoint, key=keys["apikey"], secret=keys["secretkey"], userid=u["id"],
                     username=u["username"], accountid=acct["id"], account=acct["name"], domainid=acct["domainid"]))
    # Another account neither sees nor touches it; its own group of the same name is its own.
    assert g["id"] not in {x["id"] for x in user.items("listInstanceGroups", "instancegroup", listall=True)}
    e = user.error("deleteInstanceGroup", id=g["id"])
    assert e.status == 431, e
    own = user.call("createInstanceGroup", name=g["name"])["instancegroup"]
    assert own["account"] == acct["name"] and own["id"] != g["id"], own


def test_ids_lists_exactly_those(c):
    vms = [c.deploy_core() for _ in range(3)]
    two = [vms[0]["id"], vms[2]["id"]]
    got = c.api.items("listVirtualMachines", "virtualmachine", ids=",".join(two))
    assert sorted(v["id"] for v in got) == sorted(two), got
    vols = {c.api.one("listVolumes", "volume", virtualmachineid=v)["id"] for v in two}
    got = c.api.items("listVolumes", "volume", ids=",".join(vols))
    assert {v["id"] for v in got} == vols, got
    e = c.api.error("listVirtualMachines", id=two[0], ids=",".join(two))
    assert "Specify either id or ids but not both parameters" in e.text, e
    e = c.api.error("listVirtualMachines", ids="not-a-uuid")
    assert e.status == 431, e


def test_invalid_base64_user_data_is_431(c):
    e = c.api.error("deployVirtualMachine", zoneid=c.core.id, serviceofferingid=cloud.service_offering(c.api),
                    templateid=c.core_template["id"], networkids=c.core_net["id"], userdata="not*base64!")
    assert "base64" in e.text, e


def test_user_data_over_max_length_is_431(c):
    limit = int(c.api.one("listConfigurations", "configuration", name="vm.userdata.max.length")["value"])
    too_long = b64("x" * (limit // 4 * 3 + 300))
    assert len(too_long) > limit
    e = c.api.error("deployVirtualMachine", post=True, zoneid=c.core.id,
                    serviceofferingid=cloud.service_offering(c.api), templateid=c.core_template["id"],
                    networkids=c.core_net["id"], userdata=too_long)
    assert "vm.userdata.max.length" in e.text, e


def test_large_user_data_via_post(c):
    big = "#cloud-config\n" + "# padding line for a large user data blob\n" * 500
    assert 16000 < len(b64(big)) <= 32768
    vm = c.deploy_core(userdata=b64(big))  # cloud.deploy sends POST
    assert user_data_of(c.api, vm["id"]) == big


def test_registered_user_data_with_details(c, tmp_path):
    content = "## template: jinja\n#cloud-config\nruncmd:\n  - echo {{ ds.meta_data.role }}\n"
    ud = c.api.call("registerUserData", name=cloud.unique("ud"), userdata=b64(content), params="role")["userdata"]
    assert ud["params"] == "role", ud
    vm = c.deploy_cd(userdataid=ud["id"], userdatadetails=[{"role": "web"}])
    assert "echo" in user_data_of(c.api, vm["id"])
    out = extracted(c, vm, tmp_path)
    meta = json.loads((out / "openstack/latest/meta_data.json").read_text())
    assert meta.get("role") == "web", f"userdatadetails become metadata: {meta}"
    assert (out / "openstack/latest/user_data").read_text() == user_data_of(c.api, vm["id"])
    listed = vm_of(c.api, vm["id"])
    declared = {f["name"] for f in c.api.one("listApis", "api", name="listVirtualMachines")["response"]}
    assert "userdataid" in declared
    assert listed.get("userdataid") == ud["id"], f"listVirtualMachines declares userdataid but answers {listed}"


def test_reset_user_data_on_a_stopped_vm(c):
    vm = c.deploy_core(userdata=b64("first"))
    e = c.api.error("resetUserDataForVirtualMachine", id=vm["id"], userdata=b64("second"))
    assert "stop" in e.text.lower(), e
    c.api.call("stopVirtualMachine", id=vm["id"])
    r = c.api.raw("resetUserDataForVirtualMachine", id=vm["id"], userdata=b64("second"))["virtualmachine"]
    assert r["id"] == vm["id"] and r["state"] == "Stopped", r
    assert user_data_of(c.api, vm["id"]) == "second"
    assert c.api.call("startVirtualMachine", id=vm["id"])["virtualmachine"]["state"] == "Running"
    assert user_data_of(c.api, vm["id"]) == "second"


def test_ssh_key_pair_deploy(c):
    name = cloud.unique("key")
    kp = c.api.call("createSSHKeyPair", name=name)["keypair"]
    assert kp["name"] == name and "PRIVATE KEY" in kp["privatekey"] and kp["fingerprint"], kp
    vm = c.deploy_core(keypair=name)
    listed = vm_of(c.api, vm["id"])
    # CloudStack 4.17+ answers keypairs (the field Terraform and Ansible read); keypair stays for older clients.
    assert (listed["keypairs"], listed["keypair"]) == (name, name), listed
    e = c.api.error("deployVirtualMachine", zoneid=c.core.id, serviceofferingid=cloud.service_offering(c.api),
                    templateid=c.core_template["id"], networkids=c.core_net["id"], keypair="no-such-key")
    assert "no-such-key" in e.text, e


# --------------------------------------------------------------------------- config drive


def test_config_drive_iso_contents(c, tmp_path):
    kp = c.api.call("createSSHKeyPair", name=cloud.unique("cdkey"))["keypair"]
    name = cloud.unique("cdvm")
    vm = c.deploy_cd(name=name, userdata=b64(USER_DATA), keypair=kp["name"])
    assert vm["nic"][0]["networkid"] == c.cd_net["id"]
    out = extracted(c, vm, tmp_path)
    meta = json.loads((out / "openstack/latest/meta_data.json").read_text())
    assert meta["uuid"] == vm["id"] and meta["hostname"] == name, meta
    assert meta.get("availability_zone") == "vmedge", meta
    assert any(k.get("data", "").startswith("ssh-rsa ") for k in meta.get("keys", [])), meta
    assert (out / "openstack/latest/user_data").read_text() == USER_DATA
    assert (out / "cloudstack/userdata/user_data.txt").read_text() == USER_DATA
    assert (out / "cloudstack/metadata/vm-id.txt").read_text().strip() in (vm["id"], str(vm["id"]))
    assert cloud.iso_volume_id(c.iso(vm)) == "config-2"
    if shutil.which("isoinfo"):
        info = subprocess.run(["isoinfo", "-d", "-i", str(c.iso(vm))], capture_output=True, text=True).stdout
        assert "Volume id: config-2" in info, info


def test_vr_network_vm_gets_no_config_drive(c):
    j = cloud.deploy(c.api, c.edge, c.edge_template, c.vr_net["id"], userdata=b64(USER_DATA))
    assert j["jobstatus"] == 1, j
    vm = j["jobresult"]["virtualmachine"]
    assert not c.iso(vm).exists(), "user data of a VirtualRouter network is served by the router"
    assert user_data_of(c.api, vm["id"]) == USER_DATA


def test_config_drive_follows_reset_user_data_and_stop(c, tmp_path):
    vm = c.deploy_cd(userdata=b64("v1"))
    iso = c.iso(vm)
    assert iso.exists()
    c.api.call("stopVirtualMachine", id=vm["id"])
    assert wait_for(lambda: not iso.exists(), timeout=10), f"ISO removed after stop: {iso}"
    c.api.raw("resetUserDataForVirtualMachine", id=vm["id"], userdata=b64("v2 #cloud-config"))
    c.api.call("startVirtualMachine", id=vm["id"])
    out = extracted(c, vm, tmp_path)
    assert (out / "openstack/latest/user_data").read_text() == "v2 #cloud-config"
    assert (out / "cloudstack/userdata/user_data.txt").read_text() == "v2 #cloud-config"


def test_config_drive_gone_after_expunge(c):
    vm = c.deploy_cd(userdata=b64(USER_DATA))
    iso = c.iso(vm)
    assert iso.exists()
    c.api.call("destroyVirtualMachine", id=vm["id"], expunge=True)
    assert wait_for(lambda: gone(c.api, vm["id"]), timeout=10)
    assert wait_for(lambda: not iso.exists(), timeout=10), f"ISO removed after expunge: {iso}"


def test_deleting_primary_storage_that_holds_root_volumes_is_refused(c):
    """(Last but one: if the server wrongly deletes the pool, later deploys would be affected.)"""
    vm = c.deploy_core()
    assert [v for v in c.api.items("listVolumes", "volume", virtualmachineid=vm["id"]) if v["type"] == "ROOT"]
    e = c.api.error("deleteStoragePool", id=c.core.pool, status=(431, 535))
    assert "volume" in e.text.lower(), e
    assert c.api.one("listStoragePools", "storagepool", id=c.core.pool)["state"] == "Up"


def test_nothing_answered_5xx(c, module_server):
    assert cloud.log_5xx(module_server) == []
