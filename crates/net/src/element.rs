//! The provider plugin interface: a [`NetworkElement`] per [`Provider`], the optional
//! [`UserDataServiceProvider`] capability, the plain-data contexts they work on, and the
//! [`ProviderRegistry`] that resolves a network's services to elements.
//!
//! Rules every element follows (DESIGN.md, "founding bug"):
//! - An element never reads the database. Everything it needs is in [`NetworkCtx`] /
//!   [`NicCtx`] / [`VmCtx`], which the caller snapshots *when the state change is committed* and
//!   records with the effect. A cleanup effect therefore still has its network's data after
//!   the network row is gone.
//! - Every operation is idempotent: implementing an implemented network, releasing a released
//!   NIC, or destroying what is already gone succeeds.
//! - Absence is normal: a network without a service has no provider for it, and there is
//!   nothing to do ([`ProviderRegistry::element_for`] returns `None`).

use std::collections::BTreeMap;
use std::fmt;
use std::net::Ipv4Addr;
use std::sync::Arc;

use async_trait::async_trait;
use ferrostack_types::state::NetworkState;
use ferrostack_types::{cloudstack_enum, Error};
use serde::{Deserialize, Serialize};

use crate::ipam::Cidr;
use crate::model::{provider_for, GuestType, Provider, Service, TrafficType, ZoneType};

/// What an element knows about a network: a snapshot, never a live row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkCtx {
    pub network_id: i64,
    pub network_uuid: String,
    pub name: String,
    pub zone_id: i64,
    pub zone_uuid: String,
    pub zone_type: ZoneType,
    pub account_id: i64,
    pub domain_id: i64,
    pub guest_type: GuestType,
    pub traffic_type: TrafficType,
    pub state: NetworkState,
    /// The network's own service→provider map (copied from its offering at creation).
    pub services: BTreeMap<Service, Provider>,
    pub cidr: Option<Cidr>,
    pub gateway: Option<Ipv4Addr>,
    /// Broadcast URI as CloudStack stores it (`vlan://100`, `vlan://untagged`), if any.
    pub vlan: Option<String>,
    pub network_domain: Option<String>,
    pub dns1: Option<Ipv4Addr>,
    pub dns2: Option<Ipv4Addr>,
    pub physical_network_id: Option<i64>,
    pub vpc_id: Option<i64>,
}

impl NetworkCtx {
    /// The provider of `service` on this network, if the network has the service.
    pub fn provider_for(&self, service: Service) -> Option<Provider> {
        provider_for(&self.services, service)
    }

    /// Whether `provider` delivers at least one service on this network.
    pub fn uses_provider(&self, provider: Provider) -> bool {
        self.services.values().any(|p| *p == provider)
    }

    /// The services `provider` delivers on this network, in [`Service`] order.
    pub fn services_of(&self, provider: Provider) -> Vec<Service> {
        self.services
            .iter()
            .filter(|(_, p)| **p == provider)
            .map(|(s, _)| *s)
            .collect()
    }
}

cloudstack_enum! {
    /// CloudStack's `VirtualMachine.Type` for the VMs a NIC can belong to.
    pub enum VmKind {
        User => "User",
        DomainRouter => "DomainRouter",
        ConsoleProxy => "ConsoleProxy",
        SecondaryStorageVm => "SecondaryStorageVm",
    }
}

/// A NIC of a VM on the network, as the element needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NicCtx {
    pub nic_id: i64,
    pub nic_uuid: String,
    pub vm_id: i64,
    pub vm_uuid: String,
    /// `i-2-10-VM`, `r-4-VM`, …
    pub vm_instance_name: String,
    pub vm_kind: VmKind,
    /// The host the VM runs (or last ran) on, if any.
    pub host_id: Option<i64>,
    pub mac: String,
    pub ip4: Option<Ipv4Addr>,
    pub netmask: Option<Ipv4Addr>,
    pub gateway: Option<Ipv4Addr>,
    pub is_default: bool,
    pub device_id: u32,
}

