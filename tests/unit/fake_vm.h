/*
 * A struct vm built by hand, with no /dev/kvm: the stop and pause logic
 * (vm.c, vm_pause.c) run against it on any machine. Its vCPUs have no fd
 * and an anonymous page for kvm_run; no thread is started. vm_destroy
 * takes it apart.
 */
#ifndef FAKE_VM_H
#define FAKE_VM_H

#include "petrel/config.h"
#include "petrel/vm.h"

/* Zeroes vm, points it at cfg (cfg->ncpus = ncpus) and makes the vCPUs. */
void fake_vm_init(struct vm *vm, struct vm_config *cfg, unsigned ncpus);

#endif
