//! Events: the audit trail of state-changing commands, CloudStack style.

use ferrostack_types::state::{EventLevel, EventState};
use ferrostack_types::Error;
use ferrostack_types::Page;

use crate::account::OwnerScope;
use crate::{db_err, Conn, Sql};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Event {
    pub id: i64,
    pub uuid: String,
    pub event_type: String,
    #[sqlx(try_from = "String")]
    pub level: EventLevel,
    #[sqlx(try_from = "String")]
    pub state: EventState,
    pub description: String,
    pub user_id: i64,
    pub account_id: i64,
    pub domain_id: i64,
    pub resource_type: Option<String>,
    pub resource_uuid: Option<String>,
    pub resource_name: Option<String>,
    pub start_id: Option<i64>,
    pub job_uuid: Option<String>,
    pub created: i64,
    pub archived: i64,
    pub username: Option<String>,
    pub account_name: Option<String>,
    pub domain_uuid: Option<String>,
    pub domain_name: Option<String>,
    pub domain_path: Option<String>,
    pub start_uuid: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewEvent {
    pub uuid: String,
    pub event_type: String,
    pub level: EventLevel,
    pub state: EventState,
    pub description: String,
    pub user_id: i64,
    pub account_id: i64,
    pub domain_id: i64,
    pub resource_type: Option<String>,
    pub resource_uuid: Option<String>,
    pub resource_name: Option<String>,
    pub start_id: Option<i64>,
    pub job_uuid: Option<String>,
    pub created: i64,
}

pub async fn insert(c: &mut Conn, e: &NewEvent) -> Result<i64, Error> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO event (uuid, event_type, level, state, description, user_id, account_id, domain_id, \
         resource_type, resource_uuid, resource_name, start_id, job_uuid, created, archived) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 0) RETURNING id",
    )
    .bind(&e.uuid)
    .bind(&e.event_type)
    .bind(e.level.as_str())
    .bind(e.state.as_str())
    .bind(&e.description)
    .bind(e.user_id)
    .bind(e.account_id)
    .bind(e.domain_id)
    .bind(e.resource_type.as_deref())
    .bind(e.resource_uuid.as_deref())
    .bind(e.resource_name.as_deref())
    .bind(e.start_id)
    .bind(e.job_uuid.as_deref())
    .bind(e.created)
    .fetch_one(&mut *c)
    .await
    .map_err(db_err)?;
    Ok(id)
}

/// The id of the most recent event of a job with the given state (to link Started/Completed
/// events to their Scheduled parent).
pub async fn job_start_id(c: &mut Conn, job_uuid: &str) -> Result<Option<i64>, Error> {
    let r: Option<(i64,)> =
        sqlx::query_as("SELECT id FROM event WHERE job_uuid = $1 AND start_id IS NULL ORDER BY id LIMIT 1")
            .bind(job_uuid)
            .fetch_optional(&mut *c)
            .await
            .map_err(db_err)?;
    Ok(r.map(|r| r.0))
}

#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub uuid: Option<String>,
    pub event_type: Option<String>,
    pub level: Option<String>,
    pub state: Option<ferrostack_types::state::EventState>,
    pub keyword: Option<String>,
    pub resource_uuid: Option<String>,
    pub resource_type: Option<String>,
    pub start_uuid: Option<String>,
    pub start_ms: Option<i64>,
    pub end_ms: Option<i64>,
    pub archived: Option<bool>,
}

const SELECT: &str = "SELECT e.*, u.username AS username, a.name AS account_name, d.uuid AS domain_uuid, \
     d.name AS domain_name, d.path AS domain_path, s.uuid AS start_uuid FROM event e \
     LEFT JOIN app_user u ON u.id = e.user_id LEFT JOIN account a ON a.id = e.account_id \
     LEFT JOIN domain d ON d.id = e.domain_id LEFT JOIN event s ON s.id = e.start_id";

pub async fn list(c: &mut Conn, scope: &OwnerScope, f: &EventFilter, page: Page) -> Result<(i64, Vec<Event>), Error> {
    let mut s = Sql::new("SELECT e.id, COUNT(*) OVER () FROM event e");
    scope.apply(&mut s, "e.account_id", "e.domain_id");
    if let Some(u) = &f.uuid {
        s.and("e.uuid = ").bind_str(u.clone());
    }
    if let Some(t) = &f.event_type {
        s.and("e.event_type = ").bind_str(t.to_uppercase());
    }
    if let Some(l) = &f.level {
        s.and("e.level = ").bind_str(l.to_uppercase());
    }
    if let Some(st) = f.state {
        s.and("e.state = ").bind_str(st.as_str().to_string());
    }
    if let Some(r) = &f.resource_uuid {
        s.and("e.resource_uuid = ").bind_str(r.clone());
    }
    if let Some(r) = &f.resource_type {
        s.and("lower(e.resource_type) = ").bind_str(r.to_lowercase());
    }
    if let Some(st) = &f.start_uuid {
        s.and("e.start_id = (SELECT id FROM event WHERE uuid = ")
            .bind_str(st.clone())
            .push(")");
    }
    if let Some(t) = f.start_ms {
        s.and("e.created >= ").bind_i64(t);
    }
    if let Some(t) = f.end_ms {
        s.and("e.created <= ").bind_i64(t);
    }
    if let Some(a) = f.archived {
        s.and("e.archived = ").bind_i64(i64::from(a));
    }
    if let Some(k) = &f.keyword {
        s.and_keyword(&["e.description", "e.event_type"], k);
    }
    s.push(" ORDER BY e.id DESC").page(page);
    let (total, ids) = crate::sql::page_ids(&mut *c, &s).await?;
    let mut q = Sql::new(SELECT);
    q.and_in_i64("e.id", &ids).push(" ORDER BY e.id DESC");
    Ok((total, q.fetch_all(&mut *c).await?))
}
