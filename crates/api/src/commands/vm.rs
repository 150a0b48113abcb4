use std::collections::BTreeMap;

use ferrostack_app::model::{VmFilter, VolumeFilter};
use ferrostack_app::vm::VmDeploy;
use ferrostack_types::Error;
use serde_json::json;

use crate::args::Args;
use crate::registry::{list_params, scope_params, Access, Command, JobDecl, PType, Param, Shape};
use crate::reply::Reply;
use crate::views::tag::{details_of, tags_of};
use crate::views::vm::{self as v, NIC_FIELDS, VM_FIELDS, VOLUME_FIELDS};
use crate::Ctx;
use ferrostack_app::saga::SagaKind;
use ferrostack_app::tag::ResourceType;
use ferrostack_types::EventType;

fn vm_id() -> Param {
    Param::new("id", PType::Uuid, "The ID of the virtual machine")
        .required()
        .related("listVirtualMachines")
}

fn userdata_params() -> Vec<Param> {
    vec![
        Param::new("userdata", PType::String, "an optional binary data that can be sent to the virtual machine upon a successful deployment. This binary data must be base64 encoded before adding it to the request. Using HTTP GET (via querystring), you can send up to 4KB of data after base64 encoding. Using HTTP POST (via POST body), you can send up to 1MB of data after base64 encoding.").len(1_048_576),
        Param::new("userdataid", PType::Uuid, "the ID of the Userdata").since("4.18").related("listUserData"),
        Param::new("userdatadetails", PType::Map, "used to specify the parameters values for the variables in userdata.").since("4.18"),
    ]
}

/// `userdatadetails[0].key=value` (all indices merged).
fn details(a: &Args) -> Result<BTreeMap<String, String>, Error> {
    let mut out = BTreeMap::new();
    for (_, m) in a.map("userdatadetails")? {
        for (k, val) in m {
            out.insert(k, val);
        }
    }
    Ok(out)
}

fn simple_async(
    name: &'static str,
    description: &'static str,
    mut params: Vec<Param>,
    handler: crate::registry::Handler,
) -> Command {
    params.insert(0, vm_id());
    Command {
        name,
        description,
        is_async: true,
        since: None,
        access: Access::All,
        params,
        shape: Shape::Job(Some("virtualmachine")),
        response: VM_FIELDS,
        job: None,
        handler,
    }
}

