/*
 * tests/sync/test_queue.c — the sync engine's reading of the outbox: urgent
 * lead records first and in a batch of their own, batch limits, what the
 * server's answers do to a row (acked with the receipt, rejected with the
 * reason and kept, or deferred with backoff and Retry-After), and that a
 * refused update changes nothing.
 */
#include "testutil.h"
#include "internal.h"
#include "sync_internal.h"

#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

typedef tu_fixture fixture;

#define NOW 1772352000000LL /* 2026-03-01T08:00Z, the fake platform's clock */

static int setup(void **state)
{
	*state = tu_fixture_new(NULL);
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	tu_fixture_free(*state);
	return 0;
}

static void add_site(fixture *f, const char *name)
{
	int rc = tu_add_school(f->store, name, 300);
	if (rc != FIC_OK)
		fail_msg("%s", fic_error_last()->message);
}

/* A synthetic outbox row, for the limits. */
static void enqueue(fixture *f, const char *id, int priority, const char *payload)
{
	assert_int_equal(fic__tx_begin(f->store), FIC_OK);
	assert_int_equal(fic__outbox_enqueue(f->store, "site", id, "add", priority, payload), FIC_OK);
	assert_int_equal(fic__tx_commit(f->store), FIC_OK);
}

static fic__record_result stored(const char *receipt)
{
	fic__record_result r = { .kind = FIC__RESULT_STORED, .receipt_id = (char *)receipt,
		                 .received_at_ms = NOW + 5 };
	return r;
}

static void ack_all(fixture *f, fic__outbox_batch *b)
{
	for (size_t i = 0; i < b->count; i++) {
		fic__record_result r = stored("r");
		assert_int_equal(fic__outbox_apply(f->store, b->items[i].seq, &r, NOW, 0), FIC_OK);
	}
}

static void an_urgent_lead_goes_first_and_alone(void **state)
{
	fixture *f = *state;
	add_site(f, "一小");
	add_site(f, "二小");
	char t1[FIC_UUID_BUFSIZE], t2[FIC_UUID_BUFSIZE], u[FIC_UUID_BUFSIZE];
	assert_int_equal(fic_lead_file(t1, f->store, "lead.tip_off", tu_tip_off_answers, NULL, NOW - 60000, 0), FIC_OK);
	assert_int_equal(fic_lead_file(t2, f->store, "lead.tip_off", tu_tip_off_answers, NULL, NOW - 60000, 0), FIC_OK);
	assert_int_equal(fic_lead_file(u, f->store, "event.foodborne", tu_foodborne_answers, NULL, NOW - 60000, 0),
	                 FIC_OK);

	fic__outbox_batch *b;
	assert_int_equal(fic__outbox_next_batch(f->store, NOW, 500, 1 << 20, &b), FIC_OK);
	assert_non_null(b);
	assert_true(b->urgent);
	assert_int_equal(b->count, 1);
	assert_string_equal(b->items[0].record_type, "lead");
	assert_string_equal(b->items[0].record_id, u);
	assert_non_null(strstr(b->items[0].payload, "\"canonical\""));
	ack_all(f, b);
	fic__outbox_batch_free(b);

	/* Then the other records, the tip-offs (lead priority) before the sites, oldest first. */
	assert_int_equal(fic__outbox_next_batch(f->store, NOW, 500, 1 << 20, &b), FIC_OK);
	assert_false(b->urgent);
	assert_int_equal(b->count, 4);
	assert_string_equal(b->items[0].record_id, t1);
	assert_string_equal(b->items[1].record_id, t2);
	assert_string_equal(b->items[2].record_type, "site");
	assert_string_equal(b->items[3].record_type, "site");
	assert_true(b->items[2].seq < b->items[3].seq);

	/* An urgent lead filed while that batch is in flight is next, ahead of
	 * anything the failed batch leaves behind. */
	char u2[FIC_UUID_BUFSIZE];
	int64_t until = 0;
	assert_int_equal(fic_lead_file(u2, f->store, "event.foodborne", tu_foodborne_answers, NULL, NOW, 0), FIC_OK);
	assert_int_equal(fic__outbox_defer(f->store, b, "connection reset", 0, NOW, 0, &until), FIC_OK);
	assert_int_equal(until, NOW + 500); /* rand 0: the bottom of the first step */
	fic__outbox_batch_free(b);
	assert_int_equal(fic__outbox_next_batch(f->store, NOW, 500, 1 << 20, &b), FIC_OK);
	assert_int_equal(b->count, 1);
	assert_string_equal(b->items[0].record_id, u2);
	ack_all(f, b);
	fic__outbox_batch_free(b);
	/* Nothing else is due until the backoff has run out. */
	assert_int_equal(fic__outbox_next_batch(f->store, NOW, 500, 1 << 20, &b), FIC_OK);
	assert_null(b);
	assert_int_equal(fic__outbox_next_batch(f->store, NOW + 1000, 500, 1 << 20, &b), FIC_OK);
	assert_non_null(b);
	assert_int_equal(b->count, 4);
	assert_int_equal(b->items[0].attempts, 1);
	fic__outbox_batch_free(b);
}

