/*
 * The GDB stub of a petrel VM (--gdb): a thread of its own listens on the
 * configured TCP or Unix socket and serves one gdb at a time with the
 * protocol engine (gdb_stub.h) over the VM's pause/resume (vm.h).
 *
 * How the pieces meet: the stub's thread owns the connection and, while
 * the guest is stopped, calls the vCPU ioctls (vcpu_call_parked). The vCPUs
 * reach it through the VM's exit hook, which the server chains in front of
 * any hook already there (the guest kit's): a KVM_EXIT_DEBUG records the
 * stop, asks every vCPU to park (vm_pause_from_vcpu) and wakes the thread,
 * which waits until all are parked and tells gdb. Ctrl-C is vm_pause from
 * the thread. When the VM ends, gdb_server_finish tells gdb ("W" and the
 * exit status) and joins the thread.
 */
#ifndef PETREL_GDB_SERVER_H
#define PETREL_GDB_SERVER_H

#include <pthread.h>
#include <stdbool.h>

#include "petrel/config.h"
#include "petrel/gdb_stub.h"

struct vm;
struct vcpu;
struct gdb_server;

/*
 * After vm_create, before vm_run: listens (an error here, such as a port
 * in use, is said and returned), installs the exit hook and starts the
 * thread. With cfg->wait the VM is paused first, so no vCPU runs an
 * instruction until gdb resumes it. 0 or -errno.
 */
int gdb_server_start(struct gdb_server **out, struct vm *vm, const struct gdb_config *cfg);
/*
 * After vm_run returned (the vCPUs are gone), before vm_destroy: a gdb
 * waiting for the guest hears that it exited with status; the connection
 * and the socket close, the hook is restored. NULL is a no-op.
 */
void gdb_server_finish(struct gdb_server *g, int status);

/*
 * The engine's target for a petrel VM (target_kvm.c): vCPU state and
 * guest-virtual memory through KVM, resume through vm_resume_vcpus with
 * KVM_SET_GUEST_DEBUG. Every call is made with the vCPUs parked.
 */
struct gdb_kvm_target {
	struct vm *vm;
	uint32_t guest_debug_caps; /* KVM_CAP_SET_GUEST_DEBUG2's flags, 0 if unknown */
	/* our int3s as of the last resume, for the vCPUs' exit hook */
	pthread_mutex_t lock;
	unsigned nr_sw;
	uint64_t sw_addr[GDB_MAX_SW_BP];
};
extern const struct gdb_target_ops gdb_kvm_ops;

/*
 * On vCPU v's own thread, for a KVM_EXIT_DEBUG from an int3 at pc: when it
 * is not one of ours (the guest's own: Linux patches text with int3s), the
 * #BP goes back to the guest as if nobody had been watching, and this
 * returns true; false when it is ours or cannot be given back.
 */
bool gdb_kvm_reinject_int3(struct gdb_kvm_target *t, struct vcpu *v, uint64_t pc);

#endif
