//! Service offerings (compute: CPU, speed, memory; system offerings for routers and system
//! VMs carry a `unique_name` such as `Cloud.com-SoftwareRouter`) and disk offerings.

use ferrostack_types::state::OfferingState;
use ferrostack_types::{Error, Page};
use sqlx::{Any, Executor};

use crate::{db_err, is_unique_violation, Conn, Sql};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ServiceOffering {
    pub id: i64,
    pub uuid: String,
    pub name: String,
    pub display_text: String,
    pub unique_name: Option<String>,
    pub cpu_number: Option<i64>,
    pub cpu_speed: Option<i64>,
    pub memory_mb: Option<i64>,
    pub customized: i64,
    pub storage_type: String,
    pub provisioning_type: String,
    pub offer_ha: i64,
    pub limit_cpu_use: i64,
    pub is_volatile: i64,
    pub is_system: i64,
    pub system_vm_type: Option<String>,
    pub default_use: i64,
    pub host_tags: Option<String>,
    pub storage_tags: Option<String>,
    pub network_rate: Option<i64>,
    pub root_disk_size: Option<i64>,
    pub disk_offering_id: Option<i64>,
    pub dynamic_scaling: i64,
    pub sort_key: i64,
    #[sqlx(try_from = "String")]
    pub state: OfferingState,
    pub created: i64,
    pub disk_offering_uuid: Option<String>,
    pub disk_offering_name: Option<String>,
    pub disk_offering_display_text: Option<String>,
}

impl ServiceOffering {
    pub fn is_system(&self) -> bool {
        self.is_system == 1
    }
    pub fn uses_local_storage(&self) -> bool {
        self.storage_type == "local"
    }
}

const SO_SELECT: &str = "SELECT s.id, s.uuid, s.name, s.display_text, s.unique_name, s.cpu_number, s.cpu_speed, \
     s.memory_mb, s.customized, s.storage_type, s.provisioning_type, s.offer_ha, s.limit_cpu_use, s.is_volatile, \
     s.is_system, s.system_vm_type, s.default_use, s.host_tags, s.storage_tags, s.network_rate, s.root_disk_size, \
     s.disk_offering_id, s.dynamic_scaling, s.sort_key, s.state, s.created, d.uuid AS disk_offering_uuid, \
     d.name AS disk_offering_name, d.display_text AS disk_offering_display_text FROM service_offering s \
     LEFT JOIN disk_offering d ON d.id = s.disk_offering_id";

pub struct NewServiceOffering<'a> {
    pub uuid: &'a str,
    pub name: &'a str,
    pub display_text: &'a str,
    pub unique_name: Option<&'a str>,
    pub cpu_number: Option<i64>,
    pub cpu_speed: Option<i64>,
    pub memory_mb: Option<i64>,
    pub customized: bool,
    pub storage_type: &'a str,
    pub provisioning_type: &'a str,
    pub offer_ha: bool,
    pub limit_cpu_use: bool,
    pub is_volatile: bool,
    pub is_system: bool,
    pub system_vm_type: Option<&'a str>,
    pub default_use: bool,
    pub host_tags: Option<&'a str>,
    pub storage_tags: Option<&'a str>,
    pub network_rate: Option<i64>,
    pub root_disk_size: Option<i64>,
    pub disk_offering_id: Option<i64>,
    pub dynamic_scaling: bool,
    pub now: i64,
}

