//! Login sessions: shared through the database so any management server can serve them.

use ferrostack_types::ids::UserId;
use ferrostack_types::Error;
use sqlx::{Any, Executor};

use crate::{db_err, Conn};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Session {
    pub id: String,
    pub session_key: String,
    pub user_id: i64,
    pub created: i64,
    pub last_access: i64,
}

pub async fn insert(c: &mut Conn, id: &str, key: &str, user: UserId, now: i64) -> Result<(), Error> {
    sqlx::query("INSERT INTO session (id, session_key, user_id, created, last_access) VALUES ($1, $2, $3, $4, $4)")
        .bind(id)
        .bind(key)
        .bind(user.0)
        .bind(now)
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
    Ok(())
}

pub async fn get<'e, E: Executor<'e, Database = Any>>(e: E, id: &str) -> Result<Option<Session>, Error> {
    sqlx::query_as("SELECT * FROM session WHERE id = $1")
        .bind(id)
        .fetch_optional(e)
        .await
        .map_err(db_err)
}

pub async fn touch<'e, E: Executor<'e, Database = Any>>(e: E, id: &str, now: i64) -> Result<(), Error> {
    sqlx::query("UPDATE session SET last_access = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(e)
        .await
        .map_err(db_err)?;
    Ok(())
}

pub async fn delete<'e, E: Executor<'e, Database = Any>>(e: E, id: &str) -> Result<(), Error> {
    sqlx::query("DELETE FROM session WHERE id = $1")
        .bind(id)
        .execute(e)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// End every session of a user (disable, delete, password change).
pub async fn delete_for_user<'e, E: Executor<'e, Database = Any>>(e: E, user: UserId) -> Result<(), Error> {
    sqlx::query("DELETE FROM session WHERE user_id = $1")
        .bind(user.0)
        .execute(e)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// End every session of every user of an account.
pub async fn delete_for_account(c: &mut Conn, account: i64) -> Result<(), Error> {
    sqlx::query("DELETE FROM session WHERE user_id IN (SELECT id FROM app_user WHERE account_id = $1)")
        .bind(account)
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
    Ok(())
}

pub async fn expire<'e, E: Executor<'e, Database = Any>>(e: E, older_than: i64) -> Result<u64, Error> {
    let r = sqlx::query("DELETE FROM session WHERE last_access < $1")
        .bind(older_than)
        .execute(e)
        .await
        .map_err(db_err)?;
    Ok(r.rows_affected())
}
