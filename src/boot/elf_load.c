/*
 * ELF loader for vmlinux and Multiboot ELF kernels. Both classes are read
 * into one 64-bit view first, so the checks are written once. Headers are
 * memcpy'd out of the file because nothing guarantees their alignment.
 */
#include <elf.h>
#include <errno.h>
#include <string.h>

#include "petrel/boot_plan.h"
#include "petrel/elf_load.h"
#include "petrel/util.h"

struct ehdr_view {
	int elf_class;
	uint16_t type, machine, phentsize, phnum;
	uint64_t entry, phoff;
};

struct phdr_view {
	uint32_t type;
	uint64_t offset, paddr, filesz, memsz;
};

static int fail(const char **why, const char *reason, int err)
{
	if (why)
		*why = reason;
	return err;
}

static bool class_machine_ok(int elf_class, uint16_t machine)
{
	return (elf_class == ELFCLASS64 && machine == EM_X86_64) ||
	       (elf_class == ELFCLASS32 && machine == EM_386);
}

static size_t ehdr_size(int elf_class)
{
	return elf_class == ELFCLASS64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);
}

bool elf_probe(const uint8_t *img, size_t len)
{
	int elf_class;

	if (!img || len < EI_NIDENT || memcmp(img, ELFMAG, SELFMAG))
		return false;
	elf_class = img[EI_CLASS];
	if (elf_class != ELFCLASS32 && elf_class != ELFCLASS64)
		return false;
	/* e_machine sits at the same offset in both classes */
	return len >= ehdr_size(elf_class) && img[EI_DATA] == ELFDATA2LSB &&
	       img[EI_VERSION] == EV_CURRENT &&
	       class_machine_ok(elf_class,
				le16_get(img + offsetof(Elf64_Ehdr, e_machine)));
}

static int read_ehdr(const uint8_t *img, size_t len, struct ehdr_view *e,
		     const char **why)
{
	if (!img || len < EI_NIDENT || memcmp(img, ELFMAG, SELFMAG))
		return fail(why, "not an ELF file", -ENOEXEC);
	e->elf_class = img[EI_CLASS];
	if (e->elf_class != ELFCLASS32 && e->elf_class != ELFCLASS64)
		return fail(why, "ELF: unknown class", -ENOEXEC);
	if (img[EI_DATA] != ELFDATA2LSB)
		return fail(why, "ELF: not little-endian", -ENOEXEC);
	if (img[EI_VERSION] != EV_CURRENT)
		return fail(why, "ELF: unknown version", -ENOEXEC);
	if (len < ehdr_size(e->elf_class))
		return fail(why, "ELF: file too short for its header", -ENOEXEC);
	if (e->elf_class == ELFCLASS64) {
		Elf64_Ehdr h;
		memcpy(&h, img, sizeof(h));
		*e = (struct ehdr_view){ ELFCLASS64, h.e_type, h.e_machine,
					 h.e_phentsize, h.e_phnum, h.e_entry,
					 h.e_phoff };
	} else {
		Elf32_Ehdr h;
		memcpy(&h, img, sizeof(h));
		*e = (struct ehdr_view){ ELFCLASS32, h.e_type, h.e_machine,
					 h.e_phentsize, h.e_phnum, h.e_entry,
					 h.e_phoff };
	}
	if (!class_machine_ok(e->elf_class, e->machine))
		return fail(why, e->elf_class == ELFCLASS64
			    ? "ELF: 64-bit but not x86-64"
			    : "ELF: 32-bit but not i386", -ENOEXEC);
	if (e->type != ET_EXEC)
		return fail(why, "ELF: not an executable (ET_EXEC)", -ENOEXEC);
	if (e->phnum == 0)
		return fail(why, "ELF: no program headers", -ENOEXEC);
	/* PN_XNUM moves the count into section 0: no kernel needs that */
	if (e->phnum == PN_XNUM)
		return fail(why, "ELF: too many program headers", -EINVAL);
	if (e->phentsize != (e->elf_class == ELFCLASS64 ? sizeof(Elf64_Phdr)
							: sizeof(Elf32_Phdr)))
		return fail(why, "ELF: unexpected program header size",
			    -EINVAL);
	/* both factors are 16-bit: the product cannot overflow 64 bits */
	if (e->phoff > len ||
	    (uint64_t)e->phnum * e->phentsize > len - e->phoff)
		return fail(why, "ELF: program headers run past end of file",
			    -EINVAL);
	return 0;
}

static struct phdr_view read_phdr(const uint8_t *img,
				  const struct ehdr_view *e, unsigned i)
{
	const uint8_t *p = img + e->phoff + (uint64_t)i * e->phentsize;

	if (e->elf_class == ELFCLASS64) {
		Elf64_Phdr h;
		memcpy(&h, p, sizeof(h));
		return (struct phdr_view){ h.p_type, h.p_offset, h.p_paddr,
					   h.p_filesz, h.p_memsz };
	}
	Elf32_Phdr h;
	memcpy(&h, p, sizeof(h));
	return (struct phdr_view){ h.p_type, h.p_offset, h.p_paddr, h.p_filesz,
				   h.p_memsz };
}

