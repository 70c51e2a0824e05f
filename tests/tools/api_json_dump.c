/*
 * tests/tools/api_json_dump.c — every JSON document the public API returns,
 * written to files so that scripts/check-api-json.sh can validate each
 * against its JSON Schema in schema/api/ (docs/api.md, "JSON documents").
 *
 * It builds a realistic store through the public API on the tests' fake
 * clock: sites of every kind (found in the field and from the county's
 * registry, one changed, one closed), patrols with answers, notes, photos and
 * findings (urgent and not; one left open with a site finding), event reports
 * and tip-offs, a correction and a draft, tasks from a lead and from the
 * agency, and settings. A fake county server behind the transport seam
 * (sys/transport.h) enrols the device, hands down a registry and tasks, and
 * answers the upload (one lead refused), so leads reach every state. Then it
 * calls every function that answers in JSON and writes each document as
 * DIR/<name>.json, or DIR/<name>.<variant>.json where the shape varies
 * (urgent or not, a semester or none, a report with problems…): <name> is
 * the schema's (schema/api/<name>.schema.json; "checklist" is
 * schema/checklist.schema.json).
 *
 * Usage: api_json_dump DIR     (DIR is created if missing)
 * Exit status 0 when every call succeeded (and every verification that
 * should fail failed), 1 otherwise, with the reason on stderr.
 */
#include "testutil.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MINUTE_MS (60 * 1000LL)
#define DAY_MS (24 * 60 * MINUTE_MS)

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

/* The county's registry: a secondary-supply plant and a village clinic. */
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
	d = feed_item(items, "cq-500240-med-0002", server_now(c) - DAY_MS);
	cJSON_AddStringToObject(d, "kind", "medical");
	cJSON_AddStringToObject(d, "name", "黄水镇金竹村卫生室");
	cJSON_AddStringToObject(d, "med_registration", "licensed");
	cJSON_AddStringToObject(d, "institution_type", "village_clinic");
	cJSON_AddNumberToObject(d, "beds", 0);
	cJSON_AddStringToObject(d, "licence_no", "PDY00001-500240");
	cJSON_AddStringToObject(d, "licence_valid_to", "2027-06-30");
	cJSON_AddStringToObject(d, "status", "active");
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

/* A feed's items from the start (no cursor), then the county's removals
 * after cursor c1 (the village clinic and the task about the unknown site),
 * then nothing after c2. Every answer is the feed's last page. */
