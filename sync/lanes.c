/*
 * sync/lanes.c — photo exchanges in flight together ("lanes", upload.c),
 * over whichever transport can run them (sync_internal.h):
 *
 *  - the built-in libcurl transport runs them itself, on connections of its
 *    own driven through libcurl's multi interface (transport_curl.c); this
 *    file only passes the calls on;
 *  - a transport that declares FIC_TRANSPORT_CONCURRENT (sys/transport.h:
 *    an app's own, such as the Android binding's HttpURLConnection one) has
 *    its blocking `request` called on a thread of the engine's per lane.
 *
 * A lane's thread does one thing: it waits for a request, calls the
 * transport, and hands the result back under the lock — the response, the
 * status and the thread's error message (fic_error_last is thread-local, so
 * the message is copied and raised again on the syncing thread when
 * fic__lanes_wait hands the lane back). It never touches the store, the
 * platform or the app's callbacks: the syncing thread applies every answer,
 * so the store handle stays with one thread as the API promises. Each lane's
 * request carries a cancel flag of its own. When the pass ends, each lane is
 * told to stop (the flag raised) and whatever its call still returns is
 * applied — an answer that beat the flag says the server took the chunk;
 * otherwise FIC_ECANCELED changes nothing. The pass waits for every call to
 * return (the transport honours `cancel`, or its time limits end the call),
 * so no call into the transport outlives the pass and nothing a request
 * points to is freed under it. The threads are started at
 * a lane's first exchange in a pass and joined when the pass ends; they take
 * none of the app's signals.
 */
#include "sync_internal.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define MSG_MAX 512

enum { W_IDLE, W_RUNNING, W_DONE };

/* A lane on a thread of the engine's. Everything below `th` is guarded by the
 * lanes' mutex, except that the thread alone uses `q` and `resp` while the
 * lane is W_RUNNING (they are the syncing thread's again once it is W_DONE). */
typedef struct worker {
	struct fic__lanes *ls;
	pthread_t th;
	bool started;
	pthread_cond_t go;  /* W_RUNNING, or quit */
	int state;
	fic_cancel *cancel; /* the lane's own: raised to abandon its exchange */
	fic_http_request q; /* the request, with the lane's cancel */
	fic_http_response resp;
	int rc, code;       /* the transport's result; the thread's error code */
	char msg[MSG_MAX];  /* and its message */
} worker;

struct fic__lanes {
	fic_transport *t;
	bool curl;           /* the built-in transport: its own lanes */
	pthread_mutex_t mu;
	pthread_cond_t done; /* a lane became W_DONE */
	bool quit;
	int next;            /* the lane looked at first by the next wait (fairness) */
	worker w[FIC__LANES];
};

static void *lane_main(void *arg)
{
	worker *w = arg;
	fic__lanes *ls = w->ls;
	pthread_mutex_lock(&ls->mu);
	for (;;) {
		while (w->state != W_RUNNING && !ls->quit)
			pthread_cond_wait(&w->go, &ls->mu);
		if (w->state != W_RUNNING)
			break; /* quit, with nothing to do */
		pthread_mutex_unlock(&ls->mu);
		fic_http_response r;
		memset(&r, 0, sizeof r);
		fic__err_clear();
		int rc = ls->t->request(ls->t->ctx, &w->q, &r);
		const fic_error *e = fic_error_last();
		pthread_mutex_lock(&ls->mu);
		w->resp = r;
		w->rc = rc;
		w->code = e->code;
		snprintf(w->msg, sizeof w->msg, "%s", e->message);
		w->state = W_DONE;
		pthread_cond_broadcast(&ls->done);
	}
	pthread_mutex_unlock(&ls->mu);
	return NULL;
}

/* The thread of lane n, on its first exchange; with every signal blocked, so
 * the app's signals go to the app's threads. */
