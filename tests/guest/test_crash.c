/*
 * A guest that dies stops the VM with petrel's register dump and the right
 * exit status. Each case is its own VM, entered at CPL0:
 *   1. triple fault: an empty IDT, then ud2 (#UD -> #GP -> #DF -> shutdown),
 *      status 3 (EXIT_GUEST_CRASH);
 *   2. int3 at CPL0: KVM's emulator cannot run it here (PLATFORM.md),
 *      status 4 (EXIT_EMULATION), the dump shows the int3 byte at RIP;
 *   3. cmpxchg16b at CPL0: the same, with its own bytes at RIP.
 * On a host with VMX/SVM cases 2 and 3 would run natively and the guest
 * reports that through SYNC(10 + case); the test then checks for that.
 */
#ifdef GUEST
#include "guest.h"

void guest_main(uint64_t which, uint64_t a1, uint64_t a2, uint64_t a3)
{
	static volatile uint64_t pair[2] __attribute__((aligned(16)));
	struct __attribute__((packed)) { uint16_t limit; uint64_t base; } empty = { 0, 0 };

	(void)a1, (void)a2, (void)a3;
	GUEST_SYNC(which); /* ucalls work from CPL0 too */
	switch (which) {
	case 1:
		__asm__ volatile("lidt %0\n\tud2" : : "m"(empty) : "memory");
		break;
	case 2:
		__asm__ volatile("int3" ::: "memory");
		break;
	case 3:
		__asm__ volatile("lock cmpxchg16b %0"
				 : "+m"(pair[0]) : "a"(0), "d"(0), "b"(1), "c"(1) : "memory", "cc");
		break;
	}
	GUEST_SYNC(10 + which);
}

#else
#include <stdio.h>
#include <string.h>

#include "kit.h"
#include "petrel/exitcode.h"

struct crash_case {
	const char *name;
	int status;           /* on our machines */
	const char *reason;   /* in petrel's dump */
	const char *code;     /* the instruction bytes at RIP, as dumped */
};

static const struct crash_case cases[] = {
	{ 0 },
	{ "triple fault", EXIT_GUEST_CRASH, "triple fault", NULL },
	{ "int3 at CPL0", EXIT_EMULATION, "instruction emulation failed", "code at RIP: cc " },
	{ "cmpxchg16b at CPL0", EXIT_EMULATION, "instruction emulation failed",
	  "code at RIP: f0 48 0f c7 " },
};

static enum kit_action on_ucall(struct kit_vm *k, struct vcpu *v, struct kit_ucall *uc)
{
	(void)v;
	*(uint64_t *)k->opts.opaque = uc->args[0];
	return KIT_CONTINUE;
}

static enum kit_action on_trap(struct kit_vm *k, struct vcpu *v, const struct kit_trap *t)
{
	(void)k, (void)v;
	/* int3 that worked natively (a VMX/SVM host): let it return */
	return t->vector == 3 ? KIT_CONTINUE : KIT_DEFAULT;
}

static int run_case(unsigned which)
{
	const struct crash_case *c = &cases[which];
	struct kit_vm k;
	uint64_t stage = 0;
	struct kit_opts o = { KIT_EMBEDDED_GUEST, .cpl0 = true, .args = { which },
			      .capture_stderr = true, .on_ucall = on_ucall,
			      .on_trap = on_trap, .opaque = &stage, .timeout_ms = 20000 };
	int r = kit_vm_create(&k, &o), status;

	if (r) {
		kit_finish(&k);
		return r == KIT_SKIP ? KIT_SKIP : 1;
	}
	status = kit_run(&k);
	if (which != 1 && status == 0 && stage == 10 + which) {
		printf("note: %s ran natively (not a software-backed KVM)\n", c->name);
		return kit_finish(&k);
	}
	KIT_CHECK_EQ(&k, stage, which);
	KIT_CHECK_EQ(&k, status, c->status);
	const char *err = k.stderr_out ? k.stderr_out : "";
	KIT_CHECK(&k, strstr(err, c->reason) != NULL);
	KIT_CHECK(&k, strstr(err, "RIP=") != NULL);
	KIT_CHECK(&k, strstr(err, "code at RIP:") != NULL);
	if (c->code)
		KIT_CHECK(&k, strstr(err, c->code) != NULL);
	r = kit_finish(&k);
	printf("%s: %s (status %d)\n", c->name, r ? "FAIL" : "ok", status);
	return r;
}

int main(void)
{
	int worst = 0;

	for (unsigned i = 1; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = run_case(i);
		if (r == KIT_SKIP)
			return KIT_SKIP;
		worst |= r;
	}
	return worst ? 1 : 0;
}
#endif
