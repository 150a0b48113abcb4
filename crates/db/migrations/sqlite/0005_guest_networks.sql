-- Guest networks, their service→provider maps, IP ranges, and address allocation.
-- Kept identical to the other engine's copy except for the identity column type.

CREATE TABLE network (
    id INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    display_text TEXT NOT NULL,
    zone_id BIGINT NOT NULL REFERENCES zone(id),
    physical_network_id BIGINT,
    network_offering_id BIGINT NOT NULL,
    guest_type TEXT NOT NULL,
    traffic_type TEXT NOT NULL,
    state TEXT NOT NULL,
    acl_type TEXT NOT NULL,
    broadcast_uri TEXT,
    cidr TEXT,
    gateway TEXT,
    netmask TEXT,
    network_domain TEXT,
    dns1 TEXT,
    dns2 TEXT,
    account_id BIGINT NOT NULL,
    domain_id BIGINT NOT NULL,
    restart_required BIGINT NOT NULL,
    created BIGINT NOT NULL,
    removed BIGINT
);
CREATE INDEX network_zone ON network (zone_id, id);
CREATE INDEX network_account ON network (account_id, id);
CREATE INDEX network_domain_idx ON network (domain_id, id);
CREATE INDEX network_by_offering ON network (network_offering_id);
CREATE INDEX network_physnet ON network (physical_network_id);
CREATE INDEX network_live ON network (removed, id);

CREATE TABLE network_service_map (
    network_id BIGINT NOT NULL REFERENCES network(id),
    service TEXT NOT NULL,
    provider TEXT NOT NULL,
    PRIMARY KEY (network_id, service)
);

CREATE TABLE ip_range (
    id INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    zone_id BIGINT NOT NULL REFERENCES zone(id),
    pod_id BIGINT,
    physical_network_id BIGINT,
    network_id BIGINT,
    vlan TEXT,
    gateway TEXT NOT NULL,
    netmask TEXT NOT NULL,
    start_ip TEXT NOT NULL,
    end_ip TEXT NOT NULL,
    start_num BIGINT NOT NULL,
    end_num BIGINT NOT NULL,
    for_virtual_network BIGINT NOT NULL,
    account_id BIGINT,
    domain_id BIGINT,
    created BIGINT NOT NULL,
    removed BIGINT
);
CREATE INDEX ip_range_zone ON ip_range (zone_id, id);
CREATE INDEX ip_range_network ON ip_range (network_id, id);

-- One row per address handed out on a guest network (a VM or router NIC); deleted on release.
-- The unique indexes are what make double allocation impossible.
CREATE TABLE guest_ip (
    id INTEGER PRIMARY KEY,
    network_id BIGINT NOT NULL REFERENCES network(id),
    ip TEXT,
    ip_num BIGINT,
    mac TEXT NOT NULL,
    owner_kind TEXT NOT NULL,
    owner_uuid TEXT NOT NULL,
    created BIGINT NOT NULL
);
CREATE UNIQUE INDEX guest_ip_unique_ip ON guest_ip (network_id, ip_num);
CREATE UNIQUE INDEX guest_ip_unique_mac ON guest_ip (mac);
CREATE INDEX guest_ip_owner ON guest_ip (owner_uuid);

CREATE TABLE mac_sequence (
    id BIGINT PRIMARY KEY,
    next_value BIGINT NOT NULL
);
INSERT INTO mac_sequence (id, next_value) VALUES (1, 1);

-- Public addresses: one row per address of a public range.
CREATE TABLE public_ip (
    id INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    zone_id BIGINT NOT NULL REFERENCES zone(id),
    range_id BIGINT NOT NULL REFERENCES ip_range(id),
    address TEXT NOT NULL,
    address_num BIGINT NOT NULL,
    state TEXT NOT NULL,
    source_nat BIGINT NOT NULL,
    network_id BIGINT,
    account_id BIGINT,
    domain_id BIGINT,
    allocated BIGINT,
    removed BIGINT
);
CREATE UNIQUE INDEX public_ip_address ON public_ip (zone_id, address_num) WHERE removed IS NULL;
CREATE INDEX public_ip_state ON public_ip (zone_id, state, id);
CREATE INDEX public_ip_network ON public_ip (network_id);
CREATE INDEX public_ip_account ON public_ip (account_id, id);
