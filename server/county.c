/*
 * server/county.c — the reference county server on libmicrohttpd and SQLite
 * (WAL, synchronous=FULL): nothing is answered 200 before it is durable.
 * Every device is enrolled into one county with a one-time code; its token
 * is kept only as a SHA-256. Records are keyed by (county, id): the same
 * record sent twice is stored once and answered with the same receipt.
 */
#include "county.h"

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
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include <time.h>

struct county_server {
	sqlite3 *db;
	char *photo_root; /* <db>.photos/: one folder per county, files named by SHA-256 */
	char *tls_cert, *tls_key; /* PEM, when serving HTTPS */
	struct MHD_Daemon *d;
	int port;
	pthread_mutex_t lock; /* the db, between the HTTP thread and admin calls */
	int drop_after_store, busy, busy_retry_s;
};

static const char schema[] =
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
	" PRIMARY KEY (device_id, seq, what));"
	/* What the requests search by (see request_sql below). IF NOT EXISTS:
	 * a database made by an older server gets them when it next starts. A
	 * device's chained entries in order, for the chain audit (only chained
	 * records have a seq); a county's feed in order, for its pages. */
	"CREATE INDEX IF NOT EXISTS records_chain ON records (county, device_id, seq)"
	" WHERE seq IS NOT NULL;"
	"CREATE INDEX IF NOT EXISTS feed_page ON feed (county, feed, seq);";

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
	SQL_DEVICE_ENROL,
	SQL_AUTH,
	SQL_RECORD_GET,
	SQL_RECORD_PUT,
	SQL_CHAIN_AT,
	SQL_CHAIN_RUN,
	SQL_CHAIN_BREAK,
	SQL_CHAIN_MOVE,
	SQL_PHOTO_PUT,
	SQL_PARTIAL_GET,
	SQL_PARTIAL_PUT,
	SQL_PARTIAL_DROP,
	SQL_FEED_PAGE,
	SQL_COUNT
};

