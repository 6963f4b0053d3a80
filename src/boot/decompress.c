/*
 * Host-side decompressors for kernel payloads: thin loops around zlib,
 * liblzma, libzstd, liblz4 and libbz2. Every decoder writes into one growable
 * output buffer whose size never exceeds the caller's cap, and every decoder
 * tells corrupt input (-EBADMSG) from input that simply ends too soon
 * (-ENODATA).
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bzlib.h>
#include <lz4.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "petrel/decompress.h"
#include "petrel/util.h"

/* The kernel's lz4 wrapper compresses 8 MiB chunks (lz4 -l). */
#define LZ4_LEGACY_MAGIC 0x184C2102u
#define LZ4_LEGACY_BLOCK (8 * MiB)
/* Threads for the LZ4 blocks: a 50-80 MiB kernel has 7-10 of them. */
#define LZ4_MAX_THREADS 8
/* Blocks the parallel walk takes: 512 MiB of output (DECOMPRESS_MAX_OUT) is 64. */
#define LZ4_MAX_BLOCKS 80

/* liblzma can be asked for a huge dictionary by a hostile header. */
#define LZMA_MEMLIMIT (256 * MiB)

static const uint8_t magic_gzip[] = { 0x1f, 0x8b };
static const uint8_t magic_bzip2[] = { 'B', 'Z', 'h' };
static const uint8_t magic_lzma[] = { 0x5d, 0x00, 0x00 };
static const uint8_t magic_xz[] = { 0xfd, '7', 'z', 'X', 'Z', 0x00 };
static const uint8_t magic_lzo[] = { 0x89, 'L', 'Z', 'O', 0x00, 0x0d, 0x0a,
				     0x1a, 0x0a };
static const uint8_t magic_lz4[] = { 0x02, 0x21, 0x4c, 0x18 };
static const uint8_t magic_zstd[] = { 0x28, 0xb5, 0x2f, 0xfd };
static const uint8_t magic_elf[] = { 0x7f, 'E', 'L', 'F' };

static const struct {
	enum decomp_format fmt;
	const uint8_t *magic;
	size_t len;
} magics[] = {
	{ DECOMP_GZIP, magic_gzip, sizeof(magic_gzip) },
	{ DECOMP_BZIP2, magic_bzip2, sizeof(magic_bzip2) },
	{ DECOMP_LZMA, magic_lzma, sizeof(magic_lzma) },
	{ DECOMP_XZ, magic_xz, sizeof(magic_xz) },
	{ DECOMP_LZO, magic_lzo, sizeof(magic_lzo) },
	{ DECOMP_LZ4, magic_lz4, sizeof(magic_lz4) },
	{ DECOMP_ZSTD, magic_zstd, sizeof(magic_zstd) },
	{ DECOMP_NONE, magic_elf, sizeof(magic_elf) },
};

enum decomp_format decompress_detect(const uint8_t *in, size_t len)
{
	if (!in)
		return DECOMP_UNKNOWN;
	for (size_t i = 0; i < ARRAY_SIZE(magics); i++)
		if (len >= magics[i].len &&
		    !memcmp(in, magics[i].magic, magics[i].len))
			return magics[i].fmt;
	return DECOMP_UNKNOWN;
}

const char *decompress_name(enum decomp_format f)
{
	switch (f) {
	case DECOMP_NONE: return "none";
	case DECOMP_GZIP: return "gzip";
	case DECOMP_BZIP2: return "bzip2";
	case DECOMP_LZMA: return "lzma";
	case DECOMP_XZ: return "xz";
	case DECOMP_LZO: return "lzo";
	case DECOMP_LZ4: return "lz4";
	case DECOMP_ZSTD: return "zstd";
	case DECOMP_UNKNOWN: break;
	}
	return "unknown";
}

/*
 * The output buffer. limit is max_out + 1: a decoder that has produced exactly
 * max_out bytes must still see free space to report its end of stream, and
 * one byte beyond max_out proves the output is too big.
 */
