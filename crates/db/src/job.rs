//! The async-job table: submission, claiming with a lease, step progress, completion.
//! Jobs with the same `sync_key` run one at a time, in submission order.

use ferrostack_types::ids::JobId;
use ferrostack_types::{Error, Page};
use sqlx::{Any, Executor};

use crate::account::OwnerScope;
use crate::{db_err, Conn, Sql};

pub const STATUS_PENDING: i64 = 0;
pub const STATUS_SUCCEEDED: i64 = 1;
pub const STATUS_FAILED: i64 = 2;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Job {
    pub id: i64,
    pub uuid: String,
    pub kind: String,
    pub command: String,
    pub cmd_class: String,
    pub user_id: i64,
    pub account_id: i64,
    pub domain_id: i64,
    pub instance_type: Option<String>,
    pub instance_uuid: Option<String>,
    pub sync_key: String,
    pub params: String,
    /// The saga's scratch JSON (column `state`), not a lifecycle state.
    #[sqlx(rename = "state")]
    pub saga_data: String,
    pub step: i64,
    pub undoing: i64,
    pub status: i64,
    pub result_code: i64,
    pub result: Option<String>,
    pub owner: Option<String>,
    pub lease_until: Option<i64>,
    pub created: i64,
    pub completed: Option<i64>,
}

impl Job {
    pub fn id(&self) -> JobId {
        JobId(self.id)
    }
}

/// A job joined with the names the API shows.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct JobView {
    #[sqlx(flatten)]
    pub job: Job,
    pub account_uuid: Option<String>,
    pub account_name: Option<String>,
    pub user_uuid: Option<String>,
    pub domain_uuid: Option<String>,
    pub domain_path: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewJob {
    pub uuid: String,
    pub kind: String,
    pub command: String,
    pub cmd_class: String,
    pub user_id: i64,
    pub account_id: i64,
    pub domain_id: i64,
    pub instance_type: Option<String>,
    pub instance_uuid: Option<String>,
    pub sync_key: String,
    pub params: String,
    pub created: i64,
}

pub async fn insert(c: &mut Conn, j: &NewJob) -> Result<JobId, Error> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO async_job (uuid, kind, command, cmd_class, user_id, account_id, domain_id, \
         instance_type, instance_uuid, sync_key, params, state, step, undoing, status, result_code, created) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'null', 0, 0, 0, 0, $12) RETURNING id",
    )
    .bind(&j.uuid)
    .bind(&j.kind)
    .bind(&j.command)
    .bind(&j.cmd_class)
    .bind(j.user_id)
    .bind(j.account_id)
    .bind(j.domain_id)
    .bind(j.instance_type.as_deref())
    .bind(j.instance_uuid.as_deref())
    .bind(&j.sync_key)
    .bind(&j.params)
    .bind(j.created)
    .fetch_one(&mut *c)
    .await
    .map_err(db_err)?;
    Ok(JobId(id))
}

/// Claim the oldest runnable job: pending, not leased by a live owner, and first in line for
/// its sync key. Safe under concurrency: the final UPDATE re-checks the lease.
pub async fn claim<'e, E: Executor<'e, Database = Any>>(
    e: E,
    owner: &str,
    now: i64,
    lease_until: i64,
) -> Result<Option<Job>, Error> {
    sqlx::query_as(
        "UPDATE async_job SET owner = $1, lease_until = $2 \
         WHERE id = (SELECT j.id FROM async_job j WHERE j.status = 0 \
                       AND (j.owner IS NULL OR j.lease_until < $3) \
                       AND NOT EXISTS (SELECT 1 FROM async_job k WHERE k.sync_key = j.sync_key \
                                       AND k.status = 0 AND k.id < j.id) \
                     ORDER BY j.id LIMIT 1) \
           AND status = 0 AND (owner IS NULL OR lease_until < $3) \
         RETURNING *",
    )
    .bind(owner)
    .bind(lease_until)
    .bind(now)
    .fetch_optional(e)
    .await
    .map_err(db_err)
}

