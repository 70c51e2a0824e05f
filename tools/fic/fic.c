/*
 * tools/fic/fic.c — `fic`, the command-line face of the fieldinspect core.
 *
 * For county IT staff, testers and scripts: every command works on a store
 * file (--db PATH or $FIC_DB), prints a readable summary by default and one
 * JSON document with --json. Exit status: 0 success, 1 the library refused
 * (message on stderr), 2 bad usage.
 */
#include <fieldinspect/fieldinspect.h>

#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fic.h"

static const char usage_text[] =
	"usage: fic [--db PATH] [--actor NAME] [--json] COMMAND [ARGS]\n"
	"\n"
	"commands:\n"
	"  init                          create (or upgrade) the store\n"
	"  status                        counts of sites, audit entries, queued uploads\n"
	"  site add --kind K --name N [FIELDS] [--reason R]\n"
	"  site show ID\n"
	"  site find (--credit-code C | --place-code P)\n"
	"  site list [--kind K] [--name TEXT] [--near LAT,LON [--radius M]] [--limit N]\n"
	"  site update ID --reason R [FIELDS]\n"
	"  site close ID --reason R\n"
	"  site report ID closed|changed --reason R [FIELDS]   report it (a draft lead: attach the\n"
	"                                proof photo with photo add --lead, then lead submit)\n"
	"  audit [--id ID] [--limit N]   the audit log, oldest first\n"
	"  checklist list [--kind K] [--events] [--all-versions]\n"
	"  checklist show ID [--version N]\n"
	"  checklist install FILE        install a county's own or a newer checklist\n"
	"  site code add SITE PAYLOAD [--label L] | site code remove SITE PAYLOAD | site code list SITE\n"
	"                                a site's place codes (一门一码)\n"
	"  visit scan PAYLOAD [--lat X --lon Y [--accuracy M]]   scan the code at the door: proof of\n"
	"                                presence, the code's facts checked against the registry\n"
	"  inspect start SITE_ID CHECKLIST_ID [--announced|--unannounced] [--scan SCAN_ID]\n"
	"  inspect answer ID ITEM VALUE  (VALUE: yes/no/na, 7.2, 42, 2026-03-01, choice ids a,b, text)\n"
	"  inspect clear ID ITEM\n"
	"  inspect note ID ITEM TEXT\n"
	"  inspect site ID closed|changed --reason R [FIELDS]   what the site itself turned out to be\n"
	"  inspect show ID | finish ID | opinion ID\n"
	"  inspect list [--month YYYY-MM] [--area A] [--csv|--html] [--out FILE]   the patrol register\n"
	"  register patrols|reports [--month YYYY-MM] [--area A] [--csv|--html] [--out FILE]\n"
	"                                巡查登记表 / 信息报告登记表 (HTML: ready to print)\n"
	"  activity add publicity|training|case --date D --topic T [--place P --audience A\n"
	"           --people N --channel organs|communities|villages|schools|enterprises\n"
	"           --format F --case NO --site ID --area A --note N --photo FILE.jpg]\n"
	"  activity list [--year YYYY] [--kind K]\n"
	"  sample add NO --site S --point P --received-by R [--taken-by T] [--note N]\n"
	"  sample result NO pass|fail --on YYYY-MM-DD [--detail T] | sample list [--site S]\n"
	"  notice add SITE new_site|changed|abnormal --method phone|letter|in_person|online\n"
	"           [--authority A] [--note N] | notice due   telling the 主管机构\n"
	"  water status [--csv] [--out FILE]   each supply's latest verdict, blue/red, flagged\n"
	"  lead new FORM_ID [--site SITE_ID] [--set ITEM=VALUE]... [--answers JSON] [--draft]\n"
	"           [--received 'YYYY-MM-DD HH:MM']   when a tip-off came in (local time): its clock\n"
	"  lead list [--limit N]          urgent first, time left on the two-hour clock\n"
	"  lead show ID | submit ID | verify ID\n"
	"  lead correct ID --note TEXT\n"
	"  lead sms ID [--json]          an urgent lead as SMS: the parts and the county's number\n"
	"  lead sms-sent ID              record that its SMS went\n"
	"  lead sms-receipt ID TEXT      the county's confirmation: the lead is delivered\n"
	"  lead sms-due [--json]         urgent leads that should go by SMS now\n"
	"  lead call ID --method phone|fax --to WHOM [--at 'YYYY-MM-DD HH:MM'] [--note T]\n"
	"                                the call that reported it (the foodborne report's duty)\n"
	"  photo add (--inspection ID [--item ITEM] | --lead ID | --site ID) FILE.jpg\n"
	"  photo show ID\n"
	"  photo export ID [--what original|upload|thumb] --out FILE\n"
	"  evidence verify               recompute every hash and the chain, report any break\n"
	"  time | time contact SERVER_UTC_MS RTT_MS   trusted time\n"
	"  enroll CODE --server URL [--ca FILE] [--pin sha256//KEY] [--name DEVICE]\n"
	"  unenroll                      forget the token, county, server and county key (the\n"
	"                                only way to accept a county's new key)\n"
	"  sync --server URL [--ca FILE] [--pin sha256//KEY]   upload the queue, urgent leads first\n"
	"  sync rejections               records the server refused, with its reasons\n"
	"  tasks                         open re-inspection tasks\n"
	"  tasks done TASK_ID (--inspection ID | --note TEXT)   a re-inspection task completed\n"
	"  due                           counts per area of sites due for a patrol, the most overdue\n"
	"  due --area AREA [--limit N] [--cursor C]   one page of an area's due sites, most\n"
	"                                overdue first (areas: drinking_water school medical_blood\n"
	"                                mch occupational, the county's other.*, school_semester)\n"
	"  due --all                     every due site of every area (large registries: slow, big)\n"
	"  stats [--year YYYY]           report rate and patrols per area\n"
	"  plan show | plan set FILE.json   the patrol plan: areas, kinds, patrols a year\n"
	"  setting get KEY | setting set KEY VALUE   (utc_offset_minutes, semester_starts,\n"
	"                                outbox_retention_days, sms_gateway_number,\n"
	"                                sms_fallback_minutes)\n"
	"  version\n"
	"\n"
	"FIELDS: --address A --credit-code C --place-code P --legal-rep P --manager P\n"
	"  --licence-no N --licence-scope S --valid-from YYYY-MM-DD --valid-to YYYY-MM-DD\n"
	"  --lat X --lon Y --note T --authority A (主管机构 of a water supply or school)\n"
	"  schools:   --school-level L --boarding yes|no --enrolment N\n"
	"  medical:   --registration licensed|filed --institution-type T --beds N\n"
	"             --joint-venture yes|no --deferred yes|no\n"
	"  employers: --industry I --hazard ordinary|severe\n"
	"  venues:    --venue V\n"
	"kinds: water_rural water_secondary school medical blood_station plasma_station\n"
	"       mch employer other_venue\n"
	"The store path may also come from $FIC_DB, the server URL from $FIC_SERVER.\n";

