/*
 * sync/transport_curl.c — the built-in transport (include/fieldinspect/sys/
 * transport.h) on libcurl. Security is not optional here: peer and host
 * verification stay on, plain http is refused unless the host is loopback,
 * redirects are refused, every exchange is bounded in time and in the size
 * of what it reads, and nothing is logged (the Authorization header carries
 * the device's token). Bodies come back as they were sent: libcurl does not
 * decode a Content-Encoding here (its decoder would grow a small gzip bomb
 * past any bound on the wire); the engine asks for gzip where it wants it
 * and inflates within its own limit. One easy handle is kept so the TLS connection is
 * reused between requests of a sync pass (a request on a fresh connection
 * costs three round trips instead of one: 0.94 s against 0.31 s on a 300 ms
 * link, bench/sync_bench.c).
 *
 * Lanes: photo chunks also run on FIC__LANES more easy handles of their own,
 * each keeping its own connection, driven together through libcurl's multi
 * interface (fic__curl_lanes_*, used through lanes.c), so while one chunk waits for its answer another
 * is on the link, and records never wait behind photos in one connection.
 * All the handles share libcurl's TLS session cache and DNS cache: a new
 * connection resumes the session. libcurl is initialised by the library
 * itself, once, under pthread_once (curl_global_init is not thread-safe on
 * every TLS backend, and an app should not have to know it is there).
 */
#include "sync_internal.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#define DEFAULT_CONNECT_MS 15000L
#define DEFAULT_LOW_SPEED_MS 30000L
#define DEFAULT_LOW_SPEED_BYTES 10L
#define DEFAULT_TOTAL_MS 120000L
#define DEFAULT_MAX_RESPONSE (4u * 1024 * 1024)

typedef struct exchange {
	const fic_http_request *req;
	fic_http_response *resp;
	size_t max;
	size_t cap;
	bool too_big, oom;
	bool headers_done; /* the blank line that ends the final header block arrived */
} exchange;

/* An exchange running on a lane. */
typedef struct lane {
	CURL *easy;
	bool busy;
	exchange x;
	fic_http_response resp;
	struct curl_slist *hdrs;
	char errbuf[CURL_ERROR_SIZE];
} lane;

typedef struct curl_ctx {
	fic_transport table; /* first, so the table pointer is the context */
	CURL *easy;
	CURLSH *share;       /* TLS sessions and DNS, for every handle */
	CURLM *multi;        /* the lanes' exchanges, or NULL until the first */
	lane lanes[FIC__LANES];
	char *ca_file;
	char *pinned;
	char *user_agent;
} curl_ctx;

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	exchange *x = arg;
	size_t len = size * n;
	fic_http_response *r = x->resp;
	if (len > x->max - r->body_len) {
		x->too_big = true;
		return 0; /* CURLE_WRITE_ERROR */
	}
	if (r->body_len + len + 1 > x->cap) {
		size_t ncap = x->cap ? x->cap : 4096;
		while (ncap < r->body_len + len + 1)
			ncap *= 2;
		unsigned char *nb = fic__realloc(r->body, ncap);
		if (nb == NULL) {
			x->oom = true;
			return 0;
		}
		r->body = nb;
		x->cap = ncap;
	}
	memcpy(r->body + r->body_len, data, len);
	r->body_len += len;
	r->body[r->body_len] = '\0';
	return len;
}

/* A header value without the blanks around it. */
static void trim(const char **s, size_t *len)
{
	while (*len > 0 && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && strchr(" \t\r\n", (*s)[*len - 1]))
		(*len)--;
}

