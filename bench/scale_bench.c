/*
 * bench/scale_bench.c — every daily operation at 1 000, 10 000 and 100 000
 * sites with a year of history (issue #9), in one run.
 *
 * What it measures. An inspector's phone holds the county's registry and a
 * year of work: 20 000 leads, ~6 000 finished patrols, the audit log and a
 * year's outbox (most of it acknowledged). The operations of a working day —
 * opening the store, searching the registry by name, "near me", finding a
 * site by its credit code or the QR place code at the door, the lead list,
 * the status line, the due summary and its first page, filing a lead — must
 * each stay interactive (target: ≤ 50 ms at 100 000 sites) and must not grow
 * with the registry (target: at most 2× from 1 000 to 100 000 sites). And
 * pulling a county registry must not slow down with the device's history
 * (target: a 5 000-site feed on a device holding 10 000 acknowledged records
 * ≤ 2× the same feed on a fresh device).
 *
 * How. The fixtures are built fast (direct SQL, one transaction per store,
 * on a store the library created and migrated, so every trigger of the
 * schema runs); everything measured goes through the public API, except the
 * feed, which is applied as sync/pull.c applies it: page by page (200 items),
 * each page one transaction with fic__site_apply_feed() per item and the
 * cursor, committed durably. Runs are interleaved — each repetition runs each
 * operation at every size in turn (rotating which size goes first), and the
 * feed alternates fresh/acked device copy by copy — so the disk's fsync
 * regimes (this machine's flip between ~0.3 ms and ~4 ms) and the other
 * tenants' load hit every size alike. Each call is timed by the wall clock
 * and by the thread's CPU clock (the work is single-threaded; CPU time leaves
 * out fsync waits and other tenants). Growth and the feed ratio are the
 * median of per-pair ratios of CPU time, with their spread; a verdict is
 * PASS when the median and the upper quartile meet the target, FAIL when the
 * median and the lower quartile miss it, and otherwise says the spread is too
 * wide to conclude. Growth is judged only where the answer is the same size
 * at both ends (the rows column): a village's name matches more sites in a
 * bigger registry, and returning more rows is not the index's fault.
 *
 * Usage: scale_bench [--quick] [--reps N] [--feed-reps N] [--sizes A,B,C]
 *                    [--dir PARENT] [--keep]
 *   --quick   small stores and few repetitions (seconds; what ctest runs):
 *             the verdicts then speak of those sizes, not the targets'.
 *   --keep    keep the fixture stores (to run `fic` against them) and print
 *             where they are.
 * Built with -DSCALE_BENCH_BEFORE it measures the API of the commit before
 * issue #9's work (no due summary or pages: fic_due_json instead).
 */
#include <fieldinspect/fieldinspect.h>

#include "model/checklist.h"
#include "internal.h"
#include "sync_internal.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#define TMPFS_MAGIC_NUMBER 0x01021994
#define MAX_SIZES 4
#define DAY_MS 86400000LL
#define TARGET_MS 50.0
#define TARGET_GROWTH 2.0
#define TARGET_FEED 2.0

static void die(const char *what, const char *detail)
{
	fprintf(stderr, "scale_bench: %s: %s\n", what, detail);
	exit(1);
}

static void die_fic(const char *what)
{
	die(what, fic_error_last()->message);
}

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- a small deterministic generator ---- */

static uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static long rng_below(uint64_t *s, long n)
{
	return (long)(rng_next(s) % (uint64_t)n);
}

static double rng_unit(uint64_t *s)
{
	return (double)(rng_next(s) >> 11) / 9007199254740992.0;
}

/* ---- names as a county registry has them ---- */

/* Two-character place-name syllables (each 3 UTF-8 bytes a character). */
static const char name_chars[] =
	"青杠石桥龙溪金竹白沙大田黄桷新华红岩双河松林高峰柏树杨柳清泉凤凰长岭花园李家王家张家"
	"陈家刘家马鞍狮子太平永兴安乐富民兴隆和平东升西湖南山北坡中心三合五星六合七星八角九龙十里";
#define NAME_CHARS ((long)(sizeof name_chars - 1) / 3)

static const char *const kind_suffix[] = { "", "集中供水站", "二次供水水箱", "小学", "卫生室", "血站",
	                                   "单采血浆站", "妇幼保健院", "煤矿", "集贸市场" };

static void put_char(char *dst, long i)
{
	memcpy(dst, name_chars + 3 * i, 3);
}

/* Town: two characters; village: two characters. */
static void make_name(char *out, size_t size, uint64_t *r, int kind, char village[16])
{
	char town[7], vil[7];
	put_char(town, rng_below(r, NAME_CHARS));
	put_char(town + 3, rng_below(r, NAME_CHARS));
	town[6] = '\0';
	put_char(vil, rng_below(r, NAME_CHARS));
	put_char(vil + 3, rng_below(r, NAME_CHARS));
	vil[6] = '\0';
	snprintf(out, size, "%s镇%s村%s", town, vil, kind_suffix[kind]);
	snprintf(village, 16, "%s村", vil);
}

/* A credit code with a correct check character (GB 32100-2015). */
static void make_credit_code(char out[19], uint64_t *r)
{
	static const char alphabet[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
	memcpy(out, "91500112", 8);
	for (int i = 8; i < 17; i++)
		out[i] = alphabet[rng_below(r, 10 + (i > 8 ? 21 : 0))];
	out[18] = '\0';
	for (int c = 0; c < 31; c++) {
		out[17] = alphabet[c];
		if (fic_credit_code_check(out) == FIC_OK)
			return;
	}
	die("credit code", "no check character fits");
}

static int pick_kind(uint64_t *r)
{
	static const int weights[] = { 0, 18, 10, 14, 30, 1, 1, 7, 7, 12 }; /* per 100 */
	long x = rng_below(r, 100);
	for (int k = 1; k <= 9; k++) {
		if (x < weights[k])
			return k;
		x -= weights[k];
	}
	return 4;
}

static const char *area_of_kind(int kind)
{
	switch (kind) {
	case 1: case 2: return "drinking_water";
	case 3: return "school";
	case 7: return "mch";
	case 8: return "occupational";
	default: return "medical_blood";
	}
}

static const char *checklist_of_kind(int kind)
{
	switch (kind) {
	case 1: return "water.rural";
	case 3: return "school.disease_control";
	case 4: return "medical.licensed";
	case 7: return "mch.patrol";
	case 8: return "occupational.patrol";
	default: return NULL;
	}
}

/* JSON text of about `bytes` bytes, like a record's payload. */
static char *filler_json(size_t bytes)
{
	static const char chunk[] = "巡查记录：现场检查供水设施、消毒记录与从业人员健康证明，";
	size_t n = sizeof chunk - 1;
	char *s = malloc(bytes + 64);
	if (s == NULL)
		die("filler", "out of memory");
	size_t used = (size_t)snprintf(s, 64, "{\"note\":\"");
	while (used + n + 3 < bytes) {
		memcpy(s + used, chunk, n);
		used += n;
	}
	memcpy(s + used, "\"}", 3);
	return s;
}

/* ---- fixtures ---- */

typedef struct history {
	long leads;       /* leads over the past year */
	long inspections; /* finished patrols over the past year */
	long photos;      /* photo records in the outbox */
	long pending;     /* of the outbox records, this many still pending */
} history;

typedef struct store_fix {
	long sites;
	char path[4200];
	fic_store *store;
	/* query material drawn from the store's own sites */
	long nq;
	char (*village)[16];
	char (*place_name)[40]; /* town + 镇 + village + 村: 6 characters */
	char (*credit)[19];
	char (*place)[48];
	double *lat, *lon;
} store_fix;

static void exec_sql(fic_store *s, const char *sql)
{
	char *err = NULL;
	if (sqlite3_exec(s->db, sql, NULL, NULL, &err) != SQLITE_OK)
		die(sql, err ? err : "?");
}

static sqlite3_stmt *prep(fic_store *s, const char *sql)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		die(sql, sqlite3_errmsg(s->db));
	return st;
}

