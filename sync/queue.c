/*
 * sync/queue.c — the sync engine's side of the outbox: which rows go next,
 * and what happens to a row when the server answers (acked with its receipt,
 * rejected with its reason, or deferred with a backoff). The core fills the
 * outbox in the same transaction as each change. A refused record stays,
 * visible to the user with the server's reason; an acknowledged one is
 * pruned once the retention has passed (fic__outbox_prune), leaving a
 * tombstone without its payload. A lead record's answer moves the lead
 * itself (delivered with the receipt, or rejected with the reason) in the
 * same transaction as its outbox row.
 */
#include "sync_internal.h"

#include <stdio.h>

#include <sqlite3.h>
#include <string.h>

char *fic__wire_id(const char *device_id, const char *record_type, const char *record_id,
                   int64_t seq)
{
	/* A county's record a device changes (a site, a task it completes) may
	 * be changed by several devices and more than once: each change is its
	 * own record. */
	bool county_owned = strcmp(record_type, "site") == 0 || strcmp(record_type, "task") == 0;
	if (!county_owned)
		return fic__strdup(record_id);
	size_t n = strlen(device_id) + 32;
	char *id = fic__malloc(n);
	if (id)
		snprintf(id, n, "%s:%s:%lld", device_id, record_type, (long long)seq);
	return id;
}

void fic__outbox_batch_free(fic__outbox_batch *batch)
{
	if (batch == NULL)
		return;
	for (size_t i = 0; i < batch->count; i++) {
		fic__free(batch->items[i].record_type);
		fic__free(batch->items[i].record_id);
		fic__free(batch->items[i].wire_id);
		fic__free(batch->items[i].op);
		fic__free(batch->items[i].payload);
	}
	fic__free(batch->items);
	fic__free(batch);
}

static char *col_dup(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	return fic__strdup(t ? (const char *)t : "");
}

int fic__outbox_next_batch(fic_store *store, int64_t now_ms, size_t max_records,
                           size_t max_bytes, fic__outbox_batch **out)
{
	if (out == NULL || store == NULL || max_records == 0)
		return fic__err(FIC_EINVAL, "outbox batch: bad arguments");
	*out = NULL;
	/* The partial index outbox_pending gives this order without sorting. */
	sqlite3_stmt *st;
	int rc = fic__prepare(store, &st,
	                      "SELECT seq, priority, attempts, record_type, record_id, op, payload "
	                      "FROM outbox WHERE state = 'pending' AND next_at_ms <= ?1 "
	                      "ORDER BY priority DESC, seq");
	if (rc != FIC_OK)
		return rc;
	sqlite3_bind_int64(st, 1, now_ms);

	fic__outbox_batch *b = fic__calloc(1, sizeof *b);
	size_t cap = 0;
	int src;
	if (b == NULL) {
		rc = fic__err(FIC_ENOMEM, "out of memory reading the outbox");
		goto done;
	}
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		int prio = sqlite3_column_int(st, 1);
		bool urgent = prio >= FIC_PRIORITY_URGENT;
		size_t plen = (size_t)sqlite3_column_bytes(st, 6);
		if (b->count > 0) {
			/* Urgent rows travel alone; the batch ends where urgency changes. */
			if (urgent != b->urgent || b->count >= max_records ||
			    b->payload_bytes + plen > max_bytes)
				break;
		} else {
			b->urgent = urgent;
		}
		fic__outbox_item *it = FIC__GROW(b->items, b->count, cap);
		if (it == NULL) {
			rc = fic__err(FIC_ENOMEM, "out of memory reading the outbox");
			goto done;
		}
		it->seq = sqlite3_column_int64(st, 0);
		it->priority = prio;
		it->attempts = sqlite3_column_int(st, 2);
		it->record_type = col_dup(st, 3);
		it->record_id = col_dup(st, 4);
		it->op = col_dup(st, 5);
		it->payload = col_dup(st, 6);
		it->wire_id = it->record_type && it->record_id
		                      ? fic__wire_id(fic_store_device_id(store), it->record_type,
		                                     it->record_id, it->seq)
		                      : NULL;
		if (!it->record_type || !it->record_id || !it->op || !it->payload || !it->wire_id) {
			rc = fic__err(FIC_ENOMEM, "out of memory reading the outbox");
			goto done;
		}
		b->payload_bytes += plen;
	}
	if (src != SQLITE_ROW && src != SQLITE_DONE)
		rc = fic__db_err(store, src, "reading the outbox");
