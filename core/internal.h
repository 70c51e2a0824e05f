/*
 * core/internal.h — what the library's modules share and the public API does
 * not show: the allocator wrappers, setting the thread-local error, bounded
 * string checks, and the store internals (the SQLite handle, the platform).
 * Names are prefixed fic__ (two underscores) and are hidden from the shared
 * library; the tests link the static internal library to reach them.
 */
#ifndef FIC_CORE_INTERNAL_H
#define FIC_CORE_INTERNAL_H

#include "fieldinspect/fieldinspect.h"

#include <stdarg.h>
#include <stdbool.h>

typedef struct sqlite3 sqlite3;
typedef struct sqlite3_stmt sqlite3_stmt;

/* ---- allocation (alloc.c) ---- */
void *fic__malloc(size_t size);
void *fic__calloc(size_t n, size_t size);
void *fic__realloc(void *ptr, size_t size);
void fic__free(void *ptr);
char *fic__strdup(const char *s);
/* How many allocations have failed on this thread (to tell ENOMEM from bad input). */
unsigned long fic__alloc_failures(void);

/* ---- versioned structs across the ABI (abi.c) ----
 * `sizes[v - 1]` is the size of a struct's layout at version v (offsetof the
 * first member added in v + 1, and sizeof for the newest), `n` the library's
 * own version. Every such struct starts with an unsigned version. */
/* Copy the caller's input struct `src` over `dst`, which holds the defaults
 * at the library's version: only the members of src's version are taken.
 * FIC_EINVAL for version 0 or one newer than the library's. */
int fic__struct_in(void *dst, const void *src, const size_t *sizes, unsigned n, const char *what);
/* Copy the library's filled struct `src` (its own version) out to the
 * caller's `dst`, whose version says how much of it the caller has; the
 * version written back is the one filled. FIC_EINVAL for version 0. */
int fic__struct_out(void *dst, const void *src, const size_t *sizes, unsigned n, const char *what);
/* The caller's version of a struct it passed (its first member). */
#define FIC__VERSION_OF(p) (*(const unsigned int *)(const void *)(p))

/* ---- cancellation (cancel.c) ---- */
/* True when `c` is non-NULL and raised. */
bool fic__cancelled(const fic_cancel *c);

/* ---- errors (error.c) ---- */
/* Record an error on this thread and return `code` (for `return fic__err(...)`). */
int fic__err(int code, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;
/* Clear the thread's error at the start of a public call. */
void fic__err_clear(void);

/* ---- a growing string (text.c) ---- */
typedef struct fic__sb {
	char *buf;
	size_t len, cap;
	bool oom; /* an append failed: the text is incomplete */
} fic__sb;
void fic__sb_printf(fic__sb *sb, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;
/* Hand over the text (caller frees with fic__free), or NULL if an append failed. */
char *fic__sb_take(fic__sb *sb);

/* ---- text checks (text.c) ---- */
bool fic__utf8_valid(const char *s, size_t len);
/*
 * Make a NUL-terminated message one line of valid UTF-8, in place: line
 * breaks and tabs become spaces, other control characters and malformed
 * bytes '?'. With `truncated` (the formatter ran out of room) a character
 * cut in two at the end is dropped instead.
 */
void fic__text_one_line(char *buf, bool truncated);
/*
 * Check an input string: `required` means NULL/"" is an error; otherwise
 * NULL and "" both mean absent (and *present is set false). Checks length
 * <= max and UTF-8. `what` names the argument in the message.
 */
int fic__check_text(const char *s, const char *what, size_t max, bool required, bool *present);
/*
 * An identifier that comes from outside (the county's site, task and
 * checklist ids): 1 to FIC_ID_MAX bytes of ASCII letters, digits, '-', '_'
 * and '.' (docs/protocol.md, "Identifiers"). The device's own ids (UUIDv7)
 * are of this form too. FIC_EINVAL otherwise, naming the first bad byte's
 * position (never its value: it may be anything).
 */
#define FIC_ID_MAX 63
int fic__check_id(const char *s, const char *what);
/* A calendar date "YYYY-MM-DD" (1900..2999); returns days since 1970-01-01 in *days. */
int fic__parse_date(const char *s, const char *what, int64_t *days);

/* ---- store internals (store.c) ---- */
#define FIC_STMT_CACHE 48
struct fic_store {
	sqlite3 *db;
	const fic_platform *platform;
	char *actor;
	char *path;
	char device_id[FIC_UUID_BUFSIZE];
	char boot_id[FIC_BOOT_ID_MAX];
	int64_t uuid_last_ms;   /* UUIDv7 monotonicity within this handle */
	uint16_t uuid_counter;
	struct fic__registry *registry; /* checklists, loaded on first use */
	/* Statements of the hot write path, prepared once per handle (fic__cached). */
	struct { const char *sql; sqlite3_stmt *stmt; } cache[FIC_STMT_CACHE];
};

/* One embedded migration: schema version it produces and its SQL. */
typedef struct fic__migration {
	int version;
	const char *name;
	const char *sql;
} fic__migration;

/* Built-in migrations (generated from schema/migrations/). */
extern const fic__migration fic__migrations[];
extern const size_t fic__migrations_count;

/* Open with an explicit migration list (tests inject failing ones). */
int fic__store_open_with(fic_store **out, const char *path, const fic_store_options *opts,
                         const fic__migration *migrations, size_t count);

/* Map a SQLite result code to a fic_status and record a message. */
int fic__db_err(fic_store *store, int rc, const char *doing);

/* Transactions: BEGIN IMMEDIATE / COMMIT / ROLLBACK. */
int fic__tx_begin(fic_store *store);
int fic__tx_commit(fic_store *store);
void fic__tx_rollback(fic_store *store);

/* Prepare a statement; on failure records the error. Finalize it when done. */
int fic__prepare(fic_store *store, sqlite3_stmt **stmt, const char *sql);
/*
 * A statement for `sql`, which must be a string literal (the cache is keyed by
 * its address), prepared once per handle and reset for reuse. Do not finalize
 * it: call fic__release() when done, which resets a cached statement and
 * finalizes one the full cache could not hold.
 */
int fic__cached(fic_store *store, sqlite3_stmt **stmt, const char *sql);
void fic__release(fic_store *store, sqlite3_stmt *stmt);

/* Audit and outbox rows, inside the caller's transaction (journal.c).
 * `detail_json` must be JSON printed by cJSON, never assembled by hand (a
 * quote in a county's id would make the log unreadable). fic__audit_take
 * prints and frees `detail`, an object the caller built: `built` false (an
 * add failed) or detail NULL gives FIC_ENOMEM. */
struct cJSON;
int fic__audit_append(fic_store *store, const char *action, const char *entity,
                      const char *entity_id, const char *detail_json);
int fic__audit_take(fic_store *store, const char *action, const char *entity,
                    const char *entity_id, struct cJSON *detail, bool built);
int fic__outbox_enqueue(fic_store *store, const char *record_type, const char *record_id,
                        const char *op, int priority, const char *payload_json);

void fic__log(fic_store *store, fic_log_level level, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 3, 4)))
#endif
	;

