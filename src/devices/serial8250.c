/*
 * 16550A UART model. The register semantics follow the National/TI 16550A
 * datasheet; where the datasheet leaves room, we pick what Linux's 8250
 * autoconfig needs to identify a 16550A (see tests/unit/test_serial8250.c).
 */
#include <errno.h>
#include <string.h>

#include <linux/serial_reg.h>

#include "petrel/serial8250.h"
#include "petrel/util.h"

/* IIR bits 7:6 read 11 when the FIFOs are on: how drivers tell a 16550A. */
#define IIR_FIFO_BITS 0xc0
#define IER_MASK 0x0f /* bits 7:4 are 0 on a 16550A; Linux checks that */
#define MCR_MASK 0x1f /* bits 7:5 are 0 (AFE is a 16750 feature) */
#define LSR_ERR_BITS (UART_LSR_OE | UART_LSR_PE | UART_LSR_FE | UART_LSR_BI)

static const unsigned rx_trigger_levels[4] = { 1, 4, 8, 14 };

static bool fifo_on(const struct serial8250 *s)
{
	return s->fcr & UART_FCR_ENABLE_FIFO;
}

static bool loopback(const struct serial8250 *s)
{
	return s->mcr & UART_MCR_LOOP;
}

/* Without FIFOs the receiver holds a single character, like an 8250. */
static unsigned rx_capacity(const struct serial8250 *s)
{
	return fifo_on(s) ? SERIAL8250_FIFO_SIZE : 1;
}

/*
 * The modem inputs. With no modem behind the host terminal we report the
 * line as connected (DCD, DSR, CTS), so a console with CLOCAL unset and
 * flow control on still transmits. In loopback the outputs feed back.
 */
static uint8_t modem_inputs(const struct serial8250 *s)
{
	uint8_t m = 0;

	if (!loopback(s))
		return UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS;
	if (s->mcr & UART_MCR_DTR)
		m |= UART_MSR_DSR;
	if (s->mcr & UART_MCR_RTS)
		m |= UART_MSR_CTS;
	if (s->mcr & UART_MCR_OUT1)
		m |= UART_MSR_RI;
	if (s->mcr & UART_MCR_OUT2)
		m |= UART_MSR_DCD;
	return m;
}

static void msr_refresh(struct serial8250 *s)
{
	uint8_t old = s->msr & 0xf0, cur = modem_inputs(s);
	uint8_t changed = old ^ cur, delta = s->msr & UART_MSR_ANY_DELTA;

	if (changed & UART_MSR_CTS)
		delta |= UART_MSR_DCTS;
	if (changed & UART_MSR_DSR)
		delta |= UART_MSR_DDSR;
	if (changed & UART_MSR_DCD)
		delta |= UART_MSR_DDCD;
	/* TERI is a trailing edge only: RI going from on to off */
	if ((old & UART_MSR_RI) && !(cur & UART_MSR_RI))
		delta |= UART_MSR_TERI;
	s->msr = cur | delta;
}

/* The highest-priority enabled interrupt, as IIR bits 3:0. */
static uint8_t pending_id(const struct serial8250 *s)
{
	if ((s->ier & UART_IER_RLSI) && (s->lsr & LSR_ERR_BITS))
		return UART_IIR_RLSI;
	if ((s->ier & UART_IER_RDI) && s->rx_count) {
		/*
		 * Below the trigger level a real 16550A raises a character
		 * timeout after four character times; time does not pass
		 * here, so the timeout is due at once.
		 */
		if (!fifo_on(s) ||
		    s->rx_count >= rx_trigger_levels[s->fcr >> 6])
			return UART_IIR_RDI;
		return UART_IIR_RX_TIMEOUT;
	}
	if ((s->ier & UART_IER_THRI) && s->thre_pending)
		return UART_IIR_THRI;
	if ((s->ier & UART_IER_MSI) && (s->msr & UART_MSR_ANY_DELTA))
		return UART_IIR_MSI;
	return UART_IIR_NO_INT;
}

/*
 * On a PC, OUT2 gates the UART's interrupt onto the ISA bus; drivers rely
 * on it to keep the line quiet until they are ready. In loopback the
 * datasheet keeps interrupts fully operational, so we do not gate there.
 */
static void irq_update(struct serial8250 *s)
{
	bool gate = (s->mcr & UART_MCR_OUT2) || loopback(s);
	bool level = gate && pending_id(s) != UART_IIR_NO_INT;

	if (level != s->irq_level) {
		s->irq_level = level;
		irq_line_set(&s->irq, level);
	}
}

