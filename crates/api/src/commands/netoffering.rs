//! Network offerings: create/update/delete (admin), list (everyone).

use ferrostack_app::model::OfferingFilter;
use ferrostack_app::netoffering::{OfferingCreate, OfferingUpdate};
use ferrostack_types::Error;

use crate::args::Args;
use crate::commands::items;
use crate::registry::{list_params, Access, Command, PType, Param, Shape, SUCCESS_FIELDS};
use crate::reply::Reply;
use crate::views::physnet::{self as v, NETWORK_OFFERING_FIELDS};
use crate::Ctx;

pub fn commands() -> Vec<Command> {
    vec![
        Command {
            name: "createNetworkOffering",
            description: "Creates a network offering.",
            is_async: false,
            since: Some("3.0.0"),
            access: Access::Admin,
            params: vec![
                Param::new("name", PType::String, "The name of the network offering").required(),
                Param::new("displaytext", PType::String, "The display text of the network offering, defaults to the value of 'name'."),
                Param::new("guestiptype", PType::String, "Guest type of the network offering: Shared, Isolated or L2").required(),
                Param::new("traffictype", PType::String, "The traffic type for the network offering. Supported type in current release is GUEST only").required(),
                Param::new("supportedservices", PType::List, "Services supported by the network offering"),
                Param::new("serviceproviderlist", PType::Map, "Provider to service mapping. If not specified, the provider for the service will be mapped to the default provider on the physical network"),
                Param::new("servicecapabilitylist", PType::Map, "Desired service capabilities as part of network offering"),
                Param::new("specifyvlan", PType::Boolean, "True if network offering supports VLANs"),
                Param::new("specifyipranges", PType::Boolean, "True if network offering supports specifying ip ranges; defaulted to false if not specified"),
                Param::new("conservemode", PType::Boolean, "True if the network offering is IP conserve mode enabled"),
                Param::new("availability", PType::String, "The availability of network offering. The default value is Optional.  Another value is Required, which will make it as the default network offering for new networks "),
                Param::new("ispersistent", PType::Boolean, "True if network offering supports persistent networks; defaulted to false if not specified"),
                Param::new("egressdefaultpolicy", PType::Boolean, "True if guest network default egress policy is allow; false if default egress policy is deny"),
                Param::new("networkrate", PType::Integer, "Data transfer rate in megabits per second allowed"),
                Param::new("tags", PType::String, "The tags for the network offering.").len(4096),
                Param::new("forvpc", PType::Boolean, "True if network offering is meant to be used for VPC, false otherwise."),
                Param::new("zoneid", PType::List, "The ID of the containing zone(s), null for public offerings").since("4.13"),
                Param::new("domainid", PType::List, "The ID of the containing domain(s), null for public offerings"),
                Param::new("enable", PType::Boolean, "Set to true if the offering is to be enabled during creation. Default is false").since("4.16"),
                Param::new("details", PType::Map, "Network offering details in key/value pairs."),
                Param::new("internetprotocol", PType::String, "The internet protocol of network offering. Options are IPv4 and dualstack. Default is IPv4.").since("4.17.0"),
            ],
            shape: Shape::Object("networkoffering"),
            response: NETWORK_OFFERING_FIELDS,
            job: None,
            handler: |c, a| Box::pin(create(c, a)),
        },
        Command {
            name: "updateNetworkOffering",
            description: "Updates a network offering.",
            is_async: false,
            since: Some("3.0.0"),
            access: Access::Admin,
            params: vec![
                Param::new("id", PType::Uuid, "the id of the network offering").related("listNetworkOfferings"),
                Param::new("name", PType::String, "the name of the network offering"),
                Param::new("displaytext", PType::String, "the display text of the network offering"),
                Param::new("state", PType::String, "update state for the network offering"),
                Param::new("availability", PType::String, "the availability of network offering. Default value is Required for Guest Virtual network offering; Optional for Guest Direct network offering"),
                Param::new("sortkey", PType::Integer, "sort key of the network offering, integer"),
                Param::new("tags", PType::String, "the tags for the network offering.").len(4096),
                Param::new("zoneid", PType::String, "the ID of the containing zone(s) as comma separated string, all for all zones offerings"),
                Param::new("domainid", PType::String, "the ID of the containing domain(s) as comma separated string, public for public offerings"),
            ],
            shape: Shape::Object("networkoffering"),
            response: NETWORK_OFFERING_FIELDS,
            job: None,
            handler: |c, a| Box::pin(update(c, a)),
        },
        Command {
            name: "deleteNetworkOffering",
            description: "Deletes a network offering.",
            is_async: false,
            since: Some("3.0.0"),
            access: Access::Admin,
            params: vec![Param::new("id", PType::Uuid, "the ID of the network offering").required().related("listNetworkOfferings")],
            shape: Shape::Success,
            response: SUCCESS_FIELDS,
            job: None,
            handler: |c, a| Box::pin(delete(c, a)),
        },
        Command {
            name: "listNetworkOfferings",
            description: "Lists all available network offerings.",
            is_async: false,
            since: Some("3.0.0"),
            access: Access::All,
            params: [
                list_params(),
                vec![
                    Param::new("id", PType::Uuid, "list network offerings by ID").related("listNetworkOfferings"),
                    Param::new("name", PType::String, "list network offerings by name"),
                    Param::new("displaytext", PType::String, "list network offerings by display text"),
                    Param::new("zoneid", PType::Uuid, "list network offerings available for network creation in specific zone").related("listZones"),
                    Param::new("domainid", PType::Uuid, "list network offerings available for network creation in specific domain").related("listDomains"),
                    Param::new("guestiptype", PType::String, "list network offerings by guest type: shared or isolated"),
                    Param::new("traffictype", PType::String, "list by traffic type"),
                    Param::new("state", PType::String, "list network offerings by state"),
                    Param::new("availability", PType::String, "the availability of network offering. Default value is required"),
                    Param::new("supportedservices", PType::List, "list network offerings supporting certain services"),
                    Param::new("sourcenatsupported", PType::Boolean, "true if need to list only netwok offerings where source NAT is supported, false otherwise"),
                    Param::new("specifyvlan", PType::Boolean, "the tags for the network offering."),
                    Param::new("specifyipranges", PType::Boolean, "true if need to list only network offerings which support specifying ip ranges"),
                    Param::new("forvpc", PType::Boolean, "the network offering can be used only for network creation inside the VPC"),
                    Param::new("isdefault", PType::Boolean, "true if need to list only default network offerings. Default value is false"),
                    Param::new("istagged", PType::Boolean, "true if offering has tags specified"),
                    Param::new("tags", PType::String, "list network offerings by tags").len(4096),
                    Param::new("networkid", PType::Uuid, "the ID of the network. Pass this in if you want to see the available network offering that a network can be changed to.").related("listNetworks"),
                ],
            ]
            .concat(),
            shape: Shape::List("networkoffering"),
            response: NETWORK_OFFERING_FIELDS,
            job: None,
            handler: |c, a| Box::pin(list(c, a)),
        },
    ]
}