static void step_done(fic_store *s, sqlite3_stmt *st)
{
	if (sqlite3_step(st) != SQLITE_DONE)
		die("fixture insert", sqlite3_errmsg(s->db));
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

static void day_text(int64_t ms, char out[11])
{
	time_t t = (time_t)((ms + 8 * 3600000LL) / 1000); /* UTC+8, the store's default */
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 11, "%Y-%m-%d", &tm);
}

static void open_store(fic_store **out, const char *path)
{
	fic_store_options o = FIC_STORE_OPTIONS_INIT;
	o.actor = "bench";
	if (fic_store_open(out, path, &o) != FIC_OK)
		die_fic("fic_store_open");
}

typedef struct outbox_ins {
	sqlite3_stmt *st;
	char *payload_lead, *payload_photo, *payload_insp, *payload_site;
} outbox_ins;

static void outbox_add(fic_store *s, outbox_ins *o, const char *type, const char *id,
                       const char *op, int prio, const char *payload, int64_t at, bool pending,
                       int64_t received)
{
	sqlite3_stmt *st = o->st;
	sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, op, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, pending ? prio : 0);
	sqlite3_bind_text(st, 5, payload, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, at);
	sqlite3_bind_text(st, 7, pending ? "pending" : "acked", -1, SQLITE_STATIC);
	if (!pending) {
		char receipt[40];
		snprintf(receipt, sizeof receipt, "r-%" PRId64, at);
		sqlite3_bind_text(st, 8, receipt, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 9, received);
	}
	step_done(s, st);
}

static void audit_add(fic_store *s, sqlite3_stmt *st, const char *action, const char *entity,
                      const char *id, int64_t at)
{
	sqlite3_bind_int64(st, 1, at);
	sqlite3_bind_int64(st, 2, at / 7);
	sqlite3_bind_text(st, 3, action, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, entity, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, id, -1, SQLITE_TRANSIENT);
	step_done(s, st);
}

static void hex_id(char *out, size_t size, uint64_t *r, const char *prefix)
{
	snprintf(out, size, "%s%016" PRIx64 "%08" PRIx32, prefix, rng_next(r),
	         (uint32_t)rng_next(r));
}

/* The statements a fixture is written with, prepared once per store. */
typedef struct fixture_stmts {
	sqlite3_stmt *site, *audit, *insp, *lead;
	outbox_ins ob;
} fixture_stmts;

static void fixture_prepare(fic_store *s, fixture_stmts *x)
{
	x->site = prep(s,
		"INSERT INTO sites (id, kind, name, address, credit_code, place_code, manager, lat, "
		"lon, status, origin, school_level, created_at_ms, updated_at_ms, revision) VALUES "
		"(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13, 1)");
	x->audit = prep(s,
		"INSERT INTO audit (at_ms, mono_ms, boot_id, actor, action, entity, entity_id, "
		"detail, trusted_ms, time_flags) VALUES (?1, ?2, 'bench-boot', 'inspector-0042', ?3, "
		"?4, ?5, '{\"revision\":1}', ?1, 0)");
	x->ob = (outbox_ins){ prep(s, "INSERT INTO outbox (record_type, record_id, op, priority, payload, "
	                              "created_at_ms, state, receipt_id, received_at_ms) VALUES (?1, ?2, "
	                              "?3, ?4, ?5, ?6, ?7, ?8, ?9)"),
		              filler_json(1500), filler_json(400), filler_json(3000), filler_json(1200) };
	x->insp = prep(s,
		"INSERT INTO inspections (id, site_id, checklist_id, checklist_version, area, "
		"inspection_date, state, inspector, site_facts, findings, started_at_ms, "
		"finished_at_ms) VALUES (?1, ?2, ?3, (SELECT max(version) FROM checklists WHERE id = ?3), "
		"?4, ?5, 'finished', 'inspector-0042', '{}', "
		"'[]', ?6, ?6)");
	x->lead = prep(s,
		"INSERT INTO leads (id, category, area, title, report_to, urgent, time_sensitive, "
		"form_id, form_version, state, discovered_at_ms, deadline_at_ms, content, "
		"created_at_ms, t_device_ms, t_mono_ms, t_boot_id, t_trusted_ms, t_uncertainty_ms, "
		"t_flags, submitted_at_ms, receipt_id, receipt_at_ms) VALUES (?1, ?2, ?3, ?4, "
		"'enforcement', ?5, 0, 'lead.tip_off', 1, ?6, ?7, ?8, ?9, ?7, ?7, ?7, 'bench-boot', "
		"?7, 200, 0, ?10, ?11, ?12)");
}

static void fixture_finalize(fixture_stmts *x)
{
	sqlite3_finalize(x->site);
	sqlite3_finalize(x->audit);
	sqlite3_finalize(x->ob.st);
	sqlite3_finalize(x->insp);
	sqlite3_finalize(x->lead);
	free(x->ob.payload_lead);
	free(x->ob.payload_photo);
	free(x->ob.payload_insp);
	free(x->ob.payload_site);
}

/* The patrol checklists the inspections were made with, as the library stores them. */
static void persist_checklists(fic_store *s)
{
	for (int k = 1; k <= 9; k++) {
		const char *cl = checklist_of_kind(k);
		const fic__entry *e;
		if (cl && (fic__checklist_find(&e, s, cl, 0) != FIC_OK ||
		           fic__checklist_persist(s, e) != FIC_OK))
			die_fic("persisting a checklist");
	}
}

/* Room for the query material: one site in every `nsites / nq`, at most 4096. */
static void query_material_alloc(store_fix *f, long nsites)
{
	f->nq = nsites < 4096 ? nsites : 4096;
	f->village = calloc((size_t)f->nq, sizeof *f->village);
	f->place_name = calloc((size_t)f->nq, sizeof *f->place_name);
	f->credit = calloc((size_t)f->nq, sizeof *f->credit);
	f->place = calloc((size_t)f->nq, sizeof *f->place);
	f->lat = calloc((size_t)f->nq, sizeof *f->lat);
	f->lon = calloc((size_t)f->nq, sizeof *f->lon);
	if (!f->village || !f->place_name || !f->credit || !f->place || !f->lat || !f->lon)
		die("fixture", "out of memory");
}

/* The sites of the registry being built: their ids and kinds, for the history. */
typedef struct fixture_sites {
	long n;
	char (*ids)[48];
	int *kind;
	long stride; /* every stride-th site gives query material */
} fixture_sites;

