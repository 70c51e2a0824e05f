/*
 * tests/core/test_durability.c — what fic_site_add reports as saved survives
 * the process being killed at an arbitrary moment.
 *
 * store.h promises that a write call returning FIC_OK has committed its
 * transaction durably. This test holds the library to that against SIGKILL
 * (it cannot simulate power loss: the kernel's page cache survives a killed
 * process, so this checks commit ordering and crash recovery, not fsync).
 *
 * Each round the parent forks a child that opens the store and adds sites in
 * a loop, writing each returned id to a pipe only after fic_site_add returned
 * FIC_OK. The parent kills the child with SIGKILL after a random delay, then
 * opens the store itself and checks that
 *   - every id any child ever reported (this round and all earlier ones) is
 *     found by fic_site_get, as the school the child saved;
 *   - fic_store_check() passes (SQLite integrity check + foreign keys);
 *   - the store holds at least as many sites as were reported (a commit that
 *     landed just before the kill but was not yet reported is fine);
 *   - every site has exactly one audit entry and one outbox record, i.e. a
 *     killed transaction left none of its three rows behind.
 * Some rounds kill the child shortly after fork, before or while it opens the
 * store. The first round is always one of them, killing the child at a random
 * moment within the time creating a store takes on this machine (measured
 * first), so the kill lands somewhere in creating the store: the new file,
 * the switch to WAL, the schema migration or the device id; the next open
 * must recover.
 *
 * The seed is printed; set FIC_DURABILITY_SEED to replay a run's delays.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS 40
#define MAX_DELAY_US 30000     /* kill 0..30 ms after the child is ready */
#define EARLY_KILL_EVERY 5     /* every 5th round: kill 0..5 ms after fork instead */
#define EARLY_MAX_DELAY_US 5000
#define READY_TIMEOUT_MS 10000 /* generous: ASan and a cold first open */
#define CHILD_MAX_ADDS 100000  /* safety stops should the parent never kill */
#define CHILD_MAX_MS 20000
#define NAME_PREFIX "第"

/* ---- small helpers ---- */

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* xorshift64*: reproducible from the printed seed, independent of libc rand(). */
static uint64_t rng_state;

