/*
 * tests/server/test_server_admin.c — the county's hold on its devices
 * (issue #12), through the fic-county-server commands run against the
 * database of a server that is serving: list devices, revoke one (its token
 * is answered token_revoked at once), codes that expire (7 days unless
 * --ttl says otherwise), a re-enrolment code for one device id, a token
 * rotated (the old one stops, the device enrols again with the code
 * printed) — and a device rotating its own token with it; guessing codes
 * and tokens slowed down per address and per county (429 with
 * Retry-After); the two-hour report per county, with what devices wrote
 * shown, never obeyed, by the terminal.
 */
#include "e2e.h"
#include "internal.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <netinet/in.h>
#include <openssl/sha.h>
#include <poll.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

/* Run fic-county-server on the fixture's database (and its key folder);
 * its exit status, its output (first line trimmed) into out. */
static int admin(e2e *f, char *out, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int admin(e2e *f, char *out, size_t size, const char *fmt, ...)
{
	char args[600], cmd[1200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(args, sizeof args, fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof cmd, "'%s' --db '%s/county.db' --keys '%s' %s 2>&1",
	         FIC_COUNTY_SERVER_BIN, f->dir, f->keys, args);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	size_t n = out ? fread(out, 1, size - 1, p) : 0;
	if (out)
		out[n] = '\0';
	else {
		char sink[4096];
		while (fread(sink, 1, sizeof sink, p) > 0)
			;
	}
	int rc = pclose(p);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static void first_line(char *s)
{
	s[strcspn(s, "\r\n")] = '\0';
}

static void forget_token(fic_store *st)
{
	assert_int_equal(fic__secret_delete(st, FIC_SECRET_TOKEN), FIC_OK);
}

static int enrol_raw(e2e *f, const char *code, const char *device_id, const char *token,
                     char **body)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "code", code);
	cJSON_AddStringToObject(j, "device_id", device_id);
	char *t = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	int status = e2e_post_json(f, "/v1/enroll", token, t, body);
	free(t);
	return status;
}

static void file_and_push(e2e *f, fic_store *st, int expect)
{
	char id[FIC_UUID_BUFSIZE];
	assert_int_equal(fic_lead_file(id, st, "lead.tip_off", tu_tip_off_answers, NULL, 0, 0), FIC_OK);
	int rc = fic_sync_push(st, &f->opts, NULL);
	if (rc != expect)
		fail_msg("push: %d (%s), expected %d", rc, fic_error_last()->message, expect);
}

static void a_revoked_device_is_refused_at_once(void **state)
{
	e2e *f = *state;
	e2e_enroll(f, "石柱县");
	file_and_push(f, f->store, FIC_OK);
	const char *id = fic_store_device_id(f->store);
	char out[4096], token[200];
	e2e_token(f->store, token, sizeof token);
	/* The list names the device, its county and name, never its token. */
	assert_int_equal(admin(f, out, sizeof out, "devices"), 0);
	assert_non_null(strstr(out, id));
	assert_non_null(strstr(out, "石柱县"));
	assert_non_null(strstr(out, "测试机"));
	assert_non_null(strstr(out, "active"));
	assert_null(strstr(out, token));
	assert_int_equal(admin(f, out, sizeof out, "revoke %s", id), 0);
	assert_int_equal(admin(f, out, sizeof out, "devices"), 0);
	assert_non_null(strstr(out, "revoked"));
	/* The server that is serving refuses it from the next request on. */
	file_and_push(f, f->store, FIC_EAUTH);
	e2e_answer a = e2e_request(f, "GET", "/v1/feeds/sites", token, NULL, 0, NULL, 0);
	assert_int_equal(a.status, 401);
	assert_non_null(strstr(a.body, "\"token_revoked\""));
	e2e_answer_free(&a);
	/* A fresh code does not bring it back; a re-enrolment code for it does. */
	char code[64];
	assert_int_equal(county_issue_code(f->server, "石柱县", code, sizeof code), 0);
	assert_int_equal(fic_sync_enroll(f->store, &f->opts, code, NULL), FIC_EAUTH);
	assert_int_equal(admin(f, code, sizeof code, "reenrol-code %s", id), 0);
	first_line(code);
	assert_int_equal(fic_sync_enroll(f->store, &f->opts, code, NULL), FIC_OK);
	file_and_push(f, f->store, FIC_OK);
	assert_int_equal(county_chain_breaks(f->server, NULL), 0);
	assert_int_equal(admin(f, out, sizeof out, "revoke 00000000-0000-7000-8000-000000000000"), 1);
}

static void codes_expire(void **state)
{
	e2e *f = *state;
	char code[64];
	assert_int_equal(admin(f, code, sizeof code, "issue-code --ttl 1s 石柱县"), 0);
	first_line(code);
	usleep(1500 * 1000);
	char *body = NULL;
	assert_int_equal(enrol_raw(f, code, fic_store_device_id(f->store), NULL, &body), 403);
	assert_non_null(strstr(body, "\"code_expired\""));
	free(body);
	assert_int_equal(fic_sync_enroll(f->store, &f->opts, code, NULL), FIC_EAUTH);
	/* Without --ttl a code lasts seven days. */
	assert_int_equal(admin(f, code, sizeof code, "issue-code 石柱县"), 0);
	first_line(code);
	char *p = tu_path(f->dir, "county.db");
	sqlite3 *db;
	assert_int_equal(sqlite3_open_v2(p, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	free(p);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT max(expires_ms - issued_ms) FROM codes", -1,
	                                    &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int64(st, 0), 7 * 86400000LL);
	sqlite3_finalize(st);
	sqlite3_close(db);
	assert_int_equal(fic_sync_enroll(f->store, &f->opts, code, NULL), FIC_OK);
	assert_int_equal(admin(f, code, sizeof code, "issue-code --ttl soon 石柱县"), 2);
}

static void a_reenrolment_code_is_for_its_device_alone(void **state)
{
	e2e *f = *state;
	e2e_enroll(f, "石柱县");
	file_and_push(f, f->store, FIC_OK);
	char code[64];
	assert_int_equal(admin(f, code, sizeof code, "reenrol-code %s", fic_store_device_id(f->store)),
	                 0);
	first_line(code);
	/* Another device cannot use it, of either county. */
	fic_store *other = e2e_store_new(f, "other.db");
	assert_int_equal(fic_sync_enroll(other, &f->opts, code, NULL), FIC_EAUTH);
	fic_store_close(other);
	/* The device that lost its token comes back with it, to its own county,
	 * and its chain goes on. */
	forget_token(f->store);
	assert_int_equal(fic_sync_enroll(f->store, &f->opts, code, NULL), FIC_OK);
	char county[64];
	assert_int_equal(fic_sync_enrolled(f->store, county, sizeof county), FIC_OK);
	assert_string_equal(county, "石柱县");
	file_and_push(f, f->store, FIC_OK);
	assert_int_equal(county_chain_breaks(f->server, NULL), 0);
	/* Used once. */
	forget_token(f->store);
	assert_int_equal(fic_sync_enroll(f->store, &f->opts, code, NULL), FIC_EAUTH);
	assert_int_equal(admin(f, code, sizeof code, "reenrol-code not-a-device"), 1);
}

static void a_rotated_token_stops_at_once(void **state)
{
	e2e *f = *state;
	e2e_enroll(f, "石柱县");
	char old[200], code[64];
	e2e_token(f->store, old, sizeof old);
	assert_int_equal(admin(f, code, sizeof code, "rotate %s", fic_store_device_id(f->store)), 0);
	first_line(code);
	e2e_answer a = e2e_request(f, "GET", "/v1/feeds/sites", old, NULL, 0, NULL, 0);
	assert_int_equal(a.status, 401);
	assert_non_null(strstr(a.body, "\"token_revoked\""));
	e2e_answer_free(&a);
	file_and_push(f, f->store, FIC_EAUTH);
	assert_int_equal(fic_sync_enroll(f->store, &f->opts, code, NULL), FIC_OK);
	char now[200];
	e2e_token(f->store, now, sizeof now);
	assert_string_not_equal(now, old);
	file_and_push(f, f->store, FIC_OK);
	assert_int_equal(fic_sync_push(f->store, &f->opts, NULL), FIC_OK);
}

static void a_device_rotates_its_own_token(void **state)
{
	e2e *f = *state;
	e2e_enroll(f, "石柱县");
	char old[200], code[32];
	e2e_token(f->store, old, sizeof old);
	const char *id = fic_store_device_id(f->store);
	/* A code of another county, even with the device's token: its county is for good. */
	assert_int_equal(county_issue_code(f->server, "黔江区", code, sizeof code), 0);
	assert_int_equal(enrol_raw(f, code, id, old, NULL), 403);
	/* A code of its own county with its current token: a new token, the old one stops. */
	assert_int_equal(county_issue_code(f->server, "石柱县", code, sizeof code), 0);
	char *body = NULL;
	assert_int_equal(enrol_raw(f, code, id, old, &body), 200);
	cJSON *j = cJSON_Parse(body);
	free(body);
	const cJSON *tok = cJSON_GetObjectItem(j, "token");
	assert_true(cJSON_IsString(tok));
	assert_string_not_equal(tok->valuestring, old);
	assert_string_equal(cJSON_GetObjectItem(j, "county")->valuestring, "石柱县");
	e2e_answer a = e2e_request(f, "GET", "/v1/feeds/sites", old, NULL, 0, NULL, 0);
	assert_int_equal(a.status, 401);
	e2e_answer_free(&a);
	a = e2e_request(f, "GET", "/v1/feeds/sites", tok->valuestring, NULL, 0, NULL, 0);
	assert_int_equal(a.status, 200);
	e2e_answer_free(&a);
	cJSON_Delete(j);
}

static void an_unused_token_expires(void **state)
{
	e2e *f = *state;
	e2e_enroll(f, "石柱县");
	file_and_push(f, f->store, FIC_OK);
	char token[200];
	e2e_token(f->store, token, sizeof token);
	/* Its last use 181 days ago (the phone in a drawer). */
	char *p = tu_path(f->dir, "county.db");
	sqlite3 *db;
	assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
	free(p);
	sqlite3_busy_timeout(db, 5000);
	assert_int_equal(sqlite3_exec(db, "UPDATE devices SET last_seen_ms = last_seen_ms - "
	                                  "181 * 86400000", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	e2e_answer a = e2e_request(f, "GET", "/v1/feeds/sites", token, NULL, 0, NULL, 0);
	assert_int_equal(a.status, 401);
	assert_non_null(strstr(a.body, "\"token_expired\""));
	e2e_answer_free(&a);
	char out[4096];
	assert_int_equal(admin(f, out, sizeof out, "devices"), 0);
	assert_non_null(strstr(out, "expired"));
	/* A re-enrolment code brings it back. */
	char code[64];
	assert_int_equal(admin(f, code, sizeof code, "reenrol-code %s", fic_store_device_id(f->store)),
	                 0);
	first_line(code);
	assert_int_equal(fic_sync_enroll(f->store, &f->opts, code, NULL), FIC_OK);
	file_and_push(f, f->store, FIC_OK);
}

/* ---- guessing ---- */

/* One request from loopback address `from`, written by hand: the status. */
static int request_from(e2e *f, const char *from, const char *method, const char *path,
                        const char *token, const char *body, char *retry_after, size_t rsize)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	struct sockaddr_in src = { .sin_family = AF_INET };
	inet_pton(AF_INET, from, &src.sin_addr);
	struct sockaddr_in dst = { .sin_family = AF_INET,
		                   .sin_port = htons((uint16_t)county_port(f->server)) };
	inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
	assert_int_equal(bind(fd, (struct sockaddr *)&src, sizeof src), 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&dst, sizeof dst), 0);
	char req[2000];
	int n = snprintf(req, sizeof req,
	                 "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s%s%s"
	                 "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
	                 method, path, token ? "Authorization: Bearer " : "", token ? token : "",
	                 token ? "\r\n" : "", body ? strlen(body) : 0, body ? body : "");
	assert_int_equal(send(fd, req, (size_t)n, MSG_NOSIGNAL), n);
	char ans[4096];
	size_t got = 0;
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 10000) <= 0)
			break;
		ssize_t r = recv(fd, ans + got, sizeof ans - 1 - got, 0);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	ans[got] = '\0';
	int status = 0;
	assert_int_equal(sscanf(ans, "HTTP/1.1 %d", &status), 1);
	if (retry_after) {
		retry_after[0] = '\0';
		const char *ra = strcasestr(ans, "\r\nRetry-After: ");
		if (ra)
			snprintf(retry_after, rsize, "%.*s", (int)strcspn(ra + 15, "\r"), ra + 15);
	}
	return status;
}

