"""A small cloud the real-client suites (response fields, Ansible, libcloud) drive: one core zone
with a simulator host, primary and secondary storage, a public IP range, the seeded guest and
system VM templates, an isolated network offering (VirtualRouter) and a disk offering.

`missing_apis` tells which of the commands a test needs the server does not list in `listApis`
(features that are being built elsewhere: those tests skip, naming them).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cloud
from cloud import Api, wait_for

ISOLATED = "DefaultIsolatedNetworkOfferingWithSourceNatService"


@dataclass
class ClientCloud:
    api: Api
    zone: cloud.Zone
    template: dict
    isolated_offering: str
    small_offering: dict
    medium_offering: dict
    disk_offering: dict | None
    apis: set[str] = field(default_factory=set)

    def missing_apis(self, *names: str) -> list[str]:
        return [n for n in names if n not in self.apis]


def listed_apis(api: Api) -> set[str]:
    return {a["name"] for a in api.items("listApis", "api")}


def offering_named(api: Api, name: str) -> dict:
    got = [o for o in api.items("listServiceOfferings", "serviceoffering", name=name) if o["name"] == name]
    assert got, f"no service offering {name!r}"
    return got[0]


def build(api: Api, name: str) -> ClientCloud:
    zone = cloud.bring_up(api, name, edge=False, hosts=1)
    third = 20 + (sum(name.encode()) % 200)
    api.call("createVlanIpRange", zoneid=zone.id, forvirtualnetwork=True, gateway=f"172.{third % 16 + 16}.{third}.1",
             netmask="255.255.255.0", startip=f"172.{third % 16 + 16}.{third}.10",
             endip=f"172.{third % 16 + 16}.{third}.60")
    seeded = [t for t in api.items("listTemplates", "template", templatefilter="all", zoneid=zone.id)
              if t["templatetype"] != "SYSTEM"]
    assert seeded, "a seeded guest template is listed in the zone"
    template = wait_for(lambda: cloud.template_ready(api, seeded[0]["id"], zone.id), timeout=30)
    assert template, f"seeded template never ready: {seeded[0]}"
    disks = [d for d in api.items("listDiskOfferings", "diskoffering") if not d.get("iscustomized")]
    return ClientCloud(
        api=api,
        zone=zone,
        template=template,
        isolated_offering=cloud.network_offering(api, ISOLATED),
        small_offering=offering_named(api, "Small Instance"),
        medium_offering=offering_named(api, "Medium Instance"),
        disk_offering=disks[0] if disks else None,
        apis=listed_apis(api),
    )
