/*
 * sync/pull.c — what the county sends down (docs/protocol.md, "Feeds"):
 * checklist definitions, the county's settings (semesters, the patrol plan),
 * the site registry (本底) and re-inspection tasks,
 * each a change log read with a cursor. Each page is applied in one
 * transaction together with its cursor, so an interrupted pull resumes where
 * it stopped and a page is never half-applied. Sites come before tasks (a
 * task names its site). An item that does not validate — an id outside the
 * documented character set (fic__check_id), bad UTF-8, an oversized or
 * missing field — is skipped and counted (and logged without its content),
 * never allowed to block the feed.
 * Pages are asked for gzip'd (a page of sites compresses about 10x) and
 * inflated here, never past the response limit: a page that would grow
 * beyond it is refused, whatever its size on the wire.
 */
#include "sync_internal.h"

#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#define PULL_PAGE 200
/* Checklist definitions are large (20–60 KB each): smaller pages keep each
 * answer well under the 4 MiB response limit. */
#define PULL_PAGE_CHECKLISTS 20
#define PULL_MAX_PAGES 1000 /* a server that never says "no more" */

static int cursor_get(fic_store *store, const char *feed, char *buf, size_t size)
{
	char key[64];
	snprintf(key, sizeof key, "feed.%s.cursor", feed);
	buf[0] = '\0';
	int rc = fic__sync_state_get(store, key, buf, size);
	if (rc == FIC_ENOTFOUND) { /* never pulled: from the start */
		buf[0] = '\0';
		rc = FIC_OK;
	}
	return rc;
}

static int cursor_put(fic_store *store, const char *feed, const char *value)
{
	char key[64];
	snprintf(key, sizeof key, "feed.%s.cursor", feed);
	return fic__sync_state_put(store, key, value);
}

/* A re-inspection task from the agency (非法行医 3.4.2). */
static int apply_task(fic_store *store, const char *id, bool del, const cJSON *data)
{
	sqlite3_stmt *st;
	int rc;
	if (del) {
		if ((rc = fic__prepare(store, &st, "UPDATE tasks SET state = 'cancelled' WHERE id = ?1 "
		                                   "AND source = 'agency'")) != FIC_OK)
			return rc;
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	} else {
		const cJSON *kind = cJSON_GetObjectItemCaseSensitive(data, "kind");
		const cJSON *site = cJSON_GetObjectItemCaseSensitive(data, "site_id");
		const cJSON *due = cJSON_GetObjectItemCaseSensitive(data, "due_date");
		const cJSON *detail = cJSON_GetObjectItemCaseSensitive(data, "detail");
		const cJSON *state = cJSON_GetObjectItemCaseSensitive(data, "state");
		int64_t day;
		if (!cJSON_IsString(kind) || (rc = fic__check_text(kind->valuestring, "task kind", 64,
		                                                  true, NULL)) != FIC_OK)
			return fic__err(FIC_EINVAL, "a task needs a kind");
		if (site && !cJSON_IsNull(site) &&
		    (!cJSON_IsString(site) || fic__check_id(site->valuestring, "site_id") != FIC_OK))
			return fic__err(FIC_EINVAL, "a task's site_id must be a site id");
		if (due && !cJSON_IsNull(due) &&
		    (!cJSON_IsString(due) || fic__parse_date(due->valuestring, "due date", &day) != FIC_OK))
			return fic__err(FIC_EINVAL, "a task's due_date must be YYYY-MM-DD");
		if (detail && !cJSON_IsNull(detail) &&
		    (!cJSON_IsString(detail) ||
		     fic__check_text(detail->valuestring, "task detail", 2000, false, NULL) != FIC_OK))
			return fic__err(FIC_EINVAL, "a task's detail must be text");
		const char *st_text = cJSON_IsString(state) && strcmp(state->valuestring, "done") == 0
		                              ? "done"
		                              : "open";
		/* A task for a site this device does not hold keeps the site in its detail. */
		if ((rc = fic__prepare(store, &st,
		                       "INSERT INTO tasks (id, kind, site_id, source, state, due_date, "
		                       "detail, created_at_ms) VALUES (?1, ?2, (SELECT id FROM sites "
		                       "WHERE id = ?3), 'agency', ?4, ?5, ?6, ?7) ON CONFLICT (id) DO "
		                       "UPDATE SET kind = excluded.kind, site_id = excluded.site_id, "
		                       "state = excluded.state, due_date = excluded.due_date, "
		                       "detail = excluded.detail WHERE tasks.source = 'agency'")) != FIC_OK)
			return rc;
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, kind->valuestring, -1, SQLITE_STATIC);
		if (cJSON_IsString(site))
			sqlite3_bind_text(st, 3, site->valuestring, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, st_text, -1, SQLITE_STATIC);
		if (cJSON_IsString(due))
			sqlite3_bind_text(st, 5, due->valuestring, -1, SQLITE_STATIC);
		if (cJSON_IsString(detail))
			sqlite3_bind_text(st, 6, detail->valuestring, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 7, fic__now_ms(store));
	}
	int s = sqlite3_step(st);
	sqlite3_finalize(st);
	if (s != SQLITE_DONE)
		return fic__db_err(store, s, "saving a task");
	return fic__audit_append(store, del ? "task.cancel" : "task.assign", "task", id, "{}");
}

