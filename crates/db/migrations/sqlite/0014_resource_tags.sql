-- Resource tags (createTags / listTags / deleteTags) and resource details (addResourceDetail /
-- listResourceDetails / removeResourceDetail): key/value pairs on a resource named by its
-- CloudStack resource type and its row id. A row belongs to the resource's owner (the system
-- account for resources without one), so lists scope by account and domain like the
-- resources themselves. Rows go with their resource: deleting the resource deletes them in the
-- same transaction. Keys compare without case, as CloudStack's database collation does.

CREATE TABLE resource_tag (
    id INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    resource_type TEXT NOT NULL,
    resource_id BIGINT NOT NULL,
    resource_uuid TEXT NOT NULL,
    tag_key TEXT NOT NULL,
    tag_value TEXT NOT NULL,
    customer TEXT,
    account_id BIGINT NOT NULL REFERENCES account(id),
    domain_id BIGINT NOT NULL REFERENCES domain(id),
    created BIGINT NOT NULL
);
-- One value per key and resource; also the page hydration (type, id IN …) and the cleanup.
CREATE UNIQUE INDEX resource_tag_resource_key ON resource_tag (resource_type, resource_id, lower(tag_key));
-- The tags[N].key/value filter of list commands (type, key, value → resource ids).
CREATE INDEX resource_tag_match ON resource_tag (resource_type, lower(tag_key), lower(tag_value), resource_id);
-- listTags filters.
CREATE INDEX resource_tag_by_uuid ON resource_tag (resource_uuid, id);
CREATE INDEX resource_tag_by_key ON resource_tag (lower(tag_key), lower(tag_value), id);
CREATE INDEX resource_tag_by_value ON resource_tag (lower(tag_value), id);
CREATE INDEX resource_tag_by_customer ON resource_tag (customer, id);
CREATE INDEX resource_tag_account ON resource_tag (account_id, id);
CREATE INDEX resource_tag_domain ON resource_tag (domain_id, id);

CREATE TABLE resource_detail (
    id INTEGER PRIMARY KEY,
    resource_type TEXT NOT NULL,
    resource_id BIGINT NOT NULL,
    resource_uuid TEXT NOT NULL,
    detail_key TEXT NOT NULL,
    detail_value TEXT NOT NULL,
    display BIGINT NOT NULL,
    account_id BIGINT NOT NULL REFERENCES account(id),
    domain_id BIGINT NOT NULL REFERENCES domain(id),
    created BIGINT NOT NULL
);
CREATE UNIQUE INDEX resource_detail_resource_key ON resource_detail (resource_type, resource_id, lower(detail_key));
CREATE INDEX resource_detail_match ON resource_detail (resource_type, lower(detail_key), lower(detail_value), id);
CREATE INDEX resource_detail_account ON resource_detail (account_id, id);
CREATE INDEX resource_detail_domain ON resource_detail (domain_id, id);
