//! Physical networks, traffic types, network service providers and virtual router elements
//! (admin; every change is async, as in CloudStack).

use ferrostack_app::job::Submitted;
use ferrostack_app::model::{Labels, NspFilter, PhysnetFilter, VrFilter};
use ferrostack_app::physnet::{NspAdd, PhysnetCreate, PhysnetUpdate, TrafficAdd};
use ferrostack_types::Error;

use crate::args::Args;
use crate::commands::items;
use crate::registry::{list_params, Access, Command, PType, Param, Shape, SUCCESS_FIELDS};
use crate::reply::Reply;
use crate::views::physnet::{self as v, NSP_FIELDS, PHYSNET_FIELDS, TRAFFIC_FIELDS, VR_FIELDS};
use crate::Ctx;
use ferrostack_app::saga::SagaKind;
use ferrostack_types::EventType;

fn job(s: Submitted) -> Reply {
    Reply::Job {
        job_id: s.job_uuid,
        id: s.entity_uuid,
    }
}

fn label_params() -> Vec<Param> {
    vec![
        Param::new(
            "kvmnetworklabel",
            PType::String,
            "The network name label of the physical device dedicated to this traffic on a KVM host",
        ),
        Param::new(
            "xennetworklabel",
            PType::String,
            "The network name label of the physical device dedicated to this traffic on a XenServer host",
        ),
        Param::new(
            "vmwarenetworklabel",
            PType::String,
            "The network name label of the physical device dedicated to this traffic on a VMware host",
        ),
        Param::new(
            "hypervnetworklabel",
            PType::String,
            "The network name label of the physical device dedicated to this traffic on a Hyperv host",
        ),
        Param::new(
            "ovm3networklabel",
            PType::String,
            "The network name of the physical device dedicated to this traffic on an OVM3 host",
        ),
        Param::new(
            "simulatorlabel",
            PType::String,
            "The network name label of this traffic on a Simulator host (ferrostack)",
        ),
    ]
}

fn labels(a: &Args) -> Labels {
    Labels {
        kvm: a.str("kvmnetworklabel"),
        xen: a.str("xennetworklabel"),
        vmware: a.str("vmwarenetworklabel"),
        hyperv: a.str("hypervnetworklabel"),
        ovm3: a.str("ovm3networklabel"),
        simulator: a.str("simulatorlabel"),
    }
}

fn id_param(description: &'static str, related: &'static str) -> Param {
    Param::new("id", PType::Uuid, description).required().related(related)
}

fn async_cmd(
    name: &'static str,
    description: &'static str,
    params: Vec<Param>,
    shape: Shape,
    response: &'static [crate::registry::Field],
    handler: crate::registry::Handler,
) -> Command {
    Command {
        name,
        description,
        is_async: true,
        since: Some("3.0.0"),
        access: Access::Admin,
        params,
        shape,
        response,
        job: None,
        handler,
    }
}

fn list_cmd(
    name: &'static str,
    description: &'static str,
    params: Vec<Param>,
    key: &'static str,
    response: &'static [crate::registry::Field],
    handler: crate::registry::Handler,
) -> Command {
    Command {
        name,
        description,
        is_async: false,
        since: Some("3.0.0"),
        access: Access::Admin,
        params: [list_params(), params].concat(),
        shape: Shape::List(key),
        response,
        job: None,
        handler,
    }
}

