/*
 * fieldinspect/site.h — the site registry (本底): every place an inspector
 * patrols, as the county knows it and as the inspector finds it.
 *
 * The co-inspection guide (渝卫发〔2022〕8号 附件) asks the inspector to add a
 * site that is missing from the registry as a new baseline record with its
 * licensing/filing notes (服务方法 1(2)), and to report a site found closed or
 * whose facts differ from the registry (1(3)). fic_site_add, fic_site_update
 * and fic_site_close are those three acts. Each writes the change, an audit
 * entry and an outbox record for upload in one durable transaction.
 *
 * Threading and durability: as for the store (store.h).
 */
#ifndef FIELDINSPECT_SITE_H
#define FIELDINSPECT_SITE_H

#include "common.h"
#include "store.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Kinds of site. Values are stable (stored) and only appended. */
typedef enum fic_site_kind {
	FIC_SITE_WATER_RURAL = 1,     /**< 农村集中式供水单位 (incl. township plants) */
	FIC_SITE_WATER_SECONDARY = 2, /**< 城市二次供水设施/单位 */
	FIC_SITE_SCHOOL = 3,          /**< 学校或托幼机构 (level in school_level) */
	FIC_SITE_MEDICAL = 4,         /**< 医疗机构 (licensed or filed) */
	FIC_SITE_BLOOD_STATION = 5,   /**< 血站 */
	FIC_SITE_PLASMA_STATION = 6,  /**< 单采血浆站 */
	FIC_SITE_MCH = 7,             /**< 母婴保健技术服务机构 */
	FIC_SITE_EMPLOYER = 8,        /**< 职业卫生用人单位 (industry in `industry`) */
	FIC_SITE_OTHER_VENUE = 9      /**< 其他场所: market, beauty salon, pharmacy, … */
} fic_site_kind;

typedef enum fic_site_status {
	FIC_SITE_ACTIVE = 1,  /**< as in the registry */
	FIC_SITE_CLOSED = 2,  /**< found closed / long out of business (停业/关闭) */
	FIC_SITE_CHANGED = 3  /**< facts found to differ from the county's registry (信息变更) */
} fic_site_status;

typedef enum fic_site_origin {
	FIC_SITE_FROM_COUNTY = 1, /**< delivered in the county's registry */
	FIC_SITE_FROM_FIELD = 2   /**< added by an inspector on patrol (新建本底) */
} fic_site_origin;

typedef enum fic_school_level {
	FIC_SCHOOL_KINDERGARTEN = 1, /**< 托幼机构 */
	FIC_SCHOOL_PRIMARY = 2,      /**< 小学 */
	FIC_SCHOOL_SECONDARY = 3,    /**< 中学 */
	FIC_SCHOOL_VOCATIONAL = 4,   /**< 中职学校 */
	FIC_SCHOOL_UNIVERSITY = 5,   /**< 普通高校 */
	FIC_SCHOOL_OTHER = 6
} fic_school_level;

typedef enum fic_med_registration {
	FIC_MED_LICENSED = 1, /**< 许可类: holds a 医疗机构执业许可证 */
	FIC_MED_FILED = 2     /**< 备案类: clinic filed (诊所备案 / 中医诊所备案) */
} fic_med_registration;

/** Institution types; the licence-validation period depends on them (医疗机构 3.1.1.4). */
typedef enum fic_institution_type {
	FIC_INST_GENERAL_HOSPITAL = 1,     /**< 综合医院 */
	FIC_INST_TCM_HOSPITAL = 2,         /**< 中医医院 */
	FIC_INST_INTEGRATED_HOSPITAL = 3,  /**< 中西医结合医院 */
	FIC_INST_ETHNIC_HOSPITAL = 4,      /**< 民族医院 */
	FIC_INST_SPECIALTY_HOSPITAL = 5,   /**< 专科医院 */
	FIC_INST_SANATORIUM = 6,           /**< 疗养院 */
	FIC_INST_REHAB_HOSPITAL = 7,       /**< 康复医院 */
	FIC_INST_MCH_HOSPITAL = 8,         /**< 妇幼保健院 */
	FIC_INST_EMERGENCY_CENTER = 9,     /**< 急救中心 */
	FIC_INST_CLINICAL_LAB = 10,        /**< 临床检验中心 */
	FIC_INST_DISEASE_CONTROL = 11,     /**< 专科疾病防治机构 */
	FIC_INST_VILLAGE_CLINIC = 12,      /**< 村卫生室 */
	FIC_INST_CLINIC = 13,              /**< 诊所 / 门诊部 */
	FIC_INST_TCM_CLINIC = 14,          /**< 中医诊所 */
	FIC_INST_OTHER = 15
} fic_institution_type;

