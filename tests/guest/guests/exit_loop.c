/*
 * exit_loop: the guest of the exit round-trip benchmarks (bench/) and of
 * tests/guest/test_exit_loop.c. Runs at CPL3 (native speed here, so the
 * loop itself costs nothing next to an exit).
 *
 *   guest_main(n, port, mmio_addr, 0):
 *     SYNC(1, n)      the host starts its PIO clock
 *     n x outb(port, i & 0xff)     (port 0 means KIT_PORT_BENCH, 0x510)
 *     SYNC(2)         PIO done; the host starts its MMIO clock
 *     n x 32-bit MMIO write of i to mmio_addr (skipped when it is 0)
 *     SYNC(3)         MMIO done
 *   then returns: DONE, and kit_run() returns 0.
 *
 * The host registers do-nothing (or counting) devices at the port and the
 * MMIO address before kit_run(); an address nobody claims works too, but is
 * counted as unclaimed. Build: make guest-bins -> build/tests/guest/guests/exit_loop.elf
 */
#include "guest.h"

void guest_main(uint64_t n, uint64_t port, uint64_t mmio_addr, uint64_t a3)
{
	uint16_t p = port ? (uint16_t)port : KIT_PORT_BENCH;

	(void)a3;
	GUEST_SYNC(1, n);
	for (uint64_t i = 0; i < n; i++)
		outb(p, (uint8_t)i);
	GUEST_SYNC(2, n);
	if (mmio_addr)
		for (uint64_t i = 0; i < n; i++)
			mmio_write32(mmio_addr, (uint32_t)i);
	GUEST_SYNC(3, n);
}
