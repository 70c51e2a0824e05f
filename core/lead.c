/*
 * core/lead.c — leads (线索): filing them (from findings, site findings and
 * event forms), the two-hour deadline, listing by urgency and time left.
 *
 * Every lead is written with an audit entry and an outbox record in the
 * caller's transaction; urgent leads get the highest outbox priority so the
 * sync engine sends them before anything else. The audit entry of a lead
 * never holds its content: a tip-off's content can identify the informant.
 */
#include "checklist.h"
#include "lead_internal.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#define ANSWERS_JSON_MAX (64 * 1024)
#define CLOCK_SKEW_MS (5 * 60 * 1000LL)

int fic__task_add(fic_store *store, const char *kind, const char *site_id, const char *lead_id,
                  const char *source, const char *due_date, const char *detail);

int fic__lead_insert(char *id_out, fic_store *store, const fic__lead_spec *sp)
{
	int rc = fic__uuid7(store, id_out);
	if (rc != FIC_OK)
		return rc;
	int64_t deadline = sp->urgent ? sp->discovered_at_ms + FIC_URGENT_DEADLINE_MS : 0;
	int64_t now = fic__now_ms(store);
	cJSON *rec = cJSON_CreateObject();
	char *content = sp->content ? cJSON_PrintUnformatted(sp->content) : NULL;
	char *payload = NULL;
	bool ok = rec && content && cJSON_AddStringToObject(rec, "id", id_out) &&
		  cJSON_AddStringToObject(rec, "category", sp->category) &&
		  cJSON_AddStringToObject(rec, "area", sp->area) &&
		  cJSON_AddStringToObject(rec, "title", sp->title) &&
		  cJSON_AddStringToObject(rec, "report_to", sp->report_to) &&
		  cJSON_AddBoolToObject(rec, "urgent", sp->urgent) &&
		  cJSON_AddBoolToObject(rec, "time_sensitive", sp->time_sensitive) &&
		  cJSON_AddNumberToObject(rec, "discovered_at_ms", (double)sp->discovered_at_ms) &&
		  (!sp->urgent || cJSON_AddNumberToObject(rec, "deadline_at_ms", (double)deadline)) &&
		  (!sp->site_id || cJSON_AddStringToObject(rec, "site_id", sp->site_id)) &&
		  (!sp->inspection_id || cJSON_AddStringToObject(rec, "inspection_id", sp->inspection_id)) &&
		  (!sp->form_id || (cJSON_AddStringToObject(rec, "form", sp->form_id) &&
		                    cJSON_AddNumberToObject(rec, "form_version", sp->form_version))) &&
		  fic__json_put(rec, "content", cJSON_Duplicate(sp->content, true));
	if (ok)
		payload = cJSON_PrintUnformatted(rec);
	cJSON_Delete(rec);
	if (payload == NULL) {
		fic__free(content);
		return fic__err(FIC_ENOMEM, "out of memory filing a lead");
	}
	sqlite3_stmt *st;
	rc = fic__cached(store, &st,
	                 "INSERT INTO leads (id, category, area, title, report_to, urgent, "
	                 "time_sensitive, form_id, form_version, state, site_id, inspection_id, "
	                 "discovered_at_ms, deadline_at_ms, content, created_at_ms) VALUES (?1, ?2, "
	                 "?3, ?4, ?5, ?6, ?7, ?8, ?9, 'submitted', ?10, ?11, ?12, ?13, ?14, ?15)");
	if (rc == FIC_OK) {
		sqlite3_bind_text(st, 1, id_out, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, sp->category, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, sp->area, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, sp->title, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, sp->report_to, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 6, sp->urgent);
		sqlite3_bind_int(st, 7, sp->time_sensitive);
		if (sp->form_id) {
			sqlite3_bind_text(st, 8, sp->form_id, -1, SQLITE_STATIC);
			sqlite3_bind_int(st, 9, sp->form_version);
		}
		if (sp->site_id)
			sqlite3_bind_text(st, 10, sp->site_id, -1, SQLITE_STATIC);
		if (sp->inspection_id)
			sqlite3_bind_text(st, 11, sp->inspection_id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 12, sp->discovered_at_ms);
		if (sp->urgent)
			sqlite3_bind_int64(st, 13, deadline);
		sqlite3_bind_text(st, 14, content, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 15, now);
		int src = sqlite3_step(st);
		rc = src == SQLITE_DONE ? FIC_OK : fic__db_err(store, src, "saving a lead");
		fic__release(store, st);
	}
	if (rc == FIC_OK)
		rc = fic__outbox_enqueue(store, "lead", id_out, "file",
		                         sp->urgent ? FIC_PRIORITY_URGENT : FIC_PRIORITY_LEAD, payload);
	if (rc == FIC_OK) {
		char detail[200];
		snprintf(detail, sizeof detail, "{\"category\":\"%s\",\"urgent\":%s}", sp->category,
		         sp->urgent ? "true" : "false");
		rc = fic__audit_append(store, "lead.file", "lead", id_out, detail);
	}
	if (rc == FIC_OK && sp->time_sensitive) {
		/* Re-inspect within one month of the report (非法行医 3.4.1). */
		char due[11];
		fic__days_format(fic__days_add_months(fic__local_day(store, sp->discovered_at_ms), 1), due);
		rc = fic__task_add(store, "reinspection", sp->site_id, id_out, "lead", due, sp->title);
	}
	fic__free(content);
	fic__free(payload);
	return rc;
}

