/*
 * fieldinspect/sys/transport.h — the HTTP seam of the sync engine.
 *
 * The sync engine speaks to the county server through a small table of
 * functions, as SQLite reaches files through a VFS: an Android app can plug
 * in its own HTTP stack (OkHttp through JNI, with the phone's proxy and
 * certificate store), and tests plug in fakes. The built-in transport is
 * libcurl, made by fic_transport_curl_new().
 *
 * Like fic_platform the table is versioned: new members are appended and the
 * version raised; the engine reads only the members the version declares.
 * Version 2 added fic_http_response.content_encoding: the engine asks for
 * gzip'd feed pages (Accept-Encoding: gzip) only from a version-2 transport,
 * which must then hand the body back as it came, not decoded, and say how it
 * is coded; the engine inflates it within its own size limit.
 *
 * Version 3 (fieldinspect 0.2, the first stable ABI) gave the request a
 * `version` and replaced the `volatile int *` cancel flag with a fic_cancel
 * (an atomic: common.h); the engine refuses transports of version 1 and 2.
 *
 * Version 4 appended `flags`: a transport that sets FIC_TRANSPORT_CONCURRENT
 * lets the engine call `request` from several threads at once, and the
 * engine then uploads photos on lanes (two exchanges in flight, each on a
 * thread of the engine's own) while the records keep the syncing thread.
 * A version-3 table has no `flags` and is never called concurrently.
 *
 * Memory: the transport allocates the response body with fic_malloc() /
 * fic_realloc() (common.h); the engine frees it with fic_free().
 *
 * Thread-safety: a transport is used by one thread at a time (the thread
 * running a sync pass) unless it sets FIC_TRANSPORT_CONCURRENT (version 4);
 * then `request` is also called from the engine's lane threads, up to three
 * calls at once (the syncing thread's and one per lane), each with its own
 * request and response. The request's `cancel` may be raised from any thread.
 */
#ifndef FIELDINSPECT_SYS_TRANSPORT_H
#define FIELDINSPECT_SYS_TRANSPORT_H

#include "../common.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** One request header; both strings are the caller's. */
typedef struct fic_http_header {
	const char *name;
	const char *value;
} fic_http_header;

/** A request. Everything it points to is the caller's and outlives the call. */
typedef struct fic_http_request {
	/** The engine's FIC_TRANSPORT_VERSION: the request has the members of that
	 * version, and the transport fills only the response members of the older
	 * of it and its own. */
	unsigned int version;
	const char *method; /**< "GET", "HEAD", "POST" or "PATCH" */
	const char *url;    /**< absolute; https, or http to a loopback address only */
	const fic_http_header *headers;
	size_t header_count;
	const void *body; /**< may be NULL when body_len is 0 */
	size_t body_len;
	/** Give up connecting after this long (0: 15 s). */
	long connect_timeout_ms;
	/** Give up when fewer than low_speed_bytes arrive per second for this long (0: 30 s). */
	long low_speed_time_ms;
	long low_speed_bytes; /**< (0: 10 bytes/s) */
	/** Give up on the whole exchange after this long (0: 120 s). */
	long total_timeout_ms;
	/** Refuse a response body larger than this (0: 4 MiB). */
	size_t max_response_bytes;
	/** If non-NULL and raised (from any thread), the request stops with
	 * FIC_ECANCELED; poll it with fic_cancel_requested(). */
	const fic_cancel *cancel;
} fic_http_request;

/** fic_http_response.content_encoding: how the body is coded (Content-Encoding). */
#define FIC_HTTP_CODING_NONE 0  /**< no Content-Encoding, or "identity" */
#define FIC_HTTP_CODING_GZIP 1  /**< "gzip" (or "x-gzip") */
#define FIC_HTTP_CODING_OTHER 2 /**< anything else, including several codings */

/** What came back. The transport fills it (the engine zeroes it first); the
 * body is allocated with fic_malloc() and the engine frees it with fic_free(). */
typedef struct fic_http_response {
	int status;             /**< the HTTP status code */
	/** NUL-terminated for convenience; NULL when empty. As the server sent it:
	 * a transport never decodes a Content-Encoding (version 2). */
	unsigned char *body;
	size_t body_len;        /**< bytes as received (compressed, if the body is) */
	int64_t server_time_ms; /**< X-Fic-Server-Time, or -1 when absent or malformed */
	int64_t retry_after_ms; /**< Retry-After (delta-seconds) in ms, or -1 */
	int64_t upload_offset;  /**< Upload-Offset, or -1 */
	/** FIC_HTTP_CODING_*: the body's Content-Encoding (version 2; the engine
	 * zeroes the response before the call, so a version-1 transport leaves
	 * FIC_HTTP_CODING_NONE). */
	int content_encoding;
} fic_http_response;

