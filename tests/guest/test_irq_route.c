/*
 * The interrupt paths, run in both irqchip modes (tests/guest/run.sh): with
 * KVM's IOAPIC/PIC and with petrel's (--irqchip split). Two vCPUs at CPL3.
 *   1. an edge-triggered pin arrives once, at its vector, on the CPU its
 *      redirection entry names (the AP);
 *   2. a level-triggered pin held high arrives once, not again before the
 *      EOI (remote IRR), again after the EOI while still high, and not
 *      after the line dropped;
 *   3. a masked level pin never arrives while masked, and does once it is
 *      unmasked with the line still high;
 *   4. the 8259: programmed as Linux does, an edge on ISA IRQ 3 reaches the
 *      BSP as ExtINT through LINT0 at the PIC's vector base + 3.
 * The host raises the lines with irq_set_level(), as a device would.
 */
#define VEC_EDGE 0x51
#define VEC_LEVEL 0x52
#define VEC_MASKED 0x53
#define PIC_BASE 0x30
#define PIC_IRQ 3
#define VEC_PIC (PIC_BASE + PIC_IRQ)
#define PIN_EDGE 16
#define PIN_LEVEL 17
#define PIN_MASKED 18
#define IOREDTBL(pin) (0x10 + 2 * (pin))
#define RTE_LEVEL (1u << 15)
#define RTE_MASKED (1u << 16)
#define RTE_REMOTE_IRR (1u << 14)

enum stage {
	ST_EDGE = 1,     /* host: pulse PIN_EDGE */
	ST_LEVEL_UP,     /* host: raise PIN_LEVEL and keep it high */
	ST_LEVEL_DOWN,   /* host: lower PIN_LEVEL */
	ST_MASKED_UP,    /* host: raise PIN_MASKED (masked) */
	ST_PIC,          /* host: pulse ISA IRQ 3 */
	ST_END,
};

#ifdef GUEST
#include "guest.h"

#define ICR_INIT 0x00000500u
#define ICR_SIPI 0x00000600u
#define ICR_ASSERT 0x00004000u
#define ICR_ALL_BUT_SELF 0x000c0000u

static volatile uint32_t ap_ready, all_done;

/* Long enough for an interrupt to be injected at the next VM entry. */
static void settle(volatile uint32_t *count, uint32_t want)
{
	for (unsigned long i = 0; i < 500000 && *count < want; i++)
		cpu_relax();
}

void guest_ap_main(unsigned cpu, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3)
{
	(void)cpu, (void)a0, (void)a1, (void)a2, (void)a3;
	lapic_write(LAPIC_SVR, 0x100 | 0xff);
	lapic_write(LAPIC_TPR, 0);
	irq_enable();
	ap_ready = 1;
	/* EOI each interrupt that reached this CPU (only VEC_EDGE may) */
	for (uint32_t eoied = 0; !all_done; cpu_relax()) {
		if (kit_trap_count[VEC_EDGE] > eoied) {
			lapic_write(LAPIC_EOI, 0);
			eoied++;
		}
	}
}

static void rte(unsigned pin, unsigned dest, uint32_t low)
{
	ioapic_write(IOREDTBL(pin) + 1, dest << 24);
	ioapic_write(IOREDTBL(pin), low);
}

/* 8259A initialisation as Linux's init_8259A does it, then one line open. */
static void pic_setup(void)
{
	outb(0x21, 0xff); /* mask all */
	outb(0xa1, 0xff);
	outb(0x20, 0x11); /* ICW1: edge, cascade, ICW4 follows */
	outb(0x21, PIC_BASE);
	outb(0x21, 1u << 2); /* ICW3: slave on IRQ2 */
	outb(0x21, 0x01);    /* ICW4: 8086 mode, normal EOI */
	outb(0xa0, 0x11);
	outb(0xa1, PIC_BASE + 8);
	outb(0xa1, 2);
	outb(0xa1, 0x01);
	outb(0x21, (uint8_t)~((1u << PIC_IRQ) | (1u << 2)));
	outb(0xa1, 0xff);
}

