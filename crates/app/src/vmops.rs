//! VM orchestration primitives shared by the VM and router jobs: placement and start on a
//! host, stop, capacity accounting, network element calls for NICs, config drives, router
//! configuration batches.
//!
//! The rule of this file: a state change is a committed fact. Work that follows it (delete a
//! config drive, drop a VM's DHCP entry from its router) is recorded as a
//! [`FollowUp`](crate::followup::FollowUp) in the same transaction and done afterwards by
//! [`App::followup_tick`] — never as part of the change itself.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use ferrostack_agent_api::{
    AgentError, ConfigDriveImage, DiskFormat, NicSpec, NicTraffic, PoolSpec, RootDisk, RouterConfig, RouterVmEntry,
    TemplateSpec, VmKind as AgentVmKind, VmSpec,
};
use ferrostack_db::network::{self as net_db, Network};
use ferrostack_db::vm::{self as vm_db, Nic, Vm};
use ferrostack_db::{db_err, Conn};
use ferrostack_net::{GuestType, NetworkCtx, NicCtx, Provider, Service, TrafficType, VmKind, ZoneType};
use ferrostack_types::state::{VmState, VmType};
use ferrostack_types::time::now_ms;
use ferrostack_types::Error;

use crate::followup::FollowUp;
use crate::App;

pub fn agent_err(what: &str, e: AgentError) -> Error {
    match e {
        AgentError::Unreachable(m) => Error::ResourceUnavailable(format!("{what}: the host is unreachable ({m})")),
        AgentError::Failed(m) => Error::ResourceUnavailable(format!("{what}: {m}")),
        AgentError::Unsupported(m) => Error::unsupported(format!("{what}: {m}")),
    }
}

fn parse_ip(v: &Option<String>) -> Option<Ipv4Addr> {
    v.as_deref().and_then(|s| s.parse().ok())
}

impl App {
    /// What network elements need to know about a network (read from the network's own row
    /// and service map; works for removed networks too).
    pub async fn network_ctx(&self, c: &mut Conn, n: &Network) -> Result<NetworkCtx, Error> {
        let services = self.network_services(c, n.id).await?;
        Ok(NetworkCtx {
            network_id: n.id,
            network_uuid: n.uuid.clone(),
            name: n.name.clone(),
            zone_id: n.zone_id,
            zone_uuid: n.zone_uuid.clone(),
            zone_type: if n.zone_type == "Edge" {
                ZoneType::Edge
            } else {
                ZoneType::Core
            },
            account_id: n.account_id,
            domain_id: n.domain_id,
            guest_type: GuestType::parse(&n.guest_type).unwrap_or(GuestType::Shared),
            traffic_type: TrafficType::parse(&n.traffic_type).unwrap_or(TrafficType::Guest),
            state: n.state,
            services,
            cidr: n.cidr.as_deref().and_then(|c| ferrostack_net::Cidr::parse(c).ok()),
            gateway: parse_ip(&n.gateway),
            vlan: n.broadcast_uri.clone(),
            network_domain: n.network_domain.clone(),
            dns1: parse_ip(&n.dns1),
            dns2: parse_ip(&n.dns2),
            physical_network_id: n.physical_network_id,
            vpc_id: None,
        })
    }

    pub fn nic_ctx(vm: &Vm, nic: &Nic) -> NicCtx {
        NicCtx {
            nic_id: nic.id,
            nic_uuid: nic.uuid.clone(),
            vm_id: vm.id,
            vm_uuid: vm.uuid.clone(),
            vm_instance_name: vm.instance_name.clone(),
            vm_kind: match vm.vm_type {
                VmType::DomainRouter => VmKind::DomainRouter,
                VmType::User => VmKind::User,
            },
            host_id: vm.host_id.or(vm.last_host_id),
            mac: nic.mac.clone(),
            ip4: parse_ip(&nic.ip),
            netmask: parse_ip(&nic.netmask),
            gateway: parse_ip(&nic.gateway),
            is_default: nic.is_default == 1,
            device_id: nic.device_id as u32,
        }
    }

