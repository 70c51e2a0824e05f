/*
 * server/county_keys.c — see county_keys.h. The county's private key is
 * the one thing that opens what phones sealed (informants' names and
 * phones, diners' phones, patients' care): it lives in a file of its own,
 * 0600 in a 0700 folder given on the command line, so that a copy of the
 * database — a backup, a stolen disk — holds only boxes it cannot open, and
 * the serving process never needs to read it (docs/security.md).
 */
#include "county_keys.h"

#include "internal.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#define KEY_FILE_MAX 4096

static int64_t now_ms(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

int county__keys_schema(sqlite3 *db, char *err, size_t errsize)
{
	/* The public halves only. One current key per county; retired ones stay
	 * (leads sealed to them are opened with their files). */
	char *msg = NULL;
	if (sqlite3_exec(db,
	                 "CREATE TABLE IF NOT EXISTS county_keys (id TEXT PRIMARY KEY,"
	                 " county TEXT NOT NULL, public_key TEXT NOT NULL,"
	                 " created_ms INTEGER NOT NULL, retired_ms INTEGER);"
	                 "CREATE UNIQUE INDEX IF NOT EXISTS county_keys_current ON county_keys (county)"
	                 " WHERE retired_ms IS NULL;",
	                 NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errsize, "cannot make the county keys table: %s", msg ? msg : "?");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

int county__keys_dir(const char *dir, char *err, size_t errsize)
{
	struct stat sb;
	if ((mkdir(dir, 0700) != 0 && errno != EEXIST) || stat(dir, &sb) != 0 ||
	    !S_ISDIR(sb.st_mode) || chmod(dir, 0700) != 0) {
		snprintf(err, errsize, "cannot use %s for the county keys: %s", dir,
		         errno ? strerror(errno) : "not a folder");
		return -1;
	}
	return 0;
}

static void fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
}

/* Write `text` to <dir>/<id>.key: a new file, 0600, fsync'd, renamed, folder fsync'd. */
static int write_key_file(const char *dir, const char *id, const char *text, char *err,
                          size_t errsize)
{
	char path[4200], tmp[4300];
	snprintf(path, sizeof path, "%s/%s.key", dir, id);
	snprintf(tmp, sizeof tmp, "%s.new", path);
	(void)unlink(tmp);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	size_t len = strlen(text), done = 0;
	bool ok = fd >= 0 && fchmod(fd, 0600) == 0;
	while (ok && done < len) {
		ssize_t n = write(fd, text + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		ok = n > 0;
		done += ok ? (size_t)n : 0;
	}
	ok = ok && fsync(fd) == 0;
	if (fd >= 0 && close(fd) != 0)
		ok = false;
	if (!ok || link(tmp, path) != 0) { /* link: never replace a key file */
		snprintf(err, errsize, "cannot write the key file %s: %s", path, strerror(errno));
		(void)unlink(tmp);
		return -1;
	}
	(void)unlink(tmp);
	fsync_dir(dir);
	return 0;
}

static int current_key(sqlite3 *db, const char *county, char id[FIC_KEY_ID_BUFSIZE],
                       char pk[FIC_COUNTY_KEY_TEXT])
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "SELECT id, public_key FROM county_keys WHERE county = ?1 AND"
	                           " retired_ms IS NULL", -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, county, -1, SQLITE_STATIC);
	int step = sqlite3_step(st), rc = step == SQLITE_DONE ? 0 : -1;
	if (step == SQLITE_ROW) {
		snprintf(id, FIC_KEY_ID_BUFSIZE, "%s", (const char *)sqlite3_column_text(st, 0));
		snprintf(pk, FIC_COUNTY_KEY_TEXT, "%s", (const char *)sqlite3_column_text(st, 1));
		rc = 1;
	}
	sqlite3_finalize(st);
	return rc;
}

static int record_key(sqlite3 *db, const char *county, const char *id, const char *pk)
{
	sqlite3_stmt *st = NULL;
	int64_t now = now_ms();
	bool ok = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK;
	if (ok && sqlite3_prepare_v2(db, "UPDATE county_keys SET retired_ms = ?2 WHERE county = ?1"
	                                 " AND retired_ms IS NULL", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, county, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, now);
		ok = sqlite3_step(st) == SQLITE_DONE;
	} else {
		ok = false;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (ok && sqlite3_prepare_v2(db, "INSERT INTO county_keys (id, county, public_key, created_ms)"
	                                 " VALUES (?1, ?2, ?3, ?4)", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, county, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, pk, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, now);
		ok = sqlite3_step(st) == SQLITE_DONE;
	} else {
		ok = false;
	}
	sqlite3_finalize(st);
	if (ok && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
		return 0;
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

int county__key_make(sqlite3 *db, const char *dir, const char *county, bool replace,
                     char *id_out, char *err, size_t errsize)
{
	char pk_text[FIC_COUNTY_KEY_TEXT], sk_text[FIC_COUNTY_KEY_TEXT];
	int have = current_key(db, county, id_out, pk_text);
	if (have < 0) {
		snprintf(err, errsize, "cannot read the county keys: %s", sqlite3_errmsg(db));
		return -1;
	}
	if (have == 1 && !replace)
		return 0;
	if (dir == NULL || county__keys_dir(dir, err, errsize) != 0) {
		if (dir == NULL)
			snprintf(err, errsize, "county %s has no sealing key: give --keys DIR to make one",
			         county);
		return -1;
	}
	unsigned char pk[crypto_box_PUBLICKEYBYTES], sk[crypto_box_SECRETKEYBYTES];
	if (fic__crypto_init() != FIC_OK || crypto_box_keypair(pk, sk) != 0 ||
	    fic__county_key_id(pk, id_out) != FIC_OK) {
		snprintf(err, errsize, "cannot make a key pair");
		return -1;
	}
	fic__county_key_text(pk, pk_text);
	fic__county_key_text(sk, sk_text);
	sodium_memzero(sk, sizeof sk);
	cJSON *j = cJSON_CreateObject();
	char *text = NULL;
	if (j && cJSON_AddNumberToObject(j, "fic_county_key", 1) &&
	    cJSON_AddStringToObject(j, "county", county) && cJSON_AddStringToObject(j, "id", id_out) &&
	    cJSON_AddStringToObject(j, "public_key", pk_text) &&
	    cJSON_AddStringToObject(j, "secret_key", sk_text) &&
	    cJSON_AddNumberToObject(j, "created_ms", (double)now_ms()))
		text = cJSON_Print(j);
	sodium_memzero(sk_text, sizeof sk_text);
	cJSON *sk_item = cJSON_GetObjectItemCaseSensitive(j, "secret_key");
	if (sk_item && sk_item->valuestring)
		sodium_memzero(sk_item->valuestring, strlen(sk_item->valuestring));
	cJSON_Delete(j);
	int rc = text ? write_key_file(dir, id_out, text, err, errsize) : -1;
	if (text) {
		sodium_memzero(text, strlen(text));
		cJSON_free(text);
	} else {
		snprintf(err, errsize, "out of memory");
	}
	if (rc == 0 && record_key(db, county, id_out, pk_text) != 0) {
		snprintf(err, errsize, "cannot record the county's key: %s", sqlite3_errmsg(db));
		rc = -1;
	}
	return rc;
}

int county__key_json(sqlite3 *db, const char *county, cJSON **out)
{
	*out = NULL;
	char id[FIC_KEY_ID_BUFSIZE], pk[FIC_COUNTY_KEY_TEXT];
	int have = current_key(db, county, id, pk);
	if (have != 1)
		return have;
	cJSON *k = cJSON_CreateObject();
	if (k == NULL || !cJSON_AddStringToObject(k, "id", id) ||
	    !cJSON_AddStringToObject(k, "public_key", pk)) {
		cJSON_Delete(k);
		return -1;
	}
	*out = k;
	return 1;
}

/* ---- opening: offline, with the private key file ---- */

typedef struct key_pair {
	char id[FIC_KEY_ID_BUFSIZE];
	unsigned char pk[FIC_COUNTY_KEY_BYTES], sk[FIC_COUNTY_KEY_BYTES];
} key_pair;

/* The key pair `id` from `keys` (a folder of <id>.key files, or one file). */
static int load_key(const char *keys, const char *id, key_pair *kp, char *why, size_t whysize)
{
	struct stat sb;
	char path[4200];
	if (stat(keys, &sb) == 0 && S_ISDIR(sb.st_mode))
		snprintf(path, sizeof path, "%s/%s.key", keys, id);
	else
		snprintf(path, sizeof path, "%s", keys);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *text = malloc(KEY_FILE_MAX + 1);
	ssize_t n = fd >= 0 && text ? read(fd, text, KEY_FILE_MAX) : -1;
	if (fd >= 0)
		close(fd);
	if (n <= 0) {
		free(text);
		snprintf(why, whysize, "no key file for key %s", id);
		return -1;
	}
	text[n] = '\0';
	cJSON *j = cJSON_Parse(text);
	sodium_memzero(text, (size_t)n);
	free(text);
	const cJSON *jid = cJSON_GetObjectItemCaseSensitive(j, "id");
	const cJSON *pk = cJSON_GetObjectItemCaseSensitive(j, "public_key");
	const cJSON *sk = cJSON_GetObjectItemCaseSensitive(j, "secret_key");
	int rc = -1;
	if (!cJSON_IsString(jid) || strcmp(jid->valuestring, id) != 0)
		snprintf(why, whysize, "the key file %.200s is not key %s", path, id);
	else if (!cJSON_IsString(pk) || !cJSON_IsString(sk) ||
	         fic__county_key_parse(pk->valuestring, kp->pk) != FIC_OK ||
	         fic__county_key_parse(sk->valuestring, kp->sk) != FIC_OK)
		snprintf(why, whysize, "the key file %.200s is damaged", path);
	else
		rc = 0;
	if (cJSON_IsString(sk))
		sodium_memzero(sk->valuestring, strlen(sk->valuestring));
	cJSON_Delete(j);
	fic__err_clear(); /* a parse failure's message is ours to give */
	snprintf(kp->id, sizeof kp->id, "%s", id);
	return rc;
}

/* Open `lead`'s content.sealed into content.answers; the opened ids into `opened`. */
static int open_lead(cJSON *lead, const char *keys, key_pair *kp, cJSON *opened, char *why,
                     size_t whysize)
{
	cJSON *content = cJSON_GetObjectItemCaseSensitive(lead, "content");
	cJSON *sealed = cJSON_GetObjectItemCaseSensitive(content, "sealed");
	if (sealed == NULL)
		return 0;
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(sealed, "key_id");
	const cJSON *box = cJSON_GetObjectItemCaseSensitive(sealed, "box");
	if (!cJSON_IsString(id) || !cJSON_IsString(box) || strlen(id->valuestring) != 16) {
		snprintf(why, whysize, "the sealed answers are malformed");
		return -1;
	}
	if (strcmp(kp->id, id->valuestring) != 0 && load_key(keys, id->valuestring, kp, why,
	                                                      whysize) != 0)
		return -1;
	char *plain = NULL;
	size_t len = 0;
	if (fic__unseal(&plain, &len, kp->pk, kp->sk, box->valuestring) != FIC_OK) {
		snprintf(why, whysize, "%s", fic_error_last()->message);
		return -1;
	}
	cJSON *items = cJSON_ParseWithLength(plain, len);
	fic__wipe(plain, len);
	fic__free(plain);
	cJSON *answers = cJSON_GetObjectItemCaseSensitive(content, "answers");
	if (!cJSON_IsObject(items) || !cJSON_IsObject(answers)) {
		cJSON_Delete(items);
		snprintf(why, whysize, "the opened box is not the answers it should hold");
		return -1;
	}
	while (items->child) {
		cJSON *it = cJSON_DetachItemViaPointer(items, items->child);
		cJSON_AddItemToArray(opened, cJSON_CreateString(it->string));
		cJSON_DeleteItemFromObjectCaseSensitive(answers, it->string);
		cJSON_AddItemToObject(answers, it->string, it);
	}
	cJSON_Delete(items);
	cJSON_DeleteItemFromObjectCaseSensitive(content, "sealed");
	return 0;
}

int county__open_leads(sqlite3 *db, const char *keys, const char *lead_id, FILE *out, char *err,
                       size_t errsize)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "SELECT county, id, device_id, received_ms,"
	                           " json_extract(body, '$.canonical') FROM records"
	                           " WHERE type = 'lead' AND (?1 IS NULL OR id = ?1)"
	                           " ORDER BY county, received_ms, id", -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errsize, "cannot read the leads: %s", sqlite3_errmsg(db));
		return -1;
	}
	if (lead_id)
		sqlite3_bind_text(st, 1, lead_id, -1, SQLITE_STATIC);
	key_pair kp;
	memset(&kp, 0, sizeof kp);
	int n = 0, step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *canon = (const char *)sqlite3_column_text(st, 4);
		cJSON *o = cJSON_CreateObject(), *opened = cJSON_CreateArray();
		cJSON *lead = canon ? cJSON_Parse(canon) : NULL;
		char why[300] = "";
		if (lead == NULL)
			snprintf(why, sizeof why, "the lead's canonical form is not JSON");
		else
			(void)open_lead(lead, keys, &kp, opened, why, sizeof why);
		for (int c = 0; c < 3; c++)
			cJSON_AddStringToObject(o, c == 0 ? "county" : c == 1 ? "id" : "device_id",
			                        (const char *)sqlite3_column_text(st, c));
		cJSON_AddNumberToObject(o, "received_at_ms", (double)sqlite3_column_int64(st, 3));
		cJSON_AddItemToObject(o, "lead", lead ? lead : cJSON_CreateNull());
		cJSON_AddItemToObject(o, "opened", opened);
		if (why[0])
			cJSON_AddStringToObject(o, "error", why);
		char *line = cJSON_PrintUnformatted(o);
		cJSON_Delete(o);
		if (line) {
			fprintf(out, "%s\n", line);
			sodium_memzero(line, strlen(line));
			cJSON_free(line);
		}
		n++;
	}
	sodium_memzero(&kp, sizeof kp);
	sqlite3_finalize(st);
	if (step != SQLITE_DONE) {
		snprintf(err, errsize, "cannot read the leads: %s", sqlite3_errmsg(db));
		return -1;
	}
	if (lead_id && n == 0) {
		snprintf(err, errsize, "no lead %s", lead_id);
		return -1;
	}
	return fflush(out) == 0 ? n : -1;
}
