/*
 * The virtio-net header parser (net_hdr.h): each field against the
 * features that allow it, in both directions, and the software checksum
 * against a UDP datagram whose checksum is known.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "petrel/net_hdr.h"

#define F(b) (1ULL << (b))
#define ALL_TX (F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_HOST_TSO4) | F(VIRTIO_NET_F_HOST_TSO6) | \
		F(VIRTIO_NET_F_HOST_UFO) | F(VIRTIO_NET_F_HOST_ECN))
#define ALL_RX (F(VIRTIO_NET_F_GUEST_CSUM) | F(VIRTIO_NET_F_GUEST_TSO4) |                  \
		F(VIRTIO_NET_F_GUEST_TSO6) | F(VIRTIO_NET_F_GUEST_UFO) | F(VIRTIO_NET_F_GUEST_ECN))

static struct virtio_net_hdr_v1 tso(uint8_t type)
{
	struct virtio_net_hdr_v1 h = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .gso_type = type };

	h.gso_size = 1448;
	h.hdr_len = 66;
	h.csum_start = 34;
	h.csum_offset = 16;
	return h;
}

static void test_tx(void **state)
{
	struct virtio_net_hdr_v1 h = { 0 };

	(void)state;
	assert_int_equal(net_hdr_check_tx(&h, 60, 0), NET_HDR_OK);
	/* the flags the device alone sets */
	h.flags = VIRTIO_NET_HDR_F_DATA_VALID;
	assert_int_equal(net_hdr_check_tx(&h, 60, ALL_TX), NET_HDR_BAD_FLAGS);
	h.flags = VIRTIO_NET_HDR_F_RSC_INFO;
	assert_int_equal(net_hdr_check_tx(&h, 60, ALL_TX), NET_HDR_BAD_FLAGS);
	/* a partial checksum: only with CSUM, and inside the frame */
	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h.csum_start = 34;
	h.csum_offset = 6;
	assert_int_equal(net_hdr_check_tx(&h, 60, 0), NET_HDR_NO_CSUM);
	assert_int_equal(net_hdr_check_tx(&h, 60, F(VIRTIO_NET_F_CSUM)), NET_HDR_OK);
	assert_int_equal(net_hdr_check_tx(&h, 42, F(VIRTIO_NET_F_CSUM)), NET_HDR_OK);
	assert_int_equal(net_hdr_check_tx(&h, 41, F(VIRTIO_NET_F_CSUM)), NET_HDR_BAD_CSUM);
	h.csum_start = 0xffff;
	h.csum_offset = 0xffff;
	assert_int_equal(net_hdr_check_tx(&h, 60000, F(VIRTIO_NET_F_CSUM)), NET_HDR_BAD_CSUM);
	/* segmentation offloads, each with its feature */
	h = tso(VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(net_hdr_check_tx(&h, 3000, F(VIRTIO_NET_F_CSUM)), NET_HDR_NO_GSO);
	assert_int_equal(net_hdr_check_tx(&h, 3000, F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_HOST_TSO4)),
			 NET_HDR_OK);
	h = tso(VIRTIO_NET_HDR_GSO_TCPV6);
	assert_int_equal(net_hdr_check_tx(&h, 3000, F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_HOST_TSO4)),
			 NET_HDR_NO_GSO);
	assert_int_equal(net_hdr_check_tx(&h, 3000, ALL_TX), NET_HDR_OK);
	h = tso(VIRTIO_NET_HDR_GSO_UDP);
	assert_int_equal(net_hdr_check_tx(&h, 3000, ALL_TX & ~F(VIRTIO_NET_F_HOST_UFO)), NET_HDR_NO_GSO);
	assert_int_equal(net_hdr_check_tx(&h, 3000, ALL_TX), NET_HDR_OK);
	h = tso(VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN);
	assert_int_equal(net_hdr_check_tx(&h, 3000, ALL_TX & ~F(VIRTIO_NET_F_HOST_ECN)), NET_HDR_NO_GSO);
	assert_int_equal(net_hdr_check_tx(&h, 3000, ALL_TX), NET_HDR_OK);
	/* ECN alone, unknown types, no segment size, headers past the frame, no csum */
	h = (struct virtio_net_hdr_v1){ .gso_type = VIRTIO_NET_HDR_GSO_ECN };
	assert_int_equal(net_hdr_check_tx(&h, 3000, ALL_TX), NET_HDR_BAD_GSO);
	for (unsigned t = 0; t < 128; t++) {
		if (t == 0 || t == 1 || t == 3 || t == 4)
			continue;
		h = tso((uint8_t)t);
		assert_int_equal(net_hdr_check_tx(&h, 3000, ALL_TX), NET_HDR_BAD_GSO);
	}
	h = tso(VIRTIO_NET_HDR_GSO_TCPV4);
	h.gso_size = 0;
	assert_int_equal(net_hdr_check_tx(&h, 3000, ALL_TX), NET_HDR_BAD_GSO);
	h = tso(VIRTIO_NET_HDR_GSO_TCPV4);
	h.hdr_len = 3001;
	assert_int_equal(net_hdr_check_tx(&h, 3000, ALL_TX), NET_HDR_BAD_GSO);
	h = tso(VIRTIO_NET_HDR_GSO_TCPV4);
	h.flags = 0;
	assert_int_equal(net_hdr_check_tx(&h, 3000, ALL_TX), NET_HDR_BAD_GSO);
	assert_string_equal(net_hdr_strerror(NET_HDR_NO_GSO), "segmentation offload not negotiated");
	assert_string_equal(net_hdr_strerror(99), "unknown header error");
}

