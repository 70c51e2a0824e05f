/*
 * tests/core/test_scale.c — the derived tables (0002_scale.sql, 0004_year.sql): a
 * store of schema 1 gets them when migrated; triggers keep the counters, the
 * R*Tree, the name bigrams and the patrol columns in step with every change;
 * fic_store_check() finds them out of step; and the lookups that use them —
 * search by name, near — answer exactly what reading every site would.
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

static int64_t one_int(fic_store *s, const char *sql)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(s->db));
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int64_t n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static void exec_ok(fic_store *s, const char *sql)
{
	char *err = NULL;
	if (sqlite3_exec(s->db, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", sql, err ? err : "?");
}

static void check_ok(fic_store *s)
{
	if (fic_store_check(s) != FIC_OK)
		fail_msg("fic_store_check: %s", fic_error_last()->message);
}

static void check_finds(fic_store *s, const char *what)
{
	assert_int_equal(fic_store_check(s), FIC_ECORRUPT);
	if (strstr(fic_error_last()->message, what) == NULL)
		fail_msg("check said '%s', expected '%s'", fic_error_last()->message, what);
}

/* The status counters agree with counting the tables. */
static void stats_match_the_tables(fic_store *s)
{
	fic_store_stats st = FIC_STORE_STATS_INIT;
	assert_int_equal(fic_store_stats_get(s, &st), FIC_OK);
	assert_int_equal(st.sites, one_int(s, "SELECT count(*) FROM sites"));
	assert_int_equal(st.audit_entries, one_int(s, "SELECT count(*) FROM audit"));
	assert_int_equal(st.outbox_pending,
	                 one_int(s, "SELECT count(*) FROM outbox WHERE state IN ('pending', 'sent')"));
}

static void add_site(fic_store *s, char id[FIC_UUID_BUFSIZE], int kind, const char *name,
                     double lat, double lon)
{
	fic_site in = FIC_SITE_INIT;
	in.kind = kind;
	in.name = name;
	if (!isnan(lat)) {
		in.has_location = 1;
		in.lat = lat;
		in.lon = lon;
	}
	fic_site *out;
	if (fic_site_add(&out, s, &in, NULL) != FIC_OK)
		fail_msg("fic_site_add: %s", fic_error_last()->message);
	if (id)
		strcpy(id, out->id);
	fic_site_free(out);
}

/* A finished patrol of `site` dated `date` (a visit, not its answers, counts here). */
static void patrol(fic_store *s, const char *site, const char *checklist, const char *date)
{
	char id[FIC_UUID_BUFSIZE];
	if (fic_inspection_start(id, s, site, checklist) != FIC_OK)
		fail_msg("fic_inspection_start: %s", fic_error_last()->message);
	char sql[300];
	snprintf(sql, sizeof sql, "UPDATE inspections SET inspection_date = '%s', state = 'finished' "
	                          "WHERE id = '%s'", date, id);
	exec_ok(s, sql);
}

static cJSON *due_summary(fic_store *s)
{
	char *t;
	assert_int_equal(fic_due_summary_json(&t, s), FIC_OK);
	cJSON *j = cJSON_Parse(t);
	fic_free(t);
	assert_non_null(j);
	return j;
}

static int area_count(const cJSON *summary, const char *area, const char *what)
{
	const cJSON *a = cJSON_GetObjectItem(cJSON_GetObjectItem(summary, "areas"), area);
	assert_non_null(a);
	return cJSON_GetObjectItem(a, what)->valueint;
}

/* ---- migration from schema 1 ---- */

