/* The tap backend (net_tap.h). */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "petrel/net_hdr.h"
#include "petrel/net_tap.h"
#include "petrel/util.h"
#include "petrel/virtio_net.h"

/* frames one wake-up reads before the loop serves others */
#define RX_BATCH 64
#define TAP_OFFLOADS                                                               \
	((1ULL << VIRTIO_NET_F_GUEST_TSO4) | (1ULL << VIRTIO_NET_F_GUEST_TSO6) |     \
	 (1ULL << VIRTIO_NET_F_GUEST_ECN) | (1ULL << VIRTIO_NET_F_GUEST_UFO) |       \
	 (1ULL << VIRTIO_NET_F_HOST_TSO4) | (1ULL << VIRTIO_NET_F_HOST_TSO6) |       \
	 (1ULL << VIRTIO_NET_F_HOST_ECN) | (1ULL << VIRTIO_NET_F_HOST_UFO))

struct net_tap {
	int fd;
	int wake_fd;   /* eventfd: the guest posted receive buffers */
	char desc[40]; /* "tap petrel0", "tap fd 5" */
	bool vnet_hdr;
	struct evloop *loop;
	struct net_port port;
	bool on_loop;
	uint32_t events; /* what the tap fd is watched for now */
	bool rx_held;    /* buf holds a frame the guest had no buffers for */
	size_t held_len;
	bool rx_waiting; /* ... and we wait for rx_ready */
	bool gone;       /* the tap was deleted: link down */
	uint64_t write_errors, rx_bad;
	int last_errno;
	uint8_t buf[NET_HDR_LEN + NET_FRAME_MAX + 1]; /* +1: an overlong read shows */
	uint8_t tx_buf[NET_FRAME_MAX];                /* for a checksum without vnet header */
};

static int open_tun(const char *name, int *fd_out, bool *vnet_hdr)
{
	struct ifreq ifr = { 0 };
	unsigned features = 0;
	int fd, e;

	if (!if_nametoindex(name)) {
		pt_err("--net tap=%s: there is no interface %s: create it first, e.g. "
		       "`sudo ip tuntap add %s mode tap user $(id -un) && sudo ip link set %s up`",
		       name, name, name, name);
		return -ENODEV;
	}
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		if (e == ENOENT || e == ENODEV || e == ENXIO)
			pt_err("--net tap=%s: no /dev/net/tun (%s): load the tun module (`sudo modprobe tun`)",
			       name, strerror(e));
		else
			pt_err("--net tap=%s: cannot open /dev/net/tun: %s (it is normally mode 0666)",
			       name, strerror(e));
		return -e;
	}
	if (ioctl(fd, TUNGETFEATURES, &features) == 0 && !(features & IFF_VNET_HDR)) {
		pt_err("--net tap=%s: this kernel's tun has no IFF_VNET_HDR", name);
		close(fd);
		return -EOPNOTSUPP;
	}
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		e = errno;
		if (e == EPERM || e == EACCES)
			pt_err("--net tap=%s: no permission to use tap %s: create it for your user "
			       "(`sudo ip tuntap add %s mode tap user $(id -un)`) or run petrel as root",
			       name, name, name);
		else if (e == EBUSY)
			pt_err("--net tap=%s: tap %s is in use by another process", name, name);
		else if (e == EINVAL)
			pt_err("--net tap=%s: %s is not a single-queue tap (a tun, multi_queue, or "
			       "another kind of interface?): make one with `ip tuntap add %s mode tap`",
			       name, name, name);
		else
			pt_err("--net tap=%s: ioctl(TUNSETIFF): %s", name, strerror(e));
		close(fd);
		return -e;
	}
	*fd_out = fd;
	*vnet_hdr = true;
	return 0;
}

/* An fd passed in: a tap (not a tun), nonblocking from now on. */
static int check_fd(int fd, bool *vnet_hdr)
{
	struct ifreq ifr = { 0 };
	int fl;

	if (fd < 0 || fcntl(fd, F_GETFD) < 0) {
		pt_err("--net tap,fd=%d: fd %d is not open in petrel (pass it open, e.g. `petrel ... %d<>/dev/tapN`)",
		       fd, fd, fd);
		return -EBADF;
	}
	if (ioctl(fd, TUNGETIFF, &ifr) < 0) {
		pt_err("--net tap,fd=%d: fd %d is not an attached tap (TUNGETIFF: %s)", fd, fd,
		       strerror(errno));
		return -ENOTTY;
	}
	if ((ifr.ifr_flags & (IFF_TAP | IFF_TUN)) != IFF_TAP) {
		pt_err("--net tap,fd=%d: %s is a tun (layer 3), not a tap", fd, ifr.ifr_name);
		return -EINVAL;
	}
	*vnet_hdr = ifr.ifr_flags & IFF_VNET_HDR;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		pt_err("--net tap,fd=%d: fcntl(O_NONBLOCK): %s", fd, strerror(errno));
		return -errno;
	}
	return 0;
}

