use ferrostack_types::Error;

use crate::args::Args;
use crate::commands::items;
use crate::registry::{list_params, Access, Command, PType, Param, Shape};
use crate::reply::Reply;
use crate::views::infra::{self as v, CONFIG_FIELDS};
use crate::Ctx;

pub fn commands() -> Vec<Command> {
    vec![
        Command {
            name: "listConfigurations",
            description: "Lists all configurations.",
            is_async: false,
            since: None,
            access: Access::Admin,
            params: [
                list_params(),
                vec![
                    Param::new("name", PType::String, "lists configuration by name"),
                    Param::new("category", PType::String, "lists configurations by category"),
                    Param::new(
                        "zoneid",
                        PType::Uuid,
                        "the ID of the Zone to update the parameter value for corresponding zone",
                    )
                    .related("listZones"),
                ],
            ]
            .concat(),
            shape: Shape::List("configuration"),
            response: CONFIG_FIELDS,
            job: None,
            handler: |c, a| Box::pin(list(c, a)),
        },
        Command {
            name: "updateConfiguration",
            description: "Updates a configuration.",
            is_async: false,
            since: None,
            access: Access::Admin,
            params: vec![
                Param::new("name", PType::String, "the name of the configuration").required(),
                Param::new("value", PType::String, "the value of the configuration").len(4096),
                Param::new(
                    "zoneid",
                    PType::Uuid,
                    "the ID of the Zone to update the parameter value for corresponding zone",
                )
                .related("listZones"),
            ],
            shape: Shape::Object("configuration"),
            response: CONFIG_FIELDS,
            job: None,
            handler: |c, a| Box::pin(update(c, a)),
        },
    ]
}

async fn list(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let rows = c
        .app
        .config_list(
            a.str("name").as_deref(),
            a.str("keyword").as_deref(),
            a.str("category").as_deref(),
            a.uuid("zoneid").as_deref(),
        )
        .await?;
    let page = a.page()?;
    let total = rows.len() as i64;
    let start = usize::try_from(page.offset).unwrap_or(usize::MAX).min(rows.len());
    let end = page
        .limit
        .map(|l| start.saturating_add(l as usize).min(rows.len()))
        .unwrap_or(rows.len());
    Ok(Reply::list("configuration", total, items(&rows[start..end], v::config)))
}

async fn update(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let r = c
        .app
        .config_update(
            &c.caller,
            &a.req("name")?,
            a.str("value").as_deref(),
            a.uuid("zoneid").as_deref(),
        )
        .await?;
    Ok(Reply::object("configuration", v::config(&r)))
}
