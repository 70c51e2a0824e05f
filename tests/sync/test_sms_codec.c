/*
 * tests/sync/test_sms_codec.c — the SMS format of an urgent lead
 * (sync/sms_codec.c): generated leads of every category, with Chinese text
 * inside and outside the BMP and extreme values, come back exactly (texts
 * cut at the codebook's length, at a character, and marked so) through
 * parts that arrive in any order and more than once; a part missing,
 * conflicting or from another message is refused; every one-character
 * alteration, another device's key and a re-sealed bomb are refused; the
 * base-80 digits are exact for every length; the county's confirmation
 * verifies only for its lead with its key. FIC_SMS_TEST_SEED=N and
 * FIC_SMS_TEST_LEADS=N replay or widen the property runs;
 * FIC_TEST_FILTER=NAME runs only the tests it matches.
 */
#include "testutil.h"
#include "internal.h"
#include "sms_codec.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static const uint8_t KEY[FIC_SMS_KEY_BYTES] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
	                                        16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27,
	                                        28, 29, 30, 31, 32 };
static const uint8_t OTHER_KEY[FIC_SMS_KEY_BYTES] = { 32, 31, 30 };

/* ---- a small deterministic generator ---- */

static uint64_t rng;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static uint64_t below(uint64_t n)
{
	return n ? next() % n : 0;
}

