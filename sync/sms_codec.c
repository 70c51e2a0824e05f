/*
 * sync/sms_codec.c — the SMS format of an urgent lead, both ways
 * (docs/protocol.md, "SMS fallback"; sms_codec.h for the interface).
 *
 *   part    "FI1" digits                     a message in one SMS
 *           "FP1" i n tag tag digits          part i of n (2..9), tag from the MAC
 *   digits  the frame as one base-80 number, split 157 / 153 digits a part
 *   frame   hint(1) lead_id(16) zbody mac(8)
 *   mac     HMAC-SHA-512-256(key, "FIC-SMS" format hint lead_id zbody), first 8 bytes
 *   zbody   raw deflate (RFC 1951) of body, with the format's preset dictionary
 *   body    category flags time [site] [location] present {value} [place] [description]
 *
 * The MAC is checked before anything is inflated, so what an attacker can
 * make the county's server do with a forged SMS is one HMAC per candidate
 * key. Everything read is bounded: a body inflates to at most 4 KiB, a text
 * to the codebook's characters, a list to 64 numbers.
 */
#include "sms_codec.h"
#include "sync_internal.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

/* SHA-256 of the format's data files: a format version's data never
 * changes (tests/sync/test_sms.c checks the embedded copies against these). */
#define DICT_NAME "dict-v1.txt"
#define DICT_SHA256 "9ab1e9f5320f980dc588b76cb09808cfbd4ae8a9213388c915437ddb9b6519ee"
#define BOOK_NAME "codebook-v1.json"
#define BOOK_SHA256 "af3d9b70d99c82b34850a9e3fc3c876e3a5f7e442470542b3ec09ff2ccc27820"

#define SINGLE_DIGITS (FIC_SMS_TEXT_CHARS - 3) /* "FI1" */
#define PART_DIGITS (FIC_SMS_TEXT_CHARS - 7)   /* "FP1" i n tag tag */
#define COUNT_MAX 999999999.0                  /* a count answer (9 digits) */
#define LIST_MAX 64                            /* numbers in a counts answer */
#define ITEMS_MAX 32
#define CATS_MAX 16

const char fic__sms_alphabet[81] =
	"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#%&()*+,-./:;<=>?";

static const char MAC_CONTEXT[] = "FIC-SMS";
static const char RECEIPT_CONTEXT[] = "FIC-SMS-OK";

/* ---- base 80 ---- */

static int digit_value(unsigned char c)
{
	const char *p = c ? strchr(fic__sms_alphabet, c) : NULL;
	return p ? (int)(p - fic__sms_alphabet) : -1;
}

size_t fic__sms_digits_for(size_t bytes)
{
	/* The least n with 80^n >= 256^bytes. log2(80) is irrational, so for the
	 * lengths used here (≤ a few thousand bytes) the product is never within
	 * rounding of a whole number; test_sms checks every length exactly. */
	return (size_t)ceill((long double)bytes * 8.0L / 6.3219280948873623478703194294894L);
}

long fic__sms_bytes_for(size_t digits)
{
	if (digits > 100000)
		return -1;
	size_t k = (size_t)floorl((long double)digits * 6.3219280948873623478703194294894L / 8.0L);
	return fic__sms_digits_for(k) == digits ? (long)k : -1;
}

int fic__sms_to_digits(const uint8_t *bytes, size_t n, char *digits)
{
	size_t nd = fic__sms_digits_for(n);
	uint8_t work[FIC_SMS_FRAME_LIMIT];
	if (n > sizeof work)
		return fic__err(FIC_ETOOBIG, "an SMS frame is at most %d bytes", FIC_SMS_FRAME_LIMIT);
	memcpy(work, bytes, n);
	for (size_t i = nd; i-- > 0;) {
		unsigned rem = 0;
		for (size_t j = 0; j < n; j++) {
			unsigned cur = rem * 256 + work[j];
			work[j] = (uint8_t)(cur / 80);
			rem = cur % 80;
		}
		digits[i] = fic__sms_alphabet[rem];
	}
	return FIC_OK;
}

int fic__sms_from_digits(const char *digits, size_t nd, uint8_t *bytes)
{
	long k = fic__sms_bytes_for(nd);
	if (k < 0)
		return fic__err(FIC_EINVAL, "an SMS of %zu digits is not a whole number of bytes", nd);
	memset(bytes, 0, (size_t)k);
	for (size_t i = 0; i < nd; i++) {
		int v = digit_value((unsigned char)digits[i]);
		if (v < 0)
			return fic__err(FIC_EINVAL, "character %zu of the SMS is not in its alphabet", i + 1);
		unsigned carry = (unsigned)v;
		for (long j = k; j-- > 0;) {
			unsigned cur = bytes[j] * 80u + carry;
			bytes[j] = (uint8_t)(cur & 0xFF);
			carry = cur >> 8;
		}
		if (carry)
			return fic__err(FIC_EINVAL, "the SMS spells a number too large for its length");
	}
	return FIC_OK;
}

/* ---- bytes in, bytes out ---- */

typedef struct wbuf {
	uint8_t b[FIC_SMS_BODY_LIMIT];
	size_t n;
	bool over;
} wbuf;

static void put(wbuf *w, const void *p, size_t n)
{
	if (w->over || n > sizeof w->b - w->n) {
		w->over = true;
		return;
	}
	memcpy(w->b + w->n, p, n);
	w->n += n;
}

static void put_u8(wbuf *w, unsigned v)
{
	uint8_t b = (uint8_t)v;
	put(w, &b, 1);
}

static void put_var(wbuf *w, uint64_t v)
{
	do {
		put_u8(w, (unsigned)(v & 0x7F) | (v > 0x7F ? 0x80u : 0));
		v >>= 7;
	} while (v);
}

static uint64_t zigzag(int64_t v)
{
	return v < 0 ? ((uint64_t)(-(v + 1)) << 1) | 1 : (uint64_t)v << 1;
}

static int64_t unzigzag(uint64_t v)
{
	return v & 1 ? -(int64_t)(v >> 1) - 1 : (int64_t)(v >> 1);
}

static void put_str(wbuf *w, const char *s, size_t n)
{
	put_var(w, n);
	put(w, s, n);
}

typedef struct rbuf {
	const uint8_t *p;
	size_t n, at;
	bool bad;
} rbuf;

static unsigned get_u8(rbuf *r)
{
	if (r->bad || r->at >= r->n) {
		r->bad = true;
		return 0;
	}
	return r->p[r->at++];
}

static uint64_t get_var(rbuf *r)
{
	uint64_t v = 0;
	for (int shift = 0; shift < 64; shift += 7) {
		unsigned b = get_u8(r);
		if (r->bad)
			return 0;
		if (shift == 63 && b > 1) /* the tenth byte may hold the top bit only */
			break;
		v |= (uint64_t)(b & 0x7F) << shift;
		if (!(b & 0x80))
			return v;
	}
	r->bad = true;
	return 0;
}

