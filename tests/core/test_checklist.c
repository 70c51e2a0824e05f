/*
 * tests/core/test_checklist.c — checklist definitions: the built-in set
 * covers every inspection point of the guide, loads and lists; installing a
 * county's or a newer version works; malformed and hostile definitions are
 * refused with the installed set unchanged; an old inspection keeps its
 * version.
 */
#include "testutil.h"
#include "internal.h"

#include <cjson/cJSON.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

typedef tu_fixture fixture;

static int setup(void **state)
{
	*state = tu_fixture_new(NULL);
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	tu_fixture_free(*state);
	return 0;
}

/*
 * Every inspection point and reporting rule of the guide (渝卫发〔2022〕8号
 * 附件), written out from the guide itself, not from the data.
 */
static const char *const expected_sections[] = {
	/* 食源性疾病: 三(一) information to collect, 三(二) report within two hours */
	"食源性疾病 三(一)1", "食源性疾病 三(一)2", "食源性疾病 三(一)3", "食源性疾病 三(二)",
	/* 饮用水 */
	"饮用水 3.1.1", "饮用水 3.1.2", "饮用水 3.1.3", "饮用水 3.1.4", "饮用水 3.1.5",
	"饮用水 3.1.6", "饮用水 3.1.7", "饮用水 3.1.8", "饮用水 3.1.9", "饮用水 3.1.10",
	"饮用水 3.2.1", "饮用水 3.2.2", "饮用水 3.2.3", "饮用水 3.2.4", "饮用水 3.2.5",
	"饮用水 3.2.6", "饮用水 3.2.7", "饮用水 3.2.8",
	"饮用水 4.1", "饮用水 4.2", "饮用水 4.3", "饮用水 三(二)4",
	/* 学校卫生 */
	"学校卫生 3.1.1", "学校卫生 3.1.2", "学校卫生 3.1.3", "学校卫生 3.1.4", "学校卫生 3.1.5",
	"学校卫生 3.1.6", "学校卫生 3.1.7", "学校卫生 3.1.8", "学校卫生 3.1.9", "学校卫生 3.1.10",
	"学校卫生 3.1.11",
	"学校卫生 3.2.1.1", "学校卫生 3.2.1.2", "学校卫生 3.2.1.3", "学校卫生 3.2.1.4",
	"学校卫生 3.2.1.5", "学校卫生 3.2.1.6", "学校卫生 3.2.1.7",
	"学校卫生 3.2.2.1", "学校卫生 3.2.2.2", "学校卫生 3.2.2.3", "学校卫生 3.2.2.4",
	"学校卫生 3.2.2.5",
	"学校卫生 3.2.3.1", "学校卫生 3.2.3.2",
	"学校卫生 3.2.4.1", "学校卫生 3.2.4.2", "学校卫生 3.2.4.3",
	"学校卫生 3.3.1", "学校卫生 3.3.2", "学校卫生 3.3.3", "学校卫生 三(二)4",
	/* 非法行医和非法采供血 */
	"非法行医 3.1.1.1", "非法行医 3.1.1.2", "非法行医 3.1.1.3", "非法行医 3.1.1.4",
	"非法行医 3.1.1.5", "非法行医 3.1.1.6", "非法行医 3.1.1.7", "非法行医 3.1.1.8",
	"非法行医 3.1.1.9", "非法行医 3.1.1.10", "非法行医 3.1.1.11", "非法行医 3.1.1.12",
	"非法行医 3.1.1.13",
	"非法行医 3.1.2.1", "非法行医 3.1.2.2", "非法行医 3.1.2.3", "非法行医 3.1.2.4",
	"非法行医 3.1.2.5",
	"非法行医 3.2.1", "非法行医 3.2.2", "非法行医 3.2.3",
	"非法行医 3.3.1", "非法行医 3.3.2", "非法行医 3.3.3", "非法行医 3.3.4", "非法行医 3.3.5",
	"非法行医 3.4.1", "非法行医 3.4.2", "非法行医 三(二)3",
	/* 妇幼健康 */
	"妇幼健康 3.1", "妇幼健康 3.2", "妇幼健康 3.3", "妇幼健康 3.4", "妇幼健康 3.5",
	"妇幼健康 三(二)3", "妇幼健康 三(二)4",
	/* 职业卫生 */
	"职业卫生 3.1", "职业卫生 3.2.1", "职业卫生 3.2.2", "职业卫生 3.2.3", "职业卫生 3.2.4",
	"职业卫生 3.2.5", "职业卫生 3.2.6", "职业卫生 3.3.1", "职业卫生 3.3.2", "职业卫生 3.3.3",
	"职业卫生 3.4.1", "职业卫生 3.4.2", "职业卫生 3.4.3",
	"职业卫生 3.5.1", "职业卫生 3.5.2", "职业卫生 3.5.3", "职业卫生 3.5.4", "职业卫生 3.5.5",
	"职业卫生 3.5.6", "职业卫生 3.5.7", "职业卫生 3.5.8", "职业卫生 3.5.9", "职业卫生 3.5.10",
	"职业卫生 3.5.11", "职业卫生 三(二)4",
	NULL
};

