//! Virtual routers: one per guest network whose services use the VirtualRouter provider.
//! Allocated and started when the network is implemented; destroyed on request or with the
//! network. Destroy always converges: a router that never started, whose network, host or
//! template is gone, is cleaned up, never crashed on.

use ferrostack_db::network::{self as net_db, Network};
use ferrostack_db::vm::{self as vm_db, Vm};
use ferrostack_db::{db_err, Conn};
use ferrostack_net::{Provider, ProviderState, Service};
use ferrostack_types::ids::new_uuid;
use ferrostack_types::state::{VmState, VmType};
use ferrostack_types::time::now_ms;
use ferrostack_types::Error;
use ferrostack_types::EventType;

use crate::App;

ferrostack_types::cloudstack_enum! {
    /// The per-zone system networks routers attach to.
    pub enum SystemTraffic {
        Control => "Control",
        Public => "Public",
    }
}

/// Link-local addresses of router control NICs.
pub const CONTROL_CIDR: &str = "169.254.0.0/16";

impl App {
    /// The per-zone system network of a traffic type (Control, Public), created on first use.
    pub async fn system_network(&self, c: &mut Conn, zone_id: i64, kind: SystemTraffic) -> Result<Network, Error> {
        let traffic = kind.as_str();
        if let Some(id) = net_db::system_network_id(&mut *c, zone_id, traffic).await? {
            if let Some(n) = net_db::get(&mut *c, id).await? {
                return Ok(n);
            }
        }
        let system = self.system_caller_in(&mut *c).await?;
        let (cidr, gw, mask) = match kind {
            SystemTraffic::Control => (Some(CONTROL_CIDR), Some("169.254.0.1"), Some("255.255.0.0")),
            SystemTraffic::Public => (None, None, None),
        };
        let uuid = new_uuid();
        let name = format!("{traffic}Network");
        let id = net_db::insert(
            &mut *c,
            net_db::NewNetwork {
                uuid: &uuid,
                name: &name,
                display_text: &name,
                zone_id,
                physical_network_id: None,
                network_offering_id: 0,
                guest_type: "Isolated",
                state: ferrostack_types::state::NetworkState::Setup,
                acl_type: "Domain",
                broadcast_uri: None,
                cidr,
                gateway: gw,
                netmask: mask,
                network_domain: None,
                dns1: None,
                dns2: None,
                account_id: system.account_id.0,
                domain_id: system.domain_id.0,
                now: now_ms(),
            },
        )
        .await?;
        net_db::set_traffic_type(&mut *c, id, traffic).await?;
        net_db::get(&mut *c, id)
            .await?
            .ok_or_else(|| Error::internal("system network vanished"))
    }

    /// Make sure the network's router exists and runs. `Ok(None)` when the network uses no
    /// VirtualRouter service.
    pub async fn router_ensure(&self, network_id: i64) -> Result<Option<Vm>, Error> {
        let mut c = self.db.conn().await?;
        let Some(n) = net_db::get(&mut *c, network_id).await? else {
            return Err(Error::invalid(format!("Network {network_id} no longer exists")));
        };
        let services = self.network_services(&mut c, n.id).await?;
        if !services.values().any(|p| *p == Provider::VirtualRouter) {
            return Ok(None);
        }
        if let Some(pn) = n.physical_network_id {
            match self.provider_state(&mut c, pn, Provider::VirtualRouter).await? {
                Some(ProviderState::Enabled) => {}
                Some(ProviderState::Disabled | ProviderState::Shutdown) | None => {
                    return Err(Error::ResourceUnavailable(format!(
                        "Network {} needs the VirtualRouter provider, which is not enabled in its physical network; \
                         enable it with configureVirtualRouterElement enabled=true and updateNetworkServiceProvider state=Enabled",
                        n.name
                    )))
                }
            }
        }
        drop(c);
        let router = match vm_db::router_of_network(self.db.read(), n.id).await? {
            Some(r) => r,
            None => {
                self.router_allocate(&n, services.contains_key(&Service::SourceNat))
                    .await?
            }
        };
        if router.state == VmState::Running {
            return Ok(Some(router));
        }
        self.vm_start_flow(router.id, None).await?;
        vm_db::get(self.db.read(), router.id).await
    }

