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
 * Thread-safety: the HTTP side runs a libmicrohttpd thread per connection
 * (at most county_limits.connections); every request's database work, and every admin
 * call, holds the server's one database lock (one writer: SQLite in WAL
 * mode), so the admin calls may be made from any thread.
 */
#ifndef FIC_COUNTY_SERVER_H
#define FIC_COUNTY_SERVER_H

#include <stdbool.h>
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

/* Credentials (docs/protocol.md, "Enrolment"). */
#define COUNTY_CODE_TTL_MS (7LL * 24 * 3600 * 1000)     /* an enrolment code, unless told otherwise */
#define COUNTY_CODE_RETRY_MS (3600LL * 1000)            /* a lost enrolment answer may be asked again */
#define COUNTY_TOKEN_IDLE_MS (180LL * 24 * 3600 * 1000) /* a token unused this long expires */

/*
 * What the server allows each client, each device and each county. Every
 * member has a default (county_limits_default; the numbers are the
 * COUNTY_DEFAULT_* below); the program takes a few of them as options.
 */
typedef struct county_rate {
	unsigned burst;    /* attempts at once */
	unsigned every_ms; /* one more each this long */
} county_rate;

typedef struct county_limits {
	/* Credentials: an unused token expires (0: never); enrolments and
	 * failed authentications are rate-limited per client address and per
	 * county (429 with Retry-After). */
	int64_t token_idle_ms;
	county_rate enrol_per_address;    /* enrolment requests */
	county_rate enrol_per_county;     /* enrolment requests with a code of the county */
	county_rate failures_per_address; /* refused codes and tokens */
	county_rate failures_per_county;  /* refused codes and tokens that were the county's */
	/* Connections (each served by its own thread): open connections in all
	 * and from one client address (beyond them a new connection is closed
	 * at once); the
	 * absolute deadlines no byte restarts — a request's headers within
	 * header_ms of its connection opening (or of the previous answer), its
	 * body within body_ms plus its Content-Length at body_bytes_per_s, the
	 * answer made and sent within answer_ms; libmicrohttpd's inactivity
	 * timeout (idle_s); and how long a request waits for the database
	 * before it is answered 503 busy with Retry-After. */
	unsigned connections;
	unsigned connections_per_address;
	unsigned header_ms;
	unsigned body_ms;
	unsigned body_bytes_per_s;
	unsigned answer_ms;
	unsigned idle_s;
	unsigned db_wait_ms;
	/* Photo quotas: photos on their way (a device's count and announced
	 * bytes; the county's bytes) and photos held (bytes, charged to the
	 * device that completed each, and the county's). A first chunk over one
	 * is refused with 507 "quota" and a message the phone shows; the phone
	 * skips that photo for now and sends the others. */
	unsigned device_partials;
	int64_t device_partial_bytes;
	int64_t county_partial_bytes;
	int64_t device_photo_bytes;
	int64_t county_photo_bytes;
} county_limits;

#define COUNTY_DEFAULT_ENROL_PER_ADDRESS { 60, 1000 }   /* 60 at once, then one a second */
#define COUNTY_DEFAULT_ENROL_PER_COUNTY { 100, 1000 }   /* a training day's phones at once */
#define COUNTY_DEFAULT_FAILURES_PER_ADDRESS { 10, 6000 } /* 10, then ten a minute */
#define COUNTY_DEFAULT_FAILURES_PER_COUNTY { 30, 2000 }  /* 30, then thirty a minute */

#define COUNTY_DEFAULT_CONNECTIONS 1024
#define COUNTY_DEFAULT_CONNECTIONS_PER_ADDRESS 64 /* phones behind one carrier NAT share one */
#define COUNTY_DEFAULT_HEADER_MS 10000
#define COUNTY_DEFAULT_BODY_MS 30000
#define COUNTY_DEFAULT_BODY_BYTES_PER_S 4096 /* 32 kbit/s: 1 MiB in 256 s more */
#define COUNTY_DEFAULT_ANSWER_MS 60000
#define COUNTY_DEFAULT_IDLE_S 30
#define COUNTY_DEFAULT_DB_WAIT_MS 3000
#define COUNTY_DEFAULT_DEVICE_PARTIALS 64
#define COUNTY_DEFAULT_DEVICE_PARTIAL_BYTES (256LL << 20) /* four photos of the largest size */
#define COUNTY_DEFAULT_COUNTY_PARTIAL_BYTES (4LL << 30)
#define COUNTY_DEFAULT_DEVICE_PHOTO_BYTES (16LL << 30)    /* ten years of 20 renditions a day */
#define COUNTY_DEFAULT_COUNTY_PHOTO_BYTES (1LL << 40)
#define COUNTY_QUOTA_RETRY_S 3600 /* Retry-After of a 507 quota */
#define COUNTY_SWEEP_MS 250     /* how often the deadlines are checked */
#define COUNTY_THREAD_STACK (1024 * 1024) /* each connection's thread */
#define COUNTY_BUSY_RETRY_S 2   /* Retry-After of a 503 busy */

