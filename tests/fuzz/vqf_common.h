/*
 * What fuzz_virtio_rng and fuzz_virtio_console share: bringing a device up
 * as a driver would, at the rings vqf_input.h places, and kicking a queue
 * as the I/O thread does.
 */
#ifndef FUZZ_VQF_COMMON_H
#define FUZZ_VQF_COMMON_H

#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <stdbool.h>
#include <stdint.h>

#include "petrel/virtio.h"
#include "vqf_input.h"

#include "fuzz_check.h"

/* Resets d, negotiates, programs every queue; true when it runs. */
static bool vqf_start(struct virtio_dev *d, uint8_t size_log2, uint8_t f)
{
	uint64_t feat = 1ULL << VIRTIO_F_VERSION_1 |
			(f & 1 ? 1ULL << VIRTIO_RING_F_EVENT_IDX : 0) |
			(f & 2 ? 1ULL << VIRTIO_RING_F_INDIRECT_DESC : 0);
	uint8_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		    VIRTIO_CONFIG_S_FEATURES_OK;

	virtio_set_status(d, 0);
	virtio_set_features(d, 0, (uint32_t)feat);
	virtio_set_features(d, 1, (uint32_t)(feat >> 32));
	virtio_set_status(d, s);
	virtio_lock(d);
	for (unsigned q = 0; q < d->nr_queues; q++) {
		struct virtio_queue *vq = virtio_queue(d, q);

		vq->vq.size = (uint16_t)(1u << (size_log2 % 7));
		vq->vq.desc = VQF_DESC(q);
		vq->vq.avail = VQF_AVAIL(q);
		vq->vq.used = VQF_USED(q);
		vq->vq.ready = true;
	}
	virtio_unlock(d);
	virtio_set_status(d, s | VIRTIO_CONFIG_S_DRIVER_OK);
	return virtio_get_status(d) & VIRTIO_CONFIG_S_DRIVER_OK;
}

/* A kick as kick_ready delivers it; then each queue's used ring checks. */
static void vqf_kick(struct virtio_dev *d, unsigned q)
{
	virtio_lock(d);
	struct virtio_queue *vq = virtio_queue(d, q);

	if (vq && (d->status & VIRTIO_CONFIG_S_DRIVER_OK) &&
	    !(d->status & VIRTIO_CONFIG_S_NEEDS_RESET) && vq->vq.ready)
		d->ops->kick(d->dev, q);
	virtio_unlock(d);
}

/* A device answers only chains it took, each once. */
static void vqf_check_rings(struct virtio_dev *d)
{
	virtio_lock(d);
	for (unsigned q = 0; q < d->nr_queues; q++) {
		const struct virtq *vq = &virtio_queue(d, q)->vq;

		CHECK((uint16_t)(vq->last_avail - vq->used_idx) <= vq->size);
	}
	virtio_unlock(d);
}

#endif
