/*
 * core/model/rules.c — loading checklist definitions and evaluating their rules.
 *
 * See rules.h for what is validated and docs/checklist-format.md for the
 * language. Validation happens once, at load; evaluation can then trust the
 * shape of every expression (operator known, arity right, references real,
 * depth bounded), so it needs no error path and cannot recurse without bound.
 */
#include "model.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPR_MAX_DEPTH 32

/*
 * The operators of the rule language (docs/checklist-format.md): one table,
 * used both to validate a definition (name known, number of arguments) and
 * to evaluate it (the function). Adding an operator is one row and one
 * function; nothing picks an operator by its spelling anywhere else.
 */
typedef fic__val (*op_fn)(const fic__ctx *ctx, const cJSON *args, int n);
#define OPS(X)                                                                      \
	X("var", 1, 1, op_var) X("answered", 1, 1, op_answered)                       \
	X("==", 2, 2, op_eq) X("!=", 2, 2, op_ne) X("<", 2, 3, op_lt) X("<=", 2, 3, op_le) \
	X(">", 2, 2, op_gt) X(">=", 2, 2, op_ge) X("and", 1, -1, op_and)              \
	X("or", 1, -1, op_or) X("!", 1, 1, op_not) X("in", 2, 2, op_in)               \
	X("if", 3, -1, op_if) X("+", 2, -1, op_add) X("-", 2, 2, op_sub)              \
	X("*", 2, -1, op_mul) X("ceil_div", 2, 2, op_ceil_div)                        \
	X("add_years", 2, 2, op_add_years) X("add_months", 2, 2, op_add_months)       \
	X("max", 1, 1, op_max) X("sum", 1, 1, op_sum) X("window_sum", 2, 2, op_window_sum) \
	X("count", 1, 1, op_count)

#define DECLARE_OP(name, lo, hi, fn) static fic__val fn(const fic__ctx *ctx, const cJSON *args, int n);
OPS(DECLARE_OP)
#undef DECLARE_OP

typedef struct op_spec {
	const char *name;
	int min_args, max_args; /* max -1 = unbounded */
	op_fn eval;
} op_spec;

#define OP_ROW(name, lo, hi, fn) { name, lo, hi, fn },
static const op_spec ops[] = { OPS(OP_ROW) { NULL, 0, 0, NULL } };
#undef OP_ROW

static const op_spec *find_op(const char *name)
{
	for (const op_spec *o = ops; o->name; o++)
		if (strcmp(o->name, name) == 0)
			return o;
	return NULL;
}

const fic__item *fic__def_item(const fic__def *def, const char *item_id)
{
	for (size_t i = 0; i < def->nitems; i++)
		if (strcmp(def->items[i].id, item_id) == 0)
			return &def->items[i];
	return NULL;
}

/* ---- validation ---- */

typedef struct vctx {
	const fic__def *def;
	const fic__item *self; /* NULL for lead-level rules */
	const char *where;     /* for messages */
} vctx;

static int bad(const vctx *v, const char *what, const char *detail)
{
	return fic__err(FIC_EINVAL, "checklist %s: %s: %s%s%s", v->def->id ? v->def->id : "?",
	                v->where, what, detail ? ": " : "", detail ? detail : "");
}

static int check_expr(const vctx *v, const cJSON *e, int depth)
{
	if (depth > EXPR_MAX_DEPTH)
		return bad(v, "rule nested too deeply", NULL);
	if (cJSON_IsArray(e)) {
		const cJSON *c;
		cJSON_ArrayForEach(c, e) {
			int rc = check_expr(v, c, depth + 1);
			if (rc)
				return rc;
		}
		return FIC_OK;
	}
	if (!cJSON_IsObject(e))
		return FIC_OK; /* literal */
	const cJSON *op = e->child;
	if (op == NULL || op->next != NULL)
		return bad(v, "a rule object must have exactly one operator", NULL);
	const op_spec *spec = find_op(op->string);
	if (spec == NULL)
		return bad(v, "unknown operator", op->string);
	const cJSON *args = op;
	int nargs = cJSON_IsArray(op) ? cJSON_GetArraySize(op) : 1;
	if (nargs < spec->min_args || (spec->max_args >= 0 && nargs > spec->max_args))
		return bad(v, "wrong number of arguments for", spec->name);
	if (strcmp(spec->name, "if") == 0 && nargs % 2 == 0)
		return bad(v, "'if' needs condition/value pairs and an else value", NULL);
	if (strcmp(spec->name, "var") == 0 || strcmp(spec->name, "answered") == 0) {
		const cJSON *name = cJSON_IsArray(op) ? op->child : op;
		if (!cJSON_IsString(name))
			return bad(v, "the argument of var/answered must be a string", NULL);
		const char *n = name->valuestring;
		if (strcmp(spec->name, "answered") == 0) {
			if (fic__def_item(v->def, n) == NULL)
				return bad(v, "answered: no such item", n);
			return FIC_OK;
		}
		if (strcmp(n, "answer") == 0) {
			if (v->self == NULL)
				return bad(v, "'answer' has no meaning outside an item", NULL);
		} else if (strncmp(n, "item.", 5) == 0) {
			if (fic__def_item(v->def, n + 5) == NULL)
				return bad(v, "reference to an unknown item", n);
		} else if (strncmp(n, "site.", 5) == 0) {
			if (!fic__site_fact_known(n + 5))
				return bad(v, "unknown site fact", n);
		} else if (strcmp(n, "inspection.date") != 0) {
			return bad(v, "unknown variable", n);
		}
		return FIC_OK;
	}
	return cJSON_IsArray(args) ? check_expr(v, args, depth + 1) : check_expr(v, args, depth + 1);
}

