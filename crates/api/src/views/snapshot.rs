//! Volume snapshots on the wire (`SnapshotResponse`).

use ferrostack_app::model::{display_path, Snapshot};
use ferrostack_types::time::format_ms;
use serde_json::{json, Map, Value};

use crate::registry::Field;

pub const SNAPSHOT_FIELDS: &[Field] = &[
    ("id", "string", "ID of the snapshot"),
    ("name", "string", "name of the snapshot"),
    ("account", "string", "the account associated with the snapshot"),
    ("domainid", "string", "the domain ID of the snapshot's account"),
    ("domain", "string", "the domain name of the snapshot's account"),
    ("domainpath", "string", "path of the domain to which the snapshot belongs"),
    ("snapshottype", "string", "the type of the snapshot"),
    ("intervaltype", "string", "valid types are hourly, daily, weekly, monthy, template, and none."),
    ("volumeid", "string", "ID of the disk volume"),
    ("volumename", "string", "name of the disk volume"),
    ("volumetype", "string", "type of the disk volume"),
    ("created", "date", "  the date the snapshot was created"),
    ("state", "state", "the state of the snapshot. BackedUp means that snapshot is ready to be used; Creating - the snapshot is being allocated on the primary storage; BackingUp - the snapshot is being backed up on secondary storage"),
    ("physicalsize", "long", "physical size of backedup snapshot on image store"),
    ("virtualsize", "long", "virtual size of backedup snapshot on image store"),
    ("zoneid", "string", "id of the availability zone"),
    ("zonename", "string", "name of the availability zone"),
    ("revertable", "boolean", "indicates whether the underlying storage supports reverting the volume to this snapshot"),
    ("ostypeid", "string", "id of the os on volume"),
    ("osdisplayname", "string", "display name of the os on volume"),
    ("tags", "set", "the list of resource tags associated"),
    ("hasannotations", "boolean", "whether this resource has annotations"),
];

fn put(m: &mut Map<String, Value>, k: &str, v: &Option<String>) {
    if let Some(v) = v {
        m.insert(k.to_string(), json!(v));
    }
}

/// One snapshot with its `tags` array.
pub fn snapshot(s: &Snapshot, tags: Value) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(s.uuid));
    m.insert("name".into(), json!(s.name));
    put(&mut m, "account", &s.account_name);
    put(&mut m, "domainid", &s.domain_uuid);
    put(&mut m, "domain", &s.domain_name);
    if let Some(p) = &s.domain_path {
        m.insert("domainpath".into(), json!(display_path(p)));
    }
    m.insert("snapshottype".into(), json!(s.snapshot_type));
    // A manual snapshot's interval type is its type (CloudStack's getSnapshotIntervalTypes).
    m.insert("intervaltype".into(), json!(s.snapshot_type));
    m.insert("volumeid".into(), json!(s.volume_uuid));
    m.insert("volumename".into(), json!(s.volume_name));
    m.insert("volumetype".into(), json!(s.volume_type));
    m.insert("created".into(), json!(format_ms(s.created)));
    m.insert("state".into(), json!(s.state));
    m.insert("physicalsize".into(), json!(s.physical_size));
    m.insert("virtualsize".into(), json!(s.size));
    m.insert("zoneid".into(), json!(s.zone_uuid));
    m.insert("zonename".into(), json!(s.zone_name));
    m.insert(
        "revertable".into(),
        json!(s.state.usable() && s.volume_removed.is_none()),
    );
    put(&mut m, "ostypeid", &s.os_uuid);
    put(&mut m, "osdisplayname", &s.os_name);
    m.insert("tags".into(), tags);
    m.insert("hasannotations".into(), json!(false));
    Value::Object(m)
}
