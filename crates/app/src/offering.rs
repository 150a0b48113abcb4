//! Service offerings (compute) and disk offerings: CloudStack's defaults are seeded at first
//! start, including the system offerings routers and system VMs run with, found by their
//! unique names (`Cloud.com-SoftwareRouter`, …). Users see only non-system offerings.

use ferrostack_db::offering::{
    self as offering_db, DiskFilter, DiskOffering, OfferingTable, ServiceFilter, ServiceOffering,
};
use ferrostack_db::{db_err, Conn};
use ferrostack_types::ids::new_uuid;
use ferrostack_types::time::now_ms;
use ferrostack_types::EventType;
use ferrostack_types::{Error, Page};

use crate::event::Resource;
use crate::{App, Caller};

/// Unique names of the seeded system offerings.
pub const ROUTER_OFFERING: &str = "Cloud.com-SoftwareRouter";
pub const ROUTER_OFFERING_LOCAL: &str = "Cloud.com-SoftwareRouter-Local";
pub const CONSOLE_PROXY_OFFERING: &str = "Cloud.com-ConsoleProxy";
pub const SECONDARY_STORAGE_OFFERING: &str = "Cloud.com-SecondaryStorage";

pub const SYSTEM_VM_TYPES: &[&str] = &["domainrouter", "consoleproxy", "secondarystoragevm"];

const GIB: i64 = 1024 * 1024 * 1024;

pub fn service_resource(o: &ServiceOffering) -> Resource {
    Resource {
        kind: "ServiceOffering",
        uuid: o.uuid.clone(),
        name: o.name.clone(),
    }
}

pub fn disk_resource(o: &DiskOffering) -> Resource {
    Resource {
        kind: "DiskOffering",
        uuid: o.uuid.clone(),
        name: o.name.clone(),
    }
}

/// A seeded compute offering.
struct SeedService {
    name: &'static str,
    unique_name: Option<&'static str>,
    cpus: i64,
    mhz: i64,
    memory_mb: i64,
    local: bool,
    system_vm_type: Option<&'static str>,
}

const fn seed_service(
    name: &'static str,
    unique_name: Option<&'static str>,
    memory_mb: i64,
    mhz: i64,
    local: bool,
    system_vm_type: Option<&'static str>,
) -> SeedService {
    SeedService {
        name,
        unique_name,
        cpus: 1,
        mhz,
        memory_mb,
        local,
        system_vm_type,
    }
}

/// CloudStack's default compute and system offerings.
const SEED_SERVICE_OFFERINGS: [SeedService; 6] = [
    seed_service("Small Instance", None, 512, 500, false, None),
    seed_service("Medium Instance", None, 1024, 1000, false, None),
    seed_service(
        "System Offering For Software Router",
        Some(ROUTER_OFFERING),
        256,
        500,
        false,
        Some("domainrouter"),
    ),
    seed_service(
        "System Offering For Software Router - Local Storage",
        Some(ROUTER_OFFERING_LOCAL),
        256,
        500,
        true,
        Some("domainrouter"),
    ),
    seed_service(
        "System Offering For Console Proxy",
        Some(CONSOLE_PROXY_OFFERING),
        1024,
        500,
        false,
        Some("consoleproxy"),
    ),
    seed_service(
        "System Offering For Secondary Storage VM",
        Some(SECONDARY_STORAGE_OFFERING),
        512,
        500,
        false,
        Some("secondarystoragevm"),
    ),
];

