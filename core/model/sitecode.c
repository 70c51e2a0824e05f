/*
 * core/model/sitecode.c — the codes a site holds (场所码: one per door and
 * per shop, seeds 003/004), kept by the key fic_place_code_parse gives their
 * payload (placecode.c), so a code is found however the scanner spaced it.
 * The site's place_code field is its primary code and follows every write
 * of the site; more codes are added and removed here.
 */
#include "model.h"

#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

int fic__place_code_key(const char *payload, char **key)
{
	*key = NULL;
	fic_place_code *pc = NULL;
	int rc = fic_place_code_parse(&pc, payload, strlen(payload));
	if (rc == FIC_OK && (*key = fic__strdup(pc->key)) == NULL)
		rc = fic__err(FIC_ENOMEM, "out of memory reading a place code");
	fic_place_code_free(pc);
	return rc;
}

/* The site holding `key`, into owner ("" if none). */
static int key_owner(fic_store *store, const char *key, char *owner, size_t size)
{
	int rc = fic__query_text(store, owner, size, "SELECT site_id FROM site_codes WHERE key = ?1",
	                         "looking up a place code", "t", key);
	if (rc == FIC_ENOTFOUND) {
		fic__err_clear();
		owner[0] = '\0';
		rc = FIC_OK;
	}
	return rc;
}

int fic__site_primary_code(fic_store *store, const char *site_id, const char *place_code,
                           const char *old_place_code)
{
	if ((place_code == NULL || !place_code[0]) && (old_place_code == NULL || !old_place_code[0]))
		return FIC_OK; /* no code before or after: nothing to keep */
	int rc = fic__exec(store, "DELETE FROM site_codes WHERE site_id = ?1 AND is_primary = 1",
	                   "keeping the site's place code", "t", site_id);
	if (rc != FIC_OK || place_code == NULL || place_code[0] == '\0')
		return rc;
	char *key = NULL, owner[80];
	if ((rc = fic__place_code_key(place_code, &key)) == FIC_OK &&
	    (rc = key_owner(store, key, owner, sizeof owner)) == FIC_OK) {
		if (owner[0] && strcmp(owner, site_id) != 0)
			rc = fic__err(FIC_EEXISTS, "place code already belongs to site %s", owner);
		else
			rc = fic__exec(store, "INSERT INTO site_codes (key, site_id, payload, is_primary, "
			                      "added_at_ms) VALUES (?1, ?2, ?3, 1, ?4) ON CONFLICT (key) DO "
			                      "UPDATE SET is_primary = 1",
			               "keeping the site's place code", "ttti", key, site_id, place_code,
			               fic__now_ms(store));
	}
	fic__free(key);
	return rc;
}

int fic__place_codes_backfill(fic_store *store)
{
	int64_t done = 0;
	int rc = fic__query_int(store, &done, "SELECT count(*) FROM meta WHERE key = "
	                                      "'place_codes_keyed'", "reading the store's facts", "");
	if (rc != FIC_OK || done)
		return rc;
	if ((rc = fic__tx_begin(store)) != FIC_OK)
		return rc;
	sqlite3_stmt *st;
	if ((rc = fic__prepare(store, &st, "SELECT id, place_code FROM sites WHERE place_code IS NOT "
	                                   "NULL ORDER BY k")) == FIC_OK) {
		int src;
		while (rc == FIC_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
			const char *id = (const char *)sqlite3_column_text(st, 0);
			const char *code = (const char *)sqlite3_column_text(st, 1);
			rc = fic__site_primary_code(store, id, code, NULL);
			if (rc == FIC_EEXISTS || rc == FIC_EINVAL || rc == FIC_ETOOBIG) {
				/* Two codes of schema 2 that read as one place: the first keeps it. */
				fic__log(store, FIC_LOG_WARN, "site %s: its place code is not kept by key (%s)",
				         id, fic_error_last()->message);
				fic__err_clear();
				rc = FIC_OK;
			}
		}
		if (rc == FIC_OK && src != SQLITE_DONE)
			rc = fic__db_err(store, src, "reading the place codes");
		sqlite3_finalize(st);
	}
	if (rc == FIC_OK)
		rc = fic__exec(store, "INSERT INTO meta (key, value) VALUES ('place_codes_keyed', '1')",
		               "recording the place codes' keys", "");
	return fic__tx_end(store, rc);
}

/* A change of a site's codes for the county (record site_code). */
static int code_record(fic_store *store, const char *site_id, const char *key, const char *payload,
                       const char *label, const char *op)
{
	cJSON *o = cJSON_CreateObject();
	bool ok = o && cJSON_AddStringToObject(o, "site_id", site_id) &&
	          cJSON_AddStringToObject(o, "key", key) &&
	          cJSON_AddStringToObject(o, "payload", payload) &&
	          (label == NULL || cJSON_AddStringToObject(o, "label", label));
	char *text = ok ? cJSON_PrintUnformatted(o) : NULL;
	int rc = text ? FIC_OK : fic__err(FIC_ENOMEM, "out of memory recording a place code");
	char rid[FIC_UUID_BUFSIZE];
	if (rc == FIC_OK && (rc = fic__uuid7(store, rid)) == FIC_OK)
		rc = fic__outbox_enqueue(store, "site_code", rid, op, FIC_PRIORITY_ORDINARY, text);
	if (rc == FIC_OK) {
		cJSON *d = cJSON_CreateObject();
		bool dok = d && cJSON_AddStringToObject(d, "key", key) &&
		           (label == NULL || cJSON_AddStringToObject(d, "label", label));
		rc = fic__audit_take(store, strcmp(op, "add") == 0 ? "site.code_add" : "site.code_remove",
		                     "site", site_id, d, dok);
	}
	cJSON_free(text);
	cJSON_Delete(o);
	return rc;
}

