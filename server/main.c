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
 *   fic-county-server --db PATH load FEED COUNTY FILE     load checklists, settings, sites, tasks or lab results (a JSON
 *                                                         array) for the county's devices to pull
 *   fic-county-server --db PATH photos                    photos held, re-hashed (exit 1 if any is bad)
 *   fic-county-server --db PATH chain                     breaks found in devices' submission chains
 *                                                         (exit 1 if any)
 *   fic-county-server --db PATH sms-in [--from NUMBER]    one received SMS on standard input, for
 *                                                         gateways that deliver by script: prints
 *                                                         the text to send back (if any); exit 0
 *                                                         taken (stored, known, or a part kept),
 *                                                         1 refused or not ours, 3 try again
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

/* One SMS from standard input (a gateway's script): the reply on standard output. */
static int sms_in(county_server *s, const char *from)
{
	char text[COUNTY_SMS_TEXT_MAX + 2];
	size_t n = fread(text, 1, sizeof text, stdin);
	if (ferror(stdin) || n > COUNTY_SMS_TEXT_MAX) {
		fprintf(stderr, "fic-county-server: sms-in reads one SMS (at most %d bytes)\n",
		        COUNTY_SMS_TEXT_MAX);
		return 1;
	}
	county_sms_result r;
	county_sms_in(s, text, n, from, &r);
	if (r.reply[0])
		puts(r.reply);
	switch (r.status) {
	case COUNTY_SMS_STORED:
	case COUNTY_SMS_DUPLICATE:
		fprintf(stderr, "fic-county-server: lead %s %s, receipt %s\n", r.lead_id,
		        r.status == COUNTY_SMS_STORED ? "stored" : "already held", r.receipt_id);
		return 0;
	case COUNTY_SMS_PARTIAL:
		fprintf(stderr, "fic-county-server: part kept, %d of %d here\n", r.have, r.of);
		return 0;
	case COUNTY_SMS_BUSY:
		fprintf(stderr, "fic-county-server: %s\n", r.reason);
		return 3;
	default:
		fprintf(stderr, "fic-county-server: refused: %s\n", r.reason);
		return 1;
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
	      "       fic-county-server --db PATH load checklists|settings|sites|tasks|lab_results COUNTY FILE.json\n"
	      "       fic-county-server --db PATH photos\n"
	      "       fic-county-server --db PATH chain\n"
	      "       fic-county-server --db PATH sms-in [--from NUMBER] < SMS.txt\n",
	      stderr);
	return 2;
}

/* The server's own options (before the command): 0, or usage's answer. */
typedef struct server_opts {
	const char *db, *listen_addr, *cert, *key, *keys;
	county_limits limits;
} server_opts;

static int parse_server_opts(server_opts *o, int argc, char **argv, int *next)
{
	memset(o, 0, sizeof *o); /* limits 0: the defaults */
	int i = 1;
	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		unsigned *count = strcmp(argv[i], "--connections") == 0 ? &o->limits.connections
		                  : strcmp(argv[i], "--per-address") == 0
		                          ? &o->limits.connections_per_address
		                          : NULL;
		if (count && i + 1 < argc) {
			char *end;
			unsigned long v = strtoul(argv[++i], &end, 10);
			if (*end != '\0' || v < 1 || v > 100000)
				return usage();
			*count = (unsigned)v;
		} else if (strcmp(argv[i], "--db") == 0 && i + 1 < argc)
			o->db = argv[++i];
		else if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc)
			o->listen_addr = argv[++i];
		else if (strcmp(argv[i], "--tls-cert") == 0 && i + 1 < argc)
			o->cert = argv[++i];
		else if (strcmp(argv[i], "--tls-key") == 0 && i + 1 < argc)
			o->key = argv[++i];
		else if (strcmp(argv[i], "--keys") == 0 && i + 1 < argc)
			o->keys = argv[++i];
		else
			return usage();
	}
	*next = i;
	return o->db == NULL ? usage() : 0;
}

/* issue-code, reenrol-code and rotate: [--ttl D] then one argument; a code
 * printed. -1 when the arguments are not that command's. */
static int code_command(county_server *s, int argc, char **argv, int i)
{
	const char *cmd = argv[i];
	int64_t ttl = COUNTY_CODE_TTL_MS;
	if (i + 3 < argc && strcmp(argv[i + 1], "--ttl") == 0) {
		if ((ttl = duration_ms(argv[i + 2])) < 0)
			return -1;
		i += 2;
	}
	if (i + 2 != argc)
		return -1;
	char code[32], err[300] = "";
	const char *arg = argv[i + 1];
	int r = strcmp(cmd, "issue-code") == 0
	                ? county_issue_code_ttl(s, arg, ttl, code, sizeof code)
	        : strcmp(cmd, "rotate") == 0
	                ? county_rotate_token(s, arg, ttl, code, sizeof code, err, sizeof err)
	                : county_issue_reenrol_code(s, arg, ttl, code, sizeof code, err, sizeof err);
	if (r != 0) {
		fprintf(stderr, "fic-county-server: %s\n",
		        strcmp(cmd, "issue-code") == 0 ? "could not issue a code" : err);
		return 1;
	}
	puts(code);
	if (strcmp(cmd, "issue-code") == 0 && county_has_key(s, arg) == 0)
		fprintf(stderr, "fic-county-server: warning: %s has no sealing key, so its devices "
		                "cannot submit informants' details: make one with --keys DIR "
		                "county-key %s\n", arg, arg);
	return 0;
}

