//! The server under test: a child process (`ferrostack serve`, so its memory can be read from
//! `/proc/<pid>/status` without the benchmark's own allocations), or, with `--in-process`, the
//! same server started inside this process through `ferrostack_server::start`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use ferrostack_server::{Config, RunningServer};
use serde::Serialize;
use tokio::io::{AsyncBufReadExt, BufReader};

/// How to start the server.
#[derive(Debug, Clone)]
pub struct Launch {
    pub binary: Option<PathBuf>,
    pub data_dir: PathBuf,
    pub database: String,
    pub start_timeout: Duration,
}

enum Kind {
    Child(tokio::process::Child),
    InProcess(Box<RunningServer>),
}

pub struct Server {
    pub url: String,
    /// From spawning to the "listening" line (migrations, seed, host reconnection included).
    pub ready_after: Duration,
    pub pid: u32,
    kind: Kind,
}

/// Memory and CPU of the server process at one moment.
#[derive(Debug, Clone, Serialize)]
pub struct Mem {
    pub label: String,
    pub rss_kb: u64,
    pub hwm_kb: u64,
    pub cpu_s: f64,
}

impl Launch {
    pub async fn start(&self) -> Result<Server, String> {
        match &self.binary {
            Some(bin) => self.spawn(bin).await,
            None => self.in_process().await,
        }
    }

    async fn spawn(&self, bin: &Path) -> Result<Server, String> {
        let log_path = self.data_dir.join("server.log");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| format!("cannot open {}: {e}", log_path.display()))?;
        let t0 = Instant::now();
        let mut child = tokio::process::Command::new(bin)
            .arg("serve")
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(&self.data_dir)
            .arg("--database")
            .arg(&self.database)
            .env("FERROSTACK_LOG", std::env::var("FERROSTACK_LOG").unwrap_or_else(|_| "warn".into()))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e} (build it with `cargo build --release -p ferrostack-server` or pass --server-bin)", bin.display()))?;
        let pid = child.id().ok_or("the server exited at once")?;
        let stdout = child.stdout.take().ok_or("no stdout pipe")?;
        let mut lines = BufReader::new(stdout).lines();
        let url = tokio::time::timeout(self.start_timeout, async {
            while let Some(line) = lines.next_line().await.map_err(|e| e.to_string())? {
                if let Some(u) = line.strip_prefix("ferrostack listening on ") {
                    return Ok(u.trim().to_string());
                }
            }
            Err(format!(
                "the server exited before listening; see {}",
                log_path.display()
            ))
        })
        .await
        .map_err(|_| format!("the server did not listen within {:?}", self.start_timeout))??;
        let ready_after = t0.elapsed();
        // Keep draining stdout so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Server {
            url,
            ready_after,
            pid,
            kind: Kind::Child(child),
        })
    }

    async fn in_process(&self) -> Result<Server, String> {
        let cfg = Config {
            listen: "127.0.0.1:0".parse().map_err(|e| format!("{e}"))?,
            data_dir: self.data_dir.clone(),
            database: self.database.clone(),
            session_timeout_secs: 1800,
            job_workers: 16,
            job_step_delay_ms: 0,
            startup_reconcile_secs: ferrostack_server::config::DEFAULT_STARTUP_RECONCILE_SECS,
            log: None,
        };
        let t0 = Instant::now();
        let s = tokio::time::timeout(self.start_timeout, ferrostack_server::start(&cfg))
            .await
            .map_err(|_| format!("the server did not start within {:?}", self.start_timeout))??;
        Ok(Server {
            url: s.url(),
            ready_after: t0.elapsed(),
            pid: std::process::id(),
            kind: Kind::InProcess(Box::new(s)),
        })
    }
}

impl Server {
    pub fn mem(&self, label: &str) -> Mem {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|r| r.split_whitespace().next())
                .and_then(|n| n.parse().ok())
                .unwrap_or(0)
        };
        Mem {
            label: label.to_string(),
            rss_kb: field("VmRSS:"),
            hwm_kb: field("VmHWM:"),
            cpu_s: cpu_seconds(self.pid),
        }
    }

    pub fn is_child(&self) -> bool {
        matches!(self.kind, Kind::Child(_))
    }

    /// Graceful stop (SIGTERM to a child; `stop()` in process).
    pub async fn stop(self) -> Result<(), String> {
        match self.kind {
            Kind::Child(mut child) => {
                let _ = std::process::Command::new("kill")
                    .arg("-TERM")
                    .arg(self.pid.to_string())
                    .status();
                match tokio::time::timeout(Duration::from_secs(60), child.wait()).await {
                    Ok(r) => r.map(|_| ()).map_err(|e| e.to_string()),
                    Err(_) => {
                        let _ = child.start_kill();
                        let _ = child.wait().await;
                        Err("the server did not stop within 60 s of SIGTERM; killed it".into())
                    }
                }
            }
            Kind::InProcess(s) => {
                s.stop().await;
                Ok(())
            }
        }
    }
}

/// User + system CPU seconds of a process (from `/proc/<pid>/stat`, 100 ticks per second).
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which is in parentheses and may contain spaces).
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state); utime is field 14, stime field 15.
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    (tick(11) + tick(12)) as f64 / 100.0
}
