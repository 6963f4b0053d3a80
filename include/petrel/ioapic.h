/*
 * IOAPIC (Intel 82093AA, version 0x20 register set) for the split irqchip:
 * 24 pins whose redirection entries turn line levels into MSI messages for
 * the LAPICs in KVM.
 *
 * Wiring: one MMIO range at IOAPIC_ADDR, len IOAPIC_MMIO_SIZE (4 KiB),
 * ioapic_mmio_ops, opaque = struct ioapic *. IOREGSEL at offset 0x00,
 * IOWIN at 0x10, the EOI register (write-only) at 0x40. Only aligned 4-byte
 * accesses at those three offsets are decoded: any other read returns 0 and
 * any other write is ignored (the datasheet requires dword accesses; Linux
 * makes nothing else).
 *
 * Registers (IOREGSEL's low 8 bits pick one; IOREGSEL reads back as
 * written, bits 31:8 as 0):
 * - 0x00 ID: bits 31:24 hold the id; writable. (The 82093AA keeps only 4
 *   bits; petrel's MP table names the IOAPIC with id = number of vCPUs,
 *   which may exceed 15, so 8 bits are kept and the guest reads back what
 *   the tables say.)
 * - 0x01 VER: 0x00170020 (version 0x20, highest entry 23); read-only.
 * - 0x02 ARB: the id in bits 31:24; read-only.
 * - 0x10 + 2n / 0x11 + 2n: the low and high halves of entry n (0..23).
 *   Writable: vector 7:0, delivery mode 10:8, destination mode 11,
 *   polarity 13, trigger mode 15, mask 16, destination 63:56. Delivery
 *   status (12) always reads 0 (a message leaves at once), remote IRR (14)
 *   is kept by the model; both ignore guest writes. Reserved bits read 0.
 * - any other index reads 0; writes to it are ignored.
 *
 * Contract:
 * - ioapic_set_irq() gives a pin's logical level: 1 is asserted, whatever
 *   polarity (bit 13) the guest programs, the same convention as KVM's
 *   KVM_IRQ_LINE and its in-kernel IOAPIC, so that a device raises its
 *   line the same way under either irqchip. Polarity is kept and read
 *   back. (The tables declare the ISA and virtio-mmio pins active high and
 *   PCI INTx lines active low; a guest follows them and sees its
 *   interrupts either way.)
 * - Edge-triggered entries (bit 15 clear) deliver once per rising edge of
 *   the asserted signal while unmasked. An edge that arrives while the
 *   entry is masked is lost, as on hardware (no latch): unmasking later
 *   delivers nothing. Reprogramming an edge entry never delivers.
 * - Level-triggered entries deliver whenever the pin is asserted, unmasked
 *   and remote IRR is clear: on assertion, on a guest write that unmasks it
 *   or changes trigger mode or polarity, and at the EOI of its vector
 *   (ioapic_eoi or the EOI register), which clears remote IRR first. Each
 *   delivery sets remote IRR. Writing an entry as edge-triggered clears its
 *   remote IRR (what KVM does, and what Linux's EOI for IOAPICs without an
 *   EOI register relies on: it flips the entry to edge and back).
 * - A delivery is one ops->deliver(pin, addr, data) call: addr = 0xFEE00000
 *   | destination << 12 | logical << 2, data = vector | delivery mode << 8 |
 *   1 << 14 (assert) | level << 15. Delivery modes fixed, lowest priority,
 *   SMI, NMI, INIT and ExtINT pass through; the two reserved modes (3, 6)
 *   deliver nothing (and set no remote IRR).
 * - ops->route_changed(pin, addr, data, masked) is called, with the same
 *   encoding, whenever a guest write changes an entry's writable bits, and
 *   for every pin at ioapic_init and ioapic_reset; it comes before any
 *   delivery the same write causes, so KVM's route is in place first.
 * - Both ops must be set.
 * - No locking: the caller serialises every entry point (bus access,
 *   ioapic_set_irq, ioapic_eoi, ioapic_reset) with one mutex. The ops are
 *   called with that mutex held and must not call back into this IOAPIC.
 */
#ifndef PETREL_IOAPIC_H
#define PETREL_IOAPIC_H

#include <stdbool.h>
#include <stdint.h>

#include "petrel/bus.h"
#include "petrel/layout.h"

#define IOAPIC_NR_PINS IOAPIC_PINS
#define IOAPIC_MMIO_SIZE 0x1000

/* MMIO offsets */
#define IOAPIC_IOREGSEL 0x00
#define IOAPIC_IOWIN 0x10
#define IOAPIC_EOI 0x40