/* What the file alone can tell about a PT_LOAD. */
static int check_segment(size_t len, int elf_class, const struct phdr_view *ph,
			 const char **why)
{
	if (ph->filesz > ph->memsz)
		return fail(why, "ELF: PT_LOAD with p_filesz > p_memsz", -EINVAL);
	if (ph->offset > len || ph->filesz > len - ph->offset)
		return fail(why, "ELF: PT_LOAD runs past end of file", -EINVAL);
	if (ph->memsz > UINT64_MAX - ph->paddr)
		return fail(why, "ELF: PT_LOAD address range overflows",
			    -EINVAL);
	if (elf_class == ELFCLASS32 && ph->paddr + ph->memsz > 4 * GiB)
		return fail(why, "ELF: 32-bit PT_LOAD crosses 4 GiB", -EINVAL);
	return 0;
}

int elf_parse(const uint8_t *img, size_t len, struct elf_info *out,
	      elf_segment_fn fn, void *opaque, const char **why)
{
	struct ehdr_view e;
	struct elf_info info = { 0 };
	int err;

	if (why)
		*why = NULL;
	memset(out, 0, sizeof(*out));
	err = read_ehdr(img, len, &e, why);
	if (err < 0)
		return err;
	info.elf_class = e.elf_class;
	info.machine = e.machine;
	info.entry = e.entry;
	info.load_lo = UINT64_MAX;

	/* Every segment is checked before fn sees any. */
	for (unsigned i = 0; i < e.phnum; i++) {
		struct phdr_view ph = read_phdr(img, &e, i);

		if (ph.type != PT_LOAD)
			continue;
		err = check_segment(len, e.elf_class, &ph, why);
		if (err < 0)
			return err;
		if (ph.memsz == 0)
			continue;
		info.nr_segments++;
		info.load_lo = MIN(info.load_lo, ph.paddr);
		info.load_hi = MAX(info.load_hi, ph.paddr + ph.memsz);
	}
	if (info.nr_segments == 0)
		return fail(why, "ELF: no loadable segments", -ENOEXEC);

	for (unsigned i = 0; fn && i < e.phnum; i++) {
		struct phdr_view ph = read_phdr(img, &e, i);
		struct elf_segment s = { ph.offset, ph.paddr, ph.filesz, ph.memsz };

		if (ph.type != PT_LOAD || ph.memsz == 0)
			continue;
		if ((err = fn(opaque, img, &s)) < 0)
			return err;
	}
	*out = info;
	return 0;
}

struct load_ctx {
	const struct guest_mem *m;
	const char *why;
};

static uint64_t ram_top(const struct guest_mem *m)
{
	uint64_t top = 0;

	for (int i = 0; i < m->nr_regions; i++)
		top = MAX(top, m->regions[i].gpa + m->regions[i].size);
	return top;
}

static int check_ram(void *opaque, const uint8_t *img,
		     const struct elf_segment *s)
{
	struct load_ctx *c = opaque;

	(void)img;
	if (gpa_ptr(c->m, s->paddr, s->memsz))
		return 0;
	if (s->paddr + s->memsz > ram_top(c->m)) {
		c->why = "ELF: PT_LOAD beyond the end of guest RAM";
		return -ENOSPC;
	}
	c->why = "ELF: PT_LOAD not in guest RAM (a hole)";
	return -EFAULT;
}

static int copy_segment(void *opaque, const uint8_t *img,
			const struct elf_segment *s)
{
	struct load_ctx *c = opaque;
	uint8_t *dst = gpa_ptr(c->m, s->paddr, s->memsz);

	if (!dst) { /* checked before; guards against a changed layout */
		c->why = "ELF: PT_LOAD not in guest RAM";
		return -EFAULT;
	}
	memcpy(dst, img + s->offset, s->filesz);
	/* .bss: RAM may be reused, so it is not known to be zero */
	memset(dst + s->filesz, 0, s->memsz - s->filesz);
	return 0;
}

int elf_load(const struct guest_mem *m, const uint8_t *img, size_t len,
	     struct elf_info *out, const char **why)
{
	struct load_ctx c = { m, NULL };
	int err;

	/* Check every segment against RAM before writing any. */
	err = elf_parse(img, len, out, check_ram, &c, why);
	if (err == 0)
		err = elf_parse(img, len, out, copy_segment, &c, why);
	if (err < 0 && c.why) {
		if (why)
			*why = c.why;
		memset(out, 0, sizeof(*out));
	}
	return err;
}

struct plan_ctx {
	struct boot_plan *p;
	const char *name;
};

static int add_segment(void *opaque, const uint8_t *img,
		       const struct elf_segment *s)
{
	struct plan_ctx *c = opaque;

	return boot_plan_add(c->p, &(struct boot_segment){
		.name = c->name,
		.gpa = s->paddr,
		.size = s->memsz,
		.data = img + s->offset,
		.len = s->filesz,
		.zero_rest = true, /* .bss */
	});
}

int elf_plan(struct boot_plan *p, const uint8_t *img, size_t len,
	     const char *name, struct elf_info *out, const char **why)
{
	struct plan_ctx c = { p, name };
	int err = elf_parse(img, len, out, add_segment, &c, why);

	if (err == -ENOMEM && why)
		*why = "out of memory";
	return err;
}
