/*
 * fieldinspect/evidence.h — what makes a record stand up as evidence:
 * trusted time, and the hash chain over everything the device submits.
 *
 * Trusted time. Every record carries the device's UTC time, its monotonic
 * time and boot id, and the best estimate of the true (server) time with its
 * uncertainty. The estimate comes from the last contact with the county
 * server (fic_time_contact, fed by sync): within the same boot it is the
 * server's time then plus the monotonic time elapsed since, so changing the
 * phone's clock does not move it; a wall clock that disagrees with the
 * monotonic clock is detected and flagged on the records made meanwhile.
 * Deadlines (the two-hour rule) are computed on trusted time.
 *
 * Hash chain. When a lead is submitted, or an inspection finished, its
 * canonical form is hashed (SHA-256) and appended to the device's chain:
 * the canonical form includes the chain position and the previous entry's
 * hash, so a record altered, inserted or dropped anywhere breaks the chain.
 *
 * Canonical form: the record as JSON, object keys sorted by their UTF-8
 * bytes at every level, no whitespace, strings as UTF-8 with JSON escapes
 * only for '"', '\\' and control characters, numbers as integers when they
 * are whole (timestamps in ms) and otherwise with up to 15 significant digits
 * (17 when 15 do not reproduce the value); no duplicate keys; photos appear
 * as their SHA-256 hex digests, sorted. It carries
 * "chain_seq" (1, 2, 3, …), "prev_hash" (64 zeros for the first entry) and
 * "device_id".
 *
 * Threading: as for the store; fic_chain_verify needs no store.
 */
#ifndef FIELDINSPECT_EVIDENCE_H
#define FIELDINSPECT_EVIDENCE_H

#include "common.h"
#include "store.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Flags on a time reading (and on the records made at that time). */
#define FIC_TIME_NO_CONTACT 1     /**< never synced: trusted time is the device clock, unverified */
#define FIC_TIME_CLOCK_CHANGED 2  /**< the wall clock moved against the monotonic clock since the last contact */
#define FIC_TIME_OTHER_BOOT 4     /**< rebooted since the last contact: elapsed time cannot be measured */

#define FIC_TIME_VERSION 1

/**
 * A time reading. The library fills it: set `version` first
 * (FIC_TIME_INIT); members of a later version than the caller's are not
 * written (common.h, ABI rules).
 */
typedef struct fic_time {
	unsigned int version;   /**< in: the caller's FIC_TIME_VERSION; out: the version filled */
	int64_t device_ms;      /**< device UTC wall clock */
	int64_t mono_ms;        /**< monotonic clock (counts during sleep) */
	char boot_id[FIC_BOOT_ID_MAX];
	int64_t trusted_ms;     /**< best estimate of the true UTC time */
	int64_t uncertainty_ms; /**< ± bound on trusted_ms */
	int flags;              /**< FIC_TIME_* */
} fic_time;

#define FIC_TIME_INIT { FIC_TIME_VERSION, 0, 0, { 0 }, 0, 0, 0 }

/** Read the clocks and the trusted-time estimate now into `out` (its version set). */
FIC_EXTERN int fic_time_now(fic_time *out, fic_store *store);

/**
 * Record a contact with the server: its UTC time `server_ms` taken from a
 * response, and the request's round-trip time `rtt_ms` (the estimate's
 * uncertainty is half of it). Called by sync; tests and apps with another
 * trusted source may call it too.
 */
FIC_EXTERN int fic_time_contact(fic_store *store, int64_t server_ms, int64_t rtt_ms);

/**
 * Recompute every hash in the store and check the chain: each chain entry's
 * hash of its canonical form, the links and the sequence (an entry dropped
 * from the middle), each submitted lead and finished inspection against its
 * chain entry (a record edited in the database), and every photo file
 * against its SHA-256 (an altered or missing file).
 * @param report_out optional: receives JSON {"checked": {...}, "ok": bool,
 *   "problems": [...]} (schema/api/evidence_report.schema.json).
 * @return FIC_OK if everything verifies, FIC_ECORRUPT if anything does not
 *   (the report lists each problem).
 */
FIC_EXTERN int fic_evidence_verify(char **report_out, fic_store *store);

/**
 * Verify a device's chain as the server receives it: `submissions_json` is a
 * JSON array of {"seq": n, "hash": "…", "canonical": "<the canonical JSON
 * text>"} in order, continuing after `expected_prev_hash` (64 zeros or NULL
 * for a new device) at sequence `expected_first_seq`. Checks every hash, link,
 * sequence number and that one device id runs through.
 * @param report_out optional: JSON {"ok": bool, "last_seq": n, "last_hash": "…", "problems": [...]}
 *   (schema/api/chain_report.schema.json).
 * @return FIC_OK, FIC_ECORRUPT (a break: the message names the first), or
 *   FIC_EINVAL (malformed input).
 */
FIC_EXTERN int fic_chain_verify(char **report_out, const char *submissions_json,
                                const char *expected_prev_hash, int64_t expected_first_seq);

#ifdef __cplusplus
}
#endif

#endif
