//! The user data registry (`registerUserData`): named base64 user data owned by an account,
//! with the variable names it declares, and the link from a template (by its integer id) to
//! one user data object with an override policy.

use ferrostack_types::ids::{AccountId, DomainId};
use ferrostack_types::{Error, Page};

use crate::account::OwnerScope;
use crate::{db_err, is_unique_violation, Conn, Sql};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserData {
    pub id: i64,
    pub uuid: String,
    pub name: String,
    pub account_id: i64,
    pub domain_id: i64,
    /// Base64 (standard alphabet, padded), as stored.
    pub user_data: String,
    /// Comma-separated variable names, as registered.
    pub params: Option<String>,
    pub created: i64,
    pub account_uuid: String,
    pub account_name: String,
    pub domain_uuid: String,
    pub domain_name: String,
    pub domain_path: String,
}

impl UserData {
    /// The declared variable names.
    pub fn param_list(&self) -> Vec<String> {
        split_params(self.params.as_deref())
    }
}

/// `"a, b,,c"` → `["a", "b", "c"]`.
pub fn split_params(params: Option<&str>) -> Vec<String> {
    params
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

const SELECT: &str = "SELECT u.id, u.uuid, u.name, u.account_id, u.domain_id, u.user_data, u.params, u.created, \
     a.uuid AS account_uuid, a.name AS account_name, d.uuid AS domain_uuid, d.name AS domain_name, \
     d.path AS domain_path FROM user_data u JOIN account a ON a.id = u.account_id \
     JOIN domain d ON d.id = u.domain_id";

pub struct NewUserData<'a> {
    pub uuid: &'a str,
    pub name: &'a str,
    pub account_id: AccountId,
    pub domain_id: DomainId,
    pub user_data: &'a str,
    pub params: Option<&'a str>,
    pub now: i64,
}

pub async fn insert(c: &mut Conn, u: NewUserData<'_>) -> Result<i64, Error> {
    let r: Result<(i64,), _> = sqlx::query_as(
        "INSERT INTO user_data (uuid, name, account_id, domain_id, user_data, params, created) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(u.uuid)
    .bind(u.name)
    .bind(u.account_id.0)
    .bind(u.domain_id.0)
    .bind(u.user_data)
    .bind(u.params)
    .bind(u.now)
    .fetch_one(&mut *c)
    .await;
    match r {
        Ok((id,)) => Ok(id),
        Err(e) if is_unique_violation(&e) => Err(Error::invalid(format!(
            "A userdata with name {} already exists for this account; choose another name",
            u.name
        ))),
        Err(e) => Err(db_err(e)),
    }
}

/// A live user data object by id.
pub async fn get(c: &mut Conn, id: i64) -> Result<Option<UserData>, Error> {
    let mut s = Sql::new(SELECT);
    s.and("u.id = ").bind_i64(id);
    s.and("u.removed IS NULL");
    Ok(s.fetch_all(c).await?.into_iter().next())
}

/// Live user data objects by id, in one query.
pub async fn by_ids(c: &mut Conn, ids: &[i64]) -> Result<Vec<UserData>, Error> {
    let mut s = Sql::new(SELECT);
    s.and_in_i64("u.id", ids);
    s.and("u.removed IS NULL");
    s.fetch_all(c).await
}

pub async fn by_uuid(c: &mut Conn, uuid: &str) -> Result<Option<UserData>, Error> {
    let mut s = Sql::new(SELECT);
    s.and("u.uuid = ").bind_str(uuid);
    s.and("u.removed IS NULL");
    Ok(s.fetch_all(c).await?.into_iter().next())
}

pub async fn by_name(c: &mut Conn, account: AccountId, name: &str) -> Result<Option<UserData>, Error> {
    let mut s = Sql::new(SELECT);
    s.and("u.account_id = ").bind_i64(account.0);
    s.and("u.name = ").bind_str(name);
    s.and("u.removed IS NULL");
    Ok(s.fetch_all(c).await?.into_iter().next())
}

/// A live object of the account with exactly this (stored, base64) content.
pub async fn by_content(c: &mut Conn, account: AccountId, user_data: &str) -> Result<Option<UserData>, Error> {
    let mut s = Sql::new(SELECT);
    s.and("u.account_id = ").bind_i64(account.0);
    s.and("u.user_data = ").bind_str(user_data);
    s.and("u.removed IS NULL");
    Ok(s.fetch_all(c).await?.into_iter().next())
}

#[derive(Debug, Clone, Default)]
pub struct UserDataFilter {
    pub uuid: Option<String>,
    pub name: Option<String>,
    pub keyword: Option<String>,
    /// `tags[N].key/value`: user data having any of these tags.
    pub tags: Vec<crate::tag::TagMatch>,
}

pub async fn list(
    c: &mut Conn,
    scope: &OwnerScope,
    f: &UserDataFilter,
    page: Page,
) -> Result<(i64, Vec<UserData>), Error> {
    let mut s = Sql::new("SELECT u.id, COUNT(*) OVER () FROM user_data u JOIN account a ON a.id = u.account_id");
    s.and("u.removed IS NULL");
    s.and("a.removed IS NULL");
    scope.apply(&mut s, "u.account_id", "u.domain_id");
    if let Some(id) = &f.uuid {
        s.and("u.uuid = ").bind_str(id.as_str());
    }
    if let Some(n) = &f.name {
        s.and("u.name = ").bind_str(n.as_str());
    }
    if let Some(k) = &f.keyword {
        s.and_keyword(&["u.name"], k);
    }
    crate::tag::and_tags(&mut s, crate::tag::ResourceType::UserData, "u.id", &f.tags);
    s.push(" ORDER BY u.id").page(page);
    let (total, ids) = crate::sql::page_ids(&mut *c, &s).await?;
    let mut q = Sql::new(SELECT);
    q.and_in_i64("u.id", &ids).push(" ORDER BY u.id");
    Ok((total, q.fetch_all(&mut *c).await?))
}

/// Soft-delete: VMs and events may still name the object.
pub async fn mark_removed(c: &mut Conn, id: i64, now: i64) -> Result<(), Error> {
    sqlx::query("UPDATE user_data SET removed = $1 WHERE id = $2 AND removed IS NULL")
        .bind(now)
        .bind(id)
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// A template's link to user data.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TemplateLink {
    pub template_id: i64,
    pub userdata_id: i64,
    pub policy: String,
}

/// Link (or relink) a template to user data with a policy.
pub async fn link_template(
    c: &mut Conn,
    template_id: i64,
    userdata_id: i64,
    policy: &str,
    now: i64,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO template_userdata (template_id, userdata_id, policy, updated) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (template_id) DO UPDATE SET userdata_id = excluded.userdata_id, policy = excluded.policy, \
         updated = excluded.updated",
    )
    .bind(template_id)
    .bind(userdata_id)
    .bind(policy)
    .bind(now)
    .execute(&mut *c)
    .await
    .map_err(db_err)?;
    Ok(())
}

