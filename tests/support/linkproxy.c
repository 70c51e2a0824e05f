/*
 * tests/support/linkproxy.c — a userspace TCP proxy that emulates a slow,
 * lossy link and injects faults. The model is described in linkproxy.h.
 *
 * One thread runs one poll() loop over a wake pipe, the listener and two
 * sockets per connection. The link itself — one per direction, shared by
 * every connection, as a phone's radio link is — is a `wire`: the segment
 * being serialised, and a log of which connection's bytes entered the
 * bottleneck queue in which order (first in, first out across connections;
 * queue_bytes in all). Each direction of a connection keeps:
 *   q        its bytes in the bottleneck queue (a ring), filled by recv();
 *   head..   segments that have left the queue, each with the monotonic time
 *            it is due at the receiver (non-decreasing: in order);
 * and every pass does: read what poll() said is readable (a segment's worth
 * per connection per pass, taking turns, so no sender starves another), then,
 * until nothing moves, finish the segment whose serialisation ended, start
 * the next, write the due ones, and fire an armed fault when its byte count
 * is reached.
 */
#if !defined(_GNU_SOURCE) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif

#include "linkproxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define SEG_MAX 1460                  /* bytes in one segment (loss is drawn per segment) */
#define SOCK_BUF 16384                /* SO_RCVBUF/SO_SNDBUF of the proxy's sockets */
#define DEFAULT_QUEUE 16384
#define MS ((int64_t)1000000)         /* nanoseconds */
#define RTO_EXTRA (200 * MS)          /* a lost segment arrives RTT + this later */
#define WINDOW_MIN ((size_t)64 << 10)
#define WINDOW_MAX ((size_t)4 << 20)

typedef struct seg {
	struct seg *next;
	int64_t due; /* when it reaches the receiver */
	size_t len, off;
	bool fin; /* the sender's FIN, no data */
	unsigned char data[];
} seg;

typedef struct dir {
	unsigned char *q;
	size_t qcap, qhead, qlen;
	int64_t not_before; /* no segment starts before this (the handshake) */
	seg *head, *tail;
	size_t held;      /* data bytes that left q and are not yet written */
	int64_t last_due; /* keeps delivery in order */
	bool eof;         /* the sender sent FIN */
	bool fin_queued, fin_sent;
	bool want_write; /* a due segment met a full socket: poll POLLOUT */
	int64_t passed;  /* bytes written to the receiver */
	int64_t limit;   /* never write more than this (an armed fault); -1: no limit */
	uint64_t rng;
} dir;

struct conn;

/* One direction of the link, shared by every connection. */
typedef struct arrival {
	struct conn *c;
	size_t len;
} arrival;

typedef struct wire {
	int64_t free_at;      /* the link is busy until then */
	size_t queued;        /* bytes in the bottleneck queue, all connections */
	bool busy;            /* busy_len bytes at the head of busy_conn's q are on the link */
	struct conn *busy_conn;
	size_t busy_len;
	int64_t busy_end;
	arrival *log;         /* the queue's bytes by connection, oldest first */
	size_t log_len, log_cap;
} wire;

typedef struct conn {
	struct conn *next;
	int cfd, ufd;
	bool connecting; /* the upstream connect() is in progress */
	dir up, down;
	tu_fault fault;
	bool truncated; /* TRUNCATE_DOWN fired: only discard what the client sends */
	bool stalled;
	bool dead;
	short crev, urev; /* revents of the last poll() */
	bool read_done;   /* read this pass */
} conn;

static dir *conn_dir(struct conn *c, int dirn)
{
	return dirn == 0 ? &c->up : &c->down;
}

struct tu_link {
	tu_link_options o;
	int lfd, port;
	int wake[2];
	pthread_t thread;
	pthread_mutex_t mu; /* guards stop, armed*, st */
	bool stop;
	tu_fault armed;
	int64_t armed_after;
	tu_link_stats st;
	size_t window;
	wire wires[2];  /* [0] up (client to server), [1] down */
	uint64_t pass;  /* which connection reads first this pass */
	uint64_t nconn;
	conn *conns;
	struct pollfd *pfd;
	conn **pconn;
	size_t pcap;
};

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += UINT64_C(0x9E3779B97F4A7C15));
	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

