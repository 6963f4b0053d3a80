/* The split irqchip: petrel's IOAPIC, 8259 pair and PIT; see irqchip_split.h. */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "petrel/ioapic.h"
#include "petrel/irq_trace.h"
#include "petrel/irqchip_split.h"
#include "petrel/kvm.h"
#include "petrel/kvm_routes.h"
#include "petrel/layout.h"
#include "petrel/mono_clock.h"
#include "petrel/pic8259.h"
#include "petrel/pit8254.h"
#include "petrel/pit_timer.h"
#include "petrel/util.h"

#define PORT_PIT 0x40
#define PORT_PIT_61 0x61

struct irqchip_split {
	struct irqchip_split_env env;
	pthread_mutex_t lock; /* the three models and their callbacks */
	struct ioapic ioapic;
	struct pic8259 pic;
	struct pit8254 pit;
	struct pit_timer timer;
	bool timer_up;
	struct kvm_routes routes;
	bool routes_up;
	atomic_bool extint; /* the 8259's output, for the BSP's loop */
	/* for --stats, under lock */
	uint64_t delivered[IOAPIC_PINS]; /* MSIs the IOAPIC sent, per pin */
	uint64_t eois;                   /* KVM_EXIT_IOAPIC_EOI */
	uint64_t extints;                /* vectors the 8259 gave the BSP */
	struct locked_range {
		struct irqchip_split *s;
		const struct bus_dev_ops *ops;
		void *model;
		struct bus *bus;
		uint64_t base;
		bool placed;
	} ranges[6];
};

/* ---- the models' outputs (called with s->lock held) ---- */

static void ioapic_deliver(void *opaque, unsigned pin, uint64_t addr, uint32_t data)
{
	struct irqchip_split *s = opaque;
	struct kvm_msi m = {
		.address_lo = (uint32_t)addr,
		.address_hi = (uint32_t)(addr >> 32),
		.data = data,
	};
	int r;

	if (pin < IOAPIC_PINS)
		s->delivered[pin]++;
	if (trace_on(s->env.tr, TRACE_IRQ))
		trace_irq_ioapic(s->env.tr, pin, ioapic_redir(&s->ioapic, pin), "deliver");
	/* > 0 delivered, 0 blocked by the guest (e.g. its LAPIC is off) */
	r = kvm_ioctl(s->env.vm_fd, KVM_SIGNAL_MSI, &m);
	if (trace_on(s->env.tr, TRACE_KVM))
		trace_kvm(s->env.tr, "KVM_SIGNAL_MSI", r, "addr=0x%llx data=0x%x",
			  (unsigned long long)addr, data);
}

static void ioapic_route_changed(void *opaque, unsigned pin, uint64_t addr,
				 uint32_t data, bool masked)
{
	struct irqchip_split *s = opaque;

	/*
	 * A masked entry keeps its message in KVM's table: the vector may
	 * still be in service (remote IRR set) and its EOI must reach us.
	 */
	(void)masked;
	if (s->routes_up)
		kvm_routes_set_pin(&s->routes, pin, addr, data);
}

static void pic_intr_changed(void *opaque, bool level)
{
	struct irqchip_split *s = opaque;

	atomic_store(&s->extint, level);
	if (level)
		s->env.wake_bsp(s->env.opaque);
}

/*
 * GSI g: the 8259's input g (ISA IRQs) and IOAPIC pin g (2 for the PIT,
 * GSI 0). GSI 2 leads nowhere, as in KVM's routes: the 8259's input 2 is
 * the cascade and pin 2 belongs to the PIT.
 */
static void set_level_locked(struct irqchip_split *s, unsigned gsi, int level)
{
	if (gsi == 2)
		return;
	if (gsi < 16)
		pic_set_irq(&s->pic, gsi, level);
	ioapic_set_irq(&s->ioapic, gsi == 0 ? 2 : gsi, level);
}

static void pit_irq0(void *opaque, int level)
{
	set_level_locked(opaque, 0, level);
}

