/*
 * tools/fic/cmd_records.c — fic commands for what a co-inspector keeps
 * besides patrols and leads: the registers, publicity/training/cases,
 * water samples, notices to the competent authority, the water supplies'
 * public status.
 */
#include "fic.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Options: --name VALUE pairs and positionals. */
typedef struct ropts {
	const char *pos[8];
	int npos;
	const char *v[32][2];
	int nv;
	bool csv, html;
} ropts;

static int parse(ropts *o, int argc, char **argv)
{
	memset(o, 0, sizeof *o);
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--csv") == 0) {
			o->csv = true;
		} else if (strcmp(argv[i], "--html") == 0) {
			o->html = true;
		} else if (strncmp(argv[i], "--", 2) == 0) {
			if (i + 1 >= argc || o->nv == 32)
				return usage("option needs a value", argv[i]);
			o->v[o->nv][0] = argv[i] + 2;
			o->v[o->nv++][1] = argv[++i];
		} else {
			if (o->npos == 8)
				return usage("too many arguments", argv[i]);
			o->pos[o->npos++] = argv[i];
		}
	}
	return 0;
}

static const char *opt(const ropts *o, const char *name)
{
	for (int i = 0; i < o->nv; i++)
		if (strcmp(o->v[i][0], name) == 0)
			return o->v[i][1];
	return NULL;
}

/* Every option given is one of `known` (NULL-terminated). */
static int only(const ropts *o, const char *const *known)
{
	for (int i = 0; i < o->nv; i++) {
		bool ok = false;
		for (const char *const *k = known; *k; k++)
			ok |= strcmp(*k, o->v[i][0]) == 0;
		if (!ok)
			return usage("unknown option", o->v[i][0]);
	}
	return 0;
}

static const char *jstr(const cJSON *o, const char *k)
{
	const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
	return v ? v : "";
}

/* Write `text` to `path` ("-" or NULL: standard output). */
static int write_out(const char *path, const char *text)
{
	if (path == NULL || strcmp(path, "-") == 0) {
		fputs(text, stdout);
		return 0;
	}
	FILE *f = fopen(path, "wb");
	if (f == NULL || fputs(text, f) < 0 || fflush(f) != 0 || fsync(fileno(f)) != 0) {
		int e = errno;
		if (f)
			fclose(f);
		fprintf(stderr, "fic: cannot write %s: %s\n", path, strerror(e));
		return EXIT_FAIL;
	}
	fclose(f);
	fprintf(stderr, "wrote %s\n", path);
	return 0;
}

/* ---- registers: fic register patrols|reports, fic inspect list ---- */

int cmd_register(ctx *c, int argc, char **argv, int which)
{
	ropts o;
	int rc = parse(&o, argc, argv);
	static const char *const known[] = { "month", "area", "out", NULL };
	if (rc || (rc = only(&o, known)))
		return rc;
	if (o.npos)
		return usage("unexpected argument", o.pos[0]);
	if (o.csv && o.html)
		return usage("--csv or --html, not both", NULL);
	int format = o.csv ? FIC_REGISTER_CSV : o.html ? FIC_REGISTER_HTML : FIC_REGISTER_JSON;
	if ((rc = open_store(c)))
		return rc;
	char *text = NULL;
	if (fic_register_get(&text, c->store, which, opt(&o, "month"), opt(&o, "area"), format) != FIC_OK)
		return fail();
	if (format != FIC_REGISTER_JSON || c->json || opt(&o, "out")) {
		rc = write_out(opt(&o, "out"), text);
		if (format == FIC_REGISTER_JSON && !opt(&o, "out"))
			putchar('\n');
		fic_free(text);
		return rc;
	}
	cJSON *j = cJSON_Parse(text);
	fic_free(text);
	printf("%s  %s\n", jstr(j, "title"), jstr(j, "period"));
	const cJSON *r;
	int n = 0;
	cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(j, "rows")) {
		n++;
		if (which == FIC_REGISTER_PATROLS)
			printf("%s  %-20s %-16s %-4s %-8s %s | 报告：%s %s | %s\n", jstr(r, "date"),
			       jstr(r, "site"), jstr(r, "checklist"), jstr(r, "visit_mode"),
			       jstr(r, "inspector"), jstr(r, "findings"), jstr(r, "reported"),
			       jstr(r, "report_to"), jstr(r, "handling"));
		else
			printf("%s  %-8s %s | %s | 报告：%s %s | %s\n", jstr(r, "discovered"),
			       jstr(r, "urgency"), jstr(r, "title"), jstr(r, "inspector"), jstr(r, "reported"),
			       jstr(r, "report_to"), jstr(r, "handling"));
	}
	printf("%d line(s)\n", n);
	cJSON_Delete(j);
	return 0;
}

