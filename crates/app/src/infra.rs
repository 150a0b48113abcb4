//! Event types of zones, pods, clusters, hosts and configuration (for listEventTypes).
