//! Wiring: open and migrate the database, seed it, build the application and the job engine,
//! reconcile with the hosts, and serve the API until told to stop. [`start`] is what
//! `ferrostack serve` and the integration tests both use.
//!
//! Start-up order: the simulator loads its saved hosts; every host is connected and its
//! power report applied ([`App::host_startup_reconcile`]); then jobs resume and the API
//! answers, so neither sees a VM or router as Running that its host does not run. The
//! reconcile is bounded by `startup_reconcile_secs`: past that, the server serves anyway and
//! the remaining hosts finish connecting in the background before the monitor's first round.

pub mod config;
pub mod host_agent;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ferrostack_app::{bootstrap, job::JobEvents, App, AppConfig};
use ferrostack_db::Db;
use ferrostack_jobs::{Engine, EngineConfig};
use ferrostack_types::time::now_ms;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use config::Config;

/// A running server: its bound address and the handle to stop it.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub app: Arc<App>,
    /// The simulator hypervisor injected into the application (tests inspect it).
    pub sim: Arc<ferrostack_sim::Simulator>,
    quiescer: Quiescer,
    shutdown: watch::Sender<bool>,
    http: JoinHandle<()>,
    jobs: JoinHandle<()>,
    background: JoinHandle<()>,
    monitor: JoinHandle<()>,
    /// The start-up reconcile, in case it outlived its bound.
    reconcile: tokio::task::AbortHandle,
}

impl RunningServer {
    pub fn url(&self) -> String {
        format!("http://{}/client/api", self.addr)
    }

    /// Graceful stop: in-flight requests finish, jobs stop at a step boundary.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        let _ = self.http.await;
        let _ = self.jobs.await;
        self.background.abort();
        self.monitor.abort();
        self.reconcile.abort();
        self.app.db.close().await;
    }

    /// Test hook: run background work to quiescence — no job due or running and no follow-up
    /// due — so tests assert after the work, not after a guess. Follow-ups that fail stay
    /// pending with a back-off and do not count as due; the loop is bounded in case work keeps
    /// creating work.
    pub async fn quiesce(&self) -> Result<(), ferrostack_types::Error> {
        self.quiescer.quiesce().await
    }

    /// The quiescing test hook as a handle of its own (test clients keep one).
    pub fn quiescer(&self) -> Quiescer {
        self.quiescer.clone()
    }

    /// Stop without letting anything finish (tests of crash recovery): tasks are aborted.
    pub async fn kill(self) {
        self.http.abort();
        self.jobs.abort();
        self.background.abort();
        self.monitor.abort();
        self.reconcile.abort();
        let _ = self.http.await;
        let _ = self.jobs.await;
        self.app.db.close().await;
    }
}

/// The test hook behind [`RunningServer::quiesce`]. It shares a gate with the host monitor
/// task: the start-up reconcile holds it while it reconnects hosts, and the monitor while it runs
/// follow-ups and expunges in each round, and `quiesce` holds it throughout, so no follow-up
/// is in flight in the monitor (leased, hence invisible to our claim) when `quiesce` reports
/// that none is due.
#[derive(Clone)]
pub struct Quiescer {
    app: Arc<App>,
    gate: Arc<tokio::sync::Mutex<()>>,
}

impl Quiescer {
    pub fn app(&self) -> &Arc<App> {
        &self.app
    }

    /// Wait for the job engine to be idle, run the due follow-ups, and repeat until a round
    /// finds none. Requires the engine's run loop (started by [`start`]).
    pub async fn quiesce(&self) -> Result<(), ferrostack_types::Error> {
        self.quiesce_at(None).await
    }

    /// [`Quiescer::quiesce`] with the follow-ups' clock reading `now` (tests move it past a
    /// back-off instead of sleeping through it); `None` is the real clock.
    pub async fn quiesce_at(&self, now: Option<i64>) -> Result<(), ferrostack_types::Error> {
        let _gate = self.gate.lock().await;
        for _ in 0..100 {
            self.app.jobs.wait_idle().await;
            if self.app.followup_tick_at(now.unwrap_or_else(now_ms)).await? == 0 {
                self.app.jobs.wait_idle().await;
                return Ok(());
            }
        }
        Err(ferrostack_types::Error::internal(
            "background work did not quiesce after 100 rounds",
        ))
    }
}

