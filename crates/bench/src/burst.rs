//! A `deployVirtualMachine` burst on real simulator hosts: a zone of its own (so the seeded,
//! unconnected hosts are never placement candidates) brought up through the API the way the
//! integration tests do (`crates/server/tests/it/setup.rs`), a shared network with a virtual
//! router, then D deploys submitted at once and their jobs followed to the end. The `load`
//! mode brings its zone up the same way (`bring_up`).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;

use crate::client::Client;
use crate::measure::Stats;

#[derive(Debug, Clone, Serialize)]
pub struct Burst {
    pub hosts: usize,
    pub deploys: usize,
    /// Concurrent submitters (1: one after the other).
    pub submitters: usize,
    pub succeeded: usize,
    pub failed: usize,
    /// The first deploy on the network (it also starts the virtual router), seconds.
    pub first_deploy_s: f64,
    /// Submitting all deploys (each returns a job id at once), seconds.
    pub submit_s: f64,
    /// From the first submit to the last job's end, seconds.
    pub total_s: f64,
    pub vms_per_minute: f64,
    /// Successful deploys per second of `total_s`.
    pub vms_per_s: f64,
    /// The HTTP request of each submit (the answer carries the job id).
    pub submit_latency: Stats,
    /// Submit → job end, per deploy (sampled every 200 ms).
    pub latency: Stats,
    pub first_error: Option<String>,
}

fn id_at(v: &Value, pointer: &str, what: &str) -> Result<String, String> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| format!("{what}: no {pointer} in {v}"))
}

async fn ok(c: &Client, command: &str, params: &[(&str, &str)]) -> Result<Value, String> {
    let a = c.get(command, params).await?;
    Ok(a.ok(command)?.clone())
}

/// What `bring_up` created, by id.
#[derive(Debug, Clone)]
pub struct Site {
    pub zone: String,
    /// "Small Instance".
    pub offering: String,
    /// The guest template (the system one is the zone's router template).
    pub template: String,
    /// The shared network with a virtual router (a /20: about 4000 addresses).
    pub network: String,
}