/* ---- activities ---- */

static int kind_of(const char *s)
{
	return s == NULL ? 0 : strcmp(s, "publicity") == 0 ? FIC_ACTIVITY_PUBLICITY
	       : strcmp(s, "training") == 0 ? FIC_ACTIVITY_TRAINING
	       : strcmp(s, "case") == 0 ? FIC_ACTIVITY_CASE : -1;
}

int cmd_activity(ctx *c, int argc, char **argv)
{
	if (argc < 1)
		return usage("activity add|list", NULL);
	ropts o;
	int rc = parse(&o, argc - 1, argv + 1);
	if (rc)
		return rc;
	if (strcmp(argv[0], "add") == 0) {
		/* activity add KIND --date D --topic T [--place --audience --people --channel --format --case --site --area --note] */
		static const char *const known[] = { "date", "topic", "place", "audience", "people",
			                             "channel", "format", "case", "site", "area", "note",
			                             "photo", NULL };
		if ((rc = only(&o, known)))
			return rc;
		fic_activity a = FIC_ACTIVITY_INIT;
		a.kind = o.npos == 1 ? kind_of(o.pos[0]) : -1;
		if (a.kind <= 0)
			return usage("activity add publicity|training|case --date YYYY-MM-DD --topic T …", NULL);
		a.date = opt(&o, "date");
		a.topic = opt(&o, "topic");
		a.place = opt(&o, "place");
		a.audience = opt(&o, "audience");
		a.channel = opt(&o, "channel");
		a.format = opt(&o, "format");
		a.case_ref = opt(&o, "case");
		a.site_id = opt(&o, "site");
		a.area = opt(&o, "area");
		a.note = opt(&o, "note");
		if (opt(&o, "people")) {
			char *end;
			long n = strtol(opt(&o, "people"), &end, 10);
			if (*end || n < 0 || n > 10000000)
				return usage("--people needs a whole number", opt(&o, "people"));
			a.people = (int)n;
		}
		if ((rc = open_store(c)))
			return rc;
		char id[FIC_UUID_BUFSIZE];
		if (fic_activity_add(id, c->store, &a) != FIC_OK)
			return fail();
		if (opt(&o, "photo")) {
			char pid[FIC_UUID_BUFSIZE];
			if (fic_photo_add_file(pid, c->store, FIC_PHOTO_ACTIVITY, id, NULL, opt(&o, "photo"),
			                       NULL) != FIC_OK)
				return fail();
		}
		printf("recorded %s %s\n", o.pos[0], id);
		return 0;
	}
	if (strcmp(argv[0], "list") == 0) {
		static const char *const known[] = { "year", "kind", NULL };
		if ((rc = only(&o, known)))
			return rc;
		int kind = kind_of(opt(&o, "kind"));
		long year = opt(&o, "year") ? strtol(opt(&o, "year"), NULL, 10) : 0;
		if (kind < 0)
			return usage("--kind publicity|training|case", NULL);
		if ((rc = open_store(c)))
			return rc;
		char *text = NULL;
		if (fic_activity_list_json(&text, c->store, (int)year, kind) != FIC_OK)
			return fail();
		if (c->json) {
			puts(text);
			fic_free(text);
			return 0;
		}
		cJSON *j = cJSON_Parse(text);
		fic_free(text);
		const cJSON *e;
		cJSON_ArrayForEach(e, j) {
			const cJSON *people = cJSON_GetObjectItemCaseSensitive(e, "people");
			char n[24] = "?";
			if (cJSON_IsNumber(people))
				snprintf(n, sizeof n, "%d", (int)people->valuedouble);
			printf("%s  %-9s %s  %s  %s %s人  photos %d\n", jstr(e, "date"), jstr(e, "kind"),
			       jstr(e, "topic"), jstr(e, "place"), jstr(e, "audience"), n,
			       (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(e, "photos")));
		}
		printf("%d activit%s\n", cJSON_GetArraySize(j), cJSON_GetArraySize(j) == 1 ? "y" : "ies");
		cJSON_Delete(j);
		return 0;
	}
	return usage("activity add|list", argv[0]);
}