static const uint8_t *get_bytes(rbuf *r, size_t n)
{
	if (r->bad || n > r->n - r->at) {
		r->bad = true;
		return NULL;
	}
	const uint8_t *p = r->p + r->at;
	r->at += n;
	return p;
}

/* ---- the format's data ---- */

static const fic__sms_file *data_file(const char *name, const char *sha256)
{
	for (size_t i = 0; i < fic__sms_files_count; i++) {
		const fic__sms_file *f = &fic__sms_files[i];
		if (strcmp(f->name, name) != 0)
			continue;
		char h[FIC_SHA256_HEX];
		if (fic__sha256_hex(f->data, f->len, h) != FIC_OK)
			return NULL;
		if (strcmp(h, sha256) != 0) {
			fic__err(FIC_ERROR, "the SMS format's %s does not match its pinned SHA-256", name);
			return NULL;
		}
		return f;
	}
	fic__err(FIC_ERROR, "the SMS format's %s is not built in", name);
	return NULL;
}

const unsigned char *fic__sms_dictionary(size_t *len)
{
	const fic__sms_file *f = data_file(DICT_NAME, DICT_SHA256);
	*len = f ? f->len : 0;
	return f ? f->data : NULL;
}

enum { T_COUNT = 1, T_COUNTS, T_DATE, T_CHOICE, T_MULTI, T_YES_NO };

typedef struct book_item {
	const char *id;
	int type;
	const cJSON *choices;
	int nchoices;
} book_item;

typedef struct book_cat {
	const char *name, *title;
	book_item items[ITEMS_MAX];
	int nitems;
	const cJSON *place, *description; /* arrays of item ids, first answered wins */
} book_cat;

typedef struct book {
	cJSON *root;
	int place_chars, description_chars;
	book_cat cats[CATS_MAX];
	int ncats;
} book;

static void book_free(book *b)
{
	if (b) {
		cJSON_Delete(b->root);
		fic__free(b);
	}
}

static int type_of(const char *t)
{
	static const char *const names[] = { NULL, "count", "counts", "date", "choice", "multi",
		                             "yes_no" };
	for (int i = 1; i <= T_YES_NO; i++)
		if (strcmp(t, names[i]) == 0)
			return i;
	return 0;
}

static int book_load(book **out)
{
	*out = NULL;
	const fic__sms_file *f = data_file(BOOK_NAME, BOOK_SHA256);
	if (f == NULL)
		return fic_error_last()->code ? fic_error_last()->code : FIC_ENOMEM;
	book *b = fic__calloc(1, sizeof *b);
	if (b == NULL || (b->root = cJSON_ParseWithLength((const char *)f->data, f->len)) == NULL) {
		book_free(b);
		return fic__err(FIC_ENOMEM, "out of memory reading the SMS codebook");
	}
	const cJSON *cats = cJSON_GetObjectItemCaseSensitive(b->root, "categories");
	b->place_chars = (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(b->root, "place_chars"));
	b->description_chars = (int)cJSON_GetNumberValue(
		cJSON_GetObjectItemCaseSensitive(b->root, "description_chars"));
	bool ok = cJSON_IsArray(cats) && cJSON_GetArraySize(cats) <= CATS_MAX &&
	          b->place_chars > 0 && b->description_chars > 0;
	const cJSON *c;
	cJSON_ArrayForEach(c, cats) {
		if (!ok)
			break;
		book_cat *bc = &b->cats[b->ncats++];
		bc->name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "category"));
		bc->title = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "title_zh"));
		bc->place = cJSON_GetObjectItemCaseSensitive(c, "place");
		bc->description = cJSON_GetObjectItemCaseSensitive(c, "description");
		const cJSON *items = cJSON_GetObjectItemCaseSensitive(c, "items");
		ok = bc->name && bc->title && cJSON_IsArray(bc->place) && cJSON_IsArray(bc->description) &&
		     cJSON_IsArray(items) && cJSON_GetArraySize(items) <= ITEMS_MAX;
		const cJSON *it;
		cJSON_ArrayForEach(it, items) {
			if (!ok)
				break;
			book_item *bi = &bc->items[bc->nitems++];
			const char *t = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "type"));
			bi->id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "id"));
			bi->type = t ? type_of(t) : 0;
			bi->choices = cJSON_GetObjectItemCaseSensitive(it, "choices");
			bi->nchoices = cJSON_GetArraySize(bi->choices);
			ok = bi->id && bi->type &&
			     ((bi->type != T_CHOICE && bi->type != T_MULTI && bi->type != T_YES_NO) ||
			      (bi->nchoices > 0 && bi->nchoices < 63));
		}
	}
	if (!ok) {
		book_free(b);
		return fic__err(FIC_ERROR, "the SMS codebook is malformed");
	}
	*out = b;
	return FIC_OK;
}

static int choice_index(const book_item *it, const char *v)
{
	int i = 0;
	const cJSON *c;
	cJSON_ArrayForEach(c, it->choices) {
		if (cJSON_IsString(c) && v && strcmp(c->valuestring, v) == 0)
			return i;
		i++;
	}
	return -1;
}

/* ---- texts: whole characters, at most `chars` of them ---- */

/* Bytes of the first `chars` characters of valid UTF-8 `s` (all of it if shorter). */
static size_t utf8_prefix(const char *s, size_t len, size_t chars, bool *cut)
{
	size_t i = 0, n = 0;
	while (i < len && n < chars) {
		unsigned char c = (unsigned char)s[i];
		i += c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
		n++;
	}
	if (i > len)
		i = len;
	*cut = i < len;
	return i;
}

static size_t utf8_chars(const char *s, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		n += ((unsigned char)s[i] & 0xC0) != 0x80;
	return n;
}

/* ---- the body ---- */

enum {
	F_SITE = 1,
	F_SITE_UUID = 2,
	F_LOCATION = 4,
	F_PLACE = 8,
	F_DESCRIPTION = 16,
	F_PLACE_CUT = 32,
	F_DESCRIPTION_CUT = 64
};

static int64_t uuid_ms(const uint8_t id[16])
{
	int64_t t = 0;
	for (int i = 0; i < 6; i++)
		t = (t << 8) | id[i];
	return t;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a >= 0 ? a / b : -((-a + b - 1) / b);
}

static bool parse_hex16(const char *s, uint8_t out[16])
{
	static const int groups[] = { 8, 4, 4, 4, 12 };
	size_t o = 0;
	for (int g = 0; g < 5; g++) {
		for (int i = 0; i < groups[g]; i++, s++) {
			int v = *s >= '0' && *s <= '9' ? *s - '0' : *s >= 'a' && *s <= 'f' ? *s - 'a' + 10 : -1;
			if (v < 0)
				return false;
			if (i % 2 == 0)
				out[o] = (uint8_t)(v << 4);
			else
				out[o++] |= (uint8_t)v;
		}
		if (g < 4 && *s++ != '-')
			return false;
	}
	return *s == '\0';
}

