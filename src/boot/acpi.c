/*
 * ACPI tables (ACPI 6.0 layouts). The kernel exports no UAPI header for
 * them, so the packed structures are spelled out here with their sizes
 * checked; the host is x86 (KVM), so the little-endian layout is native.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "petrel/acpi.h"
#include "petrel/aml.h"
#include "petrel/layout.h"
#include "petrel/pci.h"
#include "petrel/util.h"

struct acpi_rsdp {
	char signature[8]; /* "RSD PTR " */
	uint8_t checksum;  /* over the first 20 bytes (the ACPI 1.0 part) */
	char oem_id[6];
	uint8_t revision;  /* 2: XSDT and the fields below are valid */
	uint32_t rsdt_address;
	uint32_t length;
	uint64_t xsdt_address;
	uint8_t extended_checksum; /* over all 36 bytes */
	uint8_t reserved[3];
} __attribute__((packed));

struct acpi_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} __attribute__((packed));

struct acpi_gas { /* Generic Address Structure */
	uint8_t space_id;    /* 1: system I/O */
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size; /* 1 byte, 2 word, 3 dword, 4 qword */
	uint64_t address;
} __attribute__((packed));

struct acpi_fadt {
	struct acpi_header h;
	uint32_t firmware_ctrl;
	uint32_t dsdt;
	uint8_t reserved0;
	uint8_t preferred_pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable, acpi_disable, s4bios_req, pstate_cnt;
	uint32_t pm1a_evt_blk, pm1b_evt_blk, pm1a_cnt_blk, pm1b_cnt_blk;
	uint32_t pm2_cnt_blk, pm_tmr_blk, gpe0_blk, gpe1_blk;
	uint8_t pm1_evt_len, pm1_cnt_len, pm2_cnt_len, pm_tmr_len;
	uint8_t gpe0_blk_len, gpe1_blk_len, gpe1_base, cst_cnt;
	uint16_t p_lvl2_lat, p_lvl3_lat, flush_size, flush_stride;
	uint8_t duty_offset, duty_width, day_alrm, mon_alrm, century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_version;
	uint64_t x_firmware_ctrl;
	uint64_t x_dsdt;
	struct acpi_gas x_pm1a_evt_blk, x_pm1b_evt_blk;
	struct acpi_gas x_pm1a_cnt_blk, x_pm1b_cnt_blk;
	struct acpi_gas x_pm2_cnt_blk, x_pm_tmr_blk;
	struct acpi_gas x_gpe0_blk, x_gpe1_blk;
	struct acpi_gas sleep_control_reg, sleep_status_reg;
	uint64_t hypervisor_vendor_id;
} __attribute__((packed));

struct acpi_facs { /* no checksum; must be 64-byte aligned */
	char signature[4];
	uint32_t length;
	uint32_t hardware_signature;
	uint32_t firmware_waking_vector;
	uint32_t global_lock;
	uint32_t flags;
	uint64_t x_firmware_waking_vector;
	uint8_t version;
	uint8_t reserved[3];
	uint32_t ospm_flags;
	uint8_t reserved2[24];
} __attribute__((packed));

struct madt_header {
	struct acpi_header h;
	uint32_t lapic_address;
	uint32_t flags;
} __attribute__((packed));

struct madt_lapic { /* type 0 */
	uint8_t type, length, processor_uid, apic_id;
	uint32_t flags;
} __attribute__((packed));

struct madt_ioapic { /* type 1 */
	uint8_t type, length, id, reserved;
	uint32_t address;
	uint32_t gsi_base;
} __attribute__((packed));

struct madt_iso { /* type 2: interrupt source override */
	uint8_t type, length, bus, source;
	uint32_t gsi;
	uint16_t flags;
} __attribute__((packed));

struct madt_lapic_nmi { /* type 4 */
	uint8_t type, length, processor_uid;
	uint16_t flags;
	uint8_t lint;
} __attribute__((packed));

