/*
 * virtio-rng: the guest offers device-writable buffers, the host's
 * getrandom(2) fills them.
 */
#include <errno.h>
#include <linux/virtio_ids.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "petrel/util.h"
#include "petrel/virtio_rng.h"

struct virtio_rng {
	struct virtio_dev vdev;
	char name[24];
	struct iovec pop_iov[VIRTIO_RNG_QUEUE_SIZE];
	uint64_t bytes, requests;
};

/* Fills up to max bytes of the writable part; returns how many. */
static uint32_t rng_fill(const struct virtq_elem *e, uint64_t max)
{
	uint64_t done = 0;

	for (unsigned i = e->n_out; i < e->n_out + e->n_in && done < max; i++) {
		uint8_t *p = e->iov[i].iov_base;
		size_t want = (size_t)MIN(e->iov[i].iov_len, max - done);

		while (want) {
			ssize_t n = getrandom(p, want, 0);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return (uint32_t)done; /* give what we have */
			p += n;
			want -= (size_t)n;
			done += (uint64_t)n;
		}
	}
	return (uint32_t)done;
}

static void rng_kick(void *opaque, unsigned q)
{
	struct virtio_rng *r = opaque;
	struct virtq *vq = &virtio_queue(&r->vdev, q)->vq;
	struct virtq_elem e = { .iov = r->pop_iov, .cap = ARRAY_SIZE(r->pop_iov) };
	int n;

	for (;;) {
		virtq_disable_kick(vq);
		while ((n = virtq_pop(vq, &e)) > 0) {
			/* a chain with nothing to write into gets nothing */
			uint32_t len = rng_fill(&e, VIRTIO_RNG_MAX_REQ);

			virtq_push(vq, e.head, len);
			r->bytes += len;
			r->requests++;
		}
		if (n < 0) {
			virtio_needs_reset(&r->vdev, "a malformed descriptor chain on the entropy queue");
			break;
		}
		if (!virtq_enable_kick(vq))
			break;
	}
	virtio_notify(&r->vdev, q);
}

static void rng_config_read(void *opaque, unsigned off, void *buf, unsigned len)
{
	(void)opaque;
	(void)off;
	(void)buf;
	(void)len; /* no configuration: config_len is 0 */
}

static const struct virtio_dev_ops rng_ops = {
	.config_read = rng_config_read,
	.kick = rng_kick,
};

int virtio_rng_create(struct virtio_rng **out, unsigned index,
		      const struct guest_mem *mem, struct evloop *loop)
{
	struct virtio_rng *r = calloc(1, sizeof(*r));
	int err;

	if (!r)
		return -ENOMEM;
	snprintf(r->name, sizeof(r->name), "virtio-rng%u", index);
	err = virtio_dev_init(&r->vdev, r->name, VIRTIO_ID_RNG, 0, 1,
			      VIRTIO_RNG_QUEUE_SIZE, 0, &rng_ops, r, mem, loop);
	if (err < 0) {
		pt_err("%s: virtio_dev_init: %s", r->name, strerror(-err));
		free(r);
		return err;
	}
	*out = r;
	return 0;
}

struct virtio_dev *virtio_rng_dev(struct virtio_rng *r)
{
	return &r->vdev;
}

void virtio_rng_destroy(struct virtio_rng *r)
{
	if (!r)
		return;
	virtio_dev_destroy(&r->vdev);
	free(r);
}

uint64_t virtio_rng_bytes(struct virtio_rng *r)
{
	return virtio_stat(&r->vdev, &r->bytes);
}

uint64_t virtio_rng_requests(struct virtio_rng *r)
{
	return virtio_stat(&r->vdev, &r->requests);
}

void virtio_rng_print_stats(struct virtio_rng *r)
{
	pt_info("stats: %s: %llu requests, %llu bytes of entropy",
		r->name, (unsigned long long)virtio_rng_requests(r),
		(unsigned long long)virtio_rng_bytes(r));
}
