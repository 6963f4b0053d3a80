/*
 * Console output: the bounded buffer between COM1 (console_write, on vCPU
 * threads) and stdout (drained on the I/O thread). Locking: out_lock guards
 * the buffer, its counters and the flags kick_pending, tx_wanted and
 * out_broken; it is taken under the UART's lock (console_write is its
 * sink), so it is never held while calling into the device or blocking.
 * out_watched and the stdout registration belong to the I/O thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "petrel/console.h"
#include "petrel/console_internal.h"
#include "petrel/evloop.h"
#include "petrel/util.h"

/*
 * Output must never block the I/O thread (it also takes the stop signals
 * and Ctrl-A x), yet setting O_NONBLOCK on fd 1 would change the open file
 * description petrel shares with the shell and the other programs on the
 * same terminal or pipe: they would see EAGAIN after we exit (or crash).
 * So we write through a description of our own: reopening /proc/self/fd/N
 * gives a new one on the same tty, pipe or FIFO, where O_NONBLOCK is
 * private. Sockets cannot be reopened that way, but send(MSG_DONTWAIT)
 * does not wait for that one call. Regular files (and block devices) are
 * written through fd N itself: a reopen would get an offset of its own and
 * overwrite what stderr writes to the same file (petrel >log 2>&1), and
 * their writes do not wait for a reader. Only when the reopen fails (no
 * /proc, a FIFO's reader just left) is O_NONBLOCK set on fd N, and put
 * back in console_destroy.
 */
int console_out_open(struct console *c, int fd)
{
	struct stat st;
	char path[40];
	int flags;

	if (fstat(fd, &st) < 0)
		return 0; /* closed: no output, as before the console existed */
	c->out_buf = malloc(CONSOLE_OUT_SIZE);
	if (!c->out_buf)
		return -ENOMEM;
	c->out_fd = fd;
	if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)) {
		c->out_mode = CONSOLE_OUT_FILE;
		return 0;
	}
	if (S_ISSOCK(st.st_mode)) {
		c->out_mode = CONSOLE_OUT_SOCKET;
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	c->out_fd = open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (c->out_fd >= 0) {
		c->out_mode = CONSOLE_OUT_OWN;
		return 0;
	}
	c->out_fd = fd;
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		pt_err("console: fcntl(fd %d, F_SETFL, O_NONBLOCK): %s", fd, strerror(errno));
		return -errno;
	}
	c->out_flags = flags;
	c->out_mode = CONSOLE_OUT_SHARED;
	return 0;
}

/*
 * The I/O thread is woken once per line (or per CONSOLE_OUT_BATCH bytes),
 * not once per byte: a guest prints a byte per PIO exit, and a wake-up per
 * byte is thousands of cross-thread wake-ups a boot for nothing (in the
 * nested VM they also made guests crash and hang: the emulation under it
 * misbehaves when L2 is interrupted that often). A partial line (a
 * prompt, an echoed key) goes out after CONSOLE_OUT_DELAY_US at the most.
 */
#define CONSOLE_OUT_BATCH 1024
#define CONSOLE_OUT_DELAY_US 2000

/*
 * On a vCPU thread, under the UART's lock: copy what fits and wake the I/O
 * thread, now (a whole line, a batch) or by the timer (a partial line);
 * kick_pending and timer_armed stay set until it drains.
 */
