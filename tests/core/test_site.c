/*
 * tests/core/test_site.c — the site registry (本底): adding field-found sites,
 * updating facts with a reason, closing, the lookups, and every kind of bad
 * input leaving the store unchanged. Each change must leave one audit entry
 * and one outbox record.
 */
#include "testutil.h"
#include "internal.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

typedef tu_fixture fixture;

static int setup(void **state)
{
	*state = tu_fixture_new("协管员张三");
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	tu_fixture_free(*state);
	return 0;
}

static int64_t count_rows(fic_store *s, const char *sql)
{
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(s->db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int64_t n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* sites, audit entries, outbox records */
static void assert_counts(fic_store *s, int64_t sites, int64_t audit, int64_t outbox)
{
	assert_int_equal(count_rows(s, "SELECT count(*) FROM sites"), sites);
	assert_int_equal(count_rows(s, "SELECT count(*) FROM audit"), audit);
	assert_int_equal(count_rows(s, "SELECT count(*) FROM outbox"), outbox);
}

static fic_site school(void)
{
	fic_site s = FIC_SITE_INIT;
	s.kind = FIC_SITE_SCHOOL;
	s.name = "青杠镇中心小学";
	s.address = "重庆市某区青杠镇学府路 8 号";
	s.credit_code = "91350100M000100Y43";
	s.place_code = "https://cq.example/place/8f3a";
	s.legal_rep = "李四";
	s.manager = "王五";
	s.licence_no = "渝卫水字〔2024〕第 0012 号";
	s.licence_scope = "二次供水";
	s.licence_valid_from = "2024-03-01";
	s.licence_valid_to = "2028-02-29";
	s.has_location = 1;
	s.lat = 29.56301;
	s.lon = 106.55156;
	s.school_level = FIC_SCHOOL_PRIMARY;
	s.boarding = 1;
	s.enrolment = 640;
	s.note = "路线巡查发现，系统本底无此学校";
	return s;
}

static void added_site_round_trips_every_field(void **state)
{
	fixture *f = *state;
	fic_site in = school();
	fic_site *out = NULL, *got = NULL;
	assert_int_equal(fic_site_add(&out, f->store, &in, "本底缺失，现场新建"), FIC_OK);
	assert_non_null(out);
	assert_int_equal(strlen(out->id), 36);
	assert_int_equal(out->status, FIC_SITE_ACTIVE);
	assert_int_equal(out->origin, FIC_SITE_FROM_FIELD);
	assert_int_equal(out->revision, 1);
	assert_int_equal(out->created_at_ms, f->clock.wall_ms);
	assert_int_equal(fic_site_get(&got, f->store, out->id), FIC_OK);
	const char *a[] = { in.name, in.address, in.credit_code, in.place_code, in.legal_rep,
	                    in.manager, in.licence_no, in.licence_scope, in.licence_valid_from,
	                    in.licence_valid_to, in.note };
	const char *b[] = { got->name, got->address, got->credit_code, got->place_code,
	                    got->legal_rep, got->manager, got->licence_no, got->licence_scope,
	                    got->licence_valid_from, got->licence_valid_to, got->note };
	for (size_t i = 0; i < sizeof a / sizeof a[0]; i++)
		assert_string_equal(a[i], b[i]);
	assert_string_equal(got->id, out->id);
	assert_int_equal(got->kind, FIC_SITE_SCHOOL);
	assert_true(got->has_location);
	assert_true(fabs(got->lat - in.lat) < 1e-12 && fabs(got->lon - in.lon) < 1e-12);
	assert_int_equal(got->school_level, FIC_SCHOOL_PRIMARY);
	assert_int_equal(got->boarding, 1);
	assert_int_equal(got->enrolment, 640);
	assert_int_equal(got->beds, FIC_UNKNOWN);
	assert_int_equal(got->joint_venture, FIC_UNKNOWN);
	assert_int_equal(got->industry, 0);
	assert_counts(f->store, 1, 1, 1);
	fic_site_free(out);
	fic_site_free(got);
}

static void kind_specific_facts_are_kept_for_each_kind(void **state)
{
	fixture *f = *state;
	fic_site med = FIC_SITE_INIT;
	med.kind = FIC_SITE_MEDICAL;
	med.name = "某县中医医院";
	med.med_registration = FIC_MED_LICENSED;
	med.institution_type = FIC_INST_TCM_HOSPITAL;
	med.beds = 120;
	med.joint_venture = 0;
	med.validation_deferred = 1;
	fic_site emp = FIC_SITE_INIT;
	emp.kind = FIC_SITE_EMPLOYER;
	emp.name = "某煤矿";
	emp.industry = FIC_INDUSTRY_COAL_MINE;
	emp.hazard_level = FIC_HAZARD_SEVERE;
	fic_site ven = FIC_SITE_INIT;
	ven.kind = FIC_SITE_OTHER_VENUE;
	ven.name = "场镇集贸市场";
	ven.venue_type = FIC_VENUE_MARKET;
	fic_site *m, *e, *v;
	assert_int_equal(fic_site_add(&m, f->store, &med, NULL), FIC_OK);
	assert_int_equal(fic_site_add(&e, f->store, &emp, NULL), FIC_OK);
	assert_int_equal(fic_site_add(&v, f->store, &ven, NULL), FIC_OK);
	fic_site *g;
	assert_int_equal(fic_site_get(&g, f->store, m->id), FIC_OK);
	assert_int_equal(g->institution_type, FIC_INST_TCM_HOSPITAL);
	assert_int_equal(g->beds, 120);
	assert_int_equal(g->joint_venture, 0);
	assert_int_equal(g->validation_deferred, 1);
	assert_int_equal(g->med_registration, FIC_MED_LICENSED);
	assert_false(g->has_location);
	fic_site_free(g);
	assert_int_equal(fic_site_get(&g, f->store, e->id), FIC_OK);
	assert_int_equal(g->industry, FIC_INDUSTRY_COAL_MINE);
	assert_int_equal(g->hazard_level, FIC_HAZARD_SEVERE);
	fic_site_free(g);
	assert_int_equal(fic_site_get(&g, f->store, v->id), FIC_OK);
	assert_int_equal(g->venue_type, FIC_VENUE_MARKET);
	assert_null(g->address);
	fic_site_free(g);
	fic_site_free(m);
	fic_site_free(e);
	fic_site_free(v);
}

typedef void (*spoil_fn)(fic_site *s);
static void spoil_kind0(fic_site *s) { s->kind = 0; }
static void spoil_kind99(fic_site *s) { s->kind = 99; }
static void spoil_name_null(fic_site *s) { s->name = NULL; }
static void spoil_name_empty(fic_site *s) { s->name = ""; }
static void spoil_name_utf8(fic_site *s) { s->name = "学校\xE6\xB0"; }
static void spoil_address_utf8(fic_site *s) { s->address = "\xED\xA0\x80"; }
static void spoil_credit(fic_site *s) { s->credit_code = "91350100M000100Y44"; }
static void spoil_date(fic_site *s) { s->licence_valid_to = "2027-02-29"; }
static void spoil_date_order(fic_site *s) { s->licence_valid_to = "2024-02-29"; }
static void spoil_date_format(fic_site *s) { s->licence_valid_from = "2024/03/01"; }
static void spoil_lat(fic_site *s) { s->lat = 90.5; }
static void spoil_lon(fic_site *s) { s->lon = NAN; }
static void spoil_has_location(fic_site *s) { s->has_location = 7; }
static void spoil_boarding(fic_site *s) { s->boarding = 2; }
static void spoil_enrolment(fic_site *s) { s->enrolment = -5; }
static void spoil_level(fic_site *s) { s->school_level = 42; }
static void spoil_beds_on_school(fic_site *s) { s->beds = 10; }
static void spoil_industry_on_school(fic_site *s) { s->industry = FIC_INDUSTRY_METALLURGY; }
static void spoil_version(fic_site *s) { s->version = 9; }

static void invalid_facts_are_refused_and_nothing_is_stored(void **state)
{
	fixture *f = *state;
	struct { spoil_fn fn; int code; const char *says; } cases[] = {
		{ spoil_kind0, FIC_EINVAL, "kind" },
		{ spoil_kind99, FIC_EINVAL, "kind" },
		{ spoil_name_null, FIC_EINVAL, "name" },
		{ spoil_name_empty, FIC_EINVAL, "name" },
		{ spoil_name_utf8, FIC_EINVAL, "UTF-8" },
		{ spoil_address_utf8, FIC_EINVAL, "address" },
		{ spoil_credit, FIC_EINVAL, "check character" },
		{ spoil_date, FIC_EINVAL, "day 29" },
		{ spoil_date_order, FIC_EINVAL, "before" },
		{ spoil_date_format, FIC_EINVAL, "YYYY-MM-DD" },
		{ spoil_lat, FIC_EINVAL, "latitude" },
		{ spoil_lon, FIC_EINVAL, "longitude" },
		{ spoil_has_location, FIC_EINVAL, "has_location" },
		{ spoil_boarding, FIC_EINVAL, "boarding" },
		{ spoil_enrolment, FIC_EINVAL, "enrolment" },
		{ spoil_level, FIC_EINVAL, "school level" },
		{ spoil_beds_on_school, FIC_EINVAL, "does not apply" },
		{ spoil_industry_on_school, FIC_EINVAL, "does not apply" },
		{ spoil_version, FIC_EINVAL, "version" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		fic_site s = school();
		cases[i].fn(&s);
		fic_site *out = (fic_site *)0x1;
		assert_int_equal(fic_site_add(&out, f->store, &s, NULL), cases[i].code);
		assert_null(out);
		if (strstr(fic_error_last()->message, cases[i].says) == NULL)
			fail_msg("case %zu: message '%s' lacks '%s'", i, fic_error_last()->message,
			         cases[i].says);
	}
	assert_counts(f->store, 0, 0, 0);
}

static void oversized_text_is_refused_as_too_big(void **state)
{
	fixture *f = *state;
	char big[5000];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	struct { size_t len; int which; } cases[] = {
		{ FIC_SITE_NAME_MAX + 1, 0 }, { FIC_SITE_ADDRESS_MAX + 1, 1 },
		{ FIC_SITE_PLACE_CODE_MAX + 1, 2 }, { FIC_SITE_NOTE_MAX + 1, 3 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *t = strndup(big, cases[i].len);
		fic_site s = school();
		const char **slot[] = { &s.name, &s.address, &s.place_code, &s.note };
		*slot[cases[i].which] = t;
		assert_int_equal(fic_site_add(NULL, f->store, &s, NULL), FIC_ETOOBIG);
		/* exactly at the limit is fine */
		t[cases[i].len - 1] = '\0';
		s.place_code = cases[i].which == 2 ? t : NULL;
		assert_int_equal(fic_site_add(NULL, f->store, &s, NULL), FIC_OK);
		free(t);
	}
	char *reason = strndup(big, FIC_REASON_MAX + 1);
	fic_site s = school();
	s.place_code = NULL;
	assert_int_equal(fic_site_add(NULL, f->store, &s, reason), FIC_ETOOBIG);
	free(reason);
	assert_counts(f->store, 4, 4, 4);
}

static void null_handles_and_arguments_are_refused(void **state)
{
	fixture *f = *state;
	fic_site s = school();
	fic_site *out = (fic_site *)0x1;
	fic_site_list *list = (fic_site_list *)0x1;
	assert_int_equal(fic_site_add(&out, NULL, &s, NULL), FIC_EINVAL);
	assert_null(out);
	assert_int_equal(fic_site_add(NULL, f->store, NULL, NULL), FIC_EINVAL);
	assert_int_equal(fic_site_update(NULL, f->store, NULL, "r"), FIC_EINVAL);
	assert_int_equal(fic_site_update(NULL, NULL, &s, "r"), FIC_EINVAL);
	assert_int_equal(fic_site_close(NULL, "x", "r"), FIC_EINVAL);
	assert_int_equal(fic_site_close(f->store, NULL, "r"), FIC_EINVAL);
	assert_int_equal(fic_site_get(NULL, f->store, "x"), FIC_EINVAL);
	assert_int_equal(fic_site_get(&out, NULL, "x"), FIC_EINVAL);
	assert_int_equal(fic_site_get(&out, f->store, NULL), FIC_EINVAL);
	assert_int_equal(fic_site_get(&out, f->store, ""), FIC_EINVAL);
	assert_int_equal(fic_site_find_by_place_code(&out, f->store, NULL), FIC_EINVAL);
	assert_int_equal(fic_site_find_by_place_code(NULL, f->store, "x"), FIC_EINVAL);
	assert_int_equal(fic_site_find_by_credit_code(&list, f->store, NULL), FIC_EINVAL);
	assert_int_equal(fic_site_find_by_credit_code(&list, NULL, "91350100M000100Y43"), FIC_EINVAL);
	assert_null(list);
	assert_int_equal(fic_site_search(NULL, f->store, 0, NULL, 0), FIC_EINVAL);
	assert_int_equal(fic_site_search(&list, NULL, 0, NULL, 0), FIC_EINVAL);
	assert_int_equal(fic_site_search(&list, f->store, 77, NULL, 0), FIC_EINVAL);
	assert_int_equal(fic_site_search(&list, f->store, 0, "\xC3", 0), FIC_EINVAL);
	assert_int_equal(fic_site_near(&list, NULL, 0, 0, 10, 0), FIC_EINVAL);
	assert_int_equal(fic_site_to_json(NULL, &s), FIC_EINVAL);
	char *j = (char *)0x1;
	assert_int_equal(fic_site_to_json(&j, NULL), FIC_EINVAL);
	assert_null(j);
	assert_int_equal(fic_audit_list_get(NULL, f->store, NULL, 0), FIC_EINVAL);
	fic_audit_list *al = (fic_audit_list *)0x1;
	assert_int_equal(fic_audit_list_get(&al, NULL, NULL, 0), FIC_EINVAL);
	assert_null(al);
	assert_int_equal(fic_site_init(NULL, FIC_SITE_VERSION), FIC_EINVAL);
	assert_int_equal(fic_site_init(&s, 0), FIC_EINVAL);
	assert_counts(f->store, 0, 0, 0);
}

static void site_init_matches_the_macro(void **state)
{
	(void)state;
	fic_site a = FIC_SITE_INIT, b;
	memset(&b, 0x5A, sizeof b);
	assert_int_equal(fic_site_init(&b, FIC_SITE_VERSION), FIC_OK);
	assert_int_equal(b.boarding, FIC_UNKNOWN);
	assert_int_equal(b.enrolment, FIC_UNKNOWN);
	assert_int_equal(b.beds, FIC_UNKNOWN);
	assert_int_equal(b.validation_deferred, FIC_UNKNOWN);
	assert_int_equal(b.kind, 0);
	assert_null(b.note);
	assert_int_equal(a.version, b.version);
	assert_int_equal(a.joint_venture, b.joint_venture);
}

static void a_place_code_belongs_to_one_site(void **state)
{
	fixture *f = *state;
	fic_site s = school();
	fic_site *a;
	assert_int_equal(fic_site_add(&a, f->store, &s, NULL), FIC_OK);
	s.name = "另一所学校";
	assert_int_equal(fic_site_add(NULL, f->store, &s, NULL), FIC_EEXISTS);
	assert_non_null(strstr(fic_error_last()->message, a->id));
	assert_counts(f->store, 1, 1, 1);
	fic_site *found;
	assert_int_equal(fic_site_find_by_place_code(&found, f->store, s.place_code), FIC_OK);
	assert_string_equal(found->id, a->id);
	fic_site_free(found);
	found = (fic_site *)0x1;
	assert_int_equal(fic_site_find_by_place_code(&found, f->store, "https://cq.example/none"),
	                 FIC_ENOTFOUND);
	assert_null(found);
	fic_site_free(a);
}

static void one_credit_code_can_run_several_sites(void **state)
{
	fixture *f = *state;
	fic_site s = FIC_SITE_INIT;
	s.kind = FIC_SITE_WATER_SECONDARY;
	s.credit_code = "9144030071526726XG";
	s.name = "阳光小区二次供水";
	assert_int_equal(fic_site_add(NULL, f->store, &s, NULL), FIC_OK);
	s.name = "月亮小区二次供水";
	assert_int_equal(fic_site_add(NULL, f->store, &s, NULL), FIC_OK);
	s.name = "别家";
	s.credit_code = "91110000802100433B";
	assert_int_equal(fic_site_add(NULL, f->store, &s, NULL), FIC_OK);
	fic_site_list *list;
	assert_int_equal(fic_site_find_by_credit_code(&list, f->store, "9144030071526726XG"), FIC_OK);
	assert_int_equal(list->count, 2);
	assert_null(list->distance_m);
	for (size_t i = 0; i < list->count; i++)
		assert_string_equal(list->sites[i]->credit_code, "9144030071526726XG");
	fic_site_list_free(list);
	assert_int_equal(fic_site_find_by_credit_code(&list, f->store, "911101080828461726"), FIC_OK);
	assert_int_equal(list->count, 0);
	fic_site_list_free(list);
	assert_int_equal(fic_site_find_by_credit_code(&list, f->store, "911101080828461727"),
	                 FIC_EINVAL);
}

static void search_matches_kind_and_chinese_name_parts(void **state)
{
	fixture *f = *state;
	struct { int kind; const char *name; } rows[] = {
		{ FIC_SITE_WATER_RURAL, "青杠镇水厂" }, { FIC_SITE_WATER_RURAL, "石桥乡水厂" },
		{ FIC_SITE_SCHOOL, "青杠镇中心小学" }, { FIC_SITE_SCHOOL, "100%_学校\\" },
		{ FIC_SITE_OTHER_VENUE, "Market ABC" }, { FIC_SITE_OTHER_VENUE, "ABC" },
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		fic_site s = FIC_SITE_INIT;
		s.kind = rows[i].kind;
		s.name = rows[i].name;
		assert_int_equal(fic_site_add(NULL, f->store, &s, NULL), FIC_OK);
	}
	fic_site_list *l;
	assert_int_equal(fic_site_search(&l, f->store, 0, "水厂", 0), FIC_OK);
	assert_int_equal(l->count, 2);
	fic_site_list_free(l);
	assert_int_equal(fic_site_search(&l, f->store, FIC_SITE_SCHOOL, "青杠", 0), FIC_OK);
	assert_int_equal(l->count, 1);
	assert_string_equal(l->sites[0]->name, "青杠镇中心小学");
	fic_site_list_free(l);
	assert_int_equal(fic_site_search(&l, f->store, 0, "青杠", 0), FIC_OK);
	assert_int_equal(l->count, 2);
	fic_site_list_free(l);
	/* A plain substring match: case matters, LIKE's wildcards are literal text. */
	assert_int_equal(fic_site_search(&l, f->store, 0, "a", 0), FIC_OK);
	assert_int_equal(l->count, 1);
	assert_string_equal(l->sites[0]->name, "Market ABC");
	fic_site_list_free(l);
	assert_int_equal(fic_site_search(&l, f->store, 0, "abc", 0), FIC_OK);
	assert_int_equal(l->count, 0);
	fic_site_list_free(l);
	assert_int_equal(fic_site_search(&l, f->store, 0, "ABC", 0), FIC_OK);
	assert_int_equal(l->count, 2);
	fic_site_list_free(l);
	assert_int_equal(fic_site_search(&l, f->store, 0, "0%_", 0), FIC_OK);
	assert_int_equal(l->count, 1);
	fic_site_list_free(l);
	assert_int_equal(fic_site_search(&l, f->store, 0, "1_0", 0), FIC_OK);
	assert_int_equal(l->count, 0);
	fic_site_list_free(l);
	assert_int_equal(fic_site_search(&l, f->store, 0, "%", 0), FIC_OK);
	assert_int_equal(l->count, 1);
	fic_site_list_free(l);
	assert_int_equal(fic_site_search(&l, f->store, 0, "_", 0), FIC_OK);
	assert_int_equal(l->count, 1);
	fic_site_list_free(l);
	assert_int_equal(fic_site_search(&l, f->store, 0, "\\", 0), FIC_OK);
	assert_int_equal(l->count, 1);
	fic_site_list_free(l);
	assert_int_equal(fic_site_search(&l, f->store, 0, NULL, 0), FIC_OK);
	assert_int_equal(l->count, 6);
	fic_site_list_free(l);
	assert_int_equal(fic_site_search(&l, f->store, 0, "", 3), FIC_OK);
	assert_int_equal(l->count, 3);
	fic_site_list_free(l);
	assert_int_equal(fic_site_search(&l, f->store, FIC_SITE_EMPLOYER, NULL, 0), FIC_OK);
	assert_int_equal(l->count, 0);
	fic_site_list_free(l);
}

static void near_lists_sites_within_the_radius_nearest_first(void **state)
{
	fixture *f = *state;
	/* One degree of latitude is 111 195 m on the mean-radius sphere. */
	const double lat0 = 29.5, lon0 = 106.5;
	struct { const char *name; double dlat_m; } rows[] = {
		{ "far", 2000 }, { "near", 100 }, { "edge-in", 999 }, { "edge-out", 1001 },
		{ "south", -500 },
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		fic_site s = FIC_SITE_INIT;
		s.kind = FIC_SITE_OTHER_VENUE;
		s.name = rows[i].name;
		s.has_location = 1;
		s.lat = lat0 + rows[i].dlat_m / 111194.93;
		s.lon = lon0;
		assert_int_equal(fic_site_add(NULL, f->store, &s, NULL), FIC_OK);
	}
	fic_site s = FIC_SITE_INIT; /* no location: never listed */
	s.kind = FIC_SITE_OTHER_VENUE;
	s.name = "nowhere";
	assert_int_equal(fic_site_add(NULL, f->store, &s, NULL), FIC_OK);

	fic_site_list *l;
	assert_int_equal(fic_site_near(&l, f->store, lat0, lon0, 1000, 0), FIC_OK);
	assert_int_equal(l->count, 3);
	assert_string_equal(l->sites[0]->name, "near");
	assert_string_equal(l->sites[1]->name, "south");
	assert_string_equal(l->sites[2]->name, "edge-in");
	assert_true(fabs(l->distance_m[0] - 100) < 0.5);
	assert_true(fabs(l->distance_m[1] - 500) < 0.5);
	fic_site_list_free(l);
	assert_int_equal(fic_site_near(&l, f->store, lat0, lon0, 5000, 2), FIC_OK);
	assert_int_equal(l->count, 2);
	fic_site_list_free(l);
	/* East-west distance shrinks with cos(latitude). */
	assert_int_equal(fic_site_near(&l, f->store, lat0 + 100 / 111194.93,
	                               lon0 + 300 / (111194.93 * cos(lat0 * 3.14159265358979 / 180)),
	                               310, 0), FIC_OK);
	assert_int_equal(l->count, 1);
	assert_string_equal(l->sites[0]->name, "near");
	fic_site_list_free(l);
	/* Nobody near: an empty list (under UBSan this once sorted a NULL array). */
	assert_int_equal(fic_site_near(&l, f->store, -lat0, lon0, 100, 0), FIC_OK);
	assert_int_equal(l->count, 0);
	fic_site_list_free(l);
	assert_int_equal(fic_site_near(&l, f->store, 91, lon0, 100, 0), FIC_EINVAL);
	assert_int_equal(fic_site_near(&l, f->store, lat0, -181, 100, 0), FIC_EINVAL);
	assert_int_equal(fic_site_near(&l, f->store, lat0, lon0, 0, 0), FIC_EINVAL);
	assert_int_equal(fic_site_near(&l, f->store, lat0, lon0, NAN, 0), FIC_EINVAL);
	assert_int_equal(fic_site_near(&l, f->store, lat0, lon0, 600000, 0), FIC_EINVAL);
}

/* A located venue named `name`; longitudes past 180 wrap round. */
static void add_at(fic_store *store, const char *name, double lat, double lon)
{
	fic_site s = FIC_SITE_INIT;
	s.kind = FIC_SITE_OTHER_VENUE;
	s.name = name;
	s.has_location = 1;
	s.lat = lat;
	s.lon = lon > 180 ? lon - 360 : lon;
	assert_int_equal(fic_site_add(NULL, store, &s, NULL), FIC_OK);
}

static bool listed(const fic_site_list *l, const char *name)
{
	for (size_t i = 0; i < l->count; i++)
		if (strcmp(l->sites[i]->name, name) == 0)
			return true;
	return false;
}

static void near_finds_sites_at_the_edge_of_a_large_radius_at_high_latitudes(void **state)
{
	fixture *f = *state;
	const double R = 6371008.8, rad = 3.14159265358979323846 / 180, radius = 500000;
	const double d = 499900 / R, lon0 = 170; /* lon0: the circles cross the antimeridian too */
	const double lats[] = { 60, 70, -70 };
	char name[64];
	for (size_t i = 0; i < 3; i++) {
		double phi = lats[i] * rad;
		/* Due east along the parallel, 499.9 km away. */
		double east = acos((cos(d) - sin(phi) * sin(phi)) / (cos(phi) * cos(phi))) / rad;
		snprintf(name, sizeof name, "east %g", lats[i]);
		add_at(f->store, name, lats[i], lon0 + east);
		/* The circle's easternmost point (poleward of the parallel). */
		double tan_lat = asin(sin(phi) / cos(d)) / rad, tan_lon = asin(sin(d) / cos(phi)) / rad;
		snprintf(name, sizeof name, "widest %g", lats[i]);
		add_at(f->store, name, tan_lat, lon0 + tan_lon);
		/* Just outside. */
		double out = acos((cos(500100 / R) - sin(phi) * sin(phi)) / (cos(phi) * cos(phi))) / rad;
		snprintf(name, sizeof name, "outside %g", lats[i]);
		add_at(f->store, name, lats[i], lon0 - out);
	}
	/* Across the pole: 4 degrees of arc (445 km) from (88, lon0) to (88, lon0 + 180). */
	add_at(f->store, "over the pole", 88, lon0 + 180);

	fic_site_list *l;
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(fic_site_near(&l, f->store, lats[i], lon0, radius, 0), FIC_OK);
		snprintf(name, sizeof name, "east %g", lats[i]);
		if (!listed(l, name))
			fail_msg("'%s' (499.9 km due east) not found", name);
		snprintf(name, sizeof name, "widest %g", lats[i]);
		if (!listed(l, name))
			fail_msg("'%s' (499.9 km at the circle's widest) not found", name);
		snprintf(name, sizeof name, "outside %g", lats[i]);
		assert_false(listed(l, name));
		for (size_t k = 0; k < l->count; k++)
			assert_true(l->distance_m[k] <= radius);
		fic_site_list_free(l);
	}
	assert_int_equal(fic_site_near(&l, f->store, 88, lon0, radius, 0), FIC_OK);
	assert_true(listed(l, "over the pole"));
	assert_true(fabs(l->distance_m[0] - 4 * rad * R) < 1);
	fic_site_list_free(l);
}

static cJSON *last_audit_detail(fic_store *s, const char *id, const char **action)
{
	static char act[64];
	fic_audit_list *log;
	assert_int_equal(fic_audit_list_get(&log, s, id, 0), FIC_OK);
	assert_true(log->count > 0);
	const fic_audit_entry *e = &log->entries[log->count - 1];
	snprintf(act, sizeof act, "%s", e->action);
	*action = act;
	cJSON *d = cJSON_Parse(e->detail);
	fic_audit_list_free(log);
	assert_non_null(d);
	return d;
}

static void update_records_what_changed_and_why(void **state)
{
	fixture *f = *state;
	fic_site in = school();
	fic_site *a;
	assert_int_equal(fic_site_add(&a, f->store, &in, NULL), FIC_OK);
	f->clock.wall_ms += 60000;
	fic_site ch = *a;
	ch.enrolment = 700;
	ch.manager = "赵六";
	ch.note = NULL; /* removing a fact is a change too */
	fic_site *b;
	assert_int_equal(fic_site_update(&b, f->store, &ch, "负责人变更、学生人数增加"), FIC_OK);
	assert_int_equal(b->revision, 2);
	assert_int_equal(b->updated_at_ms, f->clock.wall_ms);
	assert_int_equal(b->created_at_ms, a->created_at_ms);
	assert_int_equal(b->status, FIC_SITE_ACTIVE); /* a field site keeps its status */
	assert_int_equal(b->enrolment, 700);
	assert_null(b->note);
	const char *action;
	cJSON *d = last_audit_detail(f->store, a->id, &action);
	assert_string_equal(action, "site.update");
	assert_string_equal(cJSON_GetObjectItem(d, "reason")->valuestring, "负责人变更、学生人数增加");
	cJSON *changes = cJSON_GetObjectItem(d, "changes");
	assert_int_equal(cJSON_GetArraySize(changes), 3);
	cJSON *en = cJSON_GetObjectItem(changes, "enrolment");
	assert_int_equal(cJSON_GetObjectItem(en, "from")->valueint, 640);
	assert_int_equal(cJSON_GetObjectItem(en, "to")->valueint, 700);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(changes, "note"), "to")));
	cJSON_Delete(d);
	assert_counts(f->store, 1, 2, 2);

	/* The same facts again: nothing to record. */
	fic_site *c;
	assert_int_equal(fic_site_update(&c, f->store, b, "again"), FIC_OK);
	assert_int_equal(c->revision, 2);
	assert_counts(f->store, 1, 2, 2);
	fic_site_free(a);
	fic_site_free(b);
	fic_site_free(c);
}