/// What a user-data provider needs to know about the VM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VmCtx {
    pub vm_id: i64,
    pub vm_uuid: String,
    pub instance_name: String,
    /// The guest hostname (CloudStack's `hostName`, from `name`/`displayname`).
    pub hostname: String,
    pub zone_name: String,
    pub service_offering: String,
    pub host_id: Option<i64>,
    /// User data as given to the API (base64), if any.
    pub user_data: Option<String>,
    /// Public SSH keys (OpenSSH format) to install.
    pub ssh_public_keys: Vec<String>,
}

/// A VM password in clear text, only ever in memory: `Debug` is redacted and it cannot be
/// serialised, so it never reaches a job row or a log line.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn new(clear: impl Into<String>) -> Self {
        Password(clear.into())
    }

    /// The clear text, for the one place that must write it (the config drive, the VR).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// A network service provider's element (CloudStack's `NetworkElement`). All operations are
/// idempotent and must succeed when the thing they undo is already gone.
#[async_trait]
pub trait NetworkElement: Send + Sync {
    /// The provider this element implements (one element per provider).
    fn provider(&self) -> Provider;

    /// The services this element implements: a subset of [`Provider::services`].
    fn capabilities(&self) -> &[Service];

    /// Bring up the provider's part of the network (e.g. deploy the virtual router).
    async fn implement(&self, network: &NetworkCtx) -> Result<(), Error>;

    /// A NIC is about to be used on the network (e.g. add the DHCP entry, attach a config drive).
    async fn prepare(&self, network: &NetworkCtx, nic: &NicCtx) -> Result<(), Error>;

    /// A NIC has left the network or its VM stopped or was expunged.
    async fn release(&self, network: &NetworkCtx, nic: &NicCtx) -> Result<(), Error>;

    /// Tear down what `implement` set up (network shutdown / restart with cleanup).
    async fn shutdown(&self, network: &NetworkCtx) -> Result<(), Error>;

    /// The network is being destroyed: remove everything the provider holds for it.
    async fn destroy(&self, network: &NetworkCtx) -> Result<(), Error>;

    /// The user-data capability, if this element provides it.
    fn user_data(&self) -> Option<&dyn UserDataServiceProvider> {
        None
    }
}

/// Delivering user data, passwords and SSH keys to VMs (CloudStack's
/// `UserDataServiceProvider`), implemented by the VirtualRouter and ConfigDrive elements.
#[async_trait]
pub trait UserDataServiceProvider: Send + Sync {
    /// Write (or rewrite) the VM's user data and metadata.
    async fn save_user_data(&self, network: &NetworkCtx, nic: &NicCtx, vm: &VmCtx) -> Result<(), Error>;

    /// Make a (reset) password available to the VM.
    async fn save_password(
        &self,
        network: &NetworkCtx,
        nic: &NicCtx,
        vm: &VmCtx,
        password: &Password,
    ) -> Result<(), Error>;

    /// Install `vm.ssh_public_keys`.
    async fn save_ssh_key(&self, network: &NetworkCtx, nic: &NicCtx, vm: &VmCtx) -> Result<(), Error>;
}

/// The elements this server runs, keyed by provider. Built once at start-up, then shared
/// read-only (`Arc<ProviderRegistry>`).
#[derive(Default, Clone)]
pub struct ProviderRegistry {
    elements: BTreeMap<Provider, Arc<dyn NetworkElement>>,
}

impl fmt::Debug for ProviderRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.elements.keys()).finish()
    }
}

