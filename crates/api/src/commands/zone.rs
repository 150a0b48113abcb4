use ferrostack_app::model::{ClusterFilter, PodFilter, ZoneFilter};
use ferrostack_app::zone::{ClusterAdd, PodCreate, ZoneCreate, ZoneUpdate};
use ferrostack_types::state::AllocationState;
use ferrostack_types::Error;

use crate::args::Args;
use crate::commands::items;
use crate::registry::{list_params, Access, Command, PType, Param, Shape, SUCCESS_FIELDS};
use crate::reply::Reply;
use crate::views::infra::{self as v, CLUSTER_FIELDS, POD_FIELDS, ZONE_FIELDS};
use crate::Ctx;

fn zone_params() -> Vec<Param> {
    vec![
        Param::new("dns1", PType::String, "the first DNS for the Zone"),
        Param::new("dns2", PType::String, "the second DNS for the Zone"),
        Param::new("internaldns1", PType::String, "the first internal DNS for the Zone"),
        Param::new("internaldns2", PType::String, "the second internal DNS for the Zone"),
        Param::new("ip6dns1", PType::String, "the first DNS for IPv6 network in the Zone"),
        Param::new("ip6dns2", PType::String, "the second DNS for IPv6 network in the Zone"),
        Param::new("guestcidraddress", PType::String, "the guest CIDR address for the Zone"),
        Param::new(
            "domain",
            PType::String,
            "Network domain name for the networks in the zone",
        ),
        Param::new(
            "allocationstate",
            PType::String,
            "Allocation state of this Zone for allocation of new resources",
        ),
        Param::new(
            "localstorageenabled",
            PType::Boolean,
            "true if local storage offering enabled, false otherwise",
        ),
    ]
}

