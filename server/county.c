/*
 * server/county.c — the reference county server on libmicrohttpd and SQLite
 * (WAL, synchronous=FULL): nothing is answered 200 before it is durable.
 * Every device is enrolled into one county with a one-time code; its token
 * is kept only as a SHA-256. Records are keyed by (county, id): the same
 * record sent twice is stored once and answered with the same receipt.
 */
#include "county.h"
#include "county_internal.h"
#include "county_keys.h"

#include "internal.h"
#include "sync_internal.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include <time.h>

struct county_server {
	sqlite3 *db;
	char *photo_root; /* <db>.photos/: one folder per county, files named by SHA-256 */
	char *key_dir;    /* where a county's first sealing key is made (county_set_key_dir) */
	char *tls_cert, *tls_key; /* PEM, when serving HTTPS */
	struct MHD_Daemon *d;
	int port;
	pthread_mutex_t lock; /* the db, between the HTTP threads and admin calls */
	int drop_after_store, busy, busy_retry_s;
	_Atomic int slow_n; /* fault injection: the database holds each of the next slow_n requests */
	int slow_ms;
	/* Connections and their deadlines (see "the request loop"). */
	pthread_mutex_t track_lock;
	pthread_cond_t track_cond;
	struct conn *conns;
	int64_t open_conns, cut_conns;
	pthread_t sweep_thread;
	bool sweeping, stopping;
	county_limits limits;
	int64_t token_idle_ms; /* limits.token_idle_ms (< 0: never) */
	/* Rate limits (enrolments, failed authentications): token buckets by
	 * client address and by county, in a fixed table (a bucket evicted for a
	 * newer one starts full again: bounded memory, whatever the clients). */
	pthread_mutex_t rl_lock;
	struct bucket {
		char key[40]; /* class letter + address, or + the county's SHA-256 (16 hex) */
		double tokens;
		int64_t at_ms;
	} rl[4096];
};

void county_limits_default(county_limits *out)
{
	memset(out, 0, sizeof *out);
	out->token_idle_ms = COUNTY_TOKEN_IDLE_MS;
	out->enrol_per_address = (county_rate)COUNTY_DEFAULT_ENROL_PER_ADDRESS;
	out->enrol_per_county = (county_rate)COUNTY_DEFAULT_ENROL_PER_COUNTY;
	out->failures_per_address = (county_rate)COUNTY_DEFAULT_FAILURES_PER_ADDRESS;
	out->failures_per_county = (county_rate)COUNTY_DEFAULT_FAILURES_PER_COUNTY;
	out->connections = COUNTY_DEFAULT_CONNECTIONS;
	out->connections_per_address = COUNTY_DEFAULT_CONNECTIONS_PER_ADDRESS;
	out->header_ms = COUNTY_DEFAULT_HEADER_MS;
	out->body_ms = COUNTY_DEFAULT_BODY_MS;
	out->body_bytes_per_s = COUNTY_DEFAULT_BODY_BYTES_PER_S;
	out->answer_ms = COUNTY_DEFAULT_ANSWER_MS;
	out->idle_s = COUNTY_DEFAULT_IDLE_S;
	out->db_wait_ms = COUNTY_DEFAULT_DB_WAIT_MS;
	out->device_partials = COUNTY_DEFAULT_DEVICE_PARTIALS;
	out->device_partial_bytes = COUNTY_DEFAULT_DEVICE_PARTIAL_BYTES;
	out->county_partial_bytes = COUNTY_DEFAULT_COUNTY_PARTIAL_BYTES;
	out->device_photo_bytes = COUNTY_DEFAULT_DEVICE_PHOTO_BYTES;
	out->county_photo_bytes = COUNTY_DEFAULT_COUNTY_PHOTO_BYTES;
}

void county_get_limits(const county_server *s, county_limits *out)
{
	*out = s->limits;
}

int county_set_limits(county_server *s, const county_limits *l)
{
	if (s->d != NULL)
		return -1; /* listening already */
	county_limits d;
	county_limits_default(&d);
#define PICK(m) s->limits.m = l->m ? l->m : d.m
	PICK(token_idle_ms);
	PICK(connections);
	PICK(connections_per_address);
	PICK(header_ms);
	PICK(body_ms);
	PICK(body_bytes_per_s);
	PICK(answer_ms);
	PICK(idle_s);
	PICK(db_wait_ms);
	PICK(device_partials);
	PICK(device_partial_bytes);
	PICK(county_partial_bytes);
	PICK(device_photo_bytes);
	PICK(county_photo_bytes);
	s->limits.enrol_per_address = l->enrol_per_address.burst ? l->enrol_per_address
	                                                          : d.enrol_per_address;
	s->limits.enrol_per_county = l->enrol_per_county.burst ? l->enrol_per_county
	                                                        : d.enrol_per_county;
	s->limits.failures_per_address = l->failures_per_address.burst ? l->failures_per_address
	                                                                : d.failures_per_address;
	s->limits.failures_per_county = l->failures_per_county.burst ? l->failures_per_county
	                                                              : d.failures_per_county;
#undef PICK
	s->token_idle_ms = s->limits.token_idle_ms;
	return 0;
}

/*
 * The database: the tables of the first server (version 1, made with IF NOT
 * EXISTS on every start), then the numbered changes since (migrate(), each
 * in its own transaction with PRAGMA user_version), then the indexes the
 * requests search by (IF NOT EXISTS: a database made by an older server, or
 * one whose index was dropped, gets them when the server next starts).
 */
static const char schema_v1[] =
	"PRAGMA journal_mode = WAL;"
	"PRAGMA synchronous = FULL;"
	"CREATE TABLE IF NOT EXISTS codes (code TEXT PRIMARY KEY, county TEXT NOT NULL,"
	" issued_ms INTEGER NOT NULL, used_by TEXT);"
	"CREATE TABLE IF NOT EXISTS devices (device_id TEXT PRIMARY KEY, county TEXT NOT NULL,"
	" token_sha256 TEXT NOT NULL UNIQUE, name TEXT, enrolled_ms INTEGER NOT NULL,"
	" chain_seq INTEGER NOT NULL DEFAULT 0,"
	" chain_hash TEXT NOT NULL DEFAULT '0000000000000000000000000000000000000000000000000000000000000000');"
	"CREATE TABLE IF NOT EXISTS records (county TEXT NOT NULL, id TEXT NOT NULL,"
	" device_id TEXT NOT NULL, type TEXT NOT NULL, op TEXT NOT NULL, seq INTEGER, hash TEXT,"
	" body TEXT NOT NULL, receipt_id TEXT NOT NULL, received_ms INTEGER NOT NULL,"
	" PRIMARY KEY (county, id));"
	"CREATE TABLE IF NOT EXISTS photos (county TEXT NOT NULL, sha256 TEXT NOT NULL,"
	" bytes INTEGER NOT NULL, device_id TEXT NOT NULL, received_ms INTEGER NOT NULL,"
	" PRIMARY KEY (county, sha256));"
	/* What the county sends down: a change log per county and feed, one entry
	 * per item (a newer change replaces the older entry, so a device that was
	 * away gets only the latest state of what changed since its cursor). */
	"CREATE TABLE IF NOT EXISTS feed (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	" county TEXT NOT NULL, feed TEXT NOT NULL, item_id TEXT NOT NULL,"
	" op TEXT NOT NULL, version INTEGER, data TEXT, changed_ms INTEGER NOT NULL,"
	" UNIQUE (county, feed, item_id));"
	/* Photos on their way: the length the device announced with the first
	 * chunk, so a partial file that has all its bytes (the server died
	 * between the last chunk and the check) is checked, not taken as whole. */
	"CREATE TABLE IF NOT EXISTS partials (county TEXT NOT NULL, sha256 TEXT NOT NULL,"
	" length INTEGER NOT NULL, started_ms INTEGER NOT NULL, PRIMARY KEY (county, sha256));"
	/* Breaks in a device's submission chain (evidence.h), found as the gaps
	 * fill; devices.chain_seq/chain_hash is how far the chain has verified. */
	"CREATE TABLE IF NOT EXISTS chain_breaks (county TEXT NOT NULL, device_id TEXT NOT NULL,"
	" seq INTEGER NOT NULL, what TEXT NOT NULL, found_ms INTEGER NOT NULL,"
	" PRIMARY KEY (device_id, seq, what));";

/*
 * Version 2 (issue #12, "no device can act as another"):
 *  - codes are kept as their SHA-256, like tokens (a copy of the database
 *    enrols nothing), with an expiry, and optionally for one device id (a
 *    re-enrolment code);
 *  - devices: when their token was issued and last used (an unused token
 *    expires), and whether the county revoked them;
 *  - retired_tokens: the hashes of tokens that were revoked or replaced, so
 *    their holder is told "token_revoked" rather than "unknown";
 *  - conflicts: records refused because another device holds their id, or
 *    because the same device sent other content under it.
 */
static const char schema_v2[] =
	"ALTER TABLE codes RENAME TO codes_v1;"
	"CREATE TABLE codes (code_sha256 TEXT PRIMARY KEY, county TEXT NOT NULL, device_id TEXT,"
	" issued_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL, used_by TEXT, used_ms INTEGER);"
	"ALTER TABLE devices ADD COLUMN token_issued_ms INTEGER;"
	"ALTER TABLE devices ADD COLUMN last_seen_ms INTEGER;"
	"ALTER TABLE devices ADD COLUMN revoked_ms INTEGER;"
	"UPDATE devices SET token_issued_ms = enrolled_ms;"
	"CREATE TABLE retired_tokens (token_sha256 TEXT PRIMARY KEY, device_id TEXT NOT NULL,"
	" county TEXT NOT NULL, why TEXT NOT NULL, retired_ms INTEGER NOT NULL);"
	"CREATE TABLE conflicts (county TEXT NOT NULL, record_id TEXT NOT NULL,"
	" device_id TEXT NOT NULL, held_by TEXT NOT NULL, what TEXT NOT NULL,"
	" found_ms INTEGER NOT NULL, PRIMARY KEY (county, record_id, device_id, what));";

/*
 * Version 3 (issue #12, "a photo's announced length is bound to the device
 * that announced it"; quotas):
 *  - partials are per device: each device's photo on its way is its own file
 *    (<sha256>.<device tag>.part) with its own announced length, so another
 *    device's bogus chunk or length cannot block, poison or complete it;
 *  - usage: per county and device (device_id '' for the whole county), the
 *    bytes announced by photos on their way, how many there are, and the
 *    bytes of photos held (charged to the device that completed each), for
 *    the quotas — kept in the same transactions as the rows they count.
 */
static const char schema_v3[] =
	"ALTER TABLE partials RENAME TO partials_v2;"
	"CREATE TABLE partials (county TEXT NOT NULL, device_id TEXT NOT NULL,"
	" sha256 TEXT NOT NULL, length INTEGER NOT NULL, started_ms INTEGER NOT NULL,"
	" PRIMARY KEY (county, device_id, sha256));"
	"CREATE TABLE usage (county TEXT NOT NULL, device_id TEXT NOT NULL,"
	" partial_bytes INTEGER NOT NULL DEFAULT 0, partials INTEGER NOT NULL DEFAULT 0,"
	" photo_bytes INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (county, device_id));"
	"INSERT INTO usage (county, device_id, photo_bytes)"
	" SELECT county, device_id, sum(bytes) FROM photos GROUP BY county, device_id;"
	"INSERT INTO usage (county, device_id, photo_bytes)"
	" SELECT county, '', sum(bytes) FROM photos GROUP BY county;";

/* What the requests search by (see request_sql below). A device's chained
 * entries in order, for the chain audit (only chained records have a seq);
 * a county's feed in order, for its pages. */
static const char schema_indexes[] =
	"CREATE INDEX IF NOT EXISTS records_chain ON records (county, device_id, seq)"
	" WHERE seq IS NOT NULL;"
	"CREATE INDEX IF NOT EXISTS feed_page ON feed (county, feed, seq);";

#define SCHEMA_VERSION 3

/*
 * Every statement a device's request runs (enrolment, records with the chain
 * audit, photos, feeds), in one table so that tests/server/test_query_plans.c
 * can ask SQLite how it runs each (EXPLAIN QUERY PLAN) and fail on a table
 * scan, a sort or a search on the county alone: a county holds a year of
 * records and the whole registry, and all of this runs under the server's
 * one lock.
 */
enum {
	SQL_CODE_GET,
	SQL_CODE_USE,
	SQL_DEVICE_GET,
	SQL_DEVICE_NEW,
	SQL_DEVICE_TOKEN,
	SQL_TOKEN_RETIRE,
	SQL_AUTH,
	SQL_AUTH_RETIRED,
	SQL_SEEN,
	SQL_RECORD_GET,
	SQL_RECORD_PUT,
	SQL_CONFLICT,
	SQL_RECORD_UPGRADE,
	SQL_CHAIN_AT,
	SQL_CHAIN_RUN,
	SQL_CHAIN_BREAK,
	SQL_CHAIN_MOVE,
	SQL_PHOTO_PUT,
	SQL_PARTIAL_GET,
	SQL_PARTIAL_PUT,
	SQL_PARTIAL_DROP,
	SQL_USAGE_GET,
	SQL_USAGE_ADD,
	SQL_FEED_PAGE,
	SQL_COUNT
};

static const char *const request_sql[SQL_COUNT] = {
	[SQL_CODE_GET] = "SELECT county, device_id, expires_ms, used_by, used_ms FROM codes"
	                 " WHERE code_sha256 = ?1",
	[SQL_CODE_USE] = "UPDATE codes SET used_by = ?2, used_ms = ?3 WHERE code_sha256 = ?1",
	[SQL_DEVICE_GET] = "SELECT county, token_sha256, revoked_ms, last_seen_ms FROM devices"
	                   " WHERE device_id = ?1",
	[SQL_DEVICE_NEW] = "INSERT INTO devices (device_id, county, token_sha256, name, enrolled_ms,"
	                   " token_issued_ms, sms_key) VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6)",
	[SQL_DEVICE_TOKEN] = "UPDATE devices SET token_sha256 = ?2, token_issued_ms = ?3,"
	                     " last_seen_ms = NULL, revoked_ms = NULL, name = coalesce(?4, name), sms_key = ?5"
	                     " WHERE device_id = ?1",
	[SQL_TOKEN_RETIRE] = "INSERT OR REPLACE INTO retired_tokens (token_sha256, device_id, county,"
	                     " why, retired_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
	[SQL_AUTH] = "SELECT device_id, county, revoked_ms, coalesce(last_seen_ms, token_issued_ms,"
	             " enrolled_ms), last_seen_ms FROM devices WHERE token_sha256 = ?1",
	[SQL_AUTH_RETIRED] = "SELECT county, why FROM retired_tokens WHERE token_sha256 = ?1",
	[SQL_SEEN] = "UPDATE devices SET last_seen_ms = ?2 WHERE device_id = ?1",
	[SQL_RECORD_GET] = "SELECT receipt_id, received_ms, device_id, body, op FROM records"
	                   " WHERE county = ?1 AND id = ?2",
	[SQL_RECORD_PUT] = "INSERT INTO records (county, id, device_id, type, op, seq, hash, body,"
	                   " receipt_id, received_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	[SQL_CONFLICT] = "INSERT OR IGNORE INTO conflicts (county, record_id, device_id, held_by,"
	                 " what, found_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	/* A lead first received by SMS (county_sms.c) becomes the full record
	 * from the same device, keeping the SMS's receipt and time. */
	[SQL_RECORD_UPGRADE] = "UPDATE records SET op = ?3, seq = ?4, hash = ?5, body = ?6"
	                       " WHERE county = ?1 AND id = ?2 AND op = 'sms' AND device_id = ?7",
	[SQL_CHAIN_AT] = "SELECT chain_seq, chain_hash FROM devices WHERE device_id = ?1",
	[SQL_CHAIN_RUN] = "SELECT seq, hash, json_extract(body, '$.canonical') FROM records"
	                  " WHERE county = ?1 AND device_id = ?2 AND seq > ?3 ORDER BY seq",
	[SQL_CHAIN_BREAK] = "INSERT OR IGNORE INTO chain_breaks (county, device_id, seq, what,"
	                    " found_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
	[SQL_CHAIN_MOVE] = "UPDATE devices SET chain_seq = ?2, chain_hash = ?3 WHERE device_id = ?1",
	[SQL_PHOTO_PUT] = "INSERT OR IGNORE INTO photos (county, sha256, bytes, device_id,"
	                  " received_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
	[SQL_PARTIAL_GET] = "SELECT length FROM partials WHERE county = ?1 AND device_id = ?2"
	                    " AND sha256 = ?3",
	[SQL_PARTIAL_PUT] = "INSERT INTO partials (county, device_id, sha256, length, started_ms)"
	                    " VALUES (?1, ?2, ?3, ?4, ?5)",
	[SQL_PARTIAL_DROP] = "DELETE FROM partials WHERE county = ?1 AND device_id = ?2"
	                     " AND sha256 = ?3",
	[SQL_USAGE_GET] = "SELECT partial_bytes, partials, photo_bytes FROM usage"
	                  " WHERE county = ?1 AND device_id = ?2",
	[SQL_USAGE_ADD] = "INSERT INTO usage (county, device_id, partial_bytes, partials, photo_bytes)"
	                  " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (county, device_id) DO UPDATE SET"
	                  " partial_bytes = partial_bytes + excluded.partial_bytes,"
	                  " partials = partials + excluded.partials,"
	                  " photo_bytes = photo_bytes + excluded.photo_bytes",
	[SQL_FEED_PAGE] = "SELECT seq, item_id, op, version, data, changed_ms FROM feed"
	                  " WHERE county = ?1 AND feed = ?2 AND seq > ?3 ORDER BY seq LIMIT ?4",
};

const char *county_request_sql(size_t i)
{
	return i < SQL_COUNT ? request_sql[i] : NULL;
}

static int64_t now_ms(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void hex(const unsigned char *b, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[b[i] >> 4];
		out[2 * i + 1] = d[b[i] & 15];
	}
	out[2 * n] = '\0';
}

static void sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	SHA256(data, len, md);
	hex(md, sizeof md, out);
}

