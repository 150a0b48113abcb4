//! Many clients at once: deploys racing for a network whose router is not running yet, lists
//! answered meanwhile, nothing ≥ 500, nothing allocated twice. Untimed: the assertions are about
//! outcomes, never about how long anything took.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::common::{Client, TestServer};
use crate::setup::{configdrive_offering, deploy, edge_with_templates, routers_of, shared_network};

/// Keep listing until told to stop; return every status seen (and any body ≥ 500).
async fn lister(c: Client, stop: Arc<AtomicBool>) -> Vec<(u16, String)> {
    let mut seen = Vec::new();
    let commands = [
        "listVirtualMachines",
        "listRouters",
        "listNetworks",
        "listZones",
        "listHosts",
    ];
    let mut i = 0;
    while !stop.load(Ordering::Relaxed) {
        let a = c.get(commands[i % commands.len()], &[("listall", "true")]).await;
        seen.push((a.status, if a.status >= 500 { a.text.clone() } else { String::new() }));
        i += 1;
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploys_racing_for_a_stopped_router_all_succeed_and_lists_keep_answering() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter("error")
        .with_test_writer()
        .try_init();
    let t = TestServer::start().await;
    let c = &t.admin;
    let (edge, guest) = edge_with_templates(c, "race", 4).await;
    let cd = configdrive_offering(c, "race-cd").await;
    let net = shared_network(c, &edge, "race-net", &cd, "130", 30).await;
    assert!(
        routers_of(c, &net).await.is_empty(),
        "no router before the first deploy"
    );

    let stop = Arc::new(AtomicBool::new(false));
    let listers: Vec<_> = (0..4).map(|_| tokio::spawn(lister(c.clone(), stop.clone()))).collect();
    // Every deploy needs the router; none finds it running.
    let n = 24;
    let submits = (0..n).map(|i| {
        let c = c.clone();
        let (edge, guest, net) = (&edge, &guest, &net);
        async move { deploy(&c, edge, guest, net, &format!("race-{i}"), &[]).await }
    });
    let submitted = futures::future::join_all(submits).await;
    let mut failures = Vec::new();
    for (_, job) in &submitted {
        let j = c.wait_job(job).await;
        if j["jobstatus"] != 1 {
            failures.push(j["jobresult"]["errortext"].to_string());
        }
    }
    stop.store(true, Ordering::Relaxed);
    let mut statuses = Vec::new();
    for l in listers {
        statuses.extend(l.await.unwrap());
    }
    assert!(
        failures.is_empty(),
        "{} of {n} deploys failed: {failures:?}",
        failures.len()
    );
    let bad: Vec<_> = statuses.iter().filter(|(s, _)| *s >= 500).collect();
    assert!(bad.is_empty(), "lists answered ≥ 500 while deploys ran: {bad:?}");
    assert!(!statuses.is_empty());

    // One router, running; every VM running with its own address.
    let routers = routers_of(c, &net).await;
    assert_eq!(routers.len(), 1, "{routers:?}");
    assert_eq!(routers[0]["state"], "Running");
    let vms = c
        .get(
            "listVirtualMachines",
            &[("networkid", &net), ("pagesize", "500"), ("page", "1")],
        )
        .await
        .items("virtualmachine");
    assert_eq!(vms.len(), n);
    let mut ips: Vec<_> = vms
        .iter()
        .map(|v| {
            assert_eq!(v["state"], "Running", "{v}");
            v["nic"][0]["ipaddress"].as_str().unwrap().to_string()
        })
        .collect();
    ips.sort();
    ips.dedup();
    assert_eq!(ips.len(), n, "every VM has its own address");
    t.stop().await;
}