pub fn commands() -> Vec<Command> {
    vec![
        async_cmd(
            "createPhysicalNetwork",
            "Creates a physical network",
            vec![
                Param::new("name", PType::String, "the name of the physical network").required(),
                Param::new("zoneid", PType::Uuid, "the Zone ID for the physical network").required().related("listZones"),
                Param::new("vlan", PType::String, "the VLAN for the physical network"),
                Param::new("isolationmethods", PType::List, "the isolation method for the physical network[VLAN/L3/GRE]"),
                Param::new("tags", PType::List, "Tag the physical network"),
                Param::new("networkspeed", PType::String, "the speed for the physical network[1G/10G]"),
                Param::new("broadcastdomainrange", PType::String, "the broadcast domain range for the physical network[Pod or Zone]. In Acton release it can be Zone only in Advance zone, and Pod in Basic"),
                Param::new("domainid", PType::Uuid, "domain ID of the account owning a physical network").related("listDomains"),
            ],
            Shape::Job(Some("physicalnetwork")),
            PHYSNET_FIELDS,
            |c, a| Box::pin(physnet_create(c, a)),
        )
        .job(SagaKind::Physnet, EventType::PhysicalNetworkCreate, "org.apache.cloudstack.api.command.admin.network.CreatePhysicalNetworkCmd"),
        list_cmd(
            "listPhysicalNetworks",
            "Lists physical networks",
            vec![
                Param::new("id", PType::Uuid, "list physical network by id").related("listPhysicalNetworks"),
                Param::new("zoneid", PType::Uuid, "the Zone ID for the physical network").related("listZones"),
                Param::new("name", PType::String, "search by name"),
            ],
            "physicalnetwork",
            PHYSNET_FIELDS,
            |c, a| Box::pin(physnet_list(c, a)),
        ),
        async_cmd(
            "updatePhysicalNetwork",
            "Updates a physical network",
            vec![
                id_param("physical network id", "listPhysicalNetworks"),
                Param::new("state", PType::String, "Enabled/Disabled"),
                Param::new("vlan", PType::String, "the VLAN for the physical network"),
                Param::new("tags", PType::List, "Tag the physical network"),
                Param::new("networkspeed", PType::String, "the speed for the physical network[1G/10G]"),
            ],
            Shape::Job(Some("physicalnetwork")),
            PHYSNET_FIELDS,
            |c, a| Box::pin(physnet_update(c, a)),
        )
        .job(SagaKind::Physnet, EventType::PhysicalNetworkUpdate, "org.apache.cloudstack.api.command.admin.network.UpdatePhysicalNetworkCmd"),
        async_cmd(
            "deletePhysicalNetwork",
            "Deletes a Physical Network.",
            vec![id_param("the ID of the Physical network", "listPhysicalNetworks")],
            Shape::Job(None),
            SUCCESS_FIELDS,
            |c, a| Box::pin(physnet_delete(c, a)),
        )
        .job(SagaKind::Physnet, EventType::PhysicalNetworkDelete, "org.apache.cloudstack.api.command.admin.network.DeletePhysicalNetworkCmd"),
        async_cmd(
            "addTrafficType",
            "Adds traffic type to a physical network",
            [
                vec![
                    Param::new("physicalnetworkid", PType::Uuid, "the Physical Network ID").required().related("listPhysicalNetworks"),
                    Param::new("traffictype", PType::String, "the trafficType to be added to the physical network").required(),
                    Param::new("isolationmethod", PType::String, "Used if physical network has multiple isolation types and traffic type is public. Choose which isolation method. Valid options currently 'vlan' or 'vxlan', defaults to 'vlan'."),
                    Param::new("vlan", PType::String, "The VLAN id to be used for Management traffic by VMware host"),
                ],
                label_params(),
            ]
            .concat(),
            Shape::Job(Some("traffictype")),
            TRAFFIC_FIELDS,
            |c, a| Box::pin(traffic_add(c, a)),
        )
        .job(SagaKind::Physnet, EventType::TrafficTypeCreate, "org.apache.cloudstack.api.command.admin.usage.AddTrafficTypeCmd"),
        list_cmd(
            "listTrafficTypes",
            "Lists traffic types of a given physical network.",
            vec![Param::new("physicalnetworkid", PType::Uuid, "the Physical Network ID").required().related("listPhysicalNetworks")],
            "traffictype",
            TRAFFIC_FIELDS,
            |c, a| Box::pin(traffic_list(c, a)),
        ),
        async_cmd(
            "updateTrafficType",
            "Updates traffic type of a physical network",
            [vec![id_param("traffic type id", "listTrafficTypes")], label_params()].concat(),
            Shape::Job(Some("traffictype")),
            TRAFFIC_FIELDS,
            |c, a| Box::pin(traffic_update(c, a)),
        )
        .job(SagaKind::Physnet, EventType::TrafficTypeUpdate, "org.apache.cloudstack.api.command.admin.usage.UpdateTrafficTypeCmd"),
        async_cmd(
            "deleteTrafficType",
            "Deletes traffic type of a physical network",
            vec![id_param("traffic type id", "listTrafficTypes")],
            Shape::Job(None),
            SUCCESS_FIELDS,
            |c, a| Box::pin(traffic_delete(c, a)),
        )
        .job(SagaKind::Physnet, EventType::TrafficTypeDelete, "org.apache.cloudstack.api.command.admin.usage.DeleteTrafficTypeCmd"),
        list_cmd(
            "listNetworkServiceProviders",
            "Lists network serviceproviders for a given physical network.",
            vec![
                Param::new("physicalnetworkid", PType::Uuid, "the Physical Network ID").related("listPhysicalNetworks"),
                Param::new("name", PType::String, "list providers by name"),
                Param::new("state", PType::String, "list providers by state"),
            ],
            "networkserviceprovider",
            NSP_FIELDS,
            |c, a| Box::pin(nsp_list(c, a)),
        ),
        async_cmd(
            "addNetworkServiceProvider",
            "Adds a network serviceProvider to a physical network",
            vec![
                Param::new("name", PType::String, "the name for the physical network service provider").required(),
                Param::new("physicalnetworkid", PType::Uuid, "the Physical Network ID to add the provider to").required().related("listPhysicalNetworks"),
                Param::new("destinationphysicalnetworkid", PType::Uuid, "the destination Physical Network ID to bridge to").related("listPhysicalNetworks"),
                Param::new("servicelist", PType::List, "the list of services to be enabled for this physical network service provider"),
            ],
            Shape::Job(Some("networkserviceprovider")),
            NSP_FIELDS,
            |c, a| Box::pin(nsp_add(c, a)),
        )
        .job(SagaKind::Physnet, EventType::ServiceProviderCreate, "org.apache.cloudstack.api.command.admin.network.AddNetworkServiceProviderCmd"),
        async_cmd(
            "updateNetworkServiceProvider",
            "Updates a network serviceProvider of a physical network",
            vec![
                id_param("network service provider id", "listNetworkServiceProviders"),
                Param::new("state", PType::String, "Enabled/Disabled/Shutdown the physical network service provider"),
                Param::new("servicelist", PType::List, "the list of services to be enabled for this physical network service provider"),
            ],
            Shape::Job(Some("networkserviceprovider")),
            NSP_FIELDS,
            |c, a| Box::pin(nsp_update(c, a)),
        )
        .job(SagaKind::Physnet, EventType::ServiceProviderUpdate, "org.apache.cloudstack.api.command.admin.network.UpdateNetworkServiceProviderCmd"),
        async_cmd(
            "deleteNetworkServiceProvider",
            "Deletes a Network Service Provider.",
            vec![id_param("the ID of the network service provider", "listNetworkServiceProviders")],
            Shape::Job(None),
            SUCCESS_FIELDS,
            |c, a| Box::pin(nsp_delete(c, a)),
        )
        .job(SagaKind::Physnet, EventType::ServiceProviderDelete, "org.apache.cloudstack.api.command.admin.network.DeleteNetworkServiceProviderCmd"),
        list_cmd(
            "listVirtualRouterElements",
            "Lists all available virtual router elements.",
            vec![
                Param::new("id", PType::Uuid, "list virtual router elements by id").related("listVirtualRouterElements"),
                Param::new("nspid", PType::Uuid, "list virtual router elements by network service provider id").related("listNetworkServiceProviders"),
                Param::new("enabled", PType::Boolean, "list network offerings by enabled state"),
            ],
            "virtualrouterelement",
            VR_FIELDS,
            |c, a| Box::pin(vr_list(c, a)),
        ),
        async_cmd(
            "configureVirtualRouterElement",
            "Configures a virtual router element.",
            vec![
                id_param("the ID of the virtual router provider", "listVirtualRouterElements"),
                Param::new("enabled", PType::Boolean, "Enabled/Disabled the service provider").required(),
            ],
            Shape::Job(Some("virtualrouterelement")),
            VR_FIELDS,
            |c, a| Box::pin(vr_configure(c, a)),
        )
        .job(SagaKind::Physnet, EventType::NetworkElementConfigure, "org.apache.cloudstack.api.command.admin.router.ConfigureVirtualRouterElementCmd"),
    ]
}