/* Site `i`: 2 % found in the field (with their outbox records), 3 % closed. */
static void add_site(store_fix *f, fic_store *s, fixture_stmts *x, fixture_sites *fs, long i,
                     uint64_t *r, int64_t now)
{
	sqlite3_stmt *site_st = x->site;
	char name[160], village[16], addr[200], credit[19], place[48];
	int kind = pick_kind(r);
	fs->kind[i] = kind;
	make_name(name, sizeof name, r, kind, village);
	hex_id(fs->ids[i], sizeof fs->ids[i], r, "");
	snprintf(addr, sizeof addr, "重庆市某区%.30s %ld 号", name, i % 300 + 1);
	make_credit_code(credit, r);
	snprintf(place, sizeof place, "https://cq.example/p/%012" PRIx64,
	         (uint64_t)(rng_next(r) & 0xFFFFFFFFFFFFULL));
	double lat = 28.2 + 3.0 * rng_unit(r), lon = 105.3 + 4.0 * rng_unit(r);
	bool field = rng_below(r, 100) < 2;
	int status = rng_below(r, 100) < 3 ? FIC_SITE_CLOSED : FIC_SITE_ACTIVE;
	int64_t created = now - rng_below(r, 365) * DAY_MS;
	sqlite3_bind_text(site_st, 1, fs->ids[i], -1, SQLITE_STATIC);
	sqlite3_bind_int(site_st, 2, kind);
	sqlite3_bind_text(site_st, 3, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(site_st, 4, addr, -1, SQLITE_TRANSIENT);
	if (rng_below(r, 100) < 60)
		sqlite3_bind_text(site_st, 5, credit, -1, SQLITE_TRANSIENT);
	if (rng_below(r, 100) < 80)
		sqlite3_bind_text(site_st, 6, place, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(site_st, 7, "王五", -1, SQLITE_STATIC);
	sqlite3_bind_double(site_st, 8, lat);
	sqlite3_bind_double(site_st, 9, lon);
	sqlite3_bind_int(site_st, 10, status);
	sqlite3_bind_int(site_st, 11, field ? FIC_SITE_FROM_FIELD : FIC_SITE_FROM_COUNTY);
	sqlite3_bind_int(site_st, 12, kind == FIC_SITE_SCHOOL ? FIC_SCHOOL_PRIMARY : 0);
	sqlite3_bind_int64(site_st, 13, created);
	step_done(s, site_st);
	audit_add(s, x->audit, field ? "site.add" : "site.registry", "site", fs->ids[i], created);
	if (field)
		outbox_add(s, &x->ob, "site", fs->ids[i], "add", 0, x->ob.payload_site, created, false,
		           created + 60000);
	long q = i / fs->stride;
	if (i % fs->stride == 0 && q < f->nq) {
		memcpy(f->village[q], village, sizeof village);
		snprintf(f->place_name[q], sizeof f->place_name[q], "%.18s", name);
		/* A credit code or place code the registry may not hold (40 % / 20 %)
		 * still exercises the lookup; it is stored below when drawn. */
		memcpy(f->credit[q], credit, sizeof credit);
		memcpy(f->place[q], place, sizeof place);
		f->lat[q] = lat;
		f->lon[q] = lon;
	}
}

/* Make every queried code one the registry holds. */
static void store_query_codes(store_fix *f, fic_store *s, const fixture_sites *fs)
{
	sqlite3_stmt *fix = prep(s, "UPDATE sites SET credit_code = ?2, place_code = ?3 WHERE id = ?1");
	for (long q = 0; q < f->nq; q++) {
		sqlite3_bind_text(fix, 1, fs->ids[q * fs->stride], -1, SQLITE_STATIC);
		sqlite3_bind_text(fix, 2, f->credit[q], -1, SQLITE_STATIC);
		sqlite3_bind_text(fix, 3, f->place[q], -1, SQLITE_STATIC);
		step_done(s, fix);
	}
	sqlite3_finalize(fix);
}

/* A year of finished patrols of sites that have a patrol checklist. */
static void add_patrols(fic_store *s, fixture_stmts *x, const fixture_sites *fs, long count,
                        uint64_t *r, int64_t now)
{
	sqlite3_stmt *insp_st = x->insp;
	for (long i = 0; i < count; i++) {
		long si;
		int guard = 0;
		do {
			si = rng_below(r, fs->n);
		} while (checklist_of_kind(fs->kind[si]) == NULL && ++guard < 50);
		if (checklist_of_kind(fs->kind[si]) == NULL)
			continue;
		char id[48], day[11];
		hex_id(id, sizeof id, r, "i");
		int64_t at = now - rng_below(r, 365) * DAY_MS - rng_below(r, DAY_MS);
		day_text(at, day);
		sqlite3_bind_text(insp_st, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_text(insp_st, 2, fs->ids[si], -1, SQLITE_STATIC);
		sqlite3_bind_text(insp_st, 3, checklist_of_kind(fs->kind[si]), -1, SQLITE_STATIC);
		sqlite3_bind_text(insp_st, 4, area_of_kind(fs->kind[si]), -1, SQLITE_STATIC);
		sqlite3_bind_text(insp_st, 5, day, -1, SQLITE_STATIC);
		sqlite3_bind_int64(insp_st, 6, at);
		step_done(s, insp_st);
		audit_add(s, x->audit, "inspection.start", "inspection", id, at);
		audit_add(s, x->audit, "inspection.finish", "inspection", id, at);
		outbox_add(s, &x->ob, "inspection", id, "finish", 10, x->ob.payload_insp, at, false,
		           at + 60000);
	}
}

/* One lead of the year's: 3 % urgent; 95 % delivered, the rest drafts or
 * waiting (pending in the outbox while *pending_left lasts). */
static void add_lead(fic_store *s, fixture_stmts *x, long i, const char *content, uint64_t *r,
                     int64_t now, long *pending_left)
{
	sqlite3_stmt *lead_st = x->lead;
	char id[48], title[200];
	hex_id(id, sizeof id, r, "l");
	int64_t at = now - rng_below(r, 365 * DAY_MS);
	bool urgent = rng_below(r, 100) < 3;
	long v = rng_below(r, 100);
	const char *state = v < 95 ? "delivered" : v < 97 ? "draft" : "queued";
	snprintf(title, sizeof title, "%s举报或紧急线索登记：%.60s", urgent ? "【紧急】" : "",
	         kind_suffix[1 + i % 9]);
	sqlite3_bind_text(lead_st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(lead_st, 2, urgent ? "foodborne" : "tip_off", -1, SQLITE_STATIC);
	sqlite3_bind_text(lead_st, 3, area_of_kind(1 + (int)(i % 9)), -1, SQLITE_STATIC);
	sqlite3_bind_text(lead_st, 4, title, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(lead_st, 5, urgent);
	sqlite3_bind_text(lead_st, 6, state, -1, SQLITE_STATIC);
	sqlite3_bind_int64(lead_st, 7, at);
	if (urgent)
		sqlite3_bind_int64(lead_st, 8, at + FIC_URGENT_DEADLINE_MS);
	sqlite3_bind_text(lead_st, 9, content, -1, SQLITE_STATIC);
	if (v < 95) {
		sqlite3_bind_int64(lead_st, 10, at + 1000);
		sqlite3_bind_text(lead_st, 11, "receipt", -1, SQLITE_STATIC);
		sqlite3_bind_int64(lead_st, 12, at + 60000);
	} else if (v >= 97) {
		sqlite3_bind_int64(lead_st, 10, at + 1000);
	}
	step_done(s, lead_st);
	audit_add(s, x->audit, "lead.file", "lead", id, at);
	if (v < 95 || v >= 97) {
		audit_add(s, x->audit, "lead.submit", "lead", id, at + 1000);
		bool pending = v >= 97 && *pending_left > 0;
		*pending_left -= pending;
		outbox_add(s, &x->ob, "lead", id, "submit", urgent ? 100 : 20, x->ob.payload_lead,
		           at + 1000, pending, at + 60000);
		if (v < 95)
			audit_add(s, x->audit, "lead.state", "lead", id, at + 60000);
	}
}

/* Photo records: the rest of the pending ones are photos waiting for the link. */
static void add_photos(fic_store *s, fixture_stmts *x, long count, uint64_t *r, int64_t now,
                       long pending_left)
{
	for (long i = 0; i < count; i++) {
		char id[48];
		hex_id(id, sizeof id, r, "p");
		int64_t at = now - rng_below(r, 365 * DAY_MS);
		bool pending = pending_left > 0;
		pending_left -= pending;
		outbox_add(s, &x->ob, "photo", id, "add", 5, x->ob.payload_photo, at, pending, at + 60000);
		audit_add(s, x->audit, "photo.add", "photo", id, at);
	}
}

/*
 * A store with `nsites` county sites (2 % found in the field, with their
 * outbox records), `h` of history, and query material kept in `f`.
 */
static void build_fixture(store_fix *f, const char *dir, long nsites, const history *h,
                          uint64_t seed)
{
	f->sites = nsites;
	snprintf(f->path, sizeof f->path, "%s/sites-%ld.fic", dir, nsites);
	fic_store *s;
	open_store(&s, f->path);
	uint64_t r = seed;
	int64_t now = wall_ms();

	exec_sql(s, "BEGIN IMMEDIATE");
	persist_checklists(s);
	fixture_stmts x;
	fixture_prepare(s, &x);
	query_material_alloc(f, nsites);
	fixture_sites fs = { nsites, calloc((size_t)nsites, sizeof *fs.ids),
		             calloc((size_t)nsites, sizeof *fs.kind), nsites / f->nq };
	if (!fs.ids || !fs.kind)
		die("fixture", "out of memory");
	if (fs.stride == 0)
		fs.stride = 1;
	for (long i = 0; i < nsites; i++)
		add_site(f, s, &x, &fs, i, &r, now);
	store_query_codes(f, s, &fs);
	/* The codes are kept by key (site_codes) as the library keeps a store's
	 * codes of before schema 4: once. (Its own transaction: commit ours first.) */
	exec_sql(s, "COMMIT");
	exec_sql(s, "DELETE FROM meta WHERE key = 'place_codes_keyed'");
	if (fic__place_codes_backfill(s) != FIC_OK)
		die_fic("keying the place codes");
	exec_sql(s, "BEGIN IMMEDIATE");
	add_patrols(s, &x, &fs, h->inspections, &r, now);
	char *content = filler_json(700);
	long pending_left = h->pending;
	for (long i = 0; i < h->leads; i++)
		add_lead(s, &x, i, content, &r, now, &pending_left);
	free(content);
	add_photos(s, &x, h->photos, &r, now, pending_left);
	fixture_finalize(&x);
	exec_sql(s, "COMMIT");
	fic_store_close(s); /* checkpoints the WAL into the file */
	free(fs.ids);
	free(fs.kind);
	open_store(&f->store, f->path);
}

/* ---- statistics ---- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* The q-quantile (0..1) by nearest rank of a sorted copy. */
static double quantile(const double *v, size_t n, double q)
{
	if (n == 0)
		return NAN;
	double *c = malloc(n * sizeof *c);
	if (c == NULL)
		die("stats", "out of memory");
	memcpy(c, v, n * sizeof *c);
	qsort(c, n, sizeof *c, cmp_double);
	size_t rank = (size_t)ceil(q * (double)n);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	double x = c[rank - 1];
	if (q == 0.5 && n % 2 == 0)
		x = (c[n / 2 - 1] + c[n / 2]) / 2;
	free(c);
	return x;
}

/* PASS / FAIL / INCONCLUSIVE for "ratio ≤ target" from per-pair ratios. */
static const char *ratio_verdict(const double *ratios, size_t n, double target)
{
	double med = quantile(ratios, n, 0.5), p25 = quantile(ratios, n, 0.25),
	       p75 = quantile(ratios, n, 0.75);
	if (med <= target && p75 <= target)
		return "PASS";
	if (med > target && p25 > target)
		return "FAIL";
	return "INCONCLUSIVE (spread too wide)";
}

/* ---- the operations ---- */

typedef struct op_ctx {
	store_fix *f;
	long rep;
	size_t out_bytes; /* JSON produced, where the operation produces JSON */
	long rows;        /* sites or leads returned; -1 where that means nothing */
} op_ctx;

typedef void (*op_fn)(op_ctx *c);

static void op_open(op_ctx *c)
{
	fic_store *s;
	open_store(&s, c->f->path);
	fic_store_close(s);
}

static long q_index(op_ctx *c, long mult)
{
	return (c->rep * mult + 13) % c->f->nq;
}

static void search(op_ctx *c, int kind, const char *text)
{
	fic_site_list *l;
	if (fic_site_search(&l, c->f->store, kind, text, 50) != FIC_OK)
		die_fic("fic_site_search");
	c->rows = (long)l->count;
	fic_site_list_free(l);
}

static void op_search_place(op_ctx *c)
{
	search(c, 0, c->f->place_name[q_index(c, 7919)]);
}

static void op_search_village(op_ctx *c)
{
	search(c, 0, c->f->village[q_index(c, 7919)]);
}

static void op_search_common(op_ctx *c)
{
	search(c, FIC_SITE_SCHOOL, "小学");
}

static void op_search_kind(op_ctx *c)
{
	search(c, FIC_SITE_WATER_RURAL, NULL);
}

static void op_near(op_ctx *c)
{
	fic_site_list *l;
	long q = q_index(c, 104729);
	if (fic_site_near(&l, c->f->store, c->f->lat[q] + 0.01, c->f->lon[q] - 0.01, 50000, 20) !=
	    FIC_OK)
		die_fic("fic_site_near");
	if (l->count == 0)
		die("near", "found nothing next to a site");
	c->rows = (long)l->count;
	fic_site_list_free(l);
}

static void op_credit(op_ctx *c)
{
	fic_site_list *l;
	if (fic_site_find_by_credit_code(&l, c->f->store, c->f->credit[q_index(c, 31)]) != FIC_OK)
		die_fic("fic_site_find_by_credit_code");
	if (l->count == 0)
		die("credit code", "not found");
	c->rows = (long)l->count;
	fic_site_list_free(l);
}

static void op_place(op_ctx *c)
{
	fic_site *s;
	if (fic_site_find_by_place_code(&s, c->f->store, c->f->place[q_index(c, 37)]) != FIC_OK)
		die_fic("fic_site_find_by_place_code");
	fic_site_free(s);
}

static void op_leads(op_ctx *c)
{
	fic_lead_list *l;
	if (fic_lead_list_get(&l, c->f->store, 50) != FIC_OK)
		die_fic("fic_lead_list_get");
	c->rows = (long)l->count;
	fic_lead_list_free(l);
}

static void op_status(op_ctx *c)
{
	fic_store_stats st = FIC_STORE_STATS_INIT;
	if (fic_store_stats_get(c->f->store, &st) != FIC_OK)
		die_fic("fic_store_stats_get");
}

static void op_due(op_ctx *c)
{
	char *t;
#ifdef SCALE_BENCH_BEFORE
	if (fic_due_json(&t, c->f->store) != FIC_OK)
		die_fic("fic_due_json");
#else
	if (fic_due_summary_json(&t, c->f->store) != FIC_OK)
		die_fic("fic_due_summary_json");
#endif
	c->out_bytes = strlen(t);
	fic_free(t);
}

#ifndef SCALE_BENCH_BEFORE
static void op_due_page(op_ctx *c)
{
	char *t;
	if (fic_due_page_json(&t, c->f->store, "school", NULL, 50) != FIC_OK)
		die_fic("fic_due_page_json");
	c->out_bytes = strlen(t);
	c->rows = 0;
	for (const char *p = strstr(t, "\"site_id\""); p; p = strstr(p + 1, "\"site_id\""))
		c->rows++;
	fic_free(t);
}
#endif

static const char tip_off[] =
	"{\"source\":\"hotline_12345\",\"ticket_12345\":\"B-1\",\"subject\":\"illegal_practice\",\"place\":\"集市\","
	"\"description\":\"游医摆摊\",\"time_sensitive\":\"no\",\"verified\":\"yes\"}";

static void op_file_lead(op_ctx *c)
{
	char id[FIC_UUID_BUFSIZE];
	if (fic_lead_file(id, c->f->store, "lead.tip_off", tip_off, NULL, 0, 0) != FIC_OK)
		die_fic("fic_lead_file");
}

typedef struct op_def {
	const char *name;
	op_fn fn;
	bool interactive; /* judged against the 50 ms and 2x targets */
} op_def;

static const op_def ops[] = {
	{ "open the store", op_open, true },
	{ "search: a place's name (town + village, 6 chars)", op_search_place, true },
	{ "search: a village's name (3 chars)", op_search_village, true },
	{ "search: 小学 among schools", op_search_common, true },
	{ "search: a kind, no name", op_search_kind, true },
	{ "near: 20 nearest within 50 km", op_near, true },
	{ "find by credit code", op_credit, true },
	{ "find by place code", op_place, true },
	{ "lead list (limit 50)", op_leads, true },
	{ "status (fic_store_stats_get)", op_status, true },
#ifdef SCALE_BENCH_BEFORE
	{ "due (fic_due_json, every due site)", op_due, true },
#else
	{ "due summary", op_due, true },
	{ "due page (school, 50)", op_due_page, true },
#endif
	{ "file a lead (durable)", op_file_lead, true },
};
#define NOPS (sizeof ops / sizeof ops[0])

/* ---- the feed: fresh device vs one with acknowledged records ---- */

#define FEED_PAGE 200

static cJSON *feed_item(long i, uint64_t *r, int64_t changed_at)
{
	char id[48], name[160], village[16];
	int kind = pick_kind(r);
	snprintf(id, sizeof id, "county-%06ld", i);
	make_name(name, sizeof name, r, kind, village);
	cJSON *it = cJSON_CreateObject(), *d = cJSON_CreateObject();
	cJSON_AddStringToObject(it, "id", id);
	cJSON_AddStringToObject(it, "op", "upsert");
	cJSON_AddNumberToObject(it, "changed_at_ms", (double)changed_at);
	cJSON_AddStringToObject(d, "kind", fic_site_code_str(FIC_CODE_KIND, kind));
	cJSON_AddStringToObject(d, "name", name);
	cJSON_AddStringToObject(d, "address", "重庆市某区某镇某村 8 号");
	cJSON_AddNumberToObject(d, "lat", 28.2 + 3.0 * rng_unit(r));
	cJSON_AddNumberToObject(d, "lon", 105.3 + 4.0 * rng_unit(r));
	cJSON_AddStringToObject(d, "status", "active");
	cJSON_AddItemToObject(it, "data", d);
	return it;
}

/* Fresh: a new store. Acked: the same plus `acked` acknowledged outbox records — a
 * tenth of them earlier changes to sites of the feed (received before the
 * county's versions, so nothing is skipped), the rest leads and photos. */
static void build_feed_template(const char *path, long acked, long feed_sites, int64_t changed_at)
{
	fic_store *s;
	open_store(&s, path);
	if (acked > 0) {
		exec_sql(s, "BEGIN IMMEDIATE");
		outbox_ins ob = { prep(s, "INSERT INTO outbox (record_type, record_id, op, priority, "
		                          "payload, created_at_ms, state, receipt_id, received_at_ms) "
		                          "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"),
			          filler_json(1500), filler_json(400), NULL, filler_json(1200) };
		uint64_t r = 99;
		for (long i = 0; i < acked; i++) {
			char id[48];
			int64_t at = changed_at - 365 * DAY_MS + i * 1000;
			if (i % 10 == 0) {
				snprintf(id, sizeof id, "county-%06ld", (i / 10) % feed_sites);
				outbox_add(s, &ob, "site", id, "update", 0, ob.payload_site, at, false, at + 1);
			} else if (i % 3 == 0) {
				hex_id(id, sizeof id, &r, "p");
				outbox_add(s, &ob, "photo", id, "add", 5, ob.payload_photo, at, false, at + 1);
			} else {
				hex_id(id, sizeof id, &r, "l");
				outbox_add(s, &ob, "lead", id, "submit", 20, ob.payload_lead, at, false, at + 1);
			}
		}
		sqlite3_finalize(ob.st);
		free(ob.payload_lead);
		free(ob.payload_photo);
		free(ob.payload_site);
		exec_sql(s, "COMMIT");
	}
	fic_store_close(s);
}

static void copy_file(const char *from, const char *to)
{
	int in = open(from, O_RDONLY | O_CLOEXEC);
	int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (in < 0 || out < 0)
		die("copying a store", strerror(errno));
	char buf[1 << 16];
	ssize_t n;
	while ((n = read(in, buf, sizeof buf)) > 0)
		if (write(out, buf, (size_t)n) != n)
			die("copying a store", strerror(errno));
	if (n < 0 || fsync(out) != 0)
		die("copying a store", strerror(errno));
	close(in);
	close(out);
}

static void remove_store(const char *path)
{
	char p[4300];
	static const char *const sfx[] = { "", "-wal", "-shm", "-journal" };
	for (size_t i = 0; i < sizeof sfx / sizeof sfx[0]; i++) {
		snprintf(p, sizeof p, "%s%s", path, sfx[i]);
		unlink(p);
	}
	snprintf(p, sizeof p, "%s.photos", path);
	rmdir(p);
}

/* Apply the feed to a copy of `template`; returns wall and CPU seconds of the apply. */
static void apply_feed_once(const char *template, const char *work, cJSON *items, long n,
                            double *wall, double *cpu, long *skipped_out)
{
	remove_store(work);
	copy_file(template, work);
	fic_store *s;
	open_store(&s, work);
	long skipped_n = 0;
	double w0 = mono_s(), c0 = cpu_s();
	for (long p = 0; p < n; p += FEED_PAGE) {
		if (fic__tx_begin(s) != FIC_OK)
			die_fic("feed page");
		for (long i = p; i < p + FEED_PAGE && i < n; i++) {
			cJSON *it = cJSON_GetArrayItem(items, (int)i);
			const char *id = cJSON_GetObjectItem(it, "id")->valuestring;
			int64_t changed = (int64_t)cJSON_GetObjectItem(it, "changed_at_ms")->valuedouble;
			bool skipped = false;
			if (fic__site_apply_feed(s, id, false, cJSON_GetObjectItem(it, "data"), changed,
			                         &skipped) != FIC_OK)
				die_fic("fic__site_apply_feed");
			skipped_n += skipped;
		}
		char cursor[32];
		snprintf(cursor, sizeof cursor, "c%ld", p + FEED_PAGE);
		if (fic__sync_state_put(s, "feed.sites.cursor", cursor) != FIC_OK ||
		    fic__tx_commit(s) != FIC_OK)
			die_fic("feed page commit");
	}
	*wall = mono_s() - w0;
	*cpu = cpu_s() - c0;
	*skipped_out = skipped_n;
	fic_store_close(s);
	remove_store(work);
}

/* ---- file a lead against a growing pending outbox ---- */

static void build_pending_store(const char *path, long pending)
{
	fic_store *s;
	open_store(&s, path);
	exec_sql(s, "BEGIN IMMEDIATE");
	outbox_ins ob = { prep(s, "INSERT INTO outbox (record_type, record_id, op, priority, payload, "
	                          "created_at_ms, state, receipt_id, received_at_ms) VALUES (?1, ?2, "
	                          "?3, ?4, ?5, ?6, ?7, ?8, ?9)"),
		          NULL, filler_json(400), NULL, NULL };
	uint64_t r = 7;
	int64_t now = wall_ms();
	for (long i = 0; i < pending; i++) {
		char id[48];
		hex_id(id, sizeof id, &r, "p");
		outbox_add(s, &ob, "photo", id, "add", 5, ob.payload_photo, now - i, true, 0);
	}
	sqlite3_finalize(ob.st);
	free(ob.payload_photo);
	exec_sql(s, "COMMIT");
	fic_store_close(s);
}

/* ---- main ---- */

static long parse_long(const char *s, long lo, long hi, const char *what)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < lo || v > hi)
		die(what, s);
	return v;
}

/* What a run does: its sizes, repetitions and the history in every store. */
typedef struct bench_cfg {
	bool quick, keep;
	long reps, feed_reps;
	long sizes[MAX_SIZES];
	size_t nsizes;
	const char *parent;
	history h;
	long feed_sites, feed_acked, pend[3];
} bench_cfg;

/* Targets missed and verdicts that could not be reached. */
typedef struct verdicts {
	int failures, unclear;
} verdicts;

static void parse_args(bench_cfg *cfg, int argc, char **argv)
{
	*cfg = (bench_cfg){ .sizes = { 1000, 10000, 100000 }, .nsizes = 3, .parent = getenv("TMPDIR") };
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0) {
			cfg->quick = true;
		} else if (strcmp(argv[i], "--keep") == 0) {
			cfg->keep = true;
		} else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
			cfg->reps = parse_long(argv[++i], 3, 100000, "--reps");
		} else if (strcmp(argv[i], "--feed-reps") == 0 && i + 1 < argc) {
			cfg->feed_reps = parse_long(argv[++i], 1, 1000, "--feed-reps");
		} else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
			cfg->parent = argv[++i];
		} else if (strcmp(argv[i], "--sizes") == 0 && i + 1 < argc) {
			cfg->nsizes = 0;
			char *save = NULL, *list = argv[++i];
			for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
				if (cfg->nsizes == MAX_SIZES)
					die("--sizes", "at most 4 sizes");
				cfg->sizes[cfg->nsizes++] = parse_long(t, 10, 10000000, "--sizes");
			}
			if (cfg->nsizes < 2)
				die("--sizes", "give at least two sizes");
		} else {
			die("usage", "scale_bench [--quick] [--reps N] [--feed-reps N] [--sizes A,B,C] "
			             "[--dir PARENT] [--keep]");
		}
	}
}

