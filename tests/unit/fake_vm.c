/* A struct vm without KVM for unit tests; see fake_vm.h. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <linux/kvm.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "fake_vm.h"

void fake_vm_init(struct vm *vm, struct vm_config *cfg, unsigned ncpus)
{
	memset(vm, 0, sizeof(*vm));
	cfg->ncpus = ncpus;
	vm->cfg = cfg;
	vm->kvm_fd = vm->vm_fd = -1;
	vm->kick_signal = SIGRTMIN;
	vm->run_size = (int)sizeof(struct kvm_run);
	pthread_mutex_init(&vm->stop.lock, NULL);
	pthread_cond_init(&vm->stop.cond, NULL);
	bus_init(&vm->pio, "pio");
	bus_init(&vm->mmio, "mmio");
	vm->vcpus = calloc(ncpus, sizeof(*vm->vcpus));
	assert_non_null(vm->vcpus);
	for (unsigned i = 0; i < ncpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		v->vm = vm;
		v->id = i;
		v->fd = -1;
		v->run = mmap(NULL, (size_t)vm->run_size, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		assert_true(v->run != MAP_FAILED);
		vm->nr_vcpus++;
	}
}
