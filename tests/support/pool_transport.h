/*
 * tests/support/pool_transport.h — an app's own transport, as the engine
 * sees one (sys/transport.h), built from the library's libcurl transport:
 * a pool of a few curl transports, each with its kept-alive connection, one
 * lent to each call — what an app's HTTP client with a connection pool
 * (Android's HttpURLConnection, OkHttp) does. With `concurrent` the table
 * is version 4 with FIC_TRANSPORT_CONCURRENT, so the engine runs its photo
 * lanes on threads of its own through it; without, it is a version-3 table
 * (one request at a time). For the tests of the lanes (what ran where and
 * at once, faults on cue) and for bench/sync_bench.c (the figures of an
 * app's transport next to the built-in one's).
 *
 * Thread-safety: the table's `request` may be called from any number of
 * threads at once (up to TU_POOL_MAX calls in flight; more get FIC_ERROR).
 */
#ifndef FIC_TEST_POOL_TRANSPORT_H
#define FIC_TEST_POOL_TRANSPORT_H

#include <fieldinspect/fieldinspect.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define TU_POOL_MAX 4
#define TU_POOL_LOG 4096

/* One call as the pool saw it. */
typedef struct tu_pool_call {
	char method[8];
	char sha256[65];      /* the photo of a /v1/photos/ request, else "" */
	int64_t offset;       /* PATCH: its Upload-Offset; else -1 */
	size_t len;           /* the request body's bytes */
	int rc;               /* the curl transport's result */
	int status;           /* the HTTP status when rc is FIC_OK, else 0 */
	pthread_t thread;     /* the thread it was called on */
	bool hooked;          /* the hook asked for something on this call */
} tu_pool_call;

typedef struct tu_pool tu_pool;

/*
 * Called on the calling thread before a request is forwarded; `patch` is
 * the number of this PATCH among the pool's PATCHes (1, 2, …; 0 for other
 * methods). Set *fresh to send this request on a new connection (a fresh
 * curl transport: a fault armed on a link proxy for its next connection
 * then hits this request), *hooked to mark the call in the log.
 */
typedef void (*tu_pool_hook)(void *arg, const fic_http_request *q, int patch, bool *fresh,
                             bool *hooked);

/* A pool of curl transports made with `co` (NULL: defaults). 0, or -1. */
int tu_pool_new(tu_pool **out, const fic_curl_options *co, bool concurrent);
/* The table to put in fic_sync_options.transport (lives as long as the pool). */
fic_transport *tu_pool_transport(tu_pool *p);
void tu_pool_set_hook(tu_pool *p, tu_pool_hook hook, void *arg);
typedef struct tu_pool_stats {
	int calls;         /* requests made */
	int in_flight;     /* calls not yet returned, now */
	int max_in_flight; /* the most at once */
	int threads;       /* distinct calling threads */
	int patches;       /* PATCH requests */
} tu_pool_stats;
void tu_pool_stats_get(tu_pool *p, tu_pool_stats *out);
/* The log of finished calls (at most TU_POOL_LOG, oldest first): a copy in
 * *out (free()), its length returned. */
size_t tu_pool_log(tu_pool *p, tu_pool_call **out);
/* Forget the counts and the log. */
void tu_pool_reset(tu_pool *p);
/* Free the pool and its transports (no call may be in flight). NULL is fine. */
void tu_pool_free(tu_pool *p);

#endif
