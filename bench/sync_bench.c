/*
 * bench/sync_bench.c — does an urgent lead get through a bad link first?
 *
 * Part 1, the urgent lead under a photo backlog. The reference county server
 * runs on loopback behind a userspace link emulator (tests/support/
 * linkproxy.h: by default 384 kbit/s each way, 300 ms RTT, 2 % segment loss
 * modelled as a late retransmission with head-of-line blocking, a 16 KiB
 * bottleneck queue). The phone has 50 photos of 300 KB queued (incompressible
 * bytes, as JPEG is, named by their SHA-256 as the core names renditions).
 * While the sync pass is uploading them, the app files an urgent lead (a
 * foodborne-disease report, two-hour rule) from another thread and another
 * store handle; we time from just before fic_lead_file() to the moment the
 * server holds the lead (its database is polled every 5 ms). Repeated
 * --runs times at random moments. Then the same for a first-in-first-out
 * sender — what ODK Collect does: each item whole, in the order it was
 * queued — on the same link with the same backlog (--fifo-runs, default 1,
 * since it takes minutes).
 *
 * Part 2, protocol overhead for a day's patrol: 12 sites found, 6 field
 * water tests, 4 leads (2 urgent) with a photo each and 16 more photos, sent
 * through the emulator (unshaped) so every byte both ways is counted; over
 * the payload (the records' JSON as stored, plus the photo renditions).
 *
 *   sync_bench [--runs N] [--fifo-runs N] [--photos N] [--photo-kb K]
 *              [--rate BPS] [--rtt MS] [--loss P] [--chunk BYTES] [--plain] [--quick]
 *
 * Over HTTPS by default (the reference server with a test certificate made
 * by the openssl tool, the device trusting it), as a county would run it;
 * --plain for HTTP.
 *
 * --quick (what ctest runs) shrinks everything so the program is checked to
 * work, not measured.
 */
#include "county.h"
#include "internal.h"
#include "linkproxy.h"
#include "sync_internal.h"
#include "testutil.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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
	int runs, fifo_runs, photos, photo_kb;
	int64_t rate;
	int rtt;
	double loss;
	size_t chunk;
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

/* ---- the sync thread: the engine, as the app would run it ---- */

typedef struct syncer {
	world *w;
	volatile int stop;
	fic_cancel *cancel; /* raised with stop: ends an exchange under way */
	bool fifo;
	pthread_t th;
} syncer;