impl ProviderRegistry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Register an element. Refused (a wiring bug, reported at start-up) if its provider is
    /// already registered or it claims a service its provider cannot deliver.
    pub fn register(&mut self, element: Arc<dyn NetworkElement>) -> Result<(), Error> {
        let provider = element.provider();
        if let Some(bad) = element.capabilities().iter().find(|s| !provider.services().contains(s)) {
            return Err(Error::internal(format!(
                "network element for {provider} claims service {bad}, which {provider} cannot provide"
            )));
        }
        if self.elements.contains_key(&provider) {
            return Err(Error::internal(format!(
                "a network element for {provider} is already registered"
            )));
        }
        self.elements.insert(provider, element);
        Ok(())
    }

    /// The element implementing `provider`, if one is registered.
    pub fn get(&self, provider: Provider) -> Option<Arc<dyn NetworkElement>> {
        self.elements.get(&provider).cloned()
    }

    /// The registered providers, in [`Provider`] order.
    pub fn providers(&self) -> Vec<Provider> {
        self.elements.keys().copied().collect()
    }

    /// The element delivering `service` on a network with this service map. `None` when the
    /// network lacks the service (normal: nothing to do) or its provider has no element here.
    pub fn element_for(
        &self,
        services: &BTreeMap<Service, Provider>,
        service: Service,
    ) -> Option<Arc<dyn NetworkElement>> {
        provider_for(services, service).and_then(|p| self.get(p))
    }

    /// The distinct registered elements a network uses, in [`Provider`] order. Implement and
    /// prepare in this order; shut down and destroy in reverse.
    pub fn elements_for(&self, services: &BTreeMap<Service, Provider>) -> Vec<Arc<dyn NetworkElement>> {
        distinct_providers(services)
            .into_iter()
            .filter_map(|p| self.get(p))
            .collect()
    }

    /// Providers named by the map that have no registered element (check at network or
    /// offering creation; an empty list means every service can be delivered).
    pub fn missing_providers(&self, services: &BTreeMap<Service, Provider>) -> Vec<Provider> {
        distinct_providers(services)
            .into_iter()
            .filter(|p| !self.elements.contains_key(p))
            .collect()
    }

    /// The element delivering UserData on the network, if it has the service and the element
    /// implements [`UserDataServiceProvider`] (reach it with [`NetworkElement::user_data`]).
    pub fn user_data_element(&self, services: &BTreeMap<Service, Provider>) -> Option<Arc<dyn NetworkElement>> {
        self.element_for(services, Service::UserData)
            .filter(|e| e.user_data().is_some())
    }
}

