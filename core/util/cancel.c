/*
 * core/util/cancel.c — the cancellation flag (common.h): a C11 atomic that any
 * thread may raise while a sync pass or a transport request polls it. A
 * `volatile int *` written from another thread is a data race in C11; an
 * atomic is not, and costs the same on every target (a plain load and
 * store on arm64 and x86-64, with the ordering made explicit).
 */
#include "util.h"

#include <stdatomic.h>

struct fic_cancel {
	atomic_int raised;
};

int fic_cancel_new(fic_cancel **out)
{
	fic__err_clear();
	if (out == NULL)
		return fic__err(FIC_EINVAL, "out is NULL");
	*out = fic__malloc(sizeof **out);
	if (*out == NULL)
		return fic__err(FIC_ENOMEM, "out of memory making a cancellation flag");
	atomic_init(&(*out)->raised, 0);
	return FIC_OK;
}

void fic_cancel_request(fic_cancel *c)
{
	if (c)
		atomic_store_explicit(&c->raised, 1, memory_order_release);
}

void fic_cancel_reset(fic_cancel *c)
{
	if (c)
		atomic_store_explicit(&c->raised, 0, memory_order_release);
}

int fic_cancel_requested(const fic_cancel *c)
{
	return fic__cancelled(c) ? 1 : 0;
}

bool fic__cancelled(const fic_cancel *c)
{
	/* atomic_load takes a pointer to non-const in C11 before DR 459. */
	return c != NULL &&
	       atomic_load_explicit(&((fic_cancel *)c)->raised, memory_order_acquire) != 0;
}

void fic_cancel_free(fic_cancel *c)
{
	fic__free(c);
}
