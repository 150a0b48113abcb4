//! Network orchestration: implement (providers enabled, source NAT, elements), shut down,
//! destroy. Each element is called through the provider registry, resolved from the
//! network's own service map.

use ferrostack_db::network as net_db;
use ferrostack_db::{db_err, vm as vm_db};
use ferrostack_net::{Provider, ProviderState, Service};
use ferrostack_types::state::{NetworkEvent, NetworkState};
use ferrostack_types::time::now_ms;
use ferrostack_types::Error;

use crate::App;

impl App {
    /// Bring a network up: check its providers are enabled, acquire source NAT, implement
    /// every element (the VirtualRouter element deploys and starts the router).
    pub async fn network_implement(&self, network_id: i64) -> Result<(), Error> {
        let mut c = self.db.conn().await?;
        let n = net_db::get(&mut *c, network_id)
            .await?
            .ok_or_else(|| Error::invalid(format!("Network {network_id} no longer exists")))?;
        let ctx = self.network_ctx(&mut c, &n).await?;
        if let Some(pn) = n.physical_network_id {
            let mut seen: Vec<Provider> = Vec::new();
            for p in ctx.services.values() {
                if seen.contains(p) {
                    continue;
                }
                seen.push(*p);
                match self.provider_state(&mut c, pn, *p).await? {
                    Some(ProviderState::Enabled) => {}
                    Some(ProviderState::Disabled | ProviderState::Shutdown) | None => {
                        return Err(Error::ResourceUnavailable(format!(
                            "Network {} can't be implemented: its provider {} is not enabled in physical network {}; enable it with updateNetworkServiceProvider state=Enabled{}",
                            n.name,
                            p.as_str(),
                            pn,
                            if *p == Provider::VirtualRouter { " (after configureVirtualRouterElement enabled=true)" } else { "" }
                        )))
                    }
                }
            }
        }
        let has_source_nat = net_db::source_nat_ip(&mut c, n.id).await?.is_some();
        drop(c);
        let mut c = self.db.write_conn().await?;
        let state = n.state;
        let transitions = match state {
            NetworkState::Allocated => true,
            NetworkState::Shutdown => {
                self.network_transition(&mut c, &n, NetworkEvent::OperationSucceeded)
                    .await?;
                true
            }
            NetworkState::Setup | NetworkState::Implemented | NetworkState::Implementing => false,
            NetworkState::Destroy => return Err(Error::invalid(format!("Network {} is being destroyed", n.name))),
        };
        if transitions {
            let fresh = net_db::get(&mut *c, n.id)
                .await?
                .ok_or_else(|| Error::internal("network vanished"))?;
            self.network_transition(&mut c, &fresh, NetworkEvent::ImplementNetwork)
                .await?;
        }
        drop(c);
        if ctx.services.contains_key(&Service::SourceNat) && !has_source_nat {
            let mut tx = self.db.begin().await?;
            let got =
                net_db::allocate_public_ip(&mut tx, n.zone_id, n.id, n.account_id, n.domain_id, true, now_ms()).await?;
            if got.is_none() {
                drop(tx);
                if transitions {
                    self.network_implement_failed(n.id).await;
                }
                return Err(Error::InsufficientCapacity(format!(
                    "Insufficient address capacity: no free public IP in zone {} for the source NAT of network {}; add a public range with createVlanIpRange forvirtualnetwork=true",
                    n.zone_name, n.name
                )));
            }
            tx.commit().await.map_err(db_err)?;
        }
        for el in self.elements().elements_for(&ctx.services) {
            if let Err(e) = el.implement(&ctx).await {
                if transitions {
                    self.network_implement_failed(n.id).await;
                }
                return Err(e);
            }
        }
        let mut c = self.db.write_conn().await?;
        if let Some(fresh) = net_db::get(&mut *c, n.id).await? {
            if fresh.state == NetworkState::Implementing {
                self.network_transition(&mut c, &fresh, NetworkEvent::OperationSucceeded)
                    .await?;
            }
        }
        Ok(())
    }

