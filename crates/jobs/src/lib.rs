//! Durable async jobs. An async command is a job: a named sequence of steps, each idempotent
//! and each with an undo, persisted after every step. A job whose server dies resumes from its
//! last completed step — on the same server at its next start, or on another server once the
//! dead server's lease runs out. A failed step unwinds the completed ones in reverse order.
//! Jobs with the same sync key (one entity) run one at a time, in submission order.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use ferrostack_db::job::{self as job_db, Job, NewJob, STATUS_FAILED, STATUS_SUCCEEDED};
use ferrostack_db::{Conn, Db};
use ferrostack_types::ids::JobId;
use ferrostack_types::time::now_ms;
use ferrostack_types::Error;
use futures::FutureExt;
use serde_json::{json, Value};
use tokio::sync::{watch, Notify, Semaphore};

tokio::task_local! {
    static CURRENT_JOB: String;
}

/// The uuid of the job the calling task runs, if it runs one: a flow that records who carries
/// out a transition (a VM's start) names the job, so others can tell a live owner from a dead
/// one and a resumed job recognises its own work.
pub fn current_job() -> Option<String> {
    CURRENT_JOB.try_with(String::clone).ok()
}

/// What a finished job produced, before the API layer renders it for `jobresult`.
#[derive(Debug, Clone, PartialEq)]
pub enum JobOutcome {
    /// `{"success":true}`.
    Success,
    /// An entity answer, e.g. `{"account":{…}}`, rendered from the entity's current row.
    Entity { object: &'static str, uuid: String },
    /// An answer under `object` that is not one entity's row as it stands: e.g. a template
    /// in one given zone (`copyTemplate`) or an extraction's download link
    /// (`extractTemplate`). `view` names the renderer, `key` what it renders.
    View {
        object: &'static str,
        view: &'static str,
        key: String,
    },
}

/// One kind of job. `C` is the application context the steps act on.
#[async_trait]
pub trait Saga<C>: Send + Sync {
    /// The job kind stored in the row, e.g. `account_delete`.
    fn kind(&self) -> &'static str;
    /// Step names, for logs. A job runs steps `0..steps().len()` in order.
    fn steps(&self) -> &'static [&'static str];
    /// How many leading steps the submission itself completed (e.g. a deploy allocates its
    /// VM in the API call): they are not run, but they are undone if a later step fails.
    fn done_at_submission(&self) -> usize {
        0
    }
    /// Run step `step`. Must be idempotent: after a crash it may run again.
    async fn action(&self, ctx: &C, job: &Job, step: usize, state: &mut Value) -> Result<(), Error>;
    /// Undo a completed step `step` after a later step failed. Must be idempotent and must
    /// tolerate an entity that is already gone.
    async fn undo(&self, ctx: &C, job: &Job, step: usize, state: &Value) -> Result<(), Error>;
    /// The job's result once every step has run.
    async fn finish(&self, ctx: &C, job: &Job, state: &Value) -> Result<JobOutcome, Error>;
}

/// Turns an outcome into the `jobresult` JSON (the API layer knows the wire shapes).
#[async_trait]
pub trait Render<C>: Send + Sync {
    async fn render(&self, ctx: &C, outcome: &JobOutcome) -> Result<Value, Error>;
}

/// Told when a job starts and ends (events). Failures here are logged, never fatal.
#[async_trait]
pub trait Lifecycle<C>: Send + Sync {
    async fn started(&self, ctx: &C, job: &Job) -> Result<(), Error>;
    async fn finished(&self, ctx: &C, job: &Job, error: Option<&Error>) -> Result<(), Error>;
}

#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// This management server's id; owns the jobs it claims.
    pub owner: String,
    /// How long a claim lasts without renewal. Another server takes a job over after this.
    pub lease: Duration,
    /// Jobs run at once on this server.
    pub max_concurrent: usize,
    /// Pause before every step. A testing aid (crash-recovery tests); zero in production.
    pub step_delay: Duration,
    /// How often to look for work nobody woke us for (other servers' submissions, expired leases).
    pub poll_interval: Duration,
}

