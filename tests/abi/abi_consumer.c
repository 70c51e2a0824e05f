/*
 * tests/abi/abi_consumer.c — an app that uses the public API across the
 * shared library's boundary, built three times (tests/CMakeLists.txt):
 * against today's headers, against headers of a later release (every
 * versioned struct one member longer and one version higher: ABI_FUTURE),
 * and against headers of the release before a member was appended
 * (ABI_OLD). Each build runs against today's libfieldinspect.so and must
 * keep working: the library reads only the members the caller's version
 * has, writes only those (never past the caller's struct: a canary after
 * it stays), refuses a version newer than its own with FIC_EINVAL, and
 * lists are walked with their accessors, not by sizeof.
 *
 * It also is a transport written outside the library: its response bodies
 * come from fic_malloc() and the engine frees them, and its table is of
 * the headers' version — 3 in the old build (no `flags`), 4 today, 5 with
 * a member the library has never heard of in the future build — which the
 * library takes, reading only the members it knows.
 *
 * Usage: abi_consumer DIR   (a fresh directory for the store)
 */
#include <fieldinspect/fieldinspect.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(ABI_FUTURE)
#define VARIANT "future"
#elif defined(ABI_OLD)
#define VARIANT "old"
#else
#define VARIANT "today"
#endif

#define CANARY 0x0123456789ABCDEFLL

