//! The network elements this server runs: VirtualRouter (a router VM per network serving
//! DHCP, DNS and user data) and ConfigDrive (an ISO per VM on its host). Both only ever act
//! through the application and treat a missing network, router, host or VM as "nothing to do".

use std::sync::{Arc, Weak};

use async_trait::async_trait;
use ferrostack_net::{
    NetworkCtx, NetworkElement, NicCtx, Password, Provider, ProviderRegistry, Service, UserDataServiceProvider, VmCtx,
};
use ferrostack_types::Error;

use crate::App;

fn app(w: &Weak<App>) -> Result<Arc<App>, Error> {
    w.upgrade()
        .ok_or_else(|| Error::ServiceUnavailable("the management server is shutting down".into()))
}

/// Build the registry; called once the application is shared.
pub fn registry(w: Weak<App>) -> ProviderRegistry {
    let mut r = ProviderRegistry::new();
    let vr: Arc<dyn NetworkElement> = Arc::new(VirtualRouterElement { app: w.clone() });
    let cd: Arc<dyn NetworkElement> = Arc::new(ConfigDriveElement { app: w });
    // Registration only fails on a wiring bug (duplicate provider, impossible capability).
    if let Err(e) = r.register(vr) {
        tracing::error!(error = %e, "cannot register the VirtualRouter element");
    }
    if let Err(e) = r.register(cd) {
        tracing::error!(error = %e, "cannot register the ConfigDrive element");
    }
    r
}

pub struct VirtualRouterElement {
    app: Weak<App>,
}

const VR_SERVICES: &[Service] = &[
    Service::Dhcp,
    Service::Dns,
    Service::UserData,
    Service::SourceNat,
    Service::Gateway,
];

#[async_trait]
impl NetworkElement for VirtualRouterElement {
    fn provider(&self) -> Provider {
        Provider::VirtualRouter
    }
    fn capabilities(&self) -> &[Service] {
        VR_SERVICES
    }
    async fn implement(&self, network: &NetworkCtx) -> Result<(), Error> {
        app(&self.app)?.router_ensure(network.network_id).await.map(|_| ())
    }
    async fn prepare(&self, network: &NetworkCtx, _nic: &NicCtx) -> Result<(), Error> {
        // The VM's DHCP/DNS/user-data entry must be on the router before the VM boots.
        app(&self.app)?.router_program(network.network_id).await
    }
    async fn release(&self, network: &NetworkCtx, _nic: &NicCtx) -> Result<(), Error> {
        app(&self.app)?.router_program(network.network_id).await
    }
    async fn shutdown(&self, network: &NetworkCtx) -> Result<(), Error> {
        app(&self.app)?.router_stop_for_network(network.network_id).await
    }
    async fn destroy(&self, network: &NetworkCtx) -> Result<(), Error> {
        app(&self.app)?.router_remove_for_network(network.network_id).await
    }
    fn user_data(&self) -> Option<&dyn UserDataServiceProvider> {
        Some(self)
    }
}

#[async_trait]
impl UserDataServiceProvider for VirtualRouterElement {
    async fn save_user_data(&self, network: &NetworkCtx, _nic: &NicCtx, _vm: &VmCtx) -> Result<(), Error> {
        app(&self.app)?.router_program(network.network_id).await
    }
    async fn save_password(
        &self,
        network: &NetworkCtx,
        _nic: &NicCtx,
        _vm: &VmCtx,
        _pw: &Password,
    ) -> Result<(), Error> {
        app(&self.app)?.router_program(network.network_id).await
    }
    async fn save_ssh_key(&self, network: &NetworkCtx, _nic: &NicCtx, _vm: &VmCtx) -> Result<(), Error> {
        app(&self.app)?.router_program(network.network_id).await
    }
}

pub struct ConfigDriveElement {
    app: Weak<App>,
}

const CD_SERVICES: &[Service] = &[Service::UserData, Service::Dhcp, Service::Dns];

impl ConfigDriveElement {
    /// Rebuild a VM's drive on its host (user data, password or SSH keys changed). A stopped
    /// VM gets a fresh drive at its next start, so there is nothing to do now.
    async fn rebuild(&self, vm_id: i64) -> Result<(), Error> {
        let app = app(&self.app)?;
        let Some(vm) = ferrostack_db::vm::get(app.db.read(), vm_id).await? else {
            return Ok(());
        };
        // A running VM gets its rebuilt drive now; any other picks it up at its next start.
        match vm
            .host_id
            .filter(|_| vm.state == ferrostack_types::state::VmState::Running)
        {
            Some(h) => app.configdrive_put(&vm, h).await.map(|_| ()),
            None => Ok(()),
        }
    }
}

#[async_trait]
impl NetworkElement for ConfigDriveElement {
    fn provider(&self) -> Provider {
        Provider::ConfigDrive
    }
    fn capabilities(&self) -> &[Service] {
        CD_SERVICES
    }
    async fn implement(&self, _network: &NetworkCtx) -> Result<(), Error> {
        Ok(())
    }
    async fn prepare(&self, _network: &NetworkCtx, _nic: &NicCtx) -> Result<(), Error> {
        // The drive is built with the VM's start (see App::configdrive_put).
        Ok(())
    }
    async fn release(&self, _network: &NetworkCtx, nic: &NicCtx) -> Result<(), Error> {
        // Remove the VM's drive from the host it was on; a missing host or drive is fine.
        let app = app(&self.app)?;
        let Some(agent) = nic.host_id.and_then(|h| app.agents.get(h)) else {
            return Ok(());
        };
        agent
            .delete_config_drive(&nic.vm_instance_name)
            .await
            .map_err(|e| crate::vmops::agent_err(&format!("Deleting the config drive of {}", nic.vm_instance_name), e))
    }
    async fn shutdown(&self, _network: &NetworkCtx) -> Result<(), Error> {
        Ok(())
    }
    async fn destroy(&self, _network: &NetworkCtx) -> Result<(), Error> {
        Ok(())
    }
    fn user_data(&self) -> Option<&dyn UserDataServiceProvider> {
        Some(self)
    }
}

#[async_trait]
impl UserDataServiceProvider for ConfigDriveElement {
    async fn save_user_data(&self, _network: &NetworkCtx, _nic: &NicCtx, vm: &VmCtx) -> Result<(), Error> {
        self.rebuild(vm.vm_id).await
    }
    async fn save_password(
        &self,
        _network: &NetworkCtx,
        _nic: &NicCtx,
        vm: &VmCtx,
        _pw: &Password,
    ) -> Result<(), Error> {
        self.rebuild(vm.vm_id).await
    }
    async fn save_ssh_key(&self, _network: &NetworkCtx, _nic: &NicCtx, vm: &VmCtx) -> Result<(), Error> {
        self.rebuild(vm.vm_id).await
    }
}
