-- 0002_scale.sql — every daily lookup an index, at 100 000 sites and a year
-- of history (issue #9; docs/architecture.md, "Scale").
--
-- Applied by core/store.c inside one transaction with PRAGMA user_version = 2.
-- What it adds is derived: the registry's rows and the journal are untouched
-- except for three new `sites` columns. The derived tables (R*Tree, name
-- bigrams, counters, the due order) are kept in step by the triggers below,
-- in the same transaction as every change, whoever writes the row.
--
-- Needs SQLite's R*Tree module (SQLITE_ENABLE_RTREE): Debian's system SQLite
-- has it; the Android build must compile its bundled SQLite with it, or this
-- migration fails (FIC_ESCHEMA, "no such module: rtree") and the store stays
-- at schema 1.

-- ---- sites: a stable integer key, the due order ----

-- `k` is the key of the site's entries in site_rtree and site_grams. Not the
-- rowid: VACUUM may renumber the rowids of a table without an INTEGER PRIMARY
-- KEY, and `sites` has a TEXT one. Set once, by sites_ai, never changed.
ALTER TABLE sites ADD COLUMN k INTEGER;
-- The date (local YYYY-MM-DD) of the site's latest finished patrol in its own
-- service area (NULL: never patrolled), the year of that patrol (YYYY) and
-- how many finished patrols in the area are dated in that year. Kept by the
-- inspections triggers; the due list reads them instead of counting patrols.
ALTER TABLE sites ADD COLUMN last_patrol TEXT;
ALTER TABLE sites ADD COLUMN patrol_year TEXT;
ALTER TABLE sites ADD COLUMN patrols_in_year INTEGER NOT NULL DEFAULT 0;
-- The service area of the site's kind, as plan.c's due list counts patrols.
ALTER TABLE sites ADD COLUMN patrol_area TEXT GENERATED ALWAYS AS (
	CASE kind WHEN 1 THEN 'drinking_water' WHEN 2 THEN 'drinking_water' WHEN 3 THEN 'school'
	          WHEN 7 THEN 'mch' WHEN 8 THEN 'occupational' ELSE 'medical_blood' END) VIRTUAL;

UPDATE sites SET k = rowid;
UPDATE sites SET last_patrol = (
	SELECT max(i.inspection_date) FROM inspections i INDEXED BY inspections_site
	WHERE i.site_id = sites.id AND i.state = 'finished' AND i.area = sites.patrol_area);
UPDATE sites SET patrol_year = substr(last_patrol, 1, 4), patrols_in_year = (
	SELECT count(*) FROM inspections i INDEXED BY inspections_site
	WHERE i.site_id = sites.id AND i.state = 'finished' AND i.area = sites.patrol_area
	AND i.inspection_date BETWEEN substr(sites.last_patrol, 1, 4) || '-01-01'
	                          AND substr(sites.last_patrol, 1, 4) || '-12-31')
	WHERE last_patrol IS NOT NULL;

CREATE UNIQUE INDEX sites_k ON sites (k);
-- Search by kind and by name, in the order the list shows (name, id), so a
-- LIMIT stops early; replaces (kind, name), which left ties to a sort.
DROP INDEX sites_kind_name;
CREATE INDEX sites_kind_name_id ON sites (kind, name, id);
CREATE INDEX sites_name_id ON sites (name, id);
-- "Near" uses site_rtree now.
DROP INDEX sites_lat;
-- The due list, most overdue first: open sites of an area by last patrol
-- (never patrolled first: NULL sorts first), then name.
CREATE INDEX sites_due ON sites (patrol_area, last_patrol, name, id) WHERE status != 2;

-- ---- near: an R*Tree of the sites' locations ----

-- Each located site as a point box: 32-bit floats, which the module rounds
-- outwards, so the box always holds the exact point and is at most a metre
-- or so across. core/site.c bounds distances from the box and reads the exact
-- coordinates of the few sites it keeps. (No auxiliary columns: reading one
-- costs a lookup in a shadow table per row, 5x the box query itself.)
CREATE VIRTUAL TABLE site_rtree USING rtree (k, minlat, maxlat, minlon, maxlon);
INSERT INTO site_rtree (k, minlat, maxlat, minlon, maxlon)
	SELECT k, lat, lat, lon, lon FROM sites WHERE lat IS NOT NULL AND lon IS NOT NULL;

-- ---- search by name: character bigrams ----

-- Positions 1..1000 (names are at most FIC_SITE_NAME_MAX = 200 bytes), to
-- cut a name into its bigrams inside a trigger (a trigger cannot use WITH).
CREATE TABLE name_positions (i INTEGER PRIMARY KEY);
INSERT INTO name_positions (i)
	SELECT a.i + 10 * b.i + 100 * c.i + 1
	FROM (SELECT 0 AS i UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL
	      SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL
	      SELECT 8 UNION ALL SELECT 9) a,
	     (SELECT 0 AS i UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL
	      SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL
	      SELECT 8 UNION ALL SELECT 9) b,
	     (SELECT 0 AS i UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL
	      SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL
	      SELECT 8 UNION ALL SELECT 9) c;
-- Every two-character substring of every site's name (SQLite's substr()
-- counts characters), once per site. A search for text of two or more
-- characters reads the sites holding its rarest bigram instead of every name
-- (core/site.c, fic_site_search).
CREATE TABLE site_grams (
	gram TEXT NOT NULL,
	k    INTEGER NOT NULL,
	PRIMARY KEY (gram, k)
) WITHOUT ROWID;
INSERT OR IGNORE INTO site_grams (gram, k)
	SELECT substr(s.name, p.i, 2), s.k FROM sites s JOIN name_positions p ON p.i < length(s.name);

