-- Staff accounts, their sign-in sessions, and the audit trail.
--
-- Portable SQL (SQLite now, PostgreSQL later) except where marked
-- "SQLite:": the audit id column and the triggers that make the audit
-- trail append-only. Times are BIGINT milliseconds since the Unix epoch
-- (UTC); ids are UUID text; booleans are 0/1 SMALLINT.

CREATE TABLE accounts (
    id                   TEXT PRIMARY KEY,
    email                TEXT NOT NULL UNIQUE,  -- stored lower-case
    first_name           TEXT NOT NULL,
    last_name            TEXT NOT NULL,
    role                 TEXT NOT NULL CHECK (role IN ('admin', 'staff', 'viewer')),
    password_hash        TEXT NOT NULL,         -- argon2id PHC string
    must_change_password SMALLINT NOT NULL,
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
    -- SQLite: an INTEGER PRIMARY KEY is assigned on insert.
    -- PostgreSQL: BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY.
    id             INTEGER PRIMARY KEY,
    at             BIGINT NOT NULL,
    actor_id       TEXT,
    actor_email    TEXT,
    client_addr    TEXT,
    method         TEXT NOT NULL,
    route          TEXT NOT NULL,
    action         TEXT NOT NULL,
    target_user_id TEXT,
    status         INTEGER NOT NULL,
    is_change      SMALLINT NOT NULL,
    changes        TEXT NOT NULL,               -- JSON array of {field, from, to}
    detail         TEXT
);

CREATE INDEX audit_by_time ON audit (at);
CREATE INDEX audit_by_target ON audit (target_user_id, at);
CREATE INDEX audit_by_actor ON audit (actor_email, at);

-- SQLite: the audit trail is append-only. (PostgreSQL: a trigger function
-- raising an exception, or REVOKE UPDATE, DELETE from the gateway's role.)
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit trail is append-only');
END;

CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit trail is append-only');
END;
