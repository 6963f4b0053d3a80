/*
 * The PC platform petrel gives every guest, built from the table machine[]
 * below: COM1, the i8042 (for its reset
 * line), the CMOS RTC, the PCI host bridge (with the 0xCF9 reset register
 * inside its port window), the ACPI PM block (for poweroff) and PM timer,
 * the POST ports and the boot marker. The terminal is COM1's, or with
 * --console virtio the virtio-console port's (COM1 is then mute: output
 * dropped, no input). Each is a state machine in
 * src/devices/; here they are allocated, given their irq lines, clocks and
 * sinks, and put on the buses. The console registers its fds on the VM's
 * I/O thread (vm->io), which vm.c starts once everything is built.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "petrel/acpi.h"
#include "petrel/acpi_pm.h"
#include "petrel/boot_marker.h"
#include "petrel/console.h"
#include "petrel/debug_exit.h"
#include "petrel/exitcode.h"
#include "petrel/i8042.h"
#include "petrel/layout.h"
#include "petrel/legacy.h"
#include "petrel/pci.h"
#include "petrel/pm_timer.h"
#include "petrel/rtc.h"
#include "petrel/serial8250.h"
#include "petrel/util.h"
#include "petrel/virtio_console.h"
#include "petrel/vm.h"
#include "petrel/vm_virtio.h"

#define PORT_POST 0x80      /* POST codes; Linux's io_delay writes here */
#define PORT_IO_DELAY 0xed  /* the alternative io_delay port */

struct vm_devices {
	struct vm_virtio *virtio; /* --disk, --rng; NULL: none */
	struct serial8250 com1;
	struct i8042 i8042;
	struct rtc rtc;
	struct pci_host pci;
	struct legacy_cf9 cf9;
	struct acpi_pm pm;
	struct pm_timer pm_timer;
	struct console console;
	struct debug_exit debug_exit;
	struct boot_marker boot_marker;
	struct bus *buses[2]; /* marked at the boot marker: pio, mmio */
	unsigned nr_made; /* entries of machine[] created, in order */
	bool pm_up, console_up;
	uint8_t last_post; /* last POST code: readable back, shown in stats */
};

static uint64_t post_read(void *opaque, uint64_t off, unsigned size)
{
	struct vm_devices *d = opaque;
	(void)off;
	(void)size;
	return __atomic_load_n(&d->last_post, __ATOMIC_RELAXED);
}

static void post_write(void *opaque, uint64_t off, uint64_t v, unsigned size)
{
	struct vm_devices *d = opaque;
	(void)size;
	if (off == 0)
		__atomic_store_n(&d->last_post, (uint8_t)v, __ATOMIC_RELAXED);
}

static const struct bus_dev_ops post_ops = { post_read, post_write };

static void guest_exit(void *opaque, int status)
{
	vm_request_stop(opaque, status, "guest wrote to the debug-exit port (status %d)",
			status);
}

static size_t com1_deliver(void *opaque, const uint8_t *buf, size_t len)
{
	return serial8250_receive(opaque, buf, len);
}

static void com1_tx_ready(void *opaque)
{
	serial8250_tx_ready(opaque);
}

/* --console virtio: the terminal's input goes to hvc0 */
static size_t vcon_deliver(void *opaque, const uint8_t *buf, size_t len)
{
	struct virtio_console *c = vm_virtio_console(((struct vm_devices *)opaque)->virtio);

	return c ? virtio_console_receive(c, buf, len) : 0;
}

static void vcon_tx_ready(void *opaque)
{
	struct virtio_console *c = vm_virtio_console(((struct vm_devices *)opaque)->virtio);

	if (c)
		virtio_console_tx_ready(c);
}

static void console_stop(void *opaque, int status, const char *reason)
{
	vm_request_stop(opaque, status, "%s", reason);
}

static int add_pio(struct vm *vm, uint64_t base, uint64_t len,
		   const struct bus_dev_ops *ops, void *opaque, const char *name)
{
	int err = bus_insert(&vm->pio, base, len, ops, opaque, name);

	if (err < 0)
		pt_err("cannot place %s at port 0x%llx: %s", name,
		       (unsigned long long)base, strerror(-err));
	return err;
}

/*
 * The machine, as a table: each device's create puts it together and on
 * the buses; destroy (if it has anything to free) undoes it. They are made
 * in this order and taken apart in the reverse order, so a later device
 * may use an earlier one (virtio devices sit on the PCI host) and a
 * failure halfway unwinds exactly what was made. The I/O thread, which
 * calls into the console and the devices, starts only after the last one
 * and is stopped before the first is destroyed (vm.c).
 */
struct dev_desc {
	const char *name;
	int (*create)(struct vm *vm, struct vm_devices *d);
	void (*destroy)(struct vm_devices *d);
};