_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP");
_Static_assert(sizeof(struct acpi_header) == 36, "SDT header");
_Static_assert(sizeof(struct acpi_gas) == 12, "GAS");
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT rev 6");
_Static_assert(offsetof(struct acpi_fadt, flags) == 112, "FADT flags");
_Static_assert(offsetof(struct acpi_fadt, x_dsdt) == 140, "FADT X_DSDT");
_Static_assert(offsetof(struct acpi_fadt, x_pm1a_evt_blk) == 148, "FADT X_PM1a");
_Static_assert(offsetof(struct acpi_fadt, hypervisor_vendor_id) == 268,
	       "FADT vendor id");
_Static_assert(sizeof(struct acpi_facs) == 64, "FACS");
_Static_assert(sizeof(struct madt_header) == 44, "MADT header");
_Static_assert(sizeof(struct madt_lapic) == 8, "MADT LAPIC");
_Static_assert(sizeof(struct madt_ioapic) == 12, "MADT IOAPIC");
_Static_assert(sizeof(struct madt_iso) == 10, "MADT ISO");
_Static_assert(sizeof(struct madt_lapic_nmi) == 6, "MADT LAPIC NMI");
_Static_assert(ACPI_PM_TMR_BITS == 24 || ACPI_PM_TMR_BITS == 32, "PM timer");

/* FADT flags */
#define FADT_WBINVD (1u << 0)
#define FADT_PROC_C1 (1u << 2)
#define FADT_PWR_BUTTON (1u << 4) /* set: no fixed-feature power button */
#define FADT_SLP_BUTTON (1u << 5) /* set: no fixed-feature sleep button */
#define FADT_TMR_VAL_EXT (1u << 8) /* the PM timer has 32 bits, not 24 */
#define FADT_RESET_REG_SUP (1u << 10)
/* IAPC_BOOT_ARCH */
#define BOOT_ARCH_LEGACY_DEVICES (1u << 0)
#define BOOT_ARCH_8042 (1u << 1)
#define BOOT_ARCH_VGA_NOT_PRESENT (1u << 2)
/* MADT */
#define MADT_PCAT_COMPAT (1u << 0)
#define MADT_LAPIC_ENABLED (1u << 0)
#define MPS_INTI_POLARITY_HIGH 0x1
#define MPS_INTI_TRIGGER_LEVEL 0xc
#define GAS_SYSTEM_IO 1

#define RESET_VALUE 0x06 /* CF9: full reset (bit 2) with system reset (bit 1) */
/* Latencies above 100 and 1000 us mean "no C2" and "no C3". */
#define NO_C2_LATENCY 0x0fff
#define NO_C3_LATENCY 0x0fff

/*
 * The DSDT's AML, equivalent to this ASL:
 *
 *   Name (_S5, Package (4) { 5, 0, 0, 0 })   // poweroff: SLP_TYP 5
 *   Scope (\_SB) {
 *     Device (PCI0) {                          // the PCI host bridge
 *       Name (_HID, EisaId ("PNP0A03"))
 *       Name (_UID, 0)
 *       Name (_CRS, ResourceTemplate () {
 *         WordBusNumber (0x00 - 0xff)
 *         IO (Decode16, 0xcf8, 0xcf8, 1, 8)      // config mechanism #1
 *         WordIO (0x0000 - 0x0cf7)
 *         WordIO (0x0d00 - 0xffff)
 *         DWordMemory (0x000a0000 - 0x000bffff)  // legacy VGA window
 *         DWordMemory (PCI hole - below the IOAPIC)
 *       })
 *       Name (_PRT, Package (124) {            // PCI INTx routing
 *         Package (4) { 0x0001ffff, 0, 0, 10 }  // slot 1 INTA# -> GSI 10
 *         ...                                   // slots 1..31, pins 0..3
 *       })
 *     }
 *     Device (VRT0) {                          // per virtio-mmio slot n
 *       Name (_HID, "LNRO0005")
 *       Name (_UID, 0)
 *       Name (_CRS, ResourceTemplate () {
 *         Memory32Fixed (ReadWrite, VIRTIO_MMIO_SLOT_BASE(n), 0x200)
 *         Interrupt (ResourceConsumer, Level, ActiveHigh, Exclusive)
 *           { VIRTIO_MMIO_SLOT_GSI(n) }
 *       })
 *     }
 *   }
 *
 * Without a PNP0A03 device an ACPI kernel never scans PCI at all.
 * LNRO0005 is the id Linux's virtio_mmio driver matches in ACPI; it is how
 * a kernel without CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES (Debian's) finds the
 * devices. The Interrupt descriptor is what sets the pin's trigger and
 * polarity (GSIs >= 16 have no MADT override); no _CCA: x86 DMA is
 * coherent without one.
 *
 * _PRT (ACPI 6.4, 6.2.13): one entry per slot and pin, {address
 * 0xSSSSFFFF (slot, any function), pin 0..3 = INTA#..INTD#, source 0,
 * GSI}. A source of 0 means a hard-wired GSI, which ACPI defines as
 * level-triggered, active-low and shareable: a PCI line. pci_intx_gsi()
 * is the routing, the same the MP table (mptable.c) gives.
 */