/* The history, feed and outbox sizes, and the defaults --quick changes. */
static void apply_defaults(bench_cfg *cfg)
{
	cfg->h = (history){ 20000, 6000, 8000, 1200 };
	cfg->feed_sites = 5000;
	cfg->feed_acked = 10000;
	cfg->pend[0] = 1000;
	cfg->pend[1] = 10000;
	cfg->pend[2] = 100000;
	if (cfg->quick) {
		if (cfg->nsizes == 3 && cfg->sizes[2] == 100000) {
			cfg->sizes[0] = 100;
			cfg->sizes[1] = 300;
			cfg->sizes[2] = 1000;
		}
		cfg->h = (history){ 400, 200, 200, 50 };
		cfg->feed_sites = 400;
		cfg->feed_acked = 800;
		cfg->pend[0] = 100;
		cfg->pend[1] = 300;
		cfg->pend[2] = 1000;
	}
	if (cfg->reps == 0)
		cfg->reps = cfg->quick ? 9 : 200;
	if (cfg->feed_reps == 0)
		cfg->feed_reps = cfg->quick ? 2 : 7;
	if (cfg->parent == NULL || cfg->parent[0] == '\0')
		cfg->parent = "/tmp";
}

/* A fresh directory under the parent for the stores; says what it is. */
static void make_dir(char *dir, size_t size, const bench_cfg *cfg)
{
	snprintf(dir, size, "%s/fic_scale.XXXXXX", cfg->parent);
	if (mkdtemp(dir) == NULL)
		die("creating a temporary directory", strerror(errno));
	struct statfs sfs;
	bool tmpfs = statfs(dir, &sfs) == 0 && (unsigned long)sfs.f_type == TMPFS_MAGIC_NUMBER;

	printf("scale_bench%s: SQLite %s, fieldinspect %s, directory %s%s\n",
	       cfg->quick ? " --quick (small sizes: verdicts are about these sizes, not the targets')"
	                  : "",
	       sqlite3_libversion(), fic_version(), dir,
	       tmpfs ? " (tmpfs: fsync is free; durable writes look faster than they are)" : "");
	printf("history in every store: %ld leads, %ld finished patrols, %ld photo records, "
	       "%ld outbox records pending (the rest acknowledged)\n",
	       cfg->h.leads, cfg->h.inspections, cfg->h.photos, cfg->h.pending);
}