pub fn commands() -> Vec<Command> {
    vec![
        Command {
            name: "deployVirtualMachine",
            description: "Creates and automatically starts a virtual machine based on a service offering, disk offering, and template.",
            is_async: true,
            since: None,
            access: Access::All,
            params: [
                vec![
                    Param::new("zoneid", PType::Uuid, "availability zone for the virtual machine").required().related("listZones"),
                    Param::new("serviceofferingid", PType::Uuid, "the ID of the service offering for the virtual machine").required().related("listServiceOfferings"),
                    Param::new("templateid", PType::Uuid, "the ID of the template for the virtual machine").required().related("listTemplates"),
                    Param::new("networkids", PType::List, "list of network ids used by virtual machine. Can't be specified with ipToNetworkList parameter").related("listNetworks"),
                    Param::new("ipaddress", PType::String, "the ip address for default vm's network"),
                    Param::new("name", PType::String, "host name for the virtual machine"),
                    Param::new("displayname", PType::String, "an optional user generated name for the virtual machine"),
                    Param::new("keypair", PType::String, "name of the ssh key pair used to login to the virtual machine"),
                    Param::new("keypairs", PType::List, "names of the ssh key pairs used to login to the virtual machine").since("4.17"),
                    Param::new("startvm", PType::Boolean, "true if start vm after creating; defaulted to true if not specified"),
                    Param::new("hostid", PType::Uuid, "destination Host ID to deploy the VM to - parameter available for root admin only").related("listHosts"),
                    Param::new("account", PType::String, "an optional account for the virtual machine. Must be used with domainId."),
                    Param::new("domainid", PType::Uuid, "an optional domainId for the virtual machine. If the account parameter is used, domainId must also be used.").related("listDomains"),
                    Param::new("hypervisor", PType::String, "the hypervisor on which to deploy the virtual machine"),
                    Param::new("group", PType::String, "an optional group for the virtual machine"),
                    Param::new("diskofferingid", PType::Uuid, "the ID of the disk offering for the virtual machine. If the template is of ISO format, the diskOfferingId is for the root disk volume. Otherwise this parameter is used to indicate the offering for the data disk volume.").related("listDiskOfferings"),
                    Param::new("size", PType::Long, "the arbitrary size for the DATADISK volume. Mutually exclusive with diskOfferingId"),
                    Param::new("rootdisksize", PType::Long, "Optional field to resize root disk on deploy. Value is in GB. Only applies to template-based deployments.").since("4.4"),
                ],
                userdata_params(),
                deploy_unsupported(),
            ]
            .concat(),
            shape: Shape::Job(Some("virtualmachine")),
            response: VM_FIELDS,
            job: Some(JobDecl::new(SagaKind::VmDeploy, EventType::VmCreate, "org.apache.cloudstack.api.command.user.vm.DeployVMCmd")),
            handler: |c, a| Box::pin(deploy(c, a)),
        },
        Command {
            name: "listVirtualMachines",
            description: "List the virtual machines owned by the account.",
            is_async: false,
            since: None,
            access: Access::All,
            params: [
                list_params(),
                scope_params(),
                vec![
                    Param::new("id", PType::Uuid, "the ID of the virtual machine").related("listVirtualMachines"),
                    Param::new("ids", PType::List, "the IDs of the virtual machines, mutually exclusive with id")
                        .since("4.4")
                        .related("listVirtualMachines"),
                    Param::new("name", PType::String, "name of the virtual machine (a substring match is not used)"),
                    Param::new("state", PType::String, "state of the virtual machine. Possible values are: Running, Stopped, Present, Destroyed, Expunged. Present is used for the state equal not destroyed."),
                    Param::new("zoneid", PType::Uuid, "the availability zone ID").related("listZones"),
                    Param::new("hostid", PType::Uuid, "the host ID").related("listHosts"),
                    Param::new("networkid", PType::Uuid, "list by network id").related("listNetworks"),
                    Param::new("templateid", PType::Uuid, "list vms by template").related("listTemplates"),
                    Param::new("details", PType::List, "comma separated list of vm details requested"),
                    crate::commands::tag::tags_param(),
                ],
            ]
            .concat(),
            shape: Shape::List("virtualmachine"),
            response: VM_FIELDS,
            job: None,
            handler: |c, a| Box::pin(list(c, a)),
        },
        simple_async("startVirtualMachine", "Starts a virtual machine.", vec![Param::new("hostid", PType::Uuid, "destination Host ID to deploy the VM to - parameter available for root admin only")], |c, a| Box::pin(start(c, a)))
        .job(SagaKind::VmStart, EventType::VmStart, "org.apache.cloudstack.api.command.user.vm.StartVMCmd"),
        simple_async("stopVirtualMachine", "Stops a virtual machine.", vec![Param::new("forced", PType::Boolean, "Force stop the VM (vm is marked as Stopped even when command fails to be send to the backend, otherwise a force poweroff is attempted). The caller knows the VM is stopped.")], |c, a| Box::pin(stop(c, a)))
        .job(SagaKind::VmStop, EventType::VmStop, "org.apache.cloudstack.api.command.user.vm.StopVMCmd"),
        simple_async("rebootVirtualMachine", "Reboots a virtual machine.", vec![], |c, a| Box::pin(reboot(c, a)))
        .job(SagaKind::VmReboot, EventType::VmReboot, "org.apache.cloudstack.api.command.user.vm.RebootVMCmd"),
        simple_async("destroyVirtualMachine", "Destroys a virtual machine.", vec![Param::new("expunge", PType::Boolean, "If true is passed, the vm is expunged immediately. False by default.").since("4.2.1")], |c, a| Box::pin(destroy(c, a)))
        .job(SagaKind::VmDestroy, EventType::VmDestroy, "org.apache.cloudstack.api.command.user.vm.DestroyVMCmd"),
        simple_async("expungeVirtualMachine", "Expunge a virtual machine. Once expunged, it cannot be recoverd.", vec![], |c, a| Box::pin(expunge(c, a)))
        .job(SagaKind::VmExpunge, EventType::VmExpunge, "org.apache.cloudstack.api.command.admin.vm.ExpungeVMCmd"),
        simple_async("resetPasswordForVirtualMachine", "Resets the password for virtual machine. The virtual machine must be in a \"Stopped\" state and the template must already support this feature for this command to take effect.", vec![], |c, a| Box::pin(reset_password(c, a)))
        .job(SagaKind::VmResetPassword, EventType::VmResetPassword, "org.apache.cloudstack.api.command.user.vm.ResetVMPasswordCmd"),
        simple_async("resetSSHKeyForVirtualMachine", "Resets the SSH Key for virtual machine. The virtual machine must be in a \"Stopped\" state.", vec![
            Param::new("keypair", PType::String, "name of the ssh key pair used to login to the virtual machine"),
            Param::new("keypairs", PType::List, "names of the ssh key pairs to be used to login to the virtual machine").since("4.17"),
            Param::new("account", PType::String, "an optional account for the ssh key. Must be used with domainId."),
            Param::new("domainid", PType::Uuid, "an optional domainId for the virtual machine. If the account parameter is used, domainId must also be used."),
        ], |c, a| Box::pin(reset_ssh(c, a)))
        .job(SagaKind::VmPushKeys, EventType::VmResetSshKey, "org.apache.cloudstack.api.command.user.vm.ResetVMSSHKeyCmd"),
        Command {
            name: "recoverVirtualMachine",
            description: "Recovers a virtual machine.",
            is_async: false,
            since: None,
            access: Access::All,
            params: vec![vm_id()],
            shape: Shape::Object("virtualmachine"),
            response: VM_FIELDS,
            job: None,
            handler: |c, a| Box::pin(recover(c, a)),
        },
        Command {
            name: "updateVirtualMachine",
            description: "Updates properties of a virtual machine. The VM has to be stopped and restarted for the new properties to take effect. UpdateVirtualMachine does not first check whether the VM is stopped. Therefore, stop the VM manually before issuing this call.",
            is_async: false,
            since: None,
            access: Access::All,
            params: [
                vec![
                    vm_id(),
                    Param::new("displayname", PType::String, "user generated name"),
                    Param::new("group", PType::String, "group of the virtual machine (empty: none)"),
                    Param::new("isdynamicallyscalable", PType::Boolean, "true if VM contains XS/VMWare tools inorder to support dynamic scaling of VM cpu/memory"),
                    Param::new("name", PType::String, "new host name of the vm. The VM has to be stopped/started for this update to take affect").since("4.4"),
                ],
                userdata_params(),
            ]
            .concat(),
            shape: Shape::Object("virtualmachine"),
            response: VM_FIELDS,
            job: None,
            handler: |c, a| Box::pin(update(c, a)),
        },
        Command {
            name: "resetUserDataForVirtualMachine",
            description: "Resets the UserData for virtual machine. The virtual machine must be in a \"Stopped\" state.",
            is_async: false,
            since: Some("4.18.0"),
            access: Access::All,
            params: [vec![vm_id()], userdata_params()].concat(),
            shape: Shape::Object("virtualmachine"),
            response: VM_FIELDS,
            job: None,
            handler: |c, a| Box::pin(reset_user_data(c, a)),
        },
        Command {
            name: "getVirtualMachineUserData",
            description: "Returns user data associated with the VM",
            is_async: false,
            since: Some("4.4"),
            access: Access::All,
            params: vec![Param::new("virtualmachineid", PType::Uuid, "The ID of the virtual machine").required().related("listVirtualMachines")],
            shape: Shape::Object("virtualmachineuserdata"),
            response: &[("virtualmachineid", "string", "the ID of the virtual machine"), ("userdata", "string", "Base 64 encoded VM user data")],
            job: None,
            handler: |c, a| Box::pin(get_user_data(c, a)),
        },
        Command {
            name: "listNics",
            description: "list the vm nics  IP to NIC",
            is_async: false,
            since: None,
            access: Access::All,
            params: [
                list_params(),
                vec![
                    Param::new("virtualmachineid", PType::Uuid, "the ID of the vm").required().related("listVirtualMachines"),
                    Param::new("nicid", PType::Uuid, "the ID of the nic to to list IPs"),
                    Param::new("networkid", PType::Uuid, "list nic of the specific vm's network").related("listNetworks"),
                ],
            ]
            .concat(),
            shape: Shape::List("nic"),
            response: NIC_FIELDS,
            job: None,
            handler: |c, a| Box::pin(nics(c, a)),
        },
        Command {
            name: "listVolumes",
            description: "Lists all volumes.",
            is_async: false,
            since: None,
            access: Access::All,
            params: [
                list_params(),
                scope_params(),
                vec![
                    Param::new("id", PType::Uuid, "the ID of the disk volume").related("listVolumes"),
                    Param::new("ids", PType::List, "the IDs of the volumes, mutually exclusive with id")
                        .since("4.9")
                        .related("listVolumes"),
                    Param::new("name", PType::String, "the name of the disk volume"),
                    Param::new("type", PType::String, "the type of disk volume"),
                    Param::new("virtualmachineid", PType::Uuid, "the ID of the virtual machine").related("listVirtualMachines"),
                    Param::new("zoneid", PType::Uuid, "the ID of the availability zone").related("listZones"),
                    Param::new("storageid", PType::Uuid, "the ID of the storage pool, available to ROOT admin only").since("4.3").related("listStoragePools"),
                    Param::new("diskofferingid", PType::Uuid, "List volumes by disk offering").since("4.4").related("listDiskOfferings"),
                    Param::new("state", PType::String, "state of the volume. Possible values are: Ready, Allocated, Destroy, Expunging, Expunged.").since("4.19.0"),
                    crate::commands::tag::tags_param(),
                ],
            ]
            .concat(),
            shape: Shape::List("volume"),
            response: VOLUME_FIELDS,
            job: None,
            handler: |c, a| Box::pin(volumes(c, a)),
        },
    ]
}

