//! Physical networks (admin): create with CloudStack's default network service providers,
//! traffic types, providers (NSPs) and virtual router elements. Every change is an async job
//! (CloudStack's commands are async); creates insert the row at once and answer `{id, jobid}`.
//! Checks run at submission, so mistakes answer 4xx at once, and again when the job applies the
//! change, so a change that raced another one still fails cleanly.

mod job;
mod providers;

pub use job::{PhysnetOp, PhysnetParams, PhysnetSaga};

use ferrostack_db::physnet::{self as pn_db, Labels, PhysicalNetwork, PhysnetFilter, TrafficType};
use ferrostack_db::{db_err, Conn};
use ferrostack_net::{
    default_physical_network_providers, Provider, ProviderState, TrafficType as Traffic, ZoneNetworkType,
};
use ferrostack_types::ids::new_uuid;
use ferrostack_types::time::now_ms;
use ferrostack_types::{Error, Page};
use serde_json::Value;

use crate::event::Resource;
use crate::job::{JobRequest, Submitted};
use crate::{App, Caller};

/// CloudStack's `PhysicalNetwork.IsolationMethod` names this server accepts.
const ISOLATION_METHODS: &[&str] = &[
    "VLAN",
    "VXLAN",
    "GRE",
    "STT",
    "L3",
    "VCS",
    "BCF_SEGMENT",
    "SSP",
    "ODL",
    "L3VPN",
    "VSP",
    "MIDO",
];

pub struct PhysnetCreate {
    pub zone_uuid: String,
    pub name: String,
    pub vlan: Option<String>,
    pub isolation_methods: Option<String>,
    pub tags: Option<String>,
    pub network_speed: Option<String>,
    pub broadcast_domain_range: Option<String>,
    pub domain_uuid: Option<String>,
}

#[derive(Default)]
pub struct PhysnetUpdate {
    pub state: Option<String>,
    pub vlan: Option<String>,
    pub tags: Option<String>,
    pub network_speed: Option<String>,
}

pub struct TrafficAdd {
    pub physnet_uuid: String,
    pub traffic_type: String,
    pub labels: Labels,
    pub isolation_method: Option<String>,
    pub vlan: Option<String>,
}

pub struct NspAdd {
    pub physnet_uuid: String,
    pub name: String,
    pub dest_physnet_uuid: Option<String>,
    pub services: Option<String>,
}

fn resource(kind: &'static str, uuid: &str, name: &str) -> Resource {
    Resource {
        kind,
        uuid: uuid.to_string(),
        name: name.to_string(),
    }
}

/// CloudStack's `canEnableIndividualServices` of each element.
pub fn can_enable_individual_services(provider: &str) -> bool {
    match Provider::parse(provider) {
        Some(Provider::VirtualRouter | Provider::VpcVirtualRouter | Provider::ConfigDrive | Provider::Ovs) => true,
        Some(Provider::SecurityGroupProvider | Provider::InternalLbVm) | None => false,
    }
}

/// `VirtualRouterProvider.Type` of the router element a provider gets, if any.
fn router_element_type(p: Provider) -> Option<&'static str> {
    match p {
        Provider::VirtualRouter => Some("VirtualRouter"),
        Provider::VpcVirtualRouter => Some("VPCVirtualRouter"),
        Provider::ConfigDrive | Provider::SecurityGroupProvider | Provider::InternalLbVm | Provider::Ovs => None,
    }
}

/// Parse `100-200,300` into ranges, checking bounds and order; `max` is the largest tag.
fn parse_vlan_ranges(v: &str, max: u32) -> Result<Vec<(u32, u32)>, Error> {
    let bad = || {
        Error::invalid(format!(
            "Invalid vlan range {v}: give ranges such as 100-200 (or 100-200,300-400) with 0 <= start <= end <= {max}"
        ))
    };
    let mut out: Vec<(u32, u32)> = Vec::new();
    for part in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let a: u32 = a.trim().parse().map_err(|_| bad())?;
        let b: u32 = b.trim().parse().map_err(|_| bad())?;
        if a > b || b > max {
            return Err(bad());
        }
        if let Some((x, y)) = out.iter().find(|(x, y)| a <= *y && *x <= b) {
            return Err(Error::invalid(format!(
                "The vlan ranges {a}-{b} and {x}-{y} overlap; give each VLAN once"
            )));
        }
        out.push((a, b));
    }
    if out.is_empty() {
        return Err(bad());
    }
    Ok(out)
}

