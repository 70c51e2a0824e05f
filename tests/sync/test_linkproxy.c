/*
 * tests/sync/test_linkproxy.c — the link-emulating proxy the sync tests and
 * benchmarks use (tests/support/linkproxy.h), against tiny echo, sink and
 * source servers on loopback: bytes pass unchanged, the rate and delay are
 * what was asked for (handshake included), loss delays but never corrupts or
 * reorders, each fault does what it says, and the counters count.
 */
#include "linkproxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double secs(int64_t ns)
{
	return (double)ns / 1e9;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

static void fill_random(unsigned char *p, size_t n, uint32_t seed)
{
	uint32_t x = seed ? seed : 1;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (unsigned char)(x >> 24);
	}
}

/* What the source server sends: byte i of the stream. */
static unsigned char pattern(size_t i)
{
	return (unsigned char)(((uint32_t)i * 2654435761u) >> 24);
}

static void set_timeouts(int fd, int rcv_ms, int snd_ms)
{
	struct timeval r = { rcv_ms / 1000, (rcv_ms % 1000) * 1000 };
	struct timeval s = { snd_ms / 1000, (snd_ms % 1000) * 1000 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &r, sizeof r);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &s, sizeof s);
}

static void nodelay(int fd)
{
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* Bytes sent before the end or an error. */
static size_t send_all(int fd, const unsigned char *p, size_t n)
{
	size_t done = 0;
	while (done < n) {
		ssize_t w = send(fd, p + done, n - done, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		done += (size_t)w;
	}
	return done;
}

/* Read until n bytes, EOF or an error; *last is the last recv() result, *err its errno. */
static size_t recv_upto(int fd, unsigned char *p, size_t n, ssize_t *last, int *err)
{
	size_t got = 0;
	ssize_t r = 0;
	int e = 0;
	while (got < n) {
		r = recv(fd, p + got, n - got, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			e = r < 0 ? errno : 0;
			break;
		}
		got += (size_t)r;
	}
	if (last)
		*last = r;
	if (err)
		*err = e;
	return got;
}

/* ---- upstream servers */

typedef enum { UP_ECHO, UP_SINK, UP_SOURCE } up_mode;

#define MAX_HANDLERS 32

typedef struct upstream {
	int fd, port;
	up_mode mode;
	size_t source_len; /* UP_SOURCE: bytes sent on each connection, then close */
	pthread_t thread;
	pthread_mutex_t mu;
	int stop;
	pthread_t handlers[MAX_HANDLERS];
	int nhandlers;
	/* UP_SINK: what arrived (over all connections), and when the last byte did. */
	unsigned char *sink;
	size_t sink_cap, sink_len;
	int64_t sink_last_ns;
} upstream;

typedef struct handler_arg {
	upstream *u;
	int fd;
} handler_arg;

static void *handle(void *arg)
{
	handler_arg *h = arg;
	upstream *u = h->u;
	int fd = h->fd;
	free(h);
	nodelay(fd);
	set_timeouts(fd, 10000, 10000); /* a safety net: nothing here should wait that long */
	unsigned char buf[16384];
	if (u->mode == UP_SOURCE) {
		for (size_t off = 0; off < u->source_len;) {
			size_t n = u->source_len - off < sizeof buf ? u->source_len - off : sizeof buf;
			for (size_t i = 0; i < n; i++)
				buf[i] = pattern(off + i);
			if (send_all(fd, buf, n) != n)
				break;
			off += n;
		}
	} else {
		for (;;) {
			ssize_t r = recv(fd, buf, sizeof buf, 0);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			if (u->mode == UP_ECHO) {
				if (send_all(fd, buf, (size_t)r) != (size_t)r)
					break;
			} else {
				pthread_mutex_lock(&u->mu);
				size_t n = (size_t)r;
				if (n > u->sink_cap - u->sink_len)
					n = u->sink_cap - u->sink_len;
				memcpy(u->sink + u->sink_len, buf, n);
				u->sink_len += n;
				u->sink_last_ns = now_ns();
				pthread_mutex_unlock(&u->mu);
			}
		}
	}
	close(fd);
	return NULL;
}

static void *upstream_main(void *arg)
{
	upstream *u = arg;
	for (;;) {
		pthread_mutex_lock(&u->mu);
		int stop = u->stop;
		pthread_mutex_unlock(&u->mu);
		if (stop)
			break;
		struct pollfd p = { .fd = u->fd, .events = POLLIN };
		if (poll(&p, 1, 20) <= 0)
			continue;
		int c = accept(u->fd, NULL, NULL);
		if (c < 0)
			continue;
		handler_arg *h = malloc(sizeof *h);
		if (!h || u->nhandlers == MAX_HANDLERS) {
			free(h);
			close(c);
			continue;
		}
		h->u = u;
		h->fd = c;
		if (pthread_create(&u->handlers[u->nhandlers], NULL, handle, h) != 0) {
			free(h);
			close(c);
			continue;
		}
		u->nhandlers++;
	}
	return NULL;
}

static upstream *upstream_start(up_mode mode, size_t source_len)
{
	upstream *u = calloc(1, sizeof *u);
	assert_non_null(u);
	u->mode = mode;
	u->source_len = source_len;
	u->sink_cap = 256 << 10;
	u->sink = malloc(u->sink_cap);
	assert_non_null(u->sink);
	pthread_mutex_init(&u->mu, NULL);
	u->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(u->fd >= 0);
	int one = 1;
	setsockopt(u->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t alen = sizeof a;
	assert_int_equal(bind(u->fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(u->fd, 16), 0);
	assert_int_equal(getsockname(u->fd, (struct sockaddr *)&a, &alen), 0);
	u->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&u->thread, NULL, upstream_main, u), 0);
	return u;
}

/* Stop the proxies in front of it first: that is what ends its handlers. */
static void upstream_stop(upstream *u)
{
	pthread_mutex_lock(&u->mu);
	u->stop = 1;
	pthread_mutex_unlock(&u->mu);
	pthread_join(u->thread, NULL);
	for (int i = 0; i < u->nhandlers; i++)
		pthread_join(u->handlers[i], NULL);
	close(u->fd);
	pthread_mutex_destroy(&u->mu);
	free(u->sink);
	free(u);
}

static size_t sink_len(upstream *u, int64_t *last_ns)
{
	pthread_mutex_lock(&u->mu);
	size_t n = u->sink_len;
	if (last_ns)
		*last_ns = u->sink_last_ns;
	pthread_mutex_unlock(&u->mu);
	return n;
}

/* Wait (up to timeout_ms) until the sink holds at least n bytes. */
static size_t sink_wait(upstream *u, size_t n, int timeout_ms, int64_t *last_ns)
{
	int64_t end = now_ns() + (int64_t)timeout_ms * 1000000;
	size_t have;
	while ((have = sink_len(u, last_ns)) < n && now_ns() < end)
		sleep_ms(1);
	return have;
}

/* ---- clients */

static tu_link *link_start(int upstream_port, int64_t rate, int delay_ms, double loss, uint32_t seed)
{
	tu_link_options o = { .upstream_port = upstream_port, .rate_bps = rate, .delay_ms = delay_ms,
	                      .loss = loss, .seed = seed };
	tu_link *l = NULL;
	assert_int_equal(tu_link_start(&l, &o), 0);
	assert_non_null(l);
	assert_true(tu_link_port(l) > 0);
	return l;
}

static int client_connect(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in a;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		close(fd);
		return -1;
	}
	nodelay(fd);
	set_timeouts(fd, 10000, 10000);
	return fd;
}

typedef struct sender {
	int fd;
	const unsigned char *p;
	size_t n;
	size_t sent;
} sender;

static void *sender_main(void *arg)
{
	sender *s = arg;
	s->sent = send_all(s->fd, s->p, s->n);
	shutdown(s->fd, SHUT_WR);
	return NULL;
}

/* Send n bytes through an echo while reading them back; 0 if they came back
 * complete, unchanged and followed by EOF. *elapsed: connect to last byte. */
static int echo_roundtrip(int port, const unsigned char *data, size_t n, int64_t *elapsed)
{
	int64_t t0 = now_ns();
	int fd = client_connect(port);
	if (fd < 0)
		return -1;
	unsigned char *back = malloc(n + 1);
	sender s = { .fd = fd, .p = data, .n = n };
	pthread_t t;
	if (!back || pthread_create(&t, NULL, sender_main, &s) != 0) {
		free(back);
		close(fd);
		return -1;
	}
	size_t got = recv_upto(fd, back, n, NULL, NULL);
	if (elapsed)
		*elapsed = now_ns() - t0;
	ssize_t last;
	size_t extra = recv_upto(fd, back + n, 1, &last, NULL);
	pthread_join(t, NULL);
	close(fd);
	int ok = s.sent == n && got == n && memcmp(back, data, n) == 0 && extra == 0 && last == 0;
	free(back);
	return ok ? 0 : -1;
}

typedef struct roundtrip_job {
	int port;
	unsigned char *data;
	size_t n;
	int rc;
} roundtrip_job;

static void *roundtrip_main(void *arg)
{
	roundtrip_job *j = arg;
	j->rc = echo_roundtrip(j->port, j->data, j->n, NULL);
	return NULL;
}

/* The counters are updated just after the proxy's write: give it a moment. */
static void stats_settle(tu_link *l, int64_t up, int64_t down, tu_link_stats *st)
{
	int64_t end = now_ns() + 2000000000;
	do {
		tu_link_stats_get(l, st);
		if (st->up_bytes >= up && st->down_bytes >= down)
			return;
		sleep_ms(1);
	} while (now_ns() < end);
}

/* 1-byte ping through an echo; milliseconds, or -1. */
static double ping_ms(int fd)
{
	unsigned char b = 'p';
	int64_t t0 = now_ns();
	if (send(fd, &b, 1, MSG_NOSIGNAL) != 1 || recv_upto(fd, &b, 1, NULL, NULL) != 1)
		return -1;
	return (double)(now_ns() - t0) / 1e6;
}

/* ---- tests */

static void passes_bytes_unchanged_both_ways(void **state)
{
	(void)state;
	upstream *u = upstream_start(UP_ECHO, 0);
	tu_link *l = link_start(u->port, 0, 0, 0, 0);

	size_t n = 1 << 20;
	unsigned char *data = malloc(n);
	assert_non_null(data);
	fill_random(data, n, 12345);
	int64_t elapsed = 0;
	assert_int_equal(echo_roundtrip(tu_link_port(l), data, n, &elapsed), 0);
	printf("# 1 MiB echoed through the unshaped proxy in %.3f s\n", secs(elapsed));

	/* Several connections at once, each its own upstream connection. */
	enum { K = 3 };
	size_t m = 128 << 10;
	roundtrip_job jobs[K];
	pthread_t th[K];
	for (int i = 0; i < K; i++) {
		jobs[i] = (roundtrip_job){ .port = tu_link_port(l), .data = malloc(m), .n = m, .rc = -1 };
		assert_non_null(jobs[i].data);
		fill_random(jobs[i].data, m, (uint32_t)(100 + i));
		assert_int_equal(pthread_create(&th[i], NULL, roundtrip_main, &jobs[i]), 0);
	}
	for (int i = 0; i < K; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(jobs[i].rc, 0);
		free(jobs[i].data);
	}

	tu_link_stats st;
	int64_t total = (int64_t)(n + K * m);
	stats_settle(l, total, total, &st);
	assert_int_equal(st.up_bytes, total);
	assert_int_equal(st.down_bytes, total);
	assert_int_equal(st.connections, 1 + K);
	assert_int_equal(st.segments_lost, 0);

	tu_link_stop(l);
	upstream_stop(u);
	free(data);
}

static void rate_and_delay_are_those_asked_for(void **state)
{
	(void)state;
	const int64_t rate = 384000;
	const int delay = 150;

	/* Round trips: the first on a fresh connection pays for the handshake too. */
	upstream *echo = upstream_start(UP_ECHO, 0);
	tu_link *l = link_start(echo->port, rate, delay, 0, 0);
	int fd = client_connect(tu_link_port(l));
	assert_true(fd >= 0);
	double first = ping_ms(fd);
	printf("# first 1-byte round trip (fresh connection): %.1f ms\n", first);
	assert_true(first >= 4 * delay);
	assert_true(first < 4 * delay + 150);
	for (int i = 0; i < 3; i++) {
		double rtt = ping_ms(fd);
		printf("# 1-byte round trip: %.1f ms\n", rtt);
		assert_true(rtt >= 2 * delay);
		assert_true(rtt < 450);
	}
	close(fd);
	tu_link_stop(l);
	upstream_stop(echo);

	/* Up: 96 000 bytes at 384 kbit/s is 2 s, plus 150 ms to arrive. */
	upstream *sink = upstream_start(UP_SINK, 0);
	l = link_start(sink->port, rate, delay, 0, 0);
	fd = client_connect(tu_link_port(l));
	assert_true(fd >= 0);
	unsigned char *data = malloc(96000);
	assert_non_null(data);
	fill_random(data, 96000, 7);
	assert_int_equal(send_all(fd, data, 1), 1); /* past the handshake first */
	assert_int_equal(sink_wait(sink, 1, 3000, NULL), 1);
	int64_t t0 = now_ns(), last = 0;
	assert_int_equal(send_all(fd, data, 96000), 96000);
	assert_int_equal(sink_wait(sink, 96001, 6000, &last), 96001);
	printf("# 96000 bytes up at 384 kbit/s, 150 ms: %.3f s\n", secs(last - t0));
	assert_true(secs(last - t0) >= 1.7);
	assert_true(secs(last - t0) <= 2.8);
	close(fd);
	tu_link_stop(l);
	upstream_stop(sink);

	/* Down, on a fresh connection: the server's accept() would return 1.5 RTT
	 * after connect(), then 48 000 bytes take 1 s, plus 150 ms: 1.6 s. */
	upstream *src = upstream_start(UP_SOURCE, 48000);
	l = link_start(src->port, rate, delay, 0, 0);
	t0 = now_ns();
	fd = client_connect(tu_link_port(l));
	assert_true(fd >= 0);
	ssize_t r;
	assert_int_equal(recv_upto(fd, data, 48000, NULL, NULL), 48000);
	double down = secs(now_ns() - t0);
	printf("# 48000 bytes down at 384 kbit/s, 150 ms, fresh connection: %.3f s\n", down);
	assert_true(down >= 1.45);
	assert_true(down <= 2.0);
	for (size_t i = 0; i < 48000; i++)
		assert_int_equal(data[i], pattern(i));
	assert_int_equal(recv_upto(fd, data, 1, &r, NULL), 0);
	assert_int_equal(r, 0);
	close(fd);
	tu_link_stop(l);
	upstream_stop(src);
	free(data);
}

static void loss_delays_but_keeps_data_whole_and_in_order(void **state)
{
	(void)state;
	upstream *u = upstream_start(UP_ECHO, 0);
	size_t n = 96 << 10;
	unsigned char *data = malloc(n);
	assert_non_null(data);
	fill_random(data, n, 99);

	tu_link *clean = link_start(u->port, 2000000, 20, 0, 42);
	int64_t t_clean = 0;
	assert_int_equal(echo_roundtrip(tu_link_port(clean), data, n, &t_clean), 0);
	tu_link_stats st;
	tu_link_stats_get(clean, &st);
	assert_int_equal(st.segments_lost, 0);
	tu_link_stop(clean);

	tu_link *lossy = link_start(u->port, 2000000, 20, 0.5, 42);
	int64_t t_lossy = 0;
	assert_int_equal(echo_roundtrip(tu_link_port(lossy), data, n, &t_lossy), 0);
	stats_settle(lossy, (int64_t)n, (int64_t)n, &st);
	printf("# 96 KiB echoed at 2 Mbit/s, 20 ms: %.3f s clean, %.3f s with 50%% loss "
	       "(%lld segments lost)\n",
	       secs(t_clean), secs(t_lossy), (long long)st.segments_lost);
	assert_true(st.segments_lost > 0);
	assert_int_equal(st.up_bytes, (int64_t)n);
	assert_int_equal(st.down_bytes, (int64_t)n);
	assert_true(t_lossy > t_clean);
	tu_link_stop(lossy);

	upstream_stop(u);
	free(data);
}

typedef struct timed_job {
	int port;
	unsigned char *data;
	size_t n;
	int rc;
	int64_t elapsed;
} timed_job;

static void *timed_main(void *arg)
{
	timed_job *j = arg;
	j->rc = echo_roundtrip(j->port, j->data, j->n, &j->elapsed);
	return NULL;
}

/* One radio link for every connection: two transfers share its rate, take
 * turns fairly, and a third connection's small message waits behind at most
 * the bottleneck queue, not behind their whole transfers. */
static void connections_share_the_link(void **state)
{
	(void)state;
	upstream *u = upstream_start(UP_ECHO, 0);
	tu_link *l = link_start(u->port, 384000, 20, 0, 3);
	size_t n = 48000;
	unsigned char *data = malloc(n);
	assert_non_null(data);
	fill_random(data, n, 5);
	timed_job a = { tu_link_port(l), data, n, -1, 0 }, b = a;
	pthread_t ta, tb;
	assert_int_equal(pthread_create(&ta, NULL, timed_main, &a), 0);
	assert_int_equal(pthread_create(&tb, NULL, timed_main, &b), 0);
	sleep_ms(500); /* both are sending now */
	int fd = client_connect(tu_link_port(l));
	assert_true(fd >= 0);
	ping_ms(fd); /* past the handshake */
	double ping = ping_ms(fd);
	close(fd);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	printf("# two 48000-byte echoes at once on one 384 kbit/s link: %.3f s and %.3f s; "
	       "a 1-byte round trip meanwhile: %.0f ms\n", secs(a.elapsed), secs(b.elapsed), ping);
	assert_int_equal(a.rc, 0);
	assert_int_equal(b.rc, 0);
	/* 96 000 bytes each way at 48 000 bytes/s: 2 s, not the 1 s of a link each */
	assert_true(secs(a.elapsed) >= 1.8 && secs(b.elapsed) >= 1.8);
	assert_true(secs(a.elapsed) < 1.3 * secs(b.elapsed) && secs(b.elapsed) < 1.3 * secs(a.elapsed));
	/* behind at most 16 KiB each way (0.34 s), not behind the transfers */
	assert_true(ping >= 40 && ping < 1000);
	tu_link_stop(l);
	upstream_stop(u);
	free(data);
}

/* Read to the end; the client's view of a faulty connection. */
static size_t read_to_end(int fd, unsigned char *buf, size_t cap, ssize_t *last, int *err)
{
	return recv_upto(fd, buf, cap, last, err);
}

static void faults_do_what_they_say(void **state)
{
	(void)state;
	enum { SRC = 100000 };
	unsigned char *buf = malloc(SRC + 1);
	assert_non_null(buf);
	ssize_t last;
	int err;

	/* RESET_UP: the server gets 10 000 bytes, then both sides are reset. */
	upstream *echo = upstream_start(UP_ECHO, 0);
	tu_link *l = link_start(echo->port, 0, 0, 0, 0);
	unsigned char *data = malloc(50000);
	assert_non_null(data);
	fill_random(data, 50000, 3);
	tu_link_fault(l, TU_FAULT_RESET_UP, 10000);
	int fd = client_connect(tu_link_port(l));
	assert_true(fd >= 0);
	sender s = { .fd = fd, .p = data, .n = 50000 };
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, sender_main, &s), 0);
	size_t got = read_to_end(fd, buf, 50000, &last, &err);
	pthread_join(t, NULL);
	printf("# RESET_UP after 10000: client got %zu bytes back, then %s\n", got,
	       last == 0 ? "EOF" : strerror(err));
	assert_true(got <= 10000);
	assert_true(last == 0 || err == ECONNRESET);
	assert_memory_equal(buf, data, got);
	close(fd);
	tu_link_stop(l);
	upstream_stop(echo);

	upstream *src = upstream_start(UP_SOURCE, SRC);
	l = link_start(src->port, 0, 0, 0, 0);

	/* RESET_DOWN: at most 10 000 bytes reach the client, then a reset. */
	tu_link_fault(l, TU_FAULT_RESET_DOWN, 10000);
	fd = client_connect(tu_link_port(l));
	assert_true(fd >= 0);
	got = read_to_end(fd, buf, SRC, &last, &err);
	printf("# RESET_DOWN after 10000: client got %zu bytes, then %s\n", got,
	       last == 0 ? "EOF" : strerror(err));
	assert_true(got <= 10000);
	assert_true(last == 0 || err == ECONNRESET);
	close(fd);

	/* TRUNCATE_DOWN: exactly 12 345 bytes, the right ones, then a clean EOF. */
	tu_link_fault(l, TU_FAULT_TRUNCATE_DOWN, 12345);
	fd = client_connect(tu_link_port(l));
	assert_true(fd >= 0);
	got = read_to_end(fd, buf, SRC, &last, &err);
	assert_int_equal(got, 12345);
	assert_int_equal(last, 0);
	for (size_t i = 0; i < got; i++)
		assert_int_equal(buf[i], pattern(i));
	close(fd);

	/* STALL_DOWN: 5000 bytes, then nothing: a 500 ms receive timeout expires. */
	tu_link_fault(l, TU_FAULT_STALL_DOWN, 5000);
	fd = client_connect(tu_link_port(l));
	assert_true(fd >= 0);
	assert_int_equal(recv_upto(fd, buf, 5000, NULL, NULL), 5000);
	set_timeouts(fd, 500, 500);
	int64_t t0 = now_ns();
	ssize_t r = recv(fd, buf, SRC, 0);
	int e = errno;
	double waited = secs(now_ns() - t0);
	printf("# STALL_DOWN after 5000: recv gave %zd (%s) after %.3f s\n", r, strerror(e), waited);
	assert_int_equal(r, -1);
	assert_true(e == EAGAIN || e == EWOULDBLOCK);
	assert_true(waited >= 0.45);
	close(fd);

	/* A fault is for one connection only: the next one is whole. */
	fd = client_connect(tu_link_port(l));
	assert_true(fd >= 0);
	got = read_to_end(fd, buf, SRC + 1, &last, &err);
	assert_int_equal(got, SRC);
	assert_int_equal(last, 0);
	close(fd);

	tu_link_stats st;
	tu_link_stats_get(l, &st);
	assert_int_equal(st.connections, 4);

	tu_link_stop(l);
	upstream_stop(src);
	free(data);
	free(buf);
}