done:
	sqlite3_finalize(st);
	if (rc != FIC_OK || b->count == 0) {
		fic__outbox_batch_free(b);
		return rc;
	}
	*out = b;
	return FIC_OK;
}

int fic__outbox_counts_get(fic_store *store, fic__outbox_counts *out)
{
	if (store == NULL || out == NULL)
		return fic__err(FIC_EINVAL, "outbox counts: bad arguments");
	memset(out, 0, sizeof *out);
	sqlite3_stmt *st;
	int rc = fic__prepare(store, &st,
	                      "SELECT count(*) FILTER (WHERE state = 'pending'), "
	                      "count(*) FILTER (WHERE state = 'acked'), "
	                      "count(*) FILTER (WHERE state = 'rejected'), "
	                      "count(*) FILTER (WHERE state = 'pending' AND priority >= ?1), "
	                      "min(next_at_ms) FILTER (WHERE state = 'pending') FROM outbox");
	if (rc != FIC_OK)
		return rc;
	sqlite3_bind_int(st, 1, FIC_PRIORITY_URGENT);
	int src = sqlite3_step(st);
	if (src == SQLITE_ROW) {
		out->pending = sqlite3_column_int64(st, 0);
		out->acked = sqlite3_column_int64(st, 1);
		out->rejected = sqlite3_column_int64(st, 2);
		out->urgent_pending = sqlite3_column_int64(st, 3);
		out->next_due_ms = sqlite3_column_type(st, 4) == SQLITE_NULL
		                           ? INT64_MAX
		                           : sqlite3_column_int64(st, 4);
	} else {
		rc = fic__db_err(store, src, "counting the outbox");
	}
	sqlite3_finalize(st);
	return rc;
}

int64_t fic__backoff_ms(int attempts, int64_t retry_after_ms, uint32_t rand32)
{
	if (attempts < 1)
		attempts = 1;
	int64_t step = FIC_SYNC_BACKOFF_BASE_MS;
	for (int i = 1; i < attempts && step < FIC_SYNC_BACKOFF_CAP_MS; i++)
		step *= 2;
	if (step > FIC_SYNC_BACKOFF_CAP_MS)
		step = FIC_SYNC_BACKOFF_CAP_MS;
	/* Equal jitter: [step/2, step], so phones that lost the link together
	 * do not all come back in the same second. */
	int64_t half = step / 2;
	int64_t delay = half + (int64_t)((uint64_t)rand32 * (uint64_t)(half + 1) >> 32);
	if (retry_after_ms > FIC_SYNC_RETRY_AFTER_CAP_MS)
		retry_after_ms = FIC_SYNC_RETRY_AFTER_CAP_MS;
	if (retry_after_ms > delay)
		delay = retry_after_ms;
	return delay;
}

/* A lead's own state follows its record's answer (the same transaction). */
static int mark_lead(fic_store *store, const char *lead_id, const fic__record_result *res)
{
	if (res->kind == FIC__RESULT_REJECTED)
		return fic__lead_mark(store, lead_id, "rejected", NULL, 0, res->reason);
	return fic__lead_mark(store, lead_id, "delivered", res->receipt_id, res->received_at_ms,
	                      NULL);
}

/*
 * One row's new state, inside the caller's transaction. A row that is no
 * longer pending (another handle answered for it first) is left alone:
 * FIC_ESTATE, with no message, for the caller to skip.
 */
