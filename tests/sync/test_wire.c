/*
 * tests/sync/test_wire.c — the records batch as it goes on the wire, gzip,
 * and the server's answer: a well-formed answer maps onto the batch; every
 * hostile or malformed answer (not JSON, wrong types, missing, extra,
 * duplicate or unknown records, oversized, bad UTF-8, zip bombs) is refused
 * with FIC_EPROTO or the gzip error, and out-of-memory at every allocation
 * is FIC_ENOMEM without a leak.
 */
#include "testutil.h"
#include "internal.h"
#include "sync_internal.h"

#include <cjson/cJSON.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

/* A two-record batch built by hand: a chained lead and a site change. */
static fic__outbox_batch *sample_batch(void)
{
	fic__outbox_batch *b = fic__calloc(1, sizeof *b);
	b->items = fic__calloc(2, sizeof *b->items);
	b->count = 2;
	b->items[0] = (fic__outbox_item){
		.seq = 7, .priority = 100, .record_type = fic__strdup("lead"),
		.record_id = fic__strdup("0190f0a0-0000-7000-8000-000000000001"),
		.op = fic__strdup("submit"),
		.payload = fic__strdup("{\"seq\":3,\"hash\":\"ab12\",\"canonical\":\"{\\\"a\\\":\\\"学校\\\"}\"}")
	};
	b->items[1] = (fic__outbox_item){
		.seq = 8, .priority = 0, .record_type = fic__strdup("site"),
		.record_id = fic__strdup("0190f0a0-0000-7000-8000-000000000002"),
		.op = fic__strdup("add"),
		.payload = fic__strdup("{\"name\":\"一小\",\"enrolment\":300}")
	};
	return b;
}

static void a_batch_is_encoded_per_the_protocol(void **state)
{
	(void)state;
	fic__outbox_batch *b = sample_batch();
	unsigned char *body;
	size_t len;
	assert_int_equal(fic__wire_encode_batch(b, false, &body, &len), FIC_OK);
	cJSON *j = cJSON_ParseWithLength((const char *)body, len);
	assert_non_null(j);
	cJSON *recs = cJSON_GetObjectItem(j, "records");
	assert_int_equal(cJSON_GetArraySize(recs), 2);
	cJSON *lead = cJSON_GetArrayItem(recs, 0), *site = cJSON_GetArrayItem(recs, 1);
	assert_string_equal(cJSON_GetObjectItem(lead, "type")->valuestring, "lead");
	assert_string_equal(cJSON_GetObjectItem(lead, "op")->valuestring, "submit");
	assert_int_equal(cJSON_GetObjectItem(lead, "seq")->valueint, 3);
	assert_string_equal(cJSON_GetObjectItem(lead, "canonical")->valuestring, "{\"a\":\"学校\"}");
	assert_null(cJSON_GetObjectItem(lead, "payload"));
	assert_string_equal(cJSON_GetObjectItem(site, "id")->valuestring,
	                    "0190f0a0-0000-7000-8000-000000000002");
	assert_string_equal(
		cJSON_GetObjectItem(cJSON_GetObjectItem(site, "payload"), "name")->valuestring, "一小");
	cJSON_Delete(j);

	/* gzip: the same bytes come back. */
	unsigned char *gz, *back;
	size_t gzlen, backlen;
	assert_int_equal(fic__wire_encode_batch(b, true, &gz, &gzlen), FIC_OK);
	assert_true(gz[0] == 0x1f && gz[1] == 0x8b);
	assert_int_equal(fic__gunzip(gz, gzlen, 1 << 20, &back, &backlen), FIC_OK);
	assert_int_equal(backlen, len);
	assert_memory_equal(back, body, len);
	fic__free(gz);
	fic__free(back);
	fic__free(body);

	/* A row whose payload is not a JSON object is a damaged store, not sent. */
	fic__free(b->items[1].payload);
	b->items[1].payload = fic__strdup("[1,2");
	body = (unsigned char *)"x";
	assert_int_equal(fic__wire_encode_batch(b, false, &body, &len), FIC_ECORRUPT);
	assert_null(body);
	assert_int_equal(fic__wire_encode_batch(NULL, false, &body, &len), FIC_EINVAL);
	fic__outbox_batch_free(b);
}

