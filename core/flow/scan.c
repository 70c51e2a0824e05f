/*
 * core/flow/scan.c — scanning a site's posted code to start a visit
 * (visit.h): the proof of presence (the scan, the device's position and the
 * trusted time, chained and uploaded) and the check of what the code says —
 * a licence's or a place-code sign's name, address, legal representative,
 * scope — against the registry, which answers the visit's "实际信息与许可证
 * 一致" items (饮用水 3.1.1, 3.2.1; 学校卫生 3.2.1.1, 3.2.2.1; 非法行医
 * 3.1.1.2, 3.1.2.2) "no" when they differ.
 */
#include "flow.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

/* Text as compared: without whitespace, full-width ASCII (ＡＢＣ１２３) as ASCII, letters in upper case. */
static void comparable(const char *s, char *out, size_t size)
{
	size_t w = 0;
	const unsigned char *p = (const unsigned char *)s;
	while (*p && w + 4 < size) {
		if (*p == ' ' || (*p >= '\t' && *p <= '\r')) {
			p++;
			continue;
		}
		if (p[0] == 0xE3 && p[1] == 0x80 && p[2] == 0x80) { /* U+3000 */
			p += 3;
			continue;
		}
		if (p[0] == 0xEF && (p[1] == 0xBC || p[1] == 0xBD) && p[2] >= 0x80 && p[2] <= 0xBF) {
			unsigned cp = 0xFF00u + ((unsigned)(p[1] - 0xBC) << 6) + (unsigned)(p[2] - 0x80);
			if (cp >= 0xFF01 && cp <= 0xFF5E) { /* full-width ASCII */
				char c = (char)(cp - 0xFF01 + 0x21);
				out[w++] = c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
				p += 3;
				continue;
			}
		}
		out[w++] = *p >= 'a' && *p <= 'z' ? (char)(*p - 'a' + 'A') : (char)*p;
		p++;
	}
	out[w] = '\0';
}

/* One fact compared: a difference when both say something and it is not the same. */
static bool compare(cJSON *diffs, const char *field, const char *registry, const char *code)
{
	if (registry == NULL || !registry[0] || code == NULL || !code[0])
		return true;
	char a[1200], b[1200];
	comparable(registry, a, sizeof a);
	comparable(code, b, sizeof b);
	if (strcmp(a, b) == 0)
		return true;
	cJSON *d = cJSON_CreateObject();
	return fic__json_put(diffs, NULL, d) && cJSON_AddStringToObject(d, "field", field) &&
	       cJSON_AddStringToObject(d, "registry", registry) && cJSON_AddStringToObject(d, "code", code);
}