/* A count printed with its noun; exit status 1 when it is not zero. */
static int nonzero(int n, const char *noun)
{
	printf("%d %s%s\n", n, noun, n == 1 ? "" : "s");
	return n != 0 ? 1 : 0;
}

/* The administration commands other than the codes: the exit status, or
 * -1 when the arguments are none of them. */
static int admin_command(county_server *s, int argc, char **argv, int i)
{
	const char *cmd = argv[i];
	int more = argc - i - 1; /* arguments after the command */
	char err[300] = "";
	if (strcmp(cmd, "revoke") == 0 && more == 1) {
		if (county_revoke_device(s, argv[i + 1], err, sizeof err) != 0) {
			fprintf(stderr, "fic-county-server: %s\n", err);
			return 1;
		}
		printf("revoked %s\n", argv[i + 1]);
		return 0;
	}
	if (strcmp(cmd, "devices") == 0 && more <= 1)
		return county_list_devices(s, more ? argv[i + 1] : NULL, stdout) < 0 ? 1 : 0;
	if (strcmp(cmd, "conflicts") == 0 && more == 0)
		return nonzero(county_conflicts(s, stdout), "conflict");
	if (strcmp(cmd, "count") == 0 && more <= 1) {
		printf("%lld\n", (long long)county_record_count(s, more ? argv[i + 1] : NULL));
		return 0;
	}
	if (strcmp(cmd, "leads") == 0 && more == 0)
		return county_report_leads(s, stdout) != 0 ? 1 : 0;
	if (strcmp(cmd, "load") == 0 && more == 3) {
		char *text = read_file(argv[i + 3], err, sizeof err);
		int n = text ? county_load(s, argv[i + 2], argv[i + 1], text, err, sizeof err) : -1;
		free(text);
		if (n < 0) {
			fprintf(stderr, "fic-county-server: %s\n", err);
			return 1;
		}
		printf("loaded %d %s for %s\n", n, argv[i + 1], argv[i + 2]);
		return 0;
	}
	if (strcmp(cmd, "photos") == 0 && more == 0) {
		int64_t bad = county_photo_bad(s);
		printf("%lld photos, %lld not matching their SHA-256\n",
		       (long long)county_photo_count(s), (long long)bad);
		return bad != 0 ? 1 : 0;
	}
	if (strcmp(cmd, "chain") == 0 && more == 0)
		return nonzero(county_chain_breaks(s, stdout), "chain break");
	if (strcmp(cmd, "sms-in") == 0 &&
	    (more == 0 || (more == 2 && strcmp(argv[i + 1], "--from") == 0)))
		return sms_in(s, more ? argv[i + 2] : NULL);
	return -1;
}

/* Listen until SIGINT or SIGTERM. */
static int serve(county_server *s, const server_opts *o)
{
	char err[300] = "";
	char *cert_pem = o->cert ? read_file(o->cert, err, sizeof err) : NULL;
	char *key_pem = cert_pem && o->key ? read_file(o->key, err, sizeof err) : NULL;
	int lrc = (o->cert && !cert_pem) || (o->key && !key_pem)
	                  ? -1
	          : county_set_limits(s, &o->limits) != 0
	                  ? (snprintf(err, sizeof err, "bad limits"), -1)
	                  : county_listen_tls(s, o->listen_addr, cert_pem, key_pem, err, sizeof err);
	if (key_pem)
		memset(key_pem, 0, strlen(key_pem));
	free(cert_pem);
	free(key_pem); /* the server keeps its own copies */
	if (lrc != 0) {
		fprintf(stderr, "fic-county-server: %s\n", err);
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	fprintf(stderr, "fic-county-server: listening on port %d\n", county_port(s));
	while (!stop)
		pause();
	return 0;
}

int main(int argc, char **argv)
{
	server_opts o;
	int i = argc, rc = parse_server_opts(&o, argc, argv, &i);
	if (rc != 0)
		return rc;
	char err[300];
	county_server *s;
	if (county_open(&s, o.db, err, sizeof err) != 0) {
		fprintf(stderr, "fic-county-server: %s\n", err);
		return 1;
	}
	const char *cmd = i < argc ? argv[i] : "";
	if (o.keys && strcmp(cmd, "open") != 0 && county_set_key_dir(s, o.keys, err, sizeof err) != 0) {
		fprintf(stderr, "fic-county-server: %s\n", err);
		county_close(s);
		return 1;
	}
	if (i == argc)
		rc = o.listen_addr ? serve(s, &o) : -1;
	else if (strcmp(cmd, "county-key") == 0 || strcmp(cmd, "open") == 0)
		rc = key_command(s, o.keys, argc - i, argv + i);
	else if (strcmp(argv[i], "issue-code") == 0 || strcmp(argv[i], "reenrol-code") == 0 ||
	         strcmp(argv[i], "rotate") == 0)
		rc = code_command(s, argc, argv, i);
	else
		rc = admin_command(s, argc, argv, i);
	county_close(s);
	return rc < 0 ? usage() : rc;
}
