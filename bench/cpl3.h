/*
 * The guest state both sides of the exit benchmarks start from: a vCPU put
 * directly into 64-bit user mode (CPL3) by the VMM, because on our nested,
 * software-backed KVM only CPL3 code runs natively; CPL0 code is emulated
 * ~5000x slower and would swamp the exit cost we want to see. Used by the
 * raw-KVM baseline and by the petrel side alike, so the guest is identical.
 *
 * Guest-physical layout (all inside the first 1 MiB of RAM at GPA 0):
 *   0x1000 PML4, 0x2000 PDPT, 0x3000-0x6fff four PDs: identity map of the
 *          first 4 GiB in 2 MiB user pages (so MMIO at 0xd0000000 is mapped)
 *   0x8000 GDT, 0x9000 TSS + I/O bitmap (to 0xb068), 0x10000 code, stack
 *          below 0x20000
 */
#ifndef BENCH_CPL3_H
#define BENCH_CPL3_H

#include <stddef.h>
#include <stdint.h>

#define CPL3_MIN_RAM 0x100000ULL
#define BENCH_PORT 0x510            /* the do-nothing device's port */
#define BENCH_MMIO 0xd0000000ULL    /* ... and its MMIO address (no RAM there) */
#define BENCH_DONE_PORT 0xf4        /* "loop finished": petrel's debug-exit port */
#define BENCH_COM1 0x3f8

/* The guest's initial general registers (the loops below read them). */
struct cpl3_args {
	uint64_t rax, rbx, rcx, rdx;
};

/*
 * Writes page tables, GDT, TSS and code into ram (GPA 0 .. ram_size) and
 * sets the vCPU's sregs/regs for 64-bit CPL3 with interrupts off. `out` is
 * allowed by an all-zero I/O bitmap in the TSS: our KVM ignores IOPL=3 set
 * through KVM_SET_REGS for CPL3. 0 or -errno.
 */
int cpl3_setup(int vcpu_fd, uint8_t *ram, size_t ram_size, const void *code,
	       size_t code_len, const struct cpl3_args *args);

/*
 * Guest code blobs (bench/guest_cpl3.S), position-independent.
 * pio:  rcx times `out %al, %dx`, then a write to BENCH_DONE_PORT.
 * mmio: rcx times `mov %eax, (%rbx)`, then a write to BENCH_DONE_PORT.
 * With rcx=1, rdx=COM1, al='X' the pio blob is also the startup guest: its
 * very first instruction is the port write.
 */
extern const uint8_t bench_guest_pio[], bench_guest_pio_end[];
extern const uint8_t bench_guest_mmio[], bench_guest_mmio_end[];

#endif
