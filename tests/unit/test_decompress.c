/*
 * Host-side decompression: every format round-trips a buffer compressed here,
 * with the same libraries, in-process; hostile streams (truncated, corrupt,
 * oversized) fail with the documented error. The real Debian kernel (an LZ4
 * bzImage) is decompressed once, if present.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <elf.h>
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bzlib.h>
#include <lz4.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include "petrel/bzimage.h"
#include "petrel/decompress.h"
#include "petrel/util.h"

#include "kernel_fixture.h"

#define LZ4_LEGACY_MAGIC 0x184C2102u
#define LZ4_BLOCK (8 * 1024 * 1024)

struct buf {
	uint8_t *p;
	size_t len;
};

/* Compressible but not trivial: words picked by a fixed LCG. */
static struct buf make_data(size_t len, uint32_t seed)
{
	static const struct {
		const char *s;
		size_t len;
	} words[] = { { "petrel ", 7 }, { "kvm ", 4 }, { "vcpu ", 5 },
		      { "virtqueue ", 10 }, { "\0\0\0\0", 4 },
		      { "boot_params ", 12 }, { "\xff\x17", 2 }, { "e820 ", 5 } };
	struct buf b = { malloc(len), len };
	size_t i = 0;

	assert_non_null(b.p);
	while (i < len) {
		seed = seed * 1103515245u + 12345u;
		size_t w = (seed >> 16) % ARRAY_SIZE(words);
		/* now and then a random byte, so it is not all dictionary */
		if ((seed >> 27) == 0) {
			b.p[i++] = (uint8_t)(seed >> 8);
			continue;
		}
		for (size_t j = 0; j < words[w].len && i < len; j++)
			b.p[i++] = (uint8_t)words[w].s[j];
	}
	return b;
}

/* The kernel build's size_append: LE32 uncompressed size after the stream. */
static void append_le32(struct buf *c, uint32_t v)
{
	c->p = realloc(c->p, c->len + 4);
	assert_non_null(c->p);
	for (int i = 0; i < 4; i++)
		c->p[c->len + i] = (uint8_t)(v >> (8 * i));
	c->len += 4;
}

static struct buf comp_gzip(const struct buf *in)
{
	z_stream z = { 0 };
	struct buf c;

	assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8,
				      Z_DEFAULT_STRATEGY), Z_OK);
	c.len = deflateBound(&z, in->len);
	c.p = malloc(c.len);
	z.next_in = in->p;
	z.avail_in = (uInt)in->len;
	z.next_out = c.p;
	z.avail_out = (uInt)c.len;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	c.len = z.total_out;
	deflateEnd(&z);
	return c;
}

static struct buf comp_xz(const struct buf *in)
{
	struct buf c = { NULL, 0 };
	size_t cap = lzma_stream_buffer_bound(in->len);

	c.p = malloc(cap);
	assert_int_equal(lzma_easy_buffer_encode(1, LZMA_CHECK_CRC32, NULL,
						 in->p, in->len, c.p, &c.len,
						 cap), LZMA_OK);
	return c;
}

static struct buf comp_lzma(const struct buf *in)
{
	lzma_stream s = LZMA_STREAM_INIT;
	lzma_options_lzma opt;
	size_t cap = in->len + in->len / 2 + 4096;
	struct buf c = { malloc(cap), 0 };

	assert_false(lzma_lzma_preset(&opt, 1));
	assert_int_equal(lzma_alone_encoder(&s, &opt), LZMA_OK);
	s.next_in = in->p;
	s.avail_in = in->len;
	s.next_out = c.p;
	s.avail_out = cap;
	assert_int_equal(lzma_code(&s, LZMA_FINISH), LZMA_STREAM_END);
	c.len = s.total_out;
	lzma_end(&s);
	return c;
}

static struct buf comp_zstd(const struct buf *in)
{
	ZSTD_CCtx *cc = ZSTD_createCCtx();
	struct buf c = { malloc(ZSTD_compressBound(in->len)), 0 };

	assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1)));
	c.len = ZSTD_compress2(cc, c.p, ZSTD_compressBound(in->len), in->p,
			       in->len);
	assert_false(ZSTD_isError(c.len));
	ZSTD_freeCCtx(cc);
	return c;
}

