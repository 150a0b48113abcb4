//! SSH key pairs and the user data registry through the real API (GET and POST), with
//! tenant isolation and template links.

use base64::Engine as _;
use serde_json::Value;

use crate::common::{Answer, Client, TestServer};

const RSA_PUB: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDkWwqsUwcOwvEHaCweAjZ7e/dNsLCdUafxXc6XgLVJzEYNnJeVHAEAHJ8f2JLQcBVa\
Pg2wKNBAUKLgVYAazGemvVQhXe4AUwwRPn58v8WjtyItK/dqPIHujo9wGv3uE9oPI49LfiJWVjHeQm0S3pOWTeKAopnD6CsWzvcq29jYF56r9QF+qecBIOsws\
FBENoU1kLiR+/HapMzYL6J0mmbyH6FLkl+AqwT18m3m1Zt/Bgj2DmhhAqYe0nbJd7TrLSbrGYsXf0q2NBMNRAw9Ep10JiTcDFW/8sSWq1i/zyaGnDkyTufLIn\
cZa6xDg4b9w6alA2ogzK2NX7JJLdgmW/t7 test@ferrostack";
/// `ssh-keygen -l -E md5` of [`RSA_PUB`].
const RSA_MD5: &str = "53:9b:7c:cb:e7:5d:84:90:fb:6b:28:39:01:d8:94:80";
const ED_PUB: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMAFspUtNDuEmPu2LyVuuQ4kt3Hjkj0rWTvTTQsx4ETT ed@ferrostack";
const ED_MD5: &str = "e4:a8:6e:78:be:80:13:b5:6e:67:45:01:0a:be:59:80";
const ECDSA_PUB: &str =
    "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBGKAPFHfLJVQV1O9EzG1meCoWSK4\
+dNiREMEC9o4oViDCAe6TDImTPKuJBZF5xNbeM+7ovTbrkZgT6x4k1nRp6s= root@vm";
const ECDSA_MD5: &str = "45:56:f9:f7:ac:62:8d:fd:2a:6b:dc:2d:dd:5a:df:a0";

/// Success, and never a 5xx.
fn ok(a: &Answer) -> Value {
    assert!(a.status < 500, "server error: {}", a.text);
    a.ok().clone()
}

fn b64(s: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn names(items: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = items.iter().map(|i| i["name"].as_str().unwrap().to_string()).collect();
    v.sort();
    v
}

async fn root_domain(t: &TestServer) -> String {
    t.admin.get("listDomains", &[]).await.items("domain")[0]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

fn is_md5_fingerprint(f: &str) -> bool {
    let parts: Vec<&str> = f.split(':').collect();
    parts.len() == 16
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()))
}