int fic__sms_uuid_parse(const char *text, uint8_t out[16])
{
	if (text == NULL || strlen(text) != 36 || !parse_hex16(text, out) || (out[6] >> 4) != 7 ||
	    (out[8] & 0xC0) != 0x80)
		return fic__err(FIC_EINVAL, "a lead id is a UUIDv7 in lower-case hex");
	return FIC_OK;
}

static bool id_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.';
}

static bool id_ok(const char *s, size_t len, size_t max)
{
	if (len == 0 || len > max)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!id_char(s[i]))
			return false;
	return true;
}

static const book_cat *cat_find(const book *b, const char *name, int *code)
{
	for (int i = 0; i < b->ncats; i++)
		if (strcmp(b->cats[i].name, name) == 0) {
			*code = i + 1;
			return &b->cats[i];
		}
	*code = 0;
	return NULL;
}

/* One answer, if the codebook carries it and it is well-formed: *present. */
static void put_answer(wbuf *w, const book_item *it, const cJSON *v, int64_t base_day,
                       bool *present)
{
	*present = false;
	wbuf tmp;
	tmp.n = 0;
	tmp.over = false;
	switch (it->type) {
	case T_COUNT: {
		double d = cJSON_GetNumberValue(v);
		if (!cJSON_IsNumber(v) || !(d >= 0 && d <= COUNT_MAX) || d != floor(d))
			return;
		put_var(&tmp, (uint64_t)d);
		break;
	}
	case T_COUNTS: {
		int n = cJSON_GetArraySize(v);
		if (!cJSON_IsArray(v) || n < 1 || n > LIST_MAX)
			return;
		put_var(&tmp, (uint64_t)n);
		const cJSON *e;
		cJSON_ArrayForEach(e, v) {
			double d = cJSON_GetNumberValue(e);
			if (!cJSON_IsNumber(e) || !(d >= 0 && d <= COUNT_MAX) || d != floor(d))
				return;
			put_var(&tmp, (uint64_t)d);
		}
		break;
	}
	case T_DATE: {
		int64_t day;
		if (!cJSON_IsString(v) || fic__parse_date(v->valuestring, it->id, &day) != FIC_OK) {
			fic__err_clear();
			return;
		}
		put_var(&tmp, zigzag(day - base_day));
		break;
	}
	case T_CHOICE:
	case T_YES_NO: {
		int i = cJSON_IsString(v) ? choice_index(it, v->valuestring) : -1;
		if (i < 0)
			return;
		put_var(&tmp, (uint64_t)i);
		break;
	}
	case T_MULTI: {
		uint64_t mask = 0;
		const cJSON *e;
		cJSON_ArrayForEach(e, v) {
			int i = cJSON_IsString(e) ? choice_index(it, e->valuestring) : -1;
			if (i >= 0)
				mask |= (uint64_t)1 << i;
		}
		if (!cJSON_IsArray(v) || mask == 0)
			return;
		put_var(&tmp, mask);
		break;
	}
	default:
		return;
	}
	put(w, tmp.b, tmp.n);
	*present = true;
}

/* A text as it travels: valid UTF-8, cut to `chars` characters (NULL/"": none). */
static int cut_text(const char *given, int chars, const char **text, size_t *len, bool *cut,
                    const char *what)
{
	*text = NULL;
	*len = 0;
	*cut = false;
	if (given == NULL || given[0] == '\0')
		return FIC_OK;
	size_t n = strlen(given);
	if (!fic__utf8_valid(given, n))
		return fic__err(FIC_EINVAL, "the SMS %s is not valid UTF-8", what);
	*text = given;
	*len = utf8_prefix(given, n, (size_t)chars, cut);
	return FIC_OK;
}

static int body_encode(const book *b, const fic__sms_lead *l, wbuf *w)
{
	int code;
	const book_cat *cat = cat_find(b, l->category, &code);
	size_t catlen = strlen(l->category);
	if (cat == NULL && !id_ok(l->category, catlen, FIC_SMS_CATEGORY_MAX))
		return fic__err(FIC_EINVAL, "lead category '%.64s' cannot travel by SMS", l->category);
	size_t sitelen = strlen(l->site_id);
	uint8_t site_uuid[16];
	bool site_is_uuid = sitelen == 36 && parse_hex16(l->site_id, site_uuid);
	if (sitelen && !id_ok(l->site_id, sitelen, FIC_SMS_SITE_ID_MAX))
		return fic__err(FIC_EINVAL, "site id '%.64s' cannot travel by SMS", l->site_id);
	if (l->has_location && !(l->lat >= -90 && l->lat <= 90 && l->lon >= -180 && l->lon <= 180))
		return fic__err(FIC_EINVAL, "the location is outside -90..90, -180..180");
	const char *place, *desc;
	size_t plen, dlen;
	bool pcut, dcut;
	int rc = cut_text(l->place, b->place_chars, &place, &plen, &pcut, "place");
	if (rc == FIC_OK)
		rc = cut_text(l->description, b->description_chars, &desc, &dlen, &dcut, "description");
	if (rc != FIC_OK)
		return rc;
	pcut = pcut || (place && l->place_truncated);
	dcut = dcut || (desc && l->description_truncated);

	put_u8(w, (unsigned)code);
	if (code == 0)
		put_str(w, l->category, catlen);
	unsigned flags = (sitelen ? F_SITE : 0) | (site_is_uuid ? F_SITE_UUID : 0) |
	                 (l->has_location ? F_LOCATION : 0) | (place ? F_PLACE : 0) |
	                 (desc ? F_DESCRIPTION : 0) | (pcut ? F_PLACE_CUT : 0) |
	                 (dcut ? F_DESCRIPTION_CUT : 0);
	put_u8(w, flags);
	int64_t base = uuid_ms(l->lead_id);
	int64_t delta = floor_div(l->discovered_ms - base, 1000);
	if (delta < -((int64_t)1 << 40) || delta > ((int64_t)1 << 40))
		return fic__err(FIC_EINVAL, "the discovery time is too far from the lead id's time");
	put_var(w, (zigzag(delta) << 3) | (uint64_t)(l->time_flags & 7));
	if (site_is_uuid)
		put(w, site_uuid, 16);
	else if (sitelen)
		put_str(w, l->site_id, sitelen);
	if (l->has_location) {
		uint64_t a = (uint64_t)llround((l->lat + 90.0) * 1e5);
		uint64_t o = (uint64_t)llround((l->lon + 180.0) * 1e5);
		uint64_t x = (a << 26) | o;
		for (int i = 6; i >= 0; i--)
			put_u8(w, (unsigned)(x >> (8 * i)) & 0xFF);
	}
	if (cat) {
		int64_t base_day = floor_div(base, 86400000);
		wbuf *vals = fic__malloc(sizeof *vals);
		if (vals == NULL)
			return fic__err(FIC_ENOMEM, "out of memory encoding an SMS");
		vals->n = 0;
		vals->over = false;
		uint64_t mask = 0;
		for (int i = 0; i < cat->nitems; i++) {
			bool present;
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(l->answers, cat->items[i].id);
			put_answer(vals, &cat->items[i], v, base_day, &present);
			if (present)
				mask |= (uint64_t)1 << i;
		}
		put_var(w, mask);
		put(w, vals->b, vals->n);
		w->over = w->over || vals->over;
		fic__free(vals);
	}
	if (place)
		put_str(w, place, plen);
	if (desc)
		put_str(w, desc, dlen);
	return w->over ? fic__err(FIC_ETOOBIG, "the lead is too large for the SMS layout") : FIC_OK;
}

