/*
 * core/flow/lead.c — leads (线索): filing them (from findings, site findings and
 * event forms), the two-hour deadline, listing by urgency and time left.
 *
 * Every lead is written with an audit entry and an outbox record in the
 * caller's transaction; urgent leads get the highest outbox priority so the
 * sync engine sends them before anything else. The audit entry of a lead
 * never holds its content: a tip-off's content can identify the informant.
 *
 * At submission the answers the form marks personal (an informant's name
 * and phone, a diner's phone) are sealed to the county's pinned public key
 * (seal_personal): the lead's row, its chain entry, its upload record and
 * everything made from them from then on hold only the box, which the
 * phone itself cannot open (docs/security.md, "The phone").
 */
#include "flow.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#define ANSWERS_JSON_MAX (64 * 1024)
#define CLOCK_SKEW_MS (5 * 60 * 1000LL)

static cJSON *col_json(sqlite3_stmt *st, int i);

int64_t fic__urgency_grace_ms(int urgency)
{
	return urgency == FIC_URGENCY_IMMEDIATE ? 0 : FIC_URGENT_DEADLINE_MS;
}

/* The title's mark of a lead's urgency. */
static const char *urgency_mark(int urgency)
{
	return urgency == FIC_URGENCY_IMMEDIATE ? "【立即报告】"
	       : urgency == FIC_URGENCY_TWO_HOURS ? "【紧急】" : "";
}

int fic__lead_insert(char *id_out, fic_store *store, const fic__lead_spec *sp)
{
	int rc = fic__uuid7(store, id_out);
	if (rc != FIC_OK)
		return rc;
	fic_time t;
	if ((rc = fic__time_now(store, &t)) != FIC_OK)
		return rc;
	/* The deadline runs on trusted time: shift the device's discovery time by
	 * the clock offset. A lead to report immediately has no grace: its
	 * deadline is its discovery. */
	int64_t deadline = sp->urgency ? sp->discovered_at_ms + (t.trusted_ms - t.device_ms) +
						 fic__urgency_grace_ms(sp->urgency)
				       : 0;
	char *content = sp->content ? cJSON_PrintUnformatted(sp->content) : NULL;
	if (content == NULL)
		return fic__err(FIC_ENOMEM, "out of memory filing a lead");
	sqlite3_stmt *st;
	rc = fic__cached(store, &st,
	                 "INSERT INTO leads (id, category, area, title, report_to, urgent, "
	                 "time_sensitive, form_id, form_version, state, site_id, inspection_id, "
	                 "discovered_at_ms, deadline_at_ms, content, created_at_ms, corrects, "
	                 "t_device_ms, t_mono_ms, t_boot_id, t_trusted_ms, t_uncertainty_ms, t_flags) "
	                 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'draft', ?10, ?11, ?12, ?13, ?14, "
	                 "?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)");
	if (rc == FIC_OK) {
		sqlite3_bind_text(st, 1, id_out, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, sp->category, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, sp->area, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, sp->title, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, sp->report_to, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 6, sp->urgency);
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
		if (sp->urgency)
			sqlite3_bind_int64(st, 13, deadline);
		sqlite3_bind_text(st, 14, content, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 15, t.device_ms);
		if (sp->corrects)
			sqlite3_bind_text(st, 16, sp->corrects, -1, SQLITE_STATIC);
		fic__time_bind(st, 17, &t);
		int src = sqlite3_step(st);
		rc = src == SQLITE_DONE ? FIC_OK : fic__db_err(store, src, "saving a lead");
		fic__release(store, st);
	}
	fic__free(content);
	if (rc == FIC_OK) {
		cJSON *d = cJSON_CreateObject();
		bool ok = d && cJSON_AddStringToObject(d, "category", sp->category) &&
		          cJSON_AddBoolToObject(d, "urgent", sp->urgency != FIC_URGENCY_NONE) &&
		          (sp->urgency != FIC_URGENCY_IMMEDIATE ||
		           cJSON_AddBoolToObject(d, "immediate", true));
		rc = fic__audit_take(store, "lead.file", "lead", id_out, d, ok);
	}
	if (rc == FIC_OK && sp->time_sensitive) {
		/* Re-inspect within one month of the report (非法行医 3.4.1). */
		char due[11];
		fic__days_format(fic__days_add_months(fic__local_day(store, sp->discovered_at_ms), 1), due);
		rc = fic__task_add(store, "reinspection", sp->site_id, id_out, "lead", due, sp->title);
	}
	if (rc == FIC_OK && sp->submit)
		rc = fic__lead_submit_tx(store, id_out);
	return rc;
}

static cJSON *col_json(sqlite3_stmt *st, int i)
{
	switch (sqlite3_column_type(st, i)) {
	case SQLITE_NULL: return cJSON_CreateNull();
	case SQLITE_INTEGER: return cJSON_CreateNumber((double)sqlite3_column_int64(st, i));
	case SQLITE_FLOAT: return cJSON_CreateNumber(sqlite3_column_double(st, i));
	default: return cJSON_CreateString((const char *)sqlite3_column_text(st, i));
	}
}

static int promote_photos(fic_store *store, const char *lead_id, bool urgent);

cJSON *fic__photo_hashes(fic_store *store, const char *owner_type, const char *owner_id)
{
	sqlite3_stmt *st;
	if (fic__cached(store, &st, "SELECT sha256 FROM photos WHERE owner_type = ?1 AND owner_id = ?2 "
	                            "ORDER BY sha256") != FIC_OK)
		return NULL;
	sqlite3_bind_text(st, 1, owner_type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, owner_id, -1, SQLITE_STATIC);
	cJSON *a = cJSON_CreateArray();
	int s = SQLITE_DONE;
	while (a && (s = sqlite3_step(st)) == SQLITE_ROW)
		if (!fic__json_put(a, NULL, cJSON_CreateString((const char *)sqlite3_column_text(st, 0)))) {
			cJSON_Delete(a);
			a = NULL;
		}
	if (a && s != SQLITE_DONE) { /* a read error: never a partial list */
		cJSON_Delete(a);
		a = NULL;
	}
	fic__release(store, st);
	return a;
}

