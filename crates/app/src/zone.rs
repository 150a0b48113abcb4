//! Zones (core and edge), pods and clusters.

use ferrostack_types::EventType;
use std::net::Ipv4Addr;

use ferrostack_db::zone::{self as zone_db, Cluster, ClusterFilter, Pod, PodFilter, Zone, ZoneFilter};
use ferrostack_db::{db_err, Conn};
use ferrostack_types::ids::new_uuid;
use ferrostack_types::state::{AllocationState, ManagedState};
use ferrostack_types::time::now_ms;
use ferrostack_types::{Error, Page};

use crate::event::Resource;
use crate::{App, Caller};

pub struct ZoneCreate {
    pub name: String,
    pub description: Option<String>,
    pub network_type: String,
    pub is_edge: bool,
    pub allocation_state: Option<String>,
    pub dns1: String,
    pub dns2: Option<String>,
    pub internal_dns1: String,
    pub internal_dns2: Option<String>,
    pub ip6_dns1: Option<String>,
    pub ip6_dns2: Option<String>,
    pub guest_cidr: Option<String>,
    pub network_domain: Option<String>,
    pub domain_uuid: Option<String>,
    pub local_storage_enabled: bool,
    pub security_group_enabled: bool,
}

pub struct PodCreate {
    pub zone_uuid: String,
    pub name: String,
    pub gateway: Option<String>,
    pub netmask: Option<String>,
    pub start_ip: Option<String>,
    pub end_ip: Option<String>,
    pub allocation: Option<String>,
}

pub struct ClusterAdd {
    pub zone_uuid: String,
    pub pod_uuid: String,
    pub name: String,
    pub hypervisor: String,
    pub cluster_type: String,
    pub allocation: Option<String>,
    pub arch: Option<String>,
}

#[derive(Default)]
pub struct ZoneUpdate {
    pub name: Option<String>,
    pub description: Option<String>,
    pub allocation_state: Option<String>,
    pub dns1: Option<String>,
    pub dns2: Option<String>,
    pub internal_dns1: Option<String>,
    pub internal_dns2: Option<String>,
    pub guest_cidr: Option<String>,
    pub network_domain: Option<String>,
    pub local_storage_enabled: Option<bool>,
}

pub fn zone_resource(z: &Zone) -> Resource {
    Resource {
        kind: "Zone",
        uuid: z.uuid.clone(),
        name: z.name.clone(),
    }
}

fn check_ip(param: &str, v: &str) -> Result<(), Error> {
    v.parse::<Ipv4Addr>()
        .map(|_| ())
        .map_err(|_| Error::invalid(format!("Please specify a valid IPv4 address for {param}; got {v}")))
}

/// `Enabled` or `Disabled` (case-insensitive input, canonical output).
pub fn allocation_state(v: &str) -> Result<AllocationState, Error> {
    if let Some(a) = AllocationState::parse(v) {
        Ok(a)
    } else {
        Err(Error::invalid(format!(
            "Invalid allocationstate {v}; use Enabled or Disabled"
        )))
    }
}

fn check_cidr(v: &str) -> Result<(), Error> {
    let ok = v
        .split_once('/')
        .is_some_and(|(ip, len)| ip.parse::<Ipv4Addr>().is_ok() && len.parse::<u8>().is_ok_and(|l| l <= 32));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "Invalid guestcidraddress {v}; give a CIDR such as 10.1.1.0/24"
        )))
    }
}

fn ip_u32(v: &str) -> Option<u32> {
    v.parse::<Ipv4Addr>().ok().map(u32::from)
}

impl App {
    pub async fn zone_get_for(&self, c: &mut Conn, param: &str, uuid: &str) -> Result<Zone, Error> {
        zone_db::by_uuid(&mut *c, uuid)
            .await?
            .ok_or_else(|| Error::unknown_entity(param, uuid))
    }

