/*
 * tools/fic/cmd_inspect.c — fic commands for checklists, inspections, leads,
 * tasks, the due list, indicators and settings.
 */
#include "fic.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FILE_MAX (256 * 1024)

/* Print a JSON text the library returned, as-is (--json) or via `human`. */
static int emit(ctx *c, char *text, void (*human)(const cJSON *))
{
	if (c->json || human == NULL) {
		puts(text);
	} else {
		cJSON *j = cJSON_Parse(text);
		if (j)
			human(j);
		cJSON_Delete(j);
	}
	fic_free(text);
	return 0;
}

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : "";
}

/* Options of the form --name VALUE, plus flags; returns positionals. */
typedef struct opts {
	char *pos[8];
	int npos;
	const char *kind, *version, *site, *answers, *reason, *limit, *year, *area, *cursor;
	const char *sets[64];
	int nsets;
	bool events, all_versions, draft, all;
	const char *note, *rendition, *out, *inspection, *received, *method, *to, *at, *scan;
	const char *label, *lat, *lon, *accuracy;
	int visit_mode;
} opts;

static int parse_opts(opts *o, int argc, char **argv)
{
	memset(o, 0, sizeof *o);
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		const char **slot = NULL;
		if (strncmp(a, "--", 2) != 0) {
			if (o->npos == 8)
				return usage("too many arguments", a);
			o->pos[o->npos++] = argv[i];
			continue;
		}
		if (strcmp(a, "--events") == 0) {
			o->events = true;
			continue;
		}
		if (strcmp(a, "--all-versions") == 0) {
			o->all_versions = true;
			continue;
		}
		if (strcmp(a, "--draft") == 0) {
			o->draft = true;
			continue;
		}
		if (strcmp(a, "--all") == 0) {
			o->all = true;
			continue;
		}
		if (strcmp(a, "--announced") == 0 || strcmp(a, "--unannounced") == 0) {
			o->visit_mode = a[2] == 'a' ? FIC_VISIT_ANNOUNCED : FIC_VISIT_UNANNOUNCED;
			continue;
		}
		if (strcmp(a, "--kind") == 0) slot = &o->kind;
		else if (strcmp(a, "--version") == 0) slot = &o->version;
		else if (strcmp(a, "--site") == 0) slot = &o->site;
		else if (strcmp(a, "--answers") == 0) slot = &o->answers;
		else if (strcmp(a, "--reason") == 0) slot = &o->reason;
		else if (strcmp(a, "--limit") == 0) slot = &o->limit;
		else if (strcmp(a, "--year") == 0) slot = &o->year;
		else if (strcmp(a, "--note") == 0) slot = &o->note;
		else if (strcmp(a, "--area") == 0) slot = &o->area;
		else if (strcmp(a, "--cursor") == 0) slot = &o->cursor;
		else if (strcmp(a, "--inspection") == 0) slot = &o->inspection;
		else if (strcmp(a, "--received") == 0) slot = &o->received;
		else if (strcmp(a, "--method") == 0) slot = &o->method;
		else if (strcmp(a, "--to") == 0) slot = &o->to;
		else if (strcmp(a, "--at") == 0) slot = &o->at;
		else if (strcmp(a, "--scan") == 0) slot = &o->scan;
		else if (strcmp(a, "--label") == 0) slot = &o->label;
		else if (strcmp(a, "--lat") == 0) slot = &o->lat;
		else if (strcmp(a, "--lon") == 0) slot = &o->lon;
		else if (strcmp(a, "--accuracy") == 0) slot = &o->accuracy;
		else if (strcmp(a, "--set") == 0) {
			if (i + 1 >= argc || o->nsets == 64)
				return usage("--set needs ITEM=VALUE", NULL);
			o->sets[o->nsets++] = argv[++i];
			continue;
		} else
			return usage("unknown option", a);
		if (i + 1 >= argc)
			return usage("option needs a value", a);
		*slot = argv[++i];
	}
	return 0;
}

static bool to_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

/* ---- checklist ---- */