static void pit_arm(void *opaque, uint64_t deadline_ns)
{
	struct irqchip_split *s = opaque;

	if (s->timer_up)
		pit_timer_arm(&s->timer, deadline_ns);
}

/* ---- irqchip_ops ---- */

static int split_set_level(void *opaque, unsigned gsi, int level)
{
	struct irqchip_split *s = opaque;

	if (gsi >= IOAPIC_PINS)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	set_level_locked(s, gsi, level);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static int split_msi(void *opaque, uint64_t addr, uint32_t data)
{
	struct irqchip_split *s = opaque;
	struct kvm_msi m = {
		.address_lo = (uint32_t)addr,
		.address_hi = (uint32_t)(addr >> 32),
		.data = data,
	};
	int r = kvm_ioctl(s->env.vm_fd, KVM_SIGNAL_MSI, &m);

	if (trace_on(s->env.tr, TRACE_KVM))
		trace_kvm(s->env.tr, "KVM_SIGNAL_MSI", r, "addr=0x%llx data=0x%x",
			  (unsigned long long)addr, data);
	return r < 0 ? r : 0;
}

static int split_route_add(void *opaque, int *fd)
{
	return kvm_routes_msi_add(&((struct irqchip_split *)opaque)->routes, fd);
}

static int split_route_set(void *opaque, int id, uint64_t addr, uint32_t data)
{
	return kvm_routes_msi_set(&((struct irqchip_split *)opaque)->routes, id, addr, data);
}

static void split_route_del(void *opaque, int id)
{
	kvm_routes_msi_del(&((struct irqchip_split *)opaque)->routes, id);
}

static bool split_extint_pending(void *opaque)
{
	return atomic_load_explicit(&((struct irqchip_split *)opaque)->extint,
				    memory_order_acquire);
}

/* --trace irq: the INTA cycle's vector, named by the 8259 and pin it came from */
static void trace_pic_ack(struct irqchip_split *s, int vector)
{
	for (unsigned c = 0; c < 2; c++)
		if (((unsigned)vector & 0xf8) == s->pic.chip[c].base) {
			trace_irq_pic(s->env.tr, c, (unsigned)vector & 7, (unsigned)vector,
				      "deliver");
			return;
		}
	trace_irq_pic(s->env.tr, 0, 7, (unsigned)vector, "spurious");
}

static int split_extint_ack(void *opaque)
{
	struct irqchip_split *s = opaque;
	int vector = -1;

	pthread_mutex_lock(&s->lock);
	if (pic_intr(&s->pic)) {
		vector = pic_ack(&s->pic);
		s->extints++;
		if (trace_on(s->env.tr, TRACE_IRQ))
			trace_pic_ack(s, vector);
	}
	pthread_mutex_unlock(&s->lock);
	return vector;
}

static void split_eoi(void *opaque, uint8_t vector)
{
	struct irqchip_split *s = opaque;

	pthread_mutex_lock(&s->lock);
	s->eois++;
	if (trace_on(s->env.tr, TRACE_IRQ))
		for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
			uint64_t e = ioapic_redir(&s->ioapic, pin);

			if ((e & IOAPIC_RTE_VECTOR) == vector && (e & IOAPIC_RTE_REMOTE_IRR))
				trace_irq_ioapic(s->env.tr, pin, e, "eoi");
		}
	ioapic_eoi(&s->ioapic, vector);
	pthread_mutex_unlock(&s->lock);
}

/* --trace irq: where gsi leads in petrel's models, as they are now */
static int split_describe_gsi(void *opaque, unsigned gsi, struct irq_route_desc *d)
{
	struct irqchip_split *s = opaque;

	d->ioapic_pin = d->pic = -1;
	if (gsi >= IOAPIC_PINS || gsi == 2)
		return 0;
	pthread_mutex_lock(&s->lock);
	d->ioapic_pin = gsi == 0 ? 2 : (int)gsi;
	d->redir = ioapic_redir(&s->ioapic, (unsigned)d->ioapic_pin);
	if (gsi < 16) {
		d->pic = gsi >= 8;
		d->pic_pin = gsi % 8;
		d->pic_masked = s->pic.chip[d->pic].imr >> d->pic_pin & 1;
	}
	pthread_mutex_unlock(&s->lock);
	return 0;
}

