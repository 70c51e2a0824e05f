/*
 * tests/fuzz/fuzz_render.c — photo ingestion (fic__render on bytes, from
 * memory): the JPEG decoder set up as the library sets it up (its error
 * manager, the decoding limits, DCT scaling), EXIF read with libexif, both
 * resamplers and the encoder, with small renditions (at most 64 and 24 px)
 * so each run is quick. What decodes must come out within the edges asked
 * for, at least a pixel each way; what does not must say why.
 * Seeds: small JPEGs made with cjpeg (baseline, progressive, greyscale,
 * 4:4:4, arithmetic-coded, restart markers, CMYK) and with EXIF orientations.
 */
#include "fuzz_util.h"
#include "internal.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fic__jpeg_out up, th;
	memset(&up, 0, sizeof up);
	memset(&th, 0, sizeof th);
	th.no_sha256 = true;
	fic__exif exif;
	int w = 0, h = 0;
	int rc = fic__render(NULL, data, size, 64, 75, &up, 24, 70, &th, &exif, &w, &h);
	if (rc == FIC_OK) {
		FZ_CHECK(up.buf != NULL && up.len > 0 && th.buf != NULL && th.len > 0);
		FZ_CHECK(up.width >= 1 && up.width <= 64 && up.height >= 1 && up.height <= 64);
		FZ_CHECK(th.width >= 1 && th.width <= 24 && th.height >= 1 && th.height <= 24);
		FZ_CHECK(w >= 1 && h >= 1 && strlen(up.sha256) == 64);
		FZ_CHECK(exif.orientation >= 1 && exif.orientation <= 8);
	} else {
		FZ_CHECK(rc == FIC_EINVAL || rc == FIC_ETOOBIG || rc == FIC_ENOMEM);
		FZ_CHECK(fic_error_last()->message[0] != '\0');
	}
	fic__free(up.buf);
	fic__free(th.buf);
	return 0;
}
