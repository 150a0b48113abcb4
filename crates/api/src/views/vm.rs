//! Virtual machines, routers, NICs and volumes on the wire.

use ferrostack_app::model::display_path;
use ferrostack_app::model::{Nic, Vm, Volume};
use ferrostack_types::time::format_ms;
use serde_json::{json, Map, Value};

use crate::registry::Field;

pub const NIC_FIELDS: &[Field] = &[
    ("id", "string", "the ID of the nic"),
    ("networkid", "string", "the ID of the corresponding network"),
    ("networkname", "string", "the name of the corresponding network"),
    ("ipaddress", "string", "the ip address of the nic"),
    ("macaddress", "string", "true if nic is default, false otherwise"),
    ("netmask", "string", "the netmask of the nic"),
    ("gateway", "string", "the gateway of the nic"),
    ("isdefault", "boolean", "true if nic is default, false otherwise"),
    ("traffictype", "string", "the traffic type of the nic"),
    ("type", "string", "the type of the nic"),
    ("broadcasturi", "string", "the broadcast uri of the nic"),
    (
        "deviceid",
        "string",
        "device id for the network when plugged into the virtual machine",
    ),
    ("virtualmachineid", "string", "Id of the vm to which the nic belongs"),
];

pub fn nic(n: &Nic, vm_uuid: &str) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(n.uuid));
    if let Some(u) = &n.network_uuid {
        m.insert("networkid".into(), json!(u));
    }
    if let Some(u) = &n.network_name {
        m.insert("networkname".into(), json!(u));
    }
    for (k, v) in [
        ("ipaddress", &n.ip),
        ("netmask", &n.netmask),
        ("gateway", &n.gateway),
        ("broadcasturi", &n.broadcast_uri),
    ] {
        if let Some(v) = v {
            m.insert(k.into(), json!(v));
        }
    }
    m.insert("macaddress".into(), json!(n.mac));
    m.insert("isdefault".into(), json!(n.is_default == 1));
    m.insert("traffictype".into(), json!(n.traffic_type));
    if let Some(t) = &n.guest_type {
        m.insert("type".into(), json!(t));
    }
    m.insert("deviceid".into(), json!(n.device_id.to_string()));
    m.insert("virtualmachineid".into(), json!(vm_uuid));
    Value::Object(m)
}

pub const VM_FIELDS: &[Field] = &[
    ("id", "string", "the ID of the virtual machine"),
    ("name", "string", "the name of the virtual machine"),
    (
        "displayname",
        "string",
        "user generated name. The name of the virtual machine is returned if no displayname exists.",
    ),
    (
        "instancename",
        "string",
        "instance name of the user vm; this parameter is returned to the ROOT admin only",
    ),
    ("state", "string", "the state of the virtual machine"),
    (
        "zoneid",
        "string",
        "the ID of the availability zone for the virtual machine",
    ),
    (
        "zonename",
        "string",
        "the name of the availability zone for the virtual machine",
    ),
    ("hostid", "string", "the ID of the host for the virtual machine"),
    ("hostname", "string", "the name of the host for the virtual machine"),
    (
        "templateid",
        "string",
        "the ID of the template for the virtual machine.",
    ),
    (
        "templatename",
        "string",
        "the name of the template for the virtual machine",
    ),
    (
        "templatedisplaytext",
        "string",
        " an alternate display text of the template for the virtual machine",
    ),
    ("isoid", "string", "the ID of the ISO attached to the virtual machine"),
    (
        "isoname",
        "string",
        "the name of the ISO attached to the virtual machine",
    ),
    (
        "isodisplaytext",
        "string",
        "an alternate display text of the ISO attached to the virtual machine",
    ),
    (
        "passwordenabled",
        "boolean",
        "true if the password rest feature is enabled, false otherwise",
    ),
    (
        "serviceofferingid",
        "string",
        "the ID of the service offering of the virtual machine",
    ),
    (
        "serviceofferingname",
        "string",
        "the name of the service offering of the virtual machine",
    ),
    (
        "cpunumber",
        "integer",
        "the number of vCPUs this virtual machine is using",
    ),
    ("cpuspeed", "integer", "the speed of each vCPU"),
    ("memory", "integer", "the memory allocated for the virtual machine"),
    ("hypervisor", "string", "the hypervisor on which the template runs"),
    ("account", "string", "the account associated with the virtual machine"),
    (
        "domainid",
        "string",
        "the ID of the domain in which the virtual machine exists",
    ),
    (
        "domain",
        "string",
        "the name of the domain in which the virtual machine exists",
    ),
    (
        "domainpath",
        "string",
        "path of the domain in which the virtual machine exists",
    ),
    ("created", "date", "the date when this virtual machine was created"),
    (
        "haenable",
        "boolean",
        "true if high-availability is enabled, false otherwise",
    ),
    (
        "keypair",
        "string",
        "ssh key-pairs (before CloudStack 4.17; the same as keypairs)",
    ),
    ("keypairs", "string", "ssh key-pairs"),
    ("ostypeid", "string", "OS type id of the vm"),
    ("group", "string", "the group name of the virtual machine"),
    ("groupid", "string", "the group ID of the virtual machine"),
    ("userdataid", "string", "the id of userdata used for the VM"),
    ("rootdeviceid", "long", "device ID of the root volume"),
    ("rootdevicetype", "string", "device type of the root volume"),
    (
        "isdynamicallyscalable",
        "boolean",
        "true if vm contains XS/VMWare tools inorder to support dynamic scaling of VM cpu/memory.",
    ),
    ("nic", "set", "the list of nics associated with vm"),
    ("tags", "set", "the list of resource tags associated"),
    ("details", "map", "Vm details in key/value pairs."),
    (
        "securitygroup",
        "set",
        "list of security groups associated with the virtual machine",
    ),
    (
        "affinitygroup",
        "set",
        "list of affinity groups associated with the virtual machine",
    ),
];

