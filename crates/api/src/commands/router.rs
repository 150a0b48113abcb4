use ferrostack_app::model::VmFilter;
use ferrostack_types::Error;
use serde_json::json;

use crate::args::Args;
use crate::registry::{list_params, scope_params, Access, Command, PType, Param, Shape};
use crate::reply::Reply;
use crate::views::vm::{self as v, ROUTER_FIELDS};
use crate::Ctx;
use ferrostack_app::saga::SagaKind;
use ferrostack_types::EventType;

fn router_id() -> Param {
    Param::new("id", PType::Uuid, "the ID of the router")
        .required()
        .related("listRouters")
}

fn router_async(
    name: &'static str,
    description: &'static str,
    mut params: Vec<Param>,
    handler: crate::registry::Handler,
) -> Command {
    params.insert(0, router_id());
    Command {
        name,
        description,
        is_async: true,
        since: None,
        access: Access::Admin,
        params,
        shape: Shape::Job(Some("router")),
        response: ROUTER_FIELDS,
        job: None,
        handler,
    }
}

pub fn commands() -> Vec<Command> {
    vec![
        Command {
            name: "listRouters",
            description: "List routers.",
            is_async: false,
            since: None,
            access: Access::Admin,
            params: [
                list_params(),
                scope_params(),
                vec![
                    Param::new("id", PType::Uuid, "the ID of the disk router").related("listRouters"),
                    Param::new("name", PType::String, "the name of the router"),
                    Param::new("state", PType::String, "the state of the router"),
                    Param::new("zoneid", PType::Uuid, "the Zone ID of the router").related("listZones"),
                    Param::new("networkid", PType::Uuid, "list by network id").related("listNetworks"),
                    Param::new("hostid", PType::Uuid, "the host ID of the router").related("listHosts"),
                    Param::new("podid", PType::Uuid, "the Pod ID of the router"),
                    Param::new("clusterid", PType::Uuid, "the cluster ID of the router"),
                    Param::new("vpcid", PType::Uuid, "List networks by VPC"),
                    Param::new("forvpc", PType::Boolean, "if true is passed for this parameter, list only VPC routers"),
                    Param::new("version", PType::String, "list virtual router elements by version"),
                    Param::new("fetchhealthcheckresults", PType::Boolean, "if true is passed for this parameter, also fetch last executed health check results for the router").only("false", "router health checks are not run yet"),
                ],
            ]
            .concat(),
            shape: Shape::List("router"),
            response: ROUTER_FIELDS,
            job: None,
            handler: |c, a| Box::pin(list(c, a)),
        },
        router_async("startRouter", "Starts a router.", vec![], |c, a| Box::pin(start(c, a)))
        .job(SagaKind::RouterStart, EventType::RouterStart, "org.apache.cloudstack.api.command.admin.router.StartRouterCmd"),
        router_async("stopRouter", "Stops a router.", vec![Param::new("forced", PType::Boolean, "Force stop the VM. The caller knows the VM is stopped.")], |c, a| Box::pin(stop(c, a)))
        .job(SagaKind::RouterStop, EventType::RouterStop, "org.apache.cloudstack.api.command.admin.router.StopRouterCmd"),
        router_async("rebootRouter", "Starts a router.", vec![Param::new("forced", PType::Boolean, "Force reboot the router (Router is force Stopped and then Started)")], |c, a| Box::pin(reboot(c, a)))
        .job(SagaKind::RouterReboot, EventType::RouterReboot, "org.apache.cloudstack.api.command.admin.router.RebootRouterCmd"),
        router_async("destroyRouter", "Destroys a router.", vec![], |c, a| Box::pin(destroy(c, a)))
        .job(SagaKind::RouterDestroy, EventType::RouterDestroy, "org.apache.cloudstack.api.command.admin.router.DestroyRouterCmd"),
        Command {
            name: "changeServiceForRouter",
            description: "Upgrades domain router to a new service offering",
            is_async: false,
            since: None,
            access: Access::Admin,
            params: vec![
                Param::new("id", PType::Uuid, "The ID of the router").required().related("listRouters"),
                Param::new("serviceofferingid", PType::Uuid, "the service offering ID to apply to the domain router").required().related("listServiceOfferings"),
            ],
            shape: Shape::Object("router"),
            response: ROUTER_FIELDS,
            job: None,
            handler: |c, a| Box::pin(change(c, a)),
        },
    ]
}

async fn list(c: &Ctx, a: Args) -> Result<Reply, Error> {
    // A state no router can be in matches nothing (CloudStack compares the string).
    let state = match a.str("state") {
        Some(s) => match ferrostack_types::state::VmState::parse(&s) {
            Some(st) => Some(st),
            None => return Ok(Reply::list("router", 0, Vec::new())),
        },
        None => None,
    };
    let f = VmFilter {
        state,
        name: a.str("name"),
        keyword: a.str("keyword"),
        ..Default::default()
    };
    let (id, zone, net, host) = (a.uuid("id"), a.uuid("zoneid"), a.uuid("networkid"), a.uuid("hostid"));
    let (total, rows, nics) = c
        .app
        .router_list(
            f,
            id.as_deref(),
            zone.as_deref(),
            net.as_deref(),
            host.as_deref(),
            a.page()?,
        )
        .await?;
    let items = rows
        .iter()
        .map(|r| {
            let ns: Vec<_> = nics.iter().filter(|n| n.vm_id == r.id).collect();
            v::router(r, &ns)
        })
        .collect();
    Ok(Reply::list("router", total, items))
}

async fn job(c: &Ctx, a: &Args, params: serde_json::Value) -> Result<Reply, Error> {
    let s = c
        .app
        .router_job(&c.caller, &a.req_uuid("id")?, c.job_meta()?, params)
        .await?;
    Ok(Reply::Job {
        job_id: s.job_uuid,
        id: None,
    })
}

async fn start(c: &Ctx, a: Args) -> Result<Reply, Error> {
    job(c, &a, json!({})).await
}

async fn stop(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let forced = a.bool("forced");
    job(c, &a, json!({"forced": forced})).await
}

async fn reboot(c: &Ctx, a: Args) -> Result<Reply, Error> {
    job(c, &a, json!({})).await
}

async fn destroy(c: &Ctx, a: Args) -> Result<Reply, Error> {
    job(c, &a, json!({})).await
}

async fn change(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let r = c
        .app
        .router_change_offering(&c.caller, &a.req_uuid("id")?, &a.req_uuid("serviceofferingid")?)
        .await?;
    let (_, rows, nics) = c
        .app
        .router_list(
            VmFilter::default(),
            Some(&r.uuid),
            None,
            None,
            None,
            ferrostack_types::Page::default(),
        )
        .await?;
    let row = rows.first().ok_or_else(|| Error::internal("router vanished"))?;
    let ns: Vec<_> = nics.iter().filter(|n| n.vm_id == row.id).collect();
    Ok(Reply::object("router", v::router(row, &ns)))
}