static void collect_sections(cJSON *seen, const cJSON *sections)
{
	const cJSON *s;
	cJSON_ArrayForEach(s, sections) {
		if (!cJSON_GetObjectItemCaseSensitive(seen, s->valuestring))
			cJSON_AddTrueToObject(seen, s->valuestring);
	}
}

static void every_section_of_the_guide_is_covered_by_an_item(void **state)
{
	fixture *f = *state;
	fic_checklist_list *list;
	assert_int_equal(fic_checklist_list_get(&list, f->store, 0,
	                                        FIC_CHECKLIST_PATROLS | FIC_CHECKLIST_EVENTS), FIC_OK);
	assert_true(list->count >= 21);
	cJSON *seen = cJSON_CreateObject();
	for (size_t i = 0; i < list->count; i++) {
		assert_true(list->entries[i].builtin);
		char *text;
		assert_int_equal(fic_checklist_get_json(&text, f->store, list->entries[i].id, 0), FIC_OK);
		cJSON *def = cJSON_Parse(text);
		fic_free(text);
		assert_non_null(def);
		const cJSON *it;
		cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(def, "items")) {
			collect_sections(seen, cJSON_GetObjectItemCaseSensitive(it, "sections"));
		}
		collect_sections(seen, cJSON_GetObjectItemCaseSensitive(
		                               cJSON_GetObjectItemCaseSensitive(def, "lead"), "sections"));
		cJSON_Delete(def);
	}
	int missing = 0;
	for (const char *const *s = expected_sections; *s; s++) {
		if (!cJSON_GetObjectItemCaseSensitive(seen, *s)) {
			printf("not covered: %s\n", *s);
			missing++;
		}
	}
	cJSON_Delete(seen);
	fic_checklist_list_free(list);
	assert_int_equal(missing, 0);
}