static double draw(dir *d)
{
	return (double)(splitmix64(&d->rng) >> 11) * (1.0 / 9007199254740992.0); /* [0, 1) */
}

/* Nanoseconds to serialise n bytes. */
static int64_t ser_ns(const tu_link *l, size_t n)
{
	if (l->o.rate_bps <= 0)
		return 0;
	return (int64_t)n * 8 * 1000000000 / l->o.rate_bps;
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -1;
	return fcntl(fd, F_SETFD, FD_CLOEXEC);
}

static void tune_socket(int fd)
{
	int v = SOCK_BUF, one = 1;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof v);
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static void close_rst(int fd)
{
	if (fd < 0)
		return;
	struct linger lg = { 1, 0 };
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	close(fd);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* ---- one direction */

static void dir_init(dir *d, size_t qcap, int64_t not_before, uint64_t seed)
{
	memset(d, 0, sizeof *d);
	d->qcap = qcap;
	d->not_before = not_before;
	d->limit = -1;
	d->rng = seed;
}

static void dir_free(dir *d)
{
	free(d->q);
	d->q = NULL;
	while (d->head) {
		seg *s = d->head;
		d->head = s->next;
		free(s);
	}
	d->tail = NULL;
}

static void dir_append(dir *d, seg *s)
{
	s->next = NULL;
	if (d->tail)
		d->tail->next = s;
	else
		d->head = s;
	d->tail = s;
}

/* Log `n` bytes of c's that entered the shared queue. 0, or -1: out of memory. */
static int wire_log(wire *w, struct conn *c, size_t n)
{
	if (w->log_len > 0 && w->log[w->log_len - 1].c == c) {
		w->log[w->log_len - 1].len += n;
	} else {
		if (w->log_len == w->log_cap) {
			size_t cap = w->log_cap ? 2 * w->log_cap : 64;
			arrival *a = realloc(w->log, cap * sizeof *a);
			if (!a)
				return -1;
			w->log = a;
			w->log_cap = cap;
		}
		w->log[w->log_len++] = (arrival){ c, n };
	}
	w->queued += n;
	return 0;
}

/* Read what the sender has, up to the shared queue's room and (on a shaped
 * link) a segment a pass. -1: the socket failed or memory ran out. */
static int dir_read(tu_link *l, wire *w, struct conn *c, dir *d, int fd, int64_t now)
{
	size_t budget = l->o.rate_bps > 0 ? SEG_MAX : SIZE_MAX;
	while (!d->eof && d->qlen < d->qcap && w->queued < l->o.queue_bytes && budget > 0) {
		size_t tail = (d->qhead + d->qlen) % d->qcap;
		size_t room = d->qcap - d->qlen, shared = l->o.queue_bytes - w->queued;
		size_t contig = d->qcap - tail < room ? d->qcap - tail : room;
		contig = contig < shared ? contig : shared;
		contig = contig < budget ? contig : budget;
		ssize_t r = recv(fd, d->q + tail, contig, 0);
		if (r > 0) {
			/* An idle link starts serialising when data arrives, not before. */
			if (w->queued == 0 && !w->busy)
				w->free_at = max64(w->free_at, now);
			if (wire_log(w, c, (size_t)r) < 0)
				return -1;
			d->qlen += (size_t)r;
			budget -= (size_t)r;
		} else if (r == 0) {
			d->eof = true;
		} else if (errno == EINTR) {
			continue;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			break;
		} else {
			return -1;
		}
	}
	return 0;
}

/* A connection's FIN once its queue is empty (it does not use the link). */
static int dir_fin(tu_link *l, dir *d, int64_t now)
{
	if (d->qlen > 0 || !d->eof || d->fin_queued)
		return 0;
	seg *f = calloc(1, sizeof *f);
	if (!f)
		return -1;
	f->fin = true;
	f->due = max64(max64(d->not_before, now) + (int64_t)l->o.delay_ms * MS, d->last_due);
	d->last_due = f->due;
	dir_append(d, f);
	d->fin_queued = true;
	return 1;
}

/* The oldest logged bytes whose connection may send now (its handshake done,
 * its receiver's window not full); -1 if none. */
static long wire_next(const tu_link *l, const wire *w, int dirn, int64_t now)
{
	for (size_t i = 0; i < w->log_len; i++) {
		const dir *d = dirn == 0 ? &w->log[i].c->up : &w->log[i].c->down;
		if (d->not_before <= now && d->held < l->window)
			return (long)i;
	}
	return -1;
}

static dir *conn_dir(struct conn *c, int dirn);

/* The segment on the link has left it: into its connection's in-flight list. */
static int wire_finish(tu_link *l, wire *w, int dirn)
{
	dir *d = conn_dir(w->busy_conn, dirn);
	size_t n = w->busy_len;
	int64_t delay = (int64_t)l->o.delay_ms * MS;
	seg *s = malloc(sizeof *s + n);
	if (!s)
		return -1;
	memset(s, 0, sizeof *s);
	size_t first = d->qcap - d->qhead < n ? d->qcap - d->qhead : n;
	memcpy(s->data, d->q + d->qhead, first);
	memcpy(s->data + first, d->q, n - first);
	d->qhead = (d->qhead + n) % d->qcap;
	d->qlen -= n;
	w->queued -= n;
	s->len = n;
	s->due = w->busy_end + delay;
	w->free_at = w->busy_end;
	if (l->o.loss > 0 && draw(d) < l->o.loss) {
		/* Retransmitted one RTT + 200 ms later; the resend uses the link again. */
		s->due += 2 * delay + RTO_EXTRA;
		w->free_at += ser_ns(l, n);
		pthread_mutex_lock(&l->mu);
		l->st.segments_lost++;
		pthread_mutex_unlock(&l->mu);
	}
	s->due = max64(s->due, d->last_due); /* in order: head-of-line blocking */
	d->last_due = s->due;
	dir_append(d, s);
	d->held += n;
	w->busy = false;
	return 0;
}

/* Move segments over one direction of the link. 1: something moved, 0: nothing, -1: out of memory. */
static int wire_pump(tu_link *l, int dirn, int64_t now)
{
	wire *w = &l->wires[dirn];
	int progress = 0;
	for (;;) {
		if (w->busy) {
			if (w->busy_end > now)
				break;
			if (wire_finish(l, w, dirn) < 0)
				return -1;
			progress = 1;
		}
		long i = wire_next(l, w, dirn, now);
		if (i < 0) {
			w->free_at = max64(w->free_at, now); /* idle meanwhile */
			break;
		}
		arrival *a = &w->log[i];
		dir *d = conn_dir(a->c, dirn);
		w->busy_conn = a->c;
		w->busy_len = a->len < SEG_MAX ? a->len : SEG_MAX;
		w->busy_end = max64(w->free_at, d->not_before) + ser_ns(l, w->busy_len);
		w->busy = true;
		a->len -= w->busy_len;
		if (a->len == 0) {
			memmove(a, a + 1, (w->log_len - (size_t)i - 1) * sizeof *a);
			w->log_len--;
		}
	}
	return progress;
}

/* A connection is going: its bytes leave the queue and the log. */
static void wire_forget(wire *w, struct conn *c, dir *d)
{
	size_t j = 0;
	for (size_t i = 0; i < w->log_len; i++)
		if (w->log[i].c != c)
			w->log[j++] = w->log[i];
	w->log_len = j;
	if (w->busy && w->busy_conn == c) {
		w->busy = false;
		w->free_at = w->busy_end; /* the link stays busy until the segment would have left */
	}
	w->queued -= d->qlen;
	d->qlen = 0;
}

/* Write the due segments to the receiver. 1: something moved, 0: nothing, -1: it failed. */
static int dir_deliver(tu_link *l, dir *d, int fd, bool up, int64_t now)
{
	int progress = 0;
	d->want_write = false;
	while (d->head && d->head->due <= now) {
		seg *s = d->head;
		if (d->limit >= 0 && d->passed >= d->limit)
			break; /* a fault's byte count: nothing more, not even the FIN */
		if (!s->fin) {
			size_t n = s->len - s->off;
			if (d->limit >= 0 && (int64_t)n > d->limit - d->passed)
				n = (size_t)(d->limit - d->passed);
			ssize_t w = send(fd, s->data + s->off, n, MSG_NOSIGNAL);
			if (w < 0) {
				if (errno == EINTR)
					continue;
				if (errno == EAGAIN || errno == EWOULDBLOCK) {
					d->want_write = true;
					break;
				}
				return -1;
			}
			s->off += (size_t)w;
			d->passed += w;
			d->held -= (size_t)w;
			pthread_mutex_lock(&l->mu);
			if (up)
				l->st.up_bytes += w;
			else
				l->st.down_bytes += w;
			pthread_mutex_unlock(&l->mu);
			progress = 1;
			if (s->off < s->len)
				continue;
		} else {
			shutdown(fd, SHUT_WR);
			d->fin_sent = true;
			progress = 1;
		}
		d->head = s->next;
		if (!d->head)
			d->tail = NULL;
		free(s);
	}
	return progress;
}

/* ---- connections */

static void conn_reset(conn *c)
{
	close_rst(c->cfd);
	close_rst(c->ufd);
	c->cfd = c->ufd = -1;
	c->dead = true;
}

static void conn_close(conn *c)
{
	close_fd(&c->cfd);
	close_fd(&c->ufd);
	c->dead = true;
}

/* Its bytes leave the shared queue (before its queues are freed). */
static void conn_forget(tu_link *l, conn *c)
{
	wire_forget(&l->wires[0], c, &c->up);
	wire_forget(&l->wires[1], c, &c->down);
}

static void conn_free(tu_link *l, conn *c)
{
	conn_forget(l, c);
	close_fd(&c->cfd);
	close_fd(&c->ufd);
	dir_free(&c->up);
	dir_free(&c->down);
	free(c);
}

static void conn_accept(tu_link *l, int cfd, int64_t now)
{
	pthread_mutex_lock(&l->mu);
	l->st.connections++;
	tu_fault fault = l->armed;
	int64_t after = l->armed_after < 0 ? 0 : l->armed_after;
	l->armed = TU_FAULT_NONE;
	pthread_mutex_unlock(&l->mu);

	conn *c = calloc(1, sizeof *c);
	if (!c || set_nonblock(cfd) < 0) {
		free(c);
		close_rst(cfd);
		return;
	}
	c->cfd = cfd;
	c->ufd = -1;
	tune_socket(cfd);
	int64_t delay = (int64_t)l->o.delay_ms * MS;
	uint64_t seed = ((uint64_t)l->o.seed << 32) ^ (l->nconn++ * 2);
	/* Handshake: the client's first data could leave one RTT after its SYN,
	 * and the server's accept() would return half an RTT after that. */
	dir_init(&c->up, l->o.queue_bytes, now + 2 * delay, seed);
	dir_init(&c->down, l->o.queue_bytes, now + 3 * delay, seed + 1);
	c->up.q = malloc(l->o.queue_bytes);
	c->down.q = malloc(l->o.queue_bytes);
	c->fault = fault;
	if (fault == TU_FAULT_RESET_UP)
		c->up.limit = after;
	else if (fault != TU_FAULT_NONE)
		c->down.limit = after;

	struct sockaddr_in a;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)l->o.upstream_port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->ufd = socket(AF_INET, SOCK_STREAM, 0);
	if (!c->up.q || !c->down.q || c->ufd < 0 || set_nonblock(c->ufd) < 0) {
		conn_reset(c);
		conn_free(l, c);
		return;
	}
	tune_socket(c->ufd); /* before connect(), so the window is sized from it */
	if (connect(c->ufd, (struct sockaddr *)&a, sizeof a) == 0) {
		c->connecting = false;
	} else if (errno == EINPROGRESS || errno == EINTR) {
		c->connecting = true;
	} else {
		conn_reset(c); /* refused: the client sees a reset */
		conn_free(l, c);
		return;
	}
	c->next = l->conns;
	l->conns = c;
}

