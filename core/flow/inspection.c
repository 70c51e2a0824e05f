/*
 * core/flow/inspection.c — running a checklist on a site: start, answer, note,
 * site findings, live evaluation, finish (findings → leads), and the
 * inspection opinion (巡查意见).
 *
 * Judging is always done with the exact checklist version the inspection
 * started with, on the inspection's own date and the site facts as they were
 * when it started (kept in the inspection row), so re-reading an old
 * inspection gives the same findings.
 *
 * How findings group into leads (documented in docs/checklists.md): every
 * finding subject to a two-hour rule (item flag urgent_when_abnormal) becomes
 * its own urgent lead, so each has its own clock and goes first; all other
 * findings of one inspection become one lead, which is how the agency
 * handles a visit.
 */
#include "flow.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

typedef struct insp {
	char id[FIC_UUID_BUFSIZE];
	char site_id[FIC_UUID_BUFSIZE];
	char state[16];
	char date[11];
	int64_t day;
	const fic__entry *entry;
	cJSON *site_facts;  /* owned */
	cJSON *answers;     /* owned: item -> value */
	cJSON *notes;       /* owned: item -> note */
	cJSON *site_finding;/* owned or NULL */
	cJSON *findings;    /* owned or NULL (finished) */
	char *inspector;    /* owned */
	char visit_mode[16];/* announced, unannounced or "" */
	int64_t started_at_ms, finished_at_ms;
} insp;

static void insp_free(insp *in)
{
	cJSON_Delete(in->site_facts);
	cJSON_Delete(in->answers);
	cJSON_Delete(in->notes);
	cJSON_Delete(in->site_finding);
	cJSON_Delete(in->findings);
	fic__free(in->inspector);
	memset(in, 0, sizeof *in);
}

static int check_ids(fic_store *store, const char *id, const char *what)
{
	FIC__ARG(store);
	return fic__check_text(id, what, 63, true, NULL);
}

static cJSON *parse_col(sqlite3_stmt *st, int col)
{
	const char *t = (const char *)sqlite3_column_text(st, col);
	return t ? cJSON_Parse(t) : NULL;
}

/* Load an inspection with its answers and notes. */
static int insp_load(insp *in, fic_store *store, const char *id)
{
	memset(in, 0, sizeof *in);
	sqlite3_stmt *st;
	int rc = fic__row_by_key(store, &st, "SELECT id, site_id, state, inspection_date, checklist_id, "
	                      "checklist_version, site_facts, site_finding, findings, inspector, "
	                      "started_at_ms, finished_at_ms, visit_mode FROM inspections WHERE id = ?1",
	                      id, "inspection");
	if (rc != FIC_OK)
		return rc;
	snprintf(in->id, sizeof in->id, "%s", (const char *)sqlite3_column_text(st, 0));
	snprintf(in->site_id, sizeof in->site_id, "%s", (const char *)sqlite3_column_text(st, 1));
	snprintf(in->state, sizeof in->state, "%s", (const char *)sqlite3_column_text(st, 2));
	snprintf(in->date, sizeof in->date, "%s", (const char *)sqlite3_column_text(st, 3));
	char cid[80];
	snprintf(cid, sizeof cid, "%s", (const char *)sqlite3_column_text(st, 4));
	int cver = sqlite3_column_int(st, 5);
	in->site_facts = parse_col(st, 6);
	in->site_finding = parse_col(st, 7);
	in->findings = parse_col(st, 8);
	const char *who = (const char *)sqlite3_column_text(st, 9);
	in->inspector = fic__strdup(who ? who : "unknown");
	in->started_at_ms = sqlite3_column_int64(st, 10);
	in->finished_at_ms = sqlite3_column_int64(st, 11);
	const char *mode = (const char *)sqlite3_column_text(st, 12);
	snprintf(in->visit_mode, sizeof in->visit_mode, "%s", mode ? mode : "");
	sqlite3_finalize(st);
	if (in->site_facts == NULL || in->inspector == NULL) {
		insp_free(in);
		return fic__err(FIC_ENOMEM, "out of memory reading an inspection");
	}
	if ((rc = fic__parse_date(in->date, "inspection date", &in->day)) != FIC_OK ||
	    (rc = fic__checklist_find(&in->entry, store, cid, cver)) != FIC_OK) {
		insp_free(in);
		return rc;
	}
	in->answers = cJSON_CreateObject();
	in->notes = cJSON_CreateObject();
	if (!in->answers || !in->notes) {
		insp_free(in);
		return fic__err(FIC_ENOMEM, "out of memory reading an inspection");
	}
	if ((rc = fic__prepare(store, &st, "SELECT item_id, value, note FROM answers WHERE "
	                                   "inspection_id = ?1")) != FIC_OK) {
		insp_free(in);
		return rc;
	}
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	int src;
	while (rc == FIC_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
		const char *item = (const char *)sqlite3_column_text(st, 0);
		if (sqlite3_column_type(st, 1) != SQLITE_NULL) {
			cJSON *v = parse_col(st, 1);
			if (v == NULL || !cJSON_AddItemToObject(in->answers, item, v)) {
				cJSON_Delete(v);
				rc = fic__err(FIC_ENOMEM, "out of memory reading answers");
			}
		}
		const char *note = (const char *)sqlite3_column_text(st, 2);
		if (rc == FIC_OK && note && cJSON_AddStringToObject(in->notes, item, note) == NULL)
			rc = fic__err(FIC_ENOMEM, "out of memory reading answers");
	}
	if (rc == FIC_OK && src != SQLITE_DONE)
		rc = fic__db_err(store, src, "reading answers");
	sqlite3_finalize(st);
	if (rc != FIC_OK)
		insp_free(in);
	return rc;
}

/* ---- judging ---- */

typedef struct judged {
	bool applies, answered, abnormal, needs_photo, missing;
} judged;

static int photo_count(fic_store *store, const char *insp_id, const char *item_id, int64_t *n)
{
	return fic__query_int(store, n, "SELECT count(*) FROM photos WHERE owner_type = 'inspection' "
	                                "AND owner_id = ?1 AND item_id = ?2",
	                      "counting photos", "tt", insp_id, item_id);
}

/* Whether the inspector found the site closed: then nothing is left to check. */
static bool found_closed(const insp *in)
{
	const char *st = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(in->site_finding, "status"));
	return st && strcmp(st, "closed") == 0;
}

static int judge(fic_store *store, const insp *in, const fic__item *it, judged *j)
{
	fic__ctx ctx = { in->entry->def, in->answers, in->site_facts, in->day, it };
	memset(j, 0, sizeof *j);
	if (found_closed(in))
		return FIC_OK; /* 长期未经营/已关闭: no item applies */
	j->applies = it->applies ? fic__truth(fic__eval(&ctx, it->applies)) != 0 : true;
	if (!j->applies)
		return FIC_OK;
	j->answered = fic__answer_val(&ctx, it).t != FIC_V_NULL;
	j->missing = it->required && !j->answered;
	j->abnormal = j->answered && it->abnormal && fic__truth(fic__eval(&ctx, it->abnormal)) == 1;
	if (j->abnormal && it->photo_when_abnormal) {
		int64_t n = 0;
		int rc = photo_count(store, in->id, it->id, &n);
		if (rc != FIC_OK)
			return rc;
		j->needs_photo = n == 0;
	}
	return FIC_OK;
}