static int mark(fic_store *store, int64_t seq, const fic__record_result *res, const char *why,
                int64_t retry_after_ms, int64_t now_ms, uint32_t rand32)
{
	sqlite3_stmt *st;
	int rc;
	bool final = false;
	if (res && (res->kind == FIC__RESULT_STORED || res->kind == FIC__RESULT_DUPLICATE)) {
		rc = fic__cached(store, &st,
		                 "UPDATE outbox SET state = 'acked', receipt_id = ?2, "
		                 "received_at_ms = ?3, last_error = NULL "
		                 "WHERE seq = ?1 AND state = 'pending' RETURNING record_type, record_id");
		if (rc != FIC_OK)
			return rc;
		sqlite3_bind_text(st, 2, res->receipt_id ? res->receipt_id : "", -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, res->received_at_ms);
		final = true;
	} else if (res && res->kind == FIC__RESULT_REJECTED && !res->retry) {
		rc = fic__cached(store, &st,
		                 "UPDATE outbox SET state = 'rejected', attempts = attempts + 1, "
		                 "last_error = ?2 WHERE seq = ?1 AND state = 'pending' "
		                 "RETURNING record_type, record_id");
		if (rc != FIC_OK)
			return rc;
		sqlite3_bind_text(st, 2, res->reason ? res->reason : "refused by the server", -1,
		                  SQLITE_STATIC);
		final = true;
	} else {
		/* Transient: stays pending; the delay grows with the attempts so far. */
		sqlite3_stmt *q;
		if ((rc = fic__cached(store, &q, "SELECT attempts FROM outbox WHERE seq = ?1")) != FIC_OK)
			return rc;
		sqlite3_bind_int64(q, 1, seq);
		int qs = sqlite3_step(q);
		int attempts = qs == SQLITE_ROW ? sqlite3_column_int(q, 0) : 0;
		fic__release(store, q);
		if (qs == SQLITE_DONE)
			return fic__err(FIC_ENOTFOUND, "outbox row %lld does not exist", (long long)seq);
		if (qs != SQLITE_ROW)
			return fic__db_err(store, qs, "reading the outbox");
		if (res) {
			why = res->reason;
			retry_after_ms = res->retry_after_ms;
		}
		int64_t delay = fic__backoff_ms(attempts + 1, retry_after_ms, rand32);
		rc = fic__cached(store, &st,
		                 "UPDATE outbox SET attempts = attempts + 1, next_at_ms = ?2, "
		                 "last_error = ?3 WHERE seq = ?1 AND state = 'pending' "
		                 "RETURNING record_type, record_id");
		if (rc != FIC_OK)
			return rc;
		sqlite3_bind_int64(st, 2, now_ms + delay);
		sqlite3_bind_text(st, 3, why ? why : "transient failure", -1, SQLITE_STATIC);
	}
	sqlite3_bind_int64(st, 1, seq);
	int s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		rc = FIC_OK;
		const char *type = (const char *)sqlite3_column_text(st, 0);
		if (final && type && strcmp(type, "lead") == 0) {
			char *lead = fic__strdup((const char *)sqlite3_column_text(st, 1));
			rc = lead ? mark_lead(store, lead, res) : fic__err(FIC_ENOMEM, "out of memory");
			fic__free(lead);
		}
		if (rc == FIC_OK && (s = sqlite3_step(st)) != SQLITE_DONE)
			rc = fic__db_err(store, s, "updating the outbox");
		fic__release(store, st);
		return rc;
	}
	fic__release(store, st);
	if (s != SQLITE_DONE)
		return fic__db_err(store, s, "updating the outbox");
	return FIC_ESTATE; /* not pending any more: nothing to do */
}

int fic__outbox_apply(fic_store *store, int64_t seq, const fic__record_result *res,
                      int64_t now_ms, uint32_t rand32)
{
	if (store == NULL || res == NULL)
		return fic__err(FIC_EINVAL, "outbox apply: bad arguments");
	int rc = fic__tx_begin(store);
	if (rc != FIC_OK)
		return rc;
	rc = mark(store, seq, res, NULL, 0, now_ms, rand32);
	if (rc == FIC_ESTATE)
		rc = fic__err(FIC_ESTATE, "outbox row %lld is not pending", (long long)seq);
	return fic__tx_end(store, rc);
}

