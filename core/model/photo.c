/*
 * core/model/photo.c — keeping photo evidence: copy the original byte-for-byte into
 * <store>.photos/<sha256>.jpg while hashing it, decode it once (render.c:
 * libjpeg with an error manager that never exits, DCT-domain scaling) into
 * the upload rendition and the thumbnail, each also kept under its own
 * SHA-256, make every file durable, then record the photo with its EXIF
 * claims in the same transaction as its audit entry. A startup sweep removes
 * files a crash left without a row.
 */
#include "model.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <openssl/evp.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>


#define CHUNK (64 * 1024)

static const char *owner_name(int owner)
{
	switch (owner) {
	case FIC_PHOTO_INSPECTION: return "inspection";
	case FIC_PHOTO_LEAD: return "lead";
	case FIC_PHOTO_SITE: return "site";
	case FIC_PHOTO_ACTIVITY: return "activity";
	default: return NULL;
	}
}

static int photo_dir(fic_store *store, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s.photos", store->path);
	if (n < 0 || (size_t)n >= size)
		return fic__err(FIC_ETOOBIG, "store path too long for its photo folder");
	return FIC_OK;
}

/* fsync a folder, so that the names made or removed in it are durable: 0 or -1 (errno). */
static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	int saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

/* ---- the owner must exist (and an inspection must be open) ---- */

static int check_owner(fic_store *store, int owner, const char *owner_id, const char *item_id)
{
	const char *sql = owner == FIC_PHOTO_INSPECTION
				  ? "SELECT state, checklist_id, checklist_version FROM inspections WHERE id = ?1"
			  : owner == FIC_PHOTO_LEAD ? "SELECT state FROM leads WHERE id = ?1"
			  : owner == FIC_PHOTO_ACTIVITY ? "SELECT kind FROM activities WHERE id = ?1"
						    : "SELECT status FROM sites WHERE id = ?1";
	sqlite3_stmt *st;
	int rc = fic__prepare(store, &st, sql);
	if (rc != FIC_OK)
		return rc;
	sqlite3_bind_text(st, 1, owner_id, -1, SQLITE_STATIC);
	int src = sqlite3_step(st);
	if (src == SQLITE_DONE)
		rc = fic__err(FIC_ENOTFOUND, "no %s %s", owner_name(owner), owner_id);
	else if (src != SQLITE_ROW)
		rc = fic__db_err(store, src, "checking the photo's owner");
	else if (owner == FIC_PHOTO_INSPECTION &&
	         strcmp((const char *)sqlite3_column_text(st, 0), "open") != 0)
		rc = fic__err(FIC_ESTATE, "inspection %s is finished; its evidence is final", owner_id);
	else if (owner == FIC_PHOTO_LEAD && strcmp((const char *)sqlite3_column_text(st, 0), "draft") != 0)
		rc = fic__err(FIC_ESTATE, "lead %s is submitted and frozen: attach photos to a draft, or "
		                          "file a correction", owner_id);
	else if (owner == FIC_PHOTO_INSPECTION && item_id) {
		/* the item must exist in the inspection's checklist version */
		const fic__entry *e;
		char cid[80];
		snprintf(cid, sizeof cid, "%s", (const char *)sqlite3_column_text(st, 1));
		rc = fic__checklist_find(&e, store, cid, sqlite3_column_int(st, 2));
		if (rc == FIC_OK && fic__def_item(e->def, item_id) == NULL)
			rc = fic__err(FIC_ENOTFOUND, "the inspection's checklist has no item %s", item_id);
	} else if (owner != FIC_PHOTO_INSPECTION && item_id && item_id[0])
		rc = fic__err(FIC_EINVAL, "item_id is only for inspection photos");
	sqlite3_finalize(st);
	return rc;
}

/* ---- adding ---- */

typedef struct source {
	int fd;            /* file, or -1 */
	const unsigned char *data;
	size_t len, off;
} source;

static ssize_t source_read(source *s, unsigned char *buf, size_t n)
{
	if (s->fd >= 0) {
		for (;;) {
			ssize_t r = read(s->fd, buf, n);
			if (r < 0 && errno == EINTR)
				continue;
			return r;
		}
	}
	size_t left = s->len - s->off;
	size_t k = left < n ? left : n;
	memcpy(buf, s->data + s->off, k);
	s->off += k;
	return (ssize_t)k;
}

