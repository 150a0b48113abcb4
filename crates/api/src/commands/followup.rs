//! ferrostack's follow-up queue for operators: list follow-ups (never their payloads, which
//! may carry user data) and retry a stuck one.

use ferrostack_app::followup::{FollowUpState, Followup, FollowupFilter};
use ferrostack_types::time::format_ms;
use ferrostack_types::Error;
use serde_json::{json, Value};

use crate::args::Args;
use crate::commands::items;
use crate::registry::{list_params, Access, Command, Field, PType, Param, Shape};
use crate::reply::Reply;
use crate::Ctx;

const FOLLOWUP_FIELDS: &[Field] = &[
    ("id", "long", "the ID of the follow-up"),
    (
        "kind",
        "string",
        "the kind of effect (element.release, host.destroy, disk.delete, snapshot.delete, router.program)",
    ),
    (
        "target",
        "string",
        "what the effect is about (one pending per kind and target)",
    ),
    ("state", "string", "Pending, WaitingHost, Stuck or Done"),
    (
        "attempts",
        "long",
        "failed attempts since it was queued or last retried",
    ),
    (
        "lasterror",
        "string",
        "the last error, or why it waits or needed nothing",
    ),
    ("nextattempt", "date", "when it is due next"),
    ("created", "date", "when it was queued"),
    ("done", "date", "when it finished"),
];

pub fn commands() -> Vec<Command> {
    vec![
        Command {
            name: "listFollowUps",
            description: "Lists the follow-up effects of state changes (host cleanup, network element release) and their progress (ferrostack)",
            is_async: false,
            since: None,
            access: Access::Admin,
            params: [
                list_params(),
                vec![
                    Param::new("id", PType::Long, "the ID of the follow-up").related("listFollowUps"),
                    Param::new("state", PType::String, "Pending, WaitingHost, Stuck or Done"),
                    Param::new("kind", PType::String, "the kind of effect (element.release, host.destroy, disk.delete, snapshot.delete, router.program)"),
                ],
            ]
            .concat(),
            shape: Shape::List("followup"),
            response: FOLLOWUP_FIELDS,
            job: None,
            handler: |c, a| Box::pin(list(c, a)),
        },
        Command {
            name: "retryFollowUp",
            description: "Makes a follow-up due now and resets its attempt bound, e.g. a Stuck one once its cause is fixed (ferrostack)",
            is_async: false,
            since: None,
            access: Access::Admin,
            params: vec![Param::new("id", PType::Long, "the ID of the follow-up")
                .required()
                .related("listFollowUps")],
            shape: Shape::Object("followup"),
            response: FOLLOWUP_FIELDS,
            job: None,
            handler: |c, a| Box::pin(retry(c, a)),
        },
    ]
}

fn view(f: &Followup) -> Value {
    let mut v = json!({
        "id": f.id,
        "kind": f.kind,
        "target": f.target,
        "state": f.state.as_str(),
        "attempts": f.attempts,
        "nextattempt": format_ms(f.next_attempt),
        "created": format_ms(f.created),
    });
    if let Some(e) = &f.last_error {
        v["lasterror"] = json!(e);
    }
    if let Some(d) = f.done {
        v["done"] = json!(format_ms(d));
    }
    v
}

async fn list(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let f = FollowupFilter {
        id: a.i64("id"),
        state: a
            .str("state")
            .map(|s| FollowUpState::parse_param("state", &s))
            .transpose()?,
        kind: a.str("kind"),
    };
    let (total, rows) = c.app.followup_list(&c.caller, &f, a.page()?).await?;
    Ok(Reply::list("followup", total, items(&rows, view)))
}

async fn retry(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let v = a.req("id")?;
    let id = v.trim().parse().map_err(|_| Error::invalid_type("id", &v))?;
    let f = c.app.followup_retry(&c.caller, id).await?;
    Ok(Reply::object("followup", view(&f)))
}
