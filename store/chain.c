/*
 * chain.c -- the checksum chain that makes a gap or an edited row visible.
 *
 * Every row of events carries in its `hash` column
 *
 *     hash(n) = xxh3-128( hash(n-1) || row(n) )
 *
 * where hash(0), before the first row, is 16 zero bytes, a hash is the 16
 * bytes of XXH128_canonical_t (big-endian: high 64 bits first), and row(n)
 * is the row's canonical bytes, its columns in schema order:
 *
 *     seq         u64, little-endian
 *     time_ns     i64, little-endian
 *     type        str
 *     uid         opt i64      gid   opt i64      pid  opt i64
 *     agent       opt str      session  opt str
 *     request_id  opt i64
 *     path        opt str
 *     blob        opt 16 bytes
 *     payload     str
 *
 *     str      = u32 length, little-endian, then the bytes (no NUL)
 *     opt X    = one byte 0 for NULL, or one byte 1 then X
 *
 * The writer computes the hash inside the transaction that inserts the row
 * (store.c), so a committed row always has its checksum. A row changed
 * afterwards no longer hashes to its `hash`; a row deleted leaves a hole
 * in the sequence, and the next row's hash no longer follows from the one
 * before the hole. `lighthousectl verify` (verify.c) walks the chain.
 *
 * Vacuum removes superseded rows on purpose. Each hole it makes is a row
 * of `gaps` (first_seq, last_seq, hash of last_seq before it was dropped,
 * vacuum_seq), and the store.vacuum event at vacuum_seq -- itself in the
 * chain -- carries gaps_hash, the xxh3-128 of its gaps in order, each as
 * u64 first, u64 last (little-endian) and the 16 bytes of hash. So the
 * chain continues across a hole from the recorded hash, and a gap record
 * that is edited, added or removed no longer matches its vacuum event.
 *
 * What this protects against: accidents (a torn disk, a bad copy) and
 * edits made without knowing about the chain. xxh3 is not a cryptographic
 * hash: someone who can write the database and knows the format can
 * rebuild the whole chain. Keeping the head checksum (`lighthousectl
 * verify` prints it) somewhere else makes even that visible.
 */
#include <errno.h>
#include <string.h>

#include <xxhash.h>

#include "store/store_int.h"
#include "common/banned.h"

static void put_u32(struct lh_buf *b, uint32_t v)
{
	unsigned char x[4];
	int i;

	for (i = 0; i < 4; i++)
		x[i] = (unsigned char)(v >> (8 * i));
	lh_buf_add(b, x, 4);
}

static void put_u64(struct lh_buf *b, uint64_t v)
{
	unsigned char x[8];
	int i;

	for (i = 0; i < 8; i++)
		x[i] = (unsigned char)(v >> (8 * i));
	lh_buf_add(b, x, 8);
}

static void put_str(struct lh_buf *b, const char *s)
{
	size_t n = strlen(s);

	put_u32(b, (uint32_t)n);
	lh_buf_add(b, s, n);
}

static void put_opt_str(struct lh_buf *b, const char *s)
{
	lh_buf_addc(b, s ? 1 : 0);
	if (s)
		put_str(b, s);
}

static void put_opt_i64(struct lh_buf *b, int present, int64_t v)
{
	lh_buf_addc(b, present ? 1 : 0);
	if (present)
		put_u64(b, (uint64_t)v);
}

void hash128(const void *p, size_t n, unsigned char out[16])
{
	XXH128_canonical_t c;

	XXH128_canonicalFromHash(&c, XXH3_128bits(p, n));
	memcpy(out, c.digest, 16);
}

void chain_hash(const unsigned char prev[16], const struct lh_event_row *row,
		struct lh_buf *scratch, unsigned char out[16])
{
	struct lh_buf *b = scratch;

	lh_buf_reset(b);
	lh_buf_add(b, prev, 16);
	put_u64(b, (uint64_t)row->seq);
	put_u64(b, (uint64_t)row->time_ns);
	put_str(b, row->type);
	put_opt_i64(b, row->uid >= 0, row->uid);
	put_opt_i64(b, row->gid >= 0, row->gid);
	put_opt_i64(b, row->pid >= 0, row->pid);
	put_opt_str(b, row->agent);
	put_opt_str(b, row->session);
	put_opt_i64(b, row->request_id != 0, row->request_id);
	put_opt_str(b, row->path);
	lh_buf_addc(b, row->blob ? 1 : 0);
	if (row->blob)
		lh_buf_add(b, row->blob->b, 16);
	put_str(b, row->payload);
	hash128(b->data, b->len, out);
}

void chain_gap_fold(struct lh_buf *acc, int64_t first, int64_t last, const unsigned char hash[16])
{
	put_u64(acc, (uint64_t)first);
	put_u64(acc, (uint64_t)last);
	lh_buf_add(acc, hash, 16);
}

void chain_gap_digest(const struct lh_buf *acc, char out[LH_HEX_ID])
{
	unsigned char h[16];

	hash128(acc->data, acc->len, h);
	hex16(h, out);
}

void hex16(const unsigned char b[16], char out[LH_HEX_ID])
{
	static const char digits[] = "0123456789abcdef";
	int i;

	for (i = 0; i < 16; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[32] = '\0';
}

static int nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int unhex16(const char *hex, unsigned char b[16])
{
	int i;

	for (i = 0; i < 16; i++) {
		int hi = nibble(hex[2 * i]), lo = hi < 0 ? -1 : nibble(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		b[i] = (unsigned char)(hi << 4 | lo);
	}
	return hex[32] ? -EINVAL : 0;
}

void lh_blob_id_hex(const struct lh_blob_id *id, char out[LH_HEX_ID])
{
	hex16(id->b, out);
}

int lh_blob_id_parse(const char *hex, struct lh_blob_id *id)
{
	return unhex16(hex, id->b);
}
