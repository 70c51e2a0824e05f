/*
 * tests/fuzz/fuzz_text.c — the text parsers every input meets: UTF-8
 * (fic__utf8_valid), county ids (fic__check_id), calendar dates
 * (fic__parse_date) and the unified social credit code
 * (fic_credit_code_check). Each input goes to all four, and each answer is
 * compared with a plain reference written here from the specification
 * (RFC 3629; docs/protocol.md "Identifiers"; the Gregorian calendar;
 * GB 32100-2015), so a wrong "yes" or "no" is found as surely as a crash. A
 * date that parses must format back to itself.
 * Seeds: valid and nearly valid examples of each.
 */
#include "fuzz_util.h"
#include "internal.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* RFC 3629 by decoding: the code point's value decides, not a table of lead bytes. */
static bool ref_utf8(const unsigned char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		unsigned c = s[i];
		size_t n;
		uint32_t cp, min;
		if (c == 0)
			return false; /* the library's strings never hold NUL */
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xE0) == 0xC0) {
			n = 1, cp = c & 0x1F, min = 0x80;
		} else if ((c & 0xF0) == 0xE0) {
			n = 2, cp = c & 0x0F, min = 0x800;
		} else if ((c & 0xF8) == 0xF0) {
			n = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return false;
		}
		if (i + n >= len)
			return false; /* cut short */
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += n + 1;
	}
	return true;
}

static bool ref_id(const char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n > 63)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.", s[i]))
			return false;
	return true;
}

static bool ref_date(const char *s)
{
	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return false;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return false;
	int y = atoi(s), m = atoi(s + 5), d = atoi(s + 8);
	if (y < 1900 || y > 2999 || m < 1 || m > 12 || d < 1)
		return false;
	int dim = m == 2 ? ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0 ? 29 : 28)
	          : (m == 4 || m == 6 || m == 9 || m == 11) ? 30 : 31;
	return d <= dim;
}

static bool ref_credit(const char *s)
{
	static const char alphabet[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
	if (strlen(s) != 18)
		return false;
	int sum = 0, w = 1, v[18];
	for (int i = 0; i < 18; i++) {
		const char *p = strchr(alphabet, s[i]);
		if (p == NULL)
			return false;
		v[i] = (int)(p - alphabet);
	}
	for (int i = 0; i < 17; i++, w = w * 3 % 31)
		sum += v[i] * w;
	return v[17] == (31 - sum % 31) % 31;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FZ_CHECK(fic__utf8_valid((const char *)data, size) == ref_utf8(data, size));
	char *s = fz_cstr(data, size); /* the C-string parsers see up to the first NUL */
	FZ_CHECK((fic__check_id(s, "id") == FIC_OK) == ref_id(s));
	int64_t days = -1;
	int rc = fic__parse_date(s, "date", &days);
	FZ_CHECK((rc == FIC_OK) == ref_date(s));
	if (rc == FIC_OK) {
		char back[11];
		fic__days_format(days, back);
		FZ_CHECK(strcmp(back, s) == 0);
		/* a month on and back is the same day or, from a 29th-31st, an earlier one */
		int64_t there = fic__days_add_months(days, 1), again = fic__days_add_months(there, -1);
		FZ_CHECK(there > days && again <= days && days - again <= 3);
	}
	FZ_CHECK((fic_credit_code_check(s) == FIC_OK) == ref_credit(s));
	free(s);
	return 0;
}
