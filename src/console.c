/*
 * The console's input side and its set-up: stdin to the device (with the
 * Ctrl-A escapes), the stop signals, raw mode for a terminal, registration
 * on the I/O thread. The output buffer is in console_out.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <termios.h>
#include <unistd.h>

#include "petrel/console.h"
#include "petrel/console_internal.h"
#include "petrel/evloop.h"
#include "petrel/exitcode.h"
#include "petrel/util.h"

#define CTRL_A 0x01

/*
 * The one piece of process-wide state in petrel, and the reason for it: a
 * fatal-signal handler and atexit() cannot be handed a pointer, yet they
 * must put the user's terminal back. Written once before raw mode starts.
 */
static struct termios saved_termios;
static volatile sig_atomic_t termios_saved;

void console_restore_terminal(void)
{
	if (termios_saved)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
}

static void fatal_signal(int sig)
{
	console_restore_terminal();
	signal(sig, SIG_DFL);
	raise(sig);
}

static int stop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGQUIT);
	return 0;
}

void console_block_signals(void)
{
	sigset_t set;

	stop_signals(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

static int enter_raw_mode(void)
{
	struct termios raw;
	static const int fatal[] = { SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL };

	if (tcgetattr(STDIN_FILENO, &saved_termios) < 0)
		return -errno;
	termios_saved = 1;
	atexit(console_restore_terminal);
	for (size_t i = 0; i < ARRAY_SIZE(fatal); i++)
		signal(fatal[i], fatal_signal);
	raw = saved_termios;
	cfmakeraw(&raw);
	/* keep output post-processing off too: the guest sends its own \r\n */
	if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) < 0)
		return -errno;
	return 0;
}

void console_rx_ready(void *opaque)
{
	struct console *c = opaque;
	uint64_t one = 1;

	/* called with the UART's lock held: only signal, never call back */
	if (write(c->rx_room, &one, sizeof(one)) < 0) {
		/* the counter cannot overflow here; nothing to do */
	}
}

/*
 * Input waits in c->pend until the UART takes it (the guest drains its FIFO
 * 16 bytes at a time). The thread never blocks on the guest: it keeps
 * reading stdin, so the Ctrl-A x escape and signals always work, even with
 * a guest that never reads COM1. Bytes beyond the queue are dropped, once
 * said so.
 */
static void queue_input(struct console *c, const uint8_t *buf, size_t len)
{
	size_t room = sizeof(c->pend) - c->pend_len;

	if (len > room) {
		if (!c->dropping)
			pt_warn("console input dropped: the guest is not reading COM1");
		c->dropping = true;
		len = room;
	}
	memcpy(c->pend + c->pend_len, buf, len);
	c->pend_len += len;
}

/* Hands what the UART will take of the queue to it. */
static void flush_input(struct console *c)
{
	size_t n;

	if (!c->pend_len)
		return;
	n = c->dev.deliver(c->dev.opaque, c->pend, c->pend_len);
	memmove(c->pend, c->pend + n, c->pend_len - n);
	c->pend_len -= n;
	c->bytes_in += n;
	if (!c->pend_len)
		c->dropping = false;
}

static void escape_help(void)
{
	pt_info("console escapes: Ctrl-A x quit, Ctrl-A h this help, "
		"Ctrl-A Ctrl-A send Ctrl-A");
}

static void handle_input(struct console *c, const uint8_t *buf, size_t len)
{
	size_t start = 0;

	for (size_t i = 0; i < len; i++) {
		if (!c->escape) {
			if (buf[i] == CTRL_A) {
				queue_input(c, buf + start, i - start);
				c->escape = true;
				start = i + 1;
			}
			continue;
		}
		c->escape = false;
		start = i + 1;
		switch (buf[i]) {
		case 'x':
		case 'X':
			c->stop.stop(c->stop.opaque, EXIT_TERMINATED, "quit from the console (Ctrl-A x)");
			return;
		case 'h':
		case 'H':
		case '?':
			escape_help();
			break;
		case CTRL_A:
			queue_input(c, buf + i, 1);
			break;
		default:
			/* not an escape after all: pass both bytes through */
			queue_input(c, (const uint8_t[]){ CTRL_A }, 1);
			start = i;
			break;
		}
	}
	queue_input(c, buf + start, len - start);
}

static void input_close(struct console *c)
{
	if (c->in_polled)
		evloop_del(c->io, c->in_fd);
	c->in_fd = -1; /* end of input: the guest keeps running */
	c->in_polled = false;
}

static bool input_read(struct console *c)
{
	uint8_t buf[256];
	ssize_t n = read(c->in_fd, buf, sizeof(buf));

	if (n > 0) {
		handle_input(c, buf, (size_t)n);
		flush_input(c);
		return true;
	}
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return false;
	input_close(c);
	return false;
}

/*
 * stdin that epoll cannot watch (a regular file, /dev/null) is always
 * readable: read it only while the device keeps up, so that it is paced
 * by rx_room like a fast typist instead of overflowing the queue. The
 * loop ends when the device comes up short (and will call rx_ready) or at
 * the end of input: a UART FIFO holds 16 bytes.
 */
static void input_pull(struct console *c)
{
	while (c->in_fd >= 0 && !c->in_polled && !c->pend_len)
		if (!input_read(c) && c->in_fd >= 0)
			break;
}

