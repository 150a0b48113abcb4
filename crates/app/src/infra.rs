//! Zones, pods, clusters, hosts, configuration, capacity and alerts.

/// Event types this module records (for listEventTypes).
pub const EVENT_TYPES: &[&str] = &[];
