//! Volume snapshots and templates made from volumes, through the real API: createSnapshot /
//! listSnapshots (filters, paging, tags) / revertSnapshot / deleteSnapshot, the volume's state
//! on the way, the refusals (wrong volume state, running VM, another account's snapshot:
//! not found), createTemplate from a snapshot and from a stopped VM's root volume, deploying
//! from such a template, snapshots outliving their VM, and an account's deletion taking its
//! snapshots with it.

use serde_json::Value;

use crate::common::{Answer, Client, TestServer};
use crate::setup::{cloud, configdrive_offering, deploy, shared_network, template, Cloud};

/// Never a server error.
fn sane(a: &Answer) -> &Answer {
    assert!(a.status < 500 || a.status > 530, "server error: {}", a.text);
    a
}

/// Submit an async command, wait for its job, which must succeed; (answer, job).
async fn job_ok(c: &Client, command: &str, params: &[(&str, &str)]) -> (Value, Value) {
    let a = c.get(command, params).await;
    let o = sane(&a).ok().clone();
    let jobid = o["jobid"]
        .as_str()
        .unwrap_or_else(|| panic!("{command}: no jobid: {}", a.text))
        .to_string();
    let j = c.wait_job(&jobid).await;
    assert_eq!(j["jobstatus"], 1, "{command} failed: {j}");
    (o, j)
}

/// The 431 a command answers at submission, its text.
async fn refused(c: &Client, command: &str, params: &[(&str, &str)]) -> String {
    let a = c.get(command, params).await;
    sane(&a).err(431)
}

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}")).to_string()
}

async fn snapshots(c: &Client, params: &[(&str, &str)]) -> Vec<Value> {
    let a = c.get("listSnapshots", params).await;
    sane(&a).items("snapshot")
}

fn ids(items: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = items.iter().map(|i| s(&i["id"])).collect();
    v.sort();
    v
}

async fn root_volume(c: &Client, vm: &str) -> Value {
    let v = c
        .get("listVolumes", &[("virtualmachineid", vm), ("type", "ROOT")])
        .await
        .items("volume");
    assert_eq!(v.len(), 1, "{v:?}");
    v[0].clone()
}

async fn vm_state(c: &Client, vm: &str) -> String {
    s(&c.get("listVirtualMachines", &[("id", vm)])
        .await
        .items("virtualmachine")[0]["state"])
}

/// Every key of every item is declared by listApis for the command.
async fn fields_declared(c: &Client, command: &str, items: &[Value]) {
    let apis = c.get("listApis", &[("name", command)]).await.items("api");
    let declared: Vec<String> = apis[0]["response"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| s(&f["name"]))
        .collect();
    assert!(!items.is_empty());
    for item in items {
        for k in item.as_object().unwrap().keys() {
            assert!(
                declared.contains(k),
                "{command} answers {k}, which listApis does not declare"
            );
        }
    }
}

async fn events_of(c: &Client, event_type: &str) -> Vec<Value> {
    c.get("listEvents", &[("type", event_type), ("listall", "true")])
        .await
        .items("event")
}

/// A core zone with one simulator host, an image store, a ready guest template, the routers'
/// template, and a shared network every account of ROOT may use.
pub(crate) async fn core_cloud(t: &TestServer, name: &str) -> (Cloud, String, String) {
    let c = &t.admin;
    let cl = cloud(c, name, false, 1).await;
    c.get(
        "addImageStore",
        &[
            ("name", &format!("{name}-sec") as &str),
            ("url", "nfs://10.1.1.2/export/secondary"),
            ("provider", "NFS"),
            ("zoneid", &cl.zone.zone),
        ],
    )
    .await
    .ok();
    let guest = template(c, &cl, "guest", true, false, true).await;
    template(c, &cl, "sys", true, true, true).await;
    c.get(
        "updateConfiguration",
        &[
            ("name", "router.template.simulator"),
            ("value", "sys"),
            ("zoneid", &cl.zone.zone),
        ],
    )
    .await
    .ok();
    let cd = configdrive_offering(c, &format!("{name}-cd")).await;
    let net = shared_network(c, &cl, &format!("{name}-net"), &cd, "150", 15).await;
    (cl, guest, net)
}

pub(crate) async fn deployed(c: &Client, cloud: &Cloud, template: &str, net: &str, name: &str) -> String {
    let (id, job) = deploy(c, cloud, template, net, name, &[]).await;
    let j = c.wait_job(&job).await;
    assert_eq!(j["jobstatus"], 1, "deploy {name}: {j}");
    id
}