int net_tap_check(const char *name, int fd)
{
	bool vh;
	int r;

	if (name && name[0]) {
		r = open_tun(name, &fd, &vh);
		if (r == 0)
			close(fd);
		return r;
	}
	return check_fd(fd, &vh);
}

/* The watched events of the tap fd, when they change. */
static void set_events(struct net_tap *t, uint32_t ev)
{
	if (ev == t->events || !t->on_loop || t->gone)
		return;
	t->events = ev;
	evloop_mod(t->loop, t->fd, ev);
}

/* The tap was deleted (EBADFD, EPOLLERR): the link goes down for good. */
static void went_away(struct net_tap *t, int err)
{
	if (t->gone)
		return;
	pt_warn("%s: %s: the tap is gone; the guest's link is down", t->desc,
		err ? strerror(err) : "error on the fd");
	t->gone = true;
	if (t->on_loop)
		evloop_del(t->loop, t->fd);
	t->port.link(t->port.dev, false);
}

static void rx_run(struct net_tap *t)
{
	const size_t hl = t->vnet_hdr ? NET_HDR_LEN : 0;
	unsigned delivered = 0;

	for (unsigned i = 0; i < RX_BATCH && !t->gone; i++) {
		if (!t->rx_held) {
			ssize_t n = read(t->fd, t->buf, sizeof(t->buf));

			if (n < 0) {
				if (errno == EINTR)
					continue;
				if (errno != EAGAIN)
					went_away(t, errno);
				break;
			}
			if ((size_t)n < hl + NET_FRAME_MIN || (size_t)n > hl + NET_FRAME_MAX) {
				t->rx_bad++;
				continue;
			}
			t->held_len = (size_t)n;
			t->rx_held = true;
		}
		if (!t->port.receive(t->port.dev,
				     hl ? (const struct virtio_net_hdr_v1 *)t->buf : NULL,
				     t->buf + hl, t->held_len - hl)) {
			/* no guest buffers: the frame waits here, the rest in the kernel */
			t->rx_waiting = true;
			set_events(t, t->events & ~(uint32_t)EPOLLIN);
			break;
		}
		t->rx_held = false;
		delivered++;
	}
	if (delivered)
		t->port.rx_flush(t->port.dev);
}

static void tap_ready(void *opaque, uint32_t events)
{
	struct net_tap *t = opaque;

	if (events & (EPOLLERR | EPOLLHUP)) {
		went_away(t, 0);
		return;
	}
	if (events & EPOLLOUT) {
		set_events(t, t->events & ~(uint32_t)EPOLLOUT);
		t->port.tx_ready(t->port.dev);
	}
	if (events & EPOLLIN)
		rx_run(t);
}

static void wake_ready(void *opaque, uint32_t events)
{
	struct net_tap *t = opaque;
	uint64_t v;
	(void)events;

	if (read(t->wake_fd, &v, sizeof(v)) != sizeof(v) || !t->rx_waiting)
		return;
	t->rx_waiting = false;
	set_events(t, t->events | EPOLLIN);
	rx_run(t);
}

