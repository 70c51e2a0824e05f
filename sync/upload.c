/*
 * sync/upload.c — photo files to the server, content-addressed and
 * resumable (docs/protocol.md, "Photos"). What goes is each photo's upload
 * rendition (1600 px, no metadata), named by its SHA-256; the uploads table
 * (filled by the core in the photo's transaction) says which are due, an
 * urgent lead's photos first.
 *
 * Photos go on lanes (lanes.c) with the built-in transport (FIC__LANES
 * connections of its own, transport_curl.c) and with an app's transport that
 * declares FIC_TRANSPORT_CONCURRENT (its `request` called on a thread of the
 * engine's per lane): each lane uploads its own photo, a chunk at a time,
 * and while one lane's chunk waits for its answer (a round trip: 0.3 s on a
 * rural link) the other's is on the link, so the link does not idle. The
 * pass waits on the lanes for at most LANE_WAIT_MS at a time and goes back
 * to the records in between, so an urgent lead filed meanwhile goes next on
 * a connection of its own, behind no chunk; every answer is applied here, on
 * the syncing thread. Chunks start at 64 KiB and double with each that
 * arrives, up to 256 KiB (fewer requests, fewer headers); photo_chunk_bytes
 * fixes them. Another transport runs one exchange at a time: one chunk
 * (32 KiB by default), then the records again.
 *
 * The server keeps what it has been sent, so an interrupted photo resumes at
 * the server's offset (HEAD) — after a dropped link, a kill, the end of a
 * pass (a lane's chunk in flight is abandoned, unless it is all sent — then
 * its answer is awaited a moment —, or, on a lane thread, told to stop
 * through its cancel flag, and whatever answer still comes back applied), or
 * a change of which photo is due.
 */
#include "sync_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LANE_WAIT_MS 50           /* the records are looked at again at least this often */
#define LANE_DRAIN_MS 3000        /* at the end of a pass, for answers to requests all sent */
#define LANE_CHUNK_FIRST (64 * 1024)

typedef fic__due_upload due_upload;

/* The next photo due, except those named in `busy` (on other lanes; may be NULL). */
static int next_due(fic_store *store, int64_t now, const char *const busy[2], due_upload *out,
                    bool *found)
{
	*found = false;
	sqlite3_stmt *st;
	int rc = fic__cached(store, &st, "SELECT sha256, bytes, hash_failures FROM uploads "
	                                 "WHERE state = 'pending' AND next_at_ms <= ?1 "
	                                 "AND sha256 NOT IN (?2, ?3) "
	                                 "ORDER BY priority DESC, created_at_ms, sha256 LIMIT 1");
	if (rc != FIC_OK)
		return rc;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_text(st, 2, busy && busy[0] ? busy[0] : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, busy && busy[1] ? busy[1] : "", -1, SQLITE_STATIC);
	int s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		snprintf(out->sha256, sizeof out->sha256, "%s", (const char *)sqlite3_column_text(st, 0));
		out->bytes = sqlite3_column_int64(st, 1);
		out->hash_failures = sqlite3_column_int(st, 2);
		*found = true;
	} else if (s != SQLITE_DONE) {
		rc = fic__db_err(store, s, "reading the photo queue");
	}
	fic__release(store, st);
	return rc;
}

int fic__upload_counts(fic_store *store, int64_t *pending, int64_t *urgent)
{
	sqlite3_stmt *st;
	int rc = fic__cached(store, &st, "SELECT count(*), coalesce(sum(priority >= ?1), 0) "
	                                 "FROM uploads WHERE state = 'pending'");
	if (rc != FIC_OK)
		return rc;
	sqlite3_bind_int(st, 1, FIC_UPLOAD_URGENT);
	int s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		*pending = sqlite3_column_int64(st, 0);
		*urgent = sqlite3_column_int64(st, 1);
	} else {
		rc = fic__db_err(store, s, "counting the photo queue");
	}
	fic__release(store, st);
	return rc;
}

