/*
 * tests/server/test_sync_kills.c — killed at random points: the client (a
 * child process pushing, SIGKILLed) and the server (a process SIGKILLed and
 * restarted mid-push), with photos in small chunks; after every run each
 * record is on the server once with the device's receipt, every photo whole
 * and verified, no chain break. The kill timings come from a seed that is
 * printed; set FIC_E2E_SEED to replay a run.
 */
#include "testutil.h"
#include "internal.h"
#include "model/checklist.h"
#include "county.h"
#include "e2e.h"
#include "linkproxy.h"
#include "sync_internal.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <openssl/sha.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/*
 * The kill timings: xorshift64* from a seed that is printed, so a failing run
 * can be replayed exactly with FIC_E2E_SEED=<seed> (the seed of each test is
 * printed at its start). Without it, a fresh seed from the platform's CSPRNG.
 */
static uint64_t kill_state;

static void seed_kills(const char *which)
{
	const char *env = getenv("FIC_E2E_SEED");
	uint64_t seed = 0;
	if (env && *env)
		seed = strtoull(env, NULL, 0);
	else if (fic_platform_default()->random_bytes(NULL, &seed, sizeof seed) != 0)
		seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	kill_state = seed ? seed : 0x9E3779B97F4A7C15ULL;
	printf("# %s kills: seed %llu (replay with FIC_E2E_SEED=%llu)\n", which,
	       (unsigned long long)kill_state, (unsigned long long)kill_state);
	fflush(stdout);
}

static unsigned kill_rand(void)
{
	kill_state ^= kill_state >> 12;
	kill_state ^= kill_state << 25;
	kill_state ^= kill_state >> 27;
	return (unsigned)((kill_state * 0x2545F4914F6CDD1DULL) >> 33);
}

/* The child: its own store handle and transport, pushing until killed. */
static void push_until_killed(const char *path, const char *url)
{
	fic_store *st;
	fic_store_options o = FIC_STORE_OPTIONS_INIT;
	if (fic_store_open(&st, path, &o) != FIC_OK)
		_exit(3);
	fic_transport *t;
	if (fic_transport_curl_new(&t, NULL) != FIC_OK)
		_exit(4);
	fic_sync_options so = FIC_SYNC_OPTIONS_INIT;
	so.transport = t;
	so.server_url = url;
	so.no_gzip = getpid() % 2; /* both encodings */
	so.photo_chunk_bytes = 4096; /* many chunks: kills land in the middle of photos */
	for (;;) {
		fic_sync_report rep = FIC_SYNC_REPORT_INIT;
		fic_sync_push(st, &so, &rep);
	}
}