static void a_schema_1_store_gets_its_derived_tables_when_migrated(void **state)
{
	fixture *f = *state;
	char *path = tu_path(f->dir, "old.db");
	fic_store_options o = FIC_STORE_OPTIONS_INIT;
	o.platform = &f->platform;
	fic_store *s;
	assert_int_equal(fic__store_open_with(&s, path, &o, fic__migrations, 1), FIC_OK);
	assert_int_equal(one_int(s, "PRAGMA user_version"), 1);
	/* Rows as schema 1 held them (today's library writes columns schema 1
	 * did not have): county sites with their audit entries, and patrols. */
	const char *school = "cq-sch-1", *water = "cq-wat-1";
	exec_ok(s, "INSERT INTO checklists (id, version, origin, definition, installed_at_ms) VALUES "
	           "('water.rural', 1, 'builtin', '{}', 0), ('school.disease_control', 1, 'builtin', "
	           "'{}', 0)");
	exec_ok(s, "INSERT INTO sites (id, kind, name, lat, lon, status, origin, created_at_ms, "
	           "updated_at_ms) VALUES ('cq-sch-1', 3, '青杠镇中心小学', 29.56, 106.55, 1, 1, 0, 0), "
	           "('cq-wat-1', 1, '石桥村集中供水站', 29.57, 106.56, 1, 1, 0, 0), "
	           "('cq-wat-2', 1, '老水厂', NULL, NULL, 2, 1, 0, 0), "
	           "('cq-emp-1', 8, '煤矿', 29.9, 106.9, 1, 1, 0, 0)");
	exec_ok(s, "INSERT INTO audit (at_ms, mono_ms, boot_id, actor, action, entity, entity_id, detail) "
	           "SELECT 0, 0, 'b', 'county', 'site.registry', 'site', id, '{}' FROM sites");
	exec_ok(s, "INSERT INTO inspections (id, site_id, checklist_id, checklist_version, area, "
	           "inspection_date, state, site_facts, started_at_ms) VALUES "
	           "('i1', 'cq-wat-1', 'water.rural', 1, 'drinking_water', '2026-01-10', 'finished', '{}', 0), "
	           "('i2', 'cq-wat-1', 'water.rural', 1, 'drinking_water', '2026-02-20', 'finished', '{}', 0), "
	           "('i3', 'cq-sch-1', 'school.disease_control', 1, 'school', '2025-11-02', 'finished', '{}', 0), "
	           "('i4', 'cq-sch-1', 'school.disease_control', 1, 'school', '2026-02-27', 'finished', '{}', 0)");
	fic_store_close(s);

	assert_int_equal(fic_store_open(&s, path, &o), FIC_OK);
	assert_int_equal(one_int(s, "PRAGMA user_version"), fic_store_schema_version());
	check_ok(s); /* the counters, R*Tree, bigrams and patrol columns all match */
	stats_match_the_tables(s);
	assert_int_equal(one_int(s, "SELECT count(*) FROM site_rtree"), 3);
	char sql[200];
	snprintf(sql, sizeof sql, "SELECT patrols_in_year * 10000 + CAST(patrol_year AS INTEGER) "
	                          "FROM site_areas WHERE site_id = '%s' AND area = 'drinking_water'",
	         water);
	assert_int_equal(one_int(s, sql), 2 * 10000 + 2026);
	snprintf(sql, sizeof sql, "SELECT last_patrol = '2026-02-27' FROM site_areas WHERE site_id = "
	                          "'%s' AND area = 'school'", school);
	assert_int_equal(one_int(s, sql), 1);
	/* What the new lookups read is there. */
	fic_site_list *l;
	assert_int_equal(fic_site_search(&l, s, 0, "石桥", 0), FIC_OK);
	assert_int_equal(l->count, 1);
	assert_string_equal(l->sites[0]->id, water);
	fic_site_list_free(l);
	assert_int_equal(fic_site_near(&l, s, 29.56, 106.55, 5000, 1), FIC_OK);
	assert_int_equal(l->count, 1);
	assert_string_equal(l->sites[0]->id, school);
	fic_site_list_free(l);
	cJSON *j = due_summary(s);
	assert_int_equal(area_count(j, "drinking_water", "open_sites"), 1);
	assert_int_equal(area_count(j, "drinking_water", "due"), 0);
	assert_int_equal(area_count(j, "school", "due"), 1);
	assert_int_equal(area_count(j, "school", "not_patrolled_this_year"), 0);
	assert_int_equal(area_count(j, "occupational", "not_patrolled_this_year"), 1);
	cJSON_Delete(j);
	fic_store_close(s);
	free(path);
}

