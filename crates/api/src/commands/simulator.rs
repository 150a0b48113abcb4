//! The simulator's control commands: CloudStack's `configureSimulator`,
//! `querySimulatorMock` and `cleanupSimulatorMock` (failure and delay injection scoped by
//! zone/pod/cluster/host × agent command), plus ferrostack's `updateSimulatorHost`, which
//! takes a simulated host down or brings it back.

use ferrostack_app::model::{MockInfo, MockResult, MockRule};
use ferrostack_types::Error;
use serde_json::{json, Value};

use crate::args::Args;
use crate::registry::{Access, Command, PType, Param, Shape, SUCCESS_FIELDS};
use crate::reply::Reply;
use crate::Ctx;

const MOCK_FIELDS: &[crate::registry::Field] = &[
    ("id", "long", "the mock ID"),
    ("zoneid", "string", "the Zone ID scope of the mock"),
    ("podid", "string", "the Pod ID scope of the mock"),
    ("clusterid", "string", "the Cluster ID scope of the mock"),
    ("hostid", "string", "the Host ID scope of the mock"),
    ("name", "string", "the agent command to mock"),
    ("count", "integer", "number of times the mock is active"),
    ("removed", "boolean", "true once cleaned up (ferrostack)"),
];

pub fn commands() -> Vec<Command> {
    vec![
        Command {
            name: "configureSimulator",
            description: "configure simulator",
            is_async: false,
            since: None,
            access: Access::Admin,
            params: vec![
                Param::new("name", PType::String, "which command needs to be configured (StartCommand, StopCommand, RebootCommand, DestroyCommand, PingCommand, ReadyCommand, VmDataCommand, HandleConfigDriveIsoCommand, AttachCommand, DettachCommand, ResizeVolumeCommand, DeleteCommand, CreateObjectCommand, RevertSnapshotCommand, CopyCommand)").required(),
                Param::new("value", PType::String, "configuration options for this command, which is separated by ; (result=fail|fault, wait=<ms>)").required(),
                Param::new("zoneid", PType::Uuid, "configure range: in a zone").related("listZones"),
                Param::new("podid", PType::Uuid, "configure range: in a pod").related("listPods"),
                Param::new("clusterid", PType::Uuid, "configure range: in a cluster").related("listClusters"),
                Param::new("hostid", PType::Uuid, "configure range: in a host").related("listHosts"),
                Param::new("count", PType::Integer, "number of times the mock is active"),
            ],
            shape: Shape::Object("simulatormock"),
            response: MOCK_FIELDS,
            job: None,
            handler: |c, a| Box::pin(configure(c, a)),
        },
        Command {
            name: "querySimulatorMock",
            description: "query simulator mock",
            is_async: false,
            since: None,
            access: Access::Admin,
            params: vec![Param::new("id", PType::Long, "id of the configured mock").required()],
            shape: Shape::Object("simulatormock"),
            response: MOCK_FIELDS,
            job: None,
            handler: |c, a| Box::pin(query(c, a)),
        },
        Command {
            name: "cleanupSimulatorMock",
            description: "cleanup simulator mock",
            is_async: false,
            since: None,
            access: Access::Admin,
            params: vec![Param::new("id", PType::Long, "id of the configured mock").required()],
            shape: Shape::Success,
            response: SUCCESS_FIELDS,
            job: None,
            handler: |c, a| Box::pin(cleanup(c, a)),
        },
        Command {
            name: "updateSimulatorHost",
            description: "Takes a simulated host down (it stops answering its agent) or brings it back up (ferrostack)",
            is_async: false,
            since: None,
            access: Access::Admin,
            params: vec![
                Param::new("id", PType::Uuid, "the host ID").required().related("listHosts"),
                Param::new("state", PType::String, "Up or Down").required(),
                Param::new("poweroffvms", PType::Boolean, "with state=Down: also power off every VM on the host, as a host crash would"),
            ],
            shape: Shape::Success,
            response: SUCCESS_FIELDS,
            job: None,
            handler: |c, a| Box::pin(update_host(c, a)),
        },
    ]
}

fn mock_json(m: &MockInfo) -> Value {
    let mut v = json!({"id": m.id, "name": m.command, "removed": m.removed});
    for (k, val) in [
        ("zoneid", &m.zone),
        ("podid", &m.pod),
        ("clusterid", &m.cluster),
        ("hostid", &m.host),
    ] {
        if let Some(val) = val {
            v[k] = json!(val);
        }
    }
    if let Some(n) = m.count {
        v["count"] = json!(n);
    }
    v
}

fn parse_value(value: &str) -> Result<(MockResult, u64), Error> {
    let mut result = MockResult::Ok;
    let mut wait = 0;
    for part in value.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').ok_or_else(|| {
            Error::invalid(format!(
                "Invalid simulator option {part}; use key=value pairs separated by ';'"
            ))
        })?;
        match k.trim().to_ascii_lowercase().as_str() {
            "result" => {
                result = match v.trim().to_ascii_lowercase().as_str() {
                    "fail" => MockResult::Fail,
                    "fault" => MockResult::Fault,
                    "success" | "ok" => MockResult::Ok,
                    other => {
                        return Err(Error::invalid(format!(
                            "Invalid result {other}; use fail, fault or success"
                        )))
                    }
                }
            }
            "wait" => {
                wait = v
                    .trim()
                    .parse()
                    .map_err(|_| Error::invalid(format!("Invalid wait {v}; give milliseconds")))?;
            }
            other => {
                return Err(Error::invalid(format!(
                    "Unsupported simulator option {other}; ferrostack supports result=fail|fault and wait=<ms>"
                )))
            }
        }
    }
    Ok((result, wait))
}

async fn configure(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let (result, wait) = parse_value(&a.req("value")?)?;
    let mut rule = MockRule::new(a.req("name")?, result).wait_ms(wait);
    rule.zone = a.uuid("zoneid");
    rule.pod = a.uuid("podid");
    rule.cluster = a.uuid("clusterid");
    rule.host = a.uuid("hostid");
    if let Some(n) = a.i64("count") {
        let n = u32::try_from(n).map_err(|_| Error::invalid("count must be zero or more"))?;
        rule = rule.count(n);
    }
    let info = c.app.simulator_configure(rule).await?;
    Ok(Reply::object("simulatormock", mock_json(&info)))
}

fn mock_id(a: &Args) -> Result<u64, Error> {
    let v = a.req("id")?;
    v.parse().map_err(|_| Error::invalid_type("id", v))
}

async fn query(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let info = c.app.simulator_query(mock_id(&a)?).await?;
    Ok(Reply::object("simulatormock", mock_json(&info)))
}

async fn cleanup(c: &Ctx, a: Args) -> Result<Reply, Error> {
    c.app.simulator_cleanup(mock_id(&a)?).await?;
    Ok(Reply::Success)
}

async fn update_host(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let id = a.req_uuid("id")?;
    let up = match a.req("state")?.to_ascii_lowercase().as_str() {
        "up" => true,
        "down" => false,
        other => return Err(Error::invalid(format!("Invalid state {other}; use Up or Down"))),
    };
    c.app.simulator_host_update(&id, up, a.bool("poweroffvms")).await?;
    Ok(Reply::Success)
}
