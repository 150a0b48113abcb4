"""Helpers for the infrastructure / networking / VM suites: a `cs` client that refuses 5xx,
call-and-wait for async commands, 4xx assertions, and bring-up of core and edge zones.

Every client made here carries a `requests` response hook: any HTTP status >= 500 other than
533/534, and any async job that ends with a 5xx error code other than 533/534, raises
`ServerError` at once (with the request that caused it). A 530 is a bug, never an outcome.
"""

from __future__ import annotations

import base64
import json
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cs
import requests

from conftest import Creds

ALLOWED_5XX = (533, 534)


class ServerError(AssertionError):
    """The server answered something no client should ever see (a 5xx / 530 job)."""


def _check_response(response, *args, **kwargs):
    req = response.request
    what = f"{req.method} {req.url}" + (f" body={req.body!r}" if req.body else "")
    status = response.status_code
    if status >= 500 and status not in ALLOWED_5XX:
        raise ServerError(f"HTTP {status} for {what}: {response.text[:2000]}")
    try:
        body = response.json()
    except ValueError:
        return
    inner = body.get("queryasyncjobresultresponse") if isinstance(body, dict) else None
    if isinstance(inner, dict) and inner.get("jobstatus") == 2:
        res = inner.get("jobresult") or {}
        code = res.get("errorcode", inner.get("jobresultcode"))
        if isinstance(code, int) and code >= 500 and code not in ALLOWED_5XX:
            raise ServerError(f"async job failed with {code}: {json.dumps(inner)[:2000]}")


class GuardedSession(requests.Session):
    """A session that checks every answer with `_check_response` (cs sends prepared requests,
    so session-level hooks would not run)."""

    def send(self, request, **kwargs):
        response = super().send(request, **kwargs)
        _check_response(response)
        return response


