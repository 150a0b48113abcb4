//! SSH key pairs: a named public key owned by an account. The private key of a generated
//! pair is handed out once at creation and never stored.

use ferrostack_types::ids::{AccountId, DomainId};
use ferrostack_types::{Error, Page};

use crate::account::OwnerScope;
use crate::{db_err, is_unique_violation, Conn, Sql};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SshKeyPair {
    pub id: i64,
    pub uuid: String,
    pub name: String,
    pub account_id: i64,
    pub domain_id: i64,
    pub public_key: String,
    pub fingerprint: String,
    pub created: i64,
    pub account_uuid: String,
    pub account_name: String,
    pub domain_uuid: String,
    pub domain_name: String,
    pub domain_path: String,
}

const SELECT: &str = "SELECT k.id, k.uuid, k.name, k.account_id, k.domain_id, k.public_key, k.fingerprint, \
     k.created, a.uuid AS account_uuid, a.name AS account_name, d.uuid AS domain_uuid, d.name AS domain_name, \
     d.path AS domain_path FROM ssh_keypair k JOIN account a ON a.id = k.account_id \
     JOIN domain d ON d.id = k.domain_id";

pub struct NewKeyPair<'a> {
    pub uuid: &'a str,
    pub name: &'a str,
    pub account_id: AccountId,
    pub domain_id: DomainId,
    pub public_key: &'a str,
    pub fingerprint: &'a str,
    pub now: i64,
}

/// Insert a key pair. A name or key already used in the account is a 431 (the unique
/// indexes catch the race the caller's pre-check can't).
pub async fn insert(c: &mut Conn, k: NewKeyPair<'_>) -> Result<i64, Error> {
    let r: Result<(i64,), _> = sqlx::query_as(
        "INSERT INTO ssh_keypair (uuid, name, account_id, domain_id, public_key, fingerprint, created) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(k.uuid)
    .bind(k.name)
    .bind(k.account_id.0)
    .bind(k.domain_id.0)
    .bind(k.public_key)
    .bind(k.fingerprint)
    .bind(k.now)
    .fetch_one(&mut *c)
    .await;
    match r {
        Ok((id,)) => Ok(id),
        Err(e) if is_unique_violation(&e) => Err(Error::invalid(format!(
            "A key pair with name '{}' or with the same public key already exists for this account; \
             choose another name or key",
            k.name
        ))),
        Err(e) => Err(db_err(e)),
    }
}

pub async fn get(c: &mut Conn, id: i64) -> Result<Option<SshKeyPair>, Error> {
    let mut s = Sql::new(SELECT);
    s.and("k.id = ").bind_i64(id);
    Ok(s.fetch_all(c).await?.into_iter().next())
}

pub async fn by_name(c: &mut Conn, account: AccountId, name: &str) -> Result<Option<SshKeyPair>, Error> {
    let mut s = Sql::new(SELECT);
    s.and("k.account_id = ").bind_i64(account.0);
    s.and("k.name = ").bind_str(name);
    Ok(s.fetch_all(c).await?.into_iter().next())
}

pub async fn by_fingerprint(c: &mut Conn, account: AccountId, fingerprint: &str) -> Result<Option<SshKeyPair>, Error> {
    let mut s = Sql::new(SELECT);
    s.and("k.account_id = ").bind_i64(account.0);
    s.and("k.fingerprint = ").bind_str(fingerprint);
    Ok(s.fetch_all(c).await?.into_iter().next())
}

/// The named key pairs of one account, in the order asked; names not found are left out.
pub async fn by_names(c: &mut Conn, account: AccountId, names: &[String]) -> Result<Vec<SshKeyPair>, Error> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let mut s = Sql::new(SELECT);
    s.and("k.account_id = ").bind_i64(account.0);
    s.and("k.name IN (");
    for (i, n) in names.iter().enumerate() {
        if i > 0 {
            s.push(", ");
        }
        s.bind_str(n.as_str());
    }
    s.push(")");
    let rows: Vec<SshKeyPair> = s.fetch_all(c).await?;
    Ok(names
        .iter()
        .filter_map(|n| rows.iter().find(|r| &r.name == n).cloned())
        .collect())
}

#[derive(Debug, Clone, Default)]
pub struct KeyPairFilter {
    pub uuid: Option<String>,
    pub name: Option<String>,
    pub fingerprint: Option<String>,
    pub keyword: Option<String>,
    /// `tags[N].key/value`: key pairs having any of these tags.
    pub tags: Vec<crate::tag::TagMatch>,
}

pub async fn list(
    c: &mut Conn,
    scope: &OwnerScope,
    f: &KeyPairFilter,
    page: Page,
) -> Result<(i64, Vec<SshKeyPair>), Error> {
    let mut s = Sql::new("SELECT k.id, COUNT(*) OVER () FROM ssh_keypair k JOIN account a ON a.id = k.account_id");
    s.and("a.removed IS NULL");
    scope.apply(&mut s, "k.account_id", "k.domain_id");
    if let Some(u) = &f.uuid {
        s.and("k.uuid = ").bind_str(u.as_str());
    }
    if let Some(n) = &f.name {
        s.and("k.name = ").bind_str(n.as_str());
    }
    if let Some(fp) = &f.fingerprint {
        s.and("lower(k.fingerprint) = ").bind_str(fp.to_lowercase());
    }
    if let Some(k) = &f.keyword {
        s.and_keyword(&["k.name", "k.fingerprint"], k);
    }
    crate::tag::and_tags(&mut s, crate::tag::ResourceType::SshKeyPair, "k.id", &f.tags);
    s.push(" ORDER BY k.id").page(page);
    let (total, ids) = crate::sql::page_ids(&mut *c, &s).await?;
    let mut q = Sql::new(SELECT);
    q.and_in_i64("k.id", &ids).push(" ORDER BY k.id");
    Ok((total, q.fetch_all(&mut *c).await?))
}

/// Delete (hard, as CloudStack does: nothing refers to a key pair by id).
pub async fn delete(c: &mut Conn, id: i64) -> Result<(), Error> {
    sqlx::query("DELETE FROM ssh_keypair WHERE id = $1")
        .bind(id)
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Drop every key pair of an account (account removal).
pub async fn delete_for_account(c: &mut Conn, account: AccountId) -> Result<u64, Error> {
    let r = sqlx::query("DELETE FROM ssh_keypair WHERE account_id = $1")
        .bind(account.0)
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
    Ok(r.rows_affected())
}
