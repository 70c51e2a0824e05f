/*
 * tests/sync/test_transport.c — the built-in libcurl transport against a
 * deliberately badly behaved HTTP server on loopback (a raw socket, so it
 * can misbehave in ways a real server library would not let it): requests
 * go out as sent, the protocol's headers come back parsed, and resets,
 * truncation, stalls, redirects, oversized and non-HTTP answers each give
 * their own clear error. Also the URL policy (https anywhere, http only to
 * loopback) and cancellation.
 */
#include "testutil.h"
#include "internal.h"
#include "sync_internal.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

typedef struct server {
	int fd;
	int port;
	pthread_t thread;
	volatile int stop;
	char last_request[65536]; /* head and body of the last request */
	size_t last_len;
} server;

static void send_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n > 0) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		c += w;
		n -= (size_t)w;
	}
}

static void reply(int fd, const char *status, const char *headers, const char *body)
{
	char head[1024];
	int n = snprintf(head, sizeof head,
	                 "HTTP/1.1 %s\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n", status,
	                 strlen(body), headers);
	send_all(fd, head, (size_t)n);
	send_all(fd, body, strlen(body));
}

static void *serve(void *arg)
{
	server *s = arg;
	while (!s->stop) {
		int c = accept(s->fd, NULL, NULL);
		if (c < 0)
			continue;
		/* Read the head, then Content-Length bytes of body. */
		size_t n = 0;
		char *buf = s->last_request;
		char *end = NULL;
		while (n < sizeof s->last_request - 1) {
			ssize_t r = recv(c, buf + n, sizeof s->last_request - 1 - n, 0);
			if (r <= 0)
				break;
			n += (size_t)r;
			buf[n] = '\0';
			if ((end = strstr(buf, "\r\n\r\n")) != NULL) {
				const char *cl = strcasestr(buf, "\r\nContent-Length:");
				size_t want = cl ? (size_t)strtoul(cl + 17, NULL, 10) : 0;
				size_t have = n - (size_t)(end + 4 - buf);
				if (have >= want)
					break;
			}
		}
		s->last_len = n;
		char path[128] = "";
		sscanf(buf, "%*s %127s", path);
		if (strcmp(path, "/ok") == 0) {
			reply(c, "200 OK",
			      "X-Fic-Server-Time: 1772352000123\r\nRetry-After: 7\r\nUpload-Offset: 4096\r\n",
			      "{\"ok\":true}");
		} else if (strcmp(path, "/busy") == 0) {
			reply(c, "503 Service Unavailable", "Retry-After: 120\r\n",
			      "{\"error\":\"busy\",\"retry\":true}");
		} else if (strcmp(path, "/badheaders") == 0) {
			reply(c, "200 OK",
			      "X-Fic-Server-Time: -5\r\nRetry-After: Wed, 21 Oct 2026 07:28:00 GMT\r\n"
			      "Upload-Offset: 12abc\r\n",
			      "x");
		} else if (strcmp(path, "/redirect") == 0) {
			reply(c, "302 Found", "Location: http://127.0.0.1:1/ok\r\n", "");
		} else if (strcmp(path, "/huge") == 0) {
			char head[256];
			size_t total = 8u << 20;
			int hn = snprintf(head, sizeof head,
			                  "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", total);
			send_all(c, head, (size_t)hn);
			static char chunk[65536];
			memset(chunk, 'a', sizeof chunk);
			for (size_t sent = 0; sent < total; sent += sizeof chunk)
				send_all(c, chunk, sizeof chunk);
		} else if (strcmp(path, "/huge-chunked") == 0) {
			/* No Content-Length: only counting the bytes can stop it. */
			const char *head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
			send_all(c, head, strlen(head));
			static char chunk[65536 + 16];
			int hl = snprintf(chunk, 16, "10000\r\n");
			memset(chunk + hl, 'b', 65536);
			memcpy(chunk + hl + 65536, "\r\n", 2);
			for (int i = 0; i < 128; i++)
				send_all(c, chunk, (size_t)hl + 65536 + 2);
		} else if (strcmp(path, "/truncated") == 0) {
			const char *r = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"resu";
			send_all(c, r, strlen(r));
		} else if (strcmp(path, "/truncated-headers") == 0) {
			/* Closed cleanly in the middle of the headers: libcurl reports success. */
			const char *r = "HTTP/1.1 200 OK\r\nContent-Type: applic";
			send_all(c, r, strlen(r));
		} else if (strcmp(path, "/reset") == 0) {
			struct linger lg = { 1, 0 }; /* close with RST */
			setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
		} else if (strcmp(path, "/reset-mid") == 0) {
			const char *r = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"re";
			send_all(c, r, strlen(r));
			usleep(50000);
			struct linger lg = { 1, 0 };
			setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
		} else if (strcmp(path, "/stall") == 0) {
			const char *r = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{";
			send_all(c, r, strlen(r));
			for (int i = 0; i < 60 && !s->stop; i++)
				usleep(100000);
		} else if (strcmp(path, "/garbage") == 0) {
			send_all(c, "SSH-2.0-OpenSSH_9.2\r\n\r\n", 23);
		} else if (strcmp(path, "/gzip") == 0 || strcmp(path, "/gzip-bomb") == 0 ||
		           strcmp(path, "/brotli") == 0) {
			/* A small body, or 64 MiB of zeros in about 64 KB. */
			unsigned char *gz;
			size_t gzlen, blen = path[5] == '-' ? 64u << 20 : 14;
			char *body = calloc(1, blen + 1);
			if (blen == 14)
				memcpy(body, "{\"results\":[]}", 14);
			fic__gzip(body, blen, &gz, &gzlen);
			free(body);
			char head[256];
			int hn = snprintf(head, sizeof head,
			                  "HTTP/1.1 200 OK\r\nContent-Encoding: %s\r\n"
			                  "Content-Length: %zu\r\nConnection: close\r\n\r\n",
			                  path[1] == 'b' ? "br" : " GZip ", gzlen);
			send_all(c, head, (size_t)hn);
			send_all(c, gz, gzlen);
			fic__free(gz);
		} else {
			reply(c, "404 Not Found", "", "{\"error\":\"not_found\",\"retry\":false}");
		}
		close(c);
	}
	return NULL;
}

static int setup(void **state)
{
	server *s = calloc(1, sizeof *s);
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof a), 0);
	socklen_t al = sizeof a;
	getsockname(s->fd, (struct sockaddr *)&a, &al);
	s->port = ntohs(a.sin_port);
	assert_int_equal(listen(s->fd, 16), 0);
	/* accept() wakes every 100 ms to notice stop. */
	struct timeval tv = { 0, 100000 };
	setsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	pthread_create(&s->thread, NULL, serve, s);
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	server *s = *state;
	s->stop = 1;
	pthread_join(s->thread, NULL);
	close(s->fd);
	free(s);
	return 0;
}

