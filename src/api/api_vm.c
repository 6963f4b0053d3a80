/*
 * Control API endpoints about the VM and its vCPUs, and api_dispatch.
 * Registers are read only while a vCPU is parked (vcpu_call_parked): a
 * vCPU ioctl on a running vCPU would wait for it to leave KVM_RUN.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>

#include <linux/kvm.h>

#include "petrel/api.h"
#include "petrel/exitcode.h"
#include "petrel/vm.h"
#include "api_internal.h"

json_t *api_hex(uint64_t v)
{
	char s[24];

	snprintf(s, sizeof(s), "0x%" PRIx64, v);
	return json_string(s);
}

const char *api_vm_state(struct vm *vm)
{
	if (vm_stopping(vm))
		return "stopping";
	return vm_paused(vm) ? "paused" : "running";
}

static int get_vm(struct api_ctx *c, json_t **out)
{
	struct vm *vm = c->vm;

	*out = json_pack("{s:s, s:s, s:i, s:I, s:s, s:i, s:o, s:o, s:o}",
			 "state", api_vm_state(vm), "version", PETREL_VERSION,
			 "vcpus", (int)vm->nr_vcpus, "memory_bytes", (json_int_t)vm->mem.ram_size,
			 "irqchip", "kernel", "pid", (int)getpid(),
			 "kernel", api_text(vm->cfg ? vm->cfg->kernel : NULL),
			 "cmdline", api_text(vm->cfg ? vm->cfg->cmdline : NULL),
			 "api_socket", api_text(c->socket_path));
	return 200;
}

static int pause_error(int err, json_t **out)
{
	*out = api_error(err == -ECANCELED ? "the VM is stopping" : "pause failed: %s",
			 strerror(-err));
	return 409;
}

static int put_pause(struct api_ctx *c, json_t **out)
{
	int err = vm_pause(c->vm);

	if (err)
		return pause_error(err, out);
	*out = json_pack("{s:s}", "state", api_vm_state(c->vm));
	return 200;
}

static int put_resume(struct api_ctx *c, json_t *body, json_t **out)
{
	struct vm *vm = c->vm;
	json_t *list = body ? json_object_get(body, "vcpus") : NULL;
	bool which[CONFIG_MAX_CPUS] = { false };
	const char *key;
	json_t *v;
	size_t i;

	if (vm_stopping(vm)) {
		*out = api_error("the VM is stopping");
		return 409;
	}
	if (body)
		json_object_foreach(body, key, v)
			if (strcmp(key, "vcpus")) {
				*out = api_error("resume: unknown key \"%.40s\" (only \"vcpus\")", key);
				return 400;
			}
	if (!list) {
		vm_resume(vm);
	} else {
		if (!json_is_array(list) || !json_array_size(list)) {
			*out = api_error("resume: \"vcpus\" must be a non-empty array of vCPU numbers");
			return 400;
		}
		json_array_foreach(list, i, v) {
			if (!json_is_integer(v) || json_integer_value(v) < 0 ||
			    json_integer_value(v) >= (json_int_t)vm->nr_vcpus) {
				*out = api_error("resume: vCPU %s does not exist (this VM has %u)",
						 json_is_integer(v) ? "number" : "entry", vm->nr_vcpus);
				return 400;
			}
			which[json_integer_value(v)] = true;
		}
		vm_resume_vcpus(vm, which);
	}
	*out = json_pack("{s:s}", "state", api_vm_state(vm));
	return 200;
}

static int put_shutdown(struct api_ctx *c, json_t **out)
{
	int err;

	if (vm_stopping(c->vm)) {
		*out = api_error("the VM is stopping");
		return 409;
	}
	err = vm_power_button(c->vm);
	if (err == -ENODEV) {
		*out = api_error("no ACPI (--no-acpi): no power button to press; PUT /vm/quit stops the VM");
		return 409;
	}
	/* a paused guest could not see the button */
	if (vm_paused(c->vm))
		vm_resume(c->vm);
	*out = json_pack("{s:s, s:s}", "state", api_vm_state(c->vm), "pressed", "power button");
	return 202;
}

