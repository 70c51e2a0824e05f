/*
 * server/county_internal.h — what the server's files share beyond
 * county.h: county.c owns the database and its lock; county_sms.c (the SMS
 * gateway's endpoint and the `sms-in` command) works on them.
 */
#ifndef FIC_COUNTY_INTERNAL_H
#define FIC_COUNTY_INTERNAL_H

#include "county.h"

#include <microhttpd.h>
#include <stdbool.h>
#include <sqlite3.h>

sqlite3 *county__db(county_server *s);
/* The database for one request, waited for at most the server's db_wait_ms
 * (false: the server is too busy; answer 503). */
bool county__lock(county_server *s);
void county__unlock(county_server *s);

/* The SMS fallback's tables, and the devices' sms_key column on a database
 * made before it (county_open). 0, or -1 with a message. */
int county__sms_schema(sqlite3 *db, char *err, size_t errsize);

/* POST /v1/sms/in: one received SMS from a gateway (JSON or plain text). */
enum MHD_Result county__sms_http(county_server *s, struct MHD_Connection *c,
                                 const unsigned char *body, size_t len);

#endif
