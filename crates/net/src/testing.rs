//! Test doubles: [`RecordingElement`], a [`NetworkElement`] that records every call and can be
//! told to fail, and sample contexts. Compiled for this crate's tests and, with the `testing`
//! feature, for other crates' tests (`ferrostack-net = { workspace = true, features = ["testing"] }`
//! under `[dev-dependencies]`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use ferrostack_types::state::NetworkState;
use ferrostack_types::Error;

use crate::element::{NetworkCtx, NetworkElement, NicCtx, Password, UserDataServiceProvider, VmCtx, VmKind};
use crate::ipam::Cidr;
use crate::model::{GuestType, Provider, Service, TrafficType, ZoneType};

/// Which element operation was called.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Op {
    Implement,
    Prepare,
    Release,
    Shutdown,
    Destroy,
    SaveUserData,
    SavePassword,
    SaveSshKey,
}

/// One recorded call (never the password itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Call {
    pub op: Op,
    pub network_id: i64,
    pub nic_id: Option<i64>,
    pub vm_id: Option<i64>,
}

#[derive(Default)]
struct Inner {
    calls: Vec<Call>,
    failures: BTreeMap<Op, Error>,
    implemented: BTreeSet<i64>,
}

/// A [`NetworkElement`] (and optionally [`UserDataServiceProvider`]) that records its calls.
/// Every call is recorded, then fails if a failure was injected for its [`Op`].
pub struct RecordingElement {
    provider: Provider,
    capabilities: Vec<Service>,
    user_data: bool,
    inner: Mutex<Inner>,
}

impl RecordingElement {
    /// An element for `provider` claiming all of the provider's services, without the
    /// user-data capability.
    pub fn new(provider: Provider) -> Self {
        RecordingElement {
            provider,
            capabilities: provider.services().to_vec(),
            user_data: false,
            inner: Mutex::default(),
        }
    }

    /// Claim exactly these services.
    pub fn with_capabilities(mut self, capabilities: Vec<Service>) -> Self {
        self.capabilities = capabilities;
        self
    }

    /// Also act as a [`UserDataServiceProvider`].
    pub fn with_user_data(mut self) -> Self {
        self.user_data = true;
        self
    }

    /// Make every later call of `op` fail with `error` (after being recorded).
    pub fn fail_on(&self, op: Op, error: Error) {
        self.lock().failures.insert(op, error);
    }

    /// Stop failing `op`.
    pub fn heal(&self, op: Op) {
        self.lock().failures.remove(&op);
    }

    /// The calls so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// The calls of one operation.
    pub fn calls_of(&self, op: Op) -> Vec<Call> {
        self.lock().calls.iter().copied().filter(|c| c.op == op).collect()
    }

    /// Networks implemented and not yet shut down or destroyed.
    pub fn implemented_networks(&self) -> Vec<i64> {
        self.lock().implemented.iter().copied().collect()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn record(&self, op: Op, network: &NetworkCtx, nic: Option<&NicCtx>, vm_id: Option<i64>) -> Result<(), Error> {
        let mut inner = self.lock();
        inner.calls.push(Call {
            op,
            network_id: network.network_id,
            nic_id: nic.map(|n| n.nic_id),
            vm_id: vm_id.or(nic.map(|n| n.vm_id)),
        });
        if let Some(err) = inner.failures.get(&op) {
            return Err(err.clone());
        }
        match op {
            Op::Implement => {
                inner.implemented.insert(network.network_id);
            }
            Op::Shutdown | Op::Destroy => {
                inner.implemented.remove(&network.network_id);
            }
            Op::Prepare | Op::Release | Op::SaveUserData | Op::SavePassword | Op::SaveSshKey => {}
        }
        Ok(())
    }
}

#[async_trait]
impl NetworkElement for RecordingElement {
    fn provider(&self) -> Provider {
        self.provider
    }

    fn capabilities(&self) -> &[Service] {
        &self.capabilities
    }

    async fn implement(&self, network: &NetworkCtx) -> Result<(), Error> {
        self.record(Op::Implement, network, None, None)
    }

    async fn prepare(&self, network: &NetworkCtx, nic: &NicCtx) -> Result<(), Error> {
        self.record(Op::Prepare, network, Some(nic), None)
    }

    async fn release(&self, network: &NetworkCtx, nic: &NicCtx) -> Result<(), Error> {
        self.record(Op::Release, network, Some(nic), None)
    }

    async fn shutdown(&self, network: &NetworkCtx) -> Result<(), Error> {
        self.record(Op::Shutdown, network, None, None)
    }

    async fn destroy(&self, network: &NetworkCtx) -> Result<(), Error> {
        self.record(Op::Destroy, network, None, None)
    }

