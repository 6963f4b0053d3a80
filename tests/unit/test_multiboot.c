/*
 * Multiboot v1: header search, the plan (ELF and a.out kludge), the info
 * structure and the command line, written into a real guest_mem from the
 * plan and read back as a guest would.
 */
#include <elf.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "petrel/boot_plan.h"
#include "petrel/layout.h"
#include "petrel/memory.h"
#include "petrel/multiboot.h"
#include "petrel/util.h"

#define LOAD 0x100000u
#define CODE_OFF 0x1000u

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

static void mb_header(uint8_t *p, uint32_t flags)
{
	put32(p, MULTIBOOT_HEADER_MAGIC);
	put32(p + 4, flags);
	put32(p + 8, (uint32_t)-(MULTIBOOT_HEADER_MAGIC + flags));
}

/* An ELF32 with one PT_LOAD at LOAD: 16 code bytes + 0x100 bss. */
static size_t make_elf(uint8_t *buf, size_t cap, uint32_t paddr, uint32_t entry)
{
	Elf32_Ehdr *eh = (Elf32_Ehdr *)buf;
	Elf32_Phdr *ph = (Elf32_Phdr *)(buf + sizeof(*eh));

	memset(buf, 0, cap);
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS32;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_386;
	eh->e_version = EV_CURRENT;
	eh->e_entry = entry;
	eh->e_phoff = sizeof(*eh);
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = 1;
	ph->p_type = PT_LOAD;
	ph->p_offset = CODE_OFF;
	ph->p_vaddr = ph->p_paddr = paddr;
	ph->p_filesz = 16;
	ph->p_memsz = 16 + 0x100;
	ph->p_flags = PF_R | PF_X;
	memset(buf + CODE_OFF, 0x90, 16);
	/* the header must sit in the first 8 KiB, 4-byte aligned */
	mb_header(buf + 0x200, 0x3);
	return CODE_OFF + 16;
}

/* Plans img for mem bytes of RAM; on success writes it into *m. */
static int plan_into(struct guest_mem *m, uint64_t mem, const uint8_t *img,
		     size_t len, const struct multiboot_load *ml,
		     struct boot_entry *entry, const char **why)
{
	struct boot_plan p;
	int err;

	assert_int_equal(boot_plan_init(&p, mem), 0);
	err = multiboot_plan(&p, img, len, ml, why);
	if (err == 0) {
		assert_int_equal(boot_plan_check(&p, "test"), 0);
		assert_int_equal(p.kind, BOOT_MULTIBOOT);
		assert_int_equal(boot_plan_write(&p, m), 0);
		*entry = p.entry;
	}
	boot_plan_free(&p);
	return err;
}

static void finds_header(void **state)
{
	uint8_t buf[0x2000];
	struct multiboot_header_info h;
	const char *why = "";
	(void)state;

	make_elf(buf, sizeof(buf), LOAD, LOAD);
	assert_int_equal(multiboot_find(buf, sizeof(buf), &h, &why), 0);
	assert_int_equal(h.offset, 0x200);
	assert_int_equal(h.flags, 3);
	assert_false(h.aout_kludge);
	/* a wrong checksum is a stray number, not a header */
	put32(buf + 0x208, 0);
	assert_int_equal(multiboot_find(buf, sizeof(buf), &h, &why), -ENOENT);
	assert_string_equal(why, "no Multiboot header");
	/* unknown required flags (bits 3-15) must be refused */
	mb_header(buf + 0x200, 1u << 5);
	assert_int_equal(multiboot_find(buf, sizeof(buf), &h, &why), -ENOTSUP);
	/* past 8 KiB it does not count */
	uint8_t big[0x3000] = { 0 };
	mb_header(big + 0x2000, 0);
	assert_int_equal(multiboot_find(big, sizeof(big), &h, &why), -ENOENT);
	/* a header cut by the end of the file */
	assert_int_equal(multiboot_find(buf, 0x204, &h, &why), -ENOENT);
}

