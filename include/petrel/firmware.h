/*
 * The tables firmware would leave for an OS: the ACPI tables (RSDP, XSDT,
 * FADT, DSDT, MADT) unless --no-acpi, and the MP table. Both describe the
 * same machine: the vCPUs, one IOAPIC, ISA IRQ 0 on pin 2.
 */
#ifndef PETREL_FIRMWARE_H
#define PETREL_FIRMWARE_H

#include <stdbool.h>

struct boot_plan;

/*
 * Adds the tables for ncpus (and, in the DSDT, virtio-mmio slots
 * 0..nr_virtio_mmio-1) to the plan as segments at MPTABLE_ADDR and
 * ACPI_TABLES_ADDR (layout.h) and sets p->acpi_rsdp (0 without ACPI).
 * A vCPU count the table space cannot describe is explained ("at most N
 * fit"). 0 or -errno.
 */
int firmware_plan(struct boot_plan *p, unsigned ncpus, bool no_acpi,
		  unsigned nr_virtio_mmio);

#endif
