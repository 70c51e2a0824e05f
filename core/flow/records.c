/*
 * core/flow/records.c — the records a co-inspector keeps besides patrols
 * (records.h): publicity, training and cases assisted (indicators 一(三)3
 * and 4), water samples and their laboratory results (饮用水 二), notices
 * to the competent authority (饮用水/学校卫生 三(二)3), and each water
 * supply's latest verdict for the public display (seed 000).
 */
#include "flow.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Queue `rec` (built by the caller, freed here) as record `type` and audit `action`. */
static int record_out(fic_store *store, const char *type, const char *id, const char *action,
                      cJSON *rec, bool built)
{
	char *text = built && rec ? cJSON_PrintUnformatted(rec) : NULL;
	cJSON_Delete(rec);
	int rc = text ? fic__outbox_enqueue(store, type, id, "add", FIC_PRIORITY_ORDINARY, text)
	              : fic__err(FIC_ENOMEM, "out of memory recording a %s", type);
	cJSON_free(text);
	if (rc == FIC_OK) {
		cJSON *d = cJSON_CreateObject();
		rc = fic__audit_take(store, action, type, id, d, d != NULL);
	}
	return rc;
}

/* A row's columns as a JSON object: text and numbers as they are, NULL left out. */
static cJSON *row_json(sqlite3_stmt *st)
{
	cJSON *o = cJSON_CreateObject();
	bool ok = o != NULL;
	for (int i = 0; ok && i < sqlite3_column_count(st); i++) {
		const char *k = sqlite3_column_name(st, i);
		switch (sqlite3_column_type(st, i)) {
		case SQLITE_NULL: break;
		case SQLITE_INTEGER:
			ok = cJSON_AddNumberToObject(o, k, (double)sqlite3_column_int64(st, i)) != NULL;
			break;
		case SQLITE_FLOAT: ok = cJSON_AddNumberToObject(o, k, sqlite3_column_double(st, i)) != NULL; break;
		default: ok = cJSON_AddStringToObject(o, k, (const char *)sqlite3_column_text(st, i)) != NULL;
		}
	}
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* Every row of a prepared statement as a JSON array into *out. */
static int rows_json(fic_store *store, sqlite3_stmt *st, char **out, const char *doing)
{
	cJSON *a = cJSON_CreateArray();
	bool ok = a != NULL;
	int src, rc = FIC_OK;
	while (ok && (src = sqlite3_step(st)) == SQLITE_ROW)
		ok = fic__json_put(a, NULL, row_json(st));
	if (ok && src != SQLITE_DONE)
		rc = fic__db_err(store, src, doing);
	sqlite3_finalize(st);
	return fic__json_out(out, a, ok, rc);
}

/* A site that exists (for records about it). */
static int site_exists(fic_store *store, const char *site_id)
{
	int64_t n = 0;
	int rc = fic__query_int(store, &n, "SELECT count(*) FROM sites WHERE id = ?1", "reading a site",
	                        "t", site_id);
	return rc == FIC_OK && n == 0 ? fic__err(FIC_ENOTFOUND, "no site %s", site_id) : rc;
}

/* ---- activities ---- */

static bool known(const char *v, const char *const *list)
{
	for (const char *const *p = list; *p; p++)
		if (strcmp(*p, v) == 0)
			return true;
	return false;
}

static const char *const activity_kinds[] = { "", "publicity", "training", "case" };

int fic_activity_add(char *id_out, fic_store *store, const fic_activity *a)
{
	fic__err_clear();
	FIC__ARG(id_out);
	id_out[0] = '\0';
	FIC__ARG(store);
	FIC__ARG(a);
	if (a->version != FIC_ACTIVITY_VERSION)
		return fic__err(FIC_EINVAL, "activity: unknown struct version %u", a->version);
	if (a->kind < FIC_ACTIVITY_PUBLICITY || a->kind > FIC_ACTIVITY_CASE)
		return fic__err(FIC_EINVAL, "activity: kind must be a fic_activity_kind");
	struct { const char *v, *what; size_t max; bool required; } t[] = {
		{ a->date, "date", 10, true },        { a->topic, "topic", FIC_ACTIVITY_TEXT_MAX, true },
		{ a->place, "place", FIC_ACTIVITY_TEXT_MAX, false },
		{ a->audience, "audience", FIC_ACTIVITY_TEXT_MAX, false },
		{ a->channel, "channel", 32, false }, { a->format, "format", FIC_ACTIVITY_TEXT_MAX, false },
		{ a->case_ref, "case number", 100, a->kind == FIC_ACTIVITY_CASE },
		{ a->site_id, "site id", FIC_ID_MAX, false }, { a->note, "note", 2000, false },
		{ a->area, "area", 64, false },
	};
	int rc = FIC_OK;
	for (size_t i = 0; rc == FIC_OK && i < sizeof t / sizeof t[0]; i++)
		rc = fic__check_text(t[i].v, t[i].what, t[i].max, t[i].required, NULL);
	if (rc != FIC_OK)
		return rc;
	int64_t day = 0, today = fic__local_day(store, fic__now_ms(store));
	if ((rc = fic__parse_date(a->date, "activity date", &day)) != FIC_OK)
		return rc;
	if (day > today)
		return fic__err(FIC_EINVAL, "an activity is recorded once it has happened: %s is after today",
		                a->date);
	static const char *const channels[] = { "organs", "communities", "villages", "schools",
		                                "enterprises", NULL };
	if (a->channel && a->channel[0] && !known(a->channel, channels))
		return fic__err(FIC_EINVAL, "channel is one of 普法五进: organs, communities, villages, "
		                            "schools, enterprises");
	static const char *const areas[] = { "foodborne", "drinking_water", "school", "medical_blood",
		                             "mch", "occupational", "general", NULL };
	const char *area = a->area && a->area[0] ? a->area : "general";
	if (!known(area, areas) && strncmp(area, "other", 5) != 0)
		return fic__err(FIC_EINVAL, "unknown area '%.64s'", area);
	if (a->people < -1 || a->people > 10000000)
		return fic__err(FIC_EINVAL, "people is a count, or FIC_UNKNOWN");
	bool has_site = a->site_id && a->site_id[0];
	char id[FIC_UUID_BUFSIZE];
	if ((rc = fic__uuid7(store, id)) != FIC_OK || (rc = fic__tx_begin(store)) != FIC_OK)
		return rc;
	if (has_site)
		rc = site_exists(store, a->site_id);
	sqlite3_stmt *st;
	if (rc == FIC_OK &&
	    (rc = fic__prepare(store, &st, "INSERT INTO activities (id, kind, area, activity_date, "
	                                   "topic, place, audience, people, channel, format, case_ref, "
	                                   "site_id, note, inspector, created_at_ms) VALUES (?1, ?2, ?3, "
	                                   "?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)")) ==
	            FIC_OK) {
		const char *v[] = { id, activity_kinds[a->kind], area, a->date, a->topic, a->place,
			            a->audience };
		for (int i = 0; i < 7; i++)
			if (v[i] && v[i][0])
				sqlite3_bind_text(st, i + 1, v[i], -1, SQLITE_STATIC);
		if (a->people >= 0)
			sqlite3_bind_int(st, 8, a->people);
		const char *w[] = { a->channel, a->format, a->case_ref, a->site_id, a->note, store->actor };
		for (int i = 0; i < 6; i++)
			if (w[i] && w[i][0])
				sqlite3_bind_text(st, i + 9, w[i], -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 15, fic__now_ms(store));
		int src = sqlite3_step(st);
		sqlite3_finalize(st);
		rc = src == SQLITE_DONE ? FIC_OK : fic__db_err(store, src, "recording an activity");
	}
	if (rc == FIC_OK && (rc = fic__prepare(store, &st, "SELECT * FROM activities WHERE id = ?1")) ==
	                            FIC_OK) {
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		cJSON *rec = sqlite3_step(st) == SQLITE_ROW ? row_json(st) : NULL;
		sqlite3_finalize(st);
		rc = record_out(store, "activity", id, "activity.add", rec, rec != NULL);
	}
	if ((rc = fic__tx_end(store, rc)) == FIC_OK)
		memcpy(id_out, id, FIC_UUID_BUFSIZE);
	return rc;
}

/* Local 1 January of `year` as YYYY-01-01 and the next year's. */
static int year_bounds(fic_store *store, int year, char y0[16], char y1[16])
{
	if (year != 0 && (year < 2000 || year > 2998))
		return fic__err(FIC_EINVAL, "year must be 2000..2998, or 0 for this year");
	if (year == 0) {
		char t[11];
		fic__days_format(fic__local_day(store, fic__now_ms(store)), t);
		year = atoi(t);
	}
	snprintf(y0, 16, "%04d-01-01", year % 10000);
	snprintf(y1, 16, "%04d-01-01", (year + 1) % 10000);
	return FIC_OK;
}

int fic_activity_list_json(char **out, fic_store *store, int year, int kind)
{
	FIC__BEGIN(out, store);
	if (kind < 0 || kind > FIC_ACTIVITY_CASE)
		return fic__err(FIC_EINVAL, "kind must be 0 (all) or a fic_activity_kind");
	char y0[16], y1[16];
	int rc = year_bounds(store, year, y0, y1);
	sqlite3_stmt *st;
	if (rc != FIC_OK ||
	    (rc = fic__prepare(store, &st,
	                       "SELECT a.id, a.kind, a.area, a.activity_date AS date, a.topic, a.place, "
	                       "a.audience, a.people, a.channel, a.format, a.case_ref, a.site_id, a.note, "
	                       "a.inspector, (SELECT count(*) FROM photos p WHERE p.owner_type = "
	                       "'activity' AND p.owner_id = a.id) AS photos FROM activities a WHERE "
	                       "a.activity_date >= ?1 AND a.activity_date < ?2 AND (?3 = '' OR a.kind "
	                       "= ?3) ORDER BY a.activity_date DESC, a.id")) != FIC_OK)
		return rc;
	sqlite3_bind_text(st, 1, y0, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, y1, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, activity_kinds[kind], -1, SQLITE_STATIC);
	return rows_json(store, st, out, "listing activities");
}

/* ---- water samples ---- */

int fic__water_verdict(fic_store *store, const char *site_id, bool passed, const char *source,
                       const char *tested_on, const char *ref_id)
{
	/* The latest test decides: an older one does not replace a newer verdict. */
	return fic__exec(store, "INSERT INTO water_status (site_id, verdict, source, tested_on, "
	                        "ref_id, updated_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT "
	                        "(site_id) DO UPDATE SET verdict = excluded.verdict, source = "
	                        "excluded.source, tested_on = excluded.tested_on, ref_id = "
	                        "excluded.ref_id, updated_at_ms = excluded.updated_at_ms WHERE "
	                        "water_status.tested_on IS NULL OR water_status.tested_on <= "
	                        "excluded.tested_on",
	                 "keeping the water verdict", "ttttti", site_id, passed ? "pass" : "fail",
	                 source, tested_on, ref_id, fic__now_ms(store));
}

int fic_sample_add(char *id_out, fic_store *store, const fic_sample *s)
{
	fic__err_clear();
	FIC__ARG(id_out);
	id_out[0] = '\0';
	FIC__ARG(store);
	FIC__ARG(s);
	if (s->version != FIC_SAMPLE_VERSION)
		return fic__err(FIC_EINVAL, "sample: unknown struct version %u", s->version);
	int rc = fic__check_id(s->sample_no, "sample number");
	if (rc == FIC_OK)
		rc = fic__check_text(s->site_id, "site id", FIC_ID_MAX, true, NULL);
	if (rc == FIC_OK)
		rc = fic__check_text(s->point, "sampling point", 200, true, NULL);
	if (rc == FIC_OK)
		rc = fic__check_text(s->taken_by, "taken by", 100, false, NULL);
	if (rc == FIC_OK)
		rc = fic__check_text(s->received_by, "received by", 200, true, NULL);
	if (rc == FIC_OK)
		rc = fic__check_text(s->note, "note", 2000, false, NULL);
	if (rc != FIC_OK)
		return rc;
	int64_t now = fic__now_ms(store), taken = s->taken_at_ms ? s->taken_at_ms : now;
	if (taken > now + 5 * 60000 || taken < 946684800000LL)
		return fic__err(FIC_EINVAL, "taken_at_ms must be a past time");
	const char *by = s->taken_by && s->taken_by[0] ? s->taken_by : store->actor;
	char id[FIC_UUID_BUFSIZE];
	if ((rc = fic__uuid7(store, id)) != FIC_OK || (rc = fic__tx_begin(store)) != FIC_OK)
		return rc;
	rc = site_exists(store, s->site_id);
	int64_t used = 0;
	if (rc == FIC_OK)
		rc = fic__query_int(store, &used, "SELECT count(*) FROM samples WHERE sample_no = ?1",
		                    "reading samples", "t", s->sample_no);
	if (rc == FIC_OK && used)
		rc = fic__err(FIC_EEXISTS, "sample %s is already recorded", s->sample_no);
	if (rc == FIC_OK)
		rc = fic__exec(store, "INSERT INTO samples (id, sample_no, site_id, point, taken_at_ms, "
		                      "taken_by, received_by, note, created_at_ms) VALUES (?1, ?2, ?3, ?4, "
		                      "?5, ?6, ?7, ?8, ?9)",
		               "recording a sample", "ttttittti", id, s->sample_no, s->site_id, s->point,
		               taken, by ? by : "unknown", s->received_by,
		               s->note && s->note[0] ? s->note : NULL, now);
	sqlite3_stmt *st;
	if (rc == FIC_OK && (rc = fic__prepare(store, &st, "SELECT * FROM samples WHERE id = ?1")) ==
	                            FIC_OK) {
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		cJSON *rec = sqlite3_step(st) == SQLITE_ROW ? row_json(st) : NULL;
		sqlite3_finalize(st);
		rc = record_out(store, "sample", id, "sample.add", rec, rec != NULL);
	}
	if ((rc = fic__tx_end(store, rc)) == FIC_OK)
		memcpy(id_out, id, FIC_UUID_BUFSIZE);
	return rc;
}

int fic__sample_result_tx(fic_store *store, const char *sample_no, bool passed,
                          const char *reported_on, const char *detail)
{
	int rc = fic__check_id(sample_no, "sample number");
	if (rc == FIC_OK)
		rc = fic__check_text(reported_on, "report date", 10, true, NULL);
	if (rc == FIC_OK)
		rc = fic__parse_date(reported_on, "report date", NULL);
	if (rc == FIC_OK)
		rc = fic__check_text(detail, "result", 2000, false, NULL);
	if (rc != FIC_OK)
		return rc;
	char site[80] = "", id[80] = "";
	rc = fic__query_text(store, site, sizeof site, "SELECT site_id FROM samples WHERE sample_no = ?1",
	                     "reading a sample", "t", sample_no);
	if (rc == FIC_OK)
		rc = fic__query_text(store, id, sizeof id, "SELECT id FROM samples WHERE sample_no = ?1",
		                     "reading a sample", "t", sample_no);
	if (rc == FIC_ENOTFOUND)
		return fic__err(FIC_ENOTFOUND, "no sample %s", sample_no);
	if (rc == FIC_OK)
		rc = fic__exec(store, "UPDATE samples SET result = ?2, result_on = ?3, result_detail = ?4, "
		                      "result_at_ms = ?5 WHERE sample_no = ?1",
		               "recording a laboratory result", "tttti", sample_no,
		               passed ? "pass" : "fail", reported_on,
		               detail && detail[0] ? detail : NULL, fic__now_ms(store));
	if (rc == FIC_OK)
		rc = fic__water_verdict(store, site, passed, "lab", reported_on, id);
	if (rc == FIC_OK) {
		cJSON *d = cJSON_CreateObject();
		bool ok = d && cJSON_AddStringToObject(d, "sample_no", sample_no) &&
		          cJSON_AddStringToObject(d, "result", passed ? "pass" : "fail");
		rc = fic__audit_take(store, "sample.result", "sample", id, d, ok);
	}
	return rc;
}

int fic_sample_result_set(fic_store *store, const char *sample_no, int passed,
                          const char *reported_on, const char *detail)
{
	fic__err_clear();
	FIC__ARG(store);
	if (passed != 0 && passed != 1)
		return fic__err(FIC_EINVAL, "passed is 1 or 0");
	int rc = fic__tx_begin(store);
	if (rc != FIC_OK)
		return rc;
	return fic__tx_end(store, fic__sample_result_tx(store, sample_no, passed, reported_on, detail));
}

int fic_sample_list_json(char **out, fic_store *store, const char *site_id)
{
	FIC__BEGIN(out, store);
	bool has_site = false;
	int rc = fic__check_text(site_id, "site id", FIC_ID_MAX, false, &has_site);
	sqlite3_stmt *st;
	if (rc != FIC_OK ||
	    (rc = fic__prepare(store, &st,
	                       "SELECT x.id, x.sample_no, x.site_id, s.name AS site_name, x.point, "
	                       "x.taken_at_ms, x.taken_by, x.received_by, x.note, x.result, x.result_on, "
	                       "x.result_detail FROM samples x JOIN sites s ON s.id = x.site_id WHERE "
	                       "?1 IS NULL OR x.site_id = ?1 ORDER BY x.taken_at_ms DESC, x.id")) != FIC_OK)
		return rc;
	if (has_site)
		sqlite3_bind_text(st, 1, site_id, -1, SQLITE_STATIC);
	return rows_json(store, st, out, "listing samples");
}

/* ---- the competent authority ---- */

int fic_authority_notice_add(char *id_out, fic_store *store, const char *site_id, int reason,
                             const char *authority, const char *method, const char *note)
{
	fic__err_clear();
	FIC__ARG(id_out);
	id_out[0] = '\0';
	FIC__ARG(store);
	bool has_auth = false, has_note = false;
	int rc = fic__check_text(site_id, "site id", FIC_ID_MAX, true, NULL);
	if (rc == FIC_OK)
		rc = fic__check_text(authority, "authority", FIC_SITE_SHORT_MAX, false, &has_auth);
	if (rc == FIC_OK)
		rc = fic__check_text(method, "method", 16, true, NULL);
	if (rc == FIC_OK)
		rc = fic__check_text(note, "note", 2000, false, &has_note);
	if (rc != FIC_OK)
		return rc;
	static const char *const reasons[] = { "", "new_site", "changed", "abnormal" };
	static const char *const methods[] = { "phone", "letter", "in_person", "online", NULL };
	if (reason < FIC_NOTICE_NEW_SITE || reason > FIC_NOTICE_ABNORMAL)
		return fic__err(FIC_EINVAL, "reason must be a fic_notice_reason");
	if (!known(method, methods))
		return fic__err(FIC_EINVAL, "method is phone, letter, in_person or online");
	fic_site *s = NULL;
	if ((rc = fic_site_get(&s, store, site_id)) != FIC_OK)
		return rc;
	const char *who = has_auth ? authority : s->authority;
	char whom[FIC_SITE_SHORT_MAX + 1] = "";
	if (who)
		snprintf(whom, sizeof whom, "%s", who);
	int64_t revision = s->revision;
	fic_site_free(s);
	if (whom[0] == '\0')
		return fic__err(FIC_EINVAL, "site %s has no competent authority on record: give it", site_id);
	char id[FIC_UUID_BUFSIZE];
	if ((rc = fic__uuid7(store, id)) != FIC_OK || (rc = fic__tx_begin(store)) != FIC_OK)
		return rc;
	int64_t now = fic__now_ms(store);
	rc = fic__exec(store, "INSERT INTO authority_notices (id, site_id, authority, reason, method, "
	                      "noticed_at_ms, site_revision, note, inspector, created_at_ms) VALUES "
	                      "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	               "recording a notice", "tttttiitti", id, site_id, whom, reasons[reason], method,
	               now, revision, has_note ? note : NULL, store->actor, now);
	sqlite3_stmt *st;
	if (rc == FIC_OK && (rc = fic__prepare(store, &st, "SELECT * FROM authority_notices WHERE "
	                                                   "id = ?1")) == FIC_OK) {
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		cJSON *rec = sqlite3_step(st) == SQLITE_ROW ? row_json(st) : NULL;
		sqlite3_finalize(st);
		rc = record_out(store, "notice", id, "notice.add", rec, rec != NULL);
	}
	if ((rc = fic__tx_end(store, rc)) == FIC_OK)
		memcpy(id_out, id, FIC_UUID_BUFSIZE);
	return rc;
}

int fic_authority_notices_due_json(char **out, fic_store *store)
{
	FIC__BEGIN(out, store);
	sqlite3_stmt *st;
	int rc = fic__prepare(store, &st,
	                      "SELECT s.id AS site_id, s.name, CASE s.kind WHEN 1 THEN 'water_rural' "
	                      "WHEN 2 THEN 'water_secondary' ELSE 'school' END AS kind, s.authority, "
	                      "CASE WHEN s.origin = 2 AND NOT EXISTS (SELECT 1 FROM authority_notices n "
	                      "WHERE n.site_id = s.id) THEN 'new_site' ELSE 'changed' END AS reason "
	                      "FROM sites s WHERE s.kind IN (1, 2, 3) AND s.status != 2 AND "
	                      "(s.origin = 2 OR s.status = 3) AND NOT EXISTS (SELECT 1 FROM "
	                      "authority_notices n WHERE n.site_id = s.id AND n.site_revision >= "
	                      "s.revision) ORDER BY s.name, s.id");
	if (rc != FIC_OK)
		return rc;
	return rows_json(store, st, out, "listing notices due");
}

/* ---- the public water status ---- */

int fic__water_status_from_test(fic_store *store, const char *site_id, const char *inspection_id,
                                const char *date, bool failed, bool *flagged)
{
	*flagged = false;
	int rc = fic__water_verdict(store, site_id, !failed, "field_test", date, inspection_id);
	int64_t blue = 0;
	if (rc == FIC_OK && failed)
		rc = fic__query_int(store, &blue, "SELECT count(*) FROM water_status WHERE site_id = ?1 "
		                                  "AND published = 'blue'",
		                    "reading the water status", "t", site_id);
	*flagged = blue > 0;
	return rc;
}

int fic_water_status_json(char **out, fic_store *store)
{
	FIC__BEGIN(out, store);
	sqlite3_stmt *st;
	int rc = fic__prepare(store, &st,
	                      "SELECT w.site_id, s.name, CASE s.kind WHEN 1 THEN 'water_rural' WHEN 2 "
	                      "THEN 'water_secondary' ELSE 'school' END AS kind, w.verdict, CASE "
	                      "w.verdict WHEN 'pass' THEN 'blue' WHEN 'fail' THEN 'red' END AS colour, "
	                      "w.source, w.tested_on, w.published, (w.published = 'blue' AND w.verdict = "
	                      "'fail') AS flagged FROM water_status w JOIN sites s ON s.id = w.site_id "
	                      "WHERE s.status != 2 ORDER BY flagged DESC, s.name, w.site_id");
	if (rc != FIC_OK)
		return rc;
	char *text = NULL;
	if ((rc = rows_json(store, st, &text, "listing the water status")) != FIC_OK)
		return rc;
	/* flagged as a boolean */
	cJSON *a = cJSON_Parse(text);
	fic_free(text);
	cJSON *e;
	bool ok = a != NULL;
	cJSON_ArrayForEach(e, a) {
		bool f = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(e, "flagged")) == 1;
		cJSON_DeleteItemFromObjectCaseSensitive(e, "flagged");
		ok = ok && cJSON_AddBoolToObject(e, "flagged", f) != NULL;
	}
	return fic__json_out(out, a, ok, FIC_OK);
}
