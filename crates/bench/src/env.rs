//! What every mode shares: the flags that say where the server runs and on which database, the
//! temporary data directory and PostgreSQL database made for one run, their removal at the end
//! (also after an error or ctrl-c), the machine description and the JSON output.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use sqlx::AssertSqlSafe;

use crate::server::Launch;

/// Where the server runs and on which database.
#[derive(clap::Args, Debug, Clone)]
pub struct EnvArgs {
    /// Database: `postgres://user@host:port/db` (a fresh database ferrostack_bench_<random> is created
    /// beside it and dropped at the end) or `sqlite:///path/file.db`; default: SQLite in a temp dir
    #[arg(long)]
    pub database: Option<String>,
    /// The server binary to run as a child process [default: `ferrostack` next to this binary]
    #[arg(long)]
    pub server_bin: Option<PathBuf>,
    /// Start the server inside this process instead (RSS then includes the benchmark itself)
    #[arg(long, conflicts_with = "server_bin")]
    pub in_process: bool,
    /// Write the full report as JSON to this file
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Keep the data directory (and the PostgreSQL database) afterwards
    #[arg(long)]
    pub keep: bool,
    /// Seconds to wait for the server to listen (a restart connects every host first)
    #[arg(long, default_value_t = 3600)]
    pub start_timeout: u64,
}

/// The data directory and database of one run, removed by `finish`.
pub struct Env {
    dir: tempfile::TempDir,
    /// (base URL, database name) of a PostgreSQL database created for this run.
    pg: Option<(String, String)>,
    pub database: String,
    pub launch: Launch,
    keep: bool,
}

impl Env {
    /// The run's scratch directory (removed with the run unless --keep).
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    pub async fn prepare(a: &EnvArgs) -> Result<Env, String> {
        let dir = tempfile::Builder::new()
            .prefix("ferrostack-bench-")
            .tempdir()
            .map_err(|e| e.to_string())?;
        let (database, pg) = match &a.database {
            Some(u) if u.starts_with("postgres://") || u.starts_with("postgresql://") => {
                let (url, name) = create_pg(u).await?;
                (url, Some((u.clone(), name)))
            }
            Some(u) => (u.clone(), None),
            None => (format!("sqlite://{}", dir.path().join("ferrostack.db").display()), None),
        };
        let launch = Launch {
            binary: server_binary(a),
            data_dir: dir.path().to_path_buf(),
            database: database.clone(),
            start_timeout: Duration::from_secs(a.start_timeout),
        };
        Ok(Env {
            dir,
            pg,
            database,
            launch,
            keep: a.keep,
        })
    }

    /// Remove the data directory and drop the PostgreSQL database (unless --keep).
    pub async fn finish(self) {
        if self.keep {
            eprintln!(
                "kept: data dir {}, database {}",
                self.dir.keep().display(),
                ferrostack_db::redact_url(&self.database)
            );
            return;
        }
        if let Some((base, name)) = &self.pg {
            drop_pg(base, name).await;
        }
        // The temporary directory is removed when `self.dir` drops here.
    }
}

/// Run `f` until it ends or ctrl-c arrives. On ctrl-c `f` is dropped, which kills a child
/// server (`kill_on_drop`) or drops the in-process one, so the caller's `Env::finish` can
/// remove what the run created.
pub async fn interruptible<T>(f: impl Future<Output = Result<T, String>>) -> Result<T, String> {
    tokio::select! {
        r = f => r,
        _ = tokio::signal::ctrl_c() => Err("interrupted (ctrl-c); the server was stopped".into()),
    }
}

/// `None`: start the server in process.
fn server_binary(a: &EnvArgs) -> Option<PathBuf> {
    if a.in_process {
        return None;
    }
    Some(match &a.server_bin {
        Some(b) => b.clone(),
        None => std::env::current_exe()
            .ok()
            .and_then(|p| p.parent().map(|d| d.join("ferrostack")))
            .filter(|p| p.exists())
            .unwrap_or_else(|| PathBuf::from("target/release/ferrostack")),
    })
}

/// How the report names the server under test.
pub fn server_desc(launch: &Launch) -> String {
    match &launch.binary {
        Some(b) => format!("child process {}", b.display()),
        None => "in process (RSS includes the benchmark)".into(),
    }
}

/// "SQLite" or "PostgreSQL", from the database URL.
pub fn engine(database: &str) -> String {
    if database.starts_with("postgres://") || database.starts_with("postgresql://") {
        "PostgreSQL".into()
    } else {
        "SQLite".into()
    }
}

pub fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string()
}

pub fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|r| r.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let mem_kb: u64 = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    format!("{cores} cores ({model}), {:.1} GB RAM", mem_kb as f64 / 1024.0 / 1024.0)
}

/// Write a report as pretty JSON.
pub fn write_json<T: Serialize>(path: &Path, report: &T) -> Result<(), String> {
    let s = serde_json::to_string_pretty(report).map_err(|e| format!("cannot serialise the report: {e}"))?;
    std::fs::write(path, s).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// A fresh PostgreSQL database beside `base`; returns its URL.
async fn create_pg(base: &str) -> Result<(String, String), String> {
    use sqlx::Connection;
    let name = format!("ferrostack_bench_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let mut c = sqlx::PgConnection::connect(base)
        .await
        .map_err(|e| format!("cannot connect to {}: {e}", ferrostack_db::redact_url(base)))?;
    sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut c)
        .await
        .map_err(|e| format!("CREATE DATABASE {name}: {e}"))?;
    let _ = c.close().await;
    let i = base
        .rfind('/')
        .filter(|i| *i > "postgres://".len())
        .ok_or("the PostgreSQL URL must end with /<database>")?;
    Ok((format!("{}/{name}", &base[..i]), name))
}

async fn drop_pg(base: &str, name: &str) {
    use sqlx::Connection;
    if let Ok(mut c) = sqlx::PgConnection::connect(base).await {
        let _ = sqlx::raw_sql(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
            .execute(&mut c)
            .await;
    }
}
