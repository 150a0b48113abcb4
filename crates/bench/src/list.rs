//! The list benchmark (the default mode): seed N hosts / VMs / networks straight into the
//! server's database, time the list calls through the signed HTTP API, report the server's
//! memory, a deploy burst and (optionally) a restart with every host connected.

use std::time::{Duration, Instant};

use ferrostack_db::{Backend, Db};
use sqlx::AssertSqlSafe;

use crate::client::{self, Client};
use crate::env::{self, EnvArgs};
use crate::measure::{self, cases, count_of, run_case, World};
use crate::report::{ListRun, Report, Restart};
use crate::server::{Launch, Mem, Server};
use crate::{burst, explain, seed};

#[derive(clap::Args, Debug)]
pub struct ListArgs {
    /// Hosts, user VMs and networks to seed
    #[arg(long, default_value_t = 25_000)]
    scale: usize,
    /// Timed repetitions of every request (after one warm-up)
    #[arg(long, default_value_t = 20)]
    repeat: usize,
    #[command(flatten)]
    pub env: EnvArgs,
    /// Virtual routers to seed (one per network, at most --scale) [default: --scale]
    #[arg(long)]
    routers: Option<usize>,
    /// Accounts to seed (VMs and networks are spread over them) [default: scale/25]
    #[arg(long)]
    accounts: Option<usize>,
    /// Events to seed [default: --scale]
    #[arg(long)]
    events: Option<usize>,
    /// Deploys in the deployVirtualMachine burst (0 = skip)
    #[arg(long, default_value_t = 200)]
    burst: usize,
    /// Simulator hosts added through addHost for the burst
    #[arg(long, default_value_t = 4)]
    burst_hosts: usize,
    /// Afterwards restart the server so every seeded host is connected, and measure again
    #[arg(long)]
    restart: bool,
    /// Print the query plans of the list statements and of the per-host statements
    #[arg(long)]
    explain: bool,
    /// Refresh planner statistics after seeding: auto = PostgreSQL only (as autovacuum would soon do)
    #[arg(long, value_enum, default_value_t = Analyze::Auto)]
    analyze: Analyze,
    /// Seconds to wait for the power sync after a restart to settle
    #[arg(long, default_value_t = 1800)]
    settle_timeout: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Analyze {
    Auto,
    Yes,
    No,
}

/// Run the list benchmark on a fresh data directory and database, removed afterwards.
pub async fn run(args: &ListArgs) -> Result<Report, String> {
    let e = env::Env::prepare(&args.env).await?;
    let r = env::interruptible(bench(args, &e.launch)).await;
    e.finish().await;
    r
}

async fn api(c: &Client, command: &str, params: &[(&str, &str)], pointer: &str) -> Result<String, String> {
    let a = c.get(command, params).await?;
    a.ok(command)?;
    a.str_at(pointer)
        .ok_or_else(|| format!("{command}: no {pointer} in {}", a.body))
}

/// The zone, pod, cluster and physical network the seeded rows live in, through the API.
async fn bench_zone(c: &Client) -> Result<(String, String, String, String), String> {
    let zone = api(
        c,
        "createZone",
        &[
            ("name", "bench"),
            ("dns1", "8.8.8.8"),
            ("internaldns1", "10.0.0.2"),
            ("networktype", "Advanced"),
        ],
        "/zone/id",
    )
    .await?;
    let pod = api(
        c,
        "createPod",
        &[
            ("name", "bench-pod"),
            ("zoneid", &zone),
            ("gateway", "192.168.100.1"),
            ("netmask", "255.255.255.0"),
            ("startip", "192.168.100.10"),
            ("endip", "192.168.100.250"),
        ],
        "/pod/id",
    )
    .await?;
    let cluster = api(
        c,
        "addCluster",
        &[
            ("clustername", "bench-cluster"),
            ("clustertype", "CloudManaged"),
            ("hypervisor", "Simulator"),
            ("podid", &pod),
            ("zoneid", &zone),
        ],
        "/cluster/0/id",
    )
    .await?;
    let a = c
        .get(
            "createPhysicalNetwork",
            &[("zoneid", &zone), ("name", "bench-phys"), ("vlan", "100-3999")],
        )
        .await?;
    let physnet = a
        .str_at("/id")
        .ok_or_else(|| format!("createPhysicalNetwork: {}", a.body))?;
    if let Some(j) = a.str_at("/jobid") {
        c.wait_job(&j, Duration::from_secs(60)).await?;
    }
    Ok((zone, pod, cluster, physnet))
}

async fn id_of(db: &Db, table: &str, uuid: &str) -> Result<i64, String> {
    let (id,): (i64,) = sqlx::query_as(AssertSqlSafe(format!("SELECT id FROM {table} WHERE uuid = $1")))
        .bind(uuid)
        .fetch_one(db.read())
        .await
        .map_err(|e| format!("{table} {uuid}: {e}"))?;
    Ok(id)
}

async fn run_lists(title: &str, c: &Client, db: &Db, w: &World, repeat: usize, restarted: bool) -> ListRun {
    let mut rows = Vec::new();
    for mut case in cases(w) {
        if restarted && case.command == "listEvents" {
            case.expected = None;
        }
        eprintln!("  {title}: {}", case.label);
        match run_case(c, Some(db), &case, repeat).await {
            Ok(r) => rows.extend(r),
            Err(e) => eprintln!("WARNING: {} failed: {e}", case.label),
        }
    }
    ListRun {
        title: title.to_string(),
        rows,
    }
}

/// Current list counts (what a restarted server must still report).
async fn world_now(c: &Client, zone_uuid: &str, zone_id: i64) -> Result<World, String> {
    let all = [("listall", "true")];
    Ok(World {
        zone_uuid: zone_uuid.to_string(),
        zone_id,
        hosts: count_of(c, "listHosts", &[]).await?,
        vms: count_of(c, "listVirtualMachines", &all).await?,
        running_vms: None,
        networks: count_of(c, "listNetworks", &all).await?,
        routers: count_of(c, "listRouters", &all).await?,
        accounts: count_of(c, "listAccounts", &all).await?,
        events: count_of(c, "listEvents", &all).await?,
    })
}

async fn running(c: &Client, zone: &str, command: &str) -> Result<i64, String> {
    count_of(
        c,
        command,
        &[("listall", "true"), ("zoneid", zone), ("state", "Running")],
    )
    .await
}

/// Restart on the same database: every seeded host is now connected at start-up and pinged by
/// the monitor; wait for the first power sync to settle, then measure again.
async fn restart(
    server: Server,
    launch: &Launch,
    args: &ListArgs,
    w: &World,
    memory: &mut Vec<Mem>,
) -> Result<(Server, Restart, Client), String> {
    eprintln!("restarting the server on the same database ...");
    let running_before = {
        let c = client::admin_client(&server.url).await?;
        running(&c, &w.zone_uuid, "listVirtualMachines").await?
    };
    server.stop().await?;
    let s = launch.start().await?;
    memory.push(s.mem("restarted: listening"));
    let c = client::admin_client(&s.url).await?;
    let connected = count_of(&c, "listHosts", &[("state", "Up")]).await?;
    eprintln!(
        "listening after {:.1} s; waiting for the power sync to settle ...",
        s.ready_after.as_secs_f64()
    );
    // Hosts reconnect in the background after the API listens; their first power reports then
    // stop the seeded VMs (the simulator never started them). Settled: no Running VM left in
    // the seeded zone, or no change for a minute after the first one.
    let t = Instant::now();
    let (mut last, mut changed_at, mut first_change, mut settled) = (running_before, t.elapsed(), None, false);
    while t.elapsed() < Duration::from_secs(args.settle_timeout) {
        let n = running(&c, &w.zone_uuid, "listVirtualMachines").await?;
        if n != last {
            last = n;
            changed_at = t.elapsed();
            first_change.get_or_insert(changed_at);
        }
        if n == 0 || (first_change.is_some() && t.elapsed() - changed_at > Duration::from_secs(60)) {
            settled = true;
            break;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let settle_s = t.elapsed().as_secs_f64();
    memory.push(s.mem("restarted: power sync settled"));
    let r = Restart {
        ready_s: s.ready_after.as_secs_f64(),
        hosts_up: connected,
        first_change_s: first_change.map(|d| d.as_secs_f64()),
        settle_s,
        running_vms_before: running_before,
        running_vms_after: last,
        running_routers_after: running(&c, &w.zone_uuid, "listRouters").await?,
        settled,
    };
    Ok((s, r, c))
}

async fn bench(args: &ListArgs, launch: &Launch) -> Result<Report, String> {
    let database = launch.database.as_str();
    let n = args.scale;
    let plan = seed::Plan {
        hosts: n,
        vms: n,
        networks: n,
        routers: args.routers.unwrap_or(n).min(n),
        accounts: args.accounts.unwrap_or(n / 25).max(1),
        events: args.events.unwrap_or(n),
    };
    let mut memory = Vec::new();
    let mut warnings = Vec::new();
    eprintln!("starting the server on {} ...", ferrostack_db::redact_url(database));
    let mut server = launch.start().await?;
    let first_start_s = server.ready_after.as_secs_f64();
    let server_desc = env::server_desc(launch);
    memory.push(server.mem("started (empty)"));
    let mut c = client::admin_client(&server.url).await?;
    let (zone_uuid, pod_uuid, cluster_uuid, physnet_uuid) = bench_zone(&c).await?;
    let db = Db::open(database).await.map_err(|e| e.to_string())?;
    let place = seed::Place {
        zone_id: id_of(&db, "zone", &zone_uuid).await?,
        pod_id: id_of(&db, "pod", &pod_uuid).await?,
        cluster_id: id_of(&db, "cluster", &cluster_uuid).await?,
        physnet_id: Some(id_of(&db, "physical_network", &physnet_uuid).await?),
    };
    let base = world_now(&c, &zone_uuid, place.zone_id).await?;
    eprintln!("seeding {plan:?} ...");
    let seeded = seed::seed(&db, place, plan, ferrostack_types::time::now_ms()).await?;
    let analyze = match (args.analyze, db.backend()) {
        (Analyze::Yes, _) | (Analyze::Auto, Backend::Postgres) => Some(seed::analyze(&db).await?.as_secs_f64()),
        (Analyze::No, _) | (Analyze::Auto, Backend::Sqlite) => None,
    };
    memory.push(server.mem("after seeding"));
    let world = World {
        zone_uuid: zone_uuid.clone(),
        zone_id: place.zone_id,
        hosts: base.hosts + seeded.plan.hosts as i64,
        vms: base.vms + seeded.plan.vms as i64,
        running_vms: Some(seeded.running_vms as i64),
        networks: base.networks + seeded.plan.networks as i64,
        routers: base.routers + seeded.plan.routers as i64,
        accounts: base.accounts + seeded.plan.accounts as i64,
        events: base.events + seeded.plan.events as i64,
    };
    let mut lists = vec![
        run_lists(
            "fresh server, seeded rows not connected",
            &c,
            &db,
            &world,
            args.repeat,
            false,
        )
        .await,
    ];
    memory.push(server.mem("after list runs"));
    let mut plans = Vec::new();
    if args.explain {
        let host_id: (i64,) = sqlx::query_as("SELECT COALESCE(MAX(id), 0) FROM host")
            .fetch_one(db.read())
            .await
            .map_err(|e| e.to_string())?;
        let last_offset = ((n.max(1) as i64 - 1) / measure::PAGE_SIZE) * measure::PAGE_SIZE;
        plans = explain::explain_all(&db, place.zone_id, host_id.0 / 2 + 1, last_offset).await?;
    }
    let (mut burst, mut burst_error) = (None, None);
    if args.burst > 0 {
        eprintln!(
            "deploy burst: {} deploys on {} simulator hosts ...",
            args.burst, args.burst_hosts
        );
        match burst::run(&c, args.burst_hosts, args.burst, 1).await {
            Ok(b) => burst = Some(b),
            Err(e) => burst_error = Some(e),
        }
        memory.push(server.mem("after deploy burst"));
    }
    let mut restarted = None;
    if args.restart {
        let w = world_now(&c, &zone_uuid, place.zone_id).await?;
        let (s, r, c2) = restart(server, launch, args, &w, &mut memory).await?;
        server = s;
        c = c2;
        lists.push(run_lists("restarted, every host connected", &c, &db, &w, args.repeat, true).await);
        memory.push(server.mem("restarted: after list runs"));
        restarted = Some(r);
    }
    for run in &lists {
        for row in &run.rows {
            for w in &row.warnings {
                warnings.push(format!("{} / {} page {}: {w}", run.title, row.label, row.page));
            }
        }
    }
    let backend = db.backend();
    db.close().await;
    if !server.is_child() {
        warnings.push("in-process server: RSS includes the benchmark's own memory".into());
    }
    if let Err(e) = server.stop().await {
        warnings.push(e);
    }
    Ok(Report {
        date: env::now(),
        machine: env::machine(),
        database: match backend {
            Backend::Sqlite => "SQLite".into(),
            Backend::Postgres => "PostgreSQL".into(),
        },
        server: server_desc,
        scale: n,
        repeat: args.repeat,
        first_start_s,
        seeded,
        analyze_s: analyze,
        memory,
        lists,
        burst,
        burst_error,
        restart: restarted,
        plans,
        warnings,
    })
}
