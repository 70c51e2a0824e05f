/*
 * tools/fic/cmd_sync.c — `fic enroll` and `fic sync`: enrol the store's
 * device with a county server; run a sync pass (records urgent leads first,
 * then photos, then the county's checklists, sites and tasks) with a
 * progress line on a terminal; list what the server refused.
 */
#include "fic.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct sync_args {
	const char *server;
	const char *ca;
	const char *pin;
	const char *name;
	const char *pos[4];
	int npos;
} sync_args;

static int parse(sync_args *a, int argc, char **argv)
{
	memset(a, 0, sizeof *a);
	a->server = getenv("FIC_SERVER");
	for (int i = 0; i < argc; i++) {
		const char *o = argv[i];
		if (strcmp(o, "--server") == 0 && i + 1 < argc)
			a->server = argv[++i];
		else if (strcmp(o, "--ca") == 0 && i + 1 < argc)
			a->ca = argv[++i];
		else if (strcmp(o, "--pin") == 0 && i + 1 < argc)
			a->pin = argv[++i];
		else if (strcmp(o, "--name") == 0 && i + 1 < argc)
			a->name = argv[++i];
		else if (strncmp(o, "--", 2) == 0)
			return usage("unknown or incomplete option", o);
		else if (a->npos < 4)
			a->pos[a->npos++] = o;
		else
			return usage("too many arguments", o);
	}
	return 0;
}

static void on_progress(void *arg, const fic_sync_progress *p)
{
	(void)arg;
	int width = 30;
	int64_t done = p->records_done + p->photos_done;
	int64_t total = p->records_total + p->photos_done + p->photos_pending;
	int filled = total ? (int)(width * done / total) : width;
	fprintf(stderr, "\r[%.*s%*s] %" PRId64 "/%" PRId64 " records, %" PRId64 "/%" PRId64
	        " photos, %" PRId64 " KiB sent%s   ",
	        filled, "##############################", width - filled, "", p->records_done,
	        p->records_total, p->photos_done, p->photos_done + p->photos_pending,
	        p->bytes_sent / 1024, p->urgent_pending ? ", URGENT pending" : "");
	fflush(stderr);
}

static int with_transport(ctx *c, sync_args *a, fic_transport **t, fic_sync_options *o)
{
	if (a->server == NULL || a->server[0] == '\0')
		return usage("no server: give --server URL or set FIC_SERVER", NULL);
	int rc = open_store(c);
	if (rc)
		return rc;
	fic_curl_options co = FIC_CURL_OPTIONS_INIT;
	co.ca_file = a->ca;
	co.pinned_public_key = a->pin;
	if (fic_transport_curl_new(t, &co) != FIC_OK)
		return fail();
	*o = (fic_sync_options)FIC_SYNC_OPTIONS_INIT;
	o->transport = *t;
	o->server_url = a->server;
	return 0;
}

int cmd_enroll(ctx *c, int argc, char **argv)
{
	sync_args a;
	int rc = parse(&a, argc, argv);
	if (rc)
		return rc;
	if (a.npos != 1)
		return usage("enroll takes the one-time code the county issued", NULL);
	fic_transport *t = NULL;
	fic_sync_options o;
	if ((rc = with_transport(c, &a, &t, &o)) != 0) {
		fic_transport_curl_free(t);
		return rc;
	}
	if (fic_sync_enroll(c->store, &o, a.pos[0], a.name) != FIC_OK) {
		rc = fail();
	} else {
		char county[256];
		fic_sync_enrolled(c->store, county, sizeof county);
		printf("enrolled device %s with %s\n", fic_store_device_id(c->store), county);
	}
	fic_transport_curl_free(t);
	return rc;
}

int cmd_unenroll(ctx *c, int argc, char **argv)
{
	(void)argv;
	if (argc != 0)
		return usage("unenroll takes no arguments", NULL);
	int rc = open_store(c);
	if (rc != 0)
		return rc;
	if (fic_sync_unenroll(c->store) != FIC_OK)
		return fail();
	printf("unenrolled device %s: no token, county or county key kept; enrol again to sync\n",
	       fic_store_device_id(c->store));
	return 0;
}