int fic__lead_record(fic_store *store, const char *lead_id, cJSON **out)
{
	*out = NULL;
	static const char *const keys[] = {
		"id", "category", "area", "title", "report_to", "urgent", "time_sensitive", "form",
		"form_version", "site_id", "inspection_id", "corrects", "discovered_at_ms",
		"deadline_at_ms"
	};
	sqlite3_stmt *st;
	int rc = fic__row_by_key(store, &st, "SELECT id, category, area, title, report_to, urgent, time_sensitive, "
	                      "form_id, form_version, site_id, inspection_id, corrects, "
	                      "discovered_at_ms, deadline_at_ms, content, t_device_ms, t_mono_ms, "
	                      "t_boot_id, t_trusted_ms, t_uncertainty_ms, t_flags FROM leads WHERE id = ?1", lead_id, "lead");
	if (rc != FIC_OK)
		return rc;
	cJSON *o = cJSON_CreateObject(), *tm = cJSON_CreateObject();
	bool ok = o && tm;
	for (int i = 0; ok && i < 14; i++)
		ok = fic__json_put(o, keys[i], col_json(st, i));
	static const char *const tkeys[] = { "device_ms", "mono_ms", "boot_id", "trusted_ms",
		                             "uncertainty_ms", "flags" };
	for (int i = 0; ok && i < 6; i++)
		ok = fic__json_put(tm, tkeys[i], col_json(st, 15 + i));
	const char *content = (const char *)sqlite3_column_text(st, 14);
	ok = ok && fic__json_take(o, "time", &tm) &&
	     fic__json_put(o, "content", content ? cJSON_Parse(content) : NULL);
	/* Evidence by hash: the lead's own photos (frozen with it). A patrol finding's
	 * photos belong to its inspection, whose chain entry holds them at finish —
	 * an urgent finding is submitted before the inspection's photos exist. */
	cJSON *ph = ok ? fic__photo_hashes(store, "lead", lead_id) : NULL;
	ok = ok && fic__json_put(o, "photos", ph);
	sqlite3_finalize(st);
	cJSON_Delete(tm);
	if (!ok) {
		cJSON_Delete(o);
		return fic__err(FIC_ENOMEM, "out of memory reading a lead");
	}
	*out = o;
	return FIC_OK;
}

int fic__lead_proof_check(fic_store *store, const char *lead_id)
{
	int64_t n = 0;
	int rc = fic__query_int(store, &n,
	                        "SELECT CASE WHEN l.category != 'site_status' THEN 1 ELSE (SELECT "
	                        "count(*) FROM photos p WHERE (p.owner_type = 'lead' AND p.owner_id = "
	                        "l.id) OR (p.owner_type = 'inspection' AND p.owner_id = "
	                        "l.inspection_id AND p.item_id IS NULL)) END FROM leads l WHERE l.id = ?1",
	                        "looking for the proof photo", "t", lead_id);
	if (rc == FIC_ENOTFOUND)
		return fic__err(FIC_ENOTFOUND, "no lead %s", lead_id);
	if (rc == FIC_OK && n == 0)
		rc = fic__err(FIC_EINCOMPLETE, "a site-status report goes with its proof photo (拍摄证明照片, "
		                               "实施方案 服务方法 1(3)): attach one to lead %s, then submit "
		                               "it (a form: file it as a draft first)", lead_id);
	return rc;
}

/* The sealed block of a lead's content (docs/protocol.md, "Sealed answers"). */
static cJSON *sealed_block(const char *key_id, cJSON **items, const char *box)
{
	cJSON *b = cJSON_CreateObject();
	if (b && cJSON_AddNumberToObject(b, "v", 1) &&
	    cJSON_AddStringToObject(b, "alg", "crypto_box_seal") &&
	    cJSON_AddStringToObject(b, "key_id", key_id) && fic__json_take(b, "items", items) &&
	    cJSON_AddStringToObject(b, "box", box))
		return b;
	cJSON_Delete(b);
	cJSON_Delete(*items);
	*items = NULL;
	return NULL;
}

/* Move the personal answers out of content.answers into `plain`, their ids
 * into `ids`, as the lead's form marks them; false when out of memory. */
static bool take_personal(const fic__def *def, cJSON *answers, cJSON *plain, cJSON *ids)
{
	for (size_t i = 0; i < def->nitems; i++) {
		const fic__item *it = &def->items[i];
		cJSON *a = it->personal ? cJSON_DetachItemFromObjectCaseSensitive(answers, it->id)
		                        : NULL;
		if (a == NULL)
			continue;
		if (!fic__json_put(plain, it->id, a) ||
		    !fic__json_put(ids, NULL, cJSON_CreateString(it->id)))
			return false;
	}
	return true;
}

/* Overwrite every string of a cJSON tree that held personal answers. */
static void wipe_strings(cJSON *j)
{
	for (cJSON *c = j ? j->child : NULL; c; c = c->next) {
		if (cJSON_IsString(c) && c->valuestring)
			fic__wipe(c->valuestring, strlen(c->valuestring));
		wipe_strings(c);
	}
}

static void wipe_json(cJSON *j)
{
	wipe_strings(j);
	cJSON_Delete(j);
}

/* Seal `content`'s personal answers (the form's `personal` items) to the
 * pinned county key, in place: answers lose them, "sealed" holds the box.
 * *n is how many; 0 leaves the content untouched. */
static int seal_content(fic_store *store, const fic__def *def, cJSON *content, int *n)
{
	*n = 0;
	cJSON *answers = cJSON_GetObjectItemCaseSensitive(content, "answers");
	cJSON *plain = cJSON_CreateObject(), *ids = cJSON_CreateArray();
	int rc = plain && ids && take_personal(def, answers, plain, ids)
	                 ? FIC_OK
	                 : fic__err(FIC_ENOMEM, "out of memory sealing a lead");
	int count = rc == FIC_OK ? cJSON_GetArraySize(ids) : 0;
	fic__county_key key;
	char *text = NULL, *box = NULL;
	if (count > 0 && (rc = fic__county_key_get(store, &key)) == FIC_ENOTFOUND)
		rc = fic__err(FIC_ESTATE,
		              "this lead holds personal answers (%s …), which are sealed to the "
		              "county's key at submission, and this device has no county key yet: "
		              "enrol it (the lead stays a draft until then)",
		              ids->child->valuestring);
	if (count > 0 && rc == FIC_OK && (text = cJSON_PrintUnformatted(plain)) == NULL)
		rc = fic__err(FIC_ENOMEM, "out of memory sealing a lead");
	if (count > 0 && rc == FIC_OK)
		rc = fic__seal(&box, key.pk, text, strlen(text));
	if (count > 0 && rc == FIC_OK &&
	    !fic__json_put(content, "sealed", sealed_block(key.id, &ids, box)))
		rc = fic__err(FIC_ENOMEM, "out of memory sealing a lead");
	if (rc == FIC_OK)
		*n = count;
	if (text)
		fic__wipe(text, strlen(text));
	cJSON_free(text);
	fic__free(box);
	wipe_json(plain);
	cJSON_Delete(ids);
	return rc;
}

