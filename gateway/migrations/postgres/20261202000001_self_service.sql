-- Customer self-service (issue 15): the links agents create for one
-- end-user, and the outbox of messages to customers. The same SQL on
-- SQLite and PostgreSQL except the id columns. Times are ms since the
-- epoch; ids of Podero users and accounts are UUID text.

-- A link: only the SHA-256 of its token is kept (hex), so a copy of the
-- database does not open anyone's page.
CREATE TABLE self_service_links (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash    TEXT NOT NULL UNIQUE,
    user_id       TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    created_by    TEXT,
    expires_at    BIGINT NOT NULL,
    revoked_at    BIGINT,
    revoked_by    TEXT,
    last_used_at  BIGINT,
    uses          BIGINT NOT NULL DEFAULT 0,
    sent_to       TEXT,
    case_id       BIGINT
);

CREATE INDEX self_service_links_by_user ON self_service_links (user_id, created_at);

-- Messages to customers: sent by the mail job when a mail server is
-- configured (state queued -> sent | failed), else kept here (held).
CREATE TABLE mail_outbox (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at      BIGINT NOT NULL,
    created_by      TEXT,
    to_addr         TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,
    language        TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    case_id         BIGINT,
    link_id         BIGINT,
    state           TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT,
    last_error      TEXT,
    sent_at         BIGINT
);

CREATE INDEX mail_outbox_due ON mail_outbox (state, next_attempt_at);
