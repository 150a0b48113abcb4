//! `ferrostack-bench load`: a fresh server, a zone of simulator hosts brought up through the
//! API, admin and plain-user clients driving a weighted mix of API calls concurrently for S
//! seconds; per-command latency percentiles, job completion, errors by code, throughput.

pub mod mix;
mod record;
pub mod report;
mod setup;
mod worker;

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::SeedableRng;
use tokio::task::JoinSet;

use self::mix::{Mix, DEFAULT_MIX};
use self::record::Recorder;
use self::report::{LoadReport, Prepopulated, Totals};
use self::worker::Worker;
use crate::client;
use crate::env::{self, EnvArgs};
use crate::server::Launch;

#[derive(clap::Args, Debug)]
pub struct LoadArgs {
    /// Concurrent clients (tokio tasks, each with a signed client and connections of its own)
    #[arg(long, default_value_t = 8)]
    pub clients: usize,
    /// Seconds the clients draw new operations for (operations under way then are finished)
    #[arg(long, default_value_t = 30)]
    pub seconds: u64,
    /// Weighted operations: list, deploy, stopstart, reboot-router (= restart-router, admin only;
    /// plain users draw from the rest), destroy
    #[arg(long, default_value = DEFAULT_MIX)]
    pub mix: String,
    /// Clients that use the admin's keys; the others are plain users [default: clients - clients/2]
    #[arg(long)]
    pub admins: Option<usize>,
    /// Plain users, each in an account of its own; user clients take them in turn
    /// [default: clients/2, at least 1 when there are user clients]
    #[arg(long)]
    pub users: Option<usize>,
    /// Simulator hosts added through addHost
    #[arg(long, default_value_t = 4)]
    pub hosts: usize,
    /// VMs deployed before the timed run, spread over the clients as their own
    #[arg(long, default_value_t = 50)]
    pub vms: usize,
    /// Also an isolated network (source NAT from a public range) that admin clients deploy on
    /// every other time
    #[arg(long)]
    pub isolated: bool,
    /// Seed of the clients' random draws
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Seconds a client follows one job before counting it as not finished
    #[arg(long, default_value_t = 300)]
    pub job_timeout: u64,
    /// Seconds one HTTP request may take before it counts as a transport error
    #[arg(long, default_value_t = 120)]
    pub request_timeout: u64,
    #[command(flatten)]
    pub env: EnvArgs,
}

/// The checked plan of one run.
struct Plan {
    mix: Mix,
    admin_mix: Mix,
    user_mix: Option<Mix>,
    admins: usize,
    user_clients: usize,
    users: usize,
}

fn plan(a: &LoadArgs) -> Result<Plan, String> {
    if a.clients == 0 {
        return Err("--clients must be at least 1".into());
    }
    let mix = Mix::parse(&a.mix)?;
    let admins = a.admins.unwrap_or(a.clients - a.clients / 2);
    if admins > a.clients {
        return Err(format!("--admins {admins} is more than --clients {}", a.clients));
    }
    let user_clients = a.clients - admins;
    let users = a.users.unwrap_or((a.clients / 2).max(usize::from(user_clients > 0)));
    if user_clients > 0 && users == 0 {
        return Err(format!(
            "{user_clients} user clients but --users 0: give --users 1 or more, or --admins {}",
            a.clients
        ));
    }
    let user_mix = mix.for_role(false);
    if user_clients > 0 && user_mix.is_none() {
        return Err(format!(
            "--mix {mix} has only admin operations, which the {user_clients} plain-user clients may not run; \
             add one they may (list, deploy, stopstart, destroy) or use --admins {}",
            a.clients
        ));
    }
    let admin_mix = mix.for_role(true).ok_or("--mix has no operation with a weight")?;
    Ok(Plan {
        mix,
        admin_mix,
        user_mix,
        admins,
        user_clients,
        users,
    })
}

pub async fn run(a: &LoadArgs) -> Result<LoadReport, String> {
    let p = plan(a)?;
    let e = env::Env::prepare(&a.env).await?;
    let r = env::interruptible(load(a, &p, &e.launch)).await;
    e.finish().await;
    r
}

/// Run `f` on every worker concurrently; the workers come back in id order.
async fn on_all<F, Fut>(workers: Vec<Worker>, f: F) -> Result<Vec<(Worker, usize)>, String>
where
    F: Fn(Worker) -> Fut,
    Fut: std::future::Future<Output = (Worker, usize)> + Send + 'static,
{
    let mut set = JoinSet::new();
    for w in workers {
        set.spawn(f(w));
    }
    let mut out = Vec::new();
    while let Some(r) = set.join_next().await {
        out.push(r.map_err(|e| format!("a load client failed: {e}"))?);
    }
    out.sort_by_key(|(w, _)| w.id);
    Ok(out)
}

