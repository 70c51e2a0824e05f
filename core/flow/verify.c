/*
 * core/flow/verify.c — verifying everything the store holds as evidence:
 * the chain entry by entry, each chained lead, inspection and scan rebuilt from
 * its rows and compared with what was submitted, submitted records whose
 * entry is gone, and every photo file against its SHA-256 (see evidence.h).
 */
#include "flow.h"

#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

/* Compare a record rebuilt from its rows with the canonical text in the chain. */
static void check_record(fic_store *store, fic__problems *r, const char *type, const char *id,
                         const char *canonical)
{
	cJSON *rec = NULL;
	int rc = strcmp(type, "lead") == 0   ? fic__lead_record(store, id, &rec)
	         : strcmp(type, "scan") == 0 ? fic__scan_record(store, id, &rec)
	                                     : fic__inspection_record(store, id, &rec);
	if (rc == FIC_ENOTFOUND) {
		fic__err_clear();
		fic__problem(r, "record_missing", id, "the chain holds a %s the store no longer has", type);
		return;
	}
	cJSON *chained = cJSON_Parse(canonical);
	if (rc != FIC_OK || chained == NULL) {
		fic__problem(r, "record_unreadable", id, "cannot rebuild the %s (%s)", type,
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
		fic__problem(r, "record_altered", id, "the %s differs from what was submitted", type);
	fic__free(again);
	cJSON_Delete(rec);
	cJSON_Delete(chained);
}

int fic_evidence_verify(char **report_out, fic_store *store)
{
	fic__err_clear();
	if (report_out)
		*report_out = NULL;
	FIC__ARG(store);
	fic__problems r = { cJSON_CreateArray(), 0, "" };
	if (r.list == NULL)
		return fic__err(FIC_ENOMEM, "out of memory");
	int64_t entries = 0, records = 0, photos = 0;
	int rc = sqlite3_exec(store->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK /* a read snapshot: writers go on */
			 ? FIC_OK : fic__db_err(store, sqlite3_errcode(store->db), "starting to verify");
	if (rc != FIC_OK) {
		cJSON_Delete(r.list);
		return rc;
	}
	/* 1. the chain itself, and each record against its entry */
	sqlite3_stmt *st;
	rc = fic__prepare(store, &st, "SELECT seq, record_type, record_id, prev_hash, hash, canonical "
	                              "FROM chain ORDER BY seq");
	char prev[FIC_SHA256_HEX] = FIC_ZERO_HASH;
	int64_t expect = 1;
	int s;
	while (rc == FIC_OK && (s = sqlite3_step(st)) == SQLITE_ROW) {
		entries++;
		int64_t seq = sqlite3_column_int64(st, 0);
		const char *type = (const char *)sqlite3_column_text(st, 1);
		const char *id = (const char *)sqlite3_column_text(st, 2);
		const char *hash = (const char *)sqlite3_column_text(st, 4);
		const char *canon = (const char *)sqlite3_column_text(st, 5);
		fic__chain_check_entry(&r, id, seq, expect, hash, canon, prev);
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
	                       "inspections.id) UNION ALL SELECT 'scan', id, chain_seq FROM site_scans "
	                       "WHERE chain_seq IS NOT NULL AND NOT EXISTS (SELECT 1 FROM chain c WHERE "
	                       "c.seq = site_scans.chain_seq AND c.record_id = site_scans.id)")) == FIC_OK) {
		while ((s = sqlite3_step(st)) == SQLITE_ROW)
			fic__problem(&r, "chain_entry_missing", (const char *)sqlite3_column_text(st, 1),
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
				char path[4300], got[FIC_SHA256_HEX];
				snprintf(path, sizeof path, "%s/%s.jpg", dir, sha);
				if (fic__sha256_file(path, got) != FIC_OK)
					fic__err_clear(); /* got is "": reported below */
				if (!got[0])
					fic__problem(&r, "photo_missing", id, "the %s file is missing", what[k]);
				else if (strcmp(got, sha) != 0)
					fic__problem(&r, "photo_altered", id, "the %s no longer matches its SHA-256", what[k]);
			}
		}
		sqlite3_finalize(st);
	}
	fic__tx_rollback(store);
	if (rc != FIC_OK) {
		cJSON_Delete(r.list);
		return rc;
	}
	cJSON *o = cJSON_CreateObject(), *checked = cJSON_CreateObject();
	bool ok = o && checked && cJSON_AddNumberToObject(checked, "chain_entries", (double)entries) &&
	          cJSON_AddNumberToObject(checked, "records", (double)records) &&
	          cJSON_AddNumberToObject(checked, "photos", (double)photos) &&
	          fic__json_take(o, "checked", &checked);
	cJSON_Delete(checked);
	return fic__problems_report(report_out, &r, o, ok, "evidence");
}