static void dsdt_virtio_mmio(struct aml *a, unsigned slot)
{
	char name[5] = { 'V', 'R', 'T', (char)('0' + slot), 0 };
	size_t dev, crs;

	dev = aml_device_open(a, name);
	aml_name(a, "_HID");
	aml_string(a, "LNRO0005");
	aml_name(a, "_UID");
	aml_integer(a, slot);
	aml_name(a, "_CRS");
	crs = aml_buffer_open(a);
	aml_res_mem32_fixed(a, true, (uint32_t)VIRTIO_MMIO_SLOT_BASE(slot),
			    (uint32_t)VIRTIO_MMIO_SIZE);
	aml_res_interrupt(a, 0 /* level, active high, exclusive */,
			  VIRTIO_MMIO_SLOT_GSI(slot));
	aml_res_end(a);
	aml_buffer_close(a, crs);
	aml_close(a, dev);
}

static void dsdt_prt(struct aml *a)
{
	size_t prt;

	aml_name(a, "_PRT");
	prt = aml_package_open(a, (PCI_MAX_DEVICES - PCI_INTX_FIRST_SLOT) * PCI_INTX_PINS);
	for (unsigned slot = PCI_INTX_FIRST_SLOT; slot < PCI_MAX_DEVICES; slot++) {
		for (unsigned pin = 0; pin < PCI_INTX_PINS; pin++) {
			size_t e = aml_package_open(a, 4);

			aml_dword(a, slot << 16 | 0xffff);
			aml_integer(a, pin);
			aml_integer(a, 0);
			aml_integer(a, pci_intx_gsi(slot, pin));
			aml_close(a, e);
		}
	}
	aml_close(a, prt);
}

_Static_assert((PCI_MAX_DEVICES - PCI_INTX_FIRST_SLOT) * PCI_INTX_PINS <= 255,
	       "a Package's NumElements is one byte");
_Static_assert(VIRTIO_MMIO_SLOTS <= 10, "VRTn names one digit");
_Static_assert(VIRTIO_MMIO_SLOT_BASE(VIRTIO_MMIO_SLOTS) <= 0x100000000ULL,
	       "Memory32Fixed");