static struct buf comp_bzip2(const struct buf *in)
{
	unsigned cap = (unsigned)(in->len + in->len / 100 + 600);
	struct buf c = { malloc(cap), 0 };

	assert_int_equal(BZ2_bzBuffToBuffCompress((char *)c.p, &cap,
						  (char *)in->p,
						  (unsigned)in->len, 1, 0, 0),
			 BZ_OK);
	c.len = cap;
	return c;
}

/* What "lz4 -l" writes: the magic, then size-prefixed 8 MiB blocks. */
static struct buf comp_lz4(const struct buf *in)
{
	size_t nblocks = (in->len + LZ4_BLOCK - 1) / LZ4_BLOCK;
	size_t cap = 4 + nblocks * (4 + (size_t)LZ4_compressBound(LZ4_BLOCK));
	struct buf c = { malloc(cap), 0 };
	uint32_t magic = LZ4_LEGACY_MAGIC;

	memcpy(c.p, &magic, 4);
	c.len = 4;
	for (size_t off = 0; off < in->len; off += LZ4_BLOCK) {
		int n = LZ4_compress_default((const char *)in->p + off,
					     (char *)c.p + c.len + 4,
					     (int)MIN((size_t)LZ4_BLOCK, in->len - off),
					     LZ4_compressBound(LZ4_BLOCK));
		assert_true(n > 0);
		uint32_t le = (uint32_t)n;
		memcpy(c.p + c.len, &le, 4);
		c.len += 4 + (size_t)n;
	}
	return c;
}

typedef struct buf (*compress_fn)(const struct buf *);

static const struct {
	enum decomp_format fmt;
	compress_fn fn;
	bool checksummed;
} codecs[] = {
	{ DECOMP_GZIP, comp_gzip, true },  { DECOMP_XZ, comp_xz, true },
	{ DECOMP_LZMA, comp_lzma, false }, { DECOMP_ZSTD, comp_zstd, true },
	{ DECOMP_BZIP2, comp_bzip2, true }, { DECOMP_LZ4, comp_lz4, false },
};

static int run(const struct buf *c, size_t max_out, struct buf *out,
	       const char **why)
{
	out->p = (uint8_t *)"sentinel";
	return decompress(c->p, c->len, max_out, &out->p, &out->len, why);
}

static void expect_equal(const struct buf *got, const struct buf *want)
{
	assert_int_equal(got->len, want->len);
	assert_memory_equal(got->p, want->p, want->len);
}

static void test_detect_and_names(void **state)
{
	static const struct {
		const char *bytes;
		size_t len;
		enum decomp_format fmt;
		const char *name;
	} t[] = {
		{ "\x1f\x8b\x08", 3, DECOMP_GZIP, "gzip" },
		{ "BZh9", 4, DECOMP_BZIP2, "bzip2" },
		{ "\x5d\0\0\x80", 4, DECOMP_LZMA, "lzma" },
		{ "\xfd" "7zXZ\0", 6, DECOMP_XZ, "xz" },
		{ "\x89LZO\0\r\n\x1a\n", 9, DECOMP_LZO, "lzo" },
		{ "\x02\x21\x4c\x18", 4, DECOMP_LZ4, "lz4" },
		{ "\x28\xb5\x2f\xfd", 4, DECOMP_ZSTD, "zstd" },
		{ "\x7f" "ELF", 4, DECOMP_NONE, "none" },
		/* the LZ4 frame format is not what the kernel uses */
		{ "\x04\x22\x4d\x18", 4, DECOMP_UNKNOWN, "unknown" },
		/* a magic cut short is no magic */
		{ "\xfd" "7zXZ", 5, DECOMP_UNKNOWN, "unknown" },
		{ "\x28\xb5\x2f", 3, DECOMP_UNKNOWN, "unknown" },
		{ "\x1f\x8b", 0, DECOMP_UNKNOWN, "unknown" },
	};
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		enum decomp_format f =
			decompress_detect((const uint8_t *)t[i].bytes, t[i].len);
		assert_int_equal(f, t[i].fmt);
		assert_string_equal(decompress_name(f), t[i].name);
	}
	assert_int_equal(decompress_detect(NULL, 10), DECOMP_UNKNOWN);
	assert_string_equal(decompress_name((enum decomp_format)99), "unknown");
}

