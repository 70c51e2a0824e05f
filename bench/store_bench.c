/*
 * bench/store_bench.c — durable single-record saves: fieldinspect against
 * plain SQLite on the same disk, record by record.
 *
 * What it measures. An inspector's app saves one record at a time, and each
 * save must be on disk before the UI says "saved" (store.h: a call that
 * returns FIC_OK has committed with WAL + synchronous=FULL). So the figure
 * that matters is the latency of single-record durable transactions. Each
 * round makes three saves, in turn:
 *   A  fic_site_add: validation, a UUIDv7, a place-code check, the sites row,
 *      an audit row and an outbox row, one transaction;
 *   B  plain SQLite, one transaction holding the same sites row (the very
 *      values A stored, read back from A's file), into a database with the
 *      same schema (copied from A's: columns, constraints, indexes, triggers);
 *   C  plain SQLite, one transaction holding the same three rows A wrote.
 * Same pragmas everywhere (WAL, synchronous=FULL, foreign_keys=ON), one file
 * each on the same disk. Rates are compared round by round (wall time: the
 * wait for the disk is the point): "a save vs one raw row" = B's time / A's,
 * "vs the same rows raw" = C's time / A's — 1 means as fast as raw SQLite.
 *
 * Why record by record. This VM's fsync flips between about 0.3 ms and 4 ms
 * regimes faster than a block of 100 commits (/work/shared/MEASURED.md), so
 * blocks of one kind then the other compare different disks. Within a round
 * the order alternates (A B C, then C B A). Reported: the median of the
 * per-round ratios with min-max and the median's 95 % interval; when that
 * interval holds 1, the difference is too small to tell on this disk.
 *
 * How. A fresh temporary directory (under $TMPDIR, /tmp, or argv[2]); the
 * filesystem type is printed, since a tmpfs makes fsync free and the
 * figures meaningless for durability. A short unmeasured warm-up; the
 * measured phase stops early after TIME_BUDGET_S seconds.
 *
 * Usage: store_bench [rounds (default 2000)] [parent directory for the temp dir]
 */
#include <fieldinspect/fieldinspect.h>

#include "bench_stats.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_ROUNDS 2000
#define WARMUP 20
#define TIME_BUDGET_S 20.0
#define TMPFS_MAGIC_NUMBER 0x01021994
#define MAX_COLS 64

/* The values every saved record carries (only the name varies). */
#define ROW_ADDRESS "重庆市渝北区龙溪街道金龙路 88 号"
#define ROW_MANAGER "王老师"
#define ROW_NOTE "新建本底：巡查中发现，未在区县名录中"
#define ROW_LAT 29.5630
#define ROW_LON 106.5516
#define ROW_ENROLMENT 620

static void die(const char *what, const char *detail)
{
	fprintf(stderr, "store_bench: %s: %s\n", what, detail);
	exit(1);
}

static void fill_site(fic_site *s, const char *name)
{
	fic_site init = FIC_SITE_INIT;
	*s = init;
	s->kind = FIC_SITE_SCHOOL;
	s->name = name;
	s->address = ROW_ADDRESS;
	s->manager = ROW_MANAGER;
	s->has_location = 1;
	s->lat = ROW_LAT;
	s->lon = ROW_LON;
	s->school_level = FIC_SCHOOL_PRIMARY;
	s->boarding = 0;
	s->enrolment = ROW_ENROLMENT;
	s->note = ROW_NOTE;
}

/* ---- the rows A wrote, read back through a connection of our own ---- */

enum { T_SITES, T_AUDIT, T_OUTBOX, T_COUNT };
static const char *const table[T_COUNT] = { "sites", "audit", "outbox" };

typedef struct rows {
	sqlite3_value *v[T_COUNT][MAX_COLS];
	int n[T_COUNT];
} rows;

static void rows_free(rows *r)
{
	for (int t = 0; t < T_COUNT; t++) {
		for (int i = 0; i < r->n[t]; i++)
			sqlite3_value_free(r->v[t][i]);
		r->n[t] = 0;
	}
}