static void *priority_loop(void *arg)
{
	syncer *s = arg;
	s->w->opts.cancel = s->cancel;
	while (!s->stop) {
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

/*
 * FIFO, as ODK Collect sends: every queued item whole, oldest first, the
 * next only when the previous is done. The photos were queued before the
 * lead, so they all go first; then the records (the lead among them).
 */
static void *fifo_loop(void *arg)
{
	syncer *s = arg;
	world *w = s->w;
	char auth[200];
	if (fic__sync_auth(w->sync_store, &w->opts, auth, sizeof auth) != FIC_OK)
		die("auth");
	sqlite3_stmt *st;
	sqlite3_prepare_v2(w->sync_store->db, "SELECT sha256, bytes FROM uploads WHERE state = "
	                   "'pending' ORDER BY created_at_ms", -1, &st, NULL);
	while (!s->stop && sqlite3_step(st) == SQLITE_ROW) {
		char sha[65], path[4400], url[200], len_s[24];
		snprintf(sha, sizeof sha, "%s", (const char *)sqlite3_column_text(st, 0));
		int64_t bytes = sqlite3_column_int64(st, 1);
		snprintf(path, sizeof path, "%s.photos/%s.jpg", w->sync_store->path, sha);
		snprintf(url, sizeof url, "%s/v1/photos/%s", w->url, sha);
		snprintf(len_s, sizeof len_s, "%lld", (long long)bytes);
		unsigned char *buf = malloc((size_t)bytes);
		FILE *fp = fopen(path, "rb");
		if (fp == NULL || fread(buf, 1, (size_t)bytes, fp) != (size_t)bytes)
			die("read photo");
		fclose(fp);
		/* Whole, in as few requests as the server allows (256 KiB each), back to back. */
		for (int64_t off = 0; off < bytes && !s->stop;) {
			int64_t n = bytes - off > COUNTY_MAX_CHUNK ? COUNTY_MAX_CHUNK : bytes - off;
			char off_s[24];
			snprintf(off_s, sizeof off_s, "%lld", (long long)off);
			fic_http_header h[4] = { { "Authorization", auth }, { "Upload-Offset", off_s },
				                 { "Upload-Length", len_s },
				                 { "Content-Type", "application/offset+octet-stream" } };
			fic_http_request q = { .version = FIC_TRANSPORT_VERSION, .method = "PATCH", .url = url, .headers = h,
				               .header_count = 4, .body = buf + off, .body_len = (size_t)n,
				               .total_timeout_ms = 600000, .low_speed_time_ms = 60000,
				               .cancel = s->cancel };
			fic_http_response r;
			if (w->transport->request(w->transport->ctx, &q, &r) != FIC_OK) {
				sleep_ms(100);
				continue; /* resend this piece */
			}
			fic_free(r.body);
			if (r.status == 204 || r.status == 201)
				off += n;
		}
		free(buf);
		char sql[200];
		snprintf(sql, sizeof sql, "UPDATE uploads SET state = 'done' WHERE sha256 = '%s'", sha);
		sqlite3_exec(w->sync_store->db, sql, NULL, NULL, NULL);
	}
	sqlite3_finalize(st);
	/* Then the records, the lead among them. */
	while (!s->stop) {
		fic_sync_report rep = FIC_SYNC_REPORT_INIT;
		if (fic_sync_push(w->sync_store, &w->opts, &rep) == FIC_OK && rep.pending == 0)
			sleep_ms(20);
	}
	return NULL;
}

/* File an urgent lead on the app's handle; time until the server holds it. */
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

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void summary(const char *who, double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	double sum = 0;
	for (int i = 0; i < n; i++)
		sum += v[i];
	double median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	printf("  %-26s runs %2d   median %7.2f s   worst %7.2f s   best %7.2f s   mean %7.2f s\n",
	       who, n, median, v[n - 1], v[0], sum / n);
}

static void part1(const config *c)
{
	printf("== urgent lead under a backlog of %d photos of %d KB: %.0f kbit/s, %d ms RTT, %.1f %% "
	       "loss, %zu-byte photo chunks, %s\n",
	       c->photos, c->photo_kb, c->rate / 1000.0, c->rtt, c->loss * 100, c->chunk,
	       c->tls ? "HTTPS" : "plain HTTP");
	world w;
	world_open(&w, c, true, "bench-priority");
	queue_photos(&w, c->photos, c->photo_kb);
	syncer s = { .w = &w };
	fic_cancel_new(&s.cancel);
	pthread_create(&s.th, NULL, priority_loop, &s);
	double *lat = calloc((size_t)c->runs, sizeof *lat);
	unsigned seed = (unsigned)now_ms();
	sleep_ms(3000); /* the photos are flowing */
	for (int i = 0; i < c->runs; i++) {
		sleep_ms(1000 + rand_r(&seed) % 3000); /* a random moment in a photo's upload */
		lat[i] = urgent_latency(&w);
		printf("  fieldinspect run %2d: %.2f s\n", i + 1, lat[i]);
		fflush(stdout);
	}
	s.stop = 1;
	fic_cancel_request(s.cancel);
	pthread_join(s.th, NULL);
	fic_cancel_free(s.cancel);
	int64_t pending = 0, urgent = 0;
	fic__upload_counts(w.sync_store, &pending, &urgent);
	printf("  (photos still queued at the end: %lld of %d)\n", (long long)pending, c->photos);
	world_close(&w);

	double *fifo = calloc((size_t)(c->fifo_runs ? c->fifo_runs : 1), sizeof *fifo);
	for (int i = 0; i < c->fifo_runs; i++) {
		world_open(&w, c, true, "bench-fifo");
		queue_photos(&w, c->photos, c->photo_kb);
		syncer f = { .w = &w, .fifo = true };
		fic_cancel_new(&f.cancel);
		pthread_create(&f.th, NULL, fifo_loop, &f);
		sleep_ms(3000);
		fifo[i] = urgent_latency(&w);
		printf("  FIFO run %2d: %.2f s\n", i + 1, fifo[i]);
		fflush(stdout);
		f.stop = 1;
		fic_cancel_request(f.cancel);
		pthread_join(f.th, NULL);
		fic_cancel_free(f.cancel);
		world_close(&w);
	}
	printf("-- creation to receipt by the server:\n");
	summary("fieldinspect (priority)", lat, c->runs);
	if (c->fifo_runs)
		summary("FIFO sender (ODK-style)", fifo, c->fifo_runs);
	printf("   target: median < 2 s, worst < 3 s\n");
	free(lat);
	free(fifo);
}

/* ---- part 2: a day's patrol, bytes on the wire over payload ---- */

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
	printf("  i.e. %lld bytes of protocol per %lld bytes of photo = %.2f %% "
	       "(%zu-byte chunks)\n",
	       (long long)(wire - payload), (long long)photo_bytes,
	       100.0 * (double)(wire - payload) / (double)photo_bytes, c->chunk);
	printf("  with TCP/IP headers (estimated, %lld segments): overhead %+.2f %%\n",
	       (long long)segs, 100.0 * (double)(wire + tcpip - payload) / (double)payload);
	printf("   target: protocol overhead < 5 %%\n");
	world_close(&w);
}

int main(int argc, char **argv)
{
	config c = { .tls = true, .runs = 10, .fifo_runs = 1, .photos = 50, .photo_kb = 300, .rate = 384000,
		     .rtt = 300, .loss = 0.02, .chunk = 32768 };
	bool quick = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--quick") == 0) {
			quick = true;
			c.runs = 2, c.fifo_runs = 1, c.photos = 4, c.photo_kb = 40, c.rate = 4000000;
			c.rtt = 20;
		} else if (strcmp(a, "--plain") == 0) {
			c.tls = false;
		} else if (v && strcmp(a, "--runs") == 0) {
			c.runs = atoi(v), i++;
		} else if (v && strcmp(a, "--fifo-runs") == 0) {
			c.fifo_runs = atoi(v), i++;
		} else if (v && strcmp(a, "--photos") == 0) {
			c.photos = atoi(v), i++;
		} else if (v && strcmp(a, "--photo-kb") == 0) {
			c.photo_kb = atoi(v), i++;
		} else if (v && strcmp(a, "--rate") == 0) {
			c.rate = atoll(v), i++;
		} else if (v && strcmp(a, "--rtt") == 0) {
			c.rtt = atoi(v), i++;
		} else if (v && strcmp(a, "--loss") == 0) {
			c.loss = atof(v), i++;
		} else if (v && strcmp(a, "--chunk") == 0) {
			c.chunk = (size_t)atol(v), i++;
		} else {
			fprintf(stderr, "usage: sync_bench [--runs N] [--fifo-runs N] [--photos N] "
			                "[--photo-kb K] [--rate BPS] [--rtt MS] [--loss P] [--chunk BYTES] "
			                "[--plain] [--quick]\n");
			return 2;
		}
	}
	if (c.runs < 1 || c.fifo_runs < 0 || c.photos < 1 || c.photo_kb < 1 || c.rate < 0 || c.rtt < 0 || c.loss < 0 ||
	    c.loss >= 1 || c.chunk < 1024 || c.chunk > 262144) {
		fprintf(stderr, "sync_bench: an option is out of range\n");
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	part1(&c);
	part2(&c, quick);
	curl_global_cleanup();
	return 0;
}