static void build_fixtures(store_fix *fx, const char *dir, const bench_cfg *cfg)
{
	memset(fx, 0, MAX_SIZES * sizeof *fx);
	for (size_t i = 0; i < cfg->nsizes; i++) {
		double t = mono_s();
		build_fixture(&fx[i], dir, cfg->sizes[i], &cfg->h, 0x9E3779B97F4A7C15ULL + (uint64_t)i);
		struct stat sb;
		stat(fx[i].path, &sb);
		printf("fixture: %ld sites built in %.1f s, %.1f MiB\n", cfg->sizes[i], mono_s() - t,
		       (double)sb.st_size / 1048576.0);
	}
	fflush(stdout);
}

/* Per operation and size: each repetition's wall and CPU seconds and rows. */
typedef struct op_results {
	size_t n;
	double *wall[NOPS][MAX_SIZES], *cpu[NOPS][MAX_SIZES], *rows[NOPS][MAX_SIZES];
	size_t out_bytes[NOPS][MAX_SIZES];
} op_results;

static void op_results_alloc(op_results *res, size_t n, size_t nsizes)
{
	memset(res, 0, sizeof *res);
	res->n = n;
	for (size_t o = 0; o < NOPS; o++)
		for (size_t z = 0; z < nsizes; z++) {
			res->wall[o][z] = calloc(n, sizeof(double));
			res->cpu[o][z] = calloc(n, sizeof(double));
			res->rows[o][z] = calloc(n, sizeof(double));
			if (!res->wall[o][z] || !res->cpu[o][z] || !res->rows[o][z])
				die("results", "out of memory");
		}
}

