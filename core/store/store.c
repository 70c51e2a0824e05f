/*
 * core/store/store.c — opening the store: SQLite set up for durability (WAL,
 * synchronous=FULL, foreign keys, busy timeout), file identity checks, and
 * the numbered schema migrations, each applied in its own transaction so a
 * failure leaves the file exactly as it was.
 */
#include "db.h"

#include <stdarg.h>

#include <stddef.h>

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FIC_APPLICATION_ID 1179206449 /* 'FIC1' */
#define PATH_MAX_BYTES 4096

void fic__log(fic_store *store, fic_log_level level, const char *fmt, ...)
{
	if (store == NULL || store->platform->log == NULL)
		return;
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	fic__text_one_line(line, n >= (int)sizeof line);
	store->platform->log(store->platform->ctx, level, line);
}

static int map_sqlite(int rc)
{
	switch (rc & 0xFF) {
	case SQLITE_OK: return FIC_OK;
	case SQLITE_NOMEM: return FIC_ENOMEM;
	case SQLITE_CORRUPT: return FIC_ECORRUPT;
	case SQLITE_NOTADB: return FIC_ENOTSTORE;
	case SQLITE_READONLY: return FIC_EREADONLY;
	case SQLITE_PERM: return FIC_EREADONLY;
	case SQLITE_BUSY:
	case SQLITE_LOCKED: return FIC_EBUSY;
	case SQLITE_IOERR:
	case SQLITE_FULL:
	case SQLITE_CANTOPEN:
	case SQLITE_PROTOCOL: return FIC_EIO;
	case SQLITE_TOOBIG: return FIC_ETOOBIG;
	case SQLITE_CONSTRAINT:
		return rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY
			       ? FIC_EEXISTS : FIC_EINVAL;
	default: return FIC_ERROR;
	}
}

int fic__db_err(fic_store *store, int rc, const char *doing)
{
	int code = map_sqlite(rc);
	const char *msg = store && store->db ? sqlite3_errmsg(store->db) : sqlite3_errstr(rc);
	if (code == FIC_EREADONLY && store && store->read_only)
		return fic__err(code, "%s: the store is open read-only because the disk was full "
		                      "when it was opened; free some space and open it again", doing);
	if (code == FIC_ECORRUPT)
		return fic__err(code, "%s: the store file is damaged (%s)", doing, msg);
	if (code == FIC_ENOTSTORE)
		return fic__err(code, "%s: the file is not a database (%s)", doing, msg);
	return fic__err(code, "%s: %s", doing, msg);
}

int fic__prepare(fic_store *store, sqlite3_stmt **stmt, const char *sql)
{
	int rc = sqlite3_prepare_v2(store->db, sql, -1, stmt, NULL);
	if (rc != SQLITE_OK) {
		*stmt = NULL;
		return fic__db_err(store, rc, "preparing a query");
	}
	return FIC_OK;
}

int fic__cached(fic_store *store, sqlite3_stmt **stmt, const char *sql)
{
	size_t i = 0;
	for (; i < FIC_STMT_CACHE && store->cache[i].sql; i++) {
		if (store->cache[i].sql == sql) {
			*stmt = store->cache[i].stmt;
			return FIC_OK;
		}
	}
	if (i == FIC_STMT_CACHE) {
		/* Cache full (a programming error): still correct, just not cached;
		 * fic__release() finalizes what it does not find in the cache. */
		fic__log(store, FIC_LOG_WARN, "statement cache is full");
		return fic__prepare(store, stmt, sql);
	}
	int rc = sqlite3_prepare_v3(store->db, sql, -1, SQLITE_PREPARE_PERSISTENT, stmt, NULL);
	if (rc != SQLITE_OK) {
		*stmt = NULL;
		return fic__db_err(store, rc, "preparing a query");
	}
	store->cache[i].sql = sql;
	store->cache[i].stmt = *stmt;
	return FIC_OK;
}

void fic__release(fic_store *store, sqlite3_stmt *stmt)
{
	if (stmt == NULL)
		return;
	for (size_t i = 0; i < FIC_STMT_CACHE && store->cache[i].sql; i++) {
		if (store->cache[i].stmt == stmt) {
			sqlite3_reset(stmt);
			sqlite3_clear_bindings(stmt);
			return;
		}
	}
	sqlite3_finalize(stmt);
}

