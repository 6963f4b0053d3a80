/*
 * Small legacy PC ports that do not deserve a file each.
 *
 * Reset Control Register at port 0xCF9 (Intel PIIX/ICH). Writing it with
 * bit 2 (RST_CPU) set resets the machine; bit 1 chooses hard or soft reset
 * and bit 3 a full reset, which makes no difference to petrel: every reset
 * becomes power_request(POWER_RESET, "cf9"), once per such write. Bits 1
 * and 3 read back; bit 2 reads 0, as it self-clears on hardware.
 *
 * Wiring: 0xCF9 lies inside the PCI config address register (0xCF8, 4
 * bytes), so it cannot be a bus range of its own. The PCI host owns
 * 0xCF8..0xCFF and forwards byte accesses to 0xCF9 here (see
 * pci_host_set_cf9() in pci.h). legacy_cf9_ops is called with offset 0.
 */
#ifndef PETREL_LEGACY_H
#define PETREL_LEGACY_H

#include <stdatomic.h>

#include "petrel/bus.h"
#include "petrel/power.h"

struct legacy_cf9 {
	atomic_uchar value;
	struct power_ctl power;
};

void legacy_cf9_init(struct legacy_cf9 *r, struct power_ctl power);

extern const struct bus_dev_ops legacy_cf9_ops;

#endif
