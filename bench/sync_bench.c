/*
 * bench/sync_bench.c — does an urgent lead get through a bad link first, and
 * do photos still use the link?
 *
 * Part 1. The reference county server runs on loopback behind the userspace
 * link emulator (tests/support/linkproxy.h: by default 384 kbit/s each way,
 * 300 ms RTT, 2 % segment loss modelled as a late retransmission with
 * head-of-line blocking, a 16 KiB bottleneck queue; one link per direction
 * shared by all connections, as a phone's radio link is). The phone has 50
 * photos of 300 KB queued (incompressible bytes, as JPEG is). While a sender
 * is uploading them, the app files an urgent lead (a foodborne-disease
 * report, two-hour rule) from another thread and another store handle, at a
 * random moment (1-4 s after the previous one); we time from just before
 * fic_lead_file() to the moment the server holds the lead (its database is
 * polled every 5 ms), --runs times. Meanwhile a sampler adds up the photo
 * bytes the server holds every 250 ms: the photo throughput, as a fraction
 * of the link's rate, in 5-second windows from the first lead to the last.
 * Three senders, each on a fresh server and phone:
 *   - fieldinspect's engine (fic_sync_push in a loop, as the app runs it);
 *   - records first, then photos, each photo whole (in pieces of 256 KiB,
 *     the server's limit, back to back), the records checked again between
 *     photos: the simple design a careful engineer would write
 *     (--first-runs);
 *   - first in, first out, each item whole, as ODK Collect sends: every
 *     photo queued before the lead goes first (--fifo-runs; minutes).
 * Targets for the engine: the lead received within 1.5 s (median) and 2.5 s
 * (worst) of 20 runs; photos at >= 0.85 of the link's rate (the median's 95 %
 * interval over the windows, bench_stats.h). Wall time: waiting is the point.
 *
 * Part 2. What a new connection costs on that link (--handshakes pairs,
 * interleaved): a request on a fresh connection with a full TLS handshake,
 * with the TLS session resumed (libcurl's session cache, shared), and on a
 * kept-alive connection.
 *
 * Part 3. Protocol overhead for a day's patrol: 12 sites found, 6 field
 * water tests, 4 leads (2 urgent) with a photo each and 16 more photos, sent
 * through the emulator (unshaped) so every byte both ways is counted; over
 * the payload (the records' JSON as stored, plus the photo renditions).
 *
 *   sync_bench [--runs N] [--first-runs N] [--fifo-runs N] [--handshakes N]
 *              [--photos N] [--photo-kb K] [--rate BPS] [--rtt MS] [--loss P]
 *              [--chunk BYTES] [--plain] [--quick]
 *
 * Over HTTPS by default (the reference server with a test certificate made
 * by the openssl tool, the device trusting it), as a county would run it;
 * --plain for HTTP. --chunk fixes the engine's photo chunk (0: its own).
 * --quick (what ctest runs) shrinks everything so the program is checked to
 * work, not measured.
 */
#include "bench_stats.h"
#include "county.h"
#include "internal.h"
#include "linkproxy.h"
#include "sync_internal.h"
#include "testutil.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TARGET_MEDIAN_S 1.5
#define TARGET_WORST_S 2.5
#define TARGET_LINK_SHARE 0.85
#define WINDOW_MS 10000
#define MAX_SAMPLES 20000
#define MAX_RUNS 200

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static void die(const char *what)
{
	fprintf(stderr, "sync_bench: %s: %s\n", what, fic_error_last()->message);
	exit(1);
}

typedef struct config {
	bool tls; /* HTTPS (the server with a test certificate, the device trusting it) */
	int runs, first_runs, fifo_runs, handshakes, photos, photo_kb;
	int64_t rate;
	int rtt;
	double loss;
	size_t chunk; /* 0: the engine's own choice */
	bool quick;
} config;

typedef struct world {
	char *dir;
	county_server *server;
	tu_link *link;
	char url[64];
	fic_store *sync_store, *app_store;
	fic_transport *transport;
	fic_sync_options opts;
} world;

static char *read_text(const char *path)
{
	FILE *fp = fopen(path, "rb");
	char *buf = calloc(1, 65536);
	size_t n = fp && buf ? fread(buf, 1, 65535, fp) : 0;
	if (fp)
		fclose(fp);
	if (buf == NULL || n == 0) {
		fprintf(stderr, "sync_bench: cannot read %s\n", path);
		exit(1);
	}
	return buf;
}

