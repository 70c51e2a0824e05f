/*
 * fieldinspect/records.h — what a co-inspector keeps besides patrols and
 * leads: publicity, training and assistance in cases (the plan's indicators
 * 3 and 4), water samples taken with the agency and their laboratory
 * results, notices to a site's competent authority, and each water supply's
 * latest verdict for the county's public display.
 *
 * Each record is written with an audit entry and an outbox record in one
 * durable transaction (as everything in the store).
 *
 * Threading and durability: as for the store (store.h).
 */
#ifndef FIELDINSPECT_RECORDS_H
#define FIELDINSPECT_RECORDS_H

#include "common.h"
#include "store.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the registers (巡查登记表, 信息报告登记表) ---- */

#define FIC_REGISTER_PATROLS 1 /**< 巡查登记表: a line per finished patrol */
#define FIC_REGISTER_REPORTS 2 /**< 信息报告登记表: a line per lead or event report */

#define FIC_REGISTER_JSON 1 /**< {register, title, period, month?, area?, made_at, rows: [...]} */
#define FIC_REGISTER_CSV 2  /**< UTF-8 with a BOM, CRLF, every cell quoted; Chinese headers */
#define FIC_REGISTER_HTML 3 /**< one page ready to print (A4 landscape), escaped */

/**
 * A register a co-inspector keeps (实施方案 三(一)3: 巡查巡访、信息报告收集):
 * every patrol — date, site, kind, address, checklist, area, 明查/暗访,
 * inspector, findings, what the site was found to be, whether and to whom
 * it was reported, how it was handled (delivered, waiting, refused; its
 * re-inspection tasks) — or every report — when it was discovered, what,
 * where, by whom, its clock, whether, when and to whom it was reported
 * (with the calls that reported it), how it was handled.
 * @param month "YYYY-MM", or NULL for this year.
 * @param area a service area's id, or NULL for all.
 * @param format FIC_REGISTER_JSON (schema/api/register.schema.json), _CSV
 *   or _HTML. Free the text with fic_free().
 * @return FIC_OK; FIC_EINVAL (which, format, month).
 */
FIC_EXTERN int fic_register_get(char **out, fic_store *store, int which, const char *month,
                                const char *area, int format);

/* ---- publicity, training, assistance in cases ---- */

/** What kind of activity. */
typedef enum fic_activity_kind {
	/** 宣传教育: 普法五进 and the areas' publicity (实施方案 二(四)4; each area's 三(三)) —
	 *  indicator 一(三)4 普法宣传次数 */
	FIC_ACTIVITY_PUBLICITY = 1,
	/** training of water-supply staff, school health staff (饮用水 三(三)1, 学校卫生 三(三)) */
	FIC_ACTIVITY_TRAINING = 2,
	/** 协助案件查办: assisting the agency with a case (实施方案 一(二), 职业卫生 二) —
	 *  indicator 一(三)3 案件查办数量 */
	FIC_ACTIVITY_CASE = 3
} fic_activity_kind;

#define FIC_ACTIVITY_VERSION 1
#define FIC_ACTIVITY_TEXT_MAX 500 /**< each text field, in bytes (note: 2000) */

/** An activity. Strings are the caller's. Initialise with FIC_ACTIVITY_INIT. */
typedef struct fic_activity {
	unsigned int version; /**< FIC_ACTIVITY_VERSION */
	int kind;             /**< fic_activity_kind */
	const char *area;     /**< the service area (drinking_water, …, or "general"); NULL = general */
	const char *date;     /**< YYYY-MM-DD, local; not after today */
	const char *topic;    /**< required: what it was about */
	const char *place;    /**< where */
	const char *audience; /**< who: 居民, 学生, 供水单位从业人员, 校医 … */
	int people;           /**< how many were reached or trained; FIC_UNKNOWN (-1) if not counted */
	/** 普法五进: "organs", "communities", "villages", "schools", "enterprises"; or NULL */
	const char *channel;
	const char *format;   /**< 发放资料, 讲座, 宣传栏, 音像 …; or NULL */
	const char *case_ref; /**< FIC_ACTIVITY_CASE: the agency's case number (required) */
	const char *site_id;  /**< the site concerned, or NULL */
	const char *note;
} fic_activity;

#define FIC_ACTIVITY_INIT { FIC_ACTIVITY_VERSION, 0, NULL, NULL, NULL, NULL, NULL, -1, NULL, NULL, \
	                    NULL, NULL, NULL }

/**
 * Record an activity; its photos are attached with fic_photo_add_*(
 * FIC_PHOTO_ACTIVITY, id, …). Uploaded as record "activity".
 * @param id_out receives its id (FIC_UUID_BUFSIZE bytes).
 * @return FIC_OK; FIC_EINVAL (kind, date, channel, area, missing topic or
 *   case number); FIC_ENOTFOUND (site); FIC_ETOOBIG.
 */
