/*
 * PCI bus 0 behind a host bridge, reached through configuration mechanism
 * #1 (ports 0xCF8 address, 0xCFC..0xCFF data).
 *
 * Wiring: ONE PIO range PORT_PCI_CONFIG (0xCF8), len PCI_HOST_NR_PORTS (8),
 * pci_host_ops, opaque = struct pci_host *. Why one range: 0xCF9 (reset
 * control) sits inside the 4-byte address register, and which of the two
 * an access means depends on its size (the PCI spec decodes CONFIG_ADDRESS
 * only for dword accesses to 0xCF8; anything else there is ordinary I/O).
 * A bus range cannot overlap another, so the host decodes the whole block:
 *   offset 0, 4 bytes        CONFIG_ADDRESS (bits 31, 23:2 read back)
 *   offset 1, 1 byte         forwarded to the reset-control device set
 *                            with pci_host_set_cf9() (offset 0 there)
 *   other accesses at 0..3   read all-ones, writes dropped
 *   offsets 4..7, 1/2/4 B    CONFIG_DATA: bytes (addr & 0xFC) + (off - 4)..
 *
 * Contract:
 * - Slot 0 is the host bridge, 8086:1237 class 06.00.00 (the i440FX PMC
 *   QEMU also shows): an ID guests know and no driver binds to, with no
 *   BARs; we own no PCI vendor ID for a petrel-specific one. Linux's
 *   pci_sanity_check looks for a host-bridge class on bus 0.
 * - Only function 0 of each slot exists; other functions, other buses and
 *   accesses with the enable bit (31) clear read all-ones; writes to them
 *   are dropped.
 * - Guest writes go through the device's wmask: a 0 bit is read-only.
 *   pci_dev_init leaves IDs, class, revision, header type, status,
 *   interrupt pin and BARs read-only; pci_dev_set_bar opens a BAR.
 * - Device hooks run with the host lock held: they must not call into the
 *   host. Devices are added before the vCPUs run.
 * - INTx: a function that has a pin says so in PCI_INTERRUPT_PIN (1..4 =
 *   INTA#..INTD#, 0 = none); pci_intx_gsi() is where that pin reaches the
 *   IOAPIC, the routing the DSDT's _PRT and the MP table describe. The
 *   Command register's INTx Disable bit is the guest's; a device that has
 *   a pin honours it and reports its request in the Status register's
 *   Interrupt Status bit (PCI 3.0, 6.2.2 and 6.2.3).
 */
#ifndef PETREL_PCI_H
#define PETREL_PCI_H

#include <pthread.h>
#include <stdint.h>

#include "petrel/bus.h"
#include "petrel/layout.h"

#define PCI_MAX_DEVICES 32
#define PCI_CFG_SIZE 256
#define PCI_HOST_NR_PORTS 8
#define PCI_NR_BARS 6

#define PCI_HOST_BRIDGE_VENDOR 0x8086
#define PCI_HOST_BRIDGE_DEVICE 0x1237
#define PCI_HOST_BRIDGE_CLASS 0x060000

struct pci_dev;

struct pci_dev_ops {
	/*
	 * Both optional. When set they replace the default config access
	 * (pci_dev_cfg_read/pci_dev_cfg_write below, which they may call).
	 * offset + size never crosses a dword; size is 1, 2 or 4.
	 */
	uint32_t (*config_read)(struct pci_dev *d, unsigned offset, unsigned size);
	void (*config_write)(struct pci_dev *d, unsigned offset, uint32_t value,
			     unsigned size);
};

struct pci_dev {
	uint8_t config[PCI_CFG_SIZE];
	uint8_t wmask[PCI_CFG_SIZE]; /* 1 = writable by the guest */
	const struct pci_dev_ops *ops; /* may be NULL */
	void *opaque;
	int slot; /* -1 until added to a host */
};

