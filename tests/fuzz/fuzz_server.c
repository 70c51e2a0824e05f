/*
 * tests/fuzz/fuzz_server.c — the county server's request handlers
 * (server/county.c: enrolment, records with the chain audit, photos,
 * feeds), reached through county_request: the same handlers as over the
 * network, with no listening socket. The input is a request as text:
 *
 *     METHOD /path
 *     Header: value
 *     ...
 *     (empty line)
 *     body
 *
 * "@TOKEN@" anywhere in it becomes an enrolled device's bearer token,
 * "@CODE@" a fresh enrolment code and "@SHA@" the SHA-256 of the body (so a
 * photo chunk can be whole and right). The server's database is in a scratch
 * directory, with a registry, a checklist and a task loaded, and starts
 * afresh every few hundred runs. Every request must get an answer with a
 * status the protocol knows, and a body that is JSON when there is one.
 * Seeds: each endpoint's requests as the device sends them (FZ_VERBOSE=1
 * prints what each one got).
 */
#include "county.h"
#include "fuzz_util.h"
#include "internal.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static county_server *server;
static char db_path[512];
static char token[80];
static unsigned runs;

static const char device_id[] = "0195a0b2-0000-7000-8000-000000000001";

static void start(void)
{
	char err[256], p[600];
	county_close(server);
	server = NULL;
	remove(db_path);
	snprintf(p, sizeof p, "%s-wal", db_path);
	remove(p);
	snprintf(p, sizeof p, "%s-shm", db_path);
	remove(p);
	snprintf(p, sizeof p, "%s.photos", db_path);
	fz_rmtree(p);
	if (county_open(&server, db_path, err, sizeof err) != 0) {
		fprintf(stderr, "county_open: %s\n", err);
		abort();
	}
	char code[32];
	FZ_CHECK(county_issue_code(server, "500101", code, sizeof code) == 0);
	char body[256];
	snprintf(body, sizeof body, "{\"code\":\"%s\",\"device_id\":\"%s\",\"device_name\":\"fuzz\"}",
	         code, device_id);
	int status;
	char *resp;
	size_t len;
	FZ_CHECK(county_request(server, "POST", "/v1/enroll", "Content-Type: application/json\r\n",
	                        body, strlen(body), &status, &resp, &len) == 0 && status == 200);
	const char *t = strstr(resp, "\"token\":\"");
	FZ_CHECK(t != NULL);
	snprintf(token, sizeof token, "%.64s", t + 9);
	free(resp);
	FZ_CHECK(county_load(server, "500101", "sites",
	                     "[{\"id\":\"S-1\",\"kind\":\"school\",\"name\":\"青杠小学\"},"
	                     "{\"id\":\"S-2\",\"kind\":\"water_rural\",\"name\":\"石桥村供水站\"},"
	                     "{\"id\":\"S-3\",\"op\":\"delete\"}]",
	                     err, sizeof err) == 3);
	FZ_CHECK(county_load(server, "500101", "tasks",
	                     "[{\"id\":\"T-1\",\"kind\":\"reinspection\",\"site_id\":\"S-1\","
	                     "\"due_date\":\"2026-04-01\"}]",
	                     err, sizeof err) == 1);
	FZ_CHECK(county_load(server, "500101", "checklists",
	                     "[{\"id\":\"fuzz.one\",\"version\":1,\"kind\":\"patrol\"}]", err,
	                     sizeof err) == 1);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(db_path, sizeof db_path, "%s/county.db", fz_scratch_dir());
	start();
	return 0;
}

/* Replace every `from` in s[0..*len) by `to`, into a new buffer. */
static char *substitute(const char *s, size_t *len, const char *from, const char *to)
{
	size_t fl = strlen(from), tl = strlen(to), n = 0;
	for (size_t i = 0; i + fl <= *len; i++)
		if (memcmp(s + i, from, fl) == 0)
			n++, i += fl - 1;
	char *out = malloc(*len + n * (tl > fl ? tl - fl : 0) + 1), *w = out;
	FZ_CHECK(out != NULL);
	for (size_t i = 0; i < *len;) {
		if (i + fl <= *len && memcmp(s + i, from, fl) == 0) {
			memcpy(w, to, tl);
			w += tl;
			i += fl;
		} else {
			*w++ = s[i++];
		}
	}
	*len = (size_t)(w - out);
	*w = '\0';
	return out;
}

