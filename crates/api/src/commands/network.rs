//! Guest networks, VLAN IP ranges, public IP addresses, and the rule lists clients call
//! implicitly (firewall, egress, port forwarding, load balancer, static NAT), which answer
//! empty until those services exist.

use ferrostack_app::access::ListScope;
use ferrostack_app::model::{Network, NetworkFilter, PublicIp, PublicIpFilter, RangeFilter};
use ferrostack_app::network::{broadcast_uri, NetworkCreate, RangeCreate};
use ferrostack_types::{Error, Page};

use crate::args::Args;
use crate::commands::items;
use crate::registry::{list_params, scope_params, Access, Command, JobDecl, PType, Param, Shape, SUCCESS_FIELDS};
use crate::reply::Reply;
use crate::views::network::{self as v, NETWORK_FIELDS, PUBLIC_IP_FIELDS, VLAN_RANGE_FIELDS};
use crate::views::tag::tags_of;
use crate::Ctx;
use ferrostack_app::saga::SagaKind;
use ferrostack_app::tag::ResourceType;
use ferrostack_types::EventType;

fn network_id(desc: &'static str) -> Param {
    Param::new("id", PType::Uuid, desc).required().related("listNetworks")
}

/// Parameters of `createNetwork` that CloudStack has and ferrostack accepts without acting on
/// them: IPv6 addressing, MTUs, display and external ids.
fn create_ignored_params() -> Vec<Param> {
    vec![
        Param::new(
            "startipv6",
            PType::String,
            "the beginning IPv6 address in the IPv6 network range",
        )
        .refused("IPv6 guest networking is not supported yet; create the network without IPv6 parameters"),
        Param::new(
            "endipv6",
            PType::String,
            "the ending IPv6 address in the IPv6 network range",
        )
        .refused("IPv6 guest networking is not supported yet; create the network without IPv6 parameters"),
        Param::new("ip6gateway", PType::String, "the gateway of the IPv6 network")
            .refused("IPv6 guest networking is not supported yet; create the network without IPv6 parameters"),
        Param::new("ip6cidr", PType::String, "the CIDR of IPv6 network")
            .refused("IPv6 guest networking is not supported yet; create the network without IPv6 parameters"),
        Param::new("ip6dns1", PType::String, "the first IPv6 DNS for the network")
            .refused("IPv6 guest networking is not supported yet; create the network without IPv6 parameters")
            .since("4.18.0"),
        Param::new("ip6dns2", PType::String, "the second IPv6 DNS for the network")
            .refused("IPv6 guest networking is not supported yet; create the network without IPv6 parameters")
            .since("4.18.0"),
        Param::new(
            "subdomainaccess",
            PType::Boolean,
            "Defines whether to allow subdomains to use networks dedicated to their parent domain(s)",
        )
        .only("true", "subdomains always use networks of their parent domains"),
        Param::new(
            "displaynetwork",
            PType::Boolean,
            "an optional field, whether to the display the network to the end user or not",
        )
        .only("true", "every network is displayed to its owner"),
        Param::new("externalid", PType::String, "ID of the network in an external system")
            .refused("external ids of networks are not stored; leave externalid out"),
        Param::new(
            "publicmtu",
            PType::Integer,
            "MTU to be configured on the network VR's public facing interfaces",
        )
        .refused("router MTUs are not configurable yet; leave publicmtu out")
        .since("4.18.0"),
        Param::new(
            "privatemtu",
            PType::Integer,
            "MTU to be configured on the network VR's private interface(s)",
        )
        .refused("router MTUs are not configurable yet; leave privatemtu out")
        .since("4.18.0"),
    ]
}

/// The parameters every rule list takes: paging, owner scope, project, rule id; tagged lists
/// (CloudStack's `BaseListTaggedResourcesCmd`) also take `tags` and `fordisplay`.
fn rule_list_params(tagged: bool, extra: Vec<Param>) -> Vec<Param> {
    let mut common = vec![
        Param::new("id", PType::Uuid, "Lists rule with the specified ID."),
        Param::new(
            "projectid",
            PType::Uuid,
            "list objects by project; if projectid=-1 lists All VMs",
        ),
    ];
    if tagged {
        common.extend([
            Param::new(
                "fordisplay",
                PType::Boolean,
                "list resources by display flag; only ROOT admin is eligible to pass this parameter",
            )
            .since("4.4"),
            Param::new("tags", PType::Map, "List resources by tags (key/value pairs)"),
        ]);
    }
    [list_params(), scope_params(), common, extra].concat()
}