/* state: 'done' or 'rejected' (with why); or still pending with a backoff (defer). */
static int mark(fic_store *store, const char *sha, const char *state, const char *why,
                bool defer, int64_t retry_after_ms, int64_t now, uint32_t r, int64_t *until)
{
	sqlite3_stmt *st;
	int rc;
	if (defer) {
		int attempts = 0;
		if ((rc = fic__prepare(store, &st, "SELECT attempts FROM uploads WHERE sha256 = ?1")) !=
		    FIC_OK)
			return rc;
		sqlite3_bind_text(st, 1, sha, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			attempts = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
		int64_t at = now + fic__backoff_ms(attempts + 1, retry_after_ms, r);
		if (until && (*until == 0 || at < *until))
			*until = at;
		rc = fic__prepare(store, &st, "UPDATE uploads SET attempts = attempts + 1, "
		                              "next_at_ms = ?2, last_error = ?3 WHERE sha256 = ?1");
		if (rc != FIC_OK)
			return rc;
		sqlite3_bind_int64(st, 2, at);
	} else {
		rc = fic__prepare(store, &st, "UPDATE uploads SET state = ?4, done_at_ms = ?2, "
		                              "last_error = ?3 WHERE sha256 = ?1");
		if (rc != FIC_OK)
			return rc;
		sqlite3_bind_int64(st, 2, now);
		sqlite3_bind_text(st, 4, state, -1, SQLITE_STATIC);
	}
	sqlite3_bind_text(st, 1, sha, -1, SQLITE_STATIC);
	if (why)
		sqlite3_bind_text(st, 3, why, -1, SQLITE_TRANSIENT);
	int s = sqlite3_step(st);
	sqlite3_finalize(st);
	return s == SQLITE_DONE ? FIC_OK : fic__db_err(store, s, "updating the photo queue");
}

static int file_path(fic_store *store, const char *sha, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s.photos/%s.jpg", store->path, sha);
	return n > 0 && (size_t)n < size ? FIC_OK
	                                 : fic__err(FIC_ETOOBIG, "store path too long for its photos");
}

/* Does the local file still hold what its name says? (It is the evidence.) */
static bool local_ok(const char *path, const char *sha, int64_t bytes)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	struct stat sb;
	char got[FIC_SHA256_HEX];
	int64_t n = 0;
	bool ok = fstat(fd, &sb) == 0 && sb.st_size == bytes && fic__sha256_fd(fd, got, &n) == FIC_OK &&
	          n == bytes && strcmp(got, sha) == 0;
	close(fd);
	fic__err_clear();
	return ok;
}

/* Count a hash mismatch at the server (only those count toward refusing the photo). */
static int hash_failed(fic_store *store, const char *sha)
{
	return fic__exec(store, "UPDATE uploads SET hash_failures = hash_failures + 1 WHERE sha256 = ?1",
	                 "updating the photo queue", "t", sha);
}

/* A transient failure: the photo waits with a backoff; the pass ends with `code`.
 * `why` may be the thread's own error message (fic_error_last): it is copied
 * first, since recording the error again writes over that buffer. */
static int defer(fic_store *store, const char *sha, int code, const char *why,
                 int64_t retry_after, int64_t now, fic_sync_report *rep)
{
	char msg[512];
	snprintf(msg, sizeof msg, "%s", why);
	fic__sync_hold(store, now, retry_after);
	int rc = mark(store, sha, NULL, msg, true, retry_after, now, fic__sync_rand32(store),
	              &rep->retry_at_ms);
	return rc != FIC_OK ? rc : fic__err(code, "%s", msg);
}

/*
 * The server refused this photo, and only it (400, 507 over a quota, 413 with
 * chunks as small as they go): it waits its backoff — the server's
 * Retry-After, if it gave one — with the reason kept, and the pass goes on
 * with the other photos. The server is not held: it answered.
 */
static int skip(fic_store *store, fic__upload_cursor *cur, const char *sha, const char *why,
                int64_t retry_after, int64_t now)
{
	cur->sha256[0] = '\0';
	cur->stuck = 0;
	fic__log(store, FIC_LOG_WARN, "the server refused photo %.12s: %s; the others go on", sha,
	         why);
	return mark(store, sha, NULL, why, true, retry_after, now, fic__sync_rand32(store), NULL);
}

/* One photo's request context. */
typedef struct step {
	fic_store *store;
	const fic_sync_options *o;
	fic__upload_cursor *cur;
	fic_sync_report *rep;
	const due_upload *u;
	int64_t now;
} step;

/* Before a photo's first chunk in a pass: does the file on the device still
 * hold what its name says? If not, the photo is refused (*ok false). */
static int check_local(step *sp, const char *path, bool *ok)
{
	*ok = local_ok(path, sp->u->sha256, sp->u->bytes);
	if (*ok)
		return FIC_OK;
	sp->rep->photos_rejected++;
	sp->cur->sha256[0] = '\0';
	return mark(sp->store, sp->u->sha256, "rejected",
	            "the photo file on the device is missing or does not match its "
	            "SHA-256; run fic_evidence_verify", false, 0, sp->now, 0, NULL);
}

