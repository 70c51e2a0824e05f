/*
 * fieldinspect/store.h — the local store: one SQLite file holding everything
 * an inspector's device knows (sites, inspections, leads, evidence, outbox).
 *
 * Durability: a call that returns FIC_OK after writing has committed its
 * transaction with SQLite's WAL and synchronous=FULL, i.e. the write-ahead log
 * was fsync'd before the call returned. It survives the process being killed
 * and the device losing power.
 *
 * Threading: a fic_store handle must be used by one thread at a time (it may
 * move between threads). Separate handles, even on the same file, are
 * independent and may be used concurrently; writers wait on each other up to
 * the busy timeout and then fail with FIC_EBUSY.
 */
#ifndef FIELDINSPECT_STORE_H
#define FIELDINSPECT_STORE_H

#include "common.h"
#include "sys/platform.h"

#ifdef __cplusplus
extern "C" {
#endif

/** An open store. Opaque. */
typedef struct fic_store fic_store;

#define FIC_STORE_OPTIONS_VERSION 1

/** Options for fic_store_open(). Initialise with FIC_STORE_OPTIONS_INIT (any version from 1 is read). */
typedef struct fic_store_options {
	unsigned int version;         /**< FIC_STORE_OPTIONS_VERSION */
	/** Platform table; NULL means fic_platform_default(). Borrowed: must outlive the store. */
	const fic_platform *platform;
	/**
	 * Who is acting: the inspector's account id, recorded in the audit log of
	 * every change made through this handle. NULL means "unknown". Copied.
	 */
	const char *actor;
	/** How long a writer waits for another connection's lock, in ms; 0 means 5000. */
	int busy_timeout_ms;
} fic_store_options;

#define FIC_STORE_OPTIONS_INIT { FIC_STORE_OPTIONS_VERSION, NULL, NULL, 0 }

/** Fill `opts` with the defaults of `version` (1 up to FIC_STORE_OPTIONS_VERSION), for bindings that cannot use the macro. */
FIC_EXTERN int fic_store_options_init(fic_store_options *opts, unsigned int version);

/**
 * Open (creating if needed) the store at `path` and bring its schema up to
 * date. A relative path is resolved against the platform's data_dir.
 *
 * @param out  receives the handle; NULL on failure.
 * @param path UTF-8 file path.
 * @param opts options, or NULL for defaults.
 * @return FIC_OK;
 *   FIC_EINVAL for bad arguments;
 *   FIC_ENOTSTORE if the file is not a database or belongs to another program;
 *   FIC_ECORRUPT if it is damaged;
 *   FIC_ENEWER if it was written by a newer fieldinspect (its schema is left untouched);
 *   FIC_EREADONLY if the file or its directory cannot be written;
 *   FIC_ESCHEMA if a migration failed (the file is left exactly as it was);
 *   FIC_EIO, FIC_EBUSY, FIC_ENOMEM.
 *
 * A full disk: when an existing store cannot be opened for writing because
 * the disk is full (SQLite cannot even make the file it reads a WAL store
 * through), it is opened for reading only and FIC_OK is returned:
 * fic_store_read_only() says so. Everything can be read and exported — the
 * urgent leads and their deadlines, first of all — and every write fails
 * with FIC_EREADONLY, saying why. Such a handle holds the file exclusively
 * until it is closed: another handle opened meanwhile fails with FIC_EBUSY.
 * Free some space, close and open again to write. A store that does not
 * exist yet, or that must first be migrated, cannot be opened this way (the
 * error says the disk is full).
 */
FIC_EXTERN int fic_store_open(fic_store **out, const char *path, const fic_store_options *opts);

/**
 * 1 if the store was opened read-only because the disk was full (see
 * fic_store_open()), 0 otherwise (and for NULL). The app should say so: what
 * the inspector records cannot be kept until space is freed.
 */
FIC_EXTERN int fic_store_read_only(const fic_store *store);

/** Close the store and free the handle. NULL is fine. Always succeeds. */
FIC_EXTERN void fic_store_close(fic_store *store);

/** The schema version this build of the library writes. */
FIC_EXTERN int fic_store_schema_version(void);

/**
 * The device id: a UUIDv7 created when the store was first made, stable for
 * the store's life. The string is owned by the store and lives until close.
 */
FIC_EXTERN const char *fic_store_device_id(const fic_store *store);

/**
 * Run SQLite's full integrity check plus the store's own consistency checks:
 * every site has its audit entry, every field-found site its outbox record
 * (or, once acknowledged and pruned, its tombstone), and the derived tables
 * (counters, location and name indexes, patrol columns) agree with the rows
 * they derive from. Reads every table: seconds on a large store.
 * @return FIC_OK if sound, FIC_ECORRUPT (with the first problem in the
 *   message) otherwise.
 */
FIC_EXTERN int fic_store_check(fic_store *store);

/**
 * A new UUIDv7 (RFC 9562) as 36 lowercase characters plus NUL, written into
 * `buf` (at least FIC_UUID_BUFSIZE bytes). Time-ordered: ids made through one
 * store never go backwards, even within one millisecond. Random bits come from
 * the platform's secure random source.
 */
#define FIC_UUID_BUFSIZE 37
FIC_EXTERN int fic_store_new_id(fic_store *store, char *buf, size_t size);

#define FIC_STORE_STATS_VERSION 2

/**
 * Counts of what is waiting in the store, for status displays. The library
 * fills it: set `version` first (FIC_STORE_STATS_INIT); members of a later
 * version than the caller's are not written (common.h, ABI rules).
 */
typedef struct fic_store_stats {
	unsigned int version;   /**< in: the caller's FIC_STORE_STATS_VERSION; out: the version filled */
	int64_t sites;
	int64_t audit_entries;
	int64_t outbox_pending; /**< records queued for upload and not yet acknowledged */
	int64_t photos_pending; /**< photo files waiting for upload (version 2) */
} fic_store_stats;

#define FIC_STORE_STATS_INIT { FIC_STORE_STATS_VERSION, 0, 0, 0, 0 }

/**
 * Fill `out` (its `version` set by the caller; fields past that version are
 * left alone) from counters the store keeps as it changes (not by counting
 * tables), so it costs the same at any size and may be called for every
 * screen. On failure the fields of `out` are zero.
 * @return FIC_OK; FIC_EINVAL (NULL, or version 0); FIC_ECORRUPT (a counter
 *   is missing); a store error.
 */
FIC_EXTERN int fic_store_stats_get(fic_store *store, fic_store_stats *out);

/** One audit-log entry (an append-only record of a user's change). */
typedef struct fic_audit_entry {
	int64_t seq;          /**< position in the log, starting at 1 */
	int64_t at_ms;        /**< device UTC time of the change */
	const char *actor;    /**< who made it ("unknown" if not set) */
	const char *action;   /**< e.g. "site.add", "site.update", "site.close" */
	const char *entity;   /**< e.g. "site" */
	const char *entity_id;
	const char *detail;   /**< JSON: the record or the changed fields, and the reason
	                           (schema/api/audit_detail.schema.json) */
} fic_audit_entry;

/**
 * An array of audit entries, freed with fic_audit_list_free(). Walk it with
 * fic_audit_list_at(): an entry may grow in a later version (entry_size is
 * the size of one entry in this list).
 */
typedef struct fic_audit_list {
	fic_audit_entry *entries;
	size_t count;
	size_t entry_size; /**< sizeof (fic_audit_entry) in the library that made the list */
} fic_audit_list;

/** Entry `i` of the list, or NULL when out of range (or list NULL). */
FIC_EXTERN const fic_audit_entry *fic_audit_list_at(const fic_audit_list *list, size_t i);

/**
 * The audit entries for one record (entity_id non-NULL) or the newest `limit`
 * entries of the whole log (entity_id NULL), oldest first.
 */
FIC_EXTERN int fic_audit_list_get(fic_audit_list **out, fic_store *store,
                                  const char *entity_id, size_t limit);
FIC_EXTERN void fic_audit_list_free(fic_audit_list *list);

#ifdef __cplusplus
}
#endif

#endif