/* The code as JSON: its form, key and the facts it carries. */
static cJSON *code_json(const fic_place_code *pc)
{
	static const char *const forms[] = { "", "url", "text", "token" };
	cJSON *o = cJSON_CreateObject();
	struct { const char *k, *v; } f[] = {
		{ "key", pc->key },       { "code", pc->code },           { "name", pc->name },
		{ "address", pc->address }, { "legal_rep", pc->legal_rep }, { "manager", pc->manager },
		{ "scope", pc->scope },   { "credit_code", pc->credit_code }, { "licence_no", pc->licence_no },
	};
	bool ok = o && cJSON_AddStringToObject(o, "form", forms[pc->form]);
	for (size_t i = 0; ok && i < sizeof f / sizeof f[0]; i++)
		ok = f[i].v == NULL || cJSON_AddStringToObject(o, f[i].k, f[i].v);
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

int fic__scan_record(fic_store *store, const char *scan_id, cJSON **out)
{
	*out = NULL;
	sqlite3_stmt *st;
	int rc = fic__row_by_key(store, &st,
	                         "SELECT id, site_id, code_key, payload, facts, differences, lat, lon, "
	                         "accuracy_m, inspector, created_at_ms, t_device_ms, t_mono_ms, "
	                         "t_boot_id, t_trusted_ms, t_uncertainty_ms, t_flags FROM site_scans "
	                         "WHERE id = ?1", scan_id, "scan");
	if (rc != FIC_OK)
		return rc;
	cJSON *o = cJSON_CreateObject(), *tm = cJSON_CreateObject();
	bool ok = o && tm;
	static const char *const keys[] = { "id", "site_id", "code_key", "payload" };
	for (int i = 0; ok && i < 4; i++)
		ok = cJSON_AddStringToObject(o, keys[i], (const char *)sqlite3_column_text(st, i)) != NULL;
	ok = ok && fic__json_put(o, "facts", cJSON_Parse((const char *)sqlite3_column_text(st, 4))) &&
	     fic__json_put(o, "differences", cJSON_Parse((const char *)sqlite3_column_text(st, 5)));
	static const char *const where[] = { "lat", "lon", "accuracy_m" };
	for (int i = 0; ok && i < 3; i++)
		ok = sqlite3_column_type(st, 6 + i) == SQLITE_NULL ||
		     cJSON_AddNumberToObject(o, where[i], sqlite3_column_double(st, 6 + i));
	ok = ok && (sqlite3_column_type(st, 9) == SQLITE_NULL ||
	            cJSON_AddStringToObject(o, "inspector", (const char *)sqlite3_column_text(st, 9))) &&
	     cJSON_AddNumberToObject(o, "created_at_ms", (double)sqlite3_column_int64(st, 10));
	static const char *const tkeys[] = { "device_ms", "mono_ms", "boot_id", "trusted_ms",
		                             "uncertainty_ms", "flags" };
	for (int i = 0; ok && i < 6; i++) {
		int c = 11 + i, type = sqlite3_column_type(st, c);
		ok = fic__json_put(tm, tkeys[i],
		                   type == SQLITE_NULL ? cJSON_CreateNull()
		                   : type == SQLITE_INTEGER
		                           ? cJSON_CreateNumber((double)sqlite3_column_int64(st, c))
		                           : cJSON_CreateString((const char *)sqlite3_column_text(st, c)));
	}
	ok = ok && fic__json_take(o, "time", &tm);
	sqlite3_finalize(st);
	cJSON_Delete(tm);
	if (!ok) {
		cJSON_Delete(o);
		return fic__err(FIC_ENOMEM, "out of memory reading a scan");
	}
	*out = o;
	return FIC_OK;
}

/* Insert the scan, chain it, queue it: one transaction's work. */
static int record_scan(fic_store *store, const char *id, const fic_site *site,
                       const fic_place_code *pc, const char *payload, const char *facts,
                       const char *diffs, const fic_scan_options *o, char hash[FIC_SHA256_HEX],
                       int64_t *seq, fic_time *t)
{
	sqlite3_stmt *st;
	int rc = fic__time_now(store, t);
	if (rc == FIC_OK &&
	    (rc = fic__prepare(store, &st, "INSERT INTO site_scans (id, site_id, code_key, payload, "
	                                   "facts, differences, lat, lon, accuracy_m, inspector, "
	                                   "created_at_ms, t_device_ms, t_mono_ms, t_boot_id, "
	                                   "t_trusted_ms, t_uncertainty_ms, t_flags) VALUES (?1, ?2, "
	                                   "?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, "
	                                   "?16, ?17)")) == FIC_OK) {
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, site->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, pc->key, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, payload, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, facts, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, diffs, -1, SQLITE_STATIC);
		if (o->has_location) {
			sqlite3_bind_double(st, 7, o->lat);
			sqlite3_bind_double(st, 8, o->lon);
			if (o->accuracy_m > 0)
				sqlite3_bind_double(st, 9, o->accuracy_m);
		}
		sqlite3_bind_text(st, 10, store->actor, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 11, t->device_ms);
		fic__time_bind(st, 12, t);
		int src = sqlite3_step(st);
		sqlite3_finalize(st);
		rc = src == SQLITE_DONE ? FIC_OK : fic__db_err(store, src, "recording a scan");
	}
	cJSON *rec = NULL;
	char *text = NULL;
	if (rc == FIC_OK)
		rc = fic__scan_record(store, id, &rec);
	if (rc == FIC_OK)
		rc = fic__chain_submit(store, "scan", id, rec, hash, seq, &text);
	cJSON_Delete(rec);
	if (rc == FIC_OK)
		rc = fic__exec(store, "UPDATE site_scans SET chain_seq = ?2, hash = ?3 WHERE id = ?1",
		               "recording a scan", "tit", id, *seq, hash);
	if (rc == FIC_OK)
		rc = fic__outbox_enqueue(store, "scan", id, "add", FIC_PRIORITY_INSPECTION, text);
	fic__free(text);
	if (rc == FIC_OK) {
		cJSON *d = cJSON_CreateObject();
		bool ok = d && cJSON_AddStringToObject(d, "site", site->id) &&
		          cJSON_AddNumberToObject(d, "seq", (double)*seq);
		rc = fic__audit_take(store, "visit.scan", "scan", id, d, ok);
	}
	return rc;
}