/* What the server said to HEAD (the transport's rc, its answer): how much it has. */
static int head_answer(step *sp, int rc, fic_http_response *r)
{
	const due_upload *u = sp->u;
	char why[300];
	if (rc == FIC_ECANCELED || rc == FIC_EINVAL)
		return rc;
	if (rc != FIC_OK)
		return defer(sp->store, u->sha256, rc, fic_error_last()->message, 0, sp->now, sp->rep);
	int status = r->status;
	int64_t off = r->upload_offset, retry_after = r->retry_after_ms > 0 ? r->retry_after_ms : 0;
	fic__sync_error_body(r, why, sizeof why, &retry_after);
	fic__free(r->body);
	r->body = NULL;
	fic__answer a = fic__answer_class(status);
	if (status == 404) {
		off = 0;
	} else if (a == FIC__ANSWER_AUTH) {
		return fic__err(FIC_EAUTH, "the server refused this device: %s; enrol again", why);
	} else if (a == FIC__ANSWER_BUSY) {
		return defer(sp->store, u->sha256, FIC_ENETWORK, why, retry_after, sp->now, sp->rep);
	} else if (status != 200 || off < 0 || off > u->bytes) {
		snprintf(why, sizeof why, "the server's answer about photo %.12s… is not in the "
		         "protocol (HTTP %d, offset %lld)", u->sha256, status, (long long)off);
		return defer(sp->store, u->sha256, FIC_EPROTO, why, 0, sp->now, sp->rep);
	}
	if (off == u->bytes) { /* the server has it whole (verified when it arrived) */
		sp->rep->photos_sent++;
		return mark(sp->store, u->sha256, "done", NULL, false, 0, sp->now, 0, NULL);
	}
	memcpy(sp->cur->sha256, u->sha256, sizeof sp->cur->sha256);
	sp->cur->offset = off;
	return FIC_OK;
}

/* What the server answered to a chunk of `sent` bytes. */
static int chunk_answer(step *sp, const fic_http_response *r, size_t sent)
{
	const due_upload *u = sp->u;
	fic__upload_cursor *cur = sp->cur;
	char why[300];
	int64_t off = r->upload_offset, retry_after = r->retry_after_ms > 0 ? r->retry_after_ms : 0;
	fic__sync_error_body(r, why, sizeof why, &retry_after);
	switch (r->status) {
	case 201: /* complete and verified */
		sp->rep->photos_sent++;
		sp->rep->photo_bytes_sent += (int64_t)sent;
		cur->sha256[0] = '\0';
		return mark(sp->store, u->sha256, "done", NULL, false, 0, sp->now, 0, NULL);
	case 204:
		/* The chunk is in: the server's offset must be just past it. */
		if (off != cur->offset + (int64_t)sent || off >= u->bytes) {
			cur->sha256[0] = '\0';
			snprintf(why, sizeof why, "the server's Upload-Offset after a chunk is not where "
			         "the chunk ended (%lld, expected %lld)", (long long)off,
			         (long long)(cur->offset + (int64_t)sent));
			return defer(sp->store, u->sha256, FIC_EPROTO, why, 0, sp->now, sp->rep);
		}
		sp->rep->photo_bytes_sent += (int64_t)sent;
		cur->offset = off;
		cur->stuck = 0;
		return FIC_OK;
	case 409: /* not where the server is: go on from its offset, but not forever */
		if (off < 0 || off > u->bytes || ++cur->stuck >= FIC_SYNC_PHOTO_STUCK) {
			cur->sha256[0] = '\0';
			cur->stuck = 0;
			snprintf(why, sizeof why, "the server keeps refusing the photo's offset (409)");
			return defer(sp->store, u->sha256, FIC_EPROTO, why, 0, sp->now, sp->rep);
		}
		cur->offset = off;
		return FIC_OK;
	case 413: /* the server takes smaller chunks */
		if (sent > 4096) {
			cur->chunk = sent / 2;
			return FIC_OK;
		}
		return skip(sp->store, cur, u->sha256, why, 0, sp->now);
	case 400: /* this photo's chunk refused */
	case 507: /* over a quota of the server's */
		return skip(sp->store, cur, u->sha256, why, r->status == 507 ? retry_after : 0, sp->now);
	case 422: /* the bytes did not hash right at the server: start again, a few times */
		cur->sha256[0] = '\0';
		if (u->hash_failures + 1 >= FIC_SYNC_PHOTO_ATTEMPTS) {
			sp->rep->photos_rejected++;
			return mark(sp->store, u->sha256, "rejected", why, false, 0, sp->now, 0, NULL);
		}
		int rc = hash_failed(sp->store, u->sha256);
		return rc != FIC_OK ? rc
		                    : mark(sp->store, u->sha256, NULL, why, true, 0, sp->now,
		                           fic__sync_rand32(sp->store), NULL);
	default:
		cur->sha256[0] = '\0';
		if (fic__answer_class(r->status) == FIC__ANSWER_AUTH)
			return fic__err(FIC_EAUTH, "the server refused this device: %s; enrol again", why);
		if (fic__answer_class(r->status) == FIC__ANSWER_BUSY)
			return defer(sp->store, u->sha256, FIC_ENETWORK, why, retry_after, sp->now, sp->rep);
		return defer(sp->store, u->sha256, FIC_EPROTO, why, 0, sp->now, sp->rep);
	}
}

