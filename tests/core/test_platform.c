/*
 * tests/core/test_platform.c — the default POSIX platform table: clocks that
 * make sense, a stable boot id, and random bytes that are random.
 */
#include "testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

static void default_platform_is_complete(void **state)
{
	(void)state;
	const fic_platform *p = fic_platform_default();
	assert_non_null(p);
	assert_int_equal(p->version, FIC_PLATFORM_VERSION);
	assert_non_null(p->wall_ms);
	assert_non_null(p->monotonic_ms);
	assert_non_null(p->boot_id);
	assert_non_null(p->random_bytes);
	assert_non_null(p->log);
}

static void wall_clock_is_utc_milliseconds(void **state)
{
	(void)state;
	const fic_platform *p = fic_platform_default();
	int64_t ms = p->wall_ms(p->ctx);
	int64_t now = (int64_t)time(NULL) * 1000;
	assert_true(ms > now - 2000 && ms < now + 2000);
}

static void monotonic_clock_never_goes_back(void **state)
{
	(void)state;
	const fic_platform *p = fic_platform_default();
	int64_t prev = p->monotonic_ms(p->ctx);
	for (int i = 0; i < 100000; i++) {
		int64_t t = p->monotonic_ms(p->ctx);
		assert_true(t >= prev);
		prev = t;
	}
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	int64_t a = p->monotonic_ms(p->ctx);
	nanosleep(&ts, NULL);
	int64_t b = p->monotonic_ms(p->ctx);
	assert_true(b - a >= 19 && b - a < 2000);
}

static void boot_id_is_stable_within_a_boot(void **state)
{
	(void)state;
	const fic_platform *p = fic_platform_default();
	char a[FIC_BOOT_ID_MAX], b[FIC_BOOT_ID_MAX];
	assert_int_equal(p->boot_id(p->ctx, a, sizeof a), 0);
	assert_int_equal(p->boot_id(p->ctx, b, sizeof b), 0);
	assert_true(strlen(a) >= 32);
	assert_string_equal(a, b);
	assert_null(strchr(a, '\n'));
	assert_int_not_equal(p->boot_id(p->ctx, NULL, 10), 0);
}

static void random_bytes_differ_and_cover_all_bits(void **state)
{
	(void)state;
	const fic_platform *p = fic_platform_default();
	unsigned char a[64], b[64], or_all[64] = { 0 }, and_all[64];
	memset(and_all, 0xFF, sizeof and_all);
	for (int i = 0; i < 64; i++) {
		assert_int_equal(p->random_bytes(p->ctx, a, sizeof a), 0);
		for (size_t k = 0; k < sizeof a; k++) {
			or_all[k] |= a[k];
			and_all[k] &= a[k];
		}
	}
	assert_int_equal(p->random_bytes(p->ctx, b, sizeof b), 0);
	assert_memory_not_equal(a, b, sizeof a);
	/* Over 64 draws every bit is seen both set and clear (fails with p ~ 2^-55). */
	for (size_t k = 0; k < sizeof a; k++) {
		assert_int_equal(or_all[k], 0xFF);
		assert_int_equal(and_all[k], 0x00);
	}
	assert_int_equal(p->random_bytes(p->ctx, a, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(default_platform_is_complete),
		cmocka_unit_test(wall_clock_is_utc_milliseconds),
		cmocka_unit_test(monotonic_clock_never_goes_back),
		cmocka_unit_test(boot_id_is_stable_within_a_boot),
		cmocka_unit_test(random_bytes_differ_and_cover_all_bits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
