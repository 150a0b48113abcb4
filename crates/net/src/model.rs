//! The network model's vocabulary: services, providers, guest and traffic types, and which
//! provider can deliver which service (CloudStack's `Network.Service`, `Network.Provider`,
//! `Network.GuestType`, `Networks.TrafficType` and each element's `getCapabilities()`).

use std::collections::BTreeMap;

use ferrostack_types::{cloudstack_enum, Error};

cloudstack_enum! {
    /// A network service (CloudStack's `Network.Service`, complete, in its declaration order).
    pub enum Service {
        Vpn => "Vpn",
        Dhcp => "Dhcp",
        Dns => "Dns",
        Gateway => "Gateway",
        Firewall => "Firewall",
        Lb => "Lb",
        UserData => "UserData",
        SourceNat => "SourceNat",
        StaticNat => "StaticNat",
        PortForwarding => "PortForwarding",
        SecurityGroup => "SecurityGroup",
        NetworkAcl => "NetworkACL",
        Connectivity => "Connectivity",
    }
}

cloudstack_enum! {
    /// A network service provider this server knows. Each maps one-to-one to a
    /// [`NetworkElement`](crate::NetworkElement) implementation. CloudStack's external and SDN
    /// providers (Netscaler, F5BigIp, JuniperSRX, PaloAlto, NiciraNvp, Tungsten, Nsx, Netris,
    /// …) are deliberately absent: their names do not parse, so an offering naming them is
    /// refused with a 431 instead of being accepted and failing later.
    pub enum Provider {
        VirtualRouter => "VirtualRouter",
        VpcVirtualRouter => "VpcVirtualRouter",
        ConfigDrive => "ConfigDrive",
        SecurityGroupProvider => "SecurityGroupProvider",
        InternalLbVm => "InternalLbVm",
        Ovs => "Ovs",
    }
}

cloudstack_enum! {
    /// CloudStack's `Network.GuestType`.
    pub enum GuestType {
        Shared => "Shared",
        Isolated => "Isolated",
        L2 => "L2",
    }
}

cloudstack_enum! {
    /// CloudStack's `Networks.TrafficType` (the five a physical network carries).
    pub enum TrafficType {
        Public => "Public",
        Guest => "Guest",
        Management => "Management",
        Storage => "Storage",
        Control => "Control",
    }
}

/// State of a network service provider on a physical network (defined with the other stored
/// states in `ferrostack_types::state`).
pub use ferrostack_types::state::ProviderState;

cloudstack_enum! {
    /// A zone's kind (CloudStack's `DataCenter.Type`). Edge zones have local storage only, no
    /// system VMs, and take templates by direct download.
    pub enum ZoneType {
        Core => "Core",
        Edge => "Edge",
    }
}

cloudstack_enum! {
    /// A zone's network type (CloudStack's `DataCenter.NetworkType`). Edge zones are Advanced.
    pub enum ZoneNetworkType {
        Basic => "Basic",
        Advanced => "Advanced",
    }
}

impl Provider {
    /// The services the provider's element can deliver, in [`Service`] order.
    ///
    /// Transcribed from each CloudStack element's capabilities: `VirtualRouterElement`,
    /// `VpcVirtualRouterElement` (the router's set without Firewall, plus NetworkACL),
    /// `ConfigDriveNetworkElement`, `SecurityGroupElement`, `InternalLoadBalancerElement` and
    /// `OvsElement`.
    pub const fn services(self) -> &'static [Service] {
        use Service as S;
        match self {
            Provider::VirtualRouter => &[
                S::Vpn,
                S::Dhcp,
                S::Dns,
                S::Gateway,
                S::Firewall,
                S::Lb,
                S::UserData,
                S::SourceNat,
                S::StaticNat,
                S::PortForwarding,
            ],
            Provider::VpcVirtualRouter => &[
                S::Vpn,
                S::Dhcp,
                S::Dns,
                S::Gateway,
                S::Lb,
                S::UserData,
                S::SourceNat,
                S::StaticNat,
                S::PortForwarding,
                S::NetworkAcl,
            ],
            Provider::ConfigDrive => &[S::Dhcp, S::Dns, S::UserData],
            Provider::SecurityGroupProvider => &[S::SecurityGroup],
            Provider::InternalLbVm => &[S::Lb],
            Provider::Ovs => &[S::Lb, S::StaticNat, S::PortForwarding, S::Connectivity],
        }
    }

    /// CloudStack's `isExternal` (a hardware appliance outside the cloud). None of the
    /// providers this server knows is external.
    pub const fn is_external(self) -> bool {
        match self {
            Provider::VirtualRouter
            | Provider::VpcVirtualRouter
            | Provider::ConfigDrive
            | Provider::SecurityGroupProvider
            | Provider::InternalLbVm
            | Provider::Ovs => false,
        }
    }

    /// CloudStack's `cleanupNeededOnShutdown`: whether shutting a network down must undo what
    /// the provider configured. False only for the virtual router, whose VM is destroyed anyway.
    pub const fn cleanup_needed_on_shutdown(self) -> bool {
        match self {
            Provider::VirtualRouter => false,
            Provider::VpcVirtualRouter
            | Provider::ConfigDrive
            | Provider::SecurityGroupProvider
            | Provider::InternalLbVm
            | Provider::Ovs => true,
        }
    }
}

