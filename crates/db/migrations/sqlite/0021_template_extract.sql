-- Download links of extracted templates and ISOs (extractTemplate / extractIso,
-- mode HTTP_DOWNLOAD). The management server serves the image itself under
-- /client/extract/<uuid>/<token>; only the SHA-256 of the random token is kept, so the rows
-- are no key to the links. A link is scoped to one template and expires (expires, epoch ms,
-- from extract.url.expiration.interval); expired rows are deleted as new links are made.

CREATE TABLE template_extract (
    id INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    template_id BIGINT NOT NULL REFERENCES vm_template(id),
    zone_id BIGINT NOT NULL REFERENCES zone(id),
    account_id BIGINT NOT NULL REFERENCES account(id),
    token_hash TEXT NOT NULL,
    mode TEXT NOT NULL,
    expires BIGINT NOT NULL,
    created BIGINT NOT NULL
);
CREATE INDEX template_extract_expires ON template_extract (expires);
