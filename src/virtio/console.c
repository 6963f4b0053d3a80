/*
 * virtio-console, one port: transmitq chains to the sink, host bytes into
 * receiveq buffers (virtio_console.h has the contract).
 */
#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_console.h>
#include <linux/virtio_ids.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "petrel/util.h"
#include "petrel/virtio_console.h"

/* How much of a chain goes to the sink per call: a stack buffer. */
#define TX_CHUNK 4096

struct virtio_console {
	struct virtio_dev vdev;
	char name[24];
	struct virtio_console_sink sink;
	struct iovec tx_iov[VIRTIO_CONSOLE_QUEUE_SIZE];
	struct iovec rx_iov[VIRTIO_CONSOLE_QUEUE_SIZE];
	/*
	 * The transmit chain the sink has not taken in full: it stays ours
	 * (not on the used ring) until the rest is out, so the guest sees the
	 * back-pressure as a ring that does not drain.
	 */
	struct virtq_elem tx_elem;
	bool tx_held;
	uint64_t tx_off;     /* bytes of tx_elem already written */
	bool tx_blocked;     /* the sink came up short: wait for tx_ready */
	bool rx_wanted;      /* a receive came up short: rx_ready on a kick */
	uint64_t bytes_out, bytes_in;
};

static bool running(const struct virtio_dev *d)
{
	return (d->status & VIRTIO_CONFIG_S_DRIVER_OK) &&
	       !(d->status & VIRTIO_CONFIG_S_NEEDS_RESET);
}

/* Writes the rest of the held chain; true once it is on the used ring. */
static bool tx_finish_elem(struct virtio_console *c, struct virtq *vq)
{
	const struct virtq_elem *e = &c->tx_elem;
	uint8_t chunk[TX_CHUNK];

	while (c->tx_off < e->out_len) {
		uint64_t want = MIN(e->out_len - c->tx_off, (uint64_t)sizeof(chunk));
		uint64_t m = virtq_elem_read(e, c->tx_off, chunk, want);
		size_t n = c->sink.write ? c->sink.write(c->sink.opaque, chunk, (size_t)m)
					 : (size_t)m;

		c->tx_off += n;
		c->bytes_out += n;
		if (n < m) {
			c->tx_blocked = true;
			return false;
		}
	}
	/* the device wrote nothing into a transmit buffer */
	virtq_push(vq, e->head, 0);
	c->tx_held = false;
	return true;
}

static void tx_run(struct virtio_console *c)
{
	struct virtio_queue *q = virtio_queue(&c->vdev, VIRTIO_CONSOLE_TX_Q);
	struct virtq *vq = &q->vq;
	int n;

	if (!running(&c->vdev) || c->tx_blocked)
		return;
	if (c->tx_held && !tx_finish_elem(c, vq))
		goto out;
	for (;;) {
		virtq_disable_kick(vq);
		c->tx_elem.iov = c->tx_iov;
		c->tx_elem.cap = ARRAY_SIZE(c->tx_iov);
		while ((n = virtq_pop(vq, &c->tx_elem)) > 0) {
			c->tx_held = true;
			c->tx_off = 0;
			/* blocked: kicks stay off, tx_ready resumes us */
			if (!tx_finish_elem(c, vq))
				goto out;
		}
		if (n < 0) {
			virtio_needs_reset(&c->vdev, "a malformed descriptor chain on transmitq0");
			break;
		}
		if (!virtq_enable_kick(vq))
			break;
	}
out:
	virtio_notify(&c->vdev, VIRTIO_CONSOLE_TX_Q);
}

