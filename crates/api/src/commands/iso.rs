//! ISOs: templates with format ISO (`registerIso`, `listIsos`, `updateIso`, `deleteIso`) and a
//! VM's CD-ROM (`attachIso`, `detachIso`).

use ferrostack_app::model::TemplateUpdate;
use ferrostack_app::template::{TemplateList, TemplateRegister};
use ferrostack_types::Error;

use crate::args::Args;
use crate::registry::{list_params, scope_params, Access, Command, JobDecl, PType, Param, Shape, SUCCESS_FIELDS};
use crate::reply::Reply;
use crate::views::template::{self as views, TEMPLATE_FIELDS};
use crate::views::vm::VM_FIELDS;
use crate::Ctx;
use ferrostack_app::saga::SagaKind;
use ferrostack_types::EventType;

pub fn commands() -> Vec<Command> {
    vec![
        Command {
            name: "registerIso",
            description: "Registers an existing ISO into the CloudStack Cloud.",
            is_async: false,
            since: None,
            access: Access::All,
            params: vec![
                Param::new("name", PType::String, "the name of the ISO").required(),
                Param::new("url", PType::String, "the URL to where the ISO is currently being hosted").required().len(2048),
                Param::new("zoneid", PType::Uuid, "the ID of the zone you wish to register the ISO to; -1 for all zones").required().related("listZones"),
                Param::new("displaytext", PType::String, "the display text of the ISO, defaults to the 'name'").len(4096),
                Param::new("bootable", PType::Boolean, "true if this ISO is bootable. If not passed explicitly its assumed to be true"),
                Param::new("ostypeid", PType::Uuid, "the ID of the OS type that best represents the OS of this ISO").related("listOsTypes"),
                Param::new("isfeatured", PType::Boolean, "true if you want this ISO to be featured"),
                Param::new("ispublic", PType::Boolean, "true if you want to register the ISO to be publicly available to all users, false otherwise."),
                Param::new("isextractable", PType::Boolean, "true if the ISO or its derivatives are extractable; default is false"),
                Param::new("checksum", PType::String, "the checksum value of this ISO."),
                Param::new("directdownload", PType::Boolean, "true if ISO should bypass Secondary Storage and be downloaded to Primary Storage on deployment"),
                Param::new("isdynamicallyscalable", PType::Boolean, "true if ISO contains XS/VMWare tools inorder to support dynamic scaling of VM CPU/memory"),
                Param::new("passwordenabled", PType::Boolean, "true if password reset feature is supported; default is false"),
                Param::new("account", PType::String, "an optional account name. Must be used with domainId."),
                Param::new("domainid", PType::Uuid, "an optional domainId. If the account parameter is used, domainId must also be used.").related("listDomains"),
            ],
            shape: Shape::List("iso"),
            response: TEMPLATE_FIELDS,
            job: None,
            handler: |c, a| Box::pin(register(c, a)),
        },
        Command {
            name: "listIsos",
            description: "Lists all available ISO files.",
            is_async: false,
            since: None,
            access: Access::All,
            params: [
                list_params(),
                scope_params(),
                vec![
                    Param::new("isofilter", PType::String, "possible values are \"featured\", \"self\", \"selfexecutable\",\"sharedexecutable\",\"executable\", and \"community\". * featured : templates that have been marked as featured and public. * self : templates that have been registered or created by the calling user. * selfexecutable : same as self, but only returns templates that are ready to be deployed with. * sharedexecutable : templates ready to be deployed that have been granted to the calling user by another user. * executable : templates that are owned by the calling user, or public templates, that can be used to deploy a new VM. * community : templates that are public. (default selfexecutable)"),
                    Param::new("id", PType::Uuid, "list ISO by ID").related("listIsos"),
                    Param::new("ids", PType::List, "the IDs of the ISOs, mutually exclusive with id").since("4.19.0"),
                    Param::new("name", PType::String, "list all ISOs by name"),
                    Param::new("zoneid", PType::Uuid, "the ID of the zone").related("listZones"),
                    Param::new("bootable", PType::Boolean, "true if the ISO is bootable, false otherwise"),
                    Param::new("ispublic", PType::Boolean, "true if the ISO is publicly available to all users, false otherwise."),
                    Param::new("isready", PType::Boolean, "true if this ISO is ready to be deployed"),
                    Param::new("showunique", PType::Boolean, "If set to true, list only unique isos across zones").since("4.13.2"),
                    crate::commands::tag::tags_param(),
                ],
            ]
            .concat(),
            shape: Shape::List("iso"),
            response: TEMPLATE_FIELDS,
            job: None,
            handler: |c, a| Box::pin(list(c, a)),
        },
        Command {
            name: "updateIso",
            description: "Updates an ISO file.",
            is_async: false,
            since: None,
            access: Access::All,
            params: vec![
                Param::new("id", PType::Uuid, "the ID of the image file").required().related("listIsos"),
                Param::new("name", PType::String, "the name of the image file"),
                Param::new("displaytext", PType::String, "the display text of the image").len(4096),
                Param::new("ostypeid", PType::Uuid, "the ID of the OS type that best represents the OS of this image.").related("listOsTypes"),
                Param::new("bootable", PType::Boolean, "true if image is bootable, false otherwise; available only for updateIso API"),
                Param::new("passwordenabled", PType::Boolean, "true if the image supports the password reset feature; default is false"),
                Param::new("isdynamicallyscalable", PType::Boolean, "true if template/ISO contains XS/VMWare tools inorder to support dynamic scaling of VM cpu/memory"),
                Param::new("sortkey", PType::Integer, "sort key of the template, integer"),
                Param::new("details", PType::Map, "Details in key/value pairs using format details[i].keyname=keyvalue. Example: details[0].hypervisortoolsversion=xenserver61"),
                Param::new("cleanupdetails", PType::Boolean, "optional boolean field, which indicates if details should be cleaned up or not (if set to true, details removed for this resource, details field ignored; if false or not set, no action)"),
            ],
            shape: Shape::Object("iso"),
            response: TEMPLATE_FIELDS,
            job: None,
            handler: |c, a| Box::pin(update(c, a)),
        },
        Command {
            name: "deleteIso",
            description: "Deletes an ISO file.",
            is_async: true,
            since: None,
            access: Access::All,
            params: vec![
                Param::new("id", PType::Uuid, "the ID of the ISO file").required().related("listIsos"),
                Param::new("zoneid", PType::Uuid, "the ID of the zone of the ISO file. If not specified, the ISO will be deleted from all the zones").related("listZones"),
            ],
            shape: Shape::Job(None),
            response: SUCCESS_FIELDS,
            job: Some(JobDecl::new(SagaKind::TemplateDelete, EventType::IsoDelete, "org.apache.cloudstack.api.command.user.iso.DeleteIsoCmd")),
            handler: |c, a| Box::pin(delete(c, a)),
        },
        Command {
            name: "attachIso",
            description: "Attaches an ISO to a virtual machine.",
            is_async: true,
            since: None,
            access: Access::All,
            params: vec![
                Param::new("id", PType::Uuid, "the ID of the ISO file").required().related("listIsos"),
                Param::new("virtualmachineid", PType::Uuid, "the ID of the virtual machine").required().related("listVirtualMachines"),
            ],
            shape: Shape::Job(Some("virtualmachine")),
            response: VM_FIELDS,
            job: Some(JobDecl::new(SagaKind::VmIso, EventType::IsoAttach, "org.apache.cloudstack.api.command.user.iso.AttachIsoCmd")),
            handler: |c, a| Box::pin(attach(c, a)),
        },
        Command {
            name: "detachIso",
            description: "Detaches any ISO file (if any) currently attached to a virtual machine.",
            is_async: true,
            since: None,
            access: Access::All,
            params: vec![
                Param::new("virtualmachineid", PType::Uuid, "The ID of the virtual machine").required().related("listVirtualMachines"),
            ],
            shape: Shape::Job(Some("virtualmachine")),
            response: VM_FIELDS,
            job: Some(JobDecl::new(SagaKind::VmIso, EventType::IsoDetach, "org.apache.cloudstack.api.command.user.iso.DetachIsoCmd")),
            handler: |c, a| Box::pin(detach(c, a)),
        },
    ]
}

