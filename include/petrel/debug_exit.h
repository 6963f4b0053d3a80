/*
 * An isa-debug-exit style port, as QEMU has: a guest write of value v ends
 * the VM with exit status (v << 1) | 1, so test guests can report a result
 * and the same guest gives the same status under petrel and under QEMU.
 * Opt-in (--debug-exit[=PORT], default port 0xf4): an ordinary guest must
 * not be able to end the VM by a stray port write.
 */
#ifndef PETREL_DEBUG_EXIT_H
#define PETREL_DEBUG_EXIT_H

#include <stdint.h>

#include "petrel/bus.h"

#define DEBUG_EXIT_DEFAULT_PORT 0xf4

struct debug_exit {
	void (*request)(void *opaque, int status);
	void *opaque;
};

/* The status QEMU's isa-debug-exit gives for a written value. */
static inline int debug_exit_status(uint64_t value)
{
	return (int)(((value << 1) | 1) & 0xff);
}

extern const struct bus_dev_ops debug_exit_ops;

#endif