    /// Implementing failed: back to Allocated via Shutdown so a later attempt can retry.
    async fn network_implement_failed(&self, network_id: i64) {
        let r: Result<(), Error> = async {
            let mut c = self.db.write_conn().await?;
            if let Some(n) = net_db::get(&mut *c, network_id).await? {
                if n.state == NetworkState::Implementing {
                    self.network_transition(&mut c, &n, NetworkEvent::OperationFailed)
                        .await?;
                    let n = net_db::get(&mut *c, network_id)
                        .await?
                        .ok_or_else(|| Error::internal("network vanished"))?;
                    self.network_transition(&mut c, &n, NetworkEvent::OperationSucceeded)
                        .await?;
                }
            }
            Ok(())
        }
        .await;
        if let Err(e) = r {
            tracing::warn!(network = network_id, error = %e, "could not roll back a failed network implementation");
        }
    }

    /// Shut a network down (restart with cleanup, or before destroy): elements shut down, the
    /// network returns to Allocated (shared networks stay Setup).
    pub async fn network_shutdown(&self, network_id: i64, best_effort: bool) -> Result<(), Error> {
        let mut c = self.db.conn().await?;
        let Some(n) = net_db::get(&mut *c, network_id).await? else {
            return Ok(());
        };
        let ctx = self.network_ctx(&mut c, &n).await?;
        drop(c);
        for el in self.elements().elements_for(&ctx.services) {
            if let Err(e) = el.shutdown(&ctx).await {
                if !best_effort {
                    return Err(e);
                }
                tracing::info!(network = %n.name, provider = el.provider().as_str(), error = %e, "element shutdown failed; continuing");
            }
        }
        let mut c = self.db.write_conn().await?;
        if n.state == NetworkState::Implemented {
            self.network_transition(&mut c, &n, NetworkEvent::DestroyNetwork)
                .await?;
            let n = net_db::get(&mut *c, network_id)
                .await?
                .ok_or_else(|| Error::internal("network vanished"))?;
            self.network_transition(&mut c, &n, NetworkEvent::OperationSucceeded)
                .await?;
        }
        Ok(())
    }

    /// Destroy a network: elements destroy (the router is removed; with `forced`, failures
    /// are logged and the network is removed anyway), addresses released, NICs detached,
    /// ranges removed. Idempotent.
    pub async fn network_destroy(&self, network_id: i64, forced: bool) -> Result<(), Error> {
        let mut c = self.db.conn().await?;
        let Some(n) = net_db::get(&mut *c, network_id).await? else {
            return Ok(());
        };
        let ctx = self.network_ctx(&mut c, &n).await?;
        drop(c);
        self.network_shutdown(network_id, forced).await?;
        for el in self.elements().elements_for(&ctx.services) {
            if let Err(e) = el.destroy(&ctx).await {
                if !forced {
                    return Err(e);
                }
                tracing::info!(network = %n.name, provider = el.provider().as_str(), error = %e, "element destroy failed; forced, continuing");
            }
        }
        let mut tx = self.db.begin().await?;
        let Some(n) = net_db::get(&mut *tx, network_id).await? else {
            return Ok(());
        };
        let now = now_ms();
        // User VM NICs left on a force-deleted network are detached from it.
        for nic in vm_db::nics_on_network(&mut tx, n.id).await? {
            if let Some(vm) = vm_db::get(&mut *tx, nic.vm_id).await? {
                if vm.vm_type == ferrostack_types::state::VmType::User {
                    self.enqueue_nic_releases(&mut tx, &vm, std::slice::from_ref(&nic))
                        .await?;
                    ferrostack_db::tag::forget(&mut tx, ferrostack_db::tag::ResourceType::Nic, &[nic.id]).await?;
                    vm_db::remove_nic(&mut tx, nic.id, now).await?;
                }
            }
        }
        for g in net_db::guest_ips_of_network(&mut *tx, n.id).await? {
            if g.owner_kind == "UserVm" {
                net_db::release_owner_on(&mut *tx, &g.owner_uuid, n.id).await?;
            }
        }
        ferrostack_db::tag::forget_public_ips_of_network(&mut tx, n.id).await?;
        net_db::release_public_ips(&mut tx, n.id).await?;
        for r in net_db::ranges(&mut tx, n.zone_id, Some(n.id)).await? {
            ferrostack_db::tag::forget_public_ips_of_range(&mut tx, r.id).await?;
            net_db::remove_range(&mut tx, r.id, now).await?;
        }
        ferrostack_db::tag::forget(&mut tx, ferrostack_db::tag::ResourceType::Network, &[n.id]).await?;
        net_db::mark_removed(&mut tx, n.id, now).await?;
        tx.commit().await.map_err(db_err)
    }
}
