//! Storage pools, image stores, templates (core and edge zones), OS types and offerings —
//! through the real API.

use serde_json::Value;

use crate::common::{finish_downloads, Answer, Client, TestServer};

mod offerings;

struct Zone {
    zone: String,
    pod: String,
    cluster: String,
    host: String,
}

/// Assert success and return the answer's inner object; fail on any 5xx loudly.
fn ok(a: &Answer) -> Value {
    assert!(a.status < 500, "server error: {}", a.text);
    a.ok().clone()
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap_or_else(|| panic!("no id in {v}")).to_string()
}

/// A zone with one pod, one simulator cluster and one host, the way Marvin brings one up.
async fn zone_with_host(t: &TestServer, name: &str, edge: bool) -> Zone {
    let c = &t.admin;
    let mut p = vec![
        ("name", name),
        ("dns1", "8.8.8.8"),
        ("internaldns1", "10.0.0.2"),
        ("networktype", "Advanced"),
    ];
    if edge {
        p.push(("isedge", "true"));
    }
    let created = c.get("createZone", &p).await;
    let zone = id_of(&ok(&created)["zone"]);
    let mut pod_params = vec![("name", "pod1"), ("zoneid", zone.as_str())];
    if !edge {
        pod_params.extend([
            ("gateway", "192.168.56.1"),
            ("netmask", "255.255.255.0"),
            ("startip", "192.168.56.100"),
            ("endip", "192.168.56.200"),
        ]);
    }
    let pod = id_of(&ok(&c.get("createPod", &pod_params).await)["pod"]);
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
    let cluster = id_of(&ok(&cl)["cluster"][0]);
    let url = format!("http://sim/{name}/c1/h0");
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
    let host = id_of(&ok(&h)["host"][0]);
    Zone {
        zone,
        pod,
        cluster,
        host,
    }
}

/// Every field of `items` is one `listApis` declares for `command`.
async fn fields_declared(c: &Client, command: &str, items: &[Value]) {
    let apis = c.get("listApis", &[("name", command)]).await.items("api");
    let declared: Vec<String> = apis[0]["response"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_string())
        .collect();
    assert!(!items.is_empty(), "{command}: nothing to check");
    for item in items {
        for k in item.as_object().unwrap().keys() {
            assert!(
                declared.contains(k),
                "{command} answers {k}, which listApis does not declare"
            );
        }
    }
}

async fn os_type(c: &Client, description: &str) -> String {
    let a = c.get("listOsTypes", &[("description", description)]).await;
    let items = a.items("ostype");
    let o = items
        .iter()
        .find(|o| o["description"] == description)
        .unwrap_or_else(|| panic!("no OS type {description}: {}", a.text));
    id_of(o)
}

async fn register(c: &Client, extra: &[(&str, &str)]) -> Answer {
    let mut p: Vec<(&str, &str)> = extra.to_vec();
    for d in [
        ("url", "http://images.example.org/t.qcow2"),
        ("format", "QCOW2"),
        ("hypervisor", "Simulator"),
    ] {
        if !extra.iter().any(|(k, _)| *k == d.0) {
            p.push(d);
        }
    }
    c.get("registerTemplate", &p).await
}

async fn template_in_zone(c: &Client, id: &str, zone: &str) -> Value {
    let a = c
        .get(
            "listTemplates",
            &[("templatefilter", "all"), ("id", id), ("zoneid", zone)],
        )
        .await;
    let items = a.items("template");
    assert_eq!(items.len(), 1, "{}", a.text);
    items[0].clone()
}

fn names(items: &[Value]) -> Vec<String> {
    items.iter().map(|i| i["name"].as_str().unwrap().to_string()).collect()
}

/// Finish the template's simulated download now (see `finish_downloads`) and read it back.
async fn wait_ready(c: &Client, id: &str, zone: &str) -> Value {
    finish_downloads(&c.app().expect("a client of a running TestServer"), id).await;
    let t = template_in_zone(c, id, zone).await;
    assert_eq!(
        t["isready"], true,
        "template {id} did not become ready in zone {zone}: {t}"
    );
    t
}

