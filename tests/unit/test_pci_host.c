#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <linux/pci_regs.h>

#include "petrel/bus.h"
#include "petrel/layout.h"
#include "petrel/legacy.h"
#include "petrel/pci.h"

struct fx {
	struct bus pio;
	struct pci_host h;
	struct legacy_cf9 cf9;
	unsigned resets;
	struct pci_dev dev;
	unsigned hook_writes;
	uint32_t counter;
};

static void rec_power(void *opaque, enum power_event ev, const char *source)
{
	struct fx *f = opaque;

	(void)source;
	if (ev == POWER_RESET)
		f->resets++;
}

static int setup(void **state)
{
	struct fx *f = test_calloc(1, sizeof(*f));

	bus_init(&f->pio, "pio");
	assert_int_equal(pci_host_init(&f->h), 0);
	assert_int_equal(bus_insert(&f->pio, PORT_PCI_CONFIG, PCI_HOST_NR_PORTS,
				    &pci_host_ops, &f->h, "pci"), 0);
	legacy_cf9_init(&f->cf9, (struct power_ctl){ rec_power, f });
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	pci_host_destroy(&f->h);
	bus_destroy(&f->pio);
	test_free(f);
	return 0;
}

static uint32_t in(struct fx *f, uint16_t port, unsigned size)
{
	uint32_t v = 0;

	assert_int_equal(bus_read(&f->pio, port, &v, size), 1);
	return v;
}

static void out(struct fx *f, uint16_t port, uint32_t v, unsigned size)
{
	assert_int_equal(bus_write(&f->pio, port, &v, size), 1);
}

static uint32_t cfg_addr(unsigned bus, unsigned dev, unsigned fn, unsigned reg)
{
	return 0x80000000u | bus << 16 | dev << 11 | fn << 8 | (reg & 0xfc);
}

/* Config read the way Linux's pci_conf1_read does it. */
static uint32_t conf1_read(struct fx *f, unsigned bus, unsigned dev, unsigned fn,
			   unsigned reg, unsigned size)
{
	out(f, 0xcf8, cfg_addr(bus, dev, fn, reg), 4);
	return in(f, (uint16_t)(0xcfc + (reg & 3)), size);
}

static void conf1_write(struct fx *f, unsigned bus, unsigned dev, unsigned fn,
			unsigned reg, uint32_t v, unsigned size)
{
	out(f, 0xcf8, cfg_addr(bus, dev, fn, reg), 4);
	out(f, (uint16_t)(0xcfc + (reg & 3)), v, size);
}

static void test_host_bridge_ids(void **state)
{
	struct fx *f = *state;

	assert_int_equal(conf1_read(f, 0, 0, 0, PCI_VENDOR_ID, 4), 0x12378086);
	assert_int_equal(conf1_read(f, 0, 0, 0, PCI_VENDOR_ID, 2), 0x8086);
	assert_int_equal(conf1_read(f, 0, 0, 0, PCI_DEVICE_ID, 2), 0x1237);
	assert_int_equal(conf1_read(f, 0, 0, 0, PCI_CLASS_REVISION, 4), 0x06000002);
	assert_int_equal(conf1_read(f, 0, 0, 0, PCI_CLASS_DEVICE, 2), 0x0600);
	assert_int_equal(conf1_read(f, 0, 0, 0, PCI_HEADER_TYPE, 1), 0x00);
	assert_int_equal(conf1_read(f, 0, 0, 0, PCI_BASE_ADDRESS_0, 4), 0);
	assert_int_equal(pci_host_cfg_read(&f->h, 0, 0, 0, 0, 4), 0x12378086);
}

