/*
 * The virtio devices the user asked for (--disk, --rng, --vconsole), each behind the
 * transport it chose: virtio-pci (a slot on the PCI host, its BAR placed in
 * the 32-bit PCI window) or virtio-mmio (a fixed window and GSI from
 * virtio_mmio_slots, the same list the boot plan described in the DSDT).
 * Devices get guest memory, the I/O thread and an irq line or the MSI
 * path; the KVM fast paths (ioeventfd for kicks) are injected hooks.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/kvm.h>
#include <linux/virtio_mmio.h>

#include "petrel/console.h"
#include "petrel/irq_levelfd.h"
#include "petrel/irq_shared.h"
#include "petrel/kvm.h"
#include "petrel/util.h"
#include "petrel/net_slirp.h"
#include "petrel/net_tap.h"
#include "petrel/vconsole_sock.h"
#include "petrel/virtio_blk.h"
#include "petrel/virtio_console.h"
#include "petrel/virtio_mmio.h"
#include "petrel/virtio_net.h"
#include "petrel/virtio_pci.h"
#include "petrel/virtio_rng.h"
#include "petrel/vm.h"
#include "petrel/vm_virtio.h"

/* BARs go here, one VIRTIO_PCI_BAR_SIZE apart: below the mmio windows. */
#define VIRTIO_PCI_BAR_BASE 0xc0000000ULL
#define MAX_DEVS (CONFIG_MAX_DISKS + 2 + CONFIG_MAX_NICS)
/* PCI class codes (class << 16 | subclass << 8): what QEMU shows too */
#define CLASS_STORAGE_SCSI 0x010000
#define CLASS_OTHER 0xff0000
#define CLASS_SERIAL 0x078000 /* communication controller, other */
#define CLASS_ETHERNET 0x020000

struct vdev {
	struct virtio_dev *vdev;
	struct virtio_blk *blk;
	struct virtio_rng *rng;
	struct virtio_console *con;
	struct vconsole_sock *sock; /* con's backend with socket=PATH */
	struct virtio_net *net;   /* and its backend, one of: */
	struct net_tap *tap;
	struct net_slirp *slirp;
	struct virtio_pci *pci;   /* one of these two */
	struct virtio_mmio *mmio;
	uint64_t mmio_base;
	bool mmio_ioev; /* its QueueNotify is on KVM_IOEVENTFD */
	struct irq_levelfd *lfd; /* its level line on irqfd, or NULL */
	struct irq_shared_src *isrc; /* virtio-pci's INTx without irqfd */
};

struct vm_virtio {
	struct vdev devs[MAX_DEVS];
	unsigned nr;
	struct virtio_console *con;
	int vm_fd;
	bool ioeventfd_any_len;
	struct tracer *tr; /* --trace kvm: the KVM_IOEVENTFDs */
	bool shared_ok;
	struct irq_shared shared; /* the PCI INTx lines, several devices each */
};

/* KVM_IOEVENTFD: a guest write to gpa signals fd inside KVM, no exit to us. */
static int ioev_set(struct vm_virtio *v, uint64_t gpa, int fd, bool assign)
{
	struct kvm_ioeventfd io = {
		.addr = gpa,
		/* Linux writes the queue index as 16 bits; 0 matches any width */
		.len = v->ioeventfd_any_len ? 0 : 2,
		.fd = fd,
		.flags = assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN,
	};
	int r = kvm_ioctl(v->vm_fd, KVM_IOEVENTFD, &io);

	if (trace_on(v->tr, TRACE_KVM))
		trace_kvm(v->tr, "KVM_IOEVENTFD", r, "gpa=0x%llx len=%u fd=%d %s",
			  (unsigned long long)gpa, io.len, fd, assign ? "assign" : "deassign");
	return r;
}

/*
 * virtio-mmio has one QueueNotify register for all queues: the written
 * value is the queue index, so each queue's eventfd matches its own value
 * (a 32-bit write, as the register file requires).
 */
