/*
 * sync/sync_internal.h — the parts of the sync engine that need no network:
 * reading the outbox in the order that gets urgent leads through first
 * (queue.c), the backoff schedule for transient failures, and the wire codec
 * for a records batch and the server's answer (wire.c); and what the sync
 * pass (engine.c), the photo upload (upload.c) and the feeds (pull.c) share.
 *
 * Thread-safety: as the store — one thread at a time per store handle.
 */
#ifndef FIC_SYNC_INTERNAL_H
#define FIC_SYNC_INTERNAL_H

#include "flow/flow.h"

#include <stddef.h>
#include <stdint.h>

/* Outbox priorities (store/db.h): rows at FIC_PRIORITY_URGENT and above go
 * in a batch of their own, first. */

/* Protocol limits (docs/protocol.md, "Limits"). */
#define FIC_SYNC_BATCH_MAX_RECORDS 500
#define FIC_SYNC_BATCH_MAX_BYTES (1024 * 1024)
#define FIC_SYNC_RESPONSE_MAX_BYTES (4 * 1024 * 1024)

/* One outbox row taken for sending. */
typedef struct fic__outbox_item {
	int64_t seq;
	int priority;
	int attempts;
	char *record_type;
	char *record_id;
	char *op;
	char *payload; /* JSON text as the core stored it */
	/* The id on the wire, which the server is idempotent by: the record id,
	 * except for records of something that changes more than once (a site:
	 * add, update, close), whose every change is its own record
	 * "<device id>:site:<outbox seq>" — unique to this device and change
	 * (the site's id is in the payload; two devices changing the same county
	 * site must never share an id, nor a change an audit entry's
	 * "<device id>:<seq>"). NULL: the record id. */
	char *wire_id;
} fic__outbox_item;

/* The wire id of outbox row `seq` (see fic__outbox_item.wire_id); fic__free it. */
char *fic__wire_id(const char *device_id, const char *record_type, const char *record_id,
                   int64_t seq);
#define FIC_WIRE_ID(it) ((it)->wire_id ? (it)->wire_id : (it)->record_id)

typedef struct fic__outbox_batch {
	fic__outbox_item *items;
	size_t count;
	size_t payload_bytes; /* sum of the payloads' lengths */
	bool urgent;          /* every item is an urgent lead record */
} fic__outbox_batch;

/*
 * The next batch to send at `now_ms`: pending rows whose backoff has run out,
 * highest priority first, then oldest first. Urgent rows (priority >=
 * FIC_PRIORITY_URGENT) never share a batch with others, so an urgent
 * lead is never held back by the size of ordinary records. At most
 * `max_records` rows and `max_bytes` of payload (but always at least one row,
 * so a single large record still goes). *out is NULL when nothing is due.
 * Free with fic__outbox_batch_free.
 */
int fic__outbox_next_batch(fic_store *store, int64_t now_ms, size_t max_records,
                           size_t max_bytes, fic__outbox_batch **out);
void fic__outbox_batch_free(fic__outbox_batch *batch);

/* Counts of outbox rows by state (pending includes those waiting for backoff). */
typedef struct fic__outbox_counts {
	int64_t pending, acked, rejected, urgent_pending;
	int64_t next_due_ms; /* earliest next_at_ms of a pending row, or INT64_MAX */
} fic__outbox_counts;
int fic__outbox_counts_get(fic_store *store, fic__outbox_counts *out);

/* What the server said about one record. */
typedef enum fic__result_kind {
	FIC__RESULT_STORED = 1,
	FIC__RESULT_DUPLICATE,
	FIC__RESULT_REJECTED
} fic__result_kind;

typedef struct fic__record_result {
	fic__result_kind kind;
	char *receipt_id;       /* stored / duplicate */
	int64_t received_at_ms; /* stored / duplicate */
	char *reason;           /* rejected: the server's message */
	bool retry;             /* rejected: whether trying again can help */
	int64_t retry_after_ms; /* rejected with retry: the server's hint, or 0 */
} fic__record_result;