static void rx_room_appeared(struct serial8250 *s)
{
	/* leaving loopback with the receiver full is no room yet */
	if (!s->rx_wanted || loopback(s) || s->rx_count >= rx_capacity(s))
		return;
	s->rx_wanted = false;
	if (s->sink.rx_ready)
		s->sink.rx_ready(s->sink.opaque);
}

static void rx_reset(struct serial8250 *s)
{
	s->rx_head = 0;
	s->rx_count = 0;
	rx_room_appeared(s);
}

/* A character arriving at the receiver; overruns lose it (FIFO mode) or
 * overwrite the holding register (8250 mode), per the datasheet. */
static void rx_push(struct serial8250 *s, uint8_t c)
{
	if (s->rx_count >= rx_capacity(s)) {
		s->lsr |= UART_LSR_OE;
		if (!fifo_on(s))
			s->rx_fifo[s->rx_head] = c;
		return;
	}
	s->rx_fifo[(s->rx_head + s->rx_count) % SERIAL8250_FIFO_SIZE] = c;
	s->rx_count++;
}

static uint8_t rx_pop(struct serial8250 *s)
{
	if (s->rx_count) {
		s->rbr = s->rx_fifo[s->rx_head];
		s->rx_head = (s->rx_head + 1) % SERIAL8250_FIFO_SIZE;
		s->rx_count--;
		rx_room_appeared(s);
	}
	return s->rbr;
}

static uint8_t lsr_value(const struct serial8250 *s)
{
	/*
	 * No shift register is modelled: a byte the sink took is on the wire,
	 * so THR empty and transmitter empty are the same condition.
	 */
	return s->lsr | (s->tx_count ? 0 : UART_LSR_THRE | UART_LSR_TEMT) |
	       (s->rx_count ? UART_LSR_DR : 0);
}

/* Hands the transmit FIFO to the sink, oldest byte first, while it takes. */
static void tx_drain(struct serial8250 *s)
{
	while (s->tx_count) {
		if (s->sink.write &&
		    !s->sink.write(s->sink.opaque, &s->tx_fifo[s->tx_head], 1))
			return; /* the sink is full: wait for serial8250_tx_ready */
		s->tx_head = (s->tx_head + 1) % SERIAL8250_FIFO_SIZE;
		s->tx_count--;
	}
}

static void tx_reset(struct serial8250 *s)
{
	s->tx_head = 0;
	s->tx_count = 0;
	s->thre_pending = true;
}

static void thr_write(struct serial8250 *s, uint8_t c)
{
	if (loopback(s)) {
		rx_push(s, c);
		s->thre_pending = true;
		return;
	}
	/* THRE was clear: the guest wrote anyway, and a full FIFO loses it */
	if (s->tx_count >= (fifo_on(s) ? SERIAL8250_FIFO_SIZE : 1u)) {
		s->tx_lost++;
		return;
	}
	s->tx_fifo[(s->tx_head + s->tx_count) % SERIAL8250_FIFO_SIZE] = c;
	s->tx_count++;
	tx_drain(s);
	/*
	 * Writing THR acknowledges a THRE interrupt; when the byte left at
	 * once THR is empty again and the interrupt is due again: that is what
	 * keeps an interrupt-driven transmitter (Linux) going. Otherwise it
	 * comes from serial8250_tx_ready, when the FIFO has drained.
	 */
	s->thre_pending = s->tx_count == 0;
}

static void fcr_write(struct serial8250 *s, uint8_t v)
{
	/* toggling the enable bit clears both FIFOs */
	if ((v ^ s->fcr) & UART_FCR_ENABLE_FIFO) {
		s->fcr = v & UART_FCR_ENABLE_FIFO;
		rx_reset(s);
		tx_reset(s);
	}
	/* the other bits are only programmed while FCR0 is set */
	if (!(v & UART_FCR_ENABLE_FIFO)) {
		s->fcr = 0;
		return;
	}
	if (v & UART_FCR_CLEAR_RCVR)
		rx_reset(s);
	if (v & UART_FCR_CLEAR_XMIT)
		tx_reset(s);
	/* clear bits self-reset; bits 5:4 are reserved on a 16550A */
	s->fcr = v & (UART_FCR_ENABLE_FIFO | UART_FCR_DMA_SELECT |
		      UART_FCR_TRIGGER_MASK);
}

