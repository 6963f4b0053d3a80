#include <errno.h>

#include "petrel/util.h"
#include "petrel/vm.h"

int vm_devices_create(struct vm *vm)
{
	(void)vm;
	pt_err("devices: not wired yet");
	return -ENOSYS;
}

void vm_devices_destroy(struct vm *vm)
{
	(void)vm;
}

void vm_devices_print_stats(struct vm *vm)
{
	(void)vm;
}