static const char *text_of(const cJSON *node, const char *key, const char *lang)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(node, key);
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(t, lang);
	return cJSON_IsString(s) ? s->valuestring : NULL;
}

/* A finding as JSON: item, sections, label, answer, reason (zh/en), basis, urgent. */
static cJSON *finding_json(const insp *in, const fic__item *it)
{
	cJSON *f = cJSON_CreateObject();
	if (f == NULL)
		return NULL;
	const char *zh = text_of(it->node, "finding", "zh");
	const char *en = text_of(it->node, "finding", "en");
	char fallback_zh[600], fallback_en[600];
	const cJSON *ans = cJSON_GetObjectItemCaseSensitive(in->answers, it->id);
	char *ans_text = ans ? cJSON_PrintUnformatted(ans) : NULL;
	if (zh == NULL) {
		snprintf(fallback_zh, sizeof fallback_zh, "%s：%s", text_of(it->node, "label", "zh"),
		         ans_text ? ans_text : "");
		zh = fallback_zh;
	}
	if (en == NULL) {
		snprintf(fallback_en, sizeof fallback_en, "%s: %s", text_of(it->node, "label", "en"),
		         ans_text ? ans_text : "");
		en = fallback_en;
	}
	const cJSON *basis = cJSON_GetObjectItemCaseSensitive(it->node, "basis");
	const cJSON *note = cJSON_GetObjectItemCaseSensitive(in->notes, it->id);
	cJSON *sec = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(it->node, "sections"), true);
	cJSON *a = ans ? cJSON_Duplicate(ans, true) : cJSON_CreateNull();
	bool ok = ans_text != NULL && sec && a && cJSON_AddStringToObject(f, "item", it->id) &&
		  cJSON_AddItemToObject(f, "sections", sec) &&
		  (sec = NULL, cJSON_AddStringToObject(f, "label", text_of(it->node, "label", "zh"))) &&
		  cJSON_AddItemToObject(f, "answer", a) && (a = NULL, true) &&
		  cJSON_AddStringToObject(f, "finding_zh", zh) &&
		  cJSON_AddStringToObject(f, "finding_en", en) &&
		  (!cJSON_IsString(basis) || cJSON_AddStringToObject(f, "basis", basis->valuestring)) &&
		  (!cJSON_IsString(note) || cJSON_AddStringToObject(f, "note", note->valuestring)) &&
		  cJSON_AddBoolToObject(f, "urgent", it->urgent || it->immediate) &&
		  (!(it->urgent || it->immediate) ||
		   cJSON_AddStringToObject(f, "urgency", it->immediate ? "immediate" : "two_hours")) &&
		  (!it->time_sensitive || cJSON_AddBoolToObject(f, "time_sensitive", true));
	cJSON_free(ans_text);
	cJSON_Delete(sec);
	cJSON_Delete(a);
	if (!ok) {
		cJSON_Delete(f);
		return NULL;
	}
	return f;
}

/* Has this inspection already filed the urgent lead for `item_id`? */
static int urgent_lead_filed(fic_store *store, const char *insp_id, const char *item_id, bool *filed)
{
	int64_t n = 0;
	int rc = fic__query_int(store, &n, "SELECT count(*) FROM leads WHERE inspection_id = ?1 AND "
	                                   "urgent >= 1 AND category = 'patrol_finding' AND "
	                                   "json_extract(content, '$.findings[0].item') = ?2",
	                        "looking for a lead", "tt", insp_id, item_id);
	*filed = n > 0;
	return rc;
}

/* The urgency of an item's finding (FIC_URGENCY_*). */
static int item_urgency(const fic__item *it)
{
	return it->immediate ? FIC_URGENCY_IMMEDIATE
	       : it->urgent  ? FIC_URGENCY_TWO_HOURS : FIC_URGENCY_NONE;
}

/* Whether any finding of `group` asks for a re-inspection within a month. */
static bool any_time_sensitive(const cJSON *group)
{
	const cJSON *f;
	cJSON_ArrayForEach(f, group) {
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "time_sensitive")))
			return true;
	}
	return false;
}

/* The urgency of a finding as recorded in its JSON. */
static int finding_urgency(const cJSON *f)
{
	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "urgent")))
		return FIC_URGENCY_NONE;
	const char *u = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "urgency"));
	return u && strcmp(u, "immediate") == 0 ? FIC_URGENCY_IMMEDIATE : FIC_URGENCY_TWO_HOURS;
}

/*
 * A finding under a two-hour rule — or one to report immediately — is
 * reported the moment it is recorded, not when the inspection is finished
 * (which may wait for other answers or photos): its clock starts now.
 */
static int file_urgent_now(fic_store *store, const insp *in, const fic__item *it)
{
	judged j;
	int rc = judge(store, in, it, &j);
	bool filed = false;
	if (rc != FIC_OK || !j.abnormal || (rc = urgent_lead_filed(store, in->id, it->id, &filed)) != FIC_OK ||
	    filed)
		return rc;
	cJSON *group = cJSON_CreateArray(), *lead_ids = cJSON_CreateArray();
	if (!group || !lead_ids || !fic__json_put(group, NULL, finding_json(in, it))) {
		cJSON_Delete(group);
		cJSON_Delete(lead_ids);
		return fic__err(FIC_ENOMEM, "out of memory filing an urgent lead");
	}
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(in->site_facts, "name");
	const fic__def *def = in->entry->def;
	rc = fic__lead_from_findings(lead_ids, store, in->site_facts, in->site_id, in->id, def->id,
	                             def->version, def->area, cJSON_IsString(name) ? name->valuestring : "",
	                             def->title_zh, group, item_urgency(it), false, fic__now_ms(store));
	cJSON_Delete(group);
	cJSON_Delete(lead_ids);
	return rc;
}

/* ---- start ---- */

/* The site an inspection with `e` may start at: the checklist is for its
 * kind, and it is not closed. */
static int site_for(fic_site **out, fic_store *store, const fic__entry *e, const char *site_id)
{
	int rc = fic_site_get(out, store, site_id);
	if (rc != FIC_OK)
		return rc;
	if (!fic__def_fits_kind(e->def, (*out)->kind))
		rc = fic__err(FIC_EINVAL, "checklist %s is not for a site of kind %s", e->def->id,
		              fic_site_code_str(FIC_CODE_KIND, (*out)->kind));
	else if ((*out)->status == FIC_SITE_CLOSED)
		rc = fic__err(FIC_ESTATE, "site %s is closed", site_id);
	if (rc != FIC_OK) {
		fic_site_free(*out);
		*out = NULL;
	}
	return rc;
}

static int insert_inspection(fic_store *store, const char *id, const char *site_id,
                             const fic__entry *e, const char *date, const char *facts_text,
                             int64_t now)
{
	sqlite3_stmt *st;
	int rc = fic__prepare(store, &st,
	                      "INSERT INTO inspections (id, site_id, checklist_id, checklist_version, "
	                      "area, inspection_date, inspector, site_facts, started_at_ms, t_device_ms, "
	                      "t_mono_ms, t_boot_id, t_trusted_ms, t_uncertainty_ms, t_flags) "
	                      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)");
	if (rc != FIC_OK)
		return rc;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, site_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, e->def->id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, e->def->version);
	sqlite3_bind_text(st, 5, e->def->area, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, date, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, store->actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, facts_text, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 9, now);
	fic_time t;
	rc = fic__time_now(store, &t);
	fic__time_bind(st, 10, &t);
	int src = rc == FIC_OK ? sqlite3_step(st) : SQLITE_DONE;
	sqlite3_finalize(st);
	if (rc == FIC_OK && src != SQLITE_DONE)
		rc = fic__db_err(store, src, "saving the inspection");
	return rc;
}

