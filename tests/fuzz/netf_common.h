/*
 * What both virtio-net fuzz targets share: the device behind a fake
 * backend, brought up with the features the input asks for and the queue
 * under test programmed at the input's rings.
 */
#ifndef FUZZ_NETF_COMMON_H
#define FUZZ_NETF_COMMON_H

#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>
#include <stdlib.h>
#include <string.h>

#include "netf_input.h"
#include "petrel/net_hdr.h"
#include "petrel/util.h"
#include "petrel/virtio_net.h"

#include "fuzz_check.h"

#define NF(b) (1ULL << (b))
#define NETF_OFFLOADS                                                           \
	(NF(VIRTIO_NET_F_GUEST_TSO4) | NF(VIRTIO_NET_F_GUEST_TSO6) |                \
	 NF(VIRTIO_NET_F_GUEST_ECN) | NF(VIRTIO_NET_F_GUEST_UFO) |                  \
	 NF(VIRTIO_NET_F_HOST_TSO4) | NF(VIRTIO_NET_F_HOST_TSO6) |                  \
	 NF(VIRTIO_NET_F_HOST_ECN) | NF(VIRTIO_NET_F_HOST_UFO))

static uint64_t netf_features(const struct virtio_dev *d, uint8_t f)
{
	uint64_t w = NF(VIRTIO_F_VERSION_1) | NF(VIRTIO_NET_F_MAC) | NF(VIRTIO_NET_F_STATUS);

	if (f & 1) w |= NF(VIRTIO_RING_F_EVENT_IDX);
	if (f & 2) w |= NF(VIRTIO_RING_F_INDIRECT_DESC);
	if (f & 4) w |= NF(VIRTIO_NET_F_MRG_RXBUF);
	if (f & 8) w |= NF(VIRTIO_NET_F_CSUM);
	if (f & 16) w |= NF(VIRTIO_NET_F_GUEST_CSUM);
	if (f & 32) w |= NF(VIRTIO_NET_F_HOST_TSO4) | NF(VIRTIO_NET_F_GUEST_TSO4);
	if (f & 64) w |= NF(VIRTIO_NET_F_HOST_TSO6) | NF(VIRTIO_NET_F_GUEST_TSO6);
	if (f & 128)
		w |= NF(VIRTIO_NET_F_HOST_ECN) | NF(VIRTIO_NET_F_GUEST_ECN) |
		     NF(VIRTIO_NET_F_HOST_UFO) | NF(VIRTIO_NET_F_GUEST_UFO);
	return w & d->host_features;
}

/* Resets d, negotiates, programs queue q at the input's rings. */
static bool netf_start(struct virtio_dev *d, const uint8_t *data, unsigned q)
{
	uint64_t feat = netf_features(d, data[1]);
	uint8_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		    VIRTIO_CONFIG_S_FEATURES_OK;

	virtio_set_status(d, 0);
	virtio_set_features(d, 0, (uint32_t)feat);
	virtio_set_features(d, 1, (uint32_t)(feat >> 32));
	virtio_set_status(d, s);
	virtio_lock(d);
	struct virtio_queue *vq = virtio_queue(d, q);
	vq->vq.size = (uint16_t)(1u << (data[0] % 9));
	vq->vq.desc = NETF_DESC;
	vq->vq.avail = NETF_AVAIL;
	vq->vq.used = NETF_USED;
	vq->vq.ready = true;
	virtio_unlock(d);
	virtio_set_status(d, s | VIRTIO_CONFIG_S_DRIVER_OK);
	return virtio_get_status(d) & VIRTIO_CONFIG_S_DRIVER_OK;
}

/*
 * Guest RAM and the two NICs both targets drive: one without offloads, one
 * whose backend takes them (so both header paths are reached).
 */
static void netf_create_nics(struct guest_mem *mem, struct virtio_net *n[2],
			     const struct net_backend_ops *ops, void *opaque)
{
	static const uint8_t mac[6] = { 2, 0x70, 1, 2, 3, 4 };

	CHECK(guest_mem_init(mem, NETF_RAM_SIZE) == 0);
	CHECK(virtio_net_create(&n[0], 0, mac, (struct net_backend){ ops, opaque, 0, "fz" },
				mem, NULL) == 0);
	CHECK(virtio_net_create(&n[1], 1, mac,
				(struct net_backend){ ops, opaque, NETF_OFFLOADS, "fz-offloads" },
				mem, NULL) == 0);
}

#endif
