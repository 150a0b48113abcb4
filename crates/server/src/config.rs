//! Settings: command line > `FERROSTACK_*` environment > TOML file > defaults.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::Args;
use serde::Deserialize;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_STARTUP_RECONCILE_SECS: u64 = 60;

/// Options shared by the subcommands that open the database.
#[derive(Debug, Clone, Args, Default)]
pub struct DbOpts {
    /// Directory for the embedded database and server state
    /// [default: $XDG_DATA_HOME/ferrostack or ~/.local/share/ferrostack]
    #[arg(long, env = "FERROSTACK_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Database URL: sqlite:///path/file.db or postgres://user@host:port/db
    /// [default: SQLite at DATA_DIR/ferrostack.db]
    #[arg(long, env = "FERROSTACK_DATABASE", value_name = "URL")]
    pub database: Option<String>,

    /// TOML file with settings (keys: listen, database, data_dir, session_timeout_secs,
    /// job_workers, startup_reconcile_secs, log)
    #[arg(long, env = "FERROSTACK_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Clone, Args, Default)]
pub struct ServeOpts {
    /// Address to serve the API on (http://ADDR/client/api) [default: 127.0.0.1:8080]
    #[arg(long, env = "FERROSTACK_LISTEN", value_name = "ADDR")]
    pub listen: Option<SocketAddr>,

    #[command(flatten)]
    pub db: DbOpts,

    /// Idle timeout of login sessions, in seconds [default: 1800]
    #[arg(long, env = "FERROSTACK_SESSION_TIMEOUT_SECS", value_name = "SECS")]
    pub session_timeout_secs: Option<i64>,

    /// Async jobs run at once by this server [default: 16]
    #[arg(long, env = "FERROSTACK_JOB_WORKERS", value_name = "N")]
    pub job_workers: Option<usize>,

    /// How long start-up waits for every host to connect and report its VMs' power state
    /// before the API answers; hosts still connecting after that finish in the background
    /// [default: 60]
    #[arg(long, env = "FERROSTACK_STARTUP_RECONCILE_SECS", value_name = "SECS")]
    pub startup_reconcile_secs: Option<u64>,

    /// Testing aid: pause this long before every async-job step, so that crash recovery can
    /// be exercised. Leave at 0 in production.
    #[arg(long, env = "FERROSTACK_JOB_STEP_DELAY_MS", value_name = "MS", default_value_t = 0)]
    pub job_step_delay_ms: u64,
}

/// The TOML file's keys.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<SocketAddr>,
    pub database: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub session_timeout_secs: Option<i64>,
    pub job_workers: Option<usize>,
    pub startup_reconcile_secs: Option<u64>,
    pub log: Option<String>,
}

/// Fully resolved settings.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database: String,
    pub session_timeout_secs: i64,
    pub job_workers: usize,
    pub job_step_delay_ms: u64,
    /// See [`ServeOpts::startup_reconcile_secs`].
    pub startup_reconcile_secs: u64,
    pub log: Option<String>,
}

pub fn read_file(path: &Path) -> Result<FileConfig, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read config file {}: {e}", path.display()))?;
    toml::from_str(&text).map_err(|e| format!("invalid config file {}: {e}", path.display()))
}

fn default_data_dir() -> PathBuf {
    if let Some(x) = std::env::var_os("XDG_DATA_HOME") {
        return PathBuf::from(x).join("ferrostack");
    }
    match std::env::var_os("HOME") {
        Some(h) => PathBuf::from(h).join(".local/share/ferrostack"),
        None => PathBuf::from("ferrostack-data"),
    }
}

impl Config {
    pub fn resolve(opts: &ServeOpts) -> Result<Config, String> {
        let file = match &opts.db.config {
            Some(p) => read_file(p)?,
            None => FileConfig::default(),
        };
        let data_dir = opts
            .db
            .data_dir
            .clone()
            .or(file.data_dir)
            .unwrap_or_else(default_data_dir);
        let database = opts
            .db
            .database
            .clone()
            .or(file.database)
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("ferrostack.db").display()));
        let listen = match opts.listen.or(file.listen) {
            Some(l) => l,
            None => DEFAULT_LISTEN.parse().map_err(|e| format!("{e}"))?,
        };
        let session_timeout_secs = opts.session_timeout_secs.or(file.session_timeout_secs).unwrap_or(1800);
        if session_timeout_secs < 60 {
            return Err("session_timeout_secs must be at least 60".into());
        }
        let job_workers = opts.job_workers.or(file.job_workers).unwrap_or(16).max(1);
        Ok(Config {
            listen,
            data_dir,
            database,
            session_timeout_secs,
            job_workers,
            job_step_delay_ms: opts.job_step_delay_ms,
            startup_reconcile_secs: opts
                .startup_reconcile_secs
                .or(file.startup_reconcile_secs)
                .unwrap_or(DEFAULT_STARTUP_RECONCILE_SECS),
            log: file.log,
        })
    }

    pub fn db_only(opts: &DbOpts) -> Result<Config, String> {
        Config::resolve(&ServeOpts {
            db: opts.clone(),
            ..ServeOpts::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_values_apply_and_flags_win() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f.toml");
        std::fs::write(&f, "listen = \"127.0.0.1:9999\"\nsession_timeout_secs = 600\n").unwrap();
        let mut o = ServeOpts {
            db: DbOpts {
                config: Some(f.clone()),
                data_dir: Some(dir.path().into()),
                database: None,
            },
            ..Default::default()
        };
        let c = Config::resolve(&o).unwrap();
        assert_eq!(c.listen.port(), 9999);
        assert_eq!(c.session_timeout_secs, 600);
        assert!(c.database.ends_with("ferrostack.db"));
        o.listen = Some("127.0.0.1:7000".parse().unwrap());
        assert_eq!(Config::resolve(&o).unwrap().listen.port(), 7000);
        std::fs::write(&f, "bogus = 1\n").unwrap();
        assert!(Config::resolve(&o).is_err());
    }
}
