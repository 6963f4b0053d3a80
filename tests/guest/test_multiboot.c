/*
 * A Multiboot v1 kernel (ELF32) built by the kit, run by the real petrel
 * binary and, when it is installed, by QEMU: the same image must give the
 * same exit status under both. The guest checks the boot magic, reads
 * mem_upper, the command line and the loader name from the Multiboot
 * information, prints them on COM1 and leaves through the debug-exit port
 * with the value the command line asks for (kit.exit=N), so the status is
 * (N << 1) | 1. The command line starts with the kernel's path under both
 * ("<path> <-append>"), so the guest prints the same string.
 */
#define MB_HEADER_MAGIC 0x1BADB002u
#define MB_HEADER_FLAGS 0x00000003u /* page-aligned modules, memory info */
#define MB_BOOT_MAGIC 0x2BADB002u
#define MEM_MIB 64
#define EXIT_VALUE 33
#define CMDLINE "kit.token=petrel-mb-42 kit.exit=33"

#ifdef GUEST
#include <stdint.h>

__asm__(".section .multiboot, \"a\"\n"
	".balign 4\n"
	".long 0x1BADB002, 0x00000003, -(0x1BADB002 + 0x00000003)\n"
	".text\n"
	".global _start\n"
	"_start:\n"
	"	mov $stack_top, %esp\n"
	"	push %ebx\n"
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

struct mb_info {
	uint32_t flags, mem_lower, mem_upper, boot_device, cmdline;
	uint32_t mods_count, mods_addr, syms[4], mmap_length, mmap_addr;
	uint32_t drives_length, drives_addr, config_table, boot_loader_name;
};

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" :: "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }

static void putc_com1(char c)
{
	for (unsigned spin = 0; !(inb(0x3fd) & 0x20) && spin < 100000; spin++)
		;
	outb(0x3f8, (uint8_t)c);
}

static void puts_com1(const char *s)
{
	while (*s)
		putc_com1(*s++);
}

static void putu(uint32_t v)
{
	char b[11];
	int i = 10;
	b[i] = 0;
	do
		b[--i] = (char)('0' + v % 10);
	while (v /= 10);
	puts_com1(b + i);
}

/* The decimal after "key" in s, or -1. */
static int find_number(const char *s, const char *key)
{
	for (; *s; s++) {
		const char *a = s, *k = key;
		while (*k && *a == *k)
			a++, k++;
		if (*k)
			continue;
		int v = 0;
		if (*a < '0' || *a > '9')
			return -1;
		while (*a >= '0' && *a <= '9')
			v = v * 10 + (*a++ - '0');
		return v;
	}
	return -1;
}

void mb_main(uint32_t magic, const struct mb_info *info);
void mb_main(uint32_t magic, const struct mb_info *info)
{
	int exit_value = 0x7e; /* what we send when something is wrong */

	puts_com1("mb: magic=");
	puts_com1(magic == MB_BOOT_MAGIC ? "ok" : "BAD");
	if (magic == MB_BOOT_MAGIC) {
		if (info->flags & 1) {
			puts_com1(" mem_upper=");
			putu(info->mem_upper);
		}
		if (info->flags & (1u << 9)) {
			puts_com1(" loader=");
			puts_com1((const char *)info->boot_loader_name);
		}
		if (info->flags & (1u << 2)) {
			const char *cmd = (const char *)info->cmdline;
			puts_com1(" cmdline=[");
			puts_com1(cmd);
			puts_com1("]");
			int v = find_number(cmd, "kit.exit=");
			/*
			 * mem_upper: KiB from 1 MiB to the first hole. petrel gives
			 * all of it, QEMU keeps its top 128 KiB back: accept what
			 * either could mean for MEM_MIB (the host checks petrel's
			 * exact value in the printed text).
			 */
			if (v >= 0 && (info->flags & 1) &&
			    info->mem_upper <= (MEM_MIB - 1) * 1024 &&
			    info->mem_upper >= (MEM_MIB - 2) * 1024)
				exit_value = v;
		}
	}
	puts_com1("\n");
	outb(0xf4, (uint8_t)exit_value);
}

#else
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kit.h"

extern char **environ;

struct result {
	int status;     /* exit status, or -1 */
	bool timed_out;
	char out[4096]; /* stdout */
};

static void read_all(int fd, char *buf, size_t cap)
{
	ssize_t n = pread(fd, buf, cap - 1, 0);
	buf[n > 0 ? n : 0] = 0;
}