static int lane_thread(fic__lanes *ls, int n)
{
	worker *w = &ls->w[n];
	if (w->started)
		return FIC_OK;
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int e = pthread_create(&w->th, NULL, lane_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e != 0)
		return fic__err(FIC_ERROR, "could not start a photo lane's thread: %s", strerror(e));
	w->started = true;
	return FIC_OK;
}

/* The lock, the conditions and the lanes' cancel flags. */
static int lanes_init(fic__lanes *ls)
{
	pthread_condattr_t ca;
	if (pthread_condattr_init(&ca) != 0)
		return fic__err(FIC_ERROR, "could not make the photo lanes' locks");
	int e = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* timed waits on the monotonic clock */
	if (e == 0)
		e = pthread_mutex_init(&ls->mu, NULL);
	if (e == 0 && (e = pthread_cond_init(&ls->done, &ca)) != 0)
		pthread_mutex_destroy(&ls->mu);
	pthread_condattr_destroy(&ca);
	if (e != 0)
		return fic__err(FIC_ERROR, "could not make the photo lanes' locks");
	int n = 0, rc = FIC_OK;
	for (; n < FIC__LANES && rc == FIC_OK; n++) {
		worker *w = &ls->w[n];
		w->ls = ls;
		if (pthread_cond_init(&w->go, NULL) != 0)
			rc = fic__err(FIC_ERROR, "could not make the photo lanes' locks");
		else if ((rc = fic_cancel_new(&w->cancel)) != FIC_OK)
			pthread_cond_destroy(&w->go);
	}
	if (rc != FIC_OK) {
		for (int i = 0; i < n - 1; i++) {
			pthread_cond_destroy(&ls->w[i].go);
			fic_cancel_free(ls->w[i].cancel);
		}
		pthread_cond_destroy(&ls->done);
		pthread_mutex_destroy(&ls->mu);
	}
	return rc;
}

int fic__lanes_open(fic__lanes **out, fic_transport *t)
{
	*out = NULL;
	bool curl = fic__curl_lanes(t);
	if (!curl && (t->version < 4 || !(t->flags & FIC_TRANSPORT_CONCURRENT)))
		return FIC_OK; /* one exchange at a time */
	fic__lanes *ls = fic__calloc(1, sizeof *ls);
	if (ls == NULL)
		return fic__err(FIC_ENOMEM, "out of memory starting the photo lanes");
	ls->t = t;
	ls->curl = curl;
	int rc = curl ? FIC_OK : lanes_init(ls);
	if (rc != FIC_OK) {
		fic__free(ls);
		return rc;
	}
	*out = ls;
	return FIC_OK;
}

int fic__lanes_start(fic__lanes *ls, int n, const fic_http_request *req)
{
	fic__err_clear();
	if (ls->curl)
		return fic__curl_lanes_start(ls->t, n, req);
	if (n < 0 || n >= FIC__LANES || req == NULL)
		return fic__err(FIC_EINVAL, "lane %d: bad arguments", n);
	worker *w = &ls->w[n];
	pthread_mutex_lock(&ls->mu);
	int rc = w->state != W_IDLE ? fic__err(FIC_EINVAL, "lane %d is busy", n) : lane_thread(ls, n);
	if (rc == FIC_OK) {
		w->q = *req;
		w->q.cancel = w->cancel;
		w->state = W_RUNNING;
		pthread_cond_signal(&w->go);
	}
	pthread_mutex_unlock(&ls->mu);
	return rc;
}

/* Lane n's result handed to the syncing thread (under the lock): the lane is idle again. */
static void take(worker *w, int *rc, fic_http_response *resp)
{
	*rc = w->rc;
	*resp = w->resp;
	memset(&w->resp, 0, sizeof w->resp);
	w->state = W_IDLE;
	fic_cancel_reset(w->cancel);
}

/* The lane's error on this thread: its message when it set one for this result. */
static void raise_lane_error(int rc, int code, const char *msg)
{
	if (rc == FIC_OK)
		fic__err_clear();
	else if (code == rc)
		fic__err(rc, "%s", msg);
	else
		fic__err(rc, "transport failed: %s", fic_result_str(rc));
}

