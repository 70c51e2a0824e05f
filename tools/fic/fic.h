/*
 * tools/fic/fic.h — what the fic tool's command files share.
 */
#ifndef FIC_TOOL_H
#define FIC_TOOL_H

#include <fieldinspect/fieldinspect.h>

#include <cjson/cJSON.h>
#include <stdbool.h>

#define EXIT_FAIL 1
#define EXIT_USAGE 2

typedef struct ctx {
	const char *db;
	const char *actor;
	bool json;
	fic_store *store;
} ctx;

typedef struct site_args {
	fic_site site;
	const char *reason;
	const char *near;
	double radius;
	long limit;
	const char *id;
	bool has_lat, has_lon;
	bool touched; /* any field option given */
	bool merge;   /* update's first pass: lat/lon are checked after merging */
	char *pos[8]; /* positional arguments, in order */
	int npos;
} site_args;

int usage(const char *what, const char *arg);
int fail(void);
int open_store(ctx *c);
void print_json(cJSON *j);
void format_time(int64_t ms, char *buf, size_t size);
int parse_site_options(site_args *a, int argc, char **argv, bool update);

int cmd_checklist(ctx *c, int argc, char **argv);
int cmd_inspect(ctx *c, int argc, char **argv);
int cmd_lead(ctx *c, int argc, char **argv);
int cmd_lead_sms(ctx *c, const char *verb, int argc, char **argv);
int cmd_plan(ctx *c, const char *cmd, int argc, char **argv);
int cmd_photo(ctx *c, int argc, char **argv);
int cmd_evidence(ctx *c, int argc, char **argv);
int cmd_time(ctx *c, int argc, char **argv);
int cmd_enroll(ctx *c, int argc, char **argv);
int cmd_unenroll(ctx *c, int argc, char **argv);
int cmd_sync(ctx *c, int argc, char **argv);
int cmd_visit(ctx *c, int argc, char **argv);
int cmd_site_code(ctx *c, int argc, char **argv);
int cmd_register(ctx *c, int argc, char **argv, int which);
int cmd_activity(ctx *c, int argc, char **argv);
int cmd_sample(ctx *c, int argc, char **argv);
int cmd_notice(ctx *c, int argc, char **argv);
int cmd_water(ctx *c, int argc, char **argv);

#endif