fn ip_address_id(desc: &'static str) -> Param {
    Param::new("ipaddressid", PType::Uuid, desc).related("listPublicIpAddresses")
}

fn rule_network_id(desc: &'static str) -> Param {
    Param::new("networkid", PType::Uuid, desc).related("listNetworks")
}

/// A rule list that answers empty until its service is implemented.
fn rule_list(
    name: &'static str,
    description: &'static str,
    key: &'static str,
    tagged: bool,
    extra: Vec<Param>,
) -> Command {
    Command {
        name,
        description,
        is_async: false,
        since: None,
        access: Access::All,
        params: rule_list_params(tagged, extra),
        shape: Shape::List(key),
        response: &[("id", "string", "the ID of the rule")],
        job: None,
        handler: |c, a| Box::pin(rules_empty(c, a)),
    }
}

pub fn commands() -> Vec<Command> {
    vec![
        Command {
            name: "createNetwork",
            description: "Creates a network",
            is_async: false,
            since: None,
            access: Access::All,
            params: [
                vec![
                    Param::new("name", PType::String, "the name of the network").required(),
                    Param::new("displaytext", PType::String, "the display text of the network; defaults to the name").len(4096),
                    Param::new("zoneid", PType::Uuid, "the zone ID for the network").required().related("listZones"),
                    Param::new("networkofferingid", PType::Uuid, "the network offering ID").required().related("listNetworkOfferings"),
                    Param::new("physicalnetworkid", PType::Uuid, "the physical network ID the network belongs to").related("listPhysicalNetworks"),
                    Param::new("vlan", PType::String, "the ID or VID of the network"),
                    Param::new("gateway", PType::String, "the gateway of the network. Required for shared networks and isolated networks when it belongs to VPC"),
                    Param::new("netmask", PType::String, "the netmask of the network. Required for shared networks and isolated networks when it belongs to VPC"),
                    Param::new("startip", PType::String, "the beginning IP address in the network IP range"),
                    Param::new("endip", PType::String, "the ending IP address in the network IP range. If not specified, will be defaulted to startIP"),
                    Param::new("networkdomain", PType::String, "network domain"),
                    Param::new("acltype", PType::String, "Access control type; supported values are account and domain. In 3.0 all shared networks should have aclType=Domain, and all isolated networks - Account. Account means that only the account owner can use the network, domain - all accounts in the domain can use the network"),
                    Param::new("account", PType::String, "account that will own the network"),
                    Param::new("domainid", PType::Uuid, "domain ID of the account owning a network").related("listDomains"),
                    Param::new("projectid", PType::Uuid, "an optional project for the network (ferrostack has no projects: any value is refused)"),
                    Param::new("vpcid", PType::Uuid, "the VPC network belongs to (ferrostack has no VPCs: any value is refused)"),
                ],
                create_ignored_params(),
            ]
            .concat(),
            shape: Shape::Object("network"),
            response: NETWORK_FIELDS,
            job: None,
            handler: |c, a| Box::pin(network_create(c, a)),
        },
        Command {
            name: "listNetworks",
            description: "Lists all available networks.",
            is_async: false,
            since: None,
            access: Access::All,
            params: [
                list_params(),
                scope_params(),
                vec![
                    Param::new("id", PType::Uuid, "list networks by ID").related("listNetworks"),
                    Param::new("zoneid", PType::Uuid, "the zone ID of the network").related("listZones"),
                    Param::new("type", PType::String, "the type of the network. Supported values are: isolated, l2, shared and all"),
                    Param::new("traffictype", PType::String, "type of the traffic"),
                    Param::new("state", PType::String, "list networks by state"),
                    Param::new("physicalnetworkid", PType::Uuid, "list networks by physical network id").related("listPhysicalNetworks"),
                    Param::new("networkofferingid", PType::Uuid, "list networks by network offering ID").related("listNetworkOfferings"),
                    Param::new("name", PType::String, "list networks by name").since("4.15.0"),
                    Param::new("issystem", PType::Boolean, "true if network is system, false otherwise"),
                    Param::new("canusefordeploy", PType::Boolean, "list networks available for VM deployment"),
                    Param::new("forvpc", PType::Boolean, "the network belongs to VPC"),
                    crate::commands::tag::tags_param(),
                ],
            ]
            .concat(),
            shape: Shape::List("network"),
            response: NETWORK_FIELDS,
            job: None,
            handler: |c, a| Box::pin(network_list(c, a)),
        },
        Command {
            name: "updateNetwork",
            description: "Updates a network. Asynchronous in CloudStack; ferrostack applies the name, display text and network domain at once and answers with the network.",
            is_async: false,
            since: None,
            access: Access::All,
            params: vec![
                network_id("the ID of the network"),
                Param::new("name", PType::String, "the new name for the network"),
                Param::new("displaytext", PType::String, "the new display text for the network").len(4096),
                Param::new("networkdomain", PType::String, "network domain"),
                Param::new("networkofferingid", PType::Uuid, "network offering ID (changing a network's offering is not supported yet)").related("listNetworkOfferings"),
                Param::new("guestvmcidr", PType::String, "CIDR for guest VMs (changing it is not supported yet)"),
                Param::new("changecidr", PType::Boolean, "Force update even if CIDR type is different").only("false", "a network's CIDR does not change (guestvmcidr is refused)"),
                Param::new("displaynetwork", PType::Boolean, "an optional field, whether to the display the network to the end user or not").only("true", "every network is displayed to its owner"),
                Param::new("updateinsequence", PType::Boolean, "if true, we will update the routers one after the other").only("false", "there are no redundant routers to update one after the other"),
                Param::new("forced", PType::Boolean, "Setting this to true will cause a forced network update (accepted and ignored)"),
            ],
            shape: Shape::Object("network"),
            response: NETWORK_FIELDS,
            job: None,
            handler: |c, a| Box::pin(network_update(c, a)),
        },
        Command {
            name: "restartNetwork",
            description: "Restarts the network; includes 1) restarting network elements - virtual routers, DHCP servers 2) reapplying all public IPs 3) reapplying loadBalancing/portForwarding rules",
            is_async: true,
            since: None,
            access: Access::All,
            params: vec![
                network_id("The ID of the network to restart."),
                Param::new("cleanup", PType::Boolean, "If cleanup old network elements"),
                Param::new("makeredundant", PType::Boolean, "Turn the network into a network with redundant routers").only("false", "redundant routers are not supported").since("4.11.1"),
                Param::new("livepatch", PType::Boolean, "Live patches the router software before restarting it").only("false", "routers are reprogrammed or restarted, never live patched").since("4.17.0"),
            ],
            shape: Shape::Job(None),
            response: SUCCESS_FIELDS,
            job: Some(JobDecl::new(SagaKind::NetworkRestart, EventType::NetworkRestart, "org.apache.cloudstack.api.command.user.network.RestartNetworkCmd")),
            handler: |c, a| Box::pin(network_restart(c, a)),
        },
        Command {
            name: "deleteNetwork",
            description: "Deletes a network",
            is_async: true,
            since: None,
            access: Access::All,
            params: vec![
                network_id("the ID of the network"),
                Param::new("forced", PType::Boolean, "Force delete a network. Network will be marked as 'Destroy' even when commands to shutdown and cleanup to the backend fails."),
            ],
            shape: Shape::Job(None),
            response: SUCCESS_FIELDS,
            job: Some(JobDecl::new(SagaKind::NetworkDelete, EventType::NetworkDelete, "org.apache.cloudstack.api.command.user.network.DeleteNetworkCmd")),
            handler: |c, a| Box::pin(network_delete(c, a)),
        },
        Command {
            name: "createVlanIpRange",
            description: "Creates a VLAN IP range.",
            is_async: false,
            since: None,
            access: Access::Admin,
            params: vec![
                Param::new("zoneid", PType::Uuid, "the Zone ID of the VLAN IP range").related("listZones"),
                Param::new("networkid", PType::Uuid, "the network id").related("listNetworks"),
                Param::new("physicalnetworkid", PType::Uuid, "the physical network id").related("listPhysicalNetworks"),
                Param::new("podid", PType::Uuid, "optional parameter. Have to be specified for Direct Untagged vlan only (validated, otherwise unused: Advanced zones have zone-wide ranges).").related("listPods"),
                Param::new("vlan", PType::String, "the ID or VID of the VLAN. If not specified, will be defaulted to the vlan of the network or if vlan of the network is null - to Untagged"),
                Param::new("gateway", PType::String, "the gateway of the VLAN IP range"),
                Param::new("netmask", PType::String, "the netmask of the VLAN IP range"),
                Param::new("startip", PType::String, "the beginning IP address in the VLAN IP range"),
                Param::new("endip", PType::String, "the ending IP address in the VLAN IP range"),
                Param::new("forvirtualnetwork", PType::Boolean, "true if VLAN is of Virtual type, false if Direct; defaults to true without networkid"),
                Param::new("account", PType::String, "account who will own the VLAN. If VLAN is Zone wide, this parameter should be omitted (dedicating ranges is not supported yet)"),
                Param::new("domainid", PType::Uuid, "domain ID of the account owning a VLAN (dedicating ranges is not supported yet)").related("listDomains"),
                Param::new("projectid", PType::Uuid, "project who will own the VLAN (ferrostack has no projects: any value is refused)"),
                Param::new("forsystemvms", PType::Boolean, "true if IP range is set to system vms, false if not (ranges for system VMs are not supported)"),
            ],
            shape: Shape::Object("vlan"),
            response: VLAN_RANGE_FIELDS,
            job: None,
            handler: |c, a| Box::pin(range_create(c, a)),
        },
        Command {
            name: "listVlanIpRanges",
            description: "Lists all VLAN IP ranges.",
            is_async: false,
            since: None,
            access: Access::Admin,
            params: [
                list_params(),
                vec![
                    Param::new("id", PType::Uuid, "the ID of the VLAN IP range").related("listVlanIpRanges"),
                    Param::new("zoneid", PType::Uuid, "the Zone ID of the VLAN IP range").related("listZones"),
                    Param::new("networkid", PType::Uuid, "network id of the VLAN IP range").related("listNetworks"),
                    Param::new("physicalnetworkid", PType::Uuid, "physical network id of the VLAN IP range").related("listPhysicalNetworks"),
                    Param::new("vlan", PType::String, "the ID or VID of the VLAN. Default is an \"untagged\" VLAN."),
                    Param::new("forvirtualnetwork", PType::Boolean, "true if VLAN is of Virtual type, false if Direct"),
                ],
            ]
            .concat(),
            shape: Shape::List("vlaniprange"),
            response: VLAN_RANGE_FIELDS,
            job: None,
            handler: |c, a| Box::pin(range_list(c, a)),
        },
        Command {
            name: "deleteVlanIpRange",
            description: "Deletes a VLAN IP range.",
            is_async: false,
            since: None,
            access: Access::Admin,
            params: vec![Param::new("id", PType::Uuid, "the id of the VLAN IP range").required().related("listVlanIpRanges")],
            shape: Shape::Success,
            response: SUCCESS_FIELDS,
            job: None,
            handler: |c, a| Box::pin(range_delete(c, a)),
        },
        Command {
            name: "listPublicIpAddresses",
            description: "Lists all public IP addresses",
            is_async: false,
            since: None,
            access: Access::All,
            params: [
                list_params(),
                scope_params(),
                vec![
                    Param::new("id", PType::Uuid, "lists IP address by ID").related("listPublicIpAddresses"),
                    Param::new("zoneid", PType::Uuid, "lists all public IP addresses by zone ID").related("listZones"),
                    Param::new("associatednetworkid", PType::Uuid, "lists all public IP addresses associated to the network specified").related("listNetworks"),
                    Param::new("ipaddress", PType::String, "lists the specified IP address"),
                    Param::new("allocatedonly", PType::Boolean, "limits search results to allocated public IP addresses"),
                    Param::new("state", PType::String, "lists all public IP addresses by state"),
                    Param::new("issourcenat", PType::Boolean, "list only source NAT IP addresses"),
                    Param::new("isstaticnat", PType::Boolean, "list only static NAT IP addresses"),
                    Param::new("forvirtualnetwork", PType::Boolean, "the virtual network for the IP address"),
                    Param::new("forloadbalancing", PType::Boolean, "list only IPs used for load balancing"),
                    crate::commands::tag::tags_param(),
                ],
            ]
            .concat(),
            shape: Shape::List("publicipaddress"),
            response: PUBLIC_IP_FIELDS,
            job: None,
            handler: |c, a| Box::pin(public_ip_list(c, a)),
        },
        rule_list(
            "listFirewallRules",
            "Lists all firewall rules for an IP address. Firewall rules are not implemented yet: the answer is always empty.",
            "firewallrule",
            true,
            vec![
                ip_address_id("the ID of IP address of the firewall services"),
                rule_network_id("list firewall rules for certain network").since("4.3"),
            ],
        ),
        rule_list(
            "listEgressFirewallRules",
            "Lists all egress firewall rules for network ID. Egress firewall rules are not implemented yet: the answer is always empty.",
            "firewallrule",
            true,
            vec![
                rule_network_id("the network ID for the egress firewall services"),
                ip_address_id("the ID of IP address of the firewall services"),
            ],
        ),
        rule_list(
            "listPortForwardingRules",
            "Lists all port forwarding rules for an IP address. Port forwarding is not implemented yet: the answer is always empty.",
            "portforwardingrule",
            true,
            vec![
                ip_address_id("the ID of IP address of the port forwarding services"),
                rule_network_id("list port forwarding rules for certain network").since("4.3"),
            ],
        ),
        rule_list(
            "listLoadBalancerRules",
            "Lists load balancer rules. Load balancing is not implemented yet: the answer is always empty.",
            "loadbalancerrule",
            true,
            vec![
                Param::new("name", PType::String, "the name of the load balancer rule"),
                Param::new("publicipid", PType::Uuid, "the public IP address ID of the load balancer rule").related("listPublicIpAddresses"),
                Param::new("virtualmachineid", PType::Uuid, "the ID of the virtual machine of the load balancer rule"),
                Param::new("zoneid", PType::Uuid, "the availability zone ID").related("listZones"),
                rule_network_id("list by network ID the rule belongs to"),
            ],
        ),
        rule_list(
            "listIpForwardingRules",
            "List the IP forwarding rules. Static NAT is not implemented yet: the answer is always empty.",
            "ipforwardingrule",
            false,
            vec![
                ip_address_id("list the rule belonging to this public IP address"),
                Param::new("virtualmachineid", PType::Uuid, "Lists all rules applied to the specified VM."),
            ],
        ),
    ]
}

