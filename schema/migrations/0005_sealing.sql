-- 0005_sealing.sql — informants' details sealed to the county's key (issue
-- #12, "Informant protection"; docs/security.md, "The phone").
--
-- Applied by core/store/store.c inside one transaction with PRAGMA
-- user_version = 5. The bearer token leaves the database too, but that is
-- done by code at open (core/store/secret.c: it goes through the platform's
-- secret hook, which SQL cannot reach).

-- The county's public key, pinned at enrolment (sync/enroll.c): the key a
-- lead's personal answers are sealed to at submission. One row at most. A
-- later enrolment answer with another key is refused until the device is
-- deliberately unenrolled (fic_sync_unenroll), which forgets it.
CREATE TABLE county_key (
	slot         INTEGER PRIMARY KEY CHECK (slot = 1),
	key_id       TEXT NOT NULL,     -- first 16 hex digits of SHA-256(public key)
	public_key   TEXT NOT NULL,     -- base64 of the 32-byte X25519 public key
	county       TEXT NOT NULL,     -- the county it was given for
	pinned_at_ms INTEGER NOT NULL   -- device clock
);

-- How many of a lead's answers were sealed at submission (0: none, or a
-- lead submitted before this schema). The list shows it without parsing
-- the content.
ALTER TABLE leads ADD COLUMN sealed INTEGER NOT NULL DEFAULT 0;
