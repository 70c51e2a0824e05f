/*
 * bench/sms_bench.c — how big an urgent lead is as SMS (issue #15): bytes and
 * SMS parts for each of the seven two-hour event forms, filed through the
 * public API on a real store and made into SMS by fic_lead_sms() exactly as
 * the app gets them, against DHIS2's published sizes for its compressed SMS
 * (69 bytes for an event of 3 values, 129 bytes for 10 values; DHIS2 keeps
 * 8 bits of each character, so it cannot carry Chinese at all).
 *
 * For each form: a typical filing (realistic numbers, choices, a short
 * place) with a description of 30 characters, then 70 (the most an SMS
 * carries whole), then 30 and 70 characters drawn at random from the 20 902
 * CJK ideographs of the BMP — text the dictionary cannot help with, the
 * worst case. Columns: the values the SMS carries; the binary body; the body
 * raw-deflated without and with the preset dictionary; the frame (key hint,
 * lead id, compressed body, MAC: what the digits spell); the SMS parts. Then
 * the lead's JSON record as the data upload sends it, zlib'd without and
 * with the same dictionary (the anchor of MEASURED.md: a 1.5 KB lead, 924
 * bytes plain, 399 with a dictionary). Sizes are deterministic: no timing.
 *
 * The descriptions were written for this bench (by the author of the
 * format, so read the random rows too); the dictionary was made from the
 * checklists alone (tools/sms/gen_sms_format.py), not from these texts.
 *
 * Usage: sms_bench [--quick]   (--quick: the table only; the full run adds,
 * per form, the longest description that still fits one SMS)
 */
#include <fieldinspect/fieldinspect.h>

#include "internal.h"
#include "sms_codec.h"
#include "sync_internal.h"

#include <cjson/cJSON.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

/* DHIS2 SMS compression, published sizes (docs.dhis2.org, "SMS compression"). */
#define DHIS2_3_VALUES 69
#define DHIS2_10_VALUES 129

typedef struct event {
	const char *form;
	const char *desc_item; /* the item the description is answered in */
	const char *answers;   /* the rest of a typical filing */
	const char *story;     /* 70 characters and more of a typical description */
} event;

static const event events[] = {
	{ "event.foodborne", "symptoms_detail",
	  "{\"onset_date\":\"2026-03-01\",\"onset_time\":\"13:30\",\"meal_place\":\"镇中心饭店\","
	  "\"meal_unit\":\"李家婚宴\",\"contact_phone\":\"13800000000\",\"exposed\":120,\"ill\":14,"
	  "\"dead\":0,\"suspected_food\":\"凉拌菜\",\"symptoms\":[\"nausea\",\"vomiting\",\"diarrhoea\"],"
	  "\"measures_taken\":\"已送镇卫生院\",\"verified\":\"yes\",\"report_source\":\"primary_care\","
	  "\"diagnosis\":[\"food_poisoning\"]}",
	  "中午婚宴后多人呕吐腹泻，已送镇卫生院治疗，可疑为凉拌菜等冷菜。同桌就餐的还有二十余人暂无症状，"
	  "饭店已停业配合调查，剩余食品已封存待检" },
	{ "event.water_poisoning", "description",
	  "{\"place\":\"石桥村集中供水站\",\"poisoned\":7,\"treatment\":\"送县人民医院\","
	  "\"onset_date\":\"2026-03-01\",\"verified\":\"yes\"}",
	  "昨晚停电后恢复供水，多名村民饮用后腹痛呕吐，自来水有异味。涉及三组、四组约六十户，"
	  "村委会已通知停止饮用，水厂管理员称消毒设备故障两天" },
	{ "event.school_cluster", "description",
	  "{\"unit_type\":\"class\",\"unit_name\":\"三年级二班\",\"first_date\":\"2026-02-27\","
	  "\"daily_cases\":[1,2,3],\"symptoms\":[\"unexplained_fever\",\"rash\"],"
	  "\"similar_symptoms\":\"yes\",\"shared_meal_or_water\":\"no\",\"verified\":\"yes\"}",
	  "三年级二班连续三天有学生发热，部分伴有皮疹，学校已通知家长。今天新增五例，症状相似，"
	  "有共同就餐史，校医已隔离观察，食堂留样已封存待检" },
	{ "event.blood_beyond_scope", "description",
	  "{\"activity\":\"超范围采集血浆\",\"place\":\"县单采血浆站\",\"date\":\"2026-03-01\","
	  "\"approved_scope\":\"单采血浆\",\"verified\":\"yes\"}",
	  "单采血浆站在许可范围外采集血浆，供血者未做健康检查就采血。现场有二十余名供血者排队，"
	  "部分为外地人员，站内负责人不配合检查，要求尽快处理" },
	{ "event.two_non", "description",
	  "{\"kind\":\"sex_determination\",\"place\":\"镇东街出租屋\",\"provider\":\"某诊所\","
	  "\"informant_name\":\"王秀英\",\"informant_phone\":\"13912345678\",\"verified\":\"yes\"}",
	  "某诊所私下用B超为孕妇鉴定胎儿性别，收费两千元，有中介介绍。据反映每周二、四晚上在镇东街"
	  "出租屋内活动，已有多名孕妇前往，建议夜间前往核查" },
	{ "event.assisted_reproduction", "description",
	  "{\"kind\":[\"surrogacy\",\"egg_trade\"],\"place\":\"城南小区\",\"informant_name\":\"李某\","
	  "\"verified\":\"yes\"}",
	  "小区内有中介招募代孕妈妈，涉及买卖卵子，地点在三楼出租屋内。中介在网上发布广告，"
	  "称可提供试管婴儿及性别选择服务，已有多人上门咨询，需尽快查处" },
	{ "event.occupational_emergency", "description",
	  "{\"place\":\"石材加工厂\",\"date\":\"2026-03-01\",\"affected\":2,\"hazard\":\"粉尘\","
	  "\"verified\":\"yes\"}",
	  "石材加工厂车间粉尘很大，两名工人出现咳嗽胸闷，已送县医院救治。车间通风设施损坏，"
	  "工人未佩戴防尘口罩，企业负责人称已停工，建议尽快到场调查处理" },
};
#define NEVENTS (sizeof events / sizeof events[0])

