/*
 * core/store/settings.c — the store's settings (the UTC offset of the
 * calendar, the semester start dates, the outbox retention, the SMS
 * fallback's gateway number and margin) and the local calendar day they
 * give. Unknown keys and malformed values are refused; every change is
 * audited. A setting the county's settings feed sent (origin 'county') is
 * not changed by hand.
 */
#include "db.h"

#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_UTC_OFFSET_MIN 480
/* Acknowledged outbox rows are kept this long after the server's receipt
 * (sync/queue.c, fic__outbox_prune): a week to look back at what was sent. */
#define OUTBOX_RETENTION_DEFAULT_DAYS 7
#define OUTBOX_RETENTION_MAX_DAYS 3650
/* An urgent lead not delivered by data goes by SMS when its deadline is this
 * near (sync/sms.c): an hour leaves time for the SMS and, failing that, the
 * phone call the at-risk warning asks for at 30 minutes. */
#define SMS_FALLBACK_DEFAULT_MIN 60
#define SMS_FALLBACK_MAX_MIN 120

int fic__setting_raw(fic_store *store, const char *key, char *buf, size_t size)
{
	int rc = fic__query_text(store, buf, size, "SELECT value FROM settings WHERE key = ?1",
	                         "reading a setting", "t", key);
	return rc == FIC_ENOTFOUND ? FIC_OK : rc;
}

int fic__utc_offset_min(fic_store *store)
{
	char v[32];
	int rc = fic__setting_raw(store, "utc_offset_minutes", v, sizeof v);
	if (rc == FIC_OK)
		return v[0] ? atoi(v) : DEFAULT_UTC_OFFSET_MIN;
	fic__err_clear(); /* unreadable: the default, and the caller's own error stays its own */
	return DEFAULT_UTC_OFFSET_MIN;
}

int64_t fic__local_day(fic_store *store, int64_t utc_ms)
{
	int64_t ms = utc_ms + (int64_t)fic__utc_offset_min(store) * 60000;
	return ms >= 0 ? ms / 86400000 : (ms - 86399999) / 86400000;
}

int64_t fic__outbox_retention_ms(fic_store *store)
{
	char v[32];
	long days = OUTBOX_RETENTION_DEFAULT_DAYS;
	if (fic__setting_raw(store, "outbox_retention_days", v, sizeof v) != FIC_OK)
		fic__err_clear();
	else if (v[0])
		days = atol(v);
	if (days < 0 || days > OUTBOX_RETENTION_MAX_DAYS)
		days = OUTBOX_RETENTION_DEFAULT_DAYS;
	return (int64_t)days * 86400000;
}

int64_t fic__sms_fallback_ms(fic_store *store)
{
	char v[32];
	long min = SMS_FALLBACK_DEFAULT_MIN;
	if (fic__setting_raw(store, "sms_fallback_minutes", v, sizeof v) != FIC_OK)
		fic__err_clear();
	else if (v[0])
		min = atol(v);
	if (min < 0 || min > SMS_FALLBACK_MAX_MIN)
		min = SMS_FALLBACK_DEFAULT_MIN;
	return (int64_t)min * 60000;
}

/* A phone number as an SMS is addressed: an optional '+' and 3 to 20 digits
 * (a county's short service number, 106…, or +86 and a mobile). */
static int check_phone(const char *value)
{
	const char *d = value[0] == '+' ? value + 1 : value;
	size_t n = strlen(d);
	if (n < 3 || n > 20 || strspn(d, "0123456789") != n)
		return fic__err(FIC_EINVAL, "sms_gateway_number must be a phone number: an optional + "
		                            "and 3 to 20 digits");
	return FIC_OK;
}

static int check_semesters(const char *value)
{
	char buf[200];
	if (strlen(value) >= sizeof buf)
		return fic__err(FIC_ETOOBIG, "semester_starts is too long");
	snprintf(buf, sizeof buf, "%s", value);
	int n = 0;
	char *save = NULL;
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		int rc = fic__parse_date(t, "semester_starts", NULL);
		if (rc != FIC_OK)
			return rc;
		n++;
	}
	if (n < 1 || n > 12)
		return fic__err(FIC_EINVAL, "semester_starts takes 1 to 12 dates YYYY-MM-DD, "
		                            "separated by commas");
	return FIC_OK;
}

int fic__setting_put_county(fic_store *store, const char *key, const char *value)
{
	if (strcmp(key, "semester_starts") != 0)
		return fic__err(FIC_EINVAL, "the county does not send setting '%.64s' this way", key);
	int rc = fic__check_text(value, "value", 190, true, NULL);
	if (rc == FIC_OK)
		rc = check_semesters(value);
	if (rc == FIC_OK)
		rc = fic__exec(store, "INSERT INTO settings (key, value, origin) VALUES (?1, ?2, "
		                      "'county') ON CONFLICT (key) DO UPDATE SET value = excluded.value, "
		                      "origin = 'county'",
		               "saving a setting", "tt", key, value);
	if (rc == FIC_OK) {
		cJSON *d = cJSON_CreateObject();
		bool ok = d && cJSON_AddStringToObject(d, "key", key) &&
		          cJSON_AddStringToObject(d, "value", value) &&
		          cJSON_AddStringToObject(d, "origin", "county");
		rc = fic__audit_take(store, "setting.county", "setting", key, d, ok);
	}
	return rc;
}

