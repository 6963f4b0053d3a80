/*
 * Where petrel puts things in guest-physical memory and I/O space. One file,
 * so the loaders, the firmware tables and the e820 map agree.
 *
 *   0x00000500  boot GDT
 *   0x00007000  boot_params (the "zero page")
 *   0x00009000  PML4, then PDPT at 0xA000, PDs at 0xB000..0xEFFF:
 *               identity map of the first 4 GiB with 2 MiB pages
 *   0x00020000  kernel command line (up to BOOT_CMDLINE_MAX bytes)
 *   0x0009fc00  EBDA (reserved, empty)
 *   0x000e0000  ACPI tables, RSDP first (reserved in e820)
 *   0x000f0000  MP floating pointer and MP table (in the reserved BIOS area,
 *               which Linux scans; the 1 KiB EBDA would not hold its PCI routing)
 *   0x00100000  in-guest-decompressor bzImage load address
 *   0x01000000  a vmlinux is loaded at its own physical addresses (16 MiB)
 *   top of low RAM: the initrd, as high as the kernel allows
 *
 * Each area petrel fills is a boot plan segment (boot_plan.h); the plan
 * refuses a kernel or initrd that would overlap one, or lie outside RAM.
 */
#ifndef PETREL_LAYOUT_H
#define PETREL_LAYOUT_H

#define BOOT_GDT_ADDR 0x500ULL
#define BOOT_PARAMS_ADDR 0x7000ULL
#define BOOT_PML4_ADDR 0x9000ULL
#define BOOT_PDPT_ADDR 0xA000ULL
#define BOOT_PD_ADDR 0xB000ULL /* four pages: 0xB000..0xEFFF */
#define BOOT_STACK_TOP 0x8ff0ULL
#define BOOT_CMDLINE_ADDR 0x20000ULL
#define BOOT_CMDLINE_MAX 0x10000ULL

#define EBDA_START 0x9fc00ULL
#define MPTABLE_ADDR 0xf0000ULL
#define MPTABLE_SPACE 0x10000ULL
#define ACPI_TABLES_ADDR 0xe0000ULL
#define ACPI_TABLES_SIZE 0x10000ULL
#define BIOS_AREA_START 0xa0000ULL /* VGA hole + ROM area: not RAM in e820 */
#define HIGH_MEMORY_START 0x100000ULL

#define BZIMAGE_LOAD_ADDR 0x100000ULL

/* Interrupt controllers, at the addresses every x86 OS expects. */
#define IOAPIC_ADDR 0xfec00000ULL
#define LAPIC_ADDR 0xfee00000ULL
#define IOAPIC_PINS 24

/* ISA interrupt lines (GSIs) of the legacy devices. */
#define GSI_SERIAL0 4  /* COM1 */
#define GSI_SERIAL1 3  /* COM2 */
#define GSI_RTC 8
#define GSI_SCI 9      /* ACPI system control interrupt */
#define GSI_KBD 1
#define GSI_MOUSE 12

/*
 * virtio-mmio devices (virtio_mmio.h): slot i is a VIRTIO_MMIO_SIZE window
 * at VIRTIO_MMIO_SLOT_BASE(i) raising IOAPIC pin VIRTIO_MMIO_SLOT_GSI(i).
 *
 * The windows lie in the 32-bit PCI hole (MEM_32BIT_HOLE_START..IOAPIC_ADDR)
 * above the PCI BAR window 0xc0000000..0xcfffffff, one page apart so each
 * device could be trapped or mapped alone. The pins are 16..23: IOAPIC-only
 * (irqchip_kvm routes them to no 8259), no ISA IRQ, so neither an MADT
 * override nor an ISA default applies and the DSDT's _CRS alone says
 * "level, active high". KVM's IOAPIC honours whatever polarity the guest
 * programs (KVM_IRQ_LINE level 1 means asserted either way), so a guest
 * that guesses otherwise still gets its interrupts. Eight pins, eight
 * slots: more mmio devices than that are refused (virtio_mmio_slots).
 */
#define VIRTIO_MMIO_BASE 0xd0000000ULL
#define VIRTIO_MMIO_STRIDE 0x1000ULL
#define VIRTIO_MMIO_SIZE 0x200ULL
#define VIRTIO_MMIO_GSI_BASE 16
#define VIRTIO_MMIO_SLOTS 8
#define VIRTIO_MMIO_SLOT_BASE(i) \
	(VIRTIO_MMIO_BASE + (unsigned long long)(i) * VIRTIO_MMIO_STRIDE)
#define VIRTIO_MMIO_SLOT_GSI(i) (VIRTIO_MMIO_GSI_BASE + (unsigned)(i))

/*
 * PCI INTx (pci_intx_gsi() in pci.h): the pin of slot s's INTx# pin p
 * (INTA..INTD = 0..3) after the usual swizzle ((s + p) % 4, what a
 * riser or a PCI-to-PCI bridge does to spread functions over four
 * wires), and that wire's GSI: A and B share PCI_INTX_GSI_AB, C and D
 * PCI_INTX_GSI_CD, as QEMU's PIIX link routing does by default (10, 10,
 * 11, 11). Why 10 and 11: they are the ISA lines no PC device claims
 * (0/2 PIT, 1 keyboard, 3/4 serial, 8 RTC, 9 SCI, 12 mouse are used
 * here), and 16..23 belong to the virtio-mmio slots. A PCI line is
 * shared, level-triggered and active-low; the DSDT's _PRT and the MP
 * table both say so, and their ELCR bits are set as firmware would.
 * KVM's IOAPIC takes KVM_IRQ_LINE level 1 as "asserted" whatever the
 * polarity, so a device raises its line with 1 as everywhere else.
 */
#define PCI_INTX_GSI_AB 10
#define PCI_INTX_GSI_CD 11
#define PCI_INTX_ELCR ((1u << PCI_INTX_GSI_AB) | (1u << PCI_INTX_GSI_CD))

/* I/O ports of the legacy devices. */
#define PORT_SERIAL0 0x3f8
#define PORT_SERIAL1 0x2f8
#define PORT_I8042_DATA 0x60
#define PORT_I8042_CMD 0x64
#define PORT_RTC 0x70
#define PORT_ACPI_PM 0x600   /* PM1a_EVT at +0 (4 bytes), PM1a_CNT at +4 (2) */
#define PORT_ACPI_PM_LEN 8
#define PORT_ACPI_PM_TMR 0x608 /* PM timer, 4 bytes (QEMU's PIIX4 has it here too) */
#define PORT_RESET_CF9 0xcf9
#define PORT_PCI_CONFIG 0xcf8 /* 0xcf8 address, 0xcfc..0xcff data */
/*
 * The boot marker (boot_marker.h): a guest's outb of BOOT_MARKER_VALUE
 * here records when it got there. Firecracker's port and value, so guest
 * images made for its boot timer work unchanged. 0x3f0 is the first port
 * of the PC floppy controller, which petrel does not have; COM1 starts at
 * 0x3f8. Plain defines: the initramfs's tools/initrd/boot_marker.c
 * includes this file too.
 */
#define PORT_BOOT_MARKER 0x3f0
#define BOOT_MARKER_VALUE 123

#endif