pub fn commands() -> Vec<Command> {
    let mut create_params = zone_params();
    for p in create_params.iter_mut() {
        if p.name == "dns1" || p.name == "internaldns1" {
            *p = p.required();
        }
    }
    create_params.extend([
        Param::new("name", PType::String, "the name of the Zone").required(),
        Param::new(
            "networktype",
            PType::String,
            "network type of the zone, can be Basic or Advanced",
        )
        .required(),
        Param::new(
            "isedge",
            PType::Boolean,
            "true if the zone is an edge zone, false otherwise",
        )
        .since("4.18.0"),
        Param::new(
            "domainid",
            PType::Uuid,
            "the ID of the containing domain, null for public zones",
        )
        .related("listDomains"),
        Param::new(
            "securitygroupenabled",
            PType::Boolean,
            "true if network is security group enabled, false otherwise",
        ),
        Param::new("description", PType::String, "the description of the Zone (ferrostack)"),
    ]);
    let mut update_params = zone_params();
    update_params.extend([
        Param::new("id", PType::Uuid, "the ID of the Zone")
            .required()
            .related("listZones"),
        Param::new("name", PType::String, "the name of the Zone"),
        Param::new("description", PType::String, "the description of the Zone (ferrostack)"),
    ]);
    vec![
        Command {
            name: "createZone",
            description: "Creates a Zone.",
            is_async: false,
            since: None,
            access: Access::Admin,
            params: create_params,
            shape: Shape::Object("zone"),
            response: ZONE_FIELDS,
            job: None,
            handler: |c, a| Box::pin(zone_create(c, a)),
        },
        Command {
            name: "listZones",
            description: "Lists zones",
            is_async: false,
            since: None,
            access: Access::All,
            params: [
                list_params(),
                vec![
                    Param::new("id", PType::Uuid, "the ID of the zone").related("listZones"),
                    Param::new("ids", PType::List, "the IDs of the zones, mutually exclusive with id").since("4.19.0").related("listZones"),
                    Param::new("name", PType::String, "the name of the zone"),
                    Param::new("networktype", PType::String, "the network type of the zone that the virtual machine belongs to"),
                    Param::new("type", PType::String, "the type of the zone, Core or Edge (ferrostack filter)"),
                    Param::new("available", PType::Boolean, "true if you want to retrieve all available Zones. False if you only want to return the Zones from which you have at least one VM. Default is false."),
                    Param::new("domainid", PType::Uuid, "the ID of the domain associated with the zone").related("listDomains"),
                    Param::new("showcapacities", PType::Boolean, "flag to display the capacity of the zones").only("false", "zones are listed without their capacities; read them with listCapacity zoneid=<zone>"),
                    Param::new("tags", PType::Map, "List zones by resource tags (key/value pairs)"),
                ],
            ]
            .concat(),
            shape: Shape::List("zone"),
            response: ZONE_FIELDS,
            job: None,
            handler: |c, a| Box::pin(zone_list(c, a)),
        },
        Command {
            name: "updateZone",
            description: "Updates a Zone.",
            is_async: false,
            since: None,
            access: Access::Admin,
            params: update_params,
            shape: Shape::Object("zone"),
            response: ZONE_FIELDS,
            job: None,
            handler: |c, a| Box::pin(zone_update(c, a)),
        },
        Command {
            name: "deleteZone",
            description: "Deletes a Zone.",
            is_async: false,
            since: None,
            access: Access::Admin,
            params: vec![Param::new("id", PType::Uuid, "the ID of the Zone").required().related("listZones")],
            shape: Shape::Success,
            response: SUCCESS_FIELDS,
            job: None,
            handler: |c, a| Box::pin(zone_delete(c, a)),
        },
        Command {
            name: "createPod",
            description: "Creates a new Pod.",
            is_async: false,
            since: None,
            access: Access::Admin,
            params: vec![
                Param::new("name", PType::String, "the name of the Pod").required(),
                Param::new("zoneid", PType::Uuid, "the Zone ID in which the Pod will be created").required().related("listZones"),
                Param::new("gateway", PType::String, "the gateway for the Pod"),
                Param::new("netmask", PType::String, "the netmask for the Pod"),
                Param::new("startip", PType::String, "the starting IP address for the Pod"),
                Param::new("endip", PType::String, "the ending IP address for the Pod"),
                Param::new("allocationstate", PType::String, "Allocation state of this Pod for allocation of new resources"),
            ],
            shape: Shape::Object("pod"),
            response: POD_FIELDS,
            job: None,
            handler: |c, a| Box::pin(pod_create(c, a)),
        },
        Command {
            name: "listPods",
            description: "Lists all Pods.",
            is_async: false,
            since: None,
            access: Access::Admin,
            params: [
                list_params(),
                vec![
                    Param::new("id", PType::Uuid, "list Pods by ID").related("listPods"),
                    Param::new("name", PType::String, "list Pods by name"),
                    Param::new("zoneid", PType::Uuid, "list Pods by Zone ID").related("listZones"),
                    Param::new("allocationstate", PType::String, "list pods by allocation state"),
                    Param::new("showcapacities", PType::Boolean, "flag to display the capacity of the pods").only("false", "zones are listed without their capacities; read them with listCapacity zoneid=<zone>"),
                ],
            ]
            .concat(),
            shape: Shape::List("pod"),
            response: POD_FIELDS,
            job: None,
            handler: |c, a| Box::pin(pod_list(c, a)),
        },
        Command {
            name: "updatePod",
            description: "Updates a Pod.",
            is_async: false,
            since: None,
            access: Access::Admin,
            params: vec![
                Param::new("id", PType::Uuid, "the ID of the Pod").required().related("listPods"),
                Param::new("name", PType::String, "the name of the Pod"),
                Param::new("allocationstate", PType::String, "Allocation state of this cluster for allocation of new resources"),
            ],
            shape: Shape::Object("pod"),
            response: POD_FIELDS,
            job: None,
            handler: |c, a| Box::pin(pod_update(c, a)),
        },
        Command {
            name: "deletePod",
            description: "Deletes a Pod.",
            is_async: false,
            since: None,
            access: Access::Admin,
            params: vec![Param::new("id", PType::Uuid, "the ID of the Pod").required().related("listPods")],
            shape: Shape::Success,
            response: SUCCESS_FIELDS,
            job: None,
            handler: |c, a| Box::pin(pod_delete(c, a)),
        },
        Command {
            name: "addCluster",
            description: "Adds a new cluster",
            is_async: false,
            since: None,
            access: Access::Admin,
            params: vec![
                Param::new("clustername", PType::String, "the cluster name").required(),
                Param::new("clustertype", PType::String, "type of the cluster: CloudManaged, ExternalManaged").required(),
                Param::new("hypervisor", PType::String, "hypervisor type of the cluster: XenServer,KVM,VMware,Hyperv,BareMetal,Simulator,Ovm3").required(),
                Param::new("podid", PType::Uuid, "the Pod ID for the host").required().related("listPods"),
                Param::new("zoneid", PType::Uuid, "the Zone ID for the cluster").required().related("listZones"),
                Param::new("allocationstate", PType::String, "Allocation state of this cluster for allocation of new resources"),
                Param::new("arch", PType::String, "the CPU arch of the cluster. Valid options are: x86_64, aarch64").since("4.20"),
                Param::new("url", PType::String, "the URL"),
                Param::new("username", PType::String, "the username for the cluster"),
                Param::new("password", PType::String, "the password for the host"),
            ],
            shape: Shape::List("cluster"),
            response: CLUSTER_FIELDS,
            job: None,
            handler: |c, a| Box::pin(cluster_add(c, a)),
        },
        Command {
            name: "listClusters",
            description: "Lists clusters.",
            is_async: false,
            since: None,
            access: Access::Admin,
            params: [
                list_params(),
                vec![
                    Param::new("id", PType::Uuid, "lists clusters by the cluster ID").related("listClusters"),
                    Param::new("name", PType::String, "lists clusters by the cluster name"),
                    Param::new("zoneid", PType::Uuid, "lists clusters by Zone ID").related("listZones"),
                    Param::new("podid", PType::Uuid, "lists clusters by Pod ID").related("listPods"),
                    Param::new("hypervisor", PType::String, "lists clusters by hypervisor type"),
                    Param::new("clustertype", PType::String, "lists clusters by cluster type"),
                    Param::new("allocationstate", PType::String, "lists clusters by allocation state"),
                    Param::new("managedstate", PType::String, "whether this cluster is managed by cloudstack"),
                    Param::new("showcapacities", PType::Boolean, "flag to display the capacity of the clusters").only("false", "zones are listed without their capacities; read them with listCapacity zoneid=<zone>"),
                ],
            ]
            .concat(),
            shape: Shape::List("cluster"),
            response: CLUSTER_FIELDS,
            job: None,
            handler: |c, a| Box::pin(cluster_list(c, a)),
        },
        Command {
            name: "updateCluster",
            description: "Updates an existing cluster",
            is_async: false,
            since: None,
            access: Access::Admin,
            params: vec![
                Param::new("id", PType::Uuid, "the ID of the Cluster").required().related("listClusters"),
                Param::new("clustername", PType::String, "the cluster name"),
                Param::new("allocationstate", PType::String, "Allocation state of this cluster for allocation of new resources"),
                Param::new("managedstate", PType::String, "whether this cluster is managed by cloudstack"),
            ],
            shape: Shape::Object("cluster"),
            response: CLUSTER_FIELDS,
            job: None,
            handler: |c, a| Box::pin(cluster_update(c, a)),
        },
        Command {
            name: "deleteCluster",
            description: "Deletes a cluster.",
            is_async: false,
            since: None,
            access: Access::Admin,
            params: vec![Param::new("id", PType::Uuid, "the cluster ID").required().related("listClusters")],
            shape: Shape::Success,
            response: SUCCESS_FIELDS,
            job: None,
            handler: |c, a| Box::pin(cluster_delete(c, a)),
        },
    ]
}