_Noreturn static void die(const char *what)
{
	const fic_error *e = fic_error_last();
	fprintf(stderr, "sms_bench: %s: %s (%s)\n", what, e->message, fic_result_str(e->code));
	exit(1);
}

/* The first `chars` characters of UTF-8 `s`, malloc'd. */
static char *first_chars(const char *s, size_t chars)
{
	size_t i = 0, n = 0;
	while (s[i] && n < chars) {
		unsigned char c = (unsigned char)s[i];
		i += c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
		n++;
	}
	char *o = malloc(i + 1);
	memcpy(o, s, i);
	o[i] = '\0';
	return o;
}

static uint64_t rng = 0x5eed;

/* `chars` ideographs drawn from U+4E00..U+9FA5. */
static char *random_hanzi(size_t chars)
{
	char *o = malloc(chars * 3 + 1);
	for (size_t i = 0; i < chars; i++) {
		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		unsigned cp = 0x4E00 + (unsigned)(rng % 20902);
		o[3 * i] = (char)(0xE0 | (cp >> 12));
		o[3 * i + 1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		o[3 * i + 2] = (char)(0x80 | (cp & 0x3F));
	}
	o[chars * 3] = '\0';
	return o;
}

static size_t zlib_size(const void *data, size_t len, const unsigned char *dict, size_t dlen)
{
	z_stream z;
	memset(&z, 0, sizeof z);
	if (deflateInit2(&z, 9, Z_DEFLATED, 15, 9, Z_DEFAULT_STRATEGY) != Z_OK ||
	    (dict && deflateSetDictionary(&z, dict, (uInt)dlen) != Z_OK))
		die("zlib");
	uLong cap = deflateBound(&z, (uLong)len);
	unsigned char *out = malloc(cap);
	z.next_in = (Bytef *)(uintptr_t)data;
	z.avail_in = (uInt)len;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END)
		die("zlib");
	size_t n = z.total_out;
	deflateEnd(&z);
	free(out);
	return n;
}

typedef struct figures {
	int values;
	size_t body, plain, dict, frame, chars, parts;
	size_t json, json_plain, json_dict;
} figures;

typedef struct bench {
	char *dir;
	fic_store *store;
	char school[FIC_UUID_BUFSIZE];
	uint8_t key[FIC_SMS_KEY_BYTES];
} bench;

