/* --trace irq: decoding what the interrupt hardware holds (irq_trace.h). */
#include <stdio.h>
#include <string.h>

#include "petrel/irq_trace.h"

/* The delivery modes of an IOAPIC entry and an MSI (Intel SDM 10.11.2). */
static const char *delivery(unsigned mode)
{
	static const char *const names[8] = {
		"fixed", "lowest", "smi", "reserved3", "nmi", "init", "reserved6", "extint",
	};
	return names[mode & 7];
}

void irq_trace_decode_redir(uint64_t redir, char *buf, size_t len)
{
	/* 82093AA redirection entry: 7:0 vector, 10:8 mode, 11 dest mode,
	 * 13 polarity, 14 remote IRR, 15 trigger, 16 mask, 63:56 dest */
	snprintf(buf, len,
		 "vector=0x%x delivery=%s dest_mode=%s dest=0x%x trigger=%s "
		 "polarity=%s mask=%u remote_irr=%u",
		 (unsigned)(redir & 0xff), delivery((unsigned)(redir >> 8)),
		 redir >> 11 & 1 ? "logical" : "physical", (unsigned)(redir >> 56),
		 redir >> 15 & 1 ? "level" : "edge", redir >> 13 & 1 ? "low" : "high",
		 (unsigned)(redir >> 16 & 1), (unsigned)(redir >> 14 & 1));
}

void irq_trace_decode_msi(uint64_t addr, uint32_t data, char *buf, size_t len)
{
	/* address 19:12 destination, 2 dest mode; data 7:0 vector, 10:8 mode,
	 * 15 trigger (Intel SDM 10.11.1) */
	snprintf(buf, len, "vector=0x%x delivery=%s dest_mode=%s dest=0x%x trigger=%s",
		 data & 0xff, delivery(data >> 8), addr >> 2 & 1 ? "logical" : "physical",
		 (unsigned)(addr >> 12 & 0xff), data >> 15 & 1 ? "level" : "edge");
}

void irq_trace_line(const struct irq_line *l, int level, int result)
{
	const struct irqchip *c = l->chip;
	struct irq_route_desc d = { .ioapic_pin = -1, .pic = -1 };
	char ioapic[192] = "", pic[48] = "";

	if (c->ops->describe_gsi && c->ops->describe_gsi(c->opaque, l->gsi, &d) < 0)
		d = (struct irq_route_desc){ .ioapic_pin = -1, .pic = -1 };
	if (d.ioapic_pin >= 0) {
		char redir[160];

		irq_trace_decode_redir(d.redir, redir, sizeof(redir));
		snprintf(ioapic, sizeof(ioapic), " ioapic_pin=%d redir=0x%llx %s",
			 d.ioapic_pin, (unsigned long long)d.redir, redir);
	}
	if (d.pic >= 0)
		snprintf(pic, sizeof(pic), " pic=%s:%u pic_masked=%d",
			 d.pic ? "slave" : "master", d.pic_pin, d.pic_masked);
	trace_emit(c->tr, TRACE_IRQ, "line dev=%s gsi=%u level=%d%s%s result=%d",
		   l->owner ? l->owner : "?", l->gsi, level, ioapic, pic, result);
}

void trace_irq_msi(struct tracer *tr, const char *dev, unsigned entry,
		   uint64_t addr, uint32_t data, const char *via)
{
	char msg[128];

	irq_trace_decode_msi(addr, data, msg, sizeof(msg));
	trace_emit(tr, TRACE_IRQ, "msi dev=%s entry=%u addr=0x%llx data=0x%x %s via=%s",
		   dev ? dev : "?", entry, (unsigned long long)addr, data, msg, via);
}

void trace_irq_msi_route(struct tracer *tr, const char *dev, unsigned entry,
			 int route, uint64_t addr, uint32_t data, int result)
{
	char msg[128];

	irq_trace_decode_msi(addr, data, msg, sizeof(msg));
	trace_emit(tr, TRACE_IRQ,
		   "msi-route dev=%s entry=%u route=%d addr=0x%llx data=0x%x %s result=%d",
		   dev ? dev : "?", entry, route, (unsigned long long)addr, data, msg,
		   result);
}

void trace_irq_ioapic(struct tracer *tr, unsigned pin, uint64_t redir,
		      const char *event)
{
	char d[160];

	if (!trace_on(tr, TRACE_IRQ))
		return;
	irq_trace_decode_redir(redir, d, sizeof(d));
	trace_emit(tr, TRACE_IRQ, "ioapic %s pin=%u redir=0x%llx %s", event, pin,
		   (unsigned long long)redir, d);
}

void trace_irq_pic(struct tracer *tr, unsigned pic, unsigned pin,
		   unsigned vector, const char *event)
{
	if (!trace_on(tr, TRACE_IRQ))
		return;
	trace_emit(tr, TRACE_IRQ, "pic %s chip=%s pin=%u irq=%u vector=0x%x", event,
		   pic ? "slave" : "master", pin, (pic ? 8 : 0) + pin, vector);
}
