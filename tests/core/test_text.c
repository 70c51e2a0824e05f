/*
 * tests/core/test_text.c — input checks: UTF-8, size limits, dates, the
 * unified social credit code (GB 32100-2015) and UUIDv7 layout.
 */
#include "testutil.h"
#include "internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

static void utf8_accepts_well_formed_text(void **state)
{
	(void)state;
	const char *ok[] = { "", "abc", "饮用水卫生", "é", "\xF0\x9F\x98\x80" /* U+1F600 */,
	                     "\xEF\xBF\xBD", "\xF4\x8F\xBF\xBF" /* U+10FFFF */ };
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
		assert_true(fic__utf8_valid(ok[i], strlen(ok[i])));
}

static void utf8_refuses_malformed_text(void **state)
{
	(void)state;
	const char *bad[] = {
		"\x80",             /* lone continuation */
		"\xC0\xAF",         /* overlong '/' */
		"\xC1\xBF",         /* overlong */
		"\xE0\x80\xAF",     /* overlong */
		"\xED\xA0\x80",     /* surrogate U+D800 */
		"\xF4\x90\x80\x80", /* > U+10FFFF */
		"\xF5\x80\x80\x80",
		"\xE6\xB0",         /* truncated 水 */
		"\xFF",
		"a\xE6\xB0\x62", /* truncated 水 then b */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_false(fic__utf8_valid(bad[i], strlen(bad[i])));
	/* An embedded NUL inside the counted length is refused too. */
	assert_false(fic__utf8_valid("a\0b", 3));
}

static void check_text_enforces_required_and_limits(void **state)
{
	(void)state;
	bool present = true;
	assert_int_equal(fic__check_text(NULL, "x", 10, false, &present), FIC_OK);
	assert_false(present);
	assert_int_equal(fic__check_text("", "x", 10, false, &present), FIC_OK);
	assert_false(present);
	assert_int_equal(fic__check_text(NULL, "x", 10, true, NULL), FIC_EINVAL);
	assert_int_equal(fic__check_text("", "x", 10, true, NULL), FIC_EINVAL);
	assert_int_equal(fic__check_text("0123456789", "x", 10, true, &present), FIC_OK);
	assert_true(present);
	assert_int_equal(fic__check_text("01234567890", "x", 10, true, NULL), FIC_ETOOBIG);
	assert_int_equal(fic__check_text("\xC0\xAF", "x", 10, true, NULL), FIC_EINVAL);
	assert_non_null(strstr(fic_error_last()->message, "UTF-8"));
}

static void dates_are_real_calendar_days(void **state)
{
	(void)state;
	int64_t d;
	assert_int_equal(fic__parse_date("1970-01-01", "d", &d), FIC_OK);
	assert_int_equal(d, 0);
	assert_int_equal(fic__parse_date("2024-02-29", "d", &d), FIC_OK);
	assert_int_equal(d, 19782);
	assert_int_equal(fic__parse_date("2000-02-29", "d", &d), FIC_OK);
	const char *bad[] = { "2023-02-29", "1900-02-29", "2026-13-01", "2026-00-10", "2026-04-31",
	                      "2026-4-1", "20260401", "2026/04/01", "abcd-ef-gh", "2026-04-01x",
	                      "1899-12-31", "" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(fic__parse_date(bad[i], "d", &d), FIC_EINVAL);
	assert_int_equal(fic__parse_date(NULL, "d", &d), FIC_EINVAL);
}

static void published_credit_codes_pass_their_check(void **state)
{
	(void)state;
	/* Codes printed on public business licences. */
	const char *ok[] = { "9144030071526726XG", "91350100M000100Y43", "911101080828461726",
	                     "91110000802100433B", "91440300708461136T" };
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
		assert_int_equal(fic_credit_code_check(ok[i]), FIC_OK);
}

static void damaged_credit_codes_are_refused_with_a_reason(void **state)
{
	(void)state;
	assert_int_equal(fic_credit_code_check("9144030071526726XH"), FIC_EINVAL);
	assert_non_null(strstr(fic_error_last()->message, "expected G"));
	/* one digit changed */
	assert_int_equal(fic_credit_code_check("9144030071526727XG"), FIC_EINVAL);
	/* two adjacent characters swapped */
	assert_int_equal(fic_credit_code_check("9414030071526726XG"), FIC_EINVAL);
	/* letters the code never uses, lowercase, wrong length, empty, NULL */
	assert_int_equal(fic_credit_code_check("9144030071526726IG"), FIC_EINVAL);
	assert_non_null(strstr(fic_error_last()->message, "character 17"));
	assert_int_equal(fic_credit_code_check("9144030071526726xg"), FIC_EINVAL);
	assert_int_equal(fic_credit_code_check("9144030071526726X"), FIC_EINVAL);
	assert_int_equal(fic_credit_code_check("9144030071526726XGG"), FIC_EINVAL);
	assert_int_equal(fic_credit_code_check(""), FIC_EINVAL);
	assert_int_equal(fic_credit_code_check(NULL), FIC_EINVAL);
	assert_int_equal(fic_credit_code_check("91440300715267\xE6\xB0\xB4X"), FIC_EINVAL);
}

static void every_check_character_position_is_verified(void **state)
{
	(void)state;
	/* Changing any one of the first 17 characters must break the check. */
	const char *good = "91350100M000100Y43";
	const char alphabet[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
	for (int i = 0; i < 17; i++) {
		char c[19];
		memcpy(c, good, 19);
		c[i] = alphabet[(strchr(alphabet, c[i]) - alphabet + 1) % 31];
		assert_int_equal(fic_credit_code_check(c), FIC_EINVAL);
	}
}

static void uuid7_has_version_variant_and_time(void **state)
{
	(void)state;
	uint8_t rnd[8] = { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF };
	uint8_t b[16];
	char s[FIC_UUID_BUFSIZE];
	/* RFC 9562 appendix A.6 example time: 0x017F22E279B0 = 1645557742000 ms. */
	fic__uuid7_bytes(b, 1645557742000LL, 0xCC3, rnd);
	fic__uuid_format(b, s);
	assert_int_equal(strlen(s), 36);
	assert_memory_equal(s, "017f22e2-79b0-7cc3-bfff-ffffffffffff", 36);
	memset(rnd, 0, sizeof rnd);
	fic__uuid7_bytes(b, 0, 0, rnd);
	fic__uuid_format(b, s);
	assert_string_equal(s, "00000000-0000-7000-8000-000000000000");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(utf8_accepts_well_formed_text),
		cmocka_unit_test(utf8_refuses_malformed_text),
		cmocka_unit_test(check_text_enforces_required_and_limits),
		cmocka_unit_test(dates_are_real_calendar_days),
		cmocka_unit_test(published_credit_codes_pass_their_check),
		cmocka_unit_test(damaged_credit_codes_are_refused_with_a_reason),
		cmocka_unit_test(every_check_character_position_is_verified),
		cmocka_unit_test(uuid7_has_version_variant_and_time),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
