//! Zones, pods, clusters, hosts, configuration, alerts and capacity on the wire.

use ferrostack_app::config::ConfigValue;
use ferrostack_app::model::Alert;
use ferrostack_app::model::Host;
use ferrostack_app::model::{Cluster, Pod, Zone};
use ferrostack_types::time::format_ms;
use serde_json::{json, Map, Value};

use crate::registry::Field;

fn put(m: &mut Map<String, Value>, k: &str, v: &Option<String>) {
    if let Some(v) = v {
        m.insert(k.to_string(), json!(v));
    }
}

pub const ZONE_FIELDS: &[Field] = &[
    ("id", "string", "Zone id"),
    ("name", "string", "Zone name"),
    ("description", "string", "Zone description"),
    (
        "networktype",
        "string",
        "the network type of the zone; can be Basic or Advanced",
    ),
    ("type", "string", "The type of the zone; can be Core or Edge"),
    ("allocationstate", "string", "the allocation state of the cluster"),
    ("dns1", "string", "the first DNS for the Zone"),
    ("dns2", "string", "the second DNS for the Zone"),
    ("internaldns1", "string", "the first internal DNS for the Zone"),
    ("internaldns2", "string", "the second internal DNS for the Zone"),
    ("ip6dns1", "string", "the first IPv6 DNS for the Zone"),
    ("ip6dns2", "string", "the second IPv6 DNS for the Zone"),
    ("guestcidraddress", "string", "the guest CIDR address for the Zone"),
    ("domain", "string", "Network domain name for the networks in the zone"),
    (
        "domainid",
        "string",
        "the UUID of the containing domain, null for public zones",
    ),
    (
        "securitygroupsenabled",
        "boolean",
        "true if security groups support is enabled, false otherwise",
    ),
    (
        "localstorageenabled",
        "boolean",
        "true if local storage offering enabled, false otherwise",
    ),
    ("zonetoken", "string", "Zone Token"),
    ("dhcpprovider", "string", "the dhcp Provider for the Zone"),
    ("tags", "set", "the list of resource tags associated with zone."),
    ("hasannotations", "boolean", "whether this zone has annotations"),
];

pub fn zone(z: &Zone) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(z.uuid));
    m.insert("name".into(), json!(z.name));
    put(&mut m, "description", &z.description);
    m.insert("networktype".into(), json!(z.network_type));
    m.insert("type".into(), json!(z.zone_type));
    m.insert("allocationstate".into(), json!(z.allocation_state));
    m.insert("dns1".into(), json!(z.dns1));
    put(&mut m, "dns2", &z.dns2);
    m.insert("internaldns1".into(), json!(z.internal_dns1));
    put(&mut m, "internaldns2", &z.internal_dns2);
    put(&mut m, "ip6dns1", &z.ip6_dns1);
    put(&mut m, "ip6dns2", &z.ip6_dns2);
    put(&mut m, "guestcidraddress", &z.guest_cidr);
    put(&mut m, "domain", &z.network_domain);
    m.insert("securitygroupsenabled".into(), json!(z.security_group_enabled == 1));
    m.insert("localstorageenabled".into(), json!(z.local_storage_enabled == 1));
    m.insert("zonetoken".into(), json!(z.uuid));
    m.insert("dhcpprovider".into(), json!("VirtualRouter"));
    m.insert("tags".into(), json!([]));
    m.insert("hasannotations".into(), json!(false));
    Value::Object(m)
}

pub const POD_FIELDS: &[Field] = &[
    ("id", "string", "the ID of the Pod"),
    ("name", "string", "the name of the Pod"),
    ("zoneid", "string", "the Zone ID of the Pod"),
    ("zonename", "string", "the Zone name of the Pod"),
    ("gateway", "string", "the gateway of the Pod"),
    ("netmask", "string", "the netmask of the Pod"),
    ("startip", "list", "the starting IP for the Pod"),
    ("endip", "list", "the ending IP for the Pod"),
    ("ipranges", "list", "the IP ranges for the Pod"),
    ("allocationstate", "string", "the allocation state of the Pod"),
    ("hasannotations", "boolean", "whether this pod has annotations"),
];

