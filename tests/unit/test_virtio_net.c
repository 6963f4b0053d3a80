/*
 * virtio-net through the virtio core, a driver-side ring per queue and a
 * fake backend: transmit of good and hostile chains (each bad one fails
 * alone, counted by reason), back-pressure both ways (a backend that
 * cannot take a frame, a guest with no receive buffers), MRG_RXBUF
 * accounting (num_buffers, per-buffer lengths, all-or-nothing), offload
 * headers checked against the accepted features, and the link status.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>
#include <string.h>

#include "drv_ring.h"
#include "petrel/net_hdr.h"
#include "petrel/virtio_net.h"

#define RAM_SIZE (4 * 1024 * 1024)
#define QS 16
#define F(b) (1ULL << (b))
#define BASE_FEATURES (F(VIRTIO_NET_F_MAC) | F(VIRTIO_NET_F_STATUS) | F(VIRTIO_NET_F_CSUM) | \
		       F(VIRTIO_NET_F_GUEST_CSUM))

struct fake_be {
	uint8_t last[NET_FRAME_MAX];
	size_t last_len;
	struct virtio_net_hdr_v1 last_hdr;
	unsigned sent, rx_ready_calls;
	int next_ret; /* what transmit returns (0, -EAGAIN, -EIO) */
	uint64_t offloads_seen;
};

struct fixture {
	struct guest_mem mem;
	struct virtio_net *n;
	struct virtio_dev *d;
	struct drv_ring rx, tx;
	struct fake_be be;
	struct net_port port;
};

static struct fixture fx;

static int fake_transmit(void *opaque, const struct virtio_net_hdr_v1 *hdr,
			 const struct iovec *iov, unsigned n, size_t len)
{
	struct fake_be *b = opaque;

	if (b->next_ret)
		return b->next_ret;
	assert_true(len <= sizeof(b->last));
	net_iov_gather(b->last, iov, n, len);
	b->last_len = len;
	b->last_hdr = *hdr;
	b->sent++;
	return 0;
}

static void fake_rx_ready(void *opaque)
{
	((struct fake_be *)opaque)->rx_ready_calls++;
}

static void fake_offloads(void *opaque, uint64_t f)
{
	((struct fake_be *)opaque)->offloads_seen = f | 1; /* 1: called */
}

static const struct net_backend_ops fake_ops = { fake_transmit, fake_rx_ready, fake_offloads };

static void make(uint64_t offloads)
{
	static const uint8_t mac[6] = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 };
	struct net_backend be = { &fake_ops, &fx.be, offloads, "fake" };

	memset(&fx, 0, sizeof(fx));
	assert_int_equal(guest_mem_init(&fx.mem, RAM_SIZE), 0);
	assert_int_equal(virtio_net_create(&fx.n, 0, mac, be, &fx.mem, NULL), 0);
	fx.d = virtio_net_dev(fx.n);
	fx.port = virtio_net_port(fx.n);
	drv_ring_init(&fx.rx, &fx.mem, QS, 0x10000, 0x200000);
	drv_ring_init(&fx.tx, &fx.mem, QS, 0x200000, RAM_SIZE);
}

static void program(unsigned qi, const struct drv_ring *r)
{
	virtio_lock(fx.d);
	struct virtio_queue *q = virtio_queue(fx.d, qi);
	q->vq.size = r->size;
	q->vq.desc = r->desc;
	q->vq.avail = r->avail;
	q->vq.used = r->used;
	q->vq.ready = true;
	virtio_unlock(fx.d);
}

/* Both queues programmed, features = VERSION_1 | f; the status reached. */
static uint8_t start(uint64_t f)
{
	uint8_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;

	f |= 1ULL << VIRTIO_F_VERSION_1;
	virtio_set_status(fx.d, 0);
	virtio_set_status(fx.d, s);
	virtio_set_features(fx.d, 0, (uint32_t)f);
	virtio_set_features(fx.d, 1, (uint32_t)(f >> 32));
	s |= VIRTIO_CONFIG_S_FEATURES_OK;
	virtio_set_status(fx.d, s);
	program(VIRTIO_NET_RX_Q, &fx.rx);
	program(VIRTIO_NET_TX_Q, &fx.tx);
	virtio_set_status(fx.d, s | VIRTIO_CONFIG_S_DRIVER_OK);
	return virtio_get_status(fx.d);
}