static const char *const request_sql[SQL_COUNT] = {
	[SQL_CODE_GET] = "SELECT county, used_by FROM codes WHERE code = ?1",
	[SQL_CODE_USE] = "UPDATE codes SET used_by = ?2 WHERE code = ?1",
	[SQL_DEVICE_ENROL] = "INSERT INTO devices (device_id, county, token_sha256, name, enrolled_ms)"
	                     " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (device_id) DO UPDATE SET"
	                     " county = excluded.county, token_sha256 = excluded.token_sha256",
	[SQL_AUTH] = "SELECT device_id, county FROM devices WHERE token_sha256 = ?1",
	[SQL_RECORD_GET] = "SELECT receipt_id, received_ms FROM records WHERE county = ?1 AND id = ?2",
	[SQL_RECORD_PUT] = "INSERT INTO records (county, id, device_id, type, op, seq, hash, body,"
	                   " receipt_id, received_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	[SQL_CHAIN_AT] = "SELECT chain_seq, chain_hash FROM devices WHERE device_id = ?1",
	[SQL_CHAIN_RUN] = "SELECT seq, hash, json_extract(body, '$.canonical') FROM records"
	                  " WHERE county = ?1 AND device_id = ?2 AND seq > ?3 ORDER BY seq",
	[SQL_CHAIN_BREAK] = "INSERT OR IGNORE INTO chain_breaks (county, device_id, seq, what,"
	                    " found_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
	[SQL_CHAIN_MOVE] = "UPDATE devices SET chain_seq = ?2, chain_hash = ?3 WHERE device_id = ?1",
	[SQL_PHOTO_PUT] = "INSERT OR IGNORE INTO photos (county, sha256, bytes, device_id,"
	                  " received_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
	[SQL_PARTIAL_GET] = "SELECT length FROM partials WHERE county = ?1 AND sha256 = ?2",
	[SQL_PARTIAL_PUT] = "INSERT OR REPLACE INTO partials (county, sha256, length, started_ms)"
	                    " VALUES (?1, ?2, ?3, ?4)",
	[SQL_PARTIAL_DROP] = "DELETE FROM partials WHERE county = ?1 AND sha256 = ?2",
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
static void sweep_partials(county_server *s)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, "SELECT county, sha256 FROM partials WHERE started_ms < ?1", -1,
	                       &st, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_int64(st, 1, now_ms() - COUNTY_PARTIAL_MAX_AGE_MS);
	while (sqlite3_step(st) == SQLITE_ROW) {
		char dir[600], part[700];
		const char *sha = (const char *)sqlite3_column_text(st, 1);
		if (county_dir(s, (const char *)sqlite3_column_text(st, 0), dir, sizeof dir) != 0 ||
		    strlen(sha) != 64 || strspn(sha, "0123456789abcdef") != 64)
			continue;
		snprintf(part, sizeof part, "%s/%s.part", dir, sha);
		unlink(part);
	}
	sqlite3_finalize(st);
	sqlite3_stmt *del;
	if (sqlite3_prepare_v2(s->db, "DELETE FROM partials WHERE started_ms < ?1", -1, &del, NULL) ==
	    SQLITE_OK) {
		sqlite3_bind_int64(del, 1, now_ms() - COUNTY_PARTIAL_MAX_AGE_MS);
		sqlite3_step(del);
		sqlite3_finalize(del);
	}
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
	size_t pl = strlen(db_path) + 8;
	if ((s->photo_root = malloc(pl)) == NULL) {
		snprintf(err, errsize, "out of memory");
		county_close(s);
		return -1;
	}
	snprintf(s->photo_root, pl, "%s.photos", db_path);
	if (mkdir(s->photo_root, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errsize, "cannot create %s: %s", s->photo_root, strerror(errno));
		county_close(s);
		return -1;
	}
	char *msg = NULL;
	if (sqlite3_open_v2(db_path, &s->db,
	                    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
	                    NULL) != SQLITE_OK ||
	    sqlite3_exec(s->db, schema, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errsize, "cannot open %s: %s", db_path,
		         msg ? msg : sqlite3_errmsg(s->db));
		sqlite3_free(msg);
		county_close(s);
		return -1;
	}
	sqlite3_busy_timeout(s->db, 5000);
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

/* ---- enrolment ---- */

static enum MHD_Result enroll(county_server *s, struct MHD_Connection *c, cJSON *body)
{
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(body, "code");
	const cJSON *dev = cJSON_GetObjectItemCaseSensitive(body, "device_id");
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(body, "device_name");
	if (!cJSON_IsString(code) || !cJSON_IsString(dev) || strlen(dev->valuestring) != 36 ||
	    strlen(code->valuestring) > 64)
		return send_error(c, 400, "bad_request", "code and device_id are required", 0);
	unsigned char raw[32];
	char token[65], token_hash[65];
	if (RAND_bytes(raw, sizeof raw) != 1)
		return send_error(c, 503, "internal", "no randomness", 1);
	hex(raw, sizeof raw, token);
	sha256_hex(token, strlen(token), token_hash);
	char county[256] = "";
	int status = 403;
	if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return send_error(c, 503, "unavailable", "the server's database is busy", 5);
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(s->db, request_sql[SQL_CODE_GET], -1, &st, NULL) != SQLITE_OK)
		status = 503;
	sqlite3_bind_text(st, 1, code->valuestring, -1, SQLITE_STATIC);
	if (status == 403 && sqlite3_step(st) == SQLITE_ROW) {
		const char *used = (const char *)sqlite3_column_text(st, 1);
		if (used == NULL || strcmp(used, dev->valuestring) == 0) {
			snprintf(county, sizeof county, "%s", (const char *)sqlite3_column_text(st, 0));
			status = 200;
		}
	}
	sqlite3_finalize(st);
	if (status == 200) {
		sqlite3_stmt *u, *d;
		sqlite3_prepare_v2(s->db, request_sql[SQL_CODE_USE], -1, &u, NULL);
		sqlite3_bind_text(u, 1, code->valuestring, -1, SQLITE_STATIC);
		sqlite3_bind_text(u, 2, dev->valuestring, -1, SQLITE_STATIC);
		sqlite3_prepare_v2(s->db, request_sql[SQL_DEVICE_ENROL], -1, &d, NULL);
		sqlite3_bind_text(d, 1, dev->valuestring, -1, SQLITE_STATIC);
		sqlite3_bind_text(d, 2, county, -1, SQLITE_STATIC);
		sqlite3_bind_text(d, 3, token_hash, -1, SQLITE_STATIC);
		if (cJSON_IsString(name))
			sqlite3_bind_text(d, 4, name->valuestring, -1, SQLITE_STATIC);
		sqlite3_bind_int64(d, 5, now_ms());
		if (sqlite3_step(u) != SQLITE_DONE || sqlite3_step(d) != SQLITE_DONE)
			status = 503;
		sqlite3_finalize(u);
		sqlite3_finalize(d);
	}
	if (status == 200 && sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		status = 503;
	if (status != 200)
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	if (status == 403)
		return send_error(c, 403, "bad_code", "the enrolment code is unknown or already used", 0);
	if (status != 200)
		return send_error(c, 503, "unavailable", "could not store the enrolment", 5);
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "token", token);
	cJSON_AddStringToObject(j, "county", county);
	cJSON_AddStringToObject(j, "device_id", dev->valuestring);
	return send_json(c, 200, j);
}

