/*
 * sync/sms_codec.h — the SMS form of an urgent lead (docs/protocol.md, "SMS
 * fallback"): a versioned binary layout, compressed with zlib and a preset
 * dictionary of the checklists' own words, authenticated with a truncated
 * HMAC under the device's SMS key, written in an alphabet of 80 characters
 * that every phone sends as GSM 7-bit text, and split into numbered parts.
 *
 * The codec (sms_codec.c) knows nothing of the store: the device encodes
 * with it (sms.c builds the lead from its rows) and the county server
 * decodes with it (server/county_sms.c), so both sides run one
 * implementation of one format. A format version pins the layout, the
 * codebook and the dictionary (schema/sms/, embedded at build time; their
 * SHA-256 are checked when loaded).
 *
 * Thread-safety: no shared state; every call works on its arguments.
 */
#ifndef FIC_SYNC_SMS_CODEC_H
#define FIC_SYNC_SMS_CODEC_H

#include "flow/flow.h"

#include <stddef.h>
#include <stdint.h>

#define FIC_SMS_FORMAT 1          /* the format this build writes (and the only one it reads) */
#define FIC_SMS_KEY_BYTES 32      /* the device's SMS key, from enrolment */
#define FIC_SMS_MAC_BYTES 7       /* HMAC-SHA-512-256, truncated (56 bits, and the 8-bit key hint) */
#define FIC_SMS_TEXT_CHARS 160    /* one SMS of GSM 7-bit text */
#define FIC_SMS_PARTS_LIMIT 9     /* parts of one message (one digit in the header) */
#define FIC_SMS_BODY_LIMIT 4096   /* a body is never inflated beyond this */
#define FIC_SMS_FRAME_LIMIT 2048  /* 9 parts spell at most ~1.1 KB */
#define FIC_SMS_SITE_ID_MAX 63
#define FIC_SMS_CATEGORY_MAX 63

/* The data of a format version, embedded from schema/sms/ (generated). */
typedef struct fic__sms_file {
	const char *name;
	const unsigned char *data;
	size_t len;
} fic__sms_file;
extern const fic__sms_file fic__sms_files[];
extern const size_t fic__sms_files_count;

/* What an SMS carries of a lead: everything the county needs to act within
 * two hours, nothing that names an informant or a patient. */
typedef struct fic__sms_lead {
	uint8_t lead_id[16];      /* a UUIDv7: its timestamp is the base of the times below */
	char category[FIC_SMS_CATEGORY_MAX + 1];
	int64_t discovered_ms;    /* trusted time; travels in whole seconds from the id's time */
	int time_flags;           /* FIC_TIME_* of the lead (low three bits) */
	char site_id[FIC_SMS_SITE_ID_MAX + 1]; /* "" for none */
	bool has_location;        /* the site's, when the county's registry does not have it */
	double lat, lon;          /* travel at 1e-5 degree */
	struct cJSON *answers;    /* the form's answers the codebook carries (an object; owned) */
	char *place;              /* or NULL; owned */
	bool place_truncated;     /* the place was longer than the codebook keeps */
	char *description;        /* or NULL; owned */
	bool description_truncated;
} fic__sms_lead;

/*
 * Fill the lead's answers, place and description from its stored content
 * (the "content" of a leads row: a form's {"answers": …}, or a patrol
 * finding's {"findings": [...]}) as the codebook of `lead->category` says:
 * the items it carries (others are left out — sensitive items are never in
 * it), the first answered of its place items and of its description items.
 * A category the codebook does not know carries no answers. FIC_ENOMEM.
 */
int fic__sms_from_content(fic__sms_lead *lead, const struct cJSON *content);

/* Free what a fic__sms_lead owns (not the struct) and zero it. */
void fic__sms_lead_clear(fic__sms_lead *lead);

/* The parts of one message: ASCII, NUL-terminated, at most 160 characters. */
typedef struct fic__sms_parts {
	size_t count;
	char *text[FIC_SMS_PARTS_LIMIT];
	size_t frame_bytes; /* the authenticated frame the parts spell */
} fic__sms_parts;
void fic__sms_parts_clear(fic__sms_parts *parts);

/*
 * Encode `lead` for SMS with the device's key: 1..9 parts. Texts longer
 * than the codebook keeps are cut at a character boundary and flagged (the
 * full lead follows by data). Deterministic: the same lead and key give the
 * same parts, so a resend is recognised as one. FIC_EINVAL for a lead that
 * does not fit the layout (bad category, site id, texts not UTF-8, answers
 * the codebook does not know are dropped, not refused); FIC_ETOOBIG when
 * more than 9 parts would be needed; FIC_ENOMEM.
 */
int fic__sms_encode(const fic__sms_lead *lead, const uint8_t key[FIC_SMS_KEY_BYTES],
                    fic__sms_parts *out);

/* The header of one received part. */
typedef struct fic__sms_part_info {
	int format;
	int index, count;     /* 1-based; 1 of 1 for a message in one part */
	char group[8];        /* what the parts of one message share: format, count and tag */
	const char *data;     /* the part's digits, inside the text given */
	size_t data_len;
} fic__sms_part_info;

