/*
 * virtio-blk: requests from the queue to the disk engine and back.
 *
 * A request is a chain: a 16-byte header in the driver's readable part,
 * data (readable for OUT, device-writable for IN), and a status byte, the
 * last byte of the writable part. Buffer boundaries mean nothing: the
 * header may span buffers and share one with data.
 */
#include <endian.h>
#include <errno.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_ids.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "petrel/util.h"
#include "petrel/virtio_blk.h"

/* config space up to the fields of the features petrel offers */
#define BLK_CONFIG_LEN offsetof(struct virtio_blk_config, max_secure_erase_sectors)
#define BLK_HDR_LEN 16
/* a failing disk fails every request: say it a few times, then count */
#define BLK_MAX_WARNINGS 5

struct virtio_blk {
	struct virtio_dev vdev;
	char name[24];
	struct blk_image img;
	struct blk_engine *eng;
	struct evloop *loop;
	bool eng_registered;     /* the engine's eventfd is on the loop */
	bool writethrough;       /* the driver did not take FLUSH */
	bool warned_align;
	unsigned io_warnings;    /* host I/O errors reported so far */
	uint64_t epoch;          /* bumped by reset: older completions are dropped */
	struct virtio_blk_config config;
	uint8_t serial[VIRTIO_BLK_ID_BYTES];
	struct iovec pop_iov[VIRTIO_BLK_QUEUE_SIZE];
	struct virtio_blk_stats stats;
};

/* One request in flight. */
struct blk_vreq {
	struct blk_req io;       /* first: the engine's done gets &io */
	struct virtio_blk *b;
	uint64_t epoch;
	uint32_t type;
	uint16_t head;
	bool synced;             /* writethrough: the write's flush was sent */
	uint8_t *status;         /* the status byte, in guest RAM */
	uint32_t used_len;
	struct iovec iov[];      /* the data buffers */
};

/*
 * The iovecs for bytes [skip, skip+len) of src: at most cap of them.
 * Returns how many, or -1 when they do not fit.
 */
static int iov_slice(const struct iovec *src, unsigned n, uint64_t skip,
		     uint64_t len, struct iovec *dst, unsigned cap)
{
	unsigned k = 0;

	for (unsigned i = 0; i < n && len; i++) {
		uint64_t l = src[i].iov_len;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		if (k == cap)
			return -1;
		dst[k].iov_base = (uint8_t *)src[i].iov_base + skip;
		dst[k].iov_len = MIN(l - skip, len);
		len -= dst[k].iov_len;
		skip = 0;
		k++;
	}
	return (int)k;
}

/* Answers the guest: status byte, used ring. Lock held. */
static void blk_finish(struct virtio_blk *b, struct blk_vreq *vr, uint8_t status)
{
	struct virtq *vq = &virtio_queue(&b->vdev, 0)->vq;

	if (vr->epoch != b->epoch) {
		/* completed during a reset: the rings are no longer ours */
		free(vr);
		return;
	}
	if (status == VIRTIO_BLK_S_IOERR)
		b->stats.errors++;
	else if (status == VIRTIO_BLK_S_UNSUPP)
		b->stats.unsupported++;
	if (status != VIRTIO_BLK_S_OK && vr->type == VIRTIO_BLK_T_IN)
		vr->used_len = 1;
	*vr->status = status;
	virtq_push(vq, vr->head, vr->used_len);
	free(vr);
}

static const char *blk_op_name(enum blk_op op)
{
	switch (op) {
	case BLK_OP_READ: return "preadv";
	case BLK_OP_WRITE: return "pwritev";
	case BLK_OP_FLUSH: return "fdatasync";
	case BLK_OP_DISCARD: return "fallocate(PUNCH_HOLE)";
	default: return "fallocate(ZERO_RANGE)";
	}
}