/// CloudStack `deployVirtualMachine` parameters whose effect ferrostack does not provide yet,
/// with what a caller can do instead. Given, they are refused (431) rather than ignored: the
/// caller would get a VM without what was asked for.
fn deploy_unsupported() -> Vec<Param> {
    const SG: &str = "security groups are not supported; isolate with networks instead";
    const AG: &str = "affinity groups are not supported yet; pick the host with hostid (root admins)";
    vec![
        Param::unsupported("datadiskofferinglist", PType::Map, "give one data disk with diskofferingid (and size), and add more with createVolume virtualmachineid=<the VM>"),
        Param::unsupported("securitygroupids", PType::List, SG),
        Param::unsupported("securitygroupnames", PType::List, SG),
        Param::unsupported("affinitygroupids", PType::List, AG),
        Param::unsupported("affinitygroupnames", PType::List, AG),
        Param::unsupported("projectid", PType::Uuid, "projects are not supported yet; deploy for an account (account, domainid)"),
        Param::unsupported("iptonetworklist", PType::Map, "give networkids (and ipaddress for the first network)"),
        Param::unsupported("ip6address", PType::String, "IPv6 is not supported yet"),
        Param::unsupported("macaddress", PType::String, "MAC addresses are assigned by the network; deploy without one"),
        Param::unsupported("dhcpoptionsnetworklist", PType::Map, "extra DHCP options are not supported yet"),
        Param::unsupported("deploymentplanner", PType::String, "placement has one planner; pick the host with hostid (root admins)"),
        Param::unsupported("extraconfig", PType::String, "extra hypervisor configuration is not supported"),
        Param::unsupported("properties", PType::Map, "vApp properties apply to VMware only"),
        Param::unsupported("nicnetworklist", PType::Map, "vApp NIC mappings apply to VMware only"),
        Param::unsupported("details", PType::Map, "custom parameters are not supported on deploy yet; add VM details afterwards with addResourceDetail resourcetype=UserVm"),
        Param::new("displayvm", PType::Boolean, "an optional field, whether to the display the vm to the end user or not.")
            .since("4.2")
            .only("true", "every VM is displayed to its owner"),
        Param::new("copyimagetags", PType::Boolean, "if true the image tags (if any) will be copied to the VM, default value is false")
            .since("4.13")
            .only("false", "a VM does not take its template's tags; tag it with createTags"),
        Param::new("dynamicscalingenabled", PType::Boolean, "true if virtual machine needs to be dynamically scalable")
            .since("4.16"),
        Param::new("bootintosetup", PType::Boolean, "Boot into hardware setup or not (ignored if startVm = false, only valid for vmware)")
            .since("4.15.0")
            .only("false", "booting into hardware setup applies to VMware only"),
        Param::new("boottype", PType::String, "Guest VM Boot option either custom[UEFI] or default boot [BIOS]. Not applicable with VMware if the template is marked as deploy-as-is, as we honour what is defined in the template.")
            .since("4.14.0.0")
            .only("BIOS", "VMs boot with BIOS"),
    ]
}

