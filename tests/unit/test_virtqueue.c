/*
 * The split virtqueue, device side, against rings built by a tiny driver in
 * a fake guest RAM (vq_driver.h): good chains, indirect tables, notification
 * suppression both ways, 16-bit index wraparound, copies across buffers.
 * The hostile rings are in test_virtqueue_hostile.c.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "petrel/virtqueue.h"
#include "vq_driver.h"

static void simple_chain(void **state)
{
	struct vqd *d = *state;

	assert_int_equal(virtq_pop(&d->q, &d->e), 0);
	vqd_desc_set(d, DESC_OFF, 3, vqd_buf(0), 16, VRING_DESC_F_NEXT, 5);
	vqd_desc_set(d, DESC_OFF, 5, vqd_buf(0x100), 32, VRING_DESC_F_WRITE, 0);
	vqd_avail_add(d, 3);
	vqd_pop_expect(d, 1);
	assert_int_equal(d->e.head, 3);
	assert_int_equal(d->e.n_out, 1);
	assert_int_equal(d->e.n_in, 1);
	assert_int_equal(d->e.out_len, 16);
	assert_int_equal(d->e.in_len, 32);
	assert_ptr_equal(d->iov[0].iov_base, vqd_hva(d, BUF_OFF));
	assert_int_equal(d->iov[0].iov_len, 16);
	assert_ptr_equal(d->iov[1].iov_base, vqd_hva(d, BUF_OFF + 0x100));
	assert_int_equal(virtq_pop(&d->q, &d->e), 0);

	virtq_push(&d->q, 3, 7);
	assert_int_equal(vqd_used(d)->idx, 1);
	assert_int_equal(vqd_used(d)->ring[0].id, 3);
	assert_int_equal(vqd_used(d)->ring[0].len, 7);
}

static void several_in_order(void **state)
{
	struct vqd *d = *state;

	for (unsigned i = 0; i < QSIZE; i++) {
		vqd_desc_set(d, DESC_OFF, i, vqd_buf(i * 64), 64,
			 i & 1 ? VRING_DESC_F_WRITE : 0, 0);
		vqd_avail_add(d, (uint16_t)(QSIZE - 1 - i));
	}
	for (unsigned i = 0; i < QSIZE; i++) {
		vqd_pop_expect(d, 1);
		assert_int_equal(d->e.head, QSIZE - 1 - i);
		virtq_push(&d->q, d->e.head, 0);
	}
	assert_int_equal(virtq_pop(&d->q, &d->e), 0);
	assert_int_equal(vqd_used(d)->idx, QSIZE);
	assert_int_equal(vqd_used(d)->ring[QSIZE - 1].id, 0);
}

/* a chain of exactly size descriptors is the longest legal one */
static void full_length_chain(void **state)
{
	struct vqd *d = *state;

	for (unsigned i = 0; i < QSIZE; i++)
		vqd_desc_set(d, DESC_OFF, i, vqd_buf(i * 8), 8,
			 i + 1 < QSIZE ? VRING_DESC_F_NEXT : 0,
			 (uint16_t)(i + 1));
	vqd_avail_add(d, 0);
	vqd_pop_expect(d, 1);
	assert_int_equal(d->e.n_out, QSIZE);
	assert_int_equal(d->e.out_len, QSIZE * 8);
}

static void indirect_chain(void **state)
{
	struct vqd *d = *state;
	const uint64_t tbl = BUF_OFF + 0x1000;

	vqd_desc_set(d, tbl, 0, vqd_buf(0), 10, VRING_DESC_F_NEXT, 2);
	vqd_desc_set(d, tbl, 2, vqd_buf(0x10), 20, VRING_DESC_F_NEXT, 1);
	vqd_desc_set(d, tbl, 1, vqd_buf(0x40), 30, VRING_DESC_F_WRITE, 0);
	/* the WRITE flag on the pointer to the table is ignored */
	vqd_desc_set(d, DESC_OFF, 6, RAM_GPA + tbl, 3 * 16,
		 VRING_DESC_F_INDIRECT | VRING_DESC_F_WRITE, 0);
	vqd_avail_add(d, 6);
	vqd_pop_expect(d, 1);
	assert_int_equal(d->e.head, 6);
	assert_int_equal(d->e.n_out, 2);
	assert_int_equal(d->e.n_in, 1);
	assert_int_equal(d->e.out_len, 30);
	assert_int_equal(d->e.in_len, 30);
	assert_ptr_equal(d->iov[1].iov_base, vqd_hva(d, BUF_OFF + 0x10));
	assert_ptr_equal(d->iov[2].iov_base, vqd_hva(d, BUF_OFF + 0x40));
}