static void blk_io_done(struct blk_req *r, int res)
{
	struct blk_vreq *vr = (struct blk_vreq *)r;
	struct virtio_blk *b = vr->b;

	if (res < 0) {
		if (vr->epoch == b->epoch && b->io_warnings++ < BLK_MAX_WARNINGS)
			pt_warn("%s: %s at byte %llu, %llu bytes: %s; the guest gets an I/O error",
				b->name, blk_op_name(r->op), (unsigned long long)r->off,
				(unsigned long long)r->len, strerror(-res));
		if (b->io_warnings == BLK_MAX_WARNINGS)
			pt_warn("%s: further I/O errors are only counted (--stats)", b->name);
		blk_finish(b, vr, VIRTIO_BLK_S_IOERR);
		return;
	}
	if (r->op == BLK_OP_WRITE && b->writethrough && !vr->synced &&
	    vr->epoch == b->epoch) {
		/* without FLUSH the driver expects each write to be durable */
		vr->synced = true;
		r->op = BLK_OP_FLUSH;
		blk_engine_submit(b->eng, r);
		return;
	}
	if (vr->type == VIRTIO_BLK_T_IN)
		b->stats.bytes_read += vr->used_len - 1;
	else if (vr->type == VIRTIO_BLK_T_OUT)
		b->stats.bytes_written += r->len;
	blk_finish(b, vr, VIRTIO_BLK_S_OK);
}

/* Whether [sector, sector + nsect) lies on the disk (overflow-safe). */
static bool in_disk(const struct virtio_blk *b, uint64_t sector, uint64_t nsect)
{
	return sector <= b->img.sectors && nsect <= b->img.sectors - sector;
}

/* O_DIRECT: the engine passes guest buffers straight to the kernel. */
static bool dio_aligned(struct virtio_blk *b, const struct blk_vreq *vr)
{
	if (!b->img.direct)
		return true;
	bool ok = !(vr->io.off % b->img.block_align);

	for (unsigned i = 0; ok && i < vr->io.iovcnt; i++)
		ok = !((uintptr_t)vr->iov[i].iov_base % b->img.mem_align) &&
		     !(vr->iov[i].iov_len % b->img.block_align);
	if (!ok && !b->warned_align) {
		b->warned_align = true;
		pt_warn("%s: a request's buffers are not aligned to %u bytes, as cache=none needs; it gets an I/O error",
			b->name, b->img.block_align);
	}
	return ok;
}

/* IN and OUT. Returns the status when the request ends here, or -1. */
static int blk_rw(struct virtio_blk *b, struct blk_vreq *vr,
		  const struct virtq_elem *e, uint64_t sector)
{
	bool in = vr->type == VIRTIO_BLK_T_IN;
	uint64_t len = in ? e->in_len - 1 : e->out_len - BLK_HDR_LEN;
	int n;

	if (len % BLK_SECTOR_SIZE || len > (uint64_t)VIRTIO_BLK_SEG_MAX * VIRTIO_BLK_SIZE_MAX ||
	    !in_disk(b, sector, len / BLK_SECTOR_SIZE))
		return VIRTIO_BLK_S_IOERR;
	if (!in && b->img.readonly)
		return VIRTIO_BLK_S_IOERR;
	if (in)
		n = iov_slice(e->iov + e->n_out, e->n_in, 0, len, vr->iov, e->n_in);
	else
		n = iov_slice(e->iov, e->n_out, BLK_HDR_LEN, len, vr->iov, e->n_out);
	if (n < 0)
		return VIRTIO_BLK_S_IOERR;
	vr->io = (struct blk_req){
		.op = in ? BLK_OP_READ : BLK_OP_WRITE,
		.off = sector * BLK_SECTOR_SIZE,
		.len = len,
		.iov = vr->iov,
		.iovcnt = (unsigned)n,
		.done = blk_io_done,
	};
	if (!dio_aligned(b, vr))
		return VIRTIO_BLK_S_IOERR;
	if (in) {
		b->stats.reads++;
		vr->used_len = (uint32_t)len + 1;
	} else {
		b->stats.writes++;
	}
	blk_engine_submit(b->eng, &vr->io);
	return -1;
}

