//! VM lifecycle extras: offerings (`changeServiceForVirtualMachine`, `scaleVirtualMachine`),
//! `restoreVirtualMachine`, `migrateVirtualMachine` (and `findHostsForMigration`), and NICs
//! (`addNicToVirtualMachine`, `removeNicFromVirtualMachine`,
//! `updateDefaultNicForVirtualMachine`). Every one but `findHostsForMigration` answers the VM.

use ferrostack_app::saga::SagaKind;
use ferrostack_app::tag::ResourceType;
use ferrostack_types::{Error, EventType};

use crate::args::Args;
use crate::registry::{list_params, Access, Command, Field, PType, Param, Shape};
use crate::reply::Reply;
use crate::views::tag::{details_of, tags_of};
use crate::views::vm::{self as v, VM_FIELDS};
use crate::Ctx;

fn vm_id(name: &'static str, description: &'static str) -> Param {
    Param::new(name, PType::Uuid, description)
        .required()
        .related("listVirtualMachines")
}

fn offering_id() -> Param {
    Param::new(
        "serviceofferingid",
        PType::Uuid,
        "the service offering ID to apply to the virtual machine",
    )
    .required()
    .related("listServiceOfferings")
}

fn nic_id() -> Param {
    Param::new("nicid", PType::Uuid, "NIC ID")
        .required()
        .related("listNics")
}

