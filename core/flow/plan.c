/*
 * core/flow/plan.c — planning and indicators: the due list (at least two
 * patrols a year per service area, 实施方案 一(三)2; schools within the first
 * month of each semester, 学校卫生 三(一)2), re-inspection tasks, and the
 * information report rate (实施方案 一(三)1).
 */
#include "flow.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 实施方案 一(三)2: 各专业实地巡查次数不少于2次/年 — the default; the county's
 * patrol plan may set its own per area and kind (0004_year.sql, patrol_areas
 * and area_kinds). */
#define PATROLS_PER_YEAR 2

/* ---- tasks ---- */

int fic__task_add(fic_store *store, const char *kind, const char *site_id, const char *lead_id,
                  const char *source, const char *due_date, const char *detail)
{
	char id[FIC_UUID_BUFSIZE];
	int rc = fic__uuid7(store, id);
	if (rc != FIC_OK)
		return rc;
	sqlite3_stmt *st;
	if ((rc = fic__prepare(store, &st, "INSERT INTO tasks (id, kind, site_id, lead_id, source, "
	                                   "due_date, detail, created_at_ms) VALUES (?1, ?2, ?3, ?4, "
	                                   "?5, ?6, ?7, ?8)")) != FIC_OK)
		return rc;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
	if (site_id)
		sqlite3_bind_text(st, 3, site_id, -1, SQLITE_STATIC);
	if (lead_id)
		sqlite3_bind_text(st, 4, lead_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, source, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, due_date, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, detail, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, fic__now_ms(store));
	int src = sqlite3_step(st);
	sqlite3_finalize(st);
	if (src != SQLITE_DONE)
		return fic__db_err(store, src, "saving a task");
	cJSON *d = cJSON_CreateObject();
	bool ok = d && cJSON_AddStringToObject(d, "kind", kind) &&
	          cJSON_AddStringToObject(d, "source", source) &&
	          cJSON_AddStringToObject(d, "due", due_date);
	return fic__audit_take(store, "task.add", "task", id, d, ok);
}

int fic_task_list_json(char **out, fic_store *store)
{
	FIC__BEGIN(out, store);
	char today[11];
	fic__days_format(fic__local_day(store, fic__now_ms(store)), today);
	sqlite3_stmt *st;
	int rc = fic__prepare(store, &st,
	                      "SELECT t.id, t.kind, t.source, t.due_date, t.site_id, t.lead_id, "
	                      "t.detail, s.name FROM tasks t LEFT JOIN sites s ON s.id = t.site_id "
	                      "WHERE t.state = 'open' ORDER BY t.due_date, t.id");
	if (rc != FIC_OK)
		return rc;
	cJSON *arr = cJSON_CreateArray();
	int src = SQLITE_DONE;
	bool ok = arr != NULL;
	while (ok && (src = sqlite3_step(st)) == SQLITE_ROW) {
		cJSON *o = cJSON_CreateObject();
		ok = o && cJSON_AddItemToArray(arr, o);
		if (!ok) {
			cJSON_Delete(o);
			break;
		}
		static const char *const keys[] = { "id", "kind", "source", "due_date", "site_id",
			                            "lead_id", "detail", "site_name" };
		for (int i = 0; ok && i < 8; i++) {
			const char *v = (const char *)sqlite3_column_text(st, i);
			ok = v == NULL || cJSON_AddStringToObject(o, keys[i], v);
		}
		const char *due = (const char *)sqlite3_column_text(st, 3);
		ok = ok && cJSON_AddBoolToObject(o, "overdue", due && strcmp(due, today) < 0);
	}
	if (ok && src != SQLITE_DONE)
		rc = fic__db_err(store, src, "listing tasks");
	sqlite3_finalize(st);
	return fic__json_out(out, arr, ok, rc);
}

/* The task as the county is told of it (outbox record "task"). */
static int task_enqueue(fic_store *store, const char *task_id)
{
	sqlite3_stmt *st;
	int rc = fic__row_by_key(store, &st,
	                         "SELECT id, kind, source, state, site_id, lead_id, due_date, "
	                         "done_inspection_id, result, done_at_ms FROM tasks WHERE id = ?1",
	                         task_id, "task");
	if (rc != FIC_OK)
		return rc;
	static const char *const keys[] = { "id", "kind", "source", "state", "site_id", "lead_id",
		                            "due_date", "inspection_id", "result" };
	cJSON *o = cJSON_CreateObject();
	bool ok = o != NULL;
	for (int i = 0; ok && i < 9; i++) {
		const char *v = (const char *)sqlite3_column_text(st, i);
		ok = v == NULL || cJSON_AddStringToObject(o, keys[i], v);
	}
	ok = ok && (sqlite3_column_type(st, 9) == SQLITE_NULL ||
	            cJSON_AddNumberToObject(o, "done_at_ms", (double)sqlite3_column_int64(st, 9)));
	sqlite3_finalize(st);
	char *text = ok ? cJSON_PrintUnformatted(o) : NULL;
	cJSON_Delete(o);
	if (text == NULL)
		return fic__err(FIC_ENOMEM, "out of memory recording a task");
	rc = fic__outbox_enqueue(store, "task", task_id, "complete", FIC_PRIORITY_ORDINARY, text);
	cJSON_free(text);
	return rc;
}

/* Mark one open task done, inside the caller's transaction. */
static int task_done(fic_store *store, const char *task_id, const char *inspection_id,
                     const char *note)
{
	int rc = fic__exec(store, "UPDATE tasks SET state = 'done', done_at_ms = ?2, "
	                          "done_inspection_id = ?3, result = ?4 WHERE id = ?1 AND state = 'open'",
	                   "completing a task", "titt", task_id, fic__now_ms(store), inspection_id,
	                   note && note[0] ? note : NULL);
	if (rc != FIC_OK)
		return rc;
	if (sqlite3_changes(store->db) != 1)
		return fic__err(FIC_ESTATE, "task %s is not open", task_id);
	cJSON *d = cJSON_CreateObject();
	bool ok = d && (inspection_id == NULL ||
	                cJSON_AddStringToObject(d, "inspection", inspection_id) != NULL);
	if ((rc = fic__audit_take(store, "task.done", "task", task_id, d, ok)) != FIC_OK)
		return rc;
	return task_enqueue(store, task_id);
}

int fic__tasks_complete_by(fic_store *store, const char *inspection_id, const char *site_id,
                           const char *checklist_id, const char *original_lead)
{
	if (strcmp(checklist_id, "medical.reinspection") != 0)
		return FIC_OK;
	bool named = original_lead && original_lead[0];
	sqlite3_stmt *st;
	int rc = fic__prepare(store, &st,
	                      named ? "SELECT id FROM tasks WHERE state = 'open' AND (id = ?2 OR "
	                              "lead_id = ?2) ORDER BY due_date, id"
	                            : "SELECT id FROM tasks WHERE state = 'open' AND site_id = ?1 "
	                              "AND kind = 'reinspection' ORDER BY due_date, id");
	if (rc != FIC_OK)
		return rc;
	sqlite3_bind_text(st, 1, site_id, -1, SQLITE_STATIC);
	if (named)
		sqlite3_bind_text(st, 2, original_lead, -1, SQLITE_STATIC);
	/* Collect first: completing writes to the table being read. */
	char ids[16][FIC_UUID_BUFSIZE + 32];
	int n = 0, src;
	while (n < 16 && (src = sqlite3_step(st)) == SQLITE_ROW)
		snprintf(ids[n++], sizeof ids[0], "%s", (const char *)sqlite3_column_text(st, 0));
	if (n < 16 && src != SQLITE_DONE)
		rc = fic__db_err(store, src, "finding the inspection's tasks");
	sqlite3_finalize(st);
	for (int i = 0; rc == FIC_OK && i < n; i++)
		rc = task_done(store, ids[i], inspection_id, NULL);
	return rc;
}

