/*
 * tests/sync/test_sms.c — the SMS fallback on the device (fieldinspect/sms.h):
 * which urgent leads are due to go by SMS (the margin, the trusted clock,
 * sent or not), the message of a stored lead (what it carries, what it never
 * carries: informants and contact phones), recording that it was sent, and
 * the county's confirmation taken as the receipt — never a forged one, and
 * never moved back by the data upload's later answer. NULL, empty,
 * oversized and malformed input to every call.
 */
#include "testutil.h"
#include "internal.h"
#include "sms_codec.h"
#include "sync_internal.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <setjmp.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

typedef tu_fixture fixture;

#define MIN 60000LL
#define GATEWAY "10655000123"

static const uint8_t KEY[FIC_SMS_KEY_BYTES] = { 9, 8, 7, 6, 5, 4, 3, 2, 1 };

static const char two_non_answers[] =
	"{\"kind\":\"sex_determination\",\"place\":\"镇东街诊所二楼\",\"provider\":\"某诊所\","
	"\"description\":\"用便携B超为孕妇鉴定胎儿性别\",\"informant_name\":\"王秀英\","
	"\"informant_phone\":\"13912345678\",\"verified\":\"yes\"}";

static void give_key(fixture *f, const uint8_t *key)
{
	char b64[64];
	sodium_bin2base64(b64, sizeof b64, key, FIC_SMS_KEY_BYTES, sodium_base64_VARIANT_ORIGINAL);
	assert_int_equal(fic__secret_put(f->store, FIC_SECRET_SMS_KEY, b64), FIC_OK);
}

static int setup(void **state)
{
	fixture *f = tu_fixture_new(NULL);
	if (f == NULL || sodium_init() < 0)
		return -1;
	/* The server's clock was seen (as at enrolment): deadlines are trusted. */
	if (fic_time_contact(f->store, f->clock.wall_ms, 200) != FIC_OK)
		return -1;
	give_key(f, KEY);
	if (fic_setting_set(f->store, "sms_gateway_number", GATEWAY) != FIC_OK)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	tu_fixture_free(*state);
	return 0;
}

static void advance(fixture *f, int64_t ms)
{
	f->clock.wall_ms += ms;
	f->clock.mono_ms += ms;
}

static void file(fixture *f, const char *form, const char *answers, char *id)
{
	int rc = fic_lead_file(id, f->store, form, answers, NULL, 0, 0);
	if (rc != FIC_OK)
		fail_msg("%s", fic_error_last()->message);
}

static cJSON *lead_json(fixture *f, const char *id)
{
	char *t;
	assert_int_equal(fic_lead_get_json(&t, f->store, id), FIC_OK);
	cJSON *j = cJSON_Parse(t);
	fic_free(t);
	return j;
}

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : "";
}

/* What the county will read from the message (decoded with the key). */
static cJSON *decoded(const fic_sms *m, const uint8_t *key)
{
	uint8_t *frame;
	size_t len;
	assert_int_equal(fic__sms_join(m->parts, m->count, &frame, &len), FIC_OK);
	fic__sms_lead l;
	assert_int_equal(fic__sms_open(frame, len, key, &l), FIC_OK);
	cJSON *j = fic__sms_lead_json(&l);
	fic__sms_lead_clear(&l);
	fic__free(frame);
	return j;
}

