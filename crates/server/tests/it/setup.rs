//! Shared bring-up for VM and router tests: zones with simulator hosts, a physical network
//! with its providers enabled, templates, offerings, guest networks.

#![allow(dead_code)]

use serde_json::Value;

use crate::common::{finish_downloads, Client};
use crate::infra::{bring_up, ZoneSetup};

pub struct Cloud {
    pub zone: ZoneSetup,
    pub physnet: String,
    pub offering: String,
    pub ostype: String,
}

async fn job_ok(c: &Client, command: &str, params: &[(&str, &str)]) -> Value {
    let j = c.run_async(command, params).await;
    assert_eq!(j["jobstatus"], 1, "{command} failed: {j}");
    j
}

/// A zone with hosts, an enabled physical network (Guest traffic; Public too in core zones)
/// and its VirtualRouter and ConfigDrive providers enabled.
/// Hosts are pinged every second and go down after a second without an answer, so tests that
/// stop and start hosts see it quickly.
pub async fn fast_host_pings(c: &Client) {
    for (name, value) in [("ping.interval", "1"), ("ping.timeout", "1")] {
        c.get("updateConfiguration", &[("name", name), ("value", value)])
            .await
            .ok();
    }
}

pub async fn cloud(c: &Client, name: &str, edge: bool, hosts: usize) -> Cloud {
    let zone = bring_up(c, name, edge, hosts).await;
    let pn = c
        .get(
            "createPhysicalNetwork",
            &[
                ("zoneid", &zone.zone),
                ("name", &format!("{name}-phys")),
                ("vlan", "100-999"),
            ],
        )
        .await;
    let physnet = pn.ok()["id"]
        .as_str()
        .unwrap_or_else(|| panic!("createPhysicalNetwork: {}", pn.text))
        .to_string();
    c.wait_job(pn.ok()["jobid"].as_str().unwrap()).await;
    job_ok(
        c,
        "addTrafficType",
        &[("physicalnetworkid", &physnet), ("traffictype", "Guest")],
    )
    .await;
    if !edge {
        job_ok(
            c,
            "addTrafficType",
            &[("physicalnetworkid", &physnet), ("traffictype", "Public")],
        )
        .await;
    }
    job_ok(c, "updatePhysicalNetwork", &[("id", &physnet), ("state", "Enabled")]).await;
    let nsps = c
        .get("listNetworkServiceProviders", &[("physicalnetworkid", &physnet)])
        .await
        .items("networkserviceprovider");
    let vr = nsps
        .iter()
        .find(|p| p["name"] == "VirtualRouter")
        .expect("VirtualRouter provider")
        .clone();
    let vr_id = vr["id"].as_str().unwrap().to_string();
    let el = c
        .get("listVirtualRouterElements", &[("nspid", &vr_id)])
        .await
        .items("virtualrouterelement");
    job_ok(
        c,
        "configureVirtualRouterElement",
        &[("id", el[0]["id"].as_str().unwrap()), ("enabled", "true")],
    )
    .await;
    job_ok(
        c,
        "updateNetworkServiceProvider",
        &[("id", &vr_id), ("state", "Enabled")],
    )
    .await;
    if let Some(cd) = nsps.iter().find(|p| p["name"] == "ConfigDrive") {
        if cd["state"] != "Enabled" {
            job_ok(
                c,
                "updateNetworkServiceProvider",
                &[("id", cd["id"].as_str().unwrap()), ("state", "Enabled")],
            )
            .await;
        }
    }
    c.get("updateZone", &[("id", &zone.zone), ("allocationstate", "Enabled")])
        .await
        .ok();
    let offering = c
        .get("listServiceOfferings", &[("name", "Small Instance")])
        .await
        .items("serviceoffering")[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let ostype = c.get("listOsTypes", &[]).await.items("ostype")[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    Cloud {
        zone,
        physnet,
        offering,
        ostype,
    }
}

/// An edge zone with `hosts` simulator hosts, a ready guest template `guest` and a system
/// template `sys` that the zone's routers use (`router.template.simulator`). Returns the
/// cloud and the guest template's id.
pub async fn edge_with_templates(c: &Client, name: &str, hosts: usize) -> (Cloud, String) {
    let edge = cloud(c, name, true, hosts).await;
    let guest = template(c, &edge, "guest", true, false, true).await;
    template(c, &edge, "sys", true, true, true).await;
    c.get(
        "updateConfiguration",
        &[
            ("name", "router.template.simulator"),
            ("value", "sys"),
            ("zoneid", &edge.zone.zone),
        ],
    )
    .await
    .ok();
    (edge, guest)
}

/// Register a template in a zone and wait until it is ready (or, `expect_ready=false`, just
/// registered). Returns its id.
pub async fn template(c: &Client, cloud: &Cloud, name: &str, direct: bool, system: bool, expect_ready: bool) -> String {
    let mut p = vec![
        ("name", name),
        ("displaytext", name),
        ("url", "http://images.example.org/t.qcow2"),
        ("format", "QCOW2"),
        ("hypervisor", "Simulator"),
        ("ostypeid", cloud.ostype.as_str()),
        ("zoneid", cloud.zone.zone.as_str()),
        ("ispublic", "true"),
        ("isfeatured", "true"),
    ];
    if direct {
        p.push(("directdownload", "true"));
    }
    if system {
        p.push(("isrouting", "true"));
    }
    let r = c.get("registerTemplate", &p).await;
    let id = r.ok()["template"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("registerTemplate: {}", r.text))
        .to_string();
    if expect_ready {
        let app = c.app().expect("a client of a running TestServer");
        finish_downloads(&app, &id).await;
        let t = c
            .get(
                "listTemplates",
                &[("templatefilter", "all"), ("id", &id), ("zoneid", &cloud.zone.zone)],
            )
            .await
            .items("template");
        assert!(
            t.first().is_some_and(|t| t["isready"] == true),
            "template {name} did not become ready: {t:?}"
        );
    }
    id
}

pub async fn offering_id(c: &Client, name: &str) -> String {
    let o = c
        .get("listNetworkOfferings", &[("name", name)])
        .await
        .items("networkoffering");
    o.first().unwrap_or_else(|| panic!("no network offering {name}"))["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A shared network offering whose UserData comes from ConfigDrive (Dhcp/Dns from VirtualRouter).
pub async fn configdrive_offering(c: &Client, name: &str) -> String {
    let r = c
        .post(
            "createNetworkOffering",
            &[
                ("name", name),
                ("displaytext", name),
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
                ("enable", "true"),
            ],
        )
        .await;
    let id = r.ok()["networkoffering"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("createNetworkOffering: {}", r.text))
        .to_string();
    c.get("updateNetworkOffering", &[("id", &id), ("state", "Enabled")])
        .await
        .ok();
    id
}

pub async fn shared_network(
    c: &Client,
    cloud: &Cloud,
    name: &str,
    offering: &str,
    vlan: &str,
    third_octet: u8,
) -> String {
    let gw = format!("10.{third_octet}.0.1");
    let start = format!("10.{third_octet}.0.10");
    let end = format!("10.{third_octet}.0.200");
    let r = c
        .get(
            "createNetwork",
            &[
                ("name", name),
                ("displaytext", name),
                ("zoneid", &cloud.zone.zone),
                ("networkofferingid", offering),
                ("vlan", vlan),
                ("gateway", &gw),
                ("netmask", "255.255.255.0"),
                ("startip", &start),
                ("endip", &end),
            ],
        )
        .await;
    r.ok()["network"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("createNetwork: {}", r.text))
        .to_string()
}

/// Submit a deploy and return (vm id, job id).
pub async fn deploy(
    c: &Client,
    cloud: &Cloud,
    template: &str,
    network: &str,
    name: &str,
    extra: &[(&str, &str)],
) -> (String, String) {
    let mut p = vec![
        ("zoneid", cloud.zone.zone.as_str()),
        ("serviceofferingid", cloud.offering.as_str()),
        ("templateid", template),
        ("networkids", network),
        ("name", name),
    ];
    p.extend_from_slice(extra);
    let r = c.post("deployVirtualMachine", &p).await;
    let o = r.ok();
    (
        o["id"]
            .as_str()
            .unwrap_or_else(|| panic!("deploy: {}", r.text))
            .to_string(),
        o["jobid"].as_str().unwrap().to_string(),
    )
}

pub async fn routers_of(c: &Client, network: &str) -> Vec<Value> {
    c.get("listRouters", &[("networkid", network)]).await.items("router")
}
