/*
 * server/county.h — the reference county server (docs/protocol.md), as a
 * small library so the `fic-county-server` program and the end-to-end tests
 * run the same code over a real socket.
 *
 * The whole protocol: enrolment, records (idempotent by record id, chained
 * records' hashes checked and each device's chain audited as gaps fill,
 * durable before 200), resumable content-addressed photos (SHA-256 checked,
 * every chunk fsync'd), feeds with cursors; and the admin calls that issue
 * enrolment codes and load the registry, checklists and tasks.
 *
 * Thread-safety: the HTTP side runs on libmicrohttpd's single internal
 * thread; the admin calls may be made from another thread (the database
 * connection is opened serialized).
 */
#ifndef FIC_COUNTY_SERVER_H
#define FIC_COUNTY_SERVER_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

typedef struct county_server county_server;

/* Limits (docs/protocol.md, "Limits"). */
#define COUNTY_MAX_BODY (1024 * 1024)      /* a request body, compressed or not */
#define COUNTY_MAX_RECORDS 500
#define COUNTY_MAX_CHUNK (256 * 1024)       /* a photo chunk */
#define COUNTY_MAX_PHOTO (64 * 1024 * 1024) /* a whole photo */
#define COUNTY_FEED_PAGE 500                /* items per feed page */
#define COUNTY_PARTIAL_MAX_AGE_MS (7LL * 24 * 3600 * 1000) /* unfinished photos dropped at start */

/* Open (creating if needed) the server's database. 0 or -1 with a message in err. */
int county_open(county_server **out, const char *db_path, char *err, size_t errsize);
/* Listen on `addr` ("127.0.0.1:0" picks a free port). */
int county_listen(county_server *s, const char *addr, char *err, size_t errsize);
/* As county_listen, serving HTTPS with a PEM certificate (chain) and key
 * (libmicrohttpd with GnuTLS). */
int county_listen_tls(county_server *s, const char *addr, const char *cert_pem,
                      const char *key_pem, char *err, size_t errsize);
/* The port it listens on. */
int county_port(const county_server *s);
/* Stop listening and close. */
void county_close(county_server *s);

/* Admin: a fresh one-time enrolment code for `county`, into code[code_size >= 16]. */
int county_issue_code(county_server *s, const char *county, char *code, size_t code_size);

/* For tests and the demo: how many records the server holds, and per-id. */
int64_t county_record_count(county_server *s, const char *type);
/* The receipt time of a record, or -1. */
int64_t county_received_at(county_server *s, const char *record_id);
/* The receipt id of a record into buf; 0, or -1 if the server does not hold it. */
int county_receipt(county_server *s, const char *record_id, char *buf, size_t size);

/*
 * The two-hour audit: every lead the county holds, urgent first, with when
 * the server received it and, for urgent leads, the deadline the device
 * recorded and whether the receipt met it. One line per lead to `out`;
 * returns the number of urgent leads received late, or -1.
 */
int county_report_leads(county_server *s, FILE *out);

/*
 * Admin: load a feed ("checklists", "sites" or "tasks") for `county` from a
 * JSON array of items. A checklist item is a definition (id and version from
 * it); a site or task item is an object with an "id"; {"id": …, "op":
 * "delete"} removes one. One transaction: all or nothing. Returns the number
 * of items loaded, or -1 with a message in err.
 */
int county_load(county_server *s, const char *county, const char *feed, const char *json,
                char *err, size_t errsize);

/* Photos the server holds complete (all counties), and how many of their
 * files no longer match their SHA-256 (re-hashed now). */
int64_t county_photo_count(county_server *s);
int64_t county_photo_bad(county_server *s);
/* When the server completed a photo (any county), or -1. */
int64_t county_photo_received_at(county_server *s, const char *sha256);

/* Chain breaks found so far, one line each to `out` (may be NULL); the count or -1. */
int county_chain_breaks(county_server *s, FILE *out);

/* For tests: the SQL of the statements that devices' requests run, by index
 * from 0 (NULL past the last). Each must walk an index
 * (tests/server/test_query_plans.c checks their plans). */
const char *county_request_sql(size_t i);

/*
 * For the fuzzers (tests/fuzz/fuzz_server.c): one request (`headers` a block
 * of "Name: value\r\n" lines or NULL; Content-Length is added) through the
 * same handlers as over the network, without a listening socket: the server
 * must not be listening. *response (malloc'd, NUL-terminated, free() it)
 * gets the whole HTTP answer and *status its code. 0, or -1 if no answer
 * came.
 */
int county_request(county_server *s, const char *method, const char *path, const char *headers,
                   const void *body, size_t len, int *status, char **response,
                   size_t *response_len);

/* Fault injection for tests: the next `n` record uploads fail after storing
 * (the connection is dropped instead of answering), or answer 503. */
void county_fault_drop_after_store(county_server *s, int n);
void county_fault_busy(county_server *s, int n, int retry_after_s);

#endif
