//! Instance groups: createInstanceGroup, listInstanceGroups, updateInstanceGroup,
//! deleteInstanceGroup.

use ferrostack_app::model::{display_path, GroupFilter, InstanceGroup};
use ferrostack_types::time::format_ms;
use ferrostack_types::Error;
use serde_json::{json, Value};

use crate::args::Args;
use crate::commands::items;
use crate::commands::sshkey::owner_ref;
use crate::registry::{list_params, scope_params, Access, Command, Field, PType, Param, Shape, SUCCESS_FIELDS};
use crate::reply::Reply;
use crate::Ctx;

pub const INSTANCE_GROUP_FIELDS: &[Field] = &[
    ("id", "string", "the ID of the instance group"),
    ("name", "string", "the name of the instance group"),
    ("created", "date", "time and date the instance group was created"),
    ("account", "string", "the account owning the instance group"),
    ("domainid", "string", "the domain ID of the instance group"),
    ("domain", "string", "the domain name of the instance group"),
    (
        "domainpath",
        "string",
        "path of the Domain the instance group belongs to",
    ),
];

fn instance_group(g: &InstanceGroup) -> Value {
    json!({
        "id": g.uuid,
        "name": g.name,
        "created": format_ms(g.created),
        "account": g.account_name,
        "domainid": g.domain_uuid,
        "domain": g.domain_name,
        "domainpath": display_path(&g.domain_path),
    })
}

fn id_param(description: &'static str) -> Param {
    Param::new("id", PType::Uuid, description)
        .required()
        .related("listInstanceGroups")
}

pub fn commands() -> Vec<Command> {
    vec![
        Command {
            name: "createInstanceGroup",
            description: "Creates a vm group",
            is_async: false,
            since: None,
            access: Access::All,
            params: vec![
                Param::new("name", PType::String, "the name of the instance group").required(),
                Param::new(
                    "account",
                    PType::String,
                    "the account of the instance group. The account parameter must be used with the domainId parameter.",
                ),
                Param::new("domainid", PType::Uuid, "the domain ID of account owning the instance group")
                    .related("listDomains"),
                Param::new("projectid", PType::Uuid, "The project of the instance group").related("listProjects"),
            ],
            shape: Shape::Object("instancegroup"),
            response: INSTANCE_GROUP_FIELDS,
            job: None,
            handler: |c, a| Box::pin(create(c, a)),
        },
        Command {
            name: "listInstanceGroups",
            description: "Lists vm groups",
            is_async: false,
            since: None,
            access: Access::All,
            params: [
                list_params(),
                scope_params(),
                vec![
                    Param::new("id", PType::Uuid, "list instance groups by ID").related("listInstanceGroups"),
                    Param::new("name", PType::String, "list instance groups by name"),
                ],
            ]
            .concat(),
            shape: Shape::List("instancegroup"),
            response: INSTANCE_GROUP_FIELDS,
            job: None,
            handler: |c, a| Box::pin(list(c, a)),
        },
        Command {
            name: "updateInstanceGroup",
            description: "Updates a vm group",
            is_async: false,
            since: None,
            access: Access::All,
            params: vec![
                id_param("Instance group ID"),
                Param::new("name", PType::String, "new instance group name"),
            ],
            shape: Shape::Object("instancegroup"),
            response: INSTANCE_GROUP_FIELDS,
            job: None,
            handler: |c, a| Box::pin(update(c, a)),
        },
        Command {
            name: "deleteInstanceGroup",
            description: "Deletes a vm group",
            is_async: false,
            since: None,
            access: Access::All,
            params: vec![id_param("the ID of the instance group")],
            shape: Shape::Success,
            response: SUCCESS_FIELDS,
            job: None,
            handler: |c, a| Box::pin(delete(c, a)),
        },
    ]
}

async fn create(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let g = c.app.group_create(&c.caller, &a.req("name")?, &owner_ref(&a)).await?;
    Ok(Reply::object("instancegroup", instance_group(&g)))
}

async fn list(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let f = GroupFilter {
        uuid: a.uuid("id"),
        name: a.str("name"),
        keyword: a.str("keyword"),
    };
    let (total, rows) = c.app.group_list(&c.caller, &a.scope(), &f, a.page()?).await?;
    Ok(Reply::list("instancegroup", total, items(&rows, instance_group)))
}

async fn update(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let g = c
        .app
        .group_update(&c.caller, &a.req_uuid("id")?, a.str("name").as_deref())
        .await?;
    Ok(Reply::object("instancegroup", instance_group(&g)))
}

async fn delete(c: &Ctx, a: Args) -> Result<Reply, Error> {
    c.app.group_delete(&c.caller, &a.req_uuid("id")?).await?;
    Ok(Reply::Success)
}
