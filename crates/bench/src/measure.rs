//! List latency through the real HTTP API (signed GETs, `pagesize=500`, first / middle / last
//! page, R repetitions after one warm-up), next to the time the same page takes in the db
//! layer alone (the `ferrostack_db` list function plus the one-query hydration the handler
//! adds), called directly from this process.

use std::time::{Duration, Instant};

use ferrostack_db::account::{AccountFilter, OwnerScope};
use ferrostack_db::event::EventFilter;
use ferrostack_db::host::HostFilter;
use ferrostack_db::network::NetworkFilter;
use ferrostack_db::vm::VmFilter;
use ferrostack_db::Db;
use ferrostack_types::Page;
use serde::Serialize;

use crate::client::Client;

pub const PAGE_SIZE: i64 = 500;

/// The db-layer call behind a list command.
#[derive(Debug, Clone)]
pub enum DbCall {
    Hosts(HostFilter),
    Vms(VmFilter),
    Routers(VmFilter),
    Networks(NetworkFilter),
    Accounts(AccountFilter),
    Events(EventFilter),
}

/// One list command with its parameters.
#[derive(Debug, Clone)]
pub struct Case {
    pub label: String,
    pub command: &'static str,
    pub params: Vec<(&'static str, String)>,
    pub item_key: &'static str,
    /// The count the answer must report (None: not checked).
    pub expected: Option<i64>,
    /// Time every page (first / middle / last) or only the first.
    pub all_pages: bool,
    pub db: DbCall,
}

#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    pub min_ms: f64,
    pub median_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// Nearest-rank percentile of ascending `sorted` samples (`q` in 0..=1): the smallest sample
/// with at least `q` of all samples at or below it; 0 for no samples.
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Durations as ascending milliseconds.
pub fn sorted_ms(samples: &[Duration]) -> Vec<f64> {
    let mut v: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    v.sort_by(f64::total_cmp);
    v
}

impl Stats {
    pub fn of(samples: &[Duration]) -> Stats {
        let v = sorted_ms(samples);
        if v.is_empty() {
            return Stats {
                min_ms: 0.0,
                median_ms: 0.0,
                p95_ms: 0.0,
                p99_ms: 0.0,
                max_ms: 0.0,
            };
        }
        let median = if v.len() % 2 == 1 {
            v[v.len() / 2]
        } else {
            (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
        };
        Stats {
            min_ms: v[0],
            median_ms: median,
            p95_ms: percentile(&v, 0.95),
            p99_ms: percentile(&v, 0.99),
            max_ms: v[v.len() - 1],
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub label: String,
    pub page: i64,
    pub count: i64,
    pub expected: Option<i64>,
    pub items: usize,
    pub bytes: usize,
    pub http: Stats,
    /// Median of the db-layer call for the same page.
    pub db_median_ms: Option<f64>,
    pub warnings: Vec<String>,
}

fn params(case: &Case, page: i64) -> Vec<(&str, String)> {
    let mut p: Vec<(&str, String)> = case.params.iter().map(|(k, v)| (*k, v.clone())).collect();
    p.push(("page", page.to_string()));
    p.push(("pagesize", PAGE_SIZE.to_string()));
    p
}

async fn http_once(c: &Client, case: &Case, page: i64) -> Result<(Duration, i64, usize, usize), String> {
    let p = params(case, page);
    let refs: Vec<(&str, &str)> = p.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (d, a) = c.timed_get(case.command, &refs).await?;
    a.ok(&case.label)?;
    Ok((d, a.count(), a.items_len(case.item_key), a.bytes))
}

/// Run the db-layer equivalent of one page once.
async fn db_once(db: &Db, call: &DbCall, page: i64) -> Result<Duration, String> {
    let page = Page::from_params(Some(page), Some(PAGE_SIZE)).map_err(|e| e.to_string())?;
    let mut c = db.conn().await.map_err(|e| e.to_string())?;
    let t0 = Instant::now();
    let e = |e: ferrostack_types::Error| e.to_string();
    match call {
        DbCall::Hosts(f) => {
            ferrostack_db::host::list(&mut c, f, page).await.map_err(e)?;
        }
        DbCall::Vms(f) | DbCall::Routers(f) => {
            let (_, vms) = ferrostack_db::vm::list(&mut c, &OwnerScope::All, f, page)
                .await
                .map_err(e)?;
            let ids: Vec<i64> = vms.iter().map(|v| v.id).collect();
            ferrostack_db::vm::nics_of(&mut c, &ids).await.map_err(e)?;
        }
        DbCall::Networks(f) => {
            let (_, nets) = ferrostack_db::network::list(&mut c, &OwnerScope::All, f, page)
                .await
                .map_err(e)?;
            let ids: Vec<i64> = nets.iter().map(|n| n.id).collect();
            if !ids.is_empty() {
                ferrostack_db::network::services_of(&mut c, &ids).await.map_err(e)?;
            }
        }
        DbCall::Accounts(f) => {
            let (_, accts) = ferrostack_db::account::list(&mut c, &OwnerScope::All, f, page)
                .await
                .map_err(e)?;
            let ids: Vec<i64> = accts.iter().map(|a| a.id).collect();
            ferrostack_db::user::of_accounts(&mut c, &ids).await.map_err(e)?;
        }
        DbCall::Events(f) => {
            ferrostack_db::event::list(&mut c, &OwnerScope::All, f, page)
                .await
                .map_err(e)?;
        }
    }
    Ok(t0.elapsed())
}

/// The pages to time: first, middle and last (deduplicated).
pub fn pages_of(count: i64, all_pages: bool) -> Vec<i64> {
    let last = ((count + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    let mut v = vec![1];
    if all_pages {
        v.push((last + 1) / 2);
        v.push(last);
    }
    v.dedup();
    v
}

/// Time one case: every page R times through HTTP, then the db layer.
pub async fn run_case(c: &Client, db: Option<&Db>, case: &Case, repeat: usize) -> Result<Vec<Row>, String> {
    let (_, count, _, _) = http_once(c, case, 1).await?;
    let mut out = Vec::new();
    for page in pages_of(count, case.all_pages) {
        let mut warnings = Vec::new();
        // Warm-up, then the timed runs.
        let (_, _, items, bytes) = http_once(c, case, page).await?;
        let mut samples = Vec::with_capacity(repeat);
        let mut seen_count = count;
        for _ in 0..repeat {
            let (d, n, _, _) = http_once(c, case, page).await?;
            seen_count = n;
            samples.push(d);
        }
        if let Some(e) = case.expected {
            if seen_count != e {
                warnings.push(format!("count {seen_count} but {e} were seeded"));
            }
        }
        let want_items = (seen_count - (page - 1) * PAGE_SIZE).clamp(0, PAGE_SIZE) as usize;
        if items != want_items {
            warnings.push(format!("page {page} has {items} items, expected {want_items}"));
        }
        let db_median_ms = match db {
            Some(db) => {
                db_once(db, &case.db, page).await?;
                let mut d = Vec::with_capacity(repeat);
                for _ in 0..repeat {
                    d.push(db_once(db, &case.db, page).await?);
                }
                Some(Stats::of(&d).median_ms)
            }
            None => None,
        };
        for w in &warnings {
            eprintln!("WARNING: {} page {page}: {w}", case.label);
        }
        out.push(Row {
            label: case.label.clone(),
            page,
            count: seen_count,
            expected: case.expected,
            items,
            bytes,
            http: Stats::of(&samples),
            db_median_ms,
            warnings,
        });
    }
    Ok(out)
}

/// What the list cases need to know about the seeded world.
pub struct World {
    pub zone_uuid: String,
    pub zone_id: i64,
    pub hosts: i64,
    pub vms: i64,
    pub running_vms: Option<i64>,
    pub networks: i64,
    pub routers: i64,
    pub accounts: i64,
    pub events: i64,
}

pub fn cases(w: &World) -> Vec<Case> {
    let all = || vec![("listall", "true".to_string())];
    let vm_filter = || VmFilter {
        vm_type: Some(ferrostack_types::state::VmType::User),
        ..Default::default()
    };
    let router_filter = || VmFilter {
        vm_type: Some(ferrostack_types::state::VmType::DomainRouter),
        include_destroyed: true,
        ..Default::default()
    };
    vec![
        Case {
            label: "listHosts".into(),
            command: "listHosts",
            params: vec![],
            item_key: "host",
            expected: Some(w.hosts),
            all_pages: true,
            db: DbCall::Hosts(HostFilter::default()),
        },
        Case {
            label: "listHosts state=Up".into(),
            command: "listHosts",
            params: vec![("state", "Up".into())],
            item_key: "host",
            expected: None,
            all_pages: false,
            db: DbCall::Hosts(HostFilter {
                status: Some(ferrostack_types::state::HostStatus::Up),
                ..Default::default()
            }),
        },
        Case {
            label: "listHosts name=<one>".into(),
            command: "listHosts",
            params: vec![("name", format!("bench-h{}", w.hosts / 2))],
            item_key: "host",
            expected: None,
            all_pages: false,
            db: DbCall::Hosts(HostFilter {
                name: Some(format!("bench-h{}", w.hosts / 2)),
                ..Default::default()
            }),
        },
        Case {
            label: "listVirtualMachines".into(),
            command: "listVirtualMachines",
            params: all(),
            item_key: "virtualmachine",
            expected: Some(w.vms),
            all_pages: true,
            db: DbCall::Vms(vm_filter()),
        },
        Case {
            label: "listVirtualMachines zoneid,state=Running".into(),
            command: "listVirtualMachines",
            params: [
                all(),
                vec![("zoneid", w.zone_uuid.clone()), ("state", "Running".into())],
            ]
            .concat(),
            item_key: "virtualmachine",
            expected: w.running_vms,
            all_pages: false,
            db: DbCall::Vms(VmFilter {
                zone_id: Some(w.zone_id),
                state: Some(ferrostack_types::state::VmState::Running),
                ..vm_filter()
            }),
        },
        Case {
            label: "listVirtualMachines keyword=<one>".into(),
            command: "listVirtualMachines",
            params: [all(), vec![("keyword", format!("bench-vm-{}", w.vms / 2 + 1))]].concat(),
            item_key: "virtualmachine",
            expected: None,
            all_pages: false,
            db: DbCall::Vms(VmFilter {
                keyword: Some(format!("bench-vm-{}", w.vms / 2 + 1)),
                ..vm_filter()
            }),
        },
        Case {
            label: "listNetworks".into(),
            command: "listNetworks",
            params: all(),
            item_key: "network",
            expected: Some(w.networks),
            all_pages: true,
            db: DbCall::Networks(NetworkFilter::default()),
        },
        Case {
            label: "listNetworks zoneid,type=Isolated".into(),
            command: "listNetworks",
            params: [
                all(),
                vec![("zoneid", w.zone_uuid.clone()), ("type", "Isolated".into())],
            ]
            .concat(),
            item_key: "network",
            expected: None,
            all_pages: false,
            db: DbCall::Networks(NetworkFilter {
                zone_id: Some(w.zone_id),
                guest_type: Some("Isolated".into()),
                ..Default::default()
            }),
        },
        Case {
            label: "listRouters".into(),
            command: "listRouters",
            params: all(),
            item_key: "router",
            expected: Some(w.routers),
            all_pages: true,
            db: DbCall::Routers(router_filter()),
        },
        Case {
            label: "listRouters state=Running".into(),
            command: "listRouters",
            params: [all(), vec![("state", "Running".into())]].concat(),
            item_key: "router",
            expected: None,
            all_pages: false,
            db: DbCall::Routers(VmFilter {
                state: Some(ferrostack_types::state::VmState::Running),
                ..router_filter()
            }),
        },
        Case {
            label: "listAccounts".into(),
            command: "listAccounts",
            params: all(),
            item_key: "account",
            expected: Some(w.accounts),
            all_pages: true,
            db: DbCall::Accounts(AccountFilter::default()),
        },
        Case {
            label: "listAccounts name=<one>".into(),
            command: "listAccounts",
            params: [all(), vec![("name", format!("bench-acct-{}", w.accounts / 2))]].concat(),
            item_key: "account",
            expected: None,
            all_pages: false,
            db: DbCall::Accounts(AccountFilter {
                name: Some(format!("bench-acct-{}", w.accounts / 2)),
                ..Default::default()
            }),
        },
        Case {
            label: "listEvents".into(),
            command: "listEvents",
            params: all(),
            item_key: "event",
            expected: Some(w.events),
            all_pages: true,
            db: DbCall::Events(EventFilter {
                archived: Some(false),
                ..Default::default()
            }),
        },
        Case {
            label: "listEvents type=VM.START".into(),
            command: "listEvents",
            params: [all(), vec![("type", "VM.START".into())]].concat(),
            item_key: "event",
            expected: None,
            all_pages: false,
            db: DbCall::Events(EventFilter {
                event_type: Some("VM.START".into()),
                archived: Some(false),
                ..Default::default()
            }),
        },
    ]
}

/// The count a list command reports right now (pagesize 1), for baselines.
pub async fn count_of(c: &Client, command: &str, params: &[(&str, &str)]) -> Result<i64, String> {
    let mut p = params.to_vec();
    p.push(("page", "1"));
    p.push(("pagesize", "1"));
    let a = c.get(command, &p).await?;
    a.ok(command)?;
    Ok(a.count())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), 50.0);
        assert_eq!(percentile(&v, 0.95), 95.0);
        assert_eq!(percentile(&v, 0.99), 99.0);
        assert_eq!(percentile(&v, 1.0), 100.0);
        assert_eq!(percentile(&v, 0.0), 1.0, "q=0 is the smallest sample");
        assert_eq!(percentile(&[7.0], 0.99), 7.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
        // Ten samples: p95 and p99 are both the largest, p50 the fifth.
        let ten: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile(&ten, 0.5), 5.0);
        assert_eq!(percentile(&ten, 0.95), 10.0);
        assert_eq!(percentile(&ten, 0.99), 10.0);
        assert_eq!(percentile(&ten, 0.9), 9.0);
    }

    #[test]
    fn stats_of_durations() {
        let d: Vec<Duration> = [40, 10, 30, 20].iter().map(|ms| Duration::from_millis(*ms)).collect();
        let s = Stats::of(&d);
        assert_eq!(
            (s.min_ms, s.median_ms, s.p95_ms, s.p99_ms, s.max_ms),
            (10.0, 25.0, 40.0, 40.0, 40.0)
        );
        let e = Stats::of(&[]);
        assert_eq!((e.min_ms, e.max_ms), (0.0, 0.0));
    }
}