static void a_county_site_with_new_facts_becomes_changed(void **state)
{
	fixture *f = *state;
	fic_site in = school();
	fic_site *a;
	assert_int_equal(fic_site_add(&a, f->store, &in, NULL), FIC_OK);
	/* Pretend it came with the county's registry (sync will do this). */
	assert_int_equal(sqlite3_exec(f->store->db, "UPDATE sites SET origin = 1", NULL, NULL, NULL),
	                 SQLITE_OK);
	fic_site ch = *a;
	ch.address = "搬迁至新址 1 号";
	fic_site *b;
	assert_int_equal(fic_site_update(&b, f->store, &ch, "学校搬迁"), FIC_OK);
	assert_int_equal(b->status, FIC_SITE_CHANGED);
	assert_int_equal(b->origin, FIC_SITE_FROM_COUNTY);
	fic_site_free(a);
	fic_site_free(b);
}

static void update_refusals_leave_the_site_unchanged(void **state)
{
	fixture *f = *state;
	fic_site in = school();
	fic_site *a, *other;
	assert_int_equal(fic_site_add(&a, f->store, &in, NULL), FIC_OK);
	in.place_code = "https://cq.example/place/other";
	in.name = "另一处";
	assert_int_equal(fic_site_add(&other, f->store, &in, NULL), FIC_OK);
	fic_site ch = *a;
	ch.name = "新名字";
	assert_int_equal(fic_site_update(NULL, f->store, &ch, NULL), FIC_EINVAL);
	assert_int_equal(fic_site_update(NULL, f->store, &ch, ""), FIC_EINVAL);
	ch.id = "01900000-0000-7000-8000-000000000000";
	assert_int_equal(fic_site_update(NULL, f->store, &ch, "r"), FIC_ENOTFOUND);
	ch.id = NULL;
	assert_int_equal(fic_site_update(NULL, f->store, &ch, "r"), FIC_EINVAL);
	ch.id = a->id;
	ch.place_code = other->place_code;
	assert_int_equal(fic_site_update(NULL, f->store, &ch, "r"), FIC_EEXISTS);
	ch.place_code = a->place_code;
	ch.kind = FIC_SITE_MEDICAL; /* school facts on a medical site */
	assert_int_equal(fic_site_update(NULL, f->store, &ch, "r"), FIC_EINVAL);
	fic_site *g;
	assert_int_equal(fic_site_get(&g, f->store, a->id), FIC_OK);
	assert_string_equal(g->name, a->name);
	assert_int_equal(g->revision, 1);
	fic_site_free(g);
	assert_counts(f->store, 2, 2, 2);
	fic_site_free(a);
	fic_site_free(other);
}