int fic_task_complete(fic_store *store, const char *task_id, const char *inspection_id,
                      const char *note)
{
	fic__err_clear();
	FIC__ARG(store);
	bool has_insp = false, has_note = false;
	int rc = fic__check_text(task_id, "task id", FIC_ID_MAX, true, NULL);
	if (rc == FIC_OK)
		rc = fic__check_text(inspection_id, "inspection id", FIC_ID_MAX, false, &has_insp);
	if (rc == FIC_OK)
		rc = fic__check_text(note, "note", FIC_TASK_NOTE_MAX, false, &has_note);
	if (rc != FIC_OK)
		return rc;
	if (!has_insp && !has_note)
		return fic__err(FIC_EINVAL, "name the inspection that did the task, or say in a note "
		                            "what was done");
	if ((rc = fic__tx_begin(store)) != FIC_OK)
		return rc;
	char site[FIC_ID_MAX + 1] = "", state[16] = "";
	rc = fic__query_text(store, state, sizeof state, "SELECT state FROM tasks WHERE id = ?1",
	                     "reading a task", "t", task_id);
	if (rc == FIC_ENOTFOUND)
		rc = fic__err(FIC_ENOTFOUND, "no task %s", task_id);
	else if (rc == FIC_OK && strcmp(state, "open") != 0)
		rc = fic__err(FIC_ESTATE, "task %s is %s, not open", task_id, state);
	if (rc == FIC_OK && fic__query_text(store, site, sizeof site, "SELECT site_id FROM tasks "
	                                    "WHERE id = ?1", "reading a task", "t", task_id) ==
	                            FIC_ENOTFOUND)
		fic__err_clear(); /* a task without a site */
	if (rc == FIC_OK && has_insp) {
		char isite[FIC_ID_MAX + 1] = "", istate[16] = "";
		rc = fic__query_text(store, istate, sizeof istate, "SELECT state FROM inspections "
		                     "WHERE id = ?1", "reading an inspection", "t", inspection_id);
		if (rc == FIC_ENOTFOUND)
			rc = fic__err(FIC_ENOTFOUND, "no inspection %s", inspection_id);
		else if (rc == FIC_OK && strcmp(istate, "finished") != 0)
			rc = fic__err(FIC_ESTATE, "inspection %s is not finished", inspection_id);
		if (rc == FIC_OK)
			rc = fic__query_text(store, isite, sizeof isite, "SELECT site_id FROM inspections "
			                     "WHERE id = ?1", "reading an inspection", "t", inspection_id);
		if (rc == FIC_OK && site[0] && strcmp(site, isite) != 0)
			rc = fic__err(FIC_EINVAL, "inspection %s is of another site than task %s",
			              inspection_id, task_id);
	}
	if (rc == FIC_OK)
		rc = task_done(store, task_id, has_insp ? inspection_id : NULL, has_note ? note : NULL);
	return fic__tx_end(store, rc);
}

/* ---- the service areas patrols are counted in ---- */

#define AREAS_MAX 64

typedef struct area_row {
	char area[72];
	char title[208];
	int per_year;
	bool builtin;
} area_row;

/* The patrol areas (the guide's five first, then the county's own) into
 * rows[AREAS_MAX]; *n how many. */
static int areas_load(fic_store *store, area_row *rows, size_t *n)
{
	*n = 0;
	sqlite3_stmt *st;
	int rc = fic__prepare(store, &st, "SELECT area, title, per_year, builtin FROM patrol_areas "
	                                  "ORDER BY position, area");
	if (rc != FIC_OK)
		return rc;
	int src;
	while (*n < AREAS_MAX && (src = sqlite3_step(st)) == SQLITE_ROW) {
		area_row *r = &rows[(*n)++];
		snprintf(r->area, sizeof r->area, "%s", (const char *)sqlite3_column_text(st, 0));
		snprintf(r->title, sizeof r->title, "%s", (const char *)sqlite3_column_text(st, 1));
		r->per_year = sqlite3_column_int(st, 2);
		r->builtin = sqlite3_column_int(st, 3) != 0;
	}
	if (*n < AREAS_MAX && src != SQLITE_DONE)
		rc = fic__db_err(store, src, "reading the patrol areas");
	sqlite3_finalize(st);
	return rc;
}

static int is_patrol_area(fic_store *store, const char *area, bool *yes)
{
	int64_t n = 0;
	int rc = fic__query_int(store, &n, "SELECT count(*) FROM patrol_areas WHERE area = ?1",
	                        "reading the patrol areas", "t", area);
	*yes = n > 0;
	return rc;
}