fn common(m: &mut Map<String, Value>, v: &Vm, nics: &[&Nic], admin: bool) {
    m.insert("id".into(), json!(v.uuid));
    m.insert("name".into(), json!(v.name));
    m.insert("state".into(), json!(v.state));
    m.insert("zoneid".into(), json!(v.zone_uuid));
    m.insert("zonename".into(), json!(v.zone_name));
    if admin {
        m.insert("instancename".into(), json!(v.instance_name));
        if let (Some(id), Some(name)) = (&v.host_uuid, &v.host_name) {
            m.insert("hostid".into(), json!(id));
            m.insert("hostname".into(), json!(name));
        }
    }
    for (k, val) in [
        ("templateid", &v.template_uuid),
        ("templatename", &v.template_name),
        ("templatedisplaytext", &v.template_display_text),
        ("isoid", &v.iso_uuid),
        ("isoname", &v.iso_name),
        ("isodisplaytext", &v.iso_display_text),
        ("serviceofferingid", &v.offering_uuid),
        ("serviceofferingname", &v.offering_name),
        ("account", &v.account_name),
        ("domainid", &v.domain_uuid),
        ("domain", &v.domain_name),
    ] {
        if let Some(x) = val {
            m.insert(k.into(), json!(x));
        }
    }
    if let Some(p) = &v.domain_path {
        m.insert("domainpath".into(), json!(display_path(p)));
    }
    // The hypervisor its template is for, which is the only kind of host it is placed on.
    if let Some(h) = &v.template_hypervisor {
        m.insert("hypervisor".into(), json!(h));
    }
    m.insert("created".into(), json!(format_ms(v.created)));
    m.insert(
        "nic".into(),
        Value::Array(nics.iter().map(|n| nic(n, &v.uuid)).collect()),
    );
}

/// A user VM with its `tags` array and (when it has any) its `details` map.
pub fn vm(v: &Vm, nics: &[&Nic], tags: Value, details: Option<Value>, admin: bool) -> Value {
    let mut m = Map::new();
    common(&mut m, v, nics, admin);
    m.insert("displayname".into(), json!(v.display_name));
    m.insert("passwordenabled".into(), json!(v.password_enabled == Some(1)));
    m.insert("cpunumber".into(), json!(v.cpu));
    m.insert("cpuspeed".into(), json!(v.cpu_speed));
    m.insert("memory".into(), json!(v.memory));
    m.insert("haenable".into(), json!(v.ha_enabled == 1));
    if let Some(o) = &v.os_type_uuid {
        m.insert("ostypeid".into(), json!(o));
    }
    if let (Some(id), Some(name)) = (&v.group_uuid, &v.group_name) {
        m.insert("groupid".into(), json!(id));
        m.insert("group".into(), json!(name));
    }
    if let Some(k) = &v.keypairs {
        m.insert("keypairs".into(), json!(k));
        m.insert("keypair".into(), json!(k));
    }
    if let Some(u) = &v.user_data_uuid {
        m.insert("userdataid".into(), json!(u));
    }
    m.insert("rootdeviceid".into(), json!(0));
    m.insert("rootdevicetype".into(), json!("ROOT"));
    m.insert("isdynamicallyscalable".into(), json!(v.dynamically_scalable == 1));
    m.insert("tags".into(), tags);
    if let Some(d) = details {
        m.insert("details".into(), d);
    }
    m.insert("securitygroup".into(), json!([]));
    m.insert("affinitygroup".into(), json!([]));
    Value::Object(m)
}