static void loads_elf_and_writes_info(void **state)
{
	uint8_t buf[0x2000];
	struct guest_mem m;
	struct multiboot_load ml = { .kernel_path = "/boot/kernel.elf",
				     .cmdline = "hello multiboot" };
	struct boot_entry e;
	const uint8_t mod[] = "initrd-bytes";
	const char *why = "";
	uint32_t info[22];
	(void)state;

	ml.module = mod;
	ml.module_len = sizeof(mod);
	assert_int_equal(guest_mem_init(&m, 32 * MiB), 0);
	size_t len = make_elf(buf, sizeof(buf), LOAD, LOAD + 4);
	memset(gpa_ptr(&m, LOAD + 16, 0x100), 0xaa, 0x100); /* bss must be zeroed */
	assert_int_equal(plan_into(&m, 32 * MiB, buf, len, &ml, &e, &why), 0);
	assert_int_equal(e.mode, BOOT_ENTRY_MULTIBOOT32);
	assert_int_equal(e.rip, LOAD + 4);
	assert_int_equal(e.eax, MULTIBOOT_BOOTLOADER_MAGIC);
	assert_int_equal(e.ebx, MULTIBOOT_INFO_ADDR);
	assert_int_equal(*(uint8_t *)gpa_ptr(&m, LOAD, 1), 0x90);
	assert_int_equal(*(uint8_t *)gpa_ptr(&m, LOAD + 16 + 0xff, 1), 0);

	assert_int_equal(gpa_read(&m, MULTIBOOT_INFO_ADDR, info, sizeof(info)), 0);
	/* memory, cmdline, mods, mmap, loader name */
	assert_int_equal(info[0], (1u << 0) | (1u << 2) | (1u << 3) | (1u << 6) | (1u << 9));
	assert_int_equal(info[1], 639);                      /* mem_lower KiB */
	assert_int_equal(info[2], (32 * MiB - MiB) / 1024);  /* mem_upper KiB */
	/* the kernel's path first, as GRUB and QEMU pass it */
	assert_string_equal((char *)gpa_ptr(&m, info[4], 33),
			    "/boot/kernel.elf hello multiboot");
	assert_int_equal(info[5], 1);                        /* mods_count */
	uint32_t modent[4];
	assert_int_equal(gpa_read(&m, info[6], modent, sizeof(modent)), 0);
	assert_int_equal(modent[1] - modent[0], sizeof(mod));
	assert_memory_equal(gpa_ptr(&m, modent[0], sizeof(mod)), mod, sizeof(mod));
	assert_true(modent[0] >= LOAD + 16 + 0x100);         /* not on the kernel */
	assert_int_equal(modent[0] % 4096, 0);
	/* the memory map: 24-byte entries, the first is RAM from 0 */
	assert_int_equal(info[11] % 24, 0);
	assert_true(info[11] >= 3 * 24);
	uint8_t *mmap = gpa_ptr(&m, info[12], info[11]);
	assert_int_equal(le32_get(mmap), 20);
	assert_int_equal(le64_get(mmap + 4), 0);
	assert_int_equal(le32_get(mmap + 20), 1);
	assert_string_equal((char *)gpa_ptr(&m, info[16], 7), "petrel");
	guest_mem_destroy(&m);
}

static void refuses_bad_kernels(void **state)
{
	uint8_t buf[0x2000];
	struct guest_mem m;
	struct multiboot_load ml = { .kernel_path = "k" };
	struct boot_entry e;
	const char *why = "";
	(void)state;

	assert_int_equal(guest_mem_init(&m, 16 * MiB), 0);
	size_t len = make_elf(buf, sizeof(buf), 0x8000, 0x8000);
	assert_int_equal(plan_into(&m, 16 * MiB, buf, len, &ml, &e, &why), -ENOEXEC);
	assert_non_null(strstr(why, "below 1 MiB"));
	len = make_elf(buf, sizeof(buf), LOAD, LOAD + 0x1000);
	assert_int_equal(plan_into(&m, 16 * MiB, buf, len, &ml, &e, &why), -ENOEXEC);
	assert_non_null(strstr(why, "entry point"));
	len = make_elf(buf, sizeof(buf), 64 * MiB, 64 * MiB);
	assert_int_equal(plan_into(&m, 16 * MiB, buf, len, &ml, &e, &why), -ENOSPC);
	assert_non_null(strstr(why, "more --mem"));
	guest_mem_destroy(&m);
}

