/*
 * The boot plan container: segments, the buffers they point into, and the
 * one check that replaces the loaders' separate placement checks (every
 * segment in RAM, no two overlapping). See boot_plan.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "petrel/boot_plan.h"
#include "petrel/util.h"

int boot_plan_init(struct boot_plan *p, uint64_t mem_size)
{
	memset(p, 0, sizeof(*p));
	return guest_mem_layout(&p->mem, mem_size);
}

void boot_plan_free(struct boot_plan *p)
{
	for (unsigned i = 0; i < p->nr_bufs; i++)
		free(p->bufs[i]);
	free(p->bufs);
	/* moved pages left empty ranges behind (MREMAP_DONTUNMAP), still ours */
	for (unsigned i = 0; i < p->nr_maps; i++)
		munmap(p->maps[i].base, p->maps[i].len);
	free(p->maps);
	free(p->segs);
	memset(p, 0, sizeof(*p));
}

/*
 * arr with room for element n (doubling), or NULL with arr untouched.
 * The counts come from loaders of untrusted images: a size that would
 * overflow fails rather than wraps.
 */
static void *grow(void *arr, unsigned *cap, unsigned n, size_t elem)
{
	unsigned ncap;
	void *a;

	if (n < *cap)
		return arr;
	ncap = *cap ? *cap * 2 : 16;
	if (ncap <= *cap || ncap > SIZE_MAX / elem)
		return NULL;
	a = realloc(arr, (size_t)ncap * elem);
	if (a)
		*cap = ncap;
	return a;
}

int boot_plan_own(struct boot_plan *p, void *buf)
{
	void **bufs = grow(p->bufs, &p->cap_bufs, p->nr_bufs, sizeof(*bufs));

	if (!bufs) {
		free(buf);
		return -ENOMEM;
	}
	p->bufs = bufs;
	p->bufs[p->nr_bufs++] = buf;
	return 0;
}

int boot_plan_own_map(struct boot_plan *p, void *base, size_t len)
{
	struct boot_map *maps = grow(p->maps, &p->cap_maps, p->nr_maps, sizeof(*maps));

	if (!maps) {
		munmap(base, len);
		return -ENOMEM;
	}
	p->maps = maps;
	p->maps[p->nr_maps++] = (struct boot_map){ base, len };
	return 0;
}

void *boot_plan_alloc(struct boot_plan *p, size_t size)
{
	void *buf = calloc(1, size ? size : 1);

	if (!buf || boot_plan_own(p, buf) < 0)
		return NULL;
	return buf;
}

int boot_plan_add(struct boot_plan *p, const struct boot_segment *s)
{
	struct boot_segment *segs;

	if (s->size == 0 || s->len > s->size || (s->len && !s->data))
		return -EINVAL;
	segs = grow(p->segs, &p->cap_segs, p->nr_segs, sizeof(*segs));
	if (!segs)
		return -ENOMEM;
	p->segs = segs;
	p->segs[p->nr_segs++] = *s;
	return 0;
}

const struct boot_segment *boot_plan_find(const struct boot_plan *p,
					  const char *name)
{
	for (unsigned i = 0; i < p->nr_segs; i++)
		if (!strcmp(p->segs[i].name, name))
			return &p->segs[i];
	return NULL;
}

static uint64_t ram_top(const struct guest_mem *m)
{
	uint64_t top = 0;

	for (int i = 0; i < m->nr_regions; i++)
		top = MAX(top, m->regions[i].gpa + m->regions[i].size);
	return top;
}

/* The last byte, so a segment ending at 2^64 needs no 65-bit sum. */
static uint64_t seg_last(const struct boot_segment *s)
{
	return s->gpa + (s->size - 1);
}

static int by_gpa(const void *a, const void *b)
{
	const struct boot_segment *x = *(const struct boot_segment *const *)a;
	const struct boot_segment *y = *(const struct boot_segment *const *)b;

	return x->gpa < y->gpa ? -1 : x->gpa > y->gpa;
}