fn format_ranges(r: &[(u32, u32)]) -> String {
    r.iter().map(|(a, b)| format!("{a}-{b}")).collect::<Vec<_>>().join(",")
}

fn max_vnet(isolation: &str) -> u32 {
    if isolation.split(',').any(|m| m.eq_ignore_ascii_case("VXLAN")) {
        16_777_214
    } else {
        4095
    }
}

/// Validate a vlan range for a physical network of `zone_id` (excluding `self_id`): well formed
/// and not overlapping another physical network's range in the zone.
async fn check_vlan(
    c: &mut Conn,
    zone_id: i64,
    self_id: Option<i64>,
    isolation: &str,
    v: &str,
) -> Result<String, Error> {
    let ranges = parse_vlan_ranges(v, max_vnet(isolation))?;
    for other in pn_db::in_zone(c, zone_id).await? {
        if Some(other.id) == self_id {
            continue;
        }
        let Some(ov) = &other.vlan else { continue };
        let Ok(theirs) = parse_vlan_ranges(ov, max_vnet(&other.isolation_methods)) else {
            continue;
        };
        for (a, b) in &ranges {
            if let Some((x, y)) = theirs.iter().find(|(x, y)| a <= y && x <= b) {
                return Err(Error::invalid(format!(
                    "The vlan range {a}-{b} overlaps range {x}-{y} of physical network {} in this zone; choose a range that does not overlap",
                    other.name
                )));
            }
        }
    }
    Ok(format_ranges(&ranges))
}

fn one_tag(tags: &str) -> Result<String, Error> {
    let t: Vec<&str> = tags.split(',').map(str::trim).filter(|t| !t.is_empty()).collect();
    match t.as_slice() {
        [one] => Ok(one.to_string()),
        [] => Err(Error::invalid("The tags value is empty; give one tag")),
        _ => Err(Error::invalid(
            "Only one tag can be specified for a physical network at this time",
        )),
    }
}

fn physnet_state(v: &str) -> Result<ferrostack_types::state::PhysicalNetworkState, Error> {
    ferrostack_types::state::PhysicalNetworkState::parse(v)
        .ok_or_else(|| Error::invalid(format!("Invalid state {v}; use Enabled or Disabled")))
}

/// A provider row to insert.
struct NewNsp<'a> {
    provider: Provider,
    state: ProviderState,
    dest: Option<i64>,
    services: Option<&'a str>,
}

/// What a physical-network job is about, for submission.
struct Change {
    meta: crate::job::JobMeta,
    instance: (&'static str, String),
    physnet_uuid: String,
    params: Value,
    description: String,
    resource: Resource,
}

impl App {
    pub async fn physnet_get_for(&self, c: &mut Conn, param: &str, uuid: &str) -> Result<PhysicalNetwork, Error> {
        pn_db::by_uuid(&mut *c, uuid)
            .await?
            .ok_or_else(|| Error::unknown_entity(param, uuid))
    }

    /// The first live physical network of the zone carrying Guest traffic, else the first one.
    pub async fn physnet_for_zone(&self, c: &mut Conn, zone_id: i64) -> Result<Option<PhysicalNetwork>, Error> {
        pn_db::for_zone(c, zone_id).await
    }

    /// The state of `provider` on a physical network; `None` when it was never added.
    pub async fn provider_state(
        &self,
        c: &mut Conn,
        physnet_id: i64,
        provider: Provider,
    ) -> Result<Option<ProviderState>, Error> {
        Ok(pn_db::nsp_by_provider(c, physnet_id, provider.as_str())
            .await?
            .map(|n| n.state))
    }

    async fn physnet_submit(&self, c: &mut Conn, caller: &Caller, ch: Change) -> Result<Submitted, Error> {
        self.job_submit(
            c,
            caller,
            JobRequest {
                instance: Some(ch.instance),
                sync_key: format!("physnet:{}", ch.physnet_uuid),
                params: ch.params,
                meta: ch.meta,
                description: ch.description,
                resource: Some(ch.resource),
            },
        )
        .await
    }

