/*
 * tests/server/test_sync_lanes.c — photos on lanes through an app's own
 * transport (sys/transport.h, FIC_TRANSPORT_CONCURRENT; sync/lanes.c)
 * against the real server: a pool of libcurl transports standing in for an
 * app's HTTP client (tests/support/pool_transport.h). The photos go on two
 * lanes at once, each on a thread of the engine's, the records on the
 * syncing thread; a version-3 table is never called concurrently; a lane's
 * connection reset in the middle of a chunk, and a pass cancelled while both
 * lanes are mid-chunk, lose nothing and double nothing: every photo whole
 * and verified at the server once, no chunk sent again over a range the
 * server had taken, and no call into the transport left running after the
 * pass returns.
 */
#include "testutil.h"
#include "internal.h"
#include "county.h"
#include "e2e.h"
#include "linkproxy.h"
#include "pool_transport.h"
#include "sync_internal.h"

#include <pthread.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static int cmp_call(const void *a, const void *b)
{
	const tu_pool_call *x = a, *y = b;
	int c = strcmp(x->sha256, y->sha256);
	return c ? c : (x->offset > y->offset) - (x->offset < y->offset);
}

/*
 * After the passes: every photo done on the device and held whole and
 * verified by the server, once (`sent`: photos the passes reported sent);
 * in the pool's log no chunk was answered 409 (sent at an offset the server
 * had passed) and the chunks the server took cover disjoint ranges.
 */
static void nothing_lost_or_doubled(e2e *f, tu_pool *pool, int64_t sent)
{
	assert_int_equal(e2e_uploads_where(f, "state <> 'done'"), 0);
	assert_int_equal(county_photo_count(f->server), 3);
	assert_int_equal(county_photo_bad(f->server), 0);
	assert_int_equal(sent, 3);
	tu_pool_call *log;
	size_t n = tu_pool_log(pool, &log), taken = 0;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(log[i].method, "PATCH") != 0)
			continue;
		assert_int_not_equal(log[i].status, 409);
		if (log[i].status == 204 || log[i].status == 201)
			log[taken++] = log[i];
	}
	qsort(log, taken, sizeof *log, cmp_call);
	for (size_t i = 1; i < taken; i++)
		if (strcmp(log[i].sha256, log[i - 1].sha256) == 0 &&
		    log[i].offset < log[i - 1].offset + (int64_t)log[i - 1].len)
			fail_msg("photo %.12s: a chunk at %lld overlaps one the server took at %lld", log[i].sha256,
			         (long long)log[i].offset, (long long)log[i - 1].offset);
	free(log);
}

/* Passes until one succeeds (the network made due again between them). */
static int64_t push_until_done(e2e *f, int64_t *sent)
{
	int rc = FIC_ERROR;
	for (int pass = 0; pass < 10 && rc != FIC_OK; pass++) {
		fic_sync_report rep = FIC_SYNC_REPORT_INIT;
		rc = fic_sync_push(f->store, &f->opts, &rep);
		*sent += rep.photos_sent;
		assert_int_equal(fic_sync_network_changed(f->store, 1), FIC_OK);
	}
	if (rc != FIC_OK)
		fail_msg("%s", fic_error_last()->message);
	return *sent;
}

/* Each PATCH held a moment, so the two lanes' chunks are surely in flight together. */
static void slow_patch(void *arg, const fic_http_request *q, int patch, bool *fresh, bool *hooked)
{
	(void)arg;
	(void)q;
	(void)fresh;
	(void)hooked;
	if (patch > 0)
		sleep_ms(10);
}

static void an_apps_concurrent_transport_sends_photos_on_two_lanes(void **state)
{
	e2e *f = *state;
	e2e_enroll(f, "石柱县");
	char site_sha[2][65], urgent_sha[65], lead[FIC_UUID_BUFSIZE];
	e2e_photo_backlog(f, site_sha, urgent_sha, lead);
	tu_pool *pool;
	assert_int_equal(tu_pool_new(&pool, NULL, true), 0);
	tu_pool_set_hook(pool, slow_patch, NULL);
	f->opts.transport = tu_pool_transport(pool);
	f->opts.photo_chunk_bytes = 8192;
	fic_sync_report rep = FIC_SYNC_REPORT_INIT;
	int rc = fic_sync_push(f->store, &f->opts, &rep);
	if (rc != FIC_OK)
		fail_msg("%s", fic_error_last()->message);
	assert_int_equal(rep.photos_sent, 3);
	assert_int_equal(e2e_pending(f), 0);
	/* The urgent lead's photo was completed first. */
	assert_true(county_photo_received_at(f->server, urgent_sha) <=
	            county_photo_received_at(f->server, site_sha[0]));
	assert_true(county_photo_received_at(f->server, urgent_sha) <=
	            county_photo_received_at(f->server, site_sha[1]));
	/* Photo requests on two threads of the engine's, at once; records on this one. */
	tu_pool_stats st;
	tu_pool_stats_get(pool, &st);
	assert_int_equal(st.in_flight, 0);
	assert_true(st.max_in_flight >= 2);
	tu_pool_call *log;
	size_t n = tu_pool_log(pool, &log);
	pthread_t lanes[4];
	int nlanes = 0;
	for (size_t i = 0; i < n; i++) {
		bool photo = log[i].sha256[0] != '\0', mine = pthread_equal(log[i].thread, pthread_self());
		if (!photo) {
			assert_true(mine); /* records, audit log: the syncing thread */
			continue;
		}
		assert_false(mine);
		bool known = false;
		for (int k = 0; k < nlanes; k++)
			known |= pthread_equal(lanes[k], log[i].thread) != 0;
		if (!known && nlanes < 4)
			lanes[nlanes++] = log[i].thread;
	}
	free(log);
	assert_int_equal(nlanes, 2);
	nothing_lost_or_doubled(f, pool, rep.photos_sent);
	f->opts.transport = f->transport;
	tu_pool_free(pool);
}

