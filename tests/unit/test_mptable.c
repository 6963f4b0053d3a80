/* MP tables parsed back from guest memory with the spec's byte offsets. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "petrel/layout.h"
#include "petrel/mptable.h"
#include "petrel/util.h"

#define EBDA_SPACE (BIOS_AREA_START - EBDA_START)

static uint8_t sum8(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	while (n--)
		s += *p++;
	return s;
}

struct parsed {
	unsigned cpus, buses, ioapics, ints, lints;
	const uint8_t *cpu[254];
	const uint8_t *intsrc[16 + 124];
	const uint8_t *lint[2];
	const uint8_t *bus[2];
	const uint8_t *ioapic;
};

/* Walks guest memory like Linux's smp_scan_config + smp_read_mpc. */
static void parse(struct guest_mem *m, gpa_t addr, struct parsed *out)
{
	const uint8_t *mpf = gpa_ptr(m, addr, 16), *mpc, *p, *end;
	int last_type = -1;

	memset(out, 0, sizeof(*out));
	assert_non_null(mpf);
	assert_memory_equal(mpf, "_MP_", 4);
	assert_int_equal(sum8(mpf, 16), 0);
	assert_int_equal(mpf[8], 1);  /* length in paragraphs */
	assert_int_equal(mpf[9], 4);  /* spec 1.4 */
	assert_int_equal(mpf[11], 0); /* config table present */
	assert_int_equal(mpf[12], 0); /* virtual wire */
	assert_int_equal(le32_get(mpf + 4), addr + 16);

	mpc = gpa_ptr(m, le32_get(mpf + 4), 44);
	assert_non_null(mpc);
	assert_memory_equal(mpc, "PCMP", 4);
	uint16_t len = le16_get(mpc + 4);
	assert_non_null(gpa_ptr(m, le32_get(mpf + 4), len));
	assert_int_equal(mpc[6], 4);
	assert_int_equal(sum8(mpc, len), 0);
	assert_memory_equal(mpc + 8, "PETREL  ", 8);
	assert_int_equal(le32_get(mpc + 36), LAPIC_ADDR);
	assert_int_equal(le16_get(mpc + 40), 0); /* extended length */
	assert_int_equal(mpc[42], 0);            /* extended checksum */

	p = mpc + 44;
	end = mpc + len;
	for (unsigned i = 0; i < le16_get(mpc + 34); i++) {
		assert_true(p < end);
		assert_true(p[0] >= last_type); /* sorted by type */
		last_type = p[0];
		switch (p[0]) {
		case 0:
			assert_true(out->cpus < ARRAY_SIZE(out->cpu));
			out->cpu[out->cpus++] = p;
			p += 20;
			break;
		case 1:
			assert_true(out->buses < ARRAY_SIZE(out->bus));
			out->bus[out->buses++] = p;
			p += 8;
			break;
		case 2:
			out->ioapic = p;
			out->ioapics++;
			p += 8;
			break;
		case 3:
			assert_true(out->ints < ARRAY_SIZE(out->intsrc));
			out->intsrc[out->ints++] = p;
			p += 8;
			break;
		case 4:
			assert_true(out->lints < ARRAY_SIZE(out->lint));
			out->lint[out->lints++] = p;
			p += 8;
			break;
		default:
			fail_msg("unknown entry type %u", p[0]);
		}
	}
	assert_ptr_equal(p, end);
}