/* File the lead, make its SMS as the app would, and measure it. */
static figures measure(bench *b, const event *e, const char *description)
{
	figures f;
	memset(&f, 0, sizeof f);
	cJSON *a = cJSON_Parse(e->answers);
	if (a == NULL)
		die("answers");
	cJSON_AddStringToObject(a, e->desc_item, description);
	char *answers = cJSON_PrintUnformatted(a);
	cJSON_Delete(a);
	char id[FIC_UUID_BUFSIZE];
	bool school = strcmp(e->form, "event.school_cluster") == 0;
	if (fic_lead_file(id, b->store, e->form, answers, school ? b->school : NULL, 0, 0) != FIC_OK)
		die(e->form);
	cJSON_free(answers);
	fic_sms *m;
	if (fic_lead_sms(&m, b->store, id) != FIC_OK)
		die("fic_lead_sms");
	f.parts = m->count;
	f.frame = m->frame_bytes;
	for (size_t i = 0; i < m->count; i++)
		f.chars += strlen(m->parts[i]);
	/* What the county reads back, and its body compressed three ways. */
	uint8_t *frame, *body, *z;
	size_t flen, blen, zlen;
	fic__sms_lead l;
	if (fic__sms_join(m->parts, m->count, &frame, &flen) != FIC_OK ||
	    fic__sms_open(frame, flen, b->key, &l) != FIC_OK || fic__sms_body_of(&l, &body, &blen) != FIC_OK)
		die("decoding");
	f.values = cJSON_GetArraySize(l.answers) + (l.place != NULL) + (l.description != NULL) +
	           (l.site_id[0] != 0) + 1 /* discovery time */;
	f.body = blen;
	if (fic__sms_deflate(body, blen, false, &z, &zlen) != FIC_OK)
		die("deflate");
	f.plain = zlen;
	fic__free(z);
	if (fic__sms_deflate(body, blen, true, &z, &zlen) != FIC_OK)
		die("deflate");
	f.dict = zlen;
	fic__free(z);
	fic__free(body);
	fic__free(frame);
	fic__sms_lead_clear(&l);
	fic_sms_free(m);
	/* The same lead as the data upload carries it: its canonical JSON. */
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(b->store->db, "SELECT json_extract(payload, '$.canonical') FROM outbox "
	                                     "WHERE record_id = ?1", -1, &st, NULL) != SQLITE_OK)
		die("outbox");
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		const char *canon = (const char *)sqlite3_column_text(st, 0);
		size_t dlen;
		const unsigned char *dict = fic__sms_dictionary(&dlen);
		f.json = strlen(canon);
		f.json_plain = zlib_size(canon, f.json, NULL, 0);
		f.json_dict = zlib_size(canon, f.json, dict, dlen);
	}
	sqlite3_finalize(st);
	return f;
}

static void row(const char *form, const char *what, const figures *f)
{
	printf("| %-28s | %-11s | %6d | %4zu | %4zu | %4zu | %5zu | %5zu | %3zu |\n", form, what,
	       f->values, f->body, f->plain, f->dict, f->frame, f->chars, f->parts);
}

