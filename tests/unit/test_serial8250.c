#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <linux/serial_reg.h>

#include "petrel/bus.h"
#include "petrel/layout.h"
#include "petrel/serial8250.h"

/* A recording irqchip and byte sink. */
struct rec {
	struct irqchip chip;
	unsigned nr_irq;
	unsigned irq_gsi[256];
	int irq_level[256];
	uint8_t out[4096];
	size_t out_len;
	unsigned write_calls;
	unsigned rx_ready_calls;
	size_t room; /* what the sink takes before it is full */
	struct serial8250 s;
};

static int rec_set_level(void *opaque, unsigned gsi, int level)
{
	struct rec *r = opaque;

	if (r->nr_irq < 256) {
		r->irq_gsi[r->nr_irq] = gsi;
		r->irq_level[r->nr_irq] = level;
	}
	r->nr_irq++;
	return 0;
}

static int rec_msi(void *opaque, uint64_t addr, uint32_t data)
{
	(void)opaque, (void)addr, (void)data;
	return -1;
}

static const struct irqchip_ops rec_ops = { .set_level = rec_set_level, .msi = rec_msi };

static size_t rec_write(void *opaque, const uint8_t *buf, size_t len)
{
	struct rec *r = opaque;
	size_t n = 0;

	r->write_calls++;
	for (; n < len && n < r->room && r->out_len < sizeof(r->out); n++)
		r->out[r->out_len++] = buf[n];
	r->room -= n;
	return n;
}

static void rec_rx_ready(void *opaque)
{
	((struct rec *)opaque)->rx_ready_calls++;
}

static int setup(void **state)
{
	struct rec *r = test_calloc(1, sizeof(*r));

	r->chip.ops = &rec_ops;
	r->chip.opaque = r;
	r->room = SIZE_MAX;
	struct irq_line line = { &r->chip, GSI_SERIAL0, "com1" };
	struct serial8250_sink sink = { rec_write, rec_rx_ready, r };
	assert_int_equal(serial8250_init(&r->s, line, sink), 0);
	*state = r;
	return 0;
}

static int teardown(void **state)
{
	struct rec *r = *state;

	serial8250_destroy(&r->s);
	test_free(r);
	return 0;
}

static uint8_t in(struct rec *r, unsigned reg)
{
	return (uint8_t)serial8250_ops.read(&r->s, reg, 1);
}

static void out(struct rec *r, unsigned reg, uint8_t v)
{
	serial8250_ops.write(&r->s, reg, v, 1);
}

static int last_level(const struct rec *r)
{
	return r->nr_irq ? r->irq_level[r->nr_irq - 1] : 0;
}

static void test_reset_values(void **state)
{
	struct rec *r = *state;

	assert_int_equal(in(r, UART_IER), 0x00);
	assert_int_equal(in(r, UART_IIR), 0x01);
	assert_int_equal(in(r, UART_LCR), 0x00);
	assert_int_equal(in(r, UART_MCR), 0x00);
	assert_int_equal(in(r, UART_LSR), 0x60);
	assert_int_equal(in(r, UART_MSR), 0xb0);
	assert_int_equal(in(r, UART_SCR), 0x00);
	out(r, UART_LCR, UART_LCR_DLAB);
	assert_int_equal(in(r, UART_DLL), 0x01);
	assert_int_equal(in(r, UART_DLM), 0x00);
	assert_int_equal(r->nr_irq, 0);
	assert_int_equal(serial8250_rx_space(&r->s), 1);
}

static void test_scratch(void **state)
{
	struct rec *r = *state;

	out(r, UART_SCR, 0x5a);
	assert_int_equal(in(r, UART_SCR), 0x5a);
	out(r, UART_SCR, 0xa5);
	assert_int_equal(in(r, UART_SCR), 0xa5);
	assert_int_equal(r->out_len, 0);
}