/* Site changes inside a caller's transaction, and the facts rules read (site.c). */
int fic__site_update_tx(fic_site **out, fic_store *store, const fic_site *site, const char *reason);
int fic__site_close_tx(fic_store *store, const char *id, const char *reason);
struct cJSON;
struct cJSON *fic__site_facts(const fic_site *site);
/* Apply one item of the county's registry feed inside the caller's
 * transaction: insert or update the site as the county has it (or close it,
 * `del`), with an audit entry and no outbox record. *skipped when the
 * inspector's own change to the site is still pending, or reached the
 * server after the county's version was made (`changed_at_ms`, server
 * clock; 0 if unknown): the inspector's change wins until the county has
 * seen it. FIC_EINVAL etc. for an item that does not validate. */
int fic__site_apply_feed(fic_store *store, const char *id, bool del, const struct cJSON *data,
                         int64_t changed_at_ms, bool *skipped);
/* Install a checklist definition inside the caller's transaction (no
 * registry update: call fic__registry_reset after commit). FIC_EEXISTS when
 * it is not newer than the known version. */
int fic__checklist_install_tx(fic_store *store, const char *json, size_t len);
void fic__registry_reset(fic_store *store);

/*
 * Attach a freshly made `item` to `obj` under `key` (to an array if key is
 * NULL). On failure the item is freed and false returned, so
 * `fic__json_put(o, "k", cJSON_Duplicate(x, 1))` never leaks (json.c).
 */
bool fic__json_put(struct cJSON *obj, const char *key, struct cJSON *item);
/* As fic__json_put, and *item is set to NULL either way (it is no longer the caller's). */
bool fic__json_take(struct cJSON *obj, const char *key, struct cJSON **item);

/* The local calendar day (days since 1970-01-01) of a UTC time, in the store's UTC offset (plan.c). */
int64_t fic__local_day(fic_store *store, int64_t utc_ms);
int64_t fic__now_ms(fic_store *store);

/* Trusted time (time.c); fic__time_bind binds t_device_ms … t_flags at ?i..?i+5. */
int fic__time_now(fic_store *store, fic_time *t);
void fic__time_bind(sqlite3_stmt *st, int i, const fic_time *t);
int64_t fic__effective_deadline(fic_store *store, int64_t stored_deadline, int t_flags,
                                const char *t_boot_id, int64_t t_mono_ms, int64_t t_device_ms,
                                int64_t discovered_at_ms);

/* Hash chain (evidence.c), inside the caller's transaction: completes `record`
 * with chain_seq, prev_hash and device_id, hashes its canonical form and
 * appends it. Writes the hash (65 bytes) and returns the sequence number. */
struct cJSON;
int fic__chain_append(fic_store *store, const char *record_type, const char *record_id,
                      struct cJSON *record, char hash_out[65], int64_t *seq_out);
/* A finished inspection as its canonical record, without the chain fields (inspection.c). */
int fic__inspection_record(fic_store *store, const char *inspection_id, struct cJSON **out);
/* The canonical JSON text of `v` (keys sorted at every level), or NULL. */
char *fic__canonical(const struct cJSON *v);

/* Remove photo files a crash left without their row (photo.c). */
void fic__photo_sweep(fic_store *store);

/* Lazily loaded checklist registry (checklist.c). */
struct fic__registry;
void fic__registry_free(struct fic__registry *reg);

/* UUIDv7 text into buf[FIC_UUID_BUFSIZE] (uuid.c). */
int fic__uuid7(fic_store *store, char *buf);
/* Format 16 bytes as a UUID string; exposed for tests. */
void fic__uuid_format(const uint8_t bytes[16], char out[FIC_UUID_BUFSIZE]);
void fic__uuid7_bytes(uint8_t out[16], int64_t ms, uint16_t counter12, const uint8_t rand8[8]);

#endif