/*
 * Header type 0 with the given IDs; class_code is class << 16 |
 * subclass << 8 | prog-if. Command (IO, MEM, MASTER, PARITY, SERR,
 * INTX_DISABLE), cache line size, latency timer and interrupt line are
 * guest-writable; everything else starts read-only.
 */
void pci_dev_init(struct pci_dev *d, uint16_t vendor, uint16_t device,
		  uint32_t class_code, uint8_t revision,
		  const struct pci_dev_ops *ops, void *opaque);

/*
 * Declare BAR bar (0..5) of size bytes. flags: PCI_BASE_ADDRESS_SPACE_IO,
 * or memory with PCI_BASE_ADDRESS_MEM_TYPE_64 and/or _PREFETCH (a 64-bit
 * BAR also takes bar + 1). 0, or -EINVAL (bad index, size not a power of
 * two, below 4 (I/O) / 16 (memory), above 4 GiB for a 32-bit BAR).
 */
int pci_dev_set_bar(struct pci_dev *d, unsigned bar, uint64_t size,
		    uint32_t flags);
/* Where the guest placed BAR bar, flag bits masked off. */
uint64_t pci_dev_bar_addr(const struct pci_dev *d, unsigned bar);

/* The default config accessors (read: raw; write: through wmask). */
uint32_t pci_dev_cfg_read(const struct pci_dev *d, unsigned offset,
			  unsigned size);
void pci_dev_cfg_write(struct pci_dev *d, unsigned offset, uint32_t value,
		       unsigned size);
/* Host-side store that ignores wmask, for building config space. */
void pci_dev_cfg_set(struct pci_dev *d, unsigned offset, uint32_t value,
		     unsigned size);

struct pci_host {
	pthread_mutex_t lock;
	uint32_t addr; /* CONFIG_ADDRESS */
	struct pci_dev *devs[PCI_MAX_DEVICES];
	struct pci_dev bridge;
	const struct bus_dev_ops *cf9_ops;
	void *cf9_opaque;
};

/* Puts the host bridge at slot 0. 0 or -errno. */
int pci_host_init(struct pci_host *h);
void pci_host_destroy(struct pci_host *h);

/*
 * Add d at slot (0..31), or at the first free slot if slot < 0.
 * Returns the slot, or -EEXIST (slot taken), -ENOSPC (no free slot),
 * -EINVAL (slot > 31, or d already added).
 */
int pci_host_add(struct pci_host *h, struct pci_dev *d, int slot);

/* The device behind byte accesses to 0xCF9 (legacy_cf9_ops); NULL: none. */
void pci_host_set_cf9(struct pci_host *h, const struct bus_dev_ops *ops,
		      void *opaque);

/*
 * Config access by bus/device/function, as mechanism #1 does it; also the
 * entry point for a future ECAM window. offset + size must stay inside one
 * dword of the 256 bytes, size 1, 2 or 4; anything else reads all-ones.
 */
uint32_t pci_host_cfg_read(struct pci_host *h, unsigned bus, unsigned dev,
			   unsigned fn, unsigned offset, unsigned size);
void pci_host_cfg_write(struct pci_host *h, unsigned bus, unsigned dev,
			unsigned fn, unsigned offset, uint32_t value,
			unsigned size);

extern const struct bus_dev_ops pci_host_ops;

/* Slots that may hold a device with an INTx pin: all but the host bridge. */
#define PCI_INTX_FIRST_SLOT 1
#define PCI_INTX_PINS 4 /* INTA#..INTD# */

/*
 * The GSI of slot's INTx pin (0..3 = INTA#..INTD#, i.e. PCI_INTERRUPT_PIN
 * minus 1): the swizzle (slot + pin) % 4 picks one of four wires, and
 * wires A and B go to PCI_INTX_GSI_AB, C and D to PCI_INTX_GSI_CD
 * (layout.h says why those).
 */
static inline unsigned pci_intx_gsi(unsigned slot, unsigned pin)
{
	return (slot + pin) % PCI_INTX_PINS < 2 ? PCI_INTX_GSI_AB : PCI_INTX_GSI_CD;
}

#endif
