/*
 * sync/sms.c — the SMS fallback of urgent leads on the device
 * (fieldinspect/sms.h): which leads should go by SMS, their message made from the
 * stored lead with this device's SMS key, the record that the app sent it,
 * and the county's confirmation taken as the lead's receipt.
 *
 * The key came with enrolment (enroll.c keeps it through the platform's
 * secret hook, as FIC_SECRET_SMS_KEY, apart from the database); the codec is sms_codec.c. Nothing here talks to the
 * network: the app sends the parts with Android's SmsManager.
 */
#include "sms_codec.h"
#include "sync_internal.h"

#include <cjson/cJSON.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#define LEAD_ID_MAX 63

/* This device's SMS key, from enrolment. */
static int load_key(fic_store *store, uint8_t key[FIC_SMS_KEY_BYTES])
{
	char b64[128];
	int rc = fic__secret_get(store, FIC_SECRET_SMS_KEY, b64, sizeof b64);
	if (rc == FIC_ENOTFOUND)
		return fic__err(FIC_ESTATE, "this device has no SMS key: enrol it (again) with a county "
		                            "server that gives one");
	if (rc != FIC_OK)
		return rc;
	size_t n = 0;
	rc = sodium_init() < 0 ||
	     sodium_base642bin(key, FIC_SMS_KEY_BYTES, b64, strlen(b64), NULL, &n, NULL,
	                       sodium_base64_VARIANT_ORIGINAL) != 0 ||
	     n != FIC_SMS_KEY_BYTES;
	sodium_memzero(b64, sizeof b64);
	return rc ? fic__err(FIC_ECORRUPT, "the stored SMS key is damaged: enrol again") : FIC_OK;
}

/* The county gateway's number (setting), or FIC_ESTATE. */
static int recipient(fic_store *store, char *buf, size_t size)
{
	int rc = fic__setting_raw(store, "sms_gateway_number", buf, size);
	if (rc == FIC_OK && buf[0] == '\0')
		rc = fic__err(FIC_ESTATE, "no SMS gateway number: set sms_gateway_number to the "
		                          "county's number");
	return rc;
}

/*
 * The SMS view of a lead that may go by SMS: submitted (queued, or refused
 * by data), urgent. `for_receipt` also takes a delivered lead.
 */
static int build(fic_store *store, const char *lead_id, bool for_receipt, fic__sms_lead *l,
                 char *state, size_t state_size)
{
	memset(l, 0, sizeof *l);
	int rc = fic__check_text(lead_id, "lead id", LEAD_ID_MAX, true, NULL);
	if (rc != FIC_OK)
		return rc;
	sqlite3_stmt *st;
	if ((rc = fic__row_by_key(store, &st, "SELECT category, urgent, state, site_id, content, "
	                                      "deadline_at_ms, t_flags, t_boot_id, t_mono_ms, "
	                                      "t_device_ms, discovered_at_ms FROM leads WHERE id = ?1",
	                          lead_id, "lead")) != FIC_OK)
		return rc;
	const char *s = (const char *)sqlite3_column_text(st, 2);
	snprintf(state, state_size, "%s", s ? s : "");
	if (!sqlite3_column_int(st, 1))
		rc = fic__err(FIC_ESTATE, "lead %s is not urgent: only urgent leads go by SMS", lead_id);
	else if (strcmp(state, "draft") == 0)
		rc = fic__err(FIC_ESTATE, "lead %s is a draft: submit it first", lead_id);
	else if (!for_receipt && strcmp(state, "delivered") == 0)
		rc = fic__err(FIC_ESTATE, "lead %s is delivered already: no SMS is needed", lead_id);
	else if (fic__sms_uuid_parse(lead_id, l->lead_id) != FIC_OK)
		rc = fic__err(FIC_EINVAL, "lead id %s is not one this device made", lead_id);
	cJSON *content = NULL;
	if (rc == FIC_OK) {
		snprintf(l->category, sizeof l->category, "%s", (const char *)sqlite3_column_text(st, 0));
		if (sqlite3_column_text(st, 3))
			snprintf(l->site_id, sizeof l->site_id, "%s",
			         (const char *)sqlite3_column_text(st, 3));
		int flags = sqlite3_column_int(st, 6);
		/* Trusted discovery: the deadline the clock runs on, less the
		 * lead's time to report (two hours, or none for "immediately"). */
		int64_t grace = fic__urgency_grace_ms(sqlite3_column_int(st, 1));
		int64_t deadline = fic__effective_deadline(store, sqlite3_column_int64(st, 5), flags,
		                                           (const char *)sqlite3_column_text(st, 7),
		                                           sqlite3_column_int64(st, 8),
		                                           sqlite3_column_int64(st, 9),
		                                           sqlite3_column_int64(st, 10), grace);
		l->discovered_ms = deadline - grace;
		l->time_flags = flags & (FIC_TIME_NO_CONTACT | FIC_TIME_CLOCK_CHANGED | FIC_TIME_OTHER_BOOT);
		const char *c = (const char *)sqlite3_column_text(st, 4);
		content = c ? cJSON_Parse(c) : NULL;
		if (content == NULL)
			rc = fic__alloc_failures() ? fic__err(FIC_ENOMEM, "out of memory reading a lead")
			                           : fic__err(FIC_ECORRUPT, "lead %s has no readable content",
			                                      lead_id);
	}
	sqlite3_finalize(st);
	if (rc == FIC_OK)
		rc = fic__sms_from_content(l, content);
	cJSON_Delete(content);
	if (rc == FIC_OK && l->site_id[0]) {
		/* The county knows where its own sites are; a site found in the field
		 * it does not know yet, so its location travels. */
		fic_site *site = NULL;
		int src = fic_site_get(&site, store, l->site_id);
		if (src == FIC_OK && site->has_location && site->origin == FIC_SITE_FROM_FIELD) {
			l->has_location = true;
			l->lat = site->lat;
			l->lon = site->lon;
		} else if (src != FIC_OK && src != FIC_ENOTFOUND) {
			rc = src;
		}
		fic_site_free(site);
	}
	if (rc != FIC_OK)
		fic__sms_lead_clear(l);
	return rc;
}