static int county_dir(county_server *s, const char *county, char *buf, size_t size);

/*
 * Photos started more than a week ago and never finished are dropped (the
 * device starts again from its HEAD's 404), so abandoned uploads cannot fill
 * the disk over time. Run at start.
 */
/* The file of `device`'s partial photo `sha` in the county folder `dir`:
 * <sha>.<first 16 hex digits of SHA-256(device id)>.part. */
static void partial_path(const char *dir, const char *sha, const char *device, char *buf,
                         size_t size)
{
	char tag[65];
	sha256_hex(device, strlen(device), tag);
	snprintf(buf, size, "%s/%s.%.16s.part", dir, sha, tag);
}

/*
 * Photos started more than a week ago and never finished are dropped (the
 * device starts again from its HEAD's 404), so abandoned uploads cannot fill
 * the disk over time; then the usage counts of photos on their way are made
 * again from what is left. Run at start.
 */
static void sweep_partials(county_server *s)
{
	if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, "SELECT county, device_id, sha256 FROM partials"
	                              " WHERE started_ms < ?1", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, now_ms() - COUNTY_PARTIAL_MAX_AGE_MS);
		while (sqlite3_step(st) == SQLITE_ROW) {
			char dir[600], part[700];
			const char *sha = (const char *)sqlite3_column_text(st, 2);
			if (county_dir(s, (const char *)sqlite3_column_text(st, 0), dir, sizeof dir) != 0 ||
			    strlen(sha) != 64 || strspn(sha, "0123456789abcdef") != 64)
				continue;
			partial_path(dir, sha, (const char *)sqlite3_column_text(st, 1), part, sizeof part);
			unlink(part);
		}
	}
	sqlite3_finalize(st);
	sqlite3_stmt *del;
	if (sqlite3_prepare_v2(s->db, "DELETE FROM partials WHERE started_ms < ?1", -1, &del, NULL) ==
	    SQLITE_OK) {
		sqlite3_bind_int64(del, 1, now_ms() - COUNTY_PARTIAL_MAX_AGE_MS);
		sqlite3_step(del);
	}
	sqlite3_finalize(del);
	sqlite3_exec(s->db,
	             "UPDATE usage SET partial_bytes = 0, partials = 0;"
	             "INSERT INTO usage (county, device_id, partial_bytes, partials)"
	             " SELECT county, device_id, sum(length), count(*) FROM partials WHERE true"
	             " GROUP BY county, device_id"
	             " ON CONFLICT (county, device_id) DO UPDATE SET"
	             " partial_bytes = excluded.partial_bytes, partials = excluded.partials;"
	             "INSERT INTO usage (county, device_id, partial_bytes, partials)"
	             " SELECT county, '', sum(length), count(*) FROM partials WHERE true GROUP BY county"
	             " ON CONFLICT (county, device_id) DO UPDATE SET"
	             " partial_bytes = excluded.partial_bytes, partials = excluded.partials;"
	             "COMMIT",
	             NULL, NULL, NULL);
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL); /* if the COMMIT was not reached */
}

static int user_version(sqlite3 *db)
{
	sqlite3_stmt *st;
	int v = -1;
	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Version 1 → 2: the codes table rebuilt with each code's SHA-256 in place of
 * the code, and seven days to live from its issue. */
static int migrate_v2(county_server *s)
{
	if (sqlite3_exec(s->db, schema_v2, NULL, NULL, NULL) != SQLITE_OK)
		return -1;
	sqlite3_stmt *seen, *get, *put;
	int rc = -1;
	if (sqlite3_prepare_v2(s->db, "UPDATE devices SET last_seen_ms = ?1", -1, &seen, NULL) !=
	    SQLITE_OK)
		return -1;
	sqlite3_bind_int64(seen, 1, now_ms()); /* an unused token's idle time counts from now */
	int step = sqlite3_step(seen);
	sqlite3_finalize(seen);
	if (step != SQLITE_DONE)
		return -1;
	if (sqlite3_prepare_v2(s->db, "SELECT code, county, issued_ms, used_by FROM codes_v1", -1,
	                       &get, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_prepare_v2(s->db, "INSERT OR IGNORE INTO codes (code_sha256, county, issued_ms,"
	                              " expires_ms, used_by, used_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	                       -1, &put, NULL) != SQLITE_OK) {
		sqlite3_finalize(get);
		return -1;
	}
	while ((step = sqlite3_step(get)) == SQLITE_ROW) {
		const char *code = (const char *)sqlite3_column_text(get, 0);
		char h[65];
		sha256_hex(code ? code : "", code ? strlen(code) : 0, h);
		int64_t issued = sqlite3_column_int64(get, 2);
		sqlite3_reset(put);
		sqlite3_bind_text(put, 1, h, -1, SQLITE_TRANSIENT);
		sqlite3_bind_value(put, 2, sqlite3_column_value(get, 1));
		sqlite3_bind_int64(put, 3, issued);
		sqlite3_bind_int64(put, 4, issued + COUNTY_CODE_TTL_MS);
		sqlite3_bind_value(put, 5, sqlite3_column_value(get, 3));
		if (sqlite3_column_type(get, 3) != SQLITE_NULL)
			sqlite3_bind_int64(put, 6, issued);
		else
			sqlite3_bind_null(put, 6);
		if (sqlite3_step(put) != SQLITE_DONE)
			break;
	}
	if (step == SQLITE_DONE)
		rc = 0;
	sqlite3_finalize(get);
	sqlite3_finalize(put);
	if (rc == 0 && sqlite3_exec(s->db, "DROP TABLE codes_v1", NULL, NULL, NULL) != SQLITE_OK)
		rc = -1;
	return rc;
}

/* Version 2 → 3: partials per device. A photo on its way under the old
 * layout is dropped (file and row): its device's next HEAD gets 404 and it
 * starts again. */
static int migrate_v3(county_server *s)
{
	if (sqlite3_exec(s->db, schema_v3, NULL, NULL, NULL) != SQLITE_OK)
		return -1;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, "SELECT county, sha256 FROM partials_v2", -1, &st, NULL) !=
	    SQLITE_OK)
		return -1;
	while (sqlite3_step(st) == SQLITE_ROW) {
		char dir[600], part[700];
		const char *sha = (const char *)sqlite3_column_text(st, 1);
		if (sha == NULL || strlen(sha) != 64 || strspn(sha, "0123456789abcdef") != 64 ||
		    county_dir(s, (const char *)sqlite3_column_text(st, 0), dir, sizeof dir) != 0)
			continue;
		snprintf(part, sizeof part, "%s/%s.part", dir, sha);
		unlink(part);
	}
	sqlite3_finalize(st);
	return sqlite3_exec(s->db, "DROP TABLE partials_v2", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

/* Bring the database to SCHEMA_VERSION, each step with its version number in
 * one transaction (re-read under the write lock, so two servers starting at
 * once migrate once). */
static int migrate(county_server *s, char **msg)
{
	static int (*const steps[])(county_server *) = { NULL, NULL, migrate_v2, migrate_v3 };
	if (user_version(s->db) >= SCHEMA_VERSION)
		return 0;
	for (int v = 2; v <= SCHEMA_VERSION; v++) {
		if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
			goto fail;
		int have = user_version(s->db);
		if (have < v) {
			char pragma[48];
			snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", v);
			if (have < 0 || steps[v](s) != 0 ||
			    sqlite3_exec(s->db, pragma, NULL, NULL, NULL) != SQLITE_OK) {
				*msg = sqlite3_mprintf("migrating to version %d: %s", v, sqlite3_errmsg(s->db));
				sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
				return -1;
			}
		}
		if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
			goto fail;
	}
	return 0;
fail:
	*msg = sqlite3_mprintf("migrating: %s", sqlite3_errmsg(s->db));
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

int county_open(county_server **out, const char *db_path, char *err, size_t errsize)
{
	*out = NULL;
	county_server *s = calloc(1, sizeof *s);
	if (s == NULL) {
		snprintf(err, errsize, "out of memory");
		return -1;
	}
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->rl_lock, NULL);
	pthread_mutex_init(&s->track_lock, NULL);
	pthread_cond_init(&s->track_cond, NULL);
	county_limits_default(&s->limits);
	s->token_idle_ms = s->limits.token_idle_ms;
	size_t pl = strlen(db_path) + 8;
	if ((s->photo_root = malloc(pl)) == NULL) {
		snprintf(err, errsize, "out of memory");
		county_close(s);
		return -1;
	}
	snprintf(s->photo_root, pl, "%s.photos", db_path);
	if ((mkdir(s->photo_root, 0700) != 0 && errno != EEXIST) || chmod(s->photo_root, 0700) != 0) {
		snprintf(err, errsize, "cannot create %s: %s", s->photo_root, strerror(errno));
		county_close(s);
		return -1;
	}
	/* The database is the server user's alone, whatever the umask: made (or
	 * kept) 0600 before SQLite opens it, which then makes its -wal and -shm
	 * files with the same mode. */
	static const char *const suffix[] = { "", "-wal", "-shm", "-journal" };
	for (size_t i = 0; i < sizeof suffix / sizeof suffix[0]; i++) {
		char path[4200];
		if ((size_t)snprintf(path, sizeof path, "%s%s", db_path, suffix[i]) >= sizeof path) {
			snprintf(err, errsize, "the database path is too long");
			county_close(s);
			return -1;
		}
		int fd = open(path, O_RDWR | O_CLOEXEC | (i == 0 ? O_CREAT : 0), 0600);
		if (fd < 0 && (i == 0 || errno != ENOENT)) {
			snprintf(err, errsize, "cannot open %s: %s", path, strerror(errno));
			county_close(s);
			return -1;
		}
		if (fd >= 0) {
			int rc = fchmod(fd, 0600);
			close(fd);
			if (rc != 0) {
				snprintf(err, errsize, "cannot make %s private: %s", path, strerror(errno));
				county_close(s);
				return -1;
			}
		}
	}
	char *msg = NULL;
	if (sqlite3_open_v2(db_path, &s->db,
	                    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
	                    NULL) != SQLITE_OK ||
	    (sqlite3_busy_timeout(s->db, 5000), sqlite3_exec(s->db, schema_v1, NULL, NULL, &msg)) !=
	            SQLITE_OK ||
	    migrate(s, &msg) != 0 ||
	    sqlite3_exec(s->db, schema_indexes, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errsize, "cannot open %s: %s", db_path,
		         msg ? msg : sqlite3_errmsg(s->db));
		sqlite3_free(msg);
		county_close(s);
		return -1;
	}
	if (county__sms_schema(s->db, err, errsize) != 0 ||
	    county__keys_schema(s->db, err, errsize) != 0) {
		county_close(s);
		return -1;
	}
	sweep_partials(s);
	*out = s;
	return 0;
}

/* ---- responses ---- */

static enum MHD_Result send_full(struct MHD_Connection *c, unsigned status, const char *body,
                                 int retry_after_s, int64_t upload_offset);

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned status, const char *body,
                                 int retry_after_s)
{
	return send_full(c, status, body, retry_after_s, -1);
}

/* On every answer: the server's clock (docs/protocol.md) and the body's type. */
static void common_headers(struct MHD_Response *r)
{
	char t[32];
	snprintf(t, sizeof t, "%lld", (long long)now_ms());
	MHD_add_response_header(r, "X-Fic-Server-Time", t);
	MHD_add_response_header(r, "Content-Type", "application/json");
}

static enum MHD_Result send_full(struct MHD_Connection *c, unsigned status, const char *body,
                                 int retry_after_s, int64_t upload_offset)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	common_headers(r);
	if (retry_after_s > 0) {
		char ra[16];
		snprintf(ra, sizeof ra, "%d", retry_after_s);
		MHD_add_response_header(r, "Retry-After", ra);
	}
	if (upload_offset >= 0) {
		char uo[24];
		snprintf(uo, sizeof uo, "%lld", (long long)upload_offset);
		MHD_add_response_header(r, "Upload-Offset", uo);
	}
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *code,
                                  const char *message, int retry_after_s)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "error", code);
	cJSON_AddStringToObject(j, "message", message);
	cJSON_AddBoolToObject(j, "retry", status == 429 || status >= 500);
	if (retry_after_s > 0)
		cJSON_AddNumberToObject(j, "retry_after_ms", retry_after_s * 1000.0);
	char *t = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	enum MHD_Result r = send_text(c, status, t ? t : "{}", retry_after_s);
	cJSON_free(t);
	return r;
}

static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status, cJSON *j)
{
	char *t = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	if (t == NULL)
		return send_error(c, 500, "internal", "out of memory", 1);
	enum MHD_Result r = send_text(c, status, t, 0);
	cJSON_free(t);
	return r;
}

/* ---- rate limits ---- */

/* The client's address as text ("" if unknown). */
static void client_address(struct MHD_Connection *c, char *buf, size_t size)
{
	buf[0] = '\0';
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf, (socklen_t)size);
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, buf, (socklen_t)size);
}

/*
 * A token bucket: `burst` at once, one more every `every_ms`. With `take`,
 * use one if there is one; without, only look. True if there was one; else
 * *wait_ms says how long until there is. Keyed by a class letter and the
 * client's address, or the county (by its SHA-256, so any county name fits).
 */