async fn register(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let p = TemplateRegister {
        name: a.req("name")?,
        display_text: a.str("displaytext"),
        url: a.req("url")?,
        format: "ISO".into(),
        hypervisor: "None".into(),
        os_type_uuid: a.uuid("ostypeid"),
        zone: a
            .str("zoneid")
            .map(|z| if z.trim() == "-1" { z } else { z.to_lowercase() }),
        zones: Vec::new(),
        direct_download: a.bool("directdownload"),
        is_routing: false,
        template_type: None,
        template_tag: None,
        checksum: a.str("checksum"),
        password_enabled: a.bool("passwordenabled"),
        sshkey_enabled: false,
        is_public: a.bool("ispublic"),
        is_featured: a.bool("isfeatured"),
        is_extractable: a.bool("isextractable"),
        bits: None,
        requires_hvm: None,
        dynamically_scalable: a.bool("isdynamicallyscalable"),
        details: Default::default(),
        account: a.str("account"),
        domain_uuid: a.uuid("domainid"),
        iso: true,
        bootable: a.opt_bool("bootable").unwrap_or(true),
    };
    let rows = c.app.template_register(&c.caller, p).await?;
    Ok(Reply::list(
        "iso",
        rows.len() as i64,
        rows.iter().map(|r| views::template(r, serde_json::json!([]))).collect(),
    ))
}