static void test_roundtrip_all(void **state)
{
	struct buf data = make_data(1 * MiB + 12345, 1);
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(codecs); i++) {
		struct buf c = codecs[i].fn(&data), out;
		const char *why = "unset";

		assert_int_equal(decompress_detect(c.p, c.len), codecs[i].fmt);
		/* bare stream */
		assert_int_equal(run(&c, DECOMPRESS_MAX_OUT, &out, &why), 0);
		assert_null(why);
		expect_equal(&out, &data);
		free(out.p);
		/* into a mapping of its own: the same bytes, page-aligned */
		assert_int_equal(decompress_map(c.p, c.len, DECOMPRESS_MAX_OUT,
						&out.p, &out.len, NULL), 0);
		expect_equal(&out, &data);
		assert_int_equal((uintptr_t)out.p % (uintptr_t)sysconf(_SC_PAGESIZE), 0);
		decompress_unmap(out.p, out.len);
		/* with the kernel's size trailer */
		append_le32(&c, (uint32_t)data.len);
		assert_int_equal(run(&c, DECOMPRESS_MAX_OUT, &out, NULL), 0);
		expect_equal(&out, &data);
		free(out.p);

		/*
		 * A lying trailer only costs buffer growth. For lz4 a small
		 * lie reads as a block header whose block is missing.
		 */
		for (uint32_t lie = 0; lie < 4; lie++) {
			const uint32_t v[] = { 1, 0xffffffffu, 1000, 0 };
			bool lz4_small = codecs[i].fmt == DECOMP_LZ4 &&
					 (v[lie] == 1 || v[lie] == 1000);
			c.len -= 4;
			append_le32(&c, v[lie]);
			assert_int_equal(run(&c, DECOMPRESS_MAX_OUT, &out, NULL),
					 lz4_small ? -ENODATA : 0);
			if (lz4_small)
				continue;
			expect_equal(&out, &data);
			free(out.p);
			/* the mapped buffer grows the same way (mremap) */
			assert_int_equal(decompress_map(c.p, c.len, DECOMPRESS_MAX_OUT,
							&out.p, &out.len, NULL), 0);
			expect_equal(&out, &data);
			decompress_unmap(out.p, out.len);
		}
		free(c.p);
	}
	free(data.p);
}

/* max_out is a hard cap: exactly the size passes, one byte less fails. */
static void test_max_out(void **state)
{
	struct buf data = make_data(300000, 2);
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(codecs); i++) {
		struct buf c = codecs[i].fn(&data), out;
		const char *why = NULL;

		append_le32(&c, (uint32_t)data.len);
		assert_int_equal(run(&c, data.len, &out, NULL), 0);
		expect_equal(&out, &data);
		free(out.p);
		assert_int_equal(run(&c, data.len - 1, &out, &why), -EFBIG);
		assert_null(out.p);
		assert_int_equal(out.len, 0);
		assert_non_null(strstr(why, "larger than the limit"));
		assert_int_equal(run(&c, 1000, &out, NULL), -EFBIG);
		free(c.p);
	}
	free(data.p);
}

/*
 * decompress_map and decompress agree, even where the mapping's whole pages
 * would leave a decoder room past the limit: a stream whose checksum is
 * wrong and whose output ends between max_out and the next page boundary
 * is too big for both (found by fuzz_decompress), and the tail of the last
 * page after out_len reads zero, whatever the decoder wrote there (lz4's
 * wide copies; also found by fuzz_decompress).
 */