async fn zone_create(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let z = c
        .app
        .zone_create(
            &c.caller,
            ZoneCreate {
                name: a.req("name")?,
                description: a.str("description"),
                network_type: a.req("networktype")?,
                is_edge: a.bool("isedge"),
                allocation_state: a.str("allocationstate"),
                dns1: a.req("dns1")?,
                dns2: a.str("dns2"),
                internal_dns1: a.req("internaldns1")?,
                internal_dns2: a.str("internaldns2"),
                ip6_dns1: a.str("ip6dns1"),
                ip6_dns2: a.str("ip6dns2"),
                guest_cidr: a.str("guestcidraddress"),
                network_domain: a.str("domain"),
                domain_uuid: a.uuid("domainid"),
                local_storage_enabled: a.bool("localstorageenabled"),
                security_group_enabled: a.bool("securitygroupenabled"),
            },
        )
        .await?;
    Ok(Reply::object("zone", v::zone(&z)))
}

async fn zone_list(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let mut f = ZoneFilter {
        id: None,
        uuids: a.ids()?,
        name: a.str("name"),
        network_type: a.str("networktype"),
        zone_type: a.str("type"),
        keyword: a.str("keyword"),
        enabled_only: !c.caller.is_root_admin(),
        tags: crate::commands::tag::tag_filters(&a)?,
    };
    if let Some(id) = a.uuid("id") {
        f.id = Some(c.app.zone_find("id", &id).await?.id);
    }
    let (total, rows) = c.app.zone_list(&f, a.page()?).await?;
    Ok(Reply::list("zone", total, items(&rows, v::zone)))
}

async fn zone_update(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let z = c
        .app
        .zone_update(
            &c.caller,
            &a.req_uuid("id")?,
            ZoneUpdate {
                name: a.str("name"),
                description: a.str("description"),
                allocation_state: a.str("allocationstate"),
                dns1: a.str("dns1"),
                dns2: a.str("dns2"),
                internal_dns1: a.str("internaldns1"),
                internal_dns2: a.str("internaldns2"),
                guest_cidr: a.str("guestcidraddress"),
                network_domain: a.str("domain"),
                local_storage_enabled: a.opt_bool("localstorageenabled"),
            },
        )
        .await?;
    Ok(Reply::object("zone", v::zone(&z)))
}