static void test_byte_and_word_offsets(void **state)
{
	struct fx *f = *state;

	out(f, 0xcf8, cfg_addr(0, 0, 0, 0), 4);
	assert_int_equal(in(f, 0xcfc, 1), 0x86);
	assert_int_equal(in(f, 0xcfd, 1), 0x80);
	assert_int_equal(in(f, 0xcfe, 1), 0x37);
	assert_int_equal(in(f, 0xcff, 1), 0x12);
	assert_int_equal(in(f, 0xcfd, 2), 0x3780); /* unaligned, inside the dword */
	assert_int_equal(in(f, 0xcfe, 2), 0x1237);
	out(f, 0xcf8, cfg_addr(0, 0, 0, PCI_CLASS_REVISION), 4);
	assert_int_equal(in(f, 0xcfc, 1), 0x02);
	assert_int_equal(in(f, 0xcfd, 1), 0x00);
	assert_int_equal(in(f, 0xcfe, 1), 0x00);
	assert_int_equal(in(f, 0xcff, 1), 0x06);
	/* address bits 1:0 are not part of the register number */
	out(f, 0xcf8, cfg_addr(0, 0, 0, 0) | 3, 4);
	assert_int_equal(in(f, 0xcf8, 4), 0x80000000);
	assert_int_equal(in(f, 0xcfc, 4), 0x12378086);
	/* an 8-byte access at 0xcfc runs off the range: unclaimed */
	uint64_t q = 0;
	assert_int_equal(bus_read(&f->pio, 0xcfc, &q, 8), 0);
	assert_int_equal(bus_read(&f->pio, 0xcf8, &q, 8), 1);
	assert_int_equal(q, ~0ULL);
}

static void test_absent_devices(void **state)
{
	struct fx *f = *state;

	assert_int_equal(conf1_read(f, 0, 1, 0, 0, 4), 0xffffffff);
	assert_int_equal(conf1_read(f, 0, 31, 0, 0, 2), 0xffff);
	assert_int_equal(conf1_read(f, 0, 7, 0, PCI_HEADER_TYPE, 1), 0xff);
	conf1_write(f, 0, 1, 0, PCI_COMMAND, 0x7, 2); /* dropped, harmless */
	assert_int_equal(conf1_read(f, 0, 1, 0, PCI_COMMAND, 2), 0xffff);
	/* other buses and functions do not reach device 00.0 */
	assert_int_equal(conf1_read(f, 1, 0, 0, 0, 4), 0xffffffff);
	assert_int_equal(conf1_read(f, 255, 0, 0, 0, 4), 0xffffffff);
	assert_int_equal(conf1_read(f, 0, 0, 1, 0, 4), 0xffffffff);
	assert_int_equal(conf1_read(f, 0, 0, 7, 0, 4), 0xffffffff);
	conf1_write(f, 1, 0, 0, PCI_INTERRUPT_LINE, 0x0b, 1);
	conf1_write(f, 0, 0, 3, PCI_INTERRUPT_LINE, 0x0b, 1);
	assert_int_equal(conf1_read(f, 0, 0, 0, PCI_INTERRUPT_LINE, 1), 0x00);
	assert_int_equal(pci_host_cfg_read(&f->h, 0, 32, 0, 0, 4), 0xffffffff);
	assert_int_equal(pci_host_cfg_read(&f->h, 0, 0, 0, 254, 4), 0xffffffff);
	assert_int_equal(pci_host_cfg_read(&f->h, 0, 0, 0, 256, 1), 0xffffffff);
}

static void test_enable_bit(void **state)
{
	struct fx *f = *state;

	out(f, 0xcf8, cfg_addr(0, 0, 0, 0) & ~0x80000000u, 4);
	assert_int_equal(in(f, 0xcf8, 4), 0x00000000);
	assert_int_equal(in(f, 0xcfc, 4), 0xffffffff);
	assert_int_equal(in(f, 0xcfe, 2), 0xffff);
	out(f, 0xcf8, cfg_addr(0, 0, 0, PCI_INTERRUPT_LINE) & ~0x80000000u, 4);
	out(f, 0xcfc, 0x0a, 1);
	assert_int_equal(conf1_read(f, 0, 0, 0, PCI_INTERRUPT_LINE, 1), 0x00);
	conf1_write(f, 0, 0, 0, PCI_INTERRUPT_LINE, 0x0a, 1);
	assert_int_equal(conf1_read(f, 0, 0, 0, PCI_INTERRUPT_LINE, 1), 0x0a);
}