static void batches_keep_to_their_limits(void **state)
{
	fixture *f = *state;
	char id[32], payload[2100];
	memset(payload, 0, sizeof payload);
	strcpy(payload, "{\"x\":\"");
	memset(payload + 6, 'a', 1000);
	strcpy(payload + 1006, "\"}"); /* 1008 bytes */
	for (int i = 0; i < 7; i++) {
		snprintf(id, sizeof id, "s%d", i);
		enqueue(f, id, 0, payload);
	}
	fic__outbox_batch *b;
	assert_int_equal(fic__outbox_next_batch(f->store, NOW, 3, 1 << 20, &b), FIC_OK);
	assert_int_equal(b->count, 3); /* by count */
	assert_string_equal(b->items[0].record_id, "s0");
	fic__outbox_batch_free(b);
	assert_int_equal(fic__outbox_next_batch(f->store, NOW, 500, 2100, &b), FIC_OK);
	assert_int_equal(b->count, 2); /* by bytes: 2016 <= 2100 < 3024 */
	assert_int_equal(b->payload_bytes, 2016);
	fic__outbox_batch_free(b);
	/* A row larger than the byte limit still goes, alone. */
	assert_int_equal(fic__outbox_next_batch(f->store, NOW, 500, 10, &b), FIC_OK);
	assert_int_equal(b->count, 1);
	fic__outbox_batch_free(b);

	fic__outbox_batch *none = (fic__outbox_batch *)1;
	assert_int_equal(fic__outbox_next_batch(f->store, NOW, 0, 10, &none), FIC_EINVAL);
	assert_int_equal(fic__outbox_next_batch(NULL, NOW, 5, 10, &none), FIC_EINVAL);
}

