/*
 * core/uuid.c — record ids: UUIDv7 (RFC 9562 §5.7), made on the device.
 *
 * 48 bits of Unix milliseconds, then 12 bits used as a counter within the
 * millisecond (RFC 9562 §6.2 method 1) so ids from one handle sort in the
 * order they were made, then 62 random bits from the platform's CSPRNG. A
 * wall clock that steps back does not make ids go backwards: the last
 * timestamp is reused and the counter advances.
 */
#include "internal.h"

void fic__uuid7_bytes(uint8_t out[16], int64_t ms, uint16_t counter12, const uint8_t rand8[8])
{
	uint64_t t = (uint64_t)ms & 0xFFFFFFFFFFFFull;
	for (int i = 0; i < 6; i++)
		out[i] = (uint8_t)(t >> (40 - 8 * i));
	out[6] = (uint8_t)(0x70 | ((counter12 >> 8) & 0x0F));
	out[7] = (uint8_t)(counter12 & 0xFF);
	for (int i = 0; i < 8; i++)
		out[8 + i] = rand8[i];
	out[8] = (uint8_t)(0x80 | (out[8] & 0x3F));
}

void fic__uuid_format(const uint8_t b[16], char out[FIC_UUID_BUFSIZE])
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[b[i] >> 4];
		out[o++] = hex[b[i] & 0x0F];
	}
	out[o] = '\0';
}

int fic__uuid7(fic_store *store, char *buf)
{
	uint8_t rnd[10];
	int rc = store->platform->random_bytes(store->platform->ctx, rnd, sizeof rnd);
	if (rc != 0)
		return fic__err(FIC_EIO, "secure random source failed");
	int64_t ms = store->platform->wall_ms(store->platform->ctx);
	if (ms <= store->uuid_last_ms) {
		ms = store->uuid_last_ms;
		if (store->uuid_counter >= 0x0FFF) {
			/* 4096 ids in one millisecond: borrow the next millisecond. */
			ms++;
			store->uuid_counter = (uint16_t)(((rnd[8] << 8) | rnd[9]) & 0x01FF);
		} else {
			store->uuid_counter++;
		}
	} else {
		/* Start low in the range so the counter has room to grow. */
		store->uuid_counter = (uint16_t)(((rnd[8] << 8) | rnd[9]) & 0x01FF);
	}
	store->uuid_last_ms = ms;
	uint8_t b[16];
	fic__uuid7_bytes(b, ms, store->uuid_counter, rnd);
	fic__uuid_format(b, buf);
	return FIC_OK;
}

int fic_store_new_id(fic_store *store, char *buf, size_t size)
{
	fic__err_clear();
	if (store == NULL || buf == NULL)
		return fic__err(FIC_EINVAL, "store and buf are required");
	if (size < FIC_UUID_BUFSIZE)
		return fic__err(FIC_EINVAL, "buf must hold at least %d bytes", FIC_UUID_BUFSIZE);
	return fic__uuid7(store, buf);
}
