/*
 * core/evidence.c — the canonical form, the device's hash chain, and the
 * verification of everything the store holds as evidence (see evidence.h).
 */
#include "internal.h"

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ZERO_HASH "0000000000000000000000000000000000000000000000000000000000000000"

int fic__lead_record(fic_store *store, const char *lead_id, cJSON **out);
int fic__inspection_record(fic_store *store, const char *inspection_id, cJSON **out);

/* ---- canonical form ---- */

static int cmp_child(const void *a, const void *b)
{
	const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
	return strcmp(x->string, y->string);
}

static cJSON *sorted_copy(const cJSON *v, int depth)
{
	if (depth > 64)
		return NULL;
	if (cJSON_IsArray(v)) {
		cJSON *a = cJSON_CreateArray();
		const cJSON *c;
		cJSON_ArrayForEach(c, v) {
			if (a && !fic__json_put(a, NULL, sorted_copy(c, depth + 1))) {
				cJSON_Delete(a);
				return NULL;
			}
		}
		return a;
	}
	if (!cJSON_IsObject(v))
		return cJSON_Duplicate(v, false);
	int n = cJSON_GetArraySize(v);
	const cJSON **kids = fic__malloc((size_t)(n ? n : 1) * sizeof *kids);
	cJSON *o = cJSON_CreateObject();
	if (kids == NULL || o == NULL) {
		fic__free(kids);
		cJSON_Delete(o);
		return NULL;
	}
	int i = 0;
	const cJSON *c;
	cJSON_ArrayForEach(c, v) {
		kids[i++] = c;
	}
	qsort(kids, (size_t)n, sizeof *kids, cmp_child);
	for (i = 1; i < n; i++)
		if (strcmp(kids[i - 1]->string, kids[i]->string) == 0) { /* a duplicate key: not canonical */
			fic__free(kids);
			cJSON_Delete(o);
			return NULL;
		}
	for (i = 0; i < n; i++) {
		if (!fic__json_put(o, kids[i]->string, sorted_copy(kids[i], depth + 1))) {
			cJSON_Delete(o);
			o = NULL;
			break;
		}
	}
	fic__free(kids);
	return o;
}

char *fic__canonical(const cJSON *v)
{
	cJSON *s = sorted_copy(v, 0);
	char *text = s ? cJSON_PrintUnformatted(s) : NULL;
	cJSON_Delete(s);
	return text;
}

static void sha256_text(const void *data, size_t len, char out[65])
{
	unsigned char d[32];
	unsigned int n = 0;
	EVP_Digest(data, len, d, &n, EVP_sha256(), NULL);
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* ---- appending ---- */

int fic__chain_append(fic_store *store, const char *record_type, const char *record_id,
                      cJSON *record, char hash_out[65], int64_t *seq_out)
{
	sqlite3_stmt *st;
	int rc = fic__cached(store, &st, "SELECT seq, hash FROM chain ORDER BY seq DESC LIMIT 1");
	if (rc != FIC_OK)
		return rc;
	int64_t seq = 1;
	char prev[65] = ZERO_HASH;
	int s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		seq = sqlite3_column_int64(st, 0) + 1;
		snprintf(prev, sizeof prev, "%s", (const char *)sqlite3_column_text(st, 1));
	}
	rc = s == SQLITE_ROW || s == SQLITE_DONE ? FIC_OK : fic__db_err(store, s, "reading the chain");
	fic__release(store, st);
	if (rc != FIC_OK)
		return rc;
	cJSON_DeleteItemFromObjectCaseSensitive(record, "chain_seq");
	cJSON_DeleteItemFromObjectCaseSensitive(record, "prev_hash");
	cJSON_DeleteItemFromObjectCaseSensitive(record, "device_id");
	if (!cJSON_AddNumberToObject(record, "chain_seq", (double)seq) ||
	    !cJSON_AddStringToObject(record, "prev_hash", prev) ||
	    !cJSON_AddStringToObject(record, "device_id", store->device_id))
		return fic__err(FIC_ENOMEM, "out of memory chaining a record");
	char *canon = fic__canonical(record);
	if (canon == NULL)
		return fic__err(FIC_ENOMEM, "out of memory chaining a record");
	sha256_text(canon, strlen(canon), hash_out);
	if ((rc = fic__cached(store, &st, "INSERT INTO chain (seq, record_type, record_id, prev_hash, "
	                                  "hash, canonical, at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")) ==
	    FIC_OK) {
		sqlite3_bind_int64(st, 1, seq);
		sqlite3_bind_text(st, 2, record_type, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, record_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, prev, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, hash_out, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, canon, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 7, fic__now_ms(store));
		s = sqlite3_step(st);
		rc = s == SQLITE_DONE ? FIC_OK : fic__db_err(store, s, "appending to the chain");
		fic__release(store, st);
	}
	fic__free(canon);
	if (seq_out)
		*seq_out = seq;
	return rc;
}

