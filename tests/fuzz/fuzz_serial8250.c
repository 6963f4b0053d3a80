/*
 * libFuzzer target for the 16550A UART (src/devices/serial8250.c): guest
 * register accesses at every offset (DLAB, FCR, IIR, LSR, MSR, loopback)
 * interleaved with host input arriving, a sink that fills up and drains,
 * and rx_space queries, checked against the contract in serial8250.h after
 * every step.
 *
 * Input (devf_input.h): records op, sz, off, val; op % 5 ==
 *   0  register write of val at off & 7 (any off when sz & 0x80), size
 *      devf_size(sz)
 *   1  register read, offsets and sizes as for writes
 *   2  host input: serial8250_receive of val & 0x1f bytes (val >> 8) + i
 *   3  the sink takes val & 0xff more bytes before it is full; when sz & 1,
 *      serial8250_tx_ready
 *   4  serial8250_rx_space
 * Seeds: tests/fuzz/corpus/fuzz_serial8250/, from mkseeds_devices.c.
 *
 * Checked: the IRQ line moves only when its level changes, is high only
 * while OUT2 (or loopback) lets it out, is low after IIR reads "no
 * interrupt" and high after IIR reports a cause that reading IIR does not
 * clear; bytes reach the sink once each, in the order written to THR, and
 * every byte written is either taken, waiting, lost to a full FIFO (and
 * counted) or cleared by FCR; RBR yields the received and looped-back
 * bytes in order; receive takes exactly what rx_space says fits; LSR's
 * THRE/TEMT/DR match the FIFOs; IER/MCR reserved bits read 0; accesses
 * of the wrong size or offset read all-ones; rx_ready comes only when
 * there is room.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <linux/serial_reg.h>

#include "devf_input.h"
#include "petrel/serial8250.h"

#define QCAP 64

/* A byte queue the size of anything the UART can hold. */
struct shadow {
	uint8_t b[QCAP];
	unsigned head, n;
};

struct fz {
	struct serial8250 s;
	struct irqchip chip;
	bool line;          /* the IRQ line as the chip saw it */
	unsigned budget;    /* bytes the sink takes before it is full */
	struct shadow tx;   /* written to THR, not yet taken by the sink */
	struct shadow rx;   /* in the receiver, oldest first */
	uint64_t written, taken, cleared;
};

static void q_push(struct shadow *q, uint8_t c)
{
	CHECK(q->n < QCAP);
	q->b[(q->head + q->n++) % QCAP] = c;
}

static uint8_t q_pop(struct shadow *q)
{
	uint8_t c = q->b[q->head];

	CHECK(q->n > 0);
	q->head = (q->head + 1) % QCAP;
	q->n--;
	return c;
}

static int fz_level(void *opaque, unsigned gsi, int level)
{
	struct fz *z = opaque;

	CHECK(gsi == 4);
	CHECK((level != 0) != z->line); /* only changes reach the chip */
	z->line = level != 0;
	return 0;
}

static int fz_msi(void *opaque, uint64_t addr, uint32_t data)
{
	(void)opaque, (void)addr, (void)data;
	CHECK(0); /* a UART has no MSI */
	return 0;
}

static const struct irqchip_ops fz_chip_ops = { .set_level = fz_level, .msi = fz_msi };

static size_t fz_write(void *opaque, const uint8_t *buf, size_t len)
{
	struct fz *z = opaque;

	CHECK(len == 1);
	if (!z->budget)
		return 0;
	z->budget--;
	CHECK(buf[0] == q_pop(&z->tx)); /* once each, in order */
	z->taken++;
	return 1;
}

static bool fifo_on(const struct serial8250 *s)
{
	return s->fcr & UART_FCR_ENABLE_FIFO;
}

static bool loop_on(const struct serial8250 *s)
{
	return s->mcr & UART_MCR_LOOP;
}

static unsigned capacity(const struct serial8250 *s)
{
	return fifo_on(s) ? SERIAL8250_FIFO_SIZE : 1;
}

static void fz_rx_ready(void *opaque)
{
	struct fz *z = opaque;

	CHECK(!loop_on(&z->s) && z->s.rx_count < capacity(&z->s));
}

static void check_state(struct fz *z)
{
	const struct serial8250 *s = &z->s;

	CHECK(s->rx_count <= capacity(s) && s->rx_head < SERIAL8250_FIFO_SIZE);
	CHECK(s->tx_count <= capacity(s) && s->tx_head < SERIAL8250_FIFO_SIZE);
	CHECK(z->tx.n == s->tx_count && z->rx.n == s->rx_count);
	CHECK(!(s->ier & 0xf0) && !(s->mcr & 0xe0));
	CHECK(s->irq_level == z->line);
	CHECK(!z->line || (s->mcr & UART_MCR_OUT2) || loop_on(s));
	CHECK(z->written == z->taken + s->tx_lost + s->tx_count + z->cleared);
}