static int exec(fic_store *store, const char *sql, const char *doing)
{
	int rc = sqlite3_exec(store->db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? FIC_OK : fic__db_err(store, rc, doing);
}

int fic__tx_begin(fic_store *store)
{
	if (store->read_only)
		return fic__err(FIC_EREADONLY, "the store is open read-only because the disk was full "
		                               "when it was opened; free some space and open it again");
	return exec(store, "BEGIN IMMEDIATE", "starting a transaction");
}

int fic__tx_begin_read(fic_store *store, const char *doing)
{
	return exec(store, "BEGIN", doing);
}

int fic__tx_end(fic_store *store, int rc)
{
	if (rc == FIC_OK)
		rc = fic__tx_commit(store);
	if (rc != FIC_OK)
		fic__tx_rollback(store);
	return rc;
}

/* Bind `fmt`'s parameters (see db.h) from `ap` to ?1, ?2, … */
static void bind_args(sqlite3_stmt *st, const char *fmt, va_list ap)
{
	for (int i = 1; *fmt; fmt++, i++) {
		switch (*fmt) {
		case 't': {
			const char *t = va_arg(ap, const char *);
			if (t)
				sqlite3_bind_text(st, i, t, -1, SQLITE_STATIC);
			else
				sqlite3_bind_null(st, i);
			break;
		}
		case 'i': sqlite3_bind_int64(st, i, va_arg(ap, int64_t)); break;
		case 'n': sqlite3_bind_null(st, i); break;
		default: break;
		}
	}
}

/*
 * Run the cached statement for `sql` with its parameters bound. With `buf`,
 * the first column of the first row as text; with `num`, as a number;
 * FIC_ENOTFOUND when either is asked for and there is no such value.
 */
static int run(fic_store *store, const char *sql, const char *doing, const char *fmt, va_list ap,
               char *buf, size_t size, int64_t *num)
{
	sqlite3_stmt *st;
	int rc = fic__cached(store, &st, sql);
	if (rc != FIC_OK)
		return rc;
	bind_args(st, fmt, ap);
	int s = sqlite3_step(st);
	bool value = s == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL;
	if (s != SQLITE_DONE && s != SQLITE_ROW)
		rc = fic__db_err(store, s, doing);
	else if ((buf || num) && !value)
		rc = FIC_ENOTFOUND;
	else if (buf)
		snprintf(buf, size, "%s", (const char *)sqlite3_column_text(st, 0));
	else if (num)
		*num = sqlite3_column_int64(st, 0);
	fic__release(store, st);
	return rc;
}

int fic__exec(fic_store *store, const char *sql, const char *doing, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = run(store, sql, doing, fmt, ap, NULL, 0, NULL);
	va_end(ap);
	return rc;
}

int fic__query_text(fic_store *store, char *buf, size_t size, const char *sql, const char *doing,
                    const char *fmt, ...)
{
	buf[0] = '\0';
	va_list ap;
	va_start(ap, fmt);
	int rc = run(store, sql, doing, fmt, ap, buf, size, NULL);
	va_end(ap);
	return rc;
}

int fic__query_int(fic_store *store, int64_t *out, const char *sql, const char *doing,
                   const char *fmt, ...)
{
	*out = 0;
	va_list ap;
	va_start(ap, fmt);
	int rc = run(store, sql, doing, fmt, ap, NULL, 0, out);
	va_end(ap);
	return rc;
}

int fic__prepare_args(fic_store *store, sqlite3_stmt **stmt, const char *sql, const char *fmt,
                      ...)
{
	int rc = fic__prepare(store, stmt, sql);
	if (rc != FIC_OK)
		return rc;
	va_list ap;
	va_start(ap, fmt);
	bind_args(*stmt, fmt, ap);
	va_end(ap);
	return FIC_OK;
}

int fic__rows_end(fic_store *store, sqlite3_stmt *st, int src, int rc, const char *doing)
{
	if (rc == FIC_OK && src != SQLITE_DONE)
		rc = fic__db_err(store, src, doing);
	sqlite3_finalize(st);
	return rc;
}

int fic__row_by_key(fic_store *store, sqlite3_stmt **st, const char *sql, const char *key,
                    const char *what)
{
	int rc = fic__prepare(store, st, sql);
	if (rc != FIC_OK)
		return rc;
	sqlite3_bind_text(*st, 1, key, -1, SQLITE_STATIC);
	int s = sqlite3_step(*st);
	if (s == SQLITE_ROW)
		return FIC_OK;
	rc = s == SQLITE_DONE ? fic__err(FIC_ENOTFOUND, "no %s %s", what, key)
	                      : fic__db_err(store, s, "reading a record");
	sqlite3_finalize(*st);
	*st = NULL;
	return rc;
}

int fic__uuid7(fic_store *store, char *buf)
{
	return fic__uuid7_next(&store->uuid, store->platform, buf);
}

int fic_store_new_id(fic_store *store, char *buf, size_t size)
{
	FIC__BEGIN_STORE(store);
	FIC__ARG(buf);
	if (size < FIC_UUID_BUFSIZE)
		return fic__err(FIC_EINVAL, "buf must hold at least %d bytes", FIC_UUID_BUFSIZE);
	return fic__uuid7(store, buf);
}

int fic__tx_commit(fic_store *store)
{
	int rc = exec(store, "COMMIT", "committing");
	if (rc != FIC_OK)
		fic__tx_rollback(store);
	return rc;
}

void fic__tx_rollback(fic_store *store)
{
	if (!sqlite3_get_autocommit(store->db))
		sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Run a one-integer query such as a PRAGMA. */
static int query_int(fic_store *store, const char *sql, int64_t *out, const char *doing)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(store->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return fic__db_err(store, rc, doing);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		*out = 0;
		rc = SQLITE_OK;
	}
	int code = rc == SQLITE_OK ? FIC_OK : fic__db_err(store, rc, doing);
	sqlite3_finalize(st);
	return code;
}

int fic_store_schema_version(void)
{
	return fic__migrations[fic__migrations_count - 1].version;
}

/* The size of fic_store_options at each version (util/abi.c). */
static const size_t store_options_sizes[] = { sizeof(fic_store_options) };
#define STORE_OPTIONS_N (sizeof store_options_sizes / sizeof store_options_sizes[0])

int fic_store_options_init(fic_store_options *opts, unsigned int version)
{
	static const fic_store_options init = FIC_STORE_OPTIONS_INIT;
	return fic__init_struct(opts, &init, store_options_sizes, STORE_OPTIONS_N, version,
	                        "store options");
}

/* The directory holding `path` ("." for a bare name). */
static void parent_dir(char *dir, size_t size, const char *path)
{
	snprintf(dir, size, "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash == NULL)
		snprintf(dir, size, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
}

/* fsync the directory holding `path`, so a newly created file's name is durable. */
static void sync_parent_dir(const char *path)
{
	char dir[PATH_MAX_BYTES];
	parent_dir(dir, sizeof dir, path);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

static bool denied(int err)
{
	return err == EACCES || err == EPERM || err == EROFS;
}

/*
 * If the store file or its directory cannot be written, record FIC_EREADONLY
 * saying which and return true. (When SQLite cannot open a file for writing
 * it retries read-only, so its own result and errno often hide the cause.)
 */
static bool explain_read_only(const char *full)
{
	char dir[PATH_MAX_BYTES];
	parent_dir(dir, sizeof dir, full);
	bool exists = access(full, F_OK) == 0;
	if (exists && access(full, R_OK | W_OK) != 0 && denied(errno)) {
		fic__err(FIC_EREADONLY, "'%s' is read-only: the store must be writable", full);
		return true;
	}
	if (access(dir, W_OK | X_OK) != 0 && denied(errno)) {
		fic__err(FIC_EREADONLY,
		         exists ? "the directory of '%s' cannot be written: the store keeps its "
		                  "write-ahead log next to it"
		                : "cannot create '%s': its directory cannot be written",
		         full);
		return true;
	}
	return false;
}

/* A step of opening failed: explain a permission problem, else report SQLite's error. */
static int open_failure(fic_store *store, int src, const char *full, const char *doing)
{
	int base = src & 0xFF;
	if (base != SQLITE_CANTOPEN && base != SQLITE_READONLY && base != SQLITE_PERM &&
	    base != SQLITE_IOERR && base != SQLITE_AUTH)
		return fic__db_err(store, src, doing);
	if (explain_read_only(full))
		return FIC_EREADONLY;
	if (base != SQLITE_CANTOPEN)
		return fic__db_err(store, src, doing);
	char dir[PATH_MAX_BYTES];
	parent_dir(dir, sizeof dir, full);
	if (access(full, F_OK) != 0 && access(dir, F_OK) != 0 && errno == ENOENT)
		return fic__err(FIC_EIO, "cannot create '%s': its directory does not exist", full);
	return fic__err(FIC_EIO, "%s: cannot open '%s' (%s)", doing, full,
	                sqlite3_errmsg(store->db));
}

static int apply_migrations(fic_store *store, const fic__migration *migrations, size_t count,
                            int64_t from)
{
	for (size_t i = 0; i < count; i++) {
		const fic__migration *m = &migrations[i];
		if (m->version <= from)
			continue;
		int rc = fic__tx_begin(store);
		if (rc != FIC_OK)
			return rc;
		/* Another connection may have migrated while we waited for the lock. */
		int64_t now = 0;
		rc = query_int(store, "PRAGMA user_version", &now, "reading the schema version");
		if (rc != FIC_OK) {
			fic__tx_rollback(store);
			return rc;
		}
		if (now >= m->version) {
			fic__tx_rollback(store);
			continue;
		}
		char *errmsg = NULL;
		int src = sqlite3_exec(store->db, m->sql, NULL, NULL, &errmsg);
		if (src == SQLITE_OK) {
			char set[64];
			snprintf(set, sizeof set, "PRAGMA user_version = %d", m->version);
			src = sqlite3_exec(store->db, set, NULL, NULL, NULL);
		}
		if (src != SQLITE_OK) {
			int base = map_sqlite(src);
			fic__err(base == FIC_ENOMEM || base == FIC_EIO || base == FIC_EREADONLY ||
			                 base == FIC_EBUSY ? base : FIC_ESCHEMA,
			         "migration %d (%s) failed: %s; the store was left at schema %lld",
			         m->version, m->name, errmsg ? errmsg : sqlite3_errmsg(store->db),
			         (long long)now);
			sqlite3_free(errmsg);
			int code = fic_error_last()->code;
			fic__tx_rollback(store);
			return code;
		}
		rc = fic__tx_commit(store);
		if (rc != FIC_OK)
			return rc;
		fic__log(store, FIC_LOG_INFO, "store schema migrated to %d (%s)", m->version, m->name);
	}
	return FIC_OK;
}

/* Give a store its device id the first time it is opened. */
static int ensure_device_id(fic_store *store)
{
	sqlite3_stmt *st;
	int rc = fic__prepare(store, &st, "SELECT value FROM meta WHERE key = 'device_id'");
	if (rc != FIC_OK)
		return rc;
	int src = sqlite3_step(st);
	if (src == SQLITE_ROW) {
		const unsigned char *v = sqlite3_column_text(st, 0);
		if (v == NULL || strlen((const char *)v) != FIC_UUID_BUFSIZE - 1) {
			sqlite3_finalize(st);
			return fic__err(FIC_ECORRUPT, "the store's device id is damaged");
		}
		memcpy(store->device_id, v, FIC_UUID_BUFSIZE);
		sqlite3_finalize(st);
		return FIC_OK;
	}
	sqlite3_finalize(st);
	if (src != SQLITE_DONE)
		return fic__db_err(store, src, "reading the device id");

	char id[FIC_UUID_BUFSIZE];
	if ((rc = fic__uuid7(store, id)) != FIC_OK)
		return rc;
	if ((rc = fic__tx_begin(store)) != FIC_OK)
		return rc;
	rc = fic__prepare(store, &st,
	                  "INSERT OR IGNORE INTO meta (key, value) VALUES ('device_id', ?1), "
	                  "('created_at_ms', ?2)");
	if (rc == FIC_OK) {
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, store->platform->wall_ms(store->platform->ctx));
		src = sqlite3_step(st);
		sqlite3_finalize(st);
		rc = src == SQLITE_DONE ? FIC_OK : fic__db_err(store, src, "saving the device id");
	}
	if (rc != FIC_OK) {
		fic__tx_rollback(store);
		return rc;
	}
	if ((rc = fic__tx_commit(store)) != FIC_OK)
		return rc;
	/* Re-read: a concurrent first open may have won the INSERT OR IGNORE. */
	return ensure_device_id(store);
}

/* The size of fic_platform at each version (util/abi.c): version 2 appended
 * the secret hooks. */
static const size_t platform_sizes[] = { offsetof(fic_platform, secret_get),
	                                 sizeof(fic_platform) };

/* The caller's table copied into the store's own (later members NULL). */
static int take_platform(fic_platform *dst, const fic_platform *p)
{
	if (p->version < 1 ||
	    fic__table_in(dst, p, platform_sizes, sizeof platform_sizes / sizeof platform_sizes[0],
	                  "platform") != FIC_OK ||
	    dst->wall_ms == NULL || dst->monotonic_ms == NULL || dst->boot_id == NULL ||
	    dst->random_bytes == NULL)
		return fic__err(FIC_EINVAL, "platform table is incomplete or of unknown version");
	int hooks = (dst->secret_get != NULL) + (dst->secret_put != NULL) +
	            (dst->secret_delete != NULL);
	if (hooks != 0 && hooks != 3)
		return fic__err(FIC_EINVAL, "platform table: give all three secret hooks or none");
	return FIC_OK;
}

static int resolve_path(char *out, size_t size, const char *path, const fic_platform *p)
{
	int n;
	if (path[0] != '/' && p->data_dir != NULL && p->data_dir[0] != '\0')
		n = snprintf(out, size, "%s/%s", p->data_dir, path);
	else
		n = snprintf(out, size, "%s", path);
	if (n < 0 || (size_t)n >= size)
		return fic__err(FIC_ETOOBIG, "store path is longer than %zu bytes", size - 1);
	return FIC_OK;
}

/*
 * Decide whether an existing file is ours, empty, or something else. Read in
 * one write transaction: it waits (busy timeout) for another connection that
 * is creating or migrating the store and then sees application id, schema
 * version and tables as one state, never half of another's migration.
 */
static int check_identity(fic_store *store, int64_t *version, const fic__migration *migrations,
                          size_t count)
{
	*version = 0;
	/* Read-only (open_read_only): nothing else can write meanwhile, a plain read will do. */
	int src = sqlite3_exec(store->db, store->read_only ? "BEGIN" : "BEGIN IMMEDIATE", NULL, NULL,
	                       NULL);
	if (src != SQLITE_OK)
		return open_failure(store, src, store->path, "reading the store header");
	int64_t app_id = 0, tables = 0, ours = 0;
	int rc = query_int(store, "PRAGMA application_id", &app_id, "reading the store header");
	if (rc == FIC_OK)
		rc = query_int(store, "PRAGMA user_version", version, "reading the schema version");
	if (rc == FIC_OK)
		rc = query_int(store, "SELECT count(*) FROM sqlite_schema", &tables,
		               "reading the store's schema");
	if (rc == FIC_OK)
		rc = query_int(store, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND "
		                      "name IN ('meta', 'sites', 'audit', 'outbox')",
		               &ours, "reading the store's schema");
	if (rc != FIC_OK) {
		fic__tx_rollback(store);
		return rc;
	}
	int latest = migrations[count - 1].version;
	bool stamp = false;
	if (app_id == FIC_APPLICATION_ID || (app_id == 0 && *version == 0 && tables == 0)) {
		/* ours, or empty */
	} else if (app_id == 0 && *version >= 1 && ours == 4) {
		/*
		 * Our schema under a header without the application id (migrations set
		 * both in one transaction, so this is a store rebuilt from an SQL dump,
		 * which loses the header): it is ours; mark it again.
		 */
		stamp = *version <= latest;
	} else {
		fic__tx_rollback(store);
		return fic__err(FIC_ENOTSTORE,
		                "'%s' is a SQLite database of another program, not a fieldinspect store",
		                store->path);
	}
	if (*version > latest) {
		fic__tx_rollback(store);
		return fic__err(FIC_ENEWER,
		                "'%s' was written by a newer fieldinspect (schema %lld; this build "
		                "knows up to %d): update the app",
		                store->path, (long long)*version, latest);
	}
	if (!stamp || store->read_only) {
		fic__tx_rollback(store);
		return FIC_OK;
	}
	char set[64];
	snprintf(set, sizeof set, "PRAGMA application_id = %d", FIC_APPLICATION_ID);
	if ((rc = exec(store, set, "marking the store")) != FIC_OK) {
		fic__tx_rollback(store);
		return rc;
	}
	if ((rc = fic__tx_commit(store)) != FIC_OK)
		return rc;
	fic__log(store, FIC_LOG_WARN, "'%s' had lost its application id; marked again",
	         store->path);
	return FIC_OK;
}

/*
 * Switch to WAL. That takes an exclusive lock, for which SQLite does not wait
 * on the busy handler; so retry here until the busy timeout, as it would.
 */
static int enable_wal(fic_store *store, int timeout_ms)
{
	sqlite3_stmt *st;
	int rc = fic__prepare(store, &st, "PRAGMA journal_mode = WAL");
	if (rc != FIC_OK)
		return rc;
	char mode[16] = "";
	int src, waited = 0, pause = 1;
	for (;;) {
		src = sqlite3_step(st);
		if (src == SQLITE_ROW) {
			const unsigned char *m = sqlite3_column_text(st, 0);
			snprintf(mode, sizeof mode, "%s", m ? (const char *)m : "");
			break;
		}
		sqlite3_reset(st);
		if ((src & 0xFF) != SQLITE_BUSY || waited >= timeout_ms)
			break;
		int slept = sqlite3_sleep(pause);
		waited += slept > pause ? slept : pause;
		pause = pause < 20 ? pause * 2 : 20;
	}
	sqlite3_finalize(st);
	if (src != SQLITE_ROW)
		return open_failure(store, src, store->path, "switching the store to WAL");
	if (strcmp(mode, "wal") != 0)
		return fic__err(FIC_EIO, "the store could not use write-ahead logging (mode '%s')",
		                mode);
	return FIC_OK;
}

/*
 * Whether opening failed because the disk is full: SQLite's own SQLITE_FULL,
 * an OS error of ENOSPC (or a quota's EDQUOT), or the WAL's shared-memory
 * (-shm) file that could not be made or grown — the first thing to fail on a
 * full disk, since even reading a WAL store needs it.
 */
static bool disk_full(fic_store *store)
{
	if (store->db == NULL)
		return false;
	int ext = sqlite3_extended_errcode(store->db), err = sqlite3_system_errno(store->db);
	return err == ENOSPC ||
#ifdef EDQUOT
	       err == EDQUOT ||
#endif
	       (ext & 0xFF) == SQLITE_FULL || ext == SQLITE_IOERR_SHMOPEN ||
	       ext == SQLITE_IOERR_SHMSIZE || ext == SQLITE_IOERR_SHMMAP;
}

/*
 * The disk is full: open the existing store for reading only, so that what
 * it holds — pending urgent leads and their deadlines above all — can still
 * be read and exported. A WAL store cannot be read the usual way, even by a
 * read-only connection, when its -shm file cannot be made or grown
 * (https://sqlite.org/wal.html, "Read-Only Databases"); but a connection in
 * EXCLUSIVE locking mode before its first read keeps the WAL index in its
 * own memory and makes no -shm at all ("Use of WAL Without Shared-Memory").
 * It reads the WAL as it is, so what a crash left there is seen too. It
 * holds an exclusive lock on the file while open, so no other connection
 * can change the file under the index (nor open it meanwhile: FIC_EBUSY),
 * and query_only makes every write fail. What it still needs from the disk
 * is an empty -wal file when there is none (a name, no data blocks).
 * ?immutable or nolock would not be safe: another handle could write once
 * space is freed, under a reader that does not look.
 */
static int open_read_only(fic_store *store, const fic__migration *migrations, size_t count,
                          int timeout_ms)
{
	for (size_t i = 0; i < FIC_STMT_CACHE; i++) {
		sqlite3_finalize(store->cache[i].stmt);
		store->cache[i].sql = NULL;
		store->cache[i].stmt = NULL;
	}
	sqlite3_close_v2(store->db);
	store->db = NULL;
	store->read_only = true;
	int src = sqlite3_open_v2(store->path, &store->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
	                          NULL);
	if (src != SQLITE_OK)
		return store->db ? fic__db_err(store, src, "opening the store read-only")
		                 : fic__err(FIC_ENOMEM, "out of memory opening the store");
	sqlite3_extended_result_codes(store->db, 1);
	sqlite3_busy_timeout(store->db, timeout_ms);
	int rc = exec(store, "PRAGMA locking_mode = EXCLUSIVE; PRAGMA query_only = 1;",
	              "opening the store read-only");
	int64_t version = 0;
	if (rc == FIC_OK && (rc = check_identity(store, &version, migrations, count)) != FIC_OK)
		return rc;
	if (rc == FIC_OK && version < migrations[count - 1].version)
		return fic__err(FIC_EIO, "the store is at schema %lld and must be migrated to %d, which "
		                "needs free space", (long long)version, migrations[count - 1].version);
	if (rc == FIC_OK)
		rc = exec(store, "PRAGMA foreign_keys = ON;", "configuring the store");
	if (rc == FIC_OK)
		rc = ensure_device_id(store);
	return rc;
}

int fic_store_read_only(const fic_store *store)
{
	return store != NULL && store->read_only;
}

/*
 * The connection's settings.
 * WAL + synchronous=FULL: each commit fsyncs the log before returning.
 * secure_delete: what a change removes or overwrites (a lead's personal
 * answers when they are sealed, pruned upload records, a token moved
 * out) is zeroed in the page, never left in free space — Debian's SQLite
 * has it on by default, an app's bundled SQLite does not.
 * mmap_size: SQLite reads the first 256 MiB of the file (a year's store
 * at 100 000 sites is about 220 MiB) through a memory map instead of a
 * read() per page, so a lookup whose pages are not in SQLite's own 2 MB
 * cache costs no system call: what made "near" and the name search
 * grow with the registry (docs/architecture.md, "Scale"). Writes still
 * go through the log as before. The price: a failing flash that cannot
 * read a page raises SIGBUS instead of SQLITE_IOERR. */
static int configure(fic_store *store, int timeout_ms)
{
	int rc = enable_wal(store, timeout_ms);
	if (rc == FIC_OK)
		rc = exec(store, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; "
		                 "PRAGMA secure_delete = ON; PRAGMA mmap_size = 268435456;",
		          "configuring the store");
	return rc;
}

int fic__store_open_with(fic_store **out, const char *path, const fic_store_options *opts,
                         const fic__migration *migrations, size_t count)
{
	fic__err_clear();
	FIC__OUT(out);
	int rc = fic__check_text(path, "store path", PATH_MAX_BYTES - 1, true, NULL);
	if (rc != FIC_OK)
		return rc;
	fic_store_options defaults = FIC_STORE_OPTIONS_INIT;
	if (opts != NULL &&
	    (rc = fic__struct_in(&defaults, opts, store_options_sizes, STORE_OPTIONS_N,
	                         "store options")) != FIC_OK)
		return rc;
	opts = &defaults;
	fic_platform platform_copy;
	if ((rc = take_platform(&platform_copy, opts->platform ? opts->platform
	                                                       : fic_platform_default())) != FIC_OK)
		return rc;
	const fic_platform *platform = &platform_copy;
	if ((rc = fic__check_text(opts->actor, "actor", 200, false, NULL)) != FIC_OK)
		return rc;
	if (opts->busy_timeout_ms < 0)
		return fic__err(FIC_EINVAL, "busy_timeout_ms must not be negative");

	char full[PATH_MAX_BYTES];
	if ((rc = resolve_path(full, sizeof full, path, platform)) != FIC_OK)
		return rc;
	int timeout_ms = opts->busy_timeout_ms ? opts->busy_timeout_ms : 5000;

	struct stat sb;
	bool existed = stat(full, &sb) == 0;
	if (existed && !S_ISREG(sb.st_mode))
		return fic__err(FIC_ENOTSTORE, "'%s' is not a regular file", full);

	fic_store *store = fic__calloc(1, sizeof *store);
	if (store == NULL)
		return fic__err(FIC_ENOMEM, "out of memory opening the store");
	store->platform_table = platform_copy;
	store->platform = platform = &store->platform_table;
	store->path = fic__strdup(full);
	store->actor = fic__strdup(opts->actor && opts->actor[0] ? opts->actor : "unknown");
	if (store->path == NULL || store->actor == NULL) {
		rc = fic__err(FIC_ENOMEM, "out of memory opening the store");
		goto fail;
	}
	if (platform->boot_id(platform->ctx, store->boot_id, sizeof store->boot_id) != 0)
		snprintf(store->boot_id, sizeof store->boot_id, "unknown");

	int src = sqlite3_open_v2(full, &store->db,
	                          SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	                          NULL);
	if (src != SQLITE_OK) {
		if (store->db == NULL)
			rc = fic__err(FIC_ENOMEM, "out of memory opening the store");
		else
			rc = open_failure(store, src, full, "opening the store");
		goto fail;
	}
	sqlite3_extended_result_codes(store->db, 1);
	if (sqlite3_db_readonly(store->db, "main") == 1) {
		/* SQLite fell back to read-only: say why if we can. */
		rc = FIC_EREADONLY;
		if (!explain_read_only(full))
			fic__err(FIC_EREADONLY, "'%s' is read-only: the store must be writable", full);
		goto fail;
	}
	store->busy_timeout_ms = timeout_ms;
	sqlite3_busy_timeout(store->db, timeout_ms);

	int64_t version = 0;
	if ((rc = check_identity(store, &version, migrations, count)) != FIC_OK)
		goto fail;

	if ((rc = configure(store, timeout_ms)) != FIC_OK)
		goto fail;

	if ((rc = apply_migrations(store, migrations, count, version)) != FIC_OK)
		goto fail;
	if (!existed)
		sync_parent_dir(full);
	if ((rc = ensure_device_id(store)) != FIC_OK)
		goto fail;
	if ((rc = fic__secrets_migrate(store)) != FIC_OK)
		goto fail;

	*out = store;
	return FIC_OK;
fail:
	if (existed && rc != FIC_ENOMEM && disk_full(store)) {
		char why[300];
		snprintf(why, sizeof why, "%s", fic_error_last()->message);
		int ro = open_read_only(store, migrations, count, timeout_ms);
		if (ro == FIC_OK) {
			fic__err_clear();
			fic__log(store, FIC_LOG_WARN, "the disk is full (%s): '%s' is open read-only", why,
			         full);
			*out = store;
			return FIC_OK;
		}
		rc = ro == FIC_EBUSY ? ro : rc;
		fic__err(rc, "the disk is full (%s), and the store could not be opened read-only "
		             "either: %s", why, fic_error_last()->message);
	}
	fic_store_close(store);
	return rc;
}

void fic_store_close(fic_store *store)
{
	if (store == NULL)
		return;
	for (size_t i = 0; i < FIC_STMT_CACHE; i++)
		sqlite3_finalize(store->cache[i].stmt);
	if (store->registry && store->registry_free)
		store->registry_free(store->registry);
	if (store->db)
		sqlite3_close_v2(store->db);
	fic__free(store->path);
	fic__free(store->actor);
	fic__free(store);
}

const char *fic_store_device_id(const fic_store *store)
{
	return store ? store->device_id : NULL;
}

/* The store's own rules, beyond SQLite's: every site has its audit entry, and
 * every field-found site its outbox record (county sites arrive by the feed)
 * — or, once that record was acknowledged and pruned after the retention
 * (sync/queue.c), its tombstone in outbox_pruned. */
static int check_journal(fic_store *store)
{
	int64_t no_audit = 0, no_outbox = 0;
	int rc = query_int(store,
	                   "SELECT count(*) FROM sites WHERE id NOT IN "
	                   "(SELECT entity_id FROM audit WHERE entity = 'site')",
	                   &no_audit, "checking the audit log");
	if (rc == FIC_OK)
		rc = query_int(store,
		               "SELECT count(*) FROM sites WHERE origin = 2 AND id NOT IN "
		               "(SELECT record_id FROM outbox WHERE record_type = 'site') AND id NOT IN "
		               "(SELECT record_id FROM outbox_pruned WHERE record_type = 'site')",
		               &no_outbox, "checking the outbox");
	if (rc != FIC_OK)
		return rc;
	if (no_audit != 0)
		return fic__err(FIC_ECORRUPT, "%lld site%s no audit entry", (long long)no_audit,
		                no_audit == 1 ? " has" : "s have");
	if (no_outbox != 0)
		return fic__err(FIC_ECORRUPT, "%lld site%s no outbox record", (long long)no_outbox,
		                no_outbox == 1 ? " has" : "s have");
	return FIC_OK;
}

/*
 * The derived tables (0002_scale.sql, 0004_year.sql) against what they
 * derive from: the counters against real counts, every located site in the
 * R*Tree at its place and nothing else there, every name's bigrams present,
 * every site in the areas of its kind and each area's patrol dates and
 * counts. Their triggers keep them in step; this finds a store written with
 * the triggers missing or a table edited by hand.
 */
static int check_derived(fic_store *store)
{
	static const struct { const char *sql; const char *what; } checks[] = {
		{ "SELECT count(*) FROM (SELECT 'sites' AS name, count(*) AS n FROM sites "
		  "UNION ALL SELECT 'audit', count(*) FROM audit "
		  "UNION ALL SELECT 'outbox.pending', count(*) FROM outbox WHERE state IN ('pending', 'sent') "
		  "UNION ALL SELECT 'open.' || a.area, (SELECT count(*) FROM site_areas s WHERE s.open = 1 "
		  " AND s.area = a.area) FROM patrol_areas a) t "
		  "WHERE t.n IS NOT (SELECT n FROM counts c WHERE c.name = t.name)",
		  "counter(s) differ from the rows they count" },
		{ "WITH t (name, n) AS (SELECT 'seen.' || area || '.' || patrol_year, count(*) "
		  "FROM site_areas WHERE open = 1 AND patrol_year IS NOT NULL AND patrols_in_year >= 1 "
		  "GROUP BY 1 UNION ALL SELECT 'done.' || area || '.' || patrol_year, count(*) "
		  "FROM site_areas WHERE open = 1 AND patrol_year IS NOT NULL AND patrols_in_year >= per_year "
		  "GROUP BY 1) SELECT (SELECT count(*) FROM t WHERE t.n IS NOT (SELECT n FROM counts c "
		  "WHERE c.name = t.name)) + (SELECT count(*) FROM counts c WHERE (c.name LIKE "
		  "'seen.%' OR c.name LIKE 'done.%') AND c.n != 0 AND c.name NOT IN "
		  "(SELECT name FROM t))",
		  "patrol counter(s) differ from the sites' patrols" },
		{ "SELECT (SELECT count(*) FROM sites WHERE k IS NULL) + "
		  "(SELECT count(*) FROM sites s WHERE s.lat IS NOT NULL AND s.lon IS NOT NULL AND NOT EXISTS "
		  " (SELECT 1 FROM site_rtree r WHERE r.k = s.k AND r.minlat <= s.lat AND r.maxlat >= s.lat "
		  " AND r.minlon <= s.lon AND r.maxlon >= s.lon AND r.maxlat - r.minlat < 1e-4 AND "
		  " r.maxlon - r.minlon < 1e-4)) + "
		  "(SELECT count(*) FROM site_rtree r WHERE NOT EXISTS (SELECT 1 FROM sites s WHERE "
		  " s.k = r.k AND s.lat IS NOT NULL AND s.lon IS NOT NULL))",
		  "site location(s) missing from or wrong in the location index" },
		{ "SELECT count(*) FROM sites s JOIN name_positions p ON p.i < length(s.name) "
		  "WHERE NOT EXISTS (SELECT 1 FROM site_grams g WHERE g.gram = substr(s.name, p.i, 2) "
		  "AND g.k = s.k)",
		  "name bigram(s) missing from the name index" },
		{ "SELECT (SELECT count(*) FROM (SELECT gram, count(*) AS n FROM site_grams GROUP BY gram) t "
		  "WHERE t.n IS NOT (SELECT n FROM site_gram_counts c WHERE c.gram = t.gram)) + "
		  "(SELECT count(*) FROM site_gram_counts c WHERE NOT EXISTS (SELECT 1 FROM site_grams g "
		  "WHERE g.gram = c.gram))",
		  "name bigram count(s) differ from the name index" },
		{ "SELECT (SELECT count(*) FROM sites s JOIN area_kinds ak ON ak.kind = s.kind WHERE "
		  "NOT EXISTS (SELECT 1 FROM site_areas sa WHERE sa.k = s.k AND sa.area = ak.area)) + "
		  "(SELECT count(*) FROM site_areas sa LEFT JOIN sites s ON s.k = sa.k WHERE s.id IS NOT "
		  "sa.site_id OR s.name IS NOT sa.name OR s.kind IS NOT sa.kind OR "
		  "(s.status != 2) IS NOT sa.open)",
		  "site(s) missing from the areas of their kind, or out of step there" },
		{ "SELECT count(*) FROM (SELECT sa.last_patrol, sa.patrol_year, sa.patrols_in_year, "
		  "(SELECT max(i.inspection_date) FROM inspections i INDEXED BY inspections_site "
		  "WHERE i.site_id = sa.site_id AND i.state = 'finished' AND i.area = sa.area) AS lp, "
		  "sa.site_id, sa.area FROM site_areas sa) t WHERE t.last_patrol IS NOT t.lp OR "
		  "t.patrol_year IS NOT substr(t.lp, 1, 4) OR t.patrols_in_year != (SELECT count(*) "
		  "FROM inspections i INDEXED BY inspections_site WHERE i.site_id = t.site_id AND "
		  "i.state = 'finished' AND i.area = t.area AND i.inspection_date BETWEEN "
		  "substr(t.lp, 1, 4) || '-01-01' AND substr(t.lp, 1, 4) || '-12-31')",
		  "site(s) with wrong patrol dates or counts" },
	};
	for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
		int64_t bad = 0;
		int rc = query_int(store, checks[i].sql, &bad, "checking the derived tables");
		if (rc != FIC_OK)
			return rc;
		if (bad != 0)
			return fic__err(FIC_ECORRUPT, "%lld %s", (long long)bad, checks[i].what);
	}
	return FIC_OK;
}

int fic_store_check(fic_store *store)
{
	FIC__BEGIN_STORE(store);
	/* One read transaction: every check sees the same state. */
	int rc = fic__tx_begin_read(store, "checking the store");
	if (rc != FIC_OK)
		return rc;
	sqlite3_stmt *st;
	if ((rc = fic__prepare(store, &st, "PRAGMA integrity_check(1)")) != FIC_OK)
		goto done;
	int src = sqlite3_step(st);
	if (src == SQLITE_ROW) {
		const char *r = (const char *)sqlite3_column_text(st, 0);
		if (r == NULL || strcmp(r, "ok") != 0)
			rc = fic__err(FIC_ECORRUPT, "integrity check: %s", r ? r : "(no result)");
	} else {
		rc = fic__db_err(store, src, "checking the store");
	}
	sqlite3_finalize(st);
	if (rc != FIC_OK)
		goto done;
	int64_t bad = 0;
	rc = query_int(store, "SELECT count(*) FROM pragma_foreign_key_check", &bad,
	               "checking references");
	if (rc == FIC_OK && bad != 0)
		rc = fic__err(FIC_ECORRUPT, "%lld rows refer to records that do not exist",
		              (long long)bad);
	if (rc == FIC_OK)
		rc = check_journal(store);
	if (rc == FIC_OK)
		rc = check_derived(store);
done:
	fic__tx_rollback(store);
	return rc;
}

/* The size of fic_store_stats at each version: 1 ended before photos_pending. */
static const size_t store_stats_sizes[] = { offsetof(fic_store_stats, photos_pending),
	                                    sizeof(fic_store_stats) };

int fic_store_stats_get(fic_store *store, fic_store_stats *out)
{
	fic__err_clear();
	fic_store_stats all;
	memset(&all, 0, sizeof all);
	all.version = FIC_STORE_STATS_VERSION;
	if (out == NULL)
		return fic__err(FIC_EINVAL, "store and out are required");
	int rc = fic__struct_out(out, &all, store_stats_sizes,
	                         sizeof store_stats_sizes / sizeof store_stats_sizes[0],
	                         "store stats"); /* zero until read */
	if (rc != FIC_OK)
		return rc;
	if (store == NULL)
		return fic__err(FIC_EINVAL, "store and out are required");
	/* Counters kept by triggers in each change's transaction (0002_scale.sql):
	 * primary-key reads in one statement (one snapshot), whatever the size of
	 * the tables; photos waiting are counted on the index uploads_due. */
	sqlite3_stmt *st;
	rc = fic__cached(store, &st,
	                 "SELECT (SELECT n FROM counts WHERE name = 'sites'), "
	                 "(SELECT n FROM counts WHERE name = 'audit'), "
	                 "(SELECT n FROM counts WHERE name = 'outbox.pending'), "
	                 "(SELECT count(*) FROM uploads WHERE state = 'pending')");
	if (rc != FIC_OK)
		return rc;
	int src = sqlite3_step(st);
	if (src == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL &&
	    sqlite3_column_type(st, 1) != SQLITE_NULL && sqlite3_column_type(st, 2) != SQLITE_NULL) {
		all.sites = sqlite3_column_int64(st, 0);
		all.audit_entries = sqlite3_column_int64(st, 1);
		all.outbox_pending = sqlite3_column_int64(st, 2);
		all.photos_pending = sqlite3_column_int64(st, 3);
	} else if (src == SQLITE_ROW) {
		rc = fic__err(FIC_ECORRUPT, "counting the store: a counter is missing");
	} else {
		rc = fic__db_err(store, src, "counting the store");
	}
	fic__release(store, st);
	if (rc == FIC_OK) /* the version was checked above */
		(void)fic__struct_out(out, &all, store_stats_sizes,
		                      sizeof store_stats_sizes / sizeof store_stats_sizes[0],
		                      "store stats");
	return rc;
}
