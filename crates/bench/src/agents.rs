//! `ferrostack-bench agents`: N host agents (`ferrostack agent --backend simulator`, each its
//! own process on the authenticated HTTP link) added as KVM hosts, then the management server
//! restarted: how long until every host is connected again, and what an agent costs in memory.

use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::client::{self, Client};
use crate::env::{self, EnvArgs};
use crate::server::Launch;

#[derive(clap::Args, Debug)]
pub struct AgentsArgs {
    /// Agent processes to start
    #[arg(long, default_value_t = 100)]
    pub count: usize,
    #[command(flatten)]
    pub env: EnvArgs,
}

#[derive(Debug, Clone, Serialize)]
pub struct AgentsReport {
    pub date: String,
    pub machine: String,
    pub database: String,
    pub agents: usize,
    /// addHost of every agent, one after the other.
    pub add_all_s: f64,
    /// Management-server restart: spawn to listening (it connects every host first).
    pub restart_to_listening_s: f64,
    /// Hosts Up right after the restarted server answers.
    pub up_after_restart: usize,
    pub agent_rss_kb_avg: u64,
    pub agent_rss_kb_max: u64,
    pub warnings: Vec<String>,
}

struct Agents(Vec<tokio::process::Child>);

impl Drop for Agents {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.start_kill();
        }
    }
}

pub async fn run(a: &AgentsArgs) -> Result<AgentsReport, String> {
    let e = env::Env::prepare(&a.env).await?;
    let r = env::interruptible(agents(a, &e.launch, e.dir())).await;
    e.finish().await;
    r
}

async fn spawn_agent(
    bin: &std::path::Path,
    dir: &std::path::Path,
    i: usize,
) -> Result<(tokio::process::Child, String), String> {
    let d = dir.join(format!("agent-{i}"));
    std::fs::create_dir_all(&d).map_err(|e| e.to_string())?;
    let creds = d.join("credentials");
    std::fs::write(&creds, "root:bench-password\n").map_err(|e| e.to_string())?;
    let mut child = tokio::process::Command::new(bin)
        .args([
            "agent",
            "--backend",
            "simulator",
            "--listen",
            "127.0.0.1:0",
            "--credentials",
        ])
        .arg(&creds)
        .arg("--data-dir")
        .arg(d.join("data"))
        .env("FERROSTACK_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start {} agent: {e}", bin.display()))?;
    let mut lines = BufReader::new(child.stdout.take().ok_or("no stdout")?).lines();
    let line = lines.next_line().await.map_err(|e| e.to_string())?.unwrap_or_default();
    let url = line
        .strip_prefix("ferrostack agent listening on ")
        .ok_or_else(|| format!("agent {i} did not start: {line:?}"))?
        .to_string();
    Ok((child, url))
}

async fn zone(c: &Client) -> Result<(String, String, String), String> {
    let z = c
        .get(
            "createZone",
            &[
                ("name", "agents"),
                ("networktype", "Advanced"),
                ("isedge", "true"),
                ("dns1", "8.8.8.8"),
                ("internaldns1", "10.0.0.2"),
            ],
        )
        .await?;
    let zone = z.str_at("/zone/id").ok_or("createZone")?;
    let p = c.get("createPod", &[("name", "pod1"), ("zoneid", &zone)]).await?;
    let pod = p.str_at("/pod/id").ok_or("createPod")?;
    let cl = c
        .get(
            "addCluster",
            &[
                ("clustername", "kvm"),
                ("clustertype", "CloudManaged"),
                ("hypervisor", "KVM"),
                ("podid", &pod),
                ("zoneid", &zone),
            ],
        )
        .await?;
    let cluster = cl.str_at("/cluster/0/id").ok_or("addCluster")?;
    Ok((zone, pod, cluster))
}

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

async fn agents(a: &AgentsArgs, launch: &Launch, dir: &std::path::Path) -> Result<AgentsReport, String> {
    let bin = launch
        .binary
        .clone()
        .ok_or("the agents benchmark runs the server as a child process; drop --in-process")?;
    eprintln!("starting {} agents ...", a.count);
    let mut children = Agents(Vec::new());
    let mut urls = Vec::new();
    for i in 0..a.count {
        let (c, u) = spawn_agent(&bin, dir, i).await?;
        children.0.push(c);
        urls.push(u);
    }
    let server = launch.start().await?;
    let c = client::admin_client(&server.url).await?;
    let (zone, pod, cluster) = zone(&c).await?;
    eprintln!("adding them as KVM hosts ...");
    let t = Instant::now();
    for u in &urls {
        let h = c
            .get(
                "addHost",
                &[
                    ("hypervisor", "KVM"),
                    ("zoneid", &zone),
                    ("podid", &pod),
                    ("clusterid", &cluster),
                    ("url", u),
                    ("username", "root"),
                    ("password", "bench-password"),
                ],
            )
            .await?;
        h.ok("addHost")?;
    }
    let add_all_s = t.elapsed().as_secs_f64();
    let rss: Vec<u64> = children.0.iter().filter_map(|c| c.id()).map(rss_kb).collect();
    eprintln!("restarting the management server ...");
    server.stop().await?;
    let again = launch.start().await?;
    let c = client::admin_client(&again.url).await?;
    let hosts = c.get("listHosts", &[("zoneid", &zone), ("state", "Up")]).await?;
    hosts.ok("listHosts")?;
    let up = hosts.count() as usize;
    let restart_to_listening_s = again.ready_after.as_secs_f64();
    let mut warnings = Vec::new();
    if up < a.count {
        // The restart serves after its bounded reconcile; the rest connect in the background.
        tokio::time::sleep(Duration::from_secs(1)).await;
        warnings.push(format!(
            "{up} of {} hosts Up when the restarted server answered",
            a.count
        ));
    }
    if let Err(e) = again.stop().await {
        warnings.push(e);
    }
    Ok(AgentsReport {
        date: env::now(),
        machine: env::machine(),
        database: env::engine(&launch.database),
        agents: a.count,
        add_all_s,
        restart_to_listening_s,
        up_after_restart: up,
        agent_rss_kb_avg: rss.iter().sum::<u64>() / rss.len().max(1) as u64,
        agent_rss_kb_max: rss.iter().copied().max().unwrap_or(0),
        warnings,
    })
}

pub fn print(r: &AgentsReport) {
    println!(
        "agents: {} simulated-backend agent processes over the HTTP link ({}, {})",
        r.agents, r.database, r.machine
    );
    println!("  addHost all, sequential        {:>8.2} s", r.add_all_s);
    println!(
        "  restart → listening (all connected) {:>8.2} s   hosts Up then: {}/{}",
        r.restart_to_listening_s, r.up_after_restart, r.agents
    );
    println!(
        "  agent RSS                       avg {} KB, max {} KB",
        r.agent_rss_kb_avg, r.agent_rss_kb_max
    );
    for w in &r.warnings {
        println!("  warning: {w}");
    }
}
