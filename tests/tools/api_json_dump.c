/*
 * tests/tools/api_json_dump.c — every JSON document the public API returns,
 * written to files so that scripts/check-api-json.sh can validate each
 * against its JSON Schema in schema/api/ (docs/api.md, "JSON documents").
 *
 * It builds a realistic store through the public API on the tests' fake
 * clock: sites of every kind (found in the field and from the county's
 * registry, one changed, one closed in the office and one found closed on a
 * patrol with its proof photo), patrols with answers, notes, photos and
 * findings (urgent, immediate and not; announced and unannounced; one
 * started from a place-code scan whose facts differ from the registry; one
 * left open with a site finding), event reports and tip-offs, a call to the
 * CDC, a correction and a draft, tasks from a lead, from a patrol finding
 * and from the agency (some closed), the patrol plan (the guide's, the
 * device's, then the county's with an area of its own and its checklist),
 * a site's codes, publicity, training and a case, water samples before and
 * after their results, notices to a competent authority, the water status,
 * the registers, an urgent lead sent by SMS, and settings; the store is
 * an older version's, whose secrets move out when it opens, and leads'
 * personal answers are sealed to the county's key. A fake county
 * server behind the transport seam (sys/transport.h) enrols the device,
 * hands down its checklist, settings, registry, tasks and laboratory
 * results, and answers the upload (one lead refused), so leads reach every
 * state. Then it calls every function that answers in JSON and writes each
 * document as DIR/<name>.json, or DIR/<name>.<variant>.json where the shape
 * varies (urgent or not, a semester or none, a sample before and after its
 * result, a lead called by its deadline or not…): <name> is the schema's
 * (schema/api/<name>.schema.json; "checklist" is
 * schema/checklist.schema.json). The audit log's details are written as
 * audit_detail.<action>.<seq>.json.
 *
 * Besides making each call succeed, it checks that the documents say what
 * the world holds (not empty where they must not be: a schema that accepts
 * nothing would check nothing), e.g. a site's two codes, the cases assisted
 * in the indicators, the unannounced visit in the patrol register.
 *
 * Usage: api_json_dump DIR     (DIR is created if missing)
 * Exit status 0 when every call succeeded (and every verification that
 * should fail failed), 1 otherwise, with the reason on stderr.
 */
#include "testutil.h"
#include "sms_codec.h" /* the county's side of an SMS: its signed confirmation */

#include <cjson/cJSON.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define ACTOR "协管员-0042"
#define MINUTE_MS (60 * 1000LL)
#define DAY_MS (24 * 60 * MINUTE_MS)

/* The device's SMS key, as the county hands it over at enrolment (base64). */
static const uint8_t SMS_KEY[FIC_SMS_KEY_BYTES] = { 9, 8, 7, 6, 5, 4, 3, 2, 1 };
static const char SMS_KEY_B64[] = "CQgHBgUEAwIBAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
/* ---- failing loudly ---- */

static _Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static _Noreturn void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "api_json_dump: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

/* A library call that must succeed. */
static void ok(int rc, const char *what)
{
	if (rc != FIC_OK)
		die("%s: %s (%s)", what, fic_error_last()->message, fic_result_str(rc));
}

/* ---- the fake county server ---- */

typedef struct county {
	fic_transport table;
	tu_clock *clock;
	const char *device_id;
	char refuse_id[FIC_UUID_BUFSIZE]; /* a lead record the server refuses for good */
	int stored;                       /* records stored, for receipt ids */
} county;

/* The server's clock runs 90 s ahead of the phone's. */
static int64_t server_now(const county *c)
{
	return c->clock->wall_ms + 90000;
}

/* `body` as the response, in a block the engine frees with fic_free() (the
 * default allocator: malloc). */
static void answer(fic_http_response *r, int status, cJSON *body)
{
	char *text = body ? cJSON_PrintUnformatted(body) : NULL;
	cJSON_Delete(body);
	r->status = status;
	if (text) {
		r->body_len = strlen(text);
		r->body = malloc(r->body_len + 1);
		if (r->body == NULL)
			die("out of memory");
		memcpy(r->body, text, r->body_len + 1);
		cJSON_free(text);
	}
}

static const char *header(const fic_http_request *q, const char *name)
{
	for (size_t i = 0; i < q->header_count; i++)
		if (strcmp(q->headers[i].name, name) == 0)
			return q->headers[i].value;
	return NULL;
}

static cJSON *enrolled(const county *c)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "token", "tok-0123456789abcdef0123456789abcdef");
	cJSON_AddStringToObject(o, "county", "石柱县卫生健康综合行政执法支队");
	cJSON_AddStringToObject(o, "device_id", c->device_id);
	cJSON_AddStringToObject(o, "sms_key", SMS_KEY_B64);
	char key[200]; /* the county's public key, pinned: leads' personal answers are sealed to it */
	tu_county_key_json(key, sizeof key);
	cJSON_AddItemToObject(o, "county_key", cJSON_Parse(key));
	return o;
}

/* One result per record: stored with a receipt, or the refused lead rejected. */
static cJSON *records_answer(county *c, const fic_http_request *q)
{
	cJSON *req = cJSON_ParseWithLength(q->body, q->body_len);
	cJSON *out = cJSON_CreateObject(), *results = cJSON_AddArrayToObject(out, "results");
	const cJSON *rec;
	cJSON_ArrayForEach(rec, cJSON_GetObjectItemCaseSensitive(req, "records"))
	{
		const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rec, "id"));
		cJSON *res = cJSON_CreateObject();
		cJSON_AddStringToObject(res, "id", id ? id : "");
		if (id && strcmp(id, c->refuse_id) == 0) {
			cJSON_AddStringToObject(res, "status", "rejected");
			cJSON_AddStringToObject(res, "reason", "线索重复：已由 12345 热线转办");
			cJSON_AddBoolToObject(res, "retry", false);
		} else {
			char receipt[32];
			snprintf(receipt, sizeof receipt, "SZ-2026-%05d", ++c->stored);
			cJSON_AddStringToObject(res, "status", "stored");
			cJSON_AddStringToObject(res, "receipt_id", receipt);
			cJSON_AddNumberToObject(res, "received_at_ms", (double)server_now(c));
		}
		cJSON_AddItemToArray(results, res);
	}
	cJSON_Delete(req);
	return out;
}

/* Photos: nothing held before (HEAD 404); each chunk taken, the last one completing it. */
static void photo_answer(const fic_http_request *q, fic_http_response *r)
{
	if (strcmp(q->method, "HEAD") == 0) {
		answer(r, 404, NULL);
		return;
	}
	const char *off = header(q, "Upload-Offset"), *len = header(q, "Upload-Length");
	int64_t end = (off ? strtoll(off, NULL, 10) : 0) + (int64_t)q->body_len;
	r->upload_offset = end;
	answer(r, len && end == strtoll(len, NULL, 10) ? 201 : 204, NULL);
}

static cJSON *feed_item(cJSON *items, const char *id, int64_t changed_at_ms)
{
	cJSON *it = cJSON_CreateObject(), *data = cJSON_CreateObject();
	cJSON_AddStringToObject(it, "id", id);
	cJSON_AddStringToObject(it, "op", "upsert");
	cJSON_AddNumberToObject(it, "changed_at_ms", (double)changed_at_ms);
	cJSON_AddItemToObject(it, "data", data);
	cJSON_AddItemToArray(items, it);
	return data;
}

static cJSON *text_pair(const char *zh, const char *en)
{
	cJSON *t = cJSON_CreateObject();
	cJSON_AddStringToObject(t, "zh", zh);
	cJSON_AddStringToObject(t, "en", en);
	return t;
}

/* The county's own checklist for its own area (其他专业, 实施方案 二(二)7). */
static void county_checklist(cJSON *d)
{
	const char *kinds[] = { "other_venue" }, *sections[] = { "其他专业 1.1" };
	cJSON_AddStringToObject(d, "id", "county.qg.public_place");
	cJSON_AddNumberToObject(d, "version", 1);
	cJSON_AddStringToObject(d, "kind", "patrol");
	cJSON_AddStringToObject(d, "area", "other.public_place");
	cJSON_AddItemToObject(d, "title", text_pair("公共场所卫生巡查", "Public places"));
	cJSON_AddStringToObject(d, "source", "石柱县卫生监督协管服务工作方案（其他专业）");
	cJSON_AddItemToObject(d, "site_kinds", cJSON_CreateStringArray(kinds, 1));
	cJSON *items = cJSON_AddArrayToObject(d, "items"), *it = cJSON_CreateObject();
	cJSON_AddItemToArray(items, it);
	cJSON_AddStringToObject(it, "id", "licence_posted");
	cJSON_AddItemToObject(it, "sections", cJSON_CreateStringArray(sections, 1));
	cJSON_AddItemToObject(it, "label", text_pair("公示卫生许可证", "Licence posted"));
	cJSON_AddStringToObject(it, "type", "yes_no");
	cJSON *eq = cJSON_CreateArray(), *var = cJSON_CreateObject();
	cJSON_AddStringToObject(var, "var", "answer");
	cJSON_AddItemToArray(eq, var);
	cJSON_AddItemToArray(eq, cJSON_CreateString("no"));
	cJSON_AddItemToObject(cJSON_AddObjectToObject(it, "abnormal"), "==", eq);
}

/* The county's patrol plan: secondary supplies four times a year, and an area of its own. */
static void county_plan(cJSON *value)
{
	cJSON *areas = cJSON_AddObjectToObject(value, "areas");
	cJSON *dw = cJSON_AddObjectToObject(areas, "drinking_water");
	cJSON_AddNumberToObject(dw, "per_year", 2);
	cJSON_AddNumberToObject(cJSON_AddObjectToObject(dw, "kinds"), "water_secondary", 4);
	cJSON *own = cJSON_AddObjectToObject(areas, "other.public_place");
	cJSON_AddStringToObject(own, "title", "公共场所卫生");
	cJSON_AddNumberToObject(own, "per_year", 1);
	cJSON_AddNumberToObject(cJSON_AddObjectToObject(own, "kinds"), "other_venue", 1);
}