static void put_utf8(char *buf, size_t *n, uint32_t cp)
{
	if (cp < 0x80) {
		buf[(*n)++] = (char)cp;
	} else if (cp < 0x800) {
		buf[(*n)++] = (char)(0xC0 | (cp >> 6));
		buf[(*n)++] = (char)(0x80 | (cp & 0x3F));
	} else if (cp < 0x10000) {
		buf[(*n)++] = (char)(0xE0 | (cp >> 12));
		buf[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
		buf[(*n)++] = (char)(0x80 | (cp & 0x3F));
	} else {
		buf[(*n)++] = (char)(0xF0 | (cp >> 18));
		buf[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3F));
		buf[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
		buf[(*n)++] = (char)(0x80 | (cp & 0x3F));
	}
}

/* Random text of `chars` characters: common and rare CJK, CJK Extension B
 * (outside the BMP), full-width punctuation, ASCII, emoji. malloc'd. */
static char *random_text(size_t chars)
{
	char *s = malloc(chars * 4 + 1);
	size_t n = 0;
	for (size_t i = 0; i < chars; i++) {
		uint32_t cp;
		switch (below(8)) {
		case 0: cp = 0x20000 + (uint32_t)below(0xA6DF); break; /* 𠀀… Extension B */
		case 1: cp = 0x1F600 + (uint32_t)below(0x50); break;   /* emoji */
		case 2: cp = 0x21 + (uint32_t)below(0x5E); break;      /* ASCII */
		case 3: cp = 0xFF01 + (uint32_t)below(0x5E); break;    /* full-width forms */
		default: cp = 0x4E00 + (uint32_t)below(0x51A6); break; /* CJK unified */
		}
		put_utf8(s, &n, cp);
	}
	s[n] = '\0';
	return s;
}

static size_t chars_of(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

/* ---- the codebook, read the way the codec reads it ---- */

static cJSON *codebook(void)
{
	for (size_t i = 0; i < fic__sms_files_count; i++)
		if (strcmp(fic__sms_files[i].name, "codebook-v1.json") == 0)
			return cJSON_ParseWithLength((const char *)fic__sms_files[i].data,
			                             fic__sms_files[i].len);
	fail_msg("no codebook-v1.json built in");
	return NULL;
}

static double extreme_count(void)
{
	switch (below(4)) {
	case 0: return 0;
	case 1: return 999999999;
	default: return (double)below(2000);
	}
}

/* Valid answers for every item of a category, some left out. */
static cJSON *random_answers(const cJSON *cat)
{
	cJSON *a = cJSON_CreateObject();
	const cJSON *it;
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(cat, "items")) {
		if (below(5) == 0)
			continue;
		const char *id = cJSON_GetObjectItem(it, "id")->valuestring;
		const char *type = cJSON_GetObjectItem(it, "type")->valuestring;
		const cJSON *choices = cJSON_GetObjectItem(it, "choices");
		int nc = cJSON_GetArraySize(choices);
		if (strcmp(type, "count") == 0) {
			cJSON_AddNumberToObject(a, id, extreme_count());
		} else if (strcmp(type, "counts") == 0) {
			cJSON *arr = cJSON_AddArrayToObject(a, id);
			size_t n = below(3) == 0 ? 64 : 1 + below(14);
			for (size_t i = 0; i < n; i++)
				cJSON_AddItemToArray(arr, cJSON_CreateNumber(extreme_count()));
		} else if (strcmp(type, "date") == 0) {
			char d[11];
			/* around the lead's day, and the ends of what a form accepts */
			int64_t day = below(4) == 0 ? (below(2) ? -25567 : 376199) : 20500 + (int64_t)below(60);
			fic__days_format(day, d);
			cJSON_AddStringToObject(a, id, d);
		} else if (strcmp(type, "multi") == 0) {
			/* in the codebook's order, as they come back */
			cJSON *arr = cJSON_AddArrayToObject(a, id);
			for (int i = 0; i < nc; i++)
				if (below(2) || (i == nc - 1 && cJSON_GetArraySize(arr) == 0))
					cJSON_AddItemToArray(arr, cJSON_CreateString(
						cJSON_GetArrayItem(choices, i)->valuestring));
		} else { /* choice, yes_no */
			cJSON_AddStringToObject(a, id,
			                        cJSON_GetArrayItem(choices, (int)below((uint64_t)nc))->valuestring);
		}
	}
	return a;
}

static void random_lead(fic__sms_lead *l, const cJSON *book)
{
	memset(l, 0, sizeof *l);
	int64_t ms = 1600000000000LL + (int64_t)below(400000000000ULL);
	uint8_t r8[8];
	for (int i = 0; i < 8; i++)
		r8[i] = (uint8_t)next();
	fic__uuid7_bytes(l->lead_id, ms, (uint16_t)below(4096), r8);
	const cJSON *cats = cJSON_GetObjectItem(book, "categories");
	int nc = cJSON_GetArraySize(cats);
	int pick = (int)below((uint64_t)nc + 1);
	const cJSON *cat = pick < nc ? cJSON_GetArrayItem(cats, pick) : NULL;
	snprintf(l->category, sizeof l->category, "%s",
	         cat ? cJSON_GetObjectItem(cat, "category")->valuestring : "county_own_form.v2");
	l->answers = cat ? random_answers(cat) : cJSON_CreateObject();
	/* discovered: near the id's time, or years away either side */
	int64_t off = below(4) == 0 ? (int64_t)below(2 * 315360000000ULL) - 315360000000LL
	                            : -(int64_t)below(7200000);
	l->discovered_ms = ms + off;
	l->time_flags = (int)below(8);
	switch (below(3)) {
	case 0: break;
	case 1: fic__uuid_format(l->lead_id, l->site_id); break; /* a site found in the field */
	default: {
		static const char idc[] = "abcXYZ0189-_.";
		size_t n = below(3) == 0 ? 63 : 1 + below(20);
		for (size_t i = 0; i < n; i++)
			l->site_id[i] = idc[below(sizeof idc - 1)];
	}
	}
	if (below(2)) {
		l->has_location = true;
		switch (below(4)) {
		case 0: l->lat = below(2) ? 90 : -90; l->lon = below(2) ? 180 : -180; break;
		case 1: l->lat = 0; l->lon = 0; break;
		default:
			l->lat = 18 + (double)below(3600000) / 1e5;
			l->lon = 73 + (double)below(6200000) / 1e5;
		}
	}
	if (below(4))
		l->place = random_text(1 + below(40));
	if (below(5))
		l->description = random_text(1 + below(100));
}

/* `got` is `want` as it travels: exact, or its first `cap` characters, marked. */
static void assert_text_travelled(const char *want, const char *got, bool cut, size_t cap)
{
	if (want == NULL) {
		assert_null(got);
		return;
	}
	assert_non_null(got);
	if (chars_of(want) <= cap) {
		assert_string_equal(got, want);
		assert_false(cut);
	} else {
		assert_int_equal(chars_of(got), cap);
		assert_memory_equal(got, want, strlen(got));
		assert_true(cut);
	}
}

static void assert_same_lead(const fic__sms_lead *a, const fic__sms_lead *b)
{
	assert_memory_equal(a->lead_id, b->lead_id, 16);
	assert_string_equal(a->category, b->category);
	/* whole seconds from the id's time, rounded down */
	assert_true(b->discovered_ms <= a->discovered_ms && a->discovered_ms - b->discovered_ms < 1000);
	assert_int_equal(a->time_flags, b->time_flags);
	assert_string_equal(a->site_id, b->site_id);
	assert_int_equal(a->has_location, b->has_location);
	if (a->has_location) {
		assert_true(fabs(a->lat - b->lat) <= 5.000001e-6);
		assert_true(fabs(a->lon - b->lon) <= 5.000001e-6);
	}
	if (!cJSON_Compare(a->answers, b->answers, true)) {
		char *x = cJSON_PrintUnformatted(a->answers), *y = cJSON_PrintUnformatted(b->answers);
		fail_msg("answers differ:\n sent %s\n back %s", x, y);
	}
	assert_text_travelled(a->place, b->place, b->place_truncated, 24);
	assert_text_travelled(a->description, b->description, b->description_truncated, 70);
}

/* Parts → (shuffled, some twice) → join → open. */
static void round_trip(const fic__sms_lead *l, size_t *parts_out)
{
	fic__sms_parts p;
	assert_int_equal(fic__sms_encode(l, KEY, &p), FIC_OK);
	assert_true(p.count >= 1 && p.count <= FIC_SMS_PARTS_LIMIT);
	const char *texts[2 * FIC_SMS_PARTS_LIMIT];
	size_t n = 0;
	for (size_t i = 0; i < p.count; i++) {
		assert_true(strlen(p.text[i]) <= FIC_SMS_TEXT_CHARS);
		for (const char *c = p.text[i]; *c; c++)
			assert_non_null(strchr(fic__sms_alphabet, *c));
		texts[n++] = p.text[i];
		if (below(3) == 0)
			texts[n++] = p.text[i];
	}
	for (size_t i = n; i > 1; i--) {
		size_t j = below(i);
		const char *t = texts[i - 1];
		texts[i - 1] = texts[j];
		texts[j] = t;
	}
	uint8_t *frame;
	size_t flen;
	assert_int_equal(fic__sms_join(texts, n, &frame, &flen), FIC_OK);
	assert_int_equal(flen, p.frame_bytes);
	fic__sms_lead back;
	int rc = fic__sms_open(frame, flen, KEY, &back);
	if (rc != FIC_OK)
		fail_msg("open: %s", fic_error_last()->message);
	assert_same_lead(l, &back);
	/* The same lead gives the same parts: a resend is the same message. */
	fic__sms_parts again;
	assert_int_equal(fic__sms_encode(l, KEY, &again), FIC_OK);
	assert_int_equal(again.count, p.count);
	for (size_t i = 0; i < p.count; i++)
		assert_string_equal(again.text[i], p.text[i]);
	if (parts_out)
		*parts_out = p.count;
	fic__sms_parts_clear(&again);
	fic__sms_lead_clear(&back);
	fic__free(frame);
	fic__sms_parts_clear(&p);
}

static uint64_t seed_from_env(uint64_t dflt)
{
	const char *s = getenv("FIC_SMS_TEST_SEED");
	return s && *s ? strtoull(s, NULL, 10) : dflt;
}

static void generated_leads_of_every_category_come_back_exactly(void **state)
{
	(void)state;
	cJSON *book = codebook();
	const char *ns = getenv("FIC_SMS_TEST_LEADS");
	int leads = ns && *ns ? atoi(ns) : 600;
	uint64_t seed = seed_from_env(20261201);
	int per_category[32] = { 0 }, multi = 0;
	for (int i = 0; i < leads; i++) {
		rng = seed * 1000003 + (uint64_t)i + 1;
		fic__sms_lead l;
		random_lead(&l, book);
		size_t parts = 0;
		int cat = 0;
		const cJSON *c;
		cJSON_ArrayForEach(c, cJSON_GetObjectItem(book, "categories")) {
			if (strcmp(cJSON_GetObjectItem(c, "category")->valuestring, l.category) == 0)
				break;
			cat++;
		}
		per_category[cat]++;
		round_trip(&l, &parts);
		multi += parts > 1;
		fic__sms_lead_clear(&l);
	}
	/* The run covered every category (and the escape of a county's own form)
	 * and messages of several parts. */
	int ncat = cJSON_GetArraySize(cJSON_GetObjectItem(book, "categories"));
	for (int i = 0; i <= ncat; i++)
		assert_true(per_category[i] > 0);
	assert_true(multi > leads / 10);
	cJSON_Delete(book);
}

/* A lead that takes several parts: long texts, many numbers. */
static void big_lead(fic__sms_lead *l)
{
	memset(l, 0, sizeof *l);
	fic__sms_uuid_parse("0192e4c1-7a2b-7c3d-8e4f-123456789abc", l->lead_id);
	snprintf(l->category, sizeof l->category, "school_cluster");
	l->discovered_ms = 0x0192e4c17a2bLL - 3600000;
	l->answers = cJSON_Parse("{\"unit_type\":\"class\",\"first_date\":\"2024-10-28\","
	                         "\"daily_cases\":[1,2,3,4,5,6,7,8,9,10,11,12,13,14],"
	                         "\"symptoms\":[\"unexplained_fever\",\"rash\"],"
	                         "\"similar_symptoms\":\"yes\",\"shared_meal_or_water\":\"no\","
	                         "\"verified\":\"yes\"}");
	rng = 99;
	l->place = random_text(24);
	l->description = random_text(70);
	snprintf(l->site_id, sizeof l->site_id, "500240-SCHOOL-000123");
}

static void parts_arriving_out_of_order_or_twice_join_the_same(void **state)
{
	(void)state;
	fic__sms_lead l;
	big_lead(&l);
	fic__sms_parts p;
	assert_int_equal(fic__sms_encode(&l, KEY, &p), FIC_OK);
	assert_true(p.count >= 3);
	/* Every order of the first three parts, the rest reversed, each part twice. */
	static const int perms[6][3] = { { 0, 1, 2 }, { 0, 2, 1 }, { 1, 0, 2 },
		                         { 1, 2, 0 }, { 2, 0, 1 }, { 2, 1, 0 } };
	for (int k = 0; k < 6; k++) {
		const char *t[2 * FIC_SMS_PARTS_LIMIT];
		size_t n = 0;
		for (int i = 0; i < 3; i++)
			t[n++] = p.text[perms[k][i]];
		for (size_t i = p.count; i-- > 3;)
			t[n++] = p.text[i];
		for (size_t i = 0; i < p.count; i++)
			t[n++] = p.text[(i + (size_t)k) % p.count];
		uint8_t *frame;
		size_t flen;
		assert_int_equal(fic__sms_join(t, n, &frame, &flen), FIC_OK);
		fic__sms_lead back;
		assert_int_equal(fic__sms_open(frame, flen, KEY, &back), FIC_OK);
		assert_same_lead(&l, &back);
		fic__sms_lead_clear(&back);
		fic__free(frame);
	}
	/* Line ends and spaces a gateway or a paste adds are no matter. */
	char padded[200];
	snprintf(padded, sizeof padded, "  %s\r\n", p.text[0]);
	const char *t[FIC_SMS_PARTS_LIMIT];
	t[0] = padded;
	for (size_t i = 1; i < p.count; i++)
		t[i] = p.text[i];
	uint8_t *frame;
	size_t flen;
	assert_int_equal(fic__sms_join(t, p.count, &frame, &flen), FIC_OK);
	fic__free(frame);
	fic__sms_parts_clear(&p);
	fic__sms_lead_clear(&l);
}

static void a_missing_conflicting_or_foreign_part_is_refused(void **state)
{
	(void)state;
	fic__sms_lead l;
	big_lead(&l);
	fic__sms_parts p, q;
	assert_int_equal(fic__sms_encode(&l, KEY, &p), FIC_OK);
	cJSON_ReplaceItemInObject(l.answers, "verified", cJSON_CreateString("no"));
	assert_int_equal(fic__sms_encode(&l, KEY, &q), FIC_OK);
	uint8_t *frame;
	size_t flen;
	/* one missing */
	assert_int_equal(fic__sms_join((const char *const *)p.text + 1, p.count - 1, &frame, &flen),
	                 FIC_EINCOMPLETE);
	assert_null(frame);
	assert_non_null(strstr(fic_error_last()->message, "part 1 of"));
	/* a part of another message (another tag: the MAC differs) */
	const char *mixed[FIC_SMS_PARTS_LIMIT];
	for (size_t i = 0; i < p.count; i++)
		mixed[i] = i == 1 ? q.text[1] : p.text[i];
	assert_int_equal(fic__sms_join(mixed, p.count, &frame, &flen), FIC_EINVAL);
	/* the same part twice, saying different things */
	char changed[200];
	snprintf(changed, sizeof changed, "%s", p.text[0]);
	changed[strlen(changed) - 1] = changed[strlen(changed) - 1] == '0' ? '1' : '0';
	const char *twice[FIC_SMS_PARTS_LIMIT + 1];
	for (size_t i = 0; i < p.count; i++)
		twice[i] = p.text[i];
	twice[p.count] = changed;
	assert_int_equal(fic__sms_join(twice, p.count + 1, &frame, &flen), FIC_EINVAL);
	assert_non_null(strstr(fic_error_last()->message, "twice"));
	fic__sms_parts_clear(&p);
	fic__sms_parts_clear(&q);
	fic__sms_lead_clear(&l);
}

static void typical_lead(fic__sms_lead *l)
{
	memset(l, 0, sizeof *l);
	fic__sms_uuid_parse("0192e4c1-7a2b-7c3d-8e4f-123456789abc", l->lead_id);
	snprintf(l->category, sizeof l->category, "foodborne");
	l->discovered_ms = 0x0192e4c17a2bLL - 60000;
	l->answers = cJSON_Parse("{\"onset_date\":\"2024-10-31\",\"exposed\":120,\"ill\":14,"
	                         "\"dead\":0,\"symptoms\":[\"vomiting\",\"diarrhoea\"],"
	                         "\"verified\":\"yes\"}");
	l->place = fic__strdup("镇中心饭店");
	l->description = fic__strdup("中午李家婚宴就餐后多人呕吐腹泻，已送镇卫生院");
}

static void every_altered_character_and_another_key_are_refused(void **state)
{
	(void)state;
	fic__sms_lead l;
	typical_lead(&l);
	fic__sms_parts p;
	assert_int_equal(fic__sms_encode(&l, KEY, &p), FIC_OK);
	assert_int_equal(p.count, 1);
	const char *orig = p.text[0];
	size_t len = strlen(orig);
	char t[200];
	int tried = 0;
	/* Every position of the digits, three substitutes each: never accepted. */
	for (size_t i = 3; i < len; i++) {
		for (int k = 1; k <= 3; k++) {
			snprintf(t, sizeof t, "%s", orig);
			const char *at = strchr(fic__sms_alphabet, orig[i]);
			t[i] = fic__sms_alphabet[((at - fic__sms_alphabet) + k * 27) % 80];
			const char *one[1] = { t };
			uint8_t *frame = NULL;
			size_t flen;
			int rc = fic__sms_join(one, 1, &frame, &flen);
			if (rc == FIC_OK) {
				fic__sms_lead back;
				rc = fic__sms_open(frame, flen, KEY, &back);
				fic__sms_lead_clear(&back);
				fic__free(frame);
				assert_int_equal(rc, FIC_EAUTH);
			} else {
				assert_int_equal(rc, FIC_EINVAL); /* spells a number too large */
			}
			tried++;
		}
	}
	assert_true(len > 100);
	assert_int_equal(tried, 3 * (int)(len - 3));
	/* The header: another format, or not ours. */
	snprintf(t, sizeof t, "%s", orig);
	t[2] = '2';
	const char *one[1] = { t };
	uint8_t *frame;
	size_t flen;
	assert_int_equal(fic__sms_join(one, 1, &frame, &flen), FIC_EINVAL);
	assert_non_null(strstr(fic_error_last()->message, "format 2"));
	/* Another device's key: the MAC does not verify, and nothing is decoded. */
	one[0] = orig;
	assert_int_equal(fic__sms_join(one, 1, &frame, &flen), FIC_OK);
	fic__sms_lead back;
	assert_int_equal(fic__sms_open(frame, flen, OTHER_KEY, &back), FIC_EAUTH);
	assert_null(back.answers);
	assert_int_not_equal(fic__sms_frame_hint(frame, flen), -1);
	assert_int_equal(fic__sms_frame_hint(frame, flen), fic__sms_key_hint(KEY));
	fic__free(frame);
	fic__sms_parts_clear(&p);
	fic__sms_lead_clear(&l);
}

static void a_sealed_frame_that_does_not_decode_is_refused(void **state)
{
	(void)state;
	/* Someone with the key (a bug, another format) cannot make the county
	 * inflate without bound or read past a body. */
	uint8_t body[10000];
	memset(body, 0, sizeof body);
	uint8_t *z;
	size_t zn;
	assert_int_equal(fic__sms_deflate(body, sizeof body, true, &z, &zn), FIC_OK);
	uint8_t frame[512];
	size_t n = 1 + 16 + zn + FIC_SMS_MAC_BYTES;
	assert_true(n <= sizeof frame);
	frame[0] = fic__sms_key_hint(KEY);
	assert_int_equal(fic__sms_uuid_parse("0192e4c1-7a2b-7c3d-8e4f-123456789abc", frame + 1),
	                 FIC_OK);
	memcpy(frame + 17, z, zn);
	assert_int_equal(fic__sms_frame_seal(frame, n, KEY), FIC_OK);
	fic__sms_lead back;
	assert_int_equal(fic__sms_open(frame, n, KEY, &back), FIC_EINVAL);
	assert_non_null(strstr(fic_error_last()->message, "inflate"));
	fic__free(z);
	/* A body that inflates but is not a body of this format. */
	uint8_t junk[3] = { 0x01, 0x02, 0x03 };
	assert_int_equal(fic__sms_deflate(junk, sizeof junk, true, &z, &zn), FIC_OK);
	n = 1 + 16 + zn + FIC_SMS_MAC_BYTES;
	memcpy(frame + 17, z, zn);
	assert_int_equal(fic__sms_frame_seal(frame, n, KEY), FIC_OK);
	assert_int_equal(fic__sms_open(frame, n, KEY, &back), FIC_EINVAL);
	assert_non_null(strstr(fic_error_last()->message, "does not follow format"));
	fic__free(z);
}

static void malformed_texts_are_refused(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"", "   ", "FI", "FI1", "fi1ABC", "FX1ABC", "FI0ABC", "FI1AB\"C", "FI1AB CD", "FI1AB'C",
		"FI1AB[C", "FI1AB€C", "FP1", "FP112AB", "FP131ABCDEF", "FP11AABCDEF", "FP10AABCD",
		"FP1112ABCDE", "FP121A CDEF", "FI1\x01\x02",
	};
	fic__sms_part_info info;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (fic__sms_part_parse(bad[i], strlen(bad[i]), &info) == FIC_OK)
			fail_msg("accepted: %s", bad[i]);
		assert_int_equal(fic_error_last()->code, FIC_EINVAL);
	}
	assert_int_equal(fic__sms_part_parse(NULL, 0, &info), FIC_EINVAL);
	assert_int_equal(fic__sms_part_parse("FI1A", 4, NULL), FIC_EINVAL);
	char longer[300];
	memset(longer, 'A', sizeof longer);
	memcpy(longer, "FI1", 3);
	assert_int_equal(fic__sms_part_parse(longer, 161, &info), FIC_EINVAL);
	/* A digit string of a length no frame has, or too short for one. */
	uint8_t *frame;
	size_t flen;
	const char *shorty[] = { "FI1ABCDEFGHIJ" };
	assert_int_equal(fic__sms_join(shorty, 1, &frame, &flen), FIC_EINVAL);
	assert_int_equal(fic__sms_join(NULL, 0, &frame, &flen), FIC_EINVAL);
	assert_int_equal(fic__sms_join(shorty, 1, NULL, &flen), FIC_EINVAL);
	/* What a county's own gateway may pass on (a greeting, not ours) is just not a part. */
	assert_int_equal(fic__sms_part_parse("你好，请问", strlen("你好，请问"), &info), FIC_EINVAL);
}

