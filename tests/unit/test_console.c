/*
 * The console on a real I/O thread, with pipes for stdin and stdout and a
 * fake device: output never blocks the writer and shows back-pressure when
 * nobody reads stdout, nothing is lost or reordered, tx_ready comes when
 * room returns, flush gives up on a stalled stdout; input, the escape and
 * the stop signals reach the injected callbacks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "petrel/console.h"
#include "petrel/evloop.h"
#include "petrel/exitcode.h"

#define PIPE_SIZE 4096

struct fx {
	struct evloop l;
	struct console c;
	int out[2]; /* the console writes out[1]; the test reads out[0] */
	int in[2];  /* the test writes in[1]; the console reads in[0] */
	pthread_mutex_t lock;
	uint8_t got[8192]; /* what the device was given */
	size_t got_len, dev_room;
	sem_t tx_ready, stopped, delivered;
	int stop_status;
	char stop_reason[128];
};

static size_t dev_deliver(void *opaque, const uint8_t *buf, size_t len)
{
	struct fx *f = opaque;
	size_t n;

	pthread_mutex_lock(&f->lock);
	n = len < f->dev_room ? len : f->dev_room;
	if (n > sizeof(f->got) - f->got_len)
		n = sizeof(f->got) - f->got_len;
	memcpy(f->got + f->got_len, buf, n);
	f->got_len += n;
	f->dev_room -= n;
	pthread_mutex_unlock(&f->lock);
	sem_post(&f->delivered);
	return n;
}

static void dev_tx_ready(void *opaque)
{
	sem_post(&((struct fx *)opaque)->tx_ready);
}

static void dev_stop(void *opaque, int status, const char *reason)
{
	struct fx *f = opaque;

	f->stop_status = status;
	snprintf(f->stop_reason, sizeof(f->stop_reason), "%s", reason);
	sem_post(&f->stopped);
}

static int wait_sem(sem_t *s, int ms)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_sec += ms / 1000;
	t.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	while (sem_timedwait(s, &t) < 0)
		if (errno != EINTR)
			return -1;
	return 0;
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Reads exactly len bytes from fd within a few seconds. */
static void read_all(int fd, uint8_t *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		assert_int_equal(poll(&p, 1, 5000), 1);
		n = read(fd, buf + got, len - got);
		assert_true(n > 0);
		got += (size_t)n;
	}
}

/* What the device got once it got at least want bytes (5 s at most). */
static size_t got_at_least(struct fx *f, size_t want)
{
	size_t n = 0;

	for (int i = 0; i < 500; i++) {
		pthread_mutex_lock(&f->lock);
		n = f->got_len;
		pthread_mutex_unlock(&f->lock);
		if (n >= want)
			break;
		wait_sem(&f->delivered, 10);
	}
	return n;
}

static struct console_dev dev_of(struct fx *f)
{
	return (struct console_dev){ dev_deliver, dev_tx_ready, f };
}

static int setup(void **state)
{
	static struct fx f;

	memset(&f, 0, sizeof(f));
	f.dev_room = SIZE_MAX;
	pthread_mutex_init(&f.lock, NULL);
	sem_init(&f.tx_ready, 0, 0);
	sem_init(&f.stopped, 0, 0);
	sem_init(&f.delivered, 0, 0);
	assert_int_equal(pipe2(f.out, O_CLOEXEC), 0);
	assert_int_equal(pipe2(f.in, O_CLOEXEC), 0);
	/* a small pipe: the stall comes after 4 KiB instead of 64 */
	assert_true(fcntl(f.out[1], F_SETPIPE_SZ, PIPE_SIZE) >= PIPE_SIZE);
	assert_int_equal(evloop_init(&f.l), 0);
	*state = &f;
	return 0;
}

static void start(struct fx *f, int in_fd, int out_fd)
{
	assert_int_equal(console_init_fds(&f->c, &f->l, in_fd, out_fd, dev_of(f),
					  (struct console_stop){ dev_stop, f }), 0);
	assert_int_equal(evloop_start(&f->l, "io"), 0);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	evloop_stop(&f->l);
	console_destroy(&f->c);
	evloop_destroy(&f->l);
	for (int i = 0; i < 2; i++) {
		if (f->out[i] >= 0)
			close(f->out[i]);
		close(f->in[i]);
	}
	sem_destroy(&f->tx_ready);
	sem_destroy(&f->stopped);
	sem_destroy(&f->delivered);
	pthread_mutex_destroy(&f->lock);
	return 0;
}