int fic__outbox_apply_batch(fic_store *store, const fic__outbox_batch *batch,
                            const fic__record_result *results, int64_t now_ms, uint32_t rand32,
                            size_t *skipped)
{
	if (store == NULL || batch == NULL || results == NULL)
		return fic__err(FIC_EINVAL, "outbox apply: bad arguments");
	if (skipped)
		*skipped = 0;
	int rc = fic__tx_begin(store);
	for (size_t i = 0; i < batch->count && rc == FIC_OK; i++) {
		rc = mark(store, batch->items[i].seq, &results[i], NULL, 0, now_ms,
		          rand32 ^ (uint32_t)(i * 0x9E3779B9u));
		if (rc == FIC_ESTATE) {
			rc = FIC_OK;
			if (skipped)
				(*skipped)++;
		}
	}
	return fic__tx_end(store, rc);
}

int fic__outbox_defer(fic_store *store, const fic__outbox_batch *batch, const char *why,
                      int64_t retry_after_ms, int64_t now_ms, uint32_t rand32, int64_t *until)
{
	if (store == NULL || batch == NULL)
		return fic__err(FIC_EINVAL, "outbox defer: bad arguments");
	int rc = fic__tx_begin(store);
	if (rc != FIC_OK)
		return rc;
	for (size_t i = 0; i < batch->count && rc == FIC_OK; i++) {
		rc = mark(store, batch->items[i].seq, NULL, why, retry_after_ms, now_ms,
		          rand32 ^ (uint32_t)(i * 0x9E3779B9u));
		if (rc == FIC_ESTATE)
			rc = FIC_OK; /* answered for meanwhile by another handle */
	}
	if (rc == FIC_OK && until) {
		sqlite3_stmt *st;
		*until = INT64_MAX;
		if ((rc = fic__prepare(store, &st, "SELECT next_at_ms FROM outbox WHERE seq = ?1")) ==
		    FIC_OK) {
			for (size_t i = 0; i < batch->count; i++) {
				sqlite3_bind_int64(st, 1, batch->items[i].seq);
				if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 0) < *until)
					*until = sqlite3_column_int64(st, 0);
				sqlite3_reset(st);
			}
			sqlite3_finalize(st);
		}
	}
	return fic__tx_end(store, rc);
}

/*
 * Retention. An acknowledged row's payload is a copy of what the server now
 * holds — a lead's whole content, an informant's words — so it goes once the
 * retention (setting outbox_retention_days, default 7) has passed since the
 * server's receipt. What stays is a tombstone per record (outbox_pruned):
 * how many rows went, the newest seq, the latest receipt time — what the
 * feed's rule "the inspector's change wins until the county has seen it"
 * (fic__site_apply_feed) and fic_store_check() still need. Deleted content is
 * overwritten (secure_delete) rather than left in free pages, and the WAL's
 * copies of the old pages are emptied out afterwards (fic__store_scrub). At most
 * PRUNE_BATCH rows per transaction, so a year's backlog (a store just
 * upgraded) does not hold the write lock for long.
 */
#define PRUNE_BATCH 1000