/* The device a bearer token belongs to: 1, 0 if none, -1 on a database failure. */
static int authenticate(county_server *s, struct MHD_Connection *c, char *device, char *county)
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	if (h == NULL || strncmp(h, "Bearer ", 7) != 0 || strlen(h + 7) > 200)
		return 0;
	char th[65];
	sha256_hex(h + 7, strlen(h + 7), th);
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, request_sql[SQL_AUTH], -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, th, -1, SQLITE_STATIC);
	int step = sqlite3_step(st), ok = step == SQLITE_ROW ? 1 : step == SQLITE_DONE ? 0 : -1;
	if (ok == 1) {
		snprintf(device, 64, "%s", (const char *)sqlite3_column_text(st, 0));
		snprintf(county, 256, "%s", (const char *)sqlite3_column_text(st, 1));
	}
	sqlite3_finalize(st);
	return ok; /* -1: the database failed, which is not the device's fault */
}

/* ---- records ---- */

static const char *const types[] = { "lead", "inspection", "site", "photo", "audit", "task",
	                                "call", "scan", "site_code", "activity", "sample", "notice" };

static cJSON *one_record(county_server *s, const char *county, const char *device,
                         const cJSON *rec, int64_t received, int *fail)
{
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(rec, "type");
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(rec, "id");
	const cJSON *op = cJSON_GetObjectItemCaseSensitive(rec, "op");
	cJSON *res = cJSON_CreateObject();
	cJSON_AddStringToObject(res, "id", cJSON_IsString(id) ? id->valuestring : "");
	bool known = false;
	for (size_t i = 0; cJSON_IsString(type) && i < sizeof types / sizeof types[0]; i++)
		known |= strcmp(type->valuestring, types[i]) == 0;
	const char *why = NULL;
	if (!cJSON_IsString(id) || id->valuestring[0] == '\0' || strlen(id->valuestring) > 64)
		why = "record id missing or too long";
	else if (!known)
		why = "unknown record type";
	else if (!cJSON_IsString(op) || strlen(op->valuestring) > 16)
		why = "op missing";
	bool chained = known && (strcmp(type->valuestring, "lead") == 0 ||
	                         strcmp(type->valuestring, "inspection") == 0 ||
	                         strcmp(type->valuestring, "scan") == 0);
	const cJSON *seq = cJSON_GetObjectItemCaseSensitive(rec, "seq");
	const cJSON *hash = cJSON_GetObjectItemCaseSensitive(rec, "hash");
	const cJSON *canon = cJSON_GetObjectItemCaseSensitive(rec, "canonical");
	if (why == NULL && chained) {
		char h[65];
		cJSON *parsed = NULL;
		if (!cJSON_IsNumber(seq) || !cJSON_IsString(hash) || !cJSON_IsString(canon))
			why = "a chained record needs seq, hash and canonical";
		else if (!(seq->valuedouble >= 1 && seq->valuedouble <= 9007199254740992.0) ||
		         seq->valuedouble != (double)(int64_t)seq->valuedouble)
			why = "seq must be a whole number from 1";
		else if (!fic__utf8_valid(canon->valuestring, strlen(canon->valuestring)) ||
		         !cJSON_IsObject(parsed = cJSON_Parse(canon->valuestring)))
			why = "canonical must be a JSON object in UTF-8";
		else if (sha256_hex(canon->valuestring, strlen(canon->valuestring), h),
		         strcmp(h, hash->valuestring) != 0)
			why = "chain_hash: the canonical form does not match its hash";
		cJSON_Delete(parsed);
	}
	if (why) {
		cJSON_AddStringToObject(res, "status", "rejected");
		cJSON_AddStringToObject(res, "reason", why);
		cJSON_AddBoolToObject(res, "retry", 0);
		return res;
	}
	/* Stored already? Then the same receipt. */
	sqlite3_stmt *st;
	sqlite3_prepare_v2(s->db, request_sql[SQL_RECORD_GET], -1, &st, NULL);
	sqlite3_bind_text(st, 1, county, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id->valuestring, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		cJSON_AddStringToObject(res, "status", "duplicate");
		cJSON_AddStringToObject(res, "receipt_id", (const char *)sqlite3_column_text(st, 0));
		cJSON_AddNumberToObject(res, "received_at_ms", (double)sqlite3_column_int64(st, 1));
		sqlite3_finalize(st);
		return res;
	}
	sqlite3_finalize(st);
	unsigned char raw[12];
	char receipt[32];
	RAND_bytes(raw, sizeof raw);
	hex(raw, sizeof raw, receipt);
	char *body = cJSON_PrintUnformatted(rec);
	sqlite3_prepare_v2(s->db, request_sql[SQL_RECORD_PUT], -1, &st, NULL);
	sqlite3_bind_text(st, 1, county, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id->valuestring, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, device, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, type->valuestring, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, op->valuestring, -1, SQLITE_STATIC);
	if (chained) {
		sqlite3_bind_int64(st, 6, (int64_t)seq->valuedouble);
		sqlite3_bind_text(st, 7, hash->valuestring, -1, SQLITE_STATIC);
	}
	sqlite3_bind_text(st, 8, body ? body : "{}", -1, SQLITE_STATIC);
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
	char device[64], county[256];
	int who = authenticate(s, c, device, county);
	if (who < 0)
		return send_error(c, 503, "unavailable", "the server's database failed", 5);
	if (who == 0)
		return send_error(c, 401, "unauthorized", "unknown or revoked device token", 0);
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

/* Record a complete photo (idempotent): 0, or -1 on a database failure. */
static int photo_row(county_server *s, const char *county, const char *sha, int64_t bytes,
                     const char *device)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, request_sql[SQL_PHOTO_PUT], -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, county, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, sha, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, bytes);
	sqlite3_bind_text(st, 4, device, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, now_ms());
	int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	sqlite3_finalize(st);
	return rc;
}