/* ---- the triggers ---- */

static void counters_and_indexes_follow_every_change(void **state)
{
	fixture *f = *state;
	fic_store *s = f->store;
	char a[FIC_UUID_BUFSIZE], b[FIC_UUID_BUFSIZE];
	add_site(s, a, FIC_SITE_SCHOOL, "青杠小学", 29.5, 106.5);
	add_site(s, b, FIC_SITE_WATER_RURAL, "白沙水厂", NAN, 0);
	check_ok(s);
	stats_match_the_tables(s);

	/* Rename, move, give a location, change kind: every derived table follows. */
	fic_site *site;
	assert_int_equal(fic_site_get(&site, s, a), FIC_OK);
	fic_site in = *site;
	in.name = "龙溪中学";
	in.lat = 30.1;
	assert_int_equal(fic_site_update(NULL, s, &in, "改名搬迁"), FIC_OK);
	fic_site_free(site);
	assert_int_equal(fic_site_get(&site, s, b), FIC_OK);
	in = *site;
	in.has_location = 1;
	in.lat = 29.0;
	in.lon = 106.0;
	in.kind = FIC_SITE_WATER_SECONDARY;
	assert_int_equal(fic_site_update(NULL, s, &in, "补充位置"), FIC_OK);
	fic_site_free(site);
	check_ok(s);
	fic_site_list *l;
	assert_int_equal(fic_site_search(&l, s, 0, "青杠", 0), FIC_OK);
	assert_int_equal(l->count, 0); /* the old name's bigrams went */
	fic_site_list_free(l);
	assert_int_equal(fic_site_search(&l, s, 0, "龙溪", 0), FIC_OK);
	assert_int_equal(l->count, 1);
	fic_site_list_free(l);
	assert_int_equal(fic_site_near(&l, s, 29.5, 106.5, 1000, 0), FIC_OK);
	assert_int_equal(l->count, 0); /* moved away */
	fic_site_list_free(l);
	assert_int_equal(fic_site_near(&l, s, 30.1, 106.5, 1000, 0), FIC_OK);
	assert_int_equal(l->count, 1);
	fic_site_list_free(l);
	assert_int_equal(fic_site_near(&l, s, 29.0, 106.0, 1000, 5), FIC_OK);
	assert_int_equal(l->count, 1);
	assert_string_equal(l->sites[0]->id, b);
	fic_site_list_free(l);

	/* Patrols, a kind that moves a site to another area, closing. */
	patrol(s, a, "school.disease_control", "2026-02-01");
	patrol(s, a, "school.disease_control", "2026-02-15");
	check_ok(s);
	cJSON *j = due_summary(s);
	assert_int_equal(area_count(j, "school", "open_sites"), 1);
	assert_int_equal(area_count(j, "school", "due"), 0);
	cJSON_Delete(j);
	assert_int_equal(fic_site_get(&site, s, a), FIC_OK);
	in = *site;
	in.kind = FIC_SITE_OTHER_VENUE;
	in.school_level = 0;
	assert_int_equal(fic_site_update(NULL, s, &in, "改为其他场所"), FIC_OK);
	fic_site_free(site);
	check_ok(s); /* its school patrols do not count for medical_blood */
	j = due_summary(s);
	assert_int_equal(area_count(j, "school", "open_sites"), 0);
	assert_int_equal(area_count(j, "medical_blood", "open_sites"), 1);
	assert_int_equal(area_count(j, "medical_blood", "due"), 1);
	cJSON_Delete(j);
	assert_int_equal(fic_site_close(s, b, "停用"), FIC_OK);
	check_ok(s);
	j = due_summary(s);
	assert_int_equal(area_count(j, "drinking_water", "open_sites"), 0);
	cJSON_Delete(j);

	/* The outbox counter follows states and deletions, whoever makes them. */
	exec_ok(s, "UPDATE outbox SET state = 'acked', received_at_ms = 1 WHERE seq = 1");
	exec_ok(s, "UPDATE outbox SET state = 'rejected' WHERE seq = 2");
	exec_ok(s, "DELETE FROM outbox WHERE seq = 3");
	exec_ok(s, "UPDATE outbox SET state = 'pending' WHERE seq = 1");
	stats_match_the_tables(s);
	check_ok(s);
	/* Rows deleted behind the library's back still leave the counters right. */
	exec_ok(s, "DELETE FROM leads"); /* closing a site filed its report */
	exec_ok(s, "DELETE FROM inspections");
	exec_ok(s, "DELETE FROM sites");
	stats_match_the_tables(s);
	assert_int_equal(one_int(s, "SELECT count(*) FROM site_rtree"), 0);
	assert_int_equal(one_int(s, "SELECT count(*) FROM site_grams"), 0);
	assert_int_equal(one_int(s, "SELECT coalesce(sum(n), 0) FROM counts WHERE name LIKE 'open.%' "
	                            "OR name LIKE 'seen.%' OR name LIKE 'done.%'"), 0);
	assert_int_equal(one_int(s, "SELECT count(*) FROM site_areas"), 0);
}