/* The answer to fic_visit_scan. */
static cJSON *scan_answer(const char *id, const fic_site *site, cJSON *code, cJSON *diffs,
                          const fic_scan_options *o, const fic_time *t, int64_t seq,
                          const char *hash)
{
	cJSON *a = cJSON_CreateObject(), *s = cJSON_CreateObject(), *p = cJSON_CreateObject();
	bool ok = a && s && p && cJSON_AddStringToObject(a, "scan_id", id) &&
	          cJSON_AddStringToObject(s, "id", site->id) &&
	          cJSON_AddStringToObject(s, "name", site->name) &&
	          cJSON_AddStringToObject(s, "kind", fic_site_code_str(FIC_CODE_KIND, site->kind)) &&
	          fic__json_take(a, "site", &s) && fic__json_put(a, "code", cJSON_Duplicate(code, true)) &&
	          fic__json_put(a, "differences", cJSON_Duplicate(diffs, true)) &&
	          cJSON_AddBoolToObject(a, "matches_registry", cJSON_GetArraySize(diffs) == 0) &&
	          cJSON_AddNumberToObject(p, "trusted_ms", (double)t->trusted_ms) &&
	          cJSON_AddNumberToObject(p, "uncertainty_ms", (double)t->uncertainty_ms) &&
	          cJSON_AddNumberToObject(p, "time_flags", t->flags) &&
	          (!o->has_location || (cJSON_AddNumberToObject(p, "lat", o->lat) &&
	                                cJSON_AddNumberToObject(p, "lon", o->lon))) &&
	          cJSON_AddNumberToObject(p, "chain_seq", (double)seq) &&
	          cJSON_AddStringToObject(p, "hash", hash) && fic__json_take(a, "proof", &p);
	cJSON_Delete(s);
	cJSON_Delete(p);
	if (!ok) {
		cJSON_Delete(a);
		return NULL;
	}
	return a;
}

