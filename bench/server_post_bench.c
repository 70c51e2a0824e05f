/*
 * bench/server_post_bench.c — does the county server stay fast when a
 * county holds a year of records and a large registry?
 *
 * Part 1, one record's POST. Two reference servers run in this process on
 * loopback, one whose county already holds --small records (default 1 000)
 * and one with --large (default 100 000). Each database is filled directly,
 * in one transaction, with what a county gathers: records of many devices
 * (500 each, arriving interleaved), 70 % audit-log entries, 10 % site
 * changes, 5 % photo metadata and 15 % chained leads and inspections whose
 * canonical forms, hashes and links are real, each device's chain verified
 * up to its last entry. Then one device sends its next chained lead, one
 * record per POST over a kept-alive connection, as the phone does: the
 * server checks its hash, stores it, runs the chain audit from the device's
 * verified point and commits (synchronous=FULL) before answering. POSTs to
 * the two servers are interleaved (A B, B A, A B …; --pairs, default 31,
 * after 3 untimed each) because this machine's fsync latency changes faster
 * than a block of requests; the figures are the median, min–max and p99 of
 * each, the ratio of the medians and the median of the per-pair ratios.
 * Afterwards the device's chain must have verified to its last entry on
 * both servers with no break, or the program fails.
 *
 * Part 2, the sites feed. The servers get --sites-small (10 000) and
 * --sites-large (100 000) sites of about 380 bytes of JSON each; a device
 * reads the whole feed in pages of 200, as the client does, once without
 * and once with Accept-Encoding: gzip. Printed: the server's CPU time for
 * the whole pull (the process's CPU less this thread's, so the client's
 * parsing is not counted) and per page, and the bytes on the wire.
 *
 *   server_post_bench [--small N] [--large N] [--pairs N]
 *                     [--sites-small N] [--sites-large N] [--quick]
 *
 * --quick (what ctest runs) shrinks everything so the program is checked to
 * work, not measured.
 */
#include "county.h"
#include "internal.h"
#include "sync_internal.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <ftw.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define COUNTY "石柱县"
#define PER_DEVICE 500 /* records per device in the filled county */
#define WARMUP 3

static const char zero_hash[] =
	"0000000000000000000000000000000000000000000000000000000000000000";