/* The control API's GET /irq: petrel's IOAPIC table and KVM's MSI routes. */
static int split_info(void *opaque, struct irqchip_info *out)
{
	struct irqchip_split *s = opaque;

	memset(out, 0, sizeof(*out));
	out->mode = "split";
	pthread_mutex_lock(&s->lock);
	out->ioapic_id = s->env.ioapic_id;
	out->nr_pins = IOAPIC_PINS;
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++)
		out->redir[pin] = ioapic_redir(&s->ioapic, pin);
	pthread_mutex_unlock(&s->lock);
	kvm_routes_msi_list(&s->routes, out);
	return 0;
}

/* "stats: irqchip split: IOAPIC pin2 1093, pin4 51; ..." */
static void split_print_stats(void *opaque)
{
	struct irqchip_split *s = opaque;
	char pins[IOAPIC_PINS * 24] = "";
	size_t n = 0;

	pthread_mutex_lock(&s->lock);
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++)
		if (s->delivered[pin] && n < sizeof(pins))
			n += (size_t)snprintf(pins + n, sizeof(pins) - n, " pin%u=%llu", pin,
					      (unsigned long long)s->delivered[pin]);
	pt_info("stats: irqchip split: IOAPIC interrupts%s; %llu EOI exits; "
		"%llu 8259 vectors injected (ExtINT); %llu KVM route updates",
		n ? pins : " none", (unsigned long long)s->eois,
		(unsigned long long)s->extints, (unsigned long long)atomic_load(&s->routes.commits));
	pthread_mutex_unlock(&s->lock);
}

static const struct irqchip_ops split_ops = {
	.set_level = split_set_level,
	.msi = split_msi,
	.msi_route_add = split_route_add,
	.msi_route_set = split_route_set,
	.msi_route_del = split_route_del,
	/* no irqfd_level: KVM's resampler needs its own IOAPIC */
	.extint_pending = split_extint_pending,
	.extint_ack = split_extint_ack,
	.eoi = split_eoi,
	.print_stats = split_print_stats,
	.describe_gsi = split_describe_gsi,
	.info = split_info,
};

/*
 * The device models have no lock of their own: every bus access goes
 * through these wrappers, which take the chip's. opaque is the chip;
 * which model an access is for comes from the range it arrived on.
 */
static uint64_t locked_read(void *opaque, uint64_t offset, unsigned size)
{
	struct locked_range *r = opaque;
	uint64_t v;

	pthread_mutex_lock(&r->s->lock);
	v = r->ops->read(r->model, offset, size);
	pthread_mutex_unlock(&r->s->lock);
	return v;
}

static void locked_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct locked_range *r = opaque;

	pthread_mutex_lock(&r->s->lock);
	r->ops->write(r->model, offset, value, size);
	pthread_mutex_unlock(&r->s->lock);
}

static const struct bus_dev_ops locked_ops = { locked_read, locked_write };

static int place(struct irqchip_split *s, unsigned i, struct bus *bus, uint64_t base,
		 uint64_t len, const struct bus_dev_ops *ops, void *model, const char *name)
{
	struct locked_range *r = &s->ranges[i];
	int err;

	*r = (struct locked_range){ s, ops, model, bus, base, false };
	err = bus_insert(bus, base, len, &locked_ops, r, name);
	if (err < 0) {
		pt_err("split irqchip: cannot place the %s at %#llx: %s", name,
		       (unsigned long long)base, strerror(-err));
		return err;
	}
	r->placed = true;
	return 0;
}

