/*
 * core/site.c — the site registry (本底): validation of site facts, the three
 * field acts the guide names (add a missing site, report changed facts,
 * report a closed site — 渝卫发〔2022〕8号 附件, 服务方法 1(2)(3)), and the
 * lookups an inspector needs on the road (by id, by credit code, by the QR
 * place code at the door, by kind and name, by distance).
 *
 * Each change is one durable transaction holding the site row, an audit
 * entry and an outbox record.
 */
#include "internal.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- enumerations: stored integers, code strings, Chinese labels ---- */

typedef struct code_entry {
	int value;
	const char *code;
	const char *label;
} code_entry;

static const code_entry kinds[] = {
	{ FIC_SITE_WATER_RURAL, "water_rural", "农村集中式供水" },
	{ FIC_SITE_WATER_SECONDARY, "water_secondary", "城市二次供水" },
	{ FIC_SITE_SCHOOL, "school", "学校/托幼机构" },
	{ FIC_SITE_MEDICAL, "medical", "医疗机构" },
	{ FIC_SITE_BLOOD_STATION, "blood_station", "血站" },
	{ FIC_SITE_PLASMA_STATION, "plasma_station", "单采血浆站" },
	{ FIC_SITE_MCH, "mch", "母婴保健技术服务机构" },
	{ FIC_SITE_EMPLOYER, "employer", "职业卫生用人单位" },
	{ FIC_SITE_OTHER_VENUE, "other_venue", "其他场所" },
	{ 0, NULL, NULL }
};
static const code_entry statuses[] = {
	{ FIC_SITE_ACTIVE, "active", "正常" },
	{ FIC_SITE_CLOSED, "closed", "已关闭/停业" },
	{ FIC_SITE_CHANGED, "changed", "信息变更" },
	{ 0, NULL, NULL }
};
static const code_entry origins[] = {
	{ FIC_SITE_FROM_COUNTY, "county", "区县本底" },
	{ FIC_SITE_FROM_FIELD, "field", "现场新建本底" },
	{ 0, NULL, NULL }
};
static const code_entry school_levels[] = {
	{ FIC_SCHOOL_KINDERGARTEN, "kindergarten", "托幼机构" },
	{ FIC_SCHOOL_PRIMARY, "primary", "小学" },
	{ FIC_SCHOOL_SECONDARY, "secondary", "中学" },
	{ FIC_SCHOOL_VOCATIONAL, "vocational", "中职学校" },
	{ FIC_SCHOOL_UNIVERSITY, "university", "普通高校" },
	{ FIC_SCHOOL_OTHER, "other", "其他学校" },
	{ 0, NULL, NULL }
};
static const code_entry registrations[] = {
	{ FIC_MED_LICENSED, "licensed", "许可类" },
	{ FIC_MED_FILED, "filed", "备案类" },
	{ 0, NULL, NULL }
};
static const code_entry institution_types[] = {
	{ FIC_INST_GENERAL_HOSPITAL, "general_hospital", "综合医院" },
	{ FIC_INST_TCM_HOSPITAL, "tcm_hospital", "中医医院" },
	{ FIC_INST_INTEGRATED_HOSPITAL, "integrated_hospital", "中西医结合医院" },
	{ FIC_INST_ETHNIC_HOSPITAL, "ethnic_hospital", "民族医院" },
	{ FIC_INST_SPECIALTY_HOSPITAL, "specialty_hospital", "专科医院" },
	{ FIC_INST_SANATORIUM, "sanatorium", "疗养院" },
	{ FIC_INST_REHAB_HOSPITAL, "rehab_hospital", "康复医院" },
	{ FIC_INST_MCH_HOSPITAL, "mch_hospital", "妇幼保健院" },
	{ FIC_INST_EMERGENCY_CENTER, "emergency_center", "急救中心" },
	{ FIC_INST_CLINICAL_LAB, "clinical_lab", "临床检验中心" },
	{ FIC_INST_DISEASE_CONTROL, "disease_control", "专科疾病防治机构" },
	{ FIC_INST_VILLAGE_CLINIC, "village_clinic", "村卫生室" },
	{ FIC_INST_CLINIC, "clinic", "诊所/门诊部" },
	{ FIC_INST_TCM_CLINIC, "tcm_clinic", "中医诊所" },
	{ FIC_INST_OTHER, "other", "其他医疗机构" },
	{ 0, NULL, NULL }
};
static const code_entry industries[] = {
	{ FIC_INDUSTRY_COAL_MINE, "coal_mine", "煤矿" },
	{ FIC_INDUSTRY_NONCOAL_MINE, "noncoal_mine", "非煤矿山" },
	{ FIC_INDUSTRY_METALLURGY, "metallurgy", "冶金" },
	{ FIC_INDUSTRY_BUILDING_MATERIALS, "building_materials", "建材" },
	{ FIC_INDUSTRY_OTHER, "other", "其他行业" },
	{ 0, NULL, NULL }
};
static const code_entry hazard_levels[] = {
	{ FIC_HAZARD_ORDINARY, "ordinary", "职业病危害一般" },
	{ FIC_HAZARD_SEVERE, "severe", "职业病危害严重" },
	{ 0, NULL, NULL }
};
static const code_entry venue_types[] = {
	{ FIC_VENUE_MARKET, "market", "集贸市场" },
	{ FIC_VENUE_BEAUTY_SALON, "beauty_salon", "美容院" },
	{ FIC_VENUE_OFFICE_BUILDING, "office_building", "写字楼" },
	{ FIC_VENUE_PHARMACY, "pharmacy", "药房" },
	{ FIC_VENUE_OTHER, "other", "其他场所" },
	{ 0, NULL, NULL }
};

static const code_entry *code_table(int type)
{
	switch (type) {
	case FIC_CODE_KIND: return kinds;
	case FIC_CODE_STATUS: return statuses;
	case FIC_CODE_ORIGIN: return origins;
	case FIC_CODE_SCHOOL_LEVEL: return school_levels;
	case FIC_CODE_MED_REGISTRATION: return registrations;
	case FIC_CODE_INSTITUTION_TYPE: return institution_types;
	case FIC_CODE_INDUSTRY: return industries;
	case FIC_CODE_HAZARD_LEVEL: return hazard_levels;
	case FIC_CODE_VENUE_TYPE: return venue_types;
	default: return NULL;
	}
}

static const code_entry *code_find(int type, int value)
{
	const code_entry *t = code_table(type);
	for (; t && t->code; t++)
		if (t->value == value)
			return t;
	return NULL;
}

const char *fic_site_code_str(int type, int value)
{
	const code_entry *e = code_find(type, value);
	return e ? e->code : "";
}

const char *fic_site_code_label(int type, int value)
{
	const code_entry *e = code_find(type, value);
	return e ? e->label : "";
}

