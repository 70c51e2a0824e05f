/*
 * server/county_sms.c — the county's side of the SMS fallback
 * (docs/protocol.md, "SMS fallback"): an SMS gateway hands over each SMS
 * it receives (POST /v1/sms/in, or `fic-county-server sms-in` on standard
 * input); parts wait in sms_parts until their message is whole; a whole
 * message is checked with the MAC of each enrolled device whose key hint
 * matches — nothing is inflated or stored before one verifies — and becomes
 * that device's lead: a row of `records` (type "lead", op "sms": the
 * decoded lead, with a receipt) and one of `sms_leads` (it came by SMS).
 * The answer is a short confirmation, authenticated with the same key, for
 * the gateway to send back. When the lead's record arrives by data, it
 * takes the row's place under the same receipt (county.c, one_record).
 *
 * The endpoint asks for no token: a message is authenticated by its own
 * MAC. Unauthenticated input can only leave parts waiting, and those are
 * bounded (at most COUNTY_SMS_PARTS_HELD, dropped after a day).
 */
#include "county_internal.h"

#include "internal.h"
#include "sms_codec.h"

#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#define COUNTY_SMS_PARTS_HELD 10000
#define COUNTY_SMS_PART_AGE_MS (24LL * 3600 * 1000)

static const char sms_schema[] =
	/* Parts of messages not yet whole, by message (format, count, tag) and
	 * sender: the latest copy of a part wins (a resend repairs a damaged one). */
	"CREATE TABLE IF NOT EXISTS sms_parts (grp TEXT NOT NULL, sender TEXT NOT NULL,"
	" idx INTEGER NOT NULL, text TEXT NOT NULL, received_ms INTEGER NOT NULL,"
	" PRIMARY KEY (grp, sender, idx));"
	"CREATE INDEX IF NOT EXISTS sms_parts_age ON sms_parts (received_ms);"
	/* Leads that came by SMS: the lead as decoded, who sent it, when. */
	"CREATE TABLE IF NOT EXISTS sms_leads (county TEXT NOT NULL, lead_id TEXT NOT NULL,"
	" device_id TEXT NOT NULL, sender TEXT, received_ms INTEGER NOT NULL,"
	" receipt_id TEXT NOT NULL, lead TEXT NOT NULL, PRIMARY KEY (county, lead_id));";

