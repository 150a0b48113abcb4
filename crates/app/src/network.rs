//! Guest networks: create (Shared, Isolated, L2), list, update, restart, delete; the
//! network's own service→provider map (copied from its offering at creation and always read
//! from the network afterwards); guest IP/MAC allocation; IP ranges and public addresses.

use ferrostack_types::EventType;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use ferrostack_db::account::OwnerScope;
use ferrostack_db::network::{
    self as net_db, IpRange as RangeRow, Network, NetworkFilter, PublicIp, PublicIpFilter, RangeFilter,
};
use ferrostack_db::{db_err, Conn};
use ferrostack_net::ipam::{self, Cidr, IpRange};
use ferrostack_net::{GuestType, Provider, Service};
use ferrostack_types::ids::new_uuid;
use ferrostack_types::state::{network_transition, NetworkEvent, NetworkOfferingState, NetworkState};
use ferrostack_types::time::now_ms;
use ferrostack_types::{Error, Page, RoleType};

use crate::access::{check_account, ListScope};
use crate::event::Resource;
use crate::job::{JobRequest, Submitted};
use crate::{App, Caller};

/// Default CIDR of an isolated network created without gateway/netmask.
pub const DEFAULT_GUEST_CIDR: &str = "10.1.1.0/24";

pub struct RangeCreate {
    pub zone_uuid: Option<String>,
    pub network_uuid: Option<String>,
    pub physnet_uuid: Option<String>,
    pub vlan: Option<String>,
    pub gateway: String,
    pub netmask: String,
    pub start_ip: String,
    pub end_ip: Option<String>,
    pub for_virtual_network: bool,
}

pub fn network_resource(n: &Network) -> Resource {
    Resource {
        kind: "Network",
        uuid: n.uuid.clone(),
        name: n.name.clone(),
    }
}

/// `vlan://100` from `100`, `vlan://100`, or `untagged`.
pub fn broadcast_uri(vlan: &str) -> Result<String, Error> {
    let v = vlan.trim();
    let tag = v.strip_prefix("vlan://").unwrap_or(v);
    if tag.eq_ignore_ascii_case("untagged") {
        return Ok("vlan://untagged".into());
    }
    match tag.parse::<u16>() {
        Ok(n) if (1..=4094).contains(&n) => Ok(format!("vlan://{n}")),
        Ok(_) | Err(_) => Err(Error::invalid(format!(
            "Invalid vlan {vlan}; give a VLAN id from 1 to 4094 or untagged"
        ))),
    }
}

/// Parse the network's stored service map into the typed map elements use.
pub fn service_map(rows: &[(String, String)]) -> BTreeMap<Service, Provider> {
    rows.iter()
        .filter_map(|(s, p)| Some((Service::parse(s)?, Provider::parse(p)?)))
        .collect()
}

fn ip_num(ip: Ipv4Addr) -> i64 {
    i64::from(u32::from(ip))
}

mod addresses;
mod create;

pub use create::NetworkCreate;

impl App {
    pub async fn network_get_for(
        &self,
        c: &mut Conn,
        caller: &Caller,
        param: &str,
        uuid: &str,
    ) -> Result<Network, Error> {
        let n = net_db::by_uuid(&mut *c, uuid)
            .await?
            .ok_or_else(|| Error::unknown_entity(param, uuid))?;
        self.check_network_access(c, caller, &n).await?;
        Ok(n)
    }

    /// May the caller use this network? Owners and admins over the owner; Domain-ACL
    /// (shared) networks are usable from their domain and below.
    pub async fn check_network_access(&self, c: &mut Conn, caller: &Caller, n: &Network) -> Result<(), Error> {
        if n.acl_type == "Domain" {
            let path = n.domain_path.clone().unwrap_or_else(|| "/".into());
            // Usable from the network's domain and below; administrators also reach the
            // shared networks of the domains they administer.
            let ok = match caller.role {
                RoleType::Admin => true,
                RoleType::DomainAdmin | RoleType::ResourceAdmin => {
                    caller.domain_path.starts_with(&path) || path.starts_with(&caller.domain_path)
                }
                RoleType::User => caller.domain_path.starts_with(&path),
            };
            return if ok {
                Ok(())
            } else {
                Err(Error::denied(format!(
                    "Network {} is not available to account {}",
                    n.name, caller.account_name
                )))
            };
        }
        let a = ferrostack_db::account::get(&mut *c, ferrostack_types::ids::AccountId(n.account_id))
            .await?
            .ok_or_else(|| Error::denied(format!("Network {} belongs to a removed account", n.name)))?;
        check_account(caller, &a)
    }

    /// The network's own service→provider map.
    pub async fn network_services(&self, c: &mut Conn, network_id: i64) -> Result<BTreeMap<Service, Provider>, Error> {
        Ok(service_map(&net_db::services(&mut *c, network_id).await?))
    }

    pub async fn network_list(
        &self,
        caller: &Caller,
        scope: &ListScope,
        mut f: NetworkFilter,
        zone_uuid: Option<&str>,
        id: Option<&str>,
        page: Page,
    ) -> Result<(i64, Vec<Network>), Error> {
        let mut c = self.db.conn().await?;
        if let Some(z) = zone_uuid {
            f.zone_id = Some(self.zone_get_for(&mut c, "zoneid", z).await?.id);
        }
        let owner = if let Some(id) = id {
            // A deleted network's id never gets here: the api layer answers it with the empty
            // list (or a 431 to whom could not see it) before the handler runs.
            let n = self.network_get_for(&mut c, caller, "id", id).await?;
            f.id = Some(n.id);
            OwnerScope::All
        } else {
            let owner = self.owner_scope(&mut c, caller, scope).await?;
            if let OwnerScope::Account(_) = owner {
                // Shared (Domain-ACL) networks of the caller's domain line are visible too.
                f.include_shared_domains = Some(self.domain_line(&mut c, &caller.domain_path).await?);
            }
            owner
        };
        net_db::list(&mut c, &owner, &f, page).await
    }

