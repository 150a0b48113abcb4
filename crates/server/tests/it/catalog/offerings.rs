//! Service and disk offerings and the guest OS catalogue, through the API.

use super::{fields_declared, id_of, names, ok};
use crate::common::TestServer;

#[tokio::test]
async fn offerings_and_os_catalogue() {
    let t = TestServer::start().await;
    let a = &t.admin;
    let root = id_of(&a.get("listDomains", &[]).await.items("domain")[0]);
    let (_, user) = t.account_client("carol", "0", &root).await;

    // Seeded compute offerings: users and admins see the non-system ones by default.
    let so = a.get("listServiceOfferings", &[]).await.items("serviceoffering");
    assert_eq!(names(&so), vec!["Small Instance", "Medium Instance"]);
    let small = &so[0];
    assert_eq!(
        (
            small["cpunumber"].as_i64(),
            small["cpuspeed"].as_i64(),
            small["memory"].as_i64()
        ),
        (Some(1), Some(500), Some(512))
    );
    assert_eq!(small["storagetype"], "shared");
    assert_eq!(small["state"], "Active");
    assert_eq!(small["issystem"], false);
    assert_eq!(so[1]["memory"], 1024);
    assert_eq!(
        names(&user.get("listServiceOfferings", &[]).await.items("serviceoffering")).len(),
        2
    );
    // System offerings: admins only.
    let sys = a
        .get("listServiceOfferings", &[("issystem", "true")])
        .await
        .items("serviceoffering");
    assert_eq!(sys.len(), 4);
    let router = sys
        .iter()
        .find(|o| o["name"] == "System Offering For Software Router")
        .unwrap();
    assert_eq!(
        (router["systemvmtype"].as_str(), router["memory"].as_i64()),
        (Some("domainrouter"), Some(256))
    );
    assert_eq!(router["issystem"], true);
    let local = sys
        .iter()
        .find(|o| o["name"] == "System Offering For Software Router - Local Storage")
        .unwrap();
    assert_eq!(local["storagetype"], "local");
    fields_declared(a, "listServiceOfferings", &sys).await;
    let r = a
        .get("listServiceOfferings", &[("systemvmtype", "consoleproxy")])
        .await
        .items("serviceoffering");
    assert_eq!(names(&r), vec!["System Offering For Console Proxy"]);
    user.get("listServiceOfferings", &[("issystem", "true")]).await.err(431);
    user.get("listServiceOfferings", &[("id", &id_of(router))])
        .await
        .err(431);
    let e = a.get("deleteServiceOffering", &[("id", &id_of(router))]).await.err(431);
    assert!(e.contains("can't be deleted"), "{e}");

    // Create, update, delete.
    let o = ok(&a
        .get(
            "createServiceOffering",
            &[
                ("name", "big"),
                ("displaytext", "Big"),
                ("cpunumber", "4"),
                ("cpuspeed", "2000"),
                ("memory", "8192"),
            ],
        )
        .await)["serviceoffering"]
        .clone();
    assert_eq!(
        (
            o["cpunumber"].as_i64(),
            o["memory"].as_i64(),
            o["iscustomized"].as_bool()
        ),
        (Some(4), Some(8192), Some(false))
    );
    let custom = ok(&a.get("createServiceOffering", &[("name", "custom")]).await)["serviceoffering"].clone();
    assert_eq!(custom["iscustomized"], true);
    let e = a
        .get("createServiceOffering", &[("name", "half"), ("cpunumber", "2")])
        .await
        .err(431);
    assert!(e.contains("memory"), "{e}");
    a.get(
        "createServiceOffering",
        &[("name", "neg"), ("cpunumber", "0"), ("cpuspeed", "1"), ("memory", "1")],
    )
    .await
    .err(431);
    a.get("createServiceOffering", &[("name", "st"), ("storagetype", "nvme")])
        .await
        .err(431);
    assert_eq!(user.get("createServiceOffering", &[("name", "mine")]).await.status, 401);
    let u = ok(&a
        .get(
            "updateServiceOffering",
            &[("id", &id_of(&o)), ("name", "bigger"), ("sortkey", "5")],
        )
        .await);
    assert_eq!(u["serviceoffering"]["name"], "bigger");
    assert_eq!(
        ok(&a.get("deleteServiceOffering", &[("id", &id_of(&o))]).await)["success"],
        true
    );
    assert!(!names(&a.get("listServiceOfferings", &[]).await.items("serviceoffering")).contains(&"bigger".to_string()));
    a.get("deleteServiceOffering", &[("id", &id_of(&o))]).await.err(431);

    // Disk offerings.
    let d = a.get("listDiskOfferings", &[]).await.items("diskoffering");
    assert_eq!(names(&d), vec!["Small", "Medium", "Large", "Custom"]);
    assert_eq!(
        (
            d[0]["disksize"].as_i64(),
            d[1]["disksize"].as_i64(),
            d[2]["disksize"].as_i64()
        ),
        (Some(5), Some(20), Some(100))
    );
    assert_eq!(d[3]["iscustomized"], true);
    fields_declared(a, "listDiskOfferings", &d).await;
    assert_eq!(user.get("listDiskOfferings", &[]).await.items("diskoffering").len(), 4);
    let ten = ok(&a
        .get("createDiskOffering", &[("name", "ten"), ("disksize", "10")])
        .await)["diskoffering"]
        .clone();
    assert_eq!(
        (ten["disksize"].as_i64(), ten["storagetype"].as_str()),
        (Some(10), Some("shared"))
    );
    let e = a.get("createDiskOffering", &[("name", "nosize")]).await.err(431);
    assert!(e.contains("disksize"), "{e}");
    a.get(
        "createDiskOffering",
        &[("name", "both"), ("disksize", "1"), ("customized", "true")],
    )
    .await
    .err(431);
    let cd = ok(&a
        .get("createDiskOffering", &[("name", "cust"), ("customized", "true")])
        .await);
    assert_eq!(cd["diskoffering"]["iscustomized"], true);
    let hidden = ok(&a
        .get(
            "createDiskOffering",
            &[("name", "hidden"), ("disksize", "1"), ("displayoffering", "false")],
        )
        .await);
    assert!(!names(&user.get("listDiskOfferings", &[]).await.items("diskoffering")).contains(&"hidden".to_string()));
    assert!(names(&a.get("listDiskOfferings", &[]).await.items("diskoffering")).contains(&"hidden".to_string()));
    let linked = ok(&a
        .get(
            "createServiceOffering",
            &[
                ("name", "linked"),
                ("cpunumber", "1"),
                ("cpuspeed", "500"),
                ("memory", "256"),
                ("diskofferingid", &id_of(&ten)),
            ],
        )
        .await);
    assert_eq!(linked["serviceoffering"]["diskofferingname"], "ten");
    let e = a.get("deleteDiskOffering", &[("id", &id_of(&ten))]).await.err(431);
    assert!(e.contains("service offering"), "{e}");
    let u = ok(&a
        .get(
            "updateDiskOffering",
            &[("id", &id_of(&hidden["diskoffering"])), ("displaytext", "Hidden")],
        )
        .await);
    assert_eq!(u["diskoffering"]["displaytext"], "Hidden");
    assert_eq!(
        ok(&a
            .get("deleteDiskOffering", &[("id", &id_of(&hidden["diskoffering"]))])
            .await)["success"],
        true
    );

    // OS catalogue.
    let all = a.get("listOsTypes", &[]).await;
    assert!(ok(&all)["count"].as_i64().unwrap() >= 30);
    let ubuntu = all
        .items("ostype")
        .into_iter()
        .find(|o| o["description"] == "Ubuntu 22.04 LTS")
        .unwrap();
    assert_eq!(ubuntu["oscategoryname"], "Ubuntu");
    assert_eq!(ubuntu["isuserdefined"], false);
    assert!(ubuntu["name"].is_string() && ubuntu["oscategoryid"].is_string());
    fields_declared(a, "listOsTypes", &all.items("ostype")).await;
    let cats = user.get("listOsCategories", &[]).await.items("oscategory");
    fields_declared(a, "listOsCategories", &cats).await;
    for n in [
        "CentOS", "Debian", "Oracle", "RedHat", "SUSE", "Ubuntu", "Windows", "Other", "Unix", "Novel", "Apple",
    ] {
        assert!(names(&cats).contains(&n.to_string()), "{n}");
    }
    let windows = cats.iter().find(|c| c["name"] == "Windows").unwrap();
    let w = user
        .get("listOsTypes", &[("oscategoryid", &id_of(windows))])
        .await
        .items("ostype");
    assert!(w.iter().any(|o| o["description"] == "Windows Server 2022 (64-bit)"));
    assert!(w.iter().all(|o| o["oscategoryname"] == "Windows"));
    let one = a.get("listOsTypes", &[("id", &id_of(&ubuntu))]).await.items("ostype");
    assert_eq!(one.len(), 1);
    let kw = a
        .get("listOsTypes", &[("keyword", "other linux")])
        .await
        .items("ostype");
    assert_eq!(kw.len(), 2);

    // Every change left an event; the types are advertised.
    let types: Vec<String> = a
        .get("listEventTypes", &[])
        .await
        .items("eventtype")
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_string())
        .collect();
    for ty in [
        "SERVICE.OFFERING.CREATE",
        "DISK.OFFERING.DELETE",
        "TEMPLATE.CREATE",
        "CREATE.PS",
        "IMAGE.STORE.CREATE",
    ] {
        assert!(types.contains(&ty.to_string()), "{ty}");
    }
    let ev = a
        .get("listEvents", &[("type", "SERVICE.OFFERING.DELETE")])
        .await
        .items("event");
    assert_eq!(ev.len(), 1);
    t.stop().await;
}