static int setup(void **state)
{
	(void)state;
	make(0);
	return start(BASE_FEATURES | F(VIRTIO_NET_F_MRG_RXBUF)) & VIRTIO_CONFIG_S_DRIVER_OK ? 0 : -1;
}

static int setup_nomrg(void **state)
{
	(void)state;
	make(0);
	return start(BASE_FEATURES) & VIRTIO_CONFIG_S_DRIVER_OK ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	virtio_net_destroy(fx.n);
	guest_mem_destroy(&fx.mem);
	return 0;
}

static struct virtio_net_stats stats(void)
{
	struct virtio_net_stats s;

	virtio_net_get_stats(fx.n, &s);
	return s;
}

/* A transmit chain: header h, then frame in pieces of at most piece bytes. */
static uint16_t tx_add(const struct virtio_net_hdr_v1 *h, const uint8_t *frame, size_t len,
		       size_t piece)
{
	struct drv_buf b[QS];
	unsigned n = 0;
	gpa_t g = drv_alloc(&fx.tx, NET_HDR_LEN, 8);

	memcpy(drv_ptr(&fx.tx, g, NET_HDR_LEN), h, NET_HDR_LEN);
	b[n++] = (struct drv_buf){ g, NET_HDR_LEN, false };
	for (size_t off = 0; off < len; off += piece) {
		size_t c = MIN(piece, len - off);

		g = drv_alloc(&fx.tx, c, 8);
		memcpy(drv_ptr(&fx.tx, g, c), frame + off, c);
		b[n++] = (struct drv_buf){ g, (uint32_t)c, false };
	}
	return drv_add(&fx.tx, b, n);
}

static void fill(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 7 + seed);
}

/* The next used entry of ring r: head and length. */
static void expect_used(struct drv_ring *r, uint16_t head, uint32_t len)
{
	uint16_t h;
	uint32_t l;

	assert_true(drv_used(r, &h, &l));
	assert_int_equal(h, head);
	assert_int_equal(l, len);
}

static void test_identity(void **state)
{
	uint8_t cfg[12];

	(void)state;
	assert_int_equal(fx.d->device_id, VIRTIO_ID_NET);
	assert_int_equal(fx.d->nr_queues, 2);
	/* no segmentation offloads for a backend without them */
	assert_false(fx.d->host_features & (F(VIRTIO_NET_F_HOST_TSO4) | F(VIRTIO_NET_F_GUEST_TSO4)));
	assert_true(fx.d->host_features & F(VIRTIO_NET_F_MRG_RXBUF));
	assert_true(fx.d->host_features & F(VIRTIO_NET_F_CSUM));
	virtio_config_read(fx.d, 0, cfg, sizeof(cfg));
	assert_memory_equal(cfg, "\x52\x54\x00\x12\x34\x56", 6);
	assert_int_equal(cfg[6] | cfg[7] << 8, VIRTIO_NET_S_LINK_UP);
	assert_true(fx.be.offloads_seen & 1); /* told at DRIVER_OK */
	teardown(NULL);
	make(F(VIRTIO_NET_F_HOST_TSO4) | F(VIRTIO_NET_F_GUEST_TSO6) | F(VIRTIO_NET_F_MAC));
	assert_true(fx.d->host_features & F(VIRTIO_NET_F_HOST_TSO4));
	assert_true(fx.d->host_features & F(VIRTIO_NET_F_GUEST_TSO6));
	assert_false(fx.d->host_features & F(VIRTIO_NET_F_HOST_TSO6));
}