/*
 * Record the server's result for outbox row `seq` in one transaction:
 * stored/duplicate → acked with the receipt; rejected without retry →
 * rejected with the reason (kept, shown to the user, never deleted);
 * rejected with retry → still pending, attempts + 1, next_at_ms by
 * fic__backoff_ms. `rand32` is the jitter source (from the platform).
 */
int fic__outbox_apply(fic_store *store, int64_t seq, const fic__record_result *res,
                      int64_t now_ms, uint32_t rand32);
/*
 * The same for a whole answer: results[i] for batch->items[i], all in one
 * transaction (one fsync per answer, not per record). A lead record that is
 * stored or a duplicate moves its lead to "delivered" with the server's
 * receipt id and time; one refused for good moves it to "rejected" with the
 * reason. Rows no longer pending (answered meanwhile through another
 * handle) are left alone and counted in *skipped (may be NULL).
 */
int fic__outbox_apply_batch(fic_store *store, const fic__outbox_batch *batch,
                            const fic__record_result *results, int64_t now_ms, uint32_t rand32,
                            size_t *skipped);

/*
 * A transient failure of the whole exchange (no network, timeout, reset, 5xx,
 * 429): every item of the batch stays pending with attempts + 1 and a backoff,
 * and `why` is kept as its last error. One transaction. *until (may be NULL)
 * gets the earliest time any of them may be sent again.
 */
int fic__outbox_defer(fic_store *store, const fic__outbox_batch *batch, const char *why,
                      int64_t retry_after_ms, int64_t now_ms, uint32_t rand32, int64_t *until);

/*
 * Retention: delete the acknowledged rows whose server receipt is older than
 * the setting outbox_retention_days (default 7; `now_ms` is the device's
 * clock, moved by the trusted-time offset when known), with their payloads,
 * keeping one tombstone per record in outbox_pruned (count, newest seq,
 * latest receipt time). Pending and rejected rows are never pruned. Batches
 * of 1 000 rows, each one transaction. Returns how many rows went, or a
 * negative status (logged); the thread's last error is left as it was, so
 * the push pass that calls it at its end reports its own.
 */
int64_t fic__outbox_prune(fic_store *store, int64_t now_ms);

/*
 * Delay before attempt number `attempts` + 1 after `attempts` failures
 * (attempts >= 1): exponential from 1 s, doubling, capped at 5 minutes, with
 * "equal jitter" (half the step fixed, half drawn from rand32), and never
 * less than the server's Retry-After (`retry_after_ms`, capped at 1 hour).
 */
int64_t fic__backoff_ms(int attempts, int64_t retry_after_ms, uint32_t rand32);
#define FIC_SYNC_BACKOFF_BASE_MS 1000
#define FIC_SYNC_BACKOFF_CAP_MS (5 * 60 * 1000)
#define FIC_SYNC_RETRY_AFTER_CAP_MS (60 * 60 * 1000)

/* ---- wire codec (wire.c) ---- */

/*
 * The JSON body of POST /v1/records for `batch`: {"records":[...]} where a
 * record is its stored payload with type, id and op set (chained records
 * carry seq/hash/canonical inside the payload already). With `gzip`, the body
 * is gzip-compressed (Content-Encoding: gzip). Free *body with fic__free.
 */
int fic__wire_encode_batch(const fic__outbox_batch *batch, bool gzip, unsigned char **body,
                           size_t *body_len);

/*
 * Parse the server's answer to a records batch. It must be a JSON object
 * with a "results" array holding exactly one well-formed result per record of
 * `batch`, each naming that record's id, in any order; unknown fields are
 * ignored. Anything else — not JSON, too large, wrong types, a missing,
 * extra, duplicate or unknown id, an unknown status — is FIC_EPROTO and
 * *results stays NULL. On success *results has batch->count entries in the
 * batch's order; free with fic__wire_results_free(results, batch->count).
 */
int fic__wire_parse_results(const char *body, size_t len, const fic__outbox_batch *batch,
                            fic__record_result **results);
void fic__wire_results_free(fic__record_result *results, size_t count);