static size_t dsdt_aml(uint8_t *buf, size_t cap, unsigned nr_mmio)
{
	struct aml a;
	size_t pkg, scope, dev, crs;

	aml_init(&a, buf, cap);
	aml_name(&a, "_S5_");
	pkg = aml_package_open(&a, 4);
	aml_integer(&a, ACPI_S5_SLP_TYP);
	aml_integer(&a, 0);
	aml_integer(&a, 0);
	aml_integer(&a, 0);
	aml_close(&a, pkg);

	scope = aml_scope_open(&a, "\\_SB_");
	dev = aml_device_open(&a, "PCI0");
	aml_name(&a, "_HID");
	aml_dword(&a, aml_eisaid("PNP0A03"));
	aml_name(&a, "_UID");
	aml_integer(&a, 0);
	aml_name(&a, "_CRS");
	crs = aml_buffer_open(&a);
	aml_res_word_bus(&a, 0x00, 0xff);
	aml_res_io(&a, PORT_PCI_CONFIG, PORT_PCI_CONFIG, 1, 8);
	aml_res_word_io(&a, 0x0000, PORT_PCI_CONFIG - 1);
	aml_res_word_io(&a, 0x0d00, 0xffff);
	aml_res_dword_mem(&a, 0x000a0000, 0x000bffff, true);
	aml_res_dword_mem(&a, (uint32_t)MEM_32BIT_HOLE_START,
			  (uint32_t)(IOAPIC_ADDR - 1), false);
	aml_res_end(&a);
	aml_buffer_close(&a, crs);
	dsdt_prt(&a);
	aml_close(&a, dev);
	for (unsigned i = 0; i < nr_mmio; i++)
		dsdt_virtio_mmio(&a, i);
	aml_close(&a, scope);
	return aml_len(&a);
}

#define DSDT_AML_MAX 4096

/* The most the DSDT can take: every virtio-mmio slot in use. */
static size_t dsdt_aml_len(void)
{
	uint8_t scratch[DSDT_AML_MAX];

	return dsdt_aml(scratch, sizeof(scratch), VIRTIO_MMIO_SLOTS);
}

/* ISA IRQ 0 -> GSI 2, SCI; both overrides; one LINT1 NMI entry. */
#define MADT_NR_ISO 2
#define MADT_FIXED_SIZE                                                   \
	(sizeof(struct madt_header) + sizeof(struct madt_ioapic) +       \
	 MADT_NR_ISO * sizeof(struct madt_iso) +                         \
	 sizeof(struct madt_lapic_nmi))
#define XSDT_ENTRIES 2 /* FADT, MADT */

/* Offsets from base, in the order written. */
struct layout {
	size_t rsdp, facs, xsdt, fadt, dsdt, madt, end;
};

static struct layout layout_for(unsigned ncpus)
{
	struct layout l;

	l.rsdp = 0;
	l.facs = ALIGN_UP(l.rsdp + sizeof(struct acpi_rsdp), 64);
	l.xsdt = ALIGN_UP(l.facs + sizeof(struct acpi_facs), 16);
	l.fadt = ALIGN_UP(l.xsdt + sizeof(struct acpi_header) +
				  XSDT_ENTRIES * sizeof(uint64_t),
			  16);
	l.dsdt = ALIGN_UP(l.fadt + sizeof(struct acpi_fadt), 16);
	l.madt = ALIGN_UP(l.dsdt + sizeof(struct acpi_header) + dsdt_aml_len(),
			  16);
	l.end = l.madt + MADT_FIXED_SIZE +
		(size_t)ncpus * sizeof(struct madt_lapic);
	return l;
}

size_t acpi_size(unsigned ncpus)
{
	return layout_for(ncpus).end;
}

unsigned acpi_max_cpus(size_t space)
{
	size_t fixed = layout_for(0).end;

	if (space < fixed)
		return 0;
	return (unsigned)MIN((space - fixed) / sizeof(struct madt_lapic),
			     (size_t)ACPI_MAX_CPUS);
}

static void header(void *table, const char *sig, uint32_t len, uint8_t rev)
{
	struct acpi_header h = {
		.length = len,
		.revision = rev,
		.oem_revision = 1,
		.creator_revision = 1,
	};

	memcpy(h.signature, sig, 4);
	memcpy(h.oem_id, ACPI_OEM_ID, 6);
	memcpy(h.oem_table_id, "PETREL  ", 8);
	memcpy(h.creator_id, "PTRL", 4);
	memcpy(table, &h, sizeof(h));
}

/* Call last, once the whole table is filled in. */
static void seal(void *table)
{
	struct acpi_header *h = table;

	h->checksum = 0;
	h->checksum = checksum8(table, h->length);
}