static void test_tx_good(void **state)
{
	uint8_t frame[3000];
	struct virtio_net_hdr_v1 h = { 0 };
	uint16_t head;

	(void)state;
	fill(frame, sizeof(frame), 1);
	head = tx_add(&h, frame, sizeof(frame), 1000);
	drv_kick(fx.d, VIRTIO_NET_TX_Q);
	assert_int_equal(fx.be.sent, 1);
	assert_int_equal(fx.be.last_len, sizeof(frame));
	assert_memory_equal(fx.be.last, frame, sizeof(frame));
	expect_used(&fx.tx, head, 0);
	/* header and frame in one descriptor (ANY_LAYOUT) */
	struct virtio_net_hdr_v1 hc = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM };
	hc.csum_start = 34;
	hc.csum_offset = 6;
	gpa_t g = drv_alloc(&fx.tx, NET_HDR_LEN + 100, 8);
	memcpy(drv_ptr(&fx.tx, g, NET_HDR_LEN), &hc, NET_HDR_LEN);
	memcpy(drv_ptr(&fx.tx, g + NET_HDR_LEN, 100), frame, 100);
	struct drv_buf one = { g, NET_HDR_LEN + 100, false };
	head = drv_add(&fx.tx, &one, 1);
	drv_kick(fx.d, VIRTIO_NET_TX_Q);
	assert_int_equal(fx.be.sent, 2);
	assert_int_equal(fx.be.last_len, 100);
	assert_int_equal(fx.be.last_hdr.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(fx.be.last_hdr.csum_start, 34);
	expect_used(&fx.tx, head, 0);
	struct virtio_net_stats s = stats();
	assert_int_equal(s.tx_packets, 2);
	assert_int_equal(s.tx_bytes, 3100);
}

/* Each bad chain is used with length 0, counted, and the next one goes. */
static void test_tx_hostile(void **state)
{
	uint8_t frame[200];
	struct virtio_net_hdr_v1 ok = { 0 }, h;
	uint16_t heads[16];
	unsigned n = 0;

	(void)state;
	fill(frame, sizeof(frame), 2);
	/* too short: 13 bytes of frame */
	heads[n++] = tx_add(&ok, frame, 13, 100);
	/* DATA_VALID is the device's */
	h = ok;
	h.flags = VIRTIO_NET_HDR_F_DATA_VALID;
	heads[n++] = tx_add(&h, frame, 100, 100);
	/* checksum past the end */
	h = ok;
	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h.csum_start = 90;
	h.csum_offset = 9;
	heads[n++] = tx_add(&h, frame, 100, 100);
	/* TSO that was not offered */
	h = ok;
	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	h.gso_size = 1448;
	h.csum_start = 34;
	h.csum_offset = 16;
	heads[n++] = tx_add(&h, frame, 100, 100);
	/* an unknown GSO type */
	h.gso_type = 7;
	heads[n++] = tx_add(&h, frame, 100, 100);
	/* a writable buffer in a transmit chain */
	gpa_t g = drv_alloc(&fx.tx, 128, 8);
	struct drv_buf wb[2] = { { g, NET_HDR_LEN + 20, false }, { g + 64, 64, true } };
	heads[n++] = drv_add(&fx.tx, wb, 2);
	/* a descriptor outside RAM: the chain is malformed */
	struct drv_buf bad[2] = { { g, NET_HDR_LEN, false }, { RAM_SIZE - 16, 64, false } };
	heads[n++] = drv_add(&fx.tx, bad, 2);
	/* and a good one after all of them */
	heads[n++] = tx_add(&ok, frame, 60, 100);
	drv_kick(fx.d, VIRTIO_NET_TX_Q);
	for (unsigned i = 0; i < n; i++)
		expect_used(&fx.tx, heads[i], 0);
	assert_int_equal(fx.be.sent, 1);
	assert_int_equal(fx.be.last_len, 60);
	assert_false(virtio_get_status(fx.d) & VIRTIO_CONFIG_S_NEEDS_RESET);
	struct virtio_net_stats s = stats();
	assert_int_equal(s.drops[NET_DROP_TX_SHORT], 1);
	assert_int_equal(s.drops[NET_DROP_TX_HDR], 4);
	assert_int_equal(s.drops[NET_DROP_TX_WRITABLE], 1);
	assert_int_equal(s.drops[NET_DROP_TX_CHAIN], 1);
	assert_int_equal(s.tx_packets, 1);
}

