//! The user data registry: registerUserData, listUserData, deleteUserData,
//! linkUserDataToTemplate.

use ferrostack_app::model::UserDataFilter;
use ferrostack_app::userdata::UserDataRegister;
use ferrostack_types::Error;

use crate::args::Args;
use crate::commands::sshkey::owner_ref;
use crate::registry::{list_params, scope_params, Access, Command, PType, Param, Shape, SUCCESS_FIELDS};
use crate::reply::Reply;
use crate::views::tag::tags_of;
use crate::views::userdata::{linked_template, userdata, LINKED_TEMPLATE_FIELDS, USERDATA_FIELDS};
use crate::Ctx;
use ferrostack_app::tag::ResourceType;

/// The longest user data accepted at all (`vm.userdata.max.length` may lower it).
pub const USERDATA_MAX: u32 = 1_048_576;

pub fn commands() -> Vec<Command> {
    vec![
        Command {
            name: "registerUserData",
            description: "Register a new userdata.",
            is_async: false,
            since: Some("4.18"),
            access: Access::All,
            params: vec![
                Param::new("name", PType::String, "Name of the userdata").required(),
                Param::new(
                    "userdata",
                    PType::String,
                    "Base64 encoded userdata content. Using HTTP GET (via querystring), you can send up to 4KB of data \
                     after base64 encoding. Using HTTP POST (via POST body), you can send up to 1MB of data after \
                     base64 encoding. You also need to change vm.userdata.max.length value",
                )
                .required()
                .len(USERDATA_MAX),
                Param::new("params", PType::String, "comma separated list of variables declared in userdata content"),
                Param::new(
                    "account",
                    PType::String,
                    "an optional account for the userdata. Must be used with domainId.",
                ),
                Param::new(
                    "domainid",
                    PType::Uuid,
                    "an optional domainId for the userdata. If the account parameter is used, domainId must also be used.",
                )
                .related("listDomains"),
                Param::new("projectid", PType::Uuid, "an optional project for the userdata").related("listProjects"),
            ],
            shape: Shape::Object("userdata"),
            response: USERDATA_FIELDS,
            job: None,
            handler: |c, a| Box::pin(register(c, a)),
        },
        Command {
            name: "listUserData",
            description: "List registered userdatas",
            is_async: false,
            since: Some("4.18"),
            access: Access::All,
            params: [
                list_params(),
                scope_params(),
                vec![
                    Param::new("id", PType::Uuid, "the ID of the Userdata").related("listUserData"),
                    Param::new("name", PType::String, "Userdata name to look for"),
                    Param::new("projectid", PType::Uuid, "list objects by project").related("listProjects"),
                    crate::commands::tag::tags_param(),
                ],
            ]
            .concat(),
            shape: Shape::List("userdata"),
            response: USERDATA_FIELDS,
            job: None,
            handler: |c, a| Box::pin(list(c, a)),
        },
        Command {
            name: "deleteUserData",
            description: "Deletes a userdata",
            is_async: false,
            since: Some("4.18"),
            access: Access::All,
            params: vec![
                Param::new("id", PType::Uuid, "the ID of the Userdata")
                    .required()
                    .related("listUserData"),
                Param::new(
                    "account",
                    PType::String,
                    "an optional account for the userdata. Must be used with domainId.",
                ),
                Param::new(
                    "domainid",
                    PType::Uuid,
                    "an optional domainId for the userdata. If the account parameter is used, domainId must also be used.",
                )
                .related("listDomains"),
                Param::new("projectid", PType::Uuid, "an optional project for the userdata").related("listProjects"),
            ],
            shape: Shape::Success,
            response: SUCCESS_FIELDS,
            job: None,
            handler: |c, a| Box::pin(delete(c, a)),
        },
        Command {
            name: "linkUserDataToTemplate",
            description: "Link or unlink a userdata to a template.",
            is_async: false,
            since: Some("4.18.0"),
            access: Access::All,
            params: vec![
                Param::new("templateid", PType::Uuid, "the ID of the template for the virtual machine")
                    .related("listTemplates"),
                Param::new("isoid", PType::Uuid, "the ID of the ISO for the virtual machine")
                    .since("4.19.1")
                    .related("listIsos"),
                Param::new(
                    "userdataid",
                    PType::Uuid,
                    "the ID of the userdata that has to be linked to template/ISO. If not provided existing userdata \
                     link will be removed for the template/ISO.",
                )
                .related("listUserData"),
                Param::new(
                    "userdatapolicy",
                    PType::String,
                    "an optional override policy of the userdata. Possible values are - ALLOWOVERRIDE, APPEND, \
                     DENYOVERRIDE. Default policy is allowoverride",
                ),
            ],
            shape: Shape::Object("template"),
            response: LINKED_TEMPLATE_FIELDS.as_slice(),
            job: None,
            handler: |c, a| Box::pin(link(c, a)),
        },
    ]
}

async fn register(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let u = c
        .app
        .userdata_register(
            &c.caller,
            UserDataRegister {
                name: a.req("name")?,
                userdata: a.req("userdata")?,
                params: a.str("params"),
                owner: owner_ref(&a),
            },
        )
        .await?;
    // A new user data has no tags yet.
    Ok(Reply::object("userdata", userdata(&u, serde_json::json!([]))))
}

async fn list(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let f = UserDataFilter {
        uuid: a.uuid("id"),
        name: a.str("name"),
        keyword: a.str("keyword"),
        tags: crate::commands::tag::tag_filters(&a)?,
    };
    let project = a.str("projectid");
    let (total, rows) = c
        .app
        .userdata_list(&c.caller, &a.scope(), project.as_deref(), &f, a.page()?)
        .await?;
    let ids: Vec<i64> = rows.iter().map(|u| u.id).collect();
    let tags = c.app.tags_page(ResourceType::UserData, &ids).await?;
    Ok(Reply::list(
        "userdata",
        total,
        rows.iter().map(|u| userdata(u, tags_of(&tags, u.id))).collect(),
    ))
}

async fn delete(c: &Ctx, a: Args) -> Result<Reply, Error> {
    c.app
        .userdata_delete(&c.caller, &a.req_uuid("id")?, &owner_ref(&a))
        .await?;
    Ok(Reply::Success)
}

async fn link(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let v = c
        .app
        .userdata_link_template(
            &c.caller,
            a.uuid("templateid").as_deref(),
            a.uuid("isoid").as_deref(),
            a.uuid("userdataid").as_deref(),
            a.str("userdatapolicy").as_deref(),
        )
        .await?;
    let tags = c.app.tags_page(ResourceType::Template, &[v.template.id]).await?;
    Ok(Reply::object(
        "template",
        linked_template(&v, tags_of(&tags, v.template.id)),
    ))
}