/* `what` is a message; `arg`, if given, is appended after ": ". */
int usage(const char *what, const char *arg)
{
	if (what)
		fprintf(stderr, "fic: %s%s%s\n\n", what, arg ? ": " : "", arg ? arg : "");
	fputs(usage_text, stderr);
	return EXIT_USAGE;
}

int fail(void)
{
	const fic_error *e = fic_error_last();
	fprintf(stderr, "fic: error: %s (%s)\n", e->message, fic_result_str(e->code));
	return EXIT_FAIL;
}

int open_store(ctx *c)
{
	if (c->db == NULL || c->db[0] == '\0')
		return usage("no store: give --db PATH or set FIC_DB", NULL);
	fic_store_options opts = FIC_STORE_OPTIONS_INIT;
	opts.actor = c->actor;
	if (fic_store_open(&c->store, c->db, &opts) != FIC_OK)
		return fail();
	if (fic_store_read_only(c->store))
		fprintf(stderr, "fic: warning: the disk is full: the store is open read-only (leads can "
		                "be listed and shown; nothing can be saved until space is freed)\n");
	return 0;
}

void print_json(cJSON *j)
{
	char *s = j ? cJSON_Print(j) : NULL;
	if (s == NULL) {
		fprintf(stderr, "fic: out of memory\n");
		exit(EXIT_FAIL);
	}
	puts(s);
	cJSON_free(s);
	cJSON_Delete(j);
}

static cJSON *site_to_cjson(const fic_site *s)
{
	char *text = NULL;
	if (fic_site_to_json(&text, s) != FIC_OK)
		return NULL;
	cJSON *j = cJSON_Parse(text);
	fic_free(text);
	return j;
}

void format_time(int64_t ms, char *buf, size_t size)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%d %H:%M:%SZ", &tm);
}

static const char *flag_text(int v)
{
	return v == FIC_UNKNOWN ? NULL : v ? "yes" : "no";
}