/*
 * Before a lead is chained: its personal answers sealed, and its row
 * rewritten with the sealed content (secure_delete is on for the store, so
 * the plaintext's bytes are zeroed in the page, not left in free space; the
 * WAL is emptied after the commit: fic__store_scrub). The draft was
 * readable until now.
 */
static int seal_personal(fic_store *store, const char *lead_id, int *sealed)
{
	*sealed = 0;
	sqlite3_stmt *st;
	int rc = fic__row_by_key(store, &st, "SELECT form_id, form_version, content FROM leads "
	                                     "WHERE id = ?1", lead_id, "lead");
	if (rc != FIC_OK)
		return rc;
	const fic__entry *e = NULL;
	cJSON *content = NULL;
	if (sqlite3_column_type(st, 0) != SQLITE_NULL &&
	    (rc = fic__checklist_find(&e, store, (const char *)sqlite3_column_text(st, 0),
	                              sqlite3_column_int(st, 1))) == FIC_OK &&
	    (content = cJSON_Parse((const char *)sqlite3_column_text(st, 2))) == NULL)
		rc = fic__err(FIC_ENOMEM, "out of memory sealing a lead");
	sqlite3_finalize(st);
	if (rc == FIC_OK && content)
		rc = seal_content(store, e->def, content, sealed);
	char *text = rc == FIC_OK && *sealed > 0 ? cJSON_PrintUnformatted(content) : NULL;
	if (rc == FIC_OK && *sealed > 0 && text == NULL)
		rc = fic__err(FIC_ENOMEM, "out of memory sealing a lead");
	wipe_json(content);
	if (text) {
		rc = fic__exec(store, "UPDATE leads SET content = ?2, sealed = ?3 WHERE id = ?1",
		               "sealing a lead", "tti", lead_id, text, (int64_t)*sealed);
		store->scrub_due = rc == FIC_OK;
	}
	cJSON_free(text);
	return rc;
}

int fic__lead_submit_tx(fic_store *store, const char *lead_id)
{
	sqlite3_stmt *q;
	int rc = fic__prepare(store, &q, "SELECT state FROM leads WHERE id = ?1");
	if (rc != FIC_OK)
		return rc;
	sqlite3_bind_text(q, 1, lead_id, -1, SQLITE_STATIC);
	int qs = sqlite3_step(q);
	if (qs == SQLITE_DONE)
		rc = fic__err(FIC_ENOTFOUND, "no lead %s", lead_id);
	else if (qs != SQLITE_ROW)
		rc = fic__db_err(store, qs, "reading a lead");
	else if (strcmp((const char *)sqlite3_column_text(q, 0), "draft") != 0)
		rc = fic__err(FIC_ESTATE, "lead %s is already submitted (%s)", lead_id,
		              (const char *)sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
	if (rc == FIC_OK)
		rc = fic__lead_proof_check(store, lead_id);
	int sealed = 0;
	if (rc == FIC_OK)
		rc = seal_personal(store, lead_id, &sealed);
	if (rc != FIC_OK)
		return rc;
	cJSON *rec = NULL;
	if ((rc = fic__lead_record(store, lead_id, &rec)) != FIC_OK)
		return rc;
	char hash[FIC_SHA256_HEX], *text = NULL;
	int64_t seq = 0;
	double urgency = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(rec, "urgent"));
	bool urgent = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rec, "urgent")) || urgency >= 1;
	rc = fic__chain_submit(store, "lead", lead_id, rec, hash, &seq, &text);
	cJSON_Delete(rec);
	if (rc != FIC_OK)
		return rc;
	sqlite3_stmt *st;
	if ((rc = fic__prepare(store, &st, "UPDATE leads SET state = 'queued', chain_seq = ?2, hash = ?3, "
	                                   "submitted_at_ms = ?4 WHERE id = ?1 AND state = 'draft'")) ==
	    FIC_OK) {
		sqlite3_bind_text(st, 1, lead_id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, seq);
		sqlite3_bind_text(st, 3, hash, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, fic__now_ms(store));
		int s = sqlite3_step(st);
		sqlite3_finalize(st);
		rc = s == SQLITE_DONE ? (sqlite3_changes(store->db) == 1
						 ? FIC_OK
						 : fic__err(FIC_ESTATE, "lead %s is not a draft", lead_id))
				      : fic__db_err(store, s, "submitting a lead");
	}
	if (rc == FIC_OK)
		rc = fic__outbox_enqueue(store, "lead", lead_id, "submit",
		                         urgency >= FIC_URGENCY_IMMEDIATE ? FIC_PRIORITY_IMMEDIATE
		                         : urgent                         ? FIC_PRIORITY_URGENT
		                                                          : FIC_PRIORITY_LEAD,
		                         text);
	if (rc == FIC_OK)
		rc = promote_photos(store, lead_id, urgent);
	if (rc == FIC_OK) {
		cJSON *d = cJSON_CreateObject();
		bool ok = d && cJSON_AddNumberToObject(d, "seq", (double)seq) &&
		          cJSON_AddStringToObject(d, "hash", hash) &&
		          cJSON_AddNumberToObject(d, "sealed", sealed);
		rc = fic__audit_take(store, "lead.submit", "lead", lead_id, d, ok);
	}
	fic__free(text);
	return rc;
}

/*
 * A submitted lead's photos travel with its priority: their metadata records
 * right after the urgent leads (or with the leads), and an urgent lead's
 * photo files before every other photo.
 */
static int promote_photos(fic_store *store, const char *lead_id, bool urgent)
{
	sqlite3_stmt *st;
	int rc = fic__prepare(store, &st, "UPDATE outbox SET priority = max(priority, ?2) "
	                                  "WHERE state = 'pending' AND record_type = 'photo' AND "
	                                  "record_id IN (SELECT id FROM photos WHERE "
	                                  "owner_type = 'lead' AND owner_id = ?1)");
	if (rc != FIC_OK)
		return rc;
	sqlite3_bind_text(st, 1, lead_id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, urgent ? FIC_PRIORITY_URGENT_PHOTO : FIC_PRIORITY_LEAD);
	int s = sqlite3_step(st);
	sqlite3_finalize(st);
	if (s != SQLITE_DONE)
		return fic__db_err(store, s, "queueing the lead's photos");
	if (!urgent)
		return FIC_OK;
	if ((rc = fic__prepare(store, &st, "UPDATE uploads SET priority = ?2 WHERE state = 'pending' "
	                                   "AND sha256 IN (SELECT upload_sha256 FROM photos WHERE "
	                                   "owner_type = 'lead' AND owner_id = ?1)")) != FIC_OK)
		return rc;
	sqlite3_bind_text(st, 1, lead_id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, FIC_UPLOAD_URGENT);
	s = sqlite3_step(st);
	sqlite3_finalize(st);
	return s == SQLITE_DONE ? FIC_OK : fic__db_err(store, s, "queueing the lead's photos");
}

