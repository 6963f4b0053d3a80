/*
 * The io_uring engine: requests become SQEs, submitted once per kick
 * (commit); the kernel signals completions on an eventfd that the device
 * registers on the I/O thread, where complete() reaps them.
 */
#include <errno.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "petrel/blk_image.h"
#include "petrel/util.h"

struct blk_uring {
	struct blk_engine e; /* first: the ops get &e */
	struct io_uring ring;
	unsigned queued;     /* SQEs not yet handed to the kernel */
};

static struct blk_uring *to_uring(struct blk_engine *e)
{
	return (struct blk_uring *)e;
}

static void uring_commit(struct blk_engine *e)
{
	struct blk_uring *u = to_uring(e);

	while (u->queued) {
		int ret = io_uring_submit(&u->ring);

		if (ret == -EINTR)
			continue;
		if (ret <= 0) {
			/* the SQEs stay in the ring: the next commit retries */
			pt_warn("disk %s: io_uring_submit of %u requests: %s",
				e->img->path, u->queued, ret ? strerror(-ret) : "none taken");
			return;
		}
		u->queued -= MIN((unsigned)ret, u->queued);
	}
}

/* Queues r from where it stands (r->xferred, r->iov). false: no SQE. */
static bool uring_prep(struct blk_uring *u, struct blk_req *r)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
	int fd = u->e.img->fd;

	if (!sqe) {
		uring_commit(&u->e);
		sqe = io_uring_get_sqe(&u->ring);
		if (!sqe)
			return false;
	}
	switch (r->op) {
	case BLK_OP_READ:
		io_uring_prep_readv(sqe, fd, r->iov, r->iovcnt, r->off + r->xferred);
		break;
	case BLK_OP_WRITE:
		io_uring_prep_writev(sqe, fd, r->iov, r->iovcnt, r->off + r->xferred);
		break;
	case BLK_OP_FLUSH:
		io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
		/*
		 * The ring may run SQEs in any order; a flush waits for the
		 * writes submitted before it, as the guest expects.
		 */
		sqe->flags |= IOSQE_IO_DRAIN;
		break;
	case BLK_OP_DISCARD:
	case BLK_OP_WRITE_ZEROES:
		io_uring_prep_fallocate(sqe, fd, blk_fallocate_mode(u->e.img, r),
					r->off, r->len);
		break;
	}
	io_uring_sqe_set_data(sqe, r);
	u->queued++;
	return true;
}

static void finish(struct blk_engine *e, struct blk_req *r, int res)
{
	e->inflight--;
	r->done(r, res);
}

static void handle_cqe(struct blk_uring *u, struct blk_req *r, int res)
{
	struct blk_engine *e = &u->e;

	if (res == -EINTR || res == -EAGAIN) {
		if (!uring_prep(u, r))
			finish(e, r, res);
		return;
	}
	if (res < 0) {
		finish(e, r, res);
		return;
	}
	if (r->op == BLK_OP_READ || r->op == BLK_OP_WRITE) {
		if (res == 0) {
			finish(e, r, -EIO); /* the image shrank under us */
			return;
		}
		r->xferred += (uint64_t)res;
		if (r->xferred < r->len) {
			/* a short transfer: continue where it stopped */
			blk_iov_advance(&r->iov, &r->iovcnt, (uint64_t)res);
			if (!uring_prep(u, r))
				finish(e, r, -EAGAIN);
			return;
		}
	}
	if (r->op == BLK_OP_FLUSH)
		e->fdatasyncs++;
	finish(e, r, 0);
}

static void uring_submit(struct blk_engine *e, struct blk_req *r)
{
	e->inflight++;
	if (!uring_prep(to_uring(e), r)) {
		pt_warn("disk %s: the io_uring submission queue is full", e->img->path);
		finish(e, r, -EAGAIN);
	}
}

static void uring_complete(struct blk_engine *e)
{
	struct blk_uring *u = to_uring(e);
	struct io_uring_cqe *cqe;
	uint64_t n;

	/* read first: a completion after the peek loop signals again */
	if (read(e->event_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		pt_warn("disk %s: read of the io_uring eventfd: %s", e->img->path,
			strerror(errno));
	while (io_uring_peek_cqe(&u->ring, &cqe) == 0) {
		struct blk_req *r = io_uring_cqe_get_data(cqe);
		int res = cqe->res;

		io_uring_cqe_seen(&u->ring, cqe);
		handle_cqe(u, r, res);
	}
	/* continuations, and what the done callbacks submitted */
	uring_commit(e);
}

static void uring_drain(struct blk_engine *e)
{
	struct blk_uring *u = to_uring(e);
	struct io_uring_cqe *cqe;

	uring_commit(e);
	while (e->inflight) {
		int ret = io_uring_wait_cqe(&u->ring, &cqe);

		if (ret == -EINTR)
			continue;
		if (ret < 0) {
			pt_err("disk %s: io_uring_wait_cqe with %u requests in flight: %s",
			       e->img->path, e->inflight, strerror(-ret));
			return;
		}
		struct blk_req *r = io_uring_cqe_get_data(cqe);
		int res = cqe->res;

		io_uring_cqe_seen(&u->ring, cqe);
		handle_cqe(u, r, res);
		uring_commit(e);
	}
}

static void uring_destroy(struct blk_engine *e)
{
	struct blk_uring *u = to_uring(e);

	uring_drain(e);
	io_uring_unregister_eventfd(&u->ring);
	io_uring_queue_exit(&u->ring);
	close(e->event_fd);
	free(u);
}

static const struct blk_engine_ops uring_ops = {
	.name = "uring",
	.submit = uring_submit,
	.commit = uring_commit,
	.complete = uring_complete,
	.drain = uring_drain,
	.destroy = uring_destroy,
};

/* The ring must do every request type (fallocate came in Linux 5.6). */
static int check_ops(struct io_uring *ring)
{
	static const int need[] = { IORING_OP_READV, IORING_OP_WRITEV,
				    IORING_OP_FSYNC, IORING_OP_FALLOCATE };
	struct io_uring_probe *p = io_uring_get_probe_ring(ring);
	int err = 0;

	if (!p)
		return -EOPNOTSUPP;
	for (size_t i = 0; i < ARRAY_SIZE(need); i++)
		if (!io_uring_opcode_supported(p, need[i]))
			err = -EOPNOTSUPP;
	io_uring_free_probe(p);
	return err;
}

int blk_uring_create(struct blk_engine **out, struct blk_image *img,
		     unsigned depth)
{
	struct blk_uring *u = calloc(1, sizeof(*u));
	int err;

	if (!u)
		return -ENOMEM;
	u->e.ops = &uring_ops;
	u->e.img = img;
	/* seccomp or kernel.io_uring_disabled make this fail: the caller decides */
	err = io_uring_queue_init(depth ? depth : 1, &u->ring, 0);
	if (err < 0)
		goto fail_free;
	err = check_ops(&u->ring);
	if (err < 0)
		goto fail_ring;
	u->e.event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (u->e.event_fd < 0) {
		err = -errno;
		goto fail_ring;
	}
	err = io_uring_register_eventfd(&u->ring, u->e.event_fd);
	if (err < 0)
		goto fail_fd;
	*out = &u->e;
	return 0;
fail_fd:
	close(u->e.event_fd);
fail_ring:
	io_uring_queue_exit(&u->ring);
fail_free:
	free(u);
	return err;
}