static void texts_are_cut_at_a_character_and_bad_input_is_refused(void **state)
{
	(void)state;
	fic__sms_lead l;
	typical_lead(&l);
	/* 69 characters then one outside the BMP straddling the cut, then more. */
	char d[400] = "";
	for (int i = 0; i < 69; i++)
		strcat(d, "水");
	strcat(d, "𠀋𠀋𠀋");
	fic__free(l.description);
	l.description = fic__strdup(d);
	fic__sms_parts p;
	assert_int_equal(fic__sms_encode(&l, KEY, &p), FIC_OK);
	uint8_t *frame;
	size_t flen;
	assert_int_equal(fic__sms_join((const char *const *)p.text, p.count, &frame, &flen), FIC_OK);
	fic__sms_lead back;
	assert_int_equal(fic__sms_open(frame, flen, KEY, &back), FIC_OK);
	assert_int_equal(chars_of(back.description), 70);
	assert_non_null(strstr(back.description, "水𠀋"));
	assert_true(back.description_truncated);
	assert_false(back.place_truncated);
	fic__sms_lead_clear(&back);
	fic__free(frame);
	fic__sms_parts_clear(&p);
	/* Not UTF-8; a site id or category that cannot travel; a location off the globe. */
	fic__free(l.description);
	l.description = fic__strdup("\xE6\xB0");
	assert_int_equal(fic__sms_encode(&l, KEY, &p), FIC_EINVAL);
	assert_int_equal(p.count, 0);
	fic__free(l.description);
	l.description = NULL;
	snprintf(l.site_id, sizeof l.site_id, "site with spaces");
	assert_int_equal(fic__sms_encode(&l, KEY, &p), FIC_EINVAL);
	l.site_id[0] = '\0';
	snprintf(l.category, sizeof l.category, "类别");
	assert_int_equal(fic__sms_encode(&l, KEY, &p), FIC_EINVAL);
	snprintf(l.category, sizeof l.category, "foodborne");
	l.has_location = true;
	l.lat = 90.5;
	assert_int_equal(fic__sms_encode(&l, KEY, &p), FIC_EINVAL);
	l.has_location = false;
	l.lead_id[6] = 0x40; /* a UUIDv4: no time to start from */
	assert_int_equal(fic__sms_encode(&l, KEY, &p), FIC_EINVAL);
	assert_int_equal(fic__sms_encode(NULL, KEY, &p), FIC_EINVAL);
	assert_int_equal(fic__sms_encode(&l, KEY, NULL), FIC_EINVAL);
	/* Answers the codebook does not know, or malformed ones, stay home. */
	fic__sms_uuid_parse("0192e4c1-7a2b-7c3d-8e4f-123456789abc", l.lead_id);
	cJSON_Delete(l.answers);
	l.answers = cJSON_Parse("{\"exposed\":-1,\"ill\":1.5,\"dead\":\"0\",\"symptoms\":[\"sneezing\"],"
	                        "\"verified\":\"maybe\",\"contact_phone\":\"13800000000\","
	                        "\"onset_date\":\"2024-02-30\"}");
	assert_int_equal(fic__sms_encode(&l, KEY, &p), FIC_OK);
	assert_int_equal(fic__sms_join((const char *const *)p.text, p.count, &frame, &flen), FIC_OK);
	assert_int_equal(fic__sms_open(frame, flen, KEY, &back), FIC_OK);
	assert_int_equal(cJSON_GetArraySize(back.answers), 0);
	fic__sms_lead_clear(&back);
	fic__free(frame);
	fic__sms_parts_clear(&p);
	fic__sms_lead_clear(&l);
}

