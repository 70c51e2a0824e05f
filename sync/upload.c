/*
 * sync/upload.c — photo files to the server, content-addressed and
 * resumable (docs/protocol.md, "Photos"). What goes is each photo's upload
 * rendition (1600 px, no metadata), named by its SHA-256; the uploads table
 * (filled by the core in the photo's transaction) says which are due, an
 * urgent lead's photos first.
 *
 * The pass uploads one chunk at a time and goes back to the records between
 * chunks, so an urgent lead filed while a photo is on its way is sent next;
 * with a small chunk (32 KiB by default) little of a photo is ever queued in
 * socket or link buffers ahead of it. The server keeps what it has been
 * sent, so an interrupted photo resumes at the server's offset (HEAD) — after
 * a dropped link, a kill, or a change of which photo is due.
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

typedef struct due_upload {
	char sha256[FIC_SHA256_HEX];
	int64_t bytes;
	int hash_failures;
} due_upload;

static int next_due(fic_store *store, int64_t now, due_upload *out, bool *found)
{
	*found = false;
	sqlite3_stmt *st;
	int rc = fic__cached(store, &st, "SELECT sha256, bytes, hash_failures FROM uploads "
	                                 "WHERE state = 'pending' AND next_at_ms <= ?1 "
	                                 "ORDER BY priority DESC, created_at_ms, sha256 LIMIT 1");
	if (rc != FIC_OK)
		return rc;
	sqlite3_bind_int64(st, 1, now);
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

/* A transient failure: the photo waits with a backoff; the pass ends with `code`. */
static int defer(fic_store *store, const char *sha, int code, const char *why,
                 int64_t retry_after, int64_t now, fic_sync_report *rep)
{
	fic__sync_hold(store, now, retry_after);
	int rc = mark(store, sha, NULL, why, true, retry_after, now, fic__sync_rand32(store),
	              &rep->retry_at_ms);
	return rc != FIC_OK ? rc : fic__err(code, "%s", why);
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
	char url[100];
	fic_http_header h[4];
} step;

/* A photo not under way in this pass: check the local file, then ask the
 * server (HEAD) how much it has. */
static int start_photo(step *sp, const char *path)
{
	const due_upload *u = sp->u;
	char why[300];
	if (!local_ok(path, u->sha256, u->bytes)) {
		sp->rep->photos_rejected++;
		sp->cur->sha256[0] = '\0';
		return mark(sp->store, u->sha256, "rejected",
		            "the photo file on the device is missing or does not match its "
		            "SHA-256; run fic_evidence_verify", false, 0, sp->now, 0, NULL);
	}
	fic_http_response r;
	int rc = fic__sync_exchange(sp->store, sp->o, "HEAD", sp->url, sp->h, 1, NULL, 0, &r, sp->rep);
	if (rc == FIC_ECANCELED || rc == FIC_EINVAL)
		return rc;
	if (rc != FIC_OK)
		return defer(sp->store, u->sha256, rc, fic_error_last()->message, 0, sp->now, sp->rep);
	int status = r.status;
	int64_t off = r.upload_offset, retry_after = r.retry_after_ms > 0 ? r.retry_after_ms : 0;
	fic__sync_error_body(&r, why, sizeof why, &retry_after);
	fic__free(r.body);
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

/* The next chunk from the server's offset (PATCH). */
static int send_chunk(step *sp, const char *path)
{
	const due_upload *u = sp->u;
	fic__upload_cursor *cur = sp->cur;
	size_t want = cur->chunk ? cur->chunk : FIC_SYNC_CHUNK_DEFAULT;
	if ((int64_t)want > u->bytes - cur->offset)
		want = (size_t)(u->bytes - cur->offset);
	unsigned char *buf = fic__malloc(want ? want : 1);
	if (buf == NULL)
		return fic__err(FIC_ENOMEM, "out of memory uploading a photo");
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t got = fd >= 0 ? pread(fd, buf, want, (off_t)cur->offset) : -1;
	if (fd >= 0)
		close(fd);
	if (got != (ssize_t)want) {
		fic__free(buf);
		cur->sha256[0] = '\0'; /* checked again (and refused if damaged) next step */
		return FIC_OK;
	}
	char off_s[24], len_s[24];
	snprintf(off_s, sizeof off_s, "%lld", (long long)cur->offset);
	snprintf(len_s, sizeof len_s, "%lld", (long long)u->bytes);
	sp->h[1] = (fic_http_header){ "Upload-Offset", off_s };
	sp->h[2] = (fic_http_header){ "Upload-Length", len_s };
	sp->h[3] = (fic_http_header){ "Content-Type", "application/offset+octet-stream" };
	fic_http_response r;
	int rc = fic__sync_exchange(sp->store, sp->o, "PATCH", sp->url, sp->h, 4, buf, want, &r,
	                            sp->rep);
	fic__free(buf);
	if (rc != FIC_OK) {
		cur->sha256[0] = '\0'; /* the server's offset is unknown now: ask again */
		if (rc == FIC_ECANCELED || rc == FIC_EINVAL)
			return rc;
		return defer(sp->store, u->sha256, rc, fic_error_last()->message, 0, sp->now, sp->rep);
	}
	rc = chunk_answer(sp, &r, want);
	fic__free(r.body);
	return rc;
}

int fic__upload_step(fic_store *store, const fic_sync_options *o, const char *auth,
                     fic__upload_cursor *cur, fic_sync_report *rep, bool *idle)
{
	*idle = false;
	int64_t now = fic__now_ms(store);
	due_upload u;
	bool found;
	int rc = next_due(store, now, &u, &found);
	if (rc != FIC_OK)
		return rc;
	if (!found) {
		*idle = true;
		return FIC_OK;
	}
	char path[4200];
	if ((rc = file_path(store, u.sha256, path, sizeof path)) != FIC_OK)
		return rc;
	step sp = { .store = store, .o = o, .cur = cur, .rep = rep, .u = &u, .now = now,
		    .h = { { "Authorization", auth } } };
	snprintf(sp.url, sizeof sp.url, "/v1/photos/%s", u.sha256);
	if (strcmp(cur->sha256, u.sha256) != 0)
		return start_photo(&sp, path);
	return send_chunk(&sp, path);
}