async fn root_domain(t: &TestServer) -> String {
    s(&t.admin.get("listDomains", &[]).await.items("domain")[0]["id"])
}

#[tokio::test]
async fn snapshots_create_list_revert_delete_and_scoping() {
    let t = TestServer::start().await;
    let (cl, guest, net) = core_cloud(&t, "sn").await;
    let root = root_domain(&t).await;
    let (_, alice) = t.account_client("alice", "0", &root).await;
    let (_, bob) = t.account_client("bob", "0", &root).await;
    let vm = deployed(&alice, &cl, &guest, &net, "web1").await;
    let vol = root_volume(&alice, &vm).await;
    let vol_id = s(&vol["id"]);
    assert_eq!(vol["state"], "Ready");

    // A named, tagged snapshot: the answer carries its id at once, the job the snapshot.
    let (o, j) = job_ok(
        &alice,
        "createSnapshot",
        &[
            ("volumeid", &vol_id),
            ("name", "before-upgrade"),
            ("tags[0].key", "env"),
            ("tags[0].value", "prod"),
        ],
    )
    .await;
    let snap1 = s(&o["id"]);
    assert_eq!(
        j["cmd"],
        "org.apache.cloudstack.api.command.user.snapshot.CreateSnapshotCmd"
    );
    let r = &j["jobresult"]["snapshot"];
    assert_eq!(r["id"], snap1.as_str(), "{j}");
    assert_eq!(r["name"], "before-upgrade");
    assert_eq!(r["state"], "BackedUp");
    assert_eq!(r["snapshottype"], "MANUAL");
    assert_eq!(r["intervaltype"], "MANUAL");
    assert_eq!(r["volumeid"], vol_id.as_str());
    assert_eq!(r["volumename"], vol["name"]);
    assert_eq!(r["volumetype"], "ROOT");
    assert_eq!(r["account"], "alice");
    assert_eq!(r["domainid"], root.as_str());
    assert_eq!(r["zoneid"], cl.zone.zone.as_str());
    assert_eq!(r["physicalsize"], vol["size"]);
    assert_eq!(r["virtualsize"], vol["size"]);
    assert_eq!(r["revertable"], true);
    assert_eq!(r["tags"][0]["key"], "env");
    assert_eq!(r["tags"][0]["resourcetype"], "Snapshot");
    // The volume went through Snapshotting and is Ready again.
    assert_eq!(root_volume(&alice, &vm).await["state"], "Ready");

    // A snapshot nobody named is called <vm>_<volume>_<yyyyMMddHHmmss>.
    let (o, j) = job_ok(&alice, "createSnapshot", &[("volumeid", &vol_id)]).await;
    let snap2 = s(&o["id"]);
    let name = s(&j["jobresult"]["snapshot"]["name"]);
    let prefix = format!("web1_{}_", s(&vol["name"]));
    assert!(name.starts_with(&prefix), "{name}");
    let stamp = &name[prefix.len()..];
    assert!(stamp.len() == 14 && stamp.chars().all(|c| c.is_ascii_digit()), "{name}");

    // Lists and their filters.
    let all = snapshots(&alice, &[]).await;
    assert_eq!(ids(&all), ids(&[json_id(&snap1), json_id(&snap2)]));
    fields_declared(&alice, "listSnapshots", &all).await;
    assert_eq!(ids(&snapshots(&alice, &[("id", &snap1)]).await), [snap1.as_str()]);
    let both = format!("{snap1},{snap2}");
    assert_eq!(snapshots(&alice, &[("ids", &both)]).await.len(), 2);
    assert_eq!(snapshots(&alice, &[("volumeid", &vol_id)]).await.len(), 2);
    assert_eq!(
        ids(&snapshots(&alice, &[("name", "before-upgrade")]).await),
        [snap1.as_str()]
    );
    assert_eq!(ids(&snapshots(&alice, &[("keyword", "upgr")]).await), [snap1.as_str()]);
    assert_eq!(snapshots(&alice, &[("snapshottype", "MANUAL")]).await.len(), 2);
    assert!(snapshots(&alice, &[("snapshottype", "RECURRING")]).await.is_empty());
    assert!(snapshots(&alice, &[("intervaltype", "DAILY")]).await.is_empty());
    assert_eq!(snapshots(&alice, &[("zoneid", &cl.zone.zone)]).await.len(), 2);
    let tagged = snapshots(&alice, &[("tags[0].key", "env"), ("tags[0].value", "prod")]).await;
    assert_eq!(ids(&tagged), [snap1.as_str()]);
    let page = alice.get("listSnapshots", &[("page", "1"), ("pagesize", "1")]).await;
    assert_eq!(page.ok()["count"], 2);
    assert_eq!(page.items("snapshot").len(), 1);
    let e = refused(&alice, "listSnapshots", &[("snapshottype", "WEEKLY")]).await;
    assert!(e.contains("MANUAL or RECURRING"), "{e}");
    let e = refused(
        &alice,
        "createSnapshot",
        &[("volumeid", &vol_id), ("policyid", &vol_id)],
    )
    .await;
    assert!(e.contains("policyid"), "{e}");
    let e = refused(
        &alice,
        "createSnapshot",
        &[("volumeid", &vol_id), ("quiescevm", "true")],
    )
    .await;
    assert!(e.contains("quiescevm"), "{e}");
    let tags = alice
        .get("listTags", &[("resourcetype", "Snapshot"), ("resourceid", &snap1)])
        .await
        .items("tag");
    assert_eq!(tags.len(), 1, "{tags:?}");

    // Another account neither sees nor uses Alice's volume or snapshots: not found.
    assert!(snapshots(&bob, &[("listall", "true")]).await.is_empty());
    assert!(snapshots(&bob, &[("id", &snap1)]).await.is_empty());
    for (cmd, p) in [
        ("createSnapshot", vec![("volumeid", vol_id.as_str())]),
        ("deleteSnapshot", vec![("id", snap1.as_str())]),
        ("revertSnapshot", vec![("id", snap1.as_str())]),
    ] {
        let e = refused(&bob, cmd, &p).await;
        assert!(
            e.contains("entity does not exist") || e.contains("Unable to find"),
            "{cmd}: {e}"
        );
    }
    let e = refused(
        &bob,
        "createTemplate",
        &[("name", "stolen"), ("ostypeid", &cl.ostype), ("snapshotid", &snap1)],
    )
    .await;
    assert!(e.contains("snapshotid"), "{e}");
    // The admin sees them all.
    assert_eq!(snapshots(&t.admin, &[("listall", "true")]).await.len(), 2);

    // Revert needs the VM stopped (KVM and simulator), then puts the volume back.
    let e = refused(&alice, "revertSnapshot", &[("id", &snap1)]).await;
    assert!(e.contains("Running") && e.contains("stopVirtualMachine"), "{e}");
    job_ok(&alice, "stopVirtualMachine", &[("id", &vm)]).await;
    let (_, j) = job_ok(&alice, "revertSnapshot", &[("id", &snap1)]).await;
    assert_eq!(j["jobresult"]["snapshot"]["id"], snap1.as_str(), "{j}");
    assert_eq!(root_volume(&alice, &vm).await["state"], "Ready");
    job_ok(&alice, "startVirtualMachine", &[("id", &vm)]).await;
    assert_eq!(vm_state(&alice, &vm).await, "Running");

    // Delete: gone from the list (its id answers an empty list), its tags with it.
    let (_, j) = job_ok(&alice, "deleteSnapshot", &[("id", &snap2)]).await;
    assert_eq!(j["jobresult"]["success"], true);
    let gone = alice.get("listSnapshots", &[("id", &snap2)]).await;
    assert!(sane(&gone).items("snapshot").is_empty(), "{}", gone.text);
    assert_eq!(ids(&snapshots(&alice, &[]).await), [snap1.as_str()]);
    let e = refused(&alice, "deleteSnapshot", &[("id", &snap2)]).await;
    assert!(e.contains(&snap2), "{e}");

    // A volume that is not Ready is refused, naming its state.
    let (idle, job) = deploy(&alice, &cl, &guest, &net, "idle", &[("startvm", "false")]).await;
    assert_eq!(alice.wait_job(&job).await["jobstatus"], 1);
    let idle_vol = root_volume(&alice, &idle).await;
    assert_eq!(idle_vol["state"], "Allocated");
    let e = refused(
        &alice,
        "createSnapshot",
        &[("volumeid", idle_vol["id"].as_str().unwrap())],
    )
    .await;
    assert!(e.contains("Allocated") && e.contains("not Ready"), "{e}");

    // Events through the job machinery.
    for ev in ["SNAPSHOT.CREATE", "SNAPSHOT.REVERT", "SNAPSHOT.DELETE"] {
        let evs = events_of(&t.admin, ev).await;
        assert!(evs.iter().any(|e| e["state"] == "Completed"), "{ev}: {evs:?}");
    }

    // Snapshots outlive their VM (as in CloudStack); the volume's id still lists them.
    t.admin
        .post("destroyVirtualMachine", &[("id", &vm), ("expunge", "true")])
        .await
        .ok();
    t.quiesce().await;
    let left = snapshots(&alice, &[("volumeid", &vol_id)]).await;
    assert_eq!(ids(&left), [snap1.as_str()]);
    assert_eq!(left[0]["revertable"], false, "{left:?}");
    let e = refused(&alice, "revertSnapshot", &[("id", &snap1)]).await;
    assert!(e.contains("deleted"), "{e}");

    // Deleting the account takes its snapshots and their tags.
    let alice_id = s(&t
        .admin
        .get("listAccounts", &[("name", "alice"), ("listall", "true")])
        .await
        .items("account")[0]["id"]);
    job_ok(&t.admin, "deleteAccount", &[("id", &alice_id)]).await;
    assert!(snapshots(&t.admin, &[("listall", "true")]).await.is_empty());
    let tags = t
        .admin
        .get("listTags", &[("resourcetype", "Snapshot"), ("listall", "true")])
        .await
        .items("tag");
    assert!(tags.is_empty(), "{tags:?}");
    t.stop().await;
}

