-- 0003_reserved_sms.sql — a placeholder, to be removed at merge.
--
-- Schema version 3 belongs to the SMS fallback on another branch (its own
-- 0003_*.sql), version 4 to the inspector workflow (0004_*.sql). This
-- branch's change is 0005_sealing.sql, and migrations must be numbered
-- without gaps, so this file holds the number. It changes nothing: applied,
-- it only moves user_version to 3.
SELECT 1;