fn async_cmd(
    name: &'static str,
    description: &'static str,
    params: Vec<Param>,
    handler: crate::registry::Handler,
) -> Command {
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
            name: "changeServiceForVirtualMachine",
            description: "Changes the service offering for a virtual machine. The virtual machine must be in a \"Stopped\" state for this command to take effect.",
            is_async: false,
            since: None,
            access: Access::All,
            params: offering_params(),
            shape: Shape::Object("virtualmachine"),
            response: VM_FIELDS,
            job: None,
            handler: |c, a| Box::pin(change_service(c, a)),
        },
        async_cmd(
            "scaleVirtualMachine",
            "Scales the virtual machine to a new service offering. A stopped virtual machine takes the offering; a running one grows in place where its template and offering allow dynamic scaling and the zone enables it (enable.dynamic.scale.vm).",
            offering_params(),
            |c, a| Box::pin(scale(c, a)),
        )
        .job(SagaKind::VmScale, EventType::VmUpgrade, "org.apache.cloudstack.api.command.user.vm.ScaleVMCmd"),
        Command {
            since: Some("3.0.0"),
            ..async_cmd(
                "restoreVirtualMachine",
                "Restore a VM to original template/ISO or new template/ISO",
                vec![
                    vm_id("virtualmachineid", "Virtual Machine ID"),
                    Param::new("templateid", PType::Uuid, "an optional template Id to restore vm from the new template. This can be an ISO id in case of restore vm deployed using ISO").related("listTemplates"),
                    Param::new("expunge", PType::Boolean, "Optional field to expunge old root volume after restore.").since("4.18")
                        .only("true", "the old root volume is expunged at once"),
                    Param::unsupported("diskofferingid", PType::Uuid, "the root volume takes the template's size and no disk offering; leave it out"),
                    Param::unsupported("rootdisksize", PType::Long, "the root volume takes the template's size; leave it out"),
                    Param::unsupported("details", PType::Map, "custom parameters are not supported on restore; leave them out"),
                ],
                |c, a| Box::pin(restore(c, a)),
            )
        }
        .job(SagaKind::VmRestore, EventType::VmRestore, "org.apache.cloudstack.api.command.user.vm.RestoreVMCmd"),
        Command {
            access: Access::Admin,
            ..async_cmd(
                "migrateVirtualMachine",
                "Attempts Migration of a VM to a different host or Root volume of the vm to a different storage pool",
                vec![
                    vm_id("virtualmachineid", "the ID of the virtual machine"),
                    Param::new("hostid", PType::Uuid, "Destination Host ID to migrate VM to.").related("listHosts"),
                    Param::new("autoselect", PType::Boolean, "Automatically select a destination host which do not require storage migration, if hostId and storageId are not specified. false by default").since("4.16.0"),
                    Param::unsupported("storageid", PType::Uuid, "migrating a stopped VM's volumes to another storage pool is not supported yet; migrate running VMs between hosts"),
                ],
                |c, a| Box::pin(migrate(c, a)),
            )
        }
        .job(SagaKind::VmMigrate, EventType::VmMigrate, "org.apache.cloudstack.api.command.admin.vm.MigrateVMCmd"),
        Command {
            name: "findHostsForMigration",
            description: "Find hosts suitable for migrating a virtual machine.",
            is_async: false,
            since: None,
            access: Access::Admin,
            params: [
                list_params(),
                vec![vm_id("virtualmachineid", "find hosts to which this VM can be migrated and flag the hosts with enough CPU/RAM to host the VM")],
            ]
            .concat(),
            shape: Shape::List("host"),
            response: MIGRATION_HOST_FIELDS.as_slice(),
            job: None,
            handler: |c, a| Box::pin(migration_hosts(c, a)),
        },
        async_cmd(
            "addNicToVirtualMachine",
            "Adds VM to specified network by creating a NIC",
            vec![
                vm_id("virtualmachineid", "Virtual Machine ID"),
                Param::new("networkid", PType::Uuid, "Network ID").required().related("listNetworks"),
                Param::new("ipaddress", PType::String, "IP Address for the new network"),
                Param::unsupported("ipv6address", PType::String, "IPv6 is not supported yet"),
                Param::unsupported("macaddress", PType::String, "MAC addresses are assigned by the network; leave it out"),
                Param::unsupported("dhcpoptions", PType::Map, "extra DHCP options are not supported yet"),
            ],
            |c, a| Box::pin(nic_add(c, a)),
        )
        .job(SagaKind::VmNicAdd, EventType::NicCreate, "org.apache.cloudstack.api.command.user.vm.AddNicToVMCmd"),
        async_cmd(
            "removeNicFromVirtualMachine",
            "Removes VM from specified network by deleting a NIC",
            vec![vm_id("virtualmachineid", "Virtual Machine ID"), nic_id()],
            |c, a| Box::pin(nic_remove(c, a)),
        )
        .job(SagaKind::VmNicRemove, EventType::NicDelete, "org.apache.cloudstack.api.command.user.vm.RemoveNicFromVMCmd"),
        async_cmd(
            "updateDefaultNicForVirtualMachine",
            "Changes the default NIC on a VM",
            vec![vm_id("virtualmachineid", "Virtual Machine ID"), nic_id()],
            |c, a| Box::pin(nic_default(c, a)),
        )
        .job(SagaKind::VmNicDefault, EventType::NicUpdate, "org.apache.cloudstack.api.command.user.vm.UpdateDefaultNicForVMCmd"),
    ]
}

/// `findHostsForMigration`'s hosts: a host and whether the VM can move there.
static MIGRATION_HOST_FIELDS: std::sync::LazyLock<Vec<Field>> = std::sync::LazyLock::new(|| {
    let mut f = crate::views::infra::HOST_FIELDS.to_vec();
    f.push((
        "suitableformigration",
        "boolean",
        "true if this host is suitable(has enough capacity and satisfies all conditions like hosttags, max guests vm limit etc) to migrate a VM to it , false otherwise",
    ));
    f.push((
        "requiresStorageMotion",
        "boolean",
        "true if migrating a vm to this host requires storage motion, false otherwise",
    ));
    f
});

