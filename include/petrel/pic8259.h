/*
 * The PC's pair of 8259A PICs (master at 0x20, slave at 0xA0 cascaded on
 * the master's IR2) and the PIIX edge/level control registers (ELCR), for
 * the split irqchip: the master's INT output goes to the vCPU as ExtINT.
 *
 * Wiring: three PIO ranges, each with opaque = struct pic8259 *:
 * PORT_PIC_MASTER (0x20, len 2) pic_master_ops, PORT_PIC_SLAVE (0xA0, len 2)
 * pic_slave_ops, PORT_PIC_ELCR (0x4D0, len 2) pic_elcr_ops. The PIC ports
 * decode 1-byte accesses only (wider reads return all-ones, wider writes
 * are ignored); the ELCR takes 1-byte accesses at either port and a 2-byte
 * access at 0x4D0 (both registers).
 *
 * Contract (8259A datasheet; PIIX for the ELCR):
 * - Port 0 writes with bit 4 set are ICW1, which starts initialisation:
 *   IMR, ISR, the edge inputs' IRR, special mask mode, poll and the
 *   rotations are cleared, reads select IRR, the edge detectors reset (an
 *   input that is high must fall and rise again to count), and (ICW1 bit 0
 *   clear) the ICW4 functions reset. Port 1 then takes ICW2 (vector base; bits 2:0 ignored), ICW3
 *   unless ICW1 bit 1 (single) is set, and ICW4 if ICW1 bit 0 asked for it
 *   (bit 1 auto-EOI, bit 4 special fully nested; the others are kept but
 *   change nothing: petrel is always in 8086 mode). ICW1 bit 3 (LTIM) is
 *   ignored, as on PIIX: the ELCR alone picks edge or level.
 * - After initialisation, port 1 writes are OCW1 (IMR), port 0 writes are
 *   OCW2 (bits 4:3 = 00: EOI, specific EOI, rotations, set priority) or
 *   OCW3 (bits 4:3 = 01: IRR/ISR read select, poll, special mask mode).
 *   Port 1 reads return IMR; port 0 reads return IRR or ISR as selected,
 *   or, once after a poll command, the poll word (0x80 | level if a request
 *   is pending, 0 if not) while acknowledging that level on that chip alone,
 *   like an INTA cycle without the cascade.
 * - Edge inputs (ELCR bit clear) set IRR on a rising edge of the line and
 *   keep it until the INTA cycle, even if the line falls first (what KVM and
 *   QEMU do, and what a pulsed device line needs). Level inputs (ELCR bit
 *   set) show the line in IRR at every moment; an INTA does not clear it, so
 *   a line still high after the EOI interrupts again. IRR latches whether or
 *   not IMR masks the input. An input the ELCR turns from level to edge
 *   keeps its IRR bit as a latched request.
 * - The slave's INT output drives the master's IR2 (always edge: ELCR bit 2
 *   is fixed 0); pic_set_irq(2) is ignored, the line belongs to the slave.
 *   The INTA that serves IR2 re-arms the master's IR2 edge detector, so a
 *   slave that still has a request after it (auto-EOI, or a higher request)
 *   is seen again.
 * - pic_ack is the INTA cycle. It returns the vector of the master's highest
 *   priority request above every level in service (special mask mode:
 *   masked levels in service do not count; special fully nested mode: the
 *   master's IR2 in service does not block the slave), or of the slave's
 *   through IR2. It sets the ISR bit (not in auto-EOI mode, where
 *   rotate-in-auto-EOI then rotates) and clears an edge input's IRR. With
 *   nothing pending it returns the spurious vector: the master's IR7 (no ISR
 *   bit set) or, when IR2 was pending but the slave's request is gone, the
 *   slave's IR7 (vector base + 7: IRQ15) with the master's IR2 in service.
 *   In single mode (ICW1 bit 1) the master answers IR2 with its own vector.
 * - ops->intr_changed is called whenever the master's INT output changes
 *   level, after the state change that caused it: from pic_set_irq, a port
 *   write or read (poll), pic_ack and pic_reset. pic_init does not call it.
 * - Reset (pic_init, pic_reset) is the power-on state: everything 0 (IMR
 *   0, vector bases 0, ELCR 0, not initialised): the guest must program the
 *   pair before it unmasks ExtINT in its LAPIC. pic_reset keeps the line
 *   levels, which belong to the devices.
 * - No locking: the caller serialises every entry point (the three port
 *   ranges, pic_set_irq, pic_ack, pic_reset) with one mutex. intr_changed
 *   is called with that mutex held and must not call back into the PIC.
 */
#ifndef PETREL_PIC8259_H
#define PETREL_PIC8259_H

#include <stdbool.h>
#include <stdint.h>

#include "petrel/bus.h"

#define PORT_PIC_MASTER 0x20
#define PORT_PIC_SLAVE 0xa0
#define PORT_PIC_ELCR 0x4d0
#define PIC_NR_PORTS 2

#define PIC_NR_IRQS 16
#define PIC_CASCADE_IRQ 2
/* ELCR bits that can be set: not IRQ 0, 1, 2 (master), 8, 13 (slave) */
#define PIC_ELCR_MASK_MASTER 0xf8
#define PIC_ELCR_MASK_SLAVE 0xde

struct pic_ops {
	/*
	 * The master's INT output changed level (true = an interrupt is
	 * pending for the CPU). The integration then requests an interrupt
	 * window and, when the vCPU can take it, calls pic_ack and injects
	 * with KVM_INTERRUPT.
	 */
	void (*intr_changed)(void *opaque, bool level);
};

/* One 8259A. */
struct pic_chip {
	uint8_t irr, isr, imr;
	uint8_t lines;    /* input levels */
	uint8_t armed;    /* edge detectors: bit set = a rising edge will latch */
	uint8_t elcr;     /* 1 = level-triggered input */
	uint8_t elcr_mask;
	uint8_t base;     /* ICW2 & 0xf8 */
	uint8_t icw3;
	uint8_t icw4;
	uint8_t lowest;   /* the level of lowest priority (7 after ICW1) */
	uint8_t init_step; /* 0: initialised; 2, 3, 4: next ICW expected */
	bool need_icw4, single;
	bool read_isr, poll, special_mask, rotate_aeoi;
};

struct pic8259 {
	const struct pic_ops *ops;
	void *opaque;
	struct pic_chip chip[2]; /* 0: master, 1: slave */
	bool intr;                /* the master's INT output, as last reported */
};

void pic_init(struct pic8259 *p, const struct pic_ops *ops, void *opaque);
/* Back to the power-on state; line levels stay. */
void pic_reset(struct pic8259 *p);

/* ISA IRQ 0..15 (8..15 on the slave); 2 and anything above 15 ignored. */
void pic_set_irq(struct pic8259 *p, unsigned irq, int level);

/* The INTA cycle: the vector to inject (see the contract above). */
int pic_ack(struct pic8259 *p);

/* The master's INT output now. */
bool pic_intr(const struct pic8259 *p);

extern const struct bus_dev_ops pic_master_ops;
extern const struct bus_dev_ops pic_slave_ops;
extern const struct bus_dev_ops pic_elcr_ops;

#endif