/// Refuse parameters naming things ferrostack does not have (projects, VPCs).
fn refuse_absent(a: &Args, names: &[&str]) -> Result<(), Error> {
    for n in names {
        if let Some(v) = a.str(n) {
            if v != "-1" {
                return Err(Error::unknown_entity(*n, v));
            }
        }
    }
    Ok(())
}

/// Network views for a page of rows, with their service maps read in one query.
async fn network_items(c: &Ctx, rows: &[Network]) -> Result<Vec<serde_json::Value>, Error> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = rows.iter().map(|n| n.id).collect();
    let services = c.app.network_services_page(&ids).await?;
    let tags = c.app.tags_page(ResourceType::Network, &ids).await?;
    let full = c.caller.is_root_admin();
    Ok(rows
        .iter()
        .map(|n| {
            let svc = services.get(&n.id).map(Vec::as_slice).unwrap_or(&[]);
            v::network(n, svc, tags_of(&tags, n.id), full)
        })
        .collect())
}

async fn network_object(c: &Ctx, n: &Network) -> Result<Reply, Error> {
    let mut items = network_items(c, std::slice::from_ref(n)).await?;
    let value = items.pop().ok_or_else(|| Error::internal("network view missing"))?;
    Ok(Reply::object("network", value))
}

async fn network_create(c: &Ctx, a: Args) -> Result<Reply, Error> {
    refuse_absent(&a, &["projectid", "vpcid"])?;
    let n = c
        .app
        .network_create(
            &c.caller,
            NetworkCreate {
                name: a.req("name")?,
                display_text: a.str("displaytext"),
                zone_uuid: a.req_uuid("zoneid")?,
                offering_uuid: a.req_uuid("networkofferingid")?,
                vlan: a.str("vlan"),
                gateway: a.str("gateway"),
                netmask: a.str("netmask"),
                start_ip: a.str("startip"),
                end_ip: a.str("endip"),
                account: a.str("account"),
                domain_uuid: a.uuid("domainid"),
                acl_type: a.str("acltype"),
                network_domain: a.str("networkdomain"),
                physnet_uuid: a.uuid("physicalnetworkid"),
            },
        )
        .await?;
    network_object(c, &n).await
}