/* ---- verification ---- */

typedef struct report {
	cJSON *problems;
	int count;
	char first[300];
} report;

static void problem(report *r, const char *kind, const char *id, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void problem(report *r, const char *kind, const char *id, const char *fmt, ...)
{
	char detail[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	if (r->count++ == 0)
		snprintf(r->first, sizeof r->first, "%s %s: %s", kind, id ? id : "", detail);
	cJSON *p = cJSON_CreateObject();
	if (p && cJSON_AddStringToObject(p, "kind", kind) && (!id || cJSON_AddStringToObject(p, "id", id)) &&
	    cJSON_AddStringToObject(p, "detail", detail))
		fic__json_put(r->problems, NULL, p);
	else
		cJSON_Delete(p);
}

/* Hash a whole file in chunks; "" if it cannot be read. */
static void sha256_file(const char *path, char out[65])
{
	out[0] = '\0';
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char *buf = fic__malloc(65536);
	bool ok = md && buf && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1;
	ssize_t n;
	while (ok && (n = read(fd, buf, 65536)) > 0)
		ok = EVP_DigestUpdate(md, buf, (size_t)n) == 1;
	unsigned char d[32];
	unsigned int dl = 0;
	if (ok && EVP_DigestFinal_ex(md, d, &dl) == 1)
		for (int i = 0; i < 32; i++)
			snprintf(out + 2 * i, 3, "%02x", d[i]);
	EVP_MD_CTX_free(md);
	fic__free(buf);
	close(fd);
}

/* Compare a record rebuilt from its rows with the canonical text in the chain. */
static void check_record(fic_store *store, report *r, const char *type, const char *id,
                         const char *canonical)
{
	cJSON *rec = NULL;
	int rc = strcmp(type, "lead") == 0 ? fic__lead_record(store, id, &rec)
					   : fic__inspection_record(store, id, &rec);
	if (rc == FIC_ENOTFOUND) {
		fic__err_clear();
		problem(r, "record_missing", id, "the chain holds a %s the store no longer has", type);
		return;
	}
	cJSON *chained = cJSON_Parse(canonical);
	if (rc != FIC_OK || chained == NULL) {
		problem(r, "record_unreadable", id, "cannot rebuild the %s (%s)", type,
		        fic_error_last()->message);
		cJSON_Delete(rec);
		cJSON_Delete(chained);
		fic__err_clear();
		return;
	}
	static const char *const chain_keys[] = { "chain_seq", "prev_hash", "device_id" };
	for (int i = 0; i < 3; i++) {
		cJSON *v = cJSON_GetObjectItemCaseSensitive(chained, chain_keys[i]);
		if (v)
			fic__json_put(rec, chain_keys[i], cJSON_Duplicate(v, true));
	}
	char *again = fic__canonical(rec);
	if (again == NULL || strcmp(again, canonical) != 0)
		problem(r, "record_altered", id, "the %s differs from what was submitted", type);
	fic__free(again);
	cJSON_Delete(rec);
	cJSON_Delete(chained);
}

int fic_evidence_verify(char **report_out, fic_store *store)
{
	fic__err_clear();
	if (report_out)
		*report_out = NULL;
	if (store == NULL)
		return fic__err(FIC_EINVAL, "store is NULL");
	report r = { cJSON_CreateArray(), 0, "" };
	if (r.problems == NULL)
		return fic__err(FIC_ENOMEM, "out of memory");
	int64_t entries = 0, records = 0, photos = 0;
	int rc = sqlite3_exec(store->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK /* a read snapshot: writers go on */
			 ? FIC_OK : fic__db_err(store, sqlite3_errcode(store->db), "starting to verify");
	if (rc != FIC_OK) {
		cJSON_Delete(r.problems);
		return rc;
	}
	/* 1. the chain itself, and each record against its entry */
	sqlite3_stmt *st;
	rc = fic__prepare(store, &st, "SELECT seq, record_type, record_id, prev_hash, hash, canonical "
	                              "FROM chain ORDER BY seq");
	char prev[65] = ZERO_HASH;
	int64_t expect = 1;
	int s;
	while (rc == FIC_OK && (s = sqlite3_step(st)) == SQLITE_ROW) {
		entries++;
		int64_t seq = sqlite3_column_int64(st, 0);
		const char *type = (const char *)sqlite3_column_text(st, 1);
		const char *id = (const char *)sqlite3_column_text(st, 2);
		const char *hash = (const char *)sqlite3_column_text(st, 4);
		const char *canon = (const char *)sqlite3_column_text(st, 5);
		char again[65];
		sha256_text(canon, strlen(canon), again);
		if (seq != expect)
			problem(&r, "chain_gap", id, "entry %lld follows %lld: %lld entr%s missing",
			        (long long)seq, (long long)expect - 1, (long long)(seq - expect),
			        seq - expect == 1 ? "y is" : "ies are");
		if (strcmp(again, hash) != 0)
			problem(&r, "chain_hash", id, "entry %lld does not hash to its recorded hash",
			        (long long)seq);
		cJSON *c = cJSON_Parse(canon);
		const cJSON *ph = cJSON_GetObjectItemCaseSensitive(c, "prev_hash");
		const cJSON *cs = cJSON_GetObjectItemCaseSensitive(c, "chain_seq");
		if (!cJSON_IsString(ph) || strcmp(ph->valuestring, prev) != 0)
			problem(&r, "chain_link", id, "entry %lld does not name the previous entry's hash",
			        (long long)seq);
		if (!cJSON_IsNumber(cs) || (int64_t)cs->valuedouble != seq)
			problem(&r, "chain_seq", id, "entry %lld claims another position", (long long)seq);
		cJSON_Delete(c);
		check_record(store, &r, type, id, canon);
		records++;
		snprintf(prev, sizeof prev, "%s", hash);
		expect = seq + 1;
	}
	if (rc == FIC_OK && s != SQLITE_DONE)
		rc = fic__db_err(store, s, "reading the chain");
	sqlite3_finalize(st);
	/* 2. submitted records whose chain entry is gone */
	if (rc == FIC_OK &&
	    (rc = fic__prepare(store, &st,
	                       "SELECT 'lead', id, chain_seq FROM leads WHERE chain_seq IS NOT NULL AND "
	                       "NOT EXISTS (SELECT 1 FROM chain c WHERE c.seq = leads.chain_seq AND "
	                       "c.record_id = leads.id) UNION ALL SELECT 'inspection', id, chain_seq "
	                       "FROM inspections WHERE chain_seq IS NOT NULL AND NOT EXISTS (SELECT 1 "
	                       "FROM chain c WHERE c.seq = inspections.chain_seq AND c.record_id = "
	                       "inspections.id)")) == FIC_OK) {
		while ((s = sqlite3_step(st)) == SQLITE_ROW)
			problem(&r, "chain_entry_missing", (const char *)sqlite3_column_text(st, 1),
			        "submitted %s (chain position %lld) has no chain entry",
			        (const char *)sqlite3_column_text(st, 0),
			        (long long)sqlite3_column_int64(st, 2));
		sqlite3_finalize(st);
	}
	/* 3. every photo file against its hash */
	char dir[4200];
	snprintf(dir, sizeof dir, "%s.photos", store->path);
	if (rc == FIC_OK && (rc = fic__prepare(store, &st, "SELECT id, sha256, upload_sha256, "
	                                                   "thumb_sha256 FROM photos ORDER BY id")) == FIC_OK) {
		while ((s = sqlite3_step(st)) == SQLITE_ROW) {
			photos++;
			const char *id = (const char *)sqlite3_column_text(st, 0);
			static const char *const what[] = { "", "original", "upload rendition", "thumbnail" };
			for (int k = 1; k <= 3; k++) {
				const char *sha = (const char *)sqlite3_column_text(st, k);
				if (sha == NULL)
					continue;
				char path[4300], got[65];
				snprintf(path, sizeof path, "%s/%s.jpg", dir, sha);
				sha256_file(path, got);
				if (!got[0])
					problem(&r, "photo_missing", id, "the %s file is missing", what[k]);
				else if (strcmp(got, sha) != 0)
					problem(&r, "photo_altered", id, "the %s no longer matches its SHA-256", what[k]);
			}
		}
		sqlite3_finalize(st);
	}
	fic__tx_rollback(store);
	if (rc != FIC_OK) {
		cJSON_Delete(r.problems);
		return rc;
	}
	if (report_out) {
		cJSON *o = cJSON_CreateObject(), *checked = cJSON_CreateObject();
		bool ok = o && checked && cJSON_AddNumberToObject(checked, "chain_entries", (double)entries) &&
			  cJSON_AddNumberToObject(checked, "records", (double)records) &&
			  cJSON_AddNumberToObject(checked, "photos", (double)photos) &&
			  fic__json_take(o, "checked", &checked) &&
			  cJSON_AddBoolToObject(o, "ok", r.count == 0) &&
			  fic__json_take(o, "problems", &r.problems);
		cJSON_Delete(checked);
		*report_out = ok ? cJSON_Print(o) : NULL;
		cJSON_Delete(o);
		if (*report_out == NULL) {
			cJSON_Delete(r.problems);
			return fic__err(FIC_ENOMEM, "out of memory writing the report");
		}
	}
	cJSON_Delete(r.problems);
	if (r.count)
		return fic__err(FIC_ECORRUPT, "%d evidence problem%s; first: %s", r.count,
		                r.count == 1 ? "" : "s", r.first);
	return FIC_OK;
}

int fic_chain_verify(char **report_out, const char *submissions_json, const char *expected_prev_hash,
                     int64_t expected_first_seq)
{
	fic__err_clear();
	if (report_out)
		*report_out = NULL;
	int rc = fic__check_text(submissions_json, "submissions", 64 * 1024 * 1024, true, NULL);
	if (rc != FIC_OK)
		return rc;
	if (expected_first_seq < 1)
		return fic__err(FIC_EINVAL, "sequence numbers start at 1");
	char prev[65];
	snprintf(prev, sizeof prev, "%s", expected_prev_hash ? expected_prev_hash : ZERO_HASH);
	if (strlen(prev) != 64 || strspn(prev, "0123456789abcdef") != 64)
		return fic__err(FIC_EINVAL, "expected_prev_hash must be 64 lowercase hex digits");
	unsigned long failed_before = fic__alloc_failures();
	cJSON *arr = cJSON_Parse(submissions_json);
	if (!cJSON_IsArray(arr)) {
		cJSON_Delete(arr);
		return fic__alloc_failures() != failed_before
			       ? fic__err(FIC_ENOMEM, "out of memory")
			       : fic__err(FIC_EINVAL, "submissions must be a JSON array");
	}
	report r = { cJSON_CreateArray(), 0, "" };
	if (r.problems == NULL) {
		cJSON_Delete(arr);
		return fic__err(FIC_ENOMEM, "out of memory");
	}
	int64_t expect = expected_first_seq;
	char device[80] = "";
	bool malformed = false;
	const cJSON *e;
	cJSON_ArrayForEach(e, arr) {
		const cJSON *seq = cJSON_GetObjectItemCaseSensitive(e, "seq");
		const cJSON *hash = cJSON_GetObjectItemCaseSensitive(e, "hash");
		const cJSON *canon = cJSON_GetObjectItemCaseSensitive(e, "canonical");
		char where[32];
		snprintf(where, sizeof where, "%lld", (long long)expect);
		if (!cJSON_IsNumber(seq) || !cJSON_IsString(hash) || !cJSON_IsString(canon) ||
		    !(seq->valuedouble >= 1 && seq->valuedouble <= 9007199254740992.0) ||
		    seq->valuedouble != (double)(int64_t)seq->valuedouble) {
			malformed = true;
			break;
		}
		if ((int64_t)seq->valuedouble != expect)
			problem(&r, "chain_gap", where, "got entry %lld where %lld was due",
			        (long long)seq->valuedouble, (long long)expect);
		char again[65];
		sha256_text(canon->valuestring, strlen(canon->valuestring), again);
		if (strcmp(again, hash->valuestring) != 0)
			problem(&r, "chain_hash", where, "the canonical form does not hash to the hash sent");
		cJSON *c = cJSON_Parse(canon->valuestring);
		const cJSON *ph = cJSON_GetObjectItemCaseSensitive(c, "prev_hash");
		const cJSON *cs = cJSON_GetObjectItemCaseSensitive(c, "chain_seq");
		const cJSON *dev = cJSON_GetObjectItemCaseSensitive(c, "device_id");
		if (!cJSON_IsString(ph) || strcmp(ph->valuestring, prev) != 0)
			problem(&r, "chain_link", where, "does not continue from the previous hash");
		if (!cJSON_IsNumber(cs) || cs->valuedouble != seq->valuedouble)
			problem(&r, "chain_seq", where, "the canonical form names another position");
		if (!cJSON_IsString(dev) || (device[0] && strcmp(device, dev->valuestring) != 0))
			problem(&r, "device", where, "another device's entry");
		else if (!device[0])
			snprintf(device, sizeof device, "%s", dev->valuestring);
		char *recanon = c ? fic__canonical(c) : NULL;
		if (recanon == NULL || strcmp(recanon, canon->valuestring) != 0)
			problem(&r, "not_canonical", where, "the text is not in canonical form");
		fic__free(recanon);
		cJSON_Delete(c);
		snprintf(prev, sizeof prev, "%s", hash->valuestring);
		expect = (int64_t)seq->valuedouble + 1;
	}
	cJSON_Delete(arr);
	if (malformed) {
		cJSON_Delete(r.problems);
		return fic__err(FIC_EINVAL, "entry %lld is malformed: each needs a whole seq, a hash and "
		                            "the canonical text", (long long)expect);
	}
	if (report_out) {
		cJSON *o = cJSON_CreateObject();
		bool ok = o && cJSON_AddBoolToObject(o, "ok", r.count == 0) &&
			  cJSON_AddNumberToObject(o, "last_seq", (double)(expect - 1)) &&
			  cJSON_AddStringToObject(o, "last_hash", prev) &&
			  fic__json_take(o, "problems", &r.problems);
		*report_out = ok ? cJSON_Print(o) : NULL;
		cJSON_Delete(o);
		if (*report_out == NULL) {
			cJSON_Delete(r.problems);
			return fic__err(FIC_ENOMEM, "out of memory writing the report");
		}
	}
	cJSON_Delete(r.problems);
	if (r.count)
		return fic__err(FIC_ECORRUPT, "%d chain problem%s; first: %s", r.count,
		                r.count == 1 ? "" : "s", r.first);
	return FIC_OK;
}
