/*
 * tests/fuzz/fuzz_gunzip.c — the gzip path (fic__gunzip with its bound):
 * feed pages and request bodies arrive gzip'd, and a small body must never
 * inflate past the limit the caller gives (a decompression bomb) nor be
 * read out of bounds. Each input is inflated with a 64 KiB bound (what
 * comes out must fit it), and also compressed with fic__gzip and inflated
 * back, which must give the input again.
 * Seeds: gzip'd feed pages and records bodies, truncated and concatenated
 * streams, a bomb.
 */
#include "fuzz_util.h"
#include "sync_internal.h"

#include <string.h>

#define BOUND (64 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *out = NULL, *z = NULL, *back = NULL;
	size_t out_len = 0, zlen = 0, back_len = 0;
	int rc = fic__gunzip(data, size, BOUND, &out, &out_len);
	if (rc == FIC_OK)
		FZ_CHECK(out_len <= BOUND);
	else
		FZ_CHECK(out == NULL && out_len == 0 &&
		         (rc == FIC_EINVAL || rc == FIC_ETOOBIG || rc == FIC_ENOMEM));
	fic__free(out);

	if (fic__gzip(data, size, &z, &zlen) == FIC_OK) {
		rc = fic__gunzip(z, zlen, size, &back, &back_len);
		FZ_CHECK(rc == FIC_OK && back_len == size && (size == 0 || memcmp(back, data, size) == 0));
		if (size > 0) { /* one byte short of room: refused, never cut */
			fic__free(back);
			back = NULL;
			FZ_CHECK(fic__gunzip(z, zlen, size - 1, &back, &back_len) == FIC_ETOOBIG);
		}
	}
	fic__free(back);
	fic__free(z);
	return 0;
}