/* A whole non-negative decimal number of at most 18 digits, or -1. */
static int64_t parse_count(const char *s, size_t len)
{
	trim(&s, &len);
	if (len == 0 || len > 18)
		return -1;
	int64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static bool header_is(const char *line, size_t len, const char *name, const char **value,
                      size_t *vlen)
{
	size_t n = strlen(name);
	if (len <= n || line[n] != ':' || strncasecmp(line, name, n) != 0)
		return false;
	*value = line + n + 1;
	*vlen = len - n - 1;
	return true;
}

/* A Content-Encoding value: one coding the engine knows, or "other". */
static int coding(const char *s, size_t len)
{
	trim(&s, &len);
	if (len == 0 || (len == 8 && strncasecmp(s, "identity", 8) == 0))
		return FIC_HTTP_CODING_NONE;
	if ((len == 4 && strncasecmp(s, "gzip", 4) == 0) ||
	    (len == 6 && strncasecmp(s, "x-gzip", 6) == 0))
		return FIC_HTTP_CODING_GZIP;
	return FIC_HTTP_CODING_OTHER;
}

static size_t on_header(char *line, size_t size, size_t n, void *arg)
{
	exchange *x = arg;
	size_t len = size * n;
	fic_http_response *r = x->resp;
	const char *v;
	size_t vl;
	if (len >= 5 && memcmp(line, "HTTP/", 5) == 0) {
		/* A new response (after a 1xx): forget the previous one's headers. */
		r->server_time_ms = r->retry_after_ms = r->upload_offset = -1;
		r->content_encoding = FIC_HTTP_CODING_NONE;
		x->headers_done = false;
	} else if ((len == 2 && line[0] == '\r' && line[1] == '\n') || (len == 1 && line[0] == '\n')) {
		x->headers_done = true;
	} else if (header_is(line, len, "X-Fic-Server-Time", &v, &vl)) {
		r->server_time_ms = parse_count(v, vl);
	} else if (header_is(line, len, "Retry-After", &v, &vl)) {
		int64_t s = parse_count(v, vl);
		/* Only delta-seconds; an HTTP date is ignored (the body's retry_after_ms says it). */
		r->retry_after_ms = s >= 0 && s <= 86400 ? s * 1000 : -1;
	} else if (header_is(line, len, "Upload-Offset", &v, &vl)) {
		r->upload_offset = parse_count(v, vl);
	} else if (header_is(line, len, "Content-Encoding", &v, &vl)) {
		r->content_encoding = coding(v, vl);
	}
	return len;
}

static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	(void)dt;
	(void)dn;
	(void)ut;
	(void)un;
	const exchange *x = arg;
	return fic__cancelled(x->req->cancel) ? 1 : 0;
}

static bool loopback_host(const char *host)
{
	if (strcasecmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0)
		return true;
	/* 127.0.0.0/8, written as four decimal parts. */
	if (strncmp(host, "127.", 4) != 0)
		return false;
	int parts = 2, digits = 0; /* "127" and the part being read */
	for (const char *p = host + 4; *p; p++) {
		if (*p == '.') {
			if (digits == 0)
				return false;
			parts++;
			digits = 0;
		} else if (*p >= '0' && *p <= '9' && digits < 3) {
			digits++;
		} else {
			return false;
		}
	}
	return parts == 4 && digits > 0;
}

/* https anywhere; http only to loopback; nothing else. */
static int check_url(const char *url)
{
	CURLU *u = curl_url();
	if (u == NULL)
		return fic__err(FIC_ENOMEM, "out of memory parsing the URL");
	char *scheme = NULL, *host = NULL;
	int rc = FIC_OK;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		rc = fic__err(FIC_EINVAL, "not an absolute URL with a host");
	} else if (strcmp(scheme, "https") == 0) {
		rc = FIC_OK;
	} else if (strcmp(scheme, "http") == 0) {
		if (!loopback_host(host))
			rc = fic__err(FIC_EINVAL,
			              "plain http is allowed only to loopback (host %.80s): use https", host);
	} else {
		rc = fic__err(FIC_EINVAL, "URL scheme %.16s is not allowed: use https", scheme);
	}
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return rc;
}

static bool header_text_ok(const char *s, bool name)
{
	if (s == NULL || (name && s[0] == '\0'))
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p == '\r' || *p == '\n' || (name && (*p == ':' || *p <= ' ')))
			return false;
	return true;
}

static int map_curl_error(CURLcode cc, const exchange *x, const char *errbuf)
{
	const char *why = errbuf[0] ? errbuf : curl_easy_strerror(cc);
	switch (cc) {
	case CURLE_WRITE_ERROR:
	case CURLE_FILESIZE_EXCEEDED:
		if (x->oom)
			return fic__err(FIC_ENOMEM, "out of memory reading the response");
		if (x->too_big || cc == CURLE_FILESIZE_EXCEEDED)
			return fic__err(FIC_ETOOBIG, "the server's response exceeds %zu bytes", x->max);
		return fic__err(FIC_ERROR, "transport: %.200s", why);
	case CURLE_ABORTED_BY_CALLBACK:
		return fic__err(FIC_ECANCELED, "the request was cancelled");
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_ISSUER_ERROR:
		return fic__err(FIC_ETLS, "the server's certificate did not verify: %.200s", why);
	case CURLE_URL_MALFORMAT:
		return fic__err(FIC_EINVAL, "the URL is refused: %.200s", why);
	case CURLE_UNSUPPORTED_PROTOCOL: /* the scheme was checked: this is the reply (HTTP/0.9) */
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_BAD_CONTENT_ENCODING:
		return fic__err(FIC_EPROTO, "the server's reply is not valid HTTP: %.200s", why);
	case CURLE_OUT_OF_MEMORY:
		return fic__err(FIC_ENOMEM, "out of memory in the transport");
	default:
		/* Connection refused, DNS, reset, truncated, timeouts, TLS handshake cut short:
		 * the link's fault, so the engine retries. */
		return fic__err(FIC_ENETWORK, "network: %.200s", why);
	}
}

