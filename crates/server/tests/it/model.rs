//! No-5xx property test: random sequences of lifecycle commands across a core and an edge
//! zone. After every step: no answer is 5xx, every job finishes, and the invariants hold.
//!
//! CI runs a fixed seed for a bounded number of steps. To run it long:
//!
//! ```sh
//! FERROSTACK_MODEL_STEPS=2000 FERROSTACK_MODEL_SEED=7 cargo test -p ferrostack-server --test it model -- --nocapture
//! ```

use serde_json::Value;

use crate::common::{Answer, Client, TestServer};
use crate::setup::{cloud, configdrive_offering, offering_id, shared_network, template, Cloud};

/// A small deterministic PRNG (xorshift64*): the same seed gives the same run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> Option<&'a T> {
        if v.is_empty() {
            None
        } else {
            Some(&v[self.below(v.len())])
        }
    }
}

fn no_5xx(what: &str, a: &Answer) {
    assert!(a.status < 500, "{what} answered {}: {}", a.status, a.text);
    assert!(
        a.content_type.starts_with("application/json"),
        "{what}: {}",
        a.content_type
    );
}

/// Submit an async command; assert it is accepted or refused with a 4xx; wait for its job.
async fn step(c: &Client, command: &str, params: &[(&str, &str)]) -> Option<Value> {
    let a = c.get(command, params).await;
    no_5xx(command, &a);
    if a.status != 200 {
        return None;
    }
    let job = a.ok()["jobid"].as_str()?.to_string();
    let j = c.wait_job(&job).await;
    if j["jobstatus"] == 2 {
        let code = j["jobresult"]["errorcode"].as_u64().unwrap_or(0);
        assert!(
            code < 500 || code == 533 || code == 534 || code == 535,
            "{command} job failed with {code}: {j}"
        );
    }
    Some(j)
}

