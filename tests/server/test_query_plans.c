/*
 * tests/server/test_query_plans.c — every statement a device's request runs
 * on the county server (enrolment, records and the chain audit, photos,
 * feeds) walks an index. A county holds a year of records and its whole
 * registry, and requests are served one at a time under the server's lock:
 * one statement that reads the county's every row makes every device wait
 * (a one-record POST took 25 s with a million records; feed pages were
 * sorted afresh, 9.5 s of CPU for 100 000 sites). SQLite says how it will
 * run each statement (EXPLAIN QUERY PLAN); a table scan, a sort in a
 * temporary B-tree or a search on the county alone fails. The statements
 * are the server's own (county_request_sql), on a database the server made.
 */
#include "testutil.h"
#include "county.h"

#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

typedef struct fixture {
	char *dir, *db;
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	f->dir = tu_mkdtemp();
	f->db = tu_path(f->dir, "county.db");
	county_server *s;
	char err[300];
	assert_int_equal(county_open(&s, f->db, err, sizeof err), 0);
	county_close(s);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	tu_rmtree(f->dir);
	free(f->db);
	free(f->dir);
	free(f);
	return 0;
}

/*
 * How many lines of the statement's plan read more than an index lets it:
 * a table or full-index scan, a sort (USE TEMP B-TREE), or a search on
 * (county=?) alone — every table is per county, so that is a whole county.
 * The first such line goes to `why`.
 */
static int plan_faults(sqlite3 *db, const char *sql, char *why, size_t size)
{
	char *q = sqlite3_mprintf("EXPLAIN QUERY PLAN %s", sql);
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, q, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db)); /* not even valid on the server's schema */
	sqlite3_free(q);
	int faults = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *d = (const char *)sqlite3_column_text(st, 3);
		bool scan = strncmp(d, "SCAN ", 5) == 0 && strcmp(d, "SCAN CONSTANT ROW") != 0;
		bool sort = strstr(d, "USE TEMP B-TREE") != NULL;
		bool county_only = strstr(d, "(county=?)") != NULL;
		if (scan || sort || county_only) {
			if (faults++ == 0)
				snprintf(why, size, "%s", d);
		}
	}
	sqlite3_finalize(st);
	return faults;
}

static sqlite3 *open_db(const fixture *f)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	return db;
}

static void every_request_statement_walks_an_index(void **state)
{
	fixture *f = *state;
	sqlite3 *db = open_db(f);
	size_t n = 0;
	for (const char *sql; (sql = county_request_sql(n)) != NULL; n++) {
		char why[300] = "";
		if (plan_faults(db, sql, why, sizeof why) != 0)
			fail_msg("%s\n  runs as: %s", sql, why);
	}
	assert_true(n >= 15); /* the table is the server's, not an empty list */
	sqlite3_close(db);
}

/* The check itself: without the indexes it finds the chain audit's walk and
 * the feed page's sort — and only those — and the server's next start puts
 * the indexes back (an older server's database gets them the same way). */
static void without_its_indexes_the_server_would_walk_the_county_until_it_starts(void **state)
{
	fixture *f = *state;
	sqlite3 *db = open_db(f);
	assert_int_equal(sqlite3_exec(db, "DROP INDEX records_chain; DROP INDEX feed_page", NULL,
	                              NULL, NULL), SQLITE_OK);
	int faulty = 0;
	bool chain = false, feed = false;
	for (size_t i = 0; county_request_sql(i) != NULL; i++) {
		const char *sql = county_request_sql(i);
		char why[300] = "";
		if (plan_faults(db, sql, why, sizeof why) == 0)
			continue;
		faulty++;
		chain |= strstr(sql, "FROM records") && strstr(sql, "seq > ?3");
		feed |= strstr(sql, "FROM feed") != NULL;
	}
	assert_true(chain);
	assert_true(feed);
	assert_int_equal(faulty, 2);
	sqlite3_close(db);

	county_server *s;
	char err[300];
	assert_int_equal(county_open(&s, f->db, err, sizeof err), 0);
	county_close(s);
	db = open_db(f);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master WHERE type = "
	                                        "'index' AND name IN ('records_chain', 'feed_page')",
	                                    -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 2);
	sqlite3_finalize(st);
	sqlite3_close(db);
	every_request_statement_walks_an_index(state);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(every_request_statement_walks_an_index),
		T(without_its_indexes_the_server_would_walk_the_county_until_it_starts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
