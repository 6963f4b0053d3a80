/*
 * virtio-rng through the virtio core and a driver-side ring: writable
 * buffers come back full of bytes and the used length says how many; a
 * chain with only readable buffers gets nothing; a huge one gets a capped
 * amount; a malformed chain asks for a reset, and a guest that breaks its
 * device over and over gets counted, not a line on stderr each time.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "drv_ring.h"
#include "petrel/virtio_rng.h"

#define RAM_SIZE (2 * 1024 * 1024)
#define QSIZE 16

struct fixture {
	struct guest_mem mem;
	struct virtio_rng *rng;
	struct virtio_dev *d;
	struct drv_ring ring;
};

static struct fixture fx;

static int setup(void **state)
{
	(void)state;
	memset(&fx, 0, sizeof(fx));
	if (guest_mem_init(&fx.mem, RAM_SIZE) ||
	    virtio_rng_create(&fx.rng, 0, &fx.mem, NULL))
		return -1;
	fx.d = virtio_rng_dev(fx.rng);
	drv_ring_init(&fx.ring, &fx.mem, QSIZE, 0x10000, RAM_SIZE);
	return drv_start(fx.d, &fx.ring, 0, 0) & VIRTIO_CONFIG_S_DRIVER_OK ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	virtio_rng_destroy(fx.rng);
	guest_mem_destroy(&fx.mem);
	return 0;
}

static uint32_t request(const struct drv_buf *b, unsigned n)
{
	uint16_t head = drv_add(&fx.ring, b, n), h = 0;
	uint32_t len = 0;

	drv_kick(fx.d, 0);
	assert_true(drv_used(&fx.ring, &h, &len));
	assert_int_equal(h, head);
	return len;
}

/* 256 random bytes are never all one value. */
static bool looks_random(const uint8_t *p, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (p[i] != p[0])
			return true;
	return false;
}

static void test_identity(void **state)
{
	(void)state;
	assert_int_equal(fx.d->device_id, VIRTIO_ID_RNG);
	assert_int_equal(fx.d->config_len, 0);
	assert_int_equal(fx.d->nr_queues, 1);
}

static void test_fill(void **state)
{
	gpa_t a = drv_alloc(&fx.ring, 256, 8), b = drv_alloc(&fx.ring, 100, 8);
	struct drv_buf bufs[2] = { { a, 256, true }, { b, 100, true } };

	(void)state;
	assert_int_equal(request(bufs, 2), 356);
	assert_true(looks_random(drv_ptr(&fx.ring, a, 256), 256));
	assert_true(looks_random(drv_ptr(&fx.ring, b, 100), 100));
	/* two requests never see the same bytes */
	uint8_t first[256];
	memcpy(first, drv_ptr(&fx.ring, a, 256), 256);
	assert_int_equal(request(bufs, 1), 256);
	assert_memory_not_equal(first, drv_ptr(&fx.ring, a, 256), 256);
	assert_int_equal(virtio_rng_bytes(fx.rng), 356 + 256);
	assert_int_equal(virtio_rng_requests(fx.rng), 2);
}

static void test_readable_only(void **state)
{
	gpa_t a = drv_alloc(&fx.ring, 64, 8);
	struct drv_buf b[1] = { { a, 64, false } };

	(void)state;
	assert_int_equal(request(b, 1), 0);
	for (int i = 0; i < 64; i++)
		assert_int_equal(((uint8_t *)drv_ptr(&fx.ring, a, 64))[i], 0);
	/* readable buffers in front of writable ones are skipped */
	gpa_t w = drv_alloc(&fx.ring, 32, 8);
	struct drv_buf mixed[2] = { { a, 64, false }, { w, 32, true } };
	assert_int_equal(request(mixed, 2), 32);
	assert_false(virtio_get_status(fx.d) & VIRTIO_CONFIG_S_NEEDS_RESET);
}

static void test_large_is_capped(void **state)
{
	uint32_t len = VIRTIO_RNG_MAX_REQ * 2;
	gpa_t a = drv_alloc(&fx.ring, len, 4096);
	struct drv_buf b[1] = { { a, len, true } };
	uint8_t *p = drv_ptr(&fx.ring, a, len);

	(void)state;
	assert_int_equal(request(b, 1), VIRTIO_RNG_MAX_REQ);
	assert_true(looks_random(p, VIRTIO_RNG_MAX_REQ));
	/* nothing past what the used length says */
	for (uint32_t i = VIRTIO_RNG_MAX_REQ; i < len; i++)
		assert_int_equal(p[i], 0);
}

static void test_bad_chain(void **state)
{
	struct drv_buf b[1] = { { RAM_SIZE - 8, 64, true } }; /* runs off RAM */
	uint16_t h;
	uint32_t len;

	(void)state;
	drv_add(&fx.ring, b, 1);
	drv_kick(fx.d, 0);
	assert_true(virtio_get_status(fx.d) & VIRTIO_CONFIG_S_NEEDS_RESET);
	assert_false(drv_used(&fx.ring, &h, &len));
}

/* Lines on stderr containing what, while fn runs. */
static unsigned stderr_lines_with(void (*fn)(void), const char *what)
{
	int mem = memfd_create("stderr", 0), saved = dup(2);
	char buf[16384] = "";
	unsigned n = 0;
	ssize_t len;

	assert_true(mem >= 0 && saved >= 0);
	assert_true(dup2(mem, 2) == 2);
	fn();
	assert_true(dup2(saved, 2) == 2);
	close(saved);
	len = pread(mem, buf, sizeof(buf) - 1, 0);
	close(mem);
	assert_true(len >= 0);
	buf[len] = 0;
	for (const char *p = buf; (p = strstr(p, what)); p += strlen(what))
		n++;
	return n;
}

#define STORM (3 * VIRTIO_MAX_RESET_WARNINGS)

static void break_it_often(void)
{
	for (unsigned i = 0; i < STORM; i++) {
		struct drv_buf b[1] = { { RAM_SIZE - 8, 64, true } }; /* runs off RAM */

		drv_ring_init(&fx.ring, &fx.mem, QSIZE, 0x10000, RAM_SIZE);
		assert_int_equal(drv_start(fx.d, &fx.ring, 0, 0) & VIRTIO_CONFIG_S_NEEDS_RESET, 0);
		drv_add(&fx.ring, b, 1);
		drv_kick(fx.d, 0);
		assert_true(virtio_get_status(fx.d) & VIRTIO_CONFIG_S_NEEDS_RESET);
	}
}

static void test_bad_chain_storm(void **state)
{
	(void)state;
	assert_int_equal(stderr_lines_with(break_it_often, "needs a reset"),
			 VIRTIO_MAX_RESET_WARNINGS);
	assert_int_equal(virtio_stat(fx.d, &fx.d->needs_resets), STORM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_identity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fill, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readable_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_is_capped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_chain_storm, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