/// The list scope; asking by `ids` lists everything of those the caller may see, as asking by
/// `id` does.
fn ids_scope(a: &Args) -> ferrostack_app::access::ListScope {
    let mut scope = a.scope();
    scope.list_all |= a.str("ids").is_some();
    scope
}

async fn deploy(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let mut keypairs = a.list("keypairs");
    if let Some(k) = a.str("keypair") {
        keypairs.insert(0, k);
    }
    let s = c
        .app
        .vm_deploy(
            &c.caller,
            VmDeploy {
                zone_uuid: a.req_uuid("zoneid")?,
                offering_uuid: a.req_uuid("serviceofferingid")?,
                template_uuid: a.req_uuid("templateid")?,
                network_uuids: a.list("networkids"),
                ip_address: a.str("ipaddress"),
                name: a.str("name"),
                display_name: a.str("displayname"),
                user_data: a.str("userdata"),
                user_data_id: a.uuid("userdataid"),
                user_data_details: details(&a)?,
                keypairs,
                start: a.opt_bool("startvm").unwrap_or(true),
                host_uuid: a.uuid("hostid"),
                account: a.str("account"),
                domain_uuid: a.uuid("domainid"),
                hypervisor: a.str("hypervisor"),
                group: a.str("group"),
                root_disk_size_gb: a.i64("rootdisksize"),
                disk_offering_uuid: a.uuid("diskofferingid"),
                size_gb: a.i64("size"),
                dynamic_scaling: a.opt_bool("dynamicscalingenabled").unwrap_or(true),
            },
            c.job_meta()?,
        )
        .await?;
    Ok(Reply::Job {
        job_id: s.job_uuid,
        id: s.entity_uuid,
    })
}

