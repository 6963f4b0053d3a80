/*
 * KVM's in-kernel irqchip: PIC pair, IOAPIC, one LAPIC per vCPU, and the
 * in-kernel PIT, with the GSI routes kvm_routes.h describes (the PC
 * convention; the ACPI MADT and the MP table describe exactly this).
 */
#ifndef PETREL_IRQCHIP_KVM_H
#define PETREL_IRQCHIP_KVM_H

#include <stdbool.h>

#include "petrel/irq.h"

struct kvm_pic_state;
struct tracer;

/*
 * Creates the irqchip and PIT in the VM vm_fd and fills *chip (which then
 * traces to tr, which may be NULL, and
 * owns a small state: irqchip_kvm_destroy frees it, also after a failure
 * here). The chip offers MSI routes for irqfd (irq.h: msi_route_*), as
 * GSIs from IOAPIC_PINS up, and level irqfds. 0 or -errno.
 */
int irqchip_kvm_create(struct irqchip *chip, int vm_fd, struct tracer *tr);
/* Does nothing for a chip irqchip_kvm_create did not make. */
void irqchip_kvm_destroy(struct irqchip *chip);
bool irqchip_is_kvm(const struct irqchip *chip);

/*
 * Snapshots the in-kernel 8259 pair (KVM_GET_IRQCHIP: a VM ioctl, safe from
 * any thread while the vCPUs run). 0 or -errno, silently: the caller
 * decides whether a failure matters.
 */
int irqchip_kvm_get_pic(int vm_fd, struct kvm_pic_state *master,
			struct kvm_pic_state *slave);

#endif