static void the_six_areas_and_every_event_form_are_there(void **state)
{
	fixture *f = *state;
	const char *forms[] = { "event.foodborne", "event.water_poisoning", "event.school_cluster",
		                "event.blood_beyond_scope", "event.two_non",
		                "event.assisted_reproduction", "event.occupational_emergency",
		                "lead.tip_off", "lead.site_status" };
	for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
		char *t;
		assert_int_equal(fic_checklist_get_json(&t, f->store, forms[i], 0), FIC_OK);
		assert_non_null(strstr(t, "\"event\""));
		fic_free(t);
	}
	/* Offered per site kind: only patrols for that kind. */
	fic_checklist_list *l;
	assert_int_equal(fic_checklist_list_get(&l, f->store, FIC_SITE_SCHOOL, FIC_CHECKLIST_PATROLS),
	                 FIC_OK);
	int school = 0;
	for (size_t i = 0; i < l->count; i++) {
		assert_false(l->entries[i].is_event);
		school += strncmp(l->entries[i].id, "school.", 7) == 0;
	}
	assert_int_equal(school, 2);
	fic_checklist_list_free(l);
	assert_int_equal(fic_checklist_list_get(&l, f->store, FIC_SITE_EMPLOYER, FIC_CHECKLIST_PATROLS),
	                 FIC_OK);
	assert_int_equal(l->count, 1);
	assert_string_equal(l->entries[0].id, "occupational.patrol");
	assert_string_equal(l->entries[0].area, "occupational");
	fic_checklist_list_free(l);
	assert_int_equal(fic_checklist_list_get(&l, f->store, 99, 0), FIC_EINVAL);
	assert_int_equal(fic_checklist_list_get(NULL, f->store, 0, 0), FIC_EINVAL);
	assert_int_equal(fic_checklist_get_json(NULL, f->store, "water.rural", 0), FIC_EINVAL);
	char *t = (char *)0x1;
	assert_int_equal(fic_checklist_get_json(&t, f->store, "no.such", 0), FIC_ENOTFOUND);
	assert_null(t);
	assert_int_equal(fic_checklist_get_json(&t, f->store, "water.rural", 7), FIC_ENOTFOUND);
	assert_int_equal(fic_checklist_get_json(&t, f->store, NULL, 0), FIC_EINVAL);
}

static const char pool_v1[] =
	"{\"id\":\"county.xx.pool\",\"version\":1,\"kind\":\"patrol\",\"area\":\"drinking_water\","
	"\"title\":{\"zh\":\"游泳池\",\"en\":\"Swimming pool\"},\"source\":\"county rule 1\","
	"\"site_kinds\":[\"other_venue\"],\"items\":[{\"id\":\"chlorine\",\"sections\":[\"饮用水 4.3\"],"
	"\"label\":{\"zh\":\"余氯\",\"en\":\"Chlorine\"},\"type\":\"number\",\"range\":[0,10],"
	"\"abnormal\":{\"!\":{\"<=\":[0.3,{\"var\":\"answer\"},1]}}}]}";

static size_t count_all(fic_store *s)
{
	fic_checklist_list *l;
	assert_int_equal(fic_checklist_list_get(&l, s, 0, FIC_CHECKLIST_PATROLS | FIC_CHECKLIST_EVENTS |
	                                                      FIC_CHECKLIST_ALL_VERSIONS), FIC_OK);
	size_t n = l->count;
	fic_checklist_list_free(l);
	return n;
}

static void a_county_checklist_installs_and_a_newer_version_supersedes(void **state)
{
	fixture *f = *state;
	size_t before = count_all(f->store);
	assert_int_equal(fic_checklist_install(f->store, pool_v1, strlen(pool_v1)), FIC_OK);
	assert_int_equal(count_all(f->store), before + 1);
	assert_int_equal(fic_checklist_install(f->store, pool_v1, strlen(pool_v1)), FIC_EEXISTS);
	char v2[sizeof pool_v1 + 16];
	snprintf(v2, sizeof v2, "%s", pool_v1);
	memcpy(strstr(v2, "\"version\":1"), "\"version\":2", 11);
	assert_int_equal(fic_checklist_install(f->store, v2, strlen(v2)), FIC_OK);
	fic_checklist_list *l;
	assert_int_equal(fic_checklist_list_get(&l, f->store, FIC_SITE_OTHER_VENUE, 0), FIC_OK);
	bool found = false;
	for (size_t i = 0; i < l->count; i++)
		if (strcmp(l->entries[i].id, "county.xx.pool") == 0) {
			found = true;
			assert_int_equal(l->entries[i].version, 2);
			assert_false(l->entries[i].builtin);
		}
	assert_true(found);
	fic_checklist_list_free(l);
	/* Both versions stay readable. */
	char *t;
	assert_int_equal(fic_checklist_get_json(&t, f->store, "county.xx.pool", 1), FIC_OK);
	fic_free(t);
	/* And survive reopening the store. */
	fic_store_close(f->store);
	fic_store_options o = FIC_STORE_OPTIONS_INIT;
	o.platform = &f->platform;
	char *path = tu_path(f->dir, "store.db");
	assert_int_equal(fic_store_open(&f->store, path, &o), FIC_OK);
	free(path);
	assert_int_equal(count_all(f->store), before + 2);
}

