//! Network offerings: CloudStack's defaults seeded at first start (exact names and
//! service→provider maps from ferrostack-net), and admin-created offerings validated the way
//! CloudStack validates them: every provider supports the services it is given, each guest
//! type has only the services it can have.

use ferrostack_types::EventType;
use std::collections::{BTreeMap, BTreeSet};

use ferrostack_db::netoffering::{self as no_db, NetworkOffering, OfferingFilter, Scope};
use ferrostack_db::{db_err, Conn};
use ferrostack_net::{
    seeded_network_offerings, validate_service_providers, Availability, GuestType, Provider, Service, TrafficType,
};
use ferrostack_types::ids::new_uuid;
use ferrostack_types::state::NetworkOfferingState;
use ferrostack_types::time::now_ms;
use ferrostack_types::{Error, Page};

use crate::event::Resource;
use crate::{App, Caller};

/// An offering with what its answer shows: services (each with its providers), zones, domains.
#[derive(Debug, Clone)]
pub struct OfferingDetail {
    pub offering: NetworkOffering,
    pub services: Vec<(String, Vec<String>)>,
    pub zones: Vec<Scope>,
    pub domains: Vec<Scope>,
}

/// `createNetworkOffering` input. Maps come as (index-ordered) records.
#[derive(Debug, Default, Clone)]
pub struct OfferingCreate {
    pub name: String,
    pub display_text: Option<String>,
    pub guest_type: String,
    pub traffic_type: String,
    pub supported_services: Vec<String>,
    /// `serviceproviderlist[i]` records: (service, provider); either may be missing.
    pub service_providers: Vec<(Option<String>, Option<String>)>,
    /// `servicecapabilitylist[i]` records: (service, capabilitytype, capabilityvalue).
    pub capabilities: Vec<(Option<String>, Option<String>, Option<String>)>,
    pub specify_vlan: bool,
    pub specify_ip_ranges: Option<bool>,
    pub conserve_mode: Option<bool>,
    pub availability: Option<String>,
    pub is_persistent: bool,
    pub egress_default_policy: Option<bool>,
    pub network_rate: Option<i64>,
    pub tags: Option<String>,
    pub for_vpc: bool,
    pub zone_uuids: Vec<String>,
    pub domain_uuids: Vec<String>,
    pub enable: bool,
}

#[derive(Debug, Default, Clone)]
pub struct OfferingUpdate {
    pub name: Option<String>,
    pub display_text: Option<String>,
    pub state: Option<String>,
    pub availability: Option<String>,
    pub sort_key: Option<i64>,
    pub tags: Option<String>,
}

pub fn offering_resource(o: &NetworkOffering) -> Resource {
    Resource {
        kind: "NetworkOffering",
        uuid: o.uuid.clone(),
        name: o.name.clone(),
    }
}

/// The capability columns an offering's `servicecapabilitylist` sets.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Caps {
    source_nat_type: Option<&'static str>,
    redundant_router: bool,
    lb_isolation: &'static str,
    internal_lb: bool,
}

fn bool_value(service: Service, cap: &str, v: &str) -> Result<bool, Error> {
    if v.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if v.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err(Error::invalid(format!(
            "Invalid value {v} for capability {cap} of service {service}; use true or false"
        )))
    }
}