    pub async fn zone_create(&self, caller: &Caller, p: ZoneCreate) -> Result<Zone, Error> {
        let network_type = if p.network_type.eq_ignore_ascii_case("advanced") {
            "Advanced"
        } else if p.network_type.eq_ignore_ascii_case("basic") {
            "Basic"
        } else {
            return Err(Error::invalid(format!(
                "Invalid networktype {}; use Advanced or Basic",
                p.network_type
            )));
        };
        if p.is_edge && network_type != "Advanced" {
            return Err(Error::invalid(
                "Edge zones are Advanced zones; create it with networktype=Advanced",
            ));
        }
        if p.name.trim().is_empty() {
            return Err(Error::invalid("The zone name can't be empty"));
        }
        check_ip("dns1", &p.dns1)?;
        check_ip("internaldns1", &p.internal_dns1)?;
        for (param, v) in [("dns2", &p.dns2), ("internaldns2", &p.internal_dns2)] {
            if let Some(v) = v {
                check_ip(param, v)?;
            }
        }
        if let Some(c) = &p.guest_cidr {
            check_cidr(c)?;
        }
        let allocation = match &p.allocation_state {
            Some(a) => allocation_state(a)?,
            None => AllocationState::Disabled,
        };
        let mut tx = self.db.begin().await?;
        let domain_id = match &p.domain_uuid {
            Some(u) => Some(self.domain_for(&mut tx, caller, "domainid", u).await?.id),
            None => None,
        };
        let uuid = new_uuid();
        let id = zone_db::insert(
            &mut tx,
            zone_db::NewZone {
                uuid: &uuid,
                name: p.name.trim(),
                description: p.description.as_deref(),
                zone_type: if p.is_edge { "Edge" } else { "Core" },
                network_type,
                allocation_state: allocation,
                dns1: &p.dns1,
                dns2: p.dns2.as_deref(),
                internal_dns1: &p.internal_dns1,
                internal_dns2: p.internal_dns2.as_deref(),
                ip6_dns1: p.ip6_dns1.as_deref(),
                ip6_dns2: p.ip6_dns2.as_deref(),
                guest_cidr: p.guest_cidr.as_deref(),
                network_domain: p.network_domain.as_deref(),
                domain_id,
                local_storage_enabled: p.local_storage_enabled || p.is_edge,
                security_group_enabled: p.security_group_enabled,
                now: now_ms(),
            },
        )
        .await?;
        crate::template::template_zone_added(&mut tx, id, p.is_edge).await?;
        let z = zone_db::get(&mut *tx, id)
            .await?
            .ok_or_else(|| Error::internal("zone vanished"))?;
        let kind = if z.is_edge() { "edge" } else { "core" };
        self.event_done(
            &mut tx,
            caller,
            EventType::ZoneCreate,
            format!("Created {kind} zone {}", z.name),
            Some(&zone_resource(&z)),
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok(z)
    }

    pub async fn zone_list(&self, f: &ZoneFilter, page: Page) -> Result<(i64, Vec<Zone>), Error> {
        let mut c = self.db.conn().await?;
        zone_db::list(&mut c, f, page).await
    }

    pub async fn zone_update(&self, caller: &Caller, uuid: &str, u: ZoneUpdate) -> Result<Zone, Error> {
        for (param, v) in [
            ("dns1", &u.dns1),
            ("dns2", &u.dns2),
            ("internaldns1", &u.internal_dns1),
            ("internaldns2", &u.internal_dns2),
        ] {
            if let Some(v) = v {
                check_ip(param, v)?;
            }
        }
        if let Some(c) = &u.guest_cidr {
            check_cidr(c)?;
        }
        let alloc = match &u.allocation_state {
            Some(a) => Some(allocation_state(a)?.as_str().to_string()),
            None => None,
        };
        let mut tx = self.db.begin().await?;
        let z = self.zone_get_for(&mut tx, "id", uuid).await?;
        if let Some(n) = &u.name {
            if n.trim().is_empty() {
                return Err(Error::invalid("The zone name can't be empty"));
            }
        }
        zone_db::update(
            &mut tx,
            z.id,
            &[
                ("name", u.name.clone()),
                ("description", u.description.clone()),
                ("allocation_state", alloc),
                ("dns1", u.dns1.clone()),
                ("dns2", u.dns2.clone()),
                ("internal_dns1", u.internal_dns1.clone()),
                ("internal_dns2", u.internal_dns2.clone()),
                ("guest_cidr", u.guest_cidr.clone()),
                ("network_domain", u.network_domain.clone()),
            ],
        )
        .await?;
        if let Some(l) = u.local_storage_enabled {
            zone_db::set_local_storage(&mut tx, z.id, l).await?;
        }
        let z = zone_db::get(&mut *tx, z.id)
            .await?
            .ok_or_else(|| Error::internal("zone vanished"))?;
        self.event_done(
            &mut tx,
            caller,
            EventType::ZoneEdit,
            format!("Updated zone {}", z.name),
            Some(&zone_resource(&z)),
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok(z)
    }

    /// Refused while anything still lives in the zone; the message names what to remove.
    pub async fn zone_delete(&self, caller: &Caller, uuid: &str) -> Result<(), Error> {
        let mut tx = self.db.begin().await?;
        let z = self.zone_get_for(&mut tx, "id", uuid).await?;
        for (table, what, cmd) in Self::zone_dependents() {
            let n = zone_db::count_live(&mut tx, table, "zone_id", z.id).await?;
            if n > 0 {
                return Err(Error::in_use(format!(
                    "The zone {} is not deletable because it still has {n} {what}; remove them first ({cmd})",
                    z.name
                )));
            }
        }
        if ferrostack_db::network::live_guest_networks_in_zone(&mut tx, z.id).await? > 0 {
            return Err(Error::in_use(format!(
                "The zone {} is not deletable because it still has guest networks; remove them first (deleteNetwork)",
                z.name
            )));
        }
        crate::template::template_zone_removed(&mut tx, z.id).await?;
        ferrostack_db::network::remove_system_networks(&mut tx, z.id, now_ms()).await?;
        ferrostack_db::tag::forget(&mut tx, ferrostack_db::tag::ResourceType::Zone, &[z.id]).await?;
        zone_db::mark_removed(&mut tx, "zone", z.id, now_ms()).await?;
        self.event_done(
            &mut tx,
            caller,
            EventType::ZoneDelete,
            format!("Deleted zone {}", z.name),
            Some(&zone_resource(&z)),
        )
        .await?;
        tx.commit().await.map_err(db_err)
    }

    /// Tables whose live rows keep a zone from being deleted: (table, what, how to remove).
    fn zone_dependents() -> &'static [(&'static str, &'static str, &'static str)] {
        &[
            ("host", "host(s)", "deleteHost"),
            ("cluster", "cluster(s)", "deleteCluster"),
            ("pod", "pod(s)", "deletePod"),
            ("storage_pool", "primary storage pool(s)", "deleteStoragePool"),
            ("image_store", "image store(s)", "deleteImageStore"),
            ("physical_network", "physical network(s)", "deletePhysicalNetwork"),
        ]
    }

