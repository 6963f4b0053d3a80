/*
 * ACPI tables parsed back from guest memory the way a kernel does: RSDP
 * (found by scanning), XSDT, FADT, FACS, DSDT, MADT. Fields are read at the
 * spec's byte offsets, not through acpi.c's structures.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "petrel/acpi.h"
#include "petrel/layout.h"
#include "petrel/util.h"

/* The DSDT without virtio-mmio devices: _S5, PCI0 with its _CRS and _PRT */
#define DSDT_BASE_LEN 1761

static uint8_t sum8(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	while (n--)
		s += *p++;
	return s;
}

/* A table at gpa with signature sig: header sane, checksum 0. */
static const uint8_t *table(struct guest_mem *m, uint64_t gpa, const char *sig)
{
	const uint8_t *h = gpa_ptr(m, gpa, 36);

	assert_non_null(h);
	assert_memory_equal(h, sig, 4);
	uint32_t len = le32_get(h + 4);
	assert_true(len >= 36);
	assert_non_null(gpa_ptr(m, gpa, len));
	assert_true(gpa + len <= ACPI_TABLES_ADDR + ACPI_TABLES_SIZE);
	assert_int_equal(sum8(h, len), 0);
	assert_memory_equal(h + 10, "PETREL", 6);
	return h;
}

/* Like acpi_find_root_pointer: 16-byte steps over 0xE0000-0xFFFFF. */
static uint64_t scan_rsdp(struct guest_mem *m)
{
	uint64_t found = 0;
	unsigned hits = 0;

	for (uint64_t a = 0xe0000; a < 0x100000; a += 16) {
		const uint8_t *p = gpa_ptr(m, a, 36);
		if (memcmp(p, "RSD PTR ", 8) == 0 && sum8(p, 20) == 0) {
			found = a;
			hits++;
		}
	}
	assert_int_equal(hits, 1);
	return found;
}