static int ioev_mmio(struct vm_virtio *v, uint64_t gpa, unsigned q, int fd,
		     bool assign)
{
	struct kvm_ioeventfd io = {
		.datamatch = q,
		.addr = gpa,
		.len = 4,
		.fd = fd,
		.flags = KVM_IOEVENTFD_FLAG_DATAMATCH |
			 (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN),
	};
	int r = kvm_ioctl(v->vm_fd, KVM_IOEVENTFD, &io);

	if (trace_on(v->tr, TRACE_KVM))
		trace_kvm(v->tr, "KVM_IOEVENTFD", r, "gpa=0x%llx len=4 datamatch=%u fd=%d %s",
			  (unsigned long long)gpa, q, fd, assign ? "assign" : "deassign");
	return r;
}

static int ioev_assign(void *opaque, uint64_t gpa, int fd)
{
	return ioev_set(opaque, gpa, fd, true);
}

static void ioev_deassign(void *opaque, uint64_t gpa, int fd)
{
	ioev_set(opaque, gpa, fd, false);
}

/* The MMIO register window of a virtio-mmio device: offsets inside it. */
static int place_mmio(struct vm *vm, struct vm_virtio *v, struct vdev *d,
		      const struct virtio_mmio_slot *s)
{
	int err;

	d->mmio = calloc(1, sizeof(*d->mmio));
	if (!d->mmio)
		return -ENOMEM;
	struct irq_line line = { &vm->irqchip, s->gsi, d->vdev->name };

	/* the fast path for the level line; the plain one stays if it fails */
	if (!vm->cfg->no_irqfd) {
		d->lfd = calloc(1, sizeof(*d->lfd));
		if (!d->lfd)
			return -ENOMEM;
		err = irq_levelfd_init(d->lfd, &vm->irqchip, s->gsi, &vm->io);
		if (err == 0) {
			line = irq_levelfd_line(d->lfd, d->vdev->name);
		} else {
			/* -ENOTSUP: the split irqchip (no resampling irqfd there) */
			if (err != -ENOTSUP)
				pt_warn("%s: no irqfd for GSI %u (%s): its interrupts go by ioctl",
					d->vdev->name, s->gsi, strerror(-err));
			free(d->lfd);
			d->lfd = NULL;
		}
	}
	err = virtio_mmio_init(d->mmio, d->vdev, line);
	if (err < 0)
		return err;
	err = bus_insert(&vm->mmio, s->base, VIRTIO_MMIO_SIZE, &virtio_mmio_ops,
			 d->mmio, d->vdev->name);
	if (err < 0) {
		pt_err("%s: cannot place its virtio-mmio window at 0x%llx: %s",
		       d->vdev->name, (unsigned long long)s->base, strerror(-err));
		return err;
	}
	d->mmio_base = s->base;
	if (vm->cfg->no_ioeventfd)
		return 0;
	for (unsigned q = 0; q < d->vdev->nr_queues; q++) {
		if (ioev_mmio(v, s->base + VIRTIO_MMIO_QUEUE_NOTIFY, q,
			      virtio_queue_kick_fd(d->vdev, q), true) < 0) {
			/* the trapped write still works: only slower */
			while (q--)
				ioev_mmio(v, s->base + VIRTIO_MMIO_QUEUE_NOTIFY, q,
					  virtio_queue_kick_fd(d->vdev, q), false);
			return 0;
		}
	}
	d->mmio_ioev = true;
	return 0;
}

/*
 * The INTx line of a virtio-pci function in its slot. Other functions may
 * share the GSI, so the line must be the OR of theirs: KVM ORs irqfds
 * (each resampling irqfd has its own source), the plain path goes through
 * v->shared, which ORs the ioctl-driven ones.
 */
static int place_intx(struct vm *vm, struct vm_virtio *v, struct vdev *d,
		      unsigned gsi)
{
	int err;

	if (!vm->cfg->no_irqfd) {
		d->lfd = calloc(1, sizeof(*d->lfd));
		if (!d->lfd)
			return -ENOMEM;
		err = irq_levelfd_init(d->lfd, &vm->irqchip, gsi, &vm->io);
		if (err == 0) {
			virtio_pci_set_intx(d->pci, irq_levelfd_line(d->lfd, d->vdev->name));
			return 0;
		}
		/* -ENOTSUP: the split irqchip, whose lines are ioctl-free already */
		if (err != -ENOTSUP)
			pt_warn("%s: no irqfd for its INTx line, GSI %u (%s): it goes by ioctl",
				d->vdev->name, gsi, strerror(-err));
		free(d->lfd);
		d->lfd = NULL;
	}
	d->isrc = calloc(1, sizeof(*d->isrc));
	if (!d->isrc)
		return -ENOMEM;
	if ((err = irq_shared_src_init(d->isrc, &v->shared, gsi)) < 0) {
		free(d->isrc);
		d->isrc = NULL;
		return err;
	}
	virtio_pci_set_intx(d->pci, irq_shared_line(d->isrc, d->vdev->name));
	return 0;
}

