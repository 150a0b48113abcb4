-- Storage and catalogue: primary storage pools, image (secondary) stores, the guest OS
-- catalogue, templates with their per-zone state, service and disk offerings.
-- Kept identical to the other engine's copy except for the identity column type.

CREATE TABLE storage_pool (
    id INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    zone_id BIGINT NOT NULL REFERENCES zone(id),
    pod_id BIGINT REFERENCES pod(id),
    cluster_id BIGINT REFERENCES cluster(id),
    host_id BIGINT REFERENCES host(id),
    scope TEXT NOT NULL,
    pool_type TEXT NOT NULL,
    url TEXT NOT NULL,
    host_address TEXT NOT NULL,
    path TEXT NOT NULL,
    hypervisor TEXT,
    provider TEXT NOT NULL,
    tags TEXT,
    capacity_bytes BIGINT NOT NULL,
    allocated_bytes BIGINT NOT NULL,
    used_bytes BIGINT NOT NULL,
    capacity_iops BIGINT,
    state TEXT NOT NULL,
    details TEXT NOT NULL,
    created BIGINT NOT NULL,
    removed BIGINT
);
CREATE UNIQUE INDEX storage_pool_live_name ON storage_pool (zone_id, lower(name)) WHERE removed IS NULL;
CREATE INDEX storage_pool_zone ON storage_pool (zone_id, id);
CREATE INDEX storage_pool_cluster ON storage_pool (cluster_id, id);
CREATE INDEX storage_pool_host ON storage_pool (host_id, id);

CREATE TABLE image_store (
    id INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    zone_id BIGINT NOT NULL REFERENCES zone(id),
    url TEXT NOT NULL,
    protocol TEXT NOT NULL,
    provider TEXT NOT NULL,
    scope TEXT NOT NULL,
    read_only BIGINT NOT NULL,
    capacity_bytes BIGINT NOT NULL,
    used_bytes BIGINT NOT NULL,
    details TEXT NOT NULL,
    created BIGINT NOT NULL,
    removed BIGINT
);
CREATE UNIQUE INDEX image_store_live_name ON image_store (zone_id, lower(name)) WHERE removed IS NULL;
CREATE UNIQUE INDEX image_store_live_url ON image_store (zone_id, url) WHERE removed IS NULL;

CREATE TABLE guest_os_category (
    id INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    is_featured BIGINT NOT NULL,
    created BIGINT NOT NULL
);
CREATE UNIQUE INDEX guest_os_category_name ON guest_os_category (lower(name));

CREATE TABLE guest_os (
    id INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    category_id BIGINT NOT NULL REFERENCES guest_os_category(id),
    name TEXT NOT NULL,
    display_name TEXT NOT NULL,
    is_user_defined BIGINT NOT NULL,
    for_display BIGINT NOT NULL,
    created BIGINT NOT NULL
);
CREATE UNIQUE INDEX guest_os_display_name ON guest_os (lower(display_name));
CREATE INDEX guest_os_by_category ON guest_os (category_id, id);

CREATE TABLE vm_template (
    id INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    display_text TEXT NOT NULL,
    template_type TEXT NOT NULL,
    format TEXT NOT NULL,
    hypervisor TEXT NOT NULL,
    url TEXT NOT NULL,
    checksum TEXT,
    guest_os_id BIGINT NOT NULL REFERENCES guest_os(id),
    account_id BIGINT REFERENCES account(id),
    domain_id BIGINT REFERENCES domain(id),
    is_public BIGINT NOT NULL,
    is_featured BIGINT NOT NULL,
    is_extractable BIGINT NOT NULL,
    password_enabled BIGINT NOT NULL,
    sshkey_enabled BIGINT NOT NULL,
    requires_hvm BIGINT NOT NULL,
    dynamically_scalable BIGINT NOT NULL,
    direct_download BIGINT NOT NULL,
    cross_zones BIGINT NOT NULL,
    bootable BIGINT NOT NULL,
    bits BIGINT NOT NULL,
    template_tag TEXT,
    details TEXT NOT NULL,
    size BIGINT NOT NULL,
    sort_key BIGINT NOT NULL,
    created BIGINT NOT NULL,
    removed BIGINT
);
CREATE INDEX vm_template_account ON vm_template (account_id, id);
CREATE INDEX vm_template_domain ON vm_template (domain_id, id);
CREATE INDEX vm_template_public ON vm_template (is_public, is_featured, id);
CREATE INDEX vm_template_by_type ON vm_template (template_type, id);

CREATE TABLE template_zone (
    id INTEGER PRIMARY KEY,
    template_id BIGINT NOT NULL REFERENCES vm_template(id),
    zone_id BIGINT NOT NULL REFERENCES zone(id),
    image_store_id BIGINT REFERENCES image_store(id),
    state TEXT NOT NULL,
    download_pct BIGINT NOT NULL,
    download_started BIGINT,
    ready_at BIGINT,
    created BIGINT NOT NULL,
    removed BIGINT
);
CREATE UNIQUE INDEX template_zone_live ON template_zone (template_id, zone_id) WHERE removed IS NULL;
CREATE INDEX template_zone_by_state ON template_zone (state, id);
CREATE INDEX template_zone_by_zone ON template_zone (zone_id, template_id);

CREATE TABLE disk_offering (
    id INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    display_text TEXT NOT NULL,
    unique_name TEXT,
    disk_size BIGINT NOT NULL,
    customized BIGINT NOT NULL,
    customized_iops BIGINT NOT NULL,
    min_iops BIGINT,
    max_iops BIGINT,
    storage_type TEXT NOT NULL,
    provisioning_type TEXT NOT NULL,
    tags TEXT,
    display_offering BIGINT NOT NULL,
    encrypt BIGINT NOT NULL,
    is_system BIGINT NOT NULL,
    sort_key BIGINT NOT NULL,
    state TEXT NOT NULL,
    created BIGINT NOT NULL,
    removed BIGINT
);
CREATE UNIQUE INDEX disk_offering_unique_name ON disk_offering (unique_name) WHERE removed IS NULL;
CREATE INDEX disk_offering_live ON disk_offering (removed, id);

CREATE TABLE service_offering (
    id INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    display_text TEXT NOT NULL,
    unique_name TEXT,
    cpu_number BIGINT,
    cpu_speed BIGINT,
    memory_mb BIGINT,
    customized BIGINT NOT NULL,
    storage_type TEXT NOT NULL,
    provisioning_type TEXT NOT NULL,
    offer_ha BIGINT NOT NULL,
    limit_cpu_use BIGINT NOT NULL,
    is_volatile BIGINT NOT NULL,
    is_system BIGINT NOT NULL,
    system_vm_type TEXT,
    default_use BIGINT NOT NULL,
    host_tags TEXT,
    storage_tags TEXT,
    network_rate BIGINT,
    root_disk_size BIGINT,
    disk_offering_id BIGINT REFERENCES disk_offering(id),
    dynamic_scaling BIGINT NOT NULL,
    sort_key BIGINT NOT NULL,
    state TEXT NOT NULL,
    created BIGINT NOT NULL,
    removed BIGINT
);
CREATE UNIQUE INDEX service_offering_unique_name ON service_offering (unique_name) WHERE removed IS NULL;
CREATE INDEX service_offering_system ON service_offering (is_system, id);