fn json_id(id: &str) -> Value {
    serde_json::json!({ "id": id })
}

#[tokio::test]
async fn templates_from_snapshots_and_stopped_root_volumes() {
    let t = TestServer::start().await;
    let (cl, guest, net) = core_cloud(&t, "tp").await;
    let root = root_domain(&t).await;
    let (_, carol) = t.account_client("carol", "0", &root).await;
    let vm = deployed(&carol, &cl, &guest, &net, "src1").await;
    let vol = root_volume(&carol, &vm).await;
    let vol_id = s(&vol["id"]);

    // A running VM's root volume is refused, as CloudStack refuses it.
    let base = [("ostypeid", cl.ostype.as_str())];
    let mut p = vec![("name", "from-running"), ("volumeid", vol_id.as_str())];
    p.extend_from_slice(&base);
    let e = refused(&carol, "createTemplate", &p).await;
    assert!(e.contains("Running") && e.contains("stopVirtualMachine"), "{e}");
    let e = refused(&carol, "createTemplate", &[("name", "x"), ("ostypeid", &cl.ostype)]).await;
    assert!(e.contains("snapshotid") && e.contains("volumeid"), "{e}");

    // From a snapshot (taken of the running VM).
    let (o, _) = job_ok(&carol, "createSnapshot", &[("volumeid", &vol_id)]).await;
    let snap = s(&o["id"]);
    let mut p = vec![
        ("name", "from-snap"),
        ("displaytext", "from a snapshot"),
        ("snapshotid", snap.as_str()),
    ];
    p.extend_from_slice(&base);
    let (o, j) = job_ok(&carol, "createTemplate", &p).await;
    let from_snap = s(&o["id"]);
    assert_eq!(
        j["cmd"],
        "org.apache.cloudstack.api.command.user.template.CreateTemplateCmd"
    );
    let r = &j["jobresult"]["template"];
    assert_eq!(r["id"], from_snap.as_str(), "{j}");
    assert_eq!(r["name"], "from-snap");
    assert_eq!(r["displaytext"], "from a snapshot");
    assert_eq!(r["templatetype"], "USER");
    assert_eq!(r["hypervisor"], "Simulator");
    assert_eq!(r["account"], "carol");
    assert_eq!(r["ispublic"], false);
    assert_eq!(r["isready"], true);
    assert_eq!(r["zoneid"], cl.zone.zone.as_str());
    assert_eq!(r["size"], vol["size"]);
    assert_eq!(r["ostypeid"], cl.ostype.as_str());
    assert!(r.get("url").is_none(), "{r}");
    let mine = carol
        .get("listTemplates", &[("templatefilter", "self"), ("id", &from_snap)])
        .await
        .items("template");
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!(mine[0]["isready"], true);

    // Stopped: from the root volume.
    job_ok(&carol, "stopVirtualMachine", &[("id", &vm)]).await;
    let mut p = vec![
        ("name", "from-volume"),
        ("volumeid", vol_id.as_str()),
        ("passwordenabled", "true"),
    ];
    p.extend_from_slice(&base);
    let (o, j) = job_ok(&carol, "createTemplate", &p).await;
    let from_vol = s(&o["id"]);
    assert_eq!(j["jobresult"]["template"]["passwordenabled"], true, "{j}");
    assert_eq!(j["jobresult"]["template"]["isready"], true, "{j}");
    let selfs = carol
        .get("listTemplates", &[("templatefilter", "self"), ("isready", "true")])
        .await
        .items("template");
    let mut names: Vec<String> = selfs.iter().map(|t| s(&t["name"])).collect();
    names.sort();
    assert_eq!(names, ["from-snap", "from-volume"]);

    // Both deploy on the simulator.
    for (tpl, name) in [(&from_snap, "clone1"), (&from_vol, "clone2")] {
        let id = deployed(&carol, &cl, tpl, &net, name).await;
        assert_eq!(vm_state(&carol, &id).await, "Running");
        let v = carol
            .get("listVirtualMachines", &[("id", &id)])
            .await
            .items("virtualmachine");
        assert_eq!(v[0]["templateid"], tpl.as_str());
    }

    // Another account: not its snapshot, not its volume; a featured template needs a root admin.
    let (_, dave) = t.account_client("dave", "0", &root).await;
    let mut p = vec![("name", "x"), ("volumeid", vol_id.as_str())];
    p.extend_from_slice(&base);
    let e = refused(&dave, "createTemplate", &p).await;
    assert!(e.contains("volumeid"), "{e}");
    assert!(dave
        .get("listTemplates", &[("templatefilter", "self")])
        .await
        .items("template")
        .is_empty());
    let mut p = vec![("name", "feat"), ("snapshotid", snap.as_str()), ("isfeatured", "true")];
    p.extend_from_slice(&base);
    let a = carol.get("createTemplate", &p).await;
    assert!(sane(&a).status == 432 || a.status == 531, "{}", a.text);

    let evs = events_of(&t.admin, "TEMPLATE.CREATE").await;
    assert!(evs.iter().filter(|e| e["state"] == "Completed").count() >= 2, "{evs:?}");
    t.stop().await;
}

