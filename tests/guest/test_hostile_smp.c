/*
 * Hostile guest, part 3: all vCPUs at once. Four vCPUs, a virtio-blk on
 * virtio-pci and the virtio-rng on virtio-mmio (kit/guest_virtio.h):
 *   vCPU 0 floods the UART (THR and LSR) and both devices' notify
 *          registers with queue indices that do not exist, in every width
 *          (1, 2 and 4 bytes: the ioeventfds match 2 and 4, the rest trap),
 *          and moves the blk's BAR away and back and turns its memory
 *          decode off and on while vCPU 1 uses it (the BAR and its
 *          ioeventfds come and go under the I/O thread's feet);
 *   vCPU 1 keeps blk GET_ID requests going, kicking each until it is
 *          answered (a kick that found no BAR is lost, as on hardware);
 *   vCPU 2 does the same with the rng;
 *   both also write to the UART between requests;
 *   vCPU 3 waits until the three have each done FLOOD_ROUNDS rounds, then
 *          triple-faults: its TSS's RSP0 points into unmapped space and it
 *          runs ud2 at CPL3 (#UD cannot be delivered -> #PF -> #DF ->
 *          shutdown), while the others keep going.
 * petrel must stop the VM with status 3 (EXIT_GUEST_CRASH) and its
 * "triple fault" report, with every request answered correctly up to then
 * (the guests assert on each used entry), the UART output captured, and no
 * fd or heap growth after the VM is destroyed.
 */
#define RAM_SIZE (64ULL << 20)
#define REGION_BLK 0x500000ULL
#define REGION_RNG 0x540000ULL
#define COUNTERS 0x5f0000ULL /* rounds done by vCPUs 0..2 */
#define QSIZE 16
#define FLOOD_ROUNDS 100
#define BAR_AWAY 0xc0100000ULL /* in the PCI window, no device there */
#define ICR_INIT 0x00000500u
#define ICR_SIPI 0x00000600u
#define ICR_ASSERT 0x00004000u
#define ICR_ALL_BUT_SELF 0x000c0000u

#ifdef GUEST
#include "guest_virtio.h"

#define VIRTIO_ID_BLOCK 2
#define VIRTIO_MMIO_WINDOW 0xd0000000ULL
#define BLK_T_GET_ID 8

static volatile uint64_t *const rounds = (volatile uint64_t *)COUNTERS;

static void uart_burst(unsigned cpu)
{
	for (unsigned i = 0; i < 8; i++) {
		outb(0x3f8, (uint8_t)('0' + cpu));
		(void)inb(0x3f8 + 5);
	}
}

/*
 * The blk's slot, BAR and command register, looked up by vCPU 0 before it
 * starts the others: 0xcf8/0xcfc is one shared address register, so two
 * vCPUs reading config space at once read each other's registers (a guest
 * serializes them, as Linux's pci_config_lock does). vCPU 1 once took the
 * command register for its BAR, put its rings "at" guest RAM and waited
 * for a device that was never there.
 */
static struct {
	unsigned slot;
	uint64_t base;
	uint32_t cmd;
} blk;

static void blk_lookup(void)
{
	int s = gv_pci_find(VIRTIO_ID_BLOCK, 0);

	GUEST_ASSERT(s >= 0);
	blk.slot = (unsigned)s;
	blk.base = gv_pci_bar0(blk.slot);
	blk.cmd = gv_pci_read32(blk.slot, 4) & 0xffff;
}

static void setup(struct gv_dev *d, uint64_t region)
{
	d->qsize = QSIZE;
	d->desc = region;
	d->avail = region + 0x1000;
	d->used = region + 0x2000;
	memset((void *)region, 0, 0x4000);
	GUEST_ASSERT_EQ(gv_setup(d), GV_S_ACK | GV_S_DRIVER | GV_S_FEATURES_OK | GV_S_DRIVER_OK);
}

/* Kicks until the next used entry shows up. */
static void wait_used_kicking(struct gv_dev *d, uint32_t *id, uint32_t *len)
{
	volatile uint16_t *used_idx = (volatile uint16_t *)(d->used + 2);

	for (unsigned long i = 0; *used_idx == d->used_seen; i++) {
		GUEST_ASSERT(i < 200000000ul);
		if (i % 100000 == 0)
			gv_kick(d);
		cpu_relax();
	}
	GUEST_ASSERT(gv_wait_used(d, id, len));
}

