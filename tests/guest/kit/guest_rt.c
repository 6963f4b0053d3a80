/*
 * The kit's guest runtime: entry dispatch and ucalls. Runs at CPL3 (native
 * speed here) or CPL0 (emulated), so it stays small and does no loops the
 * CPU could avoid.
 */
#include "guest.h"

volatile uint32_t kit_trap_count[256];

/* The vCPU's index, from which user stack RSP lies in: costs no exit. */
static unsigned my_cpu(void)
{
	uint64_t sp;

	__asm__ volatile("mov %%rsp, %0" : "=r"(sp));
	return (unsigned)((sp - KIT_USTACK_BASE) / KIT_USTACK_SIZE);
}

/* rep stosb/movsb: the compiler must not turn our memset into a memset call. */
void *memset(void *d, int c, size_t n)
{
	void *r = d;
	__asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
	return r;
}

void *memcpy(void *d, const void *s, size_t n)
{
	void *r = d;
	__asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
	return r;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;
	for (size_t i = 0; i < n; i++)
		if (x[i] != y[i])
			return x[i] < y[i] ? -1 : 1;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

/* Copies a string, keeping its tail if it is too long (file paths). */
static void copy_tail(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);
	if (n >= cap)
		src += n - (cap - 1), n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = 0;
}

static void send(struct kit_ucall *uc)
{
	/* the record lives on this vCPU's stack: identity mapped, so VA == GPA */
	outl(KIT_PORT_UCALL, (uint32_t)(uintptr_t)uc);
}

void kit_ucall(uint32_t cmd, uint64_t *args, unsigned nargs)
{
	struct kit_ucall uc;

	memset(&uc, 0, sizeof(uc));
	uc.cmd = cmd;
	uc.cpu = my_cpu();
	uc.nargs = nargs > KIT_UCALL_ARGS ? KIT_UCALL_ARGS : nargs;
	if (args)
		memcpy(uc.args, args, uc.nargs * sizeof(uint64_t));
	send(&uc);
	if (args)
		memcpy(args, uc.args, KIT_UCALL_ARGS * sizeof(uint64_t));
}

void kit_print(const char *text)
{
	struct kit_ucall uc;

	memset(&uc, 0, sizeof(uc));
	uc.cmd = KIT_UCALL_PRINT;
	uc.cpu = my_cpu();
	copy_tail(uc.text, sizeof(uc.text), text);
	send(&uc);
}

void kit_assert_fail(const char *file, unsigned line, const char *expr,
		     unsigned nvals, uint64_t a, uint64_t b)
{
	struct kit_ucall uc;

	memset(&uc, 0, sizeof(uc));
	uc.cmd = KIT_UCALL_ASSERT;
	uc.cpu = my_cpu();
	uc.line = line;
	uc.nargs = nvals;
	uc.args[0] = a;
	uc.args[1] = b;
	copy_tail(uc.file, sizeof(uc.file), file);
	copy_tail(uc.text, sizeof(uc.text), expr);
	for (;;)
		send(&uc); /* the host stops the VM; never return into a failed test */
}

void kit_done(void)
{
	for (;;)
		kit_ucall(KIT_UCALL_DONE, 0, 0);
}

void kit_park(void)
{
	for (;;)
		kit_ucall(KIT_UCALL_PARK, 0, 0);
}

__attribute__((weak)) void guest_ap_main(unsigned cpu, uint64_t a0, uint64_t a1,
					 uint64_t a2, uint64_t a3)
{
	(void)cpu, (void)a0, (void)a1, (void)a2, (void)a3;
}

/* Called by _start with the registers the host set. */
void kit_guest_start(uint64_t cpu, uint64_t a0, uint64_t a1, uint64_t a2,
		     uint64_t a3);
void kit_guest_start(uint64_t cpu, uint64_t a0, uint64_t a1, uint64_t a2,
		     uint64_t a3)
{
	if (cpu == 0) {
		guest_main(a0, a1, a2, a3);
		kit_done();
	}
	guest_ap_main((unsigned)cpu, a0, a1, a2, a3);
	kit_park();
}
