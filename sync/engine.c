/*
 * sync/engine.c — the sync pass (include/fieldinspect/sync.h): the records
 * push — read the outbox in priority order, send a batch, apply the answer,
 * repeat — with the audit log (audit.c) and the photos (upload.c) when no
 * record is due, then the feeds (pull.c). The rules that keep records from being lost or doubled:
 *  - a row changes only on an answer that names it (queue.c applies it);
 *  - every failure that is not the record's fault defers the rows (they stay
 *    pending with a backoff) — including answers that break the protocol;
 *  - a batch refused as a whole is split until the refused record is alone,
 *    so one bad record never takes innocent ones down with it.
 */
#include "sync_internal.h"

#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void progress(const fic_sync_options *o, fic_store *store, const fic_sync_report *rep,
                     int64_t total)
{
	if (o->progress == NULL)
		return;
	fic__outbox_counts n;
	fic_sync_progress p = { .version = FIC_SYNC_PROGRESS_VERSION,
		                .records_done = rep->stored + rep->duplicates + rep->rejected,
		                .records_total = total, .bytes_sent = rep->bytes_sent };
	int64_t photos = 0, urgent_photos = 0;
	if (fic__outbox_counts_get(store, &n) == FIC_OK)
		p.urgent_pending = (int)n.urgent_pending;
	if (fic__upload_counts(store, &photos, &urgent_photos) == FIC_OK)
		p.photos_pending = photos;
	p.photos_done = rep->photos_sent;
	if (p.records_total < p.records_done)
		p.records_total = p.records_done;
	o->progress(o->progress_arg, &p);
}

static int finish(fic_store *store, fic_sync_report *rep, int rc)
{
	fic__outbox_counts n;
	/* Keep the pass's error message: counting must not overwrite it. */
	char saved[512];
	int code = fic_error_last()->code;
	snprintf(saved, sizeof saved, "%s", fic_error_last()->message);
	if (fic__outbox_counts_get(store, &n) == FIC_OK) {
		rep->pending = n.pending;
		rep->next_due_ms = n.next_due_ms;
	}
	int64_t photos = 0, urgent = 0;
	if (fic__upload_counts(store, &photos, &urgent) == FIC_OK)
		rep->photos_pending = photos;
	if (rc != FIC_OK)
		fic__err(code == rc ? code : rc, "%s", saved);
	return rc;
}

/* The size of fic_sync_report at each version (core/util/abi.c). */
static const size_t report_sizes[] = { sizeof(fic_sync_report) };

/* A report the caller passed must say its version before anything is done. */
static int check_report(const fic_sync_report *r)
{
	if (r != NULL && r->version < 1)
		return fic__err(FIC_EINVAL, "sync report: set version (FIC_SYNC_REPORT_INIT)");
	return FIC_OK;
}

/* The pass fills a report of this library's version; the caller's gets the
 * members of its own version. */
static void report_out(fic_sync_report *dst, const fic_sync_report *full)
{
	if (dst != NULL)
		(void)fic__struct_out(dst, full, report_sizes,
		                      (unsigned)(sizeof report_sizes / sizeof report_sizes[0]),
		                      "sync report");
}

static void report_start(fic_sync_report *rep)
{
	memset(rep, 0, sizeof *rep);
	rep->version = FIC_SYNC_REPORT_VERSION;
	rep->next_due_ms = INT64_MAX;
}

/* A public entry point: the caller's options and report checked, `fn` run
 * with options and a report of this library's version. */
typedef int (*pass_fn)(fic_store *, const fic_sync_options *, fic_sync_report *);
static int entry(fic_store *store, const fic_sync_options *in, fic_sync_report *report,
                 pass_fn fn)
{
	fic__err_clear();
	fic_sync_report rep;
	report_start(&rep);
	fic_sync_options o;
	int rc = check_report(report);
	if (rc == FIC_OK && (rc = fic__sync_check_opts(store, in, &o)) == FIC_OK)
		rc = fn(store, &o, &rep);
	report_out(report, &rep);
	return rc;
}

