/*
 * virtio-net (virtio 1.2, 5.1): one receive/transmit queue pair (queue 0
 * receiveq1, queue 1 transmitq1; no control queue), in front of a backend
 * (net_backend.h: a tap, or libslirp's user-mode network).
 *
 * Offered: MAC, STATUS (link up until the backend goes away), MRG_RXBUF,
 * CSUM (a backend without offloads gets the checksum completed by petrel),
 * GUEST_CSUM, and the TSO/UFO/ECN features the backend says it honours
 * (a tap with a vnet header does; libslirp does not).
 *
 * Transmit: each chain is a 12-byte header and a frame (anywhere in the
 * chain's readable buffers: VERSION_1 implies ANY_LAYOUT). Everything in it
 * is checked (net_hdr.h and the lengths); a bad chain or header fails that
 * packet alone (used with length 0, counted by reason), never the device.
 * When the backend cannot take a frame now, the chain stays on the ring
 * until it can.
 *
 * Receive: a frame goes whole into one chain, or with MRG_RXBUF across as
 * many chains as it needs (num_buffers says how many); chains are taken
 * only when enough are there, otherwise the frame stays with the backend
 * and the device asks the driver for a kick when it adds buffers.
 *
 * Threading: the device's lock serialises everything; kicks and backend
 * callbacks run on the I/O thread.
 */
#ifndef PETREL_VIRTIO_NET_H
#define PETREL_VIRTIO_NET_H

#include <stdint.h>

#include "petrel/evloop.h"
#include "petrel/memory.h"
#include "petrel/net_backend.h"
#include "petrel/virtio.h"

#define VIRTIO_NET_QUEUE_SIZE 256
#define VIRTIO_NET_RX_Q 0
#define VIRTIO_NET_TX_Q 1
/* frames one transmit run takes before it lets the loop serve others */
#define VIRTIO_NET_TX_BUDGET 256

/* Why a frame was dropped (counted; --stats names each). */
enum net_drop {
	NET_DROP_TX_CHAIN,    /* a malformed descriptor chain */
	NET_DROP_TX_WRITABLE, /* a device-writable buffer in a transmit chain */
	NET_DROP_TX_SHORT,    /* shorter than the header and an Ethernet header */
	NET_DROP_TX_LONG,     /* longer than NET_FRAME_MAX */
	NET_DROP_TX_HDR,      /* a header net_hdr_check_tx refused */
	NET_DROP_TX_LINK,     /* the link is down (the backend went away) */
	NET_DROP_TX_BACKEND,  /* the backend failed it */
	NET_DROP_RX_CHAIN,    /* a malformed receive chain (the device needs a reset) */
	NET_DROP_RX_SMALL,    /* the guest's buffers cannot hold the frame */
	NET_DROP_RX_FRAME,    /* the backend's frame is too short or too long */
	NET_DROP_RX_HDR,      /* the backend's header does not fit the features */
	NET_DROP_MAX,
};

struct virtio_net;

/*
 * "virtio-net<index>"; be is the backend (its ops called with the lock
 * held); loop may be NULL in tests. 0 or -errno.
 */
int virtio_net_create(struct virtio_net **out, unsigned index,
		      const uint8_t mac[6], struct net_backend be,
		      const struct guest_mem *mem, struct evloop *loop);
struct virtio_dev *virtio_net_dev(struct virtio_net *n);
/* What the backend calls (net_backend.h's contract). */
struct net_port virtio_net_port(struct virtio_net *n);
/* Stops the device (reset) and frees it; the backend must be quiet first. */
void virtio_net_destroy(struct virtio_net *n);

/* Statistics, read under the lock. */
struct virtio_net_stats {
	uint64_t tx_packets, tx_bytes, rx_packets, rx_bytes, rx_buffers;
	uint64_t drops[NET_DROP_MAX];
};
void virtio_net_get_stats(struct virtio_net *n, struct virtio_net_stats *s);
const char *virtio_net_drop_name(enum net_drop d);
void virtio_net_print_stats(struct virtio_net *n);

#endif
