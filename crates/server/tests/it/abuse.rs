//! Abuse resistance through the real API: failed-login lockout, refusals that do not tell an
//! unknown user from a wrong password, logout needing the session key, the bound on a
//! `signatureVersion=3` expiry, and the role rule on account commands.

use serde_json::Value;

use crate::common::{login, session_get, Client, TestServer};

async fn root_domain(t: &TestServer) -> String {
    t.admin.get("listDomains", &[]).await.items("domain")[0]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn set_config(t: &TestServer, name: &str, value: &str) {
    let a = t
        .admin
        .get("updateConfiguration", &[("name", name), ("value", value)])
        .await;
    assert_eq!(a.ok()["configuration"]["value"], value, "{}", a.text);
}

async fn config_value(t: &TestServer, name: &str) -> String {
    let a = t.admin.get("listConfigurations", &[("name", name)]).await;
    a.items("configuration")[0]["value"].as_str().unwrap().to_string()
}

async fn user_state(t: &TestServer, user_id: &str) -> String {
    let a = t.admin.get("listUsers", &[("id", user_id), ("listall", "true")]).await;
    a.items("user")[0]["state"].as_str().unwrap().to_string()
}

/// A login's status and errortext (empty on success).
async fn try_login(t: &TestServer, user: &str, pw: &str) -> (u16, String) {
    let (status, _, body) = login(&t.url, user, pw, "/").await;
    let text = body["loginresponse"]["errortext"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    (status, text)
}

#[tokio::test]
async fn failed_logins_disable_the_user_until_an_admin_enables_it() {
    let t = TestServer::start().await;
    let root = root_domain(&t).await;
    assert_eq!(config_value(&t, "incorrect.login.attempts.allowed").await, "5");
    set_config(&t, "incorrect.login.attempts.allowed", "3").await;
    let (acc, victim) = t.account_client("victim", "0", &root).await;
    let uid = acc["user"][0]["id"].as_str().unwrap().to_string();

    // Two failures, then a success: the success forgets them.
    for _ in 0..2 {
        assert_eq!(try_login(&t, "victim", "guess").await.0, 531);
    }
    let (status, sess, _) = login(&t.url, "victim", "pw-123", "/").await;
    assert_eq!(status, 200);
    let (sid, key) = sess.unwrap();
    for _ in 0..2 {
        assert_eq!(try_login(&t, "victim", "guess").await.0, 531);
    }
    assert_eq!(user_state(&t, &uid).await, "enabled", "the success reset the counter");

    // The third failure in a row disables the user, ends its session and stops its keys.
    let (status, wrong_text) = try_login(&t, "victim", "guess").await;
    assert_eq!(status, 531);
    assert_eq!(user_state(&t, &uid).await, "disabled");
    let cookies = format!("JSESSIONID={sid}; sessionkey={key}");
    let s = session_get(
        &t.url,
        &cookies,
        &[("command", "listUsers"), ("response", "json"), ("sessionkey", &key)],
    )
    .await;
    assert_eq!(s.status, 401, "{}", s.text);
    assert_eq!(victim.get("listUsers", &[]).await.status, 401);
    // The right password of a disabled user gets the same refusal as a wrong one.
    let (status, text) = try_login(&t, "victim", "pw-123").await;
    assert_eq!((status, text.as_str()), (531, wrong_text.as_str()));
    assert!(text.contains("please provide valid credentials"), "{text}");

    // An event and an alert say what happened and what to do.
    let ev = t
        .admin
        .get("listEvents", &[("type", "USER.DISABLE"), ("listall", "true")])
        .await
        .items("event");
    assert_eq!(ev.len(), 1, "{ev:?}");
    let d = ev[0]["description"].as_str().unwrap();
    assert!(
        d.contains("victim") && d.contains("3 failed login attempts") && d.contains("enableUser"),
        "{d}"
    );
    assert_eq!(ev[0]["level"], "WARN");
    let alerts = t.admin.get("listAlerts", &[]).await.items("alert");
    assert!(
        alerts
            .iter()
            .any(|a| a["name"] == "ALERT.USER.LOCKOUT" && a["description"].as_str().unwrap().contains("victim")),
        "{alerts:?}"
    );
    // Further failures of the disabled user raise nothing more.
    assert_eq!(try_login(&t, "victim", "guess").await.0, 531);
    assert_eq!(t.admin.get("listAlerts", &[]).await.items("alert").len(), alerts.len());

    // enableUser lets it in again and forgets the failures: one more failure does not
    // disable it (without the reset the stored count would already be at the limit).
    let en = t.admin.get("enableUser", &[("id", &uid)]).await;
    assert_eq!(en.ok()["user"]["state"], "enabled");
    assert_eq!(try_login(&t, "victim", "guess").await.0, 531);
    assert_eq!(user_state(&t, &uid).await, "enabled");
    assert_eq!(try_login(&t, "victim", "pw-123").await.0, 200);

    // Root admins are never locked out (as in CloudStack), whatever the count.
    for _ in 0..4 {
        assert_eq!(try_login(&t, "admin", "guess").await.0, 531);
    }
    assert_eq!(try_login(&t, "admin", "password").await.0, 200);

    // 0 turns the lockout off.
    set_config(&t, "incorrect.login.attempts.allowed", "0").await;
    for _ in 0..4 {
        assert_eq!(try_login(&t, "victim", "guess").await.0, 531);
    }
    assert_eq!(user_state(&t, &uid).await, "enabled");
    t.stop().await;
}

#[tokio::test]
async fn unknown_users_get_the_refusal_a_wrong_password_gets() {
    let t = TestServer::start().await;
    let root = root_domain(&t).await;
    t.account_client("known", "0", &root).await;
    let (s1, wrong) = try_login(&t, "known", "guess").await;
    let (s2, unknown) = try_login(&t, "ghost", "guess").await;
    let (s3, empty) = try_login(&t, "known", "").await;
    assert_eq!((s1, s2, s3), (531, 531, 531));
    // Only the username differs, which the caller sent itself.
    assert_eq!(wrong.replace("known", "X"), unknown.replace("ghost", "X"));
    assert_eq!(wrong, empty);
    // An unknown domain path too.
    let (status, _, body) = login(&t.url, "known", "guess", "/nowhere/").await;
    assert_eq!(status, 531);
    assert!(body["loginresponse"]["errortext"]
        .as_str()
        .unwrap()
        .contains("please provide valid credentials"));
    t.stop().await;
}

#[tokio::test]
async fn logout_needs_the_session_key() {
    let t = TestServer::start().await;
    let (status, sess, _) = login(&t.url, "admin", "password", "/").await;
    assert_eq!(status, 200);
    let (sid, key) = sess.unwrap();
    let cookies = format!("JSESSIONID={sid}; sessionkey={key}");
    let alive = |expect: u16| {
        let (cookies, key, url) = (cookies.clone(), key.clone(), t.url.clone());
        async move {
            let a = session_get(
                &url,
                &cookies,
                &[("command", "listDomains"), ("response", "json"), ("sessionkey", &key)],
            )
            .await;
            assert_eq!(a.status, expect, "{}", a.text);
        }
    };
    // The cookie alone (what a forged cross-site request carries): 401, the session lives.
    let a = session_get(&t.url, &cookies, &[("command", "logout"), ("response", "json")]).await;
    assert!(a.err(401).contains("sessionkey"), "{}", a.text);
    assert!(a.text.contains("logoutresponse"), "{}", a.text);
    alive(200).await;
    // A wrong key: 401, the session lives.
    let a = session_get(
        &t.url,
        &cookies,
        &[("command", "logout"), ("response", "json"), ("sessionkey", "nope")],
    )
    .await;
    assert_eq!(a.status, 401, "{}", a.text);
    alive(200).await;

    // A signed API-key logout: success, as CloudStack answers, and it ends nothing.
    let a = t.admin.get("logout", &[]).await;
    assert_eq!(a.text, r#"{"logoutresponse":{"description":"success"}}"#);
    assert_eq!(t.admin.get("listDomains", &[]).await.status, 200);
    alive(200).await;
    // A badly signed one is refused.
    let bad = Client::new(&t.url, &t.admin.api_key, "not-the-secret");
    assert_eq!(bad.get("logout", &[]).await.status, 401);

    // The key with the cookie logs out.
    let a = session_get(
        &t.url,
        &cookies,
        &[("command", "logout"), ("response", "json"), ("sessionkey", &key)],
    )
    .await;
    assert_eq!(a.text, r#"{"logoutresponse":{"description":"success"}}"#);
    alive(401).await;
    // Logging out a session that is gone is a success.
    let a = session_get(
        &t.url,
        &cookies,
        &[("command", "logout"), ("response", "json"), ("sessionkey", &key)],
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    t.stop().await;
}

fn expires_in(secs: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::seconds(secs))
        .format("%Y-%m-%dT%H:%M:%S+0000")
        .to_string()
}

#[tokio::test]
async fn signature_v3_expires_is_bounded() {
    let t = TestServer::start().await;
    assert_eq!(config_value(&t, "api.signature.expires.max.seconds").await, "86400");
    let v3 = |secs: i64| {
        let admin = t.admin.clone();
        async move {
            admin
                .get(
                    "listDomains",
                    &[("signatureVersion", "3"), ("expires", &expires_in(secs))],
                )
                .await
        }
    };
    assert_eq!(v3(600).await.status, 200);
    let e = v3(2 * 86_400).await.err(401);
    assert!(
        e.contains("api.signature.expires.max.seconds") && e.contains("sign the request again"),
        "{e}"
    );
    // The bound follows the setting.
    set_config(&t, "api.signature.expires.max.seconds", "600").await;
    assert_eq!(v3(1200).await.status, 401);
    assert_eq!(v3(300).await.status, 200);
    let e = t
        .admin
        .get(
            "updateConfiguration",
            &[("name", "api.signature.expires.max.seconds"), ("value", "10")],
        )
        .await
        .err(431);
    assert!(e.contains("from 60"), "{e}");
    t.stop().await;
}

/// The account (and its first user's id) named `name` as the root admin sees it.
async fn account(t: &TestServer, name: &str) -> Value {
    let a = t
        .admin
        .get("listAccounts", &[("name", name), ("listall", "true")])
        .await;
    a.items("account")[0].clone()
}

#[tokio::test]
async fn account_commands_follow_the_role_hierarchy() {
    let t = TestServer::start().await;
    let root = root_domain(&t).await;
    let d = t.create_domain("tenant", Some(&root)).await;
    let did = d["id"].as_str().unwrap().to_string();
    let (_, dadmin) = t.account_client("dadmin", "2", &did).await;
    t.account_client("peer", "2", &did).await;
    t.account_client("plain", "0", &did).await;
    let resource_role = t
        .admin
        .get("listRoles", &[("type", "ResourceAdmin")])
        .await
        .items("role")
        .into_iter()
        .find(|r| r["type"] == "ResourceAdmin")
        .expect("a ResourceAdmin role");
    let ra = t
        .admin
        .post(
            "createAccount",
            &[
                ("username", "radmin"),
                ("password", "pw-123"),
                ("firstname", "R"),
                ("lastname", "A"),
                ("email", "r@example.com"),
                ("roleid", resource_role["id"].as_str().unwrap()),
                ("domainid", &did),
            ],
        )
        .await;
    let ra = ra.ok()["account"].clone();
    assert_eq!(ra["roletype"], "ResourceAdmin");
    let ra_id = ra["id"].as_str().unwrap().to_string();

    // Every account command on an account of a higher role type: 531, nothing changes.
    let refusals = [
        ("updateAccount", vec![("id", ra_id.as_str()), ("newname", "taken")]),
        ("lockAccount", vec![("account", "radmin"), ("domainid", did.as_str())]),
        ("enableAccount", vec![("id", ra_id.as_str())]),
        ("disableAccount", vec![("id", ra_id.as_str()), ("lock", "false")]),
        ("disableAccount", vec![("id", ra_id.as_str()), ("lock", "true")]),
        ("deleteAccount", vec![("id", ra_id.as_str())]),
    ];
    for (command, params) in &refusals {
        let e = dadmin.get(command, params).await.err(531);
        assert!(
            e.contains("radmin") && e.contains("ResourceAdmin is above yours"),
            "{command}: {e}"
        );
    }
    // Adding a user to it is managing it too.
    let e = dadmin
        .post(
            "createUser",
            &[
                ("account", "radmin"),
                ("domainid", &did),
                ("username", "mole"),
                ("password", "pw"),
                ("firstname", "M"),
                ("lastname", "M"),
                ("email", "m@example.com"),
            ],
        )
        .await
        .err(531);
    assert!(e.contains("ResourceAdmin"), "{e}");
    t.quiesce().await;
    let now = account(&t, "radmin").await;
    assert_eq!(
        (now["name"].as_str(), now["state"].as_str()),
        (Some("radmin"), Some("enabled"))
    );
    assert_eq!(now["user"].as_array().unwrap().len(), 1);

    // A root admin account other than the default one, reachable from a ROOT domain admin.
    t.account_client("admin2", "1", &root).await;
    let (_, root_dadmin) = t.account_client("rootda", "2", &root).await;
    let e = root_dadmin
        .get("lockAccount", &[("account", "admin2"), ("domainid", &root)])
        .await
        .err(531);
    assert!(e.contains("Admin is above yours"), "{e}");
    assert_eq!(account(&t, "admin2").await["state"], "enabled");

    // Accounts of a lower role type are managed as before.
    let l = dadmin
        .get("lockAccount", &[("account", "plain"), ("domainid", &did)])
        .await;
    assert_eq!(l.ok()["account"]["state"], "locked");
    let plain_id = account(&t, "plain").await["id"].as_str().unwrap().to_string();
    assert_eq!(
        dadmin.get("enableAccount", &[("id", &plain_id)]).await.ok()["account"]["state"],
        "enabled"
    );

    // The same role type: allowed by CloudStack's default, refused once the setting no
    // longer lists DomainAdmin — for the account and for its users alike.
    let peer = account(&t, "peer").await;
    let peer_id = peer["id"].as_str().unwrap().to_string();
    let peer_user = peer["user"][0]["id"].as_str().unwrap().to_string();
    let l = dadmin
        .get("lockAccount", &[("account", "peer"), ("domainid", &did)])
        .await;
    assert_eq!(l.ok()["account"]["state"], "locked");
    set_config(
        &t,
        "role.types.allowed.for.operations.on.accounts.of.same.role.type",
        "Admin, ResourceAdmin",
    )
    .await;
    let e = dadmin.get("enableAccount", &[("id", &peer_id)]).await.err(531);
    assert!(
        e.contains("same as yours") && e.contains("role.types.allowed.for.operations.on.accounts.of.same.role.type"),
        "{e}"
    );
    assert_eq!(dadmin.get("deleteAccount", &[("id", &peer_id)]).await.status, 531);
    assert_eq!(dadmin.get("getUserKeys", &[("id", &peer_user)]).await.status, 531);
    assert_eq!(
        dadmin
            .get("updateUser", &[("id", &peer_user), ("password", "owned")])
            .await
            .status,
        531
    );
    assert_eq!(account(&t, "peer").await["state"], "locked");
    // Its own account and lower ones stay manageable.
    let own = account(&t, "dadmin").await;
    let up = dadmin
        .get(
            "updateAccount",
            &[("id", own["id"].as_str().unwrap()), ("networkdomain", "t.example")],
        )
        .await;
    assert_eq!(up.status, 200, "{}", up.text);
    let l = dadmin
        .get("lockAccount", &[("account", "plain"), ("domainid", &did)])
        .await;
    assert_eq!(l.ok()["account"]["state"], "locked");
    // The root admin manages everything.
    let en = t.admin.get("enableAccount", &[("id", &peer_id)]).await;
    assert_eq!(en.ok()["account"]["state"], "enabled");
    t.stop().await;
}