/* DISCARD and WRITE_ZEROES: one segment (max_*_seg is 1). */
static int blk_range(struct virtio_blk *b, struct blk_vreq *vr,
		     const struct virtq_elem *e)
{
	bool discard = vr->type == VIRTIO_BLK_T_DISCARD;
	struct virtio_blk_discard_write_zeroes seg;
	uint32_t flags, nsect;
	uint64_t sector;

	if (!virtio_has_feature(&b->vdev, discard ? VIRTIO_BLK_F_DISCARD
						   : VIRTIO_BLK_F_WRITE_ZEROES))
		return VIRTIO_BLK_S_UNSUPP;
	if (e->out_len - BLK_HDR_LEN != sizeof(seg))
		return VIRTIO_BLK_S_IOERR; /* no segment, or more than we offered */
	virtq_elem_read(e, BLK_HDR_LEN, &seg, sizeof(seg));
	sector = le64toh(seg.sector);
	nsect = le32toh(seg.num_sectors);
	flags = le32toh(seg.flags);
	/* 5.2.6.2: unknown flags, and unmap on a discard, are unsupported */
	if ((flags & ~VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP) ||
	    (discard && flags))
		return VIRTIO_BLK_S_UNSUPP;
	if (nsect > VIRTIO_BLK_MAX_RANGE_SECTORS || !in_disk(b, sector, nsect) ||
	    b->img.readonly)
		return VIRTIO_BLK_S_IOERR;
	if (discard)
		b->stats.discards++;
	else
		b->stats.write_zeroes++;
	if (!nsect)
		return VIRTIO_BLK_S_OK;
	vr->io = (struct blk_req){
		.op = discard ? BLK_OP_DISCARD : BLK_OP_WRITE_ZEROES,
		.off = sector * BLK_SECTOR_SIZE,
		.len = (uint64_t)nsect * BLK_SECTOR_SIZE,
		.unmap = flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP,
		.done = blk_io_done,
	};
	blk_engine_submit(b->eng, &vr->io);
	return -1;
}

/* The 20-byte ID, NUL-padded, as much as the buffer takes. */
static int blk_get_id(struct virtio_blk *b, struct blk_vreq *vr,
		      const struct virtq_elem *e)
{
	uint64_t n = MIN(e->in_len - 1, (uint64_t)VIRTIO_BLK_ID_BYTES);

	b->stats.get_ids++;
	vr->used_len = (uint32_t)virtq_elem_write(e, 0, b->serial, n) + 1;
	return VIRTIO_BLK_S_OK;
}

/* One chain from the queue. -EINVAL: malformed, the device needs a reset. */
static int blk_request(struct virtio_blk *b, const struct virtq_elem *e)
{
	struct virtio_blk_outhdr hdr;
	struct blk_vreq *vr;
	int status;

	if (e->in_len < 1 || !e->n_in) {
		virtio_needs_reset(&b->vdev, "a request without a device-writable status byte");
		return -EINVAL;
	}
	const struct iovec *last = &e->iov[e->n_out + e->n_in - 1];

	/* a slice of the chain has at most as many buffers as the chain */
	vr = calloc(1, sizeof(*vr) + (e->n_out + e->n_in) * sizeof(struct iovec));
	if (!vr) {
		virtio_needs_reset(&b->vdev, "out of memory for a request");
		return -ENOMEM;
	}
	vr->b = b;
	vr->epoch = b->epoch;
	vr->head = e->head;
	vr->status = (uint8_t *)last->iov_base + last->iov_len - 1;
	vr->used_len = 1;
	b->stats.requests++;
	if (e->out_len < BLK_HDR_LEN) {
		vr->type = UINT32_MAX;
		blk_finish(b, vr, VIRTIO_BLK_S_IOERR);
		return 0;
	}
	virtq_elem_read(e, 0, &hdr, sizeof(hdr));
	vr->type = le32toh(hdr.type);
	if (e->in_len > UINT32_MAX) {
		blk_finish(b, vr, VIRTIO_BLK_S_IOERR);
		return 0;
	}
	switch (vr->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		status = blk_rw(b, vr, e, le64toh(hdr.sector));
		break;
	case VIRTIO_BLK_T_FLUSH:
		b->stats.flushes++;
		vr->io = (struct blk_req){ .op = BLK_OP_FLUSH, .done = blk_io_done };
		blk_engine_submit(b->eng, &vr->io);
		status = -1;
		break;
	case VIRTIO_BLK_T_GET_ID:
		status = blk_get_id(b, vr, e);
		break;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		status = blk_range(b, vr, e);
		break;
	default:
		status = VIRTIO_BLK_S_UNSUPP;
	}
	if (status >= 0)
		blk_finish(b, vr, (uint8_t)status);
	return 0;
}