/// Apply `servicecapabilitylist` to the defaults, checking each capability belongs to a service
/// of the offering and has a value ferrostack supports.
fn parse_caps(
    records: &[(Option<String>, Option<String>, Option<String>)],
    services: &BTreeMap<Service, Vec<Provider>>,
) -> Result<Caps, Error> {
    let mut caps = Caps {
        source_nat_type: services.contains_key(&Service::SourceNat).then_some("peraccount"),
        redundant_router: false,
        lb_isolation: "dedicated",
        internal_lb: services
            .get(&Service::Lb)
            .is_some_and(|p| p.contains(&Provider::InternalLbVm)),
    };
    for rec in records {
        let (Some(s), Some(cap), Some(v)) = rec else {
            return Err(Error::invalid(
                "Each servicecapabilitylist entry needs service, capabilitytype and capabilityvalue",
            ));
        };
        let service = Service::parse_param("servicecapabilitylist", s)?;
        if !services.contains_key(&service) {
            return Err(Error::invalid(format!(
                "Capability {cap} is for service {service}, which the offering does not have; add {service} to supportedservices"
            )));
        }
        let lc = cap.to_ascii_lowercase();
        match (service, lc.as_str()) {
            (Service::SourceNat, "supportedsourcenattypes") => {
                caps.source_nat_type = Some(if v.eq_ignore_ascii_case("peraccount") {
                    "peraccount"
                } else if v.eq_ignore_ascii_case("perzone") {
                    "perzone"
                } else {
                    return Err(Error::invalid(format!(
                        "Invalid SupportedSourceNatTypes {v}; use peraccount or perzone"
                    )));
                })
            }
            (Service::SourceNat | Service::Gateway, "redundantrouter") => {
                caps.redundant_router = bool_value(service, cap, v)?
            }
            (Service::Lb, "supportedlbisolation") => {
                caps.lb_isolation = if v.eq_ignore_ascii_case("dedicated") {
                    "dedicated"
                } else if v.eq_ignore_ascii_case("shared") {
                    "shared"
                } else {
                    return Err(Error::invalid(format!(
                        "Invalid SupportedLBIsolation {v}; use dedicated or shared"
                    )));
                }
            }
            (Service::Lb, "lbschemes") => {
                caps.internal_lb = if v.eq_ignore_ascii_case("internal") {
                    true
                } else if v.eq_ignore_ascii_case("public") {
                    false
                } else {
                    return Err(Error::invalid(format!("Invalid LbSchemes {v}; use Public or Internal")));
                }
            }
            (Service::Lb, "elasticlb") | (Service::StaticNat, "elasticip") | (Service::StaticNat, "associatepublicip") => {
                if bool_value(service, cap, v)? {
                    return Err(Error::invalid(format!(
                        "Capability {cap}=true needs an elastic IP/LB provider (Netscaler), which this server does not have; leave it false"
                    )));
                }
            }
            _ => {
                return Err(Error::invalid(format!(
                    "Capability {cap} is not supported for service {service}; supported: SourceNat SupportedSourceNatTypes \
                     and RedundantRouter, Gateway RedundantRouter, Lb SupportedLBIsolation, LbSchemes and ElasticLb, \
                     StaticNat ElasticIp and AssociatePublicIP"
                )))
            }
        }
    }
    Ok(caps)
}

/// Resolve supported services and their providers, defaulting providers as CloudStack does
/// (SecurityGroup → SecurityGroupProvider, UserData of L2 → ConfigDrive, the rest → the
/// virtual router of the offering's kind), then check CloudStack's rules per guest type.
fn resolve_services(p: &OfferingCreate, guest: GuestType) -> Result<BTreeMap<Service, Vec<Provider>>, Error> {
    let mut supported: BTreeSet<Service> = BTreeSet::new();
    for s in p.supported_services.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        supported.insert(Service::parse_param("supportedservices", s)?);
    }
    let mut map: BTreeMap<Service, Vec<Provider>> = BTreeMap::new();
    for rec in &p.service_providers {
        let (Some(s), Some(pr)) = rec else {
            return Err(Error::invalid(
                "Each serviceproviderlist entry needs service and provider, e.g. \
                 serviceproviderlist[0].service=Dhcp&serviceproviderlist[0].provider=VirtualRouter",
            ));
        };
        let service = Service::parse_param("serviceproviderlist", s)?;
        let provider = Provider::parse_param("serviceproviderlist", pr)?;
        if !supported.contains(&service) {
            return Err(Error::invalid(format!(
                "Service {service} has provider {provider} in serviceproviderlist but is not in supportedservices; add it there or remove its provider"
            )));
        }
        let single = std::iter::once((service, provider)).collect();
        validate_service_providers(&single)?;
        let e = map.entry(service).or_default();
        if !e.contains(&provider) {
            e.push(provider);
        }
    }
    let router = if p.for_vpc {
        Provider::VpcVirtualRouter
    } else {
        Provider::VirtualRouter
    };
    for s in &supported {
        if !map.contains_key(s) {
            let default = match (s, guest) {
                (Service::SecurityGroup, _) => Provider::SecurityGroupProvider,
                (Service::UserData, GuestType::L2) => Provider::ConfigDrive,
                _ => router,
            };
            let single = std::iter::once((*s, default)).collect();
            validate_service_providers(&single).map_err(|e| {
                Error::invalid(format!(
                    "Service {s} has no provider in serviceproviderlist and its default provider can't serve it: {e}"
                ))
            })?;
            map.insert(*s, vec![default]);
        }
    }
    check_guest_rules(&map, guest, p.for_vpc)?;
    Ok(map)
}