/* One push pass: what every step needs. */
typedef struct pass {
	fic_store *store;
	const fic_sync_options *o;
	fic_sync_report *rep;
	char auth[FIC_SYNC_TOKEN_MAX + 16];
	fic_http_header h[3];
	size_t nh;
	int64_t total;          /* records due at the start, for progress */
	size_t max_records;     /* batch size: halved to isolate a refused record */
	fic__uploader upload;
	bool audit_done;
	size_t audit_max;
} pass;

/* The transient failure of a whole batch: every row stays pending with a
 * backoff (honouring the server's Retry-After); the pass ends with `code`. */
static int defer(pass *ps, const fic__outbox_batch *b, int code, const char *why,
                 int64_t retry_after, int64_t now)
{
	char msg[300];
	snprintf(msg, sizeof msg, "%s", why);
	int rc = fic__outbox_defer(ps->store, b, msg, retry_after, now, fic__sync_rand32(ps->store),
	                           &ps->rep->retry_at_ms);
	ps->rep->deferred += (int64_t)b->count;
	return rc != FIC_OK ? rc : fic__err(code, "%s", msg);
}

/* A 200 answer: apply each record's result in one transaction and count them. */
static int apply_results(pass *ps, const fic__outbox_batch *b, const fic_http_response *r,
                         int64_t now)
{
	fic__record_result *res = NULL;
	int rc = fic__wire_parse_results((const char *)r->body, r->body_len, b, &res);
	if (rc == FIC_EPROTO)
		return defer(ps, b, FIC_EPROTO, fic_error_last()->message, 0, now);
	if (rc != FIC_OK)
		return rc;
	/* A batch went through: after a split, grow back a step at a time. */
	if (ps->max_records < FIC_SYNC_BATCH_MAX_RECORDS)
		ps->max_records = ps->max_records * 2 > FIC_SYNC_BATCH_MAX_RECORDS
		                          ? FIC_SYNC_BATCH_MAX_RECORDS
		                          : ps->max_records * 2;
	/* One transaction for the whole answer; leads move with their rows. */
	rc = fic__outbox_apply_batch(ps->store, b, res, now, fic__sync_rand32(ps->store), NULL);
	for (size_t i = 0; i < b->count && rc == FIC_OK; i++) {
		bool acked = res[i].kind == FIC__RESULT_STORED || res[i].kind == FIC__RESULT_DUPLICATE;
		if (res[i].kind == FIC__RESULT_STORED)
			ps->rep->stored++;
		else if (res[i].kind == FIC__RESULT_DUPLICATE)
			ps->rep->duplicates++;
		else if (res[i].retry)
			ps->rep->deferred++;
		else
			ps->rep->rejected++;
		if (acked && b->items[i].priority >= FIC_PRIORITY_URGENT)
			ps->rep->urgent_acked++;
	}
	fic__wire_results_free(res, b->count);
	return rc;
}

/* What the server answered to a batch, by its status (docs/protocol.md). */
static int apply_answer(pass *ps, const fic__outbox_batch *b, const fic_http_response *r,
                        int64_t now)
{
	char why[300];
	int64_t retry_after = 0;
	switch (fic__answer_class(r->status)) {
	case FIC__ANSWER_OK:
		if (r->status == 200)
			return apply_results(ps, b, r, now);
		break;
	case FIC__ANSWER_AUTH:
		return fic__answer_error(ps->store, r, "sending records", NULL);
	case FIC__ANSWER_BUSY:
		fic__answer_error(ps->store, r, "sending records", &retry_after);
		return defer(ps, b, FIC_ENETWORK, fic_error_last()->message, retry_after, now);
	case FIC__ANSWER_REFUSED:
		if (b->count > 1) {
			/* Refused as a whole: find the record at fault by halving. */
			ps->max_records = b->count / 2;
			return FIC_OK;
		}
		fic__sync_error_body(r, why, sizeof why, NULL);
		fic__record_result no = { .kind = FIC__RESULT_REJECTED, .reason = why };
		ps->rep->rejected++;
		return fic__outbox_apply(ps->store, b->items[0].seq, &no, now, 0);
	case FIC__ANSWER_FOREIGN:
		/* 404, 405, …: the URL does not lead to this protocol. The records
		 * are not at fault: leave them untouched. */
		fic__sync_error_body(r, why, sizeof why, NULL);
		return fic__err(FIC_EPROTO, "the server does not speak the sync protocol at %.200s: %s",
		                ps->o->server_url, why);
	case FIC__ANSWER_ODD:
		break;
	}
	snprintf(why, sizeof why, "unexpected HTTP status %d", r->status);
	return defer(ps, b, FIC_EPROTO, why, 0, now);
}

