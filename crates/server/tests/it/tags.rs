//! Resource tags and resource details through the real API: createTags / listTags /
//! deleteTags on VMs, networks and volumes, tags in list answers, `tags[N]` filters, the
//! errors (431, never 5xx), tenant scoping, cleanup when the resource goes, and
//! addResourceDetail / listResourceDetails / removeResourceDetail.

use serde_json::Value;

use crate::common::{Answer, Client, TestServer};
use crate::setup::{configdrive_offering, deploy, edge_with_templates, shared_network, Cloud};

/// Never a server error (530 and other 5xx below CloudStack's 531+ business codes).
fn sane(a: &Answer) -> &Answer {
    assert!(a.status < 500 || a.status > 530, "server error: {}", a.text);
    a
}

/// Submit an async tag/detail command and wait for its job; the job must succeed.
async fn job_ok(c: &Client, command: &str, params: &[(&str, &str)]) -> Value {
    let a = c.get(command, params).await;
    let jobid = sane(&a).ok()["jobid"]
        .as_str()
        .unwrap_or_else(|| panic!("{command}: no jobid: {}", a.text))
        .to_string();
    let j = c.wait_job(&jobid).await;
    assert_eq!(j["jobstatus"], 1, "{command} failed: {j}");
    assert_eq!(j["jobresult"]["success"], true, "{command}: {j}");
    j
}

/// The 431 a command answers at submission, its text.
async fn refused(c: &Client, command: &str, params: &[(&str, &str)]) -> String {
    let a = c.get(command, params).await;
    sane(&a).err(431)
}

async fn tags_of(c: &Client, params: &[(&str, &str)]) -> Vec<Value> {
    let a = c.get("listTags", params).await;
    sane(&a).items("tag")
}

fn kv(tags: &Value) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = tags
        .as_array()
        .unwrap_or_else(|| panic!("tags is an array: {tags}"))
        .iter()
        .map(|t| (t["key"].as_str().unwrap().into(), t["value"].as_str().unwrap().into()))
        .collect();
    v.sort();
    v
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

async fn vm_of(c: &Client, id: &str) -> Value {
    let a = c.get("listVirtualMachines", &[("id", id)]).await;
    sane(&a).items("virtualmachine")[0].clone()
}

fn ids(items: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = items.iter().map(|i| i["id"].as_str().unwrap().to_string()).collect();
    v.sort();
    v
}

/// A zone, a shared network every account of ROOT may use, and a ready template.
async fn cloud_with_network(t: &TestServer, name: &str, vlan: &str, octet: u8) -> (Cloud, String, String) {
    let c = &t.admin;
    let (edge, guest) = edge_with_templates(c, name, 1).await;
    let cd = configdrive_offering(c, &format!("{name}-cd")).await;
    let net = shared_network(c, &edge, &format!("{name}-net"), &cd, vlan, octet).await;
    (edge, guest, net)
}

async fn deployed(c: &Client, cloud: &Cloud, template: &str, net: &str, name: &str) -> String {
    let (id, job) = deploy(c, cloud, template, net, name, &[]).await;
    assert_eq!(c.wait_job(&job).await["jobstatus"], 1, "deploy {name}");
    id
}

