/*
 * The split virtqueue against hostile rings, one test per way a guest can
 * get a chain or a ring wrong: each fails its request (the entry is
 * consumed, -EINVAL), nothing is touched outside RAM, the queue goes on.
 * Also virtq_start's checks of the rings themselves.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "petrel/util.h"
#include "petrel/virtqueue.h"
#include "vq_driver.h"

static void hostile_loop(void **state)
{
	struct vqd *d = *state;

	vqd_desc_set(d, DESC_OFF, 0, vqd_buf(0), 8, VRING_DESC_F_NEXT, 1);
	vqd_desc_set(d, DESC_OFF, 1, vqd_buf(8), 8, VRING_DESC_F_NEXT, 0);
	vqd_avail_add(d, 0);
	vqd_pop_expect(d, -EINVAL);
	/* a descriptor that names itself */
	vqd_desc_set(d, DESC_OFF, 2, vqd_buf(0), 8, VRING_DESC_F_NEXT, 2);
	vqd_avail_add(d, 2);
	vqd_pop_expect(d, -EINVAL);
	/* the queue goes on: a good chain after the bad ones */
	vqd_desc_set(d, DESC_OFF, 3, vqd_buf(0), 8, 0, 0);
	vqd_avail_add(d, 3);
	vqd_pop_expect(d, 1);
	assert_int_equal(d->e.head, 3);
}

static void hostile_indirect_loop(void **state)
{
	struct vqd *d = *state;
	const uint64_t tbl = BUF_OFF + 0x1000;

	vqd_desc_set(d, tbl, 0, vqd_buf(0), 8, VRING_DESC_F_NEXT, 1);
	vqd_desc_set(d, tbl, 1, vqd_buf(0), 8, VRING_DESC_F_NEXT, 0);
	vqd_desc_set(d, DESC_OFF, 0, RAM_GPA + tbl, 32, VRING_DESC_F_INDIRECT,
		     0);
	vqd_avail_add(d, 0);
	vqd_pop_expect(d, -EINVAL);
}

static void hostile_next_out_of_range(void **state)
{
	struct vqd *d = *state;
	const uint64_t tbl = BUF_OFF + 0x1000;

	/* a good descriptor just past each table: only the index check stops */
	vqd_desc_set(d, DESC_OFF, QSIZE, vqd_buf(0), 8, 0, 0);
	vqd_desc_set(d, tbl, 2, vqd_buf(0), 8, 0, 0);
	vqd_desc_set(d, DESC_OFF, 0, vqd_buf(0), 8, VRING_DESC_F_NEXT, QSIZE);
	vqd_avail_add(d, 0);
	vqd_pop_expect(d, -EINVAL);
	/* in a table, next is bounded by the table's length, not the queue's */
	vqd_desc_set(d, tbl, 0, vqd_buf(0), 8, VRING_DESC_F_NEXT, 2);
	vqd_desc_set(d, DESC_OFF, 1, RAM_GPA + tbl, 32, VRING_DESC_F_INDIRECT,
		     0);
	vqd_avail_add(d, 1);
	vqd_pop_expect(d, -EINVAL);
}

static void hostile_buffer_outside_ram(void **state)
{
	struct vqd *d = *state;
	const struct {
		gpa_t addr;
		uint32_t len;
	} bad[] = {
		{ 0, 8 },                                /* below RAM */
		{ RAM_GPA + RAM_SIZE, 1 },               /* just past it */
		{ RAM_GPA + RAM_SIZE - 4, 8 },           /* straddles the end */
		{ UINT64_MAX - 3, 16 },                  /* wraps around */
		{ RAM_GPA, UINT32_MAX },                 /* far too long */
	};

	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		vqd_desc_set(d, DESC_OFF, 0, bad[i].addr, bad[i].len, 0, 0);
		vqd_avail_add(d, 0);
		vqd_pop_expect(d, -EINVAL);
	}
	/* the last byte of RAM is fine */
	vqd_desc_set(d, DESC_OFF, 0, RAM_GPA + RAM_SIZE - 1, 1, 0, 0);
	vqd_avail_add(d, 0);
	vqd_pop_expect(d, 1);
}

static void hostile_zero_length(void **state)
{
	struct vqd *d = *state;

	vqd_desc_set(d, DESC_OFF, 0, vqd_buf(0), 8, VRING_DESC_F_NEXT, 1);
	vqd_desc_set(d, DESC_OFF, 1, vqd_buf(8), 0, VRING_DESC_F_WRITE, 0);
	vqd_avail_add(d, 0);
	vqd_pop_expect(d, -EINVAL);
}

