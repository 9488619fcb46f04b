-- Sessions remembered per replica (issue 17): one number that every
-- change which can end a session or change what the guard reads of an
-- account raises, in the same transaction, by the triggers below. Each
-- replica reads it at every request and forgets what it remembered when
-- it moved (src/auth/session_cache.rs). The same table on SQLite.
CREATE TABLE auth_generation (
    id         BIGINT PRIMARY KEY,
    generation BIGINT NOT NULL
);

INSERT INTO auth_generation (id, generation) VALUES (1, 0);

CREATE FUNCTION auth_generation_raise() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE auth_generation SET generation = generation + 1 WHERE id = 1;
    RETURN NULL;
END;
$$;

CREATE TRIGGER auth_generation_account_update AFTER UPDATE ON accounts
    FOR EACH ROW EXECUTE FUNCTION auth_generation_raise();

CREATE TRIGGER auth_generation_account_delete AFTER DELETE ON accounts
    FOR EACH ROW EXECUTE FUNCTION auth_generation_raise();

CREATE TRIGGER auth_generation_session_end AFTER UPDATE OF ended_at ON sessions
    FOR EACH ROW EXECUTE FUNCTION auth_generation_raise();

CREATE TRIGGER auth_generation_session_delete AFTER DELETE ON sessions
    FOR EACH ROW EXECUTE FUNCTION auth_generation_raise();