static void world_open(world *w, const config *c, bool shaped, const char *tag)
{
	memset(w, 0, sizeof *w);
	w->dir = tu_mkdtemp();
	char err[300], *p = tu_path(w->dir, "county.db");
	char *cert = NULL, *key = NULL, ca[4200] = "";
	if (c->tls) {
		/* A test certificate for 127.0.0.1, made with the openssl tool. */
		char cmd[5000];
		snprintf(cmd, sizeof cmd,
		         "cd '%s' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
		         "-nodes -subj /CN=county -addext subjectAltName=IP:127.0.0.1 -days 2 "
		         "-keyout key.pem -out cert.pem >/dev/null 2>&1", w->dir);
		if (system(cmd) != 0) {
			fprintf(stderr, "sync_bench: cannot make a test certificate (openssl)\n");
			exit(1);
		}
		snprintf(ca, sizeof ca, "%s/cert.pem", w->dir);
		char kp[4200];
		snprintf(kp, sizeof kp, "%s/key.pem", w->dir);
		cert = read_text(ca);
		key = read_text(kp);
	}
	char *keys = tu_path(w->dir, "county-keys"); /* the county's sealing keys */
	if (county_open(&w->server, p, err, sizeof err) != 0 ||
	    county_set_key_dir(w->server, keys, err, sizeof err) != 0 ||
	    county_listen_tls(w->server, "127.0.0.1:0", cert, key, err, sizeof err) != 0) {
		fprintf(stderr, "sync_bench: %s\n", err);
		exit(1);
	}
	free(cert);
	free(key);
	free(keys);
	free(p);
	tu_link_options lo = { .upstream_port = county_port(w->server) };
	if (shaped) {
		lo.rate_bps = c->rate;
		lo.delay_ms = c->rtt / 2;
		lo.loss = c->loss;
		lo.seed = (uint32_t)now_ms();
	}
	if (tu_link_start(&w->link, &lo) != 0) {
		fprintf(stderr, "sync_bench: cannot start the link emulator\n");
		exit(1);
	}
	snprintf(w->url, sizeof w->url, "%s://127.0.0.1:%d", c->tls ? "https" : "http",
	         tu_link_port(w->link));
	p = tu_path(w->dir, "phone.db");
	fic_store_options so = FIC_STORE_OPTIONS_INIT;
	so.actor = tag;
	if (fic_store_open(&w->sync_store, p, &so) != FIC_OK ||
	    fic_store_open(&w->app_store, p, &so) != FIC_OK)
		die("store");
	free(p);
	fic_curl_options co = FIC_CURL_OPTIONS_INIT;
	co.ca_file = c->tls ? ca : NULL;
	if (fic_transport_curl_new(&w->transport, &co) != FIC_OK)
		die("transport");
	w->opts = (fic_sync_options)FIC_SYNC_OPTIONS_INIT;
	w->opts.transport = w->transport;
	w->opts.server_url = w->url;
	w->opts.photo_chunk_bytes = c->chunk;
	w->opts.low_speed_time_ms = 60000;
	w->opts.total_timeout_ms = 600000;
	char code[32];
	county_issue_code(w->server, "石柱县", code, sizeof code);
	if (fic_sync_enroll(w->sync_store, &w->opts, code, "bench") != FIC_OK)
		die("enrol");
}

static void world_close(world *w)
{
	fic_transport_curl_free(w->transport);
	fic_store_close(w->app_store);
	fic_store_close(w->sync_store);
	tu_link_stop(w->link);
	county_close(w->server);
	tu_rmtree(w->dir);
	free(w->dir);
}

