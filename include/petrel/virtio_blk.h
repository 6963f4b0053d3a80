/*
 * virtio-blk (virtio 1.2, 5.2) over a raw image (blk_image.h): one request
 * queue, requests IN, OUT, FLUSH, GET_ID, and DISCARD / WRITE_ZEROES where
 * the image's file system can do them. Everything the guest puts in a
 * request is checked: a request that is wrong ends with VIRTIO_BLK_S_IOERR
 * or VIRTIO_BLK_S_UNSUPP, a chain without a status byte makes the device
 * need a reset, and a host I/O error is the guest's IOERR, never petrel's
 * end.
 *
 * Threading: the virtio core's lock (virtio.h) serialises everything,
 * including the engine's completions, which run on the I/O thread when the
 * engine's eventfd fires.
 */
#ifndef PETREL_VIRTIO_BLK_H
#define PETREL_VIRTIO_BLK_H

#include <stdint.h>

#include "petrel/blk_image.h"
#include "petrel/config.h"
#include "petrel/evloop.h"
#include "petrel/memory.h"
#include "petrel/virtio.h"

#define VIRTIO_BLK_QUEUE_SIZE 256
/* a request is a header, data buffers and a status byte */
#define VIRTIO_BLK_SEG_MAX (VIRTIO_BLK_QUEUE_SIZE - 2)
/*
 * The largest data buffer: with SEG_MAX of them a read's data and status
 * still fit the used ring's 32-bit length.
 */
#define VIRTIO_BLK_SIZE_MAX (4u << 20)
#define VIRTIO_BLK_MAX_RANGE_SECTORS (1u << 22) /* 2 GiB per DISCARD / WRITE_ZEROES */

struct virtio_blk_stats {
	uint64_t requests;     /* every request taken from the queue */
	uint64_t reads, writes, flushes, discards, write_zeroes, get_ids;
	uint64_t bytes_read, bytes_written;
	uint64_t errors;       /* answered VIRTIO_BLK_S_IOERR */
	uint64_t unsupported;  /* answered VIRTIO_BLK_S_UNSUPP */
};

struct virtio_blk;

/*
 * Opens cfg->path (blk_image_open), sets up the engine cfg->io asks for
 * and the virtio device "virtio-blk<index>". loop may be NULL (tests: they
 * call virtio_blk_complete themselves). 0 or -errno, already reported.
 */
int virtio_blk_create(struct virtio_blk **out, const struct disk_config *cfg,
		      unsigned index, const struct guest_mem *mem,
		      struct evloop *loop);
struct virtio_dev *virtio_blk_dev(struct virtio_blk *b);
/* Waits for in-flight I/O, then frees everything and drops the image lock. */
void virtio_blk_destroy(struct virtio_blk *b);
/* One line for --stats. */
void virtio_blk_print_stats(struct virtio_blk *b);
/* A copy taken under the lock. */
struct virtio_blk_stats virtio_blk_get_stats(struct virtio_blk *b);

/*
 * What the I/O thread runs when the engine's eventfd fires: reap
 * completions, answer the guest. Takes the lock.
 */
void virtio_blk_complete(struct virtio_blk *b);
/* The engine and image, for tests (fault injection) and messages. */
struct blk_engine *virtio_blk_engine(struct virtio_blk *b);
const struct blk_image *virtio_blk_image(const struct virtio_blk *b);

#endif