/* direct descriptors may lead to the one that points to a table */
static void direct_then_indirect(void **state)
{
	struct vqd *d = *state;
	const uint64_t tbl = BUF_OFF + 0x1000;

	vqd_desc_set(d, tbl, 0, vqd_buf(0x40), 30, VRING_DESC_F_WRITE, 0);
	vqd_desc_set(d, DESC_OFF, 0, vqd_buf(0), 10, VRING_DESC_F_NEXT, 1);
	vqd_desc_set(d, DESC_OFF, 1, RAM_GPA + tbl, 16, VRING_DESC_F_INDIRECT,
		     0);
	vqd_avail_add(d, 0);
	vqd_pop_expect(d, 1);
	assert_int_equal(d->e.n_out, 1);
	assert_int_equal(d->e.n_in, 1);
}

static void indirect_not_negotiated(void **state)
{
	struct vqd *d = *state;

	assert_int_equal(virtq_start(&d->q, 0), 0);
	vqd_desc_set(d, BUF_OFF + 0x1000, 0, vqd_buf(0), 8, 0, 0);
	vqd_desc_set(d, DESC_OFF, 0, RAM_GPA + BUF_OFF + 0x1000, 16,
		 VRING_DESC_F_INDIRECT, 0);
	vqd_avail_add(d, 0);
	vqd_pop_expect(d, -EINVAL);
}

/* --- notification suppression --- */

static void used_event_suppresses(void **state)
{
	struct vqd *d = *state;

	/* nothing pushed: nothing to tell */
	assert_false(virtq_should_notify(&d->q));
	vqd_set_used_event(d, 0);
	virtq_push(&d->q, 0, 0); /* used idx 1 passes event 0 */
	assert_true(virtq_should_notify(&d->q));
	assert_false(virtq_should_notify(&d->q));
	virtq_push(&d->q, 0, 0); /* 2: event 0 already passed */
	assert_false(virtq_should_notify(&d->q));
	vqd_set_used_event(d, 3);
	virtq_push(&d->q, 0, 0); /* 3: not past 3 yet */
	assert_false(virtq_should_notify(&d->q));
	virtq_push(&d->q, 0, 0); /* 4: passes 3 */
	assert_true(virtq_should_notify(&d->q));
	/* several pushes in one batch that jump over the event */
	vqd_set_used_event(d, 5);
	for (int i = 0; i < 3; i++)
		virtq_push(&d->q, 0, 0);
	assert_true(virtq_should_notify(&d->q));
	/* with EVENT_IDX the NO_INTERRUPT flag is ignored */
	vqd_avail(d)->flags = VRING_AVAIL_F_NO_INTERRUPT;
	vqd_set_used_event(d, 7);
	virtq_push(&d->q, 0, 0);
	assert_true(virtq_should_notify(&d->q));
}

static void no_interrupt_flag(void **state)
{
	struct vqd *d = *state;

	vqd_avail(d)->flags = VRING_AVAIL_F_NO_INTERRUPT;
	virtq_push(&d->q, 0, 0);
	assert_false(virtq_should_notify(&d->q));
	vqd_avail(d)->flags = 0;
	assert_false(virtq_should_notify(&d->q)); /* nothing new */
	virtq_push(&d->q, 0, 0);
	assert_true(virtq_should_notify(&d->q));
	/* without EVENT_IDX, used_event means nothing */
	vqd_set_used_event(d, 100);
	virtq_push(&d->q, 0, 0);
	assert_true(virtq_should_notify(&d->q));
}

static void kick_event_idx(void **state)
{
	struct vqd *d = *state;

	vqd_desc_set(d, DESC_OFF, 0, vqd_buf(0), 8, 0, 0);
	vqd_avail_add(d, 0);
	vqd_avail_add(d, 0);
	virtq_disable_kick(&d->q);
	/* with EVENT_IDX the flag is not ours to use */
	assert_int_equal(vqd_used(d)->flags, 0);
	vqd_pop_expect(d, 1);
	/* one still waiting: enable reports it, asks for a kick past 1 */
	assert_true(virtq_enable_kick(&d->q));
	assert_int_equal(vqd_avail_event(d), 1);
	vqd_pop_expect(d, 1);
	assert_false(virtq_enable_kick(&d->q));
	assert_int_equal(vqd_avail_event(d), 2);
	/* the driver adds one after we slept: it must kick (2 passed) */
	vqd_avail_add(d, 0);
	assert_true(vring_need_event(vqd_avail_event(d), d->avail_idx,
				     (uint16_t)(d->avail_idx - 1)));
	assert_true(virtq_enable_kick(&d->q));
}

static void kick_flag(void **state)
{
	struct vqd *d = *state;

	virtq_disable_kick(&d->q);
	assert_int_equal(vqd_used(d)->flags, VRING_USED_F_NO_NOTIFY);
	assert_false(virtq_enable_kick(&d->q));
	assert_int_equal(vqd_used(d)->flags, 0);
	vqd_desc_set(d, DESC_OFF, 0, vqd_buf(0), 8, 0, 0);
	vqd_avail_add(d, 0);
	virtq_disable_kick(&d->q);
	assert_true(virtq_enable_kick(&d->q));
	assert_int_equal(vqd_avail_event(d), 0); /* untouched */
}

