-- 0001_init.sql — the first schema of a fieldinspect store.
--
-- Applied by core/store.c inside one transaction, which also sets
-- PRAGMA user_version = 1. Later changes are new numbered files; a shipped
-- migration is never edited.

PRAGMA application_id = 1179206449; -- 'FIC1': marks the file as a fieldinspect store

-- Facts about this store: device id, creation time.
CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
) WITHOUT ROWID;

-- The site registry (本底). Enumerations are the integer values of
-- include/fieldinspect/site.h; -1 means "not recorded".
CREATE TABLE sites (
	id                  TEXT PRIMARY KEY,
	kind                INTEGER NOT NULL CHECK (kind BETWEEN 1 AND 9),
	name                TEXT NOT NULL CHECK (length(name) > 0),
	address             TEXT,
	credit_code         TEXT CHECK (credit_code IS NULL OR length(credit_code) = 18),
	place_code          TEXT UNIQUE,
	legal_rep           TEXT,
	manager             TEXT,
	licence_no          TEXT,
	licence_scope       TEXT,
	licence_valid_from  TEXT,
	licence_valid_to    TEXT,
	lat                 REAL CHECK (lat IS NULL OR lat BETWEEN -90 AND 90),
	lon                 REAL CHECK (lon IS NULL OR lon BETWEEN -180 AND 180),
	status              INTEGER NOT NULL CHECK (status BETWEEN 1 AND 3),
	origin              INTEGER NOT NULL CHECK (origin BETWEEN 1 AND 2),
	school_level        INTEGER NOT NULL DEFAULT 0,
	boarding            INTEGER NOT NULL DEFAULT -1,
	enrolment           INTEGER NOT NULL DEFAULT -1,
	med_registration    INTEGER NOT NULL DEFAULT 0,
	institution_type    INTEGER NOT NULL DEFAULT 0,
	beds                INTEGER NOT NULL DEFAULT -1,
	joint_venture       INTEGER NOT NULL DEFAULT -1,
	validation_deferred INTEGER NOT NULL DEFAULT -1,
	industry            INTEGER NOT NULL DEFAULT 0,
	hazard_level        INTEGER NOT NULL DEFAULT 0,
	venue_type          INTEGER NOT NULL DEFAULT 0,
	note                TEXT,
	created_at_ms       INTEGER NOT NULL,
	updated_at_ms       INTEGER NOT NULL,
	revision            INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX sites_kind_name ON sites (kind, name);
CREATE INDEX sites_credit_code ON sites (credit_code) WHERE credit_code IS NOT NULL;
CREATE INDEX sites_lat ON sites (lat) WHERE lat IS NOT NULL;

-- Every checklist version this store knows or has used: installed ones, and
-- built-in ones copied here when first used, so an old inspection can always
-- be shown and judged with the exact version it was made with.
CREATE TABLE checklists (
	id              TEXT NOT NULL,
	version         INTEGER NOT NULL,
	origin          TEXT NOT NULL CHECK (origin IN ('builtin', 'installed')),
	definition      TEXT NOT NULL, -- JSON, schema/checklist.schema.json
	installed_at_ms INTEGER NOT NULL,
	PRIMARY KEY (id, version)
) WITHOUT ROWID;

-- Settings: utc_offset_minutes, semester_starts.
CREATE TABLE settings (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
) WITHOUT ROWID;

-- An inspection (patrol visit) of one site with one checklist version.
CREATE TABLE inspections (
	id                TEXT PRIMARY KEY,
	site_id           TEXT NOT NULL REFERENCES sites (id),
	checklist_id      TEXT NOT NULL,
	checklist_version INTEGER NOT NULL,
	area              TEXT NOT NULL,
	inspection_date   TEXT NOT NULL,     -- local YYYY-MM-DD; date rules are judged on it
	state             TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'finished')),
	inspector         TEXT,
	site_facts        TEXT NOT NULL,     -- JSON snapshot of the site when the inspection started
	site_finding      TEXT,              -- JSON: closed / changed, with reason
	findings          TEXT,              -- JSON, computed at finish
	started_at_ms     INTEGER NOT NULL,
	finished_at_ms    INTEGER,
	t_device_ms      INTEGER,        -- time of the record: device wall clock,
	t_mono_ms        INTEGER,        --   monotonic clock, boot id,
	t_boot_id        TEXT,
	t_trusted_ms     INTEGER,        --   trusted (server) time estimate ± uncertainty,
	t_uncertainty_ms INTEGER,
	t_flags          INTEGER NOT NULL DEFAULT 0, -- FIC_TIME_* (clock changed, ...)
	chain_seq         INTEGER,           -- position in the device's hash chain, once finished
	hash              TEXT,
	FOREIGN KEY (checklist_id, checklist_version) REFERENCES checklists (id, version)
);
CREATE INDEX inspections_site ON inspections (site_id, inspection_date);

