/*
 * server/main.c — `fic-county-server`, the reference county server.
 *
 *   fic-county-server --db PATH --listen 127.0.0.1:8080   serve until SIGINT/SIGTERM
 *                     [--tls-cert CHAIN.pem --tls-key KEY.pem]  … over HTTPS
 *                     [--connections 1024] [--per-address 64]
 *   fic-county-server --db PATH [--keys DIR] issue-code [--ttl D] COUNTY  print a one-time
 *                                                         enrolment code (valid 7 days, or D:
 *                                                         30m, 12h, 14d …); with --keys, a
 *                                                         county's first code makes its sealing key
 *   fic-county-server --db PATH --keys DIR county-key [--replace] COUNTY  make the county's
 *                                                         sealing key (its private half only in
 *                                                         DIR/<id>.key, 0600); --replace: a new one
 *   fic-county-server --db PATH --keys DIR|FILE open [--out FILE] [LEAD]  every lead (or one)
 *                                                         as JSON lines, informants' details
 *                                                         opened with the private key: offline
 *   fic-county-server --db PATH devices [COUNTY]          enrolled devices: id, state, county,
 *                                                         enrolment, last use, name (no tokens)
 *   fic-county-server --db PATH revoke DEVICE             refuse the device from its next request
 *   fic-county-server --db PATH reenrol-code [--ttl D] DEVICE  a code that enrols that device
 *                                                         again (lost token, or revoked), alone
 *   fic-county-server --db PATH rotate [--ttl D] DEVICE   its token stops now; prints a
 *                                                         re-enrolment code to give the device
 *   fic-county-server --db PATH conflicts                 records refused because another device
 *                                                         holds their id (exit status 1 if any)
 *   fic-county-server --db PATH count [TYPE]              records held (all, or of a type)
 *   fic-county-server --db PATH leads                     the two-hour audit: each lead's receipt
 *                                                         (exit status 1 if an urgent one was late)
 *   fic-county-server --db PATH load FEED COUNTY FILE     load checklists, sites or tasks (a JSON
 *                                                         array) for the county's devices to pull
 *   fic-county-server --db PATH photos                    photos held, re-hashed (exit 1 if any is bad)
 *   fic-county-server --db PATH chain                     breaks found in devices' submission chains
 *                                                         (exit 1 if any)
 *
 * The private keys never need to be on the serving machine: make them
 * where `open` runs (an offline machine with a copy of the database) and
 * load only their public halves (county-key writes both; the database holds
 * the public one). Serve without --keys.
 *
 * Off loopback it must serve HTTPS (the device refuses plain http elsewhere):
 * give it --tls-cert CHAIN.pem --tls-key KEY.pem (libmicrohttpd with GnuTLS),
 * or put it behind a TLS-terminating proxy (nginx, Caddy).
 */
#include "county.h"

#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/* "30s", "15m", "12h", "7d" in milliseconds, or -1. */
static int64_t duration_ms(const char *t)
{
	char *end;
	long long n = strtoll(t, &end, 10);
	if (end == t || n <= 0 || n > 36500 || end[0] == '\0' || end[1] != '\0')
		return -1;
	switch (end[0]) {
	case 's': return n * 1000LL;
	case 'm': return n * 60000LL;
	case 'h': return n * 3600000LL;
	case 'd': return n * 86400000LL;
	default: return -1;
	}
}

static int usage(void);

/* A file only its owner reads, for opened leads: made 0600 whatever the
 * umask (a shell's redirection would follow the umask). */
static FILE *private_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || fchmod(fd, 0600) != 0) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	return fdopen(fd, "w");
}

/* county-key [--replace] COUNTY; open [--out FILE] [LEAD]: argv[0] is the command. */
static int key_command(county_server *s, const char *keys, int argc, char **argv)
{
	char err[600] = "";
	bool open_cmd = strcmp(argv[0], "open") == 0;
	bool replace = argc > 1 && strcmp(argv[1], "--replace") == 0;
	const char *out_path = open_cmd && argc > 2 && strcmp(argv[1], "--out") == 0 ? argv[2] : NULL;
	int rest = 1 + (replace ? 1 : 0) + (out_path ? 2 : 0);
	if (keys == NULL || (open_cmd ? argc - rest > 1 : argc - rest != 1))
		return usage();
	if (!open_cmd) {
		char id[32];
		if (county_make_key(s, argv[rest], replace, id, sizeof id, err, sizeof err) != 0) {
			fprintf(stderr, "fic-county-server: %s\n", err);
			return 1;
		}
		printf("%s\n", id);
		return 0;
	}
	FILE *out = out_path ? private_file(out_path) : stdout;
	if (out == NULL) {
		fprintf(stderr, "fic-county-server: cannot write %s\n", out_path);
		return 1;
	}
	int n = county_open_leads(s, keys, rest < argc ? argv[rest] : NULL, out, err, sizeof err);
	if (out != stdout && (fflush(out) != 0 || fsync(fileno(out)) != 0))
		n = -1;
	if (out != stdout)
		fclose(out);
	if (n < 0) {
		fprintf(stderr, "fic-county-server: %s\n", n < 0 && err[0] ? err : "writing failed");
		return 1;
	}
	fprintf(stderr, "fic-county-server: %d lead%s\n", n, n == 1 ? "" : "s");
	return 0;
}