int fic__lead_from_findings(cJSON *lead_ids, fic_store *store, const cJSON *site_facts,
                            const char *site_id, const char *inspection_id,
                            const char *checklist_id, int version, const char *area,
                            const char *site_name, const char *checklist_title,
                            const cJSON *findings, bool urgent, int64_t now)
{
	char title[600];
	int n = cJSON_GetArraySize(findings);
	const cJSON *first = cJSON_GetArrayItem(findings, 0);
	const cJSON *fz = cJSON_GetObjectItemCaseSensitive(first, "finding_zh");
	if (urgent)
		snprintf(title, sizeof title, "【紧急】%s：%s", site_name,
		         cJSON_IsString(fz) ? fz->valuestring : checklist_title);
	else
		snprintf(title, sizeof title, "%s：%s发现 %d 项异常", site_name, checklist_title, n);
	cJSON *content = cJSON_CreateObject();
	bool ok = content && cJSON_AddStringToObject(content, "inspection_id", inspection_id) &&
		  cJSON_AddStringToObject(content, "checklist", checklist_id) &&
		  cJSON_AddNumberToObject(content, "checklist_version", version) &&
		  fic__json_put(content, "site", cJSON_Duplicate(site_facts, true)) &&
		  fic__json_put(content, "findings", cJSON_Duplicate(findings, true));
	if (!ok) {
		cJSON_Delete(content);
		return fic__err(FIC_ENOMEM, "out of memory filing a lead");
	}
	fic__lead_spec spec = { "patrol_finding", area, title, "enforcement", urgent, false, NULL, 0,
		                site_id, inspection_id, now, content };
	char id[FIC_UUID_BUFSIZE];
	int rc = fic__lead_insert(id, store, &spec);
	cJSON_Delete(content);
	if (rc != FIC_OK)
		return rc;
	cJSON *s = cJSON_CreateString(id);
	if (s == NULL || !cJSON_AddItemToArray(lead_ids, s)) {
		cJSON_Delete(s);
		return fic__err(FIC_ENOMEM, "out of memory filing a lead");
	}
	return FIC_OK;
}

/* ---- filing a form ---- */

/* The text form of one JSON answer value (strings as is, numbers, arrays joined by commas). */
static int answer_text(char *buf, size_t size, const cJSON *v, const char *item)
{
	if (cJSON_IsString(v)) {
		if (strlen(v->valuestring) >= size)
			return fic__err(FIC_ETOOBIG, "answer to %s is too long", item);
		snprintf(buf, size, "%s", v->valuestring);
		return FIC_OK;
	}
	if (cJSON_IsNumber(v)) {
		snprintf(buf, size, "%.15g", v->valuedouble);
		return FIC_OK;
	}
	if (cJSON_IsArray(v)) {
		size_t used = 0;
		const cJSON *c;
		buf[0] = '\0';
		cJSON_ArrayForEach(c, v) {
			int n;
			if (cJSON_IsString(c))
				n = snprintf(buf + used, size - used, "%s%s", used ? "," : "", c->valuestring);
			else if (cJSON_IsNumber(c))
				n = snprintf(buf + used, size - used, "%s%.15g", used ? "," : "", c->valuedouble);
			else
				return fic__err(FIC_EINVAL, "answer to %s: list elements must be strings or "
				                            "numbers", item);
			if (n < 0 || (size_t)n >= size - used)
				return fic__err(FIC_ETOOBIG, "answer to %s is too long", item);
			used += (size_t)n;
		}
		return FIC_OK;
	}
	return fic__err(FIC_EINVAL, "answer to %s must be a string, number or list", item);
}