-- One answer to one checklist item of an inspection.
CREATE TABLE answers (
	inspection_id TEXT NOT NULL REFERENCES inspections (id),
	item_id       TEXT NOT NULL,
	value         TEXT,            -- JSON
	note          TEXT,
	prefilled     INTEGER NOT NULL DEFAULT 0, -- 1 while the answer is the registry's default
	answered_at_ms INTEGER NOT NULL,
	PRIMARY KEY (inspection_id, item_id)
) WITHOUT ROWID;

-- Leads (线索) for the enforcement agency.
CREATE TABLE leads (
	id               TEXT PRIMARY KEY,
	category         TEXT NOT NULL,
	area             TEXT NOT NULL,
	title            TEXT NOT NULL,
	report_to        TEXT NOT NULL DEFAULT 'enforcement',
	urgent           INTEGER NOT NULL DEFAULT 0,
	time_sensitive   INTEGER NOT NULL DEFAULT 0,
	form_id          TEXT,
	form_version     INTEGER,
	state            TEXT NOT NULL DEFAULT 'draft'
	                 CHECK (state IN ('draft', 'queued', 'delivered', 'rejected')),
	corrects         TEXT REFERENCES leads (id), -- a correction names the lead it corrects
	site_id          TEXT REFERENCES sites (id),
	inspection_id    TEXT REFERENCES inspections (id),
	discovered_at_ms INTEGER NOT NULL,
	deadline_at_ms   INTEGER,
	content          TEXT NOT NULL, -- JSON
	created_at_ms    INTEGER NOT NULL,
	t_device_ms      INTEGER,        -- time of the record: device wall clock,
	t_mono_ms        INTEGER,        --   monotonic clock, boot id,
	t_boot_id        TEXT,
	t_trusted_ms     INTEGER,        --   trusted (server) time estimate ± uncertainty,
	t_uncertainty_ms INTEGER,
	t_flags          INTEGER NOT NULL DEFAULT 0, -- FIC_TIME_* (clock changed, ...)
	chain_seq        INTEGER,        -- set at submission: position in the hash chain
	hash             TEXT,           --   and SHA-256 of the canonical form
	submitted_at_ms  INTEGER,
	receipt_id       TEXT,           -- delivered: the server's receipt id
	receipt_at_ms    INTEGER,        --   and its receipt time (server clock)
	reject_reason    TEXT            -- the server's refusal, shown to the user
);

-- Photos kept as evidence; the file lives under the store's directory.
CREATE TABLE photos (
	id            TEXT PRIMARY KEY,
	owner_type    TEXT NOT NULL,   -- 'lead', 'inspection', 'site'
	owner_id      TEXT NOT NULL,
	item_id       TEXT,            -- checklist item, for inspection photos
	sha256        TEXT NOT NULL,
	file_name     TEXT NOT NULL,   -- <sha256>.jpg in <store>.photos/
	bytes         INTEGER NOT NULL,
	width         INTEGER NOT NULL DEFAULT 0,
	height        INTEGER NOT NULL DEFAULT 0,
	orientation   INTEGER NOT NULL DEFAULT 1, -- EXIF, applied to the renditions
	upload_sha256 TEXT,            -- the upload rendition, <upload_sha256>.jpg
	upload_bytes  INTEGER,
	upload_width  INTEGER,
	upload_height INTEGER,
	thumb_sha256  TEXT,            -- the thumbnail, <thumb_sha256>.jpg
	thumb_bytes   INTEGER,
	exif_taken_at TEXT,            -- claims read from EXIF, beside the device's own
	exif_lat      REAL,
	exif_lon      REAL,
	device_lat    REAL,            -- the device's own position, if the app gave it
	device_lon    REAL,
	t_device_ms   INTEGER,         -- time it was taken into the store (see leads)
	t_mono_ms        INTEGER,        --   monotonic clock, boot id,
	t_boot_id        TEXT,
	t_trusted_ms     INTEGER,        --   trusted (server) time estimate ± uncertainty,
	t_uncertainty_ms INTEGER,
	t_flags          INTEGER NOT NULL DEFAULT 0, -- FIC_TIME_* (clock changed, ...)

	created_at_ms INTEGER NOT NULL
);

CREATE INDEX photos_owner ON photos (owner_type, owner_id);
CREATE INDEX photos_sha256 ON photos (sha256);
CREATE INDEX photos_upload ON photos (upload_sha256);
CREATE INDEX photos_thumb ON photos (thumb_sha256);