int fic_site_code_parse(int *out, int type, const char *code)
{
	fic__err_clear();
	const code_entry *t = code_table(type);
	if (out == NULL || t == NULL)
		return fic__err(FIC_EINVAL, "out is NULL or the code type is unknown");
	*out = 0;
	if (code == NULL)
		return fic__err(FIC_EINVAL, "code is NULL");
	char accepted[400] = "";
	size_t used = 0;
	for (const code_entry *e = t; e->code; e++) {
		if (strcmp(e->code, code) == 0) {
			*out = e->value;
			return FIC_OK;
		}
		int n = snprintf(accepted + used, sizeof accepted - used, "%s%s", used ? ", " : "",
		                 e->code);
		if (n > 0 && (size_t)n < sizeof accepted - used)
			used += (size_t)n;
	}
	return fic__err(FIC_EINVAL, "unknown code '%.40s' (accepted: %s)", code, accepted);
}

int fic_site_init(fic_site *site, unsigned int version)
{
	fic__err_clear();
	if (site == NULL || version < 1 || version > FIC_SITE_VERSION)
		return fic__err(FIC_EINVAL, "site: NULL or unknown version %u", version);
	fic_site init = FIC_SITE_INIT;
	*site = init;
	site->version = version;
	return FIC_OK;
}

/* ---- validation ---- */

static int check_enum(int type, int value, const char *what, bool applies)
{
	if (value == 0)
		return FIC_OK;
	if (!applies)
		return fic__err(FIC_EINVAL, "%s does not apply to this kind of site", what);
	if (code_find(type, value) == NULL)
		return fic__err(FIC_EINVAL, "%s has an unknown value %d", what, value);
	return FIC_OK;
}

static int check_flag(int value, const char *what, bool applies)
{
	if (value == FIC_UNKNOWN)
		return FIC_OK;
	if (!applies)
		return fic__err(FIC_EINVAL, "%s does not apply to this kind of site", what);
	if (value != 0 && value != 1)
		return fic__err(FIC_EINVAL, "%s must be 1 (yes), 0 (no) or FIC_UNKNOWN", what);
	return FIC_OK;
}

static int check_count(int value, const char *what, int max, bool applies)
{
	if (value == FIC_UNKNOWN)
		return FIC_OK;
	if (!applies)
		return fic__err(FIC_EINVAL, "%s does not apply to this kind of site", what);
	if (value < 0 || value > max)
		return fic__err(FIC_EINVAL, "%s must be between 0 and %d", what, max);
	return FIC_OK;
}

static int validate_site(const fic_site *s)
{
	int rc;
	/* Any version from 1 up to ours (common.h, ABI rules). There is one
	 * layout so far; a later one copies the caller's members over the
	 * defaults with fic__struct_in before reading. */
	if (s->version < 1 || s->version > FIC_SITE_VERSION)
		return fic__err(FIC_EINVAL, "site: struct version %u is not one this library reads "
		                "(1 to %u)", s->version, (unsigned)FIC_SITE_VERSION);
	if (code_find(FIC_CODE_KIND, s->kind) == NULL)
		return fic__err(FIC_EINVAL, "site kind %d is unknown", s->kind);
	struct { const char *v; const char *what; size_t max; bool req; } texts[] = {
		{ s->name, "name", FIC_SITE_NAME_MAX, true },
		{ s->address, "address", FIC_SITE_ADDRESS_MAX, false },
		{ s->place_code, "place code", FIC_SITE_PLACE_CODE_MAX, false },
		{ s->legal_rep, "legal representative", FIC_SITE_SHORT_MAX, false },
		{ s->manager, "person in charge", FIC_SITE_SHORT_MAX, false },
		{ s->licence_no, "licence number", FIC_SITE_SHORT_MAX, false },
		{ s->licence_scope, "licence scope", FIC_SITE_SCOPE_MAX, false },
		{ s->note, "note", FIC_SITE_NOTE_MAX, false },
	};
	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
		if ((rc = fic__check_text(texts[i].v, texts[i].what, texts[i].max, texts[i].req, NULL)))
			return rc;
	if (s->credit_code && s->credit_code[0] && (rc = fic_credit_code_check(s->credit_code)))
		return rc;
	int64_t from = 0, to = 0;
	bool has_from = s->licence_valid_from && s->licence_valid_from[0];
	bool has_to = s->licence_valid_to && s->licence_valid_to[0];
	if (has_from && (rc = fic__parse_date(s->licence_valid_from, "licence valid from", &from)))
		return rc;
	if (has_to && (rc = fic__parse_date(s->licence_valid_to, "licence valid to", &to)))
		return rc;
	if (has_from && has_to && to < from)
		return fic__err(FIC_EINVAL, "licence valid-to date is before its valid-from date");
	if (s->has_location != 0 && s->has_location != 1)
		return fic__err(FIC_EINVAL, "has_location must be 0 or 1");
	if (s->has_location) {
		if (!isfinite(s->lat) || s->lat < -90 || s->lat > 90)
			return fic__err(FIC_EINVAL, "latitude must be between -90 and 90 degrees");
		if (!isfinite(s->lon) || s->lon < -180 || s->lon > 180)
			return fic__err(FIC_EINVAL, "longitude must be between -180 and 180 degrees");
	}
	bool school = s->kind == FIC_SITE_SCHOOL;
	bool medical = s->kind == FIC_SITE_MEDICAL || s->kind == FIC_SITE_MCH;
	bool employer = s->kind == FIC_SITE_EMPLOYER;
	bool venue = s->kind == FIC_SITE_OTHER_VENUE;
	if ((rc = check_enum(FIC_CODE_SCHOOL_LEVEL, s->school_level, "school level", school)) ||
	    (rc = check_flag(s->boarding, "boarding", school)) ||
	    (rc = check_count(s->enrolment, "enrolment", 1000000, school)) ||
	    (rc = check_enum(FIC_CODE_MED_REGISTRATION, s->med_registration, "registration", medical)) ||
	    (rc = check_enum(FIC_CODE_INSTITUTION_TYPE, s->institution_type, "institution type",
	                     medical)) ||
	    (rc = check_count(s->beds, "beds", 100000, medical)) ||
	    (rc = check_flag(s->joint_venture, "joint venture", medical)) ||
	    (rc = check_flag(s->validation_deferred, "deferred validation", medical)) ||
	    (rc = check_enum(FIC_CODE_INDUSTRY, s->industry, "industry", employer)) ||
	    (rc = check_enum(FIC_CODE_HAZARD_LEVEL, s->hazard_level, "hazard level", employer)) ||
	    (rc = check_enum(FIC_CODE_VENUE_TYPE, s->venue_type, "venue type", venue)))
		return rc;
	return FIC_OK;
}

static int check_id(const char *id)
{
	if (id == NULL || id[0] == '\0')
		return fic__err(FIC_EINVAL, "site id is required");
	if (strnlen(id, 64) > 63)
		return fic__err(FIC_ETOOBIG, "site id is too long");
	return fic__check_text(id, "site id", 63, true, NULL);
}

/* ---- records: one allocation holding the struct and its strings ---- */

#define SITE_STRINGS(X) X(id) X(name) X(address) X(credit_code) X(place_code) X(legal_rep) \
	X(manager) X(licence_no) X(licence_scope) X(licence_valid_from) X(licence_valid_to) X(note)

