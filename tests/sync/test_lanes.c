/*
 * tests/sync/test_lanes.c — the photo lanes over an app's own transport
 * (sync/lanes.c), with a fake transport that declares
 * FIC_TRANSPORT_CONCURRENT and holds each request until the test lets it
 * go: which tables get lanes at all; two exchanges really in flight at once,
 * each on a thread of the engine's and never the caller's; each result
 * handed back on the caller's thread with the message the lane's thread
 * set; a lane abandoned mid-request cancelled through its own flag and
 * waited for, its response freed; a lane told to stop hands back what its
 * call returned (an answer that beat the flag, or the cancellation); closing
 * joins the threads and leaks nothing. (The engine driving photos through such a transport against the
 * real server: tests/server/test_sync_lanes.c.)
 */
#include "testutil.h"
#include "internal.h"
#include "sync_internal.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

typedef struct fake {
	fic_transport table;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int in_flight, max_in_flight, calls, cancelled;
	bool release;                /* the held requests may answer */
	pthread_t thread[8];         /* the thread of each call */
	const fic_cancel *cancel[8]; /* the cancel flag each call carried */
} fake;

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Held until released or cancelled (polled, as a real transport does); then
 * 204 with a body, or — for a URL with "fail" — no answer and a message. */
static int fake_request(void *ctx, const fic_http_request *q, fic_http_response *r)
{
	fake *f = ctx;
	pthread_mutex_lock(&f->mu);
	int me = f->calls++;
	if (me < 8) {
		f->thread[me] = pthread_self();
		f->cancel[me] = q->cancel;
	}
	if (++f->in_flight > f->max_in_flight)
		f->max_in_flight = f->in_flight;
	pthread_cond_broadcast(&f->cv);
	while (!f->release && !fic_cancel_requested(q->cancel)) {
		pthread_mutex_unlock(&f->mu);
		sleep_ms(2);
		pthread_mutex_lock(&f->mu);
	}
	bool cancelled = !f->release;
	f->cancelled += cancelled;
	f->in_flight--;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
	if (cancelled) {
		r->body = fic_malloc(16); /* a transport may leave a body behind: freed by the lane */
		return fic_error_set(FIC_ECANCELED, "cancelled in the fake transport");
	}
	if (strstr(q->url, "fail"))
		return fic_error_set(FIC_ENETWORK, "network: the fake lane's link dropped");
	r->status = 204;
	r->upload_offset = (int64_t)q->body_len;
	r->body = fic_malloc(5);
	memcpy(r->body, "done", 5);
	r->body_len = 4;
	return FIC_OK;
}

static int setup(void **state)
{
	tu_alloc_install();
	fake *f = calloc(1, sizeof *f);
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cv, NULL);
	f->table = (fic_transport){ FIC_TRANSPORT_VERSION, f, fake_request, NULL,
		                    FIC_TRANSPORT_CONCURRENT };
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fake *f = *state;
	pthread_cond_destroy(&f->cv);
	pthread_mutex_destroy(&f->mu);
	free(f);
	return 0;
}

/* Until `n` requests are in flight (or 5 s: a failure). */
static void wait_in_flight(fake *f, int n)
{
	pthread_mutex_lock(&f->mu);
	for (int i = 0; i < 2500 && f->in_flight != n; i++) {
		pthread_mutex_unlock(&f->mu);
		sleep_ms(2);
		pthread_mutex_lock(&f->mu);
	}
	int now = f->in_flight;
	pthread_mutex_unlock(&f->mu);
	assert_int_equal(now, n);
}

static void set_release(fake *f, bool v)
{
	pthread_mutex_lock(&f->mu);
	f->release = v;
	pthread_mutex_unlock(&f->mu);
}

static fic_http_request req(const char *url)
{
	static const char body[] = "0123456789";
	return (fic_http_request){ .version = FIC_TRANSPORT_VERSION, .method = "PATCH", .url = url,
		                   .body = body, .body_len = 10 };
}