static void guessing_codes_and_tokens_is_slowed_down(void **state)
{
	e2e *f = *state;
	e2e_enroll(f, "石柱县");
	/* Wrong codes from one address: refused, then told to wait. */
	char body[200], ra[32];
	snprintf(body, sizeof body, "{\"code\":\"WRONG-CODE-0000\",\"device_id\":\"%s\"}",
	         "0190f0f0-0000-7000-8000-00000000abcd");
	int s = 0, tries = 0;
	while ((s = request_from(f, "127.0.0.5", "POST", "/v1/enroll", NULL, body, ra, sizeof ra)) ==
	       403)
		assert_true(++tries < 50);
	assert_int_equal(s, 429);
	print_message("wrong codes from one address: 429 after %d\n", tries);
	assert_true(tries >= 5);
	assert_true(atoi(ra) >= 1);
	/* Even a right code from there waits now; another address is served. */
	char code[32], good[200];
	assert_int_equal(county_issue_code(f->server, "石柱县", code, sizeof code), 0);
	snprintf(good, sizeof good, "{\"code\":\"%s\",\"device_id\":\"%s\"}", code,
	         "0190f0f0-0000-7000-8000-00000000abce");
	assert_int_equal(request_from(f, "127.0.0.5", "POST", "/v1/enroll", NULL, good, NULL, 0), 429);
	assert_int_equal(request_from(f, "127.0.0.6", "POST", "/v1/enroll", NULL, good, NULL, 0), 200);
	/* Wrong tokens from one address, likewise; the right token is still served. */
	tries = 0;
	while ((s = request_from(f, "127.0.0.7", "GET", "/v1/feeds/sites", "forged-0123456789abcdef",
	                         NULL, ra, sizeof ra)) == 401)
		assert_true(++tries < 50);
	assert_int_equal(s, 429);
	print_message("wrong tokens from one address: 429 after %d\n", tries);
	char token[200];
	e2e_token(f->store, token, sizeof token);
	assert_int_equal(request_from(f, "127.0.0.7", "GET", "/v1/feeds/sites", token, NULL, NULL, 0),
	                 200);
}

