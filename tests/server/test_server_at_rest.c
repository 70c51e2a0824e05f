/*
 * tests/server/test_server_at_rest.c — what a stolen server disk or a
 * hostile network gets (issue #12): the server's database, its WAL and
 * shared-memory files and every photo file are the server user's alone
 * (0600, folders 0700) whatever the umask; enrolment codes, like tokens, are
 * kept only as SHA-256; and TLS below 1.2 is refused on both ends — by the
 * server, and by the device's transport even when the phone's TLS library
 * would still allow it.
 */
#include "e2e.h"
#include "internal.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

/* An OpenSSL configuration as permissive as an old phone's: TLS 1.0 and 1.1
 * allowed, any cipher. The device's transport must hold the line itself. */
static char permissive_conf[600];

static const char permissive_text[] =
	"openssl_conf = default_conf\n"
	"[default_conf]\nssl_conf = ssl_sect\n"
	"[ssl_sect]\nsystem_default = system_default_sect\n"
	"[system_default_sect]\nMinProtocol = TLSv1\nCipherString = DEFAULT@SECLEVEL=0\n";

static int checked, group_or_other;

static int check_mode(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)flag;
	(void)ftw;
	checked++;
	if (sb->st_mode & 077) {
		group_or_other++;
		print_message("%s is mode %o\n", path, (unsigned)(sb->st_mode & 0777));
	}
	return 0;
}

static void check_path(const char *path)
{
	struct stat sb;
	if (stat(path, &sb) != 0)
		fail_msg("%s does not exist", path);
	check_mode(path, &sb, 0, NULL);
}

static void the_servers_files_are_its_own(void **state)
{
	e2e *f = *state;
	e2e_enroll(f, "石柱县");
	/* A photo whole and one on its way. */
	fic_site s = FIC_SITE_INIT, *out;
	s.kind = FIC_SITE_WATER_RURAL;
	s.name = "大河村集中供水站";
	assert_int_equal(fic_site_add(&out, f->store, &s, "巡查发现"), FIC_OK);
	size_t len;
	unsigned char *jpg = tu_make_jpeg(800, 600, 3, 0, 90, &len);
	char pid[FIC_UUID_BUFSIZE];
	assert_int_equal(fic_photo_add_buffer(pid, f->store, FIC_PHOTO_SITE, out->id, NULL, jpg, len,
	                                      NULL), FIC_OK);
	free(jpg);
	fic_site_free(out);
	assert_int_equal(fic_sync_push(f->store, &f->opts, NULL), FIC_OK);
	assert_int_equal(county_photo_count(f->server), 1);
	char t[200];
	e2e_token(f->store, t, sizeof t);
	fic_http_header h[2] = { { "Upload-Offset", "0" }, { "Upload-Length", "100" } };
	e2e_answer a = e2e_request(f, "PATCH", "/v1/photos/" "00000000000000000000000000000000"
	                           "000000000000000000000000000000ff", t, h, 2, "abc", 3);
	assert_int_equal(a.status, 204);
	e2e_answer_free(&a);
	/* Everything the server made, while it is running (the WAL and its index too). */
	static const char *const files[] = { "county.db", "county.db-wal", "county.db-shm" };
	checked = group_or_other = 0;
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		char *p = tu_path(f->dir, files[i]);
		check_path(p);
		free(p);
	}
	char *photos = tu_path(f->dir, "county.db.photos");
	assert_int_equal(nftw(photos, check_mode, 16, FTW_PHYS), 0);
	free(photos);
	assert_true(checked >= 3 + 4); /* the root, the county's folder, a photo, a partial */
	assert_int_equal(group_or_other, 0);
}

/* Whether `needle` occurs anywhere in the file. */
static bool file_holds(const char *path, const char *needle)
{
	FILE *fp = fopen(path, "rb");
	if (fp == NULL)
		return false;
	size_t cap = 1 << 20, n = 0, r;
	char *buf = malloc(cap);
	while ((r = fread(buf + n, 1, cap - n, fp)) > 0) {
		n += r;
		if (n == cap)
			buf = realloc(buf, cap *= 2);
	}
	fclose(fp);
	bool found = memmem(buf, n, needle, strlen(needle)) != NULL;
	free(buf);
	return found;
}

static void enrolment_codes_are_kept_only_as_hashes(void **state)
{
	e2e *f = *state;
	char code[32], used[32];
	assert_int_equal(county_issue_code(f->server, "石柱县", code, sizeof code), 0);
	assert_int_equal(county_issue_code(f->server, "石柱县", used, sizeof used), 0);
	assert_int_equal(fic_sync_enroll(f->store, &f->opts, used, NULL), FIC_OK);
	char token[200];
	e2e_token(f->store, token, sizeof token);
	static const char *const files[] = { "county.db", "county.db-wal" };
	for (size_t i = 0; i < 2; i++) {
		char *p = tu_path(f->dir, files[i]);
		if (file_holds(p, code) || file_holds(p, used) || file_holds(p, token))
			fail_msg("%s holds a code or token in clear", files[i]);
		free(p);
	}
	/* The code still works as a code. */
	fic_store *other = e2e_store_new(f, "other.db");
	assert_int_equal(fic_sync_enroll(other, &f->opts, code, NULL), FIC_OK);
	fic_store_close(other);
}

/* ---- TLS versions ---- */

