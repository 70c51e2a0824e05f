/*
 * core/util/util.h — the bottom layer of the core: allocation through the
 * one allocator, the thread-local last error, bounded text checks and a
 * growing string, UUIDv7 ids, JSON helpers (attaching items without leaks,
 * the canonical form), SHA-256 in hex, a growable array, and the wall clock
 * read through the injected platform. Nothing here knows about the store.
 *
 * Layers (docs/architecture.md): util ← store ← model ← flow ← sync; each
 * folder includes only its own header and those below it
 * (tests/tools/check_layers.py holds this). Names are fic__ (two
 * underscores), hidden from the shared library.
 */
#ifndef FIC_CORE_UTIL_H
#define FIC_CORE_UTIL_H

#include "fieldinspect/fieldinspect.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cJSON;

/* ---- allocation (alloc.c) ---- */
void *fic__malloc(size_t size);
void *fic__calloc(size_t n, size_t size);
void *fic__realloc(void *ptr, size_t size);
void fic__free(void *ptr);
char *fic__strdup(const char *s);
/* How many allocations have failed on this thread (to tell ENOMEM from bad input). */
unsigned long fic__alloc_failures(void);

/*
 * Room for one more element at the end of an array kept as a pointer, a
 * count and a capacity (a returned list's `entries` and `count`, say):
 * FIC__GROW(list->entries, list->count, cap) returns the new element,
 * zeroed, with the count already raised, or NULL when out of memory (the
 * array is unchanged). The capacity doubles from 8.
 */
void *fic__grow(void *items_ptr, size_t *count, size_t *cap, size_t elem);
#define FIC__GROW(items, count, cap) fic__grow(&(items), &(count), &(cap), sizeof *(items))

/* The *_init() of a versioned struct (its first member an unsigned
 * version): its INIT value copied into `out`, as much of it as `version`'s
 * layout holds (sizes[v - 1], v = 1 … n, the library's own), and `version`
 * written into it. FIC_EINVAL for NULL or a version not in 1 … n. */
int fic__init_struct(void *out, const void *init, const size_t *sizes, unsigned n,
                     unsigned int version, const char *what);

/* ---- versioned structs across the ABI (abi.c) ----
 * `sizes[v - 1]` is the size of a struct's layout at version v (offsetof the
 * first member added in v + 1, and sizeof for the newest), `n` the library's
 * own version. Every such struct starts with an unsigned version. */
/* Copy the caller's input struct `src` over `dst`, which holds the defaults
 * at the library's version: only the members of src's version are taken.
 * FIC_EINVAL for version 0 or one newer than the library's. */
int fic__struct_in(void *dst, const void *src, const size_t *sizes, unsigned n, const char *what);
/* Copy the library's filled struct `src` (its own version) out to the
 * caller's `dst`, whose version says how much of it the caller has; the
 * version written back is the one filled. FIC_EINVAL for version 0. */
int fic__struct_out(void *dst, const void *src, const size_t *sizes, unsigned n, const char *what);
/* Copy a function table the caller supplies (fic_platform) into `dst`, at
 * most sizes[n - 1] bytes: the members of its version (a later version's
 * as far as this library knows them; a version-1 table's later members are
 * NULL) and `version` the one copied. FIC_EINVAL only for version 0. */
int fic__table_in(void *dst, const void *src, const size_t *sizes, unsigned n, const char *what);
/* The caller's version of a struct it passed (its first member). */
#define FIC__VERSION_OF(p) (*(const unsigned int *)(const void *)(p))

/* ---- cancellation (cancel.c) ---- */
/* True when `c` is non-NULL and raised. */
bool fic__cancelled(const fic_cancel *c);

