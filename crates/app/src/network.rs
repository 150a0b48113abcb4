//! Guest networks: create (Shared, Isolated, L2), list, update, restart, delete; the
//! network's own service→provider map (copied from its offering at creation and always read
//! from the network afterwards); guest IP/MAC allocation; IP ranges and public addresses.

use ferrostack_types::EventType;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use ferrostack_db::account::OwnerScope;
use ferrostack_db::network::{
    self as net_db, IpRange as RangeRow, Network, NetworkFilter, PublicIp, PublicIpFilter, RangeFilter,
};
use ferrostack_db::{db_err, Conn};
use ferrostack_net::ipam::{self, Cidr, IpRange};
use ferrostack_net::{GuestType, Provider, Service};
use ferrostack_types::ids::new_uuid;
use ferrostack_types::state::{network_transition, NetworkEvent, NetworkOfferingState, NetworkState};
use ferrostack_types::time::now_ms;
use ferrostack_types::{Error, Page, RoleType};

use crate::access::{check_account, ListScope};
use crate::event::Resource;
use crate::job::{JobRequest, Submitted};
use crate::{App, Caller};

/// Default CIDR of an isolated network created without gateway/netmask.
pub const DEFAULT_GUEST_CIDR: &str = "10.1.1.0/24";

pub struct NetworkCreate {
    pub name: String,
    pub display_text: Option<String>,
    pub zone_uuid: String,
    pub offering_uuid: String,
    pub vlan: Option<String>,
    pub gateway: Option<String>,
    pub netmask: Option<String>,
    pub start_ip: Option<String>,
    pub end_ip: Option<String>,
    pub account: Option<String>,
    pub domain_uuid: Option<String>,
    pub acl_type: Option<String>,
    pub network_domain: Option<String>,
    pub physnet_uuid: Option<String>,
}

pub struct RangeCreate {
    pub zone_uuid: Option<String>,
    pub network_uuid: Option<String>,
    pub physnet_uuid: Option<String>,
    pub vlan: Option<String>,
    pub gateway: String,
    pub netmask: String,
    pub start_ip: String,
    pub end_ip: Option<String>,
    pub for_virtual_network: bool,
}

pub fn network_resource(n: &Network) -> Resource {
    Resource {
        kind: "Network",
        uuid: n.uuid.clone(),
        name: n.name.clone(),
    }
}

/// `vlan://100` from `100`, `vlan://100`, or `untagged`.
pub fn broadcast_uri(vlan: &str) -> Result<String, Error> {
    let v = vlan.trim();
    let tag = v.strip_prefix("vlan://").unwrap_or(v);
    if tag.eq_ignore_ascii_case("untagged") {
        return Ok("vlan://untagged".into());
    }
    match tag.parse::<u16>() {
        Ok(n) if (1..=4094).contains(&n) => Ok(format!("vlan://{n}")),
        Ok(_) | Err(_) => Err(Error::invalid(format!(
            "Invalid vlan {vlan}; give a VLAN id from 1 to 4094 or untagged"
        ))),
    }
}

/// Parse the network's stored service map into the typed map elements use.
pub fn service_map(rows: &[(String, String)]) -> BTreeMap<Service, Provider> {
    rows.iter()
        .filter_map(|(s, p)| Some((Service::parse(s)?, Provider::parse(p)?)))
        .collect()
}

fn ip_num(ip: Ipv4Addr) -> i64 {
    i64::from(u32::from(ip))
}

mod addresses;

impl App {
    pub async fn network_get_for(
        &self,
        c: &mut Conn,
        caller: &Caller,
        param: &str,
        uuid: &str,
    ) -> Result<Network, Error> {
        let n = net_db::by_uuid(&mut *c, uuid)
            .await?
            .ok_or_else(|| Error::unknown_entity(param, uuid))?;
        self.check_network_access(c, caller, &n).await?;
        Ok(n)
    }

