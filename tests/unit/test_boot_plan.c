/*
 * Boot plans built from files, without KVM: synthetic bzImage, vmlinux and
 * Multiboot images written to temporary files cover the placement rules
 * (every segment in RAM, none overlapping what petrel writes, no address
 * arithmetic that wraps); the container, the firmware tables and the entry
 * registers are checked on their own. The real Debian kernel has its own
 * file, test_boot_plan_kernel.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <unistd.h>

#include <asm/bootparam.h>

#include "petrel/boot_plan.h"
#include "petrel/boot_x86.h"
#include "petrel/bzimage.h"
#include "petrel/firmware.h"
#include "petrel/layout.h"
#include "petrel/multiboot.h"
#include "petrel/util.h"

#include "plan_check.h"

#define HDR(field) (BZIMAGE_HDR_OFFSET + offsetof(struct setup_header, field))

/* the header's fields are not aligned: no pointer casts */
#define PUT(img, field, v)                                                    \
	do {                                                                  \
		__typeof__(((struct setup_header *)0)->field) v_ = (v);       \
		memcpy((img) + HDR(field), &v_, sizeof(v_));                  \
	} while (0)

/* A temporary file holding len bytes; the caller unlinks it. */
static void write_tmp(char path[32], const void *data, size_t len)
{
	int fd;

	strcpy(path, "/tmp/petrel-plan-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static int build(struct boot_plan *p, const char *kernel, uint64_t mem,
		 bool guest_decompress)
{
	const struct boot_config cfg = {
		.kernel = kernel, .cmdline = "console=ttyS0", .mem_size = mem,
		.ncpus = 1, .guest_decompress = guest_decompress,
	};
	return boot_plan_build(p, &cfg);
}

/* A 2.15 bzImage without a payload: 3 setup sectors, 64 KiB of code. */
#define SYN_SETUP (4 * 512)
#define SYN_PM (64 * 1024)
#define SYN_LEN (SYN_SETUP + SYN_PM)

static uint8_t *make_bzimage(uint64_t pref_address, uint32_t init_size)
{
	uint8_t *p = calloc(1, SYN_LEN);

	assert_non_null(p);
	PUT(p, setup_sects, 3);
	PUT(p, syssize, SYN_PM / 16);
	PUT(p, boot_flag, 0xaa55);
	p[0x200] = 0xeb; /* the jump: the header ends at 0x202 + 0x6a */
	p[0x201] = 0x6a;
	PUT(p, header, 0x53726448);
	PUT(p, version, 0x020f);
	PUT(p, loadflags, LOADED_HIGH);
	PUT(p, initrd_addr_max, 0x7fffffff);
	PUT(p, kernel_alignment, 0x200000);
	PUT(p, xloadflags, XLF_KERNEL_64);
	PUT(p, cmdline_size, 2047);
	PUT(p, pref_address, pref_address);
	PUT(p, init_size, init_size);
	return p;
}

/* An ELF64 x86-64 "vmlinux" with one PT_LOAD of memsz bytes at paddr. */
static size_t make_vmlinux(uint8_t *buf, size_t cap, uint64_t paddr,
			   uint64_t memsz)
{
	Elf64_Ehdr eh = { .e_type = ET_EXEC, .e_machine = EM_X86_64,
			  .e_version = EV_CURRENT, .e_entry = paddr,
			  .e_phoff = sizeof(eh), .e_ehsize = sizeof(eh),
			  .e_phentsize = sizeof(Elf64_Phdr), .e_phnum = 1 };
	Elf64_Phdr ph = { .p_type = PT_LOAD, .p_offset = 0x1000,
			  .p_vaddr = paddr, .p_paddr = paddr, .p_filesz = 0x100,
			  .p_memsz = memsz, .p_flags = PF_R | PF_X };

	assert_true(cap >= 0x1100);
	memset(buf, 0, cap);
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	memcpy(buf, &eh, sizeof(eh));
	memcpy(buf + sizeof(eh), &ph, sizeof(ph));
	memset(buf + 0x1000, 0x90, 0x100);
	return 0x1100;
}

/* An ELF32 Multiboot kernel: 16 bytes of code at 1 MiB, 0x100 of bss. */
static size_t make_multiboot(uint8_t *buf, size_t cap)
{
	Elf32_Ehdr eh = { .e_type = ET_EXEC, .e_machine = EM_386,
			  .e_version = EV_CURRENT, .e_entry = 0x100000,
			  .e_phoff = sizeof(eh), .e_ehsize = sizeof(eh),
			  .e_phentsize = sizeof(Elf32_Phdr), .e_phnum = 1 };
	Elf32_Phdr ph = { .p_type = PT_LOAD, .p_offset = 0x1000,
			  .p_vaddr = 0x100000, .p_paddr = 0x100000,
			  .p_filesz = 16, .p_memsz = 16 + 0x100 };
	const uint32_t hdr[3] = { MULTIBOOT_HEADER_MAGIC, 3,
				  (uint32_t)-(MULTIBOOT_HEADER_MAGIC + 3) };

	assert_true(cap >= 0x1010);
	memset(buf, 0, cap);
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS32;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	memcpy(buf, &eh, sizeof(eh));
	memcpy(buf + sizeof(eh), &ph, sizeof(ph));
	memcpy(buf + 0x200, hdr, sizeof(hdr));
	memset(buf + 0x1000, 0x90, 16);
	return 0x1010;
}

static void synthetic_bzimage(void **state)
{
	uint8_t *img = make_bzimage(0x1000000, 0x400000);
	struct boot_plan p;
	char path[32];
	(void)state;

	write_tmp(path, img, SYN_LEN);
	assert_int_equal(build(&p, path, 64 * MiB, true), 0);
	assert_plan_sane(&p);
	assert_int_equal(p.kind, BOOT_BZIMAGE_GUEST);
	assert_int_equal(p.entry.mode, BOOT_ENTRY_LINUX64);
	assert_int_equal(p.entry.rip, BZIMAGE_LOAD_ADDR + 0x200);
	assert_int_equal(p.entry.rsi, BOOT_PARAMS_ADDR);
	const struct boot_segment *k = boot_plan_find(&p, "the kernel");
	assert_non_null(k);
	assert_int_equal(k->gpa, BZIMAGE_LOAD_ADDR);
	assert_int_equal(k->len, SYN_PM);
	/* up to pref_address + init_size, reserved but not zeroed */
	assert_int_equal(k->gpa + k->size, 0x1000000 + 0x400000);
	assert_false(k->zero_rest);
	boot_plan_free(&p);
	unlink(path);
	free(img);
}

/*
 * pref_address + init_size used to be computed unchecked: near 2^64 it
 * wrapped to a small end and the kernel passed the RAM check.
 */
static void pref_address_wrap_refused(void **state)
{
	uint8_t *img = make_bzimage(0xfffffffffff00000ULL, 0x200000);
	struct boot_plan p;
	char path[32];
	(void)state;

	write_tmp(path, img, SYN_LEN);
	assert_int_equal(build(&p, path, 64 * MiB, true), -EINVAL);
	boot_plan_free(&p);
	/* just below the wrap: an end beyond RAM, refused as such */
	unlink(path);
	free(img);
	img = make_bzimage(0xffffffffffd00000ULL, 0x200000);
	write_tmp(path, img, SYN_LEN);
	assert_int_equal(build(&p, path, 64 * MiB, true), -ENOSPC);
	boot_plan_free(&p);
	unlink(path);
	free(img);
}

static void bad_inputs_explained(void **state)
{
	uint8_t *img = make_bzimage(0x1000000, 0x400000);
	struct boot_plan p;
	char path[32], initrd[32], longline[3000];
	(void)state;

	write_tmp(path, img, SYN_LEN);
	assert_int_equal(build(&p, "/nonexistent/vmlinuz", 64 * MiB, false), -ENOENT);
	boot_plan_free(&p);
	assert_int_equal(build(&p, "/tmp", 64 * MiB, false), -EISDIR);
	boot_plan_free(&p);
	/* a kernel whose init_size needs more than the RAM */
	assert_int_equal(build(&p, path, 16 * MiB, false), -ENOSPC);
	boot_plan_free(&p);

	memset(longline, 'x', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = 0;
	struct boot_config cfg = { .kernel = path, .cmdline = longline,
				   .mem_size = 64 * MiB, .ncpus = 1 };
	assert_int_equal(boot_plan_build(&p, &cfg), -E2BIG);
	boot_plan_free(&p);

	cfg.cmdline = NULL;
	cfg.initrd = "/nonexistent/initrd";
	assert_int_equal(boot_plan_build(&p, &cfg), -ENOENT);
	boot_plan_free(&p);
	/* an initrd larger than RAM is refused without reading it all */
	write_tmp(initrd, "x", 1);
	assert_int_equal(truncate(initrd, 65 * MiB), 0);
	cfg.initrd = initrd;
	assert_int_equal(boot_plan_build(&p, &cfg), -EFBIG);
	boot_plan_free(&p);
	/* one that fits in RAM but not above the kernel */
	assert_int_equal(truncate(initrd, 60 * MiB), 0);
	assert_int_equal(boot_plan_build(&p, &cfg), -ENOSPC);
	boot_plan_free(&p);
	assert_int_equal(truncate(initrd, 1 * MiB), 0);
	assert_int_equal(boot_plan_build(&p, &cfg), 0);
	assert_plan_sane(&p);
	const struct boot_segment *s = boot_plan_find(&p, "the initrd");
	assert_non_null(s);
	assert_int_equal(s->size, 1 * MiB);
	assert_true(s->gpa >= 0x1400000);
	boot_plan_free(&p);

	/* vCPUs: 254 fit the MP and ACPI tables, 255 do not */
	cfg.initrd = NULL;
	cfg.ncpus = 254;
	assert_int_equal(boot_plan_build(&p, &cfg), 0);
	boot_plan_free(&p);
	cfg.ncpus = 255;
	assert_int_equal(boot_plan_build(&p, &cfg), -ENOSPC);
	boot_plan_free(&p);
	unlink(initrd);
	unlink(path);
	free(img);
}

/*
 * A vmlinux's segments were not checked against what petrel writes below
 * 1 MiB: boot_params (and the rest) silently overwrote the kernel. Each
 * must now be refused, naming both.
 */
static void vmlinux_overlap_refused(void **state)
{
	static const uint64_t taken[] = {
		BOOT_GDT_ADDR, BOOT_PARAMS_ADDR, BOOT_PML4_ADDR, BOOT_PD_ADDR + 0x3000,
		BOOT_CMDLINE_ADDR, ACPI_TABLES_ADDR, MPTABLE_ADDR,
		ACPI_TABLES_ADDR - 0x80, /* its bss runs into the ACPI tables */
	};
	uint8_t buf[0x1100];
	struct boot_plan p;
	char path[32];
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(taken); i++) {
		make_vmlinux(buf, sizeof(buf), taken[i], 0x100);
		write_tmp(path, buf, sizeof(buf));
		assert_int_equal(build(&p, path, 64 * MiB, false), -EADDRINUSE);
		boot_plan_free(&p);
		unlink(path);
	}
	/* where a vmlinux belongs: accepted, .bss zeroed */
	make_vmlinux(buf, sizeof(buf), 0x1000000, 0x2000);
	write_tmp(path, buf, sizeof(buf));
	assert_int_equal(build(&p, path, 64 * MiB, false), 0);
	assert_plan_sane(&p);
	assert_int_equal(p.kind, BOOT_VMLINUX);
	assert_int_equal(p.entry.rip, 0x1000000);
	const struct boot_segment *k = boot_plan_find(&p, "the kernel");
	assert_int_equal(k->size, 0x2000);
	assert_int_equal(k->len, 0x100);
	assert_true(k->zero_rest);
	boot_plan_free(&p);
	/* beyond RAM: said so, with the fix */
	assert_int_equal(build(&p, path, 16 * MiB, false), -ENOSPC);
	boot_plan_free(&p);
	unlink(path);
	/* an entry point outside the loaded segment: a corrupt kernel */
	static const uint64_t bad_entry[] = { 0, 0x1000000 - 1, 0x1000000 + 0x2000,
					      UINT64_MAX };
	for (size_t i = 0; i < ARRAY_SIZE(bad_entry); i++) {
		make_vmlinux(buf, sizeof(buf), 0x1000000, 0x2000);
		memcpy(buf + offsetof(Elf64_Ehdr, e_entry), &bad_entry[i], 8);
		write_tmp(path, buf, sizeof(buf));
		assert_int_equal(build(&p, path, 64 * MiB, false), -ENOEXEC);
		boot_plan_free(&p);
		unlink(path);
	}
}

static void multiboot_from_file(void **state)
{
	uint8_t buf[0x1010];
	struct boot_plan p;
	char path[32], want[64];
	(void)state;

	make_multiboot(buf, sizeof(buf));
	write_tmp(path, buf, sizeof(buf));
	assert_int_equal(build(&p, path, 16 * MiB, false), 0);
	assert_plan_sane(&p);
	assert_int_equal(p.kind, BOOT_MULTIBOOT);
	assert_int_equal(p.entry.mode, BOOT_ENTRY_MULTIBOOT32);
	assert_int_equal(p.entry.rip, 0x100000);
	assert_int_equal(p.entry.eax, MULTIBOOT_BOOTLOADER_MAGIC);
	assert_int_equal(p.entry.ebx, MULTIBOOT_INFO_ADDR);
	assert_non_null(boot_plan_find(&p, "the boot GDT"));
	assert_null(boot_plan_find(&p, "the boot page tables")); /* paging off */
	assert_null(boot_plan_find(&p, "boot_params"));
	assert_non_null(boot_plan_find(&p, "the ACPI tables"));
	snprintf(want, sizeof(want), "%s console=ttyS0", path);
	const struct boot_segment *c = boot_plan_find(&p, "the command line");
	assert_non_null(c);
	assert_string_equal((const char *)c->data, want);
	boot_plan_free(&p);
	unlink(path);
}

static void check_ram_and_overlap(void **state)
{
	struct boot_plan p;
	static const uint8_t b[16];
	(void)state;

	assert_int_equal(boot_plan_init(&p, 6 * GiB), 0);
	assert_int_equal(p.mem.nr_regions, 2);
	assert_int_equal(boot_plan_add(&p, &(struct boot_segment){
		"a", 0x1000, 0x1000, b, sizeof(b), true }), 0);
	assert_int_equal(boot_plan_add(&p, &(struct boot_segment){
		"b", 0x2000, 0x1000, NULL, 0, false }), 0); /* adjacent: fine */
	assert_int_equal(boot_plan_check(&p, "t"), 0);
	/* size 0 and len > size are not segments */
	assert_int_equal(boot_plan_add(&p, &(struct boot_segment){ "z", 0, 0, NULL, 0, false }), -EINVAL);
	assert_int_equal(boot_plan_add(&p, &(struct boot_segment){
		"l", 0, 8, b, 16, false }), -EINVAL);
	/* the last byte of a, the first of b */
	assert_int_equal(boot_plan_add(&p, &(struct boot_segment){
		"c", 0x1fff, 2, NULL, 0, false }), 0);
	assert_int_equal(boot_plan_check(&p, "t"), -EADDRINUSE);
	p.nr_segs--;
	/* across the PCI hole, and high RAM */
	assert_int_equal(boot_plan_add(&p, &(struct boot_segment){
		"hole", 3 * GiB - 4096, 8192, NULL, 0, false }), 0);
	assert_int_equal(boot_plan_check(&p, "t"), -EFAULT);
	p.nr_segs--;
	assert_int_equal(boot_plan_add(&p, &(struct boot_segment){
		"high", 4 * GiB, 8192, NULL, 0, false }), 0);
	assert_int_equal(boot_plan_check(&p, "t"), 0);
	/* past the end, and a range that wraps past 2^64 */
	assert_int_equal(boot_plan_add(&p, &(struct boot_segment){
		"end", 7 * GiB - 4096, 8192, NULL, 0, false }), 0);
	assert_int_equal(boot_plan_check(&p, "t"), -ENOSPC);
	p.nr_segs--;
	assert_int_equal(boot_plan_add(&p, &(struct boot_segment){
		"wrap", UINT64_MAX - 0xfff, 0x2000, NULL, 0, false }), 0);
	assert_int_equal(boot_plan_check(&p, "t"), -ENOSPC);
	boot_plan_free(&p);
}

static void write_copies_and_zeroes(void **state)
{
	struct boot_plan p;
	struct guest_mem m;
	uint8_t *g;
	static const uint8_t data[4] = { 1, 2, 3, 4 };
	(void)state;

	assert_int_equal(boot_plan_init(&p, 16 * MiB), 0);
	assert_int_equal(guest_mem_init(&m, 16 * MiB), 0);
	g = gpa_ptr(&m, 0x100000, 0x2000);
	memset(g, 0xaa, 0x2000);
	assert_int_equal(boot_plan_add(&p, &(struct boot_segment){
		"bss", 0x100000, 0x1000, data, 4, true }), 0);
	assert_int_equal(boot_plan_add(&p, &(struct boot_segment){
		"reserved", 0x101000, 0x1000, data, 4, false }), 0);
	assert_int_equal(boot_plan_write(&p, &m), 0);
	assert_memory_equal(g, data, 4);
	assert_int_equal(g[4], 0);
	assert_int_equal(g[0xfff], 0);
	assert_memory_equal(g + 0x1000, data, 4);
	assert_int_equal(g[0x1004], 0xaa); /* left as it was */
	/* a plan for more RAM than m: nothing is written */
	memset(g, 0xaa, 0x2000);
	assert_int_equal(boot_plan_add(&p, &(struct boot_segment){
		"far", 32 * MiB, 0x1000, NULL, 0, false }), 0);
	assert_int_equal(boot_plan_write(&p, &m), -EFAULT);
	assert_int_equal(g[0], 0xaa);
	guest_mem_destroy(&m);
	boot_plan_free(&p);
}

static void firmware_tables(void **state)
{
	struct boot_plan p;
	(void)state;

	assert_int_equal(boot_plan_init(&p, 16 * MiB), 0);
	assert_int_equal(firmware_plan(&p, 4, false, 0), 0);
	assert_non_null(boot_plan_find(&p, "the MP table"));
	const struct boot_segment *a = boot_plan_find(&p, "the ACPI tables");
	assert_non_null(a);
	/* the RSDP is inside the segment, where Linux scans for it */
	assert_true(p.acpi_rsdp >= a->gpa && p.acpi_rsdp + 36 <= a->gpa + a->len);
	assert_memory_equal(a->data + (p.acpi_rsdp - a->gpa), "RSD PTR ", 8);
	boot_plan_free(&p);

	assert_int_equal(boot_plan_init(&p, 16 * MiB), 0);
	assert_int_equal(firmware_plan(&p, 4, true, 0), 0);
	assert_null(boot_plan_find(&p, "the ACPI tables"));
	assert_int_equal(p.acpi_rsdp, 0);
	assert_int_equal(firmware_plan(&p, 255, true, 0), -ENOSPC);
	boot_plan_free(&p);
}

/* The command line segment's text. */
static const char *cmdline_of(const struct boot_plan *p)
{
	const struct boot_segment *c = boot_plan_find(p, "the command line");

	assert_non_null(c);
	assert_int_equal(c->gpa, BOOT_CMDLINE_ADDR);
	assert_int_equal(c->data[c->len - 1], 0);
	return (const char *)c->data;
}

/*
 * virtio-mmio slots: in the DSDT with ACPI, on the command line (in front
 * of the user's text) without; never both, or a kernel that reads both
 * would drive each device twice.
 */
static void virtio_mmio_description(void **state)
{
	uint8_t *img = make_bzimage(0x1000000, 0x400000);
	struct boot_plan p;
	char path[32];
	struct boot_config cfg = { .cmdline = "console=ttyS0 -- init-arg",
				   .mem_size = 64 * MiB, .ncpus = 1,
				   .nr_virtio_mmio = 2 };
	(void)state;

	write_tmp(path, img, SYN_LEN);
	cfg.kernel = path;
	assert_int_equal(boot_plan_build(&p, &cfg), 0);
	assert_string_equal(cmdline_of(&p), "console=ttyS0 -- init-arg");
	const struct boot_segment *a = boot_plan_find(&p, "the ACPI tables");
	assert_non_null(a);
	assert_non_null(memmem(a->data, a->len, "VRT1", 4));
	assert_null(memmem(a->data, a->len, "VRT2", 4));
	boot_plan_free(&p);

	cfg.no_acpi = true;
	assert_int_equal(boot_plan_build(&p, &cfg), 0);
	assert_string_equal(cmdline_of(&p),
			    "virtio_mmio.device=0x200@0xd0000000:16 "
			    "virtio_mmio.device=0x200@0xd0001000:17 "
			    "console=ttyS0 -- init-arg");
	/* boot_params carries the length of the whole line */
	const struct boot_segment *bp = boot_plan_find(&p, "boot_params");
	uint32_t ptr;
	memcpy(&ptr, bp->data + 0x228, 4); /* hdr.cmd_line_ptr */
	assert_int_equal(ptr, BOOT_CMDLINE_ADDR);
	boot_plan_free(&p);

	cfg.nr_virtio_mmio = 0;
	cfg.cmdline = NULL;
	assert_int_equal(boot_plan_build(&p, &cfg), 0);
	assert_string_equal(cmdline_of(&p), "");
	boot_plan_free(&p);

	cfg.nr_virtio_mmio = VIRTIO_MMIO_SLOTS + 1;
	assert_int_equal(boot_plan_build(&p, &cfg), -ENOSPC);
	boot_plan_free(&p);
	unlink(path);
	free(img);
}

static void entry_registers(void **state)
{
	struct boot_entry e = { .mode = BOOT_ENTRY_LINUX64, .rip = 0x1000000,
				.rsp = BOOT_STACK_TOP, .rsi = BOOT_PARAMS_ADDR };
	struct kvm_sregs s = { .cr0 = 0x60000010 }; /* as after reset */
	struct kvm_regs r;
	(void)state;

	boot_x86_regs(&e, &s, &r);
	assert_int_equal(r.rip, 0x1000000);
	assert_int_equal(r.rsi, BOOT_PARAMS_ADDR);
	assert_int_equal(r.rsp, BOOT_STACK_TOP);
	assert_int_equal(r.rflags, 2);
	assert_true(s.cr0 & (1u << 31) && s.cr0 & 1); /* PG, PE */
	assert_true(s.cr4 & (1u << 5));               /* PAE */
	assert_int_equal(s.efer & 0x500, 0x500);      /* LME, LMA */
	assert_int_equal(s.cr3, BOOT_PML4_ADDR);
	assert_int_equal(s.cs.selector, BOOT_SEL_CODE64);
	assert_int_equal(s.cs.l, 1);
	assert_int_equal(s.ds.selector, BOOT_SEL_DATA);
	assert_int_equal(s.gdt.base, BOOT_GDT_ADDR);

	e = (struct boot_entry){ .mode = BOOT_ENTRY_MULTIBOOT32, .rip = 0x100000,
				 .eax = MULTIBOOT_BOOTLOADER_MAGIC, .ebx = 0x7000 };
	boot_x86_regs(&e, &s, &r);
	assert_int_equal(r.rax, MULTIBOOT_BOOTLOADER_MAGIC);
	assert_int_equal(r.rbx, 0x7000);
	assert_int_equal(r.rip, 0x100000);
	assert_int_equal(s.cr0 & (1u << 31), 0);
	assert_true(s.cr0 & 1);
	assert_int_equal(s.efer, 0);
	assert_int_equal(s.cs.selector, BOOT_SEL_CODE32);
	assert_int_equal(s.cs.db, 1);
	assert_int_equal(s.cs.l, 0);
}

/* A segment in a plan-owned mapping: its whole pages move, the rest copies. */
static void write_moves_mapped_pages(void **state)
{
	const size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	struct boot_plan p;
	struct guest_mem m;
	unsigned char vec;
	uint8_t *src, *g;
	(void)state;

	assert_int_equal(boot_plan_init(&p, 16 * MiB), 0);
	assert_int_equal(guest_mem_init(&m, 16 * MiB), 0);
	src = mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(src != MAP_FAILED);
	for (size_t i = 0; i < 3 * pg; i++)
		src[i] = (uint8_t)(i * 7 + 1);
	assert_int_equal(boot_plan_own_map(&p, src, 3 * pg), 0);
	/* two whole pages and 100 bytes, then zeroes to the end of 3 pages */
	assert_int_equal(boot_plan_add(&p, &(struct boot_segment){
		"moved", 0x200000, 3 * pg, src, 2 * pg + 100, true }), 0);
	/* not on a page boundary: copied */
	assert_int_equal(boot_plan_add(&p, &(struct boot_segment){
		"copied", 0x300000, pg, src + 2 * pg + 200, 50, false }), 0);
	g = gpa_ptr(&m, 0x200000, 3 * pg);
	assert_int_equal(boot_plan_write(&p, &m), 0);
	for (size_t i = 0; i < 2 * pg + 100; i++)
		if (g[i] != (uint8_t)(i * 7 + 1))
			fail_msg("byte %zu: %#x", i, g[i]);
	for (size_t i = 2 * pg + 100; i < 3 * pg; i++)
		if (g[i])
			fail_msg("byte %zu not zeroed", i);
	for (size_t i = 0; i < 50; i++)
		assert_int_equal(((uint8_t *)gpa_ptr(&m, 0x300000, 50))[i],
				 (uint8_t)((2 * pg + 200 + i) * 7 + 1));
	/*
	 * The first two pages left the plan's mapping, which stays mapped
	 * (empty), so no later mmap can land in it before boot_plan_free
	 * unmaps it; the third page stayed.
	 */
	assert_int_equal(mincore(src, pg, &vec), 0);
	assert_int_equal(vec & 1, 0);
	assert_int_equal(src[0], 0); /* readable, and empty */
	assert_int_equal(mincore(src + 2 * pg, pg, &vec), 0);
	assert_int_equal(vec & 1, 1);
	/* guest RAM is still written through the same addresses */
	g[0] = 0x5a;
	assert_int_equal(*(uint8_t *)gpa_ptr(&m, 0x200000, 1), 0x5a);
	assert_int_equal(boot_plan_write(&p, &m), -EALREADY);
	boot_plan_free(&p); /* unmaps what is left of src, not guest RAM */
	assert_int_equal(*(uint8_t *)gpa_ptr(&m, 0x200000, 1), 0x5a);

	/* two segments reading the same source page (an odd ELF): copied */
	assert_int_equal(boot_plan_init(&p, 16 * MiB), 0);
	src = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(src != MAP_FAILED);
	memset(src, 0x77, 2 * pg);
	assert_int_equal(boot_plan_own_map(&p, src, 2 * pg), 0);
	assert_int_equal(boot_plan_add(&p, &(struct boot_segment){
		"first", 0x400000, 2 * pg, src, 2 * pg, false }), 0);
	assert_int_equal(boot_plan_add(&p, &(struct boot_segment){
		"second", 0x500000, pg, src + pg, pg, false }), 0);
	assert_int_equal(boot_plan_write(&p, &m), 0);
	assert_int_equal(*(uint8_t *)gpa_ptr(&m, 0x400000 + 2 * pg - 1, 1), 0x77);
	assert_int_equal(*(uint8_t *)gpa_ptr(&m, 0x500000 + pg - 1, 1), 0x77);
	unsigned char vec2[2];
	assert_int_equal(mincore(src, 2 * pg, vec2), 0); /* nothing moved */
	boot_plan_free(&p);
	guest_mem_destroy(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(synthetic_bzimage),
		cmocka_unit_test(pref_address_wrap_refused),
		cmocka_unit_test(bad_inputs_explained),
		cmocka_unit_test(vmlinux_overlap_refused),
		cmocka_unit_test(multiboot_from_file),
		cmocka_unit_test(check_ram_and_overlap),
		cmocka_unit_test(write_copies_and_zeroes),
		cmocka_unit_test(write_moves_mapped_pages),
		cmocka_unit_test(firmware_tables),
		cmocka_unit_test(virtio_mmio_description),
		cmocka_unit_test(entry_registers),
	};
	return cmocka_run_group_tests_name("boot_plan", tests, NULL, NULL);
}