int fic_lead_file(char *id_out, fic_store *store, const char *form_id, const char *answers_json,
                  const char *site_id, int64_t discovered_at_ms)
{
	fic__err_clear();
	if (id_out == NULL || store == NULL)
		return fic__err(FIC_EINVAL, "id_out and store are required");
	id_out[0] = '\0';
	bool has_site = false;
	int rc = fic__check_text(form_id, "form id", 64, true, NULL);
	if (rc == FIC_OK)
		rc = fic__check_text(answers_json, "answers", ANSWERS_JSON_MAX, true, NULL);
	if (rc == FIC_OK)
		rc = fic__check_text(site_id, "site id", 63, false, &has_site);
	if (rc != FIC_OK)
		return rc;
	int64_t now = fic__now_ms(store);
	if (discovered_at_ms == 0)
		discovered_at_ms = now;
	if (discovered_at_ms < 946684800000LL /* 2000-01-01 */ ||
	    discovered_at_ms > now + CLOCK_SKEW_MS)
		return fic__err(FIC_EINVAL, "discovered_at_ms must be a past time (not in the future)");
	const fic__entry *e;
	if ((rc = fic__checklist_find(&e, store, form_id, 0)) != FIC_OK)
		return rc;
	const fic__def *def = e->def;
	if (!def->is_event)
		return fic__err(FIC_EINVAL, "%s is a patrol checklist, not a report form", form_id);

	unsigned long failed_before = fic__alloc_failures();
	cJSON *given = cJSON_ParseWithLength(answers_json, strlen(answers_json));
	cJSON *answers = cJSON_CreateObject(), *facts = NULL, *content = NULL;
	cJSON *missing = cJSON_CreateArray();
	fic_site *site = NULL;
	char *text = NULL;
	if (given == NULL || !cJSON_IsObject(given)) {
		rc = given != NULL ? fic__err(FIC_EINVAL, "answers must be a JSON object {item: answer}")
		     : fic__alloc_failures() != failed_before ? fic__err(FIC_ENOMEM, "out of memory")
							       : fic__err(FIC_EINVAL, "answers are not valid JSON");
		goto done;
	}
	if (answers == NULL || missing == NULL || (text = fic__malloc(4096)) == NULL) {
		rc = fic__err(FIC_ENOMEM, "out of memory filing a lead");
		goto done;
	}
	if (has_site) {
		if ((rc = fic_site_get(&site, store, site_id)) != FIC_OK)
			goto done;
		if (def->site_kinds) {
			bool fits = false;
			const cJSON *k;
			cJSON_ArrayForEach(k, def->site_kinds) {
				fits |= strcmp(k->valuestring, fic_site_code_str(FIC_CODE_KIND, site->kind)) == 0;
			}
			if (!fits) {
				rc = fic__err(FIC_EINVAL, "form %s is not for a site of kind %s", form_id,
				              fic_site_code_str(FIC_CODE_KIND, site->kind));
				goto done;
			}
		}
		if ((facts = fic__site_facts(site)) == NULL) {
			rc = fic__err(FIC_ENOMEM, "out of memory filing a lead");
			goto done;
		}
	}
	int64_t day = fic__local_day(store, discovered_at_ms);
	const cJSON *g;
	cJSON_ArrayForEach(g, given) {
		const fic__item *it = fic__def_item(def, g->string);
		if (it == NULL) {
			rc = fic__err(FIC_EINVAL, "form %s has no item '%.64s'", form_id, g->string);
			goto done;
		}
		if (cJSON_IsNull(g))
			continue;
		cJSON *v = NULL;
		if ((rc = answer_text(text, 4096, g, it->id)) != FIC_OK ||
		    (rc = fic__answer_parse(&v, it, text, day)) != FIC_OK)
			goto done;
		if (!cJSON_AddItemToObject(answers, it->id, v)) {
			cJSON_Delete(v);
			rc = fic__err(FIC_ENOMEM, "out of memory filing a lead");
			goto done;
		}
	}
	fic__ctx ctx = { def, answers, facts, day, NULL };
	for (size_t i = 0; i < def->nitems; i++) {
		const fic__item *it = &def->items[i];
		ctx.self = it;
		bool applies = !it->applies || fic__truth(fic__eval(&ctx, it->applies)) != 0;
		if (applies && it->required && fic__answer_val(&ctx, it).t == FIC_V_NULL) {
			cJSON *s = cJSON_CreateString(it->id);
			if (s == NULL || !cJSON_AddItemToArray(missing, s)) {
				cJSON_Delete(s);
				rc = fic__err(FIC_ENOMEM, "out of memory filing a lead");
				goto done;
			}
		}
	}
	if (cJSON_GetArraySize(missing) > 0) {
		char *m = cJSON_PrintUnformatted(missing);
		rc = fic__err(FIC_EINCOMPLETE, "form %s: required items not answered: %.400s", form_id,
		              m ? m : "");
		cJSON_free(m);
		goto done;
	}
	ctx.self = NULL;
	const cJSON *uw = cJSON_GetObjectItemCaseSensitive(def->lead, "urgent_when");
	const cJSON *tw = cJSON_GetObjectItemCaseSensitive(def->lead, "time_sensitive_when");
	bool urgent = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(def->lead, "urgent")) ||
		      (uw && fic__truth(fic__eval(&ctx, uw)) == 1);
	bool time_sensitive = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(def->lead, "time_sensitive")) ||
			      (tw && fic__truth(fic__eval(&ctx, tw)) == 1);
	const cJSON *cat = cJSON_GetObjectItemCaseSensitive(def->lead, "category");
	const cJSON *to = cJSON_GetObjectItemCaseSensitive(def->lead, "report_to");
	char title[600];
	snprintf(title, sizeof title, "%s%s%s%s", urgent ? "【紧急】" : "", def->title_zh,
	         site ? "：" : "", site ? site->name : "");
	content = cJSON_CreateObject();
	bool ok = content && cJSON_AddStringToObject(content, "form", def->id) &&
		  cJSON_AddNumberToObject(content, "form_version", def->version) &&
		  fic__json_put(content, "answers", cJSON_Duplicate(answers, true)) &&
		  fic__json_put(content, "site", facts ? cJSON_Duplicate(facts, true)
		                                               : cJSON_CreateNull()) &&
		  fic__json_put(content, "sections",
		                        cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(def->lead,
		                                                                         "sections"),
		                                        true));
	if (!ok) {
		rc = fic__err(FIC_ENOMEM, "out of memory filing a lead");
		goto done;
	}
	fic__lead_spec spec = { cat->valuestring, def->area, title, to->valuestring, urgent,
		                time_sensitive, def->id, def->version, has_site ? site_id : NULL,
		                NULL, discovered_at_ms, content };
	if ((rc = fic__tx_begin(store)) != FIC_OK)
		goto done;
	rc = fic__checklist_persist(store, e);
	if (rc == FIC_OK)
		rc = fic__lead_insert(id_out, store, &spec);
	rc = rc == FIC_OK ? fic__tx_commit(store) : rc;
	if (rc != FIC_OK) {
		fic__tx_rollback(store);
		id_out[0] = '\0';
	}