/// A record field, matched case-insensitively.
fn field(rec: &std::collections::BTreeMap<String, String>, name: &str) -> Option<String> {
    rec.iter()
        .find(|(k, v)| k.eq_ignore_ascii_case(name) && !v.is_empty())
        .map(|(_, v)| v.clone())
}

async fn create(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let service_providers = a
        .map("serviceproviderlist")?
        .values()
        .map(|r| (field(r, "service"), field(r, "provider")))
        .collect();
    let capabilities = a
        .map("servicecapabilitylist")?
        .values()
        .map(|r| {
            (
                field(r, "service"),
                field(r, "capabilitytype"),
                field(r, "capabilityvalue"),
            )
        })
        .collect();
    let mut zone_uuids = Vec::new();
    for z in a.list("zoneid") {
        if !z.eq_ignore_ascii_case("all") {
            zone_uuids.push(
                ferrostack_types::ids::parse_uuid(&z)
                    .ok_or_else(|| Error::unknown_entity("zoneid", &z))?
                    .to_string(),
            );
        }
    }
    let mut domain_uuids = Vec::new();
    for d in a.list("domainid") {
        if !d.eq_ignore_ascii_case("public") {
            domain_uuids.push(
                ferrostack_types::ids::parse_uuid(&d)
                    .ok_or_else(|| Error::unknown_entity("domainid", &d))?
                    .to_string(),
            );
        }
    }
    let d = c
        .app
        .netoffering_create(
            &c.caller,
            OfferingCreate {
                name: a.req("name")?,
                display_text: a.str("displaytext"),
                guest_type: a.req("guestiptype")?,
                traffic_type: a.req("traffictype")?,
                supported_services: a.list("supportedservices"),
                service_providers,
                capabilities,
                specify_vlan: a.bool("specifyvlan"),
                specify_ip_ranges: a.opt_bool("specifyipranges"),
                conserve_mode: a.opt_bool("conservemode"),
                availability: a.str("availability"),
                is_persistent: a.bool("ispersistent"),
                egress_default_policy: a.opt_bool("egressdefaultpolicy"),
                network_rate: a.i64("networkrate"),
                tags: a.str("tags"),
                for_vpc: a.bool("forvpc"),
                zone_uuids,
                domain_uuids,
                enable: a.bool("enable"),
            },
        )
        .await?;
    Ok(Reply::object("networkoffering", v::network_offering(&d)))
}