/* The latest semester start on or before `today` (day numbers); -1 if none. */
static int64_t current_semester(fic_store *store, int64_t today)
{
	char v[200];
	if (fic__setting_raw(store, "semester_starts", v, sizeof v) != FIC_OK || !v[0])
		return -1;
	int64_t best = -1;
	char *save = NULL;
	for (char *t = strtok_r(v, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		int64_t d;
		if (fic__parse_date(t, "semester", &d) == FIC_OK && d <= today && d > best)
			best = d;
	}
	fic__err_clear();
	return best;
}

/* Today, the current semester's start and first-month end. */
typedef struct due_dates {
	int64_t today;
	char t[11];
	bool has_semester;
	char s0[11], s1[11];
	bool semester_over; /* today is after the first month */
} due_dates;

static void due_dates_get(fic_store *store, due_dates *d)
{
	memset(d, 0, sizeof *d);
	d->today = fic__local_day(store, fic__now_ms(store));
	fic__days_format(d->today, d->t);
	int64_t sem = current_semester(store, d->today);
	if (sem >= 0) {
		int64_t end = fic__days_add_months(sem, 1);
		d->has_semester = true;
		fic__days_format(sem, d->s0);
		fic__days_format(end, d->s1);
		d->semester_over = d->today > end;
	}
}

/* ---- the whole due list ---- */

/* Schools not visited in the first month of the semester, as {start, first_month_ends, schools_not_visited: [...]}. */
static int semester_list(fic_store *store, const due_dates *d, cJSON *o)
{
	cJSON *sch = cJSON_CreateObject();
	cJSON *schools = NULL;
	bool ok = fic__json_put(o, "semester", sch) && cJSON_AddStringToObject(sch, "start", d->s0) &&
	          cJSON_AddStringToObject(sch, "first_month_ends", d->s1) &&
	          (schools = cJSON_AddArrayToObject(sch, "schools_not_visited")) != NULL;
	if (!ok)
		return fic__err(FIC_ENOMEM, "out of memory building the due list");
	sqlite3_stmt *st;
	int rc = fic__prepare(store, &st,
	                      "SELECT sa.site_id, sa.name FROM site_areas sa WHERE sa.area = 'school' "
	                      "AND sa.open = 1 AND NOT EXISTS (SELECT 1 FROM inspections i WHERE "
	                      "i.site_id = sa.site_id AND i.area = 'school' AND i.state = 'finished' "
	                      "AND i.inspection_date BETWEEN ?1 AND ?2) ORDER BY sa.name, sa.site_id");
	if (rc != FIC_OK)
		return rc;
	sqlite3_bind_text(st, 1, d->s0, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, d->s1, -1, SQLITE_STATIC);
	int src;
	while (ok && (src = sqlite3_step(st)) == SQLITE_ROW) {
		cJSON *e = cJSON_CreateObject();
		ok = fic__json_put(schools, NULL, e) &&
		     cJSON_AddStringToObject(e, "site_id", (const char *)sqlite3_column_text(st, 0)) &&
		     cJSON_AddStringToObject(e, "name", (const char *)sqlite3_column_text(st, 1)) &&
		     cJSON_AddBoolToObject(e, "overdue", d->semester_over);
	}
	if (!ok)
		rc = fic__err(FIC_ENOMEM, "out of memory building the due list");
	else if (src != SQLITE_DONE)
		rc = fic__db_err(store, src, "building the due list");
	sqlite3_finalize(st);
	return rc;
}

int fic_due_json(char **out, fic_store *store)
{
	FIC__BEGIN(out, store);
	due_dates d;
	due_dates_get(store, &d);
	area_row areas_v[AREAS_MAX];
	size_t na = 0;
	int rc = areas_load(store, areas_v, &na);
	if (rc != FIC_OK)
		return rc;
	cJSON *o = cJSON_CreateObject(), *areas = NULL;
	bool ok = o && cJSON_AddStringToObject(o, "today", d.t) &&
		  cJSON_AddNumberToObject(o, "patrols_required_per_year", PATROLS_PER_YEAR) &&
		  (areas = cJSON_AddObjectToObject(o, "areas")) != NULL;
	for (size_t i = 0; ok && i < na; i++)
		ok = fic__json_put(areas, areas_v[i].area, cJSON_CreateArray());
	sqlite3_stmt *st = NULL;
	if (ok)
		rc = fic__prepare(store, &st,
		                  "SELECT area, site_id, name, kind, CASE WHEN patrol_year = ?1 THEN "
		                  "patrols_in_year ELSE 0 END, per_year FROM site_areas WHERE open = 1 "
		                  "ORDER BY area, kind, name, site_id");
	int src = SQLITE_DONE;
	if (ok && rc == FIC_OK) {
		sqlite3_bind_text(st, 1, d.t, 4, SQLITE_STATIC);
		while (ok && (src = sqlite3_step(st)) == SQLITE_ROW) {
			int n = sqlite3_column_int(st, 4), need = sqlite3_column_int(st, 5);
			if (n >= need)
				continue;
			cJSON *list = cJSON_GetObjectItemCaseSensitive(areas,
			                                               (const char *)sqlite3_column_text(st, 0));
			if (list == NULL)
				continue; /* an area no longer planned */
			cJSON *e = cJSON_CreateObject();
			ok = fic__json_put(list, NULL, e) &&
			     cJSON_AddStringToObject(e, "site_id", (const char *)sqlite3_column_text(st, 1)) &&
			     cJSON_AddStringToObject(e, "name", (const char *)sqlite3_column_text(st, 2)) &&
			     cJSON_AddStringToObject(e, "kind",
			                             fic_site_code_str(FIC_CODE_KIND, sqlite3_column_int(st, 3))) &&
			     cJSON_AddNumberToObject(e, "patrols_this_year", n) &&
			     cJSON_AddNumberToObject(e, "per_year", need);
		}
		if (ok && src != SQLITE_DONE)
			rc = fic__db_err(store, src, "building the due list");
		sqlite3_finalize(st);
	}
	if (ok && rc == FIC_OK && d.has_semester)
		rc = semester_list(store, &d, o);
	return fic__json_out(out, o, ok, rc);
}

/* ---- the due list at scale: a summary, and pages most overdue first ---- */

int fic_due_summary_json(char **out, fic_store *store)
{
	FIC__BEGIN(out, store);
	due_dates d;
	due_dates_get(store, &d);
	area_row areas_v[AREAS_MAX];
	size_t na = 0;
	int rc = areas_load(store, areas_v, &na);
	if (rc != FIC_OK)
		return rc;
	/*
	 * Per area: its open sites, less those with all their patrols this year /
	 * with any — counters kept by triggers as sites are patrolled, closed,
	 * join areas or change kind (0004_year.sql), so a few primary-key reads
	 * whatever the registry's size.
	 */
	sqlite3_stmt *st;
	if ((rc = fic__prepare(store, &st,
	                       "SELECT (SELECT n FROM counts WHERE name = 'open.' || ?1), "
	                       "coalesce((SELECT n FROM counts WHERE name = 'done.' || ?1 || '.' || ?2), 0), "
	                       "coalesce((SELECT n FROM counts WHERE name = 'seen.' || ?1 || '.' || ?2), 0)")) !=
	    FIC_OK)
		return rc;
	char year[5];
	snprintf(year, sizeof year, "%.4s", d.t);
	cJSON *o = cJSON_CreateObject(), *areas = NULL;
	bool ok = o && cJSON_AddStringToObject(o, "today", d.t) &&
		  cJSON_AddNumberToObject(o, "patrols_required_per_year", PATROLS_PER_YEAR) &&
		  (areas = cJSON_AddObjectToObject(o, "areas")) != NULL;
	int64_t open_schools = 0;
	for (size_t i = 0; ok && rc == FIC_OK && i < na; i++) {
		const char *a = areas_v[i].area;
		sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, year, -1, SQLITE_STATIC);
		int src = sqlite3_step(st);
		if (src != SQLITE_ROW || sqlite3_column_type(st, 0) == SQLITE_NULL) {
			rc = src == SQLITE_ROW ? fic__err(FIC_ECORRUPT, "the due summary: counter open.%s "
			                                                "is missing", a)
			                       : fic__db_err(store, src, "building the due summary");
			break;
		}
		int64_t open = sqlite3_column_int64(st, 0), done = sqlite3_column_int64(st, 1),
			seen = sqlite3_column_int64(st, 2);
		sqlite3_reset(st);
		if (strcmp(a, "school") == 0)
			open_schools = open;
		cJSON *e = cJSON_CreateObject();
		ok = fic__json_put(areas, a, e) && cJSON_AddStringToObject(e, "title", areas_v[i].title) &&
		     cJSON_AddNumberToObject(e, "per_year", areas_v[i].per_year) &&
		     cJSON_AddNumberToObject(e, "open_sites", (double)open) &&
		     cJSON_AddNumberToObject(e, "due", (double)(open - done)) &&
		     cJSON_AddNumberToObject(e, "not_patrolled_this_year", (double)(open - seen));
	}
	sqlite3_finalize(st);
	if (ok && rc == FIC_OK && d.has_semester) {
		/* Schools: those visited in the first month of the semester, from that
		 * month's patrols (index inspections_patrol). */
		if ((rc = fic__prepare(store, &st,
		                       "SELECT count(*) FROM (SELECT DISTINCT site_id FROM inspections "
		                       "WHERE state = 'finished' AND area = 'school' AND inspection_date "
		                       "BETWEEN ?1 AND ?2) p CROSS JOIN site_areas sa ON sa.site_id = "
		                       "p.site_id AND sa.area = 'school' WHERE sa.open = 1")) == FIC_OK) {
			sqlite3_bind_text(st, 1, d.s0, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 2, d.s1, -1, SQLITE_STATIC);
			int src = sqlite3_step(st);
			int64_t visited = sqlite3_column_int64(st, 0);
			sqlite3_finalize(st);
			if (src != SQLITE_ROW) {
				rc = fic__db_err(store, src, "building the due summary");
			} else {
				cJSON *sem = cJSON_CreateObject();
				ok = fic__json_put(o, "semester", sem) &&
				     cJSON_AddStringToObject(sem, "start", d.s0) &&
				     cJSON_AddStringToObject(sem, "first_month_ends", d.s1) &&
				     cJSON_AddNumberToObject(sem, "schools_not_visited",
				                             (double)(open_schools - visited)) &&
				     cJSON_AddBoolToObject(sem, "overdue", d.semester_over);
			}
		}
	}
	return fic__json_out(out, o, ok, rc);
}

