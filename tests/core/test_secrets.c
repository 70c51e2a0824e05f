/*
 * tests/core/test_secrets.c — secrets apart from the database (issue #12,
 * "At rest"): the platform's secret hooks (sys/platform.h, version 2), the
 * built-in 0600 files beside the store, the token an older store kept in
 * sync_state moved out (and scrubbed from the file) when it is opened, and
 * a version-1 platform table, which has no hooks, falling back to the files.
 */
#include "testutil.h"
#include "internal.h"

#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#define TOKEN "6f2b1c9e8d7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c"

static int setup(void **state)
{
	*state = tu_fixture_new("inspector-0042");
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	tu_fixture_free(*state);
	return 0;
}

static mode_t mode_of(const char *path)
{
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	return sb.st_mode & 0777;
}

static void the_secret_files_are_the_owners_alone_and_replaced_whole(void **state)
{
	tu_fixture *f = *state;
	char *store = tu_path(f->dir, "x.db"), *file = tu_path(f->dir, "x.db.sync_token.secret");
	mode_t old = umask(0); /* the loosest umask: the file must be 0600 anyway */
	assert_int_equal(fic_secret_file_put(NULL, store, "sync_token", "first", 5), FIC_OK);
	umask(old);
	assert_int_equal(mode_of(file), 0600);
	char buf[64];
	size_t len = 0;
	assert_int_equal(fic_secret_file_put(NULL, store, "sync_token", TOKEN, strlen(TOKEN)), FIC_OK);
	assert_int_equal(fic_secret_file_get(NULL, store, "sync_token", buf, sizeof buf, &len),
	                 FIC_OK);
	assert_int_equal(len, 64);
	assert_memory_equal(buf, TOKEN, 64);
	assert_int_equal(mode_of(file), 0600);
	/* No temporary file is left beside it. */
	char *tmp = tu_path(f->dir, "x.db.sync_token.secret.new");
	assert_int_not_equal(access(tmp, F_OK), 0);
	/* Too small a buffer: told the size, nothing copied. */
	assert_int_equal(fic_secret_file_get(NULL, store, "sync_token", buf, 10, &len), FIC_ETOOBIG);
	assert_int_equal(len, 64);
	/* Names are [a-z0-9_]: no path can be smuggled in. */
	assert_int_equal(fic_secret_file_put(NULL, store, "../x", "v", 1), FIC_EINVAL);
	assert_int_equal(fic_secret_file_put(NULL, store, "", "v", 1), FIC_EINVAL);
	assert_int_equal(fic_secret_file_put(NULL, store, "a", "", 0), FIC_EINVAL);
	/* Deleted: gone, and deleting again is fine. */
	assert_int_equal(fic_secret_file_delete(NULL, store, "sync_token"), FIC_OK);
	assert_int_not_equal(access(file, F_OK), 0);
	assert_int_equal(fic_secret_file_delete(NULL, store, "sync_token"), FIC_OK);
	assert_int_equal(fic_secret_file_get(NULL, store, "sync_token", buf, sizeof buf, &len),
	                 FIC_ENOTFOUND);
	free(tmp);
	free(store);
	free(file);
}

/* An older store kept a secret in sync_state (the bearer token: schema 2 …
 * 4; the SMS key: schema 3 and 4): it moves out when the store opens, and
 * is scrubbed from the database file, its WAL and its shared memory. */
static void moves_out_when_the_store_opens(tu_fixture *f, const char *state_key,
                                           const char *secret, const char *value)
{
	char *db = tu_path(f->dir, "store.db");
	assert_int_equal(fic__exec(f->store, "INSERT INTO sync_state (key, value) VALUES (?1, ?2)",
	                           "test", "tt", state_key, value), FIC_OK);
	fic_store_close(f->store);
	f->store = NULL;
	assert_true(tu_file_contains(db, value, strlen(value))); /* the grep finds it where it is */
	fic_store_options o = FIC_STORE_OPTIONS_INIT;
	o.platform = &f->platform;
	assert_int_equal(fic_store_open(&f->store, db, &o), FIC_OK);
	char buf[128];
	assert_int_equal(fic__secret_get(f->store, secret, buf, sizeof buf), FIC_OK);
	assert_string_equal(buf, value);
	int64_t rows = -1;
	assert_int_equal(fic__query_int(f->store, &rows, "SELECT count(*) FROM sync_state WHERE "
	                                                 "key = ?1", "test", "t", state_key), FIC_OK);
	assert_int_equal(rows, 0);
	char name[80];
	snprintf(name, sizeof name, "store.db.%s.secret", secret);
	char *file = tu_path(f->dir, name);
	assert_int_equal(mode_of(file), 0600);
	const char *suffix[] = { "", "-wal", "-shm" };
	for (int i = 0; i < 3; i++) {
		char path[600];
		snprintf(path, sizeof path, "%s%s", db, suffix[i]);
		assert_false(tu_file_contains(path, value, strlen(value)));
	}
	fic_store_close(f->store);
	f->store = NULL;
	for (int i = 0; i < 3; i++) {
		char path[600];
		snprintf(path, sizeof path, "%s%s", db, suffix[i]);
		assert_false(tu_file_contains(path, value, strlen(value)));
	}
	free(file);
	free(db);
}

