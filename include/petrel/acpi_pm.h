/*
 * The ACPI PM1a register blocks the FADT points at (acpi.h), one PIO bus
 * range of PORT_ACPI_PM_LEN bytes at PORT_ACPI_PM:
 *   +0  PM1_STS  16 bits, write 1 to clear
 *   +2  PM1_EN   16 bits, read/write
 *   +4  PM1_CNT  16 bits: SCI_EN (bit 0) always reads 1, because there is
 *       no SMI_CMD to switch ACPI mode on or off; SLP_TYP (bits 10-12)
 *       read/write; SLP_EN (bit 13) and GBL_RLS (bit 2) write-only
 *   +6  reserved: reads 0, writes ignored
 * Accesses of any size at any offset are split into bytes, so a guest
 * doing byte or dword accesses sees the same registers.
 *
 * A PM1_CNT write with SLP_EN set and SLP_TYP == ACPI_S5_SLP_TYP (the
 * value of \_S5 in our DSDT) calls power_request(POWER_OFF, "acpi"). Other
 * SLP_TYP values (S1-S4 are not in the DSDT, so no OS asks for them) only
 * update the register: petrel has no sleep states.
 *
 * One fixed event is modelled: the power button (PWRBTN_STS/PWRBTN_EN,
 * bit 8 of PM1_STS/PM1_EN; the FADT says it is a fixed feature).
 * acpi_pm_power_button() sets PWRBTN_STS; the SCI is high while any
 * status bit is set whose enable bit is set (ACPI 4.8.3.1), so the guest
 * sees it once its OSPM enables the event and until it clears the status.
 * The PM timer (pm_timer.h) does not model TMR_STS.
 *
 * Every vCPU thread may access the block at once, and each write is a
 * read-modify-write of a 16-bit register (a byte of PM1_EN, a W1C of
 * PM1_STS, SLP_TYP kept across writes of PM1_CNT), so all register state
 * is read and written under lock; power_request() is called without it.
 */
#ifndef PETREL_ACPI_PM_H
#define PETREL_ACPI_PM_H

#include <pthread.h>
#include <stdint.h>

#include "petrel/bus.h"
#include "petrel/irq.h"
#include "petrel/power.h"

#define ACPI_PM1_STS 0
#define ACPI_PM1_EN 2
#define ACPI_PM1_CNT 4
#define ACPI_PM1_PWRBTN (1u << 8) /* PWRBTN_STS in PM1_STS, PWRBTN_EN in PM1_EN */
#define ACPI_PM1_CNT_SCI_EN (1u << 0)
#define ACPI_PM1_CNT_GBL_RLS (1u << 2)
#define ACPI_PM1_CNT_SLP_TYP_SHIFT 10
#define ACPI_PM1_CNT_SLP_TYP_MASK (7u << ACPI_PM1_CNT_SLP_TYP_SHIFT)
#define ACPI_PM1_CNT_SLP_EN (1u << 13)

struct acpi_pm {
	pthread_mutex_t lock; /* guards sts, en, cnt */
	uint16_t sts, en, cnt;
	int sci_level; /* what the line was last set to */
	struct irq_line sci;
	struct power_ctl power;
};

/*
 * Resets the registers and keeps sci and power. 0, -EINVAL, or the
 * error of pthread_mutex_init. Pair with acpi_pm_destroy().
 */
int acpi_pm_init(struct acpi_pm *pm, struct irq_line sci,
		 struct power_ctl power);
void acpi_pm_destroy(struct acpi_pm *pm);

/* Presses the power button (the control API's shutdown). Any thread. */
void acpi_pm_power_button(struct acpi_pm *pm);

/* Insert with opaque = the struct acpi_pm, at PORT_ACPI_PM, PORT_ACPI_PM_LEN. */
extern const struct bus_dev_ops acpi_pm_ops;

#endif
