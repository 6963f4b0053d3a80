/*
 * Writes the seed corpora of the port and register targets (devf_input.h)
 * into DIR/fuzz_<target>/: what Linux's drivers do with each device, and
 * a few sequences a driver would not.
 *   cc -Itests/fuzz -o /tmp/mkseeds tests/fuzz/mkseeds_devices.c &&
 *   /tmp/mkseeds tests/fuzz/corpus
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "devf_input.h"

static uint8_t buf[4096];
static size_t len;
static int failed;

static void rec(uint8_t op, uint8_t sz, uint16_t off, uint32_t val)
{
	uint8_t r[DEVF_REC] = { op, sz, (uint8_t)off, (uint8_t)(off >> 8), (uint8_t)val,
				(uint8_t)(val >> 8), (uint8_t)(val >> 16), (uint8_t)(val >> 24) };

	if (len + DEVF_REC <= sizeof(buf)) {
		memcpy(buf + len, r, DEVF_REC);
		len += DEVF_REC;
	}
}

static void emit(const char *dir, const char *target, const char *name)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/%s", dir, target, name);
	f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, len, f) != len || fclose(f)) {
		perror(path);
		failed = 1;
	}
	len = 0;
}

/* --- fuzz_serial8250: 0 write, 1 read, 2 receive, 3 sink, 4 rx_space --- */
static void serial(const char *dir)
{
	const char *t = "fuzz_serial8250";

	/* Linux autoconfig: scratch, IER, LCR/DLAB, FIFO, IIR, loopback test */
	rec(0, 0, 7, 0xa5), rec(1, 0, 7, 0), rec(0, 0, 1, 0), rec(1, 0, 1, 0);
	rec(0, 0, 3, 0x80), rec(0, 0, 0, 1), rec(0, 0, 1, 0), rec(1, 0, 0, 0);
	rec(0, 0, 3, 0x03), rec(0, 0, 2, 0xc7), rec(1, 0, 2, 0);
	rec(0, 0, 4, 0x10 | 0x0a), rec(1, 0, 6, 0), rec(0, 0, 0, 0x55), rec(1, 0, 5, 0);
	rec(1, 0, 0, 0), rec(0, 0, 4, 0x0b), rec(1, 0, 6, 0);
	emit(dir, t, "linux-autoconfig");
	/* interrupt-driven output into a sink that fills and drains */
	rec(0, 0, 2, 0xc7), rec(0, 0, 4, 0x0b), rec(0, 0, 1, 0x0f), rec(1, 0, 2, 0);
	rec(3, 0, 0, 3);
	for (int i = 0; i < 20; i++)
		rec(0, 0, 0, 'a' + i);
	rec(1, 0, 5, 0), rec(1, 0, 2, 0), rec(3, 1, 0, 0xff), rec(1, 0, 2, 0), rec(1, 0, 5, 0);
	emit(dir, t, "tx-backpressure");
	/* input arriving between accesses, trigger levels, overrun, FIFO off */
	rec(0, 0, 2, 0x87), rec(0, 0, 4, 0x08), rec(0, 0, 1, 0x05), rec(2, 0, 0, 0x4110);
	rec(1, 0, 2, 0), rec(1, 0, 5, 0), rec(1, 0, 0, 0), rec(4, 0, 0, 0), rec(2, 0, 0, 0x6108);
	rec(1, 0, 2, 0), rec(0, 0, 2, 0x00), rec(2, 0, 0, 0x3003), rec(1, 0, 5, 0), rec(1, 0, 0, 0);
	rec(4, 0, 0, 0), rec(2, 0, 0, 0x3101), rec(0, 0, 4, 0x18), rec(0, 0, 0, 0x77);
	rec(0, 0, 0, 0x78), rec(1, 0, 5, 0), rec(0, 0, 4, 0x08), rec(1, 0, 0, 0);
	rec(1, 1, 0, 0), rec(0, 2, 0, 0x41), rec(1, 0x80, 9, 0);
	emit(dir, t, "rx-fifo-loopback");
}