    pub async fn pod_create(&self, caller: &Caller, p: PodCreate) -> Result<Pod, Error> {
        let PodCreate {
            zone_uuid,
            name,
            gateway,
            netmask,
            start_ip,
            end_ip,
            allocation,
        } = p;
        let name = name.as_str();
        let mut tx = self.db.begin().await?;
        let z = self.zone_get_for(&mut tx, "zoneid", &zone_uuid).await?;
        let has_range = gateway.is_some() || netmask.is_some() || start_ip.is_some() || end_ip.is_some();
        if z.is_edge() && has_range {
            return Err(Error::invalid(
                "IP range parameters can not be specified for a pod in an edge zone; leave out gateway, netmask, startip and endip",
            ));
        }
        if !z.is_edge() && has_range {
            check_pod_range(
                gateway.as_deref(),
                netmask.as_deref(),
                start_ip.as_deref(),
                end_ip.as_deref(),
            )?;
        }
        if name.trim().is_empty() {
            return Err(Error::invalid("The pod name can't be empty"));
        }
        let alloc = match &allocation {
            Some(a) => allocation_state(a)?,
            None => AllocationState::Enabled,
        };
        let uuid = new_uuid();
        let id = zone_db::insert_pod(
            &mut tx,
            zone_db::NewPod {
                uuid: &uuid,
                zone_id: z.id,
                name: name.trim(),
                gateway: gateway.as_deref(),
                netmask: netmask.as_deref(),
                start_ip: start_ip.as_deref(),
                end_ip: end_ip.as_deref(),
                allocation_state: alloc,
                now: now_ms(),
            },
        )
        .await?;
        let p = zone_db::pod_get(&mut *tx, id)
            .await?
            .ok_or_else(|| Error::internal("pod vanished"))?;
        self.event_done(
            &mut tx,
            caller,
            EventType::PodCreate,
            format!("Created pod {} in zone {}", p.name, z.name),
            Some(&Resource {
                kind: "Pod",
                uuid: p.uuid.clone(),
                name: p.name.clone(),
            }),
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok(p)
    }

    pub async fn pod_list(
        &self,
        mut f: PodFilter,
        zone_uuid: Option<&str>,
        page: Page,
    ) -> Result<(i64, Vec<Pod>), Error> {
        let mut c = self.db.conn().await?;
        if let Some(u) = zone_uuid {
            f.zone_id = Some(self.zone_get_for(&mut c, "zoneid", u).await?.id);
        }
        zone_db::list_pods(&mut c, &f, page).await
    }

    pub async fn pod_get_for(&self, c: &mut Conn, param: &str, uuid: &str) -> Result<Pod, Error> {
        zone_db::pod_by_uuid(&mut *c, uuid)
            .await?
            .ok_or_else(|| Error::unknown_entity(param, uuid))
    }

    pub async fn pod_update(
        &self,
        caller: &Caller,
        uuid: &str,
        name: Option<String>,
        allocation: Option<String>,
    ) -> Result<Pod, Error> {
        let alloc = match &allocation {
            Some(a) => Some(allocation_state(a)?.as_str().to_string()),
            None => None,
        };
        let mut tx = self.db.begin().await?;
        let p = self.pod_get_for(&mut tx, "id", uuid).await?;
        zone_db::update_pod(&mut tx, p.id, &[("name", name), ("allocation_state", alloc)]).await?;
        let p = zone_db::pod_get(&mut *tx, p.id)
            .await?
            .ok_or_else(|| Error::internal("pod vanished"))?;
        self.event_done(
            &mut tx,
            caller,
            EventType::PodEdit,
            format!("Updated pod {}", p.name),
            Some(&Resource {
                kind: "Pod",
                uuid: p.uuid.clone(),
                name: p.name.clone(),
            }),
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok(p)
    }

    pub async fn pod_delete(&self, caller: &Caller, uuid: &str) -> Result<(), Error> {
        let mut tx = self.db.begin().await?;
        let p = self.pod_get_for(&mut tx, "id", uuid).await?;
        for (table, what, cmd) in [
            ("host", "host(s)", "deleteHost"),
            ("cluster", "cluster(s)", "deleteCluster"),
        ] {
            let n = zone_db::count_live(&mut tx, table, "pod_id", p.id).await?;
            if n > 0 {
                return Err(Error::in_use(format!(
                    "The pod {} is not deletable because it still has {n} {what}; remove them first ({cmd})",
                    p.name
                )));
            }
        }
        zone_db::mark_removed(&mut tx, "pod", p.id, now_ms()).await?;
        self.event_done(
            &mut tx,
            caller,
            EventType::PodDelete,
            format!("Deleted pod {}", p.name),
            Some(&Resource {
                kind: "Pod",
                uuid: p.uuid.clone(),
                name: p.name.clone(),
            }),
        )
        .await?;
        tx.commit().await.map_err(db_err)
    }

    pub async fn cluster_add(&self, caller: &Caller, p: ClusterAdd) -> Result<Cluster, Error> {
        let ClusterAdd {
            zone_uuid,
            pod_uuid,
            name,
            hypervisor,
            cluster_type,
            allocation,
            arch,
        } = p;
        let (name, cluster_type) = (name.as_str(), cluster_type.as_str());
        let hypervisor = self.agents.hypervisor(&hypervisor)?;
        let cluster_type = if cluster_type.eq_ignore_ascii_case("cloudmanaged") {
            "CloudManaged"
        } else if cluster_type.eq_ignore_ascii_case("externalmanaged") {
            "ExternalManaged"
        } else {
            return Err(Error::invalid(format!(
                "Invalid clustertype {cluster_type}; use CloudManaged or ExternalManaged"
            )));
        };
        let alloc = match &allocation {
            Some(a) => allocation_state(a)?,
            None => AllocationState::Enabled,
        };
        if name.trim().is_empty() {
            return Err(Error::invalid("The cluster name can't be empty"));
        }
        let mut tx = self.db.begin().await?;
        let z = self.zone_get_for(&mut tx, "zoneid", &zone_uuid).await?;
        let p = self.pod_get_for(&mut tx, "podid", &pod_uuid).await?;
        if p.zone_id != z.id {
            return Err(Error::invalid(format!(
                "Pod {} is not in zone {}; give a pod of that zone",
                p.name, z.name
            )));
        }
        let uuid = new_uuid();
        let id = zone_db::insert_cluster(
            &mut tx,
            zone_db::NewCluster {
                uuid: &uuid,
                zone_id: z.id,
                pod_id: p.id,
                name: name.trim(),
                hypervisor,
                cluster_type,
                allocation_state: alloc,
                arch: arch.as_deref().unwrap_or("x86_64"),
                now: now_ms(),
            },
        )
        .await?;
        let c = zone_db::cluster_get(&mut *tx, id)
            .await?
            .ok_or_else(|| Error::internal("cluster vanished"))?;
        self.event_done(
            &mut tx,
            caller,
            EventType::ClusterCreate,
            format!("Added cluster {} to pod {}", c.name, p.name),
            Some(&Resource {
                kind: "Cluster",
                uuid: c.uuid.clone(),
                name: c.name.clone(),
            }),
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok(c)
    }

    pub async fn cluster_get_for(&self, c: &mut Conn, param: &str, uuid: &str) -> Result<Cluster, Error> {
        zone_db::cluster_by_uuid(&mut *c, uuid)
            .await?
            .ok_or_else(|| Error::unknown_entity(param, uuid))
    }

    pub async fn cluster_list(
        &self,
        mut f: ClusterFilter,
        zone_uuid: Option<&str>,
        pod_uuid: Option<&str>,
        page: Page,
    ) -> Result<(i64, Vec<Cluster>), Error> {
        let mut c = self.db.conn().await?;
        if let Some(u) = zone_uuid {
            f.zone_id = Some(self.zone_get_for(&mut c, "zoneid", u).await?.id);
        }
        if let Some(u) = pod_uuid {
            f.pod_id = Some(self.pod_get_for(&mut c, "podid", u).await?.id);
        }
        zone_db::list_clusters(&mut c, &f, page).await
    }

    pub async fn cluster_update(
        &self,
        caller: &Caller,
        uuid: &str,
        name: Option<String>,
        allocation: Option<String>,
        managed: Option<String>,
    ) -> Result<Cluster, Error> {
        let alloc = match &allocation {
            Some(a) => Some(allocation_state(a)?.as_str().to_string()),
            None => None,
        };
        let managed = match &managed {
            Some(m) if ManagedState::parse(m).is_some() => ManagedState::parse(m).map(|m| m.as_str().to_string()),
            Some(m) => {
                return Err(Error::invalid(format!(
                    "Invalid managedstate {m}; use Managed or Unmanaged"
                )))
            }
            None => None,
        };
        let mut tx = self.db.begin().await?;
        let c = self.cluster_get_for(&mut tx, "id", uuid).await?;
        zone_db::update_cluster(
            &mut tx,
            c.id,
            &[("name", name), ("allocation_state", alloc), ("managed_state", managed)],
        )
        .await?;
        let c = zone_db::cluster_get(&mut *tx, c.id)
            .await?
            .ok_or_else(|| Error::internal("cluster vanished"))?;
        self.event_done(
            &mut tx,
            caller,
            EventType::ClusterUpdate,
            format!("Updated cluster {}", c.name),
            Some(&Resource {
                kind: "Cluster",
                uuid: c.uuid.clone(),
                name: c.name.clone(),
            }),
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok(c)
    }

    pub async fn cluster_delete(&self, caller: &Caller, uuid: &str) -> Result<(), Error> {
        let mut tx = self.db.begin().await?;
        let c = self.cluster_get_for(&mut tx, "id", uuid).await?;
        for (table, what, cmd) in [
            ("host", "host(s)", "deleteHost"),
            ("storage_pool", "primary storage pool(s)", "deleteStoragePool"),
        ] {
            let n = zone_db::count_live(&mut tx, table, "cluster_id", c.id).await?;
            if n > 0 {
                return Err(Error::in_use(format!(
                    "The cluster {} is not deletable because it still has {n} {what}; remove them first ({cmd})",
                    c.name
                )));
            }
        }
        zone_db::mark_removed(&mut tx, "cluster", c.id, now_ms()).await?;
        self.event_done(
            &mut tx,
            caller,
            EventType::ClusterDelete,
            format!("Deleted cluster {}", c.name),
            Some(&Resource {
                kind: "Cluster",
                uuid: c.uuid.clone(),
                name: c.name.clone(),
            }),
        )
        .await?;
        tx.commit().await.map_err(db_err)
    }
}

/// A core pod's management range: all four given, valid, start ≤ end, both inside the
/// gateway's subnet.
fn check_pod_range(
    gateway: Option<&str>,
    netmask: Option<&str>,
    start: Option<&str>,
    end: Option<&str>,
) -> Result<(), Error> {
    let (Some(g), Some(m), Some(s)) = (gateway, netmask, start) else {
        return Err(Error::invalid(
            "A pod IP range needs gateway, netmask and startip (endip optional)",
        ));
    };
    let gw = ip_u32(g).ok_or_else(|| Error::invalid(format!("Invalid gateway {g}")))?;
    let mask = ip_u32(m)
        .filter(|m| m.leading_ones() + m.trailing_zeros() == 32)
        .ok_or_else(|| Error::invalid(format!("Invalid netmask {m}")))?;
    let start = ip_u32(s).ok_or_else(|| Error::invalid(format!("Invalid startip {s}")))?;
    let end = match end {
        Some(e) => ip_u32(e).ok_or_else(|| Error::invalid(format!("Invalid endip {e}")))?,
        None => start,
    };
    if start > end {
        return Err(Error::invalid("startip must not be after endip"));
    }
    if start & mask != gw & mask || end & mask != gw & mask {
        return Err(Error::invalid(format!(
            "The IP range must be inside the gateway's subnet {g}/{m}"
        )));
    }
    Ok(())
}