/// Whether `provider` can deliver `service`.
pub fn provider_supports(provider: Provider, service: Service) -> bool {
    provider.services().contains(&service)
}

/// Check a service→provider map (of an offering or a network): every provider must support
/// the service it is given. The error names the provider and the service and lists what the
/// provider does support.
pub fn validate_service_providers(map: &BTreeMap<Service, Provider>) -> Result<(), Error> {
    for (&service, &provider) in map {
        if !provider_supports(provider, service) {
            let supported: Vec<&str> = provider.services().iter().map(|s| s.as_str()).collect();
            return Err(Error::invalid(format!(
                "Provider {provider} does not support service {service}; {provider} supports: {}. \
                 Choose another provider for {service} or remove the service",
                supported.join(", ")
            )));
        }
    }
    Ok(())
}

/// The provider of `service` in a network's (or offering's) service map. `None` is normal: the
/// network does not have the service, so there is nothing to do.
pub fn provider_for(service_map: &BTreeMap<Service, Provider>, service: Service) -> Option<Provider> {
    service_map.get(&service).copied()
}

/// A network service provider row created together with a physical network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NspSeed {
    pub provider: Provider,
    pub state: ProviderState,
}

/// The providers `createPhysicalNetwork` adds, in CloudStack's order, with their initial state.
///
/// As in CloudStack (`NetworkServiceImpl.createPhysicalNetwork`): VirtualRouter, Ovs (only with
/// the GRE isolation method), SecurityGroupProvider, VpcVirtualRouter and InternalLbVm are
/// added *Disabled* — the operator (or a zone wizard) enables them with
/// `configureVirtualRouterElement` + `updateNetworkServiceProvider state=Enabled`. ConfigDrive
/// is added only in Advanced zones (core and edge) and enabled at once. CloudStack's baremetal,
/// Tungsten, NSX and Netris providers are not created: this server has no such elements.
pub fn default_physical_network_providers(network_type: ZoneNetworkType, gre_isolation: bool) -> Vec<NspSeed> {
    let disabled = |provider| NspSeed {
        provider,
        state: ProviderState::Disabled,
    };
    let mut out = vec![disabled(Provider::VirtualRouter)];
    if gre_isolation {
        out.push(disabled(Provider::Ovs));
    }
    out.push(disabled(Provider::SecurityGroupProvider));
    out.push(disabled(Provider::VpcVirtualRouter));
    out.push(disabled(Provider::InternalLbVm));
    match network_type {
        ZoneNetworkType::Advanced => out.push(NspSeed {
            provider: Provider::ConfigDrive,
            state: ProviderState::Enabled,
        }),
        ZoneNetworkType::Basic => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(Service, Provider)]) -> BTreeMap<Service, Provider> {
        pairs.iter().copied().collect()
    }

    #[test]
    fn spellings_are_cloudstacks() {
        assert_eq!(Service::NetworkAcl.as_str(), "NetworkACL");
        assert_eq!(Service::parse("NetworkACL"), Some(Service::NetworkAcl));
        assert_eq!(Service::parse("dhcp"), Some(Service::Dhcp));
        assert_eq!(Service::ALL.len(), 13);
        assert_eq!(Provider::parse("VpcVirtualRouter"), Some(Provider::VpcVirtualRouter));
        assert_eq!(Provider::parse("Netscaler"), None);
        assert_eq!(GuestType::parse("l2"), Some(GuestType::L2));
        assert_eq!(TrafficType::Management.to_string(), "Management");
        assert_eq!(ProviderState::parse("Shutdown"), Some(ProviderState::Shutdown));
        assert_eq!(serde_json::to_string(&Service::NetworkAcl).unwrap(), "\"NetworkACL\"");
        let err = Provider::parse_param("provider", "Netscaler").unwrap_err();
        assert!(
            err.to_string().contains("VirtualRouter, VpcVirtualRouter, ConfigDrive"),
            "{err}"
        );
    }

    #[test]
    fn provider_capabilities_match_cloudstack() {
        use Service as S;
        let cd: Vec<_> = S::ALL
            .iter()
            .filter(|s| provider_supports(Provider::ConfigDrive, **s))
            .collect();
        assert_eq!(cd, [&S::Dhcp, &S::Dns, &S::UserData]);
        for s in [
            S::Dhcp,
            S::Dns,
            S::UserData,
            S::SourceNat,
            S::StaticNat,
            S::PortForwarding,
            S::Lb,
            S::Firewall,
            S::Gateway,
            S::Vpn,
        ] {
            assert!(provider_supports(Provider::VirtualRouter, s), "{s}");
        }
        assert!(!provider_supports(Provider::VirtualRouter, S::SecurityGroup));
        assert!(!provider_supports(Provider::VirtualRouter, S::NetworkAcl));
        assert!(provider_supports(Provider::VpcVirtualRouter, S::NetworkAcl));
        assert!(!provider_supports(Provider::VpcVirtualRouter, S::Firewall));
        assert_eq!(Provider::SecurityGroupProvider.services(), [S::SecurityGroup]);
        assert_eq!(Provider::InternalLbVm.services(), [S::Lb]);
        // Every list is sorted and duplicate-free (they are documented "in Service order").
        for p in Provider::ALL {
            assert!(p.services().windows(2).all(|w| w[0] < w[1]), "{p}");
        }
        assert!(!Provider::VirtualRouter.cleanup_needed_on_shutdown());
        assert!(Provider::ConfigDrive.cleanup_needed_on_shutdown());
        assert!(Provider::ALL.iter().all(|p| !p.is_external()));
    }

    #[test]
    fn validation_names_provider_service_and_alternatives() {
        let ok = map(&[
            (Service::UserData, Provider::ConfigDrive),
            (Service::Dhcp, Provider::VirtualRouter),
            (Service::SecurityGroup, Provider::SecurityGroupProvider),
        ]);
        assert_eq!(validate_service_providers(&ok), Ok(()));
        assert_eq!(validate_service_providers(&BTreeMap::new()), Ok(()));
        let bad = map(&[(Service::SourceNat, Provider::ConfigDrive)]);
        let err = validate_service_providers(&bad).unwrap_err();
        assert_eq!(err.http_status(), 431);
        assert_eq!(
            err.to_string(),
            "Provider ConfigDrive does not support service SourceNat; ConfigDrive supports: Dhcp, Dns, UserData. \
             Choose another provider for SourceNat or remove the service"
        );
    }

    #[test]
    fn provider_lookup_treats_absence_as_normal() {
        let m = map(&[(Service::UserData, Provider::ConfigDrive)]);
        assert_eq!(provider_for(&m, Service::UserData), Some(Provider::ConfigDrive));
        assert_eq!(provider_for(&m, Service::Dhcp), None);
        assert_eq!(provider_for(&BTreeMap::new(), Service::UserData), None);
    }

    #[test]
    fn physical_network_providers_follow_cloudstack() {
        let adv = default_physical_network_providers(ZoneNetworkType::Advanced, false);
        let names: Vec<_> = adv.iter().map(|n| (n.provider.as_str(), n.state.as_str())).collect();
        assert_eq!(
            names,
            [
                ("VirtualRouter", "Disabled"),
                ("SecurityGroupProvider", "Disabled"),
                ("VpcVirtualRouter", "Disabled"),
                ("InternalLbVm", "Disabled"),
                ("ConfigDrive", "Enabled"),
            ]
        );
        let basic_gre = default_physical_network_providers(ZoneNetworkType::Basic, true);
        assert_eq!(basic_gre[1].provider, Provider::Ovs);
        assert!(basic_gre.iter().all(|n| n.provider != Provider::ConfigDrive));
    }
}
