//! Management servers sharing the database: each heartbeats; a server whose heartbeat is
//! stale is gone and its jobs may be taken over.

use ferrostack_types::state::MshostState;
use ferrostack_types::Error;
use sqlx::{Any, Executor};

use crate::db_err;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MsHost {
    pub id: i64,
    pub msid: String,
    pub name: String,
    pub version: String,
    #[sqlx(try_from = "String")]
    pub state: MshostState,
    pub last_heartbeat: i64,
}

pub async fn heartbeat<'e, E: Executor<'e, Database = Any>>(
    e: E,
    msid: &str,
    name: &str,
    version: &str,
    state: MshostState,
    now: i64,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO mshost (msid, name, version, state, last_heartbeat) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (msid) DO UPDATE SET name = excluded.name, version = excluded.version, \
         state = excluded.state, last_heartbeat = excluded.last_heartbeat",
    )
    .bind(msid)
    .bind(name)
    .bind(version)
    .bind(state.as_str())
    .bind(now)
    .execute(e)
    .await
    .map_err(db_err)?;
    Ok(())
}

pub async fn get<'e, E: Executor<'e, Database = Any>>(e: E, msid: &str) -> Result<Option<MsHost>, Error> {
    sqlx::query_as("SELECT * FROM mshost WHERE msid = $1")
        .bind(msid)
        .fetch_optional(e)
        .await
        .map_err(db_err)
}
