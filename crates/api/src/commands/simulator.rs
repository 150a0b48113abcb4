//! The simulator's control commands: CloudStack's `configureSimulator`,
//! `querySimulatorMock` and `cleanupSimulatorMock` (failure and delay injection scoped by
//! zone/pod/cluster/host × agent command), plus ferrostack's `updateSimulatorHost`, which
//! takes a simulated host down or brings it back.

use ferrostack_sim::{MockInfo, MockResult, MockRule};
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
                Param::new("name", PType::String, "which command needs to be configured (StartCommand, StopCommand, RebootCommand, DestroyCommand, PingCommand, ReadyCommand, VmDataCommand, HandleConfigDriveIsoCommand)").required(),
                Param::new("value", PType::String, "configuration options for this command, which is separated by ; (result=fail|fault, wait=<ms>)").required(),
                Param::new("zoneid", PType::Uuid, "configure range: in a zone").related("listZones"),
                Param::new("podid", PType::Uuid, "configure range: in a pod").related("listPods"),
                Param::new("clusterid", PType::Uuid, "configure range: in a cluster").related("listClusters"),
                Param::new("hostid", PType::Uuid, "configure range: in a host").related("listHosts"),
                Param::new("count", PType::Integer, "number of times the mock is active"),
            ],
            shape: Shape::Object("simulatormock"),
            response: MOCK_FIELDS,
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
    let command = a.req("name")?;
    if !ferrostack_sim::COMMANDS
        .iter()
        .any(|k| k.eq_ignore_ascii_case(&command))
    {
        return Err(Error::invalid(format!(
            "Unknown simulator command {command}; use one of {}",
            ferrostack_sim::COMMANDS.join(", ")
        )));
    }
    let (result, wait) = parse_value(&a.req("value")?)?;
    let mut conn = c.app.db.conn().await?;
    let mut rule = MockRule::new(command, result).wait_ms(wait);
    if let Some(z) = a.uuid("zoneid") {
        rule = rule.zone(c.app.zone_get_for(&mut conn, "zoneid", &z).await?.uuid);
    }
    if let Some(p) = a.uuid("podid") {
        rule = rule.pod(c.app.pod_get_for(&mut conn, "podid", &p).await?.uuid);
    }
    if let Some(cl) = a.uuid("clusterid") {
        rule = rule.cluster(c.app.cluster_get_for(&mut conn, "clusterid", &cl).await?.uuid);
    }
    if let Some(h) = a.uuid("hostid") {
        rule = rule.host(c.app.host_get_for(&mut conn, "hostid", &h).await?.uuid);
    }
    if let Some(n) = a.i64("count") {
        let n = u32::try_from(n).map_err(|_| Error::invalid("count must be zero or more"))?;
        rule = rule.count(n);
    }
    let id = c.app.sim.configure(rule);
    let info = c.app.sim.query(id).ok_or_else(|| Error::internal("mock vanished"))?;
    Ok(Reply::object("simulatormock", mock_json(&info)))
}

fn mock_id(a: &Args) -> Result<u64, Error> {
    let v = a.req("id")?;
    v.parse().map_err(|_| Error::invalid_type("id", v))
}

async fn query(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let id = mock_id(&a)?;
    let info = c.app.sim.query(id).ok_or_else(|| Error::unknown_entity("id", id))?;
    Ok(Reply::object("simulatormock", mock_json(&info)))
}

async fn cleanup(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let id = mock_id(&a)?;
    if !c.app.sim.cleanup(id) {
        return Err(Error::unknown_entity("id", id));
    }
    Ok(Reply::Success)
}

async fn update_host(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let mut conn = c.app.db.conn().await?;
    let h = c.app.host_get_for(&mut conn, "id", &a.req_uuid("id")?).await?;
    drop(conn);
    if h.hypervisor != "Simulator" {
        return Err(Error::invalid(format!("Host {} is not a simulated host", h.name)));
    }
    let up = match a.req("state")?.to_ascii_lowercase().as_str() {
        "up" => true,
        "down" => false,
        other => return Err(Error::invalid(format!("Invalid state {other}; use Up or Down"))),
    };
    if !up && a.bool("poweroffvms") {
        c.app.sim.power_off_all(&h.uuid);
    }
    if !c.app.sim.set_host_up(&h.uuid, up) {
        c.app.sim.set_host_up(&h.url, up);
    }
    Ok(Reply::Success)
}
