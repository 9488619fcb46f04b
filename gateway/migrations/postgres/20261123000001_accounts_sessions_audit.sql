-- Staff accounts, their sign-in sessions, and the audit trail.
--
-- PostgreSQL's copy of sqlite/20261123000001_accounts_sessions_audit.sql:
-- the same tables and columns (a test compares both schemas). Times are
-- BIGINT milliseconds since the Unix epoch (UTC); ids are UUID text;
-- booleans are 0/1 integers; every integer is BIGINT here (SQLite's
-- integers are 64-bit whatever their declared type).

CREATE TABLE accounts (
    id                   TEXT PRIMARY KEY,
    email                TEXT NOT NULL UNIQUE,  -- stored lower-case
    first_name           TEXT NOT NULL,
    last_name            TEXT NOT NULL,
    role                 TEXT NOT NULL CHECK (role IN ('admin', 'staff', 'viewer')),
    password_hash        TEXT NOT NULL,         -- argon2id PHC string
    must_change_password BIGINT NOT NULL,
    podero_user_id       TEXT,                  -- their Podero team member (admin, staff)
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL
);

CREATE TABLE sessions (
    token_hash   TEXT PRIMARY KEY,              -- hex SHA-256 of the cookie's token
    account_id   TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,               -- absolute end
    client_addr  TEXT,
    user_agent   TEXT,
    ended_at     BIGINT                         -- signed out or revoked
);

CREATE INDEX sessions_by_account ON sessions (account_id);

CREATE TABLE audit (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at             BIGINT NOT NULL,
    actor_id       TEXT,
    actor_email    TEXT,
    client_addr    TEXT,
    method         TEXT NOT NULL,
    route          TEXT NOT NULL,
    action         TEXT NOT NULL,
    target_user_id TEXT,
    status         BIGINT NOT NULL,
    is_change      BIGINT NOT NULL,
    changes        TEXT NOT NULL,               -- JSON array of {field, from, to}
    detail         TEXT
);

CREATE INDEX audit_by_time ON audit (at);
CREATE INDEX audit_by_target ON audit (target_user_id, at);
CREATE INDEX audit_by_actor ON audit (actor_email, at);

-- The audit trail is append-only: UPDATE, DELETE and TRUNCATE are refused.
CREATE FUNCTION audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only';
END;
$$;

CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();

CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();

CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