static char *read_file_text(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	char *buf = malloc(FILE_MAX + 1);
	size_t n = buf ? fread(buf, 1, FILE_MAX + 1, f) : 0;
	fclose(f);
	if (buf == NULL || n > FILE_MAX) {
		free(buf);
		errno = EFBIG;
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

int cmd_checklist(ctx *c, int argc, char **argv)
{
	if (argc < 1)
		return usage("checklist needs a verb: list, show, install", NULL);
	opts o;
	int rc = parse_opts(&o, argc - 1, argv + 1);
	if (rc)
		return rc;
	const char *verb = argv[0];
	if (strcmp(verb, "list") == 0) {
		int kind = 0;
		if (o.kind && fic_site_code_parse(&kind, FIC_CODE_KIND, o.kind) != FIC_OK)
			return usage(fic_error_last()->message, NULL);
		if ((rc = open_store(c)))
			return rc;
		unsigned flags = FIC_CHECKLIST_PATROLS | (o.events ? FIC_CHECKLIST_EVENTS : 0) |
				 (o.all_versions ? FIC_CHECKLIST_ALL_VERSIONS : 0);
		fic_checklist_list *list;
		if (fic_checklist_list_get(&list, c->store, kind, flags) != FIC_OK)
			return fail();
		if (c->json) {
			cJSON *arr = cJSON_CreateArray();
			for (size_t i = 0; i < list->count; i++) {
				const fic_checklist_info *e = &list->entries[i];
				cJSON *j = cJSON_CreateObject();
				cJSON_AddStringToObject(j, "id", e->id);
				cJSON_AddNumberToObject(j, "version", e->version);
				cJSON_AddStringToObject(j, "kind", e->is_event ? "event" : "patrol");
				cJSON_AddStringToObject(j, "area", e->area);
				cJSON_AddStringToObject(j, "title_zh", e->title_zh);
				cJSON_AddStringToObject(j, "title_en", e->title_en);
				cJSON_AddBoolToObject(j, "builtin", e->builtin);
				cJSON_AddNumberToObject(j, "items", e->items);
				cJSON_AddItemToArray(arr, j);
			}
			print_json(arr);
		} else {
			for (size_t i = 0; i < list->count; i++) {
				const fic_checklist_info *e = &list->entries[i];
				printf("%-32s v%-3d %-6s %-15s %3d items  %s\n", e->id, e->version,
				       e->is_event ? "event" : "patrol", e->area, e->items, e->title_zh);
			}
			printf("%zu checklist%s\n", list->count, list->count == 1 ? "" : "s");
		}
		fic_checklist_list_free(list);
		return 0;
	}
	if (strcmp(verb, "show") == 0) {
		long v = 0;
		if (o.npos != 1)
			return usage("checklist show needs one checklist id", NULL);
		if (o.version && !to_long(o.version, 1, 1000000, &v))
			return usage("--version needs a whole number", o.version);
		if ((rc = open_store(c)))
			return rc;
		char *text;
		if (fic_checklist_get_json(&text, c->store, o.pos[0], (int)v) != FIC_OK)
			return fail();
		return emit(c, text, NULL);
	}
	if (strcmp(verb, "install") == 0) {
		if (o.npos != 1)
			return usage("checklist install needs one file", NULL);
		size_t len = 0;
		char *text = read_file_text(o.pos[0], &len);
		if (text == NULL) {
			fprintf(stderr, "fic: cannot read %s: %s\n", o.pos[0], strerror(errno));
			return EXIT_FAIL;
		}
		if ((rc = open_store(c))) {
			free(text);
			return rc;
		}
		rc = fic_checklist_install(c->store, text, len);
		free(text);
		if (rc != FIC_OK)
			return fail();
		printf("installed %s\n", o.pos[0]);
		return 0;
	}
	return usage("unknown checklist verb", verb);
}

/* ---- inspect ---- */

static void human_inspection(const cJSON *j)
{
	const cJSON *site = cJSON_GetObjectItemCaseSensitive(j, "site");
	printf("%s  %s — %s (%s, %s)\n", jstr(j, "id"), jstr(site, "name"), jstr(j, "title"),
	       jstr(j, "date"), jstr(j, "state"));
	const cJSON *it;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(j, "items")) {
		if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "applies")))
			continue;
		const cJSON *ans = cJSON_GetObjectItemCaseSensitive(it, "answer");
		char *a = cJSON_IsNull(ans) ? NULL : cJSON_PrintUnformatted(ans);
		const char *mark = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "abnormal")) ? "!!"
				   : a ? "ok" : cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "required")) ? "··" : "  ";
		printf("  %s %-26s %-40s %s\n", mark, jstr(it, "id"), jstr(it, "label"), a ? a : "");
		if (cJSON_GetObjectItemCaseSensitive(it, "note"))
			printf("     note: %s\n", jstr(it, "note"));
		cJSON_free(a);
	}
	const cJSON *f;
	int n = 0;
	cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(j, "findings")) {
		if (n++ == 0)
			printf("findings:\n");
		printf("  - %s%s\n", jstr(f, "finding_zh"),
		       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "urgent")) ? "  [2-hour report]" : "");
	}
	int m = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "missing"));
	int p = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "photos_missing"));
	if (m || p)
		printf("to finish: %d required item(s) unanswered, %d photo(s) missing\n", m, p);
}

/* `fic inspect site ID closed|changed --reason R [site fields]`: what the
 * inspector found of the site itself. */
static int inspect_site(ctx *c, int argc, char **argv)
{
	int rc;
	/* inspect site ID closed|changed --reason R [site FIELDS] */
	site_args a;
	memset(&a, 0, sizeof a);
	fic_site_init(&a.site, FIC_SITE_VERSION);
	a.merge = true;
	if ((rc = parse_site_options(&a, argc, argv, true)))
		return rc;
	if (a.npos != 2 || (strcmp(a.pos[1], "closed") && strcmp(a.pos[1], "changed")))
		return usage("inspect site needs ID and closed or changed", NULL);
	if (a.reason == NULL)
		return usage("inspect site needs --reason", NULL);
	if ((rc = open_store(c)))
		return rc;
	if (strcmp(a.pos[1], "closed") == 0) {
		if (fic_inspection_report_site(c->store, a.pos[0], FIC_FOUND_CLOSED, a.reason, NULL))
			return fail();
		printf("site reported closed\n");
		return 0;
	}
	char *json;
	if (fic_inspection_get_json(&json, c->store, a.pos[0]) != FIC_OK)
		return fail();
	cJSON *j = cJSON_Parse(json);
	fic_free(json);
	fic_site *cur = NULL;
	const char *sid = j ? jstr(j, "site_id") : "";
	rc = fic_site_get(&cur, c->store, sid);
	cJSON_Delete(j);
	if (rc != FIC_OK)
		return fail();
	site_args b;
	memset(&b, 0, sizeof b);
	b.site = *cur;
	b.has_lat = b.has_lon = cur->has_location;
	if ((rc = parse_site_options(&b, argc, argv, true)) == 0)
		rc = fic_inspection_report_site(c->store, a.pos[0], FIC_FOUND_CHANGED, a.reason,
		                                &b.site) != FIC_OK ? fail() : 0;
	fic_site_free(cur);
	if (rc == 0)
		printf("site changes reported\n");
	return rc;
}

/* `fic inspect start SITE_ID CHECKLIST_ID [--announced|--unannounced] [--scan SCAN_ID]`. */
static int inspect_start(ctx *c, const opts *o)
{
	int rc;
	if (o->npos != 2)
		return usage("inspect start needs SITE_ID and CHECKLIST_ID", NULL);
	if ((rc = open_store(c)))
		return rc;
	char id[FIC_UUID_BUFSIZE];
	fic_inspection_options io = FIC_INSPECTION_OPTIONS_INIT;
	io.visit_mode = o->visit_mode;
	io.scan_id = o->scan;
	if (fic_inspection_start_opts(id, c->store, o->pos[0], o->pos[1], &io) != FIC_OK)
		return fail();
	if (c->json) {
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "id", id);
		print_json(j);
	} else {
		printf("started inspection %s\n", id);
	}
	return 0;
}