static const struct ioapic_ops ioapic_outputs = { ioapic_deliver, ioapic_route_changed };
static const struct pic_ops pic_outputs = { pic_intr_changed };
static const struct pit_ops pit_outputs = { mono_clock_host_ns, pit_arm, pit_irq0 };

int irqchip_split_create(struct irqchip *chip, const struct irqchip_split_env *env)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_SPLIT_IRQCHIP, .args = { IOAPIC_PINS } };
	struct irqchip_split *s;
	int err;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->env = *env;
	pthread_mutex_init(&s->lock, NULL);
	atomic_init(&s->extint, false);
	/* chip owns s from here: irqchip_split_destroy frees it */
	*chip = (struct irqchip){ &split_ops, s, env->tr };

	if (kvm_check_cap(env->vm_fd, KVM_CAP_SPLIT_IRQCHIP) <= 0) {
		pt_err("--irqchip split: this host's KVM has no KVM_CAP_SPLIT_IRQCHIP "
		       "(Linux 4.5 or later); use --irqchip kernel");
		return -EOPNOTSUPP;
	}
	if ((err = kvm_ioctl(env->vm_fd, KVM_ENABLE_CAP, &cap)) < 0)
		return err;
	if ((err = kvm_routes_init(&s->routes, env->vm_fd, true, env->tr)) < 0)
		return err;
	s->routes_up = true;

	ioapic_init(&s->ioapic, env->ioapic_id, &ioapic_outputs, s);
	pic_init(&s->pic, &pic_outputs, s);
	/*
	 * The PCI INTx lines are level-triggered in the 8259s, as firmware
	 * sets the ELCR for the IRQs it routes PCI to (and irqchip_kvm.c does
	 * for KVM's 8259): through the ELCR's own port, as a guest would.
	 */
	for (unsigned c = 0; c < 2; c++)
		pic_elcr_ops.write(&s->pic, c, (uint8_t)(PCI_INTX_ELCR >> (8 * c)), 1);
	pit_init(&s->pit, &pit_outputs, s);
	if ((err = pit_timer_init(&s->timer, env->io, &s->lock, &s->pit)) < 0) {
		pt_err("split irqchip: the PIT's timer: %s", strerror(-err));
		return err;
	}
	s->timer_up = true;

	if ((err = place(s, 0, env->mmio, IOAPIC_ADDR, IOAPIC_MMIO_SIZE,
			 &ioapic_mmio_ops, &s->ioapic, "ioapic")) < 0 ||
	    (err = place(s, 1, env->pio, PORT_PIC_MASTER, 2, &pic_master_ops,
			 &s->pic, "pic-master")) < 0 ||
	    (err = place(s, 2, env->pio, PORT_PIC_SLAVE, 2, &pic_slave_ops,
			 &s->pic, "pic-slave")) < 0 ||
	    (err = place(s, 3, env->pio, PORT_PIC_ELCR, 2, &pic_elcr_ops,
			 &s->pic, "pic-elcr")) < 0 ||
	    (err = place(s, 4, env->pio, PORT_PIT, 4, &pit_ops_io, &s->pit, "pit")) < 0 ||
	    (err = place(s, 5, env->pio, PORT_PIT_61, 1, &pit_port61_ops, &s->pit,
			 "port61")) < 0)
		return err;
	return 0;
}

void irqchip_split_destroy(struct irqchip *chip)
{
	struct irqchip_split *s;

	if (chip->ops != &split_ops)
		return;
	s = chip->opaque;
	for (unsigned i = 0; i < sizeof(s->ranges) / sizeof(s->ranges[0]); i++)
		if (s->ranges[i].placed)
			bus_remove(s->ranges[i].bus, s->ranges[i].base);
	if (s->timer_up)
		pit_timer_destroy(&s->timer);
	if (s->routes_up)
		kvm_routes_destroy(&s->routes);
	pthread_mutex_destroy(&s->lock);
	free(s);
	*chip = (struct irqchip){ 0 };
}