fn distinct_providers(services: &BTreeMap<Service, Provider>) -> Vec<Provider> {
    let mut ps: Vec<Provider> = services.values().copied().collect();
    ps.sort();
    ps.dedup();
    ps
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{sample_network, sample_nic, sample_vm, Call, Op, RecordingElement};

    fn registry() -> (ProviderRegistry, Arc<RecordingElement>, Arc<RecordingElement>) {
        let vr = Arc::new(RecordingElement::new(Provider::VirtualRouter));
        let cd = Arc::new(RecordingElement::new(Provider::ConfigDrive).with_user_data());
        let mut reg = ProviderRegistry::new();
        reg.register(vr.clone()).unwrap();
        reg.register(cd.clone()).unwrap();
        (reg, vr, cd)
    }

    fn services(pairs: &[(Service, Provider)]) -> BTreeMap<Service, Provider> {
        pairs.iter().copied().collect()
    }

    #[test]
    fn register_and_get() {
        let (reg, _, _) = registry();
        assert_eq!(reg.providers(), [Provider::VirtualRouter, Provider::ConfigDrive]);
        assert_eq!(
            reg.get(Provider::ConfigDrive).map(|e| e.provider()),
            Some(Provider::ConfigDrive)
        );
        assert!(reg.get(Provider::Ovs).is_none());
        assert_eq!(format!("{reg:?}"), "{VirtualRouter, ConfigDrive}");
    }

    #[test]
    fn register_refuses_duplicates_and_impossible_capabilities() {
        let (mut reg, _, _) = registry();
        let again = reg.register(Arc::new(RecordingElement::new(Provider::VirtualRouter)));
        assert!(again.unwrap_err().to_string().contains("already registered"));
        let liar = RecordingElement::new(Provider::ConfigDrive).with_capabilities(vec![Service::SourceNat]);
        let mut fresh = ProviderRegistry::new();
        let err = fresh.register(Arc::new(liar)).unwrap_err();
        assert!(err.to_string().contains("claims service SourceNat"), "{err}");
    }

    #[test]
    fn per_network_resolution() {
        let (reg, _, _) = registry();
        let net = services(&[
            (Service::Dhcp, Provider::VirtualRouter),
            (Service::Dns, Provider::VirtualRouter),
            (Service::UserData, Provider::ConfigDrive),
            (Service::SecurityGroup, Provider::SecurityGroupProvider),
        ]);
        let provider = |s| reg.element_for(&net, s).map(|e| e.provider());
        assert_eq!(provider(Service::Dhcp), Some(Provider::VirtualRouter));
        assert_eq!(provider(Service::UserData), Some(Provider::ConfigDrive));
        // The network does not have the service: nothing to do.
        assert_eq!(provider(Service::SourceNat), None);
        // The provider has no element here: also None, and reported by missing_providers.
        assert_eq!(provider(Service::SecurityGroup), None);
        assert_eq!(reg.missing_providers(&net), [Provider::SecurityGroupProvider]);
        let used: Vec<_> = reg.elements_for(&net).iter().map(|e| e.provider()).collect();
        assert_eq!(used, [Provider::VirtualRouter, Provider::ConfigDrive]);
        assert_eq!(
            reg.user_data_element(&net).map(|e| e.provider()),
            Some(Provider::ConfigDrive)
        );
        // A VirtualRouter element without the capability yields no user-data element.
        let vr_ud = services(&[(Service::UserData, Provider::VirtualRouter)]);
        assert!(reg.user_data_element(&vr_ud).is_none());
        // An L2 network without services uses no element at all.
        assert!(reg.elements_for(&BTreeMap::new()).is_empty());
        assert!(reg.missing_providers(&BTreeMap::new()).is_empty());
    }

    #[test]
    fn network_ctx_helpers() {
        let mut net = sample_network();
        net.services = services(&[
            (Service::Dhcp, Provider::ConfigDrive),
            (Service::UserData, Provider::ConfigDrive),
            (Service::SourceNat, Provider::VirtualRouter),
        ]);
        assert_eq!(net.provider_for(Service::Dhcp), Some(Provider::ConfigDrive));
        assert_eq!(net.provider_for(Service::Lb), None);
        assert!(net.uses_provider(Provider::VirtualRouter) && !net.uses_provider(Provider::Ovs));
        assert_eq!(
            net.services_of(Provider::ConfigDrive),
            [Service::Dhcp, Service::UserData]
        );
        // The snapshot survives a round trip through an effect row.
        let json = serde_json::to_string(&net).unwrap();
        assert!(json.contains("\"zone_type\":\"Edge\""), "{json}");
        assert_eq!(serde_json::from_str::<NetworkCtx>(&json).unwrap(), net);
    }

    #[tokio::test]
    async fn elements_record_calls_through_the_registry() {
        let (reg, vr, cd) = registry();
        let net = sample_network();
        let nic = sample_nic();
        for e in reg.elements_for(&net.services) {
            e.implement(&net).await.unwrap();
            e.prepare(&net, &nic).await.unwrap();
        }
        for e in reg.elements_for(&net.services).iter().rev() {
            e.release(&net, &nic).await.unwrap();
            e.destroy(&net).await.unwrap();
        }
        let ud = reg.user_data_element(&net.services).unwrap();
        let vm = sample_vm();
        let provider = ud.user_data().unwrap();
        provider.save_user_data(&net, &nic, &vm).await.unwrap();
        provider
            .save_password(&net, &nic, &vm, &Password::new("s3cret"))
            .await
            .unwrap();
        provider.save_ssh_key(&net, &nic, &vm).await.unwrap();
        assert!(vr.calls().is_empty(), "the sample network has no VirtualRouter service");
        let ops: Vec<Op> = cd.calls().iter().map(|c| c.op).collect();
        assert_eq!(
            ops,
            [
                Op::Implement,
                Op::Prepare,
                Op::Release,
                Op::Destroy,
                Op::SaveUserData,
                Op::SavePassword,
                Op::SaveSshKey
            ]
        );
        assert_eq!(
            cd.calls()[1],
            Call {
                op: Op::Prepare,
                network_id: net.network_id,
                nic_id: Some(nic.nic_id),
                vm_id: Some(nic.vm_id),
            }
        );
    }

    #[test]
    fn password_never_shows() {
        let p = Password::new("hunter2");
        assert_eq!(format!("{p:?}"), "Password(<redacted>)");
        assert_eq!(p.expose(), "hunter2");
    }
}