static void an_urgent_lead_becomes_one_sms_to_the_gateway(void **state)
{
	fixture *f = *state;
	char id[FIC_UUID_BUFSIZE];
	file(f, "event.foodborne", tu_foodborne_answers, id);
	fic_sms *m;
	assert_int_equal(fic_lead_sms(&m, f->store, id), FIC_OK);
	assert_string_equal(m->recipient, GATEWAY);
	assert_string_equal(m->lead_id, id);
	assert_int_equal(m->format, 1);
	assert_int_equal(m->count, 1);
	assert_true(strlen(m->parts[0]) <= FIC_SMS_PART_CHARS);
	assert_true(strncmp(m->parts[0], "FI1", 3) == 0);
	/* The same parts every time: a resend is one message to the county. */
	fic_sms *again;
	assert_int_equal(fic_lead_sms(&again, f->store, id), FIC_OK);
	assert_string_equal(again->parts[0], m->parts[0]);
	fic_sms_free(again);

	cJSON *j = decoded(m, KEY);
	assert_string_equal(jstr(j, "lead_id"), id);
	assert_string_equal(jstr(j, "category"), "foodborne");
	assert_string_equal(jstr(j, "place"), "镇中心饭店");
	const cJSON *a = cJSON_GetObjectItem(j, "answers");
	assert_int_equal(cJSON_GetNumberValue(cJSON_GetObjectItem(a, "exposed")), 120);
	assert_int_equal(cJSON_GetNumberValue(cJSON_GetObjectItem(a, "ill")), 14);
	assert_int_equal(cJSON_GetNumberValue(cJSON_GetObjectItem(a, "dead")), 0);
	assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(a, "symptoms"), 0)->valuestring,
	                    "vomiting");
	assert_string_equal(jstr(a, "onset_date"), "2026-03-01");
	/* The deadline the county audits is the device's own (to the second, never later). */
	cJSON *lj = lead_json(f, id);
	int64_t dl = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(lj, "deadline_at_ms"));
	int64_t sms_dl = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(j, "deadline_at_ms"));
	assert_true(sms_dl <= dl && dl - sms_dl < 1000);
	/* Not the diners' contact phone: the county calls back through the inspector. */
	char *text = cJSON_PrintUnformatted(j);
	assert_null(strstr(text, "13800000000"));
	assert_null(cJSON_GetObjectItem(a, "contact_phone"));
	cJSON_free(text);
	cJSON_Delete(lj);
	cJSON_Delete(j);
	fic_sms_free(m);
}

static void an_informant_never_travels_by_sms(void **state)
{
	fixture *f = *state;
	char id[FIC_UUID_BUFSIZE];
	file(f, "event.two_non", two_non_answers, id);
	fic_sms *m;
	assert_int_equal(fic_lead_sms(&m, f->store, id), FIC_OK);
	cJSON *j = decoded(m, KEY);
	char *text = cJSON_PrintUnformatted(j);
	assert_null(strstr(text, "王秀英"));
	assert_null(strstr(text, "13912345678"));
	assert_null(strstr(text, "informant"));
	assert_string_equal(jstr(j, "description"), "用便携B超为孕妇鉴定胎儿性别");
	assert_string_equal(jstr(cJSON_GetObjectItem(j, "answers"), "kind"), "sex_determination");
	cJSON_free(text);
	cJSON_Delete(j);
	fic_sms_free(m);
	/* Nor is anything of it written to the audit log when it is sent. */
	assert_int_equal(fic_lead_sms_sent(f->store, id), FIC_OK);
	fic_audit_list *al;
	assert_int_equal(fic_audit_list_get(&al, f->store, id, 0), FIC_OK);
	bool seen = false;
	for (size_t i = 0; i < al->count; i++) {
		assert_null(strstr(al->entries[i].detail, "王秀英"));
		assert_null(strstr(al->entries[i].detail, "B超"));
		seen |= strcmp(al->entries[i].action, "lead.sms") == 0;
	}
	assert_true(seen);
	fic_audit_list_free(al);
}

static void a_patrol_finding_travels_with_its_own_words(void **state)
{
	fixture *f = *state;
	char site[FIC_UUID_BUFSIZE], id[FIC_UUID_BUFSIZE];
	fic_site s = FIC_SITE_INIT;
	s.kind = FIC_SITE_WATER_RURAL;
	s.name = "石桥村集中供水站";
	s.has_location = 1;
	s.lat = 29.99921;
	s.lon = 108.11203;
	fic_site *saved;
	assert_int_equal(fic_site_add(&saved, f->store, &s, "not in the registry"), FIC_OK);
	snprintf(site, sizeof site, "%s", saved->id);
	fic_site_free(saved);
	cJSON *content = cJSON_Parse("{\"findings\":[{\"item\":\"treatment_working\","
	                             "\"finding_zh\":\"消毒设备停用，出厂水未经消毒\"}]}");
	fic__lead_spec spec = { "patrol_finding", "drinking_water", "【紧急】石桥村集中供水站",
		                "enforcement", true, false, NULL, 0, site, NULL,
		                f->clock.wall_ms, content, NULL, true };
	assert_int_equal(fic__tx_begin(f->store), FIC_OK);
	assert_int_equal(fic__tx_end(f->store, fic__lead_insert(id, f->store, &spec)), FIC_OK);
	cJSON_Delete(content);
	fic_sms *m;
	assert_int_equal(fic_lead_sms(&m, f->store, id), FIC_OK);
	cJSON *j = decoded(m, KEY);
	assert_string_equal(jstr(j, "category"), "patrol_finding");
	assert_string_equal(jstr(j, "description"), "消毒设备停用，出厂水未经消毒");
	assert_string_equal(jstr(j, "site_id"), site);
	/* A site found in the field: the county does not know where it is yet. */
	const cJSON *loc = cJSON_GetObjectItem(j, "location");
	assert_non_null(loc);
	assert_true(fabs(cJSON_GetNumberValue(cJSON_GetObjectItem(loc, "lat")) - 29.99921) < 1e-5);
	assert_true(fabs(cJSON_GetNumberValue(cJSON_GetObjectItem(loc, "lon")) - 108.11203) < 1e-5);
	cJSON_Delete(j);
	fic_sms_free(m);
}