static bool bucket(county_server *s, char class, const char *who, bool county, county_rate r,
                   bool take, int64_t *wait_ms)
{
	char key[40];
	if (county) {
		char h[65];
		sha256_hex(who, strlen(who), h);
		snprintf(key, sizeof key, "%c%.16s", class, h);
	} else {
		snprintf(key, sizeof key, "%c%s", class, who);
	}
	uint32_t hash = 2166136261u;
	for (const char *p = key; *p; p++)
		hash = (hash ^ (unsigned char)*p) * 16777619u;
	size_t n = sizeof s->rl / sizeof s->rl[0];
	int64_t now = now_ms();
	double every = r.every_ms ? r.every_ms : 1;
	pthread_mutex_lock(&s->rl_lock);
	/* Up to eight places to look; a stranger takes the one used longest ago. */
	struct bucket *b = NULL, *oldest = NULL;
	for (size_t i = 0; i < 8 && b == NULL; i++) {
		struct bucket *t = &s->rl[(hash + i) % n];
		if (strcmp(t->key, key) == 0)
			b = t;
		else if (oldest == NULL || t->at_ms < oldest->at_ms)
			oldest = t;
	}
	if (b == NULL) {
		b = oldest;
		snprintf(b->key, sizeof b->key, "%s", key);
		b->tokens = r.burst;
		b->at_ms = now;
	}
	b->tokens += (double)(now - b->at_ms) / every;
	if (b->tokens > r.burst)
		b->tokens = r.burst;
	b->at_ms = now;
	bool ok = b->tokens >= 1;
	if (ok && take)
		b->tokens -= 1;
	if (!ok && wait_ms)
		*wait_ms = (int64_t)((1 - b->tokens) * every) + 1;
	pthread_mutex_unlock(&s->rl_lock);
	return ok;
}

static enum MHD_Result slow_down(struct MHD_Connection *c, int64_t wait_ms, const char *message)
{
	int secs = (int)((wait_ms + 999) / 1000);
	return send_error(c, 429, "rate_limited", message, secs < 1 ? 1 : secs);
}

/*
 * A refused code or token counts against the client's address and, when the
 * credential was a county's (a used or expired code, a revoked token), that
 * county. True if either has none left: then the answer is 429 instead of
 * 401/403. Valid tokens are never limited: one phone guessing behind a
 * carrier's NAT must not lock out the others there, and a 256-bit token
 * cannot be guessed anyway; what this bounds is the noise and the work.
 */
static bool count_failure(county_server *s, const char *addr, const char *county, int64_t *wait)
{
	int64_t w1 = 0, w2 = 0;
	bool a = bucket(s, 'F', addr, false, s->limits.failures_per_address, true, &w1);
	bool b = county == NULL || county[0] == '\0' ||
	         bucket(s, 'f', county, true, s->limits.failures_per_county, true, &w2);
	*wait = w1 > w2 ? w1 : w2;
	return !(a && b);
}

/* ---- enrolment ---- */

/* A device id as devices make them: 8-4-4-4-12 lowercase hex digits. */
static bool uuid_form(const char *id)
{
	if (strlen(id) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? id[i] != '-' : strchr("0123456789abcdef", id[i]) == NULL || id[i] == '\0')
			return false;
	}
	return true;
}

/* The bearer token of a request, or NULL (absent, or not one a server gave). */
static const char *bearer(struct MHD_Connection *c)
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	if (h == NULL || strncmp(h, "Bearer ", 7) != 0 || strlen(h + 7) > 200 || h[7] == '\0')
		return NULL;
	return h + 7;
}

static int step_done(sqlite3_stmt *st)
{
	int rc = st && sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	sqlite3_finalize(st);
	return rc;
}

static sqlite3_stmt *prep(county_server *s, int which)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(s->db, request_sql[which], -1, &st, NULL) != SQLITE_OK) {
		sqlite3_finalize(st);
		return NULL;
	}
	return st;
}

/* Retire a token's hash: its holder is told token_revoked from now on. */
static int retire_token(county_server *s, const char *token_sha256, const char *device,
                        const char *county, const char *why)
{
	sqlite3_stmt *st = prep(s, SQL_TOKEN_RETIRE);
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, token_sha256, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, device, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, county, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, why, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, now_ms());
	return step_done(st);
}

/* Why an enrolment was refused: the error code and the inspector's message. */
typedef struct refusal {
	const char *code, *message;
} refusal;

static const refusal bad_code = { "bad_code", "the enrolment code is unknown" };
static const refusal code_used = { "code_used", "the enrolment code was already used" };
static const refusal code_expired = { "code_expired",
	                              "the enrolment code has expired; ask the county for a new one" };
static const refusal code_other_device = { "code_other_device",
	                                   "this re-enrolment code is for another device" };
static const refusal wrong_county = { "wrong_county",
	                              "this device is enrolled with another county; ask that county "
	                              "for a re-enrolment code" };
static const refusal device_enrolled = { "device_enrolled",
	                                 "this device is already enrolled; enrolling it again needs "
	                                 "its current token or a re-enrolment code for it" };

/*
 * POST /v1/enroll {code, device_id, device_name?}. A device id is bound to
 * its first enrolment and its county for good. A fresh code enrols a device
 * id the server has not seen. An enrolled id is enrolled again (a new
 * token; the old one is retired) only
 *  - with a re-enrolment code the county issued for that id, or
 *  - with a fresh code of its own county and its current token
 *    (Authorization: Bearer), which is how a device rotates its token, or
 *  - with the code it enrolled with, within an hour, before its token was
 *    ever used: the answer to its first attempt was lost on the way.
 * Codes are looked up by their SHA-256; they expire and are used once.
 */
/* One enrolment request, as the steps below find it. */
typedef struct enrolment {
	const char *id;       /* the device id asked for */
	const char *name;     /* its name, or NULL */
	bool bearer;          /* an Authorization token came with it */
	char code_hash[65], bearer_hash[65];
	/* the code */
	bool have_code;
	char county[256], for_dev[64], used_by[64];
	int64_t expires, used_ms;
	/* the device, if the server knows it */
	bool known, revoked, token_used, retry;
	char dev_county[256], dev_token[65];
} enrolment;

/* Read the code the request names: 0, or -1 on a database failure. */
static int enrol_read_code(county_server *s, enrolment *e)
{
	sqlite3_stmt *st = prep(s, SQL_CODE_GET);
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, e->code_hash, -1, SQLITE_STATIC);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		e->have_code = true;
		snprintf(e->county, sizeof e->county, "%s", (const char *)sqlite3_column_text(st, 0));
		if (sqlite3_column_type(st, 1) != SQLITE_NULL)
			snprintf(e->for_dev, sizeof e->for_dev, "%s", (const char *)sqlite3_column_text(st, 1));
		e->expires = sqlite3_column_int64(st, 2);
		if (sqlite3_column_type(st, 3) != SQLITE_NULL)
			snprintf(e->used_by, sizeof e->used_by, "%s", (const char *)sqlite3_column_text(st, 3));
		e->used_ms = sqlite3_column_int64(st, 4);
	}
	sqlite3_finalize(st);
	return step == SQLITE_ROW || step == SQLITE_DONE ? 0 : -1;
}

/* Read the device, if the server knows it: 0, or -1 on a database failure. */
static int enrol_read_device(county_server *s, enrolment *e)
{
	sqlite3_stmt *st = prep(s, SQL_DEVICE_GET);
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, e->id, -1, SQLITE_STATIC);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		e->known = true;
		snprintf(e->dev_county, sizeof e->dev_county, "%s", (const char *)sqlite3_column_text(st, 0));
		snprintf(e->dev_token, sizeof e->dev_token, "%s", (const char *)sqlite3_column_text(st, 1));
		e->revoked = sqlite3_column_type(st, 2) != SQLITE_NULL;
		e->token_used = sqlite3_column_type(st, 3) != SQLITE_NULL;
	}
	sqlite3_finalize(st);
	return step == SQLITE_ROW || step == SQLITE_DONE ? 0 : -1;
}

/* Why the enrolment is refused, or NULL when it may go ahead. */
static const refusal *enrol_judge(enrolment *e, int64_t now)
{
	bool same_county = e->known && strcmp(e->dev_county, e->county) == 0;
	e->retry = e->have_code && strcmp(e->used_by, e->id) == 0 && e->known && same_county &&
	           !e->revoked && !e->token_used && now - e->used_ms < COUNTY_CODE_RETRY_MS;
	if (!e->have_code)
		return &bad_code;
	if (e->used_by[0] && !e->retry)
		return &code_used;
	if (now >= e->expires && !e->retry)
		return &code_expired;
	if (e->for_dev[0] && strcmp(e->for_dev, e->id) != 0)
		return &code_other_device;
	if (e->for_dev[0] || !e->known || e->retry)
		return NULL; /* a re-enrolment code for this id, a new device, or a lost answer */
	if (!same_county)
		return &wrong_county;
	if (!(e->bearer && strcmp(e->bearer_hash, e->dev_token) == 0 && !e->revoked))
		return &device_enrolled; /* only its own token lets a fresh code enrol it again */
	return NULL;
}

/* Bind the device to its new token and SMS key and use up the code (inside
 * the request's transaction): 0, or -1 on a database failure. A known
 * device keeps its county, for good (e->county becomes it). */
static int enrol_write(county_server *s, enrolment *e, const char *token_hash,
                       const unsigned char sms_key[32], int64_t now)
{
	sqlite3_stmt *st;
	if (e->known) {
		if (retire_token(s, e->dev_token, e->id, e->dev_county,
		                 e->for_dev[0] ? "reenrolled" : "replaced") != 0 ||
		    (st = prep(s, SQL_DEVICE_TOKEN)) == NULL)
			return -1;
		sqlite3_bind_text(st, 1, e->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, token_hash, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, now);
		if (e->name)
			sqlite3_bind_text(st, 4, e->name, -1, SQLITE_STATIC);
		sqlite3_bind_blob(st, 5, sms_key, 32, SQLITE_STATIC);
		snprintf(e->county, sizeof e->county, "%s", e->dev_county);
	} else {
		if ((st = prep(s, SQL_DEVICE_NEW)) == NULL)
			return -1;
		sqlite3_bind_text(st, 1, e->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, e->county, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, token_hash, -1, SQLITE_STATIC);
		if (e->name)
			sqlite3_bind_text(st, 4, e->name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, now);
		sqlite3_bind_blob(st, 6, sms_key, 32, SQLITE_STATIC);
	}
	if (step_done(st) != 0)
		return -1;
	if (e->retry)
		return 0; /* the code was used by this very device a moment ago */
	if ((st = prep(s, SQL_CODE_USE)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, e->code_hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, e->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now);
	return step_done(st);
}

/* The 200 answer: the token, the county, the key that authenticates the
 * device's urgent leads sent by SMS (county_sms.c; docs/protocol.md, "SMS
 * fallback") and the county's public key. */
static enum MHD_Result enrol_answer(county_server *s, struct MHD_Connection *c,
                                    const enrolment *e, const char *token,
                                    const unsigned char sms_key[32])
{
	char key64[48];
	EVP_EncodeBlock((unsigned char *)key64, sms_key, 32);
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "token", token);
	cJSON_AddStringToObject(j, "county", e->county);
	cJSON_AddStringToObject(j, "device_id", e->id);
	cJSON_AddStringToObject(j, "sms_key", key64);
	/* The county's public key, which the device pins and seals informants'
	 * details to (county_keys.c); none while the county has no key. */
	cJSON *key = NULL;
	if (county__key_json(s->db, e->county, &key) == 1)
		cJSON_AddItemToObject(j, "county_key", key);
	enum MHD_Result r = send_json(c, 200, j);
	OPENSSL_cleanse(key64, sizeof key64);
	return r;
}

static enum MHD_Result enroll(county_server *s, struct MHD_Connection *c, cJSON *body)
{
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(body, "code");
	const cJSON *dev = cJSON_GetObjectItemCaseSensitive(body, "device_id");
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(body, "device_name");
	if (!cJSON_IsString(code) || !cJSON_IsString(dev) || !uuid_form(dev->valuestring) ||
	    strlen(code->valuestring) < 6 || strlen(code->valuestring) > 64 ||
	    (name && !cJSON_IsNull(name) &&
	     (!cJSON_IsString(name) || strlen(name->valuestring) > 100 ||
	      !fic__utf8_valid(name->valuestring, strlen(name->valuestring)))))
		return send_error(c, 400, "bad_request",
		                  "code (6 to 64 characters) and device_id (a UUID) are required", 0);
	char addr[64];
	int64_t wait = 0;
	client_address(c, addr, sizeof addr);
	if (!bucket(s, 'F', addr, false, s->limits.failures_per_address, false, &wait))
		return slow_down(c, wait, "too many refused codes from this address; wait before "
		                          "trying again");
	if (!bucket(s, 'E', addr, false, s->limits.enrol_per_address, true, &wait))
		return slow_down(c, wait, "too many enrolments from this address; wait before trying "
		                          "again");
	enrolment e = { .id = dev->valuestring, .name = cJSON_IsString(name) ? name->valuestring : NULL };
	sha256_hex(code->valuestring, strlen(code->valuestring), e.code_hash);
	const char *b = bearer(c);
	if ((e.bearer = b != NULL))
		sha256_hex(b, strlen(b), e.bearer_hash);
	unsigned char raw[32], sms_key[32];
	char token[65], token_hash[65];
	if (RAND_bytes(raw, sizeof raw) != 1 || RAND_bytes(sms_key, sizeof sms_key) != 1)
		return send_error(c, 503, "internal", "no randomness", 1);
	hex(raw, sizeof raw, token);
	OPENSSL_cleanse(raw, sizeof raw);
	sha256_hex(token, strlen(token), token_hash);
	int64_t now = now_ms();
	if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return send_error(c, 503, "unavailable", "the server's database is busy", 5);
	bool dbfail = enrol_read_code(s, &e) != 0 || enrol_read_device(s, &e) != 0;
	if (!dbfail && e.have_code &&
	    !bucket(s, 'e', e.county, true, s->limits.enrol_per_county, true, &wait)) {
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return slow_down(c, wait, "too many enrolments for this county; wait before trying again");
	}
	const refusal *no = dbfail ? NULL : enrol_judge(&e, now);
	if (!dbfail && no == NULL)
		dbfail = enrol_write(s, &e, token_hash, sms_key, now) != 0 ||
		         sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK;
	if (dbfail || no)
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	enum MHD_Result r;
	if (dbfail)
		r = send_error(c, 503, "unavailable", "could not store the enrolment", 5);
	else if (no && count_failure(s, addr, e.have_code ? e.county : NULL, &wait))
		r = slow_down(c, wait, "too many refused codes; wait before trying again");
	else if (no)
		r = send_error(c, 403, no->code, no->message, 0);
	else
		r = enrol_answer(s, c, &e, token, sms_key);
	OPENSSL_cleanse(token, sizeof token);
	OPENSSL_cleanse(sms_key, sizeof sms_key);
	return r;
}


/* Who a request comes from. */
typedef struct who {
	char device[64];
	char county[256]; /* also set for a revoked or retired token: whose county it was */
	const char *refused; /* when not authenticated: unauthorized, token_revoked, token_expired */
} who;

/*
 * The device a bearer token belongs to: 1 (w->device and w->county); 0 if
 * refused (w->refused says why: no such token, a revoked device or a token
 * retired by rotation or re-enrolment, or one unused for too long); -1 on a
 * database failure. The first use of a token, and then at most one an hour,
 * is written down (last_seen_ms): that is what makes an unused token expire.
 */
static int authenticate(county_server *s, struct MHD_Connection *c, who *w)
{
	memset(w, 0, sizeof *w);
	w->refused = "unauthorized";
	const char *b = bearer(c);
	if (b == NULL)
		return 0;
	char th[65];
	sha256_hex(b, strlen(b), th);
	sqlite3_stmt *st = prep(s, SQL_AUTH);
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, th, -1, SQLITE_STATIC);
	int step = sqlite3_step(st);
	int64_t now = now_ms();
	if (step == SQLITE_ROW) {
		snprintf(w->device, sizeof w->device, "%s", (const char *)sqlite3_column_text(st, 0));
		snprintf(w->county, sizeof w->county, "%s", (const char *)sqlite3_column_text(st, 1));
		bool revoked = sqlite3_column_type(st, 2) != SQLITE_NULL;
		int64_t last = sqlite3_column_int64(st, 3);
		bool never = sqlite3_column_type(st, 4) == SQLITE_NULL;
		sqlite3_finalize(st);
		if (revoked) {
			w->refused = "token_revoked";
			return 0;
		}
		if (s->token_idle_ms > 0 && now - last > s->token_idle_ms) {
			w->refused = "token_expired";
			return 0;
		}
		if (never || now - last > 3600 * 1000) {
			if ((st = prep(s, SQL_SEEN)) == NULL)
				return -1;
			sqlite3_bind_text(st, 1, w->device, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 2, now);
			if (step_done(st) != 0)
				return -1;
		}
		w->refused = NULL;
		return 1;
	}
	sqlite3_finalize(st);
	if (step != SQLITE_DONE)
		return -1;
	if ((st = prep(s, SQL_AUTH_RETIRED)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, th, -1, SQLITE_STATIC);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		snprintf(w->county, sizeof w->county, "%s", (const char *)sqlite3_column_text(st, 0));
		w->refused = "token_revoked";
	}
	sqlite3_finalize(st);
	return step == SQLITE_ROW || step == SQLITE_DONE ? 0 : -1;
}