done:
	cJSON_Delete(given);
	cJSON_Delete(answers);
	cJSON_Delete(facts);
	cJSON_Delete(content);
	cJSON_Delete(missing);
	fic_site_free(site);
	fic__free(text);
	return rc;
}

/* ---- listing ---- */

void fic_lead_list_free(fic_lead_list *list)
{
	if (list == NULL)
		return;
	for (size_t i = 0; i < list->count; i++) {
		fic_lead_info *e = &list->entries[i];
		fic__free((char *)e->id);
		fic__free((char *)e->category);
		fic__free((char *)e->area);
		fic__free((char *)e->title);
		fic__free((char *)e->state);
		fic__free((char *)e->report_to);
		fic__free((char *)e->site_id);
	}
	fic__free(list->entries);
	fic__free(list);
}

static char *col_dup(sqlite3_stmt *st, int col, bool *oom)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	if (t == NULL)
		return NULL;
	char *d = fic__strdup((const char *)t);
	if (d == NULL)
		*oom = true;
	return d;
}

int fic_lead_list_get(fic_lead_list **out, fic_store *store, size_t limit)
{
	fic__err_clear();
	if (out == NULL)
		return fic__err(FIC_EINVAL, "out is NULL");
	*out = NULL;
	if (store == NULL)
		return fic__err(FIC_EINVAL, "store is NULL");
	sqlite3_stmt *st;
	int rc = fic__prepare(store, &st,
	                      "SELECT id, category, area, title, state, report_to, site_id, urgent, "
	                      "discovered_at_ms, deadline_at_ms FROM leads ORDER BY urgent DESC, "
	                      "CASE WHEN urgent THEN deadline_at_ms END, discovered_at_ms DESC, id "
	                      "LIMIT ?1");
	if (rc != FIC_OK)
		return rc;
	sqlite3_bind_int64(st, 1, limit == 0 || limit > INT64_MAX ? -1 : (int64_t)limit);
	int64_t now = fic__now_ms(store);
	fic_lead_list *list = fic__calloc(1, sizeof *list);
	size_t cap = 0;
	int src = SQLITE_DONE;
	if (list == NULL)
		rc = fic__err(FIC_ENOMEM, "out of memory listing leads");
	while (rc == FIC_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
		if (list->count == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			fic_lead_info *n = fic__realloc(list->entries, ncap * sizeof *n);
			if (n == NULL) {
				rc = fic__err(FIC_ENOMEM, "out of memory listing leads");
				break;
			}
			list->entries = n;
			cap = ncap;
		}
		fic_lead_info *e = &list->entries[list->count++];
		memset(e, 0, sizeof *e);
		bool oom = false;
		e->id = col_dup(st, 0, &oom);
		e->category = col_dup(st, 1, &oom);
		e->area = col_dup(st, 2, &oom);
		e->title = col_dup(st, 3, &oom);
		e->state = col_dup(st, 4, &oom);
		e->report_to = col_dup(st, 5, &oom);
		e->site_id = col_dup(st, 6, &oom);
		e->urgent = sqlite3_column_int(st, 7);
		e->discovered_at_ms = sqlite3_column_int64(st, 8);
		e->deadline_at_ms = sqlite3_column_int64(st, 9);
		e->remaining_ms = e->urgent ? e->deadline_at_ms - now : 0;
		if (oom)
			rc = fic__err(FIC_ENOMEM, "out of memory listing leads");
	}
	if (rc == FIC_OK && src != SQLITE_DONE)
		rc = fic__db_err(store, src, "listing leads");
	sqlite3_finalize(st);
	if (rc != FIC_OK) {
		fic_lead_list_free(list);
		return rc;
	}
	*out = list;
	return FIC_OK;
}