static int write_all(int fd, const unsigned char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Open a new .part file in `dir` for a rendition. */
static FILE *part_file(const char *dir, char tmp[4300], fic_store *store, int *rc)
{
	char rnd[FIC_UUID_BUFSIZE];
	if ((*rc = fic__uuid7(store, rnd)) != FIC_OK)
		return NULL;
	snprintf(tmp, 4300, "%s/%s.part", dir, rnd);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	FILE *fp = fd >= 0 ? fdopen(fd, "wb") : NULL;
	if (fp == NULL) {
		*rc = fic__err(FIC_EIO, "cannot write a rendition: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		tmp[0] = '\0';
	}
	return fp;
}

/* Flush, fsync and close a rendition file. */
static int part_close(FILE *fp)
{
	int ok = fflush(fp) == 0 && fsync(fileno(fp)) == 0;
	ok = fclose(fp) == 0 && ok;
	return ok ? FIC_OK : fic__err(FIC_EIO, "cannot write a rendition: %s", strerror(errno));
}

/* Move a finished .part file to <dir>/<sha>.jpg (the same bytes may be there already). */
static int place(const char *tmp, const char *dir, const char *sha)
{
	char final[4300];
	snprintf(final, sizeof final, "%s/%s.jpg", dir, sha);
	if (rename(tmp, final) != 0)
		return fic__err(FIC_EIO, "cannot store the photo: %s", strerror(errno));
	return FIC_OK;
}

/*
 * The photo's metadata record (for the outbox) and its upload rendition (for
 * the uploads queue), inside the caller's transaction. The record is built by
 * SQLite from the row just written, so it says exactly what the store holds.
 */
static int enqueue(fic_store *store, const char *id, const char *upload_sha, int64_t upload_bytes)
{
	sqlite3_stmt *st;
	int rc = fic__prepare(
		store, &st,
		"SELECT json_object('photo', json_object('id', id, 'owner_type', owner_type, "
		"'owner_id', owner_id, 'item_id', item_id, 'sha256', sha256, 'bytes', bytes, "
		"'width', width, 'height', height, 'orientation', orientation, "
		"'upload_sha256', upload_sha256, 'upload_bytes', upload_bytes, "
		"'upload_width', upload_width, 'upload_height', upload_height, "
		"'exif_taken_at', exif_taken_at, 'exif_lat', exif_lat, 'exif_lon', exif_lon, "
		"'device_lat', device_lat, 'device_lon', device_lon, 'time', json_object("
		"'device_ms', t_device_ms, 'mono_ms', t_mono_ms, 'boot_id', t_boot_id, "
		"'trusted_ms', t_trusted_ms, 'uncertainty_ms', t_uncertainty_ms, 'flags', t_flags)))"
		" FROM photos WHERE id = ?1");
	if (rc != FIC_OK)
		return rc;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	int s = sqlite3_step(st);
	if (s == SQLITE_ROW)
		rc = fic__outbox_enqueue(store, "photo", id, "add", FIC_PRIORITY_PHOTO,
		                         (const char *)sqlite3_column_text(st, 0));
	else
		rc = fic__db_err(store, s, "reading the photo back");
	sqlite3_finalize(st);
	if (rc != FIC_OK)
		return rc;
	if ((rc = fic__prepare(store, &st, "INSERT INTO uploads (sha256, bytes, created_at_ms) "
	                                   "VALUES (?1, ?2, ?3) ON CONFLICT (sha256) DO NOTHING")) !=
	    FIC_OK)
		return rc;
	sqlite3_bind_text(st, 1, upload_sha, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, upload_bytes);
	sqlite3_bind_int64(st, 3, fic__now_ms(store));
	s = sqlite3_step(st);
	sqlite3_finalize(st);
	return s == SQLITE_DONE ? FIC_OK : fic__db_err(store, s, "queueing the photo for upload");
}

/* A photo on its way in: its three files as .part files in the photo
 * folder, and what was learnt making them. */
typedef struct staged {
	char dir[4200];
	char orig[4300], up[4300], thumb[4300]; /* .part paths; "" once placed or gone */
	char sha[FIC_SHA256_HEX], up_sha[FIC_SHA256_HEX], thumb_sha[FIC_SHA256_HEX];
	int64_t bytes, up_bytes, thumb_bytes;
	int width, height, up_w, up_h;
	fic__exif exif;
} staged;

static void staged_discard(staged *g)
{
	if (g->orig[0])
		unlink(g->orig);
	if (g->up[0])
		unlink(g->up);
	if (g->thumb[0])
		unlink(g->thumb);
}

/* The photo folder, made if needed (and its name made durable). */
static int make_dir(fic_store *store, char *dir, size_t size)
{
	int rc = photo_dir(store, dir, size);
	if (rc != FIC_OK)
		return rc;
	if (mkdir(dir, 0700) == 0) {
		char parent[4200];
		snprintf(parent, sizeof parent, "%s", dir);
		char *slash = strrchr(parent, '/');
		if (slash && slash != parent) {
			*slash = '\0';
			(void)fsync_dir(parent); /* a failure shows when the photo's names are synced */
		}
	} else if (errno != EEXIST) {
		return fic__err(errno == EACCES || errno == EROFS ? FIC_EREADONLY : FIC_EIO,
		                "cannot create the photo folder: %s", strerror(errno));
	}
	return FIC_OK;
}

/* Copy the original byte for byte into `fd`, hashing it on the way. */
static int copy_original(source *src, int fd, staged *g)
{
	unsigned char *buf = fic__malloc(CHUNK);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int rc = FIC_OK;
	if (buf == NULL || md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		rc = fic__err(FIC_ENOMEM, "out of memory storing a photo");
	ssize_t n;
	while (rc == FIC_OK && (n = source_read(src, buf, CHUNK)) != 0) {
		if (n < 0)
			rc = fic__err(FIC_EIO, "cannot read the photo: %s", strerror(errno));
		else if ((g->bytes += n) > FIC_PHOTO_MAX_BYTES)
			rc = fic__err(FIC_ETOOBIG, "the photo is larger than %lld bytes",
			              (long long)FIC_PHOTO_MAX_BYTES);
		else if (EVP_DigestUpdate(md, buf, (size_t)n) != 1 || write_all(fd, buf, (size_t)n) != 0)
			rc = fic__err(FIC_EIO, "cannot store the photo: %s", strerror(errno));
	}
	unsigned char digest[32];
	unsigned int dlen = 0;
	if (rc == FIC_OK && g->bytes == 0)
		rc = fic__err(FIC_EINVAL, "the photo is empty");
	else if (rc == FIC_OK && (EVP_DigestFinal_ex(md, digest, &dlen) != 1 || dlen != 32))
		rc = fic__err(FIC_ERROR, "SHA-256 failed");
	if (rc == FIC_OK)
		fic__hex32(digest, g->sha);
	fic__free(buf);
	EVP_MD_CTX_free(md);
	return rc;
}

/* Decode the original once: it is validated whole, and both renditions
 * stream into their own .part files, fsync'd. */
static int render_renditions(fic_store *store, int fd, const fic_photo_options *o, staged *g)
{
	if (lseek(fd, 0, SEEK_SET) != 0)
		return fic__err(FIC_EIO, "cannot re-read the photo");
	int dupfd = dup(fd);
	FILE *fp = dupfd >= 0 ? fdopen(dupfd, "rb") : NULL;
	if (fp == NULL) {
		if (dupfd >= 0)
			close(dupfd);
		return fic__err(FIC_EIO, "cannot re-read the photo");
	}
	int rc = FIC_OK;
	FILE *uf = part_file(g->dir, g->up, store, &rc);
	FILE *tf = uf ? part_file(g->dir, g->thumb, store, &rc) : NULL;
	if (uf && tf) {
		fic__jpeg_out up, th;
		memset(&up, 0, sizeof up);
		memset(&th, 0, sizeof th);
		up.fp = uf;
		th.fp = tf;
		rc = fic__render(fp, NULL, 0, o->max_edge, o->quality, &up, o->thumb_edge, o->thumb_quality,
		                 &th, &g->exif, &g->width, &g->height);
		if (rc == FIC_OK) {
			snprintf(g->up_sha, sizeof g->up_sha, "%s", up.sha256);
			snprintf(g->thumb_sha, sizeof g->thumb_sha, "%s", th.sha256);
			g->up_bytes = (int64_t)up.len;
			g->thumb_bytes = (int64_t)th.len;
			g->up_w = up.width;
			g->up_h = up.height;
		}
	}
	fclose(fp);
	int c = uf ? part_close(uf) : FIC_OK;
	rc = rc == FIC_OK ? c : rc;
	c = tf ? part_close(tf) : FIC_OK;
	return rc == FIC_OK ? c : rc;
}

/* The photo's row, inside the caller's transaction. */
static int insert_row(fic_store *store, const char *id, int owner, const char *owner_id,
                      const char *item_id, const staged *g, const fic_photo_options *o)
{
	sqlite3_stmt *st;
	int rc = fic__prepare(store, &st,
	                      "INSERT INTO photos (id, owner_type, owner_id, item_id, "
	                      "sha256, file_name, bytes, width, height, created_at_ms, "
	                      "orientation, upload_sha256, upload_bytes, upload_width, "
	                      "upload_height, thumb_sha256, thumb_bytes, exif_taken_at, "
	                      "exif_lat, exif_lon, device_lat, device_lon, t_device_ms, "
	                      "t_mono_ms, t_boot_id, t_trusted_ms, t_uncertainty_ms, t_flags) "
	                      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
	                      "?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, "
	                      "?25, ?26, ?27, ?28)");
	if (rc != FIC_OK)
		return rc;
	char name[80];
	snprintf(name, sizeof name, "%s.jpg", g->sha);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, owner_name(owner), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, owner_id, -1, SQLITE_STATIC);
	if (item_id && item_id[0])
		sqlite3_bind_text(st, 4, item_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, g->sha, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 7, g->bytes);
	sqlite3_bind_int(st, 8, g->width);
	sqlite3_bind_int(st, 9, g->height);
	sqlite3_bind_int64(st, 10, fic__now_ms(store));
	sqlite3_bind_int(st, 11, g->exif.orientation);
	sqlite3_bind_text(st, 12, g->up_sha, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 13, g->up_bytes);
	sqlite3_bind_int(st, 14, g->up_w);
	sqlite3_bind_int(st, 15, g->up_h);
	sqlite3_bind_text(st, 16, g->thumb_sha, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 17, g->thumb_bytes);
	if (g->exif.taken_at[0])
		sqlite3_bind_text(st, 18, g->exif.taken_at, -1, SQLITE_STATIC);
	if (g->exif.has_gps) {
		sqlite3_bind_double(st, 19, g->exif.lat);
		sqlite3_bind_double(st, 20, g->exif.lon);
	}
	if (o->has_location) {
		sqlite3_bind_double(st, 21, o->lat);
		sqlite3_bind_double(st, 22, o->lon);
	}
	fic_time t;
	int s = SQLITE_ERROR;
	if ((rc = fic__time_now(store, &t)) == FIC_OK) {
		fic__time_bind(st, 23, &t);
		s = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	if (rc == FIC_OK && s != SQLITE_DONE)
		rc = fic__db_err(store, s, "recording the photo");
	return rc;
}

/*
 * Inside the caller's transaction: the files get their final names (the
 * owner checked again under the write lock, so a sweep — which takes it too
 * — never sees them named but unrecorded), then the row, its audit entry
 * and its outbox and upload records.
 */
static int record(fic_store *store, const char *id, int owner, const char *owner_id,
                  const char *item_id, staged *g, const fic_photo_options *o)
{
	int rc = check_owner(store, owner, owner_id, item_id);
	if (rc == FIC_OK && (rc = place(g->up, g->dir, g->up_sha)) == FIC_OK)
		g->up[0] = '\0';
	if (rc == FIC_OK && (rc = place(g->thumb, g->dir, g->thumb_sha)) == FIC_OK)
		g->thumb[0] = '\0';
	if (rc == FIC_OK && (rc = place(g->orig, g->dir, g->sha)) == FIC_OK)
		g->orig[0] = '\0';
	if (rc != FIC_OK)
		return rc;
	/* The names, before the row that refers to them (a failure rolls the row
	 * back; the named files go at the next sweep). */
	if (fsync_dir(g->dir) != 0)
		return fic__err(FIC_EIO, "cannot make the photo's files durable: %s", strerror(errno));
	if ((rc = insert_row(store, id, owner, owner_id, item_id, g, o)) != FIC_OK)
		return rc;
	cJSON *d = cJSON_CreateObject();
	bool ok = d && cJSON_AddStringToObject(d, "owner", owner_name(owner)) &&
	          cJSON_AddStringToObject(d, "owner_id", owner_id) &&
	          (item_id ? cJSON_AddStringToObject(d, "item", item_id)
	                   : cJSON_AddNullToObject(d, "item")) &&
	          cJSON_AddStringToObject(d, "sha256", g->sha) &&
	          cJSON_AddNumberToObject(d, "bytes", (double)g->bytes);
	if ((rc = fic__audit_take(store, "photo.add", "photo", id, d, ok)) != FIC_OK)
		return rc;
	return enqueue(store, id, g->up_sha, g->up_bytes);
}

static int add_photo(char *id_out, fic_store *store, int owner, const char *owner_id,
                     const char *item_id, source *src, const fic_photo_options *o)
{
	staged g;
	memset(&g, 0, sizeof g);
	int rc = check_owner(store, owner, owner_id, item_id);
	if (rc == FIC_OK)
		rc = make_dir(store, g.dir, sizeof g.dir);
	char rnd[FIC_UUID_BUFSIZE];
	if (rc != FIC_OK || (rc = fic__uuid7(store, rnd)) != FIC_OK)
		return rc;
	snprintf(g.orig, sizeof g.orig, "%s/%s.part", g.dir, rnd);
	int fd = open(g.orig, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		g.orig[0] = '\0';
		return fic__err(FIC_EIO, "cannot write into the photo folder: %s", strerror(errno));
	}
	if ((rc = copy_original(src, fd, &g)) == FIC_OK &&
	    (rc = render_renditions(store, fd, o, &g)) == FIC_OK && fsync(fd) != 0)
		rc = fic__err(FIC_EIO, "cannot make the photo durable: %s", strerror(errno));
	close(fd);
	char id[FIC_UUID_BUFSIZE];
	if (rc == FIC_OK && (rc = fic__uuid7(store, id)) == FIC_OK &&
	    (rc = fic__tx_begin(store)) == FIC_OK) {
		/* On failure the placed files stay; the next sweep removes what no row uses. */
		rc = fic__tx_end(store, record(store, id, owner, owner_id, item_id, &g, o));
		if (rc == FIC_OK)
			memcpy(id_out, id, FIC_UUID_BUFSIZE);
	}
	staged_discard(&g);
	return rc;
}

static int check_options(const fic_photo_options *o)
{
	/* Any version from 1 up to ours (one layout so far: see core/abi.c). */
	if (o->version < 1 || o->version > FIC_PHOTO_OPTIONS_VERSION)
		return fic__err(FIC_EINVAL, "photo options: struct version %u is not one this "
		                "library reads (1 to %u)", o->version, (unsigned)FIC_PHOTO_OPTIONS_VERSION);
	if (o->max_edge < 256 || o->max_edge > 8192 || o->thumb_edge < 64 || o->thumb_edge > 1024)
		return fic__err(FIC_EINVAL, "photo options: max_edge 256..8192, thumb_edge 64..1024");
	if (o->quality < 30 || o->quality > 95 || o->thumb_quality < 30 || o->thumb_quality > 95)
		return fic__err(FIC_EINVAL, "photo options: qualities 30..95");
	if (o->has_location && (!isfinite(o->lat) || fabs(o->lat) > 90 || !isfinite(o->lon) ||
	                        fabs(o->lon) > 180))
		return fic__err(FIC_EINVAL, "photo options: location out of range");
	return FIC_OK;
}

static int check_args(char *id_out, fic_store *store, int owner, const char *owner_id,
                      const char *item_id)
{
	if (id_out == NULL || store == NULL)
		return fic__err(FIC_EINVAL, "id_out and store are required");
	id_out[0] = '\0';
	if (owner_name(owner) == NULL)
		return fic__err(FIC_EINVAL, "owner must be FIC_PHOTO_INSPECTION, _LEAD, _SITE or _ACTIVITY");
	int rc = fic__check_text(owner_id, "owner id", 63, true, NULL);
	if (rc == FIC_OK)
		rc = fic__check_text(item_id, "item id", 64, false, NULL);
	return rc;
}

/* The checks both ways of adding a photo start with; NULL options: the defaults. */
static int begin_add(char *id_out, fic_store *store, int owner, const char *owner_id,
                     const char *item_id, const fic_photo_options **opts,
                     const fic_photo_options *dflt)
{
	fic__err_clear();
	if (*opts == NULL)
		*opts = dflt;
	int rc = check_args(id_out, store, owner, owner_id, item_id);
	return rc == FIC_OK ? check_options(*opts) : rc;
}

int fic_photo_add_file(char *id_out, fic_store *store, int owner, const char *owner_id,
                       const char *item_id, const char *path, const fic_photo_options *opts)
{
	fic_photo_options dflt = FIC_PHOTO_OPTIONS_INIT;
	int rc = begin_add(id_out, store, owner, owner_id, item_id, &opts, &dflt);
	if (rc == FIC_OK)
		rc = fic__check_text(path, "path", 4095, true, NULL);
	if (rc != FIC_OK)
		return rc;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fic__err(errno == ENOENT ? FIC_ENOTFOUND : FIC_EIO, "cannot open the photo: %s",
		                strerror(errno));
	struct stat sb;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return fic__err(FIC_EINVAL, "the photo path is not a regular file");
	}
	source src = { fd, NULL, 0, 0 };
	rc = add_photo(id_out, store, owner, owner_id, item_id && item_id[0] ? item_id : NULL, &src, opts);
	close(fd);
	return rc;
}

int fic_photo_add_buffer(char *id_out, fic_store *store, int owner, const char *owner_id,
                         const char *item_id, const void *data, size_t len,
                         const fic_photo_options *opts)
{
	fic_photo_options dflt = FIC_PHOTO_OPTIONS_INIT;
	int rc = begin_add(id_out, store, owner, owner_id, item_id, &opts, &dflt);
	if (rc != FIC_OK)
		return rc;
	if (data == NULL || len == 0)
		return fic__err(FIC_EINVAL, "the photo is empty");
	if ((int64_t)len > FIC_PHOTO_MAX_BYTES)
		return fic__err(FIC_ETOOBIG, "the photo is larger than %lld bytes",
		                (long long)FIC_PHOTO_MAX_BYTES);
	source src = { -1, data, len, 0 };
	return add_photo(id_out, store, owner, owner_id, item_id && item_id[0] ? item_id : NULL, &src,
	                 opts);
}

void fic_photo_free(fic_photo *photo)
{
	fic__free(photo);
}

/* Copy strings into the arena after the struct. */
typedef struct arena {
	char *w;
} arena;

static const char *arena_put(arena *a, const char *s)
{
	if (s == NULL)
		return NULL;
	size_t n = strlen(s) + 1;
	memcpy(a->w, s, n);
	const char *r = a->w;
	a->w += n;
	return r;
}

int fic_photo_get(fic_photo **out, fic_store *store, const char *photo_id)
{
	FIC__BEGIN(out, store);
	int rc = fic__check_text(photo_id, "photo id", 63, true, NULL);
	if (rc != FIC_OK)
		return rc;
	char dir[4200];
	if ((rc = photo_dir(store, dir, sizeof dir)) != FIC_OK)
		return rc;
	sqlite3_stmt *st;
	if ((rc = fic__prepare(store, &st,
	                       "SELECT id, owner_type, owner_id, item_id, sha256, file_name, bytes, "
	                       "width, height, created_at_ms, orientation, upload_sha256, upload_bytes, "
	                       "upload_width, upload_height, thumb_sha256, thumb_bytes, exif_taken_at, "
	                       "exif_lat, exif_lon, device_lat, device_lon FROM photos WHERE id = ?1")) !=
	    FIC_OK)
		return rc;
	sqlite3_bind_text(st, 1, photo_id, -1, SQLITE_STATIC);
	int s = sqlite3_step(st);
	if (s != SQLITE_ROW) {
		rc = s == SQLITE_DONE ? fic__err(FIC_ENOTFOUND, "no photo %s", photo_id)
				      : fic__db_err(store, s, "reading a photo");
		sqlite3_finalize(st);
		return rc;
	}
#define COL(i) ((const char *)sqlite3_column_text(st, i))
	char path[4300], upath[4300], tpath[4300];
	snprintf(path, sizeof path, "%s/%s", dir, COL(5));
	snprintf(upath, sizeof upath, "%s/%s.jpg", dir, COL(11) ? COL(11) : "");
	snprintf(tpath, sizeof tpath, "%s/%s.jpg", dir, COL(15) ? COL(15) : "");
	const char *strs[] = { COL(0), COL(2), COL(3), COL(4), path, COL(11), upath, tpath, COL(17) };
	size_t need = sizeof(fic_photo);
	for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
		need += strs[i] ? strlen(strs[i]) + 1 : 0;
	fic_photo *p = fic__calloc(1, need);
	if (p)
		p->version = FIC_PHOTO_VERSION;
	if (p == NULL) {
		sqlite3_finalize(st);
		return fic__err(FIC_ENOMEM, "out of memory reading a photo");
	}
	arena a = { (char *)(p + 1) };
	p->id = arena_put(&a, COL(0));
	p->owner_id = arena_put(&a, COL(2));
	p->item_id = arena_put(&a, COL(3));
	p->sha256 = arena_put(&a, COL(4));
	p->path = arena_put(&a, path);
	p->upload_sha256 = arena_put(&a, COL(11));
	p->upload_path = arena_put(&a, upath);
	p->thumb_path = arena_put(&a, tpath);
	p->exif_taken_at = arena_put(&a, COL(17));
	const char *ot = COL(1);
	p->owner = strcmp(ot, "inspection") == 0 ? FIC_PHOTO_INSPECTION
		   : strcmp(ot, "lead") == 0 ? FIC_PHOTO_LEAD : FIC_PHOTO_SITE;
#undef COL
	p->bytes = sqlite3_column_int64(st, 6);
	p->width = sqlite3_column_int(st, 7);
	p->height = sqlite3_column_int(st, 8);
	p->created_at_ms = sqlite3_column_int64(st, 9);
	p->orientation = sqlite3_column_int(st, 10);
	p->upload_bytes = sqlite3_column_int64(st, 12);
	p->upload_width = sqlite3_column_int(st, 13);
	p->upload_height = sqlite3_column_int(st, 14);
	p->thumb_bytes = sqlite3_column_int64(st, 16);
	p->has_exif_location = sqlite3_column_type(st, 18) != SQLITE_NULL;
	p->exif_lat = sqlite3_column_double(st, 18);
	p->exif_lon = sqlite3_column_double(st, 19);
	p->has_device_location = sqlite3_column_type(st, 20) != SQLITE_NULL;
	p->device_lat = sqlite3_column_double(st, 20);
	p->device_lon = sqlite3_column_double(st, 21);
	sqlite3_finalize(st);
	*out = p;
	return FIC_OK;
}

int fic_photo_render(void **out, size_t *out_len, const void *jpeg, size_t len, int max_edge,
                     int quality)
{
	fic__err_clear();
	if (out == NULL || out_len == NULL)
		return fic__err(FIC_EINVAL, "out and out_len are required");
	*out = NULL;
	*out_len = 0;
	if (jpeg == NULL || len == 0)
		return fic__err(FIC_EINVAL, "the photo is empty");
	if ((int64_t)len > FIC_PHOTO_MAX_BYTES)
		return fic__err(FIC_ETOOBIG, "the photo is larger than %lld bytes",
		                (long long)FIC_PHOTO_MAX_BYTES);
	if (max_edge < 16 || max_edge > 8192 || quality < 30 || quality > 95)
		return fic__err(FIC_EINVAL, "max_edge 16..8192 and quality 30..95");
	fic__exif exif;
	fic__jpeg_out up;
	memset(&up, 0, sizeof up);
	up.no_sha256 = true; /* not kept: a rendition made for the caller, not stored */
	int w, h;
	int rc = fic__render(NULL, jpeg, len, max_edge, quality, &up, 0, 0, NULL, &exif, &w, &h);
	if (rc == FIC_OK)
		*out = up.buf;
	else
		fic__free(up.buf);
	*out_len = rc == FIC_OK ? up.len : 0;
	return rc;
}

int fic_photo_render_file(const char *in_path, const char *out_path, int max_edge, int quality)
{
	fic__err_clear();
	int rc = fic__check_text(in_path, "input path", 4095, true, NULL);
	if (rc == FIC_OK)
		rc = fic__check_text(out_path, "output path", 4095, true, NULL);
	if (rc != FIC_OK)
		return rc;
	if (max_edge < 16 || max_edge > 8192 || quality < 30 || quality > 95)
		return fic__err(FIC_EINVAL, "max_edge 16..8192 and quality 30..95");
	FILE *in = fopen(in_path, "rb");
	if (in == NULL)
		return fic__err(errno == ENOENT ? FIC_ENOTFOUND : FIC_EIO, "cannot open %s: %s", in_path,
		                strerror(errno));
	struct stat si, so;
	if (fstat(fileno(in), &si) == 0 && stat(out_path, &so) == 0 && si.st_dev == so.st_dev &&
	    si.st_ino == so.st_ino) {
		fclose(in);
		return fic__err(FIC_EINVAL, "the output would overwrite the photo itself");
	}
	/* Written beside the target and renamed over it only when complete. */
	char part[4200];
	int n = snprintf(part, sizeof part, "%s.part", out_path);
	if (n < 0 || (size_t)n >= sizeof part) {
		fclose(in);
		return fic__err(FIC_ETOOBIG, "output path too long");
	}
	FILE *outf = fopen(part, "wb");
	if (outf == NULL) {
		fclose(in);
		return fic__err(FIC_EIO, "cannot create %s: %s", part, strerror(errno));
	}
	fic__exif exif;
	fic__jpeg_out up;
	memset(&up, 0, sizeof up);
	up.fp = outf;
	up.no_sha256 = true;
	int w, h;
	rc = fic__render(in, NULL, 0, max_edge, quality, &up, 0, 0, NULL, &exif, &w, &h);
	fclose(in);
	/* Durable as the store's own files: the bytes synced before the file takes
	 * its name, the folder synced after, so a power cut never leaves the name
	 * on an empty or partial file. */
	if (rc == FIC_OK && (fflush(outf) != 0 || fsync(fileno(outf)) != 0))
		rc = fic__err(FIC_EIO, "cannot write %s: %s", part, strerror(errno));
	if (fclose(outf) != 0 && rc == FIC_OK)
		rc = fic__err(FIC_EIO, "cannot write %s: %s", part, strerror(errno));
	if (rc == FIC_OK && rename(part, out_path) != 0)
		rc = fic__err(FIC_EIO, "cannot write %s: %s", out_path, strerror(errno));
	if (rc != FIC_OK) {
		unlink(part);
		return rc;
	}
	char dir[4200];
	snprintf(dir, sizeof dir, "%s", out_path);
	char *slash = strrchr(dir, '/');
	if (slash == NULL)
		snprintf(dir, sizeof dir, ".");
	else
		slash[slash == dir ? 1 : 0] = '\0';
	if (fsync_dir(dir) != 0)
		return fic__err(FIC_EIO, "cannot make %s durable: %s", out_path, strerror(errno));
	return FIC_OK;
}

/* ---- startup sweep ---- */

void fic__photo_sweep(fic_store *store)
{
	char dir[4200];
	if (photo_dir(store, dir, sizeof dir) != FIC_OK) {
		fic__err_clear();
		return;
	}
	DIR *d = opendir(dir);
	if (d == NULL)
		return;
	/* Under the write lock: a save in another handle names its files and records
	 * them inside its own write transaction, so nothing named here is in flight. */
	if (fic__tx_begin(store) != FIC_OK) {
		fic__err_clear();
		closedir(d);
		return;
	}
	time_t now = time(NULL);
	sqlite3_stmt *st = NULL;
	if (fic__prepare(store, &st, "SELECT 1 FROM photos WHERE sha256 = ?1 UNION ALL SELECT 1 FROM "
	                             "photos WHERE upload_sha256 = ?1 UNION ALL SELECT 1 FROM photos "
	                             "WHERE thumb_sha256 = ?1 LIMIT 1") != FIC_OK) {
		fic__err_clear();
		fic__tx_rollback(store);
		closedir(d);
		return;
	}
	int removed = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		const char *n = e->d_name;
		size_t len = strlen(n);
		bool part = len > 5 && strcmp(n + len - 5, ".part") == 0;
		bool jpg = len == 68 && strcmp(n + 64, ".jpg") == 0;
		if (!part && !jpg)
			continue;
		char path[sizeof dir + sizeof e->d_name + 2];
		snprintf(path, sizeof path, "%s/%s", dir, n);
		struct stat sb;
		/* A .part file is a save in progress unless it is old: a crash left it. */
		bool orphan = part && stat(path, &sb) == 0 && now - sb.st_mtime > 600;
		if (jpg) {
			sqlite3_reset(st);
			sqlite3_bind_text(st, 1, n, 64, SQLITE_TRANSIENT); /* the sha256 part of the name */
			orphan = sqlite3_step(st) == SQLITE_DONE;
		}
		if (orphan)
			removed += unlink(path) == 0;
	}
	sqlite3_finalize(st);
	fic__tx_rollback(store);
	closedir(d);
	if (removed) {
		(void)fsync_dir(dir);
		fic__log(store, FIC_LOG_INFO, "removed %d photo file(s) left by an interrupted save", removed);
	}
}
