/*
 * server/main.c — `fic-county-server`, the reference county server.
 *
 *   fic-county-server --db PATH --listen 127.0.0.1:8080   serve until SIGINT/SIGTERM
 *   fic-county-server --db PATH issue-code COUNTY         print a one-time enrolment code
 *   fic-county-server --db PATH count [TYPE]              records held (all, or of a type)
 *   fic-county-server --db PATH leads                     the two-hour audit: each lead's receipt
 *                                                         (exit status 1 if an urgent one was late)
 *
 * Plain HTTP: put it behind a TLS-terminating proxy (nginx, Caddy) for
 * anything but loopback; the device refuses plain http elsewhere.
 */
#include "county.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int usage(void)
{
	fputs("usage: fic-county-server --db PATH --listen HOST:PORT\n"
	      "       fic-county-server --db PATH issue-code COUNTY\n"
	      "       fic-county-server --db PATH count [TYPE]\n"
	      "       fic-county-server --db PATH leads\n",
	      stderr);
	return 2;
}

int main(int argc, char **argv)
{
	const char *db = NULL, *listen_addr = NULL;
	int i = 1;
	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--db") == 0 && i + 1 < argc)
			db = argv[++i];
		else if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc)
			listen_addr = argv[++i];
		else
			return usage();
	}
	if (db == NULL)
		return usage();
	char err[300];
	county_server *s;
	if (county_open(&s, db, err, sizeof err) != 0) {
		fprintf(stderr, "fic-county-server: %s\n", err);
		return 1;
	}
	int rc = 0;
	if (i < argc && strcmp(argv[i], "issue-code") == 0 && i + 2 == argc) {
		char code[32];
		if (county_issue_code(s, argv[i + 1], code, sizeof code) != 0) {
			fprintf(stderr, "fic-county-server: could not issue a code\n");
			rc = 1;
		} else {
			puts(code);
		}
	} else if (i < argc && strcmp(argv[i], "count") == 0 && i + 2 >= argc) {
		printf("%lld\n", (long long)county_record_count(s, i + 1 < argc ? argv[i + 1] : NULL));
	} else if (i + 1 == argc && strcmp(argv[i], "leads") == 0) {
		int late = county_report_leads(s, stdout);
		rc = late != 0 ? 1 : 0;
	} else if (i == argc && listen_addr) {
		if (county_listen(s, listen_addr, err, sizeof err) != 0) {
			fprintf(stderr, "fic-county-server: %s\n", err);
			rc = 1;
		} else {
			signal(SIGINT, on_signal);
			signal(SIGTERM, on_signal);
			fprintf(stderr, "fic-county-server: listening on port %d\n", county_port(s));
			while (!stop)
				pause();
		}
	} else {
		rc = usage();
	}
	county_close(s);
	return rc;
}
