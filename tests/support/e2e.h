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
} e2e;

/* A fresh store and a fresh server listening on 127.0.0.1 (fails the test
 * if either cannot be made). */
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

/* cmocka setup/teardown wrappers around e2e_new/e2e_free. */
int e2e_setup(void **state);
int e2e_teardown(void **state);

#endif