static void base80_digits_are_exact_for_every_length(void **state)
{
	(void)state;
	/* 80 distinct characters of GSM 03.38's basic table at their ASCII places. */
	assert_int_equal(strlen(fic__sms_alphabet), 80);
	for (int i = 0; i < 80; i++) {
		char c = fic__sms_alphabet[i];
		assert_true(c > ' ' && c < 127);
		assert_null(strchr("\"'@$_`[]{}\\^|~", c));
		assert_ptr_equal(strchr(fic__sms_alphabet, c), fic__sms_alphabet + i);
	}
	uint8_t bytes[FIC_SMS_FRAME_LIMIT], back[FIC_SMS_FRAME_LIMIT];
	char digits[3000];
	rng = 7;
	/* every length a message of one to three parts has, then a sample up to
	 * beyond nine parts (the conversion is quadratic) */
	for (size_t k = 0; k <= 1200; k += k < 400 ? 1 : 7) {
		size_t nd = fic__sms_digits_for(k);
		/* the largest k-byte number needs every digit, and no more */
		memset(bytes, 0xFF, k);
		assert_int_equal(fic__sms_to_digits(bytes, k, digits), FIC_OK);
		if (k > 0)
			assert_int_not_equal(digits[0], fic__sms_alphabet[0]);
		assert_int_equal(fic__sms_bytes_for(nd), (long)k);
		assert_int_equal(fic__sms_from_digits(digits, nd, back), FIC_OK);
		assert_memory_equal(back, bytes, k);
		for (size_t i = 0; i < k; i++)
			bytes[i] = (uint8_t)next();
		if (k > 0)
			bytes[0] = (uint8_t)(k % 3 == 0 ? 0 : bytes[0]); /* leading zero bytes too */
		assert_int_equal(fic__sms_to_digits(bytes, k, digits), FIC_OK);
		assert_int_equal(fic__sms_from_digits(digits, nd, back), FIC_OK);
		assert_memory_equal(back, bytes, k);
		/* one digit more than a length needs is never a frame */
		if (fic__sms_digits_for(k + 1) > nd + 1)
			assert_int_equal(fic__sms_bytes_for(nd + 1), -1);
	}
	/* the largest digit string of a length overflows its bytes */
	size_t nd = fic__sms_digits_for(30);
	memset(digits, fic__sms_alphabet[79], nd);
	assert_int_equal(fic__sms_from_digits(digits, nd, back), FIC_EINVAL);
	assert_int_equal(fic__sms_to_digits(bytes, FIC_SMS_FRAME_LIMIT + 1, digits), FIC_ETOOBIG);
}

