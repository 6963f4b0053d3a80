/*
 * A tiny virtio driver for unit tests: a fake guest RAM (a window at
 * RAM_GPA, above 0 so that a zero address is outside it), a split queue
 * in it started through virtqueue.h, and the driver's half of the rings
 * (descriptors, avail entries, used_event) written by hand. The tests of
 * the virtqueue use it, and devices built on it can.
 */
#ifndef PETREL_TEST_VQ_DRIVER_H
#define PETREL_TEST_VQ_DRIVER_H

#include <stdint.h>
#include <sys/uio.h>

#include "petrel/memory.h"
#include "petrel/virtqueue.h"

/* the fake RAM and where the queue and the buffers sit in it (offsets) */
#define RAM_GPA 0x10000ULL
#define RAM_SIZE 0x10000ULL
#define DESC_OFF 0x0000
#define AVAIL_OFF 0x4000
#define USED_OFF 0x5000
#define BUF_OFF 0x8000
#define QSIZE 8
#define EV_FEATURES (1ULL << VIRTIO_RING_F_EVENT_IDX)
#define IND_FEATURES (1ULL << VIRTIO_RING_F_INDIRECT_DESC)

/* the driver's side: RAM, the queue under test, the driver's avail index */
struct vqd {
	uint8_t *ram;
	struct guest_mem mem;
	struct virtq q;
	uint16_t size;      /* what the driver programmed */
	uint16_t avail_idx;
	struct iovec iov[16];
	struct virtq_elem e;
};

/* host pointer to RAM offset off */
void *vqd_hva(struct vqd *d, uint64_t off);
/* the guest address of byte n of the buffer area */
gpa_t vqd_buf(uint64_t n);
struct vring_desc *vqd_desc_at(struct vqd *d, uint64_t table_off, unsigned i);
/* descriptor i of the table at RAM offset table_off (DESC_OFF: the queue's) */
void vqd_desc_set(struct vqd *d, uint64_t table_off, unsigned i, gpa_t addr,
		  uint32_t len, uint16_t flags, uint16_t next);
struct vring_avail *vqd_avail(struct vqd *d);
struct vring_used *vqd_used(struct vqd *d);
/* makes head available: ring entry, then avail->idx */
void vqd_avail_add(struct vqd *d, uint16_t head);
void vqd_set_used_event(struct vqd *d, uint16_t v);
uint16_t vqd_avail_event(struct vqd *d);
/* a started queue of size entries with these features; asserts */
struct vqd *vqd_new(uint16_t size, uint64_t features);
/* cmocka setups: QSIZE entries, INDIRECT (and EVENT_IDX); the teardown */
int vqd_setup(void **state);
int vqd_setup_ev(void **state);
int vqd_teardown(void **state);
/* pops, expecting err, and checks that the entry was consumed either way */
void vqd_pop_expect(struct vqd *d, int err);

#endif