/* --- fuzz_i8042: 0 write, 1 read; off bit 0: command port --- */
static void i8042(const char *dir)
{
	const char *t = "fuzz_i8042";

	/* Linux i8042 probe: flush, CTR read/write, self test, AUX loop */
	rec(1, 0, 1, 0), rec(1, 0, 0, 0), rec(0, 0, 1, 0x20), rec(1, 0, 1, 0), rec(1, 0, 0, 0);
	rec(0, 0, 1, 0x60), rec(0, 0, 0, 0x47), rec(0, 0, 1, 0xaa), rec(1, 0, 0, 0);
	rec(0, 0, 1, 0xd3), rec(0, 0, 0, 0x5a), rec(1, 0, 1, 0), rec(1, 0, 0, 0);
	rec(0, 0, 1, 0xa8), rec(0, 0, 1, 0xa9), rec(1, 0, 0, 0), rec(0, 0, 1, 0xd4);
	rec(0, 0, 0, 0xf2), rec(1, 0, 1, 0), rec(1, 0, 0, 0), rec(0, 0, 0, 0xff), rec(1, 0, 0, 0);
	rec(0, 0, 1, 0xd0), rec(1, 0, 0, 0), rec(0, 0, 1, 0xc0), rec(1, 0, 0, 0);
	emit(dir, t, "linux-probe");
	/* the ways to reset, and wrong sizes */
	rec(0, 0, 1, 0xd1), rec(0, 0, 0, 0x02), rec(0, 0, 1, 0xfe), rec(0, 0, 1, 0xff);
	rec(0, 2, 1, 0xfe), rec(1, 1, 0, 0), rec(0, 0x80, 3, 0xfe);
	emit(dir, t, "resets");
}

/* --- fuzz_rtc: 0 write, 1 read, 2 clock, 3 host preset --- */
static void rtc(const char *dir)
{
	const char *t = "fuzz_rtc";
	static const uint8_t clock_regs[] = { 0, 2, 4, 6, 7, 8, 9, 0x32, 0x0a, 0x0b, 0x0c, 0x0d };

	/* Linux's mc146818_get_time: UIP, then every clock register, BCD 24h */
	rec(2, 0, 0, 413000);
	for (size_t i = 0; i < sizeof(clock_regs); i++)
		rec(0, 0, 0, clock_regs[i]), rec(1, 0, 1, 0);
	/* binary 12h, a PM hour, alarms, storage, the century */
	rec(0, 0, 0, 0x0b), rec(0, 0, 1, 0x04), rec(2, 0, 0, 9), rec(0, 0, 0, 4), rec(1, 0, 1, 0);
	rec(0, 0, 0, 1), rec(0, 0, 1, 0x30), rec(0, 0, 0, 3), rec(0, 0, 1, 0xc0);
	rec(0, 0, 0, 5), rec(0, 0, 1, 0xff), rec(0, 0, 0, 1), rec(1, 0, 1, 0);
	rec(3, 0, 0x34, 0x80), rec(0, 0, 0, 0xb4), rec(1, 0, 1, 0), rec(3, 0, 0x32, 1);
	rec(0, 0, 0, 0x32), rec(0, 0, 1, 0x19), rec(1, 0, 1, 0);
	emit(dir, t, "linux-read-time");
	/* a failing clock, writes to the clock, wrong ports and sizes */
	rec(2, 1, 0, 0), rec(0, 0, 0, 0x07), rec(0, 0, 1, 0x31), rec(1, 0, 1, 0);
	rec(0, 0, 0, 0x0a), rec(0, 0, 1, 0xff), rec(1, 0, 1, 0), rec(1, 0, 0, 0);
	rec(1, 1, 1, 0), rec(0, 2, 1, 0), rec(1, 0x80, 2, 0), rec(2, 0, 0, 0xffffffff);
	rec(0, 0, 0, 0x09), rec(1, 0, 1, 0);
	emit(dir, t, "odd-accesses");
}

/* --- fuzz_acpi_pm: 0 write, 1 read, 2 button, 3 time; sz bits 5-6 --- */
static void acpi_pm(const char *dir)
{
	const char *t = "fuzz_acpi_pm";

	/* ACPICA: enable the power button, press it, acknowledge, power off */
	rec(1, 1, 8, 0), rec(0, 1, 10, 0x0100), rec(2, 0, 0, 0), rec(1, 1, 8, 0);
	rec(0, 1, 8, 0x0100), rec(1, 2, 8, 0), rec(1, 1, 12, 0), rec(0, 1, 12, 0x1401);
	rec(0, 1, 12, 0x3401);
	emit(dir, t, "power-button-s5");
	/* the PM timer across time, calibration-style; byte writes of CNT */
	rec(1, 2, 16, 0), rec(3, 0, 0, 279), rec(1, 2, 16, 0), rec(3, 1, 0, 50);
	rec(1, 2, 16, 0), rec(1, 0, 17, 0), rec(1, 1, 18, 0), rec(3, 1, 0, 0xffffffff);
	rec(1, 2, 16, 0), rec(0, 0, 13, 0x34), rec(0, 0, 12, 0x05), rec(1, 3, 8, 0);
	rec(1, 2, 14, 0), rec(0, 3, 6, 0xffffffff), rec(1, 0, 7, 0);
	emit(dir, t, "pm-timer-bytes");
	/* debug exit and the boot marker */
	rec(0, 0x40, 4, 0x10), rec(0, 0x41, 4, 0x31), rec(0, 0x42, 4, 1), rec(0, 0x40, 5, 1);
	rec(1, 0x40, 4, 0), rec(3, 0, 0, 1000), rec(0, 0x60, 4, 123), rec(0, 0x60, 4, 123);
	rec(0, 0x60, 3, 123), rec(1, 0x60, 4, 0);
	emit(dir, t, "debug-exit-boot-marker");
}