async fn network_list(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let page = a.page()?;
    let mut f = NetworkFilter {
        guest_type: a.str("type").filter(|t| !t.eq_ignore_ascii_case("all")),
        state: a
            .str("state")
            .map(|s| ferrostack_types::state::NetworkState::parse_param("state", &s))
            .transpose()?,
        name: a.str("name"),
        keyword: a.str("keyword"),
        tags: crate::commands::tag::tag_filters(&a)?,
        ..Default::default()
    };
    if let Some(u) = a.uuid("networkofferingid") {
        f.offering_id = Some(c.app.netoffering_id_find("networkofferingid", &u).await?);
    }
    if let Some(u) = a.uuid("physicalnetworkid") {
        f.physical_network_id = Some(c.app.physnet_id_find("physicalnetworkid", &u).await?);
    }
    // Every ferrostack network is a non-system, non-VPC guest network usable for deployment.
    let impossible = a.opt_bool("issystem") == Some(true)
        || a.opt_bool("canusefordeploy") == Some(false)
        || a.opt_bool("forvpc") == Some(true)
        || a.str("traffictype").is_some_and(|t| !t.eq_ignore_ascii_case("guest"));
    let (total, rows) = c
        .app
        .network_list(
            &c.caller,
            &a.scope(),
            f,
            a.uuid("zoneid").as_deref(),
            a.uuid("id").as_deref(),
            page,
        )
        .await?;
    if impossible {
        return Ok(Reply::list("network", 0, Vec::new()));
    }
    Ok(Reply::list("network", total, network_items(c, &rows).await?))
}