int fic_setting_set(fic_store *store, const char *key, const char *value)
{
	fic__err_clear();
	FIC__ARG(store);
	int rc = fic__check_text(key, "key", 64, true, NULL);
	if (rc == FIC_OK)
		rc = fic__check_text(value, "value", 190, true, NULL);
	if (rc != FIC_OK)
		return rc;
	if (strcmp(key, "utc_offset_minutes") == 0) {
		char *end;
		long v = strtol(value, &end, 10);
		if (*end || end == value || v < -720 || v > 840)
			return fic__err(FIC_EINVAL, "utc_offset_minutes must be a whole number of minutes "
			                            "from -720 to 840");
	} else if (strcmp(key, "semester_starts") == 0) {
		if ((rc = check_semesters(value)) != FIC_OK)
			return rc;
		/* 学校卫生 三(一)2's semesters are the county's once it has sent them. */
		char origin[16] = "";
		rc = fic__query_text(store, origin, sizeof origin, "SELECT origin FROM settings WHERE "
		                     "key = 'semester_starts'", "reading a setting", "");
		if (rc == FIC_ENOTFOUND) {
			fic__err_clear();
			rc = FIC_OK;
		}
		if (rc != FIC_OK)
			return rc;
		if (strcmp(origin, "county") == 0)
			return fic__err(FIC_ESTATE, "semester_starts is the county's (its settings feed "
			                            "set it): it is not changed by hand");
	} else if (strcmp(key, "outbox_retention_days") == 0) {
		char *end;
		long v = strtol(value, &end, 10);
		if (*end || value[0] < '0' || value[0] > '9' || v < 0 || v > OUTBOX_RETENTION_MAX_DAYS)
			return fic__err(FIC_EINVAL, "outbox_retention_days must be a whole number of days "
			                            "from 0 to %d", OUTBOX_RETENTION_MAX_DAYS);
	} else if (strcmp(key, "sms_gateway_number") == 0) {
		if ((rc = check_phone(value)) != FIC_OK)
			return rc;
	} else if (strcmp(key, "sms_fallback_minutes") == 0) {
		char *end;
		long v = strtol(value, &end, 10);
		if (*end || value[0] < '0' || value[0] > '9' || v < 0 || v > SMS_FALLBACK_MAX_MIN)
			return fic__err(FIC_EINVAL, "sms_fallback_minutes must be a whole number of minutes "
			                            "from 0 to %d", SMS_FALLBACK_MAX_MIN);
	} else {
		return fic__err(FIC_EINVAL, "unknown setting '%.64s' (known: utc_offset_minutes, "
		                            "semester_starts, outbox_retention_days, "
		                            "sms_gateway_number, sms_fallback_minutes)", key);
	}
	if ((rc = fic__tx_begin(store)) != FIC_OK)
		return rc;
	rc = fic__exec(store, "INSERT INTO settings (key, value) VALUES (?1, ?2) "
	                      "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
	               "saving a setting", "tt", key, value);
	if (rc == FIC_OK) {
		cJSON *d = cJSON_CreateObject();
		bool ok = d && cJSON_AddStringToObject(d, "key", key) &&
		          cJSON_AddStringToObject(d, "value", value);
		rc = fic__audit_take(store, "setting.set", "setting", key, d, ok);
	}
	rc = fic__tx_end(store, rc);
	return rc;
}

int fic_setting_get(char **out, fic_store *store, const char *key)
{
	FIC__BEGIN(out, store);
	int rc = fic__check_text(key, "key", 64, true, NULL);
	if (rc != FIC_OK)
		return rc;
	const char *dflt;
	if (strcmp(key, "utc_offset_minutes") == 0)
		dflt = "480";
	else if (strcmp(key, "semester_starts") == 0)
		dflt = "";
	else if (strcmp(key, "outbox_retention_days") == 0)
		dflt = "7"; /* OUTBOX_RETENTION_DEFAULT_DAYS */
	else if (strcmp(key, "sms_gateway_number") == 0)
		dflt = "";
	else if (strcmp(key, "sms_fallback_minutes") == 0)
		dflt = "60"; /* SMS_FALLBACK_DEFAULT_MIN */
	else
		return fic__err(FIC_EINVAL, "unknown setting '%.64s'", key);
	char v[200];
	if ((rc = fic__setting_raw(store, key, v, sizeof v)) != FIC_OK)
		return rc;
	*out = fic__strdup(v[0] ? v : dflt);
	return *out ? FIC_OK : fic__err(FIC_ENOMEM, "out of memory");
}
