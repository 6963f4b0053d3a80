/*
 * libFuzzer target for the ACPI PM1a blocks (src/devices/acpi_pm.c), the
 * PM timer (src/devices/pm_timer.c), the debug-exit port
 * (src/devices/debug_exit.c) and the boot marker (src/devices/boot_marker.c),
 * on a PIO bus as vm_devices.c wires them, with an injected clock: guest
 * accesses of every size at and around every port, the power button and
 * time passing between them.
 *
 * Input (devf_input.h): records op, sz, off, val; (sz >> 5) & 3 picks the
 * ports: 0-1 0x5f8 + off % 0x20 (PM1a at 0x600, the timer at 0x608 and
 * unclaimed ports on both sides), 2 0xf0 + off % 8 (debug exit at 0xf4),
 * 3 0x3ec + off % 8 (boot marker at 0x3f0); op % 4 ==
 *   0  write val, size devf_size(sz)
 *   1  read
 *   2  acpi_pm_power_button
 *   3  the clock moves val ns (val ms when sz & 1)
 * Seeds: tests/fuzz/corpus/fuzz_acpi_pm/, from mkseeds_devices.c.
 *
 * Checked against a model of the registers: PM1_STS is write-1-to-clear,
 * PM1_EN read/write, PM1_CNT keeps SLP_TYP, reads SCI_EN set and SLP_EN and
 * GBL_RLS clear, the reserved word reads 0, whatever bytes an access
 * covers; the SCI moves only on a change and is high exactly while
 * PWRBTN_STS and PWRBTN_EN are both set; power-off is requested exactly
 * for SLP_EN with SLP_TYP 5, once, without the lock; the timer reads
 * floor(ns * 3579545 / 10^9) of the clock since start (checked in 128-bit
 * arithmetic), its bytes at any offset; debug exit reports (v << 1 | 1) &
 * 0xff for each 1/2/4-byte write at its port and nothing else; the boot
 * marker records the first 123 written at its port, once, with the time.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devf_input.h"
#include "petrel/acpi.h"
#include "petrel/acpi_pm.h"
#include "petrel/boot_marker.h"
#include "petrel/bus.h"
#include "petrel/debug_exit.h"
#include "petrel/pm_timer.h"

#define START_NS 1000000000ULL
#define DBG_PORT 0xf4

struct fz {
	struct bus pio;
	struct acpi_pm pm;
	struct pm_timer tmr;
	struct debug_exit dbg;
	struct boot_marker mark;
	struct irqchip chip;
	uint64_t ns;
	bool sci;
	unsigned offs, exits, marks;
	int status;
	uint16_t sts, en, cnt; /* the model */
};

static uint64_t fz_now(void *opaque)
{
	return ((struct fz *)opaque)->ns;
}

static int fz_level(void *opaque, unsigned gsi, int level)
{
	struct fz *z = opaque;

	CHECK(gsi == 9 && (level != 0) != z->sci);
	z->sci = level != 0;
	return 0;
}

static int fz_msi(void *opaque, uint64_t addr, uint32_t data)
{
	(void)opaque, (void)addr, (void)data;
	CHECK(0);
	return 0;
}

static const struct irqchip_ops fz_chip_ops = { .set_level = fz_level, .msi = fz_msi };

static void fz_power(void *opaque, enum power_event ev, const char *source)
{
	struct fz *z = opaque;

	CHECK(ev == POWER_OFF && !strcmp(source, "acpi"));
	CHECK(pthread_mutex_trylock(&z->pm.lock) == 0);
	pthread_mutex_unlock(&z->pm.lock);
	z->offs++;
}

static void fz_exit(void *opaque, int status)
{
	struct fz *z = opaque;

	z->exits++;
	z->status = status;
}

static void fz_mark(void *arg)
{
	((struct fz *)arg)->marks++;
}

static uint8_t model_byte(const struct fz *z, unsigned off)
{
	uint16_t reg[4] = { z->sts, z->en, (uint16_t)(z->cnt | ACPI_PM1_CNT_SCI_EN), 0 };

	return (uint8_t)(reg[off / 2] >> (off % 2 * 8));
}

/* What a write of size bytes at PM1a offset off does to the model. */
static bool model_write(struct fz *z, unsigned off, uint64_t v, unsigned size)
{
	bool s5 = false, cnt_written = false;
	uint16_t cnt = z->cnt;

	for (unsigned i = 0; i < size; i++) {
		uint8_t b = (uint8_t)(v >> (8 * i));
		unsigned o = off + i, sh = o % 2 * 8;

		switch (o / 2) {
		case 0:
			z->sts &= (uint16_t)~(b << sh);
			break;
		case 1:
			z->en = (uint16_t)((z->en & ~(0xff << sh)) | b << sh);
			break;
		case 2:
			cnt = (uint16_t)((cnt & ~(0xff << sh)) | b << sh);
			cnt_written = true;
			break;
		}
	}
	if (cnt_written) {
		s5 = (cnt & ACPI_PM1_CNT_SLP_EN) &&
		     ((cnt & ACPI_PM1_CNT_SLP_TYP_MASK) >> ACPI_PM1_CNT_SLP_TYP_SHIFT) ==
			     ACPI_S5_SLP_TYP;
		z->cnt = cnt & (uint16_t)~(ACPI_PM1_CNT_SLP_EN | ACPI_PM1_CNT_GBL_RLS |
					   ACPI_PM1_CNT_SCI_EN);
	}
	return s5;
}