/// Seed CloudStack's default offerings (first start; idempotent).
pub async fn seed(c: &mut Conn) -> Result<(), Error> {
    let (_, existing) = offering_db::list_service(
        c,
        &ServiceFilter {
            is_system: Some(true),
            ..ServiceFilter::default()
        },
        Page {
            offset: 0,
            limit: Some(1),
        },
    )
    .await?;
    if !existing.is_empty() {
        return Ok(());
    }
    let now = now_ms();
    for s in SEED_SERVICE_OFFERINGS {
        let (local, vm_type) = (s.local, s.system_vm_type);
        offering_db::insert_service(
            c,
            offering_db::NewServiceOffering {
                uuid: &new_uuid(),
                name: s.name,
                display_text: s.name,
                unique_name: s.unique_name,
                cpu_number: Some(s.cpus),
                cpu_speed: Some(s.mhz),
                memory_mb: Some(s.memory_mb),
                customized: false,
                storage_type: if local { "local" } else { "shared" },
                provisioning_type: "thin",
                offer_ha: false,
                limit_cpu_use: false,
                is_volatile: false,
                is_system: vm_type.is_some(),
                system_vm_type: vm_type,
                default_use: vm_type.is_some(),
                host_tags: None,
                storage_tags: None,
                network_rate: None,
                root_disk_size: None,
                disk_offering_id: None,
                dynamic_scaling: true,
                now,
            },
        )
        .await?;
    }
    let disks: [(&str, &str, i64); 4] = [
        ("Small", "Small Disk, 5 GB", 5),
        ("Medium", "Medium Disk, 20 GB", 20),
        ("Large", "Large Disk, 100 GB", 100),
        ("Custom", "Custom Disk", 0),
    ];
    for (name, display_text, gb) in disks {
        offering_db::insert_disk(
            c,
            offering_db::NewDiskOffering {
                uuid: &new_uuid(),
                name,
                display_text,
                unique_name: None,
                disk_size: gb * GIB,
                customized: gb == 0,
                customized_iops: false,
                min_iops: None,
                max_iops: None,
                storage_type: "shared",
                provisioning_type: "thin",
                tags: None,
                display_offering: true,
                encrypt: false,
                is_system: false,
                now,
            },
        )
        .await?;
    }
    Ok(())
}

fn storage_type(v: Option<&str>) -> Result<&'static str, Error> {
    match v.map(|s| s.trim().to_ascii_lowercase()).as_deref() {
        None | Some("shared") => Ok("shared"),
        Some("local") => Ok("local"),
        Some(other) => Err(Error::invalid(format!(
            "Invalid storagetype {other}; use shared or local"
        ))),
    }
}

fn provisioning_type(v: Option<&str>) -> Result<&'static str, Error> {
    match v.map(|s| s.trim().to_ascii_lowercase()).as_deref() {
        None | Some("thin") => Ok("thin"),
        Some("sparse") => Ok("sparse"),
        Some("fat") => Ok("fat"),
        Some(other) => Err(Error::invalid(format!(
            "Invalid provisioningtype {other}; use thin, sparse or fat"
        ))),
    }
}

fn check_name(kind: &str, name: &str) -> Result<String, Error> {
    let n = name.trim();
    if n.is_empty() {
        return Err(Error::invalid(format!("The {kind} name can't be empty")));
    }
    Ok(n.to_string())
}

#[derive(Debug, Default)]
pub struct ServiceOfferingCreate {
    pub name: String,
    pub display_text: Option<String>,
    pub cpu_number: Option<i64>,
    pub cpu_speed: Option<i64>,
    pub memory_mb: Option<i64>,
    pub storage_type: Option<String>,
    pub provisioning_type: Option<String>,
    pub offer_ha: bool,
    pub limit_cpu_use: bool,
    pub is_volatile: bool,
    pub is_system: bool,
    pub system_vm_type: Option<String>,
    pub host_tags: Option<String>,
    pub storage_tags: Option<String>,
    pub network_rate: Option<i64>,
    pub root_disk_size: Option<i64>,
    pub disk_offering_uuid: Option<String>,
    pub dynamic_scaling: Option<bool>,
    /// Domain or zone restrictions were asked for (not supported yet).
    pub restricted: bool,
}

#[derive(Debug, Default)]
pub struct DiskOfferingCreate {
    pub name: String,
    pub display_text: Option<String>,
    pub disk_size_gb: Option<i64>,
    pub customized: bool,
    pub storage_type: Option<String>,
    pub provisioning_type: Option<String>,
    pub tags: Option<String>,
    pub customized_iops: bool,
    pub min_iops: Option<i64>,
    pub max_iops: Option<i64>,
    pub display_offering: Option<bool>,
    pub encrypt: bool,
    pub restricted: bool,
}

fn refuse_restriction(restricted: bool) -> Result<(), Error> {
    if restricted {
        return Err(Error::invalid(
            "Restricting an offering to domains or zones is not supported yet; omit domainid and zoneid to create a \
             public offering",
        ));
    }
    Ok(())
}