/* An answer or note row (sql takes ?1 inspection, ?2 item, ?3 text, ?4 time). */
static int upsert_item(fic_store *store, const char *sql, const char *insp_id, const char *item_id,
                       const char *text, const char *doing)
{
	sqlite3_stmt *st;
	int rc = fic__cached(store, &st, sql);
	if (rc != FIC_OK)
		return rc;
	sqlite3_bind_text(st, 1, insp_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, item_id, -1, SQLITE_STATIC);
	if (text)
		sqlite3_bind_text(st, 3, text, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, fic__now_ms(store));
	int src = sqlite3_step(st);
	rc = src == SQLITE_DONE ? FIC_OK : fic__db_err(store, src, doing);
	fic__release(store, st);
	return rc;
}

/* Prefill one item from the registry's facts; a fact that does not fit the
 * item is not offered. */
static int prefill_item(fic_store *store, const char *id, const fic__item *it,
                        const cJSON *facts, int64_t day)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(facts, it->prefill + 5);
	char text[64];
	if (cJSON_IsBool(f))
		snprintf(text, sizeof text, "%s", cJSON_IsTrue(f) ? "yes" : "no");
	else if (cJSON_IsNumber(f))
		snprintf(text, sizeof text, "%d", (int)f->valuedouble);
	else if (cJSON_IsString(f))
		snprintf(text, sizeof text, "%s", f->valuestring);
	else
		return FIC_OK;
	cJSON *v = NULL;
	int rc = fic__answer_parse(&v, it, text, day);
	if (rc != FIC_OK && rc != FIC_ENOMEM) {
		fic__err_clear();
		return FIC_OK;
	}
	char *vt = rc == FIC_OK ? cJSON_PrintUnformatted(v) : NULL;
	cJSON_Delete(v);
	if (vt == NULL)
		return fic__err(FIC_ENOMEM, "out of memory prefilling answers");
	rc = upsert_item(store, "INSERT INTO answers (inspection_id, item_id, value, prefilled, "
	                        "answered_at_ms) VALUES (?1, ?2, ?3, 1, ?4)",
	                 id, it->id, vt, "prefilling answers");
	fic__free(vt);
	return rc;
}

/* The visit's mode and scan, inside the start's transaction. */
static int start_options(fic_store *store, const char *id, const char *site_id,
                         const fic__entry *e, const fic_inspection_options *o, int64_t day)
{
	static const char *const modes[] = { NULL, "announced", "unannounced" };
	int rc = FIC_OK;
	if (o->visit_mode != FIC_VISIT_UNSAID)
		rc = fic__exec(store, "UPDATE inspections SET visit_mode = ?2 WHERE id = ?1",
		               "recording the visit's mode", "tt", id, modes[o->visit_mode]);
	if (rc == FIC_OK && o->scan_id && o->scan_id[0])
		rc = fic__scan_start_visit(store, o->scan_id, id, site_id, e->def, day);
	return rc;
}

int fic_inspection_start(char *id_out, fic_store *store, const char *site_id,
                         const char *checklist_id)
{
	return fic_inspection_start_opts(id_out, store, site_id, checklist_id, NULL);
}

int fic_inspection_start_opts(char *id_out, fic_store *store, const char *site_id,
                              const char *checklist_id, const fic_inspection_options *opts)
{
	fic__err_clear();
	FIC__ARG(id_out);
	id_out[0] = '\0';
	fic_inspection_options none = FIC_INSPECTION_OPTIONS_INIT;
	const fic_inspection_options *o = opts ? opts : &none;
	if (o->version != FIC_INSPECTION_OPTIONS_VERSION)
		return fic__err(FIC_EINVAL, "inspection options: unknown version %u", o->version);
	if (o->visit_mode < FIC_VISIT_UNSAID || o->visit_mode > FIC_VISIT_UNANNOUNCED)
		return fic__err(FIC_EINVAL, "visit_mode must be a fic_visit_mode");
	if (o->scan_id && fic__check_text(o->scan_id, "scan id", FIC_ID_MAX, false, NULL) != FIC_OK)
		return fic_error_last()->code;
	int rc = check_ids(store, site_id, "site id");
	if (rc == FIC_OK)
		rc = fic__check_text(checklist_id, "checklist id", 64, true, NULL);
	const fic__entry *e;
	if (rc != FIC_OK || (rc = fic__checklist_find(&e, store, checklist_id, 0)) != FIC_OK)
		return rc;
	if (e->def->is_event)
		return fic__err(FIC_EINVAL, "%s is an event form: file it with fic_lead_file",
		                checklist_id);
	fic_site *site = NULL;
	if ((rc = site_for(&site, store, e, site_id)) != FIC_OK)
		return rc;
	char id[FIC_UUID_BUFSIZE], date[11];
	int64_t now = fic__now_ms(store);
	int64_t day = fic__local_day(store, now);
	fic__days_format(day, date);
	cJSON *facts = fic__site_facts(site);
	char *facts_text = facts ? cJSON_PrintUnformatted(facts) : NULL;
	fic_site_free(site);
	if (facts_text == NULL)
		rc = fic__err(FIC_ENOMEM, "out of memory starting an inspection");
	if (rc == FIC_OK && (rc = fic__uuid7(store, id)) == FIC_OK &&
	    (rc = fic__tx_begin(store)) == FIC_OK) {
		rc = fic__checklist_persist(store, e);
		if (rc == FIC_OK)
			rc = insert_inspection(store, id, site_id, e, date, facts_text, now);
		for (size_t i = 0; rc == FIC_OK && i < e->def->nitems; i++)
			if (e->def->items[i].prefill)
				rc = prefill_item(store, id, &e->def->items[i], facts, day);
		if (rc == FIC_OK)
			rc = start_options(store, id, site_id, e, o, day);
		if (rc == FIC_OK) {
			cJSON *d = cJSON_CreateObject();
			bool ok = d && cJSON_AddStringToObject(d, "site", site_id) &&
			          cJSON_AddStringToObject(d, "checklist", e->def->id) &&
			          cJSON_AddNumberToObject(d, "version", e->def->version) &&
			          (o->visit_mode == FIC_VISIT_UNSAID ||
			           cJSON_AddNumberToObject(d, "visit_mode", o->visit_mode));
			rc = fic__audit_take(store, "inspection.start", "inspection", id, d, ok);
		}
		rc = fic__tx_end(store, rc);
	}
	cJSON_Delete(facts);
	fic__free(facts_text);
	if (rc == FIC_OK)
		memcpy(id_out, id, FIC_UUID_BUFSIZE);
	return rc;
}

/* ---- answers and notes ---- */

/* Open transaction + loaded open inspection + the item. */
static int begin_edit(insp *in, const fic__item **item, fic_store *store, const char *insp_id,
                      const char *item_id)
{
	int rc = check_ids(store, insp_id, "inspection id");
	if (rc == FIC_OK)
		rc = fic__check_text(item_id, "item id", 64, true, NULL);
	if (rc != FIC_OK)
		return rc;
	if ((rc = fic__tx_begin(store)) != FIC_OK)
		return rc;
	if ((rc = insp_load(in, store, insp_id)) != FIC_OK)
		return fic__tx_end(store, rc);
	if (strcmp(in->state, "open") != 0) {
		rc = fic__err(FIC_ESTATE, "inspection %s is finished; its answers are final", insp_id);
	} else if ((*item = fic__def_item(in->entry->def, item_id)) == NULL) {
		rc = fic__err(FIC_ENOTFOUND, "checklist %s has no item %s", in->entry->def->id, item_id);
	}
	if (rc != FIC_OK) {
		insp_free(in);
		fic__tx_end(store, rc);
	}
	return rc;
}