static void a_countys_revoked_tokens_are_slowed_down_from_any_address(void **state)
{
	e2e *f = *state;
	/* Twenty devices of one county, all revoked; their tokens tried from a
	 * different address each (a botnet), so no one address is limited. */
	char tokens[20][200];
	for (int i = 0; i < 20; i++) {
		char name[32];
		snprintf(name, sizeof name, "d%d.db", i);
		fic_store *st = e2e_store_new(f, name);
		e2e_enroll_store(f, st, "石柱县");
		e2e_token(st, tokens[i], sizeof tokens[i]);
		assert_int_equal(admin(f, NULL, 0, "revoke %s", fic_store_device_id(st)), 0);
		fic_store_close(st);
	}
	int refused = 0, limited = 0;
	for (int k = 0; k < 60; k++) {
		char from[32];
		snprintf(from, sizeof from, "127.0.1.%d", k + 1);
		int s = request_from(f, from, "GET", "/v1/feeds/sites", tokens[k % 20], NULL, NULL, 0);
		assert_true(s == 401 || s == 429);
		if (s == 401)
			refused++;
		else
			limited++;
	}
	print_message("revoked tokens of one county from 60 addresses: %d refused, %d told to wait\n",
	              refused, limited);
	assert_true(limited > 0);
	/* Another county's devices are not held back by it. */
	fic_store *st = e2e_store_new(f, "other.db");
	e2e_enroll_store(f, st, "黔江区");
	char t[200];
	e2e_token(st, t, sizeof t);
	assert_int_equal(request_from(f, "127.0.2.1", "GET", "/v1/feeds/sites", t, NULL, NULL, 0), 200);
	assert_int_equal(request_from(f, "127.0.2.2", "GET", "/v1/feeds/sites", "forged-0123456789",
	                              NULL, NULL, 0), 401);
	fic_store_close(st);
}

