/*
 * core/store/db.h — the store layer: the SQLite handle and the injected
 * platform (store.c: open, migrations, durability settings, transactions,
 * the statement cache), the two records every change leaves behind
 * (journal.c: the audit entry and the outbox row), trusted time (time.c),
 * the store's settings and local calendar day (settings.c), and record ids.
 *
 * Depends on util only. The model and flow layers above build on it; the
 * store never calls up into them (what it must release of theirs, it
 * releases through a function pointer they register).
 */
#ifndef FIC_CORE_STORE_DB_H
#define FIC_CORE_STORE_DB_H

#include "util/util.h"

typedef struct sqlite3 sqlite3;
typedef struct sqlite3_stmt sqlite3_stmt;
struct cJSON;
struct fic__registry;

/* ---- the handle (store.c) ---- */
#define FIC_STMT_CACHE 48
struct fic_store {
	sqlite3 *db;
	const fic_platform *platform; /* &platform_table */
	fic_platform platform_table;  /* the caller's table, as far as its version goes */
	int busy_timeout_ms;
	bool scrub_due; /* plaintext was overwritten in the open transaction: scrub after it */
	char *actor;
	char *path;
	char device_id[FIC_UUID_BUFSIZE];
	char boot_id[FIC_BOOT_ID_MAX];
	fic__uuid_gen uuid;  /* UUIDv7 monotonicity within this handle */
	/* Opened for reading only because the disk was full (store.c,
	 * open_read_only): every write is FIC_EREADONLY. */
	bool read_only;
	/* The checklist registry (model/checklist.c), loaded on first use, and
	 * how to free it: set by whoever made it. */
	struct fic__registry *registry;
	void (*registry_free)(struct fic__registry *);
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

/* Open with an explicit migration list (tests inject failing ones). The
 * public fic_store_open (model/open.c) is this plus the model's start-up
 * chores. */
int fic__store_open_with(fic_store **out, const char *path, const fic_store_options *opts,
                         const fic__migration *migrations, size_t count);

/* Map a SQLite result code to a fic_status and record a message. */
int fic__db_err(fic_store *store, int rc, const char *doing);

/* Transactions: BEGIN IMMEDIATE / COMMIT / ROLLBACK. */
int fic__tx_begin(fic_store *store);
int fic__tx_commit(fic_store *store);
void fic__tx_rollback(fic_store *store);
/*
 * End the transaction fic__tx_begin opened, by how the work went: commit
 * when rc is FIC_OK (returning the commit's status), else roll back and
 * return rc. The usual shape:
 *
 *     if ((rc = fic__tx_begin(store)) != FIC_OK)
 *             return rc;
 *     rc = work(store, ...);
 *     return fic__tx_end(store, rc);
 */
int fic__tx_end(fic_store *store, int rc);

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

/*
 * Run one statement (a string literal: it is cached) with its parameters
 * bound in order from the arguments, one letter of `fmt` each: 't' text
 * (const char *, NULL binds NULL), 'i' int64_t, 'n' NULL (no argument).
 * fic__exec is for statements that change rows; fic__query_text copies the
 * first column of the first row into buf (FIC_ENOTFOUND, buf "", when there
 * is no row or it is NULL). `doing` names the work for the error message.
 */
int fic__exec(fic_store *store, const char *sql, const char *doing, const char *fmt, ...);
int fic__query_text(fic_store *store, char *buf, size_t size, const char *sql, const char *doing,
                    const char *fmt, ...);
/* As fic__query_text, for a whole number (*out 0 when FIC_ENOTFOUND). */
int fic__query_int(fic_store *store, int64_t *out, const char *sql, const char *doing,
                   const char *fmt, ...);

/*
 * Prepare `sql`, bind `key` to ?1 and step to the first row: FIC_OK with
 * *st on that row (the caller finalizes it), FIC_ENOTFOUND "no <what>
 * <key>" when there is none (*st NULL), or the database's error.
 */
int fic__row_by_key(fic_store *store, sqlite3_stmt **st, const char *sql, const char *key,
                    const char *what);

void fic__log(fic_store *store, fic_log_level level, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 3, 4)))
#endif
	;

/* The device's wall clock, UTC ms. */
static inline int64_t fic__now_ms(const fic_store *store)
{
	return fic__wall_ms(store->platform);
}

/* A new UUIDv7 record id into buf[FIC_UUID_BUFSIZE]. */
int fic__uuid7(fic_store *store, char *buf);

/* ---- the journal (journal.c) ---- */
/* Audit and outbox rows, inside the caller's transaction.
 * `detail_json` must be JSON printed by cJSON, never assembled by hand (a
 * quote in a county's id would make the log unreadable). fic__audit_take
 * prints and frees `detail`, an object the caller built: `built` false (an
 * add failed) or detail NULL gives FIC_ENOMEM. */
int fic__audit_append(fic_store *store, const char *action, const char *entity,
                      const char *entity_id, const char *detail_json);
int fic__audit_take(fic_store *store, const char *action, const char *entity,
                    const char *entity_id, struct cJSON *detail, bool built);

/* Outbox priorities: which records go first. Urgent lead records travel
 * alone, before anything else (the sync engine's batches never mix them). */