static int end_edit(insp *in, fic_store *store, int rc)
{
	insp_free(in);
	rc = fic__tx_end(store, rc);
	return rc;
}

/* Write one column of an item's answers row (value or note) with `sql`: ?1
 * inspection, ?2 item, ?3 text (NULL clears), ?4 now. */

int fic_inspection_answer(fic_store *store, const char *inspection_id, const char *item_id,
                          const char *value)
{
	fic__err_clear();
	insp in;
	const fic__item *it = NULL;
	int rc = begin_edit(&in, &it, store, inspection_id, item_id);
	if (rc != FIC_OK)
		return rc;
	cJSON *v = NULL;
	char *vt = NULL;
	if (value != NULL) {
		if ((rc = fic__answer_parse(&v, it, value, in.day)) == FIC_OK &&
		    (vt = cJSON_PrintUnformatted(v)) == NULL)
			rc = fic__err(FIC_ENOMEM, "out of memory saving an answer");
	}
	if (rc == FIC_OK)
		rc = upsert_item(store,
		                 "INSERT INTO answers (inspection_id, item_id, value, prefilled, "
		                 "answered_at_ms) VALUES (?1, ?2, ?3, 0, ?4) ON CONFLICT (inspection_id, "
		                 "item_id) DO UPDATE SET value = excluded.value, prefilled = 0, "
		                 "answered_at_ms = excluded.answered_at_ms",
		                 in.id, it->id, vt, "saving an answer");
	if (rc == FIC_OK) {
		/* The audit keeps what was answered; sensitive items only that they were. */
		cJSON *d = cJSON_CreateObject();
		bool ok = d && cJSON_AddStringToObject(d, "item", it->id) &&
		          ((it->sensitive || v == NULL)
		                   ? cJSON_AddBoolToObject(d, "answered", v != NULL) != NULL
		                   : fic__json_put(d, "value", cJSON_Duplicate(v, true)));
		rc = fic__audit_take(store, "inspection.answer", "inspection", in.id, d, ok);
	}
	if (rc == FIC_OK && (it->urgent || it->immediate) && v != NULL) {
		cJSON_DeleteItemFromObjectCaseSensitive(in.answers, it->id);
		rc = fic__json_put(in.answers, it->id, cJSON_Duplicate(v, true))
			     ? file_urgent_now(store, &in, it)
			     : fic__err(FIC_ENOMEM, "out of memory");
	}
	cJSON_Delete(v);
	fic__free(vt);
	return end_edit(&in, store, rc);
}

int fic_inspection_note(fic_store *store, const char *inspection_id, const char *item_id,
                        const char *note)
{
	fic__err_clear();
	bool present = false;
	int rc = fic__check_text(note, "note", 2000, false, &present);
	if (rc != FIC_OK)
		return rc;
	insp in;
	const fic__item *it = NULL;
	if ((rc = begin_edit(&in, &it, store, inspection_id, item_id)) != FIC_OK)
		return rc;
	rc = upsert_item(store,
	                 "INSERT INTO answers (inspection_id, item_id, note, answered_at_ms) "
	                 "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (inspection_id, item_id) DO UPDATE "
	                 "SET note = excluded.note",
	                 in.id, it->id, present ? note : NULL, "saving a note");
	if (rc == FIC_OK) {
		cJSON *d = cJSON_CreateObject();
		bool ok = d && cJSON_AddStringToObject(d, "item", it->id) &&
		          cJSON_AddBoolToObject(d, "note", present);
		rc = fic__audit_take(store, "inspection.note", "inspection", in.id, d, ok);
	}
	return end_edit(&in, store, rc);
}

/* ---- site findings ---- */

int fic_inspection_report_site(fic_store *store, const char *inspection_id, int finding,
                               const char *reason, const fic_site *changes)
{
	fic__err_clear();
	int rc = check_ids(store, inspection_id, "inspection id");
	if (rc == FIC_OK)
		rc = fic__check_text(reason, "reason", FIC_REASON_MAX, true, NULL);
	if (rc != FIC_OK)
		return rc;
	if (finding != FIC_FOUND_CLOSED && finding != FIC_FOUND_CHANGED)
		return fic__err(FIC_EINVAL, "finding must be FIC_FOUND_CLOSED or FIC_FOUND_CHANGED");
	if ((finding == FIC_FOUND_CHANGED) != (changes != NULL))
		return fic__err(FIC_EINVAL, "changes are given with FIC_FOUND_CHANGED, and only then");
	fic_site given;
	if (changes) {
		if ((rc = fic__site_in(&given, changes)) != FIC_OK)
			return rc;
		changes = &given;
	}
	if ((rc = fic__tx_begin(store)) != FIC_OK)
		return rc;
	insp in;
	if ((rc = insp_load(&in, store, inspection_id)) != FIC_OK)
		return fic__tx_end(store, rc);
	if (strcmp(in.state, "open") != 0)
		rc = fic__err(FIC_ESTATE, "inspection %s is finished", inspection_id);
	else if (changes && (changes->id == NULL || strcmp(changes->id, in.site_id) != 0))
		rc = fic__err(FIC_EINVAL, "changes must be for the inspected site %s", in.site_id);
	else if (finding == FIC_FOUND_CLOSED)
		rc = fic__site_close_tx(store, in.site_id, reason);
	else
		rc = fic__site_update_tx(NULL, store, changes, reason);

	const char *what = finding == FIC_FOUND_CLOSED ? "closed" : "changed";
	cJSON *sf = rc == FIC_OK ? cJSON_CreateObject() : NULL;
	char *sft = NULL;
	if (rc == FIC_OK) {
		if (sf && cJSON_AddStringToObject(sf, "status", what) &&
		    cJSON_AddStringToObject(sf, "reason", reason))
			sft = cJSON_PrintUnformatted(sf);
		if (sft == NULL)
			rc = fic__err(FIC_ENOMEM, "out of memory recording a site finding");
	}
	sqlite3_stmt *st;
	if (rc == FIC_OK &&
	    (rc = fic__prepare(store, &st, "UPDATE inspections SET site_finding = ?2 WHERE id = ?1")) ==
		    FIC_OK) {
		sqlite3_bind_text(st, 1, in.id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, sft, -1, SQLITE_STATIC);
		int src = sqlite3_step(st);
		sqlite3_finalize(st);
		rc = src == SQLITE_DONE ? FIC_OK : fic__db_err(store, src, "recording a site finding");
	}
	if (rc == FIC_OK) {
		/* The site-status lead (实施方案 服务方法1(3)): a draft until the
		 * inspection finishes with its proof photo. */
		cJSON *after = NULL;
		fic_site *now = NULL;
		if ((rc = fic_site_get(&now, store, in.site_id)) == FIC_OK &&
		    (after = fic__site_facts(now)) == NULL)
			rc = fic__err(FIC_ENOMEM, "out of memory filing a site-status lead");
		fic_site_free(now);
		char lead_id[FIC_UUID_BUFSIZE];
		if (rc == FIC_OK)
			rc = fic__site_status_lead(lead_id, store, in.site_id, in.id, finding, reason,
			                           finding == FIC_FOUND_CHANGED ? in.site_facts : NULL, after);
		cJSON_Delete(after);
	}
	cJSON_Delete(sf);
	fic__free(sft);
	return end_edit(&in, store, rc);
}