int cmd_inspect(ctx *c, int argc, char **argv)
{
	if (argc < 1)
		return usage("inspect needs a verb: start, answer, clear, note, site, show, finish, opinion", NULL);
	const char *verb = argv[0];
	int rc;
	if (strcmp(verb, "list") == 0) /* the patrol register (巡查登记表) */
		return cmd_register(c, argc - 1, argv + 1, FIC_REGISTER_PATROLS);
	if (strcmp(verb, "site") == 0)
		return inspect_site(c, argc, argv);
	opts o;
	if ((rc = parse_opts(&o, argc - 1, argv + 1)))
		return rc;
	if (strcmp(verb, "start") == 0)
		return inspect_start(c, &o);
	if (strcmp(verb, "answer") == 0 || strcmp(verb, "clear") == 0 || strcmp(verb, "note") == 0) {
		bool clear = verb[0] == 'c';
		if (o.npos != (clear ? 2 : 3))
			return usage(clear ? "inspect clear needs ID ITEM" : "inspect answer/note needs ID ITEM VALUE", NULL);
		if ((rc = open_store(c)))
			return rc;
		rc = verb[0] == 'n' ? fic_inspection_note(c->store, o.pos[0], o.pos[1], o.pos[2])
				    : fic_inspection_answer(c->store, o.pos[0], o.pos[1], clear ? NULL : o.pos[2]);
		if (rc != FIC_OK)
			return fail();
		if (!c->json)
			printf("%s %s\n", clear ? "cleared" : verb[0] == 'n' ? "noted" : "answered", o.pos[1]);
		return 0;
	}
	if (o.npos != 1)
		return usage("inspect show/finish/opinion needs one inspection id", NULL);
	if ((rc = open_store(c)))
		return rc;
	char *text = NULL;
	if (strcmp(verb, "show") == 0) {
		if (fic_inspection_get_json(&text, c->store, o.pos[0]) != FIC_OK)
			return fail();
		return emit(c, text, human_inspection);
	}
	if (strcmp(verb, "finish") == 0) {
		if (fic_inspection_finish(&text, c->store, o.pos[0]) != FIC_OK)
			return fail();
		if (!c->json) {
			cJSON *j = cJSON_Parse(text);
			printf("finished: %d finding(s), %d lead(s) (%d urgent)\n",
			       (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(j, "findings")),
			       cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "leads")),
			       cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "urgent_leads")));
			cJSON_Delete(j);
			fic_free(text);
			return 0;
		}
		return emit(c, text, NULL);
	}
	if (strcmp(verb, "opinion") == 0) {
		if (fic_inspection_opinion(&text, c->store, o.pos[0],
		                           c->json ? FIC_OPINION_JSON : FIC_OPINION_TEXT) != FIC_OK)
			return fail();
		fputs(text, stdout);
		if (c->json)
			putchar('\n');
		fic_free(text);
		return 0;
	}
	return usage("unknown inspect verb", verb);
}

/* ---- place codes and the scan at the door ---- */

static double to_double(const char *s, bool *ok)
{
	char *end;
	double v = strtod(s, &end);
	*ok = *ok && end != s && *end == '\0';
	return v;
}

/* visit scan PAYLOAD [--lat X --lon Y [--accuracy M]] */
int cmd_visit(ctx *c, int argc, char **argv)
{
	if (argc < 1 || strcmp(argv[0], "scan") != 0)
		return usage("visit scan PAYLOAD [--lat X --lon Y [--accuracy M]]", NULL);
	opts o;
	int rc = parse_opts(&o, argc - 1, argv + 1);
	if (rc)
		return rc;
	if (o.npos != 1 || (o.lat == NULL) != (o.lon == NULL))
		return usage("visit scan PAYLOAD [--lat X --lon Y [--accuracy M]]", NULL);
	fic_scan_options so = FIC_SCAN_OPTIONS_INIT;
	bool ok = true;
	if (o.lat) {
		so.has_location = 1;
		so.lat = to_double(o.lat, &ok);
		so.lon = to_double(o.lon, &ok);
		so.accuracy_m = o.accuracy ? to_double(o.accuracy, &ok) : 0;
	}
	if (!ok)
		return usage("--lat, --lon and --accuracy take numbers", NULL);
	if ((rc = open_store(c)))
		return rc;
	char *text = NULL;
	if (fic_visit_scan(&text, c->store, o.pos[0], strlen(o.pos[0]), &so) != FIC_OK)
		return fail();
	if (c->json)
		return emit(c, text, NULL);
	cJSON *j = cJSON_Parse(text);
	fic_free(text);
	const cJSON *site = cJSON_GetObjectItemCaseSensitive(j, "site");
	const cJSON *proof = cJSON_GetObjectItemCaseSensitive(j, "proof");
	printf("scan %s at %s (%s); chained as entry %d\n", jstr(j, "scan_id"), jstr(site, "name"),
	       jstr(site, "id"), (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(proof, "chain_seq")));
	const cJSON *d;
	cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(j, "differences")) {
		printf("  DIFFERS %-14s registry: %s  code: %s\n", jstr(d, "field"), jstr(d, "registry"),
		       jstr(d, "code"));
	}
	printf("start the visit: fic inspect start %s CHECKLIST --scan %s\n", jstr(site, "id"),
	       jstr(j, "scan_id"));
	cJSON_Delete(j);
	return 0;
}

/* site code add|remove SITE PAYLOAD [--label L] | site code list SITE */
int cmd_site_code(ctx *c, int argc, char **argv)
{
	opts o;
	int rc = parse_opts(&o, argc, argv);
	if (rc)
		return rc;
	bool list = o.npos == 2 && strcmp(o.pos[0], "list") == 0;
	bool add = o.npos == 3 && strcmp(o.pos[0], "add") == 0;
	bool rm = o.npos == 3 && strcmp(o.pos[0], "remove") == 0;
	if (!list && !add && !rm)
		return usage("site code add SITE PAYLOAD [--label L] | remove SITE PAYLOAD | list SITE", NULL);
	if ((rc = open_store(c)))
		return rc;
	if (add && fic_site_code_add(c->store, o.pos[1], o.pos[2], o.label) != FIC_OK)
		return fail();
	if (rm && fic_site_code_remove(c->store, o.pos[1], o.pos[2]) != FIC_OK)
		return fail();
	char *text = NULL;
	if (fic_site_codes_json(&text, c->store, o.pos[1]) != FIC_OK)
		return fail();
	if (c->json)
		return emit(c, text, NULL);
	cJSON *j = cJSON_Parse(text);
	fic_free(text);
	const cJSON *e;
	cJSON_ArrayForEach(e, j) {
		printf("%s %-24s %s\n", cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "primary")) ? "*" : " ",
		       jstr(e, "label"), jstr(e, "key"));
	}
	cJSON_Delete(j);
	return 0;
}

/* ---- lead ---- */

static void format_remaining(char *buf, size_t size, int64_t ms)
{
	int64_t m = (ms < 0 ? -ms : ms) / 60000;
	snprintf(buf, size, "%s%lldh%02lldm%s", ms < 0 ? "OVERDUE " : "", (long long)(m / 60),
	         (long long)(m % 60), ms < 0 ? "" : " left");
}

