/*
 * tests/fuzz/fuzz_wire_results.c — the server's answer to a records batch
 * (fic__wire_parse_results): untrusted bytes from the network that decide
 * which outbox rows are acknowledged. Each input is read as the answer to a
 * batch of three records (a lead, a site change with its own wire id, an
 * audit entry) and to a batch of the lead alone. An answer that parses must
 * give every record of the batch exactly one well-formed result.
 * Seeds: answers the reference server gave to such batches.
 */
#include "fuzz_util.h"
#include "sync_internal.h"

#include <string.h>

static char lead_type[] = "lead", site_type[] = "site", audit_type[] = "audit";
static char lead_id[] = "0195a0b2-6c1e-7d3a-9f00-4b2c1d0e5a01";
static char site_id[] = "0195a0b2-6c1e-7d3a-9f00-4b2c1d0e5a02";
static char site_wire[] = "0195a0b2-0000-7000-8000-000000000001:site:12";
static char audit_id[] = "0195a0b2-0000-7000-8000-000000000001:41";
static char op_add[] = "add", op_update[] = "update";

static void parse_against(const uint8_t *data, size_t size, fic__outbox_item *items, size_t n)
{
	fic__outbox_batch batch = { items, n, 0, false };
	fic__record_result *res = NULL;
	int rc = fic__wire_parse_results((const char *)data, size, &batch, &res);
	if (rc != FIC_OK) {
		FZ_CHECK(res == NULL);
		FZ_CHECK(rc == FIC_EPROTO || rc == FIC_ENOMEM);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const fic__record_result *r = &res[i];
		FZ_CHECK(r->kind == FIC__RESULT_STORED || r->kind == FIC__RESULT_DUPLICATE ||
		         r->kind == FIC__RESULT_REJECTED);
		if (r->kind == FIC__RESULT_REJECTED)
			FZ_CHECK(r->reason != NULL && r->retry_after_ms >= 0);
		else
			FZ_CHECK(r->receipt_id != NULL && r->receipt_id[0] != '\0' &&
			         r->received_at_ms >= 0);
	}
	fic__wire_results_free(res, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fic__outbox_item items[3] = {
		{ 1, 100, 0, lead_type, lead_id, op_add, NULL, NULL },
		{ 12, 0, 0, site_type, site_id, op_update, NULL, site_wire },
		{ 13, 0, 2, audit_type, audit_id, op_add, NULL, NULL },
	};
	parse_against(data, size, items, 3);
	parse_against(data, size, items, 1);
	return 0;
}