/// This server's stable id, kept in the data directory so a restarted server recognises (and
/// resumes) the jobs it owned.
pub fn server_id(data_dir: &Path) -> Result<String, String> {
    std::fs::create_dir_all(data_dir)
        .map_err(|e| format!("cannot create data directory {}: {e}", data_dir.display()))?;
    let path = data_dir.join("server-id");
    if let Ok(s) = std::fs::read_to_string(&path) {
        let s = s.trim();
        if !s.is_empty() {
            return Ok(s.to_string());
        }
    }
    let id = uuid::Uuid::new_v4().to_string();
    std::fs::write(&path, &id).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(id)
}

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Open the database, seed it and start serving. Refuses a non-loopback address while the
/// admin password is still the default.
pub async fn start(cfg: &Config) -> Result<RunningServer, String> {
    let db = Db::open(&cfg.database).await.map_err(|e| e.client_message(""))?;
    bootstrap::seed(&db).await.map_err(|e| e.to_string())?;
    if !cfg.listen.ip().is_loopback()
        && bootstrap::admin_password_is_default(&db)
            .await
            .map_err(|e| e.to_string())?
    {
        db.close().await;
        return Err(format!(
            "refusing to listen on {} while the admin password is still the default 'password'. \
             Change it first: `ferrostack set-password --username admin` (same --data-dir/--database), \
             or listen on 127.0.0.1 and call updateUser with a new password",
            cfg.listen
        ));
    }
    let msid = server_id(&cfg.data_dir)?;
    let engine = Arc::new(Engine::new(
        db.clone(),
        EngineConfig {
            owner: msid.clone(),
            lease: Duration::from_secs(30),
            max_concurrent: cfg.job_workers,
            step_delay: Duration::from_millis(cfg.job_step_delay_ms),
            poll_interval: Duration::from_millis(500),
        },
        ferrostack_app::sagas::all(),
        Arc::new(ferrostack_api::JobRenderer),
        Arc::new(JobEvents),
    ));
    let sim_dir = cfg.data_dir.join("simulator");
    let sim = tokio::task::spawn_blocking(move || ferrostack_sim::Simulator::new(sim_dir))
        .await
        .map_err(|e| format!("loading the simulator's hosts failed: {e}"))?;
    let connectors: Vec<Arc<dyn ferrostack_agent_api::Connector>> =
        vec![sim.clone(), Arc::new(ferrostack_agent_http::HttpConnector::new("KVM"))];
    let control: Arc<dyn ferrostack_agent_api::control::SimulatorControl> = sim.clone();
    let app = Arc::new(App::new(
        db.clone(),
        engine.clone(),
        AppConfig {
            msid: msid.clone(),
            version: VERSION.to_string(),
            session_timeout_secs: cfg.session_timeout_secs,
        },
        connectors,
        Some(control),
    ));
    app.init();
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", cfg.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    app.set_public_url(format!("http://{addr}"));
    let quiescer = Quiescer {
        app: app.clone(),
        gate: Arc::default(),
    };
    // The heartbeat first: a long reconcile must not make this server look dead to others.
    let background = tokio::spawn(ferrostack_db::held::scope(background(app.clone(), msid)));
    // Connect hosts → apply their power reports → resume jobs and serve.
    let (reconcile, pending) =
        ferrostack_db::held::scope(startup_reconcile(&app, &quiescer.gate, cfg.startup_reconcile_secs)).await;
    let (tx, rx) = watch::channel(false);
    let router = ferrostack_api::router(app.clone());
    let mut http_rx = rx.clone();
    let http = tokio::spawn(async move {
        let r = axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = http_rx.wait_for(|s| *s).await;
            })
            .await;
        if let Err(e) = r {
            tracing::error!(error = %e, "HTTP server failed");
        }
    });
    let jobs = tokio::spawn(engine.run(app.clone(), rx.clone()));
    let monitor = tokio::spawn(ferrostack_db::held::scope(host_monitor(
        app.clone(),
        quiescer.gate.clone(),
        pending,
    )));
    Ok(RunningServer {
        addr,
        app,
        sim,
        quiescer,
        shutdown: tx,
        http,
        jobs,
        background,
        monitor,
        reconcile,
    })
}

