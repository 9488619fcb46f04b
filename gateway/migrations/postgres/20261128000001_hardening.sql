-- Hardening (issue 11): PostgreSQL's copy of sqlite/20261128000001_hardening.sql.

-- When the one-time password stops working (ms since the epoch); NULL for
-- a password the person chose, and for the first admin's.
ALTER TABLE accounts ADD COLUMN password_expires_at BIGINT;

-- How many requests a record stands for (folded refusals; otherwise 1).
ALTER TABLE audit ADD COLUMN count BIGINT NOT NULL DEFAULT 1;

-- An outcome record names the intent record written before the change
-- was forwarded (status 0).
ALTER TABLE audit ADD COLUMN outcome_of BIGINT;

CREATE INDEX audit_by_outcome ON audit (outcome_of);

-- One-time passwords issued before this migration expire like new ones
-- (72 h from now), except the first admin's.
UPDATE accounts
SET password_expires_at = CAST(EXTRACT(EPOCH FROM now()) AS BIGINT) * 1000 + 72 * 3600 * 1000
WHERE must_change_password = 1
  AND id <> (SELECT id FROM accounts ORDER BY created_at, email LIMIT 1);
