//! Users: log-in identities inside an account. Password hashes and secret keys live here
//! and are only ever read through the narrow functions that need them.

use ferrostack_types::ids::{AccountId, DomainId, UserId};
use ferrostack_types::state::AccountState;
use ferrostack_types::{AccountType, Error, Page, RoleType};
use sqlx::{Any, Executor};

use crate::account::OwnerScope;
use crate::{db_err, is_unique_violation, Conn, Sql};

/// A user as lists show it. Carries no password hash and no secret key.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct User {
    pub id: i64,
    pub uuid: String,
    pub account_id: i64,
    pub domain_id: i64,
    pub username: String,
    pub firstname: String,
    pub lastname: String,
    pub email: Option<String>,
    #[sqlx(try_from = "String")]
    pub state: AccountState,
    pub timezone: Option<String>,
    pub api_key: Option<String>,
    pub is_default: i64,
    pub source: String,
    pub created: i64,
    pub account_uuid: String,
    pub account_name: String,
    pub account_type: i64,
    #[sqlx(try_from = "String")]
    pub account_state: AccountState,
    pub domain_uuid: String,
    pub domain_name: String,
    pub domain_path: String,
    pub role_uuid: String,
    pub role_name: String,
    pub role_type: String,
}

impl User {
    pub fn id(&self) -> UserId {
        UserId(self.id)
    }
    pub fn account_id(&self) -> AccountId {
        AccountId(self.account_id)
    }
    pub fn domain_id(&self) -> DomainId {
        DomainId(self.domain_id)
    }
    pub fn account_type(&self) -> AccountType {
        AccountType::from_ordinal(self.account_type).unwrap_or(AccountType::User)
    }
    pub fn role_type(&self) -> RoleType {
        RoleType::parse(&self.role_type).unwrap_or(RoleType::User)
    }
}

const SELECT: &str = "SELECT u.id, u.uuid, u.account_id, u.domain_id, u.username, u.firstname, \
     u.lastname, u.email, u.state, u.timezone, u.api_key, u.is_default, u.source, u.created, \
     a.uuid AS account_uuid, a.name AS account_name, a.account_type, a.state AS account_state, \
     d.uuid AS domain_uuid, d.name AS domain_name, d.path AS domain_path, \
     r.uuid AS role_uuid, r.name AS role_name, r.role_type AS role_type \
     FROM app_user u JOIN account a ON a.id = u.account_id JOIN domain d ON d.id = u.domain_id \
     JOIN role r ON r.id = a.role_id";

pub struct NewUser<'a> {
    pub uuid: &'a str,
    pub account_id: AccountId,
    pub domain_id: DomainId,
    pub username: &'a str,
    pub password_hash: &'a str,
    pub firstname: &'a str,
    pub lastname: &'a str,
    pub email: Option<&'a str>,
    pub timezone: Option<&'a str>,
    pub is_default: bool,
    pub now: i64,
}

pub async fn insert(c: &mut Conn, u: NewUser<'_>) -> Result<UserId, Error> {
    let r: Result<(i64,), _> = sqlx::query_as(
        "INSERT INTO app_user (uuid, account_id, domain_id, username, password_hash, firstname, lastname, \
         email, state, timezone, is_default, source, created) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'enabled', $9, $10, 'native', $11) RETURNING id",
    )
    .bind(u.uuid)
    .bind(u.account_id.0)
    .bind(u.domain_id.0)
    .bind(u.username)
    .bind(u.password_hash)
    .bind(u.firstname)
    .bind(u.lastname)
    .bind(u.email)
    .bind(u.timezone)
    .bind(i64::from(u.is_default))
    .bind(u.now)
    .fetch_one(&mut *c)
    .await;
    match r {
        Ok((id,)) => Ok(UserId(id)),
        Err(e) if is_unique_violation(&e) => Err(Error::invalid(format!(
            "The user {} already exists in this domain (or its uuid is taken); choose another username",
            u.username
        ))),
        Err(e) => Err(db_err(e)),
    }
}

pub async fn get<'e, E: Executor<'e, Database = Any>>(e: E, id: UserId) -> Result<Option<User>, Error> {
    let q = format!("{SELECT} WHERE u.id = $1 AND u.removed IS NULL");
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(id.0)
        .fetch_optional(e)
        .await
        .map_err(db_err)
}

pub async fn by_uuid<'e, E: Executor<'e, Database = Any>>(e: E, uuid: &str) -> Result<Option<User>, Error> {
    let q = format!("{SELECT} WHERE u.uuid = $1 AND u.removed IS NULL");
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(uuid)
        .fetch_optional(e)
        .await
        .map_err(db_err)
}

