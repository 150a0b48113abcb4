//! Physical networks, traffic types, network service providers, virtual router elements and
//! network offerings on the wire (CloudStack's field names and JSON types).

use ferrostack_app::model::{PhysicalNetwork, ServiceProvider, TrafficType, VrElement};
use ferrostack_app::netoffering::OfferingDetail;
use ferrostack_app::physnet::can_enable_individual_services;
use ferrostack_types::time::format_ms;
use serde_json::{json, Map, Value};

use crate::registry::Field;

fn put(m: &mut Map<String, Value>, k: &str, v: &Option<String>) {
    if let Some(v) = v {
        m.insert(k.to_string(), json!(v));
    }
}

pub const PHYSNET_FIELDS: &[Field] = &[
    ("id", "string", "The UUID of the physical Network"),
    ("name", "string", "Name of the physical Network"),
    (
        "broadcastdomainrange",
        "string",
        "Broadcast domain range of the physical Network",
    ),
    ("zoneid", "string", "Zone ID of the physical Network"),
    ("zonename", "string", "Zone name of the physical Network"),
    ("state", "string", "State of the physical Network"),
    ("vlan", "string", "The VLAN of the physical Network"),
    ("domainid", "string", "The domain ID of the physical Network owner"),
    ("tags", "string", "Comma separated tag"),
    ("isolationmethods", "string", "Isolation methods"),
    ("networkspeed", "string", "The speed of the physical Network"),
];

pub fn physnet(p: &PhysicalNetwork) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(p.uuid));
    m.insert("name".into(), json!(p.name));
    m.insert("broadcastdomainrange".into(), json!(p.broadcast_domain_range));
    m.insert("zoneid".into(), json!(p.zone_uuid));
    m.insert("zonename".into(), json!(p.zone_name));
    m.insert("state".into(), json!(p.state));
    put(&mut m, "vlan", &p.vlan);
    put(&mut m, "domainid", &p.domain_uuid);
    put(&mut m, "tags", &p.tags);
    m.insert("isolationmethods".into(), json!(p.isolation_methods));
    put(&mut m, "networkspeed", &p.network_speed);
    Value::Object(m)
}

pub const TRAFFIC_FIELDS: &[Field] = &[
    ("id", "string", "ID of the Network provider"),
    (
        "traffictype",
        "string",
        "The trafficType to be added to the physical Network",
    ),
    ("physicalnetworkid", "string", "The physical Network this belongs to"),
    (
        "xennetworklabel",
        "string",
        "The Network name label of the physical device dedicated to this traffic on a XenServer host",
    ),
    (
        "kvmnetworklabel",
        "string",
        "The Network name label of the physical device dedicated to this traffic on a KVM host",
    ),
    (
        "vmwarenetworklabel",
        "string",
        "The Network name label of the physical device dedicated to this traffic on a VMware host",
    ),
    (
        "hypervnetworklabel",
        "string",
        "The Network name label of the physical device dedicated to this traffic on a HyperV host",
    ),
    (
        "ovm3networklabel",
        "string",
        "The Network name label of the physical device dedicated to this traffic on an OVM3 host",
    ),
    (
        "simulatorlabel",
        "string",
        "The Network name label of this traffic on a Simulator host (ferrostack)",
    ),
    (
        "vlan",
        "string",
        "The VLAN id to be used for Management traffic by VMware host",
    ),
    (
        "isolationmethods",
        "string",
        "isolation methods for the physical network traffic",
    ),
];

pub fn traffic(t: &TrafficType) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(t.uuid));
    m.insert("traffictype".into(), json!(t.traffic_type));
    m.insert("physicalnetworkid".into(), json!(t.physical_network_uuid));
    put(&mut m, "xennetworklabel", &t.xen_label);
    put(&mut m, "kvmnetworklabel", &t.kvm_label);
    put(&mut m, "vmwarenetworklabel", &t.vmware_label);
    put(&mut m, "hypervnetworklabel", &t.hyperv_label);
    put(&mut m, "ovm3networklabel", &t.ovm3_label);
    put(&mut m, "simulatorlabel", &t.simulator_label);
    put(&mut m, "vlan", &t.vlan);
    put(&mut m, "isolationmethods", &t.isolation_method);
    Value::Object(m)
}

