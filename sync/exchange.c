/*
 * sync/exchange.c — what every request to the county server shares: the
 * options' checks, one timed exchange through the transport (the answer's
 * server time feeds trusted time), the server's error body, what an HTTP
 * status means for the pass, the whole-server hold after Retry-After, the
 * bearer token, and the sync engine's small state (cursors, the hold).
 * engine.c, audit.c, upload.c, pull.c and enroll.c build on it; it calls
 * none of them.
 */
#include "sync_internal.h"

#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The size of fic_sync_options at each version (core/util/abi.c). */
static const size_t options_sizes[] = { sizeof(fic_sync_options) };
#define N_OF(a) (unsigned)(sizeof a / sizeof a[0])

int fic_sync_options_init(fic_sync_options *opts, unsigned int version)
{
	fic__err_clear();
	if (opts == NULL || version < 1 || version > FIC_SYNC_OPTIONS_VERSION)
		return fic__err(FIC_EINVAL, "sync options: NULL or unknown version %u", version);
	fic_sync_options init = FIC_SYNC_OPTIONS_INIT;
	memcpy(opts, &init, options_sizes[version - 1]);
	opts->version = version;
	return FIC_OK;
}

int fic__sync_check_opts(fic_store *store, const fic_sync_options *in, fic_sync_options *o)
{
	FIC__ARG(store);
	if (in == NULL)
		return fic__err(FIC_EINVAL, "sync options need a transport");
	fic_sync_options init = FIC_SYNC_OPTIONS_INIT;
	*o = init;
	int rc = fic__struct_in(o, in, options_sizes, N_OF(options_sizes), "sync options");
	if (rc != FIC_OK)
		return rc;
	if (o->transport == NULL || o->transport->request == NULL)
		return fic__err(FIC_EINVAL, "sync options need a transport");
	if (o->transport->version < FIC_TRANSPORT_MIN_VERSION)
		return fic__err(FIC_EINVAL, "transport table version %d is not supported (%d or later)",
		                o->transport->version, FIC_TRANSPORT_MIN_VERSION);
	return fic__check_text(o->server_url, "server_url", 512, true, NULL);
}

int fic__sync_state_get(fic_store *store, const char *key, char *buf, size_t size)
{
	char scratch[8];
	return fic__query_text(store, buf ? buf : scratch, buf ? size : sizeof scratch,
	                       "SELECT value FROM sync_state WHERE key = ?1", "reading the sync state",
	                       "t", key);
}

int fic__sync_state_put(fic_store *store, const char *key, const char *value)
{
	return fic__exec(store, "INSERT INTO sync_state (key, value) VALUES (?1, ?2) "
	                        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
	                 "saving the sync state", "tt", key, value);
}

/*
 * A server that answered 429/503 with Retry-After is left alone until then,
 * whatever the request was: the rows of the failed request carry the delay
 * themselves, and this keeps the audit log, photos and feeds from knocking
 * in the meantime.
 */
void fic__sync_hold(fic_store *store, int64_t now_ms, int64_t retry_after_ms)
{
	if (retry_after_ms <= 0)
		return;
	if (retry_after_ms > FIC_SYNC_RETRY_AFTER_CAP_MS)
		retry_after_ms = FIC_SYNC_RETRY_AFTER_CAP_MS;
	char v[24];
	snprintf(v, sizeof v, "%lld", (long long)(now_ms + retry_after_ms));
	(void)fic__sync_state_put(store, "sync.not_before", v);
}

bool fic__sync_held(fic_store *store, int64_t now_ms)
{
	char v[24];
	if (fic__sync_state_get(store, "sync.not_before", v, sizeof v) != FIC_OK) {
		fic__err_clear();
		return false;
	}
	int64_t until = strtoll(v, NULL, 10);
	if (until > now_ms + FIC_SYNC_RETRY_AFTER_CAP_MS) {
		/* Further ahead than any Retry-After we honour: set while the clock
		 * was wrong. Forget it rather than stay silent for months. */
		(void)fic__sync_state_put(store, "sync.not_before", "0");
		return false;
	}
	return now_ms < until;
}

