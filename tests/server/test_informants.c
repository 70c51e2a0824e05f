/*
 * tests/server/test_informants.c — issue #12, "Informant protection", end to
 * end: leads naming an informant (name and phone) and a diner's phone are
 * filed, submitted and synced to the reference server; then every byte of
 * the phone's store, its WAL and shared-memory files and its photo folder,
 * and of the server's database, WAL, shared memory and photo folder, is
 * searched for the phone numbers and the name — as UTF-8 and as JSON would
 * escape them — and none is found. The same search run on the drafts first
 * finds them: it would fail if sealing were switched off. Only
 * `fic-county-server open`, with the county's private key file, gets them
 * back.
 */
#include "e2e.h"
#include "internal.h"

#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <cmocka.h>

#define INFORMANT_PHONE "13907770451"
#define INFORMANT_NAME "欧阳秀珍"
#define DINER_PHONE "13522220918"

static const char tip_off[] =
	"{\"source\":\"visit\",\"subject\":\"illegal_practice\",\"place\":\"集市西口\","
	"\"description\":\"游医在集市西口摆摊输液\",\"time_sensitive\":\"yes\",\"verified\":\"yes\","
	"\"informant_name\":\"" INFORMANT_NAME "\",\"informant_phone\":\"" INFORMANT_PHONE "\"}";
static const char foodborne[] =
	"{\"report_source\":\"primary_care\",\"diagnosis\":[\"food_poisoning\"],"
	"\"onset_date\":\"2026-03-01\",\"meal_place\":\"镇中心饭店\",\"meal_unit\":\"李家婚宴\","
	"\"contact_phone\":\"" DINER_PHONE "\",\"exposed\":120,\"ill\":\"14\",\"dead\":0,"
	"\"suspected_food\":\"凉拌菜\",\"symptoms\":[\"vomiting\",\"diarrhoea\"],"
	"\"measures_taken\":\"已送镇卫生院\",\"verified\":\"yes\"}";

/* What is searched for: each identity as UTF-8, and as a JSON encoder that
 * escapes non-ASCII would write it (\uXXXX, either case of hex). */
typedef struct needle {
	char text[64];
	const char *what;
} needle;

static size_t json_escaped(const char *utf8, char *out, size_t size, bool upper)
{
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)utf8; *p && n + 7 < size;) {
		unsigned cp = *p;
		int extra = cp >= 0xF0 ? 3 : cp >= 0xE0 ? 2 : cp >= 0xC0 ? 1 : 0;
		cp &= extra ? 0x3F >> extra : 0x7F;
		for (int i = 1; i <= extra; i++)
			cp = (cp << 6) | (p[i] & 0x3F);
		p += extra + 1;
		n += (size_t)snprintf(out + n, size - n, cp < 0x80 ? "%c" : upper ? "\\u%04X" : "\\u%04x",
		                      cp);
	}
	return n;
}

static size_t needles(needle *out)
{
	size_t n = 0;
	const char *ids[][2] = { { INFORMANT_PHONE, "the informant's phone" },
		                 { INFORMANT_NAME, "the informant's name" },
		                 { DINER_PHONE, "the diner's phone" } };
	for (size_t i = 0; i < 3; i++) {
		snprintf(out[n].text, sizeof out[n].text, "%s", ids[i][0]);
		out[n++].what = ids[i][1];
		json_escaped(ids[i][0], out[n].text, sizeof out[n].text, false);
		out[n++].what = ids[i][1];
		json_escaped(ids[i][0], out[n].text, sizeof out[n].text, true);
		out[n++].what = ids[i][1];
	}
	return n;
}

