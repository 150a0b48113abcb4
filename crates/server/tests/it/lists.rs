//! List semantics shared by every list command: removed ids answer the empty list, unknown
//! ids a 431, `ids=` lists exactly those (the Python suite tests/cs/test_lists.py walks every
//! list command; these are the cheap cases on zones and pods).

use crate::common::TestServer;

fn zone_params(name: &str) -> Vec<(&str, &str)> {
    vec![
        ("name", name),
        ("dns1", "8.8.8.8"),
        ("internaldns1", "10.0.0.2"),
        ("networktype", "Advanced"),
    ]
}

#[tokio::test]
async fn removed_zone_lists_nothing_unknown_is_431_and_ids_lists_exactly_those() {
    let t = TestServer::start().await;
    let c = &t.admin;
    let mut zones = Vec::new();
    for name in ["lz-a", "lz-b", "lz-c", "lz-gone"] {
        let z = c.get("createZone", &zone_params(name)).await;
        zones.push(z.ok()["zone"]["id"].as_str().unwrap().to_string());
    }
    let (a, b, gone) = (&zones[0], &zones[1], &zones[3]);
    assert_eq!(c.get("deleteZone", &[("id", gone)]).await.ok()["success"], true);

    // A removed zone: the empty list (no count, no list), for `id` and for a filter.
    let r = c.get("listZones", &[("id", gone)]).await;
    assert_eq!(r.ok(), &serde_json::json!({}), "{}", r.text);
    let r = c.get("listPods", &[("zoneid", gone)]).await;
    assert_eq!(r.ok(), &serde_json::json!({}), "{}", r.text);
    // A uuid that never named a zone: 431 in CloudStack's words, naming the parameter.
    let bogus = "8c7d1f38-3c0e-4d52-9b0c-4a7e3b1f0d11";
    let e = c.get("listZones", &[("id", bogus)]).await.err(431);
    assert!(
        e.contains(&format!(
            "Invalid parameter id value={bogus} due to incorrect long value format, or entity does not exist"
        )),
        "{e}"
    );
    let e = c.get("listPods", &[("zoneid", bogus)]).await.err(431);
    assert!(e.contains(&format!("Invalid parameter zoneid value={bogus}")), "{e}");
    // A uuid of another kind of entity names no zone either.
    let dom = c.get("listDomains", &[]).await.items("domain")[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    c.get("listZones", &[("id", &dom)]).await.err(431);

    // ids: exactly those; a removed one is skipped; an unknown one is a 431.
    let ids = format!("{a},{b}");
    let mut got: Vec<String> = c
        .get("listZones", &[("ids", &ids)])
        .await
        .items("zone")
        .iter()
        .map(|z| z["id"].as_str().unwrap().to_string())
        .collect();
    got.sort();
    let mut want = vec![a.clone(), b.clone()];
    want.sort();
    assert_eq!(got, want);
    let got = c
        .get("listZones", &[("ids", &format!("{a},{gone}"))])
        .await
        .items("zone");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["id"], a.as_str());
    let r = c.get("listZones", &[("ids", gone)]).await;
    assert_eq!(r.ok(), &serde_json::json!({}), "{}", r.text);
    let e = c.get("listZones", &[("ids", &format!("{a},{bogus}"))]).await.err(431);
    assert!(e.contains(&format!("Invalid parameter ids value={bogus}")), "{e}");
    c.get("listZones", &[("id", a), ("ids", &ids)]).await.err(431);

    // listApis declares ids on listZones as CloudStack 4.19+ does.
    let api = &c.get("listApis", &[("name", "listZones")]).await.items("api")[0];
    let p = api["params"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "ids")
        .cloned();
    let p = p.expect("listZones declares ids");
    assert_eq!(p["type"], "list");
    assert_eq!(p["since"], "4.19.0");
    t.stop().await;
}