    /// Allocate a router for a network: the VM row (Stopped), its NICs and root volume.
    async fn router_allocate(&self, n: &Network, source_nat: bool) -> Result<Vm, Error> {
        let zone = ferrostack_db::zone::get(self.db.read(), n.zone_id)
            .await?
            .ok_or_else(|| Error::invalid("the network's zone no longer exists"))?;
        let local = zone.is_edge() || self.config_bool("system.vm.use.local.storage", Some(zone.id)).await?;
        let offering = self.router_offering(local).await?;
        let setting = self.router_template_setting(zone.id).await?;
        let template_name = self.config_value(&setting, Some(zone.id)).await?;
        let template = vm_db::template_uuid_by_name(self.db.read(), &template_name).await?;
        let template_id = match &template {
            Some(u) => ferrostack_db::template::by_uuid(self.db.read(), u).await?.map(|t| t.id),
            None => None,
        };
        let system = self.system_caller().await?;
        let mut tx = self.db.begin().await?;
        // Another job may have allocated it meanwhile (one router per network).
        net_db::lock_network(&mut tx, self.db.backend(), n.id).await?;
        if let Some(r) = vm_db::router_of_network(&mut *tx, n.id).await? {
            return Ok(r);
        }
        let uuid = new_uuid();
        let id = vm_db::insert(
            &mut tx,
            vm_db::NewVm {
                uuid: &uuid,
                name: "router",
                display_name: "router",
                vm_type: VmType::DomainRouter,
                state: VmState::Stopped,
                zone_id: zone.id,
                template_id,
                service_offering_id: offering.id,
                account_id: system.account_id.0,
                domain_id: system.domain_id.0,
                network_id: Some(n.id),
                cpu: offering.cpu_number.unwrap_or(1),
                cpu_speed: offering.cpu_speed.unwrap_or(500),
                memory: offering.memory_mb.unwrap_or(256),
                password: None,
                user_data: None,
                user_data_id: None,
                user_data_details: None,
                keypairs: None,
                ssh_keys: None,
                dynamically_scalable: false,
                now: now_ms(),
            },
        )
        .await?;
        let vm = vm_db::get(&mut *tx, id)
            .await?
            .ok_or_else(|| Error::internal("router vanished"))?;
        vm_db::set_cols(
            &mut tx,
            id,
            &[
                ("name", ferrostack_db::sql::Arg::Str(vm.instance_name.clone())),
                ("display_name", ferrostack_db::sql::Arg::Str(vm.instance_name.clone())),
            ],
        )
        .await?;
        // Guest NIC: the gateway of an isolated network, an address of a shared one.
        let owner = &uuid;
        let (guest_ip, mac) = if n.guest_type == "Isolated" {
            let gw = n.gateway.clone();
            let r = self.guest_ip_allocate(&mut tx, n, "Router", owner, gw.as_deref()).await;
            match r {
                Ok(x) => x,
                Err(_) => self.guest_ip_allocate(&mut tx, n, "Router", owner, None).await?,
            }
        } else {
            self.guest_ip_allocate(&mut tx, n, "Router", owner, None).await?
        };
        vm_db::insert_nic(
            &mut tx,
            vm_db::NewNic {
                uuid: &new_uuid(),
                vm_id: id,
                network_id: n.id,
                traffic_type: "Guest",
                ip: guest_ip.as_deref(),
                netmask: n.netmask.as_deref(),
                gateway: n.gateway.as_deref(),
                mac: &mac,
                broadcast_uri: n.broadcast_uri.as_deref(),
                device_id: 0,
                is_default: !source_nat,
                now: now_ms(),
            },
        )
        .await?;
        let control = self.system_network(&mut tx, zone.id, SystemTraffic::Control).await?;
        let (cip, cmac) = self.guest_ip_allocate(&mut tx, &control, "Router", owner, None).await?;
        vm_db::insert_nic(
            &mut tx,
            vm_db::NewNic {
                uuid: &new_uuid(),
                vm_id: id,
                network_id: control.id,
                traffic_type: "Control",
                ip: cip.as_deref(),
                netmask: control.netmask.as_deref(),
                gateway: None,
                mac: &cmac,
                broadcast_uri: None,
                device_id: 1,
                is_default: false,
                now: now_ms(),
            },
        )
        .await?;
        if source_nat {
            if let Some(ip) = net_db::source_nat_ip(&mut tx, n.id).await? {
                let public = self.system_network(&mut tx, zone.id, SystemTraffic::Public).await?;
                let ranges = net_db::ranges(&mut tx, zone.id, None).await?;
                let range = ranges.iter().find(|r| r.id == ip.range_id);
                let mac = ferrostack_net::ipam::mac_from_sequence(net_db::next_mac_seq(&mut tx).await? as u64)?;
                vm_db::insert_nic(
                    &mut tx,
                    vm_db::NewNic {
                        uuid: &new_uuid(),
                        vm_id: id,
                        network_id: public.id,
                        traffic_type: "Public",
                        ip: Some(&ip.address),
                        netmask: range.map(|r| r.netmask.as_str()),
                        gateway: range.map(|r| r.gateway.as_str()),
                        mac: &mac,
                        broadcast_uri: ip.vlan.as_deref(),
                        device_id: 2,
                        is_default: true,
                        now: now_ms(),
                    },
                )
                .await?;
            }
        }
        vm_db::insert_volume(
            &mut tx,
            &new_uuid(),
            &format!("ROOT-{id}"),
            id,
            zone.id,
            2 * 1024 * 1024 * 1024,
            system.account_id.0,
            system.domain_id.0,
            template_id,
            now_ms(),
        )
        .await?;
        self.event_done(
            &mut tx,
            &system,
            EventType::RouterCreate,
            format!("Allocated router {} for network {}", vm.instance_name, n.name),
            Some(&crate::event::Resource {
                kind: "DomainRouter",
                uuid: uuid.clone(),
                name: vm.instance_name.clone(),
            }),
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        vm_db::get(self.db.read(), id)
            .await?
            .ok_or_else(|| Error::internal("router vanished"))
    }

    /// The setting naming the router template of a zone: `router.template.<hypervisor>` for
    /// the hypervisor its system VMs run on (CloudStack's `router.template.kvm`, …).
    async fn router_template_setting(&self, zone_id: i64) -> Result<String, Error> {
        let hv = ferrostack_db::zone::system_vm_hypervisor(self.db.read(), zone_id).await?;
        let name = match hv.as_deref().map(str::to_ascii_lowercase).as_deref() {
            Some("kvm") => "router.template.kvm",
            Some(_) | None => "router.template.simulator",
        };
        Ok(name.to_string())
    }

    /// Start hook of routers ([`App::vm_start_flow`]): the template comes from the zone's
    /// setting at each start, so fixing the setting (as the error says) takes effect on the
    /// next start of an existing router; it must be usable in the zone (edge zones need a
    /// direct-download template). Returns the refreshed row.
    pub(crate) async fn router_before_start(&self, router: &Vm) -> Result<Vm, Error> {
        let setting = self.router_template_setting(router.zone_id).await?;
        let name = self.config_value(&setting, Some(router.zone_id)).await?;
        if let Some(uuid) = vm_db::template_uuid_by_name(self.db.read(), &name).await? {
            if router.template_uuid.as_deref() != Some(uuid.as_str()) {
                if let Some(t) = ferrostack_db::template::by_uuid(self.db.read(), &uuid).await? {
                    let mut c = self.db.write_conn().await?;
                    vm_db::set_cols(
                        &mut c,
                        router.id,
                        &[("template_id", ferrostack_db::sql::Arg::I64(t.id))],
                    )
                    .await?;
                }
            }
        }
        let router = vm_db::get(self.db.read(), router.id)
            .await?
            .ok_or_else(|| Error::invalid("The router was removed"))?;
        let fix = format!(
            "register a system VM template with directdownload=true in zone {z} and set the zone setting {setting} to its name \
             (updateConfiguration name={setting} zoneid=<zone>), then restart the network",
            z = router.zone_name
        );
        let Some(template_uuid) = &router.template_uuid else {
            return Err(Error::ResourceUnavailable(format!(
                "Cannot start virtual router {}: no template named '{name}' (setting {setting}) exists; {fix}",
                router.instance_name
            )));
        };
        if let Err(e) = self.template_usable_in_zone(template_uuid, router.zone_id).await {
            return Err(Error::ResourceUnavailable(format!(
                "Cannot start virtual router {} in zone {}: {}; {fix}",
                router.instance_name,
                router.zone_name,
                e.client_message("")
            )));
        }
        Ok(router)
    }

    /// Destroy a router: the VM expunge flow in its converging mode — a forced stop if it
    /// runs (a host that does not answer doesn't block), its addresses, NICs, volumes and
    /// capacity released, the host-side removal recorded as a follow-up. From any state,
    /// whatever is missing around it. Returns the final row (removed).
    pub async fn router_destroy(&self, router_id: i64) -> Result<Option<Vm>, Error> {
        self.vm_expunge(router_id, crate::vmflow::ExpungeMode::Converge).await?;
        vm_db::get_including_removed(self.db.read(), router_id).await
    }

    /// Element shutdown: stop the network's router (it is started again on implement).
    pub async fn router_stop_for_network(&self, network_id: i64) -> Result<(), Error> {
        match vm_db::router_of_network(self.db.read(), network_id).await? {
            Some(r) => match r.state {
                // Nothing runs: nothing to shut down.
                VmState::Stopped | VmState::Destroyed | VmState::Expunging | VmState::Error => Ok(()),
                VmState::Starting
                | VmState::Running
                | VmState::Stopping
                | VmState::Migrating
                | VmState::Unknown
                | VmState::Shutdown => self.vm_stop_flow(r.id, true).await,
            },
            None => Ok(()),
        }
    }

    /// Element destroy: remove the network's router.
    pub async fn router_remove_for_network(&self, network_id: i64) -> Result<(), Error> {
        if let Some(r) = vm_db::router_of_network(self.db.read(), network_id).await? {
            self.router_destroy(r.id).await?;
        }
        Ok(())
    }
}

impl App {
    pub async fn router_get_for(&self, c: &mut Conn, param: &str, uuid: &str) -> Result<Vm, Error> {
        vm_db::by_uuid(&mut *c, uuid)
            .await?
            .filter(|v| v.vm_type == VmType::DomainRouter)
            .ok_or_else(|| Error::unknown_entity(param, uuid))
    }