/* vCPU 0: garbage notifications, UART bytes and BAR moves, forever. */
static void flood_notify(void)
{
	const unsigned slot = blk.slot;
	const uint64_t at = blk.base;
	const uint32_t cmd = blk.cmd;

	for (uint64_t n = 0;; n++) {
		uint16_t q = (uint16_t)(1 + n % 0x3ff);

		/* the BAR games start once vCPU 1 has set its queue up */
		if (rounds[1] && n % 16 == 1) {
			gv_pci_set_bar0(slot, BAR_AWAY);
			mmio_write16(BAR_AWAY + 0x3000, 0);
			gv_pci_set_bar0(slot, at);
		} else if (rounds[1] && n % 16 == 9) {
			gv_pci_write32(slot, 4, cmd & ~2u); /* memory decode off */
			mmio_write16(at + 0x3000, 0);       /* nobody there */
			gv_pci_write32(slot, 4, cmd);
		}

		mmio_write16(at + 0x3000 + 4 * (q % 0x400), q);        /* no such queue */
		mmio_write8(at + 0x3000, (uint8_t)n);                  /* queue 0, odd width */
		mmio_write32(at + 0x3000, (uint32_t)n);
		mmio_write32(VIRTIO_MMIO_WINDOW + 0x50, q);            /* no such queue */
		mmio_write32(VIRTIO_MMIO_WINDOW + 0x50, 0xffffffffu - (uint32_t)n);
		mmio_write16(VIRTIO_MMIO_WINDOW + 0x50, 0);            /* wrong width */
		uart_burst(0);
		rounds[0] = n + 1;
	}
}

/* vCPU 1: GET_ID requests on the blk, each kicked several times. */
static void flood_blk(void)
{
	struct gv_dev d = { .pci = true, .base = blk.base };
	uint64_t hdr = REGION_BLK + 0x3000, buf = REGION_BLK + 0x3100, st = REGION_BLK + 0x3200;
	uint32_t id, len;

	setup(&d, REGION_BLK);
	((uint32_t *)hdr)[0] = BLK_T_GET_ID;
	for (uint64_t n = 0;; n++) {
		struct gv_desc *t = gv_descs(&d);

		*(volatile uint8_t *)st = 0xff;
		t[0] = (struct gv_desc){ hdr, 16, GV_DESC_NEXT, 1 };
		t[1] = (struct gv_desc){ buf, 20, GV_DESC_WRITE | GV_DESC_NEXT, 2 };
		t[2] = (struct gv_desc){ st, 1, GV_DESC_WRITE, 0 };
		gv_post(&d, 0);
		for (unsigned i = 0; i < 8; i++)
			gv_kick(&d);
		wait_used_kicking(&d, &id, &len);
		GUEST_ASSERT_EQ(id, 0);
		GUEST_ASSERT_EQ(*(volatile uint8_t *)st, 0);
		GUEST_ASSERT_EQ(memcmp((void *)buf, "flood", 6), 0);
		uart_burst(1);
		rounds[1] = n + 1;
	}
}

/* vCPU 2: entropy requests, each kicked several times. */
static void flood_rng(void)
{
	struct gv_dev d = { .pci = false, .base = VIRTIO_MMIO_WINDOW };
	uint32_t id, len;

	setup(&d, REGION_RNG);
	for (uint64_t n = 0;; n++) {
		gv_descs(&d)[0] = (struct gv_desc){ REGION_RNG + 0x3000, 32, GV_DESC_WRITE, 0 };
		gv_post(&d, 0);
		for (unsigned i = 0; i < 8; i++)
			gv_kick(&d);
		GUEST_ASSERT(gv_wait_used(&d, &id, &len));
		GUEST_ASSERT_EQ(id, 0);
		GUEST_ASSERT_EQ(len, 32);
		uart_burst(2);
		rounds[2] = n + 1;
	}
}

/* vCPU 3: a triple fault at CPL3 once the others are busy. */
static void triple_fault(unsigned cpu)
{
	volatile uint64_t *rsp0 = (volatile uint64_t *)(uint64_t)(KIT_TSS + cpu * KIT_TSS_SLOT + 4);

	while (rounds[0] < FLOOD_ROUNDS || rounds[1] < FLOOD_ROUNDS || rounds[2] < FLOOD_ROUNDS)
		cpu_relax();
	GUEST_SYNC(2, rounds[0], rounds[1], rounds[2]);
	/*
	 * The frame goes just below RSP0: 1.5 GiB, in the 1-2 GiB range no
	 * page table maps (kit_abi.h), so the push takes a #PF. Not 1 GiB: the
	 * frame would land below it, mapped but not RAM, and on SVM the
	 * exception delivery then loops in KVM instead of shutting down.
	 */
	*rsp0 = 0x60000000ULL;
	__asm__ volatile("ud2" ::: "memory");
	GUEST_SYNC(3); /* not reached */
}

void guest_ap_main(unsigned cpu, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3)
{
	(void)a0, (void)a1, (void)a2, (void)a3;
	if (cpu == 1)
		flood_blk();
	else if (cpu == 2)
		flood_rng();
	else
		triple_fault(cpu);
}