static int put_quit(struct api_ctx *c, json_t *body, json_t **out)
{
	json_int_t status = EXIT_TERMINATED;
	const char *key;
	json_t *v;

	if (body)
		json_object_foreach(body, key, v) {
			if (strcmp(key, "status")) {
				*out = api_error("quit: unknown key \"%.40s\" (only \"status\")", key);
				return 400;
			}
			if (!json_is_integer(v) || json_integer_value(v) < 0 ||
			    json_integer_value(v) > 255) {
				*out = api_error("quit: \"status\" must be an exit status, 0 to 255");
				return 400;
			}
			status = json_integer_value(v);
		}
	vm_request_stop(c->vm, (int)status, "quit through the control API");
	*out = json_pack("{s:s, s:I}", "state", "stopping", "status", status);
	return 200;
}

/* What a vCPU's registers say about its mode. */
static const char *cpu_mode(const struct kvm_sregs *s)
{
	if (!(s->cr0 & 1))
		return "real";
	if (s->efer & (1u << 10)) /* LMA */
		return s->cs.l ? "long (64-bit)" : "long (compatibility)";
	return s->cs.db ? "protected (32-bit)" : "protected (16-bit)";
}

struct all_regs {
	struct kvm_regs r;
	struct kvm_sregs s;
	struct kvm_mp_state mp;
};

static int read_regs(struct vcpu *v, void *arg)
{
	struct all_regs *a = arg;

	if (ioctl(v->fd, KVM_GET_REGS, &a->r) < 0 || ioctl(v->fd, KVM_GET_SREGS, &a->s) < 0)
		return -errno;
	if (ioctl(v->fd, KVM_GET_MP_STATE, &a->mp) < 0)
		a->mp.mp_state = ~0u;
	return 0;
}

static const char *mp_state_name(uint32_t m)
{
	switch (m) {
	case KVM_MP_STATE_RUNNABLE: return "runnable";
	case KVM_MP_STATE_UNINITIALIZED: return "waiting for INIT/SIPI";
	case KVM_MP_STATE_INIT_RECEIVED: return "INIT received";
	case KVM_MP_STATE_HALTED: return "halted";
	case KVM_MP_STATE_SIPI_RECEIVED: return "SIPI received";
	default: return "unknown";
	}
}

int api_with_paused(struct api_ctx *c, struct vcpu *v,
		    int (*fn)(struct vcpu *v, void *arg), void *arg, bool *briefly)
{
	struct vm *vm = c->vm;
	int err;

	*briefly = false;
	err = vcpu_call_parked(v, fn, arg);
	if (err != -EBUSY)
		return err;
	/*
	 * Running: park every vCPU for the read and let them go again. Only
	 * when nobody else paused the VM (then it is parked and we never get
	 * here for that vCPU).
	 */
	if ((err = vm_pause(vm)) < 0)
		return err;
	*briefly = true;
	err = vcpu_call_parked(v, fn, arg);
	vm_resume(vm);
	return err;
}

static int get_vcpus(struct api_ctx *c, json_t **out)
{
	struct vm *vm = c->vm;
	bool was_paused = vm_paused(vm), paused_here = false;
	json_t *list = json_array();
	int state[CONFIG_MAX_CPUS];

	/* their states before the brief pause below, which is ours, not theirs */
	for (unsigned i = 0; i < vm->nr_vcpus && i < CONFIG_MAX_CPUS; i++)
		state[i] = atomic_load(&vm->vcpus[i].state);
	/* one pause for all of them, not one per vCPU */
	if (!was_paused && !vm_stopping(vm) && vm_pause(vm) == 0)
		paused_here = true;
	for (unsigned i = 0; i < vm->nr_vcpus && i < CONFIG_MAX_CPUS; i++) {
		struct vcpu *v = &vm->vcpus[i];
		struct all_regs a;
		json_t *o = json_pack("{s:i, s:i, s:s}", "id", (int)i,
				      "tid", atomic_load(&v->tid),
				      "state", vcpu_state_name(state[i]));

		if (vcpu_call_parked(v, read_regs, &a) == 0) {
			json_object_set_new(o, "rip", api_hex(a.r.rip));
			json_object_set_new(o, "mode", json_string(cpu_mode(&a.s)));
			json_object_set_new(o, "mp_state", json_string(mp_state_name(a.mp.mp_state)));
		} else {
			json_object_set_new(o, "rip", json_null());
			json_object_set_new(o, "mode", json_null());
			json_object_set_new(o, "mp_state", json_null());
		}
		json_array_append_new(list, o);
	}
	if (paused_here)
		vm_resume(vm);
	/* paused_here: the registers were sampled in a brief pause */
	*out = json_pack("{s:s, s:b, s:o}", "vm", api_vm_state(vm), "sampled_in_brief_pause",
			 paused_here, "vcpus", list);
	return 200;
}

