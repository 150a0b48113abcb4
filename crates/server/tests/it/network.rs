//! Guest networks (Shared, Isolated, L2) in core and edge zones, their service→provider maps,
//! VLAN IP ranges, public addresses, guest address allocation under concurrency, scoping,
//! restart and delete — through the real API (allocation through the app directly).

use std::collections::{BTreeMap, HashSet};

use ferrostack_db::db_err;
use serde_json::Value;

use crate::common::{Answer, Client, TestServer};
use crate::infra::bring_up;

/// A well-formed id that names nothing.
const UNKNOWN: &str = "0b0e7d6b-6a31-4ea8-9d6e-6b4a2d2f3e01";

/// Assert success (never a 5xx) and return the inner object.
fn ok(a: &Answer) -> Value {
    assert!(a.status < 500, "server error: {}", a.text);
    a.ok().clone()
}

/// Assert a 431 and return the error text.
fn bad(a: &Answer) -> String {
    assert!(a.status != 530, "internal error: {}", a.text);
    a.err(431)
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap_or_else(|| panic!("no id in {v}")).to_string()
}

/// Call a command that may be sync or async; return the object it answers (the job result
/// for async commands, which must succeed).
async fn call(c: &Client, command: &str, params: &[(&str, &str)]) -> Value {
    let a = c.get(command, params).await;
    let inner = ok(&a);
    match inner.get("jobid").and_then(Value::as_str) {
        Some(job) if inner.as_object().is_some_and(|m| m.len() <= 2) => {
            let j = c.wait_job(job).await;
            assert_eq!(j["jobstatus"], 1, "{command} job failed: {j}");
            j["jobresult"].clone()
        }
        Some(_) | None => inner,
    }
}

/// A physical network the way Marvin brings one up: create, traffic types (Guest, plus Public
/// in a core zone), enable, enable the VirtualRouter provider. Returns the physical network id.
async fn physnet_up(c: &Client, zone: &str, name: &str, public: bool) -> String {
    let pn = call(
        c,
        "createPhysicalNetwork",
        &[
            ("name", name),
            ("zoneid", zone),
            ("isolationmethods", "VLAN"),
            ("vlan", "100-999"),
        ],
    )
    .await;
    let pn = id_of(&pn["physicalnetwork"]);
    call(
        c,
        "addTrafficType",
        &[("physicalnetworkid", &pn), ("traffictype", "Guest")],
    )
    .await;
    if public {
        call(
            c,
            "addTrafficType",
            &[("physicalnetworkid", &pn), ("traffictype", "Public")],
        )
        .await;
    }
    call(c, "updatePhysicalNetwork", &[("id", &pn), ("state", "Enabled")]).await;
    let nsp = c
        .get(
            "listNetworkServiceProviders",
            &[("physicalnetworkid", &pn), ("name", "VirtualRouter")],
        )
        .await
        .items("networkserviceprovider");
    let nsp = id_of(&nsp[0]);
    let vre = c
        .get("listVirtualRouterElements", &[("nspid", &nsp)])
        .await
        .items("virtualrouterelement");
    call(
        c,
        "configureVirtualRouterElement",
        &[("id", &id_of(&vre[0])), ("enabled", "true")],
    )
    .await;
    call(c, "updateNetworkServiceProvider", &[("id", &nsp), ("state", "Enabled")]).await;
    pn
}

struct Site {
    zone: String,
    physnet: String,
}

/// A zone (core or edge) with one host and an enabled physical network, allocation Enabled.
async fn site(c: &Client, name: &str, edge: bool) -> Site {
    let z = bring_up(c, name, edge, 1).await;
    let physnet = physnet_up(c, &z.zone, &format!("{name}-pn"), !edge).await;
    ok(&c
        .get("updateZone", &[("id", &z.zone), ("allocationstate", "Enabled")])
        .await);
    Site { zone: z.zone, physnet }
}

async fn offering(c: &Client, name: &str) -> String {
    let o = c
        .get("listNetworkOfferings", &[("name", name)])
        .await
        .items("networkoffering");
    let o = o
        .iter()
        .find(|o| o["name"] == name)
        .unwrap_or_else(|| panic!("no offering {name}"));
    id_of(o)
}

