/*
 * core/photo.c — keeping photo evidence: copy the original byte-for-byte into
 * <store>.photos/<sha256>.jpg while hashing it, check it is a JPEG we accept
 * (libjpeg with our own error manager: libjpeg's default one calls exit()),
 * make the file durable, then record it in the same transaction as its audit
 * entry. A startup sweep removes files a crash left without a row.
 */
#include "checklist.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jpeglib.h>
#include <jerror.h>

#define CHUNK (64 * 1024)

static const char *owner_name(int owner)
{
	switch (owner) {
	case FIC_PHOTO_INSPECTION: return "inspection";
	case FIC_PHOTO_LEAD: return "lead";
	case FIC_PHOTO_SITE: return "site";
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

static void fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/* ---- libjpeg without exit(): errors longjmp back to us ---- */

typedef struct jerr {
	struct jpeg_error_mgr mgr;
	jmp_buf jump;
	char msg[JMSG_LENGTH_MAX];
	bool truncated; /* libjpeg warned that the data ended early */
} jerr;

static void jerr_exit(j_common_ptr cinfo)
{
	jerr *e = (jerr *)cinfo->err;
	(*cinfo->err->format_message)(cinfo, e->msg);
	longjmp(e->jump, 1);
}

static void jerr_quiet(j_common_ptr cinfo, int level)
{
	/* Warnings are not printed. Most (stray bytes before a marker) are harmless in
	 * camera files; a premature end of data means the file is truncated. */
	jerr *e = (jerr *)cinfo->err;
	if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF)
		e->truncated = true;
}

/*
 * Check the JPEG in the file at `fd`: the header (dimensions within limits),
 * then every scanline decoded at 1/8 scale in the DCT domain (cheap: mostly
 * entropy decoding) so a truncated or damaged file is refused now, not when
 * the agency opens it.
 */
static int check_jpeg(int fd, int *width, int *height)
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
	struct jpeg_decompress_struct cinfo;
	jerr err;
	memset(&cinfo, 0, sizeof cinfo);
	cinfo.err = jpeg_std_error(&err.mgr);
	err.truncated = false;
	err.mgr.error_exit = jerr_exit;
	err.mgr.emit_message = jerr_quiet;
	int rc = FIC_OK;
	if (setjmp(err.jump)) {
		rc = fic__err(FIC_EINVAL, "not a usable JPEG: %s", err.msg);
		goto done;
	}
	jpeg_create_decompress(&cinfo);
	jpeg_stdio_src(&cinfo, fp);
	jpeg_read_header(&cinfo, TRUE);
	if (cinfo.image_width == 0 || cinfo.image_height == 0) {
		rc = fic__err(FIC_EINVAL, "the JPEG claims zero width or height");
		goto done;
	}
	if ((int64_t)cinfo.image_width * cinfo.image_height > FIC_PHOTO_MAX_PIXELS) {
		rc = fic__err(FIC_EINVAL, "the JPEG claims %ux%u pixels, more than the %lld allowed",
		              cinfo.image_width, cinfo.image_height, (long long)FIC_PHOTO_MAX_PIXELS);
		goto done;
	}
	*width = (int)cinfo.image_width;
	*height = (int)cinfo.image_height;
	cinfo.scale_num = 1;
	cinfo.scale_denom = 8;
	cinfo.dct_method = JDCT_IFAST;
	cinfo.do_fancy_upsampling = FALSE;
	jpeg_start_decompress(&cinfo);
	{
		JSAMPARRAY row = (*cinfo.mem->alloc_sarray)((j_common_ptr)&cinfo, JPOOL_IMAGE,
		                                            cinfo.output_width * cinfo.output_components, 1);
		while (cinfo.output_scanline < cinfo.output_height)
			jpeg_read_scanlines(&cinfo, row, 1);
	}
	if (err.truncated) {
		rc = fic__err(FIC_EINVAL, "the JPEG is truncated (its data ends early)");
		goto done;
	}
	jpeg_finish_decompress(&cinfo);
done:
	jpeg_destroy_decompress(&cinfo);
	fclose(fp);
	return rc;
}