int fic_visit_scan(char **out, fic_store *store, const char *payload, size_t len,
                   const fic_scan_options *opts)
{
	FIC__BEGIN(out, store);
	fic_scan_options none = FIC_SCAN_OPTIONS_INIT;
	const fic_scan_options *o = opts ? opts : &none;
	if (o->version != FIC_SCAN_OPTIONS_VERSION)
		return fic__err(FIC_EINVAL, "scan options: unknown version %u", o->version);
	if (o->has_location &&
	    (!(o->lat >= -90 && o->lat <= 90) || !(o->lon >= -180 && o->lon <= 180) ||
	     !(o->accuracy_m >= 0 && o->accuracy_m <= 100000)))
		return fic__err(FIC_EINVAL, "the scan's position is not a WGS-84 point with an accuracy");
	fic_place_code *pc = NULL;
	int rc = fic_place_code_parse(&pc, payload, len);
	if (rc != FIC_OK)
		return rc;
	char site_id[80] = "";
	rc = fic__query_text(store, site_id, sizeof site_id, "SELECT site_id FROM site_codes WHERE "
	                     "key = ?1", "looking up a place code", "t", pc->key);
	if (rc == FIC_ENOTFOUND)
		rc = fic__err(FIC_ENOTFOUND, "no site holds this code: add it to the site "
		                             "(fic_site_code_add), or add the site (新建本底)");
	fic_site *site = NULL;
	if (rc == FIC_OK && (rc = fic_site_get(&site, store, site_id)) == FIC_OK &&
	    site->status == FIC_SITE_CLOSED)
		rc = fic__err(FIC_ESTATE, "site %s is closed", site_id);
	/* What the code says against the registry. */
	cJSON *code = rc == FIC_OK ? code_json(pc) : NULL, *diffs = cJSON_CreateArray();
	if (rc == FIC_OK &&
	    !(code && diffs && compare(diffs, "name", site->name, pc->name) &&
	      compare(diffs, "address", site->address, pc->address) &&
	      compare(diffs, "legal_rep", site->legal_rep, pc->legal_rep) &&
	      compare(diffs, "manager", site->manager, pc->manager) &&
	      compare(diffs, "licence_scope", site->licence_scope, pc->scope) &&
	      compare(diffs, "credit_code", site->credit_code, pc->credit_code) &&
	      compare(diffs, "licence_no", site->licence_no, pc->licence_no)))
		rc = fic__err(FIC_ENOMEM, "out of memory comparing a scanned code");
	char *facts = rc == FIC_OK ? cJSON_PrintUnformatted(code) : NULL;
	char *dtext = rc == FIC_OK ? cJSON_PrintUnformatted(diffs) : NULL;
	if (rc == FIC_OK && (facts == NULL || dtext == NULL))
		rc = fic__err(FIC_ENOMEM, "out of memory recording a scan");
	/* The payload as kept: valid UTF-8 (checked), its NULs impossible (checked). */
	char *raw = rc == FIC_OK ? fic__malloc(len + 1) : NULL;
	if (rc == FIC_OK && raw == NULL)
		rc = fic__err(FIC_ENOMEM, "out of memory recording a scan");
	char id[FIC_UUID_BUFSIZE], hash[FIC_SHA256_HEX] = "";
	int64_t seq = 0;
	fic_time t;
	memset(&t, 0, sizeof t);
	/* The answer is made before the scan commits: a scan is recorded only
	 * when its caller learns of it. */
	char *answer = NULL;
	if (rc == FIC_OK) {
		memcpy(raw, payload, len);
		raw[len] = '\0';
		if ((rc = fic__uuid7(store, id)) == FIC_OK && (rc = fic__tx_begin(store)) == FIC_OK) {
			rc = record_scan(store, id, site, pc, raw, facts, dtext, o, hash, &seq, &t);
			cJSON *a = rc == FIC_OK ? scan_answer(id, site, code, diffs, o, &t, seq, hash) : NULL;
			if (rc == FIC_OK && (a == NULL || (answer = cJSON_PrintUnformatted(a)) == NULL))
				rc = fic__err(FIC_ENOMEM, "out of memory answering a scan");
			cJSON_Delete(a);
			if ((rc = fic__tx_end(store, rc)) != FIC_OK) {
				cJSON_free(answer);
				answer = NULL;
			}
		}
	}
	fic__free(raw);
	cJSON_free(facts);
	cJSON_free(dtext);
	cJSON_Delete(code);
	cJSON_Delete(diffs);
	fic_site_free(site);
	fic_place_code_free(pc);
	if (rc == FIC_OK)
		*out = answer;
	return rc;
}