/* What became of a chunk of `sent` bytes: the transport's rc, the server's answer. */
static int chunk_result(step *sp, int rc, fic_http_response *r, size_t sent)
{
	if (rc != FIC_OK) {
		sp->cur->sha256[0] = '\0'; /* the server's offset is unknown now: ask again */
		if (rc == FIC_ECANCELED || rc == FIC_EINVAL)
			return rc;
		return defer(sp->store, sp->u->sha256, rc, fic_error_last()->message, 0, sp->now, sp->rep);
	}
	rc = chunk_answer(sp, r, sent);
	fic__free(r->body);
	r->body = NULL;
	return rc;
}

/* The next chunk from the server's offset: *buf (fic__free it) with *len bytes,
 * or *buf NULL when the file would not give them (it is checked again, and
 * refused if damaged, when the photo is next started). */
static int read_chunk(step *sp, const char *path, unsigned char **buf, size_t *len)
{
	fic__upload_cursor *cur = sp->cur;
	size_t want = cur->chunk ? cur->chunk : FIC_SYNC_CHUNK_DEFAULT;
	if ((int64_t)want > sp->u->bytes - cur->offset)
		want = (size_t)(sp->u->bytes - cur->offset);
	*buf = fic__malloc(want ? want : 1);
	*len = want;
	if (*buf == NULL)
		return fic__err(FIC_ENOMEM, "out of memory uploading a photo");
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t got = fd >= 0 ? pread(fd, *buf, want, (off_t)cur->offset) : -1;
	if (fd >= 0)
		close(fd);
	if (got != (ssize_t)want) {
		fic__free(*buf);
		*buf = NULL;
		cur->sha256[0] = '\0';
	}
	return FIC_OK;
}

/* The headers of a chunk at the cursor's offset (off_s, len_s: their storage). */
static void chunk_headers(fic_http_header h[4], const char *auth, const step *sp, char off_s[24],
                          char len_s[24])
{
	snprintf(off_s, 24, "%lld", (long long)sp->cur->offset);
	snprintf(len_s, 24, "%lld", (long long)sp->u->bytes);
	h[0] = (fic_http_header){ "Authorization", auth };
	h[1] = (fic_http_header){ "Upload-Offset", off_s };
	h[2] = (fic_http_header){ "Upload-Length", len_s };
	h[3] = (fic_http_header){ "Content-Type", "application/offset+octet-stream" };
}

/* ---- one exchange at a time (a transport without lanes) ---- */

static int step_one(fic_store *store, const fic_sync_options *o, const char *auth,
                    fic__upload_cursor *cur, fic_sync_report *rep, bool *idle)
{
	due_upload u;
	bool found, ok;
	step sp = { .store = store, .o = o, .cur = cur, .rep = rep, .u = &u, .now = fic__now_ms(store) };
	int rc = next_due(store, sp.now, NULL, &u, &found);
	char path[4200], url[100], off_s[24], len_s[24];
	if (rc != FIC_OK || (*idle = !found))
		return rc;
	if ((rc = file_path(store, u.sha256, path, sizeof path)) != FIC_OK)
		return rc;
	snprintf(url, sizeof url, "/v1/photos/%s", u.sha256);
	fic_http_header h[4] = { { "Authorization", auth } };
	fic_http_response r;
	if (strcmp(cur->sha256, u.sha256) != 0) { /* a photo not under way in this pass */
		if ((rc = check_local(&sp, path, &ok)) != FIC_OK || !ok)
			return rc;
		rc = fic__sync_exchange(store, o, "HEAD", url, h, 1, NULL, 0, &r, rep);
		return head_answer(&sp, rc, &r);
	}
	unsigned char *buf;
	size_t len;
	if ((rc = read_chunk(&sp, path, &buf, &len)) != FIC_OK || buf == NULL)
		return rc;
	chunk_headers(h, auth, &sp, off_s, len_s);
	rc = fic__sync_exchange(store, o, "PATCH", url, h, 4, buf, len, &r, rep);
	fic__free(buf);
	return chunk_result(&sp, rc, &r, len);
}

