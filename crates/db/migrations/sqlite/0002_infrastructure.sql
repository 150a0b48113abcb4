-- Infrastructure: zones (core and edge), pods, clusters, hosts, alerts.
-- Kept identical to the other engine's copy except for the identity column type.

CREATE TABLE zone (
    id INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    description TEXT,
    zone_type TEXT NOT NULL,
    network_type TEXT NOT NULL,
    allocation_state TEXT NOT NULL,
    dns1 TEXT NOT NULL,
    dns2 TEXT,
    internal_dns1 TEXT NOT NULL,
    internal_dns2 TEXT,
    ip6_dns1 TEXT,
    ip6_dns2 TEXT,
    guest_cidr TEXT,
    network_domain TEXT,
    domain_id BIGINT REFERENCES domain(id),
    local_storage_enabled BIGINT NOT NULL,
    security_group_enabled BIGINT NOT NULL,
    created BIGINT NOT NULL,
    removed BIGINT
);
CREATE UNIQUE INDEX zone_live_name ON zone (lower(name)) WHERE removed IS NULL;

CREATE TABLE pod (
    id INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    zone_id BIGINT NOT NULL REFERENCES zone(id),
    name TEXT NOT NULL,
    gateway TEXT,
    netmask TEXT,
    start_ip TEXT,
    end_ip TEXT,
    allocation_state TEXT NOT NULL,
    created BIGINT NOT NULL,
    removed BIGINT
);
CREATE UNIQUE INDEX pod_live_name ON pod (zone_id, lower(name)) WHERE removed IS NULL;
CREATE INDEX pod_zone ON pod (zone_id, id);

CREATE TABLE cluster (
    id INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    zone_id BIGINT NOT NULL REFERENCES zone(id),
    pod_id BIGINT NOT NULL REFERENCES pod(id),
    name TEXT NOT NULL,
    hypervisor TEXT NOT NULL,
    cluster_type TEXT NOT NULL,
    allocation_state TEXT NOT NULL,
    managed_state TEXT NOT NULL,
    arch TEXT NOT NULL,
    created BIGINT NOT NULL,
    removed BIGINT
);
CREATE UNIQUE INDEX cluster_live_name ON cluster (pod_id, lower(name)) WHERE removed IS NULL;
CREATE INDEX cluster_zone ON cluster (zone_id, id);
CREATE INDEX cluster_pod ON cluster (pod_id, id);

CREATE TABLE host (
    id INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    zone_id BIGINT NOT NULL REFERENCES zone(id),
    pod_id BIGINT NOT NULL REFERENCES pod(id),
    cluster_id BIGINT NOT NULL REFERENCES cluster(id),
    host_type TEXT NOT NULL,
    hypervisor TEXT NOT NULL,
    hypervisor_version TEXT,
    url TEXT NOT NULL,
    status TEXT NOT NULL,
    resource_state TEXT NOT NULL,
    private_ip TEXT,
    cpu_sockets BIGINT NOT NULL,
    cpu_cores BIGINT NOT NULL,
    cpu_speed BIGINT NOT NULL,
    memory_total BIGINT NOT NULL,
    local_storage_total BIGINT NOT NULL,
    cpu_allocated BIGINT NOT NULL,
    memory_allocated BIGINT NOT NULL,
    version TEXT,
    host_tags TEXT,
    last_pinged BIGINT,
    ms_id TEXT,
    created BIGINT NOT NULL,
    removed BIGINT
);
CREATE UNIQUE INDEX host_live_url ON host (url) WHERE removed IS NULL;
CREATE INDEX host_zone ON host (zone_id, id);
CREATE INDEX host_pod ON host (pod_id, id);
CREATE INDEX host_cluster ON host (cluster_id, id);
CREATE INDEX host_status ON host (status, id);
CREATE INDEX host_name ON host (name);

CREATE TABLE alert (
    id INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    alert_type BIGINT NOT NULL,
    name TEXT NOT NULL,
    subject TEXT NOT NULL,
    zone_id BIGINT,
    pod_id BIGINT,
    cluster_id BIGINT,
    host_id BIGINT,
    created BIGINT NOT NULL,
    archived BIGINT NOT NULL
);
CREATE INDEX alert_type_created ON alert (alert_type, id);
CREATE INDEX alert_zone ON alert (zone_id, id);