/*
 * A page of due sites in the order of the index site_areas_due: never
 * patrolled first (by name), then by the date of the last patrol, oldest
 * first. Two phases, because NULL (never) cannot be compared in a row
 * value: the never-patrolled after (name, id), then the patrolled after
 * (date, name, id). Sites not due (all their patrols this year; for the
 * semester, a visit in its first month) are passed over — they have a
 * recent last patrol, so they sit at the end of the order and a page reads
 * at most `limit` + those.
 */
typedef struct due_key {
	bool never;        /* the key is in the never-patrolled phase */
	char last[16];     /* last patrol date (phase 2) */
	char name[FIC_SITE_NAME_MAX + 1];
	char id[64];
} due_key;

static int due_cursor_parse(const char *cursor, due_key *k)
{
	memset(k, 0, sizeof *k);
	k->never = true; /* the first page: every never-patrolled site is after ("", "") */
	if (cursor == NULL || cursor[0] == '\0')
		return FIC_OK;
	unsigned long failed_before = fic__alloc_failures();
	cJSON *j = cJSON_Parse(cursor);
	if (j == NULL && fic__alloc_failures() != failed_before)
		return fic__err(FIC_ENOMEM, "out of memory reading the cursor");
	const cJSON *lp = cJSON_GetArrayItem(j, 0), *nm = cJSON_GetArrayItem(j, 1),
		    *id = cJSON_GetArrayItem(j, 2);
	bool ok = cJSON_IsArray(j) && cJSON_GetArraySize(j) == 3 &&
		  (cJSON_IsNull(lp) || (cJSON_IsString(lp) && strlen(lp->valuestring) < sizeof k->last)) &&
		  cJSON_IsString(nm) && strlen(nm->valuestring) < sizeof k->name &&
		  cJSON_IsString(id) && strlen(id->valuestring) < sizeof k->id;
	if (ok) {
		k->never = cJSON_IsNull(lp);
		if (!k->never)
			snprintf(k->last, sizeof k->last, "%s", lp->valuestring);
		snprintf(k->name, sizeof k->name, "%s", nm->valuestring);
		snprintf(k->id, sizeof k->id, "%s", id->valuestring);
	}
	cJSON_Delete(j);
	return ok ? FIC_OK : fic__err(FIC_EINVAL, "cursor is not one fic_due_page_json returned");
}

static char *due_cursor_make(const char *last, const char *name, const char *id)
{
	cJSON *a = cJSON_CreateArray();
	char *text = NULL;
	if (a && fic__json_put(a, NULL, last ? cJSON_CreateString(last) : cJSON_CreateNull()) &&
	    fic__json_put(a, NULL, cJSON_CreateString(name)) &&
	    fic__json_put(a, NULL, cJSON_CreateString(id)))
		text = cJSON_PrintUnformatted(a);
	cJSON_Delete(a);
	return text;
}

/* One due site of a page (a row of fic_due_page_json's query) into `items`. */
static bool due_item(cJSON *items, sqlite3_stmt *st, bool semester, bool semester_over)
{
	const char *id = (const char *)sqlite3_column_text(st, 0);
	const char *name = (const char *)sqlite3_column_text(st, 1);
	const char *lp = (const char *)sqlite3_column_text(st, 3);
	cJSON *e = cJSON_CreateObject();
	return fic__json_put(items, NULL, e) && id && name &&
	       cJSON_AddStringToObject(e, "site_id", id) && cJSON_AddStringToObject(e, "name", name) &&
	       cJSON_AddStringToObject(e, "kind",
	                               fic_site_code_str(FIC_CODE_KIND, sqlite3_column_int(st, 2))) &&
	       (lp ? cJSON_AddStringToObject(e, "last_patrol", lp)
	           : cJSON_AddNullToObject(e, "last_patrol")) != NULL &&
	       cJSON_AddNumberToObject(e, "patrols_this_year", sqlite3_column_int(st, 4)) &&
	       cJSON_AddNumberToObject(e, "per_year", sqlite3_column_int(st, 6)) &&
	       (!semester || cJSON_AddBoolToObject(e, "overdue", semester_over));
}