static void test_tx_too_long(void **state)
{
	static uint8_t frame[NET_FRAME_MAX + 1];
	struct virtio_net_hdr_v1 ok = { 0 };
	uint16_t head;

	(void)state;
	head = tx_add(&ok, frame, sizeof(frame), 8192);
	drv_kick(fx.d, VIRTIO_NET_TX_Q);
	expect_used(&fx.tx, head, 0);
	assert_int_equal(stats().drops[NET_DROP_TX_LONG], 1);
	assert_int_equal(fx.be.sent, 0);
	/* the largest allowed goes */
	head = tx_add(&ok, frame, NET_FRAME_MAX, 8192);
	drv_kick(fx.d, VIRTIO_NET_TX_Q);
	expect_used(&fx.tx, head, 0);
	assert_int_equal(fx.be.sent, 1);
}

/* A backend without room: the chain stays on the ring until tx_ready. */
static void test_tx_backpressure(void **state)
{
	uint8_t frame[64];
	struct virtio_net_hdr_v1 ok = { 0 };
	uint16_t h1, h2, h;
	uint32_t l;

	(void)state;
	fill(frame, sizeof(frame), 3);
	fx.be.next_ret = -EAGAIN;
	h1 = tx_add(&ok, frame, 64, 64);
	h2 = tx_add(&ok, frame, 64, 64);
	drv_kick(fx.d, VIRTIO_NET_TX_Q);
	assert_false(drv_used(&fx.tx, &h, &l));
	/* a kick while blocked changes nothing */
	drv_kick(fx.d, VIRTIO_NET_TX_Q);
	assert_false(drv_used(&fx.tx, &h, &l));
	fx.be.next_ret = 0;
	fx.port.tx_ready(fx.port.dev);
	expect_used(&fx.tx, h1, 0);
	expect_used(&fx.tx, h2, 0);
	assert_int_equal(fx.be.sent, 2);
	/* a failing backend fails the frame, not the queue */
	fx.be.next_ret = -EIO;
	h1 = tx_add(&ok, frame, 64, 64);
	drv_kick(fx.d, VIRTIO_NET_TX_Q);
	expect_used(&fx.tx, h1, 0);
	assert_int_equal(stats().drops[NET_DROP_TX_BACKEND], 1);
}

/* n receive buffers of size bytes each; returns the first head. */
static uint16_t rx_post(unsigned n, uint32_t size, gpa_t *gpas)
{
	uint16_t first = 0;

	for (unsigned i = 0; i < n; i++) {
		gpa_t g = drv_alloc(&fx.rx, size, 8);
		struct drv_buf b = { g, size, true };
		uint16_t h = drv_add(&fx.rx, &b, 1);

		if (gpas)
			gpas[i] = g;
		if (!i)
			first = h;
	}
	return first;
}

