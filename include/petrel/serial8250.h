/*
 * 16550A UART, as Linux's 8250 driver expects to find it at COM1/COM2.
 *
 * Wiring: a PIO range of 8 ports (PORT_SERIAL0, len 8) with serial8250_ops
 * and the struct serial8250 as opaque; offsets 0..7 are the UART registers.
 * Only 1-byte accesses are decoded; wider ones read all-ones and are dropped.
 *
 * Contract:
 * - The transmitter is infinitely fast: a byte written to THR goes straight
 *   to sink.write (in order, one call per byte) and THRE/TEMT stay set.
 * - Input is flow-controlled instead of overrun: serial8250_receive() takes
 *   only what fits in the 16-byte RX FIFO (1 byte with FIFOs off, none in
 *   loopback) and returns the count; the caller keeps the rest. When room
 *   appears after a short receive, sink.rx_ready (optional) is called so an
 *   I/O thread can retry without polling.
 * - The IRQ line follows "an enabled interrupt is pending" and is gated by
 *   MCR.OUT2 as on a PC (not gated in loopback). irq_line_set() is called
 *   only when the level changes.
 * - Every entry point takes s->lock, so vCPU threads and the console thread
 *   may call concurrently. sink.write, sink.rx_ready and the irqchip are
 *   called with the lock held: they must not call back into this UART.
 */
#ifndef PETREL_SERIAL8250_H
#define PETREL_SERIAL8250_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "petrel/bus.h"
#include "petrel/irq.h"

#define SERIAL8250_NR_PORTS 8
#define SERIAL8250_FIFO_SIZE 16

struct serial8250_sink {
	/* Bytes the guest transmitted. May be NULL (output dropped). */
	void (*write)(void *opaque, const uint8_t *buf, size_t len);
	/* Optional: RX space appeared after serial8250_receive() came up short. */
	void (*rx_ready)(void *opaque);
	void *opaque;
};

struct serial8250 {
	pthread_mutex_t lock;
	struct irq_line irq;
	struct serial8250_sink sink;

	uint8_t rx_fifo[SERIAL8250_FIFO_SIZE];
	unsigned rx_head, rx_count;
	uint8_t rbr; /* last byte read: what RBR shows when the FIFO is empty */

	uint8_t ier, fcr, lcr, mcr, lsr, msr, scr, dll, dlm;
	bool thre_pending; /* THR-empty interrupt latched, not yet acknowledged */
	bool irq_level;    /* what we last told the irqchip */
	bool rx_wanted;    /* a receive() came up short: call rx_ready on room */
};

/* 0 or -errno (pthread_mutex_init). */
int serial8250_init(struct serial8250 *s, struct irq_line irq,
		    struct serial8250_sink sink);
void serial8250_destroy(struct serial8250 *s);

/* Host input: bytes accepted into the RX FIFO (0..len). */
size_t serial8250_receive(struct serial8250 *s, const uint8_t *buf, size_t len);
/* Bytes serial8250_receive() would accept right now. */
size_t serial8250_rx_space(struct serial8250 *s);

extern const struct bus_dev_ops serial8250_ops;

#endif