/* The announced length of a photo on its way, or -1 (none, or a database failure: then
 * *failed is set). */
static int64_t partial_length(county_server *s, const char *county, const char *sha, bool *failed)
{
	sqlite3_stmt *st;
	int64_t v = -1;
	if (sqlite3_prepare_v2(s->db, request_sql[SQL_PARTIAL_GET], -1, &st, NULL) != SQLITE_OK) {
		*failed = true;
		return -1;
	}
	sqlite3_bind_text(st, 1, county, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, sha, -1, SQLITE_STATIC);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	else if (step != SQLITE_DONE)
		*failed = true;
	sqlite3_finalize(st);
	return v;
}

static int partial_put(county_server *s, const char *county, const char *sha, int64_t length)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, request_sql[length > 0 ? SQL_PARTIAL_PUT : SQL_PARTIAL_DROP],
	                       -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, county, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, sha, -1, SQLITE_STATIC);
	if (length > 0) {
		sqlite3_bind_int64(st, 3, length);
		sqlite3_bind_int64(st, 4, now_ms());
	}
	int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	sqlite3_finalize(st);
	return rc;
}

/*
 * A partial file with all its bytes: check its SHA-256. 1: it verified and is
 * now the photo (named, directory synced, recorded); 0: it did not, and is
 * gone; -1: the check could not be made (try again).
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
		partial_put(s, county, sha, 0);
		return 0;
	}
	if (rename(part, done) != 0)
		return -1;
	fsync_path(dir);
	if (photo_row(s, county, sha, total, device) != 0)
		return -1; /* named and verified: the next request records it */
	partial_put(s, county, sha, 0);
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
 * HEAD /v1/photos/{sha256}: 200 with Upload-Offset (bytes held; the whole
 * length once complete), or 404. PATCH: append a chunk at Upload-Offset
 * (409 with the right offset if it is not where the server is); when
 * Upload-Length bytes are in, check the SHA-256: 201, or 422 and the partial
 * file is discarded. Every chunk is fsync'd before the answer.
 */