static char *nested(int depth)
{
	size_t cap = (size_t)depth * 16 + 600;
	char *s = malloc(cap);
	size_t n = (size_t)snprintf(s, cap, "%s", "{\"id\":\"x.deep\",\"version\":1,\"kind\":\"patrol\","
	                            "\"area\":\"school\",\"title\":{\"zh\":\"a\",\"en\":\"a\"},\"source\":\"s\","
	                            "\"site_kinds\":[\"school\"],\"items\":[{\"id\":\"a\",\"sections\":"
	                            "[\"学校卫生 3.1.1\"],\"label\":{\"zh\":\"a\",\"en\":\"a\"},\"type\":"
	                            "\"yes_no\",\"abnormal\":");
	for (int i = 0; i < depth; i++)
		n += (size_t)snprintf(s + n, cap - n, "{\"!\":");
	n += (size_t)snprintf(s + n, cap - n, "true");
	for (int i = 0; i < depth; i++)
		n += (size_t)snprintf(s + n, cap - n, "}");
	snprintf(s + n, cap - n, "}]}");
	return s;
}

static void malformed_and_hostile_definitions_are_refused_and_change_nothing(void **state)
{
	fixture *f = *state;
	size_t before = count_all(f->store);
	struct { const char *from, *to; const char *says; } edits[] = {
		{ "\"version\":1", "\"version\":0", "version" },
		{ "\"version\":1", "\"version\":1.5", "version" },
		{ "\"kind\":\"patrol\"", "\"kind\":\"survey\"", "kind" },
		{ "\"area\":\"drinking_water\"", "\"area\":\"space\"", "area" },
		{ "\"site_kinds\":[\"other_venue\"]", "\"site_kinds\":[\"spaceport\"]", "site kind" },
		{ "\"site_kinds\":[\"other_venue\"]", "\"site_kinds\":[]", "site kinds" },
		{ "\"source\":\"county rule 1\"", "\"source\":\"county rule 1\",\"extra\":1", "unknown field" },
		{ "\"type\":\"number\"", "\"type\":\"colour\"", "answer type" },
		{ ",\"range\":[0,10]", "", "range" },
		{ "\"range\":[0,10]", "\"range\":[10,0]", "range" },
		{ "\"!\":", "\"xor\":", "unknown operator" },
		{ "{\"var\":\"answer\"}", "{\"var\":\"item.nope\"}", "unknown item" },
		{ "{\"var\":\"answer\"}", "{\"var\":\"site.secret\"}", "unknown site fact" },
		{ "{\"var\":\"answer\"}", "{\"var\":\"env.PATH\"}", "unknown variable" },
		{ "[0.3,{\"var\":\"answer\"},1]", "[0.3]", "number of arguments" },
		{ "\"sections\":[\"饮用水 4.3\"]", "\"sections\":[\"chapter 4\"]", "sections" },
		{ "\"label\":{\"zh\":\"余氯\",\"en\":\"Chlorine\"}", "\"label\":{\"zh\":\"余氯\"}", "label" },
		{ "\"id\":\"chlorine\"", "\"id\":\"Chlorine!\"", "item id" },
		{ "\"id\":\"county.xx.pool\"", "\"id\":\"County Pool\"", "id" },
		{ "\"kind\":\"patrol\"", "\"kind\":\"event\"", "lead" },
		/* An inspection's answers are not sealed: a patrol item cannot be personal. */
		{ "\"type\":\"number\"", "\"type\":\"number\",\"personal\":true", "sealed only in event forms" },
		{ "\"type\":\"number\"", "\"type\":\"number\",\"personal\":1", "true or false" },
	};
	for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
		char buf[2048];
		const char *at = strstr(pool_v1, edits[i].from);
		assert_non_null(at);
		snprintf(buf, sizeof buf, "%.*s%s%s", (int)(at - pool_v1), pool_v1, edits[i].to,
		         at + strlen(edits[i].from));
		int rc = fic_checklist_install(f->store, buf, strlen(buf));
		if (rc != FIC_EINVAL || !strstr(fic_error_last()->message, edits[i].says))
			fail_msg("edit %zu: rc %d, message '%s' (wanted '%s')", i, rc,
			         fic_error_last()->message, edits[i].says);
	}
	const char *junk[] = { "", "{", "[]", "null", "42", "{\"id\":\"x\"}", "\xFF\xFE{}" };
	for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++)
		assert_int_equal(fic_checklist_install(f->store, junk[i], strlen(junk[i])), FIC_EINVAL);
	/* Duplicate item ids. */
	char dup[4096];
	const char *items = strstr(pool_v1, "[{\"id\":\"chlorine\"");
	const char *end = strrchr(pool_v1, ']');
	snprintf(dup, sizeof dup, "%.*s%.*s,%.*s]}", (int)(items - pool_v1 + 1), pool_v1,
	         (int)(end - items - 1), items + 1, (int)(end - items - 1), items + 1);
	assert_int_equal(fic_checklist_install(f->store, dup, strlen(dup)), FIC_EINVAL);
	assert_non_null(strstr(fic_error_last()->message, "duplicate"));
	/* Nesting: 30 levels load, 40 are refused before evaluation could recurse that deep. */
	char *ok = nested(30), *deep = nested(40), *very = nested(5000);
	assert_int_equal(fic_checklist_install(f->store, ok, strlen(ok)), FIC_OK);
	assert_int_equal(fic_checklist_install(f->store, deep, strlen(deep)), FIC_EINVAL);
	assert_int_equal(fic_checklist_install(f->store, very, strlen(very)), FIC_EINVAL);
	free(ok);
	free(deep);
	free(very);
	/* Oversized. */
	size_t big = 300 * 1024;
	char *b = malloc(big + 1);
	memset(b, ' ', big);
	b[big] = '\0';
	assert_int_equal(fic_checklist_install(f->store, b, big), FIC_ETOOBIG);
	free(b);
	assert_int_equal(fic_checklist_install(NULL, pool_v1, strlen(pool_v1)), FIC_EINVAL);
	assert_int_equal(fic_checklist_install(f->store, NULL, 3), FIC_EINVAL);
	/* Only the 30-level one was added. */
	assert_int_equal(count_all(f->store), before + 1);
}

