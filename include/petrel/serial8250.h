/*
 * 16550A UART, as Linux's 8250 driver expects to find it at COM1/COM2.
 *
 * Wiring: a PIO range of 8 ports (PORT_SERIAL0, len 8) with serial8250_ops
 * and the struct serial8250 as opaque; offsets 0..7 are the UART registers.
 * Only 1-byte accesses are decoded; wider ones read all-ones and are dropped.
 *
 * Contract:
 * - The transmitter is as fast as the sink: a byte written to THR goes to
 *   sink.write (in order, one call per byte) at once when the sink takes it.
 *   When the sink is full (sink.write returns 0) bytes wait in a transmit
 *   FIFO (16 bytes, 1 with FIFOs off) and LSR shows THRE/TEMT clear, the
 *   back-pressure a real line gives; bytes written past a full FIFO are lost,
 *   as on hardware. The sink calls serial8250_tx_ready() when it has room
 *   again: the FIFO moves on, and the THRE interrupt is raised once it is
 *   empty. So a vCPU never waits for the host's output.
 * - Input is flow-controlled instead of overrun: serial8250_receive() takes
 *   only what fits in the 16-byte RX FIFO (1 byte with FIFOs off, none in
 *   loopback) and returns the count; the caller keeps the rest. When room
 *   appears after a short receive, sink.rx_ready (optional) is called so an
 *   I/O thread can retry without polling.
 * - The IRQ line follows "an enabled interrupt is pending" and is gated by
 *   MCR.OUT2 as on a PC (not gated in loopback). irq_line_set() is called
 *   only when the level changes.
 * - Every entry point takes s->lock, so vCPU threads and the I/O thread
 *   may call concurrently. sink.write, sink.rx_ready and the irqchip are
 *   called with the lock held: they must not call back into this UART, and
 *   must not block (they run on vCPU threads).
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
	/*
	 * Bytes the guest transmitted: returns how many the sink took (0..len);
	 * the UART keeps the rest until serial8250_tx_ready(). May be NULL
	 * (output dropped).
	 */
	size_t (*write)(void *opaque, const uint8_t *buf, size_t len);
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
	uint8_t tx_fifo[SERIAL8250_FIFO_SIZE]; /* bytes the sink has not taken */
	unsigned tx_head, tx_count;
	uint64_t tx_lost; /* written to THR while the transmit FIFO was full */

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
/* The sink has room again after a short write: resume transmitting. */
void serial8250_tx_ready(struct serial8250 *s);

extern const struct bus_dev_ops serial8250_ops;

#endif