static void check(unsigned ncpus)
{
	struct guest_mem m;
	struct acpi_cfg cfg = { .ncpus = ncpus };
	gpa_t rsdp_gpa = 0;

	assert_int_equal(guest_mem_init(&m, 64 * MiB), 0);
	/* A stale RSDP (valid checksum) in the area must be gone afterwards. */
	uint8_t *stale = gpa_ptr(&m, 0xefff0, 20);
	memcpy(stale, "RSD PTR ", 8);
	stale[8] = (uint8_t)(0 - sum8(stale, 8));
	assert_int_equal(sum8(stale, 20), 0);
	assert_int_equal(acpi_write(&m, ACPI_TABLES_ADDR, ACPI_TABLES_SIZE,
				    &cfg, &rsdp_gpa), 0);
	assert_int_equal(rsdp_gpa, ACPI_TABLES_ADDR);
	assert_int_equal(scan_rsdp(&m), rsdp_gpa);

	/* RSDP */
	const uint8_t *r = gpa_ptr(&m, rsdp_gpa, 36);
	assert_int_equal(sum8(r, 20), 0);
	assert_int_equal(sum8(r, 36), 0);
	assert_memory_equal(r + 9, "PETREL", 6);
	assert_int_equal(r[15], 2);                /* revision */
	assert_int_equal(le32_get(r + 16), 0);     /* no RSDT */
	assert_int_equal(le32_get(r + 20), 36);    /* length */

	/* XSDT: FADT and MADT */
	const uint8_t *x = table(&m, le64_get(r + 24), "XSDT");
	assert_int_equal(le32_get(x + 4), 36 + 2 * 8);
	const uint8_t *fadt = table(&m, le64_get(x + 36), "FACP");
	const uint8_t *madt = table(&m, le64_get(x + 44), "APIC");

	/* FADT */
	assert_int_equal(le32_get(fadt + 4), 276);
	assert_int_equal(fadt[8], 6);
	assert_int_equal(le16_get(fadt + 46), GSI_SCI);  /* SCI_INT */
	assert_int_equal(le32_get(fadt + 48), 0);        /* SMI_CMD */
	assert_int_equal(le32_get(fadt + 56), PORT_ACPI_PM);
	assert_int_equal(le32_get(fadt + 64), PORT_ACPI_PM + 4);
	assert_int_equal(le32_get(fadt + 76), PORT_ACPI_PM_TMR); /* PM_TMR_BLK */
	assert_int_equal(PORT_ACPI_PM_TMR, 0x608); /* past the PM1 blocks */
	assert_int_equal(le32_get(fadt + 80), 0);        /* GPE0_BLK */
	assert_int_equal(fadt[88], 4);                   /* PM1_EVT_LEN */
	assert_int_equal(fadt[89], 2);                   /* PM1_CNT_LEN */
	assert_int_equal(fadt[91], 4);                   /* PM_TMR_LEN */
	assert_int_equal(le16_get(fadt + 109), 0x7);     /* legacy, 8042, no VGA */
	/* WBINVD, PROC_C1, a fixed power button (bit 4 clear), no sleep
	 * button, TMR_VAL_EXT (32-bit timer), RESET_REG */
	assert_int_equal(le32_get(fadt + 112),
			 (1 << 0) | (1 << 2) | (1 << 5) | (1 << 8) | (1 << 10));
	/* RESET_REG: system I/O, 8 bits, port 0xCF9, value 6 */
	assert_int_equal(fadt[116], 1);
	assert_int_equal(fadt[117], 8);
	assert_int_equal(le64_get(fadt + 120), 0xcf9);
	assert_int_equal(fadt[128], 0x06);
	/* X_PM1a_EVT_BLK and X_PM1a_CNT_BLK */
	assert_int_equal(fadt[148], 1);
	assert_int_equal(fadt[149], 32);
	assert_int_equal(le64_get(fadt + 152), PORT_ACPI_PM);
	assert_int_equal(fadt[172], 1);
	assert_int_equal(fadt[173], 16);
	assert_int_equal(le64_get(fadt + 176), PORT_ACPI_PM + 4);
	/* X_PM_TMR_BLK: system I/O, 32 bits at offset 0, dword access */
	assert_int_equal(fadt[208], 1);
	assert_int_equal(fadt[209], 32);
	assert_int_equal(fadt[210], 0);
	assert_int_equal(fadt[211], 3);
	assert_int_equal(le64_get(fadt + 212), PORT_ACPI_PM_TMR);

	/* FACS (no checksum, 64-byte aligned) */
	uint32_t facs_gpa = le32_get(fadt + 36);
	assert_int_equal(facs_gpa % 64, 0);
	const uint8_t *facs = gpa_ptr(&m, facs_gpa, 64);
	assert_memory_equal(facs, "FACS", 4);
	assert_int_equal(le32_get(facs + 4), 64);

	/* DSDT via both pointers */
	assert_int_equal(le32_get(fadt + 40), le64_get(fadt + 140));
	const uint8_t *dsdt = table(&m, le64_get(fadt + 140), "DSDT");
	static const uint8_t s5[] = { 0x08, 0x5F, 0x53, 0x35, 0x5F, 0x12, 0x07,
				      0x04, 0x0A, 0x05, 0x00, 0x00, 0x00 };
	/*
	 * 1761 bytes: _S5 and the PNP0A03 host bridge (202), its _PRT (1559);
	 * `iasl -d` agrees
	 */
	assert_int_equal(le32_get(dsdt + 4), DSDT_BASE_LEN);
	assert_memory_equal(dsdt + 36, s5, sizeof(s5));
	static const uint8_t hid[] = { 0x08, '_', 'H', 'I', 'D', 0x0c,
				       0x41, 0xd0, 0x0a, 0x03 };
	assert_non_null(memmem(dsdt, DSDT_BASE_LEN, "PCI0", 4));
	assert_non_null(memmem(dsdt, DSDT_BASE_LEN, hid, sizeof(hid)));
	/* the _CRS ends with an end tag */
	assert_non_null(memmem(dsdt, DSDT_BASE_LEN, "\x79\x00", 2));

	/* MADT */
	assert_int_equal(le32_get(madt + 36), LAPIC_ADDR);
	assert_int_equal(le32_get(madt + 40), 1); /* PCAT_COMPAT */
	unsigned nlapic = 0, nioapic = 0, niso = 0, nnmi = 0, other = 0;
	int iso_irq0 = 0, iso_sci = 0;
	const uint8_t *p = madt + 44, *end = madt + le32_get(madt + 4);
	while (p < end) {
		assert_true(p[1] >= 2 && p + p[1] <= end);
		switch (p[0]) {
		case 0:
			assert_int_equal(p[1], 8);
			assert_int_equal(p[2], nlapic); /* UID */
			assert_int_equal(p[3], nlapic); /* APIC id */
			assert_int_equal(le32_get(p + 4), 1);
			nlapic++;
			break;
		case 1:
			assert_int_equal(p[1], 12);
			assert_int_equal(p[2], ncpus);
			assert_int_equal(le32_get(p + 4), IOAPIC_ADDR);
			assert_int_equal(le32_get(p + 8), 0);
			nioapic++;
			break;
		case 2:
			assert_int_equal(p[1], 10);
			assert_int_equal(p[2], 0); /* ISA */
			if (p[3] == 0) {
				assert_int_equal(le32_get(p + 4), 2);
				assert_int_equal(le16_get(p + 8), 0);
				iso_irq0++;
			} else if (p[3] == 9) {
				assert_int_equal(le32_get(p + 4), 9);
				assert_int_equal(le16_get(p + 8), 0xd);
				iso_sci++;
			}
			niso++;
			break;
		case 4:
			assert_int_equal(p[1], 6);
			assert_int_equal(p[2], 0xff);
			assert_int_equal(le16_get(p + 3), 0);
			assert_int_equal(p[5], 1); /* LINT1 */
			nnmi++;
			break;
		default:
			other++;
		}
		p += p[1];
	}
	assert_ptr_equal(p, end);
	assert_int_equal(nlapic, ncpus);
	assert_int_equal(nioapic, 1);
	assert_int_equal(niso, 2);
	assert_int_equal(iso_irq0, 1);
	assert_int_equal(iso_sci, 1);
	assert_int_equal(nnmi, 1);
	assert_int_equal(other, 0);
	assert_int_equal(le32_get(madt + 4), 44 + 8 * ncpus + 12 + 20 + 6);
	/* The MADT is the last table: acpi_size() is where it ends. */
	assert_int_equal(le64_get(x + 44) + le32_get(madt + 4),
			 ACPI_TABLES_ADDR + acpi_size(ncpus));
	guest_mem_destroy(&m);
}

