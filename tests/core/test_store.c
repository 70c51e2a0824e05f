/*
 * tests/core/test_store.c — opening the store: durability settings, schema
 * version and migrations, and every kind of file that is not a good store
 * (not a database, another program's database, damaged, newer, read-only).
 */
#include "testutil.h"
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

typedef struct fixture {
	char *dir;
	char *path;
	fic_platform platform;
	tu_clock clock;
	fic_store_options opts;
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	f->dir = tu_mkdtemp();
	f->path = tu_path(f->dir, "store.db");
	tu_platform(&f->platform, &f->clock);
	fic_store_options o = FIC_STORE_OPTIONS_INIT;
	o.platform = &f->platform;
	o.actor = "inspector-7";
	f->opts = o;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	tu_rmtree(f->dir);
	free(f->dir);
	free(f->path);
	free(f);
	return 0;
}

/* Read one integer with a plain SQLite connection, outside the library. */
static int64_t raw_int(const char *path, const char *sql)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	int64_t v = -12345;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void raw_exec(const char *path, const char *sql)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static char *read_file(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	long n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	char *buf = malloc((size_t)n + 1);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	*len = (size_t)n;
	return buf;
}

static void add_school(fic_store *s, const char *name)
{
	fic_site site = FIC_SITE_INIT;
	site.kind = FIC_SITE_SCHOOL;
	site.name = name;
	assert_int_equal(fic_site_add(NULL, s, &site, NULL), FIC_OK);
}

