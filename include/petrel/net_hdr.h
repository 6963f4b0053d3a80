/*
 * The virtio-net header (struct virtio_net_hdr_v1, virtio 1.2 5.1.6) that
 * comes before every frame on the queues, and on a tap opened with
 * IFF_VNET_HDR: its checks, and the software checksum a backend without
 * offloads needs.
 *
 * Both directions are checked against the features the driver accepted,
 * because each offload is a promise: a transmit header may ask only for
 * what the device offered and the driver took (CSUM, HOST_TSO4/6, HOST_UFO,
 * HOST_ECN), a receive header may carry only what the driver said it can
 * take (GUEST_CSUM, GUEST_TSO4/6, GUEST_UFO, GUEST_ECN). Pure functions,
 * no I/O: the unit tests and the fuzz targets call them directly.
 */
#ifndef PETREL_NET_HDR_H
#define PETREL_NET_HDR_H

#include <stddef.h>
#include <stdint.h>
#include <linux/virtio_net.h>

#define NET_HDR_LEN 12 /* sizeof(struct virtio_net_hdr_v1), num_buffers included */
#define NET_FRAME_MIN 14 /* an Ethernet header */
/* the largest IP packet, an Ethernet header and one VLAN tag */
#define NET_FRAME_MAX (65535 + 14 + 4)

/* Why a header was refused (0: accepted). */
enum net_hdr_err {
	NET_HDR_OK = 0,
	NET_HDR_BAD_FLAGS,     /* a flag bit this direction must not carry */
	NET_HDR_NO_CSUM,       /* NEEDS_CSUM without CSUM / GUEST_CSUM accepted */
	NET_HDR_BAD_CSUM,      /* csum_start + csum_offset + 2 past the frame */
	NET_HDR_BAD_GSO,       /* an unknown gso_type, gso_size 0, hdr_len past the frame */
	NET_HDR_NO_GSO,        /* a GSO type (or ECN) the driver did not accept */
	NET_HDR_ERR_MAX,
};

/*
 * A transmit header (guest -> network) for a frame of frame_len bytes,
 * against the accepted features. 0 or an enum net_hdr_err.
 */
int net_hdr_check_tx(const struct virtio_net_hdr_v1 *h, size_t frame_len,
		     uint64_t features);
/*
 * A receive header (network -> guest), from a backend: the same checks
 * for the GUEST_* features. DATA_VALID is cleared when the driver did not
 * accept GUEST_CSUM (it means nothing to such a driver); num_buffers is
 * the device's to set and not looked at.
 */
int net_hdr_check_rx(struct virtio_net_hdr_v1 *h, size_t frame_len,
		     uint64_t features);
const char *net_hdr_strerror(int err);

/*
 * Completes a partial checksum in place (NEEDS_CSUM, a header
 * net_hdr_check_tx accepted for this frame): the one's-complement sum from
 * csum_start to the end, seeded with what the field holds (the driver put
 * the pseudo-header sum there), stored at csum_start + csum_offset.
 */
void net_csum_complete(uint8_t *frame, size_t len,
		       const struct virtio_net_hdr_v1 *h);

#endif
