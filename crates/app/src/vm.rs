//! User VMs: deploy (async create), list, start/stop/reboot/destroy/recover/expunge, update,
//! user data, passwords and SSH keys, NICs and volumes.

use ferrostack_types::EventType;
use std::collections::BTreeMap;

use ferrostack_db::account::OwnerScope;
use ferrostack_db::vm::{self as vm_db, Nic, Vm, VmFilter, Volume, VolumeFilter};
use ferrostack_db::{db_err, Conn};
use ferrostack_types::ids::new_uuid;
use ferrostack_types::state::{VmEvent, VmState, VmType};
use ferrostack_types::time::now_ms;
use ferrostack_types::{Error, Page, RoleType};
use serde_json::json;

use crate::access::{check_account, ListScope};
use crate::event::Resource;
use crate::job::{JobMeta, JobRequest, Submitted};
use crate::userdata::{apply_policy, encode, render_variables, validate_userdata, Policy};
use crate::{password, App, Caller};

pub struct VmDeploy {
    pub zone_uuid: String,
    pub offering_uuid: String,
    pub template_uuid: String,
    pub network_uuids: Vec<String>,
    pub ip_address: Option<String>,
    pub name: Option<String>,
    pub display_name: Option<String>,
    pub user_data: Option<String>,
    pub user_data_id: Option<String>,
    pub user_data_details: BTreeMap<String, String>,
    pub keypairs: Vec<String>,
    pub start: bool,
    pub host_uuid: Option<String>,
    pub account: Option<String>,
    pub domain_uuid: Option<String>,
    /// The hypervisor asked for; it must be the template's (deploying from an ISO needs it).
    pub hypervisor: Option<String>,
    /// The instance group to put the VM in (made if the owner has none by that name).
    pub group: Option<String>,
    /// `rootdisksize` (GB): the root disk's size, at least the template's.
    pub root_disk_size_gb: Option<i64>,
    /// `diskofferingid` and `size` (GB, for a customized offering): a data disk with the VM, or
    /// its root disk when deploying from an ISO.
    pub disk_offering_uuid: Option<String>,
    pub size_gb: Option<i64>,
    /// `dynamicscalingenabled` (default true): the VM may be scaled while running, when its
    /// template, offering and zone allow it too.
    pub dynamic_scaling: bool,
}

/// `updateVirtualMachine` changes.
pub struct VmUpdate {
    pub display_name: Option<String>,
    pub name: Option<String>,
    pub user_data: Option<String>,
    pub user_data_id: Option<String>,
    pub details: BTreeMap<String, String>,
    /// A new instance group (by name; made if the owner has none by that name); empty: none.
    pub group: Option<String>,
    /// `isdynamicallyscalable`: true only where template, offering and zone allow it.
    pub dynamically_scalable: Option<bool>,
}

pub fn vm_resource(v: &Vm) -> Resource {
    Resource {
        kind: match v.vm_type {
            VmType::DomainRouter => "DomainRouter",
            VmType::User => "VirtualMachine",
        },
        uuid: v.uuid.clone(),
        name: v.name.clone(),
    }
}

/// A hostname as CloudStack accepts it: 1–63 of a–z, 0–9 and '-', not starting with a digit
/// or '-', not ending with '-'.
pub fn validate_hostname(name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "Invalid name {name}. Vm name can contain ASCII letters 'a' through 'z', the digits '0' through '9', and the hyphen ('-'), \
             must be between 1 and 63 characters long, and can't start or end with \"-\" and can't start with digit"
        )))
    }
}

pub use crate::vmstate::vm_event;

impl App {
    /// A user VM the caller may act on.
    pub async fn vm_get_for(&self, c: &mut Conn, caller: &Caller, param: &str, uuid: &str) -> Result<Vm, Error> {
        let v = vm_db::by_uuid(&mut *c, uuid)
            .await?
            .filter(|v| v.vm_type == VmType::User)
            .ok_or_else(|| Error::unknown_entity(param, uuid))?;
        let a = ferrostack_db::account::get(&mut *c, ferrostack_types::ids::AccountId(v.account_id))
            .await?
            .ok_or_else(|| Error::unknown_entity(param, uuid))?;
        check_account(caller, &a).map_err(|_| Error::unknown_entity(param, uuid))?;
        Ok(v)
    }

