/*
 * cdc.c -- content-defined chunking (FastCDC, after Xia et al., 2016).
 *
 * A content is cut where the bytes say so, not at fixed offsets: a gear
 * hash rolls over the bytes (fp = (fp << 1) + gear[byte]; its top bits
 * depend on the last 64 bytes only) and a chunk ends where the top bits
 * of fp are all zero. An insertion or a deletion in a big file moves the
 * cut points near the edit only; further on the same cut points, hence
 * the same chunks, come back, and the store keeps each chunk once. So a
 * small edit to a big file stores about one or two new chunks, not the
 * file again.
 *
 * Sizes: no cut before CDC_MIN bytes (those are not even hashed), a
 * harder condition (16 top bits zero) until CDC_AVG and an easier one (12
 * bits) after it -- "normalized chunking", which keeps chunk sizes close
 * to CDC_AVG -- and a forced cut at CDC_MAX.
 *
 * The gear table is 256 values of splitmix64 from the seed "LHOUSE01". It
 * is part of the on-disk format in one sense only: changing it moves every
 * cut point, so old and new contents would no longer share chunks. Reading
 * does not depend on it (a blob lists its chunks).
 */
#include <pthread.h>
#include <stddef.h>

#include "store/store_int.h"
#include "common/banned.h"

#define MASK_S (~0ULL << (64 - 16))	/* before CDC_AVG: 1 in 65536 */
#define MASK_L (~0ULL << (64 - 12))	/* after CDC_AVG: 1 in 4096 */

static uint64_t gear[256];
static pthread_once_t gear_once = PTHREAD_ONCE_INIT;

static void gear_init(void)
{
	uint64_t x = 0x4C484F5553453031ULL;	/* "LHOUSE01" */
	int i;

	for (i = 0; i < 256; i++) {
		uint64_t z = (x += 0x9E3779B97F4A7C15ULL);

		z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
		z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
		gear[i] = z ^ (z >> 31);
	}
}

void cdc_init(struct cdc *c)
{
	pthread_once(&gear_once, gear_init);
	c->fp = 0;
	c->len = 0;
}

size_t cdc_next(struct cdc *c, const unsigned char *p, size_t n, int *cut)
{
	size_t i = 0;
	uint64_t fp = c->fp;

	*cut = 0;
	if (c->len < CDC_MIN) {
		size_t skip = CDC_MIN - c->len;

		if (skip > n)
			skip = n;
		c->len += skip;
		i = skip;
		if (c->len < CDC_MIN)
			return i;
	}
	while (i < n) {
		fp = (fp << 1) + gear[p[i++]];
		c->len++;
		if (c->len >= CDC_MAX || !(fp & (c->len < CDC_AVG ? MASK_S : MASK_L))) {
			*cut = 1;
			c->fp = 0;
			c->len = 0;
			return i;
		}
	}
	c->fp = fp;
	return i;
}