static void a_site_key_never_changes(void **state)
{
	fixture *f = *state;
	char a[FIC_UUID_BUFSIZE], b[FIC_UUID_BUFSIZE];
	add_site(f->store, a, FIC_SITE_SCHOOL, "一小", 29.5, 106.5);
	add_site(f->store, b, FIC_SITE_SCHOOL, "二小", 29.5, 106.5);
	assert_int_equal(one_int(f->store, "SELECT count(DISTINCT k) FROM sites WHERE k IS NOT NULL"), 2);
	assert_int_not_equal(sqlite3_exec(f->store->db, "UPDATE sites SET k = k + 100", NULL, NULL, NULL),
	                     SQLITE_OK);
	assert_non_null(strstr(sqlite3_errmsg(f->store->db), "never changes"));
	check_ok(f->store);
}

static void check_finds_derived_tables_out_of_step(void **state)
{
	fixture *f = *state;
	fic_store *s = f->store;
	char a[FIC_UUID_BUFSIZE];
	add_site(s, a, FIC_SITE_SCHOOL, "青杠镇中心小学", 29.5, 106.5);
	patrol(s, a, "school.disease_control", "2026-02-01");
	check_ok(s);
	static const struct { const char *spoil, *mend, *what; } cases[] = {
		{ "UPDATE counts SET n = n + 1 WHERE name = 'sites'",
		  "UPDATE counts SET n = n - 1 WHERE name = 'sites'", "counter(s) differ" },
		{ "UPDATE counts SET n = n + 1 WHERE name = 'open.school'",
		  "UPDATE counts SET n = n - 1 WHERE name = 'open.school'", "counter(s) differ" },
		{ "UPDATE counts SET n = 5 WHERE name = 'seen.school.2026'",
		  "UPDATE counts SET n = 1 WHERE name = 'seen.school.2026'", "patrol counter" },
		{ "INSERT INTO counts VALUES ('done.mch.2026', 3)",
		  "DELETE FROM counts WHERE name = 'done.mch.2026'", "patrol counter" },
		{ "DELETE FROM site_areas WHERE area = 'school'",
		  "INSERT INTO site_areas (k, area, site_id, name, kind, open, via, per_year, "
		  "last_patrol, patrol_year, patrols_in_year) SELECT k, 'school', id, name, kind, 1, "
		  "'kind', 2, '2026-02-01', '2026', 1 FROM sites", "areas of their kind" },
		{ "UPDATE site_areas SET name = 'x'", "UPDATE site_areas SET name = (SELECT name FROM "
		  "sites WHERE sites.k = site_areas.k)", "areas of their kind" },
		{ "DELETE FROM site_rtree", "INSERT INTO site_rtree SELECT k, lat, lat, lon, lon FROM sites",
		  "location index" },
		{ "UPDATE site_rtree SET minlat = minlat + 1, maxlat = maxlat + 1",
		  "UPDATE site_rtree SET minlat = minlat - 1, maxlat = maxlat - 1", "location index" },
		{ "DELETE FROM site_grams WHERE gram = '中心'",
		  "INSERT INTO site_grams SELECT '中心', k FROM sites", "name index" },
		{ "UPDATE site_gram_counts SET n = n + 1 WHERE gram = '中心'",
		  "UPDATE site_gram_counts SET n = n - 1 WHERE gram = '中心'", "bigram count" },
		{ "INSERT INTO site_gram_counts VALUES ('无人', 2)",
		  "DELETE FROM site_gram_counts WHERE gram = '无人'", "bigram count" },
		{ "UPDATE site_areas SET last_patrol = '2025-01-01'",
		  "UPDATE site_areas SET last_patrol = '2026-02-01'", "patrol dates or counts" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		exec_ok(s, cases[i].spoil);
		check_finds(s, cases[i].what);
		exec_ok(s, cases[i].mend);
		check_ok(s);
	}
}

/* ---- search: the bigram index answers what reading every name would ---- */

/* The ids of the sites reading every name finds, in the list's order, joined by ','. */
static char *brute_search(fic_store *s, int kind, const char *part, size_t limit)
{
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(s->db, "SELECT id FROM sites WHERE (?1 = 0 OR kind = ?1) "
	                                           "AND (?2 IS NULL OR instr(name, ?2) > 0) "
	                                           "ORDER BY name, id LIMIT ?3", -1, &st, NULL),
	                 SQLITE_OK);
	sqlite3_bind_int(st, 1, kind);
	if (part && part[0])
		sqlite3_bind_text(st, 2, part, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, limit ? (int64_t)limit : -1);
	size_t cap = 1 << 16, used = 0;
	char *out = calloc(1, cap);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(st, 0);
		used += (size_t)snprintf(out + used, cap - used, "%s,", id);
		assert_true(used < cap);
	}
	sqlite3_finalize(st);
	return out;
}

