-- 0003_sms.sql — the SMS fallback of urgent leads (docs/protocol.md, "SMS
-- fallback"): what the phone sent by SMS and the county's confirmation.
--
-- A lead's state keeps its four values: a lead the county confirmed by SMS
-- is 'delivered' (the two-hour clock is met), with the county's receipt id
-- and time in leads.receipt_id / receipt_at_ms; the record still goes up by
-- data later, and that answer never moves the lead back.

-- One row per lead that went by SMS or was confirmed by one.
CREATE TABLE lead_sms (
	lead_id          TEXT PRIMARY KEY REFERENCES leads (id),
	format           INTEGER NOT NULL,  -- SMS format version of the message
	parts            INTEGER CHECK (parts BETWEEN 1 AND 9), -- NULL: confirmed, never reported sent
	recipient        TEXT,              -- the county gateway's number it was sent to
	first_sent_at_ms INTEGER,           -- device clock, when the app said it sent the parts
	last_sent_at_ms  INTEGER,
	times_sent       INTEGER NOT NULL DEFAULT 0,
	receipt_id       TEXT,              -- the county's confirmation: its receipt id,
	received_at_ms   INTEGER,           --   when its server received the SMS (its clock),
	confirmed_at_ms  INTEGER            --   and when the phone took the confirmation
) WITHOUT ROWID;