static json_t *segment(const struct kvm_segment *s)
{
	return json_pack("{s:o, s:o, s:o, s:i, s:i, s:i, s:i, s:i, s:i, s:i}",
			 "selector", api_hex(s->selector), "base", api_hex(s->base),
			 "limit", api_hex(s->limit), "type", s->type, "present", s->present,
			 "dpl", s->dpl, "db", s->db, "s", s->s, "l", s->l, "g", s->g);
}

static int get_regs(struct api_ctx *c, unsigned id, json_t **out)
{
	struct vm *vm = c->vm;
	struct all_regs a;
	json_t *o;
	int err;

	if (id >= vm->nr_vcpus) {
		*out = api_error("vCPU %u does not exist (this VM has %u)", id, vm->nr_vcpus);
		return 404;
	}
	err = vcpu_call_parked(&vm->vcpus[id], read_regs, &a);
	if (err == -EBUSY || err == -ECANCELED) {
		*out = api_error(err == -EBUSY ? "vCPU %u is running: PUT /vm/pause first"
					       : "the VM is stopping (vCPU %u)", id);
		return 409;
	}
	if (err) {
		*out = api_error("KVM_GET_REGS/SREGS on vCPU %u: %s", id, strerror(-err));
		return 500;
	}
	o = json_pack("{s:i, s:s, s:s}", "id", (int)id, "mode", cpu_mode(&a.s),
		      "mp_state", mp_state_name(a.mp.mp_state));
#define R(name) json_object_set_new(o, #name, api_hex(a.r.name))
	R(rax); R(rbx); R(rcx); R(rdx); R(rsi); R(rdi); R(rsp); R(rbp);
	R(r8); R(r9); R(r10); R(r11); R(r12); R(r13); R(r14); R(r15);
	R(rip); R(rflags);
#undef R
#define S(name) json_object_set_new(o, #name, api_hex(a.s.name))
	S(cr0); S(cr2); S(cr3); S(cr4); S(cr8); S(efer); S(apic_base);
#undef S
#define SEG(name) json_object_set_new(o, #name, segment(&a.s.name))
	SEG(cs); SEG(ds); SEG(es); SEG(fs); SEG(gs); SEG(ss); SEG(tr); SEG(ldt);
#undef SEG
	json_object_set_new(o, "gdt", json_pack("{s:o, s:i}", "base", api_hex(a.s.gdt.base),
						"limit", a.s.gdt.limit));
	json_object_set_new(o, "idt", json_pack("{s:o, s:i}", "base", api_hex(a.s.idt.base),
						"limit", a.s.idt.limit));
	*out = o;
	return 200;
}

int api_dispatch(struct api_ctx *ctx, const struct api_request *req, json_t **out)
{
	struct api_call call;
	char err[384];
	int status = api_route(req, &call, err, sizeof(err));

	*out = NULL;
	if (status) {
		*out = api_error("%s", err);
		return status;
	}
	switch (call.ep) {
	case API_VM: status = get_vm(ctx, out); break;
	case API_PAUSE: status = put_pause(ctx, out); break;
	case API_RESUME: status = put_resume(ctx, call.body, out); break;
	case API_SHUTDOWN: status = put_shutdown(ctx, out); break;
	case API_QUIT: status = put_quit(ctx, call.body, out); break;
	case API_VCPUS: status = get_vcpus(ctx, out); break;
	case API_VCPU_REGS: status = get_regs(ctx, call.vcpu, out); break;
	case API_SLOTS: status = api_get_slots(ctx, out); break;
	case API_MEMORY: status = api_get_memory(ctx, &req->args, out); break;
	case API_TRANSLATE: status = api_get_translate(ctx, &req->args, out); break;
	case API_BUS: status = api_get_bus(ctx, out); break;
	case API_IRQ: status = api_get_irq(ctx, out); break;
	case API_STATS: status = api_get_stats(ctx, out); break;
	case API_FDS: status = api_get_fds(ctx, out); break;
	case API_THREADS: status = api_get_threads(ctx, out); break;
	case API_NR_ENDPOINTS: break;
	}
	json_decref(call.body);
	if (!*out) {
		*out = api_error("out of memory building the answer");
		status = 500;
	}
	return status;
}
