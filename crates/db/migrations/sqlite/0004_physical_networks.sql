-- Physical networks with their traffic types and network service providers, virtual router
-- elements, and network offerings with their service→provider maps.
-- Kept identical to the other engine's copy except for the identity column type.

CREATE TABLE physical_network (
    id INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    zone_id BIGINT NOT NULL REFERENCES zone(id),
    name TEXT NOT NULL,
    state TEXT NOT NULL,
    vlan TEXT,
    isolation_methods TEXT NOT NULL,
    tags TEXT,
    network_speed TEXT,
    broadcast_domain_range TEXT NOT NULL,
    domain_id BIGINT REFERENCES domain(id),
    created BIGINT NOT NULL,
    removed BIGINT
);
CREATE UNIQUE INDEX physical_network_live_name ON physical_network (zone_id, lower(name)) WHERE removed IS NULL;
CREATE INDEX physical_network_zone ON physical_network (zone_id, id);

CREATE TABLE physical_network_traffic_type (
    id INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    physical_network_id BIGINT NOT NULL REFERENCES physical_network(id),
    traffic_type TEXT NOT NULL,
    kvm_label TEXT,
    xen_label TEXT,
    vmware_label TEXT,
    hyperv_label TEXT,
    ovm3_label TEXT,
    simulator_label TEXT,
    isolation_method TEXT,
    vlan TEXT,
    created BIGINT NOT NULL,
    removed BIGINT
);
CREATE UNIQUE INDEX physical_network_traffic_type_live ON physical_network_traffic_type (physical_network_id, traffic_type)
    WHERE removed IS NULL;

CREATE TABLE physical_network_service_provider (
    id INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    physical_network_id BIGINT NOT NULL REFERENCES physical_network(id),
    provider TEXT NOT NULL,
    state TEXT NOT NULL,
    dest_physical_network_id BIGINT,
    services TEXT NOT NULL,
    created BIGINT NOT NULL,
    removed BIGINT
);
CREATE UNIQUE INDEX physical_network_service_provider_live ON physical_network_service_provider
    (physical_network_id, provider) WHERE removed IS NULL;

CREATE TABLE virtual_router_element (
    id INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    nsp_id BIGINT NOT NULL REFERENCES physical_network_service_provider(id),
    provider_type TEXT NOT NULL,
    enabled BIGINT NOT NULL,
    created BIGINT NOT NULL,
    removed BIGINT
);
CREATE UNIQUE INDEX virtual_router_element_live ON virtual_router_element (nsp_id) WHERE removed IS NULL;

CREATE TABLE network_offering (
    id INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    unique_name TEXT,
    display_text TEXT NOT NULL,
    traffic_type TEXT NOT NULL,
    guest_type TEXT,
    state TEXT NOT NULL,
    is_default BIGINT NOT NULL,
    system_only BIGINT NOT NULL,
    specify_vlan BIGINT NOT NULL,
    specify_ip_ranges BIGINT NOT NULL,
    conserve_mode BIGINT NOT NULL,
    availability TEXT NOT NULL,
    is_persistent BIGINT NOT NULL,
    for_vpc BIGINT NOT NULL,
    egress_default_policy BIGINT NOT NULL,
    network_rate BIGINT,
    tags TEXT,
    sort_key BIGINT NOT NULL,
    source_nat_type TEXT,
    redundant_router BIGINT NOT NULL,
    elastic_ip BIGINT NOT NULL,
    associate_public_ip BIGINT NOT NULL,
    elastic_lb BIGINT NOT NULL,
    lb_isolation TEXT NOT NULL,
    internal_lb BIGINT NOT NULL,
    public_lb BIGINT NOT NULL,
    supports_vm_autoscaling BIGINT NOT NULL,
    created BIGINT NOT NULL,
    removed BIGINT
);
CREATE UNIQUE INDEX network_offering_live_name ON network_offering (lower(name)) WHERE removed IS NULL;
CREATE INDEX network_offering_state ON network_offering (state, id);

CREATE TABLE network_offering_service (
    id INTEGER PRIMARY KEY,
    offering_id BIGINT NOT NULL REFERENCES network_offering(id),
    service TEXT NOT NULL,
    provider TEXT NOT NULL
);
CREATE UNIQUE INDEX network_offering_service_pair ON network_offering_service (offering_id, service, provider);

CREATE TABLE network_offering_zone (
    offering_id BIGINT NOT NULL REFERENCES network_offering(id),
    zone_id BIGINT NOT NULL REFERENCES zone(id),
    PRIMARY KEY (offering_id, zone_id)
);

CREATE TABLE network_offering_domain (
    offering_id BIGINT NOT NULL REFERENCES network_offering(id),
    domain_id BIGINT NOT NULL REFERENCES domain(id),
    PRIMARY KEY (offering_id, domain_id)
);