int fic__lead_mark(fic_store *store, const char *lead_id, const char *state,
                   const char *receipt_id, int64_t receipt_at_ms, const char *reason)
{
	bool delivered = strcmp(state, "delivered") == 0;
	if (!delivered && strcmp(state, "rejected") != 0)
		return fic__err(FIC_EINVAL, "a lead cannot be marked %s", state);
	int rc = delivered
	                 ? fic__exec(store, "UPDATE leads SET state = 'delivered', receipt_id = ?2, "
	                                    "receipt_at_ms = ?3, reject_reason = NULL WHERE id = ?1 "
	                                    "AND state = 'queued'",
	                             "updating a lead's state", "tti", lead_id,
	                             receipt_id ? receipt_id : "", receipt_at_ms)
	                 : fic__exec(store, "UPDATE leads SET state = 'rejected', receipt_id = NULL, "
	                                    "receipt_at_ms = NULL, reject_reason = ?2 WHERE id = ?1 "
	                                    "AND state = 'queued'",
	                             "updating a lead's state", "tt", lead_id,
	                             reason ? reason : "refused by the server");
	if (rc != FIC_OK)
		return rc;
	if (sqlite3_changes(store->db) != 1) {
		/* Already delivered (the county confirmed it by SMS before the record
		 * went up by data): the county has it, whatever this answer says —
		 * a lead never moves back from delivered. */
		char now[16];
		rc = fic__query_text(store, now, sizeof now, "SELECT state FROM leads WHERE id = ?1",
		                     "reading a lead", "t", lead_id);
		if (rc == FIC_OK && strcmp(now, "delivered") == 0)
			return FIC_OK;
		if (rc != FIC_OK && rc != FIC_ENOTFOUND)
			return rc;
		return fic__err(FIC_ESTATE, "lead %s cannot become %s: it is not queued", lead_id, state);
	}
	cJSON *d = cJSON_CreateObject();
	bool ok = d && cJSON_AddStringToObject(d, "state", state) &&
	          (delivered ? cJSON_AddStringToObject(d, "receipt_id", receipt_id ? receipt_id : "") &&
	                               cJSON_AddNumberToObject(d, "receipt_at_ms", (double)receipt_at_ms)
	                     : cJSON_AddStringToObject(d, "reason", reason ? reason : "") != NULL);
	return fic__audit_take(store, "lead.state", "lead", lead_id, d, ok);
}

int fic__lead_deliver_sms(fic_store *store, const char *lead_id, const char *receipt_id,
                          int64_t receipt_at_ms)
{
	int rc = fic__exec(store, "UPDATE leads SET state = 'delivered', receipt_id = ?2, "
	                          "receipt_at_ms = ?3, reject_reason = NULL "
	                          "WHERE id = ?1 AND urgent AND state IN ('queued', 'rejected')",
	                   "updating a lead's state", "tti", lead_id, receipt_id, receipt_at_ms);
	if (rc != FIC_OK)
		return rc;
	if (sqlite3_changes(store->db) != 1) {
		char now[16];
		rc = fic__query_text(store, now, sizeof now, "SELECT state FROM leads WHERE id = ?1",
		                     "reading a lead", "t", lead_id);
		if (rc == FIC_ENOTFOUND)
			return fic__err(FIC_ENOTFOUND, "no lead %s", lead_id);
		if (rc != FIC_OK)
			return rc;
		if (strcmp(now, "delivered") == 0)
			return FIC_OK; /* confirmed twice, or delivered by data first: nothing to do */
		return fic__err(FIC_ESTATE, "lead %s is %s: only a submitted urgent lead is confirmed "
		                            "by SMS", lead_id, now);
	}
	cJSON *d = cJSON_CreateObject();
	bool ok = d && cJSON_AddStringToObject(d, "state", "delivered") &&
	          cJSON_AddStringToObject(d, "via", "sms") &&
	          cJSON_AddStringToObject(d, "receipt_id", receipt_id) &&
	          cJSON_AddNumberToObject(d, "receipt_at_ms", (double)receipt_at_ms);
	return fic__audit_take(store, "lead.state", "lead", lead_id, d, ok);
}

int fic_lead_submit(fic_store *store, const char *lead_id)
{
	fic__err_clear();
	FIC__ARG(store);
	int rc = fic__check_text(lead_id, "lead id", 63, true, NULL);
	if (rc != FIC_OK)
		return rc;
	if ((rc = fic__tx_begin(store)) != FIC_OK)
		return rc;
	rc = fic__lead_submit_tx(store, lead_id);
	rc = fic__tx_end(store, rc);
	fic__store_scrub_if_due(store, rc);
	return rc;
}

int fic_lead_correct(char *id_out, fic_store *store, const char *lead_id, const char *note)
{
	fic__err_clear();
	if (id_out == NULL || store == NULL)
		return fic__err(FIC_EINVAL, "id_out and store are required");
	id_out[0] = '\0';
	int rc = fic__check_text(lead_id, "lead id", 63, true, NULL);
	if (rc == FIC_OK)
		rc = fic__check_text(note, "note", 4000, true, NULL);
	if (rc != FIC_OK)
		return rc;
	sqlite3_stmt *st;
	if ((rc = fic__row_by_key(store, &st, "SELECT area, title, site_id, state FROM leads WHERE id = ?1", lead_id, "lead")) != FIC_OK)
		return rc;
	char area[40], title[700], site[FIC_UUID_BUFSIZE] = "";
	snprintf(area, sizeof area, "%s", (const char *)sqlite3_column_text(st, 0));
	snprintf(title, sizeof title, "更正：%s", (const char *)sqlite3_column_text(st, 1));
	if (sqlite3_column_text(st, 2))
		snprintf(site, sizeof site, "%s", (const char *)sqlite3_column_text(st, 2));
	bool draft = strcmp((const char *)sqlite3_column_text(st, 3), "draft") == 0;
	sqlite3_finalize(st);
	if (draft)
		return fic__err(FIC_ESTATE, "lead %s is still a draft: it can be changed before submitting",
		                lead_id);
	cJSON *content = cJSON_CreateObject();
	if (!content || !cJSON_AddStringToObject(content, "corrects", lead_id) ||
	    !cJSON_AddStringToObject(content, "note", note)) {
		cJSON_Delete(content);
		return fic__err(FIC_ENOMEM, "out of memory");
	}
	fic__lead_spec spec = { "correction", area, title, "enforcement", false, false, NULL, 0,
		                site[0] ? site : NULL, NULL, fic__now_ms(store), content, lead_id, true };
	if ((rc = fic__tx_begin(store)) == FIC_OK) {
		if ((rc = fic__tx_end(store, fic__lead_insert(id_out, store, &spec))) != FIC_OK)
			id_out[0] = '\0';
	}
	cJSON_Delete(content);
	return rc;
}