static enum MHD_Result photo(county_server *s, struct MHD_Connection *c, bool head,
                             const char *sha, const unsigned char *body, size_t len)
{
	char device[64], county[256];
	int who = authenticate(s, c, device, county);
	if (who < 0)
		return send_error(c, 503, "unavailable", "the server's database failed", 5);
	if (who == 0)
		return send_error(c, 401, "unauthorized", "unknown or revoked device token", 0);
	if (strlen(sha) != 64 || strspn(sha, "0123456789abcdef") != 64)
		return send_error(c, 400, "bad_request", "a photo is named by its SHA-256 in lowercase hex", 0);
	if (s->busy > 0) {
		s->busy--;
		return send_error(c, 503, "busy", "the server is busy", s->busy_retry_s);
	}
	char dir[600], part[700], done[700];
	if (county_dir(s, county, dir, sizeof dir) != 0)
		return send_error(c, 503, "unavailable", "cannot store photos", 5);
	snprintf(part, sizeof part, "%s/%s.part", dir, sha);
	snprintf(done, sizeof done, "%s/%s.jpg", dir, sha);
	struct stat sb;
	if (stat(done, &sb) == 0) { /* complete (verified before it got this name) */
		if (photo_row(s, county, sha, (int64_t)sb.st_size, device) != 0)
			return send_error(c, 503, "unavailable", "the server's database failed", 5);
		return send_full(c, head ? 200 : 201, "", 0, (int64_t)sb.st_size);
	}
	int64_t have = stat(part, &sb) == 0 ? (int64_t)sb.st_size : -1;
	bool dbfail = false;
	int64_t known = partial_length(s, county, sha, &dbfail);
	if (dbfail)
		return send_error(c, 503, "unavailable", "the server's database failed", 5);
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
	if (have < 0 && known <= 0 && partial_put(s, county, sha, total) != 0)
		return send_error(c, 503, "unavailable", "the server's database failed", 5);
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
	char device[64], county[256];
	int who = authenticate(s, c, device, county);
	if (who < 0)
		return send_error(c, 503, "unavailable", "the server's database failed", 5);
	if (who == 0)
		return send_error(c, 401, "unauthorized", "unknown or revoked device token", 0);
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

typedef struct upload {
	unsigned char *buf;
	size_t len;
	bool too_big;
} upload;

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	upload *u = *con_cls;
	if (u) {
		free(u->buf);
		free(u);
	}
	*con_cls = NULL;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *data,
                              size_t *data_size, void **con_cls)
{
	(void)version;
	county_server *s = cls;
	upload *u = *con_cls;
	if (u == NULL) {
		if ((u = calloc(1, sizeof *u)) == NULL)
			return MHD_NO;
		*con_cls = u;
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
	if (u->too_big)
		return send_error(c, 413, "too_large",
		                  strncmp(url, "/v1/photos/", 11) == 0
		                          ? "a photo chunk may be at most 256 KiB"
		                          : "the request body exceeds 1 MiB", 0);
	if (strncmp(url, "/v1/photos/", 11) == 0 &&
	    (strcmp(method, "HEAD") == 0 || strcmp(method, "PATCH") == 0)) {
		pthread_mutex_lock(&s->lock);
		enum MHD_Result r = photo(s, c, method[0] == 'H', url + 11, u->buf, u->len);
		pthread_mutex_unlock(&s->lock);
		return r;
	}
	if (strncmp(url, "/v1/feeds/", 10) == 0 && strcmp(method, "GET") == 0) {
		pthread_mutex_lock(&s->lock);
		enum MHD_Result r = feed(s, c, url + 10);
		pthread_mutex_unlock(&s->lock);
		return r;
	}
	bool post = strcmp(method, "POST") == 0;
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
	pthread_mutex_lock(&s->lock);
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
	struct MHD_OptionItem tls[] = {
		{ MHD_OPTION_HTTPS_MEM_CERT, 0, s->tls_cert },
		{ MHD_OPTION_HTTPS_MEM_KEY, 0, s->tls_key },
		{ MHD_OPTION_END, 0, NULL },
	};
	struct MHD_OptionItem none[] = { { MHD_OPTION_END, 0, NULL } };
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | (cert_pem ? MHD_USE_TLS : 0);
	s->d = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, handle, s,
	                        MHD_OPTION_ARRAY, cert_pem ? tls : none,
	                        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
	                        MHD_OPTION_NOTIFY_COMPLETED, completed, s,
	                        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)60,
	                        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)256, MHD_OPTION_END);
	if (s->d == NULL) {
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

void county_close(county_server *s)
{
	if (s == NULL)
		return;
	if (s->d)
		MHD_stop_daemon(s->d);
	sqlite3_close(s->db);
	free(s->photo_root);
	free(s->tls_cert);
	free(s->tls_key);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

int county_issue_code(county_server *s, const char *county, char *code, size_t code_size)
{
	static const char alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"; /* no 0/O, 1/I */
	unsigned char raw[12];
	if (code_size < 16 || RAND_bytes(raw, sizeof raw) != 1)
		return -1;
	for (int i = 0; i < 12; i++)
		code[i + i / 4] = alphabet[raw[i] & 31];
	code[4] = code[9] = '-';
	code[14] = '\0';
	pthread_mutex_lock(&s->lock);
	sqlite3_stmt *st;
	sqlite3_prepare_v2(s->db, "INSERT INTO codes (code, county, issued_ms) VALUES (?1, ?2, ?3)", -1,
	                   &st, NULL);
	sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, county, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now_ms());
	int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	return rc;
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

int county_report_leads(county_server *s, FILE *out)
{
	pthread_mutex_lock(&s->lock);
	sqlite3_stmt *st;
	int late = 0;
	if (sqlite3_prepare_v2(
		    s->db,
		    "SELECT id, received_ms, json_extract(c, '$.urgent'), json_extract(c, '$.deadline_at_ms'),"
		    " coalesce(json_extract(c, '$.title'), ''), device_id FROM"
		    " (SELECT id, received_ms, device_id, json_extract(body, '$.canonical') AS c"
		    "  FROM records WHERE type = 'lead')"
		    " ORDER BY json_extract(c, '$.urgent') DESC, received_ms, id",
		    -1, &st, NULL) != SQLITE_OK) {
		pthread_mutex_unlock(&s->lock);
		return -1;
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		char rec[32], due[32];
		int64_t received = sqlite3_column_int64(st, 1);
		utc(received, rec, sizeof rec);
		const char *title = (const char *)sqlite3_column_text(st, 4);
		if (sqlite3_column_int(st, 2) && sqlite3_column_type(st, 3) != SQLITE_NULL) {
			int64_t deadline = sqlite3_column_int64(st, 3);
			utc(deadline, due, sizeof due);
			int64_t spare = (deadline - received) / 60000;
			if (received > deadline)
				late++;
			fprintf(out, "URGENT %s received %s, deadline %s: %s %lld min  %s\n",
			        (const char *)sqlite3_column_text(st, 0), rec, due,
			        received <= deadline ? "on time," : "LATE by",
			        (long long)(received <= deadline ? spare : -spare), title);
		} else {
			fprintf(out, "lead   %s received %s  %s\n", (const char *)sqlite3_column_text(st, 0),
			        rec, title);
		}
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
			if (out)
				fprintf(out, "%s device %s entry %lld: %s\n",
				        (const char *)sqlite3_column_text(st, 0),
				        (const char *)sqlite3_column_text(st, 1),
				        (long long)sqlite3_column_int64(st, 2),
				        (const char *)sqlite3_column_text(st, 3));
		}
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&s->lock);
	return n;
}