    /// Record follow-ups for NICs that leave their networks (expunge): one `element.release`
    /// per provider the NIC's network uses for a VM-facing service (DHCP, DNS, user data).
    pub async fn enqueue_nic_releases(&self, c: &mut Conn, vm: &Vm, nics: &[Nic]) -> Result<(), Error> {
        self.enqueue_releases(c, vm, nics, None).await
    }

    /// The same, limited to `providers` (a stop releases only a user VM's config drive).
    pub async fn enqueue_releases_for(
        &self,
        c: &mut Conn,
        vm: &Vm,
        nics: &[Nic],
        providers: &[Provider],
    ) -> Result<(), Error> {
        self.enqueue_releases(c, vm, nics, Some(providers)).await
    }

    async fn enqueue_releases(
        &self,
        c: &mut Conn,
        vm: &Vm,
        nics: &[Nic],
        only: Option<&[Provider]>,
    ) -> Result<(), Error> {
        for nic in nics {
            let services = self.network_services(c, nic.network_id).await?;
            let mut providers: Vec<Provider> = Vec::new();
            for s in [Service::Dhcp, Service::Dns, Service::UserData] {
                if let Some(p) = ferrostack_net::provider_for(&services, s) {
                    if !providers.contains(&p) && only.is_none_or(|o| o.contains(&p)) {
                        providers.push(p);
                    }
                }
            }
            for p in providers {
                let f = FollowUp::ElementRelease {
                    provider: p,
                    network_id: nic.network_id,
                    nic: Self::nic_ctx(vm, nic),
                };
                self.followup_enqueue(c, &f).await?;
            }
        }
        Ok(())
    }

    /// Record the removal of a VM from a host (after expunge, or a start that could not be
    /// stopped there): carried out when the host answers.
    pub async fn followup_host_destroy_enqueue(
        &self,
        c: &mut Conn,
        host_id: i64,
        instance_name: &str,
    ) -> Result<(), Error> {
        let f = FollowUp::HostDestroy {
            host_id,
            instance_name: instance_name.to_string(),
        };
        self.followup_enqueue(c, &f).await
    }

    /// Release the capacity a VM holds on a host, exactly once (compare-and-set on the VM's
    /// `capacity_host_id`).
    pub async fn vm_release_capacity(&self, c: &mut Conn, vm: &Vm) -> Result<(), Error> {
        let Some(h) = vm.capacity_host_id else { return Ok(()) };
        let r = vm_db::clear_capacity_host(c, vm.id, h).await?;
        if r {
            vm_db::release_capacity(c, h, vm.cpu * vm.cpu_speed, vm.memory * 1024 * 1024).await?;
        }
        Ok(())
    }

    /// The spec a host needs to start the VM.
    pub async fn vm_spec(&self, c: &mut Conn, vm: &Vm, config_drive: Option<String>) -> Result<VmSpec, Error> {
        let nics = vm_db::nics_of(c, &[vm.id]).await?;
        let mut boot_args = BTreeMap::new();
        let kind = match vm.vm_type {
            VmType::DomainRouter => {
                boot_args.insert("type".to_string(), "router".to_string());
                if let Some(n) = &vm.network_uuid {
                    boot_args.insert("network".to_string(), n.clone());
                }
                AgentVmKind::DomainRouter
            }
            VmType::User => AgentVmKind::User,
        };
        Ok(VmSpec {
            name: vm.instance_name.clone(),
            kind,
            cpus: vm.cpu as u32,
            cpu_speed_mhz: vm.cpu_speed as u64,
            memory_bytes: (vm.memory * 1024 * 1024) as u64,
            uuid: vm.uuid.clone(),
            root_disk: None,
            nics: nics
                .iter()
                .map(|n| NicSpec {
                    traffic: match n.traffic_type.as_str() {
                        "Control" => NicTraffic::Control,
                        "Public" => NicTraffic::Public,
                        _ => NicTraffic::Guest,
                    },
                    mac: n.mac.clone(),
                    ip: n.ip.clone(),
                    netmask: n.netmask.clone(),
                    gateway: n.gateway.clone(),
                    broadcast_uri: n.broadcast_uri.clone(),
                    is_default: n.is_default == 1,
                    device_id: n.device_id as u32,
                })
                .collect(),
            boot_args,
            config_drive,
            data_disks: Vec::new(),
            iso: self.vm_iso_spec(c, vm).await?,
        })
    }