static void row_state(fixture *f, int64_t seq, char *state_out, int *attempts, int64_t *next_at,
                      char *err_out, char *receipt_out)
{
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(f->store->db,
	                                    "SELECT state, attempts, next_at_ms, last_error, "
	                                    "receipt_id FROM outbox WHERE seq = ?1",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	sqlite3_bind_int64(st, 1, seq);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	strcpy(state_out, (const char *)sqlite3_column_text(st, 0));
	*attempts = sqlite3_column_int(st, 1);
	*next_at = sqlite3_column_int64(st, 2);
	const unsigned char *e = sqlite3_column_text(st, 3);
	strcpy(err_out, e ? (const char *)e : "");
	const unsigned char *r = sqlite3_column_text(st, 4);
	strcpy(receipt_out, r ? (const char *)r : "");
	sqlite3_finalize(st);
}

static void answers_ack_reject_or_defer_a_row(void **state)
{
	fixture *f = *state;
	enqueue(f, "a", 0, "{}");
	enqueue(f, "b", 0, "{}");
	enqueue(f, "c", 0, "{}");
	enqueue(f, "d", 0, "{}");
	fic__outbox_batch *b;
	assert_int_equal(fic__outbox_next_batch(f->store, NOW, 500, 1 << 20, &b), FIC_OK);
	assert_int_equal(b->count, 4);

	fic__record_result ok = stored("rcpt-1");
	fic__record_result dup = { .kind = FIC__RESULT_DUPLICATE, .receipt_id = "rcpt-0",
		                   .received_at_ms = NOW - 99 };
	fic__record_result no = { .kind = FIC__RESULT_REJECTED, .reason = "未知场所类型", .retry = false };
	fic__record_result later = { .kind = FIC__RESULT_REJECTED, .reason = "busy", .retry = true,
		                     .retry_after_ms = 30000 };
	assert_int_equal(fic__outbox_apply(f->store, b->items[0].seq, &ok, NOW, 0), FIC_OK);
	assert_int_equal(fic__outbox_apply(f->store, b->items[1].seq, &dup, NOW, 0), FIC_OK);
	assert_int_equal(fic__outbox_apply(f->store, b->items[2].seq, &no, NOW, 0), FIC_OK);
	assert_int_equal(fic__outbox_apply(f->store, b->items[3].seq, &later, NOW, UINT32_MAX), FIC_OK);

	char st[16], err[256], rc[64];
	int attempts;
	int64_t next;
	row_state(f, b->items[0].seq, st, &attempts, &next, err, rc);
	assert_string_equal(st, "acked");
	assert_string_equal(rc, "rcpt-1");
	row_state(f, b->items[1].seq, st, &attempts, &next, err, rc);
	assert_string_equal(st, "acked");
	assert_string_equal(rc, "rcpt-0");
	row_state(f, b->items[2].seq, st, &attempts, &next, err, rc);
	assert_string_equal(st, "rejected"); /* kept, with the reason to show */
	assert_string_equal(err, "未知场所类型");
	assert_int_equal(attempts, 1);
	row_state(f, b->items[3].seq, st, &attempts, &next, err, rc);
	assert_string_equal(st, "pending");
	assert_int_equal(attempts, 1);
	assert_int_equal(next, NOW + 30000); /* Retry-After beats the 1 s backoff */
	assert_string_equal(err, "busy");

	fic__outbox_counts n;
	assert_int_equal(fic__outbox_counts_get(f->store, &n), FIC_OK);
	assert_int_equal(n.pending, 1);
	assert_int_equal(n.acked, 2);
	assert_int_equal(n.rejected, 1);
	assert_int_equal(n.urgent_pending, 0);
	assert_int_equal(n.next_due_ms, NOW + 30000);

	/* A second answer for a row already settled is refused and changes nothing. */
	fic__record_result other = stored("rcpt-other");
	assert_int_equal(fic__outbox_apply(f->store, b->items[0].seq, &other, NOW, 0), FIC_ESTATE);
	assert_int_equal(fic__outbox_apply(f->store, b->items[2].seq, &other, NOW, 0), FIC_ESTATE);
	assert_int_equal(fic__outbox_apply(f->store, 99999, &later, NOW, 0), FIC_ENOTFOUND);
	row_state(f, b->items[0].seq, st, &attempts, &next, err, rc);
	assert_string_equal(rc, "rcpt-1");
	row_state(f, b->items[2].seq, st, &attempts, &next, err, rc);
	assert_string_equal(st, "rejected");

	/* A deferral of the whole batch leaves the settled rows as they are and
	 * defers the one still pending. */
	assert_int_equal(fic__outbox_defer(f->store, b, "reset", 0, NOW, 0, NULL), FIC_OK);
	row_state(f, b->items[0].seq, st, &attempts, &next, err, rc);
	assert_string_equal(st, "acked");
	assert_string_equal(rc, "rcpt-1");
	row_state(f, b->items[2].seq, st, &attempts, &next, err, rc);
	assert_string_equal(st, "rejected");
	assert_string_equal(err, "未知场所类型");
	row_state(f, b->items[3].seq, st, &attempts, &next, err, rc);
	assert_string_equal(st, "pending");
	assert_int_equal(attempts, 2);
	assert_string_equal(err, "reset");
	fic__outbox_batch_free(b);

	/* Nothing is deleted: four rows remain. */
	sqlite3_stmt *q;
	assert_int_equal(sqlite3_prepare_v2(f->store->db, "SELECT count(*) FROM outbox", -1, &q, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(q, 0), 4);
	sqlite3_finalize(q);
}

static void backoff_grows_with_jitter_and_a_cap(void **state)
{
	(void)state;
	/* Attempt 1: [0.5 s, 1 s]; each attempt doubles; the cap is 5 minutes. */
	assert_int_equal(fic__backoff_ms(1, 0, 0), 500);
	assert_int_equal(fic__backoff_ms(1, 0, UINT32_MAX), 1000);
	assert_int_equal(fic__backoff_ms(2, 0, 0), 1000);
	assert_int_equal(fic__backoff_ms(2, 0, UINT32_MAX), 2000);
	assert_int_equal(fic__backoff_ms(4, 0, 0), 4000);
	int64_t prev_lo = 0;
	for (int a = 1; a <= 40; a++) {
		int64_t lo = fic__backoff_ms(a, 0, 0), hi = fic__backoff_ms(a, 0, UINT32_MAX);
		int64_t mid = fic__backoff_ms(a, 0, 0x80000000u);
		assert_true(lo <= mid && mid <= hi);
		assert_true(hi <= FIC_SYNC_BACKOFF_CAP_MS);
		assert_true(lo >= prev_lo);
		assert_true(hi - lo >= lo - 1); /* the jitter spans half the step */
		prev_lo = lo;
	}
	assert_int_equal(fic__backoff_ms(40, 0, UINT32_MAX), FIC_SYNC_BACKOFF_CAP_MS);
	assert_int_equal(fic__backoff_ms(INT32_MAX, 0, 0), FIC_SYNC_BACKOFF_CAP_MS / 2);
	assert_int_equal(fic__backoff_ms(0, 0, 0), 500);
	/* Retry-After is honoured, within reason. */
	assert_int_equal(fic__backoff_ms(1, 120000, 0), 120000);
	assert_int_equal(fic__backoff_ms(1, 24LL * 3600 * 1000, 0), FIC_SYNC_RETRY_AFTER_CAP_MS);
	assert_int_equal(fic__backoff_ms(12, 100, UINT32_MAX), FIC_SYNC_BACKOFF_CAP_MS);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(an_urgent_lead_goes_first_and_alone),
		T(batches_keep_to_their_limits),
		T(answers_ack_reject_or_defer_a_row),
		cmocka_unit_test(backoff_grows_with_jitter_and_a_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