/// `deleteTemplate` is async: wait for its job when it answers with one.
async fn delete_template(c: &Client, params: &[(&str, &str)]) {
    let a = c.get("deleteTemplate", params).await;
    let v = ok(&a);
    if let Some(job) = v["jobid"].as_str() {
        let j = c.wait_job(job).await;
        assert_eq!(j["jobstatus"], 1, "{j}");
    } else {
        assert_eq!(v["success"], true, "{}", a.text);
    }
}

#[tokio::test]
async fn core_zone_pools_image_store_and_template_download() {
    let mut t = TestServer::start().await;
    let z = zone_with_host(&t, "core1", false).await;
    let a = &t.admin;

    // Cluster-wide NFS pool.
    let nfs = [
        ("name", "primary1"),
        ("url", "nfs://10.1.1.1/export/primary"),
        ("zoneid", z.zone.as_str()),
        ("podid", z.pod.as_str()),
        ("clusterid", z.cluster.as_str()),
    ];
    let p = ok(&a.get("createStoragePool", &nfs).await)["storagepool"].clone();
    assert_eq!(p["name"], "primary1");
    assert_eq!(p["scope"], "CLUSTER");
    assert_eq!(p["type"], "NetworkFilesystem");
    assert_eq!(p["state"], "Up");
    assert_eq!(p["ipaddress"], "10.1.1.1");
    assert_eq!(p["path"], "/export/primary");
    assert_eq!(p["zoneid"], z.zone.as_str());
    assert_eq!(p["podid"], z.pod.as_str());
    assert_eq!(p["clusterid"], z.cluster.as_str());
    assert_eq!(p["hypervisor"], "Simulator");
    assert!(p["disksizetotal"].as_i64().unwrap() > 0);
    assert_eq!(p["disksizeallocated"], 0);
    assert_eq!(p["disksizeused"], 0);
    let pool = id_of(&p);

    // Validation: duplicate name, bad URL, missing pod/cluster, unknown ids, zone-wide without hypervisor.
    let e = a.get("createStoragePool", &nfs).await.err(431);
    assert!(e.contains("already exists"), "{e}");
    let mut bad = nfs.to_vec();
    bad[0] = ("name", "p2");
    bad[1] = ("url", "not a url");
    assert!(a.get("createStoragePool", &bad).await.err(431).contains("nfs://"));
    let e = a
        .get(
            "createStoragePool",
            &[
                ("name", "p3"),
                ("url", "nfs://10.1.1.1/x"),
                ("zoneid", &z.zone),
                ("scope", "cluster"),
            ],
        )
        .await
        .err(431);
    assert!(e.contains("podid") && e.contains("clusterid"), "{e}");
    let unknown = "3a8c1b0e-0000-4000-8000-000000000000";
    let e = a
        .get(
            "createStoragePool",
            &[("name", "p4"), ("url", "nfs://h/x"), ("zoneid", unknown)],
        )
        .await
        .err(431);
    assert!(e.contains("zoneid"), "{e}");
    let mut bad = nfs.to_vec();
    bad[0] = ("name", "p5");
    bad[4] = ("clusterid", unknown);
    assert!(a.get("createStoragePool", &bad).await.err(431).contains("clusterid"));
    let e = a
        .get(
            "createStoragePool",
            &[
                ("name", "zw"),
                ("url", "nfs://h/zw"),
                ("zoneid", &z.zone),
                ("scope", "zone"),
            ],
        )
        .await
        .err(431);
    assert!(e.contains("hypervisor"), "{e}");
    let zw = ok(&a
        .get(
            "createStoragePool",
            &[
                ("name", "zw"),
                ("url", "nfs://h/zw"),
                ("zoneid", &z.zone),
                ("scope", "zone"),
                ("hypervisor", "kvm"),
            ],
        )
        .await)["storagepool"]
        .clone();
    assert_eq!(
        (zw["scope"].as_str(), zw["hypervisor"].as_str()),
        (Some("ZONE"), Some("KVM"))
    );
    let pools = a.get("listStoragePools", &[("zoneid", &z.zone)]).await;
    assert_eq!(ok(&pools)["count"], 2);
    fields_declared(a, "listStoragePools", &pools.items("storagepool")).await;
    assert_eq!(
        a.get("listStoragePools", &[("clusterid", &z.cluster)])
            .await
            .items("storagepool")
            .len(),
        1
    );

    // No image store yet: a template for this zone can't be downloaded anywhere.
    let os = os_type(a, "Other Linux (64-bit)").await;
    let e = register(a, &[("name", "early"), ("zoneid", &z.zone), ("ostypeid", &os)])
        .await
        .err(431);
    assert!(e.contains("addImageStore"), "{e}");
    // The seeded cross-zone templates wait for the store.
    let waiting = a
        .get("listTemplates", &[("templatefilter", "all"), ("zoneid", &z.zone)])
        .await;
    let sys = waiting
        .items("template")
        .into_iter()
        .find(|t| t["templatetype"] == "SYSTEM")
        .expect("seeded system VM template in the new zone");
    assert_eq!(sys["name"], "SystemVM Template (simulator)");
    assert_eq!(sys["isready"], false);
    assert!(sys["status"].as_str().unwrap().contains("addImageStore"), "{sys}");
    assert_eq!(sys["crossZones"], true);
    assert_eq!(sys["account"], "system");

    // Image store; seeded templates then download.
    let s = ok(&a
        .get(
            "addImageStore",
            &[
                ("name", "sec1"),
                ("url", "nfs://10.1.1.2/export/secondary"),
                ("provider", "NFS"),
                ("zoneid", &z.zone),
            ],
        )
        .await)["imagestore"]
        .clone();
    assert_eq!(
        (s["name"].as_str(), s["protocol"].as_str()),
        (Some("sec1"), Some("nfs"))
    );
    assert_eq!(
        (s["providername"].as_str(), s["zoneid"].as_str()),
        (Some("NFS"), Some(z.zone.as_str()))
    );
    let stores = a.get("listImageStores", &[("zoneid", &z.zone)]).await;
    assert_eq!(ok(&stores)["count"], 1);
    fields_declared(a, "listImageStores", &stores.items("imagestore")).await;
    let e = a
        .get(
            "addImageStore",
            &[("url", "nfs://10.1.1.2/x"), ("provider", "S3"), ("zoneid", &z.zone)],
        )
        .await
        .err(431);
    assert!(e.contains("NFS"), "{e}");
    wait_ready(a, &id_of(&sys), &z.zone).await;

    // A user template downloads to the store and becomes ready.
    let r = register(
        a,
        &[
            ("name", "ubuntu"),
            ("displaytext", "Ubuntu 22.04"),
            ("zoneid", &z.zone),
            ("ostypeid", &os),
        ],
    )
    .await;
    let body = ok(&r);
    assert_eq!(body["count"], 1, "{}", r.text);
    let tpl = body["template"][0].clone();
    let id = id_of(&tpl);
    assert_eq!(tpl["isready"], false);
    assert!(tpl["status"].as_str().unwrap().ends_with("% Downloaded"), "{tpl}");
    assert_eq!(tpl["directdownload"], false);
    assert_eq!(tpl["format"], "QCOW2");
    assert_eq!(tpl["hypervisor"], "Simulator");
    assert_eq!(tpl["ostypename"], "Other Linux (64-bit)");
    assert_eq!(tpl["templatetype"], "USER");
    assert_eq!(tpl["account"], "admin");
    // The download is durable: it survives a restart and completes afterwards.
    t.restart(false, 0).await;
    let a = &t.admin;
    let ready = wait_ready(a, &id, &z.zone).await;
    assert_eq!(ready["status"], "Download Complete");
    assert!(ready["size"].as_i64().unwrap() > 0);
    for k in ["id", "name", "hypervisor", "format", "ostypename", "displaytext"] {
        assert!(ready.get(k).is_some(), "libcloud needs {k}: {ready}");
    }
    fields_declared(a, "listTemplates", std::slice::from_ref(&ready)).await;
    let ev = a
        .get(
            "listEvents",
            &[("type", "TEMPLATE.DOWNLOAD.SUCCESS"), ("listall", "true")],
        )
        .await;
    assert!(!ev.items("event").is_empty(), "{}", ev.text);

    // Update, then delete; the image store still holds the system template.
    let u = ok(&a.get("updateTemplate", &[("id", &id), ("name", "ubuntu-22.04")]).await)["template"].clone();
    assert_eq!(u["name"], "ubuntu-22.04");
    delete_template(a, &[("id", &id)]).await;
    assert!(a
        .get("listTemplates", &[("templatefilter", "self")])
        .await
        .items("template")
        .is_empty());
    // A deleted template's id lists nothing (removed rows resolve, as in CloudStack).
    assert!(a
        .get("listTemplates", &[("templatefilter", "all"), ("id", &id)])
        .await
        .items("template")
        .is_empty());
    let e = a.get("deleteTemplate", &[("id", &id_of(&sys))]).await.err(431);
    assert!(e.contains("system VM template"), "{e}");
    let e = a.get("deleteImageStore", &[("id", &id_of(&s))]).await.err(431);
    assert!(e.contains("template"), "{e}");

    // Pool update and delete.
    let d = ok(&a
        .get(
            "updateStoragePool",
            &[("id", &pool), ("enabled", "false"), ("tags", "ssd")],
        )
        .await);
    assert_eq!(
        (d["storagepool"]["state"].as_str(), d["storagepool"]["tags"].as_str()),
        (Some("Disabled"), Some("ssd"))
    );
    assert_eq!(ok(&a.get("deleteStoragePool", &[("id", &pool)]).await)["success"], true);
    assert_eq!(
        a.get("listStoragePools", &[("id", zw["id"].as_str().unwrap())])
            .await
            .items("storagepool")
            .len(),
        1
    );
    assert_eq!(
        a.get("listStoragePools", &[("zoneid", &z.zone)])
            .await
            .items("storagepool")
            .len(),
        1
    );
    a.get("deleteStoragePool", &[("id", &pool)]).await.err(431);
    t.stop().await;
}