/* The answer to a request whose token was refused (or the database failed). */
static enum MHD_Result refuse(county_server *s, struct MHD_Connection *c, int auth, const who *w)
{
	if (auth < 0)
		return send_error(c, 503, "unavailable", "the server's database failed", 5);
	char addr[64];
	int64_t wait = 0;
	client_address(c, addr, sizeof addr);
	if (count_failure(s, addr, w->county, &wait))
		return slow_down(c, wait, "too many refused tokens; wait before trying again");
	if (strcmp(w->refused, "token_revoked") == 0)
		return send_error(c, 401, "token_revoked",
		                  "this device's token was revoked or replaced; enrol again with a "
		                  "re-enrolment code from the county", 0);
	if (strcmp(w->refused, "token_expired") == 0)
		return send_error(c, 401, "token_expired",
		                  "this device's token expired unused; enrol again with a re-enrolment "
		                  "code from the county", 0);
	return send_error(c, 401, "unauthorized", "unknown device token", 0);
}

/* GET /v1/county-key: the device's county's current public key, for a device
 * enrolled before the county had one (404 no_key while it has none). */
static enum MHD_Result county_key(county_server *s, struct MHD_Connection *c)
{
	who w;
	int auth = authenticate(s, c, &w);
	if (auth != 1)
		return refuse(s, c, auth, &w);
	cJSON *key = NULL;
	int have = county__key_json(s->db, w.county, &key);
	if (have < 0)
		return send_error(c, 503, "unavailable", "the server's database failed", 5);
	if (have == 0)
		return send_error(c, 404, "no_key", "the county has no sealing key yet", 0);
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "county", w.county);
	cJSON_AddItemToObject(j, "county_key", key);
	return send_json(c, 200, j);
}

/* ---- records ---- */

static const char *const types[] = { "lead", "inspection", "site", "photo", "audit", "task",
	                                "call", "scan", "site_code", "activity", "sample", "notice" };

static cJSON *rejected(cJSON *res, const char *code, const char *why)
{
	cJSON_AddStringToObject(res, "status", "rejected");
	cJSON_AddStringToObject(res, "reason", why);
	cJSON_AddBoolToObject(res, "retry", 0);
	cJSON_AddStringToObject(res, "code", code);
	return res;
}

/*
 * What a record says, whatever the order of its keys or the format of its
 * numbers: SHA-256 of the canonical JSON of its type, op and — for a chained
 * record — its seq and hash (the hash covers the canonical form), or its
 * payload. A resend with the same digest is the same record.
 */
static int content_digest(const cJSON *rec, char out[65])
{
	cJSON *d = cJSON_CreateObject();
	static const char *const keys[] = { "type", "op", "seq", "hash", "payload" };
	for (size_t i = 0; d && i < sizeof keys / sizeof keys[0]; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, keys[i]);
		if (v && !cJSON_AddItemToObject(d, keys[i], cJSON_Duplicate(v, 1))) {
			cJSON_Delete(d);
			return -1;
		}
	}
	char *text = d ? fic__canonical(d) : NULL;
	cJSON_Delete(d);
	if (text == NULL)
		return -1;
	sha256_hex(text, strlen(text), out);
	cJSON_free(text);
	return 0;
}

/* A conflict over record `id`, kept for the county (`fic-county-server conflicts`). */
static int note_conflict(county_server *s, const char *county, const char *id,
                         const char *device, const char *held_by, const char *what)
{
	sqlite3_stmt *st = prep(s, SQL_CONFLICT);
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, county, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, device, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, held_by, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, what, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, now_ms());
	return step_done(st);
}

/* Replace the copy of a lead the county first received by SMS (county_sms.c)
 * with its full record from the same device, under the SMS's receipt and
 * time: 0, or -1 on a failure. */
static int upgrade_sms_lead(county_server *s, const char *county, const char *device,
                            const cJSON *rec)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(rec, "id");
	const cJSON *op = cJSON_GetObjectItemCaseSensitive(rec, "op");
	const cJSON *seq = cJSON_GetObjectItemCaseSensitive(rec, "seq");
	const cJSON *hash = cJSON_GetObjectItemCaseSensitive(rec, "hash");
	char *body = cJSON_PrintUnformatted(rec);
	sqlite3_stmt *st = body ? prep(s, SQL_RECORD_UPGRADE) : NULL;
	if (st == NULL) {
		cJSON_free(body);
		return -1;
	}
	sqlite3_bind_text(st, 1, county, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id->valuestring, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, op->valuestring, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (int64_t)seq->valuedouble);
	sqlite3_bind_text(st, 5, hash->valuestring, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, body, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, device, -1, SQLITE_STATIC);
	int rc = step_done(st);
	cJSON_free(body);
	return rc;
}

/*
 * The answer for a record id the county holds already (`st` on its row of
 * SQL_RECORD_GET; finalized here). The same device's same content is a
 * duplicate, answered with the first receipt; so is the chained record of
 * a lead this device sent by SMS first, which then replaces the SMS copy.
 * Anything else is a conflict, recorded.
 */
static cJSON *held_answer(county_server *s, sqlite3_stmt *st, const char *county,
                          const char *device, const cJSON *rec, bool chained,
                          const char *digest, cJSON *res, int *fail)
{
	const char *holder = (const char *)sqlite3_column_text(st, 2);
	const char *op = (const char *)sqlite3_column_text(st, 4);
	bool mine = holder && strcmp(holder, device) == 0;
	bool by_sms = mine && chained && op && strcmp(op, "sms") == 0;
	char was[65] = "";
	if (mine && !by_sms) {
		cJSON *held = cJSON_Parse((const char *)sqlite3_column_text(st, 3));
		if (held == NULL || content_digest(held, was) != 0)
			was[0] = '\0';
		cJSON_Delete(held);
	}
	if (by_sms || (mine && strcmp(was, digest) == 0)) {
		cJSON_AddStringToObject(res, "status", "duplicate");
		cJSON_AddStringToObject(res, "receipt_id", (const char *)sqlite3_column_text(st, 0));
		cJSON_AddNumberToObject(res, "received_at_ms", (double)sqlite3_column_int64(st, 1));
		sqlite3_finalize(st);
		if (by_sms && upgrade_sms_lead(s, county, device, rec) != 0)
			*fail = 1;
		return res;
	}
	char by[64];
	snprintf(by, sizeof by, "%s", holder ? holder : "");
	sqlite3_finalize(st);
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(rec, "id");
	if (note_conflict(s, county, id->valuestring, device, by, mine ? "changed" : "other_device") != 0)
		*fail = 1;
	return rejected(res, "conflict",
	                mine ? "conflict: this device already sent other content under this record id"
	                     : "conflict: another device holds this record id");
}

/*
 * One record of a batch, inside the batch's transaction. A record belongs to
 * the device that sent it first: an id another device holds is a conflict
 * (refused for good, recorded; the sender learns no receipt), and so is the
 * same device's resend with other content; only the same content again is a
 * duplicate, answered with the first receipt. An id that begins with a
 * device id ("<device id>:…", as audit entries and site changes are named)
 * may be used by that device alone, and a chained record must be in the
 * sender's own chain (its canonical form names the sender's device id):
 * otherwise another device could claim a device's future ids, or put
 * entries in its chain.
 */
/* What is wrong with a record as sent, or NULL (and *code the refusal's
 * code); *chained: it is a chained record (lead, inspection or scan). */
static const char *record_problem(const cJSON *rec, const char *device, const char **code,
                                  bool *chained)
{
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(rec, "type");
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(rec, "id");
	const cJSON *op = cJSON_GetObjectItemCaseSensitive(rec, "op");
	bool known = false;
	for (size_t i = 0; cJSON_IsString(type) && i < sizeof types / sizeof types[0]; i++)
		known |= strcmp(type->valuestring, types[i]) == 0;
	*code = "bad_record";
	*chained = known && (strcmp(type->valuestring, "lead") == 0 ||
	                     strcmp(type->valuestring, "inspection") == 0 ||
	                     strcmp(type->valuestring, "scan") == 0);
	if (!cJSON_IsString(id) || id->valuestring[0] == '\0' || strlen(id->valuestring) > 64)
		return "record id missing or too long";
	if (!known)
		return "unknown record type";
	if (!cJSON_IsString(op) || strlen(op->valuestring) > 16)
		return "op missing";
	if (strlen(id->valuestring) > 36 && id->valuestring[36] == ':' &&
	    strncmp(id->valuestring, device, 36) != 0) {
		*code = "not_yours";
		return "the record id names another device: a device may use only ids that begin "
		       "with its own device id";
	}
	if (!*chained)
		return NULL;
	const cJSON *seq = cJSON_GetObjectItemCaseSensitive(rec, "seq");
	const cJSON *hash = cJSON_GetObjectItemCaseSensitive(rec, "hash");
	const cJSON *canon = cJSON_GetObjectItemCaseSensitive(rec, "canonical");
	const char *why = NULL;
	char h[65];
	cJSON *parsed = NULL;
	const cJSON *cdev;
	if (!cJSON_IsNumber(seq) || !cJSON_IsString(hash) || !cJSON_IsString(canon))
		why = "a chained record needs seq, hash and canonical";
	else if (!(seq->valuedouble >= 1 && seq->valuedouble <= 9007199254740992.0) ||
	         seq->valuedouble != (double)(int64_t)seq->valuedouble)
		why = "seq must be a whole number from 1";
	else if (!fic__utf8_valid(canon->valuestring, strlen(canon->valuestring)) ||
	         !cJSON_IsObject(parsed = cJSON_Parse(canon->valuestring)))
		why = "canonical must be a JSON object in UTF-8";
	else if (sha256_hex(canon->valuestring, strlen(canon->valuestring), h),
	         strcmp(h, hash->valuestring) != 0) {
		*code = "chain_hash";
		why = "chain_hash: the canonical form does not match its hash";
	} else if (!cJSON_IsString(cdev = cJSON_GetObjectItemCaseSensitive(parsed, "device_id")) ||
	           strcmp(cdev->valuestring, device) != 0) {
		*code = "device_mismatch";
		why = "device_mismatch: a chained record must name the sending device "
		      "(canonical.device_id)";
	}
	cJSON_Delete(parsed);
	return why;
}

static cJSON *one_record(county_server *s, const char *county, const char *device,
                         const cJSON *rec, int64_t received, int *fail)
{
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(rec, "type");
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(rec, "id");
	const cJSON *op = cJSON_GetObjectItemCaseSensitive(rec, "op");
	const cJSON *seq = cJSON_GetObjectItemCaseSensitive(rec, "seq");
	const cJSON *hash = cJSON_GetObjectItemCaseSensitive(rec, "hash");
	cJSON *res = cJSON_CreateObject();
	cJSON_AddStringToObject(res, "id", cJSON_IsString(id) ? id->valuestring : "");
	const char *code;
	bool chained;
	const char *why = record_problem(rec, device, &code, &chained);
	if (why)
		return rejected(res, code, why);
	char digest[65];
	if (content_digest(rec, digest) != 0) {
		*fail = 1;
		return rejected(res, "internal", "out of memory");
	}
	/* Stored already? By this device with this content: the same receipt. */
	sqlite3_stmt *st = prep(s, SQL_RECORD_GET);
	if (st == NULL) {
		*fail = 1;
		return rejected(res, "internal", "the server's database failed");
	}
	sqlite3_bind_text(st, 1, county, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id->valuestring, -1, SQLITE_STATIC);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW)
		return held_answer(s, st, county, device, rec, chained, digest, res, fail);
	sqlite3_finalize(st);
	if (step != SQLITE_DONE) {
		*fail = 1;
		return rejected(res, "internal", "the server's database failed");
	}
	unsigned char raw[12];
	char receipt[32];
	RAND_bytes(raw, sizeof raw);
	hex(raw, sizeof raw, receipt);
	char *body = cJSON_PrintUnformatted(rec);
	if (body == NULL || (st = prep(s, SQL_RECORD_PUT)) == NULL) {
		cJSON_free(body);
		*fail = 1;
		return rejected(res, "internal", "out of memory");
	}
	sqlite3_bind_text(st, 1, county, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id->valuestring, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, device, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, type->valuestring, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, op->valuestring, -1, SQLITE_STATIC);
	if (chained) {
		sqlite3_bind_int64(st, 6, (int64_t)seq->valuedouble);
		sqlite3_bind_text(st, 7, hash->valuestring, -1, SQLITE_STATIC);
	}
	sqlite3_bind_text(st, 8, body, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, receipt, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 10, received);
	if (sqlite3_step(st) != SQLITE_DONE)
		*fail = 1;
	sqlite3_finalize(st);
	cJSON_free(body);
	cJSON_AddStringToObject(res, "status", "stored");
	cJSON_AddStringToObject(res, "receipt_id", receipt);
	cJSON_AddNumberToObject(res, "received_at_ms", (double)received);
	return res;
}

static int chain_audit(county_server *s, const char *county, const char *device);

static enum MHD_Result records(county_server *s, struct MHD_Connection *c, cJSON *body)
{
	who w;
	int auth = authenticate(s, c, &w);
	if (auth != 1)
		return refuse(s, c, auth, &w);
	const char *device = w.device, *county = w.county;
	if (s->busy > 0) {
		s->busy--;
		return send_error(c, 503, "busy", "the server is busy", s->busy_retry_s);
	}
	const cJSON *recs = cJSON_GetObjectItemCaseSensitive(body, "records");
	if (!cJSON_IsArray(recs) || cJSON_GetArraySize(recs) < 1 ||
	    cJSON_GetArraySize(recs) > COUNTY_MAX_RECORDS)
		return send_error(c, 400, "bad_request", "records must be an array of 1 to 500", 0);
	const cJSON *rec;
	cJSON_ArrayForEach(rec, recs)
	{
		if (!cJSON_IsObject(rec))
			return send_error(c, 400, "bad_request", "a record is not an object", 0);
	}
	int64_t received = now_ms();
	cJSON *out = cJSON_CreateObject(), *results = cJSON_AddArrayToObject(out, "results");
	int fail = 0;
	if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		cJSON_Delete(out);
		return send_error(c, 503, "unavailable", "the server's database is busy", 5);
	}
	cJSON_ArrayForEach(rec, recs)
		cJSON_AddItemToArray(results, one_record(s, county, device, rec, received, &fail));
	if (!fail && chain_audit(s, county, device) != 0)
		fail = 1;
	/* synchronous=FULL: COMMIT returns once the WAL is on disk. */
	if (fail || sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		cJSON_Delete(out);
		return send_error(c, 503, "unavailable", "could not store the batch", 5);
	}
	if (s->drop_after_store > 0) {
		s->drop_after_store--;
		cJSON_Delete(out);
		return MHD_NO; /* stored, but the answer is lost */
	}
	return send_json(c, 200, out);
}

/* ---- the chain audit ---- */

/*
 * Verify what has become contiguous in `device`'s chain since the last check
 * (inside the records transaction, so the progress is as durable as the
 * records). Urgent leads overtake older records, so entries may arrive with
 * gaps: only the run that follows the verified point is checked, and the rest
 * waits for the gap to fill. A break is recorded in chain_breaks for the
 * county (`fic-county-server chain`); the check then continues from it.
 */