#[tokio::test]
async fn ssh_key_pairs_lifecycle_and_isolation() {
    let t = TestServer::start().await;
    let a = &t.admin;
    let root = root_domain(&t).await;

    // createSSHKeyPair: the private key once, in CloudStack's PKCS#1 PEM.
    let created = a.get("createSSHKeyPair", &[("name", "gen")]).await;
    let k = ok(&created)["keypair"].clone();
    assert_eq!(k["name"], "gen");
    assert_eq!(k["account"], "admin");
    assert_eq!(k["domainid"], root.as_str());
    assert!(is_md5_fingerprint(k["fingerprint"].as_str().unwrap()), "{k}");
    let pem = k["privatekey"].as_str().unwrap();
    assert!(pem.starts_with("-----BEGIN RSA PRIVATE KEY-----\n"), "{pem}");
    assert!(pem.trim_end().ends_with("-----END RSA PRIVATE KEY-----"));
    // Never listed, never in events.
    let listed = a.get("listSSHKeyPairs", &[]).await;
    assert_eq!(listed.items("sshkeypair").len(), 1);
    assert_eq!(listed.ok()["count"], 1);
    assert!(!listed.text.contains("privatekey") && !listed.text.contains("PRIVATE KEY"));
    let events = a.get("listEvents", &[("type", "REGISTER.SSH.KEYPAIR")]).await;
    assert!(!events.items("event").is_empty(), "{}", events.text);
    assert!(!events.text.contains("PRIVATE KEY"));

    // registerSSHKeyPair: rsa, ed25519 and ecdsa keys, by GET and POST; the MD5 fingerprint.
    let r = ok(&a
        .post("registerSSHKeyPair", &[("name", "rsa"), ("publickey", RSA_PUB)])
        .await)["keypair"]
        .clone();
    assert_eq!(r["fingerprint"], RSA_MD5);
    assert!(r.get("privatekey").is_none());
    let e = ok(&a
        .get("registerSSHKeyPair", &[("name", "ed"), ("publickey", ED_PUB)])
        .await)["keypair"]
        .clone();
    assert_eq!(e["fingerprint"], ED_MD5);
    let ec = ok(&a
        .post("registerSSHKeyPair", &[("name", "ec"), ("publickey", ECDSA_PUB)])
        .await)["keypair"]
        .clone();
    assert_eq!(ec["fingerprint"], ECDSA_MD5);
    // Invalid keys, duplicate names and keys: 431 saying what is wrong.
    for bad in [
        "not a key",
        "ssh-rsa AAAA",
        "ssh-ed25519 AAAAB3NzaC1yc2EAAAADAQABAAABAQDkWwqs",
    ] {
        let m = a
            .post("registerSSHKeyPair", &[("name", "bad"), ("publickey", bad)])
            .await
            .err(431);
        assert!(m.contains("OpenSSH format"), "{m}");
    }
    let m = a
        .get("registerSSHKeyPair", &[("name", "ed"), ("publickey", RSA_PUB)])
        .await
        .err(431);
    assert!(m.contains("A key pair with name 'ed' already exists"), "{m}");
    let m = a.get("createSSHKeyPair", &[("name", "rsa")]).await.err(431);
    assert!(m.contains("already exists"), "{m}");
    let m = a
        .post("registerSSHKeyPair", &[("name", "again"), ("publickey", ED_PUB)])
        .await
        .err(431);
    assert!(m.contains("same public key") && m.contains("'ed'"), "{m}");

    // Filters.
    let by_fp = a.get("listSSHKeyPairs", &[("fingerprint", RSA_MD5)]).await;
    assert_eq!(names(&by_fp.items("sshkeypair")), vec!["rsa"]);
    let by_name = a.get("listSSHKeyPairs", &[("name", "ed")]).await;
    assert_eq!(by_name.items("sshkeypair")[0]["id"], e["id"]);
    let by_id = a.get("listSSHKeyPairs", &[("id", e["id"].as_str().unwrap())]).await;
    assert_eq!(names(&by_id.items("sshkeypair")), vec!["ed"]);
    let by_kw = a.get("listSSHKeyPairs", &[("keyword", "GE")]).await;
    assert_eq!(names(&by_kw.items("sshkeypair")), vec!["gen"]);
    let by_kw = a.get("listSSHKeyPairs", &[("keyword", &RSA_MD5[..8])]).await;
    assert_eq!(names(&by_kw.items("sshkeypair")), vec!["rsa"]);
    let paged = a.get("listSSHKeyPairs", &[("page", "1"), ("pagesize", "2")]).await;
    assert_eq!(
        (paged.items("sshkeypair").len(), paged.ok()["count"].as_i64()),
        (2, Some(4))
    );

    // A user account sees only its own pairs; the same name is fine in another account.
    let (bob_acc, bob) = t.account_client("bob", "0", &root).await;
    assert!(bob.get("listSSHKeyPairs", &[]).await.items("sshkeypair").is_empty());
    assert!(bob
        .get("listSSHKeyPairs", &[("listall", "true")])
        .await
        .items("sshkeypair")
        .is_empty());
    let bk = ok(&bob
        .post("registerSSHKeyPair", &[("name", "rsa"), ("publickey", RSA_PUB)])
        .await)["keypair"]
        .clone();
    assert_eq!(bk["account"], "bob");
    assert_eq!(
        names(&bob.get("listSSHKeyPairs", &[]).await.items("sshkeypair")),
        vec!["rsa"]
    );
    // Admin: own without listall, everything with it, one account with account+domainid.
    assert_eq!(a.get("listSSHKeyPairs", &[]).await.items("sshkeypair").len(), 4);
    assert_eq!(
        a.get("listSSHKeyPairs", &[("listall", "true")])
            .await
            .items("sshkeypair")
            .len(),
        5
    );
    let only_bob = a
        .get("listSSHKeyPairs", &[("account", "bob"), ("domainid", &root)])
        .await;
    assert_eq!(only_bob.items("sshkeypair")[0]["id"], bk["id"]);
    // Admins create for others; users can't act for another account.
    let for_bob = a
        .get(
            "createSSHKeyPair",
            &[("name", "by-admin"), ("account", "bob"), ("domainid", &root)],
        )
        .await;
    assert_eq!(ok(&for_bob)["keypair"]["account"], "bob");
    let m = bob
        .get(
            "deleteSSHKeyPair",
            &[("name", "gen"), ("account", "admin"), ("domainid", &root)],
        )
        .await
        .err(531);
    assert!(m.contains("permission denied"), "{m}");
    let m = a
        .get("createSSHKeyPair", &[("name", "x"), ("account", "bob")])
        .await
        .err(431);
    assert!(m.contains("specified together"), "{m}");
    let _ = bob_acc;

    // deleteSSHKeyPair by name, in the caller's account or a named one.
    let d = ok(&a.get("deleteSSHKeyPair", &[("name", "gen")]).await);
    assert_eq!(d["success"], true);
    let m = a.post("deleteSSHKeyPair", &[("name", "gen")]).await.err(431);
    assert!(
        m.contains("A key pair with name 'gen' does not exist for account admin"),
        "{m}"
    );
    let d = ok(&a
        .post(
            "deleteSSHKeyPair",
            &[("name", "by-admin"), ("account", "bob"), ("domainid", &root)],
        )
        .await);
    assert_eq!(d["success"], true);
    assert_eq!(
        ok(&bob.post("deleteSSHKeyPair", &[("name", "rsa")]).await)["success"],
        true
    );
    assert!(bob.get("listSSHKeyPairs", &[]).await.items("sshkeypair").is_empty());
    // Admin's pair of the same name is untouched.
    assert_eq!(
        a.get("listSSHKeyPairs", &[("name", "rsa")])
            .await
            .items("sshkeypair")
            .len(),
        1
    );
    t.stop().await;
}

