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
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

struct county_server {
	sqlite3 *db;
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
	" token_sha256 TEXT NOT NULL UNIQUE, name TEXT, enrolled_ms INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS records (county TEXT NOT NULL, id TEXT NOT NULL,"
	" device_id TEXT NOT NULL, type TEXT NOT NULL, op TEXT NOT NULL, seq INTEGER, hash TEXT,"
	" body TEXT NOT NULL, receipt_id TEXT NOT NULL, received_ms INTEGER NOT NULL,"
	" PRIMARY KEY (county, id));";

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

int county_open(county_server **out, const char *db_path, char *err, size_t errsize)
{
	*out = NULL;
	county_server *s = calloc(1, sizeof *s);
	if (s == NULL) {
		snprintf(err, errsize, "out of memory");
		return -1;
	}
	pthread_mutex_init(&s->lock, NULL);
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
	*out = s;
	return 0;
}

/* ---- responses ---- */

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned status, const char *body,
                                 int retry_after_s)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	char t[32];
	snprintf(t, sizeof t, "%lld", (long long)now_ms());
	MHD_add_response_header(r, "X-Fic-Server-Time", t);
	MHD_add_response_header(r, "Content-Type", "application/json");
	if (retry_after_s > 0) {
		char ra[16];
		snprintf(ra, sizeof ra, "%d", retry_after_s);
		MHD_add_response_header(r, "Retry-After", ra);
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
	sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(s->db, "SELECT county, used_by FROM codes WHERE code = ?1", -1, &st,
	                       NULL) != SQLITE_OK)
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
		sqlite3_prepare_v2(s->db, "UPDATE codes SET used_by = ?2 WHERE code = ?1", -1, &u, NULL);
		sqlite3_bind_text(u, 1, code->valuestring, -1, SQLITE_STATIC);
		sqlite3_bind_text(u, 2, dev->valuestring, -1, SQLITE_STATIC);
		sqlite3_prepare_v2(s->db,
		                   "INSERT INTO devices (device_id, county, token_sha256, name, enrolled_ms)"
		                   " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (device_id) DO UPDATE SET"
		                   " county = excluded.county, token_sha256 = excluded.token_sha256",
		                   -1, &d, NULL);
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
	if (sqlite3_prepare_v2(s->db, "SELECT device_id, county FROM devices WHERE token_sha256 = ?1",
	                       -1, &st, NULL) != SQLITE_OK)
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

static const char *const types[] = { "lead", "inspection", "site", "photo", "audit" };

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
	                         strcmp(type->valuestring, "inspection") == 0);
	const cJSON *seq = cJSON_GetObjectItemCaseSensitive(rec, "seq");
	const cJSON *hash = cJSON_GetObjectItemCaseSensitive(rec, "hash");
	const cJSON *canon = cJSON_GetObjectItemCaseSensitive(rec, "canonical");
	if (why == NULL && chained) {
		char h[65];
		if (!cJSON_IsNumber(seq) || !cJSON_IsString(hash) || !cJSON_IsString(canon))
			why = "a chained record needs seq, hash and canonical";
		else if (sha256_hex(canon->valuestring, strlen(canon->valuestring), h),
		         strcmp(h, hash->valuestring) != 0)
			why = "chain_hash: the canonical form does not match its hash";
	}
	if (why) {
		cJSON_AddStringToObject(res, "status", "rejected");
		cJSON_AddStringToObject(res, "reason", why);
		cJSON_AddBoolToObject(res, "retry", 0);
		return res;
	}
	/* Stored already? Then the same receipt. */
	sqlite3_stmt *st;
	sqlite3_prepare_v2(s->db, "SELECT receipt_id, received_ms FROM records WHERE county = ?1 AND id = ?2",
	                   -1, &st, NULL);
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
	sqlite3_prepare_v2(s->db,
	                   "INSERT INTO records (county, id, device_id, type, op, seq, hash, body,"
	                   " receipt_id, received_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	                   -1, &st, NULL);
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
	sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	cJSON_ArrayForEach(rec, recs)
		cJSON_AddItemToArray(results, one_record(s, county, device, rec, received, &fail));
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
		if (u->len + *data_size > COUNTY_MAX_BODY) {
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
		return send_error(c, 413, "too_large", "the request body exceeds 1 MiB", 0);
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

int county_listen(county_server *s, const char *addr, char *err, size_t errsize)
{
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
	s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, (uint16_t)port, NULL, NULL, handle, s,
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