pub fn pod(p: &Pod) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(p.uuid));
    m.insert("name".into(), json!(p.name));
    m.insert("zoneid".into(), json!(p.zone_uuid));
    m.insert("zonename".into(), json!(p.zone_name));
    put(&mut m, "gateway", &p.gateway);
    put(&mut m, "netmask", &p.netmask);
    let ranges: Vec<Value> = match (&p.start_ip, &p.gateway) {
        (Some(s), Some(g)) => vec![json!({
            "startip": s, "endip": p.end_ip.clone().unwrap_or_else(|| s.clone()), "gateway": g,
            "forsystemvms": "0", "vlanid": "",
        })],
        _ => vec![],
    };
    m.insert("startip".into(), json!(p.start_ip.iter().collect::<Vec<_>>()));
    m.insert("endip".into(), json!(p.end_ip.iter().collect::<Vec<_>>()));
    m.insert("ipranges".into(), Value::Array(ranges));
    m.insert("allocationstate".into(), json!(p.allocation_state));
    m.insert("hasannotations".into(), json!(false));
    Value::Object(m)
}

pub const CLUSTER_FIELDS: &[Field] = &[
    ("id", "string", "the cluster ID"),
    ("name", "string", "the cluster name"),
    ("podid", "string", "the Pod ID of the cluster"),
    ("podname", "string", "the Pod name of the cluster"),
    ("zoneid", "string", "the Zone ID of the cluster"),
    ("zonename", "string", "the Zone name of the cluster"),
    ("hypervisortype", "string", "the hypervisor type of the cluster"),
    ("clustertype", "string", "the type of the cluster"),
    ("allocationstate", "string", "the allocation state of the cluster"),
    (
        "managedstate",
        "string",
        "whether this cluster is managed by cloudstack",
    ),
    (
        "cpuovercommitratio",
        "string",
        "The cpu overcommit ratio of the cluster",
    ),
    (
        "memoryovercommitratio",
        "string",
        "The memory overcommit ratio of the cluster",
    ),
    ("arch", "string", "CPU Arch of the hosts in the cluster"),
    ("hasannotations", "boolean", "whether this cluster has annotations"),
];

pub fn cluster(c: &Cluster) -> Value {
    json!({
        "id": c.uuid, "name": c.name, "podid": c.pod_uuid, "podname": c.pod_name, "zoneid": c.zone_uuid,
        "zonename": c.zone_name, "hypervisortype": c.hypervisor, "clustertype": c.cluster_type,
        "allocationstate": c.allocation_state, "managedstate": c.managed_state, "cpuovercommitratio": "1.0",
        "memoryovercommitratio": "1.0", "arch": c.arch, "hasannotations": false,
    })
}

pub const HOST_FIELDS: &[Field] = &[
    ("id", "string", "the ID of the host"),
    ("name", "string", "the name of the host"),
    ("state", "status", "the state of the host"),
    ("type", "type", "the host type"),
    ("resourcestate", "string", "the resource state of the host"),
    ("hypervisor", "string", "the host hypervisor"),
    ("hypervisorversion", "string", "the hypervisor version"),
    ("zoneid", "string", "the Zone ID of the host"),
    ("zonename", "string", "the Zone name of the host"),
    ("podid", "string", "the Pod ID of the host"),
    ("podname", "string", "the Pod name of the host"),
    ("clusterid", "string", "the cluster ID of the host"),
    ("clustername", "string", "the cluster name of the host"),
    (
        "clustertype",
        "string",
        "the cluster type of the cluster that host belongs to",
    ),
    ("ipaddress", "string", "the IP address of the host"),
    ("cpusockets", "integer", "the number of CPU sockets on the host"),
    ("cpunumber", "integer", "the CPU number of the host"),
    ("cpuspeed", "long", "the CPU speed of the host"),
    (
        "cpuallocated",
        "string",
        "the amount of the host's CPU currently allocated",
    ),
    ("memorytotal", "long", "the memory total of the host"),
    (
        "memoryallocated",
        "long",
        "the amount of the host's memory currently allocated",
    ),
    (
        "localstoragetotal",
        "long",
        "the total local storage of the host (ferrostack)",
    ),
    (
        "islocalstorageactive",
        "boolean",
        "true if local storage is active, false otherwise",
    ),
    (
        "hahost",
        "boolean",
        "true if the host is Ha host (dedicated to vms started by HA process; false otherwise",
    ),
    ("hosttags", "string", "comma-separated list of tags for the host"),
    ("version", "string", "the host version"),
    ("created", "date", "the date and time the host was created"),
    ("lastpinged", "date", "the date and time the host was last pinged"),
    ("managementserverid", "string", "the management server ID of the host"),
    ("events", "string", "events available for the host"),
    ("capabilities", "string", "capabilities of the host"),
];