typedef enum fic__priority {
	FIC_PRIORITY_ORDINARY = 0,      /* site changes, audit-like records */
	FIC_PRIORITY_PHOTO = 5,         /* a photo's metadata record */
	FIC_PRIORITY_INSPECTION = 10,   /* a finished inspection */
	FIC_PRIORITY_LEAD = 20,         /* a lead without a two-hour clock */
	FIC_PRIORITY_URGENT_PHOTO = 99, /* an urgent lead's photos' metadata, right after it */
	FIC_PRIORITY_URGENT = 100,      /* an urgent lead: sent first, alone */
	FIC_PRIORITY_IMMEDIATE = 110    /* a lead to report at once (立即报告): before the urgent ones */
} fic__priority;
/* uploads.priority of an urgent lead's photo file (others are 0). */
#define FIC_UPLOAD_URGENT 100

int fic__outbox_enqueue(fic_store *store, const char *record_type, const char *record_id,
                        const char *op, fic__priority priority, const char *payload_json);

/* ---- trusted time (time.c) ---- */
/* fic__time_bind binds t_device_ms … t_flags at ?i..?i+5. */
int fic__time_now(fic_store *store, fic_time *t);
void fic__time_bind(sqlite3_stmt *st, int i, const fic_time *t);
/* `grace_ms`: the lead's time to report after discovery (two hours, or 0
 * for a lead to report immediately). */
int64_t fic__effective_deadline(fic_store *store, int64_t stored_deadline, int t_flags,
                                const char *t_boot_id, int64_t t_mono_ms, int64_t t_device_ms,
                                int64_t discovered_at_ms, int64_t grace_ms);

/* ---- secrets, and scrubbing what was overwritten (secret.c) ---- */
/* The bearer token's secret name (the other secrets a device holds are named
 * beside it, [a-z0-9_]). */
#define FIC_SECRET_TOKEN "sync_token"
/* The SMS fallback's key (sync/sms.c): base64 of 32 bytes. */
#define FIC_SECRET_SMS_KEY "sms_key"
/* A text secret through the platform's hooks (or the built-in files): into
 * buf, NUL-terminated (FIC_ENOTFOUND, no message, when there is none; the
 * buffer is wiped on failure); saved durably; forgotten (FIC_OK when there
 * was none). Values are never logged. */
int fic__secret_get(fic_store *store, const char *name, char *buf, size_t size);
int fic__secret_put(fic_store *store, const char *name, const char *value);
int fic__secret_delete(fic_store *store, const char *name);
/* At open: a token or SMS key kept in sync_state by an older store moves to
 * the secret hook and is scrubbed from the file. */
int fic__secrets_migrate(fic_store *store);
/* After plaintext was overwritten: checkpoint the WAL into the database and
 * truncate it, without waiting for readers (FIC_EBUSY when one holds an
 * older snapshot: a later scrub or the last close does it). Logs why not. */
int fic__store_scrub(fic_store *store);
/* After a transaction ended with `rc`: scrub if it overwrote plaintext and
 * committed (store->scrub_due), and clear the flag either way. */
void fic__store_scrub_if_due(fic_store *store, int rc);

/* ---- the county's public key, pinned (keys.c) ---- */
typedef struct fic__county_key {
	char id[FIC_KEY_ID_BUFSIZE];
	unsigned char pk[FIC_COUNTY_KEY_BYTES];
	char county[201];
} fic__county_key;
/* The pinned key: FIC_OK, FIC_ENOTFOUND (none pinned; no message),
 * FIC_ECORRUPT (the row does not hold a key with its id). */
int fic__county_key_get(fic_store *store, fic__county_key *out);
/* Pin `public_key_b64` (inside the caller's transaction, with an audit
 * entry): FIC_OK also when it is the key already pinned; FIC_ESTATE when
 * another key is pinned (unenrol first); FIC_EINVAL for a malformed key. */
int fic__county_key_pin(fic_store *store, const char *public_key_b64, const char *county);
/* Forget the pinned key (fic_sync_unenroll), inside the caller's transaction. */
int fic__county_key_forget(fic_store *store);

/* ---- settings (settings.c) ---- */
/* How long acknowledged outbox rows are kept after the server's receipt: the
 * setting "outbox_retention_days" (default 7), in ms. */
int64_t fic__outbox_retention_ms(fic_store *store);
/* How near an undelivered urgent lead's deadline must be for it to go by
 * SMS: the setting "sms_fallback_minutes" (default 60; 0: only when the
 * inspector asks), in ms. */
int64_t fic__sms_fallback_ms(fic_store *store);
/* The store's UTC offset in minutes (setting utc_offset_minutes; 480, China, by default). */
int fic__utc_offset_min(fic_store *store);
/* The local calendar day (days since 1970-01-01) of a UTC time, in the store's UTC offset. */
int64_t fic__local_day(fic_store *store, int64_t utc_ms);
/* A setting's stored text into buf ("" and FIC_OK when unset). */
int fic__setting_raw(fic_store *store, const char *key, char *buf, size_t size);
/* A setting the county's settings feed sends (semester_starts), validated,
 * inside the caller's transaction: origin 'county', after which the device
 * refuses to change it by hand (FIC_ESTATE). */
int fic__setting_put_county(fic_store *store, const char *key, const char *value);

#endif