static char *get_text(rbuf *r, int chars)
{
	size_t n = (size_t)get_var(r);
	if (n == 0 || n > (size_t)chars * 4) {
		r->bad = true;
		return NULL;
	}
	const uint8_t *p = get_bytes(r, n);
	if (p == NULL || !fic__utf8_valid((const char *)p, n) || utf8_chars((const char *)p, n) > (size_t)chars) {
		r->bad = true;
		return NULL;
	}
	char *s = fic__malloc(n + 1);
	if (s) {
		memcpy(s, p, n);
		s[n] = '\0';
	}
	return s;
}

/* One answer back as JSON, or NULL (r->bad set, or out of memory: *oom). */
static cJSON *get_answer(rbuf *r, const book_item *it, int64_t base_day, bool *oom)
{
	cJSON *v = NULL;
	switch (it->type) {
	case T_COUNT: {
		uint64_t x = get_var(r);
		if (x > (uint64_t)COUNT_MAX)
			r->bad = true;
		else
			v = cJSON_CreateNumber((double)x);
		break;
	}
	case T_COUNTS: {
		uint64_t n = get_var(r);
		if (n < 1 || n > LIST_MAX) {
			r->bad = true;
			break;
		}
		v = cJSON_CreateArray();
		for (uint64_t i = 0; v && i < n && !r->bad; i++) {
			uint64_t x = get_var(r);
			if (x > (uint64_t)COUNT_MAX)
				r->bad = true;
			else if (!fic__json_put(v, NULL, cJSON_CreateNumber((double)x))) {
				cJSON_Delete(v);
				v = NULL;
			}
		}
		break;
	}
	case T_DATE: {
		int64_t day = base_day + unzigzag(get_var(r));
		/* 1900-01-01 .. 2999-12-31, the dates a form accepts */
		if (day < -25567 || day > 376199) {
			r->bad = true;
			break;
		}
		char d[11];
		fic__days_format(day, d);
		v = cJSON_CreateString(d);
		break;
	}
	case T_CHOICE:
	case T_YES_NO: {
		uint64_t i = get_var(r);
		const cJSON *c = i < (uint64_t)it->nchoices ? cJSON_GetArrayItem(it->choices, (int)i) : NULL;
		if (c == NULL)
			r->bad = true;
		else
			v = cJSON_CreateString(c->valuestring);
		break;
	}
	case T_MULTI: {
		uint64_t mask = get_var(r);
		if (mask == 0 || (it->nchoices < 64 && (mask >> it->nchoices) != 0)) {
			r->bad = true;
			break;
		}
		v = cJSON_CreateArray();
		for (int i = 0; v && i < it->nchoices; i++)
			if ((mask >> i) & 1 &&
			    !fic__json_put(v, NULL,
			                   cJSON_CreateString(cJSON_GetArrayItem(it->choices, i)->valuestring))) {
				cJSON_Delete(v);
				v = NULL;
			}
		break;
	}
	default:
		r->bad = true;
	}
	if (r->bad) {
		cJSON_Delete(v);
		return NULL;
	}
	if (v == NULL)
		*oom = true;
	return v;
}

static int body_decode(const book *b, const uint8_t *p, size_t n, fic__sms_lead *l)
{
	rbuf r = { p, n, 0, false };
	bool oom = false;
	unsigned code = get_u8(&r);
	const book_cat *cat = NULL;
	if (code > (unsigned)b->ncats)
		r.bad = true;
	else if (code > 0) {
		cat = &b->cats[code - 1];
		snprintf(l->category, sizeof l->category, "%s", cat->name);
	} else {
		size_t len = (size_t)get_var(&r);
		const uint8_t *s = len <= FIC_SMS_CATEGORY_MAX ? get_bytes(&r, len) : NULL;
		if (s == NULL || !id_ok((const char *)s, len, FIC_SMS_CATEGORY_MAX))
			r.bad = true;
		else
			snprintf(l->category, sizeof l->category, "%.*s", (int)len, (const char *)s);
	}
	unsigned flags = get_u8(&r);
	if (flags & 0x80 || ((flags & F_SITE_UUID) && !(flags & F_SITE)) ||
	    ((flags & F_PLACE_CUT) && !(flags & F_PLACE)) ||
	    ((flags & F_DESCRIPTION_CUT) && !(flags & F_DESCRIPTION)))
		r.bad = true;
	uint64_t t = get_var(&r);
	int64_t base = uuid_ms(l->lead_id);
	int64_t delta = unzigzag(t >> 3);
	if (delta < -((int64_t)1 << 40) || delta > ((int64_t)1 << 40))
		r.bad = true;
	l->discovered_ms = base + delta * 1000;
	l->time_flags = (int)(t & 7);
	if (flags & F_SITE_UUID) {
		const uint8_t *u = get_bytes(&r, 16);
		if (u)
			fic__uuid_format(u, l->site_id);
	} else if (flags & F_SITE) {
		size_t len = (size_t)get_var(&r);
		const uint8_t *s = len <= FIC_SMS_SITE_ID_MAX ? get_bytes(&r, len) : NULL;
		if (s == NULL || !id_ok((const char *)s, len, FIC_SMS_SITE_ID_MAX))
			r.bad = true;
		else
			snprintf(l->site_id, sizeof l->site_id, "%.*s", (int)len, (const char *)s);
	}
	if (flags & F_LOCATION) {
		const uint8_t *q = get_bytes(&r, 7);
		uint64_t x = 0;
		for (int i = 0; q && i < 7; i++)
			x = (x << 8) | q[i];
		uint64_t a = x >> 26, o = x & ((1u << 26) - 1);
		if (q == NULL || a > 18000000 || o > 36000000)
			r.bad = true;
		l->has_location = !r.bad;
		l->lat = (double)a / 1e5 - 90.0;
		l->lon = (double)o / 1e5 - 180.0;
	}
	if ((l->answers = cJSON_CreateObject()) == NULL)
		oom = true;
	if (cat && !oom) {
		uint64_t mask = get_var(&r);
		if (cat->nitems < 64 && (mask >> cat->nitems) != 0)
			r.bad = true;
		int64_t base_day = floor_div(base, 86400000);
		for (int i = 0; i < cat->nitems && !r.bad && !oom; i++) {
			if (!((mask >> i) & 1))
				continue;
			cJSON *v = get_answer(&r, &cat->items[i], base_day, &oom);
			if (v && !fic__json_put(l->answers, cat->items[i].id, v))
				oom = true;
		}
	}
	if ((flags & F_PLACE) && !r.bad && !oom) {
		l->place = get_text(&r, b->place_chars);
		oom = !r.bad && l->place == NULL;
		l->place_truncated = (flags & F_PLACE_CUT) != 0;
	}
	if ((flags & F_DESCRIPTION) && !r.bad && !oom) {
		l->description = get_text(&r, b->description_chars);
		oom = !r.bad && l->description == NULL;
		l->description_truncated = (flags & F_DESCRIPTION_CUT) != 0;
	}
	if (oom)
		return fic__err(FIC_ENOMEM, "out of memory decoding an SMS");
	if (r.bad || r.at != r.n)
		return fic__err(FIC_EINVAL, "the SMS body does not follow format %d", FIC_SMS_FORMAT);
	return FIC_OK;
}

