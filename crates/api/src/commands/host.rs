use ferrostack_app::host::HostAdd;
use ferrostack_app::model::AlertFilter;
use ferrostack_app::model::HostFilter;
use ferrostack_types::Error;
use serde_json::json;

use crate::args::Args;
use crate::commands::items;
use crate::registry::{list_params, Access, Command, JobDecl, PType, Param, Shape, SUCCESS_FIELDS};
use crate::reply::Reply;
use crate::views::infra::{self as v, ALERT_FIELDS, HOST_FIELDS};
use crate::Ctx;
use ferrostack_app::saga::SagaKind;
use ferrostack_types::EventType;

fn host_id(desc: &'static str) -> Param {
    Param::new("id", PType::Uuid, desc).required().related("listHosts")
}

pub fn commands() -> Vec<Command> {
    vec![
        Command {
            name: "addHost",
            description: "Adds a new host.",
            is_async: false,
            since: None,
            access: Access::Admin,
            params: vec![
                Param::new("hypervisor", PType::String, "hypervisor type of the host").required(),
                Param::new("podid", PType::Uuid, "the Pod ID for the host").required().related("listPods"),
                Param::new("url", PType::String, "the host URL").required(),
                Param::new("zoneid", PType::Uuid, "the Zone ID for the host").required().related("listZones"),
                Param::new("clusterid", PType::Uuid, "the cluster ID for the host").related("listClusters"),
                Param::new("clustername", PType::String, "the cluster name for the host"),
                Param::new("username", PType::String, "the username for the host; required to be passed for hypervisors other than VMWare"),
                Param::new("password", PType::String, "the password for the host; required to be passed for hypervisors other than VMWare"),
                Param::new("hosttags", PType::List, "list of tags to be added to the host"),
                Param::new("allocationstate", PType::String, "Allocation state of this Host for allocation of new resources"),
            ],
            shape: Shape::List("host"),
            response: HOST_FIELDS,
            job: None,
            handler: |c, a| Box::pin(add(c, a)),
        },
        Command {
            name: "listHosts",
            description: "Lists hosts.",
            is_async: false,
            since: None,
            access: Access::Admin,
            params: [
                list_params(),
                vec![
                    Param::new("id", PType::Uuid, "the id of the host").related("listHosts"),
                    Param::new("name", PType::String, "the name of the host"),
                    Param::new("zoneid", PType::Uuid, "the Zone ID for the host").related("listZones"),
                    Param::new("podid", PType::Uuid, "the Pod ID for the host").related("listPods"),
                    Param::new("clusterid", PType::Uuid, "lists hosts existing in particular cluster").related("listClusters"),
                    Param::new("type", PType::String, "the host type"),
                    Param::new("state", PType::String, "the state of the host"),
                    Param::new("resourcestate", PType::String, "list hosts by resource state. Resource state represents current state determined by admin of host, value can be one of [Enabled, Disabled, Unmanaged, PrepareForMaintenance, ErrorInMaintenance, Maintenance, Error]"),
                    Param::new("hypervisor", PType::String, "hypervisor type of host: XenServer,KVM,VMware,Hyperv,BareMetal,Simulator"),
                    Param::new("details", PType::List, "comma separated list of host details requested"),
                    Param::new("hahost", PType::Boolean, "if true, list only hosts dedicated to HA"),
                ],
            ]
            .concat(),
            shape: Shape::List("host"),
            response: HOST_FIELDS,
            job: None,
            handler: |c, a| Box::pin(list(c, a)),
        },
        Command {
            name: "updateHost",
            description: "Updates a host.",
            is_async: false,
            since: None,
            access: Access::Admin,
            params: vec![
                host_id("the ID of the host to update"),
                Param::new("allocationstate", PType::String, "Change resource state of host, valid values are [Enable, Disable]. Operation may failed if host in states not allowing Enable/Disable"),
                Param::new("hosttags", PType::List, "list of tags to be added to the host"),
            ],
            shape: Shape::Object("host"),
            response: HOST_FIELDS,
            job: None,
            handler: |c, a| Box::pin(update(c, a)),
        },
        Command {
            name: "prepareHostForMaintenance",
            description: "Prepares a host for maintenance.",
            is_async: true,
            since: None,
            access: Access::Admin,
            params: vec![host_id("the host ID")],
            shape: Shape::Job(Some("host")),
            response: HOST_FIELDS,
            job: Some(JobDecl::new(SagaKind::HostMaintenance, EventType::MaintPrepare, "org.apache.cloudstack.api.command.admin.host.PrepareForMaintenanceCmd")),
            handler: |c, a| Box::pin(maintenance(c, a)),
        },
        Command {
            name: "cancelHostMaintenance",
            description: "Cancels host maintenance.",
            is_async: true,
            since: None,
            access: Access::Admin,
            params: vec![host_id("the host ID")],
            shape: Shape::Job(Some("host")),
            response: HOST_FIELDS,
            job: Some(JobDecl::new(SagaKind::HostCancelMaintenance, EventType::MaintCancel, "org.apache.cloudstack.api.command.admin.host.CancelMaintenanceCmd")),
            handler: |c, a| Box::pin(cancel_maintenance(c, a)),
        },
        Command {
            name: "reconnectHost",
            description: "Reconnects a host.",
            is_async: true,
            since: None,
            access: Access::Admin,
            params: vec![host_id("the host ID")],
            shape: Shape::Job(Some("host")),
            response: HOST_FIELDS,
            job: Some(JobDecl::new(SagaKind::HostReconnect, EventType::HostReconnect, "org.apache.cloudstack.api.command.admin.host.ReconnectHostCmd")),
            handler: |c, a| Box::pin(reconnect(c, a)),
        },
        Command {
            name: "deleteHost",
            description: "Deletes a host.",
            is_async: false,
            since: None,
            access: Access::Admin,
            params: vec![
                host_id("the host ID"),
                Param::new("forced", PType::Boolean, "Force delete the host. All HA enabled vms running on the host will be put to HA; HA disabled ones will be stopped"),
                Param::new("forcedestroylocalstorage", PType::Boolean, "Force destroy local storage on this host. All VMs created on this local storage will be destroyed").only("false", "VMs on a host's local storage are not destroyed with the host; expunge them first"),
            ],
            shape: Shape::Success,
            response: SUCCESS_FIELDS,
            job: None,
            handler: |c, a| Box::pin(delete(c, a)),
        },
        Command {
            name: "listHypervisors",
            description: "List hypervisors",
            is_async: false,
            since: None,
            access: Access::All,
            params: vec![Param::new("zoneid", PType::Uuid, "the zone id for listing hypervisors.").related("listZones")],
            shape: Shape::List("hypervisor"),
            response: &[("name", "string", "Hypervisor name")],
            job: None,
            handler: |c, a| Box::pin(hypervisors(c, a)),
        },
        Command {
            name: "listCapacity",
            description: "Lists all the system wide capacities.",
            is_async: false,
            since: None,
            access: Access::Admin,
            params: [
                list_params(),
                vec![
                    Param::new("zoneid", PType::Uuid, "lists capacity by the Zone ID").related("listZones"),
                    Param::new("podid", PType::Uuid, "lists capacity by the Pod ID").related("listPods"),
                    Param::new("clusterid", PType::Uuid, "lists capacity by the Cluster ID").related("listClusters"),
                    Param::new("type", PType::Integer, "lists capacity by type* CAPACITY_TYPE_MEMORY = 0 * CAPACITY_TYPE_CPU = 1 * CAPACITY_TYPE_LOCAL_STORAGE = 9"),
                    Param::new("fetchlatest", PType::Boolean, "recalculate capacities and fetch the latest"),
                    Param::new("sortby", PType::String, "Sort the results. Available values: Usage").refused("hosts are listed in a fixed order; leave sortby out"),
                ],
            ]
            .concat(),
            shape: Shape::List("capacity"),
            response: &[
                ("type", "short", "the capacity type"),
                ("name", "string", "the capacity name"),
                ("zoneid", "string", "the Zone ID"),
                ("zonename", "string", "the Zone name"),
                ("podid", "string", "the Pod ID"),
                ("podname", "string", "the Pod name"),
                ("clusterid", "string", "the Cluster ID"),
                ("clustername", "string", "the Cluster name"),
                ("capacitytotal", "long", "the total capacity available"),
                ("capacityused", "long", "the capacity currently in use"),
                ("capacityallocated", "long", "the capacity currently in allocated"),
                ("percentused", "string", "the percentage of capacity currently in use"),
            ],
            job: None,
            handler: |c, a| Box::pin(capacity(c, a)),
        },
        Command {
            name: "listAlerts",
            description: "Lists all alerts.",
            is_async: false,
            since: None,
            access: Access::Admin,
            params: [
                list_params(),
                vec![
                    Param::new("id", PType::Uuid, "the ID of the alert").related("listAlerts"),
                    Param::new("type", PType::String, "list by alert type"),
                    Param::new("name", PType::String, "list by alert name").since("4.3"),
                ],
            ]
            .concat(),
            shape: Shape::List("alert"),
            response: ALERT_FIELDS,
            job: None,
            handler: |c, a| Box::pin(alerts(c, a)),
        },
    ]
}

