//! createNetwork. `network_create` reads as the list of decisions it makes, in the order a
//! client sees their errors: the name, the zone and offering, whether this guest type may be
//! created here by this caller, the physical network, the owner and ACL, the VLAN, the IP
//! addressing and its range, then the rows and the event, all in one transaction.

use super::*;
use ferrostack_db::netoffering::NetworkOffering;
use ferrostack_db::physnet::PhysicalNetwork;
use ferrostack_db::zone::Zone;

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

/// Who owns the new network, and whether the account or its whole domain may use it.
struct Owner {
    account_id: i64,
    domain_id: i64,
    acl: &'static str,
}

/// The network's IP addressing: none for L2; CIDR, gateway and netmask for Isolated; those
/// plus the address range for Shared.
#[derive(Default)]
struct Addressing {
    cidr: Option<Cidr>,
    gateway: Option<Ipv4Addr>,
    netmask: Option<Ipv4Addr>,
    range: Option<IpRange>,
}

impl Addressing {
    /// The addressing the request asks for, checked for the offering's guest type.
    fn requested(guest_type: GuestType, p: &NetworkCreate, zone: &Zone) -> Result<Self, Error> {
        match guest_type {
            GuestType::L2 => Self::l2(p),
            GuestType::Shared => Self::shared(p),
            GuestType::Isolated => Self::isolated(p, zone),
        }
    }

    /// L2 networks take no addressing at all.
    fn l2(p: &NetworkCreate) -> Result<Self, Error> {
        if p.gateway.is_some() || p.netmask.is_some() || p.start_ip.is_some() {
            return Err(Error::invalid(
                "L2 networks have no IP addressing; leave out gateway, netmask, startip and endip",
            ));
        }
        Ok(Self::default())
    }

    /// Shared networks need gateway, netmask and a start address; the range ends at endip
    /// (or is the one start address) and must lie in the gateway's subnet.
    fn shared(p: &NetworkCreate) -> Result<Self, Error> {
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
        let range = ipam::validate_range(start, end, gw, mask)?;
        Ok(Self {
            cidr: Some(cidr),
            gateway: Some(gw),
            netmask: Some(mask),
            range: Some(range),
        })
    }

    /// Isolated networks take gateway and netmask together, or neither and get the zone's
    /// guest CIDR (else [`DEFAULT_GUEST_CIDR`]) with its first host as gateway.
    fn isolated(p: &NetworkCreate, zone: &Zone) -> Result<Self, Error> {
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
        Ok(Self {
            cidr: Some(cidr),
            gateway: Some(gw),
            netmask: Some(cidr.netmask()),
            range: None,
        })
    }

    /// The address range to record for the network, with its gateway and netmask.
    fn range_row(&self) -> Option<(IpRange, Ipv4Addr, Ipv4Addr)> {
        Some((self.range?, self.gateway?, self.netmask?))
    }
}

fn check_name(name: &str) -> Result<(), Error> {
    if name.trim().is_empty() {
        return Err(Error::invalid("The network name can't be empty"));
    }
    Ok(())
}

/// Edge zones take no Isolated networks; only domain admins and above create Shared ones.
fn check_guest_type_allowed(caller: &Caller, zone: &Zone, guest_type: GuestType) -> Result<(), Error> {
    match guest_type {
        GuestType::Isolated if zone.is_edge() => Err(Error::invalid(format!(
            "Zone {} is an edge zone: it supports only Shared and L2 guest networks; use a Shared or L2 network offering",
            zone.name
        ))),
        GuestType::Shared if !caller.role.is_domain_admin_or_above() => {
            Err(Error::denied("Only administrators can create shared networks"))
        }
        GuestType::Shared | GuestType::Isolated | GuestType::L2 => Ok(()),
    }
}

/// The ACL asked for (case-insensitive); by default Domain for a Shared network with no
/// account given, else Account. Domain is only for Shared networks.
fn acl_type(p: &NetworkCreate, guest_type: GuestType) -> Result<&'static str, Error> {
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
    Ok(acl)
}