static fic_site *site_pack(const fic_site *src)
{
	size_t need = sizeof(fic_site);
#define SIZE_OF(f) if (src->f && src->f[0]) need += strlen(src->f) + 1;
	SITE_STRINGS(SIZE_OF)
#undef SIZE_OF
	fic_site *dst = fic__malloc(need);
	if (dst == NULL)
		return NULL;
	*dst = *src;
	char *p = (char *)(dst + 1);
#define COPY(f) \
	if (src->f && src->f[0]) { size_t n = strlen(src->f) + 1; memcpy(p, src->f, n); dst->f = p; p += n; } \
	else { dst->f = NULL; }
	SITE_STRINGS(COPY)
#undef COPY
	return dst;
}

void fic_site_free(fic_site *site)
{
	fic__free(site);
}

#define SITE_COLUMNS \
	"id, kind, name, address, credit_code, place_code, legal_rep, manager, licence_no, " \
	"licence_scope, licence_valid_from, licence_valid_to, lat, lon, status, origin, " \
	"school_level, boarding, enrolment, med_registration, institution_type, beds, " \
	"joint_venture, validation_deferred, industry, hazard_level, venue_type, note, " \
	"created_at_ms, updated_at_ms, revision"

static const char *col_text(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

static fic_site *site_from_row(sqlite3_stmt *st)
{
	fic_site s = FIC_SITE_INIT;
	s.id = col_text(st, 0);
	s.kind = sqlite3_column_int(st, 1);
	s.name = col_text(st, 2);
	s.address = col_text(st, 3);
	s.credit_code = col_text(st, 4);
	s.place_code = col_text(st, 5);
	s.legal_rep = col_text(st, 6);
	s.manager = col_text(st, 7);
	s.licence_no = col_text(st, 8);
	s.licence_scope = col_text(st, 9);
	s.licence_valid_from = col_text(st, 10);
	s.licence_valid_to = col_text(st, 11);
	s.has_location = sqlite3_column_type(st, 12) != SQLITE_NULL;
	s.lat = sqlite3_column_double(st, 12);
	s.lon = sqlite3_column_double(st, 13);
	s.status = sqlite3_column_int(st, 14);
	s.origin = sqlite3_column_int(st, 15);
	s.school_level = sqlite3_column_int(st, 16);
	s.boarding = sqlite3_column_int(st, 17);
	s.enrolment = sqlite3_column_int(st, 18);
	s.med_registration = sqlite3_column_int(st, 19);
	s.institution_type = sqlite3_column_int(st, 20);
	s.beds = sqlite3_column_int(st, 21);
	s.joint_venture = sqlite3_column_int(st, 22);
	s.validation_deferred = sqlite3_column_int(st, 23);
	s.industry = sqlite3_column_int(st, 24);
	s.hazard_level = sqlite3_column_int(st, 25);
	s.venue_type = sqlite3_column_int(st, 26);
	s.note = col_text(st, 27);
	s.created_at_ms = sqlite3_column_int64(st, 28);
	s.updated_at_ms = sqlite3_column_int64(st, 29);
	s.revision = sqlite3_column_int64(st, 30);
	return site_pack(&s);
}

static void bind_opt_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v && v[0])
		sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

/* Bind all columns in SITE_COLUMNS order, starting at parameter 1. */
static void bind_site(sqlite3_stmt *st, const fic_site *s)
{
	sqlite3_bind_text(st, 1, s->id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, s->kind);
	sqlite3_bind_text(st, 3, s->name, -1, SQLITE_STATIC);
	bind_opt_text(st, 4, s->address);
	bind_opt_text(st, 5, s->credit_code);
	bind_opt_text(st, 6, s->place_code);
	bind_opt_text(st, 7, s->legal_rep);
	bind_opt_text(st, 8, s->manager);
	bind_opt_text(st, 9, s->licence_no);
	bind_opt_text(st, 10, s->licence_scope);
	bind_opt_text(st, 11, s->licence_valid_from);
	bind_opt_text(st, 12, s->licence_valid_to);
	if (s->has_location) {
		sqlite3_bind_double(st, 13, s->lat);
		sqlite3_bind_double(st, 14, s->lon);
	} else {
		sqlite3_bind_null(st, 13);
		sqlite3_bind_null(st, 14);
	}
	sqlite3_bind_int(st, 15, s->status);
	sqlite3_bind_int(st, 16, s->origin);
	sqlite3_bind_int(st, 17, s->school_level);
	sqlite3_bind_int(st, 18, s->boarding);
	sqlite3_bind_int(st, 19, s->enrolment);
	sqlite3_bind_int(st, 20, s->med_registration);
	sqlite3_bind_int(st, 21, s->institution_type);
	sqlite3_bind_int(st, 22, s->beds);
	sqlite3_bind_int(st, 23, s->joint_venture);
	sqlite3_bind_int(st, 24, s->validation_deferred);
	sqlite3_bind_int(st, 25, s->industry);
	sqlite3_bind_int(st, 26, s->hazard_level);
	sqlite3_bind_int(st, 27, s->venue_type);
	bind_opt_text(st, 28, s->note);
	sqlite3_bind_int64(st, 29, s->created_at_ms);
	sqlite3_bind_int64(st, 30, s->updated_at_ms);
	sqlite3_bind_int64(st, 31, s->revision);
}

/* ---- JSON ---- */

static bool add_str(cJSON *o, const char *key, const char *v)
{
	return !(v && v[0]) || cJSON_AddStringToObject(o, key, v) != NULL;
}

static bool add_code(cJSON *o, const char *key, int type, int v)
{
	return v == 0 || cJSON_AddStringToObject(o, key, fic_site_code_str(type, v)) != NULL;
}

static bool add_flag(cJSON *o, const char *key, int v)
{
	return v == FIC_UNKNOWN || cJSON_AddBoolToObject(o, key, v) != NULL;
}

static bool add_num(cJSON *o, const char *key, double v, bool present)
{
	return !present || cJSON_AddNumberToObject(o, key, v) != NULL;
}