/*
 * A setting the county pushes: {"value": …} for id semester_starts (the
 * semesters, 学校卫生 三(一)2) or patrol_plan (how often each area is
 * patrolled, 实施方案 一(三)2; its own areas, 二(二)7). A deleted setting
 * stays as it was (skipped).
 */
static int apply_setting(fic_store *store, const char *id, bool del, const cJSON *data,
                         bool *skipped)
{
	if (del) {
		*skipped = true;
		return FIC_OK;
	}
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(data, "value");
	if (strcmp(id, "semester_starts") == 0)
		return cJSON_IsString(v) ? fic__setting_put_county(store, id, v->valuestring)
		                         : fic__err(FIC_EINVAL, "semester_starts needs a string value");
	if (strcmp(id, "patrol_plan") == 0) {
		if (!cJSON_IsObject(v))
			return fic__err(FIC_EINVAL, "patrol_plan needs an object value");
		char *text = cJSON_PrintUnformatted(v);
		int rc = text ? fic__patrol_plan_apply(store, text, "county")
		              : fic__err(FIC_ENOMEM, "out of memory");
		cJSON_free(text);
		return rc;
	}
	return fic__err(FIC_EINVAL, "a setting the device does not take from the county");
}

/*
 * A laboratory result the county sends for a water sample (饮用水 二:
 * 协助开展饮用水水质抽检): the item's id is the sample's number, data
 * {"passed": bool, "reported_on": "YYYY-MM-DD", "detail": "…"}. A result for
 * a sample this device did not take is passed over (skipped).
 */
static int apply_lab_result(fic_store *store, const char *id, bool del, const cJSON *data,
                            bool *skipped)
{
	if (del) {
		*skipped = true;
		return FIC_OK;
	}
	const cJSON *passed = cJSON_GetObjectItemCaseSensitive(data, "passed");
	const char *on = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(data, "reported_on"));
	const cJSON *detail = cJSON_GetObjectItemCaseSensitive(data, "detail");
	if (!cJSON_IsBool(passed) || on == NULL || (detail && !cJSON_IsString(detail)))
		return fic__err(FIC_EINVAL, "a laboratory result needs passed (true/false) and "
		                            "reported_on");
	int rc = fic__sample_result_tx(store, id, cJSON_IsTrue(passed), on,
	                               detail ? detail->valuestring : NULL);
	if (rc == FIC_ENOTFOUND) {
		fic__err_clear();
		*skipped = true;
		rc = FIC_OK;
	}
	return rc;
}

/* Inflate a gzip'd page in place, within the response limit. */
static int inflate_page(fic_http_response *r, const char *feed)
{
	if (r->content_encoding == FIC_HTTP_CODING_NONE)
		return FIC_OK;
	if (r->content_encoding != FIC_HTTP_CODING_GZIP)
		return fic__err(FIC_EPROTO, "the %s feed's answer has a content coding the device did "
		                            "not ask for", feed);
	unsigned char *plain;
	size_t len;
	int rc = fic__gunzip(r->body, r->body_len, FIC_SYNC_RESPONSE_MAX_BYTES, &plain, &len);
	if (rc == FIC_ETOOBIG)
		return fic__err(FIC_ETOOBIG, "the %s feed's page inflates to more than %d bytes "
		                             "(%zu gzip'd): refused", feed, FIC_SYNC_RESPONSE_MAX_BYTES,
		                r->body_len);
	if (rc == FIC_ENOMEM)
		return rc;
	if (rc != FIC_OK)
		return fic__err(FIC_EPROTO, "the %s feed's page is not valid gzip", feed);
	fic__free(r->body);
	r->body = plain;
	r->body_len = len;
	r->content_encoding = FIC_HTTP_CODING_NONE;
	return FIC_OK;
}