/*
 * Read one part's header. Surrounding white space (a gateway's or a paste's
 * line ends) is ignored; anything else outside the alphabet is malformed.
 * FIC_EINVAL with a message for a text that is not a part of this format.
 */
int fic__sms_part_parse(const char *text, size_t len, fic__sms_part_info *out);

/*
 * Reassemble a message from its parts, given in any order, duplicates
 * allowed: parts of one message share format, count and tag; a part seen
 * twice must say the same; every index from 1 to count must be there. Then
 * the digits become the frame. *frame is freed with fic__free. FIC_EINVAL
 * (malformed, mixed, conflicting), FIC_EINCOMPLETE (a part is missing:
 * the message says which), FIC_ENOMEM.
 */
int fic__sms_join(const char *const *texts, size_t n, uint8_t **frame, size_t *frame_len);

/* The one-byte hint of the key a frame was made with (which devices to try). */
int fic__sms_frame_hint(const uint8_t *frame, size_t len);
uint8_t fic__sms_key_hint(const uint8_t key[FIC_SMS_KEY_BYTES]);

/*
 * Check a frame's MAC with `key` (constant time) and only then inflate and
 * decode it into *out (cleared first; the caller clears it after).
 * FIC_EAUTH if the MAC does not verify (forged, altered, another device's
 * key); FIC_EINVAL if it verifies but does not decode (a bug, or another
 * format); FIC_ENOMEM.
 */
int fic__sms_open(const uint8_t *frame, size_t len, const uint8_t key[FIC_SMS_KEY_BYTES],
                  fic__sms_lead *out);

/*
 * The decoded lead as JSON, for the county: {format, lead_id, category,
 * title, urgent, discovered_at_ms, deadline_at_ms, time_flags, site_id?,
 * location?, answers, place?, place_truncated, description?,
 * description_truncated}. NULL when out of memory.
 */
struct cJSON *fic__sms_lead_json(const fic__sms_lead *lead);

/* The lead id's 16 bytes from its text; FIC_EINVAL unless a UUIDv7. */
int fic__sms_uuid_parse(const char *text, uint8_t out[16]);

/*
 * The county's confirmation, sent back by SMS and given to the phone:
 *   "FI1 OK <lead id> <receipt id> <received at, ms> <MAC, 16 hex>"
 * authenticated with the device's key, so that no one else can make a
 * lead look delivered. fic__sms_receipt_make writes it into buf (at least
 * FIC_SMS_TEXT_CHARS + 1 bytes). fic__sms_receipt_check reads one for
 * `lead_id`: FIC_OK with the receipt id and time; FIC_EINVAL (malformed, for
 * another lead, or the county's "FI1 ERR …" refusal, whose words are in
 * the message); FIC_EAUTH (the MAC does not verify).
 */
#define FIC_SMS_RECEIPT_ID_MAX 64
int fic__sms_receipt_make(char *buf, size_t size, const uint8_t key[FIC_SMS_KEY_BYTES],
                          const char *lead_id, const char *receipt_id, int64_t received_ms);
int fic__sms_receipt_check(const char *text, const uint8_t key[FIC_SMS_KEY_BYTES],
                           const char *lead_id, char receipt_id[FIC_SMS_RECEIPT_ID_MAX + 1],
                           int64_t *received_ms);

/* ---- the pieces, for tests and the bench ---- */

/* The alphabet: 80 characters of GSM 03.38's basic table at their ASCII
 * positions, without the quotes (docs/protocol.md says why). */
extern const char fic__sms_alphabet[81];
/* Digits needed for `bytes` bytes, and bytes spelled by `digits` digits (-1: none). */
size_t fic__sms_digits_for(size_t bytes);
long fic__sms_bytes_for(size_t digits);
/* Base-80 big-number conversion of exactly those lengths. */
int fic__sms_to_digits(const uint8_t *bytes, size_t n /* ≤ FIC_SMS_FRAME_LIMIT */,
                       char *digits /* fic__sms_digits_for(n) */);
int fic__sms_from_digits(const char *digits, size_t nd, uint8_t *bytes /* fic__sms_bytes_for(nd) */);

/* The uncompressed body of `lead` (the bench compares compressions of it). */
int fic__sms_body_of(const fic__sms_lead *lead, uint8_t **out, size_t *len);

/* Write the MAC into the last FIC_SMS_MAC_BYTES of `frame` (tests build
 * hostile frames with it). */
int fic__sms_frame_seal(uint8_t *frame, size_t len, const uint8_t key[FIC_SMS_KEY_BYTES]);

/* The format's dictionary (NULL if the embedded data fails its pin). */
const unsigned char *fic__sms_dictionary(size_t *len);
/* Raw deflate of `len` bytes with the format's dictionary (or none). */
int fic__sms_deflate(const uint8_t *in, size_t len, bool with_dictionary, uint8_t **out,
                     size_t *out_len);

#endif
