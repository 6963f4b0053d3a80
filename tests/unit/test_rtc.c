#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "petrel/bus.h"
#include "petrel/layout.h"
#include "petrel/rtc.h"

struct fx {
	struct tm tm;   /* what the fake clock reports */
	int fail;       /* make the clock fail with this -errno */
	unsigned calls;
	struct rtc r;
};

static int fake_now(void *opaque, struct tm *out)
{
	struct fx *f = opaque;

	f->calls++;
	if (f->fail)
		return f->fail;
	*out = f->tm;
	return 0;
}

static void set_time(struct fx *f, int y, int mon, int d, int h, int mi, int s,
		     int wday)
{
	memset(&f->tm, 0, sizeof(f->tm));
	f->tm.tm_year = y - 1900;
	f->tm.tm_mon = mon - 1;
	f->tm.tm_mday = d;
	f->tm.tm_hour = h;
	f->tm.tm_min = mi;
	f->tm.tm_sec = s;
	f->tm.tm_wday = wday;
}

static int setup(void **state)
{
	struct fx *f = test_calloc(1, sizeof(*f));
	struct rtc_clock c = { fake_now, f };

	set_time(f, 2026, 3, 14, 15, 9, 26, 6); /* Saturday */
	assert_int_equal(rtc_init(&f->r, &c, (struct irq_line){ NULL, GSI_RTC, "rtc" }), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	rtc_destroy(&f->r);
	test_free(f);
	return 0;
}

static uint8_t cmos_in(struct fx *f, uint8_t idx)
{
	rtc_ops.write(&f->r, 0, idx, 1);
	return (uint8_t)rtc_ops.read(&f->r, 1, 1);
}

static void cmos_out(struct fx *f, uint8_t idx, uint8_t v)
{
	rtc_ops.write(&f->r, 0, idx, 1);
	rtc_ops.write(&f->r, 1, v, 1);
}

static void test_bcd_24h(void **state)
{
	struct fx *f = *state;

	assert_int_equal(cmos_in(f, RTC_SECONDS), 0x26);
	assert_int_equal(cmos_in(f, RTC_MINUTES), 0x09);
	assert_int_equal(cmos_in(f, RTC_HOURS), 0x15);
	assert_int_equal(cmos_in(f, RTC_DAY_OF_WEEK), 0x07); /* Saturday */
	assert_int_equal(cmos_in(f, RTC_DAY_OF_MONTH), 0x14);
	assert_int_equal(cmos_in(f, RTC_MONTH), 0x03);
	assert_int_equal(cmos_in(f, RTC_YEAR), 0x26);
	assert_int_equal(cmos_in(f, RTC_CENTURY), 0x20);
	assert_int_equal(f->calls, 8); /* the clock is read at each read */
}

static void test_binary(void **state)
{
	struct fx *f = *state;

	cmos_out(f, RTC_REG_B, RTC_REG_B_24H | RTC_REG_B_DM_BINARY);
	set_time(f, 2026, 12, 31, 23, 59, 58, 4);
	assert_int_equal(cmos_in(f, RTC_SECONDS), 58);
	assert_int_equal(cmos_in(f, RTC_MINUTES), 59);
	assert_int_equal(cmos_in(f, RTC_HOURS), 23);
	assert_int_equal(cmos_in(f, RTC_DAY_OF_WEEK), 5); /* Thursday */
	assert_int_equal(cmos_in(f, RTC_DAY_OF_MONTH), 31);
	assert_int_equal(cmos_in(f, RTC_MONTH), 12);
	assert_int_equal(cmos_in(f, RTC_YEAR), 26);
	assert_int_equal(cmos_in(f, RTC_CENTURY), 20);
	/* the clock moves on: the next read shows it */
	set_time(f, 2099, 1, 1, 0, 0, 0, 4);
	assert_int_equal(cmos_in(f, RTC_YEAR), 99);
	assert_int_equal(cmos_in(f, RTC_MONTH), 1);
}

static void test_12h(void **state)
{
	struct fx *f = *state;
	static const struct {
		int hour;
		uint8_t bcd, bin;
	} cases[] = {
		{ 0, 0x12, 12 },          /* midnight: 12 AM */
		{ 1, 0x01, 1 },
		{ 11, 0x11, 11 },
		{ 12, 0x92, 0x80 | 12 },  /* noon: 12 PM */
		{ 13, 0x81, 0x80 | 1 },
		{ 15, 0x83, 0x80 | 3 },
		{ 23, 0x91, 0x80 | 11 },
	};

	cmos_out(f, RTC_REG_B, 0); /* BCD, 12h */
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		set_time(f, 2026, 3, 14, cases[i].hour, 0, 0, 6);
		assert_int_equal(cmos_in(f, RTC_HOURS), cases[i].bcd);
	}
	cmos_out(f, RTC_REG_B, RTC_REG_B_DM_BINARY); /* binary, 12h */
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		set_time(f, 2026, 3, 14, cases[i].hour, 0, 0, 6);
		assert_int_equal(cmos_in(f, RTC_HOURS), cases[i].bin);
	}
}

