/*
 * The contract between a kit guest and the kit host: I/O ports, the ucall
 * record, the trap frame and the guest-physical layout the host builds.
 * Included by both sides, so it uses only fixed-width types and no libc.
 *
 * Guest-physical layout (the kit does not boot Linux, so it does not use
 * include/petrel/layout.h). Everything below 1 GiB is identity mapped, so
 * for kit guests a guest-virtual address in that range IS its guest-physical
 * address; the ucall and trap ports pass guest-physical addresses.
 *
 *   0x001000  GDT          (host built)
 *   0x002000  IDT          (host built; gates point at the stubs below)
 *   0x008000  AP real-mode trampoline (SIPI vector 0x08), from the guest ELF
 *   0x010000  PML4, 0x011000 PDPT, 0x012000 PD for 0-1 GiB (2 MiB pages),
 *   0x013000  PD for 3-4 GiB (IOAPIC, LAPIC, test MMIO devices)
 *   0x014000  spare zeroed pages a guest may use for its own page tables
 *   0x020000  kernel (CPL0) stacks, 16 KiB per vCPU
 *   0x030000  user (CPL3) stacks, 64 KiB per vCPU
 *   0x070000  TSSs, one 0x3000-byte slot per vCPU: RSP0 (the kernel stack)
 *             and an all-zero I/O permission bitmap. The bitmap, not just
 *             IOPL 3, is what lets CPL3 code use every port on our machines:
 *             their KVM backend runs CPL3 code with IOPL 0 whatever RFLAGS
 *             says (measured: RFLAGS.IOPL=3 set, `out` still took #GP).
 *   0x100000  the guest ELF (text, data, bss), up to KIT_FREE_MEM
 *   0x400000  free RAM for tests, up to the end of guest RAM
 * Every page is mapped user-accessible and writable: a CPL3 guest may edit
 * its own page tables (the translate test does).
 */
#ifndef KIT_ABI_H
#define KIT_ABI_H

/* Constants are plain integers so the assembler can use them too. */
#ifndef __ASSEMBLER__
#include <stdint.h>
#endif

#define KIT_MAX_CPUS 4

/* Ports. Chosen away from every device petrel puts on the PIO bus. */
#define KIT_PORT_UCALL 0x5f0    /* outl: GPA of a struct kit_ucall */
#define KIT_PORT_TRAP 0x5f4     /* outl: GPA of a struct kit_trap_frame */
#define KIT_PORT_AP_START 0x5f8 /* outw from the real-mode trampoline: its CS */
#define KIT_PORT_BENCH 0x510    /* the exit_loop guest's do-nothing port */

/* Guest-physical layout (see above). */
#define KIT_GDT 0x1000
#define KIT_IDT 0x2000
#define KIT_TSS 0x70000
#define KIT_TSS_SLOT 0x3000
#define KIT_TSS_LIMIT (0x68 + 0x2000) /* header + bitmap for 65536 ports */
#define KIT_TRAMPOLINE 0x8000
#define KIT_SIPI_VECTOR (KIT_TRAMPOLINE >> 12)
#define KIT_PML4 0x10000
#define KIT_PDPT 0x11000
#define KIT_PD_LOW 0x12000
#define KIT_PD_HIGH 0x13000
#define KIT_SPARE_PAGES 0x14000
#define KIT_SPARE_PAGES_END 0x20000
#define KIT_KSTACK_BASE 0x20000
#define KIT_KSTACK_SIZE 0x4000
#define KIT_USTACK_BASE 0x30000
#define KIT_USTACK_SIZE 0x10000
#define KIT_IMAGE_BASE 0x100000
#define KIT_FREE_MEM 0x400000
#define KIT_KSTACK_TOP(cpu) (KIT_KSTACK_BASE + ((cpu) + 1) * KIT_KSTACK_SIZE)
#define KIT_USTACK_TOP(cpu) (KIT_USTACK_BASE + ((cpu) + 1) * KIT_USTACK_SIZE)

/* The interrupt/exception stubs: vector v's stub is at KIT_STUBS + 16 * v. */
#define KIT_STUBS 0x101000
#define KIT_STUB_SIZE 16

/* GDT selectors. */
#define KIT_SEL_KCODE 0x08
#define KIT_SEL_KDATA 0x10
#define KIT_SEL_UDATA 0x1b /* index 3, RPL 3 */
#define KIT_SEL_UCODE 0x23 /* index 4, RPL 3 */
#define KIT_SEL_TSS(cpu) (0x30 + 0x10 * (cpu))
#define KIT_GDT_SIZE (0x30 + 0x10 * KIT_MAX_CPUS)

/* Interrupt controllers, where every PC has them. */
#define KIT_IOAPIC 0xfec00000
#define KIT_LAPIC 0xfee00000

#define KIT_UCALL_SYNC 1   /* a checkpoint: args[0] is the stage; the host may reply in args */
#define KIT_UCALL_PRINT 2  /* text */
#define KIT_UCALL_ASSERT 3 /* failed GUEST_ASSERT: file, line, text (the expression), args */
#define KIT_UCALL_DONE 4   /* the test is over: the host stops the VM with status 0 */
#define KIT_UCALL_PARK 5   /* this vCPU has nothing left to do: the host halts it */

#ifndef __ASSEMBLER__

#define KIT_UCALL_ARGS 6
struct kit_ucall {
	uint32_t cmd;
	uint32_t cpu;   /* the guest's own cpu index (the one the kit passed in RDI) */
	uint32_t nargs;
	uint32_t line;
	uint64_t args[KIT_UCALL_ARGS]; /* the host may write replies here */
	char file[64];
	char text[192];
};

/*
 * What an IDT stub leaves on the kernel stack (lowest address first) before
 * it reports the address with an outl to KIT_PORT_TRAP. The general
 * registers are saved so that the host can resume the interrupted code
 * exactly (PLATFORM.md: an iretq from CPL0 back to CPL3 fails here).
 */
struct kit_trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error_code;
	uint64_t rip, cs, rflags, rsp, ss; /* pushed by the CPU */
};

#endif /* !__ASSEMBLER__ */

#endif
