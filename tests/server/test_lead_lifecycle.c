/*
 * tests/server/test_lead_lifecycle.c — a lead's state follows what the
 * county server answered, through the real server over loopback: queued
 * while the server cannot be reached or is busy (and at risk as the
 * two-hour deadline nears), delivered with the server's own receipt id and
 * time as soon as an answer says so — also when the answer was lost and
 * the resend comes back as a duplicate — never at risk after that, even
 * past the deadline; refused for good → rejected with the server's reason,
 * and still at risk (the inspector must phone).
 */
#include "e2e.h"
#include "internal.h"

#include <cjson/cJSON.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define MIN (60 * 1000LL)

/* The lead as listed: state, at risk, receipt time, reason. */
typedef struct seen {
	char state[16];
	int at_risk;
	int64_t receipt_at_ms;
	char reason[200];
} seen;

static seen look(e2e *f, const char *id)
{
	seen s;
	memset(&s, 0, sizeof s);
	fic_lead_list *l;
	assert_int_equal(fic_lead_list_get(&l, f->store, 0), FIC_OK);
	bool found = false;
	for (size_t i = 0; i < l->count; i++) {
		if (strcmp(l->entries[i].id, id) != 0)
			continue;
		found = true;
		snprintf(s.state, sizeof s.state, "%s", l->entries[i].state);
		s.at_risk = l->entries[i].at_risk;
		s.receipt_at_ms = l->entries[i].receipt_at_ms;
		snprintf(s.reason, sizeof s.reason, "%s",
		         l->entries[i].reject_reason ? l->entries[i].reject_reason : "");
	}
	fic_lead_list_free(l);
	assert_true(found);
	return s;
}

static void advance(e2e *f, int64_t ms)
{
	f->clock.wall_ms += ms;
	f->clock.mono_ms += ms;
}

static void an_urgent_lead_goes_from_queued_to_delivered_with_the_servers_receipt(void **state)
{
	e2e *f = *state;
	e2e_enroll(f, "石柱县"); /* the enrolment's answer verifies the clock */
	char id[FIC_UUID_BUFSIZE];
	assert_int_equal(fic_lead_file(id, f->store, "event.foodborne", tu_foodborne_answers, NULL, 0, 0),
	                 FIC_OK);
	seen s = look(f, id);
	assert_string_equal(s.state, "queued");
	assert_false(s.at_risk);
	assert_int_equal(s.receipt_at_ms, 0);

	/* The server is busy: still queued, nothing received. */
	county_fault_busy(f->server, 1, 1);
	fic_sync_report rep = FIC_SYNC_REPORT_INIT;
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_ENETWORK);
	assert_int_equal(rep.urgent_acked, 0);
	assert_string_equal(look(f, id).state, "queued");

	/* 100 minutes on, still not through: at risk. */
	advance(f, 100 * MIN);
	s = look(f, id);
	assert_string_equal(s.state, "queued");
	assert_true(s.at_risk);

	/* The server stores it, but the answer is lost on the way back (twice:
	 * libcurl itself retries once on a reused connection that dies). Until
	 * an answer arrives the device cannot know: still queued. */
	county_fault_drop_after_store(f->server, 2);
	int rc, failures = 0;
	while ((rc = fic_sync_push(f->store, &f->opts, &rep)) == FIC_ENETWORK) {
		assert_true(++failures <= 2);
		assert_int_equal(county_record_count(f->server, "lead"), 1);
		assert_string_equal(look(f, id).state, "queued");
		advance(f, rep.retry_at_ms - f->clock.wall_ms);
	}
	/* The resend comes back as a duplicate with the same receipt: delivered. */
	assert_int_equal(rc, FIC_OK);
	assert_true(failures >= 1);
	assert_int_equal(rep.urgent_acked, 1);
	assert_int_equal(rep.duplicates, 1);
	s = look(f, id);
	assert_string_equal(s.state, "delivered");
	assert_false(s.at_risk);
	assert_int_equal(s.receipt_at_ms, county_received_at(f->server, id));
	assert_true(s.receipt_at_ms > 0);

	/* Shown with the server's own receipt id. */
	char rcpt[80];
	assert_int_equal(county_receipt(f->server, id, rcpt, sizeof rcpt), 0);
	char *json;
	assert_int_equal(fic_lead_get_json(&json, f->store, id), FIC_OK);
	cJSON *j = cJSON_Parse(json);
	fic_free(json);
	assert_string_equal(cJSON_GetObjectItem(j, "state")->valuestring, "delivered");
	assert_string_equal(cJSON_GetObjectItem(j, "receipt_id")->valuestring, rcpt);
	assert_int_equal((int64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(j, "receipt_at_ms")),
	                 s.receipt_at_ms);
	cJSON_Delete(j);

	/* Past the deadline it stays delivered and is never at risk. */
	advance(f, 60 * MIN);
	s = look(f, id);
	assert_string_equal(s.state, "delivered");
	assert_false(s.at_risk);

	/* The audit log says when it was delivered, and the chain still verifies. */
	char q[200];
	snprintf(q, sizeof q, "SELECT json_extract(detail, '$.state') FROM audit WHERE "
	                      "action = 'lead.state' AND entity_id = '%s'", id);
	char st[16];
	e2e_query_text(f, q, st, sizeof st);
	assert_string_equal(st, "delivered");
	assert_int_equal(fic_evidence_verify(NULL, f->store), FIC_OK);
}