static void print_site(const fic_site *s)
{
	char created[32], updated[32];
	format_time(s->created_at_ms, created, sizeof created);
	format_time(s->updated_at_ms, updated, sizeof updated);
	printf("%s  %s\n", s->id, s->name);
	struct { const char *k; const char *v; } rows[] = {
		{ "kind", fic_site_code_label(FIC_CODE_KIND, s->kind) },
		{ "status", fic_site_code_label(FIC_CODE_STATUS, s->status) },
		{ "origin", fic_site_code_label(FIC_CODE_ORIGIN, s->origin) },
		{ "address", s->address },
		{ "credit code", s->credit_code },
		{ "place code", s->place_code },
		{ "legal rep", s->legal_rep },
		{ "manager", s->manager },
		{ "licence", s->licence_no },
		{ "licence scope", s->licence_scope },
		{ "valid from", s->licence_valid_from },
		{ "valid to", s->licence_valid_to },
		{ "school level", fic_site_code_label(FIC_CODE_SCHOOL_LEVEL, s->school_level) },
		{ "boarding", flag_text(s->boarding) },
		{ "registration", fic_site_code_label(FIC_CODE_MED_REGISTRATION, s->med_registration) },
		{ "institution", fic_site_code_label(FIC_CODE_INSTITUTION_TYPE, s->institution_type) },
		{ "joint venture", flag_text(s->joint_venture) },
		{ "deferred validation", flag_text(s->validation_deferred) },
		{ "industry", fic_site_code_label(FIC_CODE_INDUSTRY, s->industry) },
		{ "hazard", fic_site_code_label(FIC_CODE_HAZARD_LEVEL, s->hazard_level) },
		{ "venue", fic_site_code_label(FIC_CODE_VENUE_TYPE, s->venue_type) },
		{ "note", s->note },
		{ "authority", s->authority },
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
		if (rows[i].v && rows[i].v[0])
			printf("  %-20s %s\n", rows[i].k, rows[i].v);
	if (s->enrolment != FIC_UNKNOWN)
		printf("  %-20s %d\n", "enrolment", s->enrolment);
	if (s->beds != FIC_UNKNOWN)
		printf("  %-20s %d\n", "beds", s->beds);
	if (s->has_location)
		printf("  %-20s %.6f, %.6f\n", "location", s->lat, s->lon);
	printf("  %-20s %s (revision %lld, updated %s)\n", "created", created,
	       (long long)s->revision, updated);
}

/* ---- site field options, shared by add and update ---- */

enum {
	OPT_KIND = 1000, OPT_NAME, OPT_ADDRESS, OPT_CREDIT, OPT_PLACE, OPT_LEGAL, OPT_MANAGER,
	OPT_LICENCE, OPT_SCOPE, OPT_FROM, OPT_TO, OPT_LAT, OPT_LON, OPT_NOTE, OPT_LEVEL,
	OPT_BOARDING, OPT_ENROLMENT, OPT_REG, OPT_INST, OPT_BEDS, OPT_JV, OPT_DEFERRED,
	OPT_INDUSTRY, OPT_HAZARD, OPT_VENUE, OPT_REASON, OPT_NEAR, OPT_RADIUS, OPT_LIMIT, OPT_ID,
	OPT_AUTHORITY
};

static const struct option site_options[] = {
	{ "kind", required_argument, NULL, OPT_KIND },
	{ "name", required_argument, NULL, OPT_NAME },
	{ "address", required_argument, NULL, OPT_ADDRESS },
	{ "credit-code", required_argument, NULL, OPT_CREDIT },
	{ "place-code", required_argument, NULL, OPT_PLACE },
	{ "legal-rep", required_argument, NULL, OPT_LEGAL },
	{ "manager", required_argument, NULL, OPT_MANAGER },
	{ "licence-no", required_argument, NULL, OPT_LICENCE },
	{ "licence-scope", required_argument, NULL, OPT_SCOPE },
	{ "valid-from", required_argument, NULL, OPT_FROM },
	{ "valid-to", required_argument, NULL, OPT_TO },
	{ "lat", required_argument, NULL, OPT_LAT },
	{ "lon", required_argument, NULL, OPT_LON },
	{ "note", required_argument, NULL, OPT_NOTE },
	{ "school-level", required_argument, NULL, OPT_LEVEL },
	{ "boarding", required_argument, NULL, OPT_BOARDING },
	{ "enrolment", required_argument, NULL, OPT_ENROLMENT },
	{ "registration", required_argument, NULL, OPT_REG },
	{ "institution-type", required_argument, NULL, OPT_INST },
	{ "beds", required_argument, NULL, OPT_BEDS },
	{ "joint-venture", required_argument, NULL, OPT_JV },
	{ "deferred", required_argument, NULL, OPT_DEFERRED },
	{ "industry", required_argument, NULL, OPT_INDUSTRY },
	{ "hazard", required_argument, NULL, OPT_HAZARD },
	{ "venue", required_argument, NULL, OPT_VENUE },
	{ "reason", required_argument, NULL, OPT_REASON },
	{ "near", required_argument, NULL, OPT_NEAR },
	{ "radius", required_argument, NULL, OPT_RADIUS },
	{ "limit", required_argument, NULL, OPT_LIMIT },
	{ "id", required_argument, NULL, OPT_ID },
	{ "authority", required_argument, NULL, OPT_AUTHORITY },
	{ NULL, 0, NULL, 0 }
};

static bool parse_int(const char *s, long min, long max, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static bool parse_double(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end)
		return false;
	*out = v;
	return true;
}

static bool parse_yes_no(const char *s, int *out)
{
	if (strcmp(s, "yes") == 0 || strcmp(s, "1") == 0)
		*out = 1;
	else if (strcmp(s, "no") == 0 || strcmp(s, "0") == 0)
		*out = 0;
	else if (strcmp(s, "unknown") == 0)
		*out = FIC_UNKNOWN;
	else
		return false;
	return true;
}


/* Apply one option to `a`. Returns 0, or an exit code. */
static int apply_option(site_args *a, int opt, const char *arg, bool update)
{
	fic_site *s = &a->site;
	long n;
	int code_type = 0, *code_out = NULL;
	a->touched = true;
	switch (opt) {
	case OPT_KIND:
		if (update)
			return usage("the kind of a site cannot be changed", NULL);
		code_type = FIC_CODE_KIND;
		code_out = &s->kind;
		break;
	case OPT_NAME: s->name = arg; break;
	case OPT_ADDRESS: s->address = arg; break;
	case OPT_CREDIT: s->credit_code = arg; break;
	case OPT_PLACE: s->place_code = arg; break;
	case OPT_LEGAL: s->legal_rep = arg; break;
	case OPT_MANAGER: s->manager = arg; break;
	case OPT_LICENCE: s->licence_no = arg; break;
	case OPT_SCOPE: s->licence_scope = arg; break;
	case OPT_FROM: s->licence_valid_from = arg; break;
	case OPT_TO: s->licence_valid_to = arg; break;
	case OPT_NOTE: s->note = arg; break;
	case OPT_LAT:
		if (!parse_double(arg, &s->lat))
			return usage("--lat needs a number", arg);
		a->has_lat = true;
		break;
	case OPT_LON:
		if (!parse_double(arg, &s->lon))
			return usage("--lon needs a number", arg);
		a->has_lon = true;
		break;
	case OPT_LEVEL: code_type = FIC_CODE_SCHOOL_LEVEL; code_out = &s->school_level; break;
	case OPT_REG: code_type = FIC_CODE_MED_REGISTRATION; code_out = &s->med_registration; break;
	case OPT_INST: code_type = FIC_CODE_INSTITUTION_TYPE; code_out = &s->institution_type; break;
	case OPT_INDUSTRY: code_type = FIC_CODE_INDUSTRY; code_out = &s->industry; break;
	case OPT_HAZARD: code_type = FIC_CODE_HAZARD_LEVEL; code_out = &s->hazard_level; break;
	case OPT_VENUE: code_type = FIC_CODE_VENUE_TYPE; code_out = &s->venue_type; break;
	case OPT_BOARDING:
		if (!parse_yes_no(arg, &s->boarding))
			return usage("--boarding takes yes or no", arg);
		break;
	case OPT_JV:
		if (!parse_yes_no(arg, &s->joint_venture))
			return usage("--joint-venture takes yes or no", arg);
		break;
	case OPT_DEFERRED:
		if (!parse_yes_no(arg, &s->validation_deferred))
			return usage("--deferred takes yes or no", arg);
		break;
	case OPT_ENROLMENT:
		if (!parse_int(arg, 0, 10000000, &n))
			return usage("--enrolment needs a whole number", arg);
		s->enrolment = (int)n;
		break;
	case OPT_BEDS:
		if (!parse_int(arg, 0, 10000000, &n))
			return usage("--beds needs a whole number", arg);
		s->beds = (int)n;
		break;
	case OPT_REASON: a->reason = arg; a->touched = false; break;
	case OPT_NEAR: a->near = arg; break;
	case OPT_RADIUS:
		if (!parse_double(arg, &a->radius))
			return usage("--radius needs a number of metres", arg);
		break;
	case OPT_LIMIT:
		if (!parse_int(arg, 0, 1000000, &a->limit))
			return usage("--limit needs a whole number", arg);
		break;
	case OPT_ID: a->id = arg; break;
	case OPT_AUTHORITY: s->authority = arg; break;
	default:
		return usage(NULL, NULL);
	}
	if (code_out && fic_site_code_parse(code_out, code_type, arg) != FIC_OK) {
		fprintf(stderr, "fic: %s\n", fic_error_last()->message);
		return EXIT_USAGE;
	}
	return 0;
}

/* Parse options after `site VERB` (argv[0]); positional arguments go to a->pos. */
int parse_site_options(site_args *a, int argc, char **argv, bool update)
{
	optind = 0; /* 0 fully re-initialises GNU getopt (we parse twice for update) */
	opterr = 0;
	a->npos = 0;
	int opt;
	/* "-": positionals come back as 1, in order, even with POSIXLY_CORRECT set. */
	while ((opt = getopt_long(argc, argv, "-", site_options, NULL)) != -1) {
		if (opt == 1) {
			if (a->npos == (int)(sizeof a->pos / sizeof a->pos[0]))
				return usage("too many arguments", optarg);
			a->pos[a->npos++] = optarg;
			continue;
		}
		if (opt == '?' || opt == ':')
			return usage("unknown or incomplete option", argv[optind - 1]);
		int rc = apply_option(a, opt, optarg, update);
		if (rc)
			return rc;
	}
	if (a->has_lat != a->has_lon && !a->merge)
		return usage("--lat and --lon go together", NULL);
	if (a->has_lat)
		a->site.has_location = 1;
	return 0;
}

static int print_one_site(ctx *c, const fic_site *s)
{
	if (c->json)
		print_json(site_to_cjson(s));
	else
		print_site(s);
	return 0;
}

static int print_site_list(ctx *c, const fic_site_list *list)
{
	if (c->json) {
		cJSON *arr = cJSON_CreateArray();
		for (size_t i = 0; arr && i < list->count; i++) {
			cJSON *j = site_to_cjson(list->sites[i]);
			if (j && list->distance_m)
				cJSON_AddNumberToObject(j, "distance_m", list->distance_m[i]);
			if (j)
				cJSON_AddItemToArray(arr, j);
		}
		print_json(arr);
		return 0;
	}
	for (size_t i = 0; i < list->count; i++) {
		const fic_site *s = list->sites[i];
		printf("%s  %-15s %-8s %s", s->id, fic_site_code_str(FIC_CODE_KIND, s->kind),
		       fic_site_code_str(FIC_CODE_STATUS, s->status), s->name);
		if (list->distance_m)
			printf("  (%.0f m)", list->distance_m[i]);
		putchar('\n');
	}
	printf("%zu site%s\n", list->count, list->count == 1 ? "" : "s");
	return 0;
}

/* The site verbs, each with the options parse_site_options read. */
static int site_add(ctx *c, site_args *a, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	int rc;
	if (a->npos)
		return usage("site add takes no positional arguments", a->pos[0]);
	if (a->site.kind == 0 || a->site.name == NULL)
		return usage("site add needs --kind and --name", NULL);
	if ((rc = open_store(c)))
		return rc;
	fic_site *s = NULL;
	if (fic_site_add(&s, c->store, &a->site, a->reason) != FIC_OK)
		return fail();
	if (!c->json)
		printf("added site ");
	print_one_site(c, s);
	fic_site_free(s);
	return 0;
}

static int site_show(ctx *c, site_args *a, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	int rc;
	if (a->npos != 1)
		return usage("site show needs one site id", NULL);
	if ((rc = open_store(c)))
		return rc;
	fic_site *s = NULL;
	if (fic_site_get(&s, c->store, a->pos[0]) != FIC_OK)
		return fail();
	print_one_site(c, s);
	fic_site_free(s);
	return 0;
}

static int site_find(ctx *c, site_args *a, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	int rc;
	if (a->npos || (a->site.credit_code == NULL) == (a->site.place_code == NULL))
		return usage("site find needs exactly one of --credit-code or --place-code", NULL);
	if ((rc = open_store(c)))
		return rc;
	if (a->site.place_code) {
		fic_site *s = NULL;
		if (fic_site_find_by_place_code(&s, c->store, a->site.place_code) != FIC_OK)
			return fail();
		print_one_site(c, s);
		fic_site_free(s);
		return 0;
	}
	fic_site_list *list = NULL;
	if (fic_site_find_by_credit_code(&list, c->store, a->site.credit_code) != FIC_OK)
		return fail();
	print_site_list(c, list);
	fic_site_list_free(list);
	return 0;
}

static int site_list(ctx *c, site_args *a, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	int rc;
	if (a->npos)
		return usage("site list takes no positional arguments", a->pos[0]);
	if ((rc = open_store(c)))
		return rc;
	fic_site_list *list = NULL;
	if (a->near) {
		double lat, lon;
		char extra;
		if (sscanf(a->near, "%lf,%lf%c", &lat, &lon, &extra) != 2)
			return usage("--near takes LAT,LON", a->near);
		rc = fic_site_near(&list, c->store, lat, lon, a->radius, (size_t)a->limit);
	} else {
		rc = fic_site_search(&list, c->store, a->site.kind, a->site.name, (size_t)a->limit);
	}
	if (rc != FIC_OK)
		return fail();
	print_site_list(c, list);
	fic_site_list_free(list);
	return 0;
}

static int site_update(ctx *c, site_args *a, int argc, char **argv)
{
	int rc;
	if (a->npos != 1)
		return usage("site update needs one site id", NULL);
	if (a->reason == NULL)
		return usage("site update needs --reason", NULL);
	if ((rc = open_store(c)))
		return rc;
	fic_site *cur = NULL;
	if (fic_site_get(&cur, c->store, a->pos[0]) != FIC_OK)
		return fail();
	/* Start from the stored facts and apply the options again on top. */
	site_args b;
	memset(&b, 0, sizeof b);
	b.site = *cur;
	b.has_lat = b.has_lon = cur->has_location;
	if ((rc = parse_site_options(&b, argc, argv, true))) {
		fic_site_free(cur);
		return rc;
	}
	fic_site *s = NULL;
	rc = fic_site_update(&s, c->store, &b.site, a->reason);
	fic_site_free(cur);
	if (rc != FIC_OK)
		return fail();
	if (!c->json)
		printf("updated site ");
	print_one_site(c, s);
	fic_site_free(s);
	return 0;
}

static int site_close(ctx *c, site_args *a, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	int rc;
	if (a->npos != 1)
		return usage("site close needs one site id", NULL);
	if (a->reason == NULL)
		return usage("site close needs --reason", NULL);
	if ((rc = open_store(c)))
		return rc;
	if (fic_site_close(c->store, a->pos[0], a->reason) != FIC_OK)
		return fail();
	if (c->json) {
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "id", a->pos[0]);
		cJSON_AddStringToObject(j, "status", "closed");
		print_json(j);
	} else {
		printf("closed site %s\n", a->pos[0]);
	}
	return 0;
	}