async fn list(c: &Ctx, a: Args) -> Result<Reply, Error> {
    // `present` is every live state; a state no VM can be in matches nothing (CloudStack
    // compares the string).
    let state = match a.str("state").filter(|s| !s.eq_ignore_ascii_case("present")) {
        Some(s) => match ferrostack_types::state::VmState::parse(&s) {
            Some(st) => Some(st),
            None => return Ok(Reply::list("virtualmachine", 0, Vec::new())),
        },
        None => None,
    };
    let uuids = a.ids()?;
    let f = VmFilter {
        state,
        name: a.str("name"),
        keyword: a.str("keyword"),
        tags: crate::commands::tag::tag_filters(&a)?,
        // As with `id`, VMs asked for by id are listed Destroyed too.
        include_destroyed: !uuids.is_empty(),
        uuids,
        // Resolved removed templates included: VMs outlive their template.
        template_id: a.entity_id("templateid"),
        ..Default::default()
    };
    let (id, zone, host, network) = (a.uuid("id"), a.uuid("zoneid"), a.uuid("hostid"), a.uuid("networkid"));
    let (total, vms, nics) = c
        .app
        .vm_list(
            &c.caller,
            &ids_scope(&a),
            f,
            (id.as_deref(), zone.as_deref(), host.as_deref(), network.as_deref()),
            a.page()?,
        )
        .await?;
    let admin = c.caller.is_root_admin();
    let ids: Vec<i64> = vms.iter().map(|vm| vm.id).collect();
    let tags = c.app.tags_page(ResourceType::UserVm, &ids).await?;
    let details = c.app.details_page(ResourceType::UserVm, &ids, !admin).await?;
    let items = vms
        .iter()
        .map(|vm| {
            let ns: Vec<_> = nics.iter().filter(|n| n.vm_id == vm.id).collect();
            v::vm(vm, &ns, tags_of(&tags, vm.id), details_of(&details, vm.id), admin)
        })
        .collect();
    Ok(Reply::list("virtualmachine", total, items))
}

