/*
 * KVM's GSI routing table, kept by petrel because KVM_SET_GSI_ROUTING only
 * ever replaces it whole. Both irqchips keep one: a fixed part for the
 * IOAPIC's pins plus the MSI routes devices fire through irqfd (irq.h,
 * msi_route_*), at GSIs from IOAPIC_PINS up.
 *
 * The fixed part depends on who models the IOAPIC:
 * - kernel irqchip: IRQCHIP entries, the PC convention QEMU uses too:
 *   ISA IRQ 0 (the PIT) to IOAPIC pin 2, the other ISA IRQs to the pin of
 *   the same number and to the 8259s, GSIs 16-23 to the IOAPIC only.
 * - split irqchip (KVM_CAP_SPLIT_IRQCHIP): KVM has no IOAPIC, so GSIs
 *   0..23 are MSI entries mirroring petrel's redirection entries. KVM reads
 *   them only to learn which vectors are level-triggered for which CPUs:
 *   an EOI of such a vector exits to petrel (KVM_EXIT_IOAPIC_EOI), which
 *   clears the pin's remote IRR. Interrupts themselves go by KVM_SIGNAL_MSI.
 *
 * Thread-safe: one lock around the table and each KVM_SET_GSI_ROUTING.
 */
#ifndef PETREL_KVM_ROUTES_H
#define PETREL_KVM_ROUTES_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "petrel/layout.h"

#define KVM_ROUTES_MSI 256
#define KVM_ROUTES_MSI_GSI_BASE IOAPIC_PINS

struct tracer;

struct kvm_routes {
	int vm_fd;
	struct tracer *tr; /* --trace kvm: KVM_SET_GSI_ROUTING, KVM_IRQFD */
	bool split;
	pthread_mutex_t lock;
	struct {
		uint64_t addr;
		uint32_t data;
	} pin[IOAPIC_PINS]; /* split only */
	struct {
		bool used;
		int fd; /* the irqfd's eventfd */
		uint64_t addr;
		uint32_t data;
	} msi[KVM_ROUTES_MSI];
	atomic_ullong commits; /* KVM_SET_GSI_ROUTING calls that succeeded */
};

/*
 * Sets KVM's first table; tr (may be NULL) traces the ioctls. 0 or -errno
 * (r is usable for destroy either way).
 */
int kvm_routes_init(struct kvm_routes *r, int vm_fd, bool split, struct tracer *tr);
void kvm_routes_destroy(struct kvm_routes *r);

/*
 * Split only: the MSI message pin's redirection entry makes. KVM's table
 * is rewritten only when the message changed. 0 or -errno.
 */
int kvm_routes_set_pin(struct kvm_routes *r, unsigned pin, uint64_t addr,
		       uint32_t data);

/* irq.h's msi_route_add / _set / _del for an irqchip built on r. */
int kvm_routes_msi_add(struct kvm_routes *r, int *fd);
int kvm_routes_msi_set(struct kvm_routes *r, int id, uint64_t addr, uint32_t data);
void kvm_routes_msi_del(struct kvm_routes *r, int id);
/* Appends the MSI routes in use to out->msi (the control API's GET /irq). */
struct irqchip_info;
void kvm_routes_msi_list(struct kvm_routes *r, struct irqchip_info *out);

#endif