static void make_cert(const char *dir)
{
	char cmd[1000];
	snprintf(cmd, sizeof cmd,
	         "cd '%s' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
	         "-subj /CN=county-test -addext subjectAltName=IP:127.0.0.1 -days 2 -keyout key.pem "
	         "-out cert.pem >/dev/null 2>&1", dir);
	assert_int_equal(system(cmd), 0);
}

static char *slurp(const char *dir, const char *name)
{
	char *p = tu_path(dir, name);
	FILE *fp = fopen(p, "rb");
	free(p);
	assert_non_null(fp);
	char *buf = calloc(1, 65536);
	size_t n = fread(buf, 1, 65535, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

/* Whether an OpenSSL client that allows anything completes a handshake
 * with the server at `port` speaking only `version` (-tls1, -tls1_1, …). */
static bool handshake(int port, const char *version)
{
	char cmd[900];
	snprintf(cmd, sizeof cmd,
	         "echo | OPENSSL_CONF='%s' timeout 10 openssl s_client -connect 127.0.0.1:%d %s "
	         "-cipher 'DEFAULT:@SECLEVEL=0' >/dev/null 2>&1", permissive_conf, port, version);
	int rc = system(cmd);
	return WIFEXITED(rc) && WEXITSTATUS(rc) == 0;
}

static void the_server_refuses_tls_below_1_2(void **state)
{
	e2e *f = *state;
	make_cert(f->dir);
	char *cert = slurp(f->dir, "cert.pem"), *key = slurp(f->dir, "key.pem");
	county_server *srv;
	char err[300], *db = tu_path(f->dir, "tls.db");
	assert_int_equal(county_open(&srv, db, err, sizeof err), 0);
	free(db);
	if (county_listen_tls(srv, "127.0.0.1:0", cert, key, err, sizeof err) != 0)
		fail_msg("%s", err);
	int port = county_port(srv);
	assert_true(handshake(port, "-tls1_2"));
	assert_true(handshake(port, "-tls1_3"));
	assert_false(handshake(port, "-tls1_1"));
	assert_false(handshake(port, "-tls1"));
	county_close(srv);
	free(cert);
	free(key);
}

static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET };
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	socklen_t sl = sizeof sa;
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

static void the_device_refuses_tls_below_1_2(void **state)
{
	e2e *f = *state;
	make_cert(f->dir);
	/* A server that speaks TLS 1.1 at most (and answers HTTP). */
	int port = free_port();
	char accept[32];
	snprintf(accept, sizeof accept, "127.0.0.1:%d", port);
	char *cert = tu_path(f->dir, "cert.pem"), *key = tu_path(f->dir, "key.pem");
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		setenv("OPENSSL_CONF", permissive_conf, 1);
		if (freopen("/dev/null", "w", stdout) == NULL || freopen("/dev/null", "w", stderr) == NULL)
			_exit(126);
		execlp("openssl", "openssl", "s_server", "-accept", accept, "-cert", cert, "-key", key,
		       "-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0", "-www", (char *)NULL);
		_exit(127);
	}
	/* Wait for it to listen. */
	for (int i = 0; i < 100; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
		inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
		int ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
		close(fd);
		if (ok)
			break;
		usleep(50 * 1000);
	}
	fic_curl_options co = FIC_CURL_OPTIONS_INIT;
	co.ca_file = cert;
	fic_transport *t;
	assert_int_equal(fic_transport_curl_new(&t, &co), FIC_OK);
	char url[64];
	snprintf(url, sizeof url, "https://127.0.0.1:%d/", port);
	fic_http_request q = { .version = FIC_TRANSPORT_VERSION, .method = "GET", .url = url };
	fic_http_response r;
	memset(&r, 0, sizeof r);
	int rc = t->request(t->ctx, &q, &r);
	char why[300];
	snprintf(why, sizeof why, "%s", fic_error_last()->message);
	fic_free(r.body);
	fic_transport_curl_free(t);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	free(cert);
	free(key);
	if (rc == FIC_OK)
		fail_msg("the device spoke TLS 1.1 (HTTP %d)", r.status);
	/* The handshake fails (the transport reports a failed handshake as the
	 * link's, FIC_ENETWORK, as it does a handshake cut short). */
	print_message("refused: %s\n", why);
	assert_true(rc == FIC_ENETWORK || rc == FIC_ETLS);
}

int main(void)
{
	umask(022); /* the usual umask: the server must not rely on a stricter one */
	char *dir = tu_mkdtemp();
	snprintf(permissive_conf, sizeof permissive_conf, "%s/permissive.cnf", dir);
	assert_int_equal(tu_write_file(permissive_conf, permissive_text, strlen(permissive_text)), 0);
	/* The device's TLS library as an old phone's (before libcurl starts OpenSSL). */
	setenv("OPENSSL_CONF", permissive_conf, 1);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(the_servers_files_are_its_own, e2e_setup, e2e_teardown),
		cmocka_unit_test_setup_teardown(enrolment_codes_are_kept_only_as_hashes, e2e_setup,
		                                e2e_teardown),
		cmocka_unit_test_setup_teardown(the_server_refuses_tls_below_1_2, e2e_setup,
		                                e2e_teardown),
		cmocka_unit_test_setup_teardown(the_device_refuses_tls_below_1_2, e2e_setup,
		                                e2e_teardown),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	tu_rmtree(dir);
	free(dir);
	return rc;
}