static cJSON *site_json(const fic_site *s)
{
	cJSON *o = cJSON_CreateObject();
	if (o == NULL)
		return NULL;
	bool ok = add_str(o, "id", s->id) && add_code(o, "kind", FIC_CODE_KIND, s->kind) &&
		  add_str(o, "name", s->name) && add_str(o, "address", s->address) &&
		  add_str(o, "credit_code", s->credit_code) &&
		  add_str(o, "place_code", s->place_code) && add_str(o, "legal_rep", s->legal_rep) &&
		  add_str(o, "manager", s->manager) && add_str(o, "licence_no", s->licence_no) &&
		  add_str(o, "licence_scope", s->licence_scope) &&
		  add_str(o, "licence_valid_from", s->licence_valid_from) &&
		  add_str(o, "licence_valid_to", s->licence_valid_to) &&
		  add_num(o, "lat", s->lat, s->has_location) &&
		  add_num(o, "lon", s->lon, s->has_location) &&
		  add_code(o, "status", FIC_CODE_STATUS, s->status) &&
		  add_code(o, "origin", FIC_CODE_ORIGIN, s->origin) &&
		  add_code(o, "school_level", FIC_CODE_SCHOOL_LEVEL, s->school_level) &&
		  add_flag(o, "boarding", s->boarding) &&
		  add_num(o, "enrolment", s->enrolment, s->enrolment != FIC_UNKNOWN) &&
		  add_code(o, "med_registration", FIC_CODE_MED_REGISTRATION, s->med_registration) &&
		  add_code(o, "institution_type", FIC_CODE_INSTITUTION_TYPE, s->institution_type) &&
		  add_num(o, "beds", s->beds, s->beds != FIC_UNKNOWN) &&
		  add_flag(o, "joint_venture", s->joint_venture) &&
		  add_flag(o, "validation_deferred", s->validation_deferred) &&
		  add_code(o, "industry", FIC_CODE_INDUSTRY, s->industry) &&
		  add_code(o, "hazard_level", FIC_CODE_HAZARD_LEVEL, s->hazard_level) &&
		  add_code(o, "venue_type", FIC_CODE_VENUE_TYPE, s->venue_type) &&
		  add_str(o, "note", s->note) &&
		  add_num(o, "created_at_ms", (double)s->created_at_ms, s->created_at_ms != 0) &&
		  add_num(o, "updated_at_ms", (double)s->updated_at_ms, s->updated_at_ms != 0) &&
		  add_num(o, "revision", (double)s->revision, s->revision != 0);
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* Attach `item` to `o` under `key`; on failure `item` is freed and false returned. */
static bool attach(cJSON *o, const char *key, cJSON *item)
{
	if (item == NULL)
		return false;
	if (!cJSON_AddItemToObject(o, key, item)) {
		cJSON_Delete(item);
		return false;
	}
	return true;
}

/* Print and free `o`; NULL if `o` is NULL or printing fails. */
static char *json_take(cJSON *o)
{
	char *text = o ? cJSON_PrintUnformatted(o) : NULL;
	cJSON_Delete(o);
	return text;
}

int fic_site_to_json(char **out, const fic_site *site)
{
	fic__err_clear();
	if (out == NULL)
		return fic__err(FIC_EINVAL, "out is NULL");
	*out = NULL;
	if (site == NULL)
		return fic__err(FIC_EINVAL, "site is NULL");
	*out = json_take(site_json(site));
	return *out ? FIC_OK : fic__err(FIC_ENOMEM, "out of memory writing JSON");
}

/* {"site": {...}, "reason": "..."} — the outbox payload and the audit detail of add/close. */
static char *change_json(const fic_site *s, const char *reason, cJSON *changes)
{
	cJSON *o = cJSON_CreateObject();
	if (o == NULL) {
		cJSON_Delete(changes);
		return NULL;
	}
	if (s != NULL && !attach(o, "site", site_json(s))) {
		cJSON_Delete(changes); /* not attached yet: still ours */
		goto fail;
	}
	if (changes != NULL && !attach(o, "changes", changes))
		goto fail;
	if (reason && reason[0] && cJSON_AddStringToObject(o, "reason", reason) == NULL)
		goto fail;
	return json_take(o);
fail:
	cJSON_Delete(o);
	return NULL;
}

/*
 * The fields that differ between two versions of a site, as
 * {"field": {"from": old, "to": new}}; bookkeeping fields are ignored.
 * *changes is an empty object when nothing differs; NULL return = no memory.
 */
static cJSON *site_diff(const fic_site *before, const fic_site *after)
{
	static const char *const ignored[] = { "updated_at_ms", "revision", "status", NULL };
	cJSON *a = site_json(before), *b = site_json(after), *d = cJSON_CreateObject();
	if (!a || !b || !d)
		goto oom;
	for (int pass = 0; pass < 2; pass++) {
		cJSON *src = pass ? a : b, *other = pass ? b : a, *item;
		cJSON_ArrayForEach(item, src) {
			bool skip = false;
			for (const char *const *ig = ignored; *ig; ig++)
				skip |= strcmp(item->string, *ig) == 0;
			if (skip || cJSON_GetObjectItemCaseSensitive(d, item->string))
				continue;
			cJSON *peer = cJSON_GetObjectItemCaseSensitive(other, item->string);
			if (peer && cJSON_Compare(item, peer, true))
				continue;
			cJSON *ch = cJSON_CreateObject();
			if (!attach(d, item->string, ch))
				goto oom;
			cJSON *from = pass ? item : peer, *to = pass ? peer : item;
			if (!attach(ch, "from", from ? cJSON_Duplicate(from, true) : cJSON_CreateNull()) ||
			    !attach(ch, "to", to ? cJSON_Duplicate(to, true) : cJSON_CreateNull()))
				goto oom;
		}
	}
	cJSON_Delete(a);
	cJSON_Delete(b);
	return d;
oom:
	cJSON_Delete(a);
	cJSON_Delete(b);
	cJSON_Delete(d);
	return NULL;
}

/* ---- reading ---- */

static int fetch_one(fic_store *store, fic_site **out, const char *where, const char *key,
                     const char *what)
{
	char sql[sizeof("SELECT " SITE_COLUMNS " FROM sites WHERE ") + 64];
	snprintf(sql, sizeof sql, "SELECT " SITE_COLUMNS " FROM sites WHERE %s", where);
	sqlite3_stmt *st;
	int rc = fic__prepare(store, &st, sql);
	if (rc != FIC_OK)
		return rc;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	int src = sqlite3_step(st);
	if (src == SQLITE_ROW) {
		*out = site_from_row(st);
		rc = *out ? FIC_OK : fic__err(FIC_ENOMEM, "out of memory reading a site");
	} else if (src == SQLITE_DONE) {
		rc = fic__err(FIC_ENOTFOUND, "no site with that %s", what);
	} else {
		rc = fic__db_err(store, src, "reading a site");
	}
	sqlite3_finalize(st);
	return rc;
}

int fic_site_get(fic_site **out, fic_store *store, const char *id)
{
	fic__err_clear();
	if (out == NULL)
		return fic__err(FIC_EINVAL, "out is NULL");
	*out = NULL;
	if (store == NULL)
		return fic__err(FIC_EINVAL, "store is NULL");
	int rc = check_id(id);
	if (rc != FIC_OK)
		return rc;
	return fetch_one(store, out, "id = ?1", id, "id");
}

int fic_site_find_by_place_code(fic_site **out, fic_store *store, const char *payload)
{
	fic__err_clear();
	if (out == NULL)
		return fic__err(FIC_EINVAL, "out is NULL");
	*out = NULL;
	if (store == NULL)
		return fic__err(FIC_EINVAL, "store is NULL");
	int rc = fic__check_text(payload, "place code", FIC_SITE_PLACE_CODE_MAX, true, NULL);
	if (rc != FIC_OK)
		return rc;
	return fetch_one(store, out, "place_code = ?1", payload, "place code");
}

void fic_site_list_free(fic_site_list *list)
{
	if (list == NULL)
		return;
	for (size_t i = 0; i < list->count; i++)
		fic_site_free(list->sites[i]);
	fic__free(list->sites);
	fic__free(list->distance_m);
	fic__free(list);
}

/* Append a site (taking ownership; freed on failure). */
static int list_push(fic_site_list *list, size_t *cap, fic_site *site, double distance)
{
	if (site == NULL)
		return fic__err(FIC_ENOMEM, "out of memory listing sites");
	if (list->count == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		fic_site **ns = fic__realloc(list->sites, ncap * sizeof *ns);
		if (ns == NULL) {
			fic_site_free(site);
			return fic__err(FIC_ENOMEM, "out of memory listing sites");
		}
		list->sites = ns;
		if (list->distance_m) {
			double *nd = fic__realloc(list->distance_m, ncap * sizeof *nd);
			if (nd == NULL) {
				fic_site_free(site);
				return fic__err(FIC_ENOMEM, "out of memory listing sites");
			}
			list->distance_m = nd;
		}
		*cap = ncap;
	}
	if (list->distance_m)
		list->distance_m[list->count] = distance;
	list->sites[list->count++] = site;
	return FIC_OK;
}

/* Run a prepared query of SITE_COLUMNS into a new list; finalizes `st`. */
static int collect(fic_store *store, sqlite3_stmt *st, fic_site_list **out)
{
	fic_site_list *list = fic__calloc(1, sizeof *list);
	size_t cap = 0;
	int rc = list ? FIC_OK : fic__err(FIC_ENOMEM, "out of memory listing sites");
	int src = SQLITE_DONE;
	while (rc == FIC_OK && (src = sqlite3_step(st)) == SQLITE_ROW)
		rc = list_push(list, &cap, site_from_row(st), 0);
	if (rc == FIC_OK && src != SQLITE_DONE)
		rc = fic__db_err(store, src, "listing sites");
	sqlite3_finalize(st);
	if (rc != FIC_OK) {
		fic_site_list_free(list);
		return rc;
	}
	*out = list;
	return FIC_OK;
}

int fic_site_find_by_credit_code(fic_site_list **out, fic_store *store, const char *credit_code)
{
	fic__err_clear();
	if (out == NULL)
		return fic__err(FIC_EINVAL, "out is NULL");
	*out = NULL;
	if (store == NULL)
		return fic__err(FIC_EINVAL, "store is NULL");
	int rc = fic_credit_code_check(credit_code);
	if (rc != FIC_OK)
		return rc;
	sqlite3_stmt *st;
	if ((rc = fic__prepare(store, &st, "SELECT " SITE_COLUMNS " FROM sites WHERE credit_code = ?1 "
	                                   "ORDER BY name, id")))
		return rc;
	sqlite3_bind_text(st, 1, credit_code, -1, SQLITE_STATIC);
	return collect(store, st, out);
}

int fic_site_search(fic_site_list **out, fic_store *store, int kind, const char *name_part,
                    size_t limit)
{
	fic__err_clear();
	if (out == NULL)
		return fic__err(FIC_EINVAL, "out is NULL");
	*out = NULL;
	if (store == NULL)
		return fic__err(FIC_EINVAL, "store is NULL");
	if (kind != 0 && code_find(FIC_CODE_KIND, kind) == NULL)
		return fic__err(FIC_EINVAL, "site kind %d is unknown", kind);
	bool has_name = false;
	int rc = fic__check_text(name_part, "name", FIC_SITE_NAME_MAX, false, &has_name);
	if (rc != FIC_OK)
		return rc;
	/* instr(), not LIKE: a plain, case-sensitive substring match without wildcards. */
	sqlite3_stmt *st;
	if ((rc = fic__prepare(store, &st,
	                       "SELECT " SITE_COLUMNS " FROM sites WHERE (?1 = 0 OR kind = ?1) "
	                       "AND (?2 IS NULL OR instr(name, ?2) > 0) ORDER BY name, id LIMIT ?3")))
		return rc;
	sqlite3_bind_int(st, 1, kind);
	if (has_name)
		sqlite3_bind_text(st, 2, name_part, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 2);
	sqlite3_bind_int64(st, 3, limit == 0 || limit > INT64_MAX ? -1 : (int64_t)limit);
	return collect(store, st, out);
}

#define FIC_PI 3.14159265358979323846
#define EARTH_RADIUS_M 6371008.8
#define NEAR_MAX_RADIUS_M 500000.0

static double haversine_m(double lat1, double lon1, double lat2, double lon2)
{
	const double r = FIC_PI / 180.0;
	double dlat = (lat2 - lat1) * r, dlon = (lon2 - lon1) * r;
	double a = sin(dlat / 2) * sin(dlat / 2) +
		   cos(lat1 * r) * cos(lat2 * r) * sin(dlon / 2) * sin(dlon / 2);
	return 2 * EARTH_RADIUS_M * asin(fmin(1.0, sqrt(a)));
}

typedef struct near_hit {
	double distance;
	fic_site *site;
} near_hit;

static int cmp_near_hit(const void *a, const void *b)
{
	const near_hit *x = a, *y = b;
	if (x->distance != y->distance)
		return (x->distance > y->distance) - (x->distance < y->distance);
	return strcmp(x->site->id, y->site->id);
}

int fic_site_near(fic_site_list **out, fic_store *store, double lat, double lon,
                  double radius_m, size_t limit)
{
	fic__err_clear();
	if (out == NULL)
		return fic__err(FIC_EINVAL, "out is NULL");
	*out = NULL;
	if (store == NULL)
		return fic__err(FIC_EINVAL, "store is NULL");
	if (!isfinite(lat) || lat < -90 || lat > 90 || !isfinite(lon) || lon < -180 || lon > 180)
		return fic__err(FIC_EINVAL, "the point must be a latitude in -90..90 and a longitude "
		                            "in -180..180");
	if (!isfinite(radius_m) || radius_m <= 0 || radius_m > NEAR_MAX_RADIUS_M)
		return fic__err(FIC_EINVAL, "radius must be more than 0 and at most %.0f m",
		                NEAR_MAX_RADIUS_M);
	/*
	 * A bounding box narrows the rows; the exact great-circle test decides.
	 * The circle's widest point east-west is where a meridian touches it, at
	 * dlon = asin(sin(r/R) / cos(lat)) (wider than r/R / cos(lat), and north
	 * of `lat` in the north). If the circle reaches a pole, every longitude.
	 */
	const double deg = 180.0 / FIC_PI;
	double ang = radius_m / EARTH_RADIUS_M;
	double dlat = ang * deg + 1e-6;
	double coslat = cos(lat / deg);
	double ratio = coslat > 0 ? sin(ang) / coslat : 2.0;
	double dlon = ratio < 1.0 ? asin(ratio) * deg + 1e-6 : 360.0;
	sqlite3_stmt *st;
	int rc = fic__prepare(store, &st,
	                      "SELECT " SITE_COLUMNS " FROM sites WHERE lat BETWEEN ?1 AND ?2 "
	                      "AND (?5 OR lon BETWEEN ?3 AND ?4)");
	if (rc != FIC_OK)
		return rc;
	sqlite3_bind_double(st, 1, lat - dlat);
	sqlite3_bind_double(st, 2, lat + dlat);
	sqlite3_bind_double(st, 3, lon - dlon);
	sqlite3_bind_double(st, 4, lon + dlon);
	sqlite3_bind_int(st, 5, lon - dlon < -180 || lon + dlon > 180);

	near_hit *hits = NULL;
	size_t n = 0, cap = 0;
	int src;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		double d = haversine_m(lat, lon, sqlite3_column_double(st, 12),
		                       sqlite3_column_double(st, 13));
		if (d > radius_m)
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			near_hit *nh = fic__realloc(hits, ncap * sizeof *nh);
			if (nh == NULL) {
				rc = fic__err(FIC_ENOMEM, "out of memory listing sites");
				break;
			}
			hits = nh;
			cap = ncap;
		}
		if ((hits[n].site = site_from_row(st)) == NULL) {
			rc = fic__err(FIC_ENOMEM, "out of memory listing sites");
			break;
		}
		hits[n++].distance = d;
	}
	if (rc == FIC_OK && src != SQLITE_DONE)
		rc = fic__db_err(store, src, "listing sites");
	sqlite3_finalize(st);

	/* Nearest first; keep at most `limit`. */
	fic_site_list *res = NULL;
	if (rc == FIC_OK) {
		if (n > 1) /* qsort's array may not be NULL, even for no hits (UBSan) */
			qsort(hits, n, sizeof *hits, cmp_near_hit);
		size_t keep = limit && limit < n ? limit : n;
		res = fic__calloc(1, sizeof *res);
		if (res)
			res->sites = fic__malloc((keep ? keep : 1) * sizeof *res->sites);
		if (res && res->sites)
			res->distance_m = fic__malloc((keep ? keep : 1) * sizeof *res->distance_m);
		if (res == NULL || res->distance_m == NULL) {
			rc = fic__err(FIC_ENOMEM, "out of memory listing sites");
		} else {
			for (size_t i = 0; i < keep; i++) {
				res->sites[i] = hits[i].site;
				res->distance_m[i] = hits[i].distance;
				hits[i].site = NULL;
			}
			res->count = keep;
		}
	}
	for (size_t i = 0; i < n; i++)
		fic_site_free(hits[i].site);
	fic__free(hits);
	if (rc != FIC_OK) {
		fic_site_list_free(res);
		return rc;
	}
	*out = res;
	return FIC_OK;
}

