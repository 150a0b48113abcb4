//! The printed table and the JSON report.

use serde::Serialize;

use crate::burst::Burst;
use crate::explain::Plan;
use crate::measure::Row;
use crate::seed::Seeded;
use crate::server::Mem;

/// One round of list measurements (the fresh server, or the restarted one).
#[derive(Debug, Clone, Serialize)]
pub struct ListRun {
    pub title: String,
    pub rows: Vec<Row>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Restart {
    /// Spawn → listening (host agents reconnect before or after, depending on the server).
    pub ready_s: f64,
    /// Hosts listed as Up right after the restart.
    pub hosts_up: i64,
    /// Listening → the first seeded VM changed state (hosts reconnected, first power reports).
    pub first_change_s: Option<f64>,
    /// Listening → no Running VM left in the seeded zone (or no change for a minute).
    pub settle_s: f64,
    pub running_vms_before: i64,
    pub running_vms_after: i64,
    pub running_routers_after: i64,
    pub settled: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub date: String,
    pub machine: String,
    pub database: String,
    pub server: String,
    pub scale: usize,
    pub repeat: usize,
    pub first_start_s: f64,
    pub seeded: Seeded,
    pub analyze_s: Option<f64>,
    pub memory: Vec<Mem>,
    pub lists: Vec<ListRun>,
    pub burst: Option<Burst>,
    pub burst_error: Option<String>,
    pub restart: Option<Restart>,
    pub plans: Vec<Plan>,
    pub warnings: Vec<String>,
}

/// The server-memory table every mode prints: one row per sample.
pub fn print_memory(memory: &[Mem]) {
    println!("{:<44} {:>9} {:>9} {:>9}", "server memory", "RSS MB", "HWM MB", "CPU s");
    for m in memory {
        println!(
            "  {:<42} {:>9.1} {:>9.1} {:>9.1}",
            m.label,
            mb(m.rss_kb),
            mb(m.hwm_kb),
            m.cpu_s
        );
    }
}

fn mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

pub fn print(r: &Report) {
    println!();
    println!(
        "ferrostack-bench  scale={}  repeat={}  db={}  server={}",
        r.scale, r.repeat, r.database, r.server
    );
    println!("{}  {}", r.date, r.machine);
    println!("first start (empty database) → listening: {:.2} s", r.first_start_s);
    let rows: usize = r.seeded.steps.iter().map(|s| s.1).sum();
    println!(
        "seeding: {} rows in {:.2} s ({} hosts, {} VMs ({} Running), {} networks, {} routers, {} accounts, {} events)",
        rows,
        r.seeded.total_s,
        r.seeded.plan.hosts,
        r.seeded.plan.vms,
        r.seeded.running_vms,
        r.seeded.plan.networks,
        r.seeded.plan.routers,
        r.seeded.plan.accounts,
        r.seeded.plan.events
    );
    for (name, n, s) in &r.seeded.steps {
        println!("  {name:<34} {n:>8} rows {s:>7.2} s");
    }
    if let Some(a) = r.analyze_s {
        println!("  ANALYZE                            {a:>20.2} s");
    }
    println!();
    print_memory(&r.memory);
    for run in &r.lists {
        println!();
        println!(
            "{:<44} {:>4} {:>7} {:>5} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7}",
            run.title, "page", "count", "items", "KB", "min", "median", "p95", "max", "db med"
        );
        for row in &run.rows {
            let db = row
                .db_median_ms
                .map(|d| format!("{d:.1}"))
                .unwrap_or_else(|| "-".into());
            println!(
                "  {:<42} {:>4} {:>7} {:>5} {:>7.0} {:>7.1} {:>7.1} {:>7.1} {:>7.1} {:>7}{}",
                row.label,
                row.page,
                row.count,
                row.items,
                row.bytes as f64 / 1024.0,
                row.http.min_ms,
                row.http.median_ms,
                row.http.p95_ms,
                row.http.max_ms,
                db,
                if row.warnings.is_empty() { "" } else { "  !" }
            );
        }
    }
    if let Some(b) = &r.burst {
        println!();
        println!(
            "deploy burst: {} deploys on {} simulator hosts: {} ok, {} failed in {:.1} s → {:.0} VMs/minute \
             (submit {:.2} s; per deploy median {:.0} ms, p95 {:.0} ms, max {:.0} ms; first deploy incl. router {:.2} s)",
            b.deploys,
            b.hosts,
            b.succeeded,
            b.failed,
            b.total_s,
            b.vms_per_minute,
            b.submit_s,
            b.latency.median_ms,
            b.latency.p95_ms,
            b.latency.max_ms,
            b.first_deploy_s
        );
        if let Some(e) = &b.first_error {
            println!("  first failure: {e}");
        }
    }
    if let Some(e) = &r.burst_error {
        println!();
        println!("deploy burst not run: {e}");
    }
    if let Some(x) = &r.restart {
        println!();
        println!(
            "restart ({} hosts Up): listening after {:.1} s; first power-sync change {}; {} after {:.1} s \
             (Running user VMs in the seeded zone {} → {}, Running routers after: {})",
            x.hosts_up,
            x.ready_s,
            x.first_change_s
                .map(|s| format!("after {s:.1} s"))
                .unwrap_or_else(|| "never".into()),
            if x.settled { "settled" } else { "still moving" },
            x.settle_s,
            x.running_vms_before,
            x.running_vms_after,
            x.running_routers_after
        );
    }
    if !r.plans.is_empty() {
        println!();
        println!("query plans (statement run time from the benchmark process):");
        for p in &r.plans {
            println!("  {} — {:.1} ms", p.label, p.run_ms);
            for l in &p.plan {
                println!("      {l}");
            }
        }
    }
    if !r.warnings.is_empty() {
        println!();
        for w in &r.warnings {
            println!("WARNING: {w}");
        }
    }
}