static void test_rx(void **state)
{
	struct virtio_net_hdr_v1 h = { .flags = VIRTIO_NET_HDR_F_DATA_VALID };

	(void)state;
	/* DATA_VALID means nothing to a driver without GUEST_CSUM: cleared */
	assert_int_equal(net_hdr_check_rx(&h, 60, 0), NET_HDR_OK);
	assert_int_equal(h.flags, 0);
	h.flags = VIRTIO_NET_HDR_F_DATA_VALID;
	assert_int_equal(net_hdr_check_rx(&h, 60, F(VIRTIO_NET_F_GUEST_CSUM)), NET_HDR_OK);
	assert_int_equal(h.flags, VIRTIO_NET_HDR_F_DATA_VALID);
	h.flags = VIRTIO_NET_HDR_F_RSC_INFO;
	assert_int_equal(net_hdr_check_rx(&h, 60, ALL_RX), NET_HDR_BAD_FLAGS);
	/* the host-side features do not allow receive offloads */
	h = tso(VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(net_hdr_check_rx(&h, 3000, ALL_TX), NET_HDR_NO_CSUM);
	assert_int_equal(net_hdr_check_rx(&h, 3000, F(VIRTIO_NET_F_GUEST_CSUM)), NET_HDR_NO_GSO);
	assert_int_equal(net_hdr_check_rx(&h, 3000, ALL_RX), NET_HDR_OK);
	h = tso(VIRTIO_NET_HDR_GSO_TCPV6);
	assert_int_equal(net_hdr_check_rx(&h, 3000, ALL_RX & ~F(VIRTIO_NET_F_GUEST_TSO6)), NET_HDR_NO_GSO);
}

/*
 * An IPv4/UDP datagram with a partial checksum: the driver left the
 * pseudo-header sum in the field, the checksum covers the UDP header and
 * data. The expected value was computed independently (the one's
 * complement of the sum over pseudo header, UDP header and payload).
 */
static void test_csum(void **state)
{
	uint8_t f[14 + 20 + 8 + 5] = { 0 };
	struct virtio_net_hdr_v1 h = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM };
	uint32_t sum;

	(void)state;
	f[12] = 0x08;
	f[14] = 0x45;
	f[14 + 9] = 17;
	memcpy(f + 26, "\x0a\x00\x02\x0f", 4); /* 10.0.2.15 */
	memcpy(f + 30, "\x0a\x00\x02\x02", 4); /* 10.0.2.2 */
	uint8_t *u = f + 34;
	u[0] = 0x30; u[1] = 0x39; /* 12345 */
	u[2] = 0x00; u[3] = 0x35; /* 53 */
	u[4] = 0x00; u[5] = 13;   /* length */
	memcpy(u + 8, "hello", 5);
	/* pseudo header: src, dst, proto, length */
	sum = 0x0a00 + 0x020f + 0x0a00 + 0x0202 + 17 + 13;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	u[6] = (uint8_t)(sum >> 8);
	u[7] = (uint8_t)sum;
	h.csum_start = 34;
	h.csum_offset = 6;
	net_csum_complete(f, sizeof(f), &h);
	/* a full sum over pseudo header + datagram, with the checksum in, is 0xffff */
	uint32_t v = 0x0a00 + 0x020f + 0x0a00 + 0x0202 + 17 + 13;
	for (unsigned i = 0; i < 13; i += 2)
		v += (uint32_t)u[i] << 8 | (i + 1 < 13 ? u[i + 1] : 0);
	while (v >> 16)
		v = (v & 0xffff) + (v >> 16);
	assert_int_equal(v, 0xffff);
	/* the known answer (computed with Python's struct over the same bytes) */
	assert_int_equal(u[6] << 8 | u[7], 0x7383); /* Python: ~sum(pseudo + udp) & 0xffff */
	/* without NEEDS_CSUM, or a field past the end, nothing is written */
	uint8_t before[sizeof(f)];
	memcpy(before, f, sizeof(f));
	h.csum_offset = 20;
	net_csum_complete(f, sizeof(f), &h);
	h.flags = 0;
	h.csum_offset = 6;
	net_csum_complete(f, sizeof(f), &h);
	assert_memory_equal(before, f, sizeof(f));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tx),
		cmocka_unit_test(test_rx),
		cmocka_unit_test(test_csum),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
