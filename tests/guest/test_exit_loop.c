/*
 * The benchmark guest (guests/exit_loop.c) does what bench/ relies on: n
 * PIO writes reach the device at its port, n MMIO writes reach the device
 * at its address, with the SYNC stages in between. Prints the average exit
 * round trip as information only (PLATFORM.md: absolute times here mean
 * little; bench/ reports ratios).
 */
#ifdef GUEST
#include "guests/exit_loop.c"
#else
#include <stdio.h>
#include <time.h>

#include "kit.h"

#define N 2000
#define MMIO_ADDR 0xd0000000ULL

struct counter {
	uint64_t writes, sum, bad;
};

static uint64_t counter_read(void *opaque, uint64_t off, unsigned size)
{
	(void)off, (void)size;
	((struct counter *)opaque)->bad++;
	return 0;
}

static void counter_write(void *opaque, uint64_t off, uint64_t value, unsigned size)
{
	struct counter *c = opaque;
	(void)size;
	c->writes++;
	c->sum += value;
	if (off)
		c->bad++;
}

static const struct bus_dev_ops counter_ops = { counter_read, counter_write };

struct clock {
	unsigned stage;
	struct timespec t[4];
};

static enum kit_action on_ucall(struct kit_vm *k, struct vcpu *v, struct kit_ucall *uc)
{
	struct clock *c = k->opts.opaque;

	(void)v;
	KIT_CHECK_EQ(k, uc->args[0], c->stage + 1);
	KIT_CHECK_EQ(k, uc->args[1], N);
	c->stage = (unsigned)uc->args[0];
	if (c->stage < 4)
		clock_gettime(CLOCK_MONOTONIC, &c->t[c->stage]);
	return KIT_CONTINUE;
}

static double us_between(const struct timespec *a, const struct timespec *b)
{
	return ((double)(b->tv_sec - a->tv_sec) * 1e9 + (double)(b->tv_nsec - a->tv_nsec)) / 1e3;
}

int main(void)
{
	struct kit_vm k;
	struct counter pio = { 0 }, mmio = { 0 };
	struct clock c = { 0 };
	struct kit_opts o = { KIT_EMBEDDED_GUEST, .args = { N, KIT_PORT_BENCH, MMIO_ADDR },
			      .on_ucall = on_ucall, .opaque = &c };
	uint64_t want_sum = 0;
	int r = kit_vm_create(&k, &o);

	if (r) {
		kit_finish(&k);
		return r == KIT_SKIP ? KIT_SKIP : 1;
	}
	KIT_CHECK_EQ(&k, bus_insert(&k.vm.pio, KIT_PORT_BENCH, 1, &counter_ops, &pio, "bench"), 0);
	KIT_CHECK_EQ(&k, bus_insert(&k.vm.mmio, MMIO_ADDR, 4, &counter_ops, &mmio, "bench"), 0);
	KIT_CHECK_EQ(&k, kit_run(&k), 0);
	KIT_CHECK_EQ(&k, c.stage, 3);
	KIT_CHECK_EQ(&k, pio.writes, N);
	KIT_CHECK_EQ(&k, mmio.writes, N);
	for (uint64_t i = 0; i < N; i++)
		want_sum += i & 0xff;
	KIT_CHECK_EQ(&k, pio.sum, want_sum);
	KIT_CHECK_EQ(&k, mmio.sum, (uint64_t)N * (N - 1) / 2);
	KIT_CHECK_EQ(&k, pio.bad + mmio.bad, 0);
	if (c.stage == 3)
		printf("info: CPL3 exit round trip: PIO %.1f us, MMIO %.1f us (%d each)\n",
		       us_between(&c.t[1], &c.t[2]) / N, us_between(&c.t[2], &c.t[3]) / N, N);
	return kit_finish(&k);
}
#endif
