/* MC146818 CMOS RTC; see the contract in rtc.h. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "petrel/rtc.h"

#define REG_A_WRITABLE 0x7f /* UIP is read-only */

int rtc_host_clock_now(void *opaque, struct tm *out)
{
	struct timespec ts;

	(void)opaque;
	if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
		return -errno;
	return gmtime_r(&ts.tv_sec, out) ? 0 : -EOVERFLOW;
}

static const struct rtc_clock host_clock = { rtc_host_clock_now, NULL };

static bool is_clock_reg(unsigned idx)
{
	switch (idx) {
	case RTC_SECONDS:
	case RTC_MINUTES:
	case RTC_HOURS:
	case RTC_DAY_OF_WEEK:
	case RTC_DAY_OF_MONTH:
	case RTC_MONTH:
	case RTC_YEAR:
	case RTC_CENTURY:
		return true;
	default:
		return false;
	}
}

static void now(const struct rtc *r, struct tm *tm)
{
	if (r->clock.now(r->clock.opaque, tm) == 0)
		return;
	/* a clock that fails still yields a valid date: 2000-01-01, a Saturday */
	memset(tm, 0, sizeof(*tm));
	tm->tm_mday = 1;
	tm->tm_year = 100;
	tm->tm_wday = 6;
}

static uint8_t encode(const struct rtc *r, unsigned v)
{
	v %= 100; /* every field fits two BCD digits; clamp odd clocks */
	if (r->cmos[RTC_REG_B] & RTC_REG_B_DM_BINARY)
		return (uint8_t)v;
	return (uint8_t)((v / 10) << 4 | v % 10);
}

static uint8_t hours(const struct rtc *r, int h)
{
	unsigned hh = (unsigned)h % 24;

	if (r->cmos[RTC_REG_B] & RTC_REG_B_24H)
		return encode(r, hh);
	/* 12h mode: 1..12, bit 7 set for PM; midnight is 12 AM */
	return encode(r, hh % 12 ? hh % 12 : 12) | (hh >= 12 ? 0x80 : 0);
}

static uint8_t clock_read(const struct rtc *r, unsigned idx)
{
	struct tm tm;
	unsigned year;

	now(r, &tm);
	year = (unsigned)(tm.tm_year + 1900);
	switch (idx) {
	case RTC_SECONDS:
		return encode(r, (unsigned)tm.tm_sec);
	case RTC_MINUTES:
		return encode(r, (unsigned)tm.tm_min);
	case RTC_HOURS:
		return hours(r, tm.tm_hour);
	case RTC_DAY_OF_WEEK:
		return encode(r, (unsigned)tm.tm_wday % 7 + 1);
	case RTC_DAY_OF_MONTH:
		return encode(r, (unsigned)tm.tm_mday);
	case RTC_MONTH:
		return encode(r, (unsigned)tm.tm_mon + 1);
	case RTC_YEAR:
		return encode(r, year % 100);
	default: /* RTC_CENTURY */
		return encode(r, year / 100);
	}
}

static uint8_t cmos_read(struct rtc *r, unsigned idx)
{
	if (is_clock_reg(idx))
		return clock_read(r, idx);
	switch (idx) {
	case RTC_REG_A:
		return r->cmos[RTC_REG_A] & REG_A_WRITABLE; /* UIP never set */
	case RTC_REG_C:
		return 0; /* no interrupt flags: interrupts are not modelled */
	case RTC_REG_D:
		return RTC_REG_D_VRT;
	default:
		return r->cmos[idx];
	}
}

static void cmos_write(struct rtc *r, unsigned idx, uint8_t v)
{
	if (is_clock_reg(idx) || idx == RTC_REG_C || idx == RTC_REG_D)
		return;
	if (idx == RTC_REG_A)
		v &= REG_A_WRITABLE;
	r->cmos[idx] = v;
}

static uint64_t rtc_read(void *opaque, uint64_t offset, unsigned size)
{
	struct rtc *r = opaque;
	uint8_t v;

	if (size != 1 || offset != 1)
		return ~0ULL; /* the index port is write-only */
	pthread_mutex_lock(&r->lock);
	v = cmos_read(r, r->index);
	pthread_mutex_unlock(&r->lock);
	return v;
}

static void rtc_write(void *opaque, uint64_t offset, uint64_t value,
		      unsigned size)
{
	struct rtc *r = opaque;

	if (size != 1 || offset >= RTC_NR_PORTS)
		return;
	pthread_mutex_lock(&r->lock);
	if (offset == 0)
		r->index = value & 0x7f; /* bit 7 gates NMI on a PC: ignored */
	else
		cmos_write(r, r->index, (uint8_t)value);
	pthread_mutex_unlock(&r->lock);
}

const struct bus_dev_ops rtc_ops = {
	.read = rtc_read,
	.write = rtc_write,
};

int rtc_init(struct rtc *r, const struct rtc_clock *clock, struct irq_line irq)
{
	int err;

	memset(r, 0, sizeof(*r));
	err = pthread_mutex_init(&r->lock, NULL);
	if (err)
		return -err;
	r->clock = clock && clock->now ? *clock : host_clock;
	r->irq = irq;
	r->cmos[RTC_REG_A] = RTC_REG_A_DEFAULT;
	r->cmos[RTC_REG_B] = RTC_REG_B_DEFAULT;
	return 0;
}

void rtc_destroy(struct rtc *r)
{
	pthread_mutex_destroy(&r->lock);
}

int rtc_cmos_set(struct rtc *r, unsigned index, uint8_t value)
{
	if (index >= RTC_CMOS_SIZE || index <= RTC_REG_D || index == RTC_CENTURY)
		return -EINVAL;
	pthread_mutex_lock(&r->lock);
	r->cmos[index] = value;
	pthread_mutex_unlock(&r->lock);
	return 0;
}
