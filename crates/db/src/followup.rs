//! The durable queue of follow-up effects of state changes.
//!
//! "One pending per (kind, target)" is the partial unique index `followup_one_pending`
//! (migration 0009): enqueue is one `INSERT … ON CONFLICT DO NOTHING`. A row's `state` says
//! whether it is due (`Pending`), waits for its host (`WaitingHost`), needs an operator
//! (`Stuck`) or is finished (`Done`, with `done` set).

use ferrostack_types::followup::FollowUpState;
use ferrostack_types::{Error, Page};
use sqlx::{Any, Executor};

use crate::{db_err, Conn, Sql};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Followup {
    pub id: i64,
    pub kind: String,
    pub target: String,
    pub payload: String,
    #[sqlx(try_from = "String")]
    pub state: FollowUpState,
    pub host_id: Option<i64>,
    pub attempts: i64,
    pub next_attempt: i64,
    pub last_error: Option<String>,
    pub created: i64,
    pub done: Option<i64>,
}

const COLUMNS: &str = "id, kind, target, payload, state, host_id, attempts, next_attempt, last_error, created, done";

/// Enqueue, unless the same (kind, target) is already pending: one pending router sync per
/// network is enough, however many changes asked for it. True when a row was added.
pub async fn enqueue(
    c: &mut Conn,
    kind: &str,
    target: &str,
    host_id: Option<i64>,
    payload: &str,
    now: i64,
) -> Result<bool, Error> {
    let r = sqlx::query(
        "INSERT INTO followup (kind, target, payload, state, host_id, attempts, next_attempt, created) \
         VALUES ($1, $2, $3, $4, $5, 0, $6, $6) ON CONFLICT DO NOTHING",
    )
    .bind(kind)
    .bind(target)
    .bind(payload)
    .bind(FollowUpState::Pending.as_str())
    .bind(host_id)
    .bind(now)
    .execute(&mut *c)
    .await
    .map_err(db_err)?;
    Ok(r.rows_affected() == 1)
}

/// Claim due follow-ups for this server (lease), oldest first. Stuck ones wait for an operator.
pub async fn claim<'e, E: Executor<'e, Database = Any>>(
    e: E,
    owner: &str,
    now: i64,
    lease_until: i64,
    limit: i64,
) -> Result<Vec<Followup>, Error> {
    let q = format!(
        "UPDATE followup SET owner = $1, lease_until = $2 WHERE id IN (SELECT id FROM followup WHERE done IS NULL \
         AND state IN ('Pending', 'WaitingHost') AND next_attempt <= $3 AND (owner IS NULL OR lease_until < $3) \
         ORDER BY id LIMIT $4) AND done IS NULL AND (owner IS NULL OR lease_until < $3) RETURNING {COLUMNS}"
    );
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(owner)
        .bind(lease_until)
        .bind(now)
        .bind(limit)
        .fetch_all(e)
        .await
        .map_err(db_err)
}

/// Finished (or resolved: `note` says why there was nothing left to do).
pub async fn complete<'e, E: Executor<'e, Database = Any>>(
    e: E,
    id: i64,
    now: i64,
    note: Option<&str>,
) -> Result<(), Error> {
    sqlx::query(
        "UPDATE followup SET done = $1, state = 'Done', owner = NULL, last_error = COALESCE($2, last_error) WHERE id = $3",
    )
    .bind(now)
    .bind(note)
    .bind(id)
    .execute(e)
    .await
    .map_err(db_err)?;
    Ok(())
}

/// A failed attempt: counted, due again at `next`, or `Stuck` when `stuck`.
pub async fn failed<'e, E: Executor<'e, Database = Any>>(
    e: E,
    id: i64,
    next: i64,
    error: &str,
    stuck: bool,
) -> Result<(), Error> {
    let state = if stuck {
        FollowUpState::Stuck
    } else {
        FollowUpState::Pending
    };
    sqlx::query(
        "UPDATE followup SET attempts = attempts + 1, next_attempt = $1, last_error = $2, state = $3, owner = NULL WHERE id = $4",
    )
    .bind(next)
    .bind(error)
    .bind(state.as_str())
    .bind(id)
    .execute(e)
    .await
    .map_err(db_err)?;
    Ok(())
}

