/*
 * tests/fuzz/fuzz_chain_verify.c — the chain verifier (fic_chain_verify),
 * which the county server runs on every device's submissions: a JSON array
 * of {seq, hash, canonical}. The input is that text, read once as a chain
 * that starts a device (first entry 1, previous hash 64 zeros) and once as
 * one that continues after entry 41. The answer must be FIC_OK, a break
 * (FIC_ECORRUPT) or malformed input (FIC_EINVAL), with a report that says
 * the same.
 * Seeds: chains as devices submit them (leads and inspections), with an
 * entry altered, dropped and reordered.
 */
#include "fuzz_util.h"
#include "internal.h"

#include <cjson/cJSON.h>
#include <stdlib.h>

static void verify(const char *text, const char *prev, int64_t first)
{
	char *report = NULL;
	int rc = fic_chain_verify(&report, text, prev, first);
	FZ_CHECK(rc == FIC_OK || rc == FIC_ECORRUPT || rc == FIC_EINVAL || rc == FIC_ENOMEM ||
	         rc == FIC_ETOOBIG);
	if (rc == FIC_OK || rc == FIC_ECORRUPT) {
		FZ_CHECK(report != NULL);
		cJSON *r = cJSON_Parse(report);
		const cJSON *ok = cJSON_GetObjectItemCaseSensitive(r, "ok");
		FZ_CHECK(cJSON_IsBool(ok) && cJSON_IsTrue(ok) == (rc == FIC_OK));
		cJSON_Delete(r);
	}
	fic_free(report);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fz_cstr(data, size);
	verify(text, NULL, 1);
	verify(text, "5d41402abc4b2a76b9719d911017c592ae0f5e8a1b2c3d4e5f60718293a4b5c6", 42);
	free(text);
	return 0;
}
