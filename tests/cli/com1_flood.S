/*
 * A Multiboot guest that writes to COM1 forever, the way Linux's 8250
 * driver does: wait for LSR.THRE, then fill the 16-byte transmit FIFO with
 * one "rep outsb" (one exit per 16 bytes: the flood is fast even under
 * nested emulation). With petrel's stdout a pipe nobody reads, the UART
 * keeps THRE clear once the console's buffer is full, and this spins in
 * the LSR loop; SIGTERM must still stop petrel (tests/cli/cli_test.sh).
 */
	.section .text
	.align 4
	.long 0x1badb002
	.long 0
	.long -0x1badb002

	.globl _start
_start:
	cld
	/* FCR: FIFOs on, as a driver does */
	mov $0x3fa, %dx
	mov $0x01, %al
	out %al, %dx
1:	mov $0x3fd, %dx
2:	in %dx, %al
	test $0x20, %al
	jz 2b
	mov $0x3f8, %dx
	mov $line, %esi
	mov $16, %ecx
	rep outsb
	jmp 1b

	.section .data
line:	.ascii "petrel flood 0\r\n"