#define SET(opt, val)                                                                   \
	do {                                                                            \
		if (curl_easy_setopt(easy, opt, val) != CURLE_OK) {                     \
			rc = fic__err(FIC_ERROR, "libcurl refused option " #opt);       \
			goto done;                                                      \
		}                                                                       \
	} while (0)

/* The request's headers as a curl list, after "Expect:" (no 100-continue:
 * a wasted round trip on a 300 ms link). NULL with the error set. */
static struct curl_slist *header_list(const fic_http_request *req)
{
	struct curl_slist *hdrs = curl_slist_append(NULL, "Expect:"), *t;
	if (hdrs == NULL) {
		fic__err(FIC_ENOMEM, "out of memory building headers");
		return NULL;
	}
	for (size_t i = 0; i < req->header_count; i++) {
		const fic_http_header *h = &req->headers[i];
		if (!header_text_ok(h->name, true) || !header_text_ok(h->value, false) ||
		    strlen(h->name) + strlen(h->value) > 8000) {
			fic__err(FIC_EINVAL, "request header %zu is malformed", i);
			curl_slist_free_all(hdrs);
			return NULL;
		}
		fic__sb sb = { 0 };
		fic__sb_printf(&sb, "%s: %s", h->name, h->value);
		char *line = fic__sb_take(&sb);
		t = line ? curl_slist_append(hdrs, line) : NULL;
		if (line) {
			/* Do not leave the token lying about in freed memory. */
			memset(line, 0, strlen(line));
			fic__free(line);
		}
		if (t == NULL) {
			fic__err(FIC_ENOMEM, "out of memory building headers");
			curl_slist_free_all(hdrs);
			return NULL;
		}
		hdrs = t;
	}
	return hdrs;
}

/* Every option of one exchange: the rules first (https, no redirects, peer
 * verified, pins), then the limits, then the callbacks and the method. */
static int set_options(curl_ctx *c, CURL *easy, const fic_http_request *req, exchange *x,
                       struct curl_slist *hdrs, char *errbuf)
{
	int rc = FIC_OK;
	curl_easy_reset(easy); /* keeps the live connection (and the shared TLS sessions) */
	SET(CURLOPT_SHARE, c->share);
	SET(CURLOPT_URL, req->url);
#if LIBCURL_VERSION_NUM >= 0x075500
	SET(CURLOPT_PROTOCOLS_STR, "https,http");
	SET(CURLOPT_REDIR_PROTOCOLS_STR, "https");
#else
	SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTPS | CURLPROTO_HTTP));
	SET(CURLOPT_REDIR_PROTOCOLS, (long)CURLPROTO_HTTPS);
#endif
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	/* TLS 1.2 at least, whatever the phone's TLS library would still allow. */
	SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (c->ca_file)
		SET(CURLOPT_CAINFO, c->ca_file);
	if (c->pinned)
		SET(CURLOPT_PINNEDPUBLICKEY, c->pinned);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_TCP_NODELAY, 1L);
	SET(CURLOPT_CONNECTTIMEOUT_MS, req->connect_timeout_ms > 0 ? req->connect_timeout_ms
	                                                           : DEFAULT_CONNECT_MS);
	long lst = req->low_speed_time_ms > 0 ? req->low_speed_time_ms : DEFAULT_LOW_SPEED_MS;
	SET(CURLOPT_LOW_SPEED_TIME, (lst + 999) / 1000);
	SET(CURLOPT_LOW_SPEED_LIMIT, req->low_speed_bytes > 0 ? req->low_speed_bytes
	                                                      : DEFAULT_LOW_SPEED_BYTES);
	SET(CURLOPT_TIMEOUT_MS, req->total_timeout_ms > 0 ? req->total_timeout_ms : DEFAULT_TOTAL_MS);
	SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)x->max);
	SET(CURLOPT_HTTP_CONTENT_DECODING, 0L); /* the body as sent: see the top of the file */
	SET(CURLOPT_USERAGENT, c->user_agent);
	SET(CURLOPT_HTTPHEADER, hdrs);
	SET(CURLOPT_ERRORBUFFER, errbuf);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, x);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_HEADERDATA, x);
	SET(CURLOPT_NOPROGRESS, 0L);
	SET(CURLOPT_XFERINFOFUNCTION, on_progress);
	SET(CURLOPT_XFERINFODATA, x);
	if (strcmp(req->method, "HEAD") == 0) {
		SET(CURLOPT_NOBODY, 1L);
	} else if (strcmp(req->method, "GET") == 0) {
		SET(CURLOPT_HTTPGET, 1L);
	} else {
		SET(CURLOPT_POST, 1L);
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
		SET(CURLOPT_POSTFIELDS, req->body_len ? req->body : "");
		if (strcmp(req->method, "PATCH") == 0)
			SET(CURLOPT_CUSTOMREQUEST, "PATCH");
	}