/// The host the effect needs is not connected: wait for it (not a failed attempt). `recheck`
/// is a safety net in case the host's reconnection is seen by another management server.
pub async fn wait_host<'e, E: Executor<'e, Database = Any>>(
    e: E,
    id: i64,
    recheck: i64,
    note: &str,
) -> Result<(), Error> {
    sqlx::query(
        "UPDATE followup SET state = 'WaitingHost', next_attempt = $1, last_error = $2, owner = NULL WHERE id = $3",
    )
    .bind(recheck)
    .bind(note)
    .bind(id)
    .execute(e)
    .await
    .map_err(db_err)?;
    Ok(())
}

/// A host connected: its waiting (and backing-off) follow-ups are due at once.
pub async fn host_due<'e, E: Executor<'e, Database = Any>>(e: E, host_id: i64, now: i64) -> Result<u64, Error> {
    let r = sqlx::query(
        "UPDATE followup SET state = 'Pending', next_attempt = $1 \
         WHERE host_id = $2 AND done IS NULL AND state IN ('Pending', 'WaitingHost')",
    )
    .bind(now)
    .bind(host_id)
    .execute(e)
    .await
    .map_err(db_err)?;
    Ok(r.rows_affected())
}

/// [`host_due`] for many hosts at once (the start-up reconcile's connected hosts).
pub async fn hosts_due(c: &mut Conn, host_ids: &[i64], now: i64) -> Result<u64, Error> {
    if host_ids.is_empty() {
        return Ok(0);
    }
    let mut s = crate::Sql::new("UPDATE followup SET state = 'Pending', next_attempt = ");
    s.bind_i64(now);
    s.and("done IS NULL")
        .and("state IN ('Pending', 'WaitingHost')")
        .and_in_i64("host_id", host_ids);
    let r = s.query().execute(&mut *c).await.map_err(db_err)?;
    Ok(r.rows_affected())
}

/// A host was removed: its host-side follow-ups have nothing left to clean.
pub async fn host_resolve(c: &mut Conn, host_id: i64, now: i64, note: &str) -> Result<u64, Error> {
    let r = sqlx::query(
        "UPDATE followup SET state = 'Done', done = $1, owner = NULL, last_error = $2 WHERE host_id = $3 AND done IS NULL",
    )
    .bind(now)
    .bind(note)
    .bind(host_id)
    .execute(&mut *c)
    .await
    .map_err(db_err)?;
    Ok(r.rows_affected())
}

/// Operator retry: due now, attempt bound reset. False when the follow-up is already done.
pub async fn retry_now<'e, E: Executor<'e, Database = Any>>(e: E, id: i64, now: i64) -> Result<bool, Error> {
    let r = sqlx::query(
        "UPDATE followup SET state = 'Pending', attempts = 0, next_attempt = $1, owner = NULL WHERE id = $2 AND done IS NULL",
    )
    .bind(now)
    .bind(id)
    .execute(e)
    .await
    .map_err(db_err)?;
    Ok(r.rows_affected() == 1)
}

pub async fn get<'e, E: Executor<'e, Database = Any>>(e: E, id: i64) -> Result<Option<Followup>, Error> {
    let q = format!("SELECT {COLUMNS} FROM followup WHERE id = $1");
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(id)
        .fetch_optional(e)
        .await
        .map_err(db_err)
}

#[derive(Debug, Default, Clone)]
pub struct FollowupFilter {
    pub id: Option<i64>,
    pub state: Option<FollowUpState>,
    pub kind: Option<String>,
}

/// Follow-ups, newest first.
pub async fn list(c: &mut Conn, f: &FollowupFilter, page: Page) -> Result<(i64, Vec<Followup>), Error> {
    let mut s = Sql::new("SELECT id, COUNT(*) OVER () FROM followup");
    if let Some(id) = f.id {
        s.and("id = ").bind_i64(id);
    }
    if let Some(st) = f.state {
        s.and("state = ").bind_str(st.as_str());
    }
    if let Some(k) = &f.kind {
        s.and("kind = ").bind_str(k.clone());
    }
    s.push(" ORDER BY id DESC").page(page);
    let (total, ids) = crate::sql::page_ids(&mut *c, &s).await?;
    let mut q = Sql::new(format!("SELECT {COLUMNS} FROM followup"));
    q.and_in_i64("id", &ids).push(" ORDER BY id DESC");
    Ok((total, q.fetch_all(c).await?))
}

/// Follow-ups still to do, stuck ones excepted (tests and invariants: "nothing left to do").
pub async fn pending_count<'e, E: Executor<'e, Database = Any>>(e: E) -> Result<i64, Error> {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM followup WHERE done IS NULL AND state <> 'Stuck'")
        .fetch_one(e)
        .await
        .map_err(db_err)?;
    Ok(n)
}
