/*
 * virtio-net: the queues on one side, a backend on the other
 * (virtio_net.h has the contract, net_backend.h the seam).
 */
#include <endian.h>
#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "petrel/net_hdr.h"
#include "petrel/util.h"
#include "petrel/virtio_net.h"

#define QSIZE VIRTIO_NET_QUEUE_SIZE
/* mac, status, max_virtqueue_pairs, mtu: the fields up to a 4-byte boundary */
#define CONFIG_LEN 12

/* Always offered; the backend adds its segmentation offloads. */
#define NET_FEATURES                                                         \
	((1ULL << VIRTIO_NET_F_MAC) | (1ULL << VIRTIO_NET_F_STATUS) |          \
	 (1ULL << VIRTIO_NET_F_MRG_RXBUF) | (1ULL << VIRTIO_NET_F_CSUM) |      \
	 (1ULL << VIRTIO_NET_F_GUEST_CSUM))

struct virtio_net {
	struct virtio_dev vdev;
	char name[24];
	uint8_t mac[6];
	uint16_t status; /* VIRTIO_NET_S_LINK_UP */
	struct net_backend be;
	struct iovec tx_iov[QSIZE];
	struct iovec tx_frame[QSIZE]; /* the chain past its header */
	/* receive: the first chain of a frame keeps its buffers for num_buffers */
	struct iovec rx_iov0[QSIZE], rx_iov[QSIZE];
	uint16_t rx_heads[QSIZE];
	uint32_t rx_lens[QSIZE];
	bool rx_wanted;  /* a receive found no buffers: rx_ready on the next kick */
	bool tx_blocked; /* the backend said -EAGAIN: wait for tx_ready */
	struct virtio_net_stats st;
};

static bool running(const struct virtio_dev *d)
{
	return (d->status & VIRTIO_CONFIG_S_DRIVER_OK) &&
	       !(d->status & VIRTIO_CONFIG_S_NEEDS_RESET);
}

static struct virtq *queue(struct virtio_net *n, unsigned q)
{
	return &virtio_queue(&n->vdev, q)->vq;
}

const char *virtio_net_drop_name(enum net_drop d)
{
	static const char *const names[NET_DROP_MAX] = {
		[NET_DROP_TX_CHAIN] = "tx malformed chain",
		[NET_DROP_TX_WRITABLE] = "tx writable buffer",
		[NET_DROP_TX_SHORT] = "tx too short",
		[NET_DROP_TX_LONG] = "tx too long",
		[NET_DROP_TX_HDR] = "tx bad header",
		[NET_DROP_TX_LINK] = "tx link down",
		[NET_DROP_TX_BACKEND] = "tx backend error",
		[NET_DROP_RX_CHAIN] = "rx malformed chain",
		[NET_DROP_RX_SMALL] = "rx guest buffers too small",
		[NET_DROP_RX_FRAME] = "rx bad frame length",
		[NET_DROP_RX_HDR] = "rx header not negotiated",
	};

	return d < NET_DROP_MAX ? names[d] : "?";
}

/* The readable buffers of e from byte off on, into out; how many. */
static unsigned iov_from(const struct virtq_elem *e, uint64_t off,
			 struct iovec *out)
{
	unsigned k = 0;

	for (unsigned i = 0; i < e->n_out; i++) {
		uint64_t l = e->iov[i].iov_len;

		if (off >= l) {
			off -= l;
			continue;
		}
		out[k].iov_base = (uint8_t *)e->iov[i].iov_base + off;
		out[k].iov_len = l - off;
		off = 0;
		k++;
	}
	return k;
}

/*
 * One transmit chain: checked, handed to the backend, used. -EAGAIN: the
 * backend has no room; the chain is not used (the caller gives it back).
 */