int fic_due_page_json(char **out, fic_store *store, const char *area, const char *cursor,
                      size_t limit)
{
	FIC__BEGIN(out, store);
	int rc = fic__check_text(area, "area", 64, true, NULL);
	if (rc == FIC_OK)
		rc = fic__check_text(cursor, "cursor", FIC_DUE_CURSOR_MAX, false, NULL);
	if (rc != FIC_OK)
		return rc;
	bool semester = strcmp(area, "school_semester") == 0, known = semester;
	if (!semester && (rc = is_patrol_area(store, area, &known)) != FIC_OK)
		return rc;
	if (!known)
		return fic__err(FIC_EINVAL, "unknown area '%.64s' (known: drinking_water, school, "
		                            "medical_blood, mch, occupational, the county's own, "
		                            "school_semester)", area);
	if (limit < 1 || limit > FIC_DUE_PAGE_MAX)
		return fic__err(FIC_EINVAL, "limit must be 1 to %d", FIC_DUE_PAGE_MAX);
	due_key k;
	if ((rc = due_cursor_parse(cursor, &k)) != FIC_OK)
		return rc;
	due_dates d;
	due_dates_get(store, &d);
	const char *site_area = semester ? "school" : area;
	const char *year = d.t; /* its first four characters */

	cJSON *o = cJSON_CreateObject(), *items = cJSON_CreateArray();
	bool ok = o && items && cJSON_AddStringToObject(o, "area", area) &&
		  cJSON_AddStringToObject(o, "today", d.t);
	if (ok)
		ok = fic__json_take(o, "items", &items);
	cJSON_Delete(items);
	items = ok ? cJSON_GetObjectItemCaseSensitive(o, "items") : NULL;
	if (ok && semester)
		ok = d.has_semester
			     ? cJSON_AddStringToObject(o, "semester_start", d.s0) &&
				       cJSON_AddStringToObject(o, "first_month_ends", d.s1)
			     : cJSON_AddNullToObject(o, "semester_start") != NULL &&
				       cJSON_AddNullToObject(o, "first_month_ends") != NULL;
	/*
	 * `patrols` is this year's count (0 without a query when the last patrol
	 * is older); `visited` whether a semester school was visited in the
	 * first month. The row is due when patrols < its per_year, or for the
	 * semester when not visited.
	 */
#define DUE_COLUMNS \
	"SELECT s.site_id, s.name, s.kind, s.last_patrol, CASE WHEN s.patrol_year = ?5 THEN " \
	"s.patrols_in_year ELSE 0 END, CASE WHEN ?7 IS NOT NULL AND s.last_patrol >= ?7 THEN " \
	"EXISTS (SELECT 1 FROM inspections i INDEXED BY inspections_site WHERE i.site_id = s.site_id " \
	"AND i.inspection_date BETWEEN ?7 AND ?8 AND i.state = 'finished' AND i.area = 'school') " \
	"ELSE 0 END, s.per_year FROM site_areas s WHERE s.area = ?1 AND s.open = 1 AND "
	static const char *const phase_sql[2] = {
		DUE_COLUMNS "s.last_patrol IS NULL AND (s.name, s.site_id) > (?3, ?4) "
		            "ORDER BY s.name, s.site_id",
		DUE_COLUMNS "s.last_patrol IS NOT NULL AND (s.last_patrol, s.name, s.site_id) > "
		            "(?2, ?3, ?4) ORDER BY s.last_patrol, s.name, s.site_id",
	};
#undef DUE_COLUMNS
	size_t count = 0;
	bool more = false;
	char *next = NULL;
	/* The last row put on the page, for the cursor. */
	char last_lp[16] = "", last_name[FIC_SITE_NAME_MAX + 1] = "", last_id[64] = "";
	bool last_never = false;
	for (int phase = k.never ? 0 : 1; ok && rc == FIC_OK && phase < 2 && !more; phase++) {
		if (semester && !d.has_semester)
			break;
		sqlite3_stmt *st;
		if ((rc = fic__prepare(store, &st, phase_sql[phase])) != FIC_OK)
			break;
		sqlite3_bind_text(st, 1, site_area, -1, SQLITE_STATIC);
		/* Phase 1 after the cursor's date; from a phase-0 cursor, from the first date. */
		sqlite3_bind_text(st, 2, k.never ? "" : k.last, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, phase == 0 || !k.never ? k.name : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, phase == 0 || !k.never ? k.id : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, year, 4, SQLITE_STATIC);
		if (semester) {
			sqlite3_bind_text(st, 7, d.s0, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 8, d.s1, -1, SQLITE_STATIC);
		}
		int src;
		while (ok && (src = sqlite3_step(st)) == SQLITE_ROW) {
			int patrols = sqlite3_column_int(st, 4), need = sqlite3_column_int(st, 6);
			if (semester ? sqlite3_column_int(st, 5) != 0 : patrols >= need)
				continue;
			if (count == limit) {
				more = true; /* one more due site exists: the page has a next */
				break;
			}
			const char *id = (const char *)sqlite3_column_text(st, 0);
			const char *name = (const char *)sqlite3_column_text(st, 1);
			const char *lp = (const char *)sqlite3_column_text(st, 3);
			ok = due_item(items, st, semester, d.semester_over);
			if (ok) {
				count++;
				last_never = lp == NULL;
				snprintf(last_lp, sizeof last_lp, "%s", lp ? lp : "");
				snprintf(last_name, sizeof last_name, "%s", name);
				snprintf(last_id, sizeof last_id, "%s", id);
			}
		}
		if (ok && !more && src != SQLITE_DONE)
			rc = fic__db_err(store, src, "building the due list");
		sqlite3_finalize(st);
	}
	if (ok && rc == FIC_OK && more) {
		next = due_cursor_make(last_never ? NULL : last_lp, last_name, last_id);
		ok = next != NULL;
	}
	if (ok && rc == FIC_OK)
		ok = (next ? cJSON_AddStringToObject(o, "next", next)
		           : cJSON_AddNullToObject(o, "next")) != NULL;
	cJSON_free(next);
	return fic__json_out(out, o, ok, rc);
}

/* ---- the county's patrol plan ---- */

#define PLAN_JSON_MAX (16 * 1024)

/* A county's own area: "other" or "other.<subject>". */
static bool county_area_id(const char *a)
{
	if (strncmp(a, "other", 5) != 0 || strlen(a) > 64)
		return false;
	if (a[5] == '\0')
		return true;
	if (a[5] != '.' || !(a[6] >= 'a' && a[6] <= 'z'))
		return false;
	for (const char *p = a + 6; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' ||
		      (*p == '.' && p[1] >= 'a' && p[1] <= 'z')))
			return false;
	return true;
}

static bool builtin_area(const char *a)
{
	static const char *const builtin[] = { "drinking_water", "school", "medical_blood", "mch",
		                               "occupational", NULL };
	for (const char *const *b = builtin; *b; b++)
		if (strcmp(*b, a) == 0)
			return true;
	return false;
}

/* A whole number in lo..hi. */
static bool plan_number(const cJSON *v, int lo, int hi, int *out)
{
	if (!cJSON_IsNumber(v) || v->valuedouble != (double)(int)v->valuedouble ||
	    v->valuedouble < lo || v->valuedouble > hi)
		return false;
	*out = (int)v->valuedouble;
	return true;
}

