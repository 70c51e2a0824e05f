/*
 * tests/core/test_rules.c — the checklist rules against the guide
 * (渝卫发〔2022〕8号 附件), through the public API only.
 *
 * Every rule that carries a number from the guide is tried at, just inside
 * and just outside each bound (bounds inclusive as written: Chinese "以上/以下"
 * include the number itself), and every date rule at its edges. Each case adds
 * a site of the right kind, starts an inspection on a fixed day (2026-03-15,
 * local time at the store's default UTC+8), answers the items the rule reads
 * and looks at `applies` / `abnormal` of the item under test in
 * fic_inspection_get_json. Event forms are filed with fic_lead_file and
 * judged by the lead's `urgent`.
 *
 * The expected values are the guide's meaning, not the data's: a case that
 * fails means the checklist data (or the evaluator) disagrees with the guide.
 * Table tests report every failing row before failing.
 */
#include "testutil.h"

#include <cjson/cJSON.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define U FIC_UNKNOWN
#define DAY_MS 86400000LL
#define HOUR_MS 3600000LL

typedef struct fixture {
	char *dir;
	fic_platform platform;
	tu_clock clock;
	fic_store *store;
	int sites; /* sites added, for unique names */
} fixture;

/* ---- dates ---- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int64_t parse_day(const char *ymd)
{
	int y = 0, m = 0, d = 0;
	assert_int_equal(sscanf(ymd, "%d-%d-%d", &y, &m, &d), 3);
	return days_from_civil(y, m, d);
}

/* UTC ms of local noon (UTC+8, the store's default offset) on `ymd`. */
static int64_t local_noon_ms(const char *ymd)
{
	return parse_day(ymd) * DAY_MS + 4 * HOUR_MS;
}

/* The fixed inspection day of these tests. */
#define INSPECTION_DAY "2026-03-15"

/* ---- fixture ---- */

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	assert_non_null(f);
	f->dir = tu_mkdtemp();
	assert_non_null(f->dir);
	tu_platform(&f->platform, &f->clock);
	f->clock.wall_ms = local_noon_ms(INSPECTION_DAY);
	fic_store_options o = FIC_STORE_OPTIONS_INIT;
	o.platform = &f->platform;
	o.actor = "协管员张三";
	char *path = tu_path(f->dir, "store.db");
	assert_int_equal(fic_store_open(&f->store, path, &o), FIC_OK);
	free(path);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	fic_store_close(f->store);
	tu_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

/* ---- sites ---- */

/* The registry facts a rule can depend on; only those of `kind` are used. */
typedef struct site_spec {
	int kind;
	int school_level, boarding, enrolment;                         /* school */
	int institution_type, beds, joint_venture, validation_deferred; /* medical */
	int hazard_level;                                               /* employer */
	const char *licence_valid_to;
} site_spec;

#define RURAL { .kind = FIC_SITE_WATER_RURAL }
#define SECONDARY { .kind = FIC_SITE_WATER_SECONDARY }
#define BLOOD { .kind = FIC_SITE_BLOOD_STATION }
#define SCHOOL(level, board, pupils) \
	{ .kind = FIC_SITE_SCHOOL, .school_level = (level), .boarding = (board), \
	  .enrolment = (pupils) }
#define MED(type, nbeds, jv, deferred) \
	{ .kind = FIC_SITE_MEDICAL, .institution_type = (type), .beds = (nbeds), \
	  .joint_venture = (jv), .validation_deferred = (deferred) }
#define EMPLOYER(hazard) { .kind = FIC_SITE_EMPLOYER, .hazard_level = (hazard) }

static void add_site(fixture *f, const site_spec *spec, char *id_out)
{
	char name[64];
	snprintf(name, sizeof name, "规则测试场所 %d", ++f->sites);
	fic_site s = FIC_SITE_INIT;
	s.kind = spec->kind;
	s.name = name;
	s.licence_valid_to = spec->licence_valid_to;
	switch (spec->kind) {
	case FIC_SITE_SCHOOL:
		s.school_level = spec->school_level;
		s.boarding = spec->boarding;
		s.enrolment = spec->enrolment;
		break;
	case FIC_SITE_MEDICAL:
		s.med_registration = FIC_MED_LICENSED;
		s.institution_type = spec->institution_type;
		s.beds = spec->beds;
		s.joint_venture = spec->joint_venture;
		s.validation_deferred = spec->validation_deferred;
		break;
	case FIC_SITE_EMPLOYER:
		s.industry = FIC_INDUSTRY_COAL_MINE;
		s.hazard_level = spec->hazard_level;
		break;
	default:
		break;
	}
	fic_site *out = NULL;
	assert_int_equal(fic_site_add(&out, f->store, &s, "rule test"), FIC_OK);
	snprintf(id_out, FIC_UUID_BUFSIZE, "%s", out->id);
	fic_site_free(out);
}

/* ---- inspections ---- */

#define MAX_ANSWERS 8

/*
 * Set the clock to local noon of `day` (NULL: INSPECTION_DAY), add a site,
 * start `checklist` on it and give `answers` ({item, value} pairs, ending at a
 * NULL item). Returns false (after printing why) if any step is refused.
 */
static bool inspect(fixture *f, const char *what, const char *checklist, const site_spec *spec,
                    const char *const (*answers)[2], const char *day, char *id_out)
{
	char site_id[FIC_UUID_BUFSIZE];
	f->clock.wall_ms = local_noon_ms(day ? day : INSPECTION_DAY);
	add_site(f, spec, site_id);
	int rc = fic_inspection_start(id_out, f->store, site_id, checklist);
	if (rc != FIC_OK) {
		print_error("[%s] starting %s: %d %s\n", what, checklist, rc, fic_error_last()->message);
		return false;
	}
	for (int i = 0; i < MAX_ANSWERS && answers[i][0]; i++) {
		rc = fic_inspection_answer(f->store, id_out, answers[i][0], answers[i][1]);
		if (rc != FIC_OK) {
			print_error("[%s] answering %s = %s: %d %s\n", what, answers[i][0],
			            answers[i][1] ? answers[i][1] : "(null)", rc, fic_error_last()->message);
			return false;
		}
	}
	return true;
}

static cJSON *inspection_json(fixture *f, const char *insp_id)
{
	char *text = NULL;
	assert_int_equal(fic_inspection_get_json(&text, f->store, insp_id), FIC_OK);
	cJSON *j = cJSON_Parse(text);
	fic_free(text);
	assert_non_null(j);
	return j;
}

/* The `items[]` entry of `item_id`; NULL if absent. */
static const cJSON *find_item(const cJSON *insp, const char *item_id)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(insp, "items")) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "id");
		if (cJSON_IsString(id) && strcmp(id->valuestring, item_id) == 0)
			return it;
	}
	return NULL;
}

static bool flag(const cJSON *item, const char *key)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(item, key));
}

/* One row of a rule table. */
typedef struct rule_case {
	const char *what;      /* guide section and the edge tried */
	const char *checklist;
	site_spec site;
	const char *answers[MAX_ANSWERS][2];
	const char *item;      /* the item under test */
	bool applies;
	bool abnormal;         /* only checked when it applies */
	const char *day;       /* inspection day, NULL = INSPECTION_DAY */
} rule_case;

/* Run one row; returns true if it matched, printing the difference if not. */
static bool run_case(fixture *f, const rule_case *c)
{
	char id[FIC_UUID_BUFSIZE];
	if (!inspect(f, c->what, c->checklist, &c->site, c->answers, c->day, id))
		return false;
	cJSON *j = inspection_json(f, id);
	const cJSON *it = find_item(j, c->item);
	bool ok = true;
	if (it == NULL) {
		print_error("[%s] %s has no item %s\n", c->what, c->checklist, c->item);
		ok = false;
	} else {
		bool applies = flag(it, "applies"), abnormal = flag(it, "abnormal");
		if (applies != c->applies) {
			print_error("[%s] %s.%s: applies is %s, the guide says %s\n", c->what,
			            c->checklist, c->item, applies ? "true" : "false",
			            c->applies ? "true" : "false");
			ok = false;
		} else if (c->applies && abnormal != c->abnormal) {
			char *ans = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(it, "answer"));
			print_error("[%s] %s.%s = %s: abnormal is %s, the guide says %s\n", c->what,
			            c->checklist, c->item, ans ? ans : "?", abnormal ? "true" : "false",
			            c->abnormal ? "true" : "false");
			cJSON_free(ans);
			ok = false;
		} else if (!applies && abnormal) {
			print_error("[%s] %s.%s does not apply but is abnormal\n", c->what, c->checklist,
			            c->item);
			ok = false;
		}
	}
	cJSON_Delete(j);
	return ok;
}