static void aout_kludge(void **state)
{
	uint8_t buf[0x400] = { 0 };
	struct guest_mem m;
	struct multiboot_load ml = { .kernel_path = "k" };
	struct boot_entry e;
	const char *why = "";
	(void)state;

	/* flat binary: header at offset 0x40, loaded so that file offset 0 = 2 MiB */
	uint8_t *h = buf + 0x40;
	mb_header(h, 1u << 16);
	put32(h + 12, 0x200040);      /* header_addr */
	put32(h + 16, 0x200000);      /* load_addr */
	put32(h + 20, 0x200400);      /* load_end_addr */
	put32(h + 24, 0x201000);      /* bss_end_addr */
	put32(h + 28, 0x200100);      /* entry_addr */
	buf[0x100] = 0xf4;
	assert_int_equal(guest_mem_init(&m, 16 * MiB), 0);
	assert_int_equal(plan_into(&m, 16 * MiB, buf, sizeof(buf), &ml, &e, &why), 0);
	assert_int_equal(e.rip, 0x200100);
	assert_int_equal(*(uint8_t *)gpa_ptr(&m, 0x200100, 1), 0xf4);
	/* load_end past the file */
	put32(h + 20, 0x200800);
	assert_int_equal(plan_into(&m, 16 * MiB, buf, sizeof(buf), &ml, &e, &why), -ENOEXEC);
	/* header_addr before load_addr */
	put32(h + 20, 0x200400);
	put32(h + 12, 0x1fff00);
	assert_int_equal(plan_into(&m, 16 * MiB, buf, sizeof(buf), &ml, &e, &why), -ENOEXEC);
	guest_mem_destroy(&m);
}

/*
 * GRUB and QEMU pass "<kernel path> <arguments>": test kernels that parse
 * argv[0] misread their arguments without it.
 */
static void cmdline_starts_with_kernel_path(void **state)
{
	uint8_t buf[0x2000];
	struct guest_mem m;
	struct multiboot_load ml = { .kernel_path = "build/guest.elf",
				     .cmdline = "kit.exit=33" };
	struct boot_entry e;
	const char *why = "";
	uint32_t info[5];
	char *s;
	(void)state;

	s = multiboot_cmdline("/k", "a b");
	assert_string_equal(s, "/k a b");
	free(s);
	/* an empty line is the path alone, as GRUB gives it (QEMU adds a space) */
	s = multiboot_cmdline("/k", "");
	assert_string_equal(s, "/k");
	free(s);
	s = multiboot_cmdline("/k", NULL);
	assert_string_equal(s, "/k");
	free(s);

	assert_int_equal(guest_mem_init(&m, 16 * MiB), 0);
	size_t len = make_elf(buf, sizeof(buf), LOAD, LOAD);
	assert_int_equal(plan_into(&m, 16 * MiB, buf, len, &ml, &e, &why), 0);
	assert_int_equal(gpa_read(&m, MULTIBOOT_INFO_ADDR, info, sizeof(info)), 0);
	assert_true(info[0] & (1u << 2));
	assert_string_equal((char *)gpa_ptr(&m, info[4], 28),
			    "build/guest.elf kit.exit=33");
	/* too long with the path counted: refused, not cut */
	char *longline = malloc(BOOT_CMDLINE_MAX);
	memset(longline, 'x', BOOT_CMDLINE_MAX - 2);
	longline[BOOT_CMDLINE_MAX - 2] = 0;
	ml.cmdline = longline;
	assert_int_equal(plan_into(&m, 16 * MiB, buf, len, &ml, &e, &why), -E2BIG);
	free(longline);
	guest_mem_destroy(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(finds_header),
		cmocka_unit_test(loads_elf_and_writes_info),
		cmocka_unit_test(cmdline_starts_with_kernel_path),
		cmocka_unit_test(refuses_bad_kernels),
		cmocka_unit_test(aout_kludge),
	};
	return cmocka_run_group_tests_name("multiboot", tests, NULL, NULL);
}