static void fail(const char *what)
{
	fprintf(stderr, "server_post_bench: %s\n", what);
	exit(1);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sha_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[32];
	SHA256(data, len, md);
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* A UUID-shaped id, made from a counter (unique, deterministic). */
static void uuid_of(unsigned kind, uint64_t n, char out[37])
{
	snprintf(out, 37, "0190%04x-%04x-7%03x-8%03x-%012llx", kind & 0xffff,
	         (unsigned)(n >> 48) & 0xffff, (unsigned)(n >> 36) & 0xfff,
	         (unsigned)(n >> 24) & 0xfff, (unsigned long long)(n & 0xffffffffffffULL));
}

typedef struct device {
	char id[37];
	int64_t seq; /* last chain entry */
	char hash[65];
	int64_t outbox; /* the phone's outbox/audit counter */
} device;

static const char *const towns[] = { "南宾", "西沱", "黄水", "悦崃", "临溪", "下路", "桥头", "马武" };
static const char *const titles[] = {
	"学校食堂疑似食源性疾病聚集", "农村集中式供水站消毒设施未运行", "诊所超范围执业",
	"二次供水水箱未按期清洗", "幼儿园晨检记录缺失", "采血点未取得许可"
};

/*
 * A chained record's canonical form (sorted keys, as evidence.h defines it)
 * and hash: about 1 KB, like a filed lead or a finished inspection.
 */
static char *canonical_entry(const device *d, int64_t seq, const char *prev, bool lead,
                             int64_t t, char hash[65])
{
	cJSON *c = cJSON_CreateObject();
	cJSON_AddNumberToObject(c, "chain_seq", (double)seq);
	cJSON_AddStringToObject(c, "prev_hash", prev);
	cJSON_AddStringToObject(c, "device_id", d->id);
	cJSON_AddStringToObject(c, "kind", lead ? "lead" : "inspection");
	cJSON_AddStringToObject(c, "title", titles[seq % 6]);
	cJSON_AddStringToObject(c, "category", lead ? "event.foodborne" : "school.water");
	cJSON_AddStringToObject(c, "area", "school");
	cJSON_AddBoolToObject(c, "urgent", lead && seq % 4 == 0);
	cJSON_AddNumberToObject(c, "discovered_at_ms", (double)t);
	cJSON_AddNumberToObject(c, "deadline_at_ms", (double)(t + 7200000));
	cJSON *tm = cJSON_AddObjectToObject(c, "time");
	cJSON_AddNumberToObject(tm, "device_ms", (double)t);
	cJSON_AddNumberToObject(tm, "mono_ms", (double)(t % 86400000));
	cJSON_AddStringToObject(tm, "boot_id", "6f1c2e0a-93b4-4c1e-9f52-0d7e1b6a2c44");
	cJSON_AddNumberToObject(tm, "trusted_ms", (double)t);
	cJSON_AddNumberToObject(tm, "uncertainty_ms", 350);
	cJSON_AddNumberToObject(tm, "flags", 0);
	cJSON *ans = cJSON_AddObjectToObject(c, "answers");
	cJSON_AddStringToObject(ans, "school", "石柱县南宾镇中心小学");
	cJSON_AddNumberToObject(ans, "cases_today", (double)(3 + seq % 5));
	cJSON_AddStringToObject(ans, "symptoms", "腹泻、呕吐、发热，多数学生午餐后两小时内起病");
	cJSON_AddStringToObject(ans, "shared_meal", "yes");
	cJSON_AddStringToObject(ans, "reported_by", "校医");
	cJSON_AddStringToObject(ans, "note", "食堂留样不全，已要求学校保存剩余食品及呕吐物");
	cJSON *ph = cJSON_AddArrayToObject(c, "photos");
	for (int i = 0; i < 2; i++) {
		char b[80], h[65];
		snprintf(b, sizeof b, "%s/%lld/%d", d->id, (long long)seq, i);
		sha_hex(b, strlen(b), h);
		cJSON_AddItemToArray(ph, cJSON_CreateString(h));
	}
	char *text = fic__canonical(c);
	cJSON_Delete(c);
	if (text == NULL)
		fail("out of memory");
	sha_hex(text, strlen(text), hash);
	return text;
}

/* A chained record as the phone sends it: {type, id, op, seq, hash, canonical}. */
static char *chained_record(device *d, bool lead, int64_t t)
{
	char hash[65], id[37];
	int64_t seq = d->seq + 1;
	char *canon = canonical_entry(d, seq, d->hash, lead, t, hash);
	uuid_of(lead ? 1 : 2, (uint64_t)t * 1000 + (uint64_t)seq, id);
	cJSON *r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "type", lead ? "lead" : "inspection");
	cJSON_AddStringToObject(r, "id", id);
	cJSON_AddStringToObject(r, "op", lead ? "submit" : "finish");
	cJSON_AddNumberToObject(r, "seq", (double)seq);
	cJSON_AddStringToObject(r, "hash", hash);
	cJSON_AddStringToObject(r, "canonical", canon);
	fic__free(canon);
	char *text = cJSON_PrintUnformatted(r);
	cJSON_Delete(r);
	d->seq = seq;
	memcpy(d->hash, hash, sizeof d->hash);
	return text;
}

