-- Several replicas (issue 13): what was in one process's memory moves to
-- the database every replica shares. The same SQL on SQLite and
-- PostgreSQL.

-- Failed sign-ins (and password checks) per key within a window:
-- `account:<e-mail>` and `client:<address>`. A row counts the attempts
-- begun since `window_start` (ms since the epoch); the housekeeping job
-- deletes rows whose window has passed.
CREATE TABLE sign_in_throttle (
    key          TEXT PRIMARY KEY,
    window_start BIGINT NOT NULL,
    attempts     BIGINT NOT NULL
);

-- Once-per-cluster background jobs: the replica named `holder` runs job
-- `name` until `expires_at` (ms since the epoch) and renews it while it
-- lives; after that any replica may take it over.
CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