static void new_store_is_durable_wal_with_foreign_keys(void **state)
{
	fixture *f = *state;
	fic_store *s;
	assert_int_equal(fic_store_open(&s, f->path, &f->opts), FIC_OK);
	int64_t v;
	sqlite3_stmt *st;
	/* secure_delete: overwritten and deleted content is zeroed, whatever the
	 * SQLite build's default (Debian's is on, an app's bundled one off). */
	const char *checks[][2] = { { "PRAGMA synchronous", "2" }, { "PRAGMA foreign_keys", "1" },
		                    { "PRAGMA secure_delete", "1" } };
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(sqlite3_prepare_v2(s->db, checks[i][0], -1, &st, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		v = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
		assert_int_equal(v, atoi(checks[i][1]));
	}
	assert_int_equal(sqlite3_prepare_v2(s->db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	fic_store_close(s);
	assert_int_equal(raw_int(f->path, "PRAGMA user_version"), fic_store_schema_version());
	assert_int_equal(raw_int(f->path, "PRAGMA application_id"), 1179206449);
}

static void device_id_is_a_uuid7_kept_across_opens(void **state)
{
	fixture *f = *state;
	fic_store *s;
	assert_int_equal(fic_store_open(&s, f->path, &f->opts), FIC_OK);
	char first[FIC_UUID_BUFSIZE];
	strcpy(first, fic_store_device_id(s));
	assert_int_equal(strlen(first), 36);
	assert_int_equal(first[14], '7');
	assert_true(strchr("89ab", first[19]) != NULL);
	fic_store_close(s);
	assert_int_equal(fic_store_open(&s, f->path, &f->opts), FIC_OK);
	assert_string_equal(fic_store_device_id(s), first);
	fic_store_close(s);
	assert_null(fic_store_device_id(NULL));
}

static void open_refuses_bad_arguments(void **state)
{
	fixture *f = *state;
	fic_store *s = (fic_store *)0x1;
	assert_int_equal(fic_store_open(NULL, f->path, NULL), FIC_EINVAL);
	assert_int_equal(fic_store_open(&s, NULL, NULL), FIC_EINVAL);
	assert_null(s);
	assert_int_equal(fic_store_open(&s, "", NULL), FIC_EINVAL);
	assert_int_equal(fic_store_open(&s, "bad\xC0\xAF.db", NULL), FIC_EINVAL);
	char *longp = malloc(5000);
	memset(longp, 'a', 4999);
	longp[4999] = '\0';
	assert_int_equal(fic_store_open(&s, longp, NULL), FIC_ETOOBIG);
	free(longp);
	fic_store_options o = f->opts;
	o.version = 77;
	assert_int_equal(fic_store_open(&s, f->path, &o), FIC_EINVAL);
	o = f->opts;
	o.busy_timeout_ms = -1;
	assert_int_equal(fic_store_open(&s, f->path, &o), FIC_EINVAL);
	fic_platform broken = f->platform;
	broken.random_bytes = NULL;
	o = f->opts;
	o.platform = &broken;
	assert_int_equal(fic_store_open(&s, f->path, &o), FIC_EINVAL);
	o = f->opts;
	o.actor = "\xFF";
	assert_int_equal(fic_store_open(&s, f->path, &o), FIC_EINVAL);
	assert_null(s);
	/* None of that created the file. */
	assert_int_not_equal(access(f->path, F_OK), 0);
	assert_int_equal(fic_store_options_init(NULL, FIC_STORE_OPTIONS_VERSION), FIC_EINVAL);
	assert_int_equal(fic_store_options_init(&o, 3), FIC_EINVAL);
	assert_int_equal(fic_store_options_init(&o, FIC_STORE_OPTIONS_VERSION), FIC_OK);
	assert_null(o.platform);
}

static void a_file_that_is_not_a_database_is_refused_and_left_alone(void **state)
{
	fixture *f = *state;
	char junk[8192];
	for (size_t i = 0; i < sizeof junk; i++)
		junk[i] = (char)("inspection notes "[i % 17]);
	assert_int_equal(tu_write_file(f->path, junk, sizeof junk), 0);
	fic_store *s = (fic_store *)0x1;
	assert_int_equal(fic_store_open(&s, f->path, &f->opts), FIC_ENOTSTORE);
	assert_null(s);
	assert_non_null(strstr(fic_error_last()->message, "not a database"));
	size_t len;
	char *after = read_file(f->path, &len);
	assert_int_equal(len, sizeof junk);
	assert_memory_equal(after, junk, sizeof junk);
	free(after);
}

static void a_directory_is_not_a_store(void **state)
{
	fixture *f = *state;
	fic_store *s;
	assert_int_equal(fic_store_open(&s, f->dir, &f->opts), FIC_ENOTSTORE);
	assert_null(s);
}

static void another_programs_database_is_refused_untouched(void **state)
{
	fixture *f = *state;
	raw_exec(f->path, "CREATE TABLE contacts (name TEXT); INSERT INTO contacts VALUES ('x');");
	fic_store *s;
	assert_int_equal(fic_store_open(&s, f->path, &f->opts), FIC_ENOTSTORE);
	assert_non_null(strstr(fic_error_last()->message, "another program"));
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM sqlite_schema"), 1);
	assert_int_equal(raw_int(f->path, "PRAGMA user_version"), 0);
}

static void our_store_without_its_application_id_is_still_ours(void **state)
{
	fixture *f = *state;
	fic_store *s;
	assert_int_equal(fic_store_open(&s, f->path, &f->opts), FIC_OK);
	add_school(s, "导出重建");
	fic_store_close(s);
	/* As after rebuilding the file from an SQL dump, which loses the header. */
	raw_exec(f->path, "PRAGMA application_id = 0");
	assert_int_equal(fic_store_open(&s, f->path, &f->opts), FIC_OK);
	fic_store_close(s);
	assert_int_equal(raw_int(f->path, "PRAGMA application_id"), 1179206449);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM sites"), 1);
	/* A schema version alone, without our tables, does not make a file ours. */
	char *other = tu_path(f->dir, "other.db");
	raw_exec(other, "CREATE TABLE meta (k, v); PRAGMA user_version = 1;");
	assert_int_equal(fic_store_open(&s, other, &f->opts), FIC_ENOTSTORE);
	assert_int_equal(raw_int(other, "PRAGMA application_id"), 0);
	free(other);
}

static void an_empty_file_becomes_a_store(void **state)
{
	fixture *f = *state;
	assert_int_equal(tu_write_file(f->path, "", 0), 0);
	fic_store *s;
	assert_int_equal(fic_store_open(&s, f->path, &f->opts), FIC_OK);
	fic_store_close(s);
}

static void a_store_from_a_newer_version_is_refused_untouched(void **state)
{
	fixture *f = *state;
	fic_store *s;
	assert_int_equal(fic_store_open(&s, f->path, &f->opts), FIC_OK);
	add_school(s, "新版本前的学校");
	fic_store_close(s);
	raw_exec(f->path, "PRAGMA user_version = 99");
	assert_int_equal(fic_store_open(&s, f->path, &f->opts), FIC_ENEWER);
	assert_null(s);
	assert_non_null(strstr(fic_error_last()->message, "newer"));
	assert_int_equal(raw_int(f->path, "PRAGMA user_version"), 99);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM sites"), 1);
}

static void a_failed_migration_leaves_the_store_as_it_was(void **state)
{
	fixture *f = *state;
	fic_store *s;
	assert_int_equal(fic_store_open(&s, f->path, &f->opts), FIC_OK);
	add_school(s, "迁移前的学校");
	fic_store_close(s);
	int64_t tables = raw_int(f->path, "SELECT count(*) FROM sqlite_schema");

	fic__migration bad[8];
	size_t n = fic__migrations_count;
	assert_true(n + 1 < 8);
	memcpy(bad, fic__migrations, n * sizeof bad[0]);
	bad[n].version = bad[n - 1].version + 1;
	bad[n].name = "9999_broken";
	bad[n].sql = "CREATE TABLE half_done (a); ALTER TABLE sites ADD COLUMN extra TEXT; "
	             "INSERT INTO no_such_table VALUES (1);";
	assert_int_equal(fic__store_open_with(&s, f->path, &f->opts, bad, n + 1), FIC_ESCHEMA);
	assert_null(s);
	assert_non_null(strstr(fic_error_last()->message, "9999_broken"));
	assert_non_null(strstr(fic_error_last()->message, "no_such_table"));

	/* Nothing of the failed migration remains; the old schema and data do. */
	assert_int_equal(raw_int(f->path, "PRAGMA user_version"), bad[n - 1].version);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM sqlite_schema"), tables);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM pragma_table_info('sites') "
	                                  "WHERE name = 'extra'"), 0);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM sites"), 1);
	/* And the current build still opens it. */
	assert_int_equal(fic_store_open(&s, f->path, &f->opts), FIC_OK);
	fic_store_close(s);
}

static void migrations_apply_in_order_and_record_the_version(void **state)
{
	fixture *f = *state;
	fic__migration more[8];
	size_t n = fic__migrations_count;
	memcpy(more, fic__migrations, n * sizeof more[0]);
	more[n].version = more[n - 1].version + 1;
	more[n].name = "9998_add_table";
	more[n].sql = "CREATE TABLE later_feature (x INTEGER);";
	fic_store *s;
	assert_int_equal(fic_store_open(&s, f->path, &f->opts), FIC_OK);
	add_school(s, "升级前");
	fic_store_close(s);
	assert_int_equal(fic__store_open_with(&s, f->path, &f->opts, more, n + 1), FIC_OK);
	fic_store_close(s);
	assert_int_equal(raw_int(f->path, "PRAGMA user_version"), more[n].version);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM sqlite_schema WHERE name = "
	                                  "'later_feature'"), 1);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM sites"), 1);
	/* The older build now sees a newer store. */
	assert_int_equal(fic_store_open(&s, f->path, &f->opts), FIC_ENEWER);
}