async fn list(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let p = TemplateList {
        filter: a.str("isofilter").unwrap_or_else(|| "selfexecutable".into()),
        scope: a.scope(),
        id: a.uuid("id"),
        ids: a.ids()?,
        name: a.str("name"),
        keyword: a.str("keyword"),
        zone_uuid: a.uuid("zoneid"),
        hypervisor: None,
        is_ready: a.opt_bool("isready"),
        template_type: None,
        os_category_uuid: None,
        show_unique: a.bool("showunique"),
        tags: crate::commands::tag::tag_filters(&a)?,
        isos: true,
        bootable: a.opt_bool("bootable"),
        is_public: a.opt_bool("ispublic"),
        page: a.page()?,
    };
    crate::commands::template::list_reply(c, p).await
}

async fn update(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let u = TemplateUpdate {
        name: a.str("name"),
        display_text: a.str("displaytext"),
        password_enabled: a.opt_bool("passwordenabled"),
        dynamically_scalable: a.opt_bool("isdynamicallyscalable"),
        bootable: a.opt_bool("bootable"),
        sort_key: a.i64("sortkey"),
        ..TemplateUpdate::default()
    };
    crate::commands::template::update_reply(c, &a, u, true).await
}

async fn delete(c: &Ctx, a: Args) -> Result<Reply, Error> {
    crate::commands::template::delete_reply(c, &a, true).await
}

async fn attach(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let s = c
        .app
        .iso_attach(
            &c.caller,
            &a.req_uuid("id")?,
            &a.req_uuid("virtualmachineid")?,
            c.job_meta()?,
        )
        .await?;
    Ok(Reply::Job {
        job_id: s.job_uuid,
        id: None,
    })
}

async fn detach(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let s = c
        .app
        .iso_detach(&c.caller, &a.req_uuid("virtualmachineid")?, c.job_meta()?)
        .await?;
    Ok(Reply::Job {
        job_id: s.job_uuid,
        id: None,
    })
}