static void run_table(void **state, const rule_case *cases, size_t n)
{
	fixture *f = *state;
	int failed = 0;
	for (size_t i = 0; i < n; i++)
		failed += !run_case(f, &cases[i]);
	if (failed)
		print_error("%d of %zu cases disagree with the guide\n", failed, n);
	assert_int_equal(failed, 0);
}

#define RUN_TABLE(state, cases) run_table((state), (cases), sizeof(cases) / sizeof((cases)[0]))

#define OK true, false    /* applies, not abnormal */
#define ABN true, true    /* applies, abnormal */
#define NOT_ASKED false, false

/* ==== 饮用水 4.2 / 学校卫生 3.3.2: pH ==== */

#define FT "water.field_test"
#define PH(v) { { "ph", (v) } }
#define PH_SUPPLY(s, v) { { "supply", (s) }, { "ph", (v) } }

static const rule_case ph_cases[] = {
	/* rural supply 6.5–9.5 (supply prefilled from a water_rural site) */
	{ "饮用水 4.2 rural at 6.5", FT, RURAL, PH("6.5"), "ph", OK, NULL },
	{ "饮用水 4.2 rural inside 6.51", FT, RURAL, PH("6.51"), "ph", OK, NULL },
	{ "饮用水 4.2 rural outside 6.49", FT, RURAL, PH("6.49"), "ph", ABN, NULL },
	{ "饮用水 4.2 rural 7", FT, RURAL, PH("7"), "ph", OK, NULL },
	{ "饮用水 4.2 rural at 9.5", FT, RURAL, PH("9.5"), "ph", OK, NULL },
	{ "饮用水 4.2 rural inside 9.49", FT, RURAL, PH("9.49"), "ph", OK, NULL },
	{ "饮用水 4.2 rural outside 9.51", FT, RURAL, PH("9.51"), "ph", ABN, NULL },
	{ "饮用水 4.2 rural 9 (over the urban bound)", FT, RURAL, PH("9"), "ph", OK, NULL },
	{ "饮用水 4.2 rural 0", FT, RURAL, PH("0"), "ph", ABN, NULL },
	{ "饮用水 4.2 rural 14", FT, RURAL, PH("14"), "ph", ABN, NULL },
	/* urban supply 6.5–8.5 (supply prefilled from a water_secondary site) */
	{ "饮用水 4.2 urban at 6.5", FT, SECONDARY, PH("6.5"), "ph", OK, NULL },
	{ "饮用水 4.2 urban inside 6.51", FT, SECONDARY, PH("6.51"), "ph", OK, NULL },
	{ "饮用水 4.2 urban outside 6.49", FT, SECONDARY, PH("6.49"), "ph", ABN, NULL },
	{ "饮用水 4.2 urban 7", FT, SECONDARY, PH("7"), "ph", OK, NULL },
	{ "饮用水 4.2 urban at 8.5", FT, SECONDARY, PH("8.5"), "ph", OK, NULL },
	{ "饮用水 4.2 urban inside 8.49", FT, SECONDARY, PH("8.49"), "ph", OK, NULL },
	{ "饮用水 4.2 urban outside 8.51", FT, SECONDARY, PH("8.51"), "ph", ABN, NULL },
	{ "饮用水 4.2 urban 9.5 (rural bound only)", FT, SECONDARY, PH("9.5"), "ph", ABN, NULL },
	/* a school: supply answered explicitly (学校卫生 3.3.2) */
	{ "学校卫生 3.3.2 rural at 6.5", FT, SCHOOL(FIC_SCHOOL_PRIMARY, 0, 300),
	  PH_SUPPLY("rural", "6.5"), "ph", OK, NULL },
	{ "学校卫生 3.3.2 rural outside 6.49", FT, SCHOOL(FIC_SCHOOL_PRIMARY, 0, 300),
	  PH_SUPPLY("rural", "6.49"), "ph", ABN, NULL },
	{ "学校卫生 3.3.2 rural at 9.5", FT, SCHOOL(FIC_SCHOOL_PRIMARY, 0, 300),
	  PH_SUPPLY("rural", "9.5"), "ph", OK, NULL },
	{ "学校卫生 3.3.2 rural outside 9.51", FT, SCHOOL(FIC_SCHOOL_PRIMARY, 0, 300),
	  PH_SUPPLY("rural", "9.51"), "ph", ABN, NULL },
	{ "学校卫生 3.3.2 urban at 6.5", FT, SCHOOL(FIC_SCHOOL_SECONDARY, 1, 1200),
	  PH_SUPPLY("urban", "6.5"), "ph", OK, NULL },
	{ "学校卫生 3.3.2 urban outside 6.49", FT, SCHOOL(FIC_SCHOOL_SECONDARY, 1, 1200),
	  PH_SUPPLY("urban", "6.49"), "ph", ABN, NULL },
	{ "学校卫生 3.3.2 urban at 8.5", FT, SCHOOL(FIC_SCHOOL_SECONDARY, 1, 1200),
	  PH_SUPPLY("urban", "8.5"), "ph", OK, NULL },
	{ "学校卫生 3.3.2 urban outside 8.51", FT, SCHOOL(FIC_SCHOOL_SECONDARY, 1, 1200),
	  PH_SUPPLY("urban", "8.51"), "ph", ABN, NULL },
	/* the inspector corrects the prefilled supply: the answer rules */
	{ "饮用水 4.2 rural site answered urban, 8.51", FT, RURAL, PH_SUPPLY("urban", "8.51"),
	  "ph", ABN, NULL },
	{ "饮用水 4.2 urban site answered rural, 9.5", FT, SECONDARY, PH_SUPPLY("rural", "9.5"),
	  "ph", OK, NULL },
};

static void test_ph_bounds(void **state)
{
	RUN_TABLE(state, ph_cases);
}

/* The supply type is prefilled from the kind of site; a school's is not. */
static void test_supply_prefill(void **state)
{
	fixture *f = *state;
	static const struct { site_spec site; const char *supply; } cases[] = {
		{ RURAL, "rural" },
		{ SECONDARY, "urban" },
		{ SCHOOL(FIC_SCHOOL_PRIMARY, 0, 300), NULL },
	};
	static const char *const none[1][2] = { { NULL, NULL } };
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char id[FIC_UUID_BUFSIZE];
		assert_true(inspect(f, "supply prefill", FT, &cases[i].site, none, NULL, id));
		cJSON *j = inspection_json(f, id);
		const cJSON *ans = cJSON_GetObjectItemCaseSensitive(find_item(j, "supply"), "answer");
		if (cases[i].supply) {
			assert_true(cJSON_IsString(ans));
			assert_string_equal(ans->valuestring, cases[i].supply);
		} else {
			assert_true(cJSON_IsNull(ans));
		}
		cJSON_Delete(j);
	}
}

/* ==== 饮用水 4.3 / 学校卫生 3.3.3: residual disinfectant ==== */

#define RES(dis, point, v) { { "disinfectant", (dis) }, { "sample_point", (point) }, { "residual", (v) } }
#define FC_OUT(v) RES("free_chlorine", "outlet", v)
#define FC_TAP(v) RES("free_chlorine", "tap", v)
#define CD_OUT(v) RES("chlorine_dioxide", "outlet", v)
#define CD_TAP(v) RES("chlorine_dioxide", "tap", v)

