/*
 * The device side of a split virtqueue (virtio 1.2, 2.7). See virtqueue.h
 * for the contract.
 *
 * The guest driver runs on other CPUs while we read and write the rings, so
 * every access to a ring field that the other side writes goes through an
 * atomic load or store of the field's natural width (virtq_start checked
 * the alignment that makes them single accesses). The orderings:
 *  - avail->idx is loaded with acquire before the ring entry and the
 *    descriptors it publishes are read (pairs with the driver's wmb);
 *  - used entries are written before used->idx is stored with release
 *    (pairs with the driver's rmb after it reads used->idx);
 *  - publishing used->idx (or avail_event / the NO_NOTIFY flag) and then
 *    reading used_event / avail->flags (or avail->idx) is a store followed
 *    by a load of another location: only a full fence orders that, and
 *    without it both sides can miss each other's update and sleep forever.
 * Virtio 1.x rings are little-endian, like the x86 hosts petrel runs on;
 * the le*toh calls keep that assumption visible.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "petrel/util.h"
#include "petrel/virtqueue.h"

static uint16_t ld16(const __virtio16 *p)
{
	return le16toh(__atomic_load_n(p, __ATOMIC_RELAXED));
}

static uint16_t ld16_acquire(const __virtio16 *p)
{
	return le16toh(__atomic_load_n(p, __ATOMIC_ACQUIRE));
}

static void st16(__virtio16 *p, uint16_t v)
{
	__atomic_store_n(p, htole16(v), __ATOMIC_RELAXED);
}

static void st32(__virtio32 *p, uint32_t v)
{
	__atomic_store_n(p, htole32(v), __ATOMIC_RELAXED);
}

/* used_event sits after the avail ring, avail_event after the used ring */
static __virtio16 *used_event(const struct virtq *q)
{
	return &q->avail_hva->ring[q->num];
}

static __virtio16 *avail_event(const struct virtq *q)
{
	return (__virtio16 *)&q->used_hva->ring[q->num];
}

void virtq_init(struct virtq *q, const struct guest_mem *mem)
{
	memset(q, 0, sizeof(*q));
	q->mem = mem;
}

static void *area(const struct virtq *q, gpa_t gpa, uint64_t align,
		  uint64_t len)
{
	if (gpa & (align - 1))
		return NULL;
	return gpa_ptr(q->mem, gpa, len);
}

int virtq_start(struct virtq *q, uint64_t features)
{
	uint64_t n = q->size;
	void *d, *a, *u;

	if (n == 0 || n > VIRTQ_MAX_SIZE || (n & (n - 1)))
		return -EINVAL;
	/* n <= 1024: none of these products can overflow */
	d = area(q, q->desc, VRING_DESC_ALIGN_SIZE,
		 n * sizeof(struct vring_desc));
	a = area(q, q->avail, VRING_AVAIL_ALIGN_SIZE, 6 + 2 * n);
	u = area(q, q->used, VRING_USED_ALIGN_SIZE,
		 6 + n * sizeof(struct vring_used_elem));
	if (!d || !a || !u)
		return -EINVAL;
	q->num = q->size;
	q->desc_hva = d;
	q->avail_hva = a;
	q->used_hva = u;
	q->event_idx = features & (1ULL << VIRTIO_RING_F_EVENT_IDX);
	q->indirect = features & (1ULL << VIRTIO_RING_F_INDIRECT_DESC);
	q->last_avail = 0;
	q->used_idx = 0;
	/* a fresh queue's used index is 0 on both sides: nothing is owed */
	q->signalled_used = 0;
	q->signalled_valid = true;
	return 0;
}

void virtq_reset(struct virtq *q)
{
	const struct guest_mem *mem = q->mem;
	uint16_t size = q->size;

	memset(q, 0, sizeof(*q));
	q->mem = mem;
	q->size = size;
}

/*
 * One descriptor, copied out of guest memory once: everything after works
 * on the copy, so the guest cannot change a field between check and use.
 * The table may be an indirect one at any alignment, hence memcpy.
 */
static struct vring_desc desc_fetch(const uint8_t *table, uint16_t i)
{
	struct vring_desc d;

	memcpy(&d, table + (size_t)i * sizeof(d), sizeof(d));
	/* a compiler barrier: no re-reading guest memory in place of d */
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	d.addr = le64toh(d.addr);
	d.len = le32toh(d.len);
	d.flags = le16toh(d.flags);
	d.next = le16toh(d.next);
	return d;
}

/* Walks the chain at e->head into e; 0 or -EINVAL. */
static int chain_walk(const struct virtq *q, struct virtq_elem *e)
{
	const uint8_t *table = (const uint8_t *)q->desc_hva;
	unsigned limit = q->num, count = 0, n = 0;
	bool in_indirect = false, seen_write = false;
	uint16_t i = e->head;

	if (i >= q->num)
		return -EINVAL;
	for (;;) {
		struct vring_desc d = desc_fetch(table, i);
		void *p;

		/* more descriptors than the table holds: the chain loops */
		if (++count > limit)
			return -EINVAL;
		if (d.flags & VRING_DESC_F_INDIRECT) {
			/*
			 * Only if negotiated, only one level, and never
			 * continued by NEXT (the spec forbids the pair). The
			 * WRITE flag of this descriptor means nothing.
			 */
			if (!q->indirect || in_indirect ||
			    (d.flags & VRING_DESC_F_NEXT))
				return -EINVAL;
			if (d.len == 0 || d.len % sizeof(struct vring_desc))
				return -EINVAL;
			table = gpa_ptr(q->mem, d.addr, d.len);
			if (!table)
				return -EINVAL;
			in_indirect = true;
			limit = d.len / sizeof(struct vring_desc);
			count = 0;
			i = 0;
			continue;
		}
		if (d.len == 0)
			return -EINVAL;
		p = gpa_ptr(q->mem, d.addr, d.len);
		if (!p)
			return -EINVAL;
		if (d.flags & VRING_DESC_F_WRITE) {
			seen_write = true;
			e->n_in++;
			e->in_len += d.len;
		} else {
			/* the spec puts every readable buffer first */
			if (seen_write)
				return -EINVAL;
			e->n_out++;
			e->out_len += d.len;
		}
		if (n >= e->cap)
			return -EINVAL;
		e->iov[n].iov_base = p;
		e->iov[n].iov_len = d.len;
		n++;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 0;
		i = d.next;
		if (i >= limit)
			return -EINVAL;
	}
}