int fic__lead_from_findings(cJSON *lead_ids, fic_store *store, const cJSON *site_facts,
                            const char *site_id, const char *inspection_id,
                            const char *checklist_id, int version, const char *area,
                            const char *site_name, const char *checklist_title,
                            const cJSON *findings, int urgency, bool time_sensitive,
                            int64_t now)
{
	char title[600];
	int n = cJSON_GetArraySize(findings);
	const cJSON *first = cJSON_GetArrayItem(findings, 0);
	const cJSON *fz = cJSON_GetObjectItemCaseSensitive(first, "finding_zh");
	if (urgency)
		snprintf(title, sizeof title, "%s%s：%s", urgency_mark(urgency), site_name,
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
	fic__lead_spec spec = { "patrol_finding", area, title, "enforcement", urgency, time_sensitive,
		                NULL, 0,
		                site_id, inspection_id, now, content, NULL, true };
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

/* The site a form is filed about, if any: it exists and the form is for its
 * kind; *facts is its snapshot for the lead. */
static int form_site(fic_store *store, const fic__def *def, const char *site_id, fic_site **site,
                     cJSON **facts)
{
	int rc = fic_site_get(site, store, site_id);
	if (rc != FIC_OK)
		return rc;
	if (def->site_kinds && !fic__def_fits_kind(def, (*site)->kind))
		return fic__err(FIC_EINVAL, "form %s is not for a site of kind %s", def->id,
		                fic_site_code_str(FIC_CODE_KIND, (*site)->kind));
	*facts = fic__site_facts(*site);
	return *facts ? FIC_OK : fic__err(FIC_ENOMEM, "out of memory filing a lead");
}

/* Each given answer, checked and parsed as its item says, into `answers`. */
static int parse_answers(const fic__def *def, const cJSON *given, int64_t day, cJSON *answers)
{
	char *text = fic__malloc(4096);
	int rc = text ? FIC_OK : fic__err(FIC_ENOMEM, "out of memory filing a lead");
	const cJSON *g;
	cJSON_ArrayForEach(g, given) {
		if (rc != FIC_OK)
			break;
		const fic__item *it = fic__def_item(def, g->string);
		if (it == NULL) {
			rc = fic__err(FIC_EINVAL, "form %s has no item '%.64s'", def->id, g->string);
			break;
		}
		if (cJSON_IsNull(g))
			continue;
		cJSON *v = NULL;
		if ((rc = answer_text(text, 4096, g, it->id)) == FIC_OK &&
		    (rc = fic__answer_parse(&v, it, text, day)) == FIC_OK &&
		    !fic__json_put(answers, it->id, v))
			rc = fic__err(FIC_ENOMEM, "out of memory filing a lead");
	}
	fic__free(text);
	return rc;
}

/* Every applicable required item must be answered (FIC_EINCOMPLETE lists them). */
static int check_required(const fic__def *def, fic__ctx *ctx)
{
	cJSON *missing = cJSON_CreateArray();
	int rc = missing ? FIC_OK : fic__err(FIC_ENOMEM, "out of memory filing a lead");
	for (size_t i = 0; rc == FIC_OK && i < def->nitems; i++) {
		const fic__item *it = &def->items[i];
		ctx->self = it;
		bool applies = !it->applies || fic__truth(fic__eval(ctx, it->applies)) != 0;
		if (applies && it->required && fic__answer_val(ctx, it).t == FIC_V_NULL &&
		    !fic__json_put(missing, NULL, cJSON_CreateString(it->id)))
			rc = fic__err(FIC_ENOMEM, "out of memory filing a lead");
	}
	ctx->self = NULL;
	if (rc == FIC_OK && cJSON_GetArraySize(missing) > 0) {
		char *m = cJSON_PrintUnformatted(missing);
		rc = fic__err(FIC_EINCOMPLETE, "form %s: required items not answered: %.400s", def->id,
		              m ? m : "");
		cJSON_free(m);
	}
	cJSON_Delete(missing);
	return rc;
}

/* The lead's body: the form, its answers, the site's snapshot, the sections. */
static cJSON *form_content(const fic__def *def, const cJSON *answers, const cJSON *facts)
{
	cJSON *content = cJSON_CreateObject();
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
		cJSON_Delete(content);
		return NULL;
	}
	return content;
}

/* Whether the form's rule (a constant or an expression) holds. */
static bool lead_rule(fic__ctx *ctx, const char *constant, const char *when)
{
	const cJSON *w = cJSON_GetObjectItemCaseSensitive(ctx->def->lead, when);
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ctx->def->lead, constant)) ||
	       (w && fic__truth(fic__eval(ctx, w)) == 1);
}

/*
 * Where a report of several kinds (a tip-off) is routed (its lead's
 * "routes"): *routed when the answer names a kind under a reporting rule,
 * and *to that rule's form when this store knows it (else NULL: the report
 * still goes on the two-hour clock, under its own category). FIC_ENOMEM only.
 */
static int route_of(fic_store *store, const fic__ctx *ctx, bool *routed, const fic__def **to)
{
	*routed = false;
	*to = NULL;
	const cJSON *routes = cJSON_GetObjectItemCaseSensitive(ctx->def->lead, "routes");
	const char *item = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(routes, "item"));
	const char *kind = item ? cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ctx->answers,
	                                                                                item))
	                        : NULL;
	const char *form = kind ? cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
	                                  cJSON_GetObjectItemCaseSensitive(routes, "forms"), kind))
	                        : NULL;
	if (form == NULL)
		return FIC_OK;
	*routed = true;
	const fic__entry *e = NULL;
	int rc = fic__checklist_find(&e, store, form, 0);
	if (rc == FIC_ENOMEM)
		return rc;
	if (rc == FIC_OK && e->def->is_event && e->def->lead) {
		*to = e->def;
	} else {
		fic__err_clear();
		fic__log(store, FIC_LOG_WARN, "form %s routes to %s, which this store does not hold as "
		                              "an event form: filed under its own category",
		         ctx->def->id, form);
	}
	return FIC_OK;
}