static const rule_case residual_cases[] = {
	/* free chlorine, plant outlet 0.3–4 mg/L */
	{ "饮用水 4.3 free chlorine outlet at 0.3", FT, RURAL, FC_OUT("0.3"), "residual", OK, NULL },
	{ "饮用水 4.3 free chlorine outlet inside 0.31", FT, RURAL, FC_OUT("0.31"), "residual", OK, NULL },
	{ "饮用水 4.3 free chlorine outlet outside 0.29", FT, RURAL, FC_OUT("0.29"), "residual", ABN, NULL },
	{ "饮用水 4.3 free chlorine outlet at 4", FT, RURAL, FC_OUT("4"), "residual", OK, NULL },
	{ "饮用水 4.3 free chlorine outlet inside 3.99", FT, RURAL, FC_OUT("3.99"), "residual", OK, NULL },
	{ "饮用水 4.3 free chlorine outlet outside 4.01", FT, RURAL, FC_OUT("4.01"), "residual", ABN, NULL },
	{ "饮用水 4.3 free chlorine outlet 0.05 (tap bound only)", FT, RURAL, FC_OUT("0.05"), "residual", ABN, NULL },
	/* free chlorine, tap 0.05–4 mg/L */
	{ "饮用水 4.3 free chlorine tap at 0.05", FT, SECONDARY, FC_TAP("0.05"), "residual", OK, NULL },
	{ "饮用水 4.3 free chlorine tap inside 0.051", FT, SECONDARY, FC_TAP("0.051"), "residual", OK, NULL },
	{ "饮用水 4.3 free chlorine tap outside 0.049", FT, SECONDARY, FC_TAP("0.049"), "residual", ABN, NULL },
	{ "饮用水 4.3 free chlorine tap at 4", FT, SECONDARY, FC_TAP("4"), "residual", OK, NULL },
	{ "饮用水 4.3 free chlorine tap inside 3.99", FT, SECONDARY, FC_TAP("3.99"), "residual", OK, NULL },
	{ "饮用水 4.3 free chlorine tap outside 4.01", FT, SECONDARY, FC_TAP("4.01"), "residual", ABN, NULL },
	{ "饮用水 4.3 free chlorine tap 0", FT, SECONDARY, FC_TAP("0"), "residual", ABN, NULL },
	/* chlorine dioxide, plant outlet 0.1–0.8 mg/L */
	{ "饮用水 4.3 ClO2 outlet at 0.1", FT, RURAL, CD_OUT("0.1"), "residual", OK, NULL },
	{ "饮用水 4.3 ClO2 outlet inside 0.101", FT, RURAL, CD_OUT("0.101"), "residual", OK, NULL },
	{ "饮用水 4.3 ClO2 outlet outside 0.099", FT, RURAL, CD_OUT("0.099"), "residual", ABN, NULL },
	{ "饮用水 4.3 ClO2 outlet at 0.8", FT, RURAL, CD_OUT("0.8"), "residual", OK, NULL },
	{ "饮用水 4.3 ClO2 outlet inside 0.799", FT, RURAL, CD_OUT("0.799"), "residual", OK, NULL },
	{ "饮用水 4.3 ClO2 outlet outside 0.801", FT, RURAL, CD_OUT("0.801"), "residual", ABN, NULL },
	{ "饮用水 4.3 ClO2 outlet 1 (fine for free chlorine)", FT, RURAL, CD_OUT("1"), "residual", ABN, NULL },
	/* chlorine dioxide, tap 0.02–0.8 mg/L */
	{ "饮用水 4.3 ClO2 tap at 0.02", FT, SECONDARY, CD_TAP("0.02"), "residual", OK, NULL },
	{ "饮用水 4.3 ClO2 tap inside 0.021", FT, SECONDARY, CD_TAP("0.021"), "residual", OK, NULL },
	{ "饮用水 4.3 ClO2 tap outside 0.019", FT, SECONDARY, CD_TAP("0.019"), "residual", ABN, NULL },
	{ "饮用水 4.3 ClO2 tap at 0.8", FT, SECONDARY, CD_TAP("0.8"), "residual", OK, NULL },
	{ "饮用水 4.3 ClO2 tap inside 0.799", FT, SECONDARY, CD_TAP("0.799"), "residual", OK, NULL },
	{ "饮用水 4.3 ClO2 tap outside 0.801", FT, SECONDARY, CD_TAP("0.801"), "residual", ABN, NULL },
	/* the same bounds at a school (学校卫生 3.3.3) */
	{ "学校卫生 3.3.3 free chlorine tap at 0.05", FT, SCHOOL(FIC_SCHOOL_PRIMARY, 0, 300),
	  FC_TAP("0.05"), "residual", OK, NULL },
	{ "学校卫生 3.3.3 free chlorine tap outside 0.049", FT, SCHOOL(FIC_SCHOOL_PRIMARY, 0, 300),
	  FC_TAP("0.049"), "residual", ABN, NULL },
	{ "学校卫生 3.3.3 ClO2 tap at 0.02", FT, SCHOOL(FIC_SCHOOL_PRIMARY, 0, 300),
	  CD_TAP("0.02"), "residual", OK, NULL },
	{ "学校卫生 3.3.3 ClO2 tap outside 0.019", FT, SCHOOL(FIC_SCHOOL_PRIMARY, 0, 300),
	  CD_TAP("0.019"), "residual", ABN, NULL },
};

static void test_residual_bounds(void **state)
{
	RUN_TABLE(state, residual_cases);
}

/* ==== input validation: refused values are not stored ==== */

/* The stored answer of `item` as compact JSON text ("null" if none). */
static char *stored_answer(fixture *f, const char *insp_id, const char *item)
{
	cJSON *j = inspection_json(f, insp_id);
	const cJSON *it = find_item(j, item);
	assert_non_null(it);
	char *s = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(it, "answer"));
	assert_non_null(s);
	cJSON_Delete(j);
	return s;
}

static void assert_answer(fixture *f, const char *insp_id, const char *item, const char *want)
{
	char *s = stored_answer(f, insp_id, item);
	if (strcmp(s, want) != 0)
		print_error("%s: stored answer %s, expected %s\n", item, s, want);
	bool same = strcmp(s, want) == 0;
	cJSON_free(s);
	assert_true(same);
}

static void test_number_input_refused(void **state)
{
	fixture *f = *state;
	const site_spec rural = RURAL;
	static const char *const none[1][2] = { { NULL, NULL } };
	char id[FIC_UUID_BUFSIZE];
	assert_true(inspect(f, "input", FT, &rural, none, NULL, id));

	/* nothing answered yet: refused values leave it unanswered */
	static const char *const bad_ph[] = { "15", "abc", "14.01", "-0.01", "-1", "", "7,5",
		                              "7.2.1", "1e1", "nan", "inf", " 7" };
	for (size_t i = 0; i < sizeof bad_ph / sizeof bad_ph[0]; i++) {
		int rc = fic_inspection_answer(f->store, id, "ph", bad_ph[i]);
		if (rc != FIC_EINVAL)
			print_error("pH '%s' gave %d, expected FIC_EINVAL\n", bad_ph[i], rc);
		assert_int_equal(rc, FIC_EINVAL);
		assert_answer(f, id, "ph", "null");
	}

	/* an answer stays as it was when a new one is refused */
	assert_int_equal(fic_inspection_answer(f->store, id, "ph", "7"), FIC_OK);
	assert_answer(f, id, "ph", "7");
	assert_int_equal(fic_inspection_answer(f->store, id, "ph", "15"), FIC_EINVAL);
	assert_answer(f, id, "ph", "7");
	assert_int_equal(fic_inspection_answer(f->store, id, "ph", "abc"), FIC_EINVAL);
	assert_answer(f, id, "ph", "7");

	/* the range ends themselves are accepted (range [0, 14] inclusive) */
	assert_int_equal(fic_inspection_answer(f->store, id, "ph", "14"), FIC_OK);
	assert_answer(f, id, "ph", "14");
	assert_int_equal(fic_inspection_answer(f->store, id, "ph", "0"), FIC_OK);
	assert_answer(f, id, "ph", "0");

	/* residual: range [0, 50] */
	assert_int_equal(fic_inspection_answer(f->store, id, "residual", "50"), FIC_OK);
	assert_answer(f, id, "residual", "50");
	assert_int_equal(fic_inspection_answer(f->store, id, "residual", "50.01"), FIC_EINVAL);
	assert_answer(f, id, "residual", "50");
	assert_int_equal(fic_inspection_answer(f->store, id, "residual", "-0.01"), FIC_EINVAL);
	assert_answer(f, id, "residual", "50");

	/* a choice outside the list */
	assert_int_equal(fic_inspection_answer(f->store, id, "supply", "suburban"), FIC_EINVAL);
	assert_answer(f, id, "supply", "\"rural\"");
}