done:
	return rc;
}

/* After the exchange: only a complete response with a status this protocol
 * can have counts. */
static int check_response(CURL *easy, const exchange *x, fic_http_response *resp)
{
	if (!x->headers_done) {
		/* The connection closed inside the headers: libcurl calls that a
		 * complete (empty) response; it is a truncated one. */
		return fic__err(FIC_ENETWORK, "network: the connection closed before the response's "
		                              "headers ended (truncated)");
	}
	long status = 0;
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
	resp->status = (int)status;
	if (status >= 300 && status < 400)
		return fic__err(FIC_EPROTO, "the server answered with a redirect (%ld), which is refused",
		                status);
	if (status < 100 || status > 599)
		return fic__err(FIC_EPROTO, "the server answered with HTTP status %ld", status);
	return FIC_OK;
}

/* The checks every request passes before it is set up. */
static int check_request(const fic_http_request *req)
{
	int rc = check_url(req->url);
	if (rc != FIC_OK)
		return rc;
	static const char *const methods[] = { "HEAD", "GET", "POST", "PATCH" };
	bool known = false;
	for (size_t i = 0; i < 4; i++)
		known |= strcmp(req->method, methods[i]) == 0;
	if (!known)
		return fic__err(FIC_EINVAL, "method %.16s is not used by the protocol", req->method);
	return FIC_OK;
}

/* Forget the request's headers (the token) and buffers in a kept handle; on
 * failure, no half response. */
static void after(CURL *easy, struct curl_slist *hdrs, int rc, fic_http_response *resp)
{
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, NULL);
	curl_slist_free_all(hdrs);
	if (rc != FIC_OK) {
		fic__free(resp->body);
		memset(resp, 0, sizeof *resp);
		resp->server_time_ms = resp->retry_after_ms = resp->upload_offset = -1;
	}
}

static int curl_request(void *ctx, const fic_http_request *req, fic_http_response *resp)
{
	curl_ctx *c = ctx;
	fic__err_clear();
	if (c == NULL || req == NULL || resp == NULL || req->method == NULL || req->url == NULL ||
	    (req->body == NULL && req->body_len > 0) || (req->headers == NULL && req->header_count))
		return fic__err(FIC_EINVAL, "transport request: bad arguments");
	if (req->version < FIC_TRANSPORT_MIN_VERSION)
		return fic__err(FIC_EINVAL, "transport request: version %u is older than %d",
		                req->version, FIC_TRANSPORT_MIN_VERSION);
	memset(resp, 0, sizeof *resp);
	resp->server_time_ms = resp->retry_after_ms = resp->upload_offset = -1;
	int rc = check_request(req);
	if (rc != FIC_OK)
		return rc;
	exchange x = { .req = req, .resp = resp,
		       .max = req->max_response_bytes ? req->max_response_bytes : DEFAULT_MAX_RESPONSE };
	char errbuf[CURL_ERROR_SIZE];
	errbuf[0] = '\0';
	struct curl_slist *hdrs = header_list(req);
	if (hdrs == NULL)
		return fic_error_last()->code;
	if ((rc = set_options(c, c->easy, req, &x, hdrs, errbuf)) == FIC_OK) {
		CURLcode cc = curl_easy_perform(c->easy);
		rc = cc != CURLE_OK ? map_curl_error(cc, &x, errbuf) : check_response(c->easy, &x, resp);
	}
	after(c->easy, hdrs, rc, resp);
	return rc;
}

