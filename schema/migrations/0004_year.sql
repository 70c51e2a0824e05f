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

-- ---- settings the county pushes (semester start dates, the patrol plan) ----

-- 'county' when the county's settings feed set the value: the device then
-- refuses to change it by hand (学校卫生 三(一)2's semesters are the county's).
ALTER TABLE settings ADD COLUMN origin TEXT NOT NULL DEFAULT 'device';

-- ---- the due list per site and service area ----
--
-- Schema 2 gave each site one service area, its kind's. A site may be
-- patrolled in more than one (a hospital's maternal-and-child-health
-- services are patrolled as mch, 妇幼健康 三(一)1; the hospital itself as
-- medical_blood, 非法行医 三(一)1), the county may add areas of its own
-- (其他专业, 实施方案 二(二)7) and sets how often each is patrolled
-- (实施方案 一(三)2: at least twice a year, "适时调整"; each area's 巡查周期
-- "由辖区卫生健康委制定工作方案"). So:

-- The areas patrols are counted in: the guide's five and the county's own.
CREATE TABLE patrol_areas (
	area     TEXT PRIMARY KEY,
	title    TEXT NOT NULL,
	per_year INTEGER NOT NULL CHECK (per_year BETWEEN 1 AND 52), -- patrols a year, by default
	builtin  INTEGER NOT NULL DEFAULT 0,
	position INTEGER NOT NULL  -- the order areas are listed in
) WITHOUT ROWID;
INSERT INTO patrol_areas (area, title, per_year, builtin, position) VALUES
	('drinking_water', '饮用水卫生', 2, 1, 1), ('school', '学校卫生', 2, 1, 2),
	('medical_blood', '非法行医和非法采供血', 2, 1, 3), ('mch', '妇幼健康', 2, 1, 4),
	('occupational', '职业卫生', 2, 1, 5);

