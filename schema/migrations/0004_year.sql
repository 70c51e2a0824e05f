-- 0004_year.sql — the co-inspector's whole year (issue #14;
-- docs/workflow.md): tasks that close, and the records the guide asks a
-- co-inspector to keep besides patrols.
--
-- Applied by core/store.c inside one transaction with PRAGMA user_version = 4.
-- (Version 3 is the SMS work's; 0003_reserved.sql holds its number.)

-- ---- re-inspection tasks close (非法行医 3.4.1, 3.4.2) ----

-- A task is open, done (by a re-inspection, or by hand with what was done)
-- or cancelled (by the agency). Done: when, by which finished inspection,
-- and the inspector's words.
ALTER TABLE tasks ADD COLUMN done_at_ms INTEGER;
ALTER TABLE tasks ADD COLUMN done_inspection_id TEXT REFERENCES inspections (id);
ALTER TABLE tasks ADD COLUMN result TEXT;
CREATE INDEX tasks_site ON tasks (site_id, state);
CREATE INDEX tasks_lead ON tasks (lead_id);