static const char *str_field(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool id_ok(const char *s, bool dotted)
{
	if (s == NULL || !(s[0] >= 'a' && s[0] <= 'z') || strlen(s) > 64)
		return false;
	for (const char *p = s; *p; p++) {
		bool ok = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' ||
			  (dotted && *p == '.' && p[1] >= 'a' && p[1] <= 'z');
		if (!ok)
			return false;
	}
	return true;
}

static bool text_ok(const cJSON *t)
{
	const char *zh = str_field(t, "zh"), *en = str_field(t, "en");
	return cJSON_IsObject(t) && zh && en && zh[0] && en[0] && strlen(zh) <= 500 &&
	       strlen(en) <= 500;
}

static bool sections_ok(const cJSON *s)
{
	static const char *const areas[] = { "食源性疾病 ", "饮用水 ", "学校卫生 ", "非法行医 ",
	                                     "妇幼健康 ", "职业卫生 ", "实施方案 ", "其他专业 ", NULL };
	if (!cJSON_IsArray(s) || cJSON_GetArraySize(s) < 1 || cJSON_GetArraySize(s) > 8)
		return false;
	const cJSON *c;
	cJSON_ArrayForEach(c, s) {
		if (!cJSON_IsString(c) || strlen(c->valuestring) > 40)
			return false;
		bool found = false;
		for (const char *const *a = areas; *a; a++)
			found |= strncmp(c->valuestring, *a, strlen(*a)) == 0 &&
				 c->valuestring[strlen(*a)] != '\0';
		if (!found)
			return false;
	}
	return true;
}

static bool flag(const cJSON *o, const char *key, bool dflt, bool *bad_type)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	if (v == NULL)
		return dflt;
	if (!cJSON_IsBool(v))
		*bad_type = true;
	return cJSON_IsTrue(v);
}

static const char *const item_keys[] = {
	"id", "sections", "label", "basis", "type", "unit", "range", "max_length", "max_count",
	"choices", "na_allowed", "not_after_inspection", "required", "prefill", "applies",
	"abnormal", "finding", "photo_when_abnormal", "urgent_when_abnormal",
	"immediate_when_abnormal", "time_sensitive_when_abnormal", "licence_match", "sensitive",
	"personal",
	NULL
};

static bool key_known(const char *const *keys, const char *k)
{
	for (const char *const *p = keys; *p; p++)
		if (strcmp(*p, k) == 0)
			return true;
	return false;
}

