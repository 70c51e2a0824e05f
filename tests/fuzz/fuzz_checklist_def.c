/*
 * tests/fuzz/fuzz_checklist_def.c — checklist definitions (fic__def_parse):
 * what a county installs or the checklists feed sends down. A definition
 * that loads has every rule evaluated with no answers, and again with an
 * ordinary answer for each item (parsed through fic__answer_parse), so the
 * evaluator meets whatever rule trees validation lets through.
 * Seeds: the built-in checklists (schema/checklists/).
 */
#include "fuzz_checklist_common.h"

#include <stdio.h>
#include <string.h>

/* An answer each type accepts in the usual case (range and choices permitting). */
static void sample_answer(const fic__item *it, char *buf, size_t size)
{
	const cJSON *c0 = it->choices ? it->choices->child : NULL;
	const cJSON *cid = c0 ? cJSON_GetObjectItemCaseSensitive(c0, "id") : NULL;
	switch (it->type) {
	case FIC_A_YES_NO: snprintf(buf, size, "no"); break;
	case FIC_A_NUMBER: snprintf(buf, size, "%g", it->has_range ? it->lo : 1.5); break;
	case FIC_A_COUNT:
		snprintf(buf, size, "%d", it->has_range && it->lo > 0 && it->lo < 1e6 ? (int)it->lo : 3);
		break;
	case FIC_A_DATE: snprintf(buf, size, "2026-02-28"); break;
	case FIC_A_CHOICE:
	case FIC_A_MULTI:
		snprintf(buf, size, "%s", cJSON_IsString(cid) ? cid->valuestring : "a");
		break;
	case FIC_A_TEXT: snprintf(buf, size, "文字"); break;
	case FIC_A_COUNTS: snprintf(buf, size, "1, 4, 0, 9"); break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fic__def *def;
	if (fic__def_parse(&def, (const char *)data, size) != FIC_OK)
		return 0;
	FZ_CHECK(def->nitems >= 1 && def->id != NULL && def->version >= 1);
	fz_eval_all(def, NULL);
	cJSON *answers = cJSON_CreateObject();
	for (size_t i = 0; i < def->nitems; i++) {
		char text[256];
		cJSON *v;
		sample_answer(&def->items[i], text, sizeof text);
		if (fic__answer_parse(&v, &def->items[i], text, 20513) == FIC_OK)
			cJSON_AddItemToObject(answers, def->items[i].id, v);
	}
	fz_eval_all(def, answers);
	cJSON_Delete(answers);
	fic__def_free(def);
	return 0;
}