/* ---- zlib through the library's allocator ---- */

static voidpf z_alloc(voidpf opaque, uInt items, uInt size)
{
	(void)opaque;
	return size && items > SIZE_MAX / size ? NULL : fic__malloc((size_t)items * size);
}

static void z_free(voidpf opaque, voidpf p)
{
	(void)opaque;
	fic__free(p);
}

int fic__sms_deflate(const uint8_t *in, size_t len, bool with_dictionary, uint8_t **out,
                     size_t *out_len)
{
	*out = NULL;
	*out_len = 0;
	size_t dlen = 0;
	const unsigned char *dict = with_dictionary ? fic__sms_dictionary(&dlen) : NULL;
	if (with_dictionary && dict == NULL)
		return fic_error_last()->code;
	z_stream z;
	memset(&z, 0, sizeof z);
	z.zalloc = z_alloc;
	z.zfree = z_free;
	/* Raw deflate: the format pins the dictionary, so neither zlib's header
	 * (with its dictionary id) nor its checksum is needed — the MAC covers it. */
	int zr = deflateInit2(&z, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY);
	if (zr != Z_OK)
		return fic__err(FIC_ENOMEM, "cannot start the SMS compressor");
	if (dict && deflateSetDictionary(&z, dict, (uInt)dlen) != Z_OK) {
		deflateEnd(&z);
		return fic__err(FIC_ENOMEM, "cannot load the SMS dictionary");
	}
	return fic__deflate_whole(&z, in, len, out, out_len, "an SMS");
}

static int inflate_body(const uint8_t *in, size_t len, uint8_t *out, size_t *out_len)
{
	size_t dlen;
	const unsigned char *dict = fic__sms_dictionary(&dlen);
	if (dict == NULL)
		return fic_error_last()->code;
	z_stream z;
	memset(&z, 0, sizeof z);
	z.zalloc = z_alloc;
	z.zfree = z_free;
	if (inflateInit2(&z, -15) != Z_OK)
		return fic__err(FIC_ENOMEM, "cannot start the SMS decompressor");
	int rc = FIC_OK;
	if (inflateSetDictionary(&z, dict, (uInt)dlen) != Z_OK)
		rc = fic__err(FIC_ENOMEM, "cannot load the SMS dictionary");
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)len;
	z.next_out = out;
	z.avail_out = FIC_SMS_BODY_LIMIT;
	int zr = rc == FIC_OK ? inflate(&z, Z_FINISH) : Z_OK;
	if (rc == FIC_OK && (zr != Z_STREAM_END || z.avail_in != 0))
		rc = zr == Z_MEM_ERROR ? fic__err(FIC_ENOMEM, "out of memory inflating an SMS")
		                       : fic__err(FIC_EINVAL, "the SMS body does not inflate (zlib %d)", zr);
	*out_len = (size_t)z.total_out;
	inflateEnd(&z);
	return rc;
}

/* ---- the frame ---- */

static int sodium_ready(void)
{
	return sodium_init() < 0 ? fic__err(FIC_ERROR, "libsodium could not start") : FIC_OK;
}

uint8_t fic__sms_key_hint(const uint8_t key[FIC_SMS_KEY_BYTES])
{
	static const unsigned char what[] = "FIC-SMS key hint";
	unsigned char h[16];
	if (sodium_init() < 0)
		return 0;
	crypto_generichash(h, sizeof h, what, sizeof what - 1, key, FIC_SMS_KEY_BYTES);
	return h[0];
}

static void frame_mac(const uint8_t key[FIC_SMS_KEY_BYTES], const uint8_t *frame, size_t n,
                      uint8_t mac[FIC_SMS_MAC_BYTES])
{
	crypto_auth_hmacsha512256_state st;
	unsigned char full[crypto_auth_hmacsha512256_BYTES];
	unsigned char fmt = FIC_SMS_FORMAT;
	crypto_auth_hmacsha512256_init(&st, key, FIC_SMS_KEY_BYTES);
	crypto_auth_hmacsha512256_update(&st, (const unsigned char *)MAC_CONTEXT,
	                                 sizeof MAC_CONTEXT - 1);
	crypto_auth_hmacsha512256_update(&st, &fmt, 1);
	crypto_auth_hmacsha512256_update(&st, frame, n);
	crypto_auth_hmacsha512256_final(&st, full);
	memcpy(mac, full, FIC_SMS_MAC_BYTES);
	sodium_memzero(&st, sizeof st);
}

int fic__sms_body_of(const fic__sms_lead *lead, uint8_t **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	book *b = NULL;
	wbuf *w = fic__malloc(sizeof *w);
	int rc = w ? book_load(&b) : fic__err(FIC_ENOMEM, "out of memory");
	if (rc == FIC_OK) {
		w->n = 0;
		w->over = false;
		rc = body_encode(b, lead, w);
	}
	if (rc == FIC_OK && (*out = fic__malloc(w->n ? w->n : 1)) == NULL)
		rc = fic__err(FIC_ENOMEM, "out of memory");
	if (rc == FIC_OK) {
		memcpy(*out, w->b, w->n);
		*len = w->n;
	}
	book_free(b);
	fic__free(w);
	return rc;
}

int fic__sms_frame_seal(uint8_t *frame, size_t len, const uint8_t key[FIC_SMS_KEY_BYTES])
{
	if (frame == NULL || key == NULL || len <= FIC_SMS_MAC_BYTES)
		return fic__err(FIC_EINVAL, "seal: bad arguments");
	int rc = sodium_ready();
	if (rc == FIC_OK)
		frame_mac(key, frame, len - FIC_SMS_MAC_BYTES, frame + len - FIC_SMS_MAC_BYTES);
	return rc;
}

int fic__sms_frame_hint(const uint8_t *frame, size_t len)
{
	return frame && len > 0 ? frame[0] : -1;
}

void fic__sms_lead_clear(fic__sms_lead *l)
{
	if (l == NULL)
		return;
	cJSON_Delete(l->answers);
	fic__free(l->place);
	fic__free(l->description);
	memset(l, 0, sizeof *l);
}

void fic__sms_parts_clear(fic__sms_parts *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < FIC_SMS_PARTS_LIMIT; i++)
		fic__free(p->text[i]);
	memset(p, 0, sizeof *p);
}

