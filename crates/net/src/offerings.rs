//! CloudStack's default network offerings, as seeded by
//! `ConfigurationServerImpl.createDefaultNetworkOfferings` and
//! `NetworkOfferingDaoImpl.persistDefaultL2NetworkOfferings`: exact names (also the unique
//! names), display texts, flags (from the `NetworkOfferingVO` constructor arguments) and
//! service→provider maps.
//!
//! Seeded here, in CloudStack's id order: the six system offerings, the two shared and two
//! isolated guest offerings, the three VPC tier offerings and the four L2 offerings.
//! Not seeded, because their providers have no element in this server:
//! `DefaultSharedNetscalerEIPandELBNetworkOffering` (Netscaler),
//! `DefaultTungstenSharedNetworkOfferingWithSGService` (Tungsten) and the five NSX offerings.

use std::collections::BTreeMap;

use ferrostack_types::cloudstack_enum;

use crate::model::{GuestType, Provider, Service, TrafficType};

cloudstack_enum! {
    /// CloudStack's `NetworkOffering.Availability`.
    pub enum Availability {
        Required => "Required",
        Optional => "Optional",
    }
}

cloudstack_enum! {
    /// The `SupportedSourceNatTypes` capability of an offering's SourceNat service:
    /// one source NAT IP per account (`sharedSourceNat = false`) or per zone.
    pub enum SourceNatType {
        PerAccount => "peraccount",
        PerZone => "perzone",
    }
}

/// One default network offering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferingSeed {
    /// `name` and `unique_name`.
    pub name: &'static str,
    pub display_text: &'static str,
    pub traffic_type: TrafficType,
    /// `None` for the four system traffic offerings (Public, Management, Control, Storage).
    pub guest_type: Option<GuestType>,
    /// Hidden from `listNetworkOfferings`; used only for system networks.
    pub system_only: bool,
    pub specify_vlan: bool,
    pub specify_ip_ranges: bool,
    pub availability: Availability,
    pub conserve_mode: bool,
    pub persistent: bool,
    pub for_vpc: bool,
    pub internal_lb: bool,
    pub public_lb: bool,
    pub egress_default_policy: bool,
    pub supports_vm_autoscaling: bool,
    /// `Some` exactly when the offering has the SourceNat service.
    pub source_nat_type: Option<SourceNatType>,
    /// All seeds are `default = true` and in state `Enabled`.
    pub services: BTreeMap<Service, Provider>,
}

impl OfferingSeed {
    /// A guest offering with CloudStack's constructor defaults (no services, not for VPC).
    fn guest(name: &'static str, display_text: &'static str, guest_type: GuestType) -> Self {
        OfferingSeed {
            name,
            display_text,
            traffic_type: TrafficType::Guest,
            guest_type: Some(guest_type),
            system_only: false,
            specify_vlan: false,
            specify_ip_ranges: false,
            availability: Availability::Optional,
            conserve_mode: true,
            persistent: false,
            for_vpc: false,
            internal_lb: false,
            public_lb: false,
            egress_default_policy: false,
            supports_vm_autoscaling: false,
            source_nat_type: None,
            services: BTreeMap::new(),
        }
    }

    /// `NetworkOfferingVO(name, trafficType, specifyIpRanges)`: a system traffic offering.
    fn system_traffic(name: &'static str, display_text: &'static str, traffic: TrafficType, ip_ranges: bool) -> Self {
        OfferingSeed {
            traffic_type: traffic,
            guest_type: None,
            system_only: true,
            specify_ip_ranges: ip_ranges,
            availability: Availability::Required,
            ..Self::guest(name, display_text, GuestType::Isolated)
        }
    }

    /// `NetworkOfferingVO(name, guestType, specifyVlan)`: a private gateway offering.
    fn private_gateway(name: &'static str, display_text: &'static str, specify_vlan: bool) -> Self {
        OfferingSeed {
            system_only: true,
            specify_vlan,
            ..Self::guest(name, display_text, GuestType::Isolated)
        }
    }

    fn with(mut self, provider: Provider, services: &[Service]) -> Self {
        for &s in services {
            self.services.insert(s, provider);
        }
        if self.services.contains_key(&Service::SourceNat) {
            self.source_nat_type = Some(SourceNatType::PerAccount);
        }
        self
    }

    /// The offering's services, in [`Service`] order.
    pub fn service_list(&self) -> Vec<Service> {
        self.services.keys().copied().collect()
    }
}