/// Zone `name` with pod, cluster, `hosts` simulator hosts, a physical network (Guest and
/// Public traffic) with VirtualRouter enabled, ready templates and a shared network.
pub async fn bring_up(c: &Client, name: &str, hosts: usize) -> Result<Site, String> {
    let z = ok(
        c,
        "createZone",
        &[
            ("name", name),
            ("dns1", "8.8.8.8"),
            ("internaldns1", "10.0.0.2"),
            ("networktype", "Advanced"),
        ],
    )
    .await?;
    let zone = id_at(&z, "/zone/id", "createZone")?;
    let p = ok(
        c,
        "createPod",
        &[
            ("name", "pod1"),
            ("zoneid", &zone),
            ("gateway", "192.168.56.1"),
            ("netmask", "255.255.255.0"),
            ("startip", "192.168.56.100"),
            ("endip", "192.168.56.200"),
        ],
    )
    .await?;
    let pod = id_at(&p, "/pod/id", "createPod")?;
    let cl = ok(
        c,
        "addCluster",
        &[
            ("clustername", "c1"),
            ("clustertype", "CloudManaged"),
            ("hypervisor", "Simulator"),
            ("podid", &pod),
            ("zoneid", &zone),
        ],
    )
    .await?;
    let cluster = id_at(&cl, "/cluster/0/id", "addCluster")?;
    for i in 0..hosts {
        let url = format!("http://sim/{name}/c1/h{i}");
        ok(
            c,
            "addHost",
            &[
                ("hypervisor", "Simulator"),
                ("podid", &pod),
                ("zoneid", &zone),
                ("clusterid", &cluster),
                ("url", &url),
                ("username", "root"),
                ("password", "password"),
            ],
        )
        .await?;
    }
    let pn = ok(
        c,
        "createPhysicalNetwork",
        &[
            ("zoneid", &zone),
            ("name", &format!("{name}-phys")),
            ("vlan", "100-999"),
        ],
    )
    .await?;
    let physnet = id_at(&pn, "/id", "createPhysicalNetwork")?;
    if let Some(j) = pn.get("jobid").and_then(Value::as_str) {
        c.wait_job(j, Duration::from_secs(60)).await?;
    }
    for t in ["Guest", "Public"] {
        c.run_async("addTrafficType", &[("physicalnetworkid", &physnet), ("traffictype", t)])
            .await?;
    }
    c.run_async("updatePhysicalNetwork", &[("id", &physnet), ("state", "Enabled")])
        .await?;
    let nsps = ok(c, "listNetworkServiceProviders", &[("physicalnetworkid", &physnet)]).await?;
    let nsps = nsps
        .get("networkserviceprovider")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let vr = nsps
        .iter()
        .find(|p| p["name"] == "VirtualRouter")
        .ok_or("no VirtualRouter provider on the physical network")?;
    let vr_id = id_at(vr, "/id", "VirtualRouter provider")?;
    let el = ok(c, "listVirtualRouterElements", &[("nspid", &vr_id)]).await?;
    let el_id = id_at(&el, "/virtualrouterelement/0/id", "listVirtualRouterElements")?;
    c.run_async("configureVirtualRouterElement", &[("id", &el_id), ("enabled", "true")])
        .await?;
    c.run_async("updateNetworkServiceProvider", &[("id", &vr_id), ("state", "Enabled")])
        .await?;
    ok(c, "updateZone", &[("id", &zone), ("allocationstate", "Enabled")]).await?;
    let so = ok(c, "listServiceOfferings", &[("name", "Small Instance")]).await?;
    let offering = id_at(&so, "/serviceoffering/0/id", "listServiceOfferings")?;
    let os = ok(c, "listOsTypes", &[]).await?;
    let ostype = id_at(&os, "/ostype/0/id", "listOsTypes")?;
    let mut templates = Vec::new();
    let (sys_name, guest_name) = (format!("{name}-sys"), format!("{name}-guest"));
    for (tname, system) in [(sys_name.as_str(), true), (guest_name.as_str(), false)] {
        let mut p = vec![
            ("name", tname),
            ("displaytext", tname),
            ("url", "http://images.example.org/t.qcow2"),
            ("format", "QCOW2"),
            ("hypervisor", "Simulator"),
            ("ostypeid", ostype.as_str()),
            ("zoneid", zone.as_str()),
            ("ispublic", "true"),
            ("isfeatured", "true"),
            ("directdownload", "true"),
        ];
        if system {
            p.push(("isrouting", "true"));
        }
        let t = ok(c, "registerTemplate", &p).await?;
        templates.push(id_at(&t, "/template/0/id", "registerTemplate")?);
    }
    for id in &templates {
        let mut ready = false;
        for _ in 0..300 {
            let t = ok(
                c,
                "listTemplates",
                &[("templatefilter", "all"), ("id", id), ("zoneid", &zone)],
            )
            .await?;
            if t.pointer("/template/0/isready") == Some(&Value::Bool(true)) {
                ready = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if !ready {
            return Err(format!("template {id} did not become ready"));
        }
    }
    ok(
        c,
        "updateConfiguration",
        &[
            ("name", "router.template.simulator"),
            ("value", &sys_name),
            ("zoneid", &zone),
        ],
    )
    .await?;
    let no = ok(c, "listNetworkOfferings", &[("name", "DefaultSharedNetworkOffering")]).await?;
    let net_offering = id_at(&no, "/networkoffering/0/id", "listNetworkOfferings")?;
    let net_name = format!("{name}-shared");
    let n = ok(
        c,
        "createNetwork",
        &[
            ("name", &net_name),
            ("displaytext", &net_name),
            ("zoneid", &zone),
            ("networkofferingid", &net_offering),
            ("vlan", "2000"),
            ("gateway", "10.250.0.1"),
            ("netmask", "255.255.240.0"),
            ("startip", "10.250.0.10"),
            ("endip", "10.250.15.250"),
        ],
    )
    .await?;
    let network = id_at(&n, "/network/id", "createNetwork")?;
    Ok(Site {
        zone,
        offering,
        template: templates[1].clone(),
        network,
    })
}

/// Submit one deploy on the site's shared network; returns the job id and the request time.
async fn submit(c: &Client, site: &Site, name: &str) -> Result<(String, Duration), String> {
    let (d, a) = c
        .timed_post(
            "deployVirtualMachine",
            &[
                ("zoneid", &site.zone),
                ("serviceofferingid", &site.offering),
                ("templateid", &site.template),
                ("networkids", &site.network),
                ("name", name),
            ],
        )
        .await?;
    Ok((
        id_at(a.ok("deployVirtualMachine")?, "/jobid", "deployVirtualMachine")?,
        d,
    ))
}

/// One submitted deploy: its job (or why the submit failed), when and how long the submit took.
type Submitted = (Result<String, String>, Instant, Duration);

/// Submit deploys 1..=`deploys` from `submitters` concurrent tasks.
async fn submit_all(c: &Client, site: &Site, deploys: usize, submitters: usize) -> Vec<Submitted> {
    let next = Arc::new(AtomicUsize::new(1));
    let mut tasks = Vec::new();
    for _ in 0..submitters.max(1) {
        let (c, site, next) = (c.clone(), site.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i > deploys {
                    return out;
                }
                let at = Instant::now();
                let r = submit(&c, &site, &format!("bench-burst-{i}")).await;
                let took = at.elapsed();
                out.push((r.map(|(job, _)| job), at, took));
            }
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        match t.await {
            Ok(v) => all.extend(v),
            Err(e) => all.push((Err(format!("submit task: {e}")), Instant::now(), Duration::ZERO)),
        }
    }
    all.sort_by_key(|s| s.1);
    all
}

/// Bring up a zone of `hosts` simulator hosts, then the burst.
pub async fn run(c: &Client, hosts: usize, deploys: usize, submitters: usize) -> Result<Burst, String> {
    let site = bring_up(c, "bench-burst", hosts).await?;
    burst_on(c, &site, hosts, deploys, submitters).await
}

/// One deploy (which also starts the network's router), then `deploys` submitted at once and
/// their jobs followed to the end.
pub async fn burst_on(
    c: &Client,
    site: &Site,
    hosts: usize,
    deploys: usize,
    submitters: usize,
) -> Result<Burst, String> {
    let t = Instant::now();
    let (j, _) = submit(c, site, "bench-burst-0").await?;
    let first = c.wait_job(&j, Duration::from_secs(300)).await?;
    if first.get("jobstatus").and_then(Value::as_i64) != Some(1) {
        return Err(format!("the first deploy failed: {first}"));
    }
    let first_deploy_s = t.elapsed().as_secs_f64();

    let t0 = Instant::now();
    let submitted = submit_all(c, site, deploys, submitters).await;
    let submit_s = t0.elapsed().as_secs_f64();
    let (mut succeeded, mut failed, mut first_error) = (0, 0, None);
    let mut latencies = Vec::new();
    let submit_latency = Stats::of(&submitted.iter().map(|s| s.2).collect::<Vec<_>>());
    let mut pending: VecDeque<(String, Instant)> = VecDeque::new();
    for (r, at, _) in submitted {
        match r {
            Ok(job) => pending.push_back((job, at)),
            Err(e) => {
                failed += 1;
                first_error.get_or_insert(e);
            }
        }
    }
    let deadline = Instant::now() + Duration::from_secs(1800);
    let mut last_end = t0.elapsed();
    while !pending.is_empty() {
        if Instant::now() > deadline {
            return Err(format!("{} deploys still running after 30 minutes", pending.len()));
        }
        // Jobs finish roughly in submission order: look at the oldest few.
        let mut still = VecDeque::new();
        for (k, (job, at)) in pending.drain(..).enumerate() {
            if k >= 16 {
                still.push_back((job, at));
                continue;
            }
            let a = c.get("queryAsyncJobResult", &[("jobid", &job)]).await?;
            let v = a.ok("queryAsyncJobResult")?;
            match v.get("jobstatus").and_then(Value::as_i64) {
                Some(0) => still.push_back((job, at)),
                Some(1) => {
                    succeeded += 1;
                    latencies.push(at.elapsed());
                    last_end = t0.elapsed();
                }
                Some(_) | None => {
                    failed += 1;
                    latencies.push(at.elapsed());
                    last_end = t0.elapsed();
                    first_error.get_or_insert_with(|| v.get("jobresult").cloned().unwrap_or_default().to_string());
                }
            }
        }
        pending = still;
        if !pending.is_empty() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let total_s = last_end.as_secs_f64();
    let rate = |per: f64| {
        if total_s > 0.0 {
            succeeded as f64 * per / total_s
        } else {
            0.0
        }
    };
    Ok(Burst {
        hosts,
        deploys,
        submitters: submitters.max(1),
        succeeded,
        failed,
        first_deploy_s,
        submit_s,
        total_s,
        vms_per_minute: rate(60.0),
        vms_per_s: rate(1.0),
        submit_latency,
        latency: Stats::of(&latencies),
        first_error,
    })
}
