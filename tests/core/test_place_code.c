/*
 * tests/core/test_place_code.c — reading scanned place codes (场所码, seeds
 * 003/004: one code per door and per shop) and starting visits with them.
 *
 * First the fuzz corpus (tests/fuzz/corpus/place_code) replayed as an
 * ordinary test: every seed is read without a crash or a leak (ASan runs
 * this), answers OK or a documented refusal, and a code read OK gives the
 * same key however it is spaced. Then the forms one by one, and the scan at
 * the door: proof of presence in the hash chain, and the "实际信息与许可证
 * 一致" finding when the code's facts differ from the registry.
 */
#include "testutil.h"
#include "internal.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#ifndef FIC_PLACE_CODE_CORPUS
#error "FIC_PLACE_CODE_CORPUS: the corpus directory (tests/CMakeLists.txt sets it)"
#endif

#define OK_OR_FAIL(call) \
	do { \
		int rc_ = (call); \
		if (rc_ != FIC_OK) \
			fail_msg("%s: %d %s", #call, rc_, fic_error_last()->message); \
	} while (0)

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	char *buf = malloc(64 * 1024);
	assert_non_null(buf);
	*len = fread(buf, 1, 64 * 1024, f);
	fclose(f);
	return buf;
}

/* Whether s[0..n) is valid UTF-8 without NUL (the key's promise). */
static bool clean_text(const char *s)
{
	return fic__utf8_valid(s, strlen(s));
}

static void every_corpus_seed_is_read_or_refused_cleanly(void **state)
{
	(void)state;
	DIR *d = opendir(FIC_PLACE_CODE_CORPUS);
	assert_non_null(d);
	int seeds = 0, read_ok = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", FIC_PLACE_CODE_CORPUS, e->d_name);
		size_t len = 0;
		char *data = read_all(path, &len);
		seeds++;
		fic_place_code *pc = NULL;
		int rc = fic_place_code_parse(&pc, data, len);
		if (rc != FIC_OK && rc != FIC_EINVAL && rc != FIC_ETOOBIG)
			fail_msg("%s: %d %s", e->d_name, rc, fic_error_last()->message);
		if (rc != FIC_OK) {
			assert_null(pc);
			free(data);
			continue;
		}
		read_ok++;
		assert_non_null(pc->key);
		assert_true(pc->key[0] != '\0');
		assert_true(clean_text(pc->key));
		const char *facts[] = { pc->code, pc->name, pc->address, pc->legal_rep, pc->manager,
			                pc->scope, pc->credit_code, pc->licence_no };
		for (size_t i = 0; i < sizeof facts / sizeof facts[0]; i++)
			assert_true(facts[i] == NULL || clean_text(facts[i]));
		/* The same code, spaced otherwise by another scanner: the same key. */
		char *spaced = malloc(len + 16);
		memcpy(spaced, " \r\n\xe3\x80\x80", 6);
		memcpy(spaced + 6, data, len);
		memcpy(spaced + 6 + len, "\xc2\xa0\t", 3);
		fic_place_code *again = NULL;
		if (len + 9 <= FIC_PLACE_CODE_PAYLOAD_MAX) {
			OK_OR_FAIL(fic_place_code_parse(&again, spaced, len + 9));
			if (strcmp(pc->key, again->key) != 0)
				fail_msg("%s: key %s, spaced %s", e->d_name, pc->key, again->key);
		}
		fic_place_code_free(again);
		/* Read twice, the same. */
		OK_OR_FAIL(fic_place_code_parse(&again, data, len));
		assert_string_equal(pc->key, again->key);
		fic_place_code_free(again);
		fic_place_code_free(pc);
		free(spaced);
		free(data);
	}
	closedir(d);
	assert_true(seeds >= 10);
	assert_true(read_ok >= 10);
}

static fic_place_code *parse(const char *s)
{
	fic_place_code *pc = NULL;
	OK_OR_FAIL(fic_place_code_parse(&pc, s, strlen(s)));
	return pc;
}

