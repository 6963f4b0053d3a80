/*
 * The tables firmware would leave for an OS: the ACPI tables (RSDP, XSDT,
 * FADT, DSDT, MADT) unless --no-acpi, and the MP table. Both describe the
 * same machine: the vCPUs, one IOAPIC, ISA IRQ 0 on pin 2.
 */
#ifndef PETREL_FIRMWARE_H
#define PETREL_FIRMWARE_H

#include "petrel/memory.h"

struct vm;

/* Writes the tables; *rsdp is the RSDP's address (0 without ACPI). */
int firmware_tables_write(struct vm *vm, gpa_t *rsdp);

#endif
