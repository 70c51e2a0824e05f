/*
 * sync/county_key.c — the county's public key on the device's side: pinned
 * from the enrolment answer (enroll.c) or, for a device enrolled before the
 * county had one, from GET /v1/county-key; and leaving the county on
 * purpose (fic_sync_unenroll), the one way a device accepts another key
 * (docs/security.md, "The phone": pinning). The key itself is kept by the
 * store (core/store/keys.c); a lead's personal answers are sealed to it at
 * submission (core/flow/lead.c).
 */
#include "sync_internal.h"

#include <cjson/cJSON.h>
#include <string.h>

/* The answer's county_key, checked: NULL and FIC_OK when it has none. */
static int key_of(const cJSON *answer, const char **b64)
{
	*b64 = NULL;
	const cJSON *k = cJSON_GetObjectItemCaseSensitive(answer, "county_key");
	if (k == NULL || cJSON_IsNull(k))
		return FIC_OK;
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(k, "id");
	const cJSON *pub = cJSON_GetObjectItemCaseSensitive(k, "public_key");
	unsigned char pk[FIC_COUNTY_KEY_BYTES];
	char want[FIC_KEY_ID_BUFSIZE];
	if (!cJSON_IsString(id) || !cJSON_IsString(pub) ||
	    fic__county_key_parse(pub->valuestring, pk) != FIC_OK ||
	    fic__county_key_id(pk, want) != FIC_OK || strcmp(want, id->valuestring) != 0)
		return fic__err(FIC_EPROTO, "the server's county_key is not a key with its id "
		                            "(32 bytes in base64; id: 16 hex digits of its SHA-256)");
	*b64 = pub->valuestring;
	return FIC_OK;
}

int fic__sync_check_county_key(fic_store *store, const cJSON *answer)
{
	const char *b64;
	int rc = key_of(answer, &b64);
	if (rc != FIC_OK || b64 == NULL)
		return rc;
	fic__county_key have;
	unsigned char pk[FIC_COUNTY_KEY_BYTES];
	char id[FIC_KEY_ID_BUFSIZE];
	if ((rc = fic__county_key_get(store, &have)) == FIC_ENOTFOUND)
		return FIC_OK;
	if (rc != FIC_OK)
		return rc;
	if (fic__county_key_parse(b64, pk) == FIC_OK && fic__county_key_id(pk, id) == FIC_OK &&
	    strcmp(id, have.id) == 0)
		return FIC_OK;
	return fic__err(FIC_ESTATE,
	                "the server gave another county key (%s) than the one this device is "
	                "pinned to (%s); nothing was changed: if the county replaced its key, "
	                "unenrol the device (fic_sync_unenroll) and enrol it again",
	                id, have.id);
}

int fic__sync_pin_county_key(fic_store *store, const cJSON *answer, const char *county)
{
	const char *b64;
	int rc = key_of(answer, &b64);
	if (rc != FIC_OK || b64 == NULL)
		return rc;
	return fic__county_key_pin(store, b64, county);
}

int fic__sync_fetch_county_key(fic_store *store, const fic_sync_options *o, const char *auth,
                               fic_sync_report *rep)
{
	fic__county_key have;
	int rc = fic__county_key_get(store, &have);
	if (rc != FIC_ENOTFOUND)
		return rc;
	fic_http_header h[] = { { "Authorization", auth } };
	fic_http_response r;
	if ((rc = fic__sync_exchange(store, o, "GET", "/v1/county-key", h, 1, NULL, 0, &r, rep)) !=
	    FIC_OK)
		return rc;
	cJSON *j = NULL;
	char county[201] = "";
	if (r.status == 404) {
		rc = FIC_ENOTFOUND; /* the county has no key yet, or an older server */
	} else if (r.status != 200) {
		rc = fic__answer_error(store, &r, "asking for the county key", NULL);
	} else if ((j = cJSON_ParseWithLength((const char *)r.body, r.body_len)) == NULL ||
	           fic__sync_state_get(store, "sync.county", county, sizeof county) != FIC_OK) {
		rc = fic__err(FIC_EPROTO, "the county key answer is not JSON");
	} else if ((rc = fic__tx_begin(store)) == FIC_OK) {
		rc = fic__tx_end(store, fic__sync_pin_county_key(store, j, county));
	}
	cJSON_Delete(j);
	fic__free(r.body);
	return rc;
}

int fic_sync_unenroll(fic_store *store)
{
	fic__err_clear();
	FIC__ARG(store);
	int rc = fic__secret_delete(store, FIC_SECRET_TOKEN);
	if (rc != FIC_OK)
		return rc;
	if ((rc = fic__tx_begin(store)) != FIC_OK)
		return rc;
	rc = fic__exec(store, "DELETE FROM sync_state WHERE key IN ('sync.county', 'sync.server', "
	                      "'sync.not_before')",
	               "leaving the county", "");
	if (rc == FIC_OK)
		rc = fic__county_key_forget(store);
	if (rc == FIC_OK)
		rc = fic__audit_append(store, "sync.unenroll", "device", fic_store_device_id(store),
		                       "{}");
	return fic__tx_end(store, rc);
}