static void assert_key(const char *a, const char *b)
{
	fic_place_code *x = parse(a), *y = parse(b);
	if (strcmp(x->key, y->key) != 0)
		fail_msg("'%s' → %s but '%s' → %s", a, x->key, b, y->key);
	fic_place_code_free(x);
	fic_place_code_free(y);
}

static void a_url_is_read_not_compared_as_a_string(void **state)
{
	(void)state;
	/* Scheme and host in any case, the default port, doubled and trailing slashes, line
	 * breaks a scanner put inside: one place. */
	assert_key("https://cq.example/place/QG-0421", " HTTPS://CQ.Example:443//place/\nQG-0421/ ");
	/* The identity parameter names the place; trackers and the order of parameters do not matter. */
	assert_key("https://csm.example/scan?code=4101&from=timeline", "https://csm.example/scan?code=4101");
	assert_key("https://x.example/q?b=2&a=1", "https://x.example/q?a=1&b=2&utm_source=wx");
	fic_place_code *a = parse("https://x.example/q?code=1"), *b = parse("https://x.example/q?code=2");
	assert_string_not_equal(a->key, b->key);
	assert_int_equal(a->form, FIC_PLACE_CODE_URL);
	assert_string_equal(a->code, "1");
	fic_place_code_free(a);
	fic_place_code_free(b);
	/* Facts in the parameters, percent-decoded. */
	fic_place_code *f = parse("https://cq.example/p?code=QG-MED-07&name=%E9%9D%92%E6%9D%A0%E9%95%87"
	                          "%E5%8D%AB%E7%94%9F%E9%99%A2&fr=%E6%9D%8E%E6%98%8E");
	assert_string_equal(f->name, "青杠镇卫生院");
	assert_string_equal(f->legal_rep, "李明");
	assert_string_equal(f->key, "url:cq.example/p#QG-MED-07");
	fic_place_code_free(f);
}

static void a_text_code_gives_its_fields(void **state)
{
	(void)state;
	fic_place_code *t = parse("机构名称：青杠镇卫生院\n地址：青杠镇正街18号\n法定代表人：李明\n"
	                          "诊疗科目：内科；外科\n许可证号：PDY001\n");
	assert_int_equal(t->form, FIC_PLACE_CODE_TEXT);
	assert_string_equal(t->name, "青杠镇卫生院");
	assert_string_equal(t->address, "青杠镇正街18号");
	assert_string_equal(t->legal_rep, "李明");
	assert_string_equal(t->scope, "内科；外科"); /* lines: ； stays in the value */
	assert_string_equal(t->licence_no, "PDY001");
	fic_place_code_free(t);
	/* One line, fields separated by ；; spaced keys; an ASCII colon. */
	t = parse("场所码：QG-SC-0001；场 所 名 称 ：青杠镇中心小学；地址:学府路 8 号");
	assert_string_equal(t->code, "QG-SC-0001");
	assert_string_equal(t->name, "青杠镇中心小学");
	assert_string_equal(t->address, "学府路 8 号");
	assert_string_equal(t->key, "text:QG-SC-0001");
	fic_place_code_free(t);
	/* No code: the credit code (upper case) and the name are the identity. */
	assert_key("统一社会信用代码：91350100m000100y43\n名称：水站",
	           "\xef\xbb\xbf名称：水站\u3000\n统一社会信用代码：91350100M000100Y43");
	/* Text with no field the reader knows is a token. */
	fic_place_code *u = parse("颜色：红");
	assert_int_equal(u->form, FIC_PLACE_CODE_TOKEN);
	fic_place_code_free(u);
}

static void a_token_ignores_the_scanners_spaces(void **state)
{
	(void)state;
	assert_key("QG 0421", "QG0421");
	assert_key("QG\xe2\x80\x8b" "0421\xc2\xa0", "QG0421");
	fic_place_code *t = parse("QG-0421");
	assert_int_equal(t->form, FIC_PLACE_CODE_TOKEN);
	assert_string_equal(t->code, "QG-0421");
	fic_place_code_free(t);
}