static void test_status_registers(void **state)
{
	struct fx *f = *state;

	assert_int_equal(cmos_in(f, RTC_REG_A), 0x26);
	assert_int_equal(cmos_in(f, RTC_REG_B), 0x02);
	assert_int_equal(cmos_in(f, RTC_REG_C), 0x00);
	assert_int_equal(cmos_in(f, RTC_REG_D), 0x80);
	/* UIP is read-only and never set: a wait-for-UIP loop ends */
	cmos_out(f, RTC_REG_A, 0xa6);
	assert_int_equal(cmos_in(f, RTC_REG_A), 0x26);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(cmos_in(f, RTC_REG_A) & RTC_REG_A_UIP, 0);
	cmos_out(f, RTC_REG_C, 0xff);
	cmos_out(f, RTC_REG_D, 0x00);
	assert_int_equal(cmos_in(f, RTC_REG_C), 0x00);
	assert_int_equal(cmos_in(f, RTC_REG_D), 0x80);
	cmos_out(f, RTC_REG_B, 0x86); /* SET, binary, 24h */
	assert_int_equal(cmos_in(f, RTC_REG_B), 0x86);
}

static void test_time_writes_ignored(void **state)
{
	struct fx *f = *state;

	cmos_out(f, RTC_REG_B, 0x82); /* SET while "programming" the clock */
	cmos_out(f, RTC_SECONDS, 0x00);
	cmos_out(f, RTC_HOURS, 0x01);
	cmos_out(f, RTC_YEAR, 0x99);
	cmos_out(f, RTC_CENTURY, 0x19);
	cmos_out(f, RTC_REG_B, 0x02);
	assert_int_equal(cmos_in(f, RTC_SECONDS), 0x26);
	assert_int_equal(cmos_in(f, RTC_HOURS), 0x15);
	assert_int_equal(cmos_in(f, RTC_YEAR), 0x26);
	assert_int_equal(cmos_in(f, RTC_CENTURY), 0x20);
	/* alarms are plain storage */
	cmos_out(f, RTC_SECONDS_ALARM, 0x30);
	cmos_out(f, RTC_MINUTES_ALARM, 0x31);
	cmos_out(f, RTC_HOURS_ALARM, 0x32);
	assert_int_equal(cmos_in(f, RTC_SECONDS_ALARM), 0x30);
	assert_int_equal(cmos_in(f, RTC_MINUTES_ALARM), 0x31);
	assert_int_equal(cmos_in(f, RTC_HOURS_ALARM), 0x32);
}

static void test_cmos_ram(void **state)
{
	struct fx *f = *state;

	for (unsigned i = 0x0e; i < RTC_CMOS_SIZE; i++) {
		if (i != RTC_CENTURY)
			cmos_out(f, (uint8_t)i, (uint8_t)(i * 7 + 1));
	}
	for (unsigned i = 0x0e; i < RTC_CMOS_SIZE; i++) {
		if (i != RTC_CENTURY)
			assert_int_equal(cmos_in(f, (uint8_t)i), (uint8_t)(i * 7 + 1));
	}
	/* bit 7 of the index (NMI disable) selects nothing */
	assert_int_equal(cmos_in(f, 0x80 | 0x40), (uint8_t)(0x40 * 7 + 1));
	assert_int_equal(cmos_in(f, 0x80 | RTC_SECONDS), 0x26);
	cmos_out(f, 0x80 | 0x50, 0x5a);
	assert_int_equal(cmos_in(f, 0x50), 0x5a);
}

