-- SSH key pairs and the user data registry (owned by accounts), and the link from a
-- template to its user data. Self-contained: references only the foundation tables.

CREATE TABLE ssh_keypair (
    id INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    account_id BIGINT NOT NULL REFERENCES account(id),
    domain_id BIGINT NOT NULL REFERENCES domain(id),
    public_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    created BIGINT NOT NULL
);
CREATE UNIQUE INDEX ssh_keypair_name ON ssh_keypair (account_id, name);
CREATE UNIQUE INDEX ssh_keypair_fingerprint ON ssh_keypair (account_id, fingerprint);
CREATE INDEX ssh_keypair_domain ON ssh_keypair (domain_id, id);

CREATE TABLE user_data (
    id INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    account_id BIGINT NOT NULL REFERENCES account(id),
    domain_id BIGINT NOT NULL REFERENCES domain(id),
    user_data TEXT NOT NULL,
    params TEXT,
    created BIGINT NOT NULL,
    removed BIGINT
);
CREATE UNIQUE INDEX user_data_name ON user_data (account_id, name) WHERE removed IS NULL;
CREATE INDEX user_data_account ON user_data (account_id, id);
CREATE INDEX user_data_domain ON user_data (domain_id, id);

-- Keyed by the template's integer id (vm_template.id); no foreign key so that this table
-- does not depend on the template migrations.
CREATE TABLE template_userdata (
    template_id BIGINT PRIMARY KEY,
    userdata_id BIGINT NOT NULL REFERENCES user_data(id),
    policy TEXT NOT NULL,
    updated BIGINT NOT NULL
);
CREATE INDEX template_userdata_by_userdata ON template_userdata (userdata_id);