/* the free-running 16-bit indexes wrap from 65535 to 0 */
static void index_wraparound(void **state)
{
	struct vqd *d = *state;
	const uint16_t start = 0xfffe;

	d->q.last_avail = d->q.used_idx = d->q.signalled_used = start;
	d->avail_idx = start;
	vqd_avail(d)->idx = start;
	vqd_used(d)->idx = start;
	vqd_set_used_event(d, 0xffff);
	for (unsigned i = 0; i < 4; i++) {
		vqd_desc_set(d, DESC_OFF, i, vqd_buf(i * 8), 8, 0, 0);
		vqd_avail_add(d, (uint16_t)i);
	}
	assert_int_equal(vqd_avail(d)->idx, 2);
	for (unsigned i = 0; i < 4; i++) {
		vqd_pop_expect(d, 1);
		assert_int_equal(d->e.head, i);
		virtq_push(&d->q, d->e.head, i);
	}
	assert_int_equal(virtq_pop(&d->q, &d->e), 0);
	assert_int_equal(vqd_used(d)->idx, 2);
	/* 0xfffe & 7 = 6: the entries went to 6, 7, 0, 1 */
	assert_int_equal(vqd_used(d)->ring[6].id, 0);
	assert_int_equal(vqd_used(d)->ring[1].id, 3);
	/* used_event 0xffff was passed across the wrap */
	assert_true(virtq_should_notify(&d->q));
	assert_false(virtq_enable_kick(&d->q));
	assert_int_equal(vqd_avail_event(d), 2);
}

/* --- copying across the buffers of an element --- */

static void elem_copy_across_buffers(void **state)
{
	struct vqd *d = *state;
	uint8_t *b = vqd_hva(d, BUF_OFF), out[32], in[16];

	for (unsigned i = 0; i < 15; i++)
		b[i] = (uint8_t)(i + 1);
	/* readable 3 + 5 + 7 bytes, writable 4 + 4 */
	vqd_desc_set(d, DESC_OFF, 0, vqd_buf(0), 3, VRING_DESC_F_NEXT, 1);
	vqd_desc_set(d, DESC_OFF, 1, vqd_buf(3), 5, VRING_DESC_F_NEXT, 2);
	vqd_desc_set(d, DESC_OFF, 2, vqd_buf(8), 7, VRING_DESC_F_NEXT, 3);
	vqd_desc_set(d, DESC_OFF, 3, vqd_buf(0x100), 4,
		 VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 4);
	vqd_desc_set(d, DESC_OFF, 4, vqd_buf(0x200), 4, VRING_DESC_F_WRITE, 0);
	vqd_avail_add(d, 0);
	vqd_pop_expect(d, 1);
	assert_int_equal(d->e.out_len, 15);
	assert_int_equal(d->e.in_len, 8);

	memset(out, 0, sizeof(out));
	assert_int_equal(virtq_elem_read(&d->e, 2, out, 10), 10);
	for (unsigned i = 0; i < 10; i++)
		assert_int_equal(out[i], i + 3);
	/* a read past the end is short; one from beyond it copies nothing */
	assert_int_equal(virtq_elem_read(&d->e, 0, out, sizeof(out)), 15);
	assert_int_equal(out[14], 15);
	assert_int_equal(virtq_elem_read(&d->e, 14, out, 4), 1);
	assert_int_equal(virtq_elem_read(&d->e, 15, out, 4), 0);
	assert_int_equal(virtq_elem_read(&d->e, UINT64_MAX, out, 4), 0);

	for (unsigned i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(0xa0 + i);
	assert_int_equal(virtq_elem_write(&d->e, 3, in, 4), 4);
	assert_int_equal(b[0x103], 0xa0);
	assert_memory_equal(&b[0x200], &in[1], 3);
	assert_int_equal(b[0x203], 0);
	assert_int_equal(virtq_elem_write(&d->e, 0, in, sizeof(in)), 8);
	assert_memory_equal(&b[0x100], in, 4);
	assert_memory_equal(&b[0x200], in + 4, 4);
	/* the readable buffers were never written */
	assert_int_equal(b[0], 1);
	assert_int_equal(b[14], 15);
	assert_int_equal(b[15], 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, vqd_setup, vqd_teardown)
#define TE(f) cmocka_unit_test_setup_teardown(f, vqd_setup_ev, vqd_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(simple_chain),
		T(several_in_order),
		T(full_length_chain),
		T(indirect_chain),
		T(direct_then_indirect),
		T(indirect_not_negotiated),
		TE(used_event_suppresses),
		T(no_interrupt_flag),
		TE(kick_event_idx),
		T(kick_flag),
		TE(index_wraparound),
		T(elem_copy_across_buffers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
