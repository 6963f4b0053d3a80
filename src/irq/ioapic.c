/*
 * IOAPIC model: the redirection table as a state machine whose outputs are
 * MSI messages (ops->deliver) and route updates (ops->route_changed). The
 * contract is in include/petrel/ioapic.h.
 */
#include <stddef.h>

#include "petrel/ioapic.h"

/* What a guest write may change in each half of an entry. */
#define RTE_LOW_WRITABLE                                                   \
	(IOAPIC_RTE_VECTOR | IOAPIC_RTE_DELMODE | IOAPIC_RTE_LOGICAL |     \
	 IOAPIC_RTE_ACTIVE_LOW | IOAPIC_RTE_LEVEL | IOAPIC_RTE_MASKED)
#define RTE_HIGH_WRITABLE (0xffULL << IOAPIC_RTE_DEST_SHIFT)
#define RTE_WRITABLE (RTE_LOW_WRITABLE | RTE_HIGH_WRITABLE)

static unsigned delmode(uint64_t e)
{
	return (unsigned)((e & IOAPIC_RTE_DELMODE) >> IOAPIC_RTE_DELMODE_SHIFT);
}

void ioapic_entry_msi(uint64_t e, uint64_t *addr, uint32_t *data)
{
	uint64_t dest = (e >> IOAPIC_RTE_DEST_SHIFT) & 0xff;

	*addr = IOAPIC_MSI_ADDR_BASE | dest << IOAPIC_MSI_ADDR_DEST_SHIFT |
		((e & IOAPIC_RTE_LOGICAL) ? IOAPIC_MSI_ADDR_LOGICAL : 0);
	*data = (uint32_t)(e & IOAPIC_RTE_VECTOR) | delmode(e) << 8 |
		IOAPIC_MSI_DATA_ASSERT |
		((e & IOAPIC_RTE_LEVEL) ? IOAPIC_MSI_DATA_LEVEL : 0);
}

static void route_changed(struct ioapic *io, unsigned pin)
{
	uint64_t addr;
	uint32_t data;

	ioapic_entry_msi(io->redir[pin], &addr, &data);
	io->ops->route_changed(io->opaque, pin, addr, data,
			       (io->redir[pin] & IOAPIC_RTE_MASKED) != 0);
}

static bool asserted(const struct ioapic *io, unsigned pin)
{
	/*
	 * petrel's lines carry the logical level (1 = asserted), as KVM's
	 * KVM_IRQ_LINE does: polarity is kept and read back, not applied
	 * (see the contract in ioapic.h).
	 */
	return (io->lines >> pin) & 1;
}

/*
 * Send the entry's message. The reserved delivery modes have no meaning to
 * a LAPIC (KVM would log each one): nothing is sent and, as no EOI can
 * follow, remote IRR stays clear.
 */
static void fire(struct ioapic *io, unsigned pin)
{
	uint64_t e = io->redir[pin], addr;
	uint32_t data;
	unsigned dm = delmode(e);

	if (dm == 3 || dm == 6)
		return;
	if (e & IOAPIC_RTE_LEVEL)
		io->redir[pin] |= IOAPIC_RTE_REMOTE_IRR;
	ioapic_entry_msi(e, &addr, &data);
	io->ops->deliver(io->opaque, pin, addr, data);
}

/* A level entry delivers whenever it is asserted, unmasked and not in service. */
static void service_level(struct ioapic *io, unsigned pin)
{
	uint64_t e = io->redir[pin];

	if (!(e & IOAPIC_RTE_LEVEL) || (e & (IOAPIC_RTE_MASKED | IOAPIC_RTE_REMOTE_IRR)))
		return;
	if (asserted(io, pin))
		fire(io, pin);
}

void ioapic_reset(struct ioapic *io)
{
	io->id = io->reset_id;
	io->ioregsel = 0;
	for (unsigned pin = 0; pin < IOAPIC_NR_PINS; pin++) {
		io->redir[pin] = IOAPIC_RTE_MASKED;
		route_changed(io, pin);
	}
}

void ioapic_init(struct ioapic *io, uint8_t id, const struct ioapic_ops *ops,
		 void *opaque)
{
	*io = (struct ioapic){ .ops = ops, .opaque = opaque, .reset_id = id };
	ioapic_reset(io);
}