/* gzip (RFC 1952) of `len` bytes; *out freed with fic__free. */
int fic__gzip(const void *data, size_t len, unsigned char **out, size_t *out_len);
/* Inflate a gzip body, refusing output larger than `max_out` (FIC_ETOOBIG). */
int fic__gunzip(const void *data, size_t len, size_t max_out, unsigned char **out,
                size_t *out_len);

/* ---- shared by every request (exchange.c) ---- */

#include "fieldinspect/sync.h"

#define FIC_SYNC_TOKEN_MIN 32
#define FIC_SYNC_TOKEN_MAX 128

/* The options every entry point checks: a store, a transport, a server URL. */
/* The caller's options `in`, of any version this library reads, checked and
 * copied into `o` (at this version, later fields at their defaults). */
int fic__sync_check_opts(fic_store *store, const fic_sync_options *in, fic_sync_options *o);

/* What an HTTP status means for the pass (docs/protocol.md, "Order of
 * sending": how the device reads each answer). */
typedef enum fic__answer {
	FIC__ANSWER_OK,      /* 2xx */
	FIC__ANSWER_AUTH,    /* 401, 403: this device is refused (enrol again) */
	FIC__ANSWER_BUSY,    /* 429, 5xx: transient, honour Retry-After */
	FIC__ANSWER_REFUSED, /* 400, 413, 422: what was sent is refused */
	FIC__ANSWER_FOREIGN, /* any other 4xx: the URL does not speak this protocol */
	FIC__ANSWER_ODD      /* anything else (1xx, 3xx): not a protocol answer */
} fic__answer;
fic__answer fic__answer_class(int status);
/*
 * The pass's error for an answer that is not what the caller wanted, with
 * the server's message: FIC_EAUTH for AUTH; FIC_ENETWORK for BUSY (and the
 * server is held for its Retry-After, given back in *retry_after if not
 * NULL); FIC_EPROTO otherwise. `what` says what was being done.
 */
int fic__answer_error(fic_store *store, const fic_http_response *r, const char *what,
                      int64_t *retry_after);

/* One exchange with the server: builds the URL, applies the pass's limits,
 * counts requests and bytes, feeds the clock offset. Its two halves, for an
 * exchange run on a lane: the request (`url` holds the URL it points to),
 * and what to do with the transport's answer `rc` after `rtt` ms. */
void fic__sync_request(const fic_sync_options *o, const char *method, const char *path,
                       const fic_http_header *h, size_t nh, const void *body, size_t len, char *url,
                       size_t url_size, fic_http_request *q);
int fic__sync_answered(fic_store *store, int rc, size_t len, int64_t rtt, fic_http_response *resp,
                       fic_sync_report *rep);
int fic__sync_exchange(fic_store *store, const fic_sync_options *o, const char *method,
                       const char *path, const fic_http_header *h, size_t nh, const void *body,
                       size_t len, fic_http_response *resp, fic_sync_report *rep);
/* The server's error body: its message (bounded, one line) and retry hint. */
void fic__sync_error_body(const fic_http_response *r, char *msg, size_t size,
                          int64_t *retry_after);
uint32_t fic__sync_rand32(fic_store *store);
/* The server said Retry-After (ms; ≤ 0: it did not): contact it for nothing
 * but due records until then, at most an hour (kept in sync_state, so it
 * holds across passes and restarts). */
void fic__sync_hold(fic_store *store, int64_t now_ms, int64_t retry_after_ms);
bool fic__sync_held(fic_store *store, int64_t now_ms);
/* sync_state values: FIC_ENOTFOUND (no message) when the key is absent. */
int fic__sync_state_get(fic_store *store, const char *key, char *buf, size_t size);
int fic__sync_state_put(fic_store *store, const char *key, const char *value);
/* "Bearer <token>" into buf (the token read through the secret hook):
 * FIC_ESTATE when not enrolled, or when o->server_url is not the server the
 * device enrolled with (the token is sent nowhere else). */
int fic__sync_auth(fic_store *store, const fic_sync_options *o, char *buf, size_t size);
/* Whether two server URLs name the same server: scheme and host:port
 * without regard to case, the path exactly, trailing slashes ignored. */