static int chain_audit(county_server *s, const char *county, const char *device)
{
	sqlite3_stmt *st;
	int64_t done = 0;
	char prev[65] = "";
	if (sqlite3_prepare_v2(s->db, request_sql[SQL_CHAIN_AT], -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, device, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		done = sqlite3_column_int64(st, 0);
		snprintf(prev, sizeof prev, "%s", (const char *)sqlite3_column_text(st, 1));
	}
	sqlite3_finalize(st);
	if (prev[0] == '\0')
		return -1;
	if (sqlite3_prepare_v2(s->db, request_sql[SQL_CHAIN_RUN], -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, county, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, device, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, done);
	cJSON *run = cJSON_CreateArray();
	int64_t expect = done + 1;
	while (run && sqlite3_step(st) == SQLITE_ROW) {
		int64_t seq = sqlite3_column_int64(st, 0);
		if (seq > expect)
			break; /* a gap: the rest waits for it to fill */
		cJSON *e = cJSON_CreateObject();
		cJSON_AddNumberToObject(e, "seq", (double)seq);
		cJSON_AddStringToObject(e, "hash", (const char *)sqlite3_column_text(st, 1));
		const char *canon = (const char *)sqlite3_column_text(st, 2);
		cJSON_AddStringToObject(e, "canonical", canon ? canon : "");
		cJSON_AddItemToArray(run, e);
		expect = seq + 1; /* a second entry at one position is reported as a gap */
	}
	sqlite3_finalize(st);
	if (run == NULL || cJSON_GetArraySize(run) == 0) {
		cJSON_Delete(run);
		return 0;
	}
	char *text = cJSON_PrintUnformatted(run);
	cJSON_Delete(run);
	char *report = NULL;
	int rc = text ? fic_chain_verify(&report, text, prev, done + 1) : FIC_ENOMEM;
	cJSON_free(text);
	cJSON *rep = report ? cJSON_Parse(report) : NULL;
	fic_free(report);
	if (rc == FIC_EINVAL) {
		/* An entry the check cannot read (one_record refuses those, so this is
		 * an old row): a break at the verified point; the chain waits there. */
		cJSON *w = cJSON_CreateObject();
		cJSON_AddStringToObject(w, "kind", "malformed");
		cJSON_AddStringToObject(w, "detail", fic_error_last()->message);
		char *what = cJSON_PrintUnformatted(w);
		cJSON_Delete(w);
		sqlite3_prepare_v2(s->db, request_sql[SQL_CHAIN_BREAK], -1, &st, NULL);
		sqlite3_bind_text(st, 1, county, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, device, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, done + 1);
		sqlite3_bind_text(st, 4, what ? what : "{\"kind\":\"malformed\"}", -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, now_ms());
		int ok = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
		sqlite3_finalize(st);
		cJSON_free(what);
		cJSON_Delete(rep);
		return ok;
	}
	if (rc != FIC_OK && rc != FIC_ECORRUPT) {
		cJSON_Delete(rep);
		return -1;
	}
	const cJSON *last_seq = cJSON_GetObjectItemCaseSensitive(rep, "last_seq");
	const cJSON *last_hash = cJSON_GetObjectItemCaseSensitive(rep, "last_hash");
	const cJSON *problems = cJSON_GetObjectItemCaseSensitive(rep, "problems"), *pr;
	int ok = cJSON_IsNumber(last_seq) && cJSON_IsString(last_hash) ? 0 : -1;
	cJSON_ArrayForEach(pr, problems)
	{
		char *what = cJSON_PrintUnformatted(pr);
		const cJSON *at = cJSON_GetObjectItemCaseSensitive(pr, "id");
		sqlite3_prepare_v2(s->db, request_sql[SQL_CHAIN_BREAK], -1, &st, NULL);
		sqlite3_bind_text(st, 1, county, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, device, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, cJSON_IsString(at) ? atoll(at->valuestring) : 0);
		sqlite3_bind_text(st, 4, what ? what : "?", -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, now_ms());
		if (sqlite3_step(st) != SQLITE_DONE)
			ok = -1;
		sqlite3_finalize(st);
		cJSON_free(what);
	}
	if (ok == 0) {
		sqlite3_prepare_v2(s->db, request_sql[SQL_CHAIN_MOVE], -1, &st, NULL);
		sqlite3_bind_text(st, 1, device, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, (int64_t)last_seq->valuedouble);
		sqlite3_bind_text(st, 3, last_hash->valuestring, -1, SQLITE_STATIC);
		ok = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
		sqlite3_finalize(st);
	}
	cJSON_Delete(rep);
	return ok;
}

/* ---- photos ---- */

/* The county's photo folder: <root>/<first 16 hex of SHA-256(county)>. */
static int county_dir(county_server *s, const char *county, char *buf, size_t size)
{
	char h[65];
	sha256_hex(county, strlen(county), h);
	int n = snprintf(buf, size, "%s/%.16s", s->photo_root, h);
	if (n < 0 || (size_t)n >= size)
		return -1;
	return mkdir(buf, 0700) == 0 || errno == EEXIST ? 0 : -1;
}

static void fsync_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

static int file_sha256(const char *path, char out[65])
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	EVP_MD_CTX *md_ctx = EVP_MD_CTX_new();
	bool ok = md_ctx && EVP_DigestInit_ex(md_ctx, EVP_sha256(), NULL) == 1;
	unsigned char buf[65536];
	ssize_t n = 0;
	while (ok && (n = read(fd, buf, sizeof buf)) > 0)
		ok = EVP_DigestUpdate(md_ctx, buf, (size_t)n) == 1;
	close(fd);
	unsigned char md[SHA256_DIGEST_LENGTH];
	unsigned int mdlen = 0;
	ok = ok && n == 0 && EVP_DigestFinal_ex(md_ctx, md, &mdlen) == 1 && mdlen == sizeof md;
	EVP_MD_CTX_free(md_ctx);
	if (!ok)
		return -1;
	hex(md, sizeof md, out);
	return 0;
}

/* Add to the usage of `device` and of its county (in the caller's transaction). */
static int usage_add(county_server *s, const char *county, const char *device,
                     int64_t partial_bytes, int partials, int64_t photo_bytes)
{
	for (int i = 0; i < 2; i++) {
		sqlite3_stmt *st = prep(s, SQL_USAGE_ADD);
		if (st == NULL)
			return -1;
		sqlite3_bind_text(st, 1, county, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, i == 0 ? device : "", -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, partial_bytes);
		sqlite3_bind_int(st, 4, partials);
		sqlite3_bind_int64(st, 5, photo_bytes);
		if (step_done(st) != 0)
			return -1;
	}
	return 0;
}

typedef struct usage {
	int64_t partial_bytes, partials, photo_bytes;
} usage;

static int usage_get(county_server *s, const char *county, const char *device, usage *u)
{
	memset(u, 0, sizeof *u);
	sqlite3_stmt *st = prep(s, SQL_USAGE_GET);
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, county, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, device, -1, SQLITE_STATIC);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		u->partial_bytes = sqlite3_column_int64(st, 0);
		u->partials = sqlite3_column_int64(st, 1);
		u->photo_bytes = sqlite3_column_int64(st, 2);
	}
	sqlite3_finalize(st);
	return step == SQLITE_ROW || step == SQLITE_DONE ? 0 : -1;
}

