-- Instance groups (createInstanceGroup / listInstanceGroups / updateInstanceGroup /
-- deleteInstanceGroup, and deployVirtualMachine / updateVirtualMachine group=<name>): a named set
-- of an account's VMs. A VM is in at most one group; a name is unique in its account among the
-- live groups, without case. Deleting a group takes its VMs out of it.

CREATE TABLE instance_group (
    id INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    account_id BIGINT NOT NULL REFERENCES account(id),
    domain_id BIGINT NOT NULL REFERENCES domain(id),
    created BIGINT NOT NULL,
    removed BIGINT
);
CREATE UNIQUE INDEX instance_group_name ON instance_group (account_id, lower(name)) WHERE removed IS NULL;
CREATE INDEX instance_group_account ON instance_group (account_id, id);
CREATE INDEX instance_group_domain ON instance_group (domain_id, id);

ALTER TABLE vm_instance ADD COLUMN group_id BIGINT REFERENCES instance_group(id);
CREATE INDEX vm_group ON vm_instance (group_id);