typedef enum fic_industry {
	FIC_INDUSTRY_COAL_MINE = 1,         /**< 煤矿 */
	FIC_INDUSTRY_NONCOAL_MINE = 2,      /**< 非煤矿山 */
	FIC_INDUSTRY_METALLURGY = 3,        /**< 冶金 */
	FIC_INDUSTRY_BUILDING_MATERIALS = 4,/**< 建材 */
	FIC_INDUSTRY_OTHER = 5
} fic_industry;

/** Occupational hazard level; the testing interval depends on it (职业卫生 3.3). */
typedef enum fic_hazard_level {
	FIC_HAZARD_ORDINARY = 1, /**< 职业病危害一般 */
	FIC_HAZARD_SEVERE = 2    /**< 职业病危害严重 */
} fic_hazard_level;

typedef enum fic_venue_type {
	FIC_VENUE_MARKET = 1,          /**< 集贸市场 */
	FIC_VENUE_BEAUTY_SALON = 2,    /**< 美容院 */
	FIC_VENUE_OFFICE_BUILDING = 3, /**< 写字楼 */
	FIC_VENUE_PHARMACY = 4,        /**< 药房 */
	FIC_VENUE_OTHER = 5
} fic_venue_type;

/** Which enumeration a code string belongs to, for fic_site_code_str/_parse. */
typedef enum fic_site_code_type {
	FIC_CODE_KIND = 1,
	FIC_CODE_STATUS,
	FIC_CODE_ORIGIN,
	FIC_CODE_SCHOOL_LEVEL,
	FIC_CODE_MED_REGISTRATION,
	FIC_CODE_INSTITUTION_TYPE,
	FIC_CODE_INDUSTRY,
	FIC_CODE_HAZARD_LEVEL,
	FIC_CODE_VENUE_TYPE
} fic_site_code_type;

/** Marks a number or yes/no fact as not recorded. */
#define FIC_UNKNOWN (-1)

/* Size limits, in bytes of UTF-8. Longer input gets FIC_ETOOBIG. */
#define FIC_SITE_NAME_MAX 200
#define FIC_SITE_ADDRESS_MAX 500
#define FIC_SITE_SHORT_MAX 100      /**< legal_rep, manager, licence_no */
#define FIC_SITE_SCOPE_MAX 500      /**< licence_scope */
#define FIC_SITE_PLACE_CODE_MAX 1024
#define FIC_SITE_NOTE_MAX 4000
#define FIC_REASON_MAX 1000

/**
 * Version 2 added `authority`. A caller built with version 1's header passes
 * version 1 and its shorter struct: it is read as far as version 1 went.
 */
#define FIC_SITE_VERSION 2

/**
 * A site record. Used both ways:
 *  - as input (fic_site_add, fic_site_update) the caller owns every string;
 *    NULL or "" means "not recorded" for optional text; FIC_UNKNOWN for
 *    optional numbers and yes/no facts (yes = 1, no = 0); 0 for an enum that
 *    does not apply;
 *  - as output (from fic_site_get and friends) the record and all its strings
 *    are one allocation owned by the caller, freed with fic_site_free().
 * Initialise input records with FIC_SITE_INIT or fic_site_init().
 */