static void bad_payloads_are_refused(void **state)
{
	(void)state;
	fic_place_code *pc = (fic_place_code *)1;
	assert_int_equal(fic_place_code_parse(&pc, NULL, 3), FIC_EINVAL);
	assert_null(pc);
	assert_int_equal(fic_place_code_parse(NULL, "x", 1), FIC_EINVAL);
	assert_int_equal(fic_place_code_parse(&pc, "", 0), FIC_EINVAL);
	assert_int_equal(fic_place_code_parse(&pc, " \xe3\x80\x80\n", 5), FIC_EINVAL);
	assert_int_equal(fic_place_code_parse(&pc, "a\0b", 3), FIC_EINVAL);
	assert_int_equal(fic_place_code_parse(&pc, "\xff\xfe", 2), FIC_EINVAL);
	char *big = malloc(FIC_PLACE_CODE_PAYLOAD_MAX + 1);
	memset(big, 'a', FIC_PLACE_CODE_PAYLOAD_MAX + 1);
	assert_int_equal(fic_place_code_parse(&pc, big, FIC_PLACE_CODE_PAYLOAD_MAX + 1), FIC_ETOOBIG);
	OK_OR_FAIL(fic_place_code_parse(&pc, big, FIC_PLACE_CODE_PAYLOAD_MAX)); /* at the limit */
	fic_place_code_free(pc);
	free(big);
	fic_place_code_free(NULL);
}

/* ---- a site's codes and the scan at the door ---- */

static int setup(void **state)
{
	*state = tu_fixture_new("协管员-张敏");
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	tu_fixture_free(*state);
	return 0;
}

static void add_clinic(tu_fixture *f, char *id_out)
{
	fic_site s = FIC_SITE_INIT;
	s.kind = FIC_SITE_MEDICAL;
	s.name = "青杠镇卫生院";
	s.address = "青杠镇正街18号";
	s.legal_rep = "李明";
	s.med_registration = FIC_MED_LICENSED;
	s.place_code = "https://cq.example/place/QG-MED-07";
	fic_site *out = NULL;
	OK_OR_FAIL(fic_site_add(&out, f->store, &s, NULL));
	snprintf(id_out, FIC_UUID_BUFSIZE, "%s", out->id);
	fic_site_free(out);
}

/* Seeds 003/004: "一门一码，一店一码" — a site holds several codes, each found however it is spaced. */
static void a_site_holds_several_codes(void **state)
{
	tu_fixture *f = *state;
	char clinic[FIC_UUID_BUFSIZE], other[FIC_UUID_BUFSIZE];
	add_clinic(f, clinic);
	OK_OR_FAIL(fic_site_code_add(f->store, clinic, "QG-MED-07-SOUTH", "南门"));
	OK_OR_FAIL(fic_site_code_add(f->store, clinic, " QG-MED-07-\nSOUTH\xe3\x80\x80", "南门")); /* the same */
	fic_site *s = NULL;
	OK_OR_FAIL(fic_site_find_by_place_code(&s, f->store, "  HTTPS://cq.example//place/QG-MED-07/\n"));
	assert_string_equal(s->id, clinic);
	fic_site_free(s);
	OK_OR_FAIL(fic_site_find_by_place_code(&s, f->store, "QG-MED-07-SOUTH"));
	assert_string_equal(s->id, clinic);
	fic_site_free(s);
	char *t = NULL;
	OK_OR_FAIL(fic_site_codes_json(&t, f->store, clinic));
	cJSON *j = cJSON_Parse(t);
	fic_free(t);
	assert_int_equal(cJSON_GetArraySize(j), 2);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(j, 0), "primary")));
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(j, 1), "label")->valuestring, "南门");
	cJSON_Delete(j);
	/* A code is one site's. */
	fic_site o = FIC_SITE_INIT;
	o.kind = FIC_SITE_OTHER_VENUE;
	o.name = "药房";
	fic_site *out = NULL;
	OK_OR_FAIL(fic_site_add(&out, f->store, &o, NULL));
	snprintf(other, sizeof other, "%s", out->id);
	fic_site_free(out);
	assert_int_equal(fic_site_code_add(f->store, other, "QG-MED-07-SOUTH", NULL), FIC_EEXISTS);
	o.place_code = "https://CQ.example/place/QG-MED-07";
	assert_int_equal(fic_site_add(NULL, f->store, &o, NULL), FIC_EEXISTS);
	/* Removing one: not the site's own place_code. */
	assert_int_equal(fic_site_code_remove(f->store, clinic, "https://cq.example/place/QG-MED-07"),
	                 FIC_ESTATE);
	OK_OR_FAIL(fic_site_code_remove(f->store, clinic, "QG-MED-07-SOUTH"));
	assert_int_equal(fic_site_find_by_place_code(&s, f->store, "QG-MED-07-SOUTH"), FIC_ENOTFOUND);
	assert_int_equal(fic_site_code_add(f->store, "nope", "X", NULL), FIC_ENOTFOUND);
	assert_int_equal(fic_site_code_add(NULL, clinic, "X", NULL), FIC_EINVAL);
	assert_int_equal(fic_site_code_add(f->store, clinic, "", NULL), FIC_EINVAL);
}

