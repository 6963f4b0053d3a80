/*
 * The seam between virtio-net (the device, virtio_net.h) and what carries
 * its frames on the host (a tap, net_tap.h; libslirp, net_slirp.h). Both
 * sides run on the I/O thread (evloop.h); neither blocks.
 *
 * Frames cross it as a virtio-net header (net_hdr.h, already checked
 * against the driver's features) plus the Ethernet frame.
 *
 * Device -> backend (struct net_backend_ops): called with the device's
 * lock held, so a backend must not call the device back from them (it
 * queues, or schedules on the loop):
 * - transmit: one frame, whole. 0: gone; -EAGAIN: the backend cannot take
 *   it now, the device keeps it on the ring and waits for port.tx_ready;
 *   another -errno: that frame failed (counted), the next may go.
 * - rx_ready: the driver posted receive buffers after port.receive said it
 *   had none: the backend may deliver again (it schedules; it does not
 *   call port.receive from here).
 * - set_offloads: at DRIVER_OK, the accepted features: what the backend
 *   may hand the guest (GUEST_CSUM, GUEST_TSO4/6, ...).
 *
 * Backend -> device (struct net_port), from the backend's own callbacks,
 * without the device's lock:
 * - receive: 1: the frame was placed in the guest's buffers (or dropped
 *   and counted by the device: malformed, too big for the guest's
 *   buffers); 0: no buffers now: the backend keeps the frame and waits for
 *   rx_ready. Nothing is dropped for want of buffers.
 * - rx_flush: after a batch of receives: interrupts the driver if it wants.
 * - tx_ready: after a transmit's -EAGAIN, the backend has room again.
 * - link: the backend came or went (a tap deleted under us): STATUS.
 */
#ifndef PETREL_NET_BACKEND_H
#define PETREL_NET_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include <linux/virtio_net.h>

struct net_backend_ops {
	int (*transmit)(void *be, const struct virtio_net_hdr_v1 *hdr,
			const struct iovec *iov, unsigned n, size_t len);
	void (*rx_ready)(void *be);
	void (*set_offloads)(void *be, uint64_t features);
};

struct net_backend {
	const struct net_backend_ops *ops;
	void *be;
	/*
	 * The offload features the backend can honour beyond checksums:
	 * VIRTIO_NET_F_HOST_TSO4 ... GUEST_UFO bits (a tap with a vnet header),
	 * or 0 (libslirp: it takes whole, checksummed frames only).
	 */
	uint64_t offloads;
	const char *desc; /* "user", "tap petrel0": for messages and stats */
};

struct net_port {
	int (*receive)(void *dev, const struct virtio_net_hdr_v1 *hdr,
		       const uint8_t *frame, size_t len);
	void (*rx_flush)(void *dev);
	void (*tx_ready)(void *dev);
	void (*link)(void *dev, bool up);
	void *dev;
};

/* The frame of iov[0..n) (len bytes) copied to buf (at least len bytes). */
static inline void net_iov_gather(uint8_t *buf, const struct iovec *iov,
				  unsigned n, size_t len)
{
	size_t off = 0;

	for (unsigned i = 0; i < n && off < len; i++) {
		size_t c = iov[i].iov_len < len - off ? iov[i].iov_len : len - off;

		__builtin_memcpy(buf + off, iov[i].iov_base, c);
		off += c;
	}
}

#endif
