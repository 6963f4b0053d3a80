/*
 * Host-side decompression of a bzImage payload (or an initrd), so petrel can
 * load the kernel's vmlinux ELF directly instead of running the in-guest
 * decompressor.
 *
 * Contract: decompress() is a pure function of its input. It never trusts the
 * input: corrupt data fails with -EBADMSG, truncated data with -ENODATA, and
 * output is never allowed to grow past max_out (-EFBIG). The kernel build
 * appends the uncompressed size as LE32 after the compressed stream; it is
 * only used as a first guess for the output buffer size.
 */
#ifndef PETREL_DECOMPRESS_H
#define PETREL_DECOMPRESS_H

#include <stddef.h>
#include <stdint.h>

#include "petrel/util.h"

/* A sane cap for a decompressed kernel: today's are 30-80 MiB. */
#define DECOMPRESS_MAX_OUT (512 * MiB)

enum decomp_format {
	DECOMP_UNKNOWN = 0,
	DECOMP_NONE,  /* an uncompressed ELF (CONFIG_KERNEL_UNCOMPRESSED) */
	DECOMP_GZIP,
	DECOMP_BZIP2,
	DECOMP_LZMA,  /* lzma "alone" (.lzma) */
	DECOMP_XZ,
	DECOMP_LZO,   /* lzop: recognised, not supported */
	DECOMP_LZ4,   /* LZ4 legacy frame, as the kernel build makes it */
	DECOMP_ZSTD,
};

/* Format by magic number; DECOMP_UNKNOWN if none matches. */
enum decomp_format decompress_detect(const uint8_t *in, size_t len);

/* "gzip", "xz", ...; "unknown" for DECOMP_UNKNOWN or out-of-range values. */
const char *decompress_name(enum decomp_format f);

/*
 * Decompresses in[0..len) in whatever format decompress_detect() finds.
 * On success returns 0, *out is a malloc'd buffer the caller frees and
 * *out_len its length (DECOMP_NONE yields a copy of the input). Bytes after
 * the end of the compressed stream (the kernel's size trailer) are ignored.
 * Errors: -ENOEXEC unknown format, -ENOTSUP lzo, -EBADMSG corrupt data,
 * -ENODATA truncated data, -EFBIG output would exceed max_out, -ENOMEM,
 * -EINVAL bad arguments. On error *out is NULL, *out_len 0 and, if why is
 * not NULL, *why is a static string such as "xz: corrupt data".
 */
int decompress(const uint8_t *in, size_t len, size_t max_out, uint8_t **out,
	       size_t *out_len, const char **why);

/*
 * The same, but *out is a private anonymous mapping of its own (page-
 * aligned, out_len rounded up to whole pages, the slack zero), freed with
 * decompress_unmap(). Its whole pages can be moved into guest RAM with
 * mremap instead of copied (boot_plan_own_map): for a 50 MiB kernel that
 * saves a copy and ~12800 page faults at every start.
 */
int decompress_map(const uint8_t *in, size_t len, size_t max_out,
		   uint8_t **out, size_t *out_len, const char **why);
void decompress_unmap(uint8_t *out, size_t out_len);

#endif
