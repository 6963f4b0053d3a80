/* The exits class: one line per KVM exit (trace.h). */
#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>

#include "petrel/trace.h"
#include "petrel/util.h"

/* The reasons a vCPU of petrel's can meet; the rest print as numbers. */
static const char *const reasons[] = {
	[KVM_EXIT_UNKNOWN] = "UNKNOWN",
	[KVM_EXIT_EXCEPTION] = "EXCEPTION",
	[KVM_EXIT_IO] = "IO",
	[KVM_EXIT_HYPERCALL] = "HYPERCALL",
	[KVM_EXIT_DEBUG] = "DEBUG",
	[KVM_EXIT_HLT] = "HLT",
	[KVM_EXIT_MMIO] = "MMIO",
	[KVM_EXIT_IRQ_WINDOW_OPEN] = "IRQ_WINDOW_OPEN",
	[KVM_EXIT_SHUTDOWN] = "SHUTDOWN",
	[KVM_EXIT_FAIL_ENTRY] = "FAIL_ENTRY",
	[KVM_EXIT_INTR] = "INTR",
	[KVM_EXIT_SET_TPR] = "SET_TPR",
	[KVM_EXIT_TPR_ACCESS] = "TPR_ACCESS",
	[KVM_EXIT_NMI] = "NMI",
	[KVM_EXIT_INTERNAL_ERROR] = "INTERNAL_ERROR",
	[KVM_EXIT_OSI] = "OSI",
	[KVM_EXIT_WATCHDOG] = "WATCHDOG",
	[KVM_EXIT_EPR] = "EPR",
	[KVM_EXIT_SYSTEM_EVENT] = "SYSTEM_EVENT",
	[KVM_EXIT_IOAPIC_EOI] = "IOAPIC_EOI",
	[KVM_EXIT_HYPERV] = "HYPERV",
	[KVM_EXIT_X86_RDMSR] = "X86_RDMSR",
	[KVM_EXIT_X86_WRMSR] = "X86_WRMSR",
	[KVM_EXIT_DIRTY_RING_FULL] = "DIRTY_RING_FULL",
	[KVM_EXIT_X86_BUS_LOCK] = "X86_BUS_LOCK",
};

const char *trace_exit_reason_name(unsigned reason)
{
	return reason < ARRAY_SIZE(reasons) ? reasons[reason] : NULL;
}

void trace_exit(struct tracer *t, unsigned vcpu, const struct kvm_run *run)
{
	const char *name = trace_exit_reason_name(run->exit_reason);
	char who[16], reason[32], what[160] = "";

	snprintf(who, sizeof(who), "vcpu%u", vcpu);
	if (name)
		snprintf(reason, sizeof(reason), "%s", name);
	else
		snprintf(reason, sizeof(reason), "%u", run->exit_reason);
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		snprintf(what, sizeof(what), " port=0x%x %s size=%u count=%u",
			 run->io.port, run->io.direction == KVM_EXIT_IO_OUT ? "out" : "in",
			 run->io.size, run->io.count);
		break;
	case KVM_EXIT_MMIO:
		snprintf(what, sizeof(what), " gpa=0x%llx %s len=%u",
			 (unsigned long long)run->mmio.phys_addr,
			 run->mmio.is_write ? "write" : "read", run->mmio.len);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		snprintf(what, sizeof(what), " suberror=%u", run->internal.suberror);
		break;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(what, sizeof(what), " hardware_reason=0x%llx",
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		break;
	case KVM_EXIT_SYSTEM_EVENT:
		snprintf(what, sizeof(what), " type=%u", run->system_event.type);
		break;
	case KVM_EXIT_UNKNOWN:
		snprintf(what, sizeof(what), " hardware_reason=0x%llx",
			 (unsigned long long)run->hw.hardware_exit_reason);
		break;
	case KVM_EXIT_IOAPIC_EOI:
		snprintf(what, sizeof(what), " vector=0x%x", run->eoi.vector);
		break;
	}
	trace_emit_who(t, who, TRACE_EXITS, "%s%s", reason, what);
}

void trace_exit_intr(struct tracer *t, unsigned vcpu, int err)
{
	char who[16];

	snprintf(who, sizeof(who), "vcpu%u", vcpu);
	trace_emit_who(t, who, TRACE_EXITS, "INTR errno=%s (kicked out of KVM_RUN)",
		       err == EAGAIN ? "EAGAIN" : "EINTR");
}