/* ==== 学校卫生 3.1.2 / 3.1.3: clinic, health room, health professional ==== */

#define SDC "school.disease_control"
#define P(board, n) SCHOOL(FIC_SCHOOL_PRIMARY, (board), (n))
#define NO_ANSWERS { { NULL, NULL } }
#define ANS1(k, v) { { (k), (v) } }

static const rule_case clinic_cases[] = {
	/* 3.1.2: 600 名学生以上 (>= 600) non-boarding → 卫生室 */
	{ "学校卫生 3.1.2 non-boarding 599: no clinic required", SDC, P(0, 599),
	  ANS1("has_clinic", "no"), "has_clinic", NOT_ASKED, NULL },
	{ "学校卫生 3.1.2 non-boarding 600: clinic required", SDC, P(0, 600),
	  ANS1("has_clinic", "no"), "has_clinic", ABN, NULL },
	{ "学校卫生 3.1.2 non-boarding 600: clinic present", SDC, P(0, 600),
	  ANS1("has_clinic", "yes"), "has_clinic", OK, NULL },
	{ "学校卫生 3.1.2 non-boarding 601: clinic required", SDC, P(0, 601),
	  ANS1("has_clinic", "no"), "has_clinic", ABN, NULL },
	/* 3.1.2: 600 名学生以下 (<= 600) non-boarding → 保健室 (a clinic also does) */
	{ "学校卫生 3.1.2 non-boarding 599: health room required", SDC, P(0, 599),
	  ANS1("has_health_room", "no"), "has_health_room", ABN, NULL },
	{ "学校卫生 3.1.2 non-boarding 599: health room present", SDC, P(0, 599),
	  ANS1("has_health_room", "yes"), "has_health_room", OK, NULL },
	{ "学校卫生 3.1.2 non-boarding 600: health room (以下 includes 600)", SDC, P(0, 600),
	  ANS1("has_health_room", "no"), "has_health_room", ABN, NULL },
	{ "学校卫生 3.1.2 non-boarding 601: health-room rule does not apply", SDC, P(0, 601),
	  ANS1("has_health_room", "no"), "has_health_room", NOT_ASKED, NULL },
	/* 3.1.3: 寄宿制或 600 名学生以上 → 卫生专业技术人员 */
	{ "学校卫生 3.1.3 non-boarding 599: no professional required", SDC, P(0, 599),
	  ANS1("health_professional", "no"), "health_professional", NOT_ASKED, NULL },
	{ "学校卫生 3.1.3 non-boarding 600: professional required", SDC, P(0, 600),
	  ANS1("health_professional", "no"), "health_professional", ABN, NULL },
	{ "学校卫生 3.1.3 non-boarding 600: professional present", SDC, P(0, 600),
	  ANS1("health_professional", "yes"), "health_professional", OK, NULL },
	{ "学校卫生 3.1.3 non-boarding 601: professional required", SDC, P(0, 601),
	  ANS1("health_professional", "no"), "health_professional", ABN, NULL },
	/* boarding schools: clinic and professional whatever the size, no health-room rule */
	{ "学校卫生 3.1.2 boarding 100: clinic required", SDC, P(1, 100),
	  ANS1("has_clinic", "no"), "has_clinic", ABN, NULL },
	{ "学校卫生 3.1.2 boarding 599: clinic required", SDC, P(1, 599),
	  ANS1("has_clinic", "no"), "has_clinic", ABN, NULL },
	{ "学校卫生 3.1.2 boarding 100: health-room rule does not apply", SDC, P(1, 100),
	  ANS1("has_health_room", "no"), "has_health_room", NOT_ASKED, NULL },
	{ "学校卫生 3.1.3 boarding 100: professional required", SDC, P(1, 100),
	  ANS1("health_professional", "no"), "health_professional", ABN, NULL },
	/* the inspector corrects the registry's facts: the answers rule */
	{ "学校卫生 3.1.2 registry 599, counted 600", SDC, P(0, 599),
	  { { "enrolment", "600" }, { "has_clinic", "no" } }, "has_clinic", ABN, NULL },
	{ "学校卫生 3.1.2 registry non-boarding, found boarding", SDC, P(0, 100),
	  { { "boarding", "yes" }, { "has_clinic", "no" } }, "has_clinic", ABN, NULL },
};

static void test_school_clinic_threshold(void **state)
{
	RUN_TABLE(state, clinic_cases);
}

/* ==== 学校卫生 3.1.11: kindergarten health-care staff ==== */

#define KG(n) SCHOOL(FIC_SCHOOL_KINDERGARTEN, 0, (n))
#define FULLTIME(v) ANS1("care_staff_fulltime", (v))
#define ANY(v) ANS1("care_staff_any", (v))

static const rule_case care_staff_cases[] = {
	/* 收托 150 名以下 (<= 150): full-time or part-time, at least one */
	{ "学校卫生 3.1.11 149 children: full-time ratio does not apply", SDC, KG(149),
	  FULLTIME("0"), "care_staff_fulltime", NOT_ASKED, NULL },
	{ "学校卫生 3.1.11 149 children, no care staff", SDC, KG(149), ANY("0"),
	  "care_staff_any", ABN, NULL },
	{ "学校卫生 3.1.11 149 children, 1 care staff", SDC, KG(149), ANY("1"),
	  "care_staff_any", OK, NULL },
	{ "学校卫生 3.1.11 150 children (以下 includes 150), no care staff", SDC, KG(150),
	  ANY("0"), "care_staff_any", ABN, NULL },
	{ "学校卫生 3.1.11 150 children, 1 care staff", SDC, KG(150), ANY("1"),
	  "care_staff_any", OK, NULL },
	{ "学校卫生 3.1.11 151 children: part-time rule does not apply", SDC, KG(151), ANY("0"),
	  "care_staff_any", NOT_ASKED, NULL },
	/* 收托 150 名儿童至少设 1 名专职: ceil(n / 150) full-time */
	{ "学校卫生 3.1.11 150 children, 1 full-time (at)", SDC, KG(150), FULLTIME("1"),
	  "care_staff_fulltime", OK, NULL },
	{ "学校卫生 3.1.11 150 children, 0 full-time (under)", SDC, KG(150), FULLTIME("0"),
	  "care_staff_fulltime", ABN, NULL },
	{ "学校卫生 3.1.11 151 children, 2 full-time (at)", SDC, KG(151), FULLTIME("2"),
	  "care_staff_fulltime", OK, NULL },
	{ "学校卫生 3.1.11 151 children, 1 full-time (under)", SDC, KG(151), FULLTIME("1"),
	  "care_staff_fulltime", ABN, NULL },
	{ "学校卫生 3.1.11 300 children, 2 full-time (at)", SDC, KG(300), FULLTIME("2"),
	  "care_staff_fulltime", OK, NULL },
	{ "学校卫生 3.1.11 300 children, 1 full-time (under)", SDC, KG(300), FULLTIME("1"),
	  "care_staff_fulltime", ABN, NULL },
	{ "学校卫生 3.1.11 301 children, 3 full-time (at)", SDC, KG(301), FULLTIME("3"),
	  "care_staff_fulltime", OK, NULL },
	{ "学校卫生 3.1.11 301 children, 2 full-time (under)", SDC, KG(301), FULLTIME("2"),
	  "care_staff_fulltime", ABN, NULL },
	{ "学校卫生 3.1.11 301 children, 4 full-time (over)", SDC, KG(301), FULLTIME("4"),
	  "care_staff_fulltime", OK, NULL },
	/* only kindergartens */
	{ "学校卫生 3.1.11 primary school of 300: no care-staff ratio", SDC, P(0, 300),
	  FULLTIME("0"), "care_staff_fulltime", NOT_ASKED, NULL },
	{ "学校卫生 3.1.11 primary school of 100: no care-staff rule", SDC, P(0, 100), ANY("0"),
	  "care_staff_any", NOT_ASKED, NULL },
};