/// service name → provider names of a network (or offering) answer.
fn providers(n: &Value) -> BTreeMap<String, Vec<String>> {
    n["service"]
        .as_array()
        .unwrap_or_else(|| panic!("no service list in {n}"))
        .iter()
        .map(|s| {
            let p = s["provider"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["name"].as_str().unwrap().to_string());
            (s["name"].as_str().unwrap().to_string(), p.collect())
        })
        .collect()
}

fn provider_of(n: &Value, service: &str) -> Option<String> {
    providers(n).get(service).and_then(|p| p.first().cloned())
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

async fn create_network(c: &Client, params: &[(&str, &str)]) -> Value {
    ok(&c.get("createNetwork", params).await)["network"].clone()
}

/// `createNetwork` of a shared network on VLAN `vlan`, subnet 10.`net`.0.0/24, gateway .1,
/// addresses .10 to .`last`.
async fn create_shared(c: &Client, name: &str, zone: &str, offering: &str, vlan: &str, net: u8, last: u8) -> Answer {
    let (gw, start, end) = (
        format!("10.{net}.0.1"),
        format!("10.{net}.0.10"),
        format!("10.{net}.0.{last}"),
    );
    let p = [
        ("name", name),
        ("zoneid", zone),
        ("networkofferingid", offering),
        ("vlan", vlan),
        ("gateway", gw.as_str()),
        ("netmask", "255.255.255.0"),
        ("startip", start.as_str()),
        ("endip", end.as_str()),
    ];
    c.get("createNetwork", &p).await
}

/// `createVlanIpRange` on a /24; `owner` is `("zoneid", zone)` or `("networkid", network)`.
async fn create_range(c: &Client, owner: (&str, &str), public: bool, gw: &str, start: &str, end: &str) -> Answer {
    let mut p = vec![
        owner,
        ("gateway", gw),
        ("netmask", "255.255.255.0"),
        ("startip", start),
        ("endip", end),
    ];
    if public {
        p.push(("forvirtualnetwork", "true"));
    }
    c.get("createVlanIpRange", &p).await
}

#[tokio::test]
async fn shared_isolated_and_l2_networks_in_core_and_edge_zones() {
    let t = TestServer::start().await;
    let c = &t.admin;
    let core = site(c, "core1", false).await;
    let edge = site(c, "edge1", true).await;
    let shared_off = offering(c, "DefaultSharedNetworkOffering").await;
    let isolated_off = offering(c, "DefaultIsolatedNetworkOfferingWithSourceNatService").await;
    let l2_off = offering(c, "DefaultL2NetworkOffering").await;

    // Core zone, shared network with its VLAN and address range.
    let shared = ok(&create_shared(c, "shared1", &core.zone, &shared_off, "100", 10, 50).await)["network"].clone();
    assert_eq!(shared["name"], "shared1");
    assert_eq!(shared["displaytext"], "shared1", "displaytext defaults to the name");
    assert_eq!(shared["type"], "Shared");
    assert_eq!(shared["traffictype"], "Guest");
    assert_eq!(shared["zoneid"], core.zone.as_str());
    assert_eq!(shared["zonename"], "core1");
    assert_eq!(shared["networkofferingid"], shared_off.as_str());
    assert_eq!(shared["networkofferingname"], "DefaultSharedNetworkOffering");
    assert_eq!(shared["physicalnetworkid"], core.physnet.as_str());
    assert_eq!(shared["vlan"], "100");
    assert_eq!(shared["broadcasturi"], "vlan://100");
    assert_eq!(shared["broadcastdomaintype"], "Vlan");
    assert_eq!(shared["gateway"], "10.10.0.1");
    assert_eq!(shared["netmask"], "255.255.255.0");
    assert_eq!(shared["cidr"], "10.10.0.0/24");
    assert_eq!(shared["acltype"], "Domain");
    assert_eq!(shared["issystem"], false);
    assert_eq!(shared["canusefordeploy"], true);
    assert_eq!(shared["restartrequired"], false);
    assert_eq!(shared["specifyipranges"], true);
    assert_eq!(shared["related"], shared["id"]);
    assert!(shared["created"].is_string());
    assert_eq!(provider_of(&shared, "Dhcp").as_deref(), Some("VirtualRouter"));
    assert_eq!(provider_of(&shared, "Dns").as_deref(), Some("VirtualRouter"));
    assert_eq!(provider_of(&shared, "UserData").as_deref(), Some("VirtualRouter"));
    assert!(
        !providers(&shared).contains_key("Gateway"),
        "Gateway is not listed: {shared}"
    );
    only_declared_fields(c, "createNetwork", &shared).await;
    let shared_id = id_of(&shared);
    let ranges = c
        .get("listVlanIpRanges", &[("networkid", &shared_id)])
        .await
        .items("vlaniprange");
    assert_eq!(ranges.len(), 1, "{ranges:?}");
    assert_eq!(ranges[0]["startip"], "10.10.0.10");
    assert_eq!(ranges[0]["endip"], "10.10.0.50");
    assert_eq!(ranges[0]["forvirtualnetwork"], false);
    assert_eq!(ranges[0]["networkid"], shared_id.as_str());
    assert_eq!(ranges[0]["vlan"], "vlan://100");
    assert_eq!(ranges[0]["cidr"], "10.10.0.0/24");
    only_declared_fields(c, "listVlanIpRanges", &ranges[0]).await;

    // Core zone, isolated network: Allocated, default CIDR, owned by the caller's account.
    let iso = create_network(
        c,
        &[
            ("name", "iso1"),
            ("zoneid", &core.zone),
            ("networkofferingid", &isolated_off),
        ],
    )
    .await;
    assert_eq!(iso["type"], "Isolated");
    assert_eq!(iso["state"], "Allocated");
    assert_eq!(iso["cidr"], "10.1.1.0/24");
    assert_eq!(iso["gateway"], "10.1.1.1");
    assert_eq!(iso["netmask"], "255.255.255.0");
    assert_eq!(iso["acltype"], "Account");
    assert_eq!(iso["account"], "admin");
    assert_eq!(iso["displaytext"], "iso1", "displaytext defaults to the name");
    assert_eq!(provider_of(&iso, "SourceNat").as_deref(), Some("VirtualRouter"));
    assert_eq!(provider_of(&iso, "Firewall").as_deref(), Some("VirtualRouter"));
    assert_eq!(iso["specifyipranges"], false);

    // Core zone, L2 network: no addressing, no services.
    let l2 = create_network(
        c,
        &[("name", "l2a"), ("zoneid", &core.zone), ("networkofferingid", &l2_off)],
    )
    .await;
    assert_eq!(l2["type"], "L2");
    assert!(l2.get("cidr").is_none() && l2.get("gateway").is_none(), "{l2}");
    assert_eq!(providers(&l2).len(), 0, "{l2}");

    // Edge zone: a shared network whose UserData comes from the virtual router...
    let edge_vr = ok(&create_shared(c, "edge-vr", &edge.zone, &shared_off, "200", 20, 100).await)["network"].clone();
    assert_eq!(provider_of(&edge_vr, "UserData").as_deref(), Some("VirtualRouter"));
    assert_eq!(edge_vr["physicalnetworkid"], edge.physnet.as_str());

    // ...and one on a custom offering whose UserData comes from the config drive.
    let custom = ok(&c
        .get(
            "createNetworkOffering",
            &[
                ("name", "SharedConfigDrive"),
                ("displaytext", "Shared, user data on a config drive"),
                ("guestiptype", "Shared"),
                ("traffictype", "GUEST"),
                ("supportedservices", "Dhcp,Dns,UserData"),
                ("serviceproviderlist[0].service", "Dhcp"),
                ("serviceproviderlist[0].provider", "VirtualRouter"),
                ("serviceproviderlist[1].service", "Dns"),
                ("serviceproviderlist[1].provider", "VirtualRouter"),
                ("serviceproviderlist[2].service", "UserData"),
                ("serviceproviderlist[2].provider", "ConfigDrive"),
                ("specifyvlan", "true"),
                ("specifyipranges", "true"),
            ],
        )
        .await)["networkoffering"]
        .clone();
    let custom_off = id_of(&custom);
    ok(&c
        .get("updateNetworkOffering", &[("id", &custom_off), ("state", "Enabled")])
        .await);
    let edge_cd = ok(&create_shared(c, "edge-cd", &edge.zone, &custom_off, "201", 21, 100).await)["network"].clone();
    assert_eq!(provider_of(&edge_cd, "UserData").as_deref(), Some("ConfigDrive"));
    assert_eq!(provider_of(&edge_cd, "Dhcp").as_deref(), Some("VirtualRouter"));
    assert_eq!(provider_of(&edge_cd, "Dns").as_deref(), Some("VirtualRouter"));

    // Edge zones take no isolated networks: a clear 431.
    let e = bad(&c
        .get(
            "createNetwork",
            &[
                ("name", "edge-iso"),
                ("zoneid", &edge.zone),
                ("networkofferingid", &isolated_off),
            ],
        )
        .await);
    assert!(e.to_lowercase().contains("edge"), "{e}");

    // Lists: by zone, by type, by offering, by keyword; each with its own service list.
    let in_edge = c
        .get("listNetworks", &[("zoneid", &edge.zone), ("listall", "true")])
        .await;
    let in_edge = in_edge.items("network");
    assert_eq!(in_edge.len(), 2, "{in_edge:?}");
    let by_name: BTreeMap<String, &Value> = in_edge
        .iter()
        .map(|n| (n["name"].as_str().unwrap().to_string(), n))
        .collect();
    assert_eq!(
        provider_of(by_name["edge-vr"], "UserData").as_deref(),
        Some("VirtualRouter")
    );
    assert_eq!(
        provider_of(by_name["edge-cd"], "UserData").as_deref(),
        Some("ConfigDrive")
    );
    for n in &in_edge {
        only_declared_fields(c, "listNetworks", n).await;
    }
    let all = c.get("listNetworks", &[("listall", "true")]).await;
    assert_eq!(ok(&all)["count"], 5, "{}", all.text);
    let l2s = c
        .get("listNetworks", &[("listall", "true"), ("type", "L2")])
        .await
        .items("network");
    assert_eq!(l2s.len(), 1);
    assert_eq!(l2s[0]["id"], l2["id"]);
    let by_off = c
        .get(
            "listNetworks",
            &[("listall", "true"), ("networkofferingid", &custom_off)],
        )
        .await
        .items("network");
    assert_eq!(by_off.len(), 1);
    assert_eq!(by_off[0]["name"], "edge-cd");
    let by_pn = c
        .get(
            "listNetworks",
            &[("listall", "true"), ("physicalnetworkid", &edge.physnet)],
        )
        .await
        .items("network");
    assert_eq!(by_pn.len(), 2);
    let kw = c
        .get("listNetworks", &[("listall", "true"), ("keyword", "edge-")])
        .await
        .items("network");
    assert_eq!(kw.len(), 2);
    let one = c.get("listNetworks", &[("id", &shared_id)]).await.items("network");
    assert_eq!(one.len(), 1);
    assert_eq!(provider_of(&one[0], "Dhcp").as_deref(), Some("VirtualRouter"));
    let paged = c
        .get("listNetworks", &[("listall", "true"), ("page", "2"), ("pagesize", "2")])
        .await;
    assert_eq!(ok(&paged)["count"], 5);
    assert_eq!(paged.items("network").len(), 2);
    // Filters nothing can match answer the empty list.
    assert_eq!(
        c.get("listNetworks", &[("issystem", "true")]).await.text,
        r#"{"listnetworksresponse":{}}"#
    );

    // Update (sync in ferrostack, answers the network).
    let up = ok(&c
        .get(
            "updateNetwork",
            &[("id", &shared_id), ("name", "shared1b"), ("displaytext", "renamed")],
        )
        .await);
    assert_eq!(up["network"]["name"], "shared1b");
    assert_eq!(up["network"]["displaytext"], "renamed");
    let a = c
        .get("updateNetwork", &[("id", &shared_id), ("networkofferingid", &l2_off)])
        .await;
    a.err(432);
    assert_eq!(provider_of(&up["network"], "Dhcp").as_deref(), Some("VirtualRouter"));
    t.stop().await;
}

#[tokio::test]
async fn public_ranges_and_bad_input_are_4xx() {
    let t = TestServer::start().await;
    let c = &t.admin;
    let core = site(c, "core1", false).await;
    let edge = site(c, "edge1", true).await;
    let shared_off = offering(c, "DefaultSharedNetworkOffering").await;
    let l2_off = offering(c, "DefaultL2NetworkOffering").await;
    let (in_core, in_edge) = (("zoneid", core.zone.as_str()), ("zoneid", edge.zone.as_str()));

    // A public range in the core zone; its addresses show up in listPublicIpAddresses.
    let r = ok(&create_range(c, in_core, true, "172.16.0.1", "172.16.0.10", "172.16.0.19").await)["vlan"].clone();
    assert_eq!(r["forvirtualnetwork"], true);
    assert_eq!(r["startip"], "172.16.0.10");
    assert_eq!(r["endip"], "172.16.0.19");
    assert_eq!(r["zoneid"], core.zone.as_str());
    assert_eq!(r["physicalnetworkid"], core.physnet.as_str());
    only_declared_fields(c, "createVlanIpRange", &r).await;
    let ips = c.get("listPublicIpAddresses", &[("zoneid", &core.zone)]).await;
    assert_eq!(ok(&ips)["count"], 10, "{}", ips.text);
    let ips = ips.items("publicipaddress");
    assert_eq!(ips[0]["ipaddress"], "172.16.0.10");
    assert_eq!(ips[0]["state"], "Free");
    assert_eq!(ips[0]["forvirtualnetwork"], true);
    assert_eq!(ips[0]["issourcenat"], false);
    assert_eq!(ips[0]["vlanid"], r["id"]);
    only_declared_fields(c, "listPublicIpAddresses", &ips[0]).await;
    let by_addr = c
        .get("listPublicIpAddresses", &[("ipaddress", "172.16.0.12")])
        .await
        .items("publicipaddress");
    assert_eq!(by_addr.len(), 1);
    let by_id = c
        .get("listPublicIpAddresses", &[("id", &id_of(&by_addr[0]))])
        .await
        .items("publicipaddress");
    assert_eq!(by_id.len(), 1);
    assert_eq!(by_id[0]["ipaddress"], "172.16.0.12");
    let allocated = c.get("listPublicIpAddresses", &[("allocatedonly", "true")]).await;
    assert_eq!(allocated.text, r#"{"listpublicipaddressesresponse":{}}"#);
    let publics = c
        .get(
            "listVlanIpRanges",
            &[("zoneid", &core.zone), ("forvirtualnetwork", "true")],
        )
        .await
        .items("vlaniprange");
    assert_eq!(publics.len(), 1);
    assert_eq!(publics[0]["id"], r["id"]);

    // Overlapping public range.
    bad(&create_range(c, in_core, true, "172.16.0.1", "172.16.0.15", "172.16.0.25").await);
    // Gateway that is not a host address of its netmask (the network address).
    bad(&create_range(c, in_core, false, "172.17.0.0", "172.17.0.10", "172.17.0.20").await);
    // Public ranges don't exist in edge zones.
    bad(&create_range(c, in_edge, true, "172.18.0.1", "172.18.0.10", "172.18.0.10").await);
    // A shared network whose start IP is outside the gateway's subnet.
    let base = [
        ("zoneid", core.zone.as_str()),
        ("networkofferingid", &shared_off),
        ("netmask", "255.255.255.0"),
    ];
    let shared = |extra: &[(&'static str, &'static str)]| [&base[..], extra].concat();
    let p = shared(&[
        ("name", "s-out"),
        ("vlan", "300"),
        ("gateway", "10.30.0.1"),
        ("startip", "10.31.0.10"),
    ]);
    bad(&c.get("createNetwork", &p).await);
    // Gateway outside its netmask's usable hosts (the broadcast address).
    let p = shared(&[
        ("name", "s-gw"),
        ("vlan", "301"),
        ("gateway", "10.30.0.255"),
        ("startip", "10.30.0.10"),
    ]);
    bad(&c.get("createNetwork", &p).await);
    // Duplicate VLAN in a zone.
    let s_ok = ok(&create_shared(c, "s-ok", &core.zone, &shared_off, "302", 32, 50).await)["network"].clone();
    bad(&create_shared(c, "s-dup", &core.zone, &shared_off, "302", 33, 50).await);
    // A second guest range for the shared network; then an overlapping one.
    let in_s_ok = ("networkid", s_ok["id"].as_str().unwrap());
    let r2 = ok(&create_range(c, in_s_ok, false, "10.32.0.1", "10.32.0.60", "10.32.0.70").await)["vlan"].clone();
    assert_eq!(r2["forvirtualnetwork"], false);
    assert_eq!(r2["networkid"], s_ok["id"]);
    assert_eq!(r2["vlan"], "vlan://302");
    bad(&create_range(c, in_s_ok, false, "10.32.0.1", "10.32.0.10", "10.32.0.12").await);
    // Unknown and disabled offerings.
    bad(&c
        .get(
            "createNetwork",
            &[("name", "x"), ("zoneid", &core.zone), ("networkofferingid", UNKNOWN)],
        )
        .await);
    let disabled = ok(&c
        .get(
            "createNetworkOffering",
            &[("name", "L2Disabled"), ("guestiptype", "L2"), ("traffictype", "GUEST")],
        )
        .await)["networkoffering"]
        .clone();
    assert_eq!(disabled["state"], "Disabled");
    let e = bad(&c
        .get(
            "createNetwork",
            &[
                ("name", "x"),
                ("zoneid", &core.zone),
                ("networkofferingid", &id_of(&disabled)),
            ],
        )
        .await);
    assert!(e.contains("Disabled") || e.contains("enable"), "{e}");
    // L2 with addressing.
    bad(&c
        .get(
            "createNetwork",
            &[
                ("name", "l2-gw"),
                ("zoneid", &core.zone),
                ("networkofferingid", &l2_off),
                ("gateway", "10.40.0.1"),
                ("netmask", "255.255.255.0"),
            ],
        )
        .await);
    // Missing and malformed ids.
    bad(&c
        .get("createNetwork", &[("name", "x"), ("networkofferingid", &l2_off)])
        .await);
    bad(&c.get("listNetworks", &[("zoneid", UNKNOWN)]).await);
    bad(&c.get("listNetworks", &[("id", "not-a-uuid")]).await);
    bad(&c.get("deleteNetwork", &[("id", UNKNOWN)]).await);
    bad(&c.get("restartNetwork", &[("id", UNKNOWN)]).await);
    bad(&c.get("deleteVlanIpRange", &[("id", UNKNOWN)]).await);
    bad(&c
        .get(
            "createNetwork",
            &[
                ("name", "x"),
                ("zoneid", &core.zone),
                ("networkofferingid", &l2_off),
                ("vpcid", UNKNOWN),
            ],
        )
        .await);

    // Rule lists answer empty, but check their ids.
    let net = id_of(&s_ok);
    for cmd in [
        "listFirewallRules",
        "listEgressFirewallRules",
        "listPortForwardingRules",
        "listLoadBalancerRules",
        "listIpForwardingRules",
    ] {
        let a = c.get(cmd, &[]).await;
        assert_eq!(a.text, format!(r#"{{"{}response":{{}}}}"#, cmd.to_lowercase()));
        if cmd != "listIpForwardingRules" {
            assert_eq!(ok(&c.get(cmd, &[("networkid", &net)]).await), serde_json::json!({}));
            bad(&c.get(cmd, &[("networkid", UNKNOWN)]).await);
        }
        if cmd != "listLoadBalancerRules" {
            assert_eq!(
                ok(&c.get(cmd, &[("ipaddressid", &id_of(&ips[0]))]).await),
                serde_json::json!({})
            );
            bad(&c.get(cmd, &[("ipaddressid", UNKNOWN)]).await);
        }
    }
    bad(&c.get("listLoadBalancerRules", &[("publicipid", UNKNOWN)]).await);

    // An unused public range can be deleted; its addresses go with it.
    ok(&c.get("deleteVlanIpRange", &[("id", &id_of(&r))]).await);
    assert_eq!(
        c.get("listPublicIpAddresses", &[("zoneid", &core.zone)]).await.text,
        r#"{"listpublicipaddressesresponse":{}}"#
    );
    t.stop().await;
}

#[tokio::test]
async fn concurrent_guest_allocation_never_hands_out_an_address_twice() {
    let t = TestServer::start().await;
    let c = &t.admin;
    let core = site(c, "core1", false).await;
    let shared_off = offering(c, "DefaultSharedNetworkOffering").await;
    // 30 addresses.
    let n = ok(&create_shared(c, "small", &core.zone, &shared_off, "120", 50, 39).await)["network"].clone();
    let app = t.server.as_ref().unwrap().app.clone();
    let row = app.network_get(&id_of(&n)).await.unwrap().expect("network row");
    let mut tasks = Vec::new();
    for i in 0..40 {
        let app = app.clone();
        let row = row.clone();
        tasks.push(tokio::spawn(async move {
            let mut tx = app.db.begin().await?;
            let got = app
                .guest_ip_allocate(&mut tx, &row, "UserVm", &format!("vm-{i}"), None)
                .await?;
            tx.commit().await.map_err(db_err)?;
            Ok::<_, ferrostack_types::Error>(got)
        }));
    }
    let mut ips = HashSet::new();
    let mut macs = HashSet::new();
    let mut refused = 0;
    for task in tasks {
        match task.await.expect("allocation task panicked") {
            Ok((ip, mac)) => {
                let ip = ip.expect("a shared network assigns an address");
                let addr: std::net::Ipv4Addr = ip.parse().unwrap();
                assert!(
                    (u32::from(std::net::Ipv4Addr::new(10, 50, 0, 10))
                        ..=u32::from(std::net::Ipv4Addr::new(10, 50, 0, 39)))
                        .contains(&u32::from(addr)),
                    "{ip} outside the range"
                );
                assert!(ips.insert(ip.clone()), "{ip} handed out twice");
                assert!(macs.insert(mac.clone()), "{mac} handed out twice");
            }
            Err(e) => {
                assert_eq!(e.http_status(), 533, "expected insufficient capacity, got {e:?}");
                refused += 1;
            }
        }
    }
    assert_eq!(ips.len(), 30, "every address allocated exactly once");
    assert_eq!(refused, 10);
    t.stop().await;
}

#[tokio::test]
async fn users_see_their_own_and_domain_networks_and_delete_completes() {
    let t = TestServer::start().await;
    let c = &t.admin;
    let core = site(c, "core1", false).await;
    let shared_off = offering(c, "DefaultSharedNetworkOffering").await;
    let isolated_off = offering(c, "DefaultIsolatedNetworkOfferingWithSourceNatService").await;
    let l2_off = offering(c, "DefaultL2NetworkOffering").await;
    let d = t.create_domain("d1", None).await;
    let d = id_of(&d);
    let (_, alice) = t.account_client("alice", "0", &d).await;
    let (_, bob) = t.account_client("bob", "0", &d).await;
    let shared = ok(&create_shared(c, "everyone", &core.zone, &shared_off, "130", 60, 99).await)["network"].clone();
    let a_net = create_network(
        &alice,
        &[
            ("name", "alice-net"),
            ("zoneid", &core.zone),
            ("networkofferingid", &isolated_off),
        ],
    )
    .await;
    assert_eq!(a_net["account"], "alice");
    assert_eq!(a_net["domainid"], d.as_str());
    assert!(
        a_net.get("broadcasturi").is_none(),
        "users don't see broadcast URIs: {a_net}"
    );
    let b_net = create_network(
        &bob,
        &[
            ("name", "bob-net"),
            ("zoneid", &core.zone),
            ("networkofferingid", &isolated_off),
        ],
    )
    .await;
    // Users can't create shared networks.
    let a = alice
        .get(
            "createNetwork",
            &[
                ("name", "nope"),
                ("zoneid", &core.zone),
                ("networkofferingid", &shared_off),
                ("vlan", "131"),
                ("gateway", "10.61.0.1"),
                ("netmask", "255.255.255.0"),
                ("startip", "10.61.0.10"),
            ],
        )
        .await;
    assert!(a.status >= 400 && a.status != 530, "{}", a.text);

    let seen: HashSet<String> = alice
        .get("listNetworks", &[])
        .await
        .items("network")
        .iter()
        .map(|n| n["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(seen, HashSet::from(["alice-net".to_string(), "everyone".to_string()]));
    let seen_all: HashSet<String> = alice
        .get("listNetworks", &[("listall", "true")])
        .await
        .items("network")
        .iter()
        .map(|n| n["name"].as_str().unwrap().to_string())
        .collect();
    assert!(!seen_all.contains("bob-net"), "{seen_all:?}");
    let other = alice.get("listNetworks", &[("id", &id_of(&b_net))]).await;
    assert!(other.status >= 400 && other.status != 530, "{}", other.text);
    let shared_seen = alice
        .get("listNetworks", &[("id", &id_of(&shared))])
        .await
        .items("network");
    assert_eq!(shared_seen.len(), 1);
    assert!(
        shared_seen[0].get("account").is_none(),
        "domain networks show no owner account"
    );
    // Bob can't touch Alice's network.
    let a = bob.get("deleteNetwork", &[("id", &id_of(&a_net))]).await;
    assert!(a.status >= 400 && a.status != 530, "{}", a.text);

    // Restart and delete run as jobs. (Restarting an isolated network implements it, which
    // needs a system VM template for its router; an L2 network has no services to restart.)
    let a_l2 = create_network(
        &alice,
        &[
            ("name", "alice-l2"),
            ("zoneid", &core.zone),
            ("networkofferingid", &l2_off),
        ],
    )
    .await;
    let j = alice
        .run_async("restartNetwork", &[("id", &id_of(&a_l2)), ("cleanup", "true")])
        .await;
    assert_eq!(j["jobstatus"], 1, "{j}");
    assert_eq!(j["jobresult"]["success"], true, "{j}");
    assert_eq!(
        j["cmd"],
        "org.apache.cloudstack.api.command.user.network.RestartNetworkCmd"
    );
    for n in [&a_net, &a_l2] {
        let j = alice.run_async("deleteNetwork", &[("id", &id_of(n))]).await;
        assert_eq!(j["jobstatus"], 1, "{j}");
        assert_eq!(j["jobresult"]["success"], true, "{j}");
    }
    let left = alice.get("listNetworks", &[]).await.items("network");
    assert_eq!(left.len(), 1, "only the domain network is left: {left:?}");
    assert_eq!(left[0]["id"], shared["id"]);
    // Her deleted network's id lists as an empty answer (CloudStack's); to another account
    // it stays an unknown id.
    let gone = alice.get("listNetworks", &[("id", &id_of(&a_net))]).await;
    assert_eq!(gone.status, 200, "{}", gone.text);
    assert!(gone.items("network").is_empty(), "{}", gone.text);
    bad(&bob.get("listNetworks", &[("id", &id_of(&a_net))]).await);
    // The shared network, unused, deletes too.
    let j = c.run_async("deleteNetwork", &[("id", &id_of(&shared))]).await;
    assert_eq!(j["jobstatus"], 1, "{j}");
    let left = c.get("listNetworks", &[("listall", "true")]).await.items("network");
    assert_eq!(left.len(), 1, "only bob's network is left: {left:?}");
    assert_eq!(left[0]["id"], b_net["id"]);
    t.stop().await;
}