/* The request for an exchange: the URL from the server's, the pass's limits. */
void fic__sync_request(const fic_sync_options *o, const char *method, const char *path,
                       const fic_http_header *h, size_t nh, const void *body, size_t len, char *url,
                       size_t url_size, fic_http_request *q)
{
	size_t ul = strlen(o->server_url);
	while (ul > 0 && o->server_url[ul - 1] == '/')
		ul--;
	snprintf(url, url_size, "%.*s%s", (int)ul, o->server_url, path);
	*q = (fic_http_request){ .version = FIC_TRANSPORT_VERSION,
		                 .method = method, .url = url, .headers = h, .header_count = nh,
		                 .body = body, .body_len = len,
		                 .connect_timeout_ms = o->connect_timeout_ms,
		                 .low_speed_time_ms = o->low_speed_time_ms,
		                 .total_timeout_ms = o->total_timeout_ms,
		                 .max_response_bytes = FIC_SYNC_RESPONSE_MAX_BYTES,
		                 .cancel = o->cancel };
}

/* After the transport answered (rc) in rtt ms: count it, check it, feed the clock. */
int fic__sync_answered(fic_store *store, int rc, size_t len, int64_t rtt, fic_http_response *resp,
                       fic_sync_report *rep)
{
	rep->requests++;
	rep->bytes_sent += (int64_t)len;
	if (rc != FIC_OK) {
		fic__free(resp->body);
		memset(resp, 0, sizeof *resp);
		/* A custom transport may not have set a message; make sure there is one. */
		const fic_error *e = fic_error_last();
		if (e->code != rc)
			fic__err(rc, "transport failed: %s", fic_result_str(rc));
		return rc;
	}
	rep->bytes_received += (int64_t)resp->body_len;
	if (resp->body_len > FIC_SYNC_RESPONSE_MAX_BYTES) {
		fic__free(resp->body);
		memset(resp, 0, sizeof *resp);
		return fic__err(FIC_ETOOBIG, "the transport returned more than the response limit");
	}
	if (resp->server_time_ms > 0 && rtt >= 0)
		(void)fic_time_contact(store, resp->server_time_ms, rtt);
	return FIC_OK;
}

/* One exchange, timing it for the clock offset. */
int fic__sync_exchange(fic_store *store, const fic_sync_options *o, const char *method,
                       const char *path, const fic_http_header *h, size_t nh, const void *body,
                       size_t len, fic_http_response *resp, fic_sync_report *rep)
{
	char url[600];
	fic_http_request q;
	fic__sync_request(o, method, path, h, nh, body, len, url, sizeof url, &q);
	const fic_platform *p = store->platform;
	int64_t t0 = p->monotonic_ms(p->ctx);
	memset(resp, 0, sizeof *resp);
	int rc = o->transport->request(o->transport->ctx, &q, resp);
	return fic__sync_answered(store, rc, len, p->monotonic_ms(p->ctx) - t0, resp, rep);
}

/* The server's error body, if it is one: message (copied, bounded) and its retry hint. */
void fic__sync_error_body(const fic_http_response *r, char *msg, size_t size, int64_t *retry_after)
{
	snprintf(msg, size, "HTTP %d", r->status);
	if (r->body == NULL || r->body_len == 0)
		return;
	cJSON *j = cJSON_ParseWithLength((const char *)r->body, r->body_len);
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "message");
	if (cJSON_IsString(m) && m->valuestring &&
	    fic__utf8_valid(m->valuestring, strlen(m->valuestring))) {
		snprintf(msg, size, "%s (HTTP %d)", m->valuestring, r->status);
		fic__text_one_line(msg, strlen(m->valuestring) + 12 >= size);
	}
	const cJSON *ra = cJSON_GetObjectItemCaseSensitive(j, "retry_after_ms");
	if (retry_after && cJSON_IsNumber(ra) && ra->valuedouble >= 0 && ra->valuedouble < 86400e3 &&
	    (int64_t)ra->valuedouble > *retry_after)
		*retry_after = (int64_t)ra->valuedouble;
	cJSON_Delete(j);
}