/* The plan's shape (docs/workflow.md, "How often"), every value in range. */
static int plan_check(const cJSON *plan)
{
	const cJSON *areas = cJSON_GetObjectItemCaseSensitive(plan, "areas");
	if (!cJSON_IsObject(plan) || !cJSON_IsObject(areas) || cJSON_GetArraySize(plan) != 1)
		return fic__err(FIC_EINVAL, "a patrol plan is {\"areas\": {area: {\"title\", "
		                            "\"per_year\", \"kinds\": {kind: per_year}}}}");
	if (cJSON_GetArraySize(areas) > AREAS_MAX - 5)
		return fic__err(FIC_EINVAL, "a patrol plan names at most %d areas", AREAS_MAX - 5);
	const cJSON *a;
	cJSON_ArrayForEach(a, areas) {
		bool builtin = builtin_area(a->string);
		if (!builtin && !county_area_id(a->string))
			return fic__err(FIC_EINVAL, "patrol plan: area '%.64s' is neither the guide's "
			                            "(drinking_water, school, medical_blood, mch, "
			                            "occupational) nor other.<subject>", a->string);
		if (!cJSON_IsObject(a))
			return fic__err(FIC_EINVAL, "patrol plan: area %s must be an object", a->string);
		const cJSON *f;
		cJSON_ArrayForEach(f, a) {
			if (strcmp(f->string, "title") && strcmp(f->string, "per_year") &&
			    strcmp(f->string, "kinds"))
				return fic__err(FIC_EINVAL, "patrol plan: area %s: unknown field '%.32s'",
				                a->string, f->string);
		}
		const cJSON *title = cJSON_GetObjectItemCaseSensitive(a, "title");
		const cJSON *per = cJSON_GetObjectItemCaseSensitive(a, "per_year");
		const cJSON *kinds = cJSON_GetObjectItemCaseSensitive(a, "kinds");
		int n;
		if (title ? !cJSON_IsString(title) ||
		                    fic__check_text(title->valuestring, "title", 100, true, NULL) != FIC_OK
		          : !builtin)
			return fic__err(FIC_EINVAL, "patrol plan: area %s needs a title (1-100 bytes)",
			                a->string);
		if (per && !plan_number(per, 1, 52, &n))
			return fic__err(FIC_EINVAL, "patrol plan: area %s: per_year is a whole number of "
			                            "patrols a year, 1 to 52", a->string);
		if (kinds && !cJSON_IsObject(kinds))
			return fic__err(FIC_EINVAL, "patrol plan: area %s: kinds is {kind: per_year}",
			                a->string);
		const cJSON *k;
		cJSON_ArrayForEach(k, kinds) {
			int kv;
			if (fic_site_code_parse(&kv, FIC_CODE_KIND, k->string) != FIC_OK)
				return fic_error_last()->code;
			if (!plan_number(k, 0, 52, &n))
				return fic__err(FIC_EINVAL, "patrol plan: area %s: kind %s: per_year is 0 "
				                            "(not patrolled by kind) to 52", a->string, k->string);
		}
	}
	return FIC_OK;
}

/* The built-in areas' kinds (0004_year.sql's area_kinds, the guide's). */
static const struct { const char *area; int kind; } builtin_kinds[] = {
	{ "drinking_water", FIC_SITE_WATER_RURAL }, { "drinking_water", FIC_SITE_WATER_SECONDARY },
	{ "school", FIC_SITE_SCHOOL },            { "medical_blood", FIC_SITE_MEDICAL },
	{ "medical_blood", FIC_SITE_BLOOD_STATION }, { "medical_blood", FIC_SITE_PLASMA_STATION },
	{ "medical_blood", FIC_SITE_MCH },        { "medical_blood", FIC_SITE_OTHER_VENUE },
	{ "mch", FIC_SITE_MCH },                  { "occupational", FIC_SITE_EMPLOYER },
};

int fic__patrol_plan_apply(fic_store *store, const char *json, const char *origin)
{
	int rc = fic__check_text(json, "patrol plan", PLAN_JSON_MAX, true, NULL);
	if (rc != FIC_OK)
		return rc;
	unsigned long failed_before = fic__alloc_failures();
	cJSON *plan = cJSON_Parse(json);
	if (plan == NULL)
		return fic__alloc_failures() != failed_before
		               ? fic__err(FIC_ENOMEM, "out of memory reading the patrol plan")
		               : fic__err(FIC_EINVAL, "the patrol plan is not valid JSON");
	if ((rc = plan_check(plan)) != FIC_OK) {
		cJSON_Delete(plan);
		return rc;
	}
	const cJSON *areas = cJSON_GetObjectItemCaseSensitive(plan, "areas");
	/* The areas: the guide's at their plan's frequency (2 unless said), the county's own added. */
	rc = fic__exec(store, "UPDATE patrol_areas SET per_year = 2", "applying the patrol plan", "");
	const cJSON *a;
	cJSON_ArrayForEach(a, areas) {
		if (rc != FIC_OK)
			break;
		int per = 2;
		plan_number(cJSON_GetObjectItemCaseSensitive(a, "per_year"), 1, 52, &per);
		const char *title = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, "title"));
		rc = fic__exec(store, "INSERT INTO patrol_areas (area, title, per_year, position) VALUES "
		                      "(?1, coalesce(?2, ?1), ?3, 100) ON CONFLICT (area) DO UPDATE SET "
		                      "per_year = excluded.per_year, title = coalesce(?2, title)",
		               "applying the patrol plan", "tti", a->string, title, (int64_t)per);
		if (rc == FIC_OK)
			rc = fic__exec(store, "INSERT INTO counts (name, n) VALUES ('open.' || ?1, 0) "
			                      "ON CONFLICT (name) DO NOTHING",
			               "applying the patrol plan", "t", a->string);
	}
	/* The kinds: the guide's at their area's frequency, then the plan's. */
	if (rc == FIC_OK)
		rc = fic__exec(store, "DELETE FROM area_kinds", "applying the patrol plan", "");
	for (size_t i = 0; rc == FIC_OK && i < sizeof builtin_kinds / sizeof builtin_kinds[0]; i++)
		rc = fic__exec(store, "INSERT INTO area_kinds (area, kind, per_year) SELECT ?1, ?2, "
		                      "per_year FROM patrol_areas WHERE area = ?1",
		               "applying the patrol plan", "ti", builtin_kinds[i].area,
		               (int64_t)builtin_kinds[i].kind);
	cJSON_ArrayForEach(a, areas) {
		const cJSON *k;
		cJSON_ArrayForEach(k, cJSON_GetObjectItemCaseSensitive(a, "kinds")) {
			if (rc != FIC_OK)
				break;
			int kind = 0, per = 0;
			fic_site_code_parse(&kind, FIC_CODE_KIND, k->string);
			plan_number(k, 0, 52, &per);
			rc = per == 0 ? fic__exec(store, "DELETE FROM area_kinds WHERE area = ?1 AND kind = ?2",
			                          "applying the patrol plan", "ti", a->string, (int64_t)kind)
			              : fic__exec(store, "INSERT INTO area_kinds (area, kind, per_year) VALUES "
			                                 "(?1, ?2, ?3) ON CONFLICT (area, kind) DO UPDATE SET "
			                                 "per_year = excluded.per_year",
			                          "applying the patrol plan", "tii", a->string, (int64_t)kind,
			                          (int64_t)per);
		}
	}
	cJSON_Delete(plan);
	/*
	 * The sites follow: a site no longer in an area by its kind leaves it
	 * (or stays as patrolled there, if it was); a site of a kind now in an
	 * area joins it with the patrols it had there; every site's frequency
	 * is its kind's in the area, or the area's.
	 */
	static const char *const follow[] = {
		"UPDATE site_areas SET via = 'patrol' WHERE via = 'kind' AND last_patrol IS NOT NULL AND "
		"NOT EXISTS (SELECT 1 FROM area_kinds ak WHERE ak.area = site_areas.area AND ak.kind = "
		"site_areas.kind)",
		"DELETE FROM site_areas WHERE via = 'kind' AND NOT EXISTS (SELECT 1 FROM area_kinds ak "
		"WHERE ak.area = site_areas.area AND ak.kind = site_areas.kind)",
		"UPDATE site_areas SET via = 'kind' WHERE via != 'kind' AND EXISTS (SELECT 1 FROM "
		"area_kinds ak WHERE ak.area = site_areas.area AND ak.kind = site_areas.kind)",
		"INSERT OR IGNORE INTO site_areas (k, area, site_id, name, kind, open, via, per_year) "
		"SELECT s.k, ak.area, s.id, s.name, s.kind, s.status != 2, 'kind', ak.per_year FROM "
		"area_kinds ak JOIN sites s ON s.kind = ak.kind",
		"UPDATE site_areas SET last_patrol = (SELECT max(i.inspection_date) FROM inspections i "
		"INDEXED BY inspections_site WHERE i.site_id = site_areas.site_id AND i.state = 'finished' "
		"AND i.area = site_areas.area) WHERE last_patrol IS NULL",
		"UPDATE site_areas SET patrol_year = substr(last_patrol, 1, 4), patrols_in_year = (SELECT "
		"count(*) FROM inspections i INDEXED BY inspections_site WHERE i.site_id = "
		"site_areas.site_id AND i.state = 'finished' AND i.area = site_areas.area AND "
		"i.inspection_date BETWEEN substr(site_areas.last_patrol, 1, 4) || '-01-01' AND "
		"substr(site_areas.last_patrol, 1, 4) || '-12-31') WHERE last_patrol IS NOT NULL AND "
		"patrol_year IS NULL",
		"UPDATE site_areas SET per_year = coalesce((SELECT ak.per_year FROM area_kinds ak WHERE "
		"ak.area = site_areas.area AND ak.kind = site_areas.kind), (SELECT pa.per_year FROM "
		"patrol_areas pa WHERE pa.area = site_areas.area), 2) WHERE per_year IS NOT coalesce("
		"(SELECT ak.per_year FROM area_kinds ak WHERE ak.area = site_areas.area AND ak.kind = "
		"site_areas.kind), (SELECT pa.per_year FROM patrol_areas pa WHERE pa.area = "
		"site_areas.area), 2)",
	};
	for (size_t i = 0; rc == FIC_OK && i < sizeof follow / sizeof follow[0]; i++) {
		char *err = NULL;
		int src = sqlite3_exec(store->db, follow[i], NULL, NULL, &err);
		if (src != SQLITE_OK)
			rc = fic__db_err(store, src, "applying the patrol plan");
		sqlite3_free(err);
	}
	if (rc == FIC_OK)
		rc = fic__exec(store, "INSERT INTO settings (key, value, origin) VALUES ('patrol_plan', "
		                      "?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value, "
		                      "origin = excluded.origin",
		               "saving the patrol plan", "tt", json, origin);
	if (rc == FIC_OK) {
		cJSON *d = cJSON_CreateObject();
		bool ok = d && cJSON_AddStringToObject(d, "origin", origin);
		rc = fic__audit_take(store, "plan.set", "setting", "patrol_plan", d, ok);
	}
	return rc;
}