static void test_divisor_latch(void **state)
{
	struct rec *r = *state;
	const uint8_t c = 'x';

	assert_int_equal(serial8250_receive(&r->s, &c, 1), 1);
	out(r, UART_LCR, 0x83);
	out(r, UART_DLL, 0x0c);
	out(r, UART_DLM, 0x12);
	assert_int_equal(in(r, UART_DLL), 0x0c);
	assert_int_equal(in(r, UART_DLM), 0x12);
	assert_int_equal(in(r, UART_LCR), 0x83);
	assert_int_equal(r->out_len, 0);     /* DLL write is not a THR write */
	assert_int_equal(in(r, UART_LSR) & UART_LSR_DR, UART_LSR_DR); /* RBR untouched */
	out(r, UART_LCR, 0x03);
	assert_int_equal(in(r, UART_IER), 0x00); /* DLM write did not hit IER */
	assert_int_equal(in(r, UART_RX), 'x');
	out(r, UART_LCR, 0x83);
	assert_int_equal(in(r, UART_DLL), 0x0c);
	assert_int_equal(in(r, UART_DLM), 0x12);
}

static void test_tx_order(void **state)
{
	struct rec *r = *state;
	const char *msg = "hello, petrel\r\n";

	for (size_t i = 0; msg[i]; i++) {
		out(r, UART_TX, (uint8_t)msg[i]);
		assert_int_equal(in(r, UART_LSR) & 0x60, 0x60);
	}
	assert_int_equal(r->out_len, strlen(msg));
	assert_memory_equal(r->out, msg, strlen(msg));
	assert_int_equal(r->write_calls, strlen(msg));
}