static int place_pci(struct vm *vm, struct vm_virtio *v, struct pci_host *host,
		     struct vdev *d, uint32_t class_code, unsigned nth)
{
	const struct virtio_pci_ioeventfd ioev = { ioev_assign, ioev_deassign, v };
	int err;

	d->pci = calloc(1, sizeof(*d->pci));
	if (!d->pci)
		return -ENOMEM;
	err = virtio_pci_init(d->pci, d->vdev, class_code, &vm->mmio,
			      VIRTIO_PCI_BAR_BASE + (uint64_t)nth * VIRTIO_PCI_BAR_SIZE,
			      &vm->irqchip, vm->cfg->no_ioeventfd ? NULL : &ioev);
	if (err < 0) {
		pt_err("%s: virtio-pci: %s", d->vdev->name, strerror(-err));
		free(d->pci);
		d->pci = NULL;
		return err;
	}
	/* the fast path for interrupts; the plain one stays if it fails */
	if (!vm->cfg->no_irqfd && (err = pci_msix_use_irqfd(&d->pci->msix)) < 0)
		pt_warn("%s: no irqfd for its MSI-X vectors (%s): interrupts go by ioctl",
			d->vdev->name, strerror(-err));
	err = pci_host_add(host, &d->pci->pci, -1);
	if (err < 0) {
		pt_err("%s: no PCI slot: %s", d->vdev->name, strerror(-err));
		return err;
	}
	return place_intx(vm, v, d, pci_intx_gsi((unsigned)err, 0));
}

/* The mmio slot the boot plan gave device (kind, index), or NULL. */
static const struct virtio_mmio_slot *mmio_slot(const struct virtio_mmio_slot *slots,
						int n, enum virtio_mmio_kind kind,
						unsigned index)
{
	for (int i = 0; i < n; i++)
		if (slots[i].kind == kind && slots[i].index == index)
			return &slots[i];
	return NULL;
}

static size_t sock_deliver(void *opaque, const uint8_t *buf, size_t len)
{
	return virtio_console_receive(opaque, buf, len);
}

static void sock_tx_ready(void *opaque)
{
	virtio_console_tx_ready(opaque);
}

/* The virtio-console and its backend: the terminal or a Unix socket. */
static int make_console(struct vm *vm, struct evloop *loop, struct vdev *d)
{
	const struct vconsole_config *vc = &vm->cfg->vconsole;
	struct virtio_console_sink sink = { console_write, console_rx_ready, vm->console };
	int err;

	if (!vc->stdio) {
		if ((err = vconsole_sock_open(&d->sock, vc->path, loop)) < 0)
			return err;
		sink = (struct virtio_console_sink){ vconsole_sock_write,
						     vconsole_sock_rx_ready, d->sock };
	}
	if ((err = virtio_console_create(&d->con, 0, sink, &vm->mem, loop)) < 0)
		return err;
	if (d->sock)
		vconsole_sock_set_dev(d->sock, (struct console_dev){ sock_deliver, sock_tx_ready,
								     d->con });
	d->vdev = virtio_console_dev(d->con);
	return 0;
}

/* NIC i and its backend, started on the loop. */
static int make_net(struct vm *vm, struct evloop *loop, struct vdev *d, unsigned i)
{
	const struct net_config *nc = &vm->cfg->nics[i];
	struct net_backend be;
	uint8_t mac[6];
	int err;

	if (nc->kind == NET_TAP) {
		if ((err = net_tap_open(&d->tap, nc->tap, nc->fd)) < 0)
			return err;
		be = net_tap_backend(d->tap);
	} else {
		if ((err = net_slirp_create(&d->slirp, nc)) < 0)
			return err;
		be = net_slirp_backend(d->slirp);
	}
	if (nc->has_mac)
		memcpy(mac, nc->mac, 6);
	else
		net_default_mac(nc, i, mac);
	if ((err = virtio_net_create(&d->net, i, mac, be, &vm->mem, loop)) < 0)
		return err;
	d->vdev = virtio_net_dev(d->net);
	if (d->tap)
		return net_tap_start(d->tap, virtio_net_port(d->net), loop);
	return net_slirp_start(d->slirp, virtio_net_port(d->net), loop);
}

