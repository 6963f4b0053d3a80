/*
 * The guest state both sides of the exit benchmarks start from: a vCPU put
 * directly into 64-bit user mode (CPL3) by the VMM, because on our nested,
 * software-backed KVM only CPL3 code runs natively; CPL0 code is emulated
 * ~5000x slower and would swamp the exit cost we want to see. Used by the
 * raw-KVM baseline and by the petrel side alike, so the guest is identical.
 *
 * The state is the architectural one a kernel would have built before an
 * iretq to user mode, so that it runs alike on the software KVM of our
 * build machines and on KVM with hardware virtualization (the nested VM of
 * tests/nested/, or a real host):
 *   - long mode with paging (CR0 PE MP ET NE WP PG, CR4 PAE, EFER LME LMA),
 *   - flat 64-bit user code and data segments (DPL 3) and their kernel
 *     twins, a busy 64-bit TSS in TR,
 *   - RFLAGS.IOPL = 3 *and* an all-zero I/O permission bitmap, so that `out`
 *     at CPL3 is allowed whichever of the two a KVM honours (cpl3.c says
 *     why both),
 *   - an IDT for the 32 exception vectors whose CPL0 handlers report the
 *     vector on BENCH_FAULT_PORT: a fault is a message, not a triple fault
 *     (KVM_EXIT_SHUTDOWN) that says nothing.
 *
 * Guest-physical layout (all inside the first 1 MiB of RAM at GPA 0):
 *   0x1000 PML4, 0x2000 PDPT, 0x3000-0x6fff four PDs: identity map of the
 *          first 4 GiB in 2 MiB user pages (so MMIO at 0xd0000000 is mapped;
 *          3-4 GiB, where only devices are, uncached)
 *   0x7000 IDT (vectors 0-31), 0x8000 GDT, 0x9000 TSS + I/O bitmap (to
 *          0xb068), 0xc000 exception handlers, 0x10000 code, user stack
 *          below 0x20000, the handlers' stack (TSS.RSP0) below 0x1f800
 */
#ifndef BENCH_CPL3_H
#define BENCH_CPL3_H

#include <stddef.h>
#include <stdint.h>

#define CPL3_MIN_RAM 0x100000ULL
#define BENCH_PORT 0x510            /* the do-nothing device's port */
#define BENCH_MMIO 0xd0000000ULL    /* ... and its MMIO address (no RAM there) */
#define BENCH_DONE_PORT 0xf4        /* "loop finished": petrel's debug-exit port */
#define BENCH_FAULT_PORT 0x511      /* outl vector: the guest took an exception */
#define BENCH_COM1 0x3f8

/* The guest's initial general registers (the loops below read them). */
struct cpl3_args {
	uint64_t rax, rbx, rcx, rdx;
};

/*
 * Writes page tables, GDT, IDT, TSS, handlers and code into ram (GPA 0 ..
 * ram_size) and sets the vCPU's sregs/regs for 64-bit CPL3 with interrupts
 * off. 0 or -errno.
 */
int cpl3_setup(int vcpu_fd, uint8_t *ram, size_t ram_size, const void *code,
	       size_t code_len, const struct cpl3_args *args);

/*
 * After the guest wrote `vector` to BENCH_FAULT_PORT: describes the fault
 * from the frame the CPU pushed on the handlers' stack, e.g.
 * "#GP(0x0) at rip 0x10000 (cs 0x23 rflags 0x3002 rsp 0x1fff0)".
 * ram spans at least CPL3_MIN_RAM from GPA 0.
 */
void cpl3_fault_describe(const uint8_t *ram, uint32_t vector, char *buf, size_t len);

/*
 * Guest code blobs (bench/guest_cpl3.S), position-independent.
 * pio:  rcx times `out %al, %dx`, then a write to BENCH_DONE_PORT.
 * mmio: rcx times `mov %eax, (%rbx)`, then a write to BENCH_DONE_PORT.
 * With rcx=1, rdx=COM1, al='X' the pio blob is also the startup guest: its
 * very first instruction is the port write.
 */
extern const uint8_t bench_guest_pio[], bench_guest_pio_end[];
extern const uint8_t bench_guest_mmio[], bench_guest_mmio_end[];
/* 32 exception handlers, 16 bytes apart (cpl3_setup copies them) */
extern const uint8_t bench_guest_fault_stubs[], bench_guest_fault_stubs_end[];

#endif