async fn network_update(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let id = a.req_uuid("id")?;
    if let Some(o) = a.uuid("networkofferingid") {
        let current = c.app.network_find(&c.caller, "id", &id).await?;
        if current.offering_uuid.as_deref() != Some(o.as_str()) {
            return Err(Error::unsupported(
                "Changing a network's offering is not supported yet; create a new network with the offering instead",
            ));
        }
    }
    if a.str("guestvmcidr").is_some() {
        return Err(Error::unsupported(
            "Changing a network's guest VM CIDR is not supported yet; create a new network with the CIDR instead",
        ));
    }
    let n = c
        .app
        .network_update(
            &c.caller,
            &id,
            a.str("name"),
            a.str("displaytext"),
            a.str("networkdomain"),
        )
        .await?;
    network_object(c, &n).await
}

async fn network_restart(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let s = c
        .app
        .network_restart(&c.caller, &a.req_uuid("id")?, a.bool("cleanup"), c.job_meta()?)
        .await?;
    Ok(Reply::Job {
        job_id: s.job_uuid,
        id: None,
    })
}

async fn network_delete(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let s = c
        .app
        .network_delete(&c.caller, &a.req_uuid("id")?, a.bool("forced"), c.job_meta()?)
        .await?;
    Ok(Reply::Job {
        job_id: s.job_uuid,
        id: None,
    })
}