-- The kinds of site each area patrols by default, and how often (the
-- county's plan may change both). The guide's own: water supplies; schools;
-- every medical institution, blood and plasma station and other venue for
-- illegal practice (the MCH institution — 妇幼保健院 is named in 非法行医
-- 3.1.1.4 — included); MCH institutions for MCH services; employers.
CREATE TABLE area_kinds (
	area     TEXT NOT NULL REFERENCES patrol_areas (area),
	kind     INTEGER NOT NULL,
	per_year INTEGER NOT NULL CHECK (per_year BETWEEN 1 AND 52),
	PRIMARY KEY (area, kind)
) WITHOUT ROWID;
INSERT INTO area_kinds (area, kind, per_year) VALUES
	('drinking_water', 1, 2), ('drinking_water', 2, 2), ('school', 3, 2),
	('medical_blood', 4, 2), ('medical_blood', 5, 2), ('medical_blood', 6, 2),
	('medical_blood', 7, 2), ('medical_blood', 9, 2), ('mch', 7, 2), ('occupational', 8, 2);

-- Each site in each area it is patrolled in: by its kind (via 'kind'), because
-- a patrol of it in another area was finished (via 'patrol': a hospital's
-- MCH patrol makes it an MCH site), or because the county's registry says so
-- (via 'registry'). Its patrols there — the latest date, its year and how
-- many that year — and how many it needs a year. Kept by the triggers below.
CREATE TABLE site_areas (
	k               INTEGER NOT NULL,  -- sites.k
	area            TEXT NOT NULL,
	site_id         TEXT NOT NULL,
	name            TEXT NOT NULL,     -- the site's, for the due order
	kind            INTEGER NOT NULL,
	open            INTEGER NOT NULL,  -- 1 unless the site is closed
	via             TEXT NOT NULL CHECK (via IN ('kind', 'patrol', 'registry')),
	per_year        INTEGER NOT NULL,
	last_patrol     TEXT,
	patrol_year     TEXT,
	patrols_in_year INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (k, area)
) WITHOUT ROWID;

INSERT INTO site_areas (k, area, site_id, name, kind, open, via, per_year)
	SELECT s.k, ak.area, s.id, s.name, s.kind, s.status != 2, 'kind', ak.per_year
	FROM sites s JOIN area_kinds ak ON ak.kind = s.kind;
INSERT OR IGNORE INTO site_areas (k, area, site_id, name, kind, open, via, per_year)
	SELECT DISTINCT s.k, i.area, s.id, s.name, s.kind, s.status != 2, 'patrol', 2
	FROM inspections i JOIN sites s ON s.id = i.site_id
	WHERE i.state = 'finished' AND i.area IN (SELECT area FROM patrol_areas);
UPDATE site_areas SET last_patrol = (
	SELECT max(i.inspection_date) FROM inspections i INDEXED BY inspections_site
	WHERE i.site_id = site_areas.site_id AND i.state = 'finished' AND i.area = site_areas.area);
UPDATE site_areas SET patrol_year = substr(last_patrol, 1, 4), patrols_in_year = (
	SELECT count(*) FROM inspections i INDEXED BY inspections_site
	WHERE i.site_id = site_areas.site_id AND i.state = 'finished' AND i.area = site_areas.area
	AND i.inspection_date BETWEEN substr(site_areas.last_patrol, 1, 4) || '-01-01'
	                          AND substr(site_areas.last_patrol, 1, 4) || '-12-31')
	WHERE last_patrol IS NOT NULL;

-- The due list, most overdue first: an area's open sites by last patrol
-- (never first: NULL sorts first), then name.
CREATE INDEX site_areas_due ON site_areas (area, last_patrol, name, site_id) WHERE open = 1;
CREATE INDEX site_areas_site ON site_areas (site_id);

-- Schema 2's one-area-per-site columns, counters, index and triggers go.
DROP TRIGGER sites_au_open;
DROP TRIGGER sites_au_patrols;
DROP TRIGGER inspections_ai_patrol;
DROP TRIGGER inspections_au_patrol;
DROP TRIGGER sites_ai;
DROP TRIGGER sites_ad;
DROP INDEX sites_due;
DELETE FROM counts WHERE name LIKE 'open.%' OR name LIKE 'patrols1.%' OR name LIKE 'patrols2.%';
ALTER TABLE sites DROP COLUMN patrol_area;
ALTER TABLE sites DROP COLUMN last_patrol;
ALTER TABLE sites DROP COLUMN patrol_year;
ALTER TABLE sites DROP COLUMN patrols_in_year;

-- Counters (fic_due_summary_json reads them; fic_store_check recounts):
--   open.<area>          open sites in the area
--   seen.<area>.<year>   of them, those whose latest patrol year is <year>
--   done.<area>.<year>     with at least one / with all their patrols that year
INSERT INTO counts (name, n)
	SELECT 'open.' || area, count(*) FROM site_areas WHERE open = 1 GROUP BY area;
INSERT INTO counts (name, n)
	SELECT 'open.' || area, 0 FROM patrol_areas WHERE true
	ON CONFLICT (name) DO NOTHING;
INSERT INTO counts (name, n)
	SELECT 'seen.' || area || '.' || patrol_year, count(*) FROM site_areas
	WHERE open = 1 AND patrol_year IS NOT NULL AND patrols_in_year >= 1 GROUP BY 1;
INSERT INTO counts (name, n)
	SELECT 'done.' || area || '.' || patrol_year, count(*) FROM site_areas
	WHERE open = 1 AND patrol_year IS NOT NULL AND patrols_in_year >= per_year GROUP BY 1;

CREATE TRIGGER site_areas_ai AFTER INSERT ON site_areas BEGIN
	INSERT INTO counts (name, n) SELECT 'open.' || new.area, 1 WHERE new.open = 1
		ON CONFLICT (name) DO UPDATE SET n = n + 1;
	INSERT INTO counts (name, n) SELECT 'seen.' || new.area || '.' || new.patrol_year, 1
		WHERE new.open = 1 AND new.patrol_year IS NOT NULL AND new.patrols_in_year >= 1
		ON CONFLICT (name) DO UPDATE SET n = n + 1;
	INSERT INTO counts (name, n) SELECT 'done.' || new.area || '.' || new.patrol_year, 1
		WHERE new.open = 1 AND new.patrol_year IS NOT NULL AND new.patrols_in_year >= new.per_year
		ON CONFLICT (name) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER site_areas_ad AFTER DELETE ON site_areas BEGIN
	UPDATE counts SET n = n - 1 WHERE name = 'open.' || old.area AND old.open = 1;
	UPDATE counts SET n = n - 1 WHERE name = 'seen.' || old.area || '.' || old.patrol_year
		AND old.open = 1 AND old.patrols_in_year >= 1;
	UPDATE counts SET n = n - 1 WHERE name = 'done.' || old.area || '.' || old.patrol_year
		AND old.open = 1 AND old.patrols_in_year >= old.per_year;
END;

-- A row's share of the counters: the old one out, the new one in.
CREATE TRIGGER site_areas_au AFTER UPDATE OF open, per_year, patrol_year, patrols_in_year
	ON site_areas BEGIN
	UPDATE counts SET n = n - 1 WHERE name = 'open.' || old.area AND old.open = 1;
	UPDATE counts SET n = n - 1 WHERE name = 'seen.' || old.area || '.' || old.patrol_year
		AND old.open = 1 AND old.patrols_in_year >= 1;
	UPDATE counts SET n = n - 1 WHERE name = 'done.' || old.area || '.' || old.patrol_year
		AND old.open = 1 AND old.patrols_in_year >= old.per_year;
	INSERT INTO counts (name, n) SELECT 'open.' || new.area, 1 WHERE new.open = 1
		ON CONFLICT (name) DO UPDATE SET n = n + 1;
	INSERT INTO counts (name, n) SELECT 'seen.' || new.area || '.' || new.patrol_year, 1
		WHERE new.open = 1 AND new.patrol_year IS NOT NULL AND new.patrols_in_year >= 1
		ON CONFLICT (name) DO UPDATE SET n = n + 1;
	INSERT INTO counts (name, n) SELECT 'done.' || new.area || '.' || new.patrol_year, 1
		WHERE new.open = 1 AND new.patrol_year IS NOT NULL AND new.patrols_in_year >= new.per_year
		ON CONFLICT (name) DO UPDATE SET n = n + 1;
END;

-- Sites: schema 2's insert and delete triggers, with the site's areas.
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
	INSERT INTO site_areas (k, area, site_id, name, kind, open, via, per_year)
		SELECT s.k, ak.area, s.id, s.name, s.kind, s.status != 2, 'kind', ak.per_year
		FROM sites s JOIN area_kinds ak ON ak.kind = s.kind WHERE s.rowid = new.rowid;
END;

CREATE TRIGGER sites_ad AFTER DELETE ON sites BEGIN
	DELETE FROM site_rtree WHERE k = old.k;
	DELETE FROM site_grams WHERE k = old.k AND gram IN
		(SELECT substr(old.name, i, 2) FROM name_positions WHERE i < length(old.name));
	UPDATE counts SET n = n - 1 WHERE name = 'sites';
	DELETE FROM site_areas WHERE k = old.k;
END;

CREATE TRIGGER sites_au_areas AFTER UPDATE OF status, name ON sites
	WHEN (old.status != 2) IS NOT (new.status != 2) OR old.name IS NOT new.name BEGIN
	UPDATE site_areas SET open = (new.status != 2), name = new.name WHERE k = new.k;
END;

-- A site of another kind leaves the areas of its old kind (not those it
-- joined by a patrol or the registry) and joins those of the new one, with
-- the patrols it already had there.
CREATE TRIGGER sites_au_kind AFTER UPDATE OF kind ON sites WHEN old.kind IS NOT new.kind BEGIN
	DELETE FROM site_areas WHERE k = new.k AND via = 'kind'
		AND area NOT IN (SELECT area FROM area_kinds WHERE kind = new.kind);
	INSERT INTO site_areas (k, area, site_id, name, kind, open, via, per_year)
		SELECT new.k, ak.area, new.id, new.name, new.kind, new.status != 2, 'kind', ak.per_year
		FROM area_kinds ak WHERE ak.kind = new.kind
		ON CONFLICT (k, area) DO UPDATE SET via = 'kind';
	UPDATE site_areas SET kind = new.kind, per_year = coalesce(
		(SELECT per_year FROM area_kinds WHERE area = site_areas.area AND kind = new.kind),
		(SELECT per_year FROM patrol_areas WHERE area = site_areas.area), 2)
		WHERE k = new.k;
	UPDATE site_areas SET last_patrol = (
		SELECT max(i.inspection_date) FROM inspections i INDEXED BY inspections_site
		WHERE i.site_id = new.id AND i.state = 'finished' AND i.area = site_areas.area)
		WHERE k = new.k AND last_patrol IS NULL;
	UPDATE site_areas SET patrol_year = substr(last_patrol, 1, 4), patrols_in_year = (
		SELECT count(*) FROM inspections i INDEXED BY inspections_site
		WHERE i.site_id = new.id AND i.state = 'finished' AND i.area = site_areas.area
		AND i.inspection_date BETWEEN substr(site_areas.last_patrol, 1, 4) || '-01-01'
		                          AND substr(site_areas.last_patrol, 1, 4) || '-12-31')
		WHERE k = new.k AND last_patrol IS NOT NULL AND patrol_year IS NULL;
END;

-- A finished patrol counts in its area for the year it is dated in; a site
-- patrolled in an area it was not in joins it (a patrol dated in an earlier
-- year than the latest moves nothing). The SET expressions read the row as
-- it was.
CREATE TRIGGER inspections_ai_patrol AFTER INSERT ON inspections WHEN new.state = 'finished' BEGIN
	INSERT OR IGNORE INTO site_areas (k, area, site_id, name, kind, open, via, per_year)
		SELECT s.k, new.area, s.id, s.name, s.kind, s.status != 2, 'patrol', coalesce(
			(SELECT per_year FROM area_kinds WHERE area = new.area AND kind = s.kind),
			(SELECT per_year FROM patrol_areas WHERE area = new.area), 2)
		FROM sites s WHERE s.id = new.site_id AND new.area IN (SELECT area FROM patrol_areas);
	UPDATE site_areas SET
		patrols_in_year = CASE
			WHEN patrol_year IS substr(new.inspection_date, 1, 4) THEN patrols_in_year + 1
			WHEN patrol_year IS NULL OR patrol_year < substr(new.inspection_date, 1, 4) THEN 1
			ELSE patrols_in_year END,
		patrol_year = max(coalesce(patrol_year, ''), substr(new.inspection_date, 1, 4)),
		last_patrol = max(coalesce(last_patrol, ''), new.inspection_date)
		WHERE site_id = new.site_id AND area = new.area;
END;
CREATE TRIGGER inspections_au_patrol AFTER UPDATE OF state ON inspections
	WHEN new.state = 'finished' AND old.state IS NOT 'finished' BEGIN
	INSERT OR IGNORE INTO site_areas (k, area, site_id, name, kind, open, via, per_year)
		SELECT s.k, new.area, s.id, s.name, s.kind, s.status != 2, 'patrol', coalesce(
			(SELECT per_year FROM area_kinds WHERE area = new.area AND kind = s.kind),
			(SELECT per_year FROM patrol_areas WHERE area = new.area), 2)
		FROM sites s WHERE s.id = new.site_id AND new.area IN (SELECT area FROM patrol_areas);
	UPDATE site_areas SET
		patrols_in_year = CASE
			WHEN patrol_year IS substr(new.inspection_date, 1, 4) THEN patrols_in_year + 1
			WHEN patrol_year IS NULL OR patrol_year < substr(new.inspection_date, 1, 4) THEN 1
			ELSE patrols_in_year END,
		patrol_year = max(coalesce(patrol_year, ''), substr(new.inspection_date, 1, 4)),
		last_patrol = max(coalesce(last_patrol, ''), new.inspection_date)
		WHERE site_id = new.site_id AND area = new.area;
END;

-- ---- the phone or fax call that meets a two-hour duty ----

-- 食源性疾病 三(二): the foodborne report is made "在两小时内采用电话或传真等形式
-- 报告辖区疾病预防控制机构" — a call, recorded apart from the upload: when,
-- how, to whom. A call made by the deadline meets the duty (the lead is no
-- longer at risk) whenever the upload gets through. Any lead may have calls
-- (an urgent lead at risk is phoned in).
CREATE TABLE lead_calls (
	id               TEXT PRIMARY KEY,
	lead_id          TEXT NOT NULL REFERENCES leads (id),
	method           TEXT NOT NULL CHECK (method IN ('phone', 'fax')),
	called_at_ms     INTEGER NOT NULL, -- device UTC, as the inspector says it was
	to_whom          TEXT NOT NULL,
	note             TEXT,
	inspector        TEXT,
	created_at_ms    INTEGER NOT NULL,
	t_device_ms      INTEGER, t_mono_ms INTEGER, t_boot_id TEXT, t_trusted_ms INTEGER,
	t_uncertainty_ms INTEGER, t_flags INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX lead_calls_lead ON lead_calls (lead_id, called_at_ms);

-- ---- how a patrol was made ----

-- 明查 (announced) or 暗访 (unannounced) — seed 002's two kinds of
-- supervision visit; NULL when not said. The scan of a posted place code
-- that started the visit, its proof of presence (site_scans below).
ALTER TABLE inspections ADD COLUMN visit_mode TEXT
	CHECK (visit_mode IS NULL OR visit_mode IN ('announced', 'unannounced'));
ALTER TABLE inspections ADD COLUMN scan_id TEXT;

-- ---- place codes (场所码) and the scans that start visits ----

-- Every code a site holds (一门一码、一店一码, seeds 003/004), by the key
-- fic_place_code_parse gives its payload — the same code however a scanner
-- spaced it. The site's own place_code is its primary code; the keys of codes
-- stored before schema 4 are made at the first open (core/model/sitecode.c).
CREATE TABLE site_codes (
	key         TEXT PRIMARY KEY,
	site_id     TEXT NOT NULL REFERENCES sites (id),
	payload     TEXT NOT NULL,  -- as first given
	label       TEXT,           -- 南门, 二楼药房, 许可证
	is_primary  INTEGER NOT NULL DEFAULT 0,
	added_at_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX site_codes_site ON site_codes (site_id);

-- A code scanned at a site: the proof of presence (chained and uploaded),
-- what the code carried and how it differs from the registry, and the visit
-- it started.
CREATE TABLE site_scans (
	id               TEXT PRIMARY KEY,
	site_id          TEXT NOT NULL REFERENCES sites (id),
	code_key         TEXT NOT NULL,
	payload          TEXT NOT NULL,
	facts            TEXT NOT NULL, -- JSON: the facts the code carried
	differences      TEXT NOT NULL, -- JSON: [{field, registry, code}]
	lat              REAL,
	lon              REAL,
	accuracy_m       REAL,
	inspection_id    TEXT,
	inspector        TEXT,
	created_at_ms    INTEGER NOT NULL,
	t_device_ms INTEGER, t_mono_ms INTEGER, t_boot_id TEXT, t_trusted_ms INTEGER,
	t_uncertainty_ms INTEGER, t_flags INTEGER NOT NULL DEFAULT 0,
	chain_seq        INTEGER,
	hash             TEXT
);
CREATE INDEX site_scans_site ON site_scans (site_id, created_at_ms);

-- ---- what a co-inspector keeps besides patrols ----

-- Publicity and training (宣传教育: 实施方案 二(四)4 — 普法五进, training of
-- water-supply staff and school health staff; each area's 三(三)) and
-- assistance in cases (协助案件查办: 实施方案 一(二), 职业卫生 二): the
-- plan's indicators 3 (案件查办数量) and 4 (普法宣传次数), 一(三)3–4.
CREATE TABLE activities (
	id            TEXT PRIMARY KEY,
	kind          TEXT NOT NULL CHECK (kind IN ('publicity', 'training', 'case')),
	area          TEXT NOT NULL,
	activity_date TEXT NOT NULL,  -- local YYYY-MM-DD
	topic         TEXT NOT NULL,
	place         TEXT,
	audience      TEXT,
	people        INTEGER,        -- reached, trained; NULL if not counted
	channel       TEXT,           -- 普法五进: organs, communities, villages, schools, enterprises
	format        TEXT,           -- 资料, 讲座, 宣传栏, 音像 …
	case_ref      TEXT,           -- the agency's case number
	site_id       TEXT REFERENCES sites (id),
	note          TEXT,
	inspector     TEXT,
	created_at_ms INTEGER NOT NULL
);
CREATE INDEX activities_date ON activities (activity_date, kind);

-- Water samples taken with the agency (协助开展饮用水水质抽检, 饮用水 二):
-- the sample's number, where and when it was taken, who took it and who
-- received it; the laboratory's result when the county sends it.
CREATE TABLE samples (
	id            TEXT PRIMARY KEY,
	sample_no     TEXT NOT NULL UNIQUE,
	site_id       TEXT NOT NULL REFERENCES sites (id),
	point         TEXT NOT NULL,
	taken_at_ms   INTEGER NOT NULL,
	taken_by      TEXT NOT NULL,
	received_by   TEXT NOT NULL,
	note          TEXT,
	result        TEXT CHECK (result IS NULL OR result IN ('pass', 'fail')),
	result_detail TEXT,
	result_on     TEXT,          -- the laboratory's report date
	result_at_ms  INTEGER,       -- when the device learnt it
	created_at_ms INTEGER NOT NULL
);
CREATE INDEX samples_site ON samples (site_id, taken_at_ms);

-- The competent authority (主管机构) of a water supply or school, told of a
-- new site found outside the registry or of its changed facts (饮用水 三(二)3;
-- 学校卫生 三(二)3: "通报主管机构").
ALTER TABLE sites ADD COLUMN authority TEXT;
CREATE TABLE authority_notices (
	id            TEXT PRIMARY KEY,
	site_id       TEXT NOT NULL REFERENCES sites (id),
	authority     TEXT NOT NULL,
	reason        TEXT NOT NULL CHECK (reason IN ('new_site', 'changed', 'abnormal')),
	method        TEXT NOT NULL CHECK (method IN ('phone', 'letter', 'in_person', 'online')),
	noticed_at_ms INTEGER NOT NULL,
	site_revision INTEGER NOT NULL, -- the site's revision it told of
	note          TEXT,
	inspector     TEXT,
	created_at_ms INTEGER NOT NULL
);
CREATE INDEX authority_notices_site ON authority_notices (site_id, site_revision);

-- A water supply's latest verdict (seed 000: the public code's colour, blue
-- 合格 / red 不合格): from the latest field test (饮用水 4) or laboratory
-- result, and the colour the county publishes (its registry feed's
-- water_status), so a site shown blue while today's test fails is flagged.
CREATE TABLE water_status (
	site_id      TEXT PRIMARY KEY REFERENCES sites (id),
	verdict      TEXT CHECK (verdict IS NULL OR verdict IN ('pass', 'fail')),
	source       TEXT CHECK (source IS NULL OR source IN ('field_test', 'lab')),
	tested_on    TEXT,
	ref_id       TEXT,           -- the inspection or sample
	published    TEXT CHECK (published IS NULL OR published IN ('blue', 'red')),
	published_at_ms INTEGER,
	updated_at_ms INTEGER NOT NULL
) WITHOUT ROWID;
