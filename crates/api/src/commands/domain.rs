use ferrostack_app::domain::{DomainCreate, DomainListParams};
use ferrostack_app::model::DomainFilter;

use crate::args::Args;
use crate::commands::items;
use crate::registry::{list_params, Access, Command, JobDecl, PType, Param, Shape, SUCCESS_FIELDS};
use crate::reply::Reply;
use crate::views::{self, DOMAIN_FIELDS};
use crate::Ctx;
use ferrostack_app::saga::SagaKind;
use ferrostack_types::Error;
use ferrostack_types::EventType;

pub fn commands() -> Vec<Command> {
    vec![
        Command {
            name: "createDomain",
            description: "Creates a domain",
            is_async: false,
            since: None,
            access: Access::DomainAdmin,
            params: vec![
                Param::new("name", PType::String, "creates domain with this name").required(),
                Param::new("parentdomainid", PType::Uuid, "assigns new domain a parent domain by domain ID of the parent.  If no parent domain is specified, the ROOT domain is assumed.").related("listDomains"),
                Param::new("networkdomain", PType::String, "Network domain for networks in the domain"),
                Param::new("domainid", PType::String, "Domain UUID, required for adding domain from another Region"),
            ],
            shape: Shape::Object("domain"),
            response: DOMAIN_FIELDS,
            job: None,
            handler: |c, a| Box::pin(create(c, a)),
        },
        Command {
            name: "listDomains",
            description: "Lists domains and provides detailed information for listed domains",
            is_async: false,
            since: None,
            access: Access::All,
            params: [
                list_params(),
                vec![
                    Param::new("id", PType::Uuid, "List domain by domain ID.").related("listDomains"),
                    Param::new("name", PType::String, "List domain by domain name."),
                    Param::new("level", PType::Integer, "List domains by domain level."),
                    Param::new("listall", PType::Boolean, "If set to false, list only resources belonging to the command's caller; if set to true - list resources that the caller is authorized to see. Default value is false"),
                    Param::new("isrecursive", PType::Boolean, "Lists the sub-domains of the caller's domain too"),
                    Param::new("details", PType::List, "comma separated list of domain details requested"),
                ],
            ]
            .concat(),
            shape: Shape::List("domain"),
            response: DOMAIN_FIELDS,
            job: None,
            handler: |c, a| Box::pin(list(c, a)),
        },
        Command {
            name: "updateDomain",
            description: "Updates a domain with a new name",
            is_async: false,
            since: None,
            access: Access::DomainAdmin,
            params: vec![
                Param::new("id", PType::Uuid, "ID of domain to update").required().related("listDomains"),
                Param::new("name", PType::String, "updates domain with this name"),
                Param::new("networkdomain", PType::String, "Network domain for the domain's networks"),
            ],
            shape: Shape::Object("domain"),
            response: DOMAIN_FIELDS,
            job: None,
            handler: |c, a| Box::pin(update(c, a)),
        },
        Command {
            name: "deleteDomain",
            description: "Deletes a specified domain",
            is_async: true,
            since: None,
            access: Access::DomainAdmin,
            params: vec![
                Param::new("id", PType::Uuid, "ID of domain to delete").required().related("listDomains"),
                Param::new("cleanup", PType::Boolean, "true if all domain resources (child domains, accounts) have to be cleaned up, false otherwise"),
            ],
            shape: Shape::Job(None),
            response: SUCCESS_FIELDS,
            job: Some(JobDecl::new(SagaKind::DomainDelete, EventType::DomainDelete, "org.apache.cloudstack.api.command.admin.domain.DeleteDomainCmd")),
            handler: |c, a| Box::pin(delete(c, a)),
        },
    ]
}

async fn create(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let d = c
        .app
        .domain_create(
            &c.caller,
            DomainCreate {
                name: a.req("name")?,
                parent_uuid: a.uuid("parentdomainid"),
                network_domain: a.str("networkdomain"),
                uuid: a.uuid("domainid"),
            },
        )
        .await?;
    Ok(Reply::object("domain", views::domain(&d)))
}

async fn list(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let p = DomainListParams {
        filter: DomainFilter {
            id: None,
            name: a.str("name"),
            level: a.i64("level"),
            keyword: a.str("keyword"),
        },
        id: a.uuid("id"),
        list_all: a.bool("listall"),
        is_recursive: a.bool("isrecursive"),
    };
    let (total, rows) = c.app.domain_list(&c.caller, p, a.page()?).await?;
    Ok(Reply::list("domain", total, items(&rows, views::domain)))
}

async fn update(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let d = c
        .app
        .domain_update(&c.caller, &a.req_uuid("id")?, a.str("name"), a.str("networkdomain"))
        .await?;
    Ok(Reply::object("domain", views::domain(&d)))
}

async fn delete(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let s = c
        .app
        .domain_delete(&c.caller, &a.req_uuid("id")?, a.bool("cleanup"), c.job_meta()?)
        .await?;
    Ok(Reply::Job {
        job_id: s.job_uuid,
        id: None,
    })
}