static void deadline_in(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

int fic__lanes_wait(fic__lanes *ls, int timeout_ms, int *n, int *rc, fic_http_response *resp)
{
	if (ls->curl)
		return fic__curl_lanes_wait(ls->t, timeout_ms, n, rc, resp);
	memset(resp, 0, sizeof *resp);
	struct timespec until;
	deadline_in(&until, timeout_ms > 0 ? timeout_ms : 0);
	int code = FIC_OK;
	char msg[MSG_MAX];
	pthread_mutex_lock(&ls->mu);
	for (;;) {
		bool running = false;
		for (int k = 0; k < FIC__LANES; k++) {
			int i = (ls->next + k) % FIC__LANES;
			worker *w = &ls->w[i];
			if (w->state == W_DONE) {
				ls->next = (i + 1) % FIC__LANES; /* the other lane first next time */
				*n = i;
				code = w->code;
				memcpy(msg, w->msg, sizeof msg);
				take(w, rc, resp);
				pthread_mutex_unlock(&ls->mu);
				raise_lane_error(*rc, code, msg);
				return 1;
			}
			running |= w->state == W_RUNNING;
		}
		if (!running || pthread_cond_timedwait(&ls->done, &ls->mu, &until) != 0) {
			/* none in flight, or the time is up (a lane that finished just
			 * now is taken by the next wait) */
			pthread_mutex_unlock(&ls->mu);
			return 0;
		}
	}
}

bool fic__lanes_sent(fic__lanes *ls, int n)
{
	return ls->curl ? fic__curl_lanes_sent(ls->t, n) : false;
}

bool fic__lanes_stop(fic__lanes *ls, int n)
{
	if (ls->curl || n < 0 || n >= FIC__LANES)
		return false;
	worker *w = &ls->w[n];
	pthread_mutex_lock(&ls->mu);
	bool busy = w->state != W_IDLE;
	if (w->state == W_RUNNING)
		fic_cancel_request(w->cancel);
	pthread_mutex_unlock(&ls->mu);
	return busy;
}

void fic__lanes_cancel(fic__lanes *ls, int n)
{
	if (ls->curl) {
		fic__curl_lanes_cancel(ls->t, n);
		return;
	}
	if (n < 0 || n >= FIC__LANES)
		return;
	worker *w = &ls->w[n];
	pthread_mutex_lock(&ls->mu);
	if (w->state == W_RUNNING)
		fic_cancel_request(w->cancel);
	while (w->state == W_RUNNING)
		pthread_cond_wait(&ls->done, &ls->mu);
	if (w->state == W_DONE) {
		int rc;
		fic_http_response r;
		take(w, &rc, &r);
		fic__free(r.body);
	}
	pthread_mutex_unlock(&ls->mu);
}

void fic__lanes_close(fic__lanes *ls)
{
	if (ls == NULL)
		return;
	if (ls->curl) {
		for (int n = 0; n < FIC__LANES; n++)
			fic__curl_lanes_cancel(ls->t, n);
		fic__free(ls);
		return;
	}
	for (int n = 0; n < FIC__LANES; n++)
		fic__lanes_cancel(ls, n);
	pthread_mutex_lock(&ls->mu);
	ls->quit = true;
	for (int n = 0; n < FIC__LANES; n++)
		pthread_cond_signal(&ls->w[n].go);
	pthread_mutex_unlock(&ls->mu);
	for (int n = 0; n < FIC__LANES; n++) {
		worker *w = &ls->w[n];
		if (w->started)
			pthread_join(w->th, NULL);
		pthread_cond_destroy(&w->go);
		fic_cancel_free(w->cancel);
	}
	pthread_cond_destroy(&ls->done);
	pthread_mutex_destroy(&ls->mu);
	fic__free(ls);
}
