/*
 * The Unix-socket backend of the virtio console, on a running event loop
 * with a fake device: output reaches the client, input reaches the device
 * and waits in the socket while the device has no room, a client that
 * leaves is replaced by the next one, which gets the buffered output.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "petrel/evloop.h"
#include "petrel/util.h"
#include "petrel/vconsole_sock.h"

struct fake_dev {
	pthread_mutex_t lock;
	uint8_t in[4096];
	size_t in_len;
	size_t room;
	unsigned tx_ready;
};

static struct {
	struct evloop loop;
	struct vconsole_sock *s;
	struct fake_dev dev;
	char dir[64], path[96];
} fx;

static size_t dev_deliver(void *opaque, const uint8_t *buf, size_t len)
{
	struct fake_dev *d = opaque;
	size_t n;

	pthread_mutex_lock(&d->lock);
	n = MIN(len, d->room);
	memcpy(d->in + d->in_len, buf, n);
	d->in_len += n;
	d->room -= n;
	pthread_mutex_unlock(&d->lock);
	return n;
}

static void dev_tx_ready(void *opaque)
{
	struct fake_dev *d = opaque;

	pthread_mutex_lock(&d->lock);
	d->tx_ready++;
	pthread_mutex_unlock(&d->lock);
}

static size_t in_len(void)
{
	size_t n;

	pthread_mutex_lock(&fx.dev.lock);
	n = fx.dev.in_len;
	pthread_mutex_unlock(&fx.dev.lock);
	return n;
}

static void sleep_ms(long ms)
{
	nanosleep(&(struct timespec){ 0, ms * 1000000L }, NULL);
}

/* Waits (bounded) until the device got n bytes. */
static bool wait_in(size_t n)
{
	for (int i = 0; i < 2000 && in_len() < n; i++)
		sleep_ms(1);
	return in_len() == n;
}

static int client(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", fx.path);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* Reads exactly len bytes (bounded wait). */
static void read_all(int fd, uint8_t *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;

		assert_int_equal(poll(&p, 1, 2000), 1);
		n = read(fd, buf + got, len - got);
		assert_true(n > 0);
		got += (size_t)n;
	}
}

static int setup(void **state)
{
	(void)state;
	memset(&fx, 0, sizeof(fx));
	pthread_mutex_init(&fx.dev.lock, NULL);
	fx.dev.room = sizeof(fx.dev.in);
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/petrel-vcon-XXXXXX");
	if (!mkdtemp(fx.dir))
		return -1;
	snprintf(fx.path, sizeof(fx.path), "%s/con.sock", fx.dir);
	if (evloop_init(&fx.loop) || vconsole_sock_open(&fx.s, fx.path, &fx.loop))
		return -1;
	vconsole_sock_set_dev(fx.s, (struct console_dev){ dev_deliver, dev_tx_ready, &fx.dev });
	return evloop_start(&fx.loop, "test-io");
}

static int teardown(void **state)
{
	struct stat st;

	(void)state;
	evloop_stop(&fx.loop);
	vconsole_sock_close(fx.s);
	evloop_destroy(&fx.loop);
	/* the socket file goes with it */
	assert_int_equal(stat(fx.path, &st), -1);
	rmdir(fx.dir);
	pthread_mutex_destroy(&fx.dev.lock);
	return 0;
}

static void test_both_ways(void **state)
{
	uint8_t buf[16];
	int fd;

	(void)state;
	fd = client();
	sleep_ms(50); /* accepted on the loop */
	assert_int_equal(vconsole_sock_write(fx.s, (const uint8_t *)"guest says", 10), 10);
	read_all(fd, buf, 10);
	assert_memory_equal(buf, "guest says", 10);
	assert_int_equal(write(fd, "host says", 9), 9);
	assert_true(wait_in(9));
	assert_memory_equal(fx.dev.in, "host says", 9);
	close(fd);
}

static void test_rx_backpressure(void **state)
{
	int fd;

	(void)state;
	fx.dev.room = 3;
	fd = client();
	assert_int_equal(write(fd, "abcdefgh", 8), 8);
	assert_true(wait_in(3));
	sleep_ms(50);
	assert_int_equal(in_len(), 3); /* the rest waits in the socket */
	pthread_mutex_lock(&fx.dev.lock);
	fx.dev.room = 100;
	pthread_mutex_unlock(&fx.dev.lock);
	vconsole_sock_rx_ready(fx.s);
	assert_true(wait_in(8));
	assert_memory_equal(fx.dev.in, "abcdefgh", 8);
	close(fd);
}

static void test_reconnect_and_buffer(void **state)
{
	static uint8_t big[VCONSOLE_SOCK_BUF + 1000];
	static uint8_t got[VCONSOLE_SOCK_BUF];
	uint8_t buf[8];
	int fd;

	(void)state;
	fd = client();
	sleep_ms(50);
	close(fd);
	sleep_ms(50); /* the loop saw it leave */
	/* no client: the buffer keeps 64 KiB for the next one, drops the rest */
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 13);
	assert_int_equal(vconsole_sock_write(fx.s, big, sizeof(big)), sizeof(big));
	fd = client();
	read_all(fd, got, sizeof(got));
	assert_memory_equal(got, big, sizeof(got));
	assert_int_equal(write(fd, "again", 5), 5);
	assert_true(wait_in(5));
	close(fd);
	/* and a third */
	fd = client();
	sleep_ms(50);
	assert_int_equal(vconsole_sock_write(fx.s, (const uint8_t *)"third", 5), 5);
	read_all(fd, buf, 5);
	assert_memory_equal(buf, "third", 5);
	close(fd);
}

static void test_tx_backpressure(void **state)
{
	static uint8_t chunk[16384], sink[1 << 20];
	size_t sent = 0, got = 0, n;
	int fd;

	(void)state;
	fd = client();
	sleep_ms(50);
	/* a client that does not read: the backend comes up short */
	for (int i = 0; i < 1000; i++) {
		n = vconsole_sock_write(fx.s, chunk, sizeof(chunk));
		sent += n;
		if (n < sizeof(chunk))
			break;
	}
	assert_true(sent < sizeof(sink));
	/* reading makes room, and the device hears so */
	while (got < sent) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t r;

		assert_int_equal(poll(&p, 1, 2000), 1);
		r = read(fd, sink + got, sizeof(sink) - got);
		assert_true(r > 0);
		got += (size_t)r;
	}
	for (int i = 0; i < 2000 && !fx.dev.tx_ready; i++)
		sleep_ms(1);
	pthread_mutex_lock(&fx.dev.lock);
	assert_int_equal(fx.dev.tx_ready, 1);
	pthread_mutex_unlock(&fx.dev.lock);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_both_ways, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_backpressure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reconnect_and_buffer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_backpressure, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