static int load_item(fic__def *def, fic__item *it, const cJSON *node)
{
	vctx v = { def, NULL, "item" };
	char where[96];
	if (!cJSON_IsObject(node))
		return bad(&v, "each item must be an object", NULL);
	it->node = node;
	it->id = str_field(node, "id");
	if (!id_ok(it->id, false))
		return bad(&v, "item id missing or not of the form [a-z][a-z0-9_]*", it->id);
	snprintf(where, sizeof where, "item %s", it->id);
	v.where = where;
	const cJSON *k;
	cJSON_ArrayForEach(k, node) {
		if (!key_known(item_keys, k->string))
			return bad(&v, "unknown field", k->string);
	}
	if (!sections_ok(cJSON_GetObjectItemCaseSensitive(node, "sections")))
		return bad(&v, "sections must be 1-8 strings such as \"饮用水 3.2.4\"", NULL);
	if (!text_ok(cJSON_GetObjectItemCaseSensitive(node, "label")))
		return bad(&v, "label must have non-empty zh and en", NULL);
	const cJSON *finding = cJSON_GetObjectItemCaseSensitive(node, "finding");
	if (finding && !text_ok(finding))
		return bad(&v, "finding must have non-empty zh and en", NULL);
	static const char *const types[] = { "yes_no", "number", "count", "date", "choice",
	                                     "multi", "text", "counts" };
	const char *type = str_field(node, "type");
	it->type = 0;
	for (int i = 0; type && i < 8; i++)
		if (strcmp(types[i], type) == 0)
			it->type = (fic__atype)(i + 1);
	if (it->type == 0)
		return bad(&v, "unknown answer type", type);
	bool bad_type = false;
	it->required = flag(node, "required", true, &bad_type);
	it->na_allowed = flag(node, "na_allowed", false, &bad_type);
	it->not_after_inspection = flag(node, "not_after_inspection", false, &bad_type);
	it->photo_when_abnormal = flag(node, "photo_when_abnormal", false, &bad_type);
	it->urgent = flag(node, "urgent_when_abnormal", false, &bad_type);
	it->immediate = flag(node, "immediate_when_abnormal", false, &bad_type);
	it->time_sensitive = flag(node, "time_sensitive_when_abnormal", false, &bad_type);
	it->licence_match = flag(node, "licence_match", false, &bad_type);
	it->sensitive = flag(node, "sensitive", false, &bad_type);
	it->personal = flag(node, "personal", false, &bad_type);
	if (bad_type)
		return bad(&v, "flags must be true or false", NULL);
	if (it->urgent && it->immediate)
		return bad(&v, "an item is reported within two hours or immediately, not both", NULL);
	if (it->licence_match && it->type != FIC_A_YES_NO)
		return bad(&v, "a licence_match item is a yes/no question", NULL);
	if ((it->urgent || it->immediate || it->time_sensitive) &&
	    !cJSON_GetObjectItemCaseSensitive(node, "abnormal"))
		return bad(&v, "a reporting rule needs an abnormal rule", NULL);
	/* A lead's personal answers are sealed at submission (flow/lead.c);
	 * an inspection's answers are not, so a patrol checklist cannot promise
	 * it. `sensitive` (the older marker, on informants' names and phones)
	 * counts as personal in an event form; in a patrol checklist it keeps
	 * its old meaning: the answer's value stays out of the audit log. */
	if (it->personal && !def->is_event)
		return bad(&v, "personal answers are sealed only in event forms (kind \"event\")",
		           NULL);
	if (def->is_event)
		it->personal = it->personal || it->sensitive;
	it->sensitive = it->sensitive || it->personal;
	const cJSON *range = cJSON_GetObjectItemCaseSensitive(node, "range");
	if (range) {
		if (!cJSON_IsArray(range) || cJSON_GetArraySize(range) != 2 ||
		    !cJSON_IsNumber(range->child) || !cJSON_IsNumber(range->child->next) ||
		    !(range->child->valuedouble <= range->child->next->valuedouble))
			return bad(&v, "range must be [low, high] numbers with low <= high", NULL);
		it->lo = range->child->valuedouble;
		it->hi = range->child->next->valuedouble;
		it->has_range = true;
	} else if (it->type == FIC_A_NUMBER) {
		return bad(&v, "a number item needs a range", NULL);
	}
	const cJSON *unit = cJSON_GetObjectItemCaseSensitive(node, "unit");
	if (unit && (!cJSON_IsString(unit) || strlen(unit->valuestring) > 20))
		return bad(&v, "unit must be a short string", NULL);
	const cJSON *ml = cJSON_GetObjectItemCaseSensitive(node, "max_length");
	it->max_length = 2000;
	if (ml) {
		if (!cJSON_IsNumber(ml) || ml->valuedouble < 1 || ml->valuedouble > 4000)
			return bad(&v, "max_length must be 1..4000", NULL);
		it->max_length = (size_t)ml->valuedouble;
	}
	const cJSON *mc = cJSON_GetObjectItemCaseSensitive(node, "max_count");
	it->max_count = 14;
	if (mc) {
		if (!cJSON_IsNumber(mc) || mc->valuedouble < 1 || mc->valuedouble > 31)
			return bad(&v, "max_count must be 1..31", NULL);
		it->max_count = (int)mc->valuedouble;
	}
	it->choices = cJSON_GetObjectItemCaseSensitive(node, "choices");
	if (it->type == FIC_A_CHOICE || it->type == FIC_A_MULTI) {
		if (!cJSON_IsArray(it->choices) || cJSON_GetArraySize(it->choices) < 1 ||
		    cJSON_GetArraySize(it->choices) > 50)
			return bad(&v, "choice items need 1-50 choices", NULL);
		const cJSON *c;
		cJSON_ArrayForEach(c, it->choices) {
			const char *cid = str_field(c, "id");
			if (!id_ok(cid, false) || !text_ok(cJSON_GetObjectItemCaseSensitive(c, "label")))
				return bad(&v, "each choice needs an id and a zh/en label", NULL);
			for (const cJSON *d = it->choices->child; d != c; d = d->next)
				if (strcmp(str_field(d, "id"), cid) == 0)
					return bad(&v, "duplicate choice id", cid);
		}
	} else if (it->choices) {
		return bad(&v, "choices only belong to choice and multi items", NULL);
	}
	const cJSON *pf = cJSON_GetObjectItemCaseSensitive(node, "prefill");
	it->prefill = NULL;
	if (pf) {
		if (!cJSON_IsString(pf) || strncmp(pf->valuestring, "site.", 5) != 0 ||
		    !fic__site_fact_known(pf->valuestring + 5))
			return bad(&v, "prefill must name a site fact", NULL);
		it->prefill = pf->valuestring;
	}
	it->applies = cJSON_GetObjectItemCaseSensitive(node, "applies");
	it->abnormal = cJSON_GetObjectItemCaseSensitive(node, "abnormal");
	return FIC_OK;
}

static const char *const def_keys[] = { "$schema", "id", "version", "kind", "area", "title",
	                                "source", "site_kinds", "lead", "items", NULL };
static const char *const lead_keys[] = { "category", "urgent", "urgent_when", "report_to",
	                                 "time_sensitive", "time_sensitive_when", "sections", "routes",
	                                 NULL };

void fic__def_free(fic__def *def)
{
	if (def == NULL)
		return;
	cJSON_Delete(def->root);
	fic__free(def->items);
	fic__free(def);
}

/* A lead's routes: {"item": a choice item, "forms": {choice id: form id}}. */
static int check_routes(const fic__def *def, const vctx *lv, const cJSON *routes)
{
	const char *item = str_field(routes, "item");
	const cJSON *forms = cJSON_GetObjectItemCaseSensitive(routes, "forms");
	const fic__item *it = item ? fic__def_item(def, item) : NULL;
	if (!cJSON_IsObject(routes) || it == NULL || it->type != FIC_A_CHOICE)
		return bad(lv, "routes needs \"item\", a choice item of the form", NULL);
	if (!cJSON_IsObject(forms) || forms->child == NULL || cJSON_GetArraySize(forms) > 50 ||
	    cJSON_GetArraySize(routes) != 2)
		return bad(lv, "routes needs \"forms\": {choice: form id}", NULL);
	const cJSON *c;
	cJSON_ArrayForEach(c, forms) {
		bool known = false;
		const cJSON *ch;
		cJSON_ArrayForEach(ch, it->choices) {
			known |= strcmp(str_field(ch, "id"), c->string) == 0;
		}
		if (!known)
			return bad(lv, "routes: not a choice of the item", c->string);
		if (!cJSON_IsString(c) || !id_ok(c->valuestring, true))
			return bad(lv, "routes: a form id must be lowercase and dotted", c->string);
	}
	return FIC_OK;
}

