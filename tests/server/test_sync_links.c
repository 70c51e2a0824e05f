/*
 * tests/server/test_sync_links.c — the chain audit as gaps fill, HTTPS (the
 * device verifies the server: untrusted certificate, wrong host, wrong pin
 * refused; the right CA and pin carry a pass) and every fault on the link
 * through the fault-injecting proxy (resets, truncations, stalls, 503)
 * losing and doubling nothing.
 */
#include "testutil.h"
#include "internal.h"
#include "model/checklist.h"
#include "county.h"
#include "e2e.h"
#include "linkproxy.h"
#include "sync_internal.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <openssl/sha.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- the chain audit ---- */
static void the_server_audits_each_devices_chain_as_gaps_fill(void **state)
{
	e2e *f = *state;
	e2e_enroll(f, "石柱县");
	char urgent[2][FIC_UUID_BUFSIZE];
	e2e_patrol_day(f, urgent); /* chain entries 1, 2 (tip-offs), 3, 4 (urgent: sent first) */
	fic_sync_report rep = FIC_SYNC_REPORT_INIT;
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_OK);
	assert_int_equal(county_chain_breaks(f->server, NULL), 0);
	/* A finished inspection is chained too (entry 5), and arrives as an inspection record. */
	fic_site ws = FIC_SITE_INIT, *site;
	ws.kind = FIC_SITE_WATER_RURAL;
	ws.name = "石桥村集中供水站";
	assert_int_equal(fic_site_add(&site, f->store, &ws, "巡查发现"), FIC_OK);
	char insp[FIC_UUID_BUFSIZE];
	assert_int_equal(fic_inspection_start(insp, f->store, site->id, "water.field_test"), FIC_OK);
	fic_site_free(site);
	static const char *const answers[][2] = {
		{ "sample_point", "outlet" }, { "disinfectant", "free_chlorine" },
		{ "colour_or_matter", "no" }, { "odour", "no" }, { "ph", "7.2" }, { "residual", "0.5" },
	};
	for (size_t k = 0; k < sizeof answers / sizeof answers[0]; k++)
		assert_int_equal(fic_inspection_answer(f->store, insp, answers[k][0], answers[k][1]), FIC_OK);
	assert_int_equal(fic_inspection_finish(NULL, f->store, insp), FIC_OK);
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_OK);
	assert_int_equal(county_record_count(f->server, "inspection"), 1);
	assert_true(county_received_at(f->server, insp) > 0);
	assert_int_equal(county_chain_breaks(f->server, NULL), 0);
	/* A forged entry 6 whose own hash is right but whose link is not. */
	char token[200];
	e2e_token(f->store, token, sizeof token);
	char canon[600], hash[65];
	snprintf(canon, sizeof canon,
	         "{\"chain_seq\":6,\"device_id\":\"%s\",\"prev_hash\":\"%064d\"}",
	         fic_store_device_id(f->store), 0);
	e2e_sha_hex(canon, strlen(canon), hash);
	cJSON *rec = cJSON_CreateObject(), *recs = cJSON_CreateArray(), *root = cJSON_CreateObject();
	cJSON_AddStringToObject(rec, "type", "lead");
	cJSON_AddStringToObject(rec, "id", "forged-6");
	cJSON_AddStringToObject(rec, "op", "submit");
	cJSON_AddNumberToObject(rec, "seq", 6);
	cJSON_AddStringToObject(rec, "hash", hash);
	cJSON_AddStringToObject(rec, "canonical", canon);
	cJSON_AddItemToArray(recs, rec);
	cJSON_AddItemToObject(root, "records", recs);
	char *body = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	assert_int_equal(e2e_post_raw(f, "/v1/records", token, NULL, body, strlen(body)), 200);
	free(body);
	char *report = NULL;
	size_t rlen = 0;
	FILE *mem = open_memstream(&report, &rlen);
	assert_int_equal(county_chain_breaks(f->server, mem), 1);
	fclose(mem);
	assert_non_null(strstr(report, "chain_link"));
	assert_non_null(strstr(report, " entry 6:"));
	free(report);
}

/* ---- TLS: the reference server over HTTPS, the device verifying it ---- */
static char *slurp(const char *path)
{
	FILE *fp = fopen(path, "rb");
	assert_non_null(fp);
	char *buf = calloc(1, 65536);
	size_t n = fread(buf, 1, 65535, fp);
	fclose(fp);
	buf[n] = '\0';
	return buf;
}

