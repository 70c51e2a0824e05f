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

/*
 * The SMS fallback (docs/protocol.md, "SMS fallback"): one SMS as a gateway
 * received it — the text, and the sender's number if known (NULL or "").
 * A part of a longer message is kept until the rest arrives (any order,
 * resends harmless; unfinished parts are dropped after a day). A complete
 * message is checked against the MAC of every enrolled device whose key
 * hint matches, then stored as the device's lead (type "lead", op "sms",
 * marked received by SMS) with a receipt — or, when the county holds that
 * lead already, answered with its receipt. The later data upload of the
 * same lead takes the record's place under the same receipt.
 */
typedef enum county_sms_status {
	COUNTY_SMS_STORED = 1, /* a new lead; `reply` confirms it */
	COUNTY_SMS_DUPLICATE,  /* the county had it (by SMS or data); `reply` confirms it again */
	COUNTY_SMS_PARTIAL,    /* a part kept, `have` of `of`; no reply */
	COUNTY_SMS_REFUSED,    /* unreadable or not authentic; `reply` says so ("FI1 ERR …") */
	COUNTY_SMS_IGNORED,    /* not a fieldinspect SMS at all; no reply */
	COUNTY_SMS_BUSY        /* the database failed or is full of parts; try again */
} county_sms_status;

#define COUNTY_SMS_TEXT_MAX 1024 /* bytes of one received SMS (160 GSM characters, generously) */

typedef struct county_sms_result {
	county_sms_status status;
	char reply[200];      /* the text to send back to the phone, or "" */
	char lead_id[40];     /* stored / duplicate */
	char receipt_id[72];
	int64_t received_ms;
	int have, of;         /* partial: parts held of the message's count */
	char reason[200];     /* refused / busy: why, for the log */
} county_sms_result;

int county_sms_in(county_server *s, const char *text, size_t len, const char *sender,
                  county_sms_result *out);

/* Leads received by SMS (whether or not their record came by data since). */
int64_t county_sms_lead_count(county_server *s);

/* For tests: the SQL of the statements that devices' requests run, by index
 * from 0 (NULL past the last). Each must walk an index
 * (tests/server/test_query_plans.c checks their plans). */
const char *county_request_sql(size_t i);

/* Fault injection for tests: the next `n` record uploads fail after storing
 * (the connection is dropped instead of answering), or answer 503. */
void county_fault_drop_after_store(county_server *s, int n);
void county_fault_busy(county_server *s, int n, int retry_after_s);

#endif
