/*
 * ACPI PM1a event and control blocks (ACPI 6.x, 4.8.3 "PM1 Event
 * Grouping" and "PM1 Control Grouping"). See acpi_pm.h for the contract.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "petrel/acpi.h"
#include "petrel/acpi_pm.h"
#include "petrel/layout.h"

#define NR_REGS (PORT_ACPI_PM_LEN / 2) /* STS, EN, CNT, reserved */
_Static_assert(PORT_ACPI_PM_LEN == 8, "PM1a blocks: 4 + 2 bytes + 2 reserved");

/* Bits of PM1_CNT that read back as 0: they are commands, not state. */
#define CNT_WRITE_ONLY (ACPI_PM1_CNT_SLP_EN | ACPI_PM1_CNT_GBL_RLS)

int acpi_pm_init(struct acpi_pm *pm, struct irq_line sci,
		 struct power_ctl power)
{
	int err;

	if (!pm)
		return -EINVAL;
	memset(pm, 0, sizeof(*pm));
	err = pthread_mutex_init(&pm->lock, NULL);
	if (err)
		return -err;
	pm->sci = sci;
	pm->power = power;
	return 0;
}

void acpi_pm_destroy(struct acpi_pm *pm)
{
	pthread_mutex_destroy(&pm->lock);
}

/* Called with pm->lock held: the SCI follows STS & EN (fixed events). */
static void update_sci(struct acpi_pm *pm)
{
	int level = (pm->sts & pm->en & ACPI_PM1_PWRBTN) ? 1 : 0;

	if (level != pm->sci_level) {
		pm->sci_level = level;
		irq_line_set(&pm->sci, level);
	}
}

void acpi_pm_power_button(struct acpi_pm *pm)
{
	pthread_mutex_lock(&pm->lock);
	pm->sts |= ACPI_PM1_PWRBTN;
	update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
}

static uint16_t reg_read(const struct acpi_pm *pm, unsigned reg)
{
	switch (reg * 2) {
	case ACPI_PM1_STS:
		return pm->sts;
	case ACPI_PM1_EN:
		return pm->en;
	case ACPI_PM1_CNT:
		/* No SMI_CMD in the FADT: the machine is always in ACPI mode. */
		return pm->cnt | ACPI_PM1_CNT_SCI_EN;
	default:
		return 0;
	}
}

/* Called with pm->lock held; returns true when the write asks for S5. */
static bool cnt_write(struct acpi_pm *pm, uint16_t val, uint16_t mask)
{
	uint16_t cnt = (uint16_t)((pm->cnt & ~mask) | (val & mask));

	pm->cnt = cnt & (uint16_t)~(CNT_WRITE_ONLY | ACPI_PM1_CNT_SCI_EN);
	if (!(cnt & ACPI_PM1_CNT_SLP_EN))
		return false;
	/*
	 * Only S5 means anything to petrel. The DSDT declares no other
	 * sleep state, so an OS has no SLP_TYP for S1-S4; a stray value is
	 * ignored rather than guessed at.
	 */
	return ((cnt & ACPI_PM1_CNT_SLP_TYP_MASK) >> ACPI_PM1_CNT_SLP_TYP_SHIFT) ==
	       ACPI_S5_SLP_TYP;
}

static uint64_t acpi_pm_read(void *opaque, uint64_t offset, unsigned size)
{
	struct acpi_pm *pm = opaque;
	uint64_t v = 0;

	/* one lock for the whole access: a dword read sees one moment */
	pthread_mutex_lock(&pm->lock);
	for (unsigned i = 0; i < size && i < 8; i++) {
		uint64_t off = offset + i;
		uint8_t b = 0xff; /* past the block: like an unclaimed port */

		if (offset < PORT_ACPI_PM_LEN && i < PORT_ACPI_PM_LEN - offset)
			b = (uint8_t)(reg_read(pm, (unsigned)(off / 2)) >>
				      (off % 2 * 8));
		v |= (uint64_t)b << (i * 8);
	}
	pthread_mutex_unlock(&pm->lock);
	return v;
}

static void acpi_pm_write(void *opaque, uint64_t offset, uint64_t value,
			  unsigned size)
{
	struct acpi_pm *pm = opaque;
	uint16_t val[NR_REGS] = { 0 }, mask[NR_REGS] = { 0 };
	bool s5 = false;

	/*
	 * Gather the bytes per 16-bit register first, so that a word or
	 * dword write acts on each register once (SLP_TYP and SLP_EN share
	 * a byte, but a guest may also write PM1_CNT as two bytes).
	 */
	for (unsigned i = 0; i < size && i < 8; i++) {
		if (offset >= PORT_ACPI_PM_LEN || i >= PORT_ACPI_PM_LEN - offset)
			break;
		uint64_t off = offset + i;
		unsigned shift = (unsigned)(off % 2 * 8);

		val[off / 2] |= (uint16_t)(((value >> (i * 8)) & 0xff) << shift);
		mask[off / 2] |= (uint16_t)(0xff << shift);
	}
	pthread_mutex_lock(&pm->lock);
	pm->sts &= (uint16_t)~(val[ACPI_PM1_STS / 2] & mask[ACPI_PM1_STS / 2]);
	pm->en = (uint16_t)((pm->en & ~mask[ACPI_PM1_EN / 2]) |
			    (val[ACPI_PM1_EN / 2] & mask[ACPI_PM1_EN / 2]));
	if (mask[ACPI_PM1_CNT / 2])
		s5 = cnt_write(pm, val[ACPI_PM1_CNT / 2], mask[ACPI_PM1_CNT / 2]);
	update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
	/* outside the lock: the VM stops its vCPUs from this callback */
	if (s5)
		power_request(&pm->power, POWER_OFF, "acpi");
}

const struct bus_dev_ops acpi_pm_ops = {
	.read = acpi_pm_read,
	.write = acpi_pm_write,
};
