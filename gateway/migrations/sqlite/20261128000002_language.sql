-- Languages (issue 12): the language an account chose in the app's switch,
-- `de` or `en`; NULL: follow the browser (`Accept-Language`).
--
-- Portable SQL (SQLite now, PostgreSQL later).

ALTER TABLE accounts ADD COLUMN language TEXT;
