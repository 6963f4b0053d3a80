#include <string.h>

#include "petrel/pic_watch.h"

#define PIC_CASCADE_PIN 2

/* Highest priority in mask as a rank 0..7 from priority_add; 8 if none. */
static int priority(const struct kvm_pic_state *s, unsigned mask)
{
	if (!(mask & 0xff))
		return 8;
	for (int p = 0; p < 8; p++)
		if (mask & (1u << ((p + s->priority_add) & 7)))
			return p;
	return 8;
}

/* The pin this 8259 would raise INTR for, or -1 (KVM's pic_get_irq). */
static int pending_pin(const struct kvm_pic_state *s, unsigned irr, bool master)
{
	int req = priority(s, irr & ~(unsigned)s->imr);
	unsigned in_service = s->isr;

	if (req == 8)
		return -1;
	/* special fully nested: the slave's pin does not block itself */
	if (master && s->special_fully_nested_mode)
		in_service &= ~(1u << PIC_CASCADE_PIN);
	if (req < priority(s, in_service))
		return (req + s->priority_add) & 7;
	return -1;
}

bool pic_output_asserted(const struct kvm_pic_state *master,
			 const struct kvm_pic_state *slave)
{
	unsigned irr = master->irr;

	if (pending_pin(slave, slave->irr, false) >= 0)
		irr |= 1u << PIC_CASCADE_PIN;
	return pending_pin(master, irr, true) >= 0;
}

bool pic_any_unmasked(const struct kvm_pic_state *master,
		      const struct kvm_pic_state *slave)
{
	unsigned open = ~(unsigned)master->imr & 0xff;

	if (open & ~(1u << PIC_CASCADE_PIN) & 0xff)
		return true;
	return (open & (1u << PIC_CASCADE_PIN)) && (~(unsigned)slave->imr & 0xff);
}

void pic_watch_init(struct pic_watch *w)
{
	memset(w, 0, sizeof(*w));
	w->interval_ms = PIC_WATCH_ACTIVE_MS;
	w->backoff_ms = PIC_WATCH_ACTIVE_MS;
}

bool pic_watch_sample(struct pic_watch *w, const struct kvm_pic_state *master,
		      const struct kvm_pic_state *slave)
{
	unsigned char now[6] = {
		master->irr, master->isr, master->imr,
		slave->irr, slave->isr, slave->imr,
	};
	bool same = w->have_prev && !memcmp(now, w->prev, sizeof(now));
	bool asserted = pic_output_asserted(master, slave);

	memcpy(w->prev, now, sizeof(now));
	w->have_prev = true;
	if (!asserted || !same) {
		/*
		 * Progress, or nothing pending: sample briskly while the guest
		 * uses the PIC, lazily while every line is masked (the guest
		 * routes through the IOAPIC; nothing can get stuck here).
		 */
		w->backoff_ms = PIC_WATCH_ACTIVE_MS;
		w->interval_ms = pic_any_unmasked(master, slave) ? PIC_WATCH_ACTIVE_MS
								 : PIC_WATCH_IDLE_MS;
		return false;
	}
	/*
	 * Asserted and untouched for a whole period. A nudge that delivers
	 * shows as an acknowledged IRR next time; one that cannot (LINT0 truly
	 * masked, interrupts off for long) is harmless but repeated less often.
	 */
	w->nudges++;
	w->interval_ms = w->backoff_ms;
	w->backoff_ms = w->backoff_ms * 2 > PIC_WATCH_MAX_MS ? PIC_WATCH_MAX_MS
							      : w->backoff_ms * 2;
	return true;
}