static void test_map_agrees(void **state)
{
	struct buf data = make_data(6000, 7), out;
	const long pg = sysconf(_SC_PAGESIZE);
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(codecs); i++) {
		struct buf c = codecs[i].fn(&data);
		uint8_t *map;
		size_t map_len;
		int r;

		/* the kernel's trailer makes the first buffer the exact size */
		append_le32(&c, (uint32_t)data.len);
		assert_int_equal(decompress_map(c.p, c.len, DECOMPRESS_MAX_OUT,
						&map, &map_len, NULL), 0);
		expect_equal(&(struct buf){ map, map_len }, &data);
		for (size_t j = map_len; j % (size_t)pg; j++)
			assert_int_equal(map[j], 0);
		decompress_unmap(map, map_len);
		if (codecs[i].checksummed)
			c.p[c.len - 5] ^= 0x55; /* the stream's own checksum */
		r = run(&c, 5000, &out, NULL);
		assert_int_equal(r, -EFBIG);
		assert_int_equal(decompress_map(c.p, c.len, 5000, &map, &map_len,
						NULL), r);
		free(c.p);
	}
	free(data.p);
}

/* Truncated streams say so (-ENODATA) rather than "corrupt" or success. */
static void test_truncated(void **state)
{
	struct buf data = make_data(400000, 3);
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(codecs); i++) {
		struct buf c = codecs[i].fn(&data), out;
		const size_t full = c.len;
		const size_t cuts[] = { full / 2, full - 1, full / 3, 40 };

		for (size_t k = 0; k < ARRAY_SIZE(cuts); k++) {
			const char *why = NULL;

			c.len = cuts[k];
			assert_int_equal(run(&c, DECOMPRESS_MAX_OUT, &out, &why),
					 -ENODATA);
			assert_null(out.p);
			assert_non_null(strstr(why, "truncated"));
			assert_non_null(strstr(why, decompress_name(codecs[i].fmt)));
		}
		free(c.p);
	}
	free(data.p);
}

/* Flipped bytes: an error for checksummed formats, no crash for any. */
static void test_corrupt(void **state)
{
	struct buf data = make_data(400000, 4);
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(codecs); i++) {
		struct buf c = codecs[i].fn(&data), out;

		append_le32(&c, (uint32_t)data.len);
		for (size_t pos = c.len / 4; pos < c.len - 8; pos += c.len / 7) {
			const char *why = NULL;

			c.p[pos] ^= 0x55;
			int ret = run(&c, 4 * data.len, &out, &why);
			c.p[pos] ^= 0x55;
			if (ret == 0) {
				assert_false(codecs[i].checksummed);
				assert_true(out.len <= 4 * data.len);
				assert_true(out.len != data.len ||
					    memcmp(out.p, data.p, data.len));
				free(out.p);
				continue;
			}
			assert_true(ret == -EBADMSG || ret == -ENODATA ||
				    ret == -EFBIG);
			assert_null(out.p);
			assert_non_null(why);
		}
		free(c.p);
	}
	free(data.p);
}

static void test_unsupported_and_args(void **state)
{
	static const uint8_t lzo[] = { 0x89, 'L', 'Z', 'O', 0, 0x0d, 0x0a,
				       0x1a, 0x0a, 1, 2, 3 };
	static const uint8_t junk[] = "this is not compressed";
	static const uint8_t elf[] = { 0x7f, 'E', 'L', 'F', 2, 1, 1, 0 };
	const char *why = NULL;
	uint8_t *out = (uint8_t *)"x";
	size_t out_len = 7;
	(void)state;

	assert_int_equal(decompress(lzo, sizeof(lzo), MiB, &out, &out_len, &why),
			 -ENOTSUP);
	assert_string_equal(why, "lzo: not supported");
	assert_null(out);
	assert_int_equal(out_len, 0);
	assert_int_equal(decompress(junk, sizeof(junk), MiB, &out, &out_len, &why),
			 -ENOEXEC);
	assert_string_equal(why, "unknown compression format");
	assert_int_equal(decompress(junk, 0, MiB, &out, &out_len, NULL), -ENOEXEC);
	assert_int_equal(decompress(NULL, 0, MiB, &out, &out_len, NULL), -ENOEXEC);
	assert_int_equal(decompress(NULL, 5, MiB, &out, &out_len, NULL), -EINVAL);
	assert_int_equal(decompress(junk, 5, 0, &out, &out_len, NULL), -EINVAL);
	assert_int_equal(decompress(junk, 5, MiB, NULL, &out_len, NULL), -EINVAL);
	assert_int_equal(decompress(junk, 5, SIZE_MAX, &out, &out_len, NULL),
			 -EINVAL);

	/* an uncompressed ELF payload comes back as a copy */
	assert_int_equal(decompress(elf, sizeof(elf), MiB, &out, &out_len, NULL), 0);
	assert_int_equal(out_len, sizeof(elf));
	assert_memory_equal(out, elf, sizeof(elf));
	assert_true(out != elf);
	free(out);
	assert_int_equal(decompress(elf, sizeof(elf), 7, &out, &out_len, NULL),
			 -EFBIG);
}