    /// The root disk a host builds for the VM: its root volume on the host's pool, an overlay
    /// on the VM's template. Errors say what the operator must add.
    async fn vm_root_disk(&self, c: &mut Conn, vm: &Vm, host_id: i64) -> Result<RootDisk, Error> {
        let template = match vm.template_id {
            Some(t) => ferrostack_db::template::get(&mut *c, t).await?,
            None => None,
        }
        .ok_or_else(|| {
            Error::ResourceUnavailable(format!(
                "{} has no template to boot from; it can't start on a host that boots from disk",
                vm.instance_name
            ))
        })?;
        // Deployed from an ISO (its template is the ISO): a blank root disk.
        let blank = crate::template::is_iso(&template);
        let format = match template.format.to_ascii_uppercase().as_str() {
            "QCOW2" => DiskFormat::Qcow2,
            "RAW" | "ISO" => DiskFormat::Raw,
            other => {
                return Err(Error::invalid(format!(
                    "Template {} is in format {other}; KVM hosts boot QCOW2 or RAW templates",
                    template.name
                )))
            }
        };
        let p = ferrostack_db::volume::root_placement(&mut *c, vm.id, host_id)
            .await?
            .ok_or_else(|| {
                Error::ResourceUnavailable(format!(
                    "No primary storage for the root disk of {} on host {host_id}: add a pool the host reaches \
                     (createStoragePool scope=host url=local:///var/lib/ferrostack/pool, or a cluster/zone pool)",
                    vm.instance_name
                ))
            })?;
        if p.pool_type == "NetworkFilesystem" || p.pool_type == "RBD" {
            return Err(Error::ResourceUnavailable(format!(
                "Pool {} is {}; KVM hosts here use directory pools (local:// or sharedmountpoint://), \
                 mounting {} pools on the host is not supported yet",
                p.pool_name, p.pool_type, p.pool_type
            )));
        }
        Ok(RootDisk {
            volume: format!("{}.qcow2", p.volume_uuid),
            size_bytes: u64::try_from(p.size).ok().filter(|s| *s > 0),
            pool: PoolSpec {
                uuid: p.pool_uuid,
                path: p.pool_path,
            },
            template: (!blank).then(|| TemplateSpec {
                uuid: template.uuid,
                url: template.url,
                format,
                checksum: template.checksum.filter(|c| !c.trim().is_empty()),
                direct_download: template.direct_download == 1,
            }),
        })
    }