static void a_token_kept_in_the_database_moves_out_when_the_store_opens(void **state)
{
	moves_out_when_the_store_opens(*state, "sync.token", FIC_SECRET_TOKEN, TOKEN);
}

static void an_sms_key_kept_in_the_database_moves_out_when_the_store_opens(void **state)
{
	moves_out_when_the_store_opens(*state, "sync.sms_key", FIC_SECRET_SMS_KEY,
	                               "BwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSY=");
}

/* A platform of the app's own, with hooks that keep secrets in memory. */
typedef struct vault {
	char path[600], name[40], value[256];
	size_t len;
	int puts, gets, deletes;
} vault;

static int vault_get(void *ctx, const char *store_path, const char *name, void *buf, size_t size,
                     size_t *len)
{
	vault *v = ((tu_clock *)ctx)->hook_arg;
	v->gets++;
	if (v->len == 0 || strcmp(name, v->name) != 0 || strcmp(store_path, v->path) != 0)
		return FIC_ENOTFOUND;
	*len = v->len;
	if (v->len > size)
		return FIC_ETOOBIG;
	memcpy(buf, v->value, v->len);
	return FIC_OK;
}

static int vault_put(void *ctx, const char *store_path, const char *name, const void *value,
                     size_t len)
{
	vault *v = ((tu_clock *)ctx)->hook_arg;
	v->puts++;
	snprintf(v->path, sizeof v->path, "%s", store_path);
	snprintf(v->name, sizeof v->name, "%s", name);
	memcpy(v->value, value, len);
	v->len = len;
	return FIC_OK;
}

static int vault_delete(void *ctx, const char *store_path, const char *name)
{
	vault *v = ((tu_clock *)ctx)->hook_arg;
	(void)store_path;
	(void)name;
	v->deletes++;
	v->len = 0;
	return FIC_OK;
}

static void a_platforms_hooks_receive_the_secrets(void **state)
{
	tu_fixture *f = *state;
	vault v;
	memset(&v, 0, sizeof v);
	fic_platform p = f->platform;
	f->clock.hook_arg = &v;
	p.secret_get = vault_get;
	p.secret_put = vault_put;
	p.secret_delete = vault_delete;
	fic_store_options o = FIC_STORE_OPTIONS_INIT;
	o.platform = &p;
	char *db = tu_path(f->dir, "hooked.db");
	fic_store *s;
	assert_int_equal(fic_store_open(&s, db, &o), FIC_OK);
	assert_int_equal(fic__secret_put(s, FIC_SECRET_TOKEN, TOKEN), FIC_OK);
	assert_int_equal(v.puts, 1);
	assert_string_equal(v.path, db);
	assert_string_equal(v.name, "sync_token");
	char buf[128];
	assert_int_equal(fic__secret_get(s, FIC_SECRET_TOKEN, buf, sizeof buf), FIC_OK);
	assert_string_equal(buf, TOKEN);
	/* Nothing written beside the store: the hook has it. */
	char *file = tu_path(f->dir, "hooked.db.sync_token.secret");
	assert_int_not_equal(access(file, F_OK), 0);
	assert_int_equal(fic__secret_delete(s, FIC_SECRET_TOKEN), FIC_OK);
	assert_int_equal(fic__secret_get(s, FIC_SECRET_TOKEN, buf, sizeof buf), FIC_ENOTFOUND);
	fic_store_close(s);
	/* Half a set of hooks is refused at open. */
	p.secret_delete = NULL;
	assert_int_equal(fic_store_open(&s, db, &o), FIC_EINVAL);
	assert_non_null(strstr(fic_error_last()->message, "secret hooks"));
	free(file);
	free(db);
}

static void a_version_1_platform_table_keeps_secrets_in_the_files(void **state)
{
	tu_fixture *f = *state;
	/* An app built against version 1: its table ends before the hooks. What
	 * follows it in memory must never be read as hooks. */
	struct {
		fic_platform v1_prefix;
	} *big = malloc(sizeof *big);
	assert_non_null(big);
	memset(big, 0xA5, sizeof *big); /* garbage where a version 2 table has its hooks */
	memcpy(&big->v1_prefix, &f->platform, offsetof(fic_platform, secret_get));
	big->v1_prefix.version = 1;
	fic_store_options o = FIC_STORE_OPTIONS_INIT;
	o.platform = &big->v1_prefix;
	char *db = tu_path(f->dir, "v1.db");
	fic_store *s;
	assert_int_equal(fic_store_open(&s, db, &o), FIC_OK);
	assert_int_equal(fic__secret_put(s, FIC_SECRET_TOKEN, TOKEN), FIC_OK);
	char *file = tu_path(f->dir, "v1.db.sync_token.secret");
	assert_int_equal(mode_of(file), 0600);
	assert_true(tu_file_contains(file, TOKEN, 64));
	fic_store_close(s);
	free(file);
	free(db);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(the_secret_files_are_the_owners_alone_and_replaced_whole,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(
			a_token_kept_in_the_database_moves_out_when_the_store_opens, setup, teardown),
		cmocka_unit_test_setup_teardown(
			an_sms_key_kept_in_the_database_moves_out_when_the_store_opens, setup, teardown),
		cmocka_unit_test_setup_teardown(a_platforms_hooks_receive_the_secrets, setup, teardown),
		cmocka_unit_test_setup_teardown(a_version_1_platform_table_keeps_secrets_in_the_files,
		                                setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
