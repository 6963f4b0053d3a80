/*
 * virtio-rng, the entropy device (virtio 1.2, 5.4): one queue; each chain's
 * device-writable buffers are filled from getrandom(2). A large request
 * gets fewer bytes than it asked for (the used length says how many), so
 * one guest cannot hold the I/O thread for long.
 */
#ifndef PETREL_VIRTIO_RNG_H
#define PETREL_VIRTIO_RNG_H

#include <stdint.h>

#include "petrel/evloop.h"
#include "petrel/memory.h"
#include "petrel/virtio.h"

#define VIRTIO_RNG_QUEUE_SIZE 64
#define VIRTIO_RNG_MAX_REQ (64 * 1024) /* bytes per chain at most */

struct virtio_rng;

/* "virtio-rng<index>"; loop may be NULL in tests. 0 or -errno. */
int virtio_rng_create(struct virtio_rng **out, unsigned index,
		      const struct guest_mem *mem, struct evloop *loop);
struct virtio_dev *virtio_rng_dev(struct virtio_rng *r);
void virtio_rng_destroy(struct virtio_rng *r);
void virtio_rng_print_stats(struct virtio_rng *r);
/* Bytes given to the guest so far, and chains answered. */
uint64_t virtio_rng_bytes(struct virtio_rng *r);
uint64_t virtio_rng_requests(struct virtio_rng *r);

#endif