static void stats_count_bytes(void **state)
{
	(void)state;
	upstream *sink = upstream_start(UP_SINK, 0);
	tu_link *l = link_start(sink->port, 0, 5, 0, 0);
	unsigned char *data = malloc(50000);
	assert_non_null(data);
	fill_random(data, 50000, 11);
	int fd = client_connect(tu_link_port(l));
	assert_true(fd >= 0);
	assert_int_equal(send_all(fd, data, 50000), 50000);
	shutdown(fd, SHUT_WR);
	ssize_t last;
	assert_int_equal(recv_upto(fd, data, 1, &last, NULL), 0); /* the sink closes after EOF */
	assert_int_equal(last, 0);
	close(fd);
	assert_int_equal(sink_wait(sink, 50000, 2000, NULL), 50000);
	tu_link_stats st;
	stats_settle(l, 50000, 0, &st);
	assert_int_equal(st.up_bytes, 50000);
	assert_int_equal(st.down_bytes, 0);
	assert_int_equal(st.connections, 1);
	tu_link_stop(l);
	upstream_stop(sink);

	upstream *src = upstream_start(UP_SOURCE, 30000);
	l = link_start(src->port, 0, 5, 0, 0);
	fd = client_connect(tu_link_port(l));
	assert_true(fd >= 0);
	assert_int_equal(recv_upto(fd, data, 50000, &last, NULL), 30000);
	assert_int_equal(last, 0);
	close(fd);
	stats_settle(l, 0, 30000, &st);
	assert_int_equal(st.up_bytes, 0);
	assert_int_equal(st.down_bytes, 30000);
	assert_int_equal(st.connections, 1);
	assert_int_equal(st.segments_lost, 0);
	tu_link_stop(l);
	upstream_stop(src);
	free(data);
}

