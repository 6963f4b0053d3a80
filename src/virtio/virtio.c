/*
 * The transport-neutral virtio core: features, status, config generation,
 * queue start/reset, and the kick path onto the I/O thread.
 */
#include <endian.h>
#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "petrel/util.h"
#include "petrel/virtio.h"

/* What the core itself implements, offered with every device's own bits. */
#define VIRTIO_CORE_FEATURES                                              \
	((1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_RING_F_INDIRECT_DESC) | \
	 (1ULL << VIRTIO_RING_F_EVENT_IDX))

void virtio_lock(struct virtio_dev *d)
{
	pthread_mutex_lock(&d->lock);
}

void virtio_unlock(struct virtio_dev *d)
{
	pthread_mutex_unlock(&d->lock);
}

struct virtio_queue *virtio_queue(struct virtio_dev *d, unsigned q)
{
	return q < d->nr_queues ? &d->queues[q] : NULL;
}

bool virtio_has_feature(const struct virtio_dev *d, unsigned bit)
{
	return bit < 64 && (d->guest_features >> bit) & 1;
}

static bool running(const struct virtio_dev *d)
{
	return (d->status & VIRTIO_CONFIG_S_DRIVER_OK) &&
	       !(d->status & VIRTIO_CONFIG_S_NEEDS_RESET);
}

/* On the I/O thread: a queue's eventfd fired (the transport or KVM). */
static void kick_ready(void *opaque, uint32_t events)
{
	struct virtio_queue *vq = opaque;
	uint64_t n;
	(void)events;

	/* an empty read (EAGAIN) only means another kick was merged in */
	if (read(vq->kick_fd, &n, sizeof(n)) != sizeof(n))
		return;
	struct virtio_dev *d = vq->owner;
	unsigned q = (unsigned)(vq - d->queues);

	virtio_lock(d);
	vq->kicks++;
	if (trace_on(d->tr, TRACE_VIRTIO))
		trace_emit(d->tr, TRACE_VIRTIO, "kick dev=%s queue=%u kicks=%llu%s", d->name,
			   q, (unsigned long long)n,
			   running(d) && vq->vq.ready ? "" : " ignored=not-running");
	if (running(d) && vq->vq.ready && d->ops->kick)
		d->ops->kick(d->dev, q);
	virtio_unlock(d);
}

int virtio_dev_init(struct virtio_dev *d, const char *name, uint16_t device_id,
		    uint64_t device_features, unsigned nr_queues,
		    uint16_t queue_max, unsigned config_len,
		    const struct virtio_dev_ops *ops, void *dev,
		    const struct guest_mem *mem, struct evloop *loop)
{
	int err;

	if (!nr_queues || !queue_max || queue_max > VIRTQ_MAX_SIZE ||
	    (queue_max & (queue_max - 1)))
		return -EINVAL;
	memset(d, 0, sizeof(*d));
	d->queues = calloc(nr_queues, sizeof(*d->queues));
	if (!d->queues)
		return -ENOMEM;
	if ((err = pthread_mutex_init(&d->lock, NULL))) {
		free(d->queues);
		return -err;
	}
	d->name = name;
	d->device_id = device_id;
	d->host_features = device_features | VIRTIO_CORE_FEATURES;
	d->nr_queues = nr_queues;
	d->config_len = config_len;
	d->config_vector = VIRTIO_NO_VECTOR;
	d->ops = ops;
	d->dev = dev;
	d->mem = mem;
	d->loop = loop;
	for (unsigned i = 0; i < nr_queues; i++)
		d->queues[i].kick_fd = -1;
	for (unsigned i = 0; i < nr_queues; i++) {
		struct virtio_queue *vq = &d->queues[i];

		virtq_init(&vq->vq, mem);
		vq->max_size = queue_max;
		vq->vq.size = queue_max;
		vq->vector = VIRTIO_NO_VECTOR;
		vq->owner = d;
		vq->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (vq->kick_fd < 0) {
			err = -errno;
			pt_err("%s: eventfd for queue %u: %s", name, i, strerror(errno));
			goto fail;
		}
		if (loop) {
			err = evloop_add(loop, vq->kick_fd, EPOLLIN, kick_ready, vq);
			if (err < 0) {
				pt_err("%s: queue %u on the I/O thread: %s", name, i,
				       strerror(-err));
				goto fail;
			}
			vq->kick_registered = true;
		}
	}
	return 0;
fail:
	virtio_dev_destroy(d);
	return err;
}

/* Device reset (status 0): the device stops, queues and features are forgotten. */
static void reset_locked(struct virtio_dev *d)
{
	if (d->ops->reset)
		d->ops->reset(d->dev);
	d->status = 0;
	d->guest_features = 0;
	d->config_vector = VIRTIO_NO_VECTOR;
	for (unsigned i = 0; i < d->nr_queues; i++) {
		struct virtio_queue *vq = &d->queues[i];

		virtq_reset(&vq->vq);
		vq->vq.size = vq->max_size;
		vq->vector = VIRTIO_NO_VECTOR;
		vq->traced_used = 0;
	}
}