/* The form the report was routed to, for the lead's body. */
static bool add_route(cJSON *content, const fic__def *to)
{
	cJSON *r = cJSON_CreateObject();
	return fic__json_put(content, "routed_to", r) && cJSON_AddStringToObject(r, "form", to->id) &&
	       cJSON_AddNumberToObject(r, "form_version", to->version) &&
	       cJSON_AddStringToObject(r, "title", to->title_zh) &&
	       fic__json_put(r, "sections",
	                     cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(to->lead, "sections"), true));
}

/* File the lead the form describes (everything checked), in one transaction. */
static int file_form(char *id_out, fic_store *store, const fic__entry *e, fic__ctx *ctx,
                     const fic_site *site, int64_t discovered_at_ms, unsigned int flags)
{
	const fic__def *def = e->def;
	int urgency = lead_rule(ctx, "urgent", "urgent_when") ? FIC_URGENCY_TWO_HOURS : FIC_URGENCY_NONE;
	bool time_sensitive = lead_rule(ctx, "time_sensitive", "time_sensitive_when");
	const cJSON *cat = cJSON_GetObjectItemCaseSensitive(def->lead, "category");
	const cJSON *to = cJSON_GetObjectItemCaseSensitive(def->lead, "report_to");
	const char *area = def->area;
	/*
	 * A tip-off whose subject falls under a two-hour rule is that rule's
	 * report: its clock runs from when the tip was received (the discovery
	 * time), it goes where that form's reports go, under its category. The
	 * target's own rule may need facts a tip does not have yet (the school
	 * cluster's counts): the tip is urgent all the same — the guide asks to
	 * verify and report within the two hours.
	 */
	bool routed;
	const fic__def *dest;
	int rrc = route_of(store, ctx, &routed, &dest);
	if (rrc != FIC_OK)
		return rrc;
	if (routed)
		urgency = FIC_URGENCY_TWO_HOURS;
	if (dest) {
		cat = cJSON_GetObjectItemCaseSensitive(dest->lead, "category");
		to = cJSON_GetObjectItemCaseSensitive(dest->lead, "report_to");
		area = dest->area;
	}
	char title[600];
	snprintf(title, sizeof title, "%s%s%s%s%s%s%s", urgency_mark(urgency), def->title_zh,
	         dest ? "（" : "", dest ? dest->title_zh : "", dest ? "）" : "", site ? "：" : "",
	         site ? site->name : "");
	cJSON *content = form_content(def, ctx->answers, ctx->site);
	if (content == NULL || (dest && !add_route(content, dest))) {
		cJSON_Delete(content);
		return fic__err(FIC_ENOMEM, "out of memory filing a lead");
	}
	fic__lead_spec spec = { cat->valuestring, area, title, to->valuestring, urgency,
		                time_sensitive, def->id, def->version, site ? site->id : NULL,
		                NULL, discovered_at_ms, content, NULL, !(flags & FIC_LEAD_DRAFT) };
	int rc = fic__tx_begin(store);
	if (rc == FIC_OK) {
		rc = fic__checklist_persist(store, e);
		if (rc == FIC_OK)
			rc = fic__lead_insert(id_out, store, &spec);
		rc = fic__tx_end(store, rc);
		fic__store_scrub_if_due(store, rc);
	}
	cJSON_Delete(content);
	return rc;
}

int fic_lead_file(char *id_out, fic_store *store, const char *form_id, const char *answers_json,
                  const char *site_id, int64_t discovered_at_ms, unsigned int flags)
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
	if (flags & ~FIC_LEAD_DRAFT)
		return fic__err(FIC_EINVAL, "unknown flags");
	int64_t now = fic__now_ms(store);
	if (discovered_at_ms == 0)
		discovered_at_ms = now;
	if (discovered_at_ms < 946684800000LL /* 2000-01-01 */ ||
	    discovered_at_ms > now + CLOCK_SKEW_MS)
		return fic__err(FIC_EINVAL, "discovered_at_ms must be a past time (not in the future)");
	const fic__entry *e;
	if ((rc = fic__checklist_find(&e, store, form_id, 0)) != FIC_OK)
		return rc;
	if (!e->def->is_event)
		return fic__err(FIC_EINVAL, "%s is a patrol checklist, not a report form", form_id);
	unsigned long failed_before = fic__alloc_failures();
	cJSON *given = cJSON_ParseWithLength(answers_json, strlen(answers_json));
	cJSON *answers = cJSON_CreateObject(), *facts = NULL;
	fic_site *site = NULL;
	if (given == NULL || !cJSON_IsObject(given))
		rc = given != NULL ? fic__err(FIC_EINVAL, "answers must be a JSON object {item: answer}")
		     : fic__alloc_failures() != failed_before ? fic__err(FIC_ENOMEM, "out of memory")
							       : fic__err(FIC_EINVAL, "answers are not valid JSON");
	else if (answers == NULL)
		rc = fic__err(FIC_ENOMEM, "out of memory filing a lead");
	if (rc == FIC_OK && has_site)
		rc = form_site(store, e->def, site_id, &site, &facts);
	int64_t day = fic__local_day(store, discovered_at_ms);
	fic__ctx ctx = { e->def, answers, facts, day, NULL };
	if (rc == FIC_OK)
		rc = parse_answers(e->def, given, day, answers);
	if (rc == FIC_OK)
		rc = check_required(e->def, &ctx);
	if (rc == FIC_OK)
		rc = file_form(id_out, store, e, &ctx, site, discovered_at_ms, flags);
	if (rc != FIC_OK)
		id_out[0] = '\0';
	cJSON_Delete(given);
	cJSON_Delete(answers);
	cJSON_Delete(facts);
	fic_site_free(site);
	return rc;
}

/* ---- listing ---- */