bool fic__sync_same_server(const char *a, const char *b);

/* ---- the county's key and leaving the county (county_key.c) ---- */
/* Pin the "county_key" of a server's answer (enrolment, GET
 * /v1/county-key) if it has one: {"id": …, "public_key": base64}. Inside the
 * caller's transaction. FIC_EPROTO for a malformed one (or an id that is not
 * its key's), FIC_ESTATE when another key is pinned. */
int fic__sync_pin_county_key(fic_store *store, const struct cJSON *answer, const char *county);
/* Whether `answer`'s county_key (if any) is well formed and may be pinned,
 * before anything is stored: FIC_OK, FIC_EPROTO, FIC_ESTATE. */
int fic__sync_check_county_key(fic_store *store, const struct cJSON *answer);
/* An enrolled device without a pinned key (enrolled before schema 5, or
 * with a server that had none then) asks for it, once per pass. A server
 * that has none (404) is not an error. */
int fic__sync_fetch_county_key(fic_store *store, const fic_sync_options *o, const char *auth,
                               fic_sync_report *rep);

/* ---- the audit log (audit.c) ---- */
/*
 * One request of the audit log's new entries (after the cursor
 * sync.audit_seq, at most *max); *idle when there is nothing (more) to send
 * in this pass. Halves *max to isolate an entry the server refuses.
 */
int fic__sync_push_audit(fic_store *store, const fic_sync_options *o, const fic_http_header *h,
                         size_t nh, fic_sync_report *rep, size_t *max, bool *idle);

/* ---- exchanges run together: lanes (lanes.c) ---- */

#define FIC__LANES 2

/*
 * Photo exchanges in flight together, each on a lane of its own: with the
 * built-in libcurl transport, its own connections driven through libcurl's
 * multi interface (transport_curl.c); with a transport that declares
 * FIC_TRANSPORT_CONCURRENT, its `request` called on a thread of the
 * engine's per lane (lanes.c). Either way every call here is made on the
 * syncing thread, which alone applies the answers (and alone touches the
 * store); a lane's thread only calls `request`.
 */
typedef struct fic__lanes fic__lanes;

/* Lanes for `t`, or *out NULL when `t` runs one exchange at a time (a
 * version-3 table, or one without FIC_TRANSPORT_CONCURRENT). FIC_ENOMEM. */
int fic__lanes_open(fic__lanes **out, fic_transport *t);
/* Start `req` on lane n (0 .. FIC__LANES-1), which must be idle. Everything
 * `req` points to must stay valid until fic__lanes_wait hands the lane back
 * or fic__lanes_cancel abandons it; its `cancel` is replaced by the lane's. */
int fic__lanes_start(fic__lanes *l, int n, const fic_http_request *req);
/* Wait up to timeout_ms for a lane's exchange to finish. 1 when one did: its
 * lane in *n, the transport's result in *rc (with the lane's error message as
 * this thread's error) and, for FIC_OK, the response (body fic__free'd by the
 * caller); 0 when none did in time or none is in flight. */
int fic__lanes_wait(fic__lanes *l, int timeout_ms, int *n, int *rc, fic_http_response *resp);
/* Whether lane n's request is known to be all on its way (only the answer
 * is awaited). Only libcurl can tell; an app's transport: false. */
bool fic__lanes_sent(fic__lanes *l, int n);
/* Ask lane n's exchange to stop without waiting (a lane thread: its cancel
 * flag is raised, and fic__lanes_wait hands back whatever it ends with — an
 * answer that came first, or FIC_ECANCELED). false when the lane cannot be
 * asked (libcurl's: fic__lanes_cancel it) or is idle. */
bool fic__lanes_stop(fic__lanes *l, int n);
/* Abandon lane n's exchange: libcurl closes its connection; a lane thread's
 * request is cancelled through its flag and waited for (the transport must
 * honour `cancel`; at worst its own time limits end it). */
void fic__lanes_cancel(fic__lanes *l, int n);
/* Abandon whatever is in flight, stop the lanes' threads, free (NULL is fine). */
void fic__lanes_close(fic__lanes *l);