/* An event form's "lead" object: what the lead it files is, and when it is urgent. */
static int validate_lead(fic__def *def)
{
	const cJSON *k;
	vctx lv = { def, NULL, "lead" };
	if (!cJSON_IsObject(def->lead))
		return bad(&lv, "must be an object", NULL);
	cJSON_ArrayForEach(k, def->lead) {
		if (!key_known(lead_keys, k->string))
			return bad(&lv, "unknown field", k->string);
	}
	const char *cat = str_field(def->lead, "category");
	const char *to = str_field(def->lead, "report_to");
	if (!id_ok(cat, false))
		return bad(&lv, "category missing or malformed", NULL);
	if (to == NULL || (strcmp(to, "enforcement") != 0 && strcmp(to, "district_cdc") != 0))
		return bad(&lv, "report_to must be enforcement or district_cdc", NULL);
	if (!sections_ok(cJSON_GetObjectItemCaseSensitive(def->lead, "sections")))
		return bad(&lv, "sections must be 1-8 guide section strings", NULL);
	bool bt = false;
	flag(def->lead, "urgent", false, &bt);
	flag(def->lead, "time_sensitive", false, &bt);
	if (bt)
		return bad(&lv, "urgent and time_sensitive must be true or false", NULL);
	const cJSON *uw = cJSON_GetObjectItemCaseSensitive(def->lead, "urgent_when");
	const cJSON *tw = cJSON_GetObjectItemCaseSensitive(def->lead, "time_sensitive_when");
	int rc;
	if (uw && (rc = check_expr(&lv, uw, 0)))
		return rc;
	if (tw && (rc = check_expr(&lv, tw, 0)))
		return rc;
	const cJSON *routes = cJSON_GetObjectItemCaseSensitive(def->lead, "routes");
	if (routes && (rc = check_routes(def, &lv, routes)) != FIC_OK)
		return rc;
	return FIC_OK;
}

static int validate_def(fic__def *def)
{
	vctx v = { def, NULL, "definition" };
	cJSON *root = def->root;
	if (!cJSON_IsObject(root))
		return bad(&v, "must be a JSON object", NULL);
	const cJSON *k;
	cJSON_ArrayForEach(k, root) {
		if (!key_known(def_keys, k->string))
			return bad(&v, "unknown field", k->string);
	}
	def->id = str_field(root, "id");
	if (!id_ok(def->id, true))
		return bad(&v, "id missing or malformed (lowercase, dotted)", NULL);
	const cJSON *ver = cJSON_GetObjectItemCaseSensitive(root, "version");
	if (!cJSON_IsNumber(ver) || ver->valuedouble != floor(ver->valuedouble) ||
	    ver->valuedouble < 1 || ver->valuedouble > 1000000)
		return bad(&v, "version must be a whole number 1..1000000", NULL);
	def->version = (int)ver->valuedouble;
	const char *kind = str_field(root, "kind");
	if (kind == NULL || (strcmp(kind, "patrol") != 0 && strcmp(kind, "event") != 0))
		return bad(&v, "kind must be patrol or event", NULL);
	def->is_event = strcmp(kind, "event") == 0;
	static const char *const areas[] = { "foodborne", "drinking_water", "school",
	                                     "medical_blood", "mch", "occupational", "general",
	                                     NULL };
	def->area = str_field(root, "area");
	/* The guide's areas, or a county's own (其他专业, 实施方案 二(二)7):
	 * "other" or "other.<subject>". */
	bool county_area = def->area && strncmp(def->area, "other", 5) == 0 &&
	                   (def->area[5] == '\0' || (def->area[5] == '.' && id_ok(def->area + 6, true)));
	if (def->area == NULL || (!key_known(areas, def->area) && !county_area))
		return bad(&v, "unknown area (the guide's, or other.<subject> for a county's own)",
		           def->area);
	const cJSON *title = cJSON_GetObjectItemCaseSensitive(root, "title");
	if (!text_ok(title))
		return bad(&v, "title must have non-empty zh and en", NULL);
	def->title_zh = str_field(title, "zh");
	def->title_en = str_field(title, "en");
	const char *source = str_field(root, "source");
	if (source == NULL || !source[0] || strlen(source) > 300)
		return bad(&v, "source must name the guide section", NULL);
	def->site_kinds = cJSON_GetObjectItemCaseSensitive(root, "site_kinds");
	if (def->site_kinds) {
		if (!cJSON_IsArray(def->site_kinds))
			return bad(&v, "site_kinds must be an array", NULL);
		const cJSON *c;
		cJSON_ArrayForEach(c, def->site_kinds) {
			int kv;
			if (!cJSON_IsString(c) || fic_site_code_parse(&kv, FIC_CODE_KIND, c->valuestring))
				return bad(&v, "unknown site kind in site_kinds", NULL);
		}
	}
	if (!def->is_event && cJSON_GetArraySize(def->site_kinds) < 1)
		return bad(&v, "a patrol checklist must name the site kinds it applies to", NULL);
	def->lead = cJSON_GetObjectItemCaseSensitive(root, "lead");
	if (def->is_event != (def->lead != NULL))
		return bad(&v, def->is_event ? "an event form needs a lead" : "only event forms have a lead",
		           NULL);
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(root, "items");
	if (!cJSON_IsArray(items) || cJSON_GetArraySize(items) < 1 || cJSON_GetArraySize(items) > 200)
		return bad(&v, "items must be an array of 1-200 items", NULL);
	def->nitems = (size_t)cJSON_GetArraySize(items);
	def->items = fic__calloc(def->nitems, sizeof *def->items);
	if (def->items == NULL)
		return fic__err(FIC_ENOMEM, "out of memory loading a checklist");
	size_t i = 0;
	const cJSON *node;
	cJSON_ArrayForEach(node, items) {
		int rc = load_item(def, &def->items[i], node);
		if (rc)
			return rc;
		for (size_t j = 0; j < i; j++)
			if (strcmp(def->items[j].id, def->items[i].id) == 0)
				return bad(&v, "duplicate item id", def->items[i].id);
		i++;
	}
	/* Rules, once every item id is known. */
	for (i = 0; i < def->nitems; i++) {
		char where[96];
		snprintf(where, sizeof where, "item %s", def->items[i].id);
		vctx iv = { def, &def->items[i], where };
		int rc;
		if (def->items[i].applies && (rc = check_expr(&iv, def->items[i].applies, 0)))
			return rc;
		if (def->items[i].abnormal && (rc = check_expr(&iv, def->items[i].abnormal, 0)))
			return rc;
	}
	if (def->lead)
		return validate_lead(def);
	return FIC_OK;
}

