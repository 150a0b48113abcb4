//! Bulk seeding straight into the database: multi-row `INSERT`s of literal values, a thousand
//! rows a statement, one transaction per group of tables. It reuses what the server seeded at
//! first start (ROOT domain, admin, roles, offerings, templates) and the zone/pod/cluster/
//! physical network the benchmark created through the API.
//!
//! Ids are assigned here (max(id)+1 …) so rows can reference each other without reading
//! back. On PostgreSQL each table is locked for the transaction and its identity sequence is
//! moved past the new ids afterwards, so the server's own later inserts never collide.

use std::time::{Duration, Instant};

use ferrostack_db::{Backend, Db, Tx};
use serde::Serialize;
use sqlx::AssertSqlSafe;

const BATCH: usize = 1000;

/// What the benchmark created through the API, by database id.
#[derive(Debug, Clone, Copy)]
pub struct Place {
    pub zone_id: i64,
    pub pod_id: i64,
    pub cluster_id: i64,
    pub physnet_id: Option<i64>,
}

/// How many of each to seed.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Plan {
    pub hosts: usize,
    pub vms: usize,
    pub networks: usize,
    pub routers: usize,
    pub accounts: usize,
    pub events: usize,
}

/// The rows the server seeded at first start.
#[derive(Debug, Clone, Copy)]
struct Refs {
    domain_id: i64,
    admin_user_id: i64,
    user_role_id: i64,
    template_id: i64,
    system_template_id: i64,
    offering_id: i64,
    cpu: i64,
    cpu_speed: i64,
    memory: i64,
    router_offering_id: i64,
    net_offering_id: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Seeded {
    pub plan: Plan,
    /// User VMs seeded Running (the rest are Stopped).
    pub running_vms: usize,
    /// (table group, rows, seconds)
    pub steps: Vec<(String, usize, f64)>,
    pub total_s: f64,
}

fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn opt(v: Option<i64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_else(|| "NULL".into())
}

fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

async fn exec(tx: &mut Tx, sql: String) -> Result<(), String> {
    sqlx::raw_sql(AssertSqlSafe(sql))
        .execute(&mut **tx)
        .await
        .map(|_| ())
        .map_err(|e| format!("seeding: {e}"))
}

/// `INSERT INTO <head> VALUES (…), (…), …` in batches.
async fn insert_rows(tx: &mut Tx, head: &str, rows: impl Iterator<Item = String>) -> Result<usize, String> {
    let mut n = 0;
    let mut sql = String::new();
    let mut in_batch = 0;
    for r in rows {
        if in_batch == 0 {
            sql = format!("INSERT INTO {head} VALUES ");
        } else {
            sql.push_str(", ");
        }
        sql.push('(');
        sql.push_str(&r);
        sql.push(')');
        in_batch += 1;
        n += 1;
        if in_batch == BATCH {
            exec(tx, std::mem::take(&mut sql)).await?;
            in_batch = 0;
        }
    }
    if in_batch > 0 {
        exec(tx, sql).await?;
    }
    Ok(n)
}

async fn scalar(db: &Db, sql: &'static str) -> Result<Option<i64>, String> {
    let r: Option<(i64,)> = sqlx::query_as(sql)
        .fetch_optional(db.read())
        .await
        .map_err(|e| format!("{sql}: {e}"))?;
    Ok(r.map(|r| r.0))
}

async fn need(db: &Db, sql: &'static str) -> Result<i64, String> {
    scalar(db, sql)
        .await?
        .ok_or_else(|| format!("the server's first-start rows are missing: {sql} found nothing"))
}

async fn refs(db: &Db) -> Result<Refs, String> {
    let offering: (i64, Option<i64>, Option<i64>, Option<i64>) = sqlx::query_as(
        "SELECT id, cpu_number, cpu_speed, memory_mb FROM service_offering \
         WHERE name = 'Small Instance' AND removed IS NULL ORDER BY id LIMIT 1",
    )
    .fetch_one(db.read())
    .await
    .map_err(|e| format!("no 'Small Instance' service offering: {e}"))?;
    let template_id = need(
        db,
        "SELECT id FROM vm_template WHERE template_type <> 'SYSTEM' AND removed IS NULL ORDER BY id LIMIT 1",
    )
    .await?;
    Ok(Refs {
        domain_id: need(db, "SELECT id FROM domain WHERE parent_id IS NULL ORDER BY id LIMIT 1").await?,
        admin_user_id: need(
            db,
            "SELECT id FROM app_user WHERE username = 'admin' ORDER BY id LIMIT 1",
        )
        .await?,
        user_role_id: need(db, "SELECT id FROM role WHERE name = 'User'").await?,
        template_id,
        system_template_id: scalar(
            db,
            "SELECT id FROM vm_template WHERE template_type = 'SYSTEM' AND removed IS NULL ORDER BY id LIMIT 1",
        )
        .await?
        .unwrap_or(template_id),
        offering_id: offering.0,
        cpu: offering.1.unwrap_or(1),
        cpu_speed: offering.2.unwrap_or(500),
        memory: offering.3.unwrap_or(512),
        router_offering_id: scalar(
            db,
            "SELECT id FROM service_offering WHERE unique_name = 'Cloud.com-SoftwareRouter' ORDER BY id LIMIT 1",
        )
        .await?
        .unwrap_or(offering.0),
        net_offering_id: need(
            db,
            "SELECT id FROM network_offering WHERE name = 'DefaultIsolatedNetworkOfferingWithSourceNatService'",
        )
        .await?,
    })
}

/// Begin a transaction that owns `tables` until commit, and return the next free id of each.
async fn begin(db: &Db, tables: &[&str]) -> Result<(Tx, Vec<i64>), String> {
    let mut tx = db.begin().await.map_err(|e| e.to_string())?;
    if db.backend() == Backend::Postgres {
        exec(&mut tx, format!("LOCK TABLE {} IN EXCLUSIVE MODE", tables.join(", "))).await?;
    }
    let mut next = Vec::new();
    for t in tables {
        let (m,): (i64,) = sqlx::query_as(AssertSqlSafe(format!("SELECT COALESCE(MAX(id), 0) FROM {t}")))
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| format!("max id of {t}: {e}"))?;
        next.push(m + 1);
    }
    Ok((tx, next))
}

