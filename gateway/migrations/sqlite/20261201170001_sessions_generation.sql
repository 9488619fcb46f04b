-- Sessions remembered per replica (issue 17): one number that every
-- change which can end a session or change what the guard reads of an
-- account raises, in the same transaction, by the triggers below. Each
-- replica reads it at every request and forgets what it remembered when
-- it moved (src/auth/session_cache.rs). The same table on PostgreSQL.
CREATE TABLE auth_generation (
    id         BIGINT PRIMARY KEY,
    generation BIGINT NOT NULL
);

INSERT INTO auth_generation (id, generation) VALUES (1, 0);

CREATE TRIGGER auth_generation_account_update AFTER UPDATE ON accounts
BEGIN
    UPDATE auth_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER auth_generation_account_delete AFTER DELETE ON accounts
BEGIN
    UPDATE auth_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER auth_generation_session_end AFTER UPDATE OF ended_at ON sessions
BEGIN
    UPDATE auth_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER auth_generation_session_delete AFTER DELETE ON sessions
BEGIN
    UPDATE auth_generation SET generation = generation + 1 WHERE id = 1;
END;