static void only_a_version_4_table_that_says_so_gets_lanes(void **state)
{
	fake *f = *state;
	fic__lanes *ls = NULL;
	/* Version 3: no flags member; whatever the bytes after it hold, no lanes. */
	f->table.version = 3;
	assert_int_equal(fic__lanes_open(&ls, &f->table), FIC_OK);
	assert_null(ls);
	f->table.version = 4;
	f->table.flags = 0;
	assert_int_equal(fic__lanes_open(&ls, &f->table), FIC_OK);
	assert_null(ls);
	f->table.flags = FIC_TRANSPORT_CONCURRENT;
	assert_int_equal(fic__lanes_open(&ls, &f->table), FIC_OK);
	assert_non_null(ls);
	assert_false(fic__lanes_sent(ls, 0)); /* an app's transport cannot say */
	int n, rc;
	fic_http_response r;
	assert_int_equal(fic__lanes_wait(ls, 10, &n, &rc, &r), 0); /* nothing in flight */
	fic__lanes_close(ls);
	assert_int_equal(f->calls, 0); /* no thread was started for nothing */
}

static void two_exchanges_run_at_once_on_the_engines_threads(void **state)
{
	fake *f = *state;
	long live = tu_alloc_live();
	fic__lanes *ls;
	assert_int_equal(fic__lanes_open(&ls, &f->table), FIC_OK);
	fic_http_request a = req("http://127.0.0.1/v1/photos/a"), b = req("http://127.0.0.1/fail");
	assert_int_equal(fic__lanes_start(ls, 0, &a), FIC_OK);
	assert_int_equal(fic__lanes_start(ls, 1, &b), FIC_OK);
	assert_int_equal(fic__lanes_start(ls, 1, &b), FIC_EINVAL); /* busy */
	wait_in_flight(f, 2); /* both held at once: two threads */
	for (int i = 0; i < 2; i++) {
		assert_false(pthread_equal(f->thread[i], pthread_self()));
		assert_non_null(f->cancel[i]); /* the lane's own flag, not the caller's (NULL) */
	}
	assert_false(pthread_equal(f->thread[0], f->thread[1]));
	int n, rc;
	fic_http_response r;
	assert_int_equal(fic__lanes_wait(ls, 30, &n, &rc, &r), 0); /* held: nothing yet */
	set_release(f, true);
	bool seen[2] = { false, false };
	for (int k = 0; k < 2; k++) {
		fic_error_clear();
		assert_int_equal(fic__lanes_wait(ls, 5000, &n, &rc, &r), 1);
		seen[n] = true;
		if (n == 0) {
			assert_int_equal(rc, FIC_OK);
			assert_int_equal(r.status, 204);
			assert_string_equal((char *)r.body, "done");
			assert_int_equal(fic_error_last()->code, FIC_OK);
			fic_free(r.body);
		} else {
			/* The lane thread's message, on this thread. */
			assert_int_equal(rc, FIC_ENETWORK);
			assert_null(r.body);
			assert_int_equal(fic_error_last()->code, FIC_ENETWORK);
			assert_string_equal(fic_error_last()->message, "network: the fake lane's link dropped");
		}
	}
	assert_true(seen[0] && seen[1]);
	/* The lanes are idle again and take the next exchanges on the same threads. */
	assert_int_equal(fic__lanes_start(ls, 0, &a), FIC_OK);
	assert_int_equal(fic__lanes_wait(ls, 5000, &n, &rc, &r), 1);
	assert_int_equal(rc, FIC_OK);
	fic_free(r.body);
	assert_true(pthread_equal(f->thread[2], f->thread[0]) || pthread_equal(f->thread[2], f->thread[1]));
	fic__lanes_close(ls);
	assert_int_equal(f->max_in_flight, 2);
	assert_int_equal(tu_alloc_live(), live);
}

