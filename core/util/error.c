/*
 * core/error.c — the thread-local last error and the names of status codes.
 *
 * Thread-local (as libgit2's git_error_last) rather than per handle, so that
 * functions without a handle (fic_store_open, validators) report the same way
 * and a message can never be overwritten by another thread.
 */
#include "util.h"

#include <stdio.h>

#define MSG_MAX 512

static _Thread_local int last_code;
static _Thread_local char last_msg[MSG_MAX];
static _Thread_local fic_error last;

int fic__err(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(last_msg, sizeof last_msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		snprintf(last_msg, sizeof last_msg, "%s", fic_result_str(code));
	/* common.h promises one line of UTF-8, whatever the arguments held. */
	fic__text_one_line(last_msg, n >= (int)sizeof last_msg);
	last_code = code;
	return code;
}

void fic__err_clear(void)
{
	last_code = FIC_OK;
	last_msg[0] = '\0';
}

const fic_error *fic_error_last(void)
{
	last.code = last_code;
	last.message = last_msg[0] ? last_msg : (last_code == FIC_OK ? "no error" : fic_result_str(last_code));
	return &last;
}

void fic_error_clear(void)
{
	fic__err_clear();
}

int fic_error_set(int code, const char *message)
{
	return fic__err(code, "%s", message ? message : fic_result_str(code));
}

const char *fic_result_str(int code)
{
	switch (code) {
	case FIC_OK: return "FIC_OK: success";
	case FIC_ERROR: return "FIC_ERROR: unexpected failure";
	case FIC_EINVAL: return "FIC_EINVAL: invalid argument";
	case FIC_ENOMEM: return "FIC_ENOMEM: out of memory";
	case FIC_ENOTFOUND: return "FIC_ENOTFOUND: not found";
	case FIC_EEXISTS: return "FIC_EEXISTS: already exists";
	case FIC_EIO: return "FIC_EIO: input/output error";
	case FIC_ECORRUPT: return "FIC_ECORRUPT: store is damaged";
	case FIC_ENOTSTORE: return "FIC_ENOTSTORE: not a fieldinspect store";
	case FIC_ENEWER: return "FIC_ENEWER: store written by a newer version";
	case FIC_EREADONLY: return "FIC_EREADONLY: store is read-only";
	case FIC_EBUSY: return "FIC_EBUSY: store is locked by another connection";
	case FIC_ESCHEMA: return "FIC_ESCHEMA: schema migration failed";
	case FIC_ESTATE: return "FIC_ESTATE: not allowed in the record's state";
	case FIC_ETOOBIG: return "FIC_ETOOBIG: input too large";
	case FIC_EINCOMPLETE: return "FIC_EINCOMPLETE: required answers or photos missing";
	case FIC_EPROTO: return "FIC_EPROTO: the server's response broke the protocol";
	case FIC_ENETWORK: return "FIC_ENETWORK: network failure (transient)";
	case FIC_ETLS: return "FIC_ETLS: the server's certificate did not verify";
	case FIC_ECANCELED: return "FIC_ECANCELED: cancelled";
	case FIC_EAUTH: return "FIC_EAUTH: the server refused the device";
	default: return "unknown status";
	}
}

const char *fic_version(void)
{
	return FIC_VERSION_STRING;
}
