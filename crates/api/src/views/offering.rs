//! Service and disk offerings on the wire. `memory` is MB, sizes are numbers, storage types
//! are `shared`/`local`.

use ferrostack_app::model::{DiskOffering, ServiceOffering};
use ferrostack_types::time::format_ms;
use serde_json::{json, Map, Value};

use crate::registry::Field;

const GIB: i64 = 1024 * 1024 * 1024;

fn put(m: &mut Map<String, Value>, k: &str, v: &Option<String>) {
    if let Some(v) = v {
        m.insert(k.to_string(), json!(v));
    }
}

fn put_i64(m: &mut Map<String, Value>, k: &str, v: Option<i64>) {
    if let Some(v) = v {
        m.insert(k.to_string(), json!(v));
    }
}

pub const SERVICE_OFFERING_FIELDS: &[Field] = &[
    ("id", "string", "the id of the service offering"),
    ("name", "string", "the name of the service offering"),
    ("displaytext", "string", "an alternate display text of the service offering."),
    ("cpunumber", "integer", "the number of CPU"),
    ("cpuspeed", "integer", "the clock rate CPU speed in Mhz"),
    ("memory", "integer", "the memory in MB"),
    ("created", "date", "the date this service offering was created"),
    ("storagetype", "string", "the storage type for this service offering"),
    ("provisioningtype", "string", "provisioning type used to create volumes. Valid values are thin, sparse, fat."),
    ("offerha", "boolean", "the ha support in the service offering"),
    ("limitcpuuse", "boolean", "restrict the CPU usage to committed service offering"),
    ("isvolatile", "boolean", "true if the vm needs to be volatile, i.e., on every reboot of vm from API root disk is discarded and creates a new root disk"),
    ("issystem", "boolean", "is this a system vm offering"),
    ("systemvmtype", "string", "is this a the systemvm type for system vm offering"),
    ("defaultuse", "boolean", "is this a default system vm offering"),
    ("iscustomized", "boolean", "is true if the offering is customized"),
    ("hosttags", "string", "the host tag for the service offering"),
    ("storagetags", "string", "the tags for the service offering"),
    ("networkrate", "integer", "data transfer rate in megabits per second allowed."),
    ("diskofferingid", "string", "the ID of the disk offering to which service offering is linked"),
    ("diskofferingname", "string", "name of the disk offering"),
    ("diskofferingdisplaytext", "string", "the display text of the disk offering"),
    ("rootdisksize", "long", "Root disk size in GB"),
    ("state", "string", "state of the service offering"),
    ("dynamicscalingenabled", "boolean", "true if virtual machine needs to be dynamically scalable of cpu or memory"),
    ("diskofferingstrictness", "boolean", "True/False to indicate the strictness of the disk offering association with the compute offering."),
    ("encryptroot", "boolean", "true if virtual machine root disk will be encrypted on storage"),
    ("hasannotations", "boolean", "whether this offering has annotations"),
];

pub fn service_offering(o: &ServiceOffering) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(o.uuid));
    m.insert("name".into(), json!(o.name));
    m.insert("displaytext".into(), json!(o.display_text));
    put_i64(&mut m, "cpunumber", o.cpu_number);
    put_i64(&mut m, "cpuspeed", o.cpu_speed);
    put_i64(&mut m, "memory", o.memory_mb);
    m.insert("created".into(), json!(format_ms(o.created)));
    m.insert("storagetype".into(), json!(o.storage_type));
    m.insert("provisioningtype".into(), json!(o.provisioning_type));
    m.insert("offerha".into(), json!(o.offer_ha == 1));
    m.insert("limitcpuuse".into(), json!(o.limit_cpu_use == 1));
    m.insert("isvolatile".into(), json!(o.is_volatile == 1));
    m.insert("issystem".into(), json!(o.is_system == 1));
    put(&mut m, "systemvmtype", &o.system_vm_type);
    m.insert("defaultuse".into(), json!(o.default_use == 1));
    m.insert("iscustomized".into(), json!(o.customized == 1));
    put(&mut m, "hosttags", &o.host_tags);
    put(&mut m, "storagetags", &o.storage_tags);
    put_i64(&mut m, "networkrate", o.network_rate);
    put(&mut m, "diskofferingid", &o.disk_offering_uuid);
    put(&mut m, "diskofferingname", &o.disk_offering_name);
    put(&mut m, "diskofferingdisplaytext", &o.disk_offering_display_text);
    put_i64(&mut m, "rootdisksize", o.root_disk_size);
    m.insert("state".into(), json!(o.state));
    m.insert("dynamicscalingenabled".into(), json!(o.dynamic_scaling == 1));
    m.insert("diskofferingstrictness".into(), json!(false));
    m.insert("encryptroot".into(), json!(false));
    m.insert("hasannotations".into(), json!(false));
    Value::Object(m)
}

pub const DISK_OFFERING_FIELDS: &[Field] = &[
    ("id", "string", "unique ID of the disk offering"),
    ("name", "string", "the name of the disk offering"),
    ("displaytext", "string", "an alternate display text of the disk offering."),
    ("disksize", "long", "the size of the disk offering in GB"),
    ("created", "date", "the date this disk offering was created"),
    ("iscustomized", "boolean", "true if disk offering uses custom size, false otherwise"),
    ("iscustomizediops", "boolean", "true if disk offering uses custom iops, false otherwise"),
    ("miniops", "long", "the min iops of the disk offering"),
    ("maxiops", "long", "the max iops of the disk offering"),
    ("tags", "string", "the tags for the disk offering"),
    ("storagetype", "string", "the storage type for this disk offering"),
    ("provisioningtype", "string", "provisioning type used to create volumes. Valid values are thin, sparse, fat."),
    ("displayoffering", "boolean", "whether to display the offering to the end user or not."),
    ("state", "string", "state of the disk offering"),
    ("encrypt", "boolean", "Whether disks using this offering will be encrypted on primary storage"),
    ("disksizestrictness", "boolean", "To allow or disallow the resize operation on the disks created from this disk offering, if the flag is true then resize is not allowed"),
    ("hasannotations", "boolean", "whether this offering has annotations"),
];

pub fn disk_offering(o: &DiskOffering) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(o.uuid));
    m.insert("name".into(), json!(o.name));
    m.insert("displaytext".into(), json!(o.display_text));
    m.insert("disksize".into(), json!(o.disk_size / GIB));
    m.insert("created".into(), json!(format_ms(o.created)));
    m.insert("iscustomized".into(), json!(o.customized == 1));
    m.insert("iscustomizediops".into(), json!(o.customized_iops == 1));
    put_i64(&mut m, "miniops", o.min_iops);
    put_i64(&mut m, "maxiops", o.max_iops);
    put(&mut m, "tags", &o.tags);
    m.insert("storagetype".into(), json!(o.storage_type));
    m.insert("provisioningtype".into(), json!(o.provisioning_type));
    m.insert("displayoffering".into(), json!(o.display_offering == 1));
    m.insert("state".into(), json!(o.state));
    m.insert("encrypt".into(), json!(o.encrypt == 1));
    m.insert("disksizestrictness".into(), json!(false));
    m.insert("hasannotations".into(), json!(false));
    Value::Object(m)
}
