//! copyTemplate / copyIso (through the durable downloader, across a restart) and
//! extractTemplate / extractIso (a signed, expiring download link served by the management
//! server, streaming the bytes of the URL the template was registered from).

use std::net::SocketAddr;

use serde_json::Value;

use crate::common::{finish_downloads, Client, TestServer};

async fn zone(c: &Client, name: &str, edge: bool, store: bool) -> String {
    let mut p = vec![
        ("name", name),
        ("dns1", "8.8.8.8"),
        ("internaldns1", "10.0.0.2"),
        ("networktype", "Advanced"),
    ];
    if edge {
        p.push(("isedge", "true"));
    }
    let z = c.get("createZone", &p).await.ok()["zone"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    if store {
        let url = format!("nfs://10.1.1.2/export/{name}");
        c.get(
            "addImageStore",
            &[("name", name), ("url", &url), ("provider", "NFS"), ("zoneid", &z)],
        )
        .await
        .ok();
    }
    z
}

async fn os_type(c: &Client) -> String {
    c.get("listOsTypes", &[]).await.items("ostype")[0]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn root_domain(c: &Client) -> String {
    c.get("listDomains", &[("listall", "true")]).await.items("domain")[0]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Register a template (or, `iso`, an ISO) in one zone; returns its id.
async fn register(
    c: &Client,
    name: &str,
    url: &str,
    zone: &str,
    os: &str,
    extra: &[(&str, &str)],
    iso: bool,
) -> String {
    let mut p = vec![("name", name), ("url", url), ("zoneid", zone), ("ostypeid", os)];
    if !iso {
        p.extend([("format", "QCOW2"), ("hypervisor", "Simulator")]);
    }
    p.extend_from_slice(extra);
    let (cmd, key) = if iso {
        ("registerIso", "iso")
    } else {
        ("registerTemplate", "template")
    };
    let a = c.get(cmd, &p).await;
    a.ok()[key][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{cmd}: {}", a.text))
        .to_string()
}

async fn in_zone(c: &Client, id: &str, zone: &str) -> Option<Value> {
    c.get(
        "listTemplates",
        &[("templatefilter", "self"), ("id", id), ("zoneid", zone)],
    )
    .await
    .items("template")
    .into_iter()
    .next()
}

fn job_ok<'a>(j: &'a Value, key: &str) -> &'a Value {
    assert_eq!(j["jobstatus"], 1, "job failed: {j}");
    &j["jobresult"][key]
}

#[tokio::test]
async fn copy_template_and_iso_between_zones() {
    let mut t = TestServer::start().await;
    let a = t.admin.clone();
    let core1 = zone(&a, "core1", false, true).await;
    let core2 = zone(&a, "core2", false, true).await;
    let bare = zone(&a, "bare", false, false).await;
    let edge = zone(&a, "edge", true, false).await;
    let os = os_type(&a).await;
    let root = root_domain(&a).await;
    let (_, alice) = t.account_client("alice", "0", &root).await;
    let (_, bob) = t.account_client("bob", "0", &root).await;

    let tpl = register(
        &alice,
        "web",
        "http://images.example.org/web.qcow2",
        &core1,
        &os,
        &[],
        false,
    )
    .await;

    // Not ready in its zone yet: nothing to copy from.
    let e = alice
        .get("copyTemplate", &[("id", &tpl), ("destzoneid", &core2)])
        .await
        .err(431);
    assert!(e.contains("ready"), "{e}");
    finish_downloads(t.app(), &tpl).await;

    // Refusals, before any job.
    let e = alice.get("copyTemplate", &[("id", &tpl)]).await.err(431);
    assert!(e.contains("destzoneid"), "{e}");
    let both = format!("{core2},{bare}");
    let e = alice
        .get(
            "copyTemplate",
            &[("id", &tpl), ("destzoneid", &core2), ("destzoneids", &both)],
        )
        .await
        .err(431);
    assert!(e.contains("cannot be specified at the same time"), "{e}");
    let e = alice
        .get(
            "copyTemplate",
            &[("id", &tpl), ("sourcezoneid", &core1), ("destzoneid", &core1)],
        )
        .await
        .err(431);
    assert!(e.contains("different source and destination"), "{e}");
    let e = alice
        .get(
            "copyTemplate",
            &[("id", &tpl), ("sourcezoneid", &core2), ("destzoneid", &bare)],
        )
        .await
        .err(431);
    assert!(e.contains("no template"), "{e}");
    let e = alice
        .get("copyTemplate", &[("id", &tpl), ("destzoneid", &bare)])
        .await
        .err(534);
    assert!(e.contains("no image store") && e.contains("addImageStore"), "{e}");
    let e = alice
        .get("copyTemplate", &[("id", &tpl), ("destzoneid", &edge)])
        .await
        .err(431);
    assert!(e.contains("edge zone") && e.contains("directdownload=true"), "{e}");
    bob.get("copyTemplate", &[("id", &tpl), ("destzoneid", &core2)])
        .await
        .err(531);
    let e = alice
        .get("copyIso", &[("id", &tpl), ("destzoneid", &core2)])
        .await
        .err(431);
    assert!(e.contains("not an ISO"), "{e}");

    // The copy: the answer is the template in the destination zone, downloading there.
    let j = alice
        .run_async(
            "copyTemplate",
            &[("id", &tpl), ("sourcezoneid", &core1), ("destzoneid", &core2)],
        )
        .await;
    let r = job_ok(&j, "template");
    assert_eq!(r["id"], tpl.as_str(), "{r}");
    assert_eq!(r["zoneid"], core2.as_str(), "{r}");
    assert_eq!(r["isready"], false, "{r}");
    let row = in_zone(&alice, &tpl, &core2)
        .await
        .expect("listed in the destination zone");
    assert_eq!(row["isready"], false);
    assert!(row["status"].as_str().unwrap().ends_with("% Downloaded"), "{row}");

    // Durable: the download goes on after a restart.
    t.restart(true, 0).await;
    let a = t.admin.clone();
    finish_downloads(t.app(), &tpl).await;
    let list = a
        .get(
            "listTemplates",
            &[("templatefilter", "all"), ("id", &tpl), ("zoneid", &core2)],
        )
        .await
        .items("template");
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["isready"], true, "{list:?}");
    assert_eq!(list[0]["status"], "Download Complete");
    let events = a
        .get("listEvents", &[("type", "TEMPLATE.COPY"), ("listall", "true")])
        .await
        .items("event");
    assert!(events.iter().any(|e| e["state"] == "Completed"), "{events:?}");

    // Copying again where it already is changes nothing (as CloudStack: "don't need to copy").
    let j = a
        .run_async("copyTemplate", &[("id", &tpl), ("destzoneids", &core2)])
        .await;
    assert_eq!(job_ok(&j, "template")["isready"], true);
    let all = a
        .get("listTemplates", &[("templatefilter", "all"), ("id", &tpl)])
        .await
        .items("template");
    assert_eq!(all.len(), 2, "one row per zone: {all:?}");

    // Direct download: ready at once wherever it goes, edge zones included.
    let dd = register(
        &a,
        "dd",
        "http://images.example.org/dd.qcow2",
        &core1,
        &os,
        &[("directdownload", "true")],
        false,
    )
    .await;
    let both = format!("{edge},{bare}");
    let j = a
        .run_async("copyTemplate", &[("id", &dd), ("destzoneids", &both)])
        .await;
    let r = job_ok(&j, "template");
    assert_eq!(r["zoneid"], edge.as_str(), "the first destination answers: {r}");
    assert_eq!(r["isready"], true, "{r}");
    for z in [&edge, &bare] {
        let l = a
            .get(
                "listTemplates",
                &[("templatefilter", "all"), ("id", &dd), ("zoneid", z)],
            )
            .await
            .items("template");
        assert_eq!(l[0]["isready"], true, "{l:?}");
    }

    // ISOs copy the same way, answered as `iso`.
    let iso = register(
        &a,
        "tools",
        "http://images.example.org/tools.iso",
        &core1,
        &os,
        &[],
        true,
    )
    .await;
    finish_downloads(t.app(), &iso).await;
    let e = a
        .get("copyTemplate", &[("id", &iso), ("destzoneid", &core2)])
        .await
        .err(431);
    assert!(e.contains("is an ISO"), "{e}");
    let j = a.run_async("copyIso", &[("id", &iso), ("destzoneid", &core2)]).await;
    let r = job_ok(&j, "iso");
    assert_eq!(r["zoneid"], core2.as_str(), "{r}");
    assert_eq!(r["isready"], false, "{r}");
    finish_downloads(t.app(), &iso).await;
    let l = a
        .get("listIsos", &[("isofilter", "all"), ("id", &iso), ("zoneid", &core2)])
        .await
        .items("iso");
    assert_eq!(l[0]["isready"], true, "{l:?}");

    for cmd in ["copyTemplate", "copyIso"] {
        let api = &a.get("listApis", &[("name", cmd)]).await.items("api")[0];
        assert_eq!(api["isasync"], true, "{api}");
        let params: Vec<&str> = api["params"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        for p in ["id", "sourcezoneid", "destzoneid", "destzoneids"] {
            assert!(params.contains(&p), "{cmd} declares {p}: {params:?}");
        }
    }
    t.stop().await;
}

/// A tiny HTTP server on loopback answering `body` at any path; stopped when dropped.
struct Source {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
    /// Requests it has answered.
    hits: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Drop for Source {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn source(body: Vec<u8>) -> Source {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = hits.clone();
    let app = axum::Router::new().fallback(move || {
        let b = body.clone();
        counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        async move { b }
    });
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Source { addr, task, hits }
}

async fn extract(c: &Client, cmd: &str, id: &str) -> Value {
    let key = if cmd == "extractIso" { "iso" } else { "template" };
    let j = c.run_async(cmd, &[("id", id), ("mode", "HTTP_DOWNLOAD")]).await;
    job_ok(&j, key).clone()
}

#[tokio::test]
async fn extract_template_serves_a_signed_expiring_link() {
    let t = TestServer::start().await;
    let a = &t.admin;
    let core = zone(a, "core", false, true).await;
    let os = os_type(a).await;
    let root = root_domain(a).await;
    let (alice_acct, alice) = t.account_client("alice", "0", &root).await;
    let (_, bob) = t.account_client("bob", "0", &root).await;
    // 300 KiB of varied bytes: streamed in many chunks.
    let image: Vec<u8> = (0..300 * 1024u32).map(|i| (i * 7 + i / 251) as u8).collect();
    let src = source(image.clone()).await;
    let url = format!("http://{}/images/web.qcow2", src.addr);

    let tpl = register(&alice, "web", &url, &core, &os, &[("isextractable", "true")], false).await;
    let e = alice
        .get("extractTemplate", &[("id", &tpl), ("mode", "HTTP_DOWNLOAD")])
        .await
        .err(431);
    assert!(e.contains("not been downloaded"), "{e}");
    finish_downloads(t.app(), &tpl).await;

    // Modes: HTTP_DOWNLOAD only.
    let e = alice
        .get("extractTemplate", &[("id", &tpl), ("mode", "FTP_UPLOAD")])
        .await
        .err(431);
    assert!(e.contains("HTTP_DOWNLOAD"), "{e}");
    alice
        .get("extractTemplate", &[("id", &tpl), ("mode", "carrier-pigeon")])
        .await
        .err(431);
    alice.get("extractTemplate", &[("id", &tpl)]).await.err(431);
    // Someone else's template.
    bob.get("extractTemplate", &[("id", &tpl), ("mode", "HTTP_DOWNLOAD")])
        .await
        .err(531);

    a.get(
        "updateConfiguration",
        &[("name", "extract.url.expiration.interval"), ("value", "600")],
    )
    .await
    .ok();
    let x = extract(&alice, "extractTemplate", &tpl).await;
    assert_eq!(x["id"], tpl.as_str(), "{x}");
    assert_eq!(x["name"], "web");
    assert_eq!(x["state"], "DOWNLOAD_URL_CREATED");
    assert_eq!(x["extractMode"], "HTTP_DOWNLOAD");
    assert_eq!(x["zoneid"], core.as_str());
    assert_eq!(x["accountid"], alice_acct["id"], "{x}");
    assert!(x["extractId"].is_string() && x["created"].is_string(), "{x}");
    let link = x["url"].as_str().unwrap().to_string();
    assert!(
        link.starts_with(&format!("{}/client/extract/", t.url.trim_end_matches("/client/api"))),
        "{link}"
    );
    assert!(
        !link.contains(&src.addr.to_string()) && !link.contains("web.qcow2"),
        "the link must not reveal the source: {link}"
    );
    let extract_id = x["extractId"].as_str().unwrap();
    let (created, expires): (i64, i64) =
        sqlx::query_as("SELECT created, expires FROM template_extract WHERE uuid = $1")
            .bind(extract_id)
            .fetch_one(t.app().db.read())
            .await
            .unwrap();
    assert_eq!(
        expires - created,
        600_000,
        "expiry from extract.url.expiration.interval"
    );

    // The source is on loopback: an internal address the server fetches from only where the
    // operator allows it (the link must not open the management network to template owners).
    let http = reqwest::Client::new();
    let r = http.get(&link).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let text = r.text().await.unwrap();
    assert!(text.contains("secstorage.allowed.internal.download.sites"), "{text}");
    assert!(!text.contains(&src.addr.to_string()), "{text}");
    assert_eq!(
        src.hits.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "the source was not contacted"
    );
    a.get(
        "updateConfiguration",
        &[
            ("name", "secstorage.allowed.internal.download.sites"),
            ("value", "10.0.0.0/8, 127.0.0.0/8"),
        ],
    )
    .await
    .ok();

    // The link answers the exact bytes of the source, to anyone who has it (no API keys).
    let r = http.get(&link).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let disposition = r.headers()["content-disposition"].to_str().unwrap().to_string();
    assert!(disposition.contains("web.qcow2"), "{disposition}");
    assert_eq!(r.bytes().await.unwrap().as_ref(), image.as_slice());

    // From a given zone: the copy there must be downloaded first.
    let core2 = zone(a, "core2", false, true).await;
    let j = alice
        .run_async("copyTemplate", &[("id", &tpl), ("destzoneid", &core2)])
        .await;
    assert_eq!(j["jobstatus"], 1, "{j}");
    let in_core2 = [
        ("id", tpl.as_str()),
        ("mode", "HTTP_DOWNLOAD"),
        ("zoneid", core2.as_str()),
    ];
    let e = alice.get("extractTemplate", &in_core2).await.err(431);
    assert!(e.contains("not been downloaded") && e.contains("core2"), "{e}");
    finish_downloads(t.app(), &tpl).await;
    let j = alice.run_async("extractTemplate", &in_core2).await;
    let x2 = job_ok(&j, "template");
    assert_eq!(x2["zoneid"], core2.as_str(), "{x2}");
    assert_ne!(x2["url"], link.as_str(), "every extraction makes its own link");
    let r = http.get(x2["url"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(r.bytes().await.unwrap().as_ref(), image.as_slice());

    // Tampered, foreign or unknown links are refused.
    let (base, token) = link.rsplit_once('/').unwrap();
    let mut bad = token.to_string();
    let last = bad.pop().unwrap();
    bad.push(if last == 'A' { 'B' } else { 'A' });
    assert_eq!(http.get(format!("{base}/{bad}")).send().await.unwrap().status(), 404);
    assert_eq!(http.get(format!("{base}/")).send().await.unwrap().status(), 404);
    let other = link.replace(extract_id, "00000000-0000-4000-8000-000000000000");
    assert_eq!(http.get(&other).send().await.unwrap().status(), 404);

    // A link expires.
    sqlx::query("UPDATE template_extract SET expires = 0 WHERE uuid = $1")
        .bind(extract_id)
        .execute(t.app().db.write())
        .await
        .unwrap();
    assert_eq!(http.get(&link).send().await.unwrap().status(), 410);

    // Not extractable: refused to its owner, allowed to the root admin.
    let closed = register(&alice, "closed", &url, &core, &os, &[], false).await;
    finish_downloads(t.app(), &closed).await;
    let e = alice
        .get("extractTemplate", &[("id", &closed), ("mode", "HTTP_DOWNLOAD")])
        .await
        .err(431);
    assert!(e.contains("not extractable"), "{e}");
    let x = extract(a, "extractTemplate", &closed).await;
    let r = http.get(x["url"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(r.bytes().await.unwrap().len(), image.len());

    // Direct download: never on an image store, nothing to extract.
    let dd = register(
        &alice,
        "dd",
        &url,
        &core,
        &os,
        &[("isextractable", "true"), ("directdownload", "true")],
        false,
    )
    .await;
    let e = alice
        .get("extractTemplate", &[("id", &dd), ("mode", "HTTP_DOWNLOAD")])
        .await
        .err(431);
    assert!(e.contains("direct download"), "{e}");
    // Bytes the management server can't reach: refused, no link that can't work.
    let nfs = register(
        &alice,
        "nfs",
        "nfs://10.0.0.1/export/t.qcow2",
        &core,
        &os,
        &[("isextractable", "true")],
        false,
    )
    .await;
    finish_downloads(t.app(), &nfs).await;
    let e = alice
        .get("extractTemplate", &[("id", &nfs), ("mode", "HTTP_DOWNLOAD")])
        .await
        .err(432);
    assert!(e.contains("can't be extracted"), "{e}");

    // disable.extraction stops everyone but root admins.
    a.get(
        "updateConfiguration",
        &[("name", "disable.extraction"), ("value", "true")],
    )
    .await
    .ok();
    let e = alice
        .get("extractTemplate", &[("id", &tpl), ("mode", "HTTP_DOWNLOAD")])
        .await
        .err(531);
    assert!(e.contains("disabled"), "{e}");
    let x = extract(a, "extractTemplate", &tpl).await;
    a.get(
        "updateConfiguration",
        &[("name", "disable.extraction"), ("value", "false")],
    )
    .await
    .ok();

    // A deleted template's links stop working.
    let live = x["url"].as_str().unwrap().to_string();
    assert_eq!(http.get(&live).send().await.unwrap().status(), 200);
    let j = alice.run_async("deleteTemplate", &[("id", &tpl)]).await;
    assert_eq!(j["jobstatus"], 1, "{j}");
    assert_eq!(http.get(&live).send().await.unwrap().status(), 410);

    // ISOs: extractIso, answered as `iso`; an ISO id is refused by extractTemplate.
    let iso_url = format!("http://{}/tools.iso", src.addr);
    let iso = register(
        &alice,
        "tools",
        &iso_url,
        &core,
        &os,
        &[("isextractable", "true")],
        true,
    )
    .await;
    finish_downloads(t.app(), &iso).await;
    let e = alice
        .get("extractTemplate", &[("id", &iso), ("mode", "HTTP_DOWNLOAD")])
        .await
        .err(431);
    assert!(e.contains("is an ISO"), "{e}");
    let x = extract(&alice, "extractIso", &iso).await;
    assert_eq!(x["id"], iso.as_str());
    let r = http.get(x["url"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(r.bytes().await.unwrap().as_ref(), image.as_slice());

    for cmd in ["extractTemplate", "extractIso"] {
        let api = &a.get("listApis", &[("name", cmd)]).await.items("api")[0];
        assert_eq!(api["isasync"], true, "{api}");
        let declared: Vec<&str> = api["response"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap())
            .collect();
        for k in x.as_object().unwrap().keys() {
            if k != "jobid" {
                assert!(declared.contains(&k.as_str()), "{cmd} answers {k} undeclared");
            }
        }
    }
    drop(src);
    t.stop().await;
}