static int begin(county_server *s)
{
	return sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

/* Commit if rc is 0, else roll back; rc, or -1 if the commit failed. */
static int end(county_server *s, int rc)
{
	if (rc == 0 && sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
		return 0;
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/* Record a complete photo (idempotent; the first device to complete it is
 * charged its bytes), in the caller's transaction: 0, or -1. */
static int photo_row(county_server *s, const char *county, const char *sha, int64_t bytes,
                     const char *device)
{
	sqlite3_stmt *st = prep(s, SQL_PHOTO_PUT);
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, county, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, sha, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, bytes);
	sqlite3_bind_text(st, 4, device, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, now_ms());
	if (step_done(st) != 0)
		return -1;
	return sqlite3_changes(s->db) == 1 ? usage_add(s, county, device, 0, 0, bytes) : 0;
}

/* The length `device` announced for its photo `sha` on its way, or -1 (none,
 * or a database failure: then *failed is set). */
static int64_t partial_length(county_server *s, const char *county, const char *device,
                              const char *sha, bool *failed)
{
	sqlite3_stmt *st = prep(s, SQL_PARTIAL_GET);
	int64_t v = -1;
	if (st == NULL) {
		*failed = true;
		return -1;
	}
	sqlite3_bind_text(st, 1, county, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, device, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, sha, -1, SQLITE_STATIC);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	else if (step != SQLITE_DONE)
		*failed = true;
	sqlite3_finalize(st);
	return v;
}

/* A device's photo on its way is no more (its row and usage; the caller
 * removes the file), in the caller's transaction. */
static int partial_drop(county_server *s, const char *county, const char *device,
                        const char *sha, int64_t length)
{
	sqlite3_stmt *st = prep(s, SQL_PARTIAL_DROP);
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, county, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, device, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, sha, -1, SQLITE_STATIC);
	if (step_done(st) != 0)
		return -1;
	return sqlite3_changes(s->db) == 1 ? usage_add(s, county, device, -length, -1, 0) : 0;
}

/*
 * A photo starts on its way from `device` with `length` announced, if the
 * quotas allow: of that device, the photos on their way (how many, and their
 * announced bytes) and the photos it holds; of its county, the same bytes.
 * 1: started; 0: over a quota (*why says which); -1: the database failed.
 */
static int partial_start(county_server *s, const char *county, const char *device,
                         const char *sha, int64_t length, char *why, size_t whysize)
{
	const county_limits *l = &s->limits;
	usage d, c;
	if (begin(s) != 0)
		return -1;
	if (usage_get(s, county, device, &d) != 0 || usage_get(s, county, "", &c) != 0)
		return end(s, -1);
	const char *over = d.partials + 1 > l->device_partials ? "this device's photos on their way"
	                   : d.partial_bytes + length > l->device_partial_bytes
	                           ? "the bytes of this device's photos on their way"
	                   : d.photo_bytes + length > l->device_photo_bytes
	                           ? "the bytes of this device's photos held"
	                   : c.partial_bytes + length > l->county_partial_bytes
	                           ? "the bytes of the county's photos on their way"
	                   : c.photo_bytes + length > l->county_photo_bytes
	                           ? "the bytes of the county's photos held"
	                           : NULL;
	if (over) {
		snprintf(why, whysize, "the server's quota is full: %s; ask the county", over);
		end(s, -1);
		return 0;
	}
	sqlite3_stmt *st = prep(s, SQL_PARTIAL_PUT);
	if (st == NULL)
		return end(s, -1);
	sqlite3_bind_text(st, 1, county, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, device, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, sha, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, length);
	sqlite3_bind_int64(st, 5, now_ms());
	int rc = step_done(st);
	if (rc == 0)
		rc = usage_add(s, county, device, length, 1, 0);
	return end(s, rc) == 0 ? 1 : -1;
}

/*
 * A device's partial file with all its bytes: check its SHA-256. 1: it
 * verified and is now the county's photo (named, directory synced,
 * recorded); 0: it did not, and is gone; -1: the check could not be made
 * (try again).
 */
static int finish_photo(county_server *s, const char *county, const char *device,
                        const char *dir, const char *part, const char *done, const char *sha,
                        int64_t total)
{
	char got[65];
	if (file_sha256(part, got) != 0)
		return -1;
	if (strcmp(got, sha) != 0) {
		unlink(part);
		fsync_path(dir);
		if (begin(s) == 0)
			end(s, partial_drop(s, county, device, sha, total));
		return 0;
	}
	if (rename(part, done) != 0)
		return -1;
	fsync_path(dir);
	if (begin(s) != 0 ||
	    end(s, photo_row(s, county, sha, total, device) == 0 &&
	                   partial_drop(s, county, device, sha, total) == 0
	                   ? 0
	                   : -1) != 0)
		return -1; /* named and verified: the next request records it */
	return 1;
}

static int64_t header_int(struct MHD_Connection *c, const char *name)
{
	const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
	if (v == NULL || v[0] == '\0' || strspn(v, "0123456789") != strlen(v) || strlen(v) > 15)
		return -1;
	return atoll(v);
}

/*
 * HEAD /v1/photos/{sha256}: 200 with Upload-Offset (the bytes this device
 * has sent; the whole length once the county holds the photo), or 404.
 * PATCH: append a chunk at Upload-Offset (409 with the right offset if it is
 * not where this device's upload is); when Upload-Length bytes are in,
 * check the SHA-256: 201, or 422 and the partial file is discarded. Every
 * chunk is fsync'd before the answer. A photo on its way belongs to the
 * device sending it — its own file and its own announced length — and a
 * first chunk is refused (507) over the device's or the county's quota.
 */
static enum MHD_Result photo(county_server *s, struct MHD_Connection *c, bool head,
                             const char *sha, const unsigned char *body, size_t len)
{
	who w;
	int auth = authenticate(s, c, &w);
	if (auth != 1)
		return refuse(s, c, auth, &w);
	const char *device = w.device, *county = w.county;
	if (strlen(sha) != 64 || strspn(sha, "0123456789abcdef") != 64)
		return send_error(c, 400, "bad_request", "a photo is named by its SHA-256 in lowercase hex", 0);
	if (s->busy > 0) {
		s->busy--;
		return send_error(c, 503, "busy", "the server is busy", s->busy_retry_s);
	}
	char dir[600], part[700], done[700];
	if (county_dir(s, county, dir, sizeof dir) != 0)
		return send_error(c, 503, "unavailable", "cannot store photos", 5);
	partial_path(dir, sha, device, part, sizeof part);
	snprintf(done, sizeof done, "%s/%s.jpg", dir, sha);
	struct stat sb;
	bool dbfail = false;
	int64_t have = stat(part, &sb) == 0 ? (int64_t)sb.st_size : -1;
	int64_t known = partial_length(s, county, device, sha, &dbfail);
	if (dbfail)
		return send_error(c, 503, "unavailable", "the server's database failed", 5);
	if (stat(done, &sb) == 0) { /* complete (verified before it got this name) */
		int rc = begin(s);
		if (rc == 0)
			rc = photo_row(s, county, sha, (int64_t)sb.st_size, device);
		if (rc == 0 && known > 0) /* this device's own upload of it is no longer needed */
			rc = partial_drop(s, county, device, sha, known);
		if (end(s, rc) != 0)
			return send_error(c, 503, "unavailable", "the server's database failed", 5);
		if (have >= 0)
			unlink(part);
		return send_full(c, head ? 200 : 201, "", 0, (int64_t)sb.st_size);
	}
	if (have >= 0 && known > 0 && have >= known) {
		/* All its bytes are here but it was never checked (the server died
		 * between the last chunk and the check): check it now. */
		int r = finish_photo(s, county, device, dir, part, done, sha, known);
		if (r < 0)
			return send_error(c, 503, "unavailable", "cannot check the photo", 5);
		if (r == 0)
			return head ? send_error(c, 404, "not_found", "no such photo", 0)
			            : send_error(c, 422, "photo_hash",
			                         "the photo's bytes do not match its SHA-256; it was "
			                         "discarded", 0);
		return send_full(c, head ? 200 : 201, "", 0, known);
	}
	if (head) /* a partial file's offset is always short of its length */
		return have < 0 ? send_error(c, 404, "not_found", "no such photo", 0)
		                : send_full(c, 200, "", 0, have);
	int64_t off = header_int(c, "Upload-Offset"), total = header_int(c, "Upload-Length");
	if (off < 0 || total < 1 || total > COUNTY_MAX_PHOTO || len == 0 ||
	    off + (int64_t)len > total || (known > 0 && total != known))
		return send_error(c, 400, "bad_request",
		                  "a chunk needs Upload-Offset, Upload-Length (1 byte to 64 MiB, as with "
		                  "the first chunk) and a body that fits", 0);
	if (known <= 0) {
		char why[200];
		int r = partial_start(s, county, device, sha, total, why, sizeof why);
		if (r < 0)
			return send_error(c, 503, "unavailable", "the server's database failed", 5);
		if (r == 0)
			return send_error(c, 507, "quota", why, COUNTY_QUOTA_RETRY_S);
	}
	if (off != (have < 0 ? 0 : have)) {
		char msg[96];
		snprintf(msg, sizeof msg, "the server has %lld bytes of this photo",
		         (long long)(have < 0 ? 0 : have));
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "error", "offset");
		cJSON_AddStringToObject(j, "message", msg);
		cJSON_AddBoolToObject(j, "retry", 1);
		char *t = cJSON_PrintUnformatted(j);
		cJSON_Delete(j);
		enum MHD_Result r = send_full(c, 409, t ? t : "{}", 0, have < 0 ? 0 : have);
		cJSON_free(t);
		return r;
	}
	int fd = open(part, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	bool ok = fd >= 0;
	for (size_t put = 0; ok && put < len;) {
		ssize_t n = write(fd, body + put, len - put);
		if (n < 0 && errno == EINTR)
			continue;
		ok = n > 0;
		put += ok ? (size_t)n : 0;
	}
	ok = ok && fsync(fd) == 0;
	if (fd >= 0)
		close(fd);
	if (!ok) {
		/* Leave no torn chunk behind: cut back to what was there. */
		if (truncate(part, have < 0 ? 0 : have) != 0 && have < 0)
			unlink(part);
		return send_error(c, 503, "unavailable", "cannot store the chunk", 5);
	}
	if (have < 0)
		fsync_path(dir); /* the new file's name */
	int64_t now_have = off + (int64_t)len;
	if (now_have < total)
		return send_full(c, 204, "", 0, now_have);
	int r = finish_photo(s, county, device, dir, part, done, sha, total);
	if (r < 0)
		return send_error(c, 503, "unavailable", "cannot check or store the photo", 5);
	if (r == 0)
		return send_error(c, 422, "photo_hash",
		                  "the photo's bytes do not match its SHA-256; it was discarded", 0);
	return send_full(c, 201, "", 0, total);
}

/* ---- feeds ---- */

static const char *const feeds[] = { "checklists", "settings", "sites", "tasks", "lab_results" };

/* A weight (RFC 9110 12.4.2) of zero: "0", "0.", "0.0", "0.00", "0.000". */
static bool weight_zero(const char *p, size_t n)
{
	while (n > 0 && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	if (n == 0 || p[0] != '0')
		return false;
	if (n == 1)
		return true;
	if (p[1] != '.' || n > 5)
		return false;
	for (size_t i = 2; i < n; i++)
		if (p[i] != '0')
			return false;
	return true;
}

/*
 * Whether Accept-Encoding (RFC 9110 12.5.3) lets the answer be gzip'd:
 * "gzip" or "x-gzip" named with a weight above zero, or "*" when gzip is not
 * named. Anything unreadable counts as not asked.
 */
static bool accepts_gzip(const char *h)
{
	if (h == NULL || strlen(h) > 1024)
		return false;
	int gzip = -1, star = -1; /* -1 not named, 0 refused (q=0), 1 accepted */
	for (const char *p = h; *p;) {
		p += strspn(p, " \t,");
		if (*p == '\0')
			break;
		size_t tl = strcspn(p, " \t,;");
		const char *tok = p;
		p += tl;
		bool zero = false;
		while (*p && *p != ',') { /* parameters: only q matters */
			p += strspn(p, " \t;");
			size_t pl = strcspn(p, ";,");
			if (pl >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=')
				zero = weight_zero(p + 2, pl - 2);
			p += pl;
		}
		int v = zero ? 0 : 1;
		if ((tl == 4 && strncasecmp(tok, "gzip", 4) == 0) ||
		    (tl == 6 && strncasecmp(tok, "x-gzip", 6) == 0))
			gzip = v;
		else if (tl == 1 && tok[0] == '*')
			star = v;
	}
	return gzip == 1 || (gzip == -1 && star == 1);
}

/*
 * A feed page, gzip'd (level 6) when the device said it accepts that: the
 * JSON of 200 sites is ~90 KB and compresses about 13x. Vary says the answer
 * depends on Accept-Encoding, for any cache between.
 */
static enum MHD_Result send_page(struct MHD_Connection *c, cJSON *j, bool gzip)
{
	char *t = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	if (t == NULL)
		return send_error(c, 500, "internal", "out of memory", 1);
	unsigned char *z = NULL;
	size_t zlen = 0;
	if (gzip && fic__gzip(t, strlen(t), &z, &zlen) != FIC_OK)
		z = NULL; /* out of memory: the page goes as it is */
	bool coded = z != NULL;
	struct MHD_Response *r =
		coded ? MHD_create_response_from_buffer(zlen, z, MHD_RESPMEM_MUST_COPY)
		      : MHD_create_response_from_buffer(strlen(t), t, MHD_RESPMEM_MUST_COPY);
	fic__free(z);
	cJSON_free(t);
	if (r == NULL)
		return MHD_NO;
	common_headers(r);
	MHD_add_response_header(r, "Vary", "Accept-Encoding");
	if (coded)
		MHD_add_response_header(r, "Content-Encoding", "gzip");
	enum MHD_Result ret = MHD_queue_response(c, 200, r);
	MHD_destroy_response(r);
	return ret;
}

/*
 * GET /v1/feeds/{name}?cursor=N&limit=M: the county's changes after N, in
 * order, at most M (≤ 500) — {"items": [{id, op, version?, data?}],
 * "cursor": "<last seq>", "more": bool}, gzip'd if Accept-Encoding allows.
 */
static enum MHD_Result feed(county_server *s, struct MHD_Connection *c, const char *name)
{
	who w;
	int auth = authenticate(s, c, &w);
	if (auth != 1)
		return refuse(s, c, auth, &w);
	const char *county = w.county;
	bool known = false;
	for (size_t i = 0; i < sizeof feeds / sizeof feeds[0]; i++)
		known |= strcmp(name, feeds[i]) == 0;
	if (!known)
		return send_error(c, 404, "not_found", "no such feed", 0);
	const char *cur = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "cursor");
	const char *lim = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit");
	int64_t after = 0, limit = 200; /* the spec's default */
	if (cur && cur[0]) {
		if (strspn(cur, "0123456789") != strlen(cur) || strlen(cur) > 15)
			return send_error(c, 400, "bad_cursor", "the cursor is not one this server gave", 0);
		after = atoll(cur);
	}
	if (lim && lim[0]) {
		if (strspn(lim, "0123456789") != strlen(lim) || strlen(lim) > 4 || atoi(lim) < 1)
			return send_error(c, 400, "bad_request", "limit must be 1 to 500", 0);
		limit = atoi(lim) < COUNTY_FEED_PAGE ? atoi(lim) : COUNTY_FEED_PAGE;
	}
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, request_sql[SQL_FEED_PAGE], -1, &st, NULL) != SQLITE_OK)
		return send_error(c, 503, "unavailable", "the server's database failed", 5);
	sqlite3_bind_text(st, 1, county, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, after);
	sqlite3_bind_int64(st, 4, limit + 1);
	cJSON *out = cJSON_CreateObject(), *items = cJSON_AddArrayToObject(out, "items");
	int64_t last = after, n = 0;
	bool more = false;
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == limit) {
			more = true;
			break;
		}
		cJSON *it = cJSON_CreateObject();
		cJSON_AddStringToObject(it, "id", (const char *)sqlite3_column_text(st, 1));
		cJSON_AddStringToObject(it, "op", (const char *)sqlite3_column_text(st, 2));
		if (sqlite3_column_type(st, 3) != SQLITE_NULL)
			cJSON_AddNumberToObject(it, "version", (double)sqlite3_column_int64(st, 3));
		cJSON_AddNumberToObject(it, "changed_at_ms", (double)sqlite3_column_int64(st, 5));
		if (sqlite3_column_type(st, 4) != SQLITE_NULL) {
			cJSON *d = cJSON_Parse((const char *)sqlite3_column_text(st, 4));
			if (d)
				cJSON_AddItemToObject(it, "data", d);
		}
		cJSON_AddItemToArray(items, it);
		last = sqlite3_column_int64(st, 0);
		n++;
	}
	sqlite3_finalize(st);
	if (step != SQLITE_ROW && step != SQLITE_DONE) {
		cJSON_Delete(out);
		return send_error(c, 503, "unavailable", "the server's database failed", 5);
	}
	char cs[24];
	snprintf(cs, sizeof cs, "%lld", (long long)last);
	cJSON_AddStringToObject(out, "cursor", cs);
	cJSON_AddBoolToObject(out, "more", more);
	return send_page(c, out,
	                 accepts_gzip(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept-Encoding")));
}

/* ---- the request loop ---- */

static void stop_sweeper(county_server *s);

/*
 * Every connection is tracked with a deadline that no byte restarts:
 * libmicrohttpd's own timeout is one of inactivity, so a client sending a
 * header line every 20 s held its connection for ever. From the moment a
 * connection opens (or its previous answer is sent) its request's headers
 * must be in within header_ms; then its body within body_ms plus its
 * Content-Length at body_bytes_per_s; then the answer has answer_ms to be
 * made and sent. A sweeper thread shuts down the socket of a connection past
 * its deadline (libmicrohttpd then closes it). The list is kept under its
 * own lock, and a connection leaves it (NOTIFY_CLOSED) before
 * libmicrohttpd closes its socket, so the sweeper never touches a socket
 * number that has been reused.
 */
typedef struct conn {
	struct conn *prev, *next;
	int fd;
	int64_t deadline_ms;
	bool cut;
} conn;

static void conn_deadline(county_server *s, struct MHD_Connection *c, int64_t deadline)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	conn *k = ci ? ci->socket_context : NULL;
	if (k == NULL)
		return;
	pthread_mutex_lock(&s->track_lock);
	k->deadline_ms = deadline;
	pthread_mutex_unlock(&s->track_lock);
}

static void notify_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                              enum MHD_ConnectionNotificationCode toe)
{
	county_server *s = cls;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		conn *k = calloc(1, sizeof *k);
		if (k == NULL || ci == NULL) {
			free(k);
			*socket_context = NULL;
			return;
		}
		k->fd = ci->connect_fd;
		k->deadline_ms = now_ms() + s->limits.header_ms;
		pthread_mutex_lock(&s->track_lock);
		k->next = s->conns;
		if (s->conns)
			s->conns->prev = k;
		s->conns = k;
		s->open_conns++;
		pthread_mutex_unlock(&s->track_lock);
		*socket_context = k;
	} else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		conn *k = *socket_context;
		if (k == NULL)
			return;
		pthread_mutex_lock(&s->track_lock);
		if (k->prev)
			k->prev->next = k->next;
		else
			s->conns = k->next;
		if (k->next)
			k->next->prev = k->prev;
		s->open_conns--;
		pthread_mutex_unlock(&s->track_lock);
		free(k);
		*socket_context = NULL;
	}
}

static void *sweeper(void *arg)
{
	county_server *s = arg;
	pthread_mutex_lock(&s->track_lock);
	while (!s->stopping) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += COUNTY_SWEEP_MS * 1000000L;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&s->track_cond, &s->track_lock, &ts);
		int64_t now = now_ms();
		for (conn *k = s->conns; k; k = k->next) {
			if (!k->cut && k->deadline_ms > 0 && now > k->deadline_ms) {
				shutdown(k->fd, SHUT_RDWR);
				k->cut = true;
				s->cut_conns++;
			}
		}
	}
	pthread_mutex_unlock(&s->track_lock);
	return NULL;
}

/*
 * The database, for one request: wait at most db_wait_ms for it. A server
 * that cannot get to its database that soon is overloaded, and says so (503
 * with Retry-After) instead of piling up requests that will time out anyway.
 */
static bool db_lock(county_server *s)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += s->limits.db_wait_ms / 1000;
	ts.tv_nsec += (long)(s->limits.db_wait_ms % 1000) * 1000000L;
	ts.tv_sec += ts.tv_nsec / 1000000000L;
	ts.tv_nsec %= 1000000000L;
	if (pthread_mutex_timedlock(&s->lock, &ts) != 0)
		return false;
	if (s->slow_n > 0) { /* fault injection: a slow database */
		s->slow_n--;
		usleep((useconds_t)s->slow_ms * 1000);
	}
	return true;
}

static enum MHD_Result busy(struct MHD_Connection *c)
{
	return send_error(c, 503, "busy", "the server is busy; try again shortly",
	                  COUNTY_BUSY_RETRY_S);
}

typedef struct upload {
	unsigned char *buf;
	size_t len;
	bool too_big;
} upload;

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
	county_server *s = cls;
	(void)toe;
	upload *u = *con_cls;
	if (u) {
		free(u->buf);
		free(u);
	}
	*con_cls = NULL;
	/* The next request (or nothing, on a kept-alive connection) has as long
	 * as a first one. */
	conn_deadline(s, c, now_ms() + s->limits.header_ms);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *data,
                              size_t *data_size, void **con_cls)
{
	(void)version;
	county_server *s = cls;
	upload *u = *con_cls;
	if (u == NULL) {
		/* The headers are in: the body has its own deadline, by its size. */
		if ((u = calloc(1, sizeof *u)) == NULL)
			return MHD_NO;
		*con_cls = u;
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
		int64_t len = cl && strspn(cl, "0123456789") == strlen(cl) && strlen(cl) < 12
		                      ? atoll(cl)
		                      : COUNTY_MAX_BODY;
		if (len > COUNTY_MAX_BODY)
			len = COUNTY_MAX_BODY;
		conn_deadline(s, c, now_ms() + s->limits.body_ms +
		                            len * 1000 / s->limits.body_bytes_per_s);
		return MHD_YES;
	}
	if (*data_size > 0) {
		size_t cap = strncmp(url, "/v1/photos/", 11) == 0 ? COUNTY_MAX_CHUNK : COUNTY_MAX_BODY;
		if (u->len + *data_size > cap) {
			u->too_big = true;
		} else if (!u->too_big) {
			unsigned char *n = realloc(u->buf, u->len + *data_size);
			if (n == NULL)
				return MHD_NO;
			memcpy(n + u->len, data, *data_size);
			u->buf = n;
			u->len += *data_size;
		}
		*data_size = 0;
		return MHD_YES;
	}
	/* The whole request is in: the answer has its own time. */
	conn_deadline(s, c, now_ms() + s->limits.answer_ms);
	if (u->too_big)
		return send_error(c, 413, "too_large",
		                  strncmp(url, "/v1/photos/", 11) == 0
		                          ? "a photo chunk may be at most 256 KiB"
		                          : "the request body exceeds 1 MiB", 0);
	if (strncmp(url, "/v1/photos/", 11) == 0 &&
	    (strcmp(method, "HEAD") == 0 || strcmp(method, "PATCH") == 0)) {
		if (!db_lock(s))
			return busy(c);
		enum MHD_Result r = photo(s, c, method[0] == 'H', url + 11, u->buf, u->len);
		pthread_mutex_unlock(&s->lock);
		return r;
	}
	if (strcmp(url, "/v1/county-key") == 0 && strcmp(method, "GET") == 0) {
		if (!db_lock(s))
			return busy(c);
		enum MHD_Result r = county_key(s, c);
		pthread_mutex_unlock(&s->lock);
		return r;
	}
	if (strncmp(url, "/v1/feeds/", 10) == 0 && strcmp(method, "GET") == 0) {
		if (!db_lock(s))
			return busy(c);
		enum MHD_Result r = feed(s, c, url + 10);
		pthread_mutex_unlock(&s->lock);
		return r;
	}
	bool post = strcmp(method, "POST") == 0;
	if (post && strcmp(url, "/v1/sms/in") == 0)
		return county__sms_http(s, c, u->buf, u->len); /* county_sms.c: text, not only JSON */
	if (!post || (strcmp(url, "/v1/enroll") != 0 && strcmp(url, "/v1/records") != 0))
		return send_error(c, 404, "not_found", "no such endpoint", 0);
	const char *enc = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Encoding");
	unsigned char *plain = NULL;
	size_t plen = 0;
	if (enc && strcasecmp(enc, "gzip") == 0) {
		if (fic__gunzip(u->buf, u->len, COUNTY_MAX_BODY, &plain, &plen) != FIC_OK)
			return send_error(c, 400, "bad_gzip", "the body is not valid gzip or too large", 0);
	}
	cJSON *body = plain ? cJSON_ParseWithLength((char *)plain, plen)
	                    : cJSON_ParseWithLength((char *)u->buf, u->len);
	fic__free(plain);
	if (!cJSON_IsObject(body)) {
		cJSON_Delete(body);
		return send_error(c, 400, "bad_json", "the body is not a JSON object", 0);
	}
	if (!db_lock(s)) {
		cJSON_Delete(body);
		return busy(c);
	}
	enum MHD_Result r = strcmp(url, "/v1/enroll") == 0 ? enroll(s, c, body) : records(s, c, body);
	pthread_mutex_unlock(&s->lock);
	cJSON_Delete(body);
	return r;
}

