/*
 * The Unix socket behind a virtio-console port (vconsole_sock.h).
 *
 * Locking: s->lock guards everything below it in the struct. dev.deliver
 * and dev.tx_ready take the device's lock, and the device calls the sink
 * with that lock held, so s->lock is dropped before calling dev. Only the
 * I/O thread reads the client socket, so bytes peeked under the lock are
 * still the first ones when it consumes them after deliver.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "petrel/evloop.h"
#include "petrel/util.h"
#include "petrel/vconsole_sock.h"

#define RX_CHUNK 4096

struct vconsole_sock {
	struct evloop *loop;
	struct console_dev dev;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int listen_fd;
	pthread_mutex_t lock;
	int client_fd;       /* -1: nobody connected */
	bool listen_watched;
	bool client_on_loop;
	uint32_t client_events; /* what the loop watches on client_fd */
	bool rx_paused;      /* the device took less than offered */
	bool rx_eof;         /* the client shut down its sending side */
	bool tx_wanted;      /* write came up short: tx_ready when room */
	uint8_t *out_buf;
	size_t out_head, out_len;
	uint64_t bytes_out, bytes_in, dropped, clients;
};

static void on_listen(void *opaque, uint32_t events);
static void on_client(void *opaque, uint32_t events);

/* The events client_fd needs now; on or off the loop accordingly. Locked. */
static void client_watch(struct vconsole_sock *s)
{
	uint32_t want = 0;
	int err = 0;

	if (s->client_fd < 0)
		return;
	if (!s->rx_paused && !s->rx_eof)
		want |= EPOLLIN;
	if (s->out_len)
		want |= EPOLLOUT;
	/*
	 * epoll reports EPOLLHUP even for events 0. A client that shut down
	 * its sending side stays on the loop for it (that is how its close
	 * shows); a paused reader goes off the loop, or a closed client whose
	 * bytes wait for the guest would wake us in a loop.
	 */
	if (!want && !s->rx_eof) {
		if (s->client_on_loop)
			evloop_del(s->loop, s->client_fd);
		s->client_on_loop = false;
		return;
	}
	if (s->client_on_loop && want == s->client_events)
		return;
	if (!s->client_on_loop)
		err = evloop_add(s->loop, s->client_fd, want, on_client, s);
	else
		err = evloop_mod(s->loop, s->client_fd, want);
	if (err < 0) {
		pt_warn("virtio-console socket %s: cannot watch the client (fd %d): %s",
			s->path, s->client_fd, strerror(-err));
		return;
	}
	s->client_on_loop = true;
	s->client_events = want;
}

static void listen_watch(struct vconsole_sock *s, bool on)
{
	int err;

	if (on == s->listen_watched)
		return;
	if (!on) {
		evloop_del(s->loop, s->listen_fd);
		s->listen_watched = false;
		return;
	}
	err = evloop_add(s->loop, s->listen_fd, EPOLLIN, on_listen, s);
	if (err < 0)
		pt_warn("virtio-console socket %s: cannot watch for clients: %s", s->path,
			strerror(-err));
	else
		s->listen_watched = true;
}

/* The client is gone: output stays buffered for the next one. Locked. */
static void disconnect(struct vconsole_sock *s)
{
	if (s->client_on_loop)
		evloop_del(s->loop, s->client_fd);
	s->client_on_loop = false;
	close(s->client_fd);
	s->client_fd = -1;
	listen_watch(s, true);
}