static char *list_ids(const fic_site_list *l)
{
	size_t cap = 1 << 16, used = 0;
	char *out = calloc(1, cap);
	for (size_t i = 0; i < l->count; i++) {
		used += (size_t)snprintf(out + used, cap - used, "%s,", l->sites[i]->id);
		assert_true(used < cap);
	}
	return out;
}

/* `n` sites written straight into the table in one transaction (triggers and all). */
static void bulk_sites(fic_store *s, int n, const char *(*name_of)(int i, char *buf),
                       int (*kind_of)(int i), double (*lat_of)(int i), double (*lon_of)(int i))
{
	exec_ok(s, "BEGIN");
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(s->db, "INSERT INTO sites (id, kind, name, lat, lon, status, "
	                                           "origin, created_at_ms, updated_at_ms) VALUES (?1, ?2, "
	                                           "?3, ?4, ?5, 1, 1, 0, 0)", -1, &st, NULL), SQLITE_OK);
	char id[40], buf[200];
	for (int i = 0; i < n; i++) {
		snprintf(id, sizeof id, "bulk-%05d", i);
		sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int(st, 2, kind_of(i));
		sqlite3_bind_text(st, 3, name_of(i, buf), -1, SQLITE_TRANSIENT);
		if (lat_of) {
			sqlite3_bind_double(st, 4, lat_of(i));
			sqlite3_bind_double(st, 5, lon_of(i));
		}
		assert_int_equal(sqlite3_step(st), SQLITE_DONE);
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
	sqlite3_finalize(st);
	/* The audit entries fic_store_check() wants of every site. */
	exec_ok(s, "INSERT INTO audit (at_ms, mono_ms, boot_id, actor, action, entity, entity_id, "
	           "detail) SELECT 0, 0, 'b', 'bulk', 'site.registry', 'site', id, '{}' FROM sites "
	           "WHERE id LIKE 'bulk-%'");
	exec_ok(s, "COMMIT");
}

