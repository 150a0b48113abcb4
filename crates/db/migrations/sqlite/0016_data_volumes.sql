-- Data volumes (createVolume / attachVolume / detachVolume / resizeVolume / deleteVolume, and
-- deployVirtualMachine diskofferingid/size/rootdisksize): a volume may have a disk offering, sits
-- at a device slot of its VM while attached (ROOT at 0, data disks from 1; 3 is the CD-ROM's and
-- never given), and remembers when it was attached. A slot is held by one live volume at a time.

ALTER TABLE volume ADD COLUMN disk_offering_id BIGINT;
ALTER TABLE volume ADD COLUMN device_id BIGINT;
ALTER TABLE volume ADD COLUMN attached BIGINT;
-- The snapshot a volume was made from (createVolume snapshotid).
ALTER TABLE volume ADD COLUMN snapshot_id BIGINT;
UPDATE volume SET device_id = 0, attached = created WHERE volume_type = 'ROOT' AND vm_id IS NOT NULL;
CREATE UNIQUE INDEX volume_vm_device ON volume (vm_id, device_id) WHERE removed IS NULL AND vm_id IS NOT NULL;
CREATE INDEX volume_zone ON volume (zone_id, id);
CREATE INDEX volume_domain ON volume (domain_id, id);
