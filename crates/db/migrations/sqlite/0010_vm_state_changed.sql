-- When a VM's state last changed (ms). A host's power report asked for before that moment
-- describes the VM as it was and is not applied to it.
ALTER TABLE vm_instance ADD COLUMN state_changed BIGINT NOT NULL DEFAULT 0;