void guest_main(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3)
{
	(void)a0, (void)a1, (void)a2, (void)a3;
	lapic_write(LAPIC_SVR, 0x100 | 0xff);
	lapic_write(LAPIC_TPR, 0);
	lapic_write(LAPIC_ICR_HI, 0);
	lapic_write(LAPIC_ICR_LO, ICR_ALL_BUT_SELF | ICR_ASSERT | ICR_INIT);
	lapic_write(LAPIC_ICR_LO, ICR_ALL_BUT_SELF | ICR_ASSERT | ICR_SIPI | KIT_SIPI_VECTOR);
	lapic_write(LAPIC_ICR_LO, ICR_ALL_BUT_SELF | ICR_ASSERT | ICR_SIPI | KIT_SIPI_VECTOR);
	for (unsigned long i = 0; i < 500000000 && !ap_ready; i++)
		cpu_relax();
	GUEST_ASSERT(ap_ready);

	rte(PIN_EDGE, 1, VEC_EDGE);                          /* to the AP */
	rte(PIN_LEVEL, 0, VEC_LEVEL | RTE_LEVEL);            /* to the BSP */
	rte(PIN_MASKED, 0, VEC_MASKED | RTE_LEVEL | RTE_MASKED);
	GUEST_ASSERT_EQ(ioapic_read(IOREDTBL(PIN_LEVEL)) & 0x1ffff, VEC_LEVEL | RTE_LEVEL);
	GUEST_ASSERT_EQ(ioapic_read(IOREDTBL(PIN_EDGE) + 1) >> 24, 1);
	irq_enable();

	/* 1. edge, to the AP */
	GUEST_SYNC(ST_EDGE);
	settle(&kit_trap_count[VEC_EDGE], 1);
	GUEST_ASSERT_EQ(kit_trap_count[VEC_EDGE], 1);
	settle(&kit_trap_count[VEC_EDGE], 2);
	GUEST_ASSERT_EQ(kit_trap_count[VEC_EDGE], 1);

	/* 2. level: once, remote IRR holds it until the EOI */
	GUEST_SYNC(ST_LEVEL_UP);
	settle(&kit_trap_count[VEC_LEVEL], 1);
	GUEST_ASSERT_EQ(kit_trap_count[VEC_LEVEL], 1);
	GUEST_ASSERT(ioapic_read(IOREDTBL(PIN_LEVEL)) & RTE_REMOTE_IRR);
	settle(&kit_trap_count[VEC_LEVEL], 2);
	GUEST_ASSERT_EQ(kit_trap_count[VEC_LEVEL], 1);
	lapic_write(LAPIC_EOI, 0); /* the line is still high: again */
	settle(&kit_trap_count[VEC_LEVEL], 2);
	GUEST_ASSERT_EQ(kit_trap_count[VEC_LEVEL], 2);
	GUEST_SYNC(ST_LEVEL_DOWN);
	lapic_write(LAPIC_EOI, 0); /* low now: no more */
	settle(&kit_trap_count[VEC_LEVEL], 3);
	GUEST_ASSERT_EQ(kit_trap_count[VEC_LEVEL], 2);
	GUEST_ASSERT(!(ioapic_read(IOREDTBL(PIN_LEVEL)) & RTE_REMOTE_IRR));

	/* 3. masked: nothing until unmasked, then once */
	GUEST_SYNC(ST_MASKED_UP);
	settle(&kit_trap_count[VEC_MASKED], 1);
	GUEST_ASSERT_EQ(kit_trap_count[VEC_MASKED], 0);
	GUEST_ASSERT(!lapic_bit(LAPIC_IRR, VEC_MASKED));
	rte(PIN_MASKED, 0, VEC_MASKED | RTE_LEVEL);
	settle(&kit_trap_count[VEC_MASKED], 1);
	GUEST_ASSERT_EQ(kit_trap_count[VEC_MASKED], 1);
	/* masked again before the EOI: its remote IRR clears, nothing more */
	rte(PIN_MASKED, 0, VEC_MASKED | RTE_LEVEL | RTE_MASKED);
	lapic_write(LAPIC_EOI, 0);
	settle(&kit_trap_count[VEC_MASKED], 2);
	GUEST_ASSERT_EQ(kit_trap_count[VEC_MASKED], 1);

	/* 4. the 8259 through LINT0 (ExtINT, set up by petrel as firmware does) */
	pic_setup();
	GUEST_SYNC(ST_PIC);
	settle(&kit_trap_count[VEC_PIC], 1);
	GUEST_ASSERT_EQ(kit_trap_count[VEC_PIC], 1);
	outb(0x20, 0x0b); /* OCW3: read ISR */
	GUEST_ASSERT_EQ(inb(0x20), 1u << PIC_IRQ);
	outb(0x20, 0x20); /* non-specific EOI */
	GUEST_ASSERT_EQ(inb(0x20), 0);
	settle(&kit_trap_count[VEC_PIC], 2);
	GUEST_ASSERT_EQ(kit_trap_count[VEC_PIC], 1);

	all_done = 1;
	GUEST_SYNC(ST_END);
}

