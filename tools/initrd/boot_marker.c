/*
 * The default initramfs's first program (tools/mkinitrd.sh): tells petrel
 * the guest has reached user space by writing BOOT_MARKER_VALUE to
 * PORT_BOOT_MARKER, which --stats reports as "boot marker at N ms".
 *
 * A program of its own because busybox cannot write an I/O port: its dd
 * would need /dev/port, and Debian's kernel is built without it
 * (CONFIG_DEVPORT is not set). Freestanding, with no libc to start up:
 * ioperm(2) for the one port, then an outb; a kernel that refuses ioperm
 * (no CAP_SYS_RAWIO, lockdown) gets no marker and exit status 1.
 *
 * Built by mkinitrd.sh with -static -nostdlib: _start is the entry.
 */
#include <asm/unistd.h>

#include "petrel/layout.h"

static long syscall3(long nr, long a, long b, long c)
{
	long r;

	__asm__ volatile("syscall"
			 : "=a"(r)
			 : "a"(nr), "D"(a), "S"(b), "d"(c)
			 : "rcx", "r11", "memory");
	return r;
}

__attribute__((noreturn)) void _start(void);

void _start(void)
{
	long r = syscall3(__NR_ioperm, PORT_BOOT_MARKER, 1, 1);

	if (r == 0)
		__asm__ volatile("outb %b0, %w1"
				 :
				 : "a"(BOOT_MARKER_VALUE), "Nd"(PORT_BOOT_MARKER));
	syscall3(__NR_exit, r == 0 ? 0 : 1, 0, 0);
	__builtin_unreachable();
}