static void a_version_3_table_is_called_one_request_at_a_time(void **state)
{
	e2e *f = *state;
	e2e_enroll(f, "石柱县");
	char site_sha[2][65], urgent_sha[65], lead[FIC_UUID_BUFSIZE];
	e2e_photo_backlog(f, site_sha, urgent_sha, lead);
	tu_pool *pool;
	assert_int_equal(tu_pool_new(&pool, NULL, false), 0);
	tu_pool_set_hook(pool, slow_patch, NULL);
	fic_transport *t = tu_pool_transport(pool);
	assert_int_equal(t->version, 3);
	t->flags = FIC_TRANSPORT_CONCURRENT; /* past a version-3 table: never read */
	f->opts.transport = t;
	fic_sync_report rep = FIC_SYNC_REPORT_INIT;
	int rc = fic_sync_push(f->store, &f->opts, &rep);
	if (rc != FIC_OK)
		fail_msg("%s", fic_error_last()->message);
	tu_pool_stats st;
	tu_pool_stats_get(pool, &st);
	assert_int_equal(st.max_in_flight, 1);
	assert_int_equal(st.threads, 1);
	tu_pool_call *log;
	size_t n = tu_pool_log(pool, &log);
	for (size_t i = 0; i < n; i++)
		assert_true(pthread_equal(log[i].thread, pthread_self()));
	free(log);
	nothing_lost_or_doubled(f, pool, rep.photos_sent);
	f->opts.transport = f->transport;
	tu_pool_free(pool);
}

/* The third chunk goes on a fresh connection that the link proxy resets
 * half way through its body. */
typedef struct cut {
	tu_link *link;
	atomic_int hooked;
} cut;

static void cut_third_patch(void *arg, const fic_http_request *q, int patch, bool *fresh,
                            bool *hooked)
{
	cut *c = arg;
	if (patch != 3)
		return;
	tu_link_fault(c->link, TU_FAULT_RESET_UP, 400 + (int64_t)q->body_len / 2);
	*fresh = *hooked = true;
	atomic_store(&c->hooked, 1);
}

static void a_lane_reset_mid_chunk_loses_and_doubles_nothing(void **state)
{
	e2e *f = *state;
	/* Enrolled through the link: the token goes only to the enrolled URL. */
	cut c = { 0 };
	tu_link_options lo = { .upstream_port = county_port(f->server) };
	assert_int_equal(tu_link_start(&c.link, &lo), 0);
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d", tu_link_port(c.link));
	f->opts.server_url = url;
	e2e_enroll(f, "石柱县");
	char site_sha[2][65], urgent_sha[65], lead[FIC_UUID_BUFSIZE];
	e2e_photo_backlog(f, site_sha, urgent_sha, lead);
	tu_pool *pool;
	assert_int_equal(tu_pool_new(&pool, NULL, true), 0);
	tu_pool_set_hook(pool, cut_third_patch, &c);
	f->opts.transport = tu_pool_transport(pool);
	f->opts.server_url = url;
	f->opts.photo_chunk_bytes = 16384;
	/* The first pass ends with the lane's failure, in the lane's own words. */
	fic_sync_report rep = FIC_SYNC_REPORT_INIT;
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_ENETWORK);
	assert_int_equal(atomic_load(&c.hooked), 1);
	print_message("# the pass: %s\n", fic_error_last()->message);
	assert_non_null(strstr(fic_error_last()->message, "network: "));
	tu_pool_call *log;
	size_t n = tu_pool_log(pool, &log);
	int hit = 0;
	for (size_t i = 0; i < n; i++)
		if (log[i].hooked) {
			assert_int_equal(log[i].rc, FIC_ENETWORK); /* the reset hit that chunk */
			hit++;
		}
	free(log);
	assert_int_equal(hit, 1);
	assert_int_equal(e2e_uploads_where(f, "last_error LIKE 'network: %'"), 1);
	int64_t sent = rep.photos_sent;
	tu_pool_stats st;
	tu_pool_stats_get(pool, &st);
	assert_int_equal(st.in_flight, 0);
	/* Then the photos resume at the server's offsets. */
	assert_int_equal(fic_sync_network_changed(f->store, 1), FIC_OK);
	push_until_done(f, &sent);
	nothing_lost_or_doubled(f, pool, sent);
	f->opts.transport = f->transport;
	f->opts.server_url = f->url;
	tu_pool_free(pool);
	tu_link_stop(c.link);
}