pub async fn by_api_key<'e, E: Executor<'e, Database = Any>>(e: E, key: &str) -> Result<Option<User>, Error> {
    let q = format!("{SELECT} WHERE u.api_key = $1 AND u.removed IS NULL");
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(key)
        .fetch_optional(e)
        .await
        .map_err(db_err)
}

pub async fn by_username<'e, E: Executor<'e, Database = Any>>(
    e: E,
    domain: DomainId,
    username: &str,
) -> Result<Option<User>, Error> {
    let q = format!("{SELECT} WHERE u.domain_id = $1 AND u.username = $2 AND u.removed IS NULL");
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(domain.0)
        .bind(username)
        .fetch_optional(e)
        .await
        .map_err(db_err)
}

/// The stored password hash of a user (login and password checks only).
pub async fn password_hash<'e, E: Executor<'e, Database = Any>>(e: E, id: UserId) -> Result<Option<String>, Error> {
    let r: Option<(String,)> = sqlx::query_as("SELECT password_hash FROM app_user WHERE id = $1 AND removed IS NULL")
        .bind(id.0)
        .fetch_optional(e)
        .await
        .map_err(db_err)?;
    Ok(r.map(|r| r.0))
}

/// The API key pair of a user (signature checks and `getUserKeys` only).
pub async fn keys<'e, E: Executor<'e, Database = Any>>(e: E, id: UserId) -> Result<Option<(String, String)>, Error> {
    let r: Option<(Option<String>, Option<String>)> =
        sqlx::query_as("SELECT api_key, secret_key FROM app_user WHERE id = $1 AND removed IS NULL")
            .bind(id.0)
            .fetch_optional(e)
            .await
            .map_err(db_err)?;
    Ok(r.and_then(|(a, s)| Some((a?, s?))))
}

pub async fn set_keys(c: &mut Conn, id: UserId, api_key: &str, secret_key: &str) -> Result<(), Error> {
    sqlx::query("UPDATE app_user SET api_key = $1, secret_key = $2 WHERE id = $3")
        .bind(api_key)
        .bind(secret_key)
        .bind(id.0)
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
    Ok(())
}

pub async fn set_password(c: &mut Conn, id: UserId, hash: &str) -> Result<(), Error> {
    sqlx::query("UPDATE app_user SET password_hash = $1 WHERE id = $2")
        .bind(hash)
        .bind(id.0)
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Count one failed password login of an enabled user; the new count, or `None` when the user
/// is not enabled (a disabled or locked user's failures are not counted, as in CloudStack).
pub async fn count_failed_login(c: &mut Conn, id: UserId) -> Result<Option<i64>, Error> {
    let r: Option<(i64,)> = sqlx::query_as(
        "UPDATE app_user SET login_attempts = login_attempts + 1 \
         WHERE id = $1 AND state = 'enabled' AND removed IS NULL RETURNING login_attempts",
    )
    .bind(id.0)
    .fetch_optional(&mut *c)
    .await
    .map_err(db_err)?;
    Ok(r.map(|r| r.0))
}

/// Forget a user's failed logins (successful login, `enableUser`).
pub async fn reset_login_attempts(c: &mut Conn, id: UserId) -> Result<(), Error> {
    sqlx::query("UPDATE app_user SET login_attempts = 0 WHERE id = $1 AND login_attempts <> 0")
        .bind(id.0)
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Compare-and-swap the state: `false` when the user is no longer in `from` (or is gone).
pub async fn set_state(c: &mut Conn, id: UserId, from: AccountState, to: AccountState) -> Result<bool, Error> {
    let r = sqlx::query("UPDATE app_user SET state = $1 WHERE id = $2 AND state = $3 AND removed IS NULL")
        .bind(to.as_str())
        .bind(id.0)
        .bind(from.as_str())
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
    Ok(r.rows_affected() == 1)
}

#[derive(Debug, Default)]
pub struct UserUpdate<'a> {
    pub username: Option<&'a str>,
    pub firstname: Option<&'a str>,
    pub lastname: Option<&'a str>,
    pub email: Option<&'a str>,
    pub timezone: Option<&'a str>,
}

pub async fn update(c: &mut Conn, id: UserId, u: &UserUpdate<'_>) -> Result<(), Error> {
    let mut s = Sql::new("UPDATE app_user SET id = id");
    for (col, v) in [
        ("username", u.username),
        ("firstname", u.firstname),
        ("lastname", u.lastname),
        ("email", u.email),
        ("timezone", u.timezone),
    ] {
        if let Some(v) = v {
            s.push(", ").push(col).push(" = ").bind_str(v);
        }
    }
    s.push(" WHERE id = ").bind_i64(id.0);
    match s.query().execute(&mut *c).await {
        Ok(_) => Ok(()),
        Err(e) if is_unique_violation(&e) => Err(Error::invalid(format!(
            "The user {} already exists in this domain; choose another username",
            u.username.unwrap_or_default()
        ))),
        Err(e) => Err(db_err(e)),
    }
}

pub async fn mark_removed(c: &mut Conn, id: UserId, now: i64) -> Result<(), Error> {
    sqlx::query(
        "UPDATE app_user SET removed = $1, state = 'disabled', api_key = NULL, secret_key = NULL \
         WHERE id = $2 AND removed IS NULL",
    )
    .bind(now)
    .bind(id.0)
    .execute(&mut *c)
    .await
    .map_err(db_err)?;
    Ok(())
}

/// Remove every user of an account (account deletion). Keys are wiped with the rows.
pub async fn remove_all_of_account(c: &mut Conn, account: AccountId, now: i64) -> Result<u64, Error> {
    let r = sqlx::query(
        "UPDATE app_user SET removed = $1, state = 'disabled', api_key = NULL, secret_key = NULL \
         WHERE account_id = $2 AND removed IS NULL",
    )
    .bind(now)
    .bind(account.0)
    .execute(&mut *c)
    .await
    .map_err(db_err)?;
    Ok(r.rows_affected())
}

pub async fn count_live_in_account(c: &mut Conn, account: AccountId) -> Result<i64, Error> {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM app_user WHERE account_id = $1 AND removed IS NULL")
        .bind(account.0)
        .fetch_one(&mut *c)
        .await
        .map_err(db_err)?;
    Ok(n)
}

#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    pub id: Option<UserId>,
    pub username: Option<String>,
    pub account_type: Option<i64>,
    pub state: Option<ferrostack_types::state::AccountState>,
    pub keyword: Option<String>,
    pub api_key: Option<String>,
}

