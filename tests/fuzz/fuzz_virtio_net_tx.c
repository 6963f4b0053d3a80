/*
 * libFuzzer target for virtio-net's transmit path (virtio_net.h) behind
 * the virtqueue and the virtio core: guest RAM, queue set-up and features
 * from the input (netf_input.h), a backend that may refuse a frame once
 * (-EAGAIN: the chain must stay) or fail it (-EIO). Whatever the guest
 * wrote, petrel must not crash or touch memory outside RAM (ASan), every
 * frame the backend gets must have a length in range and a header that
 * passes the checks against the accepted features (and survives the
 * software checksum), and no chain may be answered that was not taken.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>

#include "netf_common.h"

struct fz {
	struct guest_mem mem;
	struct virtio_net *n[2]; /* a backend without offloads, one with */
	int refuse;              /* the next transmit's answer */
	uint64_t features;
	uint8_t buf[NET_FRAME_MAX];
};

static struct fz *z;

static int fz_transmit(void *opaque, const struct virtio_net_hdr_v1 *hdr,
		       const struct iovec *iov, unsigned n, size_t len)
{
	struct virtio_net_hdr_v1 h = *hdr;
	int r = z->refuse;
	(void)opaque;

	z->refuse = 0;
	if (r)
		return r;
	CHECK(len >= NET_FRAME_MIN && len <= NET_FRAME_MAX);
	CHECK(net_hdr_check_tx(&h, len, z->features) == NET_HDR_OK);
	net_iov_gather(z->buf, iov, n, len);
	net_csum_complete(z->buf, len, &h);
	return 0;
}

static void fz_rx_ready(void *opaque)
{
	(void)opaque;
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
	unsigned kicks = 1 + data[2] % 4;

	memset(ram, 0, NETF_RAM_SIZE);
	memcpy(ram, data + NETF_HDR_SIZE, MIN(size - NETF_HDR_SIZE, (size_t)NETF_RAM_IN));
	if (!netf_start(d, data, VIRTIO_NET_TX_Q))
		return 0;
	z->features = d->guest_features;
	z->refuse = data[3] & 2 ? -EAGAIN : data[3] & 4 ? -EIO : 0;
	for (unsigned k = 0; k < kicks; k++) {
		virtio_lock(d);
		d->ops->kick(d->dev, VIRTIO_NET_TX_Q);
		struct virtq *vq = &virtio_queue(d, VIRTIO_NET_TX_Q)->vq;
		/* one answer at most per chain taken (from 0 after the reset) */
		CHECK(vq->used_idx <= vq->last_avail);
		virtio_unlock(d);
		/* a refused frame waits for the backend, then goes */
		port.tx_ready(port.dev);
	}
	return 0;
}