/* The county's registry: a secondary-supply plant it publishes blue, a
 * village clinic it puts in the MCH area, and a rural supply it publishes red. */
static void sites_feed(const county *c, cJSON *items)
{
	cJSON *d = feed_item(items, "cq-500240-ws-0001", server_now(c) - DAY_MS);
	cJSON_AddStringToObject(d, "kind", "water_secondary");
	cJSON_AddStringToObject(d, "name", "南宾街道锦绣小区二次供水泵房");
	cJSON_AddStringToObject(d, "address", "南宾街道锦绣路 18 号");
	cJSON_AddStringToObject(d, "manager", "刘强");
	cJSON_AddNumberToObject(d, "lat", 29.9991);
	cJSON_AddNumberToObject(d, "lon", 108.1142);
	cJSON_AddStringToObject(d, "status", "active");
	cJSON_AddStringToObject(d, "water_status", "blue");
	d = feed_item(items, "cq-500240-med-0002", server_now(c) - DAY_MS);
	cJSON_AddStringToObject(d, "kind", "medical");
	cJSON_AddStringToObject(d, "name", "黄水镇金竹村卫生室");
	cJSON_AddStringToObject(d, "med_registration", "licensed");
	cJSON_AddStringToObject(d, "institution_type", "village_clinic");
	cJSON_AddNumberToObject(d, "beds", 0);
	cJSON_AddStringToObject(d, "licence_no", "PDY00001-500240");
	cJSON_AddStringToObject(d, "licence_valid_to", "2027-06-30");
	cJSON_AddStringToObject(d, "status", "active");
	const char *areas[] = { "mch" };
	cJSON_AddItemToObject(d, "areas", cJSON_CreateStringArray(areas, 1));
	d = feed_item(items, "cq-500240-wr-0003", server_now(c) - DAY_MS);
	cJSON_AddStringToObject(d, "kind", "water_rural");
	cJSON_AddStringToObject(d, "name", "黄水镇金竹村集中供水站");
	cJSON_AddStringToObject(d, "authority", "黄水镇人民政府");
	cJSON_AddStringToObject(d, "status", "active");
	cJSON_AddStringToObject(d, "water_status", "red");
}

/* The agency's tasks: one for a site of the registry, one for a site this device lacks. */
static void tasks_feed(const county *c, cJSON *items)
{
	cJSON *d = feed_item(items, "task-2026-031", server_now(c));
	cJSON_AddStringToObject(d, "kind", "reinspection");
	cJSON_AddStringToObject(d, "site_id", "cq-500240-med-0002");
	cJSON_AddStringToObject(d, "due_date", "2026-03-20");
	cJSON_AddStringToObject(d, "detail", "复查：无证行医举报（石卫监〔2026〕12号）");
	d = feed_item(items, "task-2026-032", server_now(c));
	cJSON_AddStringToObject(d, "kind", "verify_closure");
	cJSON_AddStringToObject(d, "site_id", "cq-500240-xx-9999");
	cJSON_AddStringToObject(d, "detail", "核实是否已停业");
}

static void feed_delete(cJSON *items, const char *id)
{
	cJSON *it = cJSON_CreateObject();
	cJSON_AddStringToObject(it, "id", id);
	cJSON_AddStringToObject(it, "op", "delete");
	cJSON_AddItemToArray(items, it);
}

/* A feed's first page (no cursor): the checklist, the plan, the registry, the tasks. */
static void first_page(const county *c, const char *feed, cJSON *items)
{
	if (strcmp(feed, "checklists") == 0)
		county_checklist(feed_item(items, "county.qg.public_place", server_now(c)));
	else if (strcmp(feed, "settings") == 0)
		county_plan(cJSON_AddObjectToObject(feed_item(items, "patrol_plan", server_now(c)),
		                                    "value"));
	else if (strcmp(feed, "sites") == 0)
		sites_feed(c, items);
	else if (strcmp(feed, "tasks") == 0)
		tasks_feed(c, items);
}

/* After cursor c1: the county's semesters, its removals (the village clinic,
 * the task about the unknown site) and sample S-1's laboratory result. */
static void second_page(const county *c, const char *feed, cJSON *items)
{
	if (strcmp(feed, "settings") == 0) {
		cJSON *d = feed_item(items, "semester_starts", server_now(c));
		cJSON_AddStringToObject(d, "value", "2026-02-23,2026-09-01");
	} else if (strcmp(feed, "sites") == 0) {
		feed_delete(items, "cq-500240-med-0002");
	} else if (strcmp(feed, "tasks") == 0) {
		feed_delete(items, "task-2026-032");
	} else if (strcmp(feed, "lab_results") == 0) {
		cJSON *d = feed_item(items, "QG-2026-S001", server_now(c));
		cJSON_AddBoolToObject(d, "passed", true);
		cJSON_AddStringToObject(d, "reported_on", "2026-03-20");
		cJSON_AddStringToObject(d, "detail", "GB 5749-2022 检测 43 项，均符合标准");
	}
}

/* Every answer is the feed's last page; after c2 nothing more. */
static cJSON *feed_answer(const county *c, const char *url)
{
	cJSON *o = cJSON_CreateObject(), *items = cJSON_AddArrayToObject(o, "items");
	const char *name = strstr(url, "/v1/feeds/") + strlen("/v1/feeds/");
	char feed[32];
	snprintf(feed, sizeof feed, "%.*s", (int)strcspn(name, "?"), name);
	const char *cursor = strstr(url, "cursor=");
	if (cursor == NULL)
		first_page(c, feed, items);
	else if (strcmp(cursor, "cursor=c1") == 0)
		second_page(c, feed, items);
	cJSON_AddStringToObject(o, "cursor", cursor == NULL ? "c1" : "c2");
	cJSON_AddBoolToObject(o, "more", false);
	return o;
}

static int county_request(void *ctx, const fic_http_request *q, fic_http_response *r)
{
	county *c = ctx;
	memset(r, 0, sizeof *r);
	r->retry_after_ms = r->upload_offset = -1;
	c->clock->wall_ms += 300; /* the round trip */
	c->clock->mono_ms += 300;
	r->server_time_ms = server_now(c);
	if (strstr(q->url, "/v1/enroll"))
		answer(r, 200, enrolled(c));
	else if (strstr(q->url, "/v1/records"))
		answer(r, 200, records_answer(c, q));
	else if (strstr(q->url, "/v1/photos/"))
		photo_answer(q, r);
	else if (strstr(q->url, "/v1/feeds/"))
		answer(r, 200, feed_answer(c, q->url));
	else
		answer(r, 404, NULL);
	return FIC_OK;
}

/* ---- the world the documents describe ---- */

typedef char uuid[FIC_UUID_BUFSIZE];

typedef struct world {
	tu_fixture *fx;
	fic_store *store;
	const char *out;
	county county;
	fic_sync_options sync;
	int written;
	/* sites */
	uuid plant, school, kindergarten, old_school, hospital, mch, blood, mine, pharmacy, salon,
		stall;
	/* inspections */
	uuid water_insp, blood_insp, mch_insp, clean_insp, rural_insp, flagged_insp, closed_insp,
		county_insp, venue_insp, reinsp;
	/* leads */
	uuid tip_off, foodborne, cluster, status_form, draft, correction, late_urgent, two_non,
		routed, venue_lead, immediate;
	/* the scan whose facts differ from the registry (it starts the rural patrol) */
	uuid scan_differs;
	uuid last_photo;
	char *summaries[8]; /* inspection_summary.<variant>, in the order of summary_names */
} world;

/* The variants of inspection_summary, in the order of world.summaries. */
static const char *const summary_names[8] = { "finding", "urgent", "clean", "licence_differs",
	                                      "published_blue_but_failing", "closed_site",
	                                      "county_area", "time_sensitive" };
enum { S_FINDING, S_URGENT, S_CLEAN, S_RURAL, S_FLAGGED, S_CLOSED, S_COUNTY, S_VENUE };

static void advance(world *w, int64_t ms)
{
	w->fx->clock.wall_ms += ms;
	w->fx->clock.mono_ms += ms;
}

static void write_doc(world *w, const char *name, const char *json)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/%s.json", w->out, name);
	if (json == NULL || tu_write_file(path, json, strlen(json)) != 0)
		die("cannot write %s", path);
	w->written++;
}

/* Write `json` (the library's, freed here) as OUT/<name>.json. */
static void put(world *w, const char *name, char *json)
{
	write_doc(w, name, json);
	fic_free(json);
}

/* ---- what the documents must say (not empty where the world is not) ---- */

static cJSON *parsed(const char *name, const char *json)
{
	cJSON *j = cJSON_Parse(json);
	if (j == NULL)
		die("%s is not JSON", name);
	return j;
}

static void expect(bool cond, const char *name, const char *what)
{
	if (!cond)
		die("%s: %s", name, what);
}

static const cJSON *member(const cJSON *o, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(o, key);
}

static const char *text_at(const cJSON *o, const char *key)
{
	const char *v = cJSON_GetStringValue(member(o, key));
	return v ? v : "";
}

/* Write the document, after checking it has `n` entries (an array, or the
 * array `key` of an object); n < 0: at least one. */
static void put_counted(world *w, const char *name, char *json, const char *key, int n)
{
	cJSON *j = parsed(name, json);
	int got = cJSON_GetArraySize(key ? member(j, key) : j);
	char what[120];
	snprintf(what, sizeof what, "%d entries, expected %s%d", got, n < 0 ? "at least " : "",
	         n < 0 ? 1 : n);
	expect(n < 0 ? got >= 1 : got == n, name, what);
	cJSON_Delete(j);
	put(w, name, json);
}
/* ---- building it ---- */