static void test_kindergarten_care_staff(void **state)
{
	RUN_TABLE(state, care_staff_cases);
}

/* ==== 非法行医 3.1.1.3 / 3.1.1.4: licence validity and validation period ==== */

#define ML "medical.licensed"
#define LV(d) ANS1("last_validation", (d))

/* For an inspection on 2026-03-15: exactly N years before, a day later, a day earlier. */
#define Y1_AT "2025-03-15"
#define Y1_IN "2025-03-16"
#define Y1_OUT "2025-03-14"
#define Y3_AT "2023-03-15"
#define Y3_IN "2023-03-16"
#define Y3_OUT "2023-03-14"

/* Three rows: a site whose validation period is `years` (1 or 3), at its edges. */
#define PERIOD1(what, site) \
	{ what ": 1 year, exactly", ML, site, LV(Y1_AT), "last_validation", OK, NULL }, \
	{ what ": 1 year, a day inside", ML, site, LV(Y1_IN), "last_validation", OK, NULL }, \
	{ what ": 1 year, a day over", ML, site, LV(Y1_OUT), "last_validation", ABN, NULL }
#define PERIOD3(what, site) \
	{ what ": 3 years, exactly", ML, site, LV(Y3_AT), "last_validation", OK, NULL }, \
	{ what ": 3 years, a day inside", ML, site, LV(Y3_IN), "last_validation", OK, NULL }, \
	{ what ": 3 years, a day over", ML, site, LV(Y3_OUT), "last_validation", ABN, NULL }, \
	{ what ": 3 years, 1 year + 1 day is fine", ML, site, LV(Y1_OUT), "last_validation", OK, NULL }

static const rule_case validation_cases[] = {
	/* 床位在 100 张以上的综合医院、中医医院、中西医结合医院、民族医院: 3 years */
	PERIOD1("非法行医 3.1.1.4 general hospital, 99 beds", MED(FIC_INST_GENERAL_HOSPITAL, 99, 0, 0)),
	PERIOD3("非法行医 3.1.1.4 general hospital, 100 beds", MED(FIC_INST_GENERAL_HOSPITAL, 100, 0, 0)),
	PERIOD3("非法行医 3.1.1.4 general hospital, 101 beds", MED(FIC_INST_GENERAL_HOSPITAL, 101, 0, 0)),
	PERIOD1("非法行医 3.1.1.4 TCM hospital, 99 beds", MED(FIC_INST_TCM_HOSPITAL, 99, 0, 0)),
	PERIOD3("非法行医 3.1.1.4 TCM hospital, 100 beds", MED(FIC_INST_TCM_HOSPITAL, 100, 0, 0)),
	PERIOD1("非法行医 3.1.1.4 integrated hospital, 99 beds", MED(FIC_INST_INTEGRATED_HOSPITAL, 99, 0, 0)),
	PERIOD3("非法行医 3.1.1.4 integrated hospital, 100 beds", MED(FIC_INST_INTEGRATED_HOSPITAL, 100, 0, 0)),
	PERIOD1("非法行医 3.1.1.4 ethnic hospital, 99 beds", MED(FIC_INST_ETHNIC_HOSPITAL, 99, 0, 0)),
	PERIOD3("非法行医 3.1.1.4 ethnic hospital, 100 beds", MED(FIC_INST_ETHNIC_HOSPITAL, 100, 0, 0)),
	/* 以及专科医院、疗养院、康复医院、妇幼保健院、急救中心、临床检验中心和专科疾病防治机构: 3 years */
	PERIOD3("非法行医 3.1.1.4 specialty hospital, 20 beds", MED(FIC_INST_SPECIALTY_HOSPITAL, 20, 0, 0)),
	PERIOD3("非法行医 3.1.1.4 sanatorium, beds unknown", MED(FIC_INST_SANATORIUM, U, 0, 0)),
	PERIOD3("非法行医 3.1.1.4 rehabilitation hospital, 10 beds", MED(FIC_INST_REHAB_HOSPITAL, 10, 0, 0)),
	PERIOD3("非法行医 3.1.1.4 MCH hospital, 0 beds", MED(FIC_INST_MCH_HOSPITAL, 0, 0, 0)),
	PERIOD3("非法行医 3.1.1.4 emergency centre", MED(FIC_INST_EMERGENCY_CENTER, U, 0, 0)),
	PERIOD3("非法行医 3.1.1.4 clinical laboratory centre", MED(FIC_INST_CLINICAL_LAB, U, 0, 0)),
	PERIOD3("非法行医 3.1.1.4 disease prevention institution", MED(FIC_INST_DISEASE_CONTROL, U, 0, 0)),
	/* 其他医疗机构: 1 year */
	PERIOD1("非法行医 3.1.1.4 village clinic", MED(FIC_INST_VILLAGE_CLINIC, U, 0, 0)),
	PERIOD1("非法行医 3.1.1.4 clinic", MED(FIC_INST_CLINIC, U, 0, 0)),
	PERIOD1("非法行医 3.1.1.4 TCM clinic", MED(FIC_INST_TCM_CLINIC, U, 0, 0)),
	PERIOD1("非法行医 3.1.1.4 other institution, 200 beds", MED(FIC_INST_OTHER, 200, 0, 0)),
	/* 中外合资合作: 1 year; 暂缓校验后再次校验合格: 1 year */
	PERIOD1("非法行医 3.1.1.4 joint-venture general hospital, 500 beds",
	        MED(FIC_INST_GENERAL_HOSPITAL, 500, 1, 0)),
	PERIOD1("非法行医 3.1.1.4 joint-venture specialty hospital", MED(FIC_INST_SPECIALTY_HOSPITAL, U, 1, 0)),
	PERIOD1("非法行医 3.1.1.4 deferred general hospital, 500 beds",
	        MED(FIC_INST_GENERAL_HOSPITAL, 500, 0, 1)),
	PERIOD1("非法行医 3.1.1.4 deferred sanatorium", MED(FIC_INST_SANATORIUM, U, 0, 1)),
	/* the inspector's answers to the facts rule over the registry */
	{ "非法行医 3.1.1.4 registry 99 beds, counted 100", ML,
	  MED(FIC_INST_GENERAL_HOSPITAL, 99, 0, 0), { { "beds", "100" }, { "last_validation", Y3_AT } },
	  "last_validation", OK, NULL },
	{ "非法行医 3.1.1.4 registry not a joint venture, found one", ML,
	  MED(FIC_INST_GENERAL_HOSPITAL, 300, 0, 0),
	  { { "joint_venture", "yes" }, { "last_validation", Y1_OUT } }, "last_validation", ABN, NULL },
	/* 3.1.1.3: licence valid until the inspection day inclusive */
	{ "非法行医 3.1.1.3 licence valid to the inspection day", ML, MED(FIC_INST_CLINIC, U, 0, 0),
	  ANS1("licence_valid_to", INSPECTION_DAY), "licence_valid_to", OK, NULL },
	{ "非法行医 3.1.1.3 licence valid to the day before", ML, MED(FIC_INST_CLINIC, U, 0, 0),
	  ANS1("licence_valid_to", "2026-03-14"), "licence_valid_to", ABN, NULL },
	{ "非法行医 3.1.1.3 licence valid to the day after", ML, MED(FIC_INST_CLINIC, U, 0, 0),
	  ANS1("licence_valid_to", "2026-03-16"), "licence_valid_to", OK, NULL },
};

