/*
 * core/text.c — checks on text that comes in through the API: UTF-8
 * well-formedness, size limits, calendar dates, and the unified social
 * credit code's check character.
 */
#include "util.h"

#include <stdio.h>
#include <string.h>

/*
 * Length (1..4) of the well-formed UTF-8 sequence (RFC 3629: no overlongs, no
 * surrogates, <= U+10FFFF) at s[0..avail), or 0 if it is malformed. *cut says
 * the bytes were a good start that `avail` ended too soon.
 */
static size_t utf8_seq(const unsigned char *s, size_t avail, bool *cut)
{
	*cut = false;
	unsigned char c = s[0];
	if (c < 0x80)
		return 1;
	/* Well-formed sequences (Unicode Table 3-7): the lead byte gives the
	 * number of continuation bytes and the range the first of them must be
	 * in (no overlong forms, no surrogates, nothing above U+10FFFF). */
	static const struct { unsigned char from, to, lo, hi, n; } leads[] = {
		{ 0xC2, 0xDF, 0x80, 0xBF, 1 }, { 0xE0, 0xE0, 0xA0, 0xBF, 2 },
		{ 0xE1, 0xEC, 0x80, 0xBF, 2 }, { 0xED, 0xED, 0x80, 0x9F, 2 },
		{ 0xEE, 0xEF, 0x80, 0xBF, 2 }, { 0xF0, 0xF0, 0x90, 0xBF, 3 },
		{ 0xF1, 0xF3, 0x80, 0xBF, 3 }, { 0xF4, 0xF4, 0x80, 0x8F, 3 },
	};
	size_t L = 0;
	while (L < sizeof leads / sizeof leads[0] && !(c >= leads[L].from && c <= leads[L].to))
		L++;
	if (L == sizeof leads / sizeof leads[0])
		return 0;
	size_t n = leads[L].n;
	unsigned char lo = leads[L].lo, hi = leads[L].hi;
	for (size_t k = 1; k <= n; k++) {
		if (k >= avail) {
			*cut = true;
			return 0;
		}
		if (s[k] < (k == 1 ? lo : 0x80) || s[k] > (k == 1 ? hi : 0xBF))
			return 0;
	}
	return n + 1;
}

/* Well-formed UTF-8 without NUL. */
bool fic__utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;
	while (i < len) {
		bool cut;
		size_t n = s[i] ? utf8_seq(s + i, len - i, &cut) : 0;
		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

void fic__text_one_line(char *buf, bool truncated)
{
	unsigned char *s = (unsigned char *)buf;
	size_t len = strlen(buf), r = 0, w = 0;
	while (r < len) {
		bool cut;
		size_t n = utf8_seq(s + r, len - r, &cut);
		if (n == 0 && cut && truncated)
			break; /* the formatter cut the last character in two: drop its head */
		if (n == 0) {
			s[w++] = '?';
			r++;
		} else if (n == 1) {
			unsigned char c = s[r++];
			s[w++] = c == '\n' || c == '\r' || c == '\t' ? ' '
			         : c < 0x20 || c == 0x7F             ? '?'
			                                              : c;
		} else if ((n == 2 && s[r] == 0xC2 && s[r + 1] == 0x85) ||
		           (n == 3 && s[r] == 0xE2 && s[r + 1] == 0x80 &&
		            (s[r + 2] == 0xA8 || s[r + 2] == 0xA9))) {
			s[w++] = ' '; /* U+0085 NEL, U+2028, U+2029 end lines too */
			r += n;
		} else if (n == 2 && s[r] == 0xC2 && s[r + 1] < 0xA0) {
			s[w++] = '?'; /* C1 control */
			r += n;
		} else {
			memmove(s + w, s + r, n);
			w += n;
			r += n;
		}
	}
	s[w] = '\0';
}

int fic__check_text(const char *s, const char *what, size_t max, bool required, bool *present)
{
	if (present)
		*present = false;
	if (s == NULL || s[0] == '\0') {
		if (required)
			return fic__err(FIC_EINVAL, "%s is required and must not be empty", what);
		return FIC_OK;
	}
	size_t len = strnlen(s, max + 1);
	if (len > max)
		return fic__err(FIC_ETOOBIG, "%s is longer than %zu bytes", what, max);
	if (!fic__utf8_valid(s, len))
		return fic__err(FIC_EINVAL, "%s is not valid UTF-8", what);
	if (present)
		*present = true;
	return FIC_OK;
}

int fic__check_texts(const fic__text_arg *args, size_t n)
{
	int rc = FIC_OK;
	for (size_t i = 0; rc == FIC_OK && i < n; i++)
		rc = fic__check_text(args[i].s, args[i].what, args[i].max, args[i].required,
		                     args[i].present);
	return rc;
}

int fic__check_id(const char *s, const char *what)
{
	if (s == NULL || s[0] == '\0')
		return fic__err(FIC_EINVAL, "%s is required and must not be empty", what);
	size_t len = strnlen(s, FIC_ID_MAX + 1);
	if (len > FIC_ID_MAX)
		return fic__err(FIC_EINVAL, "%s is longer than %d bytes", what, FIC_ID_MAX);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		bool ok = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		          c == '-' || c == '_' || c == '.';
		if (!ok)
			return fic__err(FIC_EINVAL, "%s may hold only letters, digits, '-', '_' and '.' "
			                "(byte %zu is not one)", what, i + 1);
	}
	return FIC_OK;
}