static void closing_a_site_is_recorded_once(void **state)
{
	fixture *f = *state;
	fic_site in = school();
	fic_site *a;
	assert_int_equal(fic_site_add(&a, f->store, &in, NULL), FIC_OK);
	assert_int_equal(fic_site_close(f->store, a->id, NULL), FIC_EINVAL);
	assert_int_equal(fic_site_close(f->store, "nope", "r"), FIC_ENOTFOUND);
	assert_int_equal(fic_site_close(f->store, a->id, "现场核实已停办"), FIC_OK);
	fic_site *g;
	assert_int_equal(fic_site_get(&g, f->store, a->id), FIC_OK);
	assert_int_equal(g->status, FIC_SITE_CLOSED);
	assert_int_equal(g->revision, 2);
	assert_int_equal(fic_site_close(f->store, a->id, "again"), FIC_ESTATE);
	assert_int_equal(fic_site_update(NULL, f->store, g, "reopened?"), FIC_ESTATE);
	const char *action;
	cJSON *d = last_audit_detail(f->store, a->id, &action);
	assert_string_equal(action, "site.close");
	assert_string_equal(cJSON_GetObjectItem(d, "reason")->valuestring, "现场核实已停办");
	cJSON_Delete(d);
	/* Closing files its report (实施方案 服务方法 1(3)): a site-status lead,
	 * a draft until its proof photo is attached — audited, not yet queued. */
	assert_counts(f->store, 1, 3, 2);
	assert_int_equal(count_rows(f->store, "SELECT count(*) FROM leads WHERE category = "
	                                      "'site_status' AND state = 'draft'"), 1);
	fic_site_free(g);
	fic_site_free(a);
}