void guest_main(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3)
{
	(void)a0, (void)a1, (void)a2, (void)a3;
	memset((void *)COUNTERS, 0, 64);
	blk_lookup(); /* before the others run: see blk */
	lapic_write(LAPIC_SVR, 0x1ff);
	lapic_write(LAPIC_ICR_HI, 0);
	lapic_write(LAPIC_ICR_LO, ICR_ALL_BUT_SELF | ICR_ASSERT | ICR_INIT);
	lapic_write(LAPIC_ICR_LO, ICR_ALL_BUT_SELF | ICR_ASSERT | ICR_SIPI | KIT_SIPI_VECTOR);
	lapic_write(LAPIC_ICR_LO, ICR_ALL_BUT_SELF | ICR_ASSERT | ICR_SIPI | KIT_SIPI_VECTOR);
	GUEST_SYNC(1);
	flood_notify();
}

#else
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kit.h"
#include "petrel/exitcode.h"

struct state {
	char disk[64];
	pthread_mutex_t lock;
	unsigned seen; /* bit per stage */
	uint64_t rounds[3];
};

static void configure(struct kit_vm *k, struct vm_config *cfg)
{
	struct state *s = k->opts.opaque;

	cfg->nr_disks = 1;
	snprintf(cfg->disks[0].path, sizeof(cfg->disks[0].path), "%s", s->disk);
	snprintf(cfg->disks[0].serial, sizeof(cfg->disks[0].serial), "flood");
	cfg->disks[0].transport = VIRTIO_TRANSPORT_PCI;
	cfg->rng = true;
	cfg->rng_transport = VIRTIO_TRANSPORT_MMIO;
}

static enum kit_action on_ucall(struct kit_vm *k, struct vcpu *v, struct kit_ucall *uc)
{
	struct state *s = k->opts.opaque;
	unsigned stage = (unsigned)uc->args[0];

	if (stage < 1 || stage > 2 || (stage == 2 && v->id != 3))
		return kit_fail_stop(k, "vcpu%u: unexpected stage %u", v->id, stage);
	pthread_mutex_lock(&s->lock);
	s->seen |= 1u << stage;
	if (stage == 2)
		for (unsigned i = 0; i < 3; i++)
			s->rounds[i] = uc->args[1 + i];
	pthread_mutex_unlock(&s->lock);
	return KIT_CONTINUE;
}

int main(void)
{
	struct kit_vm k;
	struct state s = { .disk = "/tmp/petrel-hostile-XXXXXX",
			   .lock = PTHREAD_MUTEX_INITIALIZER };
	struct kit_opts o = { KIT_EMBEDDED_GUEST, .ncpus = 4, .on_ucall = on_ucall,
			      .opaque = &s, .configure = configure, .capture_stderr = true,
			      .capture_console = true, .mem_size = RAM_SIZE,
			      .timeout_ms = 60000 /* four vCPUs on one CPU in the nested VM */ };
	struct kit_usage before;
	uint64_t guest_rounds[3];
	int r;

	if (kit_scratch_disk(s.disk, 1 << 20) < 0)
		return 1;
	kit_usage_now(&before);
	r = kit_vm_create(&k, &o);
	unlink(s.disk);
	if (r) {
		kit_finish(&k);
		return r == KIT_SKIP ? KIT_SKIP : 1;
	}
	KIT_CHECK_EQ(&k, kit_run(&k), EXIT_GUEST_CRASH);
	/* where each vCPU got to, from guest RAM: says which one stalled if it fails */
	if (gpa_read(&k.vm.mem, COUNTERS, guest_rounds, sizeof(guest_rounds)) == 0)
		fprintf(stderr, "rounds at the end (guest RAM): %llu %llu %llu\n",
			(unsigned long long)guest_rounds[0], (unsigned long long)guest_rounds[1],
			(unsigned long long)guest_rounds[2]);
	KIT_CHECK_EQ(&k, s.seen, (1u << 1) | (1u << 2));
	for (unsigned i = 0; i < 3; i++)
		KIT_CHECK(&k, s.rounds[i] >= FLOOD_ROUNDS);
	if (!strstr(k.vm.stop.reason, "triple fault"))
		kit_fail(&k, "the VM stopped with \"%s\", not a triple fault", k.vm.stop.reason);
	KIT_CHECK(&k, k.stderr_out && strstr(k.stderr_out, "vcpu3"));
	/* every flooding vCPU's bytes reached COM1's output */
	for (char c = '0'; c <= '2'; c++)
		KIT_CHECK(&k, k.console_out && memchr(k.console_out, c, k.console_len));
	fprintf(stderr, "rounds before the triple fault: %llu %llu %llu, console %zu bytes\n",
		(unsigned long long)s.rounds[0], (unsigned long long)s.rounds[1],
		(unsigned long long)s.rounds[2], k.console_len);
	return kit_finish_usage(&k, &before, 64 * 1024);
}
#endif
