#include <errno.h>

#include "petrel/firmware.h"
#include "petrel/util.h"
#include "petrel/vm.h"

int firmware_tables_write(struct vm *vm, gpa_t *rsdp)
{
	(void)vm;
	*rsdp = 0;
	pt_err("firmware tables: not wired yet");
	return -ENOSYS;
}