size_t virtio_console_receive(struct virtio_console *c, const uint8_t *buf,
			      size_t len)
{
	struct virtio_dev *d = &c->vdev;
	struct virtq *vq = &virtio_queue(d, VIRTIO_CONSOLE_RX_Q)->vq;
	struct virtq_elem e = { .iov = c->rx_iov, .cap = ARRAY_SIZE(c->rx_iov) };
	size_t done = 0;
	int n;

	virtio_lock(d);
	while (done < len && running(d)) {
		n = virtq_pop(vq, &e);
		if (n < 0) {
			virtio_needs_reset(d, "a malformed descriptor chain on receiveq0");
			break;
		}
		if (n == 0) {
			/* ask for a kick when buffers come, then look once more */
			if (virtq_enable_kick(vq))
				continue;
			break;
		}
		uint64_t w = virtq_elem_write(&e, 0, buf + done, len - done);

		virtq_push(vq, e.head, (uint32_t)w);
		done += (size_t)w;
	}
	/* the rest waits with the caller; the next kick on receiveq0 says when */
	if (done < len)
		c->rx_wanted = true;
	c->bytes_in += done;
	if (done)
		virtio_notify(d, VIRTIO_CONSOLE_RX_Q);
	virtio_unlock(d);
	return done;
}

void virtio_console_tx_ready(struct virtio_console *c)
{
	virtio_lock(&c->vdev);
	c->tx_blocked = false;
	tx_run(c);
	virtio_unlock(&c->vdev);
}

static void console_kick(void *opaque, unsigned q)
{
	struct virtio_console *c = opaque;

	if (q == VIRTIO_CONSOLE_TX_Q) {
		tx_run(c);
	} else if (q == VIRTIO_CONSOLE_RX_Q && c->rx_wanted) {
		/* the driver added receive buffers: the sink may try again */
		c->rx_wanted = false;
		if (c->sink.rx_ready)
			c->sink.rx_ready(c->sink.opaque);
	}
}

static void console_reset(void *opaque)
{
	struct virtio_console *c = opaque;

	/*
	 * The held chain belongs to the old rings. rx_wanted stays: the host
	 * still has bytes for the guest, and the restarted driver's first
	 * kick on receiveq0 (virtio core: DRIVER_OK kicks every ready queue)
	 * lets them come.
	 */
	c->tx_held = false;
	c->tx_off = 0;
	c->tx_blocked = false;
}

static void console_config_read(void *opaque, unsigned off, void *buf,
				unsigned len)
{
	/*
	 * No F_SIZE, no MULTIPORT, no EMERG_WRITE: the fields mean nothing
	 * to the driver and read 0 (max_nr_ports counts only with MULTIPORT).
	 */
	struct virtio_console_config cfg = { 0 };

	(void)opaque;
	memcpy(buf, (const uint8_t *)&cfg + off, len);
}

static const struct virtio_dev_ops console_ops = {
	.config_read = console_config_read,
	.reset = console_reset,
	.kick = console_kick,
};

int virtio_console_create(struct virtio_console **out, unsigned index,
			  struct virtio_console_sink sink,
			  const struct guest_mem *mem, struct evloop *loop)
{
	struct virtio_console *c = calloc(1, sizeof(*c));
	int err;

	if (!c)
		return -ENOMEM;
	snprintf(c->name, sizeof(c->name), "virtio-console%u", index);
	c->sink = sink;
	err = virtio_dev_init(&c->vdev, c->name, VIRTIO_ID_CONSOLE, 0, 2,
			      VIRTIO_CONSOLE_QUEUE_SIZE,
			      sizeof(struct virtio_console_config), &console_ops, c,
			      mem, loop);
	if (err < 0) {
		pt_err("%s: virtio_dev_init: %s", c->name, strerror(-err));
		free(c);
		return err;
	}
	*out = c;
	return 0;
}

struct virtio_dev *virtio_console_dev(struct virtio_console *c)
{
	return &c->vdev;
}

void virtio_console_destroy(struct virtio_console *c)
{
	if (!c)
		return;
	virtio_dev_destroy(&c->vdev);
	free(c);
}

uint64_t virtio_console_bytes_out(struct virtio_console *c)
{
	return virtio_stat(&c->vdev, &c->bytes_out);
}

uint64_t virtio_console_bytes_in(struct virtio_console *c)
{
	return virtio_stat(&c->vdev, &c->bytes_in);
}

void virtio_console_print_stats(struct virtio_console *c)
{
	pt_info("stats: %s: %llu bytes from the guest, %llu bytes to it", c->name,
		(unsigned long long)virtio_console_bytes_out(c),
		(unsigned long long)virtio_console_bytes_in(c));
}