static void only_a_submitted_urgent_lead_to_a_known_gateway_goes(void **state)
{
	fixture *f = *state;
	char urgent[FIC_UUID_BUFSIZE], tip[FIC_UUID_BUFSIZE], draft[FIC_UUID_BUFSIZE];
	file(f, "event.foodborne", tu_foodborne_answers, urgent);
	file(f, "lead.tip_off", tu_tip_off_answers, tip);
	assert_int_equal(fic_lead_file(draft, f->store, "event.foodborne", tu_foodborne_answers, NULL,
	                               0, FIC_LEAD_DRAFT), FIC_OK);
	fic_sms *m = (fic_sms *)1;
	/* arguments */
	assert_int_equal(fic_lead_sms(NULL, f->store, urgent), FIC_EINVAL);
	assert_int_equal(fic_lead_sms(&m, NULL, urgent), FIC_EINVAL);
	assert_null(m);
	assert_int_equal(fic_lead_sms(&m, f->store, NULL), FIC_EINVAL);
	assert_int_equal(fic_lead_sms(&m, f->store, ""), FIC_EINVAL);
	char huge[300];
	memset(huge, 'a', sizeof huge - 1);
	huge[sizeof huge - 1] = '\0';
	assert_int_equal(fic_lead_sms(&m, f->store, huge), FIC_ETOOBIG);
	assert_int_equal(fic_lead_sms(&m, f->store, "no-such-lead"), FIC_ENOTFOUND);
	assert_int_equal(fic_lead_sms(&m, f->store, "\xff\xfe"), FIC_EINVAL);
	assert_null(m);
	/* states */
	assert_int_equal(fic_lead_sms(&m, f->store, tip), FIC_ESTATE);
	assert_non_null(strstr(fic_error_last()->message, "not urgent"));
	assert_int_equal(fic_lead_sms(&m, f->store, draft), FIC_ESTATE);
	assert_non_null(strstr(fic_error_last()->message, "draft"));
	/* no gateway number */
	assert_int_equal(sqlite3_exec(f->store->db, "DELETE FROM settings WHERE key = "
	                                            "'sms_gateway_number'", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(fic_lead_sms(&m, f->store, urgent), FIC_ESTATE);
	assert_non_null(strstr(fic_error_last()->message, "sms_gateway_number"));
	assert_int_equal(fic_setting_set(f->store, "sms_gateway_number", "+8613800138000"), FIC_OK);
	/* no key: enrolled with a server without the SMS fallback, or not at all */
	assert_int_equal(fic__secret_delete(f->store, FIC_SECRET_SMS_KEY), FIC_OK);
	assert_int_equal(fic_lead_sms(&m, f->store, urgent), FIC_ESTATE);
	assert_non_null(strstr(fic_error_last()->message, "SMS key"));
	assert_int_equal(fic__secret_put(f->store, FIC_SECRET_SMS_KEY, "not base64!"), FIC_OK);
	assert_int_equal(fic_lead_sms(&m, f->store, urgent), FIC_ECORRUPT);
	give_key(f, KEY);
	assert_int_equal(fic_lead_sms(&m, f->store, urgent), FIC_OK);
	assert_string_equal(m->recipient, "+8613800138000");
	fic_sms_free(m);
	fic_sms_free(NULL);
	/* fic_lead_sms_sent checks the same */
	assert_int_equal(fic_lead_sms_sent(NULL, urgent), FIC_EINVAL);
	assert_int_equal(fic_lead_sms_sent(f->store, NULL), FIC_EINVAL);
	assert_int_equal(fic_lead_sms_sent(f->store, ""), FIC_EINVAL);
	assert_int_equal(fic_lead_sms_sent(f->store, tip), FIC_ESTATE);
	assert_int_equal(fic_lead_sms_sent(f->store, huge), FIC_ETOOBIG);
	/* the settings */
	static const char *const numbers[] = { "12", "abc", "+", "++8613800138000",
		                               "123456789012345678901", "10655 000" };
	for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++)
		assert_int_equal(fic_setting_set(f->store, "sms_gateway_number", numbers[i]), FIC_EINVAL);
	assert_int_equal(fic_setting_set(f->store, "sms_fallback_minutes", "121"), FIC_EINVAL);
	assert_int_equal(fic_setting_set(f->store, "sms_fallback_minutes", "-1"), FIC_EINVAL);
	assert_int_equal(fic_setting_set(f->store, "sms_fallback_minutes", "1h"), FIC_EINVAL);
	char *v;
	assert_int_equal(fic_setting_get(&v, f->store, "sms_fallback_minutes"), FIC_OK);
	assert_string_equal(v, "60");
	fic_free(v);
}

static size_t due_count(fixture *f, const char *first_id)
{
	char *t;
	assert_int_equal(fic_lead_sms_due_json(&t, f->store), FIC_OK);
	cJSON *j = cJSON_Parse(t);
	fic_free(t);
	const cJSON *leads = cJSON_GetObjectItem(j, "leads");
	size_t n = (size_t)cJSON_GetArraySize(leads);
	if (first_id)
		assert_string_equal(jstr(cJSON_GetArrayItem(leads, 0), "lead_id"), first_id);
	cJSON_Delete(j);
	return n;
}

static void a_lead_is_due_by_sms_when_its_deadline_nears_undelivered(void **state)
{
	fixture *f = *state;
	char a[FIC_UUID_BUFSIZE], b[FIC_UUID_BUFSIZE], tip[FIC_UUID_BUFSIZE];
	file(f, "event.foodborne", tu_foodborne_answers, a);
	advance(f, 10 * MIN);
	file(f, "event.two_non", two_non_answers, b);
	file(f, "lead.tip_off", tu_tip_off_answers, tip);
	/* 110 and 120 minutes left: data has time yet. */
	assert_int_equal(due_count(f, NULL), 0);
	char *t;
	assert_int_equal(fic_lead_sms_due_json(&t, f->store), FIC_OK);
	cJSON *j = cJSON_Parse(t);
	fic_free(t);
	assert_int_equal(cJSON_GetNumberValue(cJSON_GetObjectItem(j, "fallback_minutes")), 60);
	assert_string_equal(jstr(j, "recipient"), GATEWAY);
	cJSON_Delete(j);
	/* 61 minutes on: the first has 59 minutes left, within the hour. */
	advance(f, 51 * MIN);
	assert_int_equal(due_count(f, a), 1);
	advance(f, 10 * MIN);
	assert_int_equal(due_count(f, a), 2);
	/* Sent: no longer asked for. */
	assert_int_equal(fic_lead_sms_sent(f->store, a), FIC_OK);
	assert_int_equal(due_count(f, b), 1);
	cJSON *lj = lead_json(f, a);
	const cJSON *sms = cJSON_GetObjectItem(lj, "sms");
	assert_non_null(sms);
	assert_int_equal(cJSON_GetNumberValue(cJSON_GetObjectItem(sms, "times_sent")), 1);
	assert_int_equal(cJSON_GetNumberValue(cJSON_GetObjectItem(sms, "parts")), 1);
	assert_string_equal(jstr(sms, "recipient"), GATEWAY);
	assert_null(cJSON_GetObjectItem(sms, "receipt_id"));
	cJSON_Delete(lj);
	assert_int_equal(fic_lead_sms_sent(f->store, a), FIC_OK);
	lj = lead_json(f, a);
	assert_int_equal(cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(lj, "sms"),
	                                                           "times_sent")), 2);
	cJSON_Delete(lj);
	/* Only when asked: the margin 0 lists nothing. */
	assert_int_equal(fic_setting_set(f->store, "sms_fallback_minutes", "0"), FIC_OK);
	assert_int_equal(due_count(f, NULL), 0);
	/* A wider margin takes the lead at once. */
	assert_int_equal(fic_setting_set(f->store, "sms_fallback_minutes", "120"), FIC_OK);
	assert_int_equal(due_count(f, b), 1);
	/* A delivered lead is never due. */
	assert_int_equal(fic__tx_begin(f->store), FIC_OK);
	assert_int_equal(fic__tx_end(f->store, fic__lead_mark(f->store, b, "delivered", "R1", 1, NULL)),
	                 FIC_OK);
	assert_int_equal(due_count(f, NULL), 0);
	assert_int_equal(fic_lead_sms_due_json(NULL, f->store), FIC_EINVAL);
	assert_int_equal(fic_lead_sms_due_json(&t, NULL), FIC_EINVAL);
}