/* Send one batch of due records and apply what comes back. */
static int send_batch(pass *ps, fic__outbox_batch *b, int64_t now)
{
	unsigned char *body = NULL;
	size_t len = 0;
	int rc = fic__wire_encode_batch(b, !ps->o->no_gzip, &body, &len);
	if (rc == FIC_ECORRUPT && b->count == 1) {
		/* A damaged row cannot be sent; keep it, refused, for the user to see. */
		fic__record_result bad = { .kind = FIC__RESULT_REJECTED,
			                   .reason = "the stored record is damaged and cannot be sent" };
		ps->rep->set_aside++;
		return fic__outbox_apply(ps->store, b->items[0].seq, &bad, now, 0);
	}
	if (rc == FIC_ECORRUPT) {
		ps->max_records = b->count / 2; /* find the damaged one */
		return FIC_OK;
	}
	if (rc != FIC_OK)
		return rc;
	fic_http_response r;
	rc = fic__sync_exchange(ps->store, ps->o, "POST", "/v1/records", ps->h, ps->nh, body, len, &r,
	                        ps->rep);
	fic__free(body);
	if (rc == FIC_ECANCELED || rc == FIC_EINVAL)
		return rc; /* nothing happened to the records: leave them as they are */
	if (rc != FIC_OK)
		return defer(ps, b, rc, fic_error_last()->message, 0, now);
	rc = apply_answer(ps, b, &r, now);
	fic__free(r.body);
	return rc;
}

/* No record is due: one request of the audit log, else one step of the
 * photos. *done when there is nothing left to do in this pass. */
static int idle_step(pass *ps, int64_t now, bool *done)
{
	bool idle = false;
	*done = false;
	if (fic__sync_held(ps->store, now)) {
		*done = true; /* the server asked for quiet: records only, when due */
		return FIC_OK;
	}
	if (!ps->audit_done) {
		int rc = fic__sync_push_audit(ps->store, ps->o, ps->h, ps->nh, ps->rep, &ps->audit_max,
		                              &idle);
		ps->audit_done = idle;
		if (rc != FIC_OK || !idle)
			return rc;
	}
	int rc = fic__upload_step(ps->store, ps->o, ps->auth, &ps->upload, ps->rep, &idle);
	*done = idle;
	return rc;
}