static uint8_t reg_read(struct serial8250 *s, unsigned reg)
{
	bool dlab = s->lcr & UART_LCR_DLAB;
	uint8_t v;

	switch (reg) {
	case UART_RX:
		return dlab ? s->dll : rx_pop(s);
	case UART_IER:
		return dlab ? s->dlm : s->ier;
	case UART_IIR:
		v = pending_id(s);
		/* reading IIR acknowledges THRE when that is what it reports */
		if (v == UART_IIR_THRI)
			s->thre_pending = false;
		return v | (fifo_on(s) ? IIR_FIFO_BITS : 0);
	case UART_LCR:
		return s->lcr;
	case UART_MCR:
		return s->mcr;
	case UART_LSR:
		v = lsr_value(s);
		s->lsr &= (uint8_t)~LSR_ERR_BITS;
		return v;
	case UART_MSR:
		v = s->msr;
		s->msr &= (uint8_t)~UART_MSR_ANY_DELTA;
		return v;
	default: /* UART_SCR */
		return s->scr;
	}
}

static void reg_write(struct serial8250 *s, unsigned reg, uint8_t v)
{
	bool dlab = s->lcr & UART_LCR_DLAB;

	switch (reg) {
	case UART_TX:
		if (dlab)
			s->dll = v;
		else
			thr_write(s, v);
		break;
	case UART_IER:
		if (dlab) {
			s->dlm = v;
			break;
		}
		/* enabling ETBEI with THR empty raises THRE at once */
		if (!(s->ier & UART_IER_THRI) && (v & UART_IER_THRI) && !s->tx_count)
			s->thre_pending = true;
		s->ier = v & IER_MASK;
		break;
	case UART_FCR:
		fcr_write(s, v);
		break;
	case UART_LCR:
		s->lcr = v;
		break;
	case UART_MCR: {
		bool was_loop = loopback(s);

		s->mcr = v & MCR_MASK;
		msr_refresh(s);
		if (was_loop && !loopback(s))
			rx_room_appeared(s);
		break;
	}
	case UART_SCR:
		s->scr = v;
		break;
	default: /* LSR and MSR are read-only on a 16550A */
		break;
	}
}

static uint64_t serial8250_read(void *opaque, uint64_t offset, unsigned size)
{
	struct serial8250 *s = opaque;
	uint8_t v;

	if (size != 1 || offset >= SERIAL8250_NR_PORTS)
		return ~0ULL;
	pthread_mutex_lock(&s->lock);
	v = reg_read(s, (unsigned)offset);
	irq_update(s);
	pthread_mutex_unlock(&s->lock);
	return v;
}

static void serial8250_write(void *opaque, uint64_t offset, uint64_t value,
			     unsigned size)
{
	struct serial8250 *s = opaque;

	if (size != 1 || offset >= SERIAL8250_NR_PORTS)
		return;
	pthread_mutex_lock(&s->lock);
	reg_write(s, (unsigned)offset, (uint8_t)value);
	irq_update(s);
	pthread_mutex_unlock(&s->lock);
}

const struct bus_dev_ops serial8250_ops = {
	.read = serial8250_read,
	.write = serial8250_write,
};

int serial8250_init(struct serial8250 *s, struct irq_line irq,
		    struct serial8250_sink sink)
{
	int err;

	memset(s, 0, sizeof(*s));
	err = pthread_mutex_init(&s->lock, NULL);
	if (err)
		return -err;
	s->irq = irq;
	s->sink = sink;
	/*
	 * Master-reset values from the datasheet. The divisor latch is
	 * undefined after reset; we leave 1 (115200 baud) as firmware would,
	 * because code that derives the baud rate from it divides by it.
	 */
	s->dll = 1;
	s->msr = modem_inputs(s); /* no deltas pending at power-on */
	return 0;
}

void serial8250_destroy(struct serial8250 *s)
{
	pthread_mutex_destroy(&s->lock);
}

static size_t rx_space_locked(struct serial8250 *s)
{
	if (loopback(s))
		return 0; /* the serial input is disconnected in loopback */
	return rx_capacity(s) - s->rx_count;
}

size_t serial8250_receive(struct serial8250 *s, const uint8_t *buf, size_t len)
{
	size_t n;

	pthread_mutex_lock(&s->lock);
	n = MIN(rx_space_locked(s), len);
	for (size_t i = 0; i < n; i++)
		rx_push(s, buf[i]);
	if (n < len)
		s->rx_wanted = true;
	irq_update(s);
	pthread_mutex_unlock(&s->lock);
	return n;
}

size_t serial8250_rx_space(struct serial8250 *s)
{
	size_t n;

	pthread_mutex_lock(&s->lock);
	n = rx_space_locked(s);
	if (n == 0)
		s->rx_wanted = true;
	pthread_mutex_unlock(&s->lock);
	return n;
}

void serial8250_tx_ready(struct serial8250 *s)
{
	pthread_mutex_lock(&s->lock);
	if (s->tx_count) {
		tx_drain(s);
		if (!s->tx_count)
			s->thre_pending = true;
		irq_update(s);
	}
	pthread_mutex_unlock(&s->lock);
}