/* ---- lanes: exchanges run together (sync_internal.h, lanes.c) ---- */

bool fic__curl_lanes(const fic_transport *t)
{
	return t && t->request == curl_request && t->ctx;
}

/* Photo sockets keep little below the application: what a lane has handed
 * the kernel goes out ahead of an urgent lead's request on a phone's one
 * queue. (The kernel may double it.) */
static int small_sndbuf(void *arg, curl_socket_t fd, curlsocktype purpose)
{
	(void)arg;
	if (purpose == CURLSOCKTYPE_IPCXN) {
		int v = 64 * 1024;
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
	}
	return CURL_SOCKOPT_OK;
}

int fic__curl_lanes_start(fic_transport *t, int n, const fic_http_request *req)
{
	fic__err_clear();
	curl_ctx *c = t->ctx;
	if (n < 0 || n >= FIC__LANES || c->lanes[n].busy || req == NULL || req->url == NULL ||
	    req->method == NULL || (req->body == NULL && req->body_len > 0))
		return fic__err(FIC_EINVAL, "lane %d: bad arguments or busy", n);
	lane *l = &c->lanes[n];
	int rc = check_request(req);
	if (rc == FIC_OK && c->multi == NULL && (c->multi = curl_multi_init()) == NULL)
		rc = fic__err(FIC_ENOMEM, "out of memory starting an exchange");
	if (rc == FIC_OK && l->easy == NULL && (l->easy = curl_easy_init()) == NULL)
		rc = fic__err(FIC_ENOMEM, "out of memory starting an exchange");
	if (rc != FIC_OK)
		return rc;
	memset(&l->resp, 0, sizeof l->resp);
	l->resp.server_time_ms = l->resp.retry_after_ms = l->resp.upload_offset = -1;
	l->x = (exchange){ .req = req, .resp = &l->resp,
		           .max = req->max_response_bytes ? req->max_response_bytes : DEFAULT_MAX_RESPONSE };
	l->errbuf[0] = '\0';
	if ((l->hdrs = header_list(req)) == NULL)
		return fic_error_last()->code;
	rc = set_options(c, l->easy, req, &l->x, l->hdrs, l->errbuf);
	if (rc == FIC_OK && (curl_easy_setopt(l->easy, CURLOPT_SOCKOPTFUNCTION, small_sndbuf) != CURLE_OK ||
	                     curl_multi_add_handle(c->multi, l->easy) != CURLM_OK))
		rc = fic__err(FIC_ERROR, "libcurl could not start an exchange");
	if (rc != FIC_OK) {
		after(l->easy, l->hdrs, rc, &l->resp);
		l->hdrs = NULL;
		return rc;
	}
	l->busy = true;
	return FIC_OK;
}

/* A finished lane's result; the lane is free again. */
static int lane_done(curl_ctx *c, lane *l, CURLcode cc, int *rc, fic_http_response *resp)
{
	curl_multi_remove_handle(c->multi, l->easy);
	*rc = cc != CURLE_OK ? map_curl_error(cc, &l->x, l->errbuf) : check_response(l->easy, &l->x, &l->resp);
	after(l->easy, l->hdrs, *rc, &l->resp);
	l->hdrs = NULL;
	l->busy = false;
	*resp = l->resp;
	memset(&l->resp, 0, sizeof l->resp);
	return 1;
}

int fic__curl_lanes_wait(fic_transport *t, int timeout_ms, int *n, int *rc, fic_http_response *resp)
{
	curl_ctx *c = t->ctx;
	memset(resp, 0, sizeof *resp);
	if (c->multi == NULL)
		return 0;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	int64_t end = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + timeout_ms;
	for (;;) {
		int running = 0, queued = 0;
		curl_multi_perform(c->multi, &running);
		for (CURLMsg *m; (m = curl_multi_info_read(c->multi, &queued)) != NULL;) {
			for (int i = 0; m->msg == CURLMSG_DONE && i < FIC__LANES; i++)
				if (c->lanes[i].busy && c->lanes[i].easy == m->easy_handle) {
					*n = i;
					return lane_done(c, &c->lanes[i], m->data.result, rc, resp);
				}
		}
		clock_gettime(CLOCK_MONOTONIC, &ts);
		int64_t left = end - ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
		if (left <= 0 || running == 0)
			return 0;
		curl_multi_poll(c->multi, NULL, 0, (int)left, NULL);
	}
}

