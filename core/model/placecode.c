/*
 * core/model/placecode.c — reading a scanned place code (场所码) or licence
 * code: a pure function of the bytes, with no store, so that it can be fuzzed
 * alone (fic_place_code_parse; tests/fuzz/corpus/place_code is its seed
 * corpus, replayed by tests/core/test_place_code.c).
 *
 * Codes come in three forms (seeds 003/004: one code per door and per shop,
 * issued by different systems; licences carry their own):
 *  - a URL, "https://host/path?code=…&name=…": the host and path name the
 *    issuing system, an identity parameter (code, placeCode, id, …) the
 *    place; parameters may carry the place's facts (name, address, …);
 *  - text, "场所名称：…\n地址：…\n统一社会信用代码：…" (a licence's code, a
 *    place-code sign): fields "key：value" (full-width or ASCII colon)
 *    separated by line breaks or, on one line, by "；", ";" or "|";
 *  - a bare token.
 * Scanners add and drop whitespace (line breaks inside a long URL, a
 * full-width space, a byte-order mark), so whitespace at the ends is
 * trimmed, inside a URL or a token removed, inside a text value collapsed.
 * The result's `key` is the place's identity in that normal form: the same
 * place scanned twice gives the same key however the scanner spaced it, and
 * the registry (site_codes) is keyed by it.
 */
#include "model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a growable byte buffer, bounded ---- */

typedef struct buf {
	char *p;
	size_t len, cap;
	bool oom;
} buf;