static void test_1cpu(void **s)
{
	(void)s;
	check(1);
}

static void test_2cpus(void **s)
{
	(void)s;
	check(2);
}

static void test_64cpus(void **s)
{
	(void)s;
	check(64);
}

static void test_max_cpus(void **s)
{
	(void)s;
	check(ACPI_MAX_CPUS);
}

static void test_limits(void **s)
{
	(void)s;
	struct guest_mem m;
	struct acpi_cfg cfg = { .ncpus = 2 };
	gpa_t rsdp = 0x1234;

	assert_int_equal(acpi_max_cpus(ACPI_TABLES_SIZE), 254);
	/*
	 * 2240 fixed bytes before the MADT (the _PRT's 1559 among them), 496
	 * of room for the DSDT's virtio-mmio devices (all eight slots), 82 in
	 * the MADT, 8 per CPU
	 */
	assert_int_equal(acpi_size(1), 2240 + 496 + 82 + 8);
	assert_int_equal(acpi_max_cpus(acpi_size(2)), 2);
	assert_int_equal(acpi_max_cpus(acpi_size(2) - 1), 1);
	assert_int_equal(acpi_max_cpus(acpi_size(1) - 1), 0);

	assert_int_equal(guest_mem_init(&m, 16 * MiB), 0);
	assert_int_equal(acpi_write(&m, ACPI_TABLES_ADDR, acpi_size(2) - 1,
				    &cfg, &rsdp), -ENOSPC);
	assert_int_equal(rsdp, 0x1234);
	assert_int_equal(acpi_write(&m, ACPI_TABLES_ADDR, acpi_size(2), &cfg,
				    &rsdp), 0);
	assert_int_equal(rsdp, ACPI_TABLES_ADDR);
	cfg.ncpus = ACPI_MAX_CPUS + 1;
	assert_int_equal(acpi_write(&m, ACPI_TABLES_ADDR, ACPI_TABLES_SIZE,
				    &cfg, &rsdp), -ENOSPC);
	cfg.ncpus = 0;
	assert_int_equal(acpi_write(&m, ACPI_TABLES_ADDR, ACPI_TABLES_SIZE,
				    &cfg, &rsdp), -EINVAL);
	cfg.ncpus = 1;
	cfg.nr_virtio_mmio = VIRTIO_MMIO_SLOTS + 1;
	assert_int_equal(acpi_write(&m, ACPI_TABLES_ADDR, ACPI_TABLES_SIZE,
				    &cfg, &rsdp), -EINVAL);
	cfg.nr_virtio_mmio = 0;
	cfg.ncpus = 1;
	assert_int_equal(acpi_write(&m, ACPI_TABLES_ADDR + 16, 4096, &cfg,
				    &rsdp), -EINVAL);
	assert_int_equal(acpi_write(&m, 16 * MiB - 1024, 4096, &cfg, &rsdp),
			 -EFAULT);
	guest_mem_destroy(&m);
}

