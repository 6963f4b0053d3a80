/*
 * The input format of fuzz_pit8254 (and of its seed writer): a script of
 * one-byte ops, some followed by argument bytes, run in order on one PIT
 * with a fake clock that only goes forward.
 *
 *   op & 7   action                                     argument bytes
 *   0        write port 0x40 + (op >> 3 & 3)            value
 *   1        read port 0x40 + (op >> 3 & 3); with op & 0x20 set instead
 *            read-back the status of channel (op >> 3 & 3) % 3 and
 *            check it against the last control word
 *   2        write port 0x61                            value
 *   3        read port 0x61
 *   4        clock += v << (4 * (op >> 3 & 7))          v: 2 bytes, LE
 *   5        the host timer fires: the clock moves to the armed deadline
 *            if it is behind, and pit_expired runs (nothing when unarmed)
 *   6        pit_expired now, armed or not (a spurious wakeup)
 *   7        a 2- or 4-byte access (op & 8) to offset op >> 4 & 7 of the
 *            PIT's range (write if op & 0x80), and pit_out(op >> 4 & 3)
 */
#ifndef PIT_INPUT_H
#define PIT_INPUT_H

enum {
	PITF_OUT = 0,
	PITF_IN = 1,
	PITF_OUT61 = 2,
	PITF_IN61 = 3,
	PITF_ADVANCE = 4,
	PITF_FIRE = 5,
	PITF_SPURIOUS = 6,
	PITF_ODD = 7,
};

#define PITF_STATUS_CHECK 0x20

#endif