static void a_client_killed_at_random_points_loses_and_doubles_nothing(void **state)
{
	e2e *f = *state;
	/* Real clocks here: the child process cannot share the fake one. */
	fic_store *st;
	fic_store_options o = FIC_STORE_OPTIONS_INIT;
	char *path = tu_path(f->dir, "killed.db");
	assert_int_equal(fic_store_open(&st, path, &o), FIC_OK);
	char code[32];
	assert_int_equal(county_issue_code(f->server, "石柱县", code, sizeof code), 0);
	assert_int_equal(fic_sync_enroll(st, &f->opts, code, NULL), FIC_OK);
	seed_kills("client");
	int kills = 0, total = 0, photos = 0;
	for (int round = 0; round < 24; round++) {
		/* More records arrive between the kills: sites and both kinds of lead. */
		char id[FIC_UUID_BUFSIZE];
		for (int i = 0; i < 30; i++, total++)
			assert_int_equal(tu_add_school(st, "一小", 300 + i), FIC_OK);
		assert_int_equal(fic_lead_file(id, st, "event.foodborne", tu_foodborne_answers, NULL, 0, 0), FIC_OK);
		assert_int_equal(fic_lead_file(id, st, "lead.tip_off", tu_tip_off_answers, NULL, 0, 0), FIC_OK);
		total += 2;
		/* And a photo of a new site (two records: the site, the photo's metadata). */
		fic_site water = FIC_SITE_INIT, *site;
		water.kind = FIC_SITE_WATER_RURAL;
		water.name = "村集中供水站";
		assert_int_equal(fic_site_add(&site, st, &water, "巡查发现"), FIC_OK);
		size_t jlen;
		unsigned char *jpg = tu_make_jpeg(320 + 8 * round, 240, 3, 0, 90, &jlen);
		assert_int_equal(fic_photo_add_buffer(id, st, FIC_PHOTO_SITE, site->id, NULL, jpg, jlen,
		                                      NULL), FIC_OK);
		free(jpg);
		fic_site_free(site);
		total += 2;
		photos++;
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0)
			push_until_killed(path, f->url);
		/* Opening the store and a pass take a few ms: kill early, later, or late
		 * (in the photos), by turns. */
		static const int window_us[] = { 6000, 60000, 400000 };
		usleep((useconds_t)(kill_rand() % (int)(window_us[round % 3] * tu_time_scale())));
		kill(pid, SIGKILL);
		int ws;
		waitpid(pid, &ws, 0);
		if (WIFSIGNALED(ws))
			kills++;
		printf("# round %d: killed after %d of %d records and %d of %d photos reached the "
		       "server\n", round, (int)e2e_held(f->server), total, (int)county_photo_count(f->server),
		       photos);
	}
	assert_true(kills >= 20);
	/* Then a clean pass finishes what is left. */
	fic_sync_report rep = FIC_SYNC_REPORT_INIT;
	int rc = fic_sync_push(st, &f->opts, &rep);
	if (rc != FIC_OK)
		fail_msg("%s", fic_error_last()->message);
	assert_int_equal(e2e_held(f->server), total);
	/* Every record is acknowledged, with the very receipt the server holds. */
	int64_t rows = e2e_acked_with_receipts(st, f->server);
	assert_int_equal(rows, total);
	/* Every photo whole on the server, its hash verified; none left to send. */
	assert_int_equal(county_photo_count(f->server), photos);
	assert_int_equal(county_photo_bad(f->server), 0);
	assert_int_equal(rep.photos_pending, 0);
	assert_int_equal(county_chain_breaks(f->server, NULL), 0);
	assert_int_equal(fic_evidence_verify(NULL, st), FIC_OK);
	fic_store_close(st);
	free(path);
}

/* ---- the server killed and restarted (the real program, in its own process) ---- */
static pid_t start_server(const char *db, int port)
{
	char listen_at[32];
	snprintf(listen_at, sizeof listen_at, "127.0.0.1:%d", port);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		freopen("/dev/null", "w", stderr);
		execl(FIC_COUNTY_SERVER_BIN, "fic-county-server", "--db", db, "--listen", listen_at,
		      (char *)NULL);
		_exit(127);
	}
	/* Ready when it accepts a connection. */
	for (int i = 0; i < 200; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
			                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		int ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
		close(fd);
		if (ok)
			return pid;
		usleep(10000);
	}
	fail_msg("the server did not start");
	return -1;
}

static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof a;
	bind(fd, (struct sockaddr *)&a, sizeof a);
	getsockname(fd, (struct sockaddr *)&a, &al);
	close(fd);
	return ntohs(a.sin_port);
}

typedef struct killer {
	pid_t pid;
	useconds_t after;
} killer;

static void *kill_later(void *arg)
{
	killer *k = arg;
	usleep(k->after);
	kill(k->pid, SIGKILL);
	return NULL;
}

