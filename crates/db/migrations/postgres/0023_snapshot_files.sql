-- Where a snapshot's file is: the primary storage pool its volume was on when it was taken (a
-- KVM host keeps it there as <pool>/snapshots/<uuid>.qcow2). NULL for a snapshot that is only a
-- recorded artefact (a simulated volume on no pool). Snapshots outlive their volume, so the pool
-- is recorded here rather than read from the volume.
ALTER TABLE snapshot ADD COLUMN pool_id BIGINT REFERENCES storage_pool(id);
