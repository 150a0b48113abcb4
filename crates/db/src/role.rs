//! Roles: CloudStack's four default roles, one per role type.

use ferrostack_types::{Error, RoleType};
use sqlx::{Any, Executor};

use crate::{db_err, Conn, Sql};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Role {
    pub id: i64,
    pub uuid: String,
    pub name: String,
    pub role_type: String,
    pub description: String,
    pub is_default: i64,
}

impl Role {
    pub fn role_type(&self) -> RoleType {
        RoleType::parse(&self.role_type).unwrap_or(RoleType::User)
    }
}

/// The default roles every installation has, as CloudStack seeds them.
pub const DEFAULTS: [(&str, RoleType, &str); 4] = [
    ("Root Admin", RoleType::Admin, "Default root admin role"),
    ("Resource Admin", RoleType::ResourceAdmin, "Default resource admin role"),
    ("Domain Admin", RoleType::DomainAdmin, "Default domain admin role"),
    ("User", RoleType::User, "Default user role"),
];

pub async fn insert(c: &mut Conn, uuid: &str, name: &str, t: RoleType, description: &str) -> Result<i64, Error> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO role (uuid, name, role_type, description, is_default) VALUES ($1, $2, $3, $4, 1) RETURNING id",
    )
    .bind(uuid)
    .bind(name)
    .bind(t.as_str())
    .bind(description)
    .fetch_one(&mut *c)
    .await
    .map_err(db_err)?;
    Ok(id)
}

pub async fn by_uuid<'e, E: Executor<'e, Database = Any>>(e: E, uuid: &str) -> Result<Option<Role>, Error> {
    sqlx::query_as("SELECT * FROM role WHERE uuid = $1")
        .bind(uuid)
        .fetch_optional(e)
        .await
        .map_err(db_err)
}

/// The default role of a role type.
pub async fn default_for<'e, E: Executor<'e, Database = Any>>(e: E, t: RoleType) -> Result<Role, Error> {
    sqlx::query_as("SELECT * FROM role WHERE role_type = $1 AND is_default = 1 ORDER BY id LIMIT 1")
        .bind(t.as_str())
        .fetch_optional(e)
        .await
        .map_err(db_err)?
        .ok_or_else(|| Error::internal(format!("no default role for {}", t.as_str())))
}

#[derive(Debug, Default)]
pub struct RoleFilter {
    pub uuid: Option<String>,
    pub name: Option<String>,
    pub role_type: Option<RoleType>,
    pub keyword: Option<String>,
    /// Only role types at or below this one are visible to the caller.
    pub max_type: Option<RoleType>,
}

pub async fn list(c: &mut Conn, f: &RoleFilter) -> Result<Vec<Role>, Error> {
    let mut s = Sql::new("SELECT * FROM role");
    if let Some(u) = &f.uuid {
        s.and("uuid = ").bind_str(u.clone());
    }
    if let Some(n) = &f.name {
        s.and("lower(name) = ").bind_str(n.to_lowercase());
    }
    if let Some(t) = f.role_type {
        s.and("role_type = ").bind_str(t.as_str());
    }
    if let Some(k) = &f.keyword {
        s.and_keyword(&["name", "description"], k);
    }
    s.push(" ORDER BY id");
    let rows: Vec<Role> = s.fetch_all(c).await?;
    Ok(rows
        .into_iter()
        .filter(|r| f.max_type.is_none_or(|m| r.role_type() <= m))
        .collect())
}
