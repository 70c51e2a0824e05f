/*
 * sync/engine.c — enrolment and the records push (include/fieldinspect/
 * sync.h): read the outbox in priority order, send a batch, apply the
 * answer, repeat. The rules that keep records from being lost or doubled:
 *  - a row changes only on an answer that names it (queue.c applies it);
 *  - every failure that is not the record's fault defers the rows (they stay
 *    pending with a backoff) — including answers that break the protocol;
 *  - a batch refused as a whole is split until the refused record is alone,
 *    so one bad record never takes innocent ones down with it.
 */
#include "sync_internal.h"

#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN_MIN 32
#define TOKEN_MAX 128

/* The size of fic_sync_options and fic_sync_report at each version (core/abi.c). */
static const size_t options_sizes[] = { sizeof(fic_sync_options) };
static const size_t report_sizes[] = { sizeof(fic_sync_report) };
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

/* The caller's options, of any version we read, as ours in *o. */
static int check_opts(fic_store *store, const fic_sync_options *in, fic_sync_options *o)
{
	if (store == NULL)
		return fic__err(FIC_EINVAL, "store is NULL");
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

/* A report the caller passed must say its version before anything is done. */
static int check_report(const fic_sync_report *r)
{
	if (r != NULL && r->version < 1)
		return fic__err(FIC_EINVAL, "sync report: set version (FIC_SYNC_REPORT_INIT)");
	return FIC_OK;
}

static void report_out(fic_sync_report *dst, const fic_sync_report *full)
{
	if (dst != NULL)
		(void)fic__struct_out(dst, full, report_sizes, N_OF(report_sizes), "sync report");
}

static void report_start(fic_sync_report *rep)
{
	memset(rep, 0, sizeof *rep);
	rep->version = FIC_SYNC_REPORT_VERSION;
	rep->next_due_ms = INT64_MAX;
}

int fic__sync_state_get(fic_store *store, const char *key, char *buf, size_t size)
{
	sqlite3_stmt *st;
	int rc = fic__prepare(store, &st, "SELECT value FROM sync_state WHERE key = ?1");
	if (rc != FIC_OK)
		return rc;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	int s = sqlite3_step(st);
	if (s == SQLITE_ROW && sqlite3_column_text(st, 0)) {
		if (buf)
			snprintf(buf, size, "%s", (const char *)sqlite3_column_text(st, 0));
		rc = FIC_OK;
	} else if (s == SQLITE_ROW || s == SQLITE_DONE) {
		rc = FIC_ENOTFOUND;
	} else {
		rc = fic__db_err(store, s, "reading the sync state");
	}
	sqlite3_finalize(st);
	return rc;
}

int fic__sync_state_put(fic_store *store, const char *key, const char *value)
{
	sqlite3_stmt *st;
	int rc = fic__prepare(store, &st, "INSERT INTO sync_state (key, value) VALUES (?1, ?2) "
	                                  "ON CONFLICT (key) DO UPDATE SET value = excluded.value");
	if (rc != FIC_OK)
		return rc;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	int s = sqlite3_step(st);
	sqlite3_finalize(st);
	return s == SQLITE_DONE ? FIC_OK : fic__db_err(store, s, "saving the sync state");
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

/* One exchange, timing it for the clock offset. */
int fic__sync_exchange(fic_store *store, const fic_sync_options *o, const char *method,
                       const char *path, const fic_http_header *h, size_t nh, const void *body,
                       size_t len, fic_http_response *resp, fic_sync_report *rep)
{
	char url[600];
	size_t ul = strlen(o->server_url);
	while (ul > 0 && o->server_url[ul - 1] == '/')
		ul--;
	snprintf(url, sizeof url, "%.*s%s", (int)ul, o->server_url, path);
	fic_http_request q = { .version = FIC_TRANSPORT_VERSION,
		               .method = method, .url = url, .headers = h, .header_count = nh,
		               .body = body, .body_len = len,
		               .connect_timeout_ms = o->connect_timeout_ms,
		               .low_speed_time_ms = o->low_speed_time_ms,
		               .total_timeout_ms = o->total_timeout_ms,
		               .max_response_bytes = FIC_SYNC_RESPONSE_MAX_BYTES,
		               .cancel = o->cancel };
	const fic_platform *p = store->platform;
	int64_t t0 = p->monotonic_ms(p->ctx);
	memset(resp, 0, sizeof *resp);
	int rc = o->transport->request(o->transport->ctx, &q, resp);
	int64_t rtt = p->monotonic_ms(p->ctx) - t0;
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

int fic_sync_enroll(fic_store *store, const fic_sync_options *in, const char *code,
                    const char *device_name)
{
	fic__err_clear();
	fic_sync_options o;
	const fic_sync_options *opts = &o;
	int rc = check_opts(store, in, &o);
	if (rc != FIC_OK)
		return rc;
	if ((rc = fic__check_text(code, "enrolment code", 64, true, NULL)) != FIC_OK ||
	    (rc = fic__check_text(device_name, "device name", 100, false, NULL)) != FIC_OK)
		return rc;
	if (strlen(code) < 6)
		return fic__err(FIC_EINVAL, "an enrolment code has at least 6 characters");
	cJSON *req = cJSON_CreateObject();
	char *text = NULL;
	if (req && fic__json_put(req, "code", cJSON_CreateString(code)) &&
	    fic__json_put(req, "device_id", cJSON_CreateString(fic_store_device_id(store))) &&
	    (device_name == NULL || !device_name[0] ||
	     fic__json_put(req, "device_name", cJSON_CreateString(device_name))))
		text = cJSON_PrintUnformatted(req);
	cJSON_Delete(req);
	if (text == NULL)
		return fic__err(FIC_ENOMEM, "out of memory making the enrolment request");
	fic_http_header h[] = { { "Content-Type", "application/json" } };
	fic_http_response r;
	fic_sync_report rep;
	memset(&rep, 0, sizeof rep);
	rc = fic__sync_exchange(store, opts, "POST", "/v1/enroll", h, 1, text, strlen(text), &r, &rep);
	memset(text, 0, strlen(text)); /* the code is single-use, but still */
	cJSON_free(text);
	if (rc != FIC_OK)
		return rc;
	cJSON *j = NULL;
	if (r.status == 401 || r.status == 403) {
		char msg[300];
		fic__sync_error_body(&r, msg, sizeof msg, NULL);
		rc = fic__err(FIC_EAUTH, "the server refused the enrolment code: %s", msg);
	} else if (r.status != 200) {
		char msg[300];
		fic__sync_error_body(&r, msg, sizeof msg, NULL);
		rc = fic__err(r.status >= 500 || r.status == 429 ? FIC_ENETWORK : FIC_EPROTO,
		              "enrolment failed: %s", msg);
	} else if ((j = cJSON_ParseWithLength((const char *)r.body, r.body_len)) == NULL) {
		rc = fic__err(FIC_EPROTO, "the enrolment answer is not JSON");
	} else {
		const cJSON *tok = cJSON_GetObjectItemCaseSensitive(j, "token");
		const cJSON *county = cJSON_GetObjectItemCaseSensitive(j, "county");
		const cJSON *dev = cJSON_GetObjectItemCaseSensitive(j, "device_id");
		bool ok = cJSON_IsString(tok) && cJSON_IsString(county) && cJSON_IsString(dev);
		size_t tl = ok ? strlen(tok->valuestring) : 0;
		for (size_t i = 0; ok && i < tl; i++)
			ok = tok->valuestring[i] > ' ' && tok->valuestring[i] < 127;
		if (!ok || tl < TOKEN_MIN || tl > TOKEN_MAX)
			rc = fic__err(FIC_EPROTO, "the enrolment answer lacks a valid token");
		else if (strcmp(dev->valuestring, fic_store_device_id(store)) != 0)
			rc = fic__err(FIC_EPROTO, "the enrolment answer is for another device");
		else if ((rc = fic__check_text(county->valuestring, "county", 200, true, NULL)) != FIC_OK)
			rc = fic__err(FIC_EPROTO, "the enrolment answer has no valid county name");
		else if ((rc = fic__tx_begin(store)) == FIC_OK) {
			if ((rc = fic__sync_state_put(store, "sync.token", tok->valuestring)) == FIC_OK &&
			    (rc = fic__sync_state_put(store, "sync.county", county->valuestring)) == FIC_OK &&
			    (rc = fic__sync_state_put(store, "sync.server", opts->server_url)) == FIC_OK &&
			    (rc = fic__audit_append(store, "sync.enroll", "device",
			                            fic_store_device_id(store), "{}")) == FIC_OK)
				rc = fic__tx_commit(store);
			else
				fic__tx_rollback(store);
		}
	}
	cJSON_Delete(j);
	fic__free(r.body);
	return rc;
}

int fic_sync_enrolled(fic_store *store, char *county, size_t county_size)
{
	fic__err_clear();
	if (store == NULL)
		return fic__err(FIC_EINVAL, "store is NULL");
	if (county && county_size)
		county[0] = '\0';
	int rc = fic__sync_state_get(store, "sync.token", NULL, 0);
	if (rc == FIC_ENOTFOUND)
		return fic__err(FIC_ENOTFOUND, "this device is not enrolled");
	if (rc == FIC_OK && county && county_size)
		(void)fic__sync_state_get(store, "sync.county", county, county_size);
	return rc;
}

int fic__sync_auth(fic_store *store, char *buf, size_t size)
{
	char token[TOKEN_MAX + 1];
	int rc = fic__sync_state_get(store, "sync.token", token, sizeof token);
	if (rc == FIC_ENOTFOUND)
		return fic__err(FIC_ESTATE, "this device is not enrolled: run enrolment first");
	if (rc != FIC_OK)
		return rc;
	snprintf(buf, size, "Bearer %s", token);
	memset(token, 0, sizeof token);
	return FIC_OK;
}

static void progress(const fic_sync_options *o, fic_store *store, const fic_sync_report *rep,
                     int64_t total)
{
	if (o->progress == NULL)
		return;
	fic__outbox_counts n;
	fic_sync_progress p = { .version = FIC_SYNC_PROGRESS_VERSION,
		                .records_done = rep->stored + rep->duplicates + rep->rejected,
		                .records_total = total, .bytes_sent = rep->bytes_sent };
	int64_t photos = 0, urgent_photos = 0;
	if (fic__outbox_counts_get(store, &n) == FIC_OK)
		p.urgent_pending = (int)n.urgent_pending;
	if (fic__upload_counts(store, &photos, &urgent_photos) == FIC_OK)
		p.photos_pending = photos;
	p.photos_done = rep->photos_sent;
	if (p.records_total < p.records_done)
		p.records_total = p.records_done;
	o->progress(o->progress_arg, &p);
}

static int finish(fic_store *store, fic_sync_report *rep, int rc)
{
	fic__outbox_counts n;
	/* Keep the pass's error message: counting must not overwrite it. */
	char saved[512];
	int code = fic_error_last()->code;
	snprintf(saved, sizeof saved, "%s", fic_error_last()->message);
	if (fic__outbox_counts_get(store, &n) == FIC_OK) {
		rep->pending = n.pending;
		rep->next_due_ms = n.next_due_ms;
	}
	int64_t photos = 0, urgent = 0;
	if (fic__upload_counts(store, &photos, &urgent) == FIC_OK)
		rep->photos_pending = photos;
	if (rc != FIC_OK)
		fic__err(code == rc ? code : rc, "%s", saved);
	return rc;
}

/*
 * The audit log goes to the county too, after the outbox's records: entries
 * after the cursor `sync.audit_seq`, up to *max a request, each a record
 * {type "audit", id "<device>:<seq>"} — idempotent like every record. The
 * log is append-only (rows are never marked), so the cursor says how far the
 * server has answered: it moves past an entry only on an answer that names
 * it (stored, duplicate, or refused for good — logged and counted); a
 * refusal that may be retried stops it there. A batch refused whole is
 * halved until the refused entry is alone, and that one is skipped. An entry
 * whose detail is not JSON (damaged on disk, or written by an older
 * version) is set aside: kept as a refused outbox row the user sees in the
 * rejections, counted, never sent — and the rest of the log goes on.
 */
static int set_aside_audit(fic_store *store, int64_t seq, fic_sync_report *rep)
{
	char id[80], cur[32];
	snprintf(id, sizeof id, "%s:%lld", fic_store_device_id(store), (long long)seq);
	snprintf(cur, sizeof cur, "%lld", (long long)seq);
	fic__log(store, FIC_LOG_WARN, "audit entry %lld cannot be read: set aside, not sent",
	         (long long)seq);
	int rc = fic__tx_begin(store);
	if (rc != FIC_OK)
		return rc;
	sqlite3_stmt *st;
	if ((rc = fic__prepare(store, &st,
	                       "INSERT INTO outbox (record_type, record_id, op, priority, payload, "
	                       "created_at_ms, state, last_error) VALUES ('audit', ?1, 'append', 0, "
	                       "'{}', ?2, 'rejected', 'this audit entry could not be read (damaged, "
	                       "or written by an older version): set aside, not sent')")) == FIC_OK) {
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, store->platform->wall_ms(store->platform->ctx));
		int s = sqlite3_step(st);
		sqlite3_finalize(st);
		rc = s == SQLITE_DONE ? FIC_OK : fic__db_err(store, s, "setting an audit entry aside");
	}
	if (rc == FIC_OK)
		rc = fic__sync_state_put(store, "sync.audit_seq", cur);
	if (rc == FIC_OK && (rc = fic__tx_commit(store)) == FIC_OK) {
		rep->set_aside++;
		return FIC_OK;
	}
	fic__tx_rollback(store);
	return rc;
}

static int push_audit(fic_store *store, const fic_sync_options *o, const fic_http_header *h,
                      size_t nh, fic_sync_report *rep, size_t *max, bool *idle)
{
	*idle = false;
	char cur[32] = "0";
	int rc = fic__sync_state_get(store, "sync.audit_seq", cur, sizeof cur);
	if (rc != FIC_OK && rc != FIC_ENOTFOUND)
		return rc;
	fic__err_clear();
	sqlite3_stmt *st;
	if ((rc = fic__prepare(store, &st,
	                       "SELECT seq, json_object('seq', seq, 'at_ms', at_ms, 'mono_ms', mono_ms, "
	                       "'boot_id', boot_id, 'trusted_ms', trusted_ms, 'time_flags', time_flags, "
	                       "'actor', actor, 'action', action, 'entity', entity, 'entity_id', "
	                       "entity_id, 'detail', CASE WHEN json_valid(detail) THEN json(detail) "
	                       "END), json_valid(detail) FROM audit WHERE seq > ?1 "
	                       "ORDER BY seq LIMIT ?2")) != FIC_OK)
		return rc;
	sqlite3_bind_int64(st, 1, strtoll(cur, NULL, 10));
	sqlite3_bind_int64(st, 2, (int64_t)*max);
	fic__outbox_batch *b = fic__calloc(1, sizeof *b);
	int s = SQLITE_DONE;
	if (b == NULL || (b->items = fic__calloc(*max, sizeof *b->items)) == NULL) {
		rc = fic__err(FIC_ENOMEM, "out of memory reading the audit log");
		goto done;
	}
	const char *dev = fic_store_device_id(store);
	/* Room for the envelope: type, id and op per record, and the braces. */
	const size_t room = FIC_SYNC_BATCH_MAX_BYTES - 64 * 1024;
	int64_t aside = 0;
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		if (!sqlite3_column_int(st, 2)) {
			/* Unreadable: send what came before it first; then set it aside. */
			if (b->count == 0)
				aside = sqlite3_column_int64(st, 0);
			s = SQLITE_DONE;
			break;
		}
		const char *json = (const char *)sqlite3_column_text(st, 1);
		size_t jl = json ? strlen(json) : 0;
		if (b->count > 0 && b->payload_bytes + jl > room)
			break; /* the rest next request */
		fic__outbox_item *it = &b->items[b->count++];
		it->seq = sqlite3_column_int64(st, 0);
		char id[80];
		snprintf(id, sizeof id, "%s:%lld", dev, (long long)it->seq);
		it->record_type = fic__strdup("audit");
		it->record_id = fic__strdup(id);
		it->op = fic__strdup("append");
		it->payload = fic__strdup(json ? json : "{}");
		if (!it->record_type || !it->record_id || !it->op || !it->payload) {
			rc = fic__err(FIC_ENOMEM, "out of memory reading the audit log");
			goto done;
		}
		b->payload_bytes += jl;
	}
	if (s != SQLITE_ROW && s != SQLITE_DONE) {
		rc = fic__db_err(store, s, "reading the audit log");
		goto done;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (aside > 0) {
		rc = set_aside_audit(store, aside, rep);
		goto done;
	}
	if (b->count == 0) {
		*idle = true;
		goto done;
	}
	unsigned char *body = NULL;
	size_t len = 0;
	if ((rc = fic__wire_encode_batch(b, !o->no_gzip, &body, &len)) != FIC_OK)
		goto done;
	fic_http_response r;
	const fic_platform *p = store->platform;
	int64_t now = p->wall_ms(p->ctx);
	rc = fic__sync_exchange(store, o, "POST", "/v1/records", h, nh, body, len, &r, rep);
	fic__free(body);
	if (rc != FIC_OK)
		goto done;
	char why[300];
	int64_t upto = -1; /* the cursor moves past this entry */
	if (r.status == 200) {
		fic__record_result *res = NULL;
		if ((rc = fic__wire_parse_results((const char *)r.body, r.body_len, b, &res)) == FIC_OK) {
			for (size_t i = 0; i < b->count; i++) {
				if (res[i].kind == FIC__RESULT_REJECTED && res[i].retry)
					break; /* this one and the rest: again later */
				if (res[i].kind == FIC__RESULT_REJECTED) {
					fic__log(store, FIC_LOG_WARN, "the server refused audit entry %lld: %s",
					         (long long)b->items[i].seq, res[i].reason);
					rep->rejected++;
				} else {
					rep->audit_sent++;
				}
				upto = b->items[i].seq;
			}
			fic__wire_results_free(res, b->count);
			if (*max < 500)
				*max = *max * 2 > 500 ? 500 : *max * 2;
		}
	} else if (r.status == 401 || r.status == 403) {
		fic__sync_error_body(&r, why, sizeof why, NULL);
		rc = fic__err(FIC_EAUTH, "the server refused this device: %s; enrol again", why);
	} else if (r.status == 400 || r.status == 413 || r.status == 422) {
		if (b->count > 1) {
			*max = b->count / 2; /* find the entry at fault */
		} else {
			fic__sync_error_body(&r, why, sizeof why, NULL);
			fic__log(store, FIC_LOG_WARN, "the server refused audit entry %lld: %s",
			         (long long)b->items[0].seq, why);
			rep->rejected++;
			upto = b->items[0].seq;
		}
	} else {
		int64_t ra = r.retry_after_ms > 0 ? r.retry_after_ms : 0;
		fic__sync_error_body(&r, why, sizeof why, &ra);
		if (r.status == 429 || r.status >= 500) {
			fic__sync_hold(store, now, ra);
			rc = fic__err(FIC_ENETWORK, "sending the audit log failed: %s", why);
		} else {
			rc = fic__err(FIC_EPROTO, "sending the audit log failed: %s", why);
		}
	}
	fic__free(r.body);
	if (rc == FIC_OK && upto > 0) {
		snprintf(cur, sizeof cur, "%lld", (long long)upto);
		rc = fic__sync_state_put(store, "sync.audit_seq", cur);
	} else if (rc == FIC_OK && r.status == 200) {
		*idle = true; /* the first entry is to be retried: not again in this pass */
	}
done:
	if (st)
		sqlite3_finalize(st);
	fic__outbox_batch_free(b);
	return rc;
}

/* The push, with checked options and a report of our own version. */
static int push(fic_store *store, const fic_sync_options *opts, fic_sync_report *rep)
{
	int rc;
	char auth[TOKEN_MAX + 16];
	if ((rc = fic__sync_auth(store, auth, sizeof auth)) != FIC_OK)
		return rc;
	fic_http_header h[3] = { { "Authorization", auth }, { "Content-Type", "application/json" },
		                 { "Content-Encoding", "gzip" } };
	size_t nh = opts->no_gzip ? 2 : 3;

	fic__outbox_counts start;
	if ((rc = fic__outbox_counts_get(store, &start)) != FIC_OK)
		goto out;
	int64_t total = start.pending;
	size_t max_records = FIC_SYNC_BATCH_MAX_RECORDS;
	fic__upload_cursor upload = { "", 0, opts->photo_chunk_bytes, 0 };
	bool audit_done = false;
	size_t audit_max = 500;
	if (upload.chunk > FIC_SYNC_CHUNK_MAX)
		upload.chunk = FIC_SYNC_CHUNK_MAX;
	for (;;) {
		if (fic__cancelled(opts->cancel)) {
			rc = fic__err(FIC_ECANCELED, "sync cancelled");
			break;
		}
		const fic_platform *p = store->platform;
		int64_t now = p->wall_ms(p->ctx);
		fic__outbox_batch *b = NULL;
		if ((rc = fic__outbox_next_batch(store, now, max_records, FIC_SYNC_BATCH_MAX_BYTES,
		                                 &b)) != FIC_OK)
			break;
		if (b == NULL) {
			/* No record is due: the audit log, then one step of the photos, then
			 * look again. */
			bool idle = false;
			if (fic__sync_held(store, now))
				break; /* the server asked for quiet: records only, when due */
			if (!audit_done) {
				rc = push_audit(store, opts, h, nh, rep, &audit_max, &idle);
				if (rc != FIC_OK)
					break;
				audit_done = idle;
				if (!idle) {
					progress(opts, store, rep, total);
					continue;
				}
			}
			rc = fic__upload_step(store, opts, auth, &upload, rep, &idle);
			if (rc != FIC_OK || idle)
				break;
			progress(opts, store, rep, total);
			continue;
		}
		unsigned char *body = NULL;
		size_t len = 0;
		if ((rc = fic__wire_encode_batch(b, !opts->no_gzip, &body, &len)) != FIC_OK) {
			if (rc == FIC_ECORRUPT && b->count == 1) {
				/* A damaged row cannot be sent; keep it, refused, for the user to see. */
				fic__record_result bad = { .kind = FIC__RESULT_REJECTED,
					                   .reason = "the stored record is damaged and cannot be sent" };
				rc = fic__outbox_apply(store, b->items[0].seq, &bad, now, 0);
				rep->set_aside++;
				fic__outbox_batch_free(b);
				if (rc != FIC_OK)
					break;
				continue;
			}
			if (rc == FIC_ECORRUPT && b->count > 1) {
				max_records = b->count / 2;
				fic__outbox_batch_free(b);
				continue;
			}
			fic__outbox_batch_free(b);
			break;
		}
		fic_http_response r;
		rc = fic__sync_exchange(store, opts, "POST", "/v1/records", h, nh, body, len, &r, rep);
		fic__free(body);
		char why[300];
		int64_t retry_after = 0;
		if (rc == FIC_ECANCELED || rc == FIC_EINVAL) {
			/* Nothing happened to the records: leave them as they are. */
			fic__outbox_batch_free(b);
			break;
		}
		if (rc != FIC_OK) {
			int code = rc;
			snprintf(why, sizeof why, "%s", fic_error_last()->message);
			int drc = fic__outbox_defer(store, b, why, 0, now, fic__sync_rand32(store), &rep->retry_at_ms);
			rep->deferred += (int64_t)b->count;
			fic__outbox_batch_free(b);
			rc = drc != FIC_OK ? drc : fic__err(code, "%s", why);
			break;
		}
		if (r.status == 200) {
			fic__record_result *res = NULL;
			rc = fic__wire_parse_results((const char *)r.body, r.body_len, b, &res);
			if (rc == FIC_OK) {
				/* A batch went through: after a split, grow back a step at a time. */
				if (max_records < FIC_SYNC_BATCH_MAX_RECORDS)
					max_records = max_records * 2 > FIC_SYNC_BATCH_MAX_RECORDS
					                      ? FIC_SYNC_BATCH_MAX_RECORDS
					                      : max_records * 2;
				/* One transaction for the whole answer; leads move with their rows. */
				rc = fic__outbox_apply_batch(store, b, res, now, fic__sync_rand32(store), NULL);
				for (size_t i = 0; i < b->count && rc == FIC_OK; i++) {
					switch (res[i].kind) {
					case FIC__RESULT_STORED: rep->stored++; break;
					case FIC__RESULT_DUPLICATE: rep->duplicates++; break;
					case FIC__RESULT_REJECTED:
						if (res[i].retry)
							rep->deferred++;
						else
							rep->rejected++;
						break;
					}
					if ((res[i].kind == FIC__RESULT_STORED ||
					     res[i].kind == FIC__RESULT_DUPLICATE) &&
					    b->items[i].priority >= FIC_SYNC_URGENT_PRIORITY)
						rep->urgent_acked++;
				}
				fic__wire_results_free(res, b->count);
			} else if (rc == FIC_EPROTO) {
				snprintf(why, sizeof why, "%s", fic_error_last()->message);
				int drc = fic__outbox_defer(store, b, why, 0, now, fic__sync_rand32(store), &rep->retry_at_ms);
				rep->deferred += (int64_t)b->count;
				rc = drc != FIC_OK ? drc : fic__err(FIC_EPROTO, "%s", why);
			}
		} else if (r.status == 401 || r.status == 403) {
			fic__sync_error_body(&r, why, sizeof why, NULL);
			rc = fic__err(FIC_EAUTH, "the server refused this device: %s; enrol again", why);
		} else if (r.status == 429 || r.status >= 500) {
			retry_after = r.retry_after_ms > 0 ? r.retry_after_ms : 0;
			fic__sync_error_body(&r, why, sizeof why, &retry_after);
			fic__sync_hold(store, now, retry_after);
			int drc = fic__outbox_defer(store, b, why, retry_after, now, fic__sync_rand32(store), &rep->retry_at_ms);
			rep->deferred += (int64_t)b->count;
			rc = drc != FIC_OK ? drc : fic__err(FIC_ENETWORK, "the server is unavailable: %s", why);
		} else if ((r.status == 400 || r.status == 413 || r.status == 422) && b->count > 1) {
			/* Refused as a whole: find the record at fault by halving. */
			max_records = b->count / 2;
		} else if (r.status == 400 || r.status == 413 || r.status == 422) {
			fic__sync_error_body(&r, why, sizeof why, NULL);
			fic__record_result no = { .kind = FIC__RESULT_REJECTED, .reason = why };
			rc = fic__outbox_apply(store, b->items[0].seq, &no, now, 0);
			rep->rejected++;
		} else if (r.status >= 400 && r.status < 500) {
			/* 404, 405, …: the URL does not lead to this protocol. The records
			 * are not at fault: leave them untouched. */
			fic__sync_error_body(&r, why, sizeof why, NULL);
			rc = fic__err(FIC_EPROTO, "the server does not speak the sync protocol at %.200s: %s",
			              opts->server_url, why);
		} else {
			snprintf(why, sizeof why, "unexpected HTTP status %d", r.status);
			int drc = fic__outbox_defer(store, b, why, 0, now, fic__sync_rand32(store), &rep->retry_at_ms);
			rep->deferred += (int64_t)b->count;
			rc = drc != FIC_OK ? drc : fic__err(FIC_EPROTO, "%s", why);
		}
		fic__free(r.body);
		fic__outbox_batch_free(b);
		progress(opts, store, rep, total);
		if (rc != FIC_OK)
			break;
	}
out:
	memset(auth, 0, sizeof auth);
	return finish(store, rep, rc);
}

int fic_sync_push(fic_store *store, const fic_sync_options *in, fic_sync_report *report)
{
	fic__err_clear();
	fic_sync_report rep;
	report_start(&rep);
	fic_sync_options o;
	int rc = check_report(report);
	if (rc == FIC_OK && (rc = check_opts(store, in, &o)) == FIC_OK)
		rc = push(store, &o, &rep);
	report_out(report, &rep);
	return rc;
}

int fic_sync_pull(fic_store *store, const fic_sync_options *in, fic_sync_report *report)
{
	fic__err_clear();
	fic_sync_report full;
	fic_sync_report *rep = &full;
	report_start(rep);
	fic_sync_options o;
	int rc = check_report(report);
	if (rc == FIC_OK)
		rc = check_opts(store, in, &o);
	char auth[TOKEN_MAX + 16];
	if (rc != FIC_OK || (rc = fic__sync_auth(store, auth, sizeof auth)) != FIC_OK) {
		report_out(report, rep);
		return rc;
	}
	if (!fic__sync_held(store, store->platform->wall_ms(store->platform->ctx)))
		rc = fic__sync_pull(store, &o, auth, rep);
	memset(auth, 0, sizeof auth);
	rc = finish(store, rep, rc);
	report_out(report, rep);
	return rc;
}

static int run(fic_store *store, const fic_sync_options *opts, fic_sync_report *rep);

int fic_sync_run(fic_store *store, const fic_sync_options *in, fic_sync_report *report)
{
	fic__err_clear();
	fic_sync_report rep;
	report_start(&rep);
	fic_sync_options o;
	int rc = check_report(report);
	if (rc == FIC_OK && (rc = check_opts(store, in, &o)) == FIC_OK)
		rc = run(store, &o, &rep);
	report_out(report, &rep);
	return rc;
}

static int run(fic_store *store, const fic_sync_options *opts, fic_sync_report *rep)
{
	int rc = push(store, opts, rep);
	if (rc == FIC_ENETWORK || rc == FIC_ETLS || rc == FIC_ECANCELED || rc == FIC_EAUTH ||
	    rc == FIC_ESTATE || rc == FIC_EINVAL)
		return rc;
	/* A push that reached the server (even with some records refused or a
	 * protocol error on one answer) still pulls; its error is kept. */
	int push_rc = rc;
	char saved[512];
	snprintf(saved, sizeof saved, "%s", fic_error_last()->message);
	char auth[TOKEN_MAX + 16];
	if ((rc = fic__sync_auth(store, auth, sizeof auth)) == FIC_OK &&
	    !fic__sync_held(store, store->platform->wall_ms(store->platform->ctx))) {
		rc = fic__sync_pull(store, opts, auth, rep);
		memset(auth, 0, sizeof auth);
	}
	if (push_rc != FIC_OK) {
		fic__err(push_rc, "%s", saved);
		return push_rc;
	}
	return finish(store, rep, rc);
}

int fic_sync_network_changed(fic_store *store, int available)
{
	fic__err_clear();
	if (store == NULL)
		return fic__err(FIC_EINVAL, "store is NULL");
	fic__log(store, FIC_LOG_INFO, "network %s", available ? "available" : "lost");
	if (!available)
		return FIC_OK;
	int rc = fic__tx_begin(store);
	if (rc != FIC_OK)
		return rc;
	static const char *const sql[] = {
		"UPDATE outbox SET next_at_ms = 0 WHERE state = 'pending' AND next_at_ms > 0",
		"UPDATE uploads SET next_at_ms = 0 WHERE state = 'pending' AND next_at_ms > 0",
	};
	for (size_t i = 0; i < 2 && rc == FIC_OK; i++) {
		sqlite3_stmt *st;
		if ((rc = fic__prepare(store, &st, sql[i])) == FIC_OK) {
			int s = sqlite3_step(st);
			sqlite3_finalize(st);
			if (s != SQLITE_DONE)
				rc = fic__db_err(store, s, "making the queue due");
		}
	}
	if (rc == FIC_OK)
		rc = fic__tx_commit(store);
	if (rc != FIC_OK)
		fic__tx_rollback(store);
	return rc;
}

const fic_sync_rejection *fic_sync_rejection_list_at(const fic_sync_rejection_list *list,
                                                     size_t i)
{
	return list && i < list->count ? &list->entries[i] : NULL;
}

void fic_sync_rejection_list_free(fic_sync_rejection_list *list)
{
	if (list == NULL)
		return;
	for (size_t i = 0; i < list->count; i++) {
		fic__free((char *)list->entries[i].record_type);
		fic__free((char *)list->entries[i].record_id);
		fic__free((char *)list->entries[i].op);
		fic__free((char *)list->entries[i].reason);
	}
	fic__free(list->entries);
	fic__free(list);
}

int fic_sync_rejections_get(fic_sync_rejection_list **out, fic_store *store)
{
	fic__err_clear();
	if (out == NULL)
		return fic__err(FIC_EINVAL, "out is NULL");
	*out = NULL;
	if (store == NULL)
		return fic__err(FIC_EINVAL, "store is NULL");
	sqlite3_stmt *st;
	int rc = fic__prepare(store, &st,
	                      "SELECT record_type, record_id, op, coalesce(last_error, ''), "
	                      "created_at_ms FROM (SELECT record_type, record_id, op, last_error, "
	                      "created_at_ms, seq AS k1, 0 AS k2 FROM outbox WHERE state = 'rejected' "
	                      "UNION ALL SELECT 'photo_file', sha256, 'upload', last_error, "
	                      "created_at_ms, 0, created_at_ms FROM uploads WHERE state = 'rejected') "
	                      "ORDER BY created_at_ms, k1");
	if (rc != FIC_OK)
		return rc;
	fic_sync_rejection_list *l = fic__calloc(1, sizeof *l);
	size_t cap = 0;
	int s = SQLITE_DONE;
	if (l == NULL) {
		rc = fic__err(FIC_ENOMEM, "out of memory listing rejections");
		goto done;
	}
	l->entry_size = sizeof(fic_sync_rejection);
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		if (l->count == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			fic_sync_rejection *n = fic__realloc(l->entries, ncap * sizeof *n);
			if (n == NULL) {
				rc = fic__err(FIC_ENOMEM, "out of memory listing rejections");
				goto done;
			}
			l->entries = n;
			cap = ncap;
		}
		fic_sync_rejection *e = &l->entries[l->count++];
		memset(e, 0, sizeof *e);
		e->record_type = fic__strdup((const char *)sqlite3_column_text(st, 0));
		e->record_id = fic__strdup((const char *)sqlite3_column_text(st, 1));
		e->op = fic__strdup((const char *)sqlite3_column_text(st, 2));
		e->reason = fic__strdup((const char *)sqlite3_column_text(st, 3));
		e->queued_at_ms = sqlite3_column_int64(st, 4);
		if (!e->record_type || !e->record_id || !e->op || !e->reason) {
			rc = fic__err(FIC_ENOMEM, "out of memory listing rejections");
			goto done;
		}
	}
	if (s != SQLITE_DONE)
		rc = fic__db_err(store, s, "listing rejections");
done:
	sqlite3_finalize(st);
	if (rc != FIC_OK) {
		fic_sync_rejection_list_free(l);
		return rc;
	}
	*out = l;
	return FIC_OK;
}