-- Re-inspection and agency tasks.
CREATE TABLE tasks (
	id          TEXT PRIMARY KEY,
	kind        TEXT NOT NULL,
	site_id     TEXT REFERENCES sites (id),
	lead_id     TEXT REFERENCES leads (id),
	source      TEXT NOT NULL CHECK (source IN ('lead', 'agency')),
	state       TEXT NOT NULL DEFAULT 'open',
	due_date    TEXT,            -- local YYYY-MM-DD, inclusive
	detail      TEXT,
	created_at_ms INTEGER NOT NULL
);

-- Records waiting for upload, written in the same transaction as the change
-- they carry. The sync engine reads it; the core never sends anything.
CREATE TABLE outbox (
	seq           INTEGER PRIMARY KEY AUTOINCREMENT,
	record_type   TEXT NOT NULL,
	record_id     TEXT NOT NULL,
	op            TEXT NOT NULL,
	priority      INTEGER NOT NULL DEFAULT 0,
	payload       TEXT NOT NULL, -- JSON
	created_at_ms INTEGER NOT NULL,
	state         TEXT NOT NULL DEFAULT 'pending'
	              CHECK (state IN ('pending', 'sent', 'acked', 'rejected')),
	attempts      INTEGER NOT NULL DEFAULT 0,
	next_at_ms    INTEGER NOT NULL DEFAULT 0, -- not before (backoff after a transient failure)
	last_error    TEXT,                       -- the server's reason, or the last transient failure
	receipt_id    TEXT,                       -- the server's receipt once acked
	received_at_ms INTEGER                    -- the server's receipt time (two-hour audit)
);
CREATE INDEX outbox_pending ON outbox (priority DESC, seq) WHERE state = 'pending';

-- Cursors, tokens and clock offsets of the sync engine.
CREATE TABLE sync_state (
	key   TEXT PRIMARY KEY,
	value TEXT
) WITHOUT ROWID;

-- The device's hash chain over everything it submits (leads, finished
-- inspections): each entry's canonical form holds the previous hash.
-- Photo files waiting to go to the server (the upload rendition, content-
-- addressed): one row per distinct rendition, filled with the photo's row.
-- Sent after the records, urgent leads' photos first (docs/protocol.md).
CREATE TABLE uploads (
	sha256        TEXT PRIMARY KEY, -- the upload rendition, <sha256>.jpg
	bytes         INTEGER NOT NULL,
	priority      INTEGER NOT NULL DEFAULT 0, -- 100: a photo of an urgent lead
	state         TEXT NOT NULL DEFAULT 'pending'
	              CHECK (state IN ('pending', 'done', 'rejected')),
	attempts      INTEGER NOT NULL DEFAULT 0, -- transient failures (they set the backoff)
	hash_failures INTEGER NOT NULL DEFAULT 0, -- 422s: the server's check failed (3: refused)
	next_at_ms    INTEGER NOT NULL DEFAULT 0, -- not before (backoff)
	last_error    TEXT,
	created_at_ms INTEGER NOT NULL,
	done_at_ms    INTEGER
);
CREATE INDEX uploads_due ON uploads (state, priority DESC, created_at_ms);
CREATE TABLE chain (
	seq         INTEGER PRIMARY KEY,  -- 1, 2, 3, … never reused
	record_type TEXT NOT NULL,
	record_id   TEXT NOT NULL UNIQUE,
	prev_hash   TEXT NOT NULL,
	hash        TEXT NOT NULL,        -- SHA-256 of canonical
	canonical   TEXT NOT NULL,        -- the exact bytes that were hashed and are uploaded
	at_ms       INTEGER NOT NULL
);
CREATE TRIGGER chain_no_update BEFORE UPDATE ON chain
BEGIN SELECT RAISE(ABORT, 'the hash chain is append-only'); END;
CREATE TRIGGER chain_no_delete BEFORE DELETE ON chain
BEGIN SELECT RAISE(ABORT, 'the hash chain is append-only'); END;

-- Append-only log of every change a user makes: who, what, when.
CREATE TABLE audit (
	seq       INTEGER PRIMARY KEY, -- never reused: rows are never deleted
	at_ms     INTEGER NOT NULL, -- device UTC time
	mono_ms   INTEGER NOT NULL, -- monotonic time since boot
	boot_id   TEXT NOT NULL,
	trusted_ms INTEGER,         -- trusted time estimate, see evidence.h
	time_flags INTEGER NOT NULL DEFAULT 0,
	actor     TEXT NOT NULL,
	action    TEXT NOT NULL,
	entity    TEXT NOT NULL,
	entity_id TEXT NOT NULL,
	detail    TEXT NOT NULL     -- JSON
);
CREATE INDEX audit_entity ON audit (entity_id);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