#[tokio::test]
async fn edge_zone_local_storage_and_direct_download_templates() {
    let t = TestServer::start().await;
    let a = &t.admin;
    let z = zone_with_host(&t, "edge1", true).await;
    let core = zone_with_host(&t, "core2", false).await;

    // Edge zones have no secondary storage.
    let e = a
        .get(
            "addImageStore",
            &[("url", "nfs://10.1.1.2/sec"), ("provider", "NFS"), ("zoneid", &z.zone)],
        )
        .await
        .err(431);
    assert!(e.contains("edge") && e.contains("directdownload=true"), "{e}");

    // Host-local storage: bound to the zone's only host.
    let p = ok(&a
        .get(
            "createStoragePool",
            &[
                ("name", "local1"),
                ("url", "local:///var/lib/libvirt/images"),
                ("zoneid", &z.zone),
            ],
        )
        .await)["storagepool"]
        .clone();
    assert_eq!(p["scope"], "HOST");
    assert_eq!(p["type"], "Filesystem");
    assert_eq!(p["state"], "Up");
    assert_eq!(p["path"], "/var/lib/libvirt/images");
    assert_eq!(p["clusterid"], z.cluster.as_str());
    assert!(p["disksizetotal"].as_i64().unwrap() > 0);
    assert_eq!(
        a.get("listStoragePools", &[("hostid", &z.host)])
            .await
            .items("storagepool")
            .len(),
        1
    );
    // Pod or cluster of another zone.
    let e = a
        .get(
            "createStoragePool",
            &[
                ("name", "x"),
                ("url", "nfs://h/x"),
                ("zoneid", &z.zone),
                ("podid", &core.pod),
                ("clusterid", &core.cluster),
            ],
        )
        .await
        .err(431);
    assert!(e.contains("not in zone"), "{e}");
    // A shared pool is allowed in an edge zone too.
    let shared = [
        ("name", "shared"),
        ("url", "nfs://h/s"),
        ("zoneid", z.zone.as_str()),
        ("podid", z.pod.as_str()),
        ("clusterid", z.cluster.as_str()),
    ];
    assert_eq!(
        ok(&a.get("createStoragePool", &shared).await)["storagepool"]["scope"],
        "CLUSTER"
    );

    let os = os_type(a, "Ubuntu 22.04 LTS").await;
    // Direct download: ready at once, bypassing secondary storage.
    let dd = ok(&register(
        a,
        &[
            ("name", "dd"),
            ("zoneid", &z.zone),
            ("ostypeid", &os),
            ("directdownload", "true"),
        ],
    )
    .await)["template"][0]
        .clone();
    assert_eq!(dd["isready"], true, "{dd}");
    assert_eq!(dd["directdownload"], true);
    assert_eq!(dd["status"], "Bypassed Secondary Storage");
    assert_eq!(dd["zoneid"], z.zone.as_str());
    // Not direct download: registered, never usable here, and says why.
    let nd = ok(&register(a, &[("name", "nd"), ("zoneid", &z.zone), ("ostypeid", &os)]).await)["template"][0].clone();
    assert_eq!(nd["isready"], false);
    let status = nd["status"].as_str().unwrap();
    assert!(
        status.contains("edge zones have no secondary storage") && status.contains("directdownload=true"),
        "{status}"
    );
    // The seeded system VM template is in exactly that state in the edge zone (the founding bug's setup).
    let all = a
        .get(
            "listTemplates",
            &[
                ("templatefilter", "all"),
                ("zoneid", &z.zone),
                ("templatetype", "SYSTEM"),
            ],
        )
        .await;
    let sys = &all.items("template")[0];
    assert_eq!(sys["isready"], false);
    assert!(sys["status"]
        .as_str()
        .unwrap()
        .contains("edge zones have no secondary storage"));
    // isready=true filters to usable templates.
    let ready = a
        .get(
            "listTemplates",
            &[("templatefilter", "all"), ("zoneid", &z.zone), ("isready", "true")],
        )
        .await;
    assert_eq!(names(&ready.items("template")), vec!["dd"]);

    // Cross-zone direct-download template: one item per zone, unless showunique.
    let x = ok(&register(
        a,
        &[
            ("name", "xz"),
            ("zoneid", "-1"),
            ("ostypeid", &os),
            ("directdownload", "true"),
        ],
    )
    .await);
    assert_eq!(x["count"], 2, "{x}");
    assert_eq!(x["template"][0]["crossZones"], true);
    let xid = id_of(&x["template"][0]);
    assert_eq!(
        a.get("listTemplates", &[("templatefilter", "self"), ("id", &xid)])
            .await
            .items("template")
            .len(),
        2
    );
    let unique = a
        .get(
            "listTemplates",
            &[("templatefilter", "self"), ("id", &xid), ("showunique", "true")],
        )
        .await;
    assert_eq!(ok(&unique)["count"], 1, "{}", unique.text);
    // Zone ids as a list.
    let zl = format!("{},{}", z.zone, core.zone);
    let two = ok(&register(
        a,
        &[
            ("name", "two"),
            ("zoneids", &zl),
            ("ostypeid", &os),
            ("directdownload", "true"),
        ],
    )
    .await);
    assert_eq!(two["count"], 2);
    // Delete from one zone only.
    delete_template(a, &[("id", &xid), ("zoneid", &z.zone)]).await;
    let left = a
        .get("listTemplates", &[("templatefilter", "self"), ("id", &xid)])
        .await
        .items("template");
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["zoneid"], core.zone.as_str());

    // Validation with operator messages.
    let e = register(
        a,
        &[
            ("name", "bad"),
            ("zoneid", &z.zone),
            ("ostypeid", &os),
            ("url", "not-a-url"),
        ],
    )
    .await
    .err(431);
    assert!(e.contains("http://"), "{e}");
    let e = register(
        a,
        &[
            ("name", "xen"),
            ("zoneid", &z.zone),
            ("ostypeid", &os),
            ("hypervisor", "XenServer"),
        ],
    )
    .await
    .err(431);
    assert!(e.contains("Simulator") && e.contains("KVM"), "{e}");
    let e = register(
        a,
        &[
            ("name", "fmt"),
            ("zoneid", &z.zone),
            ("ostypeid", &os),
            ("format", "EXE"),
        ],
    )
    .await
    .err(431);
    assert!(e.contains("QCOW2"), "{e}");
    let e = register(a, &[("name", "nozone"), ("ostypeid", &os)]).await.err(431);
    assert!(e.contains("zoneid"), "{e}");
    let e = register(
        a,
        &[
            ("name", "both"),
            ("zoneid", &z.zone),
            ("zoneids", &z.zone),
            ("ostypeid", &os),
        ],
    )
    .await
    .err(431);
    assert!(e.contains("not both"), "{e}");
    let e = register(a, &[("name", "noos"), ("zoneid", &z.zone)]).await.err(431);
    assert!(e.contains("ostypeid"), "{e}");
    t.stop().await;
}