async fn load(a: &LoadArgs, p: &Plan, launch: &Launch) -> Result<LoadReport, String> {
    eprintln!(
        "starting the server on {} ...",
        ferrostack_db::redact_url(&launch.database)
    );
    let server = launch.start().await?;
    let first_start_s = server.ready_after.as_secs_f64();
    let mut memory = vec![server.mem("started (empty)")];
    let admin = client::admin_client(&server.url).await?;
    let timeout = Duration::from_secs(a.request_timeout);

    eprintln!(
        "bringing up zone `load`: {} simulator hosts, a shared network{}, {} users ...",
        a.hosts,
        if a.isolated { " and an isolated one" } else { "" },
        p.users
    );
    let t = Instant::now();
    let target = Arc::new(setup::zone(&admin, a.hosts, a.isolated).await?);
    let users = setup::users(&admin, p.users, timeout).await?;
    let setup_s = t.elapsed().as_secs_f64();

    let mut workers = Vec::with_capacity(a.clients);
    for i in 0..a.clients {
        let is_admin = i < p.admins;
        let (c, mix) = if is_admin {
            (admin.fork(timeout)?, p.admin_mix.clone())
        } else {
            let mix = p.user_mix.clone().ok_or("no user mix")?;
            (users[(i - p.admins) % users.len()].fork(timeout)?, mix)
        };
        let rng = rand::rngs::StdRng::seed_from_u64(a.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(i as u64));
        workers.push(Worker::new(
            i,
            is_admin,
            c,
            mix,
            rng,
            target.clone(),
            Duration::from_secs(a.job_timeout),
        ));
    }

    eprintln!("pre-deploying {} VMs from the {} clients ...", a.vms, a.clients);
    let t = Instant::now();
    let (n, vms) = (a.clients, a.vms);
    let done = on_all(workers, |mut w| async move {
        let share = vms / n + usize::from(w.id < vms % n);
        let ok = w.deploy_n(share).await;
        (w, ok)
    })
    .await?;
    let mut prepop_rec = Recorder::default();
    let mut deployed = 0;
    let mut workers = Vec::with_capacity(done.len());
    for (mut w, ok) in done {
        deployed += ok;
        prepop_rec.merge(std::mem::take(&mut w.rec));
        workers.push(w);
    }
    let prepopulated = Prepopulated {
        requested: a.vms,
        deployed,
        seconds: t.elapsed().as_secs_f64(),
        errors: prepop_rec.rows().into_iter().flat_map(|r| r.errors).collect(),
    };
    let before = server.mem("before the load");
    memory.push(before.clone());

    eprintln!(
        "load: {} clients ({} admin, {} user) for {} s, mix {} ...",
        a.clients, p.admins, p.user_clients, a.seconds, p.mix
    );
    let t = Instant::now();
    let deadline = t + Duration::from_secs(a.seconds);
    let done = on_all(workers, |mut w| async move {
        w.run_until(deadline).await;
        let left = w.own_vms();
        (w, left)
    })
    .await?;
    let elapsed_s = t.elapsed().as_secs_f64();
    let after = server.mem("after the load");
    memory.push(after.clone());

    let mut rec = Recorder::default();
    let mut own_vms_left = 0;
    for (w, left) in done {
        own_vms_left += left;
        rec.merge(w.rec);
    }
    let commands = rec.rows();
    let totals = Totals::of(&commands, elapsed_s);

    let mut warnings = Vec::new();
    if !server.is_child() {
        warnings.push("in-process server: RSS and CPU include the benchmark's own".into());
    }
    if let Err(e) = server.stop().await {
        warnings.push(e);
    }
    Ok(LoadReport {
        date: env::now(),
        machine: env::machine(),
        database: env::engine(&launch.database),
        server: env::server_desc(launch),
        clients: a.clients,
        admin_clients: p.admins,
        user_clients: p.user_clients,
        user_accounts: p.users,
        hosts: a.hosts,
        isolated: a.isolated,
        seconds: a.seconds,
        mix: p.mix.to_string(),
        seed: a.seed,
        first_start_s,
        setup_s,
        prepopulated,
        elapsed_s,
        server_cpu_s: after.cpu_s - before.cpu_s,
        totals,
        commands,
        ops: rec.ops,
        own_vms_left,
        memory,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        load: LoadArgs,
    }

    fn plan_of(args: &[&str]) -> Result<Plan, String> {
        let cli = Cli::try_parse_from([&["load"], args].concat()).map_err(|e| e.to_string())?;
        plan(&cli.load)
    }

    #[test]
    fn clients_split_between_admin_and_users() {
        let p = plan_of(&[]).unwrap();
        assert_eq!((p.admins, p.user_clients, p.users), (4, 4, 4));
        let p = plan_of(&["--clients", "5"]).unwrap();
        assert_eq!((p.admins, p.user_clients, p.users), (3, 2, 2));
        let p = plan_of(&["--clients", "1"]).unwrap();
        assert_eq!((p.admins, p.user_clients, p.users), (1, 0, 0));
        let p = plan_of(&["--clients", "1", "--admins", "0"]).unwrap();
        assert_eq!((p.admins, p.user_clients, p.users), (0, 1, 1));
        assert!(p.user_mix.unwrap().to_string().find("reboot").is_none());
    }

    #[test]
    fn refuses_plans_that_cannot_run() {
        assert!(plan_of(&["--clients", "0"]).is_err());
        assert!(plan_of(&["--clients", "2", "--admins", "3"]).is_err());
        assert!(plan_of(&["--clients", "2", "--users", "0"]).is_err());
        assert!(plan_of(&["--mix", "reboot-router=1"]).is_err());
        assert!(plan_of(&["--mix", "reboot-router=1", "--admins", "8"]).is_ok());
        assert!(plan_of(&["--mix", "bogus=1"]).is_err());
    }
}