async fn root_domain(t: &TestServer) -> String {
    t.admin.get("listDomains", &[]).await.items("domain")[0]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn tags_on_vms_networks_and_volumes() {
    let t = TestServer::start().await;
    let c = &t.admin;
    let (edge, guest, net) = cloud_with_network(&t, "tg", "130", 13).await;
    let vm1 = deployed(c, &edge, &guest, &net, "web1").await;
    let vm2 = deployed(c, &edge, &guest, &net, "web2").await;

    // Tag a VM: the job answers success, listTags and listVirtualMachines show the tags.
    let j = job_ok(
        c,
        "createTags",
        &[
            ("resourcetype", "UserVm"),
            ("resourceids", &vm1),
            ("tags[0].key", "env"),
            ("tags[0].value", "prod"),
            ("tags[1].key", "tier"),
            ("tags[1].value", "web"),
        ],
    )
    .await;
    assert_eq!(j["cmd"], "org.apache.cloudstack.api.command.user.tag.CreateTagsCmd");
    let listed = tags_of(c, &[("resourceid", &vm1)]).await;
    assert_eq!(listed.len(), 2, "{listed:?}");
    let root = root_domain(&t).await;
    for tag in &listed {
        assert_eq!(tag["resourcetype"], "UserVm");
        assert_eq!(tag["resourceid"], vm1.as_str());
        assert_eq!(tag["account"], "admin");
        assert_eq!(tag["domain"], "ROOT");
        assert_eq!(tag["domainid"], root.as_str());
        assert!(tag.get("customer").is_none(), "no customer given: {tag}");
    }
    let v = vm_of(c, &vm1).await;
    assert_eq!(kv(&v["tags"]), pairs(&[("env", "prod"), ("tier", "web")]));
    assert_eq!(v["tags"][0]["resourceid"], vm1.as_str());
    assert_eq!(v["tags"][0]["resourcetype"], "UserVm");
    assert_eq!(v["tags"][0]["account"], "admin");
    assert_eq!(vm_of(c, &vm2).await["tags"], serde_json::json!([]));

    // Tag the network and the first VM's root volume.
    job_ok(
        c,
        "createTags",
        &[
            ("resourcetype", "network"),
            ("resourceids", &net),
            ("tags[0].key", "env"),
            ("tags[0].value", "prod"),
            ("customer", "acme"),
        ],
    )
    .await;
    let n = c.get("listNetworks", &[("id", &net)]).await.items("network")[0].clone();
    assert_eq!(kv(&n["tags"]), pairs(&[("env", "prod")]));
    assert_eq!(n["tags"][0]["resourcetype"], "Network");
    assert_eq!(n["tags"][0]["customer"], "acme");
    let vols = c
        .get("listVolumes", &[("virtualmachineid", &vm1)])
        .await
        .items("volume");
    let vol = vols[0]["id"].as_str().unwrap().to_string();
    job_ok(
        c,
        "createTags",
        &[
            ("resourcetype", "Volume"),
            ("resourceids", &vol),
            ("tags[0].key", "backup"),
            ("tags[0].value", "daily"),
        ],
    )
    .await;

    // Filters: a resource with any given tag matches (CloudStack's OR; key and value without
    // case); in SQL, paged.
    let by = |p: Vec<(&'static str, &'static str)>| {
        let c = c.clone();
        async move {
            let a = c.get("listVirtualMachines", &p).await;
            ids(&sane(&a).items("virtualmachine"))
        }
    };
    assert_eq!(
        by(vec![("tags[0].key", "env"), ("tags[0].value", "prod")]).await,
        vec![vm1.clone()]
    );
    assert_eq!(
        by(vec![("tags[0].key", "ENV"), ("tags[0].value", "Prod")]).await,
        vec![vm1.clone()]
    );
    assert_eq!(
        by(vec![
            ("tags[0].key", "env"),
            ("tags[0].value", "prod"),
            ("tags[1].key", "tier"),
            ("tags[1].value", "web")
        ])
        .await,
        vec![vm1.clone()]
    );
    assert_eq!(
        by(vec![
            ("tags[0].key", "env"),
            ("tags[0].value", "prod"),
            ("tags[1].key", "tier"),
            ("tags[1].value", "db")
        ])
        .await,
        vec![vm1.clone()]
    );
    assert!(by(vec![
        ("tags[0].key", "env"),
        ("tags[0].value", "staging"),
        ("tags[1].key", "tier"),
        ("tags[1].value", "db")
    ])
    .await
    .is_empty());
    assert!(by(vec![("tags[0].key", "env"), ("tags[0].value", "dev")])
        .await
        .is_empty());
    let nets = c
        .get("listNetworks", &[("tags[0].key", "env"), ("tags[0].value", "prod")])
        .await
        .items("network");
    assert_eq!(ids(&nets), vec![net.clone()]);
    let vols = c
        .get("listVolumes", &[("tags[0].key", "backup"), ("tags[0].value", "daily")])
        .await
        .items("volume");
    assert_eq!(ids(&vols), vec![vol.clone()]);
    assert_eq!(kv(&vols[0]["tags"]), pairs(&[("backup", "daily")]));
    let e = refused(c, "listVirtualMachines", &[("tags[0].key", "env")]).await;
    assert_eq!(e, "No value is passed in for key env");

    // listTags filters.
    assert_eq!(tags_of(c, &[("resourcetype", "Network")]).await.len(), 1);
    assert_eq!(tags_of(c, &[("key", "env")]).await.len(), 2);
    assert_eq!(
        tags_of(c, &[("key", "env"), ("value", "prod"), ("resourcetype", "UserVm")])
            .await
            .len(),
        1
    );
    assert_eq!(tags_of(c, &[("customer", "acme")]).await.len(), 1);
    assert_eq!(tags_of(c, &[("keyword", "dail")]).await.len(), 1);
    let paged = c.get("listTags", &[("page", "1"), ("pagesize", "2")]).await;
    assert_eq!(paged.ok()["count"], 4, "count is the total: {}", paged.text);
    assert_eq!(paged.items("tag").len(), 2);

    // Errors: 431 with the reason, at submission.
    let e = refused(
        c,
        "createTags",
        &[
            ("resourcetype", "UserVm"),
            ("resourceids", &vm1),
            ("tags[0].key", "Env"),
            ("tags[0].value", "staging"),
        ],
    )
    .await;
    assert!(e.contains(&format!("tag Env already on UserVm with id {vm1}")), "{e}");
    let e = refused(
        c,
        "createTags",
        &[
            ("resourcetype", "UserVm"),
            ("resourceids", &vm2),
            ("tags[0].key", "a"),
            ("tags[0].value", "1"),
            ("tags[1].key", "A"),
            ("tags[1].value", "2"),
        ],
    )
    .await;
    assert!(e.contains("given twice"), "{e}");
    let e = refused(
        c,
        "createTags",
        &[("resourcetype", "UserVm"), ("resourceids", &vm2), ("tags[0].key", "a")],
    )
    .await;
    assert_eq!(e, "Value for the key a is either null or empty");
    let e = refused(
        c,
        "createTags",
        &[
            ("resourcetype", "UserVm"),
            ("resourceids", &vm2),
            ("tags[0].value", "x"),
        ],
    )
    .await;
    assert!(e.contains("A key is missing in tags"), "{e}");
    let tag0 = [("tags[0].key", "k"), ("tags[0].value", "v")];
    for (rt, want) in [
        ("Bogus", "Invalid resource type Bogus"),
        ("VMSnapshot", "VMSnapshot is not supported by ferrostack"),
        ("Zone", "Zone doesn't support resource tags"),
    ] {
        let mut p = vec![("resourcetype", rt), ("resourceids", vm2.as_str())];
        p.extend_from_slice(&tag0);
        let e = refused(c, "createTags", &p).await;
        assert!(e.contains(want) && e.contains("UserVm, Template"), "{rt}: {e}");
    }
    let ghost = "0b5a7c4e-1111-4222-8333-944445555666";
    for (rt, id) in [("UserVm", ghost), ("UserVm", net.as_str()), ("Network", vm1.as_str())] {
        let mut p = vec![("resourcetype", rt), ("resourceids", id)];
        p.extend_from_slice(&tag0);
        let e = refused(c, "createTags", &p).await;
        assert!(
            e.contains(&format!("Unable to find resource by id {id} and type {rt}")),
            "{rt} {id}: {e}"
        );
    }
    let e = refused(c, "deleteTags", &[("resourcetype", "UserVm"), ("resourceids", ghost)]).await;
    assert!(e.contains("Unable to find resource"), "{e}");
    let e = refused(c, "listTags", &[("resourcetype", "Bogus")]).await;
    assert!(e.contains("Invalid resource type Bogus"), "{e}");
    let many: Vec<(String, String)> = (0..1001)
        .flat_map(|i| {
            [
                (format!("tags[{i}].key"), format!("k{i}")),
                (format!("tags[{i}].value"), "v".into()),
            ]
        })
        .collect();
    let mut p: Vec<(&str, &str)> = many.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    p.extend([("resourcetype", "UserVm"), ("resourceids", vm2.as_str())]);
    assert!(sane(&c.post("createTags", &p).await)
        .err(431)
        .contains("at most 1000 per call"));
    let missing = c
        .get("createTags", &[("resourcetype", "UserVm"), ("resourceids", &vm1)])
        .await;
    assert!(sane(&missing).err(431).contains("missing parameter tags"));

    // A create whose job fails after writing is undone: no tag stays.
    t.app().jobs.inject_failure("tags_create", 1);
    let a = c
        .get(
            "createTags",
            &[
                ("resourcetype", "UserVm"),
                ("resourceids", &vm2),
                ("tags[0].key", "x"),
                ("tags[0].value", "y"),
            ],
        )
        .await;
    let j = c.wait_job(a.ok()["jobid"].as_str().unwrap()).await;
    assert_eq!(j["jobstatus"], 2, "{j}");
    assert!(tags_of(c, &[("resourceid", &vm2)]).await.is_empty());

    // deleteTags: by key (any value), by key and value, everything; what is not there converges.
    job_ok(
        c,
        "deleteTags",
        &[
            ("resourcetype", "UserVm"),
            ("resourceids", &vm1),
            ("tags[0].key", "TIER"),
        ],
    )
    .await;
    assert_eq!(kv(&vm_of(c, &vm1).await["tags"]), pairs(&[("env", "prod")]));
    job_ok(
        c,
        "deleteTags",
        &[
            ("resourcetype", "UserVm"),
            ("resourceids", &vm1),
            ("tags[0].key", "env"),
            ("tags[0].value", "staging"),
        ],
    )
    .await;
    assert_eq!(
        kv(&vm_of(c, &vm1).await["tags"]),
        pairs(&[("env", "prod")]),
        "another value stays"
    );
    job_ok(c, "deleteTags", &[("resourcetype", "UserVm"), ("resourceids", &vm1)]).await;
    assert_eq!(vm_of(c, &vm1).await["tags"], serde_json::json!([]));
    job_ok(c, "deleteTags", &[("resourcetype", "UserVm"), ("resourceids", &vm1)]).await;

    // The resource goes, its tags go: an expunged VM (and its volume), a deleted network.
    job_ok(
        c,
        "createTags",
        &[
            ("resourcetype", "UserVm"),
            ("resourceids", &vm1),
            ("tags[0].key", "env"),
            ("tags[0].value", "prod"),
        ],
    )
    .await;
    let d = c
        .run_async("destroyVirtualMachine", &[("id", &vm1), ("expunge", "true")])
        .await;
    assert_eq!(d["jobstatus"], 1, "{d}");
    assert!(tags_of(c, &[("resourceid", &vm1), ("listall", "true")])
        .await
        .is_empty());
    assert!(tags_of(c, &[("resourcetype", "Volume"), ("listall", "true")])
        .await
        .is_empty());
    let d = c
        .run_async("destroyVirtualMachine", &[("id", &vm2), ("expunge", "true")])
        .await;
    assert_eq!(d["jobstatus"], 1, "{d}");
    let d = c.run_async("deleteNetwork", &[("id", &net)]).await;
    assert_eq!(d["jobstatus"], 1, "{d}");
    assert!(tags_of(c, &[("listall", "true")]).await.is_empty(), "no orphan tags");

    // Every tag job recorded its events under CloudStack's event types.
    let ev = c.get("listEvents", &[("type", "CREATE_TAGS")]).await.items("event");
    assert!(!ev.is_empty());
    let ev = c.get("listEvents", &[("type", "DELETE_TAGS")]).await.items("event");
    assert!(!ev.is_empty());
}

#[tokio::test]
async fn tags_and_details_are_scoped_to_their_owners() {
    let t = TestServer::start().await;
    let c = &t.admin;
    let (edge, guest, net) = cloud_with_network(&t, "sc", "140", 14).await;
    let root = root_domain(&t).await;
    let (_, alice) = t.account_client("alice", "0", &root).await;
    let (_, bob) = t.account_client("bob", "0", &root).await;
    let vm_a = deployed(&alice, &edge, &guest, &net, "alice-vm").await;
    let vm_b = deployed(&bob, &edge, &guest, &net, "bob-vm").await;

    job_ok(
        &alice,
        "createTags",
        &[
            ("resourcetype", "UserVm"),
            ("resourceids", &vm_a),
            ("tags[0].key", "owner"),
            ("tags[0].value", "alice"),
        ],
    )
    .await;
    job_ok(
        &bob,
        "createTags",
        &[
            ("resourcetype", "UserVm"),
            ("resourceids", &vm_b),
            ("tags[0].key", "owner"),
            ("tags[0].value", "bob"),
        ],
    )
    .await;
    // The tag belongs to the VM's owner.
    let a_tags = tags_of(&alice, &[]).await;
    assert_eq!(a_tags.len(), 1);
    assert_eq!(a_tags[0]["account"], "alice");

    // Bob can neither tag, untag nor see Alice's VM's tags.
    let tag = [("tags[0].key", "x"), ("tags[0].value", "y")];
    let mut p = vec![("resourcetype", "UserVm"), ("resourceids", vm_a.as_str())];
    p.extend_from_slice(&tag);
    let e = refused(&bob, "createTags", &p).await;
    assert!(e.contains(&format!("Unable to find resource by id {vm_a}")), "{e}");
    let e = refused(
        &bob,
        "deleteTags",
        &[("resourcetype", "UserVm"), ("resourceids", &vm_a)],
    )
    .await;
    assert!(e.contains("Unable to find resource"), "{e}");
    assert!(tags_of(&bob, &[("resourceid", &vm_a)]).await.is_empty());
    let all = tags_of(&bob, &[("listall", "true")]).await;
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0]["account"], "bob");
    let seen = bob
        .get(
            "listVirtualMachines",
            &[("tags[0].key", "owner"), ("tags[0].value", "alice")],
        )
        .await;
    assert!(sane(&seen).items("virtualmachine").is_empty());
    // Alice may not tag the domain-wide network she uses: she sees it, it is not hers.
    let mut p = vec![("resourcetype", "Network"), ("resourceids", net.as_str())];
    p.extend_from_slice(&tag);
    let a = alice.get("createTags", &p).await;
    assert!(sane(&a).err(531).contains("doesn't have permissions"), "{}", a.text);
    // The root admin sees every account's tags with listall.
    let every = tags_of(c, &[("listall", "true")]).await;
    assert_eq!(every.len(), 2);

    // Details: the VM's owner adds and reads them; others get nothing.
    job_ok(
        &alice,
        "addResourceDetail",
        &[
            ("resourcetype", "UserVm"),
            ("resourceid", &vm_a),
            ("details[0].key", "role"),
            ("details[0].value", "db"),
            ("details[1].key", "rack"),
            ("details[1].value", "r1"),
        ],
    )
    .await;
    let e = refused(
        &bob,
        "listResourceDetails",
        &[("resourcetype", "UserVm"), ("resourceid", &vm_a)],
    )
    .await;
    assert!(e.contains("Unable to find resource"), "{e}");
    let e = refused(
        &bob,
        "addResourceDetail",
        &[
            ("resourcetype", "UserVm"),
            ("resourceid", &vm_a),
            ("details[0].key", "k"),
            ("details[0].value", "v"),
        ],
    )
    .await;
    assert!(e.contains("Unable to find resource"), "{e}");
    let found = bob
        .get(
            "listResourceDetails",
            &[
                ("resourcetype", "UserVm"),
                ("key", "role"),
                ("value", "db"),
                ("listall", "true"),
            ],
        )
        .await;
    assert!(sane(&found).items("resourcedetail").is_empty(), "{}", found.text);
    let found = c
        .get(
            "listResourceDetails",
            &[
                ("resourcetype", "UserVm"),
                ("key", "role"),
                ("value", "db"),
                ("listall", "true"),
            ],
        )
        .await;
    let found = sane(&found).items("resourcedetail");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["resourceid"], vm_a.as_str());

    // Infrastructure: only the root admin sets zone details; everyone reads the shown ones.
    let e = alice
        .get(
            "addResourceDetail",
            &[
                ("resourcetype", "Zone"),
                ("resourceid", &edge.zone.zone),
                ("details[0].key", "k"),
                ("details[0].value", "v"),
            ],
        )
        .await;
    assert!(sane(&e).err(531).contains("doesn't have permissions"), "{}", e.text);
    job_ok(
        c,
        "addResourceDetail",
        &[
            ("resourcetype", "Zone"),
            ("resourceid", &edge.zone.zone),
            ("details[0].key", "site"),
            ("details[0].value", "paris"),
        ],
    )
    .await;
    let z = alice
        .get(
            "listResourceDetails",
            &[("resourcetype", "Zone"), ("resourceid", &edge.zone.zone)],
        )
        .await;
    assert_eq!(sane(&z).items("resourcedetail").len(), 1);

    // Deleting an account takes its VMs and their tags with it.
    let bob_acc = c
        .get("listAccounts", &[("name", "bob"), ("listall", "true")])
        .await
        .items("account")[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(c.run_async("deleteAccount", &[("id", &bob_acc)]).await["jobstatus"], 1);
    let left = tags_of(c, &[("listall", "true")]).await;
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0]["account"], "alice");
}