static int console_create(struct vm *vm, struct vm_devices *d)
{
	bool on_virtio = vm->cfg->console == CONSOLE_VIRTIO;
	/*
	 * The virtio console is made later (vm_virtio_create); its callbacks
	 * find it through d once the I/O thread runs.
	 */
	int err = console_init(&d->console, &vm->io, vm->cfg->console != CONSOLE_NONE,
			       on_virtio ? (struct console_dev){ vcon_deliver, vcon_tx_ready, d }
					 : (struct console_dev){ com1_deliver, com1_tx_ready, &d->com1 },
			       (struct console_stop){ console_stop, vm });

	if (err < 0) {
		pt_err("console: %s", strerror(-err));
		return err;
	}
	d->console_up = true;
	vm->console = &d->console;
	return 0;
}

static void console_remove(struct vm_devices *d)
{
	console_destroy(&d->console);
	d->console_up = false;
}

static int com1_create(struct vm *vm, struct vm_devices *d)
{
	/* with the terminal on hvc0, COM1's output is dropped (sink NULL) */
	struct serial8250_sink sink = { 0 };
	int err;

	if (vm->cfg->console != CONSOLE_VIRTIO)
		sink = (struct serial8250_sink){ .write = console_write,
						 .rx_ready = console_rx_ready,
						 .opaque = &d->console };
	if ((err = serial8250_init(&d->com1, (struct irq_line){ &vm->irqchip, GSI_SERIAL0, "com1" },
				   sink)) < 0)
		return err;
	if ((err = add_pio(vm, PORT_SERIAL0, SERIAL8250_NR_PORTS, &serial8250_ops,
			   &d->com1, "com1")) < 0)
		serial8250_destroy(&d->com1);
	return err;
}

static void com1_remove(struct vm_devices *d)
{
	serial8250_destroy(&d->com1);
}

static int i8042_create(struct vm *vm, struct vm_devices *d)
{
	int err = i8042_init(&d->i8042, (struct irq_line){ &vm->irqchip, GSI_KBD, "i8042-kbd" },
			     (struct irq_line){ &vm->irqchip, GSI_MOUSE, "i8042-aux" }, vm->power);

	if (err < 0)
		return err;
	if ((err = add_pio(vm, PORT_I8042_DATA, 1, &i8042_data_ops, &d->i8042, "i8042")) < 0 ||
	    (err = add_pio(vm, PORT_I8042_CMD, 1, &i8042_cmd_ops, &d->i8042, "i8042")) < 0)
		i8042_destroy(&d->i8042);
	return err;
}

static void i8042_remove(struct vm_devices *d)
{
	i8042_destroy(&d->i8042);
}

static int rtc_create(struct vm *vm, struct vm_devices *d)
{
	int err = rtc_init(&d->rtc, &(struct rtc_clock){ rtc_host_clock_now, NULL },
			   (struct irq_line){ &vm->irqchip, GSI_RTC, "rtc" });

	if (err < 0)
		return err;
	if ((err = add_pio(vm, PORT_RTC, 2, &rtc_ops, &d->rtc, "rtc")) < 0)
		rtc_destroy(&d->rtc);
	return err;
}

static void rtc_remove(struct vm_devices *d)
{
	rtc_destroy(&d->rtc);
}

static int pci_create(struct vm *vm, struct vm_devices *d)
{
	int err;

	legacy_cf9_init(&d->cf9, vm->power);
	if ((err = pci_host_init(&d->pci)) < 0)
		return err;
	pci_host_set_cf9(&d->pci, &legacy_cf9_ops, &d->cf9);
	if ((err = add_pio(vm, PORT_PCI_CONFIG, 8, &pci_host_ops, &d->pci, "pci-host")) < 0)
		pci_host_destroy(&d->pci);
	return err;
}

static void pci_remove(struct vm_devices *d)
{
	pci_host_destroy(&d->pci);
}

static void virtio_remove(struct vm_devices *d)
{
	/* the disks wait for their in-flight I/O and drop their image locks */
	vm_virtio_destroy(d->virtio);
	d->virtio = NULL;
}

static int virtio_create(struct vm *vm, struct vm_devices *d)
{
	int err = vm_virtio_create(vm, &d->pci, &vm->io, &d->virtio);

	if (err < 0)
		virtio_remove(d); /* what was made of a half-built set */
	return err;
}

static int acpi_make(struct vm *vm, struct vm_devices *d)
{
	int err;

	if (vm->cfg->no_acpi)
		return 0;
	err = acpi_pm_init(&d->pm, (struct irq_line){ &vm->irqchip, GSI_SCI, "acpi-pm" }, vm->power);
	if (err < 0)
		return err;
	d->pm_up = true;
	if ((err = add_pio(vm, PORT_ACPI_PM, PORT_ACPI_PM_LEN, &acpi_pm_ops,
			   &d->pm, "acpi-pm")) < 0)
		return err;
	/* only the FADT tells a guest where it is: no ACPI, no timer */
	if ((err = pm_timer_init(&d->pm_timer, mono_clock_host(), ACPI_PM_TMR_BITS)) < 0)
		return err;
	return add_pio(vm, PORT_ACPI_PM_TMR, PM_TIMER_NR_PORTS, &pm_timer_ops,
		       &d->pm_timer, "pm-timer");
}

