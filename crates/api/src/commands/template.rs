use ferrostack_app::model::{CategoryFilter, OsFilter, TemplateUpdate};
use ferrostack_app::template::{TemplateDeleted, TemplateList, TemplateRegister};
use ferrostack_types::Error;

use crate::args::Args;
use crate::commands::items;
use crate::commands::storage::flat_map;
use crate::registry::{list_params, scope_params, Access, Command, JobDecl, PType, Param, Shape, SUCCESS_FIELDS};
use crate::reply::Reply;
use crate::views::tag::tags_of;
use crate::views::template::{self as views, OS_CATEGORY_FIELDS, OS_TYPE_FIELDS, TEMPLATE_FIELDS};
use crate::Ctx;
use ferrostack_app::saga::SagaKind;
use ferrostack_app::tag::ResourceType;
use ferrostack_types::EventType;

pub fn commands() -> Vec<Command> {
    vec![
        Command {
            name: "registerTemplate",
            description: "Registers an existing template into the CloudStack cloud.",
            is_async: false,
            since: None,
            access: Access::All,
            params: vec![
                Param::new("name", PType::String, "the name of the template").required(),
                Param::new("url", PType::String, "the URL of where the template is hosted. Possible URL include http:// and https://").required().len(2048),
                Param::new("format", PType::String, "the format for the template. Possible values include QCOW2, RAW, VHD and OVA.").required(),
                Param::new("hypervisor", PType::String, "the target hypervisor for the template: Simulator or KVM").required(),
                Param::new("displaytext", PType::String, "The display text of the template, defaults to the 'name'.").len(4096),
                Param::new("ostypeid", PType::Uuid, "the ID of the OS Type that best represents the OS of this template.").related("listOsTypes"),
                Param::new("zoneid", PType::Uuid, "the ID of the zone the template is to be hosted on; -1 for all zones").related("listZones"),
                Param::new("zoneids", PType::List, "A list of zone ids where the template will be hosted. Use this parameter if the template needs to be registered to multiple zones in one go. Use zoneid if the template needs to be registered to only one zone.Passing only -1 to this will cause the template to be registered as a cross zone template and will be copied to all zones. ").related("listZones"),
                Param::new("directdownload", PType::Boolean, "Boolean flag indicating if the data should be downloaded to primary storage directly, bypassing secondary storage (KVM and Simulator)"),
                Param::new("isrouting", PType::Boolean, "true if the template type is routing i.e., if template is used to deploy router"),
                Param::new("templatetype", PType::String, "the type of the template. Valid options are: USER/VNF (for all users) and SYSTEM/ROUTING/BUILTIN (for admins only).").since("4.19.0"),
                Param::new("templatetag", PType::String, "the tag for this template."),
                Param::new("checksum", PType::String, "the checksum value of this template."),
                Param::new("passwordenabled", PType::Boolean, "true if the template supports the password reset feature; default is false"),
                Param::new("sshkeyenabled", PType::Boolean, "true if the template supports the sshkey upload feature; default is false"),
                Param::new("ispublic", PType::Boolean, "true if the template is available to all accounts; default is true"),
                Param::new("isfeatured", PType::Boolean, "true if this template is a featured template, false otherwise"),
                Param::new("isextractable", PType::Boolean, "true if the template or its derivatives are extractable; default is false"),
                Param::new("bits", PType::Integer, "32 or 64 bits support. 64 by default"),
                Param::new("requireshvm", PType::Boolean, "true if this template requires HVM"),
                Param::new("isdynamicallyscalable", PType::Boolean, "true if template contains XS/VMWare tools inorder to support dynamic scaling of VM cpu/memory"),
                Param::new("details", PType::Map, "Template details in key/value pairs using format details[i].keyname=keyvalue. Example: details[0].hypervisortoolsversion=xenserver61"),
                Param::new("account", PType::String, "an optional accountName. Must be used with domainId."),
                Param::new("domainid", PType::Uuid, "an optional domainId. If the account parameter is used, domainId must also be used.").related("listDomains"),
                Param::new("projectid", PType::Uuid, "Register template for the project").related("listProjects"),
            ],
            shape: Shape::List("template"),
            response: TEMPLATE_FIELDS,
            job: None,
            handler: |c, a| Box::pin(register(c, a)),
        },
        Command {
            name: "listTemplates",
            description: "List all public, private, and privileged templates.",
            is_async: false,
            since: None,
            access: Access::All,
            params: [
                list_params(),
                scope_params(),
                vec![
                    Param::new("templatefilter", PType::String, "possible values are \"featured\", \"self\", \"selfexecutable\",\"sharedexecutable\",\"executable\", and \"community\". * featured : templates that have been marked as featured and public. * self : templates that have been registered or created by the calling user. * selfexecutable : same as self, but only returns templates that can be used to deploy a new VM. * sharedexecutable : templates ready to be deployed that have been granted to the calling user by another user. * executable : templates that are owned by the calling user, or public templates, that can be used to deploy a VM. * community : templates that have been marked as public but not featured. * all : all templates (only usable by admins).").required(),
                    Param::new("id", PType::Uuid, "the template ID").related("listTemplates"),
                    Param::new("ids", PType::List, "the IDs of the templates, mutually exclusive with id").since("4.9"),
                    Param::new("name", PType::String, "the template name"),
                    Param::new("zoneid", PType::Uuid, "list templates by zoneId").related("listZones"),
                    Param::new("hypervisor", PType::String, "the hypervisor for which to restrict the search"),
                    Param::new("isready", PType::Boolean, "list only ready templates").since("4.21.0"),
                    Param::new("templatetype", PType::String, "the type of the template: USER, SYSTEM, ROUTING, BUILTIN").since("4.19.0"),
                    Param::new("oscategoryid", PType::Uuid, "the ID of the OS category for the template").since("4.21.0").related("listOsCategories"),
                    Param::new("showunique", PType::Boolean, "If set to true, list only unique templates across zones").since("4.13.2"),
                    Param::new("showremoved", PType::Boolean, "show removed templates as well").only("false", "removed templates are not listed"),
                    Param::new("projectid", PType::Uuid, "list objects by project; if projectid=-1 lists All VMs"),
                    crate::commands::tag::tags_param(),
                ],
            ]
            .concat(),
            shape: Shape::List("template"),
            response: TEMPLATE_FIELDS,
            job: None,
            handler: |c, a| Box::pin(list(c, a)),
        },
        Command {
            name: "updateTemplate",
            description: "Updates attributes of a template.",
            is_async: false,
            since: None,
            access: Access::All,
            params: vec![
                Param::new("id", PType::Uuid, "the ID of the image file").required().related("listTemplates"),
                Param::new("name", PType::String, "the name of the image file"),
                Param::new("displaytext", PType::String, "the display text of the image").len(4096),
                Param::new("format", PType::String, "the format for the image"),
                Param::new("ostypeid", PType::Uuid, "the ID of the OS type that best represents the OS of this image.").related("listOsTypes"),
                Param::new("passwordenabled", PType::Boolean, "true if the image supports the password reset feature; default is false"),
                Param::new("sshkeyenabled", PType::Boolean, "true if the template supports the sshkey upload feature; default is false"),
                Param::new("bootable", PType::Boolean, "true if image is bootable, false otherwise; available only for updateIso API"),
                Param::new("requireshvm", PType::Boolean, "true if the template requires HVM, false otherwise; available only for updateTemplate API"),
                Param::new("isdynamicallyscalable", PType::Boolean, "true if template/ISO contains XS/VMWare tools inorder to support dynamic scaling of VM cpu/memory"),
                Param::new("sortkey", PType::Integer, "sort key of the template, integer"),
                Param::new("templatetype", PType::String, "the type of the template. Valid options are: USER/VNF (for all users) and SYSTEM/ROUTING/BUILTIN (for admins only)."),
                Param::new("templatetag", PType::String, "the tag for this template.").since("4.20.0"),
                Param::new("isrouting", PType::Boolean, "true if the template type is routing i.e., if template is used to deploy router"),
                Param::new("details", PType::Map, "Details in key/value pairs using format details[i].keyname=keyvalue. Example: details[0].hypervisortoolsversion=xenserver61"),
                Param::new("cleanupdetails", PType::Boolean, "optional boolean field, which indicates if details should be cleaned up or not (if set to true, details removed for this resource, details field ignored; if false or not set, no action)"),
                Param::new("ispublic", PType::Boolean, "true if the template is available to all accounts"),
                Param::new("isfeatured", PType::Boolean, "true if the template is featured (root admins only)"),
                Param::new("isextractable", PType::Boolean, "true if the template is extractable"),
            ],
            shape: Shape::Object("template"),
            response: TEMPLATE_FIELDS,
            job: None,
            handler: |c, a| Box::pin(update(c, a)),
        },
        Command {
            name: "deleteTemplate",
            description: "Deletes a template from the system. All virtual machines using the deleted template will not be affected.",
            is_async: true,
            since: None,
            access: Access::All,
            params: vec![
                Param::new("id", PType::Uuid, "the ID of the template").required().related("listTemplates"),
                Param::new("zoneid", PType::Uuid, "the ID of zone of the template").related("listZones"),
                Param::new("forced", PType::Boolean, "Force delete a template.").since("4.9+"),
            ],
            shape: Shape::Job(None),
            response: SUCCESS_FIELDS,
            job: Some(JobDecl::new(SagaKind::TemplateDelete, EventType::TemplateDelete, "org.apache.cloudstack.api.command.user.template.DeleteTemplateCmd")),
            handler: |c, a| Box::pin(delete(c, a)),
        },
        Command {
            name: "listOsTypes",
            description: "Lists all supported OS types for this cloud.",
            is_async: false,
            since: None,
            access: Access::All,
            params: [
                list_params(),
                vec![
                    Param::new("id", PType::Uuid, "list by Os type Id").related("listOsTypes"),
                    Param::new("oscategoryid", PType::Uuid, "list by Os Category id").related("listOsCategories"),
                    Param::new("description", PType::String, "list os by description").since("3.0.1"),
                    Param::new("fordisplay", PType::Boolean, "list resources by display flag (admin only)").since("4.18.1"),
                ],
            ]
            .concat(),
            shape: Shape::List("ostype"),
            response: OS_TYPE_FIELDS,
            job: None,
            handler: |c, a| Box::pin(list_os_types(c, a)),
        },
        Command {
            name: "listOsCategories",
            description: "Lists all supported OS categories for this cloud.",
            is_async: false,
            since: None,
            access: Access::All,
            params: [
                list_params(),
                vec![
                    Param::new("id", PType::Uuid, "list Os category by id").related("listOsCategories"),
                    Param::new("name", PType::String, "list os category by name").since("3.0.1"),
                    Param::new("isfeatured", PType::Boolean, "List available OS categories types that are featured").since("4.21.0"),
                ],
            ]
            .concat(),
            shape: Shape::List("oscategory"),
            response: OS_CATEGORY_FIELDS,
            job: None,
            handler: |c, a| Box::pin(list_os_categories(c, a)),
        },
    ]
}