    /// Submit a router job (start, stop, reboot, destroy). Router jobs and the jobs of the
    /// router's network share nothing but the database: each converges on its own.
    pub async fn router_job(
        &self,
        caller: &crate::Caller,
        uuid: &str,
        meta: crate::job::JobMeta,
        mut params: serde_json::Value,
    ) -> Result<crate::job::Submitted, Error> {
        let mut tx = self.db.begin().await?;
        let r = self.router_get_for(&mut tx, "id", uuid).await?;
        params["vm_id"] = serde_json::json!(r.id);
        let verb = meta.event_type.verb();
        let sub = self
            .job_submit(
                &mut tx,
                caller,
                crate::job::JobRequest {
                    instance: Some(("DomainRouter", r.uuid.clone())),
                    sync_key: format!("vm:{}", r.uuid),
                    params,
                    meta,
                    description: format!("{verb} router {}", r.instance_name),
                    resource: Some(crate::vm::vm_resource(&r)),
                },
            )
            .await?;
        tx.commit().await.map_err(db_err)?;
        self.jobs.wake();
        Ok(sub)
    }

    pub async fn router_list(
        &self,
        mut f: vm_db::VmFilter,
        id: Option<&str>,
        zone: Option<&str>,
        network: Option<&str>,
        host: Option<&str>,
        page: ferrostack_types::Page,
    ) -> Result<(i64, Vec<Vm>, Vec<vm_db::Nic>), Error> {
        let mut c = self.db.conn().await?;
        f.vm_type = Some(VmType::DomainRouter);
        f.include_destroyed = true;
        // A destroyed (expunged) router's id never gets here: the api layer answers it with
        // the empty list before the handler runs.
        if let Some(u) = id {
            f.id = Some(self.router_get_for(&mut c, "id", u).await?.id);
        }
        if let Some(z) = zone {
            f.zone_id = Some(self.zone_get_for(&mut c, "zoneid", z).await?.id);
        }
        if let Some(n) = network {
            f.router_network_id = Some(
                net_db::by_uuid(&mut *c, n)
                    .await?
                    .ok_or_else(|| Error::unknown_entity("networkid", n))?
                    .id,
            );
        }
        if let Some(h) = host {
            f.host_id = Some(self.host_get_for(&mut c, "hostid", h).await?.id);
        }
        let (total, rows) = vm_db::list(&mut c, &ferrostack_db::account::OwnerScope::All, &f, page).await?;
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let nics = vm_db::nics_of(&mut c, &ids).await?;
        Ok((total, rows, nics))
    }

