/*
 * tests/core/test_errors.c — the error conventions: status names, the
 * thread-local last error (one line of valid UTF-8, whatever the input), the
 * allocator hook's argument checks.
 */
#include "testutil.h"
#include "internal.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static void every_status_has_a_distinct_name(void **state)
{
	(void)state;
	for (int c = FIC_OK; c >= FIC_EAUTH; c--) {
		const char *n = fic_result_str(c);
		assert_non_null(n);
		assert_string_not_equal(n, "unknown status");
		for (int d = c - 1; d >= FIC_EAUTH; d--)
			assert_string_not_equal(n, fic_result_str(d));
	}
	assert_string_equal(fic_result_str(-9999), "unknown status");
	assert_string_equal(fic_result_str(42), "unknown status");
}

static void last_error_is_never_null_and_starts_clear(void **state)
{
	(void)state;
	fic_error_clear();
	const fic_error *e = fic_error_last();
	assert_non_null(e);
	assert_int_equal(e->code, FIC_OK);
	assert_non_null(e->message);
}

static void a_failed_call_leaves_code_and_message(void **state)
{
	(void)state;
	fic_store *s = (fic_store *)0x1;
	assert_int_equal(fic_store_open(&s, NULL, NULL), FIC_EINVAL);
	assert_null(s);
	assert_int_equal(fic_error_last()->code, FIC_EINVAL);
	assert_non_null(strstr(fic_error_last()->message, "store path"));
	/* A later successful call clears it. */
	assert_int_equal(fic_credit_code_check("9144030071526726XG"), FIC_OK);
	assert_int_equal(fic_error_last()->code, FIC_OK);
}

static void *other_thread(void *arg)
{
	(void)arg;
	fic_credit_code_check("bad");
	return (void *)(intptr_t)fic_error_last()->code;
}

static void last_error_is_per_thread(void **state)
{
	(void)state;
	fic_store_open(NULL, "x", NULL);
	assert_int_equal(fic_error_last()->code, FIC_EINVAL);
	char before[256];
	strcpy(before, fic_error_last()->message);
	pthread_t t;
	void *ret;
	assert_int_equal(pthread_create(&t, NULL, other_thread, NULL), 0);
	assert_int_equal(pthread_join(t, &ret), 0);
	assert_int_equal((int)(intptr_t)ret, FIC_EINVAL);
	/* The other thread's failure did not touch this thread's message. */
	assert_string_equal(fic_error_last()->message, before);
}

/* What common.h promises of every message (JNI's NewStringUTF aborts on bad UTF-8). */
static void assert_one_utf8_line(const char *msg)
{
	assert_non_null(msg);
	size_t len = strlen(msg);
	assert_true(len < 512);
	if (!fic__utf8_valid(msg, len))
		fail_msg("message is not valid UTF-8: '%s'", msg);
	for (const char *p = msg; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7F)
			fail_msg("message has control character 0x%02x: '%s'", (unsigned)*p, msg);
}

static void messages_are_one_line_of_utf8_whatever_the_input(void **state)
{
	(void)state;
	int v;
	/* Bad bytes and line breaks in a caller's string, quoted back with '%.40s'. */
	assert_int_equal(fic_site_code_parse(&v, FIC_CODE_KIND, "\xFF\nschool\r\tx\x7F\x01\xC3"),
	                 FIC_EINVAL);
	assert_one_utf8_line(fic_error_last()->message);
	assert_non_null(strstr(fic_error_last()->message, "? school  x??"));
	/* '%.40s' of Chinese text cuts a character in two. */
	char code[200] = "";
	for (int i = 0; i < 20; i++)
		strcat(code, "水");
	assert_int_equal(fic_site_code_parse(&v, FIC_CODE_KIND, code), FIC_EINVAL);
	assert_one_utf8_line(fic_error_last()->message);

	/* A long Chinese path fills the message buffer and is cut mid-character. */
	char *path = malloc(4096);
	assert_non_null(path);
	for (int pad = 0; pad < 3; pad++) {
		snprintf(path, 4096, "/no-such-dir-%.*s/", pad, "xx");
		size_t n = strlen(path);
		while (n + 3 + 5 < 4000) {
			memcpy(path + n, "检", 3);
			n += 3;
		}
		memcpy(path + n, ".db", 4);
		fic_store *s = (fic_store *)0x1;
		assert_int_not_equal(fic_store_open(&s, path, NULL), FIC_OK);
		assert_null(s);
		assert_one_utf8_line(fic_error_last()->message);
		/* Directly: every cut position of a 3-byte character at the buffer's end. */
		fic__err(FIC_EIO, "%.*s'%s'\n", pad, "xx", path);
		const char *m = fic_error_last()->message;
		assert_one_utf8_line(m);
		assert_true(strlen(m) >= 509); /* only the broken character was dropped */
		assert_memory_equal(m + pad + 1, path, strlen(m) - pad - 1);
	}
	free(path);
	/* A message with a newline in the format itself. */
	fic__err(FIC_ERROR, "first line\nsecond line\r\n");
	assert_string_equal(fic_error_last()->message, "first line second line  ");
	fic__err(FIC_ERROR, "%s", "line\xE2\x80\xA8sep \xC2\x85nel \xC2\x9B" "c1 ok \xE2\x82");
	assert_string_equal(fic_error_last()->message, "line sep  nel ?c1 ok ??");
}

static void allocator_set_refuses_bad_tables(void **state)
{
	(void)state;
	fic_allocator bad = { 99, NULL, NULL, NULL };
	assert_int_equal(fic_allocator_set(&bad), FIC_EINVAL);
	bad.version = FIC_ALLOCATOR_VERSION;
	assert_int_equal(fic_allocator_set(&bad), FIC_EINVAL);
	assert_int_equal(fic_allocator_set(NULL), FIC_OK);
}

static void free_functions_accept_null(void **state)
{
	(void)state;
	fic_free(NULL);
	fic_store_close(NULL);
	fic_site_free(NULL);
	fic_site_list_free(NULL);
	fic_audit_list_free(NULL);
}

static void version_matches_macros(void **state)
{
	(void)state;
	assert_string_equal(fic_version(), FIC_VERSION_STRING);
	assert_true(fic_store_schema_version() >= 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_status_has_a_distinct_name),
		cmocka_unit_test(last_error_is_never_null_and_starts_clear),
		cmocka_unit_test(a_failed_call_leaves_code_and_message),
		cmocka_unit_test(last_error_is_per_thread),
		cmocka_unit_test(messages_are_one_line_of_utf8_whatever_the_input),
		cmocka_unit_test(allocator_set_refuses_bad_tables),
		cmocka_unit_test(free_functions_accept_null),
		cmocka_unit_test(version_matches_macros),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
