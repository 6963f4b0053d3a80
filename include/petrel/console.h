/*
 * The host side of the guest console, and petrel's I/O thread for it.
 *
 * Output: console_write() is the byte sink of COM1; it writes to stdout.
 * Input: a thread polls stdin and feeds bytes to the UART through the
 * deliver callback (queueing what the UART cannot take yet, and waking on
 * console_rx_ready() when it has room again), interpreting the escape sequence Ctrl-A x (quit),
 * Ctrl-A h (help), Ctrl-A Ctrl-A (a literal Ctrl-A). The same thread takes
 * SIGINT, SIGTERM and SIGHUP (through a signalfd) and stops the VM cleanly.
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

struct vm;

struct console_input {
	/* returns how many bytes the device took; the rest is retried */
	size_t (*deliver)(void *opaque, const uint8_t *buf, size_t len);
	void *opaque;
};

struct console {
	struct vm *vm;
	int in_fd;  /* -1: no input */
	int out_fd; /* -1: output dropped */
	int sig_fd;
	int wake[2]; /* a pipe that tells the thread to exit */
	int rx_room; /* eventfd: the UART has room again for input */
	bool raw;
	bool escape;
	bool dropping;           /* the input queue overflowed; said once */
	uint8_t pend[4096];      /* input the UART has not taken yet */
	size_t pend_len;
	pthread_t thread;
	bool thread_started;
	struct console_input input;
	uint64_t bytes_out, bytes_in;
};

/* Signals that stop the VM; main blocks them in every thread first. */
void console_block_signals(void);

int console_init(struct console *c, struct vm *vm, bool stdio,
		 struct console_input input);
int console_start(struct console *c);
void console_destroy(struct console *c);

/* The COM1 sink: opaque is the struct console. */
void console_write(void *opaque, const uint8_t *buf, size_t len);
/* The COM1 sink's rx_ready: the UART has room again after a short receive. */
void console_rx_ready(void *opaque);

/* Puts the terminal back as it was; safe to call at any time, repeatedly. */
void console_restore_terminal(void);

#endif