/* How many of the needles occur in `paths` (files or folders); each hit printed. */
static int hits(const char *const *paths, size_t npaths, int *files_read)
{
	needle nd[9];
	size_t nn = needles(nd);
	int found = 0, files = 0;
	for (size_t p = 0; p < npaths; p++) {
		struct stat sb;
		if (stat(paths[p], &sb) != 0)
			continue; /* a -wal or -shm that is not there holds nothing */
		for (size_t i = 0; i < nn; i++) {
			int f = 0;
			bool hit = S_ISDIR(sb.st_mode)
			                   ? tu_tree_contains(paths[p], nd[i].text, strlen(nd[i].text), &f)
			                   : tu_file_contains(paths[p], nd[i].text, strlen(nd[i].text));
			if (i == 0)
				files += S_ISDIR(sb.st_mode) ? f : 1;
			if (hit) {
				printf("# %s (%s) found in %s\n", nd[i].what, nd[i].text, paths[p]);
				found++;
			}
		}
	}
	if (files_read)
		*files_read = files;
	return found;
}

typedef struct places {
	char phone[4][700];  /* store, -wal, -shm, photo folder */
	char server[4][700]; /* county.db, -wal, -shm, photo folder */
} places;

static void where(e2e *f, places *p)
{
	const char *suffix[] = { "", "-wal", "-shm", ".photos" };
	for (int i = 0; i < 4; i++) {
		snprintf(p->phone[i], sizeof p->phone[i], "%s/store.db%s", f->dir, suffix[i]);
		snprintf(p->server[i], sizeof p->server[i], "%s/county.db%s", f->dir, suffix[i]);
	}
}

static int phone_hits(places *p, int *files)
{
	const char *paths[] = { p->phone[0], p->phone[1], p->phone[2], p->phone[3] };
	return hits(paths, 4, files);
}

static int server_hits(places *p, int *files)
{
	const char *paths[] = { p->server[0], p->server[1], p->server[2], p->server[3] };
	return hits(paths, 4, files);
}

/* `fic-county-server open` on the fixture's database with its key folder. */
static char *county_open_cmd(e2e *f, const char *args, int *status)
{
	char cmd[2000];
	snprintf(cmd, sizeof cmd, "'%s' --db '%s/county.db' --keys '%s' open %s 2>/dev/null",
	         FIC_COUNTY_SERVER_BIN, f->dir, f->keys, args);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	size_t cap = 1 << 20, n = 0, r;
	char *out = malloc(cap + 1);
	while ((r = fread(out + n, 1, cap - n, p)) > 0)
		n += r;
	out[n] = '\0';
	int rc = pclose(p);
	*status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
	return out;
}

static void add_photo(e2e *f, const char *lead)
{
	size_t len;
	unsigned char *jpg = tu_make_jpeg(640, 480, 3, 0, 85, &len);
	char pid[FIC_UUID_BUFSIZE];
	assert_int_equal(fic_photo_add_buffer(pid, f->store, FIC_PHOTO_LEAD, lead, NULL, jpg, len,
	                                      NULL), FIC_OK);
	free(jpg);
}

