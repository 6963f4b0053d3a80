/*
 * virtio-mmio v2: register accesses turned into calls on the virtio core.
 * The contract is in virtio_mmio.h; the register meanings in virtio 1.2,
 * 4.2.2.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>

#include "petrel/virtio_mmio.h"

/* Called by the core with the device's lock held. */
static void raise_locked(struct virtio_mmio *m, uint32_t bits)
{
	bool was_low = m->interrupt_status == 0;

	m->interrupt_status |= bits;
	if (was_low)
		irq_line_set(&m->irq, 1);
}

static void mmio_notify_queue(void *opaque, unsigned q)
{
	(void)q; /* one line for all queues: the driver scans them */
	raise_locked(opaque, VIRTIO_MMIO_INT_VRING);
}

static void mmio_notify_config(void *opaque)
{
	raise_locked(opaque, VIRTIO_MMIO_INT_CONFIG);
}

int virtio_mmio_init(struct virtio_mmio *m, struct virtio_dev *d,
		     struct irq_line irq)
{
	if (!m || !d)
		return -EINVAL;
	memset(m, 0, sizeof(*m));
	m->dev = d;
	m->irq = irq;
	irq_line_set(&m->irq, 0);
	virtio_dev_set_transport(d, (struct virtio_transport){
		.notify_queue = mmio_notify_queue,
		.notify_config = mmio_notify_config,
		.opaque = m,
	});
	return 0;
}

static void ignored(struct virtio_mmio *m)
{
	atomic_fetch_add_explicit(&m->ignored, 1, memory_order_relaxed);
}

/* The selected queue, or NULL for a QueueSel past the last queue. Locked. */
static struct virtio_queue *selected(struct virtio_mmio *m)
{
	unsigned q = atomic_load_explicit(&m->queue_sel, memory_order_relaxed);

	return q < m->dev->nr_queues ? virtio_queue(m->dev, q) : NULL;
}

static uint32_t read_queue_reg(struct virtio_mmio *m, uint64_t off)
{
	struct virtio_queue *q;
	uint32_t v = 0;

	virtio_lock(m->dev);
	q = selected(m);
	if (q && off == VIRTIO_MMIO_QUEUE_NUM_MAX)
		v = q->max_size;
	else if (q && off == VIRTIO_MMIO_QUEUE_READY)
		v = q->vq.ready;
	virtio_unlock(m->dev);
	return v;
}

static uint32_t read_reg(struct virtio_mmio *m, uint64_t off)
{
	struct virtio_dev *d = m->dev;
	uint32_t v;

	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return VIRTIO_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION:
		return VIRTIO_MMIO_VERSION_MODERN;
	case VIRTIO_MMIO_DEVICE_ID:
		return d->device_id;
	case VIRTIO_MMIO_VENDOR_ID:
		return VIRTIO_MMIO_VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		return virtio_get_features(d, atomic_load_explicit(
			&m->device_features_sel, memory_order_relaxed));
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
	case VIRTIO_MMIO_QUEUE_READY:
		return read_queue_reg(m, off);
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		virtio_lock(d);
		v = m->interrupt_status;
		virtio_unlock(d);
		return v;
	case VIRTIO_MMIO_STATUS:
		return virtio_get_status(d);
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
		/* no shared memory regions: a length of -1 says so (4.2.2) */
		return 0xffffffff;
	case VIRTIO_MMIO_CONFIG_GENERATION:
		virtio_lock(d);
		v = d->config_generation;
		virtio_unlock(d);
		return v;
	default:
		/* write-only registers, legacy ones and holes */
		return 0;
	}
}

/* Sets the low or high half of a 64-bit ring address. */
static void set_half(gpa_t *addr, uint64_t off, uint64_t low_off, uint32_t val)
{
	if (off == low_off)
		*addr = (*addr & ~0xffffffffULL) | val;
	else
		*addr = (*addr & 0xffffffffULL) | (uint64_t)val << 32;
}

static bool valid_queue_num(uint32_t num, uint16_t max)
{
	return num != 0 && num <= max && (num & (num - 1)) == 0;
}

/*
 * QueueNum, QueueReady and the ring addresses. The spec lets a driver
 * change a queue only while it is not ready, and enable it only before
 * DRIVER_OK (without VIRTIO_F_RING_RESET, which petrel does not offer):
 * the core starts the rings at DRIVER_OK, so a queue made ready later
 * would be used unchecked.
 */
