-- The support desk (issue 14): what the fleet watch saw of each device,
-- the support cases linked to Podero end-users with their timelines, and
-- the outgoing webhook's deliveries. The same SQL on SQLite and
-- PostgreSQL except the id columns. Times are ms since the epoch; ids of
-- Podero objects and accounts are UUID text; booleans 0/1 SMALLINT.

-- Each device as the watch last saw it. `lost_since` is set while it is
-- not authenticated; `removed_at` once it is gone from its user.
CREATE TABLE watch_devices (
    device_id         TEXT PRIMARY KEY,
    user_id           TEXT NOT NULL,
    kind              TEXT NOT NULL,
    label             TEXT NOT NULL,
    is_authenticated  SMALLINT NOT NULL,
    connection_status TEXT,
    monitoring_status TEXT,
    steering_status   TEXT,
    last_data_at      BIGINT,
    lost_since        BIGINT,
    first_seen_at     BIGINT NOT NULL,
    checked_at        BIGINT NOT NULL,
    removed_at        BIGINT
);

CREATE INDEX watch_devices_by_user ON watch_devices (user_id);
CREATE INDEX watch_devices_lost ON watch_devices (is_authenticated);

-- When the watch last read each user's devices.
CREATE TABLE watch_users (
    user_id    TEXT PRIMARY KEY,
    checked_at BIGINT NOT NULL
);

-- Transitions: lost, reconnected, added, removed.
CREATE TABLE watch_transitions (
    id        INTEGER PRIMARY KEY,
    device_id TEXT NOT NULL,
    user_id   TEXT NOT NULL,
    kind      TEXT NOT NULL,
    at        BIGINT NOT NULL
);

CREATE INDEX watch_transitions_by_user ON watch_transitions (user_id, at);
CREATE INDEX watch_transitions_by_time ON watch_transitions (at);

-- The watch's place in its round (one row, name 'fleet'): the last user
-- id done, when the round began, and the last complete round.
CREATE TABLE watch_progress (
    name                  TEXT PRIMARY KEY,
    cursor                TEXT,
    round_started_at      BIGINT,
    round_users_checked   BIGINT NOT NULL,
    rounds_completed      BIGINT NOT NULL,
    last_round_finished_at BIGINT,
    last_round_ms         BIGINT
);

CREATE TABLE cases (
    id            INTEGER PRIMARY KEY,
    user_id       TEXT NOT NULL,
    user_name     TEXT NOT NULL,
    device_id     TEXT,
    device_kind   TEXT,
    device_label  TEXT,
    kind          TEXT NOT NULL,
    subject       TEXT NOT NULL,
    priority      TEXT NOT NULL,
    state         TEXT NOT NULL,
    assignee_id   TEXT,
    opened_at     BIGINT NOT NULL,
    opened_by     TEXT,
    updated_at    BIGINT NOT NULL,
    resolved_at   BIGINT,
    lost_since    BIGINT
);

CREATE INDEX cases_by_user ON cases (user_id, opened_at);
CREATE INDEX cases_by_state ON cases (state, opened_at);
-- One open device-connection case per device, whoever opens it.
CREATE UNIQUE INDEX cases_one_open_per_device ON cases (device_id)
    WHERE kind = 'device_connection' AND state <> 'resolved';

CREATE TABLE case_events (
    id            INTEGER PRIMARY KEY,
    case_id       BIGINT NOT NULL,
    at            BIGINT NOT NULL,
    actor         TEXT,
    kind          TEXT NOT NULL,
    text          TEXT,
    from_value    TEXT,
    to_value      TEXT,
    duration_secs BIGINT
);

CREATE INDEX case_events_by_case ON case_events (case_id, id);

-- The outgoing webhook: each message, its attempts and outcome.
CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY,
    event           TEXT NOT NULL,
    case_id         BIGINT NOT NULL,
    payload         TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    state           TEXT NOT NULL,
    attempts        BIGINT NOT NULL,
    last_attempt_at BIGINT,
    last_status     BIGINT,
    last_error      TEXT,
    next_attempt_at BIGINT
);

CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
