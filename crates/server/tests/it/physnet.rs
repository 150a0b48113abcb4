//! Physical networks, traffic types, network service providers, virtual router elements and
//! network offerings — through the real API, in Marvin's zone bring-up order.

use std::collections::{BTreeMap, HashSet};

use serde_json::Value;

use crate::common::{Answer, Client, TestServer};
use crate::infra::bring_up;

mod offerings;

/// Assert success (never a 5xx) and return the inner object.
fn ok(a: &Answer) -> Value {
    assert!(a.status < 500, "server error: {}", a.text);
    a.ok().clone()
}

/// Assert CloudStack's error `code` (never an internal error) and return the error text.
fn fails(a: &Answer, code: u16) -> String {
    assert!(a.status != 500 && a.status != 530, "internal error: {}", a.text);
    a.err(code)
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap_or_else(|| panic!("no id in {v}")).to_string()
}

/// Run an async command; the job must succeed. Returns the job result.
async fn job(c: &Client, command: &str, params: &[(&str, &str)]) -> Value {
    let a = c.get(command, params).await;
    let jobid = ok(&a)["jobid"]
        .as_str()
        .unwrap_or_else(|| panic!("{command}: no jobid in {}", a.text))
        .to_string();
    let j = c.wait_job(&jobid).await;
    assert_eq!(j["jobstatus"], 1, "{command} job failed: {j}");
    assert_eq!(j["jobresultcode"], 0, "{j}");
    j["jobresult"].clone()
}

/// Every field of `obj` is one `listApis` declares for `command`.
async fn only_declared_fields(c: &Client, command: &str, obj: &Value) {
    let api = c.get("listApis", &[("name", command)]).await.items("api");
    let declared: HashSet<String> = api[0]["response"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_string())
        .collect();
    for k in obj.as_object().unwrap().keys() {
        assert!(declared.contains(k), "{command} answers undeclared field {k}");
    }
}

async fn providers(c: &Client, physnet: &str) -> BTreeMap<String, Value> {
    c.get("listNetworkServiceProviders", &[("physicalnetworkid", physnet)])
        .await
        .items("networkserviceprovider")
        .into_iter()
        .map(|n| (n["name"].as_str().unwrap().to_string(), n))
        .collect()
}

/// createPhysicalNetwork answers `{id, jobid}` at once; the job result is the network.
async fn create_physnet(c: &Client, params: &[(&str, &str)]) -> Value {
    let a = c.get("createPhysicalNetwork", params).await;
    let inner = ok(&a);
    let id = id_of(&inner);
    let j = c.wait_job(inner["jobid"].as_str().unwrap()).await;
    assert_eq!(j["jobstatus"], 1, "{j}");
    let pn = j["jobresult"]["physicalnetwork"].clone();
    assert_eq!(pn["id"], id.as_str());
    assert_eq!(j["jobinstancetype"], "PhysicalNetwork");
    pn
}

/// Configure and enable the VirtualRouter provider the way Marvin does.
async fn enable_virtual_router(c: &Client, physnet: &str) {
    let nsp = c
        .get(
            "listNetworkServiceProviders",
            &[
                ("physicalnetworkid", physnet),
                ("name", "VirtualRouter"),
                ("state", "Disabled"),
            ],
        )
        .await
        .items("networkserviceprovider");
    assert_eq!(nsp.len(), 1, "{nsp:?}");
    let nsp = id_of(&nsp[0]);
    // Enabling before the element is configured is refused with what to do.
    let e = fails(
        &c.get("updateNetworkServiceProvider", &[("id", &nsp), ("state", "Enabled")])
            .await,
        431,
    );
    assert!(e.contains("configureVirtualRouterElement"), "{e}");
    let vre = c
        .get("listVirtualRouterElements", &[("nspid", &nsp)])
        .await
        .items("virtualrouterelement");
    assert_eq!(vre.len(), 1);
    assert_eq!(vre[0]["enabled"], false);
    assert_eq!(vre[0]["nspid"], nsp.as_str());
    assert_eq!(vre[0]["account"], "system");
    only_declared_fields(c, "listVirtualRouterElements", &vre[0]).await;
    let r = job(
        c,
        "configureVirtualRouterElement",
        &[("id", &id_of(&vre[0])), ("enabled", "true")],
    )
    .await;
    assert_eq!(r["virtualrouterelement"]["enabled"], true, "{r}");
    let r = job(c, "updateNetworkServiceProvider", &[("id", &nsp), ("state", "Enabled")]).await;
    assert_eq!(r["networkserviceprovider"]["state"], "Enabled", "{r}");
    assert_eq!(r["networkserviceprovider"]["name"], "VirtualRouter");
}

