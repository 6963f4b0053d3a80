/* Small helpers shared by every module. No state lives here. */
#ifndef PETREL_UTIL_H
#define PETREL_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define KiB (1024ULL)
#define MiB (1024ULL * KiB)
#define GiB (1024ULL * MiB)

#define ALIGN_UP(x, a) (((x) + ((a) - 1)) & ~((uint64_t)(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((uint64_t)(a) - 1))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/*
 * Messages go to stderr with a "petrel: " prefix so they never mix with the
 * guest console on stdout. The console may be in raw mode, so each message
 * ends in "\r\n" (a bare "\n" would stair-step on a raw terminal).
 */
void pt_log(const char *level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
#define pt_err(...) pt_log("error", __VA_ARGS__)
#define pt_warn(...) pt_log("warning", __VA_ARGS__)
#define pt_info(...) pt_log(NULL, __VA_ARGS__)

/* Reads a whole file; returns 0 or -errno. *buf is malloc'd. */
int read_file(const char *path, uint8_t **buf, size_t *len, size_t max_len);
/*
 * The same into a private anonymous mapping of its own (page-aligned; free
 * with munmap(*buf, *len ? *len : 1)), whose whole pages a boot plan can
 * move into guest RAM rather than copy (boot_plan_own_map).
 */
int read_file_map(const char *path, uint8_t **buf, size_t *len, size_t max_len);

/* Little-endian loads and stores that do not care about alignment. */
static inline uint16_t le16_get(const void *p)
{
	const uint8_t *b = p;
	return (uint16_t)(b[0] | b[1] << 8);
}
static inline uint32_t le32_get(const void *p)
{
	const uint8_t *b = p;
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	       (uint32_t)b[3] << 24;
}
static inline uint64_t le64_get(const void *p)
{
	const uint8_t *b = p;
	return (uint64_t)le32_get(b) | (uint64_t)le32_get(b + 4) << 32;
}

/*
 * The byte that makes the bytes of [p, p+len) sum to zero mod 256: the
 * checksum of ACPI tables and MP table structures alike.
 */
static inline uint8_t checksum8(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (len--)
		sum += *b++;
	return (uint8_t)(0 - sum);
}

#endif