fn check_guest_rules(map: &BTreeMap<Service, Vec<Provider>>, guest: GuestType, for_vpc: bool) -> Result<(), Error> {
    for (s, providers) in map {
        for pr in providers {
            if *pr == Provider::VirtualRouter && for_vpc {
                return Err(Error::invalid(format!(
                    "VPC offerings use provider VpcVirtualRouter, not VirtualRouter; change the provider of {s}"
                )));
            }
            if matches!(pr, Provider::VpcVirtualRouter | Provider::InternalLbVm) && !for_vpc {
                return Err(Error::invalid(format!(
                    "Provider {pr} serves only VPC tiers; use VirtualRouter for {s} or pass forvpc=true"
                )));
            }
        }
        match (s, guest) {
            (Service::UserData, GuestType::L2) if providers.iter().all(|p| *p == Provider::ConfigDrive) => {}
            (_, GuestType::L2) => {
                return Err(Error::invalid(format!(
                    "L2 network offerings can only have the UserData service provided by ConfigDrive; remove {s} (or its provider {})",
                    providers.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(",")
                )))
            }
            (Service::SecurityGroup, GuestType::Isolated) => {
                return Err(Error::invalid(
                    "The SecurityGroup service is supported only by Shared network offerings",
                ))
            }
            (Service::NetworkAcl, _) if !for_vpc => {
                return Err(Error::invalid(
                    "The NetworkACL service is only for VPC offerings; pass forvpc=true or use Firewall",
                ))
            }
            _ => {}
        }
    }
    Ok(())
}

impl App {
    /// A live network offering by uuid (system offerings included).
    pub async fn netoffering_get(&self, c: &mut Conn, param: &str, uuid: &str) -> Result<NetworkOffering, Error> {
        no_db::by_uuid(&mut *c, uuid)
            .await?
            .ok_or_else(|| Error::unknown_entity(param, uuid))
    }

    /// The offering's service→provider map (the first provider when a service has several).
    pub async fn netoffering_services(
        &self,
        c: &mut Conn,
        offering_id: i64,
    ) -> Result<BTreeMap<Service, Provider>, Error> {
        let mut out = BTreeMap::new();
        for r in no_db::services_of(c, &[offering_id]).await? {
            let (Some(s), Some(p)) = (Service::parse(&r.service), Provider::parse(&r.provider)) else {
                tracing::warn!(offering = offering_id, service = %r.service, provider = %r.provider, "unknown service or provider in offering");
                continue;
            };
            out.entry(s).or_insert(p);
        }
        Ok(out)
    }

    /// Load services, zones and domains of offerings in three queries.
    async fn netoffering_details(
        &self,
        c: &mut Conn,
        rows: Vec<NetworkOffering>,
    ) -> Result<Vec<OfferingDetail>, Error> {
        let ids: Vec<i64> = rows.iter().map(|o| o.id).collect();
        let services = no_db::services_of(c, &ids).await?;
        let zones = no_db::zones_of(c, &ids).await?;
        let domains = no_db::domains_of(c, &ids).await?;
        Ok(rows
            .into_iter()
            .map(|o| {
                let mut svc: Vec<(String, Vec<String>)> = Vec::new();
                for r in services.iter().filter(|r| r.offering_id == o.id) {
                    match svc.iter_mut().find(|(s, _)| *s == r.service) {
                        Some((_, ps)) => ps.push(r.provider.clone()),
                        None => svc.push((r.service.clone(), vec![r.provider.clone()])),
                    }
                }
                // Answer services in CloudStack's Service order.
                svc.sort_by_key(|(s, _)| Service::parse(s).map_or(usize::MAX, |s| s as usize));
                OfferingDetail {
                    services: svc,
                    zones: zones.iter().filter(|z| z.offering_id == o.id).cloned().collect(),
                    domains: domains.iter().filter(|d| d.offering_id == o.id).cloned().collect(),
                    offering: o,
                }
            })
            .collect())
    }