void county_limits_default(county_limits *out);
/* The server's limits now; change them with county_set_limits before
 * county_listen (a member left 0 keeps its default). 0, or -1. */
void county_get_limits(const county_server *s, county_limits *out);
int county_set_limits(county_server *s, const county_limits *l);

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

/*
 * Admin: a fresh one-time enrolment code for `county`, into code[code_size >=
 * 16], valid COUNTY_CODE_TTL_MS (or `ttl_ms`). The server keeps only its
 * SHA-256. A code enrols a device id the server has not seen; it cannot
 * enrol one already enrolled (docs/protocol.md, "Enrolment"). 0 or -1.
 */
int county_issue_code(county_server *s, const char *county, char *code, size_t code_size);
int county_issue_code_ttl(county_server *s, const char *county, int64_t ttl_ms, char *code,
                          size_t code_size);
/*
 * Sealing keys (docs/security.md: informants' details sealed on the phone).
 * Each county has a key pair: devices get its public key at enrolment (and
 * from GET /v1/county-key), pin it, and seal a lead's personal answers to
 * it; its private key is written to a 0600 file <dir>/<key id>.key in a
 * 0700 folder the operator names, never into the database, and only
 * `county_open_leads` (`fic-county-server open`) reads it.
 *  - county_set_key_dir: where keys are made (NULL: none). With a folder
 *    set, a county's first enrolment code makes its key;
 *  - county_make_key: make the county's key (kept if it has one, unless
 *    `replace`: a new current key, the old one retired — its file still
 *    opens the leads sealed to it); the id into id[id_size >= 17];
 *  - county_has_key: 1, 0, or -1;
 *  - county_open_leads: each lead (all, or `lead_id`) as one JSON line on
 *    `out`, its sealed answers opened with the key files in `keys` (a
 *    folder, or one file): needs no network and no running server, and
 *    works on a copy of the database. The count printed, or -1.
 * 0, or -1 with a message in err.
 */
int county_set_key_dir(county_server *s, const char *dir, char *err, size_t errsize);
int county_make_key(county_server *s, const char *county, bool replace, char *id, size_t id_size,
                    char *err, size_t errsize);
int county_has_key(county_server *s, const char *county);
int county_open_leads(county_server *s, const char *keys, const char *lead_id, FILE *out,
                      char *err, size_t errsize);

/*
 * Admin, on one enrolled device (0, or -1 with a message in err — no such
 * device, or the database failed):
 *  - a re-enrolment code for it alone (its county stays; valid `ttl_ms`),
 *    for a device that lost its token or was revoked;
 *  - rotate: its token stops at once (answered token_revoked) and a
 *    re-enrolment code for it is made, to be given to the device;
 *  - revoke: every request with its token is refused (token_revoked) until it
 *    is enrolled again with a re-enrolment code.
 */
int county_issue_reenrol_code(county_server *s, const char *device_id, int64_t ttl_ms, char *code,
                              size_t code_size, char *err, size_t errsize);
int county_rotate_token(county_server *s, const char *device_id, int64_t ttl_ms, char *code,
                        size_t code_size, char *err, size_t errsize);
int county_revoke_device(county_server *s, const char *device_id, char *err, size_t errsize);
/* Admin: the enrolled devices (of `county`, or all when NULL), one line each —
 * id, state (active, revoked, expired), county, enrolment, last use, name —
 * never a token. Returns how many, or -1. */
int county_list_devices(county_server *s, const char *county, FILE *out);
/* Records refused as conflicts (another device holds the id, or the same
 * device sent other content under it), one line each to `out` (may be
 * NULL); the count or -1. */
int county_conflicts(county_server *s, FILE *out);

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
/* The next `n` requests hold the database `ms` longer (a slow disk). */
void county_fault_slow(county_server *s, int n, int ms);
/* How many of those are still to come (0: the last is under way or done). */
int county_fault_slow_left(county_server *s);
/* Connections open now, and cut at their deadline since the start. */
void county_connection_stats(county_server *s, int64_t *open, int64_t *cut);

#endif
