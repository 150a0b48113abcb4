-- Virtual machines (user VMs and virtual routers), their NICs and root volumes, and the
-- durable queue of follow-up effects of state changes.
-- Kept identical to the other engine's copy except for the identity column type.

CREATE TABLE vm_instance (
    id INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    display_name TEXT NOT NULL,
    instance_name TEXT NOT NULL,
    vm_type TEXT NOT NULL,
    state TEXT NOT NULL,
    power_state TEXT NOT NULL,
    power_generation BIGINT NOT NULL,
    zone_id BIGINT NOT NULL REFERENCES zone(id),
    host_id BIGINT,
    last_host_id BIGINT,
    template_id BIGINT,
    service_offering_id BIGINT NOT NULL,
    account_id BIGINT NOT NULL,
    domain_id BIGINT NOT NULL,
    network_id BIGINT,
    cpu BIGINT NOT NULL,
    cpu_speed BIGINT NOT NULL,
    memory BIGINT NOT NULL,
    password TEXT,
    password_pending BIGINT NOT NULL,
    user_data TEXT,
    user_data_id BIGINT,
    user_data_details TEXT,
    keypairs TEXT,
    ssh_keys TEXT,
    ha_enabled BIGINT NOT NULL,
    capacity_host_id BIGINT,
    destroyed_at BIGINT,
    created BIGINT NOT NULL,
    removed BIGINT
);
CREATE UNIQUE INDEX vm_instance_name ON vm_instance (instance_name);
CREATE INDEX vm_zone ON vm_instance (zone_id, id);
CREATE INDEX vm_host ON vm_instance (host_id, id);
CREATE INDEX vm_last_host ON vm_instance (last_host_id);
CREATE INDEX vm_capacity_host ON vm_instance (capacity_host_id);
CREATE INDEX vm_account ON vm_instance (account_id, id);
CREATE INDEX vm_domain ON vm_instance (domain_id, id);
CREATE INDEX vm_type_state ON vm_instance (vm_type, state, id);
CREATE INDEX vm_network ON vm_instance (network_id, id);
CREATE INDEX vm_live ON vm_instance (removed, vm_type, id);

CREATE TABLE nic (
    id INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    vm_id BIGINT NOT NULL REFERENCES vm_instance(id),
    network_id BIGINT NOT NULL,
    traffic_type TEXT NOT NULL,
    ip TEXT,
    netmask TEXT,
    gateway TEXT,
    mac TEXT NOT NULL,
    broadcast_uri TEXT,
    device_id BIGINT NOT NULL,
    is_default BIGINT NOT NULL,
    created BIGINT NOT NULL,
    removed BIGINT
);
CREATE INDEX nic_vm ON nic (vm_id, device_id);
CREATE INDEX nic_network ON nic (network_id, id);

CREATE TABLE volume (
    id INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    vm_id BIGINT,
    zone_id BIGINT NOT NULL,
    pool_id BIGINT,
    volume_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    state TEXT NOT NULL,
    account_id BIGINT NOT NULL,
    domain_id BIGINT NOT NULL,
    template_id BIGINT,
    created BIGINT NOT NULL,
    removed BIGINT
);
CREATE INDEX volume_vm ON volume (vm_id);
CREATE INDEX volume_account ON volume (account_id, id);
CREATE INDEX volume_pool ON volume (pool_id);

-- Work that follows a committed state change (reprogram a router, delete a config drive, …).
-- Written in the same transaction as the change; carried out by an idempotent worker with
-- retries; its failure never turns the change itself into an error.
CREATE TABLE followup (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    payload TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt BIGINT NOT NULL,
    last_error TEXT,
    owner TEXT,
    lease_until BIGINT,
    created BIGINT NOT NULL,
    done BIGINT
);
CREATE INDEX followup_due ON followup (done, next_attempt, id);
CREATE INDEX followup_target ON followup (kind, target, done);