#[tokio::test]
async fn resource_details_add_list_remove() {
    let t = TestServer::start().await;
    let c = &t.admin;
    let (edge, guest, net) = cloud_with_network(&t, "dt", "150", 15).await;
    let root = root_domain(&t).await;
    let (_, alice) = t.account_client("alice", "0", &root).await;
    let vm = deployed(&alice, &edge, &guest, &net, "dvm").await;
    let list = |who: &Client, extra: Vec<(&'static str, String)>| {
        let who = who.clone();
        let vm = vm.clone();
        async move {
            let mut p: Vec<(&str, String)> = vec![("resourcetype", "UserVm".into()), ("resourceid", vm)];
            p.extend(extra);
            let p: Vec<(&str, &str)> = p.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let a = who.get("listResourceDetails", &p).await;
            let mut v: Vec<(String, String, bool)> = sane(&a)
                .items("resourcedetail")
                .iter()
                .map(|d| {
                    assert_eq!(d["resourcetype"], "UserVm");
                    (
                        d["key"].as_str().unwrap().to_string(),
                        d["value"].as_str().unwrap().to_string(),
                        d["fordisplay"].as_bool().unwrap(),
                    )
                })
                .collect();
            v.sort();
            v
        }
    };

    job_ok(
        &alice,
        "addResourceDetail",
        &[
            ("resourcetype", "UserVm"),
            ("resourceid", &vm),
            ("details[0].key", "a"),
            ("details[0].value", "1"),
            ("details[1].key", "b"),
            ("details[1].value", "2"),
        ],
    )
    .await;
    assert_eq!(
        list(&alice, vec![]).await,
        vec![("a".into(), "1".into(), true), ("b".into(), "2".into(), true)]
    );
    // A key the VM has takes the new value; a hidden detail is for admins only.
    job_ok(
        c,
        "addResourceDetail",
        &[
            ("resourcetype", "uservm"),
            ("resourceid", &vm),
            ("details[0].key", "a"),
            ("details[0].value", "3"),
        ],
    )
    .await;
    job_ok(
        c,
        "addResourceDetail",
        &[
            ("resourcetype", "UserVm"),
            ("resourceid", &vm),
            ("details[0].key", "secret"),
            ("details[0].value", "s"),
            ("fordisplay", "false"),
        ],
    )
    .await;
    assert_eq!(
        list(&alice, vec![]).await,
        vec![("a".into(), "3".into(), true), ("b".into(), "2".into(), true)]
    );
    assert_eq!(list(c, vec![]).await.len(), 3);
    assert_eq!(list(c, vec![("fordisplay", "false".into())]).await.len(), 1);
    assert_eq!(
        list(c, vec![("key", "A".into())]).await,
        vec![("a".into(), "3".into(), true)]
    );
    // The VM answer carries its details map (regular users: the shown ones).
    let v = vm_of(&alice, &vm).await;
    assert_eq!(v["details"], serde_json::json!({"a": "3", "b": "2"}));
    let v = vm_of(c, &vm).await;
    assert_eq!(v["details"]["secret"], "s");

    // Checks: CloudStack's texts, 431.
    let e = refused(&alice, "listResourceDetails", &[("resourcetype", "UserVm")]).await;
    assert!(e.starts_with("Insufficient parameters passed"), "{e}");
    let e = refused(
        &alice,
        "listResourceDetails",
        &[("resourcetype", "UserVm"), ("value", "1")],
    )
    .await;
    assert!(e.contains("key is null"), "{e}");
    let e = refused(
        &alice,
        "addResourceDetail",
        &[("resourcetype", "UserVm"), ("resourceid", &vm), ("details[0].key", "k")],
    )
    .await;
    assert_eq!(e, "Value for the key k is either null or empty");
    let e = refused(
        c,
        "addResourceDetail",
        &[
            ("resourcetype", "Account"),
            ("resourceid", &vm),
            ("details[0].key", "k"),
            ("details[0].value", "v"),
        ],
    )
    .await;
    assert!(e.contains("Account doesn't support resource details"), "{e}");
    let e = refused(
        c,
        "addResourceDetail",
        &[
            ("resourcetype", "Template"),
            ("resourceid", &guest),
            ("details[0].key", "k"),
            ("details[0].value", "v"),
        ],
    )
    .await;
    assert!(e.contains("updateTemplate"), "{e}");
    let e = refused(
        c,
        "removeResourceDetail",
        &[
            ("resourcetype", "UserVm"),
            ("resourceid", "0b5a7c4e-1111-4222-8333-944445555666"),
        ],
    )
    .await;
    assert!(e.contains("Unable to find resource by id"), "{e}");

    // A failed add is undone: the replaced value comes back, the new key goes.
    t.app().jobs.inject_failure("resource_details_add", 1);
    let a = c
        .get(
            "addResourceDetail",
            &[
                ("resourcetype", "UserVm"),
                ("resourceid", &vm),
                ("details[0].key", "a"),
                ("details[0].value", "9"),
                ("details[1].key", "new"),
                ("details[1].value", "n"),
            ],
        )
        .await;
    assert_eq!(c.wait_job(a.ok()["jobid"].as_str().unwrap()).await["jobstatus"], 2);
    assert_eq!(
        list(c, vec![("key", "a".into())]).await,
        vec![("a".into(), "3".into(), true)]
    );
    assert!(list(c, vec![("key", "new".into())]).await.is_empty());

    // Remove one key, then the rest.
    job_ok(
        &alice,
        "removeResourceDetail",
        &[("resourcetype", "UserVm"), ("resourceid", &vm), ("key", "b")],
    )
    .await;
    assert_eq!(list(&alice, vec![]).await, vec![("a".into(), "3".into(), true)]);
    job_ok(
        &alice,
        "removeResourceDetail",
        &[("resourcetype", "UserVm"), ("resourceid", &vm)],
    )
    .await;
    assert!(list(c, vec![]).await.is_empty());
    assert!(vm_of(&alice, &vm).await.get("details").is_none());

    // Details go with the VM.
    job_ok(
        c,
        "addResourceDetail",
        &[
            ("resourcetype", "UserVm"),
            ("resourceid", &vm),
            ("details[0].key", "z"),
            ("details[0].value", "1"),
        ],
    )
    .await;
    let d = c
        .run_async("destroyVirtualMachine", &[("id", &vm), ("expunge", "true")])
        .await;
    assert_eq!(d["jobstatus"], 1, "{d}");
    let left = c
        .get(
            "listResourceDetails",
            &[
                ("resourcetype", "UserVm"),
                ("key", "z"),
                ("value", "1"),
                ("listall", "true"),
            ],
        )
        .await;
    assert!(sane(&left).items("resourcedetail").is_empty(), "{}", left.text);
}
