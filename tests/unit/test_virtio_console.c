/*
 * virtio-console through the virtio core and driver-side rings (receiveq0
 * and transmitq0), with a sink that takes a set number of bytes: transmit
 * reaches the sink in order; receive fills the guest's buffers and loses
 * nothing when none are posted; a full sink holds chains on the ring until
 * tx_ready; reset drops a held chain; a malformed chain asks for a reset.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <string.h>

#include "drv_ring.h"
#include "petrel/virtio_console.h"

#define RAM_SIZE (4 * 1024 * 1024)
#define QSIZE 16

struct sink {
	uint8_t buf[256 * 1024];
	size_t len;
	size_t room;       /* bytes it takes before it comes up short */
	unsigned rx_ready; /* calls */
};

struct fixture {
	struct guest_mem mem;
	struct virtio_console *con;
	struct virtio_dev *d;
	struct drv_ring rx, tx;
	struct sink sink;
};

static struct fixture fx;

static size_t sink_write(void *opaque, const uint8_t *buf, size_t len)
{
	struct sink *s = opaque;
	size_t n = MIN(len, s->room);

	memcpy(s->buf + s->len, buf, n);
	s->len += n;
	s->room -= n;
	return n;
}

static void sink_rx_ready(void *opaque)
{
	((struct sink *)opaque)->rx_ready++;
}