typedef struct fic_site {
	unsigned int version;    /**< FIC_SITE_VERSION */
	const char *id;          /**< UUIDv7; assigned by fic_site_add; required by fic_site_update */
	int kind;                /**< fic_site_kind; required */
	const char *name;        /**< required, 1..FIC_SITE_NAME_MAX bytes */
	const char *address;
	const char *credit_code; /**< 统一社会信用代码: 18 characters, check character verified (GB 32100) */
	const char *place_code;  /**< payload of the QR place code (场所码) posted at the door; unique */
	const char *legal_rep;   /**< 法定代表人 */
	const char *manager;     /**< 负责人 */
	const char *licence_no;  /**< licence or filing certificate number */
	const char *licence_scope;      /**< 许可范围 / approved departments or scope */
	const char *licence_valid_from; /**< YYYY-MM-DD */
	const char *licence_valid_to;   /**< YYYY-MM-DD, not before valid_from */
	int has_location;        /**< 1 if lat/lon are set */
	double lat, lon;         /**< WGS-84 degrees (as GPS reports them, not GCJ-02) */
	int status;              /**< fic_site_status; output only */
	int origin;              /**< fic_site_origin; output only */

	/* schools and kindergartens */
	int school_level;        /**< fic_school_level */
	int boarding;            /**< 寄宿制: 1, 0 or FIC_UNKNOWN */
	int enrolment;           /**< students, or children for a kindergarten; FIC_UNKNOWN */

	/* medical institutions and MCH providers */
	int med_registration;    /**< fic_med_registration */
	int institution_type;    /**< fic_institution_type */
	int beds;                /**< FIC_UNKNOWN if not recorded */
	int joint_venture;       /**< 中外合资合作: 1, 0 or FIC_UNKNOWN */
	int validation_deferred; /**< passed validation after a deferral (暂缓校验): 1, 0 or FIC_UNKNOWN */

	/* employers */
	int industry;            /**< fic_industry */
	int hazard_level;        /**< fic_hazard_level */

	/* other venues */
	int venue_type;          /**< fic_venue_type */

	const char *note;        /**< free text, e.g. licensing/filing notes for a field-found site */

	int64_t created_at_ms;   /**< output only: device UTC time of creation */
	int64_t updated_at_ms;   /**< output only */
	int64_t revision;        /**< output only: 1 at creation, +1 per change */

	/* version 2 */
	const char *authority;   /**< 主管机构: the water supply's or school's competent authority,
	                              told of a new or changed site (饮用水/学校卫生 三(二)3) */
} fic_site;

#define FIC_SITE_INIT { FIC_SITE_VERSION, NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL, \
	NULL, NULL, NULL, NULL, 0, 0.0, 0.0, 0, 0, \
	0, FIC_UNKNOWN, FIC_UNKNOWN, \
	0, 0, FIC_UNKNOWN, FIC_UNKNOWN, FIC_UNKNOWN, \
	0, 0, 0, NULL, 0, 0, 0, NULL }

/** Fill `site` with the FIC_SITE_INIT values. */
FIC_EXTERN int fic_site_init(fic_site *site, unsigned int version);

/** A list of sites, freed with fic_site_list_free(). */
typedef struct fic_site_list {
	fic_site **sites;
	size_t count;
	double *distance_m; /**< for fic_site_near: metres from the point, parallel to sites; else NULL */
} fic_site_list;

/**
 * Add a site found in the field (origin FIC_SITE_FROM_FIELD, status active).
 * `reason` (optional, e.g. "not in registry, found on route 3") goes to the
 * audit log.
 * @param out receives the stored record (may be NULL if not wanted).
 * @return FIC_OK; FIC_EINVAL (bad field, invalid credit code, bad date…);
 *   FIC_ETOOBIG; FIC_EEXISTS (place code already used by another site).
 */
FIC_EXTERN int fic_site_add(fic_site **out, fic_store *store, const fic_site *site,
                            const char *reason);