static char *url(server *s, const char *path)
{
	static char u[128];
	snprintf(u, sizeof u, "http://127.0.0.1:%d%s", s->port, path);
	return u;
}

static int do_get(fic_transport *t, const char *u, fic_http_response *r, long low_speed_ms,
                  size_t max)
{
	fic_http_request q = { .version = FIC_TRANSPORT_VERSION, .method = "GET", .url = u, .low_speed_time_ms = low_speed_ms,
		               .max_response_bytes = max };
	return t->request(t->ctx, &q, r);
}

static void a_request_goes_out_as_sent_and_headers_come_back(void **state)
{
	server *s = *state;
	fic_transport *t;
	assert_int_equal(fic_transport_curl_new(&t, NULL), FIC_OK);
	assert_int_equal(t->version, FIC_TRANSPORT_VERSION);
	fic_http_header h[] = { { "Authorization", "Bearer sekrit-token" },
		                { "Content-Type", "application/json" } };
	const char body[] = "{\"records\":[]}";
	fic_http_request q = { .version = FIC_TRANSPORT_VERSION, .method = "POST", .url = url(s, "/ok"), .headers = h,
		               .header_count = 2, .body = body, .body_len = strlen(body) };
	fic_http_response r;
	assert_int_equal(t->request(t->ctx, &q, &r), FIC_OK);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body_len, 11);
	assert_string_equal((char *)r.body, "{\"ok\":true}");
	assert_int_equal(r.server_time_ms, 1772352000123LL);
	assert_int_equal(r.retry_after_ms, 7000);
	assert_int_equal(r.upload_offset, 4096);
	assert_int_equal(r.content_encoding, FIC_HTTP_CODING_NONE);
	fic_free(r.body);
	assert_non_null(strstr(s->last_request, "POST /ok HTTP/1.1\r\n"));
	assert_non_null(strstr(s->last_request, "\r\nAuthorization: Bearer sekrit-token\r\n"));
	assert_null(strcasestr(s->last_request, "Expect:"));
	assert_null(strcasestr(s->last_request, "Accept-Encoding")); /* only when the engine asks */
	assert_non_null(strstr(s->last_request, "User-Agent: fieldinspect/"));
	assert_non_null(strstr(s->last_request, "\r\n\r\n{\"records\":[]}"));

	/* PATCH with a body, HEAD without one. */
	q.method = "PATCH";
	assert_int_equal(t->request(t->ctx, &q, &r), FIC_OK);
	fic_free(r.body);
	assert_non_null(strstr(s->last_request, "PATCH /ok HTTP/1.1\r\n"));
	q.method = "HEAD";
	q.body = NULL;
	q.body_len = 0;
	assert_int_equal(t->request(t->ctx, &q, &r), FIC_OK);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body_len, 0);
	assert_int_equal(r.upload_offset, 4096);
	fic_free(r.body);

	/* Error statuses come back as responses for the engine to read. */
	assert_int_equal(do_get(t, url(s, "/busy"), &r, 0, 0), FIC_OK);
	assert_int_equal(r.status, 503);
	assert_int_equal(r.retry_after_ms, 120000);
	assert_non_null(strstr((char *)r.body, "busy"));
	fic_free(r.body);
	assert_int_equal(do_get(t, url(s, "/nothing"), &r, 0, 0), FIC_OK);
	assert_int_equal(r.status, 404);
	fic_free(r.body);

	/* Malformed protocol headers read as absent. */
	assert_int_equal(do_get(t, url(s, "/badheaders"), &r, 0, 0), FIC_OK);
	assert_int_equal(r.server_time_ms, -1);
	assert_int_equal(r.retry_after_ms, -1);
	assert_int_equal(r.upload_offset, -1);
	fic_free(r.body);

	/* A gzip'd answer arrives as it was sent, its coding said: the engine
	 * inflates it within its own limit. */
	fic_http_header ae = { "Accept-Encoding", "gzip" };
	fic_http_request g = { .version = FIC_TRANSPORT_VERSION, .method = "GET", .url = url(s, "/gzip"), .headers = &ae,
		               .header_count = 1 };
	assert_int_equal(t->request(t->ctx, &g, &r), FIC_OK);
	assert_non_null(strstr(s->last_request, "\r\nAccept-Encoding: gzip\r\n"));
	assert_int_equal(r.content_encoding, FIC_HTTP_CODING_GZIP);
	unsigned char *plain;
	size_t plen;
	assert_true(r.body_len > 2 && r.body[0] == 0x1f && r.body[1] == 0x8b);
	assert_int_equal(fic__gunzip(r.body, r.body_len, 1024, &plain, &plen), FIC_OK);
	assert_memory_equal(plain, "{\"results\":[]}", 14);
	fic__free(plain);
	fic_free(r.body);
	/* Nor is a gzip bomb inflated here: 64 MiB of zeros stay ~64 KB, well
	 * under a 1 MiB limit on what is read. */
	assert_int_equal(do_get(t, url(s, "/gzip-bomb"), &r, 0, 1u << 20), FIC_OK);
	assert_int_equal(r.content_encoding, FIC_HTTP_CODING_GZIP);
	assert_true(r.body_len < (1u << 20));
	assert_int_equal(fic__gunzip(r.body, r.body_len, 4u << 20, &plain, &plen), FIC_ETOOBIG);
	fic_free(r.body);
	/* A coding the engine does not read is said to be one. */
	assert_int_equal(do_get(t, url(s, "/brotli"), &r, 0, 0), FIC_OK);
	assert_int_equal(r.content_encoding, FIC_HTTP_CODING_OTHER);
	fic_free(r.body);
	fic_transport_curl_free(t);
}

