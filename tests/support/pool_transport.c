/*
 * tests/support/pool_transport.c — see pool_transport.h.
 */
#include "pool_transport.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_THREADS 32

struct tu_pool {
	fic_transport table; /* first: the table's ctx is the pool */
	char ca_file[4200];
	bool has_ca;
	pthread_mutex_t mu;
	fic_transport *member[TU_POOL_MAX];
	bool busy[TU_POOL_MAX];
	tu_pool_hook hook;
	void *hook_arg;
	tu_pool_stats st;
	pthread_t seen[MAX_THREADS];
	tu_pool_call *log;
	size_t nlog;
};

static fic_transport *make_member(tu_pool *p)
{
	fic_curl_options co = FIC_CURL_OPTIONS_INIT;
	co.ca_file = p->has_ca ? p->ca_file : NULL;
	fic_transport *t = NULL;
	return fic_transport_curl_new(&t, &co) == FIC_OK ? t : NULL;
}

/* Under the lock: a free member (made if need be), or -1. */
static int borrow(tu_pool *p)
{
	for (int i = 0; i < TU_POOL_MAX; i++) {
		if (p->busy[i])
			continue;
		if (p->member[i] == NULL && (p->member[i] = make_member(p)) == NULL)
			return -1;
		p->busy[i] = true;
		return i;
	}
	return -1;
}

/* Under the lock: count the call and its thread. */
static int count_call(tu_pool *p, const fic_http_request *q)
{
	p->st.calls++;
	if (++p->st.in_flight > p->st.max_in_flight)
		p->st.max_in_flight = p->st.in_flight;
	pthread_t me = pthread_self();
	bool known = false;
	for (int i = 0; i < p->st.threads && i < MAX_THREADS; i++)
		known |= pthread_equal(p->seen[i], me) != 0;
	if (!known && p->st.threads < MAX_THREADS)
		p->seen[p->st.threads++] = me;
	return strcmp(q->method, "PATCH") == 0 ? ++p->st.patches : 0;
}

static void log_call(tu_pool *p, const fic_http_request *q, int rc, const fic_http_response *r,
                     bool hooked)
{
	if (p->nlog >= TU_POOL_LOG)
		return;
	tu_pool_call *c = &p->log[p->nlog++];
	memset(c, 0, sizeof *c);
	snprintf(c->method, sizeof c->method, "%s", q->method);
	const char *ph = strstr(q->url, "/v1/photos/");
	if (ph)
		snprintf(c->sha256, sizeof c->sha256, "%s", ph + 11);
	c->offset = -1;
	for (size_t i = 0; i < q->header_count; i++)
		if (strcmp(q->headers[i].name, "Upload-Offset") == 0)
			c->offset = strtoll(q->headers[i].value, NULL, 10);
	c->len = q->body_len;
	c->rc = rc;
	c->status = rc == FIC_OK ? r->status : 0;
	c->thread = pthread_self();
	c->hooked = hooked;
}

static int pool_request(void *ctx, const fic_http_request *q, fic_http_response *r)
{
	tu_pool *p = ctx;
	pthread_mutex_lock(&p->mu);
	int i = borrow(p), patch = count_call(p, q);
	tu_pool_hook hook = p->hook;
	void *arg = p->hook_arg;
	pthread_mutex_unlock(&p->mu);
	if (i < 0) {
		pthread_mutex_lock(&p->mu);
		p->st.in_flight--;
		pthread_mutex_unlock(&p->mu);
		return fic_error_set(FIC_ERROR, "the test's transport pool is exhausted");
	}
	bool fresh = false, hooked = false;
	if (hook)
		hook(arg, q, patch, &fresh, &hooked);
	if (fresh) { /* a new connection for this request */
		fic_transport_curl_free(p->member[i]);
		p->member[i] = make_member(p);
	}
	fic_transport *t = p->member[i];
	int rc = t ? t->request(t->ctx, q, r) : fic_error_set(FIC_ENOMEM, "no curl transport");
	pthread_mutex_lock(&p->mu);
	p->busy[i] = false;
	p->st.in_flight--;
	log_call(p, q, rc, r, hooked);
	pthread_mutex_unlock(&p->mu);
	return rc;
}

int tu_pool_new(tu_pool **out, const fic_curl_options *co, bool concurrent)
{
	tu_pool *p = calloc(1, sizeof *p);
	*out = NULL;
	if (p == NULL || (p->log = calloc(TU_POOL_LOG, sizeof *p->log)) == NULL) {
		free(p);
		return -1;
	}
	if (co && co->ca_file) {
		snprintf(p->ca_file, sizeof p->ca_file, "%s", co->ca_file);
		p->has_ca = true;
	}
	pthread_mutex_init(&p->mu, NULL);
	p->table.version = concurrent ? FIC_TRANSPORT_VERSION : 3;
	p->table.ctx = p;
	p->table.request = pool_request;
	p->table.destroy = NULL;
	if (concurrent)
		p->table.flags = FIC_TRANSPORT_CONCURRENT;
	*out = p;
	return 0;
}

fic_transport *tu_pool_transport(tu_pool *p)
{
	return &p->table;
}

void tu_pool_set_hook(tu_pool *p, tu_pool_hook hook, void *arg)
{
	pthread_mutex_lock(&p->mu);
	p->hook = hook;
	p->hook_arg = arg;
	pthread_mutex_unlock(&p->mu);
}

void tu_pool_stats_get(tu_pool *p, tu_pool_stats *out)
{
	pthread_mutex_lock(&p->mu);
	*out = p->st;
	pthread_mutex_unlock(&p->mu);
}

size_t tu_pool_log(tu_pool *p, tu_pool_call **out)
{
	pthread_mutex_lock(&p->mu);
	size_t n = p->nlog;
	*out = malloc((n ? n : 1) * sizeof **out);
	if (*out)
		memcpy(*out, p->log, n * sizeof **out);
	pthread_mutex_unlock(&p->mu);
	return *out ? n : 0;
}

void tu_pool_reset(tu_pool *p)
{
	pthread_mutex_lock(&p->mu);
	int in_flight = p->st.in_flight;
	memset(&p->st, 0, sizeof p->st);
	p->st.in_flight = in_flight;
	p->nlog = 0;
	pthread_mutex_unlock(&p->mu);
}

void tu_pool_free(tu_pool *p)
{
	if (p == NULL)
		return;
	for (int i = 0; i < TU_POOL_MAX; i++)
		fic_transport_curl_free(p->member[i]);
	pthread_mutex_destroy(&p->mu);
	free(p->log);
	free(p);
}