static void add_site(world *w, char *id_out, const fic_site *s, const char *reason)
{
	fic_site *saved = NULL;
	ok(fic_site_add(&saved, w->store, s, reason), s->name);
	snprintf(id_out, FIC_UUID_BUFSIZE, "%s", saved->id);
	fic_site_free(saved);
}

/* Sites found in the field, one of each kind with the facts that kind has. */
static void add_field_sites(world *w)
{
	fic_site s = FIC_SITE_INIT;
	s.kind = FIC_SITE_WATER_RURAL;
	s.name = "青杠镇石桥村集中供水站";
	s.address = "青杠镇石桥村 3 组";
	s.credit_code = "91350100M000100Y43";
	s.place_code = "https://cq.example/p/000000000001";
	s.legal_rep = "张三";
	s.manager = "李四";
	s.licence_no = "渝卫水〔2024〕12号";
	s.licence_scope = "集中式供水";
	s.licence_valid_from = "2024-01-01";
	s.licence_valid_to = "2027-12-31";
	s.has_location = 1;
	s.lat = 29.5012;
	s.lon = 106.5087;
	s.note = "本底缺失，巡查中发现";
	s.authority = "青杠镇人民政府";
	add_site(w, w->plant, &s, "不在区县本底中");

	s = (fic_site)FIC_SITE_INIT;
	s.kind = FIC_SITE_SCHOOL;
	s.name = "青杠镇中心小学";
	s.address = "青杠镇学府路 1 号";
	s.school_level = FIC_SCHOOL_PRIMARY;
	s.boarding = 1;
	s.enrolment = 640;
	s.has_location = 1;
	s.lat = 29.503;
	s.lon = 106.511;
	s.authority = "石柱县教育委员会";
	add_site(w, w->school, &s, NULL);

	s = (fic_site)FIC_SITE_INIT;
	s.kind = FIC_SITE_SCHOOL;
	s.name = "青杠镇中心幼儿园";
	s.school_level = FIC_SCHOOL_KINDERGARTEN;
	s.boarding = 0;
	add_site(w, w->kindergarten, &s, NULL);

	s = (fic_site)FIC_SITE_INIT;
	s.kind = FIC_SITE_SCHOOL;
	s.name = "石桥村小学";
	s.address = "青杠镇石桥村 1 组";
	s.school_level = FIC_SCHOOL_PRIMARY;
	s.enrolment = 38;
	add_site(w, w->old_school, &s, "本底缺失");
}

static void add_health_sites(world *w)
{
	fic_site s = FIC_SITE_INIT;
	s.kind = FIC_SITE_MEDICAL;
	s.name = "青杠镇中心卫生院";
	s.med_registration = FIC_MED_LICENSED;
	s.institution_type = FIC_INST_GENERAL_HOSPITAL;
	s.beds = 60;
	s.joint_venture = 0;
	s.validation_deferred = 0;
	s.licence_no = "PDY00002-500240";
	s.licence_scope = "预防保健科；全科医疗科；中医科";
	add_site(w, w->hospital, &s, NULL);

	s = (fic_site)FIC_SITE_INIT;
	s.kind = FIC_SITE_MCH;
	s.name = "石柱县妇幼保健院青杠分院";
	s.med_registration = FIC_MED_LICENSED;
	s.institution_type = FIC_INST_MCH_HOSPITAL;
	s.manager = "周敏";
	add_site(w, w->mch, &s, NULL);

	s = (fic_site)FIC_SITE_INIT;
	s.kind = FIC_SITE_BLOOD_STATION;
	s.name = "石柱县中心血站青杠采血点";
	s.licence_no = "渝血证字〔2022〕第 08 号";
	s.licence_valid_from = "2022-01-01";
	s.licence_valid_to = "2025-12-31"; /* expired: a finding */
	add_site(w, w->blood, &s, NULL);

	s = (fic_site)FIC_SITE_INIT;
	s.kind = FIC_SITE_EMPLOYER;
	s.name = "青杠煤矿有限公司";
	s.credit_code = "91500240MA5U7Y2X1G";
	s.industry = FIC_INDUSTRY_COAL_MINE;
	s.hazard_level = FIC_HAZARD_SEVERE;
	add_site(w, w->mine, &s, NULL);
}

/* Other venues: a pharmacy closed from the office, a salon (the county's own
 * area), and a market stall where a street "doctor" is found. */
static void add_venues(world *w)
{
	fic_site s = FIC_SITE_INIT;
	s.kind = FIC_SITE_OTHER_VENUE;
	s.name = "青杠镇百姓大药房";
	s.venue_type = FIC_VENUE_PHARMACY;
	add_site(w, w->pharmacy, &s, NULL);
	ok(fic_site_close(w->store, w->pharmacy, "现场核实已停业，门店转让"), "closing a site");

	s = (fic_site)FIC_SITE_INIT;
	s.kind = FIC_SITE_OTHER_VENUE;
	s.name = "青杠镇美美美容院";
	s.venue_type = FIC_VENUE_BEAUTY_SALON;
	add_site(w, w->salon, &s, NULL);

	s = (fic_site)FIC_SITE_INIT;
	s.kind = FIC_SITE_OTHER_VENUE;
	s.name = "青杠镇集市东口摊点";
	s.venue_type = FIC_VENUE_MARKET;
	s.address = "青杠镇集市东口";
	add_site(w, w->stall, &s, NULL);
}

/* The county site an inspector found changed (信息变更). */
static void change_county_site(world *w)
{
	fic_site *s = NULL;
	ok(fic_site_get(&s, w->store, "cq-500240-ws-0001"), "the county's plant");
	fic_site c = *s;
	c.manager = "陈刚";
	c.note = "物业公司更换";
	fic_site *saved = NULL;
	ok(fic_site_update(&saved, w->store, &c, "负责人变更"), "updating a county site");
	fic_site_free(saved);
	fic_site_free(s);
}

static void settings(world *w)
{
	ok(fic_setting_set(w->store, "semester_starts", "2026-02-23,2026-09-01"), "semester_starts");
	ok(fic_setting_set(w->store, "outbox_retention_days", "14"), "outbox_retention_days");
	ok(fic_setting_set(w->store, "utc_offset_minutes", "480"), "utc_offset_minutes");
	ok(fic_setting_set(w->store, "sms_gateway_number", "10655000123"), "sms_gateway_number");
	ok(fic_setting_set(w->store, "sms_fallback_minutes", "60"), "sms_fallback_minutes");
}

/* The plan in force: the guide's, then the device's own (before the county sends one). */
static void plans_before_the_county(world *w)
{
	char *json = NULL;
	ok(fic_patrol_plan_json(&json, w->store), "the guide's plan");
	put_counted(w, "patrol_plan.default", json, NULL, 2); /* origin and areas */
	cJSON *plan = cJSON_CreateObject();
	cJSON *school = cJSON_AddObjectToObject(cJSON_AddObjectToObject(plan, "areas"), "school");
	cJSON_AddNumberToObject(school, "per_year", 3);
	char *text = cJSON_PrintUnformatted(plan);
	cJSON_Delete(plan);
	ok(fic_patrol_plan_set(w->store, text), "the device's plan");
	cJSON_free(text);
	ok(fic_patrol_plan_json(&json, w->store), "the device's plan");
	put(w, "patrol_plan.device", json);
}

/* The plant's second code (一门一码: its south gate's, which carries facts)
 * and the codes as listed. */
static void site_codes(world *w)
{
	ok(fic_site_code_add(w->store, w->plant,
	                     "https://cq.example/p?code=QG-WR-0001-S&name=%E7%9F%B3%E6%A1%A5%E6%9D%91"
	                     "%E4%BE%9B%E6%B0%B4%E7%AB%99&fr=%E7%8E%8B%E4%BA%94",
	                     "南门"),
	   "a second code");
	ok(fic_site_code_add(w->store, w->plant, "QG-WR-0001-TEMP", NULL), "a code put up by mistake");
	ok(fic_site_code_remove(w->store, w->plant, " QG-WR-0001-TEMP "), "and taken down");
	char *json = NULL;
	ok(fic_site_codes_json(&json, w->store, w->plant), "the plant's codes");
	cJSON *j = parsed("site_codes.plant", json);
	expect(cJSON_GetArraySize(j) == 2 && cJSON_IsTrue(member(cJSON_GetArrayItem(j, 0), "primary")) &&
	               strcmp(text_at(cJSON_GetArrayItem(j, 1), "label"), "南门") == 0,
	       "site_codes.plant", "the primary code, then the labelled one");
	cJSON_Delete(j);
	put(w, "site_codes.plant", json);
	ok(fic_site_codes_json(&json, w->store, w->kindergarten), "a site without codes");
	put_counted(w, "site_codes.none", json, NULL, 0);
}

/*
 * The store as an older version left it, its bearer token and SMS key in
 * the database, opened again: both move to the platform's secret hook
 * (sync.token_moved, sync.sms_key_moved). The county key tu_fixture_new
 * pinned stays (leads with personal answers are sealed to it before the
 * device first reaches this server).
 */