static void test_address_register(void **state)
{
	struct fx *f = *state;

	/* Linux's pci_check_type1() */
	out(f, 0xcfb, 0x01, 1);
	uint32_t tmp = in(f, 0xcf8, 4);
	out(f, 0xcf8, 0x80000000, 4);
	assert_int_equal(in(f, 0xcf8, 4), 0x80000000);
	out(f, 0xcf8, tmp, 4);
	assert_int_equal(tmp, 0);
	assert_int_equal(in(f, 0xcf8, 4), 0);
	/* reserved bits 30:24 and 1:0 read 0 */
	out(f, 0xcf8, 0xffffffff, 4);
	assert_int_equal(in(f, 0xcf8, 4), 0x80fffffc);
	/* byte/word accesses to 0xcf8..0xcfb are not CONFIG_ADDRESS */
	out(f, 0xcf8, 0x00, 1);
	out(f, 0xcfa, 0x0000, 2);
	out(f, 0xcf8, 0x1234, 2);
	assert_int_equal(in(f, 0xcf8, 4), 0x80fffffc);
	assert_int_equal(in(f, 0xcf8, 1), 0xff);
	assert_int_equal(in(f, 0xcfa, 2), 0xffff);
	/* Linux's type-2 probe must fail: inb(0xcf8) is not 0 */
	out(f, 0xcfb, 0x00, 1);
	out(f, 0xcf8, 0x00, 1);
	out(f, 0xcfa, 0x00, 1);
	assert_int_not_equal(in(f, 0xcf8, 1), 0x00);
}

static void test_read_only_fields(void **state)
{
	struct fx *f = *state;

	for (unsigned reg = 0; reg < PCI_CFG_SIZE; reg += 4)
		conf1_write(f, 0, 0, 0, reg, 0xffffffff, 4);
	assert_int_equal(conf1_read(f, 0, 0, 0, PCI_VENDOR_ID, 4), 0x12378086);
	assert_int_equal(conf1_read(f, 0, 0, 0, PCI_CLASS_REVISION, 4), 0x06000002);
	assert_int_equal(conf1_read(f, 0, 0, 0, PCI_HEADER_TYPE, 1), 0x00);
	assert_int_equal(conf1_read(f, 0, 0, 0, PCI_COMMAND, 2), 0x0547);
	assert_int_equal(conf1_read(f, 0, 0, 0, PCI_STATUS, 2), 0x0000);
	assert_int_equal(conf1_read(f, 0, 0, 0, PCI_CACHE_LINE_SIZE, 2), 0xffff);
	assert_int_equal(conf1_read(f, 0, 0, 0, PCI_BASE_ADDRESS_0, 4), 0);
	assert_int_equal(conf1_read(f, 0, 0, 0, PCI_INTERRUPT_LINE, 2), 0x00ff);
	assert_int_equal(conf1_read(f, 0, 0, 0, 0x40, 4), 0);
	assert_int_equal(conf1_read(f, 0, 0, 0, 0xfc, 4), 0);
	/* byte writes at odd offsets, too */
	conf1_write(f, 0, 0, 0, PCI_DEVICE_ID + 1, 0x00, 1);
	conf1_write(f, 0, 0, 0, PCI_CLASS_DEVICE, 0x0000, 2);
	conf1_write(f, 0, 0, 0, PCI_COMMAND + 1, 0x00, 1);
	assert_int_equal(conf1_read(f, 0, 0, 0, PCI_VENDOR_ID, 4), 0x12378086);
	assert_int_equal(conf1_read(f, 0, 0, 0, PCI_CLASS_DEVICE, 2), 0x0600);
	assert_int_equal(conf1_read(f, 0, 0, 0, PCI_COMMAND, 2), 0x0047);
}

static void test_add_slots(void **state)
{
	struct fx *f = *state;
	static struct pci_dev devs[PCI_MAX_DEVICES];

	pci_dev_init(&f->dev, 0x1af4, 0x1042, 0x010000, 1, NULL, NULL);
	assert_int_equal(pci_host_add(&f->h, &f->dev, 0), -EEXIST);
	assert_int_equal(pci_host_add(&f->h, &f->dev, 32), -EINVAL);
	assert_int_equal(pci_host_add(&f->h, &f->dev, 3), 3);
	assert_int_equal(f->dev.slot, 3);
	assert_int_equal(pci_host_add(&f->h, &f->dev, 4), -EINVAL); /* twice */
	assert_int_equal(conf1_read(f, 0, 3, 0, 0, 4), 0x10421af4);
	assert_int_equal(conf1_read(f, 0, 3, 0, PCI_CLASS_REVISION, 4), 0x01000001);
	assert_int_equal(conf1_read(f, 0, 3, 1, 0, 4), 0xffffffff);
	for (int i = 0; i < PCI_MAX_DEVICES; i++)
		pci_dev_init(&devs[i], 0x1af4, (uint16_t)(0x1000 + i), 0, 0, NULL, NULL);
	int expect[] = { 1, 2, 4, 5 };
	for (int i = 0; i < 4; i++)
		assert_int_equal(pci_host_add(&f->h, &devs[i], -1), expect[i]);
	for (int i = 4; i < 30; i++)
		assert_true(pci_host_add(&f->h, &devs[i], -1) >= 0);
	assert_int_equal(pci_host_add(&f->h, &devs[30], -1), -ENOSPC);
	assert_int_equal(pci_host_add(&f->h, &devs[30], 31), -EEXIST);
	assert_int_equal(conf1_read(f, 0, 31, 0, 0, 4), 0x101d1af4);
}