static int64_t now_ms(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

int county__sms_schema(sqlite3 *db, char *err, size_t errsize)
{
	/* devices.sms_key: the one column the SMS fallback adds to enrolment. */
	sqlite3_stmt *st;
	bool has = false;
	if (sqlite3_prepare_v2(db, "SELECT 1 FROM pragma_table_info('devices') WHERE name = 'sms_key'",
	                       -1, &st, NULL) == SQLITE_OK) {
		has = sqlite3_step(st) == SQLITE_ROW;
		sqlite3_finalize(st);
	}
	char *msg = NULL;
	if ((!has && sqlite3_exec(db, "ALTER TABLE devices ADD COLUMN sms_key BLOB", NULL, NULL,
	                          &msg) != SQLITE_OK) ||
	    sqlite3_exec(db, sms_schema, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errsize, "cannot add the SMS tables: %s", msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static void refuse(county_sms_result *out, const char *why, const char *reply)
{
	out->status = COUNTY_SMS_REFUSED;
	snprintf(out->reason, sizeof out->reason, "%s", why);
	snprintf(out->reply, sizeof out->reply, "FI%d ERR %s", FIC_SMS_FORMAT, reply);
}

static void busy(county_sms_result *out, const char *why)
{
	out->status = COUNTY_SMS_BUSY;
	snprintf(out->reason, sizeof out->reason, "%s", why);
}

static int exec_bind(sqlite3 *db, const char *sql, const char *a, const char *b, int64_t c)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (a)
		sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
	if (b)
		sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, c);
	int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	sqlite3_finalize(st);
	return rc;
}

/*
 * Keep a part of a longer message; when every part is there, give their
 * texts (in order, malloc'd; *n of them). 1: kept, still waiting (*have);
 * 0: whole; -1: the database failed or holds too many parts.
 */
static int hold_part(sqlite3 *db, const fic__sms_part_info *p, const char *text,
                     const char *sender, char ***texts, size_t *n, int *have)
{
	int64_t now = now_ms();
	*texts = NULL;
	*n = 0;
	*have = 0;
	if (exec_bind(db, "DELETE FROM sms_parts WHERE received_ms < ?3", NULL, NULL,
	              now - COUNTY_SMS_PART_AGE_MS) != 0)
		return -1;
	sqlite3_stmt *st;
	int64_t held = -1;
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM sms_parts", -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			held = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	if (held < 0 || held >= COUNTY_SMS_PARTS_HELD)
		return -1;
	if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO sms_parts (grp, sender, idx, text,"
	                           " received_ms) VALUES (?1, ?2, ?3, ?4, ?5)", -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, p->group, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, sender, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, p->index);
	sqlite3_bind_text(st, 4, text, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, now);
	int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	sqlite3_finalize(st);
	if (rc != 0 || sqlite3_prepare_v2(db, "SELECT text FROM sms_parts WHERE grp = ?1 AND"
	                                      " sender = ?2 ORDER BY idx", -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, p->group, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, sender, -1, SQLITE_STATIC);
	char **t = calloc(FIC_SMS_PARTS_LIMIT, sizeof *t);
	size_t k = 0;
	while (t && k < FIC_SMS_PARTS_LIMIT && sqlite3_step(st) == SQLITE_ROW)
		if ((t[k] = strdup((const char *)sqlite3_column_text(st, 0))) != NULL)
			k++;
	sqlite3_finalize(st);
	if (t == NULL)
		return -1;
	*have = (int)k;
	if ((int)k < p->count) {
		for (size_t i = 0; i < k; i++)
			free(t[i]);
		free(t);
		return 1;
	}
	*texts = t;
	*n = k;
	return 0;
}

static void free_texts(char **t, size_t n)
{
	for (size_t i = 0; t && i < n; i++)
		free(t[i]);
	free(t);
}

/* The enrolled device whose key verifies the frame: 1 (lead decoded, key and
 * ids filled), 0 none, -1 it verified but does not decode, -2 database. */
static int find_device(sqlite3 *db, const uint8_t *frame, size_t len, fic__sms_lead *lead,
                       uint8_t key[FIC_SMS_KEY_BYTES], char device[64], char county[256])
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "SELECT device_id, county, sms_key FROM devices"
	                           " WHERE sms_key IS NOT NULL", -1, &st, NULL) != SQLITE_OK)
		return -2;
	int hint = fic__sms_frame_hint(frame, len), found = 0, s;
	while (found == 0 && (s = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_bytes(st, 2) != FIC_SMS_KEY_BYTES)
			continue;
		memcpy(key, sqlite3_column_blob(st, 2), FIC_SMS_KEY_BYTES);
		if (fic__sms_key_hint(key) != hint)
			continue;
		int rc = fic__sms_open(frame, len, key, lead);
		if (rc == FIC_OK || rc == FIC_EINVAL) {
			found = rc == FIC_OK ? 1 : -1;
			snprintf(device, 64, "%s", (const char *)sqlite3_column_text(st, 0));
			snprintf(county, 256, "%s", (const char *)sqlite3_column_text(st, 1));
		}
	}
	if (found == 0 && s != SQLITE_DONE)
		found = -2;
	sqlite3_finalize(st);
	if (found != 1)
		OPENSSL_cleanse(key, FIC_SMS_KEY_BYTES);
	return found;
}

/* Store the verified lead (or find the county's copy) in one transaction. */
static void store_lead(sqlite3 *db, const fic__sms_lead *lead, const char *device,
                       const char *county, const char *sender, const char *group,
                       county_sms_result *out)
{
	char id[FIC_UUID_BUFSIZE];
	fic__uuid_format(lead->lead_id, id);
	snprintf(out->lead_id, sizeof out->lead_id, "%s", id);
	cJSON *lj = fic__sms_lead_json(lead);
	cJSON *body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, "via", "sms");
	if (lj)
		cJSON_AddItemToObject(body, "sms", lj);
	char *btext = lj ? cJSON_PrintUnformatted(body) : NULL;
	char *ltext = lj ? cJSON_PrintUnformatted(lj) : NULL;
	cJSON_Delete(body);
	if (btext == NULL || ltext == NULL) {
		busy(out, "out of memory");
		goto done;
	}
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		busy(out, "the database is busy");
		goto done;
	}
	int64_t now = now_ms();
	bool fail = false;
	sqlite3_stmt *st;
	sqlite3_prepare_v2(db, "SELECT receipt_id, received_ms FROM records WHERE county = ?1 AND"
	                       " id = ?2", -1, &st, NULL);
	sqlite3_bind_text(st, 1, county, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	int s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		out->status = COUNTY_SMS_DUPLICATE;
		snprintf(out->receipt_id, sizeof out->receipt_id, "%s",
		         (const char *)sqlite3_column_text(st, 0));
		out->received_ms = sqlite3_column_int64(st, 1);
	} else if (s == SQLITE_DONE) {
		unsigned char raw[12];
		out->status = COUNTY_SMS_STORED;
		fail = RAND_bytes(raw, sizeof raw) != 1;
		for (size_t i = 0; i < sizeof raw; i++)
			snprintf(out->receipt_id + 2 * i, 3, "%02x", raw[i]);
		out->received_ms = now;
	} else {
		fail = true;
	}
	sqlite3_finalize(st);
	if (!fail && out->status == COUNTY_SMS_STORED) {
		sqlite3_prepare_v2(db, "INSERT INTO records (county, id, device_id, type, op, seq, hash,"
		                       " body, receipt_id, received_ms) VALUES (?1, ?2, ?3, 'lead', 'sms',"
		                       " NULL, NULL, ?4, ?5, ?6)", -1, &st, NULL);
		sqlite3_bind_text(st, 1, county, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, device, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, btext, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, out->receipt_id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 6, now);
		fail = sqlite3_step(st) != SQLITE_DONE;
		sqlite3_finalize(st);
	}
	if (!fail) {
		/* Marked as received by SMS, also when its record came by data first. */
		sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO sms_leads (county, lead_id, device_id, sender,"
		                       " received_ms, receipt_id, lead) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
		                   -1, &st, NULL);
		sqlite3_bind_text(st, 1, county, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, device, -1, SQLITE_STATIC);
		if (sender[0])
			sqlite3_bind_text(st, 4, sender, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, now);
		sqlite3_bind_text(st, 6, out->receipt_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 7, ltext, -1, SQLITE_STATIC);
		fail = sqlite3_step(st) != SQLITE_DONE;
		sqlite3_finalize(st);
	}
	if (!fail && group)
		fail = exec_bind(db, "DELETE FROM sms_parts WHERE grp = ?1 AND sender = ?2", group,
		                 sender, 0) != 0;
	/* synchronous=FULL: the confirmation is sent only for what is on disk. */
	if (fail || sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		busy(out, "could not store the lead");
	}
