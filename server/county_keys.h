/*
 * server/county_keys.h — the county's sealing keys (county_keys.c): the
 * key pair each county's devices seal informants' details to, with its
 * public half in the database (given to devices at enrolment and by GET
 * /v1/county-key) and its private half only in a 0600 file in a folder the
 * operator names (--keys), never in the database; and opening sealed leads
 * with that file (`fic-county-server open`), which needs neither the
 * network nor the running server. Internal to the server.
 */
#ifndef FIC_COUNTY_KEYS_H
#define FIC_COUNTY_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef struct sqlite3 sqlite3;
struct cJSON;

/* The table of public keys (CREATE … IF NOT EXISTS: any database). 0 or -1. */
int county__keys_schema(sqlite3 *db, char *err, size_t errsize);
/* Make `dir` (0700, whatever the umask) for private key files. 0 or -1. */
int county__keys_dir(const char *dir, char *err, size_t errsize);
/*
 * A key pair for `county`: the private key written to <dir>/<id>.key (0600,
 * fsync'd, renamed, folder fsync'd), then the public key recorded as the
 * county's current one (the previous retired, still there for old leads).
 * Without `replace`, a county that has a key keeps it. id_out gets the id
 * (17 bytes). 0, or -1 with a message. Call with the database to itself.
 */
int county__key_make(sqlite3 *db, const char *dir, const char *county, bool replace,
                     char *id_out, char *err, size_t errsize);
/* The county's current key as the protocol gives it, {"id", "public_key"}:
 * 1 with *out (cJSON_Delete it), 0 when the county has none, -1. */
int county__key_json(sqlite3 *db, const char *county, struct cJSON **out);
/*
 * Print each lead (every county's, or the one `lead_id`) as one JSON line to
 * `out`, its sealed answers opened with the private key files in `keys`
 * (a folder of <id>.key files, or one key file): {"county", "id",
 * "device_id", "received_at_ms", "lead": the lead as the device chained it
 * with content.answers whole again, "opened": [item ids], "error"?: why a
 * box stayed shut}. Returns the number of leads printed, or -1 with a
 * message (no such lead, the database failed).
 */
int county__open_leads(sqlite3 *db, const char *keys, const char *lead_id, FILE *out, char *err,
                       size_t errsize);

#endif
