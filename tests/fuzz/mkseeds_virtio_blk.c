/*
 * Writes the seed corpus of fuzz_virtio_blk (blkf_input.h) into the
 * directory given: one well-formed request of each type, a chain through
 * an indirect table, and a few requests the device must refuse.
 *   cc -Iinclude -Itests/fuzz tests/fuzz/mkseeds_virtio_blk.c -o mkseeds &&
 *   ./mkseeds tests/fuzz/corpus/fuzz_virtio_blk
 */
#include <linux/virtio_blk.h>
#include <linux/virtio_ring.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "blkf_input.h"

static uint8_t in[BLKF_HDR_SIZE + BLKF_DATA + 0x2000];

struct seg {
	uint32_t off, len;
	int writable;
};

/* One chain of segments (offsets from BLKF_DATA), head 0, avail idx 1. */
static void chain(const struct seg *s, int n, int indirect)
{
	uint8_t *ram = in + BLKF_HDR_SIZE;
	struct vring_desc *d = (struct vring_desc *)(ram + BLKF_DESC);
	struct vring_avail *a = (struct vring_avail *)(ram + BLKF_AVAIL);

	if (indirect) {
		/* the table lives at the end of the data area */
		struct vring_desc *t = (struct vring_desc *)(ram + BLKF_DATA + 0x1800);

		d[0] = (struct vring_desc){ BLKF_DATA + 0x1800, (uint32_t)(16 * n),
					    VRING_DESC_F_INDIRECT, 0 };
		d = t;
	}
	for (int i = 0; i < n; i++)
		d[i] = (struct vring_desc){
			BLKF_DATA + s[i].off, s[i].len,
			(uint16_t)((s[i].writable ? VRING_DESC_F_WRITE : 0) |
				   (i + 1 < n ? VRING_DESC_F_NEXT : 0)),
			(uint16_t)(i + 1) };
	a->ring[0] = 0;
	a->idx = 1;
}

static void hdr(uint32_t type, uint64_t sector)
{
	struct virtio_blk_outhdr *h = (void *)(in + BLKF_HDR_SIZE + BLKF_DATA);

	h->type = type;
	h->sector = sector;
}

static int emit(const char *dir, const char *name)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(in, 1, sizeof(in), f) != sizeof(in) || fclose(f)) {
		perror(path);
		return 1;
	}
	memset(in, 0, sizeof(in));
	return 0;
}

int main(int argc, char **argv)
{
	const struct seg rw_in[3] = { { 0, 16, 0 }, { 0x200, 1024, 1 }, { 0x100, 1, 1 } };
	const struct seg rw_out[3] = { { 0, 16, 0 }, { 0x200, 1024, 0 }, { 0x100, 1, 1 } };
	const struct seg bare[2] = { { 0, 16, 0 }, { 0x100, 1, 1 } };
	const struct seg id[3] = { { 0, 16, 0 }, { 0x200, 20, 1 }, { 0x100, 1, 1 } };
	const struct seg range[3] = { { 0, 16, 0 }, { 0x200, 16, 0 }, { 0x100, 1, 1 } };
	const struct seg nostatus[1] = { { 0, 16, 0 } };
	int err = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
#define SEED(name, feat, ro, segs, ind, type, sector)                     \
	do {                                                              \
		in[0] = 4; /* 16 entries */                               \
		in[1] = (feat);                                           \
		in[3] = (ro);                                             \
		chain(segs, (int)(sizeof(segs) / sizeof(segs[0])), ind);  \
		hdr(type, sector);                                        \
		err |= emit(argv[1], name);                               \
	} while (0)
	SEED("read", 0x1f, 0, rw_in, 0, VIRTIO_BLK_T_IN, 2);
	SEED("write", 0x1f, 0, rw_out, 0, VIRTIO_BLK_T_OUT, 4);
	SEED("write-ro", 0x1f, 1, rw_out, 0, VIRTIO_BLK_T_OUT, 4);
	SEED("read-indirect", 0x1f, 0, rw_in, 1, VIRTIO_BLK_T_IN, 126);
	SEED("read-past-end", 0x1f, 0, rw_in, 0, VIRTIO_BLK_T_IN, 127);
	SEED("flush", 0x1f, 0, bare, 0, VIRTIO_BLK_T_FLUSH, 0);
	SEED("get-id", 0x1f, 0, id, 0, VIRTIO_BLK_T_GET_ID, 0);
	SEED("unknown", 0x1f, 0, bare, 0, 77, 0);
	SEED("no-status", 0x1f, 0, nostatus, 0, VIRTIO_BLK_T_IN, 0);
	/* a discard segment: sector 8, 4 sectors, no flags */
	for (int t = 0; t < 2; t++) {
		chain(range, 3, 0);
		hdr(t ? VIRTIO_BLK_T_WRITE_ZEROES : VIRTIO_BLK_T_DISCARD, 0);
		struct virtio_blk_discard_write_zeroes *s =
			(void *)(in + BLKF_HDR_SIZE + BLKF_DATA + 0x200);
		s->sector = 8;
		s->num_sectors = 4;
		s->flags = t;
		in[0] = 4;
		in[1] = 0x1f;
		err |= emit(argv[1], t ? "write-zeroes" : "discard");
	}
	return err;
}
