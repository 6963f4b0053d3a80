/*
 * libFuzzer target for the 8254 PIT model (src/irq/pit8254.c): a script
 * of port accesses, clock advances and timer expirations (pit_input.h).
 * Whatever the guest programs, the model must not crash, and:
 * - arm never asks for a deadline in the past (any mode);
 * - irq0 only ever changes the level (never the same level twice);
 * - one pit_expired raises IRQ0 at most once (no catch-up storm);
 * - when the armed deadline has passed and the timer fires, an edge has
 *   been delivered since that deadline was armed (no lost interrupt);
 * - the deadline the model keeps is the one it last armed;
 * - port 0x61 bits 6-7 read 0; wider accesses read all-ones;
 * - the status from a read-back shows the last control word's access
 *   mode, mode and BCD bits, and OUT as pit_out sees it.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "petrel/pit8254.h"
#include "pit_input.h"

#include "fuzz_check.h"

struct fz {
	struct pit8254 p;
	uint64_t ns;
	int level;
	uint64_t rises;
	uint64_t deadline;      /* last armed */
	uint64_t rises_at_arm;  /* rises when it was armed */
	uint8_t ctl[3];         /* shadow of each channel's control word */
	bool in_expiry;
	uint64_t rises_in_expiry;
};

static uint64_t fz_now(void *opaque)
{
	return ((struct fz *)opaque)->ns;
}

static void fz_arm(void *opaque, uint64_t deadline)
{
	struct fz *z = opaque;

	CHECK(deadline == 0 || deadline > z->ns);
	z->deadline = deadline;
	z->rises_at_arm = z->rises;
}

static void fz_irq0(void *opaque, int level)
{
	struct fz *z = opaque;

	CHECK(level == 0 || level == 1);
	CHECK(level != z->level);
	z->level = level;
	if (!level)
		return;
	z->rises++;
	if (z->in_expiry)
		CHECK(++z->rises_in_expiry <= 1);
}

static const struct pit_ops fz_ops = {
	.now_ns = fz_now,
	.arm = fz_arm,
	.irq0 = fz_irq0,
};

static void expire(struct fz *z)
{
	z->in_expiry = true;
	z->rises_in_expiry = 0;
	pit_expired(&z->p);
	z->in_expiry = false;
}

static void status_check(struct fz *z, unsigned c)
{
	/* a status latched earlier and unread is read first: OUT of then */
	bool stale = z->p.ch[c].status_latched;
	uint8_t st;

	pit_ops_io.write(&z->p, 3, 0xe0 | 2u << c, 1);
	st = (uint8_t)pit_ops_io.read(&z->p, c, 1);
	CHECK((st & 0x3f) == (z->ctl[c] & 0x3f));
	CHECK(stale || st >> 7 == pit_out(&z->p, c));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fz z;
	size_t i = 0;

	memset(&z, 0, sizeof(z));
	z.ns = 123456789;
	z.level = 1;
	for (unsigned c = 0; c < 3; c++)
		z.ctl[c] = 0x36; /* pit_init's state: mode 3, LSB then MSB */
	pit_init(&z.p, &fz_ops, &z);
	while (i < size) {
		uint8_t op = data[i++], v;
		unsigned port = op >> 3 & 3;
		uint64_t snap;

		switch (op & 7) {
		case PITF_OUT:
			if (i >= size)
				return 0;
			v = data[i++];
			pit_ops_io.write(&z.p, port, v, 1);
			/* a control word for a channel (not latch, not read-back) */
			if (port == 3 && v >> 6 != 3 && (v & 0x30))
				z.ctl[v >> 6] = v;
			break;
		case PITF_IN:
			if (op & PITF_STATUS_CHECK)
				status_check(&z, port % 3);
			else
				pit_ops_io.read(&z.p, port, 1);
			break;
		case PITF_OUT61:
			if (i >= size)
				return 0;
			pit_port61_ops.write(&z.p, 0, data[i++], 1);
			break;
		case PITF_IN61:
			CHECK((pit_port61_ops.read(&z.p, 0, 1) & 0xc0) == 0);
			break;
		case PITF_ADVANCE:
			if (i + 2 > size)
				return 0;
			z.ns += (uint64_t)(data[i] | data[i + 1] << 8) << (4 * (op >> 3 & 7));
			i += 2;
			break;
		case PITF_FIRE:
			if (!z.deadline)
				break;
			if (z.ns < z.deadline)
				z.ns = z.deadline;
			snap = z.rises_at_arm;
			expire(&z);
			CHECK(z.rises > snap);
			break;
		case PITF_SPURIOUS:
			expire(&z);
			break;
		default: { /* PITF_ODD */
			unsigned sz = op & 8 ? 4 : 2, ch = op >> 4 & 3;
			int out;

			if (op & 0x80)
				pit_ops_io.write(&z.p, op >> 4 & 7, 0x30, sz);
			else
				CHECK(pit_ops_io.read(&z.p, op >> 4 & 7, sz) == UINT64_MAX);
			out = pit_out(&z.p, ch);
			CHECK(ch == 3 ? out == -EINVAL : (out == 0 || out == 1));
			break;
		}
		}
		CHECK(z.p.armed == z.deadline);
	}
	return 0;
}