static void a_confirmation_verifies_only_for_its_lead_and_key(void **state)
{
	(void)state;
	const char *lead = "0192e4c1-7a2b-7c3d-8e4f-123456789abc";
	const char *other = "0192e4c1-7a2b-7c3d-8e4f-123456789abd";
	char text[200], rid[FIC_SMS_RECEIPT_ID_MAX + 1];
	int64_t ms;
	assert_int_equal(fic__sms_receipt_make(text, sizeof text, KEY, lead, "3f9a2c1b0d9e8f7a6b5c4d3e",
	                                       1772359200123LL), FIC_OK);
	assert_true(strlen(text) <= FIC_SMS_TEXT_CHARS);
	assert_int_equal(fic__sms_receipt_check(text, KEY, lead, rid, &ms), FIC_OK);
	assert_string_equal(rid, "3f9a2c1b0d9e8f7a6b5c4d3e");
	assert_int_equal(ms, 1772359200123LL);
	/* pasted with its words on separate lines */
	char pasted[300];
	snprintf(pasted, sizeof pasted, "\n%s\n", text);
	for (char *c = pasted; *c; c++)
		if (*c == ' ')
			*c = '\n';
	assert_int_equal(fic__sms_receipt_check(pasted, KEY, lead, rid, &ms), FIC_OK);
	/* another key, another lead, an altered receipt or time */
	assert_int_equal(fic__sms_receipt_check(text, OTHER_KEY, lead, rid, &ms), FIC_EAUTH);
	assert_int_equal(fic__sms_receipt_check(text, KEY, other, rid, &ms), FIC_EINVAL);
	assert_string_equal(rid, "");
	char t[200];
	snprintf(t, sizeof t, "%s", text);
	char *p = strstr(t, "3f9a");
	p[0] = '4';
	assert_int_equal(fic__sms_receipt_check(t, KEY, lead, rid, &ms), FIC_EAUTH);
	snprintf(t, sizeof t, "%s", text);
	p = strstr(t, "1772359200123");
	p[12] = '4';
	assert_int_equal(fic__sms_receipt_check(t, KEY, lead, rid, &ms), FIC_EAUTH);
	/* the county's refusal, with its reason */
	assert_int_equal(fic__sms_receipt_check("FI1 ERR not verified, phone the county", KEY, lead,
	                                        rid, &ms), FIC_EINVAL);
	assert_non_null(strstr(fic_error_last()->message, "not verified, phone the county"));
	static const char *const bad[] = { "", "OK", "FI1 OK", "FI2 OK a b 1 0123456789abcdef",
		                           "FI1 OK 0192e4c1-7a2b-7c3d-8e4f-123456789abc r -1 0123456789abcdef" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(fic__sms_receipt_check(bad[i], KEY, lead, rid, &ms), FIC_EINVAL);
	char huge[1000];
	memset(huge, 'x', sizeof huge - 1);
	huge[sizeof huge - 1] = '\0';
	assert_int_equal(fic__sms_receipt_check(huge, KEY, lead, rid, &ms), FIC_ETOOBIG);
	assert_int_equal(fic__sms_receipt_make(text, sizeof text, KEY, lead, "bad id", 1), FIC_EINVAL);
	assert_int_equal(fic__sms_receipt_make(text, 10, KEY, lead, "r", 1), FIC_EINVAL);
	assert_int_equal(fic__sms_receipt_make(text, sizeof text, KEY, "not-a-uuid", "r", 1),
	                 FIC_EINVAL);
}

static void the_county_json_names_the_lead_and_its_deadline(void **state)
{
	(void)state;
	fic__sms_lead l;
	typical_lead(&l);
	cJSON *j = fic__sms_lead_json(&l);
	assert_non_null(j);
	assert_string_equal(cJSON_GetObjectItem(j, "lead_id")->valuestring,
	                    "0192e4c1-7a2b-7c3d-8e4f-123456789abc");
	assert_string_equal(cJSON_GetObjectItem(j, "title")->valuestring, "食源性疾病或食品污染线索报告");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "urgent")));
	assert_int_equal((int64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(j, "deadline_at_ms")),
	                 l.discovered_ms + 2 * 3600 * 1000);
	assert_string_equal(cJSON_GetObjectItem(j, "place")->valuestring, "镇中心饭店");
	assert_null(cJSON_GetObjectItem(j, "location"));
	cJSON_Delete(j);
	fic__sms_lead_clear(&l);
}

