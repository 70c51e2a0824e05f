/*
 * sync/audit.c — the audit log goes to the county after the records.
 */
#include "sync_internal.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The audit log goes to the county too, after the outbox's records: entries
 * after the cursor `sync.audit_seq`, up to *max a request, each a record
 * {type "audit", id "<device>:<seq>"} — idempotent like every record. The
 * log is append-only (rows are never marked), so the cursor says how far the
 * server has answered: it moves past an entry only on an answer that names
 * it (stored, duplicate, or refused for good — logged and counted); a
 * refusal that may be retried stops it there. A batch refused whole is
 * halved until the refused entry is alone, and that one is skipped. An entry
 * whose detail is not JSON (damaged on disk, or written by an older
 * version) is set aside: kept as a refused outbox row the user sees in the
 * rejections, counted, never sent — and the rest of the log goes on.
 */
static int set_aside_audit(fic_store *store, int64_t seq, fic_sync_report *rep)
{
	char id[80], cur[32];
	snprintf(id, sizeof id, "%s:%lld", fic_store_device_id(store), (long long)seq);
	snprintf(cur, sizeof cur, "%lld", (long long)seq);
	fic__log(store, FIC_LOG_WARN, "audit entry %lld cannot be read: set aside, not sent",
	         (long long)seq);
	int rc = fic__tx_begin(store);
	if (rc != FIC_OK)
		return rc;
	rc = fic__exec(store, "INSERT INTO outbox (record_type, record_id, op, priority, payload, "
	                      "created_at_ms, state, last_error) VALUES ('audit', ?1, 'append', 0, "
	                      "'{}', ?2, 'rejected', 'this audit entry could not be read (damaged, "
	                      "or written by an older version): set aside, not sent')",
	               "setting an audit entry aside", "ti", id, fic__now_ms(store));
	if (rc == FIC_OK)
		rc = fic__sync_state_put(store, "sync.audit_seq", cur);
	if ((rc = fic__tx_end(store, rc)) == FIC_OK)
		rep->set_aside++;
	return rc;
}

/*
 * The next entries after the cursor as a batch of "audit" records (*out NULL
 * when there are none). An unreadable entry ends the batch; when it comes
 * first, *aside is its seq instead, for the caller to set aside.
 */
static int read_entries(fic_store *store, size_t max, fic__outbox_batch **out, int64_t *aside)
{
	*out = NULL;
	*aside = 0;
	char cur[32] = "0";
	int rc = fic__sync_state_get(store, "sync.audit_seq", cur, sizeof cur);
	if (rc != FIC_OK && rc != FIC_ENOTFOUND)
		return rc;
	fic__err_clear();
	sqlite3_stmt *st;
	if ((rc = fic__prepare(store, &st,
	                       "SELECT seq, json_object('seq', seq, 'at_ms', at_ms, 'mono_ms', mono_ms, "
	                       "'boot_id', boot_id, 'trusted_ms', trusted_ms, 'time_flags', time_flags, "
	                       "'actor', actor, 'action', action, 'entity', entity, 'entity_id', "
	                       "entity_id, 'detail', CASE WHEN json_valid(detail) THEN json(detail) "
	                       "END), json_valid(detail) FROM audit WHERE seq > ?1 "
	                       "ORDER BY seq LIMIT ?2")) != FIC_OK)
		return rc;
	sqlite3_bind_int64(st, 1, strtoll(cur, NULL, 10));
	sqlite3_bind_int64(st, 2, (int64_t)max);
	fic__outbox_batch *b = fic__calloc(1, sizeof *b);
	if (b == NULL || (b->items = fic__calloc(max, sizeof *b->items)) == NULL)
		rc = fic__err(FIC_ENOMEM, "out of memory reading the audit log");
	const char *dev = fic_store_device_id(store);
	/* Room for the envelope: type, id and op per record, and the braces. */
	const size_t room = FIC_SYNC_BATCH_MAX_BYTES - 64 * 1024;
	int s = SQLITE_DONE;
	while (rc == FIC_OK && (s = sqlite3_step(st)) == SQLITE_ROW) {
		if (!sqlite3_column_int(st, 2)) {
			/* Unreadable: send what came before it first; then set it aside. */
			if (b->count == 0)
				*aside = sqlite3_column_int64(st, 0);
			s = SQLITE_DONE;
			break;
		}
		const char *json = (const char *)sqlite3_column_text(st, 1);
		size_t jl = json ? strlen(json) : 0;
		if (b->count > 0 && b->payload_bytes + jl > room)
			break; /* the rest next request */
		fic__outbox_item *it = &b->items[b->count++];
		it->seq = sqlite3_column_int64(st, 0);
		char id[80];
		snprintf(id, sizeof id, "%s:%lld", dev, (long long)it->seq);
		it->record_type = fic__strdup("audit");
		it->record_id = fic__strdup(id);
		it->op = fic__strdup("append");
		it->payload = fic__strdup(json ? json : "{}");
		if (!it->record_type || !it->record_id || !it->op || !it->payload)
			rc = fic__err(FIC_ENOMEM, "out of memory reading the audit log");
		b->payload_bytes += jl;
	}
	if (rc == FIC_OK && s != SQLITE_ROW && s != SQLITE_DONE)
		rc = fic__db_err(store, s, "reading the audit log");
	sqlite3_finalize(st);
	if (rc != FIC_OK || b->count == 0) {
		fic__outbox_batch_free(b);
		return rc;
	}
	*out = b;
	return FIC_OK;
}