/// Run the start-up reconcile (holding the quiescing gate) and wait for it at most `limit_secs`.
/// Returns its abort handle and, when it outlived the bound, its join handle (the monitor
/// waits for it before its first round).
async fn startup_reconcile(
    app: &Arc<App>,
    gate: &Arc<tokio::sync::Mutex<()>>,
    limit_secs: u64,
) -> (tokio::task::AbortHandle, Option<JoinHandle<()>>) {
    let guard = gate.clone().lock_owned().await;
    let started = std::time::Instant::now();
    let task_app = app.clone();
    let mut task = tokio::spawn(async move {
        let _gate = guard;
        match task_app.host_startup_reconcile().await {
            Ok(r) => tracing::info!(
                hosts = r.hosts,
                connected = r.connected,
                power_reports = r.synced,
                ms = started.elapsed().as_millis() as u64,
                "hosts reconnected and their power state reconciled"
            ),
            Err(e) => tracing::warn!(error = %e, "reconnecting hosts at start-up failed"),
        }
    });
    let abort = task.abort_handle();
    match tokio::time::timeout(Duration::from_secs(limit_secs), &mut task).await {
        Ok(_) => (abort, None),
        Err(_) => {
            tracing::warn!(
                limit_secs,
                "hosts are still reconnecting after the start-up bound; serving now. Until a host's \
                 power report arrives its VMs and routers show their last recorded state \
                 (raise --startup-reconcile-secs to wait longer)"
            );
            (abort, Some(task))
        }
    }
}

/// Periodic work: heartbeat into the management-server table, expire idle sessions (every
/// 10 s), and advance simulated template downloads (every second).
async fn background(app: Arc<App>, msid: String) {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".into());
    let mut tick: u64 = 0;
    loop {
        if let Err(e) = app.template_downloads_tick().await {
            tracing::warn!(error = %e, "template download tick failed");
        }
        tick += 1;
        if tick % 10 != 1 {
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        let now = now_ms();
        if let Err(e) = ferrostack_db::mshost::heartbeat(
            app.db.write(),
            &msid,
            &host,
            VERSION,
            ferrostack_types::state::MshostState::Up,
            now,
        )
        .await
        {
            tracing::warn!(error = %e, "management server heartbeat failed");
        }
        let cutoff = now - app.config.session_timeout_secs * 1000;
        if let Err(e) = ferrostack_db::session::expire(app.db.write(), cutoff).await {
            tracing::warn!(error = %e, "session expiry failed");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// The host liveness monitor (a round every 500 ms pings the hosts that are due, and keeps a
/// power watcher on each host that announces changes), the follow-up worker, and the expunger
/// of destroyed VMs. It starts once the start-up reconcile is done (`pending`, if it outlived
/// its bound).
///
/// Each round holds `gate` (shared with [`Quiescer`]) while it runs follow-ups and expunges,
/// never while it pings or sleeps.
async fn host_monitor(app: Arc<App>, gate: Arc<tokio::sync::Mutex<()>>, pending: Option<JoinHandle<()>>) {
    if let Some(reconcile) = pending {
        let _ = reconcile.await;
    }
    let mut round: u64 = 0;
    // One long poll per host whose agent announces power changes; dropped (and so stopped)
    // with this task.
    let mut watchers = ferrostack_app::power_watch::PowerWatchers::default();
    loop {
        watchers.supervise(&app);
        if monitor_round(&app, &gate, &mut round).await {
            continue;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// One round of the monitor; true when follow-ups were run (the next round starts at once).
async fn monitor_round(app: &App, gate: &tokio::sync::Mutex<()>, round: &mut u64) -> bool {
    // Pings are outside the gate (a slow host must not hold up a test's quiesce); what they
    // change (a host back Up makes its follow-ups due) is picked up by the next claim.
    if let Err(e) = app.host_monitor_tick().await {
        tracing::warn!(error = %e, "host monitor round failed");
    }
    let _gate = gate.lock().await;
    match app.followup_tick().await {
        Ok(n) if n > 0 => return true,
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "follow-up round failed"),
    }
    *round += 1;
    if round.is_multiple_of(20) {
        if let Err(e) = app.vm_expunge_tick().await {
            tracing::warn!(error = %e, "expunge round failed");
        }
    }
    false
}
