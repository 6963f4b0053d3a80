/*
 * The device side of a split virtqueue (virtio 1.2, 2.7), with
 * VIRTIO_RING_F_INDIRECT_DESC and VIRTIO_RING_F_EVENT_IDX.
 *
 * Everything in the rings comes from the guest and is checked here: a
 * descriptor's address and length must lie in guest RAM, a chain must not
 * loop or be longer than the queue, an indirect table must be a whole
 * number of descriptors in RAM and not nest, device-writable buffers must
 * follow the readable ones, zero-length descriptors are refused, and the
 * avail index may not run more than the queue size ahead of us. A bad chain
 * makes virtq_pop return -EINVAL (the device should then mark itself
 * VIRTIO_CONFIG_S_NEEDS_RESET); nothing is read or written outside RAM.
 * Each descriptor is read once into a local, so a guest rewriting the table
 * while the device walks it cannot make a checked value change under us.
 *
 * Threading: one thread uses a queue at a time (the device's lock).
 */
#ifndef PETREL_VIRTQUEUE_H
#define PETREL_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>
#include <linux/virtio_ring.h>

#include "petrel/memory.h"

#define VIRTQ_MAX_SIZE 1024 /* the largest queue size petrel offers */

struct virtq {
	const struct guest_mem *mem;
	/* set by the transport as the driver programs the queue */
	uint16_t size;         /* power of two, 1..VIRTQ_MAX_SIZE */
	gpa_t desc, avail, used;
	bool ready;
	/* negotiated features, set by virtq_start */
	bool event_idx;
	bool indirect;
	/* device state */
	uint16_t last_avail;   /* next avail ring entry to take */
	uint16_t used_idx;     /* our copy of used->idx */
	uint16_t signalled_used; /* used_idx at the last interrupt (EVENT_IDX) */
	bool signalled_valid;
	/*
	 * q->size as virtq_start checked it: the rings are indexed with this,
	 * so a transport that lets the driver rewrite size on a live queue
	 * cannot send us outside the areas that were checked.
	 */
	uint16_t num;
	/* host pointers to the three areas, checked once by virtq_start */
	struct vring_desc *desc_hva;
	struct vring_avail *avail_hva;
	struct vring_used *used_hva;
};

/*
 * One request: iov[0..n_out) are the driver's readable buffers (the device
 * reads them), iov[n_out..n_out+n_in) the device-writable ones, in chain
 * order. The caller provides iov and its capacity; a chain with more
 * buffers than that is refused like a bad chain.
 */
struct virtq_elem {
	uint16_t head;
	unsigned n_out, n_in;
	uint64_t out_len, in_len; /* bytes in each part */
	struct iovec *iov;
	unsigned cap;
};

/* Zeroes q and records the guest memory it will use. */
void virtq_init(struct virtq *q, const struct guest_mem *mem);
/*
 * Checks that the three areas of a queue of q->size lie in RAM (and are
 * aligned as the spec requires: desc 16, avail 2, used 4; sizes include
 * the used_event/avail_event trailers) and resets the device state.
 * features are the negotiated ones. 0, or -EINVAL naming nothing: the
 * caller reports.
 */
int virtq_start(struct virtq *q, uint64_t features);
/*
 * Forgets the rings (device reset): addresses, ready, features and state
 * are cleared; mem and size stay (the transport resets size to its max).
 */
void virtq_reset(struct virtq *q);

/*
 * Takes the next available chain. 1: e filled; 0: nothing available (or
 * the queue is not started); -EINVAL: the ring or chain is malformed. Every
 * nonzero return consumes one avail entry, so a loop over virtq_pop ends
 * whatever the guest wrote; after -EINVAL e->head is the head the guest
 * gave (a device may push it back if it is < size), n_out = n_in = 0.
 */
int virtq_pop(struct virtq *q, struct virtq_elem *e);
/* Puts head on the used ring with len bytes written; publishes used->idx. */
void virtq_push(struct virtq *q, uint16_t head, uint32_t len);
/*
 * Whether the driver wants an interrupt for what was pushed since the last
 * call (EVENT_IDX: used_event passed; else the NO_INTERRUPT flag clear).
 * False when nothing was pushed since the last call. Entries judged
 * unwanted are not owed later: the driver re-checks used->idx after it
 * re-enables interrupts.
 */
bool virtq_should_notify(struct virtq *q);
/*
 * With EVENT_IDX: asks for a kick when the avail index passes the current
 * one (writes avail_event), then re-checks. Returns whether more chains are
 * available, so a device loops: while (pop...) {...} if (!virtq_enable_kick) break.
 * Without EVENT_IDX it clears/sets VRING_USED_F_NO_NOTIFY.
 */
bool virtq_enable_kick(struct virtq *q);
void virtq_disable_kick(struct virtq *q);
/*
 * Gives back the last n chains virtq_pop took and nothing pushed yet: the
 * next pops walk them again (re-checked). For a device that needs several
 * chains at once (virtio-net's mergeable receive buffers) and found too few.
 */
void virtq_unpop(struct virtq *q, uint16_t n);
/*
 * Like virtq_enable_kick, but asks for a kick when the driver adds an entry
 * after those available now (not after last_avail): for a device that saw
 * entries and could not use them yet. Returns whether more came meanwhile.
 */
bool virtq_enable_kick_more(struct virtq *q);

/*
 * Copy helpers over an element's buffers: bytes copied. Reads from the
 * readable part starting at offset off; writes into the writable part.
 */
uint64_t virtq_elem_read(const struct virtq_elem *e, uint64_t off, void *dst,
			 uint64_t len);
uint64_t virtq_elem_write(const struct virtq_elem *e, uint64_t off,
			  const void *src, uint64_t len);

#endif