int fic__def_parse(fic__def **out, const char *json, size_t len)
{
	*out = NULL;
	if (json == NULL || len == 0)
		return fic__err(FIC_EINVAL, "checklist definition is empty");
	if (len > FIC_DEF_MAX_BYTES)
		return fic__err(FIC_ETOOBIG, "checklist definition is larger than %d bytes",
		                FIC_DEF_MAX_BYTES);
	if (!fic__utf8_valid(json, len))
		return fic__err(FIC_EINVAL, "checklist definition is not valid UTF-8");
	fic__def *def = fic__calloc(1, sizeof *def);
	if (def == NULL)
		return fic__err(FIC_ENOMEM, "out of memory loading a checklist");
	const char *end = NULL;
	unsigned long failed_before = fic__alloc_failures();
	def->root = cJSON_ParseWithLengthOpts(json, len, &end, false);
	if (def->root == NULL) {
		fic__def_free(def);
		if (fic__alloc_failures() != failed_before)
			return fic__err(FIC_ENOMEM, "out of memory loading a checklist");
		size_t at = end && end >= json ? (size_t)(end - json) : 0;
		return fic__err(FIC_EINVAL, "checklist definition is not valid JSON (near byte %zu)", at);
	}
	int rc = validate_def(def);
	if (rc) {
		fic__def_free(def);
		return rc;
	}
	*out = def;
	return FIC_OK;
}

/* ---- evaluation ---- */

static fic__val vnull(void) { fic__val v = { FIC_V_NULL, 0, false, NULL, NULL }; return v; }
static fic__val vnum(double n) { fic__val v = { FIC_V_NUM, n, false, NULL, NULL }; return v; }
static fic__val vbool(bool b) { fic__val v = { FIC_V_BOOL, 0, b, NULL, NULL }; return v; }
static fic__val vtri(int t) { return t < 0 ? vnull() : vbool(t == 1); }

static fic__val from_json(const cJSON *j)
{
	fic__val v = vnull();
	if (cJSON_IsNumber(j)) {
		v.t = FIC_V_NUM;
		v.n = j->valuedouble;
	} else if (cJSON_IsString(j)) {
		v.t = FIC_V_STR;
		v.s = j->valuestring;
	} else if (cJSON_IsBool(j)) {
		v.t = FIC_V_BOOL;
		v.b = cJSON_IsTrue(j);
	} else if (cJSON_IsArray(j)) {
		v.t = FIC_V_ARR;
		v.arr = j;
	}
	return v;
}

int fic__truth(fic__val v)
{
	switch (v.t) {
	case FIC_V_NULL: return -1;
	case FIC_V_BOOL: return v.b;
	case FIC_V_NUM: return v.n != 0;
	case FIC_V_STR: return v.s[0] != '\0';
	case FIC_V_ARR: return cJSON_GetArraySize(v.arr) > 0;
	}
	return -1;
}

fic__val fic__answer_val(const fic__ctx *ctx, const fic__item *item)
{
	const cJSON *a = ctx->answers ? cJSON_GetObjectItemCaseSensitive(ctx->answers, item->id) : NULL;
	if (a == NULL || cJSON_IsNull(a))
		return vnull();
	if (item->type == FIC_A_DATE && cJSON_IsString(a)) {
		int64_t d;
		if (fic__parse_date(a->valuestring, "answer", &d) != FIC_OK) {
			fic__err_clear();
			return vnull();
		}
		return vnum((double)d);
	}
	return from_json(a);
}

static fic__val var(const fic__ctx *ctx, const char *n)
{
	if (strcmp(n, "answer") == 0)
		return ctx->self ? fic__answer_val(ctx, ctx->self) : vnull();
	if (strncmp(n, "item.", 5) == 0) {
		const fic__item *it = fic__def_item(ctx->def, n + 5);
		return it ? fic__answer_val(ctx, it) : vnull();
	}
	if (strncmp(n, "site.", 5) == 0) {
		fic__val v = ctx->site ? from_json(cJSON_GetObjectItemCaseSensitive(ctx->site, n + 5)) : vnull();
		int64_t d;
		if (v.t == FIC_V_STR && strncmp(n + 5, "licence_valid_", 14) == 0) {
			/* dates read as day numbers, like date answers */
			if (fic__parse_date(v.s, "site fact", &d) != FIC_OK) {
				fic__err_clear();
				return vnull();
			}
			return vnum((double)d);
		}
		return v;
	}
	if (strcmp(n, "inspection.date") == 0)
		return vnum((double)ctx->day);
	return vnull();
}

static const cJSON *arg(const cJSON *op, int i)
{
	return cJSON_IsArray(op) ? cJSON_GetArrayItem(op, i) : (i == 0 ? op : NULL);
}

static int nargs(const cJSON *op)
{
	return cJSON_IsArray(op) ? cJSON_GetArraySize(op) : 1;
}