static int usage(void)
{
	fputs("usage: fic-county-server --db PATH --listen HOST:PORT [--tls-cert PEM --tls-key PEM]\n"
	      "                         [--connections 1024] [--per-address 64]\n"
	      "       fic-county-server --db PATH [--keys DIR] issue-code [--ttl 7d] COUNTY\n"
	      "       fic-county-server --db PATH --keys DIR county-key [--replace] COUNTY\n"
	      "       fic-county-server --db PATH --keys DIR|FILE open [--out FILE] [LEAD]\n"
	      "       fic-county-server --db PATH devices [COUNTY]\n"
	      "       fic-county-server --db PATH revoke DEVICE\n"
	      "       fic-county-server --db PATH reenrol-code [--ttl 7d] DEVICE\n"
	      "       fic-county-server --db PATH rotate [--ttl 7d] DEVICE\n"
	      "       fic-county-server --db PATH conflicts\n"
	      "       fic-county-server --db PATH count [TYPE]\n"
	      "       fic-county-server --db PATH leads\n"
	      "       fic-county-server --db PATH load checklists|sites|tasks COUNTY FILE.json\n"
	      "       fic-county-server --db PATH photos\n"
	      "       fic-county-server --db PATH chain\n",
	      stderr);
	return 2;
}

int main(int argc, char **argv)
{
	const char *db = NULL, *listen_addr = NULL, *cert = NULL, *key = NULL, *keys = NULL;
	county_limits limits;
	memset(&limits, 0, sizeof limits); /* 0: the defaults */
	int i = 1;
	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		unsigned *count = strcmp(argv[i], "--connections") == 0 ? &limits.connections
		                  : strcmp(argv[i], "--per-address") == 0
		                          ? &limits.connections_per_address
		                          : NULL;
		if (count && i + 1 < argc) {
			char *end;
			unsigned long v = strtoul(argv[++i], &end, 10);
			if (*end != '\0' || v < 1 || v > 100000)
				return usage();
			*count = (unsigned)v;
		} else if (strcmp(argv[i], "--db") == 0 && i + 1 < argc)
			db = argv[++i];
		else if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc)
			listen_addr = argv[++i];
		else if (strcmp(argv[i], "--tls-cert") == 0 && i + 1 < argc)
			cert = argv[++i];
		else if (strcmp(argv[i], "--tls-key") == 0 && i + 1 < argc)
			key = argv[++i];
		else if (strcmp(argv[i], "--keys") == 0 && i + 1 < argc)
			keys = argv[++i];
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
	const char *cmd = i < argc ? argv[i] : "";
	if (keys && strcmp(cmd, "open") != 0 && county_set_key_dir(s, keys, err, sizeof err) != 0) {
		fprintf(stderr, "fic-county-server: %s\n", err);
		county_close(s);
		return 1;
	}
	if (strcmp(cmd, "county-key") == 0 || strcmp(cmd, "open") == 0) {
		rc = key_command(s, keys, argc - i, argv + i);
		county_close(s);
		return rc;
	}
	/* The commands that make a code take --ttl after their name. */
	int64_t ttl = COUNTY_CODE_TTL_MS;
	bool coded = strcmp(cmd, "issue-code") == 0 || strcmp(cmd, "reenrol-code") == 0 ||
	             strcmp(cmd, "rotate") == 0;
	if (coded && i + 3 < argc && strcmp(argv[i + 1], "--ttl") == 0) {
		if ((ttl = duration_ms(argv[i + 2])) < 0) {
			county_close(s);
			return usage();
		}
		argv[i + 2] = argv[i];
		i += 2;
	}
	if (coded && i + 2 == argc) {
		char code[32];
		int r = strcmp(cmd, "issue-code") == 0
		                ? county_issue_code_ttl(s, argv[i + 1], ttl, code, sizeof code)
		        : strcmp(cmd, "rotate") == 0
		                ? county_rotate_token(s, argv[i + 1], ttl, code, sizeof code, err, sizeof err)
		                : county_issue_reenrol_code(s, argv[i + 1], ttl, code, sizeof code, err,
		                                            sizeof err);
		if (r != 0) {
			fprintf(stderr, "fic-county-server: %s\n",
			        strcmp(cmd, "issue-code") == 0 ? "could not issue a code" : err);
			rc = 1;
		} else {
			puts(code);
			if (strcmp(cmd, "issue-code") == 0 && county_has_key(s, argv[i + 1]) == 0)
				fprintf(stderr, "fic-county-server: warning: %s has no sealing key, so its "
				                "devices cannot submit informants' details: make one with "
				                "--keys DIR county-key %s\n", argv[i + 1], argv[i + 1]);
		}
	} else if (i + 2 == argc && strcmp(cmd, "revoke") == 0) {
		if (county_revoke_device(s, argv[i + 1], err, sizeof err) != 0) {
			fprintf(stderr, "fic-county-server: %s\n", err);
			rc = 1;
		} else {
			printf("revoked %s\n", argv[i + 1]);
		}
	} else if (strcmp(cmd, "devices") == 0 && i + 2 >= argc) {
		rc = county_list_devices(s, i + 1 < argc ? argv[i + 1] : NULL, stdout) < 0 ? 1 : 0;
	} else if (i + 1 == argc && strcmp(cmd, "conflicts") == 0) {
		int n = county_conflicts(s, stdout);
		printf("%d conflict%s\n", n, n == 1 ? "" : "s");
		rc = n != 0 ? 1 : 0;
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
		          : county_set_limits(s, &limits) != 0
		                  ? (snprintf(err, sizeof err, "bad limits"), -1)
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
