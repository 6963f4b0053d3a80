/* The test driver of vq_driver.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "vq_driver.h"

void *vqd_hva(struct vqd *d, uint64_t off)
{
	return d->ram + off;
}

gpa_t vqd_buf(uint64_t n)
{
	return RAM_GPA + BUF_OFF + n;
}

struct vring_desc *vqd_desc_at(struct vqd *d, uint64_t table_off,
				  unsigned i)
{
	return (struct vring_desc *)vqd_hva(d, table_off) + i;
}

void vqd_desc_set(struct vqd *d, uint64_t table_off, unsigned i,
		     gpa_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	struct vring_desc *v = vqd_desc_at(d, table_off, i);

	v->addr = addr;
	v->len = len;
	v->flags = flags;
	v->next = next;
}

struct vring_avail *vqd_avail(struct vqd *d)
{
	return vqd_hva(d, AVAIL_OFF);
}

struct vring_used *vqd_used(struct vqd *d)
{
	return vqd_hva(d, USED_OFF);
}

void vqd_avail_add(struct vqd *d, uint16_t head)
{
	vqd_avail(d)->ring[d->avail_idx % d->size] = head;
	d->avail_idx++;
	vqd_avail(d)->idx = d->avail_idx;
}

void vqd_set_used_event(struct vqd *d, uint16_t v)
{
	vqd_avail(d)->ring[d->size] = v;
}

uint16_t vqd_avail_event(struct vqd *d)
{
	return *(uint16_t *)&vqd_used(d)->ring[d->size];
}

struct vqd *vqd_new(uint16_t size, uint64_t features)
{
	struct vqd *d = calloc(1, sizeof(*d));

	assert_non_null(d);
	d->ram = aligned_alloc(4096, RAM_SIZE);
	assert_non_null(d->ram);
	memset(d->ram, 0, RAM_SIZE);
	guest_mem_window(&d->mem, RAM_GPA, d->ram, RAM_SIZE);
	virtq_init(&d->q, &d->mem);
	d->size = d->q.size = size;
	d->q.desc = RAM_GPA + DESC_OFF;
	d->q.avail = RAM_GPA + AVAIL_OFF;
	d->q.used = RAM_GPA + USED_OFF;
	d->q.ready = true;
	assert_int_equal(virtq_start(&d->q, features), 0);
	d->e.iov = d->iov;
	d->e.cap = 16;
	return d;
}

int vqd_setup(void **state)
{
	*state = vqd_new(QSIZE, IND_FEATURES);
	return 0;
}

int vqd_setup_ev(void **state)
{
	*state = vqd_new(QSIZE, IND_FEATURES | EV_FEATURES);
	return 0;
}

int vqd_teardown(void **state)
{
	struct vqd *d = *state;

	free(d->ram);
	free(d);
	return 0;
}

void vqd_pop_expect(struct vqd *d, int err)
{
	uint16_t before = d->q.last_avail;

	assert_int_equal(virtq_pop(&d->q, &d->e), err);
	assert_int_equal(d->q.last_avail, (uint16_t)(before + 1));
	if (err < 0) {
		assert_int_equal(d->e.n_out, 0);
		assert_int_equal(d->e.n_in, 0);
	}
}