/* Its window: on virtio-mmio (the slot the boot plan gave it) or virtio-pci. */
static int place(struct vm *vm, struct vm_virtio *v, struct pci_host *host, struct vdev *d,
		 enum virtio_transport_kind t, const struct virtio_mmio_slot *slots, int nslots,
		 enum virtio_mmio_kind kind, unsigned index, uint32_t class_code, unsigned *npci)
{
	virtio_dev_set_tracer(d->vdev, &vm->tracer);
	if (t == VIRTIO_TRANSPORT_MMIO) {
		const struct virtio_mmio_slot *s = mmio_slot(slots, nslots, kind, index);

		if (!s)
			return -EINVAL; /* the plan and the config disagree: a bug */
		return place_mmio(vm, v, d, s);
	}
	return place_pci(vm, v, host, d, class_code, (*npci)++);
}

int vm_virtio_create(struct vm *vm, struct pci_host *host, struct evloop *loop,
		     struct vm_virtio **out)
{
	const struct vm_config *cfg = vm->cfg;
	struct virtio_mmio_slot slots[VIRTIO_MMIO_SLOTS];
	struct vm_virtio *v;
	unsigned npci = 0;
	int nslots, err;

	*out = NULL;
	if (!cfg->nr_disks && !cfg->rng && !cfg->vconsole.on && !cfg->nr_nics)
		return 0;
	nslots = virtio_mmio_slots(cfg, slots);
	if (nslots < 0)
		return nslots;
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	*out = v;
	v->vm_fd = vm->vm_fd;
	v->tr = &vm->tracer;
	if ((err = irq_shared_init(&v->shared, &vm->irqchip)) < 0)
		return err;
	v->shared_ok = true;
	v->ioeventfd_any_len = kvm_check_cap(vm->kvm_fd, KVM_CAP_IOEVENTFD_ANY_LENGTH) > 0;

	for (unsigned i = 0; i < cfg->nr_disks + 2; i++) {
		struct vdev *d = &v->devs[v->nr];
		bool is_disk = i < cfg->nr_disks;
		bool is_rng = i == cfg->nr_disks;
		enum virtio_mmio_kind kind;
		enum virtio_transport_kind t;
		uint32_t class_code;

		if ((is_rng && !cfg->rng) || (!is_disk && !is_rng && !cfg->vconsole.on))
			continue;
		if (is_disk) {
			err = virtio_blk_create(&d->blk, &cfg->disks[i], i, &vm->mem, loop);
			if (err < 0)
				return err;
			d->vdev = virtio_blk_dev(d->blk);
			t = cfg->disks[i].transport;
			class_code = CLASS_STORAGE_SCSI;
			kind = VIRTIO_MMIO_DEV_BLK;
		} else if (is_rng) {
			err = virtio_rng_create(&d->rng, 0, &vm->mem, loop);
			if (err < 0)
				return err;
			d->vdev = virtio_rng_dev(d->rng);
			t = cfg->rng_transport;
			class_code = CLASS_OTHER;
			kind = VIRTIO_MMIO_DEV_RNG;
		} else {
			err = make_console(vm, loop, d);
			v->nr++; /* its socket, if any, is closed with it */
			if (err < 0)
				return err;
			v->con = d->con;
			t = cfg->vconsole.transport;
			class_code = CLASS_SERIAL;
			kind = VIRTIO_MMIO_DEV_CONSOLE;
		}
		if (!d->con)
			v->nr++;
		err = place(vm, v, host, d, t, slots, nslots, kind, is_disk ? i : 0, class_code,
			    &npci);
		if (err < 0)
			return err;
	}
	for (unsigned i = 0; i < cfg->nr_nics; i++) {
		struct vdev *d = &v->devs[v->nr++]; /* its backend is closed with it */

		if ((err = make_net(vm, loop, d, i)) < 0)
			return err;
		err = place(vm, v, host, d, cfg->nics[i].transport, slots, nslots,
			    VIRTIO_MMIO_DEV_NET, i, CLASS_ETHERNET, &npci);
		if (err < 0)
			return err;
	}
	return 0;
}