static void test_host_preset(void **state)
{
	struct fx *f = *state;

	assert_int_equal(rtc_cmos_set(&f->r, 0x34, 0xab), 0);
	assert_int_equal(cmos_in(f, 0x34), 0xab);
	assert_int_equal(rtc_cmos_set(&f->r, RTC_SECONDS, 1), -EINVAL);
	assert_int_equal(rtc_cmos_set(&f->r, RTC_REG_D, 1), -EINVAL);
	assert_int_equal(rtc_cmos_set(&f->r, RTC_CENTURY, 1), -EINVAL);
	assert_int_equal(rtc_cmos_set(&f->r, RTC_CMOS_SIZE, 1), -EINVAL);
	assert_int_equal(rtc_cmos_set(&f->r, 0x7f, 1), 0);
}

static void test_failing_clock(void **state)
{
	struct fx *f = *state;

	f->fail = -EIO;
	assert_int_equal(cmos_in(f, RTC_YEAR), 0x00);
	assert_int_equal(cmos_in(f, RTC_CENTURY), 0x20);
	assert_int_equal(cmos_in(f, RTC_MONTH), 0x01);
	assert_int_equal(cmos_in(f, RTC_DAY_OF_MONTH), 0x01);
	assert_int_equal(cmos_in(f, RTC_DAY_OF_WEEK), 0x07);
}

static void test_ports_and_sizes(void **state)
{
	struct fx *f = *state;
	struct bus b;
	uint8_t v;
	uint16_t w = 0;

	assert_int_equal(rtc_ops.read(&f->r, 0, 1), ~0ULL); /* index: write-only */
	assert_int_equal(rtc_ops.read(&f->r, 1, 2), ~0ULL);
	assert_int_equal(rtc_ops.read(&f->r, 2, 1), ~0ULL);
	rtc_ops.write(&f->r, 0, 0x40, 1);
	rtc_ops.write(&f->r, 1, 0x11, 2); /* ignored */
	rtc_ops.write(&f->r, 2, 0x22, 1); /* ignored */
	assert_int_equal(rtc_ops.read(&f->r, 1, 1), 0x00);

	bus_init(&b, "pio");
	assert_int_equal(bus_insert(&b, PORT_RTC, RTC_NR_PORTS, &rtc_ops, &f->r,
				    "rtc"), 0);
	v = RTC_MINUTES | 0x80;
	assert_int_equal(bus_write(&b, PORT_RTC, &v, 1), 1);
	assert_int_equal(bus_read(&b, PORT_RTC + 1, &v, 1), 1);
	assert_int_equal(v, 0x09);
	assert_int_equal(bus_read(&b, PORT_RTC, &w, 2), 1);
	assert_int_equal(w, 0xffff);
	bus_destroy(&b);
}

static void test_host_clock(void **state)
{
	(void)state;
	struct rtc r;
	struct tm tm;
	uint8_t c, y;

	assert_int_equal(rtc_init(&r, NULL, (struct irq_line){ NULL, GSI_RTC, "rtc" }), 0);
	assert_int_equal(rtc_host_clock_now(NULL, &tm), 0);
	rtc_ops.write(&r, 0, RTC_CENTURY, 1);
	c = (uint8_t)rtc_ops.read(&r, 1, 1);
	rtc_ops.write(&r, 0, RTC_YEAR, 1);
	y = (uint8_t)rtc_ops.read(&r, 1, 1);
	int year = ((c >> 4) * 10 + (c & 15)) * 100 + (y >> 4) * 10 + (y & 15);
	assert_in_range(year, tm.tm_year + 1900 - 1, tm.tm_year + 1900 + 1);
	assert_true(year >= 2024);
	rtc_destroy(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_bcd_24h),
		T(test_binary),
		T(test_12h),
		T(test_status_registers),
		T(test_time_writes_ignored),
		T(test_cmos_ram),
		T(test_host_preset),
		T(test_failing_clock),
		T(test_ports_and_sizes),
		cmocka_unit_test(test_host_clock),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
