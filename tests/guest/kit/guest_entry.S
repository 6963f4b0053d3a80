/*
 * 64-bit entry, IDT stubs and the AP trampoline of a kit guest.
 *
 * The host enters _start directly in long mode (CPL3 or CPL0) with
 * RDI = cpu index, RSI/RDX/RCX/R8 = the four test arguments and RSP at the
 * top of this vCPU's user stack: building GDT, IDT, TSS and page tables in
 * the guest would be emulated CPL0 code, ~5000x slower here.
 */
#include "kit_abi.h"

	.section .text.entry, "ax"
	.code64
	.global _start
_start:
	xor %ebp, %ebp
	and $-16, %rsp
	call kit_guest_start
1:	ud2			/* kit_guest_start never returns */
	jmp 1b

/*
 * One 16-byte stub per vector at KIT_STUBS + 16 * vector (the host points
 * the IDT gates there without reading our symbol table). Vectors for which
 * the CPU pushes no error code push a 0 so that every frame looks alike.
 */
	.section .text.stubs, "ax"
	.global kit_stubs
kit_stubs:
	vec = 0
	.rept 256
	.balign KIT_STUB_SIZE
	.if vec == 8 || (vec >= 10 && vec <= 14) || vec == 17 || vec == 21 || vec == 29 || vec == 30
	.else
	pushq $0
	.endif
	pushq $vec
	jmp kit_trap_common
	vec = vec + 1
	.endr
	.balign KIT_STUB_SIZE

/*
 * Runs at CPL0, so every instruction here is emulated: keep it short.
 * Saves the registers (struct kit_trap_frame), counts the vector and reports
 * the frame to the host. A host that resumes CPL3 code sets the registers
 * from the frame itself and never comes back here; for CPL0 code it lets
 * the stub return with iretq (CPL0 -> CPL0 iretq works here).
 */
	.text
kit_trap_common:
	push %rax
	push %rbx
	push %rcx
	push %rdx
	push %rsi
	push %rdi
	push %rbp
	push %r8
	push %r9
	push %r10
	push %r11
	push %r12
	push %r13
	push %r14
	push %r15
	mov 15*8(%rsp), %rax
	lock incl kit_trap_count(,%rax,4)
	mov %esp, %eax		/* kernel stacks lie below 1 MiB: 32 bits suffice */
	mov $KIT_PORT_TRAP, %dx
	outl %eax, %dx
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %r11
	pop %r10
	pop %r9
	pop %r8
	pop %rbp
	pop %rdi
	pop %rsi
	pop %rdx
	pop %rcx
	pop %rbx
	pop %rax
	add $16, %rsp		/* vector and error code */
	iretq

/*
 * Where a started AP begins (real mode, CS = KIT_SIPI_VECTOR << 8, IP = 0).
 * Emulated, so as small as possible: report CS and stop. The host then puts
 * the AP in long mode at _start with KVM_SET_SREGS/REGS.
 */
	.section .kit.trampoline, "ax"
	.code16
	.global kit_trampoline
kit_trampoline:
	mov %cs, %ax
	mov $KIT_PORT_AP_START, %dx
	outw %ax, %dx
1:	hlt
	jmp 1b
	.code64

	.section .note.GNU-stack, "", @progbits