/* ---- the whole inspection as JSON ---- */

static cJSON *str_list(void)
{
	return cJSON_CreateArray();
}

static bool push_str(cJSON *arr, const char *s)
{
	cJSON *v = cJSON_CreateString(s);
	if (v == NULL || !cJSON_AddItemToArray(arr, v)) {
		cJSON_Delete(v);
		return false;
	}
	return true;
}

/*
 * Judge every item. Fills `missing` and `photos` (arrays of item ids) and
 * `findings` (array of finding objects); `items` (optional) gets the full
 * per-item view.
 */
static int judge_all(fic_store *store, const insp *in, cJSON *missing, cJSON *photos,
                     cJSON *findings, cJSON *items)
{
	const fic__def *def = in->entry->def;
	for (size_t i = 0; i < def->nitems; i++) {
		const fic__item *it = &def->items[i];
		judged j;
		int rc = judge(store, in, it, &j);
		if (rc != FIC_OK)
			return rc;
		if (j.missing && !push_str(missing, it->id))
			return fic__err(FIC_ENOMEM, "out of memory");
		if (j.needs_photo && !push_str(photos, it->id))
			return fic__err(FIC_ENOMEM, "out of memory");
		if (j.abnormal) {
			cJSON *f = finding_json(in, it);
			if (f == NULL || !cJSON_AddItemToArray(findings, f)) {
				cJSON_Delete(f);
				return fic__err(FIC_ENOMEM, "out of memory");
			}
		}
		if (items == NULL)
			continue;
		cJSON *o = cJSON_CreateObject();
		const cJSON *ans = cJSON_GetObjectItemCaseSensitive(in->answers, it->id);
		const cJSON *note = cJSON_GetObjectItemCaseSensitive(in->notes, it->id);
		static const char *const tnames[] = { "", "yes_no", "number", "count", "date", "choice",
			                              "multi", "text", "counts" };
		bool ok = o && cJSON_AddItemToArray(items, o);
		if (!ok) {
			cJSON_Delete(o);
			return fic__err(FIC_ENOMEM, "out of memory");
		}
		ok = cJSON_AddStringToObject(o, "id", it->id) &&
		     cJSON_AddStringToObject(o, "label", text_of(it->node, "label", "zh")) &&
		     cJSON_AddStringToObject(o, "type", tnames[it->type]) &&
		     fic__json_put(o, "sections",
		                           cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(it->node,
		                                                                            "sections"),
		                                           true)) &&
		     cJSON_AddBoolToObject(o, "applies", j.applies) &&
		     fic__json_put(o, "answer", ans ? cJSON_Duplicate(ans, true) : cJSON_CreateNull()) &&
		     (!cJSON_IsString(note) || cJSON_AddStringToObject(o, "note", note->valuestring)) &&
		     cJSON_AddBoolToObject(o, "abnormal", j.abnormal) &&
		     cJSON_AddBoolToObject(o, "needs_photo", j.needs_photo) &&
		     cJSON_AddBoolToObject(o, "required", it->required);
		if (!ok)
			return fic__err(FIC_ENOMEM, "out of memory");
	}
	return FIC_OK;
}