/*
 * Scanning the code at the door starts the visit: the scan — payload,
 * position, trusted time — goes into the hash chain as the proof of
 * presence, and the visit started from it records the scan.
 */
static void scanning_the_door_code_is_proof_of_presence(void **state)
{
	tu_fixture *f = *state;
	char clinic[FIC_UUID_BUFSIZE], insp[FIC_UUID_BUFSIZE];
	add_clinic(f, clinic);
	fic_scan_options o = FIC_SCAN_OPTIONS_INIT;
	o.has_location = 1;
	o.lat = 29.5648;
	o.lon = 106.5502;
	o.accuracy_m = 8;
	static const char payload[] = "https://cq.example/place/QG-MED-07 ";
	char *t = NULL;
	OK_OR_FAIL(fic_visit_scan(&t, f->store, payload, strlen(payload), &o));
	cJSON *j = cJSON_Parse(t);
	fic_free(t);
	const char *scan = cJSON_GetObjectItem(j, "scan_id")->valuestring;
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "site"), "id")->valuestring, clinic);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "matches_registry")));
	const cJSON *proof = cJSON_GetObjectItem(j, "proof");
	assert_true(cJSON_GetObjectItem(proof, "chain_seq")->valueint >= 1);
	assert_true(cJSON_GetObjectItem(proof, "lat")->valuedouble == 29.5648);
	fic_inspection_options io = FIC_INSPECTION_OPTIONS_INIT;
	io.scan_id = scan;
	io.visit_mode = FIC_VISIT_UNANNOUNCED;
	OK_OR_FAIL(fic_inspection_start_opts(insp, f->store, clinic, "medical.licensed", &io));
	/* One scan, one visit. */
	char again[FIC_UUID_BUFSIZE];
	assert_int_equal(fic_inspection_start_opts(again, f->store, clinic, "medical.licensed", &io),
	                 FIC_ESTATE);
	cJSON_Delete(j);
	OK_OR_FAIL(fic_inspection_get_json(&t, f->store, insp));
	j = cJSON_Parse(t);
	fic_free(t);
	assert_string_equal(cJSON_GetObjectItem(j, "visit_mode")->valuestring, "unannounced");
	cJSON_Delete(j);
	/* The evidence verifies, the scan in it. */
	char *report = NULL;
	OK_OR_FAIL(fic_evidence_verify(&report, f->store));
	fic_free(report);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(f->store->db, "SELECT count(*) FROM chain WHERE record_type = "
	                                    "'scan'", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 1);
	sqlite3_finalize(st);
	/* A code no site holds is not a visit. */
	assert_int_equal(fic_visit_scan(&t, f->store, "NO-SUCH-CODE", 12, NULL), FIC_ENOTFOUND);
	assert_null(t);
	/* Altered afterwards, the scan's record no longer verifies. */
	assert_int_equal(sqlite3_exec(f->store->db, "UPDATE site_scans SET lat = 30.0", NULL, NULL, NULL),
	                 SQLITE_OK);
	assert_int_equal(fic_evidence_verify(&report, f->store), FIC_ECORRUPT);
	assert_non_null(strstr(report, "record_altered"));
	fic_free(report);
}