static void a_damaged_store_reports_corruption_without_crashing(void **state)
{
	fixture *f = *state;
	fic_store *s;
	assert_int_equal(fic_store_open(&s, f->path, &f->opts), FIC_OK);
	char name[64];
	for (int i = 0; i < 300; i++) {
		snprintf(name, sizeof name, "学校 %03d — a longer name to fill pages", i);
		add_school(s, name);
	}
	fic_store_close(s);
	size_t len;
	char *bytes = read_file(f->path, &len);
	assert_true(len > 8 * 4096);
	/* Scribble over everything after the first two pages. */
	for (size_t i = 2 * 4096; i < len; i++)
		bytes[i] = (char)(i * 7919);
	assert_int_equal(tu_write_file(f->path, bytes, len), 0);
	free(bytes);

	int rc = fic_store_open(&s, f->path, &f->opts);
	if (rc == FIC_OK) {
		/* Damage beyond the schema shows up on use and in the check. */
		assert_int_equal(fic_store_check(s), FIC_ECORRUPT);
		fic_site_list *list = NULL;
		int rc2 = fic_site_search(&list, s, 0, NULL, 0);
		if (rc2 != FIC_OK)
			assert_int_equal(rc2, FIC_ECORRUPT);
		fic_site_list_free(list);
		fic_store_close(s);
	} else {
		assert_int_equal(rc, FIC_ECORRUPT);
		assert_null(s);
	}
}