pub const ROUTER_FIELDS: &[Field] = &[
    ("id", "string", "the id of the router"),
    ("name", "string", "the name of the router"),
    ("state", "state", "the state of the router"),
    ("zoneid", "string", "the Zone ID for the router"),
    ("zonename", "string", "the Zone name for the router"),
    ("hostid", "string", "the host ID for the router"),
    ("hostname", "string", "the hostname for the router"),
    ("templateid", "string", "the template ID for the router"),
    ("templatename", "string", "the template name for the router"),
    (
        "serviceofferingid",
        "string",
        "the ID of the service offering of the virtual machine",
    ),
    (
        "serviceofferingname",
        "string",
        "the name of the service offering of the virtual machine",
    ),
    ("guestnetworkid", "string", "the ID of the corresponding guest network"),
    (
        "guestnetworkname",
        "string",
        "the name of the corresponding guest network",
    ),
    ("guestipaddress", "string", "the guest IP address for the router"),
    ("guestmacaddress", "string", "the guest MAC address for the router"),
    ("publicip", "string", "the public IP address for the router"),
    ("linklocalip", "string", "the link local IP address for the router"),
    (
        "linklocalmacaddress",
        "string",
        "the link local MAC address for the router",
    ),
    ("role", "string", "role of the domain router"),
    ("version", "string", "the version of template"),
    (
        "requiresupgrade",
        "boolean",
        "true if the router template requires upgrader",
    ),
    (
        "isredundantrouter",
        "boolean",
        "if this router is an redundant virtual router",
    ),
    ("redundantstate", "string", "the state of redundant virtual router"),
    ("account", "string", "the account associated with the router"),
    ("domainid", "string", "the domain ID associated with the router"),
    ("domain", "string", "the domain associated with the router"),
    ("created", "date", "the date and time the router was created"),
    ("nic", "set", "the list of nics associated with the router"),
];

pub fn router(v: &Vm, nics: &[&Nic]) -> Value {
    let mut m = Map::new();
    common(&mut m, v, nics, true);
    // CloudStack's DomainRouterResponse declares neither (they are UserVmResponse fields).
    m.remove("instancename");
    m.remove("templatedisplaytext");
    // A router answers as its network owner's, as in CloudStack (the row is the system
    // account's); one whose network is gone keeps the system account.
    for (k, val) in [
        ("account", &v.network_account_name),
        ("domainid", &v.network_domain_uuid),
        ("domain", &v.network_domain_name),
    ] {
        if let Some(x) = val {
            m.insert(k.into(), json!(x));
        }
    }
    if let Some(p) = &v.network_domain_path {
        m.insert("domainpath".into(), json!(display_path(p)));
    }
    if let Some(u) = &v.network_uuid {
        m.insert("guestnetworkid".into(), json!(u));
    }
    if let Some(u) = &v.network_name {
        m.insert("guestnetworkname".into(), json!(u));
    }
    for n in nics {
        match n.traffic_type.as_str() {
            "Guest" => {
                if let Some(ip) = &n.ip {
                    m.insert("guestipaddress".into(), json!(ip));
                }
                m.insert("guestmacaddress".into(), json!(n.mac));
            }
            "Control" => {
                if let Some(ip) = &n.ip {
                    m.insert("linklocalip".into(), json!(ip));
                }
                m.insert("linklocalmacaddress".into(), json!(n.mac));
            }
            "Public" => {
                if let Some(ip) = &n.ip {
                    m.insert("publicip".into(), json!(ip));
                }
            }
            _ => {}
        }
    }
    m.insert("role".into(), json!("VIRTUAL_ROUTER"));
    m.insert("version".into(), json!("4.22.0"));
    m.insert("requiresupgrade".into(), json!(false));
    m.insert("isredundantrouter".into(), json!(false));
    m.insert("redundantstate".into(), json!("UNKNOWN"));
    Value::Object(m)
}

