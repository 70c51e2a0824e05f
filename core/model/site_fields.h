/*
 * core/model/site_fields.h — the site's facts, described once. Each row of
 * SITE_FIELDS is one fact of fic_site: its name (the column of `sites`, the
 * key in JSON and in the county's feed, and the rule fact site.<name>), its
 * kind of value, where it lives in fic_site, its code table, what it may be
 * and for which kinds of site. The SQL column lists, binding positions, the
 * row reader, JSON, the rules' facts, the feed reader and validation all
 * derive from it (site_fields.c), so adding a fact is one row here plus its
 * column in a migration and its member in fic_site.
 */
#ifndef FIC_CORE_SITE_FIELDS_H
#define FIC_CORE_SITE_FIELDS_H

#include "model.h"

#include <stddef.h>

typedef enum sf_type {
	SF_TEXT,  /* const char *; NULL or "" = not recorded */
	SF_DATE,  /* const char * "YYYY-MM-DD" */
	SF_CODE,  /* int, one of a code table (0 = not recorded) */
	SF_FLAG,  /* int 1, 0 or FIC_UNKNOWN */
	SF_COUNT, /* int 0..limit or FIC_UNKNOWN */
	SF_LAT,   /* double, with has_location */
	SF_LON,
	SF_TIME   /* int64_t bookkeeping (times, revision); 0 = not set */
} sf_type;

/* Flags */
#define SF_REQUIRED 1u /* text that must be present */
#define SF_FACT 2u     /* offered to the rules as site.<name> (and to titles) */
#define SF_FEED 4u     /* taken from the county's registry feed */
#define SF_TITLE 8u    /* in the facts snapshot for titles, but not a rule fact */

/* Kinds a kind-specific fact applies to (0: every kind). */
#define SF_SCHOOL (1u << FIC_SITE_SCHOOL)
#define SF_MEDICAL ((1u << FIC_SITE_MEDICAL) | (1u << FIC_SITE_MCH))
#define SF_EMPLOYER (1u << FIC_SITE_EMPLOYER)
#define SF_VENUE (1u << FIC_SITE_OTHER_VENUE)

/* X(name, type, code table, flags, max bytes or limit, kinds, words for messages).
 * `id` comes first and is not in this list (it is the key). */