/* "YYYY-MM-DD HH:MM" in the store's local time (setting utc_offset_minutes) as UTC ms. */
static int local_time_ms(ctx *c, const char *text, int64_t *out)
{
	int y, mo, d, h, mi;
	char extra;
	if (sscanf(text, "%4d-%2d-%2d %2d:%2d%c", &y, &mo, &d, &h, &mi, &extra) != 5 || mo < 1 ||
	    mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || y < 2000)
		return usage("--received takes the local time 'YYYY-MM-DD HH:MM'", text);
	char *off = NULL;
	if (fic_setting_get(&off, c->store, "utc_offset_minutes") != FIC_OK)
		return fail();
	long offset = strtol(off, NULL, 10);
	fic_free(off);
	/* days from civil (H. Hinnant) */
	int yy = y - (mo <= 2);
	long era = (yy >= 0 ? yy : yy - 399) / 400;
	long yoe = yy - era * 400;
	long doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	long days = era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
	*out = ((int64_t)days * 1440 + h * 60 + mi - offset) * 60000;
	return 0;
}

/* `fic lead list --json`: the list as an array. */
static void lead_list_json(const fic_lead_list *list)
{
	cJSON *arr = cJSON_CreateArray();
	for (size_t i = 0; i < list->count; i++) {
		const fic_lead_info *e = &list->entries[i];
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "id", e->id);
		cJSON_AddStringToObject(j, "category", e->category);
		cJSON_AddStringToObject(j, "area", e->area);
		cJSON_AddStringToObject(j, "title", e->title);
		cJSON_AddStringToObject(j, "state", e->state);
		cJSON_AddStringToObject(j, "report_to", e->report_to);
		cJSON_AddBoolToObject(j, "urgent", e->urgent);
		cJSON_AddStringToObject(j, "urgency", e->urgent == FIC_URGENCY_IMMEDIATE ? "immediate"
		                                      : e->urgent ? "two_hours" : "none");
		cJSON_AddNumberToObject(j, "discovered_at_ms", (double)e->discovered_at_ms);
		if (e->urgent) {
			cJSON_AddNumberToObject(j, "deadline_at_ms", (double)e->deadline_at_ms);
			cJSON_AddNumberToObject(j, "remaining_ms", (double)e->remaining_ms);
			cJSON_AddBoolToObject(j, "at_risk", e->at_risk);
		}
		if (e->receipt_at_ms)
			cJSON_AddNumberToObject(j, "receipt_at_ms", (double)e->receipt_at_ms);
		if (e->reject_reason)
			cJSON_AddStringToObject(j, "reject_reason", e->reject_reason);
		if (e->called_at_ms)
			cJSON_AddNumberToObject(j, "called_at_ms", (double)e->called_at_ms);
		cJSON_AddNumberToObject(j, "time_flags", e->time_flags);
		cJSON_AddNumberToObject(j, "sealed", e->sealed);
		cJSON_AddItemToArray(arr, j);
	}
	print_json(arr);
}

/* `fic lead list`: a line per lead, urgent first, with what became of it. */
static void lead_list_text(const fic_lead_list *list)
{
	for (size_t i = 0; i < list->count; i++) {
		const fic_lead_info *e = &list->entries[i];
		char rem[40] = "";
		if (e->urgent && strcmp(e->state, "delivered") != 0)
			format_remaining(rem, sizeof rem, e->remaining_ms);
		printf("%s  %-6s %-18s %-8s %-12s %-16s %s\n", e->id,
		       e->urgent == FIC_URGENCY_IMMEDIATE ? "AT ONCE" : e->urgent ? "URGENT" : "", rem,
		       e->at_risk ? "AT RISK" : "", e->state, e->category, e->title);
		if (e->receipt_at_ms) {
			char when[40];
			format_time(e->receipt_at_ms, when, sizeof when);
			printf("    delivered: the county received it at %s\n", when);
		}
		if (e->reject_reason)
			printf("    refused by the county: %s\n", e->reject_reason);
		if (e->sealed)
			printf("    %d personal answer%s sealed (informant, diner): only the "
			       "county can read %s\n", e->sealed, e->sealed == 1 ? "" : "s",
			       e->sealed == 1 ? "it" : "them");
		if (e->called_at_ms) {
			char when[40];
			format_time(e->called_at_ms, when, sizeof when);
			printf("    phoned in at %s%s\n", when,
			       e->urgent && e->called_at_ms <= e->deadline_at_ms ? ", by its deadline" : "");
		}
		if (e->time_flags & FIC_TIME_CLOCK_CHANGED)
			printf("    (the phone's clock was changed when this was recorded)\n");
	}
	printf("%zu lead%s\n", list->count, list->count == 1 ? "" : "s");
}

/* `fic lead new FORM`: file a lead (or a draft) from --answers and --set. */
static int lead_new(ctx *c, const opts *o)
{
	int rc;
	if (o->npos != 1)
		return usage("lead new needs one form id (see: fic checklist list --events)", NULL);
	cJSON *ans = o->answers ? cJSON_Parse(o->answers) : cJSON_CreateObject();
	if (!cJSON_IsObject(ans)) {
		cJSON_Delete(ans);
		return usage("--answers must be a JSON object", NULL);
	}
	for (int i = 0; i < o->nsets; i++) {
		const char *eq = strchr(o->sets[i], '=');
		if (eq == NULL || eq == o->sets[i]) {
			cJSON_Delete(ans);
			return usage("--set needs ITEM=VALUE", o->sets[i]);
		}
		char key[80];
		snprintf(key, sizeof key, "%.*s", (int)(eq - o->sets[i]), o->sets[i]);
		cJSON_DeleteItemFromObjectCaseSensitive(ans, key);
		cJSON_AddStringToObject(ans, key, eq + 1);
	}
	char *text = cJSON_PrintUnformatted(ans);
	cJSON_Delete(ans);
	if ((rc = open_store(c))) {
		cJSON_free(text);
		return rc;
	}
	int64_t received = 0;
	if (o->received && (rc = local_time_ms(c, o->received, &received)) != 0) {
		cJSON_free(text);
		return rc;
	}
	char id[FIC_UUID_BUFSIZE];
	rc = fic_lead_file(id, c->store, o->pos[0], text, o->site, received,
	                   o->draft ? FIC_LEAD_DRAFT : 0);
	cJSON_free(text);
	if (rc != FIC_OK)
		return fail();
	char *json;
	if (fic_lead_get_json(&json, c->store, id) != FIC_OK)
		return fail();
	if (c->json)
		return emit(c, json, NULL);
	cJSON *j = cJSON_Parse(json);
	fic_free(json);
	printf("%s lead %s  %s\n", o->draft ? "drafted" : "filed", id, jstr(j, "title"));
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "urgent"))) {
		char when[32];
		format_time((int64_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(j, "deadline_at_ms")),
		            when, sizeof when);
		printf("  URGENT: report to the %s by %s (two-hour rule)\n",
		       strcmp(jstr(j, "report_to"), "district_cdc") == 0 ? "district CDC"
									  : "enforcement agency",
		       when);
	}
	cJSON_Delete(j);
	return 0;
}

