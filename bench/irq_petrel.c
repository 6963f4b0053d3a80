/*
 * Interrupt delivery, per irqchip mode: a device thread raises IOAPIC pin
 * 16 (as a virtio-mmio device's line would) and waits until the guest's
 * handler has run, N times; the guest (tests/guest/guests/irq_bench.c)
 * EOIs each. One figure per interrupt: from irq_set_level() on the device
 * thread to the guest's IDT stub reporting it (the kit's on_trap, on the
 * vCPU's thread); the report itself is one PIO exit, the same in both
 * modes. Level-triggered: the device lowers its line once the handler ran
 * (as a driver's status read would make it), and with the split irqchip
 * the guest's EOI exits to petrel. Also times the VM's teardown
 * (vm_destroy), which differs most between the modes.
 *
 *   irq_petrel kernel|split edge|level N GUEST_ELF
 *   -> "median_ns F p90_ns F irqs N teardown_ms F"
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kit.h"

#define PIN 16
#define VEC 0x60

struct bench {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned n, seen;
	bool level, go;
	uint64_t raised_ns;
	uint64_t *lat;
	struct kit_vm *k;
};

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static enum kit_action on_ucall(struct kit_vm *k, struct vcpu *v, struct kit_ucall *uc)
{
	struct bench *b = k->opts.opaque;

	(void)v;
	if (uc->args[0] == 1) {
		pthread_mutex_lock(&b->lock);
		b->go = true;
		pthread_cond_broadcast(&b->cond);
		pthread_mutex_unlock(&b->lock);
	}
	return KIT_CONTINUE;
}

static enum kit_action on_trap(struct kit_vm *k, struct vcpu *v, const struct kit_trap *t)
{
	struct bench *b = k->opts.opaque;
	uint64_t at = now_ns();

	(void)v;
	if (t->vector != VEC)
		return KIT_DEFAULT;
	if (b->level)
		irq_set_level(&k->vm.irqchip, PIN, 0);
	pthread_mutex_lock(&b->lock);
	if (b->seen < b->n)
		b->lat[b->seen] = at - b->raised_ns;
	b->seen++;
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->lock);
	return KIT_CONTINUE;
}

static void *device(void *arg)
{
	struct bench *b = arg;

	pthread_mutex_lock(&b->lock);
	while (!b->go)
		pthread_cond_wait(&b->cond, &b->lock);
	for (unsigned i = 0; i < b->n; i++) {
		b->raised_ns = now_ns();
		pthread_mutex_unlock(&b->lock);
		irq_set_level(&b->k->vm.irqchip, PIN, 1);
		if (!b->level)
			irq_set_level(&b->k->vm.irqchip, PIN, 0);
		pthread_mutex_lock(&b->lock);
		while (b->seen <= i && !vm_stopping(&b->k->vm))
			pthread_cond_wait(&b->cond, &b->lock);
		if (vm_stopping(&b->k->vm))
			break;
	}
	pthread_mutex_unlock(&b->lock);
	return NULL;
}

static int cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	struct bench b = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };
	struct kit_vm k;
	pthread_t dev;
	uint64_t t0;
	int r;

	if (argc != 5 || (strcmp(argv[2], "edge") && strcmp(argv[2], "level"))) {
		fprintf(stderr, "usage: irq_petrel kernel|split edge|level N GUEST_ELF\n");
		return 2;
	}
	b.level = !strcmp(argv[2], "level");
	b.n = (unsigned)strtoul(argv[3], NULL, 10);
	b.lat = calloc(b.n ? b.n : 1, sizeof(*b.lat));
	b.k = &k;
	struct kit_opts o = { .guest_path = argv[4], .irqchip = argv[1], .quiet = true,
			      .args = { b.n, b.level, PIN }, .on_ucall = on_ucall,
			      .on_trap = on_trap, .opaque = &b, .timeout_ms = 120000 };
	if ((r = kit_vm_create(&k, &o)) != 0) {
		kit_finish(&k);
		return r == KIT_SKIP ? KIT_SKIP : 1;
	}
	pthread_create(&dev, NULL, device, &b);
	r = kit_run(&k);
	pthread_mutex_lock(&b.lock);
	pthread_cond_broadcast(&b.cond);
	pthread_mutex_unlock(&b.lock);
	pthread_join(dev, NULL);
	if (r != 0 || b.seen != b.n) {
		fprintf(stderr, "irq_petrel: status %d, %u of %u interrupts\n", r, b.seen, b.n);
		kit_finish(&k);
		return 1;
	}
	qsort(b.lat, b.n, sizeof(*b.lat), cmp);
	t0 = now_ns();
	kit_destroy(&k);
	printf("median_ns %llu p90_ns %llu irqs %u teardown_ms %.2f\n",
	       (unsigned long long)b.lat[b.n / 2], (unsigned long long)b.lat[b.n * 9 / 10],
	       b.n, (double)(now_ns() - t0) / 1e6);
	free(b.lat);
	return 0;
}