int boot_plan_check(const struct boot_plan *p, const char *kernel)
{
	const struct boot_segment **sorted;
	int err = 0;

	for (unsigned i = 0; i < p->nr_segs; i++) {
		const struct boot_segment *s = &p->segs[i];

		if (gpa_in_ram(&p->mem, s->gpa, s->size))
			continue;
		if (s->size - 1 > UINT64_MAX - s->gpa ||
		    seg_last(s) >= ram_top(&p->mem)) {
			pt_err("--kernel %s: %s [%#" PRIx64 ", %#" PRIx64 "] ends beyond "
			       "guest RAM (%" PRIu64 " MiB); give the VM more --mem",
			       kernel, s->name, s->gpa,
			       s->size - 1 > UINT64_MAX - s->gpa ? UINT64_MAX : seg_last(s),
			       p->mem.ram_size >> 20);
			return -ENOSPC;
		}
		pt_err("--kernel %s: %s [%#" PRIx64 ", %#" PRIx64 "] is not in guest "
		       "RAM (it crosses the PCI hole at %#llx)", kernel, s->name,
		       s->gpa, seg_last(s), MEM_32BIT_HOLE_START);
		return -EFAULT;
	}

	/* Sorted by start, each segment can only overlap its successor first. */
	if (p->nr_segs < 2)
		return 0;
	sorted = malloc(p->nr_segs * sizeof(*sorted));
	if (!sorted)
		return -ENOMEM;
	for (unsigned i = 0; i < p->nr_segs; i++)
		sorted[i] = &p->segs[i];
	qsort(sorted, p->nr_segs, sizeof(*sorted), by_gpa);
	for (unsigned i = 0; i + 1 < p->nr_segs; i++) {
		const struct boot_segment *a = sorted[i], *b = sorted[i + 1];

		if (b->gpa > seg_last(a))
			continue;
		pt_err("--kernel %s: %s [%#" PRIx64 ", %#" PRIx64 "] and %s "
		       "[%#" PRIx64 ", %#" PRIx64 "] overlap in guest memory",
		       kernel, a->name, a->gpa, seg_last(a), b->name, b->gpa,
		       seg_last(b));
		err = -EADDRINUSE;
		break;
	}
	free(sorted);
	return err;
}

/*
 * How many leading bytes of s can be moved rather than copied: the whole
 * pages of its data, when the data lies in one of the plan's mappings,
 * both it and dst start on a page boundary, and no other segment reads
 * from those pages (an ELF's segments may share file pages: once moved,
 * they would be gone from under the other); 0 otherwise.
 */
static size_t movable(const struct boot_plan *p, const struct boot_segment *s,
		      const uint8_t *dst, size_t pg)
{
	size_t n = 0;

	for (unsigned i = 0; i < p->nr_maps && !n; i++) {
		const struct boot_map *m = &p->maps[i];

		if (s->data < m->base || s->data >= m->base + m->len ||
		    s->len > (size_t)(m->base + m->len - s->data))
			continue;
		if (((uintptr_t)s->data | (uintptr_t)dst) & (pg - 1))
			return 0;
		n = s->len & ~(pg - 1);
	}
	for (unsigned i = 0; i < p->nr_segs && n; i++) {
		const struct boot_segment *o = &p->segs[i];

		if (o != s && o->len && o->data < s->data + n && s->data < o->data + o->len)
			return 0;
	}
	return n;
}

int boot_plan_write(struct boot_plan *p, const struct guest_mem *m)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);

	for (unsigned i = 0; i < p->nr_segs; i++)
		if (!gpa_ptr(m, p->segs[i].gpa, p->segs[i].size))
			return -EFAULT;
	if (p->written)
		return -EALREADY;
	p->written = true;
	for (unsigned i = 0; i < p->nr_segs; i++) {
		const struct boot_segment *s = &p->segs[i];
		uint8_t *dst = gpa_ptr(m, s->gpa, s->size);
		size_t moved = movable(p, s, dst, pg);

		/*
		 * The pages change owner: no copy, and none of the page faults
		 * a copy into fresh guest RAM takes. MREMAP_DONTUNMAP leaves
		 * the source range mapped (empty): a hole there could be handed
		 * to the next mmap (a vCPU's kvm_run, a thread's stack), which
		 * boot_plan_free's munmap of the plan's mapping would then take
		 * away. Where the kernel lacks it (before 5.7), copy.
		 */
		if (moved && mremap((void *)s->data, moved, moved,
				    MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP,
				    dst) == MAP_FAILED)
			moved = 0;
		if (moved) /* the moved range is a mapping of its own now */
			madvise(dst, moved, MADV_DONTDUMP);
		if (s->len > moved)
			memcpy(dst + moved, s->data + moved, s->len - moved);
		if (s->zero_rest)
			memset(dst + s->len, 0, s->size - s->len);
	}
	return 0;
}