#[tokio::test]
async fn core_zone_physical_network_bring_up() {
    let t = TestServer::start().await;
    let c = &t.admin;
    let z = bring_up(c, "pcore", false, 1).await;
    let pn = create_physnet(
        c,
        &[
            ("zoneid", &z.zone),
            ("name", "pcore-pn"),
            ("vlan", "100-200"),
            ("isolationmethods", "VLAN"),
            ("tags", "fast"),
            ("networkspeed", "10G"),
        ],
    )
    .await;
    assert_eq!(pn["name"], "pcore-pn");
    assert_eq!(pn["state"], "Disabled");
    assert_eq!(pn["zoneid"], z.zone.as_str());
    assert_eq!(pn["zonename"], "pcore");
    assert_eq!(pn["vlan"], "100-200");
    assert_eq!(pn["isolationmethods"], "VLAN");
    assert_eq!(pn["broadcastdomainrange"], "ZONE");
    assert_eq!(pn["tags"], "fast");
    assert_eq!(pn["networkspeed"], "10G");
    only_declared_fields(c, "createPhysicalNetwork", &pn).await;
    let pid = id_of(&pn);

    // Traffic types: Guest, Public, Management.
    let g = job(
        c,
        "addTrafficType",
        &[
            ("physicalnetworkid", &pid),
            ("traffictype", "Guest"),
            ("kvmnetworklabel", "cloudbr1"),
        ],
    )
    .await;
    assert_eq!(g["traffictype"]["traffictype"], "Guest", "{g}");
    assert_eq!(g["traffictype"]["kvmnetworklabel"], "cloudbr1");
    assert_eq!(g["traffictype"]["physicalnetworkid"], pid.as_str());
    only_declared_fields(c, "addTrafficType", &g["traffictype"]).await;
    for ty in ["Public", "Management"] {
        let r = job(c, "addTrafficType", &[("physicalnetworkid", &pid), ("traffictype", ty)]).await;
        assert_eq!(r["traffictype"]["traffictype"], ty);
    }
    let e = fails(
        &c.get(
            "addTrafficType",
            &[("physicalnetworkid", &pid), ("traffictype", "Guest")],
        )
        .await,
        431,
    );
    assert!(e.contains("already carries Guest"), "{e}");
    let e = fails(
        &c.get(
            "addTrafficType",
            &[("physicalnetworkid", &pid), ("traffictype", "Bogus")],
        )
        .await,
        431,
    );
    assert!(e.contains("Guest") && e.contains("Public"), "{e}");
    let tts = c
        .get("listTrafficTypes", &[("physicalnetworkid", &pid)])
        .await
        .items("traffictype");
    assert_eq!(tts.len(), 3);
    let guest_tt = id_of(&tts[0]);
    let r = job(
        c,
        "updateTrafficType",
        &[("id", &guest_tt), ("kvmnetworklabel", "cloudbr9")],
    )
    .await;
    assert_eq!(r["traffictype"]["kvmnetworklabel"], "cloudbr9");

    // Enable the physical network.
    let r = job(c, "updatePhysicalNetwork", &[("id", &pid), ("state", "Enabled")]).await;
    assert_eq!(r["physicalnetwork"]["state"], "Enabled", "{r}");

    // Providers: created with the physical network, as CloudStack does.
    let nsps = providers(c, &pid).await;
    let names: HashSet<&str> = nsps.keys().map(String::as_str).collect();
    let want: HashSet<&str> = [
        "VirtualRouter",
        "SecurityGroupProvider",
        "VpcVirtualRouter",
        "InternalLbVm",
        "ConfigDrive",
    ]
    .into_iter()
    .collect();
    assert_eq!(names, want);
    assert_eq!(nsps["ConfigDrive"]["state"], "Enabled");
    assert_eq!(
        nsps["ConfigDrive"]["servicelist"],
        serde_json::json!(["Dhcp", "Dns", "UserData"])
    );
    assert_eq!(nsps["VirtualRouter"]["state"], "Disabled");
    assert_eq!(nsps["VirtualRouter"]["physicalnetworkid"], pid.as_str());
    assert_eq!(nsps["VirtualRouter"]["canenableindividualservice"], true);
    only_declared_fields(c, "listNetworkServiceProviders", &nsps["VirtualRouter"]).await;
    enable_virtual_router(c, &pid).await;
    let enabled = c
        .get(
            "listNetworkServiceProviders",
            &[("physicalnetworkid", &pid), ("state", "Enabled")],
        )
        .await
        .items("networkserviceprovider");
    let enabled: HashSet<&str> = enabled.iter().map(|n| n["name"].as_str().unwrap()).collect();
    assert_eq!(enabled, ["VirtualRouter", "ConfigDrive"].into_iter().collect());

    // A second physical network: its VLANs can't overlap, Public stays on the first one.
    let e = fails(
        &c.get(
            "createPhysicalNetwork",
            &[("zoneid", &z.zone), ("name", "pn2"), ("vlan", "150-160")],
        )
        .await,
        431,
    );
    assert!(e.contains("overlaps") && e.contains("pcore-pn"), "{e}");
    let e = fails(
        &c.get(
            "createPhysicalNetwork",
            &[("zoneid", &z.zone), ("name", "pn2"), ("vlan", "300-200")],
        )
        .await,
        431,
    );
    assert!(e.contains("vlan range"), "{e}");
    let pn2 = create_physnet(c, &[("zoneid", &z.zone), ("name", "pn2"), ("vlan", "300-400")]).await;
    let pn2 = id_of(&pn2);
    let e = fails(
        &c.get(
            "addTrafficType",
            &[("physicalnetworkid", &pn2), ("traffictype", "Public")],
        )
        .await,
        431,
    );
    assert!(e.contains("pcore-pn"), "{e}");
    let e = fails(
        &c.get("updatePhysicalNetwork", &[("id", &pn2), ("vlan", "190-310")])
            .await,
        431,
    );
    assert!(e.contains("overlaps"), "{e}");
    let r = job(c, "updatePhysicalNetwork", &[("id", &pn2), ("vlan", "300-500")]).await;
    assert_eq!(r["physicalnetwork"]["vlan"], "300-500");

    // Lists and filters.
    let all = c.get("listPhysicalNetworks", &[("zoneid", &z.zone)]).await;
    assert_eq!(ok(&all)["count"], 2);
    let by_name = c
        .get("listPhysicalNetworks", &[("name", "pn2")])
        .await
        .items("physicalnetwork");
    assert_eq!(by_name.len(), 1);
    let by_kw = c
        .get("listPhysicalNetworks", &[("keyword", "pcore")])
        .await
        .items("physicalnetwork");
    assert_eq!(by_kw.len(), 1);
    let by_id = c
        .get("listPhysicalNetworks", &[("id", &pid)])
        .await
        .items("physicalnetwork");
    assert_eq!(by_id[0]["state"], "Enabled");

    // Provider add/delete: a provider already there is refused; a removed one can come back.
    let sg = id_of(&providers(c, &pn2).await["SecurityGroupProvider"]);
    let r = job(c, "deleteNetworkServiceProvider", &[("id", &sg)]).await;
    assert_eq!(r["success"], true);
    assert!(!providers(c, &pn2).await.contains_key("SecurityGroupProvider"));
    let e = fails(
        &c.get(
            "addNetworkServiceProvider",
            &[("physicalnetworkid", &pn2), ("name", "VirtualRouter")],
        )
        .await,
        431,
    );
    assert!(e.contains("already"), "{e}");
    let e = fails(
        &c.get(
            "addNetworkServiceProvider",
            &[("physicalnetworkid", &pn2), ("name", "Netscaler")],
        )
        .await,
        431,
    );
    assert!(e.contains("ConfigDrive"), "{e}");
    let a = c
        .get(
            "addNetworkServiceProvider",
            &[("physicalnetworkid", &pn2), ("name", "SecurityGroupProvider")],
        )
        .await;
    let added = id_of(&ok(&a));
    let j = c.wait_job(ok(&a)["jobid"].as_str().unwrap()).await;
    assert_eq!(j["jobresult"]["networkserviceprovider"]["id"], added.as_str(), "{j}");
    assert_eq!(j["jobresult"]["networkserviceprovider"]["state"], "Disabled");
    let e = fails(
        &c.get(
            "updateNetworkServiceProvider",
            &[("id", &added), ("servicelist", "Dhcp")],
        )
        .await,
        431,
    );
    assert!(e.contains("SecurityGroupProvider does not support service Dhcp"), "{e}");

    // Delete the second physical network (and everything hanging off it).
    let r = job(c, "deletePhysicalNetwork", &[("id", &pn2)]).await;
    assert_eq!(r["success"], true);
    let all = c.get("listPhysicalNetworks", &[("zoneid", &z.zone)]).await;
    assert_eq!(ok(&all)["count"], 1);
    fails(&c.get("listTrafficTypes", &[("physicalnetworkid", &pn2)]).await, 431);

    // A physical network can't be added while the zone is Enabled.
    ok(&c
        .get("updateZone", &[("id", &z.zone), ("allocationstate", "Enabled")])
        .await);
    let e = fails(
        &c.get("createPhysicalNetwork", &[("zoneid", &z.zone), ("name", "late")])
            .await,
        431,
    );
    assert!(e.contains("updateZone"), "{e}");

    // Events, CloudStack's names.
    for ty in [
        "PHYSICAL.NETWORK.CREATE",
        "TRAFFIC.TYPE.CREATE",
        "SERVICE.PROVIDER.UPDATE",
        "NETWORK.ELEMENT.CONFIGURE",
    ] {
        let ev = c.get("listEvents", &[("type", ty)]).await.items("event");
        assert!(ev.iter().any(|e| e["state"] == "Completed"), "{ty}: {ev:?}");
    }
    t.stop().await;
}