static void test_medical_validation_period(void **state)
{
	RUN_TABLE(state, validation_cases);
}

/* ==== licence validity dates (prefilled from the registry) ==== */

#define LIC_SITE(base, to) { .kind = (base), .licence_valid_to = (to) }
#define SW "school.water"
#define OWN_LIC(d) { { "supply_types", "own_supply" }, { "decentralised", "no" }, \
	             { "own_licence_held", "yes" }, { "own_licence_valid_to", (d) } }
#define SEC_LIC(d) { { "supply_types", "secondary" }, { "sec_licence_held", "yes" }, \
	             { "sec_licence_valid_to", (d) } }
#define HELD_LIC(d) { { "licence_held", "yes" }, { "licence_valid_to", (d) } }

static const rule_case licence_cases[] = {
	/* 饮用水 3.1.1 / 3.2.1, 非法行医 3.2.1, 学校卫生 3.2.1.1 / 3.2.2.1: 在许可有效期内 */
	{ "饮用水 3.1.1 rural licence valid to the inspection day", "water.rural", RURAL,
	  HELD_LIC(INSPECTION_DAY), "licence_valid_to", OK, NULL },
	{ "饮用水 3.1.1 rural licence valid to the day before", "water.rural", RURAL,
	  HELD_LIC("2026-03-14"), "licence_valid_to", ABN, NULL },
	{ "饮用水 3.2.1 secondary licence valid to the inspection day", "water.secondary",
	  SECONDARY, HELD_LIC(INSPECTION_DAY), "licence_valid_to", OK, NULL },
	{ "饮用水 3.2.1 secondary licence valid to the day before", "water.secondary", SECONDARY,
	  HELD_LIC("2026-03-14"), "licence_valid_to", ABN, NULL },
	{ "饮用水 3.2.1 no licence held: validity not asked", "water.secondary", SECONDARY,
	  { { "licence_held", "no" }, { "licence_valid_to", "2020-01-01" } }, "licence_valid_to",
	  NOT_ASKED, NULL },
	{ "非法行医 3.2.1 blood station licence valid to the inspection day", "blood.station",
	  BLOOD, HELD_LIC(INSPECTION_DAY), "licence_valid_to", OK, NULL },
	{ "非法行医 3.2.1 blood station licence valid to the day before", "blood.station", BLOOD,
	  HELD_LIC("2026-03-14"), "licence_valid_to", ABN, NULL },
	{ "学校卫生 3.2.1.1 own supply licence valid to the inspection day", SW,
	  P(0, 300), OWN_LIC(INSPECTION_DAY), "own_licence_valid_to", OK, NULL },
	{ "学校卫生 3.2.1.1 own supply licence valid to the day before", SW, P(0, 300),
	  OWN_LIC("2026-03-14"), "own_licence_valid_to", ABN, NULL },
	{ "学校卫生 3.2.1.1 decentralised supply needs no licence", SW, P(0, 300),
	  { { "supply_types", "own_supply" }, { "decentralised", "yes" } }, "own_licence_held",
	  NOT_ASKED, NULL },
	{ "学校卫生 3.2.2.1 secondary supply licence valid to the inspection day", SW, P(0, 300),
	  SEC_LIC(INSPECTION_DAY), "sec_licence_valid_to", OK, NULL },
	{ "学校卫生 3.2.2.1 secondary supply licence valid to the day before", SW, P(0, 300),
	  SEC_LIC("2026-03-14"), "sec_licence_valid_to", ABN, NULL },
	/* prefilled from the registry's licence_valid_to, not answered */
	{ "饮用水 3.1.1 registry licence valid to the inspection day (prefill)", "water.rural",
	  LIC_SITE(FIC_SITE_WATER_RURAL, INSPECTION_DAY), ANS1("licence_held", "yes"),
	  "licence_valid_to", OK, NULL },
	{ "饮用水 3.1.1 registry licence valid to the day before (prefill)", "water.rural",
	  LIC_SITE(FIC_SITE_WATER_RURAL, "2026-03-14"), ANS1("licence_held", "yes"),
	  "licence_valid_to", ABN, NULL },
	{ "非法行医 3.1.1.3 registry licence valid to the day before (prefill)", ML,
	  LIC_SITE(FIC_SITE_MEDICAL, "2026-03-14"), NO_ANSWERS, "licence_valid_to", ABN, NULL },
	{ "非法行医 3.1.1.3 registry licence valid to the inspection day (prefill)", ML,
	  LIC_SITE(FIC_SITE_MEDICAL, INSPECTION_DAY), NO_ANSWERS, "licence_valid_to", OK, NULL },
};

static void test_licence_valid_to_edges(void **state)
{
	RUN_TABLE(state, licence_cases);
}

/* ==== "一年内" test reports: 饮用水 3.2.7, 学校卫生 3.2.1.6 / 3.2.2.5 ==== */

#define WS "water.secondary"
#define REPORT(d) { { "test_report_held", "yes" }, { "last_test_report", (d) } }
#define OWN_REPORT(d) { { "supply_types", "own_supply" }, { "own_test_report_held", "yes" }, \
	                { "own_last_test_report", (d) } }
#define SEC_REPORT(d) { { "supply_types", "secondary" }, { "sec_test_report_held", "yes" }, \
	                { "sec_last_test_report", (d) } }

static const rule_case report_cases[] = {
	{ "饮用水 3.2.7 report on the inspection day", WS, SECONDARY, REPORT(INSPECTION_DAY),
	  "last_test_report", OK, NULL },
	{ "饮用水 3.2.7 report exactly one year before", WS, SECONDARY, REPORT(Y1_AT),
	  "last_test_report", OK, NULL },
	{ "饮用水 3.2.7 report one year less a day before", WS, SECONDARY, REPORT(Y1_IN),
	  "last_test_report", OK, NULL },
	{ "饮用水 3.2.7 report one year and a day before", WS, SECONDARY, REPORT(Y1_OUT),
	  "last_test_report", ABN, NULL },
	{ "饮用水 3.2.7 no report held: date not asked", WS, SECONDARY,
	  ANS1("test_report_held", "no"), "last_test_report", NOT_ASKED, NULL },
	{ "饮用水 3.2.7 no report held is itself abnormal", WS, SECONDARY,
	  ANS1("test_report_held", "no"), "test_report_held", ABN, NULL },
	{ "学校卫生 3.2.1.6 own supply report exactly one year before", SW, P(0, 300),
	  OWN_REPORT(Y1_AT), "own_last_test_report", OK, NULL },
	{ "学校卫生 3.2.1.6 own supply report one year and a day before", SW, P(0, 300),
	  OWN_REPORT(Y1_OUT), "own_last_test_report", ABN, NULL },
	{ "学校卫生 3.2.2.5 secondary supply report exactly one year before", SW, P(0, 300),
	  SEC_REPORT(Y1_AT), "sec_last_test_report", OK, NULL },
	{ "学校卫生 3.2.2.5 secondary supply report one year and a day before", SW, P(0, 300),
	  SEC_REPORT(Y1_OUT), "sec_last_test_report", ABN, NULL },
	/*
	 * 29 February: add_years clamps 2024-02-29 + 1 year to 2025-02-28
	 * (docs/checklist-format.md). A report of 2024-02-29 is within the year
	 * on 2025-02-28 and out of it from 2025-03-01.
	 */
	{ "饮用水 3.2.7 report 2024-02-29, inspected 2025-02-28", WS, SECONDARY,
	  REPORT("2024-02-29"), "last_test_report", OK, "2025-02-28" },
	{ "饮用水 3.2.7 report 2024-02-29, inspected 2025-03-01", WS, SECONDARY,
	  REPORT("2024-02-29"), "last_test_report", ABN, "2025-03-01" },
	{ "饮用水 3.2.7 report 2024-02-28, inspected 2025-02-28", WS, SECONDARY,
	  REPORT("2024-02-28"), "last_test_report", OK, "2025-02-28" },
	{ "饮用水 3.2.7 report 2024-02-28, inspected 2025-03-01", WS, SECONDARY,
	  REPORT("2024-02-28"), "last_test_report", ABN, "2025-03-01" },
	{ "饮用水 3.2.7 report 2024-03-01, inspected 2025-03-01", WS, SECONDARY,
	  REPORT("2024-03-01"), "last_test_report", OK, "2025-03-01" },
	{ "饮用水 3.2.7 report 2023-03-01, inspected 2024-02-29 (leap day)", WS, SECONDARY,
	  REPORT("2023-03-01"), "last_test_report", OK, "2024-02-29" },
	{ "饮用水 3.2.7 report 2023-02-28, inspected 2024-02-29 (leap day)", WS, SECONDARY,
	  REPORT("2023-02-28"), "last_test_report", ABN, "2024-02-29" },
};

