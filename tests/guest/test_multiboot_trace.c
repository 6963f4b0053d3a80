/*
 * --trace end to end: a Multiboot kernel run by the real petrel binary
 * under --trace pio,mmio,irq,exits:FILE makes accesses whose every field is
 * known (COM1's scratch register, the virtio-mmio window of virtio-rng0 in
 * slot 0, the debug-exit port) and one interrupt whose route it programs
 * itself (IOAPIC pin 4 -> vector 0x41, CPU 0, edge, unmasked; COM1 then
 * raises its THR-empty interrupt on GSI 4). The host half runs petrel and
 * finds each of them in the trace file, field by field, and checks that
 * classes not asked for left no line.
 */
#define MB_BOOT_MAGIC 0x2BADB002u
#define EXIT_VALUE 21
#define SCRATCH_VALUE 0x5a
#define IRQ_VECTOR 0x41
#define RNG_WINDOW 0xd0000000u /* VIRTIO_MMIO_SLOT_BASE(0): the only mmio device */
#define IOAPIC 0xfec00000u

#ifdef GUEST
#include <stdint.h>

__asm__(".section .multiboot, \"a\"\n"
	".balign 4\n"
	".long 0x1BADB002, 0x00000003, -(0x1BADB002 + 0x00000003)\n"
	".text\n"
	".global _start\n"
	"_start:\n"
	"	mov $stack_top, %esp\n"
	"	push %eax\n"
	"	call mb_main\n"
	"1:	cli\n"
	"	hlt\n"
	"	jmp 1b\n"
	".bss\n"
	".balign 16\n"
	"	.skip 4096\n"
	"stack_top:\n"
	".text\n");

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" :: "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint32_t rd32(uint32_t a) { return *(volatile uint32_t *)a; }
static inline void wr32(uint32_t a, uint32_t v) { *(volatile uint32_t *)a = v; }

static void ioapic_write(uint32_t reg, uint32_t v)
{
	wr32(IOAPIC, reg);
	wr32(IOAPIC + 0x10, v);
}

/* Paging is off: every address is physical. Leaves with debug-exit. */
void mb_main(uint32_t magic)
{
	uint8_t fails = 0;

	if (magic != MB_BOOT_MAGIC)
		fails |= 1;
	/* 1. PIO: COM1's scratch register (offset 7), written then read */
	outb(0x3ff, SCRATCH_VALUE);
	if (inb(0x3ff) != SCRATCH_VALUE)
		fails |= 2;
	/* 2. MMIO: virtio-rng0's magic and device id, then its status */
	if (rd32(RNG_WINDOW) != 0x74726976) /* "virt" */
		fails |= 4;
	if (rd32(RNG_WINDOW + 8) != 4)      /* VIRTIO_ID_RNG */
		fails |= 8;
	wr32(RNG_WINDOW + 0x70, 1);         /* Status: ACKNOWLEDGE */
	/* 3. the route: IOAPIC pin 4 to vector 0x41 on APIC 0, then COM1's
	 * THR-empty interrupt up (OUT2 gates it onto the bus) and down;
	 * interrupts stay off: only the route is traced, nothing is taken */
	ioapic_write(0x10 + 2 * 4 + 1, 0);
	ioapic_write(0x10 + 2 * 4, IRQ_VECTOR);
	outb(0x3fc, 0x08); /* MCR: OUT2 */
	outb(0x3f9, 0x02); /* IER: THRI -> level 1 */
	outb(0x3f9, 0x00); /* -> level 0 */
	outb(0xf4, fails ? (uint8_t)(0x40 | fails) : EXIT_VALUE);
}

#else
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kit.h"

extern char **environ;

/* Runs argv (stdin /dev/null, output passed through); its status or -1. */
static int run(char *const argv[], unsigned timeout_s)
{
	posix_spawn_file_actions_t fa;
	struct timespec start, now, tick = { 0, 10 * 1000 * 1000 };
	pid_t pid;
	int st = 0, err;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	err = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (err)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (waitpid(pid, &st, WNOHANG) != pid) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec >= (time_t)timeout_s) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return -1;
		}
		nanosleep(&tick, NULL);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* How many lines of text match the extended regex re. */
static int count(const char *text, const char *re)
{
	regex_t r;
	regmatch_t m;
	int n = 0;

	if (regcomp(&r, re, REG_EXTENDED | REG_NEWLINE))
		return -1;
	for (const char *p = text; !regexec(&r, p, 1, &m, 0); p += m.rm_eo ? m.rm_eo : 1)
		n++;
	regfree(&r);
	return n;
}

/* How many lines of text do not match re. */
static int bad_lines(char *text, const char *re)
{
	regex_t r;
	int n = 0;

	if (regcomp(&r, re, REG_EXTENDED | REG_NOSUB))
		return -1;
	for (char *p = text, *nl; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		if (!nl)
			nl = p + strlen(p) - 1;
		char save = nl[1];
		*nl = '\0';
		n += regexec(&r, p, 0, NULL, 0) != 0;
		*nl = '\n';
		nl[1] = save;
	}
	regfree(&r);
	return n;
}

