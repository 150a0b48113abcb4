use ferrostack_app::model::JobFilter;
use ferrostack_types::time::parse_tz;
use ferrostack_types::Error;

use crate::args::Args;
use crate::registry::{list_params, scope_params, Access, Command, PType, Param, Shape};
use crate::reply::Reply;
use crate::views::{self, JOB_FIELDS};
use crate::Ctx;

pub fn commands() -> Vec<Command> {
    vec![
        Command {
            name: "queryAsyncJobResult",
            description: "Retrieves the current status of asynchronous job.",
            is_async: false,
            since: None,
            access: Access::All,
            params: vec![
                Param::new("jobid", PType::Uuid, "the ID of the asynchronous job"),
                Param::new(
                    "resourceid",
                    PType::Uuid,
                    "the ID of the resource; the latest job on it is returned",
                ),
                Param::new("resourcetype", PType::String, "the type of the resource"),
            ],
            shape: Shape::Flat("asyncjobs"),
            response: JOB_FIELDS,
            job: None,
            handler: |c, a| Box::pin(query(c, a)),
        },
        Command {
            name: "listAsyncJobs",
            description: "Lists all pending asynchronous jobs for the account.",
            is_async: false,
            since: None,
            access: Access::All,
            params: [
                list_params(),
                scope_params(),
                vec![
                    Param::new(
                        "startdate",
                        PType::TzDate,
                        "The start date of the async job (use format \"yyyy-MM-dd'T'HH:mm:ss'+'SSSS\")",
                    ),
                    Param::new("managementserverid", PType::Uuid, "The id of the management server").since("4.19"),
                    Param::new("resourceid", PType::Uuid, "the ID of the resource the job acts on"),
                    Param::new(
                        "resourcetype",
                        PType::String,
                        "the type of the resource the job acts on",
                    ),
                ],
            ]
            .concat(),
            shape: Shape::List("asyncjobs"),
            response: JOB_FIELDS,
            job: None,
            handler: |c, a| Box::pin(list(c, a)),
        },
    ]
}

async fn query(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let j = match (a.uuid("jobid"), a.uuid("resourceid")) {
        (Some(id), _) => c.app.job_get(&c.caller, &id).await?,
        (None, Some(r)) => c.app.job_for_resource(&c.caller, &r).await?,
        (None, None) => return Err(Error::missing("jobid")),
    };
    let mut m = views::job(&j);
    // CloudStack answers a password-enabled deploy (or password reset) with the password.
    if let Some(pw) = c.app.job_password(&c.caller, &j).await? {
        if let Some(vm) = m
            .get_mut("jobresult")
            .and_then(|r| r.get_mut("virtualmachine"))
            .and_then(|v| v.as_object_mut())
        {
            vm.insert("password".into(), serde_json::Value::String(pw));
        }
    }
    Ok(Reply::Flat(m))
}

async fn list(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let f = JobFilter {
        keyword: a.str("keyword"),
        start_ms: a
            .str("startdate")
            .and_then(|d| parse_tz(&d))
            .map(|t| t.timestamp_millis()),
        instance_uuid: a.uuid("resourceid"),
        instance_type: a.str("resourcetype"),
    };
    let (total, rows) = c.app.job_list(&c.caller, &a.scope(), &f, a.page()?).await?;
    let items = rows.iter().map(|j| serde_json::Value::Object(views::job(j))).collect();
    Ok(Reply::list("asyncjobs", total, items))
}