const fic_lead_info *fic_lead_list_at(const fic_lead_list *list, size_t i)
{
	return list && i < list->count ? &list->entries[i] : NULL;
}

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
		fic__free((char *)e->reject_reason);
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
	FIC__BEGIN(out, store);
	sqlite3_stmt *st;
	int rc = fic__prepare(store, &st,
	                      "SELECT id, category, area, title, state, report_to, site_id, urgent, "
	                      "discovered_at_ms, deadline_at_ms, t_flags, t_boot_id, t_mono_ms, "
	                      "t_device_ms, receipt_at_ms, reject_reason, (SELECT min(c.called_at_ms) "
	                      "FROM lead_calls c WHERE c.lead_id = leads.id), sealed FROM leads ORDER BY urgent DESC, "
	                      "CASE WHEN urgent THEN deadline_at_ms END, discovered_at_ms DESC, id "
	                      "LIMIT ?1");
	if (rc != FIC_OK)
		return rc;
	sqlite3_bind_int64(st, 1, limit == 0 || limit > INT64_MAX ? -1 : (int64_t)limit);
	fic_time now;
	if ((rc = fic__time_now(store, &now)) != FIC_OK) {
		sqlite3_finalize(st);
		return rc;
	}
	int64_t unc = now.uncertainty_ms > 0 ? now.uncertainty_ms : 0;
	fic_lead_list *list = fic__calloc(1, sizeof *list);
	size_t cap = 0;
	int src = SQLITE_DONE;
	if (list == NULL)
		rc = fic__err(FIC_ENOMEM, "out of memory listing leads");
	else
		list->entry_size = sizeof(fic_lead_info);
	while (rc == FIC_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
		fic_lead_info *e = FIC__GROW(list->entries, list->count, cap);
		if (e == NULL) {
			rc = fic__err(FIC_ENOMEM, "out of memory listing leads");
			break;
		}
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
		e->time_flags = sqlite3_column_int(st, 10);
		if (e->urgent)
			e->deadline_at_ms = fic__effective_deadline(store, e->deadline_at_ms, e->time_flags,
			                                            (const char *)sqlite3_column_text(st, 11),
			                                            sqlite3_column_int64(st, 12),
			                                            sqlite3_column_int64(st, 13),
			                                            e->discovered_at_ms,
			                                            fic__urgency_grace_ms(e->urgent));
		e->remaining_ms = e->urgent ? e->deadline_at_ms - now.trusted_ms : 0;
		e->receipt_at_ms = sqlite3_column_int64(st, 14);
		e->reject_reason = col_dup(st, 15, &oom);
		e->called_at_ms = sqlite3_column_int64(st, 16);
		e->sealed = sqlite3_column_int(st, 17);
		/* With no server contact yet the clock is unverified: never trust it for a
		 * deadline. A lead phoned in by its deadline has met its duty. */
		bool called = e->called_at_ms && e->called_at_ms <= e->deadline_at_ms;
		e->at_risk = e->urgent && e->state && strcmp(e->state, "delivered") != 0 && !called &&
			     (now.uncertainty_ms < 0 || e->remaining_ms - unc <= FIC_AT_RISK_MS);
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

/* What went by SMS for the lead (lead_sms), as "sms": {...}; nothing when nothing did. */
static bool sms_section(fic_store *store, const char *lead_id, cJSON *o)
{
	sqlite3_stmt *st;
	if (fic__cached(store, &st, "SELECT format, parts, recipient, first_sent_at_ms, "
	                            "last_sent_at_ms, times_sent, receipt_id, received_at_ms, "
	                            "confirmed_at_ms FROM lead_sms WHERE lead_id = ?1") != FIC_OK)
		return false;
	sqlite3_bind_text(st, 1, lead_id, -1, SQLITE_STATIC);
	bool ok = true;
	int s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		static const char *const keys[] = { "format", "parts", "recipient", "first_sent_at_ms",
			                            "last_sent_at_ms", "times_sent", "receipt_id",
			                            "received_at_ms", "confirmed_at_ms" };
		cJSON *m = cJSON_CreateObject();
		ok = m != NULL;
		for (int i = 0; ok && i < 9; i++)
			if (sqlite3_column_type(st, i) != SQLITE_NULL)
				ok = fic__json_put(m, keys[i], col_json(st, i));
		ok = fic__json_take(o, "sms", &m) && ok;
	} else if (s != SQLITE_DONE) {
		ok = false;
	}
	fic__release(store, st);
	return ok;
}

/* The lead's calls (fic_lead_call_record) into `o`, and whether the first
 * was made by the deadline (when it has one). */
static bool add_calls(fic_store *store, cJSON *o, const char *lead_id, int64_t deadline, int *rc)
{
	sqlite3_stmt *st;
	if ((*rc = fic__prepare(store, &st, "SELECT method, called_at_ms, to_whom, note, inspector "
	                                    "FROM lead_calls WHERE lead_id = ?1 ORDER BY called_at_ms, "
	                                    "id")) != FIC_OK)
		return true;
	sqlite3_bind_text(st, 1, lead_id, -1, SQLITE_STATIC);
	cJSON *calls = cJSON_AddArrayToObject(o, "calls");
	bool ok = calls != NULL;
	int64_t first = 0;
	int src;
	while (ok && (src = sqlite3_step(st)) == SQLITE_ROW) {
		cJSON *c = cJSON_CreateObject();
		int64_t at = sqlite3_column_int64(st, 1);
		if (first == 0)
			first = at;
		ok = fic__json_put(calls, NULL, c) &&
		     cJSON_AddStringToObject(c, "method", (const char *)sqlite3_column_text(st, 0)) &&
		     cJSON_AddNumberToObject(c, "called_at_ms", (double)at) &&
		     cJSON_AddStringToObject(c, "to_whom", (const char *)sqlite3_column_text(st, 2)) &&
		     (sqlite3_column_type(st, 3) == SQLITE_NULL ||
		      cJSON_AddStringToObject(c, "note", (const char *)sqlite3_column_text(st, 3))) &&
		     (sqlite3_column_type(st, 4) == SQLITE_NULL ||
		      cJSON_AddStringToObject(c, "inspector", (const char *)sqlite3_column_text(st, 4)));
	}
	if (ok && src != SQLITE_DONE)
		*rc = fic__db_err(store, src, "reading a lead's calls");
	sqlite3_finalize(st);
	if (ok && deadline)
		ok = cJSON_AddBoolToObject(o, "called_by_deadline", first && first <= deadline) != NULL;
	return ok;
}

