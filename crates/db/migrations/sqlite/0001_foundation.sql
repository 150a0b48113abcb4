-- ferrostack foundation schema: identity, sessions, async jobs, events, management servers.
-- Kept identical to ../postgres/0001_foundation.sql except for the identity column type
-- (a test enforces this). Times are epoch milliseconds; booleans are 0/1 integers.

CREATE TABLE domain (
    id INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    parent_id BIGINT REFERENCES domain(id),
    path TEXT NOT NULL,
    level BIGINT NOT NULL,
    network_domain TEXT,
    state TEXT NOT NULL,
    created BIGINT NOT NULL,
    removed BIGINT
);
CREATE UNIQUE INDEX domain_live_name ON domain (parent_id, lower(name)) WHERE removed IS NULL;
CREATE INDEX domain_path ON domain (path);

CREATE TABLE role (
    id INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL UNIQUE,
    role_type TEXT NOT NULL,
    description TEXT NOT NULL,
    is_default BIGINT NOT NULL
);

CREATE TABLE account (
    id INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    domain_id BIGINT NOT NULL REFERENCES domain(id),
    account_type BIGINT NOT NULL,
    role_id BIGINT NOT NULL REFERENCES role(id),
    state TEXT NOT NULL,
    network_domain TEXT,
    is_default BIGINT NOT NULL,
    created BIGINT NOT NULL,
    removed BIGINT
);
CREATE UNIQUE INDEX account_live_name ON account (domain_id, lower(name)) WHERE removed IS NULL;
CREATE INDEX account_domain ON account (domain_id, id);

CREATE TABLE app_user (
    id INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    account_id BIGINT NOT NULL REFERENCES account(id),
    domain_id BIGINT NOT NULL REFERENCES domain(id),
    username TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    firstname TEXT NOT NULL,
    lastname TEXT NOT NULL,
    email TEXT,
    state TEXT NOT NULL,
    timezone TEXT,
    api_key TEXT UNIQUE,
    secret_key TEXT,
    is_default BIGINT NOT NULL,
    source TEXT NOT NULL,
    created BIGINT NOT NULL,
    removed BIGINT
);
CREATE UNIQUE INDEX app_user_live_name ON app_user (domain_id, username) WHERE removed IS NULL;
CREATE INDEX app_user_account ON app_user (account_id, id);

CREATE TABLE session (
    id TEXT PRIMARY KEY,
    session_key TEXT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES app_user(id),
    created BIGINT NOT NULL,
    last_access BIGINT NOT NULL
);
CREATE INDEX session_by_user ON session (user_id);

CREATE TABLE mshost (
    id INTEGER PRIMARY KEY,
    msid TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    state TEXT NOT NULL,
    last_heartbeat BIGINT NOT NULL
);

CREATE TABLE async_job (
    id INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    command TEXT NOT NULL,
    cmd_class TEXT NOT NULL,
    user_id BIGINT NOT NULL,
    account_id BIGINT NOT NULL,
    domain_id BIGINT NOT NULL,
    instance_type TEXT,
    instance_uuid TEXT,
    sync_key TEXT NOT NULL,
    params TEXT NOT NULL,
    state TEXT NOT NULL,
    step BIGINT NOT NULL,
    undoing BIGINT NOT NULL,
    status BIGINT NOT NULL,
    result_code BIGINT NOT NULL,
    result TEXT,
    owner TEXT,
    lease_until BIGINT,
    created BIGINT NOT NULL,
    completed BIGINT
);
CREATE INDEX async_job_pending ON async_job (status, id);
CREATE INDEX async_job_sync ON async_job (sync_key, status, id);
CREATE INDEX async_job_account ON async_job (account_id, id);
CREATE INDEX async_job_domain ON async_job (domain_id, id);
CREATE INDEX async_job_instance ON async_job (instance_uuid);

CREATE TABLE event (
    id INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    event_type TEXT NOT NULL,
    level TEXT NOT NULL,
    state TEXT NOT NULL,
    description TEXT NOT NULL,
    user_id BIGINT NOT NULL,
    account_id BIGINT NOT NULL,
    domain_id BIGINT NOT NULL,
    resource_type TEXT,
    resource_uuid TEXT,
    resource_name TEXT,
    start_id BIGINT,
    job_uuid TEXT,
    created BIGINT NOT NULL,
    archived BIGINT NOT NULL
);
CREATE INDEX event_account ON event (account_id, id);
CREATE INDEX event_domain ON event (domain_id, id);
CREATE INDEX event_type ON event (event_type, id);
CREATE INDEX event_created ON event (created);
CREATE INDEX event_resource ON event (resource_uuid);

CREATE TABLE configuration (
    name TEXT NOT NULL,
    scope TEXT NOT NULL,
    scope_id BIGINT NOT NULL,
    value TEXT NOT NULL,
    updated BIGINT NOT NULL,
    PRIMARY KEY (name, scope, scope_id)
);
