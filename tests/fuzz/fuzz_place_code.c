/*
 * tests/fuzz/fuzz_place_code.c — a scanned place code (场所码, a licence's
 * code, a door token) to fic_place_code_parse, the payload a camera hands
 * the app from any QR code at all (visit.h).
 *
 * Properties, as visit.h promises them: the answer is FIC_OK, FIC_EINVAL or
 * FIC_ETOOBIG (nothing else, and nothing out on a refusal); a payload over
 * FIC_PLACE_CODE_PAYLOAD_MAX is FIC_ETOOBIG, one that is not UTF-8 or holds
 * a NUL (fic__utf8_valid, itself checked against RFC 3629 by fuzz_text) or
 * is nothing but ASCII whitespace is FIC_EINVAL; a code read has a form,
 * a non-empty key, and every fact NULL or UTF-8 without NUL; the same
 * payload read again, or with whitespace a scanner puts around it (line
 * breaks, U+3000, U+00A0), gives the same key — the key the registry keeps
 * codes by.
 * Seeds: URLs, "key：value" texts and tokens, spaced and broken
 * (corpus/fuzz_place_code, also replayed by tests/core/test_place_code.c).
 */
#include "fuzz_util.h"
#include "internal.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static bool clean(const char *s)
{
	return s == NULL || fic__utf8_valid(s, strlen(s));
}

static bool only_ascii_space(const uint8_t *data, size_t size)
{
	for (size_t i = 0; i < size; i++)
		if (!strchr(" \t\r\n\v\f", data[i]) || data[i] == 0)
			return false;
	return true;
}

/* The same payload with a scanner's whitespace around it: the same key. */
static void spaced_alike(const uint8_t *data, size_t size, const char *key)
{
	static const char before[] = " \r\n\xe3\x80\x80", after[] = "\xc2\xa0\t";
	size_t len = sizeof before - 1 + size + sizeof after - 1;
	if (len > FIC_PLACE_CODE_PAYLOAD_MAX)
		return;
	char *spaced = malloc(len);
	FZ_CHECK(spaced != NULL);
	memcpy(spaced, before, sizeof before - 1);
	memcpy(spaced + sizeof before - 1, data, size);
	memcpy(spaced + sizeof before - 1 + size, after, sizeof after - 1);
	fic_place_code *pc = NULL;
	FZ_CHECK(fic_place_code_parse(&pc, spaced, len) == FIC_OK);
	FZ_CHECK(strcmp(pc->key, key) == 0);
	fic_place_code_free(pc);
	free(spaced);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fic_place_code *pc = NULL;
	int rc = fic_place_code_parse(&pc, (const char *)data, size);
	FZ_CHECK(rc == FIC_OK || rc == FIC_EINVAL || rc == FIC_ETOOBIG);
	FZ_CHECK((rc == FIC_OK) == (pc != NULL));
	if (size > FIC_PLACE_CODE_PAYLOAD_MAX) {
		FZ_CHECK(rc == FIC_ETOOBIG);
		return 0;
	}
	if (!fic__utf8_valid((const char *)data, size) || only_ascii_space(data, size))
		FZ_CHECK(rc == FIC_EINVAL);
	if (rc != FIC_OK)
		return 0;
	FZ_CHECK(pc->form >= FIC_PLACE_CODE_URL && pc->form <= FIC_PLACE_CODE_TOKEN);
	FZ_CHECK(pc->key != NULL && pc->key[0] != '\0' && clean(pc->key));
	const char *facts[] = { pc->code,  pc->name,  pc->address,     pc->legal_rep,
		                pc->manager, pc->scope, pc->credit_code, pc->licence_no };
	for (size_t i = 0; i < sizeof facts / sizeof facts[0]; i++)
		FZ_CHECK(clean(facts[i]));
	fic_place_code *again = NULL;
	FZ_CHECK(fic_place_code_parse(&again, (const char *)data, size) == FIC_OK);
	FZ_CHECK(again->form == pc->form && strcmp(again->key, pc->key) == 0);
	fic_place_code_free(again);
	spaced_alike(data, size, pc->key);
	fic_place_code_free(pc);
	return 0;
}