    fn user_data(&self) -> Option<&dyn UserDataServiceProvider> {
        if self.user_data {
            Some(self)
        } else {
            None
        }
    }
}

#[async_trait]
impl UserDataServiceProvider for RecordingElement {
    async fn save_user_data(&self, network: &NetworkCtx, nic: &NicCtx, vm: &VmCtx) -> Result<(), Error> {
        self.record(Op::SaveUserData, network, Some(nic), Some(vm.vm_id))
    }

    async fn save_password(
        &self,
        network: &NetworkCtx,
        nic: &NicCtx,
        vm: &VmCtx,
        _password: &Password,
    ) -> Result<(), Error> {
        self.record(Op::SavePassword, network, Some(nic), Some(vm.vm_id))
    }

    async fn save_ssh_key(&self, network: &NetworkCtx, nic: &NicCtx, vm: &VmCtx) -> Result<(), Error> {
        self.record(Op::SaveSshKey, network, Some(nic), Some(vm.vm_id))
    }
}

/// A shared network in an edge zone whose Dhcp, Dns and UserData come from ConfigDrive — the
/// shape of the founding bug's network.
pub fn sample_network() -> NetworkCtx {
    NetworkCtx {
        network_id: 204,
        network_uuid: "5c0bd1a4-61a4-4f7c-9a33-1f6cb0b3e1a2".into(),
        name: "edge-shared".into(),
        zone_id: 2,
        zone_uuid: "0d9fbd5e-24b0-4dd4-a4c4-5f3a3c2a9a10".into(),
        zone_type: ZoneType::Edge,
        account_id: 2,
        domain_id: 1,
        guest_type: GuestType::Shared,
        traffic_type: TrafficType::Guest,
        state: NetworkState::Setup,
        services: [Service::Dhcp, Service::Dns, Service::UserData]
            .into_iter()
            .map(|s| (s, Provider::ConfigDrive))
            .collect(),
        cidr: Cidr::parse("10.1.1.0/24").ok(),
        gateway: Some([10, 1, 1, 1].into()),
        vlan: Some("vlan://100".into()),
        network_domain: Some("cs2cloud.internal".into()),
        dns1: Some([8, 8, 8, 8].into()),
        dns2: None,
        physical_network_id: Some(200),
        vpc_id: None,
    }
}

/// The default NIC of a user VM on [`sample_network`].
pub fn sample_nic() -> NicCtx {
    NicCtx {
        nic_id: 31,
        nic_uuid: "a1f0e7c2-2a55-4a35-8d0e-6f7d3a0b9c11".into(),
        vm_id: 12,
        vm_uuid: "7e3b2f1d-9c8a-4b6e-a5d4-3c2b1a0f9e8d".into(),
        vm_instance_name: "i-2-12-VM".into(),
        vm_kind: VmKind::User,
        host_id: Some(3),
        mac: "02:00:00:00:00:1f".into(),
        ip4: Some([10, 1, 1, 20].into()),
        netmask: Some([255, 255, 255, 0].into()),
        gateway: Some([10, 1, 1, 1].into()),
        is_default: true,
        device_id: 0,
    }
}

/// The VM owning [`sample_nic`].
pub fn sample_vm() -> VmCtx {
    VmCtx {
        vm_id: 12,
        vm_uuid: "7e3b2f1d-9c8a-4b6e-a5d4-3c2b1a0f9e8d".into(),
        instance_name: "i-2-12-VM".into(),
        hostname: "web-1".into(),
        zone_name: "edge-1".into(),
        service_offering: "Small Instance".into(),
        host_id: Some(3),
        user_data: Some("I2Nsb3VkLWNvbmZpZw==".into()),
        ssh_public_keys: vec!["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITest web@example".into()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn records_fails_on_demand_and_heals() {
        let el = RecordingElement::new(Provider::ConfigDrive);
        assert!(el.user_data().is_none());
        let net = sample_network();
        el.implement(&net).await.unwrap();
        el.implement(&net).await.unwrap(); // idempotent
        assert_eq!(el.implemented_networks(), [net.network_id]);
        el.fail_on(Op::Destroy, Error::ResourceUnavailable("host down".into()));
        let err = el.destroy(&net).await.unwrap_err();
        assert_eq!(err.http_status(), 534);
        assert_eq!(el.implemented_networks(), [net.network_id]);
        el.heal(Op::Destroy);
        el.destroy(&net).await.unwrap();
        assert!(el.implemented_networks().is_empty());
        assert_eq!(el.calls_of(Op::Implement).len(), 2);
        assert_eq!(el.calls_of(Op::Destroy).len(), 2);
        assert_eq!(el.calls().len(), 4);
    }
}