    /// Decide the VM's user data from the call, a registered user data and the template's.
    async fn vm_user_data(
        &self,
        c: &mut Conn,
        account_id: i64,
        template_id: i64,
        inline: Option<&str>,
        userdata_id: Option<&str>,
        details: &BTreeMap<String, String>,
    ) -> Result<(Option<Vec<u8>>, Option<i64>), Error> {
        let max = self.config_i64_in(c, "vm.userdata.max.length", None).await? as usize;
        let (vm_ud, ud_id) = match (inline, userdata_id) {
            (Some(_), Some(_)) => return Err(Error::invalid("Give either userdata or userdataid, not both")),
            (Some(b64), None) => (Some(validate_userdata(b64, max)?), None),
            (None, Some(id)) => {
                let (content, params) = self.userdata_resolve(c, account_id, id).await?;
                let rendered = render_variables(&content, &params, details)?;
                let row = ferrostack_db::userdata::by_uuid(&mut *c, id).await?.map(|u| u.id);
                (Some(rendered), row)
            }
            (None, None) => (None, None),
        };
        let template = self.template_userdata(c, template_id).await?;
        let result = match template {
            Some((content, params, policy)) => {
                let policy = Policy::parse(&policy).unwrap_or(Policy::AllowOverride);
                let t = render_variables(&content, &params, details).unwrap_or(content);
                apply_policy(policy, Some(&t), vm_ud.as_deref())?
            }
            None => vm_ud,
        };
        if let Some(ud) = &result {
            if encode(ud).len() > max {
                return Err(Error::invalid(format!(
                    "User data has exceeded configurable max length : {max}"
                )));
            }
        }
        Ok((result, ud_id))
    }