int fic_lead_call_record(fic_store *store, const char *lead_id, const char *method,
                         int64_t called_at_ms, const char *to_whom, const char *note)
{
	fic__err_clear();
	FIC__ARG(store);
	bool has_note = false;
	int rc = fic__check_text(lead_id, "lead id", FIC_ID_MAX, true, NULL);
	if (rc == FIC_OK)
		rc = fic__check_text(method, "method", 16, true, NULL);
	if (rc == FIC_OK)
		rc = fic__check_text(to_whom, "to_whom", FIC_CALL_TEXT_MAX, true, NULL);
	if (rc == FIC_OK)
		rc = fic__check_text(note, "note", FIC_CALL_TEXT_MAX, false, &has_note);
	if (rc != FIC_OK)
		return rc;
	if (strcmp(method, "phone") != 0 && strcmp(method, "fax") != 0)
		return fic__err(FIC_EINVAL, "a call is by phone or fax, not '%.16s'", method);
	int64_t now = fic__now_ms(store);
	if (called_at_ms == 0)
		called_at_ms = now;
	if (called_at_ms > now + CLOCK_SKEW_MS)
		return fic__err(FIC_EINVAL, "called_at_ms is in the future");
	if ((rc = fic__tx_begin(store)) != FIC_OK)
		return rc;
	int64_t discovered = 0;
	rc = fic__query_int(store, &discovered, "SELECT discovered_at_ms FROM leads WHERE id = ?1",
	                    "reading a lead", "t", lead_id);
	if (rc == FIC_ENOTFOUND)
		rc = fic__err(FIC_ENOTFOUND, "no lead %s", lead_id);
	else if (rc == FIC_OK && called_at_ms < discovered - CLOCK_SKEW_MS)
		rc = fic__err(FIC_EINVAL, "the call cannot be before the matter was discovered");
	char id[FIC_UUID_BUFSIZE];
	fic_time t;
	if (rc == FIC_OK && (rc = fic__uuid7(store, id)) == FIC_OK && (rc = fic__time_now(store, &t)) == FIC_OK) {
		sqlite3_stmt *st;
		if ((rc = fic__prepare(store, &st, "INSERT INTO lead_calls (id, lead_id, method, "
		                                   "called_at_ms, to_whom, note, inspector, created_at_ms, "
		                                   "t_device_ms, t_mono_ms, t_boot_id, t_trusted_ms, "
		                                   "t_uncertainty_ms, t_flags) VALUES (?1, ?2, ?3, ?4, ?5, "
		                                   "?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)")) == FIC_OK) {
			sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 2, lead_id, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 3, method, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 4, called_at_ms);
			sqlite3_bind_text(st, 5, to_whom, -1, SQLITE_STATIC);
			if (has_note)
				sqlite3_bind_text(st, 6, note, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 7, store->actor, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 8, now);
			fic__time_bind(st, 9, &t);
			int src = sqlite3_step(st);
			sqlite3_finalize(st);
			rc = src == SQLITE_DONE ? FIC_OK : fic__db_err(store, src, "recording a call");
		}
	}
	cJSON *rec = NULL;
	if (rc == FIC_OK) {
		rec = cJSON_CreateObject();
		bool ok = rec && cJSON_AddStringToObject(rec, "id", id) &&
		          cJSON_AddStringToObject(rec, "lead_id", lead_id) &&
		          cJSON_AddStringToObject(rec, "method", method) &&
		          cJSON_AddNumberToObject(rec, "called_at_ms", (double)called_at_ms) &&
		          cJSON_AddStringToObject(rec, "to_whom", to_whom) &&
		          (!has_note || cJSON_AddStringToObject(rec, "note", note)) &&
		          cJSON_AddNumberToObject(rec, "trusted_ms", (double)t.trusted_ms) &&
		          cJSON_AddNumberToObject(rec, "time_flags", t.flags);
		char *text = ok ? cJSON_PrintUnformatted(rec) : NULL;
		rc = text ? fic__outbox_enqueue(store, "call", id, "add", FIC_PRIORITY_LEAD, text)
		          : fic__err(FIC_ENOMEM, "out of memory recording a call");
		cJSON_free(text);
	}
	cJSON_Delete(rec);
	if (rc == FIC_OK) {
		cJSON *d = cJSON_CreateObject();
		bool ok = d && cJSON_AddStringToObject(d, "lead", lead_id) &&
		          cJSON_AddStringToObject(d, "method", method) &&
		          cJSON_AddNumberToObject(d, "called_at_ms", (double)called_at_ms);
		rc = fic__audit_take(store, "lead.call", "call", id, d, ok);
	}
	return fic__tx_end(store, rc);
}

int fic_lead_get_json(char **out, fic_store *store, const char *lead_id)
{
	FIC__BEGIN(out, store);
	int rc = fic__check_text(lead_id, "lead id", 63, true, NULL);
	if (rc != FIC_OK)
		return rc;
	sqlite3_stmt *st;
	if ((rc = fic__row_by_key(store, &st, "SELECT id, category, area, title, state, report_to, site_id, "
	                       "inspection_id, urgent, time_sensitive, discovered_at_ms, "
	                       "deadline_at_ms, form_id, form_version, content, hash, chain_seq, "
	                       "receipt_id, receipt_at_ms, reject_reason, corrects, t_trusted_ms, "
	                       "t_uncertainty_ms, t_flags, t_boot_id, t_mono_ms, t_device_ms FROM leads "
	                       "WHERE id = ?1", lead_id, "lead")) != FIC_OK)
		return rc;
	cJSON *o = cJSON_CreateObject();
	const char *keys[] = { "id", "category", "area", "title", "state", "report_to", "site_id",
		               "inspection_id" };
	bool ok = o != NULL;
	for (int i = 0; ok && i < 8; i++) {
		const char *v = (const char *)sqlite3_column_text(st, i);
		ok = v == NULL || cJSON_AddStringToObject(o, keys[i], v);
	}
	int urgency = sqlite3_column_int(st, 8);
	bool urgent = urgency != FIC_URGENCY_NONE;
	int64_t deadline = sqlite3_column_int64(st, 11);
	if (urgent)
		deadline = fic__effective_deadline(store, deadline, sqlite3_column_int(st, 23),
		                                   (const char *)sqlite3_column_text(st, 24),
		                                   sqlite3_column_int64(st, 25), sqlite3_column_int64(st, 26),
		                                   sqlite3_column_int64(st, 10),
		                                   fic__urgency_grace_ms(urgency));
	const char *content = (const char *)sqlite3_column_text(st, 14);
	cJSON *c = content ? cJSON_Parse(content) : NULL;
	ok = ok && c && cJSON_AddBoolToObject(o, "urgent", urgent) &&
	     cJSON_AddStringToObject(o, "urgency", urgency == FIC_URGENCY_IMMEDIATE ? "immediate"
	                                           : urgent ? "two_hours" : "none") &&
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
	static const char *const more[] = { "hash", "chain_seq", "receipt_id", "receipt_at_ms",
		                            "reject_reason", "corrects", "trusted_at_ms",
		                            "uncertainty_ms", "time_flags" };
	for (int i = 0; ok && i < 9; i++)
		if (sqlite3_column_type(st, 15 + i) != SQLITE_NULL)
			ok = fic__json_put(o, more[i], col_json(st, 15 + i));
	if (ok)
		ok = sms_section(store, lead_id, o);
	if (ok)
		ok = add_calls(store, o, lead_id, urgent ? deadline : 0, &rc);
	fic_time tn;
	if (ok && urgent && fic__time_now(store, &tn) == FIC_OK) {
		cJSON_DeleteItemFromObjectCaseSensitive(o, "remaining_ms");
		ok = cJSON_AddNumberToObject(o, "remaining_ms", (double)(deadline - tn.trusted_ms)) != NULL;
	}
	sqlite3_finalize(st);
	return fic__json_out(out, o, ok, rc);
}
