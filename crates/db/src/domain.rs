//! Domains: the tenancy tree. `path` is CloudStack's internal form: `/` for ROOT,
//! `/child/`, `/child/grandchild/`, so a subtree is a path prefix.

use ferrostack_types::ids::DomainId;
use ferrostack_types::state::DomainState;
use ferrostack_types::{Error, Page};
use sqlx::{Any, Executor};

use crate::{db_err, is_unique_violation, Conn, Sql};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Domain {
    pub id: i64,
    pub uuid: String,
    pub name: String,
    pub parent_id: Option<i64>,
    pub path: String,
    pub level: i64,
    pub network_domain: Option<String>,
    #[sqlx(try_from = "String")]
    pub state: DomainState,
    pub created: i64,
    pub parent_uuid: Option<String>,
    pub parent_name: Option<String>,
    pub has_child: i64,
}

impl Domain {
    pub fn id(&self) -> DomainId {
        DomainId(self.id)
    }
    /// The API form of the path: `ROOT`, `ROOT/child`.
    pub fn display_path(&self) -> String {
        display_path(&self.path)
    }
}

pub fn display_path(path: &str) -> String {
    let inner = path.trim_matches('/');
    if inner.is_empty() {
        "ROOT".to_string()
    } else {
        format!("ROOT/{inner}")
    }
}

const SELECT: &str = "SELECT d.id, d.uuid, d.name, d.parent_id, d.path, d.level, d.network_domain, \
     d.state, d.created, p.uuid AS parent_uuid, p.name AS parent_name, \
     (CASE WHEN EXISTS (SELECT 1 FROM domain c WHERE c.parent_id = d.id AND c.removed IS NULL) \
      THEN 1 ELSE 0 END) AS has_child \
     FROM domain d LEFT JOIN domain p ON p.id = d.parent_id";

pub struct NewDomain<'a> {
    pub uuid: &'a str,
    pub name: &'a str,
    pub parent: Option<&'a Domain>,
    pub network_domain: Option<&'a str>,
    pub now: i64,
}

pub async fn insert(c: &mut Conn, d: NewDomain<'_>) -> Result<DomainId, Error> {
    let (path, level) = match d.parent {
        Some(p) => (format!("{}{}/", p.path, d.name), p.level + 1),
        None => ("/".to_string(), 0),
    };
    let r: Result<(i64,), sqlx::Error> = sqlx::query_as(
        "INSERT INTO domain (uuid, name, parent_id, path, level, network_domain, state, created) \
         VALUES ($1, $2, $3, $4, $5, $6, 'Active', $7) RETURNING id",
    )
    .bind(d.uuid)
    .bind(d.name)
    .bind(d.parent.map(|p| p.id))
    .bind(path)
    .bind(level)
    .bind(d.network_domain)
    .bind(d.now)
    .fetch_one(&mut *c)
    .await;
    match r {
        Ok((id,)) => Ok(DomainId(id)),
        Err(e) if is_unique_violation(&e) => Err(Error::invalid(format!(
            "Domain with name {} already exists under the parent domain; choose another name",
            d.name
        ))),
        Err(e) => Err(db_err(e)),
    }
}

pub async fn get<'e, E: Executor<'e, Database = Any>>(e: E, id: DomainId) -> Result<Option<Domain>, Error> {
    let q = format!("{SELECT} WHERE d.id = $1 AND d.removed IS NULL");
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(id.0)
        .fetch_optional(e)
        .await
        .map_err(db_err)
}

pub async fn by_uuid<'e, E: Executor<'e, Database = Any>>(e: E, uuid: &str) -> Result<Option<Domain>, Error> {
    let q = format!("{SELECT} WHERE d.uuid = $1 AND d.removed IS NULL");
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(uuid)
        .fetch_optional(e)
        .await
        .map_err(db_err)
}

/// The domain with the given display path (`ROOT`, `ROOT/a`, `/a/`, `a`…), case-insensitive.
pub async fn by_path<'e, E: Executor<'e, Database = Any>>(e: E, path: &str) -> Result<Option<Domain>, Error> {
    let q = format!("{SELECT} WHERE lower(d.path) = $1 AND d.removed IS NULL");
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(normalize_path(path).to_lowercase())
        .fetch_optional(e)
        .await
        .map_err(db_err)
}

/// Turn any accepted spelling of a domain path into the internal `/a/b/` form.
pub fn normalize_path(input: &str) -> String {
    let t = input.trim().trim_matches('/');
    let t = if t.eq_ignore_ascii_case("root") {
        ""
    } else if t.len() > 5 && t[..5].eq_ignore_ascii_case("root/") {
        &t[5..]
    } else {
        t
    };
    if t.is_empty() {
        "/".to_string()
    } else {
        format!("/{t}/")
    }
}

pub async fn root<'e, E: Executor<'e, Database = Any>>(e: E) -> Result<Option<Domain>, Error> {
    let q = format!("{SELECT} WHERE d.parent_id IS NULL AND d.removed IS NULL");
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .fetch_optional(e)
        .await
        .map_err(db_err)
}

/// Which domains a list may return.
#[derive(Debug, Clone)]
pub enum DomainScope {
    /// Exactly one domain.
    One(DomainId),
    /// A domain and everything below it, by internal path.
    Subtree(String),
}