static void older_store(world *w)
{
	char *path = tu_path(w->fx->dir, "store.db");
	fic_store_close(w->store);
	w->store = w->fx->store = NULL;
	sqlite3 *db = NULL;
	char *sql = sqlite3_mprintf("INSERT INTO sync_state (key, value) VALUES ('sync.token', "
	                            "'tok-older-0123456789abcdef'), ('sync.sms_key', %Q)",
	                            SMS_KEY_B64);
	if (path == NULL || sql == NULL ||
	    sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		die("making an older store: %s", db ? sqlite3_errmsg(db) : "no memory");
	sqlite3_free(sql);
	sqlite3_close(db);
	fic_store_options o = FIC_STORE_OPTIONS_INIT;
	o.platform = &w->fx->platform;
	o.actor = ACTOR;
	ok(fic_store_open(&w->fx->store, path, &o), "opening an older store");
	free(path);
	w->store = w->fx->store;
}

/* The county server behind the transport seam, and the options that reach it. */
static void county_init(world *w)
{
	w->county = (county){ { FIC_TRANSPORT_VERSION, NULL, county_request, NULL, 0 }, &w->fx->clock,
		              fic_store_device_id(w->store), "", 0 };
	w->county.table.ctx = &w->county;
	w->sync = (fic_sync_options)FIC_SYNC_OPTIONS_INIT;
	w->sync.transport = &w->county.table;
	w->sync.server_url = "https://wsjd.example.cn";
	w->sync.no_gzip = 1;
}

/* Enrolment, and the county's checklist, plan, registry and tasks; then its
 * plan may not be typed over. */
static void enrol_and_pull(world *w)
{
	/* Leaving the older store's county on purpose (sync.unenroll) forgets
	 * its key; this county's enrolment answer pins it (sync.county_key). */
	ok(fic_sync_unenroll(w->store), "leaving the older store's county");
	ok(fic_sync_enroll(w->store, &w->sync, "ABC-123-XYZ", "青杠镇协管员的手机"), "enrolment");
	fic_sync_report rep = FIC_SYNC_REPORT_INIT;
	ok(fic_sync_pull(w->store, &w->sync, &rep), "pulling the county's feeds");
	if (rep.pulled != 7)
		die("the pull applied %lld items, not 7", (long long)rep.pulled);
	if (fic_patrol_plan_set(w->store, "{\"areas\":{}}") != FIC_ESTATE)
		die("the county's plan was typed over");
	char *json = NULL;
	ok(fic_patrol_plan_json(&json, w->store), "the county's plan");
	cJSON *j = parsed("patrol_plan.county", json);
	expect(strcmp(text_at(j, "origin"), "county") == 0 &&
	               member(member(j, "areas"), "other.public_place") != NULL,
	       "patrol_plan.county", "the county's plan with its own area");
	cJSON_Delete(j);
	put(w, "patrol_plan.county", json);
}

static void add_photo(world *w, int owner, const char *owner_id, const char *item)
{
	static int taken;
	size_t len = 0;
	/* Each photo its own picture (its own file, named by its SHA-256). */
	unsigned char *jpeg = tu_make_jpeg(320 + 16 * taken++, 240, 3, 0, 85, &len);
	if (jpeg == NULL)
		die("cannot make a JPEG");
	fic_photo_options po = FIC_PHOTO_OPTIONS_INIT;
	po.has_location = 1;
	po.lat = 29.5013;
	po.lon = 106.5088;
	ok(fic_photo_add_buffer(w->last_photo, w->store, owner, owner_id, item, jpeg, len, &po),
	   "a photo");
	free(jpeg);
}

static void answer_all(world *w, const char *insp, const char *const *kv)
{
	for (; kv[0]; kv += 2)
		ok(fic_inspection_answer(w->store, insp, kv[0], kv[1]), kv[0]);
}

static void start(world *w, char *id, const char *site, const char *checklist, int mode,
                  const char *scan)
{
	fic_inspection_options o = FIC_INSPECTION_OPTIONS_INIT;
	o.visit_mode = mode;
	o.scan_id = scan;
	ok(fic_inspection_start_opts(id, w->store, site, checklist, &o), checklist);
}

static void finish(world *w, const char *id, int summary)
{
	ok(fic_inspection_finish(&w->summaries[summary], w->store, id), summary_names[summary]);
}

/* The first lead a finished inspection filed (its summary's). */
static void first_lead(world *w, int summary, char *id_out)
{
	cJSON *s = parsed(summary_names[summary], w->summaries[summary]);
	const char *id = cJSON_GetStringValue(cJSON_GetArrayItem(member(s, "leads"), 0));
	if (id == NULL)
		die("%s filed no lead", summary_names[summary]);
	snprintf(id_out, FIC_UUID_BUFSIZE, "%s", id);
	cJSON_Delete(s);
}

/* A field test of the school's water: pH too high, photographed and noted. */
static void water_inspection(world *w)
{
	static const char *const answers[] = { "supply", "urban", "sample_point", "tap",
		                               "disinfectant", "free_chlorine", "residual", "0.5",
		                               "colour_or_matter", "no", "odour", "no", "ph", "9.0",
		                               NULL };
	ok(fic_inspection_start(w->water_insp, w->store, w->school, "water.field_test"), "start");
	answer_all(w, w->water_insp, answers);
	ok(fic_inspection_note(w->store, w->water_insp, "ph", "试纸读数偏高，复测仍为 9.0"), "note");
	add_photo(w, FIC_PHOTO_INSPECTION, w->water_insp, "ph");
	advance(w, 20 * MINUTE_MS);
	finish(w, w->water_insp, S_FINDING);
}

/* The blood station: collecting beyond its scope (two-hour rule) and an expired licence. */
static void blood_inspection(world *w)
{
	static const char *const answers[] = { "licence_held", "yes", "beyond_scope", "yes",
		                               "other_violation", "no", NULL };
	ok(fic_inspection_start(w->blood_insp, w->store, w->blood, "blood.station"), "start");
	answer_all(w, w->blood_insp, answers);
	ok(fic_inspection_note(w->store, w->blood_insp, "beyond_scope", "现场有非献血者采浆记录"),
	   "note");
	add_photo(w, FIC_PHOTO_INSPECTION, w->blood_insp, "beyond_scope");
	add_photo(w, FIC_PHOTO_INSPECTION, w->blood_insp, "licence_valid_to");
	advance(w, 15 * MINUTE_MS);
	finish(w, w->blood_insp, S_URGENT);
}

/* Scan a code with the device's position, or without (NULL), and write the answer. */
static void scan(world *w, const char *name, const char *payload, const fic_scan_options *o,
                 char *scan_id)
{
	char *json = NULL;
	ok(fic_visit_scan(&json, w->store, payload, strlen(payload), o), name);
	cJSON *j = parsed(name, json);
	snprintf(scan_id, FIC_UUID_BUFSIZE, "%s", text_at(j, "scan_id"));
	cJSON_Delete(j);
	put(w, name, json);
}

/* The hospital's licence code (text: its name, number and scope, as a
 * licence prints them) and the kindergarten's door token, scanned as
 * another phone reads them: the registry's facts match. */
static void scans_of_other_forms(world *w)
{
	ok(fic_site_code_add(w->store, w->hospital,
	                     "机构名称：青杠镇中心卫生院\n登记号：PDY00002-500240\n"
	                     "诊疗科目：预防保健科；全科医疗科；中医科",
	                     "医疗机构执业许可证"),
	   "a licence's code");
	ok(fic_site_code_add(w->store, w->kindergarten, "QG-KG-0001", "大门"), "a door token");
	uuid id;
	scan(w, "scan.licence_text",
	     "\xEF\xBB\xBF机构名称： 青杠镇中心卫生院\r\n登记号：PDY00002-500240\r\n"
	     "诊疗科目：预防保健科；全科医疗科；中医科\xE3\x80\x80",
	     NULL, id);
	scan(w, "scan.token", "QG-KG-\xE2\x80\x8B" "0001 ", NULL, id);
}

/* The plant's door code, scanned by another phone (upper-case host, a
 * trailing slash, no position), starts an announced field test with
 * nothing wrong: no findings, no leads. */
static void clean_inspection(world *w)
{
	static const char *const answers[] = { "sample_point", "outlet", "disinfectant",
		                               "chlorine_dioxide", "residual", "0.3",
		                               "colour_or_matter", "no", "odour", "no", "ph", "7.2",
		                               NULL };
	uuid id;
	scan(w, "scan.matches", " HTTPS://CQ.Example/p/000000000001/ ", NULL, id);
	start(w, w->clean_insp, w->plant, "water.field_test", FIC_VISIT_ANNOUNCED, id);
	answer_all(w, w->clean_insp, answers); /* "supply" was prefilled from the site */
	advance(w, 10 * MINUTE_MS);
	finish(w, w->clean_insp, S_CLEAN);
}

/* The plant's south-gate code says another name and legal representative:
 * the unannounced patrol it starts answers "实际信息与许可证一致" no. */
static void rural_inspection(world *w)
{
	static const char *const answers[] = {
		"licence_held", "yes", "staff_health_cert", "yes", "staff_trained", "yes",
		"rules_in_place", "yes", "incident_reporter", "yes", "source_zone_clean", "yes",
		"intake_100m_clear", "yes", "source_signs", "yes", "production_area_30m", "yes",
		"products_approved", "yes", "treatment_working", "yes", "self_testing", "yes",
		"tank_locked", "yes", "other_pollution_risk", "no", NULL
	};
	fic_scan_options o = FIC_SCAN_OPTIONS_INIT;
	o.has_location = 1;
	o.lat = 29.5011;
	o.lon = 106.5089;
	o.accuracy_m = 8;
	scan(w, "scan.differs",
	     "https://cq.example/p?code=QG-WR-0001-S&name=%E7%9F%B3%E6%A1%A5%E6%9D%91%E4%BE%9B%E6%B0%B4"
	     "%E7%AB%99&fr=%E7%8E%8B%E4%BA%94&from=timeline",
	     &o, w->scan_differs);
	start(w, w->rural_insp, w->plant, "water.rural", FIC_VISIT_UNANNOUNCED, w->scan_differs);
	answer_all(w, w->rural_insp, answers);
	add_photo(w, FIC_PHOTO_INSPECTION, w->rural_insp, "licence_matches");
	advance(w, 25 * MINUTE_MS);
	finish(w, w->rural_insp, S_RURAL);
}

/* The county's secondary supply, published blue, fails today's field test: flagged. */
static void flagged_inspection(world *w)
{
	static const char *const answers[] = { "sample_point", "tap", "disinfectant",
		                               "free_chlorine", "residual", "0.01",
		                               "colour_or_matter", "no", "odour", "no", "ph", "7.0",
		                               NULL };
	start(w, w->flagged_insp, "cq-500240-ws-0001", "water.field_test", FIC_VISIT_UNSAID, NULL);
	answer_all(w, w->flagged_insp, answers);
	add_photo(w, FIC_PHOTO_INSPECTION, w->flagged_insp, "residual");
	advance(w, 10 * MINUTE_MS);
	finish(w, w->flagged_insp, S_FLAGGED);
	cJSON *s = parsed("inspection_summary", w->summaries[S_FLAGGED]);
	expect(cJSON_IsTrue(member(s, "published_blue_but_failing")),
	       "inspection_summary.published_blue_but_failing", "the test of a blue supply failed");
	cJSON_Delete(s);
}

/* A village school found closed (撤并): nothing left to check; its proof photo finishes the visit. */
static void closed_site_inspection(world *w)
{
	start(w, w->closed_insp, w->old_school, "school.disease_control", FIC_VISIT_ANNOUNCED, NULL);
	ok(fic_inspection_report_site(w->store, w->closed_insp, FIC_FOUND_CLOSED,
	                              "学校已撤并至青杠镇中心小学，校舍空置", NULL),
	   "a site found closed");
	if (fic_inspection_finish(NULL, w->store, w->closed_insp) != FIC_EINCOMPLETE)
		die("a closed site's visit finished without its proof photo");
	add_photo(w, FIC_PHOTO_INSPECTION, w->closed_insp, NULL);
	finish(w, w->closed_insp, S_CLOSED);
}

/* The county's own area: the salon's licence is not posted. */
static void county_area_inspection(world *w)
{
	start(w, w->county_insp, w->salon, "county.qg.public_place", FIC_VISIT_UNANNOUNCED, NULL);
	ok(fic_inspection_answer(w->store, w->county_insp, "licence_posted", "no"), "licence_posted");
	finish(w, w->county_insp, S_COUNTY);
}

/* A street "doctor" at the market (非法行医 3.3.1): a time-sensitive lead,
 * re-inspected within the month. */
static void venue_inspection(world *w)
{
	static const char *const answers[] = { "medical_activity", "yes", "practitioners_qualified",
		                               "no", "illegal_blood", "no", "illegal_equipment", "no",
		                               "other_violation", "no", NULL };
	start(w, w->venue_insp, w->stall, "venue.other", FIC_VISIT_ANNOUNCED, NULL);
	answer_all(w, w->venue_insp, answers);
	add_photo(w, FIC_PHOTO_INSPECTION, w->venue_insp, "medical_activity");
	add_photo(w, FIC_PHOTO_INSPECTION, w->venue_insp, "practitioners_qualified");
	finish(w, w->venue_insp, S_VENUE);
	first_lead(w, S_VENUE, w->venue_lead);
}

/* The MCH provider, left open: an abnormal answer without its photo, and a site finding. */
static void open_mch_inspection(world *w)
{
	static const char *const answers[] = { "mch_licence_held", "yes", "staff_certified", "no",
		                               NULL };
	ok(fic_inspection_start(w->mch_insp, w->store, w->mch, "mch.patrol"), "start");
	answer_all(w, w->mch_insp, answers);
	fic_site *s = NULL;
	ok(fic_site_get(&s, w->store, w->mch), "the MCH provider");
	fic_site c = *s;
	c.manager = "吴芳";
	ok(fic_inspection_report_site(w->store, w->mch_insp, FIC_FOUND_CHANGED, "负责人已更换",
	                              &c),
	   "a site finding");
	fic_site_free(s);
}

/* A re-inspection of the stall a month later: the same violation again, to
 * report immediately (非法行医 3.4.1); finishing it closes the stall's task. */
static void reinspection(world *w)
{
	start(w, w->reinsp, w->stall, "medical.reinspection", FIC_VISIT_UNANNOUNCED, NULL);
	const char *const answers[] = { "reason", "time_sensitive_lead", "original_lead",
		                        w->venue_lead, "same_violation_again", "yes",
		                        "violation_persists", "yes", "notes", "原摊点仍有人拔牙", NULL };
	answer_all(w, w->reinsp, answers);
	add_photo(w, FIC_PHOTO_INSPECTION, w->reinsp, "same_violation_again");
	add_photo(w, FIC_PHOTO_INSPECTION, w->reinsp, "violation_persists");
	char *summary = NULL;
	ok(fic_inspection_finish(&summary, w->store, w->reinsp), "the re-inspection");
	cJSON *s = parsed("the re-inspection's summary", summary);
	const char *id = cJSON_GetStringValue(cJSON_GetArrayItem(member(s, "urgent_leads"), 0));
	if (id == NULL)
		die("the same violation found again filed no urgent lead");
	snprintf(w->immediate, sizeof w->immediate, "%s", id);
	cJSON_Delete(s);
	put(w, "inspection_summary.immediate", summary);
}
/* ---- leads ---- */

static char *answers_text(cJSON *a)
{
	char *t = cJSON_PrintUnformatted(a);
	cJSON_Delete(a);
	if (t == NULL)
		die("out of memory");
	return t;
}

static char *tip_off_answers(bool time_sensitive)
{
	cJSON *a = cJSON_CreateObject();
	cJSON_AddStringToObject(a, "source", "hotline_12345");
	cJSON_AddStringToObject(a, "ticket_12345", "GD-20261204-0031");
	cJSON_AddStringToObject(a, "subject", "illegal_practice");
	cJSON_AddStringToObject(a, "place", "青杠镇集市东口");
	cJSON_AddStringToObject(a, "description", "游医摆摊拔牙，无任何证照");
	cJSON_AddStringToObject(a, "time_sensitive", time_sensitive ? "yes" : "no");
	cJSON_AddStringToObject(a, "informant_name", "王某");
	cJSON_AddStringToObject(a, "verified", "yes");
	return answers_text(a);
}

static char *foodborne_answers(void)
{
	cJSON *a = cJSON_CreateObject();
	const char *symptoms[] = { "vomiting", "diarrhoea", "abdominal_pain" };
	cJSON_AddStringToObject(a, "onset_date", "2026-03-01");
	cJSON_AddStringToObject(a, "onset_time", "12:30");
	cJSON_AddStringToObject(a, "meal_place", "青杠镇中心饭店");
	cJSON_AddStringToObject(a, "meal_unit", "李家婚宴");
	cJSON_AddStringToObject(a, "contact_phone", "13800000000");
	cJSON_AddNumberToObject(a, "exposed", 120);
	cJSON_AddStringToObject(a, "ill", "14");
	cJSON_AddNumberToObject(a, "dead", 0);
	cJSON_AddStringToObject(a, "suspected_food", "凉拌菜");
	cJSON_AddItemToObject(a, "symptoms", cJSON_CreateStringArray(symptoms, 3));
	cJSON_AddStringToObject(a, "measures_taken", "已送镇卫生院，留样封存");
	cJSON_AddStringToObject(a, "verified", "yes");
	cJSON_AddStringToObject(a, "report_source", "primary_care");
	const char *diagnosis[] = { "food_poisoning" };
	cJSON_AddItemToObject(a, "diagnosis", cJSON_CreateStringArray(diagnosis, 1));
	return answers_text(a);
}

static char *cluster_answers(void)
{
	cJSON *a = cJSON_CreateObject();
	const int cases[] = { 2, 3, 1 };
	const char *symptoms[] = { "vomiting", "diarrhoea" };
	cJSON_AddStringToObject(a, "unit_type", "class");
	cJSON_AddStringToObject(a, "unit_name", "三年级二班");
	cJSON_AddStringToObject(a, "first_date", "2026-02-26");
	cJSON_AddItemToObject(a, "daily_cases", cJSON_CreateIntArray(cases, 3));
	cJSON_AddItemToObject(a, "symptoms", cJSON_CreateStringArray(symptoms, 2));
	cJSON_AddStringToObject(a, "similar_symptoms", "yes");
	cJSON_AddStringToObject(a, "shared_meal_or_water", "no");
	cJSON_AddStringToObject(a, "verified", "yes");
	return answers_text(a);
}

static char *site_status_answers(void)
{
	cJSON *a = cJSON_CreateObject();
	cJSON_AddStringToObject(a, "status", "changed");
	cJSON_AddStringToObject(a, "description", "卫生室已迁至村委会旁");
	return answers_text(a);
}

static void file(world *w, char *id, const char *form, char *answers, const char *site,
                 int64_t discovered, unsigned int flags)
{
	ok(fic_lead_file(id, w->store, form, answers, site, discovered, flags), form);
	cJSON_free(answers);
}

static char *two_non_answers(void)
{
	cJSON *a = cJSON_CreateObject();
	cJSON_AddStringToObject(a, "kind", "sex_determination");
	cJSON_AddStringToObject(a, "place", "镇东街诊所二楼");
	cJSON_AddStringToObject(a, "provider", "某诊所");
	cJSON_AddStringToObject(a, "description", "用便携B超为孕妇鉴定胎儿性别");
	cJSON_AddStringToObject(a, "informant_name", "王秀英");
	cJSON_AddStringToObject(a, "verified", "yes");
	return answers_text(a);
}

/* A tip-off about a water poisoning, phoned in half an hour ago: routed to
 * the two-hour rule it falls under, on the clock from when it was received. */
static char *routed_tip_off_answers(void)
{
	cJSON *a = cJSON_CreateObject();
	cJSON_AddStringToObject(a, "source", "phone");
	cJSON_AddStringToObject(a, "subject", "water_poisoning");
	cJSON_AddStringToObject(a, "place", "黄水镇金竹村");
	cJSON_AddStringToObject(a, "description", "村民饮用自来水后多人腹泻呕吐");
	cJSON_AddStringToObject(a, "informant_phone", "13900000000");
	cJSON_AddStringToObject(a, "verified", "no");
	return answers_text(a);
}

/* Before the first server contact: a time-sensitive tip-off (the server will refuse it). */
static void first_tip_off(world *w)
{
	file(w, w->tip_off, "lead.tip_off", tip_off_answers(true), NULL, 0, 0);
	snprintf(w->county.refuse_id, sizeof w->county.refuse_id, "%s", w->tip_off);
}

/* The foodborne report, phoned in to the CDC by its deadline (食源性疾病 三(二)). */
static void file_leads(world *w)
{
	int64_t now = w->fx->clock.wall_ms;
	file(w, w->foodborne, "event.foodborne", foodborne_answers(), NULL, now - 40 * MINUTE_MS, 0);
	ok(fic_lead_call_record(w->store, w->foodborne, "phone", now - 10 * MINUTE_MS,
	                        "区疾控中心值班室 王医生 023-73331234", "已口头报告，传真随后"),
	   "the call to the CDC");
	ok(fic_lead_call_record(w->store, w->foodborne, "fax", 0, "区疾控中心 023-73331235", NULL),
	   "the fax to the CDC");
	file(w, w->cluster, "event.school_cluster", cluster_answers(), w->school, 0, 0);
	/* A site-status report goes with its proof photo: a draft, the photo, then submitted. */
	file(w, w->status_form, "lead.site_status", site_status_answers(), "cq-500240-med-0002", 0,
	     FIC_LEAD_DRAFT);
	if (fic_lead_submit(w->store, w->status_form) != FIC_EINCOMPLETE)
		die("a site-status report was submitted without its proof photo");
	add_photo(w, FIC_PHOTO_LEAD, w->status_form, NULL);
	ok(fic_lead_submit(w->store, w->status_form), "submitting the site-status report");
}

/* After the upload: a draft with a photo, a correction, and urgent leads still queued. */
static void later_leads(world *w)
{
	file(w, w->draft, "lead.tip_off", tip_off_answers(false), NULL, 0, FIC_LEAD_DRAFT);
	add_photo(w, FIC_PHOTO_LEAD, w->draft, NULL);
	ok(fic_lead_correct(w->correction, w->store, w->foodborne, "发病人数更正为 16 人"),
	   "a correction");
	file(w, w->late_urgent, "event.foodborne", foodborne_answers(), NULL, 0, 0);
	file(w, w->two_non, "event.two_non", two_non_answers(), NULL, 0, 0);
	file(w, w->routed, "lead.tip_off", routed_tip_off_answers(), "cq-500240-wr-0003",
	     w->fx->clock.wall_ms - 30 * MINUTE_MS, 0);
}

static void push(world *w)
{
	fic_sync_report rep = FIC_SYNC_REPORT_INIT;
	ok(fic_sync_push(w->store, &w->sync, &rep), "the upload");
	if (rep.rejected != 1)
		die("the upload had %lld records refused, not 1", (long long)rep.rejected);
}

/* No data for an hour: the urgent leads near their deadline are due to go
 * by SMS; the 两非 report goes, and the county's signed confirmation makes
 * it delivered. Then SMS only when asked (fallback 0). */
static void sms(world *w)
{
	advance(w, 65 * MINUTE_MS);
	char *json = NULL;
	ok(fic_lead_sms_due_json(&json, w->store), "the leads due by SMS");
	put_counted(w, "sms_due.due", json, "leads", 3);
	fic_sms *m = NULL;
	ok(fic_lead_sms(&m, w->store, w->two_non), "the 两非 report's SMS");
	fic_sms_free(m);
	ok(fic_lead_sms_sent(w->store, w->two_non), "sent");
	ok(fic_lead_get_json(&json, w->store, w->two_non), "a lead sent by SMS");
	put(w, "lead.sms_sent.urgent", json);
	char text[FIC_SMS_TEXT_CHARS + 1];
	ok(fic__sms_receipt_make(text, sizeof text, SMS_KEY, w->two_non, "SZ-SMS-0001",
	                         w->county.clock->wall_ms + 60000),
	   "the county's confirmation");
	ok(fic_lead_sms_receipt(w->store, w->two_non, text), "the confirmation");
	ok(fic_lead_get_json(&json, w->store, w->two_non), "a lead delivered by SMS");
	put(w, "lead.sms_delivered.urgent", json);
	ok(fic_lead_sms_due_json(&json, w->store), "the leads due by SMS");
	put_counted(w, "sms_due.after_one_went", json, "leads", 2);
	ok(fic_setting_set(w->store, "sms_fallback_minutes", "0"), "SMS only when asked");
	ok(fic_lead_sms_due_json(&json, w->store), "the leads due by SMS");
	put_counted(w, "sms_due.only_when_asked", json, "leads", 0);
}

/* ---- the records a co-inspector keeps ---- */

static void activity(world *w, int kind, const char *date, const char *topic, int people,
                     const char *channel, const char *case_ref, bool photo)
{
	fic_activity a = FIC_ACTIVITY_INIT;
	a.kind = kind;
	a.date = date;
	a.topic = topic;
	a.people = people;
	a.channel = channel;
	a.case_ref = case_ref;
	if (kind == FIC_ACTIVITY_PUBLICITY) {
		a.area = "medical_blood";
		a.place = "石桥村村委会";
		a.audience = "村民";
		a.format = "讲座";
		a.site_id = w->stall;
		a.note = "发放打击非法行医宣传册 120 份";
	} else if (kind == FIC_ACTIVITY_TRAINING) {
		a.area = "drinking_water";
		a.audience = "供水单位从业人员";
	}
	uuid id;
	ok(fic_activity_add(id, w->store, &a), topic);
	if (photo)
		add_photo(w, FIC_PHOTO_ACTIVITY, id, NULL);
}

/* Publicity (普法五进), training and a case assisted: indicators 一(三)3 and 4. */
static void activities(world *w)
{
	activity(w, FIC_ACTIVITY_PUBLICITY, "2026-02-12", "打击非法行医宣传", 86, "villages", NULL, true);
	activity(w, FIC_ACTIVITY_TRAINING, "2026-02-20", "供水从业人员卫生知识培训", FIC_UNKNOWN, NULL,
	         NULL, false);
	activity(w, FIC_ACTIVITY_CASE, "2026-03-01", "协助查处集市游医案", FIC_UNKNOWN, NULL,
	         "渝卫执罚〔2026〕12号", false);
	char *json = NULL;
	ok(fic_activity_list_json(&json, w->store, 0, 0), "this year's activities");
	put_counted(w, "activity_list.year", json, NULL, 3);
	ok(fic_activity_list_json(&json, w->store, 0, FIC_ACTIVITY_CASE), "the cases");
	put_counted(w, "activity_list.cases", json, NULL, 1);
	ok(fic_activity_list_json(&json, w->store, 2025, 0), "last year's activities");
	put_counted(w, "activity_list.last_year", json, NULL, 0);
}

static void sample(world *w, const char *no, const char *site, const char *point,
                   const char *taken_by)
{
	fic_sample s = FIC_SAMPLE_INIT;
	s.sample_no = no;
	s.site_id = site;
	s.point = point;
	s.taken_at_ms = w->fx->clock.wall_ms - 30 * MINUTE_MS;
	s.taken_by = taken_by;
	s.received_by = "区疾控中心检验科 刘工";
	s.note = taken_by ? NULL : "采样时水温 12 ℃";
	uuid id;
	ok(fic_sample_add(id, w->store, &s), no);
}

/* Samples taken with the agency (饮用水 二): one whose result the county
 * sends later, one whose result is entered by hand (failed). */
static void samples(world *w)
{
	sample(w, "QG-2026-S001", w->plant, "出厂水", NULL);
	sample(w, "QG-2026-S002", w->school, "末梢水（食堂）", "区疾控中心 陈某");
	char *json = NULL;
	ok(fic_sample_list_json(&json, w->store, NULL), "the samples");
	cJSON *j = parsed("sample_list.before_result", json);
	expect(cJSON_GetArraySize(j) == 2 && member(cJSON_GetArrayItem(j, 0), "result") == NULL,
	       "sample_list.before_result", "two samples, no result yet");
	cJSON_Delete(j);
	put(w, "sample_list.before_result", json);
	ok(fic_sample_result_set(w->store, "QG-2026-S002", 0, "2026-03-01", "菌落总数超标"),
	   "a result by hand");
	ok(fic_sample_list_json(&json, w->store, w->school), "the school's samples");
	put_counted(w, "sample_list.site_result_by_hand", json, NULL, 1);
}

/* The competent authorities to tell (饮用水/学校卫生 三(二)3), before and after two notices. */
static void notices(world *w)
{
	char *json = NULL;
	ok(fic_authority_notices_due_json(&json, w->store), "the notices due");
	put_counted(w, "notices_due.before", json, NULL, 4);
	uuid id;
	ok(fic_authority_notice_add(id, w->store, w->plant, FIC_NOTICE_NEW_SITE, NULL, "phone",
	                            "镇政府办公室 张主任"),
	   "the plant's authority told");
	ok(fic_authority_notice_add(id, w->store, w->kindergarten, FIC_NOTICE_NEW_SITE,
	                            "石柱县教育委员会", "letter", NULL),
	   "the kindergarten's authority told");
	ok(fic_authority_notices_due_json(&json, w->store), "the notices due");
	put_counted(w, "notices_due.after", json, NULL, 2);
}
/* ---- the documents ---- */

static void dump_site(world *w, const char *name, const char *id)
{
	fic_site *s = NULL;
	char *json = NULL;
	ok(fic_site_get(&s, w->store, id), name);
	ok(fic_site_to_json(&json, s), "fic_site_to_json");
	fic_site_free(s);
	put(w, name, json);
}

static void dump_sites(world *w)
{
	dump_site(w, "site.water_rural", w->plant);
	dump_site(w, "site.school", w->school);
	dump_site(w, "site.kindergarten", w->kindergarten);
	dump_site(w, "site.medical", w->hospital);
	dump_site(w, "site.mch", w->mch);
	dump_site(w, "site.blood_station", w->blood);
	dump_site(w, "site.employer", w->mine);
	dump_site(w, "site.other_venue_closed", w->pharmacy);
	dump_site(w, "site.county_changed", "cq-500240-ws-0001");
	dump_site(w, "site.county", "cq-500240-med-0002");
	dump_site(w, "site.county_published_red", "cq-500240-wr-0003");
	dump_site(w, "site.school_found_closed", w->old_school);
	dump_site(w, "site.other_venue", w->salon);
}

static void dump_checklist(world *w, const char *name, const char *id)
{
	char *json = NULL;
	ok(fic_checklist_get_json(&json, w->store, id, 0), id);
	put(w, name, json);
}

static void dump_inspection(world *w, const char *variant, const char *id, bool finished)
{
	char name[80], *json = NULL;
	snprintf(name, sizeof name, "inspection.%s", variant);
	ok(fic_inspection_get_json(&json, w->store, id), name);
	put(w, name, json);
	if (!finished)
		return;
	snprintf(name, sizeof name, "opinion.%s", variant);
	ok(fic_inspection_opinion(&json, w->store, id, FIC_OPINION_JSON), name);
	put(w, name, json);
}

/* Every lead in the store, named by what it is: lead.<category>.<state>[.urgent].<n>. */
/* A lead's JSON shows as many sealed items as fic_lead_info says were
 * sealed, none of them left among its answers. */
static void expect_sealed(const char *name, const char *json, int sealed)
{
	cJSON *j = parsed(name, json);
	const cJSON *content = member(j, "content"), *it;
	const cJSON *items = member(member(content, "sealed"), "items");
	bool right = cJSON_GetArraySize(items) == sealed;
	cJSON_ArrayForEach(it, items)
		right = right && cJSON_IsString(it) &&
		        member(member(content, "answers"), it->valuestring) == NULL;
	expect(right, name, "its personal answers sealed, and only there");
	cJSON_Delete(j);
}

static void dump_leads(world *w, const char *tag)
{
	fic_lead_list *list = NULL;
	ok(fic_lead_list_get(&list, w->store, 0), "the lead list");
	size_t sealed = 0;
	for (size_t i = 0; i < list->count; i++) {
		const fic_lead_info *e = fic_lead_list_at(list, i);
		char name[160], *json = NULL;
		snprintf(name, sizeof name, "lead.%s%s.%s%s.%zu", tag, e->category, e->state,
		         e->urgent ? ".urgent" : "", i + 1);
		ok(fic_lead_get_json(&json, w->store, e->id), name);
		expect_sealed(name, json, e->sealed);
		sealed += e->sealed > 0;
		put(w, name, json);
	}
	if (list->count < 10 || sealed < 4)
		die("only %zu leads, %zu of them sealed", list->count, sealed);
	fic_lead_list_free(list);
}

/* The due list whole, its summary, and a first page of every area. */
static void dump_due(world *w, const char *variant)
{
	static const char *const areas[] = { "drinking_water", "school", "medical_blood", "mch",
		                             "occupational", "other.public_place", "school_semester" };
	char name[120], *json = NULL;
	snprintf(name, sizeof name, "due.%s", variant);
	ok(fic_due_json(&json, w->store), name);
	put(w, name, json);
	snprintf(name, sizeof name, "due_summary.%s", variant);
	ok(fic_due_summary_json(&json, w->store), name);
	cJSON *j = parsed(name, json);
	expect(member(member(j, "areas"), "other.public_place") != NULL, name, "the county's own area");
	cJSON_Delete(j);
	put(w, name, json);
	for (size_t i = 0; i < sizeof areas / sizeof areas[0]; i++) {
		snprintf(name, sizeof name, "due_page.%s.%s", variant, areas[i]);
		ok(fic_due_page_json(&json, w->store, areas[i], NULL, 20), name);
		put(w, name, json);
	}
}

/* Paging: a page of one with a "next", and the page that cursor leads to. */
static void dump_due_pages(world *w)
{
	char *first = NULL, *second = NULL;
	ok(fic_due_page_json(&first, w->store, "medical_blood", NULL, 1), "a first page");
	cJSON *p = cJSON_Parse(first);
	const char *next = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "next"));
	if (next == NULL)
		die("a page of one of several due sites has no next cursor");
	ok(fic_due_page_json(&second, w->store, "medical_blood", next, 1), "a second page");
	cJSON_Delete(p);
	put(w, "due_page.first_of_several", first);
	put(w, "due_page.after_cursor", second);
}

