#include <string.h>

#include "petrel/aml.h"

#define AML_SCOPE_OP 0x10
#define AML_NAME_OP 0x08
#define AML_BUFFER_OP 0x11
#define AML_PACKAGE_OP 0x12
#define AML_EXT_PREFIX 0x5b
#define AML_DEVICE_OP 0x82
#define AML_ZERO_OP 0x00
#define AML_ONE_OP 0x01
#define AML_ONES_OP 0xff
#define AML_BYTE_PREFIX 0x0a
#define AML_WORD_PREFIX 0x0b
#define AML_DWORD_PREFIX 0x0c
#define AML_QWORD_PREFIX 0x0e
#define AML_STRING_PREFIX 0x0d
#define AML_ROOT_CHAR '\\'

/* A PkgLength takes 1 to 4 bytes; the body is moved up once its size is known. */
#define PKGLEN_MAX 4

void aml_init(struct aml *a, uint8_t *buf, size_t cap)
{
	*a = (struct aml){ .buf = buf, .cap = cap };
}

size_t aml_len(const struct aml *a)
{
	return a->overflow ? 0 : a->len;
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (a->overflow || n > a->cap - a->len) {
		a->overflow = true;
		return;
	}
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

void aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

static void le(struct aml *a, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		aml_byte(a, (uint8_t)(v >> (8 * i)));
}

/* A NameSeg is exactly four characters; shorter names are padded with '_'. */
static void name_seg(struct aml *a, const char *seg)
{
	char s[4] = { '_', '_', '_', '_' };
	size_t n = strlen(seg);

	memcpy(s, seg, n < 4 ? n : 4);
	aml_bytes(a, s, 4);
}

/* Reserves room for the PkgLength; the handle is where it will go. */
static size_t open_pkg(struct aml *a)
{
	size_t at = a->len;
	static const uint8_t room[PKGLEN_MAX];

	aml_bytes(a, room, PKGLEN_MAX);
	return at;
}

void aml_close(struct aml *a, size_t at)
{
	size_t body, total, extra;
	uint8_t enc[PKGLEN_MAX];

	if (a->overflow)
		return;
	body = a->len - at - PKGLEN_MAX;
	/* the encoded length counts its own bytes too */
	if (body + 1 <= 0x3f) {
		extra = 0;
		total = body + 1;
		enc[0] = (uint8_t)total;
	} else {
		extra = body + 2 <= 0xfff ? 1 : body + 3 <= 0xfffff ? 2 : 3;
		total = body + 1 + extra;
		if (total > 0xfffffff) {
			a->overflow = true;
			return;
		}
		enc[0] = (uint8_t)(extra << 6 | (total & 0xf));
		for (size_t i = 1; i <= extra; i++)
			enc[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	}
	memmove(a->buf + at + 1 + extra, a->buf + at + PKGLEN_MAX, body);
	memcpy(a->buf + at, enc, 1 + extra);
	a->len = at + 1 + extra + body;
}

size_t aml_scope_open(struct aml *a, const char *name_string)
{
	size_t h;

	aml_byte(a, AML_SCOPE_OP);
	h = open_pkg(a);
	if (name_string[0] == AML_ROOT_CHAR) {
		aml_byte(a, AML_ROOT_CHAR);
		name_string++;
	}
	name_seg(a, name_string);
	return h;
}

size_t aml_device_open(struct aml *a, const char *seg)
{
	size_t h;

	aml_byte(a, AML_EXT_PREFIX);
	aml_byte(a, AML_DEVICE_OP);
	h = open_pkg(a);
	name_seg(a, seg);
	return h;
}

/*
 * Buffer: BufferOp PkgLength BufferSize ByteList. The size is only known at
 * the close, so it is reserved here as a WordConst (any integer encoding is
 * valid for BufferSize) and filled in by aml_buffer_close().
 */
size_t aml_buffer_open(struct aml *a)
{
	static const uint8_t room[3];
	size_t h;

	aml_byte(a, AML_BUFFER_OP);
	h = open_pkg(a);
	aml_bytes(a, room, sizeof(room));
	return h;
}

void aml_buffer_close(struct aml *a, size_t at)
{
	size_t n;
	uint8_t *size;

	if (a->overflow)
		return;
	n = a->len - (at + PKGLEN_MAX + 3);
	if (n > 0xffff) {
		a->overflow = true;
		return;
	}
	size = a->buf + at + PKGLEN_MAX;
	size[0] = AML_WORD_PREFIX;
	size[1] = (uint8_t)n;
	size[2] = (uint8_t)(n >> 8);
	aml_close(a, at);
}

size_t aml_package_open(struct aml *a, uint8_t nelems)
{
	size_t h;

	aml_byte(a, AML_PACKAGE_OP);
	h = open_pkg(a);
	aml_byte(a, nelems);
	return h;
}

void aml_name(struct aml *a, const char *seg)
{
	aml_byte(a, AML_NAME_OP);
	name_seg(a, seg);
}

void aml_integer(struct aml *a, uint64_t v)
{
	if (v == 0)
		aml_byte(a, AML_ZERO_OP);
	else if (v == 1)
		aml_byte(a, AML_ONE_OP);
	else if (v <= 0xff)
		aml_byte(a, AML_BYTE_PREFIX), le(a, v, 1);
	else if (v <= 0xffff)
		aml_byte(a, AML_WORD_PREFIX), le(a, v, 2);
	else if (v <= 0xffffffff)
		aml_byte(a, AML_DWORD_PREFIX), le(a, v, 4);
	else
		aml_byte(a, AML_QWORD_PREFIX), le(a, v, 8);
}

void aml_dword(struct aml *a, uint32_t v)
{
	aml_byte(a, AML_DWORD_PREFIX);
	le(a, v, 4);
}

void aml_string(struct aml *a, const char *s)
{
	aml_byte(a, AML_STRING_PREFIX);
	aml_bytes(a, s, strlen(s) + 1);
}

uint32_t aml_eisaid(const char *id)
{
	/* three letters, 5 bits each, then four hex digits; big-endian words */
	uint16_t vendor = (uint16_t)((id[0] - 0x40) << 10 | (id[1] - 0x40) << 5 |
				     (id[2] - 0x40));
	uint16_t product = 0;

	for (int i = 3; i < 7; i++) {
		char c = id[i];
		product = (uint16_t)(product << 4 |
				     (c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10));
	}
	return (uint32_t)(vendor >> 8) | (uint32_t)(vendor & 0xff) << 8 |
	       (uint32_t)(product >> 8) << 16 | (uint32_t)(product & 0xff) << 24;
}

/* Resource descriptors (ACPI 6.4, 6.4.2 small and 6.4.3 large). */
#define RES_IO 0x47
#define RES_END 0x79
#define RES_MEM32_FIXED 0x86
#define RES_DWORD 0x87
#define RES_EXT_IRQ 0x89
#define RES_WORD 0x88
#define SPACE_MEM 0
#define SPACE_IO 1
#define SPACE_BUS 2
/* general flags: producer, positive decode, min and max fixed */
#define ADDR_FIXED_PRODUCER 0x0c

void aml_res_io(struct aml *a, uint16_t min, uint16_t max, uint8_t align,
		uint8_t len)
{
	aml_byte(a, RES_IO);
	aml_byte(a, 1); /* decodes 16 address lines */
	le(a, min, 2);
	le(a, max, 2);
	aml_byte(a, align);
	aml_byte(a, len);
}

static void word_space(struct aml *a, uint8_t type, uint8_t tflags,
		       uint16_t min, uint16_t max)
{
	aml_byte(a, RES_WORD);
	le(a, 13, 2);
	aml_byte(a, type);
	aml_byte(a, ADDR_FIXED_PRODUCER);
	aml_byte(a, tflags);
	le(a, 0, 2);                         /* granularity */
	le(a, min, 2);
	le(a, max, 2);
	le(a, 0, 2);                         /* translation offset */
	le(a, (uint32_t)max - min + 1, 2);   /* length */
}

void aml_res_word_bus(struct aml *a, uint16_t min, uint16_t max)
{
	word_space(a, SPACE_BUS, 0, min, max);
}

void aml_res_word_io(struct aml *a, uint16_t min, uint16_t max)
{
	word_space(a, SPACE_IO, 3 /* ISA and non-ISA ranges */, min, max);
}

void aml_res_dword_mem(struct aml *a, uint32_t min, uint32_t max,
		       bool cacheable)
{
	aml_byte(a, RES_DWORD);
	le(a, 23, 2);
	aml_byte(a, SPACE_MEM);
	aml_byte(a, ADDR_FIXED_PRODUCER);
	aml_byte(a, (uint8_t)(1 | (cacheable ? 1 << 1 : 0))); /* read/write */
	le(a, 0, 4);
	le(a, min, 4);
	le(a, max, 4);
	le(a, 0, 4);
	le(a, (uint64_t)max - min + 1, 4);
}

void aml_res_mem32_fixed(struct aml *a, bool writable, uint32_t base,
			 uint32_t len)
{
	aml_byte(a, RES_MEM32_FIXED);
	le(a, 9, 2);
	aml_byte(a, writable ? 1 : 0);
	le(a, base, 4);
	le(a, len, 4);
}

/*
 * Large item 0x89 with one interrupt and no resource source. Flags bit 0
 * says consumer: a device's own interrupt, which is all petrel describes.
 */
void aml_res_interrupt(struct aml *a, unsigned flags, uint32_t gsi)
{
	aml_byte(a, RES_EXT_IRQ);
	le(a, 6, 2);
	aml_byte(a, (uint8_t)(1 | (flags & (AML_IRQ_EDGE | AML_IRQ_ACTIVE_LOW |
					    AML_IRQ_SHARED))));
	aml_byte(a, 1); /* interrupt table length */
	le(a, gsi, 4);
}

void aml_res_end(struct aml *a)
{
	aml_byte(a, RES_END);
	aml_byte(a, 0); /* checksum 0: "treat as correct" */
}
