//! Accounts: the unit of ownership. Joined with their domain and role on every read.

use ferrostack_types::ids::{AccountId, DomainId};
use ferrostack_types::state::AccountState;
use ferrostack_types::{AccountType, Error, Page, RoleType};
use sqlx::{Any, Executor};

use crate::{db_err, is_unique_violation, Conn, Sql};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Account {
    pub id: i64,
    pub uuid: String,
    pub name: String,
    pub domain_id: i64,
    pub account_type: i64,
    pub role_id: i64,
    #[sqlx(try_from = "String")]
    pub state: AccountState,
    pub network_domain: Option<String>,
    pub is_default: i64,
    pub created: i64,
    pub domain_uuid: String,
    pub domain_name: String,
    pub domain_path: String,
    pub role_uuid: String,
    pub role_name: String,
    pub role_type: String,
}

impl Account {
    pub fn id(&self) -> AccountId {
        AccountId(self.id)
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

const SELECT: &str = "SELECT a.id, a.uuid, a.name, a.domain_id, a.account_type, a.role_id, a.state, \
     a.network_domain, a.is_default, a.created, d.uuid AS domain_uuid, d.name AS domain_name, \
     d.path AS domain_path, r.uuid AS role_uuid, r.name AS role_name, r.role_type AS role_type \
     FROM account a JOIN domain d ON d.id = a.domain_id JOIN role r ON r.id = a.role_id";

pub struct NewAccount<'a> {
    pub uuid: &'a str,
    pub name: &'a str,
    pub domain_id: DomainId,
    pub account_type: AccountType,
    pub role_id: i64,
    pub network_domain: Option<&'a str>,
    pub is_default: bool,
    pub now: i64,
}

pub async fn insert(c: &mut Conn, a: NewAccount<'_>) -> Result<AccountId, Error> {
    let r: Result<(i64,), _> = sqlx::query_as(
        "INSERT INTO account (uuid, name, domain_id, account_type, role_id, state, network_domain, is_default, created) \
         VALUES ($1, $2, $3, $4, $5, 'enabled', $6, $7, $8) RETURNING id",
    )
    .bind(a.uuid)
    .bind(a.name)
    .bind(a.domain_id.0)
    .bind(a.account_type.ordinal())
    .bind(a.role_id)
    .bind(a.network_domain)
    .bind(i64::from(a.is_default))
    .bind(a.now)
    .fetch_one(&mut *c)
    .await;
    match r {
        Ok((id,)) => Ok(AccountId(id)),
        Err(e) if is_unique_violation(&e) => Err(Error::invalid(format!(
            "The specified account {} already exists in the domain (or its uuid is taken); choose another name",
            a.name
        ))),
        Err(e) => Err(db_err(e)),
    }
}

pub async fn get<'e, E: Executor<'e, Database = Any>>(e: E, id: AccountId) -> Result<Option<Account>, Error> {
    let q = format!("{SELECT} WHERE a.id = $1 AND a.removed IS NULL");
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(id.0)
        .fetch_optional(e)
        .await
        .map_err(db_err)
}

pub async fn by_uuid<'e, E: Executor<'e, Database = Any>>(e: E, uuid: &str) -> Result<Option<Account>, Error> {
    let q = format!("{SELECT} WHERE a.uuid = $1 AND a.removed IS NULL");
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(uuid)
        .fetch_optional(e)
        .await
        .map_err(db_err)
}

pub async fn by_name<'e, E: Executor<'e, Database = Any>>(
    e: E,
    domain: DomainId,
    name: &str,
) -> Result<Option<Account>, Error> {
    let q = format!("{SELECT} WHERE a.domain_id = $1 AND lower(a.name) = $2 AND a.removed IS NULL");
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(domain.0)
        .bind(name.to_lowercase())
        .fetch_optional(e)
        .await
        .map_err(db_err)
}

/// Which accounts' rows a list may return: resolved from the caller and `listall`/`domainid`/
/// `account`/`isrecursive` by the app layer.
#[derive(Debug, Clone)]
pub enum OwnerScope {
    /// Everything.
    All,
    /// One account.
    Account(AccountId),
    /// Every account of exactly these domains.
    Domains(Vec<i64>),
}

impl OwnerScope {
    /// Add the scope condition on the given account / domain id columns.
    pub fn apply(&self, s: &mut Sql, account_col: &str, domain_col: &str) {
        match self {
            OwnerScope::All => {}
            OwnerScope::Account(id) => {
                s.and(account_col).push(" = ").bind_i64(id.0);
            }
            OwnerScope::Domains(ids) => {
                s.and_in_i64(domain_col, ids);
            }
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct AccountFilter {
    pub id: Option<AccountId>,
    pub name: Option<String>,
    pub account_type: Option<i64>,
    pub state: Option<ferrostack_types::state::AccountState>,
    pub keyword: Option<String>,
}

pub async fn list(
    c: &mut Conn,
    scope: &OwnerScope,
    f: &AccountFilter,
    page: Page,
) -> Result<(i64, Vec<Account>), Error> {
    let mut s = Sql::new("SELECT a.id, COUNT(*) OVER () FROM account a");
    s.and("a.removed IS NULL");
    scope.apply(&mut s, "a.id", "a.domain_id");
    if let Some(id) = f.id {
        s.and("a.id = ").bind_i64(id.0);
    }
    if let Some(n) = &f.name {
        s.and("lower(a.name) = ").bind_str(n.to_lowercase());
    }
    if let Some(t) = f.account_type {
        s.and("a.account_type = ").bind_i64(t);
    }
    if let Some(st) = f.state {
        s.and("a.state = ").bind_str(st.as_str().to_string());
    }
    if let Some(k) = &f.keyword {
        s.and_keyword(&["a.name"], k);
    }
    s.push(" ORDER BY a.id").page(page);
    let (total, ids) = crate::sql::page_ids(&mut *c, &s).await?;
    let mut q = Sql::new(SELECT);
    q.and_in_i64("a.id", &ids).push(" ORDER BY a.id");
    Ok((total, q.fetch_all(&mut *c).await?))
}

/// Compare-and-swap the state: `false` when the account is no longer in `from` (or is gone).
pub async fn set_state(c: &mut Conn, id: AccountId, from: AccountState, to: AccountState) -> Result<bool, Error> {
    let r = sqlx::query("UPDATE account SET state = $1 WHERE id = $2 AND state = $3 AND removed IS NULL")
        .bind(to.as_str())
        .bind(id.0)
        .bind(from.as_str())
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
    Ok(r.rows_affected() == 1)
}

pub async fn update(
    c: &mut Conn,
    id: AccountId,
    name: Option<&str>,
    network_domain: Option<&str>,
    role: Option<(i64, AccountType)>,
) -> Result<(), Error> {
    if let Some(name) = name {
        let r = sqlx::query("UPDATE account SET name = $1 WHERE id = $2")
            .bind(name)
            .bind(id.0)
            .execute(&mut *c)
            .await;
        match r {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {
                return Err(Error::invalid(format!(
                    "The specified account {name} already exists in the domain; choose another name"
                )))
            }
            Err(e) => return Err(db_err(e)),
        }
    }
    if let Some(nd) = network_domain {
        sqlx::query("UPDATE account SET network_domain = $1 WHERE id = $2")
            .bind(nd)
            .bind(id.0)
            .execute(&mut *c)
            .await
            .map_err(db_err)?;
    }
    if let Some((role_id, t)) = role {
        sqlx::query("UPDATE account SET role_id = $1, account_type = $2 WHERE id = $3")
            .bind(role_id)
            .bind(t.ordinal())
            .bind(id.0)
            .execute(&mut *c)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

/// Soft-delete: the row stays for events and jobs that name it.
pub async fn mark_removed(c: &mut Conn, id: AccountId, now: i64) -> Result<(), Error> {
    sqlx::query("UPDATE account SET removed = $1, state = 'disabled' WHERE id = $2 AND removed IS NULL")
        .bind(now)
        .bind(id.0)
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Live accounts of one domain.
pub async fn ids_in_domain(c: &mut Conn, domain: DomainId) -> Result<Vec<i64>, Error> {
    let rows: Vec<(i64,)> =
        sqlx::query_as("SELECT id FROM account WHERE domain_id = $1 AND removed IS NULL ORDER BY id")
            .bind(domain.0)
            .fetch_all(&mut *c)
            .await
            .map_err(db_err)?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}