/* This year's indicators (the four of 实施方案 一(三)), and a year without leads. */
static void dump_stats(world *w, const char *variant)
{
	char name[80], *json = NULL;
	snprintf(name, sizeof name, "stats.%s", variant);
	ok(fic_stats_json(&json, w->store, 0), "this year's indicators");
	cJSON *j = parsed(name, json);
	const cJSON *ind = member(j, "indicators");
	expect(cJSON_GetNumberValue(member(member(ind, "cases_assisted"), "count")) == 1 &&
	               cJSON_GetNumberValue(member(member(ind, "publicity_events"), "count")) == 1 &&
	               cJSON_GetNumberValue(member(j, "trainings")) == 1 &&
	               cJSON_GetNumberValue(member(member(ind, "information_report_rate"), "discovered")) > 0 &&
	               member(member(member(ind, "patrols"), "areas"), "other.public_place") != NULL,
	       name, "a case, a publicity event, a training, leads and the county's area counted");
	cJSON_Delete(j);
	put(w, name, json);
}

static void dump_tasks(world *w, const char *name)
{
	char *json = NULL;
	ok(fic_task_list_json(&json, w->store), "the task list");
	put_counted(w, name, json, NULL, -1);
}

/* The device's chain as the server receives it, read from the store file. */
static cJSON *chain_submissions(world *w)
{
	char *path = tu_path(w->fx->dir, "store.db");
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	if (path == NULL || sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT seq, hash, canonical FROM chain ORDER BY seq", -1, &st,
	                       NULL) != SQLITE_OK)
		die("reading the chain: %s", db ? sqlite3_errmsg(db) : "no memory");
	cJSON *a = cJSON_CreateArray();
	while (sqlite3_step(st) == SQLITE_ROW) {
		cJSON *e = cJSON_CreateObject();
		cJSON_AddNumberToObject(e, "seq", (double)sqlite3_column_int64(st, 0));
		cJSON_AddStringToObject(e, "hash", (const char *)sqlite3_column_text(st, 1));
		cJSON_AddStringToObject(e, "canonical", (const char *)sqlite3_column_text(st, 2));
		cJSON_AddItemToArray(a, e);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	free(path);
	if (cJSON_GetArraySize(a) < 4)
		die("the chain has %d entries, expected at least 4", cJSON_GetArraySize(a));
	return a;
}