static struct buf lz4_block_stream(const uint32_t *words, size_t n,
				   const uint8_t *tail, size_t tail_len)
{
	struct buf c = { malloc(n * 4 + tail_len + 1), n * 4 + tail_len };

	for (size_t i = 0; i < n; i++)
		for (int b = 0; b < 4; b++)
			c.p[i * 4 + b] = (uint8_t)(words[i] >> (8 * b));
	memcpy(c.p + n * 4, tail, tail_len);
	return c;
}

/* The legacy frame's edges: concatenation, trailer, bad block sizes. */
static void test_lz4_legacy_edges(void **state)
{
	struct buf data = make_data(LZ4_BLOCK + 500000, 5), out;
	struct buf c = comp_lz4(&data), two, bad;
	const uint32_t bound = (uint32_t)LZ4_compressBound(LZ4_BLOCK);
	const char *why = NULL;
	(void)state;

	/* two blocks, no trailer */
	assert_int_equal(run(&c, DECOMPRESS_MAX_OUT, &out, NULL), 0);
	expect_equal(&out, &data);
	free(out.p);

	/* a second frame (magic again) continues the output */
	two.len = c.len * 2;
	two.p = malloc(two.len);
	memcpy(two.p, c.p, c.len);
	memcpy(two.p + c.len, c.p, c.len);
	append_le32(&two, (uint32_t)(2 * data.len));
	assert_int_equal(run(&two, DECOMPRESS_MAX_OUT, &out, NULL), 0);
	assert_int_equal(out.len, 2 * data.len);
	assert_memory_equal(out.p, data.p, data.len);
	assert_memory_equal(out.p + data.len, data.p, data.len);
	free(out.p);
	free(two.p);

	/* 4 dangling bytes that are a plausible block size: a lost block */
	append_le32(&c, 100);
	assert_int_equal(run(&c, DECOMPRESS_MAX_OUT, &out, &why), -ENODATA);
	assert_string_equal(why, "lz4: truncated block");
	c.len -= 4;
	/* ... and that cannot be a block size: a wrong trailer */
	append_le32(&c, bound + 1);
	assert_int_equal(run(&c, DECOMPRESS_MAX_OUT, &out, &why), 0);
	expect_equal(&out, &data);
	free(out.p);
	c.len -= 4;
	/* 1..3 dangling bytes */
	for (size_t k = 1; k < 4; k++) {
		append_le32(&c, (uint32_t)data.len);
		c.len -= 4 - k;
		assert_int_equal(run(&c, DECOMPRESS_MAX_OUT, &out, &why), -ENODATA);
		assert_string_equal(why, "lz4: truncated block header");
		c.len -= k;
	}

	/* block sizes of 0 and beyond the 8 MiB bound are corrupt */
	const uint8_t pad[64] = { 0 };
	const uint32_t zero[] = { LZ4_LEGACY_MAGIC, 0 };
	const uint32_t huge[] = { LZ4_LEGACY_MAGIC, bound + 1 };
	const uint32_t past[] = { LZ4_LEGACY_MAGIC, 65 };
	bad = lz4_block_stream(zero, 2, pad, sizeof(pad));
	assert_int_equal(run(&bad, DECOMPRESS_MAX_OUT, &out, &why), -EBADMSG);
	assert_string_equal(why, "lz4: corrupt block size");
	free(bad.p);
	bad = lz4_block_stream(huge, 2, pad, sizeof(pad));
	assert_int_equal(run(&bad, DECOMPRESS_MAX_OUT, &out, &why), -EBADMSG);
	free(bad.p);
	bad = lz4_block_stream(past, 2, pad, sizeof(pad));
	assert_int_equal(run(&bad, DECOMPRESS_MAX_OUT, &out, &why), -ENODATA);
	free(bad.p);
	/* a block of garbage that LZ4 rejects (match offset before start) */
	const uint8_t garbage[] = { 0x0f, 0x01, 0x00, 0xff, 0xff, 0xff, 0xff };
	const uint32_t hdr[] = { LZ4_LEGACY_MAGIC, sizeof(garbage) };
	bad = lz4_block_stream(hdr, 2, garbage, sizeof(garbage));
	assert_int_equal(run(&bad, DECOMPRESS_MAX_OUT, &out, &why), -EBADMSG);
	assert_string_equal(why, "lz4: corrupt data");
	free(bad.p);
	/* the magic alone is an empty stream */
	bad = lz4_block_stream(zero, 1, pad, 0);
	assert_int_equal(run(&bad, DECOMPRESS_MAX_OUT, &out, NULL), 0);
	assert_int_equal(out.len, 0);
	free(out.p);
	free(bad.p);

	free(c.p);
	free(data.p);
}