impl App {
    /// `createServiceOffering` (root admin).
    pub async fn service_offering_create(
        &self,
        caller: &Caller,
        p: ServiceOfferingCreate,
    ) -> Result<ServiceOffering, Error> {
        refuse_restriction(p.restricted)?;
        let name = check_name("service offering", &p.name)?;
        let customized = match (p.cpu_number, p.cpu_speed, p.memory_mb) {
            (None, None, None) => true,
            (Some(_), Some(_), Some(_)) => false,
            _ => {
                return Err(Error::invalid(format!(
                    "Failed to create service offering {name}: give cpunumber, cpuspeed and memory together for a \
                     fixed offering, or none of them for a custom one"
                )))
            }
        };
        for (param, v, unit) in [
            ("cpunumber", p.cpu_number, ""),
            ("cpuspeed", p.cpu_speed, " MHz"),
            ("memory", p.memory_mb, " MB"),
        ] {
            if v.is_some_and(|v| !(1..=i64::from(i32::MAX)).contains(&v)) {
                return Err(Error::invalid(format!(
                    "Failed to create service offering {name}: specify the {param} value between 1 and {}{unit}",
                    i32::MAX
                )));
            }
        }
        let system_vm_type = match &p.system_vm_type {
            Some(t) => {
                if !p.is_system {
                    return Err(Error::invalid(
                        "systemvmtype is only for system offerings; add issystem=true or omit systemvmtype",
                    ));
                }
                let t = t.trim().to_ascii_lowercase();
                Some(*SYSTEM_VM_TYPES.iter().find(|k| **k == t).ok_or_else(|| {
                    Error::invalid(format!(
                        "Invalid systemvmtype {t}; use one of {}",
                        SYSTEM_VM_TYPES.join(", ")
                    ))
                })?)
            }
            None if p.is_system => Some("domainrouter"),
            None => None,
        };
        if p.root_disk_size.is_some_and(|s| s <= 0) {
            return Err(Error::invalid("rootdisksize must be a positive number of GB"));
        }
        let storage = storage_type(p.storage_type.as_deref())?;
        let provisioning = provisioning_type(p.provisioning_type.as_deref())?;
        let mut tx = self.db.begin().await?;
        let disk = match &p.disk_offering_uuid {
            Some(u) => Some(
                offering_db::disk_by_uuid(&mut *tx, u)
                    .await?
                    .ok_or_else(|| Error::unknown_entity("diskofferingid", u))?,
            ),
            None => None,
        };
        let id = offering_db::insert_service(
            &mut tx,
            offering_db::NewServiceOffering {
                uuid: &new_uuid(),
                name: &name,
                display_text: p
                    .display_text
                    .as_deref()
                    .filter(|d| !d.trim().is_empty())
                    .unwrap_or(&name),
                unique_name: None,
                cpu_number: p.cpu_number,
                cpu_speed: p.cpu_speed,
                memory_mb: p.memory_mb,
                customized,
                storage_type: storage,
                provisioning_type: provisioning,
                offer_ha: p.offer_ha,
                limit_cpu_use: p.limit_cpu_use,
                is_volatile: p.is_volatile,
                is_system: p.is_system,
                system_vm_type,
                default_use: false,
                host_tags: p.host_tags.as_deref(),
                storage_tags: p.storage_tags.as_deref(),
                network_rate: p.network_rate,
                root_disk_size: p.root_disk_size,
                disk_offering_id: disk.map(|d| d.id),
                dynamic_scaling: p.dynamic_scaling.unwrap_or(true),
                now: now_ms(),
            },
        )
        .await?;
        let o = offering_db::service_get(&mut *tx, id)
            .await?
            .ok_or_else(|| Error::internal("service offering vanished"))?;
        self.event_done(
            &mut tx,
            caller,
            EventType::ServiceOfferingCreate,
            format!("Created service offering {}", o.name),
            Some(&service_resource(&o)),
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok(o)
    }

    /// `listServiceOfferings`: non-system offerings unless a root admin asks for system ones.
    pub async fn service_offering_list(
        &self,
        caller: &Caller,
        mut f: ServiceFilter,
        id: Option<&str>,
        page: Page,
    ) -> Result<(i64, Vec<ServiceOffering>), Error> {
        if f.is_system.is_none() && f.system_vm_type.is_some() {
            f.is_system = Some(true);
        }
        if f.is_system == Some(true) && !caller.is_root_admin() {
            return Err(Error::invalid(
                "Only root admins can list system offerings; omit issystem and systemvmtype",
            ));
        }
        if f.is_system.is_none() {
            f.is_system = Some(false);
        }
        let mut c = self.db.conn().await?;
        if let Some(uuid) = id {
            let o = offering_db::service_by_uuid(&mut *c, uuid).await?;
            match o {
                Some(o) if !o.is_system() || caller.is_root_admin() => {
                    f.id = Some(o.id);
                    f.is_system = Some(o.is_system());
                }
                Some(_) | None => return Err(Error::unknown_entity("id", uuid)),
            }
        }
        offering_db::list_service(&mut c, &f, page).await
    }

    pub async fn service_offering_get(&self, uuid: &str) -> Result<Option<ServiceOffering>, Error> {
        offering_db::service_by_uuid(self.db.read(), uuid).await
    }

    /// The offering virtual routers run with: the seeded `System Offering For Software
    /// Router`, or its local-storage variant (edge zones, `system.vm.use.local.storage`).
    pub async fn router_offering(&self, local_storage: bool) -> Result<ServiceOffering, Error> {
        let unique = if local_storage {
            ROUTER_OFFERING_LOCAL
        } else {
            ROUTER_OFFERING
        };
        offering_db::service_by_unique_name(self.db.read(), unique)
            .await?
            .ok_or_else(|| {
                Error::ResourceUnavailable(format!(
                    "The default router offering {unique} is missing from the database; restore it before \
                     deploying virtual routers"
                ))
            })
    }

    /// `updateServiceOffering`: name, display text, sort key.
    pub async fn service_offering_update(
        &self,
        caller: &Caller,
        uuid: &str,
        name: Option<String>,
        display_text: Option<String>,
        sort_key: Option<i64>,
    ) -> Result<ServiceOffering, Error> {
        let name = name.map(|n| check_name("service offering", &n)).transpose()?;
        let mut tx = self.db.begin().await?;
        let o = offering_db::service_by_uuid(&mut *tx, uuid)
            .await?
            .ok_or_else(|| Error::unknown_entity("id", uuid))?;
        offering_db::update(
            &mut tx,
            OfferingTable::Service,
            o.id,
            name.as_deref(),
            display_text.as_deref(),
            sort_key,
            None,
        )
        .await?;
        let o = offering_db::service_get(&mut *tx, o.id)
            .await?
            .ok_or_else(|| Error::internal("service offering vanished"))?;
        self.event_done(
            &mut tx,
            caller,
            EventType::ServiceOfferingEdit,
            format!("Updated service offering {}", o.name),
            Some(&service_resource(&o)),
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok(o)
    }

    /// `deleteServiceOffering`: the seeded system offerings stay.
    pub async fn service_offering_delete(&self, caller: &Caller, uuid: &str) -> Result<(), Error> {
        let mut tx = self.db.begin().await?;
        let o = offering_db::service_by_uuid(&mut *tx, uuid)
            .await?
            .ok_or_else(|| Error::unknown_entity("id", uuid))?;
        if let Some(unique) = &o.unique_name {
            return Err(Error::invalid(format!(
                "Service offering {} ({unique}) is a default system offering that ferrostack uses itself; it can't \
                 be deleted",
                o.name
            )));
        }
        let users = service_offering_dependents(&mut tx, &o).await?;
        if !users.is_empty() {
            return Err(Error::in_use(format!(
                "Service offering {} is still used by {}; change their offering first",
                o.name,
                users.join(", ")
            )));
        }
        ferrostack_db::tag::forget(&mut tx, ferrostack_db::tag::ResourceType::ServiceOffering, &[o.id]).await?;
        offering_db::mark_removed(&mut tx, OfferingTable::Service, o.id, now_ms()).await?;
        self.event_done(
            &mut tx,
            caller,
            EventType::ServiceOfferingDelete,
            format!("Deleted service offering {}", o.name),
            Some(&service_resource(&o)),
        )
        .await?;
        tx.commit().await.map_err(db_err)
    }

    /// `createDiskOffering` (root admin).
    pub async fn disk_offering_create(&self, caller: &Caller, p: DiskOfferingCreate) -> Result<DiskOffering, Error> {
        refuse_restriction(p.restricted)?;
        let name = check_name("disk offering", &p.name)?;
        let size_gb =
            match (p.disk_size_gb, p.customized) {
                (None, false) => return Err(Error::invalid(
                    "Disksize is required for a non-customized disk offering; give disksize (GB) or customized=true",
                )),
                (Some(_), true) => {
                    return Err(Error::invalid(
                        "Disksize is not allowed for a customized disk offering; omit disksize or customized",
                    ))
                }
                (Some(s), false) if s < 1 => {
                    return Err(Error::invalid("Please specify a disk size of at least 1 GB"));
                }
                (Some(s), false) => s,
                (None, true) => 0,
            };
        if let (Some(min), Some(max)) = (p.min_iops, p.max_iops) {
            if min > max {
                return Err(Error::invalid("miniops must not be greater than maxiops"));
            }
        }
        let storage = storage_type(p.storage_type.as_deref())?;
        let provisioning = provisioning_type(p.provisioning_type.as_deref())?;
        let mut tx = self.db.begin().await?;
        let id = offering_db::insert_disk(
            &mut tx,
            offering_db::NewDiskOffering {
                uuid: &new_uuid(),
                name: &name,
                display_text: p
                    .display_text
                    .as_deref()
                    .filter(|d| !d.trim().is_empty())
                    .unwrap_or(&name),
                unique_name: None,
                disk_size: size_gb.saturating_mul(GIB),
                customized: p.customized,
                customized_iops: p.customized_iops,
                min_iops: p.min_iops,
                max_iops: p.max_iops,
                storage_type: storage,
                provisioning_type: provisioning,
                tags: p.tags.as_deref(),
                display_offering: p.display_offering.unwrap_or(true),
                encrypt: p.encrypt,
                is_system: false,
                now: now_ms(),
            },
        )
        .await?;
        let o = offering_db::disk_get(&mut *tx, id)
            .await?
            .ok_or_else(|| Error::internal("disk offering vanished"))?;
        self.event_done(
            &mut tx,
            caller,
            EventType::DiskOfferingCreate,
            format!("Created disk offering {}", o.name),
            Some(&disk_resource(&o)),
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok(o)
    }

    /// `listDiskOfferings`: users see the offerings marked for display.
    pub async fn disk_offering_list(
        &self,
        caller: &Caller,
        mut f: DiskFilter,
        id: Option<&str>,
        page: Page,
    ) -> Result<(i64, Vec<DiskOffering>), Error> {
        let mut c = self.db.conn().await?;
        f.include_system = false;
        f.display_only = !caller.is_root_admin();
        if let Some(uuid) = id {
            let o = offering_db::disk_by_uuid(&mut *c, uuid)
                .await?
                .ok_or_else(|| Error::unknown_entity("id", uuid))?;
            f.id = Some(o.id);
        }
        offering_db::list_disk(&mut c, &f, page).await
    }

    /// `updateDiskOffering`: name, display text, sort key, display flag.
    pub async fn disk_offering_update(
        &self,
        caller: &Caller,
        uuid: &str,
        name: Option<String>,
        display_text: Option<String>,
        sort_key: Option<i64>,
    ) -> Result<DiskOffering, Error> {
        let name = name.map(|n| check_name("disk offering", &n)).transpose()?;
        let mut tx = self.db.begin().await?;
        let o = offering_db::disk_by_uuid(&mut *tx, uuid)
            .await?
            .ok_or_else(|| Error::unknown_entity("id", uuid))?;
        offering_db::update(
            &mut tx,
            OfferingTable::Disk,
            o.id,
            name.as_deref(),
            display_text.as_deref(),
            sort_key,
            None,
        )
        .await?;
        let o = offering_db::disk_get(&mut *tx, o.id)
            .await?
            .ok_or_else(|| Error::internal("disk offering vanished"))?;
        self.event_done(
            &mut tx,
            caller,
            EventType::DiskOfferingEdit,
            format!("Updated disk offering {}", o.name),
            Some(&disk_resource(&o)),
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok(o)
    }

    /// `deleteDiskOffering`: refused while a service offering refers to it.
    pub async fn disk_offering_delete(&self, caller: &Caller, uuid: &str) -> Result<(), Error> {
        let mut tx = self.db.begin().await?;
        let o = offering_db::disk_by_uuid(&mut *tx, uuid)
            .await?
            .ok_or_else(|| Error::unknown_entity("id", uuid))?;
        let n = offering_db::count_services_using_disk(&mut tx, o.id).await?;
        if n > 0 {
            return Err(Error::in_use(format!(
                "Disk offering {} is used by {n} service offering(s); delete those first",
                o.name
            )));
        }
        ferrostack_db::tag::forget(&mut tx, ferrostack_db::tag::ResourceType::DiskOffering, &[o.id]).await?;
        offering_db::mark_removed(&mut tx, OfferingTable::Disk, o.id, now_ms()).await?;
        self.event_done(
            &mut tx,
            caller,
            EventType::DiskOfferingDelete,
            format!("Deleted disk offering {}", o.name),
            Some(&disk_resource(&o)),
        )
        .await?;
        tx.commit().await.map_err(db_err)
    }
}

/// What uses a service offering and so prevents its deletion ("4 virtual machines"). Empty
/// while nothing does; virtual machines add their counts here.
pub async fn service_offering_dependents(_c: &mut Conn, _o: &ServiceOffering) -> Result<Vec<String>, Error> {
    Ok(Vec::new())
}