static void on_input(void *opaque, uint32_t events)
{
	(void)events; /* EPOLLHUP: read() returns what is left, then 0 */
	input_read(opaque);
}

static void on_rx_room(void *opaque, uint32_t events)
{
	struct console *c = opaque;
	uint64_t count;

	(void)events;
	if (read(c->rx_room, &count, sizeof(count)) < 0) {
		/* EAGAIN: nothing to clear */
	}
	flush_input(c);
	input_pull(c);
}

static void on_signal(void *opaque, uint32_t events)
{
	struct console *c = opaque;
	struct signalfd_siginfo si;
	char reason[64];

	(void)events;
	if (read(c->sig_fd, &si, sizeof(si)) != sizeof(si))
		return;
	snprintf(reason, sizeof(reason), "stopped by signal %s",
		 strsignal((int)si.ssi_signo));
	c->stop.stop(c->stop.opaque, EXIT_TERMINATED, reason);
}

int console_init_fds(struct console *c, struct evloop *io, int in_fd,
		     int out_fd, struct console_dev dev, struct console_stop stop)
{
	pthread_condattr_t attr;
	sigset_t set;
	int err;

	memset(c, 0, sizeof(*c));
	c->io = io;
	c->dev = dev;
	c->stop = stop;
	c->in_fd = c->out_fd = c->sig_fd = c->rx_room = c->out_kick = c->out_timer = -1;
	if ((err = -pthread_mutex_init(&c->out_lock, NULL)) < 0)
		return err;
	/* console_flush's deadline must not move with the wall clock */
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	err = -pthread_cond_init(&c->out_cond, &attr);
	pthread_condattr_destroy(&attr);
	if (err < 0) {
		pthread_mutex_destroy(&c->out_lock);
		return err;
	}
	c->out_lock_inited = true;

	c->rx_room = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	c->out_kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->rx_room < 0 || c->out_kick < 0) {
		err = -errno;
		pt_err("console: eventfd: %s", strerror(errno));
		goto fail;
	}
	c->out_timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (c->out_timer < 0) {
		err = -errno;
		pt_err("console: timerfd_create: %s", strerror(errno));
		goto fail;
	}
	stop_signals(&set);
	c->sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (c->sig_fd < 0) {
		err = -errno;
		pt_err("console: signalfd: %s", strerror(errno));
		goto fail;
	}
	if (out_fd >= 0) {
		if ((err = console_out_open(c, out_fd)) < 0)
			goto fail;
	}
	if ((err = evloop_add(io, c->sig_fd, EPOLLIN, on_signal, c)) < 0 ||
	    (err = evloop_add(io, c->rx_room, EPOLLIN, on_rx_room, c)) < 0 ||
	    (err = evloop_add(io, c->out_kick, EPOLLIN, console_out_kicked, c)) < 0 ||
	    (err = evloop_add(io, c->out_timer, EPOLLIN, console_out_timer, c)) < 0) {
		pt_err("console: cannot register with the I/O thread: %s", strerror(-err));
		goto fail;
	}
	if (in_fd >= 0) {
		c->in_fd = in_fd;
		err = evloop_add(io, in_fd, EPOLLIN, on_input, c);
		if (err == -EPERM) {
			/* not pollable: pulled from the I/O thread, first now */
			console_rx_ready(c);
		} else if (err < 0) {
			pt_err("console: cannot watch stdin (fd %d): %s", in_fd,
			       strerror(-err));
			goto fail;
		} else {
			c->in_polled = true;
		}
	}
	return 0;
fail:
	console_destroy(c);
	return err;
}

int console_init(struct console *c, struct evloop *io, bool stdio,
		 struct console_dev dev, struct console_stop stop)
{
	int in_fd = -1, err;

	if (stdio && fcntl(STDIN_FILENO, F_GETFD) >= 0)
		in_fd = STDIN_FILENO;
	err = console_init_fds(c, io, in_fd, stdio ? STDOUT_FILENO : -1, dev, stop);
	if (err < 0)
		return err;
	if (in_fd >= 0 && isatty(in_fd) && enter_raw_mode() == 0)
		c->raw = true;
	return 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void console_destroy(struct console *c)
{
	/* -ENOENT for the fds that were never registered: nothing to undo */
	if (c->sig_fd >= 0)
		evloop_del(c->io, c->sig_fd);
	if (c->rx_room >= 0)
		evloop_del(c->io, c->rx_room);
	if (c->out_kick >= 0)
		evloop_del(c->io, c->out_kick);
	if (c->out_timer >= 0)
		evloop_del(c->io, c->out_timer);
	if (c->in_polled)
		evloop_del(c->io, c->in_fd);
	c->in_polled = false;
	c->in_fd = -1;
	console_out_close(c);
	if (c->raw) {
		console_restore_terminal();
		c->raw = false;
	}
	close_fd(&c->sig_fd);
	close_fd(&c->rx_room);
	close_fd(&c->out_kick);
	close_fd(&c->out_timer);
	if (c->out_lock_inited) {
		pthread_cond_destroy(&c->out_cond);
		pthread_mutex_destroy(&c->out_lock);
		c->out_lock_inited = false;
	}
}
