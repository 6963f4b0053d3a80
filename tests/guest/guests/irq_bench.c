/*
 * irq_bench: the guest of bench/irq_petrel.c (interrupt delivery per
 * irqchip mode). CPL3, interrupts on; IOAPIC pin a2 -> vector 0x60 on this
 * CPU, edge (a1 = 0) or level-triggered (a1 = 1).
 *
 *   guest_main(n, level, pin, 0):
 *     SYNC(1)    the host's device thread starts raising the line
 *     n times: wait for the next interrupt (the kit's IDT stub counts it
 *              and reports it to the host), then EOI it at the LAPIC
 *     SYNC(2)    done
 */
#include "guest.h"

#define VEC 0x60

void guest_main(uint64_t n, uint64_t level, uint64_t pin, uint64_t a3)
{
	(void)a3;
	lapic_write(LAPIC_SVR, 0x100 | 0xff);
	lapic_write(LAPIC_TPR, 0);
	ioapic_write(0x10 + 2 * (unsigned)pin + 1, lapic_id() << 24);
	ioapic_write(0x10 + 2 * (unsigned)pin, VEC | (level ? 1u << 15 : 0));
	irq_enable();
	GUEST_SYNC(1);
	for (uint64_t i = 0; i < n; i++) {
		while (kit_trap_count[VEC] <= i)
			cpu_relax();
		lapic_write(LAPIC_EOI, 0);
	}
	GUEST_SYNC(2);
}