    /// May the caller use this network? Owners and admins over the owner; Domain-ACL
    /// (shared) networks are usable from their domain and below.
    pub async fn check_network_access(&self, c: &mut Conn, caller: &Caller, n: &Network) -> Result<(), Error> {
        if n.acl_type == "Domain" {
            let path = n.domain_path.clone().unwrap_or_else(|| "/".into());
            // Usable from the network's domain and below; administrators also reach the
            // shared networks of the domains they administer.
            let ok = match caller.role {
                RoleType::Admin => true,
                RoleType::DomainAdmin | RoleType::ResourceAdmin => {
                    caller.domain_path.starts_with(&path) || path.starts_with(&caller.domain_path)
                }
                RoleType::User => caller.domain_path.starts_with(&path),
            };
            return if ok {
                Ok(())
            } else {
                Err(Error::denied(format!(
                    "Network {} is not available to account {}",
                    n.name, caller.account_name
                )))
            };
        }
        let a = ferrostack_db::account::get(&mut *c, ferrostack_types::ids::AccountId(n.account_id))
            .await?
            .ok_or_else(|| Error::denied(format!("Network {} belongs to a removed account", n.name)))?;
        check_account(caller, &a)
    }

    /// The network's own service→provider map.
    pub async fn network_services(&self, c: &mut Conn, network_id: i64) -> Result<BTreeMap<Service, Provider>, Error> {
        Ok(service_map(&net_db::services(&mut *c, network_id).await?))
    }

