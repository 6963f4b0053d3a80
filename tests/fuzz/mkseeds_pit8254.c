/*
 * Writes the seed corpus of fuzz_pit8254 (tests/fuzz/corpus/fuzz_pit8254/):
 * what Linux and a BIOS do with the PIT, in the format of pit_input.h.
 * The seeds are committed; rerun this only when the format changes:
 *   cc -Itests/fuzz -o /tmp/mkseeds tests/fuzz/mkseeds_pit8254.c
 *   /tmp/mkseeds tests/fuzz/corpus/fuzz_pit8254
 */
#include <stdint.h>
#include <stdio.h>

#include "pit_input.h"

static uint8_t buf[4096];
static size_t len;

static void out(unsigned port, uint8_t v) /* port 0..3: 0x40..0x43 */
{
	buf[len++] = (uint8_t)(port << 3 | PITF_OUT);
	buf[len++] = v;
}

static void in(unsigned port)
{
	buf[len++] = (uint8_t)(port << 3 | PITF_IN);
}

static void status(unsigned ch)
{
	buf[len++] = (uint8_t)(ch << 3 | PITF_STATUS_CHECK | PITF_IN);
}

static void out61(uint8_t v)
{
	buf[len++] = PITF_OUT61;
	buf[len++] = v;
}

static void in61(void)
{
	buf[len++] = PITF_IN61;
}

/* ns = v << (4 * shift) */
static void advance(unsigned shift, uint16_t v)
{
	buf[len++] = (uint8_t)(shift << 3 | PITF_ADVANCE);
	buf[len++] = v & 0xff;
	buf[len++] = v >> 8;
}

static void fire(void)
{
	buf[len++] = PITF_FIRE;
}

static void count(unsigned ch, uint16_t v)
{
	out(ch, v & 0xff);
	out(ch, v >> 8);
}

static int save(const char *dir, const char *name)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, len, f) != len || fclose(f)) {
		perror(path);
		return 1;
	}
	len = 0;
	return 0;
}

int main(int argc, char **argv)
{
	int err = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	/* the periodic clockevent at HZ=1000, a late timer, its shutdown */
	out(3, 0x34);
	count(0, 1193);
	for (int i = 0; i < 8; i++) {
		advance(1, 62500); /* 1 ms */
		fire();
	}
	advance(2, 20000); /* 5 ms late */
	fire();
	status(0);
	out(3, 0x30);
	count(0, 0);
	advance(3, 20000); /* 82 ms */
	fire();
	out(3, 0x30);
	err |= save(argv[1], "linux-periodic-shutdown");

	/* pit_calibrate_tsc: gate on, speaker off, ch2 mode 0, poll bit 5 */
	in61();
	out61(0x01);
	out(3, 0xb0);
	count(2, 11931);
	for (int i = 0; i < 12; i++) {
		in61();
		advance(2, 15625); /* 1 ms */
	}
	in61();
	/* quick_pit_calibrate: 0xffff, LSB/MSB pairs */
	out(3, 0xb0);
	count(2, 0xffff);
	for (int i = 0; i < 4; i++) {
		in(2);
		in(2);
		advance(1, 16000);
	}
	err |= save(argv[1], "linux-calibrate");

	/* the one-shot clockevent: mode 4, counts rewritten */
	out(3, 0x38);
	count(0, 5000);
	advance(1, 40000);
	count(0, 300);
	fire();
	fire();
	count(0, 60000);
	advance(3, 1000);
	fire();
	err |= save(argv[1], "linux-oneshot");

	/* read-back of counts and statuses, latches, BCD, mode 3 */
	out(3, 0x36);
	count(0, 0);
	out(3, 0x54); /* ch1 mode 2 LSB: the BIOS's refresh */
	out(1, 18);
	out(3, 0xb7); /* ch2 mode 3 BCD */
	count(2, 0x1000);
	advance(1, 3000);
	out(3, 0xce);
	for (int c = 0; c < 3; c++) {
		in(c);
		in(c);
		in(c);
	}
	out(3, 0x00);
	advance(0, 999);
	in(0);
	in(0);
	status(1);
	status(2);
	fire();
	err |= save(argv[1], "readback-bcd");

	/* modes 1 and 5 on ch2, triggered and retriggered by the gate */
	out61(0x00);
	out(3, 0x92);
	out(2, 100);
	out61(0x01);
	advance(0, 40000);
	in61();
	out61(0x00);
	out61(0x01);
	advance(1, 10000);
	in61();
	out(3, 0x9a);
	out(2, 50);
	out61(0x00);
	out61(0x03);
	advance(0, 60000);
	in61();
	status(2);
	err |= save(argv[1], "gate-modes-1-5");
	return err;
}