/* An unchained record: an audit entry, a site change or a photo's metadata. */
static char *plain_record(device *d, int kind, int64_t t, int64_t nth, char id[100],
                          const char **type)
{
	cJSON *r = cJSON_CreateObject(), *p = cJSON_CreateObject();
	int64_t n = ++d->outbox;
	if (kind == 0) {
		*type = "audit";
		snprintf(id, 100, "%s:%lld", d->id, (long long)n);
		cJSON_AddNumberToObject(p, "seq", (double)n);
		cJSON_AddNumberToObject(p, "at_ms", (double)t);
		cJSON_AddNumberToObject(p, "mono_ms", (double)(t % 86400000));
		cJSON_AddStringToObject(p, "boot_id", "6f1c2e0a-93b4-4c1e-9f52-0d7e1b6a2c44");
		cJSON_AddStringToObject(p, "actor", "inspector-0042");
		cJSON_AddStringToObject(p, "action", n % 3 ? "inspection.answer" : "site.update");
		cJSON_AddStringToObject(p, "entity", "inspection");
		cJSON_AddStringToObject(p, "entity_id", d->id);
		cJSON_AddStringToObject(p, "detail", "{\"item\":\"disinfection_running\",\"value\":\"no\"}");
	} else if (kind == 1) {
		*type = "site";
		char sid[40];
		snprintf(sid, sizeof sid, "cq-sz-%06lld", (long long)(nth * 7919 % 100000));
		/* (the record counter stands in for the phone's outbox seq: two devices'
		 * changes of one site must not share an id here) */
		snprintf(id, 100, "%s:%lld", sid, (long long)nth);
		cJSON_AddStringToObject(p, "id", sid);
		cJSON_AddStringToObject(p, "kind", "water_rural");
		cJSON_AddStringToObject(p, "name", "石柱县黄水镇石桥村集中供水站");
		cJSON_AddStringToObject(p, "address", "黄水镇石桥村 4 组");
		cJSON_AddStringToObject(p, "credit_code", "91350100M000100Y43");
		cJSON_AddStringToObject(p, "licence_no", "渝卫水证字〔2023〕第 021 号");
		cJSON_AddNumberToObject(p, "lat", 29.5631);
		cJSON_AddNumberToObject(p, "lon", 106.5516);
		cJSON_AddStringToObject(p, "status", "changed");
		cJSON_AddStringToObject(p, "reason", "现场核实：负责人变更");
		cJSON_AddNumberToObject(p, "revision", 2);
	} else {
		*type = "photo";
		char h[65];
		uuid_of(3, (uint64_t)t * 1000 + (uint64_t)n, id);
		sha_hex(id, strlen(id), h);
		cJSON_AddStringToObject(p, "id", id);
		cJSON_AddStringToObject(p, "sha256", h);
		cJSON_AddStringToObject(p, "rendition_sha256", h);
		cJSON_AddNumberToObject(p, "bytes", 312345);
		cJSON_AddNumberToObject(p, "width", 1600);
		cJSON_AddNumberToObject(p, "height", 1200);
		cJSON_AddNumberToObject(p, "taken_at_ms", (double)t);
		cJSON_AddStringToObject(p, "owner", "lead");
	}
	cJSON_AddStringToObject(r, "type", *type);
	cJSON_AddStringToObject(r, "id", id);
	cJSON_AddStringToObject(r, "op", kind == 0 ? "append" : kind == 1 ? "update" : "add");
	cJSON_AddItemToObject(r, "payload", p);
	char *text = cJSON_PrintUnformatted(r);
	cJSON_Delete(r);
	return text;
}

/* One server under test. */
typedef struct srv {
	const char *label;
	int64_t records;
	char dir[200], db[220], url[64];
	char token[65];
	county_server *s;
	device bench; /* the device whose POSTs are timed */
	CURL *easy;
	double *ms;
	int n;
} srv;

/*
 * Fill the server's database directly, in one transaction: `n` records of
 * n / 500 devices (at least 2), the first being the bench device.
 */