FIC_EXTERN int fic_activity_add(char *id_out, fic_store *store, const fic_activity *activity);

/**
 * The activities of a calendar year (0 = this year), of `kind` (0 = all),
 * newest first, as JSON (schema/api/activity_list.schema.json), each with
 * its photos' count. Free with fic_free().
 */
FIC_EXTERN int fic_activity_list_json(char **out, fic_store *store, int year, int kind);

/* ---- water samples (协助开展饮用水水质抽检, 饮用水 二) ---- */

#define FIC_SAMPLE_VERSION 1

/** A water sample as taken. Strings are the caller's. Initialise with FIC_SAMPLE_INIT. */
typedef struct fic_sample {
	unsigned int version;    /**< FIC_SAMPLE_VERSION */
	const char *sample_no;   /**< the number on its label (required; unique; an identifier:
	                              letters, digits, '-', '_', '.') */
	const char *site_id;     /**< the water supply or school (required) */
	const char *point;       /**< where: 出厂水, 末梢水, 水箱 … (required) */
	int64_t taken_at_ms;     /**< when (device UTC ms); 0 = now; not in the future */
	const char *taken_by;    /**< who took it; NULL = the store's actor */
	const char *received_by; /**< who received it: the laboratory or CDC's person (required) */
	const char *note;
} fic_sample;

#define FIC_SAMPLE_INIT { FIC_SAMPLE_VERSION, NULL, NULL, NULL, 0, NULL, NULL, NULL }

/**
 * Record a sample; uploaded as record "sample". The laboratory's result
 * comes later, from the county (its lab_results feed) or by hand
 * (fic_sample_result_set).
 * @return FIC_OK; FIC_EINVAL; FIC_ENOTFOUND (site); FIC_EEXISTS (number
 *   already used); FIC_ETOOBIG.
 */
FIC_EXTERN int fic_sample_add(char *id_out, fic_store *store, const fic_sample *sample);

/**
 * Attach the laboratory's result to sample `sample_no`: passed (1) or
 * failed (0), the report's date (YYYY-MM-DD) and its words. A result the
 * county sends arrives the same way. A failed sample makes the site's
 * water verdict fail (fic_water_status_json). A result already attached is
 * replaced (the county corrects it). Audited.
 * @return FIC_OK; FIC_ENOTFOUND; FIC_EINVAL; FIC_ETOOBIG.
 */
FIC_EXTERN int fic_sample_result_set(fic_store *store, const char *sample_no, int passed,
                                     const char *reported_on, const char *detail);

/** Samples (of one site, or all with NULL), newest first, as JSON (schema/api/sample_list.schema.json). */
FIC_EXTERN int fic_sample_list_json(char **out, fic_store *store, const char *site_id);

/* ---- notices to the competent authority (饮用水/学校卫生 三(二)3) ---- */

/** Why the authority is told. */
typedef enum fic_notice_reason {
	FIC_NOTICE_NEW_SITE = 1, /**< a site found outside the registry (新建本底) */
	FIC_NOTICE_CHANGED = 2,  /**< its facts changed (信息变更) */
	FIC_NOTICE_ABNORMAL = 3  /**< something abnormal found there */
} fic_notice_reason;

/**
 * Record that the site's competent authority (主管机构: the site's
 * `authority`, or `authority` given here) was told of it, by `method`
 * ("phone", "letter", "in_person", "online"). Uploaded as record "notice".
 * @return FIC_OK; FIC_EINVAL (no authority known or given, bad reason or
 *   method); FIC_ENOTFOUND (site); FIC_ETOOBIG.
 */
FIC_EXTERN int fic_authority_notice_add(char *id_out, fic_store *store, const char *site_id,
                                        int reason, const char *authority, const char *method,
                                        const char *note);

/**
 * The water supplies and schools whose authority is still to be told: found
 * in the field (新建本底) or changed since the last notice (饮用水 三(二)3;
 * 学校卫生 三(二)3), as JSON [{site_id, name, kind, authority, reason}]
 * (schema/api/notices_due.schema.json). Free with fic_free().
 */
FIC_EXTERN int fic_authority_notices_due_json(char **out, fic_store *store);

/* ---- water supplies' public status (seed 000: blue 合格, red 不合格) ---- */

/**
 * Each water supply's latest verdict — from its latest field test (饮用水 4:
 * any abnormal reading fails it) or laboratory result — with the colour the
 * public code should show (blue pass, red fail), the colour the county
 * publishes now (its registry feed's water_status), and "flagged" when it
 * is published blue while the latest test fails. As JSON
 * (schema/api/water_status.schema.json), for export to the county's public
 * display. Free with fic_free().
 */
FIC_EXTERN int fic_water_status_json(char **out, fic_store *store);

#ifdef __cplusplus
}
#endif

#endif