#define FIC_TRANSPORT_VERSION 4
/** The oldest transport table version the engine accepts (see the top of this file). */
#define FIC_TRANSPORT_MIN_VERSION 3

/**
 * fic_transport.flags (version 4): `request` may be called from several
 * threads at once. Set it only if that is so: each call must use nothing the
 * others change (its own connection from a pool, say: an HTTP client that
 * keeps several kept-alive connections, as Android's HttpURLConnection or
 * OkHttp do). The engine then sends photo chunks on two lanes, each from a
 * thread of its own that calls nothing but `request` (never the store, the
 * platform or the progress callback), and applies every answer on the
 * syncing thread; a lane's request carries a `cancel` flag of the engine's,
 * raised when the pass ends or is cancelled, and the pass returns only after
 * every lane's call has returned. Response bodies are still made with
 * fic_malloc() (so an allocator set with fic_allocator_set() is called from
 * those threads too) and the thread's error (fic_error_set) reaches the
 * syncing thread with the call's result. A binding calling into a managed
 * runtime attaches the lane thread for the call (the Android binding does).
 */
#define FIC_TRANSPORT_CONCURRENT 1u

typedef struct fic_transport {
	int version; /**< FIC_TRANSPORT_VERSION */
	void *ctx;   /**< passed to every member */
	/**
	 * Perform one exchange. Returns FIC_OK when a response arrived, whatever
	 * its status (the engine reads 4xx/5xx bodies); otherwise nothing is in
	 * `resp` and the return value says why:
	 *  - FIC_ENETWORK: no connection, connection reset, truncated response,
	 *    timeout, DNS failure — transient, the engine retries with backoff;
	 *  - FIC_ETLS: the server's certificate or pinned key did not verify;
	 *  - FIC_ETOOBIG: the response body exceeded max_response_bytes;
	 *  - FIC_EPROTO: not HTTP, or a redirect (never followed);
	 *  - FIC_EINVAL: a URL the transport refuses (plain http off loopback);
	 *  - FIC_ECANCELED: *cancelled was set.
	 * The thread's error message (fic_error_last) says more; it never holds
	 * the Authorization header.
	 */
	int (*request)(void *ctx, const fic_http_request *req, fic_http_response *resp);
	/** Release the transport (may be NULL). */
	void (*destroy)(void *ctx);
	unsigned int flags; /**< FIC_TRANSPORT_CONCURRENT, or 0 (version 4) */
} fic_transport;

#define FIC_CURL_OPTIONS_VERSION 1

/**
 * Options for the built-in libcurl transport. Initialise with
 * FIC_CURL_OPTIONS_INIT (any version from 1 is read).
 */
typedef struct fic_curl_options {
	unsigned int version; /**< FIC_CURL_OPTIONS_VERSION */
	/** A PEM bundle of CA certificates to trust instead of the system's; NULL: the system's. */
	const char *ca_file;
	/**
	 * Optional public-key pinning, as libcurl's CURLOPT_PINNEDPUBLICKEY:
	 * "sha256//<base64>[;sha256//<base64>…]". NULL: no pinning.
	 */
	const char *pinned_public_key;
	/** User-Agent; NULL: "fieldinspect/<version>". */
	const char *user_agent;
} fic_curl_options;

#define FIC_CURL_OPTIONS_INIT { FIC_CURL_OPTIONS_VERSION, NULL, NULL, NULL }

/**
 * Make the built-in transport on libcurl: TLS peer and host verification
 * always on (there is no option to turn it off), TLS 1.2 at least (a server
 * offering only older versions fails the handshake: FIC_ENETWORK), plain http accepted only to
 * 127.0.0.0/8, ::1 and "localhost", redirects never followed, every request
 * bounded in time and response size (the bytes as received: bodies are never
 * decoded, so a compressed body cannot grow past the bound here), one
 * connection kept alive between requests, Nagle off, no
 * `Expect: 100-continue`, no Accept-Encoding unless the engine sends one.
 * The first call initialises libcurl (curl_global_init, once, under
 * pthread_once), so it is safe from any thread; the app need not call it.
 * Free with fic_transport_curl_free().
 * Only in builds with libcurl (CMake option FIC_WITH_CURL); without it this
 * returns FIC_ENOTFOUND and the app plugs in its own transport.
 * @return FIC_OK, FIC_EINVAL (NULL out, unreadable ca_file, unknown
 *   version), FIC_ENOMEM, FIC_ERROR (libcurl could not start), FIC_ENOTFOUND.
 */
FIC_EXTERN int fic_transport_curl_new(fic_transport **out, const fic_curl_options *opts);
/** Free a transport made by fic_transport_curl_new (NULL is fine). */
FIC_EXTERN void fic_transport_curl_free(fic_transport *t);

#ifdef __cplusplus
}
#endif

#endif