/* ---- errors (error.c) ---- */
/* Record an error on this thread and return `code` (for `return fic__err(...)`). */
int fic__err(int code, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;
/* Clear the thread's error at the start of a public call. */
void fic__err_clear(void);
/*
 * The argument checks public calls start with (libgit2's GIT_ASSERT_ARG):
 * FIC__ARG(p) returns FIC_EINVAL "p is NULL" from the calling function when
 * p is NULL; FIC__OUT(out) does the same for an out-parameter and otherwise
 * sets *out to NULL, so a failing call never leaves a stale pointer there.
 */
#define FIC__ARG(p) \
	do { \
		if ((p) == NULL) \
			return fic__err(FIC_EINVAL, "%s is NULL", #p); \
	} while (0)
#define FIC__OUT(out) \
	do { \
		FIC__ARG(out); \
		*(out) = NULL; \
	} while (0)
/* The start of a public call on a store that answers through `out`: the
 * thread's error cleared, then FIC__OUT(out) and FIC__ARG(store). */
#define FIC__BEGIN(out, store) \
	do { \
		fic__err_clear(); \
		FIC__OUT(out); \
		FIC__ARG(store); \
	} while (0)

/* ---- a growing string (text.c) ---- */
typedef struct fic__sb {
	char *buf;
	size_t len, cap;
	bool oom; /* an append failed: the text is incomplete */
} fic__sb;
void fic__sb_printf(fic__sb *sb, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;
/* Hand over the text (caller frees with fic__free), or NULL if an append failed. */
char *fic__sb_take(fic__sb *sb);

/* ---- text checks (text.c) ---- */
bool fic__utf8_valid(const char *s, size_t len);
/*
 * Make a NUL-terminated message one line of valid UTF-8, in place: line
 * breaks and tabs become spaces, other control characters and malformed
 * bytes '?'. With `truncated` (the formatter ran out of room) a character
 * cut in two at the end is dropped instead.
 */
void fic__text_one_line(char *buf, bool truncated);
/*
 * Check an input string: `required` means NULL/"" is an error; otherwise
 * NULL and "" both mean absent (and *present is set false). Checks length
 * <= max and UTF-8. `what` names the argument in the message.
 */
int fic__check_text(const char *s, const char *what, size_t max, bool required, bool *present);
/*
 * An identifier that comes from outside (the county's site, task and
 * checklist ids): 1 to FIC_ID_MAX bytes of ASCII letters, digits, '-', '_'
 * and '.' (docs/protocol.md, "Identifiers"). The device's own ids (UUIDv7)
 * are of this form too. FIC_EINVAL otherwise, naming the first bad byte's
 * position (never its value: it may be anything).
 */
#define FIC_ID_MAX 63
int fic__check_id(const char *s, const char *what);
/* A calendar date "YYYY-MM-DD" (1900..2999); returns days since 1970-01-01 in *days. */
int fic__parse_date(const char *s, const char *what, int64_t *days);
/* Civil date arithmetic on day numbers: the same day `months` later (the
 * month's last day when it has fewer days), and "YYYY-MM-DD". */
int64_t fic__days_add_months(int64_t day, int64_t months);
void fic__days_format(int64_t day, char out[11]);

/* ---- SHA-256 in hex (text.c) ---- */
#define FIC_SHA256_HEX 65 /* 64 hex digits and the NUL */
/* The lower-case hex of a 32-byte digest into out[FIC_SHA256_HEX]. */
void fic__hex32(const unsigned char digest[32], char out[FIC_SHA256_HEX]);
/* SHA-256 of `len` bytes, in hex. FIC_OK, or FIC_ENOMEM (OpenSSL could not set up). */
int fic__sha256_hex(const void *data, size_t len, char out[FIC_SHA256_HEX]);
/* SHA-256 of everything left to read from `fd` (and how many bytes, if
 * `bytes`); of a whole file by path (FIC_ENOTFOUND if it cannot be opened).
 * out is "" on failure. */
int fic__sha256_fd(int fd, char out[FIC_SHA256_HEX], int64_t *bytes);
int fic__sha256_file(const char *path, char out[FIC_SHA256_HEX]);

/* ---- sealing to the county's key (seal.c; libsodium) ---- */
#define FIC_COUNTY_KEY_BYTES 32 /* an X25519 public (or secret) key */
#define FIC_COUNTY_KEY_TEXT 45  /* its standard base64 and the NUL */
#define FIC_KEY_ID_BUFSIZE 17   /* 16 hex digits of SHA-256(public key) and the NUL */
#define FIC_SEAL_BLOCK 64       /* plaintexts are padded to a multiple of this */
/* libsodium started (FIC_ERROR if it cannot be). */
int fic__crypto_init(void);
/* The 32 bytes of a key from its base64 (FIC_EINVAL otherwise), and back. */
int fic__county_key_parse(const char *b64, unsigned char pk[FIC_COUNTY_KEY_BYTES]);
void fic__county_key_text(const unsigned char pk[FIC_COUNTY_KEY_BYTES],
                          char out[FIC_COUNTY_KEY_TEXT]);
/* A key's id: the first 16 hex digits of its SHA-256. */
int fic__county_key_id(const unsigned char pk[FIC_COUNTY_KEY_BYTES], char out[FIC_KEY_ID_BUFSIZE]);
/*
 * Seal `len` bytes to public key `pk` (crypto_box_seal of the plaintext
 * padded to FIC_SEAL_BLOCK): *out is the box in base64 (fic__free it). Only
 * the secret key opens it again, not whoever sealed it. The padded copy is
 * wiped; the caller wipes `plain`.
 */
int fic__seal(char **out, const unsigned char pk[FIC_COUNTY_KEY_BYTES], const void *plain,
              size_t len);
/* Open a box fic__seal made with the key pair (pk, sk): *out the plaintext,
 * NUL-terminated, *len its length (fic__wipe and fic__free it). FIC_EINVAL
 * when it is not a box or does not open with this key. */
int fic__unseal(char **out, size_t *len, const unsigned char pk[FIC_COUNTY_KEY_BYTES],
                const unsigned char sk[FIC_COUNTY_KEY_BYTES], const char *box_b64);
/* Overwrite `len` bytes with zeros in a way the compiler keeps (NULL is fine). */
void fic__wipe(void *p, size_t len);

/* ---- JSON (json.c) ---- */
/*
 * Attach a freshly made `item` to `obj` under `key` (to an array if key is
 * NULL). On failure the item is freed and false returned, so
 * `fic__json_put(o, "k", cJSON_Duplicate(x, 1))` never leaks.
 */
bool fic__json_put(struct cJSON *obj, const char *key, struct cJSON *item);
/* As fic__json_put, and *item is set to NULL either way (it is no longer the caller's). */
bool fic__json_take(struct cJSON *obj, const char *key, struct cJSON **item);
/*
 * The end of every call that returns a JSON document: *out gets `o` printed
 * (the caller frees it with fic_free) and `o` is freed. `rc` says how the
 * work went: anything but FIC_OK is returned as it is (nothing printed);
 * `built` false (an add failed), `o` NULL or printing failing is FIC_ENOMEM.
 */
int fic__json_out(char **out, struct cJSON *o, bool built, int rc);
/* The canonical JSON text of `v` (keys sorted at every level), or NULL. */
char *fic__canonical(const struct cJSON *v);

/* ---- ids (uuid.c) ---- */
/* What keeps one handle's UUIDv7s in order within a millisecond. */
typedef struct fic__uuid_gen {
	int64_t last_ms;
	uint16_t counter;
} fic__uuid_gen;
/* UUIDv7 text into buf[FIC_UUID_BUFSIZE], from the platform's clock and CSPRNG. */
int fic__uuid7_next(fic__uuid_gen *gen, const fic_platform *p, char *buf);
/* Format 16 bytes as a UUID string; exposed for tests. */
void fic__uuid_format(const uint8_t bytes[16], char out[FIC_UUID_BUFSIZE]);
void fic__uuid7_bytes(uint8_t out[16], int64_t ms, uint16_t counter12, const uint8_t rand8[8]);

/* ---- the clock ---- */
/* The platform's wall clock (UTC ms). */
static inline int64_t fic__wall_ms(const fic_platform *p)
{
	return p->wall_ms(p->ctx);
}

#endif