async fn add(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let h = c
        .app
        .host_add(
            &c.caller,
            HostAdd {
                zone_uuid: a.req_uuid("zoneid")?,
                pod_uuid: a.req_uuid("podid")?,
                cluster_uuid: a.uuid("clusterid"),
                cluster_name: a.str("clustername"),
                hypervisor: a.req("hypervisor")?,
                url: a.req("url")?,
                username: a.str("username"),
                password: a.str("password"),
                host_tags: a.str("hosttags"),
                allocation: a.str("allocationstate"),
            },
        )
        .await?;
    Ok(Reply::list("host", 1, vec![v::host(&h)]))
}

/// The hypervisor names CloudStack's `HypervisorType.getType` knows (lowercase). Any other
/// value, and `none` / `any`, is no filter at all: CloudStack lists every host for them.
const HYPERVISOR_TYPES: &[&str] = &[
    "xenserver",
    "kvm",
    "vmware",
    "hyperv",
    "virtualbox",
    "parallels",
    "baremetal",
    "simulator",
    "ovm",
    "ovm3",
    "lxc",
    "custom",
];

/// `listHosts hypervisor=`: a known hypervisor filters, anything else is ignored.
fn hypervisor_filter(v: Option<String>) -> Option<String> {
    v.filter(|h| HYPERVISOR_TYPES.contains(&h.trim().to_lowercase().as_str()))
}