/* The note a licence-match item gets: what differs. */
static char *differences_note(const cJSON *diffs)
{
	static const struct { const char *field, *zh; } words[] = {
		{ "name", "名称" },           { "address", "地址" },     { "legal_rep", "法定代表人" },
		{ "manager", "负责人" },       { "licence_scope", "许可范围" },
		{ "credit_code", "统一社会信用代码" }, { "licence_no", "许可证号" },
	};
	fic__sb sb = { NULL, 0, 0, false };
	fic__sb_printf(&sb, "扫码核对与登记信息不一致：");
	const cJSON *d;
	int n = 0;
	cJSON_ArrayForEach(d, diffs) {
		const char *field = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "field"));
		const char *zh = field;
		for (size_t i = 0; field && i < sizeof words / sizeof words[0]; i++)
			if (strcmp(words[i].field, field) == 0)
				zh = words[i].zh;
		fic__sb_printf(&sb, "%s%s 登记为“%.200s”，码上为“%.200s”", n++ ? "；" : "", zh ? zh : "",
		               cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "registry")),
		               cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "code")));
	}
	return fic__sb_take(&sb);
}

int fic__scan_start_visit(fic_store *store, const char *scan_id, const char *inspection_id,
                          const char *site_id, const fic__def *def, int64_t day)
{
	sqlite3_stmt *st;
	int rc = fic__row_by_key(store, &st, "SELECT site_id, inspection_id, differences FROM "
	                                     "site_scans WHERE id = ?1", scan_id, "scan");
	if (rc != FIC_OK)
		return rc;
	if (strcmp((const char *)sqlite3_column_text(st, 0), site_id) != 0)
		rc = fic__err(FIC_EINVAL, "scan %s is of another site", scan_id);
	else if (sqlite3_column_type(st, 1) != SQLITE_NULL)
		rc = fic__err(FIC_ESTATE, "scan %s already started visit %s", scan_id,
		              (const char *)sqlite3_column_text(st, 1));
	cJSON *diffs = rc == FIC_OK ? cJSON_Parse((const char *)sqlite3_column_text(st, 2)) : NULL;
	sqlite3_finalize(st);
	if (rc == FIC_OK && diffs == NULL)
		rc = fic__err(FIC_ENOMEM, "out of memory reading a scan");
	if (rc == FIC_OK)
		rc = fic__exec(store, "UPDATE site_scans SET inspection_id = ?2 WHERE id = ?1",
		               "starting a visit from a scan", "tt", scan_id, inspection_id);
	if (rc == FIC_OK)
		rc = fic__exec(store, "UPDATE inspections SET scan_id = ?2 WHERE id = ?1",
		               "starting a visit from a scan", "tt", inspection_id, scan_id);
	/* What the code says differs from the registry: the licence does not match. */
	char *note = rc == FIC_OK && cJSON_GetArraySize(diffs) > 0 ? differences_note(diffs) : NULL;
	if (rc == FIC_OK && cJSON_GetArraySize(diffs) > 0 && note == NULL)
		rc = fic__err(FIC_ENOMEM, "out of memory starting a visit");
	for (size_t i = 0; note && rc == FIC_OK && i < def->nitems; i++) {
		const fic__item *it = &def->items[i];
		if (!it->licence_match)
			continue;
		cJSON *v = NULL;
		char *vt = NULL;
		if ((rc = fic__answer_parse(&v, it, "no", day)) == FIC_OK &&
		    (vt = cJSON_PrintUnformatted(v)) == NULL)
			rc = fic__err(FIC_ENOMEM, "out of memory starting a visit");
		if (rc == FIC_OK)
			rc = fic__exec(store, "INSERT INTO answers (inspection_id, item_id, value, note, "
			                      "prefilled, answered_at_ms) VALUES (?1, ?2, ?3, ?4, 0, ?5) ON "
			                      "CONFLICT (inspection_id, item_id) DO UPDATE SET value = "
			                      "excluded.value, note = excluded.note, prefilled = 0",
			               "answering from a scan", "tttti", inspection_id, it->id, vt, note,
			               fic__now_ms(store));
		cJSON_Delete(v);
		cJSON_free(vt);
	}
	fic__free(note);
	cJSON_Delete(diffs);
	return rc;
}
