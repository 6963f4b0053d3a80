/*
 * Intel 8254 programmable interval timer (PIT) and the PC's port 0x61, for
 * the split irqchip: a pure state machine with an injected clock and
 * injected outputs (a timer to arm, the IRQ0 line).
 *
 * Wiring: PIO 0x40-0x43 (len 4) with pit_ops_io, offsets 0..2 the data
 * ports of channels 0..2, offset 3 the control word; PIO 0x61 (len 1) with
 * pit_port61_ops; opaque = struct pit8254 * for both. Only 1-byte accesses
 * are decoded: wider reads return all-ones, wider writes are dropped.
 * Channel 0's OUT is ISA IRQ 0 (IOAPIC pin 2, PIC IRQ0). Channel 1 has no
 * consumer. Channel 2's gate is port 0x61 bit 0 and its OUT port 0x61 bit 5.
 *
 * Locking: none inside. The owner serialises every entry point (the bus
 * ops, pit_expired, pit_out) with one mutex; ops->arm and ops->irq0 are
 * called with that mutex held and must not call back into this model.
 * pit_init makes no callback.
 *
 * Time: every count is derived from ops->now_ns (monotonic) at the moment
 * of the access: tick k of the 1.193182 MHz clock is the first nanosecond
 * at which floor((now - t0) * PIT_HZ / 10^9) >= k, t0 being the clock at
 * pit_init. Nothing ticks between accesses; reads are exact. A count is
 * taken into the counting element at the tick of the write (the datasheet's
 * extra load CLK, 838 ns, is not modelled).
 *
 * Contract (Intel 8254 datasheet, 231164-005):
 * - Control word (0x43): channel select, access mode (counter latch, LSB,
 *   MSB, LSB then MSB), mode 0-5 (6 and 7 are 2 and 3), BCD. Writing it
 *   stops the channel until a count is written (OUT low in mode 0, high in
 *   the others), resets its read/write flip-flops and drops its latches.
 *   SC=11 is the read-back command (latch count and/or status of any set of
 *   channels). A latch of a channel whose count (or status) is still latched
 *   and unread is ignored. A status latched with the count is read first.
 *   Status: bit 7 OUT, bit 6 null count, bits 5-4 access mode, 3-1 mode as
 *   written, 0 BCD. Reading 0x43 returns 0xff.
 * - Counts: 0 means 65536 (10000 in BCD). BCD counting is modelled: the
 *   count is decoded from BCD (digits A-F count at their binary value,
 *   modulo 10000) and reads return BCD. Modes 2 and 3 take a count of 1
 *   (illegal in the datasheet) as 2.
 * - Modes: 0 interrupt on terminal count (OUT high after N ticks, once; the
 *   first byte of an LSB-then-MSB rewrite stops counting, the second
 *   restarts), 1 retriggerable one-shot, 2 rate generator (OUT low for the
 *   last tick of each period of N), 3 square wave (high ceil(N/2), low
 *   floor(N/2)), 4 software strobe (OUT low for one tick at tick N), 5
 *   hardware strobe. A new count in modes 2 and 3 takes effect at the end of
 *   the current period (the datasheet's mode 3 takes it at the end of the
 *   half-period); in modes 0 and 4 at once; in 1 and 5 at the next trigger.
 *   Modes 1 and 5 start on a rising gate: channels 0 and 1 have their gates
 *   tied high, so there they never start.
 * - Gate (channel 2): low stops counting in modes 0 and 4 (resumed on high)
 *   and in modes 2 and 3 (OUT forced high; a rising gate reloads); a rising
 *   gate triggers modes 1 and 5.
 * - IRQ0: ops->irq0 follows channel 0's OUT and is called only when the
 *   level changes (the model takes the line as high at pit_init, as OUT is,
 *   and makes no call; an owner whose pin starts low gets a harmless
 *   irq0(0) before the first edge).
 *   A rising edge of OUT inside a mode (the end of a period, terminal count,
 *   the end of a strobe) is delivered when it is noticed, at the armed
 *   deadline or at any earlier access, as irq0(0) (if the line was high)
 *   then irq0(1), followed by irq0(0) if OUT is low by then (mode 3 noticed
 *   in its low half). Edges made by reprogramming (a control word ending
 *   mode 0's low OUT) are plain level changes.
 * - Late timers: however many periods of a periodic mode (2, 3) passed
 *   since the last delivered edge, ONE edge is delivered (no catch-up
 *   storm), and the next deadline stays on the period grid (the phase the
 *   guest programmed is kept; missed periods are dropped).
 * - Rate limit: in modes 2 and 3 the next deadline is the first period
 *   end at least PIT_MIN_IRQ_PERIOD_NS (120 ticks) after the last delivered
 *   edge, so a tiny count cannot make a host timer storm; counter reads
 *   stay exact for any count.
 * - ops->arm(deadline) asks for pit_expired at or after deadline (a time
 *   of ops->now_ns, always later than the now at which arm is called), or
 *   for no timer (0). It is called when the wanted deadline changes, and
 *   after every pit_expired. Only channel 0 needs a timer.
 * - Shutdown: Linux's "mode 0, count 0" leaves at most one more edge 54.9 ms
 *   later (the terminal count of 65536) and none after it; a control word
 *   alone stops the channel at once.
 * - Port 0x61: bit 0 gate of channel 2, bit 1 speaker data enable, bits 2-3
 *   stored (parity/IOCHK check enables), bit 4 refresh-request toggle (flips
 *   every 18 PIT ticks, 15.09 us, as channel 1 programmed by a BIOS would),
 *   bit 5 OUT of channel 2, bits 6-7 read 0 (no NMI sources). Writes change
 *   bits 0-3 only.
 */
