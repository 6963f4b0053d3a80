/*
 * Writes the seed corpora of fuzz_virtio_net_tx and fuzz_virtio_net_rx
 * (netf_input.h): well-formed transmit chains (header and frame together
 * and apart, a partial checksum, TSO, an indirect table) and receive rings
 * (big buffers, small ones for MRG_RXBUF) with a few injected frames.
 *   cc -Iinclude -Itests/fuzz tests/fuzz/mkseeds_virtio_net.c -o mkseeds &&
 *   ./mkseeds tests/fuzz/corpus
 */
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "netf_input.h"

static uint8_t in[NETF_HDR_SIZE + NETF_RAM_IN + 4096];
static size_t in_len;

static uint8_t *ram(void)
{
	return in + NETF_HDR_SIZE;
}

static void reset(uint8_t size_log2, uint8_t features, uint8_t flags)
{
	memset(in, 0, sizeof(in));
	in[0] = size_log2;
	in[1] = features;
	in[2] = 1;
	in[3] = flags;
	in_len = NETF_HDR_SIZE + NETF_RAM_IN;
}

static void avail(uint16_t n)
{
	struct vring_avail *a = (struct vring_avail *)(ram() + NETF_AVAIL);

	for (uint16_t i = 0; i < n; i++)
		a->ring[i] = i;
	a->idx = n;
}

static void save(const char *dir, const char *target, const char *name)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/%s", dir, target, name);
	f = fopen(path, "wb");
	if (!f || fwrite(in, 1, in_len, f) != in_len) {
		perror(path);
		return;
	}
	fclose(f);
}

/* one transmit chain at descriptor slot head: header h then len bytes */
static void tx_chain(uint16_t head, const struct virtio_net_hdr_v1 *h, uint32_t len, int split)
{
	struct vring_desc *d = (struct vring_desc *)(ram() + NETF_DESC);
	uint32_t at = NETF_DATA + head * 0x200;

	memcpy(ram() + at, h, sizeof(*h));
	for (uint32_t i = 0; i < len; i++)
		ram()[at + 12 + i] = (uint8_t)i;
	if (split) {
		d[head] = (struct vring_desc){ at, 12, VRING_DESC_F_NEXT, (uint16_t)(head + 1) };
		d[head + 1] = (struct vring_desc){ at + 12, len, 0, 0 };
	} else {
		d[head] = (struct vring_desc){ at, 12 + len, 0, 0 };
	}
}

static void tx_seeds(const char *dir)
{
	struct virtio_net_hdr_v1 h = { 0 };
	struct vring_avail *a = (struct vring_avail *)(ram() + NETF_AVAIL);

	reset(3, 0, 0);
	tx_chain(0, &h, 60, 0);
	avail(1);
	save(dir, "fuzz_virtio_net_tx", "one-frame");

	reset(3, 1, 0);
	tx_chain(0, &h, 200, 1);
	a->ring[0] = 0;
	a->idx = 1;
	save(dir, "fuzz_virtio_net_tx", "split-event-idx");

	reset(3, 8, 0);
	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h.csum_start = 34;
	h.csum_offset = 16;
	tx_chain(0, &h, 100, 0);
	avail(1);
	save(dir, "fuzz_virtio_net_tx", "csum");

	reset(3, 8 | 32, 1);
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	h.gso_size = 100;
	h.hdr_len = 54;
	tx_chain(0, &h, 300, 1);
	a->ring[0] = 0;
	a->idx = 1;
	save(dir, "fuzz_virtio_net_tx", "tso4-offloads");

	reset(3, 2, 2);
	memset(&h, 0, sizeof(h));
	{
		struct vring_desc *d = (struct vring_desc *)(ram() + NETF_DESC);
		struct vring_desc *t = (struct vring_desc *)(ram() + NETF_DATA + 0x800);

		memcpy(ram() + NETF_DATA, &h, sizeof(h));
		t[0] = (struct vring_desc){ NETF_DATA, 12, VRING_DESC_F_NEXT, 1 };
		t[1] = (struct vring_desc){ NETF_DATA + 0x100, 64, 0, 0 };
		d[0] = (struct vring_desc){ NETF_DATA + 0x800, 32, VRING_DESC_F_INDIRECT, 0 };
	}
	avail(1);
	save(dir, "fuzz_virtio_net_tx", "indirect-eagain");
}

/* n receive buffers of size bytes, one descriptor each */
static void rx_bufs(uint16_t n, uint32_t size)
{
	struct vring_desc *d = (struct vring_desc *)(ram() + NETF_DESC);

	for (uint16_t i = 0; i < n; i++)
		d[i] = (struct vring_desc){ 0x4000 + (uint64_t)i * size, size, VRING_DESC_F_WRITE, 0 };
	avail(n);
}

static void frame(const struct virtio_net_hdr_v1 *h, uint16_t len)
{
	in[in_len++] = (uint8_t)len;
	in[in_len++] = (uint8_t)(len >> 8);
	memcpy(in + in_len, h, 12);
	in_len += 12;
	for (uint16_t i = 0; i < len; i++)
		in[in_len++] = (uint8_t)(i * 3);
}

static void rx_seeds(const char *dir)
{
	struct virtio_net_hdr_v1 h = { 0 };

	reset(3, 0, 0);
	rx_bufs(4, 2048);
	frame(&h, 60);
	frame(&h, 1514);
	save(dir, "fuzz_virtio_net_rx", "big-buffers");

	reset(4, 4 | 1, 0);
	rx_bufs(16, 256);
	frame(&h, 1500);
	frame(&h, 3000);
	save(dir, "fuzz_virtio_net_rx", "mrg-small-buffers");

	reset(4, 4 | 16 | 32, 1);
	rx_bufs(16, 512);
	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	h.gso_size = 1448;
	h.csum_start = 34;
	h.csum_offset = 16;
	frame(&h, 3000);
	save(dir, "fuzz_virtio_net_rx", "mrg-tso-offloads");
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "tests/fuzz/corpus";

	tx_seeds(dir);
	rx_seeds(dir);
	return 0;
}
