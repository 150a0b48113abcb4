//! `ferrostack-bench`: start the real server and measure it through the signed HTTP API. It
//! prints numbers; it never passes or fails on time.
//!
//! - `ferrostack-bench [flags]` (no subcommand): the list benchmark — seed N hosts / VMs /
//!   networks straight into the database, time the list calls, report the server's memory, a
//!   deploy burst and (optionally) a restart with every host connected.
//! - `ferrostack-bench load …`: N concurrent clients (admin and plain users) drive a weighted
//!   mix of lists, deploys, stop/start, router reboots and destroys for S seconds.
//! - `ferrostack-bench burst …`: D deploys submitted at once on H simulator hosts.

mod agents;
mod burst;
mod burst_cmd;
mod client;
mod env;
mod explain;
mod list;
mod load;
mod measure;
mod report;
mod seed;
mod server;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "ferrostack-bench",
    args_conflicts_with_subcommands = true,
    about = "Measure a real ferrostack server: list calls at scale (default), a mixed load, a deploy burst",
    long_about = "Without a subcommand: starts `ferrostack serve` as a child process (or in process with --in-process) on \
a fresh database, creates a zone/pod/cluster through the API, seeds hosts, VMs (with NICs and volumes), isolated networks, \
routers, accounts and events with bulk SQL, then times list calls (pagesize=500; first, middle and last page) \
through signed HTTP requests and reports the server's RSS. `load` runs concurrent API clients against a zone of \
simulator hosts brought up through the API; `burst` submits a deploy burst. Prints numbers; never fails on time."
)]
struct Cli {
    #[command(subcommand)]
    cmd: Option<Cmd>,
    #[command(flatten)]
    list: list::ListArgs,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// N concurrent clients drive a weighted mix of API calls for S seconds
    Load(load::LoadArgs),
    /// D deploys submitted at once on H simulator hosts; VMs/s to job completion
    Burst(burst_cmd::BurstArgs),
    /// N `ferrostack agent` processes added as KVM hosts; reconnect time after a restart, agent RSS
    Agents(agents::AgentsArgs),
}

fn finish<T: serde::Serialize>(r: Result<T, String>, print: fn(&T), json: Option<&std::path::Path>) -> ExitCode {
    match r {
        Ok(r) => {
            print(&r);
            if let Some(p) = json {
                if let Err(e) = env::write_json(p, &r) {
                    eprintln!("ferrostack-bench: {e}");
                    return ExitCode::FAILURE;
                }
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ferrostack-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match &cli.cmd {
        None => finish(list::run(&cli.list).await, report::print, cli.list.env.json.as_deref()),
        Some(Cmd::Load(a)) => finish(load::run(a).await, load::report::print, a.env.json.as_deref()),
        Some(Cmd::Burst(a)) => finish(burst_cmd::run(a).await, burst_cmd::print, a.env.json.as_deref()),
        Some(Cmd::Agents(a)) => finish(agents::run(a).await, agents::print, a.env.json.as_deref()),
    }
}
