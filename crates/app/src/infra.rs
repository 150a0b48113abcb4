//! Event types of zones, pods, clusters, hosts and configuration (for listEventTypes).

/// Event types this area records.
pub const EVENT_TYPES: &[&str] = &[
    "ZONE.CREATE",
    "ZONE.EDIT",
    "ZONE.DELETE",
    "POD.CREATE",
    "POD.EDIT",
    "POD.DELETE",
    "CLUSTER.CREATE",
    "CLUSTER.UPDATE",
    "CLUSTER.DELETE",
    "HOST.ADD",
    "HOST.UPDATE",
    "HOST.DELETE",
    "HOST.RECONNECT",
    "HOST.STATUS",
    "MAINT.PREPARE",
    "MAINT.CANCEL",
    "CONFIGURATION.VALUE.EDIT",
];