static const char *const syllables[] = { "青杠", "石桥", "龙溪", "金竹", "白沙", "大田", "黄桷", "新华" };

/*
 * 2 600 names: every one holds "中心" (a bigram in more than 2 000 names: the
 * search walks names in order), rarer syllable pairs, Latin letters, digits
 * and punctuation; names repeat every 384 sites (ties go by id).
 */
static const char *name_of(int i, char *buf)
{
	static const char *const tail[] = { "小学", "卫生室", "水厂", "Clinic A", "(东)站", "100%_店" };
	snprintf(buf, 200, "%s镇%s%s中心%s", syllables[i % 8], syllables[(i / 8) % 8],
	         i % 97 == 0 ? "石桥" : "", tail[(i / 64) % 6]);
	return buf;
}

static int kind_of(int i)
{
	static const int kinds[] = { FIC_SITE_SCHOOL, FIC_SITE_MEDICAL, FIC_SITE_WATER_RURAL,
		                     FIC_SITE_OTHER_VENUE };
	return kinds[i % 4];
}

static void search_agrees_with_reading_every_name(void **state)
{
	fixture *f = *state;
	bulk_sites(f->store, 2600, name_of, kind_of, NULL, NULL);
	check_ok(f->store);
	assert_true(one_int(f->store, "SELECT count(*) FROM site_grams WHERE gram = '中心'") > 2000);
	static const char *const parts[] = {
		"中心",        /* in every name: walk in name order */
		"心",          /* one character: walk in name order */
		"石桥",        /* rarer: read the sites holding it */
		"镇石桥",      /* the rarest of its bigrams decides */
		"青杠镇龙溪",  /* a whole place */
		"中心小学",    /* common bigrams, a combination of them */
		"Clinic",      /* Latin: case matters */
		"clinic",
		"(东)",        /* punctuation is plain text */
		"100%_",
		"%_",
		"不存在",      /* in no name */
		"石桥镇",      /* bigrams that exist, never together */
		NULL,          /* no name part */
	};
	static const int kinds[] = { 0, FIC_SITE_SCHOOL, FIC_SITE_EMPLOYER };
	static const size_t limits[] = { 0, 1, 50 };
	for (size_t p = 0; p < sizeof parts / sizeof parts[0]; p++)
		for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
			for (size_t m = 0; m < sizeof limits / sizeof limits[0]; m++) {
				fic_site_list *l;
				assert_int_equal(fic_site_search(&l, f->store, kinds[k], parts[p], limits[m]),
				                 FIC_OK);
				char *got = list_ids(l), *want = brute_search(f->store, kinds[k], parts[p],
				                                               limits[m]);
				if (strcmp(got, want) != 0)
					fail_msg("search '%s' kind %d limit %zu: %zu sites, not as reading "
					         "every name", parts[p] ? parts[p] : "(none)", kinds[k],
					         limits[m], l->count);
				free(got);
				free(want);
				fic_site_list_free(l);
			}
}

/* ---- near: the R*Tree answers what measuring every site would ---- */

#define R_EARTH 6371008.8

static double haversine(double lat1, double lon1, double lat2, double lon2)
{
	const double r = 3.14159265358979323846 / 180.0;
	double dlat = (lat2 - lat1) * r, dlon = (lon2 - lon1) * r;
	double a = sin(dlat / 2) * sin(dlat / 2) +
		   cos(lat1 * r) * cos(lat2 * r) * sin(dlon / 2) * sin(dlon / 2);
	return 2 * R_EARTH * asin(fmin(1.0, sqrt(a)));
}

/* 1 460 sites over a 40 km square, and 40 more on 20 points about a metre apart
 * (two sites on each), so distances tie and sit closer than the R*Tree's boxes. */