/* Sends what the client takes; false when it went away. Locked. */
static bool drain(struct vconsole_sock *s)
{
	while (s->out_len && s->client_fd >= 0) {
		size_t chunk = MIN(s->out_len, VCONSOLE_SOCK_BUF - s->out_head);
		ssize_t n = send(s->client_fd, s->out_buf + s->out_head, chunk,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n > 0) {
			s->out_head = (s->out_head + (size_t)n) % VCONSOLE_SOCK_BUF;
			s->out_len -= (size_t)n;
			s->bytes_out += (uint64_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		disconnect(s); /* EPIPE, ECONNRESET: the next client gets the rest */
		return false;
	}
	return true;
}

static size_t buffer(struct vconsole_sock *s, const uint8_t *buf, size_t len)
{
	size_t n = MIN(len, VCONSOLE_SOCK_BUF - s->out_len);
	size_t tail = (s->out_head + s->out_len) % VCONSOLE_SOCK_BUF;
	size_t first = MIN(n, VCONSOLE_SOCK_BUF - tail);

	memcpy(s->out_buf + tail, buf, first);
	memcpy(s->out_buf, buf + first, n - first);
	s->out_len += n;
	return n;
}

size_t vconsole_sock_write(void *opaque, const uint8_t *buf, size_t len)
{
	struct vconsole_sock *s = opaque;
	size_t n;

	pthread_mutex_lock(&s->lock);
	n = buffer(s, buf, len);
	/* send now: the guest is often waiting for the used buffer */
	if (drain(s) && n < len)
		n += buffer(s, buf + n, len - n);
	if (n < len) {
		if (s->client_fd >= 0) {
			s->tx_wanted = true;
		} else {
			s->dropped += len - n; /* nobody to wait for */
			n = len;
		}
	}
	client_watch(s);
	pthread_mutex_unlock(&s->lock);
	return n;
}

void vconsole_sock_rx_ready(void *opaque)
{
	struct vconsole_sock *s = opaque;

	pthread_mutex_lock(&s->lock);
	s->rx_paused = false;
	client_watch(s);
	pthread_mutex_unlock(&s->lock);
}

/* One read: what the device takes is consumed, the rest stays queued. */
static void client_read(struct vconsole_sock *s, uint32_t events)
{
	uint8_t buf[RX_CHUNK];
	ssize_t n;
	size_t took;
	int fd = s->client_fd;

	n = recv(fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n < 0) {
		disconnect(s);
		return;
	}
	if (n == 0) {
		/* closed, or only shut down for writing: it may still read */
		s->rx_eof = true;
		if (events & (EPOLLHUP | EPOLLERR))
			disconnect(s);
		return;
	}
	pthread_mutex_unlock(&s->lock);
	took = s->dev.deliver ? s->dev.deliver(s->dev.opaque, buf, (size_t)n) : (size_t)n;
	pthread_mutex_lock(&s->lock);
	if (took && recv(fd, buf, took, MSG_DONTWAIT) != (ssize_t)took)
		pt_warn("virtio-console socket %s: recv of %zu peeked bytes came up short",
			s->path, took);
	s->bytes_in += took;
	if (took < (size_t)n)
		s->rx_paused = true;
}

static void on_client(void *opaque, uint32_t events)
{
	struct vconsole_sock *s = opaque;
	bool ready = false;

	pthread_mutex_lock(&s->lock);
	if (s->client_fd < 0)
		goto out;
	if (!drain(s))
		goto out;
	if (!s->rx_paused && !s->rx_eof && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		client_read(s, events);
	else if (s->rx_eof && (events & (EPOLLHUP | EPOLLERR)))
		disconnect(s); /* read to the end and gone */
	client_watch(s);
out:
	/* room again, or no client any more: the device may go on */
	if (s->tx_wanted && (s->client_fd < 0 || s->out_len < VCONSOLE_SOCK_BUF)) {
		s->tx_wanted = false;
		ready = true;
	}
	pthread_mutex_unlock(&s->lock);
	if (ready && s->dev.tx_ready)
		s->dev.tx_ready(s->dev.opaque);
}

static void on_listen(void *opaque, uint32_t events)
{
	struct vconsole_sock *s = opaque;
	int fd;

	(void)events;
	pthread_mutex_lock(&s->lock);
	fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
		    errno != ECONNABORTED)
			pt_warn("virtio-console socket %s: accept4: %s", s->path,
				strerror(errno));
		pthread_mutex_unlock(&s->lock);
		return;
	}
	s->client_fd = fd;
	s->client_on_loop = false;
	s->rx_paused = s->rx_eof = false;
	s->clients++;
	/* one client at a time: the next waits in the backlog */
	listen_watch(s, false);
	drain(s);
	client_watch(s);
	pthread_mutex_unlock(&s->lock);
}

/* A socket file nobody listens on (a petrel that died) may be replaced. */
static bool stale(const struct sockaddr_un *a)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct stat st;
	bool dead;

	if (fd < 0)
		return false;
	dead = lstat(a->sun_path, &st) == 0 && S_ISSOCK(st.st_mode) &&
	       connect(fd, (const struct sockaddr *)a, sizeof(*a)) < 0 &&
	       errno == ECONNREFUSED;
	close(fd);
	return dead;
}

int vconsole_sock_open(struct vconsole_sock **out, const char *path,
		       struct evloop *loop)
{
	struct vconsole_sock *s;
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int err;

	if (strlen(path) >= sizeof(a.sun_path)) {
		pt_err("virtio-console socket %s: longer than %zu bytes", path,
		       sizeof(a.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->loop = loop;
	s->client_fd = s->listen_fd = -1;
	snprintf(s->path, sizeof(s->path), "%s", path);
	memcpy(a.sun_path, path, strlen(path));
	s->out_buf = malloc(VCONSOLE_SOCK_BUF);
	if (!s->out_buf) {
		free(s);
		return -ENOMEM;
	}
	pthread_mutex_init(&s->lock, NULL);
	s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->listen_fd < 0) {
		err = -errno;
		pt_err("virtio-console: socket(AF_UNIX, SOCK_STREAM): %s", strerror(errno));
		goto fail;
	}
	if (bind(s->listen_fd, (struct sockaddr *)&a, sizeof(a)) < 0 &&
	    (errno != EADDRINUSE || !stale(&a) || unlink(path) < 0 ||
	     bind(s->listen_fd, (struct sockaddr *)&a, sizeof(a)) < 0)) {
		err = -errno;
		pt_err("virtio-console: bind(%s): %s", path, strerror(errno));
		goto fail;
	}
	if (listen(s->listen_fd, 4) < 0) {
		err = -errno;
		pt_err("virtio-console: listen(%s): %s", path, strerror(errno));
		unlink(path);
		goto fail;
	}
	listen_watch(s, true);
	if (!s->listen_watched) {
		err = -EIO;
		unlink(path);
		goto fail;
	}
	*out = s;
	return 0;
fail:
	s->path[0] = '\0'; /* not ours to remove */
	vconsole_sock_close(s);
	return err;
}

void vconsole_sock_set_dev(struct vconsole_sock *s, struct console_dev dev)
{
	pthread_mutex_lock(&s->lock);
	s->dev = dev;
	pthread_mutex_unlock(&s->lock);
}

void vconsole_sock_close(struct vconsole_sock *s)
{
	if (!s)
		return;
	if (s->client_fd >= 0)
		disconnect(s);
	listen_watch(s, false);
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	if (s->path[0])
		unlink(s->path);
	pthread_mutex_destroy(&s->lock);
	free(s->out_buf);
	free(s);
}

void vconsole_sock_print_stats(struct vconsole_sock *s)
{
	pthread_mutex_lock(&s->lock);
	pt_info("stats: virtio-console socket %s: %llu clients, %llu bytes sent, %llu received, %llu dropped (no client)",
		s->path, (unsigned long long)s->clients, (unsigned long long)s->bytes_out,
		(unsigned long long)s->bytes_in, (unsigned long long)s->dropped);
	pthread_mutex_unlock(&s->lock);
}