static void a_damaged_header_is_refused(void **state)
{
	fixture *f = *state;
	fic_store *s;
	assert_int_equal(fic_store_open(&s, f->path, &f->opts), FIC_OK);
	add_school(s, "头部损坏");
	fic_store_close(s);
	int fd = open(f->path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "garbage garbage!", 16, 0), 16);
	close(fd);
	int rc = fic_store_open(&s, f->path, &f->opts);
	assert_true(rc == FIC_ENOTSTORE || rc == FIC_ECORRUPT);
	assert_null(s);
}

/* Open the store as an unprivileged user (root ignores file modes). */
static int open_as_nobody(const char *path)
{
	pid_t pid = fork();
	if (pid == 0) {
		if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
			_exit(100);
		fic_store *s;
		int rc = fic_store_open(&s, path, NULL);
		fic_store_close(s);
		_exit(-rc);
	}
	int status;
	waitpid(pid, &status, 0);
	assert_true(WIFEXITED(status));
	assert_int_not_equal(WEXITSTATUS(status), 100);
	return -WEXITSTATUS(status);
}

static void a_read_only_store_is_refused(void **state)
{
	fixture *f = *state;
	fic_store *s;
	assert_int_equal(fic_store_open(&s, f->path, &f->opts), FIC_OK);
	add_school(s, "只读");
	fic_store_close(s);
	assert_int_equal(chmod(f->dir, 0755), 0);
	assert_int_equal(chmod(f->path, 0444), 0);
	assert_int_equal(open_as_nobody(f->path), FIC_EREADONLY);
	/* A store in a directory nobody may write (no room for the WAL) is refused too. */
	assert_int_equal(chmod(f->path, 0666), 0);
	assert_int_equal(chmod(f->dir, 0555), 0);
	assert_int_equal(open_as_nobody(f->path), FIC_EREADONLY);
	assert_int_equal(chmod(f->dir, 0700), 0);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM sites"), 1);
}

static void a_new_store_in_a_read_only_directory_is_refused_as_read_only(void **state)
{
	fixture *f = *state;
	assert_int_equal(chmod(f->dir, 0555), 0);
	assert_int_equal(open_as_nobody(f->path), FIC_EREADONLY);
	assert_int_not_equal(access(f->path, F_OK), 0);
	/* A directory that does not exist is not a permission problem. */
	char *missing = tu_path(f->dir, "no-such-dir/store.db");
	fic_store *s = (fic_store *)0x1;
	assert_int_equal(fic_store_open(&s, missing, &f->opts), FIC_EIO);
	assert_null(s);
	assert_non_null(strstr(fic_error_last()->message, "does not exist"));
	free(missing);
	assert_int_equal(chmod(f->dir, 0700), 0);
}

static void a_relative_path_lives_in_the_platform_data_dir(void **state)
{
	fixture *f = *state;
	f->platform.data_dir = f->dir;
	fic_store *s;
	assert_int_equal(fic_store_open(&s, "relative.db", &f->opts), FIC_OK);
	fic_store_close(s);
	char *p = tu_path(f->dir, "relative.db");
	assert_int_equal(access(p, F_OK), 0);
	free(p);
}