pub const NSP_FIELDS: &[Field] = &[
    ("id", "string", "UUID of the Network provider"),
    ("name", "string", "The provider name"),
    ("physicalnetworkid", "string", "The physical Network this belongs to"),
    (
        "destinationphysicalnetworkid",
        "string",
        "The destination physical Network",
    ),
    ("state", "string", "State of the Network provider"),
    ("servicelist", "list", "Services for this provider"),
    (
        "canenableindividualservice",
        "boolean",
        "True if individual services can be enabled/disabled",
    ),
];

pub fn nsp(n: &ServiceProvider) -> Value {
    let services: Vec<&str> = n.services.split(',').filter(|s| !s.is_empty()).collect();
    json!({
        "id": n.uuid,
        "name": n.provider,
        "physicalnetworkid": n.physical_network_uuid,
        "destinationphysicalnetworkid": n.dest_physical_network_uuid.clone().unwrap_or_else(|| "0".into()),
        "state": n.state,
        "servicelist": services,
        "canenableindividualservice": can_enable_individual_services(&n.provider),
    })
}

pub const VR_FIELDS: &[Field] = &[
    ("id", "string", "The id of the router"),
    (
        "nspid",
        "string",
        "The physical Network service provider id of the provider",
    ),
    ("enabled", "boolean", "Enabled/Disabled the service provider"),
    ("account", "string", "The Account associated with the provider"),
    ("domainid", "string", "The domain ID associated with the provider"),
    ("domain", "string", "The domain associated with the provider"),
    (
        "domainpath",
        "string",
        "path of the domain to which the provider belongs",
    ),
];

pub fn vr_element(e: &VrElement) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(e.uuid));
    m.insert("nspid".into(), json!(e.nsp_uuid));
    m.insert("enabled".into(), json!(e.enabled == 1));
    m.insert("account".into(), json!("system"));
    put(&mut m, "domainid", &e.domain_uuid);
    m.insert("domain".into(), json!("ROOT"));
    m.insert("domainpath".into(), json!("ROOT"));
    Value::Object(m)
}

pub const NETWORK_OFFERING_FIELDS: &[Field] = &[
    ("id", "string", "the id of the network offering"),
    ("name", "string", "the name of the network offering"),
    ("displaytext", "string", "an alternate display text of the network offering."),
    ("tags", "string", "the tags for the network offering"),
    ("created", "date", "the date this network offering was created"),
    (
        "traffictype",
        "string",
        "the traffic type for the network offering, supported types are Public, Management, Control, Guest, Vlan or Storage.",
    ),
    ("isdefault", "boolean", "true if network offering is default, false otherwise"),
    ("specifyvlan", "boolean", "true if network offering supports vlans, false otherwise"),
    ("conservemode", "boolean", "true if network offering is ip conserve mode enabled"),
    (
        "specifyipranges",
        "boolean",
        "true if network offering supports specifying ip ranges, false otherwise",
    ),
    ("availability", "string", "availability of the network offering"),
    ("networkrate", "integer", "data transfer rate in megabits per second allowed."),
    ("state", "string", "state of the network offering. Can be Disabled/Enabled/Inactive"),
    ("guestiptype", "string", "guest type of the network offering, can be Shared or Isolated"),
    ("service", "list", "the list of supported services"),
    ("forvpc", "boolean", "true if network offering can be used by VPC networks only"),
    ("fornsx", "boolean", "true if network offering can be used by NSX networks only"),
    (
        "fortungsten",
        "boolean",
        "true if network offering can be used by Tungsten-Fabric networks only",
    ),
    (
        "ispersistent",
        "boolean",
        "true if network offering supports persistent networks, false otherwise",
    ),
    ("details", "map", "additional key/value details tied with network offering"),
    (
        "egressdefaultpolicy",
        "boolean",
        "true if guest network default egress policy is allow; false if default egress policy is deny",
    ),
    (
        "supportsstrechedl2subnet",
        "boolean",
        "true if network offering supports network that span multiple zones",
    ),
    (
        "supportspublicaccess",
        "boolean",
        "true if network offering supports public access for guest networks",
    ),
    ("supportsinternallb", "boolean", "true if network offering supports internal load balancing"),
    ("domainid", "string", "the domain ID(s) this network offering belongs to."),
    ("domain", "string", "the domain name(s) this network offering belongs to."),
    ("zoneid", "string", "the zone ID(s) this network offering belongs to."),
    ("zone", "string", "the zone name(s) this network offering belongs to."),
    ("internetprotocol", "string", "the internet protocol of the network offering"),
    ("hasannotations", "boolean", "whether this network offering has annotations"),
];

