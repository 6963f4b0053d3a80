/*
 * The startup/memory benchmark guest: a Multiboot v1 ELF32 kernel that both
 * petrel and QEMU (-kernel) boot. Its first instruction after the two that
 * load registers writes 'X' to COM1, so "time to the first byte on the
 * VMM's stdout" is "time to the guest's first port write".
 *
 * Built twice (bench.mk):
 *   mb_exit.elf  then writes 0 to the debug-exit port 0xf4: the VMM exits
 *   mb_hold.elf  (-DHOLD) then touches HOLD_PAGES pages of RAM, writes 'Y',
 *                and halts with interrupts off, so the VMM stays alive and
 *                idle while the memory benchmark reads its /proc files
 */
#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0
#define HOLD_BASE 0x400000	/* 4 MiB: above the kernel, below 64 MiB */
#define HOLD_PAGES 256		/* 1 MiB of guest RAM the guest really uses */

	.section .text
	.code32
	.globl _start
	.align 4
mb_header:
	.long	MB_MAGIC
	.long	MB_FLAGS
	.long	-(MB_MAGIC + MB_FLAGS)

_start:
	mov	$0x3f8, %dx
	mov	$'X', %al
	outb	%al, %dx
#ifdef HOLD
	mov	$HOLD_BASE, %edi
	mov	$HOLD_PAGES, %ecx
1:	movb	$1, (%edi)
	add	$4096, %edi
	dec	%ecx
	jnz	1b
	mov	$0x3f8, %dx
	mov	$'Y', %al
	outb	%al, %dx
	cli
2:	hlt
	jmp	2b
#else
	mov	$0xf4, %dx
	xor	%eax, %eax
	outb	%al, %dx
3:	cli
	hlt
	jmp	3b
#endif

	.section .note.GNU-stack, "", @progbits