#else
#include <stdio.h>

#include "kit.h"

struct seen {
	pthread_mutex_t lock;
	unsigned stage;
	unsigned count[256];
	int cpu[256]; /* the vCPU a vector last arrived on */
};

static void line(struct kit_vm *k, unsigned gsi, int level)
{
	KIT_CHECK_EQ(k, irq_set_level(&k->vm.irqchip, gsi, level), 0);
}

static enum kit_action on_ucall(struct kit_vm *k, struct vcpu *v, struct kit_ucall *uc)
{
	struct seen *s = k->opts.opaque;

	(void)v;
	pthread_mutex_lock(&s->lock);
	s->stage = (unsigned)uc->args[0];
	pthread_mutex_unlock(&s->lock);
	switch (uc->args[0]) {
	case ST_EDGE:
		line(k, PIN_EDGE, 1);
		line(k, PIN_EDGE, 0);
		break;
	case ST_LEVEL_UP:
		line(k, PIN_LEVEL, 1);
		break;
	case ST_LEVEL_DOWN:
		line(k, PIN_LEVEL, 0);
		break;
	case ST_MASKED_UP:
		line(k, PIN_MASKED, 1);
		break;
	case ST_PIC:
		line(k, PIC_IRQ, 1);
		line(k, PIC_IRQ, 0);
		break;
	case ST_END:
		break;
	default:
		return kit_fail_stop(k, "unexpected stage %llu", (unsigned long long)uc->args[0]);
	}
	return KIT_CONTINUE;
}

static enum kit_action on_trap(struct kit_vm *k, struct vcpu *v, const struct kit_trap *t)
{
	struct seen *s = k->opts.opaque;

	if (t->vector < 32)
		return KIT_DEFAULT; /* an exception: the kit fails the test */
	pthread_mutex_lock(&s->lock);
	s->count[t->vector & 0xff]++;
	s->cpu[t->vector & 0xff] = (int)v->id;
	pthread_mutex_unlock(&s->lock);
	return KIT_CONTINUE;
}

int main(void)
{
	struct kit_vm k;
	struct seen s = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct kit_opts o = { KIT_EMBEDDED_GUEST, .ncpus = 2, .on_ucall = on_ucall,
			      .on_trap = on_trap, .opaque = &s };
	int r = kit_vm_create(&k, &o);

	if (r) {
		kit_finish(&k);
		return r == KIT_SKIP ? KIT_SKIP : 1;
	}
	printf("irqchip: %s\n", k.cfg.irqchip == IRQCHIP_SPLIT ? "split" : "kernel");
	KIT_CHECK_EQ(&k, kit_run(&k), 0);
	KIT_CHECK_EQ(&k, s.stage, ST_END);
	KIT_CHECK_EQ(&k, s.count[VEC_EDGE], 1);
	KIT_CHECK_EQ(&k, s.cpu[VEC_EDGE], 1);
	KIT_CHECK_EQ(&k, s.count[VEC_LEVEL], 2);
	KIT_CHECK_EQ(&k, s.cpu[VEC_LEVEL], 0);
	KIT_CHECK_EQ(&k, s.count[VEC_MASKED], 1);
	KIT_CHECK_EQ(&k, s.count[VEC_PIC], 1);
	KIT_CHECK_EQ(&k, s.cpu[VEC_PIC], 0);
	return kit_finish(&k);
}
#endif