static void every_change_is_queued_for_upload_with_the_site(void **state)
{
	fixture *f = *state;
	fic_site in = school();
	fic_site *a;
	assert_int_equal(fic_site_add(&a, f->store, &in, "新建本底"), FIC_OK);
	fic_site ch = *a;
	ch.enrolment = 1;
	assert_int_equal(fic_site_update(NULL, f->store, &ch, "更正"), FIC_OK);
	assert_int_equal(fic_site_close(f->store, a->id, "关闭"), FIC_OK);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(f->store->db, "SELECT record_type, record_id, op, payload,"
	                                    " state FROM outbox ORDER BY seq", -1, &st, NULL), SQLITE_OK);
	const char *ops[] = { "add", "update", "close" };
	const char *statuses[] = { "active", "active", "closed" };
	for (int i = 0; i < 3; i++) {
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_string_equal((const char *)sqlite3_column_text(st, 0), "site");
		assert_string_equal((const char *)sqlite3_column_text(st, 1), a->id);
		assert_string_equal((const char *)sqlite3_column_text(st, 2), ops[i]);
		assert_string_equal((const char *)sqlite3_column_text(st, 4), "pending");
		cJSON *p = cJSON_Parse((const char *)sqlite3_column_text(st, 3));
		cJSON *site = cJSON_GetObjectItem(p, "site");
		assert_string_equal(cJSON_GetObjectItem(site, "id")->valuestring, a->id);
		assert_string_equal(cJSON_GetObjectItem(site, "status")->valuestring, statuses[i]);
		assert_int_equal(cJSON_GetObjectItem(site, "revision")->valueint, i + 1);
		cJSON_Delete(p);
	}
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	fic_site_free(a);
}