#[tokio::test]
async fn template_filters_follow_ownership() {
    let t = TestServer::start().await;
    let a = &t.admin;
    let z = zone_with_host(&t, "edge-f", true).await;
    let root = id_of(&a.get("listDomains", &[]).await.items("domain")[0]);
    let (_, alice) = t.account_client("alice", "0", &root).await;
    let (_, bob) = t.account_client("bob", "0", &root).await;
    let os = os_type(a, "CentOS 7").await;
    let dd = |name: &'static str| -> Vec<(&'static str, String)> {
        vec![
            ("name", name.to_string()),
            ("directdownload", "true".to_string()),
            ("zoneid", z.zone.clone()),
            ("ostypeid", os.clone()),
        ]
    };
    async fn reg(c: &Client, p: Vec<(&'static str, String)>, extra: &[(&str, &str)]) -> Answer {
        let mut v: Vec<(&str, &str)> = p.iter().map(|(k, v)| (*k, v.as_str())).collect();
        v.extend_from_slice(extra);
        register(c, &v).await
    }
    let private = id_of(&ok(&reg(&alice, dd("alice-private"), &[("ispublic", "false")]).await)["template"][0]);
    ok(&reg(&bob, dd("bob-private"), &[("ispublic", "false")]).await);
    ok(&reg(a, dd("admin-community"), &[("ispublic", "true")]).await);
    ok(&reg(a, dd("admin-featured"), &[("ispublic", "true"), ("isfeatured", "true")]).await);
    // Users may not feature templates or register system ones.
    reg(&alice, dd("feat"), &[("isfeatured", "true")]).await.err(531);
    reg(&alice, dd("sys"), &[("templatetype", "SYSTEM")]).await.err(531);

    let list = |c: Client, filter: &'static str| async move {
        let mut n = names(
            &c.get("listTemplates", &[("templatefilter", filter)])
                .await
                .items("template"),
        );
        n.sort();
        n
    };
    assert_eq!(list(alice.clone(), "self").await, vec!["alice-private"]);
    assert_eq!(list(alice.clone(), "selfexecutable").await, vec!["alice-private"]);
    // `executable` lists public templates even where they are not ready (the built-in one is
    // not direct download, so it is unusable in this edge zone); `featured` lists ready ones.
    let builtin = "CentOS 5.3(64-bit) no GUI (Simulator)";
    assert_eq!(
        list(alice.clone(), "executable").await,
        vec![builtin, "admin-community", "admin-featured", "alice-private"]
    );
    assert_eq!(
        list(bob.clone(), "executable").await,
        vec![builtin, "admin-community", "admin-featured", "bob-private"]
    );
    assert_eq!(list(bob.clone(), "featured").await, vec!["admin-featured"]);
    assert_eq!(list(bob.clone(), "community").await, vec!["admin-community"]);
    assert!(list(bob.clone(), "sharedexecutable").await.is_empty());
    let e = bob.get("listTemplates", &[("templatefilter", "all")]).await.err(431);
    assert!(e.contains("all"), "{e}");
    bob.get("listTemplates", &[("templatefilter", "bogus")]).await.err(431);
    // The system template is hidden from users; admins see everything with `all`.
    let all = list(a.clone(), "all").await;
    for n in [
        "alice-private",
        "bob-private",
        "SystemVM Template (simulator)",
        "CentOS 5.3(64-bit) no GUI (Simulator)",
    ] {
        assert!(all.contains(&n.to_string()), "{n} in {all:?}");
    }
    assert_eq!(list(a.clone(), "self").await, vec!["admin-community", "admin-featured"]);
    // Another account's private template: not visible, not changeable, not deletable.
    bob.get("listTemplates", &[("templatefilter", "executable"), ("id", &private)])
        .await
        .err(531);
    bob.get("updateTemplate", &[("id", &private), ("name", "mine")])
        .await
        .err(531);
    bob.get("deleteTemplate", &[("id", &private)]).await.err(531);
    let u = ok(&alice
        .get("updateTemplate", &[("id", &private), ("displaytext", "Alice's")])
        .await);
    assert_eq!(u["template"]["displaytext"], "Alice's");
    delete_template(&alice, &[("id", &private)]).await;
    assert!(list(alice.clone(), "self").await.is_empty());
    t.stop().await;
}