static void op_results_free(op_results *res)
{
	for (size_t o = 0; o < NOPS; o++)
		for (size_t z = 0; z < MAX_SIZES; z++) {
			free(res->wall[o][z]);
			free(res->cpu[o][z]);
			free(res->rows[o][z]);
		}
}

/* The interactive operations, interleaved across sizes. */
static void run_ops(op_results *res, store_fix *fx, const bench_cfg *cfg)
{
	/* One unmeasured round warms the caches and prepares the statements. */
	for (long rep = -1; rep < cfg->reps; rep++) {
		for (size_t o = 0; o < NOPS; o++) {
			for (size_t zz = 0; zz < cfg->nsizes; zz++) {
				size_t z = (zz + (size_t)(rep < 0 ? 0 : rep)) % cfg->nsizes;
				op_ctx c = { &fx[z], rep < 0 ? 0 : rep, 0, -1 };
				double w0 = mono_s(), c0 = cpu_s();
				ops[o].fn(&c);
				double c1 = cpu_s(), w1 = mono_s();
				if (rep >= 0) {
					res->wall[o][z][rep] = w1 - w0;
					res->cpu[o][z][rep] = c1 - c0;
					res->rows[o][z][rep] = (double)c.rows;
					if (c.out_bytes > res->out_bytes[o][z])
						res->out_bytes[o][z] = c.out_bytes;
				}
			}
		}
	}
}

