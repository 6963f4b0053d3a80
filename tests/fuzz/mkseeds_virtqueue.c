/*
 * Writes the seed corpus of fuzz_virtqueue (tests/fuzz/corpus/fuzz_virtqueue/):
 * a few small rings, good and hostile, in the format of virtqueue_input.h.
 * The seeds are committed; rerun this only when the format changes:
 *   cc -Iinclude -Itests/fuzz -o /tmp/mkseeds tests/fuzz/mkseeds_virtqueue.c
 *   /tmp/mkseeds tests/fuzz/corpus/fuzz_virtqueue
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <linux/virtio_ring.h>

#include "virtqueue_input.h"

/* one seed: header, ops, and the first RAM_LEN bytes of RAM */
#define RAM_LEN 0x800
#define DESC 0x000 /* room for 16 descriptors */
#define AVAIL 0x100
#define USED 0x200
#define TABLE 0x300 /* an indirect table */
#define BUF 0x400

struct seed {
	uint8_t hdr[VQF_HDR_SIZE];
	uint8_t ops[4 * 32];
	unsigned nops;
	uint8_t ram[RAM_LEN];
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static void seed_init(struct seed *s, unsigned size_log2, unsigned features)
{
	memset(s, 0, sizeof(*s));
	s->hdr[0] = (uint8_t)size_log2;
	s->hdr[1] = (uint8_t)features;
	s->hdr[2] = 16; /* iovecs per element */
	put32(s->hdr + 4, DESC);
	put32(s->hdr + 8, AVAIL);
	put32(s->hdr + 12, USED);
}

static void desc(struct seed *s, unsigned table, unsigned i, uint64_t gpa,
		 uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t *d = s->ram + table + 16 * i;

	put64(d, gpa);
	put32(d + 8, len);
	put16(d + 12, flags);
	put16(d + 14, next);
}

/* the driver made heads[0..n) available in the image */
static void avail(struct seed *s, const uint16_t *heads, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		put16(s->ram + AVAIL + 4 + 2 * i, heads[i]);
	put16(s->ram + AVAIL + 2, (uint16_t)n);
}

static void op(struct seed *s, uint8_t o, uint8_t a, uint8_t b, uint8_t c)
{
	uint8_t *p = s->ops + 4 * s->nops++;

	p[0] = o;
	p[1] = a;
	p[2] = b;
	p[3] = c;
}

static int seed_write(struct seed *s, const char *dir, const char *name)
{
	char path[4096];
	FILE *f;

	s->hdr[3] = (uint8_t)s->nops;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(s->hdr, sizeof(s->hdr), 1, f) != 1 ||
	    (s->nops && fwrite(s->ops, 4 * s->nops, 1, f) != 1) ||
	    fwrite(s->ram, sizeof(s->ram), 1, f) != 1) {
		perror(path);
		return 1;
	}
	return fclose(f) != 0;
}

#define G(off) (VQF_RAM_GPA + (off))

int main(int argc, char **argv)
{
	static struct seed s;
	const uint16_t h0[] = { 0 }, h01[] = { 0, 1 };
	int err = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	/* one readable descriptor */
	seed_init(&s, 2, 0);
	desc(&s, DESC, 0, G(BUF), 64, 0, 0);
	avail(&s, h0, 1);
	op(&s, VQF_OP_POP_PROCESS, 0, 4, 0);
	op(&s, VQF_OP_NOTIFY, 0, 0, 0);
	err |= seed_write(&s, argv[1], "one-desc");

	/* readable then writable, EVENT_IDX, kicks and interrupts */
	seed_init(&s, 3, 1);
	desc(&s, DESC, 0, G(BUF), 16, VRING_DESC_F_NEXT, 1);
	desc(&s, DESC, 1, G(BUF + 0x100), 256, VRING_DESC_F_WRITE, 0);
	avail(&s, h0, 1);
	op(&s, VQF_OP_DISABLE_KICK, 0, 0, 0);
	op(&s, VQF_OP_POP_HOLD, 0, 0, 0);
	op(&s, VQF_OP_ENABLE_KICK, 0, 0, 0);
	op(&s, VQF_OP_AVAIL_ADD, 0, 0, 0);
	op(&s, VQF_OP_COMPLETE, 4, 2, 0);
	op(&s, VQF_OP_NOTIFY, 0, 0, 0);
	op(&s, VQF_OP_POP_PROCESS, 0, 16, 0);
	op(&s, VQF_OP_NOTIFY, 0, 0, 0);
	err |= seed_write(&s, argv[1], "rw-event-idx");

	/* an indirect table of three */
	seed_init(&s, 2, 2);
	desc(&s, TABLE, 0, G(BUF), 8, VRING_DESC_F_NEXT, 1);
	desc(&s, TABLE, 1, G(BUF + 8), 8, VRING_DESC_F_NEXT, 2);
	desc(&s, TABLE, 2, G(BUF + 0x100), 32, VRING_DESC_F_WRITE, 0);
	desc(&s, DESC, 1, G(TABLE), 48, VRING_DESC_F_INDIRECT, 0);
	{
		const uint16_t h[] = { 1 };
		avail(&s, h, 1);
	}
	op(&s, VQF_OP_POP_PROCESS, 0, 2, 0);
	err |= seed_write(&s, argv[1], "indirect");

	/* a loop, then a good chain */
	seed_init(&s, 2, 0);
	desc(&s, DESC, 0, G(BUF), 8, VRING_DESC_F_NEXT, 1);
	desc(&s, DESC, 1, G(BUF), 8, VRING_DESC_F_NEXT, 0);
	desc(&s, DESC, 2, G(BUF), 8, 0, 0);
	{
		const uint16_t h[] = { 0, 2 };
		avail(&s, h, 2);
	}
	err |= seed_write(&s, argv[1], "loop");

	/* a buffer across the boundary of the two RAM regions */
	seed_init(&s, 1, 0);
	desc(&s, DESC, 0, G(VQF_REGION_SIZE - 8), 16, 0, 0);
	desc(&s, DESC, 1, G(VQF_REGION_SIZE), 16, VRING_DESC_F_WRITE, 0);
	avail(&s, h01, 2);
	err |= seed_write(&s, argv[1], "cross-region");

	/* a nested indirect table, a readable after a writable */
	seed_init(&s, 2, 3);
	desc(&s, TABLE, 0, G(TABLE + 0x40), 16, VRING_DESC_F_INDIRECT, 0);
	desc(&s, DESC, 0, G(TABLE), 16, VRING_DESC_F_INDIRECT, 0);
	desc(&s, DESC, 1, G(BUF), 8, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2);
	desc(&s, DESC, 2, G(BUF), 8, 0, 0);
	avail(&s, h01, 2);
	op(&s, VQF_OP_DRAIN, 0, 1, 0);
	op(&s, VQF_OP_RESTART, 0, 0, 3);
	op(&s, VQF_OP_POKE, 0, 0, 1);
	op(&s, VQF_OP_DRAIN, 0, 1, 0);
	err |= seed_write(&s, argv[1], "hostile-mix");
	return err;
}