#[derive(Debug, Clone, Default)]
pub struct DomainFilter {
    pub id: Option<DomainId>,
    pub name: Option<String>,
    pub level: Option<i64>,
    pub keyword: Option<String>,
}

pub async fn list(
    c: &mut Conn,
    scope: &DomainScope,
    f: &DomainFilter,
    page: Page,
) -> Result<(i64, Vec<Domain>), Error> {
    let mut s2 = Sql::new("SELECT d.id, COUNT(*) OVER () AS total FROM domain d");
    s2.and("d.removed IS NULL");
    match scope {
        DomainScope::One(id) => {
            s2.and("d.id = ").bind_i64(id.0);
        }
        DomainScope::Subtree(path) => {
            s2.and("substr(d.path, 1, CAST(")
                .bind_i64(path.len() as i64)
                .push(" AS INTEGER)) = ")
                .bind_str(path.clone());
        }
    }
    if let Some(id) = f.id {
        s2.and("d.id = ").bind_i64(id.0);
    }
    if let Some(name) = &f.name {
        s2.and("lower(d.name) = ").bind_str(name.to_lowercase());
    }
    if let Some(level) = f.level {
        s2.and("d.level = ").bind_i64(level);
    }
    if let Some(k) = &f.keyword {
        s2.and_keyword(&["d.name"], k);
    }
    s2.push(" ORDER BY d.id").page(page);
    let (total, ids) = crate::sql::page_ids(&mut *c, &s2).await?;
    let mut q = Sql::new(SELECT);
    q.and_in_i64("d.id", &ids).push(" ORDER BY d.id");
    Ok((total, q.fetch_all(&mut *c).await?))
}

/// Ids of the live domains in the subtree at `path` (inclusive).
pub async fn subtree_ids(c: &mut Conn, path: &str) -> Result<Vec<i64>, Error> {
    let rows: Vec<(i64,)> =
        sqlx::query_as("SELECT id FROM domain WHERE removed IS NULL AND substr(path, 1, CAST($1 AS INTEGER)) = $2")
            .bind(path.len() as i64)
            .bind(path)
            .fetch_all(&mut *c)
            .await
            .map_err(db_err)?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

pub async fn update(c: &mut Conn, id: DomainId, name: Option<&str>, network_domain: Option<&str>) -> Result<(), Error> {
    if let Some(name) = name {
        let d = get(&mut *c, id).await?.ok_or_else(|| Error::unknown_entity("id", id))?;
        let parent_path = d.path[..d.path.len() - d.name.len() - 1].to_string();
        let new_path = format!("{parent_path}{name}/");
        let r = sqlx::query("UPDATE domain SET name = $1, path = $2 WHERE id = $3")
            .bind(name)
            .bind(&new_path)
            .bind(id.0)
            .execute(&mut *c)
            .await;
        match r {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {
                return Err(Error::invalid(format!(
                    "Domain with name {name} already exists under the parent domain; choose another name"
                )))
            }
            Err(e) => return Err(db_err(e)),
        }
        // Re-root every descendant's path.
        sqlx::query(
            "UPDATE domain SET path = $1 || substr(path, CAST($2 AS INTEGER)) \
             WHERE substr(path, 1, CAST($3 AS INTEGER)) = $4 AND id <> $5",
        )
        .bind(&new_path)
        .bind(d.path.len() as i64 + 1)
        .bind(d.path.len() as i64)
        .bind(&d.path)
        .bind(id.0)
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
    }
    if let Some(nd) = network_domain {
        sqlx::query("UPDATE domain SET network_domain = $1 WHERE id = $2")
            .bind(nd)
            .bind(id.0)
            .execute(&mut *c)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

pub async fn mark_removed(c: &mut Conn, id: DomainId, now: i64) -> Result<(), Error> {
    sqlx::query("UPDATE domain SET removed = $1, state = 'Inactive' WHERE id = $2 AND removed IS NULL")
        .bind(now)
        .bind(id.0)
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Compare-and-swap the state: `false` when the domain is no longer in `from`.
pub async fn set_state(c: &mut Conn, id: DomainId, from: DomainState, to: DomainState) -> Result<bool, Error> {
    let r = sqlx::query("UPDATE domain SET state = $1 WHERE id = $2 AND state = $3")
        .bind(to.as_str())
        .bind(id.0)
        .bind(from.as_str())
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
    Ok(r.rows_affected() == 1)
}

/// Live child domains of `id`.
pub async fn children(c: &mut Conn, id: DomainId) -> Result<Vec<i64>, Error> {
    let rows: Vec<(i64,)> =
        sqlx::query_as("SELECT id FROM domain WHERE parent_id = $1 AND removed IS NULL ORDER BY id")
            .bind(id.0)
            .fetch_all(&mut *c)
            .await
            .map_err(db_err)?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn paths() {
        assert_eq!(display_path("/"), "ROOT");
        assert_eq!(display_path("/a/b/"), "ROOT/a/b");
        for (i, o) in [
            ("ROOT", "/"),
            ("/", "/"),
            ("", "/"),
            ("/ROOT/", "/"),
            ("root/a", "/a/"),
            ("/a/b/", "/a/b/"),
            ("a", "/a/"),
        ] {
            assert_eq!(normalize_path(i), o, "{i}");
        }
    }
}