async fn invariants(t: &TestServer) {
    let app = &t.server.as_ref().unwrap().app;
    let pool = app.db.read();
    // Run jobs and due follow-ups to quiescence (a host that is down keeps some pending, and a
    // failed one waits out its back-off: neither is due, so neither is waited for).
    t.quiesce().await;
    let dup_ip: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT network_id, ip_num, COUNT(*) FROM guest_ip WHERE ip_num IS NOT NULL GROUP BY network_id, ip_num HAVING COUNT(*) > 1",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(dup_ip.is_empty(), "an IP is allocated twice: {dup_ip:?}");
    let dup_mac: Vec<(String, i64)> =
        sqlx::query_as("SELECT mac, COUNT(*) FROM nic WHERE removed IS NULL GROUP BY mac HAVING COUNT(*) > 1")
            .fetch_all(pool)
            .await
            .unwrap();
    assert!(dup_mac.is_empty(), "a MAC is used twice: {dup_mac:?}");
    let cap: Vec<(i64, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT h.id, h.cpu_allocated, h.memory_allocated, \
         CAST(COALESCE((SELECT SUM(v.cpu * v.cpu_speed) FROM vm_instance v WHERE v.capacity_host_id = h.id AND v.removed IS NULL), 0) AS BIGINT), \
         CAST(COALESCE((SELECT SUM(v.memory * 1048576) FROM vm_instance v WHERE v.capacity_host_id = h.id AND v.removed IS NULL), 0) AS BIGINT) \
         FROM host h WHERE h.removed IS NULL",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    for (h, cpu, mem, vcpu, vmem) in cap {
        assert_eq!(
            (cpu, mem),
            (vcpu, vmem),
            "host {h}: allocated capacity differs from the sum of its placed VMs"
        );
    }
    let orphan_nics: Vec<(i64,)> = sqlx::query_as(
        "SELECT x.id FROM nic x JOIN vm_instance v ON v.id = x.vm_id LEFT JOIN network n ON n.id = x.network_id \
         WHERE x.removed IS NULL AND v.removed IS NULL AND (n.id IS NULL OR n.removed IS NOT NULL)",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(orphan_nics.is_empty(), "live NICs on missing networks: {orphan_nics:?}");
    let orphan_routers: Vec<(String,)> = sqlx::query_as(
        "SELECT v.uuid FROM vm_instance v LEFT JOIN network n ON n.id = v.network_id \
         WHERE v.vm_type = 'DomainRouter' AND v.removed IS NULL AND (n.id IS NULL OR n.removed IS NOT NULL)",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(
        orphan_routers.is_empty(),
        "routers without their network: {orphan_routers:?}"
    );
    let stuck: Vec<(String, String)> = sqlx::query_as(
        "SELECT uuid, state FROM vm_instance WHERE removed IS NULL AND state IN ('Starting', 'Stopping', 'Expunging', 'Migrating')",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(stuck.is_empty(), "VMs stuck in a transitional state: {stuck:?}");
    let stuck_nets: Vec<(String,)> =
        sqlx::query_as("SELECT uuid FROM network WHERE removed IS NULL AND state = 'Implementing'")
            .fetch_all(pool)
            .await
            .unwrap();
    assert!(stuck_nets.is_empty(), "networks stuck Implementing: {stuck_nets:?}");
    let pending: Vec<(String,)> = sqlx::query_as("SELECT uuid FROM async_job WHERE status = 0")
        .fetch_all(pool)
        .await
        .unwrap();
    assert!(pending.is_empty(), "jobs still pending: {pending:?}");
}

struct World {
    clouds: Vec<Cloud>,
    templates: Vec<String>,
    networks: Vec<(usize, String)>,
    vms: Vec<String>,
}

async fn ids(c: &Client, command: &str, key: &str, params: &[(&str, &str)]) -> Vec<String> {
    let a = c.get(command, params).await;
    no_5xx(command, &a);
    a.items(key)
        .iter()
        .filter_map(|x| x["id"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn model_random_lifecycles_never_5xx_and_keep_invariants() {
    let steps: usize = std::env::var("FERROSTACK_MODEL_STEPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let seed: u64 = std::env::var("FERROSTACK_MODEL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20261126);
    let mut rng = Rng(seed | 1);
    let t = TestServer::start().await;
    let c = &t.admin;
    c.get("updateConfiguration", &[("name", "ping.interval"), ("value", "1")])
        .await
        .ok();
    c.get("updateConfiguration", &[("name", "expunge.delay"), ("value", "1")])
        .await
        .ok();
    let core = cloud(c, "core", false, 2).await;
    let edge = cloud(c, "edge", true, 1).await;
    let mut world = World {
        clouds: vec![],
        templates: vec![],
        networks: vec![],
        vms: vec![],
    };
    for (i, z) in [&core, &edge].into_iter().enumerate() {
        let sys = format!("sys-{i}");
        template(c, z, &sys, true, true, true).await;
        c.get(
            "updateConfiguration",
            &[
                ("name", "router.template.simulator"),
                ("value", &sys),
                ("zoneid", &z.zone.zone),
            ],
        )
        .await
        .ok();
        world
            .templates
            .push(template(c, z, &format!("guest-{i}"), true, false, true).await);
    }
    let shared = offering_id(c, "DefaultSharedNetworkOffering").await;
    let cd = configdrive_offering(c, "ModelConfigDrive").await;
    world
        .networks
        .push((0, shared_network(c, &core, "core-vr", &shared, "201", 21).await));
    world
        .networks
        .push((1, shared_network(c, &edge, "edge-vr", &shared, "301", 31).await));
    world
        .networks
        .push((1, shared_network(c, &edge, "edge-cd", &cd, "302", 32).await));
    world.clouds = vec![core, edge];
    let mut next_net = 40u8;
    for i in 0..steps {
        let action = rng.below(14);
        match action {
            0..=3 => {
                let Some((zi, net)) = rng.pick(&world.networks).cloned() else {
                    continue;
                };
                let z = &world.clouds[zi];
                let name = format!("vm{i}");
                let p = [
                    ("zoneid", z.zone.zone.as_str()),
                    ("serviceofferingid", z.offering.as_str()),
                    ("templateid", world.templates[zi].as_str()),
                    ("networkids", net.as_str()),
                    ("name", name.as_str()),
                    ("userdata", "I2Nsb3VkLWNvbmZpZwo="),
                ];
                let a = c.post("deployVirtualMachine", &p).await;
                no_5xx("deployVirtualMachine", &a);
                if a.status == 200 {
                    let j = c.wait_job(a.ok()["jobid"].as_str().unwrap()).await;
                    if j["jobstatus"] == 1 {
                        world.vms.push(a.ok()["id"].as_str().unwrap().to_string());
                    } else {
                        assert_ne!(j["jobresult"]["errorcode"], 530, "{j}");
                    }
                }
            }
            4 | 5 => {
                let Some(vm) = rng.pick(&world.vms).cloned() else {
                    continue;
                };
                let cmd = ["startVirtualMachine", "stopVirtualMachine", "rebootVirtualMachine"][rng.below(3)];
                step(c, cmd, &[("id", &vm)]).await;
            }
            6 => {
                let Some(vm) = rng.pick(&world.vms).cloned() else {
                    continue;
                };
                let expunge = if rng.below(2) == 0 { "true" } else { "false" };
                step(c, "destroyVirtualMachine", &[("id", &vm), ("expunge", expunge)]).await;
                if rng.below(2) == 0 {
                    let a = c.get("recoverVirtualMachine", &[("id", &vm)]).await;
                    no_5xx("recoverVirtualMachine", &a);
                }
            }
            7 => {
                let routers = ids(c, "listRouters", "router", &[]).await;
                let Some(r) = rng.pick(&routers).cloned() else { continue };
                let cmd = ["startRouter", "stopRouter", "rebootRouter", "destroyRouter"][rng.below(4)];
                step(c, cmd, &[("id", &r)]).await;
            }
            8 => {
                let Some((_, net)) = rng.pick(&world.networks).cloned() else {
                    continue;
                };
                let cleanup = if rng.below(2) == 0 { "true" } else { "false" };
                step(c, "restartNetwork", &[("id", &net), ("cleanup", cleanup)]).await;
            }
            9 => {
                if world.networks.len() < 2 {
                    continue;
                }
                let k = rng.below(world.networks.len());
                let (zi, net) = world.networks[k].clone();
                let forced = if rng.below(2) == 0 { "true" } else { "false" };
                if let Some(j) = step(c, "deleteNetwork", &[("id", &net), ("forced", forced)]).await {
                    if j["jobstatus"] == 1 {
                        world.networks.remove(k);
                        let offering = if zi == 1 && rng.below(2) == 0 { &cd } else { &shared };
                        let vlan = format!("{}", 400 + next_net as u32);
                        let z = &world.clouds[zi];
                        world.networks.push((
                            zi,
                            shared_network(c, z, &format!("net{next_net}"), offering, &vlan, next_net).await,
                        ));
                        next_net += 1;
                    }
                }
            }
            10 => {
                let zi = rng.below(2);
                let Some(h) = rng.pick(&world.clouds[zi].zone.hosts).cloned() else {
                    continue;
                };
                let state = if rng.below(2) == 0 { "Down" } else { "Up" };
                let a = c.get("updateSimulatorHost", &[("id", &h), ("state", state)]).await;
                no_5xx("updateSimulatorHost", &a);
            }
            11 => {
                let zi = rng.below(2);
                let Some(h) = rng.pick(&world.clouds[zi].zone.hosts).cloned() else {
                    continue;
                };
                step(c, "prepareHostForMaintenance", &[("id", &h)]).await;
                step(c, "cancelHostMaintenance", &[("id", &h)]).await;
            }
            12 => {
                let cmd = [
                    "StartCommand",
                    "StopCommand",
                    "VmDataCommand",
                    "HandleConfigDriveIsoCommand",
                ][rng.below(4)];
                let a = c
                    .get(
                        "configureSimulator",
                        &[("name", cmd), ("value", "result=fail"), ("count", "1")],
                    )
                    .await;
                no_5xx("configureSimulator", &a);
            }
            _ => {
                let Some(vm) = rng.pick(&world.vms).cloned() else {
                    continue;
                };
                step(c, "expungeVirtualMachine", &[("id", &vm)]).await;
            }
        }
        invariants(&t).await;
    }
    // Bring every host back and let everything settle, then check once more.
    for z in &world.clouds {
        for h in &z.zone.hosts {
            c.get("updateSimulatorHost", &[("id", h), ("state", "Up")]).await.ok();
        }
    }
    invariants(&t).await;
    t.stop().await;
}