int fic_lead_get_json(char **out, fic_store *store, const char *lead_id)
{
	fic__err_clear();
	if (out == NULL)
		return fic__err(FIC_EINVAL, "out is NULL");
	*out = NULL;
	if (store == NULL)
		return fic__err(FIC_EINVAL, "store is NULL");
	int rc = fic__check_text(lead_id, "lead id", 63, true, NULL);
	if (rc != FIC_OK)
		return rc;
	sqlite3_stmt *st;
	if ((rc = fic__prepare(store, &st,
	                       "SELECT id, category, area, title, state, report_to, site_id, "
	                       "inspection_id, urgent, time_sensitive, discovered_at_ms, "
	                       "deadline_at_ms, form_id, form_version, content FROM leads WHERE id = ?1")))
		return rc;
	sqlite3_bind_text(st, 1, lead_id, -1, SQLITE_STATIC);
	int src = sqlite3_step(st);
	if (src != SQLITE_ROW) {
		rc = src == SQLITE_DONE ? fic__err(FIC_ENOTFOUND, "no lead %s", lead_id)
					: fic__db_err(store, src, "reading a lead");
		sqlite3_finalize(st);
		return rc;
	}
	cJSON *o = cJSON_CreateObject();
	const char *keys[] = { "id", "category", "area", "title", "state", "report_to", "site_id",
		               "inspection_id" };
	bool ok = o != NULL;
	for (int i = 0; ok && i < 8; i++) {
		const char *v = (const char *)sqlite3_column_text(st, i);
		ok = v == NULL || cJSON_AddStringToObject(o, keys[i], v);
	}
	bool urgent = sqlite3_column_int(st, 8);
	int64_t deadline = sqlite3_column_int64(st, 11);
	const char *content = (const char *)sqlite3_column_text(st, 14);
	cJSON *c = content ? cJSON_Parse(content) : NULL;
	ok = ok && c && cJSON_AddBoolToObject(o, "urgent", urgent) &&
	     cJSON_AddBoolToObject(o, "time_sensitive", sqlite3_column_int(st, 9)) &&
	     cJSON_AddNumberToObject(o, "discovered_at_ms", (double)sqlite3_column_int64(st, 10)) &&
	     (!urgent || (cJSON_AddNumberToObject(o, "deadline_at_ms", (double)deadline) &&
	                  cJSON_AddNumberToObject(o, "remaining_ms",
	                                          (double)(deadline - fic__now_ms(store))))) &&
	     (sqlite3_column_type(st, 12) == SQLITE_NULL ||
	      (cJSON_AddStringToObject(o, "form", (const char *)sqlite3_column_text(st, 12)) &&
	       cJSON_AddNumberToObject(o, "form_version", sqlite3_column_int(st, 13)))) &&
	     cJSON_AddItemToObject(o, "content", c);
	if (!ok && c && cJSON_GetObjectItemCaseSensitive(o, "content") != c)
		cJSON_Delete(c);
	sqlite3_finalize(st);
	*out = ok ? cJSON_Print(o) : NULL;
	cJSON_Delete(o);
	return *out ? FIC_OK : fic__err(FIC_ENOMEM, "out of memory writing JSON");
}