    pub async fn netoffering_detail(&self, uuid: &str) -> Result<Option<OfferingDetail>, Error> {
        let mut c = self.db.conn().await?;
        let Some(o) = no_db::by_uuid(&mut *c, uuid).await? else {
            return Ok(None);
        };
        Ok(self.netoffering_details(&mut c, vec![o]).await?.pop())
    }

    /// `listNetworkOfferings`: users see Enabled offerings open to their domain.
    pub async fn netoffering_list(
        &self,
        caller: &Caller,
        mut f: OfferingFilter,
        id: Option<&str>,
        zone: Option<&str>,
        page: Page,
    ) -> Result<(i64, Vec<OfferingDetail>), Error> {
        let mut c = self.db.conn().await?;
        if let Some(u) = id {
            f.id = Some(self.netoffering_get(&mut c, "id", u).await?.id);
        }
        if let Some(u) = zone {
            f.zone_id = Some(self.zone_get_for(&mut c, "zoneid", u).await?.id);
        }
        for s in &f.services {
            Service::parse_param("supportedservices", s)?;
        }
        if !caller.is_root_admin() {
            f.state = Some(NetworkOfferingState::Enabled);
            f.visible_from = Some(caller.domain_path.clone());
        }
        let (total, rows) = no_db::list(&mut c, &f, page).await?;
        Ok((total, self.netoffering_details(&mut c, rows).await?))
    }

