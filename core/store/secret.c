/*
 * core/store/secret.c — what the store keeps out of its database file, and
 * what it does so that overwritten data does not linger in it:
 *
 *  - secrets (the bearer token; any key the device holds) go through the
 *    platform's secret hooks (sys/platform.h, version 2) — a 0600 file
 *    beside the store by default, the Android Keystore in the app — never
 *    into a table, its WAL or a backup of the file. A store from before
 *    kept its token in sync_state: opening moves it out (and scrubs it from
 *    the file);
 *  - scrubbing: after plaintext was overwritten (a lead's personal answers
 *    sealed at submission, acknowledged upload rows pruned) the WAL is
 *    checkpointed into the database and truncated, so its old frames do not
 *    keep copies of pages that held it. secure_delete (on for every store
 *    connection, store.c) has already zeroed the freed cells and pages.
 */
#include "db.h"

#include <sqlite3.h>
#include <string.h>

static int hook_rc(int rc, const char *doing, const char *name)
{
	if (rc == FIC_OK || rc == FIC_ENOTFOUND)
		return rc;
	return fic__err(rc == FIC_ETOOBIG || rc == FIC_EINVAL || rc == FIC_ENOMEM ? rc : FIC_EIO,
	                "%s the secret %s failed (%s)", doing, name, fic_result_str(rc));
}

int fic__secret_get(fic_store *store, const char *name, char *buf, size_t size)
{
	const fic_platform *p = store->platform;
	size_t len = 0;
	if (size < 2)
		return fic__err(FIC_EINVAL, "no room for the secret %s", name);
	int rc = p->secret_get ? p->secret_get(p->ctx, store->path, name, buf, size - 1, &len)
	                       : fic_secret_file_get(NULL, store->path, name, buf, size - 1, &len);
	if (rc == FIC_OK && (len == 0 || len >= size || memchr(buf, '\0', len) != NULL))
		rc = FIC_EIO; /* the text secrets the library keeps have no NUL */
	if (rc != FIC_OK) {
		fic__wipe(buf, size);
		buf[0] = '\0';
		return hook_rc(rc, "reading", name);
	}
	buf[len] = '\0';
	return FIC_OK;
}

int fic__secret_put(fic_store *store, const char *name, const char *value)
{
	const fic_platform *p = store->platform;
	size_t len = strlen(value);
	int rc = p->secret_put ? p->secret_put(p->ctx, store->path, name, value, len)
	                       : fic_secret_file_put(NULL, store->path, name, value, len);
	return hook_rc(rc, "saving", name);
}

int fic__secret_delete(fic_store *store, const char *name)
{
	const fic_platform *p = store->platform;
	int rc = p->secret_delete ? p->secret_delete(p->ctx, store->path, name)
	                          : fic_secret_file_delete(NULL, store->path, name);
	return rc == FIC_ENOTFOUND ? FIC_OK : hook_rc(rc, "deleting", name);
}

int fic__store_scrub(fic_store *store)
{
	/*
	 * Truncate only if no other connection is reading an older snapshot:
	 * waiting for one (SQLite's busy handler) would hold up the inspector's
	 * call. When it cannot complete now, the next scrub, the next open's
	 * first write or the last connection's close does it.
	 */
	sqlite3_busy_timeout(store->db, 0);
	int log = 0, done = 0;
	int src = sqlite3_wal_checkpoint_v2(store->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, &log, &done);
	sqlite3_busy_timeout(store->db, store->busy_timeout_ms);
	if (src != SQLITE_OK) {
		fic__log(store, FIC_LOG_INFO, "the write-ahead log could not be emptied now (%s)",
		         sqlite3_errstr(src));
		return (src & 0xFF) == SQLITE_BUSY || (src & 0xFF) == SQLITE_LOCKED ? FIC_EBUSY
		                                                                  : FIC_EIO;
	}
	return FIC_OK;
}

void fic__store_scrub_if_due(fic_store *store, int rc)
{
	bool due = store->scrub_due;
	store->scrub_due = false;
	if (due && rc == FIC_OK)
		(void)fic__store_scrub(store); /* sets no error: a busy log waits for later */
}

/* Schema 1–4 kept the bearer token in sync_state: move it to the secret hook
 * and scrub it from the database file. */
/* One secret an older store kept in sync_state: moved out, or FIC_OK when
 * there is none. */
static int migrate_one(fic_store *store, const char *state_key, const char *secret)
{
	char value[FIC_SECRET_MAX];
	int rc = fic__query_text(store, value, sizeof value,
	                         "SELECT value FROM sync_state WHERE key = ?1",
	                         "reading the sync state", "t", state_key);
	if (rc == FIC_ENOTFOUND) {
		fic__err_clear();
		return FIC_OK;
	}
	if (rc == FIC_OK)
		rc = fic__secret_put(store, secret, value);
	fic__wipe(value, sizeof value);
	if (rc != FIC_OK)
		return rc;
	if ((rc = fic__tx_begin(store)) == FIC_OK) {
		rc = fic__exec(store, "DELETE FROM sync_state WHERE key = ?1",
		               "moving a secret out of the database", "t", state_key);
		if (rc == FIC_OK)
			rc = fic__audit_append(store,
			                       strcmp(secret, FIC_SECRET_TOKEN) == 0 ? "sync.token_moved"
			                                                             : "sync.sms_key_moved",
			                       "device", store->device_id, "{}");
		rc = fic__tx_end(store, rc);
	}
	if (rc == FIC_OK) {
		(void)fic__store_scrub(store);
		fic__log(store, FIC_LOG_INFO, "the %s moved out of the database",
		         strcmp(secret, FIC_SECRET_TOKEN) == 0 ? "bearer token" : "SMS key");
	}
	return rc;
}

int fic__secrets_migrate(fic_store *store)
{
	int rc = migrate_one(store, "sync.token", FIC_SECRET_TOKEN);
	if (rc == FIC_OK)
		rc = migrate_one(store, "sync.sms_key", FIC_SECRET_SMS_KEY);
	return rc;
}