pub struct Engine<C> {
    db: Db,
    cfg: EngineConfig,
    sagas: HashMap<&'static str, Arc<dyn Saga<C>>>,
    render: Arc<dyn Render<C>>,
    lifecycle: Arc<dyn Lifecycle<C>>,
    wake: Notify,
    /// Test hook: one-shot failures `(kind, step)` injected before step `step` of the next job
    /// of `kind` runs (`step == steps().len()`: after the last step, before the result).
    inject: std::sync::Mutex<Vec<(String, usize)>>,
    /// Idle tracking (test hook): each pass of the run loop reports `(pass, idle)`, idle
    /// meaning nothing was claimable and no job is running. See [`Engine::wait_idle`].
    idle: watch::Sender<(u64, bool)>,
}

/// The job to submit; identity fields come from the caller.
pub type JobSpec = NewJob;

impl<C: Send + Sync + 'static> Engine<C> {
    pub fn new(
        db: Db,
        cfg: EngineConfig,
        sagas: Vec<Arc<dyn Saga<C>>>,
        render: Arc<dyn Render<C>>,
        lifecycle: Arc<dyn Lifecycle<C>>,
    ) -> Self {
        let sagas = sagas.into_iter().map(|s| (s.kind(), s)).collect();
        Engine {
            db,
            cfg,
            sagas,
            render,
            lifecycle,
            wake: Notify::new(),
            inject: std::sync::Mutex::new(Vec::new()),
            idle: watch::channel((0, false)).0,
        }
    }

    /// Test hook: make the next job of `kind` fail just before step `before_step` (or, with
    /// `before_step == steps().len()`, after its last step), so that every completed step is
    /// unwound. One-shot. Fault-injection tests use it to check that every undo releases what
    /// its step allocated.
    pub fn inject_failure(&self, kind: &str, before_step: usize) {
        if let Ok(mut v) = self.inject.lock() {
            v.push((kind.to_string(), before_step));
        }
    }

    /// The step names of a job kind (tests iterate over them).
    pub fn steps_of(&self, kind: &str) -> Option<&'static [&'static str]> {
        self.sagas.get(kind).map(|s| s.steps())
    }

    fn injected(&self, kind: &str, step: usize) -> Option<Error> {
        let mut v = self.inject.lock().ok()?;
        let i = v.iter().position(|(k, s)| k == kind && *s == step)?;
        v.remove(i);
        Some(Error::internal(format!(
            "injected failure before step {step} of a {kind} job"
        )))
    }

    pub fn owner(&self) -> &str {
        &self.cfg.owner
    }

    pub fn has_kind(&self, kind: &str) -> bool {
        self.sagas.contains_key(kind)
    }

    /// Persist a job inside the caller's transaction. Call [`Engine::wake`] after commit.
    pub async fn submit(&self, c: &mut Conn, spec: &JobSpec) -> Result<JobId, Error> {
        if !self.sagas.contains_key(spec.kind.as_str()) {
            return Err(Error::internal(format!(
                "no saga registered for job kind {}",
                spec.kind
            )));
        }
        job_db::insert(c, spec).await
    }

    /// Tell the runner there is work.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Run jobs until `shutdown` turns true. In-flight jobs stop at their next step boundary
    /// and are released so the next start (or another server) resumes them.
    pub async fn run(self: Arc<Self>, ctx: Arc<C>, mut shutdown: watch::Receiver<bool>) {
        match job_db::release_all(self.db.write(), &self.cfg.owner).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(jobs = n, "resuming jobs interrupted by the last shutdown or crash"),
            Err(e) => tracing::error!(error = %e, "could not release jobs left by the last run"),
        }
        let permits = Arc::new(Semaphore::new(self.cfg.max_concurrent.max(1)));
        let renewer = {
            let engine = self.clone();
            let mut shutdown = shutdown.clone();
            tokio::spawn(async move {
                let every = engine.cfg.lease / 3;
                loop {
                    tokio::select! {
                        _ = tokio::time::sleep(every) => {}
                        _ = shutdown.changed() => break,
                    }
                    let until = now_ms() + engine.cfg.lease.as_millis() as i64;
                    if let Err(e) = job_db::renew_leases(engine.db.write(), &engine.cfg.owner, until).await {
                        tracing::warn!(error = %e, "job lease renewal failed");
                    }
                }
            })
        };
        let mut tasks = tokio::task::JoinSet::new();
        loop {
            if *shutdown.borrow() {
                break;
            }
            // Claim as many jobs as there are free slots.
            while let Ok(permit) = permits.clone().try_acquire_owned() {
                let now = now_ms();
                let claimed = job_db::claim(
                    self.db.write(),
                    &self.cfg.owner,
                    now,
                    now + self.cfg.lease.as_millis() as i64,
                )
                .await;
                match claimed {
                    Ok(Some(job)) => {
                        let engine = self.clone();
                        let ctx = ctx.clone();
                        let shutdown = shutdown.clone();
                        let uuid = job.uuid.clone();
                        tasks.spawn(ferrostack_db::held::scope(CURRENT_JOB.scope(uuid, async move {
                            engine.run_job(&ctx, job, &shutdown).await;
                            drop(permit);
                            engine.wake();
                        })));
                    }
                    Ok(None) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "claiming a job failed");
                        break;
                    }
                }
            }
            while tasks.try_join_next().is_some() {}
            self.report_pass(tasks.is_empty());
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(self.cfg.poll_interval) => {}
                _ = shutdown.changed() => {}
            }
        }
        while tasks.join_next().await.is_some() {}
        renewer.abort();
        if let Err(e) = job_db::release_all(self.db.write(), &self.cfg.owner).await {
            tracing::warn!(error = %e, "releasing jobs at shutdown failed");
        }
    }

    async fn run_job(&self, ctx: &C, job: Job, shutdown: &watch::Receiver<bool>) {
        let id = job.id();
        let Some(saga) = self.sagas.get(job.kind.as_str()).cloned() else {
            let e = Error::internal(format!("job {} has unknown kind {}", job.uuid, job.kind));
            tracing::error!(job = %job.uuid, error = %e, "cannot run job");
            self.fail(ctx, &job, &e).await;
            return;
        };
        let mut state: Value = serde_json::from_str(&job.saga_data).unwrap_or(Value::Null);
        let steps = saga.steps();
        let fresh = job.step == 0 && job.undoing == 0;
        if fresh {
            if let Err(e) = self.lifecycle.started(ctx, &job).await {
                tracing::warn!(job = %job.uuid, error = %e, "recording the job start failed");
            }
        }
        let mut step = usize::try_from(job.step).unwrap_or(0);
        if job.undoing == 0 {
            step = step.max(saga.done_at_submission().min(steps.len()));
        }
        let mut failure: Option<Error> = None;
        if job.undoing == 1 {
            failure = Some(stored_error(&job));
        } else {
            while step < steps.len() {
                if *shutdown.borrow() {
                    self.release(&job).await;
                    return;
                }
                if !self.cfg.step_delay.is_zero() {
                    tokio::time::sleep(self.cfg.step_delay).await;
                    if *shutdown.borrow() {
                        self.release(&job).await;
                        return;
                    }
                }
                tracing::debug!(job = %job.uuid, step = steps[step], "running job step");
                let r = match self.injected(&job.kind, step) {
                    Some(e) => Err(e),
                    None => AssertUnwindSafe(saga.action(ctx, &job, step, &mut state))
                        .catch_unwind()
                        .await
                        .unwrap_or_else(|p| Err(Error::internal(panic_message(&p)))),
                };
                match r {
                    Ok(()) => {
                        step += 1;
                        if !self.save(&job, step, false, &state).await {
                            return;
                        }
                    }
                    Err(e) => {
                        if let Error::Internal { correlation_id, detail } = &e {
                            tracing::error!(job = %job.uuid, step = steps[step], %correlation_id, %detail, "job step failed");
                        } else {
                            tracing::info!(job = %job.uuid, step = steps[step], error = %e, "job step failed");
                        }
                        let stored = error_json(&e, &job.command);
                        if let Err(db) = store_pending_failure(&self.db, id, &stored).await {
                            tracing::warn!(error = %db, "could not store job failure before unwinding");
                        }
                        if !self.save(&job, step, true, &state).await {
                            return;
                        }
                        failure = Some(e);
                        break;
                    }
                }
            }
        }
        if failure.is_none() && step == steps.len() {
            if let Some(e) = self.injected(&job.kind, step) {
                if let Err(db) = store_pending_failure(&self.db, id, &error_json(&e, &job.command)).await {
                    tracing::warn!(error = %db, "could not store job failure before unwinding");
                }
                if !self.save(&job, step, true, &state).await {
                    return;
                }
                failure = Some(e);
            }
        }
        match failure {
            None => {
                let rendered = match saga.finish(ctx, &job, &state).await {
                    Ok(outcome) => self.render.render(ctx, &outcome).await.map(|mut v| {
                        // The entity of an async job's result carries the job's id
                        // (CloudStack's BaseResponse `jobid`), as CloudStack answers it.
                        if let (JobOutcome::Entity { .. } | JobOutcome::View { .. }, Some(obj)) = (
                            &outcome,
                            v.as_object_mut()
                                .and_then(|m| m.values_mut().next())
                                .and_then(|x| x.as_object_mut()),
                        ) {
                            obj.insert("jobid".into(), serde_json::Value::String(job.uuid.clone()));
                        }
                        v
                    }),
                    Err(e) => Err(e),
                };
                match rendered {
                    Ok(v) => {
                        if let Err(e) =
                            job_db::complete(self.db.write(), id, STATUS_SUCCEEDED, 0, &v.to_string(), now_ms()).await
                        {
                            tracing::error!(job = %job.uuid, error = %e, "could not complete job");
                            return;
                        }
                        if let Err(e) = self.lifecycle.finished(ctx, &job, None).await {
                            tracing::warn!(job = %job.uuid, error = %e, "recording the job end failed");
                        }
                    }
                    Err(e) => self.fail(ctx, &job, &e).await,
                }
            }
            Some(e) => {
                // Unwind completed steps, newest first. Undo failures are logged and the
                // unwinding goes on: every undo must tolerate partial state.
                while step > 0 {
                    if *shutdown.borrow() {
                        self.release(&job).await;
                        return;
                    }
                    let k = step - 1;
                    let r = AssertUnwindSafe(saga.undo(ctx, &job, k, &state))
                        .catch_unwind()
                        .await
                        .unwrap_or_else(|p| Err(Error::internal(panic_message(&p))));
                    if let Err(ue) = r {
                        tracing::error!(job = %job.uuid, step = steps[k], error = %ue, "undo failed; continuing");
                    }
                    step = k;
                    if !self.save(&job, step, true, &state).await {
                        return;
                    }
                }
                self.fail(ctx, &job, &e).await;
            }
        }
    }

    async fn save(&self, job: &Job, step: usize, undoing: bool, state: &Value) -> bool {
        match job_db::save_progress(
            self.db.write(),
            job.id(),
            &self.cfg.owner,
            step as i64,
            undoing,
            &state.to_string(),
        )
        .await
        {
            Ok(true) => true,
            Ok(false) => {
                tracing::warn!(job = %job.uuid, "lost ownership of job; another server took it over");
                false
            }
            Err(e) => {
                tracing::error!(job = %job.uuid, error = %e, "could not save job progress; releasing it");
                self.release(job).await;
                false
            }
        }
    }

    async fn release(&self, job: &Job) {
        if let Err(e) = job_db::release(self.db.write(), job.id(), &self.cfg.owner).await {
            tracing::warn!(job = %job.uuid, error = %e, "could not release job");
        }
    }

    async fn fail(&self, ctx: &C, job: &Job, e: &Error) {
        let body = error_json(e, &job.command);
        if let Err(db) = job_db::complete(
            self.db.write(),
            job.id(),
            STATUS_FAILED,
            i64::from(e.http_status()),
            &body.to_string(),
            now_ms(),
        )
        .await
        {
            tracing::error!(job = %job.uuid, error = %db, "could not record job failure");
            return;
        }
        if let Err(le) = self.lifecycle.finished(ctx, job, Some(e)).await {
            tracing::warn!(job = %job.uuid, error = %le, "recording the job end failed");
        }
    }
}