async fn list(c: &Ctx, a: Args) -> Result<Reply, Error> {
    // CloudStack compares `state` and `resourcestate` as strings: a value no host can have
    // matches nothing (an empty list, not an error).
    let (status, resource_state) = (a.str("state"), a.str("resourcestate"));
    let status = status.map(|s| ferrostack_types::state::HostStatus::parse(&s));
    let resource_state = resource_state.map(|s| ferrostack_types::state::ResourceState::parse(&s));
    if matches!(status, Some(None)) || matches!(resource_state, Some(None)) {
        return Ok(Reply::list("host", 0, Vec::new()));
    }
    let f = HostFilter {
        // `id` was resolved before the handler (a removed host's id answers the empty list).
        id: a.entity_id("id"),
        name: a.str("name"),
        host_type: a.str("type"),
        status: status.flatten(),
        resource_state: resource_state.flatten(),
        hypervisor: hypervisor_filter(a.str("hypervisor")),
        keyword: a.str("keyword"),
        ..Default::default()
    };
    let (total, rows) = c
        .app
        .host_list(
            f,
            a.uuid("zoneid").as_deref(),
            a.uuid("podid").as_deref(),
            a.uuid("clusterid").as_deref(),
            a.page()?,
        )
        .await?;
    Ok(Reply::list("host", total, items(&rows, v::host)))
}