static void informants_are_in_clear_nowhere_on_the_phone_or_the_server(void **state)
{
	e2e *f = *state;
	places p;
	where(f, &p);
	e2e_enroll(f, "石柱县");
	char tip[FIC_UUID_BUFSIZE], food[FIC_UUID_BUFSIZE];
	assert_int_equal(fic_lead_file(tip, f->store, "lead.tip_off", tip_off, NULL, 0,
	                               FIC_LEAD_DRAFT), FIC_OK);
	assert_int_equal(fic_lead_file(food, f->store, "event.foodborne", foodborne, NULL, 0,
	                               FIC_LEAD_DRAFT), FIC_OK);
	add_photo(f, tip);
	/* Drafts are readable, and the search finds them where they are: were
	 * sealing switched off, the search below would find them too. */
	int files = 0;
	int draft_hits = phone_hits(&p, &files);
	printf("# drafts: %d hits in %d files\n", draft_hits, files);
	assert_true(draft_hits >= 3);

	assert_int_equal(fic_lead_submit(f->store, tip), FIC_OK);
	assert_int_equal(fic_lead_submit(f->store, food), FIC_OK);
	fic_sync_report rep = FIC_SYNC_REPORT_INIT;
	if (fic_sync_run(f->store, &f->opts, &rep) != FIC_OK)
		fail_msg("sync: %s", fic_error_last()->message);
	assert_int_equal(rep.photos_pending, 0);
	char state_[16];
	e2e_query_text(f, "SELECT group_concat(DISTINCT state) FROM leads", state_, sizeof state_);
	assert_string_equal(state_, "delivered");
	assert_int_equal(e2e_query_int(f, "SELECT sum(sealed) FROM leads"), 3);

	/* Submitted and synced: not one of them, in any form, on the phone… */
	assert_int_equal(phone_hits(&p, &files), 0);
	printf("# phone after sync: 0 hits in %d files\n", files);
	assert_true(files >= 4); /* the store, its WAL and shm, and the photo files */
	/* …nor on the server. */
	int sfiles = 0;
	assert_int_equal(server_hits(&p, &sfiles), 0);
	printf("# server: 0 hits in %d files\n", sfiles);
	assert_true(sfiles >= 2);

	/* The acknowledged records pruned (retention 0 days), and the store closed:
	 * still nothing. */
	assert_int_equal(fic_setting_set(f->store, "outbox_retention_days", "0"), FIC_OK);
	f->clock.wall_ms += 1000;
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_OK);
	assert_int_equal(e2e_query_int(f, "SELECT count(*) FROM outbox WHERE state = 'acked'"), 0);
	assert_int_equal(phone_hits(&p, NULL), 0);
	fic_store_close(f->store);
	f->store = NULL;
	assert_int_equal(phone_hits(&p, NULL), 0);

	/* The county's private key opens them: offline, from the database. */
	int status;
	char *out = county_open_cmd(f, "", &status);
	assert_int_equal(status, 0);
	assert_non_null(strstr(out, INFORMANT_PHONE));
	assert_non_null(strstr(out, INFORMANT_NAME));
	assert_non_null(strstr(out, DINER_PHONE));
	assert_null(strstr(out, "\"error\""));
	free(out);
	char args[100];
	snprintf(args, sizeof args, "'%s'", food);
	out = county_open_cmd(f, args, &status);
	assert_int_equal(status, 0);
	assert_non_null(strstr(out, DINER_PHONE));
	assert_null(strstr(out, INFORMANT_PHONE));
	assert_non_null(strstr(out, "\"opened\":[\"contact_phone\"]"));
	free(out);
}