static void an_unchecked_clock_makes_every_undelivered_lead_due(void **state)
{
	fixture *f = *state;
	/* A store whose clock never met the server's: no deadline can be trusted. */
	tu_fixture *g = tu_fixture_new(NULL);
	assert_non_null(g);
	char id[FIC_UUID_BUFSIZE];
	assert_int_equal(fic_lead_file(id, g->store, "event.foodborne", tu_foodborne_answers, NULL, 0,
	                               0), FIC_OK);
	char *t;
	assert_int_equal(fic_lead_sms_due_json(&t, g->store), FIC_OK);
	cJSON *j = cJSON_Parse(t);
	fic_free(t);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "leads")), 1);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "recipient")));
	cJSON_Delete(j);
	tu_fixture_free(g);
	(void)f;
}

static void the_countys_confirmation_delivers_the_lead_and_data_never_moves_it_back(void **state)
{
	fixture *f = *state;
	char id[FIC_UUID_BUFSIZE], other[FIC_UUID_BUFSIZE];
	file(f, "event.foodborne", tu_foodborne_answers, id);
	file(f, "event.foodborne", tu_foodborne_answers, other);
	assert_int_equal(fic_lead_sms_sent(f->store, id), FIC_OK);
	char ok[200], forged[200], for_other[200];
	int64_t at = f->clock.wall_ms + 5000;
	assert_int_equal(fic__sms_receipt_make(ok, sizeof ok, KEY, id, "a1b2c3d4e5f60718293a4b5c", at),
	                 FIC_OK);
	static const uint8_t WRONG[FIC_SMS_KEY_BYTES] = { 1 };
	assert_int_equal(fic__sms_receipt_make(forged, sizeof forged, WRONG, id, "a1b2c3d4e5f60718293a4b5c",
	                                       at), FIC_OK);
	assert_int_equal(fic__sms_receipt_make(for_other, sizeof for_other, KEY, other, "ffff", at),
	                 FIC_OK);
	/* arguments */
	assert_int_equal(fic_lead_sms_receipt(NULL, id, ok), FIC_EINVAL);
	assert_int_equal(fic_lead_sms_receipt(f->store, NULL, ok), FIC_EINVAL);
	assert_int_equal(fic_lead_sms_receipt(f->store, id, NULL), FIC_EINVAL);
	assert_int_equal(fic_lead_sms_receipt(f->store, id, ""), FIC_EINVAL);
	char huge[400];
	memset(huge, 'x', sizeof huge - 1);
	huge[sizeof huge - 1] = '\0';
	assert_int_equal(fic_lead_sms_receipt(f->store, id, huge), FIC_ETOOBIG);
	assert_int_equal(fic_lead_sms_receipt(f->store, id, "FI1 OK hello"), FIC_EINVAL);
	assert_int_equal(fic_lead_sms_receipt(f->store, id, "\xc3\x28"), FIC_EINVAL);
	/* forged, another lead's, the county's refusal: the lead stays queued */
	assert_int_equal(fic_lead_sms_receipt(f->store, id, forged), FIC_EAUTH);
	assert_int_equal(fic_lead_sms_receipt(f->store, id, for_other), FIC_EINVAL);
	assert_int_equal(fic_lead_sms_receipt(f->store, id, "FI1 ERR not verified, phone the county"),
	                 FIC_EINVAL);
	assert_non_null(strstr(fic_error_last()->message, "phone the county"));
	cJSON *j = lead_json(f, id);
	assert_string_equal(jstr(j, "state"), "queued");
	cJSON_Delete(j);
	/* the real one, pasted with a line break */
	char pasted[220];
	snprintf(pasted, sizeof pasted, "%s\n", ok);
	assert_int_equal(fic_lead_sms_receipt(f->store, id, pasted), FIC_OK);
	j = lead_json(f, id);
	assert_string_equal(jstr(j, "state"), "delivered");
	assert_string_equal(jstr(j, "receipt_id"), "a1b2c3d4e5f60718293a4b5c");
	assert_int_equal((int64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(j, "receipt_at_ms")), at);
	const cJSON *sms = cJSON_GetObjectItem(j, "sms");
	assert_string_equal(jstr(sms, "receipt_id"), "a1b2c3d4e5f60718293a4b5c");
	assert_int_equal((int64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(sms, "received_at_ms")), at);
	cJSON_Delete(j);
	/* never at risk now, even past the deadline; no SMS asked for, none made */
	advance(f, 150 * MIN);
	fic_lead_list *l;
	assert_int_equal(fic_lead_list_get(&l, f->store, 0), FIC_OK);
	for (size_t i = 0; i < l->count; i++)
		if (strcmp(l->entries[i].id, id) == 0)
			assert_false(l->entries[i].at_risk);
	fic_lead_list_free(l);
	assert_int_equal(due_count(f, other), 1);
	fic_sms *m;
	assert_int_equal(fic_lead_sms(&m, f->store, id), FIC_ESTATE);
	/* taking it twice is harmless */
	assert_int_equal(fic_lead_sms_receipt(f->store, id, ok), FIC_OK);
	/* The record still goes up by data; its answer — the same receipt, or a
	 * refusal — leaves the lead delivered, and the outbox row answered. */
	fic__outbox_batch *batch;
	assert_int_equal(fic__outbox_next_batch(f->store, f->clock.wall_ms, 500, 1 << 20, &batch),
	                 FIC_OK);
	assert_non_null(batch);
	fic__record_result res[2];
	memset(res, 0, sizeof res);
	for (size_t i = 0; i < batch->count; i++) {
		bool mine = strcmp(batch->items[i].record_id, id) == 0;
		res[i].kind = mine ? FIC__RESULT_DUPLICATE : FIC__RESULT_REJECTED;
		res[i].receipt_id = mine ? "a1b2c3d4e5f60718293a4b5c" : NULL;
		res[i].received_at_ms = mine ? at : 0;
		res[i].reason = mine ? NULL : "test refusal";
	}
	assert_int_equal(fic__outbox_apply_batch(f->store, batch, res, f->clock.wall_ms, 1, NULL),
	                 FIC_OK);
	fic__outbox_batch_free(batch);
	j = lead_json(f, id);
	assert_string_equal(jstr(j, "state"), "delivered");
	assert_string_equal(jstr(j, "receipt_id"), "a1b2c3d4e5f60718293a4b5c");
	cJSON_Delete(j);
	j = lead_json(f, other);
	assert_string_equal(jstr(j, "state"), "rejected");
	cJSON_Delete(j);
	/* A lead refused by data but confirmed by SMS is delivered: the county has it. */
	char late[200];
	assert_int_equal(fic__sms_receipt_make(late, sizeof late, KEY, other, "beef", at + 1), FIC_OK);
	assert_int_equal(fic_lead_sms_receipt(f->store, other, late), FIC_OK);
	j = lead_json(f, other);
	assert_string_equal(jstr(j, "state"), "delivered");
	assert_null(cJSON_GetObjectItem(j, "reject_reason"));
	cJSON_Delete(j);
	assert_int_equal(fic_evidence_verify(NULL, f->store), FIC_OK);
	assert_int_equal(fic_store_check(f->store), FIC_OK);
}

