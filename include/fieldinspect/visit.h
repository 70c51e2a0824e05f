/*
 * fieldinspect/visit.h — place codes (场所码) and the scan that starts a visit.
 *
 * Places post QR codes: one per door and per shop (一门一码、一店一码, seeds
 * 003/004), a water supply's public code (seed 000), the code printed on a
 * licence. A site may hold several. A scanned code is read, not compared as
 * an opaque string: fic_place_code_parse() turns the payload — a URL, a
 * "key：value" text, or a bare token, however the scanner spaced it — into
 * the place's identity (`key`) and the facts it carries (name, address,
 * legal representative, scope, …). The registry keeps codes by that key.
 *
 * Scanning a site's code at the door starts a visit: fic_visit_scan()
 * records the scan with the device's position and trusted time in the
 * device's hash chain (evidence.h) — proof the inspector was there — and
 * compares the facts the code carries with the registry's. A visit started
 * from the scan (fic_inspection_start_opts with its scan_id) answers the
 * checklist's "实际信息与许可证一致" items "no" when they differ (饮用水
 * 3.1.1, 3.2.1; 学校卫生 3.2.1.1, 3.2.2.1; 非法行医 3.1.1.2, 3.1.2.2).
 *
 * Threading and durability: as for the store (store.h); fic_place_code_parse
 * needs no store and may be called from any thread.
 */
#ifndef FIELDINSPECT_VISIT_H
#define FIELDINSPECT_VISIT_H

#include "common.h"
#include "store.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Largest scanned payload fic_place_code_parse() reads, in bytes (a QR code holds ~3 KB). */
#define FIC_PLACE_CODE_PAYLOAD_MAX 4096

/** The form a code was written in. */
typedef enum fic_place_code_form {
	FIC_PLACE_CODE_URL = 1,   /**< https://host/path?code=…&name=… */
	FIC_PLACE_CODE_TEXT = 2,  /**< 场所名称：…\n地址：…\n… */
	FIC_PLACE_CODE_TOKEN = 3  /**< a bare identifier */
} fic_place_code_form;

/**
 * What a scanned code says. One allocation holding the struct and its
 * strings; free with fic_place_code_free(). A fact the code does not carry
 * is NULL; text is UTF-8 with runs of whitespace collapsed.
 */
typedef struct fic_place_code {
	int form;                /**< fic_place_code_form */
	const char *key;         /**< the place's identity in normal form; never NULL */
	const char *code;        /**< its identifier (a URL's code/id parameter, a 场所码 field, the token) */
	const char *name;        /**< 名称 */
	const char *address;     /**< 地址 */
	const char *legal_rep;   /**< 法定代表人 */
	const char *manager;     /**< 负责人 */
	const char *scope;       /**< 许可范围 / 诊疗科目 / 经营范围 */
	const char *credit_code; /**< 统一社会信用代码 */
	const char *licence_no;  /**< 许可证号 */
} fic_place_code;

/**
 * Read a scanned payload of `len` bytes (not NUL-terminated, need not be).
 * Whitespace at the ends is trimmed (ASCII, full-width U+3000, no-break
 * U+00A0, zero-width U+200B, a byte-order mark); inside a URL or a token it
 * is removed; inside a text value collapsed. URLs: scheme and host in lower
 * case, no user info or default port, the path without doubled or trailing
 * slashes, parameters percent-decoded, share trackers (utm_*, from, …)
 * dropped; the key is the host and path with the identity parameter, or
 * with every other parameter in sorted order. Pure: no store, no globals
 * but the allocator. This is the entry point the fuzz target calls
 * (tests/fuzz/corpus/place_code holds its seeds).
 * @return FIC_OK; FIC_EINVAL (NULL, not UTF-8, a NUL byte, nothing but
 *   whitespace); FIC_ETOOBIG (over FIC_PLACE_CODE_PAYLOAD_MAX); FIC_ENOMEM.
 */
FIC_EXTERN int fic_place_code_parse(fic_place_code **out, const char *payload, size_t len);
FIC_EXTERN void fic_place_code_free(fic_place_code *pc);

/** Longest label of a site's code ("南门", "二楼药房"), in bytes. */
#define FIC_SITE_CODE_LABEL_MAX 100

/**
 * Give a site one more code (一门一码: a door, a shop, the licence's): kept
 * by its key, so the same code scanned however the scanner spaced it finds
 * the site. The site's own `place_code` field is its first code. Audited and
 * uploaded (record "site_code").
 * @return FIC_OK (also when the site already holds it); FIC_EEXISTS (another
 *   site holds it); FIC_ENOTFOUND (site); as fic_place_code_parse.
 */
FIC_EXTERN int fic_site_code_add(fic_store *store, const char *site_id, const char *payload,
                                 const char *label);

/** Take a code from a site (not its place_code field: change that with fic_site_update). */
FIC_EXTERN int fic_site_code_remove(fic_store *store, const char *site_id, const char *payload);

/**
 * A site's codes as JSON: [{"key", "payload", "label", "primary"}]
 * (schema/api/site_codes.schema.json). Free with fic_free().
 */
FIC_EXTERN int fic_site_codes_json(char **out, fic_store *store, const char *site_id);

#define FIC_SCAN_OPTIONS_VERSION 1

/** Where the device was when it scanned. Initialise with FIC_SCAN_OPTIONS_INIT. */
typedef struct fic_scan_options {
	unsigned int version; /**< FIC_SCAN_OPTIONS_VERSION */
	int has_location;     /**< 1 if lat/lon are the device's position (WGS-84) */
	double lat, lon;
	double accuracy_m;    /**< the fix's accuracy in metres, 0 if unknown */
} fic_scan_options;

#define FIC_SCAN_OPTIONS_INIT { FIC_SCAN_OPTIONS_VERSION, 0, 0.0, 0.0, 0.0 }

/**
 * Scan a site's posted code to start a visit. The site is found by the
 * code's key; the scan — its payload, key, the device's position and the
 * trusted time — is recorded, chained in the device's hash chain and queued
 * for upload (record "scan"): the proof the inspector was at the door. The
 * facts the code carries (a licence's or a place-code sign's name, address,
 * legal representative, scope, credit code) are compared with the
 * registry's.
 * @param out JSON (schema/api/scan.schema.json): {"scan_id", "site": {id,
 *   name, kind}, "code": {form, key, and the facts it carries},
 *   "differences": [{"field", "registry", "code"}], "matches_registry",
 *   "proof": {trusted_ms, uncertainty_ms, time_flags, lat, lon, chain_seq,
 *   hash}}. Free with fic_free().
 * @param opts the device's position, or NULL.
 * @return FIC_OK; FIC_ENOTFOUND (no site holds the code: add it to one,
 *   or add the site, 新建本底); FIC_ESTATE (the site is closed); FIC_EINVAL;
 *   FIC_ETOOBIG; as fic_place_code_parse.
 */
FIC_EXTERN int fic_visit_scan(char **out, fic_store *store, const char *payload, size_t len,
                              const fic_scan_options *opts);

#ifdef __cplusplus
}
#endif

#endif