/* ---- samples ---- */

int cmd_sample(ctx *c, int argc, char **argv)
{
	if (argc < 1)
		return usage("sample add|result|list", NULL);
	ropts o;
	int rc = parse(&o, argc - 1, argv + 1);
	if (rc)
		return rc;
	if (strcmp(argv[0], "add") == 0) {
		/* sample add NO --site S --point P --received-by R [--taken-by T] [--note N] */
		static const char *const known[] = { "site", "point", "received-by", "taken-by", "note", NULL };
		if ((rc = only(&o, known)))
			return rc;
		if (o.npos != 1)
			return usage("sample add SAMPLE_NO --site S --point P --received-by R", NULL);
		fic_sample s = FIC_SAMPLE_INIT;
		s.sample_no = o.pos[0];
		s.site_id = opt(&o, "site");
		s.point = opt(&o, "point");
		s.received_by = opt(&o, "received-by");
		s.taken_by = opt(&o, "taken-by");
		s.note = opt(&o, "note");
		if ((rc = open_store(c)))
			return rc;
		char id[FIC_UUID_BUFSIZE];
		if (fic_sample_add(id, c->store, &s) != FIC_OK)
			return fail();
		printf("sample %s recorded (%s)\n", o.pos[0], id);
		return 0;
	}
	if (strcmp(argv[0], "result") == 0) {
		/* sample result NO pass|fail --on DATE [--detail T] */
		static const char *const known[] = { "on", "detail", NULL };
		if ((rc = only(&o, known)))
			return rc;
		if (o.npos != 2 || (strcmp(o.pos[1], "pass") && strcmp(o.pos[1], "fail")) || !opt(&o, "on"))
			return usage("sample result SAMPLE_NO pass|fail --on YYYY-MM-DD [--detail T]", NULL);
		if ((rc = open_store(c)))
			return rc;
		if (fic_sample_result_set(c->store, o.pos[0], strcmp(o.pos[1], "pass") == 0, opt(&o, "on"),
		                          opt(&o, "detail")) != FIC_OK)
			return fail();
		printf("sample %s: %s\n", o.pos[0], o.pos[1]);
		return 0;
	}
	if (strcmp(argv[0], "list") == 0) {
		static const char *const known[] = { "site", NULL };
		if ((rc = only(&o, known)))
			return rc;
		if ((rc = open_store(c)))
			return rc;
		char *text = NULL;
		if (fic_sample_list_json(&text, c->store, opt(&o, "site")) != FIC_OK)
			return fail();
		if (c->json) {
			puts(text);
			fic_free(text);
			return 0;
		}
		cJSON *j = cJSON_Parse(text);
		fic_free(text);
		const cJSON *e;
		cJSON_ArrayForEach(e, j) {
			char when[32];
			format_time((int64_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(e, "taken_at_ms")),
			            when, sizeof when);
			printf("%-16s %s  %s, taken %s by %s, received by %s  result: %s %s %s\n",
			       jstr(e, "sample_no"), jstr(e, "site_name"), jstr(e, "point"), when,
			       jstr(e, "taken_by"), jstr(e, "received_by"),
			       jstr(e, "result")[0] ? jstr(e, "result") : "pending", jstr(e, "result_on"),
			       jstr(e, "result_detail"));
		}
		cJSON_Delete(j);
		return 0;
	}
	return usage("sample add|result|list", argv[0]);
}

/* ---- notices to the competent authority ---- */