static cJSON *feed_answer(const county *c, const char *url)
{
	cJSON *o = cJSON_CreateObject(), *items = cJSON_AddArrayToObject(o, "items");
	bool sites = strstr(url, "/feeds/sites") != NULL, tasks = strstr(url, "/feeds/tasks") != NULL;
	const char *cursor = strstr(url, "cursor=");
	if (cursor == NULL && sites)
		sites_feed(c, items);
	else if (cursor == NULL && tasks)
		tasks_feed(c, items);
	else if (cursor && strcmp(cursor, "cursor=c1") == 0 && sites)
		feed_delete(items, "cq-500240-med-0002");
	else if (cursor && strcmp(cursor, "cursor=c1") == 0 && tasks)
		feed_delete(items, "task-2026-032");
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

typedef struct world {
	tu_fixture *fx;
	fic_store *store;
	const char *out;
	county county;
	fic_sync_options sync;
	int written;
	/* sites */
	char plant[FIC_UUID_BUFSIZE], school[FIC_UUID_BUFSIZE], kindergarten[FIC_UUID_BUFSIZE],
		hospital[FIC_UUID_BUFSIZE], mine[FIC_UUID_BUFSIZE], pharmacy[FIC_UUID_BUFSIZE],
		mch[FIC_UUID_BUFSIZE], blood[FIC_UUID_BUFSIZE];
	/* inspections */
	char water_insp[FIC_UUID_BUFSIZE], blood_insp[FIC_UUID_BUFSIZE], mch_insp[FIC_UUID_BUFSIZE];
	/* leads */
	char tip_off[FIC_UUID_BUFSIZE], foodborne[FIC_UUID_BUFSIZE], cluster[FIC_UUID_BUFSIZE],
		status_form[FIC_UUID_BUFSIZE], draft[FIC_UUID_BUFSIZE], correction[FIC_UUID_BUFSIZE],
		late_urgent[FIC_UUID_BUFSIZE];
	char last_photo[FIC_UUID_BUFSIZE];
	char clean_insp[FIC_UUID_BUFSIZE];
} world;

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
	add_site(w, w->school, &s, NULL);

	s = (fic_site)FIC_SITE_INIT;
	s.kind = FIC_SITE_SCHOOL;
	s.name = "青杠镇中心幼儿园";
	s.school_level = FIC_SCHOOL_KINDERGARTEN;
	s.boarding = 0;
	add_site(w, w->kindergarten, &s, NULL);
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

	s = (fic_site)FIC_SITE_INIT;
	s.kind = FIC_SITE_OTHER_VENUE;
	s.name = "青杠镇百姓大药房";
	s.venue_type = FIC_VENUE_PHARMACY;
	add_site(w, w->pharmacy, &s, NULL);
	ok(fic_site_close(w->store, w->pharmacy, "现场核实已停业，门店转让"), "closing a site");
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

static void enrol_and_pull(world *w)
{
	ok(fic_sync_enroll(w->store, &w->sync, "ABC-123-XYZ", "青杠镇协管员的手机"), "enrolment");
	fic_sync_report rep = FIC_SYNC_REPORT_INIT;
	ok(fic_sync_pull(w->store, &w->sync, &rep), "pulling the county's feeds");
	if (rep.pulled != 4)
		die("the pull applied %lld items, not 4", (long long)rep.pulled);
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

/* A field test of the school's water: pH too high, photographed and noted. */
static void water_inspection(world *w, char **summary)
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
	ok(fic_inspection_finish(summary, w->store, w->water_insp), "finishing the water test");
}

/* The blood station: collecting beyond its scope (two-hour rule) and an expired licence. */
static void blood_inspection(world *w, char **summary)
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
	ok(fic_inspection_finish(summary, w->store, w->blood_insp), "finishing the blood station");
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

/* Before the first server contact: a time-sensitive tip-off (the server will refuse it). */
static void first_tip_off(world *w)
{
	file(w, w->tip_off, "lead.tip_off", tip_off_answers(true), NULL, 0, 0);
	snprintf(w->county.refuse_id, sizeof w->county.refuse_id, "%s", w->tip_off);
}

static void file_leads(world *w)
{
	int64_t now = w->fx->clock.wall_ms;
	file(w, w->foodborne, "event.foodborne", foodborne_answers(), NULL, now - 40 * MINUTE_MS, 0);
	file(w, w->cluster, "event.school_cluster", cluster_answers(), w->school, 0, 0);
	/* A site-status report goes with its proof photo: a draft, the photo, then submitted. */
	file(w, w->status_form, "lead.site_status", site_status_answers(), "cq-500240-med-0002", 0,
	     FIC_LEAD_DRAFT);
	add_photo(w, FIC_PHOTO_LEAD, w->status_form, NULL);
	ok(fic_lead_submit(w->store, w->status_form), "submitting the site-status report");
}

/* After the upload: a draft with a photo, a correction and an urgent lead still queued. */
static void later_leads(world *w)
{
	file(w, w->draft, "lead.tip_off", tip_off_answers(false), NULL, 0, FIC_LEAD_DRAFT);
	add_photo(w, FIC_PHOTO_LEAD, w->draft, NULL);
	ok(fic_lead_correct(w->correction, w->store, w->foodborne, "发病人数更正为 16 人"),
	   "a correction");
	file(w, w->late_urgent, "event.foodborne", foodborne_answers(), NULL, 0, 0);
}

static void push(world *w)
{
	fic_sync_report rep = FIC_SYNC_REPORT_INIT;
	ok(fic_sync_push(w->store, &w->sync, &rep), "the upload");
	if (rep.rejected != 1)
		die("the upload had %lld records refused, not 1", (long long)rep.rejected);
}

/* A field test at the rural plant with nothing wrong: no findings, no leads. */
static void clean_inspection(world *w, char **summary)
{
	static const char *const answers[] = { "sample_point", "outlet", "disinfectant",
		                               "chlorine_dioxide", "residual", "0.3",
		                               "colour_or_matter", "no", "odour", "no", "ph", "7.2",
		                               NULL };
	ok(fic_inspection_start(w->clean_insp, w->store, w->plant, "water.field_test"), "start");
	answer_all(w, w->clean_insp, answers); /* "supply" was prefilled from the site */
	advance(w, 10 * MINUTE_MS);
	ok(fic_inspection_finish(summary, w->store, w->clean_insp), "finishing a clean test");
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
static void dump_leads(world *w, const char *tag)
{
	fic_lead_list *list = NULL;
	ok(fic_lead_list_get(&list, w->store, 0), "the lead list");
	for (size_t i = 0; i < list->count; i++) {
		const fic_lead_info *e = &list->entries[i];
		char name[160], *json = NULL;
		snprintf(name, sizeof name, "lead.%s%s.%s%s.%zu", tag, e->category, e->state,
		         e->urgent ? ".urgent" : "", i + 1);
		ok(fic_lead_get_json(&json, w->store, e->id), name);
		put(w, name, json);
	}
	if (list->count < 10)
		die("only %zu leads", list->count);
	fic_lead_list_free(list);
}

/* The due list whole, its summary, and a first page of every area. */
static void dump_due(world *w, const char *variant)
{
	static const char *const areas[] = { "drinking_water", "school", "medical_blood", "mch",
		                             "occupational", "school_semester" };
	char name[120], *json = NULL;
	snprintf(name, sizeof name, "due.%s", variant);
	ok(fic_due_json(&json, w->store), name);
	put(w, name, json);
	snprintf(name, sizeof name, "due_summary.%s", variant);
	ok(fic_due_summary_json(&json, w->store), name);
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

static void dump_stats(world *w)
{
	char *json = NULL;
	ok(fic_stats_json(&json, w->store, 0), "this year's indicators");
	put(w, "stats.this_year", json);
	ok(fic_stats_json(&json, w->store, 2025), "last year's indicators");
	put(w, "stats.no_leads", json);
}

static void dump_tasks(world *w, const char *name)
{
	char *json = NULL;
	ok(fic_task_list_json(&json, w->store), "the task list");
	put(w, name, json);
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

/* The county removes a site and a task; a newer version of a checklist is installed. */
static void county_changes(world *w)
{
	fic_sync_report rep = FIC_SYNC_REPORT_INIT;
	ok(fic_sync_pull(w->store, &w->sync, &rep), "pulling the county's removals");
	if (rep.pulled != 2)
		die("the second pull applied %lld items, not 2", (long long)rep.pulled);
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

/* ---- the day, then the documents ---- */

static void build(world *w, char *summaries[3])
{
	county_init(w);
	settings(w);
	add_field_sites(w);
	add_health_sites(w);
	first_tip_off(w);
	advance(w, 30 * MINUTE_MS);
	enrol_and_pull(w);
	change_county_site(w);
	water_inspection(w, &summaries[0]);
	blood_inspection(w, &summaries[1]);
	clean_inspection(w, &summaries[2]);
	open_mch_inspection(w);
	file_leads(w);
	advance(w, 5 * MINUTE_MS);
	push(w);
	later_leads(w);
	advance(w, 10 * MINUTE_MS);
}

static void dump_day(world *w, char *summaries[3])
{
	dump_sites(w);
	dump_checklist(w, "checklist.water_field_test", "water.field_test");
	dump_checklist(w, "checklist.event_school_cluster", "event.school_cluster");
	put(w, "inspection_summary.finding", summaries[0]);
	put(w, "inspection_summary.urgent", summaries[1]);
	put(w, "inspection_summary.clean", summaries[2]);
	dump_inspection(w, "finding", w->water_insp, true);
	dump_inspection(w, "urgent", w->blood_insp, true);
	dump_inspection(w, "clean", w->clean_insp, true);
	dump_inspection(w, "open", w->mch_insp, false);
	dump_leads(w, "");
	dump_tasks(w, "tasks.day");
	dump_due(w, "semester");
	dump_due_pages(w);
	dump_stats(w);
	dump_chain_reports(w);
}

/* Weeks later: the semester's first month over, tasks and an urgent lead overdue;
 * then no current semester; last, the evidence with a photo altered. */
static void dump_later(world *w)
{
	advance(w, 24 * DAY_MS);
	dump_due(w, "semester_over");
	dump_tasks(w, "tasks.overdue");
	char *json = NULL;
	ok(fic_lead_get_json(&json, w->store, w->late_urgent), "an overdue urgent lead");
	put(w, "lead.overdue.urgent", json);
	ok(fic_setting_set(w->store, "semester_starts", "2026-09-01"), "a semester to come");
	dump_due(w, "no_semester");
	county_changes(w);
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
	if ((w.fx = tu_fixture_new("协管员-0042")) == NULL)
		die("cannot make a store");
	w.store = w.fx->store;
	char *summaries[3] = { NULL, NULL, NULL };
	build(&w, summaries);
	dump_day(&w, summaries);
	dump_later(&w);
	tu_fixture_free(w.fx);
	printf("api_json_dump: %d documents in %s\n", w.written, w.out);
	return 0;
}