static struct acpi_gas io_gas(unsigned bits, uint8_t access, uint64_t port)
{
	return (struct acpi_gas){ .space_id = GAS_SYSTEM_IO,
				  .bit_width = (uint8_t)bits,
				  .access_size = access,
				  .address = port };
}

static void write_fadt(uint8_t *t, gpa_t facs, gpa_t dsdt)
{
	struct acpi_fadt f;

	memset(&f, 0, sizeof(f));
	f.firmware_ctrl = (uint32_t)facs; /* 32-bit only, as QEMU: one FACS */
	f.dsdt = (uint32_t)dsdt;
	f.x_dsdt = dsdt;
	f.sci_int = GSI_SCI;
	f.smi_cmd = 0; /* no SMM: the OS finds ACPI mode (SCI_EN) on */
	f.pm1a_evt_blk = PORT_ACPI_PM;
	f.pm1a_cnt_blk = PORT_ACPI_PM + 4;
	f.pm1_evt_len = 4;
	f.pm1_cnt_len = 2;
	/* The event block is two 16-bit registers: status, then enable. */
	f.x_pm1a_evt_blk = io_gas(32, 2, PORT_ACPI_PM);
	f.x_pm1a_cnt_blk = io_gas(16, 2, PORT_ACPI_PM + 4);
	f.pm_tmr_blk = PORT_ACPI_PM_TMR;
	f.pm_tmr_len = 4;
	f.x_pm_tmr_blk = io_gas(32, 3, PORT_ACPI_PM_TMR);
	f.p_lvl2_lat = NO_C2_LATENCY;
	f.p_lvl3_lat = NO_C3_LATENCY;
	/* century 0: the RTC model makes no promise about CMOS 0x32. */
	f.iapc_boot_arch = BOOT_ARCH_LEGACY_DEVICES | BOOT_ARCH_8042 |
			   BOOT_ARCH_VGA_NOT_PRESENT;
	/* the power button is a fixed feature (acpi_pm.c): no FADT_PWR_BUTTON */
	f.flags = FADT_WBINVD | FADT_PROC_C1 |
		  FADT_SLP_BUTTON | FADT_RESET_REG_SUP |
		  (ACPI_PM_TMR_BITS == 32 ? FADT_TMR_VAL_EXT : 0);
	f.reset_reg = io_gas(8, 1, PORT_RESET_CF9);
	f.reset_value = RESET_VALUE;
	f.minor_version = 0;
	header(&f, "FACP", sizeof(f), 6);
	memcpy(t, &f, sizeof(f));
	seal(t);
}

static void write_facs(uint8_t *t)
{
	struct acpi_facs f;

	memset(&f, 0, sizeof(f));
	memcpy(f.signature, "FACS", 4);
	f.length = sizeof(f);
	f.version = 2;
	memcpy(t, &f, sizeof(f));
}

static void write_dsdt(uint8_t *t, unsigned nr_mmio)
{
	size_t aml = dsdt_aml(t + sizeof(struct acpi_header), DSDT_AML_MAX,
			      nr_mmio);

	/* Revision 2: AML integers are 64-bit. */
	header(t, "DSDT", (uint32_t)(sizeof(struct acpi_header) + aml), 2);
	seal(t);
}