int virtq_pop(struct virtq *q, struct virtq_elem *e)
{
	uint16_t avail_idx, pending;
	int err;

	if (!q->desc_hva)
		return 0;
	e->n_out = e->n_in = 0;
	e->out_len = e->in_len = 0;
	avail_idx = ld16_acquire(&q->avail_hva->idx);
	pending = (uint16_t)(avail_idx - q->last_avail);
	if (pending == 0)
		return 0;
	e->head = ld16(&q->avail_hva->ring[q->last_avail & (q->num - 1)]);
	q->last_avail++;
	/*
	 * The driver can only have made size entries available that we have
	 * not taken: more means its index is garbage, and so is the entry.
	 */
	err = pending > q->num ? -EINVAL : chain_walk(q, e);
	if (err) {
		e->n_out = e->n_in = 0;
		e->out_len = e->in_len = 0;
	}
	return err ? err : 1;
}

void virtq_push(struct virtq *q, uint16_t head, uint32_t len)
{
	vring_used_elem_t *u;

	if (!q->used_hva)
		return;
	u = &q->used_hva->ring[q->used_idx & (q->num - 1)];
	st32(&u->id, head);
	st32(&u->len, len);
	q->used_idx++;
	/* the entry must be visible before the index that publishes it */
	__atomic_store_n(&q->used_hva->idx, htole16(q->used_idx),
			 __ATOMIC_RELEASE);
}

bool virtq_should_notify(struct virtq *q)
{
	uint16_t old = q->signalled_used, new = q->used_idx;
	bool valid = q->signalled_valid, notify;

	if (!q->avail_hva)
		return false;
	if (valid && old == new)
		return false;
	/*
	 * Our used->idx store must be globally visible before we read what
	 * the driver asked for: the driver writes used_event (or clears
	 * NO_INTERRUPT) and then re-reads used->idx, so with the store still
	 * in our store buffer each side would miss the other's update.
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	q->signalled_used = new;
	q->signalled_valid = true;
	if (!valid)
		return true;
	if (q->event_idx)
		notify = vring_need_event(ld16(used_event(q)), new, old);
	else
		notify = !(ld16(&q->avail_hva->flags) &
			   VRING_AVAIL_F_NO_INTERRUPT);
	return notify;
}

bool virtq_enable_kick(struct virtq *q)
{
	if (!q->used_hva)
		return false;
	if (q->event_idx)
		st16(avail_event(q), q->last_avail);
	else
		st16(&q->used_hva->flags, 0);
	/*
	 * Store (the kick request) then load (avail->idx): the same lost
	 * wakeup as in virtq_should_notify, seen from the other side. The
	 * driver publishes avail->idx, fences, then reads our request.
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return ld16_acquire(&q->avail_hva->idx) != q->last_avail;
}

void virtq_disable_kick(struct virtq *q)
{
	/*
	 * With EVENT_IDX the driver ignores the flag; an avail_event left
	 * behind costs at most one kick, so there is nothing to write.
	 */
	if (!q->used_hva || q->event_idx)
		return;
	st16(&q->used_hva->flags, VRING_USED_F_NO_NOTIFY);
}

void virtq_unpop(struct virtq *q, uint16_t n)
{
	q->last_avail = (uint16_t)(q->last_avail - n);
}

bool virtq_enable_kick_more(struct virtq *q)
{
	uint16_t seen;

	if (!q->used_hva)
		return false;
	seen = ld16_acquire(&q->avail_hva->idx);
	if (q->event_idx)
		st16(avail_event(q), seen);
	else
		st16(&q->used_hva->flags, 0);
	/* the same store-then-load as virtq_enable_kick */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return ld16_acquire(&q->avail_hva->idx) != seen;
}

/* Copies between buf and iov[0..n) starting at byte off of the iovs. */
static uint64_t iov_copy(const struct iovec *iov, unsigned n, uint64_t off,
			 void *buf, uint64_t len, bool to_iov)
{
	uint64_t done = 0;

	for (unsigned k = 0; k < n && done < len; k++) {
		uint64_t l = iov[k].iov_len, c;

		if (off >= l) {
			off -= l;
			continue;
		}
		c = MIN(l - off, len - done);
		if (to_iov)
			memcpy((uint8_t *)iov[k].iov_base + off,
			       (uint8_t *)buf + done, c);
		else
			memcpy((uint8_t *)buf + done,
			       (uint8_t *)iov[k].iov_base + off, c);
		done += c;
		off = 0;
	}
	return done;
}

uint64_t virtq_elem_read(const struct virtq_elem *e, uint64_t off, void *dst,
			 uint64_t len)
{
	return iov_copy(e->iov, e->n_out, off, dst, len, false);
}

uint64_t virtq_elem_write(const struct virtq_elem *e, uint64_t off,
			  const void *src, uint64_t len)
{
	return iov_copy(e->iov + e->n_out, e->n_in, off, (void *)src, len,
			true);
}
