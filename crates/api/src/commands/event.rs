use ferrostack_app::event::event_types;
use ferrostack_app::model::EventFilter;
use ferrostack_types::time::parse_date;
use ferrostack_types::Error;
use serde_json::json;

use crate::args::Args;
use crate::commands::items;
use crate::registry::{list_params, scope_params, Access, Command, PType, Param, Shape};
use crate::reply::Reply;
use crate::views::{self, EVENT_FIELDS};
use crate::Ctx;

pub fn commands() -> Vec<Command> {
    vec![
        Command {
            name: "listEvents",
            description: "A command to list events.",
            is_async: false,
            since: None,
            access: Access::All,
            params: [
                list_params(),
                scope_params(),
                vec![
                    Param::new("id", PType::Uuid, "the ID of the event").related("listEvents"),
                    Param::new("type", PType::String, "the event type (see event types)"),
                    Param::new("level", PType::String, "the event level (INFO, WARN, ERROR)"),
                    Param::new("state", PType::String, "the state of the event"),
                    Param::new("startdate", PType::Date, "the start date range of the list you want to retrieve (use format \"yyyy-MM-dd\" or the new format \"yyyy-MM-dd HH:mm:ss\")"),
                    Param::new("enddate", PType::Date, "the end date range of the list you want to retrieve (use format \"yyyy-MM-dd\" or the new format \"yyyy-MM-dd HH:mm:ss\")"),
                    Param::new("duration", PType::Integer, "the duration of the event").refused("events are complete when recorded; there are no pending events to filter by duration; use startdate and enddate"),
                    Param::new("entrytime", PType::Integer, "the time the event was entered").refused("events are complete when recorded; there are no pending events to filter by entry time; use startdate and enddate"),
                    Param::new("startid", PType::Uuid, "the parent/start ID of the event, when provided this will list all the events with the start/parent ID including the parent event").since("4.9"),
                    Param::new("resourceid", PType::Uuid, "the ID of the resource associated with the event").since("4.17.0"),
                    Param::new("resourcetype", PType::String, "the type of the resource associated with the event").since("4.17.0"),
                    Param::new("archived", PType::Boolean, "true to list archived events otherwise false").since("4.19.0"),
                    Param::new("projectid", PType::Uuid, "list objects by project; if projectid=-1 lists All VMs"),
                ],
            ]
            .concat(),
            shape: Shape::List("event"),
            response: EVENT_FIELDS,
            job: None,
            handler: |c, a| Box::pin(list(c, a)),
        },
        Command {
            name: "listEventTypes",
            description: "List Event Types",
            is_async: false,
            since: None,
            access: Access::All,
            params: vec![],
            shape: Shape::List("eventtype"),
            response: &[("name", "string", "Event Type")],
            job: None,
            handler: |c, a| Box::pin(types(c, a)),
        },
    ]
}

async fn list(c: &Ctx, a: Args) -> Result<Reply, Error> {
    // A state no event can be in matches nothing (CloudStack compares the string).
    let state = match a.str("state") {
        Some(s) => match ferrostack_types::state::EventState::parse(&s) {
            Some(st) => Some(st),
            None => return Ok(Reply::list("event", 0, Vec::new())),
        },
        None => None,
    };
    let f = EventFilter {
        uuid: a.uuid("id"),
        event_type: a.str("type"),
        level: a.str("level"),
        state,
        keyword: a.str("keyword"),
        resource_uuid: a.uuid("resourceid"),
        resource_type: a.str("resourcetype"),
        start_uuid: a.uuid("startid"),
        start_ms: a
            .str("startdate")
            .and_then(|d| parse_date(&d))
            .map(|t| t.timestamp_millis()),
        end_ms: a
            .str("enddate")
            .and_then(|d| parse_date(&d))
            .map(|t| t.timestamp_millis()),
        archived: Some(a.bool("archived")),
    };
    let (total, rows) = c.app.event_list(&c.caller, &a.scope(), &f, a.page()?).await?;
    Ok(Reply::list("event", total, items(&rows, views::event)))
}

async fn types(_: &Ctx, _: Args) -> Result<Reply, Error> {
    let v: Vec<_> = event_types().iter().map(|t| json!({"name": t})).collect();
    Ok(Reply::list("eventtype", v.len() as i64, v))
}