/* Both queues programmed, then DRIVER_OK, as a transport would. */
static uint8_t start(void)
{
	struct virtio_dev *d = fx.d;
	uint8_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		    VIRTIO_CONFIG_S_FEATURES_OK;
	struct drv_ring *rings[2] = { &fx.rx, &fx.tx };

	virtio_set_status(d, 0);
	virtio_set_status(d, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	virtio_set_features(d, 0, 0);
	virtio_set_features(d, 1, 1); /* VERSION_1 is bit 32 */
	virtio_set_status(d, s);
	virtio_lock(d);
	for (unsigned q = 0; q < 2; q++) {
		struct virtio_queue *vq = virtio_queue(d, q);

		vq->vq.size = rings[q]->size;
		vq->vq.desc = rings[q]->desc;
		vq->vq.avail = rings[q]->avail;
		vq->vq.used = rings[q]->used;
		vq->vq.ready = true;
	}
	virtio_unlock(d);
	virtio_set_status(d, s | VIRTIO_CONFIG_S_DRIVER_OK);
	return virtio_get_status(d);
}

static int setup(void **state)
{
	(void)state;
	memset(&fx, 0, sizeof(fx));
	fx.sink.room = SIZE_MAX;
	if (guest_mem_init(&fx.mem, RAM_SIZE) ||
	    virtio_console_create(&fx.con, 0,
				  (struct virtio_console_sink){ sink_write, sink_rx_ready, &fx.sink },
				  &fx.mem, NULL))
		return -1;
	fx.d = virtio_console_dev(fx.con);
	drv_ring_init(&fx.rx, &fx.mem, QSIZE, 0x10000, 0x200000);
	drv_ring_init(&fx.tx, &fx.mem, QSIZE, 0x200000, RAM_SIZE);
	return start() & VIRTIO_CONFIG_S_DRIVER_OK ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	virtio_console_destroy(fx.con);
	guest_mem_destroy(&fx.mem);
	return 0;
}

/* A transmit chain of the given bytes split over two descriptors. */
static uint16_t tx_add(const void *data, uint32_t len)
{
	uint32_t half = len / 2 ? len / 2 : len;
	gpa_t a = drv_alloc(&fx.tx, len, 8);
	struct drv_buf b[2] = { { a, half, false }, { a + half, len - half, false } };

	memcpy(drv_ptr(&fx.tx, a, len), data, len);
	return drv_add(&fx.tx, b, len - half ? 2 : 1);
}

static gpa_t rx_add(uint32_t len)
{
	gpa_t a = drv_alloc(&fx.rx, len, 8);
	struct drv_buf b[1] = { { a, len, true } };

	drv_add(&fx.rx, b, 1);
	return a;
}

static void test_identity(void **state)
{
	uint8_t cfg[12];

	(void)state;
	assert_int_equal(fx.d->device_id, VIRTIO_ID_CONSOLE);
	assert_int_equal(fx.d->nr_queues, 2);
	assert_int_equal(fx.d->config_len, 12);
	memset(cfg, 0xff, sizeof(cfg));
	virtio_config_read(fx.d, 0, cfg, sizeof(cfg));
	for (unsigned i = 0; i < sizeof(cfg); i++)
		assert_int_equal(cfg[i], 0);
	/* no device feature bits: one port, no size */
	assert_int_equal(virtio_get_features(fx.d, 0) & 0x7, 0);
}

static void test_tx(void **state)
{
	uint16_t h1, h2, h;
	uint32_t len;

	(void)state;
	h1 = tx_add("hello, ", 7);
	h2 = tx_add("world\n", 6);
	drv_kick(fx.d, VIRTIO_CONSOLE_TX_Q);
	assert_int_equal(fx.sink.len, 13);
	assert_memory_equal(fx.sink.buf, "hello, world\n", 13);
	assert_true(drv_used(&fx.tx, &h, &len));
	assert_int_equal(h, h1);
	assert_int_equal(len, 0);
	assert_true(drv_used(&fx.tx, &h, &len));
	assert_int_equal(h, h2);
	assert_false(drv_used(&fx.tx, &h, &len));
	assert_int_equal(virtio_console_bytes_out(fx.con), 13);
}

static void test_tx_backpressure(void **state)
{
	static uint8_t data[3][10000];
	uint16_t heads[3], h;
	uint32_t len;

	(void)state;
	for (unsigned i = 0; i < 3; i++) {
		for (unsigned k = 0; k < sizeof(data[i]); k++)
			data[i][k] = (uint8_t)(k * 7 + i);
		heads[i] = tx_add(data[i], sizeof(data[i]));
	}
	fx.sink.room = 15000;
	drv_kick(fx.d, VIRTIO_CONSOLE_TX_Q);
	/* the first chain is out, the second half-written and held */
	assert_int_equal(fx.sink.len, 15000);
	assert_true(drv_used(&fx.tx, &h, &len));
	assert_int_equal(h, heads[0]);
	assert_false(drv_used(&fx.tx, &h, &len));
	/* a kick while blocked changes nothing */
	drv_kick(fx.d, VIRTIO_CONSOLE_TX_Q);
	assert_int_equal(fx.sink.len, 15000);
	assert_false(drv_used(&fx.tx, &h, &len));

	fx.sink.room = SIZE_MAX;
	virtio_console_tx_ready(fx.con);
	assert_int_equal(fx.sink.len, 30000);
	for (unsigned i = 0; i < 3; i++)
		assert_memory_equal(fx.sink.buf + i * 10000, data[i], 10000);
	assert_true(drv_used(&fx.tx, &h, &len));
	assert_int_equal(h, heads[1]);
	assert_true(drv_used(&fx.tx, &h, &len));
	assert_int_equal(h, heads[2]);
	assert_false(drv_used(&fx.tx, &h, &len));
}

static void test_rx(void **state)
{
	gpa_t a = rx_add(8), b = rx_add(64);
	uint16_t h;
	uint32_t len;

	(void)state;
	assert_int_equal(virtio_console_receive(fx.con, (const uint8_t *)"0123456789ab", 12), 12);
	assert_true(drv_used(&fx.rx, &h, &len));
	assert_int_equal(len, 8);
	assert_memory_equal(drv_ptr(&fx.rx, a, 8), "01234567", 8);
	assert_true(drv_used(&fx.rx, &h, &len));
	assert_int_equal(len, 4);
	assert_memory_equal(drv_ptr(&fx.rx, b, 4), "89ab", 4);
	assert_int_equal(fx.sink.rx_ready, 0);
	assert_int_equal(virtio_console_bytes_in(fx.con), 12);
}

static void test_rx_no_buffer(void **state)
{
	uint16_t h;
	uint32_t len;
	gpa_t a;

	(void)state;
	/* nothing posted: nothing taken, and the sink hears when to retry */
	assert_int_equal(virtio_console_receive(fx.con, (const uint8_t *)"abc", 3), 0);
	assert_false(drv_used(&fx.rx, &h, &len));
	a = rx_add(2);
	drv_kick(fx.d, VIRTIO_CONSOLE_RX_Q);
	assert_int_equal(fx.sink.rx_ready, 1);
	/* once per short receive: a second kick says nothing new */
	drv_kick(fx.d, VIRTIO_CONSOLE_RX_Q);
	assert_int_equal(fx.sink.rx_ready, 1);
	assert_int_equal(virtio_console_receive(fx.con, (const uint8_t *)"abc", 3), 2);
	assert_memory_equal(drv_ptr(&fx.rx, a, 2), "ab", 2);
	rx_add(16);
	drv_kick(fx.d, VIRTIO_CONSOLE_RX_Q);
	assert_int_equal(fx.sink.rx_ready, 2);
	assert_int_equal(virtio_console_receive(fx.con, (const uint8_t *)"c", 1), 1);
	assert_true(drv_used(&fx.rx, &h, &len));
	assert_true(drv_used(&fx.rx, &h, &len));
	assert_int_equal(len, 1);
}

static void test_reset(void **state)
{
	static uint8_t data[5000];
	uint16_t h;
	uint32_t len;

	(void)state;
	memset(data, 'x', sizeof(data));
	tx_add(data, sizeof(data));
	fx.sink.room = 100;
	drv_kick(fx.d, VIRTIO_CONSOLE_TX_Q);
	assert_int_equal(fx.sink.len, 100);
	/* host bytes arrive before the driver gave buffers */
	assert_int_equal(virtio_console_receive(fx.con, (const uint8_t *)"hi", 2), 0);

	virtio_set_status(fx.d, 0);
	/* after a reset neither path touches the old rings */
	fx.sink.room = SIZE_MAX;
	virtio_console_tx_ready(fx.con);
	assert_int_equal(fx.sink.len, 100);
	assert_int_equal(virtio_console_receive(fx.con, (const uint8_t *)"hi", 2), 0);
	assert_false(drv_used(&fx.tx, &h, &len));

	/* a new driver: fresh rings; the bytes it missed are still owed */
	drv_ring_init(&fx.rx, &fx.mem, QSIZE, 0x10000, 0x200000);
	drv_ring_init(&fx.tx, &fx.mem, QSIZE, 0x200000, RAM_SIZE);
	rx_add(16);
	assert_true(start() & VIRTIO_CONFIG_S_DRIVER_OK);
	drv_kick(fx.d, VIRTIO_CONSOLE_RX_Q); /* what DRIVER_OK's kick does */
	assert_int_equal(fx.sink.rx_ready, 1);
	tx_add("ok", 2);
	drv_kick(fx.d, VIRTIO_CONSOLE_TX_Q);
	assert_int_equal(fx.sink.len, 102);
	assert_memory_equal(fx.sink.buf + 100, "ok", 2);
}

static void test_bad_chain(void **state)
{
	struct drv_buf b[1] = { { RAM_SIZE - 8, 64, false } }; /* runs off RAM */
	uint16_t h;
	uint32_t len;

	(void)state;
	drv_add(&fx.tx, b, 1);
	drv_kick(fx.d, VIRTIO_CONSOLE_TX_Q);
	assert_true(virtio_get_status(fx.d) & VIRTIO_CONFIG_S_NEEDS_RESET);
	assert_false(drv_used(&fx.tx, &h, &len));
	assert_int_equal(fx.sink.len, 0);
	/* a broken device takes no input either */
	rx_add(16);
	assert_int_equal(virtio_console_receive(fx.con, (const uint8_t *)"x", 1), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_identity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_backpressure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_no_buffer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_chain, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