/* Tri-state equality. */
static int equal(fic__val a, fic__val b)
{
	if (a.t == FIC_V_NULL || b.t == FIC_V_NULL)
		return -1;
	if (a.t != b.t)
		return 0;
	switch (a.t) {
	case FIC_V_NUM: return a.n == b.n;
	case FIC_V_STR: return strcmp(a.s, b.s) == 0;
	case FIC_V_BOOL: return a.b == b.b;
	case FIC_V_ARR: return cJSON_Compare(a.arr, b.arr, true);
	default: return -1;
	}
}

fic__val fic__eval(const fic__ctx *ctx, const cJSON *e)
{
	if (!cJSON_IsObject(e))
		return from_json(e);
	const cJSON *args = e->child;
	/* Validation saw every operator; an unknown one here is a bug, not input. */
	const op_spec *o = find_op(args->string);
	return o ? o->eval(ctx, args, nargs(args)) : vnull();
}

static fic__val eval_arg(const fic__ctx *ctx, const cJSON *args, int i)
{
	return fic__eval(ctx, arg(args, i));
}

static fic__val op_var(const fic__ctx *ctx, const cJSON *args, int n)
{
	(void)n;
	const cJSON *v = arg(args, 0);
	return cJSON_IsString(v) ? var(ctx, v->valuestring) : vnull();
}

static fic__val op_answered(const fic__ctx *ctx, const cJSON *args, int n)
{
	(void)n;
	const cJSON *v = arg(args, 0);
	const fic__item *it = cJSON_IsString(v) ? fic__def_item(ctx->def, v->valuestring) : NULL;
	return vbool(it && fic__answer_val(ctx, it).t != FIC_V_NULL);
}

/* and/or with SQL's three-valued logic: `stop` is the value that decides. */
static fic__val logic(const fic__ctx *ctx, const cJSON *args, int n, int stop)
{
	bool saw_null = false;
	for (int i = 0; i < n; i++) {
		int t = fic__truth(eval_arg(ctx, args, i));
		if (t < 0)
			saw_null = true;
		else if (t == stop)
			return vbool(stop);
	}
	return saw_null ? vnull() : vbool(!stop);
}

static fic__val op_and(const fic__ctx *ctx, const cJSON *args, int n)
{
	return logic(ctx, args, n, 0);
}

static fic__val op_or(const fic__ctx *ctx, const cJSON *args, int n)
{
	return logic(ctx, args, n, 1);
}

static fic__val op_not(const fic__ctx *ctx, const cJSON *args, int n)
{
	(void)n;
	int t = fic__truth(eval_arg(ctx, args, 0));
	return t < 0 ? vnull() : vbool(!t);
}

static fic__val op_if(const fic__ctx *ctx, const cJSON *args, int n)
{
	int i = 0;
	for (; i + 1 < n; i += 2)
		if (fic__truth(eval_arg(ctx, args, i)) == 1)
			return eval_arg(ctx, args, i + 1);
	return eval_arg(ctx, args, n - 1);
}

static fic__val op_eq(const fic__ctx *ctx, const cJSON *args, int n)
{
	(void)n;
	return vtri(equal(eval_arg(ctx, args, 0), eval_arg(ctx, args, 1)));
}

static fic__val op_ne(const fic__ctx *ctx, const cJSON *args, int n)
{
	(void)n;
	int t = equal(eval_arg(ctx, args, 0), eval_arg(ctx, args, 1));
	return t < 0 ? vnull() : vbool(!t);
}

/* a < b (< c): numbers only; `cmp` says whether x, y are in order. With three
 * arguments (between), false if either pair is, else null if either is. */
static fic__val ordered(const fic__ctx *ctx, const cJSON *args, int n, bool (*cmp)(double, double))
{
	fic__val v[3];
	for (int i = 0; i < n; i++)
		v[i] = eval_arg(ctx, args, i);
	bool unknown = false;
	for (int i = 0; i + 1 < n; i++) {
		if (v[i].t != FIC_V_NUM || v[i + 1].t != FIC_V_NUM)
			unknown = true;
		else if (!cmp(v[i].n, v[i + 1].n))
			return vbool(false);
	}
	return unknown ? vnull() : vbool(true);
}

static bool lt(double x, double y) { return x < y; }
static bool le(double x, double y) { return x <= y; }
static bool gt(double x, double y) { return x > y; }
static bool ge(double x, double y) { return x >= y; }

static fic__val op_lt(const fic__ctx *ctx, const cJSON *args, int n) { return ordered(ctx, args, n, lt); }
static fic__val op_le(const fic__ctx *ctx, const cJSON *args, int n) { return ordered(ctx, args, n, le); }
static fic__val op_gt(const fic__ctx *ctx, const cJSON *args, int n) { return ordered(ctx, args, n, gt); }
static fic__val op_ge(const fic__ctx *ctx, const cJSON *args, int n) { return ordered(ctx, args, n, ge); }

static fic__val op_in(const fic__ctx *ctx, const cJSON *args, int n)
{
	(void)n;
	fic__val a = eval_arg(ctx, args, 0), b = eval_arg(ctx, args, 1);
	if (a.t == FIC_V_NULL || b.t == FIC_V_NULL)
		return vnull();
	if (b.t == FIC_V_STR)
		return a.t == FIC_V_STR ? vbool(strstr(b.s, a.s) != NULL) : vbool(false);
	if (b.t != FIC_V_ARR)
		return vbool(false);
	const cJSON *c;
	cJSON_ArrayForEach(c, b.arr) {
		if (equal(a, from_json(c)) == 1)
			return vbool(true);
	}
	return vbool(false);
}

/* Fold numbers with `step` from `start`; null if any is not a number. */
static fic__val fold(const fic__ctx *ctx, const cJSON *args, int n, double start,
                     double (*step)(double, double))
{
	double acc = start;
	for (int i = 0; i < n; i++) {
		fic__val x = eval_arg(ctx, args, i);
		if (x.t != FIC_V_NUM)
			return vnull();
		acc = step(acc, x.n);
	}
	return vnum(acc);
}

