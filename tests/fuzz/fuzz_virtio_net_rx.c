/*
 * libFuzzer target for the frames a backend injects into virtio-net
 * (net_backend.h's port.receive): arbitrary headers and lengths against
 * arbitrary receive rings, with and without MRG_RXBUF and the GUEST_*
 * offloads (netf_input.h). petrel must not crash or write outside RAM, a
 * frame it reports placed must have filled exactly header + frame bytes
 * across the used entries it added (num_buffers of them with MRG_RXBUF),
 * and a frame it kept must have left the used ring alone.
 */
#include <endian.h>
#include <stdint.h>
#include <stdio.h>

#include "netf_common.h"

struct fz {
	struct guest_mem mem;
	struct virtio_net *n[2];
	unsigned rx_ready;
	uint8_t frame[NET_FRAME_MAX];
};

static struct fz *z;

static int fz_transmit(void *opaque, const struct virtio_net_hdr_v1 *hdr,
		       const struct iovec *iov, unsigned n, size_t len)
{
	(void)opaque, (void)hdr, (void)iov, (void)n, (void)len;
	return 0;
}

static void fz_rx_ready(void *opaque)
{
	(void)opaque;
	z->rx_ready++;
}

static const struct net_backend_ops fz_ops = { fz_transmit, fz_rx_ready, NULL };

static void fz_init(void)
{
	z = calloc(1, sizeof(*z));
	CHECK(z);
	netf_create_nics(&z->mem, z->n, &fz_ops, z);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!z)
		fz_init();
	if (size < NETF_HDR_SIZE)
		return 0;
	struct virtio_net *n = z->n[data[3] & 1];
	struct virtio_dev *d = virtio_net_dev(n);
	struct net_port port = virtio_net_port(n);
	uint8_t *ram = gpa_ptr(&z->mem, 0, NETF_RAM_SIZE);
	size_t in_ram = MIN(size - NETF_HDR_SIZE, (size_t)NETF_RAM_IN);
	const uint8_t *p = data + NETF_HDR_SIZE + in_ram, *end = data + size;
	unsigned rounds = 1 + data[2] % 4, i = 0;

	memset(ram, 0, NETF_RAM_SIZE);
	memcpy(ram, data + NETF_HDR_SIZE, in_ram);
	if (!netf_start(d, data, VIRTIO_NET_RX_Q))
		return 0;
	struct virtq *vq = &virtio_queue(d, VIRTIO_NET_RX_Q)->vq;
	bool mrg = virtio_has_feature(d, VIRTIO_NET_F_MRG_RXBUF);

	while (end - p >= 2 + NET_HDR_LEN && i < 64) {
		struct virtio_net_hdr_v1 h;
		size_t len = (size_t)p[0] | (size_t)p[1] << 8;

		memcpy(&h, p + 2, NET_HDR_LEN);
		p += 2 + NET_HDR_LEN;
		len = MIN(len, (size_t)(end - p));
		memcpy(z->frame, p, len);
		p += len;
		for (unsigned r = 0; r < rounds; r++) {
			uint16_t used0 = vq->used_idx;
			struct virtio_net_stats before, after;

			virtio_net_get_stats(n, &before);
			int placed = port.receive(port.dev, &h, z->frame, len);

			virtio_net_get_stats(n, &after);
			virtio_lock(d);
			uint16_t added = (uint16_t)(vq->used_idx - used0);
			CHECK(vq->used_idx <= vq->last_avail);
			if (!placed)
				CHECK(added == 0);
			if (after.rx_packets != before.rx_packets) {
				uint64_t sum = 0;
				const struct vring_used *u = vq->used_hva;

				CHECK(placed == 1 && added >= 1 && (mrg || added == 1));
				for (uint16_t k = 0; k < added; k++)
					sum += le32toh(u->ring[(uint16_t)(used0 + k) & (vq->num - 1)].len);
				CHECK(sum == NET_HDR_LEN + len);
			}
			/* the driver's kick, as the I/O thread delivers it */
			d->ops->kick(d->dev, VIRTIO_NET_RX_Q);
			virtio_unlock(d);
			port.rx_flush(port.dev);
			if (placed)
				break;
		}
		i++;
	}
	return 0;
}
