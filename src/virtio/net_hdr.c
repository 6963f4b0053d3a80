/* The virtio-net header's checks and the software checksum (net_hdr.h). */
#include <endian.h>
#include <stdbool.h>
#include <string.h>

#include "petrel/net_hdr.h"

_Static_assert(sizeof(struct virtio_net_hdr_v1) == NET_HDR_LEN,
	       "virtio 1.x: the header always has num_buffers");

static bool has(uint64_t features, unsigned bit)
{
	return (features >> bit) & 1;
}

/*
 * The offload fields, one direction: the csum bit, the TSO4/TSO6/UFO/ECN
 * bits of the features that allow them.
 */
struct dir_bits {
	unsigned csum, tso4, tso6, ufo, ecn;
};

static int check(const struct virtio_net_hdr_v1 *h, size_t len,
		 uint64_t features, const struct dir_bits *b)
{
	uint8_t gso = h->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
	bool ecn = h->gso_type & VIRTIO_NET_HDR_GSO_ECN;

	if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		if (!has(features, b->csum))
			return NET_HDR_NO_CSUM;
		/* 16-bit values: the sum cannot overflow a size_t */
		if ((size_t)le16toh(h->csum_start) + le16toh(h->csum_offset) + 2 > len)
			return NET_HDR_BAD_CSUM;
	}
	if (gso == VIRTIO_NET_HDR_GSO_NONE)
		return ecn ? NET_HDR_BAD_GSO : NET_HDR_OK;
	switch (gso) {
	case VIRTIO_NET_HDR_GSO_TCPV4:
		if (!has(features, b->tso4))
			return NET_HDR_NO_GSO;
		break;
	case VIRTIO_NET_HDR_GSO_TCPV6:
		if (!has(features, b->tso6))
			return NET_HDR_NO_GSO;
		break;
	case VIRTIO_NET_HDR_GSO_UDP:
		if (!has(features, b->ufo))
			return NET_HDR_NO_GSO;
		break;
	default:
		return NET_HDR_BAD_GSO;
	}
	if (ecn && !has(features, b->ecn))
		return NET_HDR_NO_GSO;
	/*
	 * A segmentation offload is a partial checksum too (5.1.6.2: the
	 * driver sets NEEDS_CSUM with it), and needs a segment size and headers
	 * inside the frame.
	 */
	if (!(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) || le16toh(h->gso_size) == 0 ||
	    le16toh(h->hdr_len) > len)
		return NET_HDR_BAD_GSO;
	return NET_HDR_OK;
}

int net_hdr_check_tx(const struct virtio_net_hdr_v1 *h, size_t frame_len,
		     uint64_t features)
{
	static const struct dir_bits tx = {
		VIRTIO_NET_F_CSUM, VIRTIO_NET_F_HOST_TSO4, VIRTIO_NET_F_HOST_TSO6,
		VIRTIO_NET_F_HOST_UFO, VIRTIO_NET_F_HOST_ECN,
	};

	/* 5.1.6.2: DATA_VALID and RSC_INFO are the device's to set */
	if (h->flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM)
		return NET_HDR_BAD_FLAGS;
	return check(h, frame_len, features, &tx);
}

int net_hdr_check_rx(struct virtio_net_hdr_v1 *h, size_t frame_len,
		     uint64_t features)
{
	static const struct dir_bits rx = {
		VIRTIO_NET_F_GUEST_CSUM, VIRTIO_NET_F_GUEST_TSO4, VIRTIO_NET_F_GUEST_TSO6,
		VIRTIO_NET_F_GUEST_UFO, VIRTIO_NET_F_GUEST_ECN,
	};

	if (h->flags & ~(VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID))
		return NET_HDR_BAD_FLAGS;
	if (!has(features, VIRTIO_NET_F_GUEST_CSUM))
		h->flags &= (uint8_t)~VIRTIO_NET_HDR_F_DATA_VALID;
	return check(h, frame_len, features, &rx);
}

const char *net_hdr_strerror(int err)
{
	static const char *const why[NET_HDR_ERR_MAX] = {
		[NET_HDR_OK] = "no error",
		[NET_HDR_BAD_FLAGS] = "bad header flags",
		[NET_HDR_NO_CSUM] = "checksum offload not negotiated",
		[NET_HDR_BAD_CSUM] = "checksum position outside the frame",
		[NET_HDR_BAD_GSO] = "bad segmentation fields",
		[NET_HDR_NO_GSO] = "segmentation offload not negotiated",
	};

	return err >= 0 && err < NET_HDR_ERR_MAX ? why[err] : "unknown header error";
}

void net_csum_complete(uint8_t *frame, size_t len,
		       const struct virtio_net_hdr_v1 *h)
{
	size_t start = le16toh(h->csum_start);
	size_t at = start + le16toh(h->csum_offset);
	uint64_t sum = 0;
	uint16_t folded;
	size_t i;

	if (!(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) || at + 2 > len)
		return;
	/* big-endian 16-bit words; an odd last byte is padded with zero */
	for (i = start; i + 1 < len; i += 2)
		sum += (uint32_t)frame[i] << 8 | frame[i + 1];
	if (i < len)
		sum += (uint32_t)frame[i] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	folded = (uint16_t)~sum;
	/* as Linux's skb_checksum_help: 0 would mean "no checksum" to UDP */
	if (folded == 0)
		folded = 0xffff;
	frame[at] = (uint8_t)(folded >> 8);
	frame[at + 1] = (uint8_t)folded;
}
