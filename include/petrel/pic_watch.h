/*
 * Spotting an 8259 interrupt that KVM's in-kernel irqchip will never
 * deliver, from snapshots of the PIC pair (KVM_GET_IRQCHIP).
 *
 * KVM's PIC tells a vCPU about its INTR output only when the output rises,
 * and only a vCPU whose LAPIC takes ExtINT at that instant (LINT0 unmasked
 * in ExtINT mode, or the LAPIC hardware-disabled): see pic_unlock and
 * kvm_apic_accept_pic_intr in Linux's arch/x86/kvm. Unmasking LINT0 later
 * re-checks nothing, so an output that rose while LINT0 was masked stays
 * high and unseen for good. A real LAPIC samples the INTR level instead.
 * Linux in virtual-wire mode (no MADT, no MP table it can parse) walks into
 * exactly that: setup_local_APIC soft-disables the LAPIC (KVM then masks
 * every LVT) and writes LINT0 = ExtINT again some exits later; a PIT tick
 * in between leaves IRQ 0 pending forever, the in-kernel PIT (reinject
 * mode) waits for an ack that never comes, and the boot hangs in
 * calibrate_delay with jiffies frozen.
 *
 * The cure is to make KVM re-evaluate the BSP's pending interrupts (the
 * kick the rising edge would have given): the vCPU side does that; this
 * module decides when, as a pure function of successive samples, so it is
 * tested without KVM.
 */
#ifndef PETREL_PIC_WATCH_H
#define PETREL_PIC_WATCH_H

#include <linux/kvm.h>
#include <stdbool.h>

/* Sampling period while some PIC input is unmasked, and while none is. */
#define PIC_WATCH_ACTIVE_MS 20u
#define PIC_WATCH_IDLE_MS 500u
/* Nudges that change nothing back off, doubling up to this period. */
#define PIC_WATCH_MAX_MS 1000u

/*
 * Whether the master's INTR output is asserted, computed as KVM's i8259.c
 * does (pic_get_irq, pic_update_irq): the highest-priority unmasked request
 * beats the highest in service; the slave's request counts as master IRQ 2.
 */
bool pic_output_asserted(const struct kvm_pic_state *master,
			 const struct kvm_pic_state *slave);

/* Whether any input can reach the output at all (some line is unmasked). */
bool pic_any_unmasked(const struct kvm_pic_state *master,
		      const struct kvm_pic_state *slave);

struct pic_watch {
	bool have_prev;
	unsigned char prev[6];  /* IRR, ISR, IMR of master and slave */
	unsigned interval_ms;   /* how long to wait before the next sample */
	unsigned backoff_ms;    /* current period while nudges change nothing */
	unsigned long nudges;
};

void pic_watch_init(struct pic_watch *w);

/*
 * Feeds one sample of the PIC pair. Returns true when the BSP should be
 * nudged: the output is asserted and nothing was acknowledged, masked or
 * raised since the previous sample (an interrupt KVM is sitting on). Sets
 * w->interval_ms to the delay before the next sample.
 */
bool pic_watch_sample(struct pic_watch *w, const struct kvm_pic_state *master,
		      const struct kvm_pic_state *slave);

#endif