int fic_patrol_plan_set(fic_store *store, const char *json)
{
	fic__err_clear();
	FIC__ARG(store);
	int rc = fic__check_text(json, "patrol plan", PLAN_JSON_MAX, true, NULL);
	if (rc != FIC_OK)
		return rc;
	char origin[16] = "";
	if ((rc = fic__query_text(store, origin, sizeof origin, "SELECT origin FROM settings WHERE "
	                          "key = 'patrol_plan'", "reading the patrol plan", "")) == FIC_ENOTFOUND) {
		fic__err_clear();
		rc = FIC_OK;
	}
	if (rc == FIC_OK && strcmp(origin, "county") == 0)
		return fic__err(FIC_ESTATE, "the patrol plan is the county's (its settings feed set it)");
	if (rc != FIC_OK || (rc = fic__tx_begin(store)) != FIC_OK)
		return rc;
	rc = fic__patrol_plan_apply(store, json, "device");
	return fic__tx_end(store, rc);
}

int fic_patrol_plan_json(char **out, fic_store *store)
{
	FIC__BEGIN(out, store);
	area_row rows[AREAS_MAX];
	size_t n = 0;
	int rc = areas_load(store, rows, &n);
	if (rc != FIC_OK)
		return rc;
	char origin[16] = "";
	if (fic__query_text(store, origin, sizeof origin, "SELECT origin FROM settings WHERE key = "
	                    "'patrol_plan'", "reading the patrol plan", "") != FIC_OK)
		fic__err_clear();
	cJSON *o = cJSON_CreateObject(), *areas = NULL;
	bool ok = o && cJSON_AddStringToObject(o, "origin", origin[0] ? origin : "default") &&
	          (areas = cJSON_AddObjectToObject(o, "areas")) != NULL;
	sqlite3_stmt *st = NULL;
	if (ok)
		rc = fic__prepare(store, &st, "SELECT kind, per_year FROM area_kinds WHERE area = ?1 "
		                              "ORDER BY kind");
	for (size_t i = 0; ok && rc == FIC_OK && i < n; i++) {
		cJSON *a = cJSON_CreateObject(), *kinds = NULL;
		ok = fic__json_put(areas, rows[i].area, a) &&
		     cJSON_AddStringToObject(a, "title", rows[i].title) &&
		     cJSON_AddNumberToObject(a, "per_year", rows[i].per_year) &&
		     cJSON_AddBoolToObject(a, "builtin", rows[i].builtin) &&
		     (kinds = cJSON_AddObjectToObject(a, "kinds")) != NULL;
		sqlite3_bind_text(st, 1, rows[i].area, -1, SQLITE_STATIC);
		int src;
		while (ok && (src = sqlite3_step(st)) == SQLITE_ROW)
			ok = cJSON_AddNumberToObject(kinds, fic_site_code_str(FIC_CODE_KIND,
			                                                      sqlite3_column_int(st, 0)),
			                             sqlite3_column_int(st, 1)) != NULL;
		if (ok && src != SQLITE_DONE)
			rc = fic__db_err(store, src, "reading the patrol plan");
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	return fic__json_out(out, o, ok, rc);
}

/* ---- indicators ---- */

/*
 * The plan's four indicators (实施方案 一(三)) into o.indicators: 1 the
 * information report rate; 2 patrols per area against the plan's number a
 * year (两次 at least, 一(三)2); 3 cases the inspector assisted the agency
 * with (案件查办数量); 4 publicity events (普法宣传次数) — 3 and 4 from the
 * activities recorded (records.h), trainings beside them.
 */
static int four_indicators(fic_store *store, cJSON *o, const area_row *areas, size_t na,
                           const char *y0, const char *y1, int64_t reported, int64_t discovered,
                           bool *ok)
{
	cJSON *ind = cJSON_AddObjectToObject(o, "indicators");
	cJSON *rate = ind ? cJSON_AddObjectToObject(ind, "information_report_rate") : NULL;
	cJSON *pat = ind ? cJSON_AddObjectToObject(ind, "patrols") : NULL;
	cJSON *pareas = pat ? cJSON_AddObjectToObject(pat, "areas") : NULL;
	*ok = rate && pareas && cJSON_AddStringToObject(rate, "section", "实施方案 一(三)1") &&
	      cJSON_AddNumberToObject(rate, "reported", (double)reported) &&
	      cJSON_AddNumberToObject(rate, "discovered", (double)discovered) &&
	      (discovered ? cJSON_AddNumberToObject(rate, "percent",
	                                            100.0 * (double)reported / (double)discovered) != NULL
	                  : cJSON_AddNullToObject(rate, "percent") != NULL) &&
	      cJSON_AddStringToObject(pat, "section", "实施方案 一(三)2");
	const cJSON *counted = cJSON_GetObjectItemCaseSensitive(o, "patrols");
	for (size_t i = 0; *ok && i < na; i++) {
		double n = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(counted, areas[i].area));
		cJSON *a = cJSON_AddObjectToObject(pareas, areas[i].area);
		*ok = a && cJSON_AddStringToObject(a, "title", areas[i].title) &&
		      cJSON_AddNumberToObject(a, "patrols", n) &&
		      cJSON_AddNumberToObject(a, "per_year", areas[i].per_year) &&
		      cJSON_AddBoolToObject(a, "met", n >= areas[i].per_year);
	}
	int64_t cases = 0, publicity = 0, trainings = 0;
	int rc = FIC_OK;
	if (*ok)
		rc = fic__query_int(store, &cases, "SELECT count(*) FROM activities WHERE kind = 'case' "
		                    "AND activity_date >= ?1 AND activity_date < ?2",
		                    "counting activities", "tt", y0, y1);
	if (*ok && rc == FIC_OK)
		rc = fic__query_int(store, &publicity, "SELECT count(*) FROM activities WHERE kind = "
		                    "'publicity' AND activity_date >= ?1 AND activity_date < ?2",
		                    "counting activities", "tt", y0, y1);
	if (*ok && rc == FIC_OK)
		rc = fic__query_int(store, &trainings, "SELECT count(*) FROM activities WHERE kind = "
		                    "'training' AND activity_date >= ?1 AND activity_date < ?2",
		                    "counting activities", "tt", y0, y1);
	cJSON *c = NULL, *p = NULL;
	*ok = *ok && rc == FIC_OK && (c = cJSON_AddObjectToObject(ind, "cases_assisted")) &&
	      cJSON_AddStringToObject(c, "section", "实施方案 一(三)3") &&
	      cJSON_AddNumberToObject(c, "count", (double)cases) &&
	      (p = cJSON_AddObjectToObject(ind, "publicity_events")) &&
	      cJSON_AddStringToObject(p, "section", "实施方案 一(三)4") &&
	      cJSON_AddNumberToObject(p, "count", (double)publicity) &&
	      cJSON_AddNumberToObject(o, "trainings", (double)trainings);
	return rc;
}

