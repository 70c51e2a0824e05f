/*
 * core/util/abi.c — reading and writing the public structs that carry a version
 * (docs/api.md, "ABI"): an app built against an older header passes a
 * smaller struct, one built against a newer header a larger one; the
 * library touches only the bytes both know.
 */
#include "util.h"

#include <string.h>

static size_t covered(unsigned v, const size_t *sizes, unsigned n)
{
	return sizes[(v < n ? v : n) - 1];
}

int fic__struct_in(void *dst, const void *src, const size_t *sizes, unsigned n, const char *what)
{
	unsigned v = FIC__VERSION_OF(src);
	if (v < 1 || v > n)
		return fic__err(FIC_EINVAL,
		                "%s: struct version %u is not one this library reads (1 to %u): "
		                "initialise it with its _INIT macro; a newer version needs a newer "
		                "library",
		                what, v, n);
	memcpy((char *)dst + sizeof(unsigned), (const char *)src + sizeof(unsigned),
	       covered(v, sizes, n) - sizeof(unsigned));
	*(unsigned *)dst = n;
	return FIC_OK;
}

int fic__struct_out(void *dst, const void *src, const size_t *sizes, unsigned n, const char *what)
{
	unsigned v = FIC__VERSION_OF(dst);
	if (v < 1)
		return fic__err(FIC_EINVAL, "%s: set version (initialise it with its _INIT macro)", what);
	size_t len = covered(v, sizes, n);
	memcpy((char *)dst + sizeof(unsigned), (const char *)src + sizeof(unsigned),
	       len - sizeof(unsigned));
	*(unsigned *)dst = v < n ? v : n;
	return FIC_OK;
}

int fic__table_in(void *dst, const void *src, const size_t *sizes, unsigned n, const char *what)
{
	unsigned v = FIC__VERSION_OF(src);
	if (v < 1)
		return fic__err(FIC_EINVAL, "%s: table version 0 (set its version)", what);
	/* A function table of a later version is read as far as this library
	 * knows it (its newer members are not used): docs/api.md, "ABI". */
	memset(dst, 0, sizes[n - 1]);
	memcpy(dst, src, covered(v, sizes, n));
	*(unsigned *)dst = v < n ? v : n;
	return FIC_OK;
}
