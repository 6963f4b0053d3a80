#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

#include "petrel/console.h"
#include "petrel/exitcode.h"
#include "petrel/util.h"
#include "petrel/vm.h"

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

int console_init(struct console *c, struct vm *vm, bool stdio,
		 struct console_input input)
{
	sigset_t set;

	memset(c, 0, sizeof(*c));
	c->vm = vm;
	c->input = input;
	c->in_fd = c->out_fd = c->sig_fd = c->rx_room = -1;
	c->wake[0] = c->wake[1] = -1;
	c->rx_room = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->rx_room < 0)
		return -errno;
	if (pipe2(c->wake, O_CLOEXEC) < 0)
		return -errno;
	stop_signals(&set);
	c->sig_fd = signalfd(-1, &set, SFD_CLOEXEC);
	if (c->sig_fd < 0)
		return -errno;
	if (!stdio)
		return 0;
	c->out_fd = STDOUT_FILENO;
	if (fcntl(STDIN_FILENO, F_GETFD) >= 0) {
		c->in_fd = STDIN_FILENO;
		if (isatty(STDIN_FILENO) && enter_raw_mode() == 0)
			c->raw = true;
	}
	return 0;
}

void console_write(void *opaque, const uint8_t *buf, size_t len)
{
	struct console *c = opaque;

	if (c->out_fd < 0)
		return;
	while (len) {
		ssize_t n = write(c->out_fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				poll(&(struct pollfd){ .fd = c->out_fd, .events = POLLOUT }, 1, 100);
				continue;
			}
			c->out_fd = -1; /* stdout went away: drop guest output */
			return;
		}
		buf += n;
		len -= (size_t)n;
		c->bytes_out += (uint64_t)n;
	}
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
	n = c->input.deliver(c->input.opaque, c->pend, c->pend_len);
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
			vm_request_stop(c->vm, EXIT_TERMINATED, "quit from the console (Ctrl-A x)");
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

static void *console_thread(void *arg)
{
	struct console *c = arg;
	uint8_t buf[256];

	pthread_setname_np(pthread_self(), "console");
	for (;;) {
		/* rx_room only matters while input waits for the guest */
		struct pollfd p[4] = {
			{ .fd = c->wake[0], .events = POLLIN },
			{ .fd = c->sig_fd, .events = POLLIN },
			{ .fd = c->pend_len ? c->rx_room : -1, .events = POLLIN },
			{ .fd = c->in_fd, .events = POLLIN },
		};
		int r = poll(p, 4, -1); /* a negative fd is skipped by poll */
		if (r < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents)
			break;
		if (p[1].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(c->sig_fd, &si, sizeof(si)) == sizeof(si))
				vm_request_stop(c->vm, EXIT_TERMINATED, "stopped by signal %s",
						strsignal((int)si.ssi_signo));
		}
		if (p[2].revents & POLLIN) {
			uint64_t count;
			if (read(c->rx_room, &count, sizeof(count)) < 0) {
				/* EAGAIN: nothing to clear */
			}
		}
		if (c->in_fd >= 0 && p[3].revents) {
			ssize_t n = read(c->in_fd, buf, sizeof(buf));
			if (n > 0)
				handle_input(c, buf, (size_t)n);
			else if (n == 0 || (errno != EINTR && errno != EAGAIN))
				c->in_fd = -1; /* end of input: the guest keeps running */
		}
		flush_input(c);
	}
	return NULL;
}

int console_start(struct console *c)
{
	int err = pthread_create(&c->thread, NULL, console_thread, c);

	if (err)
		return -err;
	c->thread_started = true;
	return 0;
}

void console_destroy(struct console *c)
{
	if (c->thread_started) {
		if (write(c->wake[1], "x", 1) < 0) {
			/* the pipe cannot be full: one byte, written once */
		}
		pthread_join(c->thread, NULL);
		c->thread_started = false;
	}
	if (c->raw) {
		console_restore_terminal();
		c->raw = false;
	}
	for (int i = 0; i < 2; i++)
		if (c->wake[i] >= 0)
			close(c->wake[i]);
	if (c->sig_fd >= 0)
		close(c->sig_fd);
	if (c->rx_room >= 0)
		close(c->rx_room);
	c->wake[0] = c->wake[1] = c->sig_fd = c->rx_room = -1;
}
