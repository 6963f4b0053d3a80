/*
 * libFuzzer target for the virtio-net header checks and the software
 * checksum (src/virtio/net_hdr.c), called directly as the devices and the
 * backends call them.
 *
 * Input: a 12-byte struct virtio_net_hdr_v1, 8 bytes of accepted features
 * (little-endian), then the frame (up to the end of the input).
 *
 * Checked: a transmit header accepted only when every field it uses is
 * allowed by a feature the driver accepted (NEEDS_CSUM by CSUM, each GSO
 * type by its HOST_ feature, ECN by HOST_ECN and only with a GSO type) and
 * points inside the frame (csum_start + csum_offset + 2, hdr_len), a GSO
 * header also asking for a partial checksum with a non-zero segment size;
 * the same for receive headers with the GUEST_ features, where only
 * DATA_VALID may change (cleared without GUEST_CSUM); every error has its
 * message; net_csum_complete writes only its two bytes and what it writes
 * makes the region's one's-complement sum, with the seed the field held,
 * come to 0xffff (checked in its own arithmetic), never 0.
 */
#include <endian.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "petrel/net_hdr.h"

#include "fuzz_check.h"

struct dir {
	unsigned csum, tso4, tso6, ufo, ecn;
	uint8_t flags_allowed;
};

static bool has(uint64_t f, unsigned bit)
{
	return (f >> bit) & 1;
}

/* What an accepted header must satisfy, in one direction. */
static void check_accepted(const struct virtio_net_hdr_v1 *h, size_t len, uint64_t f,
			   const struct dir *d)
{
	uint8_t gso = h->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;

	CHECK(!(h->flags & ~d->flags_allowed));
	if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		CHECK(has(f, d->csum));
		CHECK((size_t)le16toh(h->csum_start) + le16toh(h->csum_offset) + 2 <= len);
	}
	if (h->gso_type & VIRTIO_NET_HDR_GSO_ECN)
		CHECK(gso != VIRTIO_NET_HDR_GSO_NONE && has(f, d->ecn));
	switch (gso) {
	case VIRTIO_NET_HDR_GSO_NONE:
		return;
	case VIRTIO_NET_HDR_GSO_TCPV4:
		CHECK(has(f, d->tso4));
		break;
	case VIRTIO_NET_HDR_GSO_TCPV6:
		CHECK(has(f, d->tso6));
		break;
	case VIRTIO_NET_HDR_GSO_UDP:
		CHECK(has(f, d->ufo));
		break;
	default:
		CHECK(0);
	}
	CHECK(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM);
	CHECK(le16toh(h->gso_size) != 0 && le16toh(h->hdr_len) <= len);
}

static uint32_t ones_sum(const uint8_t *p, size_t from, size_t to)
{
	uint64_t s = 0;
	size_t i;

	for (i = from; i + 1 < to; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (i < to)
		s += (uint32_t)p[i] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint32_t)s;
}

static void check_csum(const struct virtio_net_hdr_v1 *h, const uint8_t *frame, size_t len)
{
	uint8_t *f = malloc(len ? len : 1);
	size_t start = le16toh(h->csum_start), at = start + le16toh(h->csum_offset);
	bool done = (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && at + 2 <= len;

	CHECK(f);
	memcpy(f, frame, len);
	net_csum_complete(f, len, h);
	for (size_t i = 0; i < len; i++)
		CHECK(f[i] == frame[i] || (done && (i == at || i == at + 1)));
	if (done) {
		uint32_t seed = (uint32_t)frame[at] << 8 | frame[at + 1];
		uint32_t s;

		CHECK(f[at] || f[at + 1]); /* 0 means "no checksum" to UDP */
		if (!((at - start) & 1)) {
			s = ones_sum(f, start, len) + seed;
			while (s >> 16)
				s = (s & 0xffff) + (s >> 16);
			CHECK(s == 0xffff);
		}
	}
	free(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct dir tx = {
		VIRTIO_NET_F_CSUM, VIRTIO_NET_F_HOST_TSO4, VIRTIO_NET_F_HOST_TSO6,
		VIRTIO_NET_F_HOST_UFO, VIRTIO_NET_F_HOST_ECN, VIRTIO_NET_HDR_F_NEEDS_CSUM,
	};
	static const struct dir rx = {
		VIRTIO_NET_F_GUEST_CSUM, VIRTIO_NET_F_GUEST_TSO4, VIRTIO_NET_F_GUEST_TSO6,
		VIRTIO_NET_F_GUEST_UFO, VIRTIO_NET_F_GUEST_ECN,
		VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID,
	};
	struct virtio_net_hdr_v1 h, r;
	uint64_t feat;
	const uint8_t *frame;
	size_t len;
	int e;

	if (size < NET_HDR_LEN + 8)
		return 0;
	memcpy(&h, data, NET_HDR_LEN);
	memcpy(&feat, data + NET_HDR_LEN, 8);
	feat = le64toh(feat);
	frame = data + NET_HDR_LEN + 8;
	len = size - NET_HDR_LEN - 8;

	e = net_hdr_check_tx(&h, len, feat);
	CHECK(e >= 0 && e < NET_HDR_ERR_MAX && net_hdr_strerror(e));
	if (e == NET_HDR_OK) {
		check_accepted(&h, len, feat, &tx);
		check_csum(&h, frame, len);
	}

	r = h;
	e = net_hdr_check_rx(&r, len, feat);
	CHECK(e >= 0 && e < NET_HDR_ERR_MAX);
	/* only DATA_VALID may change, and only to cleared */
	CHECK(r.flags == h.flags ||
	      (!has(feat, VIRTIO_NET_F_GUEST_CSUM) &&
	       r.flags == (h.flags & (uint8_t)~VIRTIO_NET_HDR_F_DATA_VALID)));
	CHECK(!memcmp((const uint8_t *)&r + 1, (const uint8_t *)&h + 1, NET_HDR_LEN - 1));
	if (e == NET_HDR_OK)
		check_accepted(&r, len, feat, &rx);
	CHECK(!strcmp(net_hdr_strerror(-1), net_hdr_strerror(NET_HDR_ERR_MAX)));
	/* the checksum on any header the frame holds it for, accepted or not */
	check_csum(&h, frame, len);
	return 0;
}