    pub async fn vm_deploy(&self, caller: &Caller, p: VmDeploy, meta: crate::job::JobMeta) -> Result<Submitted, Error> {
        if let Some(n) = &p.name {
            validate_hostname(n)?;
        }
        if p.network_uuids.is_empty() {
            return Err(Error::invalid(
                "Give networkids: the guest network(s) to attach the VM to (see listNetworks)",
            ));
        }
        let mut c = self.db.conn().await?;
        let zone = self.zone_get_for(&mut c, "zoneid", &p.zone_uuid).await?;
        if zone.allocation_state != ferrostack_types::state::AllocationState::Enabled && !caller.is_root_admin() {
            return Err(Error::ResourceUnavailable(format!(
                "Zone {} is not enabled for deployments",
                zone.name
            )));
        }
        // Owner: the caller, or (admins) an account named with its domain.
        let owner = match &p.account {
            Some(name) => {
                let d = match &p.domain_uuid {
                    Some(u) => self.domain_for(&mut c, caller, "domainid", u).await?.id(),
                    None => caller.domain_id,
                };
                let a = ferrostack_db::account::by_name(&mut *c, d, name)
                    .await?
                    .ok_or_else(|| Error::invalid(format!("Unable to find account {name} in the given domain")))?;
                check_account(caller, &a)?;
                a
            }
            None => ferrostack_db::account::get(&mut *c, caller.account_id)
                .await?
                .ok_or_else(|| Error::internal("caller's account missing"))?,
        };
        let offering = ferrostack_db::offering::service_by_uuid(&mut *c, &p.offering_uuid)
            .await?
            .filter(|o| o.is_system == 0)
            .ok_or_else(|| Error::unknown_entity("serviceofferingid", &p.offering_uuid))?;
        let (Some(cpu), Some(speed), Some(mem)) = (offering.cpu_number, offering.cpu_speed, offering.memory_mb) else {
            return Err(Error::invalid(format!(
                "Service offering {} is customized; ferrostack needs a fixed offering (cpunumber, cpuspeed, memory)",
                offering.name
            )));
        };
        let template = ferrostack_db::template::by_uuid(&mut *c, &p.template_uuid)
            .await?
            .filter(|t| crate::template::template_visible_to(caller, t))
            .ok_or_else(|| Error::unknown_entity("templateid", &p.template_uuid))?;
        drop(c);
        // From an ISO: bootable, and the hypervisor named (the ISO is for none).
        let iso_hypervisor = if crate::template::is_iso(&template) {
            Some(crate::vm_iso::iso_deploy_hypervisor(&template, &p)?)
        } else {
            None
        };
        if let Some(h) = p
            .hypervisor
            .as_deref()
            .filter(|h| iso_hypervisor.is_none() && !h.eq_ignore_ascii_case(&template.hypervisor))
        {
            return Err(Error::invalid(format!(
                "Template {} is for {}, not {h}: a VM runs on its template's hypervisor; leave hypervisor out or give {}",
                template.name, template.hypervisor, template.hypervisor
            )));
        }
        self.template_usable_in_zone(&template.uuid, zone.id).await?;
        let mut c = self.db.conn().await?;
        let mut networks = Vec::new();
        for u in &p.network_uuids {
            let n = self.network_get_for(&mut c, caller, "networkids", u).await?;
            if n.zone_id != zone.id {
                return Err(Error::invalid(format!(
                    "Network {} is in zone {}, not {}",
                    n.name, n.zone_name, zone.name
                )));
            }
            if networks.iter().any(|x: &ferrostack_db::network::Network| x.id == n.id) {
                return Err(Error::invalid(format!(
                    "Network {} is listed twice in networkids",
                    n.name
                )));
            }
            networks.push(n);
        }
        let host = match &p.host_uuid {
            Some(h) if caller.is_root_admin() => Some(self.host_get_for(&mut c, "hostid", h).await?.id),
            Some(_) => return Err(Error::denied("Only root administrators can choose the host")),
            None => None,
        };
        let (user_data, ud_id) = self
            .vm_user_data(
                &mut c,
                owner.id,
                template.id,
                p.user_data.as_deref(),
                p.user_data_id.as_deref(),
                &p.user_data_details,
            )
            .await?;
        let keys = self.sshkey_public_keys(&mut c, owner.id, &p.keypairs).await?;
        // As CloudStack: asked for (the default), and allowed by offering, template and zone.
        let dynamically_scalable = p.dynamic_scaling
            && offering.dynamic_scaling == 1
            && template.dynamically_scalable == 1
            && self
                .config_value_in(&mut c, "enable.dynamic.scale.vm", Some(zone.id))
                .await?
                == "true";
        // From an ISO, diskofferingid (and size) is the root disk's.
        let iso_root = match iso_hypervisor {
            Some(h) => Some(self.vm_iso_root(&mut c, caller, &template, &p, h).await?),
            None => None,
        };
        let data_disk = match &p.disk_offering_uuid {
            Some(_) if iso_root.is_some() => None,
            Some(o) => Some(self.deploy_data_disk(&mut c, caller, o, p.size_gb).await?),
            None if p.size_gb.is_some() => {
                return Err(Error::invalid(
                    "size is the size of the data disk of diskofferingid: give a customized diskofferingid with it",
                ))
            }
            None => None,
        };
        drop(c);
        let template_size = if template.size > 0 {
            template.size
        } else {
            2 * crate::volume::GIB
        };
        let root_size = match (p.root_disk_size_gb, offering.root_disk_size) {
            _ if iso_root.is_some() => iso_root.as_ref().map_or(0, |r| r.size),
            (Some(gb), _) if gb <= 0 => {
                return Err(Error::invalid(format!(
                    "rootdisksize must be a positive number of GB, not {gb}"
                )))
            }
            (Some(gb), _) | (None, Some(gb)) => {
                let bytes = gb.saturating_mul(crate::volume::GIB);
                if bytes < template_size {
                    return Err(Error::invalid(format!(
                        "Root disk size of {gb} GB is smaller than template {}'s size of {} bytes: give a rootdisksize \
                         of at least {} GB",
                        template.name,
                        template_size,
                        (template_size + crate::volume::GIB - 1) / crate::volume::GIB
                    )));
                }
                bytes
            }
            (None, None) => template_size,
        };
        let uuid = new_uuid();
        let name = p.name.clone().unwrap_or_else(|| format!("VM-{uuid}"));
        let display = p.display_name.clone().unwrap_or_else(|| name.clone());
        let pw = (template.password_enabled == 1).then(|| password::random_token(9));
        let details_json =
            (!p.user_data_details.is_empty()).then(|| serde_json::to_string(&p.user_data_details).unwrap_or_default());
        let ssh = (!keys.is_empty()).then(|| keys.iter().map(|k| k.1.clone()).collect::<Vec<_>>().join("\n"));
        let keypairs = (!p.keypairs.is_empty()).then(|| p.keypairs.join(","));
        let mut tx = self.db.begin().await?;
        let id = vm_db::insert(
            &mut tx,
            vm_db::NewVm {
                uuid: &uuid,
                name: &name,
                display_name: &display,
                vm_type: VmType::User,
                state: VmState::Stopped,
                zone_id: zone.id,
                template_id: Some(template.id),
                service_offering_id: offering.id,
                account_id: owner.id,
                domain_id: owner.domain_id,
                network_id: None,
                cpu,
                cpu_speed: speed,
                memory: mem,
                password: pw.as_deref(),
                user_data: user_data.as_deref().map(encode).as_deref(),
                user_data_id: ud_id,
                user_data_details: details_json.as_deref(),
                keypairs: keypairs.as_deref(),
                ssh_keys: ssh.as_deref(),
                dynamically_scalable,
                now: now_ms(),
            },
        )
        .await?;
        for (i, n) in networks.iter().enumerate() {
            let requested = if i == 0 { p.ip_address.as_deref() } else { None };
            let (ip, mac) = self.guest_ip_allocate(&mut tx, n, "UserVm", &uuid, requested).await?;
            vm_db::insert_nic(
                &mut tx,
                vm_db::NewNic {
                    uuid: &new_uuid(),
                    vm_id: id,
                    network_id: n.id,
                    traffic_type: "Guest",
                    ip: ip.as_deref(),
                    netmask: n.netmask.as_deref(),
                    gateway: n.gateway.as_deref(),
                    mac: &mac,
                    broadcast_uri: n.broadcast_uri.as_deref(),
                    device_id: i as i64,
                    is_default: i == 0,
                    now: now_ms(),
                },
            )
            .await?;
        }
        match &iso_root {
            // Blank, of the disk offering, and the ISO stays in the drive to boot from.
            Some(r) => {
                self.vm_iso_record(&mut tx, (id, zone.id), &template, r, (owner.id, owner.domain_id))
                    .await?
            }
            None => {
                vm_db::insert_volume(
                    &mut tx,
                    &new_uuid(),
                    &format!("ROOT-{id}"),
                    id,
                    zone.id,
                    root_size,
                    owner.id,
                    owner.domain_id,
                    Some(template.id),
                    now_ms(),
                )
                .await?;
            }
        }
        if let Some((offering_id, size)) = data_disk {
            ferrostack_db::volume::insert(
                &mut tx,
                &ferrostack_db::volume::NewVolume {
                    uuid: &new_uuid(),
                    name: &format!("DATA-{id}"),
                    volume_type: "DATADISK",
                    vm: Some((id, 1)),
                    zone_id: zone.id,
                    size,
                    account_id: owner.id,
                    domain_id: owner.domain_id,
                    template_id: None,
                    disk_offering_id: Some(offering_id),
                    snapshot_id: None,
                    now: now_ms(),
                },
            )
            .await?;
        }
        if let Some(g) = p.group.as_deref() {
            self.group_assign(&mut tx, id, &owner, g).await?;
        }
        let vm = vm_db::get(&mut *tx, id)
            .await?
            .ok_or_else(|| Error::internal("VM vanished"))?;
        let sub = self
            .job_submit(
                &mut tx,
                caller,
                JobRequest {
                    instance: Some(("VirtualMachine", uuid.clone())),
                    sync_key: format!("vm:{uuid}"),
                    params: json!({"vm_id": id, "start": p.start, "host_id": host}),
                    meta,
                    description: format!("Deploying VM {} ({})", vm.name, vm.instance_name),
                    resource: Some(vm_resource(&vm)),
                },
            )
            .await?;
        tx.commit().await.map_err(db_err)?;
        self.jobs.wake();
        Ok(Submitted {
            job_uuid: sub.job_uuid,
            entity_uuid: Some(uuid),
        })
    }

