//! Network offerings: CloudStack's seeded defaults and admin-created ones, validation,
//! updates, filters and visibility.

use std::collections::{BTreeMap, HashSet};

use serde_json::Value;

use super::{fails, id_of, ok, only_declared_fields};
use crate::common::{Client, TestServer};

/// service name → provider names of an offering answer.
fn services(o: &Value) -> BTreeMap<String, Vec<String>> {
    o["service"]
        .as_array()
        .unwrap_or_else(|| panic!("no service list in {o}"))
        .iter()
        .map(|s| {
            let p = s["provider"].as_array().unwrap().iter();
            let p = p.map(|p| p["name"].as_str().unwrap().to_string()).collect();
            (s["name"].as_str().unwrap().to_string(), p)
        })
        .collect()
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, Vec<String>> {
    pairs
        .iter()
        .map(|(s, p)| (s.to_string(), vec![p.to_string()]))
        .collect()
}

async fn offerings(c: &Client, params: &[(&str, &str)]) -> Vec<Value> {
    c.get("listNetworkOfferings", params).await.items("networkoffering")
}

async fn offering_named(c: &Client, name: &str) -> Value {
    offerings(c, &[("name", name)])
        .await
        .into_iter()
        .find(|o| o["name"] == name)
        .unwrap_or_else(|| panic!("no offering {name}"))
}

#[tokio::test]
async fn seeded_and_created_network_offerings() {
    let t = TestServer::start().await;
    let c = &t.admin;
    let all = offerings(c, &[]).await;
    let names: HashSet<&str> = all.iter().map(|o| o["name"].as_str().unwrap()).collect();
    for n in [
        "DefaultSharedNetworkOfferingWithSGService",
        "DefaultSharedNetworkOffering",
        "DefaultIsolatedNetworkOfferingWithSourceNatService",
        "DefaultIsolatedNetworkOffering",
        "DefaultIsolatedNetworkOfferingForVpcNetworks",
        "DefaultIsolatedNetworkOfferingForVpcNetworksNoLB",
        "DefaultIsolatedNetworkOfferingForVpcNetworksWithInternalLB",
        "DefaultL2NetworkOffering",
        "DefaultL2NetworkOfferingVlan",
        "DefaultL2NetworkOfferingConfigDrive",
        "DefaultL2NetworkOfferingConfigDriveVlan",
    ] {
        assert!(names.contains(n), "{n} missing from {names:?}");
    }
    assert_eq!(all.len(), 11, "system offerings are hidden: {names:?}");
    let shared = offering_named(c, "DefaultSharedNetworkOffering").await;
    assert_eq!(shared["displaytext"], "Offering for Shared networks");
    assert_eq!(shared["guestiptype"], "Shared");
    assert_eq!(shared["traffictype"], "Guest");
    assert_eq!(shared["state"], "Enabled");
    assert_eq!(shared["isdefault"], true);
    assert_eq!(shared["specifyvlan"], true);
    assert_eq!(shared["specifyipranges"], true);
    assert_eq!(shared["availability"], "Optional");
    assert_eq!(
        services(&shared),
        map(&[
            ("Dhcp", "VirtualRouter"),
            ("Dns", "VirtualRouter"),
            ("UserData", "VirtualRouter")
        ])
    );
    only_declared_fields(c, "listNetworkOfferings", &shared).await;
    let l2cd = offering_named(c, "DefaultL2NetworkOfferingConfigDrive").await;
    assert_eq!(l2cd["guestiptype"], "L2");
    assert_eq!(services(&l2cd), map(&[("UserData", "ConfigDrive")]));
    let snat = offering_named(c, "DefaultIsolatedNetworkOfferingWithSourceNatService").await;
    assert_eq!(snat["availability"], "Required");
    assert_eq!(services(&snat).len(), 10);
    let cap = snat["service"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "SourceNat")
        .unwrap()["capability"]
        .clone();
    assert!(
        cap.as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "SupportedSourceNatTypes" && c["value"] == "peraccount"),
        "{cap}"
    );
    let sg = offering_named(c, "DefaultSharedNetworkOfferingWithSGService").await;
    assert_eq!(services(&sg)["SecurityGroup"], ["SecurityGroupProvider"]);

    // Create: Shared with Dhcp, Dns → VirtualRouter and UserData → ConfigDrive.
    let a = c
        .post(
            "createNetworkOffering",
            &[
                ("name", "shared-cd"),
                ("displaytext", "Shared with config drive"),
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
                ("tags", "gold"),
            ],
        )
        .await;
    let o = ok(&a)["networkoffering"].clone();
    only_declared_fields(c, "createNetworkOffering", &o).await;
    assert_eq!(o["state"], "Disabled", "new offerings start Disabled");
    assert_eq!(o["isdefault"], false);
    assert_eq!(o["guestiptype"], "Shared");
    assert_eq!(o["egressdefaultpolicy"], true);
    assert_eq!(o["conservemode"], true);
    assert_eq!(
        services(&o),
        map(&[
            ("Dhcp", "VirtualRouter"),
            ("Dns", "VirtualRouter"),
            ("UserData", "ConfigDrive")
        ])
    );
    let oid = id_of(&o);

    // Refusals with what to do.
    let create = |params: Vec<(&'static str, &'static str)>| async move {
        let mut p = vec![("name", "bad"), ("guestiptype", "Isolated"), ("traffictype", "Guest")];
        p.extend(params);
        c.get("createNetworkOffering", &p).await
    };
    let e = fails(
        &create(vec![
            ("supportedservices", "SourceNat"),
            ("serviceproviderlist[0].service", "SourceNat"),
            ("serviceproviderlist[0].provider", "ConfigDrive"),
        ])
        .await,
        431,
    );
    assert!(e.contains("ConfigDrive supports: Dhcp, Dns, UserData"), "{e}");
    let e = fails(
        &create(vec![
            ("supportedservices", "Dhcp"),
            ("serviceproviderlist[0].service", "Dhcp"),
            ("serviceproviderlist[0].provider", "Netscaler"),
        ])
        .await,
        431,
    );
    assert!(e.contains("Netscaler") && e.contains("VirtualRouter"), "{e}");
    let e = fails(&create(vec![("supportedservices", "Dhcp,Teleport")]).await, 431);
    assert!(e.contains("Teleport") && e.contains("UserData"), "{e}");
    let e = fails(&create(vec![("supportedservices", "SecurityGroup")]).await, 431);
    assert!(e.contains("Shared"), "{e}");
    let e = fails(
        &c.get(
            "createNetworkOffering",
            &[
                ("name", "l2bad"),
                ("guestiptype", "L2"),
                ("traffictype", "Guest"),
                ("supportedservices", "Dhcp"),
            ],
        )
        .await,
        431,
    );
    assert!(e.contains("L2"), "{e}");
    let e = fails(
        &c.get(
            "createNetworkOffering",
            &[("name", "pub"), ("guestiptype", "Shared"), ("traffictype", "Public")],
        )
        .await,
        431,
    );
    assert!(e.contains("Guest"), "{e}");
    let e = fails(
        &create(vec![("supportedservices", "Dhcp"), ("availability", "Required")]).await,
        431,
    );
    assert!(e.contains("SourceNat"), "{e}");
    let e = fails(
        &c.get(
            "createNetworkOffering",
            &[
                ("name", "shared-cd"),
                ("guestiptype", "Shared"),
                ("traffictype", "Guest"),
            ],
        )
        .await,
        431,
    );
    assert!(e.contains("already exists"), "{e}");

    // Isolated with SourceNat: the provider defaults to the virtual router; capabilities apply.
    let iso = ok(&c
        .post(
            "createNetworkOffering",
            &[
                ("name", "iso-perzone"),
                ("guestiptype", "Isolated"),
                ("traffictype", "Guest"),
                ("supportedservices", "Dhcp,Dns,SourceNat,Gateway"),
                ("servicecapabilitylist[0].service", "SourceNat"),
                ("servicecapabilitylist[0].capabilitytype", "SupportedSourceNatTypes"),
                ("servicecapabilitylist[0].capabilityvalue", "perzone"),
                ("enable", "true"),
            ],
        )
        .await)["networkoffering"]
        .clone();
    assert_eq!(iso["state"], "Enabled");
    assert_eq!(services(&iso)["SourceNat"], ["VirtualRouter"]);
    let l2 = ok(&c
        .get(
            "createNetworkOffering",
            &[
                ("name", "l2-ud"),
                ("guestiptype", "L2"),
                ("traffictype", "Guest"),
                ("supportedservices", "UserData"),
            ],
        )
        .await)["networkoffering"]
        .clone();
    assert_eq!(services(&l2), map(&[("UserData", "ConfigDrive")]));

    // Defaults can't be deleted.
    let e = fails(&c.get("deleteNetworkOffering", &[("id", &id_of(&shared))]).await, 431);
    assert!(e.contains("Default") && e.contains("Disabled"), "{e}");

    // Users see only Enabled offerings.
    let root = id_of(&c.get("listDomains", &[]).await.items("domain")[0]);
    let (_, user) = t.account_client("nouser", "0", &root).await;
    let seen = offerings(&user, &[]).await;
    assert!(seen.iter().all(|o| o["state"] == "Enabled"));
    assert!(!seen.iter().any(|o| o["name"] == "shared-cd"));
    fails(
        &user
            .get(
                "createNetworkOffering",
                &[("name", "x"), ("guestiptype", "L2"), ("traffictype", "Guest")],
            )
            .await,
        401,
    );

    // Update: state, display text, sort key, tags; by name too.
    let u = ok(&c
        .get(
            "updateNetworkOffering",
            &[("id", &oid), ("state", "Enabled"), ("displaytext", "SCD")],
        )
        .await);
    assert_eq!(u["networkoffering"]["state"], "Enabled");
    assert_eq!(u["networkoffering"]["displaytext"], "SCD");
    assert!(offerings(&user, &[]).await.iter().any(|o| o["name"] == "shared-cd"));
    let u = ok(&c
        .get("updateNetworkOffering", &[("name", "shared-cd"), ("sortkey", "-1")])
        .await);
    assert_eq!(u["networkoffering"]["name"], "shared-cd");
    assert_eq!(
        offerings(c, &[]).await[0]["name"],
        "shared-cd",
        "sortkey orders the list"
    );
    let e = fails(
        &c.get("updateNetworkOffering", &[("id", &oid), ("state", "Gone")]).await,
        431,
    );
    assert!(e.contains("Enabled or Disabled"), "{e}");

    // Filters.
    let names_of =
        |v: Vec<Value>| -> HashSet<String> { v.iter().map(|o| o["name"].as_str().unwrap().to_string()).collect() };
    let l2s = names_of(offerings(c, &[("guestiptype", "L2")]).await);
    assert_eq!(l2s.len(), 5, "{l2s:?}");
    let snats = names_of(offerings(c, &[("sourcenatsupported", "true")]).await);
    assert!(snats.contains("DefaultIsolatedNetworkOfferingWithSourceNatService") && snats.contains("iso-perzone"));
    assert!(!snats.contains("DefaultSharedNetworkOffering"));
    assert_eq!(offerings(c, &[("forvpc", "true")]).await.len(), 3);
    let mine = names_of(offerings(c, &[("isdefault", "false")]).await);
    assert_eq!(
        mine,
        ["shared-cd", "iso-perzone", "l2-ud"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    );
    let sg = names_of(offerings(c, &[("supportedservices", "SecurityGroup")]).await);
    assert_eq!(
        sg,
        ["DefaultSharedNetworkOfferingWithSGService".to_string()]
            .into_iter()
            .collect()
    );
    let ud_cd = names_of(offerings(c, &[("supportedservices", "UserData,Dhcp"), ("guestiptype", "Shared")]).await);
    assert!(ud_cd.contains("shared-cd") && ud_cd.contains("DefaultSharedNetworkOffering"));
    assert_eq!(offerings(c, &[("state", "Disabled")]).await.len(), 1);
    assert_eq!(offerings(c, &[("tags", "gold")]).await.len(), 1);
    assert_eq!(offerings(c, &[("keyword", "ConfigDrive")]).await.len(), 2);
    assert_eq!(
        offerings(c, &[("specifyvlan", "true"), ("guestiptype", "L2")])
            .await
            .len(),
        2
    );
    assert_eq!(offerings(c, &[("id", &oid)]).await.len(), 1);
    fails(
        &c.get("listNetworkOfferings", &[("supportedservices", "Nope")]).await,
        431,
    );

    // Delete a created offering.
    let a = c.get("deleteNetworkOffering", &[("id", &id_of(&l2))]).await;
    assert_eq!(ok(&a)["success"], true);
    // A deleted offering's id lists nothing (removed rows resolve, as in CloudStack).
    assert_eq!(
        ok(&c.get("listNetworkOfferings", &[("id", &id_of(&l2))]).await),
        serde_json::json!({})
    );
    let ev = c
        .get("listEvents", &[("type", "NETWORK.OFFERING.CREATE")])
        .await
        .items("event");
    assert_eq!(ev.len(), 3);
    t.stop().await;
}