/* Queue `n` photo files of `kb` KB as the core queues renditions. */
static void queue_photos(world *w, int n, int kb)
{
	char dir[4200];
	snprintf(dir, sizeof dir, "%s.photos", w->sync_store->path);
	mkdir(dir, 0700);
	size_t len = (size_t)kb * 1000;
	unsigned char *buf = malloc(len);
	for (int i = 0; i < n; i++) {
		RAND_bytes(buf, (int)len);
		buf[0] = 0xFF, buf[1] = 0xD8; /* it might as well look like a JPEG */
		unsigned char md[32];
		unsigned int ml;
		EVP_Digest(buf, len, md, &ml, EVP_sha256(), NULL);
		char sha[65], path[4400];
		for (int k = 0; k < 32; k++)
			snprintf(sha + 2 * k, 3, "%02x", md[k]);
		snprintf(path, sizeof path, "%s/%s.jpg", dir, sha);
		if (tu_write_file(path, buf, len) != 0) {
			fprintf(stderr, "sync_bench: cannot write %s\n", path);
			exit(1);
		}
		char sql[300];
		snprintf(sql, sizeof sql, "INSERT INTO uploads (sha256, bytes, created_at_ms) "
		         "VALUES ('%s', %zu, %lld)", sha, len, (long long)(now_ms() + i));
		if (sqlite3_exec(w->sync_store->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
			fprintf(stderr, "sync_bench: cannot queue a photo\n");
			exit(1);
		}
	}
	free(buf);
}


/* ---- what the server holds: photo bytes over time ---- */

typedef struct sampler {
	char root[4300];   /* the server's photo folder */
	volatile int stop;
	pthread_t th;
	int n;
	int64_t t[MAX_SAMPLES], bytes[MAX_SAMPLES];
} sampler;

/* Bytes in the server's photo files (partial and whole), every county. */
static int64_t held_bytes(const char *root)
{
	int64_t total = 0;
	DIR *d = opendir(root);
	struct dirent *e;
	while (d && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char sub[4600];
		snprintf(sub, sizeof sub, "%s/%s", root, e->d_name);
		DIR *f = opendir(sub);
		struct dirent *g;
		while (f && (g = readdir(f)) != NULL) {
			char path[4900];
			struct stat st;
			snprintf(path, sizeof path, "%s/%s", sub, g->d_name);
			if (g->d_name[0] != '.' && stat(path, &st) == 0 && S_ISREG(st.st_mode))
				total += (int64_t)st.st_size;
		}
		if (f)
			closedir(f);
	}
	if (d)
		closedir(d);
	return total;
}

static void *sampler_main(void *arg)
{
	sampler *s = arg;
	while (!s->stop && s->n < MAX_SAMPLES) {
		s->t[s->n] = now_ms();
		s->bytes[s->n] = held_bytes(s->root);
		s->n++;
		sleep_ms(250);
	}
	return NULL;
}

/* The sample at or just before t. */
static int sample_at(const sampler *s, int64_t t)
{
	int i = 0;
	while (i + 1 < s->n && s->t[i + 1] <= t)
		i++;
	return i;
}

/* Photo bytes from t0 to t1 as a fraction of the link's rate (the server
 * writes a chunk when it has arrived whole: long spans, few edges). */
static double link_share(const sampler *s, int64_t t0, int64_t t1, int64_t rate)
{
	int i = sample_at(s, t0), j = sample_at(s, t1);
	if (j <= i || s->t[j] <= s->t[i])
		return NAN;
	return (double)(s->bytes[j] - s->bytes[i]) * 8 / ((double)(s->t[j] - s->t[i]) / 1000.0) / (double)rate;
}

/* The same per WINDOW_MS window from t0 to t1: the spread. */
static int link_shares(const sampler *s, int64_t t0, int64_t t1, int64_t rate, double *out, int max)
{
	int n = 0, i = 0;
	for (int64_t w = t0; w + WINDOW_MS <= t1 && n < max; w += WINDOW_MS) {
		while (i + 1 < s->n && s->t[i + 1] <= w)
			i++;
		int j = i;
		while (j + 1 < s->n && s->t[j + 1] <= w + WINDOW_MS)
			j++;
		if (j == i || s->t[j] <= s->t[i])
			break;
		double secs = (double)(s->t[j] - s->t[i]) / 1000.0;
		out[n++] = (double)(s->bytes[j] - s->bytes[i]) * 8 / secs / (double)rate;
	}
	return n;
}

/* ---- the senders ---- */

typedef struct syncer {
	world *w;
	fic_cancel *stop; /* raised at the end: stops the loop and the exchange under way */
	pthread_t th;
} syncer;

/* fieldinspect's engine, as the app would run it. */
static void *priority_loop(void *arg)
{
	syncer *s = arg;
	s->w->opts.cancel = s->stop;
	while (!fic_cancel_requested(s->stop)) {
		fic_sync_report rep = FIC_SYNC_REPORT_INIT;
		int rc = fic_sync_push(s->w->sync_store, &s->w->opts, &rep);
		if (rc == FIC_OK && rep.pending == 0 && rep.photos_pending == 0)
			sleep_ms(20); /* nothing to do: the app would wait for a change */
		else if (rc == FIC_ENETWORK)
			fic_sync_network_changed(s->w->sync_store, 1), sleep_ms(50);
		else if (rc != FIC_OK && rc != FIC_ECANCELED)
			fprintf(stderr, "sync_bench: push: %s\n", fic_error_last()->message);
	}
	return NULL;
}

/* One request through the world's transport; the status, or -1 on failure. */
static int exchange(world *w, const char *method, const char *path, fic_http_header *h, size_t nh,
                    const void *body, size_t len, fic_cancel *stop, fic_http_response *r)
{
	char url[300];
	snprintf(url, sizeof url, "%s%s", w->url, path);
	fic_http_request q = { .version = FIC_TRANSPORT_VERSION, .method = method, .url = url, .headers = h, .header_count = nh,
		               .body = body, .body_len = len, .total_timeout_ms = 600000,
		               .low_speed_time_ms = 60000, .max_response_bytes = 1 << 20,
		               .cancel = stop };
	if (w->transport->request(w->transport->ctx, &q, r) != FIC_OK)
		return -1;
	return r->status;
}

/* A photo whole: PATCH pieces of the server's largest chunk, back to back. */
static void send_whole(world *w, const char *auth, const char *sha, int64_t bytes, fic_cancel *stop)
{
	char path[4400], url[200], len_s[24];
	snprintf(path, sizeof path, "%s.photos/%s.jpg", w->sync_store->path, sha);
	snprintf(url, sizeof url, "/v1/photos/%s", sha);
	snprintf(len_s, sizeof len_s, "%lld", (long long)bytes);
	unsigned char *buf = malloc((size_t)bytes);
	FILE *fp = fopen(path, "rb");
	if (buf == NULL || fp == NULL || fread(buf, 1, (size_t)bytes, fp) != (size_t)bytes)
		die("read photo");
	fclose(fp);
	for (int64_t off = 0; off < bytes && !fic_cancel_requested(stop);) {
		int64_t n = bytes - off > COUNTY_MAX_CHUNK ? COUNTY_MAX_CHUNK : bytes - off;
		char off_s[24];
		snprintf(off_s, sizeof off_s, "%lld", (long long)off);
		fic_http_header h[4] = { { "Authorization", auth }, { "Upload-Offset", off_s },
			                 { "Upload-Length", len_s },
			                 { "Content-Type", "application/offset+octet-stream" } };
		fic_http_response r;
		int st = exchange(w, "PATCH", url, h, 4, buf + off, (size_t)n, stop, &r);
		if (st < 0) {
			sleep_ms(100);
			continue; /* resend this piece */
		}
		fic_free(r.body);
		if (st == 204 || st == 201)
			off += n;
	}
	free(buf);
	char sql[200];
	snprintf(sql, sizeof sql, "UPDATE uploads SET state = 'done' WHERE sha256 = '%s'", sha);
	sqlite3_exec(w->sync_store->db, sql, NULL, NULL, NULL);
}

/* The oldest pending photo, or false. */
static bool oldest_photo(world *w, char sha[65], int64_t *bytes)
{
	sqlite3_stmt *st;
	bool found = false;
	sqlite3_prepare_v2(w->sync_store->db, "SELECT sha256, bytes FROM uploads WHERE state = "
	                   "'pending' ORDER BY created_at_ms LIMIT 1", -1, &st, NULL);
	if (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(sha, 65, "%s", (const char *)sqlite3_column_text(st, 0));
		*bytes = sqlite3_column_int64(st, 1);
		found = true;
	}
	sqlite3_finalize(st);
	return found;
}

/* Every due record, in the engine's own batches (urgent first), answers applied. */
static void send_records(world *w, const char *auth, fic_cancel *stop)
{
	for (;;) {
		fic__outbox_batch *b = NULL;
		int64_t now = fic__now_ms(w->sync_store);
		if (fic__outbox_next_batch(w->sync_store, now, 500, 1 << 20, &b) != FIC_OK || b == NULL)
			return;
		unsigned char *body = NULL;
		size_t len = 0;
		fic_http_header h[3] = { { "Authorization", auth }, { "Content-Type", "application/json" },
			                 { "Content-Encoding", "gzip" } };
		fic_http_response r;
		int st = fic__wire_encode_batch(b, true, &body, &len) == FIC_OK
		                 ? exchange(w, "POST", "/v1/records", h, 3, body, len, stop, &r)
		                 : -1;
		fic__free(body);
		fic__record_result *res = NULL;
		if (st == 200 && fic__wire_parse_results((const char *)r.body, r.body_len, b, &res) == FIC_OK) {
			fic__outbox_apply_batch(w->sync_store, b, res, now, 0, NULL);
			fic__wire_results_free(res, b->count);
		}
		if (st >= 0)
			fic_free(r.body);
		fic__outbox_batch_free(b);
		if (st != 200 || fic_cancel_requested(stop))
			return;
	}
}

/* Records first, then one photo whole; again. */
static void *first_loop(void *arg)
{
	syncer *s = arg;
	char auth[200], sha[65];
	if (fic__sync_auth(s->w->sync_store, &s->w->opts, auth, sizeof auth) != FIC_OK)
		die("auth");
	while (!fic_cancel_requested(s->stop)) {
		send_records(s->w, auth, s->stop);
		int64_t bytes;
		if (oldest_photo(s->w, sha, &bytes))
			send_whole(s->w, auth, sha, bytes, s->stop);
		else
			sleep_ms(20);
	}
	return NULL;
}

/* FIFO, as ODK Collect sends: the photos were queued before the lead, so they
 * all go first, each whole; then the records, the lead among them. */
static void *fifo_loop(void *arg)
{
	syncer *s = arg;
	char auth[200], sha[65];
	if (fic__sync_auth(s->w->sync_store, &s->w->opts, auth, sizeof auth) != FIC_OK)
		die("auth");
	int64_t bytes;
	while (!fic_cancel_requested(s->stop) && oldest_photo(s->w, sha, &bytes))
		send_whole(s->w, auth, sha, bytes, s->stop);
	while (!fic_cancel_requested(s->stop)) {
		send_records(s->w, auth, s->stop);
		sleep_ms(20);
	}
	return NULL;
}

/* File an urgent lead on the app's handle; seconds until the server holds it. */
static double urgent_latency(world *w)
{
	char id[FIC_UUID_BUFSIZE];
	int64_t t0 = now_ms();
	if (fic_lead_file(id, w->app_store, "event.foodborne", tu_foodborne_answers, NULL, 0, 0) !=
	    FIC_OK)
		die("lead");
	for (;;) {
		if (county_received_at(w->server, id) > 0)
			return (double)(now_ms() - t0) / 1000.0;
		if (now_ms() - t0 > 1800 * 1000)
			return -1; /* not within half an hour */
		sleep_ms(5);
	}
}

/* ---- part 1 ---- */

typedef struct outcome {
	int n, nshares;
	double lat[MAX_RUNS], share[MAX_SAMPLES / 20];
	double overall; /* photo bytes over the whole span, as a fraction of the link's rate */
	double secs;
} outcome;

/* One sender on a fresh world: `runs` leads at random moments, the photo share meanwhile. */
static void run_sender(const config *c, const char *name, void *(*loop)(void *), int runs, outcome *o)
{
	world w;
	world_open(&w, c, true, name);
	queue_photos(&w, c->photos, c->photo_kb);
	static sampler smp;
	memset(&smp, 0, sizeof smp);
	snprintf(smp.root, sizeof smp.root, "%s/county.db.photos", w.dir);
	syncer s = { .w = &w };
	if (fic_cancel_new(&s.stop) != FIC_OK)
		die("fic_cancel_new");
	pthread_create(&smp.th, NULL, sampler_main, &smp);
	pthread_create(&s.th, NULL, loop, &s);
	unsigned seed = (unsigned)now_ms();
	sleep_ms(c->quick ? 500 : 3000); /* the photos are flowing */
	int64_t t0 = now_ms();
	o->n = runs;
	for (int i = 0; i < runs; i++) {
		sleep_ms(c->quick ? 100 : 1000 + rand_r(&seed) % 3000); /* a random moment */
		o->lat[i] = urgent_latency(&w);
		printf("  %s run %2d: %.2f s\n", name, i + 1, o->lat[i]);
		fflush(stdout);
	}
	int64_t t1 = now_ms();
	fic_cancel_request(s.stop);
	pthread_join(s.th, NULL);
	fic_cancel_free(s.stop);
	smp.stop = 1;
	pthread_join(smp.th, NULL);
	o->nshares = link_shares(&smp, t0, t1, c->rate, o->share, MAX_SAMPLES / 20);
	o->overall = link_share(&smp, t0, t1, c->rate);
	o->secs = (double)(t1 - t0) / 1000.0;
	int64_t pending = 0, urgent = 0;
	fic__upload_counts(w.sync_store, &pending, &urgent);
	if (pending == 0)
		printf("  (%s: the photos ran out before the last lead: the share is understated)\n", name);
	world_close(&w);
}

static void print_outcome(const char *name, const outcome *o, bool judge)
{
	bs_summary lat = bs_summarise(o->lat, o->n), share = bs_summarise(o->share, o->nshares);
	printf("  %-30s lead received after %.2f s median, worst %.2f s, best %.2f s (%d runs)\n", name,
	       lat.median, lat.max, lat.min, o->n);
	printf("  %-30s photo bytes at %.3f of the link's rate over %.0f s (%d windows of %d s: %.2f-%.2f)\n",
	       "", o->overall, o->secs, o->nshares, WINDOW_MS / 1000, share.min, share.max);
	if (!judge)
		return;
	printf("    target: median <= %.1f s: %s; worst <= %.1f s: %s; photos >= %.2f of the link: %s\n",
	       TARGET_MEDIAN_S, lat.median <= TARGET_MEDIAN_S ? "MET" : "NOT MET", TARGET_WORST_S,
	       lat.max <= TARGET_WORST_S ? "MET" : "NOT MET", TARGET_LINK_SHARE,
	       o->overall >= TARGET_LINK_SHARE ? "MET" : "NOT MET");
}

static void part1(const config *c)
{
	printf("== urgent lead under a backlog of %d photos of %d KB: %.0f kbit/s, %d ms RTT, %.1f %% "
	       "loss, one link shared by all connections, %s, photo chunks %s\n",
	       c->photos, c->photo_kb, c->rate / 1000.0, c->rtt, c->loss * 100,
	       c->tls ? "HTTPS" : "plain HTTP", c->chunk ? "fixed" : "the engine's own");
	static outcome ours, first, fifo;
	run_sender(c, "fieldinspect", priority_loop, c->runs, &ours);
	if (c->first_runs)
		run_sender(c, "records first, photos whole", first_loop, c->first_runs, &first);
	if (c->fifo_runs)
		run_sender(c, "FIFO (ODK-style)", fifo_loop, c->fifo_runs, &fifo);
	printf("-- creation to receipt by the server, and the photos meanwhile:\n");
	print_outcome("fieldinspect (priority)", &ours, !c->quick);
	if (c->first_runs)
		print_outcome("records first, photos whole", &first, false);
	if (c->fifo_runs)
		print_outcome("FIFO (ODK-style)", &fifo, false);
}

/* ---- part 2: what a new connection costs ---- */

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

/* One GET on `e`; seconds, or NaN. */
static double timed_get(CURL *e, const char *url, const char *ca, CURLSH *share, bool fresh)
{
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, fresh ? 1L : 0L);
	if (ca)
		curl_easy_setopt(e, CURLOPT_CAINFO, ca);
	if (share)
		curl_easy_setopt(e, CURLOPT_SHARE, share);
	double t0 = bs_wall_ms();
	if (curl_easy_perform(e) != CURLE_OK)
		return NAN;
	return (bs_wall_ms() - t0) / 1000.0;
}