/// CloudStack's `network.throttling.rate` default, answered when an offering sets no rate.
const DEFAULT_NETWORK_RATE: i64 = 200;

fn capability(name: &str, value: impl Into<String>) -> Value {
    json!({"name": name, "value": value.into(), "canchooseservicecapability": false})
}

pub fn network_offering(d: &OfferingDetail) -> Value {
    let o = &d.offering;
    let tf = |b: i64| if b == 1 { "true" } else { "false" };
    let services: Vec<Value> = d
        .services
        .iter()
        .map(|(s, providers)| {
            let caps = match s.as_str() {
                "SourceNat" => vec![
                    capability(
                        "SupportedSourceNatTypes",
                        o.source_nat_type.clone().unwrap_or_else(|| "peraccount".into()),
                    ),
                    capability("RedundantRouter", tf(o.redundant_router)),
                ],
                "Lb" => vec![
                    capability("SupportedLBIsolation", o.lb_isolation.clone()),
                    capability("ElasticLb", tf(o.elastic_lb)),
                    capability("LbSchemes", if o.internal_lb == 1 { "Internal" } else { "Public" }),
                ],
                "StaticNat" => vec![
                    capability("ElasticIp", tf(o.elastic_ip)),
                    capability("AssociatePublicIP", tf(o.associate_public_ip)),
                ],
                _ => vec![],
            };
            let providers: Vec<Value> = providers.iter().map(|p| json!({"name": p})).collect();
            json!({"name": s, "provider": providers, "capability": caps})
        })
        .collect();
    let join = |v: Vec<&str>| v.join(",");
    let mut m = Map::new();
    m.insert("id".into(), json!(o.uuid));
    m.insert("name".into(), json!(o.name));
    m.insert("displaytext".into(), json!(o.display_text));
    put(&mut m, "tags", &o.tags);
    m.insert("created".into(), json!(format_ms(o.created)));
    m.insert("traffictype".into(), json!(o.traffic_type));
    m.insert("isdefault".into(), json!(o.is_default == 1));
    m.insert("specifyvlan".into(), json!(o.specify_vlan == 1));
    m.insert("conservemode".into(), json!(o.conserve_mode == 1));
    m.insert("specifyipranges".into(), json!(o.specify_ip_ranges == 1));
    m.insert("availability".into(), json!(o.availability));
    m.insert(
        "networkrate".into(),
        json!(o.network_rate.unwrap_or(DEFAULT_NETWORK_RATE)),
    );
    m.insert("state".into(), json!(o.state));
    if !o.guest_type.is_empty() {
        m.insert("guestiptype".into(), json!(o.guest_type));
    }
    m.insert("service".into(), Value::Array(services));
    m.insert("forvpc".into(), json!(o.for_vpc == 1));
    m.insert("fornsx".into(), json!(false));
    m.insert("fortungsten".into(), json!(false));
    m.insert("ispersistent".into(), json!(o.is_persistent == 1));
    m.insert("details".into(), json!({}));
    m.insert("egressdefaultpolicy".into(), json!(o.egress_default_policy == 1));
    m.insert("supportsstrechedl2subnet".into(), json!(false));
    m.insert("supportspublicaccess".into(), json!(false));
    m.insert("supportsinternallb".into(), json!(o.internal_lb == 1));
    if !d.domains.is_empty() {
        m.insert(
            "domainid".into(),
            json!(join(d.domains.iter().map(|x| x.uuid.as_str()).collect())),
        );
        m.insert(
            "domain".into(),
            json!(join(d.domains.iter().map(|x| x.name.as_str()).collect())),
        );
    }
    if !d.zones.is_empty() {
        m.insert(
            "zoneid".into(),
            json!(join(d.zones.iter().map(|x| x.uuid.as_str()).collect())),
        );
        m.insert(
            "zone".into(),
            json!(join(d.zones.iter().map(|x| x.name.as_str()).collect())),
        );
    }
    m.insert("internetprotocol".into(), json!("IPv4"));
    m.insert("hasannotations".into(), json!(false));
    Value::Object(m)
}
