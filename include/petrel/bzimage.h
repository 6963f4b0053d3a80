/*
 * x86 bzImage parsing, per the Linux x86 boot protocol
 * (Documentation/arch/x86/boot.rst).
 *
 * Contract: bzimage_parse() only reads the caller's buffer and never outside
 * [img, img+len); every offset the header claims is checked against len
 * before use. The pointers it returns point into img, so img must outlive
 * the struct bzimage. Errors:
 *   -ENOEXEC  not a bzImage petrel can boot (no magic, protocol < 2.06,
 *             not loaded high: an old zImage)
 *   -EINVAL   claims to be a bzImage but is truncated or inconsistent
 * and, if why is not NULL, *why is a static explanation such as
 * "not a bzImage: no HdrS magic". On failure the fields filled so far stay
 * (e.g. version, so a caller can print the protocol it found).
 */
#ifndef PETREL_BZIMAGE_H
#define PETREL_BZIMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <asm/bootparam.h>

#include "petrel/memory.h"

/* The setup header lives at this offset in the image and in boot_params. */
#define BZIMAGE_HDR_OFFSET 0x1f1
#define BZIMAGE_MIN_VERSION 0x0206 /* cmdline_size, the 2.06 header */

struct bzimage {
	/*
	 * The setup header as found in the image; bytes past hdr_len are 0.
	 * A boot_params builder copies hdr_len bytes of it into
	 * boot_params.hdr and then fills in the loader's fields.
	 */
	struct setup_header hdr;
	size_t hdr_len;
	uint16_t version;      /* boot protocol, 0x020f is 2.15 */
	size_t setup_size;     /* real-mode part: (setup_sects + 1) * 512 */
	const uint8_t *pm;     /* protected-mode kernel: syssize * 16 bytes */
	size_t pm_len;
	const uint8_t *payload; /* compressed vmlinux (>= 2.08), or NULL */
	size_t payload_len;
	bool kernel_64;        /* XLF_KERNEL_64: has the 64-bit entry point */
};

/* Quick check for the boot flag and the "HdrS" magic. */
bool bzimage_probe(const uint8_t *img, size_t len);

/* 0, -ENOEXEC or -EINVAL; see above. */
int bzimage_parse(const uint8_t *img, size_t len, struct bzimage *out,
		  const char **why);

/*
 * Copies the protected-mode kernel to guest-physical addr, for the classic
 * path where the kernel decompresses itself in the guest. The kernel needs
 * init_size bytes (>= 2.10; else pm_len) of RAM from addr: -ENOSPC if that
 * is not all RAM.
 */
int bzimage_load_pm(const struct bzimage *bz, const struct guest_mem *m,
		    gpa_t addr, const char **why);

#endif