async fn update(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let h = c
        .app
        .host_update(
            &c.caller,
            &a.req_uuid("id")?,
            a.str("allocationstate"),
            a.str("hosttags"),
        )
        .await?;
    Ok(Reply::object("host", v::host(&h)))
}

async fn maintenance(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let s = c
        .app
        .host_maintenance(&c.caller, &a.req_uuid("id")?, c.job_meta()?)
        .await?;
    Ok(Reply::Job {
        job_id: s.job_uuid,
        id: None,
    })
}

async fn cancel_maintenance(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let s = c
        .app
        .host_cancel_maintenance(&c.caller, &a.req_uuid("id")?, c.job_meta()?)
        .await?;
    Ok(Reply::Job {
        job_id: s.job_uuid,
        id: None,
    })
}

async fn reconnect(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let s = c
        .app
        .host_reconnect(&c.caller, &a.req_uuid("id")?, c.job_meta()?)
        .await?;
    Ok(Reply::Job {
        job_id: s.job_uuid,
        id: None,
    })
}

async fn delete(c: &Ctx, a: Args) -> Result<Reply, Error> {
    c.app
        .host_delete(&c.caller, &a.req_uuid("id")?, a.bool("forced"))
        .await?;
    Ok(Reply::Success)
}

async fn hypervisors(c: &Ctx, a: Args) -> Result<Reply, Error> {
    if let Some(z) = a.uuid("zoneid") {
        c.app.zone_find("zoneid", &z).await?;
    }
    let v: Vec<_> = c
        .app
        .agents
        .supported()
        .into_iter()
        .map(|h| json!({"name": h}))
        .collect();
    Ok(Reply::list("hypervisor", v.len() as i64, v))
}

/// CloudStack capacity types ferrostack reports from host capacity.
const CAPACITY_MEMORY: i64 = 0;
const CAPACITY_CPU: i64 = 1;
const CAPACITY_LOCAL_STORAGE: i64 = 9;

async fn capacity(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let (zone, pod, cluster) = (a.uuid("zoneid"), a.uuid("podid"), a.uuid("clusterid"));
    let per_zone = c
        .app
        .capacity_list(zone.as_deref(), pod.as_deref(), cluster.as_deref())
        .await?;
    let want = a.i64("type");
    let mut out = Vec::new();
    for t in per_zone {
        let z = &t.zone;
        for (ty, name, total, used) in [
            (CAPACITY_MEMORY, "MEMORY", t.memory_total, t.memory_allocated),
            (CAPACITY_CPU, "CPU", t.cpu_total, t.cpu_allocated),
            (CAPACITY_LOCAL_STORAGE, "LOCAL_STORAGE", t.local_total, 0),
        ] {
            if want.is_some_and(|w| w != ty) {
                continue;
            }
            let pct = if total > 0 {
                format!("{:.2}", used as f64 * 100.0 / total as f64)
            } else {
                "0".into()
            };
            out.push(json!({
                "type": ty, "name": name, "zoneid": z.uuid, "zonename": z.name,
                "capacitytotal": total, "capacityused": used, "capacityallocated": used, "percentused": pct,
            }));
        }
    }
    Ok(Reply::list("capacity", out.len() as i64, out))
}

async fn alerts(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let f = AlertFilter {
        uuid: a.uuid("id"),
        alert_type: a.i64("type"),
        name: a.str("name"),
        keyword: a.str("keyword"),
        archived: false,
    };
    let (total, rows) = c.app.alert_list(&f, a.page()?).await?;
    Ok(Reply::list("alert", total, items(&rows, v::alert)))
}