/// CloudStack's default network offerings, in CloudStack's creation (id) order.
pub fn seeded_network_offerings() -> Vec<OfferingSeed> {
    use GuestType::{Isolated, Shared, L2};
    use Provider::{ConfigDrive, InternalLbVm, SecurityGroupProvider, VirtualRouter, VpcVirtualRouter};
    use Service::*;

    let basic = [Dhcp, Dns, UserData];
    let isolated_sourcenat = [
        Dhcp,
        Dns,
        UserData,
        Firewall,
        Gateway,
        Lb,
        SourceNat,
        StaticNat,
        PortForwarding,
        Vpn,
    ];
    let vpc = [
        Dhcp,
        Dns,
        UserData,
        NetworkAcl,
        Gateway,
        Lb,
        SourceNat,
        StaticNat,
        PortForwarding,
        Vpn,
    ];
    let vpc_no_lb = [
        Dhcp,
        Dns,
        UserData,
        NetworkAcl,
        Gateway,
        SourceNat,
        StaticNat,
        PortForwarding,
        Vpn,
    ];
    let vpc_internal_lb = [Dhcp, Dns, UserData, NetworkAcl, Gateway, SourceNat];

    let shared = |name, text| OfferingSeed {
        specify_vlan: true,
        specify_ip_ranges: true,
        ..OfferingSeed::guest(name, text, Shared)
    };
    let vpc_tier = |name, text| OfferingSeed {
        conserve_mode: false,
        for_vpc: true,
        ..OfferingSeed::guest(name, text, Isolated)
    };
    let l2 = |name, text, specify_vlan| OfferingSeed {
        specify_vlan,
        ..OfferingSeed::guest(name, text, L2)
    };

    vec![
        OfferingSeed::system_traffic(
            "System-Public-Network",
            "System Offering for System-Public-Network",
            TrafficType::Public,
            true,
        ),
        OfferingSeed::system_traffic(
            "System-Management-Network",
            "System Offering for System-Management-Network",
            TrafficType::Management,
            false,
        ),
        OfferingSeed::system_traffic(
            "System-Control-Network",
            "System Offering for System-Control-Network",
            TrafficType::Control,
            false,
        ),
        OfferingSeed::system_traffic(
            "System-Storage-Network",
            "System Offering for System-Storage-Network",
            TrafficType::Storage,
            true,
        ),
        OfferingSeed::private_gateway(
            "System-Private-Gateway-Network-Offering",
            "System Offering for System-Private-Gateway-Network-Offering",
            true,
        ),
        OfferingSeed::private_gateway(
            "System-Private-Gateway-Network-Offering-Without-Vlan",
            "System Offering for System-Private-Gateway-Network-Offering-Without-Vlan",
            false,
        ),
        shared(
            "DefaultSharedNetworkOfferingWithSGService",
            "Offering for Shared Security group enabled networks",
        )
        .with(VirtualRouter, &basic)
        .with(SecurityGroupProvider, &[SecurityGroup]),
        shared("DefaultSharedNetworkOffering", "Offering for Shared networks").with(VirtualRouter, &basic),
        OfferingSeed {
            availability: Availability::Required,
            public_lb: true,
            supports_vm_autoscaling: true,
            ..OfferingSeed::guest(
                "DefaultIsolatedNetworkOfferingWithSourceNatService",
                "Offering for Isolated networks with Source Nat service enabled",
                Isolated,
            )
        }
        .with(VirtualRouter, &isolated_sourcenat),
        OfferingSeed {
            specify_vlan: true,
            specify_ip_ranges: true,
            ..OfferingSeed::guest(
                "DefaultIsolatedNetworkOffering",
                "Offering for Isolated networks with no Source Nat service",
                Isolated,
            )
        }
        .with(VirtualRouter, &basic),
        OfferingSeed {
            public_lb: true,
            supports_vm_autoscaling: true,
            ..vpc_tier(
                "DefaultIsolatedNetworkOfferingForVpcNetworks",
                "Offering for Isolated Vpc networks with Source Nat service enabled",
            )
        }
        .with(VpcVirtualRouter, &vpc),
        vpc_tier(
            "DefaultIsolatedNetworkOfferingForVpcNetworksNoLB",
            "Offering for Isolated Vpc networks with Source Nat service enabled and LB service Disabled",
        )
        .with(VpcVirtualRouter, &vpc_no_lb),
        OfferingSeed {
            internal_lb: true,
            ..vpc_tier(
                "DefaultIsolatedNetworkOfferingForVpcNetworksWithInternalLB",
                "Offering for Isolated Vpc networks with Internal LB support",
            )
        }
        .with(VpcVirtualRouter, &vpc_internal_lb)
        .with(InternalLbVm, &[Lb]),
        l2("DefaultL2NetworkOffering", "Offering for L2 networks", false),
        l2("DefaultL2NetworkOfferingVlan", "Offering for L2 networks VLAN", true),
        l2(
            "DefaultL2NetworkOfferingConfigDrive",
            "Offering for L2 networks with config drive user data",
            false,
        )
        .with(ConfigDrive, &[UserData]),
        l2(
            "DefaultL2NetworkOfferingConfigDriveVlan",
            "Offering for L2 networks with config drive user data VLAN",
            true,
        )
        .with(ConfigDrive, &[UserData]),
    ]
}