void vm_virtio_destroy(struct vm_virtio *v)
{
	if (!v)
		return;
	for (unsigned i = 0; i < v->nr; i++) {
		struct vdev *d = &v->devs[i];

		if (d->pci)
			virtio_pci_destroy(d->pci);
		/* a backend calls into its NIC: quiet it before the NIC goes */
		net_tap_stop(d->tap);
		net_slirp_stop(d->slirp);
		for (unsigned q = 0; d->mmio_ioev && q < d->vdev->nr_queues; q++)
			ioev_mmio(v, d->mmio_base + VIRTIO_MMIO_QUEUE_NOTIFY, q,
				  virtio_queue_kick_fd(d->vdev, q), false);
		/* the device stops (reset) before its memory goes */
		if (d->blk)
			virtio_blk_destroy(d->blk);
		if (d->rng)
			virtio_rng_destroy(d->rng);
		virtio_console_destroy(d->con);
		vconsole_sock_close(d->sock);
		virtio_net_destroy(d->net);
		net_tap_close(d->tap);
		net_slirp_destroy(d->slirp);
		if (d->lfd)
			irq_levelfd_destroy(d->lfd);
		free(d->lfd);
		if (d->isrc)
			irq_shared_src_release(d->isrc);
		free(d->isrc);
		free(d->pci);
		free(d->mmio);
	}
	if (v->shared_ok)
		irq_shared_destroy(&v->shared);
	free(v);
}

/*
 * How a device's interrupts went: " (irqfd)" or " (ioctl)" when one path
 * carried them all; a virtio-pci function whose driver used INTx (no MSI-X,
 * e.g. pci=nomsi) says how often its line went up, and on which GSI.
 */
static const char *irq_how(const struct vdev *d, char *buf, size_t len)
{
	const char *intx_path = d->lfd ? "irqfd" : "ioctl";
	uint64_t intx;

	if (!d->pci)
		return d->lfd ? " (irqfd)" : " (ioctl)";
	intx = virtio_pci_intx_count(d->pci);
	if (!intx)
		return d->pci->msix.irqfd ? " (irqfd)" : " (ioctl)";
	snprintf(buf, len, " (MSI-X: %llu by %s; INTx on GSI %u: line raised %llu times by %s)",
		 (unsigned long long)(d->pci->msix.sent + d->pci->msix.deferred),
		 d->pci->msix.irqfd ? "irqfd" : "ioctl", d->pci->intx.gsi,
		 (unsigned long long)intx, intx_path);
	return buf;
}

void vm_virtio_print_stats(const struct vm_virtio *v)
{
	char how[128];

	if (!v)
		return;
	for (unsigned i = 0; i < v->nr; i++) {
		const struct vdev *d = &v->devs[i];
		uint64_t kicks = 0, notifies = 0;

		for (unsigned q = 0; q < d->vdev->nr_queues; q++) {
			kicks += d->vdev->queues[q].kicks;
			notifies += d->vdev->queues[q].notifies;
		}
		uint64_t resets = virtio_stat(d->vdev, &d->vdev->needs_resets);
		char resets_text[64] = "";

		if (resets)
			snprintf(resets_text, sizeof(resets_text), ", NEEDS_RESET %llu times",
				 (unsigned long long)resets);
		pt_info("stats: %s (%s): %llu kicks%s, %llu interrupts%s%s", d->vdev->name,
			d->pci ? "virtio-pci" : "virtio-mmio",
			(unsigned long long)kicks,
			(d->pci && d->pci->ioev_on) || d->mmio_ioev ? " (ioeventfd)" : " (trapped)",
			(unsigned long long)notifies, irq_how(d, how, sizeof(how)), resets_text);

		if (d->blk)
			virtio_blk_print_stats(d->blk);
		if (d->rng)
			virtio_rng_print_stats(d->rng);
		if (d->con)
			virtio_console_print_stats(d->con);
		if (d->sock)
			vconsole_sock_print_stats(d->sock);
		if (d->net)
			virtio_net_print_stats(d->net);
		if (d->tap)
			net_tap_print_stats(d->tap);
		if (d->slirp)
			net_slirp_print_stats(d->slirp);
	}
}

struct virtio_console *vm_virtio_console(const struct vm_virtio *v)
{
	return v ? v->con : NULL;
}