    /// `createNetworkOffering`.
    pub async fn netoffering_create(&self, caller: &Caller, p: OfferingCreate) -> Result<OfferingDetail, Error> {
        let name = p.name.trim();
        if name.is_empty() {
            return Err(Error::invalid("The network offering name can't be empty"));
        }
        let traffic = TrafficType::parse_param("traffictype", &p.traffic_type)?;
        if traffic != TrafficType::Guest {
            return Err(Error::invalid(format!(
                "Only traffic type Guest is supported for network offerings you create; got {traffic}"
            )));
        }
        let guest = GuestType::parse_param("guestiptype", &p.guest_type)?;
        let services = resolve_services(&p, guest)?;
        let caps = parse_caps(&p.capabilities, &services)?;
        let has = |s: Service| services.contains_key(&s);
        if p.for_vpc && guest != GuestType::Isolated {
            return Err(Error::invalid("forvpc=true is only for Isolated network offerings"));
        }
        let specify_ip_ranges =
            match (guest, p.specify_ip_ranges) {
                (GuestType::Shared, Some(false)) => return Err(Error::invalid(
                    "specifyipranges must be true for Shared network offerings (their IP ranges come from the network)",
                )),
                (GuestType::Shared, _) => true,
                (GuestType::L2, Some(true)) => {
                    return Err(Error::invalid(
                        "L2 network offerings have no IP ranges; leave specifyipranges false",
                    ))
                }
                (GuestType::Isolated, Some(true)) if has(Service::SourceNat) => return Err(Error::invalid(
                    "specifyipranges can be true only for Shared offerings and Isolated offerings without SourceNat",
                )),
                (GuestType::Isolated | GuestType::L2, v) => v.unwrap_or(false),
            };
        let availability = match &p.availability {
            Some(a) => Availability::parse_param("availability", a)?,
            None => Availability::Optional,
        };
        if availability == Availability::Required && !(guest == GuestType::Isolated && has(Service::SourceNat)) {
            return Err(Error::invalid(
                "availability=Required is only for Isolated network offerings with the SourceNat service",
            ));
        }
        let mut tx = self.db.begin().await?;
        let mut zone_ids = Vec::new();
        for u in &p.zone_uuids {
            zone_ids.push(self.zone_get_for(&mut tx, "zoneid", u).await?.id);
        }
        let mut domain_ids = Vec::new();
        for u in &p.domain_uuids {
            domain_ids.push(self.domain_for(&mut tx, caller, "domainid", u).await?.id);
        }
        let uuid = new_uuid();
        let id = no_db::insert(
            &mut tx,
            no_db::NewNetworkOffering {
                uuid: &uuid,
                name,
                unique_name: None,
                display_text: p
                    .display_text
                    .as_deref()
                    .filter(|d| !d.trim().is_empty())
                    .unwrap_or(name),
                traffic_type: traffic.as_str(),
                guest_type: Some(guest.as_str()),
                state: if p.enable {
                    NetworkOfferingState::Enabled
                } else {
                    NetworkOfferingState::Disabled
                },
                is_default: false,
                system_only: false,
                specify_vlan: p.specify_vlan,
                specify_ip_ranges,
                conserve_mode: p.conserve_mode.unwrap_or(true),
                availability: availability.as_str(),
                is_persistent: p.is_persistent,
                for_vpc: p.for_vpc,
                egress_default_policy: p.egress_default_policy.unwrap_or(true),
                network_rate: p.network_rate,
                tags: p.tags.as_deref(),
                source_nat_type: caps.source_nat_type,
                redundant_router: caps.redundant_router,
                elastic_ip: false,
                associate_public_ip: false,
                elastic_lb: false,
                lb_isolation: caps.lb_isolation,
                internal_lb: caps.internal_lb,
                public_lb: has(Service::Lb) && !caps.internal_lb,
                supports_vm_autoscaling: false,
                now: now_ms(),
            },
        )
        .await?;
        for (s, providers) in &services {
            for pr in providers {
                no_db::insert_service(&mut tx, id, s.as_str(), pr.as_str()).await?;
            }
        }
        for z in zone_ids {
            no_db::insert_zone(&mut tx, id, z).await?;
        }
        for d in domain_ids {
            no_db::insert_domain(&mut tx, id, d).await?;
        }
        let o = no_db::get(&mut *tx, id)
            .await?
            .ok_or_else(|| Error::internal("network offering vanished"))?;
        self.event_done(
            &mut tx,
            caller,
            EventType::NetworkOfferingCreate,
            format!("Created {guest} network offering {}", o.name),
            Some(&offering_resource(&o)),
        )
        .await?;
        let detail = self.netoffering_details(&mut tx, vec![o]).await?.pop();
        tx.commit().await.map_err(db_err)?;
        detail.ok_or_else(|| Error::internal("network offering vanished"))
    }