    /// Submit a VM job (start, stop, reboot, destroy, expunge).
    pub async fn vm_job(
        &self,
        caller: &Caller,
        uuid: &str,
        meta: JobMeta,
        params: serde_json::Value,
    ) -> Result<Submitted, Error> {
        let mut tx = self.db.begin().await?;
        let vm = self.vm_get_for(&mut tx, caller, "id", uuid).await?;
        let verb = meta.event_type.verb();
        let mut params = params;
        params["vm_id"] = json!(vm.id);
        let sub = self
            .job_submit(
                &mut tx,
                caller,
                JobRequest {
                    instance: Some(("VirtualMachine", vm.uuid.clone())),
                    sync_key: format!("vm:{}", vm.uuid),
                    params,
                    meta,
                    description: format!("{verb} VM {} ({})", vm.name, vm.instance_name),
                    resource: Some(vm_resource(&vm)),
                },
            )
            .await?;
        tx.commit().await.map_err(db_err)?;
        self.jobs.wake();
        Ok(sub)
    }

    pub async fn vm_list(
        &self,
        caller: &Caller,
        scope: &ListScope,
        mut f: VmFilter,
        ids: (Option<&str>, Option<&str>, Option<&str>, Option<&str>),
        page: Page,
    ) -> Result<(i64, Vec<Vm>, Vec<Nic>), Error> {
        let (id, zone, host, network) = ids;
        let mut c = self.db.conn().await?;
        f.vm_type = Some(VmType::User);
        if let Some(z) = zone {
            f.zone_id = Some(self.zone_get_for(&mut c, "zoneid", z).await?.id);
        }
        if let Some(h) = host {
            if !caller.is_root_admin() {
                return Err(Error::denied("Only root administrators can list VMs by host"));
            }
            f.host_id = Some(self.host_get_for(&mut c, "hostid", h).await?.id);
        }
        if let Some(n) = network {
            f.network_id = Some(self.network_get_for(&mut c, caller, "networkid", n).await?.id);
        }
        let owner = match id {
            Some(u) => {
                // An expunged VM's id never gets here: the api layer answers it with the
                // empty list before the handler runs (see `resolve`).
                let v = self.vm_get_for(&mut c, caller, "id", u).await?;
                f.id = Some(v.id);
                f.include_destroyed = true;
                OwnerScope::All
            }
            None => self.owner_scope(&mut c, caller, scope).await?,
        };
        let (total, vms) = vm_db::list(&mut c, &owner, &f, page).await?;
        let ids: Vec<i64> = vms.iter().map(|v| v.id).collect();
        let nics = vm_db::nics_of(&mut c, &ids).await?;
        Ok((total, vms, nics))
    }

