/*
 * core/store/keys.c — the county's public key, pinned on the phone: the key
 * a lead's personal answers are sealed to at submission (flow/lead.c). It
 * arrives with enrolment (sync/enroll.c), which pins it; a later answer
 * with another key is refused until the device is deliberately unenrolled,
 * which forgets it (docs/security.md, "The phone"). A public key is no
 * secret: it is kept in the database (table county_key, schema 5).
 */
#include "db.h"

#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

int fic__county_key_get(fic_store *store, fic__county_key *out)
{
	memset(out, 0, sizeof *out);
	sqlite3_stmt *st;
	int rc = fic__cached(store, &st, "SELECT key_id, public_key, county FROM county_key "
	                                 "WHERE slot = 1");
	if (rc != FIC_OK)
		return rc;
	int s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		snprintf(out->id, sizeof out->id, "%s", (const char *)sqlite3_column_text(st, 0));
		snprintf(out->county, sizeof out->county, "%s", (const char *)sqlite3_column_text(st, 2));
		rc = fic__county_key_parse((const char *)sqlite3_column_text(st, 1), out->pk);
		char id[FIC_KEY_ID_BUFSIZE];
		if (rc == FIC_OK && (fic__county_key_id(out->pk, id) != FIC_OK ||
		                     strcmp(id, out->id) != 0))
			rc = FIC_EINVAL;
		if (rc != FIC_OK)
			rc = fic__err(FIC_ECORRUPT, "the pinned county key is damaged");
	} else if (s == SQLITE_DONE) {
		rc = FIC_ENOTFOUND;
	} else {
		rc = fic__db_err(store, s, "reading the county key");
	}
	fic__release(store, st);
	return rc;
}

int fic__county_key_pin(fic_store *store, const char *public_key_b64, const char *county)
{
	unsigned char pk[FIC_COUNTY_KEY_BYTES];
	int rc = fic__county_key_parse(public_key_b64, pk);
	if (rc != FIC_OK)
		return rc;
	char id[FIC_KEY_ID_BUFSIZE];
	if ((rc = fic__county_key_id(pk, id)) != FIC_OK)
		return rc;
	fic__county_key have;
	rc = fic__county_key_get(store, &have);
	if (rc == FIC_OK) {
		if (strcmp(have.id, id) == 0)
			return FIC_OK;
		return fic__err(FIC_ESTATE,
		                "the server gave another county key (%s) than the one this device "
		                "is pinned to (%s): if the county replaced its key, unenrol the device "
		                "(fic_sync_unenroll) and enrol it again",
		                id, have.id);
	}
	if (rc != FIC_ENOTFOUND)
		return rc;
	char text[FIC_COUNTY_KEY_TEXT];
	fic__county_key_text(pk, text); /* normalised */
	rc = fic__exec(store, "INSERT INTO county_key (slot, key_id, public_key, county, "
	                      "pinned_at_ms) VALUES (1, ?1, ?2, ?3, ?4)",
	               "pinning the county key", "ttti", id, text, county, fic__now_ms(store));
	if (rc != FIC_OK)
		return rc;
	cJSON *d = cJSON_CreateObject();
	bool ok = d && cJSON_AddStringToObject(d, "key_id", id) &&
	          cJSON_AddStringToObject(d, "county", county);
	return fic__audit_take(store, "sync.county_key", "device", store->device_id, d, ok);
}

int fic__county_key_forget(fic_store *store)
{
	return fic__exec(store, "DELETE FROM county_key", "forgetting the county key", "");
}