/* ---- lanes: a photo each, their chunks on the link together ---- */

enum { LANE_IDLE, LANE_HEAD, LANE_PATCH };

static int64_t mono_ms(fic_store *store)
{
	return store->platform->monotonic_ms(store->platform->ctx);
}

/* Give lane n its next exchange: the most urgent due photo no other lane has —
 * a HEAD if it is not yet under way on this lane, else its next chunk. *none
 * when no photo is due for it. */
static int lane_fill(fic_store *store, const fic_sync_options *o, const char *auth,
                     fic__uploader *up, int n, fic_sync_report *rep, bool *none)
{
	fic__upload_lane *l = &up->lane[n];
	const char *busy[2] = { NULL, NULL };
	for (int i = 0, k = 0; i < FIC__LANES && k < 2; i++)
		if (i != n && up->lane[i].busy != LANE_IDLE) /* its photo, asked about or under way */
			busy[k++] = up->lane[i].u.sha256;
		else if (i != n && up->lane[i].cur.sha256[0])
			busy[k++] = up->lane[i].cur.sha256;
	due_upload u;
	bool found, ok;
	step sp = { .store = store, .o = o, .cur = &l->cur, .rep = rep, .u = &l->u, .now = fic__now_ms(store) };
	int rc = next_due(store, sp.now, busy, &u, &found);
	if (rc != FIC_OK || (*none = !found)) {
		l->cur.sha256[0] = '\0';
		return rc;
	}
	char path[4200];
	if ((rc = file_path(store, u.sha256, path, sizeof path)) != FIC_OK)
		return rc;
	snprintf(l->path, sizeof l->path, "/v1/photos/%s", u.sha256);
	l->h[0] = (fic_http_header){ "Authorization", auth };
	if (strcmp(l->cur.sha256, u.sha256) != 0) { /* a photo not yet under way on this lane */
		l->u = u;
		l->cur = (fic__upload_cursor){ "", 0, up->chunk ? up->chunk : LANE_CHUNK_FIRST, 0 };
		if ((rc = check_local(&sp, path, &ok)) != FIC_OK || !ok)
			return rc;
		fic__sync_request(o, "HEAD", l->path, l->h, 1, NULL, 0, l->url, sizeof l->url, &l->req);
		l->req.cancel = NULL; /* the pass watches the app's flag, and ends the lanes */
		l->busy = LANE_HEAD;
		l->sent = 0;
	} else {
		if ((rc = read_chunk(&sp, path, &l->buf, &l->sent)) != FIC_OK || l->buf == NULL)
			return rc;
		chunk_headers(l->h, auth, &sp, l->off_s, l->len_s);
		fic__sync_request(o, "PATCH", l->path, l->h, 4, l->buf, l->sent, l->url, sizeof l->url, &l->req);
		l->req.cancel = NULL;
		l->busy = LANE_PATCH;
	}
	l->started = mono_ms(store);
	if ((rc = fic__lanes_start(up->lanes, n, &l->req)) != FIC_OK) {
		l->busy = LANE_IDLE;
		fic__free(l->buf);
		l->buf = NULL;
	}
	return rc;
}