/* The DSDT reached from the RSDP, as a kernel would. */
static const uint8_t *find_dsdt(struct guest_mem *m)
{
	const uint8_t *r = gpa_ptr(m, scan_rsdp(m), 36);
	const uint8_t *x = table(m, le64_get(r + 24), "XSDT");
	const uint8_t *fadt = table(m, le64_get(x + 36), "FACP");

	return table(m, le64_get(fadt + 140), "DSDT");
}

/*
 * One LNRO0005 device per slot, encoded by hand from ACPI 6.4 (20.2 AML
 * grammar, 6.4.3.4 Memory32Fixed, 6.4.3.6 Extended Interrupt).
 */
static void test_virtio_mmio(void **s)
{
	(void)s;
	struct guest_mem m;
	const uint8_t *dsdt;
	static const uint8_t vrt2[] = {
		0x5b, 0x82, 0x3c, 'V', 'R', 'T', '2',           /* Device (VRT2) */
		0x08, '_', 'H', 'I', 'D',                       /* Name (_HID, */
		0x0d, 'L', 'N', 'R', 'O', '0', '0', '0', '5', 0, /* "LNRO0005") */
		0x08, '_', 'U', 'I', 'D', 0x0a, 0x02,           /* Name (_UID, 2) */
		0x08, '_', 'C', 'R', 'S',                       /* Name (_CRS, */
		0x11, 0x1b, 0x0b, 0x17, 0x00,                   /* Buffer (23) { */
		0x86, 0x09, 0x00, 0x01,                         /* Memory32Fixed RW */
		0x00, 0x20, 0x00, 0xd0,                         /* 0xd0002000 */
		0x00, 0x02, 0x00, 0x00,                         /* 0x200 bytes */
		0x89, 0x06, 0x00, 0x01, 0x01,                   /* Interrupt: consumer, */
		0x12, 0x00, 0x00, 0x00,                         /* level, high { 18 } */
		0x79, 0x00,                                     /* EndTag } */
	};
	/* slots 0 and 1: _UID is Zero / One, one byte shorter */
	static const uint8_t vrt0_head[] = { 0x5b, 0x82, 0x3b, 'V', 'R', 'T', '0' };
	static const uint8_t uid0[] = { 0x08, '_', 'U', 'I', 'D', 0x00 };

	assert_int_equal(guest_mem_init(&m, 16 * MiB), 0);
	assert_int_equal(acpi_write(&m, ACPI_TABLES_ADDR, ACPI_TABLES_SIZE,
				    &(struct acpi_cfg){ .ncpus = 1,
							.nr_virtio_mmio = 3 },
				    NULL),
			 0);
	dsdt = find_dsdt(&m);
	/* 1761 without devices, 61 + 61 + 62 with three, and the \_SB scope's
	 * PkgLength stays 2 bytes (under 4 KiB) */
	assert_int_equal(le32_get(dsdt + 4), DSDT_BASE_LEN + 61 + 61 + 62);
	const uint8_t *d2 = memmem(dsdt, le32_get(dsdt + 4), vrt2, sizeof(vrt2));
	assert_non_null(d2);
	/* the last thing in the table, inside \_SB */
	assert_ptr_equal(d2 + sizeof(vrt2), dsdt + le32_get(dsdt + 4));
	const uint8_t *d0 = memmem(dsdt, le32_get(dsdt + 4), vrt0_head,
				   sizeof(vrt0_head));
	assert_non_null(d0);
	assert_memory_equal(d0 + 7 + 15, uid0, sizeof(uid0));
	assert_non_null(memmem(dsdt, le32_get(dsdt + 4), "VRT1", 4));
	assert_null(memmem(dsdt, le32_get(dsdt + 4), "VRT3", 4));

	/* all eight fit the room the layout keeps; the MADT still follows */
	assert_int_equal(acpi_write(&m, ACPI_TABLES_ADDR, acpi_size(1),
				    &(struct acpi_cfg){ .ncpus = 1,
							.nr_virtio_mmio = VIRTIO_MMIO_SLOTS },
				    NULL),
			 0);
	dsdt = find_dsdt(&m);
	assert_non_null(memmem(dsdt, le32_get(dsdt + 4), "VRT7", 4));
	guest_mem_destroy(&m);
}

