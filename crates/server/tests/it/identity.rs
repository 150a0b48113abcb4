//! Domains, accounts, users and roles through the API, and tenant isolation.

use serde_json::Value;

use crate::common::TestServer;

fn ids(items: &[Value]) -> Vec<String> {
    items.iter().map(|i| i["id"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn account_create_list_update_and_shapes() {
    let t = TestServer::start().await;
    let root = t.admin.get("listDomains", &[]).await.items("domain")[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let a = t
        .admin
        .post(
            "createAccount",
            &[
                ("username", "alice"),
                ("password", "s3cret"),
                ("firstname", "Alice"),
                ("lastname", "A"),
                ("email", "alice@example.com"),
                ("accounttype", "0"),
            ],
        )
        .await;
    let acc = a.ok()["account"].clone();
    assert_eq!(acc["name"], "alice");
    assert_eq!(acc["accounttype"], 0);
    assert_eq!(acc["roletype"], "User");
    assert_eq!(acc["state"], "enabled");
    assert_eq!(acc["domainid"], root.as_str());
    assert_eq!(acc["user"][0]["username"], "alice");
    assert!(acc["created"].as_str().unwrap().ends_with("+0000"));
    assert!(!a.text.contains("password") && !a.text.contains("secretkey"));
    // Duplicate name: 431 naming the problem.
    let dup = t
        .admin
        .post(
            "createAccount",
            &[
                ("username", "alice"),
                ("password", "x"),
                ("firstname", "A"),
                ("lastname", "B"),
                ("email", "e"),
                ("accounttype", "0"),
            ],
        )
        .await;
    assert!(dup.err(431).contains("already exists"));
    // Neither type nor role.
    let e = t
        .admin
        .post(
            "createAccount",
            &[
                ("username", "bob"),
                ("password", "x"),
                ("firstname", "A"),
                ("lastname", "B"),
                ("email", "e"),
            ],
        )
        .await
        .err(431);
    assert!(e.contains("accounttype or roleid"), "{e}");
    // listAccounts: own account only without listall; everything with it.
    let own = t.admin.get("listAccounts", &[]).await;
    assert_eq!(own.items("account").len(), 1);
    assert_eq!(own.items("account")[0]["name"], "admin");
    let all = t.admin.get("listAccounts", &[("listall", "true")]).await;
    assert_eq!(all.ok()["count"], 3);
    let one = t
        .admin
        .get("listAccounts", &[("id", acc["id"].as_str().unwrap())])
        .await;
    assert_eq!(one.items("account").len(), 1);
    let up = t
        .admin
        .get(
            "updateAccount",
            &[("id", acc["id"].as_str().unwrap()), ("newname", "alice2")],
        )
        .await;
    assert_eq!(up.ok()["account"]["name"], "alice2");
    // Lock, enable.
    let l = t
        .admin
        .get("lockAccount", &[("account", "alice2"), ("domainid", &root)])
        .await;
    assert_eq!(l.ok()["account"]["state"], "locked");
    let en = t
        .admin
        .get("enableAccount", &[("id", acc["id"].as_str().unwrap())])
        .await;
    assert_eq!(en.ok()["account"]["state"], "enabled");
    // Default accounts are protected.
    let sys = all
        .items("account")
        .into_iter()
        .find(|a| a["name"] == "system")
        .unwrap();
    let e = t
        .admin
        .get("deleteAccount", &[("id", sys["id"].as_str().unwrap())])
        .await
        .err(431);
    assert!(e.contains("default account"), "{e}");
    t.stop().await;
}

#[tokio::test]
async fn users_lifecycle_keys_and_passwords() {
    let t = TestServer::start().await;
    let root = t.admin.get("listDomains", &[]).await.items("domain")[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (acc, alice) = t.account_client("alice", "0", &root).await;
    let u = t
        .admin
        .post(
            "createUser",
            &[
                ("account", "alice"),
                ("username", "alice-2"),
                ("password", "pw"),
                ("firstname", "A"),
                ("lastname", "Two"),
                ("email", "a2@example.com"),
            ],
        )
        .await;
    let u2 = u.ok()["user"].clone();
    assert_eq!(u2["account"], "alice");
    let users = alice.get("listUsers", &[]).await;
    assert_eq!(users.ok()["count"], 2);
    assert!(!users.text.contains("secretkey"), "lists never carry secret keys");
    // getUser by API key.
    let me = t.admin.get("getUser", &[("userapikey", &alice.api_key)]).await;
    assert_eq!(me.ok()["user"]["username"], "alice");
    // A user changes its own password only with the current one.
    let alice_id = acc["user"][0]["id"].as_str().unwrap();
    let e = alice
        .get("updateUser", &[("id", alice_id), ("password", "new-pw")])
        .await
        .err(431);
    assert!(e.contains("currentpassword"), "{e}");
    alice
        .get(
            "updateUser",
            &[("id", alice_id), ("password", "new-pw"), ("currentpassword", "pw-123")],
        )
        .await
        .ok();
    let (status, _, _) = crate::common::login(&t.url, "alice", "new-pw", "/").await;
    assert_eq!(status, 200);
    // Lock, enable, disable (async), delete.
    let id2 = u2["id"].as_str().unwrap();
    assert_eq!(
        t.admin.get("lockUser", &[("id", id2)]).await.ok()["user"]["state"],
        "locked"
    );
    assert_eq!(
        t.admin.get("enableUser", &[("id", id2)]).await.ok()["user"]["state"],
        "enabled"
    );
    let j = t.admin.run_async("disableUser", &[("id", id2)]).await;
    assert_eq!(j["jobstatus"], 1, "{j}");
    assert_eq!(j["jobresult"]["user"]["state"], "disabled");
    assert_eq!(t.admin.get("deleteUser", &[("id", id2)]).await.ok()["success"], true);
    assert_eq!(alice.get("listUsers", &[]).await.ok()["count"], 1);
    // A disabled user's keys stop working.
    let j = t.admin.run_async("disableUser", &[("id", alice_id)]).await;
    assert_eq!(j["jobstatus"], 1);
    assert_eq!(alice.get("listUsers", &[]).await.status, 401);
    t.stop().await;
}

#[tokio::test]
async fn tenants_see_only_their_own_and_never_anyone_elses_secrets() {
    let t = TestServer::start().await;
    let root = t.admin.get("listDomains", &[]).await.items("domain")[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let d = t.create_domain("tenant", Some(&root)).await;
    let did = d["id"].as_str().unwrap().to_string();
    let sub = t.create_domain("team", Some(&did)).await;
    let (_, dadmin) = t.account_client("dadmin", "2", &did).await;
    let (uacc, user) = t.account_client("u1", "0", &did).await;
    let (_, subuser) = t.account_client("u2", "0", sub["id"].as_str().unwrap()).await;
    let (_, other) = t.account_client("outsider", "0", &root).await;

    // A user sees only its own account, users, events.
    let a = user.get("listAccounts", &[("listall", "true")]).await;
    assert_eq!(ids(&a.items("account")), vec![uacc["id"].as_str().unwrap().to_string()]);
    for u in user.get("listUsers", &[("listall", "true")]).await.items("user") {
        assert_eq!(u["account"], "u1");
    }
    for e in user.get("listEvents", &[("listall", "true")]).await.items("event") {
        assert_eq!(e["account"], "u1", "{e}");
    }
    // A user may not widen its scope with domainid or account.
    assert_eq!(user.get("listAccounts", &[("domainid", &root)]).await.status, 531);
    // A user can't call admin commands.
    assert_eq!(user.get("createAccount", &[]).await.status, 401);
    let apis = user.get("listApis", &[]).await.items("api");
    assert!(apis
        .iter()
        .all(|a| a["name"] != "createAccount" && a["name"] != "deleteDomain"));

    // A domain admin sees its subtree and nothing else.
    let names: Vec<String> = dadmin
        .get("listAccounts", &[("listall", "true")])
        .await
        .items("account")
        .iter()
        .map(|a| a["name"].as_str().unwrap().to_string())
        .collect();
    assert!(names.contains(&"u1".into()) && names.contains(&"u2".into()) && names.contains(&"dadmin".into()));
    assert!(
        !names.contains(&"admin".into()) && !names.contains(&"outsider".into()),
        "{names:?}"
    );
    let doms = dadmin.get("listDomains", &[("listall", "true")]).await.items("domain");
    assert_eq!(doms.len(), 2);
    assert_eq!(dadmin.get("listAccounts", &[("domainid", &root)]).await.status, 531);

    // A domain admin can't read the root admin's keys or reset its password (CVE-2025-47849/47713).
    let admin_uid = t.admin.get("getUser", &[("userapikey", &t.admin.api_key)]).await.ok()["user"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let k = dadmin.get("getUserKeys", &[("id", &admin_uid)]).await;
    assert!(k.status >= 400, "{}", k.text);
    assert!(!k.text.contains(&t.admin.secret));
    let p = dadmin
        .get("updateUser", &[("id", &admin_uid), ("password", "owned")])
        .await;
    assert!(p.status >= 400, "{}", p.text);
    assert!(dadmin.get("registerUserKeys", &[("id", &admin_uid)]).await.status >= 400);
    let (status, _, _) = crate::common::login(&t.url, "admin", "password", "/").await;
    assert_eq!(status, 200, "the admin password is unchanged");
    // But it can manage users in its subtree.
    let u1 = user.get("getUser", &[("userapikey", &user.api_key)]).await.ok()["user"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let k = dadmin.get("getUserKeys", &[("id", &u1)]).await;
    assert_eq!(k.ok()["userkeys"]["secretkey"].as_str(), Some(user.secret.as_str()));
    // A user can't read another user's keys.
    assert!(other.get("getUserKeys", &[("id", &u1)]).await.status >= 400);
    let _ = subuser;
    // Domain admins can't create root admins or escape their subtree.
    let e = dadmin
        .post(
            "createAccount",
            &[
                ("username", "evil"),
                ("password", "x"),
                ("firstname", "A"),
                ("lastname", "B"),
                ("email", "e"),
                ("accounttype", "1"),
            ],
        )
        .await;
    assert!(e.status >= 400, "{}", e.text);
    t.stop().await;
}

#[tokio::test]
async fn domains_tree_update_and_delete() {
    let t = TestServer::start().await;
    let root = t.admin.get("listDomains", &[]).await.items("domain")[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let a = t.create_domain("a", Some(&root)).await;
    assert_eq!(a["path"], "ROOT/a");
    assert_eq!(a["level"], 1);
    assert_eq!(a["parentdomainname"], "ROOT");
    let aid = a["id"].as_str().unwrap().to_string();
    let b = t.create_domain("b", Some(&aid)).await;
    assert_eq!(b["path"], "ROOT/a/b");
    let dup = t
        .admin
        .get("createDomain", &[("name", "a"), ("parentdomainid", &root)])
        .await;
    assert!(dup.err(431).contains("already exists"));
    let r = t.admin.get("updateDomain", &[("id", &aid), ("name", "x")]).await;
    assert_eq!(r.ok()["domain"]["path"], "ROOT/x");
    let child = t.admin.get("listDomains", &[("id", b["id"].as_str().unwrap())]).await;
    assert_eq!(
        child.items("domain")[0]["path"],
        "ROOT/x/b",
        "descendants follow a rename"
    );
    // Deleting a domain with children needs cleanup.
    let e = t.admin.get("deleteDomain", &[("id", &aid)]).await.err(431);
    assert!(e.contains("cleanup=true"), "{e}");
    let (_, _) = t.account_client("inner", "0", b["id"].as_str().unwrap()).await;
    let j = t
        .admin
        .run_async("deleteDomain", &[("id", &aid), ("cleanup", "true")])
        .await;
    assert_eq!(j["jobstatus"], 1, "{j}");
    assert_eq!(j["jobresult"]["success"], true);
    assert_eq!(
        t.admin.get("listDomains", &[("listall", "true")]).await.ok()["count"],
        1
    );
    let inner = t
        .admin
        .get("listAccounts", &[("listall", "true"), ("name", "inner")])
        .await;
    assert!(inner.items("account").is_empty());
    // ROOT can't be deleted.
    assert_eq!(t.admin.get("deleteDomain", &[("id", &root)]).await.status, 431);
    // Roles: four defaults, users see only theirs and below.
    let roles = t.admin.get("listRoles", &[]).await;
    assert_eq!(roles.ok()["count"], 4);
    t.stop().await;
}