static uint32_t model_timer(const struct fz *z)
{
	unsigned __int128 t = (unsigned __int128)(z->ns - START_NS) * PM_TIMER_HZ;

	return (uint32_t)(uint64_t)(t / 1000000000u);
}

static bool inside(uint64_t addr, unsigned size, uint64_t base, uint64_t len)
{
	return addr >= base && addr + size <= base + len;
}

static void do_write(struct fz *z, uint64_t addr, unsigned size, uint64_t v)
{
	unsigned offs = z->offs, exits = z->exits, marks = z->marks;
	uint64_t at_before = atomic_load(&z->mark.at_ns), at;
	bool s5 = false;

	if (inside(addr, size, PORT_ACPI_PM, PORT_ACPI_PM_LEN))
		s5 = model_write(z, (unsigned)(addr - PORT_ACPI_PM), v, size);
	bus_write(&z->pio, addr, &v, size);
	CHECK(z->offs == offs + s5);
	if (addr == DBG_PORT && size <= 4) {
		CHECK(z->exits == exits + 1 && z->status == (int)((v << 1 | 1) & 0xff));
		CHECK(z->status & 1);
	} else {
		CHECK(z->exits == exits);
	}
	at = atomic_load(&z->mark.at_ns);
	if (addr == PORT_BOOT_MARKER && size == 1 && (uint8_t)v == BOOT_MARKER_VALUE &&
	    at_before == BOOT_MARKER_NONE) {
		CHECK(z->marks == marks + 1);
		CHECK(at == (z->ns > START_NS ? z->ns - START_NS : 0));
	} else {
		CHECK(z->marks == marks && at == at_before);
	}
}

static void do_read(struct fz *z, uint64_t addr, unsigned size)
{
	uint64_t v = 0, want = 0;

	bus_read(&z->pio, addr, &v, size);
	if (inside(addr, size, PORT_ACPI_PM, PORT_ACPI_PM_LEN)) {
		for (unsigned i = 0; i < size; i++)
			want |= (uint64_t)model_byte(z, (unsigned)(addr - PORT_ACPI_PM) + i) << (8 * i);
	} else if (inside(addr, size, PORT_ACPI_PM_TMR, PM_TIMER_NR_PORTS)) {
		want = model_timer(z) >> (8 * (addr - PORT_ACPI_PM_TMR));
	} else {
		want = ~0ULL; /* unclaimed, or the write-only ports */
	}
	if (size < 8)
		want &= (1ULL << (8 * size)) - 1;
	CHECK(v == want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t bases[4] = { 0x5f8, 0x5f8, 0xf0, 0x3ec };
	static const unsigned spans[4] = { 0x20, 0x20, 8, 8 };
	struct fz *z = calloc(1, sizeof(*z));
	struct mono_clock clock;

	CHECK(z);
	z->ns = START_NS;
	clock = (struct mono_clock){ fz_now, z };
	z->chip = (struct irqchip){ &fz_chip_ops, z, NULL };
	bus_init(&z->pio, "pio");
	CHECK(acpi_pm_init(&z->pm, (struct irq_line){ &z->chip, 9, "acpi" },
			   (struct power_ctl){ fz_power, z }) == 0);
	CHECK(pm_timer_init(&z->tmr, clock, ACPI_PM_TMR_BITS) == 0);
	z->dbg = (struct debug_exit){ fz_exit, z };
	boot_marker_init(&z->mark, clock, START_NS);
	z->mark.on_mark = fz_mark;
	z->mark.on_mark_arg = z;
	CHECK(bus_insert(&z->pio, PORT_ACPI_PM, PORT_ACPI_PM_LEN, &acpi_pm_ops, &z->pm, "pm") == 0);
	CHECK(bus_insert(&z->pio, PORT_ACPI_PM_TMR, PM_TIMER_NR_PORTS, &pm_timer_ops, &z->tmr,
			 "pmtmr") == 0);
	CHECK(debug_exit_insert(&z->pio, DBG_PORT, &z->dbg) == 0);
	CHECK(bus_insert(&z->pio, PORT_BOOT_MARKER, 1, &boot_marker_ops, &z->mark, "mark") == 0);
	for (size_t i = 0; i < size / DEVF_REC; i++) {
		struct devf_rec r = devf_get(data, i);
		unsigned region = (r.sz >> 5) & 3;
		uint64_t addr = bases[region] + r.off % spans[region];

		switch (r.op % 4) {
		case 0:
			do_write(z, addr, devf_size(r.sz), r.val);
			break;
		case 1:
			do_read(z, addr, devf_size(r.sz));
			break;
		case 2:
			acpi_pm_power_button(&z->pm);
			z->sts |= ACPI_PM1_PWRBTN;
			break;
		case 3:
			z->ns += (uint64_t)r.val * ((r.sz & 1) ? 1000000u : 1u);
			break;
		}
		CHECK(z->pm.sts == z->sts && z->pm.en == z->en && z->pm.cnt == z->cnt);
		CHECK(z->sci == !!(z->sts & z->en & ACPI_PM1_PWRBTN));
	}
	acpi_pm_destroy(&z->pm);
	bus_destroy(&z->pio);
	free(z);
	return 0;
}