static void fill(srv *v)
{
	char err[300];
	if (county_open(&v->s, v->db, err, sizeof err) != 0) /* the server's own schema */
		fail(err);
	county_close(v->s);
	v->s = NULL;
	sqlite3 *db;
	if (sqlite3_open(v->db, &db) != SQLITE_OK ||
	    sqlite3_exec(db, "PRAGMA synchronous = NORMAL; BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		fail(sqlite3_errmsg(db));
	int ndev = (int)(v->records / PER_DEVICE) > 2 ? (int)(v->records / PER_DEVICE) : 2;
	device *devs = calloc((size_t)ndev, sizeof *devs);
	sqlite3_stmt *ins;
	if (devs == NULL ||
	    sqlite3_prepare_v2(db, "INSERT INTO records (county, id, device_id, type, op, seq, hash,"
	                           " body, receipt_id, received_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6,"
	                           " ?7, ?8, ?9, ?10)", -1, &ins, NULL) != SQLITE_OK)
		fail("cannot prepare the fill");
	for (int i = 0; i < ndev; i++) {
		uuid_of(0, (uint64_t)i + 1, devs[i].id);
		memcpy(devs[i].hash, zero_hash, sizeof devs[i].hash);
	}
	int64_t t0 = wall_ms() - 365LL * 86400000;
	for (int64_t r = 0; r < v->records; r++) {
		device *d = &devs[r % ndev];
		int64_t t = t0 + r * (365LL * 86400000 / (v->records + 1));
		int k = (int)((d->outbox + d->seq) % 20);
		char id[100], receipt[25];
		const char *type;
		char *body;
		bool chained = k < 3;
		if (chained) {
			body = chained_record(d, k < 2, t);
			type = k < 2 ? "lead" : "inspection";
			cJSON *j = cJSON_Parse(body);
			snprintf(id, sizeof id, "%s", cJSON_GetObjectItem(j, "id")->valuestring);
			cJSON_Delete(j);
		} else {
			body = plain_record(d, k < 5 ? 1 : k < 6 ? 2 : 0, t, r, id, &type);
		}
		unsigned char raw[12];
		RAND_bytes(raw, sizeof raw);
		for (int i = 0; i < 12; i++)
			snprintf(receipt + 2 * i, 3, "%02x", raw[i]);
		sqlite3_reset(ins);
		sqlite3_clear_bindings(ins);
		sqlite3_bind_text(ins, 1, COUNTY, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 2, id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(ins, 3, d->id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(ins, 4, type, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 5, chained ? "submit" : "append", -1, SQLITE_STATIC);
		if (chained) {
			sqlite3_bind_int64(ins, 6, d->seq);
			sqlite3_bind_text(ins, 7, d->hash, -1, SQLITE_TRANSIENT);
		}
		sqlite3_bind_text(ins, 8, body, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(ins, 9, receipt, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(ins, 10, t);
		if (sqlite3_step(ins) != SQLITE_DONE)
			fail(sqlite3_errmsg(db));
		cJSON_free(body);
	}
	sqlite3_finalize(ins);
	/* Every device enrolled a year ago and in use since (its token last used
	 * now: an unused token expires), its chain verified to its last entry. */
	sqlite3_stmt *dv;
	if (sqlite3_prepare_v2(db, "INSERT INTO devices (device_id, county, token_sha256, name,"
	                           " enrolled_ms, chain_seq, chain_hash, last_seen_ms) VALUES (?1, ?2,"
	                           " ?3, ?4, ?5, ?6, ?7, ?8)", -1, &dv, NULL) != SQLITE_OK)
		fail(sqlite3_errmsg(db));
	unsigned char raw[16];
	RAND_bytes(raw, sizeof raw);
	for (int i = 0; i < 16; i++)
		snprintf(v->token + 2 * i, 3, "%02x", raw[i]);
	for (int i = 0; i < ndev; i++) {
		char tok[80], th[65];
		snprintf(tok, sizeof tok, i == 0 ? "%s" : "%s-%d", v->token, i);
		sha_hex(tok, strlen(tok), th);
		sqlite3_reset(dv);
		sqlite3_bind_text(dv, 1, devs[i].id, -1, SQLITE_STATIC);
		sqlite3_bind_text(dv, 2, COUNTY, -1, SQLITE_STATIC);
		sqlite3_bind_text(dv, 3, th, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(dv, 4, "协管员手机", -1, SQLITE_STATIC);
		sqlite3_bind_int64(dv, 5, t0);
		sqlite3_bind_int64(dv, 6, devs[i].seq);
		sqlite3_bind_text(dv, 7, devs[i].hash, -1, SQLITE_STATIC);
		sqlite3_bind_int64(dv, 8, wall_ms());
		if (sqlite3_step(dv) != SQLITE_DONE)
			fail(sqlite3_errmsg(db));
	}
	sqlite3_finalize(dv);
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		fail(sqlite3_errmsg(db));
	sqlite3_close(db);
	v->bench = devs[0];
	free(devs);
}

static void start(srv *v)
{
	char err[300];
	if (county_open(&v->s, v->db, err, sizeof err) != 0 ||
	    county_listen(v->s, "127.0.0.1:0", err, sizeof err) != 0)
		fail(err);
	snprintf(v->url, sizeof v->url, "http://127.0.0.1:%d", county_port(v->s));
	if ((v->easy = curl_easy_init()) == NULL)
		fail("curl");
}

typedef struct body {
	char *buf;
	size_t len;
	bool gzip;
} body;

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	body *b = arg;
	char *nb = realloc(b->buf, b->len + size * n + 1);
	if (nb == NULL)
		return 0;
	memcpy(nb + b->len, p, size * n);
	b->buf = nb;
	b->len += size * n;
	b->buf[b->len] = '\0';
	return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	body *b = arg;
	size_t len = size * n;
	if (len > 17 && strncasecmp(p, "Content-Encoding:", 17) == 0 && memmem(p, len, "gzip", 4))
		b->gzip = true;
	return len;
}

/* One request on the server's kept-alive connection; the status. */
static long request(srv *v, const char *path, const char *post, bool gzip, body *out)
{
	char url[600], auth[120];
	snprintf(url, sizeof url, "%s%s", v->url, path);
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", v->token);
	struct curl_slist *h = curl_slist_append(NULL, auth);
	h = curl_slist_append(h, "Expect:");
	if (post)
		h = curl_slist_append(h, "Content-Type: application/json");
	if (gzip)
		h = curl_slist_append(h, "Accept-Encoding: gzip");
	memset(out, 0, sizeof *out);
	curl_easy_reset(v->easy);
	curl_easy_setopt(v->easy, CURLOPT_URL, url);
	curl_easy_setopt(v->easy, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(v->easy, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(v->easy, CURLOPT_HTTP_CONTENT_DECODING, 0L); /* count the wire's bytes */
	curl_easy_setopt(v->easy, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(v->easy, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(v->easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(v->easy, CURLOPT_HEADERDATA, out);
	curl_easy_setopt(v->easy, CURLOPT_TIMEOUT, 600L);
	if (post) {
		curl_easy_setopt(v->easy, CURLOPT_POSTFIELDS, post);
		curl_easy_setopt(v->easy, CURLOPT_POSTFIELDSIZE, (long)strlen(post));
	}
	long status = 0;
	CURLcode cc = curl_easy_perform(v->easy);
	curl_slist_free_all(h);
	if (cc != CURLE_OK)
		fail(curl_easy_strerror(cc));
	curl_easy_getinfo(v->easy, CURLINFO_RESPONSE_CODE, &status);
	return status;
}

/* POST the bench device's next chained lead; its wall time in ms. */
static double post_one(srv *v)
{
	char *rec = chained_record(&v->bench, true, wall_ms());
	size_t n = strlen(rec) + 16;
	char *batch = malloc(n);
	snprintf(batch, n, "{\"records\":[%s]}", rec);
	cJSON_free(rec);
	body b;
	double t = now_s();
	long status = request(v, "/v1/records", batch, false, &b);
	t = (now_s() - t) * 1000;
	if (status != 200 || b.buf == NULL || strstr(b.buf, "\"status\":\"stored\"") == NULL) {
		fprintf(stderr, "server_post_bench: %s: HTTP %ld: %s\n", v->label, status,
		        b.buf ? b.buf : "");
		exit(1);
	}
	free(b.buf);
	free(batch);
	return t;
}

/* The device's chain on the server must have verified to its last entry. */
static void check_chain(srv *v)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t at = -1;
	if (sqlite3_open_v2(v->db, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "SELECT chain_seq FROM devices WHERE device_id = ?1", -1, &st,
	                       NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, v->bench.id, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			at = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	if (at != v->bench.seq || county_chain_breaks(v->s, NULL) != 0) {
		fprintf(stderr, "server_post_bench: %s: the chain audit verified to %lld, not %lld\n",
		        v->label, (long long)at, (long long)v->bench.seq);
		exit(1);
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void summary(srv *v)
{
	double *s = malloc((size_t)v->n * sizeof *s);
	memcpy(s, v->ms, (size_t)v->n * sizeof *s);
	double med = median(s, v->n);
	int p99 = (int)((v->n * 99 + 99) / 100) - 1; /* nearest rank */
	printf("  %-28s median %8.2f ms   min–max %.2f–%.2f ms   p99 %.2f ms\n", v->label, med,
	       s[0], s[v->n - 1], s[p99 < 0 ? 0 : p99]);
	free(s);
}

/* ---- part 2: the sites feed ---- */

static const char *const kinds[] = { "school", "water_rural", "medical", "other_venue" };

static void load_sites(srv *v, int64_t n)
{
	const int64_t per_load = 5000;
	for (int64_t first = 0; first < n; first += per_load) {
		fic__sb sb = { 0 };
		fic__sb_printf(&sb, "[");
		for (int64_t i = first; i < n && i < first + per_load; i++) {
			const char *town = towns[i % 8], *kind = kinds[i % 4];
			fic__sb_printf(&sb,
			               "%s{\"id\":\"cq-sz-%06lld\",\"kind\":\"%s\",\"name\":\"石柱县%s镇第%lld号%s\","
			               "\"address\":\"%s镇%s村 %lld 组\",\"credit_code\":\"9150024%04lldMA%05lldX\","
			               "\"legal_rep\":\"谭%s\",\"manager\":\"冉%s\",\"licence_no\":\"渝卫证字〔2024〕第 %05lld 号\","
			               "\"licence_valid_from\":\"2024-03-01\",\"licence_valid_to\":\"2028-02-29\","
			               "\"lat\":%.5f,\"lon\":%.5f",
			               i > first ? "," : "", (long long)i, kind, town, (long long)i,
			               i % 4 == 0 ? "小学" : i % 4 == 1 ? "供水站" : i % 4 == 2 ? "卫生室" : "集贸市场",
			               town, i % 3 ? "石桥" : "新建", (long long)(i % 12 + 1),
			               (long long)(i % 10000), (long long)(i % 100000), town, towns[(i + 3) % 8],
			               (long long)(i % 100000), 29.9 + (double)(i % 1000) / 5000.0,
			               108.1 + (double)(i % 997) / 5000.0);
			if (i % 4 == 0)
				fic__sb_printf(&sb, ",\"school_level\":\"primary\",\"boarding\":%s,\"enrolment\":%lld",
				               i % 8 ? "false" : "true", (long long)(200 + i % 900));
			else if (i % 4 == 2)
				fic__sb_printf(&sb, ",\"med_registration\":\"licensed\",\"institution_type\":\"other\","
				               "\"beds\":%lld", (long long)(i % 40));
			else if (i % 4 == 3)
				fic__sb_printf(&sb, ",\"venue_type\":\"market\"");
			fic__sb_printf(&sb, "}");
		}
		fic__sb_printf(&sb, "]");
		char *json = fic__sb_take(&sb), err[300];
		if (json == NULL || county_load(v->s, COUNTY, "sites", json, err, sizeof err) < 0)
			fail(json ? err : "out of memory");
		fic__free(json);
	}
}

static double cpu_s(int who)
{
	struct rusage ru;
	getrusage(who, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

typedef struct pull {
	int64_t items, pages, wire_bytes, json_bytes;
	double server_cpu_s;
	bool compressed; /* the server answered with Content-Encoding: gzip */
} pull;

/* Read the whole sites feed in pages of 200, as the device does. */
static pull pull_all(srv *v, bool gzip)
{
	pull p = { 0 };
	char cursor[64] = "";
	bool more = true;
	double self0 = cpu_s(RUSAGE_SELF), me0 = cpu_s(RUSAGE_THREAD);
	while (more) {
		char path[200];
		snprintf(path, sizeof path, "/v1/feeds/sites?limit=200%s%s", cursor[0] ? "&cursor=" : "",
		         cursor);
		body b;
		long status = request(v, path, NULL, gzip, &b);
		if (status != 200)
			fail("the feed did not answer 200");
		p.pages++;
		p.wire_bytes += (int64_t)b.len;
		unsigned char *plain = NULL;
		size_t plen = b.len;
		if (b.gzip) {
			p.compressed = true;
			if (fic__gunzip(b.buf, b.len, 64u << 20, &plain, &plen) != FIC_OK)
				fail("a gzip'd page does not inflate");
		}
		p.json_bytes += (int64_t)plen;
		cJSON *j = cJSON_ParseWithLength(plain ? (char *)plain : b.buf, plen);
		const cJSON *cur = cJSON_GetObjectItem(j, "cursor");
		if (!cJSON_IsString(cur) || strlen(cur->valuestring) >= sizeof cursor)
			fail("a feed page without a cursor");
		snprintf(cursor, sizeof cursor, "%s", cur->valuestring);
		more = cJSON_IsTrue(cJSON_GetObjectItem(j, "more"));
		p.items += cJSON_GetArraySize(cJSON_GetObjectItem(j, "items"));
		cJSON_Delete(j);
		fic__free(plain);
		free(b.buf);
	}
	p.server_cpu_s = (cpu_s(RUSAGE_SELF) - self0) - (cpu_s(RUSAGE_THREAD) - me0);
	return p;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int main(int argc, char **argv)
{
	int64_t small = 1000, large = 100000, sites_small = 10000, sites_large = 100000;
	int pairs = 31;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--quick") == 0) {
			small = 200;
			large = 2000;
			pairs = 3;
			sites_small = 300;
			sites_large = 1500;
		} else if (strcmp(a, "--small") == 0 && val) {
			small = atoll(argv[++i]);
		} else if (strcmp(a, "--large") == 0 && val) {
			large = atoll(argv[++i]);
		} else if (strcmp(a, "--pairs") == 0 && val) {
			pairs = atoi(argv[++i]);
		} else if (strcmp(a, "--sites-small") == 0 && val) {
			sites_small = atoll(argv[++i]);
		} else if (strcmp(a, "--sites-large") == 0 && val) {
			sites_large = atoll(argv[++i]);
		} else {
			fprintf(stderr, "usage: server_post_bench [--small N] [--large N] [--pairs N] "
			                "[--sites-small N] [--sites-large N] [--quick]\n");
			return 2;
		}
	}
	if (small < 1 || large < 1 || pairs < 1 || sites_small < 1 || sites_large < 1)
		fail("sizes must be positive");
	curl_global_init(CURL_GLOBAL_DEFAULT);
	char labels[2][64];
	srv v[2] = { { .records = small }, { .records = large } };
	for (int i = 0; i < 2; i++) {
		snprintf(labels[i], sizeof labels[i], "%lld records in the county",
		         (long long)v[i].records);
		v[i].label = labels[i];
		const char *tmp = getenv("TMPDIR");
		char dir[sizeof v[i].dir];
		snprintf(dir, sizeof dir, "%s/fic-server-bench-XXXXXX", tmp ? tmp : "/tmp");
		if (mkdtemp(dir) == NULL)
			fail("mkdtemp");
		snprintf(v[i].dir, sizeof v[i].dir, "%s", dir);
		snprintf(v[i].db, sizeof v[i].db, "%s/county.db", dir);
		v[i].ms = calloc((size_t)pairs, sizeof *v[i].ms);
		double t = now_s();
		fill(&v[i]);
		printf("filled %s (%lld devices) in %.1f s\n", v[i].label,
		       (long long)(v[i].records / PER_DEVICE > 2 ? v[i].records / PER_DEVICE : 2),
		       now_s() - t);
		start(&v[i]);
	}

	printf("\none chained record per POST (hash, store, chain audit, durable commit), "
	       "%d interleaved pairs after %d untimed each:\n", pairs, WARMUP);
	for (int w = 0; w < WARMUP; w++)
		for (int i = 0; i < 2; i++)
			post_one(&v[i]);
	double *ratio = calloc((size_t)pairs, sizeof *ratio);
	for (int p = 0; p < pairs; p++) {
		int first = p % 2; /* A B, then B A: neither always goes first */
		for (int k = 0; k < 2; k++) {
			srv *x = &v[(first + k) % 2];
			x->ms[x->n++] = post_one(x);
		}
		ratio[p] = v[1].ms[p] / v[0].ms[p];
	}
	for (int i = 0; i < 2; i++) {
		check_chain(&v[i]);
		summary(&v[i]);
	}
	double *m0 = malloc((size_t)pairs * sizeof *m0), *m1 = malloc((size_t)pairs * sizeof *m1);
	memcpy(m0, v[0].ms, (size_t)pairs * sizeof *m0);
	memcpy(m1, v[1].ms, (size_t)pairs * sizeof *m1);
	double r_med = median(m1, pairs) / median(m0, pairs), r_pair = median(ratio, pairs);
	printf("  ratio of medians (%lld / %lld): %.2fx   median of per-pair ratios: %.2fx   "
	       "(target ≤ 2x)\n", (long long)large, (long long)small, r_med, r_pair);
	printf("  the device's chain verified to entry %lld and %lld, no break\n",
	       (long long)v[0].bench.seq, (long long)v[1].bench.seq);
	free(m0);
	free(m1);
	free(ratio);

	printf("\nthe sites feed, read whole in pages of 200:\n");
	load_sites(&v[0], sites_small);
	load_sites(&v[1], sites_large);
	for (int i = 0; i < 2; i++) {
		int64_t n = i ? sites_large : sites_small;
		pull plain = pull_all(&v[i], false), gz = pull_all(&v[i], true);
		if (plain.items != n || gz.items != n)
			fail("the feed did not bring every site");
		printf("  %6lld sites, %lld pages: server CPU %.2f s (%.2f ms a page) plain, "
		       "%.2f s (%.2f ms a page) with gzip\n",
		       (long long)n, (long long)plain.pages, plain.server_cpu_s,
		       plain.server_cpu_s * 1000 / (double)plain.pages, gz.server_cpu_s,
		       gz.server_cpu_s * 1000 / (double)gz.pages);
		if (gz.compressed)
			printf("         bytes on the wire: %.2f MB plain, %.2f MB gzip'd (%.1fx)\n",
			       (double)plain.wire_bytes / 1e6, (double)gz.wire_bytes / 1e6,
			       (double)plain.wire_bytes / (double)gz.wire_bytes);
		else
			printf("         bytes on the wire: %.2f MB plain; the server does not "
			       "compress the feed (Accept-Encoding ignored)\n",
			       (double)plain.wire_bytes / 1e6);
	}

	for (int i = 0; i < 2; i++) {
		curl_easy_cleanup(v[i].easy);
		county_close(v[i].s);
		nftw(v[i].dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
		free(v[i].ms);
	}
	curl_global_cleanup();
	return 0;
}