/* Runs argv with stdin /dev/null, stdout captured, stderr passed through. */
static int run(char *const argv[], unsigned timeout_s, struct result *r)
{
	posix_spawn_file_actions_t fa;
	int out = memfd_create("mb-out", 0), st = 0;
	pid_t pid;
	struct timespec start, now, tick = { 0, 10 * 1000 * 1000 };

	memset(r, 0, sizeof(*r));
	r->status = -1;
	if (out < 0)
		return -errno;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out, 1);
	int err = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (err) {
		close(out);
		return -err;
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		pid_t w = waitpid(pid, &st, WNOHANG);
		if (w == pid)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (!r->timed_out && now.tv_sec - start.tv_sec >= (time_t)timeout_s) {
			r->timed_out = true;
			kill(pid, SIGKILL);
		}
		nanosleep(&tick, NULL);
	}
	if (WIFEXITED(st))
		r->status = WEXITSTATUS(st);
	read_all(out, r->out, sizeof(r->out));
	close(out);
	return 0;
}

/* Counts failures in *fails (a local of main: no globals). */
#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "FAIL: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
			(*fails)++;                                            \
		}                                                              \
	} while (0)

static void check_output(int *fails, const char *who, const struct result *r,
			 const char *kernel_path, const char *loader, bool exact_mem)
{
	char want[256];

	fprintf(stderr, "%s: status %d%s, output: %s", who, r->status,
		r->timed_out ? " (timed out)" : "", r->out);
	CHECK(!r->timed_out);
	CHECK(r->status == ((EXIT_VALUE << 1) | 1));
	CHECK(strstr(r->out, "mb: magic=ok") != NULL);
	snprintf(want, sizeof(want), " mem_upper=%u", (MEM_MIB - 1) * 1024);
	if (exact_mem)
		CHECK(strstr(r->out, want) != NULL);
	snprintf(want, sizeof(want), " cmdline=[%s " CMDLINE "]", kernel_path);
	CHECK(strstr(r->out, want) != NULL);
	if (loader) {
		snprintf(want, sizeof(want), " loader=%s", loader);
		CHECK(strstr(r->out, want) != NULL);
	}
}

int main(void)
{
	const char *petrel = getenv("PETREL") ? getenv("PETREL") : "build/petrel";
	const char *qemu = "/usr/bin/qemu-system-x86_64";
	char path[] = "/tmp/kit-multiboot-XXXXXX";
	struct result r;
	int fd, nfails = 0, *fails = &nfails;
	char mem[16];

	if (access("/dev/kvm", R_OK | W_OK) < 0) {
		printf("SKIP: /dev/kvm not available: %s\n", strerror(errno));
		return KIT_SKIP;
	}
	fd = mkstemp(path);
	if (fd < 0 || write(fd, kit_guest_image, (size_t)(kit_guest_image_end - kit_guest_image)) !=
			      kit_guest_image_end - kit_guest_image) {
		perror("kit-multiboot temp file");
		return 1;
	}
	close(fd);
	snprintf(mem, sizeof(mem), "%uM", MEM_MIB);

	/* 1. petrel, console on stdout: status and COM1 text */
	/* the irqchip mode tests/guest/run.sh is testing (kit.h) */
	char irqchip[32];
	snprintf(irqchip, sizeof(irqchip), "--irqchip=%s",
		 getenv("KIT_IRQCHIP") ? getenv("KIT_IRQCHIP") : "kernel");
	char *pa[] = { (char *)petrel, "run", "--kernel", path, "--mem", mem, "--cmdline",
		       CMDLINE, "--debug-exit", irqchip, NULL };
	if (run(pa, 30, &r) < 0) {
		fprintf(stderr, "FAIL: cannot run %s\n", petrel);
		nfails++;
	} else {
		check_output(fails, "petrel", &r, path, "petrel", true);
	}

	/* 2. petrel with --console none: same status, nothing on stdout */
	char *pn[] = { (char *)petrel, "run", "--kernel", path, "--mem", mem, "--cmdline",
		       CMDLINE, "--debug-exit", "--console", "none", NULL };
	if (run(pn, 30, &r) == 0) {
		fprintf(stderr, "petrel --console none: status %d\n", r.status);
		CHECK(r.status == ((EXIT_VALUE << 1) | 1));
		CHECK(r.out[0] == 0);
	} else {
		nfails++;
	}

	/* 3. the same image under QEMU, when it is installed */
	if (access(qemu, X_OK) < 0) {
		printf("note: %s not installed: QEMU comparison skipped\n", qemu);
	} else {
		char *qa[] = { (char *)qemu, "-accel", "kvm", "-M", "pc", "-nodefaults",
			       "-nographic", "-m", mem, "-kernel", path, "-append", CMDLINE,
			       "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
			       "-serial", "stdio", "-monitor", "none", NULL };
		if (run(qa, 60, &r) < 0) {
			fprintf(stderr, "FAIL: cannot run %s\n", qemu);
			nfails++;
		} else {
			check_output(fails, "qemu", &r, path, "qemu", false);
		}
	}
	unlink(path);
	return nfails ? 1 : 0;
}
#endif