static void print_ops_header(const bench_cfg *cfg)
{
	const long *sizes = cfg->sizes;
	size_t nsizes = cfg->nsizes;
	printf("\n%ld repetitions, each operation at every size in turn. Wall: median / p99 ms;"
	       " CPU: median ms.\nGrowth: median of per-repetition CPU ratios %ld→%ld sites, "
	       "[p25–p75] and (min–max).\nThe growth target is judged where the answer is the "
	       "same size at both ends; where the\nanswer itself grows (rows: median at the "
	       "smallest → largest size), it is n/a.\n\n",
	       cfg->reps, sizes[0], sizes[nsizes - 1]);
	printf("| operation |");
	for (size_t z = 0; z < nsizes; z++)
		printf(" %ld sites: wall med / p99, CPU |", sizes[z]);
	printf(" rows | growth %ld→%ld (CPU) | ≤ %.0f ms | ≤ %.0f× |\n", sizes[0], sizes[nsizes - 1],
	       TARGET_MS, TARGET_GROWTH);
	printf("|---|");
	for (size_t z = 0; z < nsizes; z++)
		printf("---|");
	printf("---|---|---|---|\n");
}

/* One operation's row of the table, judged; `ratio` is room for n ratios. */
static void print_op_row(const op_results *res, size_t o, size_t nsizes, double *ratio,
                         verdicts *v)
{
	size_t n = res->n;
	printf("| %s |", ops[o].name);
	for (size_t z = 0; z < nsizes; z++)
		printf(" %.3f / %.3f, %.3f |", quantile(res->wall[o][z], n, 0.5) * 1e3,
		       quantile(res->wall[o][z], n, 0.99) * 1e3, quantile(res->cpu[o][z], n, 0.5) * 1e3);
	const double *c0 = res->cpu[o][0], *c1 = res->cpu[o][nsizes - 1];
	for (size_t i = 0; i < n; i++)
		ratio[i] = c1[i] / (c0[i] > 1e-9 ? c0[i] : 1e-9);
	double p99 = quantile(res->wall[o][nsizes - 1], n, 0.99) * 1e3;
	double r0 = quantile(res->rows[o][0], n, 0.5), r1 = quantile(res->rows[o][nsizes - 1], n, 0.5);
	bool answer_grows = r0 >= 0 && r1 > TARGET_GROWTH * (r0 > 1 ? r0 : 1);
	const char *v_ms = p99 <= TARGET_MS ? "PASS" : "FAIL";
	const char *v_g = answer_grows ? "n/a (answer grows)" : ratio_verdict(ratio, n, TARGET_GROWTH);
	if (r0 >= 0)
		printf(" %.0f → %.0f |", r0, r1);
	else
		printf(" – |");
	printf(" %.2f× [%.2f–%.2f] (%.2f–%.2f) | %s | %s |\n", quantile(ratio, n, 0.5),
	       quantile(ratio, n, 0.25), quantile(ratio, n, 0.75), quantile(ratio, n, 0.0),
	       quantile(ratio, n, 1.0), v_ms, v_g);
	v->failures += strcmp(v_ms, "PASS") != 0;
	v->failures += strcmp(v_g, "FAIL") == 0;
	v->unclear += strncmp(v_g, "INCONCLUSIVE", 12) == 0;
}

static void report_ops(const op_results *res, const bench_cfg *cfg, verdicts *v)
{
	size_t nsizes = cfg->nsizes;
	print_ops_header(cfg);
	double *ratio = calloc(res->n, sizeof *ratio);
	if (ratio == NULL)
		die("results", "out of memory");
	for (size_t o = 0; o < NOPS; o++)
		print_op_row(res, o, nsizes, ratio, v);
	for (size_t o = 0; o < NOPS; o++)
		if (res->out_bytes[o][nsizes - 1])
			printf("\n%s: JSON output %zu bytes at %ld sites (%zu at %ld)", ops[o].name,
			       res->out_bytes[o][nsizes - 1], cfg->sizes[nsizes - 1], res->out_bytes[o][0],
			       cfg->sizes[0]);
	printf("\n");
	free(ratio);
	fflush(stdout);
}

/* The feed's runs: wall and CPU seconds per device (0 fresh, 1 acked), and their ratios. */
typedef struct feed_runs {
	size_t n;
	double *wall[2], *cpu[2], *cpu_ratio, *wall_ratio;
	long skipped[2];
} feed_runs;