/// Fault injection: a snapshot, revert or createTemplate job failing before any of its steps
/// (or after its last) undoes what it did: the volume is Ready again, a snapshot or template
/// that could not be made is not listed, the snapshot reverted to is still there.
#[tokio::test]
async fn failed_snapshot_and_template_jobs_leave_nothing_behind() {
    let t = TestServer::start().await;
    let app = &t.server.as_ref().unwrap().app;
    let (cl, guest, net) = core_cloud(&t, "fi").await;
    let c = &t.admin;
    let vm = deployed(c, &cl, &guest, &net, "fi1").await;
    let vol_id = s(&root_volume(c, &vm).await["id"]);
    let (o, _) = job_ok(c, "createSnapshot", &[("volumeid", &vol_id), ("name", "keep")]).await;
    let keep = s(&o["id"]);
    job_ok(c, "stopVirtualMachine", &[("id", &vm)]).await;

    let failed = |j: &Value| {
        assert_eq!(j["jobstatus"], 2, "the injected failure fails the job: {j}");
    };
    for (kind, command, params) in [
        ("snapshot_create", "createSnapshot", vec![("volumeid", vol_id.as_str())]),
        ("snapshot_revert", "revertSnapshot", vec![("id", keep.as_str())]),
        (
            "template_create",
            "createTemplate",
            vec![
                ("name", "doomed"),
                ("ostypeid", cl.ostype.as_str()),
                ("snapshotid", keep.as_str()),
            ],
        ),
    ] {
        let steps = app
            .jobs
            .steps_of(kind)
            .unwrap_or_else(|| panic!("{kind} registered"))
            .len();
        for before in 1..=steps {
            app.jobs.inject_failure(kind, before);
            let a = c.get(command, &params).await;
            let job = s(&sane(&a).ok()["jobid"]);
            failed(&c.wait_job(&job).await);
            let v = root_volume(c, &vm).await;
            assert_eq!(v["state"], "Ready", "{kind} before step {before}: {v}");
            let snaps = snapshots(c, &[("listall", "true")]).await;
            assert_eq!(ids(&snaps), [keep.as_str()], "{kind} before step {before}");
            assert_eq!(snaps[0]["state"], "BackedUp");
            let tpls = c
                .get("listTemplates", &[("templatefilter", "self"), ("name", "doomed")])
                .await
                .items("template");
            assert!(tpls.is_empty(), "{kind} before step {before}: {tpls:?}");
        }
    }
    // With nothing injected, each works.
    job_ok(c, "revertSnapshot", &[("id", &keep)]).await;
    job_ok(c, "createSnapshot", &[("volumeid", &vol_id)]).await;
    assert_eq!(snapshots(c, &[("listall", "true")]).await.len(), 2);
    t.stop().await;
}