static double plus(double x, double y) { return x + y; }
static double times(double x, double y) { return x * y; }

static fic__val op_add(const fic__ctx *ctx, const cJSON *args, int n) { return fold(ctx, args, n, 0, plus); }
static fic__val op_mul(const fic__ctx *ctx, const cJSON *args, int n) { return fold(ctx, args, n, 1, times); }

static fic__val op_sub(const fic__ctx *ctx, const cJSON *args, int n)
{
	(void)n;
	fic__val a = eval_arg(ctx, args, 0), b = eval_arg(ctx, args, 1);
	return a.t == FIC_V_NUM && b.t == FIC_V_NUM ? vnum(a.n - b.n) : vnull();
}

static fic__val op_ceil_div(const fic__ctx *ctx, const cJSON *args, int n)
{
	(void)n;
	fic__val a = eval_arg(ctx, args, 0), b = eval_arg(ctx, args, 1);
	return a.t == FIC_V_NUM && b.t == FIC_V_NUM && b.n != 0 ? vnum(ceil(a.n / b.n)) : vnull();
}

/* A day number `months_per` × the second argument later (calendar months). */
static fic__val shift_months(const fic__ctx *ctx, const cJSON *args, int months_per)
{
	fic__val a = eval_arg(ctx, args, 0), b = eval_arg(ctx, args, 1);
	if (a.t != FIC_V_NUM || b.t != FIC_V_NUM || b.n != floor(b.n) || fabs(b.n) > 1200 ||
	    fabs(a.n) > 3e6)
		return vnull();
	return vnum((double)fic__days_add_months((int64_t)a.n, (int64_t)b.n * months_per));
}

static fic__val op_add_years(const fic__ctx *ctx, const cJSON *args, int n)
{
	(void)n;
	return shift_months(ctx, args, 12);
}

static fic__val op_add_months(const fic__ctx *ctx, const cJSON *args, int n)
{
	(void)n;
	return shift_months(ctx, args, 1);
}

/* The numbers of an array argument (a counts answer), at most 64; false if
 * it is not such an array. */
static bool numbers(fic__val a, double vals[64], int *m)
{
	*m = 0;
	if (a.t != FIC_V_ARR)
		return false;
	const cJSON *c;
	cJSON_ArrayForEach(c, a.arr) {
		if (!cJSON_IsNumber(c) || *m == 64)
			return false;
		vals[(*m)++] = c->valuedouble;
	}
	return true;
}

static fic__val op_count(const fic__ctx *ctx, const cJSON *args, int n)
{
	(void)n;
	fic__val a = eval_arg(ctx, args, 0);
	return a.t == FIC_V_ARR ? vnum(cJSON_GetArraySize(a.arr)) : vnull();
}

static fic__val op_max(const fic__ctx *ctx, const cJSON *args, int n)
{
	(void)n;
	double vals[64];
	int m;
	if (!numbers(eval_arg(ctx, args, 0), vals, &m) || m == 0)
		return vnull();
	double mx = vals[0];
	for (int i = 1; i < m; i++)
		mx = vals[i] > mx ? vals[i] : mx;
	return vnum(mx);
}

/* The largest sum of `w` consecutive values (w = all of them: the sum). */
static double best_window(const double *vals, int m, int w)
{
	double best = 0;
	for (int s = 0; s + w <= m; s++) {
		double sum = 0;
		for (int i = s; i < s + w; i++)
			sum += vals[i];
		best = s == 0 || sum > best ? sum : best;
	}
	return best;
}

/* sum(a) is window_sum(a, all of it); window_sum(a, w): the largest sum of w days. */
static fic__val op_window_sum(const fic__ctx *ctx, const cJSON *args, int n)
{
	double vals[64];
	int m;
	if (!numbers(eval_arg(ctx, args, 0), vals, &m))
		return vnull();
	if (n < 2)
		return vnum(best_window(vals, m, m));
	fic__val b = eval_arg(ctx, args, 1);
	if (b.t != FIC_V_NUM || b.n < 1)
		return vnull();
	return vnum(best_window(vals, m, b.n < m ? (int)b.n : m));
}

static fic__val op_sum(const fic__ctx *ctx, const cJSON *args, int n)
{
	(void)n;
	return op_window_sum(ctx, args, 1);
}

/* ---- answers ---- */

static bool plain_number(const char *s)
{
	if (*s == '+' || *s == '-')
		s++;
	bool digit = false, dot = false;
	for (; *s; s++) {
		if (*s >= '0' && *s <= '9')
			digit = true;
		else if (*s == '.' && !dot)
			dot = true;
		else
			return false;
	}
	return digit;
}

static bool is_choice(const fic__item *it, const char *id)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, it->choices) {
		if (strcmp(str_field(c, "id"), id) == 0)
			return true;
	}
	return false;
}

/* Split "a, b,c" into trimmed tokens; calls fn for each; stops on error. An
 * empty token ("a,,b", ",a", "a,") is an error: a day or a choice left out. */
static int split_list(const char *text, int (*fn)(const char *tok, void *arg), void *arg)
{
	char buf[1024];
	size_t len = strlen(text);
	if (len >= sizeof buf)
		return fic__err(FIC_ETOOBIG, "list answer is longer than %zu bytes", sizeof buf - 1);
	memcpy(buf, text, len + 1);
	if (len == 0)
		return FIC_OK;
	char *tok = buf;
	for (;;) {
		char *comma = strchr(tok, ',');
		if (comma)
			*comma = '\0';
		while (*tok == ' ')
			tok++;
		char *end = tok + strlen(tok);
		while (end > tok && end[-1] == ' ')
			*--end = '\0';
		if (*tok == '\0')
			return fic__err(FIC_EINVAL, "the list has an empty entry (two commas, or a comma "
			                            "at an end)");
		int rc = fn(tok, arg);
		if (rc)
			return rc;
		if (comma == NULL)
			return FIC_OK;
		tok = comma + 1;
	}
}