/* ---- writing ---- */

/* Another site already carrying this place code? */
static int check_place_code_free(fic_store *store, const char *place_code, const char *self_id)
{
	if (place_code == NULL || place_code[0] == '\0')
		return FIC_OK;
	sqlite3_stmt *st;
	int rc = fic__cached(store, &st,
	                     "SELECT id FROM sites WHERE place_code = ?1 AND id IS NOT ?2");
	if (rc != FIC_OK)
		return rc;
	sqlite3_bind_text(st, 1, place_code, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, self_id, -1, SQLITE_STATIC);
	int src = sqlite3_step(st);
	if (src == SQLITE_ROW)
		rc = fic__err(FIC_EEXISTS, "place code already belongs to site %s",
		              (const char *)sqlite3_column_text(st, 0));
	else if (src != SQLITE_DONE)
		rc = fic__db_err(store, src, "checking the place code");
	fic__release(store, st);
	return rc;
}

static int write_row(fic_store *store, const fic_site *s, bool insert)
{
	sqlite3_stmt *st;
	int rc = fic__cached(store, &st,
	                     insert ? "INSERT INTO sites (" SITE_COLUMNS ") VALUES (?1, ?2, ?3, ?4, "
	                               "?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, "
	                               "?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, "
	                               "?30, ?31)"
	                             : "UPDATE sites SET kind = ?2, name = ?3, address = ?4, "
	                               "credit_code = ?5, place_code = ?6, legal_rep = ?7, "
	                               "manager = ?8, licence_no = ?9, licence_scope = ?10, "
	                               "licence_valid_from = ?11, licence_valid_to = ?12, lat = ?13, "
	                               "lon = ?14, status = ?15, origin = ?16, school_level = ?17, "
	                               "boarding = ?18, enrolment = ?19, med_registration = ?20, "
	                               "institution_type = ?21, beds = ?22, joint_venture = ?23, "
	                               "validation_deferred = ?24, industry = ?25, "
	                               "hazard_level = ?26, venue_type = ?27, note = ?28, "
	                               "created_at_ms = ?29, updated_at_ms = ?30, revision = ?31 "
	                               "WHERE id = ?1");
	if (rc != FIC_OK)
		return rc;
	bind_site(st, s);
	int src = sqlite3_step(st);
	rc = src == SQLITE_DONE ? FIC_OK : fic__db_err(store, src, "saving the site");
	fic__release(store, st);
	return rc;
}