/// A VLAN may be given only with a specifyvlan offering (or on L2) and must be free in the
/// zone; a specifyvlan offering requires one. Returns the network's broadcast URI.
async fn guest_vlan(
    c: &mut Conn,
    zone: &Zone,
    offering: &NetworkOffering,
    guest_type: GuestType,
    vlan: Option<&str>,
) -> Result<Option<String>, Error> {
    let Some(v) = vlan else {
        if offering.specify_vlan == 1 {
            return Err(Error::invalid(format!(
                "Network offering {} requires a vlan; give vlan=<id>",
                offering.name
            )));
        }
        return Ok(None);
    };
    if offering.specify_vlan == 0 && guest_type != GuestType::L2 {
        return Err(Error::invalid(format!(
            "Network offering {} does not let you specify a VLAN; use an offering with specifyvlan=true",
            offering.name
        )));
    }
    let uri = broadcast_uri(v)?;
    if net_db::vlan_in_use(c, zone.id, &uri).await? {
        return Err(Error::invalid(format!(
            "VLAN {v} is already used by another network in zone {}; choose another",
            zone.name
        )));
    }
    Ok(Some(uri))
}

/// A new address range must not overlap the ranges on the same VLAN of this zone.
async fn check_range_free(
    c: &mut Conn,
    zone_id: i64,
    broadcast: Option<&str>,
    addressing: &Addressing,
) -> Result<(), Error> {
    let Some((r, _, _)) = addressing.range_row() else {
        return Ok(());
    };
    let existing: Vec<IpRange> = net_db::ranges(c, zone_id, None)
        .await?
        .iter()
        .filter(|x| x.vlan.as_deref() == broadcast)
        .filter_map(|x| {
            IpRange::new(
                ipam::parse_ipv4("startip", &x.start_ip).ok()?,
                ipam::parse_ipv4("endip", &x.end_ip).ok()?,
            )
            .ok()
        })
        .collect();
    ipam::check_no_overlap(&r, &existing)
}

/// A Shared network starts in Setup; Isolated and L2 ones are Allocated until implemented.
fn initial_state(guest_type: GuestType) -> NetworkState {
    match guest_type {
        GuestType::Shared => NetworkState::Setup,
        GuestType::Isolated | GuestType::L2 => NetworkState::Allocated,
    }
}

/// Everything decided about the network before its rows are written.
struct Plan<'a> {
    p: &'a NetworkCreate,
    zone: &'a Zone,
    offering: &'a NetworkOffering,
    guest_type: GuestType,
    physnet: &'a PhysicalNetwork,
    owner: Owner,
    broadcast: Option<String>,
    addressing: Addressing,
}