struct obuf {
	uint8_t *buf;
	size_t len;
	size_t cap;
	size_t limit;
	bool mapped; /* buf is an anonymous mapping (decompress_map) of
		      * page_up(cap) bytes */
};

static size_t page_up(size_t n)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);

	return n > SIZE_MAX - (pg - 1) ? SIZE_MAX : (n + pg - 1) & ~(pg - 1);
}

/* Resizes o->buf to cap bytes, keeping its contents: 0 or -ENOMEM. */
static int obuf_resize(struct obuf *o, size_t cap)
{
	void *p;

	if (o->mapped) {
		/*
		 * The mapping is whole pages, but cap stays what was asked:
		 * a decoder gets the same room as with malloc, never a page
		 * past the limit.
		 */
		p = o->buf ? mremap(o->buf, page_up(o->cap), page_up(cap),
				    MREMAP_MAYMOVE)
			   : mmap(NULL, page_up(cap), PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return -ENOMEM;
	} else {
		p = realloc(o->buf, cap);
		if (!p)
			return -ENOMEM;
	}
	o->buf = p;
	o->cap = cap;
	return 0;
}

static void obuf_free(struct obuf *o)
{
	if (o->mapped && o->buf)
		munmap(o->buf, page_up(o->cap));
	else
		free(o->buf);
	o->buf = NULL;
}

static int obuf_init(struct obuf *o, const uint8_t *in, size_t len,
		     size_t max_out)
{
	size_t hint = len >= 4 ? le32_get(in + len - 4) : 0;
	size_t cap;

	o->len = 0;
	o->limit = max_out + 1;
	/* The trailer is only a guess: a wrong one costs a realloc, no more. */
	if (hint && hint <= max_out)
		cap = hint + 1;
	else
		cap = len <= SIZE_MAX / 4 ? len * 4 : SIZE_MAX;
	cap = MIN(MAX(cap, (size_t)(64 * KiB)), o->limit);
	o->buf = NULL;
	o->cap = 0;
	return obuf_resize(o, cap);
}

/* Room for at least `need` more bytes, ignoring the limit. */
static int obuf_reserve(struct obuf *o, size_t need)
{
	size_t cap = o->cap;

	if (need <= cap - o->len)
		return 0;
	if (need > SIZE_MAX / 2 - o->len)
		return -ENOMEM;
	while (cap - o->len < need)
		cap = cap * 2;
	return obuf_resize(o, cap);
}

/* More room for a streaming decoder whose output is full. */
static int obuf_grow(struct obuf *o)
{
	size_t cap;

	if (o->cap >= o->limit)
		return -EFBIG;
	cap = o->cap > o->limit / 2 ? o->limit : o->cap * 2;
	return obuf_resize(o, cap);
}

static size_t obuf_avail(const struct obuf *o, size_t type_max)
{
	return MIN(o->cap - o->len, type_max);
}

/* Everything is in memory, so "no progress and no end" means truncated. */
static int gunzip(const uint8_t *in, size_t len, struct obuf *o,
		  const char **why)
{
	z_stream z = { 0 };
	size_t in_pos = 0;
	int ret, err;

	/* 16 + MAX_WBITS: expect (and check) the gzip wrapper and its CRC */
	ret = inflateInit2(&z, 16 + MAX_WBITS);
	if (ret != Z_OK) {
		*why = "gzip: cannot initialise zlib";
		return ret == Z_MEM_ERROR ? -ENOMEM : -EINVAL;
	}
	for (;;) {
		if (z.avail_in == 0 && in_pos < len) {
			z.next_in = (Bytef *)(in + in_pos);
			z.avail_in = (uInt)MIN(len - in_pos, (size_t)UINT_MAX);
			in_pos += z.avail_in;
		}
		if (o->cap == o->len && (err = obuf_grow(o)) < 0)
			goto fail;
		z.next_out = o->buf + o->len;
		z.avail_out = (uInt)obuf_avail(o, UINT_MAX);
		uInt before = z.avail_out;
		ret = inflate(&z, Z_NO_FLUSH);
		o->len += before - z.avail_out;
		if (ret == Z_STREAM_END)
			break;
		if (ret == Z_DATA_ERROR || ret == Z_NEED_DICT ||
		    ret == Z_STREAM_ERROR) {
			*why = "gzip: corrupt data";
			err = -EBADMSG;
			goto fail;
		}
		if (ret == Z_MEM_ERROR) {
			*why = "gzip: out of memory";
			err = -ENOMEM;
			goto fail;
		}
		if (z.avail_in == 0 && in_pos == len && z.avail_out > 0) {
			*why = "gzip: truncated data";
			err = -ENODATA;
			goto fail;
		}
	}
	inflateEnd(&z);
	return 0;
fail:
	if (err == -EFBIG)
		*why = "gzip: output larger than the limit";
	inflateEnd(&z);
	return err;
}

/* xz and lzma-alone share liblzma's streaming interface. */
static int unlzma(const uint8_t *in, size_t len, struct obuf *o, bool xz,
		  const char **why)
{
	lzma_stream s = LZMA_STREAM_INIT;
	lzma_ret ret;
	int err;

	/*
	 * No LZMA_CONCATENATED: decoding stops at the end of the first stream,
	 * so the kernel's 4-byte size trailer is never parsed as data.
	 */
	ret = xz ? lzma_stream_decoder(&s, LZMA_MEMLIMIT, 0)
		 : lzma_alone_decoder(&s, LZMA_MEMLIMIT);
	if (ret != LZMA_OK) {
		*why = xz ? "xz: cannot initialise liblzma"
			  : "lzma: cannot initialise liblzma";
		return ret == LZMA_MEM_ERROR ? -ENOMEM : -EINVAL;
	}
	s.next_in = in;
	s.avail_in = len;
	for (;;) {
		if (o->cap == o->len && (err = obuf_grow(o)) < 0) {
			*why = xz ? "xz: output larger than the limit"
				  : "lzma: output larger than the limit";
			goto out;
		}
		s.next_out = o->buf + o->len;
		s.avail_out = obuf_avail(o, SIZE_MAX);
		size_t before = s.avail_out;
		/* all input is present from the start, so always FINISH */
		ret = lzma_code(&s, LZMA_FINISH);
		o->len += before - s.avail_out;
		if (ret == LZMA_STREAM_END) {
			err = 0;
			goto out;
		}
		if (ret == LZMA_OK)
			continue;
		if (ret == LZMA_BUF_ERROR) {
			*why = xz ? "xz: truncated data" : "lzma: truncated data";
			err = -ENODATA;
		} else if (ret == LZMA_MEM_ERROR) {
			*why = xz ? "xz: out of memory" : "lzma: out of memory";
			err = -ENOMEM;
		} else if (ret == LZMA_MEMLIMIT_ERROR) {
			*why = xz ? "xz: dictionary too large"
				  : "lzma: dictionary too large";
			err = -EBADMSG;
		} else {
			*why = xz ? "xz: corrupt data" : "lzma: corrupt data";
			err = -EBADMSG;
		}
		goto out;
	}
out:
	lzma_end(&s);
	return err;
}

static int unzstd(const uint8_t *in, size_t len, struct obuf *o,
		  const char **why)
{
	ZSTD_DCtx *dc = ZSTD_createDCtx();
	ZSTD_inBuffer ib = { in, len, 0 };
	int err;

	if (!dc) {
		*why = "zstd: out of memory";
		return -ENOMEM;
	}
	for (;;) {
		if (o->cap == o->len && (err = obuf_grow(o)) < 0) {
			*why = "zstd: output larger than the limit";
			goto out;
		}
		ZSTD_outBuffer ob = { o->buf + o->len, o->cap - o->len, 0 };
		size_t ret = ZSTD_decompressStream(dc, &ob, &ib);
		o->len += ob.pos;
		if (ZSTD_isError(ret)) {
			if (ZSTD_getErrorCode(ret) == ZSTD_error_memory_allocation) {
				*why = "zstd: out of memory";
				err = -ENOMEM;
			} else {
				*why = "zstd: corrupt data";
				err = -EBADMSG;
			}
			goto out;
		}
		if (ret == 0) { /* end of the first frame: the trailer follows */
			err = 0;
			goto out;
		}
		/* zstd flushes all it can while output space remains */
		if (ib.pos == ib.size && ob.pos < ob.size) {
			*why = "zstd: truncated data";
			err = -ENODATA;
			goto out;
		}
	}
out:
	ZSTD_freeDCtx(dc);
	return err;
}

static int bunzip2(const uint8_t *in, size_t len, struct obuf *o,
		   const char **why)
{
	bz_stream s = { 0 };
	size_t in_pos = 0;
	int ret, err;

	ret = BZ2_bzDecompressInit(&s, 0, 0);
	if (ret != BZ_OK) {
		*why = "bzip2: cannot initialise libbz2";
		return ret == BZ_MEM_ERROR ? -ENOMEM : -EINVAL;
	}
	for (;;) {
		if (s.avail_in == 0 && in_pos < len) {
			s.next_in = (char *)(in + in_pos);
			s.avail_in = (unsigned)MIN(len - in_pos, (size_t)UINT_MAX);
			in_pos += s.avail_in;
		}
		if (o->cap == o->len && (err = obuf_grow(o)) < 0) {
			*why = "bzip2: output larger than the limit";
			goto out;
		}
		s.next_out = (char *)(o->buf + o->len);
		s.avail_out = (unsigned)obuf_avail(o, UINT_MAX);
		unsigned before = s.avail_out;
		ret = BZ2_bzDecompress(&s);
		o->len += before - s.avail_out;
		if (ret == BZ_STREAM_END) {
			err = 0;
			goto out;
		}
		if (ret == BZ_MEM_ERROR) {
			*why = "bzip2: out of memory";
			err = -ENOMEM;
			goto out;
		}
		if (ret != BZ_OK) {
			*why = "bzip2: corrupt data";
			err = -EBADMSG;
			goto out;
		}
		if (s.avail_in == 0 && in_pos == len && s.avail_out > 0) {
			*why = "bzip2: truncated data";
			err = -ENODATA;
			goto out;
		}
	}
out:
	BZ2_bzDecompressEnd(&s);
	return err;
}

struct lz4_block {
	size_t src;     /* offset of its compressed bytes in the input */
	uint32_t csize;
	int n;          /* what LZ4_decompress_safe returned */
};

struct lz4_job {
	const uint8_t *in;
	uint8_t *out;   /* block i inflates at out + i * LZ4_LEGACY_BLOCK */
	struct lz4_block *blocks;
	size_t nblocks;
	atomic_size_t next;
};

static void *lz4_worker(void *arg)
{
	struct lz4_job *j = arg;
	size_t i;

	while ((i = atomic_fetch_add(&j->next, 1)) < j->nblocks) {
		struct lz4_block *b = &j->blocks[i];

		b->n = LZ4_decompress_safe((const char *)j->in + b->src,
					   (char *)j->out + i * LZ4_LEGACY_BLOCK,
					   (int)b->csize, (int)LZ4_LEGACY_BLOCK);
	}
	return NULL;
}

/* CPUs this thread may run on (taskset, cgroup cpusets), at least 1. */
static unsigned usable_cpus(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return 1;
	return (unsigned)MAX(CPU_COUNT(&set), 1);
}

/*
 * The blocks of a legacy frame are independent and all but the last
 * inflate to exactly 8 MiB, so where each one's output goes is known
 * before any is decoded: they decode on several threads at once, straight
 * into place. Only that regular case is taken here; anything else (a short
 * block before the last, a bad or cut-off header, a corrupt block, too much
 * output, a second frame after a short block) returns 1 and unlz4's
 * sequential walk decodes the input again and names what is wrong, in the
 * same words as always. Returns 0 (o holds the output), 1, or never an
 * error of its own.
 */
static int unlz4_parallel(const uint8_t *in, size_t len, struct obuf *o)
{
	const size_t bound = (size_t)LZ4_compressBound(LZ4_LEGACY_BLOCK);
	struct lz4_block blocks[LZ4_MAX_BLOCKS];
	struct lz4_job job = { .in = in, .blocks = blocks };
	pthread_t tids[LZ4_MAX_THREADS - 1];
	size_t pos = sizeof(magic_lz4), n = 0, nthreads, started = 0, total;
	bool trailer = false;
	uint32_t trailer_val = 0;

	while (pos < len) {
		if (len - pos < 4)
			return 1;
		uint32_t csize = le32_get(in + pos);
		if (csize == LZ4_LEGACY_MAGIC) {
			pos += 4;
			continue;
		}
		if (len - pos == 4 && n > 0) {
			trailer = true; /* checked against the output below */
			trailer_val = csize;
			break;
		}
		pos += 4;
		if (csize == 0 || csize > bound || csize > len - pos || n == LZ4_MAX_BLOCKS)
			return 1;
		blocks[n++] = (struct lz4_block){ .src = pos, .csize = csize };
		pos += csize;
	}
	nthreads = MIN(MIN(n, (size_t)usable_cpus()), (size_t)LZ4_MAX_THREADS);
	if (nthreads < 2 || (n - 1) * LZ4_LEGACY_BLOCK >= o->limit ||
	    obuf_reserve(o, n * LZ4_LEGACY_BLOCK) < 0)
		return 1;

	job.out = o->buf;
	job.nblocks = n;
	atomic_init(&job.next, 0);
	/* a thread that cannot start leaves its blocks to the others */
	while (started < nthreads - 1 &&
	       pthread_create(&tids[started], NULL, lz4_worker, &job) == 0)
		started++;
	lz4_worker(&job);
	for (size_t i = 0; i < started; i++)
		pthread_join(tids[i], NULL);

	for (size_t i = 0; i + 1 < n; i++)
		if (blocks[i].n != (int)LZ4_LEGACY_BLOCK)
			return 1;
	if (blocks[n - 1].n < 0)
		return 1;
	total = (n - 1) * LZ4_LEGACY_BLOCK + (size_t)blocks[n - 1].n;
	if (total == 0 || total >= o->limit ||
	    (trailer && trailer_val != (uint32_t)total && trailer_val != 0 &&
	     trailer_val <= bound))
		return 1;
	o->len = total;
	return 0;
}

/*
 * LZ4 legacy frame: the magic, then blocks each led by a LE32 compressed
 * size, each inflating to at most 8 MiB. "lz4 -l" may start a new frame
 * with the magic again. The kernel appends the LE32 uncompressed size after
 * the last block, which reads like one more block header (the kernel's own
 * decompressor just drops the last 4 bytes). Here 4 dangling bytes are the
 * trailer if they equal the output size so far (mod 2^32) or cannot be a
 * block size; otherwise they are a header whose block was cut off.
 */
static int unlz4(const uint8_t *in, size_t len, struct obuf *o,
		 const char **why)
{
	const size_t bound = (size_t)LZ4_compressBound(LZ4_LEGACY_BLOCK);
	size_t pos = sizeof(magic_lz4);
	int err;

	if (unlz4_parallel(in, len, o) == 0)
		return 0;
	o->len = 0; /* what it wrote is decoded again, one block after another */

	while (pos < len) {
		if (len - pos < 4) {
			*why = "lz4: truncated block header";
			return -ENODATA;
		}
		uint32_t csize = le32_get(in + pos);
		if (csize == LZ4_LEGACY_MAGIC) {
			pos += 4;
			continue;
		}
		if (len - pos == 4 && o->len > 0 &&
		    (csize == (uint32_t)o->len || csize == 0 || csize > bound))
			break; /* the kernel's size trailer */
		pos += 4;
		if (csize == 0 || csize > bound) {
			*why = "lz4: corrupt block size";
			return -EBADMSG;
		}
		if (csize > len - pos) {
			*why = "lz4: truncated block";
			return -ENODATA;
		}
		/*
		 * A block's output size is unknown until decoded: try the
		 * room left (exact when the size trailer was right), and only
		 * if that is too small make room for a whole block.
		 */
		size_t avail = MIN(o->cap - o->len, (size_t)LZ4_LEGACY_BLOCK);
		int n = avail ? LZ4_decompress_safe((const char *)in + pos,
						    (char *)o->buf + o->len,
						    (int)csize, (int)avail)
			      : -1;
		if (n < 0 && avail < LZ4_LEGACY_BLOCK) {
			err = obuf_reserve(o, LZ4_LEGACY_BLOCK);
			if (err < 0) {
				*why = "lz4: out of memory";
				return err;
			}
			n = LZ4_decompress_safe((const char *)in + pos,
						(char *)o->buf + o->len,
						(int)csize, (int)LZ4_LEGACY_BLOCK);
		}
		if (n < 0) {
			*why = "lz4: corrupt data";
			return -EBADMSG;
		}
		o->len += (size_t)n;
		if (o->len >= o->limit) {
			*why = "lz4: output larger than the limit";
			return -EFBIG;
		}
		pos += csize;
	}
	return 0;
}

static int run(const uint8_t *in, size_t len, size_t max_out, bool mapped,
	       uint8_t **out, size_t *out_len, const char **why)
{
	const char *dummy;
	enum decomp_format fmt;
	struct obuf o = { .mapped = mapped };
	int err;

	if (!why)
		why = &dummy;
	*why = NULL;
	if (!out || !out_len || (!in && len) || max_out == 0 ||
	    max_out >= SIZE_MAX / 2) {
		*why = "decompress: bad arguments";
		return -EINVAL;
	}
	*out = NULL;
	*out_len = 0;
	fmt = decompress_detect(in, len);
	switch (fmt) {
	case DECOMP_UNKNOWN:
		*why = "unknown compression format";
		return -ENOEXEC;
	case DECOMP_LZO:
		*why = "lzo: not supported";
		return -ENOTSUP;
	case DECOMP_NONE:
		if (len > max_out) {
			*why = "uncompressed image larger than the limit";
			return -EFBIG;
		}
		if (obuf_resize(&o, len ? len : 1) < 0) {
			*why = "out of memory";
			return -ENOMEM;
		}
		memcpy(o.buf, in, len);
		*out = o.buf;
		*out_len = len;
		return 0;
	default:
		break;
	}

	err = obuf_init(&o, in, len, max_out);
	if (err < 0) {
		*why = "out of memory";
		return err;
	}
	switch (fmt) {
	case DECOMP_GZIP: err = gunzip(in, len, &o, why); break;
	case DECOMP_XZ: err = unlzma(in, len, &o, true, why); break;
	case DECOMP_LZMA: err = unlzma(in, len, &o, false, why); break;
	case DECOMP_ZSTD: err = unzstd(in, len, &o, why); break;
	case DECOMP_BZIP2: err = bunzip2(in, len, &o, why); break;
	case DECOMP_LZ4: err = unlz4(in, len, &o, why); break;
	default: err = -EINVAL; break;
	}
	if (err == 0 && o.len > max_out) {
		*why = "output larger than the limit";
		err = -EFBIG;
	}
	if (err < 0) {
		obuf_free(&o);
		return err;
	}
	/* give back the slack of a generous first guess (failing that, keep it) */
	(void)obuf_resize(&o, o.len ? o.len : 1);
	/*
	 * A decoder may write past the output it reports (LZ4_decompress_safe
	 * copies in wide strides up to its capacity): the mapping's tail after
	 * out_len is promised zero, so clear it.
	 */
	if (o.mapped)
		memset(o.buf + o.len, 0, page_up(o.len ? o.len : 1) - o.len);
	*out = o.buf;
	*out_len = o.len;
	return 0;
}

int decompress(const uint8_t *in, size_t len, size_t max_out, uint8_t **out,
	       size_t *out_len, const char **why)
{
	return run(in, len, max_out, false, out, out_len, why);
}

int decompress_map(const uint8_t *in, size_t len, size_t max_out,
		   uint8_t **out, size_t *out_len, const char **why)
{
	return run(in, len, max_out, true, out, out_len, why);
}

void decompress_unmap(uint8_t *out, size_t out_len)
{
	if (out)
		munmap(out, page_up(out_len ? out_len : 1));
}
