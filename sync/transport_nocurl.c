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

/* Without libcurl the built-in transport's lanes do not exist; an app's
 * transport that declares FIC_TRANSPORT_CONCURRENT gets lanes on the
 * engine's threads (lanes.c). */
bool fic__curl_lanes(const fic_transport *t)
{
	(void)t;
	return false;
}

int fic__curl_lanes_start(fic_transport *t, int n, const fic_http_request *req)
{
	(void)t;
	(void)n;
	(void)req;
	return fic__err(FIC_ESTATE, "no libcurl lanes in this build");
}

int fic__curl_lanes_wait(fic_transport *t, int timeout_ms, int *n, int *rc,
                         fic_http_response *resp)
{
	(void)t;
	(void)timeout_ms;
	(void)n;
	(void)rc;
	(void)resp;
	return 0;
}

bool fic__curl_lanes_sent(fic_transport *t, int n)
{
	(void)t;
	(void)n;
	return false;
}

void fic__curl_lanes_cancel(fic_transport *t, int n)
{
	(void)t;
	(void)n;
}