pub async fn insert_service(c: &mut Conn, o: NewServiceOffering<'_>) -> Result<i64, Error> {
    let r: Result<(i64,), _> = sqlx::query_as(
        "INSERT INTO service_offering (uuid, name, display_text, unique_name, cpu_number, cpu_speed, memory_mb, \
         customized, storage_type, provisioning_type, offer_ha, limit_cpu_use, is_volatile, is_system, system_vm_type, \
         default_use, host_tags, storage_tags, network_rate, root_disk_size, disk_offering_id, dynamic_scaling, \
         sort_key, state, created) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
         $18, $19, $20, $21, $22, 0, 'Active', $23) RETURNING id",
    )
    .bind(o.uuid)
    .bind(o.name)
    .bind(o.display_text)
    .bind(o.unique_name)
    .bind(o.cpu_number)
    .bind(o.cpu_speed)
    .bind(o.memory_mb)
    .bind(i64::from(o.customized))
    .bind(o.storage_type)
    .bind(o.provisioning_type)
    .bind(i64::from(o.offer_ha))
    .bind(i64::from(o.limit_cpu_use))
    .bind(i64::from(o.is_volatile))
    .bind(i64::from(o.is_system))
    .bind(o.system_vm_type)
    .bind(i64::from(o.default_use))
    .bind(o.host_tags)
    .bind(o.storage_tags)
    .bind(o.network_rate)
    .bind(o.root_disk_size)
    .bind(o.disk_offering_id)
    .bind(i64::from(o.dynamic_scaling))
    .bind(o.now)
    .fetch_one(&mut *c)
    .await;
    match r {
        Ok((id,)) => Ok(id),
        Err(e) if is_unique_violation(&e) => Err(Error::invalid(format!(
            "A service offering with the unique name {} already exists",
            o.unique_name.unwrap_or_default()
        ))),
        Err(e) => Err(db_err(e)),
    }
}

pub async fn service_get<'e, E: Executor<'e, Database = Any>>(e: E, id: i64) -> Result<Option<ServiceOffering>, Error> {
    let q = format!("{SO_SELECT} WHERE s.id = $1 AND s.removed IS NULL");
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(id)
        .fetch_optional(e)
        .await
        .map_err(db_err)
}

pub async fn service_by_uuid<'e, E: Executor<'e, Database = Any>>(
    e: E,
    uuid: &str,
) -> Result<Option<ServiceOffering>, Error> {
    let q = format!("{SO_SELECT} WHERE s.uuid = $1 AND s.removed IS NULL");
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(uuid)
        .fetch_optional(e)
        .await
        .map_err(db_err)
}

/// A system offering by its unique name (`Cloud.com-SoftwareRouter`, …).
pub async fn service_by_unique_name<'e, E: Executor<'e, Database = Any>>(
    e: E,
    unique_name: &str,
) -> Result<Option<ServiceOffering>, Error> {
    let q = format!("{SO_SELECT} WHERE s.unique_name = $1 AND s.removed IS NULL");
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(unique_name)
        .fetch_optional(e)
        .await
        .map_err(db_err)
}

#[derive(Debug, Default, Clone)]
pub struct ServiceFilter {
    pub id: Option<i64>,
    pub name: Option<String>,
    pub keyword: Option<String>,
    pub is_system: Option<bool>,
    pub system_vm_type: Option<String>,
    pub storage_type: Option<String>,
    pub cpu_number: Option<i64>,
    pub cpu_speed: Option<i64>,
    pub memory_mb: Option<i64>,
    pub state: Option<OfferingState>,
}

pub async fn list_service(c: &mut Conn, f: &ServiceFilter, page: Page) -> Result<(i64, Vec<ServiceOffering>), Error> {
    let mut s = Sql::new("SELECT s.id, COUNT(*) OVER () FROM service_offering s");
    s.and("s.removed IS NULL");
    if let Some(id) = f.id {
        s.and("s.id = ").bind_i64(id);
    }
    if let Some(n) = &f.name {
        s.and("lower(s.name) = ").bind_str(n.to_lowercase());
    }
    if let Some(k) = &f.keyword {
        s.and_keyword(&["s.name", "s.display_text"], k);
    }
    if let Some(sys) = f.is_system {
        s.and("s.is_system = ").bind_i64(i64::from(sys));
    }
    if let Some(t) = &f.system_vm_type {
        s.and("lower(s.system_vm_type) = ").bind_str(t.to_lowercase());
    }
    if let Some(t) = &f.storage_type {
        s.and("s.storage_type = ").bind_str(t.to_lowercase());
    }
    // CloudStack's cpu/memory filters list offerings that can provide at least that much.
    for (col, v) in [
        ("s.cpu_number", f.cpu_number),
        ("s.cpu_speed", f.cpu_speed),
        ("s.memory_mb", f.memory_mb),
    ] {
        if let Some(v) = v {
            s.and("(")
                .push(col)
                .push(" IS NULL OR ")
                .push(col)
                .push(" >= ")
                .bind_i64(v)
                .push(")");
        }
    }
    if let Some(st) = &f.state {
        s.and("s.state = ").bind_str(st.as_str().to_string());
    }
    s.push(" ORDER BY s.sort_key, s.id").page(page);
    let (total, ids) = crate::sql::page_ids(&mut *c, &s).await?;
    let mut q = Sql::new(SO_SELECT);
    q.and_in_i64("s.id", &ids).push(" ORDER BY s.sort_key, s.id");
    Ok((total, q.fetch_all(c).await?))
}

