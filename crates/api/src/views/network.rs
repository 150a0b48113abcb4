//! Guest networks, VLAN IP ranges and public IP addresses on the wire (CloudStack's
//! `NetworkResponse`, `VlanIpRangeResponse` and `IPAddressResponse`).

use std::net::Ipv4Addr;

use ferrostack_app::model::{IpRange, Network, PublicIp};
use ferrostack_types::time::format_ms;
use serde_json::{json, Map, Value};

use crate::registry::Field;

fn put(m: &mut Map<String, Value>, k: &str, v: &Option<String>) {
    if let Some(v) = v {
        m.insert(k.to_string(), json!(v));
    }
}

pub const NETWORK_FIELDS: &[Field] = &[
    ("id", "string", "the id of the network"),
    ("name", "string", "the name of the network"),
    ("displaytext", "string", "the displaytext of the network"),
    ("zoneid", "string", "zone id of the network"),
    ("zonename", "string", "the name of the zone the network belongs to"),
    (
        "networkofferingid",
        "string",
        "network offering id the network is created from",
    ),
    (
        "networkofferingname",
        "string",
        "name of the network offering the network is created from",
    ),
    (
        "networkofferingdisplaytext",
        "string",
        "display text of the network offering the network is created from",
    ),
    ("type", "string", "the type of the network"),
    ("traffictype", "string", "the traffic type of the network"),
    ("state", "string", "state of the network"),
    ("broadcastdomaintype", "string", "Broadcast domain type of the network"),
    (
        "broadcasturi",
        "string",
        "broadcast uri of the network. This parameter is visible to ROOT admins only",
    ),
    (
        "vlan",
        "string",
        "The vlan of the network. This parameter is visible to ROOT admins only",
    ),
    (
        "cidr",
        "string",
        "Cloudstack managed address space, all CloudStack managed VMs get IP address from CIDR",
    ),
    ("gateway", "string", "the network's gateway"),
    ("netmask", "string", "the network's netmask"),
    ("networkdomain", "string", "the network domain"),
    ("dns1", "string", "the first IPv4 DNS for the network"),
    ("dns2", "string", "the second IPv4 DNS for the network"),
    ("acltype", "string", "acl type - access type to the network"),
    (
        "subdomainaccess",
        "boolean",
        "true if users from subdomains can access the domain level network",
    ),
    ("account", "string", "the owner of the network"),
    ("domainid", "string", "the domain id of the network owner"),
    ("domain", "string", "the domain name of the network owner"),
    ("physicalnetworkid", "string", "the physical network id"),
    ("related", "string", "related to what other network configuration"),
    ("restartrequired", "boolean", "true network requires restart"),
    (
        "specifyipranges",
        "boolean",
        "true if network supports specifying ip ranges, false otherwise",
    ),
    ("issystem", "boolean", "true if network is system, false otherwise"),
    ("isdefault", "boolean", "true if network is default, false otherwise"),
    (
        "canusefordeploy",
        "boolean",
        "list networks available for vm deployment",
    ),
    (
        "displaynetwork",
        "boolean",
        "an optional field, whether to the display the network to the end user or not.",
    ),
    (
        "redundantrouter",
        "boolean",
        "If the network has redundant routers enabled",
    ),
    ("service", "list", "the list of services"),
    ("tags", "list", "the list of resource tags associated with network"),
    ("hasannotations", "boolean", "whether this network has annotations"),
    ("created", "date", "the date this network was created"),
];

/// The VLAN tag of a broadcast URI (`vlan://100` → `100`).
fn vlan_tag(uri: &str) -> &str {
    uri.strip_prefix("vlan://").unwrap_or(uri)
}