static void an_old_inspection_keeps_the_version_it_started_with(void **state)
{
	fixture *f = *state;
	fic_site s = FIC_SITE_INIT;
	s.kind = FIC_SITE_WATER_RURAL;
	s.name = "老水厂";
	fic_site *site;
	assert_int_equal(fic_site_add(&site, f->store, &s, NULL), FIC_OK);
	char old_id[FIC_UUID_BUFSIZE];
	assert_int_equal(fic_inspection_start(old_id, f->store, site->id, "water.field_test"), FIC_OK);
	/* A newer field test where pH 9 is already abnormal for everyone. */
	char *text;
	assert_int_equal(fic_checklist_get_json(&text, f->store, "water.field_test", 0), FIC_OK);
	cJSON *def = cJSON_Parse(text);
	fic_free(text);
	cJSON_ReplaceItemInObject(def, "version", cJSON_CreateNumber(2));
	cJSON *item;
	cJSON_ArrayForEach(item, cJSON_GetObjectItem(def, "items")) {
		if (strcmp(cJSON_GetObjectItem(item, "id")->valuestring, "ph") == 0)
			cJSON_ReplaceItemInObject(item, "abnormal",
			                          cJSON_Parse("{\">\":[{\"var\":\"answer\"},8.5]}"));
	}
	char *v2 = cJSON_PrintUnformatted(def);
	cJSON_Delete(def);
	assert_int_equal(fic_checklist_install(f->store, v2, strlen(v2)), FIC_OK);
	free(v2);
	char new_id[FIC_UUID_BUFSIZE];
	assert_int_equal(fic_inspection_start(new_id, f->store, site->id, "water.field_test"), FIC_OK);
	assert_int_equal(fic_inspection_answer(f->store, old_id, "ph", "9"), FIC_OK);
	assert_int_equal(fic_inspection_answer(f->store, new_id, "ph", "9"), FIC_OK);
	const char *ids[] = { old_id, new_id };
	for (int k = 0; k < 2; k++) {
		assert_int_equal(fic_inspection_get_json(&text, f->store, ids[k]), FIC_OK);
		cJSON *j = cJSON_Parse(text);
		fic_free(text);
		assert_int_equal(cJSON_GetObjectItem(j, "checklist_version")->valueint, k + 1);
		cJSON_ArrayForEach(item, cJSON_GetObjectItem(j, "items")) {
			if (strcmp(cJSON_GetObjectItem(item, "id")->valuestring, "ph") == 0)
				assert_int_equal(cJSON_IsTrue(cJSON_GetObjectItem(item, "abnormal")), k == 1);
		}
		cJSON_Delete(j);
	}
	fic_site_free(site);
}