/* The chain whole (verifies), then with an entry dropped and one altered (does not). */
static void dump_chain_reports(world *w)
{
	cJSON *subs = chain_submissions(w);
	char *text = cJSON_PrintUnformatted(subs), *json = NULL;
	ok(fic_chain_verify(&json, text, NULL, 1), "verifying the chain");
	put(w, "chain_report.ok", json);
	cJSON_free(text);
	cJSON_DeleteItemFromArray(subs, 1);
	cJSON *last = cJSON_GetArrayItem(subs, cJSON_GetArraySize(subs) - 1);
	cJSON_ReplaceItemInObjectCaseSensitive(last, "canonical", cJSON_CreateString("{\"x\":1}"));
	text = cJSON_PrintUnformatted(subs);
	if (fic_chain_verify(&json, text, NULL, 1) != FIC_ECORRUPT)
		die("a broken chain verified");
	put(w, "chain_report.broken", json);
	cJSON_free(text);
	cJSON_Delete(subs);
}

/* Evidence verified, then again with a photo file altered on the phone. */
static void dump_evidence_reports(world *w)
{
	char *json = NULL;
	ok(fic_evidence_verify(&json, w->store), "verifying the evidence");
	put(w, "evidence_report.ok", json);
	fic_photo *p = NULL;
	ok(fic_photo_get(&p, w->store, w->last_photo), "a photo");
	FILE *f = fopen(p->path, "ab");
	if (f == NULL || fputs("tampered", f) < 0 || fclose(f) != 0)
		die("cannot alter %s: %s", p->path, strerror(errno));
	fic_photo_free(p);
	if (fic_evidence_verify(&json, w->store) != FIC_ECORRUPT)
		die("an altered photo verified");
	put(w, "evidence_report.problems", json);
}