/* site report ID closed|changed --reason R [FIELDS]: outside an inspection, with its draft report. */
static int site_report(ctx *c, site_args *a, int argc, char **argv)
{
	int rc;
	if (a->npos != 2 || (strcmp(a->pos[1], "closed") && strcmp(a->pos[1], "changed")))
		return usage("site report needs ID and closed or changed", NULL);
	if (a->reason == NULL)
		return usage("site report needs --reason", NULL);
	if ((rc = open_store(c)))
		return rc;
	char lead[FIC_UUID_BUFSIZE];
	if (strcmp(a->pos[1], "closed") == 0) {
		if (fic_site_report(lead, c->store, a->pos[0], FIC_FOUND_CLOSED, a->reason, NULL) != FIC_OK)
			return fail();
	} else {
		fic_site *cur = NULL;
		if (fic_site_get(&cur, c->store, a->pos[0]) != FIC_OK)
			return fail();
		site_args b;
		memset(&b, 0, sizeof b);
		b.site = *cur;
		b.has_lat = b.has_lon = cur->has_location;
		if ((rc = parse_site_options(&b, argc, argv, true)) == 0)
			rc = fic_site_report(lead, c->store, a->pos[0], FIC_FOUND_CHANGED, a->reason,
			                     &b.site) != FIC_OK ? fail() : 0;
		fic_site_free(cur);
		if (rc)
			return rc;
	}
	if (c->json) {
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "lead_id", lead);
		print_json(j);
	} else {
		printf("reported; draft lead %s: attach the proof photo (fic photo add --lead %s FILE), "
		       "then fic lead submit %s\n", lead, lead, lead);
	}
	return 0;
}