static void test_rx_mrg(void **state)
{
	uint8_t frame[4000], got[4000];
	gpa_t g[3];
	uint16_t h0, h;
	uint32_t l;

	(void)state;
	fill(frame, sizeof(frame), 4);
	/* two buffers are not enough for 12 + 4000 bytes: nothing is taken */
	h0 = rx_post(2, 1500, g);
	assert_int_equal(fx.port.receive(fx.port.dev, NULL, frame, sizeof(frame)), 0);
	assert_false(drv_used(&fx.rx, &h, &l));
	/* the third buffer, and the driver's kick: the backend hears of it */
	rx_post(1, 1500, g + 2);
	drv_kick(fx.d, VIRTIO_NET_RX_Q);
	assert_int_equal(fx.be.rx_ready_calls, 1);
	assert_int_equal(fx.port.receive(fx.port.dev, NULL, frame, sizeof(frame)), 1);
	expect_used(&fx.rx, h0, 1500);
	expect_used(&fx.rx, (uint16_t)(h0 + 1), 1500);
	expect_used(&fx.rx, (uint16_t)(h0 + 2), 4012 - 3000);
	struct virtio_net_hdr_v1 *hdr = drv_ptr(&fx.rx, g[0], NET_HDR_LEN);
	assert_int_equal(hdr->num_buffers, 3);
	assert_int_equal(hdr->flags, 0);
	memcpy(got, drv_ptr(&fx.rx, g[0] + NET_HDR_LEN, 1488), 1488);
	memcpy(got + 1488, drv_ptr(&fx.rx, g[1], 1500), 1500);
	memcpy(got + 2988, drv_ptr(&fx.rx, g[2], 1012), 1012);
	assert_memory_equal(got, frame, sizeof(frame));
	struct virtio_net_stats s = stats();
	assert_int_equal(s.rx_packets, 1);
	assert_int_equal(s.rx_buffers, 3);
	assert_int_equal(s.rx_bytes, 4000);
	/* a small frame takes one buffer, num_buffers 1 */
	rx_post(1, 1500, g);
	assert_int_equal(fx.port.receive(fx.port.dev, NULL, frame, 60), 1);
	assert_true(drv_used(&fx.rx, &h, &l));
	assert_int_equal(l, NET_HDR_LEN + 60);
	assert_int_equal(((struct virtio_net_hdr_v1 *)drv_ptr(&fx.rx, g[0], 12))->num_buffers, 1);
}

static void test_rx_no_buffers(void **state)
{
	uint8_t frame[100];

	(void)state;
	fill(frame, sizeof(frame), 5);
	assert_int_equal(fx.port.receive(fx.port.dev, NULL, frame, sizeof(frame)), 0);
	assert_int_equal(fx.port.receive(fx.port.dev, NULL, frame, sizeof(frame)), 0);
	/* a kick with nothing owed is not passed on twice */
	rx_post(1, 2048, NULL);
	drv_kick(fx.d, VIRTIO_NET_RX_Q);
	drv_kick(fx.d, VIRTIO_NET_RX_Q);
	assert_int_equal(fx.be.rx_ready_calls, 1);
	assert_int_equal(fx.port.receive(fx.port.dev, NULL, frame, sizeof(frame)), 1);
	assert_int_equal(stats().rx_packets, 1);
}

/* Without MRG_RXBUF a frame needs one chain that holds it. */
static void test_rx_small_nomrg(void **state)
{
	uint8_t frame[1000];
	gpa_t g[2];
	uint16_t h0;

	(void)state;
	fill(frame, sizeof(frame), 6);
	h0 = rx_post(1, 500, g);
	assert_int_equal(fx.port.receive(fx.port.dev, NULL, frame, sizeof(frame)), 1);
	expect_used(&fx.rx, h0, 0);
	assert_int_equal(stats().drops[NET_DROP_RX_SMALL], 1);
	/* a chain of two buffers holds it */
	gpa_t a = drv_alloc(&fx.rx, 600, 8), b = drv_alloc(&fx.rx, 600, 8);
	struct drv_buf two[2] = { { a, 600, true }, { b, 600, true } };
	h0 = drv_add(&fx.rx, two, 2);
	assert_int_equal(fx.port.receive(fx.port.dev, NULL, frame, sizeof(frame)), 1);
	expect_used(&fx.rx, h0, NET_HDR_LEN + 1000);
	assert_int_equal(((struct virtio_net_hdr_v1 *)drv_ptr(&fx.rx, a, 12))->num_buffers, 1);
	assert_memory_equal(drv_ptr(&fx.rx, b, 412), frame + 588, 412);
}