def client(creds: Creds, method: str = "get") -> cs.CloudStack:
    """A `cs.CloudStack` for `creds` that polls jobs quickly and refuses 5xx answers."""
    c = cs.CloudStack(
        session=GuardedSession(),
        endpoint=creds.endpoint,
        key=creds.key,
        secret=creds.secret,
        method=method,
        poll_interval=0.1,
        job_timeout=60,
        timeout=30,
    )
    return c


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def b64(text: str | bytes) -> str:
    if isinstance(text, str):
        text = text.encode()
    return base64.b64encode(text).decode()


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.1):
    """Poll `predicate` until it returns something truthy (returned) or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


# --------------------------------------------------------------------------- calls


@dataclass
class ApiError:
    status: int
    code: int
    text: str
    body: Any

    def __str__(self) -> str:
        return f"HTTP {self.status} errorcode={self.code}: {self.text}"


class Api:
    """The admin (or any) client with call / job / error helpers."""

    def __init__(self, creds: Creds, method: str = "get"):
        self.creds = creds
        self.cs = client(creds, method)
        self.cs_post = client(creds, "post")

    def raw(self, command: str, post: bool = False, **params) -> dict:
        """One request; the unwrapped answer (raises cs.CloudStackApiException on 4xx)."""
        return getattr(self.cs_post if post else self.cs, command)(**params)

    def job(self, command: str, post: bool = False, timeout: float = 60, **params) -> dict:
        """Submit an async command and wait; the full queryAsyncJobResult object (any outcome)."""
        r = self.raw(command, post=post, **params)
        assert "jobid" in r, f"{command} is expected to be async, answered {r}"
        return self.wait(r["jobid"], timeout=timeout)

    def wait(self, jobid: str, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            j = self.cs.queryAsyncJobResult(jobid=jobid)
            if j["jobstatus"] != 0:
                return j
            assert time.monotonic() < deadline, f"job {jobid} still pending after {timeout}s: {j}"
            time.sleep(0.1)

    def call(self, command: str, post: bool = False, **params) -> dict:
        """Run a command to success: sync answers as is, async ones waited for (jobresult)."""
        r = self.raw(command, post=post, **params)
        if isinstance(r, dict) and "jobid" in r and set(r) <= {"jobid", "id"}:
            j = self.wait(r["jobid"])
            assert j["jobstatus"] == 1, f"{command} {params} failed: {j}"
            return j.get("jobresult", {})
        return r

    def error(self, command: str, status: int | tuple = 431, post: bool = False, **params) -> ApiError:
        """Run a command expected to be refused with a 4xx; return the error."""
        try:
            r = self.raw(command, post=post, **params)
        except cs.CloudStackApiException as e:
            err = e.error if isinstance(e.error, dict) else {}
            got = ApiError(e.response.status_code, err.get("errorcode"), err.get("errortext", ""), e.error)
        else:
            if isinstance(r, dict) and set(r) <= {"jobid", "id"} and "jobid" in r:
                j = self.wait(r["jobid"])
                assert j["jobstatus"] == 2, f"{command} {params} was expected to fail, job: {j}"
                res = j.get("jobresult", {})
                got = ApiError(200, res.get("errorcode"), res.get("errortext", ""), j)
            else:
                raise AssertionError(f"{command} {params} was expected to fail with {status}, answered {r}")
        statuses = status if isinstance(status, tuple) else (status,)
        code = got.code if got.status == 200 else got.status
        assert code in statuses, f"{command} {params}: expected {statuses}, got {got}"
        assert got.status == 200 or got.code == got.status, f"errorcode differs from HTTP status: {got}"
        assert isinstance(got.text, str) and len(got.text) > 10, f"errortext does not explain: {got}"
        return got

    def items(self, command: str, key: str, **params) -> list[dict]:
        return self.raw(command, **params).get(key, [])

    def one(self, command: str, key: str, **params) -> dict:
        got = self.items(command, key, **params)
        assert len(got) == 1, f"{command} {params}: expected one {key}, got {got}"
        return got[0]

    def config(self, name: str, value: str, zoneid: str | None = None) -> None:
        p = {"name": name, "value": value}
        if zoneid:
            p["zoneid"] = zoneid
        self.call("updateConfiguration", **p)


# --------------------------------------------------------------------------- bring-up


@dataclass
class Zone:
    name: str
    id: str
    edge: bool
    pod: str = ""
    cluster: str = ""
    hosts: list[str] = field(default_factory=list)
    physnet: str = ""
    pool: str = ""
    store: str = ""


def create_zone(api: Api, name: str, edge: bool) -> dict:
    p = dict(name=name, dns1="8.8.8.8", internaldns1="10.0.0.2", networktype="Advanced")
    if edge:
        p["isedge"] = "true"
    return api.call("createZone", **p)["zone"]


def create_pod(api: Api, zone: Zone, name: str = "pod1", third: int = 56) -> dict:
    p = dict(name=name, zoneid=zone.id)
    if not zone.edge:
        p.update(gateway=f"192.168.{third}.1", netmask="255.255.255.0",
                 startip=f"192.168.{third}.100", endip=f"192.168.{third}.200")
    return api.call("createPod", **p)["pod"]


def add_cluster(api: Api, zone: Zone, name: str = "c1") -> dict:
    r = api.call("addCluster", clustername=name, clustertype="CloudManaged", hypervisor="Simulator",
                 podid=zone.pod, zoneid=zone.id)
    return r["cluster"][0]


def add_host(api: Api, zone: Zone, index: int) -> dict:
    r = api.call("addHost", hypervisor="Simulator", podid=zone.pod, zoneid=zone.id, clusterid=zone.cluster,
                 url=f"http://sim/{zone.name}/c1/h{index}", username="root", password="password")
    assert r["count"] == 1, r
    return r["host"][0]


def physnet_up(api: Api, zone: Zone) -> str:
    """A physical network the way Marvin brings one up, with VirtualRouter/ConfigDrive enabled."""
    pn = api.call("createPhysicalNetwork", zoneid=zone.id, name=f"{zone.name}-phys",
                  isolationmethods="VLAN", vlan="100-999")["physicalnetwork"]["id"]
    api.call("addTrafficType", physicalnetworkid=pn, traffictype="Guest")
    if not zone.edge:
        api.call("addTrafficType", physicalnetworkid=pn, traffictype="Public")
    api.call("updatePhysicalNetwork", id=pn, state="Enabled")
    nsps = api.items("listNetworkServiceProviders", "networkserviceprovider", physicalnetworkid=pn)
    by_name = {p["name"]: p for p in nsps}
    vr = by_name["VirtualRouter"]
    el = api.one("listVirtualRouterElements", "virtualrouterelement", nspid=vr["id"])
    api.call("configureVirtualRouterElement", id=el["id"], enabled="true")
    if vr["state"] != "Enabled":
        api.call("updateNetworkServiceProvider", id=vr["id"], state="Enabled")
    cd = by_name.get("ConfigDrive")
    if cd and cd["state"] != "Enabled":
        api.call("updateNetworkServiceProvider", id=cd["id"], state="Enabled")
    return pn


def host_state(api: Api, host: str) -> str:
    return api.one("listHosts", "host", id=host)["state"]


def bring_up(api: Api, name: str, edge: bool, hosts: int, storage: bool = True, physnet: bool = True) -> Zone:
    """Zone, pod, cluster, simulator hosts (Up), storage, physical network; zone Enabled."""
    z = create_zone(api, name, edge)
    zone = Zone(name=name, id=z["id"], edge=edge)
    zone.pod = create_pod(api, zone)["id"]
    zone.cluster = add_cluster(api, zone)["id"]
    zone.hosts = [add_host(api, zone, i)["id"] for i in range(hosts)]
    for h in zone.hosts:
        assert wait_for(lambda: host_state(api, h) == "Up"), f"host {h} never came Up"
    if storage:
        if edge:
            if zone.hosts:
                zone.pool = api.call("createStoragePool", name=f"{name}-local", zoneid=zone.id, podid=zone.pod,
                                     clusterid=zone.cluster, hostid=zone.hosts[0], scope="host",
                                     url="local:///var/lib/ferrostack/local")["storagepool"]["id"]
        else:
            zone.pool = api.call("createStoragePool", name=f"{name}-primary", zoneid=zone.id, podid=zone.pod,
                                 clusterid=zone.cluster, scope="cluster",
                                 url=f"nfs://10.0.0.5/export/{name}/primary")["storagepool"]["id"]
            zone.store = api.call("addImageStore", name=f"{name}-images", provider="NFS", zoneid=zone.id,
                                  url=f"nfs://10.0.0.5/export/{name}/secondary")["imagestore"]["id"]
    if physnet:
        zone.physnet = physnet_up(api, zone)
    api.call("updateZone", id=zone.id, allocationstate="Enabled")
    return zone


def ostype(api: Api) -> str:
    return api.items("listOsTypes", "ostype")[0]["id"]


def template_ready(api: Api, tid: str, zoneid: str) -> dict | None:
    t = api.items("listTemplates", "template", templatefilter="all", id=tid, zoneid=zoneid)
    return t[0] if t and t[0].get("isready") else None


def register_template(api: Api, zone: Zone, name: str, direct: bool = False, routing: bool = False,
                      wait: bool = True, **extra) -> str:
    p = dict(name=name, displaytext=name, url="http://images.example.org/t.qcow2", format="QCOW2",
             hypervisor="Simulator", ostypeid=ostype(api), zoneid=zone.id, ispublic="true", isfeatured="true")
    if direct:
        p["directdownload"] = "true"
    if routing:
        p["isrouting"] = "true"
    p.update(extra)
    tid = api.call("registerTemplate", **p)["template"][0]["id"]
    if wait:
        assert wait_for(lambda: template_ready(api, tid, zone.id), timeout=20), f"template {name} never ready"
    return tid


def network_offering(api: Api, name: str) -> str:
    offs = [o for o in api.items("listNetworkOfferings", "networkoffering", name=name) if o["name"] == name]
    assert offs, f"no network offering {name}"
    return offs[0]["id"]


def service_offering(api: Api, name: str = "Small Instance") -> str:
    return api.items("listServiceOfferings", "serviceoffering", name=name)[0]["id"]


def configdrive_offering(api: Api, name: str) -> str:
    """A shared offering: Dhcp/Dns from VirtualRouter, UserData from ConfigDrive (enabled)."""
    o = api.call(
        "createNetworkOffering", post=True, name=name, displaytext=name, guestiptype="Shared",
        traffictype="GUEST", supportedservices="Dhcp,Dns,UserData", specifyvlan="true",
        specifyipranges="true",
        serviceproviderlist=[
            {"service": "Dhcp", "provider": "VirtualRouter"},
            {"service": "Dns", "provider": "VirtualRouter"},
            {"service": "UserData", "provider": "ConfigDrive"},
        ],
    )["networkoffering"]
    api.call("updateNetworkOffering", id=o["id"], state="Enabled")
    return o["id"]


def shared_network(api: Api, zone: Zone, name: str, offering: str, vlan: int, octet: int, **extra) -> dict:
    p = dict(name=name, displaytext=name, zoneid=zone.id, networkofferingid=offering, vlan=str(vlan),
             gateway=f"10.{octet}.0.1", netmask="255.255.255.0", startip=f"10.{octet}.0.10",
             endip=f"10.{octet}.0.200")
    p.update(extra)
    return api.call("createNetwork", **p)["network"]


def providers(net: dict) -> dict[str, list[str]]:
    """service name → provider names, from a network's or offering's `service` list."""
    return {s["name"]: [p["name"] for p in s.get("provider", [])] for s in net.get("service", [])}


def routers_of(api: Api, network: str) -> list[dict]:
    return api.items("listRouters", "router", networkid=network, listall="true")


def deploy(api: Api, zone: Zone, template: str, network: str, name: str | None = None,
           wait: bool = True, post: bool = True, **extra) -> dict:
    """deployVirtualMachine; with wait the finished job (any outcome), else {id, jobid}."""
    p = dict(zoneid=zone.id, serviceofferingid=service_offering(api), templateid=template, networkids=network)
    if name:
        p["name"] = name
    p.update(extra)
    r = api.raw("deployVirtualMachine", post=post, **p)
    if not wait:
        return r
    return api.wait(r["jobid"])


# --------------------------------------------------------------------------- config drive ISOs


def configdrive_iso(data_dir: Path, instancename: str) -> Path:
    return Path(data_dir) / "simulator" / "configdrive" / f"{instancename}.iso"


def extract_iso(iso: Path, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    p = subprocess.run(["xorriso", "-osirrox", "on", "-indev", str(iso), "-extract", "/", str(dest)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, f"xorriso could not extract {iso}: {p.stderr}"
    return dest


def iso_volume_id(iso: Path) -> str:
    p = subprocess.run(["xorriso", "-indev", str(iso), "-pvd_info"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    for line in (p.stdout + p.stderr).splitlines():
        if line.startswith("Volume Id"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"no Volume Id in xorriso -pvd_info output: {p.stdout}{p.stderr}")


# --------------------------------------------------------------------------- server log


def log_5xx(server) -> list[str]:
    """Request log lines of `server` whose HTTP status is >= 500 (533/534 allowed)."""
    import re

    bad, seen = [], 0
    for line in server.log_text(limit=10**9).splitlines():
        seen += "api request" in line
        m = re.search(r"api request .*status=(\d{3})", line)
        if m and int(m.group(1)) >= 500 and int(m.group(1)) not in ALLOWED_5XX:
            bad.append(line)
    assert seen, "the server log has no request lines to check"
    return bad