static double lat_of(int i)
{
	if (i < 40)
		return 29.5 + (i % 10) * 1e-5;
	return 29.3 + 0.36 * ((i * 7919) % 1000) / 1000.0;
}

static double lon_of(int i)
{
	if (i < 40)
		return 106.5 + (i / 10 % 2) * 2e-5;
	return 106.3 + 0.41 * ((i * 104729) % 1000) / 1000.0;
}

static const char *plain_name(int i, char *buf)
{
	snprintf(buf, 200, "场所%d", i);
	return buf;
}

static int venue(int i)
{
	(void)i;
	return FIC_SITE_OTHER_VENUE;
}

typedef struct ref_hit {
	double d;
	char id[40];
} ref_hit;

static int cmp_ref(const void *a, const void *b)
{
	const ref_hit *x = a, *y = b;
	if (x->d != y->d)
		return (x->d > y->d) - (x->d < y->d);
	return strcmp(x->id, y->id);
}

static void near_agrees_with_measuring_every_site(void **state)
{
	fixture *f = *state;
	bulk_sites(f->store, 1500, plain_name, venue, lat_of, lon_of);
	check_ok(f->store);
	ref_hit *all = calloc(1500, sizeof *all);
	static const double points[][2] = { { 29.5, 106.5 }, { 29.50003, 106.50001 }, { 29.45, 106.45 },
		                            { 29.3, 106.3 }, { 29.8, 106.9 }, { 28.0, 105.0 } };
	static const double radii[] = { 1, 30, 500, 5000, 50000 };
	static const size_t limits[] = { 0, 1, 3, 4, 5, 20 };
	for (size_t p = 0; p < sizeof points / sizeof points[0]; p++) {
		sqlite3_stmt *st;
		assert_int_equal(sqlite3_prepare_v2(f->store->db, "SELECT id, lat, lon FROM sites", -1,
		                                    &st, NULL), SQLITE_OK);
		size_t n = 0;
		while (sqlite3_step(st) == SQLITE_ROW) {
			snprintf(all[n].id, sizeof all[n].id, "%s", sqlite3_column_text(st, 0));
			all[n++].d = haversine(points[p][0], points[p][1], sqlite3_column_double(st, 1),
			                       sqlite3_column_double(st, 2));
		}
		sqlite3_finalize(st);
		qsort(all, n, sizeof *all, cmp_ref);
		for (size_t r = 0; r < sizeof radii / sizeof radii[0]; r++)
			for (size_t m = 0; m < sizeof limits / sizeof limits[0]; m++) {
				size_t want = 0;
				while (want < n && all[want].d <= radii[r])
					want++;
				if (limits[m] && limits[m] < want)
					want = limits[m];
				fic_site_list *l;
				assert_int_equal(fic_site_near(&l, f->store, points[p][0], points[p][1],
				                               radii[r], limits[m]), FIC_OK);
				if (l->count != want)
					fail_msg("near (%g, %g) r %g limit %zu: %zu sites, measuring every site "
					         "finds %zu", points[p][0], points[p][1], radii[r], limits[m],
					         l->count, want);
				for (size_t i = 0; i < want; i++) {
					if (strcmp(l->sites[i]->id, all[i].id) != 0 ||
					    fabs(l->distance_m[i] - all[i].d) > 1e-6)
						fail_msg("near (%g, %g) r %g limit %zu: #%zu is %s at %.4f m, "
						         "not %s at %.4f m", points[p][0], points[p][1], radii[r],
						         limits[m], i, l->sites[i]->id, l->distance_m[i], all[i].id,
						         all[i].d);
				}
				fic_site_list_free(l);
			}
	}
	free(all);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(a_schema_1_store_gets_its_derived_tables_when_migrated),
		T(counters_and_indexes_follow_every_change),
		T(a_site_key_never_changes),
		T(check_finds_derived_tables_out_of_step),
		T(search_agrees_with_reading_every_name),
		T(near_agrees_with_measuring_every_site),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