static void blk_kick(void *opaque, unsigned q)
{
	struct virtio_blk *b = opaque;
	struct virtq *vq = &virtio_queue(&b->vdev, q)->vq;
	struct virtq_elem e = { .iov = b->pop_iov, .cap = ARRAY_SIZE(b->pop_iov) };
	int n;

	for (;;) {
		virtq_disable_kick(vq);
		while ((n = virtq_pop(vq, &e)) > 0)
			if (blk_request(b, &e) < 0)
				goto out;
		if (n < 0) {
			virtio_needs_reset(&b->vdev, "a malformed descriptor chain on the request queue");
			goto out;
		}
		if (!virtq_enable_kick(vq))
			break;
	}
out:
	blk_engine_commit(b->eng);
	virtio_notify(&b->vdev, q);
}

static int blk_start(void *opaque)
{
	struct virtio_blk *b = opaque;

	b->writethrough = !virtio_has_feature(&b->vdev, VIRTIO_BLK_F_FLUSH);
	return 0;
}

/* In-flight I/O may still write guest memory: wait for all of it. */
static void blk_reset(void *opaque)
{
	struct virtio_blk *b = opaque;

	b->epoch++;
	blk_engine_drain(b->eng);
}

static void blk_config_read(void *opaque, unsigned off, void *buf, unsigned len)
{
	struct virtio_blk *b = opaque;

	memcpy(buf, (const uint8_t *)&b->config + off, len);
}

static const struct virtio_dev_ops blk_ops = {
	.config_read = blk_config_read,
	.start = blk_start,
	.reset = blk_reset,
	.kick = blk_kick,
};

void virtio_blk_complete(struct virtio_blk *b)
{
	virtio_lock(&b->vdev);
	blk_engine_complete(b->eng);
	virtio_notify(&b->vdev, 0);
	virtio_unlock(&b->vdev);
}

static void blk_io_ready(void *opaque, uint32_t events)
{
	(void)events;
	virtio_blk_complete(opaque);
}

static uint64_t blk_features(struct virtio_blk *b)
{
	uint64_t f = 1ULL << VIRTIO_BLK_F_SEG_MAX | 1ULL << VIRTIO_BLK_F_SIZE_MAX |
		     1ULL << VIRTIO_BLK_F_BLK_SIZE | 1ULL << VIRTIO_BLK_F_FLUSH;
	struct virtio_blk_config *c = &b->config;

	c->capacity = htole64(b->img.sectors);
	c->size_max = htole32(VIRTIO_BLK_SIZE_MAX);
	c->seg_max = htole32(VIRTIO_BLK_SEG_MAX);
	/* with O_DIRECT the guest's block is what the host file system needs */
	c->blk_size = htole32(b->img.direct ? b->img.block_align : BLK_SECTOR_SIZE);
	c->num_queues = htole16(1);
	if (b->img.readonly)
		f |= 1ULL << VIRTIO_BLK_F_RO;
	if (b->img.can_punch) {
		f |= 1ULL << VIRTIO_BLK_F_DISCARD;
		c->max_discard_sectors = htole32(VIRTIO_BLK_MAX_RANGE_SECTORS);
		c->max_discard_seg = htole32(1);
		c->discard_sector_alignment = htole32(1);
	}
	if (b->img.can_punch || b->img.can_zero) {
		f |= 1ULL << VIRTIO_BLK_F_WRITE_ZEROES;
		c->max_write_zeroes_sectors = htole32(VIRTIO_BLK_MAX_RANGE_SECTORS);
		c->max_write_zeroes_seg = htole32(1);
		c->write_zeroes_may_unmap = b->img.can_punch;
	}
	return f;
}