static void test_report_within_one_year(void **state)
{
	RUN_TABLE(state, report_cases);
}

/* ==== 职业卫生 3.3.1 / 3.3.2: testing and evaluation intervals ==== */

#define OP "occupational.patrol"
#define FACTOR(d) { { "factor_testing_report", "yes" }, { "last_factor_testing", (d) } }
#define STATUS(d) { { "status_evaluation_report", "yes" }, { "last_status_evaluation", (d) } }
#define SEVERE EMPLOYER(FIC_HAZARD_SEVERE)
#define ORDINARY EMPLOYER(FIC_HAZARD_ORDINARY)

static const rule_case occupational_cases[] = {
	/* 3.3.1 严重: 每年至少一次危害因素检测 */
	{ "职业卫生 3.3.1 severe, testing exactly 1 year before", OP, SEVERE, FACTOR(Y1_AT),
	  "last_factor_testing", OK, NULL },
	{ "职业卫生 3.3.1 severe, testing 1 year less a day", OP, SEVERE, FACTOR(Y1_IN),
	  "last_factor_testing", OK, NULL },
	{ "职业卫生 3.3.1 severe, testing 1 year and a day", OP, SEVERE, FACTOR(Y1_OUT),
	  "last_factor_testing", ABN, NULL },
	/* 3.3.2 一般: 每三年至少一次危害因素检测 */
	{ "职业卫生 3.3.2 ordinary, testing exactly 3 years before", OP, ORDINARY, FACTOR(Y3_AT),
	  "last_factor_testing", OK, NULL },
	{ "职业卫生 3.3.2 ordinary, testing 3 years less a day", OP, ORDINARY, FACTOR(Y3_IN),
	  "last_factor_testing", OK, NULL },
	{ "职业卫生 3.3.2 ordinary, testing 3 years and a day", OP, ORDINARY, FACTOR(Y3_OUT),
	  "last_factor_testing", ABN, NULL },
	{ "职业卫生 3.3.2 ordinary, testing 1 year and a day is fine", OP, ORDINARY,
	  FACTOR(Y1_OUT), "last_factor_testing", OK, NULL },
	{ "职业卫生 3.3 no testing report: date not asked", OP, SEVERE,
	  ANS1("factor_testing_report", "no"), "last_factor_testing", NOT_ASKED, NULL },
	/* the hazard level as answered rules over the registry */
	{ "职业卫生 3.3.1 registry ordinary, found severe, 1 year and a day", OP, ORDINARY,
	  { { "hazard_level", "severe" }, { "factor_testing_report", "yes" },
	    { "last_factor_testing", Y1_OUT } }, "last_factor_testing", ABN, NULL },
	/* 3.3.1 严重: 每三年至少一次现状评价; 一般: no such rule */
	{ "职业卫生 3.3.1 severe, evaluation exactly 3 years before", OP, SEVERE, STATUS(Y3_AT),
	  "last_status_evaluation", OK, NULL },
	{ "职业卫生 3.3.1 severe, evaluation 3 years less a day", OP, SEVERE, STATUS(Y3_IN),
	  "last_status_evaluation", OK, NULL },
	{ "职业卫生 3.3.1 severe, evaluation 3 years and a day", OP, SEVERE, STATUS(Y3_OUT),
	  "last_status_evaluation", ABN, NULL },
	{ "职业卫生 3.3.1 ordinary: no status-evaluation report asked", OP, ORDINARY,
	  ANS1("status_evaluation_report", "no"), "status_evaluation_report", NOT_ASKED, NULL },
	{ "职业卫生 3.3.1 ordinary: no status-evaluation date asked", OP, ORDINARY,
	  STATUS(Y3_OUT), "last_status_evaluation", NOT_ASKED, NULL },
};

static void test_occupational_intervals(void **state)
{
	RUN_TABLE(state, occupational_cases);
}

/* ==== not_after_inspection: a date after the inspection day is refused ==== */

static void test_dates_not_after_inspection(void **state)
{
	fixture *f = *state;
	static const struct {
		const char *checklist;
		site_spec site;
		const char *item;
	} cases[] = {
		{ WS, SECONDARY, "last_test_report" },
		{ ML, MED(FIC_INST_CLINIC, U, 0, 0), "last_validation" },
		{ OP, SEVERE, "last_factor_testing" },
		{ OP, SEVERE, "last_status_evaluation" },
		{ SW, P(0, 300), "own_last_test_report" },
		{ SW, P(0, 300), "sec_last_test_report" },
	};
	static const char *const none[1][2] = { { NULL, NULL } };
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char id[FIC_UUID_BUFSIZE];
		assert_true(inspect(f, cases[i].item, cases[i].checklist, &cases[i].site, none, NULL,
		                    id));
		/* the day after the inspection: refused, nothing stored */
		int rc = fic_inspection_answer(f->store, id, cases[i].item, "2026-03-16");
		if (rc != FIC_EINVAL)
			print_error("%s.%s = 2026-03-16 gave %d\n", cases[i].checklist, cases[i].item, rc);
		assert_int_equal(rc, FIC_EINVAL);
		assert_answer(f, id, cases[i].item, "null");
		/* the inspection day itself is accepted */
		assert_int_equal(fic_inspection_answer(f->store, id, cases[i].item, INSPECTION_DAY),
		                 FIC_OK);
		assert_answer(f, id, cases[i].item, "\"" INSPECTION_DAY "\"");
		/* and a later refusal leaves that answer */
		assert_int_equal(fic_inspection_answer(f->store, id, cases[i].item, "2027-01-01"),
		                 FIC_EINVAL);
		assert_answer(f, id, cases[i].item, "\"" INSPECTION_DAY "\"");
		/* not a real date */
		assert_int_equal(fic_inspection_answer(f->store, id, cases[i].item, "2025-02-29"),
		                 FIC_EINVAL);
		assert_answer(f, id, cases[i].item, "\"" INSPECTION_DAY "\"");
	}
}

/* ==== the inspection date is the local (UTC+8) calendar day ==== */

static void test_inspection_day_is_local(void **state)
{
	fixture *f = *state;
	static const struct {
		int64_t wall_ms;
		const char *date;
		const char *valid_to;
		bool abnormal;
	} cases[] = {
		/* 2026-03-15T00:00+08:00 = 2026-03-14T16:00Z: already the 15th */
		{ 1773504000000LL, "2026-03-15", "2026-03-14", true },
		{ 1773504000000LL, "2026-03-15", "2026-03-15", false },
		/* one millisecond earlier: still the 14th */
		{ 1773503999999LL, "2026-03-14", "2026-03-14", false },
		{ 1773503999999LL, "2026-03-14", "2026-03-13", true },
	};
	/* the constants above are local midnight of INSPECTION_DAY, UTC+8 */
	assert_int_equal(cases[0].wall_ms, parse_day(INSPECTION_DAY) * DAY_MS - 8 * HOUR_MS);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char site_id[FIC_UUID_BUFSIZE], id[FIC_UUID_BUFSIZE];
		const site_spec clinic = MED(FIC_INST_CLINIC, U, 0, 0);
		f->clock.wall_ms = cases[i].wall_ms;
		add_site(f, &clinic, site_id);
		assert_int_equal(fic_inspection_start(id, f->store, site_id, ML), FIC_OK);
		assert_int_equal(fic_inspection_answer(f->store, id, "licence_valid_to",
		                                       cases[i].valid_to), FIC_OK);
		cJSON *j = inspection_json(f, id);
		const cJSON *date = cJSON_GetObjectItemCaseSensitive(j, "date");
		assert_true(cJSON_IsString(date));
		assert_string_equal(date->valuestring, cases[i].date);
		const cJSON *it = find_item(j, "licence_valid_to");
		assert_non_null(it);
		assert_int_equal(flag(it, "abnormal"), cases[i].abnormal);
		cJSON_Delete(j);
	}
}