/// A guest network. `services` is the network's own service→provider map; `full` is the
/// root-admin view (broadcast URI and VLAN are shown to root admins only, as in CloudStack).
pub fn network(n: &Network, services: &[(String, String)], tags: Value, full: bool) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(n.uuid));
    m.insert("name".into(), json!(n.name));
    m.insert("displaytext".into(), json!(n.display_text));
    m.insert("zoneid".into(), json!(n.zone_uuid));
    m.insert("zonename".into(), json!(n.zone_name));
    put(&mut m, "networkofferingid", &n.offering_uuid);
    put(&mut m, "networkofferingname", &n.offering_name);
    put(&mut m, "networkofferingdisplaytext", &n.offering_display_text);
    m.insert("type".into(), json!(n.guest_type));
    m.insert("traffictype".into(), json!(n.traffic_type));
    m.insert("state".into(), json!(n.state));
    let native = n
        .broadcast_uri
        .as_deref()
        .is_some_and(|u| vlan_tag(u).eq_ignore_ascii_case("untagged"));
    m.insert(
        "broadcastdomaintype".into(),
        json!(if native { "Native" } else { "Vlan" }),
    );
    if full {
        if let Some(uri) = &n.broadcast_uri {
            m.insert("broadcasturi".into(), json!(uri));
            m.insert("vlan".into(), json!(vlan_tag(uri)));
        }
    }
    put(&mut m, "cidr", &n.cidr);
    put(&mut m, "gateway", &n.gateway);
    put(&mut m, "netmask", &n.netmask);
    put(&mut m, "networkdomain", &n.network_domain);
    put(&mut m, "dns1", &n.dns1);
    put(&mut m, "dns2", &n.dns2);
    m.insert("acltype".into(), json!(n.acl_type));
    if n.acl_type == "Domain" {
        // Domain-wide networks show their domain, not an owning account.
        m.insert("subdomainaccess".into(), json!(true));
    } else {
        put(&mut m, "account", &n.account_name);
    }
    put(&mut m, "domainid", &n.domain_uuid);
    put(&mut m, "domain", &n.domain_name);
    put(&mut m, "physicalnetworkid", &n.physnet_uuid);
    m.insert("related".into(), json!(n.uuid));
    m.insert("restartrequired".into(), json!(n.restart_required == 1));
    // Shared networks take IP ranges (their offerings must specify IP ranges); others don't.
    m.insert("specifyipranges".into(), json!(n.guest_type == "Shared"));
    m.insert("issystem".into(), json!(false));
    m.insert("isdefault".into(), json!(false));
    m.insert("canusefordeploy".into(), json!(true));
    m.insert("displaynetwork".into(), json!(true));
    m.insert("redundantrouter".into(), json!(false));
    // CloudStack leaves Gateway out of a network's service list.
    let svc: Vec<Value> = services
        .iter()
        .filter(|(s, _)| s != "Gateway")
        .map(|(s, p)| json!({"name": s, "provider": [{"name": p}]}))
        .collect();
    m.insert("service".into(), Value::Array(svc));
    m.insert("tags".into(), tags);
    m.insert("hasannotations".into(), json!(false));
    m.insert("created".into(), json!(format_ms(n.created)));
    Value::Object(m)
}

pub const VLAN_RANGE_FIELDS: &[Field] = &[
    ("id", "string", "the ID of the VLAN IP range"),
    (
        "forvirtualnetwork",
        "boolean",
        "the virtual network for the VLAN IP range",
    ),
    ("zoneid", "string", "the Zone ID of the VLAN IP range"),
    ("vlan", "string", "the ID or VID of the VLAN."),
    ("description", "string", "the description of the VLAN IP range"),
    ("gateway", "string", "the gateway of the VLAN IP range"),
    ("netmask", "string", "the netmask of the VLAN IP range"),
    ("cidr", "string", "the CIDR of the VLAN IP range"),
    ("startip", "string", "the start ip of the VLAN IP range"),
    ("endip", "string", "the end ip of the VLAN IP range"),
    ("networkid", "string", "the network id of vlan range"),
    ("physicalnetworkid", "string", "the physical network this belongs to"),
    (
        "forsystemvms",
        "boolean",
        "indicates whether VLAN IP range is dedicated to system vms or not",
    ),
];

/// `a.b.c.d/len` of the subnet a gateway and netmask describe.
fn cidr_of(gateway: &str, netmask: &str) -> Option<String> {
    let gw: Ipv4Addr = gateway.parse().ok()?;
    let mask: Ipv4Addr = netmask.parse().ok()?;
    let net = Ipv4Addr::from(u32::from(gw) & u32::from(mask));
    Some(format!("{net}/{}", u32::from(mask).count_ones()))
}

