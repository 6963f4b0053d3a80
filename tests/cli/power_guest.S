/*
 * A Multiboot guest that asks the machine to stop in one of the ways a PC
 * OS does, chosen at build time with -DMODE=:
 *   1  i8042 command 0xFE (pulse the reset line)     -> petrel exits 0
 *   2  0x06 to the reset control register at 0xCF9   -> petrel exits 0
 *   3  ACPI S5: SLP_TYP 5 | SLP_EN to PM1a_CNT        -> petrel exits 0
 *   4  outl of 0x12345621 to the debug-exit port 0xf4 -> (V << 1 | 1) & 0xff = 67
 *   5  outw of 0x0110 to the debug-exit port 0xf4     -> 33
 * (4 and 5 are what QEMU's isa-debug-exit,iosize=4 gives for them too: the
 * exit status keeps the low 8 bits of (V << 1) | 1.)
 * It runs in 32-bit protected mode at CPL0 (emulated on our machines: a
 * handful of instructions).
 */
	.section .text
	.align 4
	.long 0x1badb002
	.long 0
	.long -0x1badb002

	.globl _start
_start:
#if MODE == 1
	mov $0xfe, %al
	out %al, $0x64
#elif MODE == 2
	mov $0x06, %al
	mov $0xcf9, %dx
	out %al, %dx
#elif MODE == 3
	mov $(5 << 10 | 1 << 13), %ax
	mov $0x604, %dx
	out %ax, %dx
#elif MODE == 4
	mov $0x12345621, %eax
	out %eax, $0xf4
#elif MODE == 5
	mov $0x0110, %ax
	out %ax, $0xf4
#else
#error "MODE must be 1 to 5"
#endif
1:	hlt
	jmp 1b
