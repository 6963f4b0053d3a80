/*
 * bzImage header parsing. The image is untrusted input (a user may pass any
 * file as --kernel), so each field is checked before it is used as an offset
 * or a length, in 64-bit arithmetic so no sum of 32-bit fields can wrap.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "petrel/bzimage.h"
#include "petrel/util.h"

#define OFF_BOOT_FLAG 0x1fe
#define OFF_JUMP 0x200    /* "jmp short": its offset byte ends the header */
#define OFF_MAGIC 0x202
#define OFF_VERSION 0x206
#define BOOT_FLAG 0xaa55
#define HDRS_MAGIC 0x53726448 /* "HdrS" */

/* Header bytes (from 0x1f1) needed to hold a field. */
#define HDR_END(f)                                                            \
	(offsetof(struct setup_header, f) +                                   \
	 sizeof(((struct setup_header *)0)->f))

bool bzimage_probe(const uint8_t *img, size_t len)
{
	return img && len >= OFF_MAGIC + 4 &&
	       le16_get(img + OFF_BOOT_FLAG) == BOOT_FLAG &&
	       le32_get(img + OFF_MAGIC) == HDRS_MAGIC;
}

/* Header length the protocol version promises: later fields must exist. */
static size_t hdr_len_needed(uint16_t version)
{
	if (version >= 0x020a)
		return HDR_END(init_size);
	if (version >= 0x0208)
		return HDR_END(payload_length);
	return HDR_END(cmdline_size);
}

static int fail(const char **why, const char *reason, int err)
{
	if (why)
		*why = reason;
	return err;
}

int bzimage_parse(const uint8_t *img, size_t len, struct bzimage *out,
		  const char **why)
{
	const struct setup_header *h = &out->hdr;
	size_t hdr_end, setup_sects;
	uint64_t pm_len;

	memset(out, 0, sizeof(*out));
	if (why)
		*why = NULL;
	if (!img || len < OFF_MAGIC + 4)
		return fail(why, "not a bzImage: file too short", -ENOEXEC);
	if (le16_get(img + OFF_BOOT_FLAG) != BOOT_FLAG)
		return fail(why, "not a bzImage: no 0xAA55 boot flag", -ENOEXEC);
	if (le32_get(img + OFF_MAGIC) != HDRS_MAGIC)
		return fail(why, "not a bzImage: no HdrS magic", -ENOEXEC);
	if (len < OFF_VERSION + 2)
		return fail(why, "bzImage truncated in the setup header",
			    -EINVAL);
	out->version = le16_get(img + OFF_VERSION);
	if (out->version < BZIMAGE_MIN_VERSION)
		return fail(why, "boot protocol too old (need 2.06)", -ENOEXEC);

	/* The header ends where the jump at 0x200 lands. */
	hdr_end = OFF_MAGIC + img[OFF_JUMP + 1];
	if (hdr_end > len)
		return fail(why, "bzImage truncated in the setup header",
			    -EINVAL);
	/* Newer kernels may have fields we do not know: copy what we know. */
	out->hdr_len = MIN(hdr_end - BZIMAGE_HDR_OFFSET,
			   sizeof(struct setup_header));
	memcpy(&out->hdr, img + BZIMAGE_HDR_OFFSET, out->hdr_len);
	if (out->hdr_len < hdr_len_needed(out->version))
		return fail(why, "setup header shorter than its boot protocol "
			    "version requires", -EINVAL);
	if (!(h->loadflags & LOADED_HIGH))
		return fail(why, "not a bzImage: zImage (not LOADED_HIGH)",
			    -ENOEXEC);

	setup_sects = h->setup_sects ? h->setup_sects : 4;
	out->setup_size = (setup_sects + 1) * 512;
	if (out->setup_size > len)
		return fail(why, "bzImage truncated in the setup code", -EINVAL);

	/*
	 * syssize, not the file size: signed kernels carry a signature after
	 * the protected-mode code.
	 */
	pm_len = (uint64_t)h->syssize * 16;
	if (pm_len == 0)
		return fail(why, "bzImage has no protected-mode kernel "
			    "(syssize 0)", -EINVAL);
	if (pm_len > len - out->setup_size)
		return fail(why, "protected-mode kernel runs past end of file",
			    -EINVAL);
	out->pm = img + out->setup_size;
	out->pm_len = (size_t)pm_len;

	if (out->version >= 0x020a &&
	    (h->kernel_alignment == 0 ||
	     (h->kernel_alignment & (h->kernel_alignment - 1))))
		return fail(why, "kernel_alignment is not a power of two",
			    -EINVAL);

	if (out->version >= 0x0208 && h->payload_length) {
		if ((uint64_t)h->payload_offset + h->payload_length > pm_len)
			return fail(why, "payload runs past end of file",
				    -EINVAL);
		out->payload = out->pm + h->payload_offset;
		out->payload_len = h->payload_length;
	}
	/* xloadflags exists since 2.12; before, those bytes meant else. */
	out->kernel_64 = out->version >= 0x020c &&
			 (h->xloadflags & XLF_KERNEL_64);
	return 0;
}

int bzimage_load_pm(const struct bzimage *bz, const struct guest_mem *m,
		    gpa_t addr, const char **why)
{
	uint64_t need;

	if (why)
		*why = NULL;
	if (!bz->pm || !bz->pm_len)
		return fail(why, "bzImage not parsed", -EINVAL);
	/* init_size covers the decompressor's buffers and the kernel's bss */
	need = bz->pm_len;
	if (bz->version >= 0x020a)
		need = MAX(need, (uint64_t)bz->hdr.init_size);
	if (!gpa_ptr(m, addr, need))
		return fail(why, "kernel (init_size) does not fit in guest RAM "
			    "at the load address", -ENOSPC);
	return gpa_write(m, addr, bz->pm, bz->pm_len);
}