/* A self-signed certificate for `san` (e.g. "IP:127.0.0.1") with the openssl tool. */
static void make_cert(const char *dir, const char *name, const char *san)
{
	char cmd[1200];
	snprintf(cmd, sizeof cmd,
	         "cd '%s' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
	         "-subj /CN=county-test -addext subjectAltName=%s -days 2 -keyout %s.key -out %s.pem "
	         ">/dev/null 2>&1 && openssl x509 -in %s.pem -pubkey -noout | openssl pkey -pubin "
	         "-outform der | openssl dgst -sha256 -binary | openssl base64 -A >%s.pin",
	         dir, san, name, name, name, name);
	assert_int_equal(system(cmd), 0);
}

static int enrol_over(e2e *f, county_server *srv, const char *url, const char *ca,
                      const char *pin)
{
	fic_curl_options co = FIC_CURL_OPTIONS_INIT;
	co.ca_file = ca;
	co.pinned_public_key = pin;
	fic_transport *t;
	assert_int_equal(fic_transport_curl_new(&t, &co), FIC_OK);
	fic_sync_options o = f->opts;
	o.transport = t;
	o.server_url = url;
	char code[32];
	assert_int_equal(county_issue_code(srv, "石柱县", code, sizeof code), 0);
	int rc = fic_sync_enroll(f->store, &o, code, NULL);
	if (rc == FIC_OK) {
		char urgent[2][FIC_UUID_BUFSIZE];
		e2e_patrol_day(f, urgent);
		fic_sync_report rep = FIC_SYNC_REPORT_INIT;
		rc = fic_sync_run(f->store, &o, &rep);
		assert_int_equal(rep.stored, 7);
	}
	fic_transport_curl_free(t);
	return rc;
}

static void over_https_the_device_verifies_the_server(void **state)
{
	e2e *f = *state;
	make_cert(f->dir, "good", "IP:127.0.0.1");
	make_cert(f->dir, "other", "DNS:county.other.example");
	char path[600];
	snprintf(path, sizeof path, "%s/good.pem", f->dir);
	char *cert = slurp(path);
	snprintf(path, sizeof path, "%s/good.key", f->dir);
	char *key = slurp(path);
	snprintf(path, sizeof path, "%s/good.pin", f->dir);
	char *pin_b64 = slurp(path);
	county_server *srv;
	char err[300], *db = tu_path(f->dir, "tls.db");
	assert_int_equal(county_open(&srv, db, err, sizeof err), 0);
	assert_int_equal(county_set_key_dir(srv, f->keys, err, sizeof err), 0);
	free(db);
	if (county_listen_tls(srv, "127.0.0.1:0", cert, key, err, sizeof err) != 0)
		fail_msg("%s", err);
	char url[64], ca[600], other_ca[600], pin[200];
	snprintf(url, sizeof url, "https://127.0.0.1:%d", county_port(srv));
	snprintf(ca, sizeof ca, "%s/good.pem", f->dir);
	snprintf(other_ca, sizeof other_ca, "%s/other.pem", f->dir);
	/* Not trusted (the system's CAs do not know it), or another certificate: refused. */
	assert_int_equal(enrol_over(f, srv, url, NULL, NULL), FIC_ETLS);
	assert_int_equal(enrol_over(f, srv, url, other_ca, NULL), FIC_ETLS);
	/* Trusted, but pinned to another key: refused. */
	assert_int_equal(enrol_over(f, srv, url, ca,
	                            "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="), FIC_ETLS);
	assert_int_equal(e2e_held(srv), 0);
	/* Trusted and pinned to its key: enrolment, the day's records, the feeds. */
	snprintf(pin, sizeof pin, "sha256//%s", pin_b64);
	assert_int_equal(enrol_over(f, srv, url, ca, pin), FIC_OK);
	assert_int_equal(e2e_held(srv), 7);
	county_close(srv);
	/* A server whose certificate names another host is refused even when trusted. */
	snprintf(path, sizeof path, "%s/other.pem", f->dir);
	char *ocert = slurp(path);
	snprintf(path, sizeof path, "%s/other.key", f->dir);
	char *okey = slurp(path);
	db = tu_path(f->dir, "tls2.db");
	assert_int_equal(county_open(&srv, db, err, sizeof err), 0);
	assert_int_equal(county_set_key_dir(srv, f->keys, err, sizeof err), 0);
	free(db);
	assert_int_equal(county_listen_tls(srv, "127.0.0.1:0", ocert, okey, err, sizeof err), 0);
	snprintf(url, sizeof url, "https://127.0.0.1:%d", county_port(srv));
	assert_int_equal(enrol_over(f, srv, url, other_ca, NULL), FIC_ETLS);
	county_close(srv);
	free(ocert);
	free(okey);
	free(cert);
	free(key);
	free(pin_b64);
}

