//! Templates and ISOs between zones and out of the cloud: `copyTemplate`, `copyIso`,
//! `extractTemplate`, `extractIso` (all async).

use ferrostack_app::saga::SagaKind;
use ferrostack_app::template::{TemplateCopy, TemplateExtractReq};
use ferrostack_types::{Error, EventType};

use crate::args::Args;
use crate::registry::{Access, Command, JobDecl, PType, Param, Shape};
use crate::reply::Reply;
use crate::views::template::{EXTRACT_FIELDS, TEMPLATE_FIELDS};
use crate::Ctx;

fn copy_params(what: &str) -> Vec<Param> {
    let list = match what {
        "ISO" => "listIsos",
        _ => "listTemplates",
    };
    vec![
        Param::new("id", PType::Uuid, "Template ID.").required().related(list),
        Param::new("sourcezoneid", PType::Uuid, "ID of the zone the template is currently hosted on. If not specified and template is cross-zone, then we will sync this template to region wide image store.").related("listZones"),
        Param::new("destzoneid", PType::Uuid, "ID of the zone the template is being copied to.").related("listZones"),
        Param::new("destzoneids", PType::List, "A list of IDs of the zones that the template needs to be copied to.Specify this list if the template needs to copied to multiple zones in one go. Do not specify destzoneid and destzoneids together, however one of them is required.").related("listZones"),
    ]
}

fn extract_params(what: &str) -> Vec<Param> {
    let list = match what {
        "ISO" => "listIsos",
        _ => "listTemplates",
    };
    vec![
        Param::new(
            "id",
            PType::Uuid,
            if what == "ISO" {
                "the ID of the ISO file"
            } else {
                "the ID of the template"
            },
        )
        .required()
        .related(list),
        Param::new(
            "mode",
            PType::String,
            "the mode of extraction - HTTP_DOWNLOAD (FTP_UPLOAD is refused)",
        )
        .required(),
        Param::new(
            "zoneid",
            PType::Uuid,
            "the ID of the zone where the image is originally located",
        )
        .related("listZones"),
    ]
}

pub fn commands() -> Vec<Command> {
    vec![
        Command {
            name: "copyTemplate",
            description: "Copies a template from one zone to another.",
            is_async: true,
            since: None,
            access: Access::All,
            params: copy_params("template"),
            shape: Shape::Job(Some("template")),
            response: TEMPLATE_FIELDS,
            job: Some(JobDecl::new(
                SagaKind::TemplateCopy,
                EventType::TemplateCopy,
                "org.apache.cloudstack.api.command.user.template.CopyTemplateCmd",
            )),
            handler: |c, a| Box::pin(copy(c, a, false)),
        },
        Command {
            name: "copyIso",
            description: "Copies an ISO from one zone to another.",
            is_async: true,
            since: None,
            access: Access::All,
            params: copy_params("ISO"),
            shape: Shape::Job(Some("iso")),
            response: TEMPLATE_FIELDS,
            job: Some(JobDecl::new(
                SagaKind::TemplateCopy,
                EventType::IsoCopy,
                "org.apache.cloudstack.api.command.user.iso.CopyIsoCmd",
            )),
            handler: |c, a| Box::pin(copy(c, a, true)),
        },
        Command {
            name: "extractTemplate",
            description: "Extracts a template",
            is_async: true,
            since: None,
            access: Access::All,
            params: extract_params("template"),
            shape: Shape::Job(Some("template")),
            response: EXTRACT_FIELDS,
            job: Some(JobDecl::new(
                SagaKind::TemplateExtract,
                EventType::TemplateExtract,
                "org.apache.cloudstack.api.command.user.template.ExtractTemplateCmd",
            )),
            handler: |c, a| Box::pin(extract(c, a, false)),
        },
        Command {
            name: "extractIso",
            description: "Extracts an ISO",
            is_async: true,
            since: None,
            access: Access::All,
            params: extract_params("ISO"),
            shape: Shape::Job(Some("iso")),
            response: EXTRACT_FIELDS,
            job: Some(JobDecl::new(
                SagaKind::TemplateExtract,
                EventType::IsoExtract,
                "org.apache.cloudstack.api.command.user.iso.ExtractIsoCmd",
            )),
            handler: |c, a| Box::pin(extract(c, a, true)),
        },
    ]
}

async fn copy(c: &Ctx, a: Args, iso: bool) -> Result<Reply, Error> {
    let p = TemplateCopy {
        uuid: a.req_uuid("id")?,
        source_zone: a.str("sourcezoneid").map(|z| z.to_lowercase()),
        dest_zone: a.str("destzoneid").map(|z| z.to_lowercase()),
        dest_zones: a.list("destzoneids").into_iter().map(|z| z.to_lowercase()).collect(),
        iso,
    };
    let s = c.app.template_copy(&c.caller, p, c.job_meta()?).await?;
    Ok(Reply::Job {
        job_id: s.job_uuid,
        id: None,
    })
}

async fn extract(c: &Ctx, a: Args, iso: bool) -> Result<Reply, Error> {
    let p = TemplateExtractReq {
        uuid: a.req_uuid("id")?,
        zone: a.str("zoneid").map(|z| z.to_lowercase()),
        mode: a.req("mode")?,
        iso,
    };
    let s = c.app.template_extract(&c.caller, p, c.job_meta()?).await?;
    Ok(Reply::Job {
        job_id: s.job_uuid,
        id: None,
    })
}
