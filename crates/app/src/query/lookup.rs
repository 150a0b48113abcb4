//! Lookups by uuid, each answering the CloudStack "unable to find" 431 naming the parameter.

use ferrostack_db::account::OwnerScope;
use ferrostack_db::network::{self as net_db, Network};
use ferrostack_db::vm::Vm;
use ferrostack_db::zone::Zone;
use ferrostack_types::entity::{Entity, Presence};
use ferrostack_types::state::VmState;
use ferrostack_types::Error;
use std::collections::HashMap;

use crate::access::ListScope;
use crate::{App, Caller};

impl App {
    /// A zone by uuid.
    pub async fn zone_find(&self, param: &str, uuid: &str) -> Result<Zone, Error> {
        let mut c = self.db.conn().await?;
        self.zone_get_for(&mut c, param, uuid).await
    }

    /// A pod's internal id by uuid.
    pub async fn pod_id_find(&self, param: &str, uuid: &str) -> Result<i64, Error> {
        let mut c = self.db.conn().await?;
        Ok(self.pod_get_for(&mut c, param, uuid).await?.id)
    }

    /// A cluster's internal id by uuid.
    pub async fn cluster_id_find(&self, param: &str, uuid: &str) -> Result<i64, Error> {
        let mut c = self.db.conn().await?;
        Ok(self.cluster_get_for(&mut c, param, uuid).await?.id)
    }

    /// A host's internal id by uuid.
    pub async fn host_id_find(&self, param: &str, uuid: &str) -> Result<i64, Error> {
        let mut c = self.db.conn().await?;
        Ok(self.host_get_for(&mut c, param, uuid).await?.id)
    }

    /// A primary storage pool's internal id by uuid.
    pub async fn pool_id_find(&self, param: &str, uuid: &str) -> Result<i64, Error> {
        let mut c = self.db.conn().await?;
        let p = ferrostack_db::storage::pool_by_uuid(&mut *c, uuid)
            .await?
            .ok_or_else(|| Error::unknown_entity(param, uuid))?;
        Ok(p.id)
    }

    /// A disk offering's internal id by uuid.
    pub async fn disk_offering_id_find(&self, param: &str, uuid: &str) -> Result<i64, Error> {
        let mut c = self.db.conn().await?;
        let o = ferrostack_db::offering::disk_by_uuid(&mut *c, uuid)
            .await?
            .ok_or_else(|| Error::unknown_entity(param, uuid))?;
        Ok(o.id)
    }

    /// A physical network's internal id by uuid.
    pub async fn physnet_id_find(&self, param: &str, uuid: &str) -> Result<i64, Error> {
        let mut c = self.db.conn().await?;
        Ok(self.physnet_get_for(&mut c, param, uuid).await?.id)
    }

    /// A network offering's internal id by uuid.
    pub async fn netoffering_id_find(&self, param: &str, uuid: &str) -> Result<i64, Error> {
        let mut c = self.db.conn().await?;
        Ok(self.netoffering_get(&mut c, param, uuid).await?.id)
    }

    /// A network the caller may see, by uuid.
    pub async fn network_find(&self, caller: &Caller, param: &str, uuid: &str) -> Result<Network, Error> {
        let mut c = self.db.conn().await?;
        self.network_get_for(&mut c, caller, param, uuid).await
    }

    /// A public IP range's internal id by uuid.
    pub async fn range_id_find(&self, param: &str, uuid: &str) -> Result<i64, Error> {
        let mut c = self.db.conn().await?;
        let r = net_db::range_by_uuid(&mut c, uuid)
            .await?
            .ok_or_else(|| Error::unknown_entity(param, uuid))?;
        Ok(r.id)
    }

    /// What each uuid names among entities of kind `e`, removed ones included (CloudStack's
    /// translation of uuid parameters); `Unknown` for a uuid no such entity ever had. A removed
    /// entity of an account the caller may not see stays `Unknown` to it: its id leaks nothing.
    pub async fn presence(&self, caller: &Caller, e: Entity, uuids: &[String]) -> Result<Vec<Presence>, Error> {
        let mut c = self.db.conn().await?;
        let found = ferrostack_db::presence::of(&mut c, e, uuids).await?;
        let mut seen: HashMap<i64, bool> = HashMap::new();
        let mut out = Vec::with_capacity(uuids.len());
        for u in uuids {
            let Some(f) = found.get(u) else {
                out.push(Presence::Unknown);
                continue;
            };
            let visible = match (f.presence, f.owner_account) {
                (Presence::Removed(_), Some(acct)) if !caller.is_root_admin() => match seen.get(&acct) {
                    Some(v) => *v,
                    None => {
                        let a = ferrostack_db::account::get(&mut *c, ferrostack_types::ids::AccountId(acct)).await?;
                        let v = a.is_some_and(|a| crate::access::check_account(caller, &a).is_ok());
                        seen.insert(acct, v);
                        v
                    }
                },
                _ => true,
            };
            out.push(if visible { f.presence } else { Presence::Unknown });
        }
        Ok(out)
    }

    /// Check the owner-scope parameters of a list against the caller.
    pub async fn owner_scope_check(&self, caller: &Caller, scope: &ListScope) -> Result<OwnerScope, Error> {
        let mut c = self.db.conn().await?;
        self.owner_scope(&mut c, caller, scope).await
    }

    /// The (service, provider) pairs of each network in a page, in one query.
    pub async fn network_services_page(&self, ids: &[i64]) -> Result<HashMap<i64, Vec<(String, String)>>, Error> {
        let mut out: HashMap<i64, Vec<(String, String)>> = HashMap::new();
        if ids.is_empty() {
            return Ok(out);
        }
        let mut c = self.db.conn().await?;
        for (id, service, provider) in net_db::services_of(&mut c, ids).await? {
            out.entry(id).or_default().push((service, provider));
        }
        Ok(out)
    }

    /// `startVirtualMachine hostid=…`: only root admins choose the host; its internal id.
    pub async fn vm_start_host_pick(&self, caller: &Caller, host_uuid: &str) -> Result<i64, Error> {
        if !caller.is_root_admin() {
            return Err(Error::denied("Only root administrators can choose the host"));
        }
        self.host_id_find("hostid", host_uuid).await
    }

    /// `expungeVirtualMachine`: allowed for the caller, and only a destroyed VM.
    pub async fn vm_expunge_check(&self, caller: &Caller, uuid: &str) -> Result<Vm, Error> {
        if !self.may_expunge(caller).await? {
            return Err(Error::denied(
                "Expunging is not allowed for users (setting allow.user.expunge.recover.vm)",
            ));
        }
        let mut c = self.db.conn().await?;
        let vm = self.vm_get_for(&mut c, caller, "id", uuid).await?;
        if vm.state != VmState::Destroyed {
            return Err(Error::invalid(format!(
                "VM {} is {}; destroy it before expunging",
                vm.name, vm.state
            )));
        }
        Ok(vm)
    }
}