static void bad_options_are_refused(void **state)
{
	(void)state;
	tu_link *l = (tu_link *)&l;
	tu_link_options o = { .upstream_port = 0 };
	assert_int_equal(tu_link_start(&l, &o), -1);
	assert_null(l);
	o = (tu_link_options){ .upstream_port = 1, .loss = 1.5 };
	assert_int_equal(tu_link_start(&l, &o), -1);
	o = (tu_link_options){ .upstream_port = 1, .delay_ms = -1 };
	assert_int_equal(tu_link_start(&l, &o), -1);
	tu_link_stop(NULL);
}

static void a_refused_upstream_resets_the_client(void **state)
{
	(void)state;
	upstream *u = upstream_start(UP_ECHO, 0);
	int port = u->port;
	upstream_stop(u); /* nothing listens there now */
	tu_link *l = link_start(port, 0, 0, 0, 0);
	int fd = client_connect(tu_link_port(l));
	assert_true(fd >= 0);
	unsigned char b;
	ssize_t last;
	int err;
	assert_int_equal(recv_upto(fd, &b, 1, &last, &err), 0);
	assert_true(last == 0 || err == ECONNRESET);
	close(fd);
	tu_link_stop(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(passes_bytes_unchanged_both_ways),
		cmocka_unit_test(rate_and_delay_are_those_asked_for),
		cmocka_unit_test(loss_delays_but_keeps_data_whole_and_in_order),
		cmocka_unit_test(connections_share_the_link),
		cmocka_unit_test(faults_do_what_they_say),
		cmocka_unit_test(stats_count_bytes),
		cmocka_unit_test(bad_options_are_refused),
		cmocka_unit_test(a_refused_upstream_resets_the_client),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