static void ids_are_time_ordered_even_when_the_clock_stands_or_steps_back(void **state)
{
	fixture *f = *state;
	fic_store *s;
	assert_int_equal(fic_store_open(&s, f->path, &f->opts), FIC_OK);
	char prev[FIC_UUID_BUFSIZE] = "", id[FIC_UUID_BUFSIZE];
	for (int i = 0; i < 10000; i++) {
		if (i == 5000)
			f->clock.wall_ms -= 60000; /* clock set back a minute */
		assert_int_equal(fic_store_new_id(s, id, sizeof id), FIC_OK);
		assert_true(strcmp(prev, id) < 0);
		strcpy(prev, id);
	}
	assert_int_equal(fic_store_new_id(s, id, 10), FIC_EINVAL);
	assert_int_equal(fic_store_new_id(NULL, id, sizeof id), FIC_EINVAL);
	f->clock.fail_random = 1;
	assert_int_equal(fic_store_new_id(s, id, sizeof id), FIC_EIO);
	fic_store_close(s);
}

static void the_audit_log_cannot_be_rewritten(void **state)
{
	fixture *f = *state;
	fic_store *s;
	assert_int_equal(fic_store_open(&s, f->path, &f->opts), FIC_OK);
	add_school(s, "审计");
	assert_int_not_equal(sqlite3_exec(s->db, "UPDATE audit SET actor = 'someone else'", NULL,
	                                  NULL, NULL), SQLITE_OK);
	assert_int_not_equal(sqlite3_exec(s->db, "DELETE FROM audit", NULL, NULL, NULL), SQLITE_OK);
	fic_audit_list *log;
	assert_int_equal(fic_audit_list_get(&log, s, NULL, 0), FIC_OK);
	assert_int_equal(log->count, 1);
	assert_string_equal(log->entries[0].actor, "inspector-7");
	assert_string_equal(log->entries[0].action, "site.add");
	assert_int_equal(log->entries[0].at_ms, f->clock.wall_ms);
	fic_audit_list_free(log);
	assert_int_equal(fic_store_check(s), FIC_OK);
	fic_store_close(s);
}