static void do_write(struct fz *z, uint64_t off, unsigned size, uint8_t v)
{
	struct serial8250 *s = &z->s;
	bool dlab = s->lcr & UART_LCR_DLAB, valid = size == 1 && off < 8;
	bool loop = loop_on(s);
	unsigned cap = capacity(s), rx_before = s->rx_count;
	unsigned tx_before = s->tx_count;
	uint64_t lost = s->tx_lost;

	bool thr = valid && off == UART_TX && !dlab;

	/* queued before the call: the sink may take it inside */
	if (thr && !loop) {
		z->written++;
		q_push(&z->tx, v);
	}
	serial8250_ops.write(s, off, v, size);
	if (!valid)
		return;
	if (thr && !loop && s->tx_lost != lost) {
		CHECK(s->tx_lost == lost + 1);
		z->tx.n--; /* lost to the full FIFO: it was the newest */
	}
	if (thr && loop) {
		/* looped back into the receiver, or overrun */
		if (rx_before < cap)
			q_push(&z->rx, v);
		else if (cap == 1)
			z->rx.b[z->rx.head] = v; /* 8250 mode: overwritten */
	}
	if (off == UART_FCR) {
		/* FCR only ever empties a FIFO */
		CHECK(s->tx_count == 0 || s->tx_count == tx_before);
		CHECK(s->rx_count == 0 || s->rx_count == rx_before);
		if (s->tx_count != tx_before) {
			z->cleared += tx_before;
			z->tx.n = 0;
		}
		if (s->rx_count != rx_before)
			z->rx.n = 0;
	}
}

static void do_read(struct fz *z, uint64_t off, unsigned size)
{
	struct serial8250 *s = &z->s;
	bool dlab = s->lcr & UART_LCR_DLAB, valid = size == 1 && off < 8;
	unsigned rx_before = s->rx_count, tx_before = s->tx_count;
	uint64_t v = serial8250_ops.read(s, off, size);

	if (!valid) {
		CHECK(v == ~0ULL);
		return;
	}
	CHECK(v <= 0xff);
	switch (off) {
	case UART_RX:
		if (dlab)
			CHECK(v == s->dll);
		else if (rx_before)
			CHECK(v == q_pop(&z->rx));
		break;
	case UART_IER:
		CHECK(dlab || !(v & 0xf0));
		break;
	case UART_IIR:
		CHECK(!(v & 0x30) && ((v & 0xc0) == 0 || (v & 0xc0) == 0xc0));
		if (v & UART_IIR_NO_INT)
			CHECK(!z->line);
		else if ((v & UART_IIR_ID) != UART_IIR_THRI &&
			 ((s->mcr & UART_MCR_OUT2) || loop_on(s)))
			CHECK(z->line);
		break;
	case UART_LSR:
		CHECK(!!(v & UART_LSR_THRE) == !tx_before);
		CHECK(!!(v & UART_LSR_TEMT) == !tx_before);
		CHECK(!!(v & UART_LSR_DR) == !!rx_before);
		break;
	case UART_MSR:
		if (!loop_on(s))
			CHECK((v & 0xf0) == (UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS));
		break;
	}
}

static void do_receive(struct fz *z, uint32_t val)
{
	uint8_t buf[32];
	size_t len = val & 0x1f, space = serial8250_rx_space(&z->s), n;

	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)((val >> 8) + i);
	n = serial8250_receive(&z->s, buf, len);
	CHECK(n == (len < space ? len : space));
	for (size_t i = 0; i < n; i++)
		q_push(&z->rx, buf[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz *z = calloc(1, sizeof(*z));

	CHECK(z);
	z->chip = (struct irqchip){ &fz_chip_ops, z, NULL };
	CHECK(serial8250_init(&z->s, (struct irq_line){ &z->chip, 4, "fuzz" },
			      (struct serial8250_sink){ fz_write, fz_rx_ready, z }) == 0);
	z->budget = 1000;
	for (size_t i = 0; i < size / DEVF_REC; i++) {
		struct devf_rec r = devf_get(data, i);
		uint64_t off = (r.sz & 0x80) ? r.off : (r.off & 7u);
		size_t space;

		switch (r.op % 5) {
		case 0:
			do_write(z, off, devf_size(r.sz), (uint8_t)r.val);
			break;
		case 1:
			do_read(z, off, devf_size(r.sz));
			break;
		case 2:
			do_receive(z, r.val);
			break;
		case 3:
			z->budget = r.val & 0xff;
			if (r.sz & 1)
				serial8250_tx_ready(&z->s);
			break;
		case 4:
			space = serial8250_rx_space(&z->s);
			CHECK(space == (loop_on(&z->s) ? 0 : capacity(&z->s) - z->s.rx_count));
			break;
		}
		check_state(z);
	}
	serial8250_destroy(&z->s);
	free(z);
	return 0;
}