/* ---- the owner must exist (and an inspection must be open) ---- */

static int check_owner(fic_store *store, int owner, const char *owner_id, const char *item_id)
{
	const char *sql = owner == FIC_PHOTO_INSPECTION
				  ? "SELECT state, checklist_id, checklist_version FROM inspections WHERE id = ?1"
			  : owner == FIC_PHOTO_LEAD ? "SELECT state FROM leads WHERE id = ?1"
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

static int add_photo(char *id_out, fic_store *store, int owner, const char *owner_id,
                     const char *item_id, source *src)
{
	char dir[4200], tmp[4300], final[4300], sha[65];
	int rc = photo_dir(store, dir, sizeof dir);
	if (rc != FIC_OK)
		return rc;
	if ((rc = check_owner(store, owner, owner_id, item_id)) != FIC_OK)
		return rc;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return fic__err(errno == EACCES || errno == EROFS ? FIC_EREADONLY : FIC_EIO,
		                "cannot create the photo folder: %s", strerror(errno));
	char rnd[FIC_UUID_BUFSIZE];
	if ((rc = fic__uuid7(store, rnd)) != FIC_OK)
		return rc;
	snprintf(tmp, sizeof tmp, "%s/%s.part", dir, rnd);
	int fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return fic__err(FIC_EIO, "cannot write into the photo folder: %s", strerror(errno));
	unsigned char *buf = fic__malloc(CHUNK);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int64_t total = 0;
	int width = 0, height = 0;
	if (buf == NULL || md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		rc = fic__err(FIC_ENOMEM, "out of memory storing a photo");
		goto fail;
	}
	for (;;) {
		ssize_t n = source_read(src, buf, CHUNK);
		if (n < 0) {
			rc = fic__err(FIC_EIO, "cannot read the photo: %s", strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		total += n;
		if (total > FIC_PHOTO_MAX_BYTES) {
			rc = fic__err(FIC_ETOOBIG, "the photo is larger than %lld bytes",
			              (long long)FIC_PHOTO_MAX_BYTES);
			goto fail;
		}
		if (EVP_DigestUpdate(md, buf, (size_t)n) != 1 || write_all(fd, buf, (size_t)n) != 0) {
			rc = fic__err(FIC_EIO, "cannot store the photo: %s", strerror(errno));
			goto fail;
		}
	}
	if (total == 0) {
		rc = fic__err(FIC_EINVAL, "the photo is empty");
		goto fail;
	}
	unsigned char digest[32];
	unsigned int dlen = 0;
	if (EVP_DigestFinal_ex(md, digest, &dlen) != 1 || dlen != 32) {
		rc = fic__err(FIC_ERROR, "SHA-256 failed");
		goto fail;
	}
	for (int i = 0; i < 32; i++)
		snprintf(sha + 2 * i, 3, "%02x", digest[i]);
	if ((rc = check_jpeg(fd, &width, &height)) != FIC_OK)
		goto fail;
	if (fsync(fd) != 0) {
		rc = fic__err(FIC_EIO, "cannot make the photo durable: %s", strerror(errno));
		goto fail;
	}
	close(fd);
	fd = -1;
	snprintf(final, sizeof final, "%s/%s.jpg", dir, sha);
	/* Same bytes already kept (the same photo attached twice): keep one file. */
	if (rename(tmp, final) != 0) {
		rc = fic__err(FIC_EIO, "cannot store the photo: %s", strerror(errno));
		goto fail;
	}
	fsync_dir(dir);

	char id[FIC_UUID_BUFSIZE];
	sqlite3_stmt *st = NULL;
	if ((rc = fic__uuid7(store, id)) != FIC_OK || (rc = fic__tx_begin(store)) != FIC_OK)
		goto out;
	if ((rc = fic__prepare(store, &st, "INSERT INTO photos (id, owner_type, owner_id, item_id, "
	                                   "sha256, file_name, bytes, width, height, created_at_ms) "
	                                   "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)")) == FIC_OK) {
		char name[80];
		snprintf(name, sizeof name, "%s.jpg", sha);
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, owner_name(owner), -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, owner_id, -1, SQLITE_STATIC);
		if (item_id && item_id[0])
			sqlite3_bind_text(st, 4, item_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, sha, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, name, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 7, total);
		sqlite3_bind_int(st, 8, width);
		sqlite3_bind_int(st, 9, height);
		sqlite3_bind_int64(st, 10, fic__now_ms(store));
		int s = sqlite3_step(st);
		sqlite3_finalize(st);
		rc = s == SQLITE_DONE ? FIC_OK : fic__db_err(store, s, "recording the photo");
	}
	if (rc == FIC_OK) {
		char detail[300];
		snprintf(detail, sizeof detail, "{\"owner\":\"%s\",\"owner_id\":\"%s\",\"item\":%s%s%s,"
		         "\"sha256\":\"%s\",\"bytes\":%lld}", owner_name(owner), owner_id,
		         item_id ? "\"" : "", item_id ? item_id : "null", item_id ? "\"" : "", sha,
		         (long long)total);
		rc = fic__audit_append(store, "photo.add", "photo", id, detail);
	}
	rc = rc == FIC_OK ? fic__tx_commit(store) : rc;
	if (rc != FIC_OK)
		fic__tx_rollback(store); /* the file stays; the next sweep removes it if unused */
	else
		memcpy(id_out, id, FIC_UUID_BUFSIZE);
out:
	fic__free(buf);
	EVP_MD_CTX_free(md);
	return rc;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	fic__free(buf);
	EVP_MD_CTX_free(md);
	return rc;
}

static int check_args(char *id_out, fic_store *store, int owner, const char *owner_id,
                      const char *item_id)
{
	if (id_out == NULL || store == NULL)
		return fic__err(FIC_EINVAL, "id_out and store are required");
	id_out[0] = '\0';
	if (owner_name(owner) == NULL)
		return fic__err(FIC_EINVAL, "owner must be FIC_PHOTO_INSPECTION, _LEAD or _SITE");
	int rc = fic__check_text(owner_id, "owner id", 63, true, NULL);
	if (rc == FIC_OK)
		rc = fic__check_text(item_id, "item id", 64, false, NULL);
	return rc;
}

int fic_photo_add_file(char *id_out, fic_store *store, int owner, const char *owner_id,
                       const char *item_id, const char *path)
{
	fic__err_clear();
	int rc = check_args(id_out, store, owner, owner_id, item_id);
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
	rc = add_photo(id_out, store, owner, owner_id, item_id && item_id[0] ? item_id : NULL, &src);
	close(fd);
	return rc;
}

int fic_photo_add_buffer(char *id_out, fic_store *store, int owner, const char *owner_id,
                         const char *item_id, const void *data, size_t len)
{
	fic__err_clear();
	int rc = check_args(id_out, store, owner, owner_id, item_id);
	if (rc != FIC_OK)
		return rc;
	if (data == NULL || len == 0)
		return fic__err(FIC_EINVAL, "the photo is empty");
	if ((int64_t)len > FIC_PHOTO_MAX_BYTES)
		return fic__err(FIC_ETOOBIG, "the photo is larger than %lld bytes",
		                (long long)FIC_PHOTO_MAX_BYTES);
	source src = { -1, data, len, 0 };
	return add_photo(id_out, store, owner, owner_id, item_id && item_id[0] ? item_id : NULL, &src);
}

void fic_photo_free(fic_photo *photo)
{
	fic__free(photo);
}

int fic_photo_get(fic_photo **out, fic_store *store, const char *photo_id)
{
	fic__err_clear();
	if (out == NULL)
		return fic__err(FIC_EINVAL, "out is NULL");
	*out = NULL;
	if (store == NULL)
		return fic__err(FIC_EINVAL, "store is NULL");
	int rc = fic__check_text(photo_id, "photo id", 63, true, NULL);
	if (rc != FIC_OK)
		return rc;
	sqlite3_stmt *st;
	if ((rc = fic__prepare(store, &st, "SELECT id, owner_type, owner_id, item_id, sha256, "
	                                   "file_name, bytes, width, height, created_at_ms FROM photos "
	                                   "WHERE id = ?1")) != FIC_OK)
		return rc;
	sqlite3_bind_text(st, 1, photo_id, -1, SQLITE_STATIC);
	int s = sqlite3_step(st);
	if (s != SQLITE_ROW) {
		rc = s == SQLITE_DONE ? fic__err(FIC_ENOTFOUND, "no photo %s", photo_id)
				      : fic__db_err(store, s, "reading a photo");
		sqlite3_finalize(st);
		return rc;
	}
	char dir[4200];
	if ((rc = photo_dir(store, dir, sizeof dir)) != FIC_OK) {
		sqlite3_finalize(st);
		return rc;
	}
	size_t need = sizeof(fic_photo);
	const char *id = (const char *)sqlite3_column_text(st, 0);
	const char *oid = (const char *)sqlite3_column_text(st, 2);
	const char *item = (const char *)sqlite3_column_text(st, 3);
	const char *sha = (const char *)sqlite3_column_text(st, 4);
	const char *file = (const char *)sqlite3_column_text(st, 5);
	need += strlen(id) + 1 + strlen(oid) + 1 + (item ? strlen(item) + 1 : 0) + strlen(sha) + 1 +
		strlen(dir) + 1 + strlen(file) + 1;
	fic_photo *p = fic__calloc(1, need);
	if (p == NULL) {
		sqlite3_finalize(st);
		return fic__err(FIC_ENOMEM, "out of memory reading a photo");
	}
	char *w = (char *)(p + 1);
#define PUTS(dst, s) do { size_t n_ = strlen(s) + 1; memcpy(w, s, n_); dst = w; w += n_; } while (0)
	PUTS(p->id, id);
	PUTS(p->owner_id, oid);
	if (item)
		PUTS(p->item_id, item);
	PUTS(p->sha256, sha);
	p->path = w;
	snprintf(w, strlen(dir) + strlen(file) + 2, "%s/%s", dir, file);
#undef PUTS
	const char *ot = (const char *)sqlite3_column_text(st, 1);
	p->owner = strcmp(ot, "inspection") == 0 ? FIC_PHOTO_INSPECTION
		   : strcmp(ot, "lead") == 0 ? FIC_PHOTO_LEAD : FIC_PHOTO_SITE;
	p->bytes = sqlite3_column_int64(st, 6);
	p->width = sqlite3_column_int(st, 7);
	p->height = sqlite3_column_int(st, 8);
	p->created_at_ms = sqlite3_column_int64(st, 9);
	sqlite3_finalize(st);
	*out = p;
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
	sqlite3_stmt *st = NULL;
	if (fic__prepare(store, &st, "SELECT 1 FROM photos WHERE file_name = ?1") != FIC_OK) {
		fic__err_clear();
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
		bool orphan = part;
		if (jpg) {
			sqlite3_reset(st);
			sqlite3_bind_text(st, 1, n, -1, SQLITE_TRANSIENT);
			orphan = sqlite3_step(st) == SQLITE_DONE;
		}
		if (orphan) {
			char path[sizeof dir + sizeof e->d_name + 2];
			snprintf(path, sizeof path, "%s/%s", dir, n);
			removed += unlink(path) == 0;
		}
	}
	sqlite3_finalize(st);
	closedir(d);
	if (removed) {
		fsync_dir(dir);
		fic__log(store, FIC_LOG_INFO, "removed %d photo file(s) left by an interrupted save", removed);
	}
}
