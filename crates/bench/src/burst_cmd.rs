//! `ferrostack-bench burst`: the deploy-burst target on its own — D deploys submitted at once
//! on H simulator hosts, followed to job completion (`burst.rs`), on a fresh server.

use serde::Serialize;

use crate::burst::{self, Burst};
use crate::client;
use crate::env::{self, EnvArgs};
use crate::server::{Launch, Mem};

#[derive(clap::Args, Debug)]
pub struct BurstArgs {
    /// Deploys submitted at once (after one first deploy that also starts the network's router)
    #[arg(long, default_value_t = 200)]
    pub deploys: usize,
    /// Simulator hosts added through addHost
    #[arg(long, default_value_t = 4)]
    pub hosts: usize,
    /// Concurrent submitters (1 = one submit after the other)
    #[arg(long, default_value_t = 8)]
    pub submitters: usize,
    #[command(flatten)]
    pub env: EnvArgs,
}

#[derive(Debug, Clone, Serialize)]
pub struct BurstReport {
    pub date: String,
    pub machine: String,
    pub database: String,
    pub server: String,
    pub first_start_s: f64,
    pub burst: Burst,
    pub memory: Vec<Mem>,
    pub warnings: Vec<String>,
}

pub async fn run(a: &BurstArgs) -> Result<BurstReport, String> {
    let e = env::Env::prepare(&a.env).await?;
    let r = env::interruptible(burst(a, &e.launch)).await;
    e.finish().await;
    r
}

async fn burst(a: &BurstArgs, launch: &Launch) -> Result<BurstReport, String> {
    eprintln!(
        "starting the server on {} ...",
        ferrostack_db::redact_url(&launch.database)
    );
    let server = launch.start().await?;
    let mut memory = vec![server.mem("started (empty)")];
    let c = client::admin_client(&server.url).await?;
    eprintln!(
        "deploy burst: {} deploys from {} submitters on {} simulator hosts ...",
        a.deploys, a.submitters, a.hosts
    );
    let b = burst::run(&c, a.hosts, a.deploys, a.submitters).await?;
    memory.push(server.mem("after deploy burst"));
    let mut warnings = Vec::new();
    if !server.is_child() {
        warnings.push("in-process server: RSS includes the benchmark's own memory".into());
    }
    let first_start_s = server.ready_after.as_secs_f64();
    if let Err(e) = server.stop().await {
        warnings.push(e);
    }
    Ok(BurstReport {
        date: env::now(),
        machine: env::machine(),
        database: env::engine(&launch.database),
        server: env::server_desc(launch),
        first_start_s,
        burst: b,
        memory,
        warnings,
    })
}

pub fn print(r: &BurstReport) {
    let b = &r.burst;
    println!();
    println!(
        "ferrostack-bench burst  deploys={}  hosts={}  submitters={}  db={}  server={}",
        b.deploys, b.hosts, b.submitters, r.database, r.server
    );
    println!("{}  {}", r.date, r.machine);
    println!(
        "first deploy (also starts the virtual router): {:.2} s",
        b.first_deploy_s
    );
    println!(
        "{} deploys: {} ok, {} failed; submitted in {:.2} s, last job ended after {:.2} s",
        b.deploys, b.succeeded, b.failed, b.submit_s, b.total_s
    );
    println!(
        "  → {:.1} VMs/s to job completion ({:.0} VMs/minute)",
        b.vms_per_s, b.vms_per_minute
    );
    println!(
        "  submit request  p50 {:>8.1} ms  p95 {:>8.1} ms  p99 {:>8.1} ms  max {:>8.1} ms",
        b.submit_latency.median_ms, b.submit_latency.p95_ms, b.submit_latency.p99_ms, b.submit_latency.max_ms
    );
    println!(
        "  submit → end    p50 {:>8.1} ms  p95 {:>8.1} ms  p99 {:>8.1} ms  max {:>8.1} ms",
        b.latency.median_ms, b.latency.p95_ms, b.latency.p99_ms, b.latency.max_ms
    );
    if let Some(e) = &b.first_error {
        println!("  first failure: {e}");
    }
    println!();
    crate::report::print_memory(&r.memory);
    for w in &r.warnings {
        println!("WARNING: {w}");
    }
}
