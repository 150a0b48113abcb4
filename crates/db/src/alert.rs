//! Alerts raised for operators (host down, capacity, …).

use ferrostack_types::{Error, Page};

use crate::{db_err, Conn, Sql};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Alert {
    pub id: i64,
    pub uuid: String,
    pub alert_type: i64,
    pub name: String,
    pub subject: String,
    pub zone_id: Option<i64>,
    pub pod_id: Option<i64>,
    pub cluster_id: Option<i64>,
    pub host_id: Option<i64>,
    pub created: i64,
    pub archived: i64,
}

pub struct NewAlert<'a> {
    pub uuid: &'a str,
    pub alert_type: i64,
    pub name: &'a str,
    pub subject: &'a str,
    pub zone_id: Option<i64>,
    pub pod_id: Option<i64>,
    pub cluster_id: Option<i64>,
    pub host_id: Option<i64>,
    pub now: i64,
}

pub async fn insert(c: &mut Conn, a: NewAlert<'_>) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO alert (uuid, alert_type, name, subject, zone_id, pod_id, cluster_id, host_id, created, archived) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0)",
    )
    .bind(a.uuid)
    .bind(a.alert_type)
    .bind(a.name)
    .bind(a.subject)
    .bind(a.zone_id)
    .bind(a.pod_id)
    .bind(a.cluster_id)
    .bind(a.host_id)
    .bind(a.now)
    .execute(&mut *c)
    .await
    .map_err(db_err)?;
    Ok(())
}

#[derive(Debug, Default, Clone)]
pub struct AlertFilter {
    pub uuid: Option<String>,
    pub alert_type: Option<i64>,
    pub name: Option<String>,
    pub keyword: Option<String>,
    pub archived: bool,
}

pub async fn list(c: &mut Conn, f: &AlertFilter, page: Page) -> Result<(i64, Vec<Alert>), Error> {
    let mut s = Sql::new("SELECT id, COUNT(*) OVER () FROM alert");
    s.and("archived = ").bind_i64(i64::from(f.archived));
    if let Some(u) = &f.uuid {
        s.and("uuid = ").bind_str(u.clone());
    }
    if let Some(t) = f.alert_type {
        s.and("alert_type = ").bind_i64(t);
    }
    if let Some(n) = &f.name {
        s.and("name = ").bind_str(n.clone());
    }
    if let Some(k) = &f.keyword {
        s.and_keyword(&["subject"], k);
    }
    s.push(" ORDER BY id DESC").page(page);
    let (total, ids) = crate::sql::page_ids(&mut *c, &s).await?;
    let mut q = Sql::new("SELECT * FROM alert");
    q.and_in_i64("id", &ids).push(" ORDER BY id DESC");
    Ok((total, q.fetch_all(c).await?))
}
