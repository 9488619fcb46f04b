-- Sync runs (issue 16): a customer file applied to Podero row by row by
-- the once-per-cluster sync job. The same SQL on SQLite and PostgreSQL.

-- One run. `active` is 1 while the run is running or paused and NULL
-- when it is done: the unique index lets only one run be active at a
-- time, also when two replicas start one at once.
CREATE TABLE sync_runs (
    id          TEXT PRIMARY KEY,
    state       TEXT NOT NULL,
    active      BIGINT UNIQUE,
    started_at  BIGINT NOT NULL,
    finished_at BIGINT,
    actor_id    TEXT,
    actor_email TEXT NOT NULL,
    client_addr TEXT,
    writes      BIGINT NOT NULL
);

-- Every row of the run's file (and the missing users to archive), in
-- file order: the write it needs (`op`: create, update, archive; NULL:
-- none), its outcome (pending, created, updated, archived, skipped,
-- failed) and why. `sent` is 1 once the write may have reached Podero,
-- so a run resumed after a restart checks such a row instead of doing it
-- blindly again.
CREATE TABLE sync_rows (
    run_id           TEXT NOT NULL,
    seq              BIGINT NOT NULL,
    line             BIGINT NOT NULL,
    op               TEXT,
    user_id          TEXT,
    external_user_id TEXT,
    email            TEXT,
    body             TEXT,
    changes          TEXT NOT NULL,
    outcome          TEXT NOT NULL,
    reason           TEXT,
    sent             BIGINT NOT NULL,
    PRIMARY KEY (run_id, seq)
);

CREATE INDEX sync_rows_by_outcome ON sync_rows (run_id, outcome, seq);
