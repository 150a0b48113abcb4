-- The hypervisor a VM runs on when its template does not say: a VM deployed from an ISO (its
-- template is the ISO, whose hypervisor is 'None') runs on the hypervisor deployVirtualMachine
-- named. NULL: its template's.

ALTER TABLE vm_instance ADD COLUMN hypervisor TEXT;
