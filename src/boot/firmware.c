/*
 * The firmware tables as boot plan segments. The table writers address
 * guest memory by gpa (the tables point at each other), so each writes
 * into a window over the segment's buffer at the address it will have.
 */
#include <errno.h>
#include <string.h>

#include "petrel/acpi.h"
#include "petrel/boot_plan.h"
#include "petrel/firmware.h"
#include "petrel/layout.h"
#include "petrel/mptable.h"
#include "petrel/util.h"

int firmware_plan(struct boot_plan *p, unsigned ncpus, bool no_acpi,
		  unsigned nr_virtio_mmio)
{
	struct guest_mem win;
	uint8_t *buf;
	int err;

	p->acpi_rsdp = 0;
	if (!(buf = boot_plan_alloc(p, MPTABLE_SPACE)))
		return -ENOMEM;
	guest_mem_window(&win, MPTABLE_ADDR, buf, MPTABLE_SPACE);
	err = mptable_write(&win, MPTABLE_ADDR, MPTABLE_SPACE, ncpus);
	if (err < 0) {
		pt_err("cannot write the MP table for %u vCPUs: %s (at most %u fit)",
		       ncpus, strerror(-err), mptable_max_cpus(MPTABLE_SPACE));
		return err;
	}
	/* the whole space: nothing else may land in what Linux scans */
	err = boot_plan_add(p, &(struct boot_segment){
		.name = "the MP table", .gpa = MPTABLE_ADDR, .size = MPTABLE_SPACE,
		.data = buf, .len = mptable_size(ncpus), .zero_rest = true });
	if (err < 0 || no_acpi)
		return err;

	if (!(buf = boot_plan_alloc(p, ACPI_TABLES_SIZE)))
		return -ENOMEM;
	guest_mem_window(&win, ACPI_TABLES_ADDR, buf, ACPI_TABLES_SIZE);
	err = acpi_write(&win, ACPI_TABLES_ADDR, ACPI_TABLES_SIZE,
			 &(struct acpi_cfg){ .ncpus = ncpus,
					     .nr_virtio_mmio = nr_virtio_mmio },
			 &p->acpi_rsdp);
	if (err < 0) {
		pt_err("cannot write the ACPI tables for %u vCPUs: %s (at most %u fit)",
		       ncpus, strerror(-err), acpi_max_cpus(ACPI_TABLES_SIZE));
		return err;
	}
	return boot_plan_add(p, &(struct boot_segment){
		.name = "the ACPI tables", .gpa = ACPI_TABLES_ADDR,
		.size = ACPI_TABLES_SIZE, .data = buf, .len = acpi_size(ncpus),
		.zero_rest = true });
}