static void an_abandoned_lane_is_cancelled_and_waited_for(void **state)
{
	fake *f = *state;
	long live = tu_alloc_live();
	fic__lanes *ls;
	assert_int_equal(fic__lanes_open(&ls, &f->table), FIC_OK);
	fic_http_request a = req("http://127.0.0.1/v1/photos/a");
	assert_int_equal(fic__lanes_start(ls, 0, &a), FIC_OK);
	assert_int_equal(fic__lanes_start(ls, 1, &a), FIC_OK);
	wait_in_flight(f, 2);
	/* Lane 0 abandoned: when the call returns, the transport has returned. */
	fic__lanes_cancel(ls, 0);
	pthread_mutex_lock(&f->mu);
	int in_flight = f->in_flight, cancelled = f->cancelled;
	pthread_mutex_unlock(&f->mu);
	assert_int_equal(in_flight, 1);
	assert_int_equal(cancelled, 1);
	assert_false(fic_cancel_requested(f->cancel[1])); /* the other lane's flag is its own */
	/* Lane 0 works again, with its flag lowered; its old answer is gone. */
	set_release(f, true);
	assert_int_equal(fic__lanes_start(ls, 0, &a), FIC_OK);
	int n, rc;
	fic_http_response r;
	for (int k = 0; k < 2; k++) {
		assert_int_equal(fic__lanes_wait(ls, 5000, &n, &rc, &r), 1);
		assert_int_equal(rc, FIC_OK);
		fic_free(r.body);
	}
	/* Closed with a request held: cancelled, waited for, threads joined. */
	set_release(f, false);
	assert_int_equal(fic__lanes_start(ls, 1, &a), FIC_OK);
	wait_in_flight(f, 1);
	fic__lanes_close(ls);
	assert_int_equal(f->in_flight, 0);
	assert_int_equal(f->cancelled, 2);
	assert_int_equal(tu_alloc_live(), live);
}

static void a_lane_told_to_stop_hands_back_what_its_call_returned(void **state)
{
	fake *f = *state;
	long live = tu_alloc_live();
	fic__lanes *ls;
	assert_int_equal(fic__lanes_open(&ls, &f->table), FIC_OK);
	assert_false(fic__lanes_stop(ls, 0)); /* idle: nothing to stop */
	fic_http_request a = req("http://127.0.0.1/v1/photos/a");
	/* Held: the flag stops it, and FIC_ECANCELED comes back. */
	assert_int_equal(fic__lanes_start(ls, 0, &a), FIC_OK);
	wait_in_flight(f, 1);
	assert_true(fic__lanes_stop(ls, 0));
	int n, rc;
	fic_http_response r;
	assert_int_equal(fic__lanes_wait(ls, 5000, &n, &rc, &r), 1);
	assert_int_equal(n, 0);
	assert_int_equal(rc, FIC_ECANCELED);
	assert_string_equal(fic_error_last()->message, "cancelled in the fake transport");
	fic_free(r.body);
	/* Answered before the flag went up: the answer comes back, not a cancellation. */
	set_release(f, true);
	assert_int_equal(fic__lanes_start(ls, 1, &a), FIC_OK);
	wait_in_flight(f, 0);
	assert_true(fic__lanes_stop(ls, 1));
	assert_int_equal(fic__lanes_wait(ls, 5000, &n, &rc, &r), 1);
	assert_int_equal(n, 1);
	assert_int_equal(rc, FIC_OK);
	assert_int_equal(r.status, 204);
	fic_free(r.body);
	/* and the lane's flag is down again for its next exchange */
	assert_int_equal(fic__lanes_start(ls, 1, &a), FIC_OK);
	assert_int_equal(fic__lanes_wait(ls, 5000, &n, &rc, &r), 1);
	assert_int_equal(rc, FIC_OK);
	fic_free(r.body);
	fic__lanes_close(ls);
	assert_int_equal(tu_alloc_live(), live);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(only_a_version_4_table_that_says_so_gets_lanes, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(two_exchanges_run_at_once_on_the_engines_threads, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(an_abandoned_lane_is_cancelled_and_waited_for, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(a_lane_told_to_stop_hands_back_what_its_call_returned,
		                                setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