async fn zone_delete(c: &Ctx, a: Args) -> Result<Reply, Error> {
    c.app.zone_delete(&c.caller, &a.req_uuid("id")?).await?;
    Ok(Reply::Success)
}

async fn pod_create(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let p = c
        .app
        .pod_create(
            &c.caller,
            PodCreate {
                zone_uuid: a.req_uuid("zoneid")?,
                name: a.req("name")?,
                gateway: a.str("gateway"),
                netmask: a.str("netmask"),
                start_ip: a.str("startip"),
                end_ip: a.str("endip"),
                allocation: a.str("allocationstate"),
            },
        )
        .await?;
    Ok(Reply::object("pod", v::pod(&p)))
}

async fn pod_list(c: &Ctx, a: Args) -> Result<Reply, Error> {
    // CloudStack compares allocationstate as a string: a state no pod has matches nothing.
    let allocation = a.str("allocationstate").map(|s| AllocationState::parse(&s));
    if matches!(allocation, Some(None)) {
        return Ok(Reply::list("pod", 0, Vec::new()));
    }
    let f = PodFilter {
        // resolved before the handler (a removed pod's id answers the empty list)
        id: a.entity_id("id"),
        name: a.str("name"),
        allocation_state: allocation.flatten(),
        keyword: a.str("keyword"),
        ..Default::default()
    };
    let (total, rows) = c.app.pod_list(f, a.uuid("zoneid").as_deref(), a.page()?).await?;
    Ok(Reply::list("pod", total, items(&rows, v::pod)))
}

async fn pod_update(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let p = c
        .app
        .pod_update(&c.caller, &a.req_uuid("id")?, a.str("name"), a.str("allocationstate"))
        .await?;
    Ok(Reply::object("pod", v::pod(&p)))
}

async fn pod_delete(c: &Ctx, a: Args) -> Result<Reply, Error> {
    c.app.pod_delete(&c.caller, &a.req_uuid("id")?).await?;
    Ok(Reply::Success)
}

async fn cluster_add(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let cl = c
        .app
        .cluster_add(
            &c.caller,
            ClusterAdd {
                zone_uuid: a.req_uuid("zoneid")?,
                pod_uuid: a.req_uuid("podid")?,
                name: a.req("clustername")?,
                hypervisor: a.req("hypervisor")?,
                cluster_type: a.req("clustertype")?,
                allocation: a.str("allocationstate"),
                arch: a.str("arch"),
            },
        )
        .await?;
    Ok(Reply::list("cluster", 1, vec![v::cluster(&cl)]))
}

async fn cluster_list(c: &Ctx, a: Args) -> Result<Reply, Error> {
    // CloudStack compares allocationstate and managedstate as strings: a state no cluster has
    // matches nothing.
    let allocation = a.str("allocationstate").map(|s| AllocationState::parse(&s));
    let managed = a
        .str("managedstate")
        .map(|s| ferrostack_types::state::ManagedState::parse(&s));
    if matches!(allocation, Some(None)) || matches!(managed, Some(None)) {
        return Ok(Reply::list("cluster", 0, Vec::new()));
    }
    let f = ClusterFilter {
        // resolved before the handler (a removed cluster's id answers the empty list)
        id: a.entity_id("id"),
        name: a.str("name"),
        hypervisor: a.str("hypervisor"),
        cluster_type: a.str("clustertype"),
        allocation_state: allocation.flatten(),
        managed_state: managed.flatten(),
        keyword: a.str("keyword"),
        ..Default::default()
    };
    let (total, rows) = c
        .app
        .cluster_list(f, a.uuid("zoneid").as_deref(), a.uuid("podid").as_deref(), a.page()?)
        .await?;
    Ok(Reply::list("cluster", total, items(&rows, v::cluster)))
}

async fn cluster_update(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let cl = c
        .app
        .cluster_update(
            &c.caller,
            &a.req_uuid("id")?,
            a.str("clustername"),
            a.str("allocationstate"),
            a.str("managedstate"),
        )
        .await?;
    Ok(Reply::object("cluster", v::cluster(&cl)))
}

async fn cluster_delete(c: &Ctx, a: Args) -> Result<Reply, Error> {
    c.app.cluster_delete(&c.caller, &a.req_uuid("id")?).await?;
    Ok(Reply::Success)
}