pub async fn unlink_template(c: &mut Conn, template_id: i64) -> Result<(), Error> {
    sqlx::query("DELETE FROM template_userdata WHERE template_id = $1")
        .bind(template_id)
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
    Ok(())
}

pub async fn template_link(c: &mut Conn, template_id: i64) -> Result<Option<TemplateLink>, Error> {
    sqlx::query_as("SELECT template_id, userdata_id, policy FROM template_userdata WHERE template_id = $1")
        .bind(template_id)
        .fetch_optional(&mut *c)
        .await
        .map_err(db_err)
}

/// Links of many templates at once (for template lists).
pub async fn template_links(c: &mut Conn, template_ids: &[i64]) -> Result<Vec<TemplateLink>, Error> {
    let mut s = Sql::new("SELECT template_id, userdata_id, policy FROM template_userdata");
    s.and_in_i64("template_id", template_ids);
    s.fetch_all(c).await
}

/// Live templates (`vm_template.removed IS NULL`) linked to the user data.
pub async fn count_linked_templates(c: &mut Conn, userdata_id: i64) -> Result<i64, Error> {
    let (n,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM template_userdata l JOIN vm_template t ON t.id = l.template_id \
         WHERE l.userdata_id = $1 AND t.removed IS NULL",
    )
    .bind(userdata_id)
    .fetch_one(&mut *c)
    .await
    .map_err(db_err)?;
    Ok(n)
}

/// Live rows (`removed IS NULL`) of `table` whose `column` is the user data's id. `table`
/// and `column` come from a compile-time list, never from a request.
pub async fn count_users(
    c: &mut Conn,
    table: &'static str,
    column: &'static str,
    userdata_id: i64,
) -> Result<i64, Error> {
    let q = format!("SELECT COUNT(*) FROM {table} WHERE {column} = $1 AND removed IS NULL");
    let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(userdata_id)
        .fetch_one(&mut *c)
        .await
        .map_err(db_err)?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn params_split_and_trim() {
        assert_eq!(split_params(Some(" a, b,,c ")), vec!["a", "b", "c"]);
        assert!(split_params(None).is_empty());
        assert!(split_params(Some("")).is_empty());
    }
}