static void out_of_memory_at_every_allocation_is_reported_and_leaks_nothing(void **state)
{
	(void)state;
	fic__sms_lead l;
	big_lead(&l);
	long before_all = tu_alloc_count();
	fic__sms_parts p0;
	assert_int_equal(fic__sms_encode(&l, KEY, &p0), FIC_OK);
	print_message("allocations of one encode: %ld\n", tu_alloc_count() - before_all);
	fic__sms_parts_clear(&p0);
	for (long n = 1; n < 3000; n++) {
		long before = tu_alloc_live();
		tu_alloc_fail_at(n);
		fic__sms_parts p;
		int rc = fic__sms_encode(&l, KEY, &p);
		uint8_t *frame = NULL;
		size_t flen = 0;
		if (rc == FIC_OK)
			rc = fic__sms_join((const char *const *)p.text, p.count, &frame, &flen);
		fic__sms_lead back;
		memset(&back, 0, sizeof back);
		if (rc == FIC_OK)
			rc = fic__sms_open(frame, flen, KEY, &back);
		bool failed = tu_alloc_failed();
		tu_alloc_fail_at(0);
		fic__sms_lead_clear(&back);
		fic__free(frame);
		fic__sms_parts_clear(&p);
		assert_int_equal(tu_alloc_live(), before);
		if (!failed) {
			assert_int_equal(rc, FIC_OK);
			fic__sms_lead_clear(&l);
			return;
		}
		if (rc != FIC_ENOMEM)
			fail_msg("allocation %ld failed: %s (%s)", n, fic_result_str(rc),
			         fic_error_last()->message);
	}
	fail_msg("more than 3000 allocations");
}

int main(void)
{
	tu_alloc_install();
	if (getenv("FIC_TEST_FILTER"))
		cmocka_set_test_filter(getenv("FIC_TEST_FILTER"));
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(generated_leads_of_every_category_come_back_exactly),
		cmocka_unit_test(parts_arriving_out_of_order_or_twice_join_the_same),
		cmocka_unit_test(a_missing_conflicting_or_foreign_part_is_refused),
		cmocka_unit_test(every_altered_character_and_another_key_are_refused),
		cmocka_unit_test(a_sealed_frame_that_does_not_decode_is_refused),
		cmocka_unit_test(malformed_texts_are_refused),
		cmocka_unit_test(texts_are_cut_at_a_character_and_bad_input_is_refused),
		cmocka_unit_test(base80_digits_are_exact_for_every_length),
		cmocka_unit_test(a_confirmation_verifies_only_for_its_lead_and_key),
		cmocka_unit_test(the_county_json_names_the_lead_and_its_deadline),
		cmocka_unit_test(out_of_memory_at_every_allocation_is_reported_and_leaks_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