/* The county sends its semesters and a laboratory result, removes a site
 * and a task; a newer version of a checklist is installed. */
static void county_changes(world *w)
{
	fic_sync_report rep = FIC_SYNC_REPORT_INIT;
	ok(fic_sync_pull(w->store, &w->sync, &rep), "pulling the county's changes");
	if (rep.pulled != 4)
		die("the second pull applied %lld items, not 4", (long long)rep.pulled);
	if (fic_setting_set(w->store, "semester_starts", "2026-09-01") != FIC_ESTATE)
		die("the county's semesters were typed over");
	char *def = NULL;
	ok(fic_checklist_get_json(&def, w->store, "water.field_test", 0), "a definition");
	cJSON *d = cJSON_Parse(def);
	fic_free(def);
	cJSON_ReplaceItemInObjectCaseSensitive(d, "version", cJSON_CreateNumber(2));
	char *text = cJSON_PrintUnformatted(d);
	cJSON_Delete(d);
	ok(fic_checklist_install(w->store, text, strlen(text)), "installing a newer checklist");
	cJSON_free(text);
}

/* Every audit entry's detail, named by its action: audit_detail.<action>.<seq>. */
static void dump_audit(world *w)
{
	fic_audit_list *list = NULL;
	ok(fic_audit_list_get(&list, w->store, NULL, 0), "the audit log");
	for (size_t i = 0; i < list->count; i++) {
		const fic_audit_entry *e = &list->entries[i];
		char name[160];
		snprintf(name, sizeof name, "audit_detail.%s.%lld", e->action, (long long)e->seq);
		write_doc(w, name, e->detail);
	}
	if (list->count < 40)
		die("only %zu audit entries", list->count);
	fic_audit_list_free(list);
}