static void acpi_remove(struct vm_devices *d)
{
	if (d->pm_up)
		acpi_pm_destroy(&d->pm);
	d->pm_up = false;
}

/* ACPI's PM block and timer, together or not at all */
static int acpi_create(struct vm *vm, struct vm_devices *d)
{
	int err = acpi_make(vm, d);

	if (err < 0)
		acpi_remove(d);
	return err;
}

int vm_power_button(struct vm *vm)
{
	if (!vm->dev || !vm->dev->pm_up)
		return -ENODEV;
	acpi_pm_power_button(&vm->dev->pm);
	return 0;
}

/* At the boot marker: the exit counts so far are the boot's. */
static void mark_buses(void *arg)
{
	struct bus **b = arg;

	bus_mark(b[0]);
	bus_mark(b[1]);
}

static int ports_create(struct vm *vm, struct vm_devices *d)
{
	int err;

	if ((err = add_pio(vm, PORT_POST, 1, &post_ops, d, "post")) < 0 ||
	    (err = add_pio(vm, PORT_IO_DELAY, 1, &post_ops, d, "io-delay")) < 0)
		return err;
	boot_marker_init(&d->boot_marker, mono_clock_host(),
			 vm->cfg->start_ns ? vm->cfg->start_ns : mono_clock_host_ns(NULL));
	d->buses[0] = &vm->pio;
	d->buses[1] = &vm->mmio;
	d->boot_marker.on_mark = mark_buses;
	d->boot_marker.on_mark_arg = d->buses;
	return add_pio(vm, PORT_BOOT_MARKER, 1, &boot_marker_ops, &d->boot_marker,
		       "boot-marker");
}

static int debug_exit_create(struct vm *vm, struct vm_devices *d)
{
	unsigned port = vm->cfg->debug_exit_port;
	unsigned last = port + DEBUG_EXIT_NR_PORTS - 1;
	int err;

	if (!port)
		return 0;
	d->debug_exit = (struct debug_exit){ guest_exit, vm };
	if ((err = debug_exit_insert(&vm->pio, port, &d->debug_exit)) < 0)
		pt_err("cannot place debug-exit at ports 0x%x-0x%x: %s", port,
		       last > 0xffff ? 0xffff : last, strerror(-err));
	return err;
}

static const struct dev_desc machine[] = {
	{ "console", console_create, console_remove },
	{ "com1", com1_create, com1_remove },
	{ "i8042", i8042_create, i8042_remove },
	{ "rtc", rtc_create, rtc_remove },
	{ "pci-host", pci_create, pci_remove },
	{ "virtio", virtio_create, virtio_remove },
	{ "acpi-pm", acpi_create, acpi_remove },
	{ "ports", ports_create, NULL },
	{ "debug-exit", debug_exit_create, NULL },
};
#define MACHINE_DEVICES (sizeof(machine) / sizeof(machine[0]))

int vm_devices_create(struct vm *vm)
{
	struct vm_devices *d = calloc(1, sizeof(*d));
	int err;

	if (!d)
		return -ENOMEM;
	vm->dev = d;
	/* a create that fails undoes its own part; destroy undoes the rest */
	for (d->nr_made = 0; d->nr_made < MACHINE_DEVICES; d->nr_made++)
		if ((err = machine[d->nr_made].create(vm, d)) < 0)
			return err;
	return 0;
}

void vm_devices_destroy(struct vm *vm)
{
	struct vm_devices *d = vm->dev;

	if (!d)
		return;
	/* the I/O thread, which calls into them, was stopped first (vm_destroy) */
	while (d->nr_made--)
		if (machine[d->nr_made].destroy)
			machine[d->nr_made].destroy(d);
	free(d);
	vm->dev = NULL;
	vm->console = NULL;
}

void vm_devices_flush(struct vm *vm)
{
	struct vm_devices *d = vm->dev;

	if (d && d->console_up)
		console_flush(&d->console);
}

void vm_devices_print_stats(struct vm *vm)
{
	struct vm_devices *d = vm->dev;

	if (!d)
		return;
	uint64_t ns;

	pt_info("stats: console %llu bytes out, %llu bytes in; last POST code 0x%02x",
		(unsigned long long)d->console.bytes_out,
		(unsigned long long)d->console.bytes_in, d->last_post);
	if (boot_marker_get(&d->boot_marker, &ns) == 0)
		pt_info("stats: boot marker at %llu.%llu ms",
			(unsigned long long)(ns / 1000000),
			(unsigned long long)(ns / 100000 % 10));
	else
		pt_info("stats: no boot marker (the guest wrote no %d to port 0x%x)",
			BOOT_MARKER_VALUE, PORT_BOOT_MARKER);
	vm_virtio_print_stats(d->virtio);
}
