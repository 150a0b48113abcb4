use ferrostack_app::model::{DiskFilter, ServiceFilter};
use ferrostack_app::offering::{DiskOfferingCreate, ServiceOfferingCreate};
use ferrostack_types::Error;

use crate::args::Args;
use crate::commands::items;
use crate::registry::{list_params, scope_params, Access, Command, PType, Param, Shape, SUCCESS_FIELDS};
use crate::reply::Reply;
use crate::views::offering::{self as views, DISK_OFFERING_FIELDS, SERVICE_OFFERING_FIELDS};
use crate::Ctx;

fn update_params(what: &'static str, related: &'static str) -> Vec<Param> {
    vec![
        Param::new("id", PType::Uuid, what).required().related(related),
        Param::new("name", PType::String, "the name of the offering to be updated"),
        Param::new(
            "displaytext",
            PType::String,
            "the display text of the offering to be updated",
        )
        .len(4096),
        Param::new("sortkey", PType::Integer, "sort key of the offering, integer"),
    ]
}

pub fn commands() -> Vec<Command> {
    vec![
        Command {
            name: "createServiceOffering",
            description: "Creates a service offering.",
            is_async: false,
            since: None,
            access: Access::Admin,
            params: vec![
                Param::new("name", PType::String, "the name of the service offering").required(),
                Param::new("displaytext", PType::String, "The display text of the service offering, defaults to 'name'.").len(4096),
                Param::new("cpunumber", PType::Integer, "the CPU number of the service offering"),
                Param::new("cpuspeed", PType::Integer, "the CPU speed of the service offering in MHz."),
                Param::new("memory", PType::Integer, "the total memory of the service offering in MB"),
                Param::new("customized", PType::Boolean, "Whether service offering size is custom or not").since("4.18.0"),
                Param::new("storagetype", PType::String, "the storage type of the service offering. Values are local and shared."),
                Param::new("provisioningtype", PType::String, "provisioning type used to create volumes. Valid values are thin, sparse, fat."),
                Param::new("offerha", PType::Boolean, "the HA for the service offering"),
                Param::new("limitcpuuse", PType::Boolean, "restrict the CPU usage to committed service offering"),
                Param::new("isvolatile", PType::Boolean, "true if the virtual machine needs to be volatile so that on every reboot of VM, original root disk is dettached then destroyed and a fresh root disk is created and attached to VM"),
                Param::new("issystem", PType::Boolean, "is this a system vm offering"),
                Param::new("systemvmtype", PType::String, "the system VM type. Possible types are \"domainrouter\", \"consoleproxy\" and \"secondarystoragevm\"."),
                Param::new("hosttags", PType::String, "the host tag for this service offering."),
                Param::new("tags", PType::String, "the tags for this service offering."),
                Param::new("networkrate", PType::Integer, "data transfer rate in megabits per second allowed. Supported only for non-System offering and system offerings having \"domainrouter\" systemvmtype"),
                Param::new("rootdisksize", PType::Long, "the Root disk size in GB.").since("4.15"),
                Param::new("diskofferingid", PType::Uuid, "the ID of the disk offering to which service offering should be mapped").since("4.17").related("listDiskOfferings"),
                Param::new("dynamicscalingenabled", PType::Boolean, "true if virtual machine needs to be dynamically scalable of cpu or memory").since("4.16"),
                Param::new("domainid", PType::List, "the ID of the containing domain(s), null for public offerings"),
                Param::new("zoneid", PType::List, "the ID of the containing zone(s), null for public offerings").since("4.13"),
            ],
            shape: Shape::Object("serviceoffering"),
            response: SERVICE_OFFERING_FIELDS,
            job: None,
            handler: |c, a| Box::pin(create_service(c, a)),
        },
        Command {
            name: "listServiceOfferings",
            description: "Lists all available service offerings.",
            is_async: false,
            since: None,
            access: Access::All,
            params: [
                list_params(),
                scope_params(),
                vec![
                    Param::new("id", PType::Uuid, "ID of the service offering").related("listServiceOfferings"),
                    Param::new("name", PType::String, "name of the service offering"),
                    Param::new("issystem", PType::Boolean, "is this a system vm offering"),
                    Param::new("systemvmtype", PType::String, "the system VM type. Possible types are \"consoleproxy\", \"secondarystoragevm\" or \"domainrouter\"."),
                    Param::new("storagetype", PType::String, "the storage type of the service offering. Values are local and shared.").since("4.19"),
                    Param::new("cpunumber", PType::Integer, "the CPU number that listed offerings must support").since("4.15"),
                    Param::new("cpuspeed", PType::Integer, "the CPU speed that listed offerings must support").since("4.15"),
                    Param::new("memory", PType::Integer, "the RAM memory that listed offering must support").since("4.15"),
                    Param::new("state", PType::String, "Filter by state of the service offering. Defaults to 'Active'.").since("4.19"),
                    Param::new("zoneid", PType::Uuid, "id of zone disk offering is associated with").since("4.13").related("listZones"),
                    Param::new("virtualmachineid", PType::Uuid, "the ID of the virtual machine. Pass this in if you want to see the available service offering that a virtual machine can be changed to.").related("listVirtualMachines"),
                ],
            ]
            .concat(),
            shape: Shape::List("serviceoffering"),
            response: SERVICE_OFFERING_FIELDS,
            job: None,
            handler: |c, a| Box::pin(list_service(c, a)),
        },
        Command {
            name: "updateServiceOffering",
            description: "Updates a service offering.",
            is_async: false,
            since: None,
            access: Access::Admin,
            params: update_params("the ID of the service offering to be updated", "listServiceOfferings"),
            shape: Shape::Object("serviceoffering"),
            response: SERVICE_OFFERING_FIELDS,
            job: None,
            handler: |c, a| Box::pin(update_service(c, a)),
        },
        Command {
            name: "deleteServiceOffering",
            description: "Deletes a service offering.",
            is_async: false,
            since: None,
            access: Access::Admin,
            params: vec![Param::new("id", PType::Uuid, "the ID of the service offering").required().related("listServiceOfferings")],
            shape: Shape::Success,
            response: SUCCESS_FIELDS,
            job: None,
            handler: |c, a| Box::pin(delete_service(c, a)),
        },
        Command {
            name: "createDiskOffering",
            description: "Creates a disk offering.",
            is_async: false,
            since: None,
            access: Access::Admin,
            params: vec![
                Param::new("name", PType::String, "name of the disk offering").required(),
                Param::new("displaytext", PType::String, "An alternate display text of the disk offering, defaults to 'name'.").len(4096),
                Param::new("disksize", PType::Long, "size of the disk offering in GB (1GB = 1,073,741,824 bytes)"),
                Param::new("customized", PType::Boolean, "whether disk offering size is custom or not"),
                Param::new("storagetype", PType::String, "the storage type of the disk offering. Values are local and shared."),
                Param::new("provisioningtype", PType::String, "provisioning type used to create volumes. Valid values are thin, sparse, fat."),
                Param::new("tags", PType::String, "tags for the disk offering").len(4096),
                Param::new("customizediops", PType::Boolean, "whether disk offering iops is custom or not"),
                Param::new("miniops", PType::Long, "min iops of the disk offering"),
                Param::new("maxiops", PType::Long, "max iops of the disk offering"),
                Param::new("displayoffering", PType::Boolean, "an optional field, whether to display the offering to the end user or not."),
                Param::new("encrypt", PType::Boolean, "Volumes using this offering should be encrypted").since("4.18"),
                Param::new("domainid", PType::List, "the ID of the containing domain(s), null for public offerings"),
                Param::new("zoneid", PType::List, "the ID of the containing zone(s), null for public offerings").since("4.13"),
            ],
            shape: Shape::Object("diskoffering"),
            response: DISK_OFFERING_FIELDS,
            job: None,
            handler: |c, a| Box::pin(create_disk(c, a)),
        },
        Command {
            name: "listDiskOfferings",
            description: "Lists all available disk offerings.",
            is_async: false,
            since: None,
            access: Access::All,
            params: [
                list_params(),
                scope_params(),
                vec![
                    Param::new("id", PType::Uuid, "ID of the disk offering").related("listDiskOfferings"),
                    Param::new("name", PType::String, "name of the disk offering"),
                    Param::new("storagetype", PType::String, "the storage type of the disk offering. Values are local and shared.").since("4.19"),
                    Param::new("state", PType::String, "Filter by state of the disk offering. Defaults to 'Active'.").since("4.19"),
                    Param::new("zoneid", PType::Uuid, "id of zone disk offering is associated with").since("4.13").related("listZones"),
                ],
            ]
            .concat(),
            shape: Shape::List("diskoffering"),
            response: DISK_OFFERING_FIELDS,
            job: None,
            handler: |c, a| Box::pin(list_disk(c, a)),
        },
        Command {
            name: "updateDiskOffering",
            description: "Updates a disk offering.",
            is_async: false,
            since: None,
            access: Access::Admin,
            params: update_params("ID of the disk offering", "listDiskOfferings"),
            shape: Shape::Object("diskoffering"),
            response: DISK_OFFERING_FIELDS,
            job: None,
            handler: |c, a| Box::pin(update_disk(c, a)),
        },
        Command {
            name: "deleteDiskOffering",
            description: "Deletes a disk offering.",
            is_async: false,
            since: None,
            access: Access::Admin,
            params: vec![Param::new("id", PType::Uuid, "ID of the disk offering").required().related("listDiskOfferings")],
            shape: Shape::Success,
            response: SUCCESS_FIELDS,
            job: None,
            handler: |c, a| Box::pin(delete_disk(c, a)),
        },
    ]
}

