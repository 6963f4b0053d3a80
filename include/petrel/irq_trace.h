/*
 * The irq class of --trace (trace.h): how an interrupt travels, one line per
 * event, answering "how does a device's interrupt reach the guest?".
 *
 *   irq line dev=com1 gsi=4 level=1 ioapic_pin=4 redir=0x31 vector=0x31
 *       delivery=fixed dest_mode=physical dest=0x0 trigger=edge polarity=high
 *       mask=0 remote_irr=0 pic=master:4 pic_masked=1 result=0
 *   irq msi dev=virtio-blk0 entry=1 addr=0xfee00000 data=0x22 vector=0x22
 *       delivery=fixed dest_mode=physical dest=0x0 trigger=edge via=irqfd
 *
 * irq_line_set() (irq.h) and the MSI-X code call these when the class is
 * on; so may an irqchip model of petrel's own (the split irqchip: IOAPIC,
 * PIC), whose events KVM cannot see:
 *
 *   trace_irq_ioapic(tr, pin, redir, "deliver")  a pin's message went out
 *   trace_irq_ioapic(tr, pin, redir, "masked")   asserted while masked
 *   trace_irq_ioapic(tr, pin, redir, "eoi")      the guest's EOI for it
 *   trace_irq_pic(tr, 0, 4, 0x24, "deliver")     8259 master pin 4, as vector
 *
 * Each decodes the redirection entry itself (vector, delivery mode,
 * destination and its mode, trigger, polarity, mask, remote IRR), so a
 * caller passes the entry as the model holds it. Every function here
 * writes only when tr has TRACE_IRQ on; callers still test trace_on()
 * first, so that the off path stays one branch.
 */
#ifndef PETREL_IRQ_TRACE_H
#define PETREL_IRQ_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "petrel/irq.h"
#include "petrel/trace.h"

/* "vector=0x31 delivery=fixed dest_mode=physical dest=0x0 trigger=edge ..." */
void irq_trace_decode_redir(uint64_t redir, char *buf, size_t len);
/* "vector=0x22 delivery=fixed dest_mode=physical dest=0x0 trigger=edge" */
void irq_trace_decode_msi(uint64_t addr, uint32_t data, char *buf, size_t len);

/*
 * An MSI message dev sent from its table entry `entry`: via "irqfd" (an
 * eventfd KVM turns into the message), "ioctl" (KVM_SIGNAL_MSI, or a
 * userspace chip), or "pending" (masked: its pending bit was set instead).
 */
void trace_irq_msi(struct tracer *tr, const char *dev, unsigned entry,
		   uint64_t addr, uint32_t data, const char *via);
/* dev's entry now goes out through MSI route id (KVM_SET_GSI_ROUTING). */
void trace_irq_msi_route(struct tracer *tr, const char *dev, unsigned entry,
			 int route, uint64_t addr, uint32_t data, int result);

/* Split irqchip events (see above). pic: 0 master, 1 slave. */
void trace_irq_ioapic(struct tracer *tr, unsigned pin, uint64_t redir,
		      const char *event);
void trace_irq_pic(struct tracer *tr, unsigned pic, unsigned pin,
		   unsigned vector, const char *event);

#endif
