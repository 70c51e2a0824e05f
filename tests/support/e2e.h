/*
 * tests/support/e2e.h — the fixture of the end-to-end tests: a device store
 * on the fake platform and the reference county server on a loopback port,
 * with the built-in curl transport between them.
 */
#ifndef FIC_TEST_E2E_H
#define FIC_TEST_E2E_H

#include "testutil.h"
#include "county.h"

#include <fieldinspect/fieldinspect.h>

typedef struct e2e {
	char *dir;
	fic_platform platform;
	tu_clock clock;
	fic_store *store;
	county_server *server;
	fic_transport *transport;
	fic_sync_options opts;
	char url[64];
	char *keys; /* the server's folder of county key files (<dir>/county-keys) */
} e2e;

/* A fresh store and a fresh server listening on 127.0.0.1, making its
 * counties' sealing keys in f->keys (fails the test if either cannot be
 * made). The store has no county key until it enrols. */
e2e *e2e_new(void);
/* The same with the server's limits changed (county_set_limits). */
e2e *e2e_new_with(const county_limits *limits);
void e2e_free(e2e *f);
/* Enrol the device with a fresh code of `county` (fails the test if refused). */
void e2e_enroll(e2e *f, const char *county);
/* Load a feed on the server (fails the test if refused). */
void e2e_load(e2e *f, const char *feed, const char *county, const char *json);
/* One value of the store as text (a query returning one row, one column)
 * into buf; "" for NULL. Fails the test if there is no row. */
void e2e_query_text(e2e *f, const char *sql, char *buf, size_t size);
int64_t e2e_query_int(e2e *f, const char *sql);

/* Another device: a fresh store `name` in the fixture's directory, on the
 * fixture's platform (close it with fic_store_close). */
fic_store *e2e_store_new(e2e *f, const char *name);
/* Enrol `store` with a fresh code of `county` (fails the test if refused). */
void e2e_enroll_store(e2e *f, fic_store *store, const char *county);
/* The bearer token `store` was given at enrolment, into buf. */
void e2e_token(fic_store *store, char *buf, size_t size);

/* The server's answer to a raw request. */
typedef struct e2e_answer {
	int status;
	char *body;             /* NUL-terminated, or NULL when empty; freed by e2e_answer_free */
	int64_t retry_after_ms; /* Retry-After, or -1 */
	int64_t upload_offset;  /* Upload-Offset, or -1 */
} e2e_answer;
/*
 * One request to the fixture's server through the fixture's transport, as
 * a device (or an attacker) would make it: `token` (NULL: none) goes as
 * "Authorization: Bearer <token>", then `extra` headers. Fails the test if
 * no answer came; checks that an error body says whether to retry.
 */
e2e_answer e2e_request(e2e *f, const char *method, const char *path, const char *token,
                       const fic_http_header *extra, size_t nextra, const void *body, size_t len);
void e2e_answer_free(e2e_answer *a);
/* POST a JSON text; the status, and the body into *body (may be NULL; free()). */
int e2e_post_json(e2e *f, const char *path, const char *token, const char *json, char **body);

/* ---- shared by the sync end-to-end tests (tests/server/test_sync_*.c) ---- */

/* Records the server holds, other than audit-log entries. */
int64_t e2e_held(county_server *s);



void e2e_patrol_day(e2e *f, char urgent[2][FIC_UUID_BUFSIZE]);

int64_t e2e_pending(e2e *f);

int e2e_post_raw(e2e *f, const char *path, const char *auth, const char *enc, const void *body,
                size_t len);

/*
 * Every outbox row of `st` is acknowledged with the very receipt `cs` holds
 * for it (site changes go as "<device id>:site:<outbox seq>"). Returns the rows.
 */
int64_t e2e_acked_with_receipts(fic_store *st, county_server *cs);

void e2e_upload_sha(e2e *f, const char *photo_id, char out[65]);

int64_t e2e_uploads_where(e2e *f, const char *where);

/* Two photos of a site (older), then an urgent lead with one photo. */
void e2e_photo_backlog(e2e *f, char site_sha[2][65], char *urgent_sha, char *urgent_lead);

/* SHA-256 of `len` bytes as lowercase hex. */
void e2e_sha_hex(const void *data, size_t len, char out[65]);

/* A transport that answers feed requests itself (a hostile server), else passes through. */
typedef struct e2e_hostile {
	fic_transport table;
	fic_transport *real;
	const char *feed_body;
	int feed_status;
	/* a coded feed answer instead of feed_body: its bytes and FIC_HTTP_CODING_* */
	const unsigned char *feed_coded;
	size_t feed_coded_len;
	int feed_coding;
	bool asked_gzip; /* a feed request said Accept-Encoding: gzip */
	/* answers to photo requests: a status and an Upload-Offset (-1: none);
	 * with patch_status set, PATCH gets that and its offset instead */
	int photo_status;
	int64_t photo_offset;
	int patch_status;
	int64_t patch_offset;
	int photo_requests;
} e2e_hostile;

int e2e_hostile_request(void *ctx, const fic_http_request *q, fic_http_response *r);

/* cmocka setup/teardown wrappers around e2e_new/e2e_free. */
int e2e_setup(void **state);
int e2e_teardown(void **state);

#endif