static int tx_one(struct virtio_net *n, const struct virtq_elem *e)
{
	struct virtio_net_hdr_v1 h;
	enum net_drop why;
	uint64_t len;
	unsigned cnt;
	int r;

	if (e->n_in) {
		why = NET_DROP_TX_WRITABLE;
		goto drop;
	}
	if (e->out_len < NET_HDR_LEN + NET_FRAME_MIN) {
		why = NET_DROP_TX_SHORT;
		goto drop;
	}
	len = e->out_len - NET_HDR_LEN;
	if (len > NET_FRAME_MAX) {
		why = NET_DROP_TX_LONG;
		goto drop;
	}
	/* our copy from here on: the guest may rewrite its own */
	virtq_elem_read(e, 0, &h, sizeof(h));
	if (net_hdr_check_tx(&h, len, n->vdev.guest_features) != NET_HDR_OK) {
		why = NET_DROP_TX_HDR;
		goto drop;
	}
	if (!(n->status & VIRTIO_NET_S_LINK_UP)) {
		why = NET_DROP_TX_LINK;
		goto drop;
	}
	h.num_buffers = 0;
	cnt = iov_from(e, NET_HDR_LEN, n->tx_frame);
	r = n->be.ops->transmit(n->be.be, &h, n->tx_frame, cnt, len);
	if (r == -EAGAIN)
		return -EAGAIN;
	if (r < 0) {
		why = NET_DROP_TX_BACKEND;
		goto drop;
	}
	n->st.tx_packets++;
	n->st.tx_bytes += len;
	virtq_push(queue(n, VIRTIO_NET_TX_Q), e->head, 0);
	return 0;
drop:
	n->st.drops[why]++;
	virtq_push(queue(n, VIRTIO_NET_TX_Q), e->head, 0);
	return 0;
}

/* Lock held: transmits what the driver made available. */
static void tx_run(struct virtio_net *n)
{
	struct virtq *vq = queue(n, VIRTIO_NET_TX_Q);
	struct virtq_elem e = { .iov = n->tx_iov, .cap = QSIZE };
	unsigned budget = VIRTIO_NET_TX_BUDGET;
	int r;

	if (!running(&n->vdev) || n->tx_blocked)
		return;
	for (;;) {
		virtq_disable_kick(vq);
		while ((r = virtq_pop(vq, &e)) != 0) {
			if (r < 0) {
				/* that packet fails; the queue goes on */
				n->st.drops[NET_DROP_TX_CHAIN]++;
				if (e.head < vq->num)
					virtq_push(vq, e.head, 0);
				continue;
			}
			if (tx_one(n, &e) == -EAGAIN) {
				virtq_unpop(vq, 1);
				n->tx_blocked = true;
				goto out;
			}
			if (--budget == 0) {
				/* the rest on a later turn of the loop: receive gets its share */
				virtio_queue_kick(&n->vdev, VIRTIO_NET_TX_Q);
				goto out;
			}
		}
		if (!virtq_enable_kick(vq))
			break;
	}
out:
	virtio_notify(&n->vdev, VIRTIO_NET_TX_Q);
}

/* Writes bytes [off, off + len) of header-then-frame into e at eoff. */
static void rx_write(const struct virtq_elem *e, uint64_t eoff,
		     const struct virtio_net_hdr_v1 *h, const uint8_t *frame,
		     uint64_t off, uint64_t len)
{
	if (off < NET_HDR_LEN) {
		uint64_t c = MIN(len, NET_HDR_LEN - off);

		virtq_elem_write(e, eoff, (const uint8_t *)h + off, c);
		eoff += c;
		off += c;
		len -= c;
	}
	if (len)
		virtq_elem_write(e, eoff, frame + (off - NET_HDR_LEN), len);
}

/*
 * Lock held, running: places header + frame in receive chains. 1: placed
 * (or dropped and counted); 0: not enough buffers, nothing taken.
 */