    /// `updateNetworkOffering` by id or name.
    pub async fn netoffering_update(
        &self,
        caller: &Caller,
        uuid: Option<&str>,
        by_name: Option<&str>,
        u: OfferingUpdate,
    ) -> Result<OfferingDetail, Error> {
        let state = u
            .state
            .as_deref()
            .map(|s| {
                crate::zone::allocation_state(s)
                    .map_err(|_| Error::invalid(format!("Invalid state {s}; use Enabled or Disabled")))
            })
            .transpose()?;
        let availability = u
            .availability
            .as_deref()
            .map(|a| Availability::parse_param("availability", a))
            .transpose()?;
        if let Some(n) = &u.name {
            if n.trim().is_empty() {
                return Err(Error::invalid("The network offering name can't be empty"));
            }
        }
        let mut tx = self.db.begin().await?;
        let o = match (uuid, by_name) {
            (Some(id), _) => self.netoffering_get(&mut tx, "id", id).await?,
            (None, Some(n)) => no_db::by_name(&mut *tx, n)
                .await?
                .ok_or_else(|| Error::invalid(format!("No network offering is named {n}")))?,
            (None, None) => return Err(Error::invalid("Give the network offering's id (or its name)")),
        };
        if o.system_only == 1 {
            return Err(Error::invalid(format!(
                "{} is a system network offering; it can't be updated",
                o.name
            )));
        }
        if availability == Some(Availability::Required) {
            let services = self.netoffering_services(&mut tx, o.id).await?;
            if o.guest_type != "Isolated" || !services.contains_key(&Service::SourceNat) {
                return Err(Error::invalid(
                    "availability=Required is only for Isolated network offerings with the SourceNat service",
                ));
            }
        }
        no_db::update(
            &mut tx,
            o.id,
            &[
                ("name", u.name.as_ref().map(|n| n.trim().to_string())),
                ("display_text", u.display_text.clone()),
                ("state", state.map(|s| s.as_str().to_string())),
                ("availability", availability.map(|a| a.as_str().to_string())),
                ("tags", u.tags.clone()),
            ],
            u.sort_key,
        )
        .await?;
        let o = no_db::get(&mut *tx, o.id)
            .await?
            .ok_or_else(|| Error::internal("network offering vanished"))?;
        self.event_done(
            &mut tx,
            caller,
            EventType::NetworkOfferingEdit,
            format!("Updated network offering {}", o.name),
            Some(&offering_resource(&o)),
        )
        .await?;
        let detail = self.netoffering_details(&mut tx, vec![o]).await?.pop();
        tx.commit().await.map_err(db_err)?;
        detail.ok_or_else(|| Error::internal("network offering vanished"))
    }

    /// `deleteNetworkOffering`: default offerings can't go; in-use ones wait for their networks.
    pub async fn netoffering_delete(&self, caller: &Caller, uuid: &str) -> Result<(), Error> {
        let mut tx = self.db.begin().await?;
        let o = self.netoffering_get(&mut tx, "id", uuid).await?;
        if o.is_default == 1 {
            return Err(Error::invalid(format!(
                "Default network offering {} can't be deleted; disable it with updateNetworkOffering state=Disabled instead",
                o.name
            )));
        }
        let n = no_db::netoffering_in_use(&mut tx, o.id).await?;
        if n > 0 {
            return Err(Error::in_use(format!(
                "The network offering {} is not deletable because {n} network(s) use it; delete them first (deleteNetwork)",
                o.name
            )));
        }
        ferrostack_db::tag::forget(&mut tx, ferrostack_db::tag::ResourceType::NetworkOffering, &[o.id]).await?;
        ferrostack_db::zone::mark_removed(&mut tx, "network_offering", o.id, now_ms()).await?;
        self.event_done(
            &mut tx,
            caller,
            EventType::NetworkOfferingDelete,
            format!("Deleted network offering {}", o.name),
            Some(&offering_resource(&o)),
        )
        .await?;
        tx.commit().await.map_err(db_err)
    }
}