static void audit_entries_carry_who_and_when(void **state)
{
	fixture *f = *state;
	fic_site in = school();
	fic_site *a;
	f->clock.mono_ms = 424242;
	assert_int_equal(fic_site_add(&a, f->store, &in, NULL), FIC_OK);
	fic_audit_list *log;
	assert_int_equal(fic_audit_list_get(&log, f->store, a->id, 0), FIC_OK);
	assert_int_equal(log->count, 1);
	assert_string_equal(log->entries[0].actor, "协管员张三");
	assert_string_equal(log->entries[0].entity, "site");
	assert_string_equal(log->entries[0].entity_id, a->id);
	assert_int_equal(log->entries[0].at_ms, f->clock.wall_ms);
	assert_int_equal(log->entries[0].seq, 1);
	fic_audit_list_free(log);
	assert_int_equal(count_rows(f->store, "SELECT count(*) FROM audit WHERE mono_ms = 424242 "
	                                      "AND boot_id = 'test-boot-1'"), 1);
	/* limit keeps the newest entries */
	for (int i = 0; i < 5; i++) {
		fic_site ch = *a;
		ch.enrolment = 100 + i;
		assert_int_equal(fic_site_update(NULL, f->store, &ch, "计数"), FIC_OK);
	}
	assert_int_equal(fic_audit_list_get(&log, f->store, NULL, 2), FIC_OK);
	assert_int_equal(log->count, 2);
	assert_int_equal(log->entries[0].seq, 5);
	assert_int_equal(log->entries[1].seq, 6);
	fic_audit_list_free(log);
	fic_site_free(a);
}

