/*
 * Intel MultiProcessor Specification 1.4 tables: the "_MP_" floating
 * pointer and the "PCMP" configuration table. Kernels without ACPI (or
 * with acpi=off) find their CPUs, the IOAPIC and the ISA interrupt
 * routing here; kernels with ACPI use the MADT instead (see acpi.h).
 *
 * What petrel describes:
 *   - one processor entry per vCPU: APIC id = cpu index, cpu 0 is the BSP
 *   - bus 0 "PCI", bus 1 "ISA" (QEMU/SeaBIOS numbering: PCI buses first)
 *   - one IOAPIC, id = ncpus (the first id after the LAPICs), at IOAPIC_ADDR
 *   - ISA IRQ 0 (PIT) -> IOAPIC pin 2, IRQs 1 and 3..15 -> the same pin,
 *     and the 8259's ExtINT on pin 0 (virtual wire mode)
 *   - PCI INTx: every pin of slots 1..31 -> pci_intx_gsi() (pci.h),
 *     level-triggered, active-low, as the DSDT's _PRT says
 *   - ExtINT -> LINT0 and NMI -> LINT1 on every local APIC
 */
#ifndef PETREL_MPTABLE_H
#define PETREL_MPTABLE_H

#include <stddef.h>

#include "petrel/layout.h"
#include "petrel/memory.h"

#define MPTABLE_BUS_PCI 0
#define MPTABLE_BUS_ISA 1
#define MPTABLE_IOAPIC_VERSION 0x11
#define MPTABLE_LAPIC_VERSION 0x14 /* what KVM's local APIC reports */

/*
 * Sizes: the floating pointer, header, buses, IOAPIC and the 142 interrupt
 * entries (18 ISA and local, 124 PCI) take MPTABLE_FIXED_SIZE bytes, each
 * vCPU MPTABLE_CPU_SIZE more.
 * APIC ids are 8 bits, 0xff is broadcast and the IOAPIC takes id ncpus,
 * so 254 is the ceiling whatever the space.
 */
#define MPTABLE_FIXED_SIZE 1220u
#define MPTABLE_CPU_SIZE 20u
#define MPTABLE_APIC_ID_MAX_CPUS 254u
#define MPTABLE_MAX_CPUS_IN(space)                                          \
	((space) < MPTABLE_FIXED_SIZE ? 0u                                   \
	 : ((space) - MPTABLE_FIXED_SIZE) / MPTABLE_CPU_SIZE >               \
			   MPTABLE_APIC_ID_MAX_CPUS                         \
		 ? MPTABLE_APIC_ID_MAX_CPUS                                  \
		 : (unsigned)(((space) - MPTABLE_FIXED_SIZE) / MPTABLE_CPU_SIZE))
/*
 * For petrel's layout.h placement, the 64 KiB BIOS area at 0xF0000: 254.
 * (The 1 KiB EBDA would no longer hold the PCI routing at all.)
 */
#define MPTABLE_MAX_CPUS MPTABLE_MAX_CPUS_IN(MPTABLE_SPACE)

/* Bytes the floating pointer plus configuration table take for ncpus. */
size_t mptable_size(unsigned ncpus);

/* Most vCPUs whose tables fit in space bytes (0 if not even one). */
unsigned mptable_max_cpus(size_t space);

/*
 * Writes the floating pointer at addr (16-byte aligned) and the
 * configuration table right after it. space is how many bytes from addr
 * may be used: MPTABLE_ADDR and MPTABLE_SPACE from layout.h. Nothing here
 * depends on where that is, as long as Linux scans it (the first KiB of
 * the EBDA, 639 KiB..640 KiB, or 0xF0000-0xFFFFF).
 * Returns 0, -EINVAL (ncpus 0 or addr misaligned or above 4 GiB),
 * -ENOSPC (ncpus needs more than space), -EFAULT (not guest RAM).
 */
int mptable_write(const struct guest_mem *m, gpa_t addr, size_t space,
		  unsigned ncpus);

#endif