/* The parts of a lead's SMS, with its gateway number. */
static int make(fic_store *store, const char *lead_id, fic__sms_parts *parts, char *to,
                size_t to_size)
{
	memset(parts, 0, sizeof *parts);
	fic__sms_lead l;
	char state[16];
	uint8_t key[FIC_SMS_KEY_BYTES];
	int rc = build(store, lead_id, false, &l, state, sizeof state);
	if (rc == FIC_OK)
		rc = recipient(store, to, to_size);
	if (rc == FIC_OK && (rc = load_key(store, key)) == FIC_OK) {
		rc = fic__sms_encode(&l, key, parts);
		sodium_memzero(key, sizeof key);
	}
	fic__sms_lead_clear(&l);
	return rc;
}

void fic_sms_free(fic_sms *sms)
{
	fic__free(sms);
}

int fic_lead_sms(fic_sms **out, fic_store *store, const char *lead_id)
{
	FIC__BEGIN(out, store);
	fic__sms_parts parts;
	char to[32];
	int rc = make(store, lead_id, &parts, to, sizeof to);
	if (rc != FIC_OK)
		return rc;
	/* One allocation: the struct, then the strings. */
	size_t size = sizeof(fic_sms) + strlen(lead_id) + 1 + strlen(to) + 1;
	for (size_t i = 0; i < parts.count; i++)
		size += strlen(parts.text[i]) + 1;
	fic_sms *m = fic__calloc(1, size);
	if (m == NULL) {
		fic__sms_parts_clear(&parts);
		return fic__err(FIC_ENOMEM, "out of memory making an SMS");
	}
	char *p = (char *)(m + 1);
	m->lead_id = strcpy(p, lead_id);
	p += strlen(p) + 1;
	m->recipient = strcpy(p, to);
	p += strlen(p) + 1;
	for (size_t i = 0; i < parts.count; i++) {
		m->parts[i] = strcpy(p, parts.text[i]);
		p += strlen(p) + 1;
	}
	m->count = parts.count;
	m->format = FIC_SMS_FORMAT;
	m->frame_bytes = parts.frame_bytes;
	fic__sms_parts_clear(&parts);
	*out = m;
	return FIC_OK;
}

int fic_lead_sms_sent(fic_store *store, const char *lead_id)
{
	fic__err_clear();
	FIC__ARG(store);
	fic__sms_parts parts;
	char to[32];
	int rc = make(store, lead_id, &parts, to, sizeof to);
	if (rc != FIC_OK)
		return rc;
	int64_t count = (int64_t)parts.count;
	fic__sms_parts_clear(&parts);
	int64_t now = fic__now_ms(store);
	if ((rc = fic__tx_begin(store)) != FIC_OK)
		return rc;
	rc = fic__exec(store, "INSERT INTO lead_sms (lead_id, format, parts, recipient, "
	                      "first_sent_at_ms, last_sent_at_ms, times_sent) "
	                      "VALUES (?1, ?2, ?3, ?4, ?5, ?5, 1) ON CONFLICT (lead_id) DO UPDATE SET "
	                      "format = excluded.format, parts = excluded.parts, "
	                      "recipient = excluded.recipient, first_sent_at_ms = "
	                      "coalesce(first_sent_at_ms, excluded.first_sent_at_ms), "
	                      "last_sent_at_ms = excluded.last_sent_at_ms, times_sent = times_sent + 1",
	               "recording an SMS", "tiiti", lead_id, (int64_t)FIC_SMS_FORMAT, count, to, now);
	if (rc == FIC_OK) {
		/* What went where, never what it said. */
		cJSON *d = cJSON_CreateObject();
		bool ok = d && cJSON_AddNumberToObject(d, "parts", (double)count) &&
		          cJSON_AddStringToObject(d, "recipient", to) &&
		          cJSON_AddNumberToObject(d, "format", FIC_SMS_FORMAT);
		rc = fic__audit_take(store, "lead.sms", "lead", lead_id, d, ok);
	}
	return fic__tx_end(store, rc);
}