/* Runs the decoder with this thread on one CPU: the sequential LZ4 walk. */
static int run_one_cpu(const struct buf *c, size_t max_out, struct buf *out,
		       const char **why)
{
	cpu_set_t all, one;
	int r;

	assert_int_equal(sched_getaffinity(0, sizeof(all), &all), 0);
	CPU_ZERO(&one);
	for (int i = 0; i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, &all)) {
			CPU_SET(i, &one);
			break;
		}
	assert_int_equal(sched_setaffinity(0, sizeof(one), &one), 0);
	r = run(c, max_out, out, why);
	assert_int_equal(sched_setaffinity(0, sizeof(all), &all), 0);
	return r;
}

/*
 * Several 8 MiB blocks decode on several threads (when this machine has the
 * CPUs): the same bytes and the same errors as one block after another.
 */
static void test_lz4_parallel(void **state)
{
	struct buf data = make_data(3 * LZ4_BLOCK + 300000, 11), out, seq;
	struct buf c = comp_lz4(&data);
	const char *why = NULL;
	(void)state;

	append_le32(&c, (uint32_t)data.len);
	assert_int_equal(run(&c, DECOMPRESS_MAX_OUT, &out, NULL), 0);
	expect_equal(&out, &data);
	free(out.p);
	assert_int_equal(run_one_cpu(&c, DECOMPRESS_MAX_OUT, &seq, NULL), 0);
	expect_equal(&seq, &data);
	free(seq.p);

	/* the limit inside the last block, and before it */
	assert_int_equal(run(&c, data.len - 1, &out, &why), -EFBIG);
	assert_string_equal(why, "lz4: output larger than the limit");
	assert_int_equal(run(&c, LZ4_BLOCK + 1, &out, &why), -EFBIG);
	assert_string_equal(why, "lz4: output larger than the limit");
	assert_int_equal(run(&c, data.len, &out, NULL), 0);
	free(out.p);

	/* a trailer that is a plausible size but not the output's: a lost block */
	c.len -= 4;
	append_le32(&c, 100);
	assert_int_equal(run(&c, DECOMPRESS_MAX_OUT, &out, &why), -ENODATA);
	assert_string_equal(why, "lz4: truncated block");
	c.len -= 4;

	/* the second block corrupt: the others decode, the error is the same */
	size_t second = 8 + le32_get(c.p + 4) + 4;
	const uint8_t garbage[] = { 0x0f, 0x01, 0x00, 0xff, 0xff, 0xff, 0xff };
	memcpy(c.p + second, garbage, sizeof(garbage));
	assert_int_equal(run(&c, DECOMPRESS_MAX_OUT, &out, &why), -EBADMSG);
	assert_string_equal(why, "lz4: corrupt data");
	assert_int_equal(run_one_cpu(&c, DECOMPRESS_MAX_OUT, &out, &why), -EBADMSG);
	assert_string_equal(why, "lz4: corrupt data");

	free(c.p);
	free(data.p);
}