/* Register indexes */
#define IOAPIC_REG_ID 0x00
#define IOAPIC_REG_VER 0x01
#define IOAPIC_REG_ARB 0x02
#define IOAPIC_REG_REDIR 0x10 /* + 2n: low half, + 2n + 1: high half */
#define IOAPIC_VERSION 0x20
#define IOAPIC_VER_VALUE \
	((uint32_t)(IOAPIC_NR_PINS - 1) << 16 | IOAPIC_VERSION)

/* Redirection entry bits */
#define IOAPIC_RTE_VECTOR 0xffULL
#define IOAPIC_RTE_DELMODE_SHIFT 8
#define IOAPIC_RTE_DELMODE (7ULL << IOAPIC_RTE_DELMODE_SHIFT)
#define IOAPIC_RTE_LOGICAL (1ULL << 11)
#define IOAPIC_RTE_DELIVS (1ULL << 12)
#define IOAPIC_RTE_ACTIVE_LOW (1ULL << 13)
#define IOAPIC_RTE_REMOTE_IRR (1ULL << 14)
#define IOAPIC_RTE_LEVEL (1ULL << 15)
#define IOAPIC_RTE_MASKED (1ULL << 16)
#define IOAPIC_RTE_DEST_SHIFT 56

/* Delivery modes (bits 10:8 of an entry, 10:8 of the MSI data) */
enum ioapic_delmode {
	IOAPIC_DM_FIXED = 0,
	IOAPIC_DM_LOWEST = 1,
	IOAPIC_DM_SMI = 2,
	IOAPIC_DM_NMI = 4,
	IOAPIC_DM_INIT = 5,
	IOAPIC_DM_EXTINT = 7,
};

/* MSI message fields */
#define IOAPIC_MSI_ADDR_BASE 0xfee00000ULL
#define IOAPIC_MSI_ADDR_DEST_SHIFT 12
#define IOAPIC_MSI_ADDR_LOGICAL (1ULL << 2)
#define IOAPIC_MSI_DATA_ASSERT (1u << 14)
#define IOAPIC_MSI_DATA_LEVEL (1u << 15)

struct ioapic_ops {
	/*
	 * Deliver one interrupt from pin, as the MSI message its redirection
	 * entry makes (address 0xFEExxxxx with destination id and destination
	 * mode; data = vector, delivery mode, level-trigger bit 15, assert
	 * bit 14).
	 */
	void (*deliver)(void *opaque, unsigned pin, uint64_t addr, uint32_t data);
	/*
	 * A redirection entry changed (guest write) or reset: the integration
	 * mirrors it into KVM's GSI route for the pin so KVM knows which
	 * vectors need an EOI exit. masked = entry's mask bit.
	 */
	void (*route_changed)(void *opaque, unsigned pin, uint64_t addr,
			      uint32_t data, bool masked);
};

struct ioapic {
	const struct ioapic_ops *ops;
	void *opaque;
	uint8_t reset_id; /* the id ioapic_init was given */
	uint8_t id;
	uint8_t ioregsel;
	uint32_t lines; /* bit n: pin n's electrical level (ioapic_set_irq) */
	uint64_t redir[IOAPIC_NR_PINS];
};

/* Reset state: every entry masked (and otherwise 0), all lines low. */
void ioapic_init(struct ioapic *io, uint8_t id, const struct ioapic_ops *ops,
		 void *opaque);
/*
 * The guest-visible state back to ioapic_init's (id, IOREGSEL, entries);
 * the line levels stay, as they belong to the devices.
 */
void ioapic_reset(struct ioapic *io);

/* A line level from a device; pin >= IOAPIC_NR_PINS is ignored. */
void ioapic_set_irq(struct ioapic *io, unsigned pin, int level);

/*
 * KVM_EXIT_IOAPIC_EOI: clears remote IRR of the level entries with this
 * vector and delivers again those still asserted (and unmasked).
 */
void ioapic_eoi(struct ioapic *io, uint8_t vector);

/* For the control API and tracing: entry n (0 for pin >= 24)... */
uint64_t ioapic_redir(const struct ioapic *io, unsigned pin);
/* ...the pin's electrical level (false for pin >= 24)... */
bool ioapic_line(const struct ioapic *io, unsigned pin);
/* ...and the MSI message an entry makes, as deliver() receives it. */
void ioapic_entry_msi(uint64_t entry, uint64_t *addr, uint32_t *data);

extern const struct bus_dev_ops ioapic_mmio_ops;

#endif
