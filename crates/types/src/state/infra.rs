//! Closed state enums of the infrastructure rows that have no transition machine of their own:
//! allocation states of zones/pods/clusters, cluster managed state, physical networks and their
//! service providers, storage pools, a template's per-zone state, offerings, public IPs and
//! management servers. Spelled exactly as CloudStack spells them on the wire.

cloudstack_enum! {
    /// `allocationstate` of a zone, pod or cluster (CloudStack `Grouping.AllocationState`).
    pub enum AllocationState {
        Enabled => "Enabled",
        Disabled => "Disabled",
    }
}

impl AllocationState {
    /// `Enabled` when `enabled`, else `Disabled`.
    pub const fn from_enabled(enabled: bool) -> Self {
        if enabled {
            AllocationState::Enabled
        } else {
            AllocationState::Disabled
        }
    }
}

cloudstack_enum! {
    /// A cluster's `managedstate` (CloudStack `Managed.ManagedState`, the two stable values).
    pub enum ManagedState {
        Managed => "Managed",
        Unmanaged => "Unmanaged",
    }
}

cloudstack_enum! {
    /// A physical network's `state` (CloudStack `PhysicalNetwork.State`).
    pub enum PhysicalNetworkState {
        Disabled => "Disabled",
        Enabled => "Enabled",
    }
}

cloudstack_enum! {
    /// A network service provider's `state` (CloudStack `PhysicalNetworkServiceProvider.State`).
    pub enum ProviderState {
        Enabled => "Enabled",
        Disabled => "Disabled",
        Shutdown => "Shutdown",
    }
}

cloudstack_enum! {
    /// A primary storage pool's `state` (CloudStack `StoragePoolStatus`).
    pub enum StoragePoolState {
        Initial => "Initial",
        Initialized => "Initialized",
        Creating => "Creating",
        Attaching => "Attaching",
        Up => "Up",
        PrepareForMaintenance => "PrepareForMaintenance",
        ErrorInMaintenance => "ErrorInMaintenance",
        CancelMaintenance => "CancelMaintenance",
        Maintenance => "Maintenance",
        Disabled => "Disabled",
        Removed => "Removed",
    }
}

cloudstack_enum! {
    /// A template's state in one zone (`template_zone.state`).
    pub enum TemplateZoneState {
        /// Being copied to the zone's image store by the (simulated) downloader.
        Downloading => "Downloading",
        /// In the zone's image store: usable.
        Ready => "Ready",
        /// Direct download: fetched by the host straight to primary storage, usable at once.
        Bypassed => "Bypassed",
        /// Core zone without an image store yet: the download starts when one is added.
        WaitingForImageStore => "WaitingForImageStore",
        /// Edge zone and not direct download: never usable there.
        NoSecondaryStorage => "NoSecondaryStorage",
    }
}

impl TemplateZoneState {
    /// A VM can be deployed from the template in this zone.
    pub const fn usable(self) -> bool {
        match self {
            TemplateZoneState::Ready | TemplateZoneState::Bypassed => true,
            TemplateZoneState::Downloading
            | TemplateZoneState::WaitingForImageStore
            | TemplateZoneState::NoSecondaryStorage => false,
        }
    }
}

cloudstack_enum! {
    /// A service or disk offering's `state` (CloudStack `ServiceOffering.State`).
    pub enum OfferingState {
        Inactive => "Inactive",
        Active => "Active",
    }
}

cloudstack_enum! {
    /// A network offering's `state` (CloudStack `NetworkOffering.State`).
    pub enum NetworkOfferingState {
        Disabled => "Disabled",
        Enabled => "Enabled",
        Inactive => "Inactive",
    }
}

cloudstack_enum! {
    /// A public IP address's `state` (CloudStack `IpAddress.State`).
    pub enum PublicIpState {
        Allocating => "Allocating",
        Allocated => "Allocated",
        Releasing => "Releasing",
        Free => "Free",
        Reserved => "Reserved",
    }
}

cloudstack_enum! {
    /// A management server's `state` (CloudStack `ManagementServerHost.State`).
    pub enum MshostState {
        Up => "Up",
        Down => "Down",
        PreparingToShutDown => "PreparingToShutDown",
        ReadyToShutDown => "ReadyToShutDown",
        ShutDown => "ShutDown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every spelling round-trips through the checked conversion, case-insensitively, and an
    /// unknown stored value is an error.
    fn round_trips<T>(all: &[T], names: &[&str])
    where
        T: Copy + PartialEq + std::fmt::Debug + std::fmt::Display + TryFrom<String>,
        <T as TryFrom<String>>::Error: std::fmt::Debug,
    {
        assert_eq!(all.len(), names.len());
        for (v, n) in all.iter().zip(names) {
            assert_eq!(v.to_string(), *n);
            assert_eq!(T::try_from(n.to_string()).unwrap(), *v);
            assert_eq!(T::try_from(n.to_uppercase()).unwrap(), *v);
        }
        assert!(T::try_from("NoSuchState".to_string()).is_err());
        assert!(T::try_from(String::new()).is_err());
    }

    #[test]
    fn every_infra_enum_round_trips() {
        round_trips(AllocationState::ALL, AllocationState::NAMES);
        round_trips(ManagedState::ALL, ManagedState::NAMES);
        round_trips(PhysicalNetworkState::ALL, PhysicalNetworkState::NAMES);
        round_trips(ProviderState::ALL, ProviderState::NAMES);
        round_trips(StoragePoolState::ALL, StoragePoolState::NAMES);
        round_trips(TemplateZoneState::ALL, TemplateZoneState::NAMES);
        round_trips(OfferingState::ALL, OfferingState::NAMES);
        round_trips(NetworkOfferingState::ALL, NetworkOfferingState::NAMES);
        round_trips(PublicIpState::ALL, PublicIpState::NAMES);
        round_trips(MshostState::ALL, MshostState::NAMES);
    }

    #[test]
    fn usable_template_zone_states() {
        let table = [
            (TemplateZoneState::Downloading, false),
            (TemplateZoneState::Ready, true),
            (TemplateZoneState::Bypassed, true),
            (TemplateZoneState::WaitingForImageStore, false),
            (TemplateZoneState::NoSecondaryStorage, false),
        ];
        assert_eq!(table.len(), TemplateZoneState::ALL.len());
        for (s, usable) in table {
            assert_eq!(s.usable(), usable, "{s}");
        }
        assert_eq!(AllocationState::from_enabled(true), AllocationState::Enabled);
        assert_eq!(AllocationState::from_enabled(false), AllocationState::Disabled);
    }
}