/*
 * Apply one page in one transaction. The page must be an object with an
 * "items" array (each {id, op, data?}), a string "cursor" and a boolean
 * "more"; anything else is FIC_EPROTO and nothing changes.
 */
static int apply_page(fic_store *store, const char *feed, const char *body, size_t len,
                      char *cursor, size_t cursor_size, bool *more, fic_sync_report *rep,
                      bool *checklists_changed)
{
	cJSON *j = cJSON_ParseWithLength(body, len);
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(j, "items");
	const cJSON *cur = cJSON_GetObjectItemCaseSensitive(j, "cursor");
	const cJSON *mo = cJSON_GetObjectItemCaseSensitive(j, "more");
	if (!cJSON_IsArray(items) || !cJSON_IsString(cur) || !cJSON_IsBool(mo) ||
	    strlen(cur->valuestring) == 0 || strlen(cur->valuestring) >= cursor_size ||
	    fic__check_text(cur->valuestring, "cursor", cursor_size - 1, true, NULL) != FIC_OK ||
	    cJSON_GetArraySize(items) > 500) {
		cJSON_Delete(j);
		return fic__err(FIC_EPROTO, "the %s feed's answer is not a feed page", feed);
	}
	const cJSON *it;
	int rc = fic__tx_begin(store);
	if (rc != FIC_OK) {
		cJSON_Delete(j);
		return rc;
	}
	cJSON_ArrayForEach(it, items)
	{
		/* Each item on its own: one the device cannot take is skipped and
		 * counted, and never stops the page or the feed behind it. */
		const cJSON *idj = cJSON_GetObjectItemCaseSensitive(it, "id");
		const cJSON *op = cJSON_GetObjectItemCaseSensitive(it, "op");
		const char *id = cJSON_GetStringValue(idj);
		const char *ops = cJSON_GetStringValue(op);
		bool del = ops && strcmp(ops, "delete") == 0;
		const cJSON *data = cJSON_GetObjectItemCaseSensitive(it, "data");
		int irc;
		bool skipped = false;
		if (!cJSON_IsObject(it) || ops == NULL || (!del && strcmp(ops, "upsert") != 0)) {
			irc = fic__err(FIC_EINVAL, "an item without a valid op");
		} else if ((irc = fic__check_id(id, "the item's id")) != FIC_OK) {
			/* a county id outside the documented character set */
		} else if (strcmp(feed, "checklists") == 0) {
			if (del) {
				skipped = true; /* stored versions stay: old inspections are judged by them */
				irc = FIC_OK;
			} else {
				char *text = cJSON_IsObject(data) ? cJSON_PrintUnformatted(data) : NULL;
				irc = text ? fic__checklist_install_tx(store, text, strlen(text))
				           : fic__err(FIC_EINVAL, "no definition");
				cJSON_free(text);
				if (irc == FIC_EEXISTS) { /* not newer than ours: nothing to do */
					irc = FIC_OK;
					skipped = true;
				} else if (irc == FIC_OK) {
					*checklists_changed = true;
				}
			}
		} else if (strcmp(feed, "lab_results") == 0) {
			irc = apply_lab_result(store, id, del, data, &skipped);
		} else if (strcmp(feed, "settings") == 0) {
			irc = apply_setting(store, id, del, data, &skipped);
		} else if (strcmp(feed, "sites") == 0) {
			const cJSON *ch = cJSON_GetObjectItemCaseSensitive(it, "changed_at_ms");
			int64_t changed = cJSON_IsNumber(ch) && ch->valuedouble > 0 &&
			                                  ch->valuedouble < 9e15
			                          ? (int64_t)ch->valuedouble
			                          : 0;
			irc = del || cJSON_IsObject(data)
			              ? fic__site_apply_feed(store, id, del, data, changed, &skipped)
			              : fic__err(FIC_EINVAL, "no site data");
		} else {
			irc = del || cJSON_IsObject(data) ? apply_task(store, id, del, data)
			                                  : fic__err(FIC_EINVAL, "no task data");
		}
		if (irc == FIC_ENOMEM || irc == FIC_EIO || irc == FIC_ECORRUPT || irc == FIC_EREADONLY ||
		    irc == FIC_EBUSY) {
			rc = irc; /* the store's trouble, not the item's: try the page again later */
			break;
		}
		if (irc != FIC_OK) {
			fic__log(store, FIC_LOG_WARN, "%s feed: item skipped: %s", feed,
			         fic_error_last()->message);
			rep->pull_invalid++;
		} else if (skipped) {
			rep->pull_skipped++;
		} else {
			rep->pulled++;
		}
	}
	if (rc == FIC_OK)
		rc = cursor_put(store, feed, cur->valuestring);
	if ((rc = fic__tx_end(store, rc)) == FIC_OK) {
		snprintf(cursor, cursor_size, "%s", cur->valuestring);
		*more = cJSON_IsTrue(mo);
	}
	cJSON_Delete(j);
	return rc;
}

