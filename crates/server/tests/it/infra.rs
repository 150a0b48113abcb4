//! Zones, pods, clusters, simulator hosts, host liveness, configuration — through the API.

use std::time::Duration;

use serde_json::Value;

use crate::common::{Client, TestServer};

pub struct ZoneSetup {
    pub zone: String,
    pub pod: String,
    pub cluster: String,
    pub hosts: Vec<String>,
}

/// Bring up a zone the way Marvin does: zone, pod, cluster, hosts.
pub async fn bring_up(c: &Client, name: &str, edge: bool, hosts: usize) -> ZoneSetup {
    let mut p = vec![
        ("name", name),
        ("dns1", "8.8.8.8"),
        ("internaldns1", "10.0.0.2"),
        ("networktype", "Advanced"),
    ];
    if edge {
        p.push(("isedge", "true"));
    }
    let z = c.get("createZone", &p).await.ok()["zone"].clone();
    let zone = z["id"].as_str().unwrap().to_string();
    let pod_params: Vec<(&str, &str)> = if edge {
        vec![("name", "pod1"), ("zoneid", &zone)]
    } else {
        vec![
            ("name", "pod1"),
            ("zoneid", &zone),
            ("gateway", "192.168.56.1"),
            ("netmask", "255.255.255.0"),
            ("startip", "192.168.56.100"),
            ("endip", "192.168.56.200"),
        ]
    };
    let pod = c.get("createPod", &pod_params).await.ok()["pod"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let cl = c
        .get(
            "addCluster",
            &[
                ("clustername", "c1"),
                ("clustertype", "CloudManaged"),
                ("hypervisor", "Simulator"),
                ("podid", &pod),
                ("zoneid", &zone),
            ],
        )
        .await;
    let cluster = cl.ok()["cluster"][0]["id"].as_str().unwrap().to_string();
    let mut out = Vec::new();
    for i in 0..hosts {
        let url = format!("http://sim/{name}/c1/h{i}");
        let h = c
            .get(
                "addHost",
                &[
                    ("hypervisor", "Simulator"),
                    ("podid", &pod),
                    ("zoneid", &zone),
                    ("clusterid", &cluster),
                    ("url", &url),
                    ("username", "root"),
                    ("password", "password"),
                ],
            )
            .await;
        assert_eq!(h.ok()["count"], 1, "{}", h.text);
        out.push(h.ok()["host"][0]["id"].as_str().unwrap().to_string());
    }
    ZoneSetup {
        zone,
        pod,
        cluster,
        hosts: out,
    }
}

pub async fn host_state(c: &Client, id: &str) -> String {
    c.get("listHosts", &[("id", id)]).await.items("host")[0]["state"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Wait (bounded, 10 s) for the liveness monitor to see host `id` in `state`.
///
/// A wait on wall-clock time that stays: a host is marked Down when it has not
/// answered for `ping.interval` × `ping.timeout` seconds measured by the monitor's own clock
/// (`App::host_monitor_tick` reads `now_ms()` and keeps the last answer in memory), and a ping
/// is due once per `ping.interval` (at least one second). No test hook can move that clock, so
/// the test waits for it; the monitor runs every 250 ms, so this returns soon after it is due.
pub async fn host_becomes(c: &Client, id: &str, state: &str) {
    for _ in 0..100 {
        if host_state(c, id).await == state {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("host {id} did not become {state}");
}

#[tokio::test]
async fn core_and_edge_zones_come_up_with_simulator_hosts() {
    let t = TestServer::start().await;
    let core = bring_up(&t.admin, "core1", false, 2).await;
    let edge = bring_up(&t.admin, "edge1", true, 1).await;
    let zones = t.admin.get("listZones", &[]).await.items("zone");
    assert_eq!(zones.len(), 2);
    let e = zones.iter().find(|z| z["name"] == "edge1").unwrap();
    assert_eq!(e["type"], "Edge");
    assert_eq!(e["networktype"], "Advanced");
    assert_eq!(e["allocationstate"], "Disabled", "new zones start Disabled");
    assert_eq!(zones.iter().find(|z| z["name"] == "core1").unwrap()["type"], "Core");
    assert_eq!(
        t.admin.get("listZones", &[("type", "Edge")]).await.items("zone").len(),
        1
    );
    let hosts = t.admin.get("listHosts", &[("zoneid", &core.zone)]).await.items("host");
    assert_eq!(hosts.len(), 2);
    for h in &hosts {
        assert_eq!(h["state"], "Up");
        assert_eq!(h["type"], "Routing");
        assert_eq!(h["resourcestate"], "Enabled");
        assert_eq!(h["hypervisor"], "Simulator");
        assert!(h["name"].as_str().unwrap().starts_with("SimulatedAgent."));
        assert!(h["cpunumber"].as_i64().unwrap() > 0 && h["memorytotal"].as_i64().unwrap() > 0);
        assert_eq!(h["clusterid"], core.cluster.as_str());
    }
    assert_eq!(host_state(&t.admin, &edge.hosts[0]).await, "Up");
    let pods = t.admin.get("listPods", &[("zoneid", &core.zone)]).await.items("pod");
    assert_eq!(pods[0]["gateway"], "192.168.56.1");
    let cl = t
        .admin
        .get("listClusters", &[("zoneid", &edge.zone)])
        .await
        .items("cluster");
    assert_eq!(cl[0]["hypervisortype"], "Simulator");
    assert_eq!(cl[0]["cpuovercommitratio"], "1.0");
    let up = t
        .admin
        .get("updateZone", &[("id", &edge.zone), ("allocationstate", "Enabled")])
        .await;
    assert_eq!(up.ok()["zone"]["allocationstate"], "Enabled");
    let hv = t.admin.get("listHypervisors", &[]).await.items("hypervisor");
    assert_eq!(hv[0]["name"], "Simulator");
    let cap = t
        .admin
        .get("listCapacity", &[("zoneid", &core.zone)])
        .await
        .items("capacity");
    assert!(
        cap.iter()
            .any(|c| c["name"] == "CPU" && c["capacitytotal"].as_i64().unwrap() > 0),
        "{cap:?}"
    );
    t.stop().await;
}

#[tokio::test]
async fn bad_infrastructure_input_gets_clear_4xx() {
    let t = TestServer::start().await;
    let edge = bring_up(&t.admin, "edge", true, 1).await;
    // Pod IP range in an edge zone.
    let e = t
        .admin
        .get(
            "createPod",
            &[
                ("name", "p2"),
                ("zoneid", &edge.zone),
                ("gateway", "10.1.1.1"),
                ("netmask", "255.255.255.0"),
                ("startip", "10.1.1.10"),
            ],
        )
        .await
        .err(431);
    assert!(e.contains("edge zone"), "{e}");
    // Duplicate zone name.
    let e = t
        .admin
        .get(
            "createZone",
            &[
                ("name", "EDGE"),
                ("dns1", "8.8.8.8"),
                ("internaldns1", "10.0.0.2"),
                ("networktype", "Advanced"),
            ],
        )
        .await
        .err(431);
    assert!(e.contains("already exists"), "{e}");
    // Bad network type and bad DNS.
    assert!(t
        .admin
        .get(
            "createZone",
            &[
                ("name", "z"),
                ("dns1", "8.8.8.8"),
                ("internaldns1", "10.0.0.2"),
                ("networktype", "Fancy")
            ]
        )
        .await
        .err(431)
        .contains("Advanced"));
    assert!(t
        .admin
        .get(
            "createZone",
            &[
                ("name", "z"),
                ("dns1", "dns.example"),
                ("internaldns1", "10.0.0.2"),
                ("networktype", "Advanced")
            ]
        )
        .await
        .err(431)
        .contains("dns1"));
    // Unknown hypervisor.
    let e = t
        .admin
        .get(
            "addCluster",
            &[
                ("clustername", "x"),
                ("clustertype", "CloudManaged"),
                ("hypervisor", "Hyper-Z"),
                ("podid", &edge.pod),
                ("zoneid", &edge.zone),
            ],
        )
        .await
        .err(431);
    assert!(e.contains("Simulator"), "names the supported hypervisors: {e}");
    // A host URL that is not a simulator URL.
    let e = t
        .admin
        .get(
            "addHost",
            &[
                ("hypervisor", "Simulator"),
                ("podid", &edge.pod),
                ("zoneid", &edge.zone),
                ("clusterid", &edge.cluster),
                ("url", "ftp://nope"),
            ],
        )
        .await
        .err(431);
    assert!(e.contains("http://sim/"), "{e}");
    // The same host twice.
    let url = "http://sim/edge/c1/h0";
    let e = t
        .admin
        .get(
            "addHost",
            &[
                ("hypervisor", "Simulator"),
                ("podid", &edge.pod),
                ("zoneid", &edge.zone),
                ("clusterid", &edge.cluster),
                ("url", url),
            ],
        )
        .await
        .err(431);
    assert!(e.contains("already exists"), "{e}");
    // Deleting a zone or cluster in use.
    let e = t.admin.get("deleteZone", &[("id", &edge.zone)]).await.err(431);
    assert!(e.contains("host"), "{e}");
    let e = t.admin.get("deleteCluster", &[("id", &edge.cluster)]).await.err(431);
    assert!(e.contains("deleteHost"), "{e}");
    // An Up host is not deleted without maintenance.
    assert!(t
        .admin
        .get("deleteHost", &[("id", &edge.hosts[0])])
        .await
        .err(431)
        .contains("maintenance"));
    // Unknown ids.
    t.admin
        .get("listPods", &[("zoneid", "1d8d87d4-1425-459c-8d81-c6f57dca2bd2")])
        .await
        .err(431);
    // Users can't create zones; they see only enabled zones.
    let root = t.admin.get("listDomains", &[]).await.items("domain")[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, user) = t.account_client("u", "0", &root).await;
    assert_eq!(user.get("createZone", &[]).await.status, 401);
    assert!(
        user.get("listZones", &[]).await.items("zone").is_empty(),
        "the zone is still Disabled"
    );
    t.stop().await;
}

#[tokio::test]
async fn maintenance_and_teardown_in_order() {
    let t = TestServer::start().await;
    let z = bring_up(&t.admin, "core", false, 1).await;
    let h = &z.hosts[0];
    let j = t.admin.run_async("prepareHostForMaintenance", &[("id", h)]).await;
    assert_eq!(j["jobstatus"], 1, "{j}");
    assert_eq!(j["jobresult"]["host"]["resourcestate"], "Maintenance");
    let j = t.admin.run_async("cancelHostMaintenance", &[("id", h)]).await;
    assert_eq!(j["jobresult"]["host"]["resourcestate"], "Enabled");
    let j = t.admin.run_async("reconnectHost", &[("id", h)]).await;
    assert_eq!(j["jobresult"]["host"]["state"], "Up", "{j}");
    t.admin.run_async("prepareHostForMaintenance", &[("id", h)]).await;
    assert_eq!(t.admin.get("deleteHost", &[("id", h)]).await.ok()["success"], true);
    assert_eq!(
        t.admin.get("deleteCluster", &[("id", &z.cluster)]).await.ok()["success"],
        true
    );
    assert_eq!(t.admin.get("deletePod", &[("id", &z.pod)]).await.ok()["success"], true);
    assert_eq!(
        t.admin.get("deleteZone", &[("id", &z.zone)]).await.ok()["success"],
        true
    );
    assert!(t.admin.get("listZones", &[]).await.items("zone").is_empty());
    let ev: Vec<Value> = t
        .admin
        .get("listEvents", &[("type", "ZONE.DELETE")])
        .await
        .items("event");
    assert_eq!(ev.len(), 1);
    t.stop().await;
}

#[tokio::test]
async fn a_host_that_stops_answering_goes_down_with_an_alert_and_comes_back() {
    let t = TestServer::start().await;
    let a = t
        .admin
        .get("updateConfiguration", &[("name", "ping.interval"), ("value", "1")])
        .await;
    assert_eq!(a.ok()["configuration"]["value"], "1");
    t.admin
        .get("updateConfiguration", &[("name", "ping.timeout"), ("value", "2")])
        .await
        .ok();
    let z = bring_up(&t.admin, "edge", true, 1).await;
    let h = &z.hosts[0];
    t.admin
        .get("updateSimulatorHost", &[("id", h), ("state", "Down")])
        .await
        .ok();
    host_becomes(&t.admin, h, "Down").await;
    let alerts = t.admin.get("listAlerts", &[]).await.items("alert");
    assert!(
        alerts
            .iter()
            .any(|a| a["type"] == 7 && a["description"].as_str().unwrap().contains("Down")),
        "{alerts:?}"
    );
    t.admin
        .get("updateSimulatorHost", &[("id", h), ("state", "Up")])
        .await
        .ok();
    host_becomes(&t.admin, h, "Up").await;
    // Failure injection through configureSimulator also takes it down, and expires with count.
    let m = t
        .admin
        .get(
            "configureSimulator",
            &[
                ("name", "PingCommand"),
                ("value", "result=fail"),
                ("hostid", h),
                ("count", "50"),
            ],
        )
        .await;
    let mock = m.ok()["simulatormock"]["id"].as_i64().unwrap().to_string();
    let q = t.admin.get("querySimulatorMock", &[("id", &mock)]).await;
    assert_eq!(q.ok()["simulatormock"]["name"], "PingCommand");
    host_becomes(&t.admin, h, "Down").await;
    assert_eq!(
        t.admin.get("cleanupSimulatorMock", &[("id", &mock)]).await.ok()["success"],
        true
    );
    t.admin.get("querySimulatorMock", &[("id", "999999")]).await.err(431);
    t.stop().await;
}

#[tokio::test]
async fn configuration_is_listed_validated_and_zone_scoped() {
    let t = TestServer::start().await;
    let z = bring_up(&t.admin, "edge", true, 0).await;
    let all = t.admin.get("listConfigurations", &[]).await;
    assert!(all
        .items("configuration")
        .iter()
        .any(|c| c["name"] == "vm.userdata.max.length"));
    let one = t
        .admin
        .get("listConfigurations", &[("name", "router.template.simulator")])
        .await
        .items("configuration");
    assert_eq!(one[0]["value"], "SystemVM Template (simulator)");
    let zoned = t
        .admin
        .get(
            "updateConfiguration",
            &[
                ("name", "router.template.simulator"),
                ("value", "edge-router"),
                ("zoneid", &z.zone),
            ],
        )
        .await;
    assert_eq!(zoned.ok()["configuration"]["scope"], "zone");
    let in_zone = t
        .admin
        .get(
            "listConfigurations",
            &[("name", "router.template.simulator"), ("zoneid", &z.zone)],
        )
        .await;
    assert_eq!(in_zone.items("configuration")[0]["value"], "edge-router");
    let global = t
        .admin
        .get("listConfigurations", &[("name", "router.template.simulator")])
        .await;
    assert_eq!(
        global.items("configuration")[0]["value"],
        "SystemVM Template (simulator)",
        "global value unchanged"
    );
    assert!(t
        .admin
        .get("updateConfiguration", &[("name", "ping.interval"), ("value", "-3")])
        .await
        .err(431)
        .contains("1 to 600"));
    assert!(t
        .admin
        .get("updateConfiguration", &[("name", "no.such.thing"), ("value", "1")])
        .await
        .err(431)
        .contains("listConfigurations"));
    assert!(t
        .admin
        .get(
            "updateConfiguration",
            &[("name", "ping.interval"), ("value", "3"), ("zoneid", &z.zone)]
        )
        .await
        .err(431)
        .contains("global"));
    t.stop().await;
}