#define T "^[0-9]+\\.[0-9]{9} " /* a line's time */

int main(void)
{
	const char *petrel = getenv("PETREL") ? getenv("PETREL") : "build/petrel";
	char kernel[] = "/tmp/kit-mbtrace-XXXXXX";
	char trace[] = "/tmp/kit-mbtrace-log-XXXXXX";
	char spec[64];
	static char text[1 << 20];
	static const struct {
		const char *re;
		int min, max;
	} want[] = {
		/* accesses: port or GPA, size, data, device and offset */
		{ T "vcpu0 pio write port=0x3ff size=1 data=0x5a dev=com1 offset=0x7$", 1, 1 },
		{ T "vcpu0 pio read port=0x3ff size=1 data=0x5a dev=com1 offset=0x7$", 1, 1 },
		{ T "vcpu0 mmio read gpa=0xd0000000 size=4 data=0x74726976 dev=virtio-rng0 offset=0x0$", 1, 1 },
		{ T "vcpu0 mmio read gpa=0xd0000008 size=4 data=0x4 dev=virtio-rng0 offset=0x8$", 1, 1 },
		{ T "vcpu0 mmio write gpa=0xd0000070 size=4 data=0x1 dev=virtio-rng0 offset=0x70$", 1, 1 },
		{ T "vcpu0 pio write port=0xf4 size=1 data=0x15 dev=debug-exit offset=0x0$", 1, 1 },
		/* the exits that carried them */
		{ T "vcpu0 exits IO port=0x3ff out size=1 count=1$", 1, 1 },
		{ T "vcpu0 exits IO port=0x3ff in size=1 count=1$", 1, 1 },
		{ T "vcpu0 exits MMIO gpa=0xd0000000 read len=4$", 1, 1 },
		{ T "vcpu0 exits MMIO gpa=0xd0000070 write len=4$", 1, 1 },
		/* the route the guest programmed, as KVM's IOAPIC holds it */
		{ T "vcpu0 irq line dev=com1 gsi=4 level=1 ioapic_pin=4 redir=0x41 vector=0x41 "
		    "delivery=fixed dest_mode=physical dest=0x0 trigger=edge polarity=high "
		    "mask=0 remote_irr=0 pic=master:4 pic_masked=[01] result=0$", 1, 1 },
		{ T "vcpu0 irq line dev=com1 gsi=4 level=0 ioapic_pin=4 redir=0x41 vector=0x41 ", 1, 2 },
	};
	int fd, status, n, fails = 0;
	ssize_t len;

	if (access("/dev/kvm", R_OK | W_OK) < 0) {
		printf("SKIP: /dev/kvm not available: %s\n", strerror(errno));
		return KIT_SKIP;
	}
	fd = mkstemp(kernel);
	if (fd < 0 || write(fd, kit_guest_image, (size_t)(kit_guest_image_end - kit_guest_image)) !=
			      kit_guest_image_end - kit_guest_image) {
		perror("kit-mbtrace temp file");
		return 1;
	}
	close(fd);
	fd = mkstemp(trace);
	if (fd < 0) {
		perror("kit-mbtrace trace file");
		return 1;
	}
	close(fd);
	snprintf(spec, sizeof(spec), "pio,mmio,irq,exits:%s", trace);
	char *argv[] = { (char *)petrel, "run", "--kernel", kernel, "--mem", "64M",
			 "--console", "none", "--debug-exit", "--rng=transport=mmio",
			 "--trace", spec, NULL };
	status = run(argv, 60);
	fprintf(stderr, "petrel --trace %s: status %d\n", spec, status);
	if (status != ((EXIT_VALUE << 1) | 1)) {
		fprintf(stderr, "FAIL: status %d, want %d (0x81 and up: the guest's checks "
			"failed, bits %#x)\n", status, (EXIT_VALUE << 1) | 1,
			status > 0 ? (status >> 1) & 0x3f : 0);
		fails++;
	}
	fd = open(trace, O_RDONLY);
	len = fd >= 0 ? read(fd, text, sizeof(text) - 1) : -1;
	text[len > 0 ? len : 0] = '\0';
	if (fd >= 0)
		close(fd);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		n = count(text, want[i].re);
		if (n < want[i].min || n > want[i].max) {
			fprintf(stderr, "FAIL: %d lines match /%s/ (want %d..%d)\n", n, want[i].re,
				want[i].min, want[i].max);
			fails++;
		}
	}
	/* every line has the form, of a class asked for (no virtio, no kvm) */
	n = bad_lines(text, T "(vcpu[0-9]+|[a-z0-9-]+) (pio|mmio|irq|exits) [a-zA-Z_]");
	if (n) {
		fprintf(stderr, "FAIL: %d lines are not of the form or the classes asked for\n", n);
		fails++;
	}
	fprintf(stderr, "trace: %zd bytes, %d lines\n", len, count(text, "\n"));
	if (fails) {
		fprintf(stderr, "--- the trace ---\n%s", text);
	}
	unlink(kernel);
	if (getenv("KEEP_TRACE"))
		fprintf(stderr, "trace kept: %s\n", trace);
	else
		unlink(trace);
	return fails ? 1 : 0;
}
#endif