async fn job(c: &Ctx, a: &Args, params: serde_json::Value) -> Result<Reply, Error> {
    let s = c
        .app
        .vm_job(&c.caller, &a.req_uuid("id")?, c.job_meta()?, params)
        .await?;
    Ok(Reply::Job {
        job_id: s.job_uuid,
        id: None,
    })
}

async fn start(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let mut p = json!({});
    if let Some(h) = a.uuid("hostid") {
        p["host_id"] = json!(c.app.vm_start_host_pick(&c.caller, &h).await?);
    }
    job(c, &a, p).await
}

async fn stop(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let forced = a.bool("forced");
    job(c, &a, json!({"forced": forced})).await
}

async fn reboot(c: &Ctx, a: Args) -> Result<Reply, Error> {
    job(c, &a, json!({})).await
}

async fn destroy(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let expunge = a.bool("expunge");
    if expunge && !c.app.may_expunge(&c.caller).await? {
        return Err(Error::denied(
            "Expunging is not allowed for users (setting allow.user.expunge.recover.vm); destroy without expunge",
        ));
    }
    job(c, &a, json!({"expunge": expunge})).await
}

async fn expunge(c: &Ctx, a: Args) -> Result<Reply, Error> {
    c.app.vm_expunge_check(&c.caller, &a.req_uuid("id")?).await?;
    job(c, &a, json!({})).await
}

async fn reset_password(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let s = c
        .app
        .vm_reset_password(&c.caller, &a.req_uuid("id")?, c.job_meta()?)
        .await?;
    Ok(Reply::Job {
        job_id: s.job_uuid,
        id: None,
    })
}

async fn reset_ssh(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let mut keys = a.list("keypairs");
    if let Some(k) = a.str("keypair") {
        keys.insert(0, k);
    }
    let s = c
        .app
        .vm_reset_ssh_key(&c.caller, &a.req_uuid("id")?, keys, c.job_meta()?)
        .await?;
    Ok(Reply::Job {
        job_id: s.job_uuid,
        id: None,
    })
}

async fn view(c: &Ctx, uuid: &str) -> Result<serde_json::Value, Error> {
    let (vm, nics) = c
        .app
        .vm_view(uuid)
        .await?
        .ok_or_else(|| Error::unknown_entity("id", uuid))?;
    let refs: Vec<_> = nics.iter().collect();
    let tags = c.app.tags_page(ResourceType::UserVm, &[vm.id]).await?;
    let details = c
        .app
        .details_page(ResourceType::UserVm, &[vm.id], !c.caller.is_root_admin())
        .await?;
    Ok(v::vm(
        &vm,
        &refs,
        tags_of(&tags, vm.id),
        details_of(&details, vm.id),
        c.caller.is_root_admin(),
    ))
}

