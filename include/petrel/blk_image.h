/*
 * A raw disk image and the engines that do its I/O.
 *
 * blk_image_open checks what the user gave (a regular file or a block
 * device, readable, not a directory), opens it read-write or read-only,
 * with O_DIRECT for cache=none, and takes an OFD lock on it (a write lock
 * for read-write, a read lock for read-only, as QEMU does) so that two
 * petrels never write one image. It probes which fallocate modes work so
 * the device offers DISCARD and WRITE_ZEROES only when they do.
 *
 * An engine (struct blk_engine) carries requests (struct blk_req) to the
 * image: `sync` runs each system call in submit and completes at once;
 * `uring` queues them on an io_uring and completes them when the ring's
 * eventfd (blk_engine.event_fd) becomes readable, on the I/O thread.
 * Completion means the request's done callback ran, with 0 or -errno.
 *
 * Threading: an engine is not thread-safe; its owner serialises every call
 * (virtio-blk holds the device's lock).
 */
#ifndef PETREL_BLK_IMAGE_H
#define PETREL_BLK_IMAGE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "petrel/config.h"

#define BLK_SECTOR_SIZE 512

struct blk_image {
	int fd;
	char *path;          /* a copy, for messages */
	uint64_t size;       /* bytes the guest sees: a whole number of sectors */
	uint64_t sectors;
	bool readonly;
	bool direct;         /* O_DIRECT (cache=none) */
	bool blockdev;
	bool can_punch;      /* fallocate PUNCH_HOLE works: DISCARD */
	bool can_zero;       /* fallocate ZERO_RANGE works */
	/*
	 * O_DIRECT constraints: offsets and lengths must be multiples of
	 * block_align, buffer addresses of mem_align. 512 and 1 without it.
	 */
	uint32_t block_align;
	uint32_t mem_align;
};

/* 0 or -errno; every failure is reported with the path and the reason. */
int blk_image_open(struct blk_image *img, const struct disk_config *cfg);
void blk_image_close(struct blk_image *img);

enum blk_op {
	BLK_OP_READ,
	BLK_OP_WRITE,
	BLK_OP_FLUSH,        /* fdatasync */
	BLK_OP_DISCARD,      /* punch a hole */
	BLK_OP_WRITE_ZEROES, /* zero a range; may punch when unmap is set */
};

struct blk_req {
	enum blk_op op;
	uint64_t off;        /* bytes */
	uint64_t len;        /* READ/WRITE: the sum of iov; else the range */
	bool unmap;          /* WRITE_ZEROES may deallocate */
	/*
	 * READ/WRITE buffers. The engine consumes them while it continues a
	 * short transfer, so they belong to it until done runs.
	 */
	struct iovec *iov;
	unsigned iovcnt;
	void (*done)(struct blk_req *r, int res); /* res: 0 or -errno */
	uint64_t xferred;    /* engine's: bytes transferred so far */
};

struct blk_engine;

struct blk_engine_ops {
	const char *name;
	/* Starts r (the sync engine also finishes it). */
	void (*submit)(struct blk_engine *e, struct blk_req *r);
	/* Hands what submit queued to the kernel. */
	void (*commit)(struct blk_engine *e);
	/* Runs done for every finished request; never blocks. */
	void (*complete)(struct blk_engine *e);
	/* Waits until nothing is in flight, running done callbacks. */
	void (*drain)(struct blk_engine *e);
	void (*destroy)(struct blk_engine *e);
};

struct blk_engine {
	const struct blk_engine_ops *ops;
	struct blk_image *img;
	int event_fd;        /* readable when complete() has work; -1: never */
	unsigned inflight;
	uint64_t fdatasyncs; /* flushes that reached the kernel */
	/*
	 * Fault injection for tests: when set, each request first goes
	 * through it, and a nonzero return fails the request with that
	 * -errno instead of doing its I/O.
	 */
	int (*fault)(void *opaque, const struct blk_req *r);
	void *fault_opaque;
};

/*
 * io: SYNC, URING (an error if io_uring cannot be set up), or DEFAULT
 * (uring, else sync with a note). depth: the most requests in flight.
 * 0 or -errno.
 */
int blk_engine_create(struct blk_engine **out, struct blk_image *img,
		      enum disk_io io, unsigned depth);
void blk_engine_destroy(struct blk_engine *e);
void blk_engine_submit(struct blk_engine *e, struct blk_req *r);
void blk_engine_commit(struct blk_engine *e);
void blk_engine_complete(struct blk_engine *e);
void blk_engine_drain(struct blk_engine *e);

/* --- shared by the engines (blk_engine.c) --- */
/* Drops the first n bytes of the buffers (a short transfer's progress). */
void blk_iov_advance(struct iovec **iov, unsigned *iovcnt, uint64_t n);
/* The fallocate mode for a DISCARD or WRITE_ZEROES request on img. */
int blk_fallocate_mode(const struct blk_image *img, const struct blk_req *r);
/* The engines, for blk_engine_create. */
int blk_sync_create(struct blk_engine **out, struct blk_image *img);
int blk_uring_create(struct blk_engine **out, struct blk_image *img,
		     unsigned depth);

#endif
