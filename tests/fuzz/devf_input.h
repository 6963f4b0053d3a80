/*
 * The input format the port and register fuzz targets share (fuzz_serial8250,
 * fuzz_i8042, fuzz_rtc, fuzz_acpi_pm, fuzz_pci_host), and their seed
 * generator (mkseeds_devices.c): a stream of 8-byte records
 *
 *   u8 op     what to do; each target says what op % N means
 *   u8 sz     access size: 1, 2, 4 or 8 by sz & 3; the upper bits are the
 *             target's (for example "any offset, not only the registers")
 *   u16 off   offset inside the device's range (little-endian)
 *   u32 val   value written, or the argument of a non-access op (LE)
 *
 * A trailing partial record is ignored.
 */
#ifndef FUZZ_DEVF_INPUT_H
#define FUZZ_DEVF_INPUT_H

#include <stddef.h>
#include <stdint.h>

#include "fuzz_check.h"

#define DEVF_REC 8

struct devf_rec {
	uint8_t op, sz;
	uint16_t off;
	uint32_t val;
};

static inline unsigned devf_size(uint8_t sz)
{
	static const unsigned sizes[4] = { 1, 2, 4, 8 };

	return sizes[sz & 3];
}

/* The i-th record of data (the caller keeps i < size / DEVF_REC). */
static inline struct devf_rec devf_get(const uint8_t *data, size_t i)
{
	const uint8_t *p = data + i * DEVF_REC;

	return (struct devf_rec){
		p[0], p[1], (uint16_t)(p[2] | p[3] << 8),
		(uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 |
			(uint32_t)p[7] << 24,
	};
}

#endif