/* `fic lead list`: urgent first, time left on the clock. */
static int lead_list(ctx *c, const opts *o)
{
	int rc;
	long limit = 0;
	if (o->limit && !to_long(o->limit, 0, 1000000, &limit))
		return usage("--limit needs a whole number", o->limit);
	if ((rc = open_store(c)))
		return rc;
	fic_lead_list *list;
	if (fic_lead_list_get(&list, c->store, (size_t)limit) != FIC_OK)
		return fail();
	if (c->json)
	lead_list_json(list);
	else
	lead_list_text(list);
	fic_lead_list_free(list);
	return 0;
}

/* `fic lead call ID`: the phone or fax call that reported it. */
static int lead_call(ctx *c, const opts *o)
{
	int rc;
	/* lead call ID --method phone|fax --to WHOM [--at 'YYYY-MM-DD HH:MM'] [--note T] */
	if (o->npos != 1 || o->method == NULL || o->to == NULL)
		return usage("lead call ID --method phone|fax --to WHOM [--at TIME] [--note T]", NULL);
	if ((rc = open_store(c)))
		return rc;
	int64_t at = 0;
	if (o->at && (rc = local_time_ms(c, o->at, &at)) != 0)
		return rc;
	if (fic_lead_call_record(c->store, o->pos[0], o->method, at, o->to, o->note) != FIC_OK)
		return fail();
	printf("call recorded for lead %s\n", o->pos[0]);
	return 0;
}

/* `fic lead submit|correct|verify ID`. */
static int lead_submit_correct_verify(ctx *c, const opts *o, const char *verb)
{
	int rc;
	if (o->npos != 1)
		return usage("lead submit/correct/verify needs one lead id", NULL);
	if (verb[0] == 'c' && o->note == NULL)
		return usage("lead correct needs --note", NULL);
	if ((rc = open_store(c)))
		return rc;
	if (verb[0] == 's') {
		if (fic_lead_submit(c->store, o->pos[0]) != FIC_OK)
			return fail();
		char *json;
		if (fic_lead_get_json(&json, c->store, o->pos[0]) != FIC_OK)
			return fail();
		cJSON *j = cJSON_Parse(json);
		fic_free(json);
		printf("submitted lead %s: chain entry %d, sha256 %s, queued for upload\n", o->pos[0],
		       (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(j, "chain_seq")),
		       jstr(j, "hash"));
		cJSON_Delete(j);
		return 0;
	}
	if (verb[0] == 'c') {
		char id[FIC_UUID_BUFSIZE];
		if (fic_lead_correct(id, c->store, o->pos[0], o->note) != FIC_OK)
			return fail();
		printf("correction %s filed for lead %s\n", id, o->pos[0]);
		return 0;
	}
	/* verify: the whole store's evidence, reported for this lead */
	char *report = NULL;
	char *json;
	if (fic_lead_get_json(&json, c->store, o->pos[0]) != FIC_OK)
		return fail();
	fic_free(json);
	rc = fic_evidence_verify(&report, c->store);
	if (rc != FIC_OK && rc != FIC_ECORRUPT)
		return fail();
	cJSON *r = cJSON_Parse(report);
	fic_free(report);
	int mine = 0;
	const cJSON *p;
	cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(r, "problems")) {
		if (strcmp(jstr(p, "id"), o->pos[0]) == 0) {
			printf("PROBLEM %s: %s\n", jstr(p, "kind"), jstr(p, "detail"));
			mine++;
		}
	}
	cJSON_Delete(r);
	if (mine)
		return EXIT_FAIL;
	printf("lead %s verifies: its content, photos and chain entry are as submitted\n", o->pos[0]);
	return 0;
}

/* `fic lead show ID`: the lead as JSON. */
static int lead_show(ctx *c, const opts *o)
{
	int rc;
	if (o->npos != 1)
		return usage("lead show needs one lead id", NULL);
	if ((rc = open_store(c)))
		return rc;
	char *json;
	if (fic_lead_get_json(&json, c->store, o->pos[0]) != FIC_OK)
		return fail();
	return emit(c, json, NULL);
}

int cmd_lead(ctx *c, int argc, char **argv)
{
	if (argc < 1)
		return usage("lead needs a verb: new, list, show", NULL);
	if (strncmp(argv[0], "sms", 3) == 0)
		return cmd_lead_sms(c, argv[0], argc - 1, argv + 1);
	opts o;
	int rc = parse_opts(&o, argc - 1, argv + 1);
	if (rc)
		return rc;
	const char *verb = argv[0];
	if (strcmp(verb, "new") == 0)
		return lead_new(c, &o);
	if (strcmp(verb, "list") == 0)
		return lead_list(c, &o);
	if (strcmp(verb, "call") == 0)
		return lead_call(c, &o);
	if (strcmp(verb, "submit") == 0 || strcmp(verb, "correct") == 0 || strcmp(verb, "verify") == 0)
		return lead_submit_correct_verify(c, &o, verb);
	if (strcmp(verb, "show") == 0)
		return lead_show(c, &o);
	return usage("unknown lead verb", verb);
}

/* ---- tasks, due, stats, setting ---- */

/* `fic due --all`: every due site (fic_due_json). */
static void human_due_all(const cJSON *j)
{
	printf("today %s; each site needs %d patrols a year\n", jstr(j, "today"),
	       (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(j, "patrols_required_per_year")));
	const cJSON *area;
	cJSON_ArrayForEach(area, cJSON_GetObjectItemCaseSensitive(j, "areas")) {
		printf("%s: %d site(s) due\n", area->string, cJSON_GetArraySize(area));
		const cJSON *s;
		cJSON_ArrayForEach(s, area) {
			printf("  %s  %s (%d this year)\n", jstr(s, "site_id"), jstr(s, "name"),
			       (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(s, "patrols_this_year")));
		}
	}
	const cJSON *sem = cJSON_GetObjectItemCaseSensitive(j, "semester");
	if (sem) {
		printf("semester from %s: schools not visited by %s:\n", jstr(sem, "start"),
		       jstr(sem, "first_month_ends"));
		const cJSON *s;
		cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(sem, "schools_not_visited")) {
			printf("  %s  %s%s\n", jstr(s, "site_id"), jstr(s, "name"),
			       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "overdue")) ? "  OVERDUE" : "");
		}
	}
}

