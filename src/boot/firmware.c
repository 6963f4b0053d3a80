#include <errno.h>
#include <string.h>

#include "petrel/acpi.h"
#include "petrel/firmware.h"
#include "petrel/layout.h"
#include "petrel/mptable.h"
#include "petrel/util.h"
#include "petrel/vm.h"

int firmware_tables_write(struct vm *vm, gpa_t *rsdp)
{
	unsigned ncpus = vm->cfg->ncpus;
	int err;

	*rsdp = 0;
	err = mptable_write(&vm->mem, MPTABLE_ADDR, MPTABLE_SPACE, ncpus);
	if (err < 0) {
		pt_err("cannot write the MP table for %u vCPUs: %s (at most %u fit)",
		       ncpus, strerror(-err), mptable_max_cpus(MPTABLE_SPACE));
		return err;
	}
	if (vm->cfg->no_acpi)
		return 0;
	err = acpi_write(&vm->mem, ACPI_TABLES_ADDR, ACPI_TABLES_SIZE,
			 &(struct acpi_cfg){ .ncpus = ncpus }, rsdp);
	if (err < 0)
		pt_err("cannot write the ACPI tables for %u vCPUs: %s (at most %u fit)",
		       ncpus, strerror(-err), acpi_max_cpus(ACPI_TABLES_SIZE));
	return err;
}
