-- ISOs are vm_template rows with format 'ISO' (as in CloudStack). A VM has at most one ISO
-- attached (attachIso / detachIso); on the simulator that is this column only.

ALTER TABLE vm_instance ADD COLUMN iso_id BIGINT;
CREATE INDEX vm_instance_iso ON vm_instance(iso_id);