static void records_compress_well(void **state)
{
	(void)state;
	/* Forty site records of Chinese text and repeated keys, as a patrol day makes. */
	fic__outbox_batch *b = fic__calloc(1, sizeof *b);
	b->count = 40;
	b->items = fic__calloc(b->count, sizeof *b->items);
	for (size_t i = 0; i < b->count; i++) {
		char id[64], p[512];
		snprintf(id, sizeof id, "0190f0a0-0000-7000-8000-%012zu", i);
		snprintf(p, sizeof p,
		         "{\"name\":\"石桥镇第%zu小学\",\"address\":\"重庆市某区石桥镇中心路%zu号\","
		         "\"kind\":\"school\",\"enrolment\":%zu,\"boarding\":0,\"lat\":30.%04zu,"
		         "\"lon\":107.%04zu,\"credit_code\":\"12500000MB%07zuX\"}",
		         i, i * 3, 200 + i * 7, i * 37, i * 53, i);
		b->items[i] = (fic__outbox_item){ .seq = (int64_t)i + 1, .record_type = fic__strdup("site"),
			                          .record_id = fic__strdup(id), .op = fic__strdup("add"),
			                          .payload = fic__strdup(p) };
	}
	unsigned char *plain, *gz;
	size_t plen, gzlen;
	assert_int_equal(fic__wire_encode_batch(b, false, &plain, &plen), FIC_OK);
	assert_int_equal(fic__wire_encode_batch(b, true, &gz, &gzlen), FIC_OK);
	printf("# 40 site records: %zu bytes, %zu gzipped (%.1fx)\n", plen, gzlen,
	       (double)plen / (double)gzlen);
	assert_true(gzlen * 3 < plen);
	fic__free(plain);
	fic__free(gz);
	fic__outbox_batch_free(b);
}

static void a_good_answer_maps_onto_the_batch(void **state)
{
	(void)state;
	fic__outbox_batch *b = sample_batch();
	/* Out of order, with fields this version does not know. */
	const char *body =
		"{\"server_version\":\"9\",\"results\":["
		"{\"id\":\"0190f0a0-0000-7000-8000-000000000002\",\"status\":\"rejected\","
		"\"reason\":\"场所类型未知\",\"retry\":false,\"extra\":[1]},"
		"{\"id\":\"0190f0a0-0000-7000-8000-000000000001\",\"status\":\"stored\","
		"\"receipt_id\":\"R-1\",\"received_at_ms\":1772352000123}]}";
	fic__record_result *r;
	assert_int_equal(fic__wire_parse_results(body, strlen(body), b, &r), FIC_OK);
	assert_int_equal(r[0].kind, FIC__RESULT_STORED);
	assert_string_equal(r[0].receipt_id, "R-1");
	assert_int_equal(r[0].received_at_ms, 1772352000123LL);
	assert_int_equal(r[1].kind, FIC__RESULT_REJECTED);
	assert_string_equal(r[1].reason, "场所类型未知");
	assert_false(r[1].retry);
	fic__wire_results_free(r, b->count);

	const char *later =
		"{\"results\":[{\"id\":\"0190f0a0-0000-7000-8000-000000000001\",\"status\":\"duplicate\","
		"\"receipt_id\":\"R-0\",\"received_at_ms\":5},"
		"{\"id\":\"0190f0a0-0000-7000-8000-000000000002\",\"status\":\"rejected\","
		"\"reason\":\"busy\",\"retry\":true,\"retry_after_ms\":2500}]}";
	assert_int_equal(fic__wire_parse_results(later, strlen(later), b, &r), FIC_OK);
	assert_int_equal(r[0].kind, FIC__RESULT_DUPLICATE);
	assert_true(r[1].retry);
	assert_int_equal(r[1].retry_after_ms, 2500);
	fic__wire_results_free(r, b->count);
	fic__outbox_batch_free(b);
}

#define ID1 "\"0190f0a0-0000-7000-8000-000000000001\""
#define ID2 "\"0190f0a0-0000-7000-8000-000000000002\""
#define OK1 "{\"id\":" ID1 ",\"status\":\"stored\",\"receipt_id\":\"R\",\"received_at_ms\":1}"
#define OK2 "{\"id\":" ID2 ",\"status\":\"stored\",\"receipt_id\":\"R\",\"received_at_ms\":1}"

