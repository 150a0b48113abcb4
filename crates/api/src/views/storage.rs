//! Storage pools and image stores on the wire.

use ferrostack_app::model::{ImageStore, StoragePool};
use ferrostack_types::time::format_ms;
use serde_json::{json, Map, Value};

use crate::registry::Field;

fn put(m: &mut Map<String, Value>, k: &str, v: &Option<String>) {
    if let Some(v) = v {
        m.insert(k.to_string(), json!(v));
    }
}

pub const STORAGE_POOL_FIELDS: &[Field] = &[
    ("id", "string", "the ID of the storage pool"),
    ("name", "string", "the name of the storage pool"),
    ("zoneid", "string", "the Zone ID of the storage pool"),
    ("zonename", "string", "the Zone name of the storage pool"),
    ("podid", "string", "the Pod ID of the storage pool"),
    ("podname", "string", "the Pod name of the storage pool"),
    ("clusterid", "string", "the ID of the cluster for the storage pool"),
    ("clustername", "string", "the name of the cluster for the storage pool"),
    ("ipaddress", "string", "the IP address of the storage pool"),
    ("path", "string", "the storage pool path"),
    ("created", "date", "the date and time the storage pool was created"),
    ("type", "string", "the storage pool type"),
    ("disksizetotal", "long", "the total disk size of the storage pool"),
    ("disksizeallocated", "long", "the host's currently allocated disk size"),
    ("disksizeused", "long", "the host's currently used disk size"),
    (
        "capacityiops",
        "long",
        "IOPS CloudStack can provision from this storage pool",
    ),
    ("tags", "string", "the tags for the storage pool"),
    ("istagarule", "boolean", "whether the storage pool tags are a rule"),
    ("state", "string", "the state of the storage pool"),
    ("scope", "string", "the scope of the storage pool"),
    (
        "overprovisionfactor",
        "string",
        "the overprovisionfactor for the storage pool",
    ),
    ("hypervisor", "string", "the hypervisor type of the storage pool"),
    ("provider", "string", "Storage provider for this pool"),
    ("hasannotations", "boolean", "whether this storage pool has annotations"),
];

pub fn storage_pool(p: &StoragePool) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(p.uuid));
    m.insert("name".into(), json!(p.name));
    m.insert("zoneid".into(), json!(p.zone_uuid));
    m.insert("zonename".into(), json!(p.zone_name));
    put(&mut m, "podid", &p.pod_uuid);
    put(&mut m, "podname", &p.pod_name);
    put(&mut m, "clusterid", &p.cluster_uuid);
    put(&mut m, "clustername", &p.cluster_name);
    let ip = match (p.scope.as_str(), &p.host_ip) {
        ("HOST", Some(ip)) => ip.clone(),
        _ => p.host_address.clone(),
    };
    m.insert("ipaddress".into(), json!(ip));
    m.insert("path".into(), json!(p.path));
    m.insert("created".into(), json!(format_ms(p.created)));
    m.insert("type".into(), json!(p.pool_type));
    m.insert("disksizetotal".into(), json!(p.capacity_bytes));
    m.insert("disksizeallocated".into(), json!(p.allocated_bytes));
    m.insert("disksizeused".into(), json!(p.used_bytes));
    if let Some(iops) = p.capacity_iops {
        m.insert("capacityiops".into(), json!(iops));
    }
    put(&mut m, "tags", &p.tags);
    m.insert("istagarule".into(), json!(false));
    m.insert("state".into(), json!(p.state));
    m.insert("scope".into(), json!(p.scope));
    let factor = if p.pool_type == "NetworkFilesystem" {
        "2.0"
    } else {
        "1.0"
    };
    m.insert("overprovisionfactor".into(), json!(factor));
    put(&mut m, "hypervisor", &p.hypervisor);
    m.insert("provider".into(), json!(p.provider));
    m.insert("hasannotations".into(), json!(false));
    Value::Object(m)
}

pub const IMAGE_STORE_FIELDS: &[Field] = &[
    ("id", "string", "the ID of the image store"),
    ("name", "string", "the name of the image store"),
    ("zoneid", "string", "the Zone ID of the image store"),
    ("zonename", "string", "the Zone name of the image store"),
    ("url", "string", "the url of the image store"),
    ("protocol", "string", "the protocol of the image store"),
    ("providername", "string", "the provider name of the image store"),
    ("scope", "scopetype", "the scope of the image store"),
    ("readonly", "boolean", "defines if store is read-only"),
    ("disksizetotal", "long", "the total disk size of the host"),
    ("disksizeused", "long", "the host's currently used disk size"),
    ("hasannotations", "boolean", "whether this image store has annotations"),
];

pub fn image_store(s: &ImageStore) -> Value {
    json!({
        "id": s.uuid,
        "name": s.name,
        "zoneid": s.zone_uuid,
        "zonename": s.zone_name,
        "url": s.url,
        "protocol": s.protocol,
        "providername": s.provider,
        "scope": s.scope,
        "readonly": s.read_only == 1,
        "disksizetotal": s.capacity_bytes,
        "disksizeused": s.used_bytes,
        "hasannotations": false,
    })
}

pub const STORAGE_PROVIDER_FIELDS: &[Field] = &[
    ("name", "string", "the name of the storage provider"),
    (
        "type",
        "string",
        "the type of the storage provider: primary or image provider",
    ),
];

pub fn storage_provider(p: &ferrostack_app::storage::StorageProvider) -> Value {
    json!({ "name": p.name, "type": p.kind })
}