static int num(const cJSON *o, const char *k)
{
	return (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

/* The sites of one page of fic_due_page_json, most overdue first. */
static void human_due_items(const cJSON *page)
{
	const cJSON *s;
	cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(page, "items")) {
		const char *last = jstr(s, "last_patrol");
		printf("  %s  %s  last patrol %s, %d this year%s\n", jstr(s, "site_id"), jstr(s, "name"),
		       last[0] ? last : "never", num(s, "patrols_this_year"),
		       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "overdue")) ? "  OVERDUE" : "");
	}
}

static void human_due_page(const cJSON *j)
{
	printf("%s, most overdue first (today %s):\n", jstr(j, "area"), jstr(j, "today"));
	human_due_items(j);
	const char *next = jstr(j, "next");
	if (next[0])
		printf("more: --cursor '%s'\n", next);
}

#define DUE_PREVIEW 5

/* `fic due`: the counts per area and each area's most overdue sites. */
static int due_summary(ctx *c)
{
	char *text = NULL;
	if (fic_due_summary_json(&text, c->store) != FIC_OK)
		return fail();
	if (c->json)
		return emit(c, text, NULL);
	cJSON *j = cJSON_Parse(text);
	fic_free(text);
	if (j == NULL)
		return fail();
	printf("today %s; each site needs %d patrols a year\n", jstr(j, "today"),
	       num(j, "patrols_required_per_year"));
	const cJSON *area;
	cJSON_ArrayForEach(area, cJSON_GetObjectItemCaseSensitive(j, "areas")) {
		printf("%s (%s, %d a year): %d site(s) due of %d open, %d not patrolled this year\n",
		       area->string, jstr(area, "title"), num(area, "per_year"), num(area, "due"),
		       num(area, "open_sites"), num(area, "not_patrolled_this_year"));
		char *page = NULL;
		if (num(area, "due") > 0 &&
		    fic_due_page_json(&page, c->store, area->string, NULL, DUE_PREVIEW) == FIC_OK) {
			cJSON *p = cJSON_Parse(page);
			human_due_items(p);
			if (num(area, "due") > DUE_PREVIEW)
				printf("  … all of them: fic due --area %s\n", area->string);
			cJSON_Delete(p);
		}
		fic_free(page);
	}
	const cJSON *sem = cJSON_GetObjectItemCaseSensitive(j, "semester");
	if (sem)
		printf("semester from %s: %d school(s) not visited by %s%s (fic due --area "
		       "school_semester)\n", jstr(sem, "start"), num(sem, "schools_not_visited"),
		       jstr(sem, "first_month_ends"),
		       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(sem, "overdue")) ? ", OVERDUE" : "");
	cJSON_Delete(j);
	return 0;
}

static void human_stats(const cJSON *j)
{
	const cJSON *rate = cJSON_GetObjectItemCaseSensitive(j, "report_rate_percent");
	char rate_text[32] = "n/a";
	if (cJSON_IsNumber(rate))
		snprintf(rate_text, sizeof rate_text, "%.1f %%", rate->valuedouble);
	printf("year %d: %d lead(s) discovered, %d reported; information report rate %s\n",
	       (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(j, "year")),
	       (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(j, "leads_discovered")),
	       (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(j, "leads_reported")),
	       rate_text);
	const cJSON *ind = cJSON_GetObjectItemCaseSensitive(j, "indicators");
	printf("the plan's four indicators (实施方案 一(三)):\n");
	printf("  1 信息报告率       %s (%d of %d)\n", rate_text,
	       num(cJSON_GetObjectItemCaseSensitive(ind, "information_report_rate"), "reported"),
	       num(cJSON_GetObjectItemCaseSensitive(ind, "information_report_rate"), "discovered"));
	printf("  2 实地巡查次数\n");
	const cJSON *a;
	cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(
	                              cJSON_GetObjectItemCaseSensitive(ind, "patrols"), "areas")) {
		printf("      %-22s %-12s %3d of %d a year%s\n", a->string, jstr(a, "title"),
		       num(a, "patrols"), num(a, "per_year"),
		       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a, "met")) ? "" : "  (not yet)");
	}
	printf("  3 协助案件查办数量 %d\n",
	       num(cJSON_GetObjectItemCaseSensitive(ind, "cases_assisted"), "count"));
	printf("  4 普法宣传次数     %d (and %d training(s))\n",
	       num(cJSON_GetObjectItemCaseSensitive(ind, "publicity_events"), "count"),
	       num(j, "trainings"));
}

static void human_tasks(const cJSON *j)
{
	const cJSON *t;
	cJSON_ArrayForEach(t, j) {
		printf("%s  due %s%s  %s  %s\n", jstr(t, "id"), jstr(t, "due_date"),
		       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(t, "overdue")) ? " OVERDUE" : "",
		       jstr(t, "kind"), jstr(t, "detail"));
	}
	printf("%d open task(s)\n", cJSON_GetArraySize(j));
}

static void human_plan(const cJSON *j)
{
	printf("patrol plan (%s):\n", jstr(j, "origin"));
	const cJSON *a;
	cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(j, "areas")) {
		printf("  %-24s %-20s %d a year; kinds:", a->string, jstr(a, "title"), num(a, "per_year"));
		const cJSON *k;
		cJSON_ArrayForEach(k, cJSON_GetObjectItemCaseSensitive(a, "kinds")) {
			printf(" %s %d", k->string, (int)k->valuedouble);
		}
		printf("\n");
	}
}

