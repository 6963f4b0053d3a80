/* User-mode networking through libslirp (net_slirp.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/virtio_net.h>
#include <pthread.h>
#include <slirp/libslirp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "petrel/net_hdr.h"
#include "petrel/net_slirp.h"
#include "petrel/util.h"
#include "slirp_poll.h"

#define GUEST_ERRORS_SHOWN 5
/*
 * IPv4 datagrams whose fragments went to slirp and whose last fragment
 * has not (see last_fragment_ok), kept for less than slirp keeps a
 * reassembly queue (IPFRAGTTL: 60 slow ticks of 500 ms).
 */
#define FRAG_KEYS 16
#define FRAG_KEEP_NS (20 * 1000000000LL)

struct frag_key {
	uint8_t addrs[8]; /* source and destination, as on the wire */
	uint16_t id;
	uint8_t proto;
	int64_t at_ns;    /* 0: free */
};

struct slirp_timer {
	struct net_slirp *sl;
	SlirpTimerId id;
	void *cb_opaque;
	int fd; /* timerfd */
	bool on_loop;
	struct slirp_timer *next;
};

struct frame {
	size_t len;
	uint8_t data[];
};

struct net_slirp {
	pthread_mutex_t lock;
	struct slirp_lib lib;
	Slirp *s;
	struct evloop *loop;
	struct net_port port;
	bool started;
	struct slirp_pollset ps; /* slirp's sockets */
	int poll_fd; /* timerfd: slirp's TCP timers (the pollfds timeout) */
	int wake_fd; /* eventfd: frames queued, slirp's notify, rx_ready */
	bool paused; /* epfd off the loop while the guest takes no frames */
	struct slirp_timer *timers;
	struct frame *q[NET_SLIRP_QUEUE_MAX];
	unsigned q_head, q_count;
	bool rx_waiting;
	uint64_t queue_drops, guest_errors, frag_drops;
	struct frag_key frags[FRAG_KEYS];
	uint8_t tx_buf[NET_FRAME_MAX];
};