pub fn vlan_range(r: &IpRange) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(r.uuid));
    m.insert("forvirtualnetwork".into(), json!(r.for_virtual_network == 1));
    m.insert("zoneid".into(), json!(r.zone_uuid));
    m.insert("vlan".into(), json!(r.vlan.as_deref().unwrap_or("vlan://untagged")));
    m.insert("description".into(), json!(format!("{}-{}", r.start_ip, r.end_ip)));
    m.insert("gateway".into(), json!(r.gateway));
    m.insert("netmask".into(), json!(r.netmask));
    put(&mut m, "cidr", &cidr_of(&r.gateway, &r.netmask));
    m.insert("startip".into(), json!(r.start_ip));
    m.insert("endip".into(), json!(r.end_ip));
    put(&mut m, "networkid", &r.network_uuid);
    put(&mut m, "physicalnetworkid", &r.physnet_uuid);
    m.insert("forsystemvms".into(), json!(false));
    Value::Object(m)
}

pub const PUBLIC_IP_FIELDS: &[Field] = &[
    ("id", "string", "public IP address id"),
    ("ipaddress", "string", "public IP address"),
    ("allocated", "date", "date the public IP address was acquired"),
    (
        "zoneid",
        "string",
        "the ID of the zone the public IP address belongs to",
    ),
    (
        "zonename",
        "string",
        "the name of the zone the public IP address belongs to",
    ),
    (
        "issourcenat",
        "boolean",
        "true if the IP address is a source nat address, false otherwise",
    ),
    (
        "isstaticnat",
        "boolean",
        "true if this ip is for static nat, false otherwise",
    ),
    (
        "issystem",
        "boolean",
        "true if this ip is system ip (was allocated as a part of deployVm or createLbRule)",
    ),
    (
        "account",
        "string",
        "the account the public IP address is associated with",
    ),
    (
        "domainid",
        "string",
        "the domain ID the public IP address is associated with",
    ),
    (
        "domain",
        "string",
        "the domain the public IP address is associated with",
    ),
    ("forvirtualnetwork", "boolean", "the virtual network for the IP address"),
    (
        "vlanid",
        "string",
        "the ID of the VLAN associated with the IP address. This parameter is visible to ROOT admins only",
    ),
    ("vlanname", "string", "the VLAN associated with the IP address"),
    (
        "associatednetworkid",
        "string",
        "the ID of the Network associated with the IP address",
    ),
    (
        "state",
        "string",
        "State of the ip address. Can be: Allocating, Allocated, Releasing and Free",
    ),
    ("isportable", "boolean", "is public IP portable across the zones"),
    ("fordisplay", "boolean", "is public ip for display to the regular user"),
    ("tags", "list", "the list of resource tags associated with ip address"),
];

/// A public address; `full` is the root-admin view (adds the range id).
pub fn public_ip(i: &PublicIp, tags: Value, full: bool) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(i.uuid));
    m.insert("ipaddress".into(), json!(i.address));
    if let Some(a) = i.allocated {
        m.insert("allocated".into(), json!(format_ms(a)));
    }
    m.insert("zoneid".into(), json!(i.zone_uuid));
    m.insert("zonename".into(), json!(i.zone_name));
    m.insert("issourcenat".into(), json!(i.source_nat == 1));
    m.insert("isstaticnat".into(), json!(false));
    m.insert("issystem".into(), json!(false));
    put(&mut m, "account", &i.account_name);
    put(&mut m, "domainid", &i.domain_uuid);
    put(&mut m, "domain", &i.domain_name);
    m.insert("forvirtualnetwork".into(), json!(true));
    if full {
        m.insert("vlanid".into(), json!(i.range_uuid));
    }
    m.insert("vlanname".into(), json!(i.vlan.as_deref().unwrap_or("vlan://untagged")));
    put(&mut m, "associatednetworkid", &i.network_uuid);
    m.insert("state".into(), json!(i.state));
    m.insert("isportable".into(), json!(false));
    m.insert("fordisplay".into(), json!(true));
    m.insert("tags".into(), tags);
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_and_vlan_tag() {
        assert_eq!(cidr_of("10.2.0.1", "255.255.252.0").as_deref(), Some("10.2.0.0/22"));
        assert_eq!(cidr_of("x", "255.0.0.0"), None);
        assert_eq!(vlan_tag("vlan://100"), "100");
        assert_eq!(vlan_tag("vlan://untagged"), "untagged");
    }
}
