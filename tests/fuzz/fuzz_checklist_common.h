/*
 * tests/fuzz/fuzz_checklist_common.h — for the two checklist targets: run
 * every rule of a loaded definition (items' applies and abnormal, the
 * lead's urgent_when and time_sensitive_when) against a set of answers and
 * a site's facts. Loading promises that evaluation needs no error path, so
 * whatever a definition that loaded says, evaluating it must not crash,
 * recurse without bound or read out of bounds.
 */
#ifndef FIC_FUZZ_CHECKLIST_COMMON_H
#define FIC_FUZZ_CHECKLIST_COMMON_H

#include "fuzz_util.h"
#include "internal.h"

/* Facts as fic__site_facts gives them, one of each kind the rules read. */
static const char fz_site_facts[] =
	"{\"id\":\"site-1\",\"kind\":\"school\",\"supply\":\"rural\",\"beds\":20,"
	"\"boarding\":true,\"enrolment\":800,\"hazard_level\":\"serious\","
	"\"institution_type\":\"clinic\",\"joint_venture\":false,"
	"\"licence_valid_to\":\"2026-12-31\",\"licence_valid_from\":\"2020-01-01\","
	"\"school_level\":\"primary\",\"validation_deferred\":false,\"name\":\"x\"}";

static inline void fz_eval_all(const fic__def *def, const cJSON *answers)
{
	cJSON *site = cJSON_Parse(fz_site_facts);
	for (int with_site = 0; with_site < 2; with_site++) {
		fic__ctx ctx = { def, answers, with_site ? site : NULL, 20513 /* 2026-03-01 */, NULL };
		for (size_t i = 0; i < def->nitems; i++) {
			ctx.self = &def->items[i];
			if (def->items[i].applies)
				(void)fic__truth(fic__eval(&ctx, def->items[i].applies));
			if (def->items[i].abnormal)
				(void)fic__truth(fic__eval(&ctx, def->items[i].abnormal));
			(void)fic__answer_val(&ctx, &def->items[i]);
		}
		ctx.self = NULL;
		if (def->lead) {
			const cJSON *uw = cJSON_GetObjectItemCaseSensitive(def->lead, "urgent_when");
			const cJSON *tw = cJSON_GetObjectItemCaseSensitive(def->lead, "time_sensitive_when");
			if (uw)
				(void)fic__truth(fic__eval(&ctx, uw));
			if (tw)
				(void)fic__truth(fic__eval(&ctx, tw));
		}
	}
	cJSON_Delete(site);
}

#endif