/* Row + audit + outbox, inside the caller's open transaction (no commit). */
static int record_change(fic_store *store, const fic_site *s, bool insert, const char *action,
                         const char *op, const char *audit_detail, const char *payload)
{
	int rc;
	if (audit_detail == NULL || payload == NULL)
		return fic__err(FIC_ENOMEM, "out of memory recording the change");
	if ((rc = write_row(store, s, insert)) == FIC_OK &&
	    (rc = fic__audit_append(store, action, "site", s->id, audit_detail)) == FIC_OK)
		rc = fic__outbox_enqueue(store, "site", s->id, op, 0, payload);
	return rc;
}

int fic_site_add(fic_site **out, fic_store *store, const fic_site *site, const char *reason)
{
	fic__err_clear();
	if (out)
		*out = NULL;
	if (store == NULL || site == NULL)
		return fic__err(FIC_EINVAL, "store and site are required");
	int rc = validate_site(site);
	if (rc == FIC_OK)
		rc = fic__check_text(reason, "reason", FIC_REASON_MAX, false, NULL);
	if (rc != FIC_OK)
		return rc;

	char id[FIC_UUID_BUFSIZE];
	if ((rc = fic__uuid7(store, id)) != FIC_OK)
		return rc;
	fic_site s = *site;
	s.id = id;
	s.status = FIC_SITE_ACTIVE;
	s.origin = FIC_SITE_FROM_FIELD;
	s.created_at_ms = s.updated_at_ms = store->platform->wall_ms(store->platform->ctx);
	s.revision = 1;

	char *payload = change_json(&s, reason, NULL);
	fic_site *copy = out ? site_pack(&s) : NULL;
	if (payload == NULL || (out && copy == NULL)) {
		fic__free(payload);
		fic_site_free(copy);
		return fic__err(FIC_ENOMEM, "out of memory adding a site");
	}
	if ((rc = fic__tx_begin(store)) == FIC_OK &&
	    (rc = check_place_code_free(store, s.place_code, NULL)) != FIC_OK)
		fic__tx_rollback(store);
	else if (rc == FIC_OK) {
		rc = record_change(store, &s, true, "site.add", "add", payload, payload);
		rc = rc == FIC_OK ? fic__tx_commit(store) : rc;
		if (rc != FIC_OK)
			fic__tx_rollback(store);
	}
	fic__free(payload);
	if (rc != FIC_OK) {
		fic_site_free(copy);
		return rc;
	}
	if (out)
		*out = copy;
	fic__log(store, FIC_LOG_DEBUG, "site %s added", id);
	return FIC_OK;
}