int fic__sms_encode(const fic__sms_lead *lead, const uint8_t key[FIC_SMS_KEY_BYTES],
                    fic__sms_parts *out)
{
	if (out == NULL)
		return fic__err(FIC_EINVAL, "out is NULL");
	memset(out, 0, sizeof *out);
	if (lead == NULL || key == NULL)
		return fic__err(FIC_EINVAL, "lead and key are required");
	int rc = sodium_ready();
	if (rc != FIC_OK)
		return rc;
	if ((lead->lead_id[6] >> 4) != 7)
		return fic__err(FIC_EINVAL, "a lead id is a UUIDv7");
	book *b = NULL;
	wbuf *w = fic__malloc(sizeof *w);
	uint8_t *z = NULL, *frame = NULL;
	size_t zn = 0, fn = 0;
	char *digits = NULL;
	if (w == NULL) {
		rc = fic__err(FIC_ENOMEM, "out of memory encoding an SMS");
		goto done;
	}
	w->n = 0;
	w->over = false;
	if ((rc = book_load(&b)) != FIC_OK || (rc = body_encode(b, lead, w)) != FIC_OK ||
	    (rc = fic__sms_deflate(w->b, w->n, true, &z, &zn)) != FIC_OK)
		goto done;
	fn = 1 + 16 + zn + FIC_SMS_MAC_BYTES;
	size_t nd = fic__sms_digits_for(fn);
	size_t count = nd <= SINGLE_DIGITS ? 1 : (nd + PART_DIGITS - 1) / PART_DIGITS;
	if (count > FIC_SMS_PARTS_LIMIT) {
		rc = fic__err(FIC_ETOOBIG, "the lead needs %zu SMS, more than %d", count,
		              FIC_SMS_PARTS_LIMIT);
		goto done;
	}
	if ((frame = fic__malloc(fn)) == NULL || (digits = fic__malloc(nd + 1)) == NULL) {
		rc = fic__err(FIC_ENOMEM, "out of memory encoding an SMS");
		goto done;
	}
	frame[0] = fic__sms_key_hint(key);
	memcpy(frame + 1, lead->lead_id, 16);
	memcpy(frame + 17, z, zn);
	frame_mac(key, frame, fn - FIC_SMS_MAC_BYTES, frame + fn - FIC_SMS_MAC_BYTES);
	if ((rc = fic__sms_to_digits(frame, fn, digits)) != FIC_OK)
		goto done;
	const uint8_t *mac = frame + fn - FIC_SMS_MAC_BYTES;
	for (size_t i = 0; i < count; i++) {
		size_t per = count == 1 ? SINGLE_DIGITS : PART_DIGITS;
		size_t from = i * per, len = nd - from < per ? nd - from : per;
		char *t = fic__malloc(FIC_SMS_TEXT_CHARS + 1);
		if (t == NULL) {
			rc = fic__err(FIC_ENOMEM, "out of memory encoding an SMS");
			goto done;
		}
		out->text[i] = t;
		if (count == 1)
			snprintf(t, FIC_SMS_TEXT_CHARS + 1, "FI%d%.*s", FIC_SMS_FORMAT, (int)len, digits + from);
		else
			snprintf(t, FIC_SMS_TEXT_CHARS + 1, "FP%d%zu%zu%c%c%.*s", FIC_SMS_FORMAT, i + 1, count,
			         fic__sms_alphabet[mac[0] % 80], fic__sms_alphabet[mac[1] % 80], (int)len,
			         digits + from);
	}
	out->count = count;
	out->frame_bytes = fn;
done:
	if (rc != FIC_OK)
		fic__sms_parts_clear(out);
	book_free(b);
	fic__free(w);
	fic__free(z);
	fic__free(frame);
	fic__free(digits);
	return rc;
}

int fic__sms_open(const uint8_t *frame, size_t len, const uint8_t key[FIC_SMS_KEY_BYTES],
                  fic__sms_lead *out)
{
	if (out == NULL)
		return fic__err(FIC_EINVAL, "out is NULL");
	memset(out, 0, sizeof *out);
	if (frame == NULL || key == NULL)
		return fic__err(FIC_EINVAL, "frame and key are required");
	int rc = sodium_ready();
	if (rc != FIC_OK)
		return rc;
	if (len < 1 + 16 + 2 + FIC_SMS_MAC_BYTES)
		return fic__err(FIC_EINVAL, "an SMS frame of %zu bytes is too short", len);
	uint8_t mac[FIC_SMS_MAC_BYTES];
	frame_mac(key, frame, len - FIC_SMS_MAC_BYTES, mac);
	if (sodium_memcmp(mac, frame + len - FIC_SMS_MAC_BYTES, FIC_SMS_MAC_BYTES) != 0)
		return fic__err(FIC_EAUTH, "the SMS does not verify with this key (forged, altered "
		                           "or another device's)");
	memcpy(out->lead_id, frame + 1, 16);
	if ((out->lead_id[6] >> 4) != 7 || (out->lead_id[8] & 0xC0) != 0x80)
		return fic__err(FIC_EINVAL, "the SMS names no UUIDv7 lead");
	uint8_t *body = fic__malloc(FIC_SMS_BODY_LIMIT);
	book *b = NULL;
	size_t bn = 0;
	if (body == NULL)
		rc = fic__err(FIC_ENOMEM, "out of memory decoding an SMS");
	if (rc == FIC_OK)
		rc = inflate_body(frame + 17, len - 17 - FIC_SMS_MAC_BYTES, body, &bn);
	if (rc == FIC_OK)
		rc = book_load(&b);
	if (rc == FIC_OK)
		rc = body_decode(b, body, bn, out);
	if (rc != FIC_OK) {
		uint8_t id[16];
		memcpy(id, out->lead_id, 16);
		fic__sms_lead_clear(out);
		memcpy(out->lead_id, id, 16);
	}
	book_free(b);
	fic__free(body);
	return rc;
}

/* ---- parts ---- */