static void a_lead_the_server_refuses_is_rejected_with_its_reason_and_stays_at_risk(void **state)
{
	e2e *f = *state;
	e2e_enroll(f, "石柱县");
	char bad[FIC_UUID_BUFSIZE], good[FIC_UUID_BUFSIZE];
	assert_int_equal(fic_lead_file(bad, f->store, "event.foodborne", tu_foodborne_answers, NULL, 0, 0),
	                 FIC_OK);
	assert_int_equal(fic_lead_file(good, f->store, "lead.tip_off", tu_tip_off_answers, NULL, 0, 0),
	                 FIC_OK);
	/* The queued record no longer matches its hash: the server refuses it for good. */
	char sql[300];
	snprintf(sql, sizeof sql, "UPDATE outbox SET payload = replace(payload, '镇中心饭店', "
	                          "'别的饭店') WHERE record_id = '%s'", bad);
	assert_int_equal(sqlite3_exec(f->store->db, sql, NULL, NULL, NULL), SQLITE_OK);
	fic_sync_report rep = FIC_SYNC_REPORT_INIT;
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_OK);
	assert_int_equal(rep.rejected, 1);
	seen s = look(f, bad);
	assert_string_equal(s.state, "rejected");
	assert_non_null(strstr(s.reason, "chain_hash"));
	assert_int_equal(s.receipt_at_ms, 0);
	assert_string_equal(look(f, good).state, "delivered");
	/* Near its deadline a refused urgent lead is at risk: the county does not have it. */
	advance(f, 95 * MIN);
	assert_true(look(f, bad).at_risk);
	assert_false(look(f, good).at_risk);
}

static void every_lead_of_a_batch_is_delivered_in_one_answer(void **state)
{
	e2e *f = *state;
	e2e_enroll(f, "石柱县");
	char ids[30][FIC_UUID_BUFSIZE];
	for (int i = 0; i < 30; i++)
		assert_int_equal(fic_lead_file(ids[i], f->store, "lead.tip_off", tu_tip_off_answers, NULL,
		                               0, 0), FIC_OK);
	fic_sync_report rep = FIC_SYNC_REPORT_INIT;
	int64_t before = e2e_query_int(f, "SELECT count(*) FROM leads WHERE state = 'delivered'");
	assert_int_equal(before, 0);
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_OK);
	assert_int_equal(e2e_query_int(f, "SELECT count(*) FROM leads WHERE state = 'delivered'"), 30);
	for (int i = 0; i < 30; i++) {
		seen s = look(f, ids[i]);
		assert_string_equal(s.state, "delivered");
		assert_int_equal(s.receipt_at_ms, county_received_at(f->server, ids[i]));
	}
	/* Every delivered lead's outbox row carries the same receipt. */
	assert_int_equal(e2e_query_int(f, "SELECT count(*) FROM leads l JOIN outbox o ON "
	                                  "o.record_type = 'lead' AND o.record_id = l.id WHERE "
	                                  "o.state = 'acked' AND o.receipt_id = l.receipt_id AND "
	                                  "o.received_at_ms = l.receipt_at_ms"), 30);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, e2e_setup, e2e_teardown)
	const struct CMUnitTest tests[] = {
		T(an_urgent_lead_goes_from_queued_to_delivered_with_the_servers_receipt),
		T(a_lead_the_server_refuses_is_rejected_with_its_reason_and_stays_at_risk),
		T(every_lead_of_a_batch_is_delivered_in_one_answer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