static void the_county_key_stays_out_of_the_database(void **state)
{
	e2e *f = *state;
	e2e_enroll(f, "石柱县");
	fic__county_key pinned;
	assert_int_equal(fic__county_key_get(f->store, &pinned), FIC_OK);
	char path[1200];
	snprintf(path, sizeof path, "%s/%s.key", f->keys, pinned.id);
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(stat(f->keys, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	/* Its secret half is in the key file and nowhere in the server's database. */
	FILE *fp = fopen(path, "r");
	char text[2048];
	size_t n = fread(text, 1, sizeof text - 1, fp);
	fclose(fp);
	text[n] = '\0';
	char *sk = strstr(text, "\"secret_key\":");
	assert_non_null(sk);
	sk = strchr(sk + 13, '"') + 1;
	*strchr(sk, '"') = '\0';
	assert_int_equal(strlen(sk), 44);
	places p;
	where(f, &p);
	for (int i = 0; i < 4; i++) {
		struct stat s2;
		if (stat(p.server[i], &s2) != 0)
			continue;
		assert_false(S_ISDIR(s2.st_mode) ? tu_tree_contains(p.server[i], sk, strlen(sk), NULL)
		                                 : tu_file_contains(p.server[i], sk, strlen(sk)));
	}
	/* A lead whose key file is missing is printed, with the box shut and why. */
	char tip[FIC_UUID_BUFSIZE];
	assert_int_equal(fic_lead_file(tip, f->store, "lead.tip_off", tip_off, NULL, 0, 0), FIC_OK);
	fic_sync_report rep = FIC_SYNC_REPORT_INIT;
	assert_int_equal(fic_sync_push(f->store, &f->opts, &rep), FIC_OK);
	char moved[1300];
	snprintf(moved, sizeof moved, "%s.away", path);
	assert_int_equal(rename(path, moved), 0);
	int status;
	char *out = county_open_cmd(f, "", &status);
	assert_int_equal(status, 0);
	assert_non_null(strstr(out, "no key file"));
	assert_null(strstr(out, INFORMANT_PHONE));
	free(out);
	assert_int_equal(rename(moved, path), 0);
	/* The key file alone (not its folder) opens it too. */
	char cmd[2600];
	snprintf(cmd, sizeof cmd, "'%s' --db '%s/county.db' --keys '%s' open --out '%s/opened.json'",
	         FIC_COUNTY_SERVER_BIN, f->dir, path, f->dir);
	assert_int_equal(system(cmd), 0);
	snprintf(path, sizeof path, "%s/opened.json", f->dir);
	assert_true(tu_file_contains(path, INFORMANT_PHONE, strlen(INFORMANT_PHONE)));
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
}

static void a_device_enrolled_before_its_county_had_a_key_gets_it_at_its_next_sync(void **state)
{
	e2e *f = *state;
	char err[300];
	assert_int_equal(county_set_key_dir(f->server, NULL, err, sizeof err), 0);
	e2e_enroll(f, "石柱县"); /* no key to give */
	fic__county_key k;
	assert_int_equal(fic__county_key_get(f->store, &k), FIC_ENOTFOUND);
	char tip[FIC_UUID_BUFSIZE];
	assert_int_equal(fic_lead_file(tip, f->store, "lead.tip_off", tip_off, NULL, 0,
	                               FIC_LEAD_DRAFT), FIC_OK);
	assert_int_equal(fic_lead_submit(f->store, tip), FIC_ESTATE);
	fic_sync_report rep = FIC_SYNC_REPORT_INIT;
	assert_int_equal(fic_sync_run(f->store, &f->opts, &rep), FIC_OK); /* 404 no_key: no harm */
	assert_int_equal(fic__county_key_get(f->store, &k), FIC_ENOTFOUND);
	/* The county makes its key; the next pass pins it. */
	char id[32];
	assert_int_equal(county_set_key_dir(f->server, f->keys, err, sizeof err), 0);
	assert_int_equal(county_make_key(f->server, "石柱县", false, id, sizeof id, err, sizeof err), 0);
	assert_int_equal(fic_sync_run(f->store, &f->opts, &rep), FIC_OK);
	assert_int_equal(fic__county_key_get(f->store, &k), FIC_OK);
	assert_string_equal(k.id, id);
	assert_int_equal(fic_lead_submit(f->store, tip), FIC_OK);
	assert_int_equal(fic_sync_run(f->store, &f->opts, &rep), FIC_OK);
	int status;
	char *out = county_open_cmd(f, "", &status);
	assert_int_equal(status, 0);
	assert_non_null(strstr(out, INFORMANT_PHONE));
	free(out);
	/* A county that replaces its key: devices keep the pinned one (their
	 * leads stay sealed to it, and its file still opens them). */
	char id2[32];
	assert_int_equal(county_make_key(f->server, "石柱县", true, id2, sizeof id2, err, sizeof err),
	                 0);
	assert_string_not_equal(id, id2);
	assert_int_equal(fic_lead_file(tip, f->store, "lead.tip_off", tip_off, NULL, 0, 0), FIC_OK);
	assert_int_equal(fic_sync_run(f->store, &f->opts, &rep), FIC_OK);
	assert_int_equal(fic__county_key_get(f->store, &k), FIC_OK);
	assert_string_equal(k.id, id);
	out = county_open_cmd(f, "", &status);
	assert_int_equal(status, 0);
	assert_null(strstr(out, "\"error\""));
	free(out);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, e2e_setup, e2e_teardown)
	const struct CMUnitTest tests[] = {
		T(informants_are_in_clear_nowhere_on_the_phone_or_the_server),
		T(the_county_key_stays_out_of_the_database),
		T(a_device_enrolled_before_its_county_had_a_key_gets_it_at_its_next_sync),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