bool fic__curl_lanes_sent(fic_transport *t, int n)
{
	curl_ctx *c = t->ctx;
	if (n < 0 || n >= FIC__LANES || !c->lanes[n].busy)
		return false;
	curl_off_t up = 0;
	curl_easy_getinfo(c->lanes[n].easy, CURLINFO_SIZE_UPLOAD_T, &up);
	return (size_t)up >= c->lanes[n].x.req->body_len;
}

void fic__curl_lanes_cancel(fic_transport *t, int n)
{
	curl_ctx *c = t->ctx;
	if (n < 0 || n >= FIC__LANES || !c->lanes[n].busy)
		return;
	lane *l = &c->lanes[n];
	curl_multi_remove_handle(c->multi, l->easy);
	/* Half a request body on the connection: it cannot carry another. */
	curl_easy_cleanup(l->easy);
	l->easy = NULL;
	curl_slist_free_all(l->hdrs);
	l->hdrs = NULL;
	fic__free(l->resp.body);
	memset(&l->resp, 0, sizeof l->resp);
	l->busy = false;
}

static void curl_destroy(void *ctx)
{
	curl_ctx *c = ctx;
	if (c == NULL)
		return;
	for (int i = 0; i < FIC__LANES; i++) {
		if (c->lanes[i].busy)
			curl_multi_remove_handle(c->multi, c->lanes[i].easy);
		if (c->lanes[i].easy)
			curl_easy_cleanup(c->lanes[i].easy);
		curl_slist_free_all(c->lanes[i].hdrs);
		fic__free(c->lanes[i].resp.body);
	}
	if (c->multi)
		curl_multi_cleanup(c->multi);
	if (c->easy)
		curl_easy_cleanup(c->easy);
	if (c->share)
		curl_share_cleanup(c->share);
	fic__free(c->ca_file);
	fic__free(c->pinned);
	fic__free(c->user_agent);
	fic__free(c);
}

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

static void global_init(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* The size of fic_curl_options at each version (core/util/abi.c). */
static const size_t options_sizes[] = { sizeof(fic_curl_options) };

int fic_transport_curl_new(fic_transport **out, const fic_curl_options *opts)
{
	fic__err_clear();
	FIC__OUT(out);
	fic_curl_options o = FIC_CURL_OPTIONS_INIT;
	int rc;
	if (opts && (rc = fic__struct_in(&o, opts, options_sizes,
	                                 sizeof options_sizes / sizeof options_sizes[0],
	                                 "curl options")) != FIC_OK)
		return rc;
	if (pthread_once(&global_once, global_init) != 0 || global_rc != CURLE_OK)
		return fic__err(FIC_ERROR, "libcurl could not be initialised (curl_global_init)");
	if (o.ca_file) {
		FILE *f = fopen(o.ca_file, "rb");
		if (f == NULL)
			return fic__err(FIC_EINVAL, "cannot read the CA bundle %.200s: %s", o.ca_file,
			                strerror(errno));
		fclose(f);
	}
	if (o.pinned_public_key && strncmp(o.pinned_public_key, "sha256//", 8) != 0)
		return fic__err(FIC_EINVAL, "pinned_public_key must be \"sha256//<base64>\"");
	curl_ctx *c = fic__calloc(1, sizeof *c);
	if (c == NULL)
		return fic__err(FIC_ENOMEM, "out of memory making the transport");
	char ua[64];
	snprintf(ua, sizeof ua, "fieldinspect/%s", fic_version());
	c->user_agent = fic__strdup(o.user_agent ? o.user_agent : ua);
	c->ca_file = o.ca_file ? fic__strdup(o.ca_file) : NULL;
	c->pinned = o.pinned_public_key ? fic__strdup(o.pinned_public_key) : NULL;
	if (c->user_agent == NULL || (o.ca_file && !c->ca_file) ||
	    (o.pinned_public_key && !c->pinned)) {
		curl_destroy(c);
		return fic__err(FIC_ENOMEM, "out of memory making the transport");
	}
	if ((c->easy = curl_easy_init()) == NULL || (c->share = curl_share_init()) == NULL ||
	    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK ||
	    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK) {
		curl_destroy(c);
		return fic__err(FIC_ERROR, "libcurl could not make a handle");
	}
	c->table.version = FIC_TRANSPORT_VERSION;
	c->table.ctx = c;
	c->table.request = curl_request;
	c->table.destroy = curl_destroy;
	*out = &c->table;
	return FIC_OK;
}

void fic_transport_curl_free(fic_transport *t)
{
	if (t && t->destroy)
		t->destroy(t->ctx);
}