static bool space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int fic__sms_part_parse(const char *text, size_t len, fic__sms_part_info *out)
{
	if (out == NULL)
		return fic__err(FIC_EINVAL, "out is NULL");
	memset(out, 0, sizeof *out);
	if (text == NULL)
		return fic__err(FIC_EINVAL, "no SMS text");
	while (len && space(*text)) {
		text++;
		len--;
	}
	while (len && space(text[len - 1]))
		len--;
	if (len < 4 || text[0] != 'F' || (text[1] != 'I' && text[1] != 'P'))
		return fic__err(FIC_EINVAL, "not a fieldinspect SMS (it starts \"FI\" or \"FP\")");
	if (text[2] < '1' || text[2] > '9')
		return fic__err(FIC_EINVAL, "not a fieldinspect SMS (no format version)");
	out->format = text[2] - '0';
	if (out->format != FIC_SMS_FORMAT)
		return fic__err(FIC_EINVAL, "SMS format %d is not known to this version (it reads %d)",
		                out->format, FIC_SMS_FORMAT);
	size_t head = 3, max = SINGLE_DIGITS;
	if (text[1] == 'I') {
		out->index = out->count = 1;
		snprintf(out->group, sizeof out->group, "FI%d", out->format);
	} else {
		head = 7;
		max = PART_DIGITS;
		if (len <= head || text[3] < '1' || text[3] > '9' || text[4] < '2' || text[4] > '9' ||
		    text[3] > text[4] || digit_value((unsigned char)text[5]) < 0 ||
		    digit_value((unsigned char)text[6]) < 0)
			return fic__err(FIC_EINVAL, "SMS part header is malformed (FP, format, part, of, "
			                            "tag)");
		out->index = text[3] - '0';
		out->count = text[4] - '0';
		snprintf(out->group, sizeof out->group, "FP%d%c%c%c", out->format, text[4], text[5],
		         text[6]);
	}
	if (len - head > max)
		return fic__err(FIC_EINVAL, "an SMS part holds at most %zu digits", max);
	for (size_t i = head; i < len; i++)
		if (digit_value((unsigned char)text[i]) < 0)
			return fic__err(FIC_EINVAL, "character %zu of the SMS is not in its alphabet", i + 1);
	out->data = text + head;
	out->data_len = len - head;
	return FIC_OK;
}

int fic__sms_join(const char *const *texts, size_t n, uint8_t **frame, size_t *frame_len)
{
	if (frame == NULL || frame_len == NULL)
		return fic__err(FIC_EINVAL, "frame is NULL");
	*frame = NULL;
	*frame_len = 0;
	if (texts == NULL || n == 0)
		return fic__err(FIC_EINVAL, "no SMS parts");
	if (n > 64)
		return fic__err(FIC_ETOOBIG, "more than 64 texts for one message");
	fic__sms_part_info parts[FIC_SMS_PARTS_LIMIT + 1], p;
	bool have[FIC_SMS_PARTS_LIMIT + 1] = { false };
	char group[8] = "";
	int count = 0;
	for (size_t i = 0; i < n; i++) {
		int rc = fic__sms_part_parse(texts[i], texts[i] ? strlen(texts[i]) : 0, &p);
		if (rc != FIC_OK)
			return rc;
		if (i == 0) {
			snprintf(group, sizeof group, "%s", p.group);
			count = p.count;
		} else if (strcmp(group, p.group) != 0) {
			return fic__err(FIC_EINVAL, "the texts are parts of different messages");
		}
		if (have[p.index]) {
			if (parts[p.index].data_len != p.data_len ||
			    memcmp(parts[p.index].data, p.data, p.data_len) != 0)
				return fic__err(FIC_EINVAL, "part %d came twice with different contents",
				                p.index);
			continue;
		}
		have[p.index] = true;
		parts[p.index] = p;
	}
	size_t total = 0;
	for (int i = 1; i <= count; i++) {
		if (!have[i])
			return fic__err(FIC_EINCOMPLETE, "part %d of %d is missing", i, count);
		if (i < count && parts[i].data_len != PART_DIGITS)
			return fic__err(FIC_EINVAL, "part %d of %d is not full", i, count);
		total += parts[i].data_len;
	}
	long k = fic__sms_bytes_for(total);
	if (k < 1 + 16 + 2 + FIC_SMS_MAC_BYTES)
		return fic__err(FIC_EINVAL, "the SMS is %s", k < 0 ? "cut short or padded" : "too short");
	char *digits = fic__malloc(total);
	uint8_t *bytes = fic__malloc((size_t)k);
	if (digits == NULL || bytes == NULL) {
		fic__free(digits);
		fic__free(bytes);
		return fic__err(FIC_ENOMEM, "out of memory joining an SMS");
	}
	size_t at = 0;
	for (int i = 1; i <= count; i++) {
		memcpy(digits + at, parts[i].data, parts[i].data_len);
		at += parts[i].data_len;
	}
	int rc = fic__sms_from_digits(digits, total, bytes);
	fic__free(digits);
	if (rc != FIC_OK) {
		fic__free(bytes);
		return rc;
	}
	*frame = bytes;
	*frame_len = (size_t)k;
	return FIC_OK;
}

/* ---- from a stored lead ---- */

/* The first of the item ids `from` answered with text, in the answers or
 * else in the first finding. */
static const char *first_text(const cJSON *from, const cJSON *answers, const cJSON *finding)
{
	const cJSON *id;
	cJSON_ArrayForEach(id, from) {
		const char *k = cJSON_GetStringValue(id);
		const char *v = k ? cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(answers, k)) : NULL;
		if (v == NULL && k)
			v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(finding, k));
		if (v && v[0])
			return v;
	}
	return NULL;
}

int fic__sms_from_content(fic__sms_lead *l, const cJSON *content)
{
	book *b = NULL;
	int rc = book_load(&b);
	if (rc != FIC_OK)
		return rc;
	int code;
	const book_cat *cat = cat_find(b, l->category, &code);
	const cJSON *answers = cJSON_GetObjectItemCaseSensitive(content, "answers");
	const cJSON *finding = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(content, "findings"), 0);
	cJSON_Delete(l->answers);
	fic__free(l->place);
	fic__free(l->description);
	l->place = l->description = NULL;
	bool ok = (l->answers = cJSON_CreateObject()) != NULL;
	for (int i = 0; ok && cat && i < cat->nitems; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(answers, cat->items[i].id);
		if (v)
			ok = fic__json_put(l->answers, cat->items[i].id, cJSON_Duplicate(v, true));
	}
	const char *place = cat ? first_text(cat->place, answers, finding) : NULL;
	const char *desc = first_text(cat ? cat->description : NULL, answers, finding);
	if (cat == NULL) /* a county's own urgent form: its description, if it has one */
		desc = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(answers, "description"));
	if (ok && place)
		ok = (l->place = fic__strdup(place)) != NULL;
	if (ok && desc && desc[0])
		ok = (l->description = fic__strdup(desc)) != NULL;
	book_free(b);
	return ok ? FIC_OK : fic__err(FIC_ENOMEM, "out of memory making an SMS");
}

/* ---- the county's view ---- */