static uint64_t rng_next(void)
{
	uint64_t x = rng_state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static uint64_t pick_seed(void)
{
	const char *env = getenv("FIC_DURABILITY_SEED");
	uint64_t seed = 0;
	if (env && env[0])
		seed = strtoull(env, NULL, 0);
	else if (fic_platform_default()->random_bytes(NULL, &seed, sizeof seed) != 0)
		seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	return seed ? seed : 0x9E3779B97F4A7C15ULL;
}

/* write(2) all of `len` bytes; 0 on success. Safe in the child (no stdio). */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* How long creating a store takes here (new file, WAL, migration, device id), in µs. */
static int64_t time_store_creation(const char *dir)
{
	char *p = tu_path(dir, "calibrate.fic");
	assert_non_null(p);
	fic_store *store = NULL;
	int64_t t = now_us();
	assert_int_equal(fic_store_open(&store, p, NULL), FIC_OK);
	t = now_us() - t;
	fic_store_close(store);
	unlink(p);
	free(p);
	return t > 0 ? t : 1;
}

/* ---- the child: never returns, never touches cmocka ---- */

static void child_fail(int fd, const char *what, int rc)
{
	char line[600];
	int n = snprintf(line, sizeof line, "E %s: %d %s\n", what, rc, fic_error_last()->message);
	if (n > 0)
		write_all(fd, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
	_exit(3);
}

static void child_main(int fd, const char *path, int round)
{
	fic_store_options opts = FIC_STORE_OPTIONS_INIT;
	opts.actor = "durability-test";
	fic_store *store = NULL;
	int rc = fic_store_open(&store, path, &opts);
	if (rc != FIC_OK)
		child_fail(fd, "fic_store_open", rc);
	if (write_all(fd, "R\n", 2) != 0)
		_exit(4);

	int64_t start = now_us();
	for (int i = 0; i < CHILD_MAX_ADDS; i++) {
		char name[128];
		snprintf(name, sizeof name, NAME_PREFIX "%d轮 阳光小学 %05d号", round, i);
		fic_site s = FIC_SITE_INIT;
		s.kind = FIC_SITE_SCHOOL;
		s.name = name;
		s.address = "重庆市渝北区龙溪街道 1 号";
		s.school_level = FIC_SCHOOL_PRIMARY;
		fic_site *saved = NULL;
		rc = fic_site_add(&saved, store, &s, "durability test");
		if (rc != FIC_OK)
			child_fail(fd, "fic_site_add", rc);
		char line[FIC_UUID_BUFSIZE + 1];
		int n = snprintf(line, sizeof line, "%s\n", saved->id);
		fic_site_free(saved);
		/* One write(2) of < PIPE_BUF bytes: atomic, so a kill never splits it. */
		if (n != FIC_UUID_BUFSIZE || write_all(fd, line, (size_t)n) != 0)
			_exit(5);
		if (now_us() - start > (int64_t)(CHILD_MAX_MS * tu_time_scale()) * 1000)
			break;
	}
	fic_store_close(store);
	_exit(0);
}

/* ---- the parent ---- */

typedef struct id_list {
	char (*ids)[FIC_UUID_BUFSIZE];
	size_t count, cap;
} id_list;

static void id_push(id_list *l, const char *id)
{
	if (l->count == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 1024;
		void *n = realloc(l->ids, ncap * sizeof *l->ids);
		assert_non_null(n);
		l->ids = n;
		l->cap = ncap;
	}
	memcpy(l->ids[l->count++], id, FIC_UUID_BUFSIZE);
}

/* What the parent has read from the pipe but not yet parsed into lines. */
typedef struct pipe_reader {
	char buf[4096];
	size_t len;
	int ready;        /* the child said "R": the store is open */
	size_t reported;  /* ids reported this round */
	char error[600];  /* an "E ..." line from the child */
} pipe_reader;

static void parse_lines(pipe_reader *r, id_list *all)
{
	size_t start = 0;
	for (size_t i = 0; i < r->len; i++) {
		if (r->buf[i] != '\n')
			continue;
		char *line = r->buf + start;
		size_t n = i - start;
		line[n] = '\0';
		if (n == 1 && line[0] == 'R') {
			r->ready = 1;
		} else if (n > 0 && line[0] == 'E') {
			snprintf(r->error, sizeof r->error, "%s", line);
		} else {
			if (n != FIC_UUID_BUFSIZE - 1)
				fail_msg("child reported a malformed id line '%s'", line);
			id_push(all, line);
			r->reported++;
		}
		start = i + 1;
	}
	memmove(r->buf, r->buf + start, r->len - start);
	r->len -= start;
}

/* Read what is available (waiting at most timeout_ms); returns 0 at EOF. */
static int pump(int fd, pipe_reader *r, id_list *all, int timeout_ms)
{
	struct pollfd p = { fd, POLLIN, 0 };
	int pr = poll(&p, 1, timeout_ms);
	if (pr < 0 && errno == EINTR)
		return 1;
	assert_true(pr >= 0);
	if (pr == 0)
		return 1;
	assert_true(r->len < sizeof r->buf);
	ssize_t n = read(fd, r->buf + r->len, sizeof r->buf - r->len);
	if (n < 0 && errno == EINTR)
		return 1;
	assert_true(n >= 0);
	if (n == 0)
		return 0;
	r->len += (size_t)n;
	parse_lines(r, all);
	return 1;
}

/* Pump until `deadline_us` or EOF; with wait_ready, return as soon as "R" arrives. */
static int pump_until(int fd, pipe_reader *r, id_list *all, int64_t deadline_us, int wait_ready)
{
	for (;;) {
		if (wait_ready && r->ready)
			return 1;
		int64_t left = deadline_us - now_us();
		if (left <= 0)
			return 1;
		int ms = (int)((left + 999) / 1000);
		if (!pump(fd, r, all, ms))
			return 0;
	}
}

/* Check the store after a kill; returns how many sites it holds. */
static int64_t verify_store(const char *path, const id_list *all, int round)
{
	fic_store *store = NULL;
	int rc = fic_store_open(&store, path, NULL);
	if (rc != FIC_OK)
		fail_msg("round %d: reopening the store failed: %s", round, fic_error_last()->message);

	rc = fic_store_check(store);
	if (rc != FIC_OK)
		fail_msg("round %d: fic_store_check: %s", round, fic_error_last()->message);

	for (size_t i = 0; i < all->count; i++) {
		fic_site *s = NULL;
		rc = fic_site_get(&s, store, all->ids[i]);
		if (rc != FIC_OK)
			fail_msg("round %d: site %s was reported saved but is gone: %s", round,
			         all->ids[i], fic_error_last()->message);
		assert_int_equal(s->kind, FIC_SITE_SCHOOL);
		assert_int_equal(s->school_level, FIC_SCHOOL_PRIMARY);
		assert_non_null(s->name);
		assert_memory_equal(s->name, NAME_PREFIX, strlen(NAME_PREFIX));
		assert_int_equal(s->revision, 1);
		fic_site_free(s);
	}

	fic_store_stats st = FIC_STORE_STATS_INIT;
	assert_int_equal(fic_store_stats_get(store, &st), FIC_OK);
	if (st.sites < (int64_t)all->count)
		fail_msg("round %d: the store holds %" PRId64 " sites but %zu were reported saved",
		         round, st.sites, all->count);
	/* Site, audit entry and outbox record are one transaction: all or none. */
	assert_int_equal(st.audit_entries, st.sites);
	assert_int_equal(st.outbox_pending, st.sites);
	fic_store_close(store);
	return st.sites;
}

static void records_reported_saved_survive_sigkill(void **state)
{
	(void)state;
	uint64_t seed = pick_seed();
	rng_state = seed;
	printf("durability: seed %" PRIu64 " (replay with FIC_DURABILITY_SEED=%" PRIu64 ")\n", seed,
	       seed);

	char *dir = tu_mkdtemp();
	assert_non_null(dir);
	char *path = tu_path(dir, "durability.fic");
	assert_non_null(path);

	int64_t create_us = time_store_creation(dir);
	id_list all = { NULL, 0, 0 };
	int64_t stored = 0;
	int killed_mid_stream = 0, killed_before_ready = 0;
	int64_t t0 = now_us();

	for (int round = 1; round <= ROUNDS; round++) {
		int early = round == 1 || round % EARLY_KILL_EVERY == 0;
		/* Under emulation (FIC_TEST_TIME_SCALE) everything is slower: so are the windows. */
		double scale = tu_time_scale();
		uint64_t span = round == 1 ? (uint64_t)create_us
		                : early    ? (uint64_t)(EARLY_MAX_DELAY_US * scale)
		                           : (uint64_t)(MAX_DELAY_US * scale) + 1;
		int64_t delay_us = (int64_t)(rng_next() % span);
		int fds[2];
		assert_int_equal(pipe(fds), 0);
		fflush(stdout);
		fflush(stderr);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(fds[0]);
			child_main(fds[1], path, round);
			_exit(6); /* not reached */
		}
		close(fds[1]);

		pipe_reader r;
		memset(&r, 0, sizeof r);
		size_t before = all.count;
		int64_t fork_us = now_us();
		int more = 1;
		if (!early) {
			more = pump_until(fds[0], &r, &all, fork_us + (int64_t)(READY_TIMEOUT_MS * scale) * 1000, 1);
			if (!r.ready) {
				kill(pid, SIGKILL);
				waitpid(pid, NULL, 0);
				fail_msg("round %d: the child never opened the store%s%s", round,
				         r.error[0] ? ": " : "", r.error);
			}
		}
		int64_t kill_at = now_us() + delay_us;
		if (more)
			more = pump_until(fds[0], &r, &all, kill_at, 0);
		assert_int_equal(kill(pid, SIGKILL), 0);
		int status = 0;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		while (more)
			more = pump(fds[0], &r, &all, -1);
		close(fds[0]);

		if (r.error[0])
			fail_msg("round %d: the child failed: %s", round, r.error);
		if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL))
			fail_msg("round %d: the child was not killed but ended with status %d", round,
			         status);
		assert_int_equal(all.count - before, r.reported);
		if (r.reported > 0)
			killed_mid_stream++;
		if (!r.ready)
			killed_before_ready++;

		if (round == 1)
			printf("durability: round 1 killed %.1f ms after fork (creating a store takes "
			       "%.1f ms), %s\n", delay_us / 1000.0, create_us / 1000.0,
			       r.ready ? "after the store was open" : "before the store was open");
		stored = verify_store(path, &all, round);
	}

	double secs = (double)(now_us() - t0) / 1e6;
	printf("durability: %d rounds (%d killed mid-stream, %d before the store was open), "
	       "%zu records confirmed after SIGKILL (%" PRId64 " stored: %" PRId64
	       " committed but killed before reporting), %.1f s\n",
	       ROUNDS, killed_mid_stream, killed_before_ready, all.count, stored,
	       stored - (int64_t)all.count, secs);
	assert_true(all.count > 0);
	assert_true(killed_mid_stream >= ROUNDS / 4);

	free(all.ids);
	tu_rmtree(dir);
	free(path);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(records_reported_saved_survive_sigkill),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