#[tokio::test]
async fn user_data_register_list_delete_and_limits() {
    let t = TestServer::start().await;
    let a = &t.admin;
    let root = root_domain(&t).await;

    // A large but allowed blob through POST (default limit 32768 base64 characters).
    let script = format!("#!/bin/bash\n{}\n", "echo ferrostack-userdata-line\n".repeat(780));
    let big = b64(script.as_bytes());
    assert!(big.len() > 30_000 && big.len() <= 32_768, "{}", big.len());
    let u = ok(&a
        .post(
            "registerUserData",
            &[("name", "big"), ("userdata", &big), ("params", "v1, v2")],
        )
        .await)["userdata"]
        .clone();
    assert_eq!(u["name"], "big");
    assert_eq!(u["userdata"], big.as_str());
    assert_eq!(u["params"], "v1,v2");
    assert_eq!(u["account"], "admin");
    assert_eq!(u["domainid"], root.as_str());
    assert!(u["accountid"].is_string() && u["id"].is_string());
    // Unpadded base64 by GET is stored padded.
    let small = ok(&a
        .get(
            "registerUserData",
            &[("name", "small"), ("userdata", "I2Nsb3VkLWNvbmZpZwo")],
        )
        .await);
    assert_eq!(small["userdata"]["userdata"], "I2Nsb3VkLWNvbmZpZwo=");
    assert!(small["userdata"].get("params").is_none());

    // Bad input: 431 with CloudStack-like wording.
    let m = a
        .get("registerUserData", &[("name", "bad"), ("userdata", "not*base64")])
        .await
        .err(431);
    assert!(m.contains("userdata is not valid base64"), "{m}");
    let m = a
        .get(
            "registerUserData",
            &[("name", "big"), ("userdata", &b64(b"#!/bin/sh\nother"))],
        )
        .await
        .err(431);
    assert!(m.contains("A userdata with name big already exists"), "{m}");
    let m = a
        .post("registerUserData", &[("name", "copy"), ("userdata", &big)])
        .await
        .err(431);
    assert!(m.contains("with same content already exists"), "{m}");
    let m = a
        .get(
            "registerUserData",
            &[
                ("name", "p"),
                ("userdata", &b64(b"#!/bin/sh\np")),
                ("params", "public-ipv4"),
            ],
        )
        .await
        .err(431);
    assert!(m.contains("public-ipv4"), "{m}");
    let too_big = "A".repeat(1_048_577);
    let m = a
        .post("registerUserData", &[("name", "huge"), ("userdata", &too_big)])
        .await
        .err(431);
    assert!(m.contains("too long"), "{m}");

    // The configurable limit counts the base64 text.
    let up = a
        .get(
            "updateConfiguration",
            &[("name", "vm.userdata.max.length"), ("value", "64")],
        )
        .await;
    ok(&up);
    let over = b64(&[b'x'; 60]); // 80 characters
    let m = a
        .post("registerUserData", &[("name", "over"), ("userdata", &over)])
        .await
        .err(431);
    assert!(m.contains("User data has exceeded configurable max length : 64"), "{m}");
    let under = b64(&[b'y'; 45]); // 60 characters
    ok(&a
        .post("registerUserData", &[("name", "under"), ("userdata", &under)])
        .await);

    // Scoping: users see their own; admins with listall see all.
    let (_, bob) = t.account_client("bob", "0", &root).await;
    let bu = ok(&bob
        .post(
            "registerUserData",
            &[("name", "bobs"), ("userdata", &b64(b"#!/bin/sh\nbob"))],
        )
        .await)["userdata"]
        .clone();
    assert_eq!(bu["account"], "bob");
    assert_eq!(
        names(&bob.get("listUserData", &[]).await.items("userdata")),
        vec!["bobs"]
    );
    assert_eq!(
        names(&bob.get("listUserData", &[("listall", "true")]).await.items("userdata")),
        vec!["bobs"]
    );
    assert_eq!(
        names(&a.get("listUserData", &[]).await.items("userdata")),
        vec!["big", "small", "under"]
    );
    let all = a.get("listUserData", &[("listall", "true")]).await;
    assert_eq!((all.ok()["count"].as_i64(), all.items("userdata").len()), (Some(4), 4));
    let one = a
        .get(
            "listUserData",
            &[("id", bu["id"].as_str().unwrap()), ("listall", "true")],
        )
        .await;
    assert_eq!(names(&one.items("userdata")), vec!["bobs"]);
    assert_eq!(
        names(&a.get("listUserData", &[("name", "small")]).await.items("userdata")),
        vec!["small"]
    );
    assert_eq!(
        names(&a.get("listUserData", &[("keyword", "ALL")]).await.items("userdata")),
        vec!["small"]
    );
    let bobs_by_admin = a.get("listUserData", &[("account", "bob"), ("domainid", &root)]).await;
    assert_eq!(names(&bobs_by_admin.items("userdata")), vec!["bobs"]);
    // A user can't see or delete another account's user data.
    let m = bob
        .get("deleteUserData", &[("id", u["id"].as_str().unwrap())])
        .await
        .err(531);
    assert!(m.contains("permission"), "{m}");

    // deleteUserData.
    assert_eq!(
        ok(&bob.post("deleteUserData", &[("id", bu["id"].as_str().unwrap())]).await)["success"],
        true
    );
    assert!(bob.get("listUserData", &[]).await.items("userdata").is_empty());
    let m = bob
        .get("deleteUserData", &[("id", bu["id"].as_str().unwrap())])
        .await
        .err(431);
    assert!(m.contains("does not exist"), "{m}");
    // The name is free again.
    ok(&bob
        .post(
            "registerUserData",
            &[("name", "bobs"), ("userdata", &b64(b"#!/bin/sh\nbob"))],
        )
        .await);
    // Events record the registration, never the content.
    let ev = a
        .get("listEvents", &[("type", "REGISTER.USER.DATA"), ("listall", "true")])
        .await;
    assert!(ev.items("event").len() >= 4, "{}", ev.text);
    assert!(!ev.text.contains(&big[..40]));
    t.stop().await;
}

