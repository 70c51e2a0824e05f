/*
 * core/model/open.c — the public fic_store_open: the store layer opens the
 * file (checks, WAL, migrations), then the model does what must happen once
 * per open before anyone writes: sweeping photo files a crash left without
 * their row, and (once) keying the place codes of a store older than
 * schema 4. Kept here so the store never calls up into the model.
 */
#include "model.h"

int fic_store_open(fic_store **out, const char *path, const fic_store_options *opts)
{
	int rc = fic__store_open_with(out, path, opts, fic__migrations, fic__migrations_count);
	if (rc == FIC_OK && !(*out)->read_only) /* a read-only store changes nothing */
		fic__photo_sweep(*out);
	if (rc == FIC_OK && (rc = fic__place_codes_backfill(*out)) != FIC_OK) {
		fic_store_close(*out);
		*out = NULL;
	}
	return rc;
}