static void check_finds_sites_without_their_audit_entry_or_outbox_record(void **state)
{
	fixture *f = *state;
	fic_store *s;
	assert_int_equal(fic_store_open(&s, f->path, &f->opts), FIC_OK);
	fic_site site = FIC_SITE_INIT;
	site.kind = FIC_SITE_SCHOOL;
	site.name = "账实相符";
	fic_site *saved;
	assert_int_equal(fic_site_add(&saved, s, &site, NULL), FIC_OK);
	add_school(s, "另一所");
	assert_int_equal(fic_store_check(s), FIC_OK);

	/* A site whose upload record vanished. */
	char sql[200];
	snprintf(sql, sizeof sql, "DELETE FROM outbox WHERE record_id = '%s'", saved->id);
	assert_int_equal(sqlite3_exec(s->db, sql, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(fic_store_check(s), FIC_ECORRUPT);
	assert_non_null(strstr(fic_error_last()->message, "1 site has no outbox record"));

	/* Sites written behind the library's back have neither. */
	assert_int_equal(sqlite3_exec(s->db,
	                              "INSERT INTO sites (id, kind, name, status, origin, "
	                              "created_at_ms, updated_at_ms) VALUES ('x1', 3, 'x', 1, 2, 0, 0), "
	                              "('x2', 3, 'y', 1, 2, 0, 0)", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(fic_store_check(s), FIC_ECORRUPT);
	assert_non_null(strstr(fic_error_last()->message, "2 sites have no audit entry"));
	/* The check left no transaction open. */
	assert_true(sqlite3_get_autocommit(s->db));
	fic_site_free(saved);
	fic_store_close(s);
}

static void stats_are_zero_when_they_cannot_be_read(void **state)
{
	fixture *f = *state;
	fic_store *s;
	assert_int_equal(fic_store_open(&s, f->path, &f->opts), FIC_OK);
	add_school(s, "统计");
	fic_store_stats st = FIC_STORE_STATS_INIT;
	assert_int_equal(fic_store_stats_get(s, &st), FIC_OK);
	assert_int_equal(st.sites, 1);
	assert_int_equal(st.audit_entries, 1);
	assert_int_equal(st.outbox_pending, 1);
	assert_int_equal(st.photos_pending, 0);
	assert_int_equal(st.version, FIC_STORE_STATS_VERSION);
	/* The counters are rows of their own table: a missing row is not a zero. */
	assert_int_equal(sqlite3_exec(s->db, "DELETE FROM counts WHERE name = 'audit'", NULL, NULL,
	                              NULL), SQLITE_OK);
	memset(&st, 0x5A, sizeof st);
	st.version = FIC_STORE_STATS_VERSION;
	assert_int_equal(fic_store_stats_get(s, &st), FIC_ECORRUPT);
	assert_int_equal(st.sites, 0);
	assert_int_equal(st.audit_entries, 0);
	assert_int_equal(st.outbox_pending, 0);
	assert_int_equal(st.photos_pending, 0);
	assert_int_equal(sqlite3_exec(s->db, "DROP TABLE counts", NULL, NULL, NULL), SQLITE_OK);
	memset(&st, 0x5A, sizeof st);
	st.version = FIC_STORE_STATS_VERSION;
	assert_int_not_equal(fic_store_stats_get(s, &st), FIC_OK);
	assert_int_equal(st.sites, 0);
	assert_int_equal(st.audit_entries, 0);
	assert_int_equal(st.outbox_pending, 0);
	assert_int_equal(st.photos_pending, 0);
	memset(&st, 0x5A, sizeof st);
	st.version = FIC_STORE_STATS_VERSION;
	assert_int_equal(fic_store_stats_get(NULL, &st), FIC_EINVAL);
	assert_int_equal(st.sites, 0);
	/* A struct without its version is refused, not guessed at. */
	memset(&st, 0x5A, sizeof st);
	st.version = 0;
	assert_int_equal(fic_store_stats_get(s, &st), FIC_EINVAL);
	assert_int_equal(st.sites, 0x5A5A5A5A5A5A5A5ALL);
	fic_store_close(s);
}

static void two_handles_on_one_file_see_each_others_writes(void **state)
{
	fixture *f = *state;
	fic_store *a, *b;
	assert_int_equal(fic_store_open(&a, f->path, &f->opts), FIC_OK);
	assert_int_equal(fic_store_open(&b, f->path, &f->opts), FIC_OK);
	assert_string_equal(fic_store_device_id(a), fic_store_device_id(b));
	add_school(a, "甲");
	add_school(b, "乙");
	fic_store_stats st = FIC_STORE_STATS_INIT;
	assert_int_equal(fic_store_stats_get(a, &st), FIC_OK);
	assert_int_equal(st.sites, 2);
	assert_int_equal(st.audit_entries, 2);
	assert_int_equal(st.outbox_pending, 2);
	assert_int_equal(fic_store_stats_get(NULL, &st), FIC_EINVAL);
	assert_int_equal(fic_store_stats_get(a, NULL), FIC_EINVAL);
	assert_int_equal(fic_store_check(NULL), FIC_EINVAL);
	fic_store_close(a);
	fic_store_close(b);
}

/* ---- many first opens of one new file at once ---- */

#define RACE_ROUNDS 30      /* fresh files, each opened by every racer at once */
#define RACE_MIN_ROUNDS 10  /* ...but stop after RACE_BUDGET_MS once this many are done */
#define RACE_BUDGET_MS 3000 /* (fsync-bound: slow disks and sanitizers) */
#define RACE_THREADS 4
#define RACE_PROCS 3

typedef struct racer {
	const char *path;
	const fic__migration *migrations;
	size_t count;
	int go_fd;  /* read end of the start pipe: EOF means go */
	int rc;
	char device_id[FIC_UUID_BUFSIZE];
	char message[512];
} racer;

static void race_open(racer *r)
{
	char c;
	while (read(r->go_fd, &c, 1) < 0 && errno == EINTR)
		;
	fic_store *s = NULL;
	r->rc = fic__store_open_with(&s, r->path, NULL, r->migrations, r->count);
	snprintf(r->message, sizeof r->message, "%s", fic_error_last()->message);
	snprintf(r->device_id, sizeof r->device_id, "%s", s ? fic_store_device_id(s) : "");
	fic_store_close(s);
}

static void *race_thread(void *arg)
{
	race_open(arg);
	return NULL;
}

static void concurrent_first_opens_all_succeed(void **state)
{
	fixture *f = *state;
	/* A migration that fails if run twice shows it is applied exactly once. */
	fic__migration mig[8];
	size_t n = fic__migrations_count;
	assert_true(n + 1 < 8);
	memcpy(mig, fic__migrations, n * sizeof mig[0]);
	mig[n].version = mig[n - 1].version + 1;
	mig[n].name = "9997_not_idempotent";
	mig[n].sql = "CREATE TABLE applied (x INTEGER); INSERT INTO applied VALUES (1);";

	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int round = 0;
	for (; round < RACE_ROUNDS; round++) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		long ms = (long)(now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
		if (round >= RACE_MIN_ROUNDS && ms > RACE_BUDGET_MS)
			break;
		char name[32];
		snprintf(name, sizeof name, "race-%02d.db", round);
		char *path = tu_path(f->dir, name);
		int go[2];
		assert_int_equal(pipe(go), 0);
		racer r[RACE_THREADS + RACE_PROCS];
		memset(r, 0, sizeof r);
		for (int i = 0; i < RACE_THREADS + RACE_PROCS; i++) {
			r[i].path = path;
			r[i].migrations = mig;
			r[i].count = n + 1;
			r[i].go_fd = go[0];
		}
		/* Processes first (fork before any thread exists), each reporting through a pipe. */
		pid_t pids[RACE_PROCS];
		int back[RACE_PROCS];
		for (int i = 0; i < RACE_PROCS; i++) {
			int fds[2];
			assert_int_equal(pipe(fds), 0);
			fflush(stdout);
			pids[i] = fork();
			assert_true(pids[i] >= 0);
			if (pids[i] == 0) {
				close(go[1]);
				close(fds[0]);
				racer *me = &r[RACE_THREADS + i];
				race_open(me);
				ssize_t w = write(fds[1], me, sizeof *me);
				_exit(w == (ssize_t)sizeof *me ? 0 : 1);
			}
			close(fds[1]);
			back[i] = fds[0];
		}
		pthread_t t[RACE_THREADS];
		for (int i = 0; i < RACE_THREADS; i++)
			assert_int_equal(pthread_create(&t[i], NULL, race_thread, &r[i]), 0);
		close(go[1]); /* go */
		for (int i = 0; i < RACE_THREADS; i++)
			assert_int_equal(pthread_join(t[i], NULL), 0);
		for (int i = 0; i < RACE_PROCS; i++) {
			racer got;
			size_t have = 0;
			while (have < sizeof got) {
				ssize_t k = read(back[i], (char *)&got + have, sizeof got - have);
				if (k < 0 && errno == EINTR)
					continue;
				assert_true(k > 0);
				have += (size_t)k;
			}
			close(back[i]);
			int status;
			assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
			assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
			r[RACE_THREADS + i].rc = got.rc;
			memcpy(r[RACE_THREADS + i].device_id, got.device_id, sizeof got.device_id);
			memcpy(r[RACE_THREADS + i].message, got.message, sizeof got.message);
		}
		close(go[0]);
		for (int i = 0; i < RACE_THREADS + RACE_PROCS; i++) {
			if (r[i].rc != FIC_OK)
				fail_msg("round %d, %s %d: %s", round, i < RACE_THREADS ? "thread" : "process",
				         i, r[i].message);
			assert_int_equal(strlen(r[i].device_id), 36);
			assert_string_equal(r[i].device_id, r[0].device_id);
		}
		assert_int_equal(raw_int(path, "SELECT count(*) FROM applied"), 1);
		assert_int_equal(raw_int(path, "SELECT count(*) FROM meta WHERE key = 'device_id'"), 1);
		fic_store *s;
		assert_int_equal(fic__store_open_with(&s, path, &f->opts, mig, n + 1), FIC_OK);
		assert_string_equal(fic_store_device_id(s), r[0].device_id);
		fic_store_close(s);
		free(path);
	}
	printf("concurrent first opens: %d rounds of %d threads and %d processes\n", round,
	       RACE_THREADS, RACE_PROCS);
}

/* Statements prepared on the connection, except the R*Tree module's own (it
 * keeps its shadow tables' statements for as long as the table is connected). */
static int open_statements(sqlite3 *db)
{
	int n = 0;
	for (sqlite3_stmt *st = sqlite3_next_stmt(db, NULL); st; st = sqlite3_next_stmt(db, st))
		n += strstr(sqlite3_sql(st), "site_rtree_") == NULL;
	return n;
}

static void statements_the_full_cache_cannot_hold_are_finalized(void **state)
{
	fixture *f = *state;
	/* Distinct texts at distinct addresses: the cache is keyed by the SQL
	 * text's address. */
	static char sqls[FIC_STMT_CACHE + 8][24];
	const int n = (int)(sizeof sqls / sizeof sqls[0]);
	for (int i = 0; i < n; i++)
		snprintf(sqls[i], sizeof sqls[i], "SELECT %d", i + 1);
	assert_true(n > FIC_STMT_CACHE);
	fic_store *s;
	assert_int_equal(fic_store_open(&s, f->path, &f->opts), FIC_OK);
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < n; i++) {
			sqlite3_stmt *st;
			assert_int_equal(fic__cached(s, &st, sqls[i]), FIC_OK);
			assert_int_equal(sqlite3_step(st), SQLITE_ROW);
			assert_int_equal(sqlite3_column_int(st, 0), i + 1);
			fic__release(s, st);
		}
		/* The cache holds what it can; nothing else stays prepared. */
		assert_true(open_statements(s->db) <= FIC_STMT_CACHE);
	}
	assert_non_null(strstr(f->clock.last_log, "statement cache is full"));
	fic__release(s, NULL);
	/* Once the cache is finalized, the connection closes: no statement leaked. */
	for (size_t i = 0; i < FIC_STMT_CACHE; i++) {
		sqlite3_finalize(s->cache[i].stmt);
		s->cache[i].stmt = NULL;
		s->cache[i].sql = NULL;
	}
	assert_int_equal(open_statements(s->db), 0);
	assert_int_equal(sqlite3_close(s->db), SQLITE_OK);
	s->db = NULL;
	fic_store_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(new_store_is_durable_wal_with_foreign_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(device_id_is_a_uuid7_kept_across_opens, setup, teardown),
		cmocka_unit_test_setup_teardown(open_refuses_bad_arguments, setup, teardown),
		cmocka_unit_test_setup_teardown(a_file_that_is_not_a_database_is_refused_and_left_alone, setup, teardown),
		cmocka_unit_test_setup_teardown(a_directory_is_not_a_store, setup, teardown),
		cmocka_unit_test_setup_teardown(another_programs_database_is_refused_untouched, setup, teardown),
		cmocka_unit_test_setup_teardown(our_store_without_its_application_id_is_still_ours, setup, teardown),
		cmocka_unit_test_setup_teardown(an_empty_file_becomes_a_store, setup, teardown),
		cmocka_unit_test_setup_teardown(a_store_from_a_newer_version_is_refused_untouched, setup, teardown),
		cmocka_unit_test_setup_teardown(a_failed_migration_leaves_the_store_as_it_was, setup, teardown),
		cmocka_unit_test_setup_teardown(migrations_apply_in_order_and_record_the_version, setup, teardown),
		cmocka_unit_test_setup_teardown(a_damaged_store_reports_corruption_without_crashing, setup, teardown),
		cmocka_unit_test_setup_teardown(a_damaged_header_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(a_read_only_store_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(a_new_store_in_a_read_only_directory_is_refused_as_read_only, setup, teardown),
		cmocka_unit_test_setup_teardown(a_relative_path_lives_in_the_platform_data_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(ids_are_time_ordered_even_when_the_clock_stands_or_steps_back, setup, teardown),
		cmocka_unit_test_setup_teardown(the_audit_log_cannot_be_rewritten, setup, teardown),
		cmocka_unit_test_setup_teardown(two_handles_on_one_file_see_each_others_writes, setup, teardown),
		cmocka_unit_test_setup_teardown(check_finds_sites_without_their_audit_entry_or_outbox_record, setup, teardown),
		cmocka_unit_test_setup_teardown(stats_are_zero_when_they_cannot_be_read, setup, teardown),
		cmocka_unit_test_setup_teardown(statements_the_full_cache_cannot_hold_are_finalized, setup, teardown),
		cmocka_unit_test_setup_teardown(concurrent_first_opens_all_succeed, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
