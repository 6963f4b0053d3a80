/*
 * libFuzzer target for the CMOS RTC (src/devices/rtc.c): the guest's index
 * and data port accesses (any size and offset) with the clock moving and
 * failing between them, and the host presetting CMOS bytes, checked
 * against the contract in rtc.h after every step.
 *
 * Input (devf_input.h): records op, sz, off, val; op % 4 ==
 *   0  port write of val at off & 1 (any off when sz & 0x80), size
 *      devf_size(sz); an index write is val & 0xff (bit 7: NMI, ignored)
 *   1  port read, offsets and sizes as for writes
 *   2  the clock: time val * 4099 s after the epoch (so years up to
 *      2500 are reached), or failing when sz & 1
 *   3  host: rtc_cmos_set(off & 0xff, val & 0xff)
 * Seeds: tests/fuzz/corpus/fuzz_rtc/, from mkseeds_devices.c.
 *
 * Checked: the clock registers read the injected time in the mode register
 * B selects (BCD digits never above 9, binary, 12h with the PM bit and
 * 12 for midnight and noon, 24h), the failing clock reads 2000-01-01;
 * guest writes never change the clock registers, C or D; register A never
 * shows UIP, C reads 0, D reads VRT; every other byte (alarms, A's rate
 * bits, B, RAM) reads back what was last written by the guest or the
 * host; rtc_cmos_set refuses the clock and status indexes; the index port
 * and accesses of another size read all-ones.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "devf_input.h"
#include "petrel/rtc.h"


struct fz {
	struct rtc r;
	bool fail;
	struct tm tm;
	uint8_t cmos[RTC_CMOS_SIZE]; /* what storage bytes should read */
	uint8_t index;
};

static int fz_now(void *opaque, struct tm *out)
{
	struct fz *z = opaque;

	if (z->fail)
		return -EIO;
	*out = z->tm;
	return 0;
}

static bool is_clock(unsigned idx)
{
	return idx <= RTC_YEAR ? !(idx & 1) || idx == RTC_DAY_OF_WEEK ||
					 idx == RTC_DAY_OF_MONTH || idx == RTC_YEAR
			       : idx == RTC_CENTURY;
}

/* One register's value read back in the mode of register B. */
static unsigned decode(const struct fz *z, uint8_t v)
{
	if (z->cmos[RTC_REG_B] & RTC_REG_B_DM_BINARY)
		return v;
	CHECK((v & 0x0f) <= 9 && (v >> 4) <= 9);
	return (v >> 4) * 10 + (v & 0x0f);
}

static void check_clock(const struct fz *z, unsigned idx, uint8_t v)
{
	struct tm tm = z->tm;
	unsigned year;

	if (z->fail) {
		memset(&tm, 0, sizeof(tm));
		tm.tm_mday = 1;
		tm.tm_year = 100;
		tm.tm_wday = 6;
	}
	year = (unsigned)tm.tm_year + 1900;
	switch (idx) {
	case RTC_SECONDS:
		CHECK(decode(z, v) == (unsigned)tm.tm_sec);
		break;
	case RTC_MINUTES:
		CHECK(decode(z, v) == (unsigned)tm.tm_min);
		break;
	case RTC_HOURS:
		if (z->cmos[RTC_REG_B] & RTC_REG_B_24H) {
			CHECK(decode(z, v) == (unsigned)tm.tm_hour);
		} else {
			unsigned h12 = decode(z, v & 0x7f);

			CHECK(h12 >= 1 && h12 <= 12);
			CHECK(!!(v & 0x80) == (tm.tm_hour >= 12));
			CHECK(h12 % 12 == (unsigned)tm.tm_hour % 12);
		}
		break;
	case RTC_DAY_OF_WEEK:
		CHECK(decode(z, v) == (unsigned)tm.tm_wday + 1);
		break;
	case RTC_DAY_OF_MONTH:
		CHECK(decode(z, v) == (unsigned)tm.tm_mday);
		break;
	case RTC_MONTH:
		CHECK(decode(z, v) == (unsigned)tm.tm_mon + 1);
		break;
	case RTC_YEAR:
		CHECK(decode(z, v) == year % 100);
		break;
	default:
		CHECK(decode(z, v) == year / 100 % 100);
		break;
	}
}

static void do_write(struct fz *z, uint64_t off, unsigned size, uint8_t v)
{
	rtc_ops.write(&z->r, off, v, size);
	if (size != 1 || off > 1)
		return;
	if (off == 0) {
		z->index = v & 0x7f;
		return;
	}
	if (is_clock(z->index) || z->index == RTC_REG_C || z->index == RTC_REG_D)
		return;
	z->cmos[z->index] = z->index == RTC_REG_A ? v & 0x7f : v;
}

static void do_read(struct fz *z, uint64_t off, unsigned size)
{
	uint64_t v = rtc_ops.read(&z->r, off, size);

	if (size != 1 || off != 1) {
		CHECK(v == ~0ULL);
		return;
	}
	CHECK(v <= 0xff);
	CHECK(z->r.index == z->index);
	if (is_clock(z->index))
		check_clock(z, z->index, (uint8_t)v);
	else if (z->index == RTC_REG_A)
		CHECK(!(v & RTC_REG_A_UIP) && v == z->cmos[RTC_REG_A]);
	else if (z->index == RTC_REG_C)
		CHECK(v == 0);
	else if (z->index == RTC_REG_D)
		CHECK(v == RTC_REG_D_VRT);
	else
		CHECK(v == z->cmos[z->index]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz *z = calloc(1, sizeof(*z));
	struct rtc_clock clock = { fz_now, z };
	time_t t = 0;

	CHECK(z && gmtime_r(&t, &z->tm));
	CHECK(rtc_init(&z->r, &clock, (struct irq_line){ NULL, 8, "rtc" }) == 0);
	z->cmos[RTC_REG_A] = RTC_REG_A_DEFAULT;
	z->cmos[RTC_REG_B] = RTC_REG_B_DEFAULT;
	for (size_t i = 0; i < size / DEVF_REC; i++) {
		struct devf_rec r = devf_get(data, i);
		uint64_t off = (r.sz & 0x80) ? r.off : (r.off & 1u);
		unsigned idx = r.off & 0xff;
		int err;

		switch (r.op % 4) {
		case 0:
			do_write(z, off, devf_size(r.sz), (uint8_t)r.val);
			break;
		case 1:
			do_read(z, off, devf_size(r.sz));
			break;
		case 2:
			z->fail = r.sz & 1;
			t = (time_t)r.val * 4099;
			CHECK(gmtime_r(&t, &z->tm));
			break;
		case 3:
			err = rtc_cmos_set(&z->r, idx, (uint8_t)r.val);
			if (idx >= RTC_CMOS_SIZE || idx <= RTC_REG_D || idx == RTC_CENTURY) {
				CHECK(err == -EINVAL);
			} else {
				CHECK(err == 0);
				z->cmos[idx] = (uint8_t)r.val;
			}
			break;
		}
	}
	rtc_destroy(&z->r);
	free(z);
	return 0;
}
