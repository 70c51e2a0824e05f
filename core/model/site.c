/*
 * core/model/site.c — the site registry (本底): validation of site facts, the three
 * field acts the guide names (add a missing site, report changed facts,
 * report a closed site — 渝卫发〔2022〕8号 附件, 服务方法 1(2)(3)), and the
 * lookups an inspector needs on the road (by id, by credit code, by the QR
 * place code at the door, by kind and name, by distance).
 *
 * Each change is one durable transaction holding the site row, an audit
 * entry and an outbox record.
 */
#include "site_fields.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int fic_site_init(fic_site *site, unsigned int version)
{
	static const fic_site init = FIC_SITE_INIT;
	return fic__init_struct(site, &init, fic__site_sizes, FIC_SITE_VERSION,
	                        version, "site");
}

/* ---- validation ---- */

static int validate_site(const fic_site *s)
{
	int rc;
	/* Callers' structs of any version come through fic__site_in, which
	 * copies them over the defaults at ours (docs/api.md, ABI rules). */
	if (s->version < 1 || s->version > FIC_SITE_VERSION)
		return fic__err(FIC_EINVAL, "site: struct version %u is not one this library reads "
		                "(1 to %u)", s->version, (unsigned)FIC_SITE_VERSION);
	if ((rc = fic__site_check_fields(s)) != FIC_OK)
		return rc;
	if (s->credit_code && s->credit_code[0] && (rc = fic_credit_code_check(s->credit_code)))
		return rc;
	if (s->place_code && s->place_code[0]) {
		char *key = NULL;
		rc = fic__place_code_key(s->place_code, &key);
		fic__free(key);
		if (rc != FIC_OK)
			return rc;
	}
	int64_t from = 0, to = 0;
	if (s->licence_valid_from && s->licence_valid_from[0] && s->licence_valid_to &&
	    s->licence_valid_to[0] &&
	    fic__parse_date(s->licence_valid_from, "licence valid from", &from) == FIC_OK &&
	    fic__parse_date(s->licence_valid_to, "licence valid to", &to) == FIC_OK && to < from)
		return fic__err(FIC_EINVAL, "licence valid-to date is before its valid-from date");
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

void fic_site_free(fic_site *site)
{
	fic__free(site);
}

/* ---- JSON ---- */

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
	FIC__OUT(out);
	FIC__ARG(site);
	fic_site in;
	int rc = fic__site_in(&in, site);
	if (rc != FIC_OK)
		return rc;
	*out = json_take(fic__site_json(&in));
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
	if (s != NULL && !attach(o, "site", fic__site_json(s))) {
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
	cJSON *a = fic__site_json(before), *b = fic__site_json(after), *d = cJSON_CreateObject();
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
		*out = fic__site_from_row(st);
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
	FIC__BEGIN(out, store);
	int rc = check_id(id);
	if (rc != FIC_OK)
		return rc;
	return fetch_one(store, out, "id = ?1", id, "id");
}

int fic_site_find_by_place_code(fic_site **out, fic_store *store, const char *payload)
{
	FIC__BEGIN(out, store);
	int rc = fic__check_text(payload, "place code", FIC_PLACE_CODE_PAYLOAD_MAX, true, NULL);
	if (rc != FIC_OK)
		return rc;
	/* By the code's key: the same code however it was spaced, any of the site's codes. */
	char *key = NULL, id[80] = "";
	if ((rc = fic__place_code_key(payload, &key)) == FIC_OK)
		rc = fic__query_text(store, id, sizeof id, "SELECT site_id FROM site_codes WHERE key = ?1",
		                     "looking up a place code", "t", key);
	fic__free(key);
	if (rc == FIC_ENOTFOUND)
		return fic__err(FIC_ENOTFOUND, "no site with that place code");
	if (rc != FIC_OK)
		return rc;
	return fetch_one(store, out, "id = ?1", id, "id");
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
static int list_push(fic_site_list *list, size_t *cap, fic_site *site)
{
	fic_site **slot = site ? FIC__GROW(list->sites, list->count, *cap) : NULL;
	if (slot == NULL) {
		fic_site_free(site);
		return fic__err(FIC_ENOMEM, "out of memory listing sites");
	}
	*slot = site;
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
		rc = list_push(list, &cap, fic__site_from_row(st));
	rc = fic__rows_end(store, st, src, rc, "listing sites");
	if (rc != FIC_OK) {
		fic_site_list_free(list);
		return rc;
	}
	*out = list;
	return FIC_OK;
}

int fic_site_find_by_credit_code(fic_site_list **out, fic_store *store, const char *credit_code)
{
	FIC__BEGIN(out, store);
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

/*
 * Search, using the indexes of 0002_scale.sql (and the bigram counts of
 * 0006_gram_counts.sql) so that the work does not grow with the registry:
 * - no name: the index (kind, name, id) or (name, id) gives the list's order,
 *   so `limit` rows are read and nothing is sorted;
 * - a name part of two characters or more: its rarest character bigram
 *   (site_gram_counts: one lookup a bigram) says which sites can hold it
 *   (site_grams). If that is at most
 *   GRAM_CANDIDATES_MAX sites, those that also hold its next two rarest
 *   bigrams are read (instr() decides, then they are sorted); if even the
 *   rarest bigram is common, so are matches, and walking the names in order
 *   finds `limit` of them early;
 * - one character: the walk in name order.
 */
#define GRAM_CANDIDATES_MAX 2000

/* Byte length of the UTF-8 character at s (s is valid UTF-8, checked). */
static size_t utf8_len(const char *s)
{
	unsigned char c = (unsigned char)s[0];
	return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

/*
 * The name part's rarest bigrams (up to GRAMS_USED, rarest first; NUL-
 * terminated) and how many sites hold the rarest (at most
 * GRAM_CANDIDATES_MAX + 1). *count = -1 when the text has one character, 0
 * when a bigram is in no name. One lookup a bigram in site_gram_counts
 * (0006_gram_counts.sql), however common it is.
 */
#define GRAMS_USED 3
static int rarest_grams(fic_store *store, const char *text, char gram[GRAMS_USED][9],
                        int64_t *count)
{
	int64_t counts[GRAMS_USED];
	for (int i = 0; i < GRAMS_USED; i++) {
		gram[i][0] = '\0';
		counts[i] = INT64_MAX;
	}
	*count = -1;
	sqlite3_stmt *st;
	int rc = fic__cached(store, &st, "SELECT n FROM site_gram_counts WHERE gram = ?1");
	if (rc != FIC_OK)
		return rc;
	for (const char *p = text; *p && p[utf8_len(p)]; p += utf8_len(p)) {
		const char *q = p + utf8_len(p);
		size_t n = (size_t)(q - p) + utf8_len(q);
		sqlite3_bind_text(st, 1, p, (int)n, SQLITE_STATIC);
		int src = sqlite3_step(st);
		int64_t c = src == SQLITE_ROW ? sqlite3_column_int64(st, 0) : src == SQLITE_DONE ? 0 : -1;
		sqlite3_reset(st);
		if (c < 0) {
			rc = fic__db_err(store, src, "searching sites");
			break;
		}
		bool seen = false;
		for (int i = 0; i < GRAMS_USED; i++)
			seen |= strlen(gram[i]) == n && memcmp(gram[i], p, n) == 0;
		/* Insert into the sorted few. */
		for (int i = 0; !seen && i < GRAMS_USED; i++) {
			if (c < counts[i]) {
				for (int j = GRAMS_USED - 1; j > i; j--) {
					counts[j] = counts[j - 1];
					memcpy(gram[j], gram[j - 1], sizeof gram[j]);
				}
				counts[i] = c;
				memcpy(gram[i], p, n);
				gram[i][n] = '\0';
				break;
			}
		}
		*count = counts[0] > GRAM_CANDIDATES_MAX ? GRAM_CANDIDATES_MAX + 1 : counts[0];
		if (c == 0)
			break; /* no site holds this bigram: none holds the text */
	}
	fic__release(store, st);
	return rc;
}

int fic_site_search(fic_site_list **out, fic_store *store, int kind, const char *name_part,
                    size_t limit)
{
	FIC__BEGIN(out, store);
	if (kind != 0 && !fic__code_known(FIC_CODE_KIND, kind))
		return fic__err(FIC_EINVAL, "site kind %d is unknown", kind);
	bool has_name = false;
	int rc = fic__check_text(name_part, "name", FIC_SITE_NAME_MAX, false, &has_name);
	if (rc != FIC_OK)
		return rc;
	char gram[GRAMS_USED][9];
	int64_t holders = -1;
	if (has_name && (rc = rarest_grams(store, name_part, gram, &holders)) != FIC_OK)
		return rc;
	/* instr(), not LIKE: a plain, case-sensitive substring match without wildcards.
	 * Separate statements per case, so each can use its index. */
	const char *sql;
	if (holders >= 0 && holders <= GRAM_CANDIDATES_MAX)
		/* The sites holding the rarest bigram that also hold the next two (probes
		 * of the same index), read and matched. CROSS JOIN keeps site_grams
		 * outside: the planner must not walk a kind's index instead. */
		sql = kind ? "SELECT " SITE_COLUMNS " FROM site_grams g CROSS JOIN sites ON sites.k = g.k "
		             "WHERE g.gram = ?4 AND (?5 IS NULL OR EXISTS (SELECT 1 FROM site_grams "
		             "WHERE gram = ?5 AND k = g.k)) AND (?6 IS NULL OR EXISTS (SELECT 1 FROM "
		             "site_grams WHERE gram = ?6 AND k = g.k)) AND kind = ?1 AND "
		             "instr(name, ?2) > 0 ORDER BY name, id LIMIT ?3"
		           : "SELECT " SITE_COLUMNS " FROM site_grams g CROSS JOIN sites ON sites.k = g.k "
		             "WHERE g.gram = ?4 AND (?5 IS NULL OR EXISTS (SELECT 1 FROM site_grams "
		             "WHERE gram = ?5 AND k = g.k)) AND (?6 IS NULL OR EXISTS (SELECT 1 FROM "
		             "site_grams WHERE gram = ?6 AND k = g.k)) AND ?1 = 0 AND "
		             "instr(name, ?2) > 0 ORDER BY name, id LIMIT ?3";
	else if (has_name)
		sql = kind ? "SELECT " SITE_COLUMNS " FROM sites WHERE kind = ?1 AND instr(name, ?2) > 0 "
		             "ORDER BY name, id LIMIT ?3"
		           : "SELECT " SITE_COLUMNS " FROM sites WHERE ?1 = 0 AND instr(name, ?2) > 0 "
		             "ORDER BY name, id LIMIT ?3";
	else
		sql = kind ? "SELECT " SITE_COLUMNS " FROM sites WHERE kind = ?1 ORDER BY name, id LIMIT ?3"
		           : "SELECT " SITE_COLUMNS " FROM sites WHERE ?1 = 0 ORDER BY name, id LIMIT ?3";
	sqlite3_stmt *st;
	if ((rc = fic__prepare(store, &st, sql)))
		return rc;
	sqlite3_bind_int(st, 1, kind);
	if (has_name)
		sqlite3_bind_text(st, 2, name_part, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, limit == 0 || limit > INT64_MAX ? -1 : (int64_t)limit);
	for (int i = 0; holders >= 0 && i < GRAMS_USED; i++)
		if (gram[i][0])
			sqlite3_bind_text(st, 4 + i, gram[i], -1, SQLITE_STATIC);
	return collect(store, st, out);
}

#define FIC_PI 3.14159265358979323846
#define EARTH_RADIUS_M 6371008.8
#define NEAR_MAX_RADIUS_M 500000.0
/* "Near" with a limit starts with this radius and doubles it until the circle
 * holds `limit` sites (or reaches the radius asked for): the work follows the
 * answer, not the registry. */
#define NEAR_FIRST_RADIUS_M 500.0

static double haversine_m(double lat1, double lon1, double lat2, double lon2)
{
	const double r = FIC_PI / 180.0;
	double dlat = (lat2 - lat1) * r, dlon = (lon2 - lon1) * r;
	double a = sin(dlat / 2) * sin(dlat / 2) +
		   cos(lat1 * r) * cos(lat2 * r) * sin(dlon / 2) * sin(dlon / 2);
	return 2 * EARTH_RADIUS_M * asin(fmin(1.0, sqrt(a)));
}

typedef struct near_hit {
	double lo, hi;   /* bounds on the distance, from the R*Tree's box */
	double distance; /* exact, once the site is read */
	int64_t k;
	fic_site *site;
} near_hit;

static int cmp_near_lo(const void *a, const void *b)
{
	const near_hit *x = a, *y = b;
	if (x->lo != y->lo)
		return (x->lo > y->lo) - (x->lo < y->lo);
	return (x->k > y->k) - (x->k < y->k);
}

static int cmp_double_asc(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static int cmp_near_hit(const void *a, const void *b)
{
	const near_hit *x = a, *y = b;
	if (x->distance != y->distance)
		return (x->distance > y->distance) - (x->distance < y->distance);
	return strcmp(x->site->id, y->site->id);
}

/*
 * Every located site that may lie within `radius_m` of (lat, lon) into
 * *hits (*n of them; the array grows as needed), with bounds on its
 * distance; *inside counts those surely within. The R*Tree holds each site as
 * a box of 32-bit floats around its exact point (a metre or so across): the
 * distance to the box's centre, plus or minus the centre-to-corner distance
 * (bounded by R·(Δlat + Δlon) in radians), brackets the exact distance.
 */
static int near_within(fic_store *store, double lat, double lon, double radius_m,
                       near_hit **hits, size_t *n, size_t *cap, size_t *inside)
{
	/*
	 * The circle's widest point east-west is where a meridian touches it, at
	 * dlon = asin(sin(r/R) / cos(lat)) (wider than r/R / cos(lat), and north
	 * of `lat` in the north). If the circle reaches a pole, every longitude;
	 * if the box crosses the antimeridian, every longitude too (latitude
	 * alone narrows the rows then).
	 */
	const double deg = 180.0 / FIC_PI;
	double ang = radius_m / EARTH_RADIUS_M;
	double dlat = ang * deg + 1e-6;
	double coslat = cos(lat / deg);
	double ratio = coslat > 0 ? sin(ang) / coslat : 2.0;
	double dlon = ratio < 1.0 ? asin(ratio) * deg + 1e-6 : 360.0;
	bool all_lon = lon - dlon < -180 || lon + dlon > 180;
	sqlite3_stmt *st;
	int rc = fic__cached(store, &st,
	                     all_lon ? "SELECT k, minlat, maxlat, minlon, maxlon FROM site_rtree "
	                               "WHERE maxlat >= ?1 AND minlat <= ?2"
	                             : "SELECT k, minlat, maxlat, minlon, maxlon FROM site_rtree "
	                               "WHERE maxlat >= ?1 AND minlat <= ?2 AND maxlon >= ?3 AND "
	                               "minlon <= ?4");
	if (rc != FIC_OK)
		return rc;
	sqlite3_bind_double(st, 1, lat - dlat);
	sqlite3_bind_double(st, 2, lat + dlat);
	if (!all_lon) {
		sqlite3_bind_double(st, 3, lon - dlon);
		sqlite3_bind_double(st, 4, lon + dlon);
	}
	*n = 0;
	*inside = 0;
	int src;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		double a = sqlite3_column_double(st, 1), b = sqlite3_column_double(st, 2);
		double c = sqlite3_column_double(st, 3), e = sqlite3_column_double(st, 4);
		double d = haversine_m(lat, lon, (a + b) / 2, (c + e) / 2);
		double err = EARTH_RADIUS_M * ((b - a) / 2 + (e - c) / 2) / deg + 1e-3;
		if (d - err > radius_m)
			continue;
		near_hit *h = FIC__GROW(*hits, *n, *cap);
		if (h == NULL) {
			rc = fic__err(FIC_ENOMEM, "out of memory listing sites");
			break;
		}
		h->lo = d - err;
		h->hi = d + err;
		h->distance = 0;
		h->k = sqlite3_column_int64(st, 0);
		h->site = NULL;
		*inside += h->hi <= radius_m;
	}
	if (rc == FIC_OK && src != SQLITE_DONE)
		rc = fic__db_err(store, src, "listing sites");
	fic__release(store, st);
	return rc;
}

int fic_site_near(fic_site_list **out, fic_store *store, double lat, double lon,
                  double radius_m, size_t limit)
{
	FIC__BEGIN(out, store);
	if (!isfinite(lat) || lat < -90 || lat > 90 || !isfinite(lon) || lon < -180 || lon > 180)
		return fic__err(FIC_EINVAL, "the point must be a latitude in -90..90 and a longitude "
		                            "in -180..180");
	if (!isfinite(radius_m) || radius_m <= 0 || radius_m > NEAR_MAX_RADIUS_M)
		return fic__err(FIC_EINVAL, "radius must be more than 0 and at most %.0f m",
		                NEAR_MAX_RADIUS_M);
	near_hit *hits = NULL;
	size_t n = 0, cap = 0, inside = 0;
	int rc = FIC_OK;
	/* With a limit: grow the circle until `limit` sites are surely in it.
	 * Every site outside it is farther than those, so the nearest `limit` are
	 * among the circle's. */
	double r = limit && radius_m > NEAR_FIRST_RADIUS_M ? NEAR_FIRST_RADIUS_M : radius_m;
	for (;;) {
		if ((rc = near_within(store, lat, lon, r, &hits, &n, &cap, &inside)) != FIC_OK)
			break;
		if (r >= radius_m || inside >= limit)
			break;
		r = r * 2 < radius_m ? r * 2 : radius_m;
	}
	/*
	 * Which sites to read: with more candidates than `limit`, the `limit`-th
	 * smallest upper bound D caps the answer — a site whose lower bound is
	 * above D has `limit` sites surely nearer — so read those with lower
	 * bound ≤ D (the answer and its near-ties), exact distances decide.
	 */
	size_t fetch = n;
	if (rc == FIC_OK && limit && n > limit) {
		double *hi = fic__malloc(n * sizeof *hi);
		if (hi == NULL) {
			rc = fic__err(FIC_ENOMEM, "out of memory listing sites");
		} else {
			for (size_t i = 0; i < n; i++)
				hi[i] = hits[i].hi;
			qsort(hi, n, sizeof *hi, cmp_double_asc);
			double cut = hi[limit - 1];
			fic__free(hi);
			qsort(hits, n, sizeof *hits, cmp_near_lo);
			for (fetch = 0; fetch < n && hits[fetch].lo <= cut; fetch++)
				;
		}
	}
	sqlite3_stmt *st = NULL;
	if (rc == FIC_OK && fetch > 0)
		rc = fic__cached(store, &st, "SELECT " SITE_COLUMNS " FROM sites WHERE k = ?1");
	size_t kept = 0;
	for (size_t i = 0; rc == FIC_OK && i < fetch; i++) {
		sqlite3_bind_int64(st, 1, hits[i].k);
		int src = sqlite3_step(st);
		if (src == SQLITE_ROW) {
			double d = haversine_m(lat, lon, sqlite3_column_double(st, 12),
			                       sqlite3_column_double(st, 13));
			if (d <= radius_m) {
				if ((hits[kept].site = fic__site_from_row(st)) == NULL)
					rc = fic__err(FIC_ENOMEM, "out of memory listing sites");
				else
					hits[kept++].distance = d;
			}
		} else {
			rc = src == SQLITE_DONE ? fic__err(FIC_ECORRUPT, "the location index names a "
			                                                 "site that does not exist")
			                        : fic__db_err(store, src, "listing sites");
		}
		sqlite3_reset(st);
	}
	fic__release(store, st);
	/* Nearest first (equal distances by id); keep at most `limit`. */
	fic_site_list *res = NULL;
	size_t keep = limit && limit < kept ? limit : kept;
	if (rc == FIC_OK) {
		if (kept > 1)
			qsort(hits, kept, sizeof *hits, cmp_near_hit);
		res = fic__calloc(1, sizeof *res);
		if (res)
			res->sites = fic__malloc((keep ? keep : 1) * sizeof *res->sites);
		if (res && res->sites)
			res->distance_m = fic__malloc((keep ? keep : 1) * sizeof *res->distance_m);
		if (res == NULL || res->distance_m == NULL)
			rc = fic__err(FIC_ENOMEM, "out of memory listing sites");
	}
	if (rc == FIC_OK) {
		for (size_t i = 0; i < keep; i++) {
			res->sites[i] = hits[i].site;
			res->distance_m[i] = hits[i].distance;
			hits[i].site = NULL;
		}
		res->count = keep;
	}
	for (size_t i = 0; i < kept; i++)
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

/* Another site already carrying this place code — as written, or by its key
 * (the same code spaced otherwise, or among another site's codes)? */
static int check_place_code_free(fic_store *store, const char *place_code, const char *self_id)
{
	if (place_code == NULL || place_code[0] == '\0')
		return FIC_OK;
	char *key = NULL, owner[80] = "";
	int krc = fic__place_code_key(place_code, &key);
	if (krc == FIC_OK) {
		krc = fic__query_text(store, owner, sizeof owner, "SELECT site_id FROM site_codes WHERE "
		                      "key = ?1", "looking up a place code", "t", key);
		if (krc == FIC_ENOTFOUND) {
			fic__err_clear();
			krc = FIC_OK;
		}
	}
	fic__free(key);
	if (krc != FIC_OK)
		return krc;
	if (owner[0] && (self_id == NULL || strcmp(owner, self_id) != 0))
		return fic__err(FIC_EEXISTS, "place code already belongs to site %s", owner);
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
	                     insert ? "INSERT INTO sites (" SITE_COLUMNS ") VALUES (" SITE_VALUES ")"
	                            : "UPDATE sites SET " SITE_ASSIGNMENTS " WHERE id = ?");
	if (rc != FIC_OK)
		return rc;
	if (insert) {
		sqlite3_bind_text(st, 1, s->id, -1, SQLITE_STATIC);
		fic__site_bind(st, s, 2);
	} else {
		sqlite3_bind_text(st, fic__site_bind(st, s, 1), s->id, -1, SQLITE_STATIC);
	}
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
		rc = fic__outbox_enqueue(store, "site", s->id, op, FIC_PRIORITY_ORDINARY, payload);
	return rc;
}

int fic_site_add(fic_site **out, fic_store *store, const fic_site *site, const char *reason)
{
	fic_site given;
	int rc = fic__site_call_start(out, store, &site, &given);
	if (rc == FIC_OK)
		rc = validate_site(site);
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
	fic_site *copy = out ? fic__site_copy(&s) : NULL;
	if (payload == NULL || (out && copy == NULL)) {
		fic__free(payload);
		fic_site_free(copy);
		return fic__err(FIC_ENOMEM, "out of memory adding a site");
	}
	if ((rc = fic__tx_begin(store)) == FIC_OK) {
		rc = check_place_code_free(store, s.place_code, NULL);
		if (rc == FIC_OK)
			rc = record_change(store, &s, true, "site.add", "add", payload, payload);
		if (rc == FIC_OK)
			rc = fic__site_primary_code(store, s.id, s.place_code, NULL);
		rc = fic__tx_end(store, rc);
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
	if (out && (copy = fic__site_copy(&s)) == NULL) {
		rc = fic__err(FIC_ENOMEM, "out of memory updating a site");
		goto done;
	}
	if ((rc = record_change(store, &s, false, "site.update", "update", detail, payload)) == FIC_OK)
		rc = fic__site_primary_code(store, s.id, s.place_code, before->place_code);
	if (rc == FIC_OK && out) {
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

/* fic_site_update and fic_site_close are in flow/registry.c: a registry change
 * the inspector makes outside an inspection files a site-status lead. */

/* ---- the county's registry, as the sync feed brings it (sync/pull.c) ---- */

/* The audit entry of a county registry change: the site's new revision. */
static int audit_revision(fic_store *store, const char *action, const char *id, int64_t revision)
{
	cJSON *d = cJSON_CreateObject();
	bool ok = d && cJSON_AddNumberToObject(d, "revision", (double)revision);
	return fic__audit_take(store, action, "site", id, d, ok);
}

/*
 * The areas the county's registry puts a site in besides its kind's (a
 * hospital's MCH services, 妇幼健康 三(一)1): `areas`, an array of area ids,
 * replaces what the registry said before; an area the device does not know
 * is passed over; a site patrolled in an area the registry drops stays there
 * as patrolled. Absent: as it was.
 */
static int registry_areas(fic_store *store, const char *id, const cJSON *areas)
{
	if (areas == NULL || cJSON_IsNull(areas))
		return FIC_OK;
	if (!cJSON_IsArray(areas) || cJSON_GetArraySize(areas) > 32)
		return fic__err(FIC_EINVAL, "a site's areas must be an array of at most 32 area ids");
	const cJSON *a;
	cJSON_ArrayForEach(a, areas) {
		if (!cJSON_IsString(a) || fic__check_text(a->valuestring, "area", 64, true, NULL) != FIC_OK)
			return fic__err(FIC_EINVAL, "a site's areas must be area ids");
	}
	int rc = fic__exec(store, "UPDATE site_areas SET via = 'patrol' WHERE site_id = ?1 AND via = "
	                          "'registry' AND last_patrol IS NOT NULL",
	                   "placing the site in its areas", "t", id);
	if (rc == FIC_OK)
		rc = fic__exec(store, "DELETE FROM site_areas WHERE site_id = ?1 AND via = 'registry'",
		               "placing the site in its areas", "t", id);
	cJSON_ArrayForEach(a, areas) {
		if (rc != FIC_OK)
			break;
		rc = fic__exec(store, "INSERT INTO site_areas (k, area, site_id, name, kind, open, via, "
		                      "per_year, last_patrol) SELECT s.k, pa.area, s.id, s.name, s.kind, "
		                      "s.status != 2, 'registry', coalesce((SELECT per_year FROM area_kinds "
		                      "WHERE area = pa.area AND kind = s.kind), pa.per_year), (SELECT "
		                      "max(i.inspection_date) FROM inspections i WHERE i.site_id = s.id AND "
		                      "i.state = 'finished' AND i.area = pa.area) FROM sites s JOIN "
		                      "patrol_areas pa ON pa.area = ?2 WHERE s.id = ?1 "
		                      "ON CONFLICT (k, area) DO NOTHING",
		               "placing the site in its areas", "tt", id, a->valuestring);
	}
	if (rc == FIC_OK)
		rc = fic__exec(store, "UPDATE site_areas SET patrol_year = substr(last_patrol, 1, 4), "
		                      "patrols_in_year = (SELECT count(*) FROM inspections i WHERE "
		                      "i.site_id = site_areas.site_id AND i.state = 'finished' AND i.area = "
		                      "site_areas.area AND i.inspection_date BETWEEN substr(site_areas."
		                      "last_patrol, 1, 4) || '-01-01' AND substr(site_areas.last_patrol, 1, "
		                      "4) || '-12-31') WHERE site_id = ?1 AND last_patrol IS NOT NULL AND "
		                      "patrol_year IS NULL",
		               "placing the site in its areas", "t", id);
	return rc;
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
	 * server received after the county made it (both are the server's clock).
	 * Acknowledged rows pruned after the retention leave their latest receipt
	 * time in outbox_pruned (sync/queue.c). */
	if (changed_at_ms > 0) {
		if ((rc = fic__cached(store, &st, "SELECT max(coalesce((SELECT max(received_at_ms) FROM "
		                                  "outbox WHERE record_type = 'site' AND record_id = ?1 AND "
		                                  "state = 'acked'), 0), coalesce((SELECT received_at_ms "
		                                  "FROM outbox_pruned WHERE record_type = 'site' AND "
		                                  "record_id = ?1), 0))")) != FIC_OK)
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
	int status = 0;
	if ((rc = fic__site_from_feed(&n, data, &status)) == FIC_OK)
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
		rc = fic__site_primary_code(store, id, n.place_code, before ? before->place_code : NULL);
	if (rc == FIC_OK)
		rc = registry_areas(store, id, cJSON_GetObjectItemCaseSensitive(data, "areas"));
	/* The colour the county publishes for a water supply (seed 000: blue 合格, red 不合格). */
	const char *colour = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(data, "water_status"));
	if (rc == FIC_OK && colour && (strcmp(colour, "blue") == 0 || strcmp(colour, "red") == 0))
		rc = fic__exec(store, "INSERT INTO water_status (site_id, published, published_at_ms, "
		                      "updated_at_ms) VALUES (?1, ?2, ?3, ?3) ON CONFLICT (site_id) DO "
		                      "UPDATE SET published = excluded.published, published_at_ms = "
		                      "excluded.published_at_ms",
		               "keeping the published water status", "tti", id, colour, now);
	if (rc == FIC_OK)
		rc = audit_revision(store, "site.registry", id, n.revision);
	fic_site_free(before);
	return rc;
}