static int cmd_site(ctx *c, int argc, char **argv)
{
	if (argc >= 1 && strcmp(argv[0], "code") == 0)
		return cmd_site_code(c, argc - 1, argv + 1);
	if (argc < 1)
		return usage("site needs a verb: add, show, find, list, update, close, report", NULL);
	static const struct {
		const char *verb;
		int (*run)(ctx *, site_args *, int, char **);
	} verbs[] = { { "add", site_add }, { "show", site_show }, { "find", site_find },
		      { "list", site_list }, { "update", site_update }, { "close", site_close },
		      { "report", site_report } };
	const char *verb = argv[0];
	for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++) {
		if (strcmp(verb, verbs[i].verb) != 0)
			continue;
		site_args a;
		memset(&a, 0, sizeof a);
		fic_site_init(&a.site, FIC_SITE_VERSION);
		a.radius = 1000;
		bool update = strcmp(verb, "update") == 0 || strcmp(verb, "report") == 0;
		a.merge = update;
		/* argv[0] (the verb) is skipped by getopt like a program name */
		int rc = parse_site_options(&a, argc, argv, update);
		return rc ? rc : verbs[i].run(c, &a, argc, argv);
	}
	return usage("unknown site verb", verb);
}

static int cmd_init(ctx *c, int argc)
{
	if (argc > 0)
		return usage("init takes no arguments", NULL);
	int rc = open_store(c);
	if (rc)
		return rc;
	if (c->json) {
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "db", c->db);
		cJSON_AddNumberToObject(j, "schema", fic_store_schema_version());
		cJSON_AddStringToObject(j, "device_id", fic_store_device_id(c->store));
		print_json(j);
	} else {
		printf("store %s ready (schema %d, device %s)\n", c->db, fic_store_schema_version(),
		       fic_store_device_id(c->store));
	}
	return 0;
}

