/*
 * libFuzzer target for the split virtqueue (src/virtio/virtqueue.c): the
 * input is guest RAM, the queue's parameters and a script of device and
 * driver steps (virtqueue_input.h). Whatever the guest wrote, the device
 * side must not crash, must not touch memory outside RAM (ASan: each RAM
 * region is its own allocation) and must only hand out buffers that lie in
 * one region; the checks below trap otherwise.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "petrel/memory.h"
#include "petrel/util.h"
#include "petrel/virtqueue.h"
#include "virtqueue_input.h"

#include "fuzz_check.h"

struct held {
	struct virtq_elem e;
	struct iovec iov[256];
};

struct fz {
	struct guest_mem mem;
	uint8_t *region[2];
	struct virtq q;
	uint8_t cap, size_log2;
	gpa_t desc, avail, used;
	struct held held[VQF_MAX_HELD];
	unsigned nheld, first;
	uint16_t drv_avail_idx;
	uint8_t scratch[4096];
};

static uint32_t get32(const uint8_t *p)
{
	return le32_get(p);
}

static uint64_t features_of(uint8_t f)
{
	return (f & 1 ? 1ULL << VIRTIO_RING_F_EVENT_IDX : 0) |
	       (f & 2 ? 1ULL << VIRTIO_RING_F_INDIRECT_DESC : 0);
}

static void start(struct fz *z, uint8_t features)
{
	virtq_reset(&z->q);
	z->q.size = (uint16_t)(1u << (z->size_log2 & 15));
	z->q.desc = z->desc;
	z->q.avail = z->avail;
	z->q.used = z->used;
	z->q.ready = true;
	if (virtq_start(&z->q, features_of(features)) < 0) {
		CHECK(!z->q.desc_hva);
		return;
	}
	CHECK(z->q.num && z->q.num <= VIRTQ_MAX_SIZE);
	CHECK(gpa_ptr(&z->mem, z->q.desc, 16ULL * z->q.num) ==
	      (void *)z->q.desc_hva);
	z->drv_avail_idx = 0;
	/* a restart forgets what was in flight */
	z->nheld = z->first = 0;
}

/* a buffer we were given must lie inside one region */
static void check_iov(const struct fz *z, const struct iovec *v)
{
	const uint8_t *p = v->iov_base;

	for (int r = 0; r < 2; r++) {
		const uint8_t *b = z->region[r];
		if (p >= b && p < b + VQF_REGION_SIZE &&
		    v->iov_len <= (size_t)(b + VQF_REGION_SIZE - p))
			return;
	}
	__builtin_trap();
}

static void check_elem(const struct fz *z, const struct virtq_elem *e)
{
	uint64_t out = 0, in = 0;

	CHECK(e->n_out + e->n_in <= e->cap);
	CHECK(e->head < z->q.num);
	for (unsigned i = 0; i < e->n_out + e->n_in; i++) {
		check_iov(z, &e->iov[i]);
		CHECK(e->iov[i].iov_len > 0);
		if (i < e->n_out)
			out += e->iov[i].iov_len;
		else
			in += e->iov[i].iov_len;
	}
	CHECK(out == e->out_len && in == e->in_len);
}

static int pop(struct fz *z, struct held *h)
{
	int r;

	h->e.iov = h->iov;
	h->e.cap = z->cap;
	r = virtq_pop(&z->q, &h->e);
	CHECK(r == 0 || r == 1 || r == -EINVAL);
	if (r == 1)
		check_elem(z, &h->e);
	else if (r < 0)
		CHECK(h->e.n_out == 0 && h->e.n_in == 0);
	return r;
}

/* what a device does with a request: read it, write an answer, push */
static void complete(struct fz *z, struct held *h, uint8_t a, uint8_t b)
{
	uint64_t n, w, off = a, len = (uint64_t)b * 16;

	n = virtq_elem_read(&h->e, off, z->scratch, len);
	CHECK(n <= len && n <= h->e.out_len);
	CHECK(off >= h->e.out_len || n == MIN(len, h->e.out_len - off));
	w = virtq_elem_write(&h->e, off / 2, z->scratch, len);
	CHECK(w <= len && w <= h->e.in_len);
	virtq_push(&z->q, h->e.head, (uint32_t)w);
}

static void pop_process(struct fz *z, uint8_t a, uint8_t b)
{
	struct held h;
	int r = pop(z, &h);

	if (r == 1)
		complete(z, &h, a, b);
	else if (r < 0 && h.e.head < z->q.num)
		virtq_push(&z->q, h.e.head, 0); /* fail the request */
}