size_t console_write(void *opaque, const uint8_t *buf, size_t len)
{
	struct console *c = opaque;
	size_t n, tail, first;
	bool kick = false, arm = false;
	uint64_t one = 1;

	pthread_mutex_lock(&c->out_lock);
	if (c->out_mode == CONSOLE_OUT_NONE || c->out_broken) {
		pthread_mutex_unlock(&c->out_lock);
		return len;
	}
	n = MIN(len, CONSOLE_OUT_SIZE - c->out_len);
	tail = (c->out_head + c->out_len) % CONSOLE_OUT_SIZE;
	first = MIN(n, CONSOLE_OUT_SIZE - tail);
	memcpy(c->out_buf + tail, buf, first);
	memcpy(c->out_buf, buf + first, n - first);
	c->out_len += n;
	if (n < len)
		c->tx_wanted = true;
	if (n && !c->kick_pending) {
		if (n < len || c->out_len >= CONSOLE_OUT_BATCH || memchr(buf, '\n', n))
			kick = c->kick_pending = true;
		else if (!c->timer_armed)
			arm = c->timer_armed = true;
	}
	pthread_mutex_unlock(&c->out_lock);
	if (kick && write(c->out_kick, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is already non-zero, the thread wakes */
	}
	if (arm) {
		struct itimerspec t = { .it_value = { 0, CONSOLE_OUT_DELAY_US * 1000L } };

		/* without the timer, the next line (or the flush at stop) takes it */
		timerfd_settime(c->out_timer, 0, &t, NULL);
	}
	return n;
}

static void on_out(void *opaque, uint32_t events);

/* Watches stdout for room only while output waits for it (I/O thread). */
static void out_watch(struct console *c, bool on)
{
	int err;

	if (on == c->out_watched)
		return;
	if (!on) {
		evloop_del(c->io, c->out_fd);
		c->out_watched = false;
		return;
	}
	err = evloop_add(c->io, c->out_fd, EPOLLOUT, on_out, c);
	if (err < 0) {
		pt_warn("console: cannot watch stdout (fd %d) for room: %s; dropping guest output",
			c->out_fd, strerror(-err));
		pthread_mutex_lock(&c->out_lock);
		c->out_broken = true;
		c->out_dropped += c->out_len;
		c->out_len = 0;
		pthread_mutex_unlock(&c->out_lock);
		return;
	}
	c->out_watched = true;
}

static ssize_t out_write_some(struct console *c, const uint8_t *p, size_t n)
{
	if (c->out_mode == CONSOLE_OUT_SOCKET)
		return send(c->out_fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	return write(c->out_fd, p, n);
}

/* On the I/O thread: write what stdout takes, then let the device go on. */
static void out_drain(struct console *c)
{
	bool ready = false, pending;
	int failed = 0;

	pthread_mutex_lock(&c->out_lock);
	c->kick_pending = false;
	c->timer_armed = false;
	while (c->out_len && !c->out_broken) {
		/* the only consumer: the bytes at out_head stay put unlocked */
		size_t chunk = MIN(c->out_len, CONSOLE_OUT_SIZE - c->out_head);
		const uint8_t *p = c->out_buf + c->out_head;
		ssize_t n;

		pthread_mutex_unlock(&c->out_lock);
		n = out_write_some(c, p, chunk);
		failed = n < 0 ? errno : n == 0 ? EIO : 0;
		pthread_mutex_lock(&c->out_lock);
		if (n > 0) {
			c->out_head = (c->out_head + (size_t)n) % CONSOLE_OUT_SIZE;
			c->out_len -= (size_t)n;
			c->bytes_out += (uint64_t)n;
			continue;
		}
		if (failed == EINTR)
			continue;
		if (failed == EAGAIN || failed == EWOULDBLOCK)
			break;
		/* stdout went away (EPIPE, EIO, ...): drop guest output */
		c->out_broken = true;
		c->out_dropped += c->out_len;
		c->out_len = 0;
	}
	pending = c->out_len > 0;
	if (c->tx_wanted && c->out_len < CONSOLE_OUT_SIZE) {
		c->tx_wanted = false;
		ready = true;
	}
	pthread_mutex_unlock(&c->out_lock);

	if (c->out_broken && failed && failed != EAGAIN && failed != EWOULDBLOCK)
		pt_warn("console: write to stdout (fd %d): %s; dropping guest output from now on",
			c->out_fd, strerror(failed));
	out_watch(c, pending && !c->out_broken);
	/*
	 * Without our lock: the device takes its own and calls console_write.
	 * Before the broadcast, so that console_flush sees the bytes the
	 * device had held back as still pending.
	 */
	if (ready && c->dev.tx_ready)
		c->dev.tx_ready(c->dev.opaque);
	pthread_mutex_lock(&c->out_lock);
	pthread_cond_broadcast(&c->out_cond);
	pthread_mutex_unlock(&c->out_lock);
}

static void on_out(void *opaque, uint32_t events)
{
	(void)events; /* EPOLLERR and EPOLLHUP: the write says what went wrong */
	out_drain(opaque);
}

void console_out_kicked(void *opaque, uint32_t events)
{
	struct console *c = opaque;
	uint64_t count;

	(void)events;
	if (read(c->out_kick, &count, sizeof(count)) < 0) {
		/* EAGAIN: nothing to clear */
	}
	out_drain(c);
}

void console_out_timer(void *opaque, uint32_t events)
{
	struct console *c = opaque;
	uint64_t count;

	(void)events;
	if (read(c->out_timer, &count, sizeof(count)) < 0) {
		/* EAGAIN: a drain came first and disarmed nothing: harmless */
	}
	out_drain(c);
}

static void deadline_after(struct timespec *t, unsigned ms)
{
	clock_gettime(CLOCK_MONOTONIC, t);
	t->tv_sec += ms / 1000;
	t->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

size_t console_flush(struct console *c)
{
	struct timespec deadline;
	size_t left;

	if (!c->out_lock_inited)
		return 0;
	pthread_mutex_lock(&c->out_lock);
	/* a stdout that trickles gets CONSOLE_FLUSH_MS after each progress */
	while (c->out_len && !c->out_broken && c->io->started) {
		uint64_t before = c->bytes_out;

		deadline_after(&deadline, CONSOLE_FLUSH_MS);
		while (c->bytes_out == before && c->out_len && !c->out_broken)
			if (pthread_cond_timedwait(&c->out_cond, &c->out_lock,
						   &deadline) == ETIMEDOUT)
				goto out;
	}
out:
	left = c->out_len;
	pthread_mutex_unlock(&c->out_lock);
	return left;
}


void console_out_close(struct console *c)
{
	if (c->out_watched)
		evloop_del(c->io, c->out_fd);
	c->out_watched = false;
	if (c->out_len || c->out_dropped)
		pt_warn("console: %llu bytes of guest output dropped (stdout did not take them)",
			(unsigned long long)(c->out_dropped + c->out_len));
	c->out_dropped += c->out_len;
	c->out_len = 0;
	if (c->out_mode == CONSOLE_OUT_OWN)
		close(c->out_fd);
	else if (c->out_mode == CONSOLE_OUT_SHARED &&
		 fcntl(c->out_fd, F_SETFL, c->out_flags) < 0)
		pt_warn("console: fcntl(fd %d, F_SETFL, 0x%x): %s: stdout stays non-blocking",
			c->out_fd, c->out_flags, strerror(errno));
	c->out_mode = CONSOLE_OUT_NONE;
	c->out_fd = -1;
	free(c->out_buf);
	c->out_buf = NULL;
}