/* ==== 学校卫生 三(二)4: the school cluster two-hour report ==== */

typedef struct cluster_case {
	const char *what;
	const char *daily_cases; /* JSON: a string "2,2,1" or an array [2,2,1] */
	const char *similar, *shared;
	bool urgent;
} cluster_case;

static const cluster_case cluster_cases[] = {
	/* 1 天内有 3 例 */
	{ "3 in one day, similar symptoms", "\"3\"", "yes", "no", true },
	{ "2 in one day", "\"2\"", "yes", "no", false },
	{ "2 then 3", "\"2,3\"", "yes", "no", true },
	{ "3 on the last of 14 days", "\"0,0,0,0,0,0,0,0,0,0,0,0,0,3\"", "yes", "no", true },
	/* 连续 3 天内 5 例以上 */
	{ "2,2,1: 5 in 3 days", "\"2,2,1\"", "yes", "no", true },
	{ "2,1,1: 4 in 3 days", "\"2,1,1\"", "yes", "no", false },
	{ "2,2: 4 in 2 days", "\"2,2\"", "yes", "no", false },
	{ "1,1,1,1,1: 5 in 5 days, at most 3 in any 3", "\"1,1,1,1,1\"", "yes", "no", false },
	{ "2,1,1,1,2: at most 4 in any 3 days", "\"2,1,1,1,2\"", "yes", "no", false },
	{ "0,2,2,1: 5 in the last 3 days", "\"0,2,2,1\"", "yes", "no", true },
	{ "1,2,0,2,2,1: 5 in days 4-6", "\"1,2,0,2,2,1\"", "yes", "no", true },
	{ "2,2,2: 6 in 3 days", "\"2,2,2\"", "yes", "no", true },
	{ "array form [2,2,1]", "[2,2,1]", "yes", "no", true },
	{ "array form [2,1,1]", "[2,1,1]", "yes", "no", false },
	/* 并有相似症状或者共同用餐、饮水史 */
	{ "3 in one day, neither similar symptoms nor shared meal", "\"3\"", "no", "no", false },
	{ "3 in one day, shared meal or water only", "\"3\"", "no", "yes", true },
	{ "2,2,1, neither similar symptoms nor shared meal", "\"2,2,1\"", "no", "no", false },
	{ "2,2,1, shared meal or water only", "\"2,2,1\"", "no", "yes", true },
	{ "2 in one day, both similar and shared", "\"2\"", "yes", "yes", false },
};

/* File a school-cluster report; returns the parsed lead JSON. */
static cJSON *file_cluster(fixture *f, const cluster_case *c, int64_t discovered_at_ms)
{
	char answers[1024], id[FIC_UUID_BUFSIZE];
	snprintf(answers, sizeof answers,
	         "{\"unit_type\": \"class\", \"unit_name\": \"三年级二班\", "
	         "\"first_date\": \"2026-03-12\", \"daily_cases\": %s, "
	         "\"symptoms\": \"unexplained_fever,diarrhoea\", \"similar_symptoms\": \"%s\", "
	         "\"shared_meal_or_water\": \"%s\", \"verified\": \"yes\"}",
	         c->daily_cases, c->similar, c->shared);
	int rc = fic_lead_file(id, f->store, "event.school_cluster", answers, NULL,
	                       discovered_at_ms, 0);
	if (rc != FIC_OK)
		print_error("[%s] filing: %d %s\n", c->what, rc, fic_error_last()->message);
	assert_int_equal(rc, FIC_OK);
	char *text = NULL;
	assert_int_equal(fic_lead_get_json(&text, f->store, id), FIC_OK);
	cJSON *j = cJSON_Parse(text);
	fic_free(text);
	assert_non_null(j);
	return j;
}

static void test_school_cluster_urgency(void **state)
{
	fixture *f = *state;
	int failed = 0;
	size_t n = sizeof cluster_cases / sizeof cluster_cases[0];
	for (size_t i = 0; i < n; i++) {
		cJSON *j = file_cluster(f, &cluster_cases[i], 0);
		bool urgent = flag(j, "urgent");
		if (urgent != cluster_cases[i].urgent) {
			print_error("[学校卫生 三(二)4 %s] urgent is %s, the guide says %s\n",
			            cluster_cases[i].what, urgent ? "true" : "false",
			            cluster_cases[i].urgent ? "true" : "false");
			failed++;
		}
		cJSON_Delete(j);
	}
	if (failed)
		print_error("%d of %zu cases disagree with the guide\n", failed, n);
	assert_int_equal(failed, 0);
}

/* An urgent lead is due two hours after discovery; a non-urgent one has no deadline. */
static void test_school_cluster_deadline(void **state)
{
	fixture *f = *state;
	int64_t now = f->clock.wall_ms;
	int64_t discovered = now - 30 * 60 * 1000; /* discovered half an hour ago */

	cJSON *j = file_cluster(f, &cluster_cases[0], discovered); /* urgent */
	assert_true(flag(j, "urgent"));
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "discovered_at_ms");
	const cJSON *dl = cJSON_GetObjectItemCaseSensitive(j, "deadline_at_ms");
	const cJSON *rem = cJSON_GetObjectItemCaseSensitive(j, "remaining_ms");
	assert_true(cJSON_IsNumber(d) && cJSON_IsNumber(dl) && cJSON_IsNumber(rem));
	assert_int_equal((int64_t)d->valuedouble, discovered);
	assert_int_equal((int64_t)dl->valuedouble, discovered + 7200000LL);
	assert_int_equal((int64_t)dl->valuedouble, discovered + FIC_URGENT_DEADLINE_MS);
	assert_int_equal((int64_t)rem->valuedouble, 90 * 60 * 1000);
	cJSON_Delete(j);

	j = file_cluster(f, &cluster_cases[1], discovered); /* not urgent */
	assert_false(flag(j, "urgent"));
	assert_null(cJSON_GetObjectItemCaseSensitive(j, "deadline_at_ms"));
	cJSON_Delete(j);

	/* discovery time 0 means now */
	j = file_cluster(f, &cluster_cases[0], 0);
	d = cJSON_GetObjectItemCaseSensitive(j, "discovered_at_ms");
	dl = cJSON_GetObjectItemCaseSensitive(j, "deadline_at_ms");
	assert_true(cJSON_IsNumber(d) && cJSON_IsNumber(dl));
	assert_int_equal((int64_t)d->valuedouble, now);
	assert_int_equal((int64_t)dl->valuedouble, now + 7200000LL);
	cJSON_Delete(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ph_bounds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_supply_prefill, setup, teardown),
		cmocka_unit_test_setup_teardown(test_residual_bounds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_number_input_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_school_clinic_threshold, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kindergarten_care_staff, setup, teardown),
		cmocka_unit_test_setup_teardown(test_medical_validation_period, setup, teardown),
		cmocka_unit_test_setup_teardown(test_licence_valid_to_edges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_report_within_one_year, setup, teardown),
		cmocka_unit_test_setup_teardown(test_occupational_intervals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dates_not_after_inspection, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inspection_day_is_local, setup, teardown),
		cmocka_unit_test_setup_teardown(test_school_cluster_urgency, setup, teardown),
		cmocka_unit_test_setup_teardown(test_school_cluster_deadline, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
