/*
 * libFuzzer target for the host-side decompressors (src/boot/decompress.c):
 * gzip (zlib), bzip2 (libbz2), lzma-alone and xz (liblzma), lz4's legacy
 * frame as the kernel build writes it (petrel's own block loop and its
 * guess at the size trailer), zstd, the uncompressed-ELF copy and the lzo
 * refusal; each with the kernel's LE32 size trailer, true or lying, which
 * sizes the first output buffer.
 *
 * Input: [0] the format: its magic number is put in front of the rest, so
 * mutations go into the stream rather than break the magic (8 formats;
 * values 8-255 take the rest as it is, magic included or not);
 * [1] the output limit: 1 KiB << (b % 12) (1 KiB .. 2 MiB: the limit is
 * what bounds a decompression bomb, and a small one keeps the executions
 * fast; DECOMPRESS_MAX_OUT is the same code with a larger number),
 * [2..] the data.
 *
 * Checked: decompress() and decompress_map() (what linux_boot.c uses)
 * return the same result and the same bytes; a success is at most the
 * limit; a failure is one of the documented -errno values with a reason,
 * leaves *out NULL and *out_len 0; ASan sees no overflow or leak, and
 * every mapping is given back (decompress_unmap).
 *
 * Seeds (tests/fuzz/mkseeds_loaders.py): a small ELF compressed by gzip,
 * bzip2, lzma, xz, lz4 -l and zstd with the kernel's trailer, and copies
 * with a lying trailer (too small, too large, zero), truncated, and
 * concatenated streams.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "loader_input.h"
#include "petrel/decompress.h"

static const struct {
	const uint8_t *magic;
	size_t len;
} magics[8] = {
	{ (const uint8_t *)"\x1f\x8b", 2 },
	{ (const uint8_t *)"BZh", 3 },
	{ (const uint8_t *)"\x5d\x00\x00", 3 },
	{ (const uint8_t *)"\xfd" "7zXZ\x00", 6 },
	{ (const uint8_t *)"\x89LZO\x00\x0d\x0a\x1a\x0a", 9 },
	{ (const uint8_t *)"\x02\x21\x4c\x18", 4 },
	{ (const uint8_t *)"\x28\xb5\x2f\xfd", 4 },
	{ (const uint8_t *)"\x7f" "ELF", 4 },
};

static uint8_t *buf;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	loader_quiet_init(argc, argv);
	return 0;
}

static bool documented(int err)
{
	return err == -ENOEXEC || err == -ENOTSUP || err == -EBADMSG ||
	       err == -ENODATA || err == -EFBIG || err == -ENOMEM ||
	       err == -EINVAL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *why = NULL, *why_map = NULL;
	uint8_t *out = (uint8_t *)1, *map = (uint8_t *)1;
	size_t out_len = 1, map_len = 1, len, max_out;
	const uint8_t *in;
	int r, r_map;

	if (size < 2)
		return 0;
	max_out = (size_t)KiB << (data[1] % 12);
	if (data[0] < 8) {
		size_t ml = magics[data[0]].len;

		len = ml + size - 2;
		buf = realloc(buf, len);
		CHECK(buf);
		memcpy(buf, magics[data[0]].magic, ml);
		memcpy(buf + ml, data + 2, size - 2);
		in = buf;
	} else {
		in = data + 2;
		len = size - 2;
	}

	r = decompress(in, len, max_out, &out, &out_len, &why);
	r_map = decompress_map(in, len, max_out, &map, &map_len, &why_map);
	CHECK(r == r_map);
	if (r < 0) {
		CHECK(documented(r) && why && why_map);
		CHECK(!out && !out_len && !map && !map_len);
		return 0;
	}
	CHECK(r == 0 && out && map && out_len <= max_out && out_len == map_len);
	CHECK(!memcmp(out, map, out_len));
	if (decompress_detect(in, len) == DECOMP_NONE)
		CHECK(out_len == len && !memcmp(out, in, len));
	/* the mapping's slack up to the page is zero */
	for (size_t i = out_len; i % 4096; i++)
		CHECK(map[i] == 0);
	free(out);
	decompress_unmap(map, map_len);
	return 0;
}