pub fn host(h: &Host) -> Value {
    let mut m = Map::new();
    let cpu_total = h.cpu_cores * h.cpu_speed;
    let pct = |used: i64, total: i64| {
        if total > 0 {
            format!("{:.2}%", used as f64 * 100.0 / total as f64)
        } else {
            "0%".into()
        }
    };
    m.insert("id".into(), json!(h.uuid));
    m.insert("name".into(), json!(h.name));
    m.insert("state".into(), json!(h.status));
    m.insert("type".into(), json!(h.host_type));
    m.insert("resourcestate".into(), json!(h.resource_state));
    m.insert("hypervisor".into(), json!(h.hypervisor));
    put(&mut m, "hypervisorversion", &h.hypervisor_version);
    m.insert("zoneid".into(), json!(h.zone_uuid));
    m.insert("zonename".into(), json!(h.zone_name));
    m.insert("podid".into(), json!(h.pod_uuid));
    m.insert("podname".into(), json!(h.pod_name));
    m.insert("clusterid".into(), json!(h.cluster_uuid));
    m.insert("clustername".into(), json!(h.cluster_name));
    m.insert("clustertype".into(), json!(h.cluster_type));
    put(&mut m, "ipaddress", &h.private_ip);
    m.insert("cpusockets".into(), json!(h.cpu_sockets));
    m.insert("cpunumber".into(), json!(h.cpu_cores));
    m.insert("cpuspeed".into(), json!(h.cpu_speed));
    m.insert("cpuallocated".into(), json!(pct(h.cpu_allocated, cpu_total)));
    m.insert("memorytotal".into(), json!(h.memory_total));
    m.insert("memoryallocated".into(), json!(h.memory_allocated));
    m.insert("localstoragetotal".into(), json!(h.local_storage_total));
    m.insert("islocalstorageactive".into(), json!(h.zone_type == "Edge"));
    m.insert("hahost".into(), json!(false));
    put(&mut m, "hosttags", &h.host_tags);
    put(&mut m, "version", &h.version);
    m.insert("created".into(), json!(format_ms(h.created)));
    if let Some(p) = h.last_pinged {
        m.insert("lastpinged".into(), json!(format_ms(p)));
    }
    put(&mut m, "managementserverid", &h.ms_id);
    m.insert(
        "events".into(),
        json!("AgentConnected; AgentDisconnected; HostDown; PingTimeout; Ping; ManagementServerDown"),
    );
    m.insert("capabilities".into(), json!("hvm"));
    Value::Object(m)
}

pub const CONFIG_FIELDS: &[Field] = &[
    ("name", "string", "the name of the configuration"),
    ("value", "string", "the value of the configuration"),
    ("defaultvalue", "string", "the default value of the configuration"),
    ("category", "string", "the category of the configuration"),
    ("description", "string", "the description of the configuration"),
    (
        "scope",
        "string",
        "scope(zone/cluster/pool/account) of the parameter that needs to be updated",
    ),
    ("id", "string", "the value of the configuration"),
    ("type", "string", "the type of the configuration value"),
    ("isdynamic", "boolean", "true if the configuration is dynamic"),
];

pub fn config(c: &ConfigValue) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), json!(c.setting.name));
    m.insert("value".into(), json!(c.value));
    m.insert("defaultvalue".into(), json!(c.setting.default));
    m.insert("category".into(), json!(c.setting.category));
    m.insert("description".into(), json!(c.setting.description));
    m.insert("scope".into(), json!(c.scope.as_str()));
    if let Some((id, _)) = &c.zone {
        m.insert("id".into(), json!(id));
    }
    m.insert("type".into(), json!(c.setting.kind.as_str()));
    m.insert("isdynamic".into(), json!(true));
    Value::Object(m)
}

pub const ALERT_FIELDS: &[Field] = &[
    ("id", "string", "the id of the alert"),
    ("type", "short", "One of the following alert types: MEMORY = 0, CPU = 1, STORAGE = 2, STORAGE_ALLOCATED = 3, PUBLIC_IP = 4, PRIVATE_IP = 5, SECONDARY_STORAGE = 6, HOST = 7, USERVM = 8, DOMAIN_ROUTER = 9, CONSOLE_PROXY = 10, ..."),
    ("name", "string", "the name of the alert"),
    ("description", "string", "description of the alert"),
    ("sent", "date", "the date and time the alert was sent"),
];

pub fn alert(a: &Alert) -> Value {
    json!({"id": a.uuid, "type": a.alert_type, "name": a.name, "description": a.subject, "sent": format_ms(a.created)})
}
