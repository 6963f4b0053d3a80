/*
 * An isa-debug-exit style port, as QEMU has: a guest write of value v ends
 * the VM with exit status (v << 1) | 1, so test guests can report a result
 * and the same guest gives the same status under petrel and under QEMU.
 * Opt-in (--debug-exit[=PORT], default port 0xf4): an ordinary guest must
 * not be able to end the VM by a stray port write.
 *
 * Widths: like QEMU's isa-debug-exit,iosize=4, an outb, outw or outl at
 * PORT counts, with the value of that width (test kernels commonly end
 * with a 4-byte `outl` of their code). The device therefore claims
 * DEBUG_EXIT_NR_PORTS ports from PORT, so that the bus hands it a word or
 * dword access whole; a write that starts at PORT+1..PORT+3 is ignored
 * (QEMU's default iosize=1 ignores those too), so only a deliberate write
 * at PORT ends the VM.
 */
#ifndef PETREL_DEBUG_EXIT_H
#define PETREL_DEBUG_EXIT_H

#include <stdint.h>

#include "petrel/bus.h"

#define DEBUG_EXIT_DEFAULT_PORT 0xf4
#define DEBUG_EXIT_NR_PORTS 4

struct debug_exit {
	void (*request)(void *opaque, int status);
	void *opaque;
};

/*
 * The status QEMU's isa-debug-exit gives for a written value: QEMU ends
 * with the int (v << 1) | 1, and the OS keeps its low 8 bits, so only the
 * low 7 bits of v matter whatever the width (an outl of 0x12345621 gives
 * 0x43, as under QEMU).
 */
static inline int debug_exit_status(uint64_t value)
{
	return (int)(((value << 1) | 1) & 0xff);
}

/*
 * Puts d on the PIO bus at port: DEBUG_EXIT_NR_PORTS ports, fewer where
 * the 64 KiB port space ends. 0, or bus_insert's -EINVAL/-EEXIST/-ENOMEM.
 */
int debug_exit_insert(struct bus *pio, uint16_t port, struct debug_exit *d);

extern const struct bus_dev_ops debug_exit_ops;

#endif