/// The `jobresult` of a failed job: exactly `errorcode` and `errortext`.
pub fn error_json(e: &Error, command: &str) -> Value {
    json!({"errorcode": e.http_status(), "errortext": e.client_message(command)})
}

fn stored_error(job: &Job) -> Error {
    let v: Value = job
        .result
        .as_deref()
        .and_then(|r| serde_json::from_str(r).ok())
        .unwrap_or(Value::Null);
    let text = v
        .get("errortext")
        .and_then(Value::as_str)
        .unwrap_or("job failed")
        .to_string();
    let code = v
        .get("errorcode")
        .and_then(Value::as_u64)
        .and_then(|c| u16::try_from(c).ok())
        .unwrap_or(530);
    Error::from_wire(code, text, &job.uuid)
}

async fn store_pending_failure(db: &Db, id: JobId, result: &Value) -> Result<(), Error> {
    job_db::set_pending_result(db.write(), id, &result.to_string()).await
}

// ---------------------------------------------------------------------------------------------
// Idle tracking: lets tests (and a graceful drain) wait until no job is due or running, without
// sleeping. The run loop reports every pass; a waiter needs an idle report from a pass that
// *started* after it asked, i.e. the second report after the request.
// ---------------------------------------------------------------------------------------------

impl<C: Send + Sync + 'static> Engine<C> {
    fn report_pass(&self, no_task_running: bool) {
        // `claim` found nothing when the loop gets here with free permits; with a full pool the
        // engine is busy anyway, so "no task running" is the idle condition.
        self.idle.send_modify(|(pass, idle)| {
            *pass += 1;
            *idle = no_task_running;
        });
    }

    /// Return once a run-loop pass that began after this call found no due job and no job
    /// running (jobs scheduled for later are not waited for). Requires [`Engine::run`].
    pub async fn wait_idle(&self) {
        let mut rx = self.idle.subscribe();
        let start = rx.borrow_and_update().0;
        self.wake();
        loop {
            let (pass, idle) = *rx.borrow_and_update();
            if pass >= start + 2 && idle {
                return;
            }
            if pass < start + 2 {
                // The pass in progress may predate the request: ask for another one.
                self.wake();
            }
            if rx.changed().await.is_err() {
                return; // engine dropped
            }
        }
    }
}

fn panic_message(p: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        format!("panic: {s}")
    } else if let Some(s) = p.downcast_ref::<String>() {
        format!("panic: {s}")
    } else {
        "panic".to_string()
    }
}

/// Wait until a job leaves the pending state (tests and synchronous callers).
pub async fn wait_done(db: &Db, id: JobId, timeout: Duration) -> Result<Job, Error> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(j) = job_db::get(db.read(), id).await? {
            if j.status != 0 {
                return Ok(j);
            }
        }
        if tokio::time::Instant::now() > deadline {
            return Err(Error::ResourceUnavailable(format!("job {id} did not finish in time")));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