void virtio_dev_destroy(struct virtio_dev *d)
{
	if (!d->queues)
		return;
	/* off the I/O thread first: no kick may run into a reset device */
	for (unsigned i = 0; i < d->nr_queues; i++) {
		struct virtio_queue *vq = &d->queues[i];

		if (vq->kick_registered)
			evloop_del(d->loop, vq->kick_fd);
		vq->kick_registered = false;
	}
	virtio_lock(d);
	reset_locked(d);
	virtio_unlock(d);
	for (unsigned i = 0; i < d->nr_queues; i++)
		if (d->queues[i].kick_fd >= 0)
			close(d->queues[i].kick_fd);
	pthread_mutex_destroy(&d->lock);
	free(d->queues);
	d->queues = NULL;
}

void virtio_dev_set_transport(struct virtio_dev *d, struct virtio_transport t)
{
	virtio_lock(d);
	d->t = t;
	virtio_unlock(d);
}

void virtio_dev_set_tracer(struct virtio_dev *d, struct tracer *tr)
{
	virtio_lock(d);
	d->tr = tr;
	virtio_unlock(d);
}

/*
 * --trace virtio: the used entries pushed since the last notify, read back
 * from the used ring (only the device writes it between its pushes and
 * this call, under the lock; a guest scribbling on it changes a trace
 * line, nothing else).
 */
static void trace_pushes(struct virtio_dev *d, unsigned q, struct virtio_queue *vq)
{
	const struct virtq *v = &vq->vq;
	uint16_t n = (uint16_t)(v->used_idx - vq->traced_used);

	if (!v->used_hva || !v->num) {
		vq->traced_used = v->used_idx;
		return;
	}
	if (n > v->num) /* more than the ring holds: the older ones are gone */
		vq->traced_used = (uint16_t)(v->used_idx - v->num);
	for (; vq->traced_used != v->used_idx; vq->traced_used++) {
		const vring_used_elem_t *u = &v->used_hva->ring[vq->traced_used & (v->num - 1)];

		trace_emit(d->tr, TRACE_VIRTIO, "push dev=%s queue=%u head=%u len=%u used_idx=%u",
			   d->name, q, le32toh(u->id), le32toh(u->len),
			   (uint16_t)(vq->traced_used + 1));
	}
}

uint32_t virtio_get_features(struct virtio_dev *d, unsigned sel)
{
	uint32_t v;

	virtio_lock(d);
	v = sel < 2 ? (uint32_t)(d->host_features >> (32 * sel)) : 0;
	virtio_unlock(d);
	return v;
}

void virtio_set_features(struct virtio_dev *d, unsigned sel, uint32_t val)
{
	virtio_lock(d);
	/* 3.1.1: features are fixed once FEATURES_OK was written */
	if (sel < 2 && !(d->status & VIRTIO_CONFIG_S_FEATURES_OK)) {
		uint64_t mask = 0xffffffffULL << (32 * sel);

		d->guest_features = (d->guest_features & ~mask) |
				    ((uint64_t)val << (32 * sel));
	}
	virtio_unlock(d);
}

uint8_t virtio_get_status(struct virtio_dev *d)
{
	uint8_t s;

	virtio_lock(d);
	s = d->status;
	virtio_unlock(d);
	return s;
}

static void notify_config_locked(struct virtio_dev *d)
{
	if (d->t.notify_config)
		d->t.notify_config(d->t.opaque);
}

void virtio_needs_reset(struct virtio_dev *d, const char *why)
{
	if (d->status & VIRTIO_CONFIG_S_NEEDS_RESET)
		return;
	if (d->needs_resets++ < VIRTIO_MAX_RESET_WARNINGS)
		pt_warn("%s: %s; the device needs a reset by the driver", d->name, why);
	if (d->needs_resets == VIRTIO_MAX_RESET_WARNINGS)
		pt_warn("%s: further malformed requests are only counted (--stats)", d->name);
	d->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	/* 2.1.2: a config-change notification tells the driver */
	if (d->status & VIRTIO_CONFIG_S_DRIVER_OK)
		notify_config_locked(d);
}

/* DRIVER_OK: check and start every queue the driver made ready. */
static void start_locked(struct virtio_dev *d)
{
	for (unsigned i = 0; i < d->nr_queues; i++) {
		struct virtq *q = &d->queues[i].vq;

		if (!q->ready)
			continue;
		if (virtq_start(q, d->guest_features) < 0) {
			char why[128];

			snprintf(why, sizeof(why),
				 "queue %u (size %u, desc 0x%llx, avail 0x%llx, used 0x%llx) is not in guest RAM",
				 i, q->size, (unsigned long long)q->desc,
				 (unsigned long long)q->avail, (unsigned long long)q->used);
			q->ready = false;
			virtio_needs_reset(d, why);
			return;
		}
	}
	if (d->ops->start && d->ops->start(d->dev) != 0) {
		virtio_needs_reset(d, "the device could not start");
		return;
	}
	/* a kick written before DRIVER_OK was dropped: look at the rings now */
	for (unsigned i = 0; i < d->nr_queues; i++)
		if (d->queues[i].vq.ready)
			virtio_queue_kick(d, i);
}