static int cmd_status(ctx *c, int argc)
{
	if (argc > 0)
		return usage("status takes no arguments", NULL);
	int rc = open_store(c);
	if (rc)
		return rc;
	fic_store_stats st = FIC_STORE_STATS_INIT;
	if (fic_store_stats_get(c->store, &st) != FIC_OK)
		return fail();
	if (c->json) {
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "device_id", fic_store_device_id(c->store));
		cJSON_AddNumberToObject(j, "sites", (double)st.sites);
		cJSON_AddNumberToObject(j, "audit_entries", (double)st.audit_entries);
		cJSON_AddNumberToObject(j, "outbox_pending", (double)st.outbox_pending);
		print_json(j);
	} else {
		printf("device %s: %lld sites, %lld audit entries, %lld records waiting for upload\n",
		       fic_store_device_id(c->store), (long long)st.sites,
		       (long long)st.audit_entries, (long long)st.outbox_pending);
	}
	return 0;
}

static int cmd_audit(ctx *c, int argc, char **argv)
{
	site_args a;
	memset(&a, 0, sizeof a);
	fic_site_init(&a.site, FIC_SITE_VERSION);
	int rc = parse_site_options(&a, argc + 1, argv - 1, false);
	if (rc)
		return rc;
	if (a.npos > 0)
		return usage("audit takes no positional arguments", a.pos[0]);
	if ((rc = open_store(c)))
		return rc;
	fic_audit_list *list = NULL;
	if (fic_audit_list_get(&list, c->store, a.id, (size_t)a.limit) != FIC_OK)
		return fail();
	if (c->json) {
		cJSON *arr = cJSON_CreateArray();
		for (size_t i = 0; i < list->count; i++) {
			const fic_audit_entry *e = &list->entries[i];
			cJSON *j = cJSON_CreateObject();
			cJSON_AddNumberToObject(j, "seq", (double)e->seq);
			cJSON_AddNumberToObject(j, "at_ms", (double)e->at_ms);
			cJSON_AddStringToObject(j, "actor", e->actor);
			cJSON_AddStringToObject(j, "action", e->action);
			cJSON_AddStringToObject(j, "entity", e->entity);
			cJSON_AddStringToObject(j, "entity_id", e->entity_id);
			cJSON *d = cJSON_Parse(e->detail);
			cJSON_AddItemToObject(j, "detail", d ? d : cJSON_CreateNull());
			cJSON_AddItemToArray(arr, j);
		}
		print_json(arr);
	} else {
		for (size_t i = 0; i < list->count; i++) {
			const fic_audit_entry *e = &list->entries[i];
			char when[32];
			format_time(e->at_ms, when, sizeof when);
			printf("#%lld %s %-12s %-12s %s %s\n", (long long)e->seq, when, e->actor,
			       e->action, e->entity_id, e->detail);
		}
	}
	fic_audit_list_free(list);
	return 0;
}