static void check_at(gpa_t addr, size_t space, unsigned ncpus)
{
	struct guest_mem m;
	struct parsed t;

	assert_int_equal(guest_mem_init(&m, 16 * MiB), 0);
	assert_int_equal(mptable_write(&m, addr, space, ncpus), 0);
	parse(&m, addr, &t);
	assert_int_equal(t.cpus, ncpus);
	assert_int_equal(t.buses, 2);
	assert_int_equal(t.ioapics, 1);
	assert_int_equal(t.ints, 16 + 124); /* ISA, and 31 PCI slots x 4 pins */
	assert_int_equal(t.lints, 2);
	assert_true(mptable_size(ncpus) <= space);

	for (unsigned i = 0; i < ncpus; i++) {
		assert_int_equal(t.cpu[i][1], i);    /* APIC id */
		assert_int_equal(t.cpu[i][2], 0x14); /* version */
		assert_int_equal(t.cpu[i][3], i == 0 ? 3 : 1);
		assert_int_equal(le32_get(t.cpu[i] + 4), 0x600);
		assert_int_equal(le32_get(t.cpu[i] + 8), 0x201);
	}
	assert_int_equal(t.bus[0][1], MPTABLE_BUS_PCI);
	assert_memory_equal(t.bus[0] + 2, "PCI   ", 6);
	assert_int_equal(t.bus[1][1], MPTABLE_BUS_ISA);
	assert_memory_equal(t.bus[1] + 2, "ISA   ", 6);

	assert_int_equal(t.ioapic[1], ncpus);
	assert_int_equal(t.ioapic[2], 0x11);
	assert_int_equal(t.ioapic[3], 1);
	assert_int_equal(le32_get(t.ioapic + 4), IOAPIC_ADDR);

	/* ExtINT from the 8259 on pin 0. */
	assert_int_equal(t.intsrc[0][1], 3);
	assert_int_equal(t.intsrc[0][4], MPTABLE_BUS_ISA);
	assert_int_equal(t.intsrc[0][5], 0);
	assert_int_equal(t.intsrc[0][6], ncpus);
	assert_int_equal(t.intsrc[0][7], 0);
	/* ISA IRQ -> pin: 0 -> 2, none for 2, others identity. */
	int pin_of[16], pci_gsi[32][4];
	for (int i = 0; i < 16; i++)
		pin_of[i] = -1;
	memset(pci_gsi, 0xff, sizeof(pci_gsi));
	for (unsigned i = 1; i < t.ints; i++) {
		const uint8_t *e = t.intsrc[i];
		assert_int_equal(e[1], 0);              /* INT */
		if (e[4] == MPTABLE_BUS_PCI) {
			/* level (3 << 2), active low (3); slot << 2 | pin */
			assert_int_equal(le16_get(e + 2), 0xf);
			assert_int_equal(e[6], ncpus);
			assert_true(e[5] >> 2 >= 1 && e[5] >> 2 < 32);
			assert_int_equal(pci_gsi[e[5] >> 2][e[5] & 3], -1);
			pci_gsi[e[5] >> 2][e[5] & 3] = e[7];
			continue;
		}
		assert_int_equal(le16_get(e + 2), 0);   /* conforming */
		assert_int_equal(e[4], MPTABLE_BUS_ISA);
		assert_int_equal(e[6], ncpus);
		assert_true(e[5] < 16);
		assert_int_equal(pin_of[e[5]], -1);     /* no duplicates */
		pin_of[e[5]] = e[7];
	}
	assert_int_equal(pin_of[0], 2);
	assert_int_equal(pin_of[2], -1);
	/* PCI: swizzle (slot + pin) % 4, wires A, B -> GSI 10, C, D -> 11 */
	for (int slot = 1; slot < 32; slot++)
		for (int pin = 0; pin < 4; pin++)
			assert_int_equal(pci_gsi[slot][pin], (slot + pin) % 4 < 2 ? 10 : 11);
	assert_int_equal(pci_gsi[1][0], 10);
	assert_int_equal(pci_gsi[2][0], 11);
	assert_int_equal(pci_gsi[3][0], 11);
	assert_int_equal(pci_gsi[4][0], 10);
	for (int i = 1; i < 16; i++)
		if (i != 2)
			assert_int_equal(pin_of[i], i);

	assert_int_equal(t.lint[0][1], 3); /* ExtINT */
	assert_int_equal(t.lint[0][6], 0xff);
	assert_int_equal(t.lint[0][7], 0); /* LINT0 */
	assert_int_equal(t.lint[1][1], 1); /* NMI */
	assert_int_equal(t.lint[1][6], 0xff);
	assert_int_equal(t.lint[1][7], 1); /* LINT1 */
	guest_mem_destroy(&m);
}

static void check(unsigned ncpus)
{
	check_at(MPTABLE_ADDR, MPTABLE_SPACE, ncpus);
}

static void test_one_cpu(void **s)
{
	(void)s;
	check(1);
}

static void test_two_cpus(void **s)
{
	(void)s;
	check(2);
}

static void test_max_cpus(void **s)
{
	(void)s;
	check(MPTABLE_MAX_CPUS);
}

/* The 64 KiB BIOS area Linux scans, full (the EBDA is too small now). */
static void test_ebda_and_bios_area(void **s)
{
	(void)s;
	check_at(0xf0000, 0x10000, 254);
}

static void test_limits(void **s)
{
	(void)s;
	struct guest_mem m;

	/* the PCI routing alone is more than the 1 KiB EBDA */
	assert_int_equal(mptable_max_cpus(EBDA_SPACE), 0);
	assert_int_equal(MPTABLE_MAX_CPUS_IN(EBDA_SPACE), 0);
	assert_int_equal(mptable_max_cpus(MPTABLE_SPACE), MPTABLE_MAX_CPUS);
	assert_int_equal(mptable_max_cpus(0x10000), 254);
	/* 16 + 44 + 2*8 + 8 + (18 + 124)*8 = 1220 fixed bytes, 20 per CPU */
	assert_int_equal(mptable_size(1), 1240);
	assert_int_equal(mptable_max_cpus(1239), 0);
	assert_int_equal(mptable_max_cpus(1240), 1);
	assert_int_equal(mptable_max_cpus(1 << 20), 254);

	assert_int_equal(guest_mem_init(&m, 16 * MiB), 0);
	assert_int_equal(mptable_write(&m, EBDA_START, EBDA_SPACE, 1), -ENOSPC);
	assert_int_equal(mptable_write(&m, 0xf0000, 0x10000, 255), -ENOSPC);
	assert_int_equal(mptable_write(&m, 0xf0000, 0x10000, 254), 0);
	/* The write lands where asked, with the pointer to the table. */
	assert_memory_equal(gpa_ptr(&m, 0xf0000, 4), "_MP_", 4);
	assert_int_equal(le32_get(gpa_ptr(&m, 0xf0004, 4)), 0xf0010);
	memset(gpa_ptr(&m, 0, 1), 0, 1 * MiB);
	assert_int_equal(mptable_write(&m, MPTABLE_ADDR, MPTABLE_SPACE, 0),
			 -EINVAL);
	assert_int_equal(mptable_write(&m, MPTABLE_ADDR + 8, MPTABLE_SPACE, 1),
			 -EINVAL);
	assert_int_equal(mptable_write(&m, 16 * MiB - 64, 4096, 1), -EFAULT);
	/* Nothing was written by the failed calls. */
	uint8_t *p = gpa_ptr(&m, MPTABLE_ADDR, 16);
	assert_int_equal(p[0], 0);
	guest_mem_destroy(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_cpu),
		cmocka_unit_test(test_two_cpus),
		cmocka_unit_test(test_max_cpus),
		cmocka_unit_test(test_ebda_and_bios_area),
		cmocka_unit_test(test_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