async fn register(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let zones = a
        .str("zoneids")
        .map(|z| {
            z.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let p = TemplateRegister {
        name: a.req("name")?,
        display_text: a.str("displaytext"),
        url: a.req("url")?,
        format: a.req("format")?,
        hypervisor: a.req("hypervisor")?,
        os_type_uuid: a.uuid("ostypeid"),
        zone: a
            .str("zoneid")
            .map(|z| if z.trim() == "-1" { z } else { z.to_lowercase() }),
        zones,
        direct_download: a.bool("directdownload"),
        is_routing: a.bool("isrouting"),
        template_type: a.str("templatetype"),
        template_tag: a.str("templatetag"),
        checksum: a.str("checksum"),
        password_enabled: a.bool("passwordenabled"),
        sshkey_enabled: a.bool("sshkeyenabled"),
        is_public: a.opt_bool("ispublic").unwrap_or(true),
        is_featured: a.bool("isfeatured"),
        is_extractable: a.bool("isextractable"),
        bits: a.i64("bits"),
        requires_hvm: a.opt_bool("requireshvm"),
        dynamically_scalable: a.bool("isdynamicallyscalable"),
        details: flat_map(&a, "details")?,
        account: a.str("account"),
        domain_uuid: a.uuid("domainid"),
        iso: false,
        bootable: true,
    };
    let rows = c.app.template_register(&c.caller, p).await?;
    // A new template has no tags yet.
    Ok(Reply::list(
        "template",
        rows.len() as i64,
        rows.iter().map(|r| views::template(r, serde_json::json!([]))).collect(),
    ))
}

async fn list(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let p = TemplateList {
        filter: a.req("templatefilter")?,
        scope: a.scope(),
        id: a.uuid("id"),
        ids: a.ids()?,
        name: a.str("name"),
        keyword: a.str("keyword"),
        zone_uuid: a.uuid("zoneid"),
        hypervisor: a.str("hypervisor"),
        is_ready: a.opt_bool("isready"),
        template_type: a.str("templatetype"),
        os_category_uuid: a.uuid("oscategoryid"),
        show_unique: a.bool("showunique"),
        tags: crate::commands::tag::tag_filters(&a)?,
        isos: false,
        bootable: None,
        is_public: None,
        page: a.page()?,
    };
    list_reply(c, p).await
}

/// `listTemplates` / `listIsos` after their own filters: the page, its tags (as `Template` or
/// `ISO`), the answer (`template` or `iso`).
pub(crate) async fn list_reply(c: &Ctx, p: TemplateList) -> Result<Reply, Error> {
    let (tagged, key) = if p.isos {
        (ResourceType::Iso, "iso")
    } else {
        (ResourceType::Template, "template")
    };
    let (total, rows) = c.app.template_list(&c.caller, p).await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.template.id).collect();
    let tags = c.app.tags_page(tagged, &ids).await?;
    Ok(Reply::list(
        key,
        total,
        rows.iter()
            .map(|r| views::template(r, tags_of(&tags, r.template.id)))
            .collect(),
    ))
}

async fn update(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let u = TemplateUpdate {
        name: a.str("name"),
        display_text: a.str("displaytext"),
        format: a.str("format"),
        password_enabled: a.opt_bool("passwordenabled"),
        sshkey_enabled: a.opt_bool("sshkeyenabled"),
        requires_hvm: a.opt_bool("requireshvm"),
        dynamically_scalable: a.opt_bool("isdynamicallyscalable"),
        bootable: a.opt_bool("bootable"),
        is_public: a.opt_bool("ispublic"),
        is_featured: a.opt_bool("isfeatured"),
        is_extractable: a.opt_bool("isextractable"),
        sort_key: a.i64("sortkey"),
        template_type: a
            .str("templatetype")
            .or_else(|| (a.opt_bool("isrouting") == Some(true)).then(|| "ROUTING".to_string())),
        template_tag: a.str("templatetag"),
        ..TemplateUpdate::default()
    };
    update_reply(c, &a, u, false).await
}

/// `updateTemplate` / `updateIso` after their own fields: details, the update, the answer
/// (`template` or `iso`).
pub(crate) async fn update_reply(c: &Ctx, a: &Args, u: TemplateUpdate, iso: bool) -> Result<Reply, Error> {
    let details = if a.bool("cleanupdetails") {
        Some(Default::default())
    } else {
        let d = flat_map(a, "details")?;
        (!d.is_empty()).then_some(d)
    };
    let (t, first) = c
        .app
        .template_update(&c.caller, &a.req_uuid("id")?, u, a.uuid("ostypeid"), details, iso)
        .await?;
    let tags = c.app.tags_page(ResourceType::Template, &[t.id]).await?;
    let v = match &first {
        Some(row) => views::template(row, tags_of(&tags, t.id)),
        None => views::template_fields(&t, None, tags_of(&tags, t.id)),
    };
    Ok(Reply::object(if iso { "iso" } else { "template" }, v))
}

async fn delete(c: &Ctx, a: Args) -> Result<Reply, Error> {
    delete_reply(c, &a, false).await
}

/// `deleteTemplate` / `deleteIso`: a job, or done at once when there was nothing to remove.
pub(crate) async fn delete_reply(c: &Ctx, a: &Args, iso: bool) -> Result<Reply, Error> {
    match c
        .app
        .template_delete(
            &c.caller,
            &a.req_uuid("id")?,
            a.uuid("zoneid").as_deref(),
            c.job_meta()?,
            iso,
        )
        .await?
    {
        TemplateDeleted::Job(s) => Ok(Reply::Job {
            job_id: s.job_uuid,
            id: None,
        }),
        TemplateDeleted::Done => Ok(Reply::Success),
    }
}

async fn list_os_types(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let f = OsFilter {
        description: a.str("description"),
        keyword: a.str("keyword"),
        ..OsFilter::default()
    };
    let (total, rows) = c
        .app
        .os_type_list(f, a.uuid("id").as_deref(), a.uuid("oscategoryid").as_deref(), a.page()?)
        .await?;
    Ok(Reply::list("ostype", total, items(&rows, views::os_type)))
}

async fn list_os_categories(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let f = CategoryFilter {
        name: a.str("name"),
        featured: a.opt_bool("isfeatured"),
        keyword: a.str("keyword"),
        ..CategoryFilter::default()
    };
    let (total, rows) = c.app.os_category_list(f, a.uuid("id").as_deref(), a.page()?).await?;
    Ok(Reply::list("oscategory", total, items(&rows, views::os_category)))
}