static void put(buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *np = fic__realloc(b->p, cap);
		if (np == NULL) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void puts_(buf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* ---- whitespace as scanners produce it ---- */

/* The length of the whitespace character at s (ASCII space and controls
 * \t\n\v\f\r, U+00A0, U+3000, U+200B, U+FEFF), or 0. */
static size_t space_at(const unsigned char *s, size_t left)
{
	if (left >= 1 && (s[0] == ' ' || (s[0] >= '\t' && s[0] <= '\r')))
		return 1;
	if (left >= 2 && s[0] == 0xC2 && s[1] == 0xA0)
		return 2;
	if (left >= 3 && ((s[0] == 0xE3 && s[1] == 0x80 && s[2] == 0x80) ||
	                  (s[0] == 0xE2 && s[1] == 0x80 && s[2] == 0x8B) ||
	                  (s[0] == 0xEF && s[1] == 0xBB && s[2] == 0xBF)))
		return 3;
	return 0;
}

/* The length of the UTF-8 character at s (input already validated). */
static size_t char_len(unsigned char c)
{
	return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

/* s[0..n) trimmed of whitespace at both ends into *start, *n. */
static void trim(const char **s, size_t *n)
{
	const unsigned char *p = (const unsigned char *)*s;
	size_t len = *n, k;
	while (len && (k = space_at(p, len)) != 0) {
		p += k;
		len -= k;
	}
	/* from the end: step back over whole characters */
	for (;;) {
		size_t last = 0, i = 0;
		while (i < len) { /* the start of the last character */
			last = i;
			i += char_len(p[i]);
		}
		if (len == 0 || space_at(p + last, len - last) == 0)
			break;
		len = last;
	}
	*s = (const char *)p;
	*n = len;
}

/* s[0..n) with runs of whitespace collapsed to one ASCII space (`keep`) or removed. */
static void squeeze(buf *out, const char *s, size_t n, bool keep)
{
	trim(&s, &n);
	const unsigned char *p = (const unsigned char *)s;
	bool in_space = false;
	for (size_t i = 0; i < n;) {
		size_t k = space_at(p + i, n - i);
		if (k) {
			in_space = true;
			i += k;
			continue;
		}
		if (in_space && keep)
			put(out, " ", 1);
		in_space = false;
		size_t c = char_len(p[i]);
		put(out, (const char *)p + i, c);
		i += c;
	}
}

/* ---- facts a code may carry ---- */

enum { F_NAME, F_ADDRESS, F_LEGAL_REP, F_MANAGER, F_SCOPE, F_CREDIT, F_LICENCE, F_CODE, F_COUNT };

/* Words for each fact: URL parameter names (ASCII, any case) and text keys (Chinese). */
static const char *const url_keys[F_COUNT][8] = {
	[F_NAME] = { "name", "placename", "place_name", "mc", "dwmc", NULL },
	[F_ADDRESS] = { "address", "addr", "dz", "placeaddress", NULL },
	[F_LEGAL_REP] = { "legal", "legalperson", "legal_rep", "legalrep", "fr", "fddbr", NULL },
	[F_MANAGER] = { "manager", "fzr", "principal", NULL },
	[F_SCOPE] = { "scope", "jyfw", "xkfw", "xkxm", NULL },
	[F_CREDIT] = { "uscc", "creditcode", "credit_code", "tyshxydm", "shxydm", NULL },
	[F_LICENCE] = { "licence", "license", "licenceno", "licenseno", "xkzh", NULL },
	[F_CODE] = { "code", "placecode", "place_code", "pcode", "id", "c", "qrcode", "scene" },
};
static const char *const text_keys[F_COUNT][10] = {
	[F_NAME] = { "场所名称", "单位名称", "机构名称", "企业名称", "名称", "场所", NULL },
	[F_ADDRESS] = { "场所地址", "经营地址", "执业地址", "详细地址", "地址", "住所", NULL },
	[F_LEGAL_REP] = { "法定代表人", "法人代表", "法人", NULL },
	[F_MANAGER] = { "主要负责人", "负责人", NULL },
	[F_SCOPE] = { "许可范围", "经营范围", "诊疗科目", "许可项目", "业务范围", "执业范围", NULL },
	[F_CREDIT] = { "统一社会信用代码", "社会信用代码", "信用代码", NULL },
	[F_LICENCE] = { "许可证编号", "许可证号", "证号", "登记号", NULL },
	[F_CODE] = { "场所码", "场所编码", "编码", "编号", "code", "CODE", "Code", "ID", "id", NULL },
};

/* URL parameters that say nothing about the place (share trackers). */
static bool tracker(const char *k)
{
	static const char *const t[] = { "from", "isappinstalled", "share", "shareid", "spm",
		                         "timestamp", "ts", "t", NULL };
	if (strncmp(k, "utm_", 4) == 0)
		return true;
	for (const char *const *p = t; *p; p++)
		if (strcmp(*p, k) == 0)
			return true;
	return false;
}

typedef struct parsed {
	int form;
	buf fact[F_COUNT];
	buf key, host, rest; /* rest: the URL's other parameters, sorted, for its key */
} parsed;

static void parsed_free(parsed *p)
{
	for (int i = 0; i < F_COUNT; i++)
		fic__free(p->fact[i].p);
	fic__free(p->key.p);
	fic__free(p->host.p);
	fic__free(p->rest.p);
}

static bool oom(const parsed *p)
{
	bool o = p->key.oom || p->host.oom || p->rest.oom;
	for (int i = 0; i < F_COUNT; i++)
		o |= p->fact[i].oom;
	return o;
}

/* ---- URLs ---- */

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Percent-decode s[0..n) ('+' is a space in a query) into out. */
static void pct_decode(buf *out, const char *s, size_t n, bool plus)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
			c = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
			i += 2;
		} else if (c == '+' && plus) {
			c = ' ';
		}
		put(out, &c, 1);
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One query parameter: a fact, the identity, a tracker (dropped) or the rest. */
static void url_param(parsed *p, const char *k, size_t kn, const char *v, size_t vn, char **rest,
                      size_t *nrest, size_t max_rest)
{
	buf key = { 0 }, val = { 0 };
	pct_decode(&key, k, kn, true);
	pct_decode(&val, v, vn, true);
	if (key.oom || val.oom || key.len == 0) {
		p->key.oom |= key.oom || val.oom;
		fic__free(key.p);
		fic__free(val.p);
		return;
	}
	for (char *c = key.p; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	bool used = tracker(key.p);
	for (int f = 0; !used && f < F_COUNT; f++)
		for (int w = 0; !used && w < 8 && url_keys[f][w]; w++)
			if (strcmp(key.p, url_keys[f][w]) == 0 && p->fact[f].len == 0 && val.len &&
			    fic__utf8_valid(val.p, val.len)) {
				squeeze(&p->fact[f], val.p, val.len, true);
				used = true;
			}
	if (!used && *nrest < max_rest && val.len < 2048 && fic__utf8_valid(val.p, val.len)) {
		buf kv = { 0 };
		puts_(&kv, key.p);
		put(&kv, "=", 1);
		squeeze(&kv, val.p, val.len, false);
		if (kv.oom)
			p->key.oom = true;
		else
			rest[(*nrest)++] = kv.p;
	}
	fic__free(key.p);
	fic__free(val.p);
}

#define URL_PARAMS_MAX 32

static void parse_url(parsed *p, const char *s, size_t n)
{
	/* Whitespace inside a URL is the scanner's: remove it. */
	buf u = { 0 };
	squeeze(&u, s, n, false);
	if (u.oom || u.p == NULL) {
		p->key.oom |= u.oom;
		fic__free(u.p);
		return;
	}
	const char *q = strstr(u.p, "://") + 3;
	bool https = (u.p[4] == 's' || u.p[4] == 'S');
	size_t alen = strcspn(q, "/?#");
	/* the authority: no user info; host in lower case; no default port */
	const char *host = q, *at = memchr(q, '@', alen);
	if (at) {
		alen -= (size_t)(at + 1 - host);
		host = at + 1;
	}
	size_t hlen = alen;
	const char *colon = memchr(host, ':', alen);
	if (colon && ((https && (size_t)(host + alen - colon) == 4 && strncmp(colon, ":443", 4) == 0) ||
	              (!https && (size_t)(host + alen - colon) == 3 && strncmp(colon, ":80", 3) == 0)))
		hlen = (size_t)(colon - host);
	for (size_t i = 0; i < hlen; i++) {
		char c = host[i] >= 'A' && host[i] <= 'Z' ? (char)(host[i] - 'A' + 'a') : host[i];
		put(&p->host, &c, 1);
	}
	const char *path = host + alen;
	size_t plen = strcspn(path, "?#");
	/* the path: decoded, without doubled or trailing slashes */
	buf pd = { 0 };
	pct_decode(&pd, path, plen, false);
	if (pd.p) {
		for (size_t i = 0; i < pd.len; i++)
			if (!(pd.p[i] == '/' && (pd.p[i + 1] == '/' || pd.p[i + 1] == '\0')))
				put(&p->host, pd.p + i, 1);
	}
	p->host.oom |= pd.oom;
	fic__free(pd.p);
	/* the query */
	char *rest[URL_PARAMS_MAX];
	size_t nrest = 0;
	if (path[plen] == '?') {
		const char *qs = path + plen + 1;
		size_t qlen = strcspn(qs, "#");
		for (size_t i = 0; i < qlen;) {
			size_t seg = strcspn(qs + i, "&;#");
			if (seg > qlen - i)
				seg = qlen - i;
			const char *eq = memchr(qs + i, '=', seg);
			if (eq)
				url_param(p, qs + i, (size_t)(eq - (qs + i)), eq + 1,
				          seg - (size_t)(eq + 1 - (qs + i)), rest, &nrest, URL_PARAMS_MAX);
			else if (seg)
				url_param(p, qs + i, seg, "", 0, rest, &nrest, URL_PARAMS_MAX);
			i += seg + 1;
		}
	}
	qsort(rest, nrest, sizeof rest[0], cmp_str);
	for (size_t i = 0; i < nrest; i++) {
		if (i)
			put(&p->rest, "&", 1);
		puts_(&p->rest, rest[i]);
		fic__free(rest[i]);
	}
	fic__free(u.p);
	/* The identity: the issuing system and the place's code, or everything the URL says. */
	puts_(&p->key, "url:");
	if (p->host.p)
		puts_(&p->key, p->host.p);
	if (p->fact[F_CODE].len) {
		put(&p->key, "#", 1);
		puts_(&p->key, p->fact[F_CODE].p);
	} else if (p->rest.len) {
		put(&p->key, "?", 1);
		puts_(&p->key, p->rest.p);
	}
}

/* ---- text ---- */

/* If s[0..n) starts a field "key：" or "key:" with a known key, the fact and where the value starts. */
static int text_field(parsed *p, const char *s, size_t n, size_t *value_at)
{
	/* the key ends at the first colon (full-width ： is EF BC 9A) */
	size_t k = 0;
	while (k < n && s[k] != ':' && !(k + 2 < n && (unsigned char)s[k] == 0xEF &&
	                                 (unsigned char)s[k + 1] == 0xBC && (unsigned char)s[k + 2] == 0x9A))
		k += char_len((unsigned char)s[k]);
	if (k >= n)
		return -1;
	size_t after = s[k] == ':' ? k + 1 : k + 3;
	const char *key = s;
	size_t klen = k;
	trim(&key, &klen);
	/* spaces inside a key ("场 所 名 称") are the printer's */
	buf kb = { 0 };
	squeeze(&kb, key, klen, false);
	int found = -1;
	p->key.oom |= kb.oom; /* out of memory: the parse fails, not the field */
	for (int f = 0; kb.p && found < 0 && f < F_COUNT; f++)
		for (int w = 0; found < 0 && w < 10 && text_keys[f][w]; w++)
			if (strcmp(kb.p, text_keys[f][w]) == 0)
				found = f;
	fic__free(kb.p);
	*value_at = after;
	return found;
}

/* The length of the field separator at s, or 0: a line break; in a text of
 * one line, also ；, ; or | (a licence's scope may list its departments with
 * ；, so in a text of several lines only the line breaks separate). */
static size_t separator_at(const char *s, size_t left, bool lines)
{
	if (*s == '\n' || *s == '\r')
		return 1;
	if (lines)
		return 0;
	if (*s == ';' || *s == '|')
		return 1;
	if (left >= 3 && (unsigned char)s[0] == 0xEF && (unsigned char)s[1] == 0xBC &&
	    (unsigned char)s[2] == 0x9B)
		return 3;
	return 0;
}

/* Fields of a text code; false if none has a known key. */
static bool parse_text(parsed *p, const char *s, size_t n)
{
	int known = 0;
	bool lines = memchr(s, '\n', n) != NULL || memchr(s, '\r', n) != NULL;
	for (size_t i = 0; i < n;) {
		size_t end = i;
		while (end < n && separator_at(s + end, n - end, lines) == 0)
			end += char_len((unsigned char)s[end]);
		size_t at = 0;
		int f = text_field(p, s + i, end - i, &at);
		if (f >= 0 && p->fact[f].len == 0) {
			squeeze(&p->fact[f], s + i + at, end - i - at, true);
			known += p->fact[f].len > 0;
		}
		i = end < n ? end + separator_at(s + end, n - end, lines) : n;
	}
	if (!known)
		return p->key.oom; /* out of memory: report it, not a token */
	if (p->fact[F_CODE].len) {
		puts_(&p->key, "text:");
		puts_(&p->key, p->fact[F_CODE].p);
	} else if (p->fact[F_CREDIT].len) {
		puts_(&p->key, "credit:");
		for (const char *c = p->fact[F_CREDIT].p; *c; c++) {
			char u = *c >= 'a' && *c <= 'z' ? (char)(*c - 'a' + 'A') : *c;
			if (u != ' ')
				put(&p->key, &u, 1);
		}
		if (p->fact[F_NAME].len) {
			put(&p->key, "|", 1);
			puts_(&p->key, p->fact[F_NAME].p);
		}
	} else {
		puts_(&p->key, "text:");
		static const char *const names[F_COUNT] = { "name", "address", "legal_rep", "manager",
			                                    "scope", "credit_code", "licence_no", "code" };
		bool first = true;
		for (int f = 0; f < F_COUNT; f++) {
			if (p->fact[f].len == 0)
				continue;
			if (!first)
				put(&p->key, "|", 1);
			first = false;
			puts_(&p->key, names[f]);
			put(&p->key, "=", 1);
			puts_(&p->key, p->fact[f].p);
		}
	}
	return true;
}

/* ---- the entry point ---- */

static bool starts_with_ci(const char *s, size_t n, const char *prefix)
{
	size_t k = strlen(prefix);
	if (n < k)
		return false;
	for (size_t i = 0; i < k; i++) {
		char c = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] - 'A' + 'a') : s[i];
		if (c != prefix[i])
			return false;
	}
	return true;
}

/* One allocation: the struct and its strings. */
static fic_place_code *result(const parsed *p)
{
	const char *src[F_COUNT + 1];
	size_t need = sizeof(fic_place_code);
	for (int i = 0; i < F_COUNT; i++) {
		src[i] = p->fact[i].len ? p->fact[i].p : NULL;
		need += src[i] ? p->fact[i].len + 1 : 0;
	}
	src[F_COUNT] = p->key.p;
	need += p->key.len + 1;
	fic_place_code *pc = fic__calloc(1, need);
	if (pc == NULL)
		return NULL;
	char *w = (char *)(pc + 1);
	const char **dst[F_COUNT + 1] = { &pc->name, &pc->address, &pc->legal_rep, &pc->manager,
		                          &pc->scope, &pc->credit_code, &pc->licence_no, &pc->code,
		                          &pc->key };
	for (int i = 0; i <= F_COUNT; i++) {
		if (src[i] == NULL)
			continue;
		size_t len = strlen(src[i]) + 1;
		memcpy(w, src[i], len);
		*dst[i] = w;
		w += len;
	}
	pc->form = p->form;
	return pc;
}

int fic_place_code_parse(fic_place_code **out, const char *payload, size_t len)
{
	fic__err_clear();
	FIC__OUT(out);
	FIC__ARG(payload);
	if (len > FIC_PLACE_CODE_PAYLOAD_MAX)
		return fic__err(FIC_ETOOBIG, "a scanned code is at most %d bytes", FIC_PLACE_CODE_PAYLOAD_MAX);
	if (memchr(payload, '\0', len) != NULL || !fic__utf8_valid(payload, len))
		return fic__err(FIC_EINVAL, "a scanned code is UTF-8 text");
	const char *s = payload;
	size_t n = len;
	trim(&s, &n);
	if (n == 0)
		return fic__err(FIC_EINVAL, "the scanned code is empty");
	parsed p;
	memset(&p, 0, sizeof p);
	if ((starts_with_ci(s, n, "https://") || starts_with_ci(s, n, "http://")) &&
	    n > strlen("https://")) {
		p.form = FIC_PLACE_CODE_URL;
		parse_url(&p, s, n);
	} else if (parse_text(&p, s, n)) {
		p.form = FIC_PLACE_CODE_TEXT;
	} else {
		for (int i = 0; i < F_COUNT; i++) {
			fic__free(p.fact[i].p);
			memset(&p.fact[i], 0, sizeof p.fact[i]);
		}
		fic__free(p.key.p);
		memset(&p.key, 0, sizeof p.key);
		p.form = FIC_PLACE_CODE_TOKEN;
		puts_(&p.key, "token:");
		squeeze(&p.key, s, n, false);
		buf code = { 0 };
		squeeze(&code, s, n, false);
		p.fact[F_CODE] = code;
	}
	int rc = FIC_OK;
	if (oom(&p) || p.key.p == NULL)
		rc = fic__err(FIC_ENOMEM, "out of memory reading a scanned code");
	else if (p.key.len > FIC_PLACE_CODE_PAYLOAD_MAX + 16) /* a prefix on the payload's length */
		rc = fic__err(FIC_ETOOBIG, "the scanned code's key is too long");
	else if ((*out = result(&p)) == NULL)
		rc = fic__err(FIC_ENOMEM, "out of memory reading a scanned code");
	parsed_free(&p);
	return rc;
}

void fic_place_code_free(fic_place_code *pc)
{
	fic__free(pc);
}