    /// One VM and its NICs by uuid (answers and job results), removed ones included.
    pub async fn vm_view(&self, uuid: &str) -> Result<Option<(Vm, Vec<Nic>)>, Error> {
        let mut c = self.db.conn().await?;
        let Some(v) = vm_db::by_uuid_including_removed(&mut *c, uuid).await? else {
            return Ok(None);
        };
        let nics = vm_db::nics_of(&mut c, &[v.id]).await?;
        Ok(Some((v, nics)))
    }

    /// `recoverVirtualMachine`: Destroyed → Stopped.
    pub async fn vm_recover(&self, caller: &Caller, uuid: &str) -> Result<Vm, Error> {
        let mut tx = self.db.begin().await?;
        let vm = self.vm_get_for(&mut tx, caller, "id", uuid).await?;
        vm_event(&mut tx, &vm, VmEvent::RecoveryRequested).await?;
        vm_db::set_cols(
            &mut tx,
            vm.id,
            &[("destroyed_at", ferrostack_db::sql::Arg::OptI64(None))],
        )
        .await?;
        crate::vmstate::volumes_to(&mut tx, vm.id, crate::vmstate::VolumeGoal::Recovered, now_ms()).await?;
        self.event_done(
            &mut tx,
            caller,
            EventType::VmRestore,
            format!("Recovered VM {}", vm.name),
            Some(&vm_resource(&vm)),
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        vm_db::get(self.db.read(), vm.id)
            .await?
            .ok_or_else(|| Error::internal("VM vanished"))
    }

    /// `updateVirtualMachine`: display name, name, user data (applied at next start for
    /// config drives; pushed to the router now).
    pub async fn vm_update(&self, caller: &Caller, uuid: &str, u: VmUpdate) -> Result<Vm, Error> {
        let VmUpdate {
            display_name,
            name,
            user_data,
            user_data_id,
            details,
            group,
            dynamically_scalable,
        } = u;
        if let Some(n) = &name {
            validate_hostname(n)?;
        }
        let details_given = !details.is_empty();
        let mut c = self.db.conn().await?;
        let vm = self.vm_get_for(&mut c, caller, "id", uuid).await?;
        // As CloudStack: new user data without details keeps the VM's details; details alone
        // re-render the VM's registered user data with them.
        let details = if details.is_empty() {
            vm.user_data_details
                .as_deref()
                .and_then(|d| serde_json::from_str::<BTreeMap<String, String>>(d).ok())
                .unwrap_or_default()
        } else {
            details
        };
        let details_only = user_data.is_none() && user_data_id.is_none() && details_given;
        let linked = if details_only {
            Some(vm.user_data_uuid.clone().ok_or_else(|| {
                Error::invalid(format!(
                    "userdatadetails fill the params of registered user data, and VM {} has none; give userdataid too",
                    vm.name
                ))
            })?)
        } else {
            user_data_id
        };
        let ud = if user_data.is_some() || linked.is_some() {
            Some(
                self.vm_user_data(
                    &mut c,
                    vm.account_id,
                    vm.template_id.unwrap_or(0),
                    user_data.as_deref(),
                    linked.as_deref(),
                    &details,
                )
                .await?,
            )
        } else {
            None
        };
        if dynamically_scalable == Some(true) {
            self.vm_check_dynamic_scaling_allowed(&mut c, &vm).await?;
        }
        drop(c);
        let mut tx = self.db.begin().await?;
        let mut cols = Vec::new();
        if let Some(d) = dynamically_scalable {
            cols.push(("dynamically_scalable", ferrostack_db::sql::Arg::I64(i64::from(d))));
        }
        if let Some(d) = display_name {
            cols.push(("display_name", ferrostack_db::sql::Arg::Str(d)));
        }
        if let Some(n) = name {
            cols.push(("name", ferrostack_db::sql::Arg::Str(n)));
        }
        if let Some((content, id)) = &ud {
            cols.push((
                "user_data",
                ferrostack_db::sql::Arg::OptStr(content.as_deref().map(encode)),
            ));
            cols.push(("user_data_id", ferrostack_db::sql::Arg::OptI64(*id)));
            cols.push((
                "user_data_details",
                ferrostack_db::sql::Arg::OptStr(
                    (!details.is_empty()).then(|| serde_json::to_string(&details).unwrap_or_default()),
                ),
            ));
        }
        if !cols.is_empty() {
            vm_db::set_cols(&mut tx, vm.id, &cols).await?;
        }
        if let Some(g) = group.as_deref() {
            let owner = ferrostack_db::account::get(&mut *tx, ferrostack_types::ids::AccountId(vm.account_id))
                .await?
                .ok_or_else(|| Error::internal("the VM's account is gone"))?;
            self.group_assign(&mut tx, vm.id, &owner, g).await?;
        }
        self.event_done(
            &mut tx,
            caller,
            EventType::VmUpdate,
            format!("Updated VM {}", vm.name),
            Some(&vm_resource(&vm)),
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        if ud.is_some() {
            self.vm_push_user_data(vm.id).await;
        }
        vm_db::get(self.db.read(), vm.id)
            .await?
            .ok_or_else(|| Error::internal("VM vanished"))
    }

    /// CloudStack's conditions for `updateVirtualMachine isdynamicallyscalable=true`.
    async fn vm_check_dynamic_scaling_allowed(&self, c: &mut ferrostack_db::Conn, vm: &Vm) -> Result<(), Error> {
        let template = match vm.template_id {
            Some(t) => ferrostack_db::template::get(&mut *c, t).await?,
            None => None,
        };
        if template.is_none_or(|t| t.dynamically_scalable != 1) {
            return Err(Error::invalid(
                "Dynamic Scaling cannot be enabled for the Instance since its Template does not have dynamic scaling \
                 enabled (updateTemplate isdynamicallyscalable=true)",
            ));
        }
        let offering = ferrostack_db::offering::service_get(&mut *c, vm.service_offering_id).await?;
        if offering.is_none_or(|o| o.dynamic_scaling != 1) {
            return Err(Error::invalid(
                "Dynamic Scaling cannot be enabled for the Instance since its service offering does not have dynamic \
                 scaling enabled",
            ));
        }
        if self
            .config_value_in(c, "enable.dynamic.scale.vm", Some(vm.zone_id))
            .await?
            != "true"
        {
            return Err(Error::invalid(
                "Dynamic Scaling cannot be enabled for the VM since corresponding global setting is set to false \
                 (enable.dynamic.scale.vm)",
            ));
        }
        Ok(())
    }

    /// `resetUserDataForVirtualMachine` (the VM must be stopped, as in CloudStack).
    pub async fn vm_reset_user_data(
        &self,
        caller: &Caller,
        uuid: &str,
        user_data: Option<String>,
        user_data_id: Option<String>,
        details: BTreeMap<String, String>,
    ) -> Result<Vm, Error> {
        let mut c = self.db.conn().await?;
        let vm = self.vm_get_for(&mut c, caller, "id", uuid).await?;
        if vm.state != VmState::Stopped {
            return Err(Error::invalid(format!(
                "VM {} must be stopped to reset its user data; stop it first",
                vm.name
            )));
        }
        let (content, id) = self
            .vm_user_data(
                &mut c,
                vm.account_id,
                vm.template_id.unwrap_or(0),
                user_data.as_deref(),
                user_data_id.as_deref(),
                &details,
            )
            .await?;
        drop(c);
        let mut tx = self.db.begin().await?;
        vm_db::set_cols(
            &mut tx,
            vm.id,
            &[
                (
                    "user_data",
                    ferrostack_db::sql::Arg::OptStr(content.as_deref().map(encode)),
                ),
                ("user_data_id", ferrostack_db::sql::Arg::OptI64(id)),
                (
                    "user_data_details",
                    ferrostack_db::sql::Arg::OptStr(
                        (!details.is_empty()).then(|| serde_json::to_string(&details).unwrap_or_default()),
                    ),
                ),
            ],
        )
        .await?;
        self.event_done(
            &mut tx,
            caller,
            EventType::VmResetUserData,
            format!("Reset user data of VM {}", vm.name),
            Some(&vm_resource(&vm)),
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        self.vm_push_user_data(vm.id).await;
        vm_db::get(self.db.read(), vm.id)
            .await?
            .ok_or_else(|| Error::internal("VM vanished"))
    }

    /// Hand changed user data / password / keys to the VM's user-data providers. Router
    /// entries are reprogrammed now; config drives are rebuilt on the host when the VM runs
    /// (and always at its next start). Failures are logged: the change itself is committed.
    pub async fn vm_push_user_data(&self, vm_id: i64) {
        let r: Result<(), Error> = async {
            let mut c = self.db.conn().await?;
            let Some(vm) = vm_db::get(&mut *c, vm_id).await? else {
                return Ok(());
            };
            let nics = vm_db::nics_of(&mut c, &[vm.id]).await?;
            let vm_ctx = ferrostack_net::VmCtx {
                vm_id: vm.id,
                vm_uuid: vm.uuid.clone(),
                instance_name: vm.instance_name.clone(),
                hostname: vm.name.clone(),
                zone_name: vm.zone_name.clone(),
                service_offering: vm.offering_name.clone().unwrap_or_default(),
                host_id: vm.host_id,
                user_data: vm.user_data.clone(),
                ssh_public_keys: vm_db::ssh_keys(&mut *c, vm.id).await?,
            };
            let mut targets = Vec::with_capacity(nics.len());
            for nic in &nics {
                if let Some(n) = ferrostack_db::network::get(&mut *c, nic.network_id).await? {
                    targets.push((self.network_ctx(&mut c, &n).await?, nic));
                }
            }
            // The providers may call the host: no connection held across them.
            drop(c);
            for (ctx, nic) in targets {
                if let Some(el) = self.elements().user_data_element(&ctx.services) {
                    if let Some(ud) = el.user_data() {
                        ud.save_user_data(&ctx, &Self::nic_ctx(&vm, nic), &vm_ctx).await?;
                    }
                }
            }
            Ok(())
        }
        .await;
        if let Err(e) = r {
            tracing::warn!(vm = vm_id, error = %e, "pushing user data to the VM's providers failed; it applies at the next start");
        }
    }

    /// `resetPasswordForVirtualMachine` (async; VM stopped, template password-enabled).
    pub async fn vm_reset_password(
        &self,
        caller: &Caller,
        uuid: &str,
        meta: crate::job::JobMeta,
    ) -> Result<Submitted, Error> {
        let mut c = self.db.conn().await?;
        let vm = self.vm_get_for(&mut c, caller, "id", uuid).await?;
        if vm.password_enabled != Some(1) {
            return Err(Error::invalid(format!(
                "VM {}'s template is not password enabled; its password can't be reset",
                vm.name
            )));
        }
        if !matches!(vm.state, VmState::Stopped | VmState::Running) {
            return Err(Error::invalid(format!(
                "VM {} is {}; reset its password when it is Stopped or Running",
                vm.name, vm.state
            )));
        }
        drop(c);
        self.vm_job(caller, uuid, meta, json!({})).await
    }

    /// `resetSSHKeyForVirtualMachine` (async; the VM must be stopped).
    pub async fn vm_reset_ssh_key(
        &self,
        caller: &Caller,
        uuid: &str,
        keypairs: Vec<String>,
        meta: crate::job::JobMeta,
    ) -> Result<Submitted, Error> {
        if keypairs.is_empty() {
            return Err(Error::missing("keypair"));
        }
        let mut c = self.db.conn().await?;
        let vm = self.vm_get_for(&mut c, caller, "id", uuid).await?;
        if vm.state != VmState::Stopped {
            return Err(Error::invalid(format!(
                "VM {} must be stopped to reset its SSH key; stop it first",
                vm.name
            )));
        }
        let keys = self.sshkey_public_keys(&mut c, vm.account_id, &keypairs).await?;
        drop(c);
        let mut tx = self.db.begin().await?;
        vm_db::set_cols(
            &mut tx,
            vm.id,
            &[
                ("keypairs", ferrostack_db::sql::Arg::Str(keypairs.join(","))),
                (
                    "ssh_keys",
                    ferrostack_db::sql::Arg::Str(keys.iter().map(|k| k.1.clone()).collect::<Vec<_>>().join("\n")),
                ),
            ],
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        self.vm_job(caller, uuid, meta, json!({})).await
    }

    /// `getVirtualMachineUserData`.
    pub async fn vm_user_data_get(&self, caller: &Caller, uuid: &str) -> Result<(String, Option<String>), Error> {
        let mut c = self.db.conn().await?;
        let vm = self.vm_get_for(&mut c, caller, "virtualmachineid", uuid).await?;
        Ok((vm.uuid, vm.user_data))
    }

    pub async fn volume_list(
        &self,
        caller: &Caller,
        scope: &ListScope,
        mut f: VolumeFilter,
        vm: Option<&str>,
        zone: Option<&str>,
        page: Page,
    ) -> Result<(i64, Vec<Volume>), Error> {
        let mut c = self.db.conn().await?;
        if let Some(z) = zone {
            f.zone_id = Some(self.zone_get_for(&mut c, "zoneid", z).await?.id);
        }
        let owner = match vm {
            Some(u) => {
                f.vm_id = Some(self.vm_get_for(&mut c, caller, "virtualmachineid", u).await?.id);
                OwnerScope::All
            }
            None => self.owner_scope(&mut c, caller, scope).await?,
        };
        vm_db::list_volumes(&mut c, &owner, &f, page).await
    }

    /// `listNics` of a VM.
    pub async fn vm_nics(&self, caller: &Caller, uuid: &str, network: Option<&str>) -> Result<(Vm, Vec<Nic>), Error> {
        let mut c = self.db.conn().await?;
        let vm = self.vm_get_for(&mut c, caller, "virtualmachineid", uuid).await?;
        let mut nics = vm_db::nics_of(&mut c, &[vm.id]).await?;
        if let Some(n) = network {
            nics.retain(|x| x.network_uuid.as_deref() == Some(n));
        }
        Ok((vm, nics))
    }

    /// Is the caller allowed to expunge immediately (`expunge=true`)? Admins always; users
    /// when `allow.user.expunge.recover.vm` is on.
    pub async fn may_expunge(&self, caller: &Caller) -> Result<bool, Error> {
        Ok(caller.role != RoleType::User || self.config_bool("allow.user.expunge.recover.vm", None).await?)
    }
}

impl App {
    /// The generated password of a password-enabled VM, for its owner right after a deploy or
    /// a reset. Read from the VM row when asked; never written into job rows or events.
    pub async fn vm_password_for(&self, caller: &Caller, uuid: &str) -> Result<Option<String>, Error> {
        let mut c = self.db.conn().await?;
        let Ok(vm) = self.vm_get_for(&mut c, caller, "id", uuid).await else {
            return Ok(None);
        };
        if vm.password_enabled != Some(1) {
            return Ok(None);
        }
        vm_db::password(&mut *c, vm.id).await
    }
}