int county_listen_tls(county_server *s, const char *addr, const char *cert_pem,
                      const char *key_pem, char *err, size_t errsize)
{
	if ((cert_pem == NULL) != (key_pem == NULL)) {
		snprintf(err, errsize, "TLS needs both a certificate and its key");
		return -1;
	}
	if (s->d != NULL) {
		snprintf(err, errsize, "already listening");
		return -1;
	}
	char host[64];
	int port = 0;
	const char *colon = strrchr(addr, ':');
	if (colon == NULL || (size_t)(colon - addr) >= sizeof host) {
		snprintf(err, errsize, "listen address must be HOST:PORT");
		return -1;
	}
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	port = atoi(colon + 1);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		snprintf(err, errsize, "not an IPv4 address: %s", host);
		return -1;
	}
	if (cert_pem) {
		free(s->tls_cert);
		free(s->tls_key);
		s->tls_cert = strdup(cert_pem); /* libmicrohttpd keeps pointers to them */
		s->tls_key = strdup(key_pem);
		if (s->tls_cert == NULL || s->tls_key == NULL) {
			snprintf(err, errsize, "out of memory");
			return -1;
		}
	}
	/* TLS 1.2 and 1.3 only: 1.0 and 1.1 (and SSL 3) are refused at the
	 * handshake (RFC 8996). */
	static const char priorities[] = "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2";
	struct MHD_OptionItem tls[] = {
		{ MHD_OPTION_HTTPS_MEM_CERT, 0, s->tls_cert },
		{ MHD_OPTION_HTTPS_MEM_KEY, 0, s->tls_key },
		{ MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)priorities },
		{ MHD_OPTION_END, 0, NULL },
	};
	struct MHD_OptionItem none[] = { { MHD_OPTION_END, 0, NULL } };
	s->stopping = false;
	if (pthread_create(&s->sweep_thread, NULL, sweeper, s) != 0) {
		snprintf(err, errsize, "cannot start a thread");
		return -1;
	}
	s->sweeping = true;
	/* A thread per connection (poll(), so no limit at FD_SETSIZE): a request
	 * waiting for the database, or a slow one, holds up only its own
	 * connection. (A pool of threads each polling its share of the
	 * connections would hold up every connection of the thread whose
	 * request waits.) The connection limits bound the threads; the
	 * deadlines bound how long a slow client keeps one. */
	unsigned int flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL_INTERNAL_THREAD |
	                     (cert_pem ? MHD_USE_TLS : 0);
	s->d = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, handle, s,
	                        MHD_OPTION_ARRAY, cert_pem ? tls : none,
	                        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
	                        MHD_OPTION_THREAD_STACK_SIZE, (size_t)COUNTY_THREAD_STACK,
	                        MHD_OPTION_NOTIFY_COMPLETED, completed, s,
	                        MHD_OPTION_NOTIFY_CONNECTION, notify_connection, s,
	                        MHD_OPTION_CONNECTION_TIMEOUT, s->limits.idle_s,
	                        MHD_OPTION_CONNECTION_LIMIT, s->limits.connections,
	                        MHD_OPTION_PER_IP_CONNECTION_LIMIT,
	                        s->limits.connections_per_address, MHD_OPTION_END);
	if (s->d == NULL) {
		stop_sweeper(s);
		snprintf(err, errsize, "cannot listen on %s", addr);
		return -1;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info ? info->port : port;
	return 0;
}

int county_listen(county_server *s, const char *addr, char *err, size_t errsize)
{
	return county_listen_tls(s, addr, NULL, NULL, err, errsize);
}

int county_port(const county_server *s)
{
	return s->port;
}

static void stop_sweeper(county_server *s)
{
	if (!s->sweeping)
		return;
	pthread_mutex_lock(&s->track_lock);
	s->stopping = true;
	pthread_cond_signal(&s->track_cond);
	pthread_mutex_unlock(&s->track_lock);
	pthread_join(s->sweep_thread, NULL);
	s->sweeping = false;
}

/*
 * For the fuzzers: a request handed to the handlers through one end of a
 * socketpair, with the daemon polled from this thread (no listening socket,
 * no server thread), so a run is deterministic and a crash is in this
 * thread's stack. The daemon is started on first use; a server that
 * listens has its own and is refused.
 */
int county_request(county_server *s, const char *method, const char *path, const char *headers,
                   const void *body, size_t len, int *status, char **response,
                   size_t *response_len)
{
	*status = 0;
	*response = NULL;
	*response_len = 0;
	if (s->d != NULL && s->port != 0)
		return -1;
	if (s->d == NULL &&
	    (s->d = MHD_start_daemon(MHD_USE_NO_LISTEN_SOCKET, 0, NULL, NULL, handle, s,
	                             MHD_OPTION_NOTIFY_COMPLETED, completed, s,
	                             MHD_OPTION_END)) == NULL)
		return -1;
	size_t head = strlen(method) + strlen(path) + (headers ? strlen(headers) : 0) + 128;
	char *req = malloc(head + len);
	int sv[2] = { -1, -1 };
	if (req == NULL || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		free(req);
		return -1;
	}
	int n = snprintf(req, head, "%s %s HTTP/1.1\r\nHost: county\r\nConnection: close\r\n"
	                 "Content-Length: %zu\r\n%s\r\n", method, path, len, headers ? headers : "");
	if (len > 0)
		memcpy(req + n, body, len);
	size_t total = (size_t)n + len, sent = 0, cap = 0;
	struct sockaddr_in peer = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	int rc = MHD_add_connection(s->d, sv[1], (struct sockaddr *)&peer, sizeof peer) == MHD_YES
	                 ? 0 : -1;
	for (int idle = 0; rc == 0 && idle < 1000;) {
		bool moved = false;
		if (sent < total) {
			ssize_t w = send(sv[0], req + sent, total - sent, MSG_NOSIGNAL);
			if (w > 0)
				sent += (size_t)w;
			else if (errno != EAGAIN && errno != EINTR)
				sent = total; /* the server closed early: read what it said */
			moved |= w > 0;
		}
		MHD_run(s->d);
		if (*response_len + 65536 > cap) {
			char *g = realloc(*response, cap = cap * 2 + 65536 + 1);
			if (g == NULL) {
				rc = -1;
				break;
			}
			*response = g;
		}
		ssize_t r = recv(sv[0], *response + *response_len, cap - 1 - *response_len, 0);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
			break; /* answered and closed */
		if (r > 0)
			*response_len += (size_t)r;
		moved |= r > 0;
		idle = moved ? 0 : idle + 1;
		if (!moved)
			usleep(100);
	}
	MHD_run(s->d); /* let it release the closed connection */
	close(sv[0]);
	free(req);
	if (*response)
		(*response)[*response_len] = '\0';
	if (rc == 0 && *response_len > 12 && strncmp(*response, "HTTP/1.1 ", 9) == 0)
		*status = atoi(*response + 9);
	return rc == 0 && *status > 0 ? 0 : -1;
}

void county_close(county_server *s)
{
	if (s == NULL)
		return;
	if (s->d)
		MHD_stop_daemon(s->d);
	stop_sweeper(s);
	sqlite3_close(s->db);
	free(s->photo_root);
	free(s->key_dir);
	free(s->tls_cert);
	free(s->tls_key);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->rl_lock);
	pthread_mutex_destroy(&s->track_lock);
	pthread_cond_destroy(&s->track_cond);
	free(s);
}

/* A fresh code (XXXX-XXXX-XXXX from 32 letters and digits: 60 bits) for
 * `county`, or for one device of it; kept as its SHA-256 only. */
static int issue(county_server *s, const char *county, const char *device, int64_t ttl_ms,
                 char *code, size_t code_size)
{
	static const char alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"; /* no 0/O, 1/I */
	unsigned char raw[12];
	if (code_size < 16 || ttl_ms <= 0 || RAND_bytes(raw, sizeof raw) != 1)
		return -1;
	for (int i = 0; i < 12; i++)
		code[i + i / 4] = alphabet[raw[i] & 31];
	memset(raw, 0, sizeof raw);
	code[4] = code[9] = '-';
	code[14] = '\0';
	char h[65];
	sha256_hex(code, strlen(code), h);
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, "INSERT INTO codes (code_sha256, county, device_id, issued_ms,"
	                              " expires_ms) VALUES (?1, ?2, ?3, ?4, ?5)", -1, &st, NULL) !=
	    SQLITE_OK) {
		sqlite3_finalize(st);
		return -1;
	}
	int64_t now = now_ms();
	sqlite3_bind_text(st, 1, h, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, county, -1, SQLITE_STATIC);
	if (device)
		sqlite3_bind_text(st, 3, device, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, now);
	sqlite3_bind_int64(st, 5, ttl_ms > INT64_MAX - now ? INT64_MAX : now + ttl_ms);
	return step_done(st);
}

int county_issue_code_ttl(county_server *s, const char *county, int64_t ttl_ms, char *code,
                          size_t code_size)
{
	if (county == NULL || county[0] == '\0' || strlen(county) > 200 ||
	    !fic__utf8_valid(county, strlen(county)))
		return -1;
	pthread_mutex_lock(&s->lock);
	/* A county's first code makes its sealing key, where the operator keeps
	 * keys (county_set_key_dir); without a folder, devices enrol without a
	 * key and cannot submit informants' details until the county has one. */
	char id[FIC_KEY_ID_BUFSIZE], err[300];
	int rc = s->key_dir && county__key_make(s->db, s->key_dir, county, false, id, err,
	                                        sizeof err) != 0
	                 ? -1
	                 : issue(s, county, NULL, ttl_ms, code, code_size);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int county_set_key_dir(county_server *s, const char *dir, char *err, size_t errsize)
{
	char *copy = dir ? strdup(dir) : NULL;
	if (dir && (copy == NULL || county__keys_dir(dir, err, errsize) != 0)) {
		if (copy == NULL)
			snprintf(err, errsize, "out of memory");
		free(copy);
		return -1;
	}
	pthread_mutex_lock(&s->lock);
	free(s->key_dir);
	s->key_dir = copy;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

int county_make_key(county_server *s, const char *county, bool replace, char *id, size_t id_size,
                    char *err, size_t errsize)
{
	char kid[FIC_KEY_ID_BUFSIZE] = "";
	if (county == NULL || county[0] == '\0' || strlen(county) > 200 ||
	    !fic__utf8_valid(county, strlen(county)) || id_size < sizeof kid) {
		snprintf(err, errsize, "a county is named in 1 to 200 bytes of UTF-8");
		return -1;
	}
	pthread_mutex_lock(&s->lock);
	int rc = county__key_make(s->db, s->key_dir, county, replace, kid, err, errsize);
	pthread_mutex_unlock(&s->lock);
	snprintf(id, id_size, "%s", kid);
	return rc;
}

int county_has_key(county_server *s, const char *county)
{
	cJSON *k = NULL;
	pthread_mutex_lock(&s->lock);
	int have = county__key_json(s->db, county, &k);
	pthread_mutex_unlock(&s->lock);
	cJSON_Delete(k);
	return have;
}

int county_open_leads(county_server *s, const char *keys, const char *lead_id, FILE *out,
                      char *err, size_t errsize)
{
	pthread_mutex_lock(&s->lock);
	int n = county__open_leads(s->db, keys, lead_id, out, err, errsize);
	pthread_mutex_unlock(&s->lock);
	return n;
}

int county_issue_code(county_server *s, const char *county, char *code, size_t code_size)
{
	return county_issue_code_ttl(s, county, COUNTY_CODE_TTL_MS, code, code_size);
}

/* The county of an enrolled device into buf: 1, 0 if there is no such device, -1. */
static int device_county(county_server *s, const char *device, char *buf, size_t size)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, "SELECT county FROM devices WHERE device_id = ?1", -1, &st,
	                       NULL) != SQLITE_OK) {
		sqlite3_finalize(st);
		return -1;
	}
	sqlite3_bind_text(st, 1, device, -1, SQLITE_STATIC);
	int step = sqlite3_step(st), rc = step == SQLITE_ROW ? 1 : step == SQLITE_DONE ? 0 : -1;
	if (rc == 1)
		snprintf(buf, size, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return rc;
}

/*
 * The admin's acts on one device, each in one transaction: `what` is
 * "reenrol" (a re-enrolment code for it), "rotate" (its token stops now; a
 * re-enrolment code for it) or "revoke" (refused from its next request on,
 * until re-enrolled with a re-enrolment code).
 */
static int device_act(county_server *s, const char *what, const char *device, int64_t ttl_ms,
                      char *code, size_t code_size, char *err, size_t errsize)
{
	if (device == NULL || !uuid_form(device)) {
		snprintf(err, errsize, "not a device id (a UUID): %.64s", device ? device : "(none)");
		return -1;
	}
	pthread_mutex_lock(&s->lock);
	int rc = -1;
	char county[256];
	if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errsize, "the database is busy: %s", sqlite3_errmsg(s->db));
		pthread_mutex_unlock(&s->lock);
		return -1;
	}
	int known = device_county(s, device, county, sizeof county);
	if (known == 0) {
		snprintf(err, errsize, "no device %s is enrolled", device);
	} else if (known < 0) {
		snprintf(err, errsize, "the database failed: %s", sqlite3_errmsg(s->db));
	} else if (strcmp(what, "revoke") == 0) {
		sqlite3_stmt *st;
		if (sqlite3_prepare_v2(s->db, "UPDATE devices SET revoked_ms = ?2 WHERE device_id = ?1",
		                       -1, &st, NULL) == SQLITE_OK) {
			sqlite3_bind_text(st, 1, device, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 2, now_ms());
		}
		rc = step_done(st);
	} else {
		rc = 0;
		if (strcmp(what, "rotate") == 0) {
			/* The token is retired (its holder told token_revoked) and the device
			 * holds a hash nobody has a token for until it enrols again. */
			sqlite3_stmt *st;
			char old[65] = "", fresh[65];
			unsigned char raw[32];
			if (sqlite3_prepare_v2(s->db, "SELECT token_sha256 FROM devices WHERE device_id = ?1",
			                       -1, &st, NULL) == SQLITE_OK) {
				sqlite3_bind_text(st, 1, device, -1, SQLITE_STATIC);
				if (sqlite3_step(st) == SQLITE_ROW)
					snprintf(old, sizeof old, "%s", (const char *)sqlite3_column_text(st, 0));
			}
			sqlite3_finalize(st);
			if (old[0] == '\0' || RAND_bytes(raw, sizeof raw) != 1 ||
			    retire_token(s, old, device, county, "rotated") != 0) {
				rc = -1;
			} else {
				sha256_hex(raw, sizeof raw, fresh);
				if (sqlite3_prepare_v2(s->db, "UPDATE devices SET token_sha256 = ?2,"
				                              " token_issued_ms = ?3, last_seen_ms = NULL"
				                              " WHERE device_id = ?1", -1, &st, NULL) == SQLITE_OK) {
					sqlite3_bind_text(st, 1, device, -1, SQLITE_STATIC);
					sqlite3_bind_text(st, 2, fresh, -1, SQLITE_STATIC);
					sqlite3_bind_int64(st, 3, now_ms());
				}
				rc = step_done(st);
			}
		}
		if (rc == 0)
			rc = issue(s, county, device, ttl_ms, code, code_size);
	}
	if (rc == 0 && sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		rc = -1;
	if (rc != 0) {
		if (known > 0)
			snprintf(err, errsize, "the database failed: %s", sqlite3_errmsg(s->db));
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int county_issue_reenrol_code(county_server *s, const char *device_id, int64_t ttl_ms, char *code,
                              size_t code_size, char *err, size_t errsize)
{
	return device_act(s, "reenrol", device_id, ttl_ms, code, code_size, err, errsize);
}

int county_rotate_token(county_server *s, const char *device_id, int64_t ttl_ms, char *code,
                        size_t code_size, char *err, size_t errsize)
{
	return device_act(s, "rotate", device_id, ttl_ms, code, code_size, err, errsize);
}

int county_revoke_device(county_server *s, const char *device_id, char *err, size_t errsize)
{
	return device_act(s, "revoke", device_id, 0, NULL, 0, err, errsize);
}

static int64_t scalar(county_server *s, const char *sql, const char *arg)
{
	pthread_mutex_lock(&s->lock);
	sqlite3_stmt *st;
	int64_t v = -1;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) == SQLITE_OK) {
		if (arg)
			sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			v = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&s->lock);
	return v;
}