/// Move PostgreSQL identity sequences past explicitly inserted ids, then commit.
async fn commit(db: &Db, mut tx: Tx, tables: &[&str]) -> Result<(), String> {
    if db.backend() == Backend::Postgres {
        for t in tables {
            exec(
                &mut tx,
                format!("SELECT setval(pg_get_serial_sequence('{t}', 'id'), (SELECT MAX(id) FROM {t}))"),
            )
            .await?;
        }
    }
    tx.commit().await.map_err(|e| format!("commit: {e}"))
}

fn mac(kind: u8, i: usize) -> String {
    format!(
        "02:{kind:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        (i >> 24) & 0xff,
        (i >> 16) & 0xff,
        (i >> 8) & 0xff,
        i & 0xff
    )
}

pub async fn seed(db: &Db, place: Place, plan: Plan, now: i64) -> Result<Seeded, String> {
    let r = refs(db).await?;
    let t_all = Instant::now();
    let mut steps: Vec<(String, usize, f64)> = Vec::new();
    let mut step = |name: &str, rows: usize, d: Duration| steps.push((name.to_string(), rows, d.as_secs_f64()));
    let accounts = plan.accounts.max(1);

    // Accounts, each with one user that cannot log in.
    let t = Instant::now();
    let (mut tx, next) = begin(db, &["account", "app_user"]).await?;
    let (acct0, user0) = (next[0], next[1]);
    let mut rows = insert_rows(
        &mut tx,
        "account (id, uuid, name, domain_id, account_type, role_id, state, network_domain, is_default, created)",
        (0..accounts).map(|i| {
            format!(
                "{}, {}, {}, {}, 0, {}, 'enabled', NULL, 0, {now}",
                acct0 + i as i64,
                lit(&uuid()),
                lit(&format!("bench-acct-{i}")),
                r.domain_id,
                r.user_role_id
            )
        }),
    )
    .await?;
    rows += insert_rows(
        &mut tx,
        "app_user (id, uuid, account_id, domain_id, username, password_hash, firstname, lastname, email, state, \
         timezone, is_default, source, created)",
        (0..accounts).map(|i| {
            format!(
                "{}, {}, {}, {}, {}, '!', 'Bench', 'User', NULL, 'enabled', NULL, 0, 'native', {now}",
                user0 + i as i64,
                lit(&uuid()),
                acct0 + i as i64,
                r.domain_id,
                lit(&format!("bench-user-{i}"))
            )
        }),
    )
    .await?;
    commit(db, tx, &["account", "app_user"]).await?;
    step("accounts + users", rows, t.elapsed());
    let account_of = |i: usize| acct0 + (i % accounts) as i64;

    // Isolated guest networks with their service maps copied from the offering.
    let t = Instant::now();
    let (mut tx, next) = begin(db, &["network"]).await?;
    let net0 = next[0];
    let mut rows = insert_rows(
        &mut tx,
        "network (id, uuid, name, display_text, zone_id, physical_network_id, network_offering_id, guest_type, \
         traffic_type, state, acl_type, broadcast_uri, cidr, gateway, netmask, network_domain, dns1, dns2, \
         account_id, domain_id, restart_required, created)",
        (0..plan.networks).map(|i| {
            let name = format!("bench-net-{i}");
            format!(
                "{}, {}, {}, {}, {}, {}, {}, 'Isolated', 'Guest', {}, 'Account', {}, '10.1.1.0/24', '10.1.1.1', \
                 '255.255.255.0', {}, NULL, NULL, {}, {}, 0, {now}",
                net0 + i as i64,
                lit(&uuid()),
                lit(&name),
                lit(&name),
                place.zone_id,
                opt(place.physnet_id),
                r.net_offering_id,
                if i % 10 == 9 { "'Allocated'" } else { "'Implemented'" },
                lit(&format!("vlan://{}", 100 + i % 3900)),
                lit(&format!("cs{i}cloud.internal")),
                account_of(i),
                r.domain_id
            )
        }),
    )
    .await?;
    if plan.networks > 0 {
        exec(
            &mut tx,
            format!(
                "INSERT INTO network_service_map (network_id, service, provider) \
                 SELECT n.id, s.service, s.provider FROM network n \
                 JOIN network_offering_service s ON s.offering_id = n.network_offering_id WHERE n.id >= {net0}"
            ),
        )
        .await?;
        rows += plan.networks;
    }
    commit(db, tx, &["network"]).await?;
    step("networks + service maps", rows, t.elapsed());

    // Hosts, Up and Enabled. Rows written after the server started are not connected agents,
    // so the liveness monitor (which pings only hosts connected through addHost or at start-up)
    // leaves them alone.
    let t = Instant::now();
    let (mut tx, next) = begin(db, &["host"]).await?;
    let host0 = next[0];
    let rows = insert_rows(
        &mut tx,
        "host (id, uuid, name, zone_id, pod_id, cluster_id, host_type, hypervisor, hypervisor_version, url, status, \
         resource_state, private_ip, cpu_sockets, cpu_cores, cpu_speed, memory_total, local_storage_total, \
         cpu_allocated, memory_allocated, version, host_tags, last_pinged, ms_id, created)",
        (0..plan.hosts).map(|i| {
            format!(
                "{}, {}, {}, {}, {}, {}, 'Routing', 'Simulator', '4.20', {}, 'Up', 'Enabled', {}, 2, 32, 2000, \
                 {}, {}, 0, 0, {}, NULL, {now}, NULL, {now}",
                host0 + i as i64,
                lit(&uuid()),
                lit(&format!("bench-h{i}")),
                place.zone_id,
                place.pod_id,
                place.cluster_id,
                lit(&format!("http://sim/bench/h{i}")),
                lit(&format!(
                    "172.{}.{}.{}",
                    16 + (i >> 16) % 16,
                    (i >> 8) & 0xff,
                    1 + (i & 0xff) % 254
                )),
                64_i64 << 30,
                1_i64 << 40,
                lit(ferrostack_server::VERSION)
            )
        }),
    )
    .await?;
    commit(db, tx, &["host"]).await?;
    step("hosts", rows, t.elapsed());
    let host_of = |i: usize| (plan.hosts > 0).then(|| host0 + (i % plan.hosts) as i64);

    // User VMs (4 of 5 Running on a host), one NIC on a guest network and a ROOT volume each;
    // virtual routers, one per network, with a guest NIC.
    let t = Instant::now();
    let (mut tx, next) = begin(db, &["vm_instance"]).await?;
    let vm0 = next[0];
    let running = |i: usize| i % 5 != 4 && plan.hosts > 0;
    let running_vms = (0..plan.vms).filter(|i| running(*i)).count();
    let mut rows = insert_rows(
        &mut tx,
        "vm_instance (id, uuid, name, display_name, instance_name, vm_type, state, power_state, power_generation, \
         zone_id, host_id, last_host_id, template_id, service_offering_id, account_id, domain_id, network_id, cpu, \
         cpu_speed, memory, password, password_pending, user_data, user_data_id, user_data_details, keypairs, \
         ssh_keys, ha_enabled, capacity_host_id, destroyed_at, created)",
        (0..plan.vms).map(|i| {
            let id = vm0 + i as i64;
            let name = format!("bench-vm-{i}");
            let (state, power, host) = if running(i) {
                ("Running", "PowerOn", host_of(i))
            } else {
                ("Stopped", "PowerOff", None)
            };
            format!(
                "{id}, {}, {}, {}, {}, 'User', '{state}', '{power}', 0, {}, {}, {}, {}, {}, {}, {}, NULL, {}, {}, {}, \
                 NULL, 0, NULL, NULL, NULL, NULL, NULL, 0, {}, NULL, {now}",
                lit(&uuid()),
                lit(&name),
                lit(&name),
                lit(&format!("i-{}-{id}-VM", account_of(i))),
                place.zone_id,
                opt(host),
                opt(host_of(i)),
                r.template_id,
                r.offering_id,
                account_of(i),
                r.domain_id,
                r.cpu,
                r.cpu_speed,
                r.memory,
                opt(host)
            )
        }),
    )
    .await?;
    let router0 = vm0 + plan.vms as i64;
    let routers = plan.routers.min(plan.networks);
    rows += insert_rows(
        &mut tx,
        "vm_instance (id, uuid, name, display_name, instance_name, vm_type, state, power_state, power_generation, \
         zone_id, host_id, last_host_id, template_id, service_offering_id, account_id, domain_id, network_id, cpu, \
         cpu_speed, memory, password, password_pending, user_data, user_data_id, user_data_details, keypairs, \
         ssh_keys, ha_enabled, capacity_host_id, destroyed_at, created)",
        (0..routers).map(|i| {
            let id = router0 + i as i64;
            let name = format!("r-{id}-VM");
            let host = host_of(i * 7 + 3);
            let (state, power) = if host.is_some() {
                ("Running", "PowerOn")
            } else {
                ("Stopped", "PowerOff")
            };
            format!(
                "{id}, {}, {}, {}, {}, 'DomainRouter', '{state}', '{power}', 0, {}, {}, {}, {}, {}, {}, {}, {}, 1, \
                 500, 256, NULL, 0, NULL, NULL, NULL, NULL, NULL, 0, {}, NULL, {now}",
                lit(&uuid()),
                lit(&name),
                lit(&name),
                lit(&name),
                place.zone_id,
                opt(host),
                opt(host),
                r.system_template_id,
                r.router_offering_id,
                account_of(i),
                r.domain_id,
                net0 + i as i64,
                opt(host)
            )
        }),
    )
    .await?;
    let nets = plan.networks;
    rows += insert_rows(
        &mut tx,
        "nic (uuid, vm_id, network_id, traffic_type, ip, netmask, gateway, mac, broadcast_uri, device_id, is_default, \
         created)",
        (0..if nets > 0 { plan.vms } else { 0 })
            .map(|i| {
                format!(
                    "{}, {}, {}, 'Guest', {}, '255.255.255.0', '10.1.1.1', {}, {}, 0, 1, {now}",
                    lit(&uuid()),
                    vm0 + i as i64,
                    net0 + (i % nets) as i64,
                    lit(&format!("10.1.1.{}", 10 + (i / nets.max(1)) % 240)),
                    lit(&mac(0xb0, i)),
                    lit(&format!("vlan://{}", 100 + (i % nets.max(1)) % 3900))
                )
            })
            .chain((0..routers).map(|i| {
                format!(
                    "{}, {}, {}, 'Guest', '10.1.1.1', '255.255.255.0', '10.1.1.1', {}, {}, 0, 1, {now}",
                    lit(&uuid()),
                    router0 + i as i64,
                    net0 + i as i64,
                    lit(&mac(0xb1, i)),
                    lit(&format!("vlan://{}", 100 + i % 3900))
                )
            })),
    )
    .await?;
    rows += insert_rows(
        &mut tx,
        "volume (uuid, name, vm_id, zone_id, pool_id, volume_type, size, state, account_id, domain_id, template_id, \
         created)",
        (0..plan.vms).map(|i| {
            let id = vm0 + i as i64;
            format!(
                "{}, 'ROOT-{id}', {id}, {}, NULL, 'ROOT', {}, 'Ready', {}, {}, {}, {now}",
                lit(&uuid()),
                place.zone_id,
                8_i64 << 30,
                account_of(i),
                r.domain_id,
                r.template_id
            )
        }),
    )
    .await?;
    commit(db, tx, &["vm_instance"]).await?;
    step("VMs + routers + NICs + volumes", rows, t.elapsed());

    // Events, oldest first, one a second.
    let t = Instant::now();
    let (mut tx, _) = begin(db, &["event"]).await?;
    const TYPES: [(&str, &str); 4] = [
        ("VM.CREATE", "Successfully created VM"),
        ("VM.START", "Successfully started VM"),
        ("VM.STOP", "Successfully stopped VM"),
        ("NETWORK.CREATE", "Successfully created network"),
    ];
    let rows = insert_rows(
        &mut tx,
        "event (uuid, event_type, level, state, description, user_id, account_id, domain_id, resource_type, \
         resource_uuid, resource_name, start_id, job_uuid, created, archived)",
        (0..plan.events).map(|i| {
            let (ty, text) = TYPES[i % TYPES.len()];
            format!(
                "{}, '{ty}', 'INFO', 'Completed', {}, {}, {}, {}, 'VirtualMachine', {}, {}, NULL, NULL, {}, 0",
                lit(&uuid()),
                lit(&format!("{text} bench-vm-{i}")),
                r.admin_user_id,
                account_of(i),
                r.domain_id,
                lit(&uuid()),
                lit(&format!("bench-vm-{i}")),
                now - (plan.events - i) as i64 * 1000
            )
        }),
    )
    .await?;
    commit(db, tx, &[]).await?;
    step("events", rows, t.elapsed());

    Ok(Seeded {
        plan: Plan { routers, ..plan },
        running_vms,
        steps,
        total_s: t_all.elapsed().as_secs_f64(),
    })
}

/// Refresh planner statistics (PostgreSQL `ANALYZE`, SQLite `ANALYZE`).
pub async fn analyze(db: &Db) -> Result<Duration, String> {
    let t = Instant::now();
    sqlx::raw_sql("ANALYZE")
        .execute(db.write())
        .await
        .map_err(|e| format!("ANALYZE: {e}"))?;
    Ok(t.elapsed())
}
