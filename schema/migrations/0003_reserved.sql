-- 0003_reserved.sql — a placeholder, to be replaced at merge.
--
-- Schema version 3 belongs to the SMS work on another branch (its own
-- 0003_*.sql). This branch's schema changes are 0004_year.sql, and the
-- migrations must be numbered without gaps, so this file holds the number.
-- It changes nothing: applied, it only moves user_version to 3.
SELECT 1;
