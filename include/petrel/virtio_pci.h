/*
 * The virtio-pci modern transport (virtio 1.2, 4.1): a PCI function with
 * vendor-specific capabilities pointing into one 64-bit memory BAR, and
 * MSI-X. There is no legacy (0.9) interface and no I/O BAR.
 *
 * BAR 0 (VIRTIO_PCI_BAR_SIZE bytes, 64-bit, non-prefetchable):
 *   0x0000  common configuration (struct virtio_pci_common_cfg)
 *   0x1000  ISR status (read clears)
 *   0x2000  device-specific configuration
 *   0x3000  notifications: queue q at 0x3000 + 4 * q
 *   0x4000  MSI-X table (one vector per queue, one for config changes)
 *   0x5000  MSI-X PBA
 * Config space also has the VIRTIO_PCI_CAP_PCI_CFG window the spec
 * requires, for drivers that reach the BAR through config space.
 *
 * The BAR is placed at creation (petrel plays firmware) and enabled; the
 * guest may size and move it: the range follows on the MMIO bus (bus_move)
 * whenever the address or the memory-decode bit changes.
 *
 * Interrupts (virtio 1.2, 4.1.4.5 and 4.1.5.4): with MSI-X enabled, a queue
 * or config notification is the MSI-X message of its vector (none for
 * VIRTIO_NO_VECTOR). With MSI-X disabled it sets the ISR bit (queue: bit 0,
 * config: bit 1) and the function's INTx line (pin INTA#, level) is high
 * while ISR is non-zero: a read of ISR returns and clears it and drops the
 * line. The Status register's Interrupt Status bit shows that request; the
 * Command register's INTx Disable bit keeps it off the wire. A device reset
 * clears ISR. The line is a struct irq_line given after the function has
 * its slot (virtio_pci_set_intx); until then INTx reaches nothing.
 * Lock order: PCI host lock, then the virtio device's, then MSI-X's.
 */
#ifndef PETREL_VIRTIO_PCI_H
#define PETREL_VIRTIO_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "petrel/bus.h"
#include "petrel/irq.h"
#include "petrel/pci.h"
#include "petrel/pci_msix.h"
#include "petrel/virtio.h"

#define VIRTIO_PCI_BAR_SIZE 0x8000
#define VIRTIO_PCI_VENDOR 0x1af4
#define VIRTIO_PCI_DEVICE_BASE 0x1040 /* + the virtio device ID */

/*
 * Hooks for KVM_IOEVENTFD: when the notify area moves, the transport asks
 * for queue q's kick eventfd to be signalled by a write to gpa (4 bytes,
 * any value). Optional: without them every notify is a trapped MMIO write.
 */
struct virtio_pci_ioeventfd {
	int (*assign)(void *opaque, uint64_t gpa, int fd);
	void (*deassign)(void *opaque, uint64_t gpa, int fd);
	void *opaque;
};

struct virtio_pci {
	struct pci_dev pci;
	struct pci_msix msix;
	struct virtio_dev *vdev;
	struct bus *mmio;
	struct virtio_pci_ioeventfd ioev;
	uint64_t bar_at;   /* where the BAR is on the bus; valid if mapped */
	bool mapped;
	bool ioev_on;
	/* BAR placements refused (over another device); the first few are logged */
	unsigned bar_conflicts;
	/* common-config state, under the virtio device's lock */
	uint32_t dfselect, gfselect;
	uint16_t queue_select;
	uint8_t isr;
	/* INTx, under the virtio device's lock too */
	struct irq_line intx;
	bool intx_disabled; /* the Command register's INTx Disable bit */
	bool intx_pending;  /* ISR != 0 with MSI-X off: the Status bit */
	bool intx_up;       /* the line as driven */
	uint64_t intx_raised; /* statistics: times the line went high */
	char name[32];
};

/*
 * Builds the function for vdev with class_code (class << 16 | subclass <<
 * 8 | prog-if); the BAR is placed at bar_gpa (VIRTIO_PCI_BAR_SIZE-aligned)
 * on mmio and memory decode is on. ioev may be NULL. 0 or -errno.
 */
int virtio_pci_init(struct virtio_pci *p, struct virtio_dev *vdev,
		    uint32_t class_code, struct bus *mmio, uint64_t bar_gpa,
		    struct irqchip *chip, const struct virtio_pci_ioeventfd *ioev);
void virtio_pci_destroy(struct virtio_pci *p);
/*
 * The function's INTx line (pci_intx_gsi of its slot, pin INTA#): also
 * written to the Interrupt Line register, as firmware would. Before the
 * guest runs.
 */
void virtio_pci_set_intx(struct virtio_pci *p, struct irq_line line);
/* Times the INTx line went high (statistics; takes the device lock). */
uint64_t virtio_pci_intx_count(struct virtio_pci *p);

/* The BAR's accessors, exported for unit tests (offset inside the BAR). */
extern const struct bus_dev_ops virtio_pci_bar_ops;

#endif
