/*
 * core/util/seal.c — sealing a lead's personal answers to the county's
 * public key (docs/security.md, "The phone"): libsodium's sealed boxes
 * (crypto_box_seal: an ephemeral X25519 key per box, XSalsa20-Poly1305), so
 * that only the holder of the county's private key — kept off the server's
 * database, used by `fic-county-server open` — can read them, and the phone
 * that sealed them cannot. The plaintext is padded to a multiple of
 * FIC_SEAL_BLOCK bytes first, so a box does not tell the length of a phone
 * number or a name. Also: the county key's text form (standard base64 of
 * its 32 bytes) and its id (the first 16 hex digits of its SHA-256).
 */
#include "util.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define SEAL_MAX (64 * 1024) /* the plaintext of one box: a lead's personal answers */

int fic__crypto_init(void)
{
	/* Thread-safe and idempotent (libsodium ≥ 1.0.11); cheap after the first call. */
	if (sodium_init() < 0)
		return fic__err(FIC_ERROR, "libsodium could not start");
	return FIC_OK;
}

int fic__county_key_parse(const char *b64, unsigned char pk[FIC_COUNTY_KEY_BYTES])
{
	size_t len = 0;
	const char *end = NULL;
	if (b64 == NULL || strlen(b64) > 64 ||
	    sodium_base642bin(pk, FIC_COUNTY_KEY_BYTES, b64, strlen(b64), NULL, &len, &end,
	                      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    len != FIC_COUNTY_KEY_BYTES || end == NULL || *end != '\0')
		return fic__err(FIC_EINVAL, "a county key is the base64 of 32 bytes");
	return FIC_OK;
}

void fic__county_key_text(const unsigned char pk[FIC_COUNTY_KEY_BYTES],
                          char out[FIC_COUNTY_KEY_TEXT])
{
	sodium_bin2base64(out, FIC_COUNTY_KEY_TEXT, pk, FIC_COUNTY_KEY_BYTES,
	                  sodium_base64_VARIANT_ORIGINAL);
}

int fic__county_key_id(const unsigned char pk[FIC_COUNTY_KEY_BYTES], char out[FIC_KEY_ID_BUFSIZE])
{
	char hex[FIC_SHA256_HEX];
	int rc = fic__sha256_hex(pk, FIC_COUNTY_KEY_BYTES, hex);
	snprintf(out, FIC_KEY_ID_BUFSIZE, "%.16s", rc == FIC_OK ? hex : "");
	return rc;
}

int fic__seal(char **out, const unsigned char pk[FIC_COUNTY_KEY_BYTES], const void *plain,
              size_t len)
{
	*out = NULL;
	if (len > SEAL_MAX)
		return fic__err(FIC_ETOOBIG, "personal answers of more than %d bytes", SEAL_MAX);
	int rc = fic__crypto_init();
	if (rc != FIC_OK)
		return rc;
	size_t padded_max = (len / FIC_SEAL_BLOCK + 1) * FIC_SEAL_BLOCK, padded = 0;
	size_t box_len = padded_max + crypto_box_SEALBYTES;
	size_t text_len = sodium_base64_ENCODED_LEN(box_len, sodium_base64_VARIANT_ORIGINAL);
	unsigned char *buf = fic__malloc(padded_max + box_len);
	char *text = fic__malloc(text_len);
	if (buf == NULL || text == NULL) {
		fic__free(buf);
		fic__free(text);
		return fic__err(FIC_ENOMEM, "out of memory sealing personal answers");
	}
	unsigned char *box = buf + padded_max;
	memcpy(buf, plain, len);
	if (sodium_pad(&padded, buf, len, FIC_SEAL_BLOCK, padded_max) != 0 ||
	    crypto_box_seal(box, buf, padded, pk) != 0) {
		rc = fic__err(FIC_ERROR, "sealing personal answers failed");
	} else {
		sodium_bin2base64(text, text_len, box, padded + crypto_box_SEALBYTES,
		                  sodium_base64_VARIANT_ORIGINAL);
		*out = text;
		text = NULL;
	}
	sodium_memzero(buf, padded_max);
	fic__free(buf);
	fic__free(text);
	return rc;
}

int fic__unseal(char **out, size_t *len, const unsigned char pk[FIC_COUNTY_KEY_BYTES],
                const unsigned char sk[FIC_COUNTY_KEY_BYTES], const char *box_b64)
{
	*out = NULL;
	*len = 0;
	int rc = fic__crypto_init();
	if (rc != FIC_OK)
		return rc;
	size_t n = box_b64 ? strlen(box_b64) : 0, box_len = 0;
	if (n == 0 || n > 4 * (SEAL_MAX / 3 + 1) + 256)
		return fic__err(FIC_EINVAL, "not a sealed box");
	unsigned char *box = fic__malloc(n);
	if (box == NULL)
		return fic__err(FIC_ENOMEM, "out of memory opening a sealed box");
	const char *end = NULL;
	if (sodium_base642bin(box, n, box_b64, n, NULL, &box_len, &end,
	                      sodium_base64_VARIANT_ORIGINAL) != 0 || *end != '\0' ||
	    box_len < crypto_box_SEALBYTES + FIC_SEAL_BLOCK) {
		fic__free(box);
		return fic__err(FIC_EINVAL, "not a sealed box");
	}
	size_t plain_len = box_len - crypto_box_SEALBYTES, unpadded = 0;
	char *plain = fic__malloc(plain_len + 1);
	if (plain == NULL)
		rc = fic__err(FIC_ENOMEM, "out of memory opening a sealed box");
	else if (crypto_box_seal_open((unsigned char *)plain, box, box_len, pk, sk) != 0)
		rc = fic__err(FIC_EINVAL, "the box does not open with this key (another key's, or "
		                          "altered)");
	else if (sodium_unpad(&unpadded, (unsigned char *)plain, plain_len, FIC_SEAL_BLOCK) != 0)
		rc = fic__err(FIC_EINVAL, "the sealed box's padding is damaged");
	fic__free(box);
	if (rc != FIC_OK) {
		if (plain)
			sodium_memzero(plain, plain_len);
		fic__free(plain);
		return rc;
	}
	plain[unpadded] = '\0';
	*out = plain;
	*len = unpadded;
	return FIC_OK;
}

void fic__wipe(void *p, size_t len)
{
	if (p)
		sodium_memzero(p, len);
}