static void read_row(sqlite3 *db, const char *sql, const char *arg, rows *r, int t)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		die(sql, sqlite3_errmsg(db));
	if (arg)
		sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW)
		die("reading back a saved row", table[t]);
	r->n[t] = sqlite3_column_count(st);
	for (int i = 0; i < r->n[t] && i < MAX_COLS; i++)
		r->v[t][i] = sqlite3_value_dup(sqlite3_column_value(st, i));
	sqlite3_finalize(st);
}

/* The sites row of `id`, and the newest audit and outbox rows (A's, just written). */
static void read_back(sqlite3 *db, const char *id, rows *r)
{
	read_row(db, "SELECT * FROM sites WHERE id = ?1", id, r, T_SITES);
	read_row(db, "SELECT * FROM audit ORDER BY seq DESC LIMIT 1", NULL, r, T_AUDIT);
	read_row(db, "SELECT * FROM outbox ORDER BY seq DESC LIMIT 1", NULL, r, T_OUTBOX);
}

/* ---- plain SQLite, with A's schema ---- */

typedef struct plain {
	sqlite3 *db;
	sqlite3_stmt *ins[T_COUNT];
} plain;

static void plain_exec(plain *p, const char *sql)
{
	if (sqlite3_exec(p->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		die(sql, sqlite3_errmsg(p->db));
}

/* A database at `path` with every table, index and trigger of `from`. */
static void plain_open(plain *p, const char *path, sqlite3 *from)
{
	if (sqlite3_open_v2(path, &p->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	                                      SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
		die("opening a plain database", p->db ? sqlite3_errmsg(p->db) : "out of memory");
	sqlite3_busy_timeout(p->db, 5000);
	plain_exec(p, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;");
	sqlite3_stmt *st;
	/* (A virtual table's shadow tables — the R*Tree's _rowid, _node and
	 * _parent — come with it, not from their own statements.) */
	if (sqlite3_prepare_v2(from, "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT "
	                       "LIKE 'sqlite_%' AND name NOT IN (SELECT v.name || x.s FROM sqlite_master v, "
	                       "(SELECT '_rowid' AS s UNION ALL SELECT '_node' UNION ALL SELECT '_parent') x "
	                       "WHERE v.sql LIKE 'CREATE VIRTUAL TABLE%') "
	                       "ORDER BY type = 'table' DESC, type = 'index' DESC",
	                       -1, &st, NULL) != SQLITE_OK)
		die("reading the schema", sqlite3_errmsg(from));
	while (sqlite3_step(st) == SQLITE_ROW)
		plain_exec(p, (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	for (int t = 0; t < T_COUNT; t++) {
		char sql[600] = "", q[8];
		int cols = 0;
		sqlite3_stmt *info;
		snprintf(sql, sizeof sql, "SELECT count(*) FROM pragma_table_info('%s')", table[t]);
		if (sqlite3_prepare_v2(p->db, sql, -1, &info, NULL) == SQLITE_OK && sqlite3_step(info) == SQLITE_ROW)
			cols = sqlite3_column_int(info, 0);
		sqlite3_finalize(info);
		snprintf(sql, sizeof sql, "INSERT INTO %s VALUES (", table[t]);
		for (int i = 0; i < cols && i < MAX_COLS; i++) {
			snprintf(q, sizeof q, "%s?", i ? ", " : "");
			strncat(sql, q, sizeof sql - strlen(sql) - 2);
		}
		strncat(sql, ")", sizeof sql - strlen(sql) - 1);
		if (sqlite3_prepare_v2(p->db, sql, -1, &p->ins[t], NULL) != SQLITE_OK)
			die(sql, sqlite3_errmsg(p->db));
	}
}

static void plain_close(plain *p)
{
	for (int t = 0; t < T_COUNT; t++)
		sqlite3_finalize(p->ins[t]);
	sqlite3_close(p->db);
}

/* One durable transaction with A's first `ntables` rows; seconds. */
static double plain_save(plain *p, const rows *r, int ntables)
{
	double t0 = bs_wall_ms();
	plain_exec(p, "BEGIN IMMEDIATE");
	for (int t = 0; t < ntables; t++) {
		sqlite3_stmt *st = p->ins[t];
		for (int i = 0; i < r->n[t]; i++)
			sqlite3_bind_value(st, i + 1, r->v[t][i]);
		if (sqlite3_step(st) != SQLITE_DONE)
			die("plain insert", sqlite3_errmsg(p->db));
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
	plain_exec(p, "COMMIT");
	return (bs_wall_ms() - t0) / 1000.0;
}

/* ---- one round: A, B, C in turn ---- */

typedef struct bench {
	fic_store *store;
	sqlite3 *peek;   /* our own connection to A's file */
	plain one, three;
	double *a, *b, *c; /* seconds per save */
} bench;

static double fic_save(bench *x, const fic_site *s, char id[FIC_UUID_BUFSIZE])
{
	fic_site *out = NULL;
	double t0 = bs_wall_ms();
	if (fic_site_add(&out, x->store, s, "bench") != FIC_OK)
		die("fic_site_add", fic_error_last()->message);
	double t = (bs_wall_ms() - t0) / 1000.0;
	snprintf(id, FIC_UUID_BUFSIZE, "%s", out->id);
	fic_site_free(out);
	return t;
}

/* A, B, C, or C, B, A: B and C write the rows A wrote in the round before. */
static void one_round(bench *x, int i, rows *prev, bool keep)
{
	char name[128], id[FIC_UUID_BUFSIZE];
	snprintf(name, sizeof name, "阳光小学 %d号", i);
	fic_site s;
	fill_site(&s, name);
	double ta, tb, tc;
	if (i % 2 == 0) {
		ta = fic_save(x, &s, id);
		tb = plain_save(&x->one, prev, 1);
		tc = plain_save(&x->three, prev, T_COUNT);
	} else {
		tc = plain_save(&x->three, prev, T_COUNT);
		tb = plain_save(&x->one, prev, 1);
		ta = fic_save(x, &s, id);
	}
	rows_free(prev);
	read_back(x->peek, id, prev);
	if (keep)
		x->a[i] = ta, x->b[i] = tb, x->c[i] = tc;
}

static double median_ms(const double *v, int n)
{
	return bs_summarise(v, n).median * 1e3;
}

/* B's or C's time over A's, round by round: A's rate as a fraction of raw SQLite's. */
static void print_ratio(const char *what, const double *raw, const double *a, int n)
{
	double *r = malloc((size_t)n * sizeof *r);
	if (r == NULL)
		die("allocating", "out of memory");
	for (int i = 0; i < n; i++)
		r[i] = raw[i] / a[i];
	bs_summary s = bs_summarise(r, n);
	char buf[200];
	bs_format(buf, sizeof buf, &s, 2);
	printf("  %-38s %s\n  %-38s %s\n", what, buf, "",
	       s.hi < 1 ? "fieldinspect is slower" : s.lo > 1 ? "fieldinspect is faster"
	                                                      : "no difference this disk can show (the interval holds 1)");
	free(r);
}

static void report(const bench *x, int n, double secs, const char *dir, bool tmpfs, long asked)
{
	printf("store_bench: durable single-record saves (one transaction each, WAL, synchronous=FULL), "
	       "round by round\n");
	printf("  directory: %s%s\n", dir,
	       tmpfs ? "  (tmpfs: fsync is free, figures are NOT durable-write figures)" : "");
	printf("  SQLite %s, fieldinspect %s, %d rounds (+%d warm-up) in %.1f s%s\n", sqlite3_libversion(),
	       fic_version(), n, WARMUP, secs, n < asked ? " (stopped early: the time budget ran out)" : "");
	printf("\n  %-38s %10s\n", "median latency", "ms");
	printf("  %-38s %10.3f\n", "A fic_site_add (3 rows + checks)", median_ms(x->a, n));
	printf("  %-38s %10.3f\n", "B plain SQLite, the same sites row", median_ms(x->b, n));
	printf("  %-38s %10.3f\n", "C plain SQLite, the same 3 rows", median_ms(x->c, n));
	printf("\n  fieldinspect's save rate as a fraction of raw SQLite's, per round (B/A, C/A):\n");
	print_ratio("a save vs one raw row (B/A):", x->b, x->a, n);
	print_ratio("a save vs the same rows raw (C/A):", x->c, x->a, n);
}

int main(int argc, char **argv)
{
	long asked = DEFAULT_ROUNDS;
	if (argc > 1) {
		char *end;
		asked = strtol(argv[1], &end, 10);
		if (*end != '\0' || asked < 1 || asked > 10000000)
			die("usage", "store_bench [rounds >= 1] [parent directory]");
	}
	const char *base = argc > 2 ? argv[2] : getenv("TMPDIR");
	if (base == NULL || base[0] == '\0')
		base = "/tmp";
	char dir[4096], path[4][4200];
	snprintf(dir, sizeof dir, "%s/fic_bench.XXXXXX", base);
	if (mkdtemp(dir) == NULL)
		die("creating a temporary directory", strerror(errno));
	static const char *const names[] = { "fieldinspect.fic", "one-row.sqlite", "three-rows.sqlite" };
	for (int i = 0; i < 3; i++)
		snprintf(path[i], sizeof path[i], "%s/%s", dir, names[i]);
	struct statfs sfs;
	bool tmpfs = statfs(dir, &sfs) == 0 && (unsigned long)sfs.f_type == TMPFS_MAGIC_NUMBER;

	bench x;
	memset(&x, 0, sizeof x);
	fic_store_options opts = FIC_STORE_OPTIONS_INIT;
	opts.actor = "bench";
	if (fic_store_open(&x.store, path[0], &opts) != FIC_OK)
		die("fic_store_open", fic_error_last()->message);
	if (sqlite3_open_v2(path[0], &x.peek, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		die("reading the store", sqlite3_errmsg(x.peek));
	plain_open(&x.one, path[1], x.peek);
	plain_open(&x.three, path[2], x.peek);
	x.a = calloc((size_t)asked, sizeof *x.a);
	x.b = calloc((size_t)asked, sizeof *x.b);
	x.c = calloc((size_t)asked, sizeof *x.c);
	if (!x.a || !x.b || !x.c)
		die("allocating", "out of memory");
	rows prev;
	memset(&prev, 0, sizeof prev);
	char id[FIC_UUID_BUFSIZE];
	fic_site s;
	fill_site(&s, "预热学校");
	fic_save(&x, &s, id);
	read_back(x.peek, id, &prev);
	for (int i = 0; i < WARMUP; i++)
		one_round(&x, i, &prev, false);
	int n = 0;
	double start = bs_wall_ms();
	while (n < asked && (n < 15 || bs_wall_ms() - start < TIME_BUDGET_S * 1e3)) {
		one_round(&x, n, &prev, true);
		n++;
	}
	report(&x, n, (bs_wall_ms() - start) / 1e3, dir, tmpfs, asked);
	rows_free(&prev);
	plain_close(&x.one);
	plain_close(&x.three);
	sqlite3_close(x.peek);
	fic_store_close(x.store);
	static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };
	for (int i = 0; i < 3; i++)
		for (size_t k = 0; k < sizeof suffixes / sizeof suffixes[0]; k++) {
			char p[4300];
			snprintf(p, sizeof p, "%.4200s%s", path[i], suffixes[k]);
			unlink(p);
		}
	char photos[4300];
	snprintf(photos, sizeof photos, "%.4200s.photos", path[0]);
	rmdir(photos);
	rmdir(dir);
	free(x.a);
	free(x.b);
	free(x.c);
	return 0;
}