static int rx_place(struct virtio_net *n, struct virtio_net_hdr_v1 *h,
		    const uint8_t *frame, size_t len)
{
	struct virtq *vq = queue(n, VIRTIO_NET_RX_Q);
	bool mrg = virtio_has_feature(&n->vdev, VIRTIO_NET_F_MRG_RXBUF);
	uint64_t total = NET_HDR_LEN + len, placed = 0;
	struct virtq_elem e0 = { .iov = n->rx_iov0, .cap = QSIZE };
	struct virtq_elem e = { .iov = n->rx_iov, .cap = QSIZE };
	unsigned nbufs = 0;
	int r;

	/* 5.1.6.3.2: without MRG_RXBUF, num_buffers is 1 */
	h->num_buffers = htole16(1);
	while (placed < total) {
		struct virtq_elem *c = nbufs ? &e : &e0;
		uint64_t w;

		r = nbufs < vq->num ? virtq_pop(vq, c) : 0;
		if (r == 0) {
			/* too few buffers: give them back and wait for more */
			virtq_unpop(vq, (uint16_t)nbufs);
			nbufs = 0;
			placed = 0;
			if (virtq_enable_kick_more(vq))
				continue;
			n->rx_wanted = true;
			return 0;
		}
		if (r < 0) {
			n->st.drops[NET_DROP_RX_CHAIN]++;
			virtio_needs_reset(&n->vdev, "a malformed descriptor chain on receiveq1");
			return 1;
		}
		if (!nbufs && c->in_len < NET_HDR_LEN) {
			/* 5.1.6.3.1: every buffer holds at least the header */
			n->st.drops[NET_DROP_RX_SMALL]++;
			virtq_push(vq, c->head, 0);
			return 1;
		}
		w = MIN(c->in_len, total - placed);
		rx_write(c, 0, h, frame, placed, w);
		n->rx_heads[nbufs] = c->head;
		n->rx_lens[nbufs] = (uint32_t)w;
		nbufs++;
		placed += w;
		if (placed < total && !mrg) {
			n->st.drops[NET_DROP_RX_SMALL]++;
			virtq_push(vq, c->head, 0);
			return 1;
		}
	}
	if (mrg) {
		uint16_t nb = htole16((uint16_t)nbufs);

		virtq_elem_write(&e0, offsetof(struct virtio_net_hdr_v1, num_buffers), &nb,
				 sizeof(nb));
	}
	for (unsigned i = 0; i < nbufs; i++)
		virtq_push(vq, n->rx_heads[i], n->rx_lens[i]);
	n->st.rx_packets++;
	n->st.rx_bytes += len;
	n->st.rx_buffers += nbufs;
	return 1;
}

static int port_receive(void *opaque, const struct virtio_net_hdr_v1 *hdr,
			const uint8_t *frame, size_t len)
{
	struct virtio_net *n = opaque;
	struct virtio_net_hdr_v1 h = { 0 };
	int r = 1;

	virtio_lock(&n->vdev);
	if (!running(&n->vdev)) {
		/* the driver is not there (yet): its DRIVER_OK kicks receiveq1 */
		n->rx_wanted = true;
		r = 0;
	} else if (len < NET_FRAME_MIN || len > NET_FRAME_MAX) {
		n->st.drops[NET_DROP_RX_FRAME]++;
	} else {
		if (hdr)
			h = *hdr;
		if (net_hdr_check_rx(&h, len, n->vdev.guest_features) != NET_HDR_OK)
			n->st.drops[NET_DROP_RX_HDR]++;
		else
			r = rx_place(n, &h, frame, len);
	}
	virtio_unlock(&n->vdev);
	return r;
}

static void port_rx_flush(void *opaque)
{
	struct virtio_net *n = opaque;

	virtio_lock(&n->vdev);
	virtio_notify(&n->vdev, VIRTIO_NET_RX_Q);
	virtio_unlock(&n->vdev);
}

static void port_tx_ready(void *opaque)
{
	struct virtio_net *n = opaque;

	virtio_lock(&n->vdev);
	n->tx_blocked = false;
	tx_run(n);
	virtio_unlock(&n->vdev);
}

static void port_link(void *opaque, bool up)
{
	struct virtio_net *n = opaque;
	uint16_t s;

	virtio_lock(&n->vdev);
	s = up ? n->status | VIRTIO_NET_S_LINK_UP
	       : n->status & (uint16_t)~VIRTIO_NET_S_LINK_UP;
	if (s != n->status) {
		n->status = s;
		virtio_config_changed(&n->vdev);
	}
	virtio_unlock(&n->vdev);
}

struct net_port virtio_net_port(struct virtio_net *n)
{
	return (struct net_port){ port_receive, port_rx_flush, port_tx_ready, port_link, n };
}

static void net_kick(void *opaque, unsigned q)
{
	struct virtio_net *n = opaque;

	if (q == VIRTIO_NET_TX_Q) {
		tx_run(n);
	} else if (q == VIRTIO_NET_RX_Q && n->rx_wanted) {
		/* buffers came: the backend delivers what it kept */
		n->rx_wanted = false;
		virtq_disable_kick(queue(n, VIRTIO_NET_RX_Q));
		n->be.ops->rx_ready(n->be.be);
	}
}

static int net_start(void *opaque)
{
	struct virtio_net *n = opaque;

	if (n->be.ops->set_offloads)
		n->be.ops->set_offloads(n->be.be, n->vdev.guest_features);
	return 0;
}