/* Read whatever poll() reported. */
static void conn_read(tu_link *l, conn *c, int64_t now)
{
	short rd = POLLIN | POLLHUP | POLLERR;
	if (c->dead)
		return;
	if (c->truncated) {
		if (c->crev & rd) {
			char sink[4096];
			for (;;) {
				ssize_t r = recv(c->cfd, sink, sizeof sink, 0);
				if (r > 0)
					continue;
				if (r < 0 && errno == EINTR)
					continue;
				if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
					break;
				conn_close(c); /* the client closed (or failed): done */
				break;
			}
		}
		return;
	}
	if ((c->crev & rd) && dir_read(l, &l->wires[0], c, &c->up, c->cfd, now) < 0) {
		conn_reset(c);
		return;
	}
	if (c->connecting) {
		if (c->urev & (POLLOUT | POLLERR | POLLHUP)) {
			int err = 0;
			socklen_t len = sizeof err;
			if (getsockopt(c->ufd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0) {
				conn_reset(c);
				return;
			}
			c->connecting = false;
		}
	} else if ((c->urev & rd) && dir_read(l, &l->wires[1], c, &c->down, c->ufd, now) < 0) {
		conn_reset(c);
	}
}

/* Fire the armed fault once its byte count has passed. */
static void conn_fault(tu_link *l, conn *c)
{
	if (c->fault == TU_FAULT_NONE)
		return;
	dir *d = c->fault == TU_FAULT_RESET_UP ? &c->up : &c->down;
	if (d->passed < d->limit)
		return;
	switch (c->fault) {
	case TU_FAULT_RESET_UP:
	case TU_FAULT_RESET_DOWN:
		conn_reset(c);
		break;
	case TU_FAULT_TRUNCATE_DOWN:
		shutdown(c->cfd, SHUT_WR); /* FIN after what was written */
		close_fd(&c->ufd);
		conn_forget(l, c);
		dir_free(&c->up);
		dir_free(&c->down);
		c->truncated = true;
		break;
	case TU_FAULT_STALL_DOWN:
		c->stalled = true; /* down.limit keeps everything else back */
		break;
	case TU_FAULT_NONE:
		break;
	}
	c->fault = TU_FAULT_NONE;
}

/* One round of a connection's own work: FINs, deliveries, faults. 1: something
 * moved, 0: nothing, -1: the connection failed (reset). */
static int conn_step(tu_link *l, conn *c, int64_t now)
{
	if (c->dead || c->truncated)
		return 0;
	int p = 0, r;
	if ((r = dir_fin(l, &c->up, now)) < 0)
		return -1;
	p |= r;
	if ((r = dir_fin(l, &c->down, now)) < 0)
		return -1;
	p |= r;
	if (!c->connecting) {
		if ((r = dir_deliver(l, &c->up, c->ufd, true, now)) < 0)
			return -1;
		p |= r;
	}
	if ((r = dir_deliver(l, &c->down, c->cfd, false, now)) < 0)
		return -1;
	p |= r;
	conn_fault(l, c);
	return p;
}

/* The link and every connection, until nothing moves. */
static void service(tu_link *l, int64_t now)
{
	for (;;) {
		int p = 0;
		for (int dirn = 0; dirn < 2; dirn++) {
			int r = wire_pump(l, dirn, now);
			p |= r > 0;
			/* out of memory: try again next pass */
		}
		for (conn *c = l->conns; c; c = c->next) {
			int r = conn_step(l, c, now);
			if (r < 0) {
				conn_reset(c);
				conn_forget(l, c);
			}
			p |= r > 0;
		}
		if (!p)
			break;
	}
	for (conn *c = l->conns; c; c = c->next)
		if (!c->dead && !c->truncated && c->up.fin_sent && (c->down.fin_sent || c->stalled))
			conn_close(c);
}

/* Next time a segment is due on this connection (INT64_MAX: none). */
static int64_t dir_next(const dir *d, int64_t now)
{
	if (d->head && d->head->due > now && !(d->limit >= 0 && d->passed >= d->limit))
		return d->head->due;
	return INT64_MAX;
}

/* Next time the link can move: the segment on it ends, or a connection's handshake does. */
static int64_t wire_when(const wire *w, int dirn, int64_t now)
{
	if (w->busy)
		return w->busy_end > now ? w->busy_end : now;
	int64_t t = INT64_MAX;
	for (size_t i = 0; i < w->log_len; i++) {
		const dir *d = dirn == 0 ? &w->log[i].c->up : &w->log[i].c->down;
		if (d->not_before > now && d->not_before < t)
			t = d->not_before;
	}
	return t;
}

static short dir_events_in(const tu_link *l, const wire *w, const dir *d)
{
	return !d->eof && d->qlen < d->qcap && w->queued < l->o.queue_bytes ? POLLIN : 0;
}

/* ---- the loop */

static bool stopping(tu_link *l)
{
	pthread_mutex_lock(&l->mu);
	bool s = l->stop;
	pthread_mutex_unlock(&l->mu);
	return s;
}

static void *link_main(void *arg)
{
	tu_link *l = arg;
	short lrev = 0;
	for (;;) {
		int64_t now = mono_ns();
		if (lrev & POLLIN) {
			for (;;) {
				int fd = accept(l->lfd, NULL, NULL);
				if (fd >= 0)
					conn_accept(l, fd, now);
				else if (errno != EINTR)
					break;
			}
		}
		/* Read in turns: whoever has the fewest bytes in the queue reads first
		 * (ties: who reads first moves on each pass), so senders share it. */
		size_t nc = 0;
		for (conn *c = l->conns; c; c = c->next)
			nc++;
		for (size_t k = 0; k < nc; k++) {
			conn *pick = NULL;
			size_t i = 0, best_q = SIZE_MAX, best_turn = SIZE_MAX;
			for (conn *c = l->conns; c; c = c->next, i++) {
				size_t q = c->up.qlen + c->down.qlen, turn = (i + nc - (size_t)(l->pass % nc)) % nc;
				if (!c->read_done && (q < best_q || (q == best_q && turn < best_turn))) {
					pick = c;
					best_q = q;
					best_turn = turn;
				}
			}
			pick->read_done = true;
			conn_read(l, pick, now);
			if (pick->dead)
				conn_forget(l, pick);
		}
		for (conn *c = l->conns; c; c = c->next)
			c->read_done = false;
		l->pass++;
		service(l, now);
		for (conn *c = l->conns; c; c = c->next)
			c->crev = c->urev = 0;
		for (conn **pc = &l->conns; *pc;) {
			conn *c = *pc;
			if (c->dead) {
				*pc = c->next;
				conn_free(l, c);
			} else {
				pc = &c->next;
			}
		}

		/* Build the poll set and the timeout. */
		size_t n = 2;
		for (conn *c = l->conns; c; c = c->next)
			n += 2;
		if (n > l->pcap) {
			size_t cap = n * 2;
			struct pollfd *p = realloc(l->pfd, cap * sizeof *p);
			if (p)
				l->pfd = p;
			conn **pc = realloc(l->pconn, cap * sizeof *pc);
			if (pc)
				l->pconn = pc;
			if (!p || !pc) {
				struct timespec ts = { 0, 10000000 };
				nanosleep(&ts, NULL); /* out of memory: try again shortly */
				if (stopping(l))
					break;
				continue;
			}
			l->pcap = cap;
		}
		l->pfd[0] = (struct pollfd){ .fd = l->wake[0], .events = POLLIN };
		l->pfd[1] = (struct pollfd){ .fd = l->lfd, .events = POLLIN };
		int64_t next = INT64_MAX;
		size_t i = 2;
		for (conn *c = l->conns; c; c = c->next, i += 2) {
			short ce = 0, ue = 0;
			if (c->truncated) {
				ce = POLLIN;
			} else {
				ce = dir_events_in(l, &l->wires[0], &c->up);
				if (c->down.want_write)
					ce |= POLLOUT;
				if (c->connecting) {
					ue = POLLOUT;
				} else {
					ue = dir_events_in(l, &l->wires[1], &c->down);
					if (c->up.want_write)
						ue |= POLLOUT;
				}
				int64_t t = dir_next(&c->up, now);
				if (t < next)
					next = t;
				t = dir_next(&c->down, now);
				if (t < next)
					next = t;
			}
			/* An fd with nothing wanted stays out: POLLHUP would spin the loop. */
			l->pfd[i] = (struct pollfd){ .fd = ce ? c->cfd : -1, .events = ce };
			l->pfd[i + 1] = (struct pollfd){ .fd = ue ? c->ufd : -1, .events = ue };
			l->pconn[i] = l->pconn[i + 1] = c;
		}
		for (int dirn = 0; dirn < 2; dirn++) {
			int64_t t = wire_when(&l->wires[dirn], dirn, now);
			next = t < next ? t : next;
		}
		int timeout = -1;
		if (next != INT64_MAX) {
			int64_t ms = (next - now + MS - 1) / MS; /* round up: no busy waiting */
			timeout = ms > INT_MAX ? INT_MAX : ms < 0 ? 0 : (int)ms;
		}
		int r = poll(l->pfd, (nfds_t)n, timeout);
		if (r < 0 && errno != EINTR)
			break;
		lrev = 0;
		if (r <= 0)
			continue;
		if (l->pfd[0].revents) {
			char buf[64];
			while (read(l->wake[0], buf, sizeof buf) > 0) {
			}
			if (stopping(l))
				break;
		}
		lrev = l->pfd[1].revents;
		for (i = 2; i < n; i += 2) {
			l->pconn[i]->crev = l->pfd[i].revents;
			l->pconn[i]->urev = l->pfd[i + 1].revents;
		}
	}
	return NULL;
}

/* ---- API */

int tu_link_start(tu_link **out, const tu_link_options *o)
{
	*out = NULL;
	if (!o || o->upstream_port <= 0 || o->upstream_port > 65535 || o->rate_bps < 0 ||
	    o->delay_ms < 0 || !(o->loss >= 0 && o->loss <= 1))
		return -1;
	tu_link *l = calloc(1, sizeof *l);
	if (!l)
		return -1;
	l->o = *o;
	if (l->o.queue_bytes == 0)
		l->o.queue_bytes = DEFAULT_QUEUE;
	if (l->o.rate_bps > 0) {
		double w = 2.0 * (double)l->o.rate_bps / 8 * (3.0 * l->o.delay_ms + 200) / 1000;
		l->window = w > (double)WINDOW_MAX ? WINDOW_MAX : w < (double)WINDOW_MIN ? WINDOW_MIN : (size_t)w;
	} else {
		l->window = l->o.delay_ms > 0 || l->o.loss > 0 ? WINDOW_MAX : WINDOW_MIN;
	}
	l->lfd = l->wake[0] = l->wake[1] = -1;
	if (pthread_mutex_init(&l->mu, NULL) != 0) {
		free(l);
		return -1;
	}

	struct sockaddr_in a;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t alen = sizeof a;
	int one = 1;
	l->lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (l->lfd < 0 || set_nonblock(l->lfd) < 0)
		goto fail;
	setsockopt(l->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	tune_socket(l->lfd); /* accepted sockets inherit it, window scale included */
	if (bind(l->lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(l->lfd, 128) < 0 ||
	    getsockname(l->lfd, (struct sockaddr *)&a, &alen) < 0)
		goto fail;
	l->port = ntohs(a.sin_port);
	if (pipe(l->wake) < 0 || set_nonblock(l->wake[0]) < 0 || set_nonblock(l->wake[1]) < 0)
		goto fail;
	if (pthread_create(&l->thread, NULL, link_main, l) != 0)
		goto fail;
	*out = l;
	return 0;
fail:
	if (l->lfd >= 0)
		close(l->lfd);
	if (l->wake[0] >= 0)
		close(l->wake[0]);
	if (l->wake[1] >= 0)
		close(l->wake[1]);
	pthread_mutex_destroy(&l->mu);
	free(l);
	return -1;
}

int tu_link_port(const tu_link *l)
{
	return l->port;
}

void tu_link_stop(tu_link *l)
{
	if (!l)
		return;
	pthread_mutex_lock(&l->mu);
	l->stop = true;
	pthread_mutex_unlock(&l->mu);
	ssize_t w;
	do
		w = write(l->wake[1], "x", 1);
	while (w < 0 && errno == EINTR);
	pthread_join(l->thread, NULL);
	while (l->conns) {
		conn *c = l->conns;
		l->conns = c->next;
		conn_free(l, c);
	}
	free(l->wires[0].log);
	free(l->wires[1].log);
	close(l->lfd);
	close(l->wake[0]);
	close(l->wake[1]);
	free(l->pfd);
	free(l->pconn);
	pthread_mutex_destroy(&l->mu);
	free(l);
}

void tu_link_stats_get(tu_link *l, tu_link_stats *out)
{
	pthread_mutex_lock(&l->mu);
	*out = l->st;
	pthread_mutex_unlock(&l->mu);
}

void tu_link_fault(tu_link *l, tu_fault f, int64_t after_bytes)
{
	pthread_mutex_lock(&l->mu);
	l->armed = f;
	l->armed_after = after_bytes;
	pthread_mutex_unlock(&l->mu);
}