static void test_bars(void **state)
{
	struct fx *f = *state;
	struct pci_dev *d = &f->dev;

	pci_dev_init(d, 0x1af4, 0x1041, 0x020000, 1, NULL, NULL);
	assert_int_equal(pci_dev_set_bar(d, 0, 4096, 0), 0);
	assert_int_equal(pci_dev_set_bar(d, 1, 32, PCI_BASE_ADDRESS_SPACE_IO), 0);
	assert_int_equal(pci_dev_set_bar(d, 2, 1ULL << 34,
					 PCI_BASE_ADDRESS_MEM_TYPE_64 |
						 PCI_BASE_ADDRESS_MEM_PREFETCH), 0);
	assert_int_equal(pci_dev_set_bar(d, 5, 4096, PCI_BASE_ADDRESS_MEM_TYPE_64), -EINVAL);
	assert_int_equal(pci_dev_set_bar(d, 6, 4096, 0), -EINVAL);
	assert_int_equal(pci_dev_set_bar(d, 4, 3000, 0), -EINVAL);
	assert_int_equal(pci_dev_set_bar(d, 4, 8, 0), -EINVAL);
	assert_int_equal(pci_dev_set_bar(d, 4, 2, PCI_BASE_ADDRESS_SPACE_IO), -EINVAL);
	assert_int_equal(pci_dev_set_bar(d, 4, 1ULL << 33, 0), -EINVAL);
	assert_int_equal(pci_dev_set_bar(d, 4, 0, 0), -EINVAL);
	assert_int_equal(pci_host_add(&f->h, d, 2), 2);

	/* sizing, as the guest does it */
	for (unsigned b = 0; b < 4; b++)
		conf1_write(f, 0, 2, 0, PCI_BASE_ADDRESS_0 + 4 * b, 0xffffffff, 4);
	assert_int_equal(conf1_read(f, 0, 2, 0, PCI_BASE_ADDRESS_0, 4), 0xfffff000);
	assert_int_equal(conf1_read(f, 0, 2, 0, PCI_BASE_ADDRESS_1, 4), 0xffffffe1);
	assert_int_equal(conf1_read(f, 0, 2, 0, PCI_BASE_ADDRESS_2, 4), 0x0000000c);
	assert_int_equal(conf1_read(f, 0, 2, 0, PCI_BASE_ADDRESS_3, 4), 0xfffffffc);
	/* placement */
	conf1_write(f, 0, 2, 0, PCI_BASE_ADDRESS_0, 0xc0001234, 4);
	conf1_write(f, 0, 2, 0, PCI_BASE_ADDRESS_1, 0x0000c047, 4);
	conf1_write(f, 0, 2, 0, PCI_BASE_ADDRESS_2, 0x00000000, 4);
	conf1_write(f, 0, 2, 0, PCI_BASE_ADDRESS_3, 0x00000004, 4);
	assert_int_equal(pci_dev_bar_addr(d, 0), 0xc0001000);
	assert_int_equal(pci_dev_bar_addr(d, 1), 0xc040);
	assert_int_equal(pci_dev_bar_addr(d, 2), 0x400000000ULL);
	assert_int_equal(pci_dev_bar_addr(d, 4), 0);
	assert_int_equal(pci_dev_bar_addr(d, 9), 0);
}

static uint32_t hook_read(struct pci_dev *d, unsigned offset, unsigned size)
{
	struct fx *f = d->opaque;

	if (offset >= 0x40 && offset < 0x44)
		return (++f->counter) >> (8 * (offset & 3));
	return pci_dev_cfg_read(d, offset, size);
}

static void hook_write(struct pci_dev *d, unsigned offset, uint32_t value,
		       unsigned size)
{
	struct fx *f = d->opaque;

	f->hook_writes++;
	pci_dev_cfg_write(d, offset, value, size);
}

static const struct pci_dev_ops hook_ops = { hook_read, hook_write };