async fn featured_template(c: &Client) -> Value {
    let zone = c
        .get(
            "createZone",
            &[
                ("name", "z1"),
                ("dns1", "8.8.8.8"),
                ("internaldns1", "10.0.0.2"),
                ("networktype", "Advanced"),
            ],
        )
        .await;
    ok(&zone);
    // `featured` lists only templates ready in some zone (a download away); the seeded
    // featured template is in every zone from its creation, so find it among all.
    let a = c.get("listTemplates", &[("templatefilter", "all")]).await;
    a.items("template")
        .into_iter()
        .find(|t| t["isfeatured"] == true)
        .unwrap_or_else(|| panic!("no featured template: {}", a.text))
}

#[tokio::test]
async fn user_data_linked_to_templates() {
    let t = TestServer::start().await;
    let a = &t.admin;
    let root = root_domain(&t).await;
    let tpl = featured_template(a).await;
    let tid = tpl["id"].as_str().unwrap().to_string();
    let ud = ok(&a
        .post(
            "registerUserData",
            &[
                ("name", "init"),
                ("userdata", &b64(b"#cloud-config\nx: 1\n")),
                ("params", "role"),
            ],
        )
        .await)["userdata"]
        .clone();
    let uid = ud["id"].as_str().unwrap().to_string();

    // Link with each policy; the answer is the template with its link.
    let linked = ok(&a
        .get("linkUserDataToTemplate", &[("templateid", &tid), ("userdataid", &uid)])
        .await)["template"]
        .clone();
    assert_eq!(linked["id"], tid.as_str());
    assert_eq!(linked["name"], tpl["name"]);
    assert_eq!(linked["userdataid"], uid.as_str());
    assert_eq!(linked["userdataname"], "init");
    assert_eq!(linked["userdatapolicy"], "ALLOWOVERRIDE");
    assert_eq!(linked["userdataparams"], "role");
    for policy in ["DENYOVERRIDE", "append", "AllowOverride"] {
        let l = a
            .post(
                "linkUserDataToTemplate",
                &[("templateid", &tid), ("userdataid", &uid), ("userdatapolicy", policy)],
            )
            .await;
        assert_eq!(
            ok(&l)["template"]["userdatapolicy"],
            policy.to_ascii_uppercase().as_str()
        );
    }
    let m = a
        .get(
            "linkUserDataToTemplate",
            &[
                ("templateid", &tid),
                ("userdataid", &uid),
                ("userdatapolicy", "SOMETIMES"),
            ],
        )
        .await
        .err(431);
    assert!(m.contains("ALLOWOVERRIDE, DENYOVERRIDE or APPEND"), "{m}");
    let m = a.get("linkUserDataToTemplate", &[("userdataid", &uid)]).await.err(431);
    assert!(m.contains("templateid or isoid"), "{m}");
    a.get(
        "linkUserDataToTemplate",
        &[
            ("templateid", "0b4c3cda-0000-4000-8000-000000000000"),
            ("userdataid", &uid),
        ],
    )
    .await
    .err(431);

    // A user may not relink a system-owned template, nor use others' user data.
    let (_, bob) = t.account_client("bob", "0", &root).await;
    let m = bob
        .get("linkUserDataToTemplate", &[("templateid", &tid), ("userdataid", &uid)])
        .await
        .err(531);
    assert!(m.contains("permission"), "{m}");

    // Deleting linked user data is refused (431) until it is unlinked.
    let m = a.get("deleteUserData", &[("id", &uid)]).await.err(431);
    assert!(m.contains("linked to active template"), "{m}");
    let un = ok(&a.get("linkUserDataToTemplate", &[("templateid", &tid)]).await)["template"].clone();
    assert!(un.get("userdataid").is_none(), "{un}");
    assert_eq!(un["id"], tid.as_str());
    assert_eq!(ok(&a.get("deleteUserData", &[("id", &uid)]).await)["success"], true);
    assert!(a.get("listUserData", &[]).await.items("userdata").is_empty());
    // The deleted object can't be linked any more.
    a.get("linkUserDataToTemplate", &[("templateid", &tid), ("userdataid", &uid)])
        .await
        .err(431);
    t.stop().await;
}