static void a_misbehaving_server_gives_a_clear_error(void **state)
{
	server *s = *state;
	fic_transport *t;
	assert_int_equal(fic_transport_curl_new(&t, NULL), FIC_OK);
	fic_http_response r;
	struct {
		const char *path;
		int code;
		const char *says;
	} cases[] = {
		{ "/redirect", FIC_EPROTO, "redirect" },
		{ "/huge", FIC_ETOOBIG, "exceeds" },
		{ "/huge-chunked", FIC_ETOOBIG, "exceeds" },
		{ "/truncated", FIC_ENETWORK, "network" },
		{ "/truncated-headers", FIC_ENETWORK, "truncated" },
		{ "/reset", FIC_ENETWORK, "network" },
		{ "/reset-mid", FIC_ENETWORK, "network" },
		{ "/garbage", FIC_EPROTO, "not valid HTTP" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int rc = do_get(t, url(s, cases[i].path), &r, 0, 1u << 20);
		if (rc != cases[i].code)
			fail_msg("%s: %d (%s)", cases[i].path, rc, fic_error_last()->message);
		assert_null(r.body);
		assert_int_equal(r.status, 0);
		assert_non_null(strstr(fic_error_last()->message, cases[i].says));
	}
	/* A stall is cut off by the low-speed limit (here 1 s). */
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(do_get(t, url(s, "/stall"), &r, 1000, 0), FIC_ENETWORK);
	clock_gettime(CLOCK_MONOTONIC, &b);
	double secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	assert_true(secs >= 0.9 && secs < 4.0 * tu_time_scale());
	/* Nobody listening: a network error, at once. */
	assert_int_equal(do_get(t, "http://127.0.0.1:1/ok", &r, 0, 0), FIC_ENETWORK);
	/* The transport still works after all that. */
	assert_int_equal(do_get(t, url(s, "/ok"), &r, 0, 0), FIC_OK);
	fic_free(r.body);
	fic_transport_curl_free(t);
}

static void only_https_leaves_the_device(void **state)
{
	(void)state;
	fic_transport *t;
	assert_int_equal(fic_transport_curl_new(&t, NULL), FIC_OK);
	fic_http_response r;
	static const char *refused[] = {
		"http://county.example.cn/v1/records", "http://10.0.0.1/v1", "http://127.0.0.1.evil.cn/",
		"http://128.0.0.1/", "ftp://127.0.0.1/", "file:///etc/passwd", "gopher://127.0.0.1/",
		"not a url", "http:///nohost", "http://[::2]/", "http://localhost.evil.cn/",
	};
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		int rc = do_get(t, refused[i], &r, 0, 0);
		if (rc != FIC_EINVAL)
			fail_msg("%s: %d", refused[i], rc);
	}
	/* https to a host that does not exist is allowed (and fails on the network). */
	fic_http_request nx = { .version = FIC_TRANSPORT_VERSION, .method = "GET", .url = "https://county.invalid/v1",
		                .connect_timeout_ms = 3000 };
	assert_int_equal(t->request(t->ctx, &nx, &r), FIC_ENETWORK);
	/* Bad arguments. */
	fic_http_request q = { .version = FIC_TRANSPORT_VERSION, .method = "DELETE", .url = "http://127.0.0.1:1/" };
	assert_int_equal(t->request(t->ctx, &q, &r), FIC_EINVAL);
	fic_http_header evil[] = { { "X-A", "v\r\nX-Injected: 1" } };
	fic_http_request q2 = { .version = FIC_TRANSPORT_VERSION, .method = "GET", .url = "http://127.0.0.1:1/", .headers = evil,
		                .header_count = 1 };
	assert_int_equal(t->request(t->ctx, &q2, &r), FIC_EINVAL);
	assert_int_equal(t->request(t->ctx, NULL, &r), FIC_EINVAL);
	fic_transport_curl_free(t);

	fic_curl_options o = FIC_CURL_OPTIONS_INIT;
	o.ca_file = "/nonexistent/ca.pem";
	assert_int_equal(fic_transport_curl_new(&t, &o), FIC_EINVAL);
	assert_null(t);
	o.ca_file = NULL;
	o.pinned_public_key = "md5//abc";
	assert_int_equal(fic_transport_curl_new(&t, &o), FIC_EINVAL);
	assert_int_equal(fic_transport_curl_new(NULL, NULL), FIC_EINVAL);
	fic_transport_curl_free(NULL);
}