    /// Place a VM on a host with room and start it there, trying other hosts when one fails.
    /// Idempotent: a reservation left by an interrupted attempt is released first. Returns the
    /// host id. The VM's config drive, if any, is put on the chosen host before it starts;
    /// `preferred` pins the VM to one host (admins' `hostid`).
    pub async fn vm_place_and_start(&self, vm: &Vm, preferred: Option<i64>) -> Result<i64, Error> {
        {
            let mut tx = self.db.begin().await?;
            if let Some(fresh) = vm_db::get(&mut *tx, vm.id).await? {
                self.vm_release_capacity(&mut tx, &fresh).await?;
            }
            tx.commit().await.map_err(db_err)?;
        }
        let cpu_mhz = vm.cpu * vm.cpu_speed;
        let mem = vm.memory * 1024 * 1024;
        let mut tried: Vec<i64> = Vec::new();
        let mut last_error: Option<String> = None;
        loop {
            let mut c = self.db.conn().await?;
            let mut candidates =
                vm_db::placement_candidates(&mut c, vm.zone_id, cpu_mhz, mem, vm.template_hypervisor.as_deref())
                    .await?;
            drop(c);
            if let Some(h) = preferred {
                candidates.retain(|(id, _)| *id == h);
                if candidates.is_empty() && tried.is_empty() {
                    return Err(Error::InsufficientCapacity(format!(
                        "The requested host can't take {}: it is not Up and Enabled in zone {} or lacks {} MHz CPU / {} MB RAM",
                        vm.instance_name, vm.zone_name, cpu_mhz, vm.memory
                    )));
                }
            }
            let Some((host_id, _)) = candidates.into_iter().find(|(h, _)| !tried.contains(h)) else {
                return Err(Error::InsufficientCapacity(match last_error {
                    Some(e) => format!(
                        "Unable to start {} on any host in zone {}: the last attempt failed with: {e}",
                        vm.instance_name, vm.zone_name
                    ),
                    None => format!(
                        "Unable to start {}: no Up and Enabled {}host in zone {} has {} MHz CPU and {} MB RAM free; add hosts or free capacity",
                        vm.instance_name,
                        vm.template_hypervisor.as_deref().map(|h| format!("{h} ")).unwrap_or_default(),
                        vm.zone_name,
                        cpu_mhz,
                        vm.memory
                    ),
                }));
            };
            tried.push(host_id);
            let mut tx = self.db.begin().await?;
            if !vm_db::reserve_capacity(&mut tx, host_id, cpu_mhz, mem).await? {
                continue;
            }
            vm_db::set_cols(
                &mut tx,
                vm.id,
                &[("capacity_host_id", ferrostack_db::sql::Arg::I64(host_id))],
            )
            .await?;
            tx.commit().await.map_err(db_err)?;
            let attempt = self.vm_start_on(vm, host_id).await;
            match attempt {
                Ok(()) => return Ok(host_id),
                Err(e) => {
                    tracing::info!(vm = %vm.instance_name, host = host_id, error = %e, "start failed on host; trying another");
                    let mut tx = self.db.begin().await?;
                    if let Some(fresh) = vm_db::get(&mut *tx, vm.id).await? {
                        self.vm_release_capacity(&mut tx, &fresh).await?;
                    }
                    tx.commit().await.map_err(db_err)?;
                    last_error = Some(e.client_message(""));
                }
            }
        }
    }

    /// Start on one host: config drive (if a NIC's network uses ConfigDrive), then the VM.
    async fn vm_start_on(&self, vm: &Vm, host_id: i64) -> Result<(), Error> {
        let agent = self
            .agents
            .get(host_id)
            .ok_or_else(|| Error::ResourceUnavailable(format!("host {host_id} has no connected agent")))?;
        let mut placed = vm.clone();
        placed.host_id = Some(host_id);
        let drive = self.configdrive_put(&placed, host_id).await?;
        let mut c = self.db.conn().await?;
        let mut spec = self.vm_spec(&mut c, &placed, drive).await?;
        if self.agents.needs_root_disk(host_id) {
            spec.root_disk = Some(self.vm_root_disk(&mut c, &placed, host_id).await?);
        }
        let root_pool = spec.root_disk.as_ref().map(|r| r.pool.clone());
        spec.data_disks = self.vm_data_disks(&mut c, vm.id, root_pool.as_ref()).await?;
        drop(c);
        let started = agent.start_vm(&spec).await;
        if started.is_err() && spec.config_drive.is_some() {
            // The VM doesn't run here: its drive must not stay behind on this host (the next
            // attempt, here or elsewhere, puts a fresh one).
            if let Err(e) = agent.delete_config_drive(&vm.instance_name).await {
                tracing::warn!(vm = %vm.instance_name, host = host_id, error = %e, "could not remove the config drive of a failed start");
            }
        }
        started.map_err(|e| agent_err(&format!("Starting {} on host {host_id}", vm.instance_name), e))
    }

    /// Stop a VM on its host. An unreachable or removed host is an error unless `forced`.
    pub async fn vm_stop_on_host(&self, vm: &Vm, forced: bool) -> Result<(), Error> {
        let Some(host_id) = vm.host_id else { return Ok(()) };
        self.vm_stop_on(vm, host_id, forced).await
    }

