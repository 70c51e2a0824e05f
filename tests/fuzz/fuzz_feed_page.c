/*
 * tests/fuzz/fuzz_feed_page.c — the county's feed pages as the pull applies
 * them (sync/pull.c through fic__sync_pull): checklist definitions, sites
 * and tasks, each page in one transaction on a real store (in a scratch
 * directory; a fresh one every few hundred runs). A fake transport answers:
 * the input's first line names the feed ("checklists", "sites" or "tasks"),
 * the rest is that feed's first page — sent with Content-Encoding gzip when
 * it starts with the gzip magic, so the inflating path is fuzzed too — and
 * every other request gets an empty last page. Whatever a page holds, the
 * store must stay sound (fic_store_check: integrity, the audit log and the
 * derived tables).
 * Seeds: pages of each feed as the reference server sends them.
 */
#include "fuzz_util.h"
#include "sync_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static fic_store *store;
static char db_path[512];
static unsigned runs;

static const char *feed;         /* the feed the input is for */
static const uint8_t *page;      /* its first page */
static size_t page_len;
static int served;

static const char empty_page[] = "{\"items\":[],\"cursor\":\"end\",\"more\":false}";

static int fake_request(void *ctx, const fic_http_request *req, fic_http_response *resp)
{
	(void)ctx;
	const char *f = strstr(req->url, "/v1/feeds/");
	FZ_CHECK(f != NULL && strcmp(req->method, "GET") == 0);
	f += 10;
	const void *body = empty_page;
	size_t len = sizeof empty_page - 1;
	resp->content_encoding = FIC_HTTP_CODING_NONE;
	if (!served && strncmp(f, feed, strlen(feed)) == 0 && f[strlen(feed)] == '?') {
		served = 1;
		body = page;
		len = page_len;
		if (len >= 2 && page[0] == 0x1f && page[1] == 0x8b)
			resp->content_encoding = FIC_HTTP_CODING_GZIP;
	}
	resp->status = 200;
	resp->server_time_ms = -1;
	resp->retry_after_ms = -1;
	resp->upload_offset = -1;
	resp->body = NULL;
	if (len > 0) {
		/* fic__malloc: the engine frees the body with fic_free */
		resp->body = fic__malloc(len + 1);
		FZ_CHECK(resp->body != NULL);
		memcpy(resp->body, body, len);
		resp->body[len] = '\0';
	}
	resp->body_len = len;
	return FIC_OK;
}

static fic_transport transport = { FIC_TRANSPORT_VERSION, NULL, fake_request, NULL, 0 };

static void reopen(void)
{
	fic_store_close(store);
	store = NULL;
	char p[600];
	remove(db_path);
	snprintf(p, sizeof p, "%s-wal", db_path);
	remove(p);
	snprintf(p, sizeof p, "%s-shm", db_path);
	remove(p);
	snprintf(p, sizeof p, "%s.photos", db_path);
	fz_rmtree(p);
	fic_store_options o = FIC_STORE_OPTIONS_INIT;
	o.platform = fz_platform();
	o.actor = "fuzz";
	if (fic_store_open(&store, db_path, &o) != FIC_OK) {
		fprintf(stderr, "cannot open %s: %s\n", db_path, fic_error_last()->message);
		abort();
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(db_path, sizeof db_path, "%s/feed.db", fz_scratch_dir());
	reopen();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	if (nl == NULL)
		return 0;
	size_t fl = (size_t)(nl - data);
	static const char *const feeds[] = { "checklists", "sites", "tasks" };
	feed = NULL;
	for (size_t i = 0; i < 3; i++)
		if (fl == strlen(feeds[i]) && memcmp(data, feeds[i], fl) == 0)
			feed = feeds[i];
	if (feed == NULL)
		return 0;
	if (++runs % 256 == 0)
		reopen(); /* keep the store small: each run adds sites, tasks and audit rows */
	page = nl + 1;
	page_len = size - fl - 1;
	served = 0;
	/* Every run starts each feed from the beginning. */
	FZ_CHECK(fic__exec(store, "DELETE FROM sync_state WHERE key LIKE 'feed.%'", "fuzz", "") ==
	         FIC_OK);
	fic_sync_options o = FIC_SYNC_OPTIONS_INIT;
	o.transport = &transport;
	o.server_url = "http://127.0.0.1:1";
	fic_sync_report rep = FIC_SYNC_REPORT_INIT;
	memset(&rep, 0, sizeof rep);
	int rc = fic__sync_pull(store, &o, "Bearer 0123456789abcdef0123456789abcdef", &rep);
	FZ_CHECK(rc == FIC_OK || rc == FIC_EPROTO || rc == FIC_ETOOBIG || rc == FIC_ENOMEM);
	FZ_CHECK(rep.pulled + rep.pull_skipped + rep.pull_invalid <= 500);
	/* Only what was applied can have changed the store (a refused page rolls back). */
	if (rep.pulled > 0 && fic_store_check(store) != FIC_OK) {
		fprintf(stderr, "store check after a %s page: %s\n", feed, fic_error_last()->message);
		abort();
	}
	return 0;
}