/* Lane n's exchange has finished (the transport's rc, its answer). */
static int lane_finish(fic_store *store, const fic_sync_options *o, fic__uploader *up, int n, int rc,
                       fic_http_response *r, fic_sync_report *rep)
{
	fic__upload_lane *l = &up->lane[n];
	step sp = { .store = store, .o = o, .cur = &l->cur, .rep = rep, .u = &l->u, .now = fic__now_ms(store) };
	rc = fic__sync_answered(store, rc, l->sent, mono_ms(store) - l->started, r, rep);
	int was = l->busy;
	l->busy = LANE_IDLE;
	if (was == LANE_HEAD)
		return head_answer(&sp, rc, r);
	fic__free(l->buf);
	l->buf = NULL;
	size_t before = l->cur.chunk;
	rc = chunk_result(&sp, rc, r, l->sent);
	if (l->cur.chunk < before) /* 413: the server takes no more than this */
		up->chunk_cap = l->cur.chunk;
	else if (rc == FIC_OK && !up->chunk && l->cur.sha256[0]) /* it arrived: larger next */
		l->cur.chunk = 2 * l->cur.chunk < up->chunk_cap ? 2 * l->cur.chunk : up->chunk_cap;
	return rc;
}

static int step_lanes(fic_store *store, const fic_sync_options *o, const char *auth,
                      fic__uploader *up, fic_sync_report *rep, bool *idle)
{
	int rc = FIC_OK;
	bool any = false;
	if (up->chunk_cap == 0)
		up->chunk_cap = FIC_SYNC_CHUNK_MAX;
	for (int n = 0; n < FIC__LANES && rc == FIC_OK; n++) {
		/* a photo refused for its local file, or one already whole at the
		 * server, leaves the lane idle: try the next one, a few times */
		bool none = false;
		for (int tries = 0; up->lane[n].busy == LANE_IDLE && !none && tries < 4 && rc == FIC_OK; tries++)
			rc = lane_fill(store, o, auth, up, n, rep, &none);
		any |= up->lane[n].busy != LANE_IDLE;
	}
	*idle = rc == FIC_OK && !any;
	if (rc != FIC_OK || !any)
		return rc;
	int n, trc;
	fic_http_response r;
	if (fic__lanes_wait(up->lanes, LANE_WAIT_MS, &n, &trc, &r) == 0)
		return FIC_OK; /* nothing finished yet: the records are looked at again */
	return lane_finish(store, o, up, n, trc, &r, rep);
}

int fic__upload_step(fic_store *store, const fic_sync_options *o, const char *auth,
                     fic__uploader *up, fic_sync_report *rep, bool *idle)
{
	*idle = false;
	if (!up->lanes_checked) {
		up->lanes_checked = true;
		int rc = fic__lanes_open(&up->lanes, o->transport);
		if (rc != FIC_OK)
			return rc;
	}
	if (up->lanes)
		return step_lanes(store, o, auth, up, rep, idle);
	return step_one(store, o, auth, &up->cur, rep, idle);
}

void fic__upload_end(fic_store *store, const fic_sync_options *o, fic__uploader *up,
                     fic_sync_report *rep)
{
	if (up->lanes == NULL) {
		up->lanes_checked = false;
		return;
	}
	int waiting = 0;
	for (int n = 0; n < FIC__LANES; n++) {
		fic__upload_lane *l = &up->lane[n];
		if (l->busy == LANE_IDLE)
			continue;
		if (fic__lanes_sent(up->lanes, n) || fic__lanes_stop(up->lanes, n)) {
			/* all sent (libcurl), or a lane thread told to stop: the server
			 * may hold the chunk already, so hear what comes back */
			waiting++;
		} else {
			fic__lanes_cancel(up->lanes, n);
			l->busy = LANE_IDLE;
		}
	}
	int64_t end = mono_ms(store) + LANE_DRAIN_MS;
	char msg[512];
	int code = fic_error_last()->code; /* the pass's own error stays the one it reports */
	snprintf(msg, sizeof msg, "%s", fic_error_last()->message);
	while (waiting > 0 && mono_ms(store) < end) {
		int n, trc;
		fic_http_response r;
		if (fic__lanes_wait(up->lanes, (int)(end - mono_ms(store)), &n, &trc, &r) == 0)
			break;
		lane_finish(store, o, up, n, trc, &r, rep); /* a cancelled one changes nothing */
		fic__free(r.body);
		waiting--;
	}
	for (int n = 0; n < FIC__LANES; n++) {
		fic__upload_lane *l = &up->lane[n];
		if (l->busy != LANE_IDLE)
			fic__lanes_cancel(up->lanes, n);
		fic__free(l->buf);
		l->buf = NULL;
		l->busy = LANE_IDLE;
	}
	fic__lanes_close(up->lanes); /* joins the lanes' threads, if any */
	up->lanes = NULL;
	up->lanes_checked = false;
	if (code != FIC_OK)
		fic__err(code, "%s", msg);
	else
		fic__err_clear();
}