async fn range_create(c: &Ctx, a: Args) -> Result<Reply, Error> {
    refuse_absent(&a, &["projectid"])?;
    if a.str("account").is_some() || a.uuid("domainid").is_some() {
        return Err(Error::unsupported(
            "Dedicating an IP range to an account or domain is not supported yet; create the range without account and domainid",
        ));
    }
    if a.bool("forsystemvms") {
        return Err(Error::unsupported(
            "IP ranges for system VMs are not supported; create the range without forsystemvms",
        ));
    }
    if let Some(p) = a.uuid("podid") {
        c.app.pod_id_find("podid", &p).await?;
    }
    let network = a.uuid("networkid");
    let r = c
        .app
        .range_create(
            &c.caller,
            RangeCreate {
                zone_uuid: a.uuid("zoneid"),
                for_virtual_network: a.opt_bool("forvirtualnetwork").unwrap_or(network.is_none()),
                network_uuid: network,
                physnet_uuid: a.uuid("physicalnetworkid"),
                vlan: a.str("vlan"),
                gateway: a.req("gateway")?,
                netmask: a.req("netmask")?,
                start_ip: a.req("startip")?,
                end_ip: a.str("endip"),
            },
        )
        .await?;
    Ok(Reply::object("vlan", v::vlan_range(&r)))
}

