/*
 * core/util/alloc.c — the one place the library allocates memory.
 *
 * All allocations go through the fic_allocator table so that an app can
 * account for the core's memory and the tests can fail the Nth allocation
 * (see tests/core/test_alloc_failures.c). cJSON, which the core uses for
 * JSON, is pointed at the same functions so its allocations are covered too.
 */
#include "util.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static void *default_realloc(void *ptr, size_t size, void *payload)
{
	(void)payload;
	return realloc(ptr, size);
}

static void default_free(void *ptr, void *payload)
{
	(void)payload;
	free(ptr);
}

static const fic_allocator default_allocator = {
	FIC_ALLOCATOR_VERSION, default_realloc, default_free, NULL
};

/* Set once before use (see fic_allocator_set); read-only afterwards. */
static fic_allocator current = {
	FIC_ALLOCATOR_VERSION, default_realloc, default_free, NULL
};

/* Allocation failures on this thread, so a NULL from a parser can be told
 * apart: did it fail for want of memory or because of its input? */
static _Thread_local unsigned long failures;

unsigned long fic__alloc_failures(void)
{
	return failures;
}

void *fic__malloc(size_t size)
{
	return fic__realloc(NULL, size);
}

void *fic__calloc(size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		return NULL;
	size_t bytes = n * size;
	void *p = fic__malloc(bytes);
	if (p && bytes > 0)
		memset(p, 0, bytes);
	return p;
}

void *fic__realloc(void *ptr, size_t size)
{
	if (size == 0)
		size = 1;
	void *p = current.realloc_fn(ptr, size, current.payload);
	if (p == NULL)
		failures++;
	return p;
}

void fic__free(void *ptr)
{
	if (ptr)
		current.free_fn(ptr, current.payload);
}

char *fic__strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = fic__malloc(n);
	if (p)
		memcpy(p, s, n);
	return p;
}

static void *cjson_malloc(size_t size)
{
	return fic__malloc(size);
}

int fic_allocator_set(const fic_allocator *allocator)
{
	fic__err_clear();
	if (allocator == NULL)
		allocator = &default_allocator;
	if (allocator->version != FIC_ALLOCATOR_VERSION)
		return fic__err(FIC_EINVAL, "allocator: unknown version %u", allocator->version);
	if (allocator->realloc_fn == NULL || allocator->free_fn == NULL)
		return fic__err(FIC_EINVAL, "allocator: realloc_fn and free_fn are required");
	current = *allocator;
	cJSON_Hooks hooks = { cjson_malloc, fic__free };
	cJSON_InitHooks(&hooks);
	return FIC_OK;
}

void *fic_malloc(size_t size)
{
	return fic__malloc(size);
}

void *fic_realloc(void *ptr, size_t size)
{
	return fic__realloc(ptr, size);
}

void fic_free(void *ptr)
{
	fic__free(ptr);
}

void *fic__grow(void *items_ptr, size_t *count, size_t *cap, size_t elem)
{
	char *items;
	memcpy(&items, items_ptr, sizeof items); /* any object pointer, through its address */
	if (*count == *cap) {
		size_t ncap = *cap ? *cap * 2 : 8;
		if (ncap > SIZE_MAX / elem)
			return NULL;
		char *n = fic__realloc(items, ncap * elem);
		if (n == NULL)
			return NULL;
		items = n;
		memcpy(items_ptr, &items, sizeof items);
		*cap = ncap;
	}
	char *slot = items + *count * elem;
	memset(slot, 0, elem);
	(*count)++;
	return slot;
}

int fic__init_struct(void *out, const void *init, const size_t *sizes, unsigned n,
                     unsigned int version, const char *what)
{
	fic__err_clear();
	if (out == NULL || version < 1 || version > n)
		return fic__err(FIC_EINVAL, "%s: NULL or unknown version %u (this library knows 1 to %u)",
		                what, version, n);
	memcpy(out, init, sizes[version - 1]);
	memcpy(out, &version, sizeof version); /* every versioned struct starts with it */
	return FIC_OK;
}