cJSON *fic__sms_lead_json(const fic__sms_lead *l)
{
	book *b = NULL;
	if (book_load(&b) != FIC_OK)
		return NULL;
	int code;
	const book_cat *cat = cat_find(b, l->category, &code);
	char id[FIC_UUID_BUFSIZE];
	fic__uuid_format(l->lead_id, id);
	cJSON *o = cJSON_CreateObject();
	bool ok = o && cJSON_AddNumberToObject(o, "format", FIC_SMS_FORMAT) &&
	          cJSON_AddStringToObject(o, "lead_id", id) &&
	          cJSON_AddStringToObject(o, "category", l->category) &&
	          cJSON_AddStringToObject(o, "title", cat ? cat->title : l->category) &&
	          cJSON_AddTrueToObject(o, "urgent") &&
	          cJSON_AddNumberToObject(o, "discovered_at_ms", (double)l->discovered_ms) &&
	          cJSON_AddNumberToObject(o, "deadline_at_ms",
	                                  (double)(l->discovered_ms + FIC_URGENT_DEADLINE_MS)) &&
	          cJSON_AddNumberToObject(o, "time_flags", l->time_flags) &&
	          (!l->site_id[0] || cJSON_AddStringToObject(o, "site_id", l->site_id));
	if (ok && l->has_location) {
		cJSON *loc = cJSON_CreateObject();
		ok = loc && cJSON_AddNumberToObject(loc, "lat", l->lat) &&
		     cJSON_AddNumberToObject(loc, "lon", l->lon);
		ok = fic__json_take(o, "location", &loc) && ok;
	}
	ok = ok && fic__json_put(o, "answers", l->answers ? cJSON_Duplicate(l->answers, true)
	                                                  : cJSON_CreateObject());
	ok = ok && (!l->place || (cJSON_AddStringToObject(o, "place", l->place) &&
	                          cJSON_AddBoolToObject(o, "place_truncated", l->place_truncated)));
	ok = ok && (!l->description ||
	            (cJSON_AddStringToObject(o, "description", l->description) &&
	             cJSON_AddBoolToObject(o, "description_truncated", l->description_truncated)));
	book_free(b);
	return fic__json_built(o, ok);
}

/* ---- receipts ---- */

static bool receipt_id_ok(const char *s)
{
	return id_ok(s, strlen(s), FIC_SMS_RECEIPT_ID_MAX);
}

static void receipt_mac(const uint8_t key[FIC_SMS_KEY_BYTES], const uint8_t lead[16],
                        const char *receipt_id, int64_t received_ms, char hex[17])
{
	crypto_auth_hmacsha512256_state st;
	unsigned char full[crypto_auth_hmacsha512256_BYTES], fmt = FIC_SMS_FORMAT;
	unsigned char rlen = (unsigned char)strlen(receipt_id), ms[8];
	for (int i = 0; i < 8; i++)
		ms[i] = (unsigned char)((uint64_t)received_ms >> (56 - 8 * i));
	crypto_auth_hmacsha512256_init(&st, key, FIC_SMS_KEY_BYTES);
	crypto_auth_hmacsha512256_update(&st, (const unsigned char *)RECEIPT_CONTEXT,
	                                 sizeof RECEIPT_CONTEXT - 1);
	crypto_auth_hmacsha512256_update(&st, &fmt, 1);
	crypto_auth_hmacsha512256_update(&st, lead, 16);
	crypto_auth_hmacsha512256_update(&st, &rlen, 1);
	crypto_auth_hmacsha512256_update(&st, (const unsigned char *)receipt_id, rlen);
	crypto_auth_hmacsha512256_update(&st, ms, sizeof ms);
	crypto_auth_hmacsha512256_final(&st, full);
	sodium_bin2hex(hex, 17, full, 8);
	sodium_memzero(&st, sizeof st);
}

int fic__sms_receipt_make(char *buf, size_t size, const uint8_t key[FIC_SMS_KEY_BYTES],
                          const char *lead_id, const char *receipt_id, int64_t received_ms)
{
	uint8_t lead[16];
	if (buf == NULL || size <= FIC_SMS_TEXT_CHARS || key == NULL || receipt_id == NULL ||
	    !receipt_id_ok(receipt_id) || received_ms < 0)
		return fic__err(FIC_EINVAL, "receipt: bad arguments");
	int rc = fic__sms_uuid_parse(lead_id, lead);
	if (rc == FIC_OK)
		rc = sodium_ready();
	if (rc != FIC_OK)
		return rc;
	char hex[17];
	receipt_mac(key, lead, receipt_id, received_ms, hex);
	int n = snprintf(buf, size, "FI%d OK %s %s %lld %s", FIC_SMS_FORMAT, lead_id, receipt_id,
	                 (long long)received_ms, hex);
	return n > 0 && (size_t)n <= FIC_SMS_TEXT_CHARS ? FIC_OK
	                                                : fic__err(FIC_ETOOBIG, "receipt too long");
}

int fic__sms_receipt_check(const char *text, const uint8_t key[FIC_SMS_KEY_BYTES],
                           const char *lead_id, char receipt_id[FIC_SMS_RECEIPT_ID_MAX + 1],
                           int64_t *received_ms)
{
	receipt_id[0] = '\0';
	*received_ms = 0;
	uint8_t lead[16];
	int rc = fic__sms_uuid_parse(lead_id, lead);
	if (rc == FIC_OK)
		rc = sodium_ready();
	if (rc != FIC_OK)
		return rc;
	/* Words separated by white space, as a paste or a gateway may leave them. */
	char copy[FIC_SMS_TEXT_CHARS * 2 + 1], *w[8], *save = NULL;
	if (strlen(text) >= sizeof copy)
		return fic__err(FIC_ETOOBIG, "a confirmation is one SMS (%d characters)",
		                FIC_SMS_TEXT_CHARS);
	snprintf(copy, sizeof copy, "%s", text);
	int nw = 0;
	for (char *t = strtok_r(copy, " \t\r\n", &save); t && nw < 8; t = strtok_r(NULL, " \t\r\n", &save))
		w[nw++] = t;
	char fmt[4];
	snprintf(fmt, sizeof fmt, "FI%d", FIC_SMS_FORMAT);
	if (nw >= 2 && strcmp(w[0], fmt) == 0 && strcmp(w[1], "ERR") == 0) {
		const char *why = strstr(text, "ERR") + 3;
		while (*why && space(*why))
			why++;
		char msg[FIC_SMS_TEXT_CHARS + 1];
		snprintf(msg, sizeof msg, "%s", why);
		fic__text_one_line(msg, false);
		return fic__err(FIC_EINVAL, "the county could not take the SMS: %s", msg);
	}
	if (nw != 6 || strcmp(w[0], fmt) != 0 || strcmp(w[1], "OK") != 0)
		return fic__err(FIC_EINVAL, "not a county confirmation (\"%s OK <lead> <receipt> <time> "
		                            "<code>\")", fmt);
	if (strcmp(w[2], lead_id) != 0)
		return fic__err(FIC_EINVAL, "the confirmation is for lead %.36s, not %s", w[2], lead_id);
	char *end;
	long long ms = strtoll(w[4], &end, 10);
	if (!receipt_id_ok(w[3]) || *end || w[4][0] < '0' || w[4][0] > '9' || ms < 0 ||
	    strlen(w[5]) != 16)
		return fic__err(FIC_EINVAL, "the confirmation is malformed");
	char hex[17];
	receipt_mac(key, lead, w[3], ms, hex);
	if (sodium_memcmp(hex, w[5], 16) != 0)
		return fic__err(FIC_EAUTH, "the confirmation does not verify with this device's key");
	snprintf(receipt_id, FIC_SMS_RECEIPT_ID_MAX + 1, "%s", w[3]);
	*received_ms = ms;
	return FIC_OK;
}
