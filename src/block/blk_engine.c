/*
 * The engine seam and the sync engine: each request's system calls run in
 * submit, on the I/O thread, and it completes before submit returns.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "petrel/blk_image.h"
#include "petrel/util.h"

void blk_iov_advance(struct iovec **iov, unsigned *iovcnt, uint64_t n)
{
	while (*iovcnt && n >= (*iov)->iov_len) {
		n -= (*iov)->iov_len;
		(*iov)++;
		(*iovcnt)--;
	}
	if (*iovcnt && n) {
		(*iov)->iov_base = (uint8_t *)(*iov)->iov_base + n;
		(*iov)->iov_len -= n;
	}
}

int blk_engine_create(struct blk_engine **out, struct blk_image *img,
		      enum disk_io io, unsigned depth)
{
	int err;

	if (io == DISK_IO_SYNC)
		return blk_sync_create(out, img);
	err = blk_uring_create(out, img, depth);
	if (err == 0 || io == DISK_IO_URING)
		return err;
	pt_info("disk %s: io_uring is not available (%s); using io=sync",
		img->path, strerror(-err));
	return blk_sync_create(out, img);
}

void blk_engine_destroy(struct blk_engine *e)
{
	if (e)
		e->ops->destroy(e);
}

void blk_engine_submit(struct blk_engine *e, struct blk_req *r)
{
	r->xferred = 0;
	if (e->fault) {
		int err = e->fault(e->fault_opaque, r);

		if (err) {
			r->done(r, err < 0 ? err : -EIO);
			return;
		}
	}
	if ((r->op == BLK_OP_READ || r->op == BLK_OP_WRITE) && !r->len) {
		r->done(r, 0);
		return;
	}
	e->ops->submit(e, r);
}

void blk_engine_commit(struct blk_engine *e)
{
	if (e->ops->commit)
		e->ops->commit(e);
}

void blk_engine_complete(struct blk_engine *e)
{
	if (e->ops->complete)
		e->ops->complete(e);
}

void blk_engine_drain(struct blk_engine *e)
{
	if (e->ops->drain)
		e->ops->drain(e);
}

/* --- sync --- */

/* Continues short transfers; a read that finds the end is an I/O error. */
static int sync_rw(struct blk_engine *e, struct blk_req *r)
{
	struct iovec *iov = r->iov;
	unsigned cnt = r->iovcnt;

	while (r->xferred < r->len && cnt) {
		off_t off = (off_t)(r->off + r->xferred);
		int n_iov = (int)MIN(cnt, (unsigned)IOV_MAX);
		ssize_t n = r->op == BLK_OP_READ ? preadv(e->img->fd, iov, n_iov, off)
						 : pwritev(e->img->fd, iov, n_iov, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO; /* the image shrank under us */
		r->xferred += (uint64_t)n;
		blk_iov_advance(&iov, &cnt, (uint64_t)n);
	}
	return 0;
}

static void sync_submit(struct blk_engine *e, struct blk_req *r)
{
	int res = 0;

	switch (r->op) {
	case BLK_OP_READ:
	case BLK_OP_WRITE:
		res = sync_rw(e, r);
		break;
	case BLK_OP_FLUSH:
		while ((res = fdatasync(e->img->fd)) < 0 && errno == EINTR)
			;
		res = res < 0 ? -errno : 0;
		e->fdatasyncs++;
		break;
	case BLK_OP_DISCARD:
	case BLK_OP_WRITE_ZEROES:
		res = fallocate(e->img->fd, blk_fallocate_mode(e->img, r),
				(off_t)r->off, (off_t)r->len);
		res = res < 0 ? -errno : 0;
		break;
	default:
		res = -EOPNOTSUPP;
	}
	r->done(r, res);
}

static void sync_destroy(struct blk_engine *e)
{
	free(e);
}

static const struct blk_engine_ops sync_ops = {
	.name = "sync",
	.submit = sync_submit,
	.destroy = sync_destroy,
};

int blk_sync_create(struct blk_engine **out, struct blk_image *img)
{
	struct blk_engine *e = calloc(1, sizeof(*e));

	if (!e)
		return -ENOMEM;
	e->ops = &sync_ops;
	e->img = img;
	e->event_fd = -1;
	*out = e;
	return 0;
}
