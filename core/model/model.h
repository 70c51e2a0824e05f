/*
 * core/model/model.h — the model layer: what the inspector records and the
 * rules that judge it. The site registry (site.c) and its enumerations
 * (codes.c); checklist definitions, their validation and the rule evaluator
 * (rules.h), the registry of definitions (checklist.h); photos as evidence
 * and their renditions (photo.c, render.h); the device's hash chain and the
 * verification of a chain (chain.c); the public open (open.c).
 *
 * Depends on store and util. The flow layer (inspections, leads, plans)
 * builds on it; nothing here calls into flow.
 */
#ifndef FIC_CORE_MODEL_H
#define FIC_CORE_MODEL_H

#include "store/db.h"

#include "checklist.h" /* includes rules.h */
#include "render.h"

struct cJSON;

/* ---- sites (site.c, codes.c) ---- */
/* A caller's site as this version's struct: version 1's shorter struct read
 * as far as it went (authority NULL). FIC_EINVAL for an unknown version. */
int fic__site_in(fic_site *out, const fic_site *given);
/* The size of fic_site at each version (version 2 added `authority`). */
extern const size_t fic__site_sizes[FIC_SITE_VERSION];
/* Whether `value` is one of the enumeration `type`'s (FIC_CODE_*). */
bool fic__code_known(int type, int value);
/* Site changes inside a caller's transaction, and the facts rules read. */
int fic__site_update_tx(fic_site **out, fic_store *store, const fic_site *site, const char *reason);
int fic__site_close_tx(fic_store *store, const char *id, const char *reason);
struct cJSON *fic__site_facts(const fic_site *site);
/* Whether `name` is a fact the rules may read as site.<name> (site_fields.c). */
bool fic__site_fact_known(const char *name);
/* Apply one item of the county's registry feed inside the caller's
 * transaction: insert or update the site as the county has it (or close it,
 * `del`), with an audit entry and no outbox record. *skipped when the
 * inspector's own change to the site is still pending, or reached the
 * server after the county's version was made (`changed_at_ms`, server
 * clock; 0 if unknown): the inspector's change wins until the county has
 * seen it. The item's "areas" (area ids) puts the site in those service
 * areas besides its kind's. FIC_EINVAL etc. for an item that does not
 * validate. */
int fic__site_apply_feed(fic_store *store, const char *id, bool del, const struct cJSON *data,
                         int64_t changed_at_ms, bool *skipped);

/* ---- place codes (placecode.c, sitecode.c) ---- */
/* The key of a place code's payload (fic_place_code_parse), fic__free it. */
int fic__place_code_key(const char *payload, char **key);
/* Inside the caller's transaction: the site's place_code field becomes its
 * primary code in site_codes (none if NULL/""). FIC_EEXISTS if another site
 * holds the code. */
int fic__site_primary_code(fic_store *store, const char *site_id, const char *place_code,
                           const char *old_place_code);
/* Once per store (meta 'place_codes_keyed'): key the place codes of sites
 * written before schema 4. Its own transaction. */
int fic__place_codes_backfill(fic_store *store);

/* ---- checklists (checklist.c) ---- */
/* Install a checklist definition inside the caller's transaction (no
 * registry update: call fic__registry_reset after commit). FIC_EEXISTS when
 * it is not newer than the known version. */
int fic__checklist_install_tx(fic_store *store, const char *json, size_t len);
void fic__registry_reset(fic_store *store);

/* ---- photos (photo.c) ---- */
/* Remove photo files a crash left without their row. */
void fic__photo_sweep(fic_store *store);

/* ---- the hash chain (chain.c) ---- */
#define FIC_ZERO_HASH "0000000000000000000000000000000000000000000000000000000000000000"
/* Inside the caller's transaction: completes `record` with chain_seq,
 * prev_hash and device_id, hashes its canonical form and appends it.
 * Writes the hash and returns the sequence number. */
int fic__chain_append(fic_store *store, const char *record_type, const char *record_id,
                      struct cJSON *record, char hash_out[FIC_SHA256_HEX], int64_t *seq_out);

/* Submitting a record: append it (as fic__chain_append) and make its outbox
 * payload {"seq", "hash", "canonical"} (*payload, fic__free it). */
int fic__chain_submit(fic_store *store, const char *record_type, const char *record_id,
                      struct cJSON *record, char hash_out[FIC_SHA256_HEX], int64_t *seq_out,
                      char **payload);

/* Problems found while verifying, gathered as a JSON array for the report. */
typedef struct fic__problems {
	struct cJSON *list; /* array of {kind, id, detail} */
	int count;
	char first[300];    /* the first one, in words, for the error message */
} fic__problems;
void fic__problem(fic__problems *r, const char *kind, const char *id, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 4, 5)))
#endif
	;
/*
 * The end of a verification: with report_out, `o` (the caller's figures;
 * `built` false if an add failed) gets "ok" and "problems" and is printed
 * into *report_out; `o` and the problems are freed either way. FIC_ECORRUPT
 * naming the first problem when there were any ("<n> <what> problems").
 */
int fic__problems_report(char **report_out, fic__problems *r, struct cJSON *o, bool built,
                         const char *what);
/*
 * Check one chain entry as found (its position `seq`, recorded `hash`,
 * `canonical` text) against what must hold: it is entry `expect`, it hashes
 * to `hash`, it names `prev` as the previous hash and `seq` as its position.
 * Problems go to `r` under `id`.
 */
void fic__chain_check_entry(fic__problems *r, const char *id, int64_t seq, int64_t expect,
                            const char *hash, const char *canonical, const char *prev);

#endif