/* Each water supply's verdict, flagged first: the county's blue supply whose test failed. */
static void dump_water_status(world *w, const char *variant)
{
	char name[80], *json = NULL;
	snprintf(name, sizeof name, "water_status.%s", variant);
	ok(fic_water_status_json(&json, w->store), name);
	cJSON *j = parsed(name, json);
	const cJSON *first = cJSON_GetArrayItem(j, 0);
	expect(cJSON_GetArraySize(j) >= 4 && cJSON_IsTrue(member(first, "flagged")) &&
	               strcmp(text_at(first, "published"), "blue") == 0 &&
	               strcmp(text_at(first, "colour"), "red") == 0,
	       name, "the flagged supply first, then the others");
	cJSON_Delete(j);
	put(w, name, json);
}

/* The registers as JSON: the year's, a month of one area, a month without anything. */
static void dump_registers(world *w)
{
	char *json = NULL;
	ok(fic_register_get(&json, w->store, FIC_REGISTER_PATROLS, NULL, NULL, FIC_REGISTER_JSON),
	   "the patrol register");
	cJSON *j = parsed("register.patrols", json);
	bool unannounced = false, closed = false;
	const cJSON *r;
	cJSON_ArrayForEach(r, member(j, "rows")) {
		unannounced |= strcmp(text_at(r, "visit_mode"), "暗访") == 0;
		closed |= strcmp(text_at(r, "site_finding"), "已关闭或长期未经营") == 0;
	}
	expect(cJSON_GetArraySize(member(j, "rows")) >= 8 && unannounced && closed,
	       "register.patrols", "every finished patrol, an unannounced one, a closed site");
	cJSON_Delete(j);
	put(w, "register.patrols", json);
	ok(fic_register_get(&json, w->store, FIC_REGISTER_REPORTS, NULL, NULL, FIC_REGISTER_JSON),
	   "the report register");
	put_counted(w, "register.reports", json, "rows", -1);
	ok(fic_register_get(&json, w->store, FIC_REGISTER_PATROLS, "2026-03", "drinking_water",
	                    FIC_REGISTER_JSON),
	   "a month's drinking-water patrols");
	put_counted(w, "register.patrols_month_area", json, "rows", -1);
	ok(fic_register_get(&json, w->store, FIC_REGISTER_REPORTS, "2026-03", "foodborne",
	                    FIC_REGISTER_JSON),
	   "a month's foodborne reports");
	put_counted(w, "register.reports_month_area", json, "rows", -1);
	ok(fic_register_get(&json, w->store, FIC_REGISTER_REPORTS, "2026-01", NULL,
	                    FIC_REGISTER_JSON),
	   "a month without reports");
	put_counted(w, "register.reports_empty", json, "rows", 0);
}

/* Samples after the county's laboratory result (QG-2026-S001 passed). */
static void dump_samples_later(world *w)
{
	char *json = NULL;
	ok(fic_sample_list_json(&json, w->store, NULL), "the samples");
	cJSON *j = parsed("sample_list.after_result", json);
	const cJSON *s;
	int results = 0;
	cJSON_ArrayForEach(s, j) results += member(s, "result") != NULL;
	expect(cJSON_GetArraySize(j) == 2 && results == 2, "sample_list.after_result",
	       "both samples with their results");
	cJSON_Delete(j);
	put(w, "sample_list.after_result", json);
}

/* Tasks closed: the agency's by a note, the stall's by its re-inspection. */
static void complete_tasks(world *w)
{
	ok(fic_task_complete(w->store, "task-2026-031", NULL, "卫生室已取得执业许可，无证行医已停止"),
	   "an agency task closed by hand");
	if (fic_task_complete(w->store, "task-2026-031", NULL, "again") != FIC_ESTATE)
		die("a task was closed twice");
	reinspection(w);
	char *json = NULL;
	ok(fic_task_list_json(&json, w->store), "the tasks left");
	cJSON *j = parsed("tasks.after_done", json);
	const cJSON *t;
	cJSON_ArrayForEach(t, j) {
		expect(strcmp(text_at(t, "id"), "task-2026-031") != 0 &&
		               strcmp(text_at(t, "lead_id"), w->venue_lead) != 0,
		       "tasks.after_done", "the tasks done are no longer listed");
	}
	cJSON_Delete(j);
	put_counted(w, "tasks.after_done", json, NULL, 2);
}

/* A lead by its id, as lead.<variant>. */
static void dump_lead(world *w, const char *variant, const char *id)
{
	char name[120], *json = NULL;
	snprintf(name, sizeof name, "lead.%s", variant);
	ok(fic_lead_get_json(&json, w->store, id), name);
	put(w, name, json);
}
/* ---- the day, then the documents ---- */

static void patrols(world *w)
{
	water_inspection(w);
	blood_inspection(w);
	scans_of_other_forms(w);
	clean_inspection(w);
	rural_inspection(w);
	flagged_inspection(w);
	closed_site_inspection(w);
	county_area_inspection(w);
	venue_inspection(w);
	open_mch_inspection(w);
}

static void build(world *w)
{
	older_store(w);
	county_init(w);
	plans_before_the_county(w);
	settings(w);
	add_field_sites(w);
	add_health_sites(w);
	add_venues(w);
	site_codes(w);
	first_tip_off(w);
	uuid early; /* before the first server contact: the time's uncertainty is unknown */
	scan(w, "scan.before_contact", "https://cq.example/p/000000000001", NULL, early);
	advance(w, 30 * MINUTE_MS);
	enrol_and_pull(w);
	change_county_site(w);
	patrols(w);
	file_leads(w);
	activities(w);
	samples(w);
	notices(w);
	advance(w, 5 * MINUTE_MS);
	push(w);
	later_leads(w);
	sms(w);
	advance(w, 10 * MINUTE_MS);
}

/* Whether a lead's JSON says its first call was made by its deadline. */
static void expect_called(world *w, const char *id, bool by_deadline, const char *name)
{
	char *json = NULL;
	ok(fic_lead_get_json(&json, w->store, id), name);
	cJSON *j = parsed(name, json);
	expect(cJSON_GetArraySize(member(j, "calls")) >= 1 &&
	               cJSON_IsTrue(member(j, "called_by_deadline")) == by_deadline,
	       name, by_deadline ? "called by its deadline" : "called after its deadline");
	cJSON_Delete(j);
	put(w, name, json);
}

static void dump_day(world *w)
{
	dump_sites(w);
	dump_checklist(w, "checklist.water_field_test", "water.field_test");
	dump_checklist(w, "checklist.event_school_cluster", "event.school_cluster");
	dump_checklist(w, "checklist.county_public_place", "county.qg.public_place");
	for (int i = 0; i < 8; i++) {
		char name[80];
		snprintf(name, sizeof name, "inspection_summary.%s", summary_names[i]);
		put(w, name, w->summaries[i]);
		w->summaries[i] = NULL;
	}
	dump_inspection(w, "finding", w->water_insp, true);
	dump_inspection(w, "urgent", w->blood_insp, true);
	dump_inspection(w, "clean", w->clean_insp, true);
	dump_inspection(w, "licence_differs", w->rural_insp, true);
	dump_inspection(w, "published_blue_but_failing", w->flagged_insp, true);
	dump_inspection(w, "closed_site", w->closed_insp, true);
	dump_inspection(w, "county_area", w->county_insp, true);
	dump_inspection(w, "time_sensitive", w->venue_insp, true);
	dump_inspection(w, "open", w->mch_insp, false);
	dump_leads(w, "");
	expect_called(w, w->foodborne, true, "lead.called_by_deadline.urgent");
	dump_tasks(w, "tasks.day");
	dump_due(w, "semester");
	dump_due_pages(w);
	dump_stats(w, "this_year");
	char *json = NULL;
	ok(fic_stats_json(&json, w->store, 2025), "last year's indicators");
	put(w, "stats.no_leads", json);
	dump_water_status(w, "day");
	dump_chain_reports(w);
}

/* Weeks later: the semester's first month over, tasks and an urgent lead
 * overdue, that lead phoned in late, tasks closed (a re-inspection finds
 * the street "doctor" again: report immediately); then no current
 * semester; the county's changes and laboratory result; the registers; last,
 * the audit log and the evidence with a photo altered. */
static void dump_later(world *w)
{
	advance(w, 24 * DAY_MS);
	dump_due(w, "semester_over");
	dump_tasks(w, "tasks.overdue");
	dump_lead(w, "overdue.urgent", w->late_urgent);
	ok(fic_lead_call_record(w->store, w->late_urgent, "phone", 0, "区疾控中心值班室 李医生", NULL),
	   "a late call");
	expect_called(w, w->late_urgent, false, "lead.called_late.urgent");
	complete_tasks(w);
	dump_inspection(w, "immediate", w->reinsp, true);
	dump_lead(w, "immediate.urgent", w->immediate);
	ok(fic_setting_set(w->store, "semester_starts", "2026-09-01"), "a semester to come");
	dump_due(w, "no_semester");
	county_changes(w);
	dump_samples_later(w);
	dump_water_status(w, "later");
	dump_registers(w);
	dump_stats(w, "later");
	dump_audit(w);
	dump_evidence_reports(w);
}

int main(int argc, char **argv)
{
	if (argc != 2)
		die("usage: api_json_dump DIR");
	if (mkdir(argv[1], 0777) != 0 && errno != EEXIST)
		die("cannot make %s: %s", argv[1], strerror(errno));
	world w;
	memset(&w, 0, sizeof w);
	w.out = argv[1];
	if ((w.fx = tu_fixture_new(ACTOR)) == NULL)
		die("cannot make a store");
	w.store = w.fx->store;
	build(&w);
	dump_day(&w);
	dump_later(&w);
	tu_fixture_free(w.fx);
	printf("api_json_dump: %d documents in %s\n", w.written, w.out);
	return 0;
}
