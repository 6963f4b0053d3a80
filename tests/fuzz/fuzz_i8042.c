/*
 * libFuzzer target for the i8042 keyboard controller (src/devices/i8042.c):
 * the guest's accesses to the data port (0x60) and the command/status port
 * (0x64) in any order, sizes and offsets, checked against the contract in
 * i8042.h after every step.
 *
 * Input (devf_input.h): records op, sz, off, val; op % 2 ==
 *   0  write val to the data port (off bit 0 clear) or the command port
 *      (bit 0 set), at offset 0 or, when sz & 0x80, at off >> 1; size
 *      devf_size(sz)
 *   1  read, ports, offsets and sizes as for writes
 * Seeds: tests/fuzz/corpus/fuzz_i8042/, from mkseeds_devices.c.
 *
 * Checked: each IRQ line moves only when its level changes and is high
 * exactly while the output buffer holds a byte of its kind and the command
 * byte enables that interrupt; a reset is requested exactly for a pulse
 * command with bit 0 clear or an output-port write with bit 0 clear, once,
 * without the device lock held; status never shows IBF, always UNLOCKED,
 * and OBF/AUXDATA as the buffer is; a data read returns the buffer and
 * empties it; RAM reads and writes (0x20.., 0x60..) reach the RAM byte;
 * accesses of another size or offset read all-ones and change nothing.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devf_input.h"
#include "petrel/i8042.h"


struct fz {
	struct i8042 k;
	struct irqchip chip;
	bool line[2]; /* kbd (GSI 1), aux (GSI 12) */
	unsigned resets;
};

static int fz_level(void *opaque, unsigned gsi, int level)
{
	struct fz *z = opaque;
	unsigned i = gsi == 12;

	CHECK(gsi == 1 || gsi == 12);
	CHECK((level != 0) != z->line[i]);
	z->line[i] = level != 0;
	return 0;
}

static int fz_msi(void *opaque, uint64_t addr, uint32_t data)
{
	(void)opaque, (void)addr, (void)data;
	CHECK(0);
	return 0;
}

static const struct irqchip_ops fz_chip_ops = { .set_level = fz_level, .msi = fz_msi };

static void fz_power(void *opaque, enum power_event ev, const char *source)
{
	struct fz *z = opaque;

	CHECK(ev == POWER_RESET && !strcmp(source, "i8042"));
	/* called without the device lock: the VM may stop vCPUs from here */
	CHECK(pthread_mutex_trylock(&z->k.lock) == 0);
	pthread_mutex_unlock(&z->k.lock);
	z->resets++;
}

/* The state an ignored access must leave alone. */
struct snap {
	uint8_t ram[32], outport, status, obuf, cmd;
	bool obf, obuf_aux;
};

static struct snap snap_of(const struct i8042 *k)
{
	struct snap s;

	memset(&s, 0, sizeof(s));
	memcpy(s.ram, k->ram, sizeof(s.ram));
	s.outport = k->outport;
	s.status = k->status;
	s.obuf = k->obuf;
	s.cmd = k->cmd;
	s.obf = k->obf;
	s.obuf_aux = k->obuf_aux;
	return s;
}

static void check_state(struct fz *z)
{
	const struct i8042 *k = &z->k;
	uint8_t ctr = k->ram[0];

	CHECK(z->line[0] == (k->obf && !k->obuf_aux && (ctr & I8042_CTR_KBDINT)));
	CHECK(z->line[1] == (k->obf && k->obuf_aux && (ctr & I8042_CTR_AUXINT)));
	CHECK(k->kbd_level == z->line[0] && k->aux_level == z->line[1]);
	CHECK(!(k->status & ~(I8042_STR_CMD | I8042_STR_TIMEOUT)));
}

static void do_write(struct fz *z, bool cmd_port, uint64_t off, unsigned size,
		     uint8_t v)
{
	struct i8042 *k = &z->k;
	struct snap before = snap_of(k);
	unsigned resets = z->resets;
	bool valid = size == 1 && off == 0;
	bool want_reset;

	if (cmd_port)
		want_reset = v >= 0xf0 && !(v & 1);
	else
		want_reset = before.cmd == 0xd1 && !(v & 1);
	(cmd_port ? &i8042_cmd_ops : &i8042_data_ops)->write(k, off, v, size);
	if (!valid) {
		struct snap after = snap_of(k);

		CHECK(!memcmp(&before, &after, sizeof(before)) && z->resets == resets);
		return;
	}
	CHECK(z->resets == resets + want_reset);
	CHECK(!!(k->status & I8042_STR_CMD) == cmd_port);
	if (cmd_port && v >= 0x20 && v < 0x40)
		CHECK(k->obf && !k->obuf_aux && k->obuf == k->ram[v - 0x20]);
	if (!cmd_port && before.cmd >= 0x60 && before.cmd < 0x80)
		CHECK(k->ram[before.cmd - 0x60] == v);
	if (!cmd_port && before.cmd == 0)
		CHECK(k->obf && k->obuf == 0xfe && (k->status & I8042_STR_TIMEOUT));
	/* a command that waits for data waits only for the next data write */
	CHECK(k->cmd == 0 || (cmd_port && k->cmd == v));
}

static void do_read(struct fz *z, bool cmd_port, uint64_t off, unsigned size)
{
	struct i8042 *k = &z->k;
	struct snap before = snap_of(k);
	uint64_t v = (cmd_port ? &i8042_cmd_ops : &i8042_data_ops)->read(k, off, size);

	if (size != 1 || off != 0) {
		struct snap after = snap_of(k);

		CHECK(v == ~0ULL && !memcmp(&before, &after, sizeof(before)));
		return;
	}
	CHECK(v <= 0xff);
	if (cmd_port) {
		CHECK(!(v & I8042_STR_IBF) && (v & I8042_STR_UNLOCKED));
		CHECK(!!(v & I8042_STR_OBF) == before.obf);
		CHECK(!(v & I8042_STR_AUXDATA) || (before.obf && before.obuf_aux));
		CHECK(!!(v & I8042_STR_SYS) == !!(before.ram[0] & I8042_CTR_SYS));
	} else {
		CHECK(v == before.obuf && !k->obf);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz *z = calloc(1, sizeof(*z));

	CHECK(z);
	z->chip = (struct irqchip){ &fz_chip_ops, z, NULL };
	CHECK(i8042_init(&z->k, (struct irq_line){ &z->chip, 1, "kbd" },
			 (struct irq_line){ &z->chip, 12, "aux" },
			 (struct power_ctl){ fz_power, z }) == 0);
	for (size_t i = 0; i < size / DEVF_REC; i++) {
		struct devf_rec r = devf_get(data, i);
		bool cmd_port = r.off & 1;
		uint64_t off = (r.sz & 0x80) ? r.off >> 1 : 0;

		if (r.op % 2 == 0)
			do_write(z, cmd_port, off, devf_size(r.sz), (uint8_t)r.val);
		else
			do_read(z, cmd_port, off, devf_size(r.sz));
		check_state(z);
	}
	i8042_destroy(&z->k);
	free(z);
	return 0;
}
