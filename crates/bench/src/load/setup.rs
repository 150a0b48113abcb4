//! The load zone, through the API: the burst's bring-up (zone, hosts, physical network with
//! the virtual router, templates, a shared network), users allowed to expunge their VMs,
//! optionally an isolated network with a public range for its source NAT, and P plain users in
//! accounts of their own, each with API keys.

use std::time::Duration;

use serde_json::Value;

use super::worker::Target;
use crate::burst;
use crate::client::Client;

async fn ok(c: &Client, command: &str, params: &[(&str, &str)]) -> Result<Value, String> {
    let a = c.get(command, params).await?;
    Ok(a.ok(command)?.clone())
}

fn str_at(v: &Value, pointer: &str, what: &str) -> Result<String, String> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| format!("{what}: no {pointer} in {v}"))
}

pub async fn zone(c: &Client, hosts: usize, isolated: bool) -> Result<Target, String> {
    let site = burst::bring_up(c, "load", hosts).await?;
    // destroy in the mix is destroyVirtualMachine expunge=true, for plain users too.
    ok(
        c,
        "updateConfiguration",
        &[("name", "allow.user.expunge.recover.vm"), ("value", "true")],
    )
    .await?;
    let mut admin_networks = vec![site.network.clone()];
    if isolated {
        ok(
            c,
            "createVlanIpRange",
            &[
                ("zoneid", &site.zone),
                ("forvirtualnetwork", "true"),
                ("gateway", "198.51.100.1"),
                ("netmask", "255.255.255.0"),
                ("startip", "198.51.100.10"),
                ("endip", "198.51.100.250"),
            ],
        )
        .await?;
        let no = ok(
            c,
            "listNetworkOfferings",
            &[("name", "DefaultIsolatedNetworkOfferingWithSourceNatService")],
        )
        .await?;
        let offering = str_at(&no, "/networkoffering/0/id", "listNetworkOfferings")?;
        let n = ok(
            c,
            "createNetwork",
            &[
                ("name", "load-isolated"),
                ("displaytext", "load-isolated"),
                ("zoneid", &site.zone),
                ("networkofferingid", &offering),
            ],
        )
        .await?;
        admin_networks.push(str_at(&n, "/network/id", "createNetwork")?);
    }
    Ok(Target {
        zone: site.zone,
        offering: site.offering,
        template: site.template,
        admin_networks,
        user_networks: vec![site.network],
    })
}

/// `n` plain users (account type 0 in the ROOT domain), each in an account of its own, with
/// API keys; one client each.
pub async fn users(admin: &Client, n: usize, timeout: Duration) -> Result<Vec<Client>, String> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let d = ok(admin, "listDomains", &[("name", "ROOT")]).await?;
    let root = str_at(&d, "/domain/0/id", "listDomains name=ROOT")?;
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let name = format!("load-user-{i}");
        let a = admin
            .post(
                "createAccount",
                &[
                    ("username", &name),
                    ("password", "load-pw-1"),
                    ("firstname", "Load"),
                    ("lastname", "User"),
                    ("email", "load@example.org"),
                    ("accounttype", "0"),
                    ("domainid", &root),
                ],
            )
            .await?;
        let acct = a.ok("createAccount")?;
        let uid = str_at(acct, "/account/user/0/id", "createAccount")?;
        let k = ok(admin, "registerUserKeys", &[("id", &uid)]).await?;
        out.push(Client::with_keys(
            &admin.url,
            &str_at(&k, "/userkeys/apikey", "registerUserKeys")?,
            &str_at(&k, "/userkeys/secretkey", "registerUserKeys")?,
            timeout,
        )?);
    }
    Ok(out)
}
