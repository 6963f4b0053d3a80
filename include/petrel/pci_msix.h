/*
 * MSI-X for a PCI function: the capability in config space, the vector
 * table and the pending-bit array (PBA) in a BAR, and delivery through the
 * irqchip seam (irq_msi).
 *
 * Contract: a vector fires only while MSI-X is enabled, the function is
 * not masked (MASKALL) and the entry's mask bit is clear; otherwise its
 * pending bit is set and the message goes out when the mask is lifted
 * (PCI 3.0, 6.8.2). Table entries start masked. Accesses to the table are
 * dword or qword (PCI says dword-aligned dword or qword); others are
 * dropped / read as 0. Thread-safe: the table is written by vCPUs, vectors
 * fire from the I/O thread; an internal lock orders them. The lock is taken
 * last: callers may hold their own.
 */
#ifndef PETREL_PCI_MSIX_H
#define PETREL_PCI_MSIX_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "petrel/irq.h"
#include "petrel/pci.h"

#define PCI_MSIX_MAX_VECTORS 64

struct pci_msix_entry {
	uint32_t addr_lo, addr_hi, data, ctrl;
};

struct pci_msix {
	pthread_mutex_t lock;
	struct irqchip *chip;
	const char *owner;  /* the function's name, for --trace irq (NULL: "?") */
	unsigned nr;        /* vectors */
	unsigned cap;       /* capability's offset in config space */
	uint16_t ctrl;      /* message control: ENABLE, MASKALL */
	struct pci_msix_entry table[PCI_MSIX_MAX_VECTORS];
	uint64_t pba;       /* one bit per vector */
	uint64_t sent, deferred; /* statistics */
	bool irqfd;         /* vectors go out through route[]/fd[] */
	int route[PCI_MSIX_MAX_VECTORS];
	int fd[PCI_MSIX_MAX_VECTORS];
};

/*
 * Writes the capability at config offset cap (12 bytes, next pointer
 * `next`) for nr vectors whose table sits at table_off and PBA at pba_off in
 * BAR bar (both 8-byte aligned). 0 or -EINVAL.
 */
int pci_msix_init(struct pci_msix *m, struct pci_dev *d, unsigned cap,
		  uint8_t next, unsigned nr, unsigned bar, uint32_t table_off,
		  uint32_t pba_off, struct irqchip *chip);
void pci_msix_destroy(struct pci_msix *m);
/*
 * Sends every vector through an irqfd route of the chip (msi_route_*)
 * instead of irq_msi: 0, or -ENOTSUP (the chip has no routes) / -errno, in
 * which case nothing changed and vectors keep the plain path.
 */
int pci_msix_use_irqfd(struct pci_msix *m);

/* Table and PBA accesses: offsets inside each. */
uint64_t pci_msix_table_read(struct pci_msix *m, uint64_t off, unsigned size);
void pci_msix_table_write(struct pci_msix *m, uint64_t off, uint64_t val,
			  unsigned size);
uint64_t pci_msix_pba_read(struct pci_msix *m, uint64_t off, unsigned size);

/* Call after every config write: picks up ENABLE/MASKALL from d. */
void pci_msix_config_written(struct pci_msix *m, const struct pci_dev *d);

bool pci_msix_enabled(struct pci_msix *m);
/*
 * Fires vector v (or marks it pending). 0, -EINVAL for a vector out of
 * range, -ENODEV when MSI-X is disabled (the caller falls back to INTx).
 */
int pci_msix_notify(struct pci_msix *m, unsigned v);
/* Back to power-on state (all entries masked, nothing pending, disabled). */
void pci_msix_reset(struct pci_msix *m, struct pci_dev *d);

#endif