/// Seed CloudStack's default network offerings (first start; idempotent).
pub async fn seed(c: &mut Conn) -> Result<(), Error> {
    if no_db::any_default(c).await? {
        return Ok(());
    }
    let now = now_ms();
    for o in seeded_network_offerings() {
        let id = no_db::insert(
            c,
            no_db::NewNetworkOffering {
                uuid: &new_uuid(),
                name: o.name,
                unique_name: Some(o.name),
                display_text: o.display_text,
                traffic_type: o.traffic_type.as_str(),
                guest_type: o.guest_type.map(|g| g.as_str()),
                state: NetworkOfferingState::Enabled,
                is_default: true,
                system_only: o.system_only,
                specify_vlan: o.specify_vlan,
                specify_ip_ranges: o.specify_ip_ranges,
                conserve_mode: o.conserve_mode,
                availability: o.availability.as_str(),
                is_persistent: o.persistent,
                for_vpc: o.for_vpc,
                egress_default_policy: o.egress_default_policy,
                network_rate: None,
                tags: None,
                source_nat_type: o.source_nat_type.map(|t| t.as_str()),
                redundant_router: false,
                elastic_ip: false,
                associate_public_ip: false,
                elastic_lb: false,
                lb_isolation: "dedicated",
                internal_lb: o.internal_lb,
                public_lb: o.public_lb,
                supports_vm_autoscaling: o.supports_vm_autoscaling,
                now,
            },
        )
        .await?;
        for (s, p) in &o.services {
            no_db::insert_service(c, id, s.as_str(), p.as_str()).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create(guest: &str, services: &str, pairs: &[(&str, &str)]) -> OfferingCreate {
        OfferingCreate {
            name: "t".into(),
            guest_type: guest.into(),
            traffic_type: "GUEST".into(),
            supported_services: services.split(',').map(str::to_string).collect(),
            service_providers: pairs
                .iter()
                .map(|(s, p)| (Some(s.to_string()), Some(p.to_string())))
                .collect(),
            ..OfferingCreate::default()
        }
    }

    fn resolve(guest: GuestType, c: &OfferingCreate) -> Result<Vec<(&'static str, &'static str)>, Error> {
        Ok(resolve_services(c, guest)?
            .into_iter()
            .map(|(s, p)| (s.as_str(), p[0].as_str()))
            .collect())
    }

    #[test]
    fn providers_default_and_validate() {
        let c = create("Shared", "Dhcp,Dns,UserData", &[("UserData", "ConfigDrive")]);
        assert_eq!(
            resolve(GuestType::Shared, &c).unwrap(),
            [
                ("Dhcp", "VirtualRouter"),
                ("Dns", "VirtualRouter"),
                ("UserData", "ConfigDrive")
            ]
        );
        let bad = create("Isolated", "SourceNat", &[("SourceNat", "ConfigDrive")]);
        let e = resolve(GuestType::Isolated, &bad).unwrap_err().to_string();
        assert!(e.contains("ConfigDrive supports: Dhcp, Dns, UserData"), "{e}");
        let unknown = create("Shared", "Dhcp", &[("Dhcp", "Netscaler")]);
        let e = resolve(GuestType::Shared, &unknown).unwrap_err().to_string();
        assert!(e.contains("VirtualRouter") && e.contains("ConfigDrive"), "{e}");
        let not_listed = create("Shared", "Dns", &[("Dhcp", "VirtualRouter")]);
        assert!(resolve(GuestType::Shared, &not_listed).is_err());
    }

    #[test]
    fn guest_type_rules() {
        let l2 = create("L2", "UserData", &[]);
        assert_eq!(resolve(GuestType::L2, &l2).unwrap(), [("UserData", "ConfigDrive")]);
        assert!(resolve(GuestType::L2, &create("L2", "Dhcp", &[])).is_err());
        assert!(resolve(GuestType::Isolated, &create("Isolated", "SecurityGroup", &[])).is_err());
        assert!(resolve(GuestType::Isolated, &create("Isolated", "NetworkACL", &[])).is_err());
        assert!(resolve(
            GuestType::Isolated,
            &create("Isolated", "Dhcp", &[("Dhcp", "VpcVirtualRouter")])
        )
        .is_err());
        let mut vpc = create("Isolated", "Dhcp,NetworkACL", &[]);
        vpc.for_vpc = true;
        assert_eq!(
            resolve(GuestType::Isolated, &vpc).unwrap(),
            [("Dhcp", "VpcVirtualRouter"), ("NetworkACL", "VpcVirtualRouter")]
        );
    }

    #[test]
    fn capabilities() {
        let c = create("Isolated", "SourceNat,Lb", &[]);
        let services = resolve_services(&c, GuestType::Isolated).unwrap();
        let rec = |s: &str, t: &str, v: &str| (Some(s.to_string()), Some(t.to_string()), Some(v.to_string()));
        let caps = parse_caps(&[rec("SourceNat", "SupportedSourceNatTypes", "perzone")], &services).unwrap();
        assert_eq!(caps.source_nat_type, Some("perzone"));
        assert!(parse_caps(&[rec("Dhcp", "RedundantRouter", "true")], &services).is_err());
        assert!(parse_caps(&[rec("Lb", "ElasticLb", "true")], &services).is_err());
        assert!(parse_caps(&[rec("SourceNat", "Bogus", "x")], &services).is_err());
    }
}