/* What a backend hands the guest must fit what the driver accepted. */
static void test_rx_headers(void **state)
{
	uint8_t frame[100];
	struct virtio_net_hdr_v1 h = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
				       .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
				       .gso_size = 1448, .csum_start = 34, .csum_offset = 16 };
	gpa_t g[1];

	(void)state;
	fill(frame, sizeof(frame), 7);
	rx_post(1, 2048, g);
	/* no GUEST_TSO4 accepted: dropped, the buffer stays */
	assert_int_equal(fx.port.receive(fx.port.dev, &h, frame, sizeof(frame)), 1);
	assert_int_equal(stats().drops[NET_DROP_RX_HDR], 1);
	/* too short and too long frames */
	assert_int_equal(fx.port.receive(fx.port.dev, NULL, frame, 13), 1);
	assert_int_equal(stats().drops[NET_DROP_RX_FRAME], 1);
	/* partial checksum with GUEST_CSUM: passed on */
	h.gso_type = 0;
	h.gso_size = 0;
	assert_int_equal(fx.port.receive(fx.port.dev, &h, frame, sizeof(frame)), 1);
	struct virtio_net_hdr_v1 *got = drv_ptr(&fx.rx, g[0], NET_HDR_LEN);
	assert_int_equal(got->flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(got->csum_start, 34);
	assert_int_equal(got->num_buffers, 1);
}

static void test_link_down(void **state)
{
	uint8_t frame[64] = { 0 }, cfg[8];
	struct virtio_net_hdr_v1 ok = { 0 };
	uint32_t gen = fx.d->config_generation;
	uint16_t head;

	(void)state;
	fx.port.link(fx.port.dev, false);
	virtio_config_read(fx.d, 0, cfg, sizeof(cfg));
	assert_int_equal(cfg[6] | cfg[7] << 8, 0);
	assert_int_not_equal(fx.d->config_generation, gen);
	head = tx_add(&ok, frame, 64, 64);
	drv_kick(fx.d, VIRTIO_NET_TX_Q);
	expect_used(&fx.tx, head, 0);
	assert_int_equal(stats().drops[NET_DROP_TX_LINK], 1);
	assert_int_equal(fx.be.sent, 0);
	fx.port.link(fx.port.dev, true);
	head = tx_add(&ok, frame, 64, 64);
	drv_kick(fx.d, VIRTIO_NET_TX_Q);
	expect_used(&fx.tx, head, 0);
	assert_int_equal(fx.be.sent, 1);
}

/* A frame waiting for buffers survives a driver reset and comes after. */
static void test_rx_across_reset(void **state)
{
	uint8_t frame[100];

	(void)state;
	fill(frame, sizeof(frame), 8);
	assert_int_equal(fx.port.receive(fx.port.dev, NULL, frame, sizeof(frame)), 0);
	virtio_set_status(fx.d, 0);
	assert_int_equal(fx.port.receive(fx.port.dev, NULL, frame, sizeof(frame)), 0);
	drv_ring_init(&fx.rx, &fx.mem, QS, 0x10000, 0x200000);
	drv_ring_init(&fx.tx, &fx.mem, QS, 0x200000, RAM_SIZE);
	assert_true(start(BASE_FEATURES | F(VIRTIO_NET_F_MRG_RXBUF)) & VIRTIO_CONFIG_S_DRIVER_OK);
	rx_post(1, 2048, NULL);
	/* DRIVER_OK kicks every ready queue; here the test delivers that kick */
	drv_kick(fx.d, VIRTIO_NET_RX_Q);
	assert_int_equal(fx.be.rx_ready_calls, 1);
	assert_int_equal(fx.port.receive(fx.port.dev, NULL, frame, sizeof(frame)), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_identity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_good, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_hostile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_too_long, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_backpressure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_mrg, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_no_buffers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_small_nomrg, setup_nomrg, teardown),
		cmocka_unit_test_setup_teardown(test_rx_headers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_link_down, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_across_reset, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
