/*
 * MP tables (Intel MultiProcessor Specification 1.4, chapter 4). The
 * kernel has no UAPI header for them, so the structures are spelled out
 * here; the host is x86 (KVM), so the little-endian layout is native.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "petrel/layout.h"
#include "petrel/mptable.h"
#include "petrel/pci.h"
#include "petrel/util.h"

struct mpf_intel { /* floating pointer structure */
	char signature[4]; /* "_MP_" */
	uint32_t physptr;  /* configuration table */
	uint8_t length;    /* in 16-byte units: 1 */
	uint8_t specification; /* 4 = version 1.4 */
	uint8_t checksum;
	uint8_t feature1; /* 0: a configuration table is present */
	uint8_t feature2; /* bit 7 IMCRP clear: virtual wire mode */
	uint8_t feature3, feature4, feature5;
} __attribute__((packed));

struct mpc_table { /* configuration table header */
	char signature[4]; /* "PCMP" */
	uint16_t length;   /* base table, header included */
	uint8_t spec;
	uint8_t checksum;
	char oem[8];
	char productid[12];
	uint32_t oemptr;
	uint16_t oemsize;
	uint16_t oemcount; /* number of entries */
	uint32_t lapic;
	uint16_t ext_length;
	uint8_t ext_checksum;
	uint8_t reserved;
} __attribute__((packed));

enum { MP_PROCESSOR, MP_BUS, MP_IOAPIC, MP_INTSRC, MP_LINTSRC };
enum { MP_INT, MP_NMI, MP_SMI, MP_EXTINT };

struct mpc_cpu {
	uint8_t type, apicid, apicver, cpuflag;
	uint32_t cpufeature; /* CPUID(1).EAX signature */
	uint32_t featureflag; /* CPUID(1).EDX */
	uint32_t reserved[2];
} __attribute__((packed));
#define CPU_ENABLED 1
#define CPU_BOOTPROCESSOR 2

struct mpc_bus {
	uint8_t type, busid;
	char bustype[6];
} __attribute__((packed));

struct mpc_ioapic {
	uint8_t type, apicid, apicver, flags; /* flags bit 0: enabled */
	uint32_t apicaddr;
} __attribute__((packed));

struct mpc_intsrc { /* I/O and local interrupt assignment: same layout */
	uint8_t type, irqtype;
	uint16_t irqflag; /* 0: polarity and trigger conform to the bus */
	uint8_t srcbus, srcbusirq, dstapic, dstirq;
} __attribute__((packed));

/* irqflag: bits 1:0 polarity, 3:2 trigger mode (3 = low / level) */
#define MP_IRQ_ACTIVE_LOW 0x3
#define MP_IRQ_LEVEL 0xc

_Static_assert(sizeof(struct mpf_intel) == 16, "MP floating pointer");
_Static_assert(sizeof(struct mpc_table) == 44, "MP config header");
_Static_assert(sizeof(struct mpc_cpu) == 20, "MP processor entry");
_Static_assert(sizeof(struct mpc_bus) == 8, "MP bus entry");
_Static_assert(sizeof(struct mpc_ioapic) == 8, "MP IOAPIC entry");
_Static_assert(sizeof(struct mpc_intsrc) == 8, "MP interrupt entry");

#define NR_BUSES 2
#define NR_ISA_INTS 16 /* ExtINT on pin 0 + ISA IRQs 0, 1, 3..15 */
#define NR_PCI_INTS ((PCI_MAX_DEVICES - PCI_INTX_FIRST_SLOT) * PCI_INTX_PINS)
#define NR_IO_INTS (NR_ISA_INTS + NR_PCI_INTS)
#define NR_LOCAL_INTS 2
#define MP_FIXED_SIZE                                                       \
	(sizeof(struct mpf_intel) + sizeof(struct mpc_table) +             \
	 NR_BUSES * sizeof(struct mpc_bus) + sizeof(struct mpc_ioapic) +  \
	 (NR_IO_INTS + NR_LOCAL_INTS) * sizeof(struct mpc_intsrc))

_Static_assert(MP_FIXED_SIZE == MPTABLE_FIXED_SIZE, "mptable.h sizes");
_Static_assert(sizeof(struct mpc_cpu) == MPTABLE_CPU_SIZE, "mptable.h sizes");

/*
 * A family 6 CPU with an on-chip FPU and APIC. Linux takes the real
 * values from CPUID; these only have to look sane to table checkers.
 */
#define CPU_SIGNATURE 0x600
#define CPU_FEATURES ((1u << 0) | (1u << 9)) /* FPU, APIC */

size_t mptable_size(unsigned ncpus)
{
	return MP_FIXED_SIZE + (size_t)ncpus * sizeof(struct mpc_cpu);
}

unsigned mptable_max_cpus(size_t space)
{
	return MPTABLE_MAX_CPUS_IN(space);
}

static uint8_t *put_entry(uint8_t *p, const struct mpc_intsrc *e)
{
	memcpy(p, e, sizeof(*e));
	return p + sizeof(*e);
}

static uint8_t *put_int(uint8_t *p, uint8_t type, uint8_t irqtype,
			uint8_t srcbusirq, uint8_t dstapic, uint8_t dstirq)
{
	return put_entry(p, &(struct mpc_intsrc){
		.type = type, .irqtype = irqtype, .irqflag = 0,
		.srcbus = MPTABLE_BUS_ISA, .srcbusirq = srcbusirq,
		.dstapic = dstapic, .dstirq = dstirq,
	});
}