static int list_rejections(ctx *c)
{
	fic_sync_rejection_list *l;
	if (fic_sync_rejections_get(&l, c->store) != FIC_OK)
		return fail();
	if (c->json) {
		cJSON *arr = cJSON_CreateArray();
		for (size_t i = 0; i < l->count; i++) {
			cJSON *j = cJSON_CreateObject();
			cJSON_AddStringToObject(j, "type", l->entries[i].record_type);
			cJSON_AddStringToObject(j, "id", l->entries[i].record_id);
			cJSON_AddStringToObject(j, "op", l->entries[i].op);
			cJSON_AddStringToObject(j, "reason", l->entries[i].reason);
			cJSON_AddItemToArray(arr, j);
		}
		print_json(arr);
	} else {
		for (size_t i = 0; i < l->count; i++)
			printf("%s %s (%s): %s\n", l->entries[i].record_type, l->entries[i].record_id,
			       l->entries[i].op, l->entries[i].reason);
		if (l->count == 0)
			printf("the server has refused no record\n");
	}
	fic_sync_rejection_list_free(l);
	return 0;
}

int cmd_sync(ctx *c, int argc, char **argv)
{
	sync_args a;
	int rc = parse(&a, argc, argv);
	if (rc)
		return rc;
	if (a.npos == 1 && strcmp(a.pos[0], "rejections") == 0) {
		if ((rc = open_store(c)) != 0)
			return rc;
		return list_rejections(c);
	}
	if (a.npos != 0)
		return usage("sync takes options only (or: sync rejections)", a.pos[0]);
	fic_transport *t = NULL;
	fic_sync_options o;
	if ((rc = with_transport(c, &a, &t, &o)) != 0) {
		fic_transport_curl_free(t);
		return rc;
	}
	bool tty = isatty(STDERR_FILENO);
	if (tty && !c->json)
		o.progress = on_progress;
	fic_sync_report r = FIC_SYNC_REPORT_INIT;
	int src = fic_sync_run(c->store, &o, &r);
	if (o.progress)
		fputc('\n', stderr);
	if (c->json) {
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "result", fic_result_str(src));
		cJSON_AddNumberToObject(j, "stored", (double)r.stored);
		cJSON_AddNumberToObject(j, "duplicates", (double)r.duplicates);
		cJSON_AddNumberToObject(j, "rejected", (double)r.rejected);
		cJSON_AddNumberToObject(j, "deferred", (double)r.deferred);
		cJSON_AddNumberToObject(j, "urgent_acked", (double)r.urgent_acked);
		cJSON_AddNumberToObject(j, "pending", (double)r.pending);
		cJSON_AddNumberToObject(j, "requests", (double)r.requests);
		cJSON_AddNumberToObject(j, "bytes_sent", (double)r.bytes_sent);
		cJSON_AddNumberToObject(j, "bytes_received", (double)r.bytes_received);
		cJSON_AddNumberToObject(j, "photos_sent", (double)r.photos_sent);
		cJSON_AddNumberToObject(j, "photos_rejected", (double)r.photos_rejected);
		cJSON_AddNumberToObject(j, "photos_pending", (double)r.photos_pending);
		cJSON_AddNumberToObject(j, "pulled", (double)r.pulled);
		cJSON_AddNumberToObject(j, "pull_skipped", (double)r.pull_skipped);
		cJSON_AddNumberToObject(j, "pull_invalid", (double)r.pull_invalid);
		cJSON_AddNumberToObject(j, "set_aside", (double)r.set_aside);
		print_json(j);
	} else if (src == FIC_OK || r.requests > 0) {
		printf("sync: records %" PRId64 " stored, %" PRId64 " already there, %" PRId64
		       " refused, %" PRId64 " to retry, %" PRId64 " still queued (%" PRId64
		       " urgent delivered)\n",
		       r.stored, r.duplicates, r.rejected, r.deferred, r.pending, r.urgent_acked);
		printf("      photos %" PRId64 " delivered, %" PRId64 " refused, %" PRId64
		       " still queued\n", r.photos_sent, r.photos_rejected, r.photos_pending);
		printf("      from the county %" PRId64 " applied, %" PRId64 " unchanged, %" PRId64
		       " invalid\n", r.pulled, r.pull_skipped, r.pull_invalid);
		if (r.set_aside > 0)
			printf("      %" PRId64 " stored entr%s could not be read and %s set aside"
			       " (see: fic sync rejections)\n", r.set_aside, r.set_aside == 1 ? "y" : "ies",
			       r.set_aside == 1 ? "was" : "were");
		printf("      %" PRId64 " requests, %" PRId64 " bytes up, %" PRId64 " bytes down\n",
		       r.requests, r.bytes_sent, r.bytes_received);
	}
	rc = src == FIC_OK ? 0 : fail();
	fic_transport_curl_free(t);
	return rc;
}