/* Another thread of the app's cancels the pass once both lanes have had a
 * chunk under way for a moment (and not at the very first chunks). */
typedef struct stopper {
	tu_pool *pool;
	fic_cancel *cancel;
	pthread_t th;
	int64_t raised_at;
	int in_flight_then; /* calls in flight when the flag went up */
} stopper;

static void *stop_mid_chunks(void *arg)
{
	stopper *s = arg;
	int64_t give_up = mono_ms() + (int64_t)(60000 * tu_time_scale());
	while (mono_ms() < give_up) {
		tu_pool_stats st;
		tu_pool_stats_get(s->pool, &st);
		if (st.patches >= 4 && st.in_flight == 2) {
			sleep_ms(60); /* both are into their bodies */
			tu_pool_stats_get(s->pool, &st);
			s->in_flight_then = st.in_flight;
			s->raised_at = mono_ms();
			fic_cancel_request(s->cancel);
			return NULL;
		}
		sleep_ms(1);
	}
	return NULL;
}

static void a_pass_cancelled_with_both_lanes_mid_chunk_loses_and_doubles_nothing(void **state)
{
	e2e *f = *state;
	/* 1 Mbit/s: a 16 KiB chunk takes a quarter of a second with both lanes on
	 * it. Enrolled through the link: the token goes only to the enrolled URL. */
	tu_link *link;
	tu_link_options lo = { .upstream_port = county_port(f->server), .rate_bps = 1000000,
		               .delay_ms = 10, .seed = 7 };
	assert_int_equal(tu_link_start(&link, &lo), 0);
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d", tu_link_port(link));
	f->opts.server_url = url;
	e2e_enroll(f, "石柱县");
	char site_sha[2][65], urgent_sha[65], lead[FIC_UUID_BUFSIZE];
	e2e_photo_backlog(f, site_sha, urgent_sha, lead);
	stopper s = { 0 };
	assert_int_equal(fic_cancel_new(&s.cancel), FIC_OK);
	tu_pool *pool;
	assert_int_equal(tu_pool_new(&pool, NULL, true), 0);
	s.pool = pool;
	f->opts.transport = tu_pool_transport(pool);
	f->opts.server_url = url;
	f->opts.cancel = s.cancel;
	f->opts.photo_chunk_bytes = 16384;
	assert_int_equal(pthread_create(&s.th, NULL, stop_mid_chunks, &s), 0);
	fic_sync_report rep = FIC_SYNC_REPORT_INIT;
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_ECANCELED);
	int64_t back = mono_ms();
	pthread_join(s.th, NULL);
	int64_t took = back - s.raised_at;
	print_message("# cancelled with %d chunks in flight; the pass returned %lld ms later\n",
	              s.in_flight_then, (long long)took);
	assert_int_equal(s.in_flight_then, 2);
	assert_true(took < (int64_t)(1500 * tu_time_scale()));
	/* Nothing of the transport's is still running, and chunks were cut short. */
	tu_pool_stats st;
	tu_pool_stats_get(pool, &st);
	assert_int_equal(st.in_flight, 0);
	tu_pool_call *log;
	size_t n = tu_pool_log(pool, &log);
	int cancelled = 0;
	for (size_t i = 0; i < n; i++)
		cancelled += strcmp(log[i].method, "PATCH") == 0 && log[i].rc == FIC_ECANCELED;
	free(log);
	print_message("# %d chunk(s) in flight were cancelled\n", cancelled);
	assert_true(cancelled >= 1);
	assert_true(e2e_uploads_where(f, "state = 'pending'") > 0);
	/* The next passes finish the photos. */
	int64_t sent = rep.photos_sent;
	fic_cancel_reset(s.cancel);
	push_until_done(f, &sent);
	nothing_lost_or_doubled(f, pool, sent);
	f->opts.server_url = f->url;
	f->opts.transport = f->transport;
	f->opts.cancel = NULL;
	tu_pool_free(pool);
	fic_cancel_free(s.cancel);
	tu_link_stop(link);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, e2e_setup, e2e_teardown)
	const struct CMUnitTest tests[] = {
		T(an_apps_concurrent_transport_sends_photos_on_two_lanes),
		T(a_version_3_table_is_called_one_request_at_a_time),
		T(a_lane_reset_mid_chunk_loses_and_doubles_nothing),
		T(a_pass_cancelled_with_both_lanes_mid_chunk_loses_and_doubles_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