static void net_reset(void *opaque)
{
	struct virtio_net *n = opaque;

	/*
	 * rx_wanted stays: the backend may hold a frame, and the restarted
	 * driver's first kick on receiveq1 lets it come. The backend is not
	 * called: reset also runs while the VM is taken apart.
	 */
	n->tx_blocked = false;
}

static void net_config_read(void *opaque, unsigned off, void *buf, unsigned len)
{
	struct virtio_net *n = opaque;
	uint8_t cfg[CONFIG_LEN] = { 0 };
	uint16_t v;

	memcpy(cfg, n->mac, 6);
	v = htole16(n->status);
	memcpy(cfg + offsetof(struct virtio_net_config, status), &v, 2);
	v = htole16(1); /* one queue pair (meaningful with MQ only) */
	memcpy(cfg + offsetof(struct virtio_net_config, max_virtqueue_pairs), &v, 2);
	memcpy(buf, cfg + off, len);
}

static const struct virtio_dev_ops net_ops = {
	.config_read = net_config_read,
	.start = net_start,
	.reset = net_reset,
	.kick = net_kick,
};

int virtio_net_create(struct virtio_net **out, unsigned index,
		      const uint8_t mac[6], struct net_backend be,
		      const struct guest_mem *mem, struct evloop *loop)
{
	/* segmentation offloads only where the backend honours them */
	const uint64_t seg = (1ULL << VIRTIO_NET_F_GUEST_TSO4) | (1ULL << VIRTIO_NET_F_GUEST_TSO6) |
			     (1ULL << VIRTIO_NET_F_GUEST_ECN) | (1ULL << VIRTIO_NET_F_GUEST_UFO) |
			     (1ULL << VIRTIO_NET_F_HOST_TSO4) | (1ULL << VIRTIO_NET_F_HOST_TSO6) |
			     (1ULL << VIRTIO_NET_F_HOST_ECN) | (1ULL << VIRTIO_NET_F_HOST_UFO);
	struct virtio_net *n;
	int err;

	if (!be.ops || !be.ops->transmit || !be.ops->rx_ready)
		return -EINVAL;
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	snprintf(n->name, sizeof(n->name), "virtio-net%u", index);
	memcpy(n->mac, mac, 6);
	n->status = VIRTIO_NET_S_LINK_UP;
	n->be = be;
	err = virtio_dev_init(&n->vdev, n->name, VIRTIO_ID_NET,
			      NET_FEATURES | (be.offloads & seg), 2, QSIZE, CONFIG_LEN,
			      &net_ops, n, mem, loop);
	if (err < 0) {
		pt_err("%s: virtio_dev_init: %s", n->name, strerror(-err));
		free(n);
		return err;
	}
	*out = n;
	return 0;
}

struct virtio_dev *virtio_net_dev(struct virtio_net *n)
{
	return &n->vdev;
}

void virtio_net_destroy(struct virtio_net *n)
{
	if (!n)
		return;
	virtio_dev_destroy(&n->vdev);
	free(n);
}

void virtio_net_get_stats(struct virtio_net *n, struct virtio_net_stats *s)
{
	virtio_lock(&n->vdev);
	*s = n->st;
	virtio_unlock(&n->vdev);
}

void virtio_net_print_stats(struct virtio_net *n)
{
	struct virtio_net_stats s;
	char drops[512] = "";
	size_t off = 0;
	uint64_t total = 0;

	virtio_net_get_stats(n, &s);
	for (unsigned i = 0; i < NET_DROP_MAX; i++) {
		if (!s.drops[i])
			continue;
		total += s.drops[i];
		if (off < sizeof(drops))
			off += (size_t)snprintf(drops + off, sizeof(drops) - off, "%s%llu %s",
						off ? ", " : " (", (unsigned long long)s.drops[i],
						virtio_net_drop_name(i));
	}
	if (total && off < sizeof(drops))
		snprintf(drops + off, sizeof(drops) - off, ")");
	pt_info("stats: %s (%s): tx %llu packets %llu bytes, rx %llu packets %llu bytes in %llu buffers, %llu dropped%s",
		n->name, n->be.desc ? n->be.desc : "?",
		(unsigned long long)s.tx_packets, (unsigned long long)s.tx_bytes,
		(unsigned long long)s.rx_packets, (unsigned long long)s.rx_bytes,
		(unsigned long long)s.rx_buffers, (unsigned long long)total, drops);
}
