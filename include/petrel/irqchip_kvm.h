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

/* Creates the irqchip and PIT and fills vm->irqchip. 0 or -errno. */
int irqchip_kvm_create(struct vm *vm);

#endif