static void part_handshake(const config *c)
{
	printf("\n== a request on a fresh connection vs a kept-alive one (%s), %d interleaved rounds\n",
	       c->tls ? "HTTPS" : "plain HTTP", c->handshakes);
	world w;
	world_open(&w, c, true, "bench-handshake");
	char url[200], ca[4300];
	snprintf(url, sizeof url, "%s/v1/feeds/none", w.url);
	snprintf(ca, sizeof ca, "%s/cert.pem", w.dir);
	CURLSH *share = curl_share_init();
	curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	CURL *kept = curl_easy_init();
	timed_get(kept, url, c->tls ? ca : NULL, NULL, false); /* its connection */
	double full[MAX_RUNS], resumed[MAX_RUNS], alive[MAX_RUNS];
	CURL *prime = curl_easy_init();
	timed_get(prime, url, c->tls ? ca : NULL, share, true); /* a session in the cache */
	curl_easy_cleanup(prime);
	for (int i = 0; i < c->handshakes; i++) {
		CURL *a = curl_easy_init(), *b = curl_easy_init();
		full[i] = timed_get(a, url, c->tls ? ca : NULL, NULL, true);
		resumed[i] = timed_get(b, url, c->tls ? ca : NULL, share, true);
		alive[i] = timed_get(kept, url, c->tls ? ca : NULL, NULL, false);
		curl_easy_cleanup(a);
		curl_easy_cleanup(b);
	}
	curl_easy_cleanup(kept);
	curl_share_cleanup(share);
	bs_summary f = bs_summarise(full, c->handshakes), r = bs_summarise(resumed, c->handshakes),
		   k = bs_summarise(alive, c->handshakes);
	printf("  fresh connection, full handshake:     %.2f s [%.2f-%.2f]\n", f.median, f.min, f.max);
	if (c->tls)
		printf("  fresh connection, TLS session resumed: %.2f s [%.2f-%.2f]\n", r.median, r.min, r.max);
	printf("  kept-alive connection:                %.2f s [%.2f-%.2f]\n", k.median, k.min, k.max);
	world_close(&w);
}

