/*
 * sync/transport_nocurl.c — fic_transport_curl_new in a build without
 * libcurl (CMake FIC_WITH_CURL=OFF, the default for Android): the symbols
 * stay, so an app links the same either way, and the call says plainly
 * that the app must plug in its own transport (sys/transport.h).
 */
#include "sync_internal.h"

int fic_transport_curl_new(fic_transport **out, const fic_curl_options *opts)
{
	fic__err_clear();
	(void)opts;
	if (out == NULL)
		return fic__err(FIC_EINVAL, "out is NULL");
	*out = NULL;
	return fic__err(FIC_ENOTFOUND, "this build of fieldinspect has no libcurl transport "
	                               "(FIC_WITH_CURL=OFF): pass the app's own transport");
}

void fic_transport_curl_free(fic_transport *t)
{
	if (t && t->destroy)
		t->destroy(t->ctx);
}