/* https to a plain-text server fails in the handshake and never falls back. */
static void https_to_a_plain_server_is_refused(void **state)
{
	server *s = *state;
	fic_transport *t;
	assert_int_equal(fic_transport_curl_new(&t, NULL), FIC_OK);
	char u[128];
	snprintf(u, sizeof u, "https://127.0.0.1:%d/ok", s->port);
	fic_http_response r;
	int rc = do_get(t, u, &r, 1000, 0);
	assert_true(rc == FIC_ENETWORK || rc == FIC_ETLS);
	assert_null(r.body);
	fic_transport_curl_free(t);
}

static void *cancel_soon(void *arg)
{
	usleep(300000);
	fic_cancel_request(arg);
	return NULL;
}

static void a_request_can_be_cancelled(void **state)
{
	server *s = *state;
	fic_transport *t;
	assert_int_equal(fic_transport_curl_new(&t, NULL), FIC_OK);
	fic_cancel *cancel;
	assert_int_equal(fic_cancel_new(&cancel), FIC_OK);
	pthread_t th;
	pthread_create(&th, NULL, cancel_soon, cancel);
	fic_http_request q = { .version = FIC_TRANSPORT_VERSION, .method = "GET",
		               .url = url(s, "/stall"), .cancel = cancel };
	fic_http_response r;
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(t->request(t->ctx, &q, &r), FIC_ECANCELED);
	clock_gettime(CLOCK_MONOTONIC, &b);
	pthread_join(th, NULL);
	double secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	assert_true(secs < 3.0 * tu_time_scale());
	fic_cancel_free(cancel);
	fic_transport_curl_free(t);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(a_request_goes_out_as_sent_and_headers_come_back),
		T(a_misbehaving_server_gives_a_clear_error),
		cmocka_unit_test(only_https_leaves_the_device),
		T(https_to_a_plain_server_is_refused),
		T(a_request_can_be_cancelled),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