/* ---- the real kernel (kernel_fixture.c) ---- */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_real_kernel_lz4(void **state)
{
	struct kernel *k = need_kernel(state);
	struct bzimage bz;
	struct buf pl, out, seq;
	Elf64_Ehdr eh;
	double t0;

	assert_int_equal(bzimage_parse(k->img, k->len, &bz, NULL), 0);
	assert_int_equal(decompress_detect(bz.payload, bz.payload_len),
			 DECOMP_LZ4);
	pl = (struct buf){ (uint8_t *)bz.payload, bz.payload_len };
	t0 = now();
	assert_int_equal(run(&pl, DECOMPRESS_MAX_OUT, &out, NULL), 0);
	print_message("lz4 payload %zu -> %zu bytes in %.1f ms\n", pl.len,
		      out.len, (now() - t0) * 1e3);
	/* the size trailer is exactly the output size */
	assert_int_equal(out.len, le32_get(pl.p + pl.len - 4));
	assert_true(out.len > sizeof(eh));
	memcpy(&eh, out.p, sizeof(eh));
	assert_memory_equal(eh.e_ident, ELFMAG, SELFMAG);
	assert_int_equal(eh.e_ident[EI_CLASS], ELFCLASS64);
	assert_int_equal(eh.e_machine, EM_X86_64);
	assert_int_equal(eh.e_entry, 0x1000000);
	/* its 7 blocks on several threads: the bytes one thread makes */
	t0 = now();
	assert_int_equal(run_one_cpu(&pl, DECOMPRESS_MAX_OUT, &seq, NULL), 0);
	print_message("the same on one CPU in %.1f ms\n", (now() - t0) * 1e3);
	expect_equal(&out, &seq);
	free(seq.p);
	free(out.p);

	/* too small a cap */
	assert_int_equal(run(&pl, 16 * MiB, &out, NULL), -EFBIG);
	/* cut in the middle of a block */
	pl.len = bz.payload_len / 2;
	assert_int_equal(run(&pl, DECOMPRESS_MAX_OUT, &out, NULL), -ENODATA);
}

/* Damaged real payloads: no crash, an error or a different result. */
static void test_real_kernel_corrupt(void **state)
{
	struct kernel *k = need_kernel(state);
	struct bzimage bz;
	uint8_t *copy;
	struct buf pl, out;

	assert_int_equal(bzimage_parse(k->img, k->len, &bz, NULL), 0);
	copy = malloc(bz.payload_len);
	memcpy(copy, bz.payload, bz.payload_len);
	pl = (struct buf){ copy, bz.payload_len };
	/* first block header, mid-stream bytes, the trailer */
	const size_t at[] = { 4, 5, 7, pl.len / 3, pl.len / 2, pl.len / 2 + 1,
			      pl.len - 100, pl.len - 4, pl.len - 1 };
	for (size_t i = 0; i < ARRAY_SIZE(at); i++) {
		const char *why = NULL;

		copy[at[i]] ^= 0xa5;
		int ret = run(&pl, DECOMPRESS_MAX_OUT, &out, &why);
		copy[at[i]] ^= 0xa5;
		if (ret == 0) {
			assert_true(out.len <= DECOMPRESS_MAX_OUT);
			free(out.p);
			continue;
		}
		assert_true(ret == -EBADMSG || ret == -ENODATA);
		assert_non_null(why);
		assert_null(out.p);
	}
	/* the block header: a corrupt size */
	copy[7] = 0x7f;
	assert_int_equal(run(&pl, DECOMPRESS_MAX_OUT, &out, NULL), -EBADMSG);
	free(copy);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_detect_and_names),
		cmocka_unit_test(test_roundtrip_all),
		cmocka_unit_test(test_max_out),
		cmocka_unit_test(test_map_agrees),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_corrupt),
		cmocka_unit_test(test_unsupported_and_args),
		cmocka_unit_test(test_lz4_legacy_edges),
		cmocka_unit_test(test_lz4_parallel),
		cmocka_unit_test(test_real_kernel_lz4),
		cmocka_unit_test(test_real_kernel_corrupt),
	};

	return cmocka_run_group_tests(tests, load_kernel, free_kernel);
}