/* The built-in transport's side (transport_curl.c; transport_nocurl.c without
 * libcurl): whether `t` is it, and the calls above on its connections. */
bool fic__curl_lanes(const fic_transport *t);
int fic__curl_lanes_start(fic_transport *t, int n, const fic_http_request *req);
int fic__curl_lanes_wait(fic_transport *t, int timeout_ms, int *n, int *rc,
                         fic_http_response *resp);
bool fic__curl_lanes_sent(fic_transport *t, int n);
void fic__curl_lanes_cancel(fic_transport *t, int n);

/* ---- photo uploads (upload.c) ---- */

#define FIC_SYNC_CHUNK_DEFAULT (32 * 1024)
#define FIC_SYNC_CHUNK_MAX (256 * 1024)
#define FIC_SYNC_PHOTO_ATTEMPTS 3 /* hash mismatches before a photo is refused */
#define FIC_SYNC_PHOTO_STUCK 3    /* answers without progress before the server is doubted */

/* Where the pass stands with the photo it is uploading. */
typedef struct fic__upload_cursor {
	char sha256[FIC_SHA256_HEX]; /* "" when no photo is under way */
	int64_t offset;  /* the server's offset, as last told */
	size_t chunk;    /* bytes per PATCH */
	int stuck;       /* answers in a row that did not move the offset forward */
} fic__upload_cursor;

/* A photo due, as the queue has it. */
typedef struct fic__due_upload {
	char sha256[FIC_SHA256_HEX];
	int64_t bytes;
	int hash_failures;
} fic__due_upload;

/* A lane's photo and the exchange it has in flight (which must stay valid). */
typedef struct fic__upload_lane {
	fic__upload_cursor cur;
	fic__due_upload u;       /* the photo, as the queue had it when the lane took it */
	int busy;                /* nothing, a HEAD or a chunk in flight */
	int64_t started;         /* monotonic ms, for the clock offset */
	unsigned char *buf;      /* the chunk in flight */
	size_t sent;             /* its length */
	char path[100], url[600], off_s[24], len_s[24];
	fic_http_header h[4];
	fic_http_request req;
} fic__upload_lane;

/* The pass's photo uploads. */
typedef struct fic__uploader {
	fic__upload_cursor cur;               /* a transport without lanes: one photo at a time */
	fic__upload_lane lane[FIC__LANES];
	fic__lanes *lanes;                    /* NULL: the transport has none */
	bool lanes_checked;                   /* fic__lanes_open was called in this pass */
	size_t chunk;                         /* photo_chunk_bytes: fixed; 0: the engine's own */
	size_t chunk_cap;                     /* the largest chunk the server has taken */
} fic__uploader;

/*
 * One step of the photo upload: with lanes, start what the idle lanes can do
 * and let the lanes run for a moment (applying an exchange that finished);
 * otherwise a HEAD or one chunk. *idle when no photo is due and nothing is
 * in flight. Returns FIC_OK to go on; FIC_ENETWORK etc. to end the pass (the
 * upload is deferred with a backoff, as records are). The lanes are opened
 * at the first step of a pass and closed by fic__upload_end.
 */
int fic__upload_step(fic_store *store, const fic_sync_options *o, const char *auth,
                     fic__uploader *up, fic_sync_report *rep, bool *idle);
/* The pass ends: an exchange whose request is all sent (libcurl's), or that
 * runs on a lane thread (told to stop), gets a moment for its answer
 * (applied as any other), the rest are abandoned (their photos resume at the
 * server's offset next time); the lanes are closed (their threads joined: no
 * call into the transport outlives the pass). */
void fic__upload_end(fic_store *store, const fic_sync_options *o, fic__uploader *up,
                     fic_sync_report *rep);
/* Pending uploads (due or waiting), and those of urgent leads. */
int fic__upload_counts(fic_store *store, int64_t *pending, int64_t *urgent);

/* ---- feeds (pull.c) ---- */
int fic__sync_pull(fic_store *store, const fic_sync_options *o, const char *auth,
                   fic_sync_report *rep);

#endif