static void step(struct fz *z, const uint8_t *op)
{
	uint8_t a = op[1], b = op[2], c = op[3];

	switch (op[0] % VQF_OP_COUNT) {
	case VQF_OP_POP_PROCESS:
		pop_process(z, a, b);
		break;
	case VQF_OP_POP_HOLD:
		if (z->nheld < VQF_MAX_HELD) {
			struct held *h =
				&z->held[(z->first + z->nheld) % VQF_MAX_HELD];
			if (pop(z, h) == 1)
				z->nheld++;
		}
		break;
	case VQF_OP_COMPLETE:
		if (z->nheld) {
			complete(z, &z->held[z->first], a, b);
			z->first = (z->first + 1) % VQF_MAX_HELD;
			z->nheld--;
		}
		break;
	case VQF_OP_NOTIFY:
		virtq_should_notify(&z->q);
		break;
	case VQF_OP_ENABLE_KICK:
		virtq_enable_kick(&z->q);
		break;
	case VQF_OP_DISABLE_KICK:
		virtq_disable_kick(&z->q);
		break;
	case VQF_OP_POKE: {
		uint64_t off = (uint64_t)(a | b << 8) * 2 % VQF_RAM_SIZE;

		z->region[off / VQF_REGION_SIZE][off % VQF_REGION_SIZE] = c;
		break;
	}
	case VQF_OP_AVAIL_ADD: {
		/* the driver's side: ring entry, then the index */
		struct vring_avail *av = z->q.avail_hva;
		if (!av)
			break;
		av->ring[z->drv_avail_idx & (z->q.num - 1)] =
			(uint16_t)(a | b << 8);
		z->drv_avail_idx++;
		av->idx = z->drv_avail_idx;
		break;
	}
	case VQF_OP_RESIZE:
		z->q.size = (uint16_t)(1u << (a & 15));
		break;
	case VQF_OP_RESTART:
		start(z, c);
		break;
	case VQF_OP_DRAIN:
		/* every nonzero pop consumes an entry: this ends */
		for (unsigned i = 0; i <= 2u * VIRTQ_MAX_SIZE; i++) {
			struct held h;
			int r = pop(z, &h);
			if (r == 0)
				break;
			if (r == 1)
				complete(z, &h, a, b);
		}
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz *z;
	size_t nops, ram_len;
	const uint8_t *ops, *img;

	if (size < VQF_HDR_SIZE)
		return 0;
	z = calloc(1, sizeof(*z));
	CHECK(z);
	for (int r = 0; r < 2; r++) {
		/* page-aligned like real guest RAM: ring alignment is gpa's */
		z->region[r] = aligned_alloc(4096, VQF_REGION_SIZE);
		CHECK(z->region[r]);
		memset(z->region[r], 0, VQF_REGION_SIZE);
	}
	z->mem.nr_regions = 2;
	z->mem.ram_size = VQF_RAM_SIZE;
	for (int r = 0; r < 2; r++)
		z->mem.regions[r] = (struct mem_region){
			VQF_RAM_GPA + r * VQF_REGION_SIZE, VQF_REGION_SIZE,
			z->region[r]
		};
	virtq_init(&z->q, &z->mem);

	z->size_log2 = data[0];
	z->cap = data[2];
	nops = data[3];
	z->desc = VQF_RAM_GPA + get32(data + 4);
	z->avail = VQF_RAM_GPA + get32(data + 8);
	z->used = VQF_RAM_GPA + get32(data + 12);
	ops = data + VQF_HDR_SIZE;
	nops = MIN(nops, (size - VQF_HDR_SIZE) / 4);
	img = ops + nops * 4;
	ram_len = MIN(size - VQF_HDR_SIZE - nops * 4, VQF_RAM_SIZE);
	memcpy(z->region[0], img, MIN(ram_len, VQF_REGION_SIZE));
	if (ram_len > VQF_REGION_SIZE)
		memcpy(z->region[1], img + VQF_REGION_SIZE,
		       ram_len - VQF_REGION_SIZE);

	start(z, data[1]);
	/* the guest's own avail->idx, from the image */
	if (z->q.avail_hva)
		z->drv_avail_idx = z->q.avail_hva->idx;
	for (size_t i = 0; i < nops; i++)
		step(z, ops + i * 4);
	/* and whatever is left, as a device would after a kick */
	step(z, (const uint8_t[]){ VQF_OP_DRAIN, 0, 255, 0 });

	for (int r = 0; r < 2; r++)
		free(z->region[r]);
	free(z);
	return 0;
}
