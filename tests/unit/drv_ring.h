/*
 * The driver's side of a split virtqueue, for device tests: a ring laid out
 * in a small guest RAM, chains built from buffers there, the used ring read
 * back, and a device brought to DRIVER_OK through the virtio core as a
 * transport would. Static functions: only the device tests that include
 * it link the virtio core.
 */
#ifndef PETREL_TEST_DRV_RING_H
#define PETREL_TEST_DRV_RING_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "petrel/memory.h"
#include "petrel/util.h"
#include "petrel/virtio.h"

struct drv_buf {
	gpa_t gpa;
	uint32_t len;
	bool writable;
};

struct drv_ring {
	const struct guest_mem *mem;
	uint16_t size;
	gpa_t desc, avail, used;
	uint16_t next_desc;  /* descriptors are handed out round-robin */
	uint16_t avail_idx;
	uint16_t used_seen;
	gpa_t heap, heap_end; /* bump allocator for buffers */
};

/* A ring of size entries at base, buffers from base + 64 KiB up to limit. */
static inline void drv_ring_init(struct drv_ring *r, const struct guest_mem *mem,
		   uint16_t size, gpa_t base, gpa_t limit)
{
	memset(r, 0, sizeof(*r));
	r->mem = mem;
	r->size = size;
	r->desc = base;
	r->avail = ALIGN_UP(base + 16ULL * size, 4096);
	r->used = ALIGN_UP(r->avail + 6 + 2ULL * size, 4096);
	r->heap = base + 64 * 1024;
	r->heap_end = limit;
	memset(gpa_ptr(mem, base, r->heap - base), 0, r->heap - base);
}

/* Guest RAM for a buffer, zeroed; aligned to align. */
static inline gpa_t drv_alloc(struct drv_ring *r, uint64_t len, uint64_t align)
{
	gpa_t g = ALIGN_UP(r->heap, align);

	if (g + len > r->heap_end)
		abort();
	r->heap = g + len;
	memset(gpa_ptr(r->mem, g, len), 0, len);
	return g;
}

static inline void *drv_ptr(struct drv_ring *r, gpa_t gpa, uint64_t len)
{
	return gpa_ptr(r->mem, gpa, len);
}

/* Puts a chain on the avail ring; returns its head. */
static inline uint16_t drv_add(struct drv_ring *r, const struct drv_buf *bufs, unsigned n)
{
	struct vring_desc *desc = drv_ptr(r, r->desc, 16ULL * r->size);
	struct vring_avail *avail = drv_ptr(r, r->avail, 4 + 2ULL * r->size);
	uint16_t head = r->next_desc;

	for (unsigned i = 0; i < n; i++) {
		uint16_t d = (uint16_t)((head + i) % r->size);
		uint16_t next = (uint16_t)((d + 1) % r->size);

		desc[d].addr = bufs[i].gpa;
		desc[d].len = bufs[i].len;
		desc[d].flags = (uint16_t)((bufs[i].writable ? VRING_DESC_F_WRITE : 0) |
					   (i + 1 < n ? VRING_DESC_F_NEXT : 0));
		desc[d].next = next;
	}
	r->next_desc = (uint16_t)((head + n) % r->size);
	avail->ring[r->avail_idx % r->size] = head;
	__atomic_store_n(&avail->idx, ++r->avail_idx, __ATOMIC_RELEASE);
	return head;
}

/* The next used entry, if any. */
static inline bool drv_used(struct drv_ring *r, uint16_t *head, uint32_t *len)
{
	struct vring_used *used = drv_ptr(r, r->used, 4 + 8ULL * r->size);

	if (__atomic_load_n(&used->idx, __ATOMIC_ACQUIRE) == r->used_seen)
		return false;
	*head = (uint16_t)used->ring[r->used_seen % r->size].id;
	*len = used->ring[r->used_seen % r->size].len;
	r->used_seen++;
	return true;
}

/*
 * Negotiates features (VERSION_1 | features), programs queue q with r and
 * sets DRIVER_OK. Returns the status byte the device ended with.
 */
static inline uint8_t drv_start(struct virtio_dev *d, struct drv_ring *r, unsigned q,
		  uint64_t features)
{
	uint8_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;

	features |= 1ULL << VIRTIO_F_VERSION_1;
	virtio_set_status(d, 0);
	virtio_set_status(d, s);
	virtio_set_features(d, 0, (uint32_t)features);
	virtio_set_features(d, 1, (uint32_t)(features >> 32));
	s |= VIRTIO_CONFIG_S_FEATURES_OK;
	virtio_set_status(d, s);
	virtio_lock(d);
	struct virtio_queue *vq = virtio_queue(d, q);
	vq->vq.size = r->size;
	vq->vq.desc = r->desc;
	vq->vq.avail = r->avail;
	vq->vq.used = r->used;
	vq->vq.ready = true;
	virtio_unlock(d);
	virtio_set_status(d, s | VIRTIO_CONFIG_S_DRIVER_OK);
	return virtio_get_status(d);
}

/* A kick as the I/O thread delivers it: ops->kick with the lock held. */
static inline void drv_kick(struct virtio_dev *d, unsigned q)
{
	virtio_lock(d);
	d->ops->kick(d->dev, q);
	virtio_unlock(d);
}

#endif