/* --- fuzz_pci_host --- */
#define CFG(dev, reg) (0x80000000u | (dev) << 11 | (reg))

static void cfg_write(unsigned dev, unsigned reg, uint32_t v, uint8_t sz)
{
	rec(0, 2, 0, CFG(dev, reg & 0xfc));
	rec(0, sz, (uint16_t)(4 + (reg & 3)), v);
}

static void cfg_read(unsigned dev, unsigned reg, uint8_t sz)
{
	rec(0, 2, 0, CFG(dev, reg & 0xfc));
	rec(1, sz, (uint16_t)(4 + (reg & 3)), 0);
}

/* MMIO to virtio function 0's BAR at 0xc0000000 (which 0) */
static void bar_w(uint16_t off, uint32_t v, uint8_t sz)
{
	rec(2, sz, off, v);
}

static void pci(const char *dir)
{
	const char *t = "fuzz_pci_host";

	/* enumeration: vendor/device of every slot, class, header type */
	for (unsigned d = 0; d < 6; d++)
		cfg_read(d, 0, 2), cfg_read(d, 8, 2), cfg_read(d, 0x0e, 0);
	rec(1, 2, 0, 0), rec(0, 2, 0, 0x80010000), rec(1, 2, 4, 0), rec(0, 2, 0, 0x00001000);
	rec(1, 2, 4, 0), rec(0, 0, 1, 0x02), rec(1, 0, 1, 0), rec(0, 0, 1, 0x06);
	emit(dir, t, "enumerate-cf9");
	/* BAR sizing of every BAR of the plain function and virtio fn 1 */
	for (unsigned b = 0; b < 6; b++) {
		cfg_read(3, 0x10 + 4 * b, 2), cfg_write(3, 0x10 + 4 * b, 0xffffffff, 2);
		cfg_read(3, 0x10 + 4 * b, 2), cfg_write(3, 0x10 + 4 * b, 0x1000 * b, 2);
	}
	cfg_write(1, 4, 0, 1), cfg_write(1, 0x10, 0xffffffff, 2), cfg_write(1, 0x14, 0xffffffff, 2);
	cfg_read(1, 0x10, 2), cfg_read(1, 0x14, 2), cfg_write(1, 0x10, 0xc0008004, 2);
	cfg_write(1, 0x14, 0, 2), cfg_write(1, 4, 6, 1), cfg_write(1, 0x10, 0xd0000004, 2);
	cfg_write(1, 4, 6, 1), cfg_write(2, 0x10, 0xd0000004, 2), cfg_read(2, 4, 1);
	rec(3, 0x22, 0, 0), rec(3, 0x42, 0, 0);
	emit(dir, t, "bar-sizing-overlap");
	/* a virtio driver: MSI-X on, vectors, queue 0 up, notifications */
	cfg_write(1, 0x98 + 2, 0x8000, 1);
	bar_w(0x4000, 0xfee00000, 2), bar_w(0x4008, 0x41, 2), bar_w(0x400c, 0, 2);
	bar_w(0x4010, 0xfee00000, 2), bar_w(0x4018, 0x42, 2), bar_w(0x401c, 0, 2);
	bar_w(0x14, 0, 0), bar_w(0x14, 1, 0), bar_w(0x14, 3, 0), bar_w(0x08, 1, 2);
	bar_w(0x0c, 1, 2), bar_w(0x14, 0x0b, 0), bar_w(0x10, 0, 1), bar_w(0x16, 0, 1);
	bar_w(0x18, 16, 1), bar_w(0x1a, 1, 1), bar_w(0x20, 0, 2), bar_w(0x28, 0x100, 2);
	bar_w(0x30, 0x200, 2), bar_w(0x1c, 1, 1), bar_w(0x14, 0x0f, 0);
	rec(4, 0, 0, 0), rec(4, 0, 0, 2), bar_w(0x401c, 1, 2), rec(4, 0, 0, 0);
	rec(3, 2, 0x5000, 0), bar_w(0x401c, 0, 2), rec(3, 3, 0x5000, 0);
	cfg_write(1, 0x98 + 2, 0xc000, 1), rec(4, 0, 0, 0), cfg_write(1, 0x98 + 2, 0x8000, 1);
	cfg_write(1, 0x98 + 2, 0, 1), rec(4, 0, 0, 0), rec(3, 0, 0x1000, 0);
	emit(dir, t, "virtio-msix-intx");
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	serial(argv[1]);
	i8042(argv[1]);
	rtc(argv[1]);
	acpi_pm(argv[1]);
	pci(argv[1]);
	return failed;
}