static bool is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian), Howard Hinnant's algorithm. */
static int64_t days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	const int64_t era = (y >= 0 ? y : y - 399) / 400;
	const int64_t yoe = y - era * 400;
	const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int fic__parse_date(const char *s, const char *what, int64_t *days)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (s == NULL)
		return fic__err(FIC_EINVAL, "%s: date is missing", what);
	if (strnlen(s, 11) != 10 || s[4] != '-' || s[7] != '-')
		return fic__err(FIC_EINVAL, "%s: date must be YYYY-MM-DD", what);
	for (int i = 0; i < 10; i++) {
		if (i == 4 || i == 7)
			continue;
		if (s[i] < '0' || s[i] > '9')
			return fic__err(FIC_EINVAL, "%s: date must be YYYY-MM-DD", what);
	}
	int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	int m = (s[5] - '0') * 10 + (s[6] - '0');
	int d = (s[8] - '0') * 10 + (s[9] - '0');
	if (y < 1900 || y > 2999)
		return fic__err(FIC_EINVAL, "%s: year %d is out of range 1900..2999", what, y);
	if (m < 1 || m > 12)
		return fic__err(FIC_EINVAL, "%s: month %d does not exist", what, m);
	int dim = mdays[m - 1] + (m == 2 && is_leap(y));
	if (d < 1 || d > dim)
		return fic__err(FIC_EINVAL, "%s: day %d does not exist in %04d-%02d", what, d, y, m);
	if (days)
		*days = days_from_civil(y, m, d);
	return FIC_OK;
}

/*
 * GB 32100-2015: 18 characters over "0123456789ABCDEFGHJKLMNPQRTUWXY" (no I,
 * O, S, V, Z). The 18th is the check character: C18 = 31 - (sum of value(Ci) *
 * 3^(i-1) mod 31 for i = 1..17) mod 31, with 31 written as 0.
 */
int fic_credit_code_check(const char *code)
{
	static const char alphabet[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
	static const int weights[17] = { 1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28 };
	fic__err_clear();
	if (code == NULL || code[0] == '\0')
		return fic__err(FIC_EINVAL, "credit code is empty");
	size_t len = strnlen(code, 19);
	if (len != 18)
		return fic__err(FIC_EINVAL, "credit code must have 18 characters");
	int values[18];
	for (int i = 0; i < 18; i++) {
		const char *p = code[i] ? strchr(alphabet, code[i]) : NULL;
		if (p == NULL)
			return fic__err(FIC_EINVAL,
			                "credit code character %d is not allowed (digits and "
			                "uppercase letters except I, O, S, V, Z)", i + 1);
		values[i] = (int)(p - alphabet);
	}
	int sum = 0;
	for (int i = 0; i < 17; i++)
		sum += values[i] * weights[i];
	int check = (31 - sum % 31) % 31;
	if (values[17] != check)
		return fic__err(FIC_EINVAL, "credit code check character is wrong (expected %c)",
		                alphabet[check]);
	return FIC_OK;
}

/* Inverse of days_from_civil (Howard Hinnant's civil_from_days). */
static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
	z += 719468;
	const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	const int64_t doe = z - era * 146097;
	const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	const int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

int64_t fic__days_add_months(int64_t day, int64_t months)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, m, d;
	civil_from_days(day, &y, &m, &d);
	int64_t total = (int64_t)y * 12 + (m - 1) + months;
	int64_t ny = total >= 0 ? total / 12 : (total - 11) / 12;
	int nm = (int)(total - ny * 12) + 1;
	int dim = mdays[nm - 1] + (nm == 2 && is_leap((int)ny));
	return days_from_civil((int)ny, nm, d > dim ? dim : d);
}

void fic__days_format(int64_t day, char out[11])
{
	int y, m, d;
	civil_from_days(day, &y, &m, &d);
	snprintf(out, 11, "%04d-%02d-%02d", y, m, d);
}

/* Room for `more` bytes and a NUL after the text; false (and oom set)
 * when there is none. */
static bool sb_reserve(fic__sb *sb, size_t more)
{
	if (sb->oom)
		return false;
	if (sb->buf && more < sb->cap - sb->len)
		return true;
	size_t ncap = (sb->cap ? sb->cap * 2 : 256) + more;
	char *nb = fic__realloc(sb->buf, ncap);
	if (nb == NULL) {
		sb->oom = true;
		return false;
	}
	sb->buf = nb;
	sb->cap = ncap;
	return true;
}

void fic__sb_put(fic__sb *sb, const char *s, size_t n)
{
	if (!sb_reserve(sb, n))
		return;
	memcpy(sb->buf + sb->len, s, n);
	sb->len += n;
	sb->buf[sb->len] = '\0';
}

void fic__sb_printf(fic__sb *sb, const char *fmt, ...)
{
	if (sb->oom)
		return;
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(sb->buf ? sb->buf + sb->len : NULL, sb->buf ? sb->cap - sb->len : 0,
		                  fmt, ap);
		va_end(ap);
		if (n < 0) {
			sb->oom = true;
			return;
		}
		if (sb->buf && (size_t)n < sb->cap - sb->len) {
			sb->len += (size_t)n;
			return;
		}
		if (!sb_reserve(sb, (size_t)n))
			return;
	}
}

char *fic__sb_take(fic__sb *sb)
{
	if (sb->oom || sb->buf == NULL) {
		fic__free(sb->buf);
		sb->buf = NULL;
		return NULL;
	}
	char *b = sb->buf;
	sb->buf = NULL;
	return b;
}