    /// Stop a VM on a given host (an undo may know the host before the row does).
    pub async fn vm_stop_on(&self, vm: &Vm, host_id: i64, forced: bool) -> Result<(), Error> {
        let Some(agent) = self.agents.get(host_id) else {
            if forced {
                return Ok(());
            }
            return Err(Error::ResourceUnavailable(format!(
                "The host of {} is not connected; stop it with forced=true to mark it stopped anyway",
                vm.instance_name
            )));
        };
        match agent.stop_vm(&vm.instance_name, forced).await {
            Ok(()) => Ok(()),
            Err(AgentError::Unreachable(_)) if forced => Ok(()),
            Err(e) => Err(agent_err(&format!("Stopping {}", vm.instance_name), e)),
        }
    }

    /// Build the VM's config drive and store it on the host, if any of its NICs' networks
    /// uses ConfigDrive. Returns the path the host knows it under.
    pub async fn configdrive_put(&self, vm: &Vm, host_id: i64) -> Result<Option<String>, Error> {
        match vm.vm_type {
            VmType::DomainRouter => return Ok(None),
            VmType::User => {}
        }
        let mut c = self.db.conn().await?;
        let nics = vm_db::nics_of(&mut c, &[vm.id]).await?;
        let mut infos = Vec::new();
        let mut uses = false;
        let mut ud_here = false;
        for nic in &nics {
            let services = self.network_services(&mut c, nic.network_id).await?;
            let cd = |s| ferrostack_net::provider_for(&services, s) == Some(Provider::ConfigDrive);
            let svc = ferrostack_configdrive::ConfigDriveServices {
                dhcp: cd(Service::Dhcp),
                dns: cd(Service::Dns),
                user_data: cd(Service::UserData),
            };
            uses |= svc.dhcp || svc.dns || svc.user_data;
            ud_here |= svc.user_data;
            infos.push(ferrostack_configdrive::NicInfo {
                uuid: nic.uuid.clone(),
                device_id: nic.device_id as u32,
                mac: Some(nic.mac.clone()),
                mtu: None,
                ipv4: nic.ip.as_ref().map(|ip| ferrostack_configdrive::NicIpv4 {
                    address: ip.clone(),
                    netmask: nic.netmask.clone(),
                    gateway: nic.gateway.clone(),
                }),
                ipv6: None,
                dns: Vec::new(),
                services: svc,
            });
        }
        if !uses {
            return Ok(None);
        }
        let password = if ud_here {
            vm_db::password(&mut *c, vm.id).await?
        } else {
            None
        };
        let keys = if ud_here {
            vm_db::ssh_keys(&mut *c, vm.id).await?
        } else {
            Vec::new()
        };
        drop(c);
        let user_data = match (&vm.user_data, ud_here) {
            (Some(b64), true) => Some(
                base64_decode(b64)
                    .map_err(|_| Error::internal(format!("stored user data of {} is not base64", vm.uuid)))?,
            ),
            (Some(_), false) | (None, true) | (None, false) => None,
        };
        let details: BTreeMap<String, String> = vm
            .user_data_details
            .as_deref()
            .and_then(|d| serde_json::from_str(d).ok())
            .unwrap_or_default();
        let input = ferrostack_configdrive::ConfigDriveInput {
            vm_uuid: vm.uuid.clone(),
            hostname: vm.name.clone(),
            zone_name: vm.zone_name.clone(),
            service_offering: vm.offering_name.clone().unwrap_or_default(),
            guest_ip: nics.iter().find(|n| n.is_default == 1).and_then(|n| n.ip.clone()),
            public_address: ferrostack_configdrive::PublicAddress::NotAssociated,
            user_data,
            user_data_details: details,
            password,
            public_keys: keys,
            nics: infos,
            timestamp: (now_ms() / 1000) as u64,
            ..Default::default()
        };
        let iso = ferrostack_configdrive::build_iso(&input)
            .map_err(|e| Error::invalid(format!("Cannot build the config drive of {}: {e}", vm.instance_name)))?;
        let agent = self
            .agents
            .get(host_id)
            .ok_or_else(|| Error::ResourceUnavailable(format!("host {host_id} has no connected agent")))?;
        let image = ConfigDriveImage {
            vm_name: vm.instance_name.clone(),
            file_name: ferrostack_configdrive::iso_file_name(&vm.instance_name),
            iso,
        };
        agent
            .put_config_drive(&image)
            .await
            .map_err(|e| agent_err(&format!("Storing the config drive of {}", vm.instance_name), e))?;
        Ok(Some(ferrostack_configdrive::config_drive_path(&vm.instance_name)))
    }

