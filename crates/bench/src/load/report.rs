//! The load report: a table per command and the totals, and the same as JSON.

use std::collections::BTreeMap;

use serde::Serialize;

use super::record::{CommandRow, ErrorCount, SLOW};
use crate::server::Mem;

#[derive(Debug, Clone, Serialize)]
pub struct Prepopulated {
    pub requested: usize,
    pub deployed: usize,
    pub seconds: f64,
    pub errors: Vec<ErrorCount>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Totals {
    pub requests: usize,
    pub requests_per_s: f64,
    /// Async jobs followed to an end (succeeded or failed) or given up on.
    pub jobs: usize,
    pub jobs_succeeded: usize,
    pub jobs_failed: usize,
    /// Succeeded jobs per second.
    pub jobs_per_s: f64,
    pub responses_5xx: usize,
    pub over_2s: usize,
    pub transport_errors: usize,
    /// Failed requests and failed jobs.
    pub errors: usize,
}

impl Totals {
    pub fn of(rows: &[CommandRow], elapsed_s: f64) -> Totals {
        let per_s = |n: usize| if elapsed_s > 0.0 { n as f64 / elapsed_s } else { 0.0 };
        let requests = rows.iter().map(|r| r.requests).sum();
        let jobs = rows.iter().filter_map(|r| r.job.as_ref());
        let (jobs_n, ok, failed) = jobs.fold((0, 0, 0), |(n, o, f), j| {
            (n + j.finished, o + j.succeeded, f + j.failed)
        });
        Totals {
            requests,
            requests_per_s: per_s(requests),
            jobs: jobs_n,
            jobs_succeeded: ok,
            jobs_failed: failed,
            jobs_per_s: per_s(ok),
            responses_5xx: rows.iter().map(|r| r.responses_5xx).sum(),
            over_2s: rows.iter().map(|r| r.over_2s).sum(),
            transport_errors: rows.iter().map(|r| r.transport_errors).sum(),
            errors: rows.iter().flat_map(|r| &r.errors).map(|e| e.count).sum(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    pub date: String,
    pub machine: String,
    pub database: String,
    pub server: String,
    pub clients: usize,
    pub admin_clients: usize,
    pub user_clients: usize,
    pub user_accounts: usize,
    pub hosts: usize,
    pub isolated: bool,
    /// Seconds the clients drew new operations for.
    pub seconds: u64,
    pub mix: String,
    pub seed: u64,
    pub first_start_s: f64,
    /// Zone, hosts, networks, templates and users through the API.
    pub setup_s: f64,
    pub prepopulated: Prepopulated,
    /// From the start of the load to the end of the last client's last operation; the rates
    /// are per second of this.
    pub elapsed_s: f64,
    /// CPU seconds the server used during the load.
    pub server_cpu_s: f64,
    pub totals: Totals,
    pub commands: Vec<CommandRow>,
    /// Operations drawn, by name; a fallback deploy is named with its reason.
    pub ops: BTreeMap<String, usize>,
    /// VMs the clients still held as their own at the end.
    pub own_vms_left: usize,
    pub memory: Vec<Mem>,
    pub warnings: Vec<String>,
}

pub fn print(r: &LoadReport) {
    println!();
    println!(
        "ferrostack-bench load  clients={} ({} admin, {} user in {} accounts)  seconds={}  hosts={}{}  db={}  server={}",
        r.clients,
        r.admin_clients,
        r.user_clients,
        r.user_accounts,
        r.seconds,
        r.hosts,
        if r.isolated { " +isolated" } else { "" },
        r.database,
        r.server
    );
    println!("{}  {}", r.date, r.machine);
    println!("mix {}  seed {}", r.mix, r.seed);
    println!(
        "first start {:.2} s; setup through the API {:.2} s; pre-deployed {}/{} VMs in {:.2} s",
        r.first_start_s, r.setup_s, r.prepopulated.deployed, r.prepopulated.requested, r.prepopulated.seconds
    );
    for e in &r.prepopulated.errors {
        println!("  pre-deploy error {} ×{}: {}", e.key, e.count, e.example);
    }
    println!();
    println!(
        "{:<22} {:>7} {:>5} {:>8} {:>8} {:>8} {:>8} │ {:>5} {:>5} {:>8} {:>8} {:>8} {:>8}",
        "HTTP request (ms)", "count", "err", "p50", "p95", "p99", "max", "jobs", "fail", "job p50", "p95", "p99", "max"
    );
    for c in &r.commands {
        let errs: usize = c
            .errors
            .iter()
            .filter(|e| !e.key.starts_with("job"))
            .map(|e| e.count)
            .sum();
        let job = match &c.job {
            Some(j) => format!(
                "{:>5} {:>5} {:>8.1} {:>8.1} {:>8.1} {:>8.1}",
                j.finished, j.failed, j.latency.p50_ms, j.latency.p95_ms, j.latency.p99_ms, j.latency.max_ms
            ),
            None => format!("{:>5} {:>5} {:>8} {:>8} {:>8} {:>8}", "-", "-", "-", "-", "-", "-"),
        };
        println!(
            "{:<22} {:>7} {:>5} {:>8.1} {:>8.1} {:>8.1} {:>8.1} │ {job}",
            c.command, c.requests, errs, c.http.p50_ms, c.http.p95_ms, c.http.p99_ms, c.http.max_ms
        );
    }
    let t = &r.totals;
    println!();
    println!(
        "{} requests in {:.1} s = {:.1} requests/s; {} jobs ({} ok, {} failed) = {:.2} jobs/s; server CPU {:.1} s",
        t.requests,
        r.elapsed_s,
        t.requests_per_s,
        t.jobs,
        t.jobs_succeeded,
        t.jobs_failed,
        t.jobs_per_s,
        r.server_cpu_s
    );
    println!(
        "responses >= 500: {}   requests over {} s: {}   transport errors: {}   errors in all: {}",
        t.responses_5xx,
        SLOW.as_secs(),
        t.over_2s,
        t.transport_errors,
        t.errors
    );
    let errors: Vec<(&str, &ErrorCount)> = r
        .commands
        .iter()
        .flat_map(|c| c.errors.iter().map(move |e| (c.command.as_str(), e)))
        .collect();
    if !errors.is_empty() {
        println!();
        println!("errors (count, first message):");
        for (cmd, e) in errors {
            println!("  {cmd:<22} {:<24} {:>6}  {}", e.key, e.count, e.example);
        }
    }
    println!();
    let ops: Vec<String> = r.ops.iter().map(|(k, v)| format!("{k} {v}")).collect();
    println!(
        "operations: {}; VMs held by the clients at the end: {}",
        ops.join(", "),
        r.own_vms_left
    );
    crate::report::print_memory(&r.memory);
    for w in &r.warnings {
        println!("WARNING: {w}");
    }
}