static void write_queue_reg(struct virtio_mmio *m, uint64_t off, uint32_t val)
{
	struct virtio_queue *q;
	bool done = false;

	virtio_lock(m->dev);
	q = selected(m);
	if (!q)
		goto out;
	if (off == VIRTIO_MMIO_QUEUE_READY) {
		if (!(m->dev->status & VIRTIO_CONFIG_S_DRIVER_OK)) {
			q->vq.ready = val & 1;
			done = true;
		}
		goto out;
	}
	if (q->vq.ready)
		goto out;
	done = true;
	switch (off) {
	case VIRTIO_MMIO_QUEUE_NUM:
		if (valid_queue_num(val, q->max_size))
			q->vq.size = (uint16_t)val;
		else
			done = false;
		break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		set_half(&q->vq.desc, off, VIRTIO_MMIO_QUEUE_DESC_LOW, val);
		break;
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
		set_half(&q->vq.avail, off, VIRTIO_MMIO_QUEUE_AVAIL_LOW, val);
		break;
	default: /* VIRTIO_MMIO_QUEUE_USED_LOW/HIGH */
		set_half(&q->vq.used, off, VIRTIO_MMIO_QUEUE_USED_LOW, val);
		break;
	}
out:
	virtio_unlock(m->dev);
	if (!done)
		ignored(m);
}

static void write_status(struct virtio_mmio *m, uint32_t val)
{
	struct virtio_dev *d = m->dev;

	virtio_set_status(d, (uint8_t)val);
	if (val != 0)
		return;
	/*
	 * A reset clears InterruptStatus and every QueueReady (4.2.2.1); the
	 * core resets the queues, the interrupt state is the transport's.
	 */
	virtio_lock(d);
	for (unsigned i = 0; i < d->nr_queues; i++)
		virtio_queue(d, i)->vq.ready = false;
	if (m->interrupt_status)
		irq_line_set(&m->irq, 0);
	m->interrupt_status = 0;
	virtio_unlock(d);
}

static void write_ack(struct virtio_mmio *m, uint32_t val)
{
	virtio_lock(m->dev);
	if (m->interrupt_status && !(m->interrupt_status & ~val))
		irq_line_set(&m->irq, 0);
	m->interrupt_status &= ~val;
	virtio_unlock(m->dev);
}

static void write_reg(struct virtio_mmio *m, uint64_t off, uint32_t val)
{
	struct virtio_dev *d = m->dev;

	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		atomic_store_explicit(&m->device_features_sel, val,
				      memory_order_relaxed);
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		virtio_set_features(d, atomic_load_explicit(
			&m->driver_features_sel, memory_order_relaxed), val);
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		atomic_store_explicit(&m->driver_features_sel, val,
				      memory_order_relaxed);
		break;
	case VIRTIO_MMIO_QUEUE_SEL:
		atomic_store_explicit(&m->queue_sel, val, memory_order_relaxed);
		break;
	case VIRTIO_MMIO_QUEUE_NUM:
	case VIRTIO_MMIO_QUEUE_READY:
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
	case VIRTIO_MMIO_QUEUE_USED_LOW:
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		write_queue_reg(m, off, val);
		break;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		if (val < d->nr_queues)
			virtio_queue_kick(d, val);
		else
			ignored(m);
		break;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		write_ack(m, val);
		break;
	case VIRTIO_MMIO_STATUS:
		write_status(m, val);
		break;
	default:
		/* read-only registers, legacy ones, holes */
		ignored(m);
		break;
	}
}

static uint64_t mmio_read(void *opaque, uint64_t off, unsigned size)
{
	struct virtio_mmio *m = opaque;
	uint8_t buf[8] = { 0 };
	uint64_t v;

	if (off < VIRTIO_MMIO_CONFIG) {
		if (size == 4 && off % 4 == 0)
			return read_reg(m, off);
		ignored(m);
		return 0;
	}
	if (size > sizeof(buf) || off + size > VIRTIO_MMIO_SIZE) {
		ignored(m);
		return 0;
	}
	/* the configuration is little-endian, as the x86 host */
	virtio_config_read(m->dev, (unsigned)(off - VIRTIO_MMIO_CONFIG), buf,
			   size);
	memcpy(&v, buf, sizeof(v));
	return v;
}

static void mmio_write(void *opaque, uint64_t off, uint64_t value,
		       unsigned size)
{
	struct virtio_mmio *m = opaque;

	if (off < VIRTIO_MMIO_CONFIG) {
		if (size == 4 && off % 4 == 0)
			write_reg(m, off, (uint32_t)value);
		else
			ignored(m);
		return;
	}
	if (size > sizeof(value) || off + size > VIRTIO_MMIO_SIZE) {
		ignored(m);
		return;
	}
	virtio_config_write(m->dev, (unsigned)(off - VIRTIO_MMIO_CONFIG),
			    &value, size);
}

const struct bus_dev_ops virtio_mmio_ops = {
	.read = mmio_read,
	.write = mmio_write,
};
