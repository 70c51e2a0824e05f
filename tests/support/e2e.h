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
void e2e_free(e2e *f);
/* Enrol the device with a fresh code of `county` (fails the test if refused). */
void e2e_enroll(e2e *f, const char *county);
/* Load a feed on the server (fails the test if refused). */
void e2e_load(e2e *f, const char *feed, const char *county, const char *json);
/* One value of the store as text (a query returning one row, one column)
 * into buf; "" for NULL. Fails the test if there is no row. */
void e2e_query_text(e2e *f, const char *sql, char *buf, size_t size);
int64_t e2e_query_int(e2e *f, const char *sql);

/* cmocka setup/teardown wrappers around e2e_new/e2e_free. */
int e2e_setup(void **state);
int e2e_teardown(void **state);

#endif
