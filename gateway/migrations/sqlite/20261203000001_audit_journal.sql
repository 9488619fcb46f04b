-- How far each audit journal has been moved into the audit table (issue
-- 17, src/audit/journal.rs): a gateway process appends the records of
-- reads to a journal of its own on its disk, and moves them here in large
-- transactions that also advance this row, so after a crash it resumes
-- exactly where the last commit left off. The row goes when the journal
-- is read to its end and removed. The same table on both stores.
CREATE TABLE audit_journal (
    journal  TEXT PRIMARY KEY,
    segment  BIGINT NOT NULL,
    position BIGINT NOT NULL
);