async fn create_service(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let p = ServiceOfferingCreate {
        name: a.req("name")?,
        display_text: a.str("displaytext"),
        cpu_number: a.i64("cpunumber"),
        cpu_speed: a.i64("cpuspeed"),
        memory_mb: a.i64("memory"),
        storage_type: a.str("storagetype"),
        provisioning_type: a.str("provisioningtype"),
        offer_ha: a.bool("offerha"),
        limit_cpu_use: a.bool("limitcpuuse"),
        is_volatile: a.bool("isvolatile"),
        is_system: a.bool("issystem"),
        system_vm_type: a.str("systemvmtype"),
        host_tags: a.str("hosttags"),
        storage_tags: a.str("tags"),
        network_rate: a.i64("networkrate"),
        root_disk_size: a.i64("rootdisksize"),
        disk_offering_uuid: a.uuid("diskofferingid"),
        dynamic_scaling: a.opt_bool("dynamicscalingenabled"),
        restricted: a.str("domainid").is_some() || a.str("zoneid").is_some(),
    };
    let o = c.app.service_offering_create(&c.caller, p).await?;
    Ok(Reply::object("serviceoffering", views::service_offering(&o)))
}

async fn list_service(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let f = ServiceFilter {
        name: a.str("name"),
        keyword: a.str("keyword"),
        is_system: a.opt_bool("issystem"),
        system_vm_type: a.str("systemvmtype"),
        storage_type: a.str("storagetype"),
        cpu_number: a.i64("cpunumber"),
        cpu_speed: a.i64("cpuspeed"),
        memory_mb: a.i64("memory"),
        state: a
            .str("state")
            .map(|s| ferrostack_types::state::OfferingState::parse_param("state", &s))
            .transpose()?,
        ..ServiceFilter::default()
    };
    let (total, rows) = c
        .app
        .service_offering_list(&c.caller, f, a.uuid("id").as_deref(), a.page()?)
        .await?;
    Ok(Reply::list(
        "serviceoffering",
        total,
        items(&rows, views::service_offering),
    ))
}