async fn recover(c: &Ctx, a: Args) -> Result<Reply, Error> {
    if !c.app.may_expunge(&c.caller).await? {
        return Err(Error::denied(
            "Recovering is not allowed for users (setting allow.user.expunge.recover.vm)",
        ));
    }
    let vm = c.app.vm_recover(&c.caller, &a.req_uuid("id")?).await?;
    Ok(Reply::object("virtualmachine", view(c, &vm.uuid).await?))
}

async fn update(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let vm = c
        .app
        .vm_update(
            &c.caller,
            &a.req_uuid("id")?,
            ferrostack_app::vm::VmUpdate {
                display_name: a.str("displayname"),
                name: a.str("name"),
                user_data: a.str("userdata"),
                user_data_id: a.uuid("userdataid"),
                details: details(&a)?,
                group: a.given("group"),
                dynamically_scalable: a.opt_bool("isdynamicallyscalable"),
            },
        )
        .await?;
    Ok(Reply::object("virtualmachine", view(c, &vm.uuid).await?))
}

async fn reset_user_data(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let vm = c
        .app
        .vm_reset_user_data(
            &c.caller,
            &a.req_uuid("id")?,
            a.str("userdata"),
            a.uuid("userdataid"),
            details(&a)?,
        )
        .await?;
    Ok(Reply::object("virtualmachine", view(c, &vm.uuid).await?))
}

async fn get_user_data(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let (id, ud) = c
        .app
        .vm_user_data_get(&c.caller, &a.req_uuid("virtualmachineid")?)
        .await?;
    let mut o = json!({"virtualmachineid": id});
    if let Some(u) = ud {
        o["userdata"] = json!(u);
    }
    Ok(Reply::object("virtualmachineuserdata", o))
}

async fn nics(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let (vm, mut nics) = c
        .app
        .vm_nics(
            &c.caller,
            &a.req_uuid("virtualmachineid")?,
            a.uuid("networkid").as_deref(),
        )
        .await?;
    if let Some(id) = a.uuid("nicid") {
        nics.retain(|n| n.uuid == id);
    }
    Ok(Reply::list(
        "nic",
        nics.len() as i64,
        nics.iter().map(|n| v::nic(n, &vm.uuid)).collect(),
    ))
}

async fn volumes(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let state = match a.str("state") {
        // CloudStack compares the string: a state no volume is in matches nothing.
        Some(s) => match s.parse::<ferrostack_types::state::VolumeState>() {
            Ok(st) => Some(Some(st)),
            Err(_) => None,
        },
        None => Some(None),
    };
    let Some(state) = state else {
        return Ok(Reply::list("volume", 0, Vec::new()));
    };
    let pool = match a.uuid("storageid") {
        Some(u) if c.caller.is_root_admin() => Some(c.app.pool_id_find("storageid", &u).await?),
        Some(_) => return Err(Error::denied("Only root administrators can list volumes by storageid")),
        None => None,
    };
    // Resolved removed offerings included: volumes keep a deleted offering.
    let offering = a.entity_id("diskofferingid");
    let f = VolumeFilter {
        state,
        pool_id: pool,
        disk_offering_id: offering,
        uuids: a.ids()?,
        volume_type: a.str("type"),
        name: a.str("name"),
        keyword: a.str("keyword"),
        tags: crate::commands::tag::tag_filters(&a)?,
        ..Default::default()
    };
    // `id` is resolved before the handler (a removed volume's id answers the empty list).
    let mut f = f;
    f.id = a.entity_id("id");
    let (vm, zone) = (a.uuid("virtualmachineid"), a.uuid("zoneid"));
    let (total, rows) = c
        .app
        .volume_list(&c.caller, &ids_scope(&a), f, vm.as_deref(), zone.as_deref(), a.page()?)
        .await?;
    let ids: Vec<i64> = rows.iter().map(|x| x.id).collect();
    let tags = c.app.tags_page(ResourceType::Volume, &ids).await?;
    Ok(Reply::list(
        "volume",
        total,
        rows.iter()
            .map(|x| v::volume(x, tags_of(&tags, x.id), c.caller.is_root_admin()))
            .collect(),
    ))
}