static int push(fic_store *store, const fic_sync_options *opts, fic_sync_report *rep)
{
	int rc;
	pass ps = { .store = store, .o = opts, .rep = rep, .nh = opts->no_gzip ? 2 : 3,
		    .max_records = FIC_SYNC_BATCH_MAX_RECORDS, .audit_max = 500,
		    .upload = { .chunk = opts->photo_chunk_bytes } };
	if ((rc = fic__sync_auth(store, opts, ps.auth, sizeof ps.auth)) != FIC_OK)
		return rc;
	ps.h[0] = (fic_http_header){ "Authorization", ps.auth };
	ps.h[1] = (fic_http_header){ "Content-Type", "application/json" };
	ps.h[2] = (fic_http_header){ "Content-Encoding", "gzip" };
	if (ps.upload.chunk > FIC_SYNC_CHUNK_MAX)
		ps.upload.chunk = FIC_SYNC_CHUNK_MAX;
	ps.upload.cur.chunk = ps.upload.chunk;
	fic__outbox_counts start;
	if ((rc = fic__outbox_counts_get(store, &start)) == FIC_OK)
		ps.total = start.pending;
	/* Records first, the outbox read again before every request, so an
	 * urgent lead filed meanwhile goes next; then the audit log and photos. */
	while (rc == FIC_OK) {
		if (fic__cancelled(opts->cancel)) {
			rc = fic__err(FIC_ECANCELED, "sync cancelled");
			break;
		}
		int64_t now = fic__now_ms(store);
		fic__outbox_batch *b = NULL;
		rc = fic__outbox_next_batch(store, now, ps.max_records, FIC_SYNC_BATCH_MAX_BYTES, &b);
		if (rc != FIC_OK)
			break;
		bool done = false;
		int64_t requests = rep->requests;
		if (b == NULL)
			rc = idle_step(&ps, now, &done);
		else
			rc = send_batch(&ps, b, now);
		fic__outbox_batch_free(b);
		if (done)
			break;
		if (rep->requests != requests) /* an exchange finished (photo lanes often have not) */
			progress(opts, store, rep, ps.total);
	}
	fic__upload_end(store, opts, &ps.upload, rep);
	/* A device enrolled before the county had a key (or before schema 5)
	 * asks for it once everything due went: never ahead of an urgent lead. */
	if (rc == FIC_OK && fic__sync_fetch_county_key(store, opts, ps.auth, rep) != FIC_OK)
		fic__err_clear(); /* asked again next pass; the pass itself went well */
	memset(ps.auth, 0, sizeof ps.auth);
	fic__outbox_prune(store, fic__now_ms(store));
	return finish(store, rep, rc);
}

static int pull(fic_store *store, const fic_sync_options *opts, fic_sync_report *rep)
{
	char auth[FIC_SYNC_TOKEN_MAX + 16];
	int rc = fic__sync_auth(store, opts, auth, sizeof auth);
	if (rc != FIC_OK)
		return rc;
	if (!fic__sync_held(store, store->platform->wall_ms(store->platform->ctx)))
		rc = fic__sync_pull(store, opts, auth, rep);
	memset(auth, 0, sizeof auth);
	return finish(store, rep, rc);
}

static int run(fic_store *store, const fic_sync_options *opts, fic_sync_report *rep)
{
	int rc = push(store, opts, rep);
	if (rc == FIC_ENETWORK || rc == FIC_ETLS || rc == FIC_ECANCELED || rc == FIC_EAUTH ||
	    rc == FIC_ESTATE || rc == FIC_EINVAL)
		return rc;
	/* A push that reached the server (even with some records refused or a
	 * protocol error on one answer) still pulls; its error is kept. */
	int push_rc = rc;
	char saved[512];
	snprintf(saved, sizeof saved, "%s", fic_error_last()->message);
	char auth[FIC_SYNC_TOKEN_MAX + 16];
	if ((rc = fic__sync_auth(store, opts, auth, sizeof auth)) == FIC_OK &&
	    !fic__sync_held(store, store->platform->wall_ms(store->platform->ctx))) {
		rc = fic__sync_pull(store, opts, auth, rep);
		memset(auth, 0, sizeof auth);
	}
	if (push_rc != FIC_OK) {
		fic__err(push_rc, "%s", saved);
		return push_rc;
	}
	return finish(store, rep, rc);
}

int fic_sync_push(fic_store *store, const fic_sync_options *opts, fic_sync_report *report)
{
	return entry(store, opts, report, push);
}

int fic_sync_pull(fic_store *store, const fic_sync_options *opts, fic_sync_report *report)
{
	return entry(store, opts, report, pull);
}

int fic_sync_run(fic_store *store, const fic_sync_options *opts, fic_sync_report *report)
{
	return entry(store, opts, report, run);
}

