-- Volume snapshots (createSnapshot / listSnapshots / deleteSnapshot / revertSnapshot) and the
-- provenance of templates made from a snapshot or a volume (createTemplate). A snapshot belongs
-- to its volume's owner and outlives the volume (as in CloudStack: the volume row is only marked
-- removed). Its state follows the typed Snapshot machine; a deleted (Destroyed) or failed
-- snapshot is marked removed. hypervisor and guest_os_id are the source volume's at the time of
-- the snapshot (what a template made from it takes). On the simulator a snapshot is this row:
-- size and physical_size are the volume's size when it was taken.

CREATE TABLE snapshot (
    id INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    volume_id BIGINT NOT NULL REFERENCES volume(id),
    zone_id BIGINT NOT NULL REFERENCES zone(id),
    account_id BIGINT NOT NULL REFERENCES account(id),
    domain_id BIGINT NOT NULL REFERENCES domain(id),
    snapshot_type TEXT NOT NULL,
    volume_type TEXT NOT NULL,
    state TEXT NOT NULL,
    size BIGINT NOT NULL,
    physical_size BIGINT NOT NULL,
    hypervisor TEXT NOT NULL,
    guest_os_id BIGINT REFERENCES guest_os(id),
    created BIGINT NOT NULL,
    removed BIGINT
);
CREATE INDEX snapshot_account ON snapshot (account_id, id) WHERE removed IS NULL;
CREATE INDEX snapshot_domain ON snapshot (domain_id, id) WHERE removed IS NULL;
CREATE INDEX snapshot_volume ON snapshot (volume_id, id) WHERE removed IS NULL;
CREATE INDEX snapshot_zone ON snapshot (zone_id, id) WHERE removed IS NULL;
CREATE INDEX snapshot_name ON snapshot (lower(name), id) WHERE removed IS NULL;

ALTER TABLE vm_template ADD COLUMN source_snapshot_id BIGINT REFERENCES snapshot(id);
ALTER TABLE vm_template ADD COLUMN source_volume_id BIGINT REFERENCES volume(id);