    /// `createPhysicalNetwork`: the row (Disabled) and its default providers now, then a job.
    pub async fn physnet_create(
        &self,
        caller: &Caller,
        p: PhysnetCreate,
        meta: crate::job::JobMeta,
    ) -> Result<Submitted, Error> {
        let name = p.name.trim();
        if name.is_empty() {
            return Err(Error::invalid("The physical network name can't be empty"));
        }
        let isolation = match p.isolation_methods.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => "VLAN".to_string(),
            Some(m) if m.contains(',') => {
                return Err(Error::invalid(
                    "Only one isolation method can be specified for a physical network at this time",
                ))
            }
            Some(m) => ISOLATION_METHODS
                .iter()
                .find(|v| v.eq_ignore_ascii_case(m))
                .map(|v| v.to_string())
                .ok_or_else(|| {
                    Error::invalid(format!(
                        "Invalid isolationmethods {m}; valid values are: {}",
                        ISOLATION_METHODS.join(", ")
                    ))
                })?,
        };
        let tags = p.tags.as_deref().map(one_tag).transpose()?;
        let mut tx = self.db.begin().await?;
        let z = self.zone_get_for(&mut tx, "zoneid", &p.zone_uuid).await?;
        if z.allocation_state == ferrostack_types::state::AllocationState::Enabled {
            return Err(Error::invalid(format!(
                "Cannot create a physical network while zone {} is Enabled; disable it first (updateZone allocationstate=Disabled)",
                z.name
            )));
        }
        let network_type = ZoneNetworkType::parse(&z.network_type).unwrap_or(ZoneNetworkType::Advanced);
        let existing = pn_db::in_zone(&mut tx, z.id).await?;
        if network_type == ZoneNetworkType::Basic && !existing.is_empty() {
            return Err(Error::invalid(format!(
                "Zone {} is a Basic zone and already has physical network {}; Basic zones allow one",
                z.name, existing[0].name
            )));
        }
        let range = match (p.broadcast_domain_range.as_deref(), network_type) {
            (None, ZoneNetworkType::Advanced) => "ZONE",
            (None, ZoneNetworkType::Basic) => "POD",
            (Some(r), ZoneNetworkType::Advanced) if r.eq_ignore_ascii_case("zone") => "ZONE",
            (Some(r), ZoneNetworkType::Basic) if r.eq_ignore_ascii_case("pod") => "POD",
            (Some(r), _) => {
                return Err(Error::invalid(format!(
                    "Invalid broadcastdomainrange {r}: {} zones use {}",
                    z.network_type,
                    if network_type == ZoneNetworkType::Basic {
                        "POD"
                    } else {
                        "ZONE"
                    }
                )))
            }
        };
        let vlan = match p.vlan.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(v) => Some(check_vlan(&mut tx, z.id, None, &isolation, v).await?),
            None => None,
        };
        let domain_id = match &p.domain_uuid {
            Some(u) => Some(self.domain_for(&mut tx, caller, "domainid", u).await?.id),
            None => None,
        };
        let uuid = new_uuid();
        let now = now_ms();
        let id = pn_db::insert(
            &mut tx,
            pn_db::NewPhysicalNetwork {
                uuid: &uuid,
                zone_id: z.id,
                name,
                vlan: vlan.as_deref(),
                isolation_methods: &isolation,
                tags: tags.as_deref(),
                network_speed: p.network_speed.as_deref(),
                broadcast_domain_range: range,
                domain_id,
                now,
            },
        )
        .await?;
        for seed in default_physical_network_providers(network_type, isolation == "GRE") {
            let n = NewNsp {
                provider: seed.provider,
                state: seed.state,
                dest: None,
                services: None,
            };
            self.nsp_insert(&mut tx, id, n).await?;
        }
        let mut sub = self
            .physnet_submit(
                &mut tx,
                caller,
                Change {
                    meta,
                    instance: ("PhysicalNetwork", uuid.clone()),
                    physnet_uuid: uuid.clone(),
                    params: PhysnetParams::job(id, PhysnetOp::PhysnetCreate)?,
                    description: format!("Creating physical network {name} in zone {}", z.name),
                    resource: resource("PhysicalNetwork", &uuid, name),
                },
            )
            .await?;
        tx.commit().await.map_err(db_err)?;
        self.jobs.wake();
        sub.entity_uuid = Some(uuid);
        Ok(sub)
    }

    /// Insert a provider (and its router element for the router providers).
    async fn nsp_insert(&self, c: &mut Conn, physnet_id: i64, n: NewNsp<'_>) -> Result<(String, i64), Error> {
        let all: Vec<&str> = n.provider.services().iter().map(|s| s.as_str()).collect();
        let all = all.join(",");
        let uuid = new_uuid();
        let now = now_ms();
        let id = pn_db::insert_nsp(
            c,
            pn_db::NewServiceProvider {
                uuid: &uuid,
                physical_network_id: physnet_id,
                provider: n.provider.as_str(),
                state: n.state,
                dest_physical_network_id: n.dest,
                services: n.services.unwrap_or(&all),
                now,
            },
        )
        .await?;
        if let Some(t) = router_element_type(n.provider) {
            pn_db::insert_vr(c, &new_uuid(), id, t, now).await?;
        }
        Ok((uuid, id))
    }

    pub async fn physnet_list(
        &self,
        mut f: PhysnetFilter,
        id: Option<&str>,
        zone: Option<&str>,
        page: Page,
    ) -> Result<(i64, Vec<PhysicalNetwork>), Error> {
        let mut c = self.db.conn().await?;
        if let Some(u) = id {
            f.id = Some(self.physnet_get_for(&mut c, "id", u).await?.id);
        }
        if let Some(u) = zone {
            f.zone_id = Some(self.zone_get_for(&mut c, "zoneid", u).await?.id);
        }
        pn_db::list(&mut c, &f, page).await
    }

    pub async fn physnet_get(&self, uuid: &str) -> Result<Option<PhysicalNetwork>, Error> {
        pn_db::by_uuid(self.db.read(), uuid).await
    }

    /// Validate an update against the current row; returns the columns to set.
    async fn physnet_update_cols(
        &self,
        c: &mut Conn,
        p: &PhysicalNetwork,
        u: &PhysnetUpdate,
    ) -> Result<Vec<(&'static str, Option<String>)>, Error> {
        let state = u
            .state
            .as_deref()
            .map(physnet_state)
            .transpose()?
            .map(|s| s.as_str().to_string());
        let vlan = match u.vlan.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(v) => Some(check_vlan(c, p.zone_id, Some(p.id), &p.isolation_methods, v).await?),
            None => None,
        };
        let tags = u.tags.as_deref().map(one_tag).transpose()?;
        Ok(vec![
            ("state", state),
            ("vlan", vlan),
            ("tags", tags),
            ("network_speed", u.network_speed.clone()),
        ])
    }

    /// `updatePhysicalNetwork` (async): state, vlan range, tags, speed.
    pub async fn physnet_update(
        &self,
        caller: &Caller,
        uuid: &str,
        u: PhysnetUpdate,
        meta: crate::job::JobMeta,
    ) -> Result<Submitted, Error> {
        let mut tx = self.db.begin().await?;
        let p = self.physnet_get_for(&mut tx, "id", uuid).await?;
        self.physnet_update_cols(&mut tx, &p, &u).await?;
        let sub = self
            .physnet_submit(
                &mut tx,
                caller,
                Change {
                    meta,
                    instance: ("PhysicalNetwork", p.uuid.clone()),
                    physnet_uuid: p.uuid.clone(),
                    params: PhysnetParams::job(
                        p.id,
                        PhysnetOp::PhysnetUpdate {
                            state: u.state.clone(),
                            vlan: u.vlan.clone(),
                            tags: u.tags.clone(),
                            speed: u.network_speed.clone(),
                        },
                    )?,
                    description: format!("Updating physical network {}", p.name),
                    resource: resource("PhysicalNetwork", &p.uuid, &p.name),
                },
            )
            .await?;
        tx.commit().await.map_err(db_err)?;
        self.jobs.wake();
        Ok(sub)
    }

    async fn physnet_check_unused(&self, c: &mut Conn, p: &PhysicalNetwork) -> Result<(), Error> {
        let n = pn_db::physnet_in_use(c, p.id).await?;
        if n > 0 {
            return Err(Error::in_use(format!(
                "The physical network {} is not deletable because it still has {n} guest network(s); delete them first (deleteNetwork)",
                p.name
            )));
        }
        Ok(())
    }

    /// `deletePhysicalNetwork` (async): refused while guest networks use it.
    pub async fn physnet_delete(
        &self,
        caller: &Caller,
        uuid: &str,
        meta: crate::job::JobMeta,
    ) -> Result<Submitted, Error> {
        let mut tx = self.db.begin().await?;
        let p = self.physnet_get_for(&mut tx, "id", uuid).await?;
        self.physnet_check_unused(&mut tx, &p).await?;
        let sub = self
            .physnet_submit(
                &mut tx,
                caller,
                Change {
                    meta,
                    instance: ("PhysicalNetwork", p.uuid.clone()),
                    physnet_uuid: p.uuid.clone(),
                    params: PhysnetParams::job(p.id, PhysnetOp::PhysnetDelete)?,
                    description: format!("Deleting physical network {}", p.name),
                    resource: resource("PhysicalNetwork", &p.uuid, &p.name),
                },
            )
            .await?;
        tx.commit().await.map_err(db_err)?;
        self.jobs.wake();
        Ok(sub)
    }

    // ------------------------------------------------------------------------------------------
    // Traffic types

    pub async fn traffic_get_for(&self, c: &mut Conn, param: &str, uuid: &str) -> Result<TrafficType, Error> {
        pn_db::traffic_by_uuid(&mut *c, uuid)
            .await?
            .ok_or_else(|| Error::unknown_entity(param, uuid))
    }

    pub async fn traffic_get(&self, uuid: &str) -> Result<Option<TrafficType>, Error> {
        pn_db::traffic_by_uuid(self.db.read(), uuid).await
    }

    /// `addTrafficType` (async create).
    pub async fn traffic_add(
        &self,
        caller: &Caller,
        t: TrafficAdd,
        meta: crate::job::JobMeta,
    ) -> Result<Submitted, Error> {
        let ty = Traffic::parse_param("traffictype", &t.traffic_type)?;
        match ty {
            Traffic::Guest | Traffic::Public | Traffic::Management | Traffic::Storage => {}
            Traffic::Control => {
                return Err(Error::invalid(
                    "Control traffic goes with Management traffic; add traffictype=Management instead",
                ))
            }
        }
        let mut tx = self.db.begin().await?;
        let p = self
            .physnet_get_for(&mut tx, "physicalnetworkid", &t.physnet_uuid)
            .await?;
        if ty == Traffic::Public && p.zone_type == "Edge" {
            return Err(Error::invalid(format!(
                "Zone {} is an edge zone: it has no Public traffic (no system VMs or virtual routers with public IPs); add Guest traffic only",
                p.zone_name
            )));
        }
        if ty != Traffic::Guest {
            if let Some(other) = pn_db::zone_traffic_carrier(&mut tx, p.zone_id, ty.as_str()).await? {
                return Err(Error::invalid(format!(
                    "Zone {} already carries {ty} traffic on physical network {other}; a zone has one physical network per {ty} traffic",
                    p.zone_name
                )));
            }
        }
        let isolation = t.isolation_method.as_deref().map(str::trim).filter(|s| !s.is_empty());
        if let Some(m) = isolation {
            if !ISOLATION_METHODS.iter().any(|v| v.eq_ignore_ascii_case(m)) {
                return Err(Error::invalid(format!(
                    "Invalid isolationmethod {m}; valid values are: {}",
                    ISOLATION_METHODS.join(", ")
                )));
            }
        }
        if let Some(v) = &t.vlan {
            let ok = v.eq_ignore_ascii_case("untagged") || v.trim().parse::<u32>().is_ok_and(|n| n <= 4095);
            if !ok {
                return Err(Error::invalid(format!(
                    "Invalid vlan {v}; give a VLAN id 0-4095 or untagged"
                )));
            }
        }
        let uuid = new_uuid();
        let id = pn_db::insert_traffic(
            &mut tx,
            pn_db::NewTrafficType {
                uuid: &uuid,
                physical_network_id: p.id,
                traffic_type: ty.as_str(),
                labels: &t.labels,
                isolation_method: isolation,
                vlan: t.vlan.as_deref(),
                now: now_ms(),
            },
        )
        .await?;
        let mut sub = self
            .physnet_submit(
                &mut tx,
                caller,
                Change {
                    meta,
                    instance: ("TrafficType", uuid.clone()),
                    physnet_uuid: p.uuid.clone(),
                    params: PhysnetParams::job(id, PhysnetOp::TrafficAdd)?,
                    description: format!("Adding {ty} traffic to physical network {}", p.name),
                    resource: resource("TrafficType", &uuid, ty.as_str()),
                },
            )
            .await?;
        tx.commit().await.map_err(db_err)?;
        self.jobs.wake();
        sub.entity_uuid = Some(uuid);
        Ok(sub)
    }

    pub async fn traffic_list(&self, physnet_uuid: &str, page: Page) -> Result<(i64, Vec<TrafficType>), Error> {
        let mut c = self.db.conn().await?;
        let p = self.physnet_get_for(&mut c, "physicalnetworkid", physnet_uuid).await?;
        pn_db::list_traffic(&mut c, p.id, page).await
    }

    /// `updateTrafficType` (async): the hypervisor labels.
    pub async fn traffic_update(
        &self,
        caller: &Caller,
        uuid: &str,
        labels: Labels,
        meta: crate::job::JobMeta,
    ) -> Result<Submitted, Error> {
        let mut tx = self.db.begin().await?;
        let t = self.traffic_get_for(&mut tx, "id", uuid).await?;
        let sub = self
            .physnet_submit(
                &mut tx,
                caller,
                Change {
                    meta,
                    instance: ("TrafficType", t.uuid.clone()),
                    physnet_uuid: t.physical_network_uuid.clone(),
                    params: PhysnetParams::job(
                        t.id,
                        PhysnetOp::TrafficUpdate {
                            kvm: labels.kvm.clone(),
                            xen: labels.xen.clone(),
                            vmware: labels.vmware.clone(),
                            hyperv: labels.hyperv.clone(),
                            ovm3: labels.ovm3.clone(),
                            simulator: labels.simulator.clone(),
                        },
                    )?,
                    description: format!(
                        "Updating {} traffic of physical network {}",
                        t.traffic_type, t.physical_network_name
                    ),
                    resource: resource("TrafficType", &t.uuid, &t.traffic_type),
                },
            )
            .await?;
        tx.commit().await.map_err(db_err)?;
        self.jobs.wake();
        Ok(sub)
    }

    async fn traffic_check_unused(&self, c: &mut Conn, t: &TrafficType) -> Result<(), Error> {
        if t.traffic_type == Traffic::Guest.as_str() {
            let n = pn_db::physnet_in_use(c, t.physical_network_id).await?;
            if n > 0 {
                return Err(Error::in_use(format!(
                    "The Guest traffic of physical network {} is in use by {n} guest network(s); delete them first (deleteNetwork)",
                    t.physical_network_name
                )));
            }
        }
        Ok(())
    }

    /// `deleteTrafficType` (async): Guest traffic is refused while guest networks use it.
    pub async fn traffic_delete(
        &self,
        caller: &Caller,
        uuid: &str,
        meta: crate::job::JobMeta,
    ) -> Result<Submitted, Error> {
        let mut tx = self.db.begin().await?;
        let t = self.traffic_get_for(&mut tx, "id", uuid).await?;
        self.traffic_check_unused(&mut tx, &t).await?;
        let sub = self
            .physnet_submit(
                &mut tx,
                caller,
                Change {
                    meta,
                    instance: ("TrafficType", t.uuid.clone()),
                    physnet_uuid: t.physical_network_uuid.clone(),
                    params: PhysnetParams::job(t.id, PhysnetOp::TrafficDelete)?,
                    description: format!(
                        "Deleting {} traffic of physical network {}",
                        t.traffic_type, t.physical_network_name
                    ),
                    resource: resource("TrafficType", &t.uuid, &t.traffic_type),
                },
            )
            .await?;
        tx.commit().await.map_err(db_err)?;
        self.jobs.wake();
        Ok(sub)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vlan_ranges() {
        assert_eq!(parse_vlan_ranges("100-200", 4095).unwrap(), [(100, 200)]);
        assert_eq!(
            format_ranges(&parse_vlan_ranges("5, 100-200", 4095).unwrap()),
            "5-5,100-200"
        );
        for bad in ["", "x", "200-100", "1-5000", "100-200,150-160", "-"] {
            assert_eq!(parse_vlan_ranges(bad, 4095).unwrap_err().http_status(), 431, "{bad}");
        }
        assert!(parse_vlan_ranges("5000-6000", max_vnet("VXLAN")).is_ok());
        assert!(one_tag("a,b").is_err() && one_tag("a").is_ok());
    }

    #[test]
    fn router_providers_get_elements() {
        assert_eq!(router_element_type(Provider::VirtualRouter), Some("VirtualRouter"));
        assert_eq!(
            router_element_type(Provider::VpcVirtualRouter),
            Some("VPCVirtualRouter")
        );
        assert_eq!(router_element_type(Provider::ConfigDrive), None);
    }
}