async fn update(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let u = OfferingUpdate {
        name: a.str("name"),
        display_text: a.str("displaytext"),
        state: a.str("state"),
        availability: a.str("availability"),
        sort_key: a.i64("sortkey"),
        tags: a.str("tags"),
    };
    // Without an id, `name` identifies the offering (and is then not a rename).
    let id = a.uuid("id");
    let (by_name, u) = match &id {
        Some(_) => (None, u),
        None => (a.str("name"), OfferingUpdate { name: None, ..u }),
    };
    let d = c
        .app
        .netoffering_update(&c.caller, id.as_deref(), by_name.as_deref(), u)
        .await?;
    Ok(Reply::object("networkoffering", v::network_offering(&d)))
}

async fn delete(c: &Ctx, a: Args) -> Result<Reply, Error> {
    c.app.netoffering_delete(&c.caller, &a.req_uuid("id")?).await?;
    Ok(Reply::Success)
}

async fn list(c: &Ctx, a: Args) -> Result<Reply, Error> {
    // CloudStack compares `state` as a string: a state no offering has matches nothing.
    let state = a
        .str("state")
        .map(|s| ferrostack_types::state::NetworkOfferingState::parse(&s));
    if matches!(state, Some(None)) {
        return Ok(Reply::list("networkoffering", 0, Vec::new()));
    }
    let f = OfferingFilter {
        name: a.str("name"),
        display_text: a.str("displaytext"),
        guest_type: a.str("guestiptype"),
        traffic_type: a.str("traffictype"),
        state: state.flatten(),
        availability: a.str("availability"),
        services: a.list("supportedservices"),
        source_nat: a.opt_bool("sourcenatsupported"),
        specify_vlan: a.opt_bool("specifyvlan"),
        specify_ip_ranges: a.opt_bool("specifyipranges"),
        for_vpc: a.opt_bool("forvpc"),
        is_default: a.opt_bool("isdefault"),
        is_tagged: a.opt_bool("istagged"),
        tags: a.str("tags"),
        keyword: a.str("keyword"),
        ..Default::default()
    };
    let (total, rows) = c
        .app
        .netoffering_list(
            &c.caller,
            f,
            a.uuid("id").as_deref(),
            a.uuid("zoneid").as_deref(),
            a.page()?,
        )
        .await?;
    Ok(Reply::list("networkoffering", total, items(&rows, v::network_offering)))
}