#[tokio::test]
async fn edge_zone_physical_network_bring_up() {
    let t = TestServer::start().await;
    let c = &t.admin;
    let z = bring_up(c, "pedge", true, 1).await;
    let pn = create_physnet(c, &[("zoneid", &z.zone), ("name", "pedge-pn"), ("vlan", "10-20")]).await;
    let pid = id_of(&pn);
    let r = job(
        c,
        "addTrafficType",
        &[("physicalnetworkid", &pid), ("traffictype", "Guest")],
    )
    .await;
    assert_eq!(r["traffictype"]["traffictype"], "Guest");
    let e = fails(
        &c.get(
            "addTrafficType",
            &[("physicalnetworkid", &pid), ("traffictype", "Public")],
        )
        .await,
        431,
    );
    assert!(e.contains("edge zone"), "{e}");
    job(c, "updatePhysicalNetwork", &[("id", &pid), ("state", "Enabled")]).await;
    let nsps = providers(c, &pid).await;
    assert_eq!(nsps["ConfigDrive"]["state"], "Enabled");
    assert_eq!(nsps["VirtualRouter"]["state"], "Disabled");
    enable_virtual_router(c, &pid).await;
    let r = job(
        c,
        "updateNetworkServiceProvider",
        &[("id", &id_of(&nsps["ConfigDrive"])), ("state", "Shutdown")],
    )
    .await;
    assert_eq!(r["networkserviceprovider"]["state"], "Shutdown");
    let e = fails(
        &c.get("updatePhysicalNetwork", &[("id", &pid), ("state", "Maybe")])
            .await,
        431,
    );
    assert!(e.contains("Enabled or Disabled"), "{e}");
    // Unknown ids answer CloudStack's 431.
    fails(
        &c.get(
            "deletePhysicalNetwork",
            &[("id", "0b0e7d6b-6a31-4ea8-9d6e-6b4a2d2f3e03")],
        )
        .await,
        431,
    );
    t.stop().await;
}

