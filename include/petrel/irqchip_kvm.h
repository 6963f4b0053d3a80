/*
 * KVM's in-kernel irqchip: PIC pair, IOAPIC, one LAPIC per vCPU, and the
 * in-kernel PIT. GSI routing follows the PC convention QEMU uses: ISA IRQ 0
 * (the PIT) goes to IOAPIC pin 2, the other ISA IRQs to the pin of the same
 * number and to the 8259s, GSIs 16-23 to the IOAPIC only. The ACPI MADT and
 * the MP table describe exactly this.
 */
#ifndef PETREL_IRQCHIP_KVM_H
#define PETREL_IRQCHIP_KVM_H

struct vm;
struct kvm_pic_state;

/*
 * Creates the irqchip and PIT and fills vm->irqchip (which then owns a
 * small state: irqchip_kvm_destroy frees it, also after a failure here).
 * The chip offers MSI routes for irqfd (irq.h: msi_route_*), as GSIs from
 * IOAPIC_PINS up. 0 or -errno.
 */
int irqchip_kvm_create(struct vm *vm);
void irqchip_kvm_destroy(struct vm *vm);

/*
 * Snapshots the in-kernel 8259 pair (KVM_GET_IRQCHIP: a VM ioctl, safe from
 * any thread while the vCPUs run). 0 or -errno, silently: the caller
 * decides whether a failure matters.
 */
int irqchip_kvm_get_pic(struct vm *vm, struct kvm_pic_state *master,
			struct kvm_pic_state *slave);

#endif