static void hostile_answers_are_refused(void **state)
{
	(void)state;
	fic__outbox_batch *b = sample_batch();
	static const char *bad[] = {
		"",
		"not json",
		"<html>502 Bad Gateway</html>",
		"[" OK1 "," OK2 "]",
		"{\"results\":{}}",
		"{\"results\":null}",
		"{\"result\":[" OK1 "," OK2 "]}",
		"{\"results\":[" OK1 "]}",                         /* one missing */
		"{\"results\":[" OK1 "," OK2 "," OK2 "]}",         /* one extra */
		"{\"results\":[" OK1 "," OK1 "]}",                 /* duplicate id */
		"{\"results\":[" OK1 ",{\"id\":\"someone-else\",\"status\":\"stored\",\"receipt_id\":\"R\","
		"\"received_at_ms\":1}]}",                         /* not sent */
		"{\"results\":[" OK1 ",{\"id\":" ID2 ",\"status\":\"accepted\"}]}",
		"{\"results\":[" OK1 ",{\"id\":" ID2 ",\"status\":\"stored\"}]}", /* no receipt */
		"{\"results\":[" OK1 ",{\"id\":" ID2 ",\"status\":\"stored\",\"receipt_id\":\"\","
		"\"received_at_ms\":1}]}",
		"{\"results\":[" OK1 ",{\"id\":" ID2 ",\"status\":\"stored\",\"receipt_id\":\"R\","
		"\"received_at_ms\":-1}]}",
		"{\"results\":[" OK1 ",{\"id\":" ID2 ",\"status\":\"stored\",\"receipt_id\":\"R\","
		"\"received_at_ms\":1.5}]}",
		"{\"results\":[" OK1 ",{\"id\":" ID2 ",\"status\":\"stored\",\"receipt_id\":\"R\","
		"\"received_at_ms\":\"1\"}]}",
		"{\"results\":[" OK1 ",{\"id\":" ID2 ",\"status\":\"stored\",\"receipt_id\":\"R\","
		"\"received_at_ms\":1e300}]}",
		"{\"results\":[" OK1 ",{\"id\":" ID2 ",\"status\":\"stored\",\"receipt_id\":7,"
		"\"received_at_ms\":1}]}",
		"{\"results\":[" OK1 ",{\"id\":" ID2 ",\"status\":\"rejected\",\"reason\":\"x\"}]}",
		"{\"results\":[" OK1 ",{\"id\":" ID2 ",\"status\":\"rejected\",\"reason\":\"x\","
		"\"retry\":\"yes\"}]}",
		"{\"results\":[" OK1 ",{\"id\":" ID2 ",\"status\":\"rejected\",\"reason\":\"x\","
		"\"retry\":true,\"retry_after_ms\":\"soon\"}]}",
		"{\"results\":[" OK1 ",{\"id\":" ID2 ",\"status\":\"rejected\",\"retry\":false}]}",
		"{\"results\":[" OK1 ",{\"id\":\"\xff\xfe\",\"status\":\"stored\",\"receipt_id\":\"R\","
		"\"received_at_ms\":1}]}",                        /* invalid UTF-8 */
		"{\"results\":[" OK1 ",7]}",
		"{\"results\":[" OK1 "," OK2 "]",                  /* truncated */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		fic__record_result *r = (fic__record_result *)1;
		int rc = fic__wire_parse_results(bad[i], strlen(bad[i]), b, &r);
		if (rc != FIC_EPROTO)
			fail_msg("answer %zu (%s): %d, not FIC_EPROTO", i, bad[i], rc);
		assert_null(r);
		assert_int_equal(fic_error_last()->code, FIC_EPROTO);
	}

	/* A reason longer than 1 KiB is refused too (the user is shown it). */
	size_t n = 4000;
	char *big = malloc(n + 200);
	int k = snprintf(big, n + 200, "{\"results\":[" OK1 ",{\"id\":" ID2
	                 ",\"status\":\"rejected\",\"retry\":false,\"reason\":\"");
	memset(big + k, 'x', 2000);
	strcpy(big + k + 2000, "\"}]}");
	fic__record_result *r;
	assert_int_equal(fic__wire_parse_results(big, strlen(big), b, &r), FIC_EPROTO);

	/* A body over the size limit is refused before it is parsed. */
	size_t huge = FIC_SYNC_RESPONSE_MAX_BYTES + 1;
	char *h = malloc(huge);
	memset(h, ' ', huge);
	assert_int_equal(fic__wire_parse_results(h, huge, b, &r), FIC_EPROTO);
	assert_non_null(strstr(fic_error_last()->message, "limit"));
	free(h);
	free(big);
	assert_int_equal(fic__wire_parse_results("{}", 2, NULL, &r), FIC_EINVAL);
	fic__outbox_batch_free(b);
}