void ioapic_set_irq(struct ioapic *io, unsigned pin, int level)
{
	bool was;
	uint64_t e;

	if (pin >= IOAPIC_NR_PINS)
		return;
	was = asserted(io, pin);
	if (level)
		io->lines |= 1u << pin;
	else
		io->lines &= ~(1u << pin);
	e = io->redir[pin];
	if (e & IOAPIC_RTE_LEVEL)
		service_level(io, pin);
	else if (!was && asserted(io, pin) && !(e & IOAPIC_RTE_MASKED))
		fire(io, pin);
}

void ioapic_eoi(struct ioapic *io, uint8_t vector)
{
	for (unsigned pin = 0; pin < IOAPIC_NR_PINS; pin++) {
		uint64_t e = io->redir[pin];

		if (!(e & IOAPIC_RTE_LEVEL) || (e & IOAPIC_RTE_VECTOR) != vector ||
		    !(e & IOAPIC_RTE_REMOTE_IRR))
			continue;
		io->redir[pin] = e & ~IOAPIC_RTE_REMOTE_IRR;
		service_level(io, pin);
	}
}

uint64_t ioapic_redir(const struct ioapic *io, unsigned pin)
{
	return pin < IOAPIC_NR_PINS ? io->redir[pin] : 0;
}

bool ioapic_line(const struct ioapic *io, unsigned pin)
{
	return pin < IOAPIC_NR_PINS && ((io->lines >> pin) & 1);
}

static uint32_t reg_read(const struct ioapic *io)
{
	unsigned idx = io->ioregsel, pin;

	switch (idx) {
	case IOAPIC_REG_ID:
	case IOAPIC_REG_ARB:
		return (uint32_t)io->id << 24;
	case IOAPIC_REG_VER:
		return IOAPIC_VER_VALUE;
	}
	if (idx < IOAPIC_REG_REDIR || idx >= IOAPIC_REG_REDIR + 2 * IOAPIC_NR_PINS)
		return 0;
	pin = (idx - IOAPIC_REG_REDIR) / 2;
	if (idx & 1)
		return (uint32_t)(io->redir[pin] >> 32);
	return (uint32_t)io->redir[pin];
}

static void redir_write(struct ioapic *io, unsigned pin, bool high, uint32_t val)
{
	uint64_t old = io->redir[pin], e;

	if (high)
		e = (old & ~RTE_HIGH_WRITABLE) | (((uint64_t)val << 32) & RTE_HIGH_WRITABLE);
	else
		e = (old & ~RTE_LOW_WRITABLE) | (val & RTE_LOW_WRITABLE);
	if (!(e & IOAPIC_RTE_LEVEL))
		e &= ~IOAPIC_RTE_REMOTE_IRR;
	io->redir[pin] = e;
	if ((old ^ e) & RTE_WRITABLE)
		route_changed(io, pin);
	/*
	 * An edge entry never fires on a write (the pin's edges were missed
	 * while it was masked or differently programmed); a level entry
	 * fires if it is now asserted, unmasked and not in service.
	 */
	service_level(io, pin);
}

static void reg_write(struct ioapic *io, uint32_t val)
{
	unsigned idx = io->ioregsel;

	if (idx == IOAPIC_REG_ID) {
		io->id = (uint8_t)(val >> 24);
		return;
	}
	if (idx < IOAPIC_REG_REDIR || idx >= IOAPIC_REG_REDIR + 2 * IOAPIC_NR_PINS)
		return; /* VER, ARB: read-only; the rest: nothing there */
	redir_write(io, (idx - IOAPIC_REG_REDIR) / 2, idx & 1, val);
}

static uint64_t mmio_read(void *opaque, uint64_t offset, unsigned size)
{
	struct ioapic *io = opaque;

	if (size != 4)
		return 0;
	switch (offset) {
	case IOAPIC_IOREGSEL:
		return io->ioregsel;
	case IOAPIC_IOWIN:
		return reg_read(io);
	}
	return 0;
}

static void mmio_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct ioapic *io = opaque;

	if (size != 4)
		return;
	switch (offset) {
	case IOAPIC_IOREGSEL:
		io->ioregsel = (uint8_t)value;
		break;
	case IOAPIC_IOWIN:
		reg_write(io, (uint32_t)value);
		break;
	case IOAPIC_EOI:
		ioapic_eoi(io, (uint8_t)value);
		break;
	}
}

const struct bus_dev_ops ioapic_mmio_ops = {
	.read = mmio_read,
	.write = mmio_write,
};
