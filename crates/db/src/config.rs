//! Configuration values that differ from their defaults, per scope (`global`/0 or
//! `zone`/zone id, …). Definitions and defaults live in the app layer.

use ferrostack_types::Error;
use sqlx::{Any, Executor};

use crate::db_err;

pub async fn get<'e, E: Executor<'e, Database = Any>>(
    e: E,
    name: &str,
    scope: &str,
    scope_id: i64,
) -> Result<Option<String>, Error> {
    let r: Option<(String,)> =
        sqlx::query_as("SELECT value FROM configuration WHERE name = $1 AND scope = $2 AND scope_id = $3")
            .bind(name)
            .bind(scope)
            .bind(scope_id)
            .fetch_optional(e)
            .await
            .map_err(db_err)?;
    Ok(r.map(|r| r.0))
}

pub async fn set<'e, E: Executor<'e, Database = Any>>(
    e: E,
    name: &str,
    scope: &str,
    scope_id: i64,
    value: &str,
    now: i64,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO configuration (name, scope, scope_id, value, updated) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (name, scope, scope_id) DO UPDATE SET value = excluded.value, updated = excluded.updated",
    )
    .bind(name)
    .bind(scope)
    .bind(scope_id)
    .bind(value)
    .bind(now)
    .execute(e)
    .await
    .map_err(db_err)?;
    Ok(())
}

/// Every stored value of one scope: (name, value).
pub async fn all_in_scope<'e, E: Executor<'e, Database = Any>>(
    e: E,
    scope: &str,
    scope_id: i64,
) -> Result<Vec<(String, String)>, Error> {
    sqlx::query_as("SELECT name, value FROM configuration WHERE scope = $1 AND scope_id = $2")
        .bind(scope)
        .bind(scope_id)
        .fetch_all(e)
        .await
        .map_err(db_err)
}