async fn physnet_create(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let s = c
        .app
        .physnet_create(
            &c.caller,
            PhysnetCreate {
                zone_uuid: a.req_uuid("zoneid")?,
                name: a.req("name")?,
                vlan: a.str("vlan"),
                isolation_methods: a.str("isolationmethods"),
                tags: a.str("tags"),
                network_speed: a.str("networkspeed"),
                broadcast_domain_range: a.str("broadcastdomainrange"),
                domain_uuid: a.uuid("domainid"),
            },
            c.job_meta()?,
        )
        .await?;
    Ok(job(s))
}

async fn physnet_list(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let f = PhysnetFilter {
        name: a.str("name"),
        keyword: a.str("keyword"),
        ..Default::default()
    };
    let (total, rows) = c
        .app
        .physnet_list(f, a.uuid("id").as_deref(), a.uuid("zoneid").as_deref(), a.page()?)
        .await?;
    Ok(Reply::list("physicalnetwork", total, items(&rows, v::physnet)))
}

async fn physnet_update(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let u = PhysnetUpdate {
        state: a.str("state"),
        vlan: a.str("vlan"),
        tags: a.str("tags"),
        network_speed: a.str("networkspeed"),
    };
    Ok(job(c
        .app
        .physnet_update(&c.caller, &a.req_uuid("id")?, u, c.job_meta()?)
        .await?))
}