    /// `changeServiceForRouter`: the router must be stopped.
    pub async fn router_change_offering(
        &self,
        caller: &crate::Caller,
        uuid: &str,
        offering_uuid: &str,
    ) -> Result<Vm, Error> {
        let mut tx = self.db.begin().await?;
        let r = self.router_get_for(&mut tx, "id", uuid).await?;
        if r.state != VmState::Stopped {
            return Err(Error::invalid(format!(
                "Router {} is {}; stop it before changing its service offering",
                r.instance_name, r.state
            )));
        }
        let o = ferrostack_db::offering::service_by_uuid(&mut *tx, offering_uuid)
            .await?
            .filter(|o| o.is_system == 1 && o.system_vm_type.as_deref() == Some("domainrouter"))
            .ok_or_else(|| {
                Error::invalid(format!("{offering_uuid} is not a system offering for routers; pick one from listServiceOfferings issystem=true systemvmtype=domainrouter"))
            })?;
        use ferrostack_db::sql::Arg;
        vm_db::set_cols(
            &mut tx,
            r.id,
            &[
                ("service_offering_id", Arg::I64(o.id)),
                ("cpu", Arg::I64(o.cpu_number.unwrap_or(1))),
                ("cpu_speed", Arg::I64(o.cpu_speed.unwrap_or(500))),
                ("memory", Arg::I64(o.memory_mb.unwrap_or(256))),
            ],
        )
        .await?;
        self.event_done(
            &mut tx,
            caller,
            EventType::RouterUpgrade,
            format!("Changed the offering of router {} to {}", r.instance_name, o.name),
            Some(&crate::vm::vm_resource(&r)),
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        vm_db::get(self.db.read(), r.id)
            .await?
            .ok_or_else(|| Error::internal("router vanished"))
    }
}