/* ---- faults on the link: a fault-injecting proxy in front of the real server ---- */
static void every_fault_on_the_link_loses_and_doubles_nothing(void **state)
{
	e2e *f = *state;
	/* The device enrols through the link: its token goes only to the URL it
	 * enrolled with. */
	tu_link *link;
	tu_link_options lo = { .upstream_port = county_port(f->server) };
	assert_int_equal(tu_link_start(&link, &lo), 0);
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d", tu_link_port(link));
	f->opts.server_url = url;
	e2e_enroll(f, "石柱县");
	char urgent[2][FIC_UUID_BUFSIZE];
	e2e_patrol_day(f, urgent);
	char site_sha[2][65], urgent_sha[65], lead[FIC_UUID_BUFSIZE];
	e2e_photo_backlog(f, site_sha, urgent_sha, lead);
	f->opts.photo_chunk_bytes = 8192;
	f->opts.low_speed_time_ms = 1000; /* a stall is cut off after a second */
	f->opts.total_timeout_ms = 5000;
	static const struct {
		tu_fault kind;
		int64_t after;
	} faults[] = {
		{ TU_FAULT_RESET_UP, 100 },      /* mid-request, in the headers */
		{ TU_FAULT_RESET_UP, 12000 },    /* deep in a photo chunk (libcurl may resend it
		                                    on a new connection: harmless, idempotent) */
		{ TU_FAULT_RESET_UP, 1500 },     /* mid-request, in the body */
		{ TU_FAULT_RESET_DOWN, 10 },     /* the server stored it; the answer dies */
		{ TU_FAULT_RESET_DOWN, 320 },    /* mid-response (the second feed page's) */
		{ TU_FAULT_TRUNCATE_DOWN, 60 },  /* a truncated answer, cleanly closed */
		{ TU_FAULT_TRUNCATE_DOWN, 300 },
		{ TU_FAULT_STALL_DOWN, 0 },      /* the answer never comes */
		{ TU_FAULT_STALL_DOWN, 200 },
	};
	int failed = 0;
	for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++) {
		tu_link_fault(link, faults[i].kind, faults[i].after);
		if (i == 5)
			county_fault_busy(f->server, 2, 1); /* and a 503 with Retry-After, twice */
		/* A fresh transport: a fresh connection, which is the one the fault hits. */
		fic_transport *t;
		assert_int_equal(fic_transport_curl_new(&t, NULL), FIC_OK);
		f->opts.transport = t;
		fic_sync_report rep = FIC_SYNC_REPORT_INIT;
		int rc = fic_sync_run(f->store, &f->opts, &rep);
		print_message("# fault %zu: %lld requests, %lld bytes received: %s %s\n", i,
		              (long long)rep.requests, (long long)rep.bytes_received,
		              fic_result_str(rc), rc ? fic_error_last()->message : "");
		if (rc != FIC_OK) {
			if (rc != FIC_ENETWORK && rc != FIC_EPROTO)
				fail_msg("fault %zu: %s", i, fic_error_last()->message);
			failed++;
		}
		fic_transport_curl_free(t);
		/* Whatever was deferred may go again now. */
		assert_int_equal(fic_sync_network_changed(f->store, 1), FIC_OK);
	}
	assert_true(failed >= 7); /* each fault that hit a pass's first connection failed it */
	fic_transport *t;
	assert_int_equal(fic_transport_curl_new(&t, NULL), FIC_OK);
	f->opts.transport = t;
	fic_sync_report rep = FIC_SYNC_REPORT_INIT;
	int rc = FIC_ERROR;
	for (int pass = 0; pass < 10 && rc != FIC_OK; pass++) {
		rc = fic_sync_run(f->store, &f->opts, &rep);
		fic_sync_network_changed(f->store, 1);
	}
	if (rc != FIC_OK)
		fail_msg("%s", fic_error_last()->message);
	fic_transport_curl_free(t);
	f->opts.transport = f->transport;
	tu_link_stop(link);
	/* Every record once, every photo whole and verified, nothing left on the device. */
	int64_t rows = e2e_acked_with_receipts(f->store, f->server);
	assert_int_equal(e2e_held(f->server), rows);
	assert_int_equal(e2e_uploads_where(f, "state <> 'done'"), 0);
	assert_int_equal(county_photo_count(f->server), 3);
	assert_int_equal(county_photo_bad(f->server), 0);
	assert_int_equal(county_chain_breaks(f->server, NULL), 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, e2e_setup, e2e_teardown)
	const struct CMUnitTest tests[] = {
		T(the_server_audits_each_devices_chain_as_gaps_fill),
		T(over_https_the_device_verifies_the_server),
		T(every_fault_on_the_link_loses_and_doubles_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
