/*
 * core/util/uuid.c — record ids: UUIDv7 (RFC 9562 §5.7), made on the device.
 *
 * 48 bits of Unix milliseconds, then 12 bits used as a counter within the
 * millisecond (RFC 9562 §6.2 method 1) so ids from one handle sort in the
 * order they were made, then 62 random bits from the platform's CSPRNG. A
 * wall clock that steps back does not make ids go backwards: the last
 * timestamp is reused and the counter advances.
 */
#include "util.h"

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

int fic__uuid7_next(fic__uuid_gen *gen, const fic_platform *p, char *buf)
{
	uint8_t rnd[10];
	int rc = p->random_bytes(p->ctx, rnd, sizeof rnd);
	if (rc != 0)
		return fic__err(FIC_EIO, "secure random source failed");
	int64_t ms = p->wall_ms(p->ctx);
	if (ms <= gen->last_ms) {
		ms = gen->last_ms;
		if (gen->counter >= 0x0FFF) {
			/* 4096 ids in one millisecond: borrow the next millisecond. */
			ms++;
			gen->counter = (uint16_t)(((rnd[8] << 8) | rnd[9]) & 0x01FF);
		} else {
			gen->counter++;
		}
	} else {
		/* Start low in the range so the counter has room to grow. */
		gen->counter = (uint16_t)(((rnd[8] << 8) | rnd[9]) & 0x01FF);
	}
	gen->last_ms = ms;
	uint8_t b[16];
	fic__uuid7_bytes(b, ms, gen->counter, rnd);
	fic__uuid_format(b, buf);
	return FIC_OK;
}