/// The seeded offering called `name`, if any.
pub fn seeded_offering(name: &str) -> Option<OfferingSeed> {
    seeded_network_offerings().into_iter().find(|o| o.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::validate_service_providers;

    fn services(o: &OfferingSeed) -> Vec<(&'static str, &'static str)> {
        o.services.iter().map(|(s, p)| (s.as_str(), p.as_str())).collect()
    }

    fn get(name: &str) -> OfferingSeed {
        seeded_offering(name).unwrap_or_else(|| panic!("{name} is seeded"))
    }

    #[test]
    fn names_are_cloudstacks_in_id_order_and_unique() {
        let names: Vec<_> = seeded_network_offerings().iter().map(|o| o.name).collect();
        assert_eq!(
            names,
            [
                "System-Public-Network",
                "System-Management-Network",
                "System-Control-Network",
                "System-Storage-Network",
                "System-Private-Gateway-Network-Offering",
                "System-Private-Gateway-Network-Offering-Without-Vlan",
                "DefaultSharedNetworkOfferingWithSGService",
                "DefaultSharedNetworkOffering",
                "DefaultIsolatedNetworkOfferingWithSourceNatService",
                "DefaultIsolatedNetworkOffering",
                "DefaultIsolatedNetworkOfferingForVpcNetworks",
                "DefaultIsolatedNetworkOfferingForVpcNetworksNoLB",
                "DefaultIsolatedNetworkOfferingForVpcNetworksWithInternalLB",
                "DefaultL2NetworkOffering",
                "DefaultL2NetworkOfferingVlan",
                "DefaultL2NetworkOfferingConfigDrive",
                "DefaultL2NetworkOfferingConfigDriveVlan",
            ]
        );
    }

    #[test]
    fn every_seed_passes_provider_validation() {
        for o in seeded_network_offerings() {
            assert_eq!(validate_service_providers(&o.services), Ok(()), "{}", o.name);
            assert_eq!(
                o.source_nat_type.is_some(),
                o.services.contains_key(&Service::SourceNat),
                "{}",
                o.name
            );
            assert_eq!(
                o.guest_type.is_none(),
                o.system_only && o.traffic_type != TrafficType::Guest
            );
        }
    }

    #[test]
    fn shared_offerings() {
        let sg = get("DefaultSharedNetworkOfferingWithSGService");
        assert_eq!(sg.display_text, "Offering for Shared Security group enabled networks");
        assert_eq!(
            services(&sg),
            [
                ("Dhcp", "VirtualRouter"),
                ("Dns", "VirtualRouter"),
                ("UserData", "VirtualRouter"),
                ("SecurityGroup", "SecurityGroupProvider")
            ]
        );
        let sh = get("DefaultSharedNetworkOffering");
        assert_eq!(sh.display_text, "Offering for Shared networks");
        assert_eq!(sh.guest_type, Some(GuestType::Shared));
        assert!(sh.specify_vlan && sh.specify_ip_ranges && sh.conserve_mode && !sh.system_only);
        assert_eq!(sh.availability, Availability::Optional);
        assert_eq!(
            services(&sh),
            [
                ("Dhcp", "VirtualRouter"),
                ("Dns", "VirtualRouter"),
                ("UserData", "VirtualRouter")
            ]
        );
    }

    #[test]
    fn isolated_offerings() {
        let snat = get("DefaultIsolatedNetworkOfferingWithSourceNatService");
        assert_eq!(
            snat.display_text,
            "Offering for Isolated networks with Source Nat service enabled"
        );
        assert_eq!(snat.availability, Availability::Required);
        assert!(!snat.specify_vlan && !snat.specify_ip_ranges && snat.conserve_mode && snat.public_lb);
        assert!(snat.supports_vm_autoscaling);
        assert_eq!(snat.source_nat_type.map(|t| t.as_str()), Some("peraccount"));
        assert_eq!(
            snat.service_list(),
            [
                Service::Vpn,
                Service::Dhcp,
                Service::Dns,
                Service::Gateway,
                Service::Firewall,
                Service::Lb,
                Service::UserData,
                Service::SourceNat,
                Service::StaticNat,
                Service::PortForwarding
            ]
        );
        assert!(snat.services.values().all(|p| *p == Provider::VirtualRouter));
        let iso = get("DefaultIsolatedNetworkOffering");
        assert_eq!(
            iso.display_text,
            "Offering for Isolated networks with no Source Nat service"
        );
        assert!(iso.specify_vlan && iso.specify_ip_ranges && iso.source_nat_type.is_none());
        assert_eq!(iso.service_list(), [Service::Dhcp, Service::Dns, Service::UserData]);
    }

    #[test]
    fn vpc_offerings() {
        let vpc = get("DefaultIsolatedNetworkOfferingForVpcNetworks");
        assert!(vpc.for_vpc && !vpc.conserve_mode && vpc.public_lb);
        assert_eq!(vpc.services.len(), 10);
        assert!(vpc.services.values().all(|p| *p == Provider::VpcVirtualRouter));
        let no_lb = get("DefaultIsolatedNetworkOfferingForVpcNetworksNoLB");
        assert!(!no_lb.services.contains_key(&Service::Lb) && no_lb.services.len() == 9);
        let ilb = get("DefaultIsolatedNetworkOfferingForVpcNetworksWithInternalLB");
        assert!(ilb.internal_lb && !ilb.public_lb);
        assert_eq!(ilb.services.get(&Service::Lb), Some(&Provider::InternalLbVm));
        for s in [Service::Vpn, Service::StaticNat, Service::PortForwarding] {
            assert!(!ilb.services.contains_key(&s), "{s}");
        }
    }

    #[test]
    fn l2_offerings() {
        let cases = [
            ("DefaultL2NetworkOffering", "Offering for L2 networks", false, false),
            (
                "DefaultL2NetworkOfferingVlan",
                "Offering for L2 networks VLAN",
                true,
                false,
            ),
            (
                "DefaultL2NetworkOfferingConfigDrive",
                "Offering for L2 networks with config drive user data",
                false,
                true,
            ),
            (
                "DefaultL2NetworkOfferingConfigDriveVlan",
                "Offering for L2 networks with config drive user data VLAN",
                true,
                true,
            ),
        ];
        for (name, text, vlan, config_drive) in cases {
            let o = get(name);
            assert_eq!(o.display_text, text);
            assert_eq!(o.guest_type, Some(GuestType::L2));
            assert_eq!(o.specify_vlan, vlan, "{name}");
            assert!(!o.specify_ip_ranges && o.conserve_mode && o.availability == Availability::Optional);
            let want: &[(&str, &str)] = if config_drive {
                &[("UserData", "ConfigDrive")]
            } else {
                &[]
            };
            assert_eq!(services(&o), want, "{name}");
        }
    }

    #[test]
    fn system_offerings() {
        let public = get("System-Public-Network");
        assert_eq!(public.display_text, "System Offering for System-Public-Network");
        assert!(public.system_only && public.specify_ip_ranges && public.guest_type.is_none());
        assert_eq!(public.availability, Availability::Required);
        assert!(!get("System-Control-Network").specify_ip_ranges);
        assert!(get("System-Storage-Network").specify_ip_ranges);
        let pg = get("System-Private-Gateway-Network-Offering");
        assert_eq!(pg.guest_type, Some(GuestType::Isolated));
        assert!(pg.specify_vlan && pg.system_only && pg.availability == Availability::Optional);
        assert!(!get("System-Private-Gateway-Network-Offering-Without-Vlan").specify_vlan);
        assert!(seeded_network_offerings()
            .iter()
            .filter(|o| o.system_only)
            .all(|o| o.services.is_empty()));
        assert_eq!(seeded_offering("DefaultSharedNetscalerEIPandELBNetworkOffering"), None);
    }
}