int fic_stats_json(char **out, fic_store *store, int year)

{
	FIC__BEGIN(out, store);
	if (year != 0 && (year < 2000 || year > 2998))
		return fic__err(FIC_EINVAL, "year must be 2000..2998, or 0 for this year");
	if (year == 0) {
		char t[11];
		fic__days_format(fic__local_day(store, fic__now_ms(store)), t);
		year = atoi(t);
	}
	char y0[24], y1[24];
	snprintf(y0, sizeof y0, "%04d-01-01", year % 10000);
	snprintf(y1, sizeof y1, "%04d-01-01", (year + 1) % 10000);
	int64_t d0 = 0, d1 = 0;
	if (fic__parse_date(y0, "year", &d0) != FIC_OK || fic__parse_date(y1, "year", &d1) != FIC_OK)
		return fic_error_last()->code;
	/* Local midnight of 1 January in UTC ms, from the day number and the offset. */
	int offset = fic__utc_offset_min(store);
	int64_t t0 = d0 * 86400000 - (int64_t)offset * 60000;
	int64_t t1 = d1 * 86400000 - (int64_t)offset * 60000;

	/*
	 * 实施方案 一(三)1: 信息报告率 = 报告的事件或线索次数 / 发现的事件或线索次数
	 * × 100%. Each event or lead discovered counts once: a correction
	 * (fic_lead_correct) is a new record about a lead already counted, not
	 * a second discovery nor a second report. Reported = submitted to the
	 * agency (queued or delivered); a draft, or a lead the server refused
	 * for good, is discovered and not reported.
	 */
	sqlite3_stmt *st;
	int rc = fic__prepare(store, &st,
	                      "SELECT count(*), coalesce(sum(state IN ('queued', 'delivered')), 0), "
	                      "coalesce(sum(urgent > 0), 0), coalesce(sum(state = 'delivered'), 0) "
	                      "FROM leads WHERE discovered_at_ms >= ?1 AND discovered_at_ms < ?2 "
	                      "AND category != 'correction'");
	if (rc != FIC_OK)
		return rc;
	sqlite3_bind_int64(st, 1, t0);
	sqlite3_bind_int64(st, 2, t1);
	int src = sqlite3_step(st);
	int64_t discovered = sqlite3_column_int64(st, 0), reported = sqlite3_column_int64(st, 1),
		urgent = sqlite3_column_int64(st, 2), delivered = sqlite3_column_int64(st, 3);
	sqlite3_finalize(st);
	if (src != SQLITE_ROW)
		return fic__db_err(store, src, "counting leads");
	cJSON *o = cJSON_CreateObject(), *patrols = cJSON_CreateObject();
	bool ok = o && patrols && cJSON_AddNumberToObject(o, "year", year) &&
		  cJSON_AddNumberToObject(o, "leads_discovered", (double)discovered) &&
		  cJSON_AddNumberToObject(o, "leads_reported", (double)reported) &&
		  cJSON_AddNumberToObject(o, "urgent_leads", (double)urgent) &&
		  (discovered ? cJSON_AddNumberToObject(o, "report_rate_percent",
		                                        100.0 * (double)reported / (double)discovered) != NULL
		              : cJSON_AddNullToObject(o, "report_rate_percent") != NULL) &&
		  cJSON_AddStringToObject(o, "report_rate_definition",
		                          "实施方案 一(三)1 信息报告率 = 报告的事件或线索次数 / "
		                          "发现的事件或线索次数 × 100%；每一事件或线索计一次（更正不另计），"
		                          "已提交即为报告") &&
		  cJSON_AddNumberToObject(o, "leads_delivered", (double)delivered) &&
		  cJSON_AddItemToObject(o, "patrols", patrols);
	if (!ok && (o == NULL || cJSON_GetObjectItemCaseSensitive(o, "patrols") != patrols))
		cJSON_Delete(patrols); /* not attached: still ours (also when `o` could not be made) */
	area_row areas_v[AREAS_MAX];
	size_t na = 0;
	if (ok)
		rc = areas_load(store, areas_v, &na);
	for (size_t i = 0; ok && rc == FIC_OK && i < na; i++) {
		const char *a = areas_v[i].area;
		if ((rc = fic__prepare(store, &st, "SELECT count(*) FROM inspections WHERE state = "
		                                   "'finished' AND area = ?1 AND inspection_date >= ?2 "
		                                   "AND inspection_date < ?3")) != FIC_OK)
			break;
		sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, y0, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, y1, -1, SQLITE_STATIC);
		src = sqlite3_step(st);
		int64_t n = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
		if (src != SQLITE_ROW) {
			rc = fic__db_err(store, src, "counting patrols");
			break;
		}
		ok = cJSON_AddNumberToObject(patrols, a, (double)n) != NULL;
	}
	if (ok && rc == FIC_OK)
		rc = four_indicators(store, o, areas_v, na, y0, y1, reported, discovered, &ok);
	return fic__json_out(out, o, ok, rc);
}