/* The connection's secure_delete setting (1, 0; -1 if unreadable). */
static int secure_delete_get(fic_store *store)
{
	sqlite3_stmt *st;
	int v = -1;
	if (sqlite3_prepare_v2(store->db, "PRAGMA secure_delete", -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

static int prune_batch(fic_store *store, int64_t cutoff, int64_t now_ms, int64_t *done)
{
	*done = 0;
	int rc = fic__tx_begin(store);
	if (rc != FIC_OK)
		return rc;
	/* The same rows for both statements: the oldest receipts first, by the index outbox_acked. */
	static const char *const sql[] = {
		"INSERT INTO outbox_pruned (record_type, record_id, records, last_seq, received_at_ms, "
		"pruned_at_ms) SELECT record_type, record_id, count(*), max(seq), max(received_at_ms), ?3 "
		"FROM (SELECT seq, record_type, record_id, received_at_ms FROM outbox WHERE state = "
		"'acked' AND received_at_ms < ?1 ORDER BY received_at_ms, seq LIMIT ?2) WHERE true "
		"GROUP BY record_type, record_id ON CONFLICT (record_type, record_id) DO UPDATE SET "
		"records = records + excluded.records, last_seq = max(last_seq, excluded.last_seq), "
		"received_at_ms = max(coalesce(received_at_ms, 0), coalesce(excluded.received_at_ms, 0)), "
		"pruned_at_ms = excluded.pruned_at_ms",
		"DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox WHERE state = 'acked' AND "
		"received_at_ms < ?1 ORDER BY received_at_ms, seq LIMIT ?2)",
	};
	for (size_t i = 0; i < 2 && rc == FIC_OK; i++) {
		sqlite3_stmt *st;
		if ((rc = fic__prepare(store, &st, sql[i])) != FIC_OK)
			break;
		sqlite3_bind_int64(st, 1, cutoff);
		sqlite3_bind_int(st, 2, PRUNE_BATCH);
		if (i == 0)
			sqlite3_bind_int64(st, 3, now_ms);
		int s = sqlite3_step(st);
		if (s != SQLITE_DONE)
			rc = fic__db_err(store, s, "pruning the outbox");
		else if (i == 1)
			*done = sqlite3_changes(store->db);
		sqlite3_finalize(st);
	}
	if ((rc = fic__tx_end(store, rc)) != FIC_OK)
		*done = 0;
	return rc;
}

int64_t fic__outbox_prune(fic_store *store, int64_t now_ms)
{
	if (store == NULL)
		return FIC_EINVAL;
	/* The push's error, if any, is the caller's to report: keep it. */
	fic_error saved = *fic_error_last();
	char msg[512];
	snprintf(msg, sizeof msg, "%s", saved.message ? saved.message : "");
	/* Receipt times are the server's clock: compare with our estimate of it. */
	fic_time t;
	int64_t offset = fic__time_now(store, &t) == FIC_OK && t.uncertainty_ms >= 0
	                         ? t.trusted_ms - t.device_ms
	                         : 0;
	int64_t cutoff = now_ms + offset - fic__outbox_retention_ms(store);
	int64_t total = 0, done = 0;
	int secure;
	/* Usually nothing is due: say so from the index, without the write lock. */
	sqlite3_stmt *st;
	int rc = fic__prepare(store, &st, "SELECT 1 FROM outbox WHERE state = 'acked' AND "
	                                  "received_at_ms < ?1 LIMIT 1");
	int s = SQLITE_ROW;
	if (rc == FIC_OK) {
		sqlite3_bind_int64(st, 1, cutoff);
		s = sqlite3_step(st);
		sqlite3_finalize(st);
	}
	if (rc == FIC_OK && s == SQLITE_DONE)
		goto out;
	secure = secure_delete_get(store);
	sqlite3_exec(store->db, "PRAGMA secure_delete = ON", NULL, NULL, NULL);
	do {
		rc = prune_batch(store, cutoff, now_ms, &done);
		total += done;
	} while (rc == FIC_OK && done == PRUNE_BATCH);
	if (secure == 0)
		sqlite3_exec(store->db, "PRAGMA secure_delete = OFF", NULL, NULL, NULL);
	/* The pages before the deletion are still frames of the WAL until it is
	 * checkpointed and truncated. */
	if (total > 0)
		(void)fic__store_scrub(store);
	if (rc != FIC_OK)
		fic__log(store, FIC_LOG_WARN, "outbox retention: pruning stopped: %s",
		         fic_error_last()->message);
	else if (total > 0)
		fic__log(store, FIC_LOG_INFO, "outbox retention: %lld acknowledged record(s) pruned",
		         (long long)total);
out:
	if (saved.code != FIC_OK)
		fic__err(saved.code, "%s", msg);
	else
		fic__err_clear();
	return rc != FIC_OK ? rc : total;
}