static void test_output_reaches_stdout(void **state)
{
	struct fx *f = *state;
	uint8_t buf[5];

	start(f, -1, f->out[1]);
	/* a pipe gets a non-blocking description of its own: fd 1 is untouched */
	assert_int_equal(f->c.out_mode, CONSOLE_OUT_OWN);
	assert_int_equal(fcntl(f->out[1], F_GETFL) & O_NONBLOCK, 0);
	assert_int_equal(console_write(&f->c, (const uint8_t *)"hel", 3), 3);
	assert_int_equal(console_write(&f->c, (const uint8_t *)"lo", 2), 2);
	/* a partial line (a prompt) still arrives: the timer sends it */
	read_all(f->out[0], buf, 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(console_flush(&f->c), 0);
	assert_int_equal(f->c.bytes_out, 5);
}

/* One wake-up per line: bytes wait for the newline (or the timer). */
static void test_output_batched_by_line(void **state)
{
	struct fx *f = *state;
	uint8_t buf[6];

	start(f, -1, f->out[1]);
	assert_int_equal(console_write(&f->c, (const uint8_t *)"ab", 2), 2);
	assert_int_equal(console_write(&f->c, (const uint8_t *)"cd\n", 3), 3);
	read_all(f->out[0], buf, 5);
	assert_memory_equal(buf, "abcd\n", 5);
	assert_int_equal(console_flush(&f->c), 0);
}

static uint8_t pattern(size_t i)
{
	return (uint8_t)(i % 251);
}

/* Nobody reads stdout: the writer is told "full" instead of waiting. */
static void test_backpressure(void **state)
{
	struct fx *f = *state;
	uint8_t chunk[1000], *all;
	size_t total = 0, n;
	double t0 = now_s();

	start(f, -1, f->out[1]);
	for (;;) {
		for (size_t i = 0; i < sizeof(chunk); i++)
			chunk[i] = pattern(total + i);
		n = console_write(&f->c, chunk, sizeof(chunk));
		total += n;
		assert_true(total < 4 * CONSOLE_OUT_SIZE);
		assert_true(now_s() - t0 < 5.0);
		/* full, and the I/O thread waits for the pipe: settled */
		if (n == 0 && __atomic_load_n(&f->c.out_watched, __ATOMIC_ACQUIRE))
			break;
		if (n < sizeof(chunk))
			nanosleep(&(struct timespec){ 0, 1000000L }, NULL);
	}
	/* the buffer, plus what the pipe took */
	assert_true(total >= CONSOLE_OUT_SIZE + PIPE_SIZE);
	assert_true(total <= CONSOLE_OUT_SIZE + 16 * PIPE_SIZE);
	while (sem_trywait(&f->tx_ready) == 0)
		; /* room that came while the pipe filled */
	assert_int_equal(wait_sem(&f->tx_ready, 200), -1); /* no room now */

	/* the reader wakes up: everything arrives, in order; room returns */
	all = malloc(total + 1);
	assert_non_null(all);
	read_all(f->out[0], all, total);
	for (size_t i = 0; i < total; i++)
		if (all[i] != pattern(i))
			fail_msg("byte %zu: 0x%02x, want 0x%02x", i, all[i], pattern(i));
	free(all);
	assert_int_equal(wait_sem(&f->tx_ready, 5000), 0);
	assert_int_equal(console_write(&f->c, chunk, 10), 10);
}

/* A stdout that never drains: flush gives up within its bound. */
static void test_flush_gives_up(void **state)
{
	struct fx *f = *state;
	uint8_t chunk[4096] = { 0 };
	double t0;

	start(f, -1, f->out[1]);
	while (console_write(&f->c, chunk, sizeof(chunk)) == sizeof(chunk))
		;
	t0 = now_s();
	assert_true(console_flush(&f->c) > 0);
	assert_true(now_s() - t0 < 4.0 * CONSOLE_FLUSH_MS / 1000);
	assert_true(now_s() - t0 >= 0.5 * CONSOLE_FLUSH_MS / 1000);
}

/* The reader went away: output is dropped, never queued forever. */
static void test_stdout_gone(void **state)
{
	struct fx *f = *state;
	uint8_t chunk[4096] = { 0 };

	start(f, -1, f->out[1]);
	close(f->out[0]);
	f->out[0] = -1;
	assert_int_equal(console_write(&f->c, chunk, 10), 10);
	assert_int_equal(console_flush(&f->c), 0);
	assert_true(f->c.out_broken);
	for (int i = 0; i < 100; i++)
		assert_int_equal(console_write(&f->c, chunk, sizeof(chunk)), sizeof(chunk));
}

/* Regular files and sockets are written without touching the fd's flags. */
static void test_out_modes(void **state)
{
	struct fx *f = *state;
	FILE *tmp = tmpfile();
	int sv[2];
	char buf[3];

	assert_non_null(tmp);
	start(f, -1, fileno(tmp));
	assert_int_equal(f->c.out_mode, CONSOLE_OUT_FILE);
	assert_int_equal(console_write(&f->c, (const uint8_t *)"abc", 3), 3);
	assert_int_equal(console_flush(&f->c), 0);
	assert_int_equal(pread(fileno(tmp), buf, 3, 0), 3);
	assert_memory_equal(buf, "abc", 3);
	evloop_stop(&f->l);
	console_destroy(&f->c);
	fclose(tmp);

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	start(f, -1, sv[1]);
	assert_int_equal(f->c.out_mode, CONSOLE_OUT_SOCKET);
	assert_int_equal(console_write(&f->c, (const uint8_t *)"xyz", 3), 3);
	read_all(sv[0], (uint8_t *)buf, 3);
	assert_memory_equal(buf, "xyz", 3);
	assert_int_equal(fcntl(sv[1], F_GETFL) & O_NONBLOCK, 0);
	evloop_stop(&f->l);
	console_destroy(&f->c);
	close(sv[0]);
	close(sv[1]);
	start(f, -1, -1); /* for teardown */
}

static void test_input_and_escape(void **state)
{
	struct fx *f = *state;

	start(f, f->in[0], -1);
	assert_int_equal(write(f->in[1], "ab\001\001c\001x", 7), 7);
	assert_int_equal(wait_sem(&f->stopped, 5000), 0);
	assert_int_equal(f->stop_status, EXIT_TERMINATED);
	assert_string_equal(f->stop_reason, "quit from the console (Ctrl-A x)");
	/* what came before the escape reaches the device right after it */
	assert_int_equal(got_at_least(f, 4), 4);
	assert_memory_equal(f->got, "ab\001c", 4);
}

/* A device that takes 3 bytes, then has room again (rx_ready). */
static void test_input_paced(void **state)
{
	struct fx *f = *state;

	f->dev_room = 3;
	start(f, f->in[0], -1);
	assert_int_equal(write(f->in[1], "hello", 5), 5);
	assert_int_equal(got_at_least(f, 3), 3);
	pthread_mutex_lock(&f->lock);
	f->dev_room = SIZE_MAX;
	pthread_mutex_unlock(&f->lock);
	console_rx_ready(&f->c);
	assert_int_equal(got_at_least(f, 5), 5);
	assert_memory_equal(f->got, "hello", 5);
}

/* stdin epoll cannot watch (a regular file) is pulled as the device takes it. */
static void test_input_regular_file(void **state)
{
	struct fx *f = *state;
	FILE *tmp = tmpfile();
	char text[600];

	for (size_t i = 0; i < sizeof(text); i++)
		text[i] = (char)('a' + i % 26);
	assert_non_null(tmp);
	assert_int_equal(fwrite(text, 1, sizeof(text), tmp), sizeof(text));
	fflush(tmp);
	rewind(tmp);
	f->dev_room = 16;
	start(f, fileno(tmp), -1);
	assert_false(f->c.in_polled);
	for (int i = 0; i < 1000; i++) {
		size_t n;

		wait_sem(&f->delivered, 10);
		pthread_mutex_lock(&f->lock);
		n = f->got_len;
		if (f->dev_room == 0)
			f->dev_room = 16; /* the guest read its FIFO */
		pthread_mutex_unlock(&f->lock);
		if (n == sizeof(text))
			break;
		console_rx_ready(&f->c);
	}
	assert_int_equal(got_at_least(f, sizeof(text)), sizeof(text));
	assert_memory_equal(f->got, text, sizeof(text));
	assert_false(f->c.dropping); /* paced: nothing overflowed */
	evloop_stop(&f->l);
	assert_int_equal(f->c.in_fd, -1); /* end of file seen */
	console_destroy(&f->c);
	fclose(tmp);
	start(f, -1, -1); /* for teardown */
}

static void test_stop_signal(void **state)
{
	struct fx *f = *state;

	start(f, -1, -1);
	assert_int_equal(kill(getpid(), SIGTERM), 0);
	assert_int_equal(wait_sem(&f->stopped, 5000), 0);
	assert_int_equal(f->stop_status, EXIT_TERMINATED);
	assert_non_null(strstr(f->stop_reason, "stopped by signal"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_output_reaches_stdout),
		T(test_output_batched_by_line),
		T(test_backpressure),
		T(test_flush_gives_up),
		T(test_stdout_gone),
		T(test_out_modes),
		T(test_input_and_escape),
		T(test_input_paced),
		T(test_input_regular_file),
		T(test_stop_signal),
#undef T
	};

	/* as petrel's main: stop signals only through the signalfd, no SIGPIPE */
	console_block_signals();
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