static bool known_status(int s)
{
	/* The statuses schema/protocol/openapi.yaml gives (415: an SMS that is
	 * neither text/plain nor JSON, POST /v1/sms/in). */
	static const int ok[] = { 200, 201, 204, 400, 401, 403, 404, 409, 413, 414, 415, 422,
		                  429, 431, 503, 507 };
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
		if (s == ok[i])
			return true;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The head (request line and headers) is text up to an empty line; the body is bytes. */
	const uint8_t *sep = NULL;
	for (size_t i = 0; i + 1 < size && sep == NULL; i++)
		if (data[i] == '\n' && data[i + 1] == '\n')
			sep = data + i;
	size_t hl = sep ? (size_t)(sep - data) : size;
	const uint8_t *body = sep ? sep + 2 : data + size;
	size_t blen = (size_t)(data + size - body);
	if (hl > 8192 || memchr(data, '\0', hl) || memchr(data, '\r', hl))
		return 0;
	if (++runs % 500 == 0)
		start();
	unsigned char md[SHA256_DIGEST_LENGTH];
	char sha[65];
	SHA256(body, blen, md);
	for (int i = 0; i < 32; i++)
		snprintf(sha + 2 * i, 3, "%02x", md[i]);
	char code[32];
	FZ_CHECK(county_issue_code(server, "500101", code, sizeof code) == 0);
	size_t len = hl;
	char *head0 = substitute((const char *)data, &len, "@TOKEN@", token);
	char *head1 = substitute(head0, &len, "@SHA@", sha);
	size_t bl = blen;
	char *body1 = substitute((const char *)body, &bl, "@CODE@", code);
	free(head0);

	/* Request line: METHOD SP PATH. */
	char *nl = strchr(head1, '\n');
	if (nl)
		*nl = '\0';
	char *sp = strchr(head1, ' ');
	bool ok = sp && sp > head1 && sp - head1 <= 10 && sp[1] == '/' && !strchr(sp + 1, ' ');
	for (char *m = head1; ok && m < sp; m++)
		ok = *m >= 'A' && *m <= 'Z';
	if (!ok) {
		free(head1);
		free(body1);
		return 0;
	}
	*sp = '\0';
	/* Headers: "Name: value" lines, passed on with CRLF; others dropped. */
	char *headers = malloc(2 * len + 16), *w = headers;
	FZ_CHECK(headers != NULL);
	for (char *line = nl ? nl + 1 : NULL, *next; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		char *colon = strchr(line, ':');
		char *ws = strpbrk(line, " \t");
		if (colon == NULL || colon == line || (ws && ws < colon))
			continue;
		w += sprintf(w, "%s\r\n", line);
	}
	*w = '\0';
	int status = 0;
	char *resp = NULL;
	size_t rlen = 0;
	int rc = county_request(server, head1, sp + 1, headers, body1, bl, &status, &resp, &rlen);
	if (rc != 0 || !known_status(status)) {
		fprintf(stderr, "%s %s: no answer or an unexpected one (%d):\n%.2000s\n", head1, sp + 1,
		        status, resp ? resp : "");
		abort();
	}
	if (getenv("FZ_VERBOSE")) /* what each seed reaches */
		fprintf(stderr, "%s %.60s -> %d %.200s\n", head1, sp + 1, status,
		        strstr(resp, "\r\n\r\n") ? strstr(resp, "\r\n\r\n") + 4 : "");
	const char *b = strstr(resp, "\r\n\r\n");
	FZ_CHECK(b != NULL);
	b += 4;
	if (*b && !strstr(resp, "Content-Encoding: gzip") && strcmp(head1, "HEAD") != 0) {
		cJSON *j = cJSON_ParseWithLength(b, rlen - (size_t)(b - resp));
		if (j == NULL) {
			fprintf(stderr, "a body that is not JSON:\n%.2000s\n", resp);
			abort();
		}
		cJSON_Delete(j);
	}
	free(resp);
	free(headers);
	free(head1);
	free(body1);
	return 0;
}