/*
 * What the server answered for the batch: the seq the cursor may move past
 * (-1: none), or the pass's error. *idle when the first entry is to be
 * retried (not again in this pass).
 */
static int read_answer(fic_store *store, const fic__outbox_batch *b, const fic_http_response *r,
                       fic_sync_report *rep, size_t *max, int64_t *upto, bool *idle)
{
	*upto = -1;
	char why[300];
	fic__answer a = fic__answer_class(r->status);
	if (r->status == 200) {
		fic__record_result *res = NULL;
		int rc = fic__wire_parse_results((const char *)r->body, r->body_len, b, &res);
		if (rc != FIC_OK)
			return rc;
		for (size_t i = 0; i < b->count; i++) {
			if (res[i].kind == FIC__RESULT_REJECTED && res[i].retry)
				break; /* this one and the rest: again later */
			if (res[i].kind == FIC__RESULT_REJECTED) {
				fic__log(store, FIC_LOG_WARN, "the server refused audit entry %lld: %s",
				         (long long)b->items[i].seq, res[i].reason);
				rep->rejected++;
			} else {
				rep->audit_sent++;
			}
			*upto = b->items[i].seq;
		}
		fic__wire_results_free(res, b->count);
		if (*max < 500)
			*max = *max * 2 > 500 ? 500 : *max * 2;
		*idle = *upto < 0;
		return FIC_OK;
	}
	if (a != FIC__ANSWER_REFUSED)
		return fic__answer_error(store, r, "sending the audit log", NULL);
	if (b->count > 1) {
		*max = b->count / 2; /* find the entry at fault */
		return FIC_OK;
	}
	fic__sync_error_body(r, why, sizeof why, NULL);
	fic__log(store, FIC_LOG_WARN, "the server refused audit entry %lld: %s",
	         (long long)b->items[0].seq, why);
	rep->rejected++;
	*upto = b->items[0].seq;
	return FIC_OK;
}

int fic__sync_push_audit(fic_store *store, const fic_sync_options *o, const fic_http_header *h,
                         size_t nh, fic_sync_report *rep, size_t *max, bool *idle)
{
	*idle = false;
	fic__outbox_batch *b = NULL;
	int64_t aside = 0;
	int rc = read_entries(store, *max, &b, &aside);
	if (rc != FIC_OK)
		return rc;
	if (aside > 0)
		return set_aside_audit(store, aside, rep);
	if (b == NULL) {
		*idle = true;
		return FIC_OK;
	}
	unsigned char *body = NULL;
	size_t len = 0;
	fic_http_response r;
	if ((rc = fic__wire_encode_batch(b, !o->no_gzip, &body, &len)) == FIC_OK) {
		rc = fic__sync_exchange(store, o, "POST", "/v1/records", h, nh, body, len, &r, rep);
		fic__free(body);
	}
	int64_t upto = -1;
	if (rc == FIC_OK) {
		rc = read_answer(store, b, &r, rep, max, &upto, idle);
		fic__free(r.body);
	}
	if (rc == FIC_OK && upto > 0) {
		char cur[32];
		snprintf(cur, sizeof cur, "%lld", (long long)upto);
		rc = fic__sync_state_put(store, "sync.audit_seq", cur);
	}
	fic__outbox_batch_free(b);
	return rc;
}