int fic__sync_pull(fic_store *store, const fic_sync_options *o, const char *auth,
                   fic_sync_report *rep)
{
	static const char *const feeds[] = { "checklists", "settings", "sites", "tasks",
		                             "lab_results" };
	fic_http_header h[] = { { "Authorization", auth }, { "Accept", "application/json" },
		                { "Accept-Encoding", "gzip" } };
	/* Only a version-2 transport hands a coded body back as it came. */
	bool gzip = o->transport->version >= 2;
	int rc = FIC_OK;
	bool checklists_changed = false;
	for (size_t f = 0; f < sizeof feeds / sizeof feeds[0] && rc == FIC_OK; f++) {
		char cursor[128];
		if ((rc = cursor_get(store, feeds[f], cursor, sizeof cursor)) != FIC_OK)
			break;
		bool more = true;
		for (int page = 0; more && rc == FIC_OK; page++) {
			if (page == PULL_MAX_PAGES) {
				rc = fic__err(FIC_EPROTO, "the %s feed does not end", feeds[f]);
				break;
			}
			if (fic__cancelled(o->cancel)) {
				rc = fic__err(FIC_ECANCELED, "sync cancelled");
				break;
			}
			char path[512], *esc = NULL; /* a 127-byte cursor encoded is ≤ 381 bytes */
			size_t cl = strlen(cursor);
			/* Cursors are the server's; pass them back percent-encoded. */
			esc = fic__malloc(cl * 3 + 1);
			if (esc == NULL) {
				rc = fic__err(FIC_ENOMEM, "out of memory");
				break;
			}
			size_t k = 0;
			for (size_t i = 0; i < cl; i++) {
				unsigned char ch = (unsigned char)cursor[i];
				if ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
				    (ch >= 'A' && ch <= 'Z') || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
					esc[k++] = (char)ch;
				} else {
					snprintf(esc + k, 4, "%%%02X", ch);
					k += 3;
				}
			}
			esc[k] = '\0';
			snprintf(path, sizeof path, "/v1/feeds/%s?limit=%d%s%s", feeds[f],
			         f == 0 ? PULL_PAGE_CHECKLISTS : PULL_PAGE, k ? "&cursor=" : "", esc);
			fic__free(esc);
			fic_http_response r;
			if ((rc = fic__sync_exchange(store, o, "GET", path, h, gzip ? 3 : 2, NULL, 0, &r,
			                             rep)) != FIC_OK)
				break;
			if (gzip && (rc = inflate_page(&r, feeds[f])) != FIC_OK) {
				/* nothing applied */
			} else if (r.status == 200) {
				rc = apply_page(store, feeds[f], (const char *)r.body, r.body_len, cursor,
				                sizeof cursor, &more, rep, &checklists_changed);
			} else {
				char what[40];
				snprintf(what, sizeof what, "the %s feed", feeds[f]);
				rc = fic__answer_error(store, &r, what, NULL);
			}
			fic__free(r.body);
		}
	}
	if (checklists_changed)
		fic__registry_reset(store);
	return rc;
}