int64_t county_record_count(county_server *s, const char *type)
{
	return type ? scalar(s, "SELECT count(*) FROM records WHERE type = ?1", type)
	            : scalar(s, "SELECT count(*) FROM records", NULL);
}

int64_t county_received_at(county_server *s, const char *record_id)
{
	return scalar(s, "SELECT received_ms FROM records WHERE id = ?1", record_id);
}

static void utc(int64_t ms, char *buf, size_t size)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%d %H:%M:%SZ", &tm);
}

/*
 * Text a device or an admin supplied, written so that a terminal shows it
 * and obeys none of it: control characters (C0, DEL, C1), line and
 * paragraph separators and the bidirectional overrides and isolates that
 * can reorder what is shown are written as escapes (\xNN, \u{NNNN}), and so
 * is every byte that is not UTF-8.
 */
static void put_inert(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	while (*p) {
		unsigned c = *p;
		size_t n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3
		                                                : (c & 0xf8) == 0xf0 ? 4 : 0;
		if (n == 0 || !fic__utf8_valid((const char *)p, strnlen((const char *)p, n)) ||
		    strnlen((const char *)p, n) < n) {
			fprintf(out, "\\x%02x", c);
			p++;
			continue;
		}
		uint32_t cp = n == 1 ? c : n == 2 ? c & 0x1f : n == 3 ? c & 0x0f : c & 0x07;
		for (size_t i = 1; i < n; i++)
			cp = cp << 6 | (p[i] & 0x3f);
		if (cp < 0x20 || cp == 0x7f)
			fprintf(out, "\\x%02x", (unsigned)cp);
		else if ((cp >= 0x80 && cp <= 0x9f) || cp == 0x061c || cp == 0x200e || cp == 0x200f ||
		         (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069))
			fprintf(out, "\\u{%04x}", (unsigned)cp);
		else
			fwrite(p, 1, n, out);
		p += n;
	}
}

int county_list_devices(county_server *s, const char *county, FILE *out)
{
	pthread_mutex_lock(&s->lock);
	sqlite3_stmt *st;
	int n = -1;
	if (sqlite3_prepare_v2(s->db, "SELECT device_id, county, name, enrolled_ms, last_seen_ms,"
	                              " coalesce(last_seen_ms, token_issued_ms, enrolled_ms), revoked_ms"
	                              " FROM devices WHERE ?1 IS NULL OR county = ?1"
	                              " ORDER BY county, enrolled_ms, device_id", -1, &st, NULL) ==
	    SQLITE_OK) {
		n = 0;
		if (county)
			sqlite3_bind_text(st, 1, county, -1, SQLITE_STATIC);
		int64_t now = now_ms();
		while (sqlite3_step(st) == SQLITE_ROW) {
			char enrolled[32], seen[32] = "never";
			utc(sqlite3_column_int64(st, 3), enrolled, sizeof enrolled);
			if (sqlite3_column_type(st, 4) != SQLITE_NULL)
				utc(sqlite3_column_int64(st, 4), seen, sizeof seen);
			const char *state = sqlite3_column_type(st, 6) != SQLITE_NULL ? "revoked"
			                    : s->token_idle_ms > 0 &&
			                              now - sqlite3_column_int64(st, 5) > s->token_idle_ms
			                            ? "expired"
			                            : "active";
			put_inert(out, (const char *)sqlite3_column_text(st, 0));
			fprintf(out, "  %-7s  ", state);
			put_inert(out, (const char *)sqlite3_column_text(st, 1));
			fprintf(out, "  enrolled %s  last seen %s  ", enrolled, seen);
			put_inert(out, (const char *)sqlite3_column_text(st, 2));
			fputc('\n', out);
			n++;
		}
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&s->lock);
	return n;
}

int county_conflicts(county_server *s, FILE *out)
{
	pthread_mutex_lock(&s->lock);
	sqlite3_stmt *st;
	int n = -1;
	if (sqlite3_prepare_v2(s->db, "SELECT county, record_id, device_id, held_by, what, found_ms"
	                              " FROM conflicts ORDER BY county, found_ms, record_id", -1, &st,
	                       NULL) == SQLITE_OK) {
		n = 0;
		while (sqlite3_step(st) == SQLITE_ROW) {
			n++;
			if (out == NULL)
				continue;
			char at[32];
			utc(sqlite3_column_int64(st, 5), at, sizeof at);
			put_inert(out, (const char *)sqlite3_column_text(st, 0));
			fputs(" record ", out);
			put_inert(out, (const char *)sqlite3_column_text(st, 1));
			fputs(": sent by ", out);
			put_inert(out, (const char *)sqlite3_column_text(st, 2));
			bool changed = strcmp((const char *)sqlite3_column_text(st, 4), "changed") == 0;
			if (changed) {
				fprintf(out, " again with other content, %s\n", at);
			} else {
				fputs(", held by ", out);
				put_inert(out, (const char *)sqlite3_column_text(st, 3));
				fprintf(out, ", %s\n", at);
			}
		}
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&s->lock);
	return n;
}

int county_report_leads(county_server *s, FILE *out)
{
	pthread_mutex_lock(&s->lock);
	sqlite3_stmt *st;
	int late = 0;
	if (sqlite3_prepare_v2(
		    s->db,
		    "SELECT id, received_ms, json_extract(c, '$.urgent'), json_extract(c, '$.deadline_at_ms'),"
		    " coalesce(json_extract(c, '$.title'), ''), county, by_sms FROM"
		    " (SELECT id, received_ms, county, coalesce(json_extract(body, '$.canonical'),"
		    "  json_extract(body, '$.sms')) AS c, EXISTS (SELECT 1 FROM sms_leads m WHERE"
		    "  m.county = records.county AND m.lead_id = records.id) AS by_sms"
		    "  FROM records WHERE type = 'lead')"
		    " ORDER BY county, json_extract(c, '$.urgent') DESC, received_ms, id",
		    -1, &st, NULL) != SQLITE_OK) {
		pthread_mutex_unlock(&s->lock);
		return -1;
	}
	char county[256] = "";
	bool first = true;
	while (sqlite3_step(st) == SQLITE_ROW) {
		/* One heading per county; everything a device wrote is shown inert. */
		const char *cty = (const char *)sqlite3_column_text(st, 5);
		if (first || strcmp(cty, county) != 0) {
			snprintf(county, sizeof county, "%s", cty);
			first = false;
			fputs("county ", out);
			put_inert(out, county);
			fputc('\n', out);
		}
		char rec[32], due[32];
		int64_t received = sqlite3_column_int64(st, 1);
		utc(received, rec, sizeof rec);
		const char *id = (const char *)sqlite3_column_text(st, 0);
		const char *title = (const char *)sqlite3_column_text(st, 4);
		if (sqlite3_column_int(st, 2) && sqlite3_column_type(st, 3) != SQLITE_NULL) {
			int64_t deadline = sqlite3_column_int64(st, 3);
			utc(deadline, due, sizeof due);
			int64_t spare = (deadline - received) / 60000;
			if (received > deadline)
				late++;
			fputs("URGENT ", out);
			put_inert(out, id);
			fprintf(out, " received %s%s, deadline %s: %s %lld min  ", rec,
			        sqlite3_column_int(st, 6) ? " by SMS" : "", due,
			        received <= deadline ? "on time," : "LATE by",
			        (long long)(received <= deadline ? spare : -spare));
		} else {
			fputs("lead   ", out);
			put_inert(out, id);
			fprintf(out, " received %s  ", rec);
		}
		put_inert(out, title);
		fputc('\n', out);
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	return late;
}

int county_receipt(county_server *s, const char *record_id, char *buf, size_t size)
{
	pthread_mutex_lock(&s->lock);
	sqlite3_stmt *st;
	int rc = -1;
	if (sqlite3_prepare_v2(s->db, "SELECT receipt_id FROM records WHERE id = ?1", -1, &st, NULL) ==
	    SQLITE_OK) {
		sqlite3_bind_text(st, 1, record_id, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW) {
			snprintf(buf, size, "%s", (const char *)sqlite3_column_text(st, 0));
			rc = 0;
		}
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

void county_fault_drop_after_store(county_server *s, int n)
{
	pthread_mutex_lock(&s->lock);
	s->drop_after_store = n;
	pthread_mutex_unlock(&s->lock);
}

void county_fault_slow(county_server *s, int n, int ms)
{
	pthread_mutex_lock(&s->lock);
	s->slow_n = n;
	s->slow_ms = ms;
	pthread_mutex_unlock(&s->lock);
}

int county_fault_slow_left(county_server *s)
{
	return s->slow_n; /* atomic: readable while a slowed request holds the lock */
}

void county_connection_stats(county_server *s, int64_t *open, int64_t *cut)
{
	pthread_mutex_lock(&s->track_lock);
	if (open)
		*open = s->open_conns;
	if (cut)
		*cut = s->cut_conns;
	pthread_mutex_unlock(&s->track_lock);
}

void county_fault_busy(county_server *s, int n, int retry_after_s)
{
	pthread_mutex_lock(&s->lock);
	s->busy = n;
	s->busy_retry_s = retry_after_s;
	pthread_mutex_unlock(&s->lock);
}

int county_load(county_server *s, const char *county, const char *feed_name, const char *json,
                char *err, size_t errsize)
{
	bool known = false;
	for (size_t i = 0; i < sizeof feeds / sizeof feeds[0]; i++)
		known |= strcmp(feed_name, feeds[i]) == 0;
	if (!known) {
		snprintf(err, errsize, "no feed called %s (checklists, settings, sites, tasks, "
		         "lab_results)", feed_name);
		return -1;
	}
	bool checklists = strcmp(feed_name, "checklists") == 0;
	cJSON *arr = cJSON_Parse(json);
	if (!cJSON_IsArray(arr)) {
		cJSON_Delete(arr);
		snprintf(err, errsize, "the file is not a JSON array");
		return -1;
	}
	pthread_mutex_lock(&s->lock);
	if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errsize, "the database is busy: %s", sqlite3_errmsg(s->db));
		pthread_mutex_unlock(&s->lock);
		cJSON_Delete(arr);
		return -1;
	}
	int n = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, arr)
	{
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "id");
		const cJSON *op = cJSON_GetObjectItemCaseSensitive(it, "op");
		const cJSON *ver = cJSON_GetObjectItemCaseSensitive(it, "version");
		bool del = cJSON_IsString(op) && strcmp(op->valuestring, "delete") == 0;
		if (!cJSON_IsObject(it) || !cJSON_IsString(id) || id->valuestring[0] == '\0' ||
		    strlen(id->valuestring) > 64 || (checklists && !del && !cJSON_IsNumber(ver))) {
			snprintf(err, errsize, "item %d needs an id%s", n + 1,
			         checklists ? " and a version" : "");
			n = -1;
			break;
		}
		char *data = del ? NULL : cJSON_PrintUnformatted(it);
		sqlite3_stmt *st;
		sqlite3_prepare_v2(s->db, "INSERT INTO feed (county, feed, item_id, op, version, data,"
		                          " changed_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
		                          " ON CONFLICT (county, feed, item_id) DO UPDATE SET"
		                          " seq = (SELECT max(seq) + 1 FROM feed), op = excluded.op,"
		                          " version = excluded.version, data = excluded.data,"
		                          " changed_ms = excluded.changed_ms", -1, &st, NULL);
		sqlite3_bind_text(st, 1, county, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, feed_name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, id->valuestring, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, del ? "delete" : "upsert", -1, SQLITE_STATIC);
		if (cJSON_IsNumber(ver))
			sqlite3_bind_int64(st, 5, (int64_t)ver->valuedouble);
		if (data)
			sqlite3_bind_text(st, 6, data, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 7, now_ms());
		int step = sqlite3_step(st);
		sqlite3_finalize(st);
		cJSON_free(data);
		if (step != SQLITE_DONE) {
			snprintf(err, errsize, "cannot store item %d: %s", n + 1, sqlite3_errmsg(s->db));
			n = -1;
			break;
		}
		n++;
	}
	if (n >= 0 && sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errsize, "cannot commit: %s", sqlite3_errmsg(s->db));
		n = -1;
	}
	if (n < 0)
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	pthread_mutex_unlock(&s->lock);
	cJSON_Delete(arr);
	return n;
}

int64_t county_photo_count(county_server *s)
{
	return scalar(s, "SELECT count(*) FROM photos", NULL);
}

int64_t county_photo_received_at(county_server *s, const char *sha256)
{
	return scalar(s, "SELECT received_ms FROM photos WHERE sha256 = ?1", sha256);
}

int64_t county_photo_bad(county_server *s)
{
	pthread_mutex_lock(&s->lock);
	sqlite3_stmt *st;
	int64_t bad = -1;
	if (sqlite3_prepare_v2(s->db, "SELECT county, sha256 FROM photos", -1, &st, NULL) == SQLITE_OK) {
		bad = 0;
		while (sqlite3_step(st) == SQLITE_ROW) {
			char dir[600], path[700], got[65] = "";
			const char *sha = (const char *)sqlite3_column_text(st, 1);
			if (county_dir(s, (const char *)sqlite3_column_text(st, 0), dir, sizeof dir) != 0)
				continue;
			snprintf(path, sizeof path, "%s/%s.jpg", dir, sha);
			if (file_sha256(path, got) != 0 || strcmp(got, sha) != 0)
				bad++;
		}
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&s->lock);
	return bad;
}

int county_chain_breaks(county_server *s, FILE *out)
{
	pthread_mutex_lock(&s->lock);
	sqlite3_stmt *st;
	int n = -1;
	if (sqlite3_prepare_v2(s->db, "SELECT county, device_id, seq, what FROM chain_breaks"
	                              " ORDER BY county, device_id, seq", -1, &st, NULL) == SQLITE_OK) {
		n = 0;
		while (sqlite3_step(st) == SQLITE_ROW) {
			n++;
			if (out == NULL)
				continue;
			put_inert(out, (const char *)sqlite3_column_text(st, 0));
			fputs(" device ", out);
			put_inert(out, (const char *)sqlite3_column_text(st, 1));
			fprintf(out, " entry %lld: ", (long long)sqlite3_column_int64(st, 2));
			put_inert(out, (const char *)sqlite3_column_text(st, 3));
			fputc('\n', out);
		}
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&s->lock);
	return n;
}

sqlite3 *county__db(county_server *s)
{
	return s->db;
}

bool county__lock(county_server *s)
{
	return db_lock(s);
}

void county__unlock(county_server *s)
{
	pthread_mutex_unlock(&s->lock);
}