    pub async fn network_create(&self, caller: &Caller, p: NetworkCreate) -> Result<Network, Error> {
        if p.name.trim().is_empty() {
            return Err(Error::invalid("The network name can't be empty"));
        }
        let mut tx = self.db.begin().await?;
        let zone = self.zone_get_for(&mut tx, "zoneid", &p.zone_uuid).await?;
        let offering = self
            .netoffering_get(&mut tx, "networkofferingid", &p.offering_uuid)
            .await?;
        if offering.state != NetworkOfferingState::Enabled {
            return Err(Error::invalid(format!(
                "Network offering {} is {}; enable it with updateNetworkOffering state=Enabled",
                offering.name, offering.state
            )));
        }
        let guest_type = GuestType::parse(&offering.guest_type).ok_or_else(|| {
            Error::internal(format!(
                "offering {} has guest type {}",
                offering.name, offering.guest_type
            ))
        })?;
        match guest_type {
            GuestType::Isolated if zone.is_edge() => {
                return Err(Error::invalid(format!(
                    "Zone {} is an edge zone: it supports only Shared and L2 guest networks; use a Shared or L2 network offering",
                    zone.name
                )))
            }
            GuestType::Shared if !caller.role.is_domain_admin_or_above() => {
                return Err(Error::denied("Only administrators can create shared networks"))
            }
            GuestType::Shared | GuestType::Isolated | GuestType::L2 => {}
        }
        let physnet = match &p.physnet_uuid {
            Some(u) => {
                let pn = self.physnet_for_zone(&mut tx, zone.id).await?;
                match pn {
                    Some(pn) if &pn.uuid == u => Some(pn),
                    Some(_) | None => return Err(Error::unknown_entity("physicalnetworkid", u)),
                }
            }
            None => self.physnet_for_zone(&mut tx, zone.id).await?,
        };
        let physnet = physnet.ok_or_else(|| {
            Error::invalid(format!(
                "Zone {} has no physical network for guest traffic; create one with createPhysicalNetwork and addTrafficType traffictype=Guest",
                zone.name
            ))
        })?;
        // Owner: an account given by name (admins), else the caller; shared networks default to
        // domain-wide access.
        let (account_id, domain_id, acl) = {
            let domain = match &p.domain_uuid {
                Some(d) => Some(self.domain_for(&mut tx, caller, "domainid", d).await?),
                None => None,
            };
            let acl = match p.acl_type.as_deref() {
                Some(a) if a.eq_ignore_ascii_case("domain") => "Domain",
                Some(a) if a.eq_ignore_ascii_case("account") => "Account",
                Some(a) => return Err(Error::invalid(format!("Invalid acltype {a}; use Account or Domain"))),
                None if guest_type == GuestType::Shared && p.account.is_none() => "Domain",
                None => "Account",
            };
            if acl == "Domain" && guest_type != GuestType::Shared {
                return Err(Error::invalid("acltype=Domain is only for shared networks"));
            }
            match &p.account {
                Some(name) => {
                    let d = domain.as_ref().map(|d| d.id()).unwrap_or(caller.domain_id);
                    let a = ferrostack_db::account::by_name(&mut *tx, d, name)
                        .await?
                        .ok_or_else(|| Error::invalid(format!("Unable to find account {name} in the given domain")))?;
                    check_account(caller, &a)?;
                    (a.id, a.domain_id, acl)
                }
                None => (
                    caller.account_id.0,
                    domain.map(|d| d.id).unwrap_or(caller.domain_id.0),
                    acl,
                ),
            }
        };
        let services = self.netoffering_services(&mut tx, offering.id).await?;
        // Addressing.
        let mut broadcast = None;
        if let Some(v) = &p.vlan {
            if offering.specify_vlan == 0 && guest_type != GuestType::L2 {
                return Err(Error::invalid(format!(
                    "Network offering {} does not let you specify a VLAN; use an offering with specifyvlan=true",
                    offering.name
                )));
            }
            let uri = broadcast_uri(v)?;
            if net_db::vlan_in_use(&mut tx, zone.id, &uri).await? {
                return Err(Error::invalid(format!(
                    "VLAN {v} is already used by another network in zone {}; choose another",
                    zone.name
                )));
            }
            broadcast = Some(uri);
        } else if offering.specify_vlan == 1 {
            return Err(Error::invalid(format!(
                "Network offering {} requires a vlan; give vlan=<id>",
                offering.name
            )));
        }
        let (cidr, gateway, netmask, range) = match guest_type {
            GuestType::L2 => {
                if p.gateway.is_some() || p.netmask.is_some() || p.start_ip.is_some() {
                    return Err(Error::invalid(
                        "L2 networks have no IP addressing; leave out gateway, netmask, startip and endip",
                    ));
                }
                (None, None, None, None)
            }
            GuestType::Shared => {
                let (Some(g), Some(m)) = (&p.gateway, &p.netmask) else {
                    return Err(Error::invalid(
                        "A shared network needs gateway and netmask (and startip/endip for its address range)",
                    ));
                };
                let gw = ipam::parse_ipv4("gateway", g)?;
                let mask = ipam::parse_netmask("netmask", m)?;
                let cidr = ipam::validate_gateway(gw, mask)?;
                let start = ipam::parse_ipv4(
                    "startip",
                    p.start_ip.as_deref().ok_or_else(|| Error::missing("startip"))?,
                )?;
                let end = match &p.end_ip {
                    Some(e) => ipam::parse_ipv4("endip", e)?,
                    None => start,
                };
                let r = ipam::validate_range(start, end, gw, mask)?;
                (Some(cidr), Some(gw), Some(mask), Some(r))
            }
            GuestType::Isolated => {
                let cidr = match (&p.gateway, &p.netmask) {
                    (Some(g), Some(m)) => {
                        ipam::validate_gateway(ipam::parse_ipv4("gateway", g)?, ipam::parse_netmask("netmask", m)?)?
                    }
                    (None, None) => Cidr::parse(zone.guest_cidr.as_deref().unwrap_or(DEFAULT_GUEST_CIDR))?,
                    (Some(_), None) | (None, Some(_)) => {
                        return Err(Error::invalid("Give both gateway and netmask, or neither"))
                    }
                };
                let gw = match &p.gateway {
                    Some(g) => ipam::parse_ipv4("gateway", g)?,
                    None => cidr.hosts().start(),
                };
                (Some(cidr), Some(gw), Some(cidr.netmask()), None)
            }
        };
        if let (Some(r), Some(g), Some(m)) = (&range, gateway, netmask) {
            // Ranges on the same VLAN of this zone must not overlap.
            let existing: Vec<IpRange> = net_db::ranges(&mut tx, zone.id, None)
                .await?
                .iter()
                .filter(|x| x.vlan.as_deref() == broadcast.as_deref())
                .filter_map(|x| {
                    IpRange::new(
                        ipam::parse_ipv4("startip", &x.start_ip).ok()?,
                        ipam::parse_ipv4("endip", &x.end_ip).ok()?,
                    )
                    .ok()
                })
                .collect();
            ipam::check_no_overlap(r, &existing)?;
            let _ = (g, m);
        }
        let uuid = new_uuid();
        let state = match guest_type {
            GuestType::Shared => NetworkState::Setup,
            GuestType::Isolated | GuestType::L2 => NetworkState::Allocated,
        };
        let display = p.display_text.clone().unwrap_or_else(|| p.name.clone());
        let id = net_db::insert(
            &mut tx,
            net_db::NewNetwork {
                uuid: &uuid,
                name: p.name.trim(),
                display_text: &display,
                zone_id: zone.id,
                physical_network_id: Some(physnet.id),
                network_offering_id: offering.id,
                guest_type: guest_type.as_str(),
                state,
                acl_type: acl,
                broadcast_uri: broadcast.as_deref(),
                cidr: cidr.map(|c| c.to_string()).as_deref(),
                gateway: gateway.map(|g| g.to_string()).as_deref(),
                netmask: netmask.map(|m| m.to_string()).as_deref(),
                network_domain: p.network_domain.as_deref(),
                dns1: Some(zone.dns1.as_str()),
                dns2: zone.dns2.as_deref(),
                account_id,
                domain_id,
                now: now_ms(),
            },
        )
        .await?;
        for (s, prov) in &services {
            net_db::insert_service(&mut tx, id, s.as_str(), prov.as_str()).await?;
        }
        if let (Some(r), Some(g), Some(m)) = (range, gateway, netmask) {
            net_db::insert_range(
                &mut tx,
                net_db::NewRange {
                    uuid: &new_uuid(),
                    zone_id: zone.id,
                    physical_network_id: Some(physnet.id),
                    network_id: Some(id),
                    vlan: broadcast.as_deref(),
                    gateway: &g.to_string(),
                    netmask: &m.to_string(),
                    start_ip: &r.start().to_string(),
                    end_ip: &r.end().to_string(),
                    start_num: ip_num(r.start()),
                    end_num: ip_num(r.end()),
                    for_virtual_network: false,
                    account_id: None,
                    domain_id: None,
                    now: now_ms(),
                },
            )
            .await?;
        }
        let n = net_db::get(&mut *tx, id)
            .await?
            .ok_or_else(|| Error::internal("network vanished"))?;
        self.event_done(
            &mut tx,
            caller,
            EventType::NetworkCreate,
            format!(
                "Created {} network {} in zone {}",
                guest_type.as_str(),
                n.name,
                zone.name
            ),
            Some(&network_resource(&n)),
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok(n)
    }

    pub async fn network_list(
        &self,
        caller: &Caller,
        scope: &ListScope,
        mut f: NetworkFilter,
        zone_uuid: Option<&str>,
        id: Option<&str>,
        page: Page,
    ) -> Result<(i64, Vec<Network>), Error> {
        let mut c = self.db.conn().await?;
        if let Some(z) = zone_uuid {
            f.zone_id = Some(self.zone_get_for(&mut c, "zoneid", z).await?.id);
        }
        let owner = if let Some(id) = id {
            let n = self.network_get_for(&mut c, caller, "id", id).await?;
            f.id = Some(n.id);
            OwnerScope::All
        } else {
            let owner = self.owner_scope(&mut c, caller, scope).await?;
            if let OwnerScope::Account(_) = owner {
                // Shared (Domain-ACL) networks of the caller's domain line are visible too.
                f.include_shared_domains = Some(self.domain_line(&mut c, &caller.domain_path).await?);
            }
            owner
        };
        net_db::list(&mut c, &owner, &f, page).await
    }

    /// The caller's domain and its ancestors.
    async fn domain_line(&self, c: &mut Conn, path: &str) -> Result<Vec<i64>, Error> {
        let mut out = Vec::new();
        let mut p = path.to_string();
        loop {
            if let Some(d) = ferrostack_db::domain::by_path(&mut *c, &p).await? {
                out.push(d.id);
            }
            if p == "/" {
                break;
            }
            let trimmed = p.trim_end_matches('/');
            p = match trimmed.rfind('/') {
                Some(i) => trimmed[..=i].to_string(),
                None => "/".to_string(),
            };
        }
        Ok(out)
    }

    pub async fn network_get(&self, uuid: &str) -> Result<Option<Network>, Error> {
        net_db::by_uuid(self.db.pool(), uuid).await
    }

    pub async fn network_update(
        &self,
        caller: &Caller,
        uuid: &str,
        name: Option<String>,
        display_text: Option<String>,
        network_domain: Option<String>,
    ) -> Result<Network, Error> {
        let mut tx = self.db.begin().await?;
        let n = self.network_get_for(&mut tx, caller, "id", uuid).await?;
        if name.as_deref().is_some_and(|x| x.trim().is_empty()) {
            return Err(Error::invalid("The network name can't be empty"));
        }
        net_db::update(
            &mut tx,
            n.id,
            &[
                ("name", name),
                ("display_text", display_text),
                ("network_domain", network_domain),
            ],
        )
        .await?;
        let n = net_db::get(&mut *tx, n.id)
            .await?
            .ok_or_else(|| Error::internal("network vanished"))?;
        self.event_done(
            &mut tx,
            caller,
            EventType::NetworkUpdate,
            format!("Updated network {}", n.name),
            Some(&network_resource(&n)),
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok(n)
    }

    /// `restartNetwork` (async).
    pub async fn network_restart(&self, caller: &Caller, uuid: &str, cleanup: bool) -> Result<Submitted, Error> {
        let mut tx = self.db.begin().await?;
        let n = self.network_get_for(&mut tx, caller, "id", uuid).await?;
        let sub = self
            .job_submit(
                &mut tx,
                caller,
                JobRequest {
                    kind: crate::saga::SagaKind::NetworkRestart.as_str(),
                    command: "restartNetwork",
                    cmd_class: "org.apache.cloudstack.api.command.user.network.RestartNetworkCmd",
                    instance: Some(("Network", n.uuid.clone())),
                    sync_key: format!("network:{}", n.uuid),
                    params: crate::saga::to_params(&crate::network_sagas::RestartParams {
                        network_id: n.id,
                        cleanup,
                    })?,
                    event_type: EventType::NetworkRestart,
                    description: format!(
                        "Restarting network {}{}",
                        n.name,
                        if cleanup { " with cleanup" } else { "" }
                    ),
                    resource: Some(network_resource(&n)),
                },
            )
            .await?;
        tx.commit().await.map_err(db_err)?;
        self.jobs.wake();
        Ok(sub)
    }

    /// `deleteNetwork` (async). Refused while VMs use the network, unless forced.
    pub async fn network_delete(&self, caller: &Caller, uuid: &str, forced: bool) -> Result<Submitted, Error> {
        let mut tx = self.db.begin().await?;
        let n = self.network_get_for(&mut tx, caller, "id", uuid).await?;
        if forced && !caller.is_root_admin() {
            return Err(Error::denied("Only root administrators can force-delete a network"));
        }
        let users = self.network_user_vms(&mut tx, n.id).await?;
        if users > 0 && !forced {
            return Err(Error::in_use(format!(
                "Network {} is in use by {users} virtual machine(s); destroy or move them first, or pass forced=true",
                n.name
            )));
        }
        let sub = self
            .job_submit(
                &mut tx,
                caller,
                JobRequest {
                    kind: crate::saga::SagaKind::NetworkDelete.as_str(),
                    command: "deleteNetwork",
                    cmd_class: "org.apache.cloudstack.api.command.user.network.DeleteNetworkCmd",
                    instance: Some(("Network", n.uuid.clone())),
                    sync_key: format!("network:{}", n.uuid),
                    params: crate::saga::to_params(&crate::network_sagas::DeleteParams {
                        network_id: n.id,
                        forced,
                    })?,
                    event_type: EventType::NetworkDelete,
                    description: format!("Deleting network {}", n.name),
                    resource: Some(network_resource(&n)),
                },
            )
            .await?;
        tx.commit().await.map_err(db_err)?;
        self.jobs.wake();
        Ok(sub)
    }

    /// User VMs with a NIC on the network (routers don't count).
    pub async fn network_user_vms(&self, c: &mut Conn, network_id: i64) -> Result<i64, Error> {
        let ips = net_db::guest_ips_of_network(&mut *c, network_id).await?;
        Ok(ips.iter().filter(|g| g.owner_kind == "UserVm").count() as i64)
    }

    /// Move a network through its state machine (compare-and-set, so concurrent
    /// implementations don't both win).
    pub async fn network_transition(
        &self,
        c: &mut Conn,
        n: &Network,
        event: NetworkEvent,
    ) -> Result<NetworkState, Error> {
        let from = n.state;
        let to = network_transition(from, event)?;
        if !net_db::cas_state(&mut *c, n.id, from, to).await? {
            return Err(Error::ResourceUnavailable(format!(
                "Network {} changed state while being updated; retry the operation",
                n.name
            )));
        }
        Ok(to)
    }
}

/// The typed range of a stored range row.
pub fn range_of(r: &RangeRow) -> Option<IpRange> {
    IpRange::new(r.start_ip.parse().ok()?, r.end_ip.parse().ok()?).ok()
}