static void json_form_uses_code_strings(void **state)
{
	(void)state;
	fic_site s = school();
	s.id = "01900000-0000-7000-8000-000000000001";
	s.status = FIC_SITE_CLOSED;
	s.origin = FIC_SITE_FROM_COUNTY;
	char *text;
	assert_int_equal(fic_site_to_json(&text, &s), FIC_OK);
	cJSON *j = cJSON_Parse(text);
	fic_free(text);
	assert_string_equal(cJSON_GetObjectItem(j, "kind")->valuestring, "school");
	assert_string_equal(cJSON_GetObjectItem(j, "status")->valuestring, "closed");
	assert_string_equal(cJSON_GetObjectItem(j, "origin")->valuestring, "county");
	assert_string_equal(cJSON_GetObjectItem(j, "school_level")->valuestring, "primary");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "boarding")));
	assert_null(cJSON_GetObjectItem(j, "beds"));
	cJSON_Delete(j);
}

static void codes_parse_and_name_every_value(void **state)
{
	(void)state;
	int types[] = { FIC_CODE_KIND, FIC_CODE_STATUS, FIC_CODE_ORIGIN, FIC_CODE_SCHOOL_LEVEL,
	                FIC_CODE_MED_REGISTRATION, FIC_CODE_INSTITUTION_TYPE, FIC_CODE_INDUSTRY,
	                FIC_CODE_HAZARD_LEVEL, FIC_CODE_VENUE_TYPE };
	int seen = 0;
	for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
		for (int v = 1; v < 20; v++) {
			const char *code = fic_site_code_str(types[t], v);
			if (code[0] == '\0') {
				assert_string_equal(fic_site_code_label(types[t], v), "");
				continue;
			}
			seen++;
			int back = 0;
			assert_int_equal(fic_site_code_parse(&back, types[t], code), FIC_OK);
			assert_int_equal(back, v);
			assert_true(fic_site_code_label(types[t], v)[0] != '\0');
		}
	}
	assert_int_equal(seen, 9 + 3 + 2 + 6 + 2 + 15 + 5 + 2 + 5);
	int v;
	assert_int_equal(fic_site_code_parse(&v, FIC_CODE_KIND, "hospital"), FIC_EINVAL);
	assert_non_null(strstr(fic_error_last()->message, "water_rural"));
	assert_int_equal(fic_site_code_parse(&v, 999, "school"), FIC_EINVAL);
	assert_int_equal(fic_site_code_parse(NULL, FIC_CODE_KIND, "school"), FIC_EINVAL);
	assert_int_equal(fic_site_code_parse(&v, FIC_CODE_KIND, NULL), FIC_EINVAL);
	assert_string_equal(fic_site_code_str(999, 1), "");
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(added_site_round_trips_every_field),
		T(kind_specific_facts_are_kept_for_each_kind),
		T(invalid_facts_are_refused_and_nothing_is_stored),
		T(oversized_text_is_refused_as_too_big),
		T(null_handles_and_arguments_are_refused),
		T(site_init_matches_the_macro),
		T(a_place_code_belongs_to_one_site),
		T(one_credit_code_can_run_several_sites),
		T(search_matches_kind_and_chinese_name_parts),
		T(near_lists_sites_within_the_radius_nearest_first),
		T(near_finds_sites_at_the_edge_of_a_large_radius_at_high_latitudes),
		T(update_records_what_changed_and_why),
		T(a_county_site_with_new_facts_becomes_changed),
		T(update_refusals_leave_the_site_unchanged),
		T(closing_a_site_is_recorded_once),
		T(every_change_is_queued_for_upload_with_the_site),
		T(audit_entries_carry_who_and_when),
		T(json_form_uses_code_strings),
		T(codes_parse_and_name_every_value),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