static int failures;
#define CHECK(cond)                                                                     \
	do {                                                                            \
		if (!(cond)) {                                                          \
			fprintf(stderr, "abi_consumer (%s) line %d: %s failed (last error: %s)\n", \
			        VARIANT, __LINE__, #cond, fic_error_last()->message);   \
			failures++;                                                     \
		}                                                                       \
	} while (0)

/* ---- a transport written by the app ---- */
typedef struct app_transport {
	fic_transport table;
	int requests;
	unsigned int seen_version;
} app_transport;

static unsigned char *body_of(const char *text, size_t *len)
{
	*len = strlen(text);
	unsigned char *b = fic_malloc(*len + 1);
	if (b)
		memcpy(b, text, *len + 1);
	return b;
}

static int app_request(void *ctx, const fic_http_request *req, fic_http_response *resp)
{
	app_transport *t = ctx;
	t->requests++;
	t->seen_version = req->version;
	if (fic_cancel_requested(req->cancel))
		return FIC_ECANCELED;
	resp->server_time_ms = resp->retry_after_ms = resp->upload_offset = -1;
	if (strstr(req->url, "/v1/enroll")) {
		resp->status = 200;
		resp->body = body_of("{\"token\":\"0123456789abcdef0123456789abcdef\","
		                     "\"county\":\"\xe7\x9f\xb3\xe6\x9f\xb1\xe5\x8e\xbf\","
		                     "\"device_id\":\"",
		                     &resp->body_len);
		/* the device id goes in the middle: grow the body as a real transport would */
		const char *dev = strstr((const char *)req->body, "\"device_id\":\"");
		if (resp->body == NULL || dev == NULL)
			return FIC_ENOMEM;
		dev += strlen("\"device_id\":\"");
		size_t idl = strcspn(dev, "\"");
		unsigned char *nb = fic_realloc(resp->body, resp->body_len + idl + 3);
		if (nb == NULL)
			return FIC_ENOMEM;
		memcpy(nb + resp->body_len, dev, idl);
		memcpy(nb + resp->body_len + idl, "\"}", 3);
		resp->body = nb;
		resp->body_len += idl + 2;
		return FIC_OK;
	}
	/* Everything else: the county server is busy. */
	resp->status = 503;
	resp->retry_after_ms = 1000;
	resp->body = body_of("{\"message\":\"busy\"}", &resp->body_len);
	return resp->body ? FIC_OK : FIC_ENOMEM;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: abi_consumer DIR\n");
		return 2;
	}
	char path[4096];
	snprintf(path, sizeof path, "%s/abi-" VARIANT ".db", argv[1]);

	/* Options: a version newer than the library's is refused, never misread. */
	fic_store *store = NULL;
	fic_store_options so = FIC_STORE_OPTIONS_INIT;
	so.actor = "abi";
#ifdef ABI_FUTURE
	so.abi_future_member = CANARY;
	CHECK(fic_store_open(&store, path, &so) == FIC_EINVAL);
	CHECK(strstr(fic_error_last()->message, "version") != NULL);
	CHECK(store == NULL);
	so.version = 1; /* the app falls back to the layout every library reads */
#endif
	CHECK(fic_store_open(&store, path, &so) == FIC_OK);
	if (store == NULL)
		return 1;

	fic_site s = FIC_SITE_INIT;
	s.kind = FIC_SITE_WATER_RURAL;
	s.name = "\xe7\x9f\xb3\xe6\xa1\xa5\xe6\x9d\x91\xe4\xbe\x9b\xe6\xb0\xb4\xe7\xab\x99"; /* 石桥村供水站 */
	fic_site *saved = NULL;
#ifdef ABI_FUTURE
	CHECK(fic_site_add(&saved, store, &s, "abi") == FIC_EINVAL);
	s.version = 1;
#endif
	CHECK(fic_site_add(&saved, store, &s, "abi") == FIC_OK);
	CHECK(saved != NULL && saved->version >= 1 && saved->version <= FIC_SITE_VERSION);
	CHECK(saved != NULL && strcmp(saved->name, s.name) == 0);

	/* Filled structs: only the caller's members are written. */
	struct {
		fic_store_stats s;
		int64_t after; /* where a newer library's next member would be */
	} st;
	memset(&st, 0x5A, sizeof st);
	st.s = (fic_store_stats)FIC_STORE_STATS_INIT;
	st.after = CANARY;
#ifdef ABI_FUTURE
	st.s.abi_future_member = CANARY;
#endif
	CHECK(fic_store_stats_get(store, &st.s) == FIC_OK);
	CHECK(st.s.sites == 1 && st.s.audit_entries == 1 && st.s.outbox_pending == 1);
	CHECK(st.after == CANARY);
#if defined(ABI_FUTURE)
	CHECK(st.s.version == 2); /* the library's own: the app knows the new member is not filled */
	CHECK(st.s.abi_future_member == CANARY);
#elif defined(ABI_OLD)
	CHECK(st.s.version == 1); /* photos_pending, which this app has not heard of, lies where
	                             `after` is: the library did not write it */
#else
	CHECK(st.s.version == FIC_STORE_STATS_VERSION && st.s.photos_pending == 0);
#endif

	fic_time t = FIC_TIME_INIT;
#ifdef ABI_FUTURE
	t.abi_future_member = CANARY;
#endif
	CHECK(fic_time_now(&t, store) == FIC_OK);
	CHECK(t.device_ms > 0 && t.boot_id[0] != '\0' && (t.flags & FIC_TIME_NO_CONTACT));
	CHECK(t.version == 1);
#ifdef ABI_FUTURE
	CHECK(t.abi_future_member == CANARY);
#endif
	t.version = 0;
	CHECK(fic_time_now(&t, store) == FIC_EINVAL); /* no version: refused, not guessed */

	/* Lists: walked with accessors; entry_size is the library's. */
	fic_checklist_list *cl = NULL;
	CHECK(fic_checklist_list_get(&cl, store, FIC_SITE_WATER_RURAL, FIC_CHECKLIST_PATROLS) == FIC_OK);
	CHECK(cl != NULL && cl->count > 0);
	for (size_t i = 0; cl && i < cl->count; i++) {
		const fic_checklist_info *e = fic_checklist_list_at(cl, i);
		CHECK(e != NULL && e->id != NULL && e->version >= 1 && e->items > 0);
	}
	CHECK(fic_checklist_list_at(cl, cl ? cl->count : 0) == NULL);
#ifdef ABI_FUTURE
	CHECK(cl != NULL && cl->entry_size < sizeof(fic_checklist_info)); /* indexing would be wrong */
#else
	CHECK(cl != NULL && cl->entry_size == sizeof(fic_checklist_info));
#endif
	fic_checklist_list_free(cl);

	fic_audit_list *al = NULL;
	CHECK(fic_audit_list_get(&al, store, saved ? saved->id : NULL, 0) == FIC_OK);
	CHECK(al != NULL && al->count == 1);
	const fic_audit_entry *ae = fic_audit_list_at(al, 0);
	CHECK(ae != NULL && strcmp(ae->action, "site.add") == 0 && strcmp(ae->actor, "abi") == 0);
	fic_audit_list_free(al);
	fic_site_free(saved);

	/* Sync through the app's own transport; the options and the report are versioned. */
	app_transport tr = { { FIC_TRANSPORT_VERSION, NULL, app_request, NULL }, 0, 0 };
	tr.table.ctx = &tr;
	fic_sync_options o = FIC_SYNC_OPTIONS_INIT;
	o.transport = &tr.table;
	o.server_url = "https://county.example";
#ifdef ABI_FUTURE
	CHECK(fic_sync_enroll(store, &o, "ABCDEFGH", "abi") == FIC_EINVAL);
	CHECK(tr.requests == 0);
	o.version = 1;
#endif
	CHECK(fic_sync_enroll(store, &o, "ABCDEFGH", "abi") == FIC_OK);
	CHECK(tr.requests == 1 && tr.seen_version == 4); /* the library's requests are its own version */
#if defined(ABI_OLD)
	CHECK(tr.table.version == 3);
#elif defined(ABI_FUTURE)
	CHECK(tr.table.version == 5);
#else
	CHECK(tr.table.version == 4 && tr.table.flags == 0);
#endif

	struct {
		fic_sync_report r;
		int64_t after;
	} rep;
	rep.r = (fic_sync_report)FIC_SYNC_REPORT_INIT;
	rep.after = CANARY;
#ifdef ABI_FUTURE
	rep.r.abi_future_member = CANARY;
#endif
	CHECK(fic_sync_push(store, &o, &rep.r) == FIC_ENETWORK); /* 503 */
	CHECK(rep.r.requests == 1 && rep.r.deferred == 1 && rep.r.pending == 1);
	CHECK(rep.r.version == 1 && rep.after == CANARY);
#ifdef ABI_FUTURE
	CHECK(rep.r.abi_future_member == CANARY);
#endif

	/* Cancellation is an atomic flag, raised from any thread. */
	fic_cancel *cancel = NULL;
	CHECK(fic_cancel_new(&cancel) == FIC_OK);
	fic_cancel_request(cancel);
	CHECK(fic_cancel_requested(cancel) == 1);
	o.cancel = cancel;
	CHECK(fic_sync_network_changed(store, 1) == FIC_OK);
	CHECK(fic_sync_push(store, &o, NULL) == FIC_ECANCELED);
	fic_cancel_free(cancel);

	fic_store_close(store);
	if (failures) {
		fprintf(stderr, "abi_consumer (%s): %d checks failed\n", VARIANT, failures);
		return 1;
	}
	printf("abi ok (%s headers against libfieldinspect %s)\n", VARIANT, fic_version());
	return 0;
}