int fic_sync_network_changed(fic_store *store, int available)
{
	fic__err_clear();
	FIC__ARG(store);
	fic__log(store, FIC_LOG_INFO, "network %s", available ? "available" : "lost");
	if (!available)
		return FIC_OK;
	int rc = fic__tx_begin(store);
	if (rc != FIC_OK)
		return rc;
	static const char *const sql[] = {
		"UPDATE outbox SET next_at_ms = 0 WHERE state = 'pending' AND next_at_ms > 0",
		"UPDATE uploads SET next_at_ms = 0 WHERE state = 'pending' AND next_at_ms > 0",
	};
	for (size_t i = 0; i < 2 && rc == FIC_OK; i++) {
		sqlite3_stmt *st;
		if ((rc = fic__prepare(store, &st, sql[i])) == FIC_OK) {
			int s = sqlite3_step(st);
			sqlite3_finalize(st);
			if (s != SQLITE_DONE)
				rc = fic__db_err(store, s, "making the queue due");
		}
	}
	return fic__tx_end(store, rc);
}

const fic_sync_rejection *fic_sync_rejection_list_at(const fic_sync_rejection_list *list,
                                                     size_t i)
{
	return list && i < list->count ? &list->entries[i] : NULL;
}

void fic_sync_rejection_list_free(fic_sync_rejection_list *list)
{
	if (list == NULL)
		return;
	for (size_t i = 0; i < list->count; i++) {
		fic__free((char *)list->entries[i].record_type);
		fic__free((char *)list->entries[i].record_id);
		fic__free((char *)list->entries[i].op);
		fic__free((char *)list->entries[i].reason);
	}
	fic__free(list->entries);
	fic__free(list);
}

int fic_sync_rejections_get(fic_sync_rejection_list **out, fic_store *store)
{
	FIC__BEGIN(out, store);
	sqlite3_stmt *st;
	int rc = fic__prepare(store, &st,
	                      "SELECT record_type, record_id, op, coalesce(last_error, ''), "
	                      "created_at_ms FROM (SELECT record_type, record_id, op, last_error, "
	                      "created_at_ms, seq AS k1, 0 AS k2 FROM outbox WHERE state = 'rejected' "
	                      "UNION ALL SELECT 'photo_file', sha256, 'upload', last_error, "
	                      "created_at_ms, 0, created_at_ms FROM uploads WHERE state = 'rejected') "
	                      "ORDER BY created_at_ms, k1");
	if (rc != FIC_OK)
		return rc;
	fic_sync_rejection_list *l = fic__calloc(1, sizeof *l);
	size_t cap = 0;
	int s = SQLITE_DONE;
	if (l == NULL) {
		rc = fic__err(FIC_ENOMEM, "out of memory listing rejections");
		goto done;
	}
	l->entry_size = sizeof(fic_sync_rejection);
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		fic_sync_rejection *e = FIC__GROW(l->entries, l->count, cap);
		if (e == NULL) {
			rc = fic__err(FIC_ENOMEM, "out of memory listing rejections");
			goto done;
		}
		e->record_type = fic__strdup((const char *)sqlite3_column_text(st, 0));
		e->record_id = fic__strdup((const char *)sqlite3_column_text(st, 1));
		e->op = fic__strdup((const char *)sqlite3_column_text(st, 2));
		e->reason = fic__strdup((const char *)sqlite3_column_text(st, 3));
		e->queued_at_ms = sqlite3_column_int64(st, 4);
		if (!e->record_type || !e->record_id || !e->op || !e->reason) {
			rc = fic__err(FIC_ENOMEM, "out of memory listing rejections");
			goto done;
		}
	}
	if (s != SQLITE_DONE)
		rc = fic__db_err(store, s, "listing rejections");
done:
	sqlite3_finalize(st);
	if (rc != FIC_OK) {
		fic_sync_rejection_list_free(l);
		return rc;
	}
	*out = l;
	return FIC_OK;
}
