/*
 * server/main.c — `fic-county-server`, the reference county server.
 *
 *   fic-county-server --db PATH --listen 127.0.0.1:8080   serve until SIGINT/SIGTERM
 *                     [--tls-cert CHAIN.pem --tls-key KEY.pem]  … over HTTPS
 *   fic-county-server --db PATH issue-code COUNTY         print a one-time enrolment code
 *   fic-county-server --db PATH count [TYPE]              records held (all, or of a type)
 *   fic-county-server --db PATH leads                     the two-hour audit: each lead's receipt
 *                                                         (exit status 1 if an urgent one was late)
 *   fic-county-server --db PATH load FEED COUNTY FILE     load checklists, settings, sites, tasks or lab results (a JSON
 *                                                         array) for the county's devices to pull
 *   fic-county-server --db PATH photos                    photos held, re-hashed (exit 1 if any is bad)
 *   fic-county-server --db PATH chain                     breaks found in devices' submission chains
 *                                                         (exit 1 if any)
 *
 * Off loopback it must serve HTTPS (the device refuses plain http elsewhere):
 * give it --tls-cert CHAIN.pem --tls-key KEY.pem (libmicrohttpd with GnuTLS),
 * or put it behind a TLS-terminating proxy (nginx, Caddy).
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

/* A whole file as text (at most 64 MiB), or NULL with a message. */
static char *read_file(const char *path, char *err, size_t errsize)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		snprintf(err, errsize, "cannot open %s", path);
		return NULL;
	}
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap + 1);
	size_t n;
	while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
		len += n;
		if (len == cap) {
			char *nb = cap < ((size_t)64 << 20) ? realloc(buf, cap * 2 + 1) : NULL;
			if (nb == NULL) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
	}
	int bad = ferror(f);
	fclose(f);
	if (buf == NULL || bad) {
		free(buf);
		snprintf(err, errsize, "cannot read %s (or it is larger than 64 MiB)", path);
		return NULL;
	}
	buf[len] = '\0';
	return buf;
}

static int usage(void)
{
	fputs("usage: fic-county-server --db PATH --listen HOST:PORT [--tls-cert PEM --tls-key PEM]\n"
	      "       fic-county-server --db PATH issue-code COUNTY\n"
	      "       fic-county-server --db PATH count [TYPE]\n"
	      "       fic-county-server --db PATH leads\n"
	      "       fic-county-server --db PATH load checklists|settings|sites|tasks|lab_results COUNTY FILE.json\n"
	      "       fic-county-server --db PATH photos\n"
	      "       fic-county-server --db PATH chain\n",
	      stderr);
	return 2;
}

int main(int argc, char **argv)
{
	const char *db = NULL, *listen_addr = NULL, *cert = NULL, *key = NULL;
	int i = 1;
	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--db") == 0 && i + 1 < argc)
			db = argv[++i];
		else if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc)
			listen_addr = argv[++i];
		else if (strcmp(argv[i], "--tls-cert") == 0 && i + 1 < argc)
			cert = argv[++i];
		else if (strcmp(argv[i], "--tls-key") == 0 && i + 1 < argc)
			key = argv[++i];
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
	} else if (i + 4 == argc && strcmp(argv[i], "load") == 0) {
		char *text = read_file(argv[i + 3], err, sizeof err);
		int n = text ? county_load(s, argv[i + 2], argv[i + 1], text, err, sizeof err) : -1;
		free(text);
		if (n < 0) {
			fprintf(stderr, "fic-county-server: %s\n", err);
			rc = 1;
		} else {
			printf("loaded %d %s for %s\n", n, argv[i + 1], argv[i + 2]);
		}
	} else if (i + 1 == argc && strcmp(argv[i], "photos") == 0) {
		int64_t bad = county_photo_bad(s);
		printf("%lld photos, %lld not matching their SHA-256\n",
		       (long long)county_photo_count(s), (long long)bad);
		rc = bad != 0 ? 1 : 0;
	} else if (i + 1 == argc && strcmp(argv[i], "chain") == 0) {
		int n = county_chain_breaks(s, stdout);
		printf("%d chain break%s\n", n, n == 1 ? "" : "s");
		rc = n != 0 ? 1 : 0;
	} else if (i == argc && listen_addr) {
		char *cert_pem = cert ? read_file(cert, err, sizeof err) : NULL;
		char *key_pem = cert_pem && key ? read_file(key, err, sizeof err) : NULL;
		int lrc = (cert && !cert_pem) || (key && !key_pem)
		                  ? -1
		                  : county_listen_tls(s, listen_addr, cert_pem, key_pem, err, sizeof err);
		if (key_pem)
			memset(key_pem, 0, strlen(key_pem));
		free(cert_pem);
		free(key_pem); /* the server keeps its own copies */
		if (lrc != 0) {
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