-- ---- counters for status displays ----

-- Kept by triggers in the same transaction as each change, so
-- fic_store_stats_get() and the due summary read a few rows instead of
-- counting whole tables. fic_store_check() recounts and compares.
--   sites, audit             rows
--   outbox.pending           outbox rows in state pending or sent
--   open.<area>              sites not closed, per service area (patrol_area)
--   patrols1.<area>.<year>   sites not closed whose latest patrol year is
--   patrols2.<area>.<year>     <year>, with at least 1 / 2 patrols in it (the
--                              due summary: 2 = PATROLS_PER_YEAR, core/plan.c)
CREATE TABLE counts (
	name TEXT PRIMARY KEY,
	n    INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO counts (name, n) VALUES
	('sites', (SELECT count(*) FROM sites)),
	('audit', (SELECT count(*) FROM audit)),
	('outbox.pending', (SELECT count(*) FROM outbox WHERE state IN ('pending', 'sent')));
INSERT INTO counts (name, n)
	SELECT 'open.' || a.area, (SELECT count(*) FROM sites s WHERE s.status != 2 AND s.patrol_area = a.area)
	FROM (SELECT 'drinking_water' AS area UNION ALL SELECT 'school' UNION ALL
	      SELECT 'medical_blood' UNION ALL SELECT 'mch' UNION ALL SELECT 'occupational') a;
INSERT INTO counts (name, n)
	SELECT 'patrols1.' || patrol_area || '.' || patrol_year, count(*) FROM sites
	WHERE status != 2 AND patrol_year IS NOT NULL AND patrols_in_year >= 1 GROUP BY 1;
INSERT INTO counts (name, n)
	SELECT 'patrols2.' || patrol_area || '.' || patrol_year, count(*) FROM sites
	WHERE status != 2 AND patrol_year IS NOT NULL AND patrols_in_year >= 2 GROUP BY 1;

-- ---- the triggers that keep all of the above in step with `sites` ----

CREATE TRIGGER sites_ai AFTER INSERT ON sites BEGIN
	UPDATE sites SET k = (SELECT coalesce(max(k), 0) + 1 FROM sites)
		WHERE rowid = new.rowid AND new.k IS NULL;
	INSERT INTO site_rtree (k, minlat, maxlat, minlon, maxlon)
		SELECT k, lat, lat, lon, lon FROM sites
		WHERE rowid = new.rowid AND lat IS NOT NULL AND lon IS NOT NULL;
	INSERT OR IGNORE INTO site_grams (gram, k)
		SELECT substr(new.name, i, 2), (SELECT k FROM sites WHERE rowid = new.rowid)
		FROM name_positions WHERE i < length(new.name);
	UPDATE counts SET n = n + 1 WHERE name = 'sites';
	UPDATE counts SET n = n + 1 WHERE name = 'open.' || new.patrol_area AND new.status != 2;
	INSERT INTO counts (name, n) SELECT 'patrols1.' || new.patrol_area || '.' || new.patrol_year, 1
		WHERE new.status != 2 AND new.patrol_year IS NOT NULL AND new.patrols_in_year >= 1
		ON CONFLICT (name) DO UPDATE SET n = n + 1;
	INSERT INTO counts (name, n) SELECT 'patrols2.' || new.patrol_area || '.' || new.patrol_year, 1
		WHERE new.status != 2 AND new.patrol_year IS NOT NULL AND new.patrols_in_year >= 2
		ON CONFLICT (name) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER sites_k_fixed BEFORE UPDATE OF k ON sites
	WHEN old.k IS NOT NULL AND new.k IS NOT old.k BEGIN
	SELECT RAISE(ABORT, 'a site''s key k never changes');
END;

CREATE TRIGGER sites_au_location AFTER UPDATE OF lat, lon ON sites
	WHEN old.lat IS NOT new.lat OR old.lon IS NOT new.lon BEGIN
	DELETE FROM site_rtree WHERE k = old.k;
	INSERT INTO site_rtree (k, minlat, maxlat, minlon, maxlon)
		SELECT new.k, new.lat, new.lat, new.lon, new.lon
		WHERE new.lat IS NOT NULL AND new.lon IS NOT NULL;
END;

CREATE TRIGGER sites_au_name AFTER UPDATE OF name ON sites WHEN old.name IS NOT new.name BEGIN
	DELETE FROM site_grams WHERE k = old.k AND gram IN
		(SELECT substr(old.name, i, 2) FROM name_positions WHERE i < length(old.name));
	INSERT OR IGNORE INTO site_grams (gram, k)
		SELECT substr(new.name, i, 2), new.k FROM name_positions WHERE i < length(new.name);
END;

CREATE TRIGGER sites_au_open AFTER UPDATE OF status, kind ON sites
	WHEN (old.status != 2) IS NOT (new.status != 2) OR old.kind IS NOT new.kind BEGIN
	UPDATE counts SET n = n - 1 WHERE name = 'open.' || old.patrol_area AND old.status != 2;
	UPDATE counts SET n = n + 1 WHERE name = 'open.' || new.patrol_area AND new.status != 2;
END;

-- A site's share of the patrols counters follows its patrols, status and
-- area; a site of another kind is patrolled in another area, so its patrol
-- columns are that area's. One trigger, in this order: take the old share
-- out, recount the patrols if the area changed, put the share of the row as
-- it now is back in (NEW would be stale after the recount; a trigger does
-- not fire itself, so the recount does not come back here).
CREATE TRIGGER sites_au_patrols AFTER UPDATE OF patrol_year, patrols_in_year, status, kind ON sites
	WHEN old.patrol_year IS NOT new.patrol_year OR old.patrols_in_year IS NOT new.patrols_in_year
	  OR (old.status != 2) IS NOT (new.status != 2) OR old.patrol_area IS NOT new.patrol_area BEGIN
	UPDATE counts SET n = n - 1 WHERE name = 'patrols1.' || old.patrol_area || '.' || old.patrol_year
		AND old.status != 2 AND old.patrols_in_year >= 1;
	UPDATE counts SET n = n - 1 WHERE name = 'patrols2.' || old.patrol_area || '.' || old.patrol_year
		AND old.status != 2 AND old.patrols_in_year >= 2;
	UPDATE sites SET last_patrol = (
		SELECT max(i.inspection_date) FROM inspections i INDEXED BY inspections_site
		WHERE i.site_id = new.id AND i.state = 'finished' AND i.area = new.patrol_area)
		WHERE rowid = new.rowid AND old.patrol_area IS NOT new.patrol_area;
	UPDATE sites SET patrol_year = substr(last_patrol, 1, 4), patrols_in_year = coalesce((
		SELECT count(*) FROM inspections i INDEXED BY inspections_site
		WHERE i.site_id = new.id AND i.state = 'finished' AND i.area = new.patrol_area
		AND i.inspection_date BETWEEN substr(last_patrol, 1, 4) || '-01-01'
		                          AND substr(last_patrol, 1, 4) || '-12-31'), 0)
		WHERE rowid = new.rowid AND old.patrol_area IS NOT new.patrol_area;
	INSERT INTO counts (name, n) SELECT 'patrols1.' || patrol_area || '.' || patrol_year, 1
		FROM sites WHERE rowid = new.rowid AND status != 2 AND patrol_year IS NOT NULL
		AND patrols_in_year >= 1
		ON CONFLICT (name) DO UPDATE SET n = n + 1;
	INSERT INTO counts (name, n) SELECT 'patrols2.' || patrol_area || '.' || patrol_year, 1
		FROM sites WHERE rowid = new.rowid AND status != 2 AND patrol_year IS NOT NULL
		AND patrols_in_year >= 2
		ON CONFLICT (name) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER sites_ad AFTER DELETE ON sites BEGIN
	DELETE FROM site_rtree WHERE k = old.k;
	DELETE FROM site_grams WHERE k = old.k AND gram IN
		(SELECT substr(old.name, i, 2) FROM name_positions WHERE i < length(old.name));
	UPDATE counts SET n = n - 1 WHERE name = 'sites';
	UPDATE counts SET n = n - 1 WHERE name = 'open.' || old.patrol_area AND old.status != 2;
	UPDATE counts SET n = n - 1 WHERE name = 'patrols1.' || old.patrol_area || '.' || old.patrol_year
		AND old.status != 2 AND old.patrols_in_year >= 1;
	UPDATE counts SET n = n - 1 WHERE name = 'patrols2.' || old.patrol_area || '.' || old.patrol_year
		AND old.status != 2 AND old.patrols_in_year >= 2;
END;

-- A finished patrol of a site in its area moves the site back in the due
-- order and counts for the year it is dated in (a patrol dated in an earlier
-- year than the site's latest only moves nothing). The SET expressions all
-- read the row as it was.
CREATE TRIGGER inspections_ai_patrol AFTER INSERT ON inspections WHEN new.state = 'finished' BEGIN
	UPDATE sites SET
		patrols_in_year = CASE
			WHEN patrol_year IS substr(new.inspection_date, 1, 4) THEN patrols_in_year + 1
			WHEN patrol_year IS NULL OR patrol_year < substr(new.inspection_date, 1, 4) THEN 1
			ELSE patrols_in_year END,
		patrol_year = max(coalesce(patrol_year, ''), substr(new.inspection_date, 1, 4)),
		last_patrol = max(coalesce(last_patrol, ''), new.inspection_date)
		WHERE id = new.site_id AND patrol_area = new.area;
END;
CREATE TRIGGER inspections_au_patrol AFTER UPDATE OF state ON inspections
	WHEN new.state = 'finished' AND old.state IS NOT 'finished' BEGIN
	UPDATE sites SET
		patrols_in_year = CASE
			WHEN patrol_year IS substr(new.inspection_date, 1, 4) THEN patrols_in_year + 1
			WHEN patrol_year IS NULL OR patrol_year < substr(new.inspection_date, 1, 4) THEN 1
			ELSE patrols_in_year END,
		patrol_year = max(coalesce(patrol_year, ''), substr(new.inspection_date, 1, 4)),
		last_patrol = max(coalesce(last_patrol, ''), new.inspection_date)
		WHERE id = new.site_id AND patrol_area = new.area;
END;

CREATE TRIGGER audit_ai_count AFTER INSERT ON audit BEGIN
	UPDATE counts SET n = n + 1 WHERE name = 'audit';
END;

CREATE TRIGGER outbox_ai_count AFTER INSERT ON outbox WHEN new.state IN ('pending', 'sent') BEGIN
	UPDATE counts SET n = n + 1 WHERE name = 'outbox.pending';
END;
CREATE TRIGGER outbox_au_count AFTER UPDATE OF state ON outbox
	WHEN (old.state IN ('pending', 'sent')) != (new.state IN ('pending', 'sent')) BEGIN
	UPDATE counts SET n = n + CASE WHEN new.state IN ('pending', 'sent') THEN 1 ELSE -1 END
		WHERE name = 'outbox.pending';
END;
CREATE TRIGGER outbox_ad_count AFTER DELETE ON outbox WHEN old.state IN ('pending', 'sent') BEGIN
	UPDATE counts SET n = n - 1 WHERE name = 'outbox.pending';
END;

-- ---- the outbox: lookups by record, retention ----

-- Is the inspector's change to this site still pending, when did the server
-- receive it (core/site.c, fic__site_apply_feed); a lead's photos
-- (core/lead.c); fic_store_check().
CREATE INDEX outbox_record ON outbox (record_type, record_id, state);
-- Acknowledged rows are pruned after the retention (sync/queue.c, fic__outbox_prune).
CREATE INDEX outbox_acked ON outbox (received_at_ms) WHERE state = 'acked';
-- What the server refused, for the inspector to see (fic_sync_rejections_get).
CREATE INDEX outbox_rejected ON outbox (seq) WHERE state = 'rejected';

-- What is left of acknowledged outbox rows once pruned: no payload (the
-- personal data goes), only that the record reached the server and when —
-- the latest server receipt time per record. fic__site_apply_feed still
-- refuses a county version older than the inspector's change from it, and
-- fic_store_check() still finds every field-found site sent.
CREATE TABLE outbox_pruned (
	record_type     TEXT NOT NULL,
	record_id       TEXT NOT NULL,
	records         INTEGER NOT NULL,  -- acknowledged rows pruned for this record
	last_seq        INTEGER NOT NULL,  -- the newest of them
	received_at_ms  INTEGER,           -- the latest server receipt time among them
	pruned_at_ms    INTEGER NOT NULL,
	PRIMARY KEY (record_type, record_id)
) WITHOUT ROWID;

-- ---- leads, tasks, indicators ----

-- fic_lead_list_get's order (urgent first by deadline, then newest), so
-- "the first 50" reads 50 index entries instead of sorting every lead.
CREATE INDEX leads_list ON leads (urgent DESC, (CASE WHEN urgent THEN deadline_at_ms END),
                                  discovered_at_ms DESC, id);
-- fic_stats_json: leads of a year.
CREATE INDEX leads_discovered ON leads (discovered_at_ms);
-- Finished patrols of an area in a date range (the due summary, fic_stats_json).
CREATE INDEX inspections_patrol ON inspections (area, inspection_date, site_id)
	WHERE state = 'finished';
-- Open tasks by due date (fic_task_list_json).
CREATE INDEX tasks_open ON tasks (due_date, id) WHERE state = 'open';