    /// The whole configuration a network's router serves, as one batch.
    pub async fn router_config(&self, c: &mut Conn, n: &Network) -> Result<RouterConfig, Error> {
        let services = self.network_services(c, n.id).await?;
        let vr = |s| ferrostack_net::provider_for(&services, s) == Some(Provider::VirtualRouter);
        // One query for the whole network, however many VMs it has.
        let rows = vm_db::router_entries(c, n.id).await?;
        let with_user_data = vr(Service::UserData);
        let mut entries = Vec::with_capacity(rows.len());
        for r in rows {
            let mut metadata = BTreeMap::new();
            metadata.insert("instance-id".to_string(), r.vm_uuid);
            metadata.insert("local-hostname".to_string(), r.name.clone());
            metadata.insert("availability-zone".to_string(), r.zone_name);
            if let Some(ip) = &r.ip {
                metadata.insert("local-ipv4".to_string(), ip.clone());
            }
            let (password, keys) = if with_user_data {
                (r.password, r.ssh_keys)
            } else {
                (None, None)
            };
            entries.push(RouterVmEntry {
                vm_name: r.instance_name,
                hostname: r.name,
                mac: r.mac,
                ip: r.ip.unwrap_or_default(),
                default_nic: r.is_default == 1,
                user_data: if with_user_data { r.user_data } else { None },
                metadata,
                password,
                ssh_public_keys: keys
                    .map(|k| k.lines().filter(|l| !l.trim().is_empty()).map(str::to_string).collect())
                    .unwrap_or_default(),
            });
        }
        Ok(RouterConfig {
            network: n.uuid.clone(),
            dhcp: vr(Service::Dhcp),
            dns: vr(Service::Dns),
            user_data: vr(Service::UserData),
            domain: n.network_domain.clone(),
            dns_servers: [n.dns1.clone(), n.dns2.clone()].into_iter().flatten().collect(),
            entries,
        })
    }

    /// Push the network's full router configuration in one call. Nothing to do (Ok) when the
    /// network is gone or has no running router.
    pub async fn router_program(&self, network_id: i64) -> Result<(), Error> {
        let mut c = self.db.conn().await?;
        let Some(router) = vm_db::router_of_network(&mut *c, network_id).await? else {
            return Ok(());
        };
        if router.state != VmState::Running {
            return Ok(());
        }
        let Some(host) = router.host_id else { return Ok(()) };
        drop(c);
        self.router_program_on(&router, host).await
    }

    /// Push a network's full router configuration to its router on `host` (also while the
    /// router is still Starting there).
    /// Concurrent calls for one router share rounds (see [`crate::coalesce`]): each returns
    /// once a configuration read after it was called has been applied.
    pub async fn router_program_on(&self, router: &Vm, host: i64) -> Result<(), Error> {
        self.router_rounds
            .run(router.id, || self.router_program_round(router, host))
            .await
    }

    async fn router_program_round(&self, router: &Vm, host: i64) -> Result<(), Error> {
        let Some(network_id) = router.network_id else {
            return Ok(());
        };
        let mut c = self.db.conn().await?;
        let Some(n) = net_db::get(&mut *c, network_id).await? else {
            return Ok(());
        };
        let cfg = self.router_config(&mut c, &n).await?;
        drop(c);
        let agent = self.agents.get(host).ok_or_else(|| {
            Error::ResourceUnavailable(format!("the host of router {} is not connected", router.instance_name))
        })?;
        agent
            .program_router(&router.instance_name, &cfg)
            .await
            .map_err(|e| agent_err(&format!("Programming router {}", router.instance_name), e))
    }
}

pub fn base64_decode(s: &str) -> Result<Vec<u8>, base64::DecodeError> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(s.trim())
}
