/*
 * core/model/chain.c — the device's hash chain: appending a record's
 * canonical form (each entry names its position and the previous entry's
 * hash, so altering, inserting or dropping a submitted record breaks the
 * chain), the check of one entry that the device's own verification and
 * the server's share, and fic_chain_verify, what the county server runs on
 * a device's uploads (see evidence.h).
 */
#include "model.h"

#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- appending ---- */

int fic__chain_append(fic_store *store, const char *record_type, const char *record_id,
                      cJSON *record, char hash_out[FIC_SHA256_HEX], int64_t *seq_out)
{
	sqlite3_stmt *st;
	int rc = fic__cached(store, &st, "SELECT seq, hash FROM chain ORDER BY seq DESC LIMIT 1");
	if (rc != FIC_OK)
		return rc;
	int64_t seq = 1;
	char prev[FIC_SHA256_HEX] = FIC_ZERO_HASH;
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
	if ((rc = fic__sha256_hex(canon, strlen(canon), hash_out)) != FIC_OK) {
		fic__free(canon);
		return rc;
	}
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

int fic__chain_submit(fic_store *store, const char *record_type, const char *record_id,
                      cJSON *record, char hash_out[FIC_SHA256_HEX], int64_t *seq_out,
                      char **payload)
{
	*payload = NULL;
	int64_t seq = 0;
	int rc = fic__chain_append(store, record_type, record_id, record, hash_out, &seq);
	if (rc != FIC_OK)
		return rc;
	char *canon = fic__canonical(record);
	cJSON *p = cJSON_CreateObject();
	if (canon && p && cJSON_AddNumberToObject(p, "seq", (double)seq) &&
	    cJSON_AddStringToObject(p, "hash", hash_out) &&
	    cJSON_AddStringToObject(p, "canonical", canon))
		*payload = cJSON_PrintUnformatted(p);
	cJSON_Delete(p);
	fic__free(canon);
	if (*payload == NULL)
		return fic__err(FIC_ENOMEM, "out of memory chaining a record");
	if (seq_out)
		*seq_out = seq;
	return FIC_OK;
}

/* ---- verification ---- */

void fic__problem(fic__problems *r, const char *kind, const char *id, const char *fmt, ...)
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
		fic__json_put(r->list, NULL, p);
	else
		cJSON_Delete(p);
}

void fic__chain_check_entry(fic__problems *r, const char *id, int64_t seq, int64_t expect,
                            const char *hash, const char *canonical, const char *prev)
{
	if (seq != expect)
		fic__problem(r, "chain_gap", id, "entry %lld where %lld was due: %lld entr%s missing",
		             (long long)seq, (long long)expect, (long long)(seq - expect),
		             seq - expect == 1 ? "y is" : "ies are");
	char again[FIC_SHA256_HEX];
	if (fic__sha256_hex(canonical, strlen(canonical), again) != FIC_OK || strcmp(again, hash) != 0)
		fic__problem(r, "chain_hash", id, "entry %lld does not hash to its recorded hash",
		             (long long)seq);
	cJSON *c = cJSON_Parse(canonical);
	const cJSON *ph = cJSON_GetObjectItemCaseSensitive(c, "prev_hash");
	const cJSON *cs = cJSON_GetObjectItemCaseSensitive(c, "chain_seq");
	if (!cJSON_IsString(ph) || strcmp(ph->valuestring, prev) != 0)
		fic__problem(r, "chain_link", id, "entry %lld does not name the previous entry's hash",
		             (long long)seq);
	if (!cJSON_IsNumber(cs) || cs->valuedouble != (double)seq)
		fic__problem(r, "chain_seq", id, "entry %lld claims another position", (long long)seq);
	cJSON_Delete(c);
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
	char prev[FIC_SHA256_HEX];
	snprintf(prev, sizeof prev, "%s", expected_prev_hash ? expected_prev_hash : FIC_ZERO_HASH);
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
	fic__problems r = { cJSON_CreateArray(), 0, "" };
	if (r.list == NULL) {
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
		fic__chain_check_entry(&r, where, (int64_t)seq->valuedouble, expect, hash->valuestring,
		                       canon->valuestring, prev);
		cJSON *c = cJSON_Parse(canon->valuestring);
		const cJSON *dev = cJSON_GetObjectItemCaseSensitive(c, "device_id");
		if (!cJSON_IsString(dev) || (device[0] && strcmp(device, dev->valuestring) != 0))
			fic__problem(&r, "device", where, "another device's entry");
		else if (!device[0])
			snprintf(device, sizeof device, "%s", dev->valuestring);
		char *recanon = c ? fic__canonical(c) : NULL;
		if (recanon == NULL || strcmp(recanon, canon->valuestring) != 0)
			fic__problem(&r, "not_canonical", where, "the text is not in canonical form");
		fic__free(recanon);
		cJSON_Delete(c);
		snprintf(prev, sizeof prev, "%s", hash->valuestring);
		expect = (int64_t)seq->valuedouble + 1;
	}
	cJSON_Delete(arr);
	if (malformed) {
		cJSON_Delete(r.list);
		return fic__err(FIC_EINVAL, "entry %lld is malformed: each needs a whole seq, a hash and "
		                            "the canonical text", (long long)expect);
	}
	cJSON *o = cJSON_CreateObject();
	bool ok = o && cJSON_AddNumberToObject(o, "last_seq", (double)(expect - 1)) &&
	          cJSON_AddStringToObject(o, "last_hash", prev);
	return fic__problems_report(report_out, &r, o, ok, "chain");
}

int fic__problems_report(char **report_out, fic__problems *r, cJSON *o, bool built,
                         const char *what)
{
	int rc = FIC_OK;
	if (report_out) {
		built = built && cJSON_AddBoolToObject(o, "ok", r->count == 0) &&
		        fic__json_take(o, "problems", &r->list);
		rc = fic__json_out(report_out, o, built, FIC_OK);
	} else {
		cJSON_Delete(o);
	}
	cJSON_Delete(r->list);
	r->list = NULL;
	if (rc == FIC_OK && r->count)
		rc = fic__err(FIC_ECORRUPT, "%d %s problem%s; first: %s", r->count, what,
		              r->count == 1 ? "" : "s", r->first);
	return rc;
}