int virtio_blk_create(struct virtio_blk **out, const struct disk_config *cfg,
		      unsigned index, const struct guest_mem *mem,
		      struct evloop *loop)
{
	struct virtio_blk *b = calloc(1, sizeof(*b));
	int err;

	if (!b)
		return -ENOMEM;
	snprintf(b->name, sizeof(b->name), "virtio-blk%u", index);
	b->loop = loop;
	memcpy(b->serial, cfg->serial, strnlen(cfg->serial, VIRTIO_BLK_ID_BYTES));
	err = blk_image_open(&b->img, cfg);
	if (err < 0)
		goto fail_free;
	err = blk_engine_create(&b->eng, &b->img, cfg->io, VIRTIO_BLK_QUEUE_SIZE);
	if (err < 0) {
		pt_err("%s: disk %s: the %s I/O engine: %s", b->name, cfg->path,
		       cfg->io == DISK_IO_SYNC ? "sync" : "io_uring", strerror(-err));
		goto fail_image;
	}
	err = virtio_dev_init(&b->vdev, b->name, VIRTIO_ID_BLOCK, blk_features(b),
			      1, VIRTIO_BLK_QUEUE_SIZE, BLK_CONFIG_LEN, &blk_ops, b,
			      mem, loop);
	if (err < 0) {
		pt_err("%s: virtio_dev_init: %s", b->name, strerror(-err));
		goto fail_engine;
	}
	if (loop && b->eng->event_fd >= 0) {
		err = evloop_add(loop, b->eng->event_fd, EPOLLIN, blk_io_ready, b);
		if (err < 0) {
			pt_err("%s: evloop_add of the io_uring eventfd %d: %s", b->name,
			       b->eng->event_fd, strerror(-err));
			goto fail_dev;
		}
		b->eng_registered = true;
	}
	*out = b;
	return 0;
fail_dev:
	virtio_dev_destroy(&b->vdev);
fail_engine:
	blk_engine_destroy(b->eng);
fail_image:
	blk_image_close(&b->img);
fail_free:
	free(b);
	return err;
}

void virtio_blk_destroy(struct virtio_blk *b)
{
	if (!b)
		return;
	/* no completion callback may run into a device being torn down */
	if (b->eng_registered)
		evloop_del(b->loop, b->eng->event_fd);
	virtio_dev_destroy(&b->vdev); /* resets: waits for in-flight I/O */
	blk_engine_destroy(b->eng);
	blk_image_close(&b->img);
	free(b);
}

struct virtio_dev *virtio_blk_dev(struct virtio_blk *b)
{
	return &b->vdev;
}

struct blk_engine *virtio_blk_engine(struct virtio_blk *b)
{
	return b->eng;
}

const struct blk_image *virtio_blk_image(const struct virtio_blk *b)
{
	return &b->img;
}

struct virtio_blk_stats virtio_blk_get_stats(struct virtio_blk *b)
{
	struct virtio_blk_stats s;

	virtio_lock(&b->vdev);
	s = b->stats;
	virtio_unlock(&b->vdev);
	return s;
}

void virtio_blk_print_stats(struct virtio_blk *b)
{
	struct virtio_blk_stats s = virtio_blk_get_stats(b);

	pt_info("stats: %s (%s, io=%s): %llu requests (%llu reads, %llu writes, %llu flushes, %llu discards, %llu write-zeroes, %llu get-id), %llu bytes read, %llu written, %llu I/O errors, %llu unsupported",
		b->name, b->img.path, b->eng->ops->name,
		(unsigned long long)s.requests, (unsigned long long)s.reads,
		(unsigned long long)s.writes, (unsigned long long)s.flushes,
		(unsigned long long)s.discards, (unsigned long long)s.write_zeroes,
		(unsigned long long)s.get_ids, (unsigned long long)s.bytes_read,
		(unsigned long long)s.bytes_written, (unsigned long long)s.errors,
		(unsigned long long)s.unsupported);
}
