-- A VM is dynamically scalable (scaleVirtualMachine while running) when it was deployed with
-- dynamicscalingenabled (default true) and its template, its offering and the zone's
-- enable.dynamic.scale.vm all allowed it (CloudStack's vm_instance.dynamically_scalable).

ALTER TABLE vm_instance ADD COLUMN dynamically_scalable BIGINT NOT NULL DEFAULT 0;