static void hostile_indirect_with_next(void **state)
{
	struct vqd *d = *state;
	const uint64_t tbl = BUF_OFF + 0x1000;

	vqd_desc_set(d, tbl, 0, vqd_buf(0), 8, 0, 0);
	vqd_desc_set(d, DESC_OFF, 0, RAM_GPA + tbl, 16,
		 VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
	vqd_desc_set(d, DESC_OFF, 1, vqd_buf(0), 8, 0, 0);
	vqd_avail_add(d, 0);
	vqd_pop_expect(d, -EINVAL);
}

static void hostile_nested_indirect(void **state)
{
	struct vqd *d = *state;
	const uint64_t tbl = BUF_OFF + 0x1000, tbl2 = BUF_OFF + 0x2000;

	vqd_desc_set(d, tbl2, 0, vqd_buf(0), 8, 0, 0);
	vqd_desc_set(d, tbl, 0, RAM_GPA + tbl2, 16, VRING_DESC_F_INDIRECT, 0);
	vqd_desc_set(d, DESC_OFF, 0, RAM_GPA + tbl, 16, VRING_DESC_F_INDIRECT,
		     0);
	vqd_avail_add(d, 0);
	vqd_pop_expect(d, -EINVAL);
}

static void hostile_indirect_bad_table(void **state)
{
	struct vqd *d = *state;
	const uint64_t tbl = BUF_OFF + 0x1000;
	const struct {
		gpa_t addr;
		uint32_t len;
	} bad[] = {
		{ RAM_GPA + tbl, 0 },                    /* empty */
		{ RAM_GPA + tbl, 24 },                   /* 1.5 descriptors */
		{ RAM_GPA + RAM_SIZE - 16, 32 },         /* runs out of RAM */
		{ UINT64_MAX - 15, 32 },                 /* wraps around */
	};

	vqd_desc_set(d, tbl, 0, vqd_buf(0), 8, 0, 0);
	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		vqd_desc_set(d, DESC_OFF, 0, bad[i].addr, bad[i].len,
			 VRING_DESC_F_INDIRECT, 0);
		vqd_avail_add(d, 0);
		vqd_pop_expect(d, -EINVAL);
	}
}