/* Device lock held: only schedule. */
static void tap_rx_ready(void *opaque)
{
	struct net_tap *t = opaque;
	uint64_t one = 1;

	if (t->rx_waiting && write(t->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		pt_warn("%s: write to its eventfd: %s", t->desc, strerror(errno));
}

static int tap_transmit(void *opaque, const struct virtio_net_hdr_v1 *hdr,
			const struct iovec *iov, unsigned n, size_t len)
{
	struct net_tap *t = opaque;
	struct iovec v[VIRTIO_NET_QUEUE_SIZE + 1];
	ssize_t r;

	if (t->gone)
		return -ENETDOWN;
	if (n > VIRTIO_NET_QUEUE_SIZE)
		return -EINVAL;
	if (t->vnet_hdr) {
		v[0] = (struct iovec){ (void *)hdr, NET_HDR_LEN };
		memcpy(v + 1, iov, n * sizeof(*iov));
		r = writev(t->fd, v, (int)n + 1);
	} else if (hdr->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		/* no vnet header: the checksum the guest left to us, here */
		net_iov_gather(t->tx_buf, iov, n, len);
		net_csum_complete(t->tx_buf, len, hdr);
		r = write(t->fd, t->tx_buf, len);
	} else {
		r = writev(t->fd, iov, (int)n);
	}
	if (r >= 0)
		return 0;
	if (errno == EAGAIN) {
		set_events(t, t->events | EPOLLOUT);
		return -EAGAIN;
	}
	/* EIO: the host side of the tap is down; EBADFD: it was deleted */
	t->write_errors++;
	t->last_errno = errno;
	return -errno;
}

static void tap_set_offloads(void *opaque, uint64_t f)
{
	struct net_tap *t = opaque;
	unsigned off = 0;

	if (!t->vnet_hdr || t->gone)
		return;
	/* the kernel may hand us only what the driver can take */
	if (f & (1ULL << VIRTIO_NET_F_GUEST_CSUM)) {
		off |= TUN_F_CSUM;
		if (f & (1ULL << VIRTIO_NET_F_GUEST_TSO4))
			off |= TUN_F_TSO4;
		if (f & (1ULL << VIRTIO_NET_F_GUEST_TSO6))
			off |= TUN_F_TSO6;
		if ((off & (TUN_F_TSO4 | TUN_F_TSO6)) && (f & (1ULL << VIRTIO_NET_F_GUEST_ECN)))
			off |= TUN_F_TSO_ECN;
		if (f & (1ULL << VIRTIO_NET_F_GUEST_UFO))
			off |= TUN_F_UFO;
	}
	if (ioctl(t->fd, TUNSETOFFLOAD, off) < 0 &&
	    ioctl(t->fd, TUNSETOFFLOAD, off & ~TUN_F_UFO) < 0)
		pt_warn("%s: ioctl(TUNSETOFFLOAD, 0x%x): %s", t->desc, off, strerror(errno));
}

static const struct net_backend_ops tap_ops = {
	.transmit = tap_transmit,
	.rx_ready = tap_rx_ready,
	.set_offloads = tap_set_offloads,
};

int net_tap_open(struct net_tap **out, const char *name, int fd)
{
	struct net_tap *t;
	bool vh = false;
	int r, hs = NET_HDR_LEN;

	if (name && name[0])
		r = open_tun(name, &fd, &vh);
	else
		r = check_fd(fd, &vh);
	if (r < 0)
		return r;
	t = calloc(1, sizeof(*t));
	if (!t) {
		close(fd);
		return -ENOMEM;
	}
	t->fd = fd;
	t->vnet_hdr = vh;
	if (name && name[0])
		snprintf(t->desc, sizeof(t->desc), "tap %s", name);
	else
		snprintf(t->desc, sizeof(t->desc), "tap fd %d", fd);
	t->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (t->wake_fd < 0) {
		r = -errno;
		pt_err("%s: eventfd: %s", t->desc, strerror(errno));
		goto fail;
	}
	/* virtio 1.x's header has num_buffers: 12 bytes, not the legacy 10 */
	if (vh && (ioctl(fd, TUNSETVNETHDRSZ, &hs) < 0 || ioctl(fd, TUNSETOFFLOAD, 0) < 0)) {
		r = -errno;
		pt_err("%s: ioctl(TUNSETVNETHDRSZ/TUNSETOFFLOAD): %s", t->desc, strerror(errno));
		goto fail;
	}
	*out = t;
	return 0;
fail:
	if (t->wake_fd >= 0)
		close(t->wake_fd);
	close(fd);
	free(t);
	return r;
}

struct net_backend net_tap_backend(struct net_tap *t)
{
	return (struct net_backend){ &tap_ops, t, t->vnet_hdr ? TAP_OFFLOADS : 0, t->desc };
}

int net_tap_start(struct net_tap *t, struct net_port port, struct evloop *loop)
{
	int r;

	t->port = port;
	t->loop = loop;
	t->events = EPOLLIN;
	if ((r = evloop_add(loop, t->wake_fd, EPOLLIN, wake_ready, t)) < 0) {
		pt_err("%s: on the I/O thread: %s", t->desc, strerror(-r));
		return r;
	}
	t->on_loop = true;
	if ((r = evloop_add(loop, t->fd, EPOLLIN, tap_ready, t)) < 0) {
		pt_err("%s: on the I/O thread: %s", t->desc, strerror(-r));
		evloop_del(loop, t->wake_fd);
		t->on_loop = false;
		return r;
	}
	return 0;
}

void net_tap_stop(struct net_tap *t)
{
	if (!t || !t->on_loop)
		return;
	evloop_del(t->loop, t->wake_fd);
	if (!t->gone)
		evloop_del(t->loop, t->fd);
	t->on_loop = false;
}

void net_tap_close(struct net_tap *t)
{
	if (!t)
		return;
	net_tap_stop(t);
	close(t->wake_fd);
	close(t->fd);
	free(t);
}

void net_tap_print_stats(struct net_tap *t)
{
	if (!t->write_errors && !t->rx_bad && !t->gone)
		return;
	pt_info("stats: %s: %llu write errors%s%s, %llu bad frames read%s", t->desc,
		(unsigned long long)t->write_errors, t->last_errno ? ", last: " : "",
		t->last_errno ? strerror(t->last_errno) : "", (unsigned long long)t->rx_bad,
		t->gone ? ", the tap went away" : "");
}
