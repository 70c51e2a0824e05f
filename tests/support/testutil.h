/*
 * tests/support/testutil.h — helpers shared by the tests: a scratch
 * directory per test, a fake platform whose clock the test drives, and a
 * counting allocator that can fail the Nth allocation.
 */
#ifndef FIC_TESTUTIL_H
#define FIC_TESTUTIL_H

#include <fieldinspect/fieldinspect.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * How much slower than the host this run is: FIC_TEST_TIME_SCALE (default 1;
 * scripts/test-arm64.sh sets it for qemu). Tests that bound a duration or
 * aim a kill at a moment stretch those times by it.
 */
double tu_time_scale(void);

/* A fresh empty directory under $TMPDIR (removed by tu_rmtree). */
char *tu_mkdtemp(void);
void tu_rmtree(const char *path);
/* Join dir and name into a static-lifetime buffer owned by the caller (free()). */
char *tu_path(const char *dir, const char *name);
/* Write `len` bytes to a file; returns 0 on success. */
int tu_write_file(const char *path, const void *data, size_t len);
/* Whether `len` bytes occur anywhere in the file at `path` (false when it
 * cannot be read), and in every regular file under a folder (recursively;
 * *files, if not NULL, counts the files read). */
bool tu_file_contains(const char *path, const void *needle, size_t len);
bool tu_tree_contains(const char *dir, const void *needle, size_t len, int *files);

/* Fake platform: time is whatever the test says. */
typedef struct tu_clock {
	int64_t wall_ms;
	int64_t mono_ms;
	char boot_id[40];
	int fail_random; /* non-zero: random_bytes fails */
	int log_count;
	char last_log[512];
	/* If set, called on the `hook_at`-th call of random_bytes from now (1 = next). */
	void (*hook)(void *arg);
	void *hook_arg;
	int hook_at;
} tu_clock;

/* Fill `p` with a platform driven by `clk` (wall 2026-03-01T08:00Z, mono 1000 ms). */
void tu_platform(fic_platform *p, tu_clock *clk);

/*
 * The test county's sealing key pair (always the same: made from a fixed
 * seed), and pinning its public key on a store as enrolment would
 * (returns a fic_status). Leads with personal answers need a pinned key to
 * be submitted; tu_fixture_new pins this one.
 */
void tu_county_keys(unsigned char pk[32], unsigned char sk[32]);
int tu_pin_county_key(fic_store *store);
/* Its public key as an enrolment answer's "county_key" object, into buf. */
void tu_county_key_json(char *buf, size_t size);
/* Open a sealed box (content.sealed.box) with the test county's key: the
 * plaintext (free()), or NULL. */
char *tu_unseal(const char *box_b64);

/* The common test fixture: a fresh store in a scratch directory, on the fake
 * platform, opened as `actor` (NULL: the default), with the test county's
 * key pinned. NULL if it cannot be made (the reason is in fic_error_last).
 * tu_fixture_free closes and removes it. */
typedef struct tu_fixture {
	char *dir;
	fic_platform platform;
	tu_clock clock;
	fic_store *store;
} tu_fixture;
tu_fixture *tu_fixture_new(const char *actor);
void tu_fixture_free(tu_fixture *f);

/* Counting allocator: tu_alloc_install() once; tu_alloc_fail_at(n) makes the nth
 * allocation from now fail (0 = never); tu_alloc_live() is blocks not yet freed. */
void tu_alloc_install(void);
void tu_alloc_fail_at(long n);
long tu_alloc_live(void);
long tu_alloc_count(void);
bool tu_alloc_failed(void);



/*
 * Make a JPEG in memory with photo-like texture (gradients plus noise), for
 * the photo tests: `components` 1 (grey), 3 (colour) or 4 (CMYK). Returns a
 * malloc'd buffer (free()), or NULL.
 */
unsigned char *tu_make_jpeg(int width, int height, int components, int progressive, int quality,
                            size_t *len);
/*
 * As tu_make_jpeg, with an EXIF block: orientation (1..8; 0 = no tag),
 * DateTimeOriginal (NULL = none) and GPS (when has_gps). The image has four
 * solid quadrants (top-left red, top-right green, bottom-left blue,
 * bottom-right white) so orientation can be checked from the corners.
 */
unsigned char *tu_make_jpeg_exif(int width, int height, int orientation, const char *taken_at,
                                 int has_gps, double lat, double lon, size_t *len);

/* Decode a JPEG (libjpeg, RGB); returns malloc'd pixels, or NULL. */
unsigned char *tu_decode_jpeg(const unsigned char *data, size_t len, int *w, int *h);

/* Complete answers for two lead forms: a foodborne-disease event (urgent,
 * two-hour rule) and a 12345-hotline tip-off (not urgent, not time-sensitive). */
extern const char tu_foodborne_answers[];
extern const char tu_tip_off_answers[];

/* Add a school called `name` to the registry; returns the fic status. */
int tu_add_school(fic_store *store, const char *name, int enrolment);

#endif
