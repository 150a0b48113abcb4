//! The CloudStack wire protocol: envelopes, signatures, sessions, errors, discovery.

use serde_json::Value;

use crate::common::{login, session_get, sign, Client, TestServer};

#[tokio::test]
async fn get_and_post_answer_alike_with_json_envelopes() {
    let t = TestServer::start().await;
    let g = t.admin.get("listDomains", &[]).await;
    let p = t.admin.post("listDomains", &[]).await;
    for a in [&g, &p] {
        assert_eq!(a.status, 200);
        assert_eq!(a.content_type, "application/json; charset=UTF-8");
        assert!(a.body.get("listdomainsresponse").is_some(), "{}", a.text);
        assert_eq!(a.inner()["count"], 1);
        assert_eq!(a.inner()["domain"][0]["path"], "ROOT");
    }
    // Parameter names are case-insensitive; unknown parameters are ignored.
    let a = t
        .admin
        .get("listDomains", &[("LISTALL", "true"), ("_", "12345"), ("bogus", "x")])
        .await;
    assert_eq!(a.ok()["domain"][0]["name"], "ROOT");
    t.stop().await;
}

#[tokio::test]
async fn empty_list_is_an_empty_object_and_count_is_the_total() {
    let t = TestServer::start().await;
    let a = t.admin.get("listAccounts", &[("name", "nobody-has-this")]).await;
    assert_eq!(a.text, r#"{"listaccountsresponse":{}}"#);
    let root = t.admin.get("listDomains", &[]).await.ok()["domain"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    for i in 0..5 {
        t.create_domain(&format!("d{i}"), Some(&root)).await;
    }
    let a = t
        .admin
        .get("listDomains", &[("listall", "true"), ("page", "2"), ("pagesize", "2")])
        .await;
    assert_eq!(a.ok()["count"], 6, "count is the total, not the page length");
    assert_eq!(a.items("domain").len(), 2);
    let all = t
        .admin
        .get("listDomains", &[("listall", "true"), ("pagesize", "-1")])
        .await;
    assert_eq!(all.items("domain").len(), 6);
    // Paging errors are 431 with CloudStack's wording.
    let e = t.admin.get("listDomains", &[("page", "1")]).await.err(431);
    assert!(e.contains("\"pagesize\" parameter is required"), "{e}");
    let e = t
        .admin
        .get("listDomains", &[("page", "1"), ("pagesize", "501")])
        .await
        .err(431);
    assert!(e.contains("500"), "{e}");
    t.stop().await;
}

#[tokio::test]
async fn signatures_wrong_secret_tamper_and_expiry_are_refused() {
    let t = TestServer::start().await;
    let bad = Client::new(&t.url, &t.admin.api_key, "not-the-secret");
    let a = bad.get("listDomains", &[]).await;
    assert_eq!(a.status, 401);
    assert_eq!(a.content_type, "application/json; charset=UTF-8");
    assert_eq!(a.inner()["errorcode"], 401);
    // Tampering after signing.
    let mut p = t.admin.signed("listAccounts", &[("listall", "false")]);
    p[3].1 = "true".into();
    assert_eq!(t.admin.raw(&p).await.status, 401);
    // signatureVersion=3 with a past expiry; also the lowercase spelling cloudmonkey uses.
    for name in ["signatureVersion", "signatureversion"] {
        let a = t
            .admin
            .get("listDomains", &[(name, "3"), ("expires", "2001-01-01T00:00:00+0000")])
            .await;
        assert_eq!(a.status, 401, "{name}: {}", a.text);
        let soon = (chrono::Utc::now() + chrono::Duration::minutes(10))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        let a = t.admin.get("listDomains", &[(name, "3"), ("expires", &soon)]).await;
        assert_eq!(a.status, 200, "{name}: {}", a.text);
    }
    // Version 3 without expires.
    assert_eq!(
        t.admin.get("listDomains", &[("signatureVersion", "3")]).await.status,
        401
    );
    // No credentials at all.
    let a = t
        .admin
        .raw(&[
            ("command".into(), "listDomains".into()),
            ("response".into(), "json".into()),
        ])
        .await;
    assert_eq!(a.status, 401);
    t.stop().await;
}

#[tokio::test]
async fn client_signing_variants_are_accepted() {
    let t = TestServer::start().await;
    // libcloud/cloudmonkey sort names by their lowercase form and leave `~` unescaped.
    let mut p: Vec<(String, String)> = vec![
        ("command".into(), "listAccounts".into()),
        ("response".into(), "json".into()),
        ("apikey".into(), t.admin.api_key.clone()),
        ("name".into(), "a~b c".into()),
    ];
    let mut sorted = p.clone();
    sorted.sort_by_key(|(k, _)| k.to_lowercase());
    let canon = sorted
        .iter()
        .map(|(k, v)| format!("{k}={}", crate::common::java_encode(v).replace("%7E", "~")))
        .collect::<Vec<_>>()
        .join("&")
        .to_lowercase();
    use base64::Engine as _;
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(t.admin.secret.as_bytes()).unwrap();
    mac.update(canon.as_bytes());
    p.push((
        "signature".into(),
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()),
    ));
    let a = t.admin.raw(&p).await;
    assert_eq!(a.status, 200, "{}", a.text);
    let _ = sign;
    t.stop().await;
}

#[tokio::test]
async fn sessions_need_the_key_as_a_parameter_and_logout_ends_them() {
    let t = TestServer::start().await;
    let (status, sess, body) = login(&t.url, "admin", "password", "/").await;
    assert_eq!(status, 200);
    let lr = &body["loginresponse"];
    assert_eq!(lr["type"], "1");
    assert!(lr["timeout"].is_number());
    let (sid, key) = sess.unwrap();
    assert_eq!(lr["sessionkey"], key.as_str());
    let cookies = format!("JSESSIONID={sid}; sessionkey={key}");
    let ok = session_get(
        &t.url,
        &cookies,
        &[("command", "listDomains"), ("response", "json"), ("sessionkey", &key)],
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    // Cookie alone: refused (CSRF).
    let a = session_get(&t.url, &cookies, &[("command", "listDomains"), ("response", "json")]).await;
    assert_eq!(a.status, 401);
    // Wrong key.
    let a = session_get(
        &t.url,
        &cookies,
        &[("command", "listDomains"), ("response", "json"), ("sessionkey", "x")],
    )
    .await;
    assert_eq!(a.status, 401);
    // Logout, then the session is dead.
    let a = session_get(
        &t.url,
        &cookies,
        &[("command", "logout"), ("response", "json"), ("sessionkey", &key)],
    )
    .await;
    assert_eq!(a.text, r#"{"logoutresponse":{"description":"success"}}"#);
    let a = session_get(
        &t.url,
        &cookies,
        &[("command", "listDomains"), ("response", "json"), ("sessionkey", &key)],
    )
    .await;
    assert_eq!(a.status, 401);
    // Bad password: 531 with CloudStack's wording; login by GET: 405.
    let (status, _, body) = login(&t.url, "admin", "wrong", "/").await;
    assert_eq!(status, 531);
    assert!(body["loginresponse"]["errortext"]
        .as_str()
        .unwrap()
        .contains("Failed to authenticate user admin"));
    let r = reqwest::get(format!("{}?command=login&username=admin&password=password", t.url))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 405);
    t.stop().await;
}

#[tokio::test]
async fn parameter_errors_use_cloudstack_wording() {
    let t = TestServer::start().await;
    let e = t.admin.get("createAccount", &[("username", "u")]).await.err(431);
    assert!(
        e.starts_with("Unable to execute API command createaccount due to missing parameter"),
        "{e}"
    );
    let a = t
        .admin
        .get("deleteAccount", &[("id", "1d8d87d4-1425-459c-8d81-c6f57dca2bd2")])
        .await;
    let e = a.err(431);
    assert!(
        e.contains("Invalid parameter id value=1d8d87d4-1425-459c-8d81-c6f57dca2bd2 due to incorrect long value format, or entity does not exist"),
        "{e}"
    );
    assert_eq!(a.inner()["cserrorcode"], 9999);
    assert_eq!(a.inner()["uuidList"], Value::Array(vec![]));
    let e = t.admin.get("listDomains", &[("level", "abc")]).await.err(431);
    assert_eq!(
        e,
        "Unable to execute API command listdomains due to invalid value abc for parameter level"
    );
    // Control characters are refused.
    let e = t.admin.get("listDomains", &[("name", "a\u{1}b")]).await.err(431);
    assert!(e.contains("control characters"), "{e}");
    t.stop().await;
}

#[tokio::test]
async fn unknown_commands_get_the_error_envelope() {
    let t = TestServer::start().await;
    let a = t.admin.get("launchRockets", &[]).await;
    assert_eq!(a.status, 401);
    assert!(a.body.get("errorresponse").is_some(), "{}", a.text);
    let a = t.admin.raw(&[("response".into(), "json".into())]).await;
    assert_eq!(a.status, 432);
    assert!(a.body.get("errorresponse").is_some());
    t.stop().await;
}

#[tokio::test]
async fn list_apis_is_generated_from_the_registry() {
    let t = TestServer::start().await;
    let a = t.admin.get("listApis", &[]).await;
    assert!(!a.text.contains('\n'), "single-line JSON");
    let apis = a.items("api");
    let registry = ferrostack_api::registry();
    assert_eq!(apis.len(), registry.all().len(), "admin sees every registered command");
    assert_eq!(a.ok()["count"].as_u64().unwrap() as usize, apis.len());
    for api in &apis {
        let name = api["name"].as_str().unwrap();
        let cmd = registry
            .get(name)
            .unwrap_or_else(|| panic!("{name} advertised but not registered"));
        assert!(api["description"].is_string());
        assert_eq!(api["isasync"].as_bool(), Some(cmd.is_async));
        let params = api["params"].as_array().unwrap();
        let working = cmd
            .params
            .iter()
            .filter(|p| !matches!(p.support, ferrostack_api::registry::Support::Refused(_)))
            .count();
        assert_eq!(
            params.len(),
            working,
            "{name}: listApis declares the parameters that work"
        );
        for p in params {
            assert!(p["name"].is_string() && p["description"].is_string() && p["type"].is_string());
            assert!(p["length"].is_u64(), "{name}: length must be a number");
            assert!(p["required"].is_boolean());
        }
        assert!(api["response"].is_array());
        if let Some(r) = api.get("related") {
            assert!(r.is_string());
        }
    }
    // Every registered command dispatches to its handler: none answers "unknown command".
    for cmd in registry.all() {
        let a = t.admin.get(cmd.name, &[]).await;
        assert_ne!(
            a.status, 401,
            "{} is registered but not dispatched: {}",
            cmd.name, a.text
        );
        assert!(a.status < 500, "{} answered {}: {}", cmd.name, a.status, a.text);
    }
    let a = t.admin.get("listApis", &[("name", "deleteAccount")]).await;
    assert_eq!(a.items("api")[0]["isasync"], true);
    let caps = t.admin.get("listCapabilities", &[]).await;
    assert!(caps.ok()["capability"]["cloudstackversion"].is_string());
    t.stop().await;
}

/// Nothing silently ignored: a parameter no value of which works is refused and not declared;
/// one where only CloudStack's default works refuses the other values; both name it.
#[tokio::test]
async fn parameters_ferrostack_does_not_act_on_are_refused_by_name() {
    let t = TestServer::start().await;
    let c = &t.admin;
    let declared = |api: &Value, name: &str| api["params"].as_array().unwrap().iter().any(|p| p["name"] == name);
    let create_network = &c.get("listApis", &[("name", "createNetwork")]).await.items("api")[0];
    assert!(
        !declared(create_network, "ip6cidr"),
        "refused parameters are not declared"
    );
    assert!(declared(create_network, "displaynetwork"));
    let e = c
        .get(
            "createNetwork",
            &[
                ("name", "n"),
                ("displaytext", "n"),
                ("zoneid", "5f1d1c59-0000-4000-8000-000000000000"),
                ("networkofferingid", "5f1d1c59-0000-4000-8000-000000000001"),
                ("ip6cidr", "fd00::/64"),
            ],
        )
        .await
        .err(431);
    assert!(e.contains("ip6cidr") && e.contains("IPv6"), "{e}");
    let e = c.get("listZones", &[("showcapacities", "true")]).await.err(431);
    assert!(e.contains("showcapacities=true") && e.contains("listCapacity"), "{e}");
    c.get("listZones", &[("showcapacities", "false")]).await.ok();
    let e = c.get("listAccounts", &[("iscleanuprequired", "TRUE")]).await.err(431);
    assert!(e.contains("iscleanuprequired"), "{e}");
    let e = c
        .get(
            "createAccount",
            &[
                ("accounttype", "0"),
                ("email", "x@example.org"),
                ("firstname", "x"),
                ("lastname", "y"),
                ("password", "secret-pw-1"),
                ("username", "refused-details"),
                ("accountdetails[0].key", "x"),
                ("accountdetails[0].value", "y"),
            ],
        )
        .await
        .err(431);
    assert!(e.contains("accountdetails"), "{e}");
    t.stop().await;
}

#[tokio::test]
async fn xml_is_answered_when_json_is_not_asked_for() {
    let t = TestServer::start().await;
    let mut p = t.admin.signed("listDomains", &[]);
    p.retain(|(k, _)| k != "response" && k != "signature");
    let sig = sign(&p, &t.admin.secret);
    p.push(("signature".into(), sig));
    let r = reqwest::get(format!("{}?{}", t.url, {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &p {
            s.append_pair(k, v);
        }
        s.finish()
    }))
    .await
    .unwrap();
    assert_eq!(r.headers()["content-type"], "text/xml; charset=UTF-8");
    let text = r.text().await.unwrap();
    assert!(
        text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?><listdomainsresponse cloud-stack-version="),
        "{text}"
    );
    assert!(text.contains("<domain><id>"), "{text}");
    t.stop().await;
}

#[tokio::test]
async fn refuses_a_public_address_while_the_admin_password_is_the_default() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("f.db").display());
    let mut cfg = crate::common::config(dir.path(), &db, 0);
    cfg.listen = "0.0.0.0:0".parse().unwrap();
    let err = match ferrostack_server::start(&cfg).await {
        Ok(_) => panic!("must refuse a non-loopback address with the default admin password"),
        Err(e) => e,
    };
    assert!(err.contains("refusing") && err.contains("set-password"), "{err}");
    // Once the password is changed it listens.
    let database = ferrostack_db::Db::open(&db).await.unwrap();
    ferrostack_app::bootstrap::set_password(&database, "ROOT", "admin", "a-new-strong-one")
        .await
        .unwrap();
    database.close().await;
    let s = ferrostack_server::start(&cfg)
        .await
        .expect("starts after the password change");
    s.stop().await;
}
