//! A user VM's NICs after deploy: `addNicToVirtualMachine`, `removeNicFromVirtualMachine`,
//! `updateDefaultNicForVirtualMachine`.
//!
//! A NIC is database state on simulator hosts; hosts that build their VMs' devices (KVM) have
//! no hot-plug in the hypervisor contract, so a running VM there is refused ("stop it first")
//! rather than changed behind the guest's back. The routers of the networks follow through
//! follow-ups recorded with the change (DHCP entries, default-NIC flags); a NIC added to a
//! running VM has its network implemented and its elements prepared by the job, as a start does.

use ferrostack_db::network as net_db;
use ferrostack_db::vm::{self as vm_db, Nic, Vm};
use ferrostack_db::vm_extras as x_db;
use ferrostack_db::{db_err, Conn};
use ferrostack_net::Provider;
use ferrostack_types::ids::new_uuid;
use ferrostack_types::state::VmState;
use ferrostack_types::time::now_ms;
use ferrostack_types::Error;
use serde::{Deserialize, Serialize};

use crate::followup::FollowUp;
use crate::job::{JobMeta, Submitted};
use crate::vm_extras::is_disk_host;
use crate::{App, Caller};

/// A NIC job: the VM and the NIC (added at submission, or named by the caller).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NicParams {
    pub vm_id: i64,
    pub nic_id: i64,
}

/// The providers whose per-NIC entries go when a NIC leaves a VM that keeps running: all but
/// the VM's config drive (it belongs to the VM, rebuilt at its next start).
fn released_on_removal() -> Vec<Provider> {
    Provider::ALL
        .iter()
        .copied()
        .filter(|p| *p != Provider::ConfigDrive)
        .collect()
}

impl App {
    /// The VM for a NIC change: Running or Stopped, and — running on a host that builds its
    /// devices — refused with what to do.
    async fn vm_for_nic_change(&self, c: &mut Conn, caller: &Caller, uuid: &str, hot_plug: bool) -> Result<Vm, Error> {
        let vm = self.vm_get_for(c, caller, "virtualmachineid", uuid).await?;
        match vm.state {
            VmState::Stopped => {}
            VmState::Running => {
                if hot_plug {
                    if let Some(h) = vm.host_id {
                        if let Some(host) = ferrostack_db::host::get(&mut *c, h).await? {
                            if is_disk_host(self, &host) {
                                return Err(Error::invalid(format!(
                                    "VM {} runs on {} host {}, which can't plug or unplug NICs of a running VM; \
                                     stop the VM first, change its NICs, then start it",
                                    vm.name, host.hypervisor, host.name
                                )));
                            }
                        }
                    }
                }
            }
            VmState::Starting
            | VmState::Stopping
            | VmState::Destroyed
            | VmState::Expunging
            | VmState::Migrating
            | VmState::Error
            | VmState::Unknown
            | VmState::Shutdown => {
                return Err(Error::invalid(format!(
                    "VM {} is {}; change its NICs when it is Running or Stopped",
                    vm.name, vm.state
                )))
            }
        }
        Ok(vm)
    }

    /// A live NIC of the VM by uuid.
    async fn nic_of(&self, c: &mut Conn, vm: &Vm, uuid: &str) -> Result<Nic, Error> {
        vm_db::nics_of(c, &[vm.id])
            .await?
            .into_iter()
            .find(|n| n.uuid == uuid)
            .ok_or_else(|| Error::unknown_entity("nicid", uuid))
    }