static void hostile_readable_after_writable(void **state)
{
	struct vqd *d = *state;

	vqd_desc_set(d, DESC_OFF, 0, vqd_buf(0), 8,
		 VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	vqd_desc_set(d, DESC_OFF, 1, vqd_buf(8), 8, 0, 0);
	vqd_avail_add(d, 0);
	vqd_pop_expect(d, -EINVAL);
}

static void hostile_too_many_buffers(void **state)
{
	struct vqd *d = *state;

	for (unsigned i = 0; i < 4; i++)
		vqd_desc_set(d, DESC_OFF, i, vqd_buf(i * 8), 8,
			 i < 3 ? VRING_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	d->e.cap = 3;
	vqd_avail_add(d, 0);
	vqd_pop_expect(d, -EINVAL);
	d->e.cap = 4;
	vqd_avail_add(d, 0);
	vqd_pop_expect(d, 1);
}

static void hostile_avail_idx_too_far(void **state)
{
	struct vqd *d = *state;

	vqd_desc_set(d, DESC_OFF, 0, vqd_buf(0), 8, 0, 0);
	d->avail_idx = QSIZE + 1;
	vqd_avail(d)->idx = d->avail_idx;
	vqd_pop_expect(d, -EINVAL);
	/* exactly size ahead is a full ring, and fine */
	d->q.last_avail = 0;
	d->avail_idx = QSIZE;
	vqd_avail(d)->idx = d->avail_idx;
	vqd_pop_expect(d, 1);
}

static void hostile_head_out_of_range(void **state)
{
	struct vqd *d = *state;

	vqd_avail_add(d, QSIZE);
	vqd_pop_expect(d, -EINVAL);
	assert_int_equal(d->e.head, QSIZE);
	vqd_avail_add(d, 0xffff);
	vqd_pop_expect(d, -EINVAL);
}

/* the driver rewrites a live queue's size register: the rings keep theirs */
static void hostile_size_changed_live(void **state)
{
	struct vqd *d = *state;

	d->q.size = 1024;
	vqd_avail(d)->ring[QSIZE] = 0; /* used_event, also entry 8 */
	d->avail_idx = 9;
	vqd_avail(d)->idx = d->avail_idx;
	vqd_pop_expect(d, -EINVAL); /* 9 ahead of a ring of 8 */
	d->q.last_avail = 0;
	d->avail_idx = 1;
	vqd_avail(d)->idx = 1;
	vqd_avail(d)->ring[0] = 1000;
	vqd_pop_expect(d, -EINVAL);
	assert_int_equal(d->e.head, 1000);
	virtq_push(&d->q, 0, 0);
	assert_int_equal(vqd_used(d)->idx, 1);
	assert_int_equal(vqd_used(d)->ring[0].id, 0);
}

/* --- virtq_start: the rings themselves --- */

static void start_checks(void **state)
{
	struct vqd *d = *state;
	struct virtq *q = &d->q;
	const uint16_t bad_sizes[] = { 0, 3, 6, 2048 };

	for (unsigned i = 0; i < ARRAY_SIZE(bad_sizes); i++) {
		q->size = bad_sizes[i];
		assert_int_equal(virtq_start(q, 0), -EINVAL);
	}
	q->size = QSIZE;
	/* alignment: desc 16, avail 2, used 4 */
	q->desc = RAM_GPA + 8;
	assert_int_equal(virtq_start(q, 0), -EINVAL);
	q->desc = RAM_GPA;
	q->avail = RAM_GPA + AVAIL_OFF + 1;
	assert_int_equal(virtq_start(q, 0), -EINVAL);
	q->avail = RAM_GPA + AVAIL_OFF + 2;
	q->used = RAM_GPA + USED_OFF + 2;
	assert_int_equal(virtq_start(q, 0), -EINVAL);
	q->used = RAM_GPA + USED_OFF + 4;
	assert_int_equal(virtq_start(q, 0), 0);
	/* the used ring's avail_event trailer is counted: 6 + 8 * size */
	q->used = RAM_GPA + RAM_SIZE - (6 + 8 * QSIZE) + 2;
	assert_int_equal(virtq_start(q, 0), -EINVAL);
	q->used = RAM_GPA + RAM_SIZE - (6 + 8 * QSIZE) - 2;
	assert_int_equal(virtq_start(q, 0), 0);
	/* and the avail ring's used_event: 6 + 2 * size */
	q->avail = RAM_GPA + RAM_SIZE - (6 + 2 * QSIZE) + 2;
	assert_int_equal(virtq_start(q, 0), -EINVAL);
	q->avail = RAM_GPA + RAM_SIZE - (6 + 2 * QSIZE);
	assert_int_equal(virtq_start(q, 0), 0);
	/* the descriptor table, and addresses that wrap */
	q->desc = RAM_GPA + RAM_SIZE - 16 * (QSIZE - 1);
	assert_int_equal(virtq_start(q, 0), -EINVAL);
	q->desc = UINT64_MAX & ~15ULL;
	assert_int_equal(virtq_start(q, 0), -EINVAL);
	q->desc = 0;
	assert_int_equal(virtq_start(q, 0), -EINVAL);
}

static void not_started(void **state)
{
	struct vqd *d = *state;

	virtq_reset(&d->q);
	assert_int_equal(d->q.size, QSIZE);
	assert_false(d->q.ready);
	vqd_desc_set(d, DESC_OFF, 0, vqd_buf(0), 8, 0, 0);
	vqd_avail_add(d, 0);
	assert_int_equal(virtq_pop(&d->q, &d->e), 0);
	virtq_push(&d->q, 0, 0);
	assert_int_equal(vqd_used(d)->idx, 0);
	assert_false(virtq_should_notify(&d->q));
	assert_false(virtq_enable_kick(&d->q));
	virtq_disable_kick(&d->q);
	assert_int_equal(vqd_used(d)->flags, 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, vqd_setup, vqd_teardown)
#define TE(f) cmocka_unit_test_setup_teardown(f, vqd_setup_ev, vqd_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(hostile_loop),
		T(hostile_indirect_loop),
		T(hostile_next_out_of_range),
		T(hostile_buffer_outside_ram),
		T(hostile_zero_length),
		T(hostile_indirect_with_next),
		T(hostile_nested_indirect),
		T(hostile_indirect_bad_table),
		T(hostile_readable_after_writable),
		T(hostile_too_many_buffers),
		T(hostile_avail_idx_too_far),
		T(hostile_head_out_of_range),
		T(hostile_size_changed_live),
		T(start_checks),
		T(not_started),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