    /// The caller's domain and its ancestors.
    async fn domain_line(&self, c: &mut Conn, path: &str) -> Result<Vec<i64>, Error> {
        let mut out = Vec::new();
        let mut p = path.to_string();
        loop {
            if let Some(d) = ferrostack_db::domain::by_path(&mut *c, &p).await? {
                out.push(d.id);
            }
            if p == "/" {
                break;
            }
            let trimmed = p.trim_end_matches('/');
            p = match trimmed.rfind('/') {
                Some(i) => trimmed[..=i].to_string(),
                None => "/".to_string(),
            };
        }
        Ok(out)
    }

    pub async fn network_get(&self, uuid: &str) -> Result<Option<Network>, Error> {
        net_db::by_uuid(self.db.read(), uuid).await
    }

    pub async fn network_update(
        &self,
        caller: &Caller,
        uuid: &str,
        name: Option<String>,
        display_text: Option<String>,
        network_domain: Option<String>,
    ) -> Result<Network, Error> {
        let mut tx = self.db.begin().await?;
        let n = self.network_get_for(&mut tx, caller, "id", uuid).await?;
        if name.as_deref().is_some_and(|x| x.trim().is_empty()) {
            return Err(Error::invalid("The network name can't be empty"));
        }
        net_db::update(
            &mut tx,
            n.id,
            &[
                ("name", name),
                ("display_text", display_text),
                ("network_domain", network_domain),
            ],
        )
        .await?;
        let n = net_db::get(&mut *tx, n.id)
            .await?
            .ok_or_else(|| Error::internal("network vanished"))?;
        self.event_done(
            &mut tx,
            caller,
            EventType::NetworkUpdate,
            format!("Updated network {}", n.name),
            Some(&network_resource(&n)),
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok(n)
    }

    /// `restartNetwork` (async).
    pub async fn network_restart(
        &self,
        caller: &Caller,
        uuid: &str,
        cleanup: bool,
        meta: crate::job::JobMeta,
    ) -> Result<Submitted, Error> {
        let mut tx = self.db.begin().await?;
        let n = self.network_get_for(&mut tx, caller, "id", uuid).await?;
        let sub = self
            .job_submit(
                &mut tx,
                caller,
                JobRequest {
                    instance: Some(("Network", n.uuid.clone())),
                    sync_key: format!("network:{}", n.uuid),
                    params: crate::saga::to_params(&crate::network_sagas::RestartParams {
                        network_id: n.id,
                        cleanup,
                    })?,
                    meta,
                    description: format!(
                        "Restarting network {}{}",
                        n.name,
                        if cleanup { " with cleanup" } else { "" }
                    ),
                    resource: Some(network_resource(&n)),
                },
            )
            .await?;
        tx.commit().await.map_err(db_err)?;
        self.jobs.wake();
        Ok(sub)
    }

    /// `deleteNetwork` (async). Refused while VMs use the network, unless forced.
    pub async fn network_delete(
        &self,
        caller: &Caller,
        uuid: &str,
        forced: bool,
        meta: crate::job::JobMeta,
    ) -> Result<Submitted, Error> {
        let mut tx = self.db.begin().await?;
        let n = self.network_get_for(&mut tx, caller, "id", uuid).await?;
        if forced && !caller.is_root_admin() {
            return Err(Error::denied("Only root administrators can force-delete a network"));
        }
        let users = self.network_user_vms(&mut tx, n.id).await?;
        if users > 0 && !forced {
            return Err(Error::in_use(format!(
                "Network {} is in use by {users} virtual machine(s); destroy or move them first, or pass forced=true",
                n.name
            )));
        }
        let sub = self
            .job_submit(
                &mut tx,
                caller,
                JobRequest {
                    instance: Some(("Network", n.uuid.clone())),
                    sync_key: format!("network:{}", n.uuid),
                    params: crate::saga::to_params(&crate::network_sagas::DeleteParams {
                        network_id: n.id,
                        forced,
                    })?,
                    meta,
                    description: format!("Deleting network {}", n.name),
                    resource: Some(network_resource(&n)),
                },
            )
            .await?;
        tx.commit().await.map_err(db_err)?;
        self.jobs.wake();
        Ok(sub)
    }

    /// User VMs with a NIC on the network (routers don't count).
    pub async fn network_user_vms(&self, c: &mut Conn, network_id: i64) -> Result<i64, Error> {
        let ips = net_db::guest_ips_of_network(&mut *c, network_id).await?;
        Ok(ips.iter().filter(|g| g.owner_kind == "UserVm").count() as i64)
    }

    /// Move a network through its state machine (compare-and-set, so concurrent
    /// implementations don't both win).
    pub async fn network_transition(
        &self,
        c: &mut Conn,
        n: &Network,
        event: NetworkEvent,
    ) -> Result<NetworkState, Error> {
        let from = n.state;
        let to = network_transition(from, event)?;
        if !net_db::cas_state(&mut *c, n.id, from, to).await? {
            return Err(Error::ResourceUnavailable(format!(
                "Network {} changed state while being updated; retry the operation",
                n.name
            )));
        }
        Ok(to)
    }
}

/// The typed range of a stored range row.
pub fn range_of(r: &RangeRow) -> Option<IpRange> {
    IpRange::new(r.start_ip.parse().ok()?, r.end_ip.parse().ok()?).ok()
}