/* The update, inside the caller's open transaction. */
int fic__site_update_tx(fic_site **out, fic_store *store, const fic_site *site, const char *reason)
{
	if (out)
		*out = NULL;
	int rc = check_id(site->id);
	if (rc == FIC_OK)
		rc = validate_site(site);
	if (rc == FIC_OK)
		rc = fic__check_text(reason, "reason", FIC_REASON_MAX, true, NULL);
	if (rc != FIC_OK)
		return rc;
	fic_site *before = NULL, *copy = NULL;
	char *detail = NULL, *payload = NULL;
	cJSON *changes = NULL;
	if ((rc = fetch_one(store, &before, "id = ?1", site->id, "id")) != FIC_OK)
		goto done;
	if (before->status == FIC_SITE_CLOSED) {
		rc = fic__err(FIC_ESTATE, "site %s is closed; it cannot be updated", site->id);
		goto done;
	}
	fic_site s = *site;
	s.id = before->id;
	s.origin = before->origin;
	s.status = before->status;
	s.created_at_ms = before->created_at_ms;
	s.updated_at_ms = before->updated_at_ms;
	s.revision = before->revision;
	if ((changes = site_diff(before, &s)) == NULL) {
		rc = fic__err(FIC_ENOMEM, "out of memory comparing site versions");
		goto done;
	}
	if (changes->child == NULL) {
		/* Nothing changed: nothing to record. */
		if (out) {
			*out = before;
			before = NULL;
		}
		goto done;
	}
	/* A county site whose facts differ is reported as 信息变更; a field site stays as is. */
	if (before->origin == FIC_SITE_FROM_COUNTY)
		s.status = FIC_SITE_CHANGED;
	s.updated_at_ms = store->platform->wall_ms(store->platform->ctx);
	s.revision = before->revision + 1;
	if ((rc = check_place_code_free(store, s.place_code, s.id)) != FIC_OK)
		goto done;
	detail = change_json(NULL, reason, changes);
	changes = NULL;
	payload = change_json(&s, reason, NULL);
	if (out && (copy = site_pack(&s)) == NULL) {
		rc = fic__err(FIC_ENOMEM, "out of memory updating a site");
		goto done;
	}
	if ((rc = record_change(store, &s, false, "site.update", "update", detail, payload)) == FIC_OK &&
	    out) {
		*out = copy;
		copy = NULL;
	}
done:
	cJSON_Delete(changes);
	fic__free(detail);
	fic__free(payload);
	fic_site_free(before);
	fic_site_free(copy);
	return rc;
}

int fic_site_update(fic_site **out, fic_store *store, const fic_site *site, const char *reason)
{
	fic__err_clear();
	if (out)
		*out = NULL;
	if (store == NULL || site == NULL)
		return fic__err(FIC_EINVAL, "store and site are required");
	int rc = fic__tx_begin(store);
	if (rc != FIC_OK)
		return rc;
	fic_site *res = NULL;
	rc = fic__site_update_tx(&res, store, site, reason);
	if (rc == FIC_OK)
		rc = fic__tx_commit(store);
	else
		fic__tx_rollback(store);
	if (rc != FIC_OK) {
		fic_site_free(res);
		return rc;
	}
	if (out)
		*out = res;
	else
		fic_site_free(res);
	return FIC_OK;
}

/* Closing, inside the caller's open transaction. */
int fic__site_close_tx(fic_store *store, const char *id, const char *reason)
{
	int rc = check_id(id);
	if (rc == FIC_OK)
		rc = fic__check_text(reason, "reason", FIC_REASON_MAX, true, NULL);
	if (rc != FIC_OK)
		return rc;
	fic_site *before = NULL;
	if ((rc = fetch_one(store, &before, "id = ?1", id, "id")) != FIC_OK)
		return rc;
	if (before->status == FIC_SITE_CLOSED) {
		fic_site_free(before);
		return fic__err(FIC_ESTATE, "site %s is already closed", id);
	}
	fic_site s = *before;
	s.status = FIC_SITE_CLOSED;
	s.updated_at_ms = store->platform->wall_ms(store->platform->ctx);
	s.revision = before->revision + 1;
	char *payload = change_json(&s, reason, NULL);
	char *detail = change_json(NULL, reason, NULL);
	rc = record_change(store, &s, false, "site.close", "close", detail, payload);
	fic__free(payload);
	fic__free(detail);
	fic_site_free(before);
	return rc;
}

int fic_site_close(fic_store *store, const char *id, const char *reason)
{
	fic__err_clear();
	if (store == NULL)
		return fic__err(FIC_EINVAL, "store is NULL");
	int rc = fic__tx_begin(store);
	if (rc != FIC_OK)
		return rc;
	rc = fic__site_close_tx(store, id, reason);
	if (rc == FIC_OK)
		rc = fic__tx_commit(store);
	else
		fic__tx_rollback(store);
	return rc;
}

/* The facts rules may read (docs/checklist-format.md), plus name and address for titles. */
cJSON *fic__site_facts(const fic_site *s)
{
	cJSON *o = cJSON_CreateObject();
	if (o == NULL)
		return NULL;
	const char *supply = s->kind == FIC_SITE_WATER_RURAL ? "rural"
			     : s->kind == FIC_SITE_WATER_SECONDARY ? "urban" : NULL;
	bool ok = add_str(o, "id", s->id) && add_str(o, "name", s->name) &&
		  add_str(o, "address", s->address) && add_code(o, "kind", FIC_CODE_KIND, s->kind) &&
		  add_str(o, "supply", supply) &&
		  add_code(o, "school_level", FIC_CODE_SCHOOL_LEVEL, s->school_level) &&
		  add_flag(o, "boarding", s->boarding) &&
		  add_num(o, "enrolment", s->enrolment, s->enrolment != FIC_UNKNOWN) &&
		  add_code(o, "med_registration", FIC_CODE_MED_REGISTRATION, s->med_registration) &&
		  add_code(o, "institution_type", FIC_CODE_INSTITUTION_TYPE, s->institution_type) &&
		  add_num(o, "beds", s->beds, s->beds != FIC_UNKNOWN) &&
		  add_flag(o, "joint_venture", s->joint_venture) &&
		  add_flag(o, "validation_deferred", s->validation_deferred) &&
		  add_code(o, "industry", FIC_CODE_INDUSTRY, s->industry) &&
		  add_code(o, "hazard_level", FIC_CODE_HAZARD_LEVEL, s->hazard_level) &&
		  add_code(o, "venue_type", FIC_CODE_VENUE_TYPE, s->venue_type) &&
		  add_str(o, "licence_valid_from", s->licence_valid_from) &&
		  add_str(o, "licence_valid_to", s->licence_valid_to);
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* ---- the county's registry, as the sync feed brings it (sync/pull.c) ---- */

static const char *feed_str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int feed_code(const cJSON *o, const char *k, int type, int *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	*out = 0;
	if (v == NULL || cJSON_IsNull(v))
		return FIC_OK;
	if (!cJSON_IsString(v))
		return fic__err(FIC_EINVAL, "%s must be a code string", k);
	return fic_site_code_parse(out, type, v->valuestring);
}

static int feed_int(const cJSON *o, const char *k, int *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	*out = FIC_UNKNOWN;
	if (v == NULL || cJSON_IsNull(v))
		return FIC_OK;
	if (cJSON_IsBool(v)) {
		*out = cJSON_IsTrue(v) ? 1 : 0;
		return FIC_OK;
	}
	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1e7 ||
	    v->valuedouble != (double)(int)v->valuedouble)
		return fic__err(FIC_EINVAL, "%s must be a whole number", k);
	*out = (int)v->valuedouble;
	return FIC_OK;
}