pub const VOLUME_FIELDS: &[Field] = &[
    ("id", "string", "ID of the disk volume"),
    ("name", "string", "name of the disk volume"),
    ("type", "string", "type of the disk volume (ROOT or DATADISK)"),
    ("state", "string", "the state of the disk volume"),
    ("size", "long", "size of the disk volume"),
    ("zoneid", "string", "ID of the availability zone"),
    ("zonename", "string", "name of the availability zone"),
    ("virtualmachineid", "string", "id of the virtual machine"),
    ("vmname", "string", "name of the virtual machine"),
    ("vmdisplayname", "string", "display name of the virtual machine"),
    ("vmstate", "string", "state of the virtual machine"),
    ("deviceid", "long", "the ID of the device on user vm the volume is attahed to. This tag is not returned when the volume is detached."),
    ("account", "string", "the account associated with the disk volume"),
    ("domainid", "string", "the ID of the domain associated with the disk volume"),
    ("domain", "string", "the domain associated with the disk volume"),
    ("created", "date", "the date the disk volume was created"),
    ("attached", "date", "the date the volume was attached to a VM instance"),
    ("destroyed", "boolean", "the boolean state of whether the volume is destroyed or not"),
    ("diskofferingid", "string", "ID of the disk offering"),
    ("diskofferingname", "string", "name of the disk offering"),
    ("diskofferingdisplaytext", "string", "the display text of the disk offering"),
    ("templateid", "string", "the ID of the template for the virtual machine. A -1 is returned if the virtual machine was created from an ISO file."),
    ("templatename", "string", "the name of the template for the virtual machine"),
    ("storage", "string", "name of the primary storage hosting the disk volume"),
    ("snapshotid", "string", "ID of the snapshot from which this volume was created"),
    ("storageid", "string", "id of the primary storage hosting the disk volume; returned to admin user only"),
    ("storagetype", "string", "shared or local storage"),
    ("hypervisor", "string", "Hypervisor the volume belongs to"),
    ("provisioningtype", "string", "provisioning type used to create volumes."),
    ("path", "string", "the path of the volume"),
    ("isextractable", "boolean", "true if the volume is extractable, false otherwise"),
    ("displayvolume", "boolean", "an optional field whether to the display the volume to the end user or not."),
    ("virtualsize", "long", "the bytes allocated"),
    ("tags", "set", "the list of resource tags associated"),
];

/// A volume as CloudStack answers it; `admin` adds what only root admins see (the pool id).
pub fn volume(v: &Volume, tags: Value, admin: bool) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(v.uuid));
    m.insert("name".into(), json!(v.name));
    m.insert("type".into(), json!(v.volume_type));
    m.insert("state".into(), json!(v.state));
    m.insert("size".into(), json!(v.size));
    m.insert("virtualsize".into(), json!(v.size));
    m.insert("zoneid".into(), json!(v.zone_uuid));
    m.insert("zonename".into(), json!(v.zone_name));
    for (k, val) in [
        ("virtualmachineid", &v.vm_uuid),
        ("vmname", &v.vm_name),
        ("vmdisplayname", &v.vm_display_name),
        ("vmstate", &v.vm_state.map(|s| s.to_string())),
        ("account", &v.account_name),
        ("domainid", &v.domain_uuid),
        ("domain", &v.domain_name),
        ("diskofferingid", &v.disk_offering_uuid),
        ("diskofferingname", &v.disk_offering_name),
        ("diskofferingdisplaytext", &v.disk_offering_display_text),
        ("templateid", &v.template_uuid),
        ("templatename", &v.template_name),
        ("storage", &v.pool_name),
        ("snapshotid", &v.snapshot_uuid),
        ("hypervisor", &v.hypervisor),
    ] {
        if let Some(x) = val {
            m.insert(k.into(), json!(x));
        }
    }
    if let Some(p) = v.pool_uuid.as_ref().filter(|_| admin) {
        m.insert("storageid".into(), json!(p));
    }
    if v.pool_id.is_some() {
        m.insert("path".into(), json!(v.uuid));
    }
    if let Some(d) = v.device_id.filter(|_| v.vm_id.is_some()) {
        m.insert("deviceid".into(), json!(d));
    }
    if let Some(t) = v.attached.filter(|_| v.vm_id.is_some()) {
        m.insert("attached".into(), json!(format_ms(t)));
    }
    let local = v.pool_host_id.is_some();
    m.insert("storagetype".into(), json!(if local { "local" } else { "shared" }));
    m.insert("provisioningtype".into(), json!("thin"));
    m.insert(
        "destroyed".into(),
        json!(v.state == ferrostack_types::state::VolumeState::Destroy),
    );
    m.insert("isextractable".into(), json!(v.volume_type == "DATADISK"));
    m.insert("displayvolume".into(), json!(true));
    m.insert("created".into(), json!(format_ms(v.created)));
    m.insert("tags".into(), tags);
    Value::Object(m)
}
