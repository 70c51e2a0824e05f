-- 0004_reserved_workflow.sql — a placeholder, to be removed at merge.
--
-- Schema version 4 belongs to the inspector workflow on another branch (its
-- own 0004_*.sql). This branch's change is 0005_sealing.sql, and migrations
-- must be numbered without gaps, so this file holds the number. It changes
-- nothing: applied, it only moves user_version to 4.
SELECT 1;
