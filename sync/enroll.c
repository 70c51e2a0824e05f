/*
 * sync/enroll.c — enrolment: the device presents a one-time code the county
 * issued, and keeps the bearer token the server answers with (never
 * logged; through the platform's secret hook, not in the database), the
 * county's name, the server's URL (the only one the token goes to), the
 * county's public key, pinned (county_key.c), and the SMS key that
 * authenticates its urgent leads sent by SMS (fieldinspect/sms.h; 32 bytes,
 * base64, a secret like the token; a server without the SMS fallback sends
 * none).
 */
#include "sms_codec.h"
#include "sync_internal.h"

#include <cjson/cJSON.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

/* The answer's "sms_key": absent, or base64 of exactly 32 bytes. */
static bool sms_key_ok(const cJSON *k)
{
	if (k == NULL)
		return true;
	uint8_t key[FIC_SMS_KEY_BYTES];
	size_t n = 0;
	bool ok = cJSON_IsString(k) && strlen(k->valuestring) <= 64 && sodium_init() >= 0 &&
	          sodium_base642bin(key, sizeof key, k->valuestring, strlen(k->valuestring), NULL, &n,
	                            NULL, sodium_base64_VARIANT_ORIGINAL) == 0 &&
	          n == FIC_SMS_KEY_BYTES;
	sodium_memzero(key, sizeof key);
	return ok;
}

int fic_sync_enroll(fic_store *store, const fic_sync_options *in, const char *code,
                    const char *device_name)
{
	fic__err_clear();
	fic_sync_options o;
	const fic_sync_options *opts = &o;
	int rc = fic__sync_check_opts(store, in, &o);
	if (rc != FIC_OK)
		return rc;
	if ((rc = fic__check_text(code, "enrolment code", 64, true, NULL)) != FIC_OK ||
	    (rc = fic__check_text(device_name, "device name", 100, false, NULL)) != FIC_OK)
		return rc;
	if (strlen(code) < 6)
		return fic__err(FIC_EINVAL, "an enrolment code has at least 6 characters");
	cJSON *req = cJSON_CreateObject();
	char *text = NULL;
	if (req && fic__json_put(req, "code", cJSON_CreateString(code)) &&
	    fic__json_put(req, "device_id", cJSON_CreateString(fic_store_device_id(store))) &&
	    (device_name == NULL || !device_name[0] ||
	     fic__json_put(req, "device_name", cJSON_CreateString(device_name))))
		text = cJSON_PrintUnformatted(req);
	cJSON_Delete(req);
	if (text == NULL)
		return fic__err(FIC_ENOMEM, "out of memory making the enrolment request");
	fic_http_header h[] = { { "Content-Type", "application/json" } };
	fic_http_response r;
	fic_sync_report rep;
	memset(&rep, 0, sizeof rep);
	rc = fic__sync_exchange(store, opts, "POST", "/v1/enroll", h, 1, text, strlen(text), &r, &rep);
	memset(text, 0, strlen(text)); /* the code is single-use, but still */
	cJSON_free(text);
	if (rc != FIC_OK)
		return rc;
	cJSON *j = NULL;
	if (fic__answer_class(r.status) == FIC__ANSWER_AUTH) {
		char msg[300];
		fic__sync_error_body(&r, msg, sizeof msg, NULL);
		rc = fic__err(FIC_EAUTH, "the server refused the enrolment code: %s", msg);
	} else if (r.status != 200) {
		rc = fic__answer_error(store, &r, "enrolment", NULL);
	} else if ((j = cJSON_ParseWithLength((const char *)r.body, r.body_len)) == NULL) {
		rc = fic__err(FIC_EPROTO, "the enrolment answer is not JSON");
	} else {
		const cJSON *tok = cJSON_GetObjectItemCaseSensitive(j, "token");
		const cJSON *county = cJSON_GetObjectItemCaseSensitive(j, "county");
		const cJSON *dev = cJSON_GetObjectItemCaseSensitive(j, "device_id");
		const cJSON *sms = cJSON_GetObjectItemCaseSensitive(j, "sms_key");
		bool ok = cJSON_IsString(tok) && cJSON_IsString(county) && cJSON_IsString(dev);
		size_t tl = ok ? strlen(tok->valuestring) : 0;
		for (size_t i = 0; ok && i < tl; i++)
			ok = tok->valuestring[i] > ' ' && tok->valuestring[i] < 127;
		if (!ok || tl < FIC_SYNC_TOKEN_MIN || tl > FIC_SYNC_TOKEN_MAX)
			rc = fic__err(FIC_EPROTO, "the enrolment answer lacks a valid token");
		else if (strcmp(dev->valuestring, fic_store_device_id(store)) != 0)
			rc = fic__err(FIC_EPROTO, "the enrolment answer is for another device");
		else if ((rc = fic__check_text(county->valuestring, "county", 200, true, NULL)) != FIC_OK)
			rc = fic__err(FIC_EPROTO, "the enrolment answer has no valid county name");
		else if (!sms_key_ok(sms))
			rc = fic__err(FIC_EPROTO, "the enrolment answer's sms_key is not 32 bytes in base64");
		else if ((rc = fic__sync_check_county_key(store, j)) != FIC_OK)
			; /* another key than the pinned one: nothing changes (county_key.c) */
		else if ((rc = fic__secret_put(store, FIC_SECRET_TOKEN, tok->valuestring)) != FIC_OK)
			; /* the token lives apart from the database (core/store/secret.c) */
		else if ((rc = sms ? fic__secret_put(store, FIC_SECRET_SMS_KEY, sms->valuestring)
		                   : fic__secret_delete(store, FIC_SECRET_SMS_KEY)) != FIC_OK)
			; /* so does the SMS key */
		else if ((rc = fic__tx_begin(store)) == FIC_OK) {
			if ((rc = fic__sync_state_put(store, "sync.county", county->valuestring)) == FIC_OK &&
			    (rc = fic__sync_state_put(store, "sync.server", opts->server_url)) == FIC_OK &&
			    (rc = fic__sync_pin_county_key(store, j, county->valuestring)) == FIC_OK)
				rc = fic__audit_append(store, "sync.enroll", "device",
				                       fic_store_device_id(store), "{}");
			rc = fic__tx_end(store, rc);
		}
	}
	cJSON_Delete(j);
	fic__free(r.body);
	return rc;
}

int fic_sync_enrolled(fic_store *store, char *county, size_t county_size)
{
	fic__err_clear();
	FIC__ARG(store);
	if (county && county_size)
		county[0] = '\0';
	char token[FIC_SYNC_TOKEN_MAX + 1];
	int rc = fic__secret_get(store, FIC_SECRET_TOKEN, token, sizeof token);
	fic__wipe(token, sizeof token);
	if (rc == FIC_ENOTFOUND)
		return fic__err(FIC_ENOTFOUND, "this device is not enrolled");
	if (rc == FIC_OK && county && county_size)
		(void)fic__sync_state_get(store, "sync.county", county, county_size);
	return rc;
}