async fn update_service(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let o = c
        .app
        .service_offering_update(
            &c.caller,
            &a.req_uuid("id")?,
            a.str("name"),
            a.str("displaytext"),
            a.i64("sortkey"),
        )
        .await?;
    Ok(Reply::object("serviceoffering", views::service_offering(&o)))
}

async fn delete_service(c: &Ctx, a: Args) -> Result<Reply, Error> {
    c.app.service_offering_delete(&c.caller, &a.req_uuid("id")?).await?;
    Ok(Reply::Success)
}

async fn create_disk(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let p = DiskOfferingCreate {
        name: a.req("name")?,
        display_text: a.str("displaytext"),
        disk_size_gb: a.i64("disksize"),
        customized: a.bool("customized"),
        storage_type: a.str("storagetype"),
        provisioning_type: a.str("provisioningtype"),
        tags: a.str("tags"),
        customized_iops: a.bool("customizediops"),
        min_iops: a.i64("miniops"),
        max_iops: a.i64("maxiops"),
        display_offering: a.opt_bool("displayoffering"),
        encrypt: a.bool("encrypt"),
        restricted: a.str("domainid").is_some() || a.str("zoneid").is_some(),
    };
    let o = c.app.disk_offering_create(&c.caller, p).await?;
    Ok(Reply::object("diskoffering", views::disk_offering(&o)))
}

async fn list_disk(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let f = DiskFilter {
        name: a.str("name"),
        keyword: a.str("keyword"),
        storage_type: a.str("storagetype"),
        state: a
            .str("state")
            .map(|s| ferrostack_types::state::OfferingState::parse_param("state", &s))
            .transpose()?,
        ..DiskFilter::default()
    };
    let (total, rows) = c
        .app
        .disk_offering_list(&c.caller, f, a.uuid("id").as_deref(), a.page()?)
        .await?;
    Ok(Reply::list("diskoffering", total, items(&rows, views::disk_offering)))
}

async fn update_disk(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let o = c
        .app
        .disk_offering_update(
            &c.caller,
            &a.req_uuid("id")?,
            a.str("name"),
            a.str("displaytext"),
            a.i64("sortkey"),
        )
        .await?;
    Ok(Reply::object("diskoffering", views::disk_offering(&o)))
}

async fn delete_disk(c: &Ctx, a: Args) -> Result<Reply, Error> {
    c.app.disk_offering_delete(&c.caller, &a.req_uuid("id")?).await?;
    Ok(Reply::Success)
}