static void feed_measure(feed_runs *fr, const char *dir, const bench_cfg *cfg)
{
	char fresh[4200], acked[4200], work[4200];
	snprintf(fresh, sizeof fresh, "%s/feed-fresh.fic", dir);
	snprintf(acked, sizeof acked, "%s/feed-acked.fic", dir);
	snprintf(work, sizeof work, "%s/feed-work.fic", dir);
	int64_t changed_at = wall_ms();
	build_feed_template(fresh, 0, cfg->feed_sites, changed_at);
	build_feed_template(acked, cfg->feed_acked, cfg->feed_sites, changed_at);
	cJSON *items = cJSON_CreateArray();
	uint64_t r = 4242;
	for (long i = 0; i < cfg->feed_sites; i++)
		cJSON_AddItemToArray(items, feed_item(i, &r, changed_at));
	size_t fn = fr->n = (size_t)cfg->feed_reps;
	fr->cpu_ratio = calloc(fn, sizeof(double));
	fr->wall_ratio = calloc(fn, sizeof(double));
	fr->skipped[0] = fr->skipped[1] = 0;
	for (int k = 0; k < 2; k++) {
		fr->wall[k] = calloc(fn, sizeof(double));
		fr->cpu[k] = calloc(fn, sizeof(double));
		if (!fr->wall[k] || !fr->cpu[k])
			die("results", "out of memory");
	}
	if (!fr->cpu_ratio || !fr->wall_ratio)
		die("results", "out of memory");
	for (size_t rep = 0; rep < fn; rep++) {
		for (int kk = 0; kk < 2; kk++) {
			int k = (kk + (int)rep) % 2; /* A B, B A, … */
			apply_feed_once(k ? acked : fresh, work, items, cfg->feed_sites, &fr->wall[k][rep],
			                &fr->cpu[k][rep], &fr->skipped[k]);
		}
		fr->cpu_ratio[rep] = fr->cpu[1][rep] / fr->cpu[0][rep];
		fr->wall_ratio[rep] = fr->wall[1][rep] / fr->wall[0][rep];
	}
	cJSON_Delete(items);
	remove_store(fresh);
	remove_store(acked);
}

static void feed_report(const feed_runs *fr, const bench_cfg *cfg, verdicts *v)
{
	size_t fn = fr->n;
	const char *v_feed = ratio_verdict(fr->cpu_ratio, fn, TARGET_FEED);
	printf("\nfeed: %ld county sites in pages of %d (one durable transaction each), %zu runs "
	       "each, alternating\n",
	       cfg->feed_sites, FEED_PAGE, fn);
	printf("| device | wall median (min–max) s | CPU median (min–max) s | skipped |\n|---|---|---|---|\n");
	for (int k = 0; k < 2; k++) {
		char label[64] = "fresh";
		if (k)
			snprintf(label, sizeof label, "with %ld acknowledged records", cfg->feed_acked);
		printf("| %s | %.3f (%.3f–%.3f) | %.3f (%.3f–%.3f) | %ld |\n", label,
		       quantile(fr->wall[k], fn, 0.5), quantile(fr->wall[k], fn, 0.0),
		       quantile(fr->wall[k], fn, 1.0), quantile(fr->cpu[k], fn, 0.5),
		       quantile(fr->cpu[k], fn, 0.0), quantile(fr->cpu[k], fn, 1.0), fr->skipped[k]);
	}
	printf("acked/fresh: CPU %.2f× (%.2f–%.2f), wall %.2f× (%.2f–%.2f); ≤ %.0f×: %s\n",
	       quantile(fr->cpu_ratio, fn, 0.5), quantile(fr->cpu_ratio, fn, 0.0),
	       quantile(fr->cpu_ratio, fn, 1.0), quantile(fr->wall_ratio, fn, 0.5),
	       quantile(fr->wall_ratio, fn, 0.0), quantile(fr->wall_ratio, fn, 1.0), TARGET_FEED,
	       v_feed);
	v->failures += strcmp(v_feed, "FAIL") == 0;
	v->unclear += strncmp(v_feed, "INCONCLUSIVE", 12) == 0;
	fflush(stdout);
}

static void feed_runs_free(feed_runs *fr)
{
	for (int k = 0; k < 2; k++) {
		free(fr->wall[k]);
		free(fr->cpu[k]);
	}
	free(fr->cpu_ratio);
	free(fr->wall_ratio);
}

/* Filing a lead against the pending outbox, at three sizes. */
static void run_pending(const char *dir, const bench_cfg *cfg)
{
	store_fix pf[3];
	memset(pf, 0, sizeof pf);
	for (int i = 0; i < 3; i++) {
		snprintf(pf[i].path, sizeof pf[i].path, "%s/pending-%ld.fic", dir, cfg->pend[i]);
		build_pending_store(pf[i].path, cfg->pend[i]);
		open_store(&pf[i].store, pf[i].path);
	}
	long preps = cfg->quick ? 9 : 60;
	double *pw[3], *pc[3];
	for (int i = 0; i < 3; i++) {
		pw[i] = calloc((size_t)preps, sizeof(double));
		pc[i] = calloc((size_t)preps, sizeof(double));
		if (!pw[i] || !pc[i])
			die("results", "out of memory");
	}
	for (long rep = -1; rep < preps; rep++)
		for (int ii = 0; ii < 3; ii++) {
			int i = (ii + (int)(rep < 0 ? 0 : rep)) % 3;
			op_ctx c = { &pf[i], 0, 0, -1 };
			double w0 = mono_s(), c0 = cpu_s();
			op_file_lead(&c);
			if (rep >= 0) {
				pc[i][rep] = cpu_s() - c0;
				pw[i][rep] = mono_s() - w0;
			}
		}
	printf("\nfile a lead (durable) against a pending outbox, %ld runs each, interleaved\n"
	       "| pending records | wall median / p99 ms | CPU median ms |\n|---|---|---|\n",
	       preps);
	for (int i = 0; i < 3; i++) {
		printf("| %ld | %.3f / %.3f | %.3f |\n", cfg->pend[i],
		       quantile(pw[i], (size_t)preps, 0.5) * 1e3,
		       quantile(pw[i], (size_t)preps, 0.99) * 1e3,
		       quantile(pc[i], (size_t)preps, 0.5) * 1e3);
		fic_store_close(pf[i].store);
		remove_store(pf[i].path);
		free(pw[i]);
		free(pc[i]);
	}
}

/* Close the fixtures, and remove them unless --keep. */
static void fixtures_done(store_fix *fx, const bench_cfg *cfg)
{
	for (size_t z = 0; z < cfg->nsizes; z++) {
		fic_store_close(fx[z].store);
		if (cfg->keep)
			printf("kept: %s\n", fx[z].path);
		else
			remove_store(fx[z].path);
		free(fx[z].village);
		free(fx[z].place_name);
		free(fx[z].credit);
		free(fx[z].place);
		free(fx[z].lat);
		free(fx[z].lon);
	}
}

int main(int argc, char **argv)
{
	bench_cfg cfg;
	parse_args(&cfg, argc, argv);
	apply_defaults(&cfg);
	char dir[4096];
	make_dir(dir, sizeof dir, &cfg);

	store_fix fx[MAX_SIZES];
	build_fixtures(fx, dir, &cfg);

	verdicts v = { 0, 0 };
	op_results res;
	op_results_alloc(&res, (size_t)cfg.reps, cfg.nsizes);
	run_ops(&res, fx, &cfg);
	report_ops(&res, &cfg, &v);

	feed_runs fr;
	feed_measure(&fr, dir, &cfg);
	feed_report(&fr, &cfg, &v);

	run_pending(dir, &cfg);

	printf("\nverdict: %s (%d target(s) missed, %d inconclusive)\n",
	       v.failures ? "targets MISSED" : v.unclear ? "no target missed; some inconclusive"
	                                                  : "every target met",
	       v.failures, v.unclear);
	fixtures_done(fx, &cfg);
	op_results_free(&res);
	feed_runs_free(&fr);
	if (!cfg.keep)
		rmdir(dir);
	return 0;
}
