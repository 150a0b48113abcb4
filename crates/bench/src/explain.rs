//! Query plans of the statements behind the list calls and of the per-host statements the
//! server runs at start-up and on every power report. The text mirrors what the `list`
//! functions in `crates/db/src/*.rs` build for a root admin with `listall=true` (the id-page
//! query; hydration is a primary-key `IN` lookup of one page), with literal values in place of
//! the `$N` placeholders. SQLite: `EXPLAIN QUERY PLAN`; PostgreSQL: `EXPLAIN (ANALYZE, BUFFERS)`.

use std::time::Instant;

use ferrostack_db::{Backend, Db};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub label: String,
    pub sql: String,
    /// Median of 5 runs of the statement itself, from this process.
    pub run_ms: f64,
    pub plan: Vec<String>,
}

pub fn statements(zone_id: i64, host_id: i64, last_offset: i64) -> Vec<(String, String)> {
    let page = |sql: &str, offset: i64| format!("{sql} LIMIT 500 OFFSET {offset}");
    let mut v = Vec::new();
    let lists = [
        (
            "listHosts",
            "SELECT h.id, COUNT(*) OVER () FROM host h WHERE h.removed IS NULL ORDER BY h.id".to_string(),
        ),
        (
            "listHosts state=Up",
            "SELECT h.id, COUNT(*) OVER () FROM host h WHERE h.removed IS NULL AND lower(h.status) = 'up' \
             ORDER BY h.id"
                .to_string(),
        ),
        (
            "listVirtualMachines",
            "SELECT v.id, COUNT(*) OVER () FROM vm_instance v WHERE v.removed IS NULL AND v.vm_type = 'User' \
             AND v.state <> 'Destroyed' AND v.state <> 'Expunging' ORDER BY v.id"
                .to_string(),
        ),
        (
            "listVirtualMachines zoneid,state=Running",
            format!(
                "SELECT v.id, COUNT(*) OVER () FROM vm_instance v WHERE v.removed IS NULL AND v.vm_type = 'User' \
                 AND lower(v.state) = 'running' AND v.zone_id = {zone_id} ORDER BY v.id"
            ),
        ),
        (
            "listNetworks",
            "SELECT n.id, COUNT(*) OVER () FROM network n WHERE n.removed IS NULL AND n.traffic_type = 'Guest' \
             ORDER BY n.id"
                .to_string(),
        ),
        (
            "listRouters",
            "SELECT v.id, COUNT(*) OVER () FROM vm_instance v WHERE v.removed IS NULL \
             AND v.vm_type = 'DomainRouter' ORDER BY v.id"
                .to_string(),
        ),
        (
            "listAccounts",
            "SELECT a.id, COUNT(*) OVER () FROM account a WHERE a.removed IS NULL ORDER BY a.id".to_string(),
        ),
        (
            "listEvents",
            "SELECT e.id, COUNT(*) OVER () FROM event e WHERE e.archived = 0 ORDER BY e.id DESC".to_string(),
        ),
    ];
    for (label, sql) in lists {
        v.push((format!("{label} page 1"), page(&sql, 0)));
        v.push((format!("{label} last page"), page(&sql, last_offset)));
    }
    // The same pages split into a plain count and an index-ordered id page (a proposed change).
    let split = [
        ("host", "h", "h.removed IS NULL", "h.id"),
        (
            "vm_instance",
            "v",
            "v.removed IS NULL AND v.vm_type = 'User' AND v.state <> 'Destroyed' AND v.state <> 'Expunging'",
            "v.id",
        ),
        ("event", "e", "e.archived = 0", "e.id DESC"),
    ];
    for (table, alias, cond, order) in split {
        v.push((
            format!("(proposed) {table}: COUNT(*) alone"),
            format!("SELECT COUNT(*) FROM {table} {alias} WHERE {cond}"),
        ));
        v.push((
            format!("(proposed) {table}: id page alone, last page"),
            format!(
                "SELECT {alias}.id FROM {table} {alias} WHERE {cond} ORDER BY {order} LIMIT 500 OFFSET {last_offset}"
            ),
        ));
    }
    v.push((
        "async job: first event of a job (twice per job)".into(),
        "SELECT id FROM event WHERE job_uuid = 'no-such-job' AND start_id IS NULL ORDER BY id LIMIT 1".into(),
    ));
    v.push((
        "expunge tick: destroyed_before (every ~5 s)".into(),
        format!(
            "SELECT id, uuid FROM vm_instance WHERE state = 'Destroyed' AND removed IS NULL AND destroyed_at <= {} \
             ORDER BY id LIMIT 50",
            i64::MAX / 2
        ),
    ));
    v.push((
        "power report: vm on_host (per host, first report after start)".into(),
        format!(
            "SELECT id, instance_name, state, power_state, power_generation FROM vm_instance \
             WHERE removed IS NULL AND (host_id = {host_id} OR last_host_id = {host_id})"
        ),
    ));
    v.push((
        "deploy: placement_candidates".into(),
        format!(
            "SELECT h.id, h.uuid FROM host h JOIN cluster cl ON cl.id = h.cluster_id JOIN pod p ON p.id = h.pod_id \
             WHERE h.zone_id = {zone_id} AND h.removed IS NULL AND h.status = 'Up' AND h.resource_state = 'Enabled' \
             AND cl.allocation_state = 'Enabled' AND p.allocation_state = 'Enabled' \
             AND h.cpu_allocated + 500 <= h.cpu_cores * h.cpu_speed AND h.memory_allocated + 536870912 <= h.memory_total \
             ORDER BY h.memory_allocated, h.id LIMIT 50"
        ),
    ));
    v
}

async fn plan_lines(db: &Db, sql: &str) -> Result<Vec<String>, String> {
    let (text, col) = match db.backend() {
        Backend::Sqlite => (format!("EXPLAIN QUERY PLAN {sql}"), 3),
        Backend::Postgres => (format!("EXPLAIN (ANALYZE, BUFFERS) {sql}"), 0),
    };
    // An UPDATE under EXPLAIN ANALYZE really runs: keep it in a transaction that rolls back.
    let mut tx = db.write().begin().await.map_err(|e| e.to_string())?;
    let rows: Vec<AnyRow> = sqlx::query(AssertSqlSafe(text))
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| format!("EXPLAIN {sql}: {e}"))?;
    let _ = tx.rollback().await;
    Ok(rows
        .iter()
        .map(|r| r.try_get::<String, _>(col).unwrap_or_else(|e| format!("<{e}>")))
        .collect())
}

async fn run_ms(db: &Db, sql: &str) -> Result<f64, String> {
    let mut times = Vec::new();
    for _ in 0..5 {
        let mut tx = db.write().begin().await.map_err(|e| e.to_string())?;
        let t = Instant::now();
        sqlx::raw_sql(AssertSqlSafe(sql.to_string()))
            .execute(&mut *tx)
            .await
            .map_err(|e| format!("{sql}: {e}"))?;
        times.push(t.elapsed());
        let _ = tx.rollback().await;
    }
    Ok(crate::measure::Stats::of(&times).median_ms)
}

pub async fn explain_all(db: &Db, zone_id: i64, host_id: i64, last_offset: i64) -> Result<Vec<Plan>, String> {
    let mut out = Vec::new();
    for (label, sql) in statements(zone_id, host_id, last_offset) {
        let plan = plan_lines(db, &sql).await?;
        let run_ms = run_ms(db, &sql).await?;
        out.push(Plan {
            label,
            sql,
            run_ms,
            plan,
        });
    }
    Ok(out)
}