int main(int argc, char **argv)
{
	ctx c = { getenv("FIC_DB"), getenv("FIC_ACTOR"), false, NULL };
	int i = 1;
	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			c.json = true;
		} else if (strcmp(argv[i], "--db") == 0 && i + 1 < argc) {
			c.db = argv[++i];
		} else if (strcmp(argv[i], "--actor") == 0 && i + 1 < argc) {
			c.actor = argv[++i];
		} else if (strcmp(argv[i], "--help") == 0) {
			fputs(usage_text, stdout);
			return 0;
		} else {
			return usage("unknown or incomplete option", argv[i]);
		}
	}
	if (i >= argc)
		return usage("no command given", NULL);
	const char *cmd = argv[i];
	int rest = argc - i - 1;
	char **args = argv + i + 1;
	int rc;
	if (strcmp(cmd, "init") == 0)
		rc = cmd_init(&c, rest);
	else if (strcmp(cmd, "status") == 0)
		rc = cmd_status(&c, rest);
	else if (strcmp(cmd, "site") == 0)
		rc = cmd_site(&c, rest, args);
	else if (strcmp(cmd, "audit") == 0)
		rc = cmd_audit(&c, rest, args);
	else if (strcmp(cmd, "checklist") == 0)
		rc = cmd_checklist(&c, rest, args);
	else if (strcmp(cmd, "inspect") == 0)
		rc = cmd_inspect(&c, rest, args);
	else if (strcmp(cmd, "lead") == 0)
		rc = cmd_lead(&c, rest, args);
	else if (strcmp(cmd, "photo") == 0)
		rc = cmd_photo(&c, rest, args);
	else if (strcmp(cmd, "evidence") == 0)
		rc = cmd_evidence(&c, rest, args);
	else if (strcmp(cmd, "time") == 0)
		rc = cmd_time(&c, rest, args);
	else if (strcmp(cmd, "enroll") == 0)
		rc = cmd_enroll(&c, rest, args);
	else if (strcmp(cmd, "unenroll") == 0)
		rc = cmd_unenroll(&c, rest, args);
	else if (strcmp(cmd, "sync") == 0)
		rc = cmd_sync(&c, rest, args);
	else if (strcmp(cmd, "visit") == 0)
		rc = cmd_visit(&c, rest, args);
	else if (strcmp(cmd, "register") == 0 && rest >= 1 &&
	         (strcmp(args[0], "patrols") == 0 || strcmp(args[0], "reports") == 0))
		rc = cmd_register(&c, rest - 1, args + 1,
		                  args[0][0] == 'p' ? FIC_REGISTER_PATROLS : FIC_REGISTER_REPORTS);
	else if (strcmp(cmd, "register") == 0)
		rc = usage("register patrols|reports [--month YYYY-MM] [--area A] [--csv|--html] [--out F]", NULL);
	else if (strcmp(cmd, "activity") == 0)
		rc = cmd_activity(&c, rest, args);
	else if (strcmp(cmd, "sample") == 0)
		rc = cmd_sample(&c, rest, args);
	else if (strcmp(cmd, "notice") == 0)
		rc = cmd_notice(&c, rest, args);
	else if (strcmp(cmd, "water") == 0)
		rc = cmd_water(&c, rest, args);
	else if (strcmp(cmd, "tasks") == 0 || strcmp(cmd, "due") == 0 || strcmp(cmd, "stats") == 0 ||
	         strcmp(cmd, "setting") == 0 || strcmp(cmd, "plan") == 0)
		rc = cmd_plan(&c, cmd, rest, args);
	else if (strcmp(cmd, "version") == 0) {
		printf("fic %s (schema %d)\n", fic_version(), fic_store_schema_version());
		rc = 0;
	} else if (strcmp(cmd, "help") == 0) {
		fputs(usage_text, stdout);
		rc = 0;
	} else
		rc = usage("unknown command", cmd);
	fic_store_close(c.store);
	return rc;
}