int cmd_notice(ctx *c, int argc, char **argv)
{
	if (argc < 1)
		return usage("notice add|due", NULL);
	ropts o;
	int rc = parse(&o, argc - 1, argv + 1);
	if (rc)
		return rc;
	if (strcmp(argv[0], "add") == 0) {
		/* notice add SITE new_site|changed|abnormal --method M [--authority A] [--note N] */
		static const char *const known[] = { "method", "authority", "note", NULL };
		if ((rc = only(&o, known)))
			return rc;
		int reason = o.npos != 2                          ? 0
		             : strcmp(o.pos[1], "new_site") == 0 ? FIC_NOTICE_NEW_SITE
		             : strcmp(o.pos[1], "changed") == 0  ? FIC_NOTICE_CHANGED
		             : strcmp(o.pos[1], "abnormal") == 0 ? FIC_NOTICE_ABNORMAL : 0;
		if (reason == 0 || !opt(&o, "method"))
			return usage("notice add SITE new_site|changed|abnormal --method "
			             "phone|letter|in_person|online [--authority A]", NULL);
		if ((rc = open_store(c)))
			return rc;
		char id[FIC_UUID_BUFSIZE];
		if (fic_authority_notice_add(id, c->store, o.pos[0], reason, opt(&o, "authority"),
		                             opt(&o, "method"), opt(&o, "note")) != FIC_OK)
			return fail();
		printf("notice recorded (%s)\n", id);
		return 0;
	}
	if (strcmp(argv[0], "due") == 0) {
		if ((rc = open_store(c)))
			return rc;
		char *text = NULL;
		if (fic_authority_notices_due_json(&text, c->store) != FIC_OK)
			return fail();
		if (c->json) {
			puts(text);
			fic_free(text);
			return 0;
		}
		cJSON *j = cJSON_Parse(text);
		fic_free(text);
		const cJSON *e;
		cJSON_ArrayForEach(e, j) {
			printf("%s  %-20s %-16s tell %s (%s)\n", jstr(e, "site_id"), jstr(e, "name"),
			       jstr(e, "kind"), jstr(e, "authority")[0] ? jstr(e, "authority") : "(no authority on record)",
			       jstr(e, "reason"));
		}
		printf("%d notice(s) due\n", cJSON_GetArraySize(j));
		cJSON_Delete(j);
		return 0;
	}
	return usage("notice add|due", argv[0]);
}

/* ---- the water supplies' public status ---- */

int cmd_water(ctx *c, int argc, char **argv)
{
	ropts o;
	int rc = parse(&o, argc > 0 ? argc - 1 : 0, argv + 1);
	static const char *const known[] = { "out", NULL };
	if (argc < 1 || strcmp(argv[0], "status") != 0)
		return usage("water status [--csv] [--out FILE]", NULL);
	if (rc || (rc = only(&o, known)))
		return rc;
	if ((rc = open_store(c)))
		return rc;
	char *text = NULL;
	if (fic_water_status_json(&text, c->store) != FIC_OK)
		return fail();
	if (c->json || (!o.csv && opt(&o, "out"))) {
		rc = write_out(opt(&o, "out"), text);
		fic_free(text);
		return rc;
	}
	cJSON *j = cJSON_Parse(text);
	fic_free(text);
	if (o.csv) {
		/* For the county's public display: one line per supply. */
		char *csv = NULL;
		size_t len = 0;
		FILE *m = open_memstream(&csv, &len);
		fputs("\xEF\xBB\xBF" "site_id,name,kind,verdict,colour,tested_on,source,published,flagged\r\n", m);
		const cJSON *e;
		cJSON_ArrayForEach(e, j) {
			const char *f[] = { jstr(e, "site_id"), jstr(e, "name"), jstr(e, "kind"),
				            jstr(e, "verdict"), jstr(e, "colour"), jstr(e, "tested_on"),
				            jstr(e, "source"), jstr(e, "published") };
			for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
				fputc('"', m);
				for (const char *p = f[i]; *p; p++) {
					if (*p == '"')
						fputc('"', m);
					fputc(*p, m);
				}
				fputs("\",", m);
			}
			fputs(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "flagged")) ? "yes\r\n" : "no\r\n", m);
		}
		fclose(m);
		rc = write_out(opt(&o, "out"), csv);
		free(csv);
		cJSON_Delete(j);
		return rc;
	}
	const cJSON *e;
	cJSON_ArrayForEach(e, j) {
		printf("%-22s %-5s (%s, %s %s)  published %-5s%s\n", jstr(e, "name"), jstr(e, "colour"),
		       jstr(e, "verdict"), jstr(e, "source"), jstr(e, "tested_on"),
		       jstr(e, "published")[0] ? jstr(e, "published") : "-",
		       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "flagged"))
		               ? "  FLAGGED: published blue, latest test fails" : "");
	}
	cJSON_Delete(j);
	return 0;
}
