/*
 * ACPI tables for a Linux guest: RSDP, XSDT, FADT (+FACS), DSDT and MADT.
 *
 * Why ACPI at all: distribution kernels (Debian's cloud kernel has
 * CONFIG_X86_MPPARSE unset) find their CPUs and the IOAPIC only through
 * the MADT, and `poweroff` reaches petrel only through the FADT's PM1a
 * control block plus the DSDT's \_S5 object (see acpi_pm.h).
 *
 * The machine described:
 *   - not hardware-reduced: PM1a event block at PORT_ACPI_PM (4 bytes),
 *     PM1a control block at PORT_ACPI_PM + 4 (2 bytes), SCI on GSI_SCI;
 *     no SMI_CMD, so the OS finds ACPI mode always on; the PM timer at
 *     PORT_ACPI_PM_TMR (4 bytes, 32 bits: TMR_VAL_EXT), a reference for a
 *     guest without kvm-clock (pm_timer.h); no GPE blocks; no fixed
 *     power/sleep buttons
 *   - reset: I/O port 0xCF9, value 0x06 (RESET_REG_SUP)
 *   - IAPC_BOOT_ARCH: legacy ISA devices and an i8042 present (without
 *     the 8042 flag Linux would not even probe the keyboard controller),
 *     no VGA (so nothing pokes at 0xA0000-0xBFFFF, which is RAM here)
 *   - DSDT: Name(_S5_, Package(4){5, 0, 0, 0}), the PCI host bridge, and
 *     one LNRO0005 device per virtio-mmio slot in use (virtio_mmio.h);
 *     the legacy devices (COM ports, RTC, i8042) are found by Linux's
 *     legacy probes
 *   - MADT: one enabled local APIC per vCPU (UID = APIC id = index), one
 *     IOAPIC (id = ncpus, GSI base 0), ISA IRQ 0 -> GSI 2 and the SCI
 *     (IRQ 9) level/active-high overrides, LINT1 = NMI on all processors
 * Every table carries OEM ID "PETREL" and a valid checksum.
 */
#ifndef PETREL_ACPI_H
#define PETREL_ACPI_H

#include <stddef.h>

#include "petrel/memory.h"

/* SLP_TYP value of \_S5 in our DSDT; acpi_pm powers off on it. */
#define ACPI_S5_SLP_TYP 5
#define ACPI_OEM_ID "PETREL"
/*
 * Width of the PM timer: 32 bits, as QEMU gives it, so that ACPICA's
 * AcpiGetTimer wraps every 20 minutes rather than every 4.7 seconds
 * (Linux's clocksource reads 24 bits either way). The FADT's TMR_VAL_EXT
 * flag and the device (pm_timer_init) both follow it.
 */
#define ACPI_PM_TMR_BITS 32

/*
 * The xAPIC limit: APIC ids are 8 bits, 0xff is broadcast and the IOAPIC
 * takes id ncpus. ACPI_TABLES_SIZE would hold thousands of MADT entries.
 */
#define ACPI_MAX_CPUS 254

struct acpi_cfg {
	unsigned ncpus; /* 1..acpi_max_cpus(space) */
	/* virtio-mmio slots 0..n-1 (layout.h), n <= VIRTIO_MMIO_SLOTS */
	unsigned nr_virtio_mmio;
};

/*
 * Bytes of [base, base + space) the tables use for ncpus. The DSDT's room
 * is that of every virtio-mmio slot in use, so the layout does not depend
 * on the devices.
 */
size_t acpi_size(unsigned ncpus);

/* Most vCPUs whose tables fit in space bytes (0 if not even one). */
unsigned acpi_max_cpus(size_t space);

/*
 * Clears [base, base + space) and writes the tables there, RSDP first
 * (Linux also finds it by scanning 0xE0000-0xFFFFF on 16-byte
 * boundaries). Call with ACPI_TABLES_ADDR and ACPI_TABLES_SIZE, then pass
 * *rsdp_out as bootparams_cfg.acpi_rsdp_addr.
 * Returns 0, -EINVAL (ncpus 0, more than VIRTIO_MMIO_SLOTS virtio-mmio
 * devices, base not 64-byte aligned, or the tables
 * would reach above 4 GiB: the FADT/FACS links are 32-bit), -ENOSPC
 * (ncpus does not fit in space or exceeds ACPI_MAX_CPUS), -EFAULT (the
 * space is not all guest RAM).
 */
int acpi_write(const struct guest_mem *m, gpa_t base, size_t space,
	       const struct acpi_cfg *cfg, gpa_t *rsdp_out);

#endif