async fn range_list(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let page = a.page()?;
    let mut f = RangeFilter {
        for_virtual_network: a.opt_bool("forvirtualnetwork"),
        vlan: a.str("vlan").map(|v| broadcast_uri(&v)).transpose()?,
        ..Default::default()
    };
    if let Some(u) = a.uuid("id") {
        f.id = Some(c.app.range_id_find("id", &u).await?);
    }
    if let Some(u) = a.uuid("physicalnetworkid") {
        f.physical_network_id = Some(c.app.physnet_id_find("physicalnetworkid", &u).await?);
    }
    let (total, rows) = c
        .app
        .range_list(f, a.uuid("zoneid").as_deref(), a.uuid("networkid").as_deref(), page)
        .await?;
    Ok(Reply::list("vlaniprange", total, items(&rows, v::vlan_range)))
}

async fn range_delete(c: &Ctx, a: Args) -> Result<Reply, Error> {
    c.app.range_delete(&c.caller, &a.req_uuid("id")?).await?;
    Ok(Reply::Success)
}

/// A public address the caller may see, by uuid.
///
/// There is no lookup by uuid below the api layer yet, so this scans the addresses visible to
/// the caller; replace it with an app lookup (`public_ip_get_for`) once one exists.
async fn public_ip_for(c: &Ctx, param: &str, uuid: &str) -> Result<PublicIp, Error> {
    let scope = ListScope {
        list_all: true,
        ..Default::default()
    };
    let (_, rows) = c
        .app
        .public_ip_list(&c.caller, &scope, PublicIpFilter::default(), None, None, Page::ALL)
        .await?;
    rows.into_iter()
        .find(|i| i.uuid == uuid)
        .ok_or_else(|| Error::unknown_entity(param, uuid))
}

async fn public_ip_list(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let page = a.page()?;
    let mut f = PublicIpFilter {
        address: a.str("ipaddress"),
        allocated_only: a.bool("allocatedonly"),
        source_nat: a.opt_bool("issourcenat"),
        tags: crate::commands::tag::tag_filters(&a)?,
        ..Default::default()
    };
    match a.str("state") {
        Some(s) if s.eq_ignore_ascii_case("free") => f.free_only = true,
        Some(s) if s.eq_ignore_ascii_case("allocated") => f.allocated_only = true,
        Some(s) => {
            return Err(Error::invalid(format!(
                "Invalid state {s}; public IP addresses are Free or Allocated"
            )))
        }
        None => {}
    }
    if let Some(u) = a.uuid("id") {
        f.id = Some(public_ip_for(c, "id", &u).await?.id);
    }
    // Every public address is for virtual networks; none is static NAT or load balancing yet.
    let impossible = a.opt_bool("forvirtualnetwork") == Some(false)
        || a.opt_bool("isstaticnat") == Some(true)
        || a.opt_bool("forloadbalancing") == Some(true);
    let (total, rows) = c
        .app
        .public_ip_list(
            &c.caller,
            &a.scope(),
            f,
            a.uuid("zoneid").as_deref(),
            a.uuid("associatednetworkid").as_deref(),
            page,
        )
        .await?;
    if impossible {
        return Ok(Reply::list("publicipaddress", 0, Vec::new()));
    }
    let full = c.caller.is_root_admin();
    let ids: Vec<i64> = rows.iter().map(|i| i.id).collect();
    let tags = c.app.tags_page(ResourceType::PublicIpAddress, &ids).await?;
    Ok(Reply::list(
        "publicipaddress",
        total,
        rows.iter()
            .map(|i| v::public_ip(i, tags_of(&tags, i.id), full))
            .collect(),
    ))
}

/// The rule lists: check every id and the owner scope, then answer empty (no rules exist).
async fn rules_empty(c: &Ctx, a: Args) -> Result<Reply, Error> {
    a.page()?;
    refuse_absent(&a, &["projectid"])?;
    c.app.owner_scope_check(&c.caller, &a.scope()).await?;
    if let Some(n) = a.uuid("networkid") {
        c.app.network_find(&c.caller, "networkid", &n).await?;
    }
    if let Some(z) = a.uuid("zoneid") {
        c.app.zone_find("zoneid", &z).await?;
    }
    for p in ["ipaddressid", "publicipid"] {
        if let Some(u) = a.uuid(p) {
            public_ip_for(c, p, &u).await?;
        }
    }
    if let Some(id) = a.uuid("id") {
        return Err(Error::unknown_entity("id", id));
    }
    // An empty list answers `{}` whatever its key.
    Ok(Reply::list("rule", 0, Vec::new()))
}
