/*
 * tools/fic/cmd_sms.c — `fic lead sms…`: the SMS fallback of urgent leads
 * (fieldinspect/sms.h). The tool cannot send an SMS; it prints the parts and
 * the number for whoever can, records that they went, and takes the
 * county's confirmation.
 *
 *   fic lead sms ID [--json]           the parts to send and the recipient
 *   fic lead sms-sent ID               record that they were sent
 *   fic lead sms-receipt ID TEXT…      the county's confirmation (words may be separate)
 *   fic lead sms-due [--json]          the urgent leads that should go by SMS now
 */
#include "fic.h"

#include <stdio.h>
#include <string.h>

static void print_sms(const fic_sms *m, bool json)
{
	if (json) {
		cJSON *j = cJSON_CreateObject(), *parts = cJSON_CreateArray();
		cJSON_AddStringToObject(j, "lead_id", m->lead_id);
		cJSON_AddStringToObject(j, "recipient", m->recipient);
		cJSON_AddNumberToObject(j, "format", m->format);
		cJSON_AddNumberToObject(j, "frame_bytes", (double)m->frame_bytes);
		for (size_t i = 0; i < m->count; i++)
			cJSON_AddItemToArray(parts, cJSON_CreateString(m->parts[i]));
		cJSON_AddItemToObject(j, "parts", parts);
		print_json(j);
		return;
	}
	printf("send %zu SMS to %s, each as it is (format %d, %zu bytes):\n", m->count, m->recipient,
	       m->format, m->frame_bytes);
	for (size_t i = 0; i < m->count; i++)
		printf("%s\n", m->parts[i]);
	printf("then: fic lead sms-sent %s\n", m->lead_id);
}

static int due(ctx *c, bool json)
{
	char *text;
	if (fic_lead_sms_due_json(&text, c->store) != FIC_OK)
		return fail();
	if (json) {
		puts(text);
		fic_free(text);
		return 0;
	}
	cJSON *j = cJSON_Parse(text);
	fic_free(text);
	const cJSON *leads = cJSON_GetObjectItemCaseSensitive(j, "leads"), *e;
	const cJSON *to = cJSON_GetObjectItemCaseSensitive(j, "recipient");
	cJSON_ArrayForEach(e, leads) {
		double left = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(e, "remaining_ms"));
		printf("%s  %+.0f min left  %s\n",
		       cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "lead_id")), left / 60000,
		       cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "title")));
	}
	printf("%d lead%s to send by SMS%s%s%s\n", cJSON_GetArraySize(leads),
	       cJSON_GetArraySize(leads) == 1 ? "" : "s", cJSON_IsString(to) ? " to " : "",
	       cJSON_IsString(to) ? to->valuestring : "",
	       cJSON_IsString(to) ? "" : " (no sms_gateway_number set)");
	cJSON_Delete(j);
	return 0;
}

int cmd_lead_sms(ctx *c, const char *verb, int argc, char **argv)
{
	const char *pos[16];
	int npos = 0;
	bool json = c->json;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (strncmp(argv[i], "--", 2) == 0)
			return usage("unknown option", argv[i]);
		else if (npos < 16)
			pos[npos++] = argv[i];
		else
			return usage("too many arguments", argv[i]);
	}
	bool receipt = strcmp(verb, "sms-receipt") == 0;
	if (strcmp(verb, "sms-due") == 0) {
		if (npos != 0)
			return usage("lead sms-due takes no arguments", NULL);
	} else if (receipt ? npos < 2 : npos != 1) {
		return usage(receipt ? "lead sms-receipt needs a lead id and the county's text"
		                     : "lead sms / sms-sent needs one lead id", NULL);
	}
	int rc = open_store(c);
	if (rc)
		return rc;
	if (strcmp(verb, "sms-due") == 0)
		return due(c, json);
	if (strcmp(verb, "sms") == 0) {
		fic_sms *m;
		if (fic_lead_sms(&m, c->store, pos[0]) != FIC_OK)
			return fail();
		print_sms(m, json);
		fic_sms_free(m);
		return 0;
	}
	if (strcmp(verb, "sms-sent") == 0) {
		if (fic_lead_sms_sent(c->store, pos[0]) != FIC_OK)
			return fail();
		printf("lead %s recorded as sent by SMS\n", pos[0]);
		return 0;
	}
	/* sms-receipt: the words of the text, however the shell split them */
	char text[FIC_SMS_RECEIPT_MAX + 1] = "";
	size_t used = 0;
	for (int i = 1; i < npos; i++) {
		int n = snprintf(text + used, sizeof text - used, "%s%s", i > 1 ? " " : "", pos[i]);
		if (n < 0 || (size_t)n >= sizeof text - used)
			return usage("the confirmation is longer than one SMS", NULL);
		used += (size_t)n;
	}
	if (fic_lead_sms_receipt(c->store, pos[0], text) != FIC_OK)
		return fail();
	char *lj;
	if (fic_lead_get_json(&lj, c->store, pos[0]) != FIC_OK)
		return fail();
	cJSON *j = cJSON_Parse(lj);
	fic_free(lj);
	char when[32];
	format_time((int64_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(j, "receipt_at_ms")),
	            when, sizeof when);
	printf("lead %s delivered: the county received it by SMS at %s (receipt %s)\n", pos[0], when,
	       cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "receipt_id")));
	cJSON_Delete(j);
	return 0;
}