static cJSON *insp_json(fic_store *store, const insp *in, int *rc)
{
	cJSON *o = cJSON_CreateObject(), *missing = str_list(), *photos = str_list(),
	      *findings = cJSON_CreateArray(), *items = cJSON_CreateArray();
	*rc = (o && missing && photos && findings && items) ? FIC_OK
							    : fic__err(FIC_ENOMEM, "out of memory");
	if (*rc == FIC_OK)
		*rc = judge_all(store, in, missing, photos, findings, items);
	const fic__def *def = in->entry->def;
	bool ok = *rc == FIC_OK && cJSON_AddStringToObject(o, "id", in->id) &&
		  cJSON_AddStringToObject(o, "site_id", in->site_id) &&
		  fic__json_put(o, "site", cJSON_Duplicate(in->site_facts, true)) &&
		  cJSON_AddStringToObject(o, "checklist", def->id) &&
		  cJSON_AddNumberToObject(o, "checklist_version", def->version) &&
		  cJSON_AddStringToObject(o, "title", def->title_zh) &&
		  cJSON_AddStringToObject(o, "area", def->area) &&
		  cJSON_AddStringToObject(o, "date", in->date) &&
		  cJSON_AddStringToObject(o, "state", in->state) &&
		  cJSON_AddStringToObject(o, "inspector", in->inspector) &&
		  (in->visit_mode[0] == '\0' || cJSON_AddStringToObject(o, "visit_mode", in->visit_mode)) &&
		  cJSON_AddNumberToObject(o, "started_at_ms", (double)in->started_at_ms) &&
		  (in->finished_at_ms == 0 ||
		   cJSON_AddNumberToObject(o, "finished_at_ms", (double)in->finished_at_ms)) &&
		  (in->site_finding == NULL ||
		   fic__json_put(o, "site_finding", cJSON_Duplicate(in->site_finding, true))) &&
		  cJSON_AddItemToObject(o, "findings", findings) && (findings = NULL, true) &&
		  cJSON_AddItemToObject(o, "missing", missing) && (missing = NULL, true) &&
		  cJSON_AddItemToObject(o, "photos_missing", photos) && (photos = NULL, true) &&
		  cJSON_AddItemToObject(o, "items", items) && (items = NULL, true);
	cJSON_Delete(missing);
	cJSON_Delete(photos);
	cJSON_Delete(findings);
	cJSON_Delete(items);
	if (!ok) {
		if (*rc == FIC_OK)
			*rc = fic__err(FIC_ENOMEM, "out of memory");
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

int fic_inspection_get_json(char **out, fic_store *store, const char *inspection_id)
{
	fic__err_clear();
	FIC__OUT(out);
	int rc = check_ids(store, inspection_id, "inspection id");
	if (rc != FIC_OK)
		return rc;
	insp in;
	if ((rc = insp_load(&in, store, inspection_id)) != FIC_OK)
		return rc;
	cJSON *o = insp_json(store, &in, &rc);
	insp_free(&in);
	if (o == NULL)
		return rc;
	return fic__json_out(out, o, true, FIC_OK);
}

/* ---- finish ---- */

static int list_ids(char *buf, size_t size, const cJSON *arr)
{
	size_t used = 0;
	const cJSON *c;
	buf[0] = '\0';
	cJSON_ArrayForEach(c, arr) {
		int n = snprintf(buf + used, size - used, "%s%s", used ? ", " : "", c->valuestring);
		if (n < 0 || (size_t)n >= size - used)
			break;
		used += (size_t)n;
	}
	return cJSON_GetArraySize(arr);
}

/*
 * What finishing tells the app: the findings, and every lead the inspection
 * filed — those filed while it was answered (urgent findings go at once)
 * and those filed now — urgent first, each with its urgency.
 */
static int finish_summary(char **out, fic_store *store, const char *inspection_id, int findings,
                          bool published_blue_but_failing)
{
	sqlite3_stmt *st;
	int rc = fic__prepare(store, &st, "SELECT id, urgent FROM leads WHERE inspection_id = ?1 "
	                                  "ORDER BY urgent DESC, created_at_ms, id");
	if (rc != FIC_OK)
		return rc;
	sqlite3_bind_text(st, 1, inspection_id, -1, SQLITE_STATIC);
	cJSON *s = cJSON_CreateObject();
	cJSON *ids = cJSON_AddArrayToObject(s, "leads");
	cJSON *urgent = cJSON_AddArrayToObject(s, "urgent_leads");
	bool ok = ids && urgent && cJSON_AddNumberToObject(s, "findings", findings) &&
	          (!published_blue_but_failing ||
	           cJSON_AddBoolToObject(s, "published_blue_but_failing", true));
	int src;
	while (ok && (src = sqlite3_step(st)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(st, 0);
		ok = fic__json_put(ids, NULL, cJSON_CreateString(id)) &&
		     (!sqlite3_column_int(st, 1) || fic__json_put(urgent, NULL, cJSON_CreateString(id)));
	}
	if (ok && src != SQLITE_DONE)
		rc = fic__db_err(store, src, "listing the inspection's leads");
	sqlite3_finalize(st);
	*out = ok && rc == FIC_OK ? cJSON_PrintUnformatted(s) : NULL;
	cJSON_Delete(s);
	if (rc == FIC_OK && *out == NULL)
		rc = fic__err(FIC_ENOMEM, "out of memory");
	return rc;
}

/* Finishing needs every applicable required item answered and a photo for
 * every abnormal item that asks for one; the findings are judged on the way. */
static int check_complete(fic_store *store, insp *in, cJSON *findings)
{
	cJSON *missing = str_list(), *photos = str_list();
	int rc = missing && photos ? judge_all(store, in, missing, photos, findings, NULL)
	                           : fic__err(FIC_ENOMEM, "out of memory finishing an inspection");
	int64_t proof = 1;
	if (rc == FIC_OK && in->site_finding)
		rc = fic__query_int(store, &proof, "SELECT count(*) FROM photos WHERE owner_type = "
		                                   "'inspection' AND owner_id = ?1 AND item_id IS NULL",
		                    "counting the proof photos", "t", in->id);
	if (rc == FIC_OK && (cJSON_GetArraySize(missing) || cJSON_GetArraySize(photos) || !proof)) {
		char m[600], p[600];
		int nm = list_ids(m, sizeof m, missing), np = list_ids(p, sizeof p, photos);
		rc = fic__err(FIC_EINCOMPLETE, "cannot finish: %d required item(s) unanswered%s%s; "
		                               "%d abnormal item(s) without a photo%s%s%s",
		              nm, nm ? ": " : "", m, np, np ? ": " : "", p,
		              proof ? "" : "; the site finding needs its proof photo (拍摄证明照片, "
		                           "服务方法 1(3)): a photo of the inspection, not of an item");
	}
	cJSON_Delete(missing);
	cJSON_Delete(photos);
	return rc;
}

static int store_findings(fic_store *store, insp *in, const cJSON *findings, int64_t now)
{
	char *text = cJSON_PrintUnformatted(findings);
	if (text == NULL)
		return fic__err(FIC_ENOMEM, "out of memory finishing an inspection");
	sqlite3_stmt *st;
	int rc = fic__prepare(store, &st, "UPDATE inspections SET state = 'finished', findings = ?2, "
	                                  "finished_at_ms = ?3 WHERE id = ?1");
	if (rc == FIC_OK) {
		sqlite3_bind_text(st, 1, in->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, now);
		int src = sqlite3_step(st);
		sqlite3_finalize(st);
		if (src != SQLITE_DONE)
			rc = fic__db_err(store, src, "finishing the inspection");
	}
	fic__free(text);
	in->finished_at_ms = now;
	snprintf(in->state, sizeof in->state, "finished");
	return rc;
}

/* A lead for `group` (findings), of `urgency`; time-sensitive (re-inspect
 * within a month, 非法行医 3.4.1) when any of its findings is. */
static int file_group(fic_store *store, const insp *in, cJSON *lead_ids, const cJSON *group,
                      int urgency, int64_t now)
{
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(in->site_facts, "name");
	const fic__def *def = in->entry->def;
	return fic__lead_from_findings(lead_ids, store, in->site_facts, in->site_id, in->id, def->id,
	                               def->version, def->area,
	                               cJSON_IsString(name) ? name->valuestring : "", def->title_zh,
	                               group, urgency, any_time_sensitive(group), now);
}

/* Leads: each urgent finding alone (unless it was filed when it was
 * recorded), all the others together in one. */
static int file_leads(fic_store *store, const insp *in, const cJSON *findings, cJSON *lead_ids,
                      int64_t now)
{
	cJSON *normal = cJSON_CreateArray();
	int rc = normal ? FIC_OK : fic__err(FIC_ENOMEM, "out of memory filing leads");
	const cJSON *f;
	cJSON_ArrayForEach(f, findings) {
		if (rc != FIC_OK)
			break;
		int urgency = finding_urgency(f);
		if (urgency == FIC_URGENCY_NONE) {
			if (!fic__json_put(normal, NULL, cJSON_Duplicate(f, true)))
				rc = fic__err(FIC_ENOMEM, "out of memory filing leads");
			continue;
		}
		bool filed = false;
		const cJSON *fi = cJSON_GetObjectItemCaseSensitive(f, "item");
		if ((rc = urgent_lead_filed(store, in->id, cJSON_IsString(fi) ? fi->valuestring : "",
		                            &filed)) != FIC_OK || filed)
			continue;
		cJSON *one = cJSON_CreateArray();
		rc = one && fic__json_put(one, NULL, cJSON_Duplicate(f, true))
		             ? file_group(store, in, lead_ids, one, urgency, now)
		             : fic__err(FIC_ENOMEM, "out of memory filing leads");
		cJSON_Delete(one);
	}
	if (rc == FIC_OK && cJSON_GetArraySize(normal) > 0)
		rc = file_group(store, in, lead_ids, normal, FIC_URGENCY_NONE, now);
	cJSON_Delete(normal);
	return rc;
}

/* The finished inspection goes to the county too, chained like a lead. */
static int chain_inspection(fic_store *store, const insp *in)
{
	cJSON *rec = NULL;
	char hash[FIC_SHA256_HEX], *payload = NULL;
	int64_t seq = 0;
	int rc = fic__inspection_record(store, in->id, &rec);
	if (rc == FIC_OK)
		rc = fic__chain_submit(store, "inspection", in->id, rec, hash, &seq, &payload);
	cJSON_Delete(rec);
	sqlite3_stmt *up;
	if (rc == FIC_OK && (rc = fic__prepare(store, &up, "UPDATE inspections SET chain_seq = ?2, "
	                                                   "hash = ?3 WHERE id = ?1")) == FIC_OK) {
		sqlite3_bind_text(up, 1, in->id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(up, 2, seq);
		sqlite3_bind_text(up, 3, hash, -1, SQLITE_STATIC);
		int us = sqlite3_step(up);
		sqlite3_finalize(up);
		rc = us == SQLITE_DONE ? FIC_OK : fic__db_err(store, us, "finishing the inspection");
	}
	if (rc == FIC_OK)
		rc = fic__outbox_enqueue(store, "inspection", in->id, "finish", FIC_PRIORITY_INSPECTION,
		                         payload);
	fic__free(payload);
	return rc;
}

/*
 * The inspection's site-status leads (drafts since the finding was
 * recorded) go with the proof: the hashes of the inspection's photos that
 * document no single item join their body, then they are submitted.
 */
static int submit_site_status(fic_store *store, const insp *in)
{
	sqlite3_stmt *st;
	int rc = fic__prepare(store, &st, "SELECT id, content FROM leads WHERE inspection_id = ?1 AND "
	                                  "category = 'site_status' AND state = 'draft' ORDER BY id");
	if (rc != FIC_OK)
		return rc;
	sqlite3_bind_text(st, 1, in->id, -1, SQLITE_STATIC);
	char ids[8][FIC_UUID_BUFSIZE];
	char *texts[8] = { NULL };
	int n = 0, src;
	while (rc == FIC_OK && n < 8 && (src = sqlite3_step(st)) == SQLITE_ROW) {
		cJSON *c = cJSON_Parse((const char *)sqlite3_column_text(st, 1));
		cJSON *proof = NULL;
		if (c) {
			proof = cJSON_CreateArray();
			sqlite3_stmt *ph;
			if (proof && fic__prepare(store, &ph, "SELECT sha256 FROM photos WHERE owner_type = "
			                                      "'inspection' AND owner_id = ?1 AND item_id IS "
			                                      "NULL ORDER BY sha256") == FIC_OK) {
				sqlite3_bind_text(ph, 1, in->id, -1, SQLITE_STATIC);
				while (proof && sqlite3_step(ph) == SQLITE_ROW)
					if (!fic__json_put(proof, NULL, cJSON_CreateString(
					                                        (const char *)sqlite3_column_text(ph, 0)))) {
						cJSON_Delete(proof);
						proof = NULL;
					}
				sqlite3_finalize(ph);
			}
		}
		snprintf(ids[n], sizeof ids[n], "%s", (const char *)sqlite3_column_text(st, 0));
		texts[n] = c && fic__json_take(c, "proof_photos", &proof) ? cJSON_PrintUnformatted(c) : NULL;
		cJSON_Delete(proof);
		cJSON_Delete(c);
		if (texts[n++] == NULL)
			rc = fic__err(FIC_ENOMEM, "out of memory submitting a site-status lead");
	}
	sqlite3_finalize(st);
	for (int i = 0; rc == FIC_OK && i < n; i++) {
		rc = fic__exec(store, "UPDATE leads SET content = ?2 WHERE id = ?1 AND state = 'draft'",
		               "adding the proof photos", "tt", ids[i], texts[i]);
		if (rc == FIC_OK)
			rc = fic__lead_submit_tx(store, ids[i]);
	}
	for (int i = 0; i < n; i++)
		cJSON_free(texts[i]);
	return rc;
}

/* Everything finishing does, inside the edit's transaction. */
static int finish(char **summary_out, fic_store *store, insp *in, cJSON *findings, cJSON *lead_ids)
{
	if (strcmp(in->state, "open") != 0)
		return fic__err(FIC_ESTATE, "inspection %s is already finished", in->id);
	int64_t now = fic__now_ms(store);
	int rc = check_complete(store, in, findings);
	if (rc == FIC_OK)
		rc = store_findings(store, in, findings, now);
	if (rc == FIC_OK)
		rc = file_leads(store, in, findings, lead_ids, now);
	if (rc == FIC_OK)
		rc = chain_inspection(store, in);
	if (rc == FIC_OK && in->site_finding)
		rc = submit_site_status(store, in);
	if (rc == FIC_OK) /* a re-inspection closes the tasks it fulfils (非法行医 3.4) */
		rc = fic__tasks_complete_by(store, in->id, in->site_id, in->entry->def->id,
		                            cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
		                                    in->answers, "original_lead")));
	if (rc == FIC_OK) {
		cJSON *d = cJSON_CreateObject();
		bool ok = d && cJSON_AddNumberToObject(d, "findings", cJSON_GetArraySize(findings)) &&
		          cJSON_AddNumberToObject(d, "leads", cJSON_GetArraySize(lead_ids));
		rc = fic__audit_take(store, "inspection.finish", "inspection", in->id, d, ok);
	}
	/* A field test is the water supply's latest verdict (饮用水 4; seed 000's blue/red). */
	bool flagged = false;
	if (rc == FIC_OK && strcmp(in->entry->def->id, "water.field_test") == 0)
		rc = fic__water_status_from_test(store, in->site_id, in->id, in->date,
		                                 cJSON_GetArraySize(findings) > 0, &flagged);
	if (rc == FIC_OK && summary_out)
		rc = finish_summary(summary_out, store, in->id, cJSON_GetArraySize(findings), flagged);
	return rc;
}

int fic_inspection_finish(char **summary_out, fic_store *store, const char *inspection_id)
{
	fic__err_clear();
	if (summary_out)
		*summary_out = NULL;
	int rc = check_ids(store, inspection_id, "inspection id");
	if (rc != FIC_OK || (rc = fic__tx_begin(store)) != FIC_OK)
		return rc;
	insp in;
	if ((rc = insp_load(&in, store, inspection_id)) != FIC_OK)
		return fic__tx_end(store, rc);
	cJSON *findings = cJSON_CreateArray(), *lead_ids = cJSON_CreateArray();
	rc = findings && lead_ids ? finish(summary_out, store, &in, findings, lead_ids)
	                          : fic__err(FIC_ENOMEM, "out of memory finishing an inspection");
	cJSON_Delete(findings);
	cJSON_Delete(lead_ids);
	rc = end_edit(&in, store, rc);
	if (rc != FIC_OK && summary_out) {
		fic__free(*summary_out);
		*summary_out = NULL;
	}
	return rc;
}

/* ---- the record that is chained and uploaded ---- */

int fic__inspection_record(fic_store *store, const char *inspection_id, cJSON **out)
{
	*out = NULL;
	sqlite3_stmt *st;
	int rc = fic__row_by_key(store, &st, "SELECT id, site_id, checklist_id, checklist_version, area, "
	                      "inspection_date, inspector, started_at_ms, finished_at_ms, site_facts, "
	                      "site_finding, findings, t_device_ms, t_mono_ms, t_boot_id, t_trusted_ms, "
	                      "t_uncertainty_ms, t_flags, visit_mode, scan_id FROM inspections WHERE "
	                      "id = ?1 AND state = 'finished'", inspection_id, "finished inspection");
	if (rc != FIC_OK)
		return rc;
	static const char *const keys[] = { "id", "site_id", "checklist", "checklist_version", "area",
		                            "date", "inspector", "started_at_ms", "finished_at_ms" };
	static const char *const tkeys[] = { "device_ms", "mono_ms", "boot_id", "trusted_ms",
		                             "uncertainty_ms", "flags" };
	cJSON *o = cJSON_CreateObject(), *tm = cJSON_CreateObject();
	bool ok = o && tm;
	for (int i = 0; ok && i < 9; i++) {
		int type = sqlite3_column_type(st, i);
		ok = fic__json_put(o, keys[i], type == SQLITE_INTEGER
		                                   ? cJSON_CreateNumber((double)sqlite3_column_int64(st, i))
		                                   : type == SQLITE_NULL
		                                   ? cJSON_CreateNull()
		                                   : cJSON_CreateString((const char *)sqlite3_column_text(st, i)));
	}
	static const char *const jkeys[] = { "site", "site_finding", "findings" };
	for (int i = 0; ok && i < 3; i++) {
		const char *t = (const char *)sqlite3_column_text(st, 9 + i);
		ok = fic__json_put(o, jkeys[i], t ? cJSON_Parse(t) : cJSON_CreateNull());
	}
	for (int i = 0; ok && i < 6; i++) {
		int type = sqlite3_column_type(st, 12 + i);
		ok = fic__json_put(tm, tkeys[i], type == SQLITE_INTEGER
		                                     ? cJSON_CreateNumber((double)sqlite3_column_int64(st, 12 + i))
		                                     : type == SQLITE_NULL
		                                     ? cJSON_CreateNull()
		                                     : cJSON_CreateString((const char *)sqlite3_column_text(st, 12 + i)));
	}
	/* Only when recorded, so an inspection of an older schema hashes as it did. */
	for (int i = 18; ok && i < 20; i++)
		ok = sqlite3_column_type(st, i) == SQLITE_NULL ||
		     cJSON_AddStringToObject(o, i == 18 ? "visit_mode" : "scan_id",
		                             (const char *)sqlite3_column_text(st, i));
	sqlite3_finalize(st);
	ok = ok && fic__json_take(o, "time", &tm);
	/* answers and notes */
	cJSON *answers = ok ? cJSON_CreateObject() : NULL, *notes = ok ? cJSON_CreateObject() : NULL;
	ok = answers && notes;
	if (ok && (rc = fic__prepare(store, &st, "SELECT item_id, value, note FROM answers WHERE "
	                                         "inspection_id = ?1 ORDER BY item_id")) == FIC_OK) {
		sqlite3_bind_text(st, 1, inspection_id, -1, SQLITE_STATIC);
		int s;
		while (ok && (s = sqlite3_step(st)) == SQLITE_ROW) {
			const char *item = (const char *)sqlite3_column_text(st, 0);
			const char *v = (const char *)sqlite3_column_text(st, 1);
			const char *n = (const char *)sqlite3_column_text(st, 2);
			if (v)
				ok = fic__json_put(answers, item, cJSON_Parse(v));
			if (ok && n)
				ok = cJSON_AddStringToObject(notes, item, n) != NULL;
		}
		if (ok && s != SQLITE_DONE)
			rc = fic__db_err(store, s, "reading an inspection's answers");
		sqlite3_finalize(st);
	}
	ok = ok && rc == FIC_OK && fic__json_take(o, "answers", &answers) &&
	     fic__json_take(o, "notes", &notes) &&
	     fic__json_put(o, "photos", fic__photo_hashes(store, "inspection", inspection_id));
	cJSON_Delete(answers);
	cJSON_Delete(notes);
	cJSON_Delete(tm);
	if (!ok) {
		cJSON_Delete(o);
		return rc != FIC_OK ? rc : fic__err(FIC_ENOMEM, "out of memory reading an inspection");
	}
	*out = o;
	return FIC_OK;
}

/* ---- opinion ---- */

int fic_inspection_opinion(char **out, fic_store *store, const char *inspection_id, int format)
{
	fic__err_clear();
	FIC__OUT(out);
	int rc = check_ids(store, inspection_id, "inspection id");
	if (rc != FIC_OK)
		return rc;
	if (format != FIC_OPINION_TEXT && format != FIC_OPINION_JSON)
		return fic__err(FIC_EINVAL, "format must be FIC_OPINION_TEXT or FIC_OPINION_JSON");
	insp in;
	if ((rc = insp_load(&in, store, inspection_id)) != FIC_OK)
		return rc;
	if (strcmp(in.state, "finished") != 0 || in.findings == NULL) {
		insp_free(&in);
		return fic__err(FIC_ESTATE, "an opinion is issued on a finished inspection");
	}
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(in.site_facts, "name");
	const cJSON *addr = cJSON_GetObjectItemCaseSensitive(in.site_facts, "address");
	const char *site_name = cJSON_IsString(name) ? name->valuestring : "";
	const char *site_addr = cJSON_IsString(addr) ? addr->valuestring : "";
	int n = cJSON_GetArraySize(in.findings);
	if (format == FIC_OPINION_JSON) {
		cJSON *o = cJSON_CreateObject();
		bool ok = o && cJSON_AddStringToObject(o, "document", "巡查意见") &&
			  cJSON_AddStringToObject(o, "inspection_id", in.id) &&
			  cJSON_AddStringToObject(o, "site", site_name) &&
			  cJSON_AddStringToObject(o, "address", site_addr) &&
			  cJSON_AddStringToObject(o, "date", in.date) &&
			  cJSON_AddStringToObject(o, "inspector", in.inspector) &&
			  cJSON_AddStringToObject(o, "checklist", in.entry->def->title_zh) &&
			  fic__json_put(o, "findings", cJSON_Duplicate(in.findings, true)) &&
			  cJSON_AddStringToObject(o, "conclusion",
			                          n ? "以上问题已报告辖区卫生健康监督执法机构，请及时整改。"
			                            : "本次巡查未发现异常。");
		insp_free(&in);
		return fic__json_out(out, o, ok, FIC_OK);
	}
	/* Plain text, ready to print on a field printer. */
	fic__sb sb = { NULL, 0, 0, false };
	fic__sb_printf(&sb, "卫生监督协管巡查意见书\n\n");
	fic__sb_printf(&sb, "被巡查单位：%s\n", site_name);
	if (site_addr[0])
		fic__sb_printf(&sb, "地址：%s\n", site_addr);
	fic__sb_printf(&sb, "巡查日期：%s\n巡查内容：%s\n协管员：%s\n\n", in.date,
	               in.entry->def->title_zh, in.inspector);
	if (n == 0) {
		fic__sb_printf(&sb, "巡查意见：本次巡查未发现异常。\n");
	} else {
		fic__sb_printf(&sb, "巡查发现以下问题：\n");
		int k = 0;
		const cJSON *f;
		cJSON_ArrayForEach(f, in.findings) {
			const cJSON *fz = cJSON_GetObjectItemCaseSensitive(f, "finding_zh");
			const cJSON *sec = cJSON_GetObjectItemCaseSensitive(f, "sections");
			const cJSON *basis = cJSON_GetObjectItemCaseSensitive(f, "basis");
			const cJSON *note = cJSON_GetObjectItemCaseSensitive(f, "note");
			fic__sb_printf(&sb, "%d. %s", ++k, cJSON_IsString(fz) ? fz->valuestring : "");
			if (cJSON_IsArray(sec) && cJSON_IsString(sec->child))
				fic__sb_printf(&sb, "（工作指南 %s）", sec->child->valuestring);
			fic__sb_printf(&sb, "\n");
			if (cJSON_IsString(basis))
				fic__sb_printf(&sb, "   依据：%s\n", basis->valuestring);
			if (cJSON_IsString(note))
				fic__sb_printf(&sb, "   现场情况：%s\n", note->valuestring);
		}
		fic__sb_printf(&sb, "\n巡查意见：以上问题已报告辖区卫生健康监督执法机构，请及时整改。\n");
	}
	fic__sb_printf(&sb, "\n被巡查单位负责人（签字）：__________    协管员（签字）：__________\n");
	char *buf = fic__sb_take(&sb);
	if (buf == NULL) {
		insp_free(&in);
		return fic__err(FIC_ENOMEM, "out of memory writing the opinion");
	}
	insp_free(&in);
	*out = buf;
	return FIC_OK;
}