done:
	cJSON_free(btext);
	cJSON_free(ltext);
}

int county_sms_in(county_server *s, const char *text, size_t len, const char *sender,
                  county_sms_result *out)
{
	memset(out, 0, sizeof *out);
	if (sender == NULL)
		sender = "";
	if (text == NULL || len > COUNTY_SMS_TEXT_MAX || memchr(text, '\0', len) ||
	    strlen(sender) > 32) {
		refuse(out, "not one SMS", "unreadable");
		return -1;
	}
	char buf[COUNTY_SMS_TEXT_MAX + 1];
	memcpy(buf, text, len);
	buf[len] = '\0';
	const char *t = buf + strspn(buf, " \t\r\n");
	if (strncmp(t, "FI", 2) != 0 && strncmp(t, "FP", 2) != 0) {
		out->status = COUNTY_SMS_IGNORED;
		snprintf(out->reason, sizeof out->reason, "not a fieldinspect SMS");
		return 0;
	}
	fic__sms_part_info p;
	if (fic__sms_part_parse(buf, len, &p) != FIC_OK) {
		refuse(out, fic_error_last()->message, "unreadable, send again or phone");
		return -1;
	}
	sqlite3 *db = county__db(s);
	if (!county__lock(s)) {
		busy(out, "the server is busy; send again shortly");
		return -1;
	}
	char **texts = NULL;
	size_t n = 0;
	const char *one[1] = { buf };
	if (p.count > 1) {
		int h = hold_part(db, &p, buf, sender, &texts, &n, &out->have);
		out->of = p.count;
		if (h < 0) {
			busy(out, "cannot keep the part (database failed, or too many parts waiting)");
			county__unlock(s);
			return -1;
		}
		if (h > 0) {
			out->status = COUNTY_SMS_PARTIAL;
			county__unlock(s);
			return 0;
		}
	}
	uint8_t *frame = NULL, key[FIC_SMS_KEY_BYTES];
	size_t flen = 0;
	fic__sms_lead lead;
	memset(&lead, 0, sizeof lead);
	char device[64] = "", county[256] = "";
	int rc = fic__sms_join(texts ? (const char *const *)texts : one, texts ? n : 1, &frame, &flen);
	int found = rc == FIC_OK ? find_device(db, frame, flen, &lead, key, device, county) : 0;
	if (rc != FIC_OK)
		refuse(out, fic_error_last()->message, "unreadable, send again or phone");
	else if (found == -2)
		busy(out, "the database failed reading the devices");
	else if (found == 0)
		refuse(out, "no enrolled device's key verifies it", "not verified, phone the county");
	else if (found < 0)
		refuse(out, "verified but does not decode", "unreadable, phone the county");
	else
		store_lead(db, &lead, device, county, sender, p.count > 1 ? p.group : NULL, out);
	if (out->status == COUNTY_SMS_REFUSED && p.count > 1)
		(void)exec_bind(db, "DELETE FROM sms_parts WHERE grp = ?1 AND sender = ?2", p.group,
		                sender, 0);
	if (out->status == COUNTY_SMS_STORED || out->status == COUNTY_SMS_DUPLICATE) {
		if (fic__sms_receipt_make(out->reply, sizeof out->reply, key, out->lead_id,
		                          out->receipt_id, out->received_ms) != FIC_OK)
			out->reply[0] = '\0';
	}
	county__unlock(s);
	OPENSSL_cleanse(key, sizeof key);
	fic__sms_lead_clear(&lead);
	fic__free(frame);
	free_texts(texts, n);
	return out->status == COUNTY_SMS_STORED || out->status == COUNTY_SMS_DUPLICATE ? 0 : -1;
}