/*
 * PCI INTx (MP spec 1.4, D.3): source bus IRQ = slot << 2 | pin (0..3 =
 * INTA#..INTD#), level-triggered and active-low as PCI lines are, to the
 * GSI pci_intx_gsi() gives: the routing the DSDT's _PRT describes too.
 */
static uint8_t *put_pci_ints(uint8_t *p, uint8_t ioapic_id)
{
	for (unsigned slot = PCI_INTX_FIRST_SLOT; slot < PCI_MAX_DEVICES; slot++)
		for (unsigned pin = 0; pin < PCI_INTX_PINS; pin++)
			p = put_entry(p, &(struct mpc_intsrc){
				.type = MP_INTSRC, .irqtype = MP_INT,
				.irqflag = MP_IRQ_ACTIVE_LOW | MP_IRQ_LEVEL,
				.srcbus = MPTABLE_BUS_PCI,
				.srcbusirq = (uint8_t)(slot << 2 | pin),
				.dstapic = ioapic_id,
				.dstirq = (uint8_t)pci_intx_gsi(slot, pin),
			});
	return p;
}

int mptable_write(const struct guest_mem *m, gpa_t addr, size_t space,
		  unsigned ncpus)
{
	const size_t size = mptable_size(ncpus);
	const uint8_t ioapic_id = (uint8_t)ncpus;
	struct mpc_table *mpc;
	struct mpf_intel *mpf;
	uint8_t *base, *p;
	uint16_t count = 0;

	if (ncpus == 0 || addr % 16 || addr + size > 4 * GiB)
		return -EINVAL;
	if (ncpus > mptable_max_cpus(space))
		return -ENOSPC;
	base = gpa_ptr(m, addr, size);
	if (!base)
		return -EFAULT;
	memset(base, 0, size);

	mpf = (struct mpf_intel *)base;
	mpc = (struct mpc_table *)(base + sizeof(*mpf));
	p = (uint8_t *)(mpc + 1);

	/* Entries in the order the spec requires: by type. */
	for (unsigned i = 0; i < ncpus; i++, count++) {
		struct mpc_cpu c = {
			.type = MP_PROCESSOR, .apicid = (uint8_t)i,
			.apicver = MPTABLE_LAPIC_VERSION,
			.cpuflag = CPU_ENABLED | (i == 0 ? CPU_BOOTPROCESSOR : 0),
			.cpufeature = CPU_SIGNATURE,
			.featureflag = CPU_FEATURES,
		};
		memcpy(p, &c, sizeof(c));
		p += sizeof(c);
	}
	static const struct mpc_bus buses[NR_BUSES] = {
		{ MP_BUS, MPTABLE_BUS_PCI, "PCI   " },
		{ MP_BUS, MPTABLE_BUS_ISA, "ISA   " },
	};
	memcpy(p, buses, sizeof(buses));
	p += sizeof(buses);
	count += NR_BUSES;

	struct mpc_ioapic io = {
		.type = MP_IOAPIC, .apicid = ioapic_id,
		.apicver = MPTABLE_IOAPIC_VERSION, .flags = 1,
		.apicaddr = (uint32_t)IOAPIC_ADDR,
	};
	memcpy(p, &io, sizeof(io));
	p += sizeof(io);
	count++;

	/* The 8259 reaches the IOAPIC through pin 0 (virtual wire mode). */
	p = put_int(p, MP_INTSRC, MP_EXTINT, 0, ioapic_id, 0);
	/*
	 * ISA IRQ 0 on pin 2: petrel routes the PIT there, as QEMU does
	 * and as the MADT's interrupt source override says. IRQ 2 is the
	 * 8259 cascade and has no pin of its own.
	 */
	p = put_int(p, MP_INTSRC, MP_INT, 0, ioapic_id, 2);
	for (uint8_t irq = 1; irq < 16; irq++) {
		if (irq != 2)
			p = put_int(p, MP_INTSRC, MP_INT, irq, ioapic_id, irq);
	}
	p = put_pci_ints(p, ioapic_id);
	count += NR_IO_INTS;
	/* 0xff: every local APIC. */
	p = put_int(p, MP_LINTSRC, MP_EXTINT, 0, 0xff, 0);
	p = put_int(p, MP_LINTSRC, MP_NMI, 0, 0xff, 1);
	count += NR_LOCAL_INTS;

	memcpy(mpc->signature, "PCMP", 4);
	mpc->length = (uint16_t)(p - (uint8_t *)mpc);
	mpc->spec = 4;
	memcpy(mpc->oem, "PETREL  ", 8);
	memcpy(mpc->productid, "PETREL VM   ", 12);
	mpc->oemcount = count;
	mpc->lapic = (uint32_t)LAPIC_ADDR;
	mpc->ext_length = 0; /* no extended entries; their checksum is 0 */
	mpc->checksum = checksum8(mpc, mpc->length);

	memcpy(mpf->signature, "_MP_", 4);
	mpf->physptr = (uint32_t)(addr + sizeof(*mpf));
	mpf->length = 1;
	mpf->specification = 4;
	mpf->checksum = checksum8(mpf, sizeof(*mpf));
	return 0;
}
