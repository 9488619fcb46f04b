-- Languages (issue 12): the language an account chose in the app's switch,
-- `de` or `en`; NULL: follow the browser (`Accept-Language`).
--
-- The same SQL on SQLite and PostgreSQL.

ALTER TABLE accounts ADD COLUMN language TEXT;