static void another_handles_install_is_seen(void **state)
{
	fixture *f = *state;
	/* This handle has loaded its registry already. */
	fic_checklist_list *l;
	assert_int_equal(fic_checklist_list_get(&l, f->store, 0, 0), FIC_OK);
	fic_checklist_list_free(l);
	fic_store *b;
	fic_store_options o = FIC_STORE_OPTIONS_INIT;
	o.platform = &f->platform;
	char *path = tu_path(f->dir, "store.db");
	assert_int_equal(fic_store_open(&b, path, &o), FIC_OK);
	free(path);
	assert_int_equal(fic_checklist_install(b, pool_v1, strlen(pool_v1)), FIC_OK);
	fic_site s = FIC_SITE_INIT;
	s.kind = FIC_SITE_OTHER_VENUE;
	s.name = "游泳池";
	fic_site *site;
	assert_int_equal(fic_site_add(&site, b, &s, NULL), FIC_OK);
	char id[FIC_UUID_BUFSIZE];
	assert_int_equal(fic_inspection_start(id, b, site->id, "county.xx.pool"), FIC_OK);
	fic_store_close(b);
	/* The first handle sees the new checklist and can work on the inspection. */
	char *t;
	assert_int_equal(fic_checklist_get_json(&t, f->store, "county.xx.pool", 0), FIC_OK);
	fic_free(t);
	assert_int_equal(fic_inspection_answer(f->store, id, "chlorine", "0.2"), FIC_OK);
	assert_int_equal(fic_inspection_get_json(&t, f->store, id), FIC_OK);
	fic_free(t);
	char v2[sizeof pool_v1 + 16];
	snprintf(v2, sizeof v2, "%s", pool_v1);
	memcpy(strstr(v2, "\"version\":1"), "\"version\":2", 11);
	/* Installing v1 again from this handle is refused: it knows v1 exists now. */
	assert_int_equal(fic_checklist_install(f->store, pool_v1, strlen(pool_v1)), FIC_EEXISTS);
	assert_int_equal(fic_checklist_install(f->store, v2, strlen(v2)), FIC_OK);
	fic_site_free(site);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(every_section_of_the_guide_is_covered_by_an_item),
		T(the_six_areas_and_every_event_form_are_there),
		T(a_county_checklist_installs_and_a_newer_version_supersedes),
		T(malformed_and_hostile_definitions_are_refused_and_change_nothing),
		T(an_old_inspection_keeps_the_version_it_started_with),
		T(another_handles_install_is_seen),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