static void test_rx_fifo_fill(void **state)
{
	struct rec *r = *state;
	uint8_t buf[20];

	for (unsigned i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(0x40 + i);
	out(r, UART_FCR, UART_FCR_ENABLE_FIFO);
	assert_int_equal(serial8250_rx_space(&r->s), 16);
	assert_int_equal(serial8250_receive(&r->s, buf, sizeof(buf)), 16);
	assert_int_equal(serial8250_rx_space(&r->s), 0);
	assert_int_equal(serial8250_receive(&r->s, buf + 16, 4), 0);
	/* back-pressure, not overrun: the host keeps what did not fit */
	assert_int_equal(in(r, UART_LSR), 0x61);
	for (unsigned i = 0; i < 16; i++)
		assert_int_equal(in(r, UART_RX), 0x40 + i);
	assert_int_equal(in(r, UART_LSR), 0x60);
	/* an empty RBR keeps showing the last character */
	assert_int_equal(in(r, UART_RX), 0x4f);
	assert_int_equal(serial8250_receive(&r->s, buf + 16, 4), 4);
	assert_int_equal(in(r, UART_RX), 0x50);
}

static void test_rx_no_fifo_holds_one(void **state)
{
	struct rec *r = *state;
	const uint8_t buf[3] = { 1, 2, 3 };

	assert_int_equal(serial8250_receive(&r->s, buf, 3), 1);
	assert_int_equal(in(r, UART_RX), 1);
	assert_int_equal(serial8250_receive(&r->s, buf + 1, 2), 1);
	assert_int_equal(in(r, UART_RX), 2);
}

static void test_rx_ready_callback(void **state)
{
	struct rec *r = *state;
	uint8_t buf[17] = { 0 };

	out(r, UART_FCR, UART_FCR_ENABLE_FIFO);
	assert_int_equal(serial8250_receive(&r->s, buf, 16), 16);
	in(r, UART_RX);
	assert_int_equal(r->rx_ready_calls, 0); /* nobody was waiting */
	assert_int_equal(serial8250_receive(&r->s, buf, 17), 1);
	in(r, UART_RX);
	assert_int_equal(r->rx_ready_calls, 1);
	in(r, UART_RX);
	assert_int_equal(r->rx_ready_calls, 1); /* once per short receive */
}

static void test_loopback_overrun_sets_oe(void **state)
{
	struct rec *r = *state;

	out(r, UART_FCR, UART_FCR_ENABLE_FIFO);
	out(r, UART_MCR, UART_MCR_LOOP);
	for (unsigned i = 0; i < 17; i++)
		out(r, UART_TX, (uint8_t)i);
	assert_int_equal(r->out_len, 0); /* loopback: nothing reaches the host */
	assert_int_equal(in(r, UART_LSR), 0x63);
	assert_int_equal(in(r, UART_LSR), 0x61); /* OE clears on read */
	for (unsigned i = 0; i < 16; i++)
		assert_int_equal(in(r, UART_RX), i); /* the 17th was lost */
	assert_int_equal(in(r, UART_LSR), 0x60);

	/* without FIFOs the overrun overwrites the holding register */
	out(r, UART_FCR, 0);
	out(r, UART_TX, 'a');
	out(r, UART_TX, 'b');
	assert_int_equal(in(r, UART_LSR), 0x63);
	assert_int_equal(in(r, UART_RX), 'b');
	assert_int_equal(in(r, UART_LSR), 0x60);
}

static void test_iir_priorities(void **state)
{
	struct rec *r = *state;

	out(r, UART_MCR, UART_MCR_LOOP | UART_MCR_OUT2);
	in(r, UART_MSR); /* drop the deltas from entering loopback */
	out(r, UART_TX, 'a');
	out(r, UART_TX, 'b'); /* overrun: line status */
	out(r, UART_MCR, UART_MCR_LOOP | UART_MCR_OUT2 | UART_MCR_RTS); /* CTS delta */
	assert_int_equal(in(r, UART_IIR), 0x01); /* nothing enabled yet */
	assert_int_equal(r->nr_irq, 0);
	out(r, UART_IER, 0x0f);
	assert_int_equal(last_level(r), 1);
	assert_int_equal(r->irq_gsi[0], GSI_SERIAL0);
	assert_int_equal(in(r, UART_IIR), UART_IIR_RLSI);
	assert_int_equal(in(r, UART_LSR), 0x63);
	assert_int_equal(in(r, UART_IIR), UART_IIR_RDI);
	assert_int_equal(in(r, UART_RX), 'b');
	assert_int_equal(in(r, UART_IIR), UART_IIR_THRI);
	assert_int_equal(last_level(r), 1);
	/* the IIR read acknowledged THRE, modem status is next */
	assert_int_equal(in(r, UART_IIR), UART_IIR_MSI);
	assert_int_equal(in(r, UART_MSR), 0x90 | UART_MSR_DCTS);
	assert_int_equal(in(r, UART_IIR), UART_IIR_NO_INT);
	assert_int_equal(last_level(r), 0);
	assert_int_equal(r->nr_irq, 2); /* one raise, one lower */
}

static void test_out2_gates_irq(void **state)
{
	struct rec *r = *state;
	const uint8_t c = 'z';

	out(r, UART_IER, UART_IER_RDI);
	assert_int_equal(serial8250_receive(&r->s, &c, 1), 1);
	assert_int_equal(r->nr_irq, 0);      /* OUT2 clear: line stays low */
	assert_int_equal(in(r, UART_IIR), UART_IIR_RDI); /* but it is pending */
	out(r, UART_MCR, UART_MCR_OUT2 | UART_MCR_DTR | UART_MCR_RTS);
	assert_int_equal(r->nr_irq, 1);
	assert_int_equal(r->irq_level[0], 1);
	out(r, UART_MCR, 0);
	assert_int_equal(r->nr_irq, 2);
	assert_int_equal(r->irq_level[1], 0);
	out(r, UART_MCR, UART_MCR_OUT2);
	assert_int_equal(in(r, UART_RX), 'z');
	assert_int_equal(r->nr_irq, 4);
	assert_int_equal(r->irq_level[2], 1);
	assert_int_equal(r->irq_level[3], 0);
}

static void test_thre_interrupt(void **state)
{
	struct rec *r = *state;

	out(r, UART_MCR, UART_MCR_OUT2);
	out(r, UART_IER, UART_IER_THRI); /* 0->1 with THR empty: interrupt */
	assert_int_equal(last_level(r), 1);
	assert_int_equal(in(r, UART_IIR), UART_IIR_THRI);
	assert_int_equal(last_level(r), 0); /* acknowledged by the IIR read */
	assert_int_equal(in(r, UART_IIR), UART_IIR_NO_INT);
	out(r, UART_IER, UART_IER_THRI); /* 1->1: no new interrupt */
	assert_int_equal(in(r, UART_IIR), UART_IIR_NO_INT);
	out(r, UART_TX, 'q'); /* sent at once, THR empty again */
	assert_int_equal(last_level(r), 1);
	assert_int_equal(in(r, UART_IIR), UART_IIR_THRI);
	out(r, UART_TX, 'r');
	out(r, UART_IER, 0); /* masked */
	assert_int_equal(last_level(r), 0);
	assert_int_equal(in(r, UART_IIR), UART_IIR_NO_INT);

	/* Linux's UART_BUG_THRE probe: re-enabling must re-assert THRE */
	out(r, UART_IER, UART_IER_THRI);
	uint8_t iir1 = in(r, UART_IIR);
	out(r, UART_IER, 0);
	out(r, UART_IER, UART_IER_THRI);
	uint8_t iir2 = in(r, UART_IIR);
	out(r, UART_IER, 0);
	assert_int_equal(iir1, UART_IIR_THRI);
	assert_int_equal(iir2, UART_IIR_THRI);
	assert_memory_equal(r->out, "qr", 2);
}

static void test_loopback(void **state)
{
	struct rec *r = *state;
	const uint8_t c = 'h';

	out(r, UART_MCR, UART_MCR_LOOP | UART_MCR_OUT2 | UART_MCR_RTS);
	assert_int_equal(in(r, UART_MSR) & 0xf0, 0x90);
	out(r, UART_MCR, 0x1f);
	/* DSR and RI rose: only DSR has a delta bit for a rising edge */
	assert_int_equal(in(r, UART_MSR), 0xf0 | UART_MSR_DDSR);
	out(r, UART_MCR, UART_MCR_LOOP | UART_MCR_OUT1);
	/* OUT1 keeps RI on; DCD, CTS and DSR dropped */
	assert_int_equal(in(r, UART_MSR),
			 UART_MSR_RI | UART_MSR_DDCD | UART_MSR_DCTS | UART_MSR_DDSR);
	out(r, UART_MCR, UART_MCR_LOOP);
	assert_int_equal(in(r, UART_MSR), UART_MSR_TERI);
	assert_int_equal(serial8250_rx_space(&r->s), 0);
	assert_int_equal(serial8250_receive(&r->s, &c, 1), 0);
	out(r, UART_TX, 0x42);
	assert_int_equal(r->out_len, 0);
	assert_int_equal(in(r, UART_RX), 0x42);
	assert_int_equal(r->rx_ready_calls, 0);
	out(r, UART_MCR, 0);
	assert_int_equal(r->rx_ready_calls, 1); /* the host may send again */
	assert_int_equal(in(r, UART_MSR), 0xb0 | UART_MSR_DDCD | UART_MSR_DCTS |
						 UART_MSR_DDSR);
	assert_int_equal(serial8250_receive(&r->s, &c, 1), 1);
	out(r, UART_TX, 0x43);
	assert_int_equal(r->out_len, 1);
	assert_int_equal(r->out[0], 0x43);
}

static void test_fifo_control(void **state)
{
	struct rec *r = *state;
	uint8_t buf[14] = { 0 };

	out(r, UART_MCR, UART_MCR_OUT2);
	out(r, UART_FCR, UART_FCR_ENABLE_FIFO);
	assert_int_equal(in(r, UART_IIR), 0xc1);
	out(r, UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_TRIGGER_14);
	out(r, UART_IER, UART_IER_RDI);
	assert_int_equal(serial8250_receive(&r->s, buf, 3), 3);
	assert_int_equal(in(r, UART_IIR), 0xc0 | UART_IIR_RX_TIMEOUT);
	assert_int_equal(serial8250_receive(&r->s, buf, 11), 11);
	assert_int_equal(in(r, UART_IIR), 0xc0 | UART_IIR_RDI);
	assert_int_equal(last_level(r), 1);
	out(r, UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR);
	assert_int_equal(in(r, UART_LSR), 0x60);
	assert_int_equal(in(r, UART_IIR), 0xc1);
	assert_int_equal(last_level(r), 0);
	assert_int_equal(serial8250_rx_space(&r->s), 16);
	/* trigger level went back to 1 with that write */
	assert_int_equal(serial8250_receive(&r->s, buf, 1), 1);
	assert_int_equal(in(r, UART_IIR), 0xc0 | UART_IIR_RDI);
	/* disabling the FIFOs clears them and IIR 7:6 */
	out(r, UART_FCR, 0);
	assert_int_equal(in(r, UART_IIR), 0x01);
	assert_int_equal(in(r, UART_LSR), 0x60);
	/* bits other than enable are ignored while FCR0 is clear */
	out(r, UART_FCR, UART_FCR_TRIGGER_14);
	assert_int_equal(in(r, UART_IIR), 0x01);
}

/* The probe sequence of Linux's 8250 autoconfig(), condensed. */
static void test_linux_autoconfig_finds_16550a(void **state)
{
	struct rec *r = *state;
	uint8_t scratch, scratch2, scratch3, save_mcr, save_lcr, status1, st2;

	scratch = in(r, UART_IER);
	out(r, UART_IER, 0);
	scratch2 = in(r, UART_IER) & 0x0f;
	out(r, UART_IER, 0x0f);
	scratch3 = in(r, UART_IER) & 0x0f;
	out(r, UART_IER, scratch);
	assert_int_equal(scratch2, 0);
	assert_int_equal(scratch3, 0x0f);

	save_mcr = in(r, UART_MCR);
	save_lcr = in(r, UART_LCR);
	out(r, UART_MCR, UART_MCR_LOOP | 0x0a);
	status1 = in(r, UART_MSR) & 0xf0;
	out(r, UART_MCR, save_mcr);
	assert_int_equal(status1, 0x90);

	out(r, UART_LCR, 0xbf);
	out(r, 2 /* EFR */, 0);
	out(r, UART_LCR, 0);
	out(r, UART_FCR, UART_FCR_ENABLE_FIFO);
	assert_int_equal(in(r, UART_IIR) >> 6, 3); /* -> autoconfig_16550a */

	/* no EFR behind LCR=0xbf or 0x80: reg 2 shows IIR, never 0 */
	out(r, UART_LCR, 0xbf);
	assert_int_not_equal(in(r, 2), 0);
	out(r, UART_LCR, 0x80);
	assert_int_not_equal(in(r, 2), 0);
	/* not a 16750: IIR bit 5 never follows FCR bit 5 */
	out(r, UART_LCR, 0);
	out(r, UART_FCR, UART_FCR_ENABLE_FIFO | 0x20);
	status1 = in(r, UART_IIR) & 0xe0;
	out(r, UART_FCR, UART_FCR_ENABLE_FIFO);
	out(r, UART_LCR, 0x80);
	out(r, UART_FCR, UART_FCR_ENABLE_FIFO | 0x20);
	st2 = in(r, UART_IIR) & 0xe0;
	out(r, UART_FCR, UART_FCR_ENABLE_FIFO);
	out(r, UART_LCR, 0);
	assert_int_equal(status1, 0xc0);
	assert_int_equal(st2, 0xc0);
	/* not an XScale: IER bit 6 (UUE) does not stick */
	out(r, UART_IER, 0x40);
	assert_int_equal(in(r, UART_IER), 0);

	out(r, UART_LCR, save_lcr);
	out(r, UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR |
				 UART_FCR_CLEAR_XMIT);
	out(r, UART_FCR, 0);
	in(r, UART_RX);
	out(r, UART_IER, 0);
	assert_int_equal(r->out_len, 0);
	assert_int_equal(r->nr_irq, 0);

	/* startup's UART_BUG_TXEN probe: THRE must show with THRI enabled */
	out(r, UART_IER, UART_IER_THRI);
	uint8_t lsr = in(r, UART_LSR), iir = in(r, UART_IIR);
	out(r, UART_IER, 0);
	assert_true(lsr & UART_LSR_TEMT);
	assert_int_equal(iir & UART_IIR_NO_INT, 0);
}

static void test_bad_sizes_and_offsets(void **state)
{
	struct rec *r = *state;
	struct bus b;
	uint32_t v32 = 0;
	uint8_t v8 = 0;

	assert_int_equal(serial8250_ops.read(&r->s, 0, 2), ~0ULL);
	assert_int_equal(serial8250_ops.read(&r->s, 0, 4), ~0ULL);
	assert_int_equal(serial8250_ops.read(&r->s, 8, 1), ~0ULL);
	assert_int_equal(serial8250_ops.read(&r->s, ~0ULL, 1), ~0ULL);
	serial8250_ops.write(&r->s, UART_SCR, 0x11223344, 4);
	serial8250_ops.write(&r->s, 8, 'x', 1);
	serial8250_ops.write(&r->s, ~0ULL, 'x', 1);
	serial8250_ops.write(&r->s, UART_TX, 'x', 2);
	assert_int_equal(in(r, UART_SCR), 0);
	assert_int_equal(r->out_len, 0);
	out(r, UART_LSR, 0xff); /* read-only */
	out(r, UART_MSR, 0xff);
	assert_int_equal(in(r, UART_LSR), 0x60);
	assert_int_equal(in(r, UART_MSR), 0xb0);

	/* through a real PIO bus, as a vCPU would reach it */
	bus_init(&b, "pio");
	assert_int_equal(bus_insert(&b, PORT_SERIAL0, SERIAL8250_NR_PORTS,
				    &serial8250_ops, &r->s, "ttyS0"), 0);
	v8 = 'k';
	assert_int_equal(bus_write(&b, PORT_SERIAL0, &v8, 1), 1);
	assert_int_equal(bus_read(&b, PORT_SERIAL0 + UART_LSR, &v8, 1), 1);
	assert_int_equal(v8, 0x60);
	assert_int_equal(bus_read(&b, PORT_SERIAL0 + 4, &v32, 4), 1);
	assert_int_equal(v32, 0xffffffffu);
	assert_int_equal(bus_read(&b, PORT_SERIAL0 + 7, &v32, 4), 0); /* past end */
	bus_destroy(&b);
	assert_int_equal(r->out_len, 1);
	assert_int_equal(r->out[0], 'k');
}

/* Random register traffic and input must keep the invariants. */
static void test_hostile_sequences(void **state)
{
	struct rec *r = *state;
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	static const unsigned sizes[] = { 1, 1, 1, 1, 2, 4, 8, 0, 3 };

	for (unsigned i = 0; i < 200000; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		unsigned off = (x >> 8) % 10, size = sizes[(x >> 16) % 9];
		uint8_t val = (uint8_t)(x >> 24);

		switch ((x >> 32) % 4) {
		case 0:
			serial8250_ops.write(&r->s, off, val, size);
			break;
		case 1:
			serial8250_ops.read(&r->s, off, size);
			break;
		case 2: {
			uint8_t buf[24];
			memset(buf, val, sizeof(buf));
			serial8250_receive(&r->s, buf, (x >> 40) % 25);
			break;
		}
		default:
			serial8250_rx_space(&r->s);
		}
		assert_true(r->s.rx_count <= SERIAL8250_FIFO_SIZE);
		assert_true(r->s.rx_head < SERIAL8250_FIFO_SIZE);
	}
	/* the line only ever toggles: raise, lower, raise, ... */
	for (unsigned i = 0; i < r->nr_irq && i < 256; i++)
		assert_int_equal(r->irq_level[i], (i % 2) == 0);
}

/*
 * A full sink (a stalled stdout behind the console's buffer): the bytes wait
 * in the transmit FIFO, LSR shows the transmitter busy, and nothing is lost
 * or reordered; when the sink has room again, the FIFO moves on and the
 * THRE interrupt comes back only once it is empty.
 */
static void test_tx_backpressure_fifo(void **state)
{
	struct rec *r = *state;
	char want[20];

	out(r, UART_MCR, UART_MCR_OUT2);
	out(r, UART_FCR, UART_FCR_ENABLE_FIFO);
	out(r, UART_IER, UART_IER_THRI);
	assert_int_equal(in(r, UART_IIR), 0xc0 | UART_IIR_THRI);
	r->room = 2;
	for (int i = 0; i < 18; i++) /* 2 leave, 16 fill the FIFO */
		out(r, UART_TX, (uint8_t)('a' + i));
	assert_int_equal(r->out_len, 2);
	/* transmitter busy: THRE and TEMT clear, no THRE interrupt */
	assert_int_equal(in(r, UART_LSR) & (UART_LSR_THRE | UART_LSR_TEMT), 0);
	assert_int_equal(in(r, UART_IIR), 0xc0 | UART_IIR_NO_INT);
	assert_int_equal(last_level(r), 0);
	/* a guest that writes anyway loses that byte, as on hardware */
	out(r, UART_TX, '!');
	assert_int_equal(r->s.tx_lost, 1);
	/* room for 5: the FIFO moves on but is not empty, still busy */
	r->room = 5;
	serial8250_tx_ready(&r->s);
	assert_int_equal(r->out_len, 7);
	assert_int_equal(in(r, UART_LSR) & UART_LSR_THRE, 0);
	assert_int_equal(last_level(r), 0);
	/* all the room it needs: empty, THRE and TEMT back, interrupt raised */
	r->room = SIZE_MAX;
	serial8250_tx_ready(&r->s);
	assert_int_equal(r->out_len, 18);
	assert_int_equal(in(r, UART_LSR) & (UART_LSR_THRE | UART_LSR_TEMT),
			 UART_LSR_THRE | UART_LSR_TEMT);
	assert_int_equal(last_level(r), 1);
	assert_int_equal(in(r, UART_IIR), 0xc0 | UART_IIR_THRI);
	assert_int_equal(last_level(r), 0);
	for (int i = 0; i < 18; i++)
		want[i] = (char)('a' + i);
	assert_memory_equal(r->out, want, 18);
	/* a spurious tx_ready changes nothing */
	serial8250_tx_ready(&r->s);
	assert_int_equal(r->out_len, 18);
	assert_int_equal(in(r, UART_IIR), 0xc0 | UART_IIR_NO_INT);
}

/* Without FIFOs the transmitter holds one byte, like an 8250's THR. */
static void test_tx_backpressure_no_fifo(void **state)
{
	struct rec *r = *state;

	r->room = 0;
	out(r, UART_TX, 'x');
	assert_int_equal(in(r, UART_LSR) & (UART_LSR_THRE | UART_LSR_TEMT), 0);
	out(r, UART_TX, 'y'); /* lost: THR was full */
	assert_int_equal(r->s.tx_lost, 1);
	/* enabling ETBEI while THR is full raises nothing yet */
	out(r, UART_MCR, UART_MCR_OUT2);
	out(r, UART_IER, UART_IER_THRI);
	assert_int_equal(in(r, UART_IIR), UART_IIR_NO_INT);
	r->room = 1;
	serial8250_tx_ready(&r->s);
	assert_int_equal(r->out_len, 1);
	assert_int_equal(r->out[0], 'x');
	assert_int_equal(last_level(r), 1);
	assert_int_equal(in(r, UART_IIR), UART_IIR_THRI);
	/* a guest polling THRE, as Linux's early console does: byte by byte */
	r->room = 0;
	out(r, UART_TX, '1');
	assert_int_equal(in(r, UART_LSR) & UART_LSR_THRE, 0);
	r->room = 1;
	serial8250_tx_ready(&r->s);
	assert_int_equal(in(r, UART_LSR) & UART_LSR_THRE, UART_LSR_THRE);
	out(r, UART_TX, '2');
	assert_int_equal(r->out_len, 2); /* the room went to '1': '2' waits */
	r->room = 1;
	serial8250_tx_ready(&r->s);
	assert_memory_equal(r->out, "x12", 3);
}

/* Clearing the transmit FIFO drops what the sink has not taken. */
static void test_tx_clear_fifo(void **state)
{
	struct rec *r = *state;

	out(r, UART_FCR, UART_FCR_ENABLE_FIFO);
	r->room = 0;
	out(r, UART_TX, 'a');
	out(r, UART_TX, 'b');
	assert_int_equal(in(r, UART_LSR) & UART_LSR_TEMT, 0);
	out(r, UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_XMIT);
	assert_int_equal(in(r, UART_LSR) & (UART_LSR_THRE | UART_LSR_TEMT),
			 UART_LSR_THRE | UART_LSR_TEMT);
	r->room = SIZE_MAX;
	serial8250_tx_ready(&r->s);
	assert_int_equal(r->out_len, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_reset_values),
		T(test_scratch),
		T(test_divisor_latch),
		T(test_tx_order),
		T(test_rx_fifo_fill),
		T(test_rx_no_fifo_holds_one),
		T(test_rx_ready_callback),
		T(test_loopback_overrun_sets_oe),
		T(test_iir_priorities),
		T(test_out2_gates_irq),
		T(test_thre_interrupt),
		T(test_loopback),
		T(test_fifo_control),
		T(test_linux_autoconfig_finds_16550a),
		T(test_bad_sizes_and_offsets),
		T(test_hostile_sequences),
		T(test_tx_backpressure_fifo),
		T(test_tx_backpressure_no_fifo),
		T(test_tx_clear_fifo),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