int cmd_plan(ctx *c, const char *cmd, int argc, char **argv)
{
	opts o;
	int rc = parse_opts(&o, argc, argv);
	if (rc)
		return rc;
	char *text = NULL;
	if (strcmp(cmd, "setting") == 0) {
		bool set = o.npos == 3 && strcmp(o.pos[0], "set") == 0;
		bool get = o.npos == 2 && strcmp(o.pos[0], "get") == 0;
		if (!set && !get)
			return usage("setting get KEY | setting set KEY VALUE", NULL);
		if ((rc = open_store(c)))
			return rc;
		if (set) {
			if (fic_setting_set(c->store, o.pos[1], o.pos[2]) != FIC_OK)
				return fail();
			printf("%s = %s\n", o.pos[1], o.pos[2]);
			return 0;
		}
		if (fic_setting_get(&text, c->store, o.pos[1]) != FIC_OK)
			return fail();
		puts(text);
		fic_free(text);
		return 0;
	}
	if (strcmp(cmd, "plan") == 0) {
		/* plan show | plan set FILE.json */
		bool set = o.npos == 2 && strcmp(o.pos[0], "set") == 0;
		if (!set && !(o.npos == 1 && strcmp(o.pos[0], "show") == 0))
			return usage("plan show | plan set FILE.json", NULL);
		char *file = NULL;
		size_t len = 0;
		if (set && (file = read_file_text(o.pos[1], &len)) == NULL) {
			fprintf(stderr, "fic: cannot read %s: %s\n", o.pos[1], strerror(errno));
			return EXIT_FAIL;
		}
		if ((rc = open_store(c))) {
			free(file);
			return rc;
		}
		rc = set ? fic_patrol_plan_set(c->store, file) : FIC_OK;
		free(file);
		if (rc != FIC_OK || fic_patrol_plan_json(&text, c->store) != FIC_OK)
			return fail();
		return emit(c, text, human_plan);
	}
	if (strcmp(cmd, "tasks") == 0 && o.npos >= 1 && strcmp(o.pos[0], "done") == 0) {
		/* tasks done TASK_ID [--inspection ID] [--note TEXT] */
		if (o.npos != 2 || (o.inspection == NULL && o.note == NULL))
			return usage("tasks done TASK_ID needs --inspection ID or --note TEXT", NULL);
		if ((rc = open_store(c)))
			return rc;
		if (fic_task_complete(c->store, o.pos[1], o.inspection, o.note) != FIC_OK)
			return fail();
		printf("task %s done\n", o.pos[1]);
		return 0;
	}
	if (o.npos)
		return usage("unexpected argument", o.pos[0]);
	long year = 0, limit = 50;
	if (o.year && !to_long(o.year, 2000, 2999, &year))
		return usage("--year needs a year like 2026", o.year);
	bool due = strcmp(cmd, "due") == 0;
	if (!due && (o.area || o.cursor || o.all))
		return usage("--area, --cursor and --all are options of due", NULL);
	if (due && o.all && (o.area || o.cursor || o.limit))
		return usage("due --all lists every due site: no --area, --cursor or --limit", NULL);
	if (due && (o.cursor || o.limit) && !o.area)
		return usage("--cursor and --limit page through one area: give --area", NULL);
	if (due && o.limit && !to_long(o.limit, 1, FIC_DUE_PAGE_MAX, &limit))
		return usage("--limit takes 1 to 500", o.limit);
	if ((rc = open_store(c)))
		return rc;
	if (due && !o.all && !o.area)
		return due_summary(c);
	if (strcmp(cmd, "tasks") == 0)
		rc = fic_task_list_json(&text, c->store);
	else if (due && o.area)
		rc = fic_due_page_json(&text, c->store, o.area, o.cursor, (size_t)limit);
	else if (due)
		rc = fic_due_json(&text, c->store);
	else
		rc = fic_stats_json(&text, c->store, (int)year);
	if (rc != FIC_OK)
		return fail();
	return emit(c, text, cmd[0] == 't' ? human_tasks
	                     : due          ? (o.area ? human_due_page : human_due_all)
	                                    : human_stats);
}

/* ---- photo ---- */

/* photo add (--inspection ID [--item ITEM] | --lead ID | --site ID) FILE */
static int photo_add(ctx *c, int argc, char **argv)
{
	int owner = 0, rc;
	const char *owner_id = NULL, *item = NULL, *file = NULL;
	static const struct { const char *opt; int owner; } owners[] = {
		{ "--inspection", FIC_PHOTO_INSPECTION }, { "--lead", FIC_PHOTO_LEAD },
		{ "--site", FIC_PHOTO_SITE }, { "--item", 0 }
	};
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		size_t k = 0;
		while (k < 4 && (strcmp(a, owners[k].opt) != 0 || i + 1 >= argc))
			k++;
		if (k < 3) {
			owner = owners[k].owner;
			owner_id = argv[++i];
		} else if (k == 3) {
			item = argv[++i];
		} else if (strncmp(a, "--", 2) == 0 || file) {
			return usage("unknown or extra argument", a);
		} else {
			file = a;
		}
	}
	if (owner == 0 || file == NULL)
		return usage("photo add needs --inspection ID [--item ITEM], --lead ID or --site ID, and a file", NULL);
	if ((rc = open_store(c)))
		return rc;
	char id[FIC_UUID_BUFSIZE];
	fic_photo *p;
	if (fic_photo_add_file(id, c->store, owner, owner_id, item, file, NULL) != FIC_OK ||
	    fic_photo_get(&p, c->store, id) != FIC_OK)
		return fail();
	if (c->json) {
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "id", p->id);
		cJSON_AddStringToObject(j, "sha256", p->sha256);
		cJSON_AddNumberToObject(j, "bytes", (double)p->bytes);
		print_json(j);
	} else {
		printf("added photo %s (%dx%d, %lld bytes, sha256 %s)\n", p->id, p->width, p->height,
		       (long long)p->bytes, p->sha256);
	}
	fic_photo_free(p);
	return 0;
}

static int photo_show(ctx *c, int argc, char **argv)
{
	int rc;
	if (argc != 2)
		return usage("photo show needs one photo id", NULL);
	if ((rc = open_store(c)))
		return rc;
	fic_photo *p;
	if (fic_photo_get(&p, c->store, argv[1]) != FIC_OK)
		return fail();
	static const char *const owners[] = { "", "inspection", "lead", "site" };
	if (c->json) {
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "id", p->id);
		cJSON_AddStringToObject(j, "owner", owners[p->owner]);
		cJSON_AddStringToObject(j, "owner_id", p->owner_id);
		if (p->item_id)
			cJSON_AddStringToObject(j, "item_id", p->item_id);
		cJSON_AddStringToObject(j, "sha256", p->sha256);
		cJSON_AddStringToObject(j, "path", p->path);
		cJSON_AddNumberToObject(j, "bytes", (double)p->bytes);
		cJSON_AddNumberToObject(j, "width", p->width);
		cJSON_AddNumberToObject(j, "height", p->height);
		print_json(j);
	} else {
		printf("%s  %s %s%s%s\n  %dx%d, %lld bytes\n  sha256 %s\n  %s\n", p->id,
		       owners[p->owner], p->owner_id, p->item_id ? " item " : "",
		       p->item_id ? p->item_id : "", p->width, p->height, (long long)p->bytes,
		       p->sha256, p->path);
	}
	fic_photo_free(p);
	return 0;
}

/*
 * Copy `src` to `out` durably: into a temporary file beside it, fsync'd,
 * renamed over `out`, and the folder fsync'd — a crash leaves the old file
 * or the new one, never half of one. A read error is an error, not the end.
 */