static void out_of_memory_making_a_message_is_reported_and_leaks_nothing(void **state)
{
	fixture *f = *state;
	char id[FIC_UUID_BUFSIZE];
	file(f, "event.foodborne", tu_foodborne_answers, id);
	for (long n = 1; n < 3000; n++) {
		long before = tu_alloc_live();
		tu_alloc_fail_at(n);
		fic_sms *m = NULL;
		int rc = fic_lead_sms(&m, f->store, id);
		bool failed = tu_alloc_failed();
		tu_alloc_fail_at(0);
		fic_sms_free(m);
		assert_int_equal(tu_alloc_live(), before);
		if (!failed) {
			assert_int_equal(rc, FIC_OK);
			return;
		}
		assert_null(m);
		if (rc != FIC_ENOMEM)
			fail_msg("allocation %ld: %s (%s)", n, fic_result_str(rc), fic_error_last()->message);
	}
	fail_msg("more than 3000 allocations");
}

int main(void)
{
	tu_alloc_install();
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(an_urgent_lead_becomes_one_sms_to_the_gateway),
		T(an_informant_never_travels_by_sms),
		T(a_patrol_finding_travels_with_its_own_words),
		T(only_a_submitted_urgent_lead_to_a_known_gateway_goes),
		T(a_lead_is_due_by_sms_when_its_deadline_nears_undelivered),
		T(an_unchecked_clock_makes_every_undelivered_lead_due),
		T(the_countys_confirmation_delivers_the_lead_and_data_never_moves_it_back),
		T(out_of_memory_making_a_message_is_reported_and_leaks_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