typedef struct list_arg {
	const fic__item *it;
	cJSON *arr;
} list_arg;

static int add_choice(const char *tok, void *p)
{
	list_arg *la = p;
	if (!is_choice(la->it, tok))
		return fic__err(FIC_EINVAL, "item %s: '%.40s' is not one of its choices", la->it->id, tok);
	const cJSON *c;
	cJSON_ArrayForEach(c, la->arr) {
		if (strcmp(c->valuestring, tok) == 0)
			return fic__err(FIC_EINVAL, "item %s: choice '%s' given twice", la->it->id, tok);
	}
	cJSON *s = cJSON_CreateString(tok);
	if (s == NULL || !cJSON_AddItemToArray(la->arr, s)) {
		cJSON_Delete(s);
		return fic__err(FIC_ENOMEM, "out of memory");
	}
	return FIC_OK;
}

static int add_count(const char *tok, void *p)
{
	list_arg *la = p;
	char *end;
	errno = 0;
	long v = strtol(tok, &end, 10);
	if (!*tok || *end || errno || v < 0 || v > 100000 || tok[0] == '+' || tok[0] == '-')
		return fic__err(FIC_EINVAL, "item %s: '%.20s' is not a whole number 0..100000",
		                la->it->id, tok);
	if (cJSON_GetArraySize(la->arr) >= la->it->max_count)
		return fic__err(FIC_EINVAL, "item %s: at most %d days", la->it->id, la->it->max_count);
	cJSON *n = cJSON_CreateNumber((double)v);
	if (n == NULL || !cJSON_AddItemToArray(la->arr, n)) {
		cJSON_Delete(n);
		return fic__err(FIC_ENOMEM, "out of memory");
	}
	return FIC_OK;
}

int fic__answer_parse(cJSON **out, const fic__item *it, const char *text, int64_t day)
{
	*out = NULL;
	int rc = fic__check_text(text, "answer", 4000, it->type != FIC_A_MULTI, NULL);
	if (rc)
		return rc;
	if (text == NULL)
		text = "";
	cJSON *v = NULL;
	switch (it->type) {
	case FIC_A_YES_NO:
		if (strcmp(text, "yes") != 0 && strcmp(text, "no") != 0 &&
		    !(it->na_allowed && strcmp(text, "na") == 0))
			return fic__err(FIC_EINVAL, "item %s takes yes or no%s, not '%.40s'", it->id,
			                it->na_allowed ? " (or na)" : "", text);
		v = cJSON_CreateString(text);
		break;
	case FIC_A_NUMBER:
	case FIC_A_COUNT: {
		bool count = it->type == FIC_A_COUNT;
		if (count ? (text[strspn(text, "0123456789")] != '\0' || strlen(text) > 9)
		          : (!plain_number(text) || strlen(text) > 30))
			return fic__err(FIC_EINVAL, "item %s needs a %s, not '%.40s'", it->id,
			                count ? "whole number" : "number", text);
		double x = strtod(text, NULL);
		double lo = it->has_range ? it->lo : 0, hi = it->has_range ? it->hi : 1000000;
		if (!isfinite(x) || x < lo || x > hi)
			return fic__err(FIC_EINVAL, "item %s: %s is outside the possible range %g..%g%s%s",
			                it->id, text, lo, hi,
			                cJSON_GetObjectItemCaseSensitive(it->node, "unit") ? " " : "",
			                cJSON_GetObjectItemCaseSensitive(it->node, "unit")
				                ? cJSON_GetObjectItemCaseSensitive(it->node, "unit")->valuestring
				                : "");
		v = cJSON_CreateNumber(x);
		break;
	}
	case FIC_A_DATE: {
		int64_t d;
		if ((rc = fic__parse_date(text, it->id, &d)))
			return rc;
		if (it->not_after_inspection && d > day) {
			char when[11];
			fic__days_format(day, when);
			return fic__err(FIC_EINVAL, "item %s: %s is after the inspection date %s", it->id,
			                text, when);
		}
		v = cJSON_CreateString(text);
		break;
	}
	case FIC_A_CHOICE:
		if (!is_choice(it, text))
			return fic__err(FIC_EINVAL, "item %s: '%.40s' is not one of its choices", it->id, text);
		v = cJSON_CreateString(text);
		break;
	case FIC_A_TEXT:
		if (strlen(text) > it->max_length)
			return fic__err(FIC_ETOOBIG, "item %s: text is longer than %zu bytes", it->id,
			                it->max_length);
		v = cJSON_CreateString(text);
		break;
	case FIC_A_MULTI:
	case FIC_A_COUNTS: {
		list_arg la = { it, cJSON_CreateArray() };
		if (la.arr == NULL)
			return fic__err(FIC_ENOMEM, "out of memory");
		rc = split_list(text, it->type == FIC_A_MULTI ? add_choice : add_count, &la);
		if (rc == FIC_OK && it->type == FIC_A_COUNTS && cJSON_GetArraySize(la.arr) == 0)
			rc = fic__err(FIC_EINVAL, "item %s needs at least one day's count", it->id);
		if (rc) {
			cJSON_Delete(la.arr);
			return rc;
		}
		v = la.arr;
		break;
	}
	}
	if (v == NULL)
		return fic__err(FIC_ENOMEM, "out of memory");
	*out = v;
	return FIC_OK;
}