static int code_args(fic_store *store, const char *site_id, const char *payload)
{
	FIC__ARG(store);
	int rc = fic__check_text(site_id, "site id", FIC_ID_MAX, true, NULL);
	if (rc == FIC_OK)
		rc = fic__check_text(payload, "code", FIC_PLACE_CODE_PAYLOAD_MAX, true, NULL);
	return rc;
}

int fic_site_code_add(fic_store *store, const char *site_id, const char *payload, const char *label)
{
	fic__err_clear();
	bool has_label = false;
	int rc = code_args(store, site_id, payload);
	if (rc == FIC_OK)
		rc = fic__check_text(label, "label", FIC_SITE_CODE_LABEL_MAX, false, &has_label);
	char *key = NULL;
	if (rc != FIC_OK || (rc = fic__place_code_key(payload, &key)) != FIC_OK)
		return rc;
	if ((rc = fic__tx_begin(store)) == FIC_OK) {
		char owner[80], status[8] = "";
		rc = fic__query_text(store, status, sizeof status, "SELECT status FROM sites WHERE id = ?1",
		                     "reading a site", "t", site_id);
		if (rc == FIC_ENOTFOUND)
			rc = fic__err(FIC_ENOTFOUND, "no site %s", site_id);
		if (rc == FIC_OK)
			rc = key_owner(store, key, owner, sizeof owner);
		if (rc == FIC_OK && owner[0] && strcmp(owner, site_id) != 0)
			rc = fic__err(FIC_EEXISTS, "the code belongs to site %s", owner);
		else if (rc == FIC_OK && owner[0] == '\0') {
			rc = fic__exec(store, "INSERT INTO site_codes (key, site_id, payload, label, "
			                      "added_at_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
			               "adding a place code", "tttti", key, site_id, payload,
			               has_label ? label : NULL, fic__now_ms(store));
			if (rc == FIC_OK)
				rc = code_record(store, site_id, key, payload, has_label ? label : NULL, "add");
		}
		rc = fic__tx_end(store, rc);
	}
	fic__free(key);
	return rc;
}

int fic_site_code_remove(fic_store *store, const char *site_id, const char *payload)
{
	fic__err_clear();
	int rc = code_args(store, site_id, payload);
	char *key = NULL;
	if (rc != FIC_OK || (rc = fic__place_code_key(payload, &key)) != FIC_OK)
		return rc;
	if ((rc = fic__tx_begin(store)) == FIC_OK) {
		int64_t primary = -1;
		rc = fic__query_int(store, &primary, "SELECT is_primary FROM site_codes WHERE key = ?1 "
		                                     "AND site_id = ?2", "reading a place code", "tt",
		                    key, site_id);
		if (rc == FIC_ENOTFOUND)
			rc = fic__err(FIC_ENOTFOUND, "site %s holds no such code", site_id);
		else if (rc == FIC_OK && primary)
			rc = fic__err(FIC_ESTATE, "that is the site's own place_code: change it with "
			                          "fic_site_update");
		if (rc == FIC_OK)
			rc = fic__exec(store, "DELETE FROM site_codes WHERE key = ?1", "removing a place code",
			               "t", key);
		if (rc == FIC_OK)
			rc = code_record(store, site_id, key, payload, NULL, "remove");
		rc = fic__tx_end(store, rc);
	}
	fic__free(key);
	return rc;
}

int fic_site_codes_json(char **out, fic_store *store, const char *site_id)
{
	FIC__BEGIN(out, store);
	int rc = fic__check_text(site_id, "site id", FIC_ID_MAX, true, NULL);
	if (rc != FIC_OK)
		return rc;
	sqlite3_stmt *st;
	if ((rc = fic__prepare(store, &st, "SELECT key, payload, label, is_primary FROM site_codes "
	                                   "WHERE site_id = ?1 ORDER BY is_primary DESC, added_at_ms, "
	                                   "key")) != FIC_OK)
		return rc;
	sqlite3_bind_text(st, 1, site_id, -1, SQLITE_STATIC);
	cJSON *a = cJSON_CreateArray();
	bool ok = a != NULL;
	int src;
	while (ok && (src = sqlite3_step(st)) == SQLITE_ROW) {
		cJSON *o = cJSON_CreateObject();
		const char *label = (const char *)sqlite3_column_text(st, 2);
		ok = fic__json_put(a, NULL, o) &&
		     cJSON_AddStringToObject(o, "key", (const char *)sqlite3_column_text(st, 0)) &&
		     cJSON_AddStringToObject(o, "payload", (const char *)sqlite3_column_text(st, 1)) &&
		     (label == NULL || cJSON_AddStringToObject(o, "label", label)) &&
		     cJSON_AddBoolToObject(o, "primary", sqlite3_column_int(st, 3));
	}
	if (ok && src != SQLITE_DONE)
		rc = fic__db_err(store, src, "listing a site's codes");
	sqlite3_finalize(st);
	return fic__json_out(out, a, ok, rc);
}