    /// `addNicToVirtualMachine`: the NIC and its address are allocated now (a taken or
    /// out-of-range `ipaddress` is a 431 of the call); the job prepares it.
    pub async fn vm_nic_add(
        &self,
        caller: &Caller,
        vm_uuid: &str,
        network_uuid: &str,
        ip_address: Option<&str>,
        meta: JobMeta,
    ) -> Result<Submitted, Error> {
        let mut tx = self.db.begin().await?;
        let vm = self.vm_for_nic_change(&mut tx, caller, vm_uuid, true).await?;
        let n = self.network_get_for(&mut tx, caller, "networkid", network_uuid).await?;
        if n.zone_id != vm.zone_id {
            return Err(Error::invalid(format!(
                "Network {} is in zone {}, VM {} in zone {}; add a network of the VM's zone",
                n.name, n.zone_name, vm.name, vm.zone_name
            )));
        }
        // The network must be the VM owner's to use, not only the caller's.
        let owner_may = if n.acl_type == "Domain" {
            let path = n.domain_path.as_deref().unwrap_or("/");
            vm.domain_path.as_deref().unwrap_or("/").starts_with(path)
        } else {
            n.account_id == vm.account_id
        };
        if !owner_may {
            return Err(Error::invalid(format!(
                "Network {} is not available to account {}, the owner of VM {}",
                n.name,
                vm.account_name.as_deref().unwrap_or_default(),
                vm.name
            )));
        }
        let nics = vm_db::nics_of(&mut tx, &[vm.id]).await?;
        if nics.iter().any(|x| x.network_id == n.id) {
            return Err(Error::invalid(format!(
                "A NIC already exists for VM {} in network {}",
                vm.name, n.name
            )));
        }
        let (ip, mac) = self
            .guest_ip_allocate(&mut tx, &n, "UserVm", &vm.uuid, ip_address)
            .await?;
        let device = x_db::next_nic_device(&mut tx, vm.id).await?;
        let nic_uuid = new_uuid();
        let nic_id = vm_db::insert_nic(
            &mut tx,
            vm_db::NewNic {
                uuid: &nic_uuid,
                vm_id: vm.id,
                network_id: n.id,
                traffic_type: "Guest",
                ip: ip.as_deref(),
                netmask: n.netmask.as_deref(),
                gateway: n.gateway.as_deref(),
                mac: &mac,
                broadcast_uri: n.broadcast_uri.as_deref(),
                device_id: device,
                is_default: nics.is_empty(),
                now: now_ms(),
            },
        )
        .await?;
        let params = NicParams { vm_id: vm.id, nic_id };
        let description = format!("Adding a NIC on network {} to VM {}", n.name, vm.name);
        let sub = self
            .vm_extras_submit(&mut tx, caller, &vm, meta, &params, description)
            .await?;
        tx.commit().await.map_err(db_err)?;
        self.jobs.wake();
        Ok(sub)
    }

    /// The added NIC's network serves it: for a running VM, the network is implemented and its
    /// elements prepared now (its router gets the DHCP entry before the guest asks); for a
    /// stopped VM the router is reprogrammed by a follow-up and the rest is done at start.
    pub(crate) async fn vm_nic_prepare(&self, p: &NicParams) -> Result<(), Error> {
        let vm = self.vm_load(p.vm_id).await?;
        let mut c = self.db.conn().await?;
        let Some(nic) = vm_db::nics_of(&mut c, &[vm.id])
            .await?
            .into_iter()
            .find(|n| n.id == p.nic_id)
        else {
            return Err(Error::invalid(format!(
                "The new NIC of VM {} was removed meanwhile",
                vm.name
            )));
        };
        drop(c);
        if vm.state != VmState::Running {
            let mut c = self.db.write_conn().await?;
            return self
                .followup_enqueue(
                    &mut c,
                    &FollowUp::RouterProgram {
                        network_id: nic.network_id,
                    },
                )
                .await;
        }
        self.network_implement(nic.network_id).await?;
        let mut c = self.db.conn().await?;
        let Some(n) = net_db::get(&mut *c, nic.network_id).await? else {
            return Err(Error::invalid(format!(
                "The network of the new NIC of VM {} was deleted meanwhile",
                vm.name
            )));
        };
        let ctx = self.network_ctx(&mut c, &n).await?;
        drop(c);
        let nic_ctx = Self::nic_ctx(&vm, &nic);
        for el in self.elements().elements_for(&ctx.services) {
            el.prepare(&ctx, &nic_ctx).await?;
        }
        self.vm_refresh_config_drive(vm.id).await;
        Ok(())
    }

    /// A running VM's config drive describes its NICs: rebuild it on the host after a change.
    /// A failure is logged (the change stands; the drive is rebuilt at the next start).
    async fn vm_refresh_config_drive(&self, vm_id: i64) {
        let r: Result<(), Error> = async {
            let vm = self.vm_load(vm_id).await?;
            match vm.host_id.filter(|_| vm.state == VmState::Running) {
                Some(h) => self.configdrive_put(&vm, h).await.map(|_| ()),
                None => Ok(()),
            }
        }
        .await;
        if let Err(e) = r {
            tracing::warn!(vm = vm_id, error = %e, "rebuilding the config drive after a NIC change failed; it is rebuilt at the next start");
        }
    }

