//! The durable queue of follow-up effects of state changes.

use ferrostack_types::Error;
use sqlx::{Any, Executor};

use crate::{db_err, Conn};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Followup {
    pub id: i64,
    pub kind: String,
    pub target: String,
    pub payload: String,
    pub attempts: i64,
    pub next_attempt: i64,
    pub last_error: Option<String>,
    pub created: i64,
}

/// Enqueue, unless the same (kind, target) is already pending: one pending router sync per
/// network is enough, however many changes asked for it.
pub async fn enqueue(c: &mut Conn, kind: &str, target: &str, payload: &str, now: i64) -> Result<(), Error> {
    let pending: Option<(i64,)> = sqlx::query_as(
        "SELECT id FROM followup WHERE kind = $1 AND target = $2 AND done IS NULL AND attempts = 0 LIMIT 1",
    )
    .bind(kind)
    .bind(target)
    .fetch_optional(&mut *c)
    .await
    .map_err(db_err)?;
    if pending.is_some() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO followup (kind, target, payload, attempts, next_attempt, created) VALUES ($1, $2, $3, 0, $4, $4)",
    )
    .bind(kind)
    .bind(target)
    .bind(payload)
    .bind(now)
    .execute(&mut *c)
    .await
    .map_err(db_err)?;
    Ok(())
}

/// Claim due follow-ups for this server (lease), oldest first.
pub async fn claim<'e, E: Executor<'e, Database = Any>>(
    e: E,
    owner: &str,
    now: i64,
    lease_until: i64,
    limit: i64,
) -> Result<Vec<Followup>, Error> {
    sqlx::query_as(
        "UPDATE followup SET owner = $1, lease_until = $2 WHERE id IN (SELECT id FROM followup WHERE done IS NULL \
         AND next_attempt <= $3 AND (owner IS NULL OR lease_until < $3) ORDER BY id LIMIT $4) \
         AND done IS NULL AND (owner IS NULL OR lease_until < $3) \
         RETURNING id, kind, target, payload, attempts, next_attempt, last_error, created",
    )
    .bind(owner)
    .bind(lease_until)
    .bind(now)
    .bind(limit)
    .fetch_all(e)
    .await
    .map_err(db_err)
}

pub async fn complete<'e, E: Executor<'e, Database = Any>>(e: E, id: i64, now: i64) -> Result<(), Error> {
    sqlx::query("UPDATE followup SET done = $1, owner = NULL WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(e)
        .await
        .map_err(db_err)?;
    Ok(())
}

pub async fn retry_later<'e, E: Executor<'e, Database = Any>>(
    e: E,
    id: i64,
    next: i64,
    error: &str,
) -> Result<(), Error> {
    sqlx::query(
        "UPDATE followup SET attempts = attempts + 1, next_attempt = $1, last_error = $2, owner = NULL WHERE id = $3",
    )
    .bind(next)
    .bind(error)
    .bind(id)
    .execute(e)
    .await
    .map_err(db_err)?;
    Ok(())
}

/// Pending follow-ups (tests and invariants: "nothing left to do").
pub async fn pending_count<'e, E: Executor<'e, Database = Any>>(e: E) -> Result<i64, Error> {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM followup WHERE done IS NULL")
        .fetch_one(e)
        .await
        .map_err(db_err)?;
    Ok(n)
}
