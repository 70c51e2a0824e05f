/*
 * core/model/rules.h — checklist definitions in memory and the rule evaluator.
 *
 * A definition is kept as its parsed cJSON tree (the file's own words, for
 * the record and for docs) plus an index of its items. Loading validates
 * everything the JSON Schema says and what a schema cannot: every rule uses
 * known operators with the right number of arguments, references only items
 * that exist (earlier in the list, for item rules), stays under a nesting
 * limit, and every choice id compared in a rule is a choice of that item.
 * The evaluator is the JsonLogic subset of docs/checklist-format.md with
 * three-valued (SQL) null semantics.
 */
#ifndef FIC_CORE_RULES_H
#define FIC_CORE_RULES_H

#include "util/util.h"

#include <cjson/cJSON.h>

typedef enum fic__atype {
	FIC_A_YES_NO = 1,
	FIC_A_NUMBER,
	FIC_A_COUNT,
	FIC_A_DATE,
	FIC_A_CHOICE,
	FIC_A_MULTI,
	FIC_A_TEXT,
	FIC_A_COUNTS
} fic__atype;

typedef struct fic__item {
	const char *id;
	const cJSON *node;      /* the item's JSON object (borrowed from def->root) */
	fic__atype type;
	const cJSON *choices;   /* array or NULL */
	const cJSON *applies;   /* expression or NULL */
	const cJSON *abnormal;  /* expression or NULL */
	double lo, hi;          /* accepted range (number, count) */
	bool has_range;
	size_t max_length;      /* text */
	int max_count;          /* counts */
	bool required, na_allowed, not_after_inspection, photo_when_abnormal, sensitive;
	bool urgent;             /* a two-hour rule (urgent_when_abnormal) */
	bool immediate;          /* report at once, no grace (immediate_when_abnormal: 非法行医 3.4.1) */
	bool time_sensitive;     /* re-inspect within a month (time_sensitive_when_abnormal: 3.4.1) */
	bool licence_match;      /* "实际信息与许可证一致": a scanned code that differs answers it no */
	/* identifies a person (an informant, a patient, a diner): sealed to the
	 * county's key when the lead is submitted (event forms only; there
	 * `sensitive` implies it); implies `sensitive` */
	bool personal;
	const char *prefill;    /* "site.x" or NULL */
} fic__item;

typedef struct fic__def {
	cJSON *root;            /* owned */
	const char *id;
	int version;
	bool is_event;
	const char *area;
	const char *title_zh, *title_en;
	const cJSON *site_kinds; /* array or NULL */
	const cJSON *lead;       /* object or NULL (events) */
	fic__item *items;
	size_t nitems;
} fic__def;

#define FIC_DEF_MAX_BYTES (256 * 1024)

/* Parse and fully validate a definition. On failure records the error (FIC_EINVAL/ETOOBIG/ENOMEM). */
int fic__def_parse(fic__def **out, const char *json, size_t len);
void fic__def_free(fic__def *def);
const fic__item *fic__def_item(const fic__def *def, const char *item_id);

/* ---- evaluation ---- */

typedef enum { FIC_V_NULL, FIC_V_NUM, FIC_V_STR, FIC_V_BOOL, FIC_V_ARR } fic__vtype;

typedef struct fic__val {
	fic__vtype t;
	double n;
	bool b;
	const char *s;          /* borrowed */
	const cJSON *arr;       /* borrowed cJSON array */
} fic__val;

typedef struct fic__ctx {
	const fic__def *def;
	const cJSON *answers;   /* object: item id -> stored answer JSON */
	const cJSON *site;      /* object: site facts (may be NULL) */
	int64_t day;            /* inspection date as days since 1970-01-01 */
	const fic__item *self;  /* the item whose rule is evaluated, or NULL */
} fic__ctx;

fic__val fic__eval(const fic__ctx *ctx, const cJSON *expr);
/* Tri-state truth: 1 true, 0 false, -1 null. */
int fic__truth(fic__val v);

/* The answer of an item as a rule sees it (dates become day numbers). */
fic__val fic__answer_val(const fic__ctx *ctx, const fic__item *item);

/*
 * Parse answer text (the form in docs/checklist-format.md) for `item` into
 * its stored JSON. `day` is the inspection date (for not_after_inspection).
 */
int fic__answer_parse(cJSON **out, const fic__item *item, const char *text, int64_t day);


#endif