static void gunzip_refuses_bombs_and_damage(void **state)
{
	(void)state;
	size_t n = 8u << 20;
	unsigned char *zeros = calloc(1, n);
	unsigned char *gz, *out = (unsigned char *)1;
	size_t gzlen, outlen;
	assert_int_equal(fic__gzip(zeros, n, &gz, &gzlen), FIC_OK);
	assert_true(gzlen < 16384); /* 8 MiB of zeros is a tiny bomb */
	assert_int_equal(fic__gunzip(gz, gzlen, 1u << 20, &out, &outlen), FIC_ETOOBIG);
	assert_null(out);
	/* Exactly at the limit is fine; one byte under is not. */
	assert_int_equal(fic__gunzip(gz, gzlen, n, &out, &outlen), FIC_OK);
	assert_int_equal(outlen, n);
	assert_memory_equal(out, zeros, n);
	fic__free(out);
	assert_int_equal(fic__gunzip(gz, gzlen, n - 1, &out, &outlen), FIC_ETOOBIG);
	/* Truncated, damaged, trailing bytes, not gzip at all. */
	assert_int_equal(fic__gunzip(gz, gzlen - 9, n, &out, &outlen), FIC_EINVAL);
	gz[gzlen / 2] ^= 0x55;
	gz[gzlen / 2 + 1] ^= 0xAA;
	assert_int_not_equal(fic__gunzip(gz, gzlen, n, &out, &outlen), FIC_OK);
	assert_null(out);
	fic__free(gz);
	const char msg[] = "县卫生健康综合行政执法支队";
	assert_int_equal(fic__gzip(msg, sizeof msg, &gz, &gzlen), FIC_OK);
	unsigned char *tail = malloc(gzlen + 3);
	memcpy(tail, gz, gzlen);
	memcpy(tail + gzlen, "abc", 3);
	assert_int_equal(fic__gunzip(tail, gzlen + 3, 1024, &out, &outlen), FIC_EINVAL);
	assert_int_equal(fic__gunzip("plain text", 10, 1024, &out, &outlen), FIC_EINVAL);
	assert_int_equal(fic__gunzip(gz, gzlen, 1024, &out, &outlen), FIC_OK);
	assert_int_equal(outlen, sizeof msg);
	assert_memory_equal(out, msg, sizeof msg);
	fic__free(out);
	fic__free(gz);
	free(tail);
	free(zeros);
}

static void out_of_memory_anywhere_is_enomem_without_a_leak(void **state)
{
	(void)state;
	tu_alloc_install();
	tu_alloc_fail_at(0);
	fic__outbox_batch *b = sample_batch();
	const char *body = "{\"results\":[" OK1 ",{\"id\":" ID2 ",\"status\":\"rejected\","
	                   "\"reason\":\"x\",\"retry\":true}]}";
	int failures = 0;
	for (long at = 1;; at++) {
		long live = tu_alloc_live();
		tu_alloc_fail_at(at);
		unsigned char *enc = NULL, *gz = NULL;
		size_t len = 0, gzlen = 0;
		fic__record_result *r = NULL;
		int rc1 = fic__wire_encode_batch(b, false, &enc, &len);
		int rc2 = rc1 == FIC_OK ? fic__wire_encode_batch(b, true, &gz, &gzlen) : rc1;
		int rc3 = rc2 == FIC_OK ? fic__wire_parse_results(body, strlen(body), b, &r) : rc2;
		bool failed = tu_alloc_failed();
		tu_alloc_fail_at(0);
		fic__free(enc);
		fic__free(gz);
		if (r)
			fic__wire_results_free(r, b->count);
		if (tu_alloc_live() != live)
			printf("# leak when allocation %ld failed (%d %d %d)\n", at, rc1, rc2, rc3);
		assert_int_equal(tu_alloc_live(), live);
		if (!failed) {
			assert_int_equal(rc3, FIC_OK);
			break;
		}
		failures++;
		assert_int_equal(rc3, FIC_ENOMEM);
	}
	assert_true(failures > 10);
	fic__outbox_batch_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_batch_is_encoded_per_the_protocol),
		cmocka_unit_test(records_compress_well),
		cmocka_unit_test(a_good_answer_maps_onto_the_batch),
		cmocka_unit_test(hostile_answers_are_refused),
		cmocka_unit_test(gunzip_refuses_bombs_and_damage),
		cmocka_unit_test(out_of_memory_anywhere_is_enomem_without_a_leak),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
