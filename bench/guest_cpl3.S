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

	.section .note.GNU-stack, "", @progbits
