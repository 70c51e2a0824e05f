/*
 * core/model/site_fields.c — everything done field by field to a site,
 * driven by the one description in site_fields.h: reading a row, binding a
 * statement, JSON, the facts rules read, the county's feed, validation.
 */
#include "site_fields.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <sqlite3.h>
#include <string.h>

typedef struct site_field {
	const char *name;
	sf_type type;
	size_t off; /* in fic_site */
	int code;   /* SF_CODE: FIC_CODE_* */
	unsigned flags;
	long max;   /* SF_TEXT: bytes (0: checked elsewhere); SF_COUNT: the limit */
	unsigned kinds;
	const char *what;
} site_field;

#define SF_ROW_(name, type, code, flags, max, kinds, what) \
	{ #name, type, offsetof(fic_site, name), code, flags, max, kinds, what },
static const site_field fields[] = { SITE_FIELDS(SF_ROW_) };
#undef SF_ROW_
#define NFIELDS (sizeof fields / sizeof fields[0])

static const char **text_at(const fic_site *s, const site_field *f)
{
	return (const char **)((char *)s + f->off);
}

static int *int_at(const fic_site *s, const site_field *f)
{
	return (int *)((char *)s + f->off);
}

static double *double_at(const fic_site *s, const site_field *f)
{
	return (double *)((char *)s + f->off);
}

static int64_t *i64_at(const fic_site *s, const site_field *f)
{
	return (int64_t *)((char *)s + f->off);
}

static bool is_text(sf_type t)
{
	return t == SF_TEXT || t == SF_DATE;
}

const size_t fic__site_sizes[FIC_SITE_VERSION] = { offsetof(fic_site, authority),
	                                            sizeof(fic_site) };

int fic__site_in(fic_site *out, const fic_site *given)
{
	static const fic_site init = FIC_SITE_INIT;
	*out = init;
	return fic__struct_in(out, given, fic__site_sizes, FIC_SITE_VERSION, "site");
}

/* ---- records: one allocation holding the struct and its strings ---- */

fic_site *fic__site_copy(const fic_site *src)
{
	size_t need = sizeof(fic_site) + (src->id ? strlen(src->id) + 1 : 0);
	for (size_t i = 0; i < NFIELDS; i++) {
		const char *v = is_text(fields[i].type) ? *text_at(src, &fields[i]) : NULL;
		if (v && v[0])
			need += strlen(v) + 1;
	}
	fic_site *dst = fic__malloc(need);
	if (dst == NULL)
		return NULL;
	*dst = *src;
	char *p = (char *)(dst + 1);
	if (src->id) {
		size_t n = strlen(src->id) + 1;
		memcpy(p, src->id, n);
		dst->id = p;
		p += n;
	}
	for (size_t i = 0; i < NFIELDS; i++) {
		if (!is_text(fields[i].type))
			continue;
		const char *v = *text_at(src, &fields[i]);
		*text_at(dst, &fields[i]) = NULL;
		if (v && v[0]) {
			size_t n = strlen(v) + 1;
			memcpy(p, v, n);
			*text_at(dst, &fields[i]) = p;
			p += n;
		}
	}
	return dst;
}

fic_site *fic__site_from_row(sqlite3_stmt *st)
{
	fic_site s = FIC_SITE_INIT;
	s.id = (const char *)sqlite3_column_text(st, 0);
	for (size_t i = 0; i < NFIELDS; i++) {
		const site_field *f = &fields[i];
		int col = (int)i + 1;
		switch (f->type) {
		case SF_TEXT:
		case SF_DATE: *text_at(&s, f) = (const char *)sqlite3_column_text(st, col); break;
		case SF_CODE:
		case SF_FLAG:
		case SF_COUNT: *int_at(&s, f) = sqlite3_column_int(st, col); break;
		case SF_LAT:
		case SF_LON:
			s.has_location |= sqlite3_column_type(st, col) != SQLITE_NULL;
			*double_at(&s, f) = sqlite3_column_double(st, col);
			break;
		case SF_TIME: *i64_at(&s, f) = sqlite3_column_int64(st, col); break;
		}
	}
	return fic__site_copy(&s);
}

int fic__site_bind(sqlite3_stmt *st, const fic_site *s, int first)
{
	int i = first;
	for (size_t k = 0; k < NFIELDS; k++, i++) {
		const site_field *f = &fields[k];
		switch (f->type) {
		case SF_TEXT:
		case SF_DATE: {
			const char *v = *text_at(s, f);
			if (v && v[0])
				sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
			else
				sqlite3_bind_null(st, i);
			break;
		}
		case SF_CODE:
		case SF_FLAG:
		case SF_COUNT: sqlite3_bind_int(st, i, *int_at(s, f)); break;
		case SF_LAT:
		case SF_LON:
			if (s->has_location)
				sqlite3_bind_double(st, i, *double_at(s, f));
			else
				sqlite3_bind_null(st, i);
			break;
		case SF_TIME: sqlite3_bind_int64(st, i, *i64_at(s, f)); break;
		}
	}
	return i;
}

/* ---- JSON ---- */

/* One field into `o` under its name, if recorded. */
static bool put_field(cJSON *o, const fic_site *s, const site_field *f)
{
	switch (f->type) {
	case SF_TEXT:
	case SF_DATE: {
		const char *v = *text_at(s, f);
		return !(v && v[0]) || cJSON_AddStringToObject(o, f->name, v) != NULL;
	}
	case SF_CODE: {
		int v = *int_at(s, f);
		return v == 0 || cJSON_AddStringToObject(o, f->name, fic_site_code_str(f->code, v)) != NULL;
	}
	case SF_FLAG: {
		int v = *int_at(s, f);
		return v == FIC_UNKNOWN || cJSON_AddBoolToObject(o, f->name, v) != NULL;
	}
	case SF_COUNT: {
		int v = *int_at(s, f);
		return v == FIC_UNKNOWN || cJSON_AddNumberToObject(o, f->name, v) != NULL;
	}
	case SF_LAT:
	case SF_LON:
		return !s->has_location || cJSON_AddNumberToObject(o, f->name, *double_at(s, f)) != NULL;
	case SF_TIME: {
		int64_t v = *i64_at(s, f);
		return v == 0 || cJSON_AddNumberToObject(o, f->name, (double)v) != NULL;
	}
	}
	return false;
}

cJSON *fic__site_json(const fic_site *s)
{
	cJSON *o = cJSON_CreateObject();
	bool ok = o && (!(s->id && s->id[0]) || cJSON_AddStringToObject(o, "id", s->id));
	for (size_t i = 0; ok && i < NFIELDS; i++)
		ok = put_field(o, s, &fields[i]);
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* The facts rules may read (docs/checklist-format.md), plus id, name and
 * address for titles; "supply" says which of the two water services. */
cJSON *fic__site_facts(const fic_site *s)
{
	cJSON *o = cJSON_CreateObject();
	const char *supply = s->kind == FIC_SITE_WATER_RURAL ? "rural"
	                     : s->kind == FIC_SITE_WATER_SECONDARY ? "urban" : NULL;
	bool ok = o && (!(s->id && s->id[0]) || cJSON_AddStringToObject(o, "id", s->id)) &&
	          (!supply || cJSON_AddStringToObject(o, "supply", supply));
	for (size_t i = 0; ok && i < NFIELDS; i++)
		if (fields[i].flags & (SF_FACT | SF_TITLE))
			ok = put_field(o, s, &fields[i]);
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

bool fic__site_fact_known(const char *name)
{
	if (strcmp(name, "supply") == 0)
		return true;
	for (size_t i = 0; i < NFIELDS; i++)
		if ((fields[i].flags & SF_FACT) && strcmp(fields[i].name, name) == 0)
			return true;
	return false;
}

/* ---- the county's feed ---- */

static int feed_code(const cJSON *v, const site_field *f, int *out)
{
	*out = 0;
	if (v == NULL || cJSON_IsNull(v))
		return FIC_OK;
	if (!cJSON_IsString(v))
		return fic__err(FIC_EINVAL, "%s must be a code string", f->name);
	return fic_site_code_parse(out, f->code, v->valuestring);
}

static int feed_int(const cJSON *v, const site_field *f, int *out)
{
	*out = FIC_UNKNOWN;
	if (v == NULL || cJSON_IsNull(v))
		return FIC_OK;
	if (cJSON_IsBool(v)) {
		*out = cJSON_IsTrue(v) ? 1 : 0;
		return FIC_OK;
	}
	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1e7 ||
	    v->valuedouble != (double)(int)v->valuedouble)
		return fic__err(FIC_EINVAL, "%s must be a whole number", f->name);
	*out = (int)v->valuedouble;
	return FIC_OK;
}

int fic__site_from_feed(fic_site *s, const cJSON *data, int *status)
{
	const cJSON *lat = cJSON_GetObjectItemCaseSensitive(data, "lat");
	const cJSON *lon = cJSON_GetObjectItemCaseSensitive(data, "lon");
	if (cJSON_IsNumber(lat) && cJSON_IsNumber(lon)) {
		s->has_location = 1;
		s->lat = lat->valuedouble;
		s->lon = lon->valuedouble;
	}
	int rc = FIC_OK;
	for (size_t i = 0; rc == FIC_OK && i < NFIELDS; i++) {
		const site_field *f = &fields[i];
		bool is_status = strcmp(f->name, "status") == 0;
		if (!(f->flags & SF_FEED) && !is_status)
			continue;
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(data, f->name);
		switch (f->type) {
		case SF_TEXT:
		case SF_DATE: *text_at(s, f) = cJSON_IsString(v) ? v->valuestring : NULL; break;
		case SF_CODE: rc = feed_code(v, f, is_status ? status : int_at(s, f)); break;
		case SF_FLAG:
		case SF_COUNT: rc = feed_int(v, f, int_at(s, f)); break;
		default: break; /* lat, lon: above */
		}
	}
	return rc;
}

/* ---- validation ---- */

static int check_field(const fic_site *s, const site_field *f)
{
	bool applies = f->kinds == 0 || (s->kind >= 0 && s->kind < 32 && (f->kinds & (1u << s->kind)));
	switch (f->type) {
	case SF_TEXT:
		return f->max == 0 ? FIC_OK
		                   : fic__check_text(*text_at(s, f), f->what, (size_t)f->max,
		                                     (f->flags & SF_REQUIRED) != 0, NULL);
	case SF_DATE: {
		const char *v = *text_at(s, f);
		return v && v[0] ? fic__parse_date(v, f->what, NULL) : FIC_OK;
	}
	case SF_CODE: {
		int v = *int_at(s, f);
		if (f->code == FIC_CODE_KIND)
			return fic__code_known(FIC_CODE_KIND, v)
			               ? FIC_OK
			               : fic__err(FIC_EINVAL, "site kind %d is unknown", v);
		if (v == 0)
			return FIC_OK;
		if (!applies)
			return fic__err(FIC_EINVAL, "%s does not apply to this kind of site", f->what);
		return fic__code_known(f->code, v)
		               ? FIC_OK
		               : fic__err(FIC_EINVAL, "%s has an unknown value %d", f->what, v);
	}
	case SF_FLAG:
	case SF_COUNT: {
		int v = *int_at(s, f);
		if (v == FIC_UNKNOWN)
			return FIC_OK;
		if (!applies)
			return fic__err(FIC_EINVAL, "%s does not apply to this kind of site", f->what);
		if (f->type == SF_FLAG && v != 0 && v != 1)
			return fic__err(FIC_EINVAL, "%s must be 1 (yes), 0 (no) or FIC_UNKNOWN", f->what);
		if (f->type == SF_COUNT && (v < 0 || v > f->max))
			return fic__err(FIC_EINVAL, "%s must be between 0 and %ld", f->what, f->max);
		return FIC_OK;
	}
	case SF_LAT:
	case SF_LON: {
		double v = *double_at(s, f), lim = f->type == SF_LAT ? 90 : 180;
		if (s->has_location && (!isfinite(v) || v < -lim || v > lim))
			return fic__err(FIC_EINVAL, "%s must be between -%g and %g degrees", f->what, lim,
			                lim);
		return FIC_OK;
	}
	case SF_TIME: return FIC_OK;
	}
	return FIC_OK;
}

int fic__site_check_fields(const fic_site *s)
{
	if (s->has_location != 0 && s->has_location != 1)
		return fic__err(FIC_EINVAL, "has_location must be 0 or 1");
	for (size_t i = 0; i < NFIELDS; i++) {
		if (!(fields[i].flags & (SF_FEED | SF_REQUIRED)))
			continue; /* output only: status, origin, bookkeeping */
		int rc = check_field(s, &fields[i]);
		if (rc != FIC_OK)
			return rc;
	}
	return FIC_OK;
}
