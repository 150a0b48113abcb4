//! Instance groups: a named set of an account's VMs (`vm_instance.group_id`). Names are unique
//! per account among live groups, without case; a removed group keeps its row.

use ferrostack_types::{Error, Page};

use crate::account::OwnerScope;
use crate::{db_err, is_unique_violation, Conn, Sql};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InstanceGroup {
    pub id: i64,
    pub uuid: String,
    pub name: String,
    pub account_id: i64,
    pub domain_id: i64,
    pub created: i64,
    pub account_name: String,
    pub domain_uuid: String,
    pub domain_name: String,
    pub domain_path: String,
}

const SELECT: &str = "SELECT g.id, g.uuid, g.name, g.account_id, g.domain_id, g.created, a.name AS account_name, \
     d.uuid AS domain_uuid, d.name AS domain_name, d.path AS domain_path FROM instance_group g \
     JOIN account a ON a.id = g.account_id JOIN domain d ON d.id = g.domain_id";

fn taken(name: &str, account: &str) -> Error {
    Error::invalid(format!(
        "Unable to create instance group, a group with name {name} already exists for account {account}; choose another name"
    ))
}

/// Insert a group; a name already used in the account is a 431 (the unique index catches the
/// race a pre-check can't).
pub async fn insert(
    c: &mut Conn,
    uuid: &str,
    name: &str,
    account_id: i64,
    domain_id: i64,
    account_name: &str,
    now: i64,
) -> Result<i64, Error> {
    let r: Result<(i64,), _> = sqlx::query_as(
        "INSERT INTO instance_group (uuid, name, account_id, domain_id, created) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(uuid)
    .bind(name)
    .bind(account_id)
    .bind(domain_id)
    .bind(now)
    .fetch_one(&mut *c)
    .await;
    match r {
        Ok((id,)) => Ok(id),
        Err(e) if is_unique_violation(&e) => Err(taken(name, account_name)),
        Err(e) => Err(db_err(e)),
    }
}

pub async fn get(c: &mut Conn, id: i64) -> Result<Option<InstanceGroup>, Error> {
    let mut s = Sql::new(SELECT);
    s.and("g.id = ").bind_i64(id);
    Ok(s.fetch_all(c).await?.into_iter().next())
}

/// A live group by uuid.
pub async fn by_uuid(c: &mut Conn, uuid: &str) -> Result<Option<InstanceGroup>, Error> {
    let mut s = Sql::new(SELECT);
    s.and("g.removed IS NULL").and("g.uuid = ").bind_str(uuid);
    Ok(s.fetch_all(c).await?.into_iter().next())
}

/// A live group of an account by name (without case).
pub async fn by_name(c: &mut Conn, account_id: i64, name: &str) -> Result<Option<InstanceGroup>, Error> {
    let mut s = Sql::new(SELECT);
    s.and("g.removed IS NULL").and("g.account_id = ").bind_i64(account_id);
    s.and("lower(g.name) = ").bind_str(name.to_lowercase());
    Ok(s.fetch_all(c).await?.into_iter().next())
}

pub async fn rename(c: &mut Conn, g: &InstanceGroup, name: &str) -> Result<(), Error> {
    let r = sqlx::query("UPDATE instance_group SET name = $1 WHERE id = $2")
        .bind(name)
        .bind(g.id)
        .execute(&mut *c)
        .await;
    match r {
        Ok(_) => Ok(()),
        Err(e) if is_unique_violation(&e) => Err(taken(name, &g.account_name)),
        Err(e) => Err(db_err(e)),
    }
}

/// Remove groups and take their VMs out of them.
pub async fn remove(c: &mut Conn, ids: &[i64], now: i64) -> Result<(), Error> {
    if ids.is_empty() {
        return Ok(());
    }
    let mut s = Sql::new("UPDATE vm_instance SET group_id = NULL");
    s.and_in_i64("group_id", ids);
    s.query().execute(&mut *c).await.map_err(db_err)?;
    let mut s = Sql::new("UPDATE instance_group SET removed = ");
    s.bind_i64(now).and("removed IS NULL").and_in_i64("id", ids);
    s.query().execute(&mut *c).await.map_err(db_err)?;
    Ok(())
}

/// The live groups of an account (account removal).
pub async fn ids_of_account(c: &mut Conn, account_id: i64) -> Result<Vec<i64>, Error> {
    let rows: Vec<(i64,)> = sqlx::query_as("SELECT id FROM instance_group WHERE account_id = $1 AND removed IS NULL")
        .bind(account_id)
        .fetch_all(&mut *c)
        .await
        .map_err(db_err)?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// Put a VM in a group (`None`: in none).
pub async fn set_vm_group(c: &mut Conn, vm_id: i64, group_id: Option<i64>) -> Result<(), Error> {
    sqlx::query("UPDATE vm_instance SET group_id = $1 WHERE id = $2")
        .bind(group_id)
        .bind(vm_id)
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
    Ok(())
}

#[derive(Debug, Clone, Default)]
pub struct GroupFilter {
    pub uuid: Option<String>,
    pub name: Option<String>,
    pub keyword: Option<String>,
}

/// `listInstanceGroups`: live groups whose owners are in `scope`, paged on ids.
pub async fn list(
    c: &mut Conn,
    scope: &OwnerScope,
    f: &GroupFilter,
    page: Page,
) -> Result<(i64, Vec<InstanceGroup>), Error> {
    let mut s = Sql::new("SELECT g.id, COUNT(*) OVER () FROM instance_group g");
    s.and("g.removed IS NULL");
    scope.apply(&mut s, "g.account_id", "g.domain_id");
    if let Some(u) = &f.uuid {
        s.and("g.uuid = ").bind_str(u.as_str());
    }
    if let Some(n) = &f.name {
        s.and("lower(g.name) = ").bind_str(n.to_lowercase());
    }
    if let Some(k) = &f.keyword {
        s.and_keyword(&["g.name"], k);
    }
    s.push(" ORDER BY g.id").page(page);
    let (total, ids) = crate::sql::page_ids(&mut *c, &s).await?;
    let mut q = Sql::new(SELECT);
    q.and_in_i64("g.id", &ids).push(" ORDER BY g.id");
    Ok((total, q.fetch_all(&mut *c).await?))
}