/// Set name / display text / sort key / state (the columns `update*Offering` may change).
pub async fn update(
    c: &mut Conn,
    table: OfferingTable,
    id: i64,
    name: Option<&str>,
    display_text: Option<&str>,
    sort_key: Option<i64>,
    state: Option<OfferingState>,
) -> Result<(), Error> {
    let mut s = Sql::new(format!("UPDATE {} SET id = id", table.name()));
    for (col, v) in [
        ("name", name),
        ("display_text", display_text),
        ("state", state.map(OfferingState::as_str)),
    ] {
        if let Some(v) = v {
            s.push(", ").push(col).push(" = ").bind_str(v);
        }
    }
    if let Some(k) = sort_key {
        s.push(", sort_key = ").bind_i64(k);
    }
    s.push(" WHERE id = ").bind_i64(id);
    s.query().execute(&mut *c).await.map_err(db_err)?;
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfferingTable {
    Service,
    Disk,
}

impl OfferingTable {
    fn name(self) -> &'static str {
        match self {
            OfferingTable::Service => "service_offering",
            OfferingTable::Disk => "disk_offering",
        }
    }
}

pub async fn mark_removed(c: &mut Conn, table: OfferingTable, id: i64, now: i64) -> Result<(), Error> {
    let q = format!(
        "UPDATE {} SET removed = $1, state = 'Inactive' WHERE id = $2 AND removed IS NULL",
        table.name()
    );
    sqlx::query(sqlx::AssertSqlSafe(q))
        .bind(now)
        .bind(id)
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Live service offerings that use a disk offering (dependency check before deleting it).
pub async fn count_services_using_disk(c: &mut Conn, disk_offering_id: i64) -> Result<i64, Error> {
    let (n,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM service_offering WHERE disk_offering_id = $1 AND removed IS NULL")
            .bind(disk_offering_id)
            .fetch_one(&mut *c)
            .await
            .map_err(db_err)?;
    Ok(n)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DiskOffering {
    pub id: i64,
    pub uuid: String,
    pub name: String,
    pub display_text: String,
    pub unique_name: Option<String>,
    pub disk_size: i64,
    pub customized: i64,
    pub customized_iops: i64,
    pub min_iops: Option<i64>,
    pub max_iops: Option<i64>,
    pub storage_type: String,
    pub provisioning_type: String,
    pub tags: Option<String>,
    pub display_offering: i64,
    pub encrypt: i64,
    pub is_system: i64,
    pub sort_key: i64,
    #[sqlx(try_from = "String")]
    pub state: OfferingState,
    pub created: i64,
}

const DO_SELECT: &str = "SELECT d.id, d.uuid, d.name, d.display_text, d.unique_name, d.disk_size, d.customized, \
     d.customized_iops, d.min_iops, d.max_iops, d.storage_type, d.provisioning_type, d.tags, d.display_offering, \
     d.encrypt, d.is_system, d.sort_key, d.state, d.created FROM disk_offering d";

pub struct NewDiskOffering<'a> {
    pub uuid: &'a str,
    pub name: &'a str,
    pub display_text: &'a str,
    pub unique_name: Option<&'a str>,
    pub disk_size: i64,
    pub customized: bool,
    pub customized_iops: bool,
    pub min_iops: Option<i64>,
    pub max_iops: Option<i64>,
    pub storage_type: &'a str,
    pub provisioning_type: &'a str,
    pub tags: Option<&'a str>,
    pub display_offering: bool,
    pub encrypt: bool,
    pub is_system: bool,
    pub now: i64,
}

pub async fn insert_disk(c: &mut Conn, o: NewDiskOffering<'_>) -> Result<i64, Error> {
    let r: Result<(i64,), _> = sqlx::query_as(
        "INSERT INTO disk_offering (uuid, name, display_text, unique_name, disk_size, customized, customized_iops, \
         min_iops, max_iops, storage_type, provisioning_type, tags, display_offering, encrypt, is_system, sort_key, \
         state, created) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 0, 'Active', $16) \
         RETURNING id",
    )
    .bind(o.uuid)
    .bind(o.name)
    .bind(o.display_text)
    .bind(o.unique_name)
    .bind(o.disk_size)
    .bind(i64::from(o.customized))
    .bind(i64::from(o.customized_iops))
    .bind(o.min_iops)
    .bind(o.max_iops)
    .bind(o.storage_type)
    .bind(o.provisioning_type)
    .bind(o.tags)
    .bind(i64::from(o.display_offering))
    .bind(i64::from(o.encrypt))
    .bind(i64::from(o.is_system))
    .bind(o.now)
    .fetch_one(&mut *c)
    .await;
    match r {
        Ok((id,)) => Ok(id),
        Err(e) if is_unique_violation(&e) => Err(Error::invalid(format!(
            "A disk offering with the unique name {} already exists",
            o.unique_name.unwrap_or_default()
        ))),
        Err(e) => Err(db_err(e)),
    }
}

pub async fn disk_get<'e, E: Executor<'e, Database = Any>>(e: E, id: i64) -> Result<Option<DiskOffering>, Error> {
    let q = format!("{DO_SELECT} WHERE d.id = $1 AND d.removed IS NULL");
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(id)
        .fetch_optional(e)
        .await
        .map_err(db_err)
}

pub async fn disk_by_uuid<'e, E: Executor<'e, Database = Any>>(
    e: E,
    uuid: &str,
) -> Result<Option<DiskOffering>, Error> {
    let q = format!("{DO_SELECT} WHERE d.uuid = $1 AND d.removed IS NULL");
    sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(uuid)
        .fetch_optional(e)
        .await
        .map_err(db_err)
}

#[derive(Debug, Default, Clone)]
pub struct DiskFilter {
    pub id: Option<i64>,
    pub name: Option<String>,
    pub keyword: Option<String>,
    pub storage_type: Option<String>,
    pub state: Option<OfferingState>,
    /// Include the disk offerings of system offerings (admins only).
    pub include_system: bool,
    /// Only offerings marked for display (what users see).
    pub display_only: bool,
}

pub async fn list_disk(c: &mut Conn, f: &DiskFilter, page: Page) -> Result<(i64, Vec<DiskOffering>), Error> {
    let mut s = Sql::new("SELECT d.id, COUNT(*) OVER () FROM disk_offering d");
    s.and("d.removed IS NULL");
    if !f.include_system {
        s.and("d.is_system = 0");
    }
    if f.display_only {
        s.and("d.display_offering = 1");
    }
    if let Some(id) = f.id {
        s.and("d.id = ").bind_i64(id);
    }
    if let Some(n) = &f.name {
        s.and("lower(d.name) = ").bind_str(n.to_lowercase());
    }
    if let Some(k) = &f.keyword {
        s.and_keyword(&["d.name", "d.display_text"], k);
    }
    if let Some(t) = &f.storage_type {
        s.and("d.storage_type = ").bind_str(t.to_lowercase());
    }
    if let Some(st) = &f.state {
        s.and("d.state = ").bind_str(st.as_str().to_string());
    }
    s.push(" ORDER BY d.sort_key, d.id").page(page);
    let (total, ids) = crate::sql::page_ids(&mut *c, &s).await?;
    let mut q = Sql::new(DO_SELECT);
    q.and_in_i64("d.id", &ids).push(" ORDER BY d.sort_key, d.id");
    Ok((total, q.fetch_all(c).await?))
}