void virtio_set_status(struct virtio_dev *d, uint8_t status)
{
	virtio_lock(d);
	if (status == 0) {
		reset_locked(d);
		virtio_unlock(d);
		return;
	}
	uint8_t old = d->status;

	/* NEEDS_RESET is the device's to set; the driver cannot clear bits */
	status = (uint8_t)((status & ~VIRTIO_CONFIG_S_NEEDS_RESET) |
			   (old & VIRTIO_CONFIG_S_NEEDS_RESET));
	if ((status & VIRTIO_CONFIG_S_FEATURES_OK) &&
	    !(old & VIRTIO_CONFIG_S_FEATURES_OK)) {
		/* 3.1.1 step 5: refuse features we did not offer, and legacy */
		if ((d->guest_features & ~d->host_features) ||
		    !virtio_has_feature(d, VIRTIO_F_VERSION_1))
			status &= (uint8_t)~VIRTIO_CONFIG_S_FEATURES_OK;
	}
	if ((status & VIRTIO_CONFIG_S_DRIVER_OK) &&
	    !(status & VIRTIO_CONFIG_S_FEATURES_OK))
		status &= (uint8_t)~VIRTIO_CONFIG_S_DRIVER_OK;
	d->status = status | old; /* bits only ever get set until a reset */
	if ((d->status & VIRTIO_CONFIG_S_DRIVER_OK) &&
	    !(old & VIRTIO_CONFIG_S_DRIVER_OK))
		start_locked(d);
	virtio_unlock(d);
}

void virtio_config_read(struct virtio_dev *d, unsigned off, void *buf,
			unsigned len)
{
	memset(buf, 0, len);
	if (off >= d->config_len || len > d->config_len - off)
		return;
	virtio_lock(d);
	d->ops->config_read(d->dev, off, buf, len);
	virtio_unlock(d);
}

void virtio_config_write(struct virtio_dev *d, unsigned off, const void *buf,
			 unsigned len)
{
	if (off >= d->config_len || len > d->config_len - off ||
	    !d->ops->config_write)
		return;
	virtio_lock(d);
	d->ops->config_write(d->dev, off, buf, len);
	virtio_unlock(d);
}

void virtio_queue_kick(struct virtio_dev *d, unsigned q)
{
	uint64_t one = 1;

	if (q >= d->nr_queues)
		return;
	/* EAGAIN means the counter is saturated: a kick is pending anyway */
	if (write(d->queues[q].kick_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		pt_warn("%s: write to queue %u's kick eventfd: %s", d->name, q,
			strerror(errno));
}

int virtio_queue_kick_fd(const struct virtio_dev *d, unsigned q)
{
	return q < d->nr_queues ? d->queues[q].kick_fd : -1;
}

void virtio_notify(struct virtio_dev *d, unsigned q)
{
	struct virtio_queue *vq = virtio_queue(d, q);
	bool send, fresh;

	if (!vq)
		return;
	/* used entries the driver has not been told about (for the trace) */
	fresh = !vq->vq.signalled_valid || vq->vq.signalled_used != vq->vq.used_idx;
	if (trace_on(d->tr, TRACE_VIRTIO))
		trace_pushes(d, q, vq);
	send = running(d) && virtq_should_notify(&vq->vq);
	if (trace_on(d->tr, TRACE_VIRTIO) && (send || fresh)) {
		if (!send)
			trace_emit(d->tr, TRACE_VIRTIO,
				   "interrupt dev=%s queue=%u suppressed=%s", d->name, q,
				   running(d) ? "by-driver" : "not-running");
		else if (vq->vector != VIRTIO_NO_VECTOR)
			trace_emit(d->tr, TRACE_VIRTIO, "interrupt dev=%s queue=%u msix_vector=%u",
				   d->name, q, vq->vector);
		else
			trace_emit(d->tr, TRACE_VIRTIO, "interrupt dev=%s queue=%u line=isr",
				   d->name, q);
	}
	if (!send)
		return;
	vq->notifies++;
	if (d->t.notify_queue)
		d->t.notify_queue(d->t.opaque, q);
}

void virtio_config_changed(struct virtio_dev *d)
{
	d->config_generation++;
	if (d->status & VIRTIO_CONFIG_S_DRIVER_OK)
		notify_config_locked(d);
}

uint64_t virtio_stat(struct virtio_dev *d, const uint64_t *counter)
{
	uint64_t v;

	virtio_lock(d);
	v = *counter;
	virtio_unlock(d);
	return v;
}
