/*
 * CMOS real-time clock (MC146818) with its 128-byte CMOS.
 *
 * Wiring: one PIO range at PORT_RTC (0x70), len 2, rtc_ops, opaque =
 * struct rtc *: offset 0 is the index port (bit 7, NMI disable, is
 * ignored; reads return 0xFF as the port is write-only), offset 1 the data
 * port. 1-byte accesses only. The IRQ line (GSI_RTC) is kept for the
 * periodic/alarm/update interrupts, which are not modelled yet: it is
 * never raised.
 *
 * Contract:
 * - The clock registers (0x00 seconds ... 0x09 year, 0x32 century) show
 *   the injected clock's time at the moment of each read, in BCD or binary
 *   per register B bit 2 (DM) and 24h/12h per bit 1 (12h: bit 7 = PM).
 * - Writes to the clock and century registers are ignored: the guest
 *   cannot move petrel's notion of time (an NTP "RTC sync" or
 *   `hwclock --systohc` in the guest is a harmless no-op).
 * - Register A never reports update-in-progress (UIP reads 0), so loops
 *   that wait for UIP to clear finish at once. Register C reads 0 (no
 *   interrupt flags), register D reads 0x80 (VRT: battery good).
 * - Alarm registers, A (bits 6:0), B and the RAM bytes 0x0E..0x7F (other
 *   than 0x32) are plain storage.
 */
#ifndef PETREL_RTC_H
#define PETREL_RTC_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "petrel/bus.h"
#include "petrel/irq.h"

#define RTC_CMOS_SIZE 128
#define RTC_NR_PORTS 2

/* CMOS indexes */
#define RTC_SECONDS 0x00
#define RTC_SECONDS_ALARM 0x01
#define RTC_MINUTES 0x02
#define RTC_MINUTES_ALARM 0x03
#define RTC_HOURS 0x04
#define RTC_HOURS_ALARM 0x05
#define RTC_DAY_OF_WEEK 0x06 /* 1 = Sunday */
#define RTC_DAY_OF_MONTH 0x07
#define RTC_MONTH 0x08
#define RTC_YEAR 0x09
#define RTC_REG_A 0x0a
#define RTC_REG_B 0x0b
#define RTC_REG_C 0x0c
#define RTC_REG_D 0x0d
#define RTC_CENTURY 0x32 /* the index petrel's FADT names */

#define RTC_REG_A_UIP 0x80
#define RTC_REG_B_SET 0x80
#define RTC_REG_B_DM_BINARY 0x04
#define RTC_REG_B_24H 0x02
#define RTC_REG_D_VRT 0x80

#define RTC_REG_A_DEFAULT 0x26 /* 32.768 kHz time base, 1024 Hz rate */
#define RTC_REG_B_DEFAULT RTC_REG_B_24H /* BCD, 24h: what PC firmware sets */

struct rtc_clock {
	/* Fill *out with the current UTC time; 0 or -errno. */
	int (*now)(void *opaque, struct tm *out);
	void *opaque;
};

struct rtc {
	pthread_mutex_t lock;
	struct rtc_clock clock;
	struct irq_line irq; /* reserved for RTC interrupts; not raised */
	uint8_t index;
	uint8_t cmos[RTC_CMOS_SIZE];
};

/* The default clock: the host's UTC time (clock_gettime + gmtime_r). */
int rtc_host_clock_now(void *opaque, struct tm *out);

/* clock == NULL selects rtc_host_clock_now. 0 or -errno. */
int rtc_init(struct rtc *r, const struct rtc_clock *clock, struct irq_line irq);
void rtc_destroy(struct rtc *r);

/*
 * Host side: preset a CMOS RAM byte before the guest runs (memory sizes at
 * 0x34/0x35 and 0x5B..0x5D, for instance). 0, or -EINVAL for indexes
 * 0x00..0x0D, the century byte and indexes past the CMOS.
 */
int rtc_cmos_set(struct rtc *r, unsigned index, uint8_t value);

extern const struct bus_dev_ops rtc_ops;

#endif