#define SITE_FIELDS(X)                                                                             \
	X(kind, SF_CODE, FIC_CODE_KIND, SF_FACT | SF_FEED, 0, 0, "kind")                            \
	X(name, SF_TEXT, 0, SF_REQUIRED | SF_TITLE | SF_FEED, FIC_SITE_NAME_MAX, 0, "name")        \
	X(address, SF_TEXT, 0, SF_TITLE | SF_FEED, FIC_SITE_ADDRESS_MAX, 0, "address")             \
	X(credit_code, SF_TEXT, 0, SF_FEED, 0, 0, "credit code") /* fic_credit_code_check */       \
	X(place_code, SF_TEXT, 0, SF_FEED, FIC_SITE_PLACE_CODE_MAX, 0, "place code")               \
	X(legal_rep, SF_TEXT, 0, SF_FEED, FIC_SITE_SHORT_MAX, 0, "legal representative")           \
	X(manager, SF_TEXT, 0, SF_FEED, FIC_SITE_SHORT_MAX, 0, "person in charge")                 \
	X(licence_no, SF_TEXT, 0, SF_FEED, FIC_SITE_SHORT_MAX, 0, "licence number")                \
	X(licence_scope, SF_TEXT, 0, SF_FEED, FIC_SITE_SCOPE_MAX, 0, "licence scope")              \
	X(licence_valid_from, SF_DATE, 0, SF_FACT | SF_FEED, 10, 0, "licence valid from")          \
	X(licence_valid_to, SF_DATE, 0, SF_FACT | SF_FEED, 10, 0, "licence valid to")              \
	X(lat, SF_LAT, 0, SF_FEED, 0, 0, "latitude")                                                \
	X(lon, SF_LON, 0, SF_FEED, 0, 0, "longitude")                                               \
	X(status, SF_CODE, FIC_CODE_STATUS, 0, 0, 0, "status")                                      \
	X(origin, SF_CODE, FIC_CODE_ORIGIN, 0, 0, 0, "origin")                                      \
	X(school_level, SF_CODE, FIC_CODE_SCHOOL_LEVEL, SF_FACT | SF_FEED, 0, SF_SCHOOL,            \
	  "school level")                                                                           \
	X(boarding, SF_FLAG, 0, SF_FACT | SF_FEED, 0, SF_SCHOOL, "boarding")                        \
	X(enrolment, SF_COUNT, 0, SF_FACT | SF_FEED, 1000000, SF_SCHOOL, "enrolment")               \
	X(med_registration, SF_CODE, FIC_CODE_MED_REGISTRATION, SF_FACT | SF_FEED, 0, SF_MEDICAL,   \
	  "registration")                                                                           \
	X(institution_type, SF_CODE, FIC_CODE_INSTITUTION_TYPE, SF_FACT | SF_FEED, 0, SF_MEDICAL,   \
	  "institution type")                                                                       \
	X(beds, SF_COUNT, 0, SF_FACT | SF_FEED, 100000, SF_MEDICAL, "beds")                         \
	X(joint_venture, SF_FLAG, 0, SF_FACT | SF_FEED, 0, SF_MEDICAL, "joint venture")             \
	X(validation_deferred, SF_FLAG, 0, SF_FACT | SF_FEED, 0, SF_MEDICAL, "deferred validation") \
	X(industry, SF_CODE, FIC_CODE_INDUSTRY, SF_FACT | SF_FEED, 0, SF_EMPLOYER, "industry")      \
	X(hazard_level, SF_CODE, FIC_CODE_HAZARD_LEVEL, SF_FACT | SF_FEED, 0, SF_EMPLOYER,          \
	  "hazard level")                                                                           \
	X(venue_type, SF_CODE, FIC_CODE_VENUE_TYPE, SF_FACT | SF_FEED, 0, SF_VENUE, "venue type")  \
	X(note, SF_TEXT, 0, SF_FEED, FIC_SITE_NOTE_MAX, 0, "note")                                  \
	X(authority, SF_TEXT, 0, SF_FEED, FIC_SITE_SHORT_MAX, 0, "competent authority")            \
	X(created_at_ms, SF_TIME, 0, 0, 0, 0, "created")                                            \
	X(updated_at_ms, SF_TIME, 0, 0, 0, 0, "updated")                                            \
	X(revision, SF_TIME, 0, 0, 0, 0, "revision")

/* The SQL of the `sites` columns, in SITE_FIELDS order after id. */
#define SF_COLUMN_(name, ...) ", " #name
#define SF_VALUE_(name, ...) ", ?"
#define SF_ASSIGN_(name, ...) #name " = ?, "
#define SITE_COLUMNS "id" SITE_FIELDS(SF_COLUMN_)
#define SITE_VALUES "?" SITE_FIELDS(SF_VALUE_)
/* "kind = ?, …, revision = ?, id = id": the site's id is bound last. */
#define SITE_ASSIGNMENTS SITE_FIELDS(SF_ASSIGN_) "id = id"

/* A copy of `src` in one allocation holding the struct and its strings
 * (fic_site_free frees it); NULL if out of memory. */
fic_site *fic__site_copy(const fic_site *src);
/* A site from a row read with SITE_COLUMNS (one allocation; NULL if no memory). */
fic_site *fic__site_from_row(sqlite3_stmt *st);
/* Bind every field in SITE_FIELDS order from parameter `first` (the id is
 * the caller's: at 1 before them for SITE_VALUES, after them for
 * SITE_ASSIGNMENTS). Returns the next free parameter. */
int fic__site_bind(sqlite3_stmt *st, const fic_site *s, int first);
/* The site as JSON (every recorded field, by name), or NULL. */
struct cJSON *fic__site_json(const fic_site *s);
/* Read the fields the county's feed carries from `data` into `s` (whose
 * strings then point into `data`). *status gets the feed's status code. */
int fic__site_from_feed(fic_site *s, const struct cJSON *data, int *status);
/* Every field's own rule: required text, lengths, UTF-8, code tables,
 * flags, counts' limits, and facts that apply only to some kinds. */
int fic__site_check_fields(const fic_site *s);

#endif
