#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "petrel/memory.h"
#include "petrel/util.h"

int guest_mem_layout(struct guest_mem *m, uint64_t ram_size)
{
	uint64_t low, high;

	memset(m, 0, sizeof(*m));
	if (ram_size == 0 || ram_size % 4096)
		return -EINVAL;
	low = MIN(ram_size, MEM_32BIT_HOLE_START);
	high = ram_size - low;
	m->ram_size = ram_size;
	m->regions[0] = (struct mem_region){ 0, low, NULL };
	m->nr_regions = 1;
	if (high) {
		m->regions[1] = (struct mem_region){ MEM_32BIT_HOLE_END, high,
						     NULL };
		m->nr_regions = 2;
	}
	return 0;
}

void guest_mem_window(struct guest_mem *m, gpa_t gpa, void *buf,
		      uint64_t size)
{
	memset(m, 0, sizeof(*m));
	m->ram_size = size;
	m->regions[0] = (struct mem_region){ gpa, size, buf };
	m->nr_regions = 1;
}

int guest_mem_init(struct guest_mem *m, uint64_t ram_size)
{
	void *p;
	int err;

	if ((err = guest_mem_layout(m, ram_size)) < 0)
		return err;
	/*
	 * One anonymous mapping backs all RAM; MAP_NORESERVE so that a large
	 * --mem costs nothing until the guest touches it.
	 */
	p = mmap(NULL, ram_size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		err = -errno;
		memset(m, 0, sizeof(*m));
		return err;
	}
	/* Guest RAM is huge and not interesting in a core dump. */
	madvise(p, ram_size, MADV_DONTDUMP);
	m->base = p;
	m->map_size = ram_size;
	/* the regions follow each other in the one mapping */
	uint64_t off = 0;
	for (int i = 0; i < m->nr_regions; i++) {
		m->regions[i].hva = m->base + off;
		off += m->regions[i].size;
	}
	return 0;
}

void guest_mem_destroy(struct guest_mem *m)
{
	if (m->base)
		munmap(m->base, m->map_size);
	memset(m, 0, sizeof(*m));
}

static const struct mem_region *region_of(const struct guest_mem *m, gpa_t gpa,
					  uint64_t len)
{
	for (int i = 0; i < m->nr_regions; i++) {
		const struct mem_region *r = &m->regions[i];
		/* written so that no sum can overflow */
		if (gpa >= r->gpa && gpa - r->gpa <= r->size &&
		    len <= r->size - (gpa - r->gpa))
			return r;
	}
	return NULL;
}

bool gpa_in_ram(const struct guest_mem *m, gpa_t gpa, uint64_t len)
{
	return region_of(m, gpa, len) != NULL;
}

void *gpa_ptr(const struct guest_mem *m, gpa_t gpa, uint64_t len)
{
	const struct mem_region *r = region_of(m, gpa, len);

	if (!r || !r->hva)
		return NULL;
	return r->hva + (gpa - r->gpa);
}

int gpa_read(const struct guest_mem *m, gpa_t gpa, void *dst, uint64_t len)
{
	void *p = gpa_ptr(m, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(dst, p, len);
	return 0;
}

int gpa_write(const struct guest_mem *m, gpa_t gpa, const void *src,
	      uint64_t len)
{
	void *p = gpa_ptr(m, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(p, src, len);
	return 0;
}

uint64_t guest_mem_resident(const struct guest_mem *m)
{
	long page = sysconf(_SC_PAGESIZE);
	uint64_t pages = (m->map_size + page - 1) / page, count = 0;
	const uint64_t chunk = 65536;
	unsigned char *vec = malloc(chunk);

	if (!vec)
		return 0;
	for (uint64_t i = 0; i < pages; i += chunk) {
		uint64_t n = MIN(chunk, pages - i);
		if (mincore(m->base + i * page, n * page, vec) < 0)
			break;
		for (uint64_t j = 0; j < n; j++)
			count += vec[j] & 1;
	}
	free(vec);
	return count * page;
}