/*
 * The _PRT under PCI0, decoded from ACPI 6.4's grammar (20.2.5 Package,
 * 6.2.13 _PRT): one {0xSSSSFFFF, pin, 0, GSI} per slot 1..31 and pin
 * INTA#..INTD#, each GSI the swizzle's wire (slot + pin) % 4 with wires A
 * and B on 10, C and D on 11: the routing the MP table gives too.
 */
static void test_prt(void **s)
{
	(void)s;
	struct guest_mem m;
	const uint8_t *dsdt, *p;
	static const uint8_t head[] = { 0x08, '_', 'P', 'R', 'T', 0x12 };

	assert_int_equal(guest_mem_init(&m, 16 * MiB), 0);
	assert_int_equal(acpi_write(&m, ACPI_TABLES_ADDR, ACPI_TABLES_SIZE,
				    &(struct acpi_cfg){ .ncpus = 1 }, NULL), 0);
	dsdt = find_dsdt(&m);
	p = memmem(dsdt, le32_get(dsdt + 4), head, sizeof(head));
	assert_non_null(p);
	p += sizeof(head);
	/* a two-byte PkgLength: 0x40 | low nibble, then bits 11:4 */
	assert_int_equal(p[0] >> 6, 1);
	unsigned len = (p[0] & 0xf) | (unsigned)p[1] << 4;
	assert_int_equal(len, 1559 - 6);
	const uint8_t *end = p + len;
	p += 2;
	assert_int_equal(*p++, 124); /* NumElements */
	for (unsigned slot = 1; slot < 32; slot++) {
		for (unsigned pin = 0; pin < 4; pin++) {
			const uint8_t *e = p;
			unsigned gsi = (slot + pin) % 4 < 2 ? 10 : 11;

			assert_int_equal(*p++, 0x12);            /* Package */
			unsigned elen = *p++;                    /* PkgLength */
			assert_int_equal(*p++, 4);               /* elements */
			assert_int_equal(*p++, 0x0c);            /* DWordConst */
			assert_int_equal(le32_get(p), slot << 16 | 0xffff);
			p += 4;
			if (pin == 0) {                          /* Zero */
				assert_int_equal(*p++, 0x00);
			} else if (pin == 1) {                   /* One */
				assert_int_equal(*p++, 0x01);
			} else {                                 /* BytePrefix */
				assert_int_equal(*p++, 0x0a);
				assert_int_equal(*p++, pin);
			}
			assert_int_equal(*p++, 0x00);            /* source: Zero */
			assert_int_equal(*p++, 0x0a);
			assert_int_equal(*p++, gsi);
			assert_ptr_equal(p, e + 1 + elen);
		}
	}
	assert_ptr_equal(p, end + 0); /* the last entry ends the package */
	guest_mem_destroy(&m);
}