static void test_hooks(void **state)
{
	struct fx *f = *state;

	pci_dev_init(&f->dev, 0x1af4, 0x1043, 0x078000, 1, &hook_ops, f);
	pci_dev_cfg_set(&f->dev, PCI_SUBSYSTEM_VENDOR_ID, 0x00031af4, 4);
	f->dev.wmask[0x48] = 0x0f;
	assert_int_equal(pci_host_add(&f->h, &f->dev, -1), 1);
	assert_int_equal(conf1_read(f, 0, 1, 0, 0x40, 4), 1);
	assert_int_equal(conf1_read(f, 0, 1, 0, 0x40, 4), 2);
	assert_int_equal(conf1_read(f, 0, 1, 0, PCI_SUBSYSTEM_VENDOR_ID, 4), 0x00031af4);
	conf1_write(f, 0, 1, 0, 0x48, 0xff, 1);
	conf1_write(f, 0, 1, 0, PCI_VENDOR_ID, 0, 2);
	assert_int_equal(f->hook_writes, 2);
	assert_int_equal(conf1_read(f, 0, 1, 0, 0x48, 1), 0x0f);
	assert_int_equal(conf1_read(f, 0, 1, 0, PCI_VENDOR_ID, 2), 0x1af4);
	/* absent devices never reach anyone's hooks */
	conf1_write(f, 0, 9, 0, 0x48, 0xff, 1);
	assert_int_equal(f->hook_writes, 2);
}

static void test_cf9_forwarding(void **state)
{
	struct fx *f = *state;

	assert_int_equal(in(f, 0xcf9, 1), 0xff); /* nothing attached */
	out(f, 0xcf9, 0x06, 1);
	assert_int_equal(f->resets, 0);
	pci_host_set_cf9(&f->h, &legacy_cf9_ops, &f->cf9);
	out(f, 0xcf9, 0x02, 1);
	assert_int_equal(in(f, 0xcf9, 1), 0x02);
	assert_int_equal(f->resets, 0);
	/* a dword CONFIG_ADDRESS write with bit 10 set is not a reset */
	out(f, 0xcf8, 0x80000400, 4);
	assert_int_equal(f->resets, 0);
	assert_int_equal(in(f, 0xcf8, 4), 0x80000400);
	assert_int_equal(in(f, 0xcf9, 1), 0x02);
	out(f, 0xcf9, 0x06, 1);
	assert_int_equal(f->resets, 1);
	/* and 0xcf9 does not disturb CONFIG_ADDRESS */
	assert_int_equal(in(f, 0xcf8, 4), 0x80000400);
	out(f, 0xcf9, 0x0604, 2); /* word at 0xcf9: neither */
	assert_int_equal(f->resets, 1);
}

static void test_hostile_sequences(void **state)
{
	struct fx *f = *state;
	uint64_t x = 0xdeadbeefcafef00dULL;
	static const unsigned sizes[] = { 1, 2, 4, 8, 3, 0 };

	pci_dev_init(&f->dev, 0x1af4, 0x1041, 0x020000, 1, NULL, NULL);
	assert_int_equal(pci_dev_set_bar(&f->dev, 0, 4096, 0), 0);
	assert_int_equal(pci_host_add(&f->h, &f->dev, 1), 1);
	for (unsigned i = 0; i < 200000; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		uint64_t port = 0xcf6 + (x >> 8) % 12, v = x >> 3;
		unsigned size = sizes[(x >> 20) % 6];
		if (x & 1)
			bus_write(&f->pio, port, &v, size);
		else
			bus_read(&f->pio, port, &v, size);
		if ((x & 0xf0) == 0) /* steer some accesses to real devices */
			out(f, 0xcf8, cfg_addr(0, (x >> 40) & 1, 0, (unsigned)(x >> 48)), 4);
	}
	assert_int_equal(conf1_read(f, 0, 0, 0, 0, 4), 0x12378086);
	assert_int_equal(conf1_read(f, 0, 1, 0, 0, 4), 0x10411af4);
	assert_int_equal(conf1_read(f, 0, 1, 0, PCI_CLASS_REVISION, 4), 0x02000001);
	assert_int_equal(conf1_read(f, 0, 1, 0, PCI_BASE_ADDRESS_0, 4) & 0xfff, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_host_bridge_ids),
		T(test_byte_and_word_offsets),
		T(test_absent_devices),
		T(test_enable_bit),
		T(test_address_register),
		T(test_read_only_fields),
		T(test_add_slots),
		T(test_bars),
		T(test_hooks),
		T(test_cf9_forwarding),
		T(test_hostile_sequences),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
