/*
 * tests/fuzz/fuzz_checklist_answer.c — answers as the inspector (or the
 * app) types them (fic__answer_parse), against the built-in definitions.
 * The input is text: its first line names a definition (its id), each
 * following line is one answer, "<item id>=<text>". Accepted answers go
 * into the inspection's answers, and every rule of the definition is then
 * evaluated over them. An answer that parses must be stored as its type
 * says (a string, a number, an array).
 * Seeds: complete answer sets of several forms and checklists.
 */
#include "fuzz_checklist_common.h"

#include <stdlib.h>
#include <string.h>

static fic__def **defs;
static size_t ndefs;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	defs = calloc(fic__builtin_checklists_count, sizeof *defs);
	for (size_t i = 0; i < fic__builtin_checklists_count; i++)
		if (fic__def_parse(&defs[ndefs], fic__builtin_checklists[i].json,
		                   fic__builtin_checklists[i].len) == FIC_OK)
			ndefs++;
	FZ_CHECK(ndefs == fic__builtin_checklists_count);
	return 0;
}

static void check_shape(const fic__item *it, const cJSON *v)
{
	switch (it->type) {
	case FIC_A_NUMBER:
	case FIC_A_COUNT: FZ_CHECK(cJSON_IsNumber(v)); break;
	case FIC_A_MULTI:
	case FIC_A_COUNTS: FZ_CHECK(cJSON_IsArray(v)); break;
	default: FZ_CHECK(cJSON_IsString(v)); break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fz_cstr(data, size);
	char *next = strchr(text, '\n');
	if (next)
		*next++ = '\0';
	const fic__def *def = NULL;
	for (size_t i = 0; i < ndefs && def == NULL; i++)
		if (strcmp(defs[i]->id, text) == 0)
			def = defs[i];
	if (def == NULL) {
		free(text);
		return 0;
	}
	cJSON *answers = cJSON_CreateObject();
	for (char *line = next; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		char *eq = strchr(line, '=');
		if (eq == NULL)
			continue;
		*eq = '\0';
		const fic__item *it = fic__def_item(def, line);
		cJSON *v;
		if (it == NULL || fic__answer_parse(&v, it, eq + 1, 20513) != FIC_OK)
			continue;
		check_shape(it, v);
		cJSON_DeleteItemFromObjectCaseSensitive(answers, it->id);
		cJSON_AddItemToObject(answers, it->id, v);
	}
	fz_eval_all(def, answers);
	cJSON_Delete(answers);
	free(text);
	return 0;
}