/// Insert the network row, its own copy of the offering's service map and its address
/// range; returns the stored network.
async fn insert_network(
    c: &mut Conn,
    plan: &Plan<'_>,
    services: &BTreeMap<Service, Provider>,
) -> Result<Network, Error> {
    let Plan {
        p,
        zone,
        offering,
        guest_type,
        physnet,
        owner,
        broadcast,
        addressing,
    } = plan;
    let display = p.display_text.clone().unwrap_or_else(|| p.name.clone());
    // A network whose DNS a provider serves gets CloudStack's default domain when none is
    // given: "cs" + the owner's id in hex + guest.domain.suffix.
    let default_domain = services
        .contains_key(&Service::Dns)
        .then(|| format!("cs{:x}cloud.internal", owner.account_id));
    let network_domain = p.network_domain.clone().or(default_domain);
    let id = net_db::insert(
        &mut *c,
        net_db::NewNetwork {
            uuid: &new_uuid(),
            name: p.name.trim(),
            display_text: &display,
            zone_id: zone.id,
            physical_network_id: Some(physnet.id),
            network_offering_id: offering.id,
            guest_type: guest_type.as_str(),
            state: initial_state(*guest_type),
            acl_type: owner.acl,
            broadcast_uri: broadcast.as_deref(),
            cidr: addressing.cidr.map(|c| c.to_string()).as_deref(),
            gateway: addressing.gateway.map(|g| g.to_string()).as_deref(),
            netmask: addressing.netmask.map(|m| m.to_string()).as_deref(),
            network_domain: network_domain.as_deref(),
            dns1: Some(zone.dns1.as_str()),
            dns2: zone.dns2.as_deref(),
            account_id: owner.account_id,
            domain_id: owner.domain_id,
            now: now_ms(),
        },
    )
    .await?;
    for (s, prov) in services {
        net_db::insert_service(&mut *c, id, s.as_str(), prov.as_str()).await?;
    }
    if let Some((r, g, m)) = addressing.range_row() {
        net_db::insert_range(
            &mut *c,
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
    net_db::get(&mut *c, id)
        .await?
        .ok_or_else(|| Error::internal("network vanished"))
}

impl App {
    pub async fn network_create(&self, caller: &Caller, p: NetworkCreate) -> Result<Network, Error> {
        check_name(&p.name)?;
        let mut tx = self.db.begin().await?;
        let zone = self.zone_get_for(&mut tx, "zoneid", &p.zone_uuid).await?;
        let (offering, guest_type) = self.creatable_offering(&mut tx, &p.offering_uuid).await?;
        check_guest_type_allowed(caller, &zone, guest_type)?;
        let physnet = self.guest_physnet(&mut tx, &zone, p.physnet_uuid.as_deref()).await?;
        let owner = self.network_owner(&mut tx, caller, &p, guest_type).await?;
        let services = self.netoffering_services(&mut tx, offering.id).await?;
        let broadcast = guest_vlan(&mut tx, &zone, &offering, guest_type, p.vlan.as_deref()).await?;
        let addressing = Addressing::requested(guest_type, &p, &zone)?;
        check_range_free(&mut tx, zone.id, broadcast.as_deref(), &addressing).await?;
        let plan = Plan {
            p: &p,
            zone: &zone,
            offering: &offering,
            guest_type,
            physnet: &physnet,
            owner,
            broadcast,
            addressing,
        };
        let n = insert_network(&mut tx, &plan, &services).await?;
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

    /// The offering to create from: it must be Enabled, and its guest type known.
    async fn creatable_offering(&self, c: &mut Conn, uuid: &str) -> Result<(NetworkOffering, GuestType), Error> {
        let offering = self.netoffering_get(c, "networkofferingid", uuid).await?;
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
        Ok((offering, guest_type))
    }

    /// The zone's guest physical network; a `physicalnetworkid` given must name it.
    async fn guest_physnet(
        &self,
        c: &mut Conn,
        zone: &Zone,
        physnet_uuid: Option<&str>,
    ) -> Result<PhysicalNetwork, Error> {
        let physnet = self.physnet_for_zone(c, zone.id).await?;
        let physnet = match physnet_uuid {
            Some(u) => match physnet {
                Some(pn) if pn.uuid == u => Some(pn),
                Some(_) | None => return Err(Error::unknown_entity("physicalnetworkid", u)),
            },
            None => physnet,
        };
        physnet.ok_or_else(|| {
            Error::invalid(format!(
                "Zone {} has no physical network for guest traffic; create one with createPhysicalNetwork and addTrafficType traffictype=Guest",
                zone.name
            ))
        })
    }

    /// The owner: an account given by name (looked up in the given domain, else the
    /// caller's, and one the caller may act for), else the caller in the given domain.
    async fn network_owner(
        &self,
        c: &mut Conn,
        caller: &Caller,
        p: &NetworkCreate,
        guest_type: GuestType,
    ) -> Result<Owner, Error> {
        let domain = match &p.domain_uuid {
            Some(d) => Some(self.domain_for(c, caller, "domainid", d).await?),
            None => None,
        };
        let acl = acl_type(p, guest_type)?;
        match &p.account {
            Some(name) => {
                let d = domain.as_ref().map(|d| d.id()).unwrap_or(caller.domain_id);
                let a = ferrostack_db::account::by_name(c, d, name)
                    .await?
                    .ok_or_else(|| Error::invalid(format!("Unable to find account {name} in the given domain")))?;
                check_account(caller, &a)?;
                Ok(Owner {
                    account_id: a.id,
                    domain_id: a.domain_id,
                    acl,
                })
            }
            None => Ok(Owner {
                account_id: caller.account_id.0,
                domain_id: domain.map(|d| d.id).unwrap_or(caller.domain_id.0),
                acl,
            }),
        }
    }
}
