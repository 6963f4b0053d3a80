/*
 * The host side of the guest console, on the VM's I/O thread (evloop.h).
 *
 * Output: console_write() is the byte sink of COM1. It never blocks: bytes
 * go into a bounded buffer (CONSOLE_OUT_SIZE) that the I/O thread drains to
 * stdout, watching stdout for EPOLLOUT only while output is pending. When
 * the buffer is full console_write takes fewer bytes than offered; the
 * device keeps them (and shows the guest a busy transmitter) until the
 * dev.tx_ready callback says there is room again. A stalled stdout (a
 * paused terminal, a full pipe) thus slows the guest's console down but
 * never stops a vCPU, a signal or Ctrl-A x.
 *
 * Input: the I/O thread reads stdin and feeds bytes to the device through
 * dev.deliver (queueing what it cannot take yet, and retrying on
 * console_rx_ready() when it has room again), interpreting the escape
 * sequence Ctrl-A x (quit), Ctrl-A h (help), Ctrl-A Ctrl-A (a literal
 * Ctrl-A). SIGINT, SIGTERM and SIGHUP arrive through a signalfd on the same
 * thread; both they and Ctrl-A x call stop.stop: the console knows nothing
 * of the VM.
 *
 * When stdin is a terminal it is put in raw mode and restored on every exit
 * path, including fatal signals.
 */
#ifndef PETREL_CONSOLE_H
#define PETREL_CONSOLE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct evloop;

#define CONSOLE_OUT_SIZE (64u * 1024)
/* How long console_flush waits for stdout to take something. */
#define CONSOLE_FLUSH_MS 1000u

/* The device behind the console (COM1); called on the I/O thread. */
struct console_dev {
	/* returns how many bytes the device took; the rest is retried */
	size_t (*deliver)(void *opaque, const uint8_t *buf, size_t len);
	/* room again after console_write() came up short (may be NULL) */
	void (*tx_ready)(void *opaque);
	void *opaque;
};

/* Stops the machine: Ctrl-A x, or a stop signal. Called on the I/O thread. */
struct console_stop {
	void (*stop)(void *opaque, int status, const char *reason);
	void *opaque;
};

/* How output reaches stdout without ever blocking the I/O thread. */
enum console_out_mode {
	CONSOLE_OUT_NONE,   /* no output: bytes are taken and dropped */
	CONSOLE_OUT_OWN,    /* a non-blocking open of /proc/self/fd/N of our own */
	CONSOLE_OUT_SOCKET, /* send(MSG_DONTWAIT) on the fd itself */
	CONSOLE_OUT_FILE,   /* a regular file or block device: written as is */
	CONSOLE_OUT_SHARED, /* O_NONBLOCK set on the shared fd, put back later */
};

struct console {
	struct evloop *io;
	struct console_dev dev;
	struct console_stop stop;
	int in_fd;       /* -1: no input */
	bool in_polled;  /* in_fd is on the loop (false: epoll refused it) */
	int sig_fd;
	int rx_room;     /* eventfd: the device has room again for input */
	bool raw;
	bool escape;
	bool dropping;           /* the input queue overflowed; said once */
	uint8_t pend[4096];      /* input the device has not taken yet */
	size_t pend_len;

	/* output; out_lock guards the fields below (see console.c) */
	pthread_mutex_t out_lock;
	pthread_cond_t out_cond; /* the I/O thread drained something */
	bool out_lock_inited;
	enum console_out_mode out_mode;
	int out_fd;      /* what is written: the given fd or our own open */
	int out_flags;   /* CONSOLE_OUT_SHARED: the fd's flags to put back */
	int out_kick;    /* eventfd: output is waiting */
	int out_timer;   /* timerfd: a partial line waited CONSOLE_OUT_DELAY_US */
	bool kick_pending, timer_armed, out_watched, tx_wanted;
	bool out_broken; /* a write failed: stdout is gone, output dropped */
	uint8_t *out_buf;
	size_t out_head, out_len;
	uint64_t bytes_out, bytes_in, out_dropped;
};

/* Signals that stop the VM; main blocks them in every thread first. */
void console_block_signals(void);

/*
 * With stdio, stdin and stdout (stdin in raw mode if it is a terminal);
 * without, only the stop signals. The fds are registered on io, whose
 * thread the caller starts. 0 or -errno.
 */
int console_init(struct console *c, struct evloop *io, bool stdio,
		 struct console_dev dev, struct console_stop stop);
/* The same on given fds (-1: none); tests use pipes. Does not own them. */
int console_init_fds(struct console *c, struct evloop *io, int in_fd,
		     int out_fd, struct console_dev dev, struct console_stop stop);
/*
 * Waits until the buffered output is written, giving up when stdout takes
 * nothing for CONSOLE_FLUSH_MS; returns the bytes still buffered. Needs
 * the loop running; not on its thread.
 */
size_t console_flush(struct console *c);
/* Unregisters from the loop (stop it first), reports lost output, closes. */
void console_destroy(struct console *c);

/* The COM1 sink: opaque is the struct console. Bytes taken (0..len). */
size_t console_write(void *opaque, const uint8_t *buf, size_t len);
/* The COM1 sink's rx_ready: the UART has room again after a short receive. */
void console_rx_ready(void *opaque);

/* Puts the terminal back as it was; safe to call at any time, repeatedly. */
void console_restore_terminal(void);

#endif
