/*
 * core/util/sha256.c — SHA-256 in lower-case hex, the form every hash takes
 * in the store, the chain and on the wire: of bytes in memory and of a
 * whole file read in chunks (OpenSSL's libcrypto does the hashing).
 */
#include "util.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

void fic__hex32(const unsigned char digest[32], char out[FIC_SHA256_HEX])
{
	static const char hex[] = "0123456789abcdef";
	for (int i = 0; i < 32; i++) {
		out[2 * i] = hex[digest[i] >> 4];
		out[2 * i + 1] = hex[digest[i] & 0x0F];
	}
	out[64] = '\0';
}

int fic__sha256_hex(const void *data, size_t len, char out[FIC_SHA256_HEX])
{
	unsigned char d[32];
	unsigned int n = 0;
	out[0] = '\0';
	if (EVP_Digest(data, len, d, &n, EVP_sha256(), NULL) != 1 || n != 32)
		return fic__err(FIC_ENOMEM, "SHA-256 could not be computed");
	fic__hex32(d, out);
	return FIC_OK;
}

int fic__sha256_fd(int fd, char out[FIC_SHA256_HEX], int64_t *bytes)
{
	out[0] = '\0';
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char *buf = fic__malloc(65536);
	bool ok = md && buf && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1;
	int rc = ok ? FIC_OK : fic__err(FIC_ENOMEM, "out of memory hashing a file");
	int64_t total = 0;
	ssize_t n = 0;
	while (rc == FIC_OK && (n = read(fd, buf, 65536)) > 0) {
		total += n;
		if (EVP_DigestUpdate(md, buf, (size_t)n) != 1)
			rc = fic__err(FIC_ENOMEM, "SHA-256 could not be computed");
	}
	if (rc == FIC_OK && n < 0)
		rc = fic__err(FIC_EIO, "reading a file to hash it failed");
	unsigned char d[32];
	unsigned int dl = 0;
	if (rc == FIC_OK && (EVP_DigestFinal_ex(md, d, &dl) != 1 || dl != 32))
		rc = fic__err(FIC_ENOMEM, "SHA-256 could not be computed");
	if (rc == FIC_OK) {
		fic__hex32(d, out);
		if (bytes)
			*bytes = total;
	}
	EVP_MD_CTX_free(md);
	fic__free(buf);
	return rc;
}

int fic__sha256_file(const char *path, char out[FIC_SHA256_HEX])
{
	out[0] = '\0';
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fic__err(FIC_ENOTFOUND, "cannot open a file to hash it");
	int rc = fic__sha256_fd(fd, out, NULL);
	close(fd);
	return rc;
}