#[tokio::test]
async fn in_use_physical_networks_and_offerings_are_kept() {
    let t = TestServer::start().await;
    let c = &t.admin;
    let z = bring_up(c, "puse", false, 1).await;
    let pid = id_of(&create_physnet(c, &[("zoneid", &z.zone), ("name", "puse-pn"), ("vlan", "100-999")]).await);
    let g = job(
        c,
        "addTrafficType",
        &[("physicalnetworkid", &pid), ("traffictype", "Guest")],
    )
    .await;
    job(
        c,
        "addTrafficType",
        &[("physicalnetworkid", &pid), ("traffictype", "Public")],
    )
    .await;
    job(c, "updatePhysicalNetwork", &[("id", &pid), ("state", "Enabled")]).await;
    enable_virtual_router(c, &pid).await;
    ok(&c
        .get("updateZone", &[("id", &z.zone), ("allocationstate", "Enabled")])
        .await);
    let o = ok(&c
        .get(
            "createNetworkOffering",
            &[
                ("name", "use-shared"),
                ("guestiptype", "Shared"),
                ("traffictype", "Guest"),
                ("supportedservices", "Dhcp,Dns,UserData"),
                ("specifyvlan", "true"),
                ("enable", "true"),
            ],
        )
        .await)["networkoffering"]
        .clone();
    let oid = id_of(&o);
    let n = ok(&c
        .get(
            "createNetwork",
            &[
                ("name", "s1"),
                ("displaytext", "s1"),
                ("zoneid", &z.zone),
                ("networkofferingid", &oid),
                ("vlan", "120"),
                ("gateway", "10.20.0.1"),
                ("netmask", "255.255.255.0"),
                ("startip", "10.20.0.10"),
                ("endip", "10.20.0.20"),
            ],
        )
        .await)["network"]
        .clone();
    let e = fails(&c.get("deletePhysicalNetwork", &[("id", &pid)]).await, 431);
    assert!(e.contains("deleteNetwork"), "{e}");
    let e = fails(
        &c.get("deleteTrafficType", &[("id", &id_of(&g["traffictype"]))]).await,
        431,
    );
    assert!(e.contains("Guest"), "{e}");
    let e = fails(&c.get("deleteNetworkOffering", &[("id", &oid)]).await, 431);
    assert!(e.contains("use-shared"), "{e}");
    let j = c.run_async("deleteNetwork", &[("id", &id_of(&n))]).await;
    assert_eq!(j["jobstatus"], 1, "{j}");
    assert_eq!(
        ok(&c.get("deleteNetworkOffering", &[("id", &oid)]).await)["success"],
        true
    );
    job(c, "deleteTrafficType", &[("id", &id_of(&g["traffictype"]))]).await;
    let r = job(c, "deletePhysicalNetwork", &[("id", &pid)]).await;
    assert_eq!(r["success"], true);
    assert!(c
        .get("listPhysicalNetworks", &[("zoneid", &z.zone)])
        .await
        .items("physicalnetwork")
        .is_empty());
    t.stop().await;
}