/// What changeServiceForVirtualMachine and scaleVirtualMachine take: the VM and a fixed
/// offering; CloudStack's custom sizes, IOPS and root volume changes are refused.
fn offering_params() -> Vec<Param> {
    const ROOT: &str = "the root volume is not changed by an offering change; leave it out";
    vec![
        vm_id("id", "The ID of the virtual machine"),
        offering_id(),
        Param::unsupported(
            "details",
            PType::Map,
            "custom offerings are not supported; choose a fixed offering",
        ),
        Param::unsupported("miniops", PType::Long, "disk IOPS are not managed; leave it out"),
        Param::unsupported("maxiops", PType::Long, "disk IOPS are not managed; leave it out"),
        Param::unsupported("automigrate", PType::Boolean, ROOT),
        Param::unsupported("shrinkok", PType::Boolean, ROOT),
    ]
}

async fn view(c: &Ctx, uuid: &str) -> Result<serde_json::Value, Error> {
    let (vm, nics) = c
        .app
        .vm_view(uuid)
        .await?
        .ok_or_else(|| Error::unknown_entity("id", uuid))?;
    let refs: Vec<_> = nics.iter().collect();
    let admin = c.caller.is_root_admin();
    let tags = c.app.tags_page(ResourceType::UserVm, &[vm.id]).await?;
    let details = c.app.details_page(ResourceType::UserVm, &[vm.id], !admin).await?;
    Ok(v::vm(
        &vm,
        &refs,
        tags_of(&tags, vm.id),
        details_of(&details, vm.id),
        admin,
    ))
}

fn job_reply(job_id: String) -> Reply {
    Reply::Job { job_id, id: None }
}

async fn change_service(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let vm = c
        .app
        .vm_change_service(&c.caller, &a.req_uuid("id")?, &a.req_uuid("serviceofferingid")?)
        .await?;
    Ok(Reply::object("virtualmachine", view(c, &vm.uuid).await?))
}

async fn scale(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let s = c
        .app
        .vm_scale(
            &c.caller,
            &a.req_uuid("id")?,
            &a.req_uuid("serviceofferingid")?,
            c.job_meta()?,
        )
        .await?;
    Ok(job_reply(s.job_uuid))
}

async fn restore(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let template = a.uuid("templateid");
    let s = c
        .app
        .vm_restore(
            &c.caller,
            &a.req_uuid("virtualmachineid")?,
            template.as_deref(),
            c.job_meta()?,
        )
        .await?;
    Ok(job_reply(s.job_uuid))
}

async fn migrate(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let host = a.uuid("hostid");
    let s = c
        .app
        .vm_migrate(
            &c.caller,
            &a.req_uuid("virtualmachineid")?,
            host.as_deref(),
            a.opt_bool("autoselect").unwrap_or(true),
            c.job_meta()?,
        )
        .await?;
    Ok(job_reply(s.job_uuid))
}

async fn nic_add(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let ip = a.str("ipaddress");
    let s = c
        .app
        .vm_nic_add(
            &c.caller,
            &a.req_uuid("virtualmachineid")?,
            &a.req_uuid("networkid")?,
            ip.as_deref(),
            c.job_meta()?,
        )
        .await?;
    Ok(job_reply(s.job_uuid))
}

async fn nic_remove(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let s = c
        .app
        .vm_nic_remove(
            &c.caller,
            &a.req_uuid("virtualmachineid")?,
            &a.req_uuid("nicid")?,
            c.job_meta()?,
        )
        .await?;
    Ok(job_reply(s.job_uuid))
}

async fn nic_default(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let s = c
        .app
        .vm_nic_default(
            &c.caller,
            &a.req_uuid("virtualmachineid")?,
            &a.req_uuid("nicid")?,
            c.job_meta()?,
        )
        .await?;
    Ok(job_reply(s.job_uuid))
}

async fn migration_hosts(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let (total, hosts) = c
        .app
        .vm_migration_hosts(&c.caller, &a.req_uuid("virtualmachineid")?, a.str("keyword"), a.page()?)
        .await?;
    let items = hosts
        .iter()
        .map(|(h, suitable)| {
            let mut o = crate::views::infra::host(h);
            o["suitableformigration"] = serde_json::json!(suitable);
            o["requiresStorageMotion"] = serde_json::json!(false);
            o
        })
        .collect();
    Ok(Reply::list("host", total, items))
}