/* The file's text without whitespace (NULL if unreadable); free it. */
static char *squeezed(const char *path)
{
	FILE *f = fopen(path, "r");
	char *out;
	size_t n = 0;
	int c;

	if (!f)
		return NULL;
	out = malloc(1 << 20);
	assert_non_null(out);
	while ((c = fgetc(f)) != EOF && n < (1 << 20) - 1)
		if (c != ' ' && c != '\n' && c != '\t' && c != '\r')
			out[n++] = (char)c;
	out[n] = 0;
	fclose(f);
	return out;
}

/*
 * An outside reader: ACPICA's disassembler (iasl -d, acpica-tools) reads
 * the DSDT back, and its ASL compiles again without an error. Skipped
 * where iasl is missing (tools/deps.sh installs it).
 */
static void test_iasl(void **s)
{
	(void)s;
	struct guest_mem m;
	char dir[] = "/tmp/petrel-iasl.XXXXXX", cmd[512], path[256];
	const uint8_t *dsdt;
	char *dsl;
	FILE *f;

	if (system("command -v iasl >/dev/null 2>&1") != 0)
		skip();
	assert_int_equal(guest_mem_init(&m, 16 * MiB), 0);
	assert_int_equal(acpi_write(&m, ACPI_TABLES_ADDR, ACPI_TABLES_SIZE,
				    &(struct acpi_cfg){ .ncpus = 1, .nr_virtio_mmio = 2 },
				    NULL), 0);
	dsdt = find_dsdt(&m);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/dsdt.dat", dir);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(dsdt, 1, le32_get(dsdt + 4), f), le32_get(dsdt + 4));
	fclose(f);
	snprintf(cmd, sizeof(cmd), "cd %s && iasl -d dsdt.dat >out 2>&1 && iasl -tc dsdt.dsl >>out 2>&1",
		 dir);
	int rc = system(cmd);
	snprintf(path, sizeof(path), "%s/dsdt.dsl", dir);
	dsl = squeezed(path);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(rc, 0);
	assert_non_null(dsl);
	assert_non_null(strstr(dsl, "Device(PCI0)"));
	assert_non_null(strstr(dsl, "Name(_PRT,Package(0x7C)//_PRT:PCIRoutingTable{"
				    "Package(0x04){0x0001FFFF,Zero,Zero,0x0A},"
				    "Package(0x04){0x0001FFFF,One,Zero,0x0B},"
				    "Package(0x04){0x0001FFFF,0x02,Zero,0x0B},"
				    "Package(0x04){0x0001FFFF,0x03,Zero,0x0A},"
				    "Package(0x04){0x0002FFFF,Zero,Zero,0x0B},"));
	assert_non_null(strstr(dsl, "Package(0x04){0x001FFFFF,0x03,Zero,0x0B}})}"));
	assert_non_null(strstr(dsl, "Device(VRT1)"));
	free(dsl);
	guest_mem_destroy(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_1cpu),
		cmocka_unit_test(test_2cpus),
		cmocka_unit_test(test_64cpus),
		cmocka_unit_test(test_max_cpus),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_virtio_mmio),
		cmocka_unit_test(test_prt),
		cmocka_unit_test(test_iasl),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
