/*
 * Writes the seed corpora of fuzz_virtio_rng and fuzz_virtio_console
 * (vqf_input.h) into DIR/fuzz_<target>/: what their Linux drivers post.
 *   cc -Iinclude -Itests/fuzz -o /tmp/mkseeds tests/fuzz/mkseeds_vqf.c &&
 *   /tmp/mkseeds tests/fuzz/corpus
 */
#include <linux/virtio_ring.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "vqf_input.h"

#define MAX_OPS 16
static uint8_t in[VQF_HDR_SIZE + MAX_OPS * VQF_OP_SIZE + VQF_DATA + 0x400];
static unsigned nops;
static int failed;

static uint8_t *ram(void)
{
	return in + VQF_HDR_SIZE + MAX_OPS * VQF_OP_SIZE;
}

static void op(uint8_t o, uint8_t a, uint8_t b, uint8_t c)
{
	uint8_t *p = in + VQF_HDR_SIZE + nops++ * VQF_OP_SIZE;

	p[0] = o, p[1] = a, p[2] = b, p[3] = c;
}

/* Descriptor i of queue q; with next, chained to i + 1. */
static void desc(unsigned q, unsigned i, uint32_t addr, uint32_t len, uint16_t flags)
{
	struct vring_desc *d = (struct vring_desc *)(ram() + VQF_DESC(q));

	d[i] = (struct vring_desc){ addr, len, flags, (uint16_t)(i + 1) };
}

static void avail(unsigned q, unsigned slot, uint16_t head, uint16_t idx)
{
	struct vring_avail *a = (struct vring_avail *)(ram() + VQF_AVAIL(q));

	a->ring[slot] = head;
	a->idx = idx;
}

static void emit(const char *dir, const char *target, const char *name, uint8_t features)
{
	char path[512];
	size_t len = sizeof(in);
	FILE *f;

	in[0] = 6; /* 64 entries */
	in[1] = features;
	in[2] = MAX_OPS; /* unused records are op 0 with zero args */
	in[3] = 0;
	/* RAM past the input reads zero: the trailing zeros need not be there */
	while (len > VQF_HDR_SIZE + nops * VQF_OP_SIZE && !in[len - 1])
		len--;
	snprintf(path, sizeof(path), "%s/%s/%s", dir, target, name);
	f = fopen(path, "wb");
	if (!f || fwrite(in, 1, len, f) != len || fclose(f)) {
		perror(path);
		failed = 1;
	}
	memset(in, 0, sizeof(in));
	nops = 0;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	/* rng: two requests, one split over two buffers, then a third */
	desc(0, 0, VQF_DATA, 64, VRING_DESC_F_WRITE);
	desc(0, 1, VQF_DATA + 0x100, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT);
	desc(0, 2, VQF_DATA + 0x200, 16, VRING_DESC_F_WRITE);
	avail(0, 0, 0, 1), avail(0, 1, 1, 2);
	op(0, 0, 0, 0), op(1, 0x02, 0x10, 3), op(1, 0x04, 0x10, 0), op(0, 0, 0, 0);
	emit(argv[1], "fuzz_virtio_rng", "two-requests", 1);
	/* rng: an indirect table, and a chain with nothing writable */
	desc(0, 0, VQF_DATA + 0x300, 32, VRING_DESC_F_INDIRECT);
	desc(0, 1, VQF_DATA, 8, 0);
	{
		struct vring_desc *t = (struct vring_desc *)(ram() + VQF_DATA + 0x300);

		t[0] = (struct vring_desc){ VQF_DATA, 32, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1 };
		t[1] = (struct vring_desc){ VQF_DATA + 0x40, 32, VRING_DESC_F_WRITE, 0 };
	}
	avail(0, 0, 0, 1), avail(0, 1, 1, 2);
	op(0, 0, 0, 0), op(2, 0, 0, 0), op(0, 0, 0, 0);
	emit(argv[1], "fuzz_virtio_rng", "indirect-reset", 3);

	/* console: receive buffers, host input, output through a slow sink */
	desc(0, 0, VQF_DATA, 16, VRING_DESC_F_WRITE);
	desc(0, 1, VQF_DATA + 0x100, 16, VRING_DESC_F_WRITE);
	avail(0, 0, 0, 1), avail(0, 1, 1, 2);
	desc(1, 0, VQF_DATA + 0x200, 12, VRING_DESC_F_NEXT);
	desc(1, 1, VQF_DATA + 0x280, 8, 0);
	memcpy(ram() + VQF_DATA + 0x200, "hello, world", 12);
	memcpy(ram() + VQF_DATA + 0x280, " again\r\n", 8);
	avail(1, 0, 0, 1);
	op(1, 40, 'a', 0), op(0, 0, 0, 0), op(1, 10, 'A', 0), op(2, 5, 0, 0), op(0, 1, 0, 0);
	op(2, 100, 0, 1), op(3, 0x02, 0x10, 2), op(3, 0x04, 0x10, 1), op(0, 0, 0, 0);
	op(5, 0, 8, 0), op(1, 4, 'x', 0);
	emit(argv[1], "fuzz_virtio_console", "rx-tx-backpressure", 1);
	/* console: a reset while the sink holds a chain */
	desc(1, 0, VQF_DATA, 200, 0);
	avail(1, 0, 0, 1);
	op(2, 3, 0, 0), op(0, 1, 0, 0), op(4, 0, 0, 0), op(0, 1, 0, 0), op(2, 0, 1, 1);
	emit(argv[1], "fuzz_virtio_console", "reset-while-held", 2);
	return failed;
}