int fic_lead_sms_receipt(fic_store *store, const char *lead_id, const char *text)
{
	fic__err_clear();
	FIC__ARG(store);
	int rc = fic__check_text(text, "confirmation", FIC_SMS_RECEIPT_MAX, true, NULL);
	if (rc != FIC_OK)
		return rc;
	fic__sms_lead l;
	char state[16], receipt[FIC_SMS_RECEIPT_ID_MAX + 1];
	int64_t received = 0;
	uint8_t key[FIC_SMS_KEY_BYTES];
	if ((rc = build(store, lead_id, true, &l, state, sizeof state)) != FIC_OK)
		return rc;
	fic__sms_lead_clear(&l);
	if ((rc = load_key(store, key)) != FIC_OK)
		return rc;
	rc = fic__sms_receipt_check(text, key, lead_id, receipt, &received);
	sodium_memzero(key, sizeof key);
	if (rc != FIC_OK)
		return rc;
	if ((rc = fic__tx_begin(store)) != FIC_OK)
		return rc;
	rc = fic__lead_deliver_sms(store, lead_id, receipt, received);
	if (rc == FIC_OK)
		rc = fic__exec(store, "INSERT INTO lead_sms (lead_id, format, receipt_id, "
		                      "received_at_ms, confirmed_at_ms) VALUES (?1, ?2, ?3, ?4, ?5) "
		                      "ON CONFLICT (lead_id) DO UPDATE SET "
		                      "receipt_id = coalesce(receipt_id, excluded.receipt_id), "
		                      "received_at_ms = coalesce(received_at_ms, excluded.received_at_ms), "
		                      "confirmed_at_ms = coalesce(confirmed_at_ms, excluded.confirmed_at_ms)",
		               "recording an SMS confirmation", "titii", lead_id,
		               (int64_t)FIC_SMS_FORMAT, receipt, received, fic__now_ms(store));
	return fic__tx_end(store, rc);
}

int fic_lead_sms_due_json(char **out, fic_store *store)
{
	FIC__BEGIN(out, store);
	int64_t margin = fic__sms_fallback_ms(store);
	char to[32];
	int rc = fic__setting_raw(store, "sms_gateway_number", to, sizeof to);
	fic_time now;
	if (rc == FIC_OK)
		rc = fic__time_now(store, &now);
	if (rc != FIC_OK)
		return rc;
	cJSON *o = cJSON_CreateObject(), *leads = NULL;
	bool ok = o && cJSON_AddNumberToObject(o, "fallback_minutes", (double)(margin / 60000)) &&
	          fic__json_put(o, "recipient", to[0] ? cJSON_CreateString(to) : cJSON_CreateNull()) &&
	          (leads = cJSON_AddArrayToObject(o, "leads")) != NULL;
	if (!ok || margin == 0)
		return fic__json_out(out, o, ok, FIC_OK);
	/* Undelivered urgent leads in the order of their deadlines (the list's
	 * index), not yet sent by SMS. */
	sqlite3_stmt *st;
	if ((rc = fic__prepare(store, &st, "SELECT id, title, deadline_at_ms, t_flags, t_boot_id, "
	                                   "t_mono_ms, t_device_ms, discovered_at_ms, urgent FROM leads "
	                                   "WHERE urgent AND state IN ('queued', 'rejected') AND "
	                                   "NOT EXISTS (SELECT 1 FROM lead_sms WHERE "
	                                   "lead_id = leads.id AND times_sent > 0) "
	                                   "ORDER BY urgent DESC, CASE WHEN urgent THEN "
	                                   "deadline_at_ms END, discovered_at_ms DESC, id")) != FIC_OK) {
		cJSON_Delete(o);
		return rc;
	}
	int64_t unc = now.uncertainty_ms > 0 ? now.uncertainty_ms : 0;
	int s;
	while (ok && (s = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t deadline = fic__effective_deadline(store, sqlite3_column_int64(st, 2),
		                                           sqlite3_column_int(st, 3),
		                                           (const char *)sqlite3_column_text(st, 4),
		                                           sqlite3_column_int64(st, 5),
		                                           sqlite3_column_int64(st, 6),
		                                           sqlite3_column_int64(st, 7),
		                                           fic__urgency_grace_ms(sqlite3_column_int(st, 8)));
		int64_t remaining = deadline - now.trusted_ms;
		/* A clock never checked against the server is not trusted with a deadline. */
		if (now.uncertainty_ms >= 0 && remaining - unc > margin)
			continue;
		cJSON *e = cJSON_CreateObject();
		ok = e && cJSON_AddStringToObject(e, "lead_id", (const char *)sqlite3_column_text(st, 0)) &&
		     cJSON_AddStringToObject(e, "title", (const char *)sqlite3_column_text(st, 1)) &&
		     cJSON_AddNumberToObject(e, "remaining_ms", (double)remaining);
		ok = fic__json_put(leads, NULL, e) && ok;
	}
	if (ok && s != SQLITE_DONE)
		rc = fic__db_err(store, s, "listing leads for SMS");
	sqlite3_finalize(st);
	return fic__json_out(out, o, ok, rc);
}