static void a_server_killed_mid_push_loses_and_doubles_nothing(void **state)
{
	e2e *f = *state;
	char *db = tu_path(f->dir, "county-proc.db");
	int port = free_port();
	pid_t server = start_server(db, port);
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
	fic_sync_options so = f->opts;
	so.server_url = url;
	so.photo_chunk_bytes = 4096; /* deaths land in the middle of photos too */

	fic_store *st;
	fic_store_options o = FIC_STORE_OPTIONS_INIT;
	char *path = tu_path(f->dir, "device.db");
	assert_int_equal(fic_store_open(&st, path, &o), FIC_OK);
	/* Enrol through the program's admin command. */
	char cmd[600], code[32] = "";
	/* The county's first code makes its sealing key (the private half in
	 * --keys, never in the database); the server itself runs without it. */
	snprintf(cmd, sizeof cmd, "'%s' --db '%s' --keys '%s' issue-code 石柱县", FIC_COUNTY_SERVER_BIN,
	         db, f->keys);
	FILE *p = popen(cmd, "r");
	assert_non_null(fgets(code, sizeof code, p));
	pclose(p);
	code[strcspn(code, "\n")] = '\0';
	assert_int_equal(fic_sync_enroll(st, &so, code, NULL), FIC_OK);

	seed_kills("server");
	int total = 0, failed = 0, photos = 0;
	for (int round = 0; round < 12; round++) {
		char id[FIC_UUID_BUFSIZE];
		for (int i = 0; i < 40; i++, total++)
			assert_int_equal(tu_add_school(st, "二小", i + 1), FIC_OK);
		assert_int_equal(fic_lead_file(id, st, "event.foodborne", tu_foodborne_answers, NULL, 0,
		                               FIC_LEAD_DRAFT), FIC_OK);
		size_t jlen;
		unsigned char *jpg = tu_make_jpeg(400 + 8 * round, 300, 3, 0, 90, &jlen);
		char pid[FIC_UUID_BUFSIZE];
		assert_int_equal(fic_photo_add_buffer(pid, st, FIC_PHOTO_LEAD, id, NULL, jpg, jlen, NULL),
		                 FIC_OK);
		free(jpg);
		assert_int_equal(fic_lead_submit(st, id), FIC_OK);
		total += 2; /* the lead and its photo's record */
		photos++;
		killer k = { server, (useconds_t)(kill_rand() % (round % 2 ? 20000 : 150000)) };
		pthread_t th;
		pthread_create(&th, NULL, kill_later, &k);
		fic_sync_report rep = FIC_SYNC_REPORT_INIT;
		int rc = fic_sync_push(st, &so, &rep);
		pthread_join(th, NULL);
		waitpid(server, NULL, 0);
		if (rc != FIC_OK) {
			assert_int_equal(rc, FIC_ENETWORK);
			failed++;
		}
		/* The network is back: retry now rather than after the backoff. */
		assert_int_equal(fic_sync_network_changed(st, 1), FIC_OK);
		server = start_server(db, port);
	}
	fic_sync_report rep = FIC_SYNC_REPORT_INIT;
	int rc = fic_sync_push(st, &so, &rep);
	if (rc != FIC_OK)
		fail_msg("%s", fic_error_last()->message);
	kill(server, SIGTERM);
	waitpid(server, NULL, 0);
	printf("# %d pushes, %d cut short by the server's death\n", 12, failed);

	/* What the server committed survived its deaths: each record once, the same receipts. */
	county_server *cs;
	char err[200];
	assert_int_equal(county_open(&cs, db, err, sizeof err), 0);
	assert_int_equal(e2e_held(cs), total);
	int64_t rows = e2e_acked_with_receipts(st, cs);
	assert_int_equal(rows, total);
	/* Every photo whole, verified, and none partial left on the device's queue. */
	assert_int_equal(rep.photos_pending, 0);
	assert_int_equal(county_photo_count(cs), photos);
	assert_int_equal(county_photo_bad(cs), 0);
	assert_int_equal(county_chain_breaks(cs, NULL), 0);
	county_close(cs);
	fic_store_close(st);
	free(path);
	free(db);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, e2e_setup, e2e_teardown)
	const struct CMUnitTest tests[] = {
		T(a_client_killed_at_random_points_loses_and_doubles_nothing),
		T(a_server_killed_mid_push_loses_and_doubles_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