/// Extend the lease of the jobs this server runs.
pub async fn renew_leases<'e, E: Executor<'e, Database = Any>>(e: E, owner: &str, until: i64) -> Result<(), Error> {
    sqlx::query("UPDATE async_job SET lease_until = $1 WHERE owner = $2 AND status = 0")
        .bind(until)
        .bind(owner)
        .execute(e)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Let go of every pending job this server holds (at start-up after a crash, or at shutdown)
/// so that they are claimed again at once.
pub async fn release_all<'e, E: Executor<'e, Database = Any>>(e: E, owner: &str) -> Result<u64, Error> {
    let r = sqlx::query("UPDATE async_job SET owner = NULL, lease_until = NULL WHERE owner = $1 AND status = 0")
        .bind(owner)
        .execute(e)
        .await
        .map_err(db_err)?;
    Ok(r.rows_affected())
}

pub async fn release<'e, E: Executor<'e, Database = Any>>(e: E, id: JobId, owner: &str) -> Result<(), Error> {
    sqlx::query("UPDATE async_job SET owner = NULL, lease_until = NULL WHERE id = $1 AND owner = $2 AND status = 0")
        .bind(id.0)
        .bind(owner)
        .execute(e)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Record progress: the next step to run, whether the job is unwinding, and the saga state.
/// Only the owner may write; returns false if ownership was lost.
pub async fn save_progress<'e, E: Executor<'e, Database = Any>>(
    e: E,
    id: JobId,
    owner: &str,
    step: i64,
    undoing: bool,
    state: &str,
) -> Result<bool, Error> {
    let r = sqlx::query(
        "UPDATE async_job SET step = $1, undoing = $2, state = $3 WHERE id = $4 AND owner = $5 AND status = 0",
    )
    .bind(step)
    .bind(i64::from(undoing))
    .bind(state)
    .bind(id.0)
    .bind(owner)
    .execute(e)
    .await
    .map_err(db_err)?;
    Ok(r.rows_affected() == 1)
}

pub async fn complete<'e, E: Executor<'e, Database = Any>>(
    e: E,
    id: JobId,
    status: i64,
    result_code: i64,
    result: &str,
    now: i64,
) -> Result<(), Error> {
    sqlx::query(
        "UPDATE async_job SET status = $1, result_code = $2, result = $3, completed = $4, owner = NULL, \
         lease_until = NULL WHERE id = $5 AND status = 0",
    )
    .bind(status)
    .bind(result_code)
    .bind(result)
    .bind(now)
    .bind(id.0)
    .execute(e)
    .await
    .map_err(db_err)?;
    Ok(())
}

/// Set the instance a job works on once it is known (async creates).
pub async fn set_instance<'e, E: Executor<'e, Database = Any>>(
    e: E,
    id: JobId,
    instance_type: &str,
    instance_uuid: &str,
) -> Result<(), Error> {
    sqlx::query("UPDATE async_job SET instance_type = $1, instance_uuid = $2 WHERE id = $3")
        .bind(instance_type)
        .bind(instance_uuid)
        .bind(id.0)
        .execute(e)
        .await
        .map_err(db_err)?;
    Ok(())
}

const SELECT_VIEW: &str = "SELECT j.*, a.uuid AS account_uuid, a.name AS account_name, u.uuid AS user_uuid, \
     d.uuid AS domain_uuid, d.path AS domain_path FROM async_job j \
     LEFT JOIN account a ON a.id = j.account_id LEFT JOIN app_user u ON u.id = j.user_id \
     LEFT JOIN domain d ON d.id = j.domain_id";

pub async fn get<'e, E: Executor<'e, Database = Any>>(e: E, id: JobId) -> Result<Option<Job>, Error> {
    sqlx::query_as("SELECT * FROM async_job WHERE id = $1")
        .bind(id.0)
        .fetch_optional(e)
        .await
        .map_err(db_err)
}

pub async fn view_by_uuid(c: &mut Conn, uuid: &str) -> Result<Option<JobView>, Error> {
    let mut q = Sql::new(SELECT_VIEW);
    q.and("j.uuid = ").bind_str(uuid);
    Ok(q.fetch_all(c).await?.pop())
}

/// Latest job of an instance (for `queryAsyncJobResult resourceid=…`).
pub async fn latest_for_instance(c: &mut Conn, instance_uuid: &str) -> Result<Option<JobView>, Error> {
    let mut q = Sql::new(SELECT_VIEW);
    q.and("j.instance_uuid = ")
        .bind_str(instance_uuid)
        .push(" ORDER BY j.id DESC LIMIT 1");
    Ok(q.fetch_all(c).await?.pop())
}

#[derive(Debug, Default, Clone)]
pub struct JobFilter {
    pub keyword: Option<String>,
    pub start_ms: Option<i64>,
    pub instance_uuid: Option<String>,
    pub instance_type: Option<String>,
}

pub async fn list(c: &mut Conn, scope: &OwnerScope, f: &JobFilter, page: Page) -> Result<(i64, Vec<JobView>), Error> {
    let mut s = Sql::new("SELECT j.id, COUNT(*) OVER () FROM async_job j");
    scope.apply(&mut s, "j.account_id", "j.domain_id");
    if let Some(t) = f.start_ms {
        s.and("j.created >= ").bind_i64(t);
    }
    if let Some(r) = &f.instance_uuid {
        s.and("j.instance_uuid = ").bind_str(r.clone());
    }
    if let Some(r) = &f.instance_type {
        s.and("lower(j.instance_type) = ").bind_str(r.to_lowercase());
    }
    if let Some(k) = &f.keyword {
        s.and_keyword(&["j.command", "j.cmd_class"], k);
    }
    s.push(" ORDER BY j.id DESC").page(page);
    let (total, ids) = crate::sql::page_ids(&mut *c, &s).await?;
    let mut q = Sql::new(SELECT_VIEW);
    q.and_in_i64("j.id", &ids).push(" ORDER BY j.id DESC");
    Ok((total, q.fetch_all(&mut *c).await?))
}

/// Pending jobs of an instance, for `jobid`/`jobstatus` on entity answers.
pub async fn pending_for_instances(c: &mut Conn, uuids: &[String]) -> Result<Vec<(String, String)>, Error> {
    if uuids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = Sql::new("SELECT instance_uuid, uuid FROM async_job");
    q.and("status = 0").and("instance_uuid IN (");
    for (i, u) in uuids.iter().enumerate() {
        if i > 0 {
            q.push(", ");
        }
        q.bind_str(u.clone());
    }
    q.push(")");
    let rows: Vec<(String, String)> = q.fetch_all(c).await?;
    Ok(rows)
}

/// Store the failure of a job that is still unwinding, so a resumed unwind reports it.
pub async fn set_pending_result<'e, E: Executor<'e, Database = Any>>(
    e: E,
    id: JobId,
    result: &str,
) -> Result<(), Error> {
    sqlx::query("UPDATE async_job SET result = $1 WHERE id = $2 AND status = 0")
        .bind(result)
        .bind(id.0)
        .execute(e)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Whether the job is pending and running right now on some server (claimed, lease not
/// expired) — as opposed to finished, unknown, or waiting to be claimed again.
pub async fn is_running<'e, E: Executor<'e, Database = Any>>(e: E, uuid: &str, now: i64) -> Result<bool, Error> {
    let v: Option<(i64,)> = sqlx::query_as(
        "SELECT id FROM async_job WHERE uuid = $1 AND status = 0 AND owner IS NOT NULL AND lease_until >= $2",
    )
    .bind(uuid)
    .bind(now)
    .fetch_optional(e)
    .await
    .map_err(db_err)?;
    Ok(v.is_some())
}