/**
 * Replace the facts of site `site->id` with those in `site` (get, change,
 * update). Status and origin are not taken from `site`. A site from the
 * county's registry becomes FIC_SITE_CHANGED (信息变更: its facts now differ
 * from the registry, to be reported) and a site-status lead is filed for it,
 * as a draft awaiting its proof photo (fic_site_report in inspection.h says
 * how; fic_lead_list_get lists it); a site added in the field keeps its
 * status and files nothing. A call that changes nothing succeeds and writes
 * nothing.
 * @param reason required: why the facts changed (1..FIC_REASON_MAX bytes).
 * @return FIC_OK; FIC_ENOTFOUND; FIC_ESTATE if the site is closed; as fic_site_add.
 */
FIC_EXTERN int fic_site_update(fic_site **out, fic_store *store, const fic_site *site,
                               const char *reason);

/**
 * Mark a site closed (停业/关闭) with the reason, as verified on the spot;
 * a site-status lead is filed as a draft awaiting its proof photo (as
 * fic_site_update).
 * @return FIC_OK; FIC_ENOTFOUND; FIC_ESTATE if it is already closed; FIC_EINVAL.
 */
FIC_EXTERN int fic_site_close(fic_store *store, const char *id, const char *reason);

/** Get one site by id. @return FIC_OK or FIC_ENOTFOUND. */
FIC_EXTERN int fic_site_get(fic_site **out, fic_store *store, const char *id);

/**
 * Sites with this unified social credit code (one company may run several
 * sites, e.g. a property company's secondary-supply tanks). An empty list is
 * FIC_OK. An invalid code is FIC_EINVAL.
 */
FIC_EXTERN int fic_site_find_by_credit_code(fic_site_list **out, fic_store *store,
                                            const char *credit_code);

/** The site whose posted place code carries exactly `payload`. FIC_ENOTFOUND if none. */
FIC_EXTERN int fic_site_find_by_place_code(fic_site **out, fic_store *store, const char *payload);

/**
 * Sites of one kind (0 = any) whose name contains `name_part` (NULL or "" =
 * any; plain, case-sensitive substring match, works for Chinese), ordered by
 * name then id, at most `limit` (0 = no limit). Indexed: with a limit, the
 * work follows the answer, not the size of the registry, except for a text
 * whose every two-character part is in thousands of names while the text
 * itself is in few (docs/architecture.md, "Sites").
 */
FIC_EXTERN int fic_site_search(fic_site_list **out, fic_store *store, int kind,
                               const char *name_part, size_t limit);

/**
 * Sites with a location within `radius_m` metres (great-circle distance) of
 * (lat, lon), nearest first (equal distances by id), at most `limit` (0 = no
 * limit). Fills distance_m. `radius_m` is more than 0 and at most 500 km.
 * With a limit, only about `limit` sites are read however many lie within
 * the radius (an R*Tree; docs/architecture.md, "Sites").
 */
FIC_EXTERN int fic_site_near(fic_site_list **out, fic_store *store, double lat, double lon,
                             double radius_m, size_t limit);

FIC_EXTERN void fic_site_free(fic_site *site);
FIC_EXTERN void fic_site_list_free(fic_site_list *list);

/**
 * The site as a JSON object (the form the outbox uploads and `fic --json`
 * prints); enums as their code strings. Free with fic_free().
 * Schema: schema/api/site.schema.json (docs/api.md, "JSON documents").
 */
FIC_EXTERN int fic_site_to_json(char **out, const fic_site *site);

/**
 * The code string of an enumeration value ("water_rural", "closed", …).
 * Static, never NULL; "" for a value outside the enumeration.
 */
FIC_EXTERN const char *fic_site_code_str(int type, int value);

/** Parse a code string. @return FIC_OK, or FIC_EINVAL listing the accepted codes. */
FIC_EXTERN int fic_site_code_parse(int *out, int type, const char *code);

/** The Chinese label of an enumeration value ("农村集中式供水"), or "". */
FIC_EXTERN const char *fic_site_code_label(int type, int value);

/**
 * Check a unified social credit code (统一社会信用代码, GB 32100-2015):
 * 18 characters from the code's 31-character alphabet with a correct check
 * character. @return FIC_OK or FIC_EINVAL saying what is wrong.
 */
FIC_EXTERN int fic_credit_code_check(const char *code);

#ifdef __cplusplus
}
#endif

#endif