/* ---- the two-hour report ---- */

static void the_leads_report_is_per_county_and_inert(void **state)
{
	e2e *f = *state;
	e2e_enroll(f, "石柱县");
	/* A lead whose title would clear the terminal and forge a line. */
	const char *dev = fic_store_device_id(f->store);
	static const char title[] = "\x1b[2J\x1b[31m假\nURGENT forged received 2026-01-01 00:00:00Z"
	                            "\xe2\x80\xae";
	cJSON *c = cJSON_CreateObject();
	cJSON_AddNumberToObject(c, "chain_seq", 1);
	cJSON_AddNumberToObject(c, "deadline_at_ms", 4102444800000.0);
	cJSON_AddStringToObject(c, "device_id", dev);
	char zero[65];
	memset(zero, '0', 64);
	zero[64] = '\0';
	cJSON_AddStringToObject(c, "prev_hash", zero);
	cJSON_AddStringToObject(c, "title", title);
	cJSON_AddTrueToObject(c, "urgent");
	char *canon = cJSON_PrintUnformatted(c);
	cJSON_Delete(c);
	unsigned char md[32];
	char hash[65];
	SHA256((const unsigned char *)canon, strlen(canon), md);
	for (int i = 0; i < 32; i++)
		snprintf(hash + 2 * i, 3, "%02x", md[i]);
	cJSON *root = cJSON_CreateObject(), *recs = cJSON_AddArrayToObject(root, "records");
	cJSON *r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "type", "lead");
	cJSON_AddStringToObject(r, "id", "0190f0f0-0000-7000-8000-0000000000aa");
	cJSON_AddStringToObject(r, "op", "submit");
	cJSON_AddNumberToObject(r, "seq", 1);
	cJSON_AddStringToObject(r, "hash", hash);
	cJSON_AddStringToObject(r, "canonical", canon);
	cJSON_AddItemToArray(recs, r);
	char *t = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	free(canon);
	char token[200], *body = NULL;
	e2e_token(f->store, token, sizeof token);
	assert_int_equal(e2e_post_json(f, "/v1/records", token, t, &body), 200);
	assert_non_null(strstr(body, "\"stored\""));
	free(body);
	free(t);
	/* A lead of another county. */
	fic_store *other = e2e_store_new(f, "other.db");
	e2e_enroll_store(f, other, "黔江区");
	char id[FIC_UUID_BUFSIZE];
	assert_int_equal(fic_lead_file(id, other, "lead.tip_off", tu_tip_off_answers, NULL, 0, 0),
	                 FIC_OK);
	assert_int_equal(fic_sync_push(other, &f->opts, NULL), FIC_OK);
	fic_store_close(other);

	char *report = NULL;
	size_t rlen = 0;
	FILE *mem = open_memstream(&report, &rlen);
	assert_int_equal(county_report_leads(f->server, mem), 0);
	fclose(mem);
	print_message("%s", report);
	/* Nothing a terminal obeys: no escape, no other control character but
	 * the line ends, no bidi override. */
	for (size_t i = 0; i < rlen; i++)
		if (((unsigned char)report[i] < 0x20 && report[i] != '\n') || report[i] == 0x7f)
			fail_msg("control character 0x%02x at %zu", (unsigned char)report[i], i);
	assert_null(strstr(report, "\xe2\x80\xae"));
	assert_non_null(strstr(report, "\\x1b[2J"));
	/* No forged line: every line is a county heading or a lead of it. */
	assert_null(strstr(report, "\nURGENT forged"));
	const char *a = strstr(report, "county 石柱县\n"), *b = strstr(report, "county 黔江区\n");
	assert_non_null(a);
	assert_non_null(b);
	const char *mine = strstr(report, "0190f0f0-0000-7000-8000-0000000000aa");
	const char *theirs = strstr(report, id);
	assert_non_null(mine);
	assert_non_null(theirs);
	/* Each lead under its own county's heading. */
	assert_true((mine > a) && (a > b || mine < b));
	assert_true((theirs > b) && (b > a || theirs < a));
	free(report);
	/* The command prints the same. */
	char out[8192];
	assert_int_equal(admin(f, out, sizeof out, "leads"), 0);
	assert_null(strchr(out, 0x1b));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(a_revoked_device_is_refused_at_once, e2e_setup,
		                                e2e_teardown),
		cmocka_unit_test_setup_teardown(codes_expire, e2e_setup, e2e_teardown),
		cmocka_unit_test_setup_teardown(a_reenrolment_code_is_for_its_device_alone, e2e_setup,
		                                e2e_teardown),
		cmocka_unit_test_setup_teardown(a_rotated_token_stops_at_once, e2e_setup, e2e_teardown),
		cmocka_unit_test_setup_teardown(a_device_rotates_its_own_token, e2e_setup, e2e_teardown),
		cmocka_unit_test_setup_teardown(an_unused_token_expires, e2e_setup, e2e_teardown),
		cmocka_unit_test_setup_teardown(guessing_codes_and_tokens_is_slowed_down, e2e_setup,
		                                e2e_teardown),
		cmocka_unit_test_setup_teardown(a_countys_revoked_tokens_are_slowed_down_from_any_address,
		                                e2e_setup, e2e_teardown),
		cmocka_unit_test_setup_teardown(the_leads_report_is_per_county_and_inert, e2e_setup,
		                                e2e_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