/* ---- part 3: a day's patrol, bytes on the wire over payload ---- */

static void photo_for(world *w, int owner, const char *owner_id, int i)
{
	size_t len;
	unsigned char *jpg = tu_make_jpeg(2000 + 16 * i, 1500, 3, 0, 92, &len);
	char pid[FIC_UUID_BUFSIZE];
	if (jpg == NULL || fic_photo_add_buffer(pid, w->app_store, owner, owner_id, NULL, jpg, len,
	                                        NULL) != FIC_OK)
		die("photo");
	free(jpg);
}

static int64_t scalar(fic_store *s, const char *sql)
{
	sqlite3_stmt *st;
	int64_t v = 0;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void part2(const config *c, bool quick)
{
	printf("\n== protocol overhead for a day's patrol\n");
	world w;
	world_open(&w, c, false, "bench-day");
	tu_link_stats before;
	tu_link_stats_get(w.link, &before);
	int nsites = quick ? 3 : 12, ntests = quick ? 2 : 6, nphotos = quick ? 2 : 16;
	char site_ids[12][FIC_UUID_BUFSIZE];
	for (int i = 0; i < nsites; i++) {
		fic_site s = FIC_SITE_INIT, *out;
		char name[64];
		snprintf(name, sizeof name, "石桥村第%d集中供水站", i + 1);
		s.kind = FIC_SITE_WATER_RURAL;
		s.name = name;
		s.address = "青杠镇石桥村";
		s.has_location = 1;
		s.lat = 29.56 + i * 0.001;
		s.lon = 106.55;
		if (fic_site_add(&out, w.app_store, &s, "巡查发现") != FIC_OK)
			die("site");
		snprintf(site_ids[i], sizeof site_ids[i], "%s", out->id);
		fic_site_free(out);
	}
	static const char *const answers[][2] = {
		{ "sample_point", "outlet" }, { "disinfectant", "free_chlorine" },
		{ "colour_or_matter", "no" }, { "odour", "no" }, { "ph", "7.2" }, { "residual", "0.5" },
	};
	for (int i = 0; i < ntests; i++) {
		char insp[FIC_UUID_BUFSIZE];
		if (fic_inspection_start(insp, w.app_store, site_ids[i], "water.field_test") != FIC_OK)
			die("inspection");
		for (size_t k = 0; k < sizeof answers / sizeof answers[0]; k++)
			if (fic_inspection_answer(w.app_store, insp, answers[k][0], answers[k][1]) != FIC_OK)
				die("answer");
		if (fic_inspection_finish(NULL, w.app_store, insp) != FIC_OK)
			die("finish");
	}
	for (int i = 0; i < 4; i++) {
		char lead[FIC_UUID_BUFSIZE];
		if (fic_lead_file(lead, w.app_store, i < 2 ? "event.foodborne" : "lead.tip_off",
		                  i < 2 ? tu_foodborne_answers : tu_tip_off_answers, NULL, 0,
		                  FIC_LEAD_DRAFT) != FIC_OK)
			die("lead");
		photo_for(&w, FIC_PHOTO_LEAD, lead, i);
		if (fic_lead_submit(w.app_store, lead) != FIC_OK)
			die("submit");
	}
	for (int i = 0; i < nphotos; i++)
		photo_for(&w, FIC_PHOTO_SITE, site_ids[i % nsites], 4 + i);
	int64_t records = scalar(w.sync_store, "SELECT count(*) FROM outbox WHERE state = 'pending'");
	int64_t record_bytes =
		scalar(w.sync_store, "SELECT sum(length(CAST(payload AS BLOB))) FROM outbox "
		                     "WHERE state = 'pending'");
	/* The audit log's entries go too, as the engine encodes them. */
	int64_t audit = scalar(w.sync_store, "SELECT count(*) FROM audit");
	int64_t audit_bytes = scalar(
		w.sync_store,
		"SELECT sum(length(CAST(json_object('seq', seq, 'at_ms', at_ms, 'mono_ms', mono_ms, "
		"'boot_id', boot_id, 'trusted_ms', trusted_ms, 'time_flags', time_flags, 'actor', actor, "
		"'action', action, 'entity', entity, 'entity_id', entity_id, 'detail', json(detail)) "
		"AS BLOB))) FROM audit");
	records += audit;
	record_bytes += audit_bytes;
	int64_t photos = scalar(w.sync_store, "SELECT count(*) FROM uploads");
	int64_t photo_bytes = scalar(w.sync_store, "SELECT sum(bytes) FROM uploads");
	fic_sync_report rep = FIC_SYNC_REPORT_INIT;
	if (fic_sync_run(w.sync_store, &w.opts, &rep) != FIC_OK)
		die("sync");
	tu_link_stats after;
	tu_link_stats_get(w.link, &after);
	int64_t up = after.up_bytes - before.up_bytes, down = after.down_bytes - before.down_bytes;
	int64_t payload = record_bytes + photo_bytes, wire = up + down;
	/* TCP/IP headers: 52 bytes (IPv4 20 + TCP 20 + timestamps 12) per ≤ 1448-byte segment each
	 * way, plus about one ACK (52 bytes) per two segments the other way. */
	int64_t segs = (up + 1447) / 1448 + (down + 1447) / 1448;
	int64_t tcpip = segs * 52 + (segs / 2) * 52;
	printf("  %lld records incl. %lld audit entries (%lld bytes of JSON), %lld photos (%lld bytes "
	       "of renditions)\n", (long long)records, (long long)audit, (long long)record_bytes,
	       (long long)photos, (long long)photo_bytes);
	printf("  %lld requests; on the wire: %lld bytes up, %lld bytes down (%s, before TCP/IP)\n",
	       (long long)rep.requests, (long long)up, (long long)down,
	       c->tls ? "HTTPS: TLS handshake and records included" : "plain HTTP");
	printf("  payload %lld bytes, wire %lld bytes: protocol overhead %+.2f %% "
	       "(records are gzipped, so they cost less than their JSON)\n",
	       (long long)payload, (long long)wire, 100.0 * (double)(wire - payload) / (double)payload);
	printf("  i.e. %lld bytes of protocol per %lld bytes of photo = %.2f %%\n",
	       (long long)(wire - payload), (long long)photo_bytes,
	       100.0 * (double)(wire - payload) / (double)photo_bytes);
	printf("  with TCP/IP headers (estimated, %lld segments): overhead %+.2f %%\n",
	       (long long)segs, 100.0 * (double)(wire + tcpip - payload) / (double)payload);
	printf("   target: protocol overhead < 5 %%\n");
	world_close(&w);
}


static void usage(void)
{
	fprintf(stderr, "usage: sync_bench [--runs N] [--first-runs N] [--fifo-runs N] [--handshakes N] "
	                "[--photos N] [--photo-kb K] [--rate BPS] [--rtt MS] [--loss P] [--chunk BYTES] "
	                "[--plain] [--quick]\n");
	exit(2);
}

static void parse(config *c, int argc, char **argv)
{
	*c = (config){ .tls = true, .runs = 20, .first_runs = 10, .fifo_runs = 1, .handshakes = 9,
		       .photos = 50, .photo_kb = 300, .rate = 384000, .rtt = 300, .loss = 0.02 };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--quick") == 0) {
			*c = (config){ .tls = true, .runs = 2, .first_runs = 1, .fifo_runs = 0, .handshakes = 1,
				       .photos = 4, .photo_kb = 40, .rate = 4000000, .rtt = 20, .quick = true };
		} else if (strcmp(a, "--plain") == 0) {
			c->tls = false;
		} else if (v && strcmp(a, "--runs") == 0) {
			c->runs = atoi(v), i++;
		} else if (v && strcmp(a, "--first-runs") == 0) {
			c->first_runs = atoi(v), i++;
		} else if (v && strcmp(a, "--fifo-runs") == 0) {
			c->fifo_runs = atoi(v), i++;
		} else if (v && strcmp(a, "--handshakes") == 0) {
			c->handshakes = atoi(v), i++;
		} else if (v && strcmp(a, "--photos") == 0) {
			c->photos = atoi(v), i++;
		} else if (v && strcmp(a, "--photo-kb") == 0) {
			c->photo_kb = atoi(v), i++;
		} else if (v && strcmp(a, "--rate") == 0) {
			c->rate = atoll(v), i++;
		} else if (v && strcmp(a, "--rtt") == 0) {
			c->rtt = atoi(v), i++;
		} else if (v && strcmp(a, "--loss") == 0) {
			c->loss = atof(v), i++;
		} else if (v && strcmp(a, "--chunk") == 0) {
			c->chunk = (size_t)atol(v), i++;
		} else {
			usage();
		}
	}
	if (c->runs < 1 || c->runs > MAX_RUNS || c->first_runs < 0 || c->first_runs > MAX_RUNS ||
	    c->fifo_runs < 0 || c->fifo_runs > MAX_RUNS || c->handshakes < 1 || c->handshakes > MAX_RUNS ||
	    c->photos < 1 || c->photo_kb < 1 || c->rate <= 0 || c->rtt < 0 || c->loss < 0 || c->loss >= 1 ||
	    (c->chunk != 0 && (c->chunk < 1024 || c->chunk > 262144))) {
		fprintf(stderr, "sync_bench: an option is out of range\n");
		exit(2);
	}
}

int main(int argc, char **argv)
{
	config c;
	parse(&c, argc, argv);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	part1(&c);
	part_handshake(&c);
	part2(&c, c.quick);
	curl_global_cleanup();
	return 0;
}