static int copy_durably(const char *src, const char *out, size_t *total)
{
	char tmp[4200];
	snprintf(tmp, sizeof tmp, "%s.fic-part", out);
	FILE *in = fopen(src, "rb"), *o = fopen(tmp, "wb");
	bool ok = in && o;
	char buf[65536];
	size_t n;
	*total = 0;
	while (ok && (n = fread(buf, 1, sizeof buf, in)) > 0) {
		ok = fwrite(buf, 1, n, o) == n;
		*total += n;
	}
	ok = ok && !ferror(in) && fflush(o) == 0 && fsync(fileno(o)) == 0;
	if (in)
		fclose(in);
	if (o && fclose(o) != 0)
		ok = false;
	ok = ok && rename(tmp, out) == 0;
	if (!ok) {
		int e = errno;
		unlink(tmp);
		errno = e;
		return -1;
	}
	char dir[4200];
	snprintf(dir, sizeof dir, "%s", out);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	int fd = open(slash ? (dir[0] ? dir : "/") : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	return 0;
}

/* photo export ID [--what original|upload|thumb] --out FILE */
static int photo_export(ctx *c, int argc, char **argv)
{
	const char *id = NULL, *what = "original", *out = NULL;
	int rc;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--what") == 0 && i + 1 < argc)
			what = argv[++i];
		else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
			out = argv[++i];
		else if (id == NULL && strncmp(argv[i], "--", 2) != 0)
			id = argv[i];
		else
			return usage("unknown or extra argument", argv[i]);
	}
	if (id == NULL || out == NULL ||
	    (strcmp(what, "original") && strcmp(what, "upload") && strcmp(what, "thumb")))
		return usage("photo export ID [--what original|upload|thumb] --out FILE", NULL);
	if ((rc = open_store(c)))
		return rc;
	fic_photo *p;
	if (fic_photo_get(&p, c->store, id) != FIC_OK)
		return fail();
	const char *src = what[0] == 'o' ? p->path : what[0] == 'u' ? p->upload_path : p->thumb_path;
	size_t total = 0;
	rc = copy_durably(src, out, &total);
	fic_photo_free(p);
	if (rc != 0) {
		fprintf(stderr, "fic: cannot export to %s: %s\n", out, strerror(errno));
		return EXIT_FAIL;
	}
	printf("exported the %s (%zu bytes) to %s\n", what, total, out);
	return 0;
}

int cmd_photo(ctx *c, int argc, char **argv)
{
	if (argc < 1)
		return usage("photo needs a verb: add, show, export", NULL);
	if (strcmp(argv[0], "add") == 0)
		return photo_add(c, argc, argv);
	if (strcmp(argv[0], "show") == 0)
		return photo_show(c, argc, argv);
	if (strcmp(argv[0], "export") == 0)
		return photo_export(c, argc, argv);
	return usage("unknown photo verb", argv[0]);
}

/* ---- evidence, time ---- */

int cmd_evidence(ctx *c, int argc, char **argv)
{
	if (argc != 1 || strcmp(argv[0], "verify") != 0)
		return usage("evidence verify", NULL);
	int rc = open_store(c);
	if (rc)
		return rc;
	char *report = NULL;
	rc = fic_evidence_verify(&report, c->store);
	if (rc != FIC_OK && rc != FIC_ECORRUPT)
		return fail();
	if (c->json) {
		puts(report);
	} else {
		cJSON *r = cJSON_Parse(report);
		const cJSON *ch = cJSON_GetObjectItemCaseSensitive(r, "checked");
		printf("checked %d chain entries, %d records, %d photos\n",
		       (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(ch, "chain_entries")),
		       (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(ch, "records")),
		       (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(ch, "photos")));
		const cJSON *p;
		int n = 0;
		cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(r, "problems")) {
			printf("PROBLEM %-20s %s  %s\n", jstr(p, "kind"), jstr(p, "id"), jstr(p, "detail"));
			n++;
		}
		printf(n ? "%d problem(s): the evidence has been altered or lost\n" : "all evidence verifies%.0d\n", n);
		cJSON_Delete(r);
	}
	fic_free(report);
	return rc == FIC_OK ? 0 : EXIT_FAIL;
}

int cmd_time(ctx *c, int argc, char **argv)
{
	int rc;
	if (argc == 3 && strcmp(argv[0], "contact") == 0) {
		long long server, rtt;
		char *e1, *e2;
		server = strtoll(argv[1], &e1, 10);
		rtt = strtoll(argv[2], &e2, 10);
		if (*e1 || *e2)
			return usage("time contact SERVER_UTC_MS RTT_MS", NULL);
		if ((rc = open_store(c)))
			return rc;
		if (fic_time_contact(c->store, server, rtt) != FIC_OK)
			return fail();
		printf("server contact recorded\n");
		return 0;
	}
	if (argc != 0)
		return usage("time | time contact SERVER_UTC_MS RTT_MS", NULL);
	if ((rc = open_store(c)))
		return rc;
	fic_time t = FIC_TIME_INIT;
	if (fic_time_now(&t, c->store) != FIC_OK)
		return fail();
	char dev[32], tr[32];
	format_time(t.device_ms, dev, sizeof dev);
	format_time(t.trusted_ms, tr, sizeof tr);
	if (c->json) {
		cJSON *j = cJSON_CreateObject();
		cJSON_AddNumberToObject(j, "device_ms", (double)t.device_ms);
		cJSON_AddNumberToObject(j, "mono_ms", (double)t.mono_ms);
		cJSON_AddStringToObject(j, "boot_id", t.boot_id);
		cJSON_AddNumberToObject(j, "trusted_ms", (double)t.trusted_ms);
		cJSON_AddNumberToObject(j, "uncertainty_ms", (double)t.uncertainty_ms);
		cJSON_AddNumberToObject(j, "flags", t.flags);
		print_json(j);
		return 0;
	}
	printf("device clock  %s\ntrusted time  %s", dev, tr);
	if (t.uncertainty_ms >= 0)
		printf(" ± %lld ms", (long long)t.uncertainty_ms);
	printf("\n");
	if (t.flags & FIC_TIME_NO_CONTACT)
		printf("no contact with the server yet: the device clock is unverified\n");
	if (t.flags & FIC_TIME_CLOCK_CHANGED)
		printf("the device clock was changed since the last contact\n");
	if (t.flags & FIC_TIME_OTHER_BOOT)
		printf("the phone restarted since the last contact: elapsed time is estimated\n");
	return 0;
}