uint32_t fic__sync_rand32(fic_store *store)
{
	uint32_t r = 0;
	if (store->platform->random_bytes(store->platform->ctx, &r, sizeof r) != 0)
		r = (uint32_t)store->platform->monotonic_ms(store->platform->ctx) * 2654435761u;
	return r;
}

/* The part of a URL that names the server, compared without regard to
 * case: scheme and authority ("https://County.example:8443"); and the rest,
 * without trailing slashes, compared exactly. */
static void url_parts(const char *url, size_t *origin, size_t *len)
{
	size_t n = strlen(url);
	while (n > 0 && url[n - 1] == '/')
		n--;
	const char *sep = strstr(url, "://");
	size_t o = sep && (size_t)(sep - url) < n ? (size_t)(sep - url) + 3 : 0;
	while (o < n && url[o] != '/' && url[o] != '?' && url[o] != '#')
		o++;
	*origin = o;
	*len = n;
}

bool fic__sync_same_server(const char *a, const char *b)
{
	size_t ao, al, bo, bl;
	url_parts(a, &ao, &al);
	url_parts(b, &bo, &bl);
	return ao == bo && al == bl && strncasecmp(a, b, ao) == 0 &&
	       memcmp(a + ao, b + bo, al - ao) == 0;
}

int fic__sync_auth(fic_store *store, const fic_sync_options *o, char *buf, size_t size)
{
	char token[FIC_SYNC_TOKEN_MAX + 1], server[600];
	int rc = fic__secret_get(store, FIC_SECRET_TOKEN, token, sizeof token);
	if (rc == FIC_ENOTFOUND)
		return fic__err(FIC_ESTATE, "this device is not enrolled: run enrolment first");
	if (rc != FIC_OK)
		return rc;
	/* The token goes only to the server the device enrolled with (issue #12,
	 * finding 10): a pass given another URL stops here, before any request. */
	rc = fic__sync_state_get(store, "sync.server", server, sizeof server);
	if (rc == FIC_OK && !fic__sync_same_server(server, o->server_url))
		rc = fic__err(FIC_ESTATE,
		              "this device is enrolled with %s, not %.300s: its token goes to that "
		              "server only (to use another server, enrol with it)",
		              server, o->server_url);
	else if (rc == FIC_ENOTFOUND)
		rc = fic__err(FIC_ESTATE, "the server this device enrolled with is not recorded: "
		                          "enrol again");
	if (rc == FIC_OK)
		snprintf(buf, size, "Bearer %s", token);
	fic__wipe(token, sizeof token);
	return rc;
}


fic__answer fic__answer_class(int status)
{
	if (status >= 200 && status < 300)
		return FIC__ANSWER_OK;
	if (status == 401 || status == 403)
		return FIC__ANSWER_AUTH;
	if (status == 429 || (status >= 500 && status < 600))
		return FIC__ANSWER_BUSY;
	if (status == 400 || status == 413 || status == 422)
		return FIC__ANSWER_REFUSED;
	if (status >= 400 && status < 500)
		return FIC__ANSWER_FOREIGN;
	return FIC__ANSWER_ODD;
}

int fic__answer_error(fic_store *store, const fic_http_response *r, const char *what,
                      int64_t *retry_after)
{
	char why[300];
	int64_t ra = r->retry_after_ms > 0 ? r->retry_after_ms : 0;
	fic__sync_error_body(r, why, sizeof why, &ra);
	if (retry_after)
		*retry_after = 0;
	switch (fic__answer_class(r->status)) {
	case FIC__ANSWER_AUTH:
		return fic__err(FIC_EAUTH, "the server refused this device (%s): %s; enrol again", what,
		                why);
	case FIC__ANSWER_BUSY:
		fic__sync_hold(store, fic__now_ms(store), ra);
		if (retry_after)
			*retry_after = ra;
		return fic__err(FIC_ENETWORK, "%s: the server is unavailable: %s", what, why);
	default:
		return fic__err(FIC_EPROTO, "%s: the server does not answer as the protocol says: %s",
		                what, why);
	}
}