static void write_madt(uint8_t *t, unsigned ncpus)
{
	struct madt_header mh = { .lapic_address = (uint32_t)LAPIC_ADDR,
				  .flags = MADT_PCAT_COMPAT };
	uint8_t *p = t + sizeof(mh);

	for (unsigned i = 0; i < ncpus; i++) {
		struct madt_lapic e = { .type = 0, .length = sizeof(e),
					.processor_uid = (uint8_t)i,
					.apic_id = (uint8_t)i,
					.flags = MADT_LAPIC_ENABLED };
		memcpy(p, &e, sizeof(e));
		p += sizeof(e);
	}
	struct madt_ioapic io = { .type = 1, .length = sizeof(io),
				  .id = (uint8_t)ncpus,
				  .address = (uint32_t)IOAPIC_ADDR,
				  .gsi_base = 0 };
	memcpy(p, &io, sizeof(io));
	p += sizeof(io);
	/*
	 * The PIT's IRQ 0 is wired to pin 2 (pin 0 is the 8259's ExtINT), as
	 * on real chipsets and in QEMU; flags 0: ISA defaults (edge, high).
	 */
	const struct madt_iso iso[MADT_NR_ISO] = {
		{ .type = 2, .length = sizeof(struct madt_iso), .bus = 0,
		  .source = 0, .gsi = 2, .flags = 0 },
		/* The SCI is level-triggered, active high on GSI 9. */
		{ .type = 2, .length = sizeof(struct madt_iso), .bus = 0,
		  .source = GSI_SCI, .gsi = GSI_SCI,
		  .flags = MPS_INTI_POLARITY_HIGH | MPS_INTI_TRIGGER_LEVEL },
	};
	memcpy(p, iso, sizeof(iso));
	p += sizeof(iso);
	struct madt_lapic_nmi nmi = { .type = 4, .length = sizeof(nmi),
				      .processor_uid = 0xff, .flags = 0,
				      .lint = 1 };
	memcpy(p, &nmi, sizeof(nmi));
	p += sizeof(nmi);

	/* Revision 3 (ACPI 5.0/6.0): no "online capable" semantics. */
	header(&mh, "APIC", (uint32_t)(p - t), 3);
	memcpy(t, &mh, sizeof(mh));
	seal(t);
}

static void write_xsdt(uint8_t *t, const gpa_t *entries, unsigned n)
{
	header(t, "XSDT",
	       (uint32_t)(sizeof(struct acpi_header) + n * sizeof(uint64_t)),
	       1);
	memcpy(t + sizeof(struct acpi_header), entries, n * sizeof(uint64_t));
	seal(t);
}

static void write_rsdp(uint8_t *t, gpa_t xsdt)
{
	struct acpi_rsdp r;

	memset(&r, 0, sizeof(r));
	memcpy(r.signature, "RSD PTR ", 8);
	memcpy(r.oem_id, ACPI_OEM_ID, 6);
	r.revision = 2;
	r.rsdt_address = 0; /* XSDT only, like Firecracker and Cloud Hypervisor */
	r.length = sizeof(r);
	r.xsdt_address = xsdt;
	r.checksum = checksum8(&r, 20);
	r.extended_checksum = checksum8(&r, sizeof(r));
	memcpy(t, &r, sizeof(r));
}

int acpi_write(const struct guest_mem *m, gpa_t base, size_t space,
	       const struct acpi_cfg *cfg, gpa_t *rsdp_out)
{
	struct layout l;
	uint8_t *p;

	if (!cfg || cfg->ncpus == 0 || cfg->nr_virtio_mmio > VIRTIO_MMIO_SLOTS ||
	    base % 64 ||
	    base + space > 4 * GiB || base + space < base)
		return -EINVAL;
	if (cfg->ncpus > acpi_max_cpus(space))
		return -ENOSPC;
	l = layout_for(cfg->ncpus);
	p = gpa_ptr(m, base, space);
	if (!p)
		return -EFAULT;
	/* No stale "RSD PTR " for the kernel's scan to trip over. */
	memset(p, 0, space);

	write_facs(p + l.facs);
	write_dsdt(p + l.dsdt, cfg->nr_virtio_mmio);
	write_fadt(p + l.fadt, base + l.facs, base + l.dsdt);
	write_madt(p + l.madt, cfg->ncpus);
	const gpa_t xsdt_entries[XSDT_ENTRIES] = { base + l.fadt,
						   base + l.madt };
	write_xsdt(p + l.xsdt, xsdt_entries, XSDT_ENTRIES);
	write_rsdp(p + l.rsdp, base + l.xsdt);
	if (rsdp_out)
		*rsdp_out = base + l.rsdp;
	return 0;
}
