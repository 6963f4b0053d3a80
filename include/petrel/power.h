/*
 * How a device asks the machine to power off or reset. Devices (i8042 reset
 * line, port 0xCF9, the ACPI PM block) receive one of these, never the VM
 * itself, so they stay unit-testable.
 */
#ifndef PETREL_POWER_H
#define PETREL_POWER_H

enum power_event {
	POWER_OFF,   /* guest asked to be switched off */
	POWER_RESET, /* guest asked for a reset (petrel ends the VM) */
};

struct power_ctl {
	void (*request)(void *opaque, enum power_event ev, const char *source);
	void *opaque;
};

static inline void power_request(const struct power_ctl *p,
				 enum power_event ev, const char *source)
{
	if (p && p->request)
		p->request(p->opaque, ev, source);
}

#endif