    /// Take a NIC off its VM (the undo of an add, and `removeNicFromVirtualMachine`): the NIC
    /// and its address go, and the network's elements drop its entries (follow-ups, in the same
    /// transaction). A NIC already gone is done.
    pub(crate) async fn vm_nic_drop(&self, p: &NicParams) -> Result<(), Error> {
        let mut tx = self.db.begin().await?;
        let Some(vm) = vm_db::get(&mut *tx, p.vm_id).await? else {
            return Ok(());
        };
        let Some(nic) = vm_db::nics_of(&mut tx, &[vm.id])
            .await?
            .into_iter()
            .find(|n| n.id == p.nic_id)
        else {
            return Ok(());
        };
        vm_db::remove_nic(&mut tx, nic.id, now_ms()).await?;
        net_db::release_owner_on(&mut *tx, &vm.uuid, nic.network_id).await?;
        self.enqueue_releases_for(&mut tx, &vm, std::slice::from_ref(&nic), &released_on_removal())
            .await?;
        ferrostack_db::tag::forget(&mut tx, ferrostack_db::tag::ResourceType::Nic, &[nic.id]).await?;
        tx.commit().await.map_err(db_err)?;
        self.vm_refresh_config_drive(vm.id).await;
        Ok(())
    }

    /// `removeNicFromVirtualMachine`: not the default NIC.
    pub async fn vm_nic_remove(
        &self,
        caller: &Caller,
        vm_uuid: &str,
        nic_uuid: &str,
        meta: JobMeta,
    ) -> Result<Submitted, Error> {
        let mut tx = self.db.begin().await?;
        let vm = self.vm_for_nic_change(&mut tx, caller, vm_uuid, true).await?;
        let nic = self.nic_of(&mut tx, &vm, nic_uuid).await?;
        if nic.is_default == 1 {
            return Err(Error::invalid(format!(
                "Unable to remove NIC {} of VM {}: it is the default NIC; make another NIC the default first \
                 (updateDefaultNicForVirtualMachine)",
                nic.uuid, vm.name
            )));
        }
        let params = NicParams {
            vm_id: vm.id,
            nic_id: nic.id,
        };
        let description = format!(
            "Removing the NIC on network {} from VM {}",
            nic.network_name.as_deref().unwrap_or_default(),
            vm.name
        );
        let sub = self
            .vm_extras_submit(&mut tx, caller, &vm, meta, &params, description)
            .await?;
        tx.commit().await.map_err(db_err)?;
        self.jobs.wake();
        Ok(sub)
    }

    /// `updateDefaultNicForVirtualMachine`.
    pub async fn vm_nic_default(
        &self,
        caller: &Caller,
        vm_uuid: &str,
        nic_uuid: &str,
        meta: JobMeta,
    ) -> Result<Submitted, Error> {
        let mut tx = self.db.begin().await?;
        let vm = self.vm_for_nic_change(&mut tx, caller, vm_uuid, false).await?;
        let nic = self.nic_of(&mut tx, &vm, nic_uuid).await?;
        if nic.is_default == 1 {
            return Err(Error::invalid(format!(
                "NIC {} is already the default NIC of VM {}",
                nic.uuid, vm.name
            )));
        }
        let params = NicParams {
            vm_id: vm.id,
            nic_id: nic.id,
        };
        let description = format!(
            "Making the NIC on network {} the default NIC of VM {}",
            nic.network_name.as_deref().unwrap_or_default(),
            vm.name
        );
        let sub = self
            .vm_extras_submit(&mut tx, caller, &vm, meta, &params, description)
            .await?;
        tx.commit().await.map_err(db_err)?;
        self.jobs.wake();
        Ok(sub)
    }

    /// Make the NIC the VM's default, with the routers of the old and new default networks
    /// reprogrammed by follow-ups. Idempotent.
    pub(crate) async fn vm_nic_make_default(&self, p: &NicParams) -> Result<(), Error> {
        let mut tx = self.db.begin().await?;
        let nics = vm_db::nics_of(&mut tx, &[p.vm_id]).await?;
        let Some(nic) = nics.iter().find(|n| n.id == p.nic_id) else {
            return Err(Error::invalid("The NIC was removed before it could become the default"));
        };
        if nic.is_default == 1 {
            return Ok(());
        }
        if !x_db::set_default_nic(&mut tx, p.vm_id, p.nic_id).await? {
            return Err(Error::Conflict(
                "The NIC changed while becoming the default; retry".into(),
            ));
        }
        let mut networks: Vec<i64> = nics
            .iter()
            .filter(|n| n.is_default == 1 || n.id == p.nic_id)
            .map(|n| n.network_id)
            .collect();
        networks.dedup();
        for network_id in networks {
            self.followup_enqueue(&mut tx, &FollowUp::RouterProgram { network_id })
                .await?;
        }
        tx.commit().await.map_err(db_err)?;
        self.vm_refresh_config_drive(p.vm_id).await;
        Ok(())
    }
}
