//! Download links of extracted templates and ISOs (`template_extract`). A row holds the
//! SHA-256 of the link's random token, never the token.

use ferrostack_types::Error;
use sqlx::{Any, Executor};

use crate::{db_err, Conn};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TemplateExtract {
    pub id: i64,
    pub uuid: String,
    pub template_id: i64,
    pub zone_id: i64,
    pub account_id: i64,
    pub token_hash: String,
    pub mode: String,
    pub expires: i64,
    pub created: i64,
}

pub struct NewExtract<'a> {
    pub uuid: &'a str,
    pub template_id: i64,
    pub zone_id: i64,
    pub account_id: i64,
    pub token_hash: &'a str,
    pub mode: &'a str,
    pub expires: i64,
    pub now: i64,
}

const COLS: &str = "id, uuid, template_id, zone_id, account_id, token_hash, mode, expires, created";

/// Record a link, replacing one with the same uuid (a repeated job step makes a new token),
/// and drop expired ones.
pub async fn insert(c: &mut Conn, x: NewExtract<'_>) -> Result<(), Error> {
    sqlx::query("DELETE FROM template_extract WHERE uuid = $1 OR expires < $2")
        .bind(x.uuid)
        .bind(x.now)
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
    sqlx::query(
        "INSERT INTO template_extract (uuid, template_id, zone_id, account_id, token_hash, mode, expires, created) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(x.uuid)
    .bind(x.template_id)
    .bind(x.zone_id)
    .bind(x.account_id)
    .bind(x.token_hash)
    .bind(x.mode)
    .bind(x.expires)
    .bind(x.now)
    .execute(&mut *c)
    .await
    .map_err(db_err)?;
    Ok(())
}

pub async fn by_uuid<'e, E: Executor<'e, Database = Any>>(e: E, uuid: &str) -> Result<Option<TemplateExtract>, Error> {
    let q = format!("SELECT {COLS} FROM template_extract WHERE uuid = $1");
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(uuid)
        .fetch_optional(e)
        .await
        .map_err(db_err)
}