/*
 * 非法行医 3.1.1.2 "医疗机构名称、地址等与许可信息一致" (and 饮用水 3.1.1's
 * "实际信息…与《卫生许可证》一致"): the licence's code, scanned, says another
 * legal representative than the registry — the visit started from it finds
 * the facts do not match, and says how.
 */
static void a_licence_code_that_differs_raises_the_licence_finding(void **state)
{
	tu_fixture *f = *state;
	char clinic[FIC_UUID_BUFSIZE], insp[FIC_UUID_BUFSIZE];
	add_clinic(f, clinic);
	static const char licence[] = "机构名称：青杠镇卫生院\n地址：青杠镇正街１８号\n法定代表人：王芳\n"
	                              "许可证号：PDY001";
	OK_OR_FAIL(fic_site_code_add(f->store, clinic, licence, "许可证"));
	char *t = NULL;
	OK_OR_FAIL(fic_visit_scan(&t, f->store, licence, strlen(licence), NULL));
	cJSON *j = cJSON_Parse(t);
	fic_free(t);
	assert_false(cJSON_IsTrue(cJSON_GetObjectItem(j, "matches_registry")));
	const cJSON *diffs = cJSON_GetObjectItem(j, "differences");
	assert_int_equal(cJSON_GetArraySize(diffs), 1); /* the full-width 18 is the same address */
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(diffs, 0), "field")->valuestring,
	                    "legal_rep");
	fic_inspection_options io = FIC_INSPECTION_OPTIONS_INIT;
	io.scan_id = cJSON_GetObjectItem(j, "scan_id")->valuestring;
	OK_OR_FAIL(fic_inspection_start_opts(insp, f->store, clinic, "medical.licensed", &io));
	cJSON_Delete(j);
	OK_OR_FAIL(fic_inspection_get_json(&t, f->store, insp));
	j = cJSON_Parse(t);
	fic_free(t);
	bool found = false;
	const cJSON *it;
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(j, "findings")) {
		if (strcmp(cJSON_GetObjectItem(it, "item")->valuestring, "details_match") == 0) {
			found = true;
			assert_non_null(strstr(cJSON_GetObjectItem(it, "note")->valuestring, "王芳"));
		}
	}
	assert_true(found);
	cJSON_Delete(j);
}

static void a_store_older_than_place_code_keys_gets_them(void **state)
{
	tu_fixture *f = *state;
	char *path = tu_path(f->dir, "old.db");
	fic_store_options o = FIC_STORE_OPTIONS_INIT;
	o.platform = &f->platform;
	fic_store *s;
	OK_OR_FAIL(fic__store_open_with(&s, path, &o, fic__migrations, 3));
	assert_int_equal(sqlite3_exec(s->db, "INSERT INTO sites (id, kind, name, place_code, status, "
	                              "origin, created_at_ms, updated_at_ms) VALUES ('old-1', 3, '老学校', "
	                              "'https://cq.example/place/OLD-1', 1, 1, 0, 0)", NULL, NULL, NULL),
	                 SQLITE_OK);
	fic_store_close(s);
	OK_OR_FAIL(fic_store_open(&s, path, &o));
	fic_site *site = NULL;
	OK_OR_FAIL(fic_site_find_by_place_code(&site, s, "HTTPS://CQ.EXAMPLE/place/OLD-1/"));
	assert_string_equal(site->id, "old-1");
	fic_site_free(site);
	fic_store_close(s);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_corpus_seed_is_read_or_refused_cleanly),
		cmocka_unit_test(a_url_is_read_not_compared_as_a_string),
		cmocka_unit_test(a_text_code_gives_its_fields),
		cmocka_unit_test(a_token_ignores_the_scanners_spaces),
		cmocka_unit_test(bad_payloads_are_refused),
		cmocka_unit_test_setup_teardown(a_site_holds_several_codes, setup, teardown),
		cmocka_unit_test_setup_teardown(scanning_the_door_code_is_proof_of_presence, setup, teardown),
		cmocka_unit_test_setup_teardown(a_licence_code_that_differs_raises_the_licence_finding,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(a_store_older_than_place_code_keys_gets_them, setup,
		                                teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