int64_t county_sms_lead_count(county_server *s)
{
	sqlite3_stmt *st;
	int64_t n = -1;
	if (!county__lock(s))
		return -1;
	if (sqlite3_prepare_v2(county__db(s), "SELECT count(*) FROM sms_leads", -1, &st, NULL) ==
	    SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			n = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	county__unlock(s);
	return n;
}

/* ---- POST /v1/sms/in ---- */

static const char *const status_names[] = { "", "stored", "duplicate", "partial", "refused",
	                                    "ignored", "busy" };

static enum MHD_Result answer(struct MHD_Connection *c, unsigned code, const char *type,
                              const char *body)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	char t[32];
	snprintf(t, sizeof t, "%lld", (long long)now_ms());
	MHD_add_response_header(r, "X-Fic-Server-Time", t);
	MHD_add_response_header(r, "Content-Type", type);
	if (code == 503)
		MHD_add_response_header(r, "Retry-After", "5");
	enum MHD_Result ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result answer_json(struct MHD_Connection *c, unsigned code, cJSON *j)
{
	char *t = j ? cJSON_PrintUnformatted(j) : NULL;
	cJSON_Delete(j);
	enum MHD_Result r = answer(c, t ? code : 500, "application/json", t ? t : "{}");
	cJSON_free(t);
	return r;
}

static enum MHD_Result bad_request(struct MHD_Connection *c, unsigned code, const char *err,
                                   const char *msg)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "error", err);
	cJSON_AddStringToObject(j, "message", msg);
	cJSON_AddBoolToObject(j, "retry", 0);
	return answer_json(c, code, j);
}

enum MHD_Result county__sms_http(county_server *s, struct MHD_Connection *c,
                                 const unsigned char *body, size_t len)
{
	const char *type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
	const char *accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept");
	const char *from = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "from");
	bool plain_answer = accept && strstr(accept, "text/plain") && !strstr(accept, "json");
	if (len > 4 * COUNTY_SMS_TEXT_MAX)
		return bad_request(c, 413, "too_large", "one SMS is at most 1 KiB");
	cJSON *req = NULL;
	const char *text = (const char *)body;
	size_t tlen = len;
	if (type && strncmp(type, "application/json", 16) == 0) {
		req = cJSON_ParseWithLength((const char *)body, len);
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(req, "text");
		const cJSON *f = cJSON_GetObjectItemCaseSensitive(req, "from");
		if (!cJSON_IsString(t) || (f && !cJSON_IsString(f))) {
			cJSON_Delete(req);
			return bad_request(c, 400, "bad_request",
			                   "a JSON body holds the SMS as the string text (and from, if known)");
		}
		text = t->valuestring;
		tlen = strlen(text);
		if (f)
			from = f->valuestring;
	} else if (type && strncmp(type, "text/plain", 10) != 0) {
		return bad_request(c, 415, "bad_type", "send the SMS as text/plain or application/json");
	}
	if (text == NULL)
		text = "";
	if (from && strlen(from) > 32) {
		cJSON_Delete(req);
		return bad_request(c, 400, "bad_request", "from is at most 32 characters");
	}
	county_sms_result r;
	county_sms_in(s, text, tlen, from, &r);
	cJSON_Delete(req);
	if (r.status == COUNTY_SMS_BUSY)
		return plain_answer ? answer(c, 503, "text/plain; charset=utf-8", "")
		                    : bad_request(c, 503, "unavailable", r.reason);
	if (plain_answer)
		return answer(c, 200, "text/plain; charset=utf-8", r.reply);
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "status", status_names[r.status]);
	if (r.reply[0])
		cJSON_AddStringToObject(j, "reply", r.reply);
	if (r.lead_id[0]) {
		cJSON_AddStringToObject(j, "lead_id", r.lead_id);
		cJSON_AddStringToObject(j, "receipt_id", r.receipt_id);
		cJSON_AddNumberToObject(j, "received_at_ms", (double)r.received_ms);
	}
	if (r.status == COUNTY_SMS_PARTIAL) {
		cJSON_AddNumberToObject(j, "parts_held", r.have);
		cJSON_AddNumberToObject(j, "parts_total", r.of);
	}
	if (r.reason[0])
		cJSON_AddStringToObject(j, "reason", r.reason);
	return answer_json(c, 200, j);
}