pub async fn list(c: &mut Conn, scope: &OwnerScope, f: &UserFilter, page: Page) -> Result<(i64, Vec<User>), Error> {
    let mut s = Sql::new("SELECT u.id, COUNT(*) OVER () FROM app_user u JOIN account a ON a.id = u.account_id");
    s.and("u.removed IS NULL");
    scope.apply(&mut s, "u.account_id", "u.domain_id");
    if let Some(id) = f.id {
        s.and("u.id = ").bind_i64(id.0);
    }
    if let Some(n) = &f.username {
        s.and("u.username = ").bind_str(n.clone());
    }
    if let Some(t) = f.account_type {
        s.and("a.account_type = ").bind_i64(t);
    }
    if let Some(st) = f.state {
        s.and("u.state = ").bind_str(st.as_str().to_string());
    }
    if let Some(k) = &f.api_key {
        s.and("u.api_key = ").bind_str(k.clone());
    }
    if let Some(k) = &f.keyword {
        s.and_keyword(&["u.username", "u.firstname", "u.lastname", "u.email"], k);
    }
    s.push(" ORDER BY u.id").page(page);
    let (total, ids) = crate::sql::page_ids(&mut *c, &s).await?;
    Ok((total, hydrate(c, &ids).await?))
}

/// Full user rows for the given ids, in id order, in one query.
pub async fn hydrate(c: &mut Conn, ids: &[i64]) -> Result<Vec<User>, Error> {
    let mut q = Sql::new(SELECT);
    q.and_in_i64("u.id", ids).push(" ORDER BY u.id");
    q.fetch_all(c).await
}

/// Users of the given accounts, for embedding in account answers (one query per page).
pub async fn of_accounts(c: &mut Conn, accounts: &[i64]) -> Result<Vec<User>, Error> {
    let mut q = Sql::new(SELECT);
    q.and("u.removed IS NULL");
    q.and_in_i64("u.account_id", accounts).push(" ORDER BY u.id");
    q.fetch_all(c).await
}

/// A user row even if removed (jobs keep running as their submitter).
pub async fn get_including_removed<'e, E: Executor<'e, Database = Any>>(
    e: E,
    id: UserId,
) -> Result<Option<User>, Error> {
    let q = format!("{SELECT} WHERE u.id = $1");
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(id.0)
        .fetch_optional(e)
        .await
        .map_err(db_err)
}