async fn physnet_delete(c: &Ctx, a: Args) -> Result<Reply, Error> {
    Ok(job(c
        .app
        .physnet_delete(&c.caller, &a.req_uuid("id")?, c.job_meta()?)
        .await?))
}

async fn traffic_add(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let t = TrafficAdd {
        physnet_uuid: a.req_uuid("physicalnetworkid")?,
        traffic_type: a.req("traffictype")?,
        labels: labels(&a),
        isolation_method: a.str("isolationmethod"),
        vlan: a.str("vlan"),
    };
    Ok(job(c.app.traffic_add(&c.caller, t, c.job_meta()?).await?))
}

async fn traffic_list(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let (total, rows) = c.app.traffic_list(&a.req_uuid("physicalnetworkid")?, a.page()?).await?;
    Ok(Reply::list("traffictype", total, items(&rows, v::traffic)))
}

async fn traffic_update(c: &Ctx, a: Args) -> Result<Reply, Error> {
    Ok(job(c
        .app
        .traffic_update(&c.caller, &a.req_uuid("id")?, labels(&a), c.job_meta()?)
        .await?))
}

async fn traffic_delete(c: &Ctx, a: Args) -> Result<Reply, Error> {
    Ok(job(c
        .app
        .traffic_delete(&c.caller, &a.req_uuid("id")?, c.job_meta()?)
        .await?))
}

async fn nsp_list(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let f = NspFilter {
        name: a.str("name"),
        state: a
            .str("state")
            .map(|s| ferrostack_types::state::ProviderState::parse_param("state", &s))
            .transpose()?,
        keyword: a.str("keyword"),
        ..Default::default()
    };
    let (total, rows) = c
        .app
        .nsp_list(f, a.uuid("physicalnetworkid").as_deref(), a.page()?)
        .await?;
    Ok(Reply::list("networkserviceprovider", total, items(&rows, v::nsp)))
}

async fn nsp_add(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let n = NspAdd {
        physnet_uuid: a.req_uuid("physicalnetworkid")?,
        name: a.req("name")?,
        dest_physnet_uuid: a.uuid("destinationphysicalnetworkid"),
        services: a.str("servicelist"),
    };
    Ok(job(c.app.nsp_add(&c.caller, n, c.job_meta()?).await?))
}

async fn nsp_update(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let s = c
        .app
        .nsp_update(
            &c.caller,
            &a.req_uuid("id")?,
            a.str("state"),
            a.str("servicelist"),
            c.job_meta()?,
        )
        .await?;
    Ok(job(s))
}

async fn nsp_delete(c: &Ctx, a: Args) -> Result<Reply, Error> {
    Ok(job(c
        .app
        .nsp_delete(&c.caller, &a.req_uuid("id")?, c.job_meta()?)
        .await?))
}

async fn vr_list(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let f = VrFilter {
        enabled: a.opt_bool("enabled"),
        ..Default::default()
    };
    let (total, rows) = c
        .app
        .vr_list(f, a.uuid("id").as_deref(), a.uuid("nspid").as_deref(), a.page()?)
        .await?;
    Ok(Reply::list("virtualrouterelement", total, items(&rows, v::vr_element)))
}

async fn vr_configure(c: &Ctx, a: Args) -> Result<Reply, Error> {
    Ok(job(c
        .app
        .vr_configure(&c.caller, &a.req_uuid("id")?, a.bool("enabled"), c.job_meta()?)
        .await?))
}
