//! Network service providers of a physical network and the virtual router elements of the
//! router providers.

use ferrostack_db::physnet::{self as pn_db, NspFilter, ServiceProvider, VrElement, VrFilter};
use ferrostack_db::{db_err, Conn};
use ferrostack_net::{Provider, ProviderState};
use ferrostack_types::{Error, Page};

use super::{resource, router_element_type, Change, NewNsp, NspAdd, PhysnetOp, PhysnetParams};
use crate::job::Submitted;
use crate::{App, Caller};

impl App {
    pub async fn nsp_get_for(&self, c: &mut Conn, param: &str, uuid: &str) -> Result<ServiceProvider, Error> {
        pn_db::nsp_by_uuid(&mut *c, uuid)
            .await?
            .ok_or_else(|| Error::unknown_entity(param, uuid))
    }

    pub async fn nsp_get(&self, uuid: &str) -> Result<Option<ServiceProvider>, Error> {
        pn_db::nsp_by_uuid(self.db.read(), uuid).await
    }

    /// Services a provider may offer: a comma list, each supported by the provider.
    fn nsp_services(provider: Provider, list: &str) -> Result<String, Error> {
        let mut out: Vec<&'static str> = Vec::new();
        for s in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let svc = ferrostack_net::Service::parse_param("servicelist", s)?;
            let single = std::iter::once((svc, provider)).collect();
            ferrostack_net::validate_service_providers(&single)?;
            if !out.contains(&svc.as_str()) {
                out.push(svc.as_str());
            }
        }
        if out.is_empty() {
            return Err(Error::invalid("The servicelist is empty; give at least one service"));
        }
        Ok(out.join(","))
    }

    /// `addNetworkServiceProvider` (async create): added Disabled.
    pub async fn nsp_add(&self, caller: &Caller, a: NspAdd, meta: crate::job::JobMeta) -> Result<Submitted, Error> {
        let provider = Provider::parse_param("name", &a.name)?;
        let services = a
            .services
            .as_deref()
            .map(|s| Self::nsp_services(provider, s))
            .transpose()?;
        let mut tx = self.db.begin().await?;
        let p = self
            .physnet_get_for(&mut tx, "physicalnetworkid", &a.physnet_uuid)
            .await?;
        let dest = match &a.dest_physnet_uuid {
            Some(u) => Some(
                self.physnet_get_for(&mut tx, "destinationphysicalnetworkid", u)
                    .await?
                    .id,
            ),
            None => None,
        };
        let n = NewNsp {
            provider,
            state: ProviderState::Disabled,
            dest,
            services: services.as_deref(),
        };
        let (uuid, id) = self.nsp_insert(&mut tx, p.id, n).await?;
        let mut sub = self
            .physnet_submit(
                &mut tx,
                caller,
                Change {
                    meta,
                    instance: ("PhysicalNetworkServiceProvider", uuid.clone()),
                    physnet_uuid: p.uuid.clone(),
                    params: PhysnetParams::job(id, PhysnetOp::NspAdd)?,
                    description: format!("Adding provider {provider} to physical network {}", p.name),
                    resource: resource("NetworkServiceProvider", &uuid, provider.as_str()),
                },
            )
            .await?;
        tx.commit().await.map_err(db_err)?;
        self.jobs.wake();
        sub.entity_uuid = Some(uuid);
        Ok(sub)
    }

    pub async fn nsp_list(
        &self,
        mut f: NspFilter,
        physnet: Option<&str>,
        page: Page,
    ) -> Result<(i64, Vec<ServiceProvider>), Error> {
        let mut c = self.db.conn().await?;
        if let Some(u) = physnet {
            f.physical_network_id = Some(self.physnet_get_for(&mut c, "physicalnetworkid", u).await?.id);
        }
        pn_db::list_nsp(&mut c, &f, page).await
    }

    /// Validate a provider update; returns the columns to set.
    pub(super) async fn nsp_update_cols(
        &self,
        c: &mut Conn,
        n: &ServiceProvider,
        state: Option<&str>,
        services: Option<&str>,
    ) -> Result<Vec<(&'static str, Option<String>)>, Error> {
        let provider = Provider::parse(&n.provider)
            .ok_or_else(|| Error::internal(format!("unknown provider {} in the database", n.provider)))?;
        let state = state.map(|s| ProviderState::parse_param("state", s)).transpose()?;
        if state == Some(ProviderState::Enabled) && router_element_type(provider).is_some() {
            match pn_db::vr_by_nsp(c, n.id).await? {
                Some(e) if e.enabled == 1 => {}
                Some(e) => {
                    return Err(Error::invalid(format!(
                        "Provider {} is not ready to be enabled: its virtual router element is not configured; \
                         call configureVirtualRouterElement id={} enabled=true first",
                        n.provider, e.uuid
                    )))
                }
                None => {
                    return Err(Error::invalid(format!(
                        "Provider {} has no virtual router element; delete and re-add the provider",
                        n.provider
                    )))
                }
            }
        }
        let services = services.map(|s| Self::nsp_services(provider, s)).transpose()?;
        Ok(vec![
            ("state", state.map(|s| s.as_str().to_string())),
            ("services", services),
        ])
    }

    /// `updateNetworkServiceProvider` (async): state Enabled|Disabled|Shutdown, servicelist.
    pub async fn nsp_update(
        &self,
        caller: &Caller,
        uuid: &str,
        state: Option<String>,
        services: Option<String>,
        meta: crate::job::JobMeta,
    ) -> Result<Submitted, Error> {
        let mut tx = self.db.begin().await?;
        let n = self.nsp_get_for(&mut tx, "id", uuid).await?;
        self.nsp_update_cols(&mut tx, &n, state.as_deref(), services.as_deref())
            .await?;
        let sub = self
            .physnet_submit(
                &mut tx,
                caller,
                Change {
                    meta,
                    instance: ("PhysicalNetworkServiceProvider", n.uuid.clone()),
                    physnet_uuid: n.physical_network_uuid.clone(),
                    params: PhysnetParams::job(
                        n.id,
                        PhysnetOp::NspUpdate {
                            state: state.clone(),
                            services: services.clone(),
                        },
                    )?,
                    description: format!(
                        "Updating provider {} of physical network {}",
                        n.provider, n.physical_network_name
                    ),
                    resource: resource("NetworkServiceProvider", &n.uuid, &n.provider),
                },
            )
            .await?;
        tx.commit().await.map_err(db_err)?;
        self.jobs.wake();
        Ok(sub)
    }

    /// `deleteNetworkServiceProvider` (async).
    pub async fn nsp_delete(&self, caller: &Caller, uuid: &str, meta: crate::job::JobMeta) -> Result<Submitted, Error> {
        let mut tx = self.db.begin().await?;
        let n = self.nsp_get_for(&mut tx, "id", uuid).await?;
        let sub = self
            .physnet_submit(
                &mut tx,
                caller,
                Change {
                    meta,
                    instance: ("PhysicalNetworkServiceProvider", n.uuid.clone()),
                    physnet_uuid: n.physical_network_uuid.clone(),
                    params: PhysnetParams::job(n.id, PhysnetOp::NspDelete)?,
                    description: format!(
                        "Deleting provider {} of physical network {}",
                        n.provider, n.physical_network_name
                    ),
                    resource: resource("NetworkServiceProvider", &n.uuid, &n.provider),
                },
            )
            .await?;
        tx.commit().await.map_err(db_err)?;
        self.jobs.wake();
        Ok(sub)
    }

    pub async fn vr_get_for(&self, c: &mut Conn, param: &str, uuid: &str) -> Result<VrElement, Error> {
        pn_db::vr_by_uuid(&mut *c, uuid)
            .await?
            .ok_or_else(|| Error::unknown_entity(param, uuid))
    }

    pub async fn vr_get(&self, uuid: &str) -> Result<Option<VrElement>, Error> {
        pn_db::vr_by_uuid(self.db.read(), uuid).await
    }

    pub async fn vr_list(
        &self,
        mut f: VrFilter,
        id: Option<&str>,
        nsp: Option<&str>,
        page: Page,
    ) -> Result<(i64, Vec<VrElement>), Error> {
        let mut c = self.db.conn().await?;
        if let Some(u) = id {
            f.id = Some(self.vr_get_for(&mut c, "id", u).await?.id);
        }
        if let Some(u) = nsp {
            f.nsp_id = Some(self.nsp_get_for(&mut c, "nspid", u).await?.id);
        }
        pn_db::list_vr(&mut c, &f, page).await
    }

    /// `configureVirtualRouterElement` (async).
    pub async fn vr_configure(
        &self,
        caller: &Caller,
        uuid: &str,
        enabled: bool,
        meta: crate::job::JobMeta,
    ) -> Result<Submitted, Error> {
        let mut tx = self.db.begin().await?;
        let e = self.vr_get_for(&mut tx, "id", uuid).await?;
        let n = pn_db::nsp_get(&mut *tx, e.nsp_id)
            .await?
            .ok_or_else(|| Error::unknown_entity("id", uuid))?;
        let sub = self
            .physnet_submit(
                &mut tx,
                caller,
                Change {
                    meta,
                    instance: ("VirtualRouterElement", e.uuid.clone()),
                    physnet_uuid: n.physical_network_uuid.clone(),
                    params: PhysnetParams::job(e.id, PhysnetOp::VrConfigure { enabled })?,
                    description: format!(
                        "Configuring the {} element of physical network {}",
                        n.provider, n.physical_network_name
                    ),
                    resource: resource("VirtualRouterElement", &e.uuid, &n.provider),
                },
            )
            .await?;
        tx.commit().await.map_err(db_err)?;
        self.jobs.wake();
        Ok(sub)
    }
}