#ifndef PETREL_PIT8254_H
#define PETREL_PIT8254_H

#include <stdbool.h>
#include <stdint.h>

#include "petrel/bus.h"

#define PIT_HZ 1193182
#define PIT_NR_PORTS 4
#define PIT_PORT61_NR_PORTS 1
#define PIT_NR_CHANNELS 3
#define PIT_MIN_IRQ_PERIOD_NS 100000u /* 10 kHz: see "Rate limit" */
#define PIT_REFRESH_TICKS 18          /* port 0x61 bit 4 half-period */

/* Port 0x61 bits */
#define PIT_P61_GATE2 0x01
#define PIT_P61_SPEAKER 0x02
#define PIT_P61_RW_MASK 0x0f /* what a write changes */
#define PIT_P61_REFRESH 0x10
#define PIT_P61_OUT2 0x20

struct pit_ops {
	/* a monotonic clock (CLOCK_MONOTONIC in petrel, fake in tests) */
	uint64_t (*now_ns)(void *opaque);
	/* call pit_expired() at or after this time; 0 = no timer needed */
	void (*arm)(void *opaque, uint64_t deadline_ns);
	/* channel 0's OUT, wired to ISA IRQ 0 (IOAPIC pin 2, PIC IRQ0) */
	void (*irq0)(void *opaque, int level);
};

struct pit_channel {
	/* programming */
	uint8_t ctl_mode; /* M2..M0 as written, for the status byte */
	uint8_t mode;     /* 0..5 */
	uint8_t rw;       /* 1 LSB, 2 MSB, 3 LSB then MSB */
	bool bcd;
	uint32_t cr;      /* count register, decoded; 0: none since the control word */
	uint8_t wlo;      /* LSB of an LSB-then-MSB write */
	bool whi;         /* write flip-flop: MSB next */
	bool rhi;         /* read flip-flop: MSB next */
	bool count_latched, status_latched;
	uint16_t latch;
	uint8_t status;
	/* counting element */
	bool gate;
	bool counting;    /* loaded (modes 1, 5: triggered) */
	bool frozen;      /* modes 0, 4 with the gate low: d held at frozen_d */
	bool pending;     /* modes 2, 3: cr loads at the period's end; 1, 5: at a trigger */
	bool reloaded;    /* start is such a period's end (an OUT edge), not a load */
	uint32_t n;       /* the count loaded */
	uint64_t start;   /* absolute tick of the load */
	uint64_t frozen_d;
	uint64_t null_until; /* null count reads 1 before this tick */
	uint16_t hold;    /* what the counter shows while not counting */
};

struct pit8254 {
	const struct pit_ops *ops;
	void *opaque;
	uint64_t t0_ns;   /* the clock at pit_init: tick 0 */
	struct pit_channel ch[PIT_NR_CHANNELS];
	uint8_t p61;      /* bits 0-3 of port 0x61 */
	bool irq_level;   /* what irq0 was last told */
	uint64_t delivered; /* absolute tick of the last rising edge delivered (0: none) */
	uint64_t armed;   /* the deadline last given to ops->arm (0: none) */
	bool rearm;       /* call ops->arm even if the deadline is unchanged */
};

/*
 * Every channel as after control word mode 3, LSB then MSB, binary, no
 * count (so nothing counts and IRQ0 is quiet until the guest programs
 * channel 0), port 0x61 zero. Also the reset: calling it again is allowed,
 * and a timer armed before only leads to a harmless pit_expired.
 */
void pit_init(struct pit8254 *p, const struct pit_ops *ops, void *opaque);

/*
 * The armed deadline passed: update OUT, raise IRQ0 edges, re-arm. Any
 * call is safe: an early or spurious one delivers nothing and re-arms.
 */
void pit_expired(struct pit8254 *p);

/* OUT of channel ch (0..2) now; -EINVAL for another ch. */
int pit_out(struct pit8254 *p, unsigned ch);

extern const struct bus_dev_ops pit_ops_io;     /* ports 0x40-0x43, offsets 0..3 */
extern const struct bus_dev_ops pit_port61_ops; /* port 0x61 */

#endif