int main(int argc, char **argv)
{
	bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
	if (argc > 2 || (argc == 2 && !quick)) {
		fprintf(stderr, "usage: sms_bench [--quick]\n");
		return 2;
	}
	bench b;
	memset(&b, 0, sizeof b);
	char tmpl[] = "/tmp/sms_bench.XXXXXX";
	const char *tmp = getenv("TMPDIR");
	char path[512];
	if ((b.dir = mkdtemp(tmp ? strcat(strcpy(path, tmp), "/sms_bench.XXXXXX") : tmpl)) == NULL) {
		perror("sms_bench: mkdtemp");
		return 1;
	}
	char db[600];
	snprintf(db, sizeof db, "%s/store.db", b.dir);
	fic_store_options o = FIC_STORE_OPTIONS_INIT;
	if (fic_store_open(&b.store, db, &o) != FIC_OK)
		die("store");
	if (sodium_init() < 0)
		die("sodium");
	randombytes_buf(b.key, sizeof b.key);
	char key64[64];
	sodium_bin2base64(key64, sizeof key64, b.key, sizeof b.key, sodium_base64_VARIANT_ORIGINAL);
	/* A county key pinned as enrolment pins it: the foodborne report's diners'
	 * phone is sealed at submission (the SMS never carries it). */
	unsigned char county_pk[32], county_sk[32];
	crypto_box_keypair(county_pk, county_sk);
	sodium_memzero(county_sk, sizeof county_sk);
	char county_text[FIC_COUNTY_KEY_TEXT], county_id[FIC_KEY_ID_BUFSIZE];
	fic__county_key_text(county_pk, county_text);
	fic__county_key_id(county_pk, county_id);
	if (fic__exec(b.store, "INSERT INTO county_key (slot, key_id, public_key, county, "
	                       "pinned_at_ms) VALUES (1, ?1, ?2, '石柱县', 0)",
	              "pinning the bench county's key", "tt", county_id, county_text) != FIC_OK)
		die("county key");
	fic_time now = FIC_TIME_INIT;
	fic_time_now(&now, b.store);
	if (fic__secret_put(b.store, FIC_SECRET_SMS_KEY, key64) != FIC_OK ||
	    fic_time_contact(b.store, now.device_ms, 300) != FIC_OK ||
	    fic_setting_set(b.store, "sms_gateway_number", "10655000123") != FIC_OK)
		die("setup");
	/* The school of the cluster report is in the county's registry, under the
	 * county's own id, as the registry feed delivers it. */
	cJSON *site = cJSON_CreateObject();
	cJSON_AddStringToObject(site, "kind", "school");
	cJSON_AddStringToObject(site, "name", "青杠镇中心小学");
	cJSON_AddNumberToObject(site, "lat", 29.50123);
	cJSON_AddNumberToObject(site, "lon", 106.50456);
	cJSON_AddStringToObject(site, "status", "active");
	snprintf(b.school, sizeof b.school, "500240-SCH-0012");
	bool skipped;
	if (fic__tx_begin(b.store) != FIC_OK ||
	    fic__site_apply_feed(b.store, b.school, false, site, 0, &skipped) != FIC_OK ||
	    fic__tx_commit(b.store) != FIC_OK)
		die("site");
	cJSON_Delete(site);

	printf("sms_bench: an urgent lead as SMS, format %d (GSM 7-bit text, 80-character "
	       "alphabet: 157 digits = 124 bytes in one SMS, 153 a part)\n\n", FIC_SMS_FORMAT);
	printf("| form                         | description | values | body | zlib | dict | frame | chars | SMS |\n");
	printf("|------------------------------|-------------|-------:|-----:|-----:|-----:|------:|------:|----:|\n");
	figures typ[NEVENTS], typ70[NEVENTS];
	int misses = 0;
	for (size_t i = 0; i < NEVENTS; i++) {
		const event *e = &events[i];
		char *d30 = first_chars(e->story, 30), *d70 = first_chars(e->story, 70);
		char *r30 = random_hanzi(30), *r70 = random_hanzi(70);
		typ[i] = measure(&b, e, d30);
		typ70[i] = measure(&b, e, d70);
		figures f30r = measure(&b, e, r30), f70r = measure(&b, e, r70);
		row(e->form, "typical 30", &typ[i]);
		row("", "typical 70", &typ70[i]);
		row("", "random 30", &f30r);
		row("", "random 70", &f70r);
		misses += typ[i].parts > 1;
		misses += typ70[i].parts > 2;
		free(d30);
		free(d70);
		free(r30);
		free(r70);
	}
	printf("\nDHIS2's compressed SMS, published: %d bytes for an event of 3 values, %d for 10 values "
	       "(Latin text only).\n", DHIS2_3_VALUES, DHIS2_10_VALUES);
	printf("\nThe same leads as the data upload's JSON record (typical 30): bytes, zlib, zlib with "
	       "the SMS dictionary\n");
	for (size_t i = 0; i < NEVENTS; i++)
		printf("  %-28s %5zu %5zu %5zu\n", events[i].form, typ[i].json, typ[i].json_plain,
		       typ[i].json_dict);
	if (!quick) {
		printf("\nThe longest description that still fits one SMS (typical text, then random "
		       "ideographs):\n");
		for (size_t i = 0; i < NEVENTS; i++) {
			size_t fit[2] = { 0, 0 };
			for (int r = 0; r < 2; r++) {
				char *all = r ? random_hanzi(70) : first_chars(events[i].story, 70);
				for (size_t n = 1; n <= 70; n++) {
					char *d = first_chars(all, n);
					figures f = measure(&b, &events[i], d);
					free(d);
					if (f.parts > 1)
						break;
					fit[r] = n;
				}
				free(all);
			}
			printf("  %-28s %2zu characters, %2zu random\n", events[i].form, fit[0], fit[1]);
		}
	}
	printf("\nverdict: %s (targets: one SMS with a typical 30-character description, "
	       "at most two with 70; %d missed)\n", misses ? "MISSED" : "met", misses);
	fic_store_close(b.store);
	char cmd[700];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", b.dir);
	if (system(cmd) != 0)
		fprintf(stderr, "sms_bench: could not remove %s\n", b.dir);
	return 0;
}
