/*
 * The CPL3 benchmark loops (see cpl3.h). Assembled into the host binaries as
 * data and copied into guest RAM, so the raw baseline and petrel run exactly
 * the same bytes.
 */
	.section .rodata.bench_guest, "a"
	.code64

	.globl bench_guest_pio, bench_guest_pio_end
bench_guest_pio:
1:	outb	%al, %dx
	dec	%rcx
	jnz	1b
	mov	$0xf4, %dx
	xor	%eax, %eax
	outb	%al, %dx
2:	pause			/* never reached: the VMM stops at the write above */
	jmp	2b
bench_guest_pio_end:

	.globl bench_guest_mmio, bench_guest_mmio_end
bench_guest_mmio:
1:	movl	%eax, (%rbx)
	dec	%rcx
	jnz	1b
	mov	$0xf4, %dx
	xor	%eax, %eax
	outb	%al, %dx
2:	pause
	jmp	2b
bench_guest_mmio_end:

/*
 * The exception handlers (CPL0, one 16-byte stub per vector 0-31, cpl3.c
 * points the IDT at them): report the vector on BENCH_FAULT_PORT (0x511)
 * and halt. The VMM reads the rest from the frame on the TSS.RSP0 stack.
 * No benchmark expects an exception; without them one was a triple fault.
 */
	.globl bench_guest_fault_stubs, bench_guest_fault_stubs_end
	.balign 16
bench_guest_fault_stubs:
	.set vector, 0
	.rept 32
	movl	$vector, %eax
	movw	$0x511, %dx
	outl	%eax, %dx
3:	hlt
	jmp	3b
	.balign 16, 0xcc
	.set vector, vector + 1
	.endr
bench_guest_fault_stubs_end:

	.section .note.GNU-stack, "", @progbits