static int64_t clock_ns(void *opaque)
{
	struct timespec ts;
	(void)opaque;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void wake(struct net_slirp *sl)
{
	uint64_t one = 1;

	if (write(sl->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		pt_warn("user net: write to its eventfd: %s", strerror(errno));
}

/* --- slirp's callbacks (lock held: they run inside slirp calls) --- */

static ssize_t send_packet(const void *buf, size_t len, void *opaque)
{
	struct net_slirp *sl = opaque;
	struct frame *f;

	if (sl->q_count == NET_SLIRP_QUEUE_MAX) {
		sl->queue_drops++;
		return (ssize_t)len; /* slirp's TCP retransmits */
	}
	f = malloc(sizeof(*f) + len);
	if (!f) {
		sl->queue_drops++;
		return (ssize_t)len;
	}
	f->len = len;
	memcpy(f->data, buf, len);
	sl->q[(sl->q_head + sl->q_count++) % NET_SLIRP_QUEUE_MAX] = f;
	if (sl->q_count == 1)
		wake(sl);
	return (ssize_t)len;
}

static void guest_error(const char *msg, void *opaque)
{
	struct net_slirp *sl = opaque;

	if (sl->guest_errors++ < GUEST_ERRORS_SHOWN)
		pt_warn("user net: guest error: %s", msg);
}

static void timer_fired(void *opaque, uint32_t events);

static void *timer_new_opaque(SlirpTimerId id, void *cb_opaque, void *opaque)
{
	struct net_slirp *sl = opaque;
	struct slirp_timer *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (t->fd < 0) {
		pt_err("user net: timerfd_create: %s", strerror(errno));
		free(t);
		return NULL;
	}
	t->sl = sl;
	t->id = id;
	t->cb_opaque = cb_opaque;
	t->next = sl->timers;
	sl->timers = t;
	/* one made by slirp while running: on the loop now (lock held) */
	if (sl->started && evloop_add(sl->loop, t->fd, EPOLLIN, timer_fired, t) == 0)
		t->on_loop = true;
	return t;
}

static void timer_free(void *timer, void *opaque)
{
	struct net_slirp *sl = opaque;
	struct slirp_timer *t = timer, **pp;

	if (!t)
		return;
	for (pp = &sl->timers; *pp && *pp != t; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = t->next;
	if (t->on_loop)
		evloop_del(sl->loop, t->fd);
	close(t->fd);
	free(t);
}

/* expire_time: ms on clock_ns's clock (CLOCK_MONOTONIC) */
static void timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
	struct slirp_timer *t = timer;
	struct itimerspec its = { 0 };
	(void)opaque;

	if (!t)
		return;
	if (expire_ms > 0) {
		its.it_value.tv_sec = expire_ms / 1000;
		its.it_value.tv_nsec = (expire_ms % 1000) * 1000000;
	}
	/* an expiry in the past fires at once (a zero value would disarm) */
	if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
		its.it_value.tv_nsec = 1;
	timerfd_settime(t->fd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void unregister_poll_fd(int fd, void *opaque)
{
	/* before slirp closes fd: a new socket may get its number */
	slirp_pollset_forget(&((struct net_slirp *)opaque)->ps, fd);
}

static void register_poll_fd(int fd, void *opaque)
{
	(void)fd;
	(void)opaque; /* watched from the next slirp_pollfds_fill on */
}

static void notify(void *opaque)
{
	wake(opaque);
}

static void init_completed(Slirp *s, void *opaque)
{
	((struct net_slirp *)opaque)->s = s;
}

static const SlirpCb slirp_cbs = {
	.send_packet = send_packet,
	.guest_error = guest_error,
	.clock_get_ns = clock_ns,
	.timer_free = timer_free,
	.timer_mod = timer_mod,
	.register_poll_fd = register_poll_fd,
	.unregister_poll_fd = unregister_poll_fd,
	.notify = notify,
	.init_completed = init_completed,
	.timer_new_opaque = timer_new_opaque,
};

/* --- the poll cycle --- */

/* After any slirp call: what to watch now, and when its timers are due. */
static void cycle(struct net_slirp *sl)
{
	uint32_t timeout = UINT32_MAX;
	struct itimerspec its = { 0 };

	slirp_pollset_fill(&sl->ps, sl->s, &timeout);
	if (timeout != UINT32_MAX) {
		its.it_value.tv_sec = timeout / 1000;
		its.it_value.tv_nsec = (long)(timeout % 1000) * 1000000 + (timeout ? 0 : 1);
	}
	timerfd_settime(sl->poll_fd, 0, &its, NULL);
}

/* Hands queued frames to the guest while it has buffers. Lock held. */
static void flush(struct net_slirp *sl)
{
	/* slirp's frames carry correct checksums: the guest need not verify */
	const struct virtio_net_hdr_v1 h = { .flags = VIRTIO_NET_HDR_F_DATA_VALID };
	unsigned delivered = 0;

	if (!sl->started)
		return;
	while (sl->q_count && !sl->rx_waiting) {
		struct frame *f = sl->q[sl->q_head];

		if (!sl->port.receive(sl->port.dev, &h, f->data, f->len)) {
			sl->rx_waiting = true;
			break;
		}
		free(f);
		sl->q_head = (sl->q_head + 1) % NET_SLIRP_QUEUE_MAX;
		sl->q_count--;
		delivered++;
	}
	if (delivered)
		sl->port.rx_flush(sl->port.dev);
	/* while the guest takes nothing, leave the host sockets unread */
	bool pause = sl->rx_waiting;

	if (pause != sl->paused && evloop_mod(sl->loop, sl->ps.epfd, pause ? 0 : EPOLLIN) == 0)
		sl->paused = pause;
}

/* slirp's sockets are ready: run slirp on them. */
static void sockets_ready(void *opaque, uint32_t events)
{
	struct net_slirp *sl = opaque;
	(void)events;

	pthread_mutex_lock(&sl->lock);
	slirp_pollset_poll(&sl->ps, sl->s, true);
	cycle(sl);
	flush(sl);
	pthread_mutex_unlock(&sl->lock);
}

/* The pollfds timeout passed: slirp runs its TCP timers. */
static void poll_timer(void *opaque, uint32_t events)
{
	struct net_slirp *sl = opaque;
	uint64_t v;
	(void)events;

	if (read(sl->poll_fd, &v, sizeof(v)) != sizeof(v))
		return;
	pthread_mutex_lock(&sl->lock);
	slirp_pollset_poll(&sl->ps, sl->s, false);
	cycle(sl);
	flush(sl);
	pthread_mutex_unlock(&sl->lock);
}

static void timer_fired(void *opaque, uint32_t events)
{
	struct slirp_timer *t = opaque;
	struct net_slirp *sl = t->sl;
	uint64_t v;
	(void)events;

	if (read(t->fd, &v, sizeof(v)) != sizeof(v))
		return;
	pthread_mutex_lock(&sl->lock);
	sl->lib.handle_timer(sl->s, t->id, t->cb_opaque);
	cycle(sl);
	flush(sl);
	pthread_mutex_unlock(&sl->lock);
}

static void wake_ready(void *opaque, uint32_t events)
{
	struct net_slirp *sl = opaque;
	uint64_t v;
	(void)events;

	if (read(sl->wake_fd, &v, sizeof(v)) != sizeof(v))
		return;
	pthread_mutex_lock(&sl->lock);
	cycle(sl);
	flush(sl);
	pthread_mutex_unlock(&sl->lock);
}

/* --- the backend --- */

/* What slirp's ip_input checks before a fragment reaches reassembly. */
static bool ip_header_ok(const uint8_t *ip, size_t len)
{
	size_t hlen = (size_t)(ip[0] & 0xf) * 4, tot = (size_t)(ip[2] << 8 | ip[3]);
	uint32_t sum = 0;

	if (hlen < 20 || hlen > len || tot < hlen || tot > len || !ip[8])
		return false;
	for (size_t i = 0; i < hlen; i += 2)
		sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum == 0xffff;
}

/*
 * libslirp 4.7 crashes (SIGBUS in its IPv4 reassembly) on a last fragment
 * (MF clear, offset > 0) that starts a reassembly queue: one frame from a
 * guest would end the VM (found by tests/fuzz/fuzz_slirp.c). So a last
 * fragment goes to slirp only when an earlier fragment of its datagram
 * (one with a header slirp accepts) went there recently enough that slirp
 * still holds the queue; anything else passes untouched. Lock held.
 */
static bool last_fragment_ok(struct net_slirp *sl, const uint8_t *f, size_t len)
{
	int64_t now = clock_ns(NULL);
	struct frag_key k = { .at_ns = now }, *slot = &sl->frags[0];
	uint16_t off;

	if (len < 14 + 20 || f[12] != 0x08 || f[13] != 0x00 || (f[14] >> 4) != 4)
		return true;
	off = (uint16_t)(f[14 + 6] << 8 | f[14 + 7]);
	if (!(off & 0x3fff)) /* MF and the offset clear: not a fragment */
		return true;
	memcpy(k.addrs, f + 14 + 12, sizeof(k.addrs));
	k.id = (uint16_t)(f[14 + 4] << 8 | f[14 + 5]);
	k.proto = f[14 + 9];
	for (unsigned i = 0; i < FRAG_KEYS; i++) {
		struct frag_key *e = &sl->frags[i];
		bool same = e->at_ns && now - e->at_ns < FRAG_KEEP_NS && e->id == k.id &&
			    e->proto == k.proto && !memcmp(e->addrs, k.addrs, sizeof(k.addrs));

		if (same && !(off & 0x2000)) {
			/* the last one: slirp completes the datagram or keeps it */
			e->at_ns = 0;
			return true;
		}
		if (same)
			return true;
		if (e->at_ns < slot->at_ns) /* the oldest (or free) slot */
			slot = e;
	}
	if (!(off & 0x2000)) {
		sl->frag_drops++;
		return false;
	}
	if (ip_header_ok(f + 14, len - 14))
		*slot = k; /* a first or middle fragment: slirp makes the queue */
	return true;
}

static int slirp_transmit(void *opaque, const struct virtio_net_hdr_v1 *hdr,
			  const struct iovec *iov, unsigned n, size_t len)
{
	struct net_slirp *sl = opaque;

	if (len > sizeof(sl->tx_buf))
		return -EMSGSIZE;
	pthread_mutex_lock(&sl->lock);
	/* slirp takes whole frames with their checksums done */
	net_iov_gather(sl->tx_buf, iov, n, len);
	net_csum_complete(sl->tx_buf, len, hdr);
	if (last_fragment_ok(sl, sl->tx_buf, len))
		sl->lib.input(sl->s, sl->tx_buf, (int)len);
	/* new sockets to watch; its answers are queued, sent by wake_ready */
	cycle(sl);
	pthread_mutex_unlock(&sl->lock);
	return 0;
}

/* Device lock held: only schedule. */
static void slirp_rx_ready(void *opaque)
{
	struct net_slirp *sl = opaque;

	pthread_mutex_lock(&sl->lock);
	if (sl->rx_waiting) {
		sl->rx_waiting = false;
		wake(sl);
	}
	pthread_mutex_unlock(&sl->lock);
}

static const struct net_backend_ops slirp_ops = {
	.transmit = slirp_transmit,
	.rx_ready = slirp_rx_ready,
};

static struct in_addr in4(const char *s)
{
	struct in_addr a;

	inet_pton(AF_INET, s, &a);
	return a;
}

static struct in6_addr in6(const char *s)
{
	struct in6_addr a;

	inet_pton(AF_INET6, s, &a);
	return a;
}

static int add_fwds(struct net_slirp *sl, const struct net_config *nc)
{
	for (unsigned i = 0; i < nc->nr_fwd; i++) {
		const struct hostfwd_config *f = &nc->fwd[i];
		struct in_addr h = { f->host_addr }, g = { f->guest_addr };
		char hs[INET_ADDRSTRLEN], gs[INET_ADDRSTRLEN];

		errno = 0;
		if (sl->lib.add_hostfwd(sl->s, f->udp, h, f->host_port, g, f->guest_port) < 0) {
			int e = errno ? errno : EADDRINUSE;

			inet_ntop(AF_INET, &h, hs, sizeof(hs));
			inet_ntop(AF_INET, &g, gs, sizeof(gs));
			pt_err("--net user: hostfwd=%s:%s:%u-%s:%u: cannot listen on host port %u: %s",
			       f->udp ? "udp" : "tcp", hs, f->host_port, gs, f->guest_port,
			       f->host_port, strerror(e));
			return -e;
		}
	}
	return 0;
}

int net_slirp_create(struct net_slirp **out, const struct net_config *nc)
{
	SlirpConfig cfg = {
		.version = 4,
		.in_enabled = true,
		.vnetwork = in4("10.0.2.0"),
		.vnetmask = in4("255.255.255.0"),
		.vhost = in4("10.0.2.2"),
		.in6_enabled = true,
		.vprefix_addr6 = in6("fec0::"),
		.vprefix_len = 64,
		.vhost6 = in6("fec0::2"),
		.vdhcp_start = in4("10.0.2.15"),
		.vnameserver = in4("10.0.2.3"),
		.vnameserver6 = in6("fec0::3"),
	};
	struct net_slirp *sl = calloc(1, sizeof(*sl));
	int r;

	if (!sl)
		return -ENOMEM;
	sl->ps.epfd = sl->poll_fd = sl->wake_fd = -1;
	if ((r = -pthread_mutex_init(&sl->lock, NULL)) < 0) {
		free(sl);
		return r;
	}
	if ((r = slirp_lib_open(&sl->lib)) < 0)
		goto fail;
	slirp_pollset_init(&sl->ps, &sl->lib);
	sl->poll_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	sl->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (sl->ps.epfd < 0 || sl->poll_fd < 0 || sl->wake_fd < 0) {
		r = -errno;
		pt_err("user net: epoll/timerfd/eventfd: %s", strerror(errno));
		goto fail;
	}
	if (!sl->lib.new_(&cfg, &slirp_cbs, sl)) {
		r = -ENOMEM;
		pt_err("user net: libslirp %s could not start (slirp_new)", sl->lib.version_string());
		goto fail;
	}
	if ((r = add_fwds(sl, nc)) < 0)
		goto fail;
	*out = sl;
	return 0;
fail:
	net_slirp_destroy(sl);
	return r;
}

struct net_backend net_slirp_backend(struct net_slirp *sl)
{
	(void)sl;
	return (struct net_backend){ &slirp_ops, sl, 0, "user" };
}

int net_slirp_start(struct net_slirp *sl, struct net_port port, struct evloop *loop)
{
	int r = 0;

	pthread_mutex_lock(&sl->lock);
	sl->port = port;
	sl->loop = loop;
	sl->started = true;
	cycle(sl);
	/* the lock keeps the callbacks out until everything is registered */
	if ((r = evloop_add(loop, sl->ps.epfd, EPOLLIN, sockets_ready, sl)) < 0 ||
	    (r = evloop_add(loop, sl->poll_fd, EPOLLIN, poll_timer, sl)) < 0 ||
	    (r = evloop_add(loop, sl->wake_fd, EPOLLIN, wake_ready, sl)) < 0)
		goto out;
	for (struct slirp_timer *t = sl->timers; t; t = t->next) {
		if ((r = evloop_add(loop, t->fd, EPOLLIN, timer_fired, t)) < 0)
			goto out;
		t->on_loop = true;
	}
out:
	if (r < 0)
		pt_err("user net: on the I/O thread: %s", strerror(-r));
	pthread_mutex_unlock(&sl->lock);
	if (r < 0)
		net_slirp_stop(sl);
	return r;
}

void net_slirp_stop(struct net_slirp *sl)
{
	if (!sl || !sl->loop)
		return;
	/* without the lock: a running callback holds it and evloop_del waits for it */
	evloop_del(sl->loop, sl->ps.epfd);
	evloop_del(sl->loop, sl->poll_fd);
	evloop_del(sl->loop, sl->wake_fd);
	for (struct slirp_timer *t = sl->timers; t; t = t->next)
		if (t->on_loop) {
			evloop_del(sl->loop, t->fd);
			t->on_loop = false;
		}
	pthread_mutex_lock(&sl->lock);
	sl->started = false;
	pthread_mutex_unlock(&sl->lock);
}

void net_slirp_destroy(struct net_slirp *sl)
{
	if (!sl)
		return;
	net_slirp_stop(sl);
	if (sl->s)
		sl->lib.cleanup(sl->s); /* frees its timers through timer_free */
	while (sl->timers)
		timer_free(sl->timers, sl);
	while (sl->q_count) {
		free(sl->q[sl->q_head]);
		sl->q_head = (sl->q_head + 1) % NET_SLIRP_QUEUE_MAX;
		sl->q_count--;
	}
	if (sl->poll_fd >= 0)
		close(sl->poll_fd);
	if (sl->wake_fd >= 0)
		close(sl->wake_fd);
	slirp_pollset_destroy(&sl->ps);
	slirp_lib_close(&sl->lib);
	pthread_mutex_destroy(&sl->lock);
	free(sl);
}

void net_slirp_print_stats(struct net_slirp *sl)
{
	if (!sl->queue_drops && !sl->guest_errors && !sl->frag_drops)
		return;
	pt_info("stats: user net: %llu frames dropped (queue to the guest full), %llu guest errors, "
		"%llu last fragments without their datagram dropped",
		(unsigned long long)sl->queue_drops, (unsigned long long)sl->guest_errors,
		(unsigned long long)sl->frag_drops);
}