/* The audit entry of a county registry change: the site's new revision. */
static int audit_revision(fic_store *store, const char *action, const char *id, int64_t revision)
{
	cJSON *d = cJSON_CreateObject();
	bool ok = d && cJSON_AddNumberToObject(d, "revision", (double)revision);
	return fic__audit_take(store, action, "site", id, d, ok);
}

int fic__site_apply_feed(fic_store *store, const char *id, bool del, const cJSON *data,
                         int64_t changed_at_ms, bool *skipped)
{
	*skipped = false;
	int rc = check_id(id);
	if (rc != FIC_OK)
		return rc;
	/* The inspector's own change to this site is still on its way: it wins
	 * until the county has seen it (a later registry change brings the
	 * county's confirmed version). */
	sqlite3_stmt *st;
	if ((rc = fic__cached(store, &st, "SELECT count(*) FROM outbox WHERE record_type = 'site' "
	                                  "AND record_id = ?1 AND state = 'pending'")) != FIC_OK)
		return rc;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	int s = sqlite3_step(st);
	int64_t pending = s == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
	fic__release(store, st);
	if (pending < 0)
		return fic__db_err(store, s, "checking the site's pending changes");
	if (pending > 0) {
		*skipped = true;
		return FIC_OK;
	}
	/* Nor may a county version older than the inspector's change, which the
	 * server received after the county made it (both are the server's clock). */
	if (changed_at_ms > 0) {
		if ((rc = fic__cached(store, &st, "SELECT coalesce(max(received_at_ms), 0) FROM outbox "
		                                  "WHERE record_type = 'site' AND record_id = ?1 AND "
		                                  "state = 'acked'")) != FIC_OK)
			return rc;
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		s = sqlite3_step(st);
		int64_t ours = s == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
		fic__release(store, st);
		if (ours < 0)
			return fic__db_err(store, s, "checking the site's changes");
		if (ours > changed_at_ms) {
			*skipped = true;
			return FIC_OK;
		}
	}
	fic_site *before = NULL;
	rc = fetch_one(store, &before, "id = ?1", id, "id");
	if (rc == FIC_ENOTFOUND) {
		fic__err_clear();
		rc = FIC_OK;
	}
	if (rc != FIC_OK)
		return rc;
	int64_t now = fic__now_ms(store);
	if (del) {
		if (before == NULL)
			return FIC_OK;
		fic_site s2 = *before;
		s2.status = FIC_SITE_CLOSED;
		s2.updated_at_ms = now;
		s2.revision = before->revision + 1;
		if ((rc = write_row(store, &s2, false)) == FIC_OK)
			rc = audit_revision(store, "site.registry_remove", id, s2.revision);
		fic_site_free(before);
		return rc;
	}
	fic_site n = FIC_SITE_INIT;
	n.id = id;
	const cJSON *lat = cJSON_GetObjectItemCaseSensitive(data, "lat");
	const cJSON *lon = cJSON_GetObjectItemCaseSensitive(data, "lon");
	n.name = feed_str(data, "name");
	n.address = feed_str(data, "address");
	n.credit_code = feed_str(data, "credit_code");
	n.place_code = feed_str(data, "place_code");
	n.legal_rep = feed_str(data, "legal_rep");
	n.manager = feed_str(data, "manager");
	n.licence_no = feed_str(data, "licence_no");
	n.licence_scope = feed_str(data, "licence_scope");
	n.licence_valid_from = feed_str(data, "licence_valid_from");
	n.licence_valid_to = feed_str(data, "licence_valid_to");
	n.note = feed_str(data, "note");
	if (cJSON_IsNumber(lat) && cJSON_IsNumber(lon)) {
		n.has_location = 1;
		n.lat = lat->valuedouble;
		n.lon = lon->valuedouble;
	}
	int status = 0;
	if ((rc = feed_code(data, "kind", FIC_CODE_KIND, &n.kind)) == FIC_OK &&
	    (rc = feed_code(data, "status", FIC_CODE_STATUS, &status)) == FIC_OK &&
	    (rc = feed_code(data, "school_level", FIC_CODE_SCHOOL_LEVEL, &n.school_level)) == FIC_OK &&
	    (rc = feed_code(data, "med_registration", FIC_CODE_MED_REGISTRATION,
	                    &n.med_registration)) == FIC_OK &&
	    (rc = feed_code(data, "institution_type", FIC_CODE_INSTITUTION_TYPE,
	                    &n.institution_type)) == FIC_OK &&
	    (rc = feed_code(data, "industry", FIC_CODE_INDUSTRY, &n.industry)) == FIC_OK &&
	    (rc = feed_code(data, "hazard_level", FIC_CODE_HAZARD_LEVEL, &n.hazard_level)) == FIC_OK &&
	    (rc = feed_code(data, "venue_type", FIC_CODE_VENUE_TYPE, &n.venue_type)) == FIC_OK &&
	    (rc = feed_int(data, "boarding", &n.boarding)) == FIC_OK &&
	    (rc = feed_int(data, "enrolment", &n.enrolment)) == FIC_OK &&
	    (rc = feed_int(data, "beds", &n.beds)) == FIC_OK &&
	    (rc = feed_int(data, "joint_venture", &n.joint_venture)) == FIC_OK &&
	    (rc = feed_int(data, "validation_deferred", &n.validation_deferred)) == FIC_OK)
		rc = validate_site(&n);
	if (rc == FIC_OK && n.place_code && n.place_code[0])
		rc = check_place_code_free(store, n.place_code, id);
	if (rc != FIC_OK) {
		fic_site_free(before);
		return rc; /* the caller skips this item and says why */
	}
	/* The county's word is the registry: 信息变更 clears once it has confirmed. */
	n.status = status == FIC_SITE_CLOSED ? FIC_SITE_CLOSED : FIC_SITE_ACTIVE;
	n.origin = before ? before->origin : FIC_SITE_FROM_COUNTY;
	n.created_at_ms = before ? before->created_at_ms : now;
	n.updated_at_ms = now;
	n.revision = before ? before->revision + 1 : 1;
	if ((rc = write_row(store, &n, before == NULL)) == FIC_OK)
		rc = audit_revision(store, "site.registry", id, n.revision);
	fic_site_free(before);
	return rc;
}
